/* infrakit._core: the C half of `require "infrakit"`. Clocks, sleep,
 * tasks, and debugging counters; exec and log add themselves. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "ik_version.h"
#include "lua/embedded.h"
#include "lua/internal.h"
#include "loop/loop.h"

typedef struct ik_sleep_op {
  ik_op_t op;
  uv_timer_t timer;
  ik_task_t *task; /* NULL once cancelled */
} ik_sleep_op_t;

static void sleep_closed(uv_handle_t *h) { ik_free(h->data); }

static void sleep_fire(uv_timer_t *h) {
  ik_sleep_op_t *op = h->data;
  ik_task_t *t = op->task;
  op->task = NULL;
  uv_close((uv_handle_t *)&op->timer, sleep_closed);
  if (t) ik__task_wake(t, 0);
}

static void sleep_cancel(ik_op_t *base) {
  ik_sleep_op_t *op = (ik_sleep_op_t *)base;
  op->task = NULL;
  uv_timer_stop(&op->timer);
  uv_close((uv_handle_t *)&op->timer, sleep_closed);
}

/* infrakit.sleep(seconds): yields for at least that long. sleep(0) yields
 * to the other ready tasks and to I/O, then continues. */
static int l_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  if (!(s >= 0) || !isfinite(s)) return luaL_error(L, "infrakit.sleep: seconds must be a number >= 0");
  ik_task_t *t = ik__task_current(L, "infrakit.sleep");
  ik_lua_t *rt = t->rt;
  if (s == 0) {
    ik__task_wake(t, 0); /* queued behind what is ready now */
    return lua_yield(L, 0);
  }
  ik_sleep_op_t *op = IK_NEW(ik_sleep_op_t);
  op->op.cancel = sleep_cancel;
  op->task = t;
  uv_timer_init(&rt->loop->uv, &op->timer);
  op->timer.data = op;
  uv_timer_start(&op->timer, sleep_fire, (uint64_t)ceil(s * 1000.0), 0);
  return ik__task_yield(L, t, &op->op);
}

/* Wall clock, seconds since the epoch (sub-millisecond precision). */
static int l_now(lua_State *L) {
  lua_pushnumber(L, ik_loop_walltime());
  return 1;
}

/* Monotonic clock in seconds: for measuring durations. */
static int l_clock(lua_State *L) {
  lua_pushnumber(L, ik_loop_monotime());
  return 1;
}

static int l_refs(lua_State *L) {
  lua_pushinteger(L, ik_lua_refs(ik__rt(L)));
  return 1;
}

static int l_live_tasks(lua_State *L) {
  lua_pushinteger(L, ik_lua_live_tasks(ik__rt(L)));
  return 1;
}

/* core.timeout([seconds]) -> the watchdog limit (setting it if given). */
static int l_timeout(lua_State *L) {
  ik_lua_t *rt = ik__rt(L);
  if (!lua_isnoneornil(L, 1)) {
    double s = luaL_checknumber(L, 1);
    if (!(s > 0) || !isfinite(s)) return luaL_error(L, "timeout: seconds must be a number > 0");
    ik_lua_set_timeout(rt, s);
  }
  lua_pushnumber(L, ik_lua_timeout(rt));
  return 1;
}

static int l_current(lua_State *L) {
  ik_lua_t *rt = ik__rt(L);
  if (rt->current == NULL) return 0;
  lua_pushinteger(L, rt->current->id);
  return 1;
}

/* isatty(fd): whether progress can be redrawn in place. */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* The path of this binary, for playbooks that run it as a workload; no
 * value when /proc/self/exe cannot be read. The buffer grows until the
 * whole link fits: readlink() cuts silently. */
static int l_exe(lua_State *L) {
  size_t cap = 256;
  char *buf = ik_malloc(cap);
  ssize_t n;
  while ((n = readlink("/proc/self/exe", buf, cap)) >= 0 && (size_t)n == cap) {
    cap *= 2;
    buf = ik_realloc(buf, cap);
  }
  if (n > 0) lua_pushlstring(L, buf, (size_t)n);
  ik_free(buf);
  return n > 0 ? 1 : 0;
}

/* core.embedded(name): the chunk of an embedded module or built-in
 * playbook ("playbooks/quickstart"), not run; nil if there is none. */
static int l_embedded(lua_State *L) {
  if (ik__load_embedded(L, luaL_checkstring(L, 1))) return 1;
  lua_pushnil(L);
  return 1;
}

/* core.embedded_names(prefix): the sorted names of the embedded entries
 * that start with prefix ("playbooks/"), prefix removed. */
static int l_embedded_names(lua_State *L) {
  size_t plen;
  const char *prefix = luaL_checklstring(L, 1, &plen);
  lua_newtable(L);
  int n = 0;
  for (size_t i = 0; i < ik_lua_embedded_count; i++) {
    if (strncmp(ik_lua_embedded[i].name, prefix, plen) != 0) continue;
    lua_pushstring(L, ik_lua_embedded[i].name + plen);
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

/* infrakit.uid(): a version 4 UUID from the kernel's CSPRNG (122 random
 * bits), "1b4e28ba-2fa1-41d2-883f-0016d3cca427". Independent of
 * math.random, so unique across processes and restarts. Does not yield. */
static int l_uid(lua_State *L) {
  unsigned char b[16];
  if (ik__random_bytes(b, sizeof b) < 0) return luaL_error(L, "infrakit.uid: the kernel gave no random bytes");
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  char out[37];
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (size_t i = 0; i < sizeof b; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
    out[k++] = hex[b[i] >> 4];
    out[k++] = hex[b[i] & 0x0f];
  }
  lua_pushlstring(L, out, k);
  return 1;
}

static int l_pid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

int ik__open_core(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"sleep", l_sleep},
      {"now", l_now},
      {"clock", l_clock},
      {"refs", l_refs},
      {"live_tasks", l_live_tasks},
      {"timeout", l_timeout},
      {"current", l_current},
      {"isatty", l_isatty},
      {"pid", l_pid},
      {"uid", l_uid},
      {"exe", l_exe},
      {"embedded", l_embedded},
      {"embedded_names", l_embedded_names},
      {NULL, NULL},
  };
  lua_newtable(L);
  luaL_register(L, NULL, fns);
  ik__bind_tasks(L);
  ik__bind_exec(L);
  ik__bind_log(L);
  ik__bind_rpc(L);
  ik__bind_http(L);
  ik__bind_spi(L);
  ik__bind_limits(L);
  ik__bind_event(L);
  ik__bind_pattern(L);
  lua_pushstring(L, IK_VERSION);
  lua_setfield(L, -2, "version");
  lua_getfield(L, LUA_REGISTRYINDEX, "infrakit.lua_dir");
  lua_setfield(L, -2, "lua_dir");
  return 1;
}
