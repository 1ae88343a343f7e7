/* The Lua modules and built-in playbooks compiled into the binary as
 * LuaJIT bytecode, and the dashboard's files ("ui/index.html": raw bytes,
 * not bytecode; served by core/net/server/dashboard.c, never loaded as
 * Lua). The table is generated at build time by scripts/embed-lua.lua into
 * $(BUILD)/gen/ik_embedded.c, sorted by name. */
#ifndef IK_LUA_EMBEDDED_H
#define IK_LUA_EMBEDDED_H

#include <stddef.h>

typedef struct ik_lua_embedded {
  const char *name;          /* "infrakit.template._lexer", "playbooks/quickstart" */
  const unsigned char *code; /* bytecode (ui/: the file's bytes), static */
  size_t len;
} ik_lua_embedded_t;

extern const ik_lua_embedded_t ik_lua_embedded[];
extern const size_t ik_lua_embedded_count;

/* The entry named name, or NULL. Binary search; no allocation. */
const ik_lua_embedded_t *ik_lua_embedded_find(const char *name);

#endif
