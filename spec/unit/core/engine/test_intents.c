/* core/engine/intents and the controller's write-ahead intents and fence
 * (docs/ha.md, "Write-ahead intents", "What is fenced"): a fake store in
 * memory that logs when each put completes, a fake instance plugin in
 * memory that checks, at every provision and destroy, that the store
 * already holds its intent, and a flavor that says healthy. A "restart" is
 * a second controller over the same store and instances, the first one
 * freed with calls still out (a leader that died mid-batch). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "engine/controller.h"
#include "engine/intents.h"
#include "loop/loop.h"
#include "spi_slot.h"

typedef struct pending_call {
  ik_spi_cb cb;
  void *data;
  json_t *result;
} pending_call_t;

typedef struct fixture {
  ik_loop_t loop;
  ik_controller_t *c;
  ik_group_plugin_t g;
  ik_store_t store;
  bool may_act;
  /* the store */
  json_t *docs; /* key -> document */
  int intent_puts, puts_after_free;
  bool intents_put_fails; /* puts of groups/w/intents answer an error */
  bool freed;
  /* the instance plugin */
  json_t *instances; /* ID -> description */
  int next_id;
  int provisions, destroys, prepares;
  int unrecorded;         /* actions sent whose intent the store did not hold yet */
  bool describe_fails;    /* Describe answers an error */
  bool hang;              /* provisions create the instance but never answer */
  bool fence_on_prepare;  /* the fence closes while a prepare is out */
  pending_call_t hung[8]; /* answers held back (hang) */
  int n_hung;
  uv_timer_t tick;
} fixture_t;

#define FX(self) ((fixture_t *)(self))

/* --- plumbing ------------------------------------------------------------- */

typedef struct later {
  ik_spi_cb cb;
  void *data;
  json_t *result;
  ik_err_t err;
  fixture_t *fx;
  char put_key[128]; /* a put: its document lands when it completes */
  json_t *doc;
} later_t;

static void run_later(void *arg) {
  later_t *l = arg;
  if (l->put_key[0]) {
    json_object_set_new(l->fx->docs, l->put_key, l->doc);
    if (strstr(l->put_key, "/intents")) l->fx->intent_puts++;
  }
  l->cb(l->err.code ? NULL : l->result, l->err.code ? &l->err : NULL, l->data);
  json_decref(l->result);
  ik_free(l);
}

static later_t *later(fixture_t *fx, json_t *result, int code, const char *msg, ik_spi_cb cb, void *data) {
  later_t *l = IK_NEW(later_t);
  *l = (later_t){.cb = cb, .data = data, .result = result, .fx = fx};
  if (code) ik_err_set(&l->err, code, "%s", msg);
  ik_loop_defer(&fx->loop, run_later, l);
  return l;
}

static void on_tick(uv_timer_t *t) { (void)t; }

static void run_for(fixture_t *fx, int ms) {
  uint64_t end = uv_now(&fx->loop.uv) + (uint64_t)ms;
  while (uv_now(&fx->loop.uv) < end) uv_run(&fx->loop.uv, UV_RUN_ONCE);
}

static void run_until(fixture_t *fx, const int *count, int want) {
  uint64_t end = uv_now(&fx->loop.uv) + 5000;
  while (*count < want && uv_now(&fx->loop.uv) < end) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(*count, want);
}

/* --- the store: in memory; a put is durable when its callback runs ------- */

static int st_put(void *s, const char *key, json_t *value, ik_spi_cb cb, void *d, ik_err_t *e) {
  fixture_t *fx = s;
  if (fx->freed) fx->puts_after_free++;
  if (fx->intents_put_fails && strstr(key, "/intents")) {
    later(fx, NULL, IK_EIO, "store: the disk is full", cb, d);
    return 0;
  }
  /* Durable at completion, as a real store: the document lands when the
   * callback is about to run, not when the put is asked for. */
  later_t *l = later(fx, json_null(), 0, NULL, cb, d);
  snprintf(l->put_key, sizeof l->put_key, "%s", key);
  l->doc = json_deep_copy(value);
  return 0;
}
static int st_get(void *s, const char *key, ik_spi_cb cb, void *d, ik_err_t *e) {
  json_t *v = json_object_get(FX(s)->docs, key);
  later(s, json_incref(v), v ? 0 : IK_ENOTFOUND, "store: no such key", cb, d);
  return 0;
}
static int st_del(void *s, const char *key, ik_spi_cb cb, void *d, ik_err_t *e) {
  json_object_del(FX(s)->docs, key);
  later(s, json_null(), 0, NULL, cb, d);
  return 0;
}
static int st_list(void *s, const char *prefix, ik_spi_cb cb, void *d, ik_err_t *e) {
  json_t *keys = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(FX(s)->docs, k, v) if (strncmp(k, prefix, strlen(prefix)) == 0) json_array_append_new(keys, json_string(k));
  later(s, keys, 0, NULL, cb, d);
  return 0;
}
static void no_free(void *s) { (void)s; }

static const ik_store_vtable_t store_vt = {"fake", st_put, st_get, st_del, st_list, no_free};

/* The pending intents the store holds for group w, tag -> entry (borrowed
 * from a new object: decref). */
static json_t *stored_intents(fixture_t *fx) {
  json_t *pending = NULL;
  ik_err_t err = {0};
  json_t *doc = json_object_get(fx->docs, "groups/w/intents");
  if (doc == NULL) return json_object();
  assert_int_equal(ik_intents_from_json(doc, &pending, &err), 0);
  return pending;
}

/* Whether the store holds an intent of kind (with this tag, or for this
 * instance); reads the stored list as it is (no copy: called per action). */
static size_t n_stored_intents(fixture_t *fx) {
  json_t *pending = stored_intents(fx);
  size_t n = json_object_size(pending);
  json_decref(pending);
  return n;
}

static bool stored_intent(fixture_t *fx, const char *tag, const char *kind, const char *instance) {
  json_t *list = json_object_get(json_object_get(fx->docs, "groups/w/intents"), "Intents");
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    const char *t = json_string_value(json_object_get(e, "Tag"));
    const char *k = json_string_value(json_object_get(e, "Kind"));
    const char *in = json_string_value(json_object_get(e, "Instance"));
    if (tag && (t == NULL || strcmp(t, tag) != 0)) continue;
    if (k == NULL || strcmp(k, kind) != 0) continue;
    if (instance && (in == NULL || strcmp(in, instance) != 0)) continue;
    return true;
  }
  return false;
}

/* --- the instance plugin ------------------------------------------------- */

static int in_validate(void *s, json_t *p, ik_spi_cb cb, void *d, ik_err_t *e) {
  later(s, json_null(), 0, NULL, cb, d);
  return 0;
}
static int in_provision(void *s, json_t *spec, ik_spi_cb cb, void *d, ik_err_t *e) {
  fixture_t *fx = s;
  fx->provisions++;
  const char *tag = json_string_value(json_object_get(json_object_get(spec, "Tags"), IK_TAG_INTENT));
  if (tag == NULL || !stored_intent(fx, tag, "provision", NULL)) fx->unrecorded++;
  char id[32];
  snprintf(id, sizeof id, "inst-%d", ++fx->next_id);
  json_object_set_new(fx->instances, id, json_pack("{s:s, s:O}", "ID", id, "Tags", json_object_get(spec, "Tags")));
  if (fx->hang && fx->n_hung < 8) { /* created, but the answer is never heard */
    fx->hung[fx->n_hung++] = (pending_call_t){cb, d, json_string(id)};
    return 0;
  }
  later(fx, json_string(id), 0, NULL, cb, d);
  return 0;
}
static int in_label(void *s, const char *id, json_t *l, ik_spi_cb cb, void *d, ik_err_t *e) {
  later(s, json_null(), 0, NULL, cb, d);
  return 0;
}
static int in_destroy(void *s, const char *id, const char *why, ik_spi_cb cb, void *d, ik_err_t *e) {
  fixture_t *fx = s;
  fx->destroys++;
  if (!stored_intent(fx, NULL, "destroy", id)) fx->unrecorded++;
  bool had = json_object_get(fx->instances, id) != NULL;
  json_object_del(fx->instances, id);
  later(fx, json_null(), had ? 0 : IK_ENOTFOUND, "no such instance", cb, d);
  return 0;
}
static int in_describe(void *s, json_t *tags, bool props, ik_spi_cb cb, void *d, ik_err_t *e) {
  fixture_t *fx = s;
  if (fx->describe_fails) {
    later(fx, NULL, IK_EDRIVER, "the cloud's API is down", cb, d);
    return 0;
  }
  json_t *list = json_array();
  const char *id;
  json_t *desc;
  json_object_foreach(fx->instances, id, desc) {
    if (ik_instance_tags_match(json_object_get(desc, "Tags"), tags)) json_array_append(list, desc);
  }
  later(fx, list, 0, NULL, cb, d);
  return 0;
}

static const ik_instance_vtable_t inst_vt = {
    .kind = "fake",
    .validate = in_validate,
    .provision = in_provision,
    .label = in_label,
    .destroy = in_destroy,
    .describe = in_describe,
    .free = no_free,
};

/* --- the flavor ------------------------------------------------------------ */

static int fl_validate(void *s, json_t *props, json_t *alloc, ik_spi_cb cb, void *d, ik_err_t *e) {
  later(s, json_null(), 0, NULL, cb, d);
  return 0;
}
static int fl_prepare(void *s, json_t *props, json_t *spec, json_t *alloc, json_t *index, ik_spi_cb cb, void *d,
                      ik_err_t *e) {
  fixture_t *fx = s;
  fx->prepares++;
  if (fx->fence_on_prepare) fx->may_act = false; /* deposed while the flavor works */
  later(fx, json_deep_copy(spec), 0, NULL, cb, d);
  return 0;
}
static int fl_healthy(void *s, json_t *props, json_t *inst, ik_spi_cb cb, void *d, ik_err_t *e) {
  later(s, json_integer(IK_HEALTH_HEALTHY), 0, NULL, cb, d);
  return 0;
}
static int fl_drain(void *s, json_t *props, json_t *inst, ik_spi_cb cb, void *d, ik_err_t *e) {
  later(s, json_null(), 0, NULL, cb, d);
  return 0;
}

static const ik_flavor_vtable_t flavor_vt = {"fake", fl_validate, fl_prepare, fl_healthy, fl_drain, no_free, NULL};

static int resolve_instance(void *ctx, const char *name, ik_instance_plugin_t *out, ik_err_t *err) {
  *out = (ik_instance_plugin_t){&inst_vt, ctx};
  return 0;
}

static int resolve_flavor(void *ctx, const char *name, ik_flavor_plugin_t *out, ik_err_t *err) {
  *out = (ik_flavor_plugin_t){&flavor_vt, ctx};
  return 0;
}

static bool fence(void *ctx) { return FX(ctx)->may_act; }

/* --- fixture --------------------------------------------------------------- */

static void controller_start(fixture_t *fx, int64_t poll_ms) {
  ik_err_t err = {0};
  fx->store = (ik_store_t){&store_vt, fx};
  ik_controller_opts_t o = {.resolver = {resolve_instance, resolve_flavor, fx},
                            .store = &fx->store,
                            .poll_ms = poll_ms,
                            .retry_base_ms = 20,
                            .retry_max_ms = 200,
                            .max_group_size = 2000,
                            .max_calls = 64,
                            .may_act = fence,
                            .may_act_ctx = fx};
  assert_int_equal(ik_controller_new(&fx->loop, &o, &fx->c, &err), 0);
  fx->g = ik_controller_group(fx->c);
  fx->freed = false;
}

/* A new controller polling every poll_ms, in place of the fixture's. */
static void controller_free_and_start(fixture_t *fx, int64_t poll_ms) {
  ik_controller_free(fx->c);
  controller_start(fx, poll_ms);
}

/* The leader dies: its controller goes with calls still out. */
static void controller_die(fixture_t *fx) {
  ik_controller_free(fx->c);
  fx->c = NULL;
  fx->freed = true;
}

static void controller_resume(fixture_t *fx) {
  slot_t s = {0};
  CALL(fx, &s, ik_controller_resume(fx->c, on_slot, &s, &e_));
  if (s.err.code) fail_msg("resume: %s", s.err.msg);
  slot_clear(&s);
}

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  if (ik_loop_init(&fx->loop, &err) < 0) return -1;
  fx->docs = json_object();
  fx->instances = json_object();
  fx->may_act = true;
  uv_timer_init(&fx->loop.uv, &fx->tick);
  uv_timer_start(&fx->tick, on_tick, 2, 2); /* wakes run_for */
  controller_start(fx, 60000);
  *state = fx;
  return 0;
}

/* Answer the calls held back (late: their controller is gone). */
static void answer_hung(fixture_t *fx) {
  for (int i = 0; i < fx->n_hung; i++) {
    fx->hung[i].cb(fx->hung[i].result, NULL, fx->hung[i].data);
    json_decref(fx->hung[i].result);
  }
  fx->n_hung = 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  ik_controller_free(fx->c);
  answer_hung(fx);
  uv_close((uv_handle_t *)&fx->tick, NULL);
  int leaked = 0;
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  ik_loop_close(&fx->loop, &leaked);
  json_decref(fx->docs);
  json_decref(fx->instances);
  ik_free(fx);
  return leaked == 0 ? 0 : -1;
}

static json_t *spec_json(int size) {
  return json_pack("{s:s, s:{s:{s:i}, s:{s:s, s:{}}, s:{s:s, s:{}}}}", "ID", "w", "Properties", "Allocation", "Size",
                   size, "Instance", "Plugin", "instance-fake", "Properties", "Flavor", "Plugin", "flavor-fake",
                   "Properties");
}

static json_t *pets_json(void) {
  return json_pack("{s:s, s:{s:{s:[sss]}, s:{s:s, s:{}}, s:{s:s, s:{}}}}", "ID", "w", "Properties", "Allocation",
                   "LogicalIDs", "db-1", "db-2", "db-3", "Instance", "Plugin", "instance-fake", "Properties", "Flavor",
                   "Plugin", "flavor-fake", "Properties");
}

static void commit(fixture_t *fx, json_t *spec) {
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &e_));
  if (s.err.code) fail_msg("commit: %s", s.err.msg);
  slot_clear(&s);
  json_decref(spec);
}

static void set_size(fixture_t *fx, int size) {
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->set_size(fx->g.self, "w", (uint64_t)size, on_slot, &s, &e_));
  if (s.err.code) fail_msg("set_size: %s", s.err.msg);
  slot_clear(&s);
}

/* Commit the pets; the leader sends their provisions - the instances are
 * created, the answers never come - and dies. */
static void die_with_provisions_unanswered(fixture_t *fx) {
  fx->hang = true;
  commit(fx, pets_json());
  run_until(fx, &fx->provisions, 3);
  run_for(fx, 50);
  assert_int_equal(n_stored_intents(fx), 3); /* sent, never answered */
  controller_die(fx);
  fx->hang = false;
}

static int n_instances(fixture_t *fx) { return (int)json_object_size(fx->instances); }

/* Instances per logical ID: fails on a duplicate. */
static void no_duplicate_logical_ids(fixture_t *fx) {
  json_t *seen = json_object();
  const char *id;
  json_t *d;
  json_object_foreach(fx->instances, id, d) {
    const char *lid = json_string_value(json_object_get(json_object_get(d, "Tags"), "infrakit.logical_id"));
    if (lid == NULL) continue;
    if (json_object_get(seen, lid)) fail_msg("two instances of %s", lid);
    json_object_set_new(seen, lid, json_true());
  }
  json_decref(seen);
}

/* --- the document ------------------------------------------------------------- */

static void document_round_trips_and_names_bad_fields(void **state) {
  json_t *pending = json_object(), *back = NULL;
  json_object_set_new(pending, "b2", ik_intent_destroy("i-7"));
  json_object_set_new(pending, "a1", ik_intent_provision("hash1", "db-1"));
  json_t *doc = ik_intents_to_json(pending);
  char *text = json_dumps(doc, JSON_COMPACT);
  assert_string_equal(text, "{\"Intents\":[{\"Tag\":\"a1\",\"Kind\":\"provision\",\"ConfigHash\":\"hash1\",\"LogicalID\":\"db-1\"},"
                            "{\"Tag\":\"b2\",\"Kind\":\"destroy\",\"Instance\":\"i-7\"}]}");
  free(text);
  ik_err_t err = {0};
  assert_int_equal(ik_intents_from_json(doc, &back, &err), 0);
  assert_true(json_equal(back, pending));
  json_decref(back);
  json_decref(doc);
  json_t *bad = json_pack("{s:[{s:s, s:s}]}", "Intents", "Tag", "x", "Kind", "destroy");
  assert_int_equal(ik_intents_from_json(bad, &back, &err), IK_EINVAL);
  assert_string_equal(err.msg, "intents.Intents[0].Instance: missing");
  json_decref(bad);
  bad = json_pack("{s:[{s:s, s:s}]}", "Intents", "Tag", "x", "Kind", "reboot");
  assert_int_equal(ik_intents_from_json(bad, &back, &err), IK_EINVAL);
  assert_string_equal(err.msg, "intents.Intents[0].Kind: want provision or destroy");
  json_decref(bad);
  json_decref(pending);
}

static void resolve_settles_by_tag_and_by_absence(void **state) {
  json_t *pending = json_object();
  json_object_set_new(pending, "t1", ik_intent_provision("h", NULL)); /* its instance is there */
  json_object_set_new(pending, "t2", ik_intent_provision("h", NULL)); /* it is not */
  json_object_set_new(pending, "t3", ik_intent_destroy("i-1"));       /* still there */
  json_object_set_new(pending, "t4", ik_intent_destroy("i-9"));       /* gone */
  json_t *members = json_pack("[{s:s, s:{s:s}}, {s:s, s:{}}]", "ID", "i-5", "Tags", IK_TAG_INTENT, "t1", "ID", "i-1", "Tags");
  ik_intents_outcome_t o;
  ik_intents_resolve(pending, members, &o);
  assert_int_equal(o.provisioned, 1);
  assert_int_equal(o.not_provisioned, 1);
  assert_int_equal(o.not_destroyed, 1);
  assert_int_equal(o.destroyed, 1);
  assert_int_equal(json_object_size(pending), 0);
  json_decref(members);
  json_decref(pending);
}

/* --- the controller ------------------------------------------------------------- */

/* Every provision and destroy finds its intent in the store when it is
 * sent; once the answers are in, the store holds none. */
static void intents_are_durable_before_each_action_and_cleared_after(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json(5));
  run_until(fx, &fx->provisions, 5);
  run_for(fx, 100);
  assert_int_equal(fx->unrecorded, 0);
  assert_int_equal(n_instances(fx), 5);
  assert_int_equal(n_stored_intents(fx), 0);
  int puts = fx->intent_puts;
  assert_true(puts >= 1 && puts <= 3); /* the batch's, and the clear */
  /* Every instance carries the tag of the intent it was provisioned under. */
  const char *id;
  json_t *d;
  json_object_foreach(fx->instances, id, d) assert_non_null(json_object_get(json_object_get(d, "Tags"), IK_TAG_INTENT));
  set_size(fx, 2);
  run_until(fx, &fx->destroys, 3);
  run_for(fx, 100);
  assert_int_equal(fx->unrecorded, 0);
  assert_int_equal(n_instances(fx), 2);
  assert_int_equal(n_stored_intents(fx), 0);
}

/* A leader dies with provisions sent and unanswered (the instances were
 * created): the next one observes them and provisions nothing. */
static void restart_with_pending_provisions_whose_instances_exist_provisions_nothing(void **state) {
  fixture_t *fx = *state;
  die_with_provisions_unanswered(fx);
  controller_start(fx, 60000);
  controller_resume(fx);
  run_for(fx, 300);
  assert_int_equal(fx->provisions, 3);
  assert_int_equal(n_instances(fx), 3);
  no_duplicate_logical_ids(fx);
  assert_int_equal(n_stored_intents(fx), 0);
}

/* The intent is in the store but the instance never came (the leader died
 * between the put and the call, or the call failed): a describe that
 * succeeds shows it absent, and it is provisioned once. */
static void restart_with_a_pending_provision_and_no_instance_provisions_once(void **state) {
  fixture_t *fx = *state;
  commit(fx, pets_json());
  run_until(fx, &fx->provisions, 3);
  run_for(fx, 100);
  controller_die(fx);
  /* db-2's instance is lost with the leader, its intent still pending. */
  const char *id;
  json_t *d;
  void *tmp;
  char tag[IK_INTENT_TAG_LEN + 1] = "";
  json_object_foreach_safe(fx->instances, tmp, id, d) {
    if (strcmp(json_string_value(json_object_get(json_object_get(d, "Tags"), "infrakit.logical_id")), "db-2") == 0) {
      snprintf(tag, sizeof tag, "%s", json_string_value(json_object_get(json_object_get(d, "Tags"), IK_TAG_INTENT)));
      json_object_del(fx->instances, id);
    }
  }
  json_t *pending = json_object();
  json_object_set_new(pending, tag, ik_intent_provision("whatever", "db-2"));
  json_object_set_new(fx->docs, "groups/w/intents", ik_intents_to_json(pending));
  json_decref(pending);
  controller_start(fx, 60000);
  controller_resume(fx);
  run_until(fx, &fx->provisions, 4);
  run_for(fx, 300);
  assert_int_equal(fx->provisions, 4);
  assert_int_equal(n_instances(fx), 3);
  no_duplicate_logical_ids(fx);
}

/* Pending intents and a describe that fails: nothing is sent - not even
 * what the plan would want - until a describe succeeds. */
static void restart_with_pending_intents_sends_nothing_while_describe_fails(void **state) {
  fixture_t *fx = *state;
  die_with_provisions_unanswered(fx);
  json_object_clear(fx->instances); /* none of them made it */
  fx->describe_fails = true;
  controller_start(fx, 50); /* polls often: many chances to act */
  controller_resume(fx);
  run_for(fx, 400);
  assert_int_equal(fx->provisions, 3);
  assert_int_equal(fx->destroys, 0);
  assert_int_equal(n_stored_intents(fx), 3); /* still unresolved */
  fx->describe_fails = false;
  run_until(fx, &fx->provisions, 6);
  run_for(fx, 200);
  assert_int_equal(fx->provisions, 6);
  assert_int_equal(n_instances(fx), 3);
  no_duplicate_logical_ids(fx);
}

/* DestroyInstances and DestroyGroup record their destroys first too; a
 * destroy whose intent cannot be recorded is not sent, and said. */
static const char *an_instance(fixture_t *fx) {
  void *it = json_object_iter(fx->instances);
  return it ? json_object_iter_key(it) : NULL;
}

static void destroys_outside_the_plan_are_recorded_first(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json(3));
  run_until(fx, &fx->provisions, 3);
  run_for(fx, 100);
  json_t *ids = json_pack("[s]", an_instance(fx));
  fx->intents_put_fails = true;
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->destroy_instances(fx->g.self, "w", ids, on_slot, &s, &e_));
  json_decref(ids);
  assert_non_null(strstr(s.err.msg, "the disk is full"));
  assert_int_equal(fx->destroys, 0);
  /* The smaller size was committed before: once intents can be written,
   * the plan removes a surplus member (recorded first, like any). */
  fx->intents_put_fails = false;
  run_until(fx, &fx->destroys, 1);
  run_for(fx, 100);
  assert_int_equal(n_instances(fx), 2);
  ids = json_pack("[s]", an_instance(fx));
  CALL(fx, &s, fx->g.vt->destroy_instances(fx->g.self, "w", ids, on_slot, &s, &e_));
  json_decref(ids);
  assert_int_equal(s.err.code, 0);
  assert_int_equal(n_instances(fx), 1);
  CALL(fx, &s, fx->g.vt->destroy(fx->g.self, "w", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  assert_int_equal(n_instances(fx), 0);
  assert_int_equal(fx->destroys, 3);
  assert_int_equal(fx->unrecorded, 0);
  assert_null(json_object_get(fx->docs, "groups/w/intents")); /* forgotten with the group */
}

/* The batch's intents cannot be recorded: none of it is sent, the error
 * is the group's; once the store takes them, the batch goes. */
static void a_batch_whose_intents_cannot_be_recorded_is_not_sent(void **state) {
  fixture_t *fx = *state;
  controller_free_and_start(fx, 100);
  fx->intents_put_fails = true;
  commit(fx, spec_json(3));
  run_for(fx, 400);
  assert_int_equal(fx->provisions, 0);
  assert_int_equal(fx->prepares, 0);
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->status(fx->g.self, "w", on_slot, &s, &e_));
  assert_non_null(strstr(json_string_value(json_object_get(s.result, "Error")), "the disk is full"));
  slot_clear(&s);
  fx->intents_put_fails = false;
  run_until(fx, &fx->provisions, 3);
  run_for(fx, 200);
  assert_int_equal(fx->provisions, 3);
  assert_int_equal(fx->unrecorded, 0);
  assert_int_equal(n_instances(fx), 3);
}

/* The fence closed: nothing goes to the plugins, not even a prepare. */
static void a_closed_fence_sends_nothing(void **state) {
  fixture_t *fx = *state;
  fx->may_act = false;
  commit(fx, spec_json(3));
  run_for(fx, 300);
  assert_int_equal(fx->provisions, 0);
  assert_int_equal(fx->prepares, 0);
  assert_int_equal(n_instances(fx), 0);
}

/* The fence closes while a prepare is out: its provision is not sent. */
static void a_fence_closed_between_prepare_and_provision_sends_nothing(void **state) {
  fixture_t *fx = *state;
  fx->fence_on_prepare = true;
  commit(fx, spec_json(3));
  run_for(fx, 300);
  assert_true(fx->prepares >= 1);
  assert_int_equal(fx->provisions, 0);
  assert_int_equal(n_instances(fx), 0);
}

/* Answers that come after the controller is gone (leadership lost) are
 * dropped: nothing is written, nothing else is sent. */
static void answers_after_the_controller_is_gone_are_not_acted_on(void **state) {
  fixture_t *fx = *state;
  fx->hang = true;
  commit(fx, spec_json(3));
  run_until(fx, &fx->provisions, 3);
  run_for(fx, 50);
  controller_die(fx);
  answer_hung(fx);
  run_for(fx, 200);
  assert_int_equal(fx->puts_after_free, 0);
  assert_int_equal(fx->provisions, 3);
}

/* A rollout of 1,000: the intents cost a few puts per batch, not one per
 * instance (measured; printed). */
static void a_thousand_instances_cost_few_intent_puts(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json(1000));
  run_until(fx, &fx->provisions, 1000);
  run_for(fx, 300);
  assert_int_equal(fx->unrecorded, 0);
  assert_int_equal(n_instances(fx), 1000);
  int up = fx->intent_puts;
  set_size(fx, 0);
  run_until(fx, &fx->destroys, 1000);
  run_for(fx, 300);
  assert_int_equal(fx->unrecorded, 0);
  print_message("intent puts: %d for 1000 provisions, %d for 1000 destroys (64 calls in flight)\n", up,
                fx->intent_puts - up);
  assert_true(up <= 100);
  assert_true(fx->intent_puts - up <= 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(document_round_trips_and_names_bad_fields),
      cmocka_unit_test(resolve_settles_by_tag_and_by_absence),
      cmocka_unit_test_setup_teardown(intents_are_durable_before_each_action_and_cleared_after, setup, teardown),
      cmocka_unit_test_setup_teardown(restart_with_pending_provisions_whose_instances_exist_provisions_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(restart_with_a_pending_provision_and_no_instance_provisions_once, setup, teardown),
      cmocka_unit_test_setup_teardown(restart_with_pending_intents_sends_nothing_while_describe_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(destroys_outside_the_plan_are_recorded_first, setup, teardown),
      cmocka_unit_test_setup_teardown(a_batch_whose_intents_cannot_be_recorded_is_not_sent, setup, teardown),
      cmocka_unit_test_setup_teardown(a_closed_fence_sends_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(a_fence_closed_between_prepare_and_provision_sends_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(answers_after_the_controller_is_gone_are_not_acted_on, setup, teardown),
      cmocka_unit_test_setup_teardown(a_thousand_instances_cost_few_intent_puts, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
