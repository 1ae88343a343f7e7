/* providers/process: instances are real processes. They start with their
 * identity in the environment, are described with their tags, vanish (and
 * say so at once) when killed, stop with SIGTERM or SIGKILL after the grace
 * period, and are adopted again by a new provider - but a record whose pid
 * now belongs to another process is not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "loop/loop.h"
#include "providers/process/process.h"
#include "spi_slot.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  ik_instance_plugin_t pl;
  int events;
  char last_event[256];
  char last_why[256];
  uv_timer_t tick;
} fixture_t;

#include "driver_fixture.h"

static void open_provider(fixture_t *fx) {
  ik_err_t err = {0};
  ik_process_opts_t o = {.dir = fx->dir, .grace_ms = 2000};
  assert_int_equal(ik_process_provider_new(&fx->loop, &o, &fx->pl, &err), 0);
}

static int setup(void **state) {
  fixture_t *fx = fixture_open("/tmp/ik-proc-XXXXXX");
  if (fx == NULL) return -1;
  open_provider(fx);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  /* Kill what is left: tests must not leak processes. */
  json_t *all = describe(fx, NULL, true);
  size_t i;
  json_t *d;
  json_array_foreach(all, i, d) {
    int pid = (int)json_integer_value(json_object_get(json_object_get(d, "Properties"), "Pid"));
    if (pid > 0) kill(-pid, SIGKILL);
  }
  json_decref(all);
  fx->pl.vt->free(fx->pl.self);
  return fixture_close(fx);
}

static bool file_has(const char *path, const char *want) {
  char buf[512] = "";
  FILE *f = fopen(path, "r");
  if (f == NULL) return false;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strstr(buf, want) != NULL;
}

/* --- tests ------------------------------------------------------------------ */

static void a_provisioned_process_runs_with_its_identity(void **state) {
  fixture_t *fx = *state;
  char spec[512], out[128];
  snprintf(out, sizeof out, "%s/env.txt", fx->dir);
  snprintf(spec, sizeof spec,
           "{\"Properties\": {\"Cmd\": [\"/bin/sh\", \"-c\", \"echo id=$INFRAKIT_INSTANCE_ID lid=$INFRAKIT_LOGICAL_ID "
           "x=$X > %s; exec sleep 60\"], \"Env\": {\"X\": \"42\"}}, \"Tags\": {\"group\": \"web\"}, \"LogicalID\": "
           "\"web-1\"}",
           out);
  char *id = provision(fx, spec);
  for (int i = 0; i < 400 && !file_has(out, "x=42"); i++) usleep(5000);
  char want[256];
  snprintf(want, sizeof want, "id=%s lid=web-1 x=42", id);
  assert_true(file_has(out, want));
  json_t *tags = json_pack("{s:s}", "group", "web");
  json_t *list = describe(fx, tags, false);
  assert_int_equal(json_array_size(list), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "LogicalID")), "web-1");
  json_decref(list);
  json_object_set_new(tags, "group", json_string("db"));
  list = describe(fx, tags, false);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  json_decref(tags);
  ik_free(id);
}

static void a_killed_process_is_gone_and_watchers_hear_it_at_once(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  assert_true(token > 0);
  char *id = provision(fx, "{\"Properties\": {\"Cmd\": [\"sleep\", \"60\"]}}");
  int pid = pid_of(fx, id);
  assert_true(pid > 0);
  kill(pid, SIGKILL);
  run_until(fx, &fx->events, 1);
  assert_string_equal(fx->last_event, id);
  assert_string_equal(fx->last_why, "killed by signal 9");
  json_t *list = describe(fx, NULL, false);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  char rec[200];
  snprintf(rec, sizeof rec, "%s/%s.json", fx->dir, id);
  assert_int_not_equal(access(rec, F_OK), 0); /* its record went with it */
  fx->pl.vt->unwatch(fx->pl.self, token);
  ik_free(id);
}

/* Watchers hear how a process ended: a crash loop is only visible if its
 * exit status is. */
static void an_exit_is_reported_with_its_status(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  assert_true(token > 0);
  char *id = provision(fx, "{\"Properties\": {\"Cmd\": \"sleep 0.05; exit 3\"}}");
  run_until(fx, &fx->events, 1);
  assert_string_equal(fx->last_event, id);
  assert_string_equal(fx->last_why, "exited with status 3");
  fx->pl.vt->unwatch(fx->pl.self, token);
  ik_free(id);
}

static void destroy_stops_with_sigterm_then_sigkill(void **state) {
  fixture_t *fx = *state;
  char *polite = provision(fx, "{\"Properties\": {\"Cmd\": [\"sleep\", \"60\"]}}");
  char *stubborn = provision(fx, "{\"Properties\": {\"Cmd\": \"trap '' TERM; sleep 60 & wait; sleep 60\", "
                                 "\"StopTimeout\": \"200ms\"}}");
  usleep(100000); /* let the shell set its trap */
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, polite, "terminate", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  uint64_t t0 = uv_now(&fx->loop.uv);
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, stubborn, "terminate", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(uv_now(&fx->loop.uv) - t0 >= 150); /* waited for the grace period */
  json_t *list = describe(fx, NULL, false);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  /* Destroying it again: not found. */
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, polite, "terminate", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  slot_clear(&s);
  ik_free(polite);
  ik_free(stubborn);
}

static void a_new_provider_adopts_live_processes_and_forgets_dead_ones(void **state) {
  fixture_t *fx = *state;
  char *alive = provision(fx, "{\"Properties\": {\"Cmd\": [\"sleep\", \"60\"]}, \"Tags\": {\"k\": \"v\"}}");
  char *reused = provision(fx, "{\"Properties\": {\"Cmd\": [\"sleep\", \"60\"]}}");
  int pid = pid_of(fx, alive);
  /* Fake a reused pid: the record points at a live process (ours) whose
   * start time differs. */
  char rec[200];
  snprintf(rec, sizeof rec, "%s/%s.json", fx->dir, reused);
  json_t *doc = json_load_file(rec, 0, NULL);
  int reused_pid = (int)json_integer_value(json_object_get(doc, "Pid"));
  json_object_set_new(doc, "Pid", json_integer(getpid()));
  json_dump_file(doc, rec, 0);
  json_decref(doc);
  fx->pl.vt->free(fx->pl.self); /* the daemon stops; processes go on */
  uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(kill(pid, 0), 0);
  open_provider(fx);
  json_t *list = describe(fx, NULL, false);
  assert_int_equal(json_array_size(list), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "ID")), alive);
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(list, 0), "Tags"), "k")), "v");
  json_decref(list);
  assert_int_not_equal(access(rec, F_OK), 0);
  kill(reused_pid, SIGKILL);
  /* An adopted process's death is still heard at once (pidfd). */
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  assert_true(token > 0);
  kill(pid, SIGKILL);
  run_until(fx, &fx->events, 1);
  assert_string_equal(fx->last_event, alive);
  ik_free(alive);
  ik_free(reused);
}

static void bad_properties_name_the_field(void **state) {
  fixture_t *fx = *state;
  static const char *const cases[][2] = {
      {"{\"Properties\": {}}", "Properties.Cmd: missing"},
      {"{\"Properties\": {\"Cmd\": []}}", "Properties.Cmd: empty list"},
      {"{\"Properties\": {\"Cmd\": [\"sleep\", 60]}}", "Properties.Cmd[1]: want a string"},
      {"{\"Properties\": {\"Cmd\": 7}}", "Properties.Cmd: want a list of strings or a shell command string"},
      {"{\"Properties\": {\"Cmd\": \"true\", \"Env\": {\"A\": 1}}}", "Properties.Env.A: want a string"},
      {"{\"Properties\": {\"Cmd\": \"true\", \"Dir\": 3}}", "Properties.Dir: want a string"},
      {"{\"Properties\": [1]}", "Properties: want an object"},
      /* Output files stay inside the state directory. */
      {"{\"Properties\": {\"Cmd\": \"true\", \"Stdout\": \"../../x\"}}", "Properties.Stdout \"../../x\": \"..\" is not allowed"},
      {"{\"Properties\": {\"Cmd\": \"true\", \"Stderr\": \"a/../../x\"}}", "Properties.Stderr \"a/../../x\": \"..\" is not allowed"},
      {"{\"Properties\": {\"Cmd\": \"true\", \"Stdout\": \"..\"}}", "Properties.Stdout \"..\": \"..\" is not allowed"},
      {"{\"Properties\": {\"Cmd\": \"true\", \"Stdout\": \"/tmp/x\"}}", "Properties.Stdout \"/tmp/x\": absolute paths are not allowed"},
      {"{\"Properties\": {\"Cmd\": \"true\", \"Stderr\": \"\"}}", "Properties.Stderr: empty file name"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *spec = json_loads(cases[i][0], 0, NULL);
    ik_err_t err = {0};
    slot_t s = {0};
    assert_int_equal(fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &err), IK_EINVAL);
    if (strstr(err.msg, cases[i][1]) == NULL) fail_msg("%s: got \"%s\"", cases[i][0], err.msg);
    json_decref(spec);
  }
  /* A program that does not exist: a driver error, nothing left behind. */
  json_t *spec = json_loads("{\"Properties\": {\"Cmd\": [\"/no/such/program\"]}}", 0, NULL);
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_non_null(strstr(s.err.msg, "/no/such/program"));
  json_decref(spec);
  json_t *list = describe(fx, NULL, false);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
}

/* With an output directory allowed, absolute paths under it work (and
 * nothing else absolute does); "..\" is refused there too. A name such as
 * "a..b" is a plain file name. */
static void output_paths_under_the_allowed_dir_work(void **state) {
  fixture_t *fx = *state;
  fx->pl.vt->free(fx->pl.self);
  char out[128], ok[300], bad[300];
  snprintf(out, sizeof out, "%s/out", fx->dir);
  assert_int_equal(mkdir(out, 0700), 0);
  ik_err_t err = {0};
  ik_process_opts_t o = {.dir = fx->dir, .grace_ms = 2000, .output_dir = out};
  assert_int_equal(ik_process_provider_new(&fx->loop, &o, &fx->pl, &err), 0);
  snprintf(ok, sizeof ok, "{\"Properties\": {\"Cmd\": \"echo hi\", \"Stdout\": \"%s/log\", \"Stderr\": \"a..b\"}}", out);
  json_t *spec = json_loads(ok, 0, NULL);
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  json_decref(spec);
  slot_clear(&s);
  static const char *const refused[][2] = {{"/../x", ""}, {"x/log", ""}, {"", "/tmp/x"}};
  for (size_t i = 0; i < 3; i++) {
    char path[200];
    snprintf(path, sizeof path, "%s%s", refused[i][1][0] ? refused[i][1] : out, refused[i][0]);
    snprintf(bad, sizeof bad, "{\"Properties\": {\"Cmd\": \"true\", \"Stdout\": \"%s\"}}", path);
    spec = json_loads(bad, 0, NULL);
    err = (ik_err_t){0};
    assert_int_equal(fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &err), IK_EINVAL);
    if (strstr(err.msg, "Properties.Stdout") == NULL) fail_msg("%s: got \"%s\"", path, err.msg);
    json_decref(spec);
  }
}

static void init_runs_when_there_is_no_cmd_and_label_merges(void **state) {
  fixture_t *fx = *state;
  char spec[512], out[128];
  snprintf(out, sizeof out, "%s/init.txt", fx->dir);
  snprintf(spec, sizeof spec, "{\"Properties\": {}, \"Init\": \"echo from-init > %s; exec sleep 60\"}", out);
  char *id = provision(fx, spec);
  for (int i = 0; i < 400 && !file_has(out, "from-init"); i++) usleep(5000);
  assert_true(file_has(out, "from-init"));
  json_t *labels = json_pack("{s:s}", "infrakit.config.hash", "abc");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->label(fx->pl.self, id, labels, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  json_t *list = describe(fx, labels, false);
  assert_int_equal(json_array_size(list), 1);
  json_decref(list);
  json_decref(labels);
  slot_clear(&s);
  ik_free(id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_provisioned_process_runs_with_its_identity, setup, teardown),
      cmocka_unit_test_setup_teardown(a_killed_process_is_gone_and_watchers_hear_it_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(an_exit_is_reported_with_its_status, setup, teardown),
      cmocka_unit_test_setup_teardown(destroy_stops_with_sigterm_then_sigkill, setup, teardown),
      cmocka_unit_test_setup_teardown(a_new_provider_adopts_live_processes_and_forgets_dead_ones, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_properties_name_the_field, setup, teardown),
      cmocka_unit_test_setup_teardown(init_runs_when_there_is_no_cmd_and_label_merges, setup, teardown),
      cmocka_unit_test_setup_teardown(output_paths_under_the_allowed_dir_work, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
