/* core/spi/watchers: the one list of watchers every instance plugin with
 * events uses (providers/file, providers/process, core/lua/lua_plugin.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "spi/watchers.h"

/* A recording watcher; unwatch_token, when set, is removed from list the
 * first time it is called. */
typedef struct seen {
  int calls;
  char id[64];
  char why[64];
  ik_watchers_t *list;
  int unwatch_token;
  bool free_list;
} seen_t;

static void record(const char *id, const char *why, void *data) {
  seen_t *s = data;
  s->calls++;
  snprintf(s->id, sizeof s->id, "%s", id ? id : "(null)");
  snprintf(s->why, sizeof s->why, "%s", why ? why : "(null)");
  if (s->unwatch_token) {
    ik_watchers_remove(s->list, s->unwatch_token);
    s->unwatch_token = 0;
  }
  if (s->free_list) ik_watchers_free(s->list);
}

static void every_watcher_hears_each_event_with_id_and_why(void **state) {
  (void)state;
  ik_watchers_t w = {0};
  seen_t a = {0}, b = {0};
  int ta = ik_watchers_add(&w, record, &a), tb = ik_watchers_add(&w, record, &b);
  assert_true(ta > 0);
  assert_true(tb > 0 && tb != ta);
  ik_watchers_notify(&w, "inst-1", "exited with status 3");
  ik_watchers_notify(&w, NULL, NULL);
  assert_int_equal(a.calls, 2);
  assert_int_equal(b.calls, 2);
  assert_string_equal(a.id, "(null)");
  assert_string_equal(a.why, "(null)");
  ik_watchers_notify(&w, "inst-2", NULL);
  assert_string_equal(b.id, "inst-2");
  ik_watchers_free(&w);
}

static void a_removed_watcher_is_not_called_and_its_slot_is_reused(void **state) {
  (void)state;
  ik_watchers_t w = {0};
  seen_t a = {0}, b = {0}, c = {0};
  int ta = ik_watchers_add(&w, record, &a);
  int tb = ik_watchers_add(&w, record, &b);
  assert_int_equal(ik_watchers_count(&w), 2);
  ik_watchers_remove(&w, ta);
  ik_watchers_remove(&w, 999);                /* unknown: ignored */
  assert_int_equal(ik_watchers_count(&w), 1); /* a's free slot is not counted */
  ik_watchers_notify(&w, "x", NULL);
  assert_int_equal(a.calls, 0);
  assert_int_equal(b.calls, 1);
  int tc = ik_watchers_add(&w, record, &c);
  assert_int_equal(w.n, 2); /* took a's slot */
  assert_true(tc != ta && tc != tb);
  ik_watchers_remove(&w, ta); /* a's old token does not remove c */
  ik_watchers_notify(&w, "y", NULL);
  assert_int_equal(c.calls, 1);
  ik_watchers_free(&w);
  assert_int_equal(ik_watchers_count(&w), 0);
}

/* More than the 16 the providers once allowed: the list grows. */
static void the_list_grows_past_sixteen_watchers(void **state) {
  (void)state;
  ik_watchers_t w = {0};
  seen_t s[40] = {0};
  for (int i = 0; i < 40; i++) assert_true(ik_watchers_add(&w, record, &s[i]) > 0);
  ik_watchers_notify(&w, "z", "why");
  for (int i = 0; i < 40; i++) assert_int_equal(s[i].calls, 1);
  ik_watchers_free(&w);
}

static void a_watcher_may_remove_another_or_free_the_list_while_told(void **state) {
  (void)state;
  ik_watchers_t w = {0};
  seen_t a = {.list = &w}, b = {0}, c = {.list = &w, .free_list = true}, d = {0};
  ik_watchers_add(&w, record, &a);
  a.unwatch_token = ik_watchers_add(&w, record, &b); /* a removes b */
  ik_watchers_notify(&w, "x", NULL);
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 0);
  ik_watchers_add(&w, record, &c); /* c frees the list: d is not told */
  ik_watchers_add(&w, record, &d);
  ik_watchers_notify(&w, "y", NULL);
  assert_int_equal(c.calls, 1);
  assert_int_equal(d.calls, 0);
  assert_int_equal(w.n, 0);
  assert_null(w.slots);
  ik_watchers_notify(&w, "z", NULL); /* empty, still usable */
  assert_true(ik_watchers_add(&w, record, &d) > 0);
  ik_watchers_free(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_watcher_hears_each_event_with_id_and_why),
      cmocka_unit_test(a_removed_watcher_is_not_called_and_its_slot_is_reused),
      cmocka_unit_test(the_list_grows_past_sixteen_watchers),
      cmocka_unit_test(a_watcher_may_remove_another_or_free_the_list_while_told),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
