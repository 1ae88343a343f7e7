/* core/engine/store_file: documents by key survive as whole files; keys
 * are checked; list is sorted and ignores temp files a crash left behind;
 * callbacks come from the loop, never before the call returns. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "engine/store_file.h"
#include "loop/loop.h"
#include "store_contract.h"
#include "spi_slot.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  ik_store_t store;
} fixture_t;

static void wait_done(fixture_t *fx, slot_t *s) {
  assert_int_equal(s->done, 0); /* never before the call returned */
  for (int i = 0; s->done == 0 && i < 1000; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(s->done, 1);
}

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-store-XXXXXX");
  if (mkdtemp(fx->dir) == NULL || ik_loop_init(&fx->loop, &err) < 0) return -1;
  char sdir[128];
  snprintf(sdir, sizeof sdir, "%s/store/nested", fx->dir);
  if (ik_store_file_new(&fx->loop, sdir, &fx->store, &err) < 0) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
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

#define DO(fx, s, expr)          \
  do {                           \
    slot_clear(s);               \
    ik_err_t e_ = {0};           \
    assert_int_equal((expr), 0); \
    wait_done(fx, s);            \
  } while (0)

/* The contract every store keeps (store_contract.h). */
static void contract_wait(void *ctx, slot_t *s) { wait_done(ctx, s); }

static void put_get_list_del_round_trip(void **state) {
  fixture_t *fx = *state;
  contract_round_trip(&fx->store, contract_wait, fx);
}

static void bad_keys_are_refused_naming_the_problem(void **state) {
  fixture_t *fx = *state;
  contract_bad_keys(&fx->store);
}

static void a_crash_leaves_whole_documents_and_ignored_temp_files(void **state) {
  fixture_t *fx = *state;
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  json_t *v = json_pack("{s:i}", "n", 1);
  DO(fx, &s, st->vt->put(st->self, "groups/a/spec", v, on_slot, &s, &e_));
  /* What an interrupted write leaves: a temp file next to the document. */
  char path[256];
  snprintf(path, sizeof path, "%s/store/nested/groups/a/.spec.json.tmp", fx->dir);
  FILE *f = fopen(path, "w");
  fputs("{\"n\":", f);
  fclose(f);
  DO(fx, &s, st->vt->list(st->self, "", on_slot, &s, &e_));
  char *keys = json_dumps(s.result, JSON_COMPACT);
  assert_string_equal(keys, "[\"groups/a/spec\"]");
  free(keys);
  DO(fx, &s, st->vt->get(st->self, "groups/a/spec", on_slot, &s, &e_));
  assert_true(json_equal(s.result, v));
  /* A store opened again (the daemon restarted) removes the temp file,
   * and only it. */
  st->vt->free(st->self);
  char sdir[128];
  snprintf(sdir, sizeof sdir, "%s/store/nested", fx->dir);
  ik_err_t err = {0};
  assert_int_equal(ik_store_file_new(&fx->loop, sdir, st, &err), 0);
  snprintf(path, sizeof path, "%s/store/nested/groups/a/.spec.json.tmp", fx->dir);
  assert_int_not_equal(access(path, F_OK), 0);
  DO(fx, &s, st->vt->get(st->self, "groups/a/spec", on_slot, &s, &e_));
  assert_true(json_equal(s.result, v));
  /* A torn document (written by something else) is an error, not a guess. */
  snprintf(path, sizeof path, "%s/store/nested/groups/a/spec.json", fx->dir);
  f = fopen(path, "w");
  fputs("{\"n\":", f);
  fclose(f);
  DO(fx, &s, st->vt->get(st->self, "groups/a/spec", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EIO);
  assert_non_null(strstr(s.err.msg, "/store/nested/groups/a/spec.json:1:6: invalid JSON: "));
  slot_clear(&s);
  json_decref(v);
}

/* One process locks a store; another opening of it (a second daemon) is
 * refused naming the holder's pid and the store; freeing releases it, and
 * the lock file is not a key. */
static void lock_is_exclusive_names_the_holder_and_ends_with_the_store(void **state) {
  fixture_t *fx = *state;
  char sdir[128], want[512];
  snprintf(sdir, sizeof sdir, "%s/store/nested", fx->dir);
  ik_err_t err = {0};
  assert_int_equal(ik_store_file_lock(&fx->store, &err), 0);
  assert_int_equal(ik_store_file_lock(&fx->store, &err), 0); /* again: already ours */
  ik_store_t other;
  assert_int_equal(ik_store_file_new(&fx->loop, sdir, &other, &err), 0);
  assert_int_equal(ik_store_file_lock(&other, &err), IK_ESTATE);
  snprintf(want, sizeof want,
           "store %s is in use by infrakit daemon pid %ld (lock %s/daemon.lock): one daemon per store; stop it, or "
           "give this one another INFRAKIT_HOME",
           sdir, (long)getpid(), sdir);
  assert_string_equal(err.msg, want);
  slot_t s = {0};
  DO(fx, &s, other.vt->list(other.self, "", on_slot, &s, &e_));
  assert_int_equal(json_array_size(s.result), 0);
  slot_clear(&s);
  fx->store.vt->free(fx->store.self);
  assert_int_equal(ik_store_file_new(&fx->loop, sdir, &fx->store, &err), 0);
  assert_int_equal(ik_store_file_lock(&other, &err), 0);
  assert_int_equal(ik_store_file_lock(&fx->store, &err), IK_ESTATE);
  other.vt->free(other.self);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(put_get_list_del_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_keys_are_refused_naming_the_problem, setup, teardown),
      cmocka_unit_test_setup_teardown(a_crash_leaves_whole_documents_and_ignored_temp_files, setup, teardown),
      cmocka_unit_test_setup_teardown(lock_is_exclusive_names_the_holder_and_ends_with_the_store, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
