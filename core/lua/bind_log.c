/* core.log(level, msg, fields): structured logging from Lua through the C
 * logger (same sink, same redaction). fields is a table of key = value;
 * keys are sorted so lines are stable; values are strings, numbers or
 * booleans (other values print as their type name). */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/redact.h"
#include "lua/internal.h"

#define IK_LOG_LUA_MAX 32

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int l_log(lua_State *L) {
  const char *lv = luaL_checkstring(L, 1);
  ik_log_level_t level;
  if (ik_log_level_parse(lv, &level) != 0 || level == IK_LOG_OFF)
    return luaL_error(L, "infrakit.log: unknown level \"%s\"", lv);
  const char *msg = luaL_checkstring(L, 2);
  if (!ik_log_enabled(level)) return 0;
  const char *mod = "lua";
  const char *keys[IK_LOG_LUA_MAX];
  const char *kv[2 * IK_LOG_LUA_MAX];
  size_t n = 0;
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3) && n < IK_LOG_LUA_MAX) {
      if (lua_type(L, -2) == LUA_TSTRING) keys[n++] = lua_tostring(L, -2);
      lua_pop(L, 1);
    }
    qsort(keys, n, sizeof keys[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
      lua_getfield(L, 3, keys[i]);
      const char *v;
      switch (lua_type(L, -1)) {
      case LUA_TSTRING:
      case LUA_TNUMBER: v = lua_tostring(L, -1); break;
      case LUA_TBOOLEAN: v = lua_toboolean(L, -1) ? "true" : "false"; break;
      default: v = luaL_typename(L, -1); break;
      }
      kv[2 * i] = keys[i];
      kv[2 * i + 1] = v;
      /* Values stay on the stack until logged (converted numbers are new strings). */
    }
    lua_getfield(L, 3, "mod");
    if (lua_type(L, -1) == LUA_TSTRING) mod = lua_tostring(L, -1);
  } else if (!lua_isnoneornil(L, 3)) {
    return luaL_error(L, "infrakit.log: fields must be a table");
  }
  /* "mod" chooses the module column rather than being a field. */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(kv[2 * i], "mod") == 0) continue;
    kv[2 * m] = kv[2 * i];
    kv[2 * m + 1] = kv[2 * i + 1];
    m++;
  }
  ik_log_pairs(level, mod, msg, kv, m);
  return 0;
}

static int l_log_enabled(lua_State *L) {
  ik_log_level_t level;
  if (ik_log_level_parse(luaL_checkstring(L, 1), &level) != 0)
    return luaL_error(L, "infrakit.log: unknown level \"%s\"", lua_tostring(L, 1));
  lua_pushboolean(L, ik_log_enabled(level));
  return 1;
}

static int l_log_secret(lua_State *L) {
  ik_log_add_secret(luaL_checkstring(L, 1));
  return 0;
}

/* log_redact(text) -> text with URL credentials, secret query values and
 * registered secrets masked (base/redact.h): for what Lua prints itself. */
static int l_log_redact(lua_State *L) {
  ik_buf_t scratch = {0};
  lua_pushstring(L, ik_redact_buf(luaL_checkstring(L, 1), &scratch));
  ik_buf_free(&scratch);
  return 1;
}

/* log_secrets_of(value): register the strings under secret-named fields of
 * a spec table (base/redact.h), as the daemon does when it receives it.
 * A value that is not JSON-shaped registers nothing. */
static int l_log_secrets_of(lua_State *L) {
  ik_err_t err = {0};
  json_t *v = ik__to_json(L, 1, "spec", &err);
  ik_redact_register_json(v);
  json_decref(v);
  return 0;
}

void ik__bind_log(lua_State *L) {
  lua_pushcfunction(L, l_log);
  lua_setfield(L, -2, "log");
  lua_pushcfunction(L, l_log_enabled);
  lua_setfield(L, -2, "log_enabled");
  lua_pushcfunction(L, l_log_secret);
  lua_setfield(L, -2, "log_secret");
  lua_pushcfunction(L, l_log_redact);
  lua_setfield(L, -2, "log_redact");
  lua_pushcfunction(L, l_log_secrets_of);
  lua_setfield(L, -2, "log_secrets_of");
}
