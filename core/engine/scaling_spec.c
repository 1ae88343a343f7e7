/* Properties.Scaling parsing and validation (see scaling_spec.h). */
#include "engine/scaling_spec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "engine/quantity.h"

#define PATH "Properties.Scaling"

static int want(ik_err_t *err, const char *f, const char *what, const json_t *v) {
  return ik_json_want(err, f, what, v, true);
}

/* s[key] as an integer in [lo, hi]; *out unchanged when absent. */
static int get_int(const json_t *s, const char *key, const char *what, uint64_t lo, uint64_t hi, uint64_t *out,
                   ik_err_t *err) {
  char f[64];
  json_t *v = ik_json_get(s, key);
  if (v == NULL) return 0;
  snprintf(f, sizeof f, PATH ".%s", key);
  if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < lo ||
      (uint64_t)json_integer_value(v) > hi)
    return want(err, f, what, v);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static int get_duration(const json_t *s, const char *key, int64_t *ms, ik_err_t *err) {
  char f[64];
  json_t *v = ik_json_get(s, key);
  if (v == NULL) return 0;
  snprintf(f, sizeof f, PATH ".%s", key);
  return ik_duration_field(v, f, true, ms, err);
}

/* A policy name names a file ($INFRAKIT_HOME/policies/NAME.lua) or a
 * built-in: letters, digits, '.', '_', '-', not starting with '.'. */
static bool policy_name_ok(const char *s) {
  if (*s == '\0' || *s == '.' || strlen(s) > 64) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
          *s == '_' || *s == '-'))
      return false;
  return true;
}

static int parse_policy(const json_t *s, ik_err_t *err) {
  json_t *p = ik_json_get(s, "Policy");
  if (p == NULL) return ik_err_set(err, IK_EINVAL, PATH ".Policy: must not be blank: give a policy name "
                                                        "(\"" IK_SCALING_TARGET_UTILISATION "\") or {\"Source\": \"<Lua>\"}");
  if (json_is_string(p)) {
    if (!policy_name_ok(json_string_value(p)))
      return want(err, PATH ".Policy", "a name of letters, digits, '.', '_' and '-'", p);
  } else if (json_is_object(p)) {
    json_t *src = ik_json_get(p, "Source");
    if (!json_is_string(src) || json_string_length(src) == 0)
      return want(err, PATH ".Policy.Source", "Lua source returning a function", src ? src : json_null());
  } else {
    return want(err, PATH ".Policy", "a policy name or {\"Source\": \"<Lua>\"}", p);
  }
  /* The built-in policy's parameters are known: check them now. */
  if (json_is_string(p) && strcmp(json_string_value(p), IK_SCALING_TARGET_UTILISATION) == 0) {
    json_t *t = ik_json_get(s, "Target");
    if (t == NULL) return ik_err_set(err, IK_EINVAL, PATH ".Target: must not be blank: the " IK_SCALING_TARGET_UTILISATION " policy needs the metric's target per instance");
    if (!json_is_number(t) || !(json_number_value(t) > 0) || !isfinite(json_number_value(t)))
      return want(err, PATH ".Target", "a number > 0", t);
    json_t *m = ik_json_get(s, "Metric");
    if (m && (!json_is_string(m) || json_string_length(m) == 0)) return want(err, PATH ".Metric", "a metric name", m);
    json_t *tol = ik_json_get(s, "Tolerance");
    if (tol && (!json_is_number(tol) || json_number_value(tol) < 0 || json_number_value(tol) >= 1))
      return want(err, PATH ".Tolerance", "a fraction in [0, 1)", tol);
  }
  return 0;
}

int ik_scaling_parse(const json_t *props, bool pets, uint64_t max_size, ik_scaling_t *out, ik_err_t *err) {
  memset(out, 0, sizeof *out);
  json_t *s = ik_json_get(props, "Scaling");
  if (s == NULL) return 0;
  if (!json_is_object(s)) return want(err, PATH, "an object", s);
  if (pets)
    return ik_err_set(err, IK_EINVAL,
                      PATH ": needs Allocation.Size: a group of LogicalIDs has no size to scale");
  if (parse_policy(s, err) < 0) return IK_EINVAL;
  out->min = 1;
  out->interval_ms = 10000;
  int64_t cooldown = 60000;
  uint64_t after = 3;
  if (ik_json_get(s, "Max") == NULL)
    return ik_err_set(err, IK_EINVAL, PATH ".Max: must not be blank: the autoscaler needs a ceiling");
  if (get_int(s, "Min", "a non-negative integer", 0, max_size, &out->min, err) < 0) return IK_EINVAL;
  char what[64];
  snprintf(what, sizeof what, "an integer >= Min (%llu)", (unsigned long long)out->min);
  if (get_int(s, "Max", what, out->min, UINT64_MAX, &out->max, err) < 0) return IK_EINVAL;
  if (out->max > max_size)
    return ik_err_set(err, IK_EINVAL,
                      PATH ".Max: %llu is above the limit of %llu instances per group (daemon --max-group-size)",
                      (unsigned long long)out->max, (unsigned long long)max_size);
  if (get_duration(s, "Interval", &out->interval_ms, err) < 0) return IK_EINVAL;
  if (out->interval_ms < 100)
    return ik_err_set(err, IK_EINVAL, PATH ".Interval: want at least 100ms, got %lldms", (long long)out->interval_ms);
  if (get_duration(s, "Cooldown", &cooldown, err) < 0) return IK_EINVAL;
  out->cooldown_up_ms = out->cooldown_down_ms = cooldown;
  if (get_duration(s, "CooldownUp", &out->cooldown_up_ms, err) < 0) return IK_EINVAL;
  if (get_duration(s, "CooldownDown", &out->cooldown_down_ms, err) < 0) return IK_EINVAL;
  if (get_int(s, "ScaleInAfter", "an integer >= 1", 1, 1000, &after, err) < 0) return IK_EINVAL;
  out->scale_in_after = (uint32_t)after;
  out->set = true;
  return 0;
}
