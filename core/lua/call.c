/* The only two ways C enters Lua: a protected call and a coroutine resume.
 * Both arm the watchdog for the outermost slice, and both turn a failure
 * into a message with a traceback plus an IK_E* code. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "lua/internal.h"

/* The text of error object 1: a string or number as is, else its
 * __tostring, else its type. Run protected (a __tostring may raise). */
static int ik__describe_error(lua_State *L) {
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
static const char *ik__push_error_text(lua_State *L, lua_State *from) {
  lua_pushvalue(from, -1);
  if (from != L) lua_xmove(from, L, 1);
  lua_pushcfunction(L, ik__describe_error);
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 1, 0) != 0 || lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushliteral(L, "(error object could not be converted to a string)");
  }
  return lua_tostring(L, -1);
}

static int ik__traceback(lua_State *L) {
  const char *msg = ik__push_error_text(L, L);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static void ik__enter(ik_lua_t *rt, lua_State *L) {
  if (rt->depth++ == 0) ik__watchdog_arm(L, rt->timeout);
}

static bool ik__leave(ik_lua_t *rt, lua_State *L) {
  if (--rt->depth == 0) return ik__watchdog_disarm(L);
  return false;
}

/* First line of a (possibly multi-line) message, for err->msg. */
static int ik__set_err(ik_err_t *err, int code, const char *msg) {
  size_t n = strcspn(msg, "\n");
  return ik_err_set(err, code, "%.*s", (int)n, msg);
}

int ik__lua_pcall(ik_lua_t *rt, lua_State *L, int nargs, int nresults, ik_err_t *err) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, ik__traceback);
  lua_insert(L, base);
  ik__enter(rt, L);
  int rc = lua_pcall(L, nargs, nresults, base);
  bool fired = ik__leave(rt, L);
  lua_remove(L, base);
  if (rc == 0) return 0;
  if (rc == LUA_ERRMEM) {
    ik_log(IK_LOG_ERROR, "lua", "out of memory in Lua", NULL);
    abort();
  }
  const char *msg = lua_tostring(L, -1);
  if (msg == NULL) msg = "(non-string error)";
  int code = fired || ik__watchdog_is_timeout_message(msg) ? IK_ETIMEDOUT : IK_ELUA;
  return ik__set_err(err, code, msg);
}

int ik__lua_resume(ik_lua_t *rt, lua_State *co, int nargs, ik_err_t *err) {
  ik__enter(rt, co);
  int rc = lua_resume(co, nargs);
  bool fired = ik__leave(rt, co);
  if (rc == 0 || rc == LUA_YIELD) return rc;
  if (rc == LUA_ERRMEM) {
    ik_log(IK_LOG_ERROR, "lua", "out of memory in Lua", NULL);
    abort();
  }
  /* The dead coroutine keeps its stack: walk it for the traceback. */
  const char *msg = ik__push_error_text(rt->L, co);
  int code = fired || ik__watchdog_is_timeout_message(msg) ? IK_ETIMEDOUT : IK_ELUA;
  ik__set_err(err, code, msg);
  luaL_traceback(rt->L, co, msg, 0); /* left on rt->L for the caller to pop */
  lua_remove(rt->L, -2);             /* the text */
  return code;
}
