/* infrakit lua FILE [ARGS] | -e CODE [ARGS]: run Lua with the infrakit
 * module bound and the loop running (like `nvim -ll`).
 *
 * The script runs as the main task. When it ends, the process exits:
 * tasks it spawned and did not wait for are cancelled. Exit status: a
 * returned number (0..255); 0 for nothing or true; 1 for false or nil
 * (with the second value printed as the message); 1 for a raised error
 * (message and traceback on stderr); 130/143 on SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "lua/runtime.h"

typedef struct ik_lua_cli {
  ik_loop_t *loop;
  ik_lua_t *rt;
  bool finished;
  bool interrupting; /* SIGINT/SIGTERM: the script's interrupt handler runs */
  int exit_code;
  const char *cmd; /* for messages: "lua", "template" */
} ik_lua_cli_t;

static void main_done(ik_task_t *task, ik_task_status_t status, const ik_err_t *err, void *data) {
  ik_lua_cli_t *c = data;
  c->finished = true;
  switch (status) {
  case IK_TASK_OK: {
    ik_lua_value_t v = ik_task_result(task, 1);
    c->exit_code = 0;
    if (v.kind == IK_LV_NUMBER) {
      double n = v.num;
      c->exit_code = n < 0 ? 1 : n > 255 ? 255
                                         : (int)n;
    } else if (v.kind == IK_LV_NIL || (v.kind == IK_LV_BOOL && !v.b)) {
      c->exit_code = 1;
      ik_lua_value_t msg = ik_task_result(task, 2);
      if (msg.kind == IK_LV_STRING) ik_cli_eprintf("infrakit %s: %s\n", c->cmd, msg.str);
      else if (msg.kind == IK_LV_NUMBER) ik_cli_eprintf("infrakit %s: %.14g\n", c->cmd, msg.num);
    }
    break;
  }
  case IK_TASK_ERROR: {
    const char *trace = ik_task_traceback(task);
    ik_cli_eprintf("infrakit %s: %s\n", c->cmd, trace ? trace : err->msg);
    c->exit_code = 1;
    break;
  }
  case IK_TASK_CANCELED:
    c->exit_code = c->loop->signum ? 128 + c->loop->signum : 1;
    break;
  default:
    abort();
  }
  /* Leave the loop at the end of this iteration; main cleans up. While
   * the interrupt handler runs, its end does that. */
  if (!c->interrupting) uv_stop(&c->loop->uv);
}

static void interrupt_done(ik_task_t *task, ik_task_status_t status, const ik_err_t *err, void *data) {
  ik_lua_cli_t *c = data;
  if (status == IK_TASK_ERROR) {
    const char *trace = ik_task_traceback(task);
    ik_cli_eprintf("infrakit %s: the interrupt handler failed: %s\n", c->cmd, trace ? trace : err->msg);
  }
  c->finished = true;
  c->interrupting = false;
  uv_stop(&c->loop->uv);
}

/* SIGINT/SIGTERM: cancel every task (pending waits end), then run the
 * handler the script set with infrakit.on_interrupt(fn), if any, so it
 * can say what was done and undo what it must not leave half-made. A
 * second Ctrl-C exits at once (loop.h). */
static void on_shutdown(ik_loop_t *loop, int signum, void *data) {
  ik_lua_cli_t *c = data;
  (void)loop;
  (void)signum;
  c->interrupting = true;
  ik_lua_cancel_all(c->rt);
  ik_err_t err = {0};
  static const char *const handler = "local h = require('infrakit._core').interrupt_handler\n"
                                     "if h then h() end";
  if (ik_lua_start_string(c->rt, handler, "=(interrupt)", 0, NULL, interrupt_done, c, NULL, &err) < 0) {
    c->interrupting = false;
    uv_stop(&c->loop->uv);
  }
}

static int lua_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {{"eval", 'e', true}, {"timeout", 0, true}, {NULL, 0, false}};
  const char *code = NULL;
  ik_optparse_t p;
  ik_opt_init(&p, &ik_cmd_lua, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    if (o == 0) code = p.arg;
    if (o == 1 && ik_cli_apply_global(&ik_cmd_lua, "lua-timeout", p.arg) != 0) return IK_EXIT_USAGE;
  }
  const char *script = NULL;
  if (code == NULL) {
    if (p.index >= argc) return ik_cli_usage_error(&ik_cmd_lua, "missing FILE (or -e CODE)");
    script = argv[p.index++];
  }
  return ik_cli_run_lua("lua", code, script, argc - p.index, argv + p.index);
}

int ik_cli_run_lua(const char *cmd, const char *code, const char *script, int nargs, char **args) {
  ik_err_t err = {0};
  ik_loop_t loop;
  if (ik_loop_init(&loop, &err) < 0 || ik_loop_catch_signals(&loop, &err) < 0) {
    ik_cli_eprintf("infrakit %s: %s\n", cmd, err.msg);
    return IK_EXIT_FAIL;
  }
  ik_lua_cli_t c = {.loop = &loop, .exit_code = 1, .cmd = cmd};
  ik_lua_opts_t lopts = {.timeout = ik_cli_lua_timeout,
                         .sandbox_timeout = ik_cli_sandbox_timeout,
                         .sandbox_memory = ik_cli_sandbox_memory};
  int nrc = ik_lua_new(&loop, &lopts, &c.rt, &err);
  if (nrc < 0) {
    ik_cli_eprintf("infrakit %s: %s\n", cmd, err.msg);
    ik_loop_close(&loop, NULL);
    return nrc == IK_EINVAL ? IK_EXIT_USAGE : IK_EXIT_FAIL; /* bad INFRAKIT_LUA_TIMEOUT */
  }
  ik_lua_set_args(c.rt, script ? script : "-e", nargs, args);
  int rc;
  if (code) rc = ik_lua_start_string(c.rt, code, "=(command line)", nargs, args, main_done, &c, NULL, &err);
  else if (strcmp(script, "-") == 0) rc = ik_lua_start_file(c.rt, NULL, nargs, args, main_done, &c, NULL, &err);
  else rc = ik_lua_start_file(c.rt, script, nargs, args, main_done, &c, NULL, &err);
  if (rc < 0) {
    ik_cli_eprintf("infrakit %s: %s\n", cmd, err.msg);
    c.exit_code = 1;
  } else {
    ik_loop_on_shutdown(&loop, on_shutdown, &c);
    ik_loop_run(&loop);
    if (!c.finished) {
      ik_cli_eprintf("infrakit %s: every task is waiting and nothing can wake them (deadlock)\n", cmd);
      c.exit_code = 1;
    }
    ik_loop_off_shutdown(&loop, on_shutdown, &c);
  }
  fflush(stdout);
  ik_lua_free(c.rt);
  ik_loop_run(&loop); /* let cancelled operations close their handles */
  int leaked = 0;
  if (ik_loop_close(&loop, &leaked) != 0 || leaked > 0)
    ik_log(IK_LOG_WARN, "cli", "loop did not close cleanly", NULL);
  return c.exit_code;
}

int ik_cli_run_lua_opts(const char *cmd, const char *fn, const json_t *opts, int nargs, char **args) {
  char *text = json_dumps(opts, JSON_COMPACT);
  if (text == NULL) ik_oom(0);
  char *code = ik_sprintf("return %s(require('infrakit.json').decode((...)), select(2, ...))", fn);
  char **all = ik_calloc((size_t)nargs + 1, sizeof *all);
  all[0] = text;
  for (int i = 0; i < nargs; i++) all[i + 1] = args[i];
  int rc = ik_cli_run_lua(cmd, code, NULL, nargs + 1, all);
  ik_free(all);
  ik_free(code);
  free(text);
  return rc;
}

const ik_cli_cmd_t ik_cmd_lua = {
    .name = "lua",
    .summary = "Run a Lua script with the infrakit module and the event loop",
    .usage = "infrakit lua [options] FILE [ARGS...]\n       infrakit lua [options] -e CODE [ARGS...]",
    .help = "The script runs as a task on the event loop: functions that wait\n"
            "(infrakit.sleep, infrakit.exec, task:wait) yield to the loop instead of\n"
            "blocking. The global `arg` holds the arguments (arg[0] is the script); they\n"
            "are also passed to the chunk as `...`. FILE \"-\" reads the script from stdin.\n\n"
            "Exit status: the number the script returns (0..255); 0 when it returns\n"
            "nothing or true; 1 when it returns false or nil (the second value is printed)\n"
            "or raises (message and traceback on stderr); 130 on Ctrl-C.\n\n"
            "Options:\n"
            "  -e, --eval CODE      run CODE instead of a file\n"
            "  --timeout SECS       watchdog limit (same as --lua-timeout)\n\n"
            "Examples:\n"
            "  infrakit lua -e 'print(require(\"infrakit\").now())'\n"
            "  infrakit lua script.lua one two\n",
    .run = lua_run,
};
