/* Compiling Lua without running it (runtime.h ik_lua_compile_check):
 * what a daemon can tell about a scaling policy at commit, before any
 * evaluation runs it in the sandbox. Text only, as the sandbox loads it
 * (infrakit._sandbox.load refuses bytecode). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lua/internal.h"

int ik_lua_compile_check(ik_lua_t *rt, const char *code, size_t len, const char *name, ik_err_t *err) {
  lua_State *L = rt->L;
  int top = lua_gettop(L);
  int rc = 0;
  if (luaL_loadbufferx(L, code, len, name, "t") != 0) rc = ik_err_set(err, IK_ELUA, "%s", lua_tostring(L, -1));
  lua_settop(L, top);
  return rc;
}

int ik_lua_compile_file_check(ik_lua_t *rt, const char *path, ik_err_t *err) {
  if (access(path, R_OK) != 0) return ik_err_set(err, IK_ENOTFOUND, "cannot read %s: %s", path, strerror(errno));
  lua_State *L = rt->L;
  int top = lua_gettop(L);
  int rc = 0;
  if (luaL_loadfilex(L, path, "t") != 0) rc = ik_err_set(err, IK_ELUA, "%s", lua_tostring(L, -1));
  lua_settop(L, top);
  return rc;
}
