/* libFuzzer target: the template engine (lua/infrakit/template/, InfraKit's
 * Go text/template dialect): lexer, parser, compiler to Lua, runtime and
 * the template functions, parsing and rendering a template from bytes.
 *
 * The engine is Lua: the target runs it in a LuaJIT state of its own
 * (build/luajit, the interpreter only, so runs are reproducible) with the
 * modules embedded in the binary ($(BUILD)/gen/ik_embedded.c, bytecode)
 * lua-cjson (infrakit.json uses it), infrakit._json (Go's JSON rules,
 * core/lua/json_lua.c), infrakit._codec (base64, SHA-256 from libcrypto,
 * core/lua/bind_codec.c) and infrakit._yaml (LibYAML, core/lua/bind_yaml.c),
 * and nothing else of the runtime: no loop, no `infrakit` module. Renders
 * run under an access policy that allows nothing (no environment
 * variables, no files, no network: infrakit.template.access, as in a
 * daemon with no --template-* flags), so `env`, `include "file:///..."`,
 * `fetch "http://..."` exercise the refusals and never touch the machine;
 * `str://` includes work.
 *
 * The input is the template text, rendered with a fixed context (maps,
 * lists, numbers, null). The first byte's low bit picks missing_key
 * ("default" or "error"); the rest is the text.
 *
 * Coverage: see budget_hook (Lua calls fed to libFuzzer's extra counters).
 *
 * Bounds, so that a template that loops or allocates without end is a
 * refused render rather than a hang or an OOM: a budget of VM instructions
 * per input (a count hook) and of memory (the state's allocator refuses
 * past the budget: LuaJIT raises "not enough memory"). Both surface as Lua
 * errors that the engine may catch or pass on; either is fine.
 *
 * Oracles besides the sanitizers: parse and render never raise for any
 * text (a bad template is nil, message, code — raising is a bug), except
 * for the two budgets; a failure's message is a non-empty string and its
 * code one of the documented ones; a success is a string.
 *
 * IK_FUZZ_TRACE=1 prints each input's result to stderr. */
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/embedded.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int luaopen_cjson(lua_State *l);  /* lua-cjson, linked statically as in the binary */
int ik__open_json(lua_State *l);  /* infrakit._json (core/lua/json_lua.c) */
int ik__open_codec(lua_State *l); /* infrakit._codec (core/lua/bind_codec.c) */
int ik__open_yaml(lua_State *l);  /* infrakit._yaml (core/lua/bind_yaml.c) */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_BUDGET (64u << 20) /* bytes the state may hold */
#define STEP 1000              /* instructions between hook calls */
#define INSN_BUDGET 2000       /* hook calls per input: 2 M instructions */
#define BUDGET_MARK "fuzz budget exceeded"

static lua_State *L;
static size_t used;    /* bytes held by the state */
static unsigned ticks; /* hook calls in this input */
static bool trace;
static int run_ref; /* the driver's function */

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_template: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

/* lua_Alloc with a budget: NULL (LuaJIT raises "not enough memory") past
 * MEM_BUDGET. */
static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (nsize == 0) {
    free(ptr);
    used -= osize;
    return NULL;
  }
  size_t old = ptr ? osize : 0;
  if (nsize > old && used - old + nsize > MEM_BUDGET) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) used = used - old + nsize;
  return p;
}

/* Lua-level coverage for libFuzzer. The engine is Lua, which the
 * compiler's instrumentation does not see (a few dozen C edges in all), so
 * a call hook feeds libFuzzer's extra counters with the edges between
 * consecutive calls of functions of the engine's own modules (chunk names
 * "@lua/...", a function known by its chunk and first line), AFL-style:
 * counter[(prev >> 1) ^ cur]. Functions compiled from each template are
 * left out: they differ per input. (A line hook sees more but makes each
 * run ~50 times slower in LuaJIT's interpreter; calls cost ~2 times.) */
#define NCOUNTERS (1u << 16)
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t lua_counters[NCOUNTERS];
static uintptr_t prev_loc;

static void budget_hook(lua_State *l, lua_Debug *ar) {
  if (ar->event == LUA_HOOKCOUNT) {
    if (++ticks > INSN_BUDGET) luaL_error(l, BUDGET_MARK);
    return;
  }
  if (lua_getinfo(l, "S", ar) == 0 || ar->source == NULL || ar->source[0] != '@') return;
  uintptr_t loc = ((uintptr_t)ar->source * 2654435761u) ^ ((uintptr_t)ar->linedefined * 40503u);
  loc &= NCOUNTERS - 1;
  uint8_t *c = &lua_counters[(prev_loc >> 1) ^ loc];
  if (*c < 255) (*c)++;
  prev_loc = loc;
}

/* package.loaders entry: the embedded modules only. */
static int embedded_searcher(lua_State *l) {
  const char *name = luaL_checkstring(l, 1);
  const ik_lua_embedded_t *e = ik_lua_embedded_find(name);
  if (e == NULL) {
    lua_pushfstring(l, "\n\tno module '%s' embedded", name);
    return 1;
  }
  if (luaL_loadbuffer(l, (const char *)e->code, e->len, name) != 0) lua_error(l);
  return 1;
}

/* The driver: returns run(text, strict) -> "ok" | "err" | raises. */
static const char driver[] =
    "local searcher, cjson, gojson, codec, yaml = ...\n"
    "package.path, package.cpath = '', ''\n"
    "package.preload.cjson = cjson\n"
    "package.preload['infrakit._json'] = gojson\n"
    "package.preload['infrakit._codec'] = codec\n"
    "package.preload['infrakit._yaml'] = yaml\n"
    "table.insert(package.loaders, 2, searcher)\n"
    "local template = require 'infrakit.template'\n"
    "local access = require 'infrakit.template.access'\n"
    "access.configure({})\n"
    "local null, list = template.null, template.list\n"
    "local ctx = { Name = 'web', Size = 3, Ratio = 0.5, On = true, Null = null,\n"
    "  List = list({ 1, 'two', { a = 1 } }), Empty = list({}),\n"
    "  Map = { a = 'x', b = { c = true, d = list({ 'p', 'q' }) }, ['k-1'] = 2 } }\n"
    "local CODES = { EINVAL = true, EACCES = true, ENOENT = true, ENOTSUP = true }\n"
    "local quiet = function() end\n"
    "return function(text, strict)\n"
    "  local opts = { missing_key = strict and 'error' or nil, stderr = quiet }\n"
    "  local t, err, code = template.parse(text, opts)\n"
    "  if t == nil then\n"
    "    assert(type(err) == 'string' and err ~= '', 'parse failed without a message')\n"
    "    assert(CODES[code], 'parse failed with code ' .. tostring(code))\n"
    "    return 'err', err\n"
    "  end\n"
    "  local out\n"
    "  out, err, code = t:render(ctx, opts)\n"
    "  if out == nil then\n"
    "    assert(type(err) == 'string' and err ~= '', 'render failed without a message')\n"
    "    assert(CODES[code], 'render failed with code ' .. tostring(code) .. ': ' .. err)\n"
    "    return 'err', err\n"
    "  end\n"
    "  assert(type(out) == 'string', 'render gave a ' .. type(out))\n"
    "  return 'ok', out\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  trace = getenv("IK_FUZZ_TRACE") != NULL;
  L = lua_newstate(budget_alloc, NULL);
  if (L == NULL) die("lua_newstate failed", NULL);
  luaL_openlibs(L);
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  if (luaL_loadbuffer(L, driver, sizeof driver - 1, "=fuzz_template") != 0) die("driver", lua_tostring(L, -1));
  lua_pushcfunction(L, embedded_searcher);
  lua_pushcfunction(L, luaopen_cjson);
  lua_pushcfunction(L, ik__open_json);
  lua_pushcfunction(L, ik__open_codec);
  lua_pushcfunction(L, ik__open_yaml);
  if (lua_pcall(L, 5, 1, 0) != 0) die("driver", lua_tostring(L, -1));
  run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static unsigned inputs;
  if (size == 0) return 0;
  bool strict = data[0] & 1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, run_ref);
  lua_pushlstring(L, (const char *)data + 1, size - 1);
  lua_pushboolean(L, strict);
  ticks = 0;
  prev_loc = 0;
  lua_sethook(L, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, STEP);
  int rc = lua_pcall(L, 2, 2, 0);
  lua_sethook(L, NULL, 0, 0);
  if (rc != 0) {
    const char *msg = lua_tostring(L, -1);
    bool budget = rc == LUA_ERRMEM || (msg && (strstr(msg, BUDGET_MARK) || strstr(msg, "not enough memory")));
    if (trace) fprintf(stderr, "raised (%s): %s\n", budget ? "budget" : "BUG", msg ? msg : "(not a string)");
    if (!budget) die("the template engine raised", msg ? msg : "(an error that is not a string)");
    lua_pop(L, 1);
  } else {
    if (trace) fprintf(stderr, "%s: %.300s\n", lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 2);
  }
  if (lua_gettop(L) != 0) die("stack not balanced", NULL);
  if (++inputs % 64 == 0 || used > MEM_BUDGET / 2) lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
