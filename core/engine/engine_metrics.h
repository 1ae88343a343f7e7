/* What the engine measures, on the process's registry (metrics.h
 * ik_metrics_default; docs/observability.md lists each with its meaning):
 *
 *   infrakit_actions_total{group,kind,outcome}          counter
 *   infrakit_action_duration_seconds{kind}              histogram
 *   infrakit_plugin_rpc_duration_seconds{plugin,method} histogram
 *   infrakit_heal_duration_seconds{group}               histogram
 *   infrakit_store_write_duration_seconds{store}        histogram
 *
 * and, read at scrape time from each running controller (controller.c),
 * infrakit_group_instances, infrakit_group_phase and the rollout's
 * progress. Registered together at the first call, so they are named and
 * described in one place. */
#ifndef IK_ENGINE_ENGINE_METRICS_H
#define IK_ENGINE_ENGINE_METRICS_H

#include <stdint.h>

#include "engine/metrics.h"

typedef struct ik_engine_metrics {
  ik_metric_t *actions;         /* group, kind (provision|destroy|drain|label), outcome (ok|error) */
  ik_metric_t *action_seconds;  /* kind: from the action's start to its answer */
  ik_metric_t *plugin_seconds;  /* plugin, method ("Instance.Provision"): one call the controller made */
  ik_metric_t *heal_seconds;    /* group: an instance found lost → its replacement provisioned */
  ik_metric_t *store_seconds;   /* store (file|etcd): one put or delete, until durable */
  ik_metric_t *group_instances; /* group, state (desired|current|updated|available|unhealthy) */
  ik_metric_t *group_phase;     /* group, phase: 1 for the current phase, 0 for the others */
  ik_metric_t *rollout_done;    /* group: instances available at the target config */
  ik_metric_t *rollout_ratio;   /* group: rollout_done / desired (1 with nothing desired) */
} ik_engine_metrics_t;

/* The engine's families (registered on ik_metrics_default() at the first
 * call). */
const ik_engine_metrics_t *ik_engine_metrics(void);

/* Observe, in seconds, the time since started (uv_hrtime() nanoseconds). */
void ik_metric_observe_since(ik_metric_series_t *s, uint64_t started_ns);

#endif
