/* core/engine/controller: the group controller end to end, on the real
 * file instance plugin (providers/file) behind a proxy that counts calls
 * and injects failures, a flavor double, and the file store. The poll is
 * set long (60 s) so that everything here happens through events and
 * completions, never by waiting for a resync. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "engine/controller.h"
#include "engine/engine_metrics.h"
#include "engine/store_file.h"
#include "loop/loop.h"
#include "providers/file/file.h"
#include "spi_slot.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64], files[96], store_dir[96], events[96];
  ik_instance_plugin_t file; /* the real provider */
  ik_store_t store;
  ik_events_t *ev; /* the event log at events */
  ik_controller_t *c;
  ik_group_plugin_t g;
  /* proxy instance plugin */
  int provisions, destroys, destroy_failures_left, labels;
  int max_live;        /* most instance files seen at once */
  int hang_provisions; /* this many provisions never answer (until answer_hung) */
  struct {
    json_t *spec;
    ik_spi_cb cb;
    void *data;
  } hung[4];
  int n_hung;
  int64_t call_timeout_ms; /* for the next controller_start; 0 = the default */
  /* flavor double */
  ik_health_t health; /* what Healthy answers */
  json_t *health_of;  /* ID -> 0/1/2 overrides */
  bool unknown_first; /* answer unknown the first time an instance is asked */
  json_t *asked;      /* IDs asked at least once */
  int drains, prepares;
  uv_timer_t tick;
} fixture_t;

/* --- plumbing ------------------------------------------------------------ */

typedef struct later {
  ik_spi_cb cb;
  void *data;
  json_t *result;
  ik_err_t err;
  bool failed;
} later_t;

static void run_later(void *arg) {
  later_t *l = arg;
  l->cb(l->failed ? NULL : l->result, l->failed ? &l->err : NULL, l->data);
  json_decref(l->result);
  ik_free(l);
}

static int later(fixture_t *fx, json_t *result, const char *fail, ik_spi_cb cb, void *data) {
  later_t *l = IK_NEW(later_t);
  l->cb = cb;
  l->data = data;
  l->result = result;
  if (fail) {
    ik_err_set(&l->err, IK_EDRIVER, "%s", fail);
    l->failed = true;
  }
  ik_loop_defer(&fx->loop, run_later, l);
  return 0;
}

static int count_files(fixture_t *fx) {
  DIR *d = opendir(fx->files);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d)) != NULL;) n += de->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

/* The IDs of the instance files, sorted, as one string "a b c". */
static char *file_ids(fixture_t *fx) {
  char *names[256];
  int n = 0;
  DIR *d = opendir(fx->files);
  for (struct dirent *de; d && (de = readdir(d)) != NULL && n < 256;)
    if (de->d_name[0] != '.') names[n++] = strdup(de->d_name);
  if (d) closedir(d);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(names[i], names[j]) > 0) {
        char *t = names[i];
        names[i] = names[j];
        names[j] = t;
      }
  size_t len = 1;
  for (int i = 0; i < n; i++) len += strlen(names[i]) + 1;
  char *out = calloc(1, len);
  for (int i = 0; i < n; i++) {
    if (i) strcat(out, " ");
    strcat(out, names[i]);
    free(names[i]);
  }
  return out;
}

/* A tag of instance file id. */
static char *file_tag(fixture_t *fx, const char *id, const char *tag) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", fx->files, id);
  json_t *v = json_load_file(path, 0, NULL);
  const char *t = json_string_value(json_object_get(json_object_get(v, "Tags"), tag));
  char *out = t ? strdup(t) : NULL;
  json_decref(v);
  return out;
}

static void on_tick(uv_timer_t *t) {
  fixture_t *fx = t->data;
  int n = count_files(fx);
  if (n > fx->max_live) fx->max_live = n;
}

/* Run the loop until cond(fx) holds or max_ms pass; returns cond(fx). */
static bool run_until_cond(fixture_t *fx, bool (*cond)(fixture_t *), int max_ms) {
  uint64_t end = uv_now(&fx->loop.uv) + (uint64_t)max_ms;
  while (!cond(fx) && uv_now(&fx->loop.uv) < end) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  return cond(fx);
}

static void run_for(fixture_t *fx, int ms) {
  uint64_t end = uv_now(&fx->loop.uv) + (uint64_t)ms;
  while (uv_now(&fx->loop.uv) < end) uv_run(&fx->loop.uv, UV_RUN_ONCE);
}

static void run_until(fixture_t *fx, const int *count, int want) {
  for (int i = 0; *count < want && i < 100000; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(*count, want);
}

/* --- the proxy instance plugin ------------------------------------------ */

#define FX(self) ((fixture_t *)(self))
static int px_validate(void *s, json_t *p, ik_spi_cb cb, void *d, ik_err_t *e) {
  return FX(s)->file.vt->validate(FX(s)->file.self, p, cb, d, e);
}
static int px_provision(void *s, json_t *spec, ik_spi_cb cb, void *d, ik_err_t *e) {
  fixture_t *fx = s;
  fx->provisions++;
  if (fx->hang_provisions > 0 && fx->n_hung < 4) { /* a provider that does not answer (yet) */
    fx->hang_provisions--;
    fx->hung[fx->n_hung].spec = json_incref(spec);
    fx->hung[fx->n_hung].cb = cb;
    fx->hung[fx->n_hung].data = d;
    fx->n_hung++;
    return 0;
  }
  return fx->file.vt->provision(fx->file.self, spec, cb, d, e);
}
static int px_label(void *s, const char *id, json_t *l, ik_spi_cb cb, void *d, ik_err_t *e) {
  FX(s)->labels++;
  return FX(s)->file.vt->label(FX(s)->file.self, id, l, cb, d, e);
}
static int px_destroy(void *s, const char *id, const char *why, ik_spi_cb cb, void *d, ik_err_t *e) {
  fixture_t *fx = s;
  fx->destroys++;
  if (fx->destroy_failures_left > 0) {
    fx->destroy_failures_left--;
    return later(fx, NULL, "the cloud said no", cb, d);
  }
  return fx->file.vt->destroy(fx->file.self, id, why, cb, d, e);
}
static int px_describe(void *s, json_t *tags, bool props, ik_spi_cb cb, void *d, ik_err_t *e) {
  return FX(s)->file.vt->describe(FX(s)->file.self, tags, props, cb, d, e);
}
static int px_watch(void *s, ik_instance_event_cb cb, void *d, ik_err_t *e) {
  return FX(s)->file.vt->watch(FX(s)->file.self, cb, d, e);
}
static void px_unwatch(void *s, int token) { FX(s)->file.vt->unwatch(FX(s)->file.self, token); }
static void no_free(void *s) { (void)s; }

static const ik_instance_vtable_t proxy_vt = {
    .kind = "proxy",
    .validate = px_validate,
    .provision = px_provision,
    .label = px_label,
    .destroy = px_destroy,
    .describe = px_describe,
    .free = no_free,
    .watch = px_watch,
    .unwatch = px_unwatch,
};

/* --- the flavor double ---------------------------------------------------- */

static int fl_validate(void *s, json_t *props, json_t *alloc, ik_spi_cb cb, void *d, ik_err_t *e) {
  const char *bad = json_string_value(json_object_get(props, "Bad"));
  return later(s, json_null(), bad, cb, d);
}
static int fl_prepare(void *s, json_t *props, json_t *spec, json_t *alloc, json_t *index, ik_spi_cb cb, void *d,
                      ik_err_t *e) {
  FX(s)->prepares++;
  json_t *out = json_deep_copy(spec);
  json_object_set_new(out, "Init", json_string("prepared"));
  return later(s, out, NULL, cb, d);
}
static int fl_healthy(void *s, json_t *props, json_t *inst, ik_spi_cb cb, void *d, ik_err_t *e) {
  fixture_t *fx = s;
  const char *id = json_string_value(json_object_get(inst, "ID"));
  bool first = json_object_get(fx->asked, id) == NULL;
  json_object_set_new(fx->asked, id, json_true());
  if (fx->unknown_first && first) return later(fx, json_integer(IK_HEALTH_UNKNOWN), NULL, cb, d);
  json_t *h = json_object_get(fx->health_of, id);
  return later(fx, json_integer(h ? json_integer_value(h) : fx->health), NULL, cb, d);
}
static int fl_drain(void *s, json_t *props, json_t *inst, ik_spi_cb cb, void *d, ik_err_t *e) {
  FX(s)->drains++;
  return later(s, json_null(), NULL, cb, d);
}

static const ik_flavor_vtable_t double_flavor_vt = {"double", fl_validate, fl_prepare, fl_healthy, fl_drain, no_free, NULL};

static int resolve_instance(void *ctx, const char *name, ik_instance_plugin_t *out, ik_err_t *err) {
  if (strcmp(name, "instance-test") != 0) return ik_err_set(err, IK_ENOTFOUND, "no plugin %s", name);
  *out = (ik_instance_plugin_t){&proxy_vt, ctx};
  return 0;
}

static int resolve_flavor(void *ctx, const char *name, ik_flavor_plugin_t *out, ik_err_t *err) {
  if (strcmp(name, "flavor-test") != 0) return ik_err_set(err, IK_ENOTFOUND, "no plugin %s", name);
  *out = (ik_flavor_plugin_t){&double_flavor_vt, ctx};
  return 0;
}

/* --- fixture --------------------------------------------------------------- */

static void controller_start_poll(fixture_t *fx, int64_t poll_ms) {
  ik_err_t err = {0};
  ik_controller_opts_t o = {.resolver = {resolve_instance, resolve_flavor, fx},
                            .store = &fx->store,
                            .events = fx->ev,
                            .poll_ms = poll_ms,
                            .retry_base_ms = 20,
                            .retry_max_ms = 200,
                            .crash_window_ms = 5000,
                            .max_group_size = 50,
                            .call_timeout_ms = fx->call_timeout_ms};
  assert_int_equal(ik_controller_new(&fx->loop, &o, &fx->c, &err), 0);
  fx->g = ik_controller_group(fx->c);
}

static void controller_start(fixture_t *fx) { controller_start_poll(fx, 60000); }

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-ctl-XXXXXX");
  if (mkdtemp(fx->dir) == NULL || ik_loop_init(&fx->loop, &err) < 0) return -1;
  snprintf(fx->files, sizeof fx->files, "%s/files", fx->dir);
  snprintf(fx->store_dir, sizeof fx->store_dir, "%s/configs", fx->dir);
  snprintf(fx->events, sizeof fx->events, "%s/events.jsonl", fx->dir);
  if (ik_file_provider_new(&fx->loop, fx->files, &fx->file, &err) < 0) return -1;
  if (ik_store_file_new(&fx->loop, fx->store_dir, &fx->store, &err) < 0) return -1;
  if (ik_events_open(fx->events, &fx->ev, &err) < 0) return -1;
  fx->health = IK_HEALTH_HEALTHY;
  fx->health_of = json_object();
  fx->asked = json_object();
  uv_timer_init(&fx->loop.uv, &fx->tick);
  fx->tick.data = fx;
  uv_timer_start(&fx->tick, on_tick, 2, 2); /* also wakes run_until_cond */
  controller_start(fx);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  ik_controller_free(fx->c);
  ik_events_close(fx->ev);
  uv_close((uv_handle_t *)&fx->tick, NULL);
  fx->file.vt->free(fx->file.self);
  fx->store.vt->free(fx->store.self);
  int leaked = 0;
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  ik_loop_close(&fx->loop, &leaked);
  json_decref(fx->health_of);
  json_decref(fx->asked);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  if (system(cmd) != 0) return -1;
  ik_free(fx);
  return leaked == 0 ? 0 : -1;
}

static json_t *spec_json(const char *id, int size, const char *note) {
  return json_pack("{s:s, s:{s:{s:i}, s:{s:s, s:{s:s}}, s:{s:s, s:{}}, s:{s:i, s:i}}}", "ID", id, "Properties",
                   "Allocation", "Size", size, "Instance", "Plugin", "instance-test", "Properties", "Note", note,
                   "Flavor", "Plugin", "flavor-test", "Properties", "Updating", "MaxSurge", 1, "MaxUnavailable", 0);
}

static void commit(fixture_t *fx, json_t *spec) {
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &e_));
  if (s.err.code) fail_msg("commit: %s", s.err.msg);
  slot_clear(&s);
  json_decref(spec);
}

static json_t *status(fixture_t *fx, const char *id) {
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->status(fx->g.self, id, on_slot, &s, &e_));
  return s.result;
}

static const char *phase(json_t *st) { return json_string_value(json_object_get(st, "Phase")); }

static int want_n;
static bool has_n(fixture_t *fx) { return count_files(fx) == want_n; }

static bool steady(fixture_t *fx) {
  json_t *st = status(fx, "workers");
  const char *config = json_string_value(json_object_get(st, "ConfigHash"));
  bool ok = strcmp(phase(st), "steady") == 0 && json_array_size(json_object_get(st, "InFlight")) == 0 &&
            count_files(fx) == want_n && strcmp(config, json_string_value(json_object_get(st, "GoodHash"))) == 0;
  json_decref(st);
  return ok;
}

/* --- tests ----------------------------------------------------------------- */

static void commit_provisions_tagged_instances(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  char *ids = file_ids(fx);
  char *first = strtok(ids, " ");
  char *grp = file_tag(fx, first, "infrakit.group"), *hash = file_tag(fx, first, "infrakit.config.hash");
  assert_string_equal(grp, "workers");
  json_t *st = status(fx, "workers");
  assert_string_equal(hash, json_string_value(json_object_get(st, "ConfigHash")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "Summary"), "Available")), 3);
  assert_int_equal(fx->prepares, 3);
  free(grp), free(hash), free(ids);
  json_decref(st);
  /* The spec is in the store before anything is acted on. */
  char path[160];
  snprintf(path, sizeof path, "%s/groups/workers/spec.json", fx->store_dir);
  assert_int_equal(access(path, F_OK), 0);
}

static void a_removed_instance_is_healed_without_the_poll(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  char *ids = file_ids(fx);
  char path[200];
  snprintf(path, sizeof path, "%s/%s", fx->files, strtok(ids, " "));
  unlink(path);
  int before = fx->provisions;
  /* The poll is 60 s: only the file-system event can bring it back. */
  assert_true(run_until_cond(fx, steady, 3000));
  assert_int_equal(fx->provisions, before + 1);
  free(ids);
}

static void scaling_never_replaces_instances(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 2, "v1"));
  want_n = 2;
  assert_true(run_until_cond(fx, steady, 5000));
  char *before = file_ids(fx);
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->set_size(fx->g.self, "workers", 4, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  want_n = 4;
  assert_true(run_until_cond(fx, steady, 5000));
  char *after = file_ids(fx);
  char *copy = strdup(before);
  for (char *id = strtok(copy, " "); id; id = strtok(NULL, " ")) assert_non_null(strstr(after, id));
  assert_int_equal(fx->destroys, 0);
  /* A resize above the size limit is refused. */
  ik_err_t err = {0};
  assert_int_equal(fx->g.vt->set_size(fx->g.self, "workers", 51, on_slot, &s, &err), IK_EINVAL);
  assert_string_equal(err.msg, "size 51 is above the limit of 50 instances per group (daemon --max-group-size, "
                               "INFRAKIT_MAX_GROUP_SIZE)");
  /* A commit with the same config but another size is a scale too. */
  commit(fx, spec_json("workers", 1, "v1"));
  want_n = 1;
  assert_true(run_until_cond(fx, steady, 5000));
  assert_int_equal(fx->destroys, 3);
  assert_int_equal(fx->provisions, 4);
  free(before), free(after), free(copy);
  slot_clear(&s);
}

static void a_config_change_rolls_one_at_a_time(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  json_t *st = status(fx, "workers");
  char *old_hash = strdup(json_string_value(json_object_get(st, "ConfigHash")));
  json_decref(st);
  fx->max_live = 3;
  commit(fx, spec_json("workers", 3, "v2"));
  assert_true(run_until_cond(fx, steady, 5000));
  st = status(fx, "workers");
  const char *new_hash = json_string_value(json_object_get(st, "ConfigHash"));
  assert_string_not_equal(old_hash, new_hash);
  assert_string_equal(json_string_value(json_object_get(st, "GoodHash")), new_hash);
  char *ids = file_ids(fx);
  for (char *id = strtok(ids, " "); id; id = strtok(NULL, " ")) {
    char *h = file_tag(fx, id, "infrakit.config.hash");
    assert_string_equal(h, new_hash);
    free(h);
  }
  assert_int_equal(fx->provisions, 6);
  assert_int_equal(fx->destroys, 3);
  assert_int_equal(fx->drains, 3); /* drained before destroyed */
  assert_true(fx->max_live <= 4);  /* MaxSurge 1 */
  free(ids), free(old_hash);
  json_decref(st);
}

static bool failure_recorded(fixture_t *fx) {
  json_t *st = status(fx, "workers");
  json_t *f = json_array_get(json_object_get(st, "Failures"), 0);
  bool ok = f && json_integer_value(json_object_get(f, "Attempts")) >= 2;
  json_decref(st);
  return ok;
}

static void a_failing_destroy_is_retried_with_backoff_and_shown(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 2, "v1"));
  want_n = 2;
  assert_true(run_until_cond(fx, steady, 5000));
  fx->destroy_failures_left = 3;
  commit(fx, spec_json("workers", 1, "v1"));
  assert_true(run_until_cond(fx, failure_recorded, 3000));
  json_t *st = status(fx, "workers");
  json_t *f = json_array_get(json_object_get(st, "Failures"), 0);
  assert_non_null(strstr(json_string_value(json_object_get(f, "Error")), "the cloud said no"));
  assert_non_null(strstr(json_string_value(json_object_get(f, "Action")), "destroy"));
  json_decref(st);
  want_n = 1;
  assert_true(run_until_cond(fx, steady, 5000));
  /* Three failures, then success: not a hot loop. */
  assert_int_equal(fx->destroys, 4);
  st = status(fx, "workers");
  assert_int_equal(json_array_size(json_object_get(st, "Failures")), 0);
  json_decref(st);
  /* The event log has each failure. */
  FILE *ev = fopen(fx->events, "r");
  char line[2048];
  int failed = 0;
  while (fgets(line, sizeof line, ev)) failed += strstr(line, "\"action-failed\"") != NULL;
  fclose(ev);
  assert_int_equal(failed, 3);
}

/* A series' value (a histogram's count) on the process's registry, which
 * every test of this file shares: tests compare before and after. */
static double metric(ik_metric_t *f, const char *a, const char *b, const char *c) {
  const char *values[] = {a, b, c};
  ik_metric_series_t *s = ik_metric_series_v(f, values);
  return f == ik_engine_metrics()->actions ? ik_metric_value(s) : (double)ik_metric_count(s);
}

static bool rendered(const char *line) {
  ik_buf_t out;
  ik_buf_init(&out);
  ik_metrics_render(ik_metrics_default(), &out);
  bool found = strstr(ik_buf_cstr(&out), line) != NULL;
  ik_buf_free(&out);
  return found;
}

static void metrics_count_actions_time_calls_and_heals_and_show_the_group(void **state) {
  fixture_t *fx = *state;
  const ik_engine_metrics_t *em = ik_engine_metrics();
  double ok0 = metric(em->actions, "workers", "provision", "ok");
  double calls0 = metric(em->plugin_seconds, "instance-test", "Instance.Provision", NULL);
  double prepares0 = metric(em->plugin_seconds, "flavor-test", "Flavor.Prepare", NULL);
  double writes0 = metric(em->store_seconds, "file", NULL, NULL);
  double durations0 = metric(em->action_seconds, "provision", NULL, NULL);
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  assert_true(metric(em->actions, "workers", "provision", "ok") == ok0 + 3);
  assert_true(metric(em->action_seconds, "provision", NULL, NULL) == durations0 + 3);
  assert_true(metric(em->plugin_seconds, "instance-test", "Instance.Provision", NULL) == calls0 + 3);
  assert_true(metric(em->plugin_seconds, "flavor-test", "Flavor.Prepare", NULL) == prepares0 + 3);
  assert_true(metric(em->store_seconds, "file", NULL, NULL) >= writes0 + 1); /* the spec, the state */
  assert_true(rendered("infrakit_group_instances{group=\"workers\",state=\"desired\"} 3\n"));
  assert_true(rendered("infrakit_group_instances{group=\"workers\",state=\"available\"} 3\n"));
  assert_true(rendered("infrakit_group_phase{group=\"workers\",phase=\"steady\"} 1\n"));
  assert_true(rendered("infrakit_group_phase{group=\"workers\",phase=\"scaling\"} 0\n"));

  /* A loss, healed: one heal measured, one more provision. */
  double heals0 = metric(em->heal_seconds, "workers", NULL, NULL);
  char *ids = file_ids(fx);
  char path[200];
  snprintf(path, sizeof path, "%s/%s", fx->files, strtok(ids, " "));
  unlink(path);
  free(ids);
  int before = fx->provisions;
  assert_true(run_until_cond(fx, steady, 3000));
  assert_int_equal(fx->provisions, before + 1);
  assert_true(metric(em->heal_seconds, "workers", NULL, NULL) == heals0 + 1);
  assert_true(metric(em->actions, "workers", "provision", "ok") == ok0 + 4);

  /* Failures are counted as such, and the success after them. */
  double errors0 = metric(em->actions, "workers", "destroy", "error");
  double destroyed0 = metric(em->actions, "workers", "destroy", "ok");
  fx->destroy_failures_left = 2;
  commit(fx, spec_json("workers", 2, "v1"));
  want_n = 2;
  assert_true(run_until_cond(fx, steady, 5000));
  assert_true(metric(em->actions, "workers", "destroy", "error") == errors0 + 2);
  assert_true(metric(em->actions, "workers", "destroy", "ok") == destroyed0 + 1);
  /* Scaling down replaces nothing: no heal measured. */
  assert_true(metric(em->heal_seconds, "workers", NULL, NULL) == heals0 + 1);
}

static void a_restarted_controller_resumes_without_duplicates(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  char *before = file_ids(fx);
  ik_controller_free(fx->c); /* as a crash would: nothing cleaned up */
  run_for(fx, 20);
  controller_start(fx);
  slot_t s = {0};
  CALL(fx, &s, ik_controller_resume(fx->c, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(run_until_cond(fx, steady, 5000));
  char *after = file_ids(fx);
  assert_string_equal(before, after);
  assert_int_equal(fx->provisions, 3);
  free(before), free(after);
  slot_clear(&s);
}

/* The event log as text: each event (object, kind) that line writes to out, in order. */
static char *events_text(fixture_t *fx, void (*line)(ik_buf_t *out, json_t *e, const char *kind)) {
  FILE *ev = fopen(fx->events, "r");
  char text[4096];
  ik_buf_t out = {0};
  while (ev && fgets(text, sizeof text, ev)) {
    json_t *e = json_loads(text, 0, NULL);
    const char *kind = json_string_value(json_object_get(e, "event"));
    if (kind) line(&out, e, kind);
    json_decref(e);
  }
  if (ev) fclose(ev);
  return ik_buf_steal(&out, NULL);
}

static void phase_line(ik_buf_t *out, json_t *e, const char *kind) {
  if (strcmp(kind, "phase") == 0)
    ik_buf_printf(out, "%s>%s\n", json_string_value(json_object_get(e, "from")),
                  json_string_value(json_object_get(e, "to")));
  if (strcmp(kind, "resumed") == 0) ik_buf_puts(out, "resumed\n");
}

/* The "phase" events of the log, as "from>to" lines in order (and "resumed" for a restart). */
static char *phase_events(fixture_t *fx) { return events_text(fx, phase_line); }

static bool planned(fixture_t *fx) {
  json_t *st = status(fx, "workers");
  bool ok = json_integer_value(json_object_get(st, "Cycles")) > 0 && strcmp(phase(st), "pending") != 0;
  json_decref(st);
  return ok;
}

/* Members found on start are not new: a steady group with
 * MinHealthySeconds stays steady across a restart (it used to log
 * steady>scaling "waiting for 3 new instances" while they proved
 * themselves again), and a fresh commit's first phase comes from
 * "pending", not from a "steady" that never was. */
static void a_restart_does_not_flap_the_phase(void **state) {
  fixture_t *fx = *state;
  json_t *spec = spec_json("workers", 3, "v1");
  json_object_set_new(json_object_get(json_object_get(spec, "Properties"), "Updating"), "MinHealthySeconds",
                      json_real(0.2));
  commit(fx, spec);
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  char *before = phase_events(fx);
  assert_string_equal(before, "pending>scaling\nscaling>steady\n");
  ik_controller_free(fx->c);
  run_for(fx, 20);
  controller_start(fx);
  slot_t s = {0};
  CALL(fx, &s, ik_controller_resume(fx->c, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(run_until_cond(fx, planned, 5000));
  json_t *st = status(fx, "workers");
  assert_string_equal(phase(st), "steady");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "Summary"), "Available")), 3);
  json_decref(st);
  run_for(fx, 300); /* past MinHealthySeconds: nothing more to say */
  char *after = phase_events(fx);
  assert_string_equal(after, "pending>scaling\nscaling>steady\nresumed\npending>steady\n");
  free(before), free(after);
  slot_clear(&s);
}

/* Between a commit (or a scale) and the plan of the new spec, the status
 * does not pass the old spec's summary off as the new one's: the phase is
 * "pending" and DescribeGroup does not say converged ("steady 3/3 updated,
 * 3/5 available" was shown right after a scale to 5). */
static void a_new_spec_is_pending_until_planned(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->set_size(fx->g.self, "workers", 5, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  json_t *st = status(fx, "workers");
  assert_string_equal(phase(st), "pending");
  json_decref(st);
  CALL(fx, &s, fx->g.vt->describe(fx->g.self, "workers", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_false(json_is_true(json_object_get(s.result, "Converged")));
  slot_clear(&s);
  want_n = 5;
  assert_true(run_until_cond(fx, steady, 5000));
  /* A config change too: pending, then rolling, never a stale "steady". */
  commit(fx, spec_json("workers", 5, "v2"));
  st = status(fx, "workers");
  assert_string_equal(phase(st), "pending");
  json_decref(st);
  assert_true(run_until_cond(fx, steady, 10000));
}

/* A flavor whose first answer is "unknown" (still booting) is asked again
 * on a short backoff, not at the next poll: with the 60 s poll here, a
 * create and a rollout of 3 converge only thanks to that. */
static void unknown_health_is_asked_again_soon(void **state) {
  fixture_t *fx = *state;
  fx->unknown_first = true;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 10000));
  commit(fx, spec_json("workers", 3, "v2"));
  assert_true(run_until_cond(fx, steady, 10000));
  assert_int_equal(fx->provisions, 6);
  assert_int_equal(fx->destroys, 3);
}

static void bad_specs_are_refused_naming_the_field_and_nothing_is_stored(void **state) {
  fixture_t *fx = *state;
  json_t *spec = spec_json("workers", 3, "v1");
  json_object_set_new(json_object_get(json_object_get(spec, "Properties"), "Allocation"), "Size", json_string("x"));
  ik_err_t err = {0};
  slot_t s = {0};
  assert_int_equal(fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &err), IK_EINVAL);
  assert_non_null(strstr(err.msg, "Allocation.Size"));
  json_decref(spec);
  /* Above the controller's size limit: refused before any plugin call. */
  spec = spec_json("workers", 51, "v1");
  assert_int_equal(fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &err), IK_EINVAL);
  assert_string_equal(err.msg, "Properties.Allocation.Size: 51 is above the limit of 50 instances per group (daemon "
                               "--max-group-size, INFRAKIT_MAX_GROUP_SIZE)");
  json_decref(spec);
  /* An ID that would be a path in the store: refused as the field ID,
   * not as a plugin's or the store's error. */
  spec = spec_json("../x", 3, "v1");
  assert_int_equal(fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &err), IK_EINVAL);
  assert_string_equal(err.msg, "ID: '/' is not allowed: use letters, digits, \".\", \"_\" and \"-\" (got \"../x\")");
  json_decref(spec);
  assert_int_equal(fx->prepares + fx->provisions, 0);
  /* An unknown plugin. */
  spec = spec_json("workers", 3, "v1");
  json_object_set_new(json_object_get(json_object_get(spec, "Properties"), "Instance"), "Plugin",
                      json_string("instance-nope"));
  assert_true(fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &err) < 0);
  assert_non_null(strstr(err.msg, "instance-nope"));
  json_decref(spec);
  /* The flavor's Validate refuses it. */
  spec = spec_json("workers", 3, "v1");
  json_object_set_new(json_object_get(json_object_get(json_object_get(spec, "Properties"), "Flavor"), "Properties"),
                      "Bad", json_string("Init must be a list"));
  CALL(fx, &s, fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_non_null(strstr(s.err.msg, "Init must be a list"));
  json_decref(spec);
  /* The longest ID allowed still leaves room for the reason. */
  char long_id[129];
  memset(long_id, 'w', 128);
  long_id[128] = '\0';
  spec = spec_json(long_id, 3, "v1");
  json_object_set_new(json_object_get(json_object_get(json_object_get(spec, "Properties"), "Flavor"), "Properties"),
                      "Bad", json_string("Init must be a list, and this plugin explains why at some length"));
  CALL(fx, &s, fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_non_null(strstr(s.err.msg, "Init must be a list, and this plugin explains why at some length"));
  json_decref(spec);
  char path[160];
  snprintf(path, sizeof path, "%s/groups", fx->store_dir);
  assert_int_not_equal(access(path, F_OK), 0);
  run_for(fx, 20);
  assert_int_equal(count_files(fx), 0);
  slot_clear(&s);
}

static void destroy_group_removes_instances_and_documents(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->destroy(fx->g.self, "workers", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_int_equal(count_files(fx), 0);
  assert_int_equal(fx->drains, 3);
  char path[160];
  snprintf(path, sizeof path, "%s/groups/workers/spec.json", fx->store_dir);
  assert_int_not_equal(access(path, F_OK), 0);
  ik_err_t err = {0};
  assert_int_equal(fx->g.vt->size(fx->g.self, "workers", on_slot, &s, &err), IK_ENOTFOUND);
  assert_string_equal(err.msg, "Group 'workers' is not being watched");
  slot_clear(&s);
}

static void free_group_leaves_instances(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 2, "v1"));
  want_n = 2;
  assert_true(run_until_cond(fx, steady, 5000));
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->free_group(fx->g.self, "workers", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  run_for(fx, 20);
  assert_int_equal(count_files(fx), 2);
  /* Committing again adopts them. */
  commit(fx, spec_json("workers", 2, "v1"));
  assert_true(run_until_cond(fx, steady, 5000));
  assert_int_equal(fx->provisions, 2);
  slot_clear(&s);
}

static bool replaced_unhealthy(fixture_t *fx) { return fx->destroys >= 1 && count_files(fx) == 2; }

static void an_unhealthy_instance_is_replaced_after_its_timeout(void **state) {
  fixture_t *fx = *state;
  /* Health that turns bad on its own is found by the poll: make it short. */
  ik_controller_free(fx->c);
  controller_start_poll(fx, 100);
  json_t *spec = spec_json("workers", 2, "v1");
  json_object_set_new(json_object_get(spec, "Properties"), "Health", json_pack("{s:s}", "UnhealthyTimeout", "50ms"));
  commit(fx, spec);
  want_n = 2;
  assert_true(run_until_cond(fx, steady, 5000));
  char *ids = file_ids(fx);
  char *sick = strtok(ids, " ");
  json_object_set_new(fx->health_of, sick, json_integer(IK_HEALTH_UNHEALTHY));
  assert_true(run_until_cond(fx, replaced_unhealthy, 3000));
  char *after = file_ids(fx);
  assert_null(strstr(after, sick));
  free(ids), free(after);
}

static bool canary_paused(fixture_t *fx) {
  json_t *st = status(fx, "workers");
  bool ok = strcmp(phase(st), "canary-paused") == 0;
  json_decref(st);
  return ok;
}

static void a_canary_waits_for_promotion(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  json_t *spec = spec_json("workers", 3, "v2");
  json_object_set_new(json_object_get(json_object_get(spec, "Properties"), "Updating"), "Canary", json_integer(1));
  commit(fx, spec);
  assert_true(run_until_cond(fx, canary_paused, 5000));
  run_for(fx, 50);
  assert_true(canary_paused(fx));
  assert_int_equal(fx->provisions, 4); /* one canary */
  slot_t s = {0};
  CALL(fx, &s, fx->g.vt->promote(fx->g.self, "workers", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(run_until_cond(fx, steady, 5000));
  assert_int_equal(fx->provisions, 6);
  ik_err_t err = {0};
  assert_int_equal(fx->g.vt->promote(fx->g.self, "workers", on_slot, &s, &err), IK_ESTATE);
  slot_clear(&s);
}

static bool paused(fixture_t *fx) {
  json_t *st = status(fx, "workers");
  bool ok = strcmp(phase(st), "paused") == 0 && json_array_size(json_object_get(st, "InFlight")) == 0;
  json_decref(st);
  return ok;
}

static bool paused_with_3(fixture_t *fx) { return paused(fx) && count_files(fx) == 3; }

static void rollout_kind(ik_buf_t *out, json_t *e, const char *kind) {
  if (strncmp(kind, "rollout-", 8) == 0) ik_buf_printf(out, "%s ", kind);
}

/* `group pause` before a commit (kubectl rollout pause): the new config
 * starts no replacement; healing goes on; the pause is in the store and
 * survives a restart; resume rolls the config out. Refusals name why. */
static void a_paused_rollout_waits_for_resume_and_survives_a_restart(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 3, "v1"));
  want_n = 3;
  assert_true(run_until_cond(fx, steady, 5000));
  slot_t s = {0};
  ik_err_t err = {0};
  assert_int_equal(fx->g.vt->resume(fx->g.self, "workers", on_slot, &s, &err), IK_ESTATE);
  assert_string_equal(err.msg, "group workers is not paused (phase steady): nothing to resume");
  assert_int_equal(fx->g.vt->pause(fx->g.self, "nope", on_slot, &s, &err), IK_ENOTFOUND);
  assert_string_equal(err.msg, "Group 'nope' is not being watched");
  CALL(fx, &s, fx->g.vt->pause(fx->g.self, "workers", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  assert_int_equal(fx->g.vt->pause(fx->g.self, "workers", on_slot, &s, &err), IK_ESTATE);
  assert_string_equal(err.msg, "group workers is already paused (infrakit group resume workers goes on)");

  commit(fx, spec_json("workers", 3, "v2"));
  assert_true(run_until_cond(fx, paused, 5000));
  run_for(fx, 100);
  assert_int_equal(fx->provisions, 3); /* no surge, no replacement */
  assert_int_equal(fx->destroys, 0);

  /* Self-heal goes on while paused. */
  char *ids = file_ids(fx);
  char path[200];
  snprintf(path, sizeof path, "%s/%s", fx->files, strtok(ids, " "));
  unlink(path);
  free(ids);
  assert_true(run_until_cond(fx, paused_with_3, 3000));
  assert_int_equal(fx->provisions, 4);
  assert_int_equal(fx->destroys, 0);
  assert_true(rendered("infrakit_group_phase{group=\"workers\",phase=\"paused\"} 1\n"));
  assert_true(rendered("infrakit_group_phase{group=\"workers\",phase=\"rolling\"} 0\n"));

  /* The pause is stored: a restarted controller stays paused. */
  char doc_path[160];
  snprintf(doc_path, sizeof doc_path, "%s/groups/workers/state.json", fx->store_dir);
  json_t *doc = json_load_file(doc_path, 0, NULL);
  assert_true(json_is_true(json_object_get(doc, "Paused")));
  json_decref(doc);
  ik_controller_free(fx->c);
  run_for(fx, 20);
  controller_start(fx);
  CALL(fx, &s, ik_controller_resume(fx->c, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  assert_true(run_until_cond(fx, paused_with_3, 3000));
  run_for(fx, 100);
  assert_int_equal(fx->provisions, 4);
  assert_int_equal(fx->destroys, 0);

  CALL(fx, &s, fx->g.vt->resume(fx->g.self, "workers", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  assert_true(run_until_cond(fx, steady, 5000));
  assert_int_equal(fx->destroys, 2); /* the two v1 members left */
  json_t *st = status(fx, "workers");
  assert_false(json_is_true(json_object_get(st, "Paused")));
  json_decref(st);
  char *kinds = events_text(fx, rollout_kind);
  assert_string_equal(kinds, "rollout-done rollout-paused rollout-resumed rollout-done "); /* v1, then v2 */
  ik_free(kinds);
}

static bool crash_looping(fixture_t *fx) {
  json_t *st = status(fx, "workers");
  json_t *fl = json_object_get(st, "InFlight");
  bool ok = false;
  size_t i;
  json_t *a;
  json_array_foreach(fl, i, a) {
    const char *state = json_string_value(json_object_get(a, "State"));
    ok |= state && strcmp(state, "backing-off") == 0;
  }
  json_decref(st);
  return ok;
}

static void a_crash_looping_instance_backs_off(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 1, "v1"));
  want_n = 1;
  bool backing_off = false;
  for (int round = 0; round < 4 && !backing_off; round++) {
    assert_true(run_until_cond(fx, has_n, 3000));
    run_for(fx, 10);
    char *ids = file_ids(fx);
    char path[200];
    snprintf(path, sizeof path, "%s/%s", fx->files, ids);
    unlink(path); /* dies young, again and again */
    free(ids);
    backing_off = run_until_cond(fx, crash_looping, 100);
  }
  assert_true(backing_off);
  /* It comes back after the backoff. */
  assert_true(run_until_cond(fx, steady, 5000));
}

static void losing_different_instances_is_not_a_crash_loop(void **state) {
  fixture_t *fx = *state;
  commit(fx, spec_json("workers", 4, "v1"));
  want_n = 4;
  assert_true(run_until_cond(fx, steady, 5000));
  char *ids = file_ids(fx);
  char *save = NULL;
  int before = fx->provisions;
  for (char *id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
    char path[200];
    snprintf(path, sizeof path, "%s/%s", fx->files, id);
    unlink(path); /* young, but each an original: healed at once */
    assert_true(run_until_cond(fx, steady, 1000));
    assert_false(crash_looping(fx));
  }
  assert_int_equal(fx->provisions, before + 4);
  FILE *ev = fopen(fx->events, "r");
  char line[2048];
  int loops = 0;
  while (fgets(line, sizeof line, ev)) loops += strstr(line, "\"crash-loop\"") != NULL;
  fclose(ev);
  assert_int_equal(loops, 0);
  free(ids);
}

static bool provision_timed_out(fixture_t *fx) {
  json_t *st = status(fx, "workers");
  json_t *f = json_array_get(json_object_get(st, "Failures"), 0);
  const char *msg = json_string_value(json_object_get(f, "Error"));
  bool ok = msg && strstr(msg, "provision (instance-test): timed out after 0.2 s without an answer") != NULL;
  json_decref(st);
  return ok;
}

/* A controller stopped for a leadership loss (ik_controller_stop) fails
 * the operations still out with the reason it was given, not "the daemon
 * is shutting down": a commit between its validation and its store write
 * tells its client that this daemon no longer leads. Nothing was
 * provisioned. */
static void a_stopped_controller_fails_operations_still_out_with_its_reason(void **state) {
  fixture_t *fx = *state;
  slot_t s = {0};
  ik_err_t err = {0};
  json_t *spec = spec_json("workers", 2, "v1");
  assert_int_equal(fx->g.vt->commit(fx->g.self, spec, false, on_slot, &s, &err), 0);
  ik_controller_stop(fx->c, IK_ENOTLEADER, "not the leader any more: the lease expired");
  fx->c = NULL;
  run_until(fx, &s.done, 1);
  assert_int_equal(s.err.code, IK_ENOTLEADER);
  assert_string_equal(s.err.msg, "group workers: not the leader any more: the lease expired");
  assert_int_equal(count_files(fx), 0);
  slot_clear(&s);
  json_decref(spec);
}

/* A provision that never answers holds no slot forever: after the call
 * deadline it counts as failed (the error says so), is retried with
 * backoff, and the group converges. Its late answer is dropped, not
 * trusted: the instance it created shows up in describe and the plan
 * handles it like any other member (one too many: scaled down), and the
 * late callback touches nothing that was freed. */
static void a_provision_that_never_answers_times_out_and_its_late_answer_is_reconciled(void **state) {
  fixture_t *fx = *state;
  ik_controller_free(fx->c);
  fx->call_timeout_ms = 200;
  controller_start_poll(fx, 300); /* the late instance is found by the next describe */
  fx->hang_provisions = 1;
  commit(fx, spec_json("workers", 2, "v1"));
  assert_true(run_until_cond(fx, provision_timed_out, 5000));
  want_n = 2;
  assert_true(run_until_cond(fx, steady, 5000));
  assert_int_equal(fx->n_hung, 1);
  assert_int_equal(fx->provisions, 3); /* 2, and the retry of the one that hung */
  /* The hung call answers at last: the provider created the instance. */
  slot_t s = {0};
  json_t *spec = fx->hung[0].spec;
  CALL(fx, &s, fx->file.vt->provision(fx->file.self, spec, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  fx->hung[0].cb(s.result, NULL, fx->hung[0].data); /* dropped by the guard */
  char *late = ik_strdup(json_string_value(s.result));
  slot_clear(&s);
  json_decref(spec);
  /* Three members at the next describe: the plan scales back to two, once. */
  want_n = 2;
  run_for(fx, 400);
  assert_true(run_until_cond(fx, steady, 5000));
  assert_int_equal(fx->destroys, 1);
  assert_int_equal(fx->provisions, 3);
  json_t *st = status(fx, "workers");
  assert_int_equal(json_array_size(json_object_get(st, "Failures")), 0);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "Summary"), "Current")), 2);
  json_decref(st);
  ik_free(late);
  fx->call_timeout_ms = 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(commit_provisions_tagged_instances, setup, teardown),
      cmocka_unit_test_setup_teardown(a_removed_instance_is_healed_without_the_poll, setup, teardown),
      cmocka_unit_test_setup_teardown(scaling_never_replaces_instances, setup, teardown),
      cmocka_unit_test_setup_teardown(a_config_change_rolls_one_at_a_time, setup, teardown),
      cmocka_unit_test_setup_teardown(a_failing_destroy_is_retried_with_backoff_and_shown, setup, teardown),
      cmocka_unit_test_setup_teardown(metrics_count_actions_time_calls_and_heals_and_show_the_group, setup, teardown),
      cmocka_unit_test_setup_teardown(a_restarted_controller_resumes_without_duplicates, setup, teardown),
      cmocka_unit_test_setup_teardown(a_restart_does_not_flap_the_phase, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_health_is_asked_again_soon, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_specs_are_refused_naming_the_field_and_nothing_is_stored, setup, teardown),
      cmocka_unit_test_setup_teardown(destroy_group_removes_instances_and_documents, setup, teardown),
      cmocka_unit_test_setup_teardown(free_group_leaves_instances, setup, teardown),
      cmocka_unit_test_setup_teardown(an_unhealthy_instance_is_replaced_after_its_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(a_canary_waits_for_promotion, setup, teardown),
      cmocka_unit_test_setup_teardown(a_paused_rollout_waits_for_resume_and_survives_a_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(a_new_spec_is_pending_until_planned, setup, teardown),
      cmocka_unit_test_setup_teardown(a_stopped_controller_fails_operations_still_out_with_its_reason, setup, teardown),
      cmocka_unit_test_setup_teardown(a_crash_looping_instance_backs_off, setup, teardown),
      cmocka_unit_test_setup_teardown(losing_different_instances_is_not_a_crash_loop, setup, teardown),
      cmocka_unit_test_setup_teardown(a_provision_that_never_answers_times_out_and_its_late_answer_is_reconciled, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
