/* The metrics registry: families, series, observations (metrics.h). The
 * exposition is in metrics_text.c. */
#include "engine/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "engine/metrics_internal.h"

ik_metrics_t *ik_metrics_new(void) {
  ik_metrics_t *m = IK_NEW(ik_metrics_t);
  m->tail = &m->families;
  return m;
}

static void series_free(ik_metric_series_t *s, size_t n_labels) {
  for (size_t i = 0; i < n_labels; i++) ik_free(s->values[i]);
  ik_free(s->buckets);
  ik_free(s);
}

void ik_metric_clear(ik_metric_t *f) {
  while (f->series) {
    ik_metric_series_t *s = f->series;
    f->series = s->next;
    series_free(s, f->n_labels);
  }
  f->tail = &f->series;
}

void ik_metrics_free(ik_metrics_t *m) {
  if (m == NULL) return;
  while (m->families) {
    ik_metric_t *f = m->families;
    m->families = f->next;
    ik_metric_clear(f);
    for (size_t i = 0; i < f->n_labels; i++) ik_free(f->labels[i]);
    ik_free(f->name);
    ik_free(f->help);
    ik_free(f);
  }
  while (m->collectors) {
    ik__collector_t *c = m->collectors;
    m->collectors = c->next;
    ik_free(c);
  }
  ik_free(m);
}

ik_metrics_t *ik_metrics_default(void) {
  static ik_metrics_t *m;
  if (m == NULL) m = ik_metrics_new();
  return m;
}

/* A programming error: a bad name, a duplicate, bad buckets. */
static void misuse(const char *name, const char *what) {
  fprintf(stderr, "metrics: %s: %s\n", name, what);
  abort();
}

static bool name_ok(const char *s, bool colon) {
  if (s == NULL || *s == '\0') return false;
  for (const char *p = s; *p; p++) {
    char c = *p;
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    if (!letter && !(p > s && c >= '0' && c <= '9')) return false;
  }
  return true;
}

static ik_metric_t *family_new(ik_metrics_t *m, const char *name, const char *help, ik_metric_type_t type,
                               const char *const *labels) {
  if (!name_ok(name, true)) misuse(name ? name : "(null)", "not a valid metric name");
  if (ik_metrics_find(m, name)) misuse(name, "registered twice");
  ik_metric_t *f = IK_NEW(ik_metric_t);
  f->owner = m;
  f->name = ik_strdup(name);
  f->help = ik_strdup(help ? help : "");
  f->type = type;
  f->tail = &f->series;
  for (size_t i = 0; labels && labels[i]; i++) {
    if (i == IK_METRIC_MAX_LABELS) misuse(name, "too many labels");
    if (!name_ok(labels[i], false) || strncmp(labels[i], "__", 2) == 0) misuse(name, "not a valid label name");
    if (type == IK_METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0) misuse(name, "label le is the histogram's");
    f->labels[f->n_labels++] = ik_strdup(labels[i]);
  }
  *m->tail = f;
  m->tail = &f->next;
  return f;
}

ik_metric_t *ik_metrics_counter(ik_metrics_t *m, const char *name, const char *help, const char *const *labels) {
  return family_new(m, name, help, IK_METRIC_COUNTER, labels);
}

ik_metric_t *ik_metrics_gauge(ik_metrics_t *m, const char *name, const char *help, const char *const *labels) {
  return family_new(m, name, help, IK_METRIC_GAUGE, labels);
}

ik_metric_t *ik_metrics_histogram(ik_metrics_t *m, const char *name, const char *help, const char *const *labels,
                                  const double *buckets, size_t n_buckets) {
  if (n_buckets == 0 || n_buckets > IK_METRIC_MAX_BUCKETS) misuse(name, "histogram: 1 to 24 buckets");
  for (size_t i = 0; i < n_buckets; i++)
    if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
      misuse(name, "histogram: buckets must be finite and strictly increasing");
  ik_metric_t *f = family_new(m, name, help, IK_METRIC_HISTOGRAM, labels);
  memcpy(f->bounds, buckets, n_buckets * sizeof *buckets);
  f->n_buckets = n_buckets;
  return f;
}

ik_metric_t *ik_metrics_find(ik_metrics_t *m, const char *name) {
  for (ik_metric_t *f = m->families; f; f = f->next)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

ik_metric_series_t *ik_metric_series_v(ik_metric_t *f, const char *const *values) {
  for (ik_metric_series_t *s = f->series; s; s = s->next) {
    size_t i = 0;
    while (i < f->n_labels && strcmp(s->values[i], values[i] ? values[i] : "") == 0) i++;
    if (i == f->n_labels) return s;
  }
  ik_metric_series_t *s = IK_NEW(ik_metric_series_t);
  s->family = f;
  for (size_t i = 0; i < f->n_labels; i++) s->values[i] = ik_strdup(values[i] ? values[i] : "");
  if (f->type == IK_METRIC_HISTOGRAM) s->buckets = ik_calloc(f->n_buckets, sizeof *s->buckets);
  *f->tail = s;
  f->tail = &s->next;
  return s;
}

ik_metric_series_t *ik_metric_series(ik_metric_t *f, ...) {
  const char *values[IK_METRIC_MAX_LABELS] = {0};
  va_list ap;
  va_start(ap, f);
  for (size_t i = 0; i < f->n_labels; i++) values[i] = va_arg(ap, const char *);
  va_end(ap);
  return ik_metric_series_v(f, values);
}

void ik_metric_add(ik_metric_series_t *s, double v) {
  if (s->family->type == IK_METRIC_COUNTER && !(v >= 0)) return; /* also NaN */
  s->value += v;
}

void ik_metric_set(ik_metric_series_t *s, double v) { s->value = v; }

void ik_metric_observe(ik_metric_series_t *s, double v) {
  const ik_metric_t *f = s->family;
  if (s->buckets == NULL || isnan(v)) return;
  size_t i = 0;
  while (i < f->n_buckets && v > f->bounds[i]) i++;
  if (i < f->n_buckets) s->buckets[i]++; /* beyond the last bound: only in +Inf, the count */
  s->count++;
  s->value += v;
}

double ik_metric_value(const ik_metric_series_t *s) { return s->value; }

unsigned long long ik_metric_count(const ik_metric_series_t *s) {
  return s->buckets ? s->count : (unsigned long long)s->value;
}

void ik_metrics_add_collector(ik_metrics_t *m, ik_metrics_collect_fn fn, void *data) {
  ik__collector_t *c = IK_NEW(ik__collector_t);
  c->fn = fn;
  c->data = data;
  ik__collector_t **p = &m->collectors;
  while (*p) p = &(*p)->next;
  *p = c;
}

void ik_metrics_remove_collector(ik_metrics_t *m, ik_metrics_collect_fn fn, void *data) {
  for (ik__collector_t **p = &m->collectors; *p; p = &(*p)->next) {
    if ((*p)->fn == fn && (*p)->data == data) {
      ik__collector_t *c = *p;
      *p = c->next;
      ik_free(c);
      return;
    }
  }
}
