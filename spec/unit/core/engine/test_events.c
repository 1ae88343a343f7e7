/* core/engine/events: every event numbered ("seq"), the numbering going on
 * across restarts (from the file) and across leaders (the cursor in the
 * store, reserved a block at a time), events held while the cursor is
 * read, subscribers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "engine/events.h"
#include "engine/store_file.h"
#include "loop/loop.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64], path[96], other[96], store_dir[96];
  ik_store_t store;
} fixture_t;

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-events-XXXXXX");
  if (mkdtemp(fx->dir) == NULL || ik_loop_init(&fx->loop, &err) < 0) return -1;
  snprintf(fx->path, sizeof fx->path, "%s/events.jsonl", fx->dir);
  snprintf(fx->other, sizeof fx->other, "%s/other.jsonl", fx->dir);
  snprintf(fx->store_dir, sizeof fx->store_dir, "%s/configs", fx->dir);
  if (ik_store_file_new(&fx->loop, fx->store_dir, &fx->store, &err) < 0) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  fx->store.vt->free(fx->store.self);
  int leaked = 0;
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  ik_loop_close(&fx->loop, &leaked);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  if (system(cmd) != 0) return -1;
  ik_free(fx);
  return leaked == 0 ? 0 : -1;
}

/* The seq of the file's line-th line (1-based), or 0. */
static uint64_t seq_of_line(const char *path, int line) {
  FILE *f = fopen(path, "r");
  char buf[1024];
  uint64_t seq = 0;
  for (int i = 1; f && fgets(buf, sizeof buf, f); i++)
    if (i == line) seq = ik_events_line_seq(buf, strlen(buf));
  if (f) fclose(f);
  return seq;
}

/* The stored cursor's "next", or -1. */
static json_int_t stored_next(fixture_t *fx) {
  char path[160];
  snprintf(path, sizeof path, "%s/events/cursor.json", fx->store_dir);
  json_t *doc = json_load_file(path, 0, NULL);
  json_int_t n = doc ? json_integer_value(json_object_get(doc, "next")) : -1;
  json_decref(doc);
  return n;
}

static void events_are_numbered_and_go_on_from_the_file(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  ik_events_t *ev;
  assert_int_equal(ik_events_open(fx->path, &ev, &err), 0);
  ik_events_emit(ev, "web", "committed", json_pack("{s:i}", "size", 2));
  ik_events_emit(ev, "web", "provisioned", json_pack("{s:s, s:i}", "instance", "i-1", "seq", 99)); /* seq is ours */
  assert_int_equal(ik_events_last_seq(ev), 2);
  ik_events_close(ev);
  assert_int_equal(ik_events_open(fx->path, &ev, &err), 0); /* a restart */
  ik_events_emit(ev, "", "leadership-gained", NULL);
  ik_events_close(ev);
  assert_int_equal(seq_of_line(fx->path, 1), 1);
  assert_int_equal(seq_of_line(fx->path, 2), 2);
  assert_int_equal(seq_of_line(fx->path, 3), 3);
  FILE *f = fopen(fx->path, "r");
  char line[512];
  assert_non_null(fgets(line, sizeof line, f));
  assert_non_null(fgets(line, sizeof line, f));
  fclose(f);
  assert_non_null(strstr(line, "{\"seq\":2,\"time\":\""));
  assert_non_null(strstr(line, "\"group\":\"web\",\"event\":\"provisioned\",\"instance\":\"i-1\"}"));
}

/* With a store: events emitted before the cursor is read are held, then
 * numbered from the larger of the file's and the cursor's; a block is
 * reserved; another daemon (another file: a new leader) goes on above the
 * whole block; a clean close gives back the rest of the block. */
static void the_cursor_in_the_store_carries_the_numbering_across_leaders(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  ik_events_t *first, *second;
  assert_int_equal(ik_events_open(fx->path, &first, &err), 0);
  ik_events_use_store(first, &fx->store);
  ik_events_emit(first, "web", "committed", NULL); /* held until the cursor is read */
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  assert_int_equal(seq_of_line(fx->path, 1), 1);
  assert_int_equal(stored_next(fx), ik_events_last_seq(first) + 1 + IK_EVENTS_CURSOR_BLOCK); /* a block ahead */
  for (int i = 0; i < IK_EVENTS_CURSOR_BLOCK / 2 + 5; i++) ik_events_emit(first, "web", "plan", NULL);
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  uint64_t last = ik_events_last_seq(first);
  assert_true(stored_next(fx) > (json_int_t)last + IK_EVENTS_CURSOR_BLOCK / 2); /* the next block, ahead */
  json_int_t reserved = stored_next(fx);

  /* The first leader "crashes" (its cursor stays reserved): the second goes on above the block. */
  assert_int_equal(ik_events_open(fx->other, &second, &err), 0);
  ik_events_use_store(second, &fx->store);
  ik_events_emit(second, "", "leadership-gained", NULL);
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  assert_int_equal(seq_of_line(fx->other, 1), (uint64_t)reserved);
  ik_events_use_store(first, NULL);
  ik_events_close(first);
  ik_events_close(second);
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  assert_int_equal(stored_next(fx), reserved + 1); /* given back: the next one goes on at once */
}

typedef struct seen {
  int n;
  uint64_t last;
  char event[32];
  ik_events_t *ev;
  ik_events_sub_t *self;
} seen_t;

static void on_event(uint64_t seq, const char *group, const char *event, const char *line, size_t len, void *data) {
  seen_t *s = data;
  s->n++;
  s->last = seq;
  snprintf(s->event, sizeof s->event, "%s", event);
  assert_int_equal(ik_events_line_seq(line, len), seq);
  assert_int_equal(line[len], '\0');
  if (s->n == 2) ik_events_unsubscribe(s->ev, s->self); /* from inside: safe */
}

static void subscribers_get_each_event_and_may_leave_from_the_callback(void **state) {
  (void)state;
  ik_err_t err = {0};
  ik_events_t *ev;
  assert_int_equal(ik_events_open(NULL, &ev, &err), 0); /* no file: still numbered */
  seen_t a = {.ev = ev}, b = {.ev = ev};
  a.self = ik_events_subscribe(ev, on_event, &a);
  b.self = ik_events_subscribe(ev, on_event, &b);
  ik_events_emit(ev, "web", "committed", NULL);
  ik_events_emit(ev, "web", "provisioned", NULL);
  ik_events_emit(ev, "web", "plan", NULL);
  assert_int_equal(a.n, 2);
  assert_int_equal(b.n, 2);
  assert_int_equal(a.last, 2);
  assert_string_equal(a.event, "provisioned");
  assert_int_equal(ik_events_last_seq(ev), 3);
  ik_events_close(ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(events_are_numbered_and_go_on_from_the_file, setup, teardown),
      cmocka_unit_test_setup_teardown(the_cursor_in_the_store_carries_the_numbering_across_leaders, setup, teardown),
      cmocka_unit_test_setup_teardown(subscribers_get_each_event_and_may_leave_from_the_callback, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
