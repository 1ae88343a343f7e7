/* core/engine/manager_etcd: the election state machine against a fake
 * etcd gateway that records each request and lets the test answer it as
 * etcd's JSON gateway would (base64 keys and values, int64 as strings,
 * "succeeded" absent when a txn's compare fails, no TTL once a lease
 * expired). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "engine/etcd_json.h"
#include "engine/manager_etcd.h"
#include "loop/loop.h"

#define MAX_CALLS 64
#define ME "http://127.0.0.1:24864/"
#define OTHER "http://127.0.0.1:24865/"

typedef struct call {
  char path[64];
  json_t *body;
  ik_spi_cb cb;
  void *data;
  bool answered;
} call_t;

typedef struct watch {
  json_t *req;
  ik_etcd_msg_cb on_msg;
  ik_spi_cb on_end;
  void *data;
  bool ended;
  bool cancelled;
} watch_t;

typedef struct fixture {
  ik_loop_t loop;
  call_t calls[MAX_CALLS];
  int ncalls;
  watch_t watches[MAX_CALLS];
  int nwatches;
  ik_manager_etcd_t *m;
  int gained, lost;
  int64_t gained_rev;
  char lost_reason[256];
} fixture_t;

static int fake_call(void *self, const char *path, json_t *body, ik_spi_cb cb, void *data, ik_err_t *err) {
  fixture_t *fx = self;
  assert_true(fx->ncalls < MAX_CALLS);
  call_t *c = &fx->calls[fx->ncalls++];
  snprintf(c->path, sizeof c->path, "%s", path);
  c->body = json_deep_copy(body);
  c->cb = cb;
  c->data = data;
  return 0;
}

static int fake_watch(void *self, json_t *req, ik_etcd_msg_cb on_msg, ik_spi_cb on_end, void *data, void **out,
                      ik_err_t *err) {
  fixture_t *fx = self;
  assert_true(fx->nwatches < MAX_CALLS);
  watch_t *w = &fx->watches[fx->nwatches++];
  w->req = json_deep_copy(req);
  w->on_msg = on_msg;
  w->on_end = on_end;
  w->data = data;
  *out = w;
  return 0;
}

static void end_watch(watch_t *w, int code) {
  if (w->ended) return;
  w->ended = true;
  ik_err_t e = {0};
  ik_err_set(&e, code, "stream ended");
  w->on_end(NULL, &e, w->data);
}

static void fake_cancel(void *self, void *w) { ((watch_t *)w)->cancelled = true; }

static const ik_etcd_gateway_vtable_t fake_vt = {fake_call, fake_watch, fake_cancel};

static void on_gained(int64_t rev, void *ctx) {
  fixture_t *fx = ctx;
  fx->gained++;
  fx->gained_rev = rev;
}

static void on_lost(const char *reason, void *ctx) {
  fixture_t *fx = ctx;
  fx->lost++;
  snprintf(fx->lost_reason, sizeof fx->lost_reason, "%s", reason);
}

/* The next unanswered call to path, running the loop (timers) until it
 * comes; fails after ~3 s. */
static call_t *next_call(fixture_t *fx, const char *path) {
  for (int spin = 0; spin < 3000; spin++) {
    for (int i = 0; i < fx->ncalls; i++)
      if (!fx->calls[i].answered && strcmp(fx->calls[i].path, path) == 0) return &fx->calls[i];
    uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
    uv_sleep(1);
  }
  fail_msg("no call to %s", path);
  return NULL;
}

static void answer(call_t *c, const char *json) {
  json_t *j = json_loads(json, 0, NULL);
  assert_non_null(j);
  c->answered = true;
  c->cb(j, NULL, c->data);
  json_decref(j);
}

static void answer_error(call_t *c) {
  ik_err_t e = {0};
  ik_err_set(&e, IK_EIO, "connection refused");
  c->answered = true;
  c->cb(NULL, &e, c->data);
}

/* A txn answer: won (succeeded, and the range after the put) or lost
 * (no "succeeded"; the failure's range shows the holder). */
static void answer_txn(call_t *c, bool won, const char *holder, const char *crev, const char *lease) {
  json_t *kv = json_pack("{s:o,s:o,s:s,s:s}", "key", ik_etcd_b64("infrakit/leader", 15), "value",
                         ik_etcd_b64(holder, strlen(holder)), "create_revision", crev, "lease", lease);
  json_t *range = json_pack("{s:{s:[o]}}", "response_range", "kvs", kv);
  json_t *res = won ? json_pack("{s:{s:s},s:b,s:[{s:{}},o]}", "header", "revision", crev, "succeeded", 1, "responses",
                                "response_put", range)
                    : json_pack("{s:{s:s},s:[o]}", "header", "revision", "40", "responses", range);
  c->answered = true;
  c->cb(res, NULL, c->data);
  json_decref(res);
}

static void watch_event(watch_t *w, const char *type, const char *holder, const char *crev) {
  json_t *kv = json_pack("{s:o}", "key", ik_etcd_b64("infrakit/leader", 15));
  if (holder) json_object_set_new(kv, "value", ik_etcd_b64(holder, strlen(holder)));
  if (crev) json_object_set_new(kv, "create_revision", json_string(crev));
  json_t *ev = json_pack("{s:o}", "kv", kv);
  if (type) json_object_set_new(ev, "type", json_string(type));
  json_t *msg = json_pack("{s:{s:s},s:[o]}", "header", "revision", "50", "events", ev);
  w->on_msg(msg, w->data);
  json_decref(msg);
}

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  if (ik_loop_init(&fx->loop, &err) < 0) return -1;
  ik_manager_etcd_opts_t o = {
      .gateway = {&fake_vt, fx},
      .prefix = "infrakit",
      .location = ME,
      .lease_ttl_ms = 1000,
      .on_gained = on_gained,
      .on_lost = on_lost,
      .ctx = fx,
  };
  if (ik_manager_etcd_new(&fx->loop, &o, &fx->m, &err) < 0) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  ik_manager_etcd_free(fx->m);
  /* The gateway answers what is still outstanding (as the HTTP client's
   * free would, with IK_ECANCELED): the manager is released after. */
  for (int i = 0; i < fx->ncalls; i++)
    if (!fx->calls[i].answered) {
      ik_err_t e = {0};
      ik_err_set(&e, IK_ECANCELED, "cancelled");
      fx->calls[i].answered = true;
      fx->calls[i].cb(NULL, &e, fx->calls[i].data);
    }
  for (int i = 0; i < fx->nwatches; i++) end_watch(&fx->watches[i], IK_ECANCELED);
  for (int i = 0; i < fx->ncalls; i++) json_decref(fx->calls[i].body);
  for (int i = 0; i < fx->nwatches; i++) json_decref(fx->watches[i].req);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&fx->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  ik_free(fx);
  return 0;
}

static void win(fixture_t *fx) {
  answer(next_call(fx, "/v3/lease/grant"), "{\"ID\":\"7\",\"TTL\":\"1\"}");
  answer_txn(next_call(fx, "/v3/kv/txn"), true, ME, "5", "7");
  assert_int_equal(fx->gained, 1);
}

static void grant_and_campaign_won_leads(void **state) {
  fixture_t *fx = *state;
  call_t *g = next_call(fx, "/v3/lease/grant");
  assert_int_equal(json_integer_value(json_object_get(g->body, "TTL")), 1);
  assert_false(ik_manager_etcd_is_leader(fx->m));
  answer(g, "{\"ID\":\"7\",\"TTL\":\"1\"}");

  call_t *t = next_call(fx, "/v3/kv/txn");
  /* create-if-absent on PREFIX/leader, our location as the value, our lease */
  json_t *cmp = json_array_get(json_object_get(t->body, "compare"), 0);
  char *key = ik_etcd_unb64(cmp, "key");
  assert_string_equal(key, "infrakit/leader");
  ik_free(key);
  assert_string_equal(json_string_value(json_object_get(cmp, "target")), "CREATE");
  assert_string_equal(json_string_value(json_object_get(cmp, "create_revision")), "0");
  json_t *put = json_object_get(json_array_get(json_object_get(t->body, "success"), 0), "request_put");
  char *value = ik_etcd_unb64(put, "value");
  assert_string_equal(value, ME);
  ik_free(value);
  assert_string_equal(json_string_value(json_object_get(put, "lease")), "7");

  answer_txn(t, true, ME, "5", "7");
  assert_int_equal(fx->gained, 1);
  assert_int_equal(fx->gained_rev, 5);
  assert_true(ik_manager_etcd_is_leader(fx->m));
  assert_string_equal(ik_manager_etcd_leader(fx->m), ME);
  /* and it watches the key from the revision after the txn */
  assert_int_equal(fx->nwatches, 1);
  assert_int_equal(json_integer_value(json_object_get(fx->watches[0].req, "start_revision")), 6);
}

/* A daemon paused past its lease's local deadline (TTL 1 s: 833 ms after
 * the grant was sent) may not act the instant it wakes, before the
 * deadline's timer has had a chance to run and depose it. */
static void may_act_reads_the_clock_not_the_deadline_timer(void **state) {
  fixture_t *fx = *state;
  assert_false(ik_manager_etcd_may_act(fx->m)); /* not leading */
  win(fx);
  assert_true(ik_manager_etcd_may_act(fx->m));
  uv_sleep(900);                                 /* "paused": the loop does not run */
  assert_true(ik_manager_etcd_is_leader(fx->m)); /* the timer has not fired */
  assert_false(ik_manager_etcd_may_act(fx->m));
}

static void campaign_lost_follows_the_holder(void **state) {
  fixture_t *fx = *state;
  answer(next_call(fx, "/v3/lease/grant"), "{\"ID\":\"7\",\"TTL\":\"1\"}");
  answer_txn(next_call(fx, "/v3/kv/txn"), false, OTHER, "3", "9");
  assert_int_equal(fx->gained, 0);
  assert_false(ik_manager_etcd_is_leader(fx->m));
  assert_string_equal(ik_manager_etcd_leader(fx->m), OTHER);
  assert_int_equal(fx->nwatches, 1);
}

static void keepalive_without_ttl_loses_and_grants_again(void **state) {
  fixture_t *fx = *state;
  win(fx);
  call_t *k = next_call(fx, "/v3/lease/keepalive");
  assert_string_equal(json_string_value(json_object_get(k->body, "ID")), "7");
  answer(k, "{\"result\":{\"ID\":\"7\",\"TTL\":\"1\"}}");
  assert_int_equal(fx->lost, 0);
  answer(next_call(fx, "/v3/lease/keepalive"), "{\"result\":{\"ID\":\"7\"}}"); /* expired */
  assert_int_equal(fx->lost, 1);
  assert_non_null(strstr(fx->lost_reason, "expired"));
  assert_false(ik_manager_etcd_is_leader(fx->m));
  assert_null(ik_manager_etcd_leader(fx->m));
  /* until it campaigns again it says why it does not know who leads (not
   * that nobody holds the key: another may, by now) */
  const char *why = ik_manager_etcd_last_error(fx->m);
  assert_non_null(why);
  assert_non_null(strstr(why, "this manager lost its lease (the lease expired"));
  assert_true(fx->watches[0].cancelled);
  end_watch(&fx->watches[0], IK_ECANCELED);
  /* a new lease, a new campaign: someone else won meanwhile */
  answer(next_call(fx, "/v3/lease/grant"), "{\"ID\":\"8\",\"TTL\":\"1\"}");
  answer_txn(next_call(fx, "/v3/kv/txn"), false, OTHER, "12", "9");
  assert_int_equal(fx->gained, 1);
  assert_string_equal(ik_manager_etcd_leader(fx->m), OTHER);
  assert_null(ik_manager_etcd_last_error(fx->m));
}

static void failing_keepalives_lose_before_the_ttl(void **state) {
  fixture_t *fx = *state;
  win(fx);
  /* etcd unreachable: every keepalive fails; leadership ends by the deadline */
  int failed = 0;
  for (int spin = 0; spin < 3000 && fx->lost == 0; spin++) {
    for (int i = 0; i < fx->ncalls; i++)
      if (!fx->calls[i].answered && strcmp(fx->calls[i].path, "/v3/lease/keepalive") == 0) {
        answer_error(&fx->calls[i]);
        failed++;
      }
    uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
    uv_sleep(1);
  }
  assert_true(failed >= 1);
  assert_int_equal(fx->lost, 1);
  assert_non_null(strstr(fx->lost_reason, "no keepalive"));
  assert_false(ik_manager_etcd_is_leader(fx->m));
}

static void watch_delete_campaigns_again(void **state) {
  fixture_t *fx = *state;
  answer(next_call(fx, "/v3/lease/grant"), "{\"ID\":\"7\",\"TTL\":\"1\"}");
  answer_txn(next_call(fx, "/v3/kv/txn"), false, OTHER, "3", "9");
  watch_event(&fx->watches[0], "DELETE", NULL, NULL);
  assert_null(ik_manager_etcd_leader(fx->m));
  answer_txn(next_call(fx, "/v3/kv/txn"), true, ME, "51", "7");
  assert_int_equal(fx->gained, 1);
  assert_int_equal(fx->gained_rev, 51);
  assert_true(ik_manager_etcd_is_leader(fx->m));
  assert_int_equal(fx->nwatches, 1); /* the same stream goes on */
}

static void key_recreated_by_another_steps_down(void **state) {
  fixture_t *fx = *state;
  win(fx);
  watch_event(&fx->watches[0], NULL, OTHER, "60");
  assert_int_equal(fx->lost, 1);
  assert_false(ik_manager_etcd_is_leader(fx->m));
  assert_string_equal(ik_manager_etcd_leader(fx->m), OTHER);
}

static void delete_during_a_campaign_campaigns_once_more(void **state) {
  fixture_t *fx = *state;
  answer(next_call(fx, "/v3/lease/grant"), "{\"ID\":\"7\",\"TTL\":\"1\"}");
  answer_txn(next_call(fx, "/v3/kv/txn"), false, OTHER, "3", "9");
  watch_event(&fx->watches[0], "DELETE", NULL, NULL);
  call_t *t = next_call(fx, "/v3/kv/txn");
  watch_event(&fx->watches[0], "DELETE", NULL, NULL); /* while the txn is out */
  answer_txn(t, false, OTHER, "3", "9");              /* an answer from before the delete */
  answer_txn(next_call(fx, "/v3/kv/txn"), true, ME, "70", "7");
  assert_true(ik_manager_etcd_is_leader(fx->m));
}

static void watch_end_watches_again(void **state) {
  fixture_t *fx = *state;
  win(fx);
  end_watch(&fx->watches[0], IK_EIO);
  answer_txn(next_call(fx, "/v3/kv/txn"), false, ME, "5", "7"); /* still ours: our lease */
  assert_true(ik_manager_etcd_is_leader(fx->m));
  assert_int_equal(fx->gained, 1); /* not gained twice */
  assert_int_equal(fx->nwatches, 2);
}

static void a_failing_grant_says_why_no_leader_is_known(void **state) {
  fixture_t *fx = *state;
  answer_error(next_call(fx, "/v3/lease/grant"));
  assert_null(ik_manager_etcd_leader(fx->m));
  assert_string_equal(ik_manager_etcd_last_error(fx->m), "connection refused");
  /* tried again; a success clears it */
  answer(next_call(fx, "/v3/lease/grant"), "{\"ID\":\"7\",\"TTL\":\"1\"}");
  assert_null(ik_manager_etcd_last_error(fx->m));
}

static void on_resigned(json_t *result, const ik_err_t *err, void *data) { (*(int *)data)++; }

static void resign_steps_down_and_revokes_the_lease(void **state) {
  fixture_t *fx = *state;
  win(fx);
  int resigned = 0;
  ik_err_t err = {0};
  assert_int_equal(ik_manager_etcd_resign(fx->m, on_resigned, &resigned, &err), 0);
  assert_int_equal(fx->lost, 1); /* at once */
  assert_false(ik_manager_etcd_is_leader(fx->m));
  assert_true(fx->watches[0].cancelled);
  call_t *r = next_call(fx, "/v3/lease/revoke");
  assert_string_equal(json_string_value(json_object_get(r->body, "ID")), "7");
  assert_int_equal(resigned, 0);
  answer(r, "{\"header\":{}}");
  assert_int_equal(resigned, 1);
  /* and it campaigns no more, even when the key goes */
  watch_event(&fx->watches[0], "DELETE", NULL, NULL);
  end_watch(&fx->watches[0], IK_ECANCELED);
  for (int i = 0; i < 50; i++) {
    uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
    uv_sleep(10);
  }
  for (int i = 0; i < fx->ncalls; i++) assert_true(fx->calls[i].answered);
}

static void answers_after_free_are_dropped(void **state) {
  fixture_t *fx = *state;
  next_call(fx, "/v3/lease/grant");
  /* teardown frees with the grant outstanding, then answers it */
}

/* TTL/3 of the lease etcd grants (whole seconds), which the daemon also
 * gives the gateway as the keepalive's timeout. */
static void keepalive_every_is_a_third_of_the_whole_second_ttl(void **state) {
  (void)state;
  static const struct {
    int64_t ttl_ms;
    uint64_t every_ms;
  } cases[] = {{0, 666}, {1000, 333}, {1500, 666}, {2000, 666}, {3000, 1000}, {3600000, 1200000}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_int_equal(ik_manager_etcd_keepalive_every_ms(cases[i].ttl_ms), cases[i].every_ms);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(keepalive_every_is_a_third_of_the_whole_second_ttl),
      cmocka_unit_test_setup_teardown(grant_and_campaign_won_leads, setup, teardown),
      cmocka_unit_test_setup_teardown(may_act_reads_the_clock_not_the_deadline_timer, setup, teardown),
      cmocka_unit_test_setup_teardown(campaign_lost_follows_the_holder, setup, teardown),
      cmocka_unit_test_setup_teardown(keepalive_without_ttl_loses_and_grants_again, setup, teardown),
      cmocka_unit_test_setup_teardown(failing_keepalives_lose_before_the_ttl, setup, teardown),
      cmocka_unit_test_setup_teardown(watch_delete_campaigns_again, setup, teardown),
      cmocka_unit_test_setup_teardown(key_recreated_by_another_steps_down, setup, teardown),
      cmocka_unit_test_setup_teardown(delete_during_a_campaign_campaigns_once_more, setup, teardown),
      cmocka_unit_test_setup_teardown(watch_end_watches_again, setup, teardown),
      cmocka_unit_test_setup_teardown(a_failing_grant_says_why_no_leader_is_known, setup, teardown),
      cmocka_unit_test_setup_teardown(resign_steps_down_and_revokes_the_lease, setup, teardown),
      cmocka_unit_test_setup_teardown(answers_after_free_are_dropped, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
