/* core/engine/rollout_json and backoff: the rollout state survives a round
 * trip through its stored document; broken documents are refused naming
 * the field; retry delays grow, stay within their bounds, and spread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/mem.h"
#include "base/backoff.h"
#include "engine/rollout_json.h"

static void state_round_trips(void **state) {
  ik_rollout_state_t st;
  ik_rollout_state_init(&st);
  strcpy(st.spec_hash, "aaaa");
  strcpy(st.target_hash, "bbbb");
  strcpy(st.good_hash, "cccc");
  st.phase = IK_PHASE_CANARY_PAUSED;
  st.canary_promoted = true;
  st.paused = true;
  st.rolled_back = true;
  st.started_ms = 1700000000123;
  strcpy(st.failure, "instance i-1 unhealthy");
  st.healthy = ik_calloc(2, sizeof *st.healthy);
  st.healthy[0] = (ik_healthy_since_t){ik_strdup("i-1"), 42};
  st.n_healthy = 1;
  json_t *doc = ik_rollout_state_to_json(&st, true);
  ik_rollout_state_t back;
  bool destroying = false;
  ik_err_t err = {0};
  assert_int_equal(ik_rollout_state_from_json(doc, &back, &destroying, &err), 0);
  assert_true(destroying);
  assert_string_equal(back.target_hash, "bbbb");
  assert_string_equal(back.good_hash, "cccc");
  assert_true(back.canary_promoted && back.rolled_back);
  assert_true(back.paused); /* `group pause` survives a restart and a failover */
  assert_true(json_is_true(json_object_get(doc, "Paused")));
  assert_int_equal(back.started_ms, 1700000000123);
  assert_string_equal(back.failure, "instance i-1 unhealthy");
  /* Not written: they change per instance, not per batch. */
  assert_null(json_object_get(doc, "HealthySince"));
  assert_null(json_object_get(doc, "Phase"));
  assert_int_equal(back.n_healthy, 0);
  json_decref(doc);
  /* An older daemon's document with them is still read. */
  doc = json_loads("{\"TargetHash\": \"t\", \"Phase\": \"canary-paused\", \"HealthySince\": {\"i-1\": 42}}", 0, NULL);
  ik_rollout_state_free(&back);
  assert_int_equal(ik_rollout_state_from_json(doc, &back, &destroying, &err), 0);
  assert_int_equal(back.phase, IK_PHASE_CANARY_PAUSED);
  assert_int_equal(back.n_healthy, 1);
  assert_string_equal(back.healthy[0].id, "i-1");
  assert_int_equal(back.healthy[0].since_ms, 42);
  json_decref(doc);
  ik_rollout_state_free(&st);
  ik_rollout_state_free(&back);
}

static void broken_documents_name_the_field(void **state) {
  static const char *const cases[][2] = {
      {"[]", "want an object"},
      {"{\"Phase\": \"sideways\"}", "Phase: unknown phase \"sideways\""},
      {"{\"TargetHash\": 3}", "TargetHash: want a string"},
      {"{\"CanaryPromoted\": \"yes\"}", "CanaryPromoted: want true or false"},
      {"{\"Paused\": 1}", "Paused: want true or false"},
      {"{\"HealthySince\": {\"i-1\": \"now\"}}", "HealthySince.i-1: want an integer"},
      {"{\"StartedMs\": 1.5}", "StartedMs: want an integer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *doc = json_loads(cases[i][0], JSON_DECODE_ANY, NULL);
    ik_rollout_state_t st;
    bool destroying;
    ik_err_t err = {0};
    assert_int_equal(ik_rollout_state_from_json(doc, &st, &destroying, &err), IK_EINVAL);
    if (strstr(err.msg, cases[i][1]) == NULL) fail_msg("%s: got \"%s\"", cases[i][0], err.msg);
    ik_rollout_state_free(&st);
    json_decref(doc);
  }
  /* An empty object is a state never planned (an older daemon's). */
  json_t *doc = json_object();
  ik_rollout_state_t st;
  bool destroying = true;
  ik_err_t err = {0};
  assert_int_equal(ik_rollout_state_from_json(doc, &st, &destroying, &err), 0);
  assert_false(destroying);
  assert_false(st.paused);
  assert_string_equal(st.target_hash, "");
  ik_rollout_state_free(&st);
  json_decref(doc);
}

static void backoff_grows_within_bounds_with_jitter(void **state) {
  /* Equal jitter: attempt n waits between d/2 and d, d = base * 2^(n-1) <= max. */
  for (uint32_t attempt = 1; attempt <= 12; attempt++) {
    int64_t d = 100;
    for (uint32_t i = 1; i < attempt && d < 5000; i++) d *= 2;
    if (d > 5000) d = 5000;
    for (uint64_t r = 0; r < 2000; r += 37) {
      int64_t got = ik_backoff_ms(attempt, 100, 5000, r * 0x9e3779b97f4a7c15ULL);
      assert_true(got >= d / 2 && got <= d);
    }
  }
  assert_int_equal(ik_backoff_ms(1, 100, 5000, 0), 50);
  assert_int_equal(ik_backoff_ms(40, 100, 5000, 0), 2500);
  assert_true(ik_backoff_ms(3, 100, 5000, 1) != ik_backoff_ms(3, 100, 5000, 2)); /* spread */
  assert_int_equal(ik_backoff_ms(1000000, 1, 1, 7), 1);                          /* no overflow */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(state_round_trips),
      cmocka_unit_test(broken_documents_name_the_field),
      cmocka_unit_test(backoff_grows_within_bounds_with_jitter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
