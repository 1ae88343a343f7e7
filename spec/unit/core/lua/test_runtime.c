/* core/lua/runtime: protected calls, tasks on the loop, results, errors,
 * cancellation, the watchdog (interpreted, JIT-compiled and inside pcall),
 * registry-ref baseline and a clean loop close. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "engine/store_file.h"
#include "loop/loop.h"
#include "lua/runtime.h"

typedef struct fixture {
  ik_loop_t loop;
  ik_lua_t *rt;
  int refs0;
} fixture_t;

static int setup(void **state) {
  static fixture_t f;
  memset(&f, 0, sizeof f);
  ik_err_t err = {0};
  ik_log_set_level(IK_LOG_ERROR); /* failed tasks log their traceback */
  if (ik_loop_init(&f.loop, &err) < 0) return -1;
  ik_lua_opts_t opts = {.timeout = 0.3};
  if (ik_lua_new(&f.loop, &opts, &f.rt, &err) < 0) {
    fprintf(stderr, "ik_lua_new: %s\n", err.msg);
    return -1;
  }
  f.refs0 = ik_lua_refs(f.rt);
  *state = &f;
  return 0;
}

/* Every test leaves no task alive, no extra registry refs once garbage is
 * collected, and a loop that
 * closes with nothing leaked. */
static int teardown(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  /* A finished task keeps its results until its handle is collected. */
  ik_lua_dostring(f->rt, "collectgarbage() collectgarbage()", "=gc", &err);
  int live = ik_lua_live_tasks(f->rt), refs = ik_lua_refs(f->rt);
  ik_lua_free(f->rt);
  ik_loop_run(&f->loop);
  int leaked = -1;
  int rc = ik_loop_close(&f->loop, &leaked);
  ik_log_set_level(IK_LOG_INFO);
  if (live != 0 || refs != f->refs0 || rc != 0 || leaked != 0) {
    fprintf(stderr, "teardown: live=%d refs=%d (baseline %d) close=%d leaked=%d\n", live, refs,
            f->refs0, rc, leaked);
    return -1;
  }
  return 0;
}

typedef struct done {
  int calls;
  ik_task_status_t status;
  char msg[512];
  char traceback[2048];
  int nresults;
  ik_lua_value_t r[4];
  char strs[4][64];
} done_t;

static void on_done(ik_task_t *task, ik_task_status_t status, const ik_err_t *err, void *data) {
  done_t *d = data;
  d->calls++;
  d->status = status;
  if (err) snprintf(d->msg, sizeof d->msg, "%s", err->msg);
  if (status == IK_TASK_ERROR)
    snprintf(d->traceback, sizeof d->traceback, "%s", ik_task_traceback(task) ? ik_task_traceback(task) : "");
  d->nresults = ik_task_nresults(task);
  for (int i = 0; i < d->nresults && i < 4; i++) {
    d->r[i] = ik_task_result(task, i + 1);
    if (d->r[i].kind == IK_LV_STRING) {
      /* Borrowed strings die with the callback: keep a copy, read strs[i]. */
      snprintf(d->strs[i], sizeof d->strs[i], "%.*s", (int)d->r[i].len, d->r[i].str);
      d->r[i].str = NULL;
    }
  }
}

static done_t run_task(fixture_t *f, const char *code) {
  done_t d;
  memset(&d, 0, sizeof d);
  ik_err_t err = {0};
  int rc = ik_lua_start_string(f->rt, code, "=test", 0, NULL, on_done, &d, NULL, &err);
  if (rc < 0) fail_msg("start: %s", err.msg);
  ik_loop_run(&f->loop);
  assert_int_equal(d.calls, 1);
  return d;
}

/* --- protected calls ------------------------------------------------- */

static void dostring_runs_code(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  assert_int_equal(ik_lua_dostring(f->rt, "x_from_test = 41 + 1", "=t", &err), 0);
  assert_int_equal(ik_lua_dostring(f->rt, "assert(x_from_test == 42)", "=t", &err), 0);
}

static void dostring_syntax_error_names_chunk_and_line(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  assert_int_equal(ik_lua_dostring(f->rt, "\nlocal = 1", "=chunky", &err), IK_ELUA);
  assert_non_null(strstr(err.msg, "chunky:2"));
}

static void dostring_runtime_error_keeps_message(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  assert_int_equal(ik_lua_dostring(f->rt, "error('boom here')", "=t", &err), IK_ELUA);
  assert_non_null(strstr(err.msg, "boom here"));
  /* The state is still usable. */
  assert_int_equal(ik_lua_dostring(f->rt, "return 1", "=t", &err), 0);
}

static void require_infrakit_works(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  int rc = ik_lua_dostring(f->rt,
                           "local ik = require 'infrakit'\n"
                           "assert(type(ik.sleep) == 'function')\n"
                           "assert(type(ik.exec) == 'function')\n"
                           "assert(ik.json.decode('[1]')[1] == 1)\n"
                           "assert(ik.now() > 1.7e9)",
                           "=t", &err);
  if (rc != 0) fail_msg("%s", err.msg);
}

/* --- watchdog -------------------------------------------------------- */

static void watchdog_stops_an_interpreted_loop(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  assert_int_equal(ik_lua_dostring(f->rt, "jit.off() while true do end", "=t", &err), IK_ETIMEDOUT);
  assert_non_null(strstr(err.msg, "watchdog"));
  assert_int_equal(ik_lua_dostring(f->rt, "jit.on()", "=t", &err), 0);
}

static void watchdog_stops_a_jit_compiled_loop(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  assert_int_equal(ik_lua_dostring(f->rt, "local x = 0 while true do x = x + 1 end", "=t", &err),
                   IK_ETIMEDOUT);
  assert_int_equal(ik_lua_dostring(f->rt, "while true do end", "=t", &err), IK_ETIMEDOUT);
  assert_non_null(strstr(err.msg, "watchdog"));
}

static void watchdog_cannot_be_swallowed_by_pcall(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  int rc = ik_lua_dostring(f->rt, "while true do pcall(function() while true do end end) end",
                           "=t", &err);
  assert_int_equal(rc, IK_ETIMEDOUT);
}

/* LuaJIT runs an xpcall handler with hooks off when the error came from a
 * hook: a handler that loops escaped the watchdog for good (issue 13). */
static void watchdog_cannot_be_escaped_by_an_xpcall_handler(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  int rc = ik_lua_dostring(f->rt, "xpcall(function() while true do end end, function() while true do end end)",
                           "=t", &err);
  assert_int_equal(rc, IK_ETIMEDOUT);
  assert_non_null(strstr(err.msg, "watchdog"));
  /* xpcall still works for ordinary errors. */
  assert_int_equal(ik_lua_dostring(f->rt, "local ok, e = xpcall(error, function(m) return 'h:' .. m end, 'x')\n"
                                          "assert(not ok and e == 'h:x')",
                                   "=t", &err),
                   0);
}

/* Sandboxed code over its memory budget fails that call, with a message;
 * the LUA_ERRMEM behind it does not abort, and the state carries on. */
static void sandbox_memory_budget_fails_the_call_not_the_process(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  /* Time limits far away: on a loaded machine filling 16 MiB may take
   * seconds, and the time limit must not be what ends the call. */
  ik_lua_set_timeout(f->rt, 120);
  ik_lua_set_sandbox_limits(f->rt, 120, (size_t)16 << 20);
  int rc = ik_lua_dostring(f->rt, "require('infrakit._sandbox').run('return string.rep(\"y\", 2^28)')", "=t", &err);
  assert_int_equal(rc, IK_ELUA);
  assert_non_null(strstr(err.msg, "more than 16 MiB"));
  rc = ik_lua_dostring(f->rt, "local ok, e = pcall(require('infrakit._sandbox').load('local t = {} "
                              "for i = 1, 1e9 do t[i] = {} end'))",
                       "=t", &err);
  assert_int_equal(rc, IK_ELUA);
  assert_non_null(strstr(err.msg, "more than 16 MiB"));
  assert_int_equal(ik_lua_dostring(f->rt, "assert(#string.rep('y', 2^20) == 2^20)", "=t", &err), 0);
}

/* Sandboxed code past its run time fails, even inside a pattern match
 * that LuaJIT's own matcher would run for hours. */
static void sandbox_time_limit_reaches_pattern_matching(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_lua_set_sandbox_limits(f->rt, 0.1, 0);
  int rc = ik_lua_dostring(f->rt, "require('infrakit._sandbox').run('return (\"a\"):rep(3000):find(\".-.-.-b\")')",
                           "=t", &err);
  assert_int_equal(rc, IK_ETIMEDOUT);
  assert_non_null(strstr(err.msg, "sandbox: "));
}

static void watchdog_bounds_each_task_slice(void **state) {
  fixture_t *f = *state;
  done_t d = run_task(f, "local ik = require 'infrakit'\n"
                         "ik.sleep(0)\n"
                         "while true do end");
  assert_int_equal(d.status, IK_TASK_ERROR);
  assert_non_null(strstr(d.msg, "watchdog"));
}

static void watchdog_does_not_count_time_spent_waiting(void **state) {
  fixture_t *f = *state;
  /* 0.5 s of sleeping in slices of 0.1 s each stays under the 0.3 s limit. */
  done_t d = run_task(f, "local ik = require 'infrakit'\n"
                         "for i = 1, 5 do ik.sleep(0.1) end\n"
                         "return 'slept'");
  assert_int_equal(d.status, IK_TASK_OK);
  assert_string_equal(d.strs[0], "slept");
}

static void watchdog_limit_can_be_changed(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_lua_set_timeout(f->rt, 0.05);
  assert_true(ik_lua_timeout(f->rt) == 0.05);
  assert_int_equal(ik_lua_dostring(f->rt, "while true do end", "=t", &err), IK_ETIMEDOUT);
  ik_lua_set_timeout(f->rt, 0.3);
}

static void parse_timeout_accepts_positive_seconds_only(void **state) {
  double v = 0;
  ik_err_t err = {0};
  assert_int_equal(ik_lua_parse_timeout("0.5", &v, &err), 0);
  assert_true(v == 0.5);
  const char *bad[] = {"", "abc", "0", "-1", "1s", "inf", "nan"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(ik_lua_parse_timeout(bad[i], &v, &err), IK_EINVAL);
    assert_non_null(strstr(err.msg, "seconds > 0"));
  }
}

/* --- tasks ----------------------------------------------------------- */

static void task_returns_results_to_c(void **state) {
  fixture_t *f = *state;
  done_t d = run_task(f, "return 7, 'two', true, nil");
  assert_int_equal(d.status, IK_TASK_OK);
  assert_int_equal(d.nresults, 4);
  assert_int_equal(d.r[0].kind, IK_LV_NUMBER);
  assert_true(d.r[0].num == 7);
  assert_int_equal(d.r[1].kind, IK_LV_STRING);
  assert_string_equal(d.strs[1], "two");
  assert_int_equal(d.r[2].kind, IK_LV_BOOL);
  assert_true(d.r[2].b);
  assert_int_equal(d.r[3].kind, IK_LV_NIL);
}

static void task_resumes_after_sleep_on_the_loop(void **state) {
  fixture_t *f = *state;
  done_t d = run_task(f, "local ik = require 'infrakit'\n"
                         "local t0 = ik.clock()\n"
                         "ik.sleep(0.05)\n"
                         "return ik.clock() - t0");
  assert_int_equal(d.status, IK_TASK_OK);
  assert_true(d.r[0].num >= 0.045);
}

static void task_error_carries_traceback_and_runtime_survives(void **state) {
  fixture_t *f = *state;
  done_t d = run_task(f, "local function inner() error('deep trouble') end\n"
                         "local function outer() inner() end\n"
                         "outer()");
  assert_int_equal(d.status, IK_TASK_ERROR);
  assert_non_null(strstr(d.msg, "deep trouble"));
  assert_non_null(strstr(d.traceback, "stack traceback"));
  assert_non_null(strstr(d.traceback, "inner"));
  done_t again = run_task(f, "return 'still here'");
  assert_string_equal(again.strs[0], "still here");
}

static void task_syntax_error_fails_at_start_without_callback(void **state) {
  fixture_t *f = *state;
  done_t d;
  memset(&d, 0, sizeof d);
  ik_err_t err = {0};
  assert_int_equal(ik_lua_start_string(f->rt, "return +", "=broken", 0, NULL, on_done, &d, NULL, &err),
                   IK_ELUA);
  assert_non_null(strstr(err.msg, "broken:1"));
  ik_loop_run(&f->loop);
  assert_int_equal(d.calls, 0);
}

static void task_spawned_children_run_concurrently(void **state) {
  fixture_t *f = *state;
  done_t d = run_task(f, "local ik = require 'infrakit'\n"
                         "local t0 = ik.clock()\n"
                         "local ts = {}\n"
                         "for i = 1, 10 do ts[i] = ik.spawn(function() ik.sleep(0.1) return i end) end\n"
                         "local sum = 0\n"
                         "for _, r in ipairs(ik.wait_all(ts)) do sum = sum + r[1] end\n"
                         "return sum, ik.clock() - t0");
  if (d.status != IK_TASK_OK) fail_msg("%s", d.msg);
  assert_true(d.r[0].num == 55);
  assert_true(d.r[1].num < 0.5); /* ten 0.1 s sleeps overlapped */
}

static void cancel_from_timer(ik_loop_t *loop, int signum, void *data) { ik_lua_cancel_all(data); }

static void cancel_all_ends_waiting_tasks(void **state) {
  fixture_t *f = *state;
  done_t d;
  memset(&d, 0, sizeof d);
  ik_err_t err = {0};
  assert_int_equal(ik_lua_start_string(f->rt, "require('infrakit').sleep(30)", "=t", 0, NULL,
                                       on_done, &d, NULL, &err),
                   0);
  assert_int_equal(ik_loop_on_shutdown(&f->loop, cancel_from_timer, f->rt), 0);
  /* One iteration starts the task and parks it in sleep; then shut down. */
  uv_run(&f->loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(ik_lua_live_tasks(f->rt), 1);
  ik_loop_shutdown(&f->loop, 0);
  ik_loop_run(&f->loop);
  assert_int_equal(d.calls, 1);
  assert_int_equal(d.status, IK_TASK_CANCELED);
  ik_loop_off_shutdown(&f->loop, cancel_from_timer, f->rt);
}

static void refs_return_to_baseline_after_busy_tasks(void **state) {
  fixture_t *f = *state;
  done_t d = run_task(f, "local ik = require 'infrakit'\n"
                         "local ts = {}\n"
                         "for i = 1, 50 do ts[i] = ik.spawn(function()\n"
                         "  ik.sleep(0)\n"
                         "  local r = ik.exec({'true'})\n"
                         "  return r.status end) end\n"
                         "ik.wait_all(ts)\n"
                         "local t = ik.spawn(function() ik.sleep(10) end)\n"
                         "t:cancel()\n"
                         "return ik.debug.refs()");
  if (d.status != IK_TASK_OK) fail_msg("%s", d.msg);
  /* teardown checks refs == baseline once the main task is gone */
}

/* --- compiling without running; the store; cancelling one task -------- */

static void compile_check_compiles_and_never_runs(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  const char *ok = "ran = true\nreturn function() return 1 end";
  assert_int_equal(ik_lua_compile_check(f->rt, ok, strlen(ok), "=p", &err), 0);
  done_t d = run_task(f, "return ran == nil");
  assert_true(d.r[0].b); /* compiled, not run */
  const char *bad = "return function() return 1 +\nend";
  assert_int_equal(ik_lua_compile_check(f->rt, bad, strlen(bad), "=inline policy", &err), IK_ELUA);
  assert_non_null(strstr(err.msg, "inline policy:2:"));
  const char *bytecode = "\033LJ\002";
  assert_int_equal(ik_lua_compile_check(f->rt, bytecode, 4, "=b", &err), IK_ELUA);
  assert_int_equal(ik_lua_compile_file_check(f->rt, "/nonexistent/p.lua", &err), IK_ENOTFOUND);
  assert_non_null(strstr(err.msg, "cannot read /nonexistent/p.lua"));
}

static void store_get_and_put_reach_the_installed_store(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  done_t d = run_task(f, "return pcall(require('infrakit._core').store_get, 'a/b')");
  assert_false(d.r[0].b); /* no store installed: an error */
  char dir[] = "/tmp/ik-test-store-XXXXXX";
  assert_non_null(mkdtemp(dir));
  ik_store_t store = {0};
  assert_int_equal(ik_store_file_new(&f->loop, dir, &store, &err), 0);
  ik_lua_set_store(f->rt, &store);
  d = run_task(f, "local core = require 'infrakit._core'\n"
                  "local none, msg, code = core.store_get('groups/web/scaling')\n"
                  "assert(none == nil and code == 'ENOTFOUND', tostring(msg))\n"
                  "assert(core.store_put('groups/web/scaling', {LastChange = 12.5, Below = {3, 2}}) == true)\n"
                  "local doc = assert(core.store_get('groups/web/scaling'))\n"
                  "return doc.LastChange, doc.Below[2]");
  if (d.status != IK_TASK_OK) fail_msg("%s", d.msg);
  assert_true(d.r[0].num == 12.5);
  assert_true(d.r[1].num == 2);
  ik_lua_set_store(f->rt, NULL);
  store.vt->free(store.self);
  char rm[64];
  snprintf(rm, sizeof rm, "rm -rf %s", dir);
  assert_int_equal(system(rm), 0);
}

static void task_cancel_stops_one_task(void **state) {
  fixture_t *f = *state;
  done_t d;
  memset(&d, 0, sizeof d);
  ik_task_t *t = NULL;
  ik_err_t err = {0};
  assert_int_equal(ik_lua_start_string(f->rt, "require('infrakit').sleep(10)", "=t", 0, NULL, on_done, &d, &t, &err), 0);
  uv_run(&f->loop.uv, UV_RUN_NOWAIT); /* it starts, then sleeps */
  ik_lua_task_cancel(t);
  ik_loop_run(&f->loop);
  assert_int_equal(d.calls, 1);
  assert_int_equal(d.status, IK_TASK_CANCELED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(dostring_runs_code, setup, teardown),
      cmocka_unit_test_setup_teardown(dostring_syntax_error_names_chunk_and_line, setup, teardown),
      cmocka_unit_test_setup_teardown(dostring_runtime_error_keeps_message, setup, teardown),
      cmocka_unit_test_setup_teardown(require_infrakit_works, setup, teardown),
      cmocka_unit_test_setup_teardown(watchdog_stops_an_interpreted_loop, setup, teardown),
      cmocka_unit_test_setup_teardown(watchdog_stops_a_jit_compiled_loop, setup, teardown),
      cmocka_unit_test_setup_teardown(watchdog_cannot_be_swallowed_by_pcall, setup, teardown),
      cmocka_unit_test_setup_teardown(watchdog_cannot_be_escaped_by_an_xpcall_handler, setup, teardown),
      cmocka_unit_test_setup_teardown(sandbox_memory_budget_fails_the_call_not_the_process, setup, teardown),
      cmocka_unit_test_setup_teardown(sandbox_time_limit_reaches_pattern_matching, setup, teardown),
      cmocka_unit_test_setup_teardown(watchdog_bounds_each_task_slice, setup, teardown),
      cmocka_unit_test_setup_teardown(watchdog_does_not_count_time_spent_waiting, setup, teardown),
      cmocka_unit_test_setup_teardown(watchdog_limit_can_be_changed, setup, teardown),
      cmocka_unit_test(parse_timeout_accepts_positive_seconds_only),
      cmocka_unit_test_setup_teardown(task_returns_results_to_c, setup, teardown),
      cmocka_unit_test_setup_teardown(compile_check_compiles_and_never_runs, setup, teardown),
      cmocka_unit_test_setup_teardown(store_get_and_put_reach_the_installed_store, setup, teardown),
      cmocka_unit_test_setup_teardown(task_cancel_stops_one_task, setup, teardown),
      cmocka_unit_test_setup_teardown(task_resumes_after_sleep_on_the_loop, setup, teardown),
      cmocka_unit_test_setup_teardown(task_error_carries_traceback_and_runtime_survives, setup, teardown),
      cmocka_unit_test_setup_teardown(task_syntax_error_fails_at_start_without_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(task_spawned_children_run_concurrently, setup, teardown),
      cmocka_unit_test_setup_teardown(cancel_all_ends_waiting_tasks, setup, teardown),
      cmocka_unit_test_setup_teardown(refs_return_to_baseline_after_busy_tasks, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
