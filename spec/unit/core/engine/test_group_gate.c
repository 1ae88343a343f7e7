/* core/engine/group_gate: a leader's calls go to its controller; a
 * follower forwards changes to the leader it knows (the answer relayed),
 * answers Inspect and Size from the store, and says why when no leader is
 * known. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "engine/group_gate.h"
#include "engine/store_file.h"
#include "loop/complete.h"
#include "loop/loop.h"
#include "spi_slot.h"

/* A group plugin that records the calls it gets and answers its name. */
typedef struct fake_group {
  ik_loop_t *loop;
  const char *name;
  int commits, set_sizes, freed, pauses, resumes;
  uint64_t last_size;
} fake_group_t;

static int fake_commit(void *self, json_t *spec, bool pretend, ik_spi_cb cb, void *data, ik_err_t *err) {
  fake_group_t *f = self;
  f->commits++;
  return ik_loop_complete(f->loop, cb, data, json_pack("{s:O,s:s}", "ID", json_object_get(spec, "ID"), "Details", f->name),
                          NULL);
}

static int fake_set_size(void *self, const char *id, uint64_t size, ik_spi_cb cb, void *data, ik_err_t *err) {
  fake_group_t *f = self;
  f->set_sizes++;
  f->last_size = size;
  return ik_loop_complete(f->loop, cb, data, json_null(), NULL);
}

static int fake_pause(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  fake_group_t *f = self;
  f->pauses++;
  return ik_loop_complete(f->loop, cb, data, json_null(), NULL);
}

static int fake_resume(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  fake_group_t *f = self;
  f->resumes++;
  return ik_loop_complete(f->loop, cb, data, json_null(), NULL);
}

static void fake_free(void *self) { ((fake_group_t *)self)->freed++; }

static const ik_group_vtable_t fake_vt = {.kind = "fake",
                                          .commit = fake_commit,
                                          .set_size = fake_set_size,
                                          .free = fake_free,
                                          .pause = fake_pause,
                                          .resume = fake_resume};

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  ik_store_t store;
  fake_group_t local, remote;
  const char *leader;
  char opened[128];
  int opens;
  ik_group_gate_t *gate;
  ik_group_plugin_t g;
} fixture_t;

static const char *leader_of(void *ctx, const char **why) {
  fixture_t *fx = ctx;
  if (!fx->leader) *why = "etcd 127.0.0.1:1: connection refused";
  return fx->leader;
}

static int open_leader(void *ctx, const char *location, ik_group_plugin_t *out, ik_err_t *err) {
  fixture_t *fx = ctx;
  fx->opens++;
  snprintf(fx->opened, sizeof fx->opened, "%s", location);
  *out = (ik_group_plugin_t){&fake_vt, &fx->remote};
  return 0;
}

static void run_until(fixture_t *fx, int *done, int want) {
  for (int i = 0; *done < want && i < 1000; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(*done, want);
}

static void put(fixture_t *fx, const char *key, const char *doc) {
  slot_t s = {0};
  json_t *v = json_loads(doc, 0, NULL);
  CALL(fx, &s, fx->store.vt->put(fx->store.self, key, v, on_slot, &s, &e_));
  json_decref(v);
  slot_clear(&s);
}

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-gate-XXXXXX");
  if (mkdtemp(fx->dir) == NULL || ik_loop_init(&fx->loop, &err) < 0) return -1;
  if (ik_store_file_new(&fx->loop, fx->dir, &fx->store, &err) < 0) return -1;
  fx->local = (fake_group_t){.loop = &fx->loop, .name = "local"};
  fx->remote = (fake_group_t){.loop = &fx->loop, .name = "leader"};
  ik_group_gate_opts_t o = {.store = &fx->store, .leader = leader_of, .open_leader = open_leader, .ctx = fx};
  fx->gate = ik_group_gate_new(&fx->loop, &o);
  fx->g = ik_group_gate_plugin(fx->gate);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  ik_group_gate_free(fx->gate);
  fx->store.vt->free(fx->store.self);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&fx->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  assert_int_equal(system(cmd), 0);
  ik_free(fx);
  return 0;
}

static void a_follower_forwards_a_commit_to_the_leader(void **state) {
  fixture_t *fx = *state;
  fx->leader = "tcp://127.0.0.1:24864";
  json_t *spec = json_pack("{s:s}", "ID", "web");
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_string_equal(json_string_value(json_object_get(s.result, "Details")), "leader"); /* relayed */
  assert_string_equal(fx->opened, "tcp://127.0.0.1:24864");
  assert_int_equal(fx->remote.commits, 1);
  assert_int_equal(fx->local.commits, 0);
  /* the same leader: the same connection */
  CALL(fx, &s, fx->g.vt->set_size(fx->g.self, "web", 5, on_slot, &s, &e_));
  assert_int_equal(fx->remote.last_size, 5);
  assert_int_equal(fx->opens, 1);
  /* pause and resume too: the leader's controller holds the rollout */
  CALL(fx, &s, fx->g.vt->pause(fx->g.self, "web", on_slot, &s, &e_));
  CALL(fx, &s, fx->g.vt->resume(fx->g.self, "web", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_int_equal(fx->remote.pauses, 1);
  assert_int_equal(fx->remote.resumes, 1);
  assert_int_equal(fx->local.pauses + fx->local.resumes, 0);
  /* a new leader: a new connection, the old one released */
  fx->leader = "tcp://127.0.0.1:24865";
  CALL(fx, &s, fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &e_));
  assert_int_equal(fx->opens, 2);
  assert_int_equal(fx->remote.freed, 1);
  slot_clear(&s);
  json_decref(spec);
}

static void a_leader_acts_itself(void **state) {
  fixture_t *fx = *state;
  fx->leader = "tcp://127.0.0.1:24864";
  ik_group_plugin_t local = {&fake_vt, &fx->local};
  ik_group_gate_set_local(fx->gate, &local);
  json_t *spec = json_pack("{s:s}", "ID", "web");
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &e_));
  assert_string_equal(json_string_value(json_object_get(s.result, "Details")), "local");
  assert_int_equal(fx->opens, 0);
  /* deposed: forwards again */
  ik_group_gate_set_local(fx->gate, NULL);
  CALL(fx, &s, fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &e_));
  assert_string_equal(json_string_value(json_object_get(s.result, "Details")), "leader");
  assert_int_equal(fx->local.commits, 1);
  slot_clear(&s);
  json_decref(spec);
}

static void no_leader_known_is_an_error_saying_why(void **state) {
  fixture_t *fx = *state;
  json_t *spec = json_pack("{s:s}", "ID", "web");
  ik_err_t err = {0};
  assert_int_equal(fx->g.vt->commit(fx->g.self, spec, false, on_slot, NULL, &err), IK_ESTATE);
  assert_string_equal(err.msg, "not a leader, and no leader is known: etcd 127.0.0.1:1: connection refused");
  json_decref(spec);
}

static void a_follower_reads_specs_from_the_store(void **state) {
  fixture_t *fx = *state;
  put(fx, "groups/web/spec", "{\"ID\":\"web\",\"Properties\":{\"Allocation\":{\"Size\":3}}}");
  put(fx, "groups/web/state", "{\"Phase\":\"steady\"}");
  put(fx, "groups/db/spec", "{\"ID\":\"db\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":[\"a\",\"b\"]}}}");
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->inspect(fx->g.self, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_int_equal(json_array_size(s.result), 2); /* specs only, not rollout states */
  assert_string_equal(json_string_value(json_object_get(json_array_get(s.result, 0), "ID")), "db");
  assert_string_equal(json_string_value(json_object_get(json_array_get(s.result, 1), "ID")), "web");
  CALL(fx, &s, fx->g.vt->size(fx->g.self, "web", on_slot, &s, &e_));
  assert_int_equal(json_integer_value(s.result), 3);
  CALL(fx, &s, fx->g.vt->size(fx->g.self, "db", on_slot, &s, &e_));
  assert_int_equal(json_integer_value(s.result), 2);
  CALL(fx, &s, fx->g.vt->size(fx->g.self, "nope", on_slot, &s, &e_));
  assert_string_equal(s.err.msg, "Group 'nope' is not being watched");
  assert_int_equal(fx->opens, 0); /* no leader asked */
  slot_clear(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_follower_forwards_a_commit_to_the_leader, setup, teardown),
      cmocka_unit_test_setup_teardown(a_leader_acts_itself, setup, teardown),
      cmocka_unit_test_setup_teardown(no_leader_known_is_an_error_saying_why, setup, teardown),
      cmocka_unit_test_setup_teardown(a_follower_reads_specs_from_the_store, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
