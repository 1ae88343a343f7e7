/* infrakit._yaml: LibYAML's parser for infrakit.yaml's decoder. yaml.v2,
 * the decoder InfraKit uses, is a Go port of LibYAML, so reading with
 * LibYAML gives the same syntax and the same messages; what a scalar
 * means (yaml.v2's YAML 1.1 resolution) stays in lua/infrakit/yaml.lua.
 *
 *   events(text) -> list of events, or nil, "yaml: line N: message"
 *
 * An event is a table {kind = "doc" | "enddoc" | "map" | "seq" | "end" |
 * "scalar" | "alias", line = N (1-based), value = s (scalar), plain = bool
 * (scalar: unquoted, not a block scalar), tag = s or nil (scalar),
 * anchor = s or nil}. Stream events are left out. Pure; nothing yields. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "lua/internal.h"

/* The message yaml.v2 gives for a parser error: the problem's line as
 * yaml.v2 counts it (a scanner error's mark is one line early there),
 * else the context's line, else none. */
static void push_error(lua_State *L, const yaml_parser_t *p) {
  size_t line = 0;
  if (p->problem_mark.line != 0) {
    line = p->problem_mark.line;
    if (p->error == YAML_SCANNER_ERROR) line++;
  } else if (p->context_mark.line != 0) {
    line = p->context_mark.line;
  }
  const char *problem = p->problem ? p->problem : "unknown error";
  if (line != 0) lua_pushfstring(L, "yaml: line %d: %s", (int)line, problem);
  else lua_pushfstring(L, "yaml: %s", problem);
}

static void set_string(lua_State *L, const char *field, const yaml_char_t *s) {
  if (s == NULL) return;
  lua_pushstring(L, (const char *)s);
  lua_setfield(L, -2, field);
}

/* Push the event e as a table (see the header); 0 for a stream event,
 * which pushes nothing. */
static int push_event(lua_State *L, const yaml_event_t *e) {
  const char *kind;
  switch (e->type) {
  case YAML_DOCUMENT_START_EVENT: kind = "doc"; break;
  case YAML_DOCUMENT_END_EVENT: kind = "enddoc"; break;
  case YAML_MAPPING_START_EVENT: kind = "map"; break;
  case YAML_SEQUENCE_START_EVENT: kind = "seq"; break;
  case YAML_MAPPING_END_EVENT:
  case YAML_SEQUENCE_END_EVENT: kind = "end"; break;
  case YAML_SCALAR_EVENT: kind = "scalar"; break;
  case YAML_ALIAS_EVENT: kind = "alias"; break;
  case YAML_NO_EVENT:
  case YAML_STREAM_START_EVENT:
  case YAML_STREAM_END_EVENT: return 0;
  default: abort();
  }
  lua_createtable(L, 0, 6);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushinteger(L, (lua_Integer)e->start_mark.line + 1);
  lua_setfield(L, -2, "line");
  switch (e->type) {
  case YAML_SCALAR_EVENT:
    lua_pushlstring(L, (const char *)e->data.scalar.value, e->data.scalar.length);
    lua_setfield(L, -2, "value");
    lua_pushboolean(L, e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
    lua_setfield(L, -2, "plain");
    set_string(L, "tag", e->data.scalar.tag);
    set_string(L, "anchor", e->data.scalar.anchor);
    break;
  case YAML_MAPPING_START_EVENT: set_string(L, "anchor", e->data.mapping_start.anchor); break;
  case YAML_SEQUENCE_START_EVENT: set_string(L, "anchor", e->data.sequence_start.anchor); break;
  case YAML_ALIAS_EVENT: set_string(L, "anchor", e->data.alias.anchor); break;
  default: break;
  }
  return 1;
}

static int l_events(lua_State *L) {
  size_t n;
  const char *text = luaL_checklstring(L, 1, &n);
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) return luaL_error(L, "yaml: out of memory");
  yaml_parser_set_input_string(&p, (const unsigned char *)text, n);
  lua_newtable(L);
  int count = 0;
  for (;;) {
    yaml_event_t e;
    if (!yaml_parser_parse(&p, &e)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      push_error(L, &p);
      yaml_parser_delete(&p);
      return 2;
    }
    bool end = e.type == YAML_STREAM_END_EVENT;
    luaL_checkstack(L, 4, "yaml events");
    if (push_event(L, &e)) lua_rawseti(L, -2, ++count);
    yaml_event_delete(&e);
    if (end) break;
  }
  yaml_parser_delete(&p);
  return 1;
}

int ik__open_yaml(lua_State *L) {
  static const luaL_Reg fns[] = {{"events", l_events}, {NULL, NULL}};
  lua_newtable(L);
  luaL_register(L, NULL, fns);
  return 1;
}
