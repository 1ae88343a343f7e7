/* Lookup in the embedded bytecode table (see embedded.h). */
#include <string.h>

#include "lua/embedded.h"

const ik_lua_embedded_t *ik_lua_embedded_find(const char *name) {
  size_t lo = 0, hi = ik_lua_embedded_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, ik_lua_embedded[mid].name);
    if (c == 0) return &ik_lua_embedded[mid];
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}
