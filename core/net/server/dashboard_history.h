/* The dashboard's memory of the last hour: per group, a ring of samples
 * (desired, current, available, updated at a wall-clock time), so the page
 * can chart a group's size without a metrics system. Plain data, no loop:
 * the sampler (dashboard.c) adds, GET /ui/history.json reads.
 *
 * Bounded: IK_DASHBOARD_HISTORY_SAMPLES per group (an hour at one sample
 * every 10 s) and IK_DASHBOARD_HISTORY_GROUPS groups; a group no longer
 * committed is forgotten by ik_dashboard_history_retain(). About 9 KiB per
 * group. */
#ifndef IK_NET_DASHBOARD_HISTORY_H
#define IK_NET_DASHBOARD_HISTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define IK_DASHBOARD_HISTORY_SAMPLES 360
#define IK_DASHBOARD_HISTORY_GROUPS 256

typedef struct ik_dashboard_sample {
  int64_t t_ms; /* wall clock, ms since the epoch */
  int64_t desired, current, available, updated;
} ik_dashboard_sample_t;

typedef struct ik_dashboard_history ik_dashboard_history_t;

ik_dashboard_history_t *ik_dashboard_history_new(void);
void ik_dashboard_history_free(ik_dashboard_history_t *h);

/* Append s to group id's ring (the oldest sample goes when it is full).
 * A new group beyond IK_DASHBOARD_HISTORY_GROUPS is not recorded. id is
 * copied. */
void ik_dashboard_history_add(ik_dashboard_history_t *h, const char *id, const ik_dashboard_sample_t *s);

/* Forget every group whose ID is not in ids (a JSON array of strings;
 * borrowed). */
void ik_dashboard_history_retain(ik_dashboard_history_t *h, const json_t *ids);

/* {"IntervalMs": interval_ms, "Columns": ["t", "desired", "current",
 * "available", "updated"], "Groups": {"<id>": [[t, d, c, a, u], ...]}},
 * oldest first; the caller owns it. */
json_t *ik_dashboard_history_json(const ik_dashboard_history_t *h, uint64_t interval_ms);

#endif
