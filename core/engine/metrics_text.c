/* The text exposition format, version 0.0.4 (metrics.h ik_metrics_render):
 *
 *   # HELP infrakit_actions_total Actions the group controller finished.
 *   # TYPE infrakit_actions_total counter
 *   infrakit_actions_total{group="workers",kind="provision",outcome="ok"} 3
 *
 * Escaping as Prometheus defines it: in HELP text a backslash and a line
 * feed become \\ and \n; in label values also the double quote, \". Numbers
 * in the shortest form that reads back to the same double, and +Inf, -Inf,
 * NaN as Go's ParseFloat spells them. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/metrics_internal.h"

static void put_escaped(ik_buf_t *out, const char *s, bool quote) {
  for (const char *p = s; *p; p++) {
    if (*p == '\\') ik_buf_puts(out, "\\\\");
    else if (*p == '\n') ik_buf_puts(out, "\\n");
    else if (quote && *p == '"') ik_buf_puts(out, "\\\"");
    else ik_buf_putc(out, *p);
  }
}

static void put_number(ik_buf_t *out, double v) {
  if (isnan(v)) return ik_buf_puts(out, "NaN");
  if (isinf(v)) return ik_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
  char text[40];
  if (v == floor(v) && fabs(v) < 1e15) return ik_buf_printf(out, "%.0f", v); /* counts: 20000, not 2e+04 */
  for (int precision = 1; precision <= 17; precision++) {
    snprintf(text, sizeof text, "%.*g", precision, v);
    if (strtod(text, NULL) == v) break;
  }
  ik_buf_puts(out, text);
}

/* name{l1="v1",...[,le="bound"]} value\n; suffix is "_bucket" etc. or "". */
static void put_sample(ik_buf_t *out, const ik_metric_t *f, const char *suffix, const ik_metric_series_t *s,
                       const double *le, double value) {
  ik_buf_puts(out, f->name);
  ik_buf_puts(out, suffix);
  if (f->n_labels > 0 || le) {
    ik_buf_putc(out, '{');
    for (size_t i = 0; i < f->n_labels; i++) {
      if (i > 0) ik_buf_putc(out, ',');
      ik_buf_puts(out, f->labels[i]);
      ik_buf_puts(out, "=\"");
      put_escaped(out, s->values[i], true);
      ik_buf_putc(out, '"');
    }
    if (le) {
      ik_buf_puts(out, f->n_labels > 0 ? ",le=\"" : "le=\"");
      put_number(out, *le);
      ik_buf_putc(out, '"');
    }
    ik_buf_putc(out, '}');
  }
  ik_buf_putc(out, ' ');
  put_number(out, value);
  ik_buf_putc(out, '\n');
}

static const char *type_name(ik_metric_type_t t) {
  switch (t) {
  case IK_METRIC_COUNTER: return "counter";
  case IK_METRIC_GAUGE: return "gauge";
  case IK_METRIC_HISTOGRAM: return "histogram";
  default: abort();
  }
}

static void put_family(ik_buf_t *out, const ik_metric_t *f) {
  ik_buf_printf(out, "# HELP %s ", f->name);
  put_escaped(out, f->help, false);
  ik_buf_printf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
  for (const ik_metric_series_t *s = f->series; s; s = s->next) {
    if (f->type != IK_METRIC_HISTOGRAM) {
      put_sample(out, f, "", s, NULL, s->value);
      continue;
    }
    unsigned long long cumulative = 0;
    for (size_t i = 0; i < f->n_buckets; i++) {
      cumulative += s->buckets[i];
      put_sample(out, f, "_bucket", s, &f->bounds[i], (double)cumulative);
    }
    double inf = INFINITY;
    put_sample(out, f, "_bucket", s, &inf, (double)s->count);
    put_sample(out, f, "_sum", s, NULL, s->value);
    put_sample(out, f, "_count", s, NULL, (double)s->count);
  }
}

void ik_metrics_render(ik_metrics_t *m, ik_buf_t *out) {
  for (ik__collector_t *c = m->collectors; c; c = c->next) c->fn(m, c->data);
  for (const ik_metric_t *f = m->families; f; f = f->next)
    if (f->series) put_family(out, f);
}
