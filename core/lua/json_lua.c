/* JSON values across the C/Lua boundary, without text in between: jansson
 * values to Lua tables and back, with lua-cjson's conventions so Lua code
 * sees the same values infrakit.json.decode gives it.
 *
 *   null    <->  infrakit.json.null (cjson.null: a NULL light userdata)
 *   object  <->  table with string keys
 *   array   <->  table 1..n, carrying the metatable infrakit.json.array_mt
 *                (so an empty array stays an array on the way back)
 *   number  <->  number (integral values within ±2^53 become JSON integers)
 *
 * Lua to JSON refuses what JSON cannot hold, naming the place: functions,
 * userdata, sparse or mixed tables, NaN, invalid UTF-8, cycles. An empty
 * table without array_mt is an empty object. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"
#include "lua/internal.h"

#define IK_JSON_MAX_DEPTH 128
#define IK_ARRAY_MT "infrakit.json.array_mt"

/* Push the array metatable: the one table marking a Lua table as a JSON
 * array, created here on first use and handed to Lua as
 * infrakit._json.array_mt (public as infrakit.json.array_mt). */
static void push_array_mt(lua_State *L) {
  luaL_newmetatable(L, IK_ARRAY_MT); /* returns the existing one if any */
}

void ik__push_json(lua_State *L, const json_t *v) {
  luaL_checkstack(L, 4, "JSON nested too deeply");
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    lua_createtable(L, 0, (int)json_object_size(v));
    const char *k;
    size_t klen;
    json_t *e;
    json_object_keylen_foreach((json_t *)(uintptr_t)v, k, klen, e) {
      lua_pushlstring(L, k, klen);
      ik__push_json(L, e);
      lua_rawset(L, -3);
    }
    break;
  }
  case JSON_ARRAY: {
    size_t n = json_array_size(v);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
      ik__push_json(L, json_array_get(v, i));
      lua_rawseti(L, -2, (int)i + 1);
    }
    push_array_mt(L);
    lua_setmetatable(L, -2);
    break;
  }
  case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
  case JSON_INTEGER: lua_pushnumber(L, (lua_Number)json_integer_value(v)); break;
  case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
  case JSON_TRUE: lua_pushboolean(L, 1); break;
  case JSON_FALSE: lua_pushboolean(L, 0); break;
  case JSON_NULL: lua_pushlightuserdata(L, NULL); break;
  }
}

typedef struct conv {
  lua_State *L;
  ik_err_t *err;
  char path[256]; /* where we are: "result.Tags.x" */
} conv_t;

static json_t *to_json(conv_t *c, int idx, int depth);

/* Append ".key" or "[i]" to the path; returns the old length to restore.
 * Runs for every value converted, so no printf. */
static size_t path_push(conv_t *c, const char *key, long index) {
  size_t len = strlen(c->path), room = sizeof c->path - len - 1;
  char *p = c->path + len;
  if (key) {
    size_t k = strlen(key);
    if (k + 1 > room) k = room > 0 ? room - 1 : 0;
    if (room > 0) {
      *p++ = '.';
      memcpy(p, key, k);
      p[k] = '\0';
    }
  } else {
    char digits[24];
    int n = 0;
    do digits[n++] = (char)('0' + index % 10);
    while ((index /= 10) > 0);
    if ((size_t)n + 2 <= room) {
      *p++ = '[';
      while (n > 0) *p++ = digits[--n];
      *p++ = ']';
      *p = '\0';
    }
  }
  return len;
}

static json_t *table_to_json(conv_t *c, int idx, int depth) {
  lua_State *L = c->L;
  if (depth > IK_JSON_MAX_DEPTH) {
    ik_err_set(c->err, IK_EINVAL, "%s: nested too deeply (a cycle?)", c->path);
    return NULL;
  }
  bool is_array = false;
  if (lua_getmetatable(L, idx)) {
    push_array_mt(L);
    is_array = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  /* Count keys: all positive integers 1..n makes a list. */
  size_t nkeys = 0, max_index = 0;
  bool all_int = true;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    nkeys++;
    if (lua_type(L, -2) == LUA_TNUMBER) {
      lua_Number k = lua_tonumber(L, -2);
      if (k >= 1 && k == floor(k) && k < 1e9) {
        if ((size_t)k > max_index) max_index = (size_t)k;
      } else {
        all_int = false;
      }
    } else {
      all_int = false;
    }
    lua_pop(L, 1);
  }
  if (nkeys > 0 && all_int) {
    if (max_index != nkeys) {
      ik_err_set(c->err, IK_EINVAL, "%s: a list with holes (indexes up to %zu, %zu values)", c->path, max_index, nkeys);
      return NULL;
    }
    is_array = true;
  } else if (nkeys > 0 && is_array) {
    ik_err_set(c->err, IK_EINVAL, "%s: a list with non-integer keys", c->path);
    return NULL;
  }
  if (is_array) {
    json_t *arr = json_array();
    for (size_t i = 1; i <= nkeys; i++) {
      lua_rawgeti(L, idx, (int)i);
      size_t mark = path_push(c, NULL, (long)i);
      json_t *e = to_json(c, lua_gettop(L), depth + 1);
      c->path[mark] = '\0';
      lua_pop(L, 1);
      if (e == NULL) {
        json_decref(arr);
        return NULL;
      }
      json_array_append_new(arr, e);
    }
    return arr;
  }
  json_t *obj = json_object();
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      ik_err_set(c->err, IK_EINVAL, "%s: a table mixing list items and %s keys (JSON objects need string keys)",
                 c->path, luaL_typename(L, -2));
      lua_pop(L, 2);
      json_decref(obj);
      return NULL;
    }
    size_t klen;
    const char *k = lua_tolstring(L, -2, &klen);
    size_t mark = path_push(c, k, 0);
    json_t *e = to_json(c, lua_gettop(L), depth + 1);
    c->path[mark] = '\0';
    lua_pop(L, 1);
    if (e == NULL || json_object_setn_new(obj, k, klen, e) < 0) {
      if (e != NULL) ik_err_set(c->err, IK_EINVAL, "%s: key \"%.40s\" is not valid UTF-8", c->path, k);
      lua_pop(L, 1);
      json_decref(obj);
      return NULL;
    }
  }
  return obj;
}

static json_t *to_json(conv_t *c, int idx, int depth) {
  lua_State *L = c->L;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: return json_null();
  case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
  case LUA_TNUMBER: {
    lua_Number n = lua_tonumber(L, idx);
    if (!isfinite(n)) {
      ik_err_set(c->err, IK_EINVAL, "%s: %g is not a JSON number", c->path, n);
      return NULL;
    }
    if (n == floor(n) && fabs(n) <= 9007199254740992.0) return json_integer((json_int_t)n);
    return json_real(n);
  }
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    json_t *v = json_stringn(s, len);
    if (v == NULL) ik_err_set(c->err, IK_EINVAL, "%s: the string is not valid UTF-8", c->path);
    return v;
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) return json_null();
    break;
  case LUA_TTABLE: return table_to_json(c, idx, depth);
  default: break;
  }
  ik_err_set(c->err, IK_EINVAL, "%s: a %s cannot be JSON", c->path, luaL_typename(L, idx));
  return NULL;
}

json_t *ik__to_json(lua_State *L, int idx, const char *what, ik_err_t *err) {
  conv_t c = {.L = L, .err = err};
  size_t n = strlen(what);
  if (n >= sizeof c.path) n = sizeof c.path - 1;
  memcpy(c.path, what, n);
  c.path[n] = '\0';
  luaL_checkstack(L, IK_JSON_MAX_DEPTH * 2 + 8, "JSON conversion");
  return to_json(&c, idx < 0 ? lua_gettop(L) + idx + 1 : idx, 0);
}

/* --- infrakit._json: base/json's Go rules and the array metatable for Lua ------------------------------ */

/* Push what buf holds as a Lua string and free buf. */
static int push_buf(lua_State *L, ik_buf_t *b) {
  lua_pushlstring(L, ik_buf_cstr(b), b->len);
  ik_buf_free(b);
  return 1;
}

/* go_quote(s): s as a Go JSON string literal (ik_json_format_string). */
static int l_go_quote(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ik_buf_t b;
  ik_buf_init(&b);
  ik_json_format_string(&b, s, n);
  return push_buf(L, &b);
}

/* go_number(x): the finite number x as Go's encoder writes a float64
 * (ik_json_format_float). NaN and infinities are misuse: Go refuses them. */
static int l_go_number(lua_State *L) {
  double x = luaL_checknumber(L, 1);
  if (!isfinite(x)) return luaL_argerror(L, 1, "not a finite number");
  ik_buf_t b;
  ik_buf_init(&b);
  ik_json_format_float(&b, x);
  return push_buf(L, &b);
}

int ik__open_json(lua_State *L) {
  static const luaL_Reg fns[] = {{"go_quote", l_go_quote}, {"go_number", l_go_number}, {NULL, NULL}};
  lua_newtable(L);
  luaL_register(L, NULL, fns);
  push_array_mt(L);
  lua_setfield(L, -2, "array_mt");
  return 1;
}
