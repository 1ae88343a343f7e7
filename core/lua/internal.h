/* Shared between the files of core/lua only. Everything that touches the
 * Lua stack lives in this directory. */
#ifndef IK_LUA_INTERNAL_H
#define IK_LUA_INTERNAL_H

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lua/runtime.h"

/* A pending operation of a waiting task. cancel must stop the operation so
 * that it never resumes the task, and free what it owns (possibly later,
 * from a libuv close callback). */
typedef struct ik_op {
  void (*cancel)(struct ik_op *op);
} ik_op_t;

/* Sandbox accounting of one context (a task, or the code outside tasks). */
typedef struct ik_sb {
  int depth;         /* nesting of sandbox_enter */
  uint64_t used_ns;  /* run time spent inside the sandbox, past slices */
  size_t mem_base;   /* heap bytes when entered (moved by others' use) */
  size_t mem_paused; /* heap bytes when its last slice ended */
} ik_sb_t;

typedef enum ik_task_state {
  IK_TS_READY,   /* queued to be resumed */
  IK_TS_RUNNING, /* inside lua_resume */
  IK_TS_WAITING, /* yielded; op (if any) will wake it */
  IK_TS_DONE,
} ik_task_state_t;

struct ik_task {
  ik_lua_t *rt;
  lua_State *co;
  int co_ref;     /* anchors the coroutine in the registry */
  int result_ref; /* table {ok=, n=, ...} once done; LUA_NOREF before */
  int id;
  ik_task_state_t state;
  ik_task_status_t status;
  int resume_nargs; /* values pushed on co for the next resume */
  bool started;
  ik_sb_t sb;        /* sandbox accounting (limits.c) */
  bool has_handle;   /* a Lua handle (userdata) refers to this task */
  void *handle;      /* that handle's memory, to detach it at close */
  const char *trace; /* during a failed task's done callback: traceback */
  ik_op_t *op;       /* the pending operation while WAITING */
  ik_task_done_cb done;
  void *done_data;
  ik_task_t *waiters;     /* tasks blocked in handle:wait() on this one */
  ik_task_t *next_waiter; /* link in the waiters list of the awaited task */
  ik_task_t *awaiting;    /* the task this one waits for, if any */
  ik_task_t *next_ready;
  ik_task_t *prev, *next; /* all live tasks */
};

/* Process-wide watchdog (signals are process-wide). */
typedef struct ik_watchdog ik_watchdog_t;

struct ik_lua {
  lua_State *L;
  ik_loop_t *loop;
  double timeout;
  int depth; /* nesting of C->Lua calls; the watchdog arms at 0 */
  uv_idle_t ready_idle;
  bool idle_on;
  ik_task_t *ready_head, *ready_tail;
  ik_task_t *tasks;   /* live (not yet freed) tasks */
  ik_task_t *current; /* the task being resumed, or NULL */
  int live;           /* tasks not DONE */
  int refs;
  int next_id;
  bool closing;
  struct ik_http_client *http;  /* for infrakit.rpc; created on first use */
  struct ik_registry *registry; /* plugins by name (bind_spi.c) */
  /* Coroutines of tasks that returned normally, kept for the next task:
   * creating and collecting one per plugin call is the larger part of a
   * short call's cost. Their registry refs are not counted in refs. (Code
   * that keeps coroutine.running() of a finished task and resumes it later
   * would meddle with another task; nothing in the API hands it out.) */
  lua_State *pool_co[32];
  int pool_ref[32];
  int npool;
  bool own_registry;            /* created here, not installed by the host */
  ik_lua_event_sink event_sink; /* bind_event.c: where core.event goes; NULL drops */
  void *event_ctx;
  /* limits.c: the allocator and the sandbox (spec-supplied code). */
  lua_Alloc allocf; /* LuaJIT's own allocator, wrapped */
  void *allocd;
  size_t mem_total;       /* bytes the state holds */
  size_t mem_limit;       /* 0, or a cap while a sandbox runs */
  size_t mem_peak;        /* highest mem_total inside the current sandbox */
  bool mem_tripped;       /* the budget refused an allocation this slice */
  double sb_timeout;      /* run-time limit of a sandbox call, seconds */
  size_t sb_memory;       /* memory budget of a sandbox call, bytes */
  ik_sb_t top_sb;         /* sandbox accounting outside tasks */
  ik_sb_t *sb_active;     /* the context whose limits apply now, or NULL */
  uint64_t sb_slice_ns;   /* when the active sandbox's slice started */
  uint64_t sb_next_yield; /* instructions hook: when to offer a yield */
};

/* --- call.c: the only ways C enters Lua ------------------------------- */
/* Protected call of the function below nargs arguments on L, with a
 * traceback message handler and the watchdog armed. On error the message
 * (with traceback) is left as a string on the stack, err is filled and the
 * code returned (IK_ELUA or IK_ETIMEDOUT). */
int ik__lua_pcall(ik_lua_t *rt, lua_State *L, int nargs, int nresults, ik_err_t *err);
/* Resume co with nargs values on its stack, watchdog armed. Returns 0
 * (finished), LUA_YIELD, or an error code as above; on error the message
 * plus the coroutine's traceback is pushed on rt->L (caller pops it). */
int ik__lua_resume(ik_lua_t *rt, lua_State *co, int nargs, ik_err_t *err);

/* --- watchdog.c ------------------------------------------------------- */
/* Why a slice was killed; picks the message its code gets. */
typedef enum ik_kill {
  IK_KILL_NONE = 0,
  IK_KILL_TIMEOUT,      /* past --lua-timeout without yielding */
  IK_KILL_TERM,         /* SIGTERM/SIGINT while it ran */
  IK_KILL_MEMORY,       /* sandboxed code over its memory budget */
  IK_KILL_SANDBOX_TIME, /* sandboxed code over its run-time limit */
} ik_kill_t;

int ik__watchdog_acquire(ik_err_t *err); /* start the thread (refcounted) */
void ik__watchdog_release(void);
/* Arm for a new outermost slice: past seconds, it is killed with why. */
void ik__watchdog_arm(lua_State *L, double seconds, ik_kill_t why);
/* Bring the armed slice's deadline to seconds from now if sooner; past it
 * the slice is killed with why and msg (copied). */
void ik__watchdog_shorten(double seconds, ik_kill_t why, const char *msg);
/* Put back the deadline ik__watchdog_shorten moved (the sandbox is left). */
void ik__watchdog_restore(void);
/* The slice ended: why it was killed, or IK_KILL_NONE. */
ik_kill_t ik__watchdog_disarm(lua_State *L);
/* True while the running slice is killed: nothing in it may run on. */
bool ik__watchdog_killing(void);
/* Kill the running slice now (loop thread, inside Lua): every instruction
 * from here raises msg (copied) until control is back in C. */
void ik__watchdog_kill(lua_State *L, ik_kill_t why, const char *msg);
/* For other hooks (limits.c): raise the kill error if the slice is killed. */
void ik__watchdog_hook(lua_State *L);
bool ik__watchdog_is_timeout_message(const char *msg);

/* --- limits.c: memory and time limits of sandboxed (spec-supplied) code - */
/* Wrap the state's allocator (counting, budget) and the global xpcall. */
void ik__limits_init(ik_lua_t *rt);
/* Around a slice of the task t (NULL: code outside tasks): apply or lift
 * the limits of its sandbox, if it is inside one. */
void ik__limits_resume(ik_lua_t *rt, ik_task_t *t);
void ik__limits_pause(ik_lua_t *rt, ik_task_t *t);
/* The slice ended in error: drop the sandbox state of t. Returns true if
 * the error was the memory budget's (a LUA_ERRMEM that is not fatal). */
bool ik__limits_failed(ik_lua_t *rt, ik_task_t *t);
void ik__bind_limits(lua_State *L); /* adds core.sandbox_enter/leave/limits */
void ik__bind_event(lua_State *L);  /* adds core.event (bind_event.c) */
/* Raise the kill error if the slice was killed or the running sandbox is
 * past its run time: for C code that runs long without instructions. */
void ik__limits_check(lua_State *L);
void ik__bind_pattern(lua_State *L); /* adds core.pattern: find, match, gmatch, gsub */

/* --- task.c ----------------------------------------------------------- */
/* Start a task running the function on top of L's stack with nargs args
 * below... (function first, then args; all popped). */
ik_task_t *ik__task_spawn(ik_lua_t *rt, lua_State *L, int nargs, ik_task_done_cb cb, void *data);
/* Called by a yielding binding: the current task waits on op. Returns the
 * task (NULL + Lua error raised if called outside a task). */
ik_task_t *ik__task_current(lua_State *L, const char *what);
int ik__task_yield(lua_State *L, ik_task_t *task, ik_op_t *op);
/* Queue task to be resumed with the nargs values already pushed on its co. */
void ik__task_wake(ik_task_t *task, int nargs);
/* What a binding's operation answers with: push the values on co, return
 * how many. */
typedef int (*ik_push_fn)(lua_State *co, void *data);
/* An operation a binding started has ended: wake task (NULL: the operation
 * was cancelled, nothing happens) with nil, msg, code when err is set, else
 * with what push(co, data) pushes. The one ending of every binding's done
 * callback. */
void ik__task_answer(ik_task_t *task, const ik_err_t *err, ik_push_fn push, void *data);
/* The last step of a binding that starts an operation: rc is what starting
 * it returned. rc == 0: the task waits on op (see ik__task_yield). rc < 0:
 * the operation never started, so op (allocated with ik_malloc, its
 * ik_op_t first) is freed and nil, err->msg, code are returned. */
int ik__task_await(lua_State *L, ik_task_t *task, ik_op_t *op, int rc, const ik_err_t *err);
void ik__task_cancel(ik_task_t *task);
/* Push the task's recorded results (as wait() returns them) onto L. */
int ik__task_push_results(ik_task_t *task, lua_State *L);
void ik__tasks_init(ik_lua_t *rt);
/* Registers the task metatable and core.spawn / core.current (task.c). */
void ik__bind_tasks(lua_State *L);
void ik__tasks_close(ik_lua_t *rt);

/* --- refs (runtime.c) ------------------------------------------------- */
int ik__ref(ik_lua_t *rt, lua_State *L); /* pops top into the registry */
void ik__unref(ik_lua_t *rt, lua_State *L, int ref);
ik_lua_t *ik__rt(lua_State *L); /* the runtime owning L */

/* Fill buf with len bytes from the kernel's CSPRNG (getrandom, else
 * /dev/urandom). 0, or IK_EIO when neither gives them. */
int ik__random_bytes(void *buf, size_t len);

/* Push nil, "CODE: message"-style failure triple: nil, msg, name. Returns 3. */
int ik__push_fail(lua_State *L, int code, const char *msg);

/* Register the metatable mt for a userdata type: methods as its __index,
 * and its __gc and __tostring (either may be NULL). The one shape of every
 * bound type (luv's "a metatable per type"). */
void ik__new_class(lua_State *L, const char *mt, const luaL_Reg *methods, lua_CFunction gc, lua_CFunction tostring);

/* --- json_lua.c: JSON values across the boundary (cjson's conventions) - */
/* Push v as a Lua value (null → infrakit.json.null, arrays carry
 * infrakit.json.array_mt). */
void ik__push_json(lua_State *L, const json_t *v);
/* The Lua value at idx as JSON (a new reference), or NULL with err naming
 * the place under what ("prepare result.Tags.x: ..."). */
json_t *ik__to_json(lua_State *L, int idx, const char *what, ik_err_t *err);

/* --- module openers --------------------------------------------------- */
int ik__open_codec(lua_State *L); /* infrakit._codec: base64, sha256 (libcrypto) */
int ik__open_json(lua_State *L);  /* infrakit._json: array_mt, go_quote, go_number */
int ik__open_yaml(lua_State *L);  /* infrakit._yaml: events (LibYAML) */
int ik__open_core(lua_State *L);  /* infrakit._core: sleep, spawn, now, ... */
/* Push the loaded chunk of the embedded module name (embedded.h) and
 * return 1; return 0 (nothing pushed) if there is none. */
int ik__load_embedded(lua_State *L, const char *name);
void ik__bind_exec(lua_State *L); /* adds core.exec */
void ik__bind_log(lua_State *L);  /* adds core.log */
void ik__bind_rpc(lua_State *L);  /* adds core.rpc_call */
void ik__bind_http(lua_State *L); /* adds core.http_request */
void ik__bind_spi(lua_State *L);  /* adds core.flavor_get, core.instance_get */
/* The runtime's HTTP client, created on first use. */
int ik__lua_http_client(ik_lua_t *rt, struct ik_http_client **out, ik_err_t *err);

#endif
