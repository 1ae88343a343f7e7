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
 * ("provision (slowmem): provision refused").
 *
 * A plugin (what the vtables' self points at) outlives the versions of its
 * code: reloading loads the file again into a new module and makes it
 * current; calls in flight hold a reference on the module they started on
 * and finish there. An instance provider's watch(notify) runs in a task of
 * its module; notify queues events that the plugin hands to its watchers
 * from the loop, so the watcher list (the engine's subscription) survives a
 * reload. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "lua/internal.h"
#include "lua/plugin.h"
#include "net/go_types.h"
#include "spi/watchers.h"

#define IK_LUA_MAX_PENDING 256 /* queued events; past it, one "describe again" */
#define IK_LUA_MAX_FILE (16u << 20)

typedef struct lua_plugin lua_plugin_t;

/* What notify (a C closure) holds: the module that handed it out. Cleared
 * when that module is retired, so a stale notify does nothing. */
typedef struct notify_ud {
  struct lua_module *m;
} notify_ud_t;

/* One loaded version of a plugin's code. */
typedef struct lua_module {
  ik_lua_t *rt;
  int refs;         /* the plugin's while current, one per call in flight, one for the watch task */
  int ref;          /* the module's table in the registry */
  char *name;       /* for messages: "flavor-vanilla", "hostname" */
  lua_plugin_t *pl; /* NULL once retired */
  ik_task_t *watch; /* the task running watch(notify), or NULL */
  notify_ud_t *notify;
  int notify_ref; /* keeps *notify alive while the module is current */
} lua_module_t;

struct lua_plugin {
  ik_lua_t *rt;
  char *name;
  char *path;   /* the Lua file, or NULL for a built-in module */
  char *module; /* the module name for require, or NULL */
  bool is_flavor;
  uint64_t hash;     /* of the loaded file's bytes */
  lua_module_t *cur; /* the version new calls run on */
  int refs;          /* the owner's, plus one while events wait for the loop */
  bool freed;
  ik_watchers_t watchers; /* one per subscriber (a group) */
  struct lua_event {
    char *id;  /* NULL: "describe again" */
    char *why; /* what happened, for people, or NULL */
  } * pending; /* queued by notify, delivered from the loop */
  size_t npending;
  bool deferred; /* a delivery is queued on the loop */
};

/* How to turn a method's results into the SPI result. */
typedef enum result_kind {
  RES_NULL,         /* true → null */
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
  json_t *result; /* for calls answered without Lua (defaults) */
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
    int code = strcmp(h, "healthy") == 0 ? 1 : strcmp(h, "unhealthy") == 0 ? 2
                                           : strcmp(h, "unknown") == 0     ? 0
                                                                           : -1;
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

/* Start module[method](args...) in a task, on the plugin's current
 * version. args are nargs JSON values (NULL = nil); a string arg is passed
 * as a JSON string. When the module has no such function, answers dflt
 * (stolen) if given, else fails. */
static int start_call(lua_plugin_t *pl, const char *method, result_kind_t kind, json_t *dflt, ik_spi_cb cb,
                      void *data, ik_err_t *err, int nargs, json_t **args) {
  lua_module_t *m = pl->cur;
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

/* --- events ------------------------------------------------------------- */

/* The owner's reference (dropped by free) and a pending delivery's keep
 * the plugin; the last one frees it. */
static void plugin_unref(lua_plugin_t *pl) {
  if (--pl->refs > 0) return;
  for (size_t i = 0; i < pl->npending; i++) {
    ik_free(pl->pending[i].id);
    ik_free(pl->pending[i].why);
  }
  ik_free(pl->pending);
  ik_watchers_free(&pl->watchers);
  ik_free(pl->name);
  ik_free(pl->path);
  ik_free(pl->module);
  ik_free(pl);
}

/* From the loop: hand the queued events to the watchers. A watcher may
 * unwatch (itself or another) from its callback. */
static void deliver_events(void *data) {
  lua_plugin_t *pl = data;
  struct lua_event *evs = pl->pending;
  size_t n = pl->npending;
  pl->pending = NULL;
  pl->npending = 0;
  pl->deferred = false;
  for (size_t i = 0; i < n; i++) {
    /* plugin_free (maybe from a callback) empties the list: no more calls. */
    ik_watchers_notify(&pl->watchers, evs[i].id, evs[i].why);
    ik_free(evs[i].id);
    ik_free(evs[i].why);
  }
  ik_free(evs);
  plugin_unref(pl);
}

/* Queue an event (id may be NULL: "describe again"; why may be NULL) for
 * the watchers. */
static void queue_event(lua_plugin_t *pl, const char *id, const char *why) {
  if (pl->npending >= IK_LUA_MAX_PENDING) {
    /* A burst: one "describe again" says it all. */
    for (size_t i = 0; i < pl->npending; i++) {
      ik_free(pl->pending[i].id);
      ik_free(pl->pending[i].why);
    }
    pl->npending = 0;
    id = why = NULL;
  }
  if (pl->npending == 0) pl->pending = ik_realloc(pl->pending, IK_LUA_MAX_PENDING * sizeof *pl->pending);
  pl->pending[pl->npending++] = (struct lua_event){id ? ik_strdup(id) : NULL, why ? ik_strdup(why) : NULL};
  if (!pl->deferred) {
    pl->deferred = true;
    pl->refs++;
    ik_loop_defer(pl->rt->loop, deliver_events, pl);
  }
}

/* notify([id [, why]]): the provider says instance id changed or went away
 * (no id: something changed, describe again); why, a few words for people
 * ("exited with status 3"), shows in the group's crash-loop status. Returns true, or false once this
 * version of the provider is retired (reloaded or unloaded) - a watcher
 * loop should end then. Does not yield. */
static int l_notify(lua_State *L) {
  notify_ud_t *ud = lua_touserdata(L, lua_upvalueindex(1));
  const char *id = NULL;
  if (!lua_isnoneornil(L, 1)) {
    if (lua_type(L, 1) != LUA_TSTRING)
      return luaL_error(L, "notify: the instance ID must be a string (or nothing: describe again), got %s",
                        luaL_typename(L, 1));
    id = lua_tostring(L, 1);
  }
  const char *why = luaL_optstring(L, 2, NULL);
  lua_module_t *m = ud->m;
  if (m == NULL || m->pl == NULL || m->pl->freed) {
    lua_pushboolean(L, 0);
    return 1;
  }
  queue_event(m->pl, id, why);
  lua_pushboolean(L, 1);
  return 1;
}

/* The watch task ended: returned (notify kept elsewhere, or nothing to
 * watch), cancelled (reload, shutdown) or failed (logged). */
static void on_watch_done(ik_task_t *task, ik_task_status_t status, const ik_err_t *terr, void *data) {
  lua_module_t *m = data;
  m->watch = NULL;
  if (status == IK_TASK_ERROR) {
    const char *trace = ik_task_traceback(task);
    ik_log(IK_LOG_ERROR, "lua", "provider watch failed: its events stop; the group controller falls back on its poll",
           "plugin", m->name, "error", terr->msg, "traceback", trace ? trace : "", NULL);
  }
  module_unref(m);
}

/* Start m's watch(notify) in a task of its own, when the provider has one. */
static void start_watch(lua_module_t *m) {
  lua_State *L = m->rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
  lua_getfield(L, -1, "watch");
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  m->notify = lua_newuserdata(L, sizeof *m->notify);
  m->notify->m = m;
  lua_pushvalue(L, -1);
  m->notify_ref = ik__ref(m->rt, L);
  lua_pushcclosure(L, l_notify, 1);
  m->refs++;
  m->watch = ik__task_spawn(m->rt, L, 1, on_watch_done, m);
}

/* The module is no longer current: its notify goes dead, its watch task is
 * cancelled, and it goes once its calls in flight are done. */
static void module_retire(lua_module_t *m) {
  m->pl = NULL;
  if (m->notify) {
    m->notify->m = NULL;
    m->notify = NULL;
    if (m->rt->L) ik__unref(m->rt, m->rt->L, m->notify_ref);
  }
  if (m->watch) ik__task_cancel(m->watch); /* on_watch_done drops its ref */
  module_unref(m);
}

static void plugin_free(void *self) {
  lua_plugin_t *pl = self;
  pl->freed = true;
  ik_watchers_free(&pl->watchers);
  module_retire(pl->cur);
  pl->cur = NULL;
  plugin_unref(pl);
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
  lua_plugin_t *pl = self;
  lua_module_t *m = pl->cur;
  if (m == NULL) return false;
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

static const ik_flavor_vtable_t lua_flavor_vt = {
    .kind = "lua",
    .validate = f_validate,
    .prepare = f_prepare,
    .healthy = f_healthy,
    .drain = f_drain,
    .free = plugin_free,
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

/* Every Lua provider can be watched: whether events come depends on the
 * version loaded (one with watch(notify) sends them), and that can change
 * with a reload. */
static int i_watch(void *self, ik_instance_event_cb cb, void *data, ik_err_t *err) {
  (void)err;
  return ik_watchers_add(&((lua_plugin_t *)self)->watchers, cb, data);
}

static void i_unwatch(void *self, int token) { ik_watchers_remove(&((lua_plugin_t *)self)->watchers, token); }

static const ik_instance_vtable_t lua_instance_vt = {
    .kind = "lua",
    .validate = i_validate,
    .provision = i_provision,
    .label = i_label,
    .destroy = i_destroy,
    .describe = i_describe,
    .free = plugin_free,
    .watch = i_watch,
    .unwatch = i_unwatch,
};

/* --- loading ---------------------------------------------------------- */

static const char *const flavor_required[] = {"validate", "prepare", NULL};
static const char *const provider_required[] = {"provision", "destroy", "describe", NULL};

/* FNV-1a, 64 bits: enough to tell whether a file changed. */
static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
  return h;
}

/* Read the file at path (a short synchronous read at a commit point, like
 * the loading itself). Returns 0 and the bytes (caller frees), or IK_ELUA
 * naming the file. */
static int read_file(const char *path, char **out, size_t *len, ik_err_t *err) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return ik_err_set(err, IK_ELUA, "cannot open %s: %s", path, strerror(errno));
  ik_buf_t b = {0};
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= IK_LUA_MAX_FILE) ik_buf_append(&b, chunk, n);
  int failed = ferror(f);
  fclose(f);
  if (failed || b.len > IK_LUA_MAX_FILE) {
    ik_buf_free(&b);
    return ik_err_set(err, IK_ELUA, "cannot read %s: %s", path, failed ? "I/O error" : "larger than 16 MiB");
  }
  *out = ik_buf_steal(&b, len);
  return 0;
}

/* Run the file (or require the module) and make a module of the table it
 * returns, checking the required functions. For a file, *hash receives the
 * hash of the bytes that were loaded. */
static int load_module(lua_plugin_t *pl, lua_module_t **out, uint64_t *hash, ik_err_t *err) {
  ik_lua_t *rt = pl->rt;
  lua_State *L = rt->L;
  int top = lua_gettop(L);
  const char *where = pl->path ? pl->path : pl->module;
  const char *what = pl->is_flavor ? "flavor" : "instance provider";
  const char *const *required = pl->is_flavor ? flavor_required : provider_required;
  int rc;
  if (pl->path) {
    char *text;
    size_t len;
    if ((rc = read_file(pl->path, &text, &len, err)) < 0) return rc;
    *hash = hash_bytes(text, len);
    /* As luaL_loadfile: a first line starting with # (#!/usr/bin/env ...)
     * is skipped, its newline kept so line numbers stay right. */
    size_t skip = len > 0 && text[0] == '#' ? strcspn(text, "\n") : 0;
    char *chunkname = ik_sprintf("@%s", pl->path);
    int lrc = luaL_loadbuffer(L, text + skip, len - skip, chunkname);
    ik_free(chunkname);
    ik_free(text);
    if (lrc != 0) {
      rc = ik_err_set(err, IK_ELUA, "%s", lua_tostring(L, -1));
      goto fail;
    }
    rc = ik__lua_pcall(rt, L, 0, 1, err);
  } else {
    lua_getglobal(L, "require");
    lua_pushstring(L, pl->module);
    rc = ik__lua_pcall(rt, L, 1, 1, err);
  }
  if (rc < 0) {
    one_line(err->msg);
    goto fail;
  }
  if (!lua_istable(L, -1)) {
    rc = ik_err_set(err, IK_ELUA, "%s: returned a %s; a %s returns a table of functions", where, luaL_typename(L, -1),
                    what);
    goto fail;
  }
  for (size_t i = 0; required[i]; i++) {
    lua_getfield(L, -1, required[i]);
    bool ok = lua_isfunction(L, -1);
    lua_pop(L, 1);
    if (!ok) {
      rc = ik_err_set(err, IK_ELUA, "%s: the %s has no function %s", where, what, required[i]);
      goto fail;
    }
  }
  lua_getfield(L, -1, "watch");
  bool bad_watch = !lua_isnil(L, -1) && !lua_isfunction(L, -1);
  lua_pop(L, 1);
  if (!pl->is_flavor && bad_watch) {
    rc = ik_err_set(err, IK_ELUA, "%s: watch is a %s; the instance provider's watch must be a function(notify)",
                    where, luaL_typename(L, -1));
    goto fail;
  }
  lua_module_t *m = IK_NEW(lua_module_t);
  m->rt = rt;
  m->refs = 1;             /* the plugin's */
  m->ref = ik__ref(rt, L); /* pops the table */
  m->name = ik_strdup(pl->name);
  m->pl = pl;
  m->notify_ref = LUA_NOREF;
  lua_settop(L, top);
  *out = m;
  return 0;

fail:
  lua_settop(L, top);
  return rc;
}

static int plugin_load(ik_lua_t *rt, const char *name, const char *path, const char *module, bool is_flavor,
                       lua_plugin_t **out, ik_err_t *err) {
  lua_plugin_t *pl = IK_NEW(lua_plugin_t);
  pl->rt = rt;
  pl->refs = 1;
  pl->name = ik_strdup(name);
  pl->path = path ? ik_strdup(path) : NULL;
  pl->module = path == NULL && module ? ik_strdup(module) : NULL;
  pl->is_flavor = is_flavor;
  int rc = load_module(pl, &pl->cur, &pl->hash, err);
  if (rc < 0) {
    plugin_unref(pl);
    return rc;
  }
  if (!is_flavor) start_watch(pl->cur);
  *out = pl;
  return 0;
}

int ik_lua_flavor_load(ik_lua_t *rt, const char *name, const char *path, const char *module,
                       ik_flavor_plugin_t *out, ik_err_t *err) {
  lua_plugin_t *pl;
  int rc = plugin_load(rt, name, path, module, true, &pl, err);
  if (rc < 0) return rc;
  out->vt = &lua_flavor_vt;
  out->self = pl;
  return 0;
}

int ik_lua_instance_load(ik_lua_t *rt, const char *name, const char *path, const char *module,
                         ik_instance_plugin_t *out, ik_err_t *err) {
  lua_plugin_t *pl;
  int rc = plugin_load(rt, name, path, module, false, &pl, err);
  if (rc < 0) return rc;
  out->vt = &lua_instance_vt;
  out->self = pl;
  return 0;
}

/* --- reloading ---------------------------------------------------------- */

static int plugin_reload(lua_plugin_t *pl, bool only_if_changed, bool *reloaded, ik_err_t *err) {
  if (reloaded) *reloaded = false;
  if (pl->path == NULL)
    return ik_err_set(err, IK_ESTATE, "%s is built in (module %s); only Lua files are reloaded", pl->name,
                      pl->module ? pl->module : "?");
  if (only_if_changed) {
    char *text;
    size_t len;
    int rc = read_file(pl->path, &text, &len, err);
    if (rc < 0) return rc;
    uint64_t h = hash_bytes(text, len);
    ik_free(text);
    if (h == pl->hash) return 0;
  }
  lua_module_t *m;
  uint64_t hash = 0;
  int rc = load_module(pl, &m, &hash, err);
  if (rc < 0) return rc;
  lua_module_t *old = pl->cur;
  pl->cur = m;
  pl->hash = hash;
  module_retire(old);
  if (!pl->is_flavor) {
    /* What changed between the old watch's last look and the new one's
     * first is nobody's event: have the watchers describe again. */
    queue_event(pl, NULL, NULL);
    start_watch(m);
  }
  if (reloaded) *reloaded = true;
  return 0;
}

int ik_lua_flavor_reload(ik_flavor_plugin_t *pl, bool only_if_changed, bool *reloaded, ik_err_t *err) {
  if (reloaded) *reloaded = false;
  if (pl->vt != &lua_flavor_vt) return ik_err_set(err, IK_EINVAL, "not a Lua flavor: nothing to reload");
  return plugin_reload(pl->self, only_if_changed, reloaded, err);
}

int ik_lua_instance_reload(ik_instance_plugin_t *pl, bool only_if_changed, bool *reloaded, ik_err_t *err) {
  if (reloaded) *reloaded = false;
  if (pl->vt != &lua_instance_vt) return ik_err_set(err, IK_EINVAL, "not a Lua instance provider: nothing to reload");
  return plugin_reload(pl->self, only_if_changed, reloaded, err);
}
