/* core/net/client/remote_flavor + remote_group: the flavor, group and manager
 * vtables over JSON-RPC reach a plugin's objects with the arguments the
 * caller gave and hand back its results in the SPI's shapes. Doubles on a
 * real rpc_server (unix socket, same loop) record what arrives and answer
 * canned results, later, from the loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "loop/loop.h"
#include "net/client/remote.h"
#include "net/server/rpc_flavor.h"
#include "net/server/rpc_group.h"
#include "net/server/rpc_server.h"
#include "spi_slot.h"

/* --- a double for every interface --------------------------------------- */

/* What the double saw last, and what it answers. */
typedef struct double_s {
  ik_loop_t *loop;
  char op[32];
  char id[64];
  json_t *args;   /* the JSON arguments of the last call, as an array */
  json_t *answer; /* result to give; NULL = fail with "double says no" */
} double_t;

typedef struct reply {
  ik_spi_cb cb;
  void *data;
  json_t *result;
} reply_t;

static void reply_later(void *p) {
  reply_t *r = p;
  if (r->result) {
    r->cb(r->result, NULL, r->data);
  } else {
    ik_err_t err = {0};
    ik_err_set(&err, IK_EDRIVER, "double says no");
    r->cb(NULL, &err, r->data);
  }
  json_decref(r->result);
  ik_free(r);
}

/* Record op, id and args (borrowed, NULL-terminated), then answer later. */
static int record(double_t *d, const char *op, const char *id, ik_spi_cb cb, void *data, ...) {
  snprintf(d->op, sizeof d->op, "%s", op);
  snprintf(d->id, sizeof d->id, "%s", id ? id : "");
  json_decref(d->args);
  d->args = json_array();
  va_list ap;
  va_start(ap, data);
  for (json_t *a; (a = va_arg(ap, json_t *)) != NULL;) json_array_append(d->args, a);
  va_end(ap);
  reply_t *r = IK_NEW(reply_t);
  *r = (reply_t){cb, data, d->answer ? json_incref(d->answer) : NULL};
  ik_loop_defer(d->loop, reply_later, r);
  return 0;
}

#define END ((json_t *)NULL)

static int f_validate(void *s, json_t *p, json_t *a, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, "validate", NULL, cb, d, p ? p : json_null(), a, END);
}
static int f_prepare(void *s, json_t *p, json_t *spec, json_t *a, json_t *i, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, "prepare", NULL, cb, d, p ? p : json_null(), spec, a, i, END);
}
static int f_healthy(void *s, json_t *p, json_t *inst, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, "healthy", NULL, cb, d, p ? p : json_null(), inst, END);
}
static int f_drain(void *s, json_t *p, json_t *inst, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, "drain", NULL, cb, d, p ? p : json_null(), inst, END);
}
static void no_free(void *s) { (void)s; }

static const ik_flavor_vtable_t flavor_double_vt = {"double", f_validate, f_prepare, f_healthy, f_drain, no_free, NULL};

static int g_commit(void *s, json_t *spec, bool pretend, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, pretend ? "commit-pretend" : "commit", NULL, cb, d, spec, END);
}
static int g_free(void *s, const char *id, ik_spi_cb cb, void *d, ik_err_t *e) { return record(s, "free", id, cb, d, END); }
static int g_describe(void *s, const char *id, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, "describe", id, cb, d, END);
}
static int g_destroy(void *s, const char *id, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, "destroy", id, cb, d, END);
}
static int g_inspect(void *s, ik_spi_cb cb, void *d, ik_err_t *e) { return record(s, "inspect", NULL, cb, d, END); }
static int g_destroy_instances(void *s, const char *id, json_t *ids, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, "destroy-instances", id, cb, d, ids, END);
}
static int g_size(void *s, const char *id, ik_spi_cb cb, void *d, ik_err_t *e) { return record(s, "size", id, cb, d, END); }
static int g_set_size(void *s, const char *id, uint64_t n, ik_spi_cb cb, void *d, ik_err_t *e) {
  json_t *size = json_integer((json_int_t)n);
  int rc = record(s, "set-size", id, cb, d, size, END);
  json_decref(size);
  return rc;
}

static int g_pause(void *s, const char *id, ik_spi_cb cb, void *d, ik_err_t *e) { return record(s, "pause", id, cb, d, END); }
static int g_resume(void *s, const char *id, ik_spi_cb cb, void *d, ik_err_t *e) {
  return record(s, "resume", id, cb, d, END);
}

static const ik_group_vtable_t group_double_vt = {
    "double", g_commit, g_free, g_describe, g_destroy, g_inspect, g_destroy_instances, g_size, g_set_size, no_free,
    NULL, NULL,        /* promote, status: InfraKit's Group/0.1.1 has neither */
    g_pause, g_resume, /* ours, as the daemon's controller has them */
};

static int m_is_leader(void *s, ik_spi_cb cb, void *d, ik_err_t *e) { return record(s, "is-leader", NULL, cb, d, END); }
static int m_location(void *s, ik_spi_cb cb, void *d, ik_err_t *e) { return record(s, "location", NULL, cb, d, END); }

static const ik_manager_vtable_t manager_double_vt = {"double", m_is_leader, m_location, no_free};

/* --- fixture ------------------------------------------------------------- */

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  double_t flavor_d, group_d, manager_d;
  ik_flavor_plugin_t flavor_obj;
  ik_group_plugin_t group_obj;
  ik_manager_plugin_t manager_obj;
  ik_rpc_server_t *server;
  ik_http_client_t *http;
  uv_timer_t guard;
  bool expired;
} fixture_t;

static void guard_expired(uv_timer_t *t) { ((fixture_t *)t->data)->expired = true; }

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-rfg-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) return -1;
  if (ik_loop_init(&fx->loop, &err) < 0) return -1;
  fx->flavor_d.loop = fx->group_d.loop = fx->manager_d.loop = &fx->loop;
  fx->flavor_obj = (ik_flavor_plugin_t){&flavor_double_vt, &fx->flavor_d};
  fx->group_obj = (ik_group_plugin_t){&group_double_vt, &fx->group_d};
  fx->manager_obj = (ik_manager_plugin_t){&manager_double_vt, &fx->manager_d};
  /* One socket hosting all three, as InfraKit's manager plugin does. */
  fx->server = ik_rpc_server_new(&fx->loop, "multi");
  if (ik_rpc_server_add(fx->server, &ik_rpc_flavor_iface, "small", &fx->flavor_obj, &err) < 0 ||
      ik_rpc_server_add(fx->server, &ik_rpc_group_iface, "workers", &fx->group_obj, &err) < 0 ||
      ik_rpc_server_add(fx->server, &ik_rpc_manager_iface, ".", &fx->manager_obj, &err) < 0)
    return -1;
  char path[128];
  snprintf(path, sizeof path, "%s/multi", fx->dir);
  ik_http_server_opts_t opts = {.unix_path = path};
  if (ik_rpc_server_listen(fx->server, &opts, &err) < 0) return -1;
  if (ik_http_client_new(&fx->loop, &fx->http, &err) < 0) return -1;
  uv_timer_init(&fx->loop.uv, &fx->guard);
  fx->guard.data = fx;
  uv_timer_start(&fx->guard, guard_expired, 20000, 0);
  uv_unref((uv_handle_t *)&fx->guard);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  ik_http_client_free(fx->http);
  ik_rpc_server_free(fx->server);
  uv_close((uv_handle_t *)&fx->guard, NULL);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&fx->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  json_decref(fx->flavor_d.args);
  json_decref(fx->group_d.args);
  json_decref(fx->manager_d.args);
  json_decref(fx->flavor_d.answer);
  json_decref(fx->group_d.answer);
  json_decref(fx->manager_d.answer);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  assert_int_equal(system(cmd), 0);
  ik_free(fx);
  return 0;
}

static void run_until(fixture_t *fx, const int *count, int want) {
  while (*count < want && !fx->expired) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_false(fx->expired);
}

static void answer(double_t *d, json_t *v) {
  json_decref(d->answer);
  d->answer = v;
}

/* The i-th argument the double saw, as compact JSON with sorted keys. */
static char *arg_text(double_t *d, size_t i) {
  return json_dumps(json_array_get(d->args, i), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static void assert_arg(double_t *d, size_t i, const char *want) {
  char *got = arg_text(d, i);
  assert_string_equal(got, want);
  free(got);
}

/* --- flavor --------------------------------------------------------------- */

static void remote_flavor_passes_arguments_and_results(void **state) {
  fixture_t *fx = *state;
  ik_flavor_plugin_t f;
  ik_err_t err = {0};
  assert_int_equal(ik_remote_flavor_open(fx->http, fx->dir, "multi/small", &f, &err), 0);
  slot_t s = {0};
  json_t *props = json_pack("{s:[s]}", "Init", "echo a && b");
  json_t *alloc = json_pack("{s:i, s:n}", "Size", 2, "LogicalIDs");
  json_t *spec = json_pack("{s:n, s:{s:s}, s:s, s:n, s:n}", "Properties", "Tags", "t", "v", "Init", "", "LogicalID",
                           "Attachments");
  json_t *index = json_pack("{s:s, s:i}", "Group", "g", "Sequence", 2);
  json_t *inst = json_pack("{s:s, s:n, s:{s:s}}", "ID", "i-1", "LogicalID", "Tags", "t", "v");

  answer(&fx->flavor_d, json_null());
  CALL(fx, &s, f.vt->validate(f.self, props, alloc, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_string_equal(fx->flavor_d.op, "validate");
  assert_arg(&fx->flavor_d, 0, "{\"Init\":[\"echo a && b\"]}");
  assert_arg(&fx->flavor_d, 1, "{\"LogicalIDs\":null,\"Size\":2}");

  answer(&fx->flavor_d, json_pack("{s:n, s:{s:s}, s:s, s:n, s:n}", "Properties", "Tags", "t", "v", "Init",
                                  "echo a && b", "LogicalID", "Attachments"));
  CALL(fx, &s, f.vt->prepare(f.self, props, spec, alloc, index, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_string_equal(json_string_value(json_object_get(s.result, "Init")), "echo a && b");
  assert_arg(&fx->flavor_d, 3, "{\"Group\":\"g\",\"Sequence\":2}");

  answer(&fx->flavor_d, json_integer(IK_HEALTH_UNHEALTHY));
  CALL(fx, &s, f.vt->healthy(f.self, props, inst, on_slot, &s, &e_));
  assert_int_equal(json_integer_value(s.result), IK_HEALTH_UNHEALTHY);
  assert_string_equal(json_string_value(json_object_get(json_array_get(fx->flavor_d.args, 1), "ID")), "i-1");

  answer(&fx->flavor_d, NULL);
  CALL(fx, &s, f.vt->drain(f.self, props, inst, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_string_equal(s.err.msg, "double says no");

  slot_clear(&s);
  f.vt->free(f.self);
  json_decref(props);
  json_decref(alloc);
  json_decref(spec);
  json_decref(index);
  json_decref(inst);
}

static void remote_flavor_with_an_unknown_type_gets_the_servers_error(void **state) {
  fixture_t *fx = *state;
  ik_flavor_plugin_t f;
  ik_err_t err = {0};
  assert_int_equal(ik_remote_flavor_open(fx->http, fx->dir, "multi/large", &f, &err), 0);
  slot_t s = {0};
  CALL(fx, &s, f.vt->validate(f.self, NULL, NULL, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_non_null(strstr(s.err.msg, "no-plugin:large"));
  slot_clear(&s);
  f.vt->free(f.self);
}

/* --- group ---------------------------------------------------------------- */

static void remote_group_reaches_the_keyed_object_for_every_method(void **state) {
  fixture_t *fx = *state;
  ik_group_plugin_t g;
  ik_err_t err = {0};
  assert_int_equal(ik_remote_group_open(fx->http, fx->dir, "multi/workers", &g, &err), 0);
  double_t *d = &fx->group_d;
  slot_t s = {0};
  json_t *spec = json_pack("{s:s, s:{s:{s:i}}}", "ID", "workers", "Properties", "Allocation", "Size", 2);

  answer(d, json_pack("{s:s, s:s}", "ID", "workers", "Details", "would add 2"));
  CALL(fx, &s, g.vt->commit(g.self, spec, true, on_slot, &s, &e_));
  assert_string_equal(d->op, "commit-pretend");
  assert_string_equal(json_string_value(json_object_get(json_array_get(d->args, 0), "ID")), "workers");
  assert_string_equal(json_string_value(json_object_get(s.result, "Details")), "would add 2");
  assert_string_equal(json_string_value(json_object_get(s.result, "ID")), "workers");

  answer(d, json_pack("{s:[], s:b}", "Instances", "Converged", 1));
  CALL(fx, &s, g.vt->describe(g.self, "workers", on_slot, &s, &e_));
  assert_string_equal(d->op, "describe");
  assert_string_equal(d->id, "workers");
  assert_true(json_is_true(json_object_get(s.result, "Converged")));

  answer(d, json_pack("[O]", spec));
  CALL(fx, &s, g.vt->inspect(g.self, on_slot, &s, &e_));
  assert_int_equal(json_array_size(s.result), 1);

  answer(d, json_integer(5));
  CALL(fx, &s, g.vt->size(g.self, "workers", on_slot, &s, &e_));
  assert_int_equal(json_integer_value(s.result), 5);

  answer(d, json_null());
  CALL(fx, &s, g.vt->set_size(g.self, "workers", 7, on_slot, &s, &e_));
  assert_string_equal(d->op, "set-size");
  assert_arg(d, 0, "7");

  json_t *ids = json_pack("[s,s]", "i-1", "i-2");
  CALL(fx, &s, g.vt->destroy_instances(g.self, "workers", ids, on_slot, &s, &e_));
  assert_arg(d, 0, "[\"i-1\",\"i-2\"]");
  json_decref(ids);

  CALL(fx, &s, g.vt->free_group(g.self, "workers", on_slot, &s, &e_));
  assert_string_equal(d->op, "free");
  CALL(fx, &s, g.vt->destroy(g.self, "workers", on_slot, &s, &e_));
  assert_string_equal(d->op, "destroy");
  assert_int_equal(s.err.code, 0);
  CALL(fx, &s, g.vt->pause(g.self, "workers", on_slot, &s, &e_));
  assert_string_equal(d->op, "pause");
  assert_string_equal(d->id, "workers");
  assert_int_equal(s.err.code, 0);
  CALL(fx, &s, g.vt->resume(g.self, "workers", on_slot, &s, &e_));
  assert_string_equal(d->op, "resume");
  assert_int_equal(s.err.code, 0);

  answer(d, NULL);
  CALL(fx, &s, g.vt->describe(g.self, "nosuch", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_string_equal(s.err.msg, "double says no");

  slot_clear(&s);
  json_decref(spec);
  g.vt->free(g.self);
}

/* --- manager -------------------------------------------------------------- */

static void remote_manager_answers_leadership_and_turns_go_urls_into_strings(void **state) {
  fixture_t *fx = *state;
  ik_manager_plugin_t m;
  ik_err_t err = {0};
  assert_int_equal(ik_remote_manager_open(fx->http, fx->dir, "multi", &m, &err), 0);
  slot_t s = {0};
  answer(&fx->manager_d, json_true());
  CALL(fx, &s, m.vt->is_leader(m.self, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(json_is_true(s.result));

  answer(&fx->manager_d, json_string("http://10.0.0.1:24864/"));
  CALL(fx, &s, m.vt->leader_location(m.self, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_string_equal(json_string_value(s.result), "http://10.0.0.1:24864/");

  answer(&fx->manager_d, NULL);
  CALL(fx, &s, m.vt->leader_location(m.self, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EDRIVER);
  slot_clear(&s);
  m.vt->free(m.self);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(remote_flavor_passes_arguments_and_results, setup, teardown),
      cmocka_unit_test_setup_teardown(remote_flavor_with_an_unknown_type_gets_the_servers_error, setup, teardown),
      cmocka_unit_test_setup_teardown(remote_group_reaches_the_keyed_object_for_every_method, setup, teardown),
      cmocka_unit_test_setup_teardown(remote_manager_answers_leadership_and_turns_go_urls_into_strings, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
