/* Group spec parsing and validation (see group_spec.h). */
#include "engine/group_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/mem.h"

#define FIELD_MAX 160

/* "Properties.Updating" + "." + key into buf. */
static const char *field(char *buf, const char *path, const char *key) {
  snprintf(buf, FIELD_MAX, "%.80s.%.60s", path, key);
  return buf;
}

/* "<field>: want <what>, got <v>". */
static int want(ik_err_t *err, const char *f, const char *what, const json_t *v) {
  return ik_json_want(err, f, what, v, true);
}

/* obj[key] as an object, or NULL when absent. */
static int get_object(const json_t *obj, const char *key, const char *path, json_t **out, ik_err_t *err) {
  char f[FIELD_MAX];
  *out = ik_json_get(obj, key);
  if (*out && !json_is_object(*out)) return want(err, field(f, path, key), "an object", *out);
  return 0;
}

/* obj[key] as a string; def when absent. */
static int get_string(const json_t *obj, const char *key, const char *path, const char *def, const char **out,
                      ik_err_t *err) {
  char f[FIELD_MAX];
  json_t *v = ik_json_get(obj, key);
  *out = def;
  if (v == NULL) return 0;
  if (!json_is_string(v)) return want(err, field(f, path, key), "a string", v);
  *out = json_string_value(v);
  return 0;
}

/* obj[key] as an integer in [0, max]; *out unchanged when absent. */
static int get_count(const json_t *obj, const char *key, const char *path, int64_t max, int64_t *out,
                     ik_err_t *err) {
  char f[FIELD_MAX];
  json_t *v = ik_json_get(obj, key);
  if (v == NULL) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
    return want(err, field(f, path, key), "a non-negative integer", v);
  *out = json_integer_value(v);
  return 0;
}

static int get_bool(const json_t *obj, const char *key, const char *path, bool *out, ik_err_t *err) {
  char f[FIELD_MAX];
  json_t *v = ik_json_get(obj, key);
  if (v == NULL) return 0;
  if (!json_is_boolean(v)) return want(err, field(f, path, key), "true or false", v);
  *out = json_is_true(v);
  return 0;
}

/* obj[key] as a count or percentage; *set tells whether it was given. */
static int get_intstr(const json_t *obj, const char *key, const char *path, ik_intstr_t *out, bool *set,
                      ik_err_t *err) {
  char f[FIELD_MAX];
  json_t *v = ik_json_get(obj, key);
  *set = v != NULL;
  if (v == NULL) return 0;
  return ik_intstr_parse(v, field(f, path, key), out, err);
}

static int get_duration(const json_t *obj, const char *key, const char *path, bool seconds_ok, int64_t *ms,
                        ik_err_t *err) {
  char f[FIELD_MAX];
  json_t *v = ik_json_get(obj, key);
  if (v == NULL) return 0;
  return ik_duration_field(v, field(f, path, key), seconds_ok, ms, err);
}

/* --- blocks ----------------------------------------------------------------- */

/* A size above max is refused before anything is allocated for it: a
 * spec must not be able to make the daemon plan, store or allocate
 * without bound. */
static int over_limit(ik_err_t *err, const char *f, uint64_t n, uint64_t max) {
  return ik_err_set(err, IK_EINVAL,
                    "%s: %llu is above the limit of %llu instances per group (daemon --max-group-size, "
                    "INFRAKIT_MAX_GROUP_SIZE)",
                    f, (unsigned long long)n, (unsigned long long)max);
}

static int parse_allocation(const json_t *props, uint64_t max_size, ik_group_spec_t *out, ik_err_t *err) {
  const char *path = "Properties.Allocation";
  json_t *alloc, *size, *ids;
  if (get_object(props, "Allocation", "Properties", &alloc, err) < 0) return IK_EINVAL;
  size = ik_json_get(alloc, "Size");
  ids = ik_json_get(alloc, "LogicalIDs");
  if (ids && json_is_array(ids) && json_array_size(ids) == 0) ids = NULL;
  if (size == NULL && ids == NULL)
    return ik_err_set(err, IK_EINVAL, "%s: must not be blank: give Size or LogicalIDs", path);
  if (size && ids && !(json_is_integer(size) && json_integer_value(size) == 0))
    return ik_err_set(err, IK_EINVAL, "%s: only one of Size and LogicalIDs may be used", path);
  if (ids == NULL) {
    if (!json_is_integer(size) || json_integer_value(size) < 0)
      return want(err, "Properties.Allocation.Size", "a non-negative integer", size);
    out->size = (uint64_t)json_integer_value(size);
    if (out->size > max_size) return over_limit(err, "Properties.Allocation.Size", out->size, max_size);
    return 0;
  }
  if (!json_is_array(ids)) return want(err, "Properties.Allocation.LogicalIDs", "an array of strings", ids);
  size_t n = json_array_size(ids);
  if (n > max_size) return over_limit(err, "Properties.Allocation.LogicalIDs", n, max_size);
  out->pets = true;
  out->logical_ids = ik_calloc(n, sizeof *out->logical_ids);
  for (size_t i = 0; i < n; i++) {
    char f[FIELD_MAX];
    json_t *e = json_array_get(ids, i);
    snprintf(f, sizeof f, "%s.LogicalIDs[%zu]", path, i);
    if (!json_is_string(e)) return want(err, f, "a string", e);
    const char *s = json_string_value(e);
    if (*s == '\0') return ik_err_set(err, IK_EINVAL, "%s: must not be blank", f);
    for (size_t j = 0; j < i; j++)
      if (strcmp(out->logical_ids[j], s) == 0)
        return ik_err_set(err, IK_EINVAL, "%s: duplicate logical ID \"%s\"", f, s);
    out->logical_ids[i] = ik_strdup(s);
    out->n_logical_ids = i + 1;
  }
  out->size = n;
  return 0;
}

/* Instance or Flavor: {"Plugin": non-blank string, "Properties": any}. */
static int parse_plugin(const json_t *props, const char *name, char **plugin, json_t **properties,
                        ik_err_t *err) {
  char path[FIELD_MAX], f[FIELD_MAX];
  json_t *block;
  const char *p;
  snprintf(path, sizeof path, "Properties.%s", name);
  if (get_object(props, name, "Properties", &block, err) < 0) return IK_EINVAL;
  if (get_string(block, "Plugin", path, "", &p, err) < 0) return IK_EINVAL;
  if (*p == '\0') return ik_err_set(err, IK_EINVAL, "%s: must not be blank", field(f, path, "Plugin"));
  *plugin = ik_strdup(p);
  json_t *pp = ik_json_get(block, "Properties");
  *properties = pp ? json_incref(pp) : NULL;
  return 0;
}

static int parse_updating(const json_t *props, ik_group_spec_t *out, ik_err_t *err) {
  const char *path = "Properties.Updating";
  ik_updating_t *u = &out->updating;
  json_t *up;
  bool surge_set, unavail_set;
  const char *skip, *policy;
  int64_t n;

  /* Defaults (docs/groups.md). */
  u->max_surge = (ik_intstr_t){out->pets ? 0 : 1, false};
  u->max_unavailable = (ik_intstr_t){out->pets ? 1 : 0, false};
  u->healthy_deadline_ms = 600 * 1000;
  u->delete_policy = IK_DELETE_OLDEST;

  if (get_object(props, "Updating", "Properties", &up, err) < 0) return IK_EINVAL;
  if (up == NULL) return 0;
  if (get_duration(up, "Duration", path, false, &u->duration_ms, err) < 0) return IK_EINVAL;
  if (get_count(up, "Count", path, INT32_MAX, &u->count, err) < 0) return IK_EINVAL;
  if (u->count > 0 && u->duration_ms > 0)
    return ik_err_set(err, IK_EINVAL, "%s: only one of Count and Duration may be used", path);
  if (get_string(up, "SkipBeforeInstanceDestroy", path, "", &skip, err) < 0) return IK_EINVAL;
  if (*skip && strcmp(skip, "drain") != 0)
    return ik_err_set(err, IK_EINVAL, "%s.SkipBeforeInstanceDestroy: want \"drain\", got \"%.40s\"", path, skip);
  u->skip_drain = *skip != '\0';

  if (get_intstr(up, "MaxSurge", path, &u->max_surge, &surge_set, err) < 0) return IK_EINVAL;
  if (get_intstr(up, "MaxUnavailable", path, &u->max_unavailable, &unavail_set, err) < 0) return IK_EINVAL;
  if (ik_intstr_is_zero(u->max_surge) && ik_intstr_is_zero(u->max_unavailable))
    return ik_err_set(err, IK_EINVAL, "%s: MaxSurge and MaxUnavailable cannot both be 0 (%s)", path,
                      surge_set && unavail_set ? "both given as 0"
                      : surge_set              ? "MaxUnavailable defaults to 0"
                                               : "MaxSurge defaults to 0 for LogicalIDs");
  n = 0;
  if (get_count(up, "MaxParallel", path, UINT32_MAX, &n, err) < 0) return IK_EINVAL;
  u->max_parallel = (uint32_t)n;
  n = 0;
  if (get_count(up, "Canary", path, UINT32_MAX, &n, err) < 0) return IK_EINVAL;
  u->canary = (uint32_t)n;
  json_t *mhs = ik_json_get(up, "MinHealthySeconds");
  if (mhs && (!json_is_number(mhs) || json_number_value(mhs) < 0 || json_number_value(mhs) > 1e9))
    return want(err, "Properties.Updating.MinHealthySeconds", "a number of seconds >= 0", mhs);
  if (mhs) u->min_healthy_ms = (int64_t)(json_number_value(mhs) * 1000);
  if (get_duration(up, "HealthyDeadline", path, true, &u->healthy_deadline_ms, err) < 0) return IK_EINVAL;
  if (get_bool(up, "AutoRollback", path, &u->auto_rollback, err) < 0) return IK_EINVAL;
  if (get_string(up, "DeletePolicy", path, "Oldest", &policy, err) < 0) return IK_EINVAL;
  if (strcasecmp(policy, "Oldest") == 0) u->delete_policy = IK_DELETE_OLDEST;
  else if (strcasecmp(policy, "Newest") == 0) u->delete_policy = IK_DELETE_NEWEST;
  else if (strcasecmp(policy, "Random") == 0) u->delete_policy = IK_DELETE_RANDOM;
  else
    return ik_err_set(err, IK_EINVAL, "%s.DeletePolicy: want \"Oldest\", \"Newest\" or \"Random\", got \"%.40s\"",
                      path, policy);
  return 0;
}

static int parse_health(const json_t *props, ik_group_spec_t *out, ik_err_t *err) {
  const char *path = "Properties.Health";
  json_t *h;
  bool set;
  out->health.max_unhealthy = (ik_intstr_t){100, true};
  if (get_object(props, "Health", "Properties", &h, err) < 0) return IK_EINVAL;
  if (h == NULL) return 0;
  if (get_duration(h, "UnhealthyTimeout", path, true, &out->health.unhealthy_timeout_ms, err) < 0)
    return IK_EINVAL;
  return get_intstr(h, "MaxUnhealthy", path, &out->health.max_unhealthy, &set, err);
}

int ik_group_id_check(const char *id, ik_err_t *err) {
  size_t n = strlen(id);
  if (n == 0) return ik_err_set(err, IK_EINVAL, "ID: must not be blank");
  if (n > IK_GROUP_ID_MAX)
    return ik_err_set(err, IK_EINVAL, "ID: want at most %d characters, got %zu", IK_GROUP_ID_MAX, n);
  for (const char *p = id; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
        ch == '-')
      continue;
    if (ch < 0x20 || ch >= 0x7f)
      return ik_err_set(err, IK_EINVAL, "ID: byte 0x%02x is not allowed: use letters, digits, \".\", \"_\" and \"-\"",
                        ch);
    return ik_err_set(err, IK_EINVAL, "ID: '%c' is not allowed: use letters, digits, \".\", \"_\" and \"-\" (got \"%.60s\")",
                      ch, id);
  }
  if (id[0] == '.') return ik_err_set(err, IK_EINVAL, "ID: must not start with \".\" (got \"%.60s\")", id);
  return 0;
}

int ik_group_spec_parse(const json_t *v, ik_group_spec_t *out, ik_err_t *err) {
  return ik_group_spec_parse_limited(v, IK_GROUP_MAX_SIZE_DEFAULT, out, err);
}

int ik_group_spec_parse_limited(const json_t *v, uint64_t max_size, ik_group_spec_t *out, ik_err_t *err) {
  json_t *props;
  const char *id;
  memset(out, 0, sizeof *out);
  if (!json_is_object(v)) return ik_err_set(err, IK_EINVAL, "group spec: want an object");
  json_t *idv = ik_json_get(v, "ID");
  if (idv && !json_is_string(idv)) {
    want(err, "ID", "a string", idv);
    goto fail;
  }
  id = idv ? json_string_value(idv) : "";
  if (ik_group_id_check(id, err) < 0) goto fail;
  out->id = ik_strdup(id);
  props = ik_json_get(v, "Properties");
  if (props == NULL) {
    ik_err_set(err, IK_EINVAL, "Properties: must not be blank");
    goto fail;
  }
  if (!json_is_object(props)) {
    want(err, "Properties", "an object", props);
    goto fail;
  }
  if (parse_allocation(props, max_size, out, err) < 0 ||
      parse_plugin(props, "Instance", &out->instance_plugin, &out->instance_properties, err) < 0 ||
      parse_plugin(props, "Flavor", &out->flavor_plugin, &out->flavor_properties, err) < 0 ||
      parse_updating(props, out, err) < 0 || parse_health(props, out, err) < 0 ||
      ik_scaling_parse(props, out->pets, max_size, &out->scaling, err) < 0)
    goto fail;
  int rc = ik_config_hash(out->instance_plugin, out->instance_properties, out->flavor_plugin,
                          out->flavor_properties, out->config_hash, err);
  if (rc < 0) {
    ik_group_spec_free(out);
    return rc;
  }
  return 0;
fail:
  ik_group_spec_free(out);
  return IK_EINVAL;
}

void ik_group_spec_free(ik_group_spec_t *spec) {
  if (spec == NULL) return;
  ik_free(spec->id);
  for (size_t i = 0; i < spec->n_logical_ids; i++) ik_free(spec->logical_ids[i]);
  ik_free(spec->logical_ids);
  ik_free(spec->instance_plugin);
  ik_free(spec->flavor_plugin);
  json_decref(spec->instance_properties);
  json_decref(spec->flavor_properties);
  memset(spec, 0, sizeof *spec);
}

const char *ik_delete_policy_name(ik_delete_policy_t p) {
  switch (p) {
  case IK_DELETE_OLDEST: return "Oldest";
  case IK_DELETE_NEWEST: return "Newest";
  case IK_DELETE_RANDOM: return "Random";
  default: abort();
  }
}

json_t *ik_group_spec_allocation(const ik_group_spec_t *s) {
  if (!s->pets) return json_pack("{s:I, s:n}", "Size", (json_int_t)s->size, "LogicalIDs");
  json_t *ids = json_array();
  for (size_t i = 0; i < s->n_logical_ids; i++) json_array_append_new(ids, json_string(s->logical_ids[i]));
  return json_pack("{s:I, s:o}", "Size", (json_int_t)0, "LogicalIDs", ids);
}
