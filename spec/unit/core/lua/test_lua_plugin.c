/* core/lua/lua_plugin: Lua flavors and instance providers behind the SPI
 * vtables - argument and result shapes, defaults, failures reported by the
 * function, raised errors and the watchdog (one-line messages; the daemon
 * keeps answering), load errors with file and line, and no leaks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "lua/plugin.h"
#include "lua/runtime.h"
#include "spi_slot.h"

typedef struct fixture {
  ik_loop_t loop;
  ik_lua_t *rt;
  char dir[64];
  int refs0;
} fixture_t;

static void run_until(fixture_t *f, const int *count, int want) {
  for (int i = 0; *count < want && i < 100000; i++) uv_run(&f->loop.uv, UV_RUN_ONCE);
  assert_int_equal(*count, want);
}

static int setup(void **state) {
  fixture_t *f = IK_NEW(fixture_t);
  ik_err_t err = {0};
  ik_log_set_level(IK_LOG_OFF);
  snprintf(f->dir, sizeof f->dir, "/tmp/ik-luaplugin-XXXXXX");
  if (mkdtemp(f->dir) == NULL || ik_loop_init(&f->loop, &err) < 0) return -1;
  ik_lua_opts_t opts = {.timeout = 0.3};
  if (ik_lua_new(&f->loop, &opts, &f->rt, &err) < 0) return -1;
  f->refs0 = ik_lua_refs(f->rt);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  ik_lua_collect(f->rt); /* task handles Lua dropped hold their results until collected */
  int live = ik_lua_live_tasks(f->rt), refs = ik_lua_refs(f->rt);
  ik_lua_free(f->rt);
  ik_loop_run(&f->loop);
  int leaked = -1;
  ik_loop_close(&f->loop, &leaked);
  ik_log_set_level(IK_LOG_INFO);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(live, 0);
  assert_int_equal(refs, f->refs0);
  assert_int_equal(leaked, 0);
  ik_free(f);
  return 0;
}

/* Write a Lua file in the fixture's directory; returns its path (static). */
static const char *write_lua(fixture_t *f, const char *name, const char *code) {
  static char path[128];
  snprintf(path, sizeof path, "%s/%s", f->dir, name);
  FILE *fp = fopen(path, "w");
  fputs(code, fp);
  fclose(fp);
  return path;
}

static const char *hello_flavor =
    "local ik = require 'infrakit'\n"
    "return {\n"
    "  validate = function(props, alloc)\n"
    "    if props and props.bad then return nil, 'bad is set', 'EINVAL' end\n"
    "    if alloc.LogicalIDs ~= ik.json.null then return nil, 'want cattle' end\n"
    "    return true\n"
    "  end,\n"
    "  prepare = function(props, spec, alloc, index)\n"
    "    ik.sleep(0)\n"
    "    spec.Init = 'echo ' .. props.word .. ' ' .. index.Sequence\n"
    "    spec.Tags.flavor = 'hello'\n"
    "    spec.Attachments = {}\n"
    "    return spec\n"
    "  end,\n"
    "  healthy = function(props, inst)\n"
    "    if inst.ID == 'boom' then error('exploded') end\n"
    "    if inst.ID == 'spin' then while true do end end\n"
    "    if inst.ID == 'weird' then return 'fine' end\n"
    "    return inst.ID == 'bad' and 'unhealthy' or 'healthy'\n"
    "  end,\n"
    "}\n";

static void load_flavor(fixture_t *f, ik_flavor_plugin_t *pl) {
  ik_err_t err = {0};
  const char *path = write_lua(f, "hello.lua", hello_flavor);
  if (ik_lua_flavor_load(f->rt, "hello", path, NULL, pl, &err) < 0) fail_msg("%s", err.msg);
}

static void a_lua_flavor_prepares_a_spec_in_gos_shape(void **state) {
  fixture_t *f = *state;
  ik_flavor_plugin_t pl;
  load_flavor(f, &pl);
  json_t *props = json_pack("{s:s}", "word", "hi");
  json_t *spec = json_pack("{s:{s:s}}", "Tags", "tier", "web");
  json_t *alloc = json_pack("{s:i, s:n}", "Size", 3, "LogicalIDs");
  json_t *index = json_pack("{s:s, s:i}", "Group", "g", "Sequence", 3);
  slot_t s = {0};
  ik_err_t err = {0};
  assert_int_equal(pl.vt->prepare(pl.self, props, spec, alloc, index, on_slot, &s, &err), 0);
  assert_int_equal(s.done, 0); /* never before returning */
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, 0);
  /* Go's field order, and a map's keys sorted as Go writes them. */
  char *out = json_dumps(s.result, JSON_COMPACT | JSON_PRESERVE_ORDER);
  assert_string_equal(out, "{\"Properties\":null,\"Tags\":{\"flavor\":\"hello\",\"tier\":\"web\"},\"Init\":\"echo hi 3\","
                           "\"LogicalID\":null,\"Attachments\":[]}");
  free(out);
  slot_clear(&s);

  assert_int_equal(pl.vt->validate(pl.self, props, alloc, on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, 0);
  assert_true(json_is_null(s.result));
  slot_clear(&s);

  json_t *bad = json_pack("{s:b}", "bad", 1);
  assert_int_equal(pl.vt->validate(pl.self, bad, alloc, on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_string_equal(s.err.msg, "bad is set"); /* no prefix: the caller names the plugin and the call */
  slot_clear(&s);

  json_decref(bad);
  json_decref(props);
  json_decref(spec);
  json_decref(alloc);
  json_decref(index);
  pl.vt->free(pl.self);
}

/* health, an error, a runaway loop, a bad result: each its own answer, and
 * the runtime keeps serving. */
static void health_errors_and_the_watchdog(void **state) {
  fixture_t *f = *state;
  ik_flavor_plugin_t pl;
  load_flavor(f, &pl);
  static const struct {
    const char *id;
    int code;
    json_int_t health;
    const char *msg;
  } cases[] = {
      {"ok", 0, 1, NULL},
      {"bad", 0, 2, NULL},
      {"boom", IK_EDRIVER, 0, "exploded"},
      {"spin", IK_ETIMEDOUT, 0, "Lua code ran for more than"},
      {"weird", IK_EDRIVER, 0, "healthy returned string \"fine\""},
      {"ok", 0, 1, NULL}, /* still answering after the watchdog fired */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *inst = json_pack("{s:s}", "ID", cases[i].id);
    slot_t s = {0};
    ik_err_t err = {0};
    assert_int_equal(pl.vt->healthy(pl.self, NULL, inst, on_slot, &s, &err), 0);
    run_until(f, &s.done, 1);
    assert_int_equal(s.err.code, cases[i].code);
    if (cases[i].code == 0) assert_int_equal(json_integer_value(s.result), cases[i].health);
    if (cases[i].msg) assert_non_null(strstr(s.err.msg, cases[i].msg));
    assert_null(strchr(s.err.msg, '\n')); /* one line; the traceback goes to the log */
    slot_clear(&s);
    json_decref(inst);
  }
  pl.vt->free(pl.self);
}

static void missing_optional_functions_get_infrakits_defaults(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_flavor_plugin_t pl;
  const char *path = write_lua(f, "min.lua", "return { validate = function() return true end,"
                                             " prepare = function(p, s) return s end }");
  assert_int_equal(ik_lua_flavor_load(f->rt, "min", path, NULL, &pl, &err), 0);
  slot_t s = {0};
  assert_int_equal(pl.vt->healthy(pl.self, NULL, NULL, on_slot, &s, &err), 0);
  assert_int_equal(s.done, 0);
  run_until(f, &s.done, 1);
  assert_int_equal(json_integer_value(s.result), 1);
  slot_clear(&s);
  assert_int_equal(pl.vt->drain(pl.self, NULL, NULL, on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  pl.vt->free(pl.self);
}

static void load_errors_name_the_file_and_line(void **state) {
  fixture_t *f = *state;
  static const struct {
    const char *code;
    const char *want;
  } cases[] = {
      {"return {\n  validate = function(\n", "syntax.lua:3:"},
      {"error('no config')", "no config"},
      {"return 42", "returned a number; a flavor returns a table of functions"},
      {"return { validate = function() end }", "the flavor has no function prepare"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_err_t err = {0};
    ik_flavor_plugin_t pl;
    const char *path = write_lua(f, "syntax.lua", cases[i].code);
    assert_int_equal(ik_lua_flavor_load(f->rt, "x", path, NULL, &pl, &err), IK_ELUA);
    if (strstr(err.msg, cases[i].want) == NULL) fail_msg("got \"%s\", want \"%s\"", err.msg, cases[i].want);
    assert_non_null(strstr(err.msg, "syntax.lua"));
  }
}

static void a_lua_instance_provider_round_trips(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_instance_plugin_t pl;
  const char *path = write_lua(f, "mem.lua",
                               "local store, n = {}, 0\n"
                               "return {\n"
                               "  provision = function(spec) n = n + 1; local id = 'm-' .. n\n"
                               "    store[id] = { ID = id, LogicalID = spec.LogicalID, Tags = spec.Tags }; return id end,\n"
                               "  label = function(id, labels) for k, v in pairs(labels) do store[id].Tags[k] = v end return true end,\n"
                               "  destroy = function(id, ctx) if not store[id] then return nil, 'no ' .. id end\n"
                               "    store[id] = nil; return ctx.Reason == 'terminate' end,\n"
                               "  describe = function(tags, props) local out = {}\n"
                               "    for _, d in pairs(store) do out[#out + 1] = d end; return out end,\n"
                               "}\n");
  assert_int_equal(ik_lua_instance_load(f->rt, "mem", path, NULL, &pl, &err), 0);
  slot_t s = {0};
  json_t *spec = json_pack("{s:{s:s}, s:s}", "Tags", "a", "b", "LogicalID", "x1");
  assert_int_equal(pl.vt->provision(pl.self, spec, on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_string_equal(json_string_value(s.result), "m-1");
  slot_clear(&s);
  json_t *labels = json_pack("{s:s}", "c", "d");
  assert_int_equal(pl.vt->label(pl.self, "m-1", labels, on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  slot_clear(&s);
  assert_int_equal(pl.vt->describe(pl.self, NULL, false, on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  char *out = json_dumps(s.result, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(out, "[{\"ID\":\"m-1\",\"LogicalID\":\"x1\",\"Tags\":{\"a\":\"b\",\"c\":\"d\"}}]");
  free(out);
  slot_clear(&s);
  assert_int_equal(pl.vt->destroy(pl.self, "m-1", "terminate", on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  assert_int_equal(pl.vt->destroy(pl.self, "m-1", "terminate", on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_string_equal(s.err.msg, "no m-1");
  slot_clear(&s);
  assert_int_equal(pl.vt->describe(pl.self, NULL, false, on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_true(json_is_array(s.result)); /* {} from Lua is the empty list */
  assert_int_equal(json_array_size(s.result), 0);
  slot_clear(&s);
  assert_int_equal(pl.vt->validate(pl.self, NULL, on_slot, &s, &err), 0); /* optional: default true */
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  json_decref(spec);
  json_decref(labels);
  pl.vt->free(pl.self);
}

static void freeing_the_runtime_cancels_calls_in_flight(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_flavor_plugin_t pl;
  const char *path = write_lua(f, "slow.lua", "local ik = require 'infrakit'\n"
                                              "return { validate = function() ik.sleep(10) return true end,"
                                              " prepare = function(p, s) return s end }");
  assert_int_equal(ik_lua_flavor_load(f->rt, "slow", path, NULL, &pl, &err), 0);
  slot_t s = {0};
  assert_int_equal(pl.vt->validate(pl.self, NULL, NULL, on_slot, &s, &err), 0);
  for (int i = 0; i < 5; i++) uv_run(&f->loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(s.done, 0);
  pl.vt->free(pl.self);
  ik_lua_cancel_all(f->rt);
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, IK_ECANCELED);
}

static void a_result_of_the_wrong_shape_is_named_in_the_error(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_instance_plugin_t pl;
  const char *path = write_lua(f, "shape.lua", "return { provision = function() return 'x' end,"
                                               " destroy = function() return true end,"
                                               " describe = function() return { { ID = 'a', Tags = { x = 1 } } } end }");
  assert_int_equal(ik_lua_instance_load(f->rt, "shape", path, NULL, &pl, &err), 0);
  slot_t s = {0};
  assert_int_equal(pl.vt->describe(pl.self, NULL, false, on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, IK_EDRIVER);
  if (strncmp(s.err.msg, "describe result", 15) != 0 || strstr(s.err.msg, "Tags.x") == NULL)
    fail_msg("got \"%s\"", s.err.msg);
  slot_clear(&s);
  pl.vt->free(pl.self);
}

/* --- events: a provider's watch(notify) ----------------------------------- */

typedef struct events {
  int n;
  char ids[64][32];  /* "" for notify() without an ID */
  char whys[64][32]; /* "" when notify gave no reason */
} events_t;

static void on_event(const char *id, const char *why, void *data) {
  events_t *ev = data;
  if (ev->n < 64) {
    snprintf(ev->ids[ev->n], sizeof ev->ids[0], "%s", id ? id : "");
    snprintf(ev->whys[ev->n], sizeof ev->whys[0], "%s", why ? why : "");
  }
  ev->n++;
}

static const char *notifying_provider =
    "local ik = require 'infrakit'\n"
    "local notify\n"
    "return {\n"
    "  provision = function(spec) return 'x' end,\n"
    "  destroy = function(id) return notify(id) end,\n"
    "  describe = function() return {} end,\n"
    "  watch = function(n)\n"
    "    notify = n\n"
    "    ik.spawn(function()\n"
    "      n('i-1')\n"
    "      ik.sleep(0)\n"
    "      n()\n"
    "      assert(n('i-2', 'exited with status 3') == true)\n"
    "    end)\n"
    "  end,\n"
    "}\n";

static void a_lua_provider_reports_changes_to_its_watchers(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_instance_plugin_t pl;
  const char *path = write_lua(f, "notifying.lua", notifying_provider);
  assert_int_equal(ik_lua_instance_load(f->rt, "notifying", path, NULL, &pl, &err), 0);
  assert_non_null(pl.vt->watch);
  events_t ev = {0};
  int token = pl.vt->watch(pl.self, on_event, &ev, &err);
  assert_true(token > 0);
  assert_int_equal(ev.n, 0); /* never before watch returns */
  run_until(f, &ev.n, 3);
  assert_string_equal(ev.ids[0], "i-1");
  assert_string_equal(ev.ids[1], ""); /* notify(): describe again */
  assert_string_equal(ev.ids[2], "i-2");
  assert_string_equal(ev.whys[2], "exited with status 3");
  assert_string_equal(ev.whys[0], "");

  /* notify from a plugin call (destroy returns what notify returned) */
  slot_t s = {0};
  assert_int_equal(pl.vt->destroy(pl.self, "i-3", "terminate", on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  assert_int_equal(s.err.code, 0);
  run_until(f, &ev.n, 4);
  assert_string_equal(ev.ids[3], "i-3");
  slot_clear(&s);

  /* unwatched: no more events */
  pl.vt->unwatch(pl.self, token);
  assert_int_equal(pl.vt->destroy(pl.self, "i-4", "terminate", on_slot, &s, &err), 0);
  run_until(f, &s.done, 1);
  for (int i = 0; i < 20; i++) uv_run(&f->loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(ev.n, 4);
  slot_clear(&s);
  pl.vt->free(pl.self);
}

/* Every group on a provider subscribes: no fixed cap (the native drivers
 * stop at 16), and unwatching one leaves the others. */
static void many_watchers_each_get_every_event(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_instance_plugin_t pl;
  const char *path = write_lua(f, "notifying.lua", notifying_provider);
  assert_int_equal(ik_lua_instance_load(f->rt, "notifying", path, NULL, &pl, &err), 0);
  enum { N = 40 };
  static events_t ev[N];
  int tokens[N];
  memset(ev, 0, sizeof ev);
  for (int i = 0; i < N; i++) assert_true((tokens[i] = pl.vt->watch(pl.self, on_event, &ev[i], &err)) > 0);
  pl.vt->unwatch(pl.self, tokens[7]);
  run_until(f, &ev[N - 1].n, 3);
  for (int i = 0; i < N; i++) {
    assert_int_equal(ev[i].n, i == 7 ? 0 : 3);
    if (i != 7) assert_string_equal(ev[i].ids[2], "i-2");
  }
  pl.vt->free(pl.self);
}

static void a_provider_without_watch_has_no_events(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_instance_plugin_t pl;
  const char *path = write_lua(f, "quiet.lua", "return { provision = function() return 'x' end,"
                                               " destroy = function() return true end,"
                                               " describe = function() return {} end }");
  assert_int_equal(ik_lua_instance_load(f->rt, "quiet", path, NULL, &pl, &err), 0);
  events_t ev = {0};
  /* Subscribing works (the engine does not know in advance); nothing comes. */
  assert_true(pl.vt->watch(pl.self, on_event, &ev, &err) > 0);
  for (int i = 0; i < 20; i++) uv_run(&f->loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(ev.n, 0);
  pl.vt->free(pl.self);
}

/* --- reload -------------------------------------------------------------- */

static const char *versioned_flavor(const char *v) {
  static char code[512];
  snprintf(code, sizeof code,
           "local ik = require 'infrakit'\n"
           "return {\n"
           "  validate = function(props) if props and props.slow then ik.sleep(0.05) end\n"
           "    return nil, '%s' end,\n"
           "  prepare = function(p, spec) return spec end,\n"
           "}\n",
           v);
  return code;
}

static void validate_says(fixture_t *f, ik_flavor_plugin_t *pl, json_t *props, slot_t *s) {
  ik_err_t err = {0};
  slot_clear(s);
  assert_int_equal(pl->vt->validate(pl->self, props, NULL, on_slot, s, &err), 0);
}

static void reload_serves_the_new_version_and_calls_in_flight_finish_on_the_old(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_flavor_plugin_t pl;
  const char *path = write_lua(f, "v.lua", versioned_flavor("v1"));
  assert_int_equal(ik_lua_flavor_load(f->rt, "v", path, NULL, &pl, &err), 0);
  json_t *slow = json_pack("{s:b}", "slow", 1);
  slot_t in_flight = {0}, s = {0};
  validate_says(f, &pl, slow, &in_flight);
  for (int i = 0; i < 3; i++) uv_run(&f->loop.uv, UV_RUN_NOWAIT); /* it is sleeping in v1 */
  assert_int_equal(in_flight.done, 0);

  bool reloaded = false;
  write_lua(f, "v.lua", versioned_flavor("v2"));
  assert_int_equal(ik_lua_flavor_reload(&pl, true, &reloaded, &err), 0);
  assert_true(reloaded);
  validate_says(f, &pl, NULL, &s);
  run_until(f, &s.done, 1);
  assert_string_equal(s.err.msg, "v2");
  run_until(f, &in_flight.done, 1);
  assert_string_equal(in_flight.err.msg, "v1");

  /* unchanged: nothing to do unless forced */
  assert_int_equal(ik_lua_flavor_reload(&pl, true, &reloaded, &err), 0);
  assert_false(reloaded);
  assert_int_equal(ik_lua_flavor_reload(&pl, false, &reloaded, &err), 0);
  assert_true(reloaded);

  /* broken: the error names the file and line, v2 keeps serving */
  static const struct {
    const char *code;
    const char *want;
  } broken[] = {
      {"return {\n  validate = function(\n", "v.lua:3:"},
      {"error('no config')", "v.lua:1: no config"},
      {"return { validate = function() end }", "the flavor has no function prepare"},
  };
  for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
    write_lua(f, "v.lua", broken[i].code);
    ik_err_t e = {0};
    assert_int_equal(ik_lua_flavor_reload(&pl, true, &reloaded, &e), IK_ELUA);
    assert_false(reloaded);
    if (strstr(e.msg, broken[i].want) == NULL) fail_msg("got \"%s\", want \"%s\"", e.msg, broken[i].want);
    validate_says(f, &pl, NULL, &s);
    run_until(f, &s.done, 1);
    assert_string_equal(s.err.msg, "v2");
  }
  unlink(path);
  assert_int_equal(ik_lua_flavor_reload(&pl, true, &reloaded, &err), IK_ELUA);
  assert_non_null(strstr(err.msg, "v.lua"));

  slot_clear(&s);
  slot_clear(&in_flight);
  json_decref(slow);
  pl.vt->free(pl.self);
}

static const char *ticking_provider(const char *v) {
  static char code[512];
  snprintf(code, sizeof code,
           "local ik = require 'infrakit'\n"
           "return {\n"
           "  provision = function() return 'x' end,\n"
           "  destroy = function() return true end,\n"
           "  describe = function() return {} end,\n"
           "  watch = function(notify) while notify('%s') do ik.sleep(0.005) end end,\n"
           "}\n",
           v);
  return code;
}

static void a_reloaded_provider_keeps_its_watchers_and_stops_the_old_watch(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_instance_plugin_t pl;
  const char *path = write_lua(f, "tick.lua", ticking_provider("v1"));
  assert_int_equal(ik_lua_instance_load(f->rt, "tick", path, NULL, &pl, &err), 0);
  events_t ev = {0};
  assert_true(pl.vt->watch(pl.self, on_event, &ev, &err) > 0);
  run_until(f, &ev.n, 2);
  assert_string_equal(ev.ids[0], "v1");

  write_lua(f, "tick.lua", ticking_provider("v2"));
  bool reloaded = false;
  assert_int_equal(ik_lua_instance_reload(&pl, true, &reloaded, &err), 0);
  assert_true(reloaded);
  int first_v2 = -1;
  for (int i = 0; i < 100000 && first_v2 < 0; i++) {
    uv_run(&f->loop.uv, UV_RUN_ONCE);
    for (int k = 0; k < ev.n && k < 64; k++)
      if (strcmp(ev.ids[k], "v2") == 0) first_v2 = k;
  }
  assert_true(first_v2 > 0);
  /* Between the two versions the host says "describe again" itself. */
  bool again = false;
  for (int k = 0; k < first_v2; k++) again |= ev.ids[k][0] == '\0';
  assert_true(again);
  int seen = ev.n;
  ev.n = 0; /* record again from here: v1's watch was cancelled */
  run_until(f, &ev.n, 3);
  for (int k = 0; k < 3; k++) assert_string_equal(ev.ids[k], "v2");
  assert_true(seen > first_v2);
  pl.vt->free(pl.self); /* cancels v2's watch: teardown checks no task is left */
}

static void only_lua_files_reload(void **state) {
  fixture_t *f = *state;
  ik_err_t err = {0};
  ik_flavor_plugin_t pl;
  assert_int_equal(ik_lua_flavor_load(f->rt, "flavor-vanilla", NULL, "infrakit.flavors.vanilla", &pl, &err), 0);
  bool reloaded = true;
  assert_int_equal(ik_lua_flavor_reload(&pl, false, &reloaded, &err), IK_ESTATE);
  assert_false(reloaded);
  assert_non_null(strstr(err.msg, "flavor-vanilla is built in"));
  pl.vt->free(pl.self);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_lua_flavor_prepares_a_spec_in_gos_shape, setup, teardown),
      cmocka_unit_test_setup_teardown(health_errors_and_the_watchdog, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_optional_functions_get_infrakits_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(load_errors_name_the_file_and_line, setup, teardown),
      cmocka_unit_test_setup_teardown(a_lua_instance_provider_round_trips, setup, teardown),
      cmocka_unit_test_setup_teardown(freeing_the_runtime_cancels_calls_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(a_result_of_the_wrong_shape_is_named_in_the_error, setup, teardown),
      cmocka_unit_test_setup_teardown(a_lua_provider_reports_changes_to_its_watchers, setup, teardown),
      cmocka_unit_test_setup_teardown(many_watchers_each_get_every_event, setup, teardown),
      cmocka_unit_test_setup_teardown(a_provider_without_watch_has_no_events, setup, teardown),
      cmocka_unit_test_setup_teardown(reload_serves_the_new_version_and_calls_in_flight_finish_on_the_old, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(a_reloaded_provider_keeps_its_watchers_and_stops_the_old_watch, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(only_lua_files_reload, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
