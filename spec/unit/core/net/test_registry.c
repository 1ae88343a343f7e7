/* core/net/registry: resolution order - a plugin hosted in this process
 * wins over a socket of the same name in the plugins directory; other
 * names go to the socket; a name that is nowhere is IK_ENOTFOUND; hosted
 * views forward calls and free nothing. */
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
#include "net/registry.h"
#include "net/server/rpc_flavor.h"
#include "net/server/rpc_server.h"
#include "spi_slot.h"

/* A flavor double whose healthy answers its own number (a valid Health). */
typedef struct numbered {
  ik_loop_t *loop;
  int n;
  int freed;
} numbered_t;

typedef struct later {
  ik_spi_cb cb;
  void *data;
  int n;
} later_t;

static void answer(void *p) {
  later_t *l = p;
  json_t *v = json_integer(l->n);
  l->cb(v, NULL, l->data);
  json_decref(v);
  ik_free(l);
}

static int d_healthy(void *self, json_t *p, json_t *i, ik_spi_cb cb, void *data, ik_err_t *err) {
  numbered_t *d = self;
  later_t *l = IK_NEW(later_t);
  *l = (later_t){cb, data, d->n};
  ik_loop_defer(d->loop, answer, l);
  return 0;
}
static int d_unused(void *self, json_t *p, json_t *a, ik_spi_cb cb, void *data, ik_err_t *err) {
  return ik_err_set(err, IK_ESTATE, "unused");
}
static int d_prepare(void *self, json_t *p, json_t *s, json_t *a, json_t *i, ik_spi_cb cb, void *data, ik_err_t *err) {
  return ik_err_set(err, IK_ESTATE, "unused");
}
static void d_free(void *self) { ((numbered_t *)self)->freed++; }

static const ik_flavor_vtable_t numbered_vt = {"double", d_unused, d_prepare, d_healthy, d_healthy, d_free, NULL};

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  numbered_t hosted, served_x, served_y;
  ik_rpc_server_t *sx, *sy;
  ik_registry_t *reg;
} fixture_t;

static void run_until(fixture_t *fx, const int *count, int want) {
  for (int i = 0; *count < want && i < 100000; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(*count, want);
}

static ik_rpc_server_t *serve(fixture_t *fx, const char *name, numbered_t *d) {
  ik_err_t err = {0};
  static ik_flavor_plugin_t objs[2];
  ik_flavor_plugin_t *obj = &objs[strcmp(name, "x") == 0 ? 0 : 1];
  *obj = (ik_flavor_plugin_t){&numbered_vt, d};
  ik_rpc_server_t *s = ik_rpc_server_new(&fx->loop, name);
  assert_int_equal(ik_rpc_server_add(s, &ik_rpc_flavor_iface, ".", obj, &err), 0);
  char path[128];
  snprintf(path, sizeof path, "%s/%s", fx->dir, name);
  ik_http_server_opts_t opts = {.unix_path = path};
  assert_int_equal(ik_rpc_server_listen(s, &opts, &err), 0);
  return s;
}

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-registry-XXXXXX");
  if (mkdtemp(fx->dir) == NULL || ik_loop_init(&fx->loop, &err) < 0) return -1;
  fx->hosted = (numbered_t){&fx->loop, 1, 0};
  fx->served_x = (numbered_t){&fx->loop, 2, 0};
  fx->served_y = (numbered_t){&fx->loop, 0, 0};
  fx->sx = serve(fx, "x", &fx->served_x);
  fx->sy = serve(fx, "y", &fx->served_y);
  fx->reg = ik_registry_new(&fx->loop, fx->dir);
  ik_flavor_plugin_t pl = {&numbered_vt, &fx->hosted};
  if (ik_registry_add_flavor(fx->reg, "x", pl, &err) < 0) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  ik_registry_free(fx->reg);
  assert_int_equal(fx->hosted.freed, 1); /* the registry owns what it hosts */
  ik_rpc_server_free(fx->sx);
  ik_rpc_server_free(fx->sy);
  int leaked = -1;
  ik_loop_run(&fx->loop);
  assert_int_equal(ik_loop_close(&fx->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  assert_int_equal(system(cmd), 0);
  ik_free(fx);
  return 0;
}

/* Which double answered a healthy call through name. */
static json_int_t who_answers(fixture_t *fx, const char *name, const char **kind) {
  ik_flavor_plugin_t pl;
  ik_err_t err = {0};
  assert_int_equal(ik_registry_flavor(fx->reg, name, &pl, &err), 0);
  *kind = pl.vt->kind;
  slot_t s = {0};
  CALL(fx, &s, pl.vt->healthy(pl.self, NULL, NULL, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  json_int_t n = json_integer_value(s.result);
  slot_clear(&s);
  pl.vt->free(pl.self);
  return n;
}

static void hosted_first_then_the_plugins_directory(void **state) {
  fixture_t *fx = *state;
  const char *kind;
  assert_int_equal(who_answers(fx, "x", &kind), 1); /* hosted, though x's socket exists */
  assert_string_equal(kind, "hosted");
  assert_int_equal(fx->hosted.freed, 0);            /* a view: freeing it frees nothing */
  assert_int_equal(who_answers(fx, "y", &kind), 0); /* not hosted: the socket */
  assert_string_equal(kind, "rpc");
  assert_non_null(ik_registry_hosted_flavor(fx->reg, "x"));
  assert_null(ik_registry_hosted_flavor(fx->reg, "y"));
}

static void a_name_that_is_nowhere_is_not_found(void **state) {
  fixture_t *fx = *state;
  ik_flavor_plugin_t pl;
  ik_err_t err = {0};
  assert_int_equal(ik_registry_flavor(fx->reg, "z", &pl, &err), IK_ENOTFOUND);
  assert_non_null(strstr(err.msg, "plugin z: not found"));
}

static void a_name_is_hosted_once(void **state) {
  fixture_t *fx = *state;
  numbered_t other = {&fx->loop, 9, 0};
  ik_flavor_plugin_t pl = {&numbered_vt, &other};
  ik_err_t err = {0};
  assert_int_equal(ik_registry_add_flavor(fx->reg, "x", pl, &err), IK_EEXIST);
  assert_non_null(strstr(err.msg, "already hosted"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(hosted_first_then_the_plugins_directory, setup, teardown),
      cmocka_unit_test_setup_teardown(a_name_that_is_nowhere_is_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(a_name_is_hosted_once, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
