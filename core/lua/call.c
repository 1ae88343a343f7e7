/* The only two ways C enters Lua: a protected call and a coroutine resume.
 * Both arm the watchdog for the outermost slice, and both turn a failure
 * into a message with a traceback plus an IK_E* code. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "lua/internal.h"

/* The text of error object 1: a string or number as is, else its
 * __tostring, else its type. Run protected (a __tostring may raise). */
static int l_describe_error(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) {
    lua_tostring(L, 1);
    lua_settop(L, 1);
    return 1;
  }
  if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
  lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  return 1;
}

/* Push the description of the value on top of from's stack onto L (from
 * may be a dead coroutine, so the work happens on L). */
static const char *push_error_text(lua_State *L, lua_State *from) {
  lua_pushvalue(from, -1);
  if (from != L) lua_xmove(from, L, 1);
  lua_pushcfunction(L, l_describe_error);
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 1, 0) != 0 || lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushliteral(L, "(error object could not be converted to a string)");
  }
  return lua_tostring(L, -1);
}

static int l_traceback(lua_State *L) {
  const char *msg = push_error_text(L, L);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static void enter(ik_lua_t *rt, lua_State *L) {
  if (rt->depth++ == 0) {
    ik__watchdog_arm(L, rt->timeout, IK_KILL_TIMEOUT);
    ik__limits_resume(rt, rt->current);
  }
}

/* Leaving the outermost slice: why it was killed, or IK_KILL_NONE. */
static ik_kill_t leave(ik_lua_t *rt, lua_State *L) {
  if (--rt->depth == 0) {
    ik__limits_pause(rt, rt->current);
    return ik__watchdog_disarm(L);
  }
  return IK_KILL_NONE;
}

static int kill_code(ik_kill_t why, const char *msg) {
  switch (why) {
  case IK_KILL_NONE: return ik__watchdog_is_timeout_message(msg) ? IK_ETIMEDOUT : IK_ELUA;
  case IK_KILL_TIMEOUT:
  case IK_KILL_SANDBOX_TIME: return IK_ETIMEDOUT;
  case IK_KILL_TERM: return IK_ECANCELED;
  case IK_KILL_MEMORY: return IK_ELUA;
  default: abort();
  }
}

/* A LUA_ERRMEM that ended a slice: an error of that call when a sandbox's
 * budget refused the allocation; else the daemon's own state is out of
 * memory, which is fatal (DESIGN). */
static void check_errmem(ik_lua_t *rt, int rc, bool outermost) {
  if (rc != LUA_ERRMEM) return;
  if (outermost && ik__limits_failed(rt, rt->current)) return;
  ik_log(IK_LOG_ERROR, "lua", "out of memory in Lua", NULL);
  abort();
}

/* First line of a (possibly multi-line) message, for err->msg. */
static int set_err(ik_err_t *err, int code, const char *msg) {
  size_t n = strcspn(msg, "\n");
  return ik_err_set(err, code, "%.*s", (int)n, msg);
}

int ik__lua_pcall(ik_lua_t *rt, lua_State *L, int nargs, int nresults, ik_err_t *err) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, l_traceback);
  lua_insert(L, base);
  enter(rt, L);
  int rc = lua_pcall(L, nargs, nresults, base);
  bool outermost = rt->depth == 1;
  ik_kill_t why = leave(rt, L);
  lua_remove(L, base);
  if (rc == 0) return 0;
  check_errmem(rt, rc, outermost);
  if (outermost && rc != LUA_ERRMEM) ik__limits_failed(rt, rt->current);
  const char *msg = lua_tostring(L, -1);
  if (msg == NULL) msg = "(non-string error)";
  if (rc == LUA_ERRMEM) {
    lua_pop(L, 1);
    msg = lua_pushfstring(L, "sandbox: Lua code from a spec or template ran out of its memory budget "
                             "(limit set by --sandbox-memory)");
  }
  return set_err(err, kill_code(why, msg), msg);
}

int ik__lua_resume(ik_lua_t *rt, lua_State *co, int nargs, ik_err_t *err) {
  enter(rt, co);
  int rc = lua_resume(co, nargs);
  ik_kill_t why = leave(rt, co);
  if (rc == 0 || rc == LUA_YIELD) return rc;
  check_errmem(rt, rc, true);
  if (rc != LUA_ERRMEM) ik__limits_failed(rt, rt->current);
  /* The dead coroutine keeps its stack: walk it for the traceback. Its
   * error object may have a __tostring: run it with the watchdog armed. */
  const char *msg;
  if (rc == LUA_ERRMEM) {
    lua_pushliteral(rt->L, "sandbox: Lua code from a spec or template ran out of its memory "
                           "budget (limit set by --sandbox-memory)");
    msg = lua_tostring(rt->L, -1);
  } else {
    ik__watchdog_arm(rt->L, rt->timeout, IK_KILL_TIMEOUT);
    rt->depth++;
    msg = push_error_text(rt->L, co);
    rt->depth--;
    ik__watchdog_disarm(rt->L);
  }
  int code = kill_code(why, msg);
  set_err(err, code, msg);
  luaL_traceback(rt->L, co, msg, 0); /* left on rt->L for the caller to pop */
  lua_remove(rt->L, -2);             /* the text */
  return code;
}
