/* Write-ahead intents: the store document and what an observation says
 * of it (intents.h). */
#include "engine/intents.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

json_t *ik_intent_provision(const char *config_hash, const char *logical_id) {
  return json_pack("{s:s, s:s, s:s?}", "Kind", "provision", "ConfigHash", config_hash, "LogicalID", logical_id);
}

json_t *ik_intent_destroy(const char *instance) {
  return json_pack("{s:s, s:s}", "Kind", "destroy", "Instance", instance);
}

static int by_string(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

json_t *ik_intents_to_json(json_t *pending) {
  size_t n = json_object_size(pending), i = 0;
  const char **tags = ik_calloc(n + 1, sizeof *tags);
  const char *tag;
  json_t *entry;
  json_object_foreach(pending, tag, entry) tags[i++] = tag;
  qsort(tags, n, sizeof *tags, by_string); /* a stable document: the same pending set, the same bytes */
  json_t *list = json_array();
  for (i = 0; i < n; i++) {
    json_t *e = json_pack("{s:s}", "Tag", tags[i]);
    json_object_update(e, json_object_get(pending, tags[i]));
    json_array_append_new(list, e);
  }
  ik_free(tags);
  return json_pack("{s:o}", "Intents", list);
}

static const char *field(const json_t *e, const char *name) { return json_string_value(json_object_get(e, name)); }

int ik_intents_from_json(const json_t *doc, json_t **pending, ik_err_t *err) {
  *pending = NULL;
  const json_t *list = json_object_get(doc, "Intents");
  if (!json_is_object(doc) || !json_is_array(list)) return ik_err_set(err, IK_EINVAL, "intents: want {\"Intents\": [...]}");
  json_t *out = json_object();
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    const char *tag = field(e, "Tag"), *kind = field(e, "Kind");
    const char *bad = NULL;
    if (tag == NULL || *tag == '\0') bad = "Tag: missing";
    else if (kind == NULL) bad = "Kind: missing";
    else if (strcmp(kind, "provision") == 0 && field(e, "ConfigHash") == NULL) bad = "ConfigHash: missing";
    else if (strcmp(kind, "destroy") == 0 && field(e, "Instance") == NULL) bad = "Instance: missing";
    else if (strcmp(kind, "provision") != 0 && strcmp(kind, "destroy") != 0) bad = "Kind: want provision or destroy";
    if (bad) {
      json_decref(out);
      return ik_err_set(err, IK_EINVAL, "intents.Intents[%zu].%s", i, bad);
    }
    json_t *entry = json_deep_copy(e);
    json_object_del(entry, "Tag");
    json_object_set_new(out, tag, entry);
  }
  *pending = out;
  return 0;
}

void ik_intents_resolve(json_t *pending, const json_t *members, ik_intents_outcome_t *out) {
  memset(out, 0, sizeof *out);
  json_t *carried = json_object(), *present = json_object();
  size_t i;
  json_t *d;
  json_array_foreach(members, i, d) {
    const char *tag = json_string_value(json_object_get(json_object_get(d, "Tags"), IK_TAG_INTENT));
    const char *id = json_string_value(json_object_get(d, "ID"));
    if (tag) json_object_set_new(carried, tag, json_true());
    if (id) json_object_set_new(present, id, json_true());
  }
  const char *tag;
  json_t *e;
  json_object_foreach(pending, tag, e) {
    if (strcmp(field(e, "Kind"), "provision") == 0) {
      if (json_object_get(carried, tag)) out->provisioned++;
      else out->not_provisioned++;
    } else if (json_object_get(present, field(e, "Instance"))) {
      out->not_destroyed++;
    } else {
      out->destroyed++;
    }
  }
  json_object_clear(pending);
  json_decref(carried);
  json_decref(present);
}
