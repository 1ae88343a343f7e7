/* infrakit.exec(argv, opts): run a program without blocking the loop.
 *
 *   argv  array of strings (argv[1] is looked up in PATH), or one string
 *         run by /bin/sh -c
 *   opts  env (table: merged over the inherited environment), clear_env
 *         (bool: start from an empty environment), cwd, stdin (string),
 *         timeout (seconds), max_output (bytes per stream)
 *
 * Yields. Returns {status=, signal=, stdout=, stderr=, elapsed=,
 * truncated=} once the program has exited (a non-zero status is a result,
 * not a failure), or nil, msg, code: "ENOENT" when the program does not
 * exist, "ETIMEDOUT" when the timeout killed it (with the partial result
 * as a fourth value). Bad arguments raise. */
#include <math.h>
#include <string.h>

#include "base/mem.h"
#include "loop/proc.h"
#include "lua/internal.h"

extern char **environ;

typedef struct ik_exec_op {
  ik_op_t op;
  ik_task_t *task; /* NULL once cancelled */
  ik_proc_t *proc;
  double timeout;
  char *prog;
} ik_exec_op_t;

static void push_result(lua_State *L, ik_proc_result_t *res) {
  lua_createtable(L, 0, 6);
  if (res->term_signal) {
    lua_pushinteger(L, 128 + res->term_signal);
    lua_setfield(L, -2, "status");
    lua_pushinteger(L, res->term_signal);
    lua_setfield(L, -2, "signal");
  } else {
    lua_pushinteger(L, (lua_Integer)res->exit_status);
    lua_setfield(L, -2, "status");
  }
  lua_pushlstring(L, ik_buf_cstr(&res->out), res->out.len);
  lua_setfield(L, -2, "stdout");
  lua_pushlstring(L, ik_buf_cstr(&res->err), res->err.len);
  lua_setfield(L, -2, "stderr");
  lua_pushnumber(L, res->elapsed);
  lua_setfield(L, -2, "elapsed");
  lua_pushboolean(L, res->truncated);
  lua_setfield(L, -2, "truncated");
}

static void exec_done(ik_proc_t *proc, ik_proc_result_t *res, void *data) {
  (void)proc;
  ik_exec_op_t *op = data;
  ik_task_t *t = op->task;
  if (t != NULL) {
    lua_State *co = t->co;
    int n;
    if (res->timed_out) {
      lua_pushnil(co);
      lua_pushfstring(co, "exec %s: timed out after %f s", op->prog, op->timeout);
      lua_pushstring(co, "ETIMEDOUT");
      push_result(co, res);
      n = 4;
    } else {
      push_result(co, res);
      n = 1;
    }
    ik__task_wake(t, n);
  }
  ik_free(op->prog);
  ik_free(op);
}

static void exec_cancel(ik_op_t *base) {
  ik_exec_op_t *op = (ik_exec_op_t *)base;
  op->task = NULL;
  ik_proc_cancel(op->proc); /* exec_done still runs and frees op */
}

static const char *opt_string(lua_State *L, int opts, const char *field) {
  lua_getfield(L, opts, field);
  const char *s = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "infrakit.exec: opts.%s must be a string", field);
    s = lua_tostring(L, -1);
  }
  lua_pop(L, 1); /* the string stays alive: it is referenced by opts */
  return s;
}

/* Build the "K=V" environment: inherited (unless clear_env) with opts.env
 * merged over it. Strings are allocated in one list freed by the caller. */
static char **build_env(lua_State *L, int opts, int *count) {
  lua_getfield(L, opts, "env");
  lua_getfield(L, opts, "clear_env");
  bool clear = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (lua_isnil(L, -1) && !clear) {
    lua_pop(L, 1);
    return NULL; /* inherit as is */
  }
  if (!lua_isnil(L, -1) && !lua_istable(L, -1)) luaL_error(L, "infrakit.exec: opts.env must be a table of NAME = value");
  size_t cap = 16, n = 0;
  char **env = ik_malloc(cap * sizeof *env);
  if (!clear) {
    for (char **e = environ; *e; e++) {
      const char *eq = strchr(*e, '=');
      if (eq == NULL) continue;
      bool overridden = false;
      if (lua_istable(L, -1)) {
        lua_pushlstring(L, *e, (size_t)(eq - *e));
        lua_rawget(L, -2);
        overridden = !lua_isnil(L, -1);
        lua_pop(L, 1);
      }
      if (overridden) continue;
      if (n + 2 > cap) env = ik_realloc(env, (cap *= 2) * sizeof *env);
      env[n++] = ik_strdup(*e);
    }
  }
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)) {
        for (size_t i = 0; i < n; i++) ik_free(env[i]);
        ik_free(env);
        luaL_error(L, "infrakit.exec: opts.env must map names to strings or numbers");
      }
      const char *k = lua_tostring(L, -2);
      if (*k == '\0' || strchr(k, '=')) {
        for (size_t i = 0; i < n; i++) ik_free(env[i]);
        ik_free(env);
        luaL_error(L, "infrakit.exec: opts.env has an invalid variable name \"%s\"", k);
      }
      size_t vlen;
      const char *v = lua_tolstring(L, -1, &vlen);
      size_t klen = strlen(k);
      char *kv = ik_malloc(klen + vlen + 2);
      memcpy(kv, k, klen);
      kv[klen] = '=';
      memcpy(kv + klen + 1, v, vlen + 1);
      if (n + 2 > cap) env = ik_realloc(env, (cap *= 2) * sizeof *env);
      env[n++] = kv;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  env[n] = NULL;
  *count = (int)n;
  return env;
}

static int l_exec(lua_State *L) {
  const char *shv[4] = {"/bin/sh", "-c", NULL, NULL};
  const char **argv = NULL;
  int argc = 0;
  if (lua_type(L, 1) == LUA_TSTRING) {
    shv[2] = lua_tostring(L, 1);
    argv = shv;
  } else if (lua_istable(L, 1)) {
    argc = (int)lua_objlen(L, 1);
    if (argc == 0) return luaL_error(L, "infrakit.exec: argv must not be empty");
    for (int i = 1; i <= argc; i++) {
      lua_rawgeti(L, 1, i);
      int ty = lua_type(L, -1);
      lua_pop(L, 1);
      if (ty != LUA_TSTRING && ty != LUA_TNUMBER)
        return luaL_error(L, "infrakit.exec: argv[%d] must be a string", i);
    }
  } else {
    return luaL_error(L, "infrakit.exec: argv must be a table of strings or a shell command string");
  }
  bool has_opts = !lua_isnoneornil(L, 2);
  if (has_opts) luaL_checktype(L, 2, LUA_TTABLE);
  else {
    lua_settop(L, 1);
    lua_newtable(L);
  }

  ik_proc_opts_t po;
  memset(&po, 0, sizeof po);
  po.cwd = opt_string(L, 2, "cwd");
  size_t stdin_len = 0;
  lua_getfield(L, 2, "stdin");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "infrakit.exec: opts.stdin must be a string");
    po.stdin_data = lua_tolstring(L, -1, &stdin_len);
    po.stdin_len = stdin_len;
  }
  lua_pop(L, 1);
  double timeout = 0;
  lua_getfield(L, 2, "timeout");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0) || !isfinite(lua_tonumber(L, -1)))
      return luaL_error(L, "infrakit.exec: opts.timeout must be a number of seconds > 0");
    timeout = lua_tonumber(L, -1);
    po.timeout_ms = (uint64_t)ceil(timeout * 1000.0);
  }
  lua_pop(L, 1);
  lua_getfield(L, 2, "max_output");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) < 1)
      return luaL_error(L, "infrakit.exec: opts.max_output must be a number of bytes >= 1");
    po.max_output = (size_t)lua_tonumber(L, -1);
  }
  lua_pop(L, 1);

  /* Everything that may raise comes before the first allocation: a
   * raise unwinds with longjmp and would leak it. */
  ik_task_t *t = ik__task_current(L, "infrakit.exec");
  int envc = 0;
  char **env = build_env(L, 2, &envc); /* frees its own memory before raising */

  if (argv == NULL) {
    argv = ik_calloc((size_t)argc + 1, sizeof *argv);
    for (int i = 1; i <= argc; i++) {
      lua_rawgeti(L, 1, i);
      argv[i - 1] = lua_tostring(L, -1); /* anchored by the argv table */
      lua_pop(L, 1);
    }
  }
  po.argv = argv;
  po.env = (const char *const *)env;

  ik_exec_op_t *op = IK_NEW(ik_exec_op_t);
  op->op.cancel = exec_cancel;
  op->task = t;
  op->timeout = timeout;
  op->prog = ik_strdup(argv[0]);
  ik_err_t err = {0};
  int rc = ik_proc_spawn(t->rt->loop, &po, exec_done, op, &op->proc, &err);
  if (argv != shv) ik_free(argv);
  if (env) {
    for (int i = 0; i < envc; i++) ik_free(env[i]);
    ik_free(env);
  }
  if (rc < 0) ik_free(op->prog);
  return ik__task_await(L, t, &op->op, rc, &err);
}

void ik__bind_exec(lua_State *L) {
  lua_pushcfunction(L, l_exec);
  lua_setfield(L, -2, "exec");
}
