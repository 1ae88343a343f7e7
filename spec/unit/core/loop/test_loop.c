/* core/loop/loop: init/close, leak reporting, shutdown hooks, signals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "loop/timer.h"

/* Log state is process-wide: every test starts and ends with the default. */
static int reset_log(void **state) {
  (void)state;
  ik_log_close();
  ik_log_set_level(IK_LOG_INFO);
  return 0;
}

typedef struct tmp_log {
  char dir[32];
  char path[64];
} tmp_log_t;

static int setup_tmp_log(void **state) {
  tmp_log_t *tl = ik_calloc(1, sizeof *tl);
  snprintf(tl->dir, sizeof tl->dir, "/tmp/ik-test-loop-XXXXXX");
  if (mkdtemp(tl->dir) == NULL) return -1;
  snprintf(tl->path, sizeof tl->path, "%s/leak.log", tl->dir);
  *state = tl;
  return reset_log(state);
}

static int teardown_tmp_log(void **state) {
  tmp_log_t *tl = *state;
  reset_log(state);
  unlink(tl->path);
  int rc = rmdir(tl->dir);
  ik_free(tl);
  return rc;
}

/* Close the loop and require that nothing was left open. */
static void close_clean(ik_loop_t *loop) {
  int leaked = -1;
  assert_int_equal(ik_loop_close(loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

static void loop_with_no_handles_runs_and_closes_clean(void **state) {
  (void)state;
  ik_loop_t loop;
  ik_err_t err;
  ik_err_clear(&err);
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  assert_ptr_equal(ik_loop_of(&loop.uv), &loop);
  assert_false(loop.stopping);
  assert_int_equal(loop.nhooks, 0);
  assert_int_equal(ik_loop_run(&loop), 0);
  close_clean(&loop);
}

static void loop_close_accepts_null_leaked(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  assert_int_equal(ik_loop_close(&loop, NULL), 0);
}

static void loop_close_with_caught_signals_closes_clean(void **state) {
  (void)state;
  ik_loop_t loop;
  ik_err_t err;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  assert_int_equal(ik_loop_catch_signals(&loop, &err), 0);
  assert_int_equal(ik_loop_catch_signals(&loop, &err), 0); /* second call: no-op */
  /* The signal handles are unreferenced: run returns at once. */
  assert_int_equal(ik_loop_run(&loop), 0);
  close_clean(&loop);
}

static uv_timer_t leaked_timer; /* static: it outlives the loop's close */

static void loop_close_reports_and_closes_a_leaked_handle(void **state) {
  tmp_log_t *tl = *state;
  ik_err_t err;
  assert_int_equal(ik_log_open(tl->path, &err), 0);

  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  assert_int_equal(uv_timer_init(&loop.uv, &leaked_timer), 0);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&loop, &leaked), 0);
  assert_int_equal(leaked, 1);
  assert_true(uv_is_closing((uv_handle_t *)&leaked_timer));

  ik_log_close();
  char line[512] = {0};
  FILE *f = fopen(tl->path, "r");
  assert_non_null(f);
  char *got = fgets(line, sizeof line, f);
  fclose(f);
  assert_non_null(got);
  assert_non_null(strstr(line, "level=warn mod=loop"));
  assert_non_null(strstr(line, "leak"));
  assert_non_null(strstr(line, " type=timer\n"));
}

/* ---- shutdown hooks ---- */

typedef struct hook_log {
  int order[32];
  int signums[32];
  int n;
} hook_log_t;

typedef struct hook_ctx {
  hook_log_t *log;
  int id;
  bool unregister_self;
} hook_ctx_t;

static void record_hook(ik_loop_t *loop, int signum, void *data) {
  hook_ctx_t *h = data;
  h->log->order[h->log->n] = h->id;
  h->log->signums[h->log->n] = signum;
  h->log->n++;
  assert_true(loop->stopping);
  if (h->unregister_self) ik_loop_off_shutdown(loop, record_hook, h);
}

static void loop_shutdown_runs_hooks_once_in_registration_order(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  hook_log_t log = {0};
  hook_ctx_t hooks[4] = {
      {&log, 1, false},
      {&log, 2, true},
      {&log, 3, false},
      {&log, 4, true},
  };
  for (int i = 0; i < 4; i++) assert_int_equal(ik_loop_on_shutdown(&loop, record_hook, &hooks[i]), 0);

  ik_loop_shutdown(&loop, 0);
  ik_loop_shutdown(&loop, SIGTERM); /* idempotent: no second round, signum kept */
  ik_loop_shutdown(&loop, 0);

  assert_int_equal(log.n, 4);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(log.order[i], i + 1);
    assert_int_equal(log.signums[i], 0);
  }
  assert_true(loop.stopping);
  assert_int_equal(loop.signum, 0);
  /* The two self-unregistering hooks are gone; the others remain, in order. */
  assert_int_equal(loop.nhooks, 2);
  assert_ptr_equal(loop.hooks[0].data, &hooks[0]);
  assert_ptr_equal(loop.hooks[1].data, &hooks[2]);
  close_clean(&loop);
}

static void loop_off_shutdown_removes_only_the_matching_hook(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  hook_log_t log = {0};
  hook_ctx_t a = {&log, 1, false}, b = {&log, 2, false}, c = {&log, 3, false};
  ik_loop_on_shutdown(&loop, record_hook, &a);
  ik_loop_on_shutdown(&loop, record_hook, &b);
  ik_loop_on_shutdown(&loop, record_hook, &c);
  ik_loop_off_shutdown(&loop, record_hook, &b);
  ik_loop_off_shutdown(&loop, record_hook, &log); /* not registered: no-op */
  ik_loop_shutdown(&loop, SIGINT);
  assert_int_equal(log.n, 2);
  assert_int_equal(log.order[0], 1);
  assert_int_equal(log.order[1], 3);
  assert_int_equal(log.signums[0], SIGINT);
  assert_int_equal(loop.signum, SIGINT);
  close_clean(&loop);
}

static void loop_on_shutdown_fails_when_table_is_full(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  hook_log_t log = {0};
  hook_ctx_t hooks[IK_LOOP_MAX_HOOKS + 1];
  for (int i = 0; i <= IK_LOOP_MAX_HOOKS; i++) hooks[i] = (hook_ctx_t){&log, i, false};
  for (int i = 0; i < IK_LOOP_MAX_HOOKS; i++) assert_int_equal(ik_loop_on_shutdown(&loop, record_hook, &hooks[i]), 0);
  assert_int_equal(ik_loop_on_shutdown(&loop, record_hook, &hooks[IK_LOOP_MAX_HOOKS]), IK_ESTATE);
  ik_loop_shutdown(&loop, 0);
  assert_int_equal(log.n, IK_LOOP_MAX_HOOKS);
  for (int i = 0; i < IK_LOOP_MAX_HOOKS; i++) assert_int_equal(log.order[i], i);
  close_clean(&loop);
}

/* ---- signals ---- */

typedef struct sig_test {
  ik_timer_t *ticker;
  int ticks;
  int hook_calls;
  int hook_signum;
} sig_test_t;

/* First tick raises SIGTERM; the ticker keeps the loop alive until the
 * shutdown hook stops it, as an owner of handles would. */
static void tick_raise_sigterm(ik_timer_t *t, void *data) {
  sig_test_t *st = data;
  if (st->ticks++ == 0) raise(SIGTERM);
  /* Bound the test if the signal never arrives: it fails, it does not hang. */
  if (st->ticks > 5000) ik_timer_stop(t);
}

static void stop_ticker_on_shutdown(ik_loop_t *loop, int signum, void *data) {
  sig_test_t *st = data;
  st->hook_calls++;
  st->hook_signum = signum;
  ik_timer_stop(st->ticker);
}

static void loop_sigterm_runs_hooks_and_loop_runs_dry(void **state) {
  (void)state;
  ik_log_set_level(IK_LOG_WARN); /* silence the "shutting down" info line */
  ik_loop_t loop;
  ik_err_t err;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  assert_int_equal(ik_loop_catch_signals(&loop, &err), 0);
  sig_test_t st = {0};
  assert_int_equal(ik_loop_on_shutdown(&loop, stop_ticker_on_shutdown, &st), 0);
  assert_int_equal(ik_timer_start(&loop, 1, 1, tick_raise_sigterm, &st, &st.ticker, &err), 0);

  assert_int_equal(ik_loop_run(&loop), 0);

  assert_int_equal(st.hook_calls, 1);
  assert_int_equal(st.hook_signum, SIGTERM);
  assert_true(loop.stopping);
  assert_int_equal(loop.signum, SIGTERM);
  assert_true(st.ticks >= 1);
  close_clean(&loop);
}

/* ---- clocks ---- */

static void note_time(ik_timer_t *t, void *data) { *(double *)data = ik_loop_monotime(); }

static void loop_monotime_increases(void **state) {
  (void)state;
  ik_loop_t loop;
  assert_int_equal(ik_loop_init(&loop, NULL), 0);
  double before = ik_loop_monotime();
  double fired = 0;
  assert_int_equal(ik_timer_start(&loop, 2, 0, note_time, &fired, NULL, NULL), 0);
  assert_int_equal(ik_loop_run(&loop), 0);
  double after = ik_loop_monotime();
  assert_true(before > 0);
  assert_true(fired > before);
  assert_true(after >= fired);
  close_clean(&loop);
}

static void loop_walltime_is_seconds_since_epoch(void **state) {
  (void)state;
  /* Bracket the read between two reads of the same clock (CLOCK_REALTIME).
   * Not time(NULL): glibc serves it from the coarse clock, which lags the
   * precise one by up to a tick, so just after a second boundary time()
   * still names the previous second and w - now exceeds 1 (the flake). */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double before = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  double w = ik_loop_walltime();
  clock_gettime(CLOCK_REALTIME, &ts);
  double after = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  assert_true(w > 1.6e9);
  assert_true(before <= w && w <= after);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loop_with_no_handles_runs_and_closes_clean),
      cmocka_unit_test(loop_close_accepts_null_leaked),
      cmocka_unit_test(loop_close_with_caught_signals_closes_clean),
      cmocka_unit_test_setup_teardown(loop_close_reports_and_closes_a_leaked_handle, setup_tmp_log, teardown_tmp_log),
      cmocka_unit_test(loop_shutdown_runs_hooks_once_in_registration_order),
      cmocka_unit_test(loop_off_shutdown_removes_only_the_matching_hook),
      cmocka_unit_test(loop_on_shutdown_fails_when_table_is_full),
      cmocka_unit_test_setup_teardown(loop_sigterm_runs_hooks_and_loop_runs_dry, reset_log, reset_log),
      cmocka_unit_test(loop_monotime_increases),
      cmocka_unit_test(loop_walltime_is_seconds_since_epoch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
