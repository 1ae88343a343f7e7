/* core/net/server/dashboard_history: the rings behind /ui/history.json. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "net/server/dashboard_history.h"

static ik_dashboard_sample_t sample(int64_t t, int64_t n) {
  return (ik_dashboard_sample_t){.t_ms = t, .desired = n, .current = n + 1, .available = n + 2, .updated = n + 3};
}

/* The JSON of h, compact, for a whole-result comparison. */
static char *dump(const ik_dashboard_history_t *h) {
  json_t *j = ik_dashboard_history_json(h, 10000);
  char *s = ik_json_dump_go(j, false, NULL);
  json_decref(j);
  return s;
}

static void history_empty_names_its_columns(void **state) {
  (void)state;
  ik_dashboard_history_t *h = ik_dashboard_history_new();
  char *s = dump(h);
  assert_string_equal(
      s, "{\"IntervalMs\":10000,\"Columns\":[\"t\",\"desired\",\"current\",\"available\",\"updated\"],\"Groups\":{}}");
  free(s);
  ik_dashboard_history_free(h);
}

static void history_keeps_samples_per_group_oldest_first(void **state) {
  (void)state;
  ik_dashboard_history_t *h = ik_dashboard_history_new();
  ik_dashboard_sample_t a1 = sample(1000, 1), b1 = sample(1000, 5), a2 = sample(2000, 2);
  ik_dashboard_history_add(h, "a", &a1);
  ik_dashboard_history_add(h, "b", &b1);
  ik_dashboard_history_add(h, "a", &a2);
  char *s = dump(h);
  assert_non_null(strstr(s, "\"Groups\":{\"a\":[[1000,1,2,3,4],[2000,2,3,4,5]],\"b\":[[1000,5,6,7,8]]}"));
  free(s);
  ik_dashboard_history_free(h);
}

/* A full ring drops its oldest sample: the last IK_DASHBOARD_HISTORY_SAMPLES stay, in order. */
static void history_ring_wraps_keeping_the_newest(void **state) {
  (void)state;
  ik_dashboard_history_t *h = ik_dashboard_history_new();
  int extra = 7;
  for (int i = 0; i < IK_DASHBOARD_HISTORY_SAMPLES + extra; i++) {
    ik_dashboard_sample_t s = sample(i, i);
    ik_dashboard_history_add(h, "g", &s);
  }
  json_t *j = ik_dashboard_history_json(h, 10000);
  json_t *rows = json_object_get(json_object_get(j, "Groups"), "g");
  assert_int_equal(json_array_size(rows), IK_DASHBOARD_HISTORY_SAMPLES);
  for (size_t i = 0; i < json_array_size(rows); i++)
    assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, i), 0)), (json_int_t)i + extra);
  json_decref(j);
  ik_dashboard_history_free(h);
}

static void history_retain_forgets_groups_no_longer_committed(void **state) {
  (void)state;
  ik_dashboard_history_t *h = ik_dashboard_history_new();
  const char *ids[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) {
    ik_dashboard_sample_t s = sample(1, i);
    ik_dashboard_history_add(h, ids[i], &s);
  }
  json_t *keep = json_pack("[s, s]", "c", "a");
  ik_dashboard_history_retain(h, keep);
  json_decref(keep);
  char *s = dump(h);
  assert_non_null(strstr(s, "\"Groups\":{\"a\":[[1,0,1,2,3]],\"c\":[[1,2,3,4,5]]}"));
  free(s);
  ik_dashboard_history_free(h);
}

/* Memory is bounded: a group beyond IK_DASHBOARD_HISTORY_GROUPS is not recorded. */
static void history_records_at_most_its_group_limit(void **state) {
  (void)state;
  ik_dashboard_history_t *h = ik_dashboard_history_new();
  for (int i = 0; i < IK_DASHBOARD_HISTORY_GROUPS + 3; i++) {
    char id[32];
    snprintf(id, sizeof id, "g%d", i);
    ik_dashboard_sample_t s = sample(1, i);
    ik_dashboard_history_add(h, id, &s);
  }
  json_t *j = ik_dashboard_history_json(h, 10000);
  assert_int_equal(json_object_size(json_object_get(j, "Groups")), IK_DASHBOARD_HISTORY_GROUPS);
  assert_null(json_object_get(json_object_get(j, "Groups"), "g256"));
  json_decref(j);
  ik_dashboard_history_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(history_empty_names_its_columns),
      cmocka_unit_test(history_keeps_samples_per_group_oldest_first),
      cmocka_unit_test(history_ring_wraps_keeping_the_newest),
      cmocka_unit_test(history_retain_forgets_groups_no_longer_committed),
      cmocka_unit_test(history_records_at_most_its_group_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
