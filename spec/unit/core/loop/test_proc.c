/* core/loop/proc: spawn, capture, stdin, exit status, signals, timeout,
 * cancel, output limit, spawn errors. Every test closes the loop clean. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "loop/proc.h"
#include "loop/timer.h"

typedef struct outcome {
  int calls;
  int64_t exit_status;
  int term_signal;
  bool timed_out, canceled, truncated;
  char out[256], err[256];
  size_t out_len;
  double elapsed;
} outcome_t;

static void record(ik_proc_t *proc, ik_proc_result_t *res, void *data) {
  outcome_t *o = data;
  o->calls++;
  o->exit_status = res->exit_status;
  o->term_signal = res->term_signal;
  o->timed_out = res->timed_out;
  o->canceled = res->canceled;
  o->truncated = res->truncated;
  o->elapsed = res->elapsed;
  o->out_len = res->out.len;
  snprintf(o->out, sizeof o->out, "%.*s", (int)res->out.len, res->out.data ? res->out.data : "");
  snprintf(o->err, sizeof o->err, "%.*s", (int)res->err.len, res->err.data ? res->err.data : "");
}

static void close_clean(ik_loop_t *loop) {
  int leaked = -1;
  assert_int_equal(ik_loop_close(loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

/* Spawn argv with opts (argv filled in), run the loop dry, return outcome. */
static outcome_t run(const char *const *argv, ik_proc_opts_t opts) {
  ik_loop_t loop;
  ik_err_t err = {0};
  outcome_t o;
  memset(&o, 0, sizeof o);
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  opts.argv = argv;
  assert_int_equal(ik_proc_spawn(&loop, &opts, record, &o, NULL, &err), 0);
  ik_loop_run(&loop);
  close_clean(&loop);
  assert_int_equal(o.calls, 1);
  return o;
}

static void proc_captures_stdout_stderr_and_status(void **state) {
  const char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){0});
  assert_int_equal(o.exit_status, 3);
  assert_int_equal(o.term_signal, 0);
  assert_string_equal(o.out, "out\n");
  assert_string_equal(o.err, "err\n");
  assert_false(o.timed_out);
}

static void proc_feeds_stdin_then_closes_it(void **state) {
  const char *const argv[] = {"cat", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){.stdin_data = "hello\nworld", .stdin_len = 11});
  assert_int_equal(o.exit_status, 0);
  assert_string_equal(o.out, "hello\nworld");
}

static void proc_stdin_defaults_to_dev_null(void **state) {
  /* cat would wait forever on an inherited terminal; /dev/null ends it. */
  const char *const argv[] = {"cat", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){0});
  assert_int_equal(o.exit_status, 0);
  assert_int_equal(o.out_len, 0);
}

static void proc_env_replaces_environment(void **state) {
  const char *const argv[] = {"/bin/sh", "-c", "printf '%s|%s' \"$IK_X\" \"$HOME\"", NULL};
  const char *const env[] = {"IK_X=42", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){.env = env});
  assert_string_equal(o.out, "42|");
}

static void proc_cwd_is_applied(void **state) {
  const char *const argv[] = {"pwd", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){.cwd = "/"});
  assert_string_equal(o.out, "/\n");
}

static void proc_reports_the_killing_signal(void **state) {
  const char *const argv[] = {"sh", "-c", "kill -TERM $$", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){0});
  assert_int_equal(o.term_signal, SIGTERM);
}

static void proc_timeout_kills_the_whole_group(void **state) {
  /* The shell's child holds the output pipe open: unless the group is
   * killed, EOF never comes and the callback never runs. */
  const char *const argv[] = {"sh", "-c", "sleep 30 & sleep 30; echo never", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){.timeout_ms = 100});
  assert_true(o.timed_out);
  assert_int_equal(o.term_signal, SIGKILL);
  assert_true(o.elapsed < 5.0);
  assert_string_equal(o.out, "");
}

static void proc_max_output_truncates_and_flags(void **state) {
  const char *const argv[] = {"sh", "-c", "head -c 100000 /dev/zero", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){.max_output = 1000});
  assert_int_equal(o.exit_status, 0);
  assert_true(o.truncated);
  assert_int_equal(o.out_len, 1000);
}

static void proc_large_output_is_captured_whole(void **state) {
  const char *const argv[] = {"sh", "-c", "head -c 3000000 /dev/zero", NULL};
  outcome_t o = run(argv, (ik_proc_opts_t){0});
  assert_int_equal(o.exit_status, 0);
  assert_false(o.truncated);
  assert_int_equal(o.out_len, 3000000);
}

static void proc_missing_program_fails_at_spawn_without_callback(void **state) {
  ik_loop_t loop;
  ik_err_t err = {0};
  outcome_t o = {0};
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  const char *const argv[] = {"ik-no-such-program-here", NULL};
  ik_proc_opts_t opts = {.argv = argv};
  int rc = ik_proc_spawn(&loop, &opts, record, &o, NULL, &err);
  assert_int_equal(rc, UV_ENOENT);
  assert_non_null(strstr(err.msg, "ik-no-such-program-here"));
  ik_loop_run(&loop);
  assert_int_equal(o.calls, 0);
  close_clean(&loop);
}

static void proc_missing_cwd_fails_at_spawn(void **state) {
  ik_loop_t loop;
  ik_err_t err = {0};
  outcome_t o = {0};
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  const char *const argv[] = {"true", NULL};
  ik_proc_opts_t opts = {.argv = argv, .cwd = "/ik-no-such-dir"};
  assert_true(ik_proc_spawn(&loop, &opts, record, &o, NULL, &err) < 0);
  assert_non_null(strstr(err.msg, "/ik-no-such-dir"));
  ik_loop_run(&loop);
  assert_int_equal(o.calls, 0);
  close_clean(&loop);
}

static void cancel_from_timer(ik_timer_t *t, void *data) {
  ik_proc_cancel(data);
}

static void proc_cancel_kills_and_still_calls_back(void **state) {
  ik_loop_t loop;
  ik_err_t err = {0};
  outcome_t o = {0};
  ik_proc_t *proc = NULL;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  const char *const argv[] = {"sleep", "30", NULL};
  ik_proc_opts_t opts = {.argv = argv};
  assert_int_equal(ik_proc_spawn(&loop, &opts, record, &o, &proc, &err), 0);
  assert_true(ik_proc_pid(proc) > 0);
  assert_int_equal(ik_timer_start(&loop, 50, 0, cancel_from_timer, proc, NULL, &err), 0);
  ik_loop_run(&loop);
  assert_int_equal(o.calls, 1);
  assert_true(o.canceled);
  assert_int_equal(o.term_signal, SIGKILL);
  close_clean(&loop);
}

static void proc_many_concurrent_children_all_complete(void **state) {
  enum { N = 32 };
  ik_loop_t loop;
  ik_err_t err = {0};
  outcome_t *o = ik_calloc(N, sizeof *o);
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  char ids[N][8];
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof ids[i], "%d", i);
    const char *const argv[] = {"echo", ids[i], NULL};
    ik_proc_opts_t opts = {.argv = argv};
    assert_int_equal(ik_proc_spawn(&loop, &opts, record, &o[i], NULL, &err), 0);
  }
  ik_loop_run(&loop);
  for (int i = 0; i < N; i++) {
    char want[16];
    snprintf(want, sizeof want, "%d\n", i);
    assert_int_equal(o[i].calls, 1);
    assert_string_equal(o[i].out, want);
  }
  ik_free(o);
  close_clean(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(proc_captures_stdout_stderr_and_status),
      cmocka_unit_test(proc_feeds_stdin_then_closes_it),
      cmocka_unit_test(proc_stdin_defaults_to_dev_null),
      cmocka_unit_test(proc_env_replaces_environment),
      cmocka_unit_test(proc_cwd_is_applied),
      cmocka_unit_test(proc_reports_the_killing_signal),
      cmocka_unit_test(proc_timeout_kills_the_whole_group),
      cmocka_unit_test(proc_max_output_truncates_and_flags),
      cmocka_unit_test(proc_large_output_is_captured_whole),
      cmocka_unit_test(proc_missing_program_fails_at_spawn_without_callback),
      cmocka_unit_test(proc_missing_cwd_fails_at_spawn),
      cmocka_unit_test(proc_cancel_kills_and_still_calls_back),
      cmocka_unit_test(proc_many_concurrent_children_all_complete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
