/* The plan's names, text forms and rollout-state helpers (see plan.h). */
#include "engine/plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

const char *ik_plan_action_kind_name(ik_plan_action_kind_t k) {
  static const char *const names[] = {"provision", "destroy", "drain", "label", "wait"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *ik_plan_phase_name(ik_plan_phase_t p) {
  switch (p) {
  case IK_PHASE_STEADY: return "steady";
  case IK_PHASE_SCALING: return "scaling";
  case IK_PHASE_ROLLING: return "rolling";
  case IK_PHASE_CANARY_PAUSED: return "canary-paused";
  case IK_PHASE_BLOCKED: return "blocked";
  case IK_PHASE_PAUSED: return "paused";
  default: abort();
  }
}

const char *ik_destroy_reason_name(ik_destroy_reason_t r) {
  switch (r) {
  case IK_DESTROY_TERMINATE: return "terminate";
  case IK_DESTROY_ROLLING_UPDATE: return "rolling_update";
  default: abort();
  }
}

const char *ik_wait_for_name(ik_wait_for_t w) {
  switch (w) {
  case IK_WAIT_HEALTHY: return "healthy";
  case IK_WAIT_PROMOTION: return "promotion";
  case IK_WAIT_UNHEALTHY: return "unhealthy";
  case IK_WAIT_IN_FLIGHT: return "in-flight";
  case IK_WAIT_RESUME: return "resume";
  default: abort();
  }
}

void ik_plan_action_format(ik_buf_t *out, const ik_plan_action_t *a) {
  switch (a->kind) {
  case IK_ACTION_PROVISION:
    ik_buf_puts(out, "provision");
    if (a->logical_id) ik_buf_printf(out, " logical_id=%s", a->logical_id);
    ik_buf_printf(out, " hash=%s", a->config_hash);
    break;
  case IK_ACTION_DESTROY:
    ik_buf_printf(out, "destroy %s %s%s", a->id, ik_destroy_reason_name(a->reason), a->drain ? " drain" : "");
    break;
  case IK_ACTION_DRAIN:
    ik_buf_printf(out, "drain %s", a->id);
    break;
  case IK_ACTION_LABEL:
    ik_buf_printf(out, "label %s hash=%s", a->id, a->config_hash);
    break;
  case IK_ACTION_WAIT:
    ik_buf_printf(out, "wait %s", ik_wait_for_name(a->wait_for));
    if (a->until_ms) ik_buf_printf(out, " until=%" PRId64, a->until_ms);
    break;
  default:
    abort();
  }
  ik_buf_printf(out, " (%s)", a->why);
}

void ik_plan_summary_format(ik_buf_t *out, const ik_plan_summary_t *s) {
  ik_buf_printf(out, "%s %" PRIu64 "/%" PRIu64, ik_plan_phase_name(s->phase), s->done, s->total);
  if (s->reason[0]) ik_buf_printf(out, ": %s", s->reason);
}

void ik_plan_free(ik_plan_t *plan) {
  if (plan == NULL) return;
  for (size_t i = 0; i < plan->n_actions; i++) {
    ik_free(plan->actions[i].id);
    ik_free(plan->actions[i].logical_id);
    ik_free(plan->actions[i].why);
  }
  ik_free(plan->actions);
  ik_rollout_state_free(&plan->next);
  memset(plan, 0, sizeof *plan);
}

void ik_rollout_state_init(ik_rollout_state_t *st) { memset(st, 0, sizeof *st); }

void ik_rollout_state_free(ik_rollout_state_t *st) {
  if (st == NULL) return;
  for (size_t i = 0; i < st->n_healthy; i++) ik_free(st->healthy[i].id);
  ik_free(st->healthy);
  memset(st, 0, sizeof *st);
}

void ik_rollout_state_copy(ik_rollout_state_t *dst, const ik_rollout_state_t *src) {
  *dst = *src;
  dst->healthy = NULL;
  dst->n_healthy = 0;
  if (src->n_healthy == 0) return;
  dst->healthy = ik_calloc(src->n_healthy, sizeof *dst->healthy);
  for (size_t i = 0; i < src->n_healthy; i++) {
    dst->healthy[i].id = ik_strdup(src->healthy[i].id);
    dst->healthy[i].since_ms = src->healthy[i].since_ms;
  }
  dst->n_healthy = src->n_healthy;
}
