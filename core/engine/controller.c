/* The group controller's face: the group SPI, the store, resume
 * (controller.h). The cycle itself is in reconcile.c. */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/redact.h"
#include "loop/complete.h"
#include "engine/controller_internal.h"
#include "engine/engine_metrics.h"
#include "engine/intents.h"
#include "engine/observe.h"
#include "engine/rollout_json.h"
#include "engine/store_file.h"

int64_t ik__now_ms(void) { return (int64_t)(ik_loop_walltime() * 1000.0); }

uint64_t ik__random(ik_controller_t *c) {
  /* splitmix64: jitter and DeletePolicy Random need spread, not secrecy. */
  uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool ik__may_act(ik_controller_t *c) {
  bool ok = c->o.may_act == NULL || c->o.may_act(c->o.may_act_ctx);
  if (!ok && !c->fenced)
    ik_log(IK_LOG_WARN, "group", "not sending plugin actions: this daemon no longer leads (or its lease is past its local deadline)", NULL);
  c->fenced = !ok;
  return ok;
}

/* --- call deadlines ------------------------------------------------------------ */

static void guard_free_if_done(ik__guard_t *gd) {
  if (gd->answered && gd->closed) ik_free(gd);
}

static void on_guard_closed(uv_handle_t *h) {
  ik__guard_t *gd = h->data;
  gd->closed = true;
  guard_free_if_done(gd);
}

/* Disarm: out of the controller's list, timer closed. */
static void guard_disarm(ik__guard_t *gd) {
  ik_controller_t *c = gd->c;
  if (c == NULL) return;
  if (gd->prev) gd->prev->next = gd->next;
  else c->guards = gd->next;
  if (gd->next) gd->next->prev = gd->prev;
  gd->c = NULL;
  uv_close((uv_handle_t *)&gd->timer, on_guard_closed);
}

/* The call's time, once it is settled: answered, or given up at its
 * deadline (a call that outlives it counts as long as its deadline). */
static void guard_observe(const ik__guard_t *gd) {
  const ik_engine_metrics_t *em = ik_engine_metrics();
  ik_metric_observe_since(ik_metric_series(em->plugin_seconds, gd->plugin, gd->method), gd->started_ns);
}

/* The deadline passed (or the controller goes): the caller hears an
 * error now, whatever the plugin does later. */
static void guard_expire(ik__guard_t *gd, int code, const char *why) {
  ik_spi_cb cb = gd->cb;
  void *data = gd->data;
  ik_err_t e = {0};
  ik_err_set(&e, code, "%s", why);
  if (code == IK_ETIMEDOUT) guard_observe(gd);
  gd->settled = true;
  guard_disarm(gd);
  cb(NULL, &e, data);
}

static void on_guard_timer(uv_timer_t *t) {
  ik__guard_t *gd = t->data;
  uint64_t ms = uv_timer_get_repeat(t); /* the deadline, kept here */
  char why[160];
  if (ms % 1000 == 0) snprintf(why, sizeof why, "timed out after %llu s without an answer (the call deadline: daemon --call-timeout)", (unsigned long long)(ms / 1000));
  else snprintf(why, sizeof why, "timed out after %.1f s without an answer (the call deadline: daemon --call-timeout)", (double)ms / 1000.0);
  ik_log(IK_LOG_WARN, "group", "a plugin call passed its deadline; counted as failed", "call", gd->what, "error", why,
         NULL);
  guard_expire(gd, IK_ETIMEDOUT, why);
}

/* The deadline of a call on plugin: its own (--call-timeout NAME=D), else
 * the default. */
static int64_t deadline_of(const ik_controller_t *c, const char *plugin) {
  size_t len = plugin ? strcspn(plugin, "/") : 0;
  for (size_t i = 0; plugin && i < c->o.n_call_timeouts; i++) {
    const char *p = c->call_timeouts[i].plugin;
    if (strcmp(p, plugin) == 0 || (strlen(p) == len && strncmp(p, plugin, len) == 0)) return c->call_timeouts[i].ms;
  }
  return c->o.call_timeout_ms;
}

/* The wire method a stage calls, as the metric labels it: the same name
 * whichever kind of plugin (native, Lua, remote) answers. */
static const char *stage_method(const char *stage) {
  static const char *const methods[][2] = {
      {"provision", "Instance.Provision"},
      {"destroy", "Instance.Destroy"},
      {"label", "Instance.Label"},
      {"describe", "Instance.DescribeInstances"},
      {"prepare", "Flavor.Prepare"},
      {"drain", "Flavor.Drain"},
      {"healthy", "Flavor.Healthy"},
  };
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (strcmp(stage, methods[i][0]) == 0) return methods[i][1];
  return stage; /* the operations' steps are named by their method already ("Flavor.Validate") */
}

ik__guard_t *ik__guard(ik_controller_t *c, const char *stage, const char *plugin, ik_spi_cb cb, void *data) {
  ik__guard_t *gd = IK_NEW(ik__guard_t);
  int64_t ms = deadline_of(c, plugin);
  gd->c = c;
  gd->cb = cb;
  gd->data = data;
  gd->started_ns = uv_hrtime();
  gd->method = stage_method(stage);
  snprintf(gd->plugin, sizeof gd->plugin, "%s", plugin ? plugin : "");
  snprintf(gd->what, sizeof gd->what, "%.40s (%.50s)", stage, plugin ? plugin : "?");
  uv_timer_init(&c->loop->uv, &gd->timer);
  gd->timer.data = gd;
  /* The repeat value only carries the deadline for the message. */
  uv_timer_start(&gd->timer, on_guard_timer, (uint64_t)ms, (uint64_t)ms);
  gd->next = c->guards;
  if (c->guards) c->guards->prev = gd;
  c->guards = gd;
  return gd;
}

void ik__guarded(json_t *result, const ik_err_t *err, void *data) {
  ik__guard_t *gd = data;
  gd->answered = true;
  if (gd->settled) {
    const char *id = json_string_value(result);
    ik_log(IK_LOG_WARN, "group", "a plugin answered a call already given up (deadline or shutdown); the answer is dropped, the next describe sees its effect",
           "call", gd->what, "result", err ? "error" : id ? id
                                                          : "ok",
           "error", err ? err->msg : "", NULL);
    guard_free_if_done(gd);
    return;
  }
  ik_spi_cb cb = gd->cb;
  void *cb_data = gd->data;
  guard_observe(gd);
  gd->settled = true;
  guard_disarm(gd); /* freed from its close callback: never before this returns */
  cb(result, err, cb_data);
}

void ik__guard_refused(ik__guard_t *gd) {
  gd->answered = true;
  gd->settled = true;
  guard_disarm(gd);
}

/* --- groups ------------------------------------------------------------------ */

ik__group_t *ik__group_find(ik_controller_t *c, const char *id) {
  for (ik__group_t *g = c->groups; g; g = g->next)
    if (strcmp(g->id, id) == 0) return g;
  return NULL;
}

void ik__group_ref(ik__group_t *g) { g->refs++; }

static void free_plugins(ik__group_t *g) {
  if (g->inst.vt) g->inst.vt->free(g->inst.self);
  if (g->flavor.vt) g->flavor.vt->free(g->flavor.self);
  g->inst.vt = NULL;
  g->flavor.vt = NULL;
}

static void controller_release(ik_controller_t *c);

void ik__group_unref(ik__group_t *g) {
  if (--g->refs > 0) return;
  ik_controller_t *c = g->c;
  free_plugins(g);
  while (g->actions) {
    ik__action_t *a = g->actions;
    g->actions = a->next;
    ik__action_free(a);
  }
  while (g->failures) {
    ik__failure_t *f = g->failures;
    g->failures = f->next;
    ik_free(f->key);
    ik_free(f);
  }
  ik__group_clear_observation(g);
  ik_free(g->queue);
  json_decref(g->last_plan);
  json_decref(g->replacements);
  json_decref(g->exits);
  json_decref(g->intents);
  ik_free(g->crash.instance);
  ik_free(g->crash.exit);
  json_decref(g->spec_json);
  ik_group_spec_free(&g->spec);
  ik_rollout_state_free(&g->state);
  ik_free(g->state_text);
  ik_free(g->id);
  ik_free(g);
  c->live--;
  controller_release(c);
}

void ik_controller_free(ik_controller_t *c) { ik_controller_stop(c, IK_ECANCELED, "the daemon is shutting down"); }

int ik__group_plugins(ik__group_t *g, ik_err_t *err) {
  ik_resolver_t *r = &g->c->o.resolver;
  int rc;
  if (g->inst.vt == NULL && (rc = r->instance(r->ctx, g->spec.instance_plugin, &g->inst, err)) < 0) {
    g->inst.vt = NULL;
    return rc;
  }
  if (g->flavor.vt == NULL && (rc = r->flavor(r->ctx, g->spec.flavor_plugin, &g->flavor, err)) < 0) {
    g->flavor.vt = NULL;
    return rc;
  }
  return 0;
}

/* Stop managing g and drop the controller's reference. */
static void group_remove(ik__group_t *g) {
  ik_controller_t *c = g->c;
  for (ik__group_t **p = &c->groups; *p; p = &(*p)->next) {
    if (*p == g) {
      *p = g->next;
      break;
    }
  }
  ik__group_stop(g);
  g->freed = true;
  free_plugins(g); /* cancels calls in flight; their callbacks only drop references */
  ik__group_unref(g);
}

/* A new group from a parsed spec (both stolen), a state (stolen) and
 * the intents pending in the store (stolen; NULL: none). */
static ik__group_t *group_install(ik_controller_t *c, json_t *spec_json, ik_group_spec_t *spec,
                                  ik_rollout_state_t *state, bool destroying, json_t *intents) {
  ik__group_t *g = IK_NEW(ik__group_t);
  g->c = c;
  g->intents = intents ? intents : json_object();
  g->intents_unresolved = json_object_size(g->intents) > 0;
  c->live++;
  g->refs = 1;
  g->spec_gen = 1; /* summary_gen 0: "pending" until the first plan is adopted */
  g->replacements = json_object();
  g->exits = json_object();
  g->id = ik_strdup(spec->id);
  g->spec_json = spec_json;
  g->spec = *spec;
  memset(spec, 0, sizeof *spec);
  if (state) {
    g->state = *state;
    json_t *doc = ik_rollout_state_to_json(&g->state, destroying);
    g->state_text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
  } else {
    ik_rollout_state_init(&g->state);
  }
  g->destroying = destroying;
  g->next = c->groups;
  c->groups = g;
  ik_err_t err = {0};
  ik__group_start(g, &err);
  return g;
}

/* Replace g's spec (both stolen); plugins are looked up again when named
 * differently. */
static void group_update(ik__group_t *g, json_t *spec_json, ik_group_spec_t *spec) {
  bool inst_changed = strcmp(g->spec.instance_plugin, spec->instance_plugin) != 0;
  bool flavor_changed = strcmp(g->spec.flavor_plugin, spec->flavor_plugin) != 0;
  if (inst_changed) {
    if (g->watch_token > 0 && g->inst.vt && g->inst.vt->unwatch) g->inst.vt->unwatch(g->inst.self, g->watch_token);
    g->watch_token = 0;
    if (g->inst.vt) g->inst.vt->free(g->inst.self);
    g->inst.vt = NULL;
  }
  if (flavor_changed && g->flavor.vt) {
    g->flavor.vt->free(g->flavor.self);
    g->flavor.vt = NULL;
  }
  json_decref(g->spec_json);
  ik_group_spec_free(&g->spec);
  g->spec_json = spec_json;
  g->spec = *spec;
  memset(spec, 0, sizeof *spec);
  g->spec_gen++; /* the summary is the old spec's until a plan of this one */
  g->n_lost = 0; /* what the next provisions replace is the new spec's (heal metric) */
  ik__group_schedule(g, 0);
}

static int not_watched(const char *id, ik_err_t *err) {
  return ik_err_set(err, IK_ENOTFOUND, "Group '%s' is not being watched", id);
}

static int store_put(ik_controller_t *c, const char *id, const char *what, json_t *doc, ik_spi_cb cb, void *data,
                     ik_err_t *err) {
  char key[300];
  snprintf(key, sizeof key, "groups/%s/%s", id, what);
  return c->o.store->vt->put(c->o.store->self, key, doc, cb, data, err);
}

static int store_del(ik_controller_t *c, const char *id, const char *what, ik_spi_cb cb, void *data, ik_err_t *err) {
  char key[300];
  snprintf(key, sizeof key, "groups/%s/%s", id, what);
  return c->o.store->vt->del(c->o.store->self, key, cb, data, err);
}

/* --- an operation that replies later --------------------------------------------- */

/* An operation is a table of named steps (op_kind_t). A step starts one
 * call whose answer comes back to op_next, which lets the operation's
 * check look at the answer, then runs the next step with it. Adding a
 * step is adding one row and its function. */

typedef struct op op_t;

/* One step. result: the previous step's answer (borrowed; NULL for the
 * first). Returns 0 once it has started a call answered through op_next,
 * or ended the operation itself (op_reply, op_fail: op is gone); or a
 * negative code with err filled, which ends the operation as a failure
 * of this step, like an error answer to its call. */
typedef int (*op_run_fn)(op_t *op, json_t *result, ik_err_t *err);

typedef struct op_step {
  const char *name; /* the call it makes, as the deadline's log and the errors name it: "Flavor.Validate" */
  op_run_fn run;
} op_step_t;

typedef struct op_kind {
  const op_step_t *steps;
  /* Looks at each answer, err (may be NULL) being op's current step's
   * error: returns 0 to go on, or a negative code with out filled - the
   * error the caller hears. An error always ends the operation; without a
   * check the caller hears it as it is. May be NULL. */
  int (*check)(op_t *op, const ik_err_t *err, ik_err_t *out);
  void (*free)(op_t *op); /* frees what the kind adds to op_t; may be NULL */
} op_kind_t;

/* What every operation has; each kind's struct starts with it. */
struct op {
  const op_kind_t *kind;
  ik_controller_t *c;
  ik_spi_cb cb;
  void *data;
  char *id;
  int step;           /* the step whose call is out; -1 before the first */
  const char *plugin; /* what that call went to (borrowed), for the errors */
};

/* A new operation of kind, size bytes (its struct), on group id (copied;
 * may be NULL). */
static void *op_new(ik_controller_t *c, const op_kind_t *kind, size_t size, const char *id, ik_spi_cb cb, void *data) {
  op_t *op = ik_calloc(1, size);
  op->kind = kind;
  op->c = c;
  c->live++;
  op->cb = cb;
  op->data = data;
  op->id = ik_strdup(id);
  op->step = -1;
  return op;
}

static void op_free(op_t *op) {
  if (op->kind->free) op->kind->free(op);
  ik_free(op->id);
  ik_controller_t *c = op->c;
  ik_free(op);
  c->live--;
  controller_release(c);
}

static void op_fail(op_t *op, const ik_err_t *err) {
  op->cb(NULL, err, op->data);
  op_free(op);
}

static void op_reply(op_t *op, json_t *result) {
  op->cb(result, NULL, op->data);
  json_decref(result);
  op_free(op);
}

static const char *op_step_name(const op_t *op) { return op->kind->steps[op->step].name; }

/* An answer (err may be NULL) to the current step: true when it ended the
 * operation, which then is gone. */
static bool op_ended(op_t *op, const ik_err_t *err) {
  ik_err_t e = {0};
  if (op->kind->check && op->kind->check(op, err, &e) < 0) {
    op_fail(op, &e);
    return true;
  }
  if (err) {
    op_fail(op, err);
    return true;
  }
  return false;
}

/* Run step i; its refusal ends the operation as its failure. */
static void op_run(op_t *op, int i, json_t *result) {
  ik_err_t e = {0};
  op->step = i;
  if (op->kind->steps[i].run(op, result, &e) < 0) op_ended(op, &e);
}

/* The callback of every step's call: the next step gets the answer. */
static void op_next(json_t *result, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (op_ended(op, err)) return;
  op_run(op, op->step + 1, result);
}

/* Run the first step now, for an SPI function: on failure op is freed and
 * the code returned, and the caller's callback is never called. */
static int op_start(op_t *op, ik_err_t *err) {
  op->step = 0;
  int rc = op->kind->steps[0].run(op, NULL, err);
  if (rc < 0) op_free(op);
  return rc;
}

/* Complete from the loop (libuv's rule) with result (stolen). */
static int reply_later(ik_controller_t *c, json_t *result, ik_spi_cb cb, void *data) {
  return ik_loop_complete(c->loop, cb, data, result, NULL);
}

/* Start the operation's first step from the loop: the caller's callback
 * never runs inside the SPI call. */
static int op_start_later(op_t *op) { return reply_later(op->c, NULL, op_next, op); }

/* A deadline for the call the current step makes on plugin, answered
 * through op_next. */
static ik__guard_t *op_guard(op_t *op, const char *plugin) {
  op->plugin = plugin;
  return ik__guard(op->c, op_step_name(op), plugin, op_next, op);
}

/* The current step's call on the store: groups/<id>/<what>. */
static int op_store_put(op_t *op, const char *what, json_t *doc, ik_err_t *err) {
  op->plugin = "groups";
  return store_put(op->c, op->id, what, doc, op_next, op, err);
}

static int op_store_del(op_t *op, const char *what, ik_err_t *err) {
  op->plugin = "groups";
  return store_del(op->c, op->id, what, op_next, op, err);
}

/* The current step's call: what inst (named plugin) has tagged as op's
 * group's. */
static int op_describe_members(op_t *op, const char *plugin, ik_instance_plugin_t *inst, ik_err_t *err) {
  json_t *tags = json_pack("{s:s}", "infrakit.group", op->id);
  ik__guard_t *gd = op_guard(op, plugin);
  int rc = inst->vt->describe(inst->self, tags, false, ik__guarded, gd, err);
  if (rc < 0) ik__guard_refused(gd);
  json_decref(tags);
  return rc;
}

/* --- CommitGroup ---------------------------------------------------------------- */

typedef struct commit_op {
  op_t op;
  json_t *spec_json;
  ik_group_spec_t spec;
  bool pretend;
  ik_instance_plugin_t inst; /* resolved for the commit; handed to a new group */
  ik_flavor_plugin_t flavor;
  ik_buf_t details;
} commit_op_t;

static void commit_free(op_t *op) {
  commit_op_t *co = (commit_op_t *)op;
  if (co->inst.vt) co->inst.vt->free(co->inst.self);
  if (co->flavor.vt) co->flavor.vt->free(co->flavor.self);
  json_decref(co->spec_json);
  ik_group_spec_free(&co->spec);
  ik_buf_free(&co->details);
}

/* Details: what the commit does now, from a plan over what describe saw.
 * Health is what the controller last saw (healthy when new). */
static void commit_details(commit_op_t *co, json_t *descs) {
  ik__group_t *g = ik__group_find(co->op.c, co->spec.id);
  ik_plan_instance_t *insts = NULL;
  size_t n = 0;
  ik_err_t err = {0};
  if (ik_observe_descriptions(descs, &insts, &n, &err) < 0) {
    ik_buf_printf(&co->details, "%s", err.msg);
    return;
  }
  int64_t now = ik__now_ms();
  for (size_t i = 0; i < n; i++) {
    insts[i].health = IK_HEALTH_HEALTHY;
    insts[i].created_ms = now;
    for (size_t j = 0; g && j < g->n_seen; j++) {
      if (strcmp(g->seen[j].id, insts[i].id) != 0) continue;
      insts[i].health = g->seen[j].health;
      if (g->seen[j].first_ms > 0) insts[i].created_ms = g->seen[j].first_ms;
    }
  }
  ik_plan_t plan;
  ik_plan_input_t in = {.spec = &co->spec, .instances = insts, .n_instances = n, .state = g ? &g->state : NULL, .now_ms = now, .poll_ms = co->op.c->o.poll_ms, .seed = 1};
  if (ik_plan_compute(&in, &plan, &err) == 0) {
    if (g == NULL) ik_buf_printf(&co->details, "Managing %llu instances", (unsigned long long)co->spec.size);
    else ik_plan_summary_format(&co->details, &plan.summary);
    for (size_t i = 0; i < plan.n_actions; i++) {
      ik_buf_puts(&co->details, "\n  ");
      ik_plan_action_format(&co->details, &plan.actions[i]);
    }
    ik_plan_free(&plan);
  } else {
    ik_buf_printf(&co->details, "%s", err.msg);
  }
  ik_free(insts);
}

/* Errors name the group, the plugin and the step: "group web:
 * flavor-vanilla (Flavor.Validate): ...". */
static int commit_check(op_t *op, const ik_err_t *err, ik_err_t *out) {
  commit_op_t *co = (commit_op_t *)op;
  if (op->c->closing)
    return ik_err_set(out, op->c->closing_code, "group %s: %s", co->spec.id ? co->spec.id : "", op->c->closing_why);
  if (err) return ik_err_set(out, err->code, "group %s: %s (%s): %s", co->spec.id, op->plugin, op_step_name(op), err->msg);
  return 0;
}

/* reference §4.3: flavor validate, then instance validate */
static int commit_validate_flavor(op_t *op, json_t *result, ik_err_t *err) {
  commit_op_t *co = (commit_op_t *)op;
  json_t *alloc = ik_group_spec_allocation(&co->spec);
  ik__guard_t *gd = op_guard(op, co->spec.flavor_plugin);
  int rc = co->flavor.vt->validate(co->flavor.self, co->spec.flavor_properties, alloc, ik__guarded, gd, err);
  if (rc < 0) ik__guard_refused(gd);
  json_decref(alloc);
  return rc;
}

static int commit_validate_instance(op_t *op, json_t *result, ik_err_t *err) {
  commit_op_t *co = (commit_op_t *)op;
  ik__guard_t *gd = op_guard(op, co->spec.instance_plugin);
  int rc = co->inst.vt->validate(co->inst.self, co->spec.instance_properties, ik__guarded, gd, err);
  if (rc < 0) ik__guard_refused(gd);
  return rc;
}

static int commit_describe(op_t *op, json_t *result, ik_err_t *err) {
  commit_op_t *co = (commit_op_t *)op;
  return op_describe_members(op, co->spec.instance_plugin, &co->inst, err);
}

/* The details from the members described; with --pretend, the reply. */
static int commit_persist(op_t *op, json_t *result, ik_err_t *err) {
  commit_op_t *co = (commit_op_t *)op;
  commit_details(co, result);
  if (co->pretend) {
    op_reply(op, json_pack("{s:s, s:s}", "ID", co->spec.id, "Details", ik_buf_cstr(&co->details)));
    return 0;
  }
  return op_store_put(op, "spec", co->spec_json, err);
}

/* Durable: the controller takes the spec. */
static int commit_apply(op_t *op, json_t *result, ik_err_t *err) {
  commit_op_t *co = (commit_op_t *)op;
  ik_controller_t *c = op->c;
  ik__group_t *g = ik__group_find(c, co->spec.id);
  const char *id = co->spec.id;
  json_t *reply = json_pack("{s:s, s:s}", "ID", id, "Details", ik_buf_cstr(&co->details));
  ik_events_emit(c->events, id, "committed",
                 json_pack("{s:s, s:I, s:b}", "config_hash", co->spec.config_hash, "size", (json_int_t)co->spec.size,
                           "update", g != NULL));
  ik_log(IK_LOG_INFO, "group", "committed", "group", id, "config", co->spec.config_hash, NULL);
  if (g && g->destroying) {
    ik_err_t e = {0};
    ik_err_set(&e, IK_ESTATE, "group %s is being destroyed; commit again once it is gone", id);
    json_decref(reply);
    op_fail(op, &e);
    return 0;
  }
  json_t *spec_json = co->spec_json;
  co->spec_json = NULL;
  if (g) {
    group_update(g, spec_json, &co->spec);
  } else {
    g = group_install(c, spec_json, &co->spec, NULL, false, NULL);
    g->inst = co->inst; /* already resolved: reuse */
    g->flavor = co->flavor;
    co->inst.vt = NULL;
    co->flavor.vt = NULL;
  }
  op_reply(op, reply);
  return 0;
}

static const op_step_t commit_steps[] = {
    {"Flavor.Validate", commit_validate_flavor},
    {"Instance.Validate", commit_validate_instance},
    {"Instance.DescribeInstances", commit_describe},
    {"store", commit_persist},
    {"apply", commit_apply},
};

static const op_kind_t commit_kind = {
    .steps = commit_steps,
    .check = commit_check,
    .free = commit_free,
};

static int c_commit(void *self, json_t *spec, bool pretend, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  commit_op_t *co = op_new(c, &commit_kind, sizeof *co, NULL, cb, data);
  co->pretend = pretend;
  /* Its secrets are masked in every output from now on - the event log,
   * describe, the daemon's log, RPC errors - even when a plugin's error
   * repeats them; first, in case the spec itself is refused. Then parsed
   * and bounded (ID, size) before any plugin is called. */
  ik_redact_register_json(spec);
  int rc = ik_group_spec_parse_limited(spec, c->o.max_group_size, &co->spec, err);
  if (rc == 0 && co->spec.scaling.set && c->o.check_policy) {
    json_t *policy = ik_json_get(ik_json_get(ik_json_get(spec, "Properties"), "Scaling"), "Policy");
    rc = c->o.check_policy(c->o.check_policy_ctx, policy, err);
  }
  if (rc == 0) {
    ik_resolver_t *r = &c->o.resolver;
    if ((rc = r->instance(r->ctx, co->spec.instance_plugin, &co->inst, err)) < 0) co->inst.vt = NULL;
    else if ((rc = r->flavor(r->ctx, co->spec.flavor_plugin, &co->flavor, err)) < 0) co->flavor.vt = NULL;
    if (rc < 0) {
      char msg[IK_ERR_MSG_MAX];
      snprintf(msg, sizeof msg, "%s", err->msg);
      ik_err_set(err, rc, "group %s: %s", co->spec.id, msg);
    }
  }
  if (rc < 0) {
    op_free(&co->op);
    return rc;
  }
  co->op.id = ik_strdup(co->spec.id);
  co->spec_json = json_deep_copy(spec);
  return op_start_later(&co->op);
}

/* --- FreeGroup ------------------------------------------------------------------- */

/* Steps of FreeGroup and DestroyGroup: the group's documents go. */
static int forget_state(op_t *op, json_t *result, ik_err_t *err) { return op_store_del(op, "state", err); }

static int forget_spec(op_t *op, json_t *result, ik_err_t *err) { return op_store_del(op, "spec", err); }

static int forget_intents(op_t *op, json_t *result, ik_err_t *err) { return op_store_del(op, "intents", err); }

/* The autoscaler's memory (lua/infrakit/_autoscaler.lua): a group of the
 * same ID committed later starts without the old cooldown. */
static int forget_scaling(op_t *op, json_t *result, ik_err_t *err) { return op_store_del(op, "scaling", err); }

static int free_stop(op_t *op, json_t *result, ik_err_t *err) {
  ik__group_t *g = ik__group_find(op->c, op->id);
  if (g) group_remove(g);
  ik_events_emit(op->c->events, op->id, "freed", NULL);
  ik_log(IK_LOG_INFO, "group", "freed: no longer managed, instances left as they are", "group", op->id, NULL);
  op_reply(op, json_null());
  return 0;
}

static const op_step_t free_steps[] = {
    {"store", forget_state},
    {"store", forget_spec},
    {"store", forget_intents},
    {"store", forget_scaling},
    {"stop", free_stop},
};

static const op_kind_t free_kind = {
    .steps = free_steps,
};

/* Forget the group: its documents first (a crash in between leaves it
 * managed, never half-forgotten), then stop. Instances are untouched. */
static int c_free_group(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  if (ik__group_find(c, id) == NULL) return not_watched(id, err);
  return op_start(op_new(c, &free_kind, sizeof(op_t), id, cb, data), err);
}

/* --- DescribeGroup --------------------------------------------------------------- */

static int describe_members(op_t *op, json_t *result, ik_err_t *err) {
  ik__group_t *g = ik__group_find(op->c, op->id);
  return op_describe_members(op, g->spec.instance_plugin, &g->inst, err);
}

static int describe_reply(op_t *op, json_t *result, ik_err_t *err) {
  ik__group_t *g = ik__group_find(op->c, op->id);
  bool converged = g && !g->destroying && !ik__group_summary_stale(g) && g->summary.phase == IK_PHASE_STEADY &&
                   g->actions == NULL && g->cycles > 0;
  json_t *insts = json_array();
  size_t i;
  json_t *d;
  json_array_foreach(result, i, d) {
    const char *grp = json_string_value(json_object_get(json_object_get(d, "Tags"), "infrakit.group"));
    if (grp && strcmp(grp, op->id) == 0) json_array_append(insts, d);
  }
  op_reply(op, json_pack("{s:o, s:b}", "Instances", insts, "Converged", converged));
  return 0;
}

static const op_step_t describe_steps[] = {
    {"Instance.DescribeInstances", describe_members},
    {"reply", describe_reply},
};

static const op_kind_t describe_kind = {
    .steps = describe_steps,
};

/* InfraKit's view: the members as the instance plugin lists them now, and
 * whether the group is at its spec with nothing in flight. */
static int c_describe(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  ik__group_t *g = ik__group_find(c, id);
  if (g == NULL) return not_watched(id, err);
  int rc = ik__group_plugins(g, err);
  if (rc < 0) return rc;
  return op_start(op_new(c, &describe_kind, sizeof(op_t), id, cb, data), err);
}

/* --- DestroyGroup ---------------------------------------------------------------- */

/* Every answer finds the group still there; an error leaves it in state
 * destroying, said in describe. */
static int destroy_check(op_t *op, const ik_err_t *err, ik_err_t *out) {
  ik__group_t *g = ik__group_find(op->c, op->id);
  if (op->c->closing)
    return ik_err_set(out, op->c->closing_code, "destroy group %s: %s; destroy it again", op->id, op->c->closing_why);
  if (err) {
    ik_err_set(out, err->code, "destroy group %s: %s; the group stays in state destroying (destroy it again to retry)",
               op->id, err->msg);
    if (g) snprintf(g->last_error, sizeof g->last_error, "%s", out->msg);
    return out->code;
  }
  if (g == NULL) return ik_err_set(out, IK_ESTATE, "group %s was freed while being destroyed", op->id);
  return 0;
}

/* A crash from here on resumes the destroy. */
static int destroy_mark(op_t *op, json_t *result, ik_err_t *err) {
  ik__group_t *g = ik__group_find(op->c, op->id);
  json_t *doc = ik_rollout_state_to_json(&g->state, true);
  int rc = op_store_put(op, "state", doc, err);
  json_decref(doc);
  return rc;
}

static int destroy_describe(op_t *op, json_t *result, ik_err_t *err) {
  ik__group_t *g = ik__group_find(op->c, op->id);
  int rc = ik__group_plugins(g, err);
  if (rc == 0) rc = op_describe_members(op, g->spec.instance_plugin, &g->inst, err);
  return rc;
}

static int destroy_members(op_t *op, json_t *descs, ik_err_t *err) {
  ik__group_t *g = ik__group_find(op->c, op->id);
  json_t *ids = json_array();
  size_t i;
  json_t *d;
  json_array_foreach(descs, i, d) {
    const char *grp = json_string_value(json_object_get(json_object_get(d, "Tags"), "infrakit.group"));
    const char *id = json_string_value(json_object_get(d, "ID"));
    if (grp && id && strcmp(grp, op->id) == 0) json_array_append_new(ids, json_string(id));
  }
  ik_err_t e = {0};
  int rc = ik__group_destroy_members(g, ids, op_next, op, &e);
  json_decref(ids);
  if (rc < 0) op_fail(op, &e); /* as it is: nothing was destroyed */
  return 0;
}

static int destroy_remove(op_t *op, json_t *result, ik_err_t *err) {
  ik_events_emit(op->c->events, op->id, "destroyed", NULL);
  ik_log(IK_LOG_INFO, "group", "destroyed", "group", op->id, NULL);
  group_remove(ik__group_find(op->c, op->id));
  op_reply(op, json_null());
  return 0;
}

static const op_step_t destroy_steps[] = {
    {"store", destroy_mark},
    {"Instance.DescribeInstances", destroy_describe},
    {"destroy", destroy_members},
    {"store", forget_spec},
    {"store", forget_state},
    {"store", forget_intents},
    {"store", forget_scaling},
    {"remove", destroy_remove},
};

static const op_kind_t destroy_kind = {
    .steps = destroy_steps,
    .check = destroy_check,
};

/* Destroy every member (drained first; drain errors are warnings, as in
 * InfraKit), then forget the group. Unlike InfraKit, a destroy that fails
 * fails the call and leaves the group in state destroying. */
static int c_destroy(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  ik__group_t *g = ik__group_find(c, id);
  if (g == NULL) return not_watched(id, err);
  g->destroying = true;
  g->last_error[0] = '\0';
  return op_start_later(op_new(c, &destroy_kind, sizeof(op_t), id, cb, data));
}

/* --- InspectGroups, Size, SetSize ------------------------------------------------- */

static int c_inspect(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  json_t *specs = json_array();
  for (ik__group_t *g = c->groups; g; g = g->next) json_array_insert(specs, 0, g->spec_json);
  return reply_later(c, specs, cb, data);
}

static int c_size(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  ik__group_t *g = ik__group_find(c, id);
  if (g == NULL) return not_watched(id, err);
  return reply_later(c, json_integer((json_int_t)g->spec.size), cb, data);
}

/* A copy of g's committed spec with Allocation.Size = size, parsed. */
static int resized(ik__group_t *g, uint64_t size, json_t **out, ik_group_spec_t *spec, ik_err_t *err) {
  json_t *copy = json_deep_copy(g->spec_json);
  json_t *props = ik_json_get(copy, "Properties");
  json_t *alloc = ik_json_get(props, "Allocation");
  /* Replace whatever case the key was written in with Go's. */
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe(alloc, tmp, k, v) {
    if (strcasecmp(k, "Size") == 0) json_object_del(alloc, k);
  }
  json_object_set_new(alloc, "Size", json_integer((json_int_t)size));
  int rc = ik_group_spec_parse_limited(copy, g->c->o.max_group_size, spec, err);
  if (rc < 0) {
    json_decref(copy);
    return rc;
  }
  *out = copy;
  return 0;
}

/* SetSize and DestroyInstances: the group's spec at its new size. */
typedef struct resize_op {
  op_t op;
  json_t *spec_json; /* NULL: the size does not change (pets) */
  ik_group_spec_t spec;
  json_t *ids; /* DestroyInstances: the members to destroy */
} resize_op_t;

static void resize_free(op_t *op) {
  resize_op_t *ro = (resize_op_t *)op;
  json_decref(ro->spec_json);
  json_decref(ro->ids);
  ik_group_spec_free(&ro->spec);
}

/* The new size, durable before it takes effect; nothing to write for pets. */
static int resize_persist(op_t *op, json_t *result, ik_err_t *err) {
  resize_op_t *ro = (resize_op_t *)op;
  if (ro->spec_json == NULL) return op_start_later(op);
  return op_store_put(op, "spec", ro->spec_json, err);
}

/* The group takes the new spec. */
static void resize_apply(resize_op_t *ro, ik__group_t *g) {
  json_t *sj = ro->spec_json;
  ro->spec_json = NULL;
  group_update(g, sj, &ro->spec);
}

static int set_size_apply(op_t *op, json_t *result, ik_err_t *err) {
  resize_op_t *ro = (resize_op_t *)op;
  ik__group_t *g = ik__group_find(op->c, op->id);
  if (g && !g->destroying) {
    ik_events_emit(op->c->events, op->id, "scaled", json_pack("{s:I, s:I}", "from", (json_int_t)g->spec.size, "to", (json_int_t)ro->spec.size));
    resize_apply(ro, g);
  }
  op_reply(op, json_null());
  return 0;
}

static const op_step_t set_size_steps[] = {
    {"store", resize_persist},
    {"apply", set_size_apply},
};

static const op_kind_t set_size_kind = {
    .steps = set_size_steps,
    .free = resize_free,
};

/* Scale only: the config hash is unchanged, so nothing is replaced. */
static int c_set_size(void *self, const char *id, uint64_t size, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  ik__group_t *g = ik__group_find(c, id);
  if (g == NULL) return not_watched(id, err);
  if (g->spec.pets)
    return ik_err_set(err, IK_EINVAL, "group %s allocates pets (LogicalIDs): change its LogicalIDs and commit instead of setting a size", id);
  if (size > c->o.max_group_size)
    return ik_err_set(err, IK_EINVAL,
                      "size %llu is above the limit of %llu instances per group (daemon --max-group-size, "
                      "INFRAKIT_MAX_GROUP_SIZE)",
                      (unsigned long long)size, (unsigned long long)c->o.max_group_size);
  resize_op_t *ro = op_new(c, &set_size_kind, sizeof *ro, id, cb, data);
  int rc = resized(g, size, &ro->spec_json, &ro->spec, err);
  if (rc < 0) {
    op_free(&ro->op);
    return rc;
  }
  return op_start(&ro->op, err);
}

/* --- DestroyInstances ---------------------------------------------------------------- */

/* An error is heard as it is; an answer finds the group still there. */
static int destroy_instances_check(op_t *op, const ik_err_t *err, ik_err_t *out) {
  if (err == NULL && ik__group_find(op->c, op->id) == NULL)
    return ik_err_set(out, IK_ESTATE, "group %s was freed meanwhile", op->id);
  return 0;
}

/* The smaller size is durable: now destroy. */
static int destroy_instances_destroy(op_t *op, json_t *result, ik_err_t *err) {
  resize_op_t *ro = (resize_op_t *)op;
  ik__group_t *g = ik__group_find(op->c, op->id);
  if (ro->spec_json) resize_apply(ro, g);
  return ik__group_destroy_members(g, ro->ids, op_next, op, err);
}

static int destroy_instances_reply(op_t *op, json_t *result, ik_err_t *err) {
  op_reply(op, json_null());
  return 0;
}

static const op_step_t destroy_instances_steps[] = {
    {"store", resize_persist},
    {"destroy", destroy_instances_destroy},
    {"reply", destroy_instances_reply},
};

static const op_kind_t destroy_instances_kind = {
    .steps = destroy_instances_steps,
    .check = destroy_instances_check,
    .free = resize_free,
};

/* Destroy these members (terminate, drained first) and, for cattle, lower
 * the size by as many, so they are not replaced (reference §4.3). IDs that
 * are not members are refused (InfraKit skips them silently). */
static int c_destroy_instances(void *self, const char *id, json_t *ids, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  ik__group_t *g = ik__group_find(c, id);
  if (g == NULL) return not_watched(id, err);
  if (g->destroying) return ik_err_set(err, IK_ESTATE, "group %s is being destroyed", id);
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    if (!json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Instances[%zu]: want an instance ID", i);
    if (ik__group_desc(g, json_string_value(v)) == NULL)
      return ik_err_set(err, IK_ENOTFOUND, "Instances[%zu]: %s is not an instance of group %s (as last observed)", i,
                        json_string_value(v), id);
  }
  resize_op_t *ro = op_new(c, &destroy_instances_kind, sizeof *ro, id, cb, data);
  ro->ids = json_incref(ids);
  if (!g->spec.pets) {
    uint64_t n = json_array_size(ids), size = g->spec.size > n ? g->spec.size - n : 0;
    int rc = resized(g, size, &ro->spec_json, &ro->spec, err);
    if (rc < 0) {
      op_free(&ro->op);
      return rc;
    }
  }
  return op_start(&ro->op, err);
}

/* --- ours: Promote, Pause, Resume, Status ----------------------------------------- */

/* An operator's change to the rollout state: promote sets canary_promoted,
 * pause and resume set or clear paused. Durable (the store) before it
 * takes effect (the group's state), then a cycle plans with it. */
typedef struct state_op {
  op_t op;
  bool *(*field)(ik_rollout_state_t *st); /* the flag to set */
  bool value;
  const char *event; /* "promoted", "rollout-paused", "rollout-resumed" ("resumed" is a restart's) */
} state_op_t;

static bool *field_promoted(ik_rollout_state_t *st) { return &st->canary_promoted; }
static bool *field_paused(ik_rollout_state_t *st) { return &st->paused; }

static int state_persist(op_t *op, json_t *result, ik_err_t *err) {
  state_op_t *so = (state_op_t *)op;
  ik__group_t *g = ik__group_find(op->c, op->id);
  ik_rollout_state_t st;
  ik_rollout_state_copy(&st, &g->state);
  *so->field(&st) = so->value;
  json_t *doc = ik_rollout_state_to_json(&st, false);
  ik_rollout_state_free(&st);
  int rc = op_store_put(op, "state", doc, err);
  json_decref(doc);
  return rc;
}

static int state_apply(op_t *op, json_t *result, ik_err_t *err) {
  state_op_t *so = (state_op_t *)op;
  ik__group_t *g = ik__group_find(op->c, op->id);
  if (g) {
    *so->field(&g->state) = so->value;
    g->state_gen++;
    ik_free(g->state_text);
    g->state_text = NULL;
    ik_events_emit(op->c->events, op->id, so->event,
                   json_pack("{s:s, s:s}", "config_hash", g->state.target_hash, "phase",
                             ik_plan_phase_name(g->summary.phase)));
    ik__group_schedule(g, 0);
  }
  op_reply(op, json_null());
  return 0;
}

static const op_step_t state_steps[] = {
    {"store", state_persist},
    {"apply", state_apply},
};

static const op_kind_t state_kind = {
    .steps = state_steps,
};

static int state_op_start(ik_controller_t *c, const char *id, bool *(*field)(ik_rollout_state_t *), bool value,
                          const char *event, ik_spi_cb cb, void *data, ik_err_t *err) {
  state_op_t *so = op_new(c, &state_kind, sizeof *so, id, cb, data);
  so->field = field;
  so->value = value;
  so->event = event;
  return op_start(&so->op, err);
}

static int c_promote(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  ik__group_t *g = ik__group_find(c, id);
  if (g == NULL) return not_watched(id, err);
  if (g->spec.updating.canary == 0)
    return ik_err_set(err, IK_ESTATE, "group %s has no canary (Properties.Updating.Canary is 0): nothing to promote", id);
  if (g->state.canary_promoted || strcmp(g->state.target_hash, g->state.good_hash) == 0)
    return ik_err_set(err, IK_ESTATE, "group %s has no canary rollout waiting for promotion (phase %s)", id,
                      ik_plan_phase_name(g->summary.phase));
  return state_op_start(c, id, field_promoted, true, "promoted", cb, data, err);
}

/* Set the group's pause to paused (pause: true, resume: false). Pause is
 * allowed with no rollout in progress, as kubectl rollout pause is: the
 * next commit's rollout then waits for resume (pause, commit several
 * changes, resume: one rollout). */
static int set_paused(ik_controller_t *c, const char *id, bool paused, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik__group_t *g = ik__group_find(c, id);
  if (g == NULL) return not_watched(id, err);
  if (g->destroying) return ik_err_set(err, IK_ESTATE, "group %s is being destroyed", id);
  if (paused && g->state.paused)
    return ik_err_set(err, IK_ESTATE, "group %s is already paused (infrakit group resume %s goes on)", id, id);
  if (!paused && !g->state.paused)
    return ik_err_set(err, IK_ESTATE, "group %s is not paused (phase %s): nothing to resume", id,
                      ik__group_summary_stale(g) ? "pending" : ik_plan_phase_name(g->summary.phase));
  return state_op_start(c, id, field_paused, paused, paused ? "rollout-paused" : "rollout-resumed", cb, data, err);
}

static int c_pause(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return set_paused(self, id, true, cb, data, err);
}

static int c_resume(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return set_paused(self, id, false, cb, data, err);
}

static int c_status(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_controller_t *c = self;
  ik__group_t *g = ik__group_find(c, id);
  if (g == NULL) return not_watched(id, err);
  json_t *st = ik__group_status(g);
  ik_redact_json(st); /* errors may repeat a secret (a plugin's, a URL's) */
  return reply_later(c, st, cb, data);
}

static void c_free_view(void *self) { (void)self; }

static const ik_group_vtable_t controller_vt = {
    .kind = "engine",
    .commit = c_commit,
    .free_group = c_free_group,
    .describe = c_describe,
    .destroy = c_destroy,
    .inspect = c_inspect,
    .destroy_instances = c_destroy_instances,
    .size = c_size,
    .set_size = c_set_size,
    .free = c_free_view,
    .promote = c_promote,
    .status = c_status,
    .pause = c_pause,
    .resume = c_resume,
};

ik_group_plugin_t ik_controller_group(ik_controller_t *c) { return (ik_group_plugin_t){&controller_vt, c}; }

/* --- resume ---------------------------------------------------------------------------- */

typedef struct resume {
  ik_controller_t *c;
  ik_spi_cb cb;
  void *data;
  json_t *keys;
  size_t next;
  json_t *spec;  /* the group's documents, as they come in */
  json_t *state; /* NULL: none */
  ik_err_t state_err;
  ik_err_t first;
  size_t loaded;
} resume_t;

static void resume_next(resume_t *rs);

static void resume_failed(resume_t *rs, const char *key, const char *msg) {
  ik_log(IK_LOG_ERROR, "group", "cannot resume a group; skipping it", "key", key, "error", msg, NULL);
  if (rs->first.code == 0) ik_err_set(&rs->first, IK_EINVAL, "%s: %s", key, msg);
}

/* A sibling document of the spec being resumed: groups/ID/<what>. */
static void resume_get(resume_t *rs, const char *what, ik_spi_cb cb) {
  const char *key = json_string_value(json_array_get(rs->keys, rs->next - 1));
  char skey[300];
  snprintf(skey, sizeof skey, "%.*s%s", (int)(strlen(key) - 4), key, what);
  ik_err_t e = {0};
  if (rs->c->o.store->vt->get(rs->c->o.store->self, skey, cb, rs, &e) < 0) cb(NULL, &e, rs);
}

/* The group's three documents are in (the spec, its state, its pending
 * intents): install it. A missing state or intents document is none; one
 * that cannot be read skips the group (it must not act blind). */
static void on_resume_intents(json_t *result, const ik_err_t *err, void *data) {
  resume_t *rs = data;
  const char *key = json_string_value(json_array_get(rs->keys, rs->next - 1));
  ik_group_spec_t spec = {0};
  ik_rollout_state_t st;
  bool destroying = false;
  json_t *intents = NULL;
  ik_err_t e = {0};
  ik_rollout_state_init(&st);
  if (rs->state_err.code && rs->state_err.code != IK_ENOTFOUND) {
    resume_failed(rs, key, rs->state_err.msg);
  } else if (err && err->code != IK_ENOTFOUND) {
    resume_failed(rs, key, err->msg);
  } else if ((ik_redact_register_json(rs->spec),
              ik_group_spec_parse_limited(rs->spec, rs->c->o.max_group_size, &spec, &e)) < 0) {
    resume_failed(rs, key, e.msg);
  } else if (rs->state && ik_rollout_state_from_json(rs->state, &st, &destroying, &e) < 0) {
    resume_failed(rs, key, e.msg);
  } else if (result && ik_intents_from_json(result, &intents, &e) < 0) {
    resume_failed(rs, key, e.msg);
  } else if (ik__group_find(rs->c, spec.id) == NULL) {
    size_t pending = json_object_size(intents);
    ik__group_t *g = group_install(rs->c, rs->spec, &spec, &st, destroying, intents);
    intents = NULL;
    g->resumed = true;
    rs->spec = NULL;
    ik_rollout_state_init(&st);
    rs->loaded++;
    ik_events_emit(rs->c->events, g->id, "resumed",
                   json_pack("{s:s, s:b, s:I}", "target_hash", g->state.target_hash, "destroying", destroying,
                             "pending_intents", (json_int_t)pending));
    if (pending) {
      char n[24];
      snprintf(n, sizeof n, "%zu", pending);
      ik_log(IK_LOG_INFO, "group", "actions of the last leader are pending; observing them before acting", "group",
             g->id, "intents", n, NULL);
    }
    if (destroying) {
      ik_log(IK_LOG_WARN, "group", "the group was being destroyed when the daemon stopped; run destroy again to finish",
             "group", g->id, NULL);
    }
  }
  json_decref(intents);
  ik_group_spec_free(&spec);
  ik_rollout_state_free(&st);
  json_decref(rs->spec);
  rs->spec = NULL;
  json_decref(rs->state);
  rs->state = NULL;
  memset(&rs->state_err, 0, sizeof rs->state_err);
  resume_next(rs);
}

static void on_resume_state(json_t *result, const ik_err_t *err, void *data) {
  resume_t *rs = data;
  rs->state = json_incref(result);
  if (err) rs->state_err = *err;
  resume_get(rs, "intents", on_resume_intents);
}

static void on_resume_spec(json_t *result, const ik_err_t *err, void *data) {
  resume_t *rs = data;
  const char *key = json_string_value(json_array_get(rs->keys, rs->next - 1));
  if (err) {
    resume_failed(rs, key, err->msg);
    return resume_next(rs);
  }
  rs->spec = json_incref(result);
  resume_get(rs, "state", on_resume_state);
}

static void resume_next(resume_t *rs) {
  while (rs->next < json_array_size(rs->keys)) {
    const char *key = json_string_value(json_array_get(rs->keys, rs->next++));
    size_t len = strlen(key);
    if (len < 5 || strcmp(key + len - 5, "/spec") != 0) continue;
    ik_err_t e = {0};
    if (rs->c->o.store->vt->get(rs->c->o.store->self, key, on_resume_spec, rs, &e) < 0) {
      resume_failed(rs, key, e.msg);
      continue;
    }
    return;
  }
  if (rs->loaded) {
    char n[24];
    snprintf(n, sizeof n, "%zu", rs->loaded);
    ik_log(IK_LOG_INFO, "group", "resumed groups from the store", "groups", n, NULL);
  }
  rs->cb(rs->first.code ? NULL : json_null(), rs->first.code ? &rs->first : NULL, rs->data);
  json_decref(rs->keys);
  ik_free(rs);
}

static void on_resume_list(json_t *result, const ik_err_t *err, void *data) {
  resume_t *rs = data;
  if (err) {
    rs->cb(NULL, err, rs->data);
    ik_free(rs);
    return;
  }
  rs->keys = json_incref(result);
  resume_next(rs);
}

int ik_controller_resume(ik_controller_t *c, ik_spi_cb cb, void *data, ik_err_t *err) {
  resume_t *rs = IK_NEW(resume_t);
  *rs = (resume_t){.c = c, .cb = cb, .data = data};
  int rc = c->o.store->vt->list(c->o.store->self, "groups", on_resume_list, rs, err);
  if (rc < 0) ik_free(rs);
  return rc;
}

/* --- life -------------------------------------------------------------------------------- */

static void free_call_timeouts(ik_controller_t *c) {
  for (size_t i = 0; i < c->o.n_call_timeouts; i++) ik_free((char *)(uintptr_t)c->call_timeouts[i].plugin);
  ik_free(c->call_timeouts);
}

int ik_controller_new(ik_loop_t *loop, const ik_controller_opts_t *opts, ik_controller_t **out, ik_err_t *err) {
  if (opts->store == NULL || opts->resolver.instance == NULL || opts->resolver.flavor == NULL)
    return ik_err_set(err, IK_EINVAL, "controller: a store and a plugin resolver are required");
  ik_controller_t *c = IK_NEW(ik_controller_t);
  c->loop = loop;
  c->o = *opts;
  if (c->o.poll_ms <= 0) c->o.poll_ms = 5000;
  if (c->o.retry_base_ms <= 0) c->o.retry_base_ms = 500;
  if (c->o.retry_max_ms <= 0) c->o.retry_max_ms = 60000;
  if (c->o.crash_window_ms <= 0) c->o.crash_window_ms = 60000;
  if (c->o.max_calls == 0) c->o.max_calls = 256;
  if (c->o.max_group_size == 0) c->o.max_group_size = IK_GROUP_MAX_SIZE_DEFAULT;
  if (c->o.call_timeout_ms <= 0) c->o.call_timeout_ms = 300000;
  c->call_timeouts = ik_calloc(c->o.n_call_timeouts + 1, sizeof *c->call_timeouts);
  for (size_t i = 0; i < c->o.n_call_timeouts; i++) {
    c->call_timeouts[i].plugin = ik_strdup(opts->call_timeouts[i].plugin);
    c->call_timeouts[i].ms = opts->call_timeouts[i].ms > 0 ? opts->call_timeouts[i].ms : c->o.call_timeout_ms;
  }
  c->o.call_timeouts = c->call_timeouts;
  c->self_id = ik_strdup(opts->self_id);
  c->o.self_id = c->self_id;
  c->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)c;
  c->events = opts->events;
  ik_engine_metrics(); /* registers the families, and the collector that clears the group gauges, before ours */
  ik_metrics_add_collector(ik_metrics_default(), ik__controller_collect, c);
  *out = c;
  return 0;
}

/* Free c once it is closing and nothing (group, operation) refers to it. */
static void controller_release(ik_controller_t *c) {
  if (!c->closing || c->live > 0) return;
  free_call_timeouts(c);
  ik_free(c->self_id);
  ik_free(c);
}

void ik_controller_stop(ik_controller_t *c, int code, const char *why) {
  if (c == NULL) return;
  ik_metrics_remove_collector(ik_metrics_default(), ik__controller_collect, c);
  c->closing = true;
  c->closing_code = code;
  snprintf(c->closing_why, sizeof c->closing_why, "%s", why);
  c->live++; /* not freed while its groups go */
  while (c->groups) group_remove(c->groups);
  /* Calls their plugins did not answer on free: their callers hear now. */
  while (c->guards) guard_expire(c->guards, code, why);
  c->live--;
  controller_release(c);
}
