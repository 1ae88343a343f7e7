/* Limits of Lua code that arrives from outside (a spec, a fetched template):
 * a memory budget, a run-time limit, and slices short enough that the loop
 * keeps serving while such code runs. The Lua half is
 * lua/infrakit/_sandbox.lua, which brackets every call into sandboxed code
 * with core.sandbox_enter() / core.sandbox_leave().
 *
 * Memory. The state's allocator (LuaJIT's own) is wrapped, counting the
 * bytes the state holds. While a sandbox runs, an allocation that would
 * take the heap past the sandbox's base plus its budget is refused: LuaJIT
 * raises LUA_ERRMEM, and the slice is killed (watchdog.c) so that nothing in
 * it runs on, whatever it catches. The budget is lifted at that moment, so
 * unwinding and reporting can allocate. A LUA_ERRMEM that ends such a slice
 * is an error of that call, not the daemon's fatal out-of-memory. LuaJIT 2.1
 * in GC64 mode (x64) accepts another allocator (lua_setallocf); wrapping
 * keeps its fast one. The count includes garbage not yet collected.
 *
 * Time. A count hook runs every IK_SB_COUNT instructions while a sandbox
 * runs. It kills the slice once the sandbox's run time (summed over its
 * slices) passes the limit, and every IK_SB_QUANTUM_NS of a slice it yields
 * the task back to the loop (LuaJIT supports yielding from a hook), which
 * resumes it on its next iteration: a looping template no longer holds the
 * loop for the whole limit. It yields only where a yield is possible (the
 * task's own coroutine, no C function below); elsewhere the limit still
 * applies. The watchdog's deadline of such a slice is brought to the
 * sandbox's remaining time, for C calls the hook cannot interrupt.
 *
 * xpcall. LuaJIT runs an error handler with hooks off when the error came
 * from a hook; a handler that loops would then run forever. The global
 * xpcall is wrapped so that the handler is not called for a killed slice. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lua/internal.h"

#define IK_SB_COUNT 1000                /* instructions between hook calls */
#define IK_SB_QUANTUM_NS 2000000u       /* ns of a sandboxed slice before it yields */
#define IK_SB_RELIEF ((size_t)64 << 20) /* a sandbox that grew the heap this much: collect */
#define IK_SB_DEFAULT_TIMEOUT 5.0
#define IK_SB_DEFAULT_MEMORY ((size_t)256 << 20)

static char pcall_key, xpcall_key; /* registry keys of the raw functions */
static ik_lua_t *hook_rt;          /* the runtime whose sandbox hook is set */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- the allocator --------------------------------------------------- */

static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  ik_lua_t *rt = ud;
  if (nsize > osize && rt->mem_limit != 0 && rt->mem_total + (nsize - osize) > rt->mem_limit) {
    char msg[200];
    snprintf(msg, sizeof msg, "sandbox: Lua code from a spec or template used more than %zu MiB "
                              "(limit set by --sandbox-memory)",
             rt->sb_memory >> 20);
    rt->mem_limit = 0; /* unwinding and reporting may allocate */
    rt->mem_tripped = true;
    ik__watchdog_kill(rt->L, IK_KILL_MEMORY, msg);
    return NULL;
  }
  void *p = rt->allocf(rt->allocd, ptr, osize, nsize);
  if (p != NULL || nsize == 0) {
    rt->mem_total = rt->mem_total - osize + nsize;
    if (rt->mem_total > rt->mem_peak) rt->mem_peak = rt->mem_total;
  }
  return p;
}

/* --- applying and lifting the limits of a sandbox --------------------- */

static bool c_frame_below(lua_State *L) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(L, level, &ar); level++) {
    if (lua_getinfo(L, "Sf", &ar) == 0) return true;
    bool c = strcmp(ar.what, "C") == 0;
    bool transparent = false;
    if (c) { /* pcall and xpcall are frames of the VM: yields pass them */
      lua_pushlightuserdata(L, &pcall_key);
      lua_rawget(L, LUA_REGISTRYINDEX);
      transparent = lua_rawequal(L, -1, -2);
      lua_pop(L, 1);
      lua_pushlightuserdata(L, &xpcall_key);
      lua_rawget(L, LUA_REGISTRYINDEX);
      transparent = transparent || lua_rawequal(L, -1, -2);
      lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the function */
    if (c && !transparent) return true;
  }
  return false;
}

/* Kill and raise if the active sandbox is past its run time. */
static void sb_check_time(lua_State *L, ik_lua_t *rt, uint64_t ran) {
  if (rt->sb_active->used_ns + ran <= (uint64_t)(rt->sb_timeout * 1e9)) return;
  char msg[200];
  snprintf(msg, sizeof msg, "sandbox: Lua code from a spec or template ran for more than %g s "
                            "(limit set by --sandbox-timeout)",
           rt->sb_timeout);
  ik__watchdog_kill(L, IK_KILL_SANDBOX_TIME, msg);
  ik__watchdog_hook(L);
}

void ik__limits_check(lua_State *L) {
  ik__watchdog_hook(L);
  ik_lua_t *rt = hook_rt;
  if (rt != NULL && rt->sb_active != NULL) sb_check_time(L, rt, mono_ns() - rt->sb_slice_ns);
}

static void sb_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  ik__watchdog_hook(L); /* killed: raise again */
  ik_lua_t *rt = hook_rt;
  if (rt == NULL || rt->sb_active == NULL) {
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  uint64_t now = mono_ns();
  uint64_t ran = now - rt->sb_slice_ns;
  sb_check_time(L, rt, ran);
  if (ran < IK_SB_QUANTUM_NS || now < rt->sb_next_yield) return;
  ik_task_t *t = rt->current;
  if (t == NULL || t->co != L || lua_status(L) != 0 || c_frame_below(L)) {
    rt->sb_next_yield = now + IK_SB_QUANTUM_NS; /* not here; ask again later */
    return;
  }
  lua_yield(L, 0); /* the scheduler resumes it on the loop's next iteration */
}

static void sb_apply(ik_lua_t *rt, ik_sb_t *sb) {
  uint64_t now = mono_ns();
  rt->sb_active = sb;
  rt->sb_slice_ns = now;
  rt->sb_next_yield = 0;
  sb->mem_base += rt->mem_total - sb->mem_paused; /* others' use meanwhile is not its */
  rt->mem_limit = sb->mem_base + rt->sb_memory;
  rt->mem_peak = rt->mem_total;
  double left = rt->sb_timeout - (double)sb->used_ns / 1e9;
  char msg[200];
  snprintf(msg, sizeof msg, "sandbox: Lua code from a spec or template ran for more than %g s "
                            "(limit set by --sandbox-timeout)",
           rt->sb_timeout);
  ik__watchdog_shorten(left > 0 ? left : 0, IK_KILL_SANDBOX_TIME, msg);
  hook_rt = rt;
  if (!ik__watchdog_killing()) lua_sethook(rt->L, sb_hook, LUA_MASKCOUNT, IK_SB_COUNT);
}

static void sb_lift(ik_lua_t *rt, ik_sb_t *sb) {
  sb->used_ns += mono_ns() - rt->sb_slice_ns;
  sb->mem_paused = rt->mem_total;
  rt->sb_active = NULL;
  rt->mem_limit = 0;
  if (!ik__watchdog_killing()) {
    lua_sethook(rt->L, NULL, 0, 0);
    ik__watchdog_restore();
  }
}

/* A sandbox that grew the heap a lot: give the memory back now (a 1 GiB
 * string.rep otherwise stays resident until the next cycle, which a 4x
 * pause puts far away). */
static void sb_relief(ik_lua_t *rt, size_t base) {
  if (rt->mem_peak < base + IK_SB_RELIEF) return;
  rt->mem_peak = 0;
  ik_lua_collect(rt);
}

static ik_sb_t *sb_of(ik_lua_t *rt, ik_task_t *t) { return t ? &t->sb : &rt->top_sb; }

void ik__limits_resume(ik_lua_t *rt, ik_task_t *t) {
  ik_sb_t *sb = sb_of(rt, t);
  rt->mem_tripped = false;
  if (sb->depth > 0) sb_apply(rt, sb);
}

void ik__limits_pause(ik_lua_t *rt, ik_task_t *t) {
  ik_sb_t *sb = sb_of(rt, t);
  if (rt->sb_active == sb) sb_lift(rt, sb);
}

bool ik__limits_failed(ik_lua_t *rt, ik_task_t *t) {
  ik_sb_t *sb = sb_of(rt, t);
  bool tripped = rt->mem_tripped;
  rt->mem_tripped = false;
  if (sb->depth > 0) {
    sb->depth = 0;
    sb_relief(rt, sb->mem_base);
  }
  return tripped;
}

/* --- core.sandbox_enter(), core.sandbox_leave(...) -------------------- */

/* Enter the sandbox of the running context: its limits apply from now. */
static int l_sandbox_enter(lua_State *L) {
  ik_lua_t *rt = ik__rt(L);
  ik_sb_t *sb = sb_of(rt, rt->current);
  if (sb->depth++ > 0) return 0;
  sb->used_ns = 0;
  sb->mem_base = sb->mem_paused = rt->mem_total;
  if (rt->depth > 0) sb_apply(rt, sb);
  return 0;
}

/* Leave it (returns its arguments, so `leave(pcall(f))` passes results on). */
static int l_sandbox_leave(lua_State *L) {
  ik_lua_t *rt = ik__rt(L);
  ik_sb_t *sb = sb_of(rt, rt->current);
  if (sb->depth == 0) return luaL_error(L, "infrakit._core.sandbox_leave: not in a sandbox");
  if (--sb->depth > 0) return lua_gettop(L);
  if (rt->sb_active == sb) sb_lift(rt, sb);
  sb_relief(rt, sb->mem_base);
  return lua_gettop(L);
}

/* core.sandbox_limits([seconds, mib]) -> seconds, mib (setting them first
 * when given; from the next sandbox on). */
static int l_sandbox_limits(lua_State *L) {
  ik_lua_t *rt = ik__rt(L);
  double s = luaL_optnumber(L, 1, rt->sb_timeout);
  double mib = luaL_optnumber(L, 2, (double)(rt->sb_memory >> 20));
  if (!(s > 0) || !(mib >= 1)) return luaL_error(L, "infrakit._core.sandbox_limits: want seconds > 0 and MiB >= 1");
  rt->sb_timeout = s;
  rt->sb_memory = (size_t)mib << 20;
  lua_pushnumber(L, rt->sb_timeout);
  lua_pushnumber(L, (double)(rt->sb_memory >> 20));
  return 2;
}

static int l_killing(lua_State *L) {
  lua_pushboolean(L, ik__watchdog_killing());
  return 1;
}

void ik__bind_limits(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"sandbox_enter", l_sandbox_enter},
      {"sandbox_leave", l_sandbox_leave},
      {"sandbox_limits", l_sandbox_limits},
      {"killing", l_killing},
      {NULL, NULL},
  };
  luaL_register(L, NULL, fns);
}

/* --- set-up ------------------------------------------------------------ */

static const char xpcall_src[] =
    "local raw, killing = ...\n"
    "return function(f, h, ...)\n"
    "  if type(h) ~= 'function' then return raw(f, h, ...) end\n"
    "  return raw(f, function(e) if killing() then return e end return h(e) end, ...)\n"
    "end\n";

void ik__limits_init(ik_lua_t *rt) {
  lua_State *L = rt->L;
  rt->sb_timeout = IK_SB_DEFAULT_TIMEOUT;
  rt->sb_memory = IK_SB_DEFAULT_MEMORY;
  rt->allocf = lua_getallocf(L, &rt->allocd);
  rt->mem_total = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
  lua_setallocf(L, alloc, rt);
  /* The raw pcall and xpcall, for the yield check; xpcall wrapped. */
  lua_pushlightuserdata(L, &pcall_key);
  lua_getglobal(L, "pcall");
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_pushlightuserdata(L, &xpcall_key);
  lua_getglobal(L, "xpcall");
  lua_rawset(L, LUA_REGISTRYINDEX);
  if (luaL_loadbuffer(L, xpcall_src, sizeof xpcall_src - 1, "=infrakit.xpcall") != 0) abort();
  lua_getglobal(L, "xpcall");
  lua_pushcfunction(L, l_killing);
  lua_call(L, 2, 1);
  lua_setglobal(L, "xpcall");
}

void ik_lua_set_sandbox_limits(ik_lua_t *rt, double seconds, size_t bytes) {
  if (seconds > 0) rt->sb_timeout = seconds;
  if (bytes > 0) rt->sb_memory = bytes;
}
