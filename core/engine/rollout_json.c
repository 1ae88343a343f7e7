/* Rollout state <-> JSON (rollout_json.h). */
#include "engine/rollout_json.h"

#include <string.h>

#include "base/mem.h"

json_t *ik_rollout_state_to_json(const ik_rollout_state_t *st, bool destroying) {
  return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:I, s:s, s:b}", "SpecHash", st->spec_hash, "TargetHash",
                   st->target_hash, "GoodHash", st->good_hash, "SelfDrainedHash", st->self_drained_hash,
                   "CanaryPromoted", st->canary_promoted, "Paused", st->paused, "RolledBack", st->rolled_back,
                   "StartedMs", (json_int_t)st->started_ms, "Failure", st->failure, "Destroying", destroying);
}

/* Copy the string field key into dst (a buffer of n bytes). */
static int get_str(const json_t *v, const char *key, char *dst, size_t n, ik_err_t *err) {
  json_t *f = json_object_get(v, key);
  if (f == NULL || json_is_null(f)) return 0;
  if (!json_is_string(f) || json_string_length(f) >= n)
    return ik_err_set(err, IK_EINVAL, "rollout state %s: want a string of at most %zu bytes", key, n - 1);
  memcpy(dst, json_string_value(f), json_string_length(f) + 1);
  return 0;
}

static int get_bool(const json_t *v, const char *key, bool *dst, ik_err_t *err) {
  json_t *f = json_object_get(v, key);
  if (f == NULL || json_is_null(f)) return 0;
  if (!json_is_boolean(f)) return ik_err_set(err, IK_EINVAL, "rollout state %s: want true or false", key);
  *dst = json_is_true(f);
  return 0;
}

int ik_rollout_state_from_json(const json_t *v, ik_rollout_state_t *st, bool *destroying, ik_err_t *err) {
  ik_rollout_state_init(st);
  *destroying = false;
  if (!json_is_object(v)) return ik_err_set(err, IK_EINVAL, "rollout state: want an object");
  char phase[32] = "steady";
  if (get_str(v, "SpecHash", st->spec_hash, sizeof st->spec_hash, err) < 0 ||
      get_str(v, "TargetHash", st->target_hash, sizeof st->target_hash, err) < 0 ||
      get_str(v, "GoodHash", st->good_hash, sizeof st->good_hash, err) < 0 ||
      get_str(v, "SelfDrainedHash", st->self_drained_hash, sizeof st->self_drained_hash, err) < 0 ||
      get_str(v, "Phase", phase, sizeof phase, err) < 0 ||
      get_str(v, "Failure", st->failure, sizeof st->failure, err) < 0 ||
      get_bool(v, "CanaryPromoted", &st->canary_promoted, err) < 0 || get_bool(v, "Paused", &st->paused, err) < 0 ||
      get_bool(v, "RolledBack", &st->rolled_back, err) < 0 || get_bool(v, "Destroying", destroying, err) < 0)
    return IK_EINVAL;
  int p = IK_PHASE_STEADY;
  while (p <= IK_PHASE_PAUSED && strcmp(ik_plan_phase_name((ik_plan_phase_t)p), phase) != 0) p++;
  if (p > IK_PHASE_PAUSED) return ik_err_set(err, IK_EINVAL, "rollout state Phase: unknown phase \"%s\"", phase);
  st->phase = (ik_plan_phase_t)p;
  json_t *started = json_object_get(v, "StartedMs");
  if (started && !json_is_null(started)) {
    if (!json_is_integer(started)) return ik_err_set(err, IK_EINVAL, "rollout state StartedMs: want an integer");
    st->started_ms = json_integer_value(started);
  }
  json_t *healthy = json_object_get(v, "HealthySince");
  if (healthy && !json_is_null(healthy)) {
    if (!json_is_object(healthy)) return ik_err_set(err, IK_EINVAL, "rollout state HealthySince: want an object");
    st->healthy = ik_calloc(json_object_size(healthy) + 1, sizeof *st->healthy);
    const char *id;
    json_t *since;
    json_object_foreach(healthy, id, since) {
      if (!json_is_integer(since))
        return ik_err_set(err, IK_EINVAL, "rollout state HealthySince.%s: want an integer", id);
      st->healthy[st->n_healthy++] = (ik_healthy_since_t){ik_strdup(id), json_integer_value(since)};
    }
  }
  return 0;
}
