/* loop/pidwatch: the exit of a process that is not our child's business
 * to report (here: a child, reaped by the test) is seen once, from the
 * loop; a stopped watch says nothing; a pid that is gone is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/loop.h"
#include "loop/pidwatch.h"

static int seen, seen_pid;

static void on_exit_seen(ik_pidwatch_t *w, int pid, void *data) {
  seen++;
  seen_pid = pid;
  ik_pidwatch_stop(w);
}

static void on_tick(uv_timer_t *t) { (void)t; }

static pid_t sleeper(void) {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  return pid;
}

static void pidwatch_reports_an_exit_once(void **state) {
  ik_loop_t loop;
  ik_err_t err = {0};
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  pid_t pid = sleeper(), quiet = sleeper();
  ik_pidwatch_t *w = NULL, *stopped = NULL;
  seen = 0;
  assert_int_equal(ik_pidwatch_start(&loop, pid, on_exit_seen, NULL, &w, &err), 0);
  assert_int_equal(ik_pidwatch_start(&loop, quiet, on_exit_seen, NULL, &stopped, &err), 0);
  ik_pidwatch_stop(stopped);
  uv_run(&loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(seen, 0); /* both alive */
  kill(pid, SIGKILL);
  kill(quiet, SIGKILL);
  /* The watch does not keep the loop alive: a timer does, meanwhile. */
  uv_timer_t tick;
  uv_timer_init(&loop.uv, &tick);
  uv_timer_start(&tick, on_tick, 5, 5);
  for (int i = 0; i < 1000 && seen == 0; i++) uv_run(&loop.uv, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  assert_int_equal(seen, 1);
  assert_int_equal(seen_pid, pid);
  waitpid(pid, NULL, 0);
  waitpid(quiet, NULL, 0);
  /* A pid that is gone is refused, and nothing is called. */
  assert_int_not_equal(ik_pidwatch_start(&loop, pid, on_exit_seen, NULL, &w, &err), 0);
  uv_run(&loop.uv, UV_RUN_DEFAULT);
  int leaked = 0;
  assert_int_equal(ik_loop_close(&loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  assert_int_equal(seen, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pidwatch_reports_an_exit_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
