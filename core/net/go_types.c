/* InfraKit's wire types as Go decodes and encodes them (see go_types.h). */
#include "net/go_types.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"

#define PATH_MAX_LEN 256

typedef int (*go_fn)(const json_t *v, const char *path, json_t **out, ik_err_t *err);

/* "path.key" into buf (PATH_MAX_LEN bytes, cut to fit). Runs for every
 * field decoded, so no printf. */
static const char *join(char *buf, const char *path, const char *key) {
  size_t p = strlen(path), k = strlen(key);
  if (p > PATH_MAX_LEN - 2) p = PATH_MAX_LEN - 2;
  if (k > PATH_MAX_LEN - 2 - p) k = PATH_MAX_LEN - 2 - p;
  memcpy(buf, path, p);
  buf[p] = '.';
  memcpy(buf + p + 1, key, k);
  buf[p + 1 + k] = '\0';
  return buf;
}

static bool absent(const json_t *v) { return v == NULL || json_is_null(v); }

/* Fail naming path: "path: want <what>, got <v>" (strings not echoed). */
static int want(ik_err_t *err, const char *path, const char *what, const json_t *v) {
  return ik_json_want(err, path, what, v, false);
}

static json_t *or_null(json_t *v) { return v ? v : json_null(); }

/* jansson's iterators and incref take non-const pointers; nothing here
 * modifies v. */
static json_t *unconst(const json_t *v) { return (json_t *)(uintptr_t)v; }

/* --- fields -------------------------------------------------------------- */

int ik_go_get_string(const json_t *obj, const char *key, const char *path, const char **out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  json_t *v = ik_json_get(obj, key);
  *out = "";
  if (v == NULL) return 0;
  if (!json_is_string(v)) {
    *out = NULL;
    return want(err, join(f, path, key), "a string", v);
  }
  *out = json_string_value(v);
  return 0;
}

int ik_go_get_bool(const json_t *obj, const char *key, const char *path, bool *out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  json_t *v = ik_json_get(obj, key);
  *out = false;
  if (v == NULL) return 0;
  if (!json_is_boolean(v)) return want(err, join(f, path, key), "true or false", v);
  *out = json_is_true(v);
  return 0;
}

int ik_go_get_uint(const json_t *obj, const char *key, const char *path, uint64_t *out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  json_t *v = ik_json_get(obj, key);
  *out = 0;
  if (v == NULL) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return want(err, join(f, path, key), "a non-negative integer", v);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

int ik_go_get_object(const json_t *obj, const char *key, const char *path, json_t **out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  *out = ik_json_get(obj, key);
  if (*out && !json_is_object(*out)) {
    int rc = want(err, join(f, path, key), "an object", *out);
    *out = NULL;
    return rc;
  }
  return 0;
}

/* v must be an object or absent. */
static int struct_value(const json_t *v, const char *path, ik_err_t *err) {
  return absent(v) || json_is_object(v) ? 0 : want(err, path, "an object", v);
}

/* A field of type *string: the string, or null when absent. */
static int optional_string(const json_t *obj, const char *key, const char *path, json_t **out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  json_t *v = ik_json_get(obj, key);
  *out = NULL;
  if (v && !json_is_string(v)) return want(err, join(f, path, key), "a string or null", v);
  *out = v ? json_incref(v) : json_null();
  return 0;
}

/* null, or an array whose elements each pass through elem. */
static int list_of(const json_t *v, const char *path, go_fn elem, json_t **out, ik_err_t *err) {
  *out = NULL;
  if (absent(v)) {
    *out = json_null();
    return 0;
  }
  if (!json_is_array(v)) return want(err, path, "an array", v);
  json_t *list = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    char f[PATH_MAX_LEN];
    json_t *one;
    snprintf(f, sizeof f, "%s[%zu]", path, i);
    if (elem(e, f, &one, err) < 0) {
      json_decref(list);
      return IK_EINVAL;
    }
    json_array_append_new(list, one);
  }
  *out = list;
  return 0;
}

/* --- values -------------------------------------------------------------- */

/* A string element: null decodes as "" (Go leaves the zero value). */
static int string_value(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  *out = NULL;
  if (absent(v)) *out = json_string("");
  else if (json_is_string(v)) *out = json_incref(unconst(v));
  else return want(err, path, "a string", v);
  return 0;
}

static int cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int ik_go_string_map(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  *out = NULL;
  if (absent(v)) {
    *out = json_null();
    return 0;
  }
  if (!json_is_object(v)) return want(err, path, "an object of strings", v);
  /* Go writes a map's keys sorted. */
  size_t n = json_object_size(v), i = 0;
  const char **keys = ik_calloc(n ? n : 1, sizeof *keys);
  const char *k;
  json_t *e;
  json_object_foreach(unconst(v), k, e) keys[i++] = k;
  qsort(keys, n, sizeof *keys, cmp_key);
  json_t *map = json_object();
  for (i = 0; i < n; i++) {
    char f[PATH_MAX_LEN];
    json_t *s;
    if (string_value(json_object_get(v, keys[i]), join(f, path, keys[i]), &s, err) < 0) {
      json_decref(map);
      ik_free(keys);
      return IK_EINVAL;
    }
    json_object_set_new(map, keys[i], s);
  }
  ik_free(keys);
  *out = map;
  return 0;
}

int ik_go_string_list(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  return list_of(v, path, string_value, out, err);
}

/* instance.Attachment {"ID", "Type"}. */
static int attachment(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  const char *id, *type;
  *out = NULL;
  if (struct_value(v, path, err) < 0 || ik_go_get_string(v, "ID", path, &id, err) < 0 ||
      ik_go_get_string(v, "Type", path, &type, err) < 0)
    return IK_EINVAL;
  *out = json_pack("{s:s, s:s}", "ID", id, "Type", type);
  return 0;
}

int ik_go_instance_spec(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  const char *init;
  json_t *tags = NULL, *lid = NULL, *atts = NULL;
  *out = NULL;
  if (struct_value(v, path, err) < 0) return IK_EINVAL;
  if (ik_go_string_map(ik_json_get(v, "Tags"), join(f, path, "Tags"), &tags, err) < 0 ||
      ik_go_get_string(v, "Init", path, &init, err) < 0 || optional_string(v, "LogicalID", path, &lid, err) < 0 ||
      list_of(ik_json_get(v, "Attachments"), join(f, path, "Attachments"), attachment, &atts, err) < 0) {
    json_decref(tags);
    json_decref(lid);
    return IK_EINVAL;
  }
  *out = json_pack("{s:O, s:o, s:s, s:o, s:o}", "Properties", or_null(ik_json_get(v, "Properties")), "Tags", tags,
                   "Init", init, "LogicalID", lid, "Attachments", atts);
  return 0;
}

int ik_go_description(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  const char *id;
  json_t *lid = NULL, *tags = NULL;
  *out = NULL;
  if (struct_value(v, path, err) < 0 || ik_go_get_string(v, "ID", path, &id, err) < 0 ||
      optional_string(v, "LogicalID", path, &lid, err) < 0 ||
      ik_go_string_map(ik_json_get(v, "Tags"), join(f, path, "Tags"), &tags, err) < 0) {
    json_decref(lid);
    return IK_EINVAL;
  }
  *out = json_pack("{s:s, s:o, s:o}", "ID", id, "LogicalID", lid, "Tags", tags);
  json_t *props = ik_json_get(v, "Properties");
  if (props) json_object_set(*out, "Properties", props);
  return 0;
}

int ik_go_description_list(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  return list_of(v, path, ik_go_description, out, err);
}

int ik_go_allocation(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  uint64_t size;
  json_t *lids = NULL;
  *out = NULL;
  if (struct_value(v, path, err) < 0 || ik_go_get_uint(v, "Size", path, &size, err) < 0 ||
      ik_go_string_list(ik_json_get(v, "LogicalIDs"), join(f, path, "LogicalIDs"), &lids, err) < 0)
    return IK_EINVAL;
  *out = json_pack("{s:I, s:o}", "Size", (json_int_t)size, "LogicalIDs", lids);
  return 0;
}

int ik_go_index(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  const char *group;
  uint64_t seq;
  *out = NULL;
  if (struct_value(v, path, err) < 0 || ik_go_get_string(v, "Group", path, &group, err) < 0 ||
      ik_go_get_uint(v, "Sequence", path, &seq, err) < 0)
    return IK_EINVAL;
  *out = json_pack("{s:s, s:I}", "Group", group, "Sequence", (json_int_t)seq);
  return 0;
}

int ik_go_group_spec(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  const char *id;
  *out = NULL;
  if (struct_value(v, path, err) < 0 || ik_go_get_string(v, "ID", path, &id, err) < 0) return IK_EINVAL;
  *out = json_pack("{s:s, s:O}", "ID", id, "Properties", or_null(ik_json_get(v, "Properties")));
  return 0;
}

int ik_go_group_spec_list(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  return list_of(v, path, ik_go_group_spec, out, err);
}

int ik_go_group_description(const json_t *v, const char *path, json_t **out, ik_err_t *err) {
  char f[PATH_MAX_LEN];
  json_t *instances = NULL;
  bool converged;
  *out = NULL;
  if (struct_value(v, path, err) < 0 ||
      ik_go_description_list(ik_json_get(v, "Instances"), join(f, path, "Instances"), &instances, err) < 0)
    return IK_EINVAL;
  if (ik_go_get_bool(v, "Converged", path, &converged, err) < 0) {
    json_decref(instances);
    return IK_EINVAL;
  }
  *out = json_pack("{s:o, s:b}", "Instances", instances, "Converged", converged);
  return 0;
}
