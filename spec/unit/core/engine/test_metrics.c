/* core/engine/metrics: the registry and its text exposition (Prometheus
 * 0.0.4): escaping, histogram buckets, counters that never go down,
 * series found again without a new one, collectors. Each test asserts the
 * whole text rendered. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "engine/metrics.h"

static void assert_render(ik_metrics_t *m, const char *want) {
  ik_buf_t out;
  ik_buf_init(&out);
  ik_metrics_render(m, &out);
  assert_string_equal(ik_buf_cstr(&out), want);
  ik_buf_free(&out);
}

static void counter_renders_help_type_and_escaped_label_values(void **state) {
  ik_metrics_t *m = ik_metrics_new();
  ik_metric_t *f = ik_metrics_counter(m, "infrakit_actions_total", "Actions\\finished,\nby \"kind\".",
                                      (const char *[]){"group", "kind", NULL});
  ik_metric_add(ik_metric_series(f, "web", "provision"), 3);
  ik_metric_add(ik_metric_series(f, "a\"b\\c\nd", "destroy"), 1);
  ik_metric_add(ik_metric_series(f, NULL, "label"), 0);
  assert_render(m, "# HELP infrakit_actions_total Actions\\\\finished,\\nby \"kind\".\n"
                   "# TYPE infrakit_actions_total counter\n"
                   "infrakit_actions_total{group=\"web\",kind=\"provision\"} 3\n"
                   "infrakit_actions_total{group=\"a\\\"b\\\\c\\nd\",kind=\"destroy\"} 1\n"
                   "infrakit_actions_total{group=\"\",kind=\"label\"} 0\n");
  ik_metrics_free(m);
}

static void counter_never_goes_down(void **state) {
  ik_metrics_t *m = ik_metrics_new();
  ik_metric_series_t *s = ik_metric_series(ik_metrics_counter(m, "c_total", "c", NULL));
  ik_metric_add(s, 2);
  ik_metric_add(s, -1);
  ik_metric_add(s, NAN);
  ik_metric_add(s, 0.5);
  assert_true(ik_metric_value(s) == 2.5);
  assert_render(m, "# HELP c_total c\n# TYPE c_total counter\nc_total 2.5\n");
  ik_metrics_free(m);
}

static void gauge_goes_both_ways_and_prints_special_values(void **state) {
  ik_metrics_t *m = ik_metrics_new();
  ik_metric_t *f = ik_metrics_gauge(m, "g", "g", (const char *[]){"k", NULL});
  ik_metric_series_t *s = ik_metric_series(f, "a");
  ik_metric_set(s, 5);
  ik_metric_add(s, -7);
  ik_metric_set(ik_metric_series(f, "inf"), INFINITY);
  ik_metric_set(ik_metric_series(f, "nan"), NAN);
  ik_metric_set(ik_metric_series(f, "small"), 0.1);
  ik_metric_set(ik_metric_series(f, "big"), 20000);
  ik_metric_set(ik_metric_series(f, "huge"), 1e300);
  assert_render(m, "# HELP g g\n# TYPE g gauge\n"
                   "g{k=\"a\"} -2\ng{k=\"inf\"} +Inf\ng{k=\"nan\"} NaN\ng{k=\"small\"} 0.1\ng{k=\"big\"} 20000\n"
                   "g{k=\"huge\"} 1e+300\n");
  ik_metrics_free(m);
}

static void histogram_counts_each_bucket_cumulatively_with_inf_sum_and_count(void **state) {
  ik_metrics_t *m = ik_metrics_new();
  static const double bounds[] = {0.25, 0.5, 1};
  ik_metric_t *f = ik_metrics_histogram(m, "d_seconds", "d", (const char *[]){"kind", NULL}, bounds, 3);
  ik_metric_series_t *s = ik_metric_series(f, "provision");
  ik_metric_observe(s, 0.125); /* first bucket */
  ik_metric_observe(s, 0.25);  /* a bound is inclusive: le means <= */
  ik_metric_observe(s, 0.75);
  ik_metric_observe(s, 2);   /* beyond the last bound: only +Inf */
  ik_metric_observe(s, NAN); /* ignored */
  assert_int_equal(ik_metric_count(s), 4);
  assert_render(m, "# HELP d_seconds d\n# TYPE d_seconds histogram\n"
                   "d_seconds_bucket{kind=\"provision\",le=\"0.25\"} 2\n"
                   "d_seconds_bucket{kind=\"provision\",le=\"0.5\"} 2\n"
                   "d_seconds_bucket{kind=\"provision\",le=\"1\"} 3\n"
                   "d_seconds_bucket{kind=\"provision\",le=\"+Inf\"} 4\n"
                   "d_seconds_sum{kind=\"provision\"} 3.125\n"
                   "d_seconds_count{kind=\"provision\"} 4\n");
  ik_metrics_free(m);
}

static void histogram_without_labels_puts_le_alone(void **state) {
  ik_metrics_t *m = ik_metrics_new();
  static const double bounds[] = {1};
  ik_metric_observe(ik_metric_series(ik_metrics_histogram(m, "h", "h", NULL, bounds, 1)), 1);
  assert_render(m, "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n");
  ik_metrics_free(m);
}

static void same_label_values_find_the_same_series_and_clear_drops_them(void **state) {
  ik_metrics_t *m = ik_metrics_new();
  ik_metric_t *f = ik_metrics_gauge(m, "g", "g", (const char *[]){"a", "b", NULL});
  ik_metric_series_t *s = ik_metric_series(f, "x", "y");
  assert_ptr_equal(ik_metric_series(f, "x", "y"), s);
  assert_ptr_equal(ik_metric_series_v(f, (const char *[]){"x", "y"}), s);
  assert_ptr_not_equal(ik_metric_series(f, "x", "z"), s);
  assert_ptr_not_equal(ik_metric_series(f, "xy", ""), s);
  assert_ptr_equal(ik_metrics_find(m, "g"), f);
  assert_null(ik_metrics_find(m, "nope"));
  ik_metric_clear(f);
  assert_render(m, ""); /* a family without series is not written */
  ik_metrics_free(m);
}

static int collected;
static void collect(ik_metrics_t *m, void *data) {
  collected++;
  ik_metric_set(ik_metric_series(ik_metrics_find(m, "g")), *(double *)data);
}

static void collectors_run_at_each_render_until_removed(void **state) {
  ik_metrics_t *m = ik_metrics_new();
  ik_metrics_gauge(m, "g", "g", NULL);
  double v = 7;
  collected = 0;
  ik_metrics_add_collector(m, collect, &v);
  assert_render(m, "# HELP g g\n# TYPE g gauge\ng 7\n");
  v = 8;
  assert_render(m, "# HELP g g\n# TYPE g gauge\ng 8\n");
  ik_metrics_remove_collector(m, collect, &v);
  v = 9;
  assert_render(m, "# HELP g g\n# TYPE g gauge\ng 8\n");
  assert_int_equal(collected, 2);
  ik_metrics_free(m);
}

static void families_render_in_the_order_registered(void **state) {
  ik_metrics_t *m = ik_metrics_new();
  ik_metric_set(ik_metric_series(ik_metrics_gauge(m, "b", "second", NULL)), 1);
  ik_metric_add(ik_metric_series(ik_metrics_counter(m, "a_total", "first", NULL)), 1);
  assert_render(m, "# HELP b second\n# TYPE b gauge\nb 1\n# HELP a_total first\n# TYPE a_total counter\na_total 1\n");
  ik_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(counter_renders_help_type_and_escaped_label_values),
      cmocka_unit_test(counter_never_goes_down),
      cmocka_unit_test(gauge_goes_both_ways_and_prints_special_values),
      cmocka_unit_test(histogram_counts_each_bucket_cumulatively_with_inf_sum_and_count),
      cmocka_unit_test(histogram_without_labels_puts_le_alone),
      cmocka_unit_test(same_label_values_find_the_same_series_and_clear_drops_them),
      cmocka_unit_test(collectors_run_at_each_render_until_removed),
      cmocka_unit_test(families_render_in_the_order_registered),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
