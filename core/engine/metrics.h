/* Metrics: counters, gauges and histograms with fixed buckets, kept in a
 * registry and written out in Prometheus' text exposition format, version
 * 0.0.4 (docs/observability.md, "## Metrics", lists what the daemon
 * exports; the daemon serves it as GET /metrics).
 *
 * A metric is a family: a name, a help text, a type and up to
 * IK_METRIC_MAX_LABELS label names. Each distinct tuple of label values is
 * a series, created at its first use and kept until the family is cleared.
 * Observing is cheap: a series is found by comparing its label values
 * (no allocation, no formatting) and then updated in place; only the first
 * use of a new tuple allocates. Nothing here is thread-safe: like the rest
 * of the daemon it runs on the loop thread.
 *
 * Names are checked when a family is registered ([a-zA-Z_:][a-zA-Z0-9_:]*,
 * labels [a-zA-Z_][a-zA-Z0-9_]* not starting with "__", "le" reserved to
 * histograms); a bad name or a second family of one name is a programming
 * error and aborts, like a switch that reaches its default. Label values
 * may be any string: the exposition escapes them. */
#ifndef IK_ENGINE_METRICS_H
#define IK_ENGINE_METRICS_H

#include <stddef.h>

#include "base/buf.h"

#define IK_METRIC_MAX_LABELS 4
#define IK_METRIC_MAX_BUCKETS 24

typedef struct ik_metrics ik_metrics_t;
typedef struct ik_metric ik_metric_t;
typedef struct ik_metric_series ik_metric_series_t;

typedef enum ik_metric_type {
  IK_METRIC_COUNTER = 0,
  IK_METRIC_GAUGE,
  IK_METRIC_HISTOGRAM,
} ik_metric_type_t;

/* Called by ik_metrics_render before anything is written: sets the gauges
 * whose values are read at scrape time (a group's instances, the
 * process's memory). */
typedef void (*ik_metrics_collect_fn)(ik_metrics_t *m, void *data);

ik_metrics_t *ik_metrics_new(void);
/* Frees m, its families and their series. */
void ik_metrics_free(ik_metrics_t *m);

/* The process's registry: where the engine's observations go and what the
 * daemon's /metrics serves. Created at first use, never freed (its memory
 * is reachable until exit). */
ik_metrics_t *ik_metrics_default(void);

/* Register a family. name, help and the label names (a NULL-terminated
 * list, or NULL for none) are copied. A histogram's buckets are the upper
 * bounds, strictly increasing and finite (+Inf is implied), at most
 * IK_METRIC_MAX_BUCKETS; copied. The family lives as long as m. */
ik_metric_t *ik_metrics_counter(ik_metrics_t *m, const char *name, const char *help, const char *const *labels);
ik_metric_t *ik_metrics_gauge(ik_metrics_t *m, const char *name, const char *help, const char *const *labels);
ik_metric_t *ik_metrics_histogram(ik_metrics_t *m, const char *name, const char *help, const char *const *labels,
                                  const double *buckets, size_t n_buckets);

/* The family registered under name, or NULL. */
ik_metric_t *ik_metrics_find(ik_metrics_t *m, const char *name);

/* The series of f with these label values, one per label name of f, in
 * order (NULL counts as ""); created (zero) at its first use. */
ik_metric_series_t *ik_metric_series(ik_metric_t *f, ...);
ik_metric_series_t *ik_metric_series_v(ik_metric_t *f, const char *const *values);

/* Counter: add v (>= 0; a negative v is ignored, a counter never goes
 * down). Gauge: add v (any sign). */
void ik_metric_add(ik_metric_series_t *s, double v);
/* Gauge: set to v. Also a counter whose total is kept elsewhere and
 * copied in by a collector (the kernel's CPU time): never lower it. */
void ik_metric_set(ik_metric_series_t *s, double v);
/* Histogram: count v in its bucket (every bucket whose bound is >= v, in
 * the exposition), add it to the sum. */
void ik_metric_observe(ik_metric_series_t *s, double v);

/* The value of a counter or gauge series; a histogram's sum. */
double ik_metric_value(const ik_metric_series_t *s);
/* A histogram's observation count (a counter's or gauge's value, truncated). */
unsigned long long ik_metric_count(const ik_metric_series_t *s);

/* Drop every series of f (a gauge a collector fills again each scrape,
 * so a deleted group's series goes with it). */
void ik_metric_clear(ik_metric_t *f);

/* Call fn(m, data) at every render, in the order added. */
void ik_metrics_add_collector(ik_metrics_t *m, ik_metrics_collect_fn fn, void *data);
/* Forget the collector added with fn and data (nothing if none). */
void ik_metrics_remove_collector(ik_metrics_t *m, ik_metrics_collect_fn fn, void *data);

/* Run the collectors, then append every family with at least one series
 * to out in the text format 0.0.4 (metrics_text.c): "# HELP", "# TYPE",
 * then one line per sample; histograms as _bucket{le=...} (cumulative,
 * ending with le="+Inf"), _sum and _count. Families in the order
 * registered, series in the order created. */
void ik_metrics_render(ik_metrics_t *m, ik_buf_t *out);

/* The Content-Type of what ik_metrics_render writes. */
#define IK_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
