/* The engine's metric families (engine_metrics.h). */
#include "engine/engine_metrics.h"

#include <uv.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Bounds in seconds: a plugin call or a store write takes a millisecond on
 * a local driver and seconds on a cloud API; an action adds the flavor's
 * Prepare or Drain; healing waits for an observation and a provision. */
static const double call_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25, 0.5, 1, 2.5, 5, 10, 30};
static const double action_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
static const double heal_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

/* Before the controllers' collectors fill them: a group no longer
 * managed (freed, destroyed, or this daemon no longer leads) goes. */
static void clear_group_gauges(ik_metrics_t *m, void *data) {
  const ik_engine_metrics_t *em = data;
  ik_metric_clear(em->group_instances);
  ik_metric_clear(em->group_phase);
  ik_metric_clear(em->rollout_done);
  ik_metric_clear(em->rollout_ratio);
}

const ik_engine_metrics_t *ik_engine_metrics(void) {
  static ik_engine_metrics_t em;
  if (em.actions) return &em;
  ik_metrics_t *m = ik_metrics_default();
  em.actions = ik_metrics_counter(m, "infrakit_actions_total",
                                  "Actions the group controller finished, by group, kind and outcome (ok or error).",
                                  (const char *[]){"group", "kind", "outcome", NULL});
  em.action_seconds = ik_metrics_histogram(
      m, "infrakit_action_duration_seconds",
      "Time from the start of an action (provision, destroy, drain, label) to its plugin's answer.",
      (const char *[]){"kind", NULL}, action_buckets, N(action_buckets));
  em.plugin_seconds = ik_metrics_histogram(
      m, "infrakit_plugin_rpc_duration_seconds",
      "Time of one call the group controller made to an instance or flavor plugin, by plugin and method.",
      (const char *[]){"plugin", "method", NULL}, call_buckets, N(call_buckets));
  em.heal_seconds = ik_metrics_histogram(
      m, "infrakit_heal_duration_seconds",
      "Time from finding an instance lost (gone without the controller destroying it) to its replacement provisioned.",
      (const char *[]){"group", NULL}, heal_buckets, N(heal_buckets));
  em.store_seconds = ik_metrics_histogram(m, "infrakit_store_write_duration_seconds",
                                          "Time of one store write (put or delete) until it is durable.",
                                          (const char *[]){"store", NULL}, call_buckets, N(call_buckets));
  em.group_instances = ik_metrics_gauge(
      m, "infrakit_group_instances",
      "Instances of a group: desired (the spec's size), current, updated (at the target config), available, unhealthy.",
      (const char *[]){"group", "state", NULL});
  em.group_phase = ik_metrics_gauge(m, "infrakit_group_phase",
                                    "The group's phase: 1 for the current one, 0 for the others.",
                                    (const char *[]){"group", "phase", NULL});
  em.rollout_done = ik_metrics_gauge(m, "infrakit_group_rollout_done_instances",
                                     "Rollout progress: instances available at the target config.",
                                     (const char *[]){"group", NULL});
  em.rollout_ratio = ik_metrics_gauge(m, "infrakit_group_rollout_progress_ratio",
                                      "Rollout progress: done instances over desired (1 when nothing is desired).",
                                      (const char *[]){"group", NULL});
  ik_metrics_add_collector(m, clear_group_gauges, &em);
  return &em;
}

void ik_metric_observe_since(ik_metric_series_t *s, uint64_t started_ns) {
  ik_metric_observe(s, (double)(uv_hrtime() - started_ns) / 1e9);
}
