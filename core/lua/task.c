/* The coroutine scheduler.
 *
 * A task is a coroutine anchored in the registry. Tasks are resumed only
 * from the ready queue, which an idle handle drains once per loop
 * iteration: completions of libuv operations and wake-ups from other tasks
 * never run Lua in the middle of C state changes, and a task that wakes
 * another never nests inside it.
 *
 * A waiting task holds at most one pending operation (ik_op_t) or waits
 * for another task. Cancelling a task cancels its operation, detaches it
 * from what it waited for and finishes it as IK_TASK_CANCELED.
 *
 * Results of a task that has a Lua handle (infrakit.spawn) are kept in a
 * registry table until the handle is collected, so `wait()` works before
 * and after the task ends. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "lua/internal.h"

#define IK_TASK_MT "infrakit.task"

typedef struct ik_task_ud {
  ik_task_t *task;
} ik_task_ud_t;

static void task_free(ik_task_t *t);
static void task_run(ik_task_t *t);

/* --- ready queue ------------------------------------------------------ */

static void on_idle(uv_idle_t *h) {
  ik_lua_t *rt = h->data;
  /* Run only what was queued before this pass: tasks that requeue
   * themselves (sleep(0)) wait for the next iteration, so I/O is polled. */
  ik_task_t *list = rt->ready_head;
  rt->ready_head = rt->ready_tail = NULL;
  while (list) {
    ik_task_t *t = list;
    list = t->next_ready;
    t->next_ready = NULL;
    if (t->state == IK_TS_READY) task_run(t);
  }
  if (rt->ready_head == NULL && rt->idle_on) {
    uv_idle_stop(&rt->ready_idle);
    rt->idle_on = false;
  }
}

static void enqueue(ik_task_t *t) {
  ik_lua_t *rt = t->rt;
  t->state = IK_TS_READY;
  t->next_ready = NULL;
  if (rt->ready_tail) rt->ready_tail->next_ready = t;
  else rt->ready_head = t;
  rt->ready_tail = t;
  if (!rt->idle_on) {
    uv_idle_start(&rt->ready_idle, on_idle);
    rt->idle_on = true;
  }
}

static void dequeue(ik_task_t *t) {
  ik_lua_t *rt = t->rt;
  ik_task_t **pp = &rt->ready_head, *prev = NULL;
  while (*pp && *pp != t) {
    prev = *pp;
    pp = &(*pp)->next_ready;
  }
  if (*pp == NULL) return;
  *pp = t->next_ready;
  if (rt->ready_tail == t) rt->ready_tail = prev;
  t->next_ready = NULL;
}

/* --- lifecycle -------------------------------------------------------- */

void ik__tasks_init(ik_lua_t *rt) {
  uv_idle_init(&rt->loop->uv, &rt->ready_idle);
  rt->ready_idle.data = rt;
}

ik_task_t *ik__task_spawn(ik_lua_t *rt, lua_State *L, int nargs, ik_task_done_cb cb, void *data) {
  ik_task_t *t = IK_NEW(ik_task_t);
  t->rt = rt;
  t->id = ++rt->next_id;
  t->result_ref = LUA_NOREF;
  t->done = cb;
  t->done_data = data;
  if (rt->npool > 0) { /* a finished coroutine, reused */
    rt->npool--;
    t->co = rt->pool_co[rt->npool];
    t->co_ref = rt->pool_ref[rt->npool];
    rt->refs++;
    lua_xmove(L, t->co, nargs + 1);
  } else {
    t->co = lua_newthread(L);       /* fn args... co */
    lua_insert(L, -(nargs + 2));    /* co fn args... */
    lua_xmove(L, t->co, nargs + 1); /* co */
    t->co_ref = ik__ref(rt, L);     /* pops co */
  }
  t->resume_nargs = nargs;
  t->next = rt->tasks;
  if (rt->tasks) rt->tasks->prev = t;
  rt->tasks = t;
  rt->live++;
  enqueue(t);
  return t;
}

/* Record the outcome as a table {ok=, n=, ..., err=, code=} on the
 * registry, for wait() on a handle. Values are taken from co's stack. */
static void task_record(ik_task_t *t, int nres, const ik_err_t *err) {
  lua_State *L = t->rt->L;
  lua_createtable(L, nres > 0 ? nres : 0, 4);
  if (t->status == IK_TASK_OK) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "ok");
    for (int i = 1; i <= nres; i++) {
      lua_pushvalue(t->co, i);
      lua_xmove(t->co, L, 1);
      lua_rawseti(L, -2, i);
    }
  } else {
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "ok");
    lua_pushstring(L, err && err->msg[0] ? err->msg : "task failed");
    lua_setfield(L, -2, "err");
    lua_pushstring(L, ik_err_name(err ? err->code : IK_ELUA));
    lua_setfield(L, -2, "code");
  }
  lua_pushinteger(L, nres);
  lua_setfield(L, -2, "n");
  t->result_ref = ik__ref(t->rt, L);
}

static void task_finish(ik_task_t *t, ik_task_status_t status, int nres, const ik_err_t *err) {
  ik_lua_t *rt = t->rt;
  t->state = IK_TS_DONE;
  t->status = status;
  t->op = NULL;
  rt->live--;
  if (t->has_handle || t->waiters) task_record(t, nres, err);
  if (t->done) {
    t->resume_nargs = nres; /* read by ik_task_result() */
    t->done(t, status, err, t->done_data);
  }
  for (ik_task_t *w = t->waiters, *next; w; w = next) {
    next = w->next_waiter;
    w->next_waiter = NULL;
    w->awaiting = NULL;
    ik__task_wake(w, ik__task_push_results(t, w->co));
  }
  t->waiters = NULL;
  if (status == IK_TASK_OK && rt->npool < (int)(sizeof rt->pool_co / sizeof rt->pool_co[0]) && !rt->closing) {
    lua_settop(t->co, 0); /* returned normally: resumable with a new function */
    rt->pool_co[rt->npool] = t->co;
    rt->pool_ref[rt->npool++] = t->co_ref;
    rt->refs--;
  } else {
    ik__unref(rt, rt->L, t->co_ref);
  }
  t->co_ref = LUA_NOREF;
  t->co = NULL;
  if (!t->has_handle) task_free(t);
}

static void task_free(ik_task_t *t) {
  ik_lua_t *rt = t->rt;
  if (t->result_ref != LUA_NOREF) ik__unref(rt, rt->L, t->result_ref);
  if (t->prev) t->prev->next = t->next;
  else rt->tasks = t->next;
  if (t->next) t->next->prev = t->prev;
  ik_free(t);
}

static void task_run(ik_task_t *t) {
  ik_lua_t *rt = t->rt;
  ik_task_t *prev = rt->current;
  int nargs = t->resume_nargs;
  t->resume_nargs = 0;
  t->started = true;
  t->state = IK_TS_RUNNING;
  rt->current = t;
  ik_err_t err = {0};
  int rc = ik__lua_resume(rt, t->co, nargs, &err);
  rt->current = prev;

  if (rc == LUA_YIELD) {
    if (t->state == IK_TS_RUNNING) {
      /* A bare coroutine.yield() in a task: yield to the scheduler. */
      lua_settop(t->co, 0);
      enqueue(t);
    }
    return;
  }
  if (rc == 0) {
    task_finish(t, IK_TASK_OK, lua_gettop(t->co), NULL);
    return;
  }
  /* The message with the coroutine's traceback is on rt->L. Tasks started
   * from C report through their callback; Lua-spawned ones may never be
   * waited for, so their failure is always logged. */
  t->trace = lua_tostring(rt->L, -1);
  if (t->done == NULL) {
    char id[16];
    snprintf(id, sizeof id, "%d", t->id);
    ik_log(IK_LOG_ERROR, "lua", err.code == IK_ETIMEDOUT ? "task stopped by the watchdog" : "task failed",
           "task", id, "error", err.msg, "traceback", t->trace ? t->trace : "", NULL);
  }
  task_finish(t, IK_TASK_ERROR, 0, &err);
  lua_pop(rt->L, 1); /* t may be freed: do not touch it */
}

ik_task_t *ik__task_current(lua_State *L, const char *what) {
  ik_lua_t *rt = ik__rt(L);
  ik_task_t *t = rt->current;
  if (t == NULL)
    luaL_error(L, "%s waits, so it must run inside a task (infrakit lua, infrakit.spawn)", what);
  if (t->co != L)
    luaL_error(L, "%s cannot wait inside a plain coroutine; use infrakit.spawn instead of coroutine.create/wrap", what);
  return t;
}

int ik__task_yield(lua_State *L, ik_task_t *t, ik_op_t *op) {
  t->op = op;
  t->state = IK_TS_WAITING;
  return lua_yield(L, 0);
}

void ik__task_wake(ik_task_t *t, int nargs) {
  if (t->state == IK_TS_DONE) return;
  t->op = NULL;
  t->resume_nargs = nargs;
  enqueue(t);
}

void ik__task_answer(ik_task_t *t, const ik_err_t *err, ik_push_fn push, void *data) {
  if (t == NULL) return;
  ik__task_wake(t, err ? ik__push_fail(t->co, err->code, err->msg) : push(t->co, data));
}

int ik__task_await(lua_State *L, ik_task_t *t, ik_op_t *op, int rc, const ik_err_t *err) {
  if (rc < 0) {
    ik_free(op);
    return ik__push_fail(L, rc, err->msg);
  }
  return ik__task_yield(L, t, op);
}

void ik__task_cancel(ik_task_t *t) {
  switch (t->state) {
  case IK_TS_DONE:
    return;
  case IK_TS_RUNNING:
    return; /* cannot unwind a running coroutine from inside itself */
  case IK_TS_READY:
    dequeue(t);
    break;
  case IK_TS_WAITING:
    if (t->op) {
      ik_op_t *op = t->op;
      t->op = NULL;
      op->cancel(op);
    }
    if (t->awaiting) {
      ik_task_t **pp = &t->awaiting->waiters;
      while (*pp && *pp != t) pp = &(*pp)->next_waiter;
      if (*pp) *pp = t->next_waiter;
      t->awaiting = NULL;
      t->next_waiter = NULL;
    }
    break;
  default:
    abort();
  }
  ik_err_t err;
  ik_err_set(&err, IK_ECANCELED, "task %d canceled", t->id);
  task_finish(t, IK_TASK_CANCELED, 0, &err);
}

int ik__task_push_results(ik_task_t *t, lua_State *L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->result_ref);
  int tbl = lua_gettop(L);
  lua_getfield(L, tbl, "ok");
  int ok = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (!ok) {
    lua_pushnil(L);
    lua_getfield(L, tbl, "err");
    lua_getfield(L, tbl, "code");
    lua_remove(L, tbl);
    return 3;
  }
  lua_getfield(L, tbl, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaL_checkstack(L, n + 1, "too many results");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, tbl, i);
  lua_remove(L, tbl);
  return n;
}

void ik__tasks_close(ik_lua_t *rt) {
  ik_lua_cancel_all(rt);
  while (rt->npool > 0) luaL_unref(rt->L, LUA_REGISTRYINDEX, rt->pool_ref[--rt->npool]);
  /* Tasks kept only for their handles: the state is closing, free them. */
  while (rt->tasks) {
    ik_task_t *t = rt->tasks;
    if (t->handle) ((ik_task_ud_t *)t->handle)->task = NULL;
    t->handle = NULL;
    t->has_handle = false;
    task_free(t);
  }
}

void ik_lua_task_cancel(ik_task_t *t) { ik__task_cancel(t); }

void ik_lua_cancel_all(ik_lua_t *rt) {
  for (ik_task_t *t = rt->tasks, *next; t; t = next) {
    next = t->next;
    ik__task_cancel(t);
  }
}

int ik_lua_live_tasks(const ik_lua_t *rt) { return rt->live; }
int ik_task_id(const ik_task_t *t) { return t->id; }
const char *ik_task_traceback(const ik_task_t *t) { return t->trace; }
int ik_task_nresults(ik_task_t *t) { return t->co ? t->resume_nargs : 0; }

ik_lua_value_t ik_task_result(ik_task_t *t, int i) {
  ik_lua_value_t v;
  memset(&v, 0, sizeof v);
  v.kind = IK_LV_NONE;
  if (t->co == NULL || i < 1 || i > t->resume_nargs) return v;
  lua_State *co = t->co;
  switch (lua_type(co, i)) {
  case LUA_TNIL: v.kind = IK_LV_NIL; break;
  case LUA_TBOOLEAN:
    v.kind = IK_LV_BOOL;
    v.b = lua_toboolean(co, i);
    break;
  case LUA_TNUMBER:
    v.kind = IK_LV_NUMBER;
    v.num = lua_tonumber(co, i);
    break;
  case LUA_TSTRING:
    v.kind = IK_LV_STRING;
    v.str = lua_tolstring(co, i, &v.len);
    break;
  default: v.kind = IK_LV_OTHER; break;
  }
  return v;
}

/* --- Lua handles: infrakit.spawn(fn, ...) -> task ------------------- */

static ik_task_t *check_task(lua_State *L, int idx) {
  ik_task_ud_t *ud = luaL_checkudata(L, idx, IK_TASK_MT);
  if (ud->task == NULL) luaL_error(L, "task handle is closed");
  return ud->task;
}

static int l_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  ik_lua_t *rt = ik__rt(L);
  int nargs = lua_gettop(L) - 1;
  ik_task_ud_t *ud = lua_newuserdata(L, sizeof *ud);
  luaL_getmetatable(L, IK_TASK_MT);
  lua_setmetatable(L, -2);
  lua_insert(L, 1); /* ud fn args... */
  ud->task = ik__task_spawn(rt, L, nargs, NULL, NULL);
  ud->task->has_handle = true;
  ud->task->handle = ud;
  return 1;
}

static const char *task_state_name(const ik_task_t *t) {
  switch (t->state) {
  case IK_TS_READY: return "ready";
  case IK_TS_RUNNING: return "running";
  case IK_TS_WAITING: return "waiting";
  case IK_TS_DONE:
    return t->status == IK_TASK_OK ? "done" : t->status == IK_TASK_ERROR ? "failed"
                                                                         : "canceled";
  default: abort();
  }
}

/* task:wait() -> the task's results, or nil, msg, code. Yields. */
static int l_task_wait(lua_State *L) {
  ik_task_t *t = check_task(L, 1);
  if (t->state == IK_TS_DONE) return ik__task_push_results(t, L);
  ik_task_t *cur = ik__task_current(L, "task:wait()");
  if (cur == t) return luaL_error(L, "task:wait(): a task cannot wait for itself");
  cur->awaiting = t;
  cur->next_waiter = t->waiters;
  t->waiters = cur;
  return ik__task_yield(L, cur, NULL);
}

static int l_task_cancel(lua_State *L) {
  ik_task_t *t = check_task(L, 1);
  if (t->state == IK_TS_RUNNING)
    return luaL_error(L, "task:cancel(): a task cannot cancel itself; return instead");
  ik__task_cancel(t);
  return 0;
}

static int l_task_status(lua_State *L) {
  lua_pushstring(L, task_state_name(check_task(L, 1)));
  return 1;
}

static int l_task_id(lua_State *L) {
  lua_pushinteger(L, check_task(L, 1)->id);
  return 1;
}

static int l_task_gc(lua_State *L) {
  ik_task_ud_t *ud = luaL_checkudata(L, 1, IK_TASK_MT);
  if (ud->task == NULL) return 0;
  ud->task->has_handle = false;
  ud->task->handle = NULL;
  if (ud->task->state == IK_TS_DONE) task_free(ud->task);
  ud->task = NULL;
  return 0;
}

static int l_task_tostring(lua_State *L) {
  ik_task_t *t = check_task(L, 1);
  lua_pushfstring(L, "infrakit.task: %d (%s)", t->id, task_state_name(t));
  return 1;
}

/* Registers the task metatable and core.spawn / core.current. */
void ik__bind_tasks(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"wait", l_task_wait},
      {"cancel", l_task_cancel},
      {"status", l_task_status},
      {"id", l_task_id},
      {NULL, NULL},
  };
  ik__new_class(L, IK_TASK_MT, methods, l_task_gc, l_task_tostring);
  lua_pushcfunction(L, l_spawn);
  lua_setfield(L, -2, "spawn");
}
