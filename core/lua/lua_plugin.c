/* Lua modules behind the flavor and instance vtables (lua/plugin.h).
 *
 * Each SPI call starts a task running module[method](args...) with the
 * JSON arguments converted to tables; the task's done callback converts the
 * results back, in the shapes Go would encode (net/go_types.h), and calls
 * the SPI callback. Tasks start on the next loop turn, so the callback is
 * never called before the SPI function returns.
 *
 * A failure's message is the module's own ("provision refused"), or ours
 * about its results ("healthy returned a number; ..."), with no prefix:
 * the caller knows which plugin and which call it made and says so once
 * ("provision (slowmem): provision refused"). */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "lua/internal.h"
#include "lua/plugin.h"
#include "net/go_types.h"

typedef struct lua_module {
  ik_lua_t *rt;
  int refs;           /* the plugin's owner, plus one per call in flight */
  int ref;            /* the module's table in the registry */
  char *name;         /* for messages: "flavor-vanilla", "hostname" */
  bool is_flavor;
} lua_module_t;

/* How to turn a method's results into the SPI result. */
typedef enum result_kind {
  RES_NULL,           /* true → null */
  RES_SPEC,         /* instance.Spec */
  RES_HEALTH,       /* "healthy" | "unhealthy" | "unknown" → 1 | 2 | 0 */
  RES_ID,           /* a non-empty string */
  RES_DESCRIPTIONS, /* a list of instance.Description */
} result_kind_t;

typedef struct lua_call {
  lua_module_t *m;
  const char *method;
  result_kind_t kind;
  ik_spi_cb cb;
  void *data;
  json_t *result;     /* for calls answered without Lua (defaults) */
} lua_call_t;

/* --- results --------------------------------------------------------- */

/* Convert the task's results (on co, 1..n) into *out. Fills err with a
 * one-line message on a failure the function reported or a bad result. */
static int convert_results(lua_call_t *c, lua_State *co, int n, json_t **out, ik_err_t *err) {
  const char *method = c->method;
  if (n == 0 || lua_isnil(co, 1) || (lua_isboolean(co, 1) && !lua_toboolean(co, 1))) {
    const char *msg = n >= 2 ? lua_tostring(co, 2) : NULL;
    return ik_err_set(err, IK_EDRIVER, "%s", msg ? msg : "failed (no message)");
  }
  json_t *v = NULL;
  const char *what = c->kind == RES_SPEC ? "prepare result" : "describe result";
  switch (c->kind) {
  case RES_NULL:
    *out = json_null();
    return 0;
  case RES_HEALTH: {
    const char *h = lua_type(co, 1) == LUA_TSTRING ? lua_tostring(co, 1) : "";
    int code = strcmp(h, "healthy") == 0 ? 1 : strcmp(h, "unhealthy") == 0 ? 2 : strcmp(h, "unknown") == 0 ? 0 : -1;
    if (code < 0)
      return ik_err_set(err, IK_EDRIVER, "healthy returned %s \"%.40s\"; want \"healthy\", \"unhealthy\" or \"unknown\"",
                        luaL_typename(co, 1), h);
    *out = json_integer(code);
    return 0;
  }
  case RES_ID:
    if (lua_type(co, 1) != LUA_TSTRING || lua_objlen(co, 1) == 0)
      return ik_err_set(err, IK_EDRIVER, "provision returned a %s; want the new instance's ID (a string)",
                        luaL_typename(co, 1));
    *out = json_string(lua_tostring(co, 1));
    if (*out == NULL) return ik_err_set(err, IK_EDRIVER, "provision returned an ID that is not UTF-8");
    return 0;
  case RES_SPEC:
  case RES_DESCRIPTIONS:
    if (!lua_istable(co, 1))
      return ik_err_set(err, IK_EDRIVER, "%s returned a %s; want a table", method, luaL_typename(co, 1));
    v = ik__to_json(co, 1, what, err);
    if (v == NULL) return err->code = IK_EDRIVER;
    break;
  default:
    abort();
  }
  /* Lua cannot tell an empty list from an empty table: Attachments = {}
   * means no attachments. */
  int rc;
  if (c->kind == RES_SPEC) {
    json_t *att = json_object_get(v, "Attachments");
    if (json_is_object(att) && json_object_size(att) == 0) json_object_set_new(v, "Attachments", json_array());
    rc = ik_go_instance_spec(v, what, out, err);
  } else {
    if (json_is_object(v) && json_object_size(v) == 0) json_decref(v), v = json_array();
    rc = ik_go_description_list(v, what, out, err);
  }
  json_decref(v);
  return rc < 0 ? (err->code = IK_EDRIVER) : 0;
}

/* Calls in flight keep the module (its name is in their messages) after
 * its owner freed the plugin. */
static void module_unref(lua_module_t *m) {
  if (--m->refs > 0) return;
  if (m->rt->L) ik__unref(m->rt, m->rt->L, m->ref);
  ik_free(m->name);
  ik_free(m);
}

/* The first line of a Lua error message (the rest is its traceback). */
static void one_line(char *s) { s[strcspn(s, "\n")] = '\0'; }

static void on_task_done(ik_task_t *task, ik_task_status_t status, const ik_err_t *terr, void *data) {
  lua_call_t *c = data;
  ik_err_t err = {0};
  json_t *result = NULL;
  switch (status) {
  case IK_TASK_OK:
    if (convert_results(c, task->co, ik_task_nresults(task), &result, &err) < 0) result = NULL;
    break;
  case IK_TASK_ERROR: {
    const char *trace = ik_task_traceback(task);
    ik_log(IK_LOG_ERROR, "lua", terr->code == IK_ETIMEDOUT ? "plugin call stopped by the watchdog" : "plugin call failed",
           "plugin", c->m->name, "method", c->method, "error", terr->msg, "traceback", trace ? trace : "", NULL);
    ik_err_set(&err, terr->code == IK_ETIMEDOUT ? IK_ETIMEDOUT : IK_EDRIVER, "%s", terr->msg);
    one_line(err.msg);
    break;
  }
  case IK_TASK_CANCELED:
    ik_err_set(&err, IK_ECANCELED, "%s: cancelled", c->method);
    break;
  default:
    abort();
  }
  c->cb(result, result ? NULL : &err, c->data);
  json_decref(result);
  module_unref(c->m);
  ik_free(c);
}

/* A default answered without Lua, from the loop. */
static void answer_default(void *data) {
  lua_call_t *c = data;
  c->cb(c->result, NULL, c->data);
  json_decref(c->result);
  module_unref(c->m);
  ik_free(c);
}

/* --- calls ------------------------------------------------------------ */

/* Start module[method](args...) in a task. args are nargs JSON values
 * (NULL = nil); a string arg is passed as a JSON string. When the module
 * has no such function, answers dflt (stolen) if given, else fails. */
static int start_call(lua_module_t *m, const char *method, result_kind_t kind, json_t *dflt, ik_spi_cb cb,
                      void *data, ik_err_t *err, int nargs, json_t **args) {
  lua_State *L = m->rt->L;
  lua_call_t *c = ik_malloc(sizeof *c);
  *c = (lua_call_t){.m = m, .method = method, .kind = kind, .cb = cb, .data = data};
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
  lua_getfield(L, -1, method);
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    if (dflt == NULL) {
      ik_free(c);
      return ik_err_set(err, IK_ENOTFOUND, "%s is not supported (the module has no %s function)", method, method);
    }
    c->result = dflt;
    m->refs++;
    ik_loop_defer(m->rt->loop, answer_default, c);
    return 0;
  }
  json_decref(dflt);
  luaL_checkstack(L, nargs + 2, "plugin call");
  for (int i = 0; i < nargs; i++) {
    if (args[i] == NULL) lua_pushnil(L);
    else ik__push_json(L, args[i]);
  }
  m->refs++;
  ik__task_spawn(m->rt, L, nargs, on_task_done, c);
  return 0;
}

/* --- flavor vtable ---------------------------------------------------- */

static int f_validate(void *self, json_t *properties, json_t *allocation, ik_spi_cb cb, void *data, ik_err_t *err) {
  json_t *args[] = {properties, allocation};
  return start_call(self, "validate", RES_NULL, NULL, cb, data, err, 2, args);
}

static int f_prepare(void *self, json_t *properties, json_t *spec, json_t *allocation, json_t *index, ik_spi_cb cb,
                     void *data, ik_err_t *err) {
  json_t *args[] = {properties, spec, allocation, index};
  return start_call(self, "prepare", RES_SPEC, NULL, cb, data, err, 4, args);
}

static int f_healthy(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err) {
  json_t *args[] = {properties, instance};
  return start_call(self, "healthy", RES_HEALTH, json_integer(1), cb, data, err, 2, args);
}

static int f_drain(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err) {
  json_t *args[] = {properties, instance};
  return start_call(self, "drain", RES_NULL, json_null(), cb, data, err, 2, args);
}

/* A Lua flavor's healthy gets the instance's Properties when it has a
 * healthy function, unless the module sets healthy_properties = false (a
 * check that never looks at them spares the instance plugin reading
 * them). */
static bool f_healthy_wants_properties(void *self) {
  lua_module_t *m = self;
  lua_State *L = m->rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
  lua_getfield(L, -1, "healthy_properties");
  bool wants;
  if (lua_isboolean(L, -1)) {
    wants = lua_toboolean(L, -1);
  } else {
    lua_getfield(L, -2, "healthy");
    wants = lua_isfunction(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return wants;
}

static void module_free(void *self) { module_unref(self); }

static const ik_flavor_vtable_t lua_flavor_vt = {
    .kind = "lua",
    .validate = f_validate,
    .prepare = f_prepare,
    .healthy = f_healthy,
    .drain = f_drain,
    .free = module_free,
    .healthy_wants_properties = f_healthy_wants_properties,
};

/* --- instance vtable ---------------------------------------------------- */

static int i_validate(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  json_t *args[] = {properties};
  return start_call(self, "validate", RES_NULL, json_null(), cb, data, err, 1, args);
}

static int i_provision(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err) {
  json_t *args[] = {spec};
  return start_call(self, "provision", RES_ID, NULL, cb, data, err, 1, args);
}

static int i_label(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err) {
  json_t *jid = json_string(id);
  json_t *args[] = {jid, labels};
  int rc = start_call(self, "label", RES_NULL, NULL, cb, data, err, 2, args);
  json_decref(jid);
  return rc;
}

static int i_destroy(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err) {
  json_t *jid = json_string(id);
  json_t *ctx = json_pack("{s:s}", "Reason", reason ? reason : "terminate");
  json_t *args[] = {jid, ctx};
  int rc = start_call(self, "destroy", RES_NULL, NULL, cb, data, err, 2, args);
  json_decref(jid);
  json_decref(ctx);
  return rc;
}

static int i_describe(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  json_t *empty = tags ? NULL : json_object();
  json_t *args[] = {tags ? tags : empty, json_boolean(properties)};
  int rc = start_call(self, "describe", RES_DESCRIPTIONS, NULL, cb, data, err, 2, args);
  json_decref(empty);
  return rc;
}

static const ik_instance_vtable_t lua_instance_vt = {
    .kind = "lua",
    .validate = i_validate,
    .provision = i_provision,
    .label = i_label,
    .destroy = i_destroy,
    .describe = i_describe,
    .free = module_free,
};

/* --- loading ---------------------------------------------------------- */

/* Run the file (or require the module) and keep the table it returns,
 * checking the required functions. */
static int load_module(ik_lua_t *rt, const char *name, const char *path, const char *module,
                       const char *const *required, const char *what, lua_module_t **out, ik_err_t *err) {
  lua_State *L = rt->L;
  int top = lua_gettop(L);
  const char *where = path ? path : module;
  int rc;
  if (path) {
    if (luaL_loadfile(L, path) != 0) {
      rc = ik_err_set(err, IK_ELUA, "%s", lua_tostring(L, -1));
      lua_settop(L, top);
      return rc;
    }
    rc = ik__lua_pcall(rt, L, 0, 1, err);
  } else {
    lua_getglobal(L, "require");
    lua_pushstring(L, module);
    rc = ik__lua_pcall(rt, L, 1, 1, err);
  }
  if (rc < 0) {
    one_line(err->msg);
    lua_settop(L, top);
    return rc;
  }
  if (!lua_istable(L, -1)) {
    rc = ik_err_set(err, IK_ELUA, "%s: returned a %s; a %s returns a table of functions", where, luaL_typename(L, -1),
                    what);
    lua_settop(L, top);
    return rc;
  }
  for (size_t i = 0; required[i]; i++) {
    lua_getfield(L, -1, required[i]);
    bool ok = lua_isfunction(L, -1);
    lua_pop(L, 1);
    if (!ok) {
      rc = ik_err_set(err, IK_ELUA, "%s: the %s has no function %s", where, what, required[i]);
      lua_settop(L, top);
      return rc;
    }
  }
  lua_module_t *m = IK_NEW(lua_module_t);
  m->rt = rt;
  m->refs = 1;
  m->ref = ik__ref(rt, L); /* pops the table */
  m->name = ik_strdup(name);
  lua_settop(L, top);
  *out = m;
  return 0;
}

int ik_lua_flavor_load(ik_lua_t *rt, const char *name, const char *path, const char *module,
                       ik_flavor_plugin_t *out, ik_err_t *err) {
  static const char *const required[] = {"validate", "prepare", NULL};
  lua_module_t *m;
  int rc = load_module(rt, name, path, module, required, "flavor", &m, err);
  if (rc < 0) return rc;
  m->is_flavor = true;
  out->vt = &lua_flavor_vt;
  out->self = m;
  return 0;
}

int ik_lua_instance_load(ik_lua_t *rt, const char *name, const char *path, const char *module,
                         ik_instance_plugin_t *out, ik_err_t *err) {
  static const char *const required[] = {"provision", "destroy", "describe", NULL};
  lua_module_t *m;
  int rc = load_module(rt, name, path, module, required, "instance provider", &m, err);
  if (rc < 0) return rc;
  out->vt = &lua_instance_vt;
  out->self = m;
  return 0;
}
