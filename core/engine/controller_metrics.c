/* The group gauges of one controller, read at scrape time
 * (engine_metrics.h; controller_internal.h ik__controller_collect). */
#include <string.h>

#include "engine/controller_internal.h"
#include "engine/engine_metrics.h"

/* Every phase a group shows (its status's "Phase"): each gets a series, 1
 * for the current one, so a dashboard can graph any of them. */
static const char *const phases[] = {"pending", "steady", "scaling", "rolling", "canary-paused", "blocked", "paused",
                                     "destroying"};

static const char *phase_of(const ik__group_t *g) {
  if (g->destroying) return "destroying";
  if (ik__group_summary_stale(g)) return "pending";
  return ik_plan_phase_name(g->summary.phase);
}

void ik__controller_collect(ik_metrics_t *m, void *data) {
  ik_controller_t *c = data;
  const ik_engine_metrics_t *em = ik_engine_metrics();
  for (ik__group_t *g = c->groups; g; g = g->next) {
    if (g->freed) continue;
    const ik_plan_summary_t *s = &g->summary;
    const struct {
      const char *state;
      uint64_t n;
    } counts[] = {{"desired", g->spec.size}, {"current", s->current}, {"updated", s->updated}, {"available", s->available}, {"unhealthy", s->unhealthy}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
      ik_metric_set(ik_metric_series(em->group_instances, g->id, counts[i].state), (double)counts[i].n);
    const char *phase = phase_of(g);
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
      ik_metric_set(ik_metric_series(em->group_phase, g->id, phases[i]), strcmp(phase, phases[i]) == 0 ? 1 : 0);
    ik_metric_set(ik_metric_series(em->rollout_done, g->id), (double)s->done);
    ik_metric_set(ik_metric_series(em->rollout_ratio, g->id), s->total ? (double)s->done / (double)s->total : 1.0);
  }
}
