/* infrakit._core.store_get(key), store_put(key, doc): the daemon's store
 * (spi/store.h: groups' specs and state, in files or etcd) from Lua,
 * through the store the host installed (runtime.h ik_lua_set_store). The
 * autoscaler (lua/infrakit/_autoscaler.lua) keeps each group's cooldown
 * memory there, so a restarted daemon or a new leader goes on from it;
 * with etcd, a put is fenced like the controller's (a deposed leader's is
 * refused). Both yield until the store answers; failures are nil, message,
 * code (a missing key: code IK_ENOTFOUND). Without a store they fail. */
#include "base/mem.h"
#include "lua/internal.h"
#include "spi/store.h"

void ik_lua_set_store(ik_lua_t *rt, const struct ik_store *store) { rt->store = store; }

typedef struct store_op {
  ik_op_t op;
  ik_task_t *task; /* NULL once cancelled: the answer is dropped */
  json_t *result;  /* borrowed, while store_done runs */
} store_op_t;

static int push_result(lua_State *co, void *data) {
  store_op_t *op = data;
  if (op->result == NULL || json_is_null(op->result)) lua_pushboolean(co, 1);
  else ik__push_json(co, op->result);
  return 1;
}

static void store_done(json_t *result, const ik_err_t *err, void *data) {
  store_op_t *op = data;
  op->result = result;
  ik__task_answer(op->task, err, push_result, op);
  ik_free(op);
}

/* Store calls cannot be withdrawn: cancelling drops the answer. */
static void store_cancel(ik_op_t *base) { ((store_op_t *)base)->task = NULL; }

static const ik_store_t *check_store(lua_State *L, const char *what) {
  const ik_store_t *s = ik__rt(L)->store;
  if (s == NULL || s->vt == NULL) luaL_error(L, "infrakit._core.%s: no store (only a daemon has one)", what);
  return s;
}

/* store_get(key) -> document | nil, message, code. */
static int l_store_get(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  const ik_store_t *s = check_store(L, "store_get");
  ik_task_t *t = ik__task_current(L, "a store call");
  store_op_t *op = IK_NEW(store_op_t);
  op->op.cancel = store_cancel;
  op->task = t;
  ik_err_t err = {0};
  int rc = s->vt->get(s->self, key, store_done, op, &err);
  return ik__task_await(L, t, &op->op, rc, &err);
}

/* store_put(key, doc: table) -> true | nil, message, code. */
static int l_store_put(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  const ik_store_t *s = check_store(L, "store_put");
  ik_err_t err = {0};
  json_t *doc = ik__to_json(L, 2, "doc", &err);
  if (doc == NULL) return luaL_error(L, "infrakit._core.store_put: %s", err.msg);
  ik_task_t *t = ik__task_current(L, "a store call");
  store_op_t *op = IK_NEW(store_op_t);
  op->op.cancel = store_cancel;
  op->task = t;
  int rc = s->vt->put(s->self, key, doc, store_done, op, &err);
  json_decref(doc);
  return ik__task_await(L, t, &op->op, rc, &err);
}

void ik__bind_store(lua_State *L) {
  lua_pushcfunction(L, l_store_get);
  lua_setfield(L, -2, "store_get");
  lua_pushcfunction(L, l_store_put);
  lua_setfield(L, -2, "store_put");
}
