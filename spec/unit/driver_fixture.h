/* Shared by the C unit tests of the instance drivers (providers/): the SPI
 * calls made synchronous, and what the driver's watchers heard. Include it
 * after spi_slot.h and after defining fixture_t, which must have:
 *   ik_loop_t loop; ik_instance_plugin_t pl; char dir[64]; uv_timer_t tick;
 *   int events; char last_event[256]; char last_why[256];
 * fixture_open makes the temp dir and the loop, with a repeating timer
 * that wakes run_until while it waits on processes; fixture_close undoes
 * both (the driver already freed) and frees fx. */
#ifndef IK_SPEC_DRIVER_FIXTURE_H
#define IK_SPEC_DRIVER_FIXTURE_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"

static void on_tick(uv_timer_t *t) { (void)t; }

/* A new fixture: its temp dir made from template ("/tmp/ik-x-XXXXXX"),
 * its loop running a tick. NULL when either cannot be made. */
static fixture_t *fixture_open(const char *template) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "%s", template);
  if (mkdtemp(fx->dir) == NULL || ik_loop_init(&fx->loop, &err) < 0) {
    ik_free(fx);
    return NULL;
  }
  uv_timer_init(&fx->loop.uv, &fx->tick);
  uv_timer_start(&fx->tick, on_tick, 5, 5);
  return fx;
}

/* Close the loop (asserting nothing leaked), remove the dir, free fx.
 * Returns 0, or -1 for a cmocka teardown to fail. */
static int fixture_close(fixture_t *fx) {
  uv_close((uv_handle_t *)&fx->tick, NULL);
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  int leaked = 0;
  ik_loop_close(&fx->loop, &leaked);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  int rc = system(cmd);
  ik_free(fx);
  return leaked == 0 && rc == 0 ? 0 : -1;
}

/* Run the loop until *count reaches want (or fail). */
static void run_until(fixture_t *fx, const int *count, int want) {
  for (int i = 0; *count < want && i < 200000; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(*count, want);
}

/* A watcher (spi/instance.h): counts the events, keeps the last. */
static void on_event(const char *id, const char *why, void *data) {
  fixture_t *fx = data;
  fx->events++;
  snprintf(fx->last_event, sizeof fx->last_event, "%s", id ? id : "");
  snprintf(fx->last_why, sizeof fx->last_why, "%s", why ? why : "");
}

/* Describe (tags may be NULL); the caller owns the array. */
static json_t *describe(fixture_t *fx, json_t *tags, bool props) {
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->describe(fx->pl.self, tags, props, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  return s.result;
}

/* Provision spec_text: the new ID (caller frees), or NULL with *err set. */
static char *try_provision(fixture_t *fx, const char *spec_text, ik_err_t *err) {
  json_error_t je;
  json_t *spec = json_loads(spec_text, 0, &je);
  if (spec == NULL) fail_msg("bad spec in test: %s", je.text);
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  json_decref(spec);
  *err = s.err;
  char *id = s.err.code ? NULL : ik_strdup(json_string_value(s.result));
  slot_clear(&s);
  return id;
}

/* Provision spec_text, which must work; the new ID (caller frees). */
static char *provision(fixture_t *fx, const char *spec_text) {
  ik_err_t err = {0};
  char *id = try_provision(fx, spec_text, &err);
  if (id == NULL) fail_msg("provision: %s", err.msg);
  return id;
}

/* The Properties of instance id in a describe's list, or NULL. */
static json_t *props_of(json_t *list, const char *id) {
  size_t i;
  json_t *d;
  json_array_foreach(list, i, d) if (strcmp(json_string_value(json_object_get(d, "ID")), id) == 0) return json_object_get(d, "Properties");
  return NULL;
}

/* Properties.Pid of instance id as described now (0 when it is not). */
static int pid_of(fixture_t *fx, const char *id) {
  json_t *all = describe(fx, NULL, true);
  int pid = (int)json_integer_value(json_object_get(props_of(all, id), "Pid"));
  json_decref(all);
  return pid;
}

#endif
