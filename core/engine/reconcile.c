/* The cycle of one group: observe, plan, persist, execute (controller.h).
 *
 * Everything here runs on the loop thread. Each SPI call holds a reference
 * on its group; when the group was freed meanwhile (g->freed) a callback
 * only drops its reference. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/backoff.h"
#include "engine/controller_internal.h"
#include "engine/engine_metrics.h"
#include "engine/intents.h"
#include "engine/observe.h"
#include "engine/rollout_json.h"

/* While actions are running, how long a completion waits to re-plan. */
#define IK_BUSY_REPLAN_MS 25
/* A member whose health is unknown (booting) is asked again after a
 * backoff from this, growing to a fifth of the poll interval. */
#define IK_UNKNOWN_RECHECK_MS 200

static void run_cycle(ik__group_t *g);
static void end_cycle(ik__group_t *g);
static void pump_actions(ik__group_t *g);
static void intent_add(ik__group_t *g, ik__action_t *a);
static void intent_settle(ik__group_t *g, ik__action_t *a);
static void intents_write(ik__group_t *g);

/* --- small helpers -------------------------------------------------------- */

void ik__emit(ik__group_t *g, const char *event, json_t *fields) {
  ik_events_emit(g->c->events, g->id, event, fields);
}

static void copy_msg(char *dst, const char *msg) {
  snprintf(dst, IK_FAILURE_MSG_MAX, "%s", msg ? msg : "");
}

void ik__action_free(ik__action_t *a) {
  if (a == NULL) return;
  ik_free(a->id);
  ik_free(a->logical_id);
  ik_free(a->key);
  ik_free(a->created);
  ik_free(a);
}

static void unlink_action(ik__group_t *g, ik__action_t *a) {
  if (a->prev) a->prev->next = a->next;
  else if (g->actions == a) g->actions = a->next;
  else return; /* not in the list */
  if (a->next) a->next->prev = a->prev;
  a->next = a->prev = NULL;
}

static ik__failure_t *failure_find(ik__group_t *g, const char *key) {
  for (ik__failure_t *f = g->failures; f; f = f->next)
    if (strcmp(f->key, key) == 0) return f;
  return NULL;
}

static void failure_clear(ik__group_t *g, const char *key) {
  for (ik__failure_t **p = &g->failures; *p; p = &(*p)->next) {
    if (strcmp((*p)->key, key) == 0) {
      ik__failure_t *f = *p;
      *p = f->next;
      ik_free(f->key);
      ik_free(f);
      return;
    }
  }
}

/* seen and descs share positions; desc_index maps an ID to its position,
 * keyed by seen[].id (NULL once moved by update_seen; "" for a
 * description without an ID, which is never found). */
static const char *seen_key(const void *ctx, size_t pos) {
  const char *id = ((const ik__seen_t *)ctx)[pos].id;
  return id && id[0] ? id : NULL;
}

static ik__seen_t *seen_find(ik__group_t *g, const char *id) {
  size_t at;
  return ik_posindex_find(&g->desc_index, id, seen_key, g->seen, &at) ? &g->seen[at] : NULL;
}

json_t *ik__group_desc(ik__group_t *g, const char *id) {
  size_t at;
  return ik_posindex_find(&g->desc_index, id, seen_key, g->seen, &at) ? json_array_get(g->descs, at) : NULL;
}

void ik__group_clear_observation(ik__group_t *g) {
  json_decref(g->descs);
  g->descs = NULL;
  ik_posindex_free(&g->desc_index);
  for (size_t i = 0; i < g->n_seen; i++) {
    ik_free(g->seen[i].id);
    ik_free(g->seen[i].logical_id);
  }
  ik_free(g->seen);
  g->seen = NULL;
  g->n_seen = 0;
  ik_free(g->health);
  g->health = NULL;
  ik_free(g->health_skip);
  g->health_skip = NULL;
}

/* --- scheduling ----------------------------------------------------------- */

static void on_timer(uv_timer_t *t) {
  ik__group_t *g = t->data;
  g->due_ms = 0;
  if (g->freed) return;
  if (g->cycling) g->again = true;
  else run_cycle(g);
}

void ik__group_schedule(ik__group_t *g, int64_t delay_ms) {
  if (g->freed || g->destroying || g->due_ms < 0) return; /* due_ms -1: stopped */
  if (delay_ms < 0) delay_ms = 0;
  if (delay_ms == 0 && g->cycling) {
    g->again = true;
    return;
  }
  int64_t due = (int64_t)uv_now(&g->c->loop->uv) + delay_ms;
  if (g->due_ms > 0 && g->due_ms <= due) return;
  g->due_ms = due;
  uv_timer_start(&g->timer, on_timer, (uint64_t)delay_ms, 0);
}

/* A change the instance plugin reported: describe again at once. How a
 * member ended is kept for when its loss is handled (crash_backoff). */
static void on_event(const char *id, const char *why, void *data) {
  ik__group_t *g = data;
  if (id && why && seen_find(g, id)) json_object_set_new(g->exits, id, json_string(why));
  ik__group_schedule(g, 0);
}

/* Subscribe to the instance plugin's events when it has them. */
static void watch(ik__group_t *g) {
  if (g->watch_token > 0 || g->inst.vt == NULL || g->inst.vt->watch == NULL) return;
  ik_err_t err = {0};
  int token = g->inst.vt->watch(g->inst.self, on_event, g, &err);
  if (token > 0) g->watch_token = token;
}

int ik__group_start(ik__group_t *g, ik_err_t *err) {
  uv_timer_init(&g->c->loop->uv, &g->timer);
  g->timer.data = g;
  ik__group_ref(g); /* the timer's, dropped by its close callback */
  ik__group_schedule(g, 0);
  return 0;
}

static void on_timer_closed(uv_handle_t *h) {
  ik__group_unref(h->data);
}

void ik__group_stop(ik__group_t *g) {
  if (g->watch_token > 0 && g->inst.vt && g->inst.vt->unwatch) g->inst.vt->unwatch(g->inst.self, g->watch_token);
  g->watch_token = 0;
  if (!uv_is_closing((uv_handle_t *)&g->timer)) uv_close((uv_handle_t *)&g->timer, on_timer_closed);
  g->due_ms = -1;
}

/* --- actions --------------------------------------------------------------- */

/* An action ended: count it and its time (engine_metrics.h). */
static void action_measure(const ik__action_t *a, const char *outcome) {
  const ik_engine_metrics_t *em = ik_engine_metrics();
  const char *kind = ik_plan_action_kind_name(a->kind);
  ik_metric_add(ik_metric_series(em->actions, a->g->id, kind, outcome), 1);
  ik_metric_observe_since(ik_metric_series(em->action_seconds, kind), a->started_ns);
}

/* The action failed: count it, say so, back off. */
static void action_failed(ik__action_t *a, const char *stage, const ik_err_t *err) {
  ik__group_t *g = a->g;
  ik_controller_t *c = g->c;
  action_measure(a, "error");
  ik__failure_t *f = failure_find(g, a->key);
  if (f == NULL) {
    f = IK_NEW(ik__failure_t);
    f->key = ik_strdup(a->key);
    f->next = g->failures;
    g->failures = f;
  }
  /* Several actions of one kind failing in the same round (a batch of
   * provisions against a failing cloud) back off as one: the streak grows
   * only for an attempt that began after the last failure. */
  if (f->streak == 0 || a->started_ms > f->last_ms) f->streak++;
  f->attempts++;
  f->last_ms = ik__now_ms();
  /* This layer's prefix, once: what was called, on which plugin. The
   * plugin's message is its own (a Lua plugin adds no prefix). */
  bool flavor = strcmp(stage, "prepare") == 0 || strcmp(stage, "drain") == 0;
  snprintf(f->msg, sizeof f->msg, "%s (%s): %s", stage, flavor ? g->spec.flavor_plugin : g->spec.instance_plugin,
           err->msg);
  int64_t delay = ik_backoff_ms(f->streak, c->o.retry_base_ms, c->o.retry_max_ms, ik__random(c));
  intent_settle(g, a); /* answered (or never sent): nothing left to observe */
  a->running = false;
  g->n_running--;
  a->retry_at_ms = ik__now_ms() + delay;
  char attempts[16];
  snprintf(attempts, sizeof attempts, "%u", f->attempts);
  ik_log(IK_LOG_WARN, "group", "action failed; retrying after a backoff", "group", g->id, "action", a->key,
         "attempt", attempts, "error", f->msg, NULL);
  ik__emit(g, "action-failed",
           json_pack("{s:s, s:s?, s:s?, s:s, s:i, s:I}", "action", ik_plan_action_kind_name(a->kind), "instance", a->id,
                     "logical_id", a->logical_id, "error", f->msg, "attempt", (int)f->attempts, "retry_in_ms",
                     (json_int_t)delay));
  pump_actions(g);
  ik__group_schedule(g, delay);
}

/* The action finished well: forget its failures; a provision stays in
 * flight until its instance is observed. */
static void action_done(ik__action_t *a, const char *event, json_t *fields) {
  ik__group_t *g = a->g;
  action_measure(a, "ok");
  ik__failure_t *f = failure_find(g, a->key);
  if (f) {
    json_object_set_new(fields, "after_failures", json_integer(f->attempts));
    failure_clear(g, a->key);
  }
  ik__emit(g, event, fields);
  intent_settle(g, a);
  a->running = false;
  g->n_running--;
  g->calls_since_relief++;
  if (a->kind != IK_ACTION_PROVISION) {
    unlink_action(g, a);
    ik__action_free(a);
  }
  pump_actions(g);
  /* Plan again at once when the batch is done; when only its last
   * actions run, a little later; while actions still wait for room, not
   * at all (the batch's end will): a batch of thousands is planned once,
   * not thousands of times. Events and the poll still plan meanwhile. */
  if (g->n_running == 0) ik__group_schedule(g, 0);
  else if (g->queue_head == g->queue_len) ik__group_schedule(g, IK_BUSY_REPLAN_MS);
}

/* A call into a plugin: holds a reference on the group; rc < 0 means the
 * callback will not come. Returns true when the call is under way. */
static bool started(ik__action_t *a, int rc, const char *stage, const ik_err_t *err) {
  if (rc == 0) return true;
  ik__group_unref(a->g);
  action_failed(a, stage, err);
  return false;
}

/* A provision succeeded: it replaces the oldest loss not yet replaced;
 * with none pending (a scale-up) nothing is measured. */
static void heal_measure(ik__group_t *g) {
  if (g->n_lost == 0) return;
  ik_metric_observe_since(ik_metric_series(ik_engine_metrics()->heal_seconds, g->id), g->lost_ns[0]);
  memmove(g->lost_ns, g->lost_ns + 1, --g->n_lost * sizeof g->lost_ns[0]);
}

/* A member was found lost: remember when, for heal_measure. */
static void heal_start(ik__group_t *g) {
  if (g->n_lost == IK_HEAL_PENDING_MAX) memmove(g->lost_ns, g->lost_ns + 1, --g->n_lost * sizeof g->lost_ns[0]);
  g->lost_ns[g->n_lost++] = uv_hrtime();
}

/* A callback's prologue: drop the call's reference; false when the group
 * is gone (the action went with it). */
static bool still_managed(ik__group_t *g) {
  bool alive = !g->freed;
  ik__group_unref(g);
  return alive;
}

/* The error of an action the fence held back (controller.h may_act). */
static const ik_err_t *not_leader(ik_err_t *e) {
  ik_err_set(e, IK_ENOTLEADER, "not sent: this daemon no longer leads (or its lease is past its local deadline)");
  return e;
}

static void on_provisioned(json_t *result, const ik_err_t *err, void *data) {
  ik__action_t *a = data;
  ik__group_t *g = a->g;
  if (!still_managed(g)) return;
  if (err) return action_failed(a, "provision", err);
  if (!json_is_string(result)) {
    ik_err_t e = {0};
    ik_err_set(&e, IK_EDRIVER, "the instance plugin returned no instance ID");
    return action_failed(a, "provision", &e);
  }
  a->created = ik_strdup(json_string_value(result));
  a->created_at_ms = ik__now_ms();
  heal_measure(g);
  if (g->crash_streak > 0) json_object_set_new(g->replacements, a->created, json_true());
  action_done(a, "provisioned",
              json_pack("{s:s, s:s?, s:s}", "instance", a->created, "logical_id", a->logical_id, "config_hash",
                        a->config_hash));
}

/* The group's tags on spec (a flavor must not drop them). */
static void set_group_tags(ik__group_t *g, json_t *spec, const ik__action_t *a) {
  json_t *tags = json_object_get(spec, "Tags");
  if (!json_is_object(tags)) {
    tags = json_object();
    json_object_set_new(spec, "Tags", tags);
  }
  json_object_set_new(tags, "infrakit.group", json_string(g->id));
  json_object_set_new(tags, "infrakit.config.hash", json_string(a->config_hash));
  if (a->intent[0]) json_object_set_new(tags, IK_TAG_INTENT, json_string(a->intent));
  if (a->logical_id) {
    json_object_set_new(tags, "infrakit.logical_id", json_string(a->logical_id));
    json_object_set_new(spec, "LogicalID", json_string(a->logical_id));
  }
}

static void on_prepared(json_t *result, const ik_err_t *err, void *data) {
  ik__action_t *a = data;
  ik__group_t *g = a->g;
  if (!still_managed(g)) return;
  if (err) return action_failed(a, "prepare", err);
  if (!json_is_object(result)) {
    ik_err_t e = {0};
    ik_err_set(&e, IK_EDRIVER, "the flavor's prepare returned no instance spec");
    return action_failed(a, "prepare", &e);
  }
  ik_err_t e = {0};
  if (!ik__may_act(g->c)) return action_failed(a, "provision", not_leader(&e));
  json_t *spec = json_deep_copy(result);
  set_group_tags(g, spec, a);
  ik__group_ref(g);
  ik__guard_t *gd = ik__guard(g->c, "provision", g->spec.instance_plugin, on_provisioned, a);
  int rc = g->inst.vt->provision(g->inst.self, spec, ik__guarded, gd, &e);
  if (rc < 0) ik__guard_refused(gd);
  json_decref(spec);
  started(a, rc, "provision", &e);
}

static void start_provision(ik__action_t *a) {
  ik__group_t *g = a->g;
  const ik_group_spec_t *s = &g->spec;
  /* reference §4.4 CreateOne: {Tags, LogicalID, Properties: Instance.Properties}. */
  json_t *spec = json_pack("{s:O?, s:{}, s:s, s:n, s:n}", "Properties", s->instance_properties, "Tags", "Init", "",
                           "LogicalID", "Attachments");
  if (json_object_get(spec, "Properties") == NULL) json_object_set_new(spec, "Properties", json_null());
  set_group_tags(g, spec, a);
  json_t *alloc = ik_group_spec_allocation(s);
  json_t *index = json_pack("{s:s, s:I}", "Group", g->id, "Sequence", (json_int_t)s->size);
  ik_err_t e = {0};
  ik__group_ref(g);
  ik__guard_t *gd = ik__guard(g->c, "prepare", g->spec.flavor_plugin, on_prepared, a);
  int rc = g->flavor.vt->prepare(g->flavor.self, s->flavor_properties, spec, alloc, index, ik__guarded, gd, &e);
  if (rc < 0) ik__guard_refused(gd);
  json_decref(spec);
  json_decref(alloc);
  json_decref(index);
  started(a, rc, "prepare", &e);
}

static void mark_destroyed(ik__group_t *g, const char *id);

static void on_destroyed(json_t *result, const ik_err_t *err, void *data) {
  ik__action_t *a = data;
  ik__group_t *g = a->g;
  if (!still_managed(g)) return;
  if (err && err->code != IK_ENOTFOUND) return action_failed(a, "destroy", err);
  mark_destroyed(g, a->id);
  action_done(a, "destroyed-instance",
              json_pack("{s:s, s:s?, s:s}", "instance", a->id, "logical_id", a->logical_id, "context",
                        ik_destroy_reason_name(a->reason)));
}

static void do_destroy(ik__action_t *a) {
  ik__group_t *g = a->g;
  ik_err_t e = {0};
  if (!ik__may_act(g->c)) return action_failed(a, "destroy", not_leader(&e));
  ik__group_ref(g);
  ik__guard_t *gd = ik__guard(g->c, "destroy", g->spec.instance_plugin, on_destroyed, a);
  int rc = g->inst.vt->destroy(g->inst.self, a->id, ik_destroy_reason_name(a->reason), ik__guarded, gd, &e);
  if (rc < 0) ik__guard_refused(gd);
  started(a, rc, "destroy", &e);
}

/* A description to hand the flavor: the observed one, else {"ID": id}. */
static json_t *desc_for(ik__group_t *g, const char *id) {
  json_t *d = ik__group_desc(g, id);
  return d ? json_incref(d) : json_pack("{s:s, s:n, s:{}}", "ID", id, "LogicalID", "Tags");
}

static void on_drained_then_destroy(json_t *result, const ik_err_t *err, void *data) {
  ik__action_t *a = data;
  ik__group_t *g = a->g;
  if (!still_managed(g)) return;
  if (err) {
    /* InfraKit: a drain error aborts a rolling update; before a terminate
     * it is only a warning. */
    if (a->reason == IK_DESTROY_ROLLING_UPDATE) return action_failed(a, "drain", err);
    ik_log(IK_LOG_WARN, "group", "drain failed; destroying anyway", "group", g->id, "instance", a->id, "error",
           err->msg, NULL);
    ik__emit(g, "drain-failed", json_pack("{s:s, s:s}", "instance", a->id, "error", err->msg));
  }
  do_destroy(a);
}

static void start_destroy(ik__action_t *a) {
  ik__group_t *g = a->g;
  if (!a->drain) return do_destroy(a);
  json_t *desc = desc_for(g, a->id);
  ik_err_t e = {0};
  ik__group_ref(g);
  ik__guard_t *gd = ik__guard(g->c, "drain", g->spec.flavor_plugin, on_drained_then_destroy, a);
  int rc = g->flavor.vt->drain(g->flavor.self, g->spec.flavor_properties, desc, ik__guarded, gd, &e);
  if (rc < 0) ik__guard_refused(gd);
  json_decref(desc);
  started(a, rc, "drain", &e);
}

static void on_labelled(json_t *result, const ik_err_t *err, void *data) {
  ik__action_t *a = data;
  if (!still_managed(a->g)) return;
  if (err) return action_failed(a, "label", err);
  action_done(a, "labelled", json_pack("{s:s, s:s}", "instance", a->id, "config_hash", a->config_hash));
}

static void on_drained(json_t *result, const ik_err_t *err, void *data) {
  ik__action_t *a = data;
  if (!still_managed(a->g)) return;
  if (err) return action_failed(a, "drain", err);
  action_done(a, "drained", json_pack("{s:s}", "instance", a->id));
}

static void start_action(ik__action_t *a) {
  ik__group_t *g = a->g;
  ik_err_t e = {0};
  int rc;
  g->n_running++;
  a->running = true;
  a->retry_at_ms = 0;
  a->started_ms = ik__now_ms();
  a->started_ns = uv_hrtime();
  switch (a->kind) {
  case IK_ACTION_PROVISION:
    start_provision(a);
    break;
  case IK_ACTION_DESTROY:
    start_destroy(a);
    break;
  case IK_ACTION_LABEL: {
    json_t *labels = json_pack("{s:s}", "infrakit.config.hash", a->config_hash);
    ik__group_ref(g);
    ik__guard_t *gd = ik__guard(g->c, "label", g->spec.instance_plugin, on_labelled, a);
    rc = g->inst.vt->label(g->inst.self, a->id, labels, ik__guarded, gd, &e);
    if (rc < 0) ik__guard_refused(gd);
    json_decref(labels);
    started(a, rc, "label", &e);
    break;
  }
  case IK_ACTION_DRAIN: {
    json_t *desc = desc_for(g, a->id);
    ik__group_ref(g);
    ik__guard_t *gd = ik__guard(g->c, "drain", g->spec.flavor_plugin, on_drained, a);
    rc = g->flavor.vt->drain(g->flavor.self, g->spec.flavor_properties, desc, ik__guarded, gd, &e);
    if (rc < 0) ik__guard_refused(gd);
    json_decref(desc);
    started(a, rc, "drain", &e);
    break;
  }
  case IK_ACTION_WAIT:
    break;
  }
}

static char *action_key(ik_plan_action_kind_t kind, const char *id, const char *logical_id) {
  if (kind == IK_ACTION_PROVISION) return logical_id ? ik_sprintf("provision %s", logical_id) : ik_strdup("provision");
  return ik_sprintf("%s %s", ik_plan_action_kind_name(kind), id ? id : "");
}

static ik__action_t *action_new(ik__group_t *g, ik_plan_action_kind_t kind, const char *id, const char *logical_id) {
  ik__action_t *a = IK_NEW(ik__action_t);
  a->g = g;
  a->kind = kind;
  a->id = ik_strdup(id);
  a->logical_id = ik_strdup(logical_id);
  a->key = action_key(kind, id, logical_id);
  a->next = g->actions;
  if (g->actions) g->actions->prev = a;
  g->actions = a;
  return a;
}

/* --- destroying members outside the plan (DestroyGroup, DestroyInstances) -- */

typedef struct ik__batch {
  struct ik__batch *next; /* in g->intent_batches while its intents are being recorded */
  struct batch_item **items;
  size_t n_items;
  uint64_t intent_gen; /* the intents generation that holds all of its destroys */
  ik__group_t *g;
  ik_spi_cb cb;
  void *data;
  size_t pending;
  size_t failed;
  ik_buf_t errors;
} batch_t;

typedef struct batch_item {
  batch_t *b;
  char *id;
  ik__action_t *a; /* the in-flight record the plan sees */
} batch_item_t;

static void batch_finish(batch_t *b) {
  if (--b->pending > 0) return;
  ik_err_t err = {0};
  if (b->failed) ik_err_set(&err, IK_EDRIVER, "%zu instance%s not destroyed: %s", b->failed, b->failed == 1 ? "" : "s",
                            ik_buf_cstr(&b->errors));
  b->cb(b->failed ? NULL : json_null(), b->failed ? &err : NULL, b->data);
  ik__group_unref(b->g);
  ik_buf_free(&b->errors);
  ik_free(b);
}

static void item_done(batch_item_t *it, const ik_err_t *err) {
  batch_t *b = it->b;
  ik__group_t *g = b->g;
  if (err && err->code != IK_ENOTFOUND) {
    b->failed++;
    ik_buf_printf(&b->errors, "%s%s: %s", b->failed > 1 ? "; " : "", it->id, err->msg);
    ik__emit(g, "action-failed", json_pack("{s:s, s:s, s:s}", "action", "destroy", "instance", it->id, "error", err->msg));
  } else {
    mark_destroyed(g, it->id);
    ik__emit(g, "destroyed-instance", json_pack("{s:s, s:s}", "instance", it->id, "context", "terminate"));
  }
  if (it->a) {
    intent_settle(g, it->a);
    unlink_action(g, it->a);
    ik__action_free(it->a);
  }
  ik_free(it->id);
  ik_free(it);
  if (!g->freed) ik__group_schedule(g, 0);
  batch_finish(b);
}

/* ik_loop_defer's shape for batch_finish. */
static void batch_finish_deferred(void *data) { batch_finish(data); }

static void on_item_destroyed(json_t *result, const ik_err_t *err, void *data) {
  batch_item_t *it = data;
  ik__group_unref(it->b->g);
  item_done(it, err);
}

static void on_item_drained(json_t *result, const ik_err_t *err, void *data) {
  batch_item_t *it = data;
  ik__group_t *g = it->b->g;
  ik__group_unref(g);
  if (err)
    ik_log(IK_LOG_WARN, "group", "drain failed; destroying anyway", "group", g->id, "instance", it->id, "error",
           err->msg, NULL);
  ik_err_t e = {0};
  if (g->inst.vt == NULL) {
    ik_err_set(&e, IK_ECANCELED, "the group was freed");
    return item_done(it, &e);
  }
  if (!ik__may_act(g->c)) return item_done(it, not_leader(&e));
  ik__group_ref(g);
  ik__guard_t *gd = ik__guard(g->c, "destroy", g->spec.instance_plugin, on_item_destroyed, it);
  int rc = g->inst.vt->destroy(g->inst.self, it->id, "terminate", ik__guarded, gd, &e);
  if (rc < 0) ik__guard_refused(gd);
  if (rc < 0) {
    ik__group_unref(g);
    item_done(it, &e);
  }
}

/* The batch's intents are durable (err NULL), or will not be: send its
 * drains, then destroys; or fail every item unsent. */
static void batch_send(batch_t *b, const ik_err_t *err) {
  ik__group_t *g = b->g;
  for (size_t i = 0; i < b->n_items; i++) {
    batch_item_t *it = b->items[i];
    it->a->recording = false;
    ik_err_t e = {0};
    if (err || !ik__may_act(g->c)) {
      item_done(it, err ? err : not_leader(&e));
      continue;
    }
    json_t *desc = desc_for(g, it->id);
    ik__group_ref(g);
    ik__guard_t *gd = ik__guard(g->c, "drain", g->spec.flavor_plugin, on_item_drained, it);
    int rc = g->flavor.vt->drain(g->flavor.self, g->spec.flavor_properties, desc, ik__guarded, gd, &e);
    if (rc < 0) ik__guard_refused(gd);
    json_decref(desc);
    if (rc < 0) {
      ik__group_unref(g);
      ik__group_ref(g);
      on_item_drained(NULL, &e, it);
    }
  }
  ik_free(b->items);
  b->items = NULL;
  b->n_items = 0;
  batch_finish(b); /* the hold taken while it waited */
}

/* Send the waiting batches whose destroys the put of generation gen
 * recorded (err: it failed, they are not sent). */
static void batches_release(ik__group_t *g, uint64_t gen, const ik_err_t *err) {
  for (batch_t **p = &g->intent_batches; *p;) {
    batch_t *b = *p;
    if (b->intent_gen > gen) {
      p = &b->next;
      continue;
    }
    *p = b->next;
    batch_send(b, err);
  }
}

int ik__group_destroy_members(ik__group_t *g, json_t *ids, ik_spi_cb cb, void *data, ik_err_t *err) {
  int rc = ik__group_plugins(g, err);
  if (rc < 0) return rc;
  batch_t *b = IK_NEW(batch_t);
  b->g = g;
  b->cb = cb;
  b->data = data;
  b->pending = 2; /* released by the deferred finish below and by batch_send, so cb waits for every item */
  ik__group_ref(g);
  b->items = ik_calloc(json_array_size(ids) + 1, sizeof *b->items);
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    batch_item_t *it = IK_NEW(batch_item_t);
    it->b = b;
    it->id = ik_strdup(json_string_value(v));
    it->a = action_new(g, IK_ACTION_DESTROY, it->id, NULL);
    it->a->running = true;
    it->a->drain = true;
    intent_add(g, it->a); /* write-ahead, as the plan's destroys */
    b->items[b->n_items++] = it;
    b->pending++;
  }
  b->intent_gen = g->intents_gen;
  b->next = g->intent_batches;
  g->intent_batches = b;
  intents_write(g);
  /* The completion must come from the loop, never from inside this call. */
  ik_loop_defer(g->c->loop, batch_finish_deferred, b);
  return 0;
}

/* --- observe ------------------------------------------------------------------ */

static void mark_destroyed(ik__group_t *g, const char *id) {
  ik__seen_t *s = seen_find(g, id);
  if (s) s->health = IK_HEALTH_UNKNOWN, s->first_ms = -1; /* -1: we destroyed it; its loss is expected */
}

static void crash_clear(ik__group_t *g) {
  ik_free(g->crash.instance);
  ik_free(g->crash.exit);
  memset(&g->crash, 0, sizeof g->crash);
}

/* Hold back the replacement of a crash-looping instance. */
static void crash_backoff(ik__group_t *g, const ik__seen_t *lost, int64_t now) {
  ik_controller_t *c = g->c;
  int64_t age = now - lost->first_ms;
  const char *why = json_string_value(json_object_get(g->exits, lost->id)); /* "exited with status 3" */
  heal_start(g);
  ik__emit(g, "instance-lost", json_pack("{s:s, s:s?, s:I, s:s?}", "instance", lost->id, "logical_id", lost->logical_id, "age_ms", (json_int_t)age, "exit", why));
  ik_log(IK_LOG_WARN, "group", "instance lost; replacing it", "group", g->id, "instance", lost->id, "exit",
         why ? why : "unknown", NULL);
  /* A crash loop is a replacement dying young, again: the streak grows
   * only when the lost instance was itself provisioned to replace a lost
   * one. Any other loss - an old instance, or a young one that replaced
   * nothing - starts over, and is healed at once (a kill is not a loop). */
  bool replacement = json_object_get(g->replacements, lost->id) != NULL;
  json_object_del(g->replacements, lost->id);
  if (age >= c->o.crash_window_ms) {
    g->crash_streak = 0;
    crash_clear(g);
    return;
  }
  g->crash_streak = replacement ? g->crash_streak + 1 : 1;
  if (g->crash_streak < 2) return;
  int64_t delay = ik_backoff_ms(g->crash_streak - 1, c->o.retry_base_ms * 2, c->o.retry_max_ms, ik__random(c));
  const char *lid = g->spec.pets ? lost->logical_id : NULL;
  ik__action_t *a = action_new(g, IK_ACTION_PROVISION, NULL, lid);
  memcpy(a->config_hash, g->state.target_hash[0] ? g->state.target_hash : g->spec.config_hash, sizeof a->config_hash);
  a->retry_at_ms = now + delay;
  a->crash = true;
  /* Shown by describe and watch while the loop lasts (status). */
  crash_clear(g);
  g->crash.instance = ik_strdup(lost->id);
  g->crash.exit = ik_strdup(why);
  g->crash.count = g->crash_streak;
  g->crash.age_ms = age;
  g->crash.at_ms = now;
  ik_log(IK_LOG_WARN, "group", "crash loop: backing off before the next replacement", "group", g->id, "instance",
         lost->id, "exit", why ? why : "unknown", NULL);
  ik__emit(g, "crash-loop", json_pack("{s:s, s:s?, s:i, s:I, s:s?}", "instance", lost->id, "logical_id", lid, "streak", (int)g->crash_streak, "retry_in_ms", (json_int_t)delay, "exit", why));
}

/* Update what is remembered of members from descs (the new observation,
 * not yet g->descs); find the lost ones. */
static void update_seen(ik__group_t *g, json_t *descs, int64_t now) {
  size_t n = json_array_size(descs);
  ik__seen_t *next = ik_calloc(n + 1, sizeof *next);
  for (size_t i = 0; i < n; i++) {
    json_t *d = json_array_get(descs, i);
    const char *id = json_string_value(json_object_get(d, "ID"));
    ik__seen_t *old = id ? seen_find(g, id) : NULL;
    if (old) {
      next[i] = *old;
      old->id = NULL, old->logical_id = NULL; /* moved */
    } else {
      const char *lid = json_string_value(json_object_get(d, "LogicalID"));
      if (lid == NULL) lid = json_string_value(json_object_get(json_object_get(d, "Tags"), "infrakit.logical_id"));
      next[i] = (ik__seen_t){.id = ik_strdup(id ? id : ""), .logical_id = ik_strdup(lid), .first_ms = now, .adopted = g->resumed && !g->observed};
    }
  }
  for (size_t i = 0; i < g->n_seen; i++) {
    ik__seen_t *s = &g->seen[i];
    if (s->id == NULL) continue;
    if (s->first_ms >= 0 && !g->destroying) crash_backoff(g, s, now); /* -1: we destroyed it */
    json_object_del(g->exits, s->id);
    ik_free(s->id);
    ik_free(s->logical_id);
  }
  ik_free(g->seen);
  g->seen = next;
  g->n_seen = n;
  g->observed = true;
  ik_posindex_build(&g->desc_index, n, seen_key, g->seen);
  json_decref(g->descs);
  g->descs = json_incref(descs);
}

/* Provisions whose instance is now observed are done; one never observed
 * is given up after a while, loudly. */
static void settle_provisions(ik__group_t *g, int64_t now) {
  int64_t patience = 10 * g->c->o.poll_ms > 60000 ? 10 * g->c->o.poll_ms : 60000;
  for (ik__action_t *a = g->actions, *next; a; a = next) {
    next = a->next;
    bool seen = a->created && ik__group_desc(g, a->created) != NULL;
    bool stale = a->created && !seen && now - a->created_at_ms > patience;
    if (stale) {
      ik_log(IK_LOG_WARN, "group", "a provisioned instance never showed up in describe; planning without it",
             "group", g->id, "instance", a->created, NULL);
      ik__emit(g, "instance-missing", json_pack("{s:s}", "instance", a->created));
    }
    if (seen || stale) {
      unlink_action(g, a);
      ik__action_free(a);
    }
  }
}

/* Backed-off actions whose time has come leave the in-flight list: the
 * plan proposes them again if they are still wanted. */
static void release_retries(ik__group_t *g, int64_t now) {
  for (ik__action_t *a = g->actions, *next; a; a = next) {
    next = a->next;
    if (!a->running && a->created == NULL && a->retry_at_ms > 0 && a->retry_at_ms <= now) {
      unlink_action(g, a);
      ik__action_free(a);
    }
  }
}

/* --- plan, persist, execute ------------------------------------------------------ */

typedef struct cycle {
  ik__group_t *g;
  uint64_t spec_gen;  /* the group's spec_gen when the plan was made */
  uint64_t state_gen; /* the group's state_gen when the plan was made */
  ik_plan_t plan;
  char *state_text;
} cycle_t;

/* Start queued actions while fewer than the controller's max_calls run. */
static void pump_actions(ik__group_t *g) {
  while (g->n_running < g->c->o.max_calls && g->queue_head < g->queue_len) {
    ik__action_t *a = g->queue[g->queue_head];
    if (a->recording) break;       /* its batch's intents are not durable yet: neither it nor what follows goes */
    if (!ik__may_act(g->c)) break; /* the fence: nothing is sent (the gate frees the controller) */
    g->queue_head++;
    a->queued = false;
    if (a->unrecorded) { /* its intent could not be written: never sent, the plan proposes it again */
      unlink_action(g, a);
      ik__action_free(a);
      continue;
    }
    start_action(a);
  }
  if (g->queue_head == g->queue_len) g->queue_head = g->queue_len = 0;
}

static void enqueue(ik__group_t *g, ik__action_t *a) {
  if (g->queue_len == g->queue_cap) {
    g->queue_cap = g->queue_cap ? 2 * g->queue_cap : 64;
    g->queue = ik_realloc(g->queue, g->queue_cap * sizeof *g->queue);
  }
  a->queued = true;
  g->queue[g->queue_len++] = a;
}

/* --- write-ahead intents (intents.h) ------------------------------------------ */

/* Record a's intent (in memory; durable with the batch's put) and hold a
 * back until then. */
static void intent_add(ik__group_t *g, ik__action_t *a) {
  json_t *e = a->kind == IK_ACTION_PROVISION ? ik_intent_provision(a->config_hash, a->logical_id) : ik_intent_destroy(a->id);
  do snprintf(a->intent, sizeof a->intent, "%016" PRIx64, ik__random(g->c));
  while (json_object_get(g->intents, a->intent));
  json_object_set_new(g->intents, a->intent, e);
  a->intent_gen = ++g->intents_gen;
  a->recording = true;
}

/* a's outcome is known: its plugin answered, or it was never sent. The
 * intent goes from memory now, from the store with the next put (the next
 * batch's, or the one at the end of a cycle): one write for many clears.
 * A clear not yet written is harmless - whoever reads the intent observes
 * what it says happened. */
static void intent_settle(ik__group_t *g, ik__action_t *a) {
  if (a->intent[0] == '\0') return;
  json_object_del(g->intents, a->intent);
  a->intent[0] = '\0';
  g->intents_gen++;
}

static void on_intents_saved(json_t *result, const ik_err_t *err, void *data) {
  ik__group_t *g = data;
  if (g->freed) { /* a waiting batch holds the group: its caller hears */
    ik_err_t e = {0};
    ik_err_set(&e, IK_ECANCELED, "the group was freed");
    batches_release(g, UINT64_MAX, &e);
  }
  if (!still_managed(g)) return;
  g->intents_writing = false;
  uint64_t gen = g->intents_sent_gen;
  bool later = false; /* actions recorded after that put was sent */
  for (ik__action_t *a = g->actions; a; a = a->next) {
    if (!a->recording) continue;
    if (a->intent_gen > gen) {
      later = true;
      continue;
    }
    a->recording = false;
    if (err) {
      a->unrecorded = true; /* dropped by pump_actions in its turn */
      json_object_del(g->intents, a->intent);
      a->intent[0] = '\0';
    }
  }
  if (err) {
    /* Never send what is not recorded: the plan proposes it again. */
    copy_msg(g->last_error, err->msg);
    ik_log(IK_LOG_ERROR, "group", "cannot record the batch's intents; not sending it", "group", g->id, "error",
           err->msg, NULL);
    ik__emit(g, "persist-failed", json_pack("{s:s, s:s}", "error", err->msg, "document", "intents"));
    ik__group_schedule(g, g->c->o.retry_max_ms < g->c->o.poll_ms ? g->c->o.retry_max_ms : g->c->o.poll_ms);
  } else if (g->intents_saved_gen < gen) {
    g->intents_saved_gen = gen;
  }
  batches_release(g, gen, err);
  pump_actions(g);
  if (later) intents_write(g);
}

/* Put the group's intents document, one put at a time (puts of one key
 * must land in order); changes made meanwhile go with the next one. */
static void intents_write(ik__group_t *g) {
  if (g->intents_writing || g->freed) return;
  json_t *doc = ik_intents_to_json(g->intents);
  char key[300];
  snprintf(key, sizeof key, "groups/%s/intents", g->id);
  g->intents_writing = true;
  g->intents_sent_gen = g->intents_gen;
  ik_err_t err = {0};
  ik__group_ref(g);
  int rc = g->c->o.store->vt->put(g->c->o.store->self, key, doc, on_intents_saved, g, &err);
  json_decref(doc);
  if (rc < 0) on_intents_saved(NULL, &err, g);
}

/* A describe succeeded: settle the intents a previous leader (or this
 * daemon before a restart) left pending, against what it shows. From
 * here on the group acts on this observation like on any other. */
static void intents_resolve(ik__group_t *g, const json_t *members) {
  ik_intents_outcome_t o;
  size_t n = json_object_size(g->intents);
  ik_intents_resolve(g->intents, members, &o);
  g->intents_unresolved = false;
  g->intents_gen++;
  char counts[160];
  snprintf(counts, sizeof counts, "%zu provisioned, %zu not provisioned, %zu destroyed, %zu not destroyed",
           o.provisioned, o.not_provisioned, o.destroyed, o.not_destroyed);
  ik_log(IK_LOG_INFO, "group", "settled the pending intents of the last leader by observing", "group", g->id,
         "outcome", counts, NULL);
  ik__emit(g, "intents-resolved",
           json_pack("{s:I, s:I, s:I, s:I, s:I}", "pending", (json_int_t)n, "provisioned", (json_int_t)o.provisioned,
                     "not_provisioned", (json_int_t)o.not_provisioned, "destroyed", (json_int_t)o.destroyed,
                     "not_destroyed", (json_int_t)o.not_destroyed));
}

static void execute(cycle_t *cy) {
  ik__group_t *g = cy->g;
  int64_t now = ik__now_ms();
  for (size_t i = 0; i < cy->plan.n_actions; i++) {
    ik_plan_action_t *pa = &cy->plan.actions[i];
    if (pa->kind == IK_ACTION_WAIT) {
      if (pa->until_ms > 0) ik__group_schedule(g, pa->until_ms - now);
      continue;
    }
    ik__action_t *a = action_new(g, pa->kind, pa->id, pa->logical_id);
    memcpy(a->config_hash, pa->config_hash, sizeof a->config_hash);
    a->reason = pa->reason;
    a->drain = pa->drain;
    if (a->kind == IK_ACTION_PROVISION || a->kind == IK_ACTION_DESTROY) intent_add(g, a);
    enqueue(g, a);
  }
  /* Write-ahead: the batch's provisions and destroys are in the store
   * (one put) before any of them is sent. */
  if (g->intents_gen != g->intents_saved_gen) intents_write(g);
  pump_actions(g);
}

static void cycle_free(cycle_t *cy) {
  ik_plan_free(&cy->plan);
  ik_free(cy->state_text);
  ik_free(cy);
}

/* Adopt the plan's next state as the group's (it is persisted). */
static void adopt_state(ik__group_t *g, cycle_t *cy) {
  /* The summary with the state it goes with: a status never shows the
   * new phase beside the old hashes while the state is being saved. */
  g->summary = cy->plan.summary;
  g->summary_gen = cy->spec_gen;
  ik_rollout_state_free(&g->state);
  g->state = cy->plan.next;
  ik_rollout_state_init(&cy->plan.next);
  ik_free(g->state_text);
  g->state_text = cy->state_text;
  cy->state_text = NULL;
}

static void on_state_saved(json_t *result, const ik_err_t *err, void *data) {
  cycle_t *cy = data;
  ik__group_t *g = cy->g;
  if (!still_managed(g)) return cycle_free(cy);
  if (err) {
    /* Never act on a state that is not durable: try again later. */
    copy_msg(g->last_error, err->msg);
    ik_log(IK_LOG_ERROR, "group", "cannot save the rollout state; not acting until it can be saved", "group", g->id,
           "error", err->msg, NULL);
    ik__emit(g, "persist-failed", json_pack("{s:s}", "error", err->msg));
    cycle_free(cy);
    ik__group_schedule(g, g->c->o.retry_max_ms < g->c->o.poll_ms ? g->c->o.retry_max_ms : g->c->o.poll_ms);
    return end_cycle(g);
  }
  g->last_error[0] = '\0';
  if (cy->state_gen != g->state_gen) {
    /* A pause, resume or promotion landed while this plan's state was
     * being saved: the plan did not see it, and what was saved may have
     * overwritten it. Drop the plan; the next cycle plans with the new
     * state and writes it again. */
    ik_free(g->state_text);
    g->state_text = NULL;
    cycle_free(cy);
    g->again = true;
    return end_cycle(g);
  }
  adopt_state(g, cy);
  execute(cy);
  cycle_free(cy);
  end_cycle(g);
}

/* Events for what changed between the state and the plan's next. */
static void note_transitions(ik__group_t *g, const ik_plan_t *plan) {
  const ik_rollout_state_t *was = &g->state, *now = &plan->next;
  /* Before its first plan a group is "pending" (as its status says), also
   * after a restart: the phase is not persisted, and a zeroed one is no
   * "steady" to come from. */
  if (was->phase != now->phase || !g->planned) {
    ik__emit(g, "phase", json_pack("{s:s, s:s, s:s}", "from", g->planned ? ik_plan_phase_name(was->phase) : "pending", "to", ik_plan_phase_name(now->phase), "reason", plan->summary.reason));
    ik_log(IK_LOG_INFO, "group", "phase", "group", g->id, "phase", ik_plan_phase_name(now->phase), "reason",
           plan->summary.reason, NULL);
  }
  if (strcmp(was->good_hash, now->good_hash) != 0 && now->good_hash[0])
    ik__emit(g, "rollout-done", json_pack("{s:s}", "config_hash", now->good_hash));
  if (now->rolled_back && !was->rolled_back)
    ik__emit(g, "rollout-failed", json_pack("{s:s, s:s}", "failure", now->failure, "rolled_back_to", now->target_hash));
}

/* Members whose health is unknown are asked again soon - a booting
 * instance is usually healthy a moment later, and a rollout waiting on it
 * must not wait for the poll - on a backoff that grows while answers stay
 * unknown (a flavor that never knows costs a cycle per fifth of the poll,
 * not a hot loop). The cycles in between ask only members not known to
 * be healthy. */
static void recheck_unknown(ik__group_t *g, size_t unknown) {
  if (unknown == 0) {
    g->unknown_streak = 0;
    return;
  }
  ik_controller_t *c = g->c;
  int64_t max = c->o.poll_ms / 5 > IK_UNKNOWN_RECHECK_MS ? c->o.poll_ms / 5 : IK_UNKNOWN_RECHECK_MS;
  g->unknown_streak++;
  ik__group_schedule(g, ik_backoff_ms(g->unknown_streak, IK_UNKNOWN_RECHECK_MS, max, ik__random(c)));
}

static void plan_and_act(ik__group_t *g) {
  int64_t now = ik__now_ms();
  ik_err_t err = {0};
  ik_plan_instance_t *insts = NULL;
  size_t n = 0;
  if (ik_observe_descriptions(g->descs, &insts, &n, &err) < 0) {
    copy_msg(g->last_error, err.msg);
    ik__emit(g, "observe-failed", json_pack("{s:s}", "error", err.msg));
    return end_cycle(g);
  }
  const char *self = g->c->self_id;
  size_t unknown = 0;
  for (size_t i = 0; i < n; i++) {
    ik__seen_t *s = &g->seen[i]; /* same order as descs */
    ik_health_t h = g->health[i];
    if (h == IK_HEALTH_UNHEALTHY && s->health != IK_HEALTH_UNHEALTHY) s->unhealthy_since_ms = now;
    s->health = h;
    unknown += h == IK_HEALTH_UNKNOWN;
    insts[i].health = h;
    insts[i].created_ms = s->first_ms > 0 ? s->first_ms : now;
    insts[i].unhealthy_since_ms = s->unhealthy_since_ms;
    insts[i].adopted = s->adopted;
    if (h != IK_HEALTH_UNKNOWN) s->adopted = false; /* proven (or not) once: from now on like any member */
    insts[i].self = self && (strcmp(insts[i].id, self) == 0 || (insts[i].logical_id && strcmp(insts[i].logical_id, self) == 0));
  }
  recheck_unknown(g, unknown);
  size_t n_fl = 0;
  for (ik__action_t *a = g->actions; a; a = a->next) n_fl++;
  ik_plan_inflight_t *fl = ik_calloc(n_fl + 1, sizeof *fl);
  n_fl = 0;
  for (ik__action_t *a = g->actions; a; a = a->next)
    fl[n_fl++] = (ik_plan_inflight_t){a->kind, a->id, a->logical_id, a->config_hash};

  cycle_t *cy = IK_NEW(cycle_t);
  cy->g = g;
  cy->spec_gen = g->spec_gen;
  cy->state_gen = g->state_gen;
  ik_plan_input_t in = {.spec = &g->spec, .instances = insts, .n_instances = n, .in_flight = fl, .n_in_flight = n_fl, .state = g->state.target_hash[0] || g->cycles ? &g->state : NULL, .now_ms = now, .poll_ms = g->c->o.poll_ms, .seed = ik__random(g->c)};
  int rc = ik_plan_compute(&in, &cy->plan, &err);
  ik_free(insts);
  ik_free(fl);
  if (rc < 0) {
    copy_msg(g->last_error, err.msg);
    ik_log(IK_LOG_ERROR, "group", "plan failed", "group", g->id, "error", err.msg, NULL);
    ik_free(cy);
    return end_cycle(g);
  }
  note_transitions(g, &cy->plan);
  g->planned = true;
  json_decref(g->last_plan);
  g->last_plan = json_array();
  for (size_t i = 0; i < cy->plan.n_actions; i++) {
    ik_buf_t line = {0};
    ik_plan_action_format(&line, &cy->plan.actions[i]);
    json_array_append_new(g->last_plan, json_string(ik_buf_cstr(&line)));
    ik_buf_free(&line);
  }
  json_t *doc = ik_rollout_state_to_json(&cy->plan.next, g->destroying);
  cy->state_text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  if (g->state_text && strcmp(g->state_text, cy->state_text) == 0) {
    json_decref(doc);
    adopt_state(g, cy);
    execute(cy);
    cycle_free(cy);
    return end_cycle(g);
  }
  char key[300];
  snprintf(key, sizeof key, "groups/%s/state", g->id);
  ik__group_ref(g);
  rc = g->c->o.store->vt->put(g->c->o.store->self, key, doc, on_state_saved, cy, &err);
  json_decref(doc);
  if (rc < 0) {
    ik__group_ref(g); /* on_state_saved drops one */
    ik__group_unref(g);
    on_state_saved(NULL, &err, cy);
  }
}

static void on_health(json_t *result, const ik_err_t *err, void *data);

typedef struct health_call {
  ik__group_t *g;
  size_t index;
} health_call_t;

/* Ask the members still to be asked, at most max_calls at once (a
 * group of 10,000 must not start 10,000 Lua calls together); when every
 * answer is in, plan. */
static void health_pump(ik__group_t *g) {
  size_t n = json_array_size(g->descs);
  while (g->health_next < n && g->health_pending < g->c->o.max_calls) {
    size_t i = g->health_next++;
    if (g->health_skip[i]) continue;
    health_call_t *hc = IK_NEW(health_call_t);
    *hc = (health_call_t){g, i};
    g->health_pending++;
    ik_err_t e = {0};
    ik__group_ref(g);
    ik__guard_t *gd = ik__guard(g->c, "healthy", g->spec.flavor_plugin, on_health, hc);
    int rc = g->flavor.vt->healthy(g->flavor.self, g->spec.flavor_properties, json_array_get(g->descs, i), ik__guarded,
                                   gd, &e);
    if (rc < 0) ik__guard_refused(gd);
    if (rc < 0) { /* counts as unknown; completes below without recursion */
      ik__group_unref(g);
      ik_free(hc);
      g->health[i] = IK_HEALTH_UNKNOWN;
      g->health_pending--;
    }
  }
  if (g->health_pending == 0 && g->health_next >= n) plan_and_act(g);
}

static void on_health(json_t *result, const ik_err_t *err, void *data) {
  health_call_t *hc = data;
  ik__group_t *g = hc->g;
  size_t i = hc->index;
  ik_free(hc);
  if (!still_managed(g)) return;
  /* reference §4.6: a Healthy error counts as unknown. */
  json_int_t h = err == NULL && json_is_integer(result) ? json_integer_value(result) : IK_HEALTH_UNKNOWN;
  g->health[i] = h == IK_HEALTH_HEALTHY || h == IK_HEALTH_UNHEALTHY ? (ik_health_t)h : IK_HEALTH_UNKNOWN;
  g->health_pending--;
  g->calls_since_relief++;
  health_pump(g);
}

static void on_described(json_t *result, const ik_err_t *err, void *data) {
  ik__group_t *g = data;
  if (!still_managed(g)) return;
  int64_t now = ik__now_ms();
  if (err || !json_is_array(result)) {
    const char *msg = err ? err->msg : "the instance plugin's describe returned no list";
    if (strcmp(g->last_error, msg) != 0) {
      ik_log(IK_LOG_ERROR, "group", "cannot observe the group's instances", "group", g->id, "error", msg, NULL);
      ik__emit(g, "observe-failed", json_pack("{s:s}", "error", msg));
    }
    copy_msg(g->last_error, msg);
    return end_cycle(g);
  }
  /* Only members (a plugin may ignore the tag filter). */
  json_t *members = json_array();
  size_t i;
  json_t *d;
  json_array_foreach(result, i, d) {
    const char *grp = json_string_value(json_object_get(json_object_get(d, "Tags"), "infrakit.group"));
    if (grp && strcmp(grp, g->id) == 0 && json_is_string(json_object_get(d, "ID"))) json_array_append(members, d);
  }
  if (!ik__may_act(g->c)) { /* deposed meanwhile: act on nothing it says */
    json_decref(members);
    return end_cycle(g);
  }
  g->last_error[0] = '\0';
  if (g->intents_unresolved) intents_resolve(g, members);
  update_seen(g, members, now);
  json_decref(members);
  settle_provisions(g, now);
  /* Health: every member once per poll interval; in between (cycles
   * triggered by events and completions) only members not known to be
   * healthy are asked, so healing a group of thousands does not wait for
   * thousands of Healthy calls. */
  size_t n = json_array_size(g->descs);
  /* "Once per poll": the poll's own cycle comes a hair under poll_ms after
   * the last full check, so allow a tenth of it. */
  bool full = now - g->health_checked_ms >= g->c->o.poll_ms - g->c->o.poll_ms / 10;
  if (full) g->health_checked_ms = now;
  ik_free(g->health);
  g->health = ik_calloc(n + 1, sizeof *g->health);
  ik_free(g->health_skip);
  g->health_skip = ik_calloc(n + 1, sizeof *g->health_skip);
  for (i = 0; i < n; i++) {
    if (!full && g->seen[i].health == IK_HEALTH_HEALTHY) {
      g->health[i] = IK_HEALTH_HEALTHY;
      g->health_skip[i] = true;
    }
  }
  g->health_pending = 0;
  g->health_next = 0;
  health_pump(g);
}

static void run_cycle(ik__group_t *g) {
  if (g->destroying) return;
  g->cycling = true;
  ik_err_t err = {0};
  if (ik__group_plugins(g, &err) < 0) {
    if (strcmp(g->last_error, err.msg) != 0) {
      ik_log(IK_LOG_ERROR, "group", "cannot reach the group's plugins", "group", g->id, "error", err.msg, NULL);
      ik__emit(g, "observe-failed", json_pack("{s:s}", "error", err.msg));
    }
    copy_msg(g->last_error, err.msg);
    return end_cycle(g);
  }
  watch(g);
  release_retries(g, ik__now_ms());
  json_t *tags = json_pack("{s:s}", "infrakit.group", g->id);
  /* With properties only when the flavor's healthy needs them: reading
   * them costs the instance plugin (a file per instance, a bigger answer). */
  bool props = g->flavor.vt->healthy_wants_properties && g->flavor.vt->healthy_wants_properties(g->flavor.self);
  ik__group_ref(g);
  ik__guard_t *gd = ik__guard(g->c, "describe", g->spec.instance_plugin, on_described, g);
  int rc = g->inst.vt->describe(g->inst.self, tags, props, ik__guarded, gd, &err);
  if (rc < 0) ik__guard_refused(gd);
  json_decref(tags);
  if (rc < 0) {
    ik__group_ref(g);
    on_described(NULL, &err, g);
    ik__group_unref(g);
  }
}

/* After thousands of calls, and none outstanding: let the owner free
 * what they left behind (controller.h relief). */
#define IK_RELIEF_CALLS 2048

static void end_cycle(ik__group_t *g) {
  g->cycling = false;
  g->cycles++;
  if (g->freed || g->destroying) return;
  ik_controller_t *c = g->c;
  /* Settled intents not yet cleared in the store: one put for all of them. */
  if (g->intents_gen != g->intents_saved_gen && !g->intents_writing) intents_write(g);
  if (c->o.relief && g->calls_since_relief >= IK_RELIEF_CALLS && g->n_running == 0 &&
      g->queue_head == g->queue_len) {
    g->calls_since_relief = 0;
    c->o.relief(c->o.relief_ctx);
  }
  ik__group_schedule(g, g->c->o.poll_ms);
  int64_t now = ik__now_ms();
  for (ik__action_t *a = g->actions; a; a = a->next)
    if (a->retry_at_ms > 0) ik__group_schedule(g, a->retry_at_ms - now);
  if (g->again) {
    g->again = false;
    ik__group_schedule(g, 0);
  }
}

/* --- status ------------------------------------------------------------------- */

static const char *health_name(ik_health_t h) {
  return h == IK_HEALTH_HEALTHY ? "healthy" : h == IK_HEALTH_UNHEALTHY ? "unhealthy"
                                                                       : "unknown";
}

/* The crash loop, while it lasts (a replacement held back, or the last
 * loss within the crash window): {"Instance", "Exit", "Count", "AgeMs",
 * "LastMs"[, "RetryInMs"]}, or NULL. Adds its failure line to failures
 * and, while a replacement is held back and the plan gives no reason,
 * fills reason (no countdown in it: watch prints a line per change). */
static json_t *crash_status(ik__group_t *g, int64_t now, json_t *failures, char *reason, size_t n) {
  const ik__action_t *held = NULL;
  for (const ik__action_t *a = g->actions; a; a = a->next)
    if (a->crash && a->retry_at_ms > 0) held = a;
  if (g->crash.count == 0 || (held == NULL && now - g->crash.at_ms >= g->c->o.crash_window_ms)) return NULL;
  const char *exit = g->crash.exit ? g->crash.exit : "went away";
  char what[IK_FAILURE_MSG_MAX];
  snprintf(what, sizeof what, "%s %s %.1f s after it started", g->crash.instance, exit, (double)g->crash.age_ms / 1000.0);
  json_array_append_new(failures, json_pack("{s:s, s:i, s:s, s:I}", "Action", "crash-loop", "Attempts", (int)g->crash.count,
                                            "Error", what, "LastMs", (json_int_t)g->crash.at_ms));
  if (reason[0] == '\0' && held)
    snprintf(reason, n, "crash loop: %.160s, %u times in a row; backing off before the next replacement", what,
             g->crash.count);
  json_t *o = json_pack("{s:s, s:s?, s:i, s:I, s:I}", "Instance", g->crash.instance, "Exit", g->crash.exit, "Count",
                        (int)g->crash.count, "AgeMs", (json_int_t)g->crash.age_ms, "LastMs", (json_int_t)g->crash.at_ms);
  if (held) json_object_set_new(o, "RetryInMs", json_integer(held->retry_at_ms > now ? held->retry_at_ms - now : 0));
  return o;
}

bool ik__group_summary_stale(const ik__group_t *g) { return g->summary_gen != g->spec_gen; }

json_t *ik__group_status(ik__group_t *g) {
  const ik_plan_summary_t *s = &g->summary;
  json_t *inflight = json_array(), *failures = json_array(), *insts = json_array();
  int64_t now = ik__now_ms();
  for (ik__action_t *a = g->actions; a; a = a->next) {
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?}", "Action", ik_plan_action_kind_name(a->kind), "Instance", a->created ? a->created : a->id,
                          "LogicalID", a->logical_id, "State",
                          a->recording ? "recording-intent" : a->running       ? "running"
                                                          : a->retry_at_ms > 0 ? "backing-off"
                                                          : a->created         ? "awaiting-describe"
                                                                               : NULL);
    if (a->retry_at_ms > 0) json_object_set_new(o, "RetryInMs", json_integer(a->retry_at_ms > now ? a->retry_at_ms - now : 0));
    json_array_append_new(inflight, o);
  }
  for (ik__failure_t *f = g->failures; f; f = f->next)
    json_array_append_new(failures, json_pack("{s:s, s:i, s:s, s:I}", "Action", f->key, "Attempts", (int)f->attempts,
                                              "Error", f->msg, "LastMs", (json_int_t)f->last_ms));
  for (size_t i = 0; i < g->n_seen; i++) {
    json_t *d = json_array_get(g->descs, i);
    const char *hash = json_string_value(json_object_get(json_object_get(d, "Tags"), "infrakit.config.hash"));
    /* AgeMs: since this daemon first saw it (its creation, when this daemon made it); null when unknown. */
    int64_t first = g->seen[i].first_ms;
    json_array_append_new(insts, json_pack("{s:s, s:s?, s:s, s:s, s:o}", "ID", g->seen[i].id, "LogicalID",
                                           g->seen[i].logical_id, "Health", health_name(g->seen[i].health),
                                           "ConfigHash", hash ? hash : "", "AgeMs",
                                           first > 0 ? json_integer(now - first) : json_null()));
  }
  char reason[IK_PLAN_REASON_MAX];
  bool stale = ik__group_summary_stale(g);
  snprintf(reason, sizeof reason, "%s", stale && !g->destroying ? "the committed spec is not planned yet" : s->reason);
  json_t *crash = crash_status(g, now, failures, reason, sizeof reason);
  json_t *st = json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}, s:s, s:s, s:s, s:s, s:b, s:s, s:o?, s:o, s:o, "
                         "s:o, s:I}",
                         "ID", g->id, "Phase",
                         g->destroying ? "destroying" : stale ? "pending"
                                                              : ik_plan_phase_name(s->phase),
                         "Summary",
                         "Desired", (json_int_t)g->spec.size, "Current", (json_int_t)s->current, "Updated",
                         (json_int_t)s->updated, "Available", (json_int_t)s->available, "Unhealthy",
                         (json_int_t)s->unhealthy, "Done", (json_int_t)s->done, "Total", (json_int_t)s->total, "Reason",
                         reason, "ConfigHash", g->spec.config_hash, "TargetHash", g->state.target_hash, "GoodHash",
                         g->state.good_hash, "Failure", g->state.failure, "CanaryPromoted", g->state.canary_promoted,
                         "Error", g->last_error, "Plan", json_deep_copy(g->last_plan), "InFlight", inflight, "Failures", failures,
                         "Instances", insts, "Cycles", (json_int_t)g->cycles);
  json_object_set_new(st, "CrashLoop", crash ? crash : json_null());
  json_object_set_new(st, "Paused", json_boolean(g->state.paused)); /* `group pause`, at once (the phase follows) */
  return st;
}
