/* The registry's layout, shared by metrics.c (registering, observing) and
 * metrics_text.c (the exposition). */
#ifndef IK_ENGINE_METRICS_INTERNAL_H
#define IK_ENGINE_METRICS_INTERNAL_H

#include "engine/metrics.h"

struct ik_metric_series {
  ik_metric_series_t *next;
  const ik_metric_t *family;
  char *values[IK_METRIC_MAX_LABELS]; /* owned; one per label name */
  double value;                       /* counter, gauge; histogram: the sum */
  unsigned long long count;           /* histogram: observations */
  unsigned long long *buckets;        /* histogram: per bucket (not cumulative), n_buckets */
};

struct ik_metric {
  ik_metric_t *next;
  ik_metrics_t *owner;
  char *name;
  char *help;
  ik_metric_type_t type;
  size_t n_labels;
  char *labels[IK_METRIC_MAX_LABELS];
  size_t n_buckets;
  double bounds[IK_METRIC_MAX_BUCKETS];
  ik_metric_series_t *series, **tail; /* in the order created */
};

typedef struct ik__collector {
  struct ik__collector *next;
  ik_metrics_collect_fn fn;
  void *data;
} ik__collector_t;

struct ik_metrics {
  ik_metric_t *families, **tail; /* in the order registered */
  ik__collector_t *collectors;
};

#endif
