/* infrakit.flavor.get(name), infrakit.instance.get(name): handles on any
 * flavor or instance plugin - hosted in this process (a Lua flavor, a
 * native driver) or remote - through the SPI vtables. Their methods take
 * and return InfraKit's shapes as tables, like the Lua plugin contract
 * (lua/plugin.h), and yield until the plugin answers:
 *
 *   flavor:   validate(properties, allocation) → true
 *             prepare(properties, spec, allocation, index) → spec
 *             healthy(properties, instance) → "healthy" | "unhealthy" | "unknown"
 *             drain(properties, instance) → true
 *   instance: validate(properties) → true;  provision(spec) → id
 *             label(id, labels) → true;     destroy(id, reason) → true
 *             describe(tags, with_properties) → { description, ... }
 *
 * Failures are nil, message, code. Names resolve through the runtime's
 * registry (net/registry.h): the daemon's hosted plugins first, then the
 * plugins directory. The store (spi/store.h) is reached the same way:
 * core.store_get/store_put, below. */
#include <string.h>

#include "base/mem.h"
#include "lua/internal.h"
#include "net/discovery.h"
#include "net/registry.h"
#include "spi/store.h"

#define IK_FLAVOR_MT "infrakit.flavor"
#define IK_INSTANCE_MT "infrakit.instance"

typedef struct spi_handle {
  bool is_flavor;
  bool closed;
  ik_flavor_plugin_t flavor;
  ik_instance_plugin_t instance;
  char name[256];
} spi_handle_t;

/* How a result goes back to Lua. */
typedef enum push_kind { PUSH_TRUE,
                         PUSH_TABLE,
                         PUSH_HEALTH,
                         PUSH_STRING } push_kind_t;

typedef struct spi_op {
  ik_op_t op;
  ik_task_t *task; /* NULL once cancelled: the answer is dropped */
  push_kind_t kind;
  json_t *result; /* borrowed, while spi_done runs */
} spi_op_t;

/* The result, as op->kind says. */
static int push_spi_result(lua_State *co, void *data) {
  spi_op_t *op = data;
  json_t *result = op->result;
  switch (op->kind) {
  case PUSH_TRUE: lua_pushboolean(co, 1); break;
  case PUSH_TABLE: ik__push_json(co, result); break;
  case PUSH_STRING: lua_pushstring(co, json_string_value(result) ? json_string_value(result) : ""); break;
  case PUSH_HEALTH: {
    json_int_t h = json_integer_value(result);
    lua_pushstring(co, h == 1 ? "healthy" : h == 2 ? "unhealthy"
                                                   : "unknown");
    break;
  }
  default: abort();
  }
  return 1;
}

static void spi_done(json_t *result, const ik_err_t *err, void *data) {
  spi_op_t *op = data;
  op->result = result;
  ik__task_answer(op->task, err, push_spi_result, op);
  ik_free(op);
}

/* SPI calls cannot be withdrawn: cancelling drops the answer. */
static void spi_cancel(ik_op_t *base) { ((spi_op_t *)base)->task = NULL; }

static spi_handle_t *check_handle(lua_State *L, bool flavor) {
  spi_handle_t *h = luaL_checkudata(L, 1, flavor ? IK_FLAVOR_MT : IK_INSTANCE_MT);
  if (h->closed) luaL_error(L, "%s handle %s is closed", flavor ? "flavor" : "instance", h->name);
  return h;
}

/* Argument i as JSON (nil → NULL); raises naming the argument. */
static json_t *arg_json(lua_State *L, int i, const char *what, json_t **keep, int *nkeep) {
  if (lua_isnoneornil(L, i)) return NULL;
  ik_err_t err = {0};
  json_t *v = ik__to_json(L, i, what, &err);
  if (v == NULL) {
    for (int k = 0; k < *nkeep; k++) json_decref(keep[k]);
    luaL_error(L, "%s", err.msg);
  }
  keep[(*nkeep)++] = v;
  return v;
}

/* Start the call made by start (already given op as data); yields. */
#define SPI_CALL(L, h, push, call_expr)                       \
  do {                                                        \
    ik_task_t *t_ = ik__task_current(L, "a plugin call");     \
    spi_op_t *op = IK_NEW(spi_op_t);                          \
    op->op.cancel = spi_cancel;                               \
    op->task = t_;                                            \
    op->kind = (push);                                        \
    ik_err_t err = {0};                                       \
    int rc_ = (call_expr);                                    \
    for (int k_ = 0; k_ < nkeep; k_++) json_decref(keep[k_]); \
    return ik__task_await(L, t_, &op->op, rc_, &err);         \
  } while (0)

/* --- flavor methods -------------------------------------------------- */

static int fl_validate(lua_State *L) {
  spi_handle_t *h = check_handle(L, true);
  json_t *keep[4];
  int nkeep = 0;
  json_t *props = arg_json(L, 2, "properties", keep, &nkeep), *alloc = arg_json(L, 3, "allocation", keep, &nkeep);
  SPI_CALL(L, h, PUSH_TRUE, h->flavor.vt->validate(h->flavor.self, props, alloc, spi_done, op, &err));
}

static int fl_prepare(lua_State *L) {
  spi_handle_t *h = check_handle(L, true);
  json_t *keep[4];
  int nkeep = 0;
  json_t *props = arg_json(L, 2, "properties", keep, &nkeep), *spec = arg_json(L, 3, "spec", keep, &nkeep);
  json_t *alloc = arg_json(L, 4, "allocation", keep, &nkeep), *index = arg_json(L, 5, "index", keep, &nkeep);
  SPI_CALL(L, h, PUSH_TABLE, h->flavor.vt->prepare(h->flavor.self, props, spec, alloc, index, spi_done, op, &err));
}

static int fl_healthy(lua_State *L) {
  spi_handle_t *h = check_handle(L, true);
  json_t *keep[4];
  int nkeep = 0;
  json_t *props = arg_json(L, 2, "properties", keep, &nkeep), *inst = arg_json(L, 3, "instance", keep, &nkeep);
  SPI_CALL(L, h, PUSH_HEALTH, h->flavor.vt->healthy(h->flavor.self, props, inst, spi_done, op, &err));
}

static int fl_drain(lua_State *L) {
  spi_handle_t *h = check_handle(L, true);
  json_t *keep[4];
  int nkeep = 0;
  json_t *props = arg_json(L, 2, "properties", keep, &nkeep), *inst = arg_json(L, 3, "instance", keep, &nkeep);
  SPI_CALL(L, h, PUSH_TRUE, h->flavor.vt->drain(h->flavor.self, props, inst, spi_done, op, &err));
}

/* --- instance methods ------------------------------------------------ */

static int in_validate(lua_State *L) {
  spi_handle_t *h = check_handle(L, false);
  json_t *keep[4];
  int nkeep = 0;
  json_t *props = arg_json(L, 2, "properties", keep, &nkeep);
  SPI_CALL(L, h, PUSH_TRUE, h->instance.vt->validate(h->instance.self, props, spi_done, op, &err));
}

static int in_provision(lua_State *L) {
  spi_handle_t *h = check_handle(L, false);
  luaL_checktype(L, 2, LUA_TTABLE);
  json_t *keep[4];
  int nkeep = 0;
  json_t *spec = arg_json(L, 2, "spec", keep, &nkeep);
  SPI_CALL(L, h, PUSH_STRING, h->instance.vt->provision(h->instance.self, spec, spi_done, op, &err));
}

static int in_label(lua_State *L) {
  spi_handle_t *h = check_handle(L, false);
  const char *id = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  json_t *keep[4];
  int nkeep = 0;
  json_t *labels = arg_json(L, 3, "labels", keep, &nkeep);
  SPI_CALL(L, h, PUSH_TRUE, h->instance.vt->label(h->instance.self, id, labels, spi_done, op, &err));
}

static int in_destroy(lua_State *L) {
  spi_handle_t *h = check_handle(L, false);
  const char *id = luaL_checkstring(L, 2);
  /* The reason as a string, or the context a provider's destroy receives
   * ({Reason = ...}), so a provider can pass its own on. */
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "Reason");
    lua_replace(L, 3);
  }
  const char *reason = luaL_optstring(L, 3, "terminate");
  json_t *keep[1];
  int nkeep = 0;
  SPI_CALL(L, h, PUSH_TRUE, h->instance.vt->destroy(h->instance.self, id, reason, spi_done, op, &err));
}

static int in_describe(lua_State *L) {
  spi_handle_t *h = check_handle(L, false);
  json_t *keep[4];
  int nkeep = 0;
  json_t *tags = arg_json(L, 2, "tags", keep, &nkeep);
  bool props = lua_toboolean(L, 3);
  SPI_CALL(L, h, PUSH_TABLE, h->instance.vt->describe(h->instance.self, tags, props, spi_done, op, &err));
}

/* --- the store (spi/store.h) ------------------------------------------
 *
 * infrakit._core.store_get(key), store_put(key, doc), store_list(prefix):
 * the daemon's store
 * (groups' specs and state, in files or etcd), installed by the host
 * (runtime.h ik_lua_set_store). The autoscaler (lua/infrakit/
 * _autoscaler.lua) keeps each group's cooldown memory there, so a
 * restarted daemon or a new leader goes on from it; with etcd a put is
 * fenced like the controller's (a deposed leader's is refused). Both
 * yield; failures are nil, message, code (a missing key: "ENOTFOUND").
 * Without a store they raise. */

void ik_lua_set_store(ik_lua_t *rt, const struct ik_store *store) { rt->store = store; }

static const ik_store_t *check_store(lua_State *L, const char *what) {
  const ik_store_t *s = ik__rt(L)->store;
  if (s == NULL || s->vt == NULL) luaL_error(L, "infrakit._core.%s: no store (only a daemon has one)", what);
  return s;
}

/* store_get(key) -> document | nil, message, code. */
static int l_store_get(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  const ik_store_t *s = check_store(L, "store_get");
  json_t *keep[1];
  int nkeep = 0;
  SPI_CALL(L, s, PUSH_TABLE, s->vt->get(s->self, key, spi_done, op, &err));
}

/* store_put(key, doc: table) -> true | nil, message, code. */
static int l_store_put(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  const ik_store_t *s = check_store(L, "store_put");
  json_t *keep[1];
  int nkeep = 0;
  json_t *doc = arg_json(L, 2, "doc", keep, &nkeep);
  SPI_CALL(L, s, PUSH_TRUE, s->vt->put(s->self, key, doc, spi_done, op, &err));
}

/* store_list(prefix) -> sorted array of keys | nil, message, code. */
static int l_store_list(lua_State *L) {
  const char *prefix = luaL_checkstring(L, 1);
  const ik_store_t *s = check_store(L, "store_list");
  json_t *keep[1];
  int nkeep = 0;
  SPI_CALL(L, s, PUSH_TABLE, s->vt->list(s->self, prefix, spi_done, op, &err));
}

void ik__bind_store(lua_State *L) {
  lua_pushcfunction(L, l_store_list);
  lua_setfield(L, -2, "store_list");
  lua_pushcfunction(L, l_store_get);
  lua_setfield(L, -2, "store_get");
  lua_pushcfunction(L, l_store_put);
  lua_setfield(L, -2, "store_put");
}

/* --- handles --------------------------------------------------------- */

static void handle_close(spi_handle_t *h) {
  if (h->closed) return;
  h->closed = true;
  if (h->is_flavor) h->flavor.vt->free(h->flavor.self);
  else h->instance.vt->free(h->instance.self);
}

static int h_gc(lua_State *L) {
  handle_close(lua_touserdata(L, 1));
  return 0;
}

static int h_close(lua_State *L) {
  spi_handle_t *h = lua_touserdata(L, 1);
  if (!lua_getmetatable(L, 1)) return luaL_argerror(L, 1, "expected a plugin handle");
  lua_pop(L, 1);
  handle_close(h);
  return 0;
}

static int h_tostring(lua_State *L) {
  spi_handle_t *h = lua_touserdata(L, 1);
  lua_pushfstring(L, "%s plugin %s%s", h->is_flavor ? "flavor" : "instance", h->name, h->closed ? " (closed)" : "");
  return 1;
}

/* The runtime's registry: the one the host installed, else one for remote
 * plugins only, created on first use. */
static int runtime_registry(ik_lua_t *rt, ik_registry_t **out, ik_err_t *err) {
  if (rt->registry == NULL) {
    char dir[4096];
    int rc = ik_plugins_dir(dir, sizeof dir, err);
    if (rc < 0) return rc;
    rt->registry = ik_registry_new(rt->loop, dir);
    rt->own_registry = true;
  }
  *out = rt->registry;
  return 0;
}

static int get_handle(lua_State *L, bool flavor) {
  const char *name = luaL_checkstring(L, 1);
  ik_lua_t *rt = ik__rt(L);
  ik_err_t err = {0};
  ik_registry_t *reg;
  int rc = runtime_registry(rt, &reg, &err);
  if (rc < 0) return ik__push_fail(L, rc, err.msg);
  spi_handle_t *h = lua_newuserdata(L, sizeof *h);
  memset(h, 0, sizeof *h);
  h->closed = true; /* until opened: __gc must not free anything */
  h->is_flavor = flavor;
  snprintf(h->name, sizeof h->name, "%s", name);
  luaL_getmetatable(L, flavor ? IK_FLAVOR_MT : IK_INSTANCE_MT);
  lua_setmetatable(L, -2);
  rc = flavor ? ik_registry_flavor(reg, name, &h->flavor, &err) : ik_registry_instance(reg, name, &h->instance, &err);
  if (rc < 0) return ik__push_fail(L, rc, err.msg);
  h->closed = false;
  return 1;
}

static int flavor_get(lua_State *L) { return get_handle(L, true); }
static int instance_get(lua_State *L) { return get_handle(L, false); }

void ik__bind_spi(lua_State *L) {
  static const luaL_Reg flavor_methods[] = {
      {"validate", fl_validate},
      {"prepare", fl_prepare},
      {"healthy", fl_healthy},
      {"drain", fl_drain},
      {"close", h_close},
      {NULL, NULL},
  };
  static const luaL_Reg instance_methods[] = {
      {"validate", in_validate},
      {"provision", in_provision},
      {"label", in_label},
      {"destroy", in_destroy},
      {"describe", in_describe},
      {"close", h_close},
      {NULL, NULL},
  };
  ik__new_class(L, IK_FLAVOR_MT, flavor_methods, h_gc, h_tostring);
  ik__new_class(L, IK_INSTANCE_MT, instance_methods, h_gc, h_tostring);
  lua_pushcfunction(L, flavor_get);
  lua_setfield(L, -2, "flavor_get");
  lua_pushcfunction(L, instance_get);
  lua_setfield(L, -2, "instance_get");
}

void ik_lua_set_registry(ik_lua_t *rt, ik_registry_t *r) {
  if (rt->own_registry) ik_registry_free(rt->registry);
  rt->registry = r;
  rt->own_registry = false;
}
