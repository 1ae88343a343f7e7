/* infrakit._core.event(group, event, fields): append an event to the
 * daemon's event log (events.jsonl) from Lua, through the sink the host
 * installed (runtime.h ik_lua_set_event_sink). The autoscaler
 * (lua/infrakit/_autoscaler.lua) reports its decisions with it. Outside
 * a daemon there is no sink and the event is dropped. */
#include "lua/internal.h"

void ik_lua_set_event_sink(ik_lua_t *rt, ik_lua_event_sink sink, void *ctx) {
  rt->event_sink = sink;
  rt->event_ctx = ctx;
}

/* event(group: string, event: string, fields: table|nil) -> true | false
 * (no sink). Bad arguments raise. */
static int l_event(lua_State *L) {
  const char *group = luaL_checkstring(L, 1);
  const char *event = luaL_checkstring(L, 2);
  json_t *fields = NULL;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    ik_err_t err = {0};
    fields = ik__to_json(L, 3, "fields", &err);
    if (fields == NULL) return luaL_error(L, "infrakit._core.event: %s", err.msg);
    if (!json_is_object(fields)) {
      json_decref(fields);
      return luaL_error(L, "infrakit._core.event: fields must be a table of names");
    }
  }
  ik_lua_t *rt = ik__rt(L);
  if (rt->event_sink == NULL) {
    json_decref(fields);
    lua_pushboolean(L, 0);
    return 1;
  }
  rt->event_sink(rt->event_ctx, group, event, fields);
  lua_pushboolean(L, 1);
  return 1;
}

void ik__bind_event(lua_State *L) {
  lua_pushcfunction(L, l_event);
  lua_setfield(L, -2, "event");
}
