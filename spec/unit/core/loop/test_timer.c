/* core/loop/timer: one-shot, repeating, stop, ref. Every test ends with the
 * loop closed clean (a timer that failed to free itself shows up as a leak
 * here, and under ASan as leaked memory). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "loop/loop.h"
#include "loop/timer.h"

static void close_clean(ik_loop_t *loop) {
  int leaked = -1;
  assert_int_equal(ik_loop_close(loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

typedef struct counter {
  int calls;
  int stop_after;   /* stop from inside the callback after this many; 0 = never */
  ik_timer_t *self; /* the timer the callback was given */
  int order[8];
  int norder;
  int id;
  struct counter *shared; /* where to record firing order, or NULL */
} counter_t;

static void count_cb(ik_timer_t *t, void *data) {
  counter_t *c = data;
  c->calls++;
  c->self = t;
  if (c->shared) c->shared->order[c->shared->norder++] = c->id;
  if (c->stop_after && c->calls == c->stop_after) ik_timer_stop(t);
}

static void timer_one_shot_fires_once_and_frees_itself(void **state) {
  (void)state;
  ik_loop_t loop;
  ik_err_t err;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  counter_t c = {0};
  ik_timer_t *t = NULL;
  assert_int_equal(ik_timer_start(&loop, 1, 0, count_cb, &c, &t, &err), 0);
  assert_non_null(t);
  assert_int_equal(ik_loop_run(&loop), 0); /* returns: the timer no longer holds the loop */
  assert_int_equal(c.calls, 1);
  assert_ptr_equal(c.self, t);
  close_clean(&loop);
}

static void timer_one_shot_may_stop_itself_in_its_callback(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  counter_t c = {.stop_after = 1};
  assert_int_equal(ik_timer_start(&loop, 1, 0, count_cb, &c, NULL, NULL), 0);
  assert_int_equal(ik_loop_run(&loop), 0);
  assert_int_equal(c.calls, 1);
  close_clean(&loop);
}

static void timer_zero_timeout_fires_on_next_iteration(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  counter_t c = {0};
  assert_int_equal(ik_timer_start(&loop, 0, 0, count_cb, &c, NULL, NULL), 0);
  assert_int_equal(c.calls, 0); /* never synchronously from start */
  assert_int_equal(ik_loop_run(&loop), 0);
  assert_int_equal(c.calls, 1);
  close_clean(&loop);
}

static void timer_repeating_fires_n_times_then_stops_itself(void **state) {
  (void)state;
  static const int counts[] = {1, 2, 5, 20};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    ik_loop_t loop;
    assert_int_equal(ik_loop_init(&loop, NULL), 0);
    counter_t c = {.stop_after = counts[i]};
    ik_timer_t *t = NULL;
    assert_int_equal(ik_timer_start(&loop, 1, 1, count_cb, &c, &t, NULL), 0);
    assert_int_equal(ik_loop_run(&loop), 0);
    assert_int_equal(c.calls, counts[i]);
    assert_ptr_equal(c.self, t);
    close_clean(&loop);
  }
}

static void timer_stop_before_fire_never_calls_cb(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  counter_t once = {0}, repeating = {0};
  ik_timer_t *a = NULL, *b = NULL;
  assert_int_equal(ik_timer_start(&loop, 0, 0, count_cb, &once, &a, NULL), 0);
  assert_int_equal(ik_timer_start(&loop, 0, 1, count_cb, &repeating, &b, NULL), 0);
  ik_timer_stop(a);
  ik_timer_stop(b);
  ik_timer_stop(b); /* twice before the close callback ran: harmless */
  ik_timer_stop(NULL);
  assert_int_equal(ik_loop_run(&loop), 0);
  assert_int_equal(once.calls, 0);
  assert_int_equal(repeating.calls, 0);
  close_clean(&loop);
}

static void stop_other_cb(ik_timer_t *t, void *data) { ik_timer_stop(data); }

static void timer_stopped_by_another_timer_never_fires(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  counter_t victim = {0};
  ik_timer_t *late = NULL;
  /* The late timer would hold the loop for a minute if the stop failed. */
  assert_int_equal(ik_timer_start(&loop, 60000, 0, count_cb, &victim, &late, NULL), 0);
  assert_int_equal(ik_timer_start(&loop, 1, 0, stop_other_cb, late, NULL, NULL), 0);
  assert_int_equal(ik_loop_run(&loop), 0);
  assert_int_equal(victim.calls, 0);
  close_clean(&loop);
}

static void timer_unref_does_not_keep_loop_alive(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  counter_t c = {0};
  ik_timer_t *t = NULL;
  assert_int_equal(ik_timer_start(&loop, 60000, 0, count_cb, &c, &t, NULL), 0);
  ik_timer_ref(t, 0);
  assert_int_equal(ik_loop_run(&loop), 0); /* returns at once */
  assert_int_equal(c.calls, 0);
  ik_timer_ref(t, 1);
  assert_true(uv_loop_alive(&loop.uv));
  ik_timer_stop(t);
  assert_int_equal(ik_loop_run(&loop), 0);
  assert_int_equal(c.calls, 0);
  close_clean(&loop);
}

static void timer_fires_in_deadline_then_start_order(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  counter_t shared = {0};
  /* Same-deadline timers fire in start order; a later deadline fires last. */
  counter_t c[4] = {
      {.id = 1, .shared = &shared},
      {.id = 2, .shared = &shared},
      {.id = 3, .shared = &shared},
      {.id = 4, .shared = &shared},
  };
  assert_int_equal(ik_timer_start(&loop, 20, 0, count_cb, &c[3], NULL, NULL), 0);
  assert_int_equal(ik_timer_start(&loop, 1, 0, count_cb, &c[0], NULL, NULL), 0);
  assert_int_equal(ik_timer_start(&loop, 1, 0, count_cb, &c[1], NULL, NULL), 0);
  assert_int_equal(ik_timer_start(&loop, 1, 0, count_cb, &c[2], NULL, NULL), 0);
  assert_int_equal(ik_loop_run(&loop), 0);
  assert_int_equal(shared.norder, 4);
  for (int i = 0; i < 4; i++) assert_int_equal(shared.order[i], i + 1);
  close_clean(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(timer_one_shot_fires_once_and_frees_itself),
      cmocka_unit_test(timer_one_shot_may_stop_itself_in_its_callback),
      cmocka_unit_test(timer_zero_timeout_fires_on_next_iteration),
      cmocka_unit_test(timer_repeating_fires_n_times_then_stops_itself),
      cmocka_unit_test(timer_stop_before_fire_never_calls_cb),
      cmocka_unit_test(timer_stopped_by_another_timer_never_fires),
      cmocka_unit_test(timer_unref_does_not_keep_loop_alive),
      cmocka_unit_test(timer_fires_in_deadline_then_start_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
