/* providers/file: the in-memory index follows the directory. A file
 * removed, edited or added by hand is seen by the next describe, and
 * watchers hear of it at once (inotify), without a directory scan per
 * call. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "loop/loop.h"
#include "providers/file/file.h"
#include "spi_slot.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  ik_instance_plugin_t pl;
  int events;
  char last[256];
  uv_timer_t tick; /* the event handle does not keep the loop alive: this does */
} fixture_t;

static void on_tick(uv_timer_t *t) { (void)t; }

static void run_until(fixture_t *fx, const int *count, int want) {
  for (int i = 0; *count < want && i < 100000; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(*count, want);
}

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-file-XXXXXX");
  if (mkdtemp(fx->dir) == NULL || ik_loop_init(&fx->loop, &err) < 0) return -1;
  if (ik_file_provider_new(&fx->loop, fx->dir, &fx->pl, &err) < 0) return -1;
  uv_timer_init(&fx->loop.uv, &fx->tick);
  uv_timer_start(&fx->tick, on_tick, 5, 5);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  fx->pl.vt->free(fx->pl.self);
  uv_close((uv_handle_t *)&fx->tick, NULL);
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  int leaked = 0;
  ik_loop_close(&fx->loop, &leaked);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  if (system(cmd) != 0) return -1;
  ik_free(fx);
  return leaked == 0 ? 0 : -1;
}

static void on_event(const char *id, const char *why, void *data) {
  fixture_t *fx = data;
  fx->events++;
  snprintf(fx->last, sizeof fx->last, "%s", id ? id : "");
}

static json_t *describe(fixture_t *fx) {
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->describe(fx->pl.self, NULL, false, on_slot, &s, &e_));
  return s.result;
}

static char *provision(fixture_t *fx, const char *tag) {
  json_t *spec = json_pack("{s:{s:s}}", "Tags", "t", tag);
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  json_decref(spec);
  char *id = ik_strdup(json_string_value(s.result));
  slot_clear(&s);
  return id;
}

static void changes_by_hand_are_seen_and_told(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  assert_true(token > 0);
  char *a = provision(fx, "a");
  char *b = provision(fx, "b");
  uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  int before = fx->events; /* our own writes are already in the index: no news */
  char path[200];
  snprintf(path, sizeof path, "%s/%s", fx->dir, a);
  unlink(path);
  run_until(fx, &fx->events, before + 1);
  assert_string_equal(fx->last, a);
  json_t *list = describe(fx);
  assert_int_equal(json_array_size(list), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "ID")), b);
  json_decref(list);
  /* A file added by hand. */
  snprintf(path, sizeof path, "%s/manual-1", fx->dir);
  FILE *f = fopen(path, "w");
  fputs("{\"ID\": \"manual-1\", \"LogicalID\": null, \"Tags\": {\"t\": \"m\"}}", f);
  fclose(f);
  run_until(fx, &fx->events, before + 2);
  assert_string_equal(fx->last, "manual-1");
  list = describe(fx);
  assert_int_equal(json_array_size(list), 2);
  json_decref(list);
  /* A file that is not an instance is ignored. */
  snprintf(path, sizeof path, "%s/notes", fx->dir);
  f = fopen(path, "w");
  fputs("hello", f);
  fclose(f);
  for (int i = 0; i < 20; i++) uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  list = describe(fx);
  assert_int_equal(json_array_size(list), 2);
  json_decref(list);
  fx->pl.vt->unwatch(fx->pl.self, token);
  ik_free(a);
  ik_free(b);
}

/* A destroy through the API - by the controller or by any other client of
 * the plugin - is told to watchers once, after its completion, with the
 * index already without the instance. */
static void a_destroy_through_the_api_is_told_after_it_completes(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  assert_true(token > 0);
  char *a = provision(fx, "a");
  char *b = provision(fx, "b");
  uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  int before = fx->events;
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, a, "terminate", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  json_t *list = describe(fx);
  assert_int_equal(json_array_size(list), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "ID")), b);
  json_decref(list);
  run_until(fx, &fx->events, before + 1);
  assert_string_equal(fx->last, a);
  for (int i = 0; i < 20; i++) uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(fx->events, before + 1); /* once */
  /* A destroy of what is not there tells nothing. */
  slot_clear(&s);
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, a, "terminate", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  slot_clear(&s);
  for (int i = 0; i < 20; i++) uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(fx->events, before + 1);
  fx->pl.vt->unwatch(fx->pl.self, token);
  ik_free(a);
  ik_free(b);
}

/* The provider's own writes are in the index as it makes them: their
 * file-system events come back with the stamp it recorded (from the
 * written file's stat) and tell watchers nothing. */
static void its_own_writes_tell_nothing(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  assert_true(token > 0);
  char *ids[3];
  for (int i = 0; i < 3; i++) ids[i] = provision(fx, "own");
  json_t *labels = json_pack("{s:s}", "t", "relabelled");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->label(fx->pl.self, ids[0], labels, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  json_decref(labels);
  for (int i = 0; i < 50; i++) uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  usleep(20000);
  for (int i = 0; i < 50; i++) uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(fx->events, 0);
  fx->pl.vt->unwatch(fx->pl.self, token);
  for (int i = 0; i < 3; i++) ik_free(ids[i]);
}

static json_t *tag_of(json_t *list, const char *id, const char *key) {
  for (size_t i = 0; i < json_array_size(list); i++) {
    json_t *d = json_array_get(list, i);
    if (strcmp(json_string_value(json_object_get(d, "ID")), id) == 0) return json_object_get(json_object_get(d, "Tags"), key);
  }
  return NULL;
}

/* The index keeps a tag value once for instances that carry it alike (a
 * group's name and config hash on 10,000 instances), each its own when
 * they differ, and a label on one instance changes that one only. */
static void equal_tag_values_are_kept_once_and_labels_change_one(void **state) {
  fixture_t *fx = *state;
  char *ids[3];
  for (int i = 0; i < 3; i++) {
    char unique[16];
    snprintf(unique, sizeof unique, "u%d", i);
    json_t *spec = json_pack("{s:{s:s, s:s}}", "Tags", "group", "web", "intent", unique);
    slot_t s = {0};
    CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
    json_decref(spec);
    ids[i] = ik_strdup(json_string_value(s.result));
    slot_clear(&s);
  }
  json_t *list = describe(fx);
  assert_ptr_equal(tag_of(list, ids[0], "group"), tag_of(list, ids[1], "group"));
  assert_ptr_equal(tag_of(list, ids[1], "group"), tag_of(list, ids[2], "group"));
  for (int i = 0; i < 3; i++) {
    char unique[16];
    snprintf(unique, sizeof unique, "u%d", i);
    assert_string_equal(json_string_value(tag_of(list, ids[i], "intent")), unique);
  }
  json_decref(list);
  json_t *labels = json_pack("{s:s}", "group", "db");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->label(fx->pl.self, ids[1], labels, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  json_decref(labels);
  list = describe(fx);
  assert_string_equal(json_string_value(tag_of(list, ids[0], "group")), "web");
  assert_string_equal(json_string_value(tag_of(list, ids[1], "group")), "db");
  assert_string_equal(json_string_value(tag_of(list, ids[2], "group")), "web");
  assert_string_equal(json_string_value(tag_of(list, ids[1], "intent")), "u1");
  json_decref(list);
  for (int i = 0; i < 3; i++) ik_free(ids[i]);
}

static void a_new_provider_indexes_what_is_there(void **state) {
  fixture_t *fx = *state;
  for (int i = 0; i < 50; i++) ik_free(provision(fx, "x"));
  fx->pl.vt->free(fx->pl.self);
  ik_err_t err = {0};
  assert_int_equal(ik_file_provider_new(&fx->loop, fx->dir, &fx->pl, &err), 0);
  json_t *list = describe(fx);
  assert_int_equal(json_array_size(list), 50);
  /* Sorted by ID, as InfraKit's plugin lists them. */
  for (size_t i = 1; i < 50; i++)
    assert_true(strcmp(json_string_value(json_object_get(json_array_get(list, i - 1), "ID")),
                       json_string_value(json_object_get(json_array_get(list, i), "ID"))) < 0);
  json_decref(list);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static bool exists(const char *dir, const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

/* A SIGKILL between writing a temp file and renaming it leaves
 * ".NAME.tmp" behind: a new provider removes them, and nothing else. */
static void a_new_provider_removes_temp_files_left_by_a_crash(void **state) {
  fixture_t *fx = *state;
  char *id = provision(fx, "x");
  fx->pl.vt->free(fx->pl.self);
  char tmp[128];
  snprintf(tmp, sizeof tmp, ".%s.tmp", id);
  write_file(fx->dir, tmp, "{\"ID\": \"half");
  write_file(fx->dir, ".other.tmp", "");
  write_file(fx->dir, ".keep", "not a temp file");
  ik_err_t err = {0};
  assert_int_equal(ik_file_provider_new(&fx->loop, fx->dir, &fx->pl, &err), 0);
  assert_false(exists(fx->dir, tmp));
  assert_false(exists(fx->dir, ".other.tmp"));
  assert_true(exists(fx->dir, ".keep"));
  assert_true(exists(fx->dir, id));
  json_t *list = describe(fx);
  assert_int_equal(json_array_size(list), 1);
  json_decref(list);
  ik_free(id);
}

/* A symlink planted in the directory is never followed: not listed, and
 * an operation on it names it without quoting what it points to. */
static void a_planted_symlink_is_never_followed(void **state) {
  fixture_t *fx = *state;
  char secret[128], link[128];
  snprintf(secret, sizeof secret, "%s.secret", fx->dir);
  FILE *f = fopen(secret, "w");
  fputs("TOPSECRET-CONTENT", f);
  fclose(f);
  snprintf(link, sizeof link, "%s/planted", fx->dir);
  assert_int_equal(symlink(secret, link), 0);
  /* An instance-looking target too: still not listed. */
  char target[128], link2[128];
  snprintf(target, sizeof target, "%s.inst", fx->dir);
  f = fopen(target, "w");
  fputs("{\"ID\": \"planted2\", \"Tags\": {}}", f);
  fclose(f);
  snprintf(link2, sizeof link2, "%s/planted2", fx->dir);
  assert_int_equal(symlink(target, link2), 0);
  for (int i = 0; i < 20; i++) uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  json_t *list = describe(fx);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  slot_t s = {0};
  json_t *labels = json_pack("{s:s}", "k", "v");
  CALL(fx, &s, fx->pl.vt->label(fx->pl.self, "planted", labels, on_slot, &s, &e_));
  assert_int_not_equal(s.err.code, 0);
  assert_null(strstr(s.err.msg, "TOPSECRET"));
  assert_non_null(strstr(s.err.msg, "not a regular file"));
  slot_clear(&s);
  json_decref(labels);
  /* A new provider (the index from a scan) does not list them either. */
  fx->pl.vt->free(fx->pl.self);
  ik_err_t err = {0};
  assert_int_equal(ik_file_provider_new(&fx->loop, fx->dir, &fx->pl, &err), 0);
  list = describe(fx);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  /* The targets are untouched. */
  f = fopen(secret, "r");
  char buf[64] = {0};
  assert_non_null(fgets(buf, sizeof buf, f));
  fclose(f);
  assert_string_equal(buf, "TOPSECRET-CONTENT");
  unlink(secret);
  unlink(target);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(changes_by_hand_are_seen_and_told, setup, teardown),
      cmocka_unit_test_setup_teardown(a_destroy_through_the_api_is_told_after_it_completes, setup, teardown),
      cmocka_unit_test_setup_teardown(its_own_writes_tell_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(equal_tag_values_are_kept_once_and_labels_change_one, setup, teardown),
      cmocka_unit_test_setup_teardown(a_new_provider_indexes_what_is_there, setup, teardown),
      cmocka_unit_test_setup_teardown(a_new_provider_removes_temp_files_left_by_a_crash, setup, teardown),
      cmocka_unit_test_setup_teardown(a_planted_symlink_is_never_followed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
