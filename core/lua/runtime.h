/* The embedded LuaJIT runtime: one lua_State on the loop, a coroutine
 * scheduler and a wall-clock watchdog.
 *
 * This header is what the rest of the C core sees; it does not expose
 * lua.h (only core/lua/ touches the Lua stack). Lua code runs in tasks: a
 * task is a coroutine that C resumes. A Lua function that waits (sleep,
 * exec, rpc...) yields its task; the loop runs; C resumes the task when
 * the operation completes. A task that raises is logged with its traceback
 * and ends; the runtime and the process carry on.
 *
 * Every slice of Lua execution (one resume, one protected call) is bounded
 * by the watchdog: past timeout seconds without yielding, the running code
 * gets a "watchdog" error, even inside JIT-compiled loops. */
#ifndef IK_LUA_RUNTIME_H
#define IK_LUA_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "loop/loop.h"

typedef struct ik_lua ik_lua_t;
typedef struct ik_task ik_task_t;

typedef struct ik_lua_opts {
  double timeout;         /* watchdog seconds per slice; 0 = default (30 s, or INFRAKIT_LUA_TIMEOUT) */
  double sandbox_timeout; /* run time of sandboxed code per call; 0 = default (5 s) */
  size_t sandbox_memory;  /* bytes sandboxed code may add to the heap; 0 = default (256 MiB) */
  const char *lua_dir;    /* a source lua/ searched before the embedded modules; NULL = $INFRAKIT_LUA_DIR or none (runtime.c) */
} ik_lua_opts_t;

/* How a task ended. */
typedef enum ik_task_status {
  IK_TASK_OK = 0,   /* returned normally; results available */
  IK_TASK_ERROR,    /* raised; err holds the message, the log has the traceback */
  IK_TASK_CANCELED, /* cancelled (shutdown) */
} ik_task_status_t;

/* Called once when a C-started task ends. Results may be read with
 * ik_task_result() during the callback only. */
typedef void (*ik_task_done_cb)(ik_task_t *task, ik_task_status_t status, const ik_err_t *err,
                                void *data);

/* A task result converted to C, for callers that cannot see lua.h. */
typedef struct ik_lua_value {
  enum { IK_LV_NONE,
         IK_LV_NIL,
         IK_LV_BOOL,
         IK_LV_NUMBER,
         IK_LV_STRING,
         IK_LV_OTHER } kind;
  bool b;
  double num;
  const char *str; /* borrowed, valid during the done callback */
  size_t len;
} ik_lua_value_t;

int ik_lua_new(ik_loop_t *loop, const ik_lua_opts_t *opts, ik_lua_t **out, ik_err_t *err);

/* Cancel every task, stop the watchdog, close the state and free. Handles
 * owned by pending operations close later through the loop, so run the
 * loop after this until it is empty. */
void ik_lua_free(ik_lua_t *rt);

/* Cancel every live task (their pending waits are aborted; done callbacks
 * run with IK_TASK_CANCELED). The runtime stays usable. */
void ik_lua_cancel_all(ik_lua_t *rt);

/* Set the global table `arg` (arg[0] = script, arg[1..n] = args). */
void ik_lua_set_args(ik_lua_t *rt, const char *script, int argc, char **argv);

/* Start a task running the Lua file at path (or the chunk `code` named
 * `name`), with its command-line arguments as varargs. The task starts on
 * the next loop iteration. A syntax error fails here (IK_ELUA, message with
 * file and line) and cb is never called. */
int ik_lua_start_file(ik_lua_t *rt, const char *path, int argc, char **argv, ik_task_done_cb cb,
                      void *data, ik_task_t **out, ik_err_t *err);
int ik_lua_start_string(ik_lua_t *rt, const char *code, const char *name, int argc, char **argv,
                        ik_task_done_cb cb, void *data, ik_task_t **out, ik_err_t *err);

/* During a done callback: the i-th result (1-based) and how many there are. */
int ik_task_nresults(ik_task_t *task);
ik_lua_value_t ik_task_result(ik_task_t *task, int i);
int ik_task_id(const ik_task_t *task);
/* During the done callback of a failed task: message plus traceback. */
const char *ik_task_traceback(const ik_task_t *task);

/* Where Lua code's events go (infrakit._core.event(group, event, fields)):
 * the daemon points this at its event log (engine/events.h), which
 * core/lua must not include. fields is a new JSON object the sink steals.
 * Without a sink (the default) events are dropped. */
struct json_t; /* jansson's, not included here */
typedef void (*ik_lua_event_sink)(void *ctx, const char *group, const char *event, struct json_t *fields);
void ik_lua_set_event_sink(ik_lua_t *rt, ik_lua_event_sink sink, void *ctx);

/* "LuaJIT 2.1.0-beta3": the linked LuaJIT, without creating a state. */
const char *ik_lua_version(void);

/* Number of tasks not yet finished. */
int ik_lua_live_tasks(const ik_lua_t *rt);

/* Registry references currently held by the runtime's bindings. Tests
 * assert this returns to its baseline. */
int ik_lua_refs(const ik_lua_t *rt);

/* A full garbage collection, now, and what it freed given back to the
 * system (glibc keeps freed memory otherwise): after a burst of calls or a
 * sandboxed run left a heap far bigger than what is live. Returns the KiB
 * in use after it. From C, or from a C function Lua calls (as
 * collectgarbage), not from a __gc metamethod. */
size_t ik_lua_collect(ik_lua_t *rt);

/* Bytes the Lua heap holds now (live and not yet collected): what
 * collectgarbage("count") says, for infrakit_lua_memory_bytes. */
size_t ik_lua_memory_bytes(const ik_lua_t *rt);

/* Run a chunk synchronously in a protected call (not a task: it must not
 * yield). For tests and C that needs a synchronous answer (`-e` runs as a
 * task instead). Returns 0 or IK_ELUA /
 * IK_ETIMEDOUT with the message (and traceback in the log). */
int ik_lua_dostring(ik_lua_t *rt, const char *code, const char *name, ik_err_t *err);

/* The watchdog limit in seconds. */
double ik_lua_timeout(const ik_lua_t *rt);
void ik_lua_set_timeout(ik_lua_t *rt, double seconds);

/* Limits of sandboxed Lua (code from a spec or a fetched template, run
 * through infrakit._sandbox): run time summed over its slices (default 5 s)
 * and memory (default 256 MiB). 0 leaves a value as it is. */
void ik_lua_set_sandbox_limits(ik_lua_t *rt, double seconds, size_t bytes);

/* Parse a watchdog limit ("0.5", "30"): seconds > 0. */
int ik_lua_parse_timeout(const char *s, double *out, ik_err_t *err);

/* Resolve plugin names used from Lua (infrakit.flavor.get, ...) through r
 * (borrowed; must outlive the runtime's use of it): the daemon installs
 * the registry of the plugins it hosts. Without one, a registry of remote
 * plugins only is created on first use. */
struct ik_registry;
void ik_lua_set_registry(ik_lua_t *rt, struct ik_registry *r);

#endif
