/* The Lua state: creation, module paths, registry references, and the
 * entry points that start tasks. See runtime.h for the contract. */
#include <errno.h>
#include <limits.h>
#include <luajit.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "lua/embedded.h"
#include "lua/internal.h"
#include "net/client/http_client.h"
#include "net/registry.h"

/* lua-cjson, linked statically (Debian lua-cjson-dev). */
int luaopen_cjson(lua_State *L);

#ifndef IK_LUA_MULTIARCH
#define IK_LUA_MULTIARCH "x86_64-linux-gnu"
#endif
#ifndef IK_PREFIX
#define IK_PREFIX "/usr/local"
#endif

#define IK_DEFAULT_TIMEOUT 30.0

static char rt_key; /* address used as the registry key of the runtime */

ik_lua_t *ik__rt(lua_State *L) {
  lua_pushlightuserdata(L, &rt_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  ik_lua_t *rt = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return rt;
}

int ik__ref(ik_lua_t *rt, lua_State *L) {
  rt->refs++;
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

void ik__unref(ik_lua_t *rt, lua_State *L, int ref) {
  if (ref == LUA_NOREF || ref == LUA_REFNIL) return;
  rt->refs--;
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
}

int ik_lua_refs(const ik_lua_t *rt) { return rt->refs; }

size_t ik_lua_collect(ik_lua_t *rt) {
  lua_gc(rt->L, LUA_GCCOLLECT, 0);
  malloc_trim(0);
  return (size_t)lua_gc(rt->L, LUA_GCCOUNT, 0);
}

size_t ik_lua_memory_bytes(const ik_lua_t *rt) {
  return (size_t)lua_gc(rt->L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(rt->L, LUA_GCCOUNTB, 0);
}

int ik__push_fail(lua_State *L, int code, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushstring(L, ik_err_name(code));
  return 3;
}

void ik__new_class(lua_State *L, const char *mt, const luaL_Reg *methods, lua_CFunction gc, lua_CFunction tostring) {
  luaL_newmetatable(L, mt);
  lua_newtable(L);
  luaL_register(L, NULL, methods);
  lua_setfield(L, -2, "__index");
  if (gc) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
  }
  if (tostring) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

int ik_lua_parse_timeout(const char *s, double *out, ik_err_t *err) {
  char *end = NULL;
  errno = 0;
  double v = s ? strtod(s, &end) : 0;
  if (s == NULL || *s == '\0' || end == s || *end != '\0' || errno != 0 || !isfinite(v) || v <= 0)
    return ik_err_set(err, IK_EINVAL, "Lua timeout \"%s\": want a number of seconds > 0", s ? s : "");
  *out = v;
  return 0;
}

int ik__random_bytes(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    len -= (size_t)n;
  }
  if (len == 0) return 0;
  /* No getrandom (an old kernel, a seccomp filter): the same source. */
  FILE *f = fopen("/dev/urandom", "rb");
  size_t got = f ? fread(p, 1, len, f) : 0;
  if (f) fclose(f);
  return got == len ? 0 : IK_EIO;
}

/* Seed math.random from the kernel, so every state (each daemon, each
 * restart, each `infrakit lua`) draws its own sequence: IDs a provider makes
 * with math.random do not repeat across restarts. LuaJIT seeds from a
 * double; 53 random bits keep every seed distinct. When the kernel has no
 * randomness to give, the clock and the pid still differ. */
static void seed_random(lua_State *L) {
  uint64_t bits = 0;
  if (ik__random_bytes(&bits, sizeof bits) < 0)
    bits = (uint64_t)(ik_loop_walltime() * 1e6) ^ ((uint64_t)getpid() << 40);
  lua_getglobal(L, "math");
  lua_getfield(L, -1, "randomseed");
  lua_pushnumber(L, (double)(bits >> 11));
  lua_call(L, 1, 0);
  lua_pop(L, 1);
}

/* The Lua half of infrakit (every file under lua/infrakit/) and the built-in playbooks
 * are compiled into the binary (embedded.h), so a copied binary needs
 * nothing on disk. Module lookup, first match wins:
 *   1. package.preload (infrakit._core, cjson);
 *   2. only when a source directory is given (INFRAKIT_LUA_DIR or
 *      opts->lua_dir: a checkout's lua/, to try edits without rebuilding):
 *      package.path, that directory first, then LUA_PATH and the system
 *      Lua directories;
 *   3. the embedded bytecode;
 *   4. otherwise package.path: LUA_PATH, then the system Lua directories
 *      (busted, luacheck, ...), which cannot shadow the embedded modules.
 * The embedded copy is loaded one module at a time, at require: start-up
 * does not pay for modules a command never uses. */
static char *find_lua_dir(void) {
  const char *env = getenv("INFRAKIT_LUA_DIR");
  return env && *env ? ik_strdup(env) : NULL;
}

int ik__load_embedded(lua_State *L, const char *name) {
  const ik_lua_embedded_t *e = ik_lua_embedded_find(name);
  if (e == NULL || strncmp(name, "ui/", 3) == 0) return 0; /* ui/: files, not chunks */
  if (luaL_loadbuffer(L, (const char *)e->code, e->len, name) != 0) lua_error(L);
  return 1;
}

/* package.loaders entry for the embedded modules (Lua 5.1 searcher:
 * returns the loader, or a string saying where it looked). */
static int l_embedded_searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (ik__load_embedded(L, name)) return 1;
  lua_pushfstring(L, "\n\tno module '%s' embedded in the binary", name);
  return 1;
}

/* table.insert(package.loaders, pos, l_embedded_searcher); package on top. */
static void add_searcher(lua_State *L, int pos) {
  lua_getfield(L, -1, "loaders");
  int n = (int)lua_objlen(L, -1);
  for (int i = n; i >= pos; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, l_embedded_searcher);
  lua_rawseti(L, -2, pos);
  lua_pop(L, 1);
}

static void set_paths(lua_State *L, const char *lua_dir) {
  ik_buf_t path = {0}, cpath = {0};
  if (lua_dir) ik_buf_printf(&path, "%s/?.lua;%s/?/init.lua;", lua_dir, lua_dir);
  const char *user = getenv("LUA_PATH");
  if (user && *user) ik_buf_printf(&path, "%s;", user);
  ik_buf_puts(&path, "/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;"
                     "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua");
  const char *cuser = getenv("LUA_CPATH");
  if (cuser && *cuser) ik_buf_printf(&cpath, "%s;", cuser);
  ik_buf_puts(&cpath, "/usr/local/lib/lua/5.1/?.so;/usr/lib/" IK_LUA_MULTIARCH "/lua/5.1/?.so;"
                      "/usr/lib/lua/5.1/?.so");
  lua_getglobal(L, "package");
  lua_pushstring(L, ik_buf_cstr(&path));
  lua_setfield(L, -2, "path");
  lua_pushstring(L, ik_buf_cstr(&cpath));
  lua_setfield(L, -2, "cpath");
  /* loaders: 1 preload, 2 package.path, 3 cpath, 4 all-in-one. With a
   * source directory, package.path (which starts with it) goes first. */
  add_searcher(L, lua_dir ? 3 : 2);
  /* Built-in C modules: found even when no .so is installed. */
  static const luaL_Reg builtin[] = {
      {"cjson", luaopen_cjson},
      {"infrakit._core", ik__open_core},
      {"infrakit._json", ik__open_json},
      {"infrakit._codec", ik__open_codec},
      {"infrakit._yaml", ik__open_yaml},
      {NULL, NULL},
  };
  lua_getfield(L, -1, "preload");
  for (const luaL_Reg *m = builtin; m->name; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 2);
  if (lua_dir) {
    lua_pushstring(L, lua_dir);
    lua_setfield(L, LUA_REGISTRYINDEX, "infrakit.lua_dir");
  }
  ik_buf_free(&path);
  ik_buf_free(&cpath);
}

int ik_lua_new(ik_loop_t *loop, const ik_lua_opts_t *opts, ik_lua_t **out, ik_err_t *err) {
  double timeout = opts && opts->timeout > 0 ? opts->timeout : 0;
  if (timeout == 0) {
    const char *env = getenv("INFRAKIT_LUA_TIMEOUT");
    if (env && *env) {
      ik_err_t perr = {0};
      int rc = ik_lua_parse_timeout(env, &timeout, &perr);
      if (rc < 0) return ik_err_set(err, rc, "INFRAKIT_LUA_TIMEOUT: %s", perr.msg);
    } else {
      timeout = IK_DEFAULT_TIMEOUT;
    }
  }
  int rc = ik__watchdog_acquire(err);
  if (rc < 0) return rc;

  lua_State *L = luaL_newstate();
  if (L == NULL) {
    ik__watchdog_release();
    return ik_err_set(err, IK_ESTATE, "cannot create the Lua state");
  }
  ik_lua_t *rt = IK_NEW(ik_lua_t);
  rt->L = L;
  rt->loop = loop;
  rt->timeout = timeout;
  lua_pushlightuserdata(L, &rt_key);
  lua_pushlightuserdata(L, rt);
  lua_rawset(L, LUA_REGISTRYINDEX);
  luaL_openlibs(L);
  ik__limits_init(rt);
  if (opts) ik_lua_set_sandbox_limits(rt, opts->sandbox_timeout, opts->sandbox_memory);
  seed_random(L);
  /* Collect when the heap reaches 4x its size after the last collection
   * (Lua's default is 2x). Plugin calls make short-lived tables; with the
   * default, collecting took about a tenth of a flavor call. The heap of
   * a daemon is a few MiB, so the peak stays small. */
  lua_gc(L, LUA_GCSETPAUSE, 400);
  char *dir = opts && opts->lua_dir ? ik_strdup(opts->lua_dir) : find_lua_dir();
  set_paths(L, dir);
  ik_free(dir);
  ik__tasks_init(rt);
  *out = rt;
  return 0;
}

static void rt_closed(uv_handle_t *h) { ik_free(h->data); }

void ik_lua_free(ik_lua_t *rt) {
  if (rt == NULL) return;
  rt->closing = true;
  ik__tasks_close(rt);
  lua_close(rt->L); /* plugin handles free their adapters: the client is still there */
  rt->L = NULL;
  if (rt->own_registry) ik_registry_free(rt->registry);
  rt->registry = NULL;
  ik_http_client_free(rt->http); /* after the tasks: their calls are cancelled */
  ik__watchdog_release();
  if (rt->idle_on) uv_idle_stop(&rt->ready_idle);
  uv_close((uv_handle_t *)&rt->ready_idle, rt_closed);
}

void ik_lua_set_args(ik_lua_t *rt, const char *script, int argc, char **argv) {
  lua_State *L = rt->L;
  lua_createtable(L, argc, 1);
  lua_pushstring(L, script ? script : "");
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, "arg");
}

static int start_loaded(ik_lua_t *rt, int argc, char **argv, ik_task_done_cb cb, void *data,
                        ik_task_t **out) {
  lua_State *L = rt->L;
  luaL_checkstack(L, argc + 2, "too many arguments");
  for (int i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
  ik_task_t *t = ik__task_spawn(rt, L, argc, cb, data);
  if (out) *out = t;
  return 0;
}

int ik_lua_start_file(ik_lua_t *rt, const char *path, int argc, char **argv, ik_task_done_cb cb,
                      void *data, ik_task_t **out, ik_err_t *err) {
  lua_State *L = rt->L;
  if (luaL_loadfile(L, path) != 0) {
    ik_err_set(err, IK_ELUA, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return IK_ELUA;
  }
  return start_loaded(rt, argc, argv, cb, data, out);
}

int ik_lua_start_string(ik_lua_t *rt, const char *code, const char *name, int argc, char **argv,
                        ik_task_done_cb cb, void *data, ik_task_t **out, ik_err_t *err) {
  lua_State *L = rt->L;
  if (luaL_loadbuffer(L, code, strlen(code), name) != 0) {
    ik_err_set(err, IK_ELUA, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return IK_ELUA;
  }
  return start_loaded(rt, argc, argv, cb, data, out);
}

int ik_lua_dostring(ik_lua_t *rt, const char *code, const char *name, ik_err_t *err) {
  lua_State *L = rt->L;
  int top = lua_gettop(L);
  if (luaL_loadbuffer(L, code, strlen(code), name) != 0) {
    ik_err_set(err, IK_ELUA, "%s", lua_tostring(L, -1));
    lua_settop(L, top);
    return IK_ELUA;
  }
  int rc = ik__lua_pcall(rt, L, 0, 0, err);
  if (rc < 0)
    ik_log(IK_LOG_DEBUG, "lua", "chunk failed", "chunk", name, "traceback", lua_tostring(L, -1), NULL);
  lua_settop(L, top);
  return rc;
}

const char *ik_lua_version(void) { return LUAJIT_VERSION; }

double ik_lua_timeout(const ik_lua_t *rt) { return rt->timeout; }
void ik_lua_set_timeout(ik_lua_t *rt, double seconds) {
  if (seconds > 0) rt->timeout = seconds;
}
