/* core/net/client/remote_instance + rpc_client: a remote instance plugin behaves
 * like the native one. The same contract runs against instance-file
 * called directly and against instance-file served by an rpc_server on a
 * unix socket and reached through the remote adapter; then the handshake,
 * transport failures, cancel and free, address forms and durations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/mem.h"
#include "loop/loop.h"
#include "net/client/remote.h"
#include "net/server/rpc_instance.h"
#include "net/server/rpc_server.h"
#include "spi_slot.h"
#include "providers/file/file.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  char plugins[96];
  char sock[128];
  ik_instance_plugin_t native; /* instance-file, in process */
  ik_rpc_server_t *server;     /* serving native on plugins/instance-file */
  ik_http_client_t *http;
  ik_instance_plugin_t remote; /* the adapter, through the socket */
  uv_timer_t guard;
  bool expired;
} fixture_t;

/* The outcome of one SPI call. */

static void guard_expired(uv_timer_t *t) { ((fixture_t *)t->data)->expired = true; }

static void run_until(fixture_t *fx, const int *count, int want) {
  while (*count < want && !fx->expired) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_false(fx->expired);
}

static void serve(fixture_t *fx, const ik_rpc_iface_t *iface, void *obj) {
  ik_err_t err = {0};
  fx->server = ik_rpc_server_new(&fx->loop, "instance-file");
  assert_int_equal(ik_rpc_server_add(fx->server, iface, ".", obj, &err), 0);
  ik_http_server_opts_t opts = {.unix_path = fx->sock};
  assert_int_equal(ik_rpc_server_listen(fx->server, &opts, &err), 0);
}

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-remote-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) return -1;
  snprintf(fx->plugins, sizeof fx->plugins, "%s/plugins", fx->dir);
  snprintf(fx->sock, sizeof fx->sock, "%s/instance-file", fx->plugins);
  mkdir(fx->plugins, 0700);
  if (ik_loop_init(&fx->loop, &err) < 0) return -1;
  char files[128];
  snprintf(files, sizeof files, "%s/instances", fx->dir);
  if (ik_file_provider_new(&fx->loop, files, &fx->native, &err) < 0) return -1;
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
  if (fx->remote.vt) fx->remote.vt->free(fx->remote.self);
  ik_http_client_free(fx->http);
  ik_rpc_server_free(fx->server);
  fx->native.vt->free(fx->native.self);
  uv_close((uv_handle_t *)&fx->guard, NULL);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&fx->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  assert_int_equal(system(cmd), 0);
  ik_free(fx);
  return 0;
}

static void open_remote(fixture_t *fx, const char *name) {
  ik_err_t err = {0};
  assert_int_equal(ik_remote_instance_open(fx->http, fx->plugins, name, &fx->remote, &err), 0);
}

/* --- the contract ---------------------------------------------------------- */

/* Provision, describe by tags, label, describe with properties, destroy,
 * and the error for an unknown ID: the same answers from any plugin. */
static void contract(fixture_t *fx, ik_instance_plugin_t *pl, char *destroy_error, size_t len) {
  slot_t s = {0};
  void *self = pl->self;
  const ik_instance_vtable_t *vt = pl->vt;

  json_t *props = json_pack("{s:s}", "Note", "v1");
  CALL(fx, &s, vt->validate(self, props, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(json_is_null(s.result));

  json_t *spec = json_pack("{s:O, s:{s:s, s:s}, s:s, s:s}", "Properties", props, "Tags", "infrakit.group", "web",
                           "tier", "front", "Init", "echo hi", "LogicalID", "web-1");
  CALL(fx, &s, vt->provision(self, spec, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(json_is_string(s.result));
  char id[128];
  snprintf(id, sizeof id, "%s", json_string_value(s.result));
  assert_memory_equal(id, "instance-", 9);

  json_t *tags = json_pack("{s:s}", "tier", "front");
  CALL(fx, &s, vt->describe(self, tags, false, on_slot, &s, &e_));
  assert_int_equal(json_array_size(s.result), 1);
  json_t *d = json_array_get(s.result, 0);
  assert_string_equal(json_string_value(json_object_get(d, "ID")), id);
  assert_string_equal(json_string_value(json_object_get(d, "LogicalID")), "web-1");
  assert_null(json_object_get(d, "Properties"));

  json_t *labels = json_pack("{s:s}", "extra", "x");
  CALL(fx, &s, vt->label(self, id, labels, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);

  CALL(fx, &s, vt->describe(self, labels, true, on_slot, &s, &e_));
  assert_int_equal(json_array_size(s.result), 1);
  d = json_array_get(s.result, 0);
  assert_string_equal(json_string_value(json_object_get(json_object_get(d, "Tags"), "tier")), "front");
  assert_string_equal(json_string_value(json_object_get(json_object_get(d, "Tags"), "extra")), "x");
  assert_non_null(json_object_get(d, "Properties"));

  CALL(fx, &s, vt->destroy(self, id, "terminate", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  CALL(fx, &s, vt->describe(self, NULL, false, on_slot, &s, &e_));
  assert_int_equal(json_array_size(s.result), 0);

  CALL(fx, &s, vt->destroy(self, "instance-0", "terminate", on_slot, &s, &e_));
  assert_int_not_equal(s.err.code, 0);
  snprintf(destroy_error, len, "%s", s.err.msg);

  slot_clear(&s);
  json_decref(props);
  json_decref(spec);
  json_decref(tags);
  json_decref(labels);
}

static void remote_plugin_keeps_the_native_contract(void **state) {
  fixture_t *fx = *state;
  serve(fx, &ik_rpc_instance_iface, &fx->native);
  open_remote(fx, "instance-file");
  char native_err[IK_ERR_MSG_MAX], remote_err[IK_ERR_MSG_MAX];
  contract(fx, &fx->native, native_err, sizeof native_err);
  contract(fx, &fx->remote, remote_err, sizeof remote_err);
  assert_string_equal(remote_err, native_err); /* the driver's message crosses the wire intact */
}

static void a_sub_type_is_sent_as_type(void **state) {
  fixture_t *fx = *state;
  serve(fx, &ik_rpc_instance_iface, &fx->native);
  open_remote(fx, "instance-file/nosuch");
  slot_t s = {0};
  CALL(fx, &s, fx->remote.vt->describe(fx->remote.self, NULL, false, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_non_null(strstr(s.err.msg, "nosuch"));
  slot_clear(&s);
}

/* --- handshake ---------------------------------------------------------- */

static void an_old_interface_version_is_refused_like_infrakit(void **state) {
  fixture_t *fx = *state;
  ik_rpc_iface_t old = ik_rpc_instance_iface;
  old.version = "0.5.0";
  serve(fx, &old, &fx->native);
  open_remote(fx, "instance-file");
  slot_t s = {0};
  CALL(fx, &s, fx->remote.vt->describe(fx->remote.self, NULL, false, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  assert_non_null(strstr(s.err.msg, "Plugin supports Instance interface version 0.5.0, client requires 0.6.1"));
  /* Known now: the next call fails at once, without a callback. */
  ik_err_t err = {0};
  assert_int_equal(fx->remote.vt->describe(fx->remote.self, NULL, false, on_slot, &s, &err), IK_ENOTFOUND);
  assert_non_null(strstr(err.msg, "client requires 0.6.1"));
  slot_clear(&s);
}

static void a_missing_interface_is_refused_like_infrakit(void **state) {
  fixture_t *fx = *state;
  ik_rpc_iface_t other = ik_rpc_instance_iface;
  other.name = "Flavor";
  serve(fx, &other, &fx->native);
  open_remote(fx, "instance-file");
  slot_t s = {0};
  CALL(fx, &s, fx->remote.vt->describe(fx->remote.self, NULL, false, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  assert_non_null(strstr(s.err.msg, "Plugin does not support interface Instance"));
  slot_clear(&s);
}

static void concurrent_first_calls_share_one_handshake(void **state) {
  fixture_t *fx = *state;
  serve(fx, &ik_rpc_instance_iface, &fx->native);
  open_remote(fx, "instance-file");
  enum { N = 5 };
  slot_t s[N];
  memset(s, 0, sizeof s);
  int done = 0;
  for (int i = 0; i < N; i++) {
    ik_err_t err = {0};
    assert_int_equal(fx->remote.vt->describe(fx->remote.self, NULL, false, on_slot, &s[i], &err), 0);
  }
  while (!fx->expired) {
    done = 0;
    for (int i = 0; i < N; i++) done += s[i].done;
    if (done == N) break;
    uv_run(&fx->loop.uv, UV_RUN_ONCE);
  }
  for (int i = 0; i < N; i++) {
    assert_int_equal(s[i].err.code, 0);
    slot_clear(&s[i]);
  }
  /* One Hello plus N calls reached the server. */
  ik_http_stats_t st = ik_http_server_stats(ik_rpc_server_http(fx->server, 0));
  assert_int_equal(st.requests, N + 1);
}

/* --- transport -------------------------------------------------------- */

static void a_missing_plugin_is_not_found_by_name(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  ik_instance_plugin_t pl;
  assert_int_equal(ik_remote_instance_open(fx->http, fx->plugins, "instance-nope", &pl, &err), IK_ENOTFOUND);
  assert_non_null(strstr(err.msg, "plugin instance-nope: not found"));
}

static void a_stale_socket_fails_the_call_with_connection_refused(void **state) {
  fixture_t *fx = *state;
  /* A socket file nobody accepts on, as a crashed plugin leaves behind. */
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, fx->sock, strlen(fx->sock) + 1);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  close(fd);
  open_remote(fx, "instance-file");
  slot_t s = {0};
  CALL(fx, &s, fx->remote.vt->validate(fx->remote.self, NULL, on_slot, &s, &e_));
  assert_int_equal(s.err.code, UV_ECONNREFUSED);
  /* The next call tries the handshake again: the plugin may be up by now. */
  unlink(fx->sock);
  serve(fx, &ik_rpc_instance_iface, &fx->native);
  CALL(fx, &s, fx->remote.vt->validate(fx->remote.self, NULL, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
}

static void a_listen_file_with_a_tcp_url_is_followed(void **state) {
  fixture_t *fx = *state;
  ik_err_t err = {0};
  fx->server = ik_rpc_server_new(&fx->loop, "instance-file");
  assert_int_equal(ik_rpc_server_add(fx->server, &ik_rpc_instance_iface, ".", &fx->native, &err), 0);
  ik_http_server_opts_t opts = {.tcp = "127.0.0.1:0"};
  assert_int_equal(ik_rpc_server_listen(fx->server, &opts, &err), 0);
  char path[256];
  snprintf(path, sizeof path, "%s/instance-file.listen", fx->plugins);
  FILE *f = fopen(path, "w");
  fprintf(f, "tcp://127.0.0.1:%d\n", ik_http_server_port(ik_rpc_server_http(fx->server, 0)));
  fclose(f);
  open_remote(fx, "instance-file");
  slot_t s = {0};
  CALL(fx, &s, fx->remote.vt->describe(fx->remote.self, NULL, false, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(json_is_array(s.result));
  slot_clear(&s);
}

static void freeing_the_plugin_cancels_calls_in_flight(void **state) {
  fixture_t *fx = *state;
  serve(fx, &ik_rpc_instance_iface, &fx->native);
  open_remote(fx, "instance-file");
  slot_t s = {0};
  ik_err_t err = {0};
  assert_int_equal(fx->remote.vt->describe(fx->remote.self, NULL, false, on_slot, &s, &err), 0);
  fx->remote.vt->free(fx->remote.self);
  fx->remote.vt = NULL;
  assert_int_equal(s.done, 0); /* never from inside free */
  run_until(fx, &s.done, 1);
  assert_int_equal(s.err.code, IK_ECANCELED);
}

static void a_call_waiting_for_the_handshake_can_be_cancelled(void **state) {
  fixture_t *fx = *state;
  serve(fx, &ik_rpc_instance_iface, &fx->native);
  ik_rpc_client_t *c;
  ik_err_t err = {0};
  assert_int_equal(ik_rpc_client_open(fx->http, fx->plugins, "instance-file", 0, &c, &err), 0);
  slot_t a = {0}, b = {0};
  ik_rpc_pending_t *pa;
  assert_int_equal(ik_rpc_call(c, "Instance", "0.6.1", "Instance.DescribeInstances", NULL, on_slot, &a, &pa, &err), 0);
  assert_int_equal(ik_rpc_call(c, "Instance", "0.6.1", "Instance.DescribeInstances", NULL, on_slot, &b, NULL, &err), 0);
  ik_rpc_cancel(pa);
  assert_int_equal(a.done, 0);
  run_until(fx, &b.done, 1);
  run_until(fx, &a.done, 1);
  assert_int_equal(a.err.code, IK_ECANCELED);
  assert_int_equal(b.err.code, 0);
  slot_clear(&a);
  slot_clear(&b);
  ik_rpc_client_free(c);
}

/* A raw call: the error object of an unknown method, and a method error. */
static void raw_calls_map_json_rpc_errors(void **state) {
  fixture_t *fx = *state;
  serve(fx, &ik_rpc_instance_iface, &fx->native);
  ik_rpc_client_t *c;
  ik_err_t err = {0};
  assert_int_equal(ik_rpc_client_open(fx->http, fx->plugins, "instance-file", 0, &c, &err), 0);
  slot_t s = {0};
  CALL(fx, &s, ik_rpc_call(c, NULL, NULL, "Instance.NoSuch", NULL, on_slot, &s, NULL, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  json_t *bad = json_pack("{s:i}", "Spec", 3);
  CALL(fx, &s, ik_rpc_call(c, NULL, NULL, "Instance.Provision", bad, on_slot, &s, NULL, &e_));
  assert_int_equal(s.err.code, IK_EINVAL);
  assert_non_null(strstr(s.err.msg, "params.Spec"));
  CALL(fx, &s, ik_rpc_call(c, NULL, NULL, "Handshake.Hello", NULL, on_slot, &s, NULL, &e_));
  assert_non_null(json_object_get(json_object_get(s.result, "Objects"), "Instance/0.6.1"));
  slot_clear(&s);
  json_decref(bad);
  ik_rpc_client_free(c);
}

/* --- addresses and durations --------------------------------------------- */

static void address_forms_are_infrakits(void **state) {
  fixture_t *fx = *state;
  static const struct {
    const char *in, *out;
    int rc;
  } cases[] = {
      {"/tmp/x/plugins/a", "unix:///tmp/x/plugins/a", 0},
      {"unix:///tmp/a", "unix:///tmp/a", 0},
      {"file:///tmp/a", "unix:///tmp/a", 0},
      {"tcp://127.0.0.1:24864", "tcp://127.0.0.1:24864", 0},
      {"http://127.0.0.1:1/x", "http://127.0.0.1:1/x", 0},
      {"", NULL, IK_EINVAL},
      {"ftp://h/", NULL, IK_EINVAL},
      {"/nonexistent/x.listen", NULL, IK_ENOTFOUND},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_rpc_client_t *c = NULL;
    ik_err_t err = {0};
    int rc = ik_rpc_client_new(fx->http, cases[i].in, 0, &c, &err);
    assert_int_equal(rc, cases[i].rc);
    if (rc == 0) {
      assert_string_equal(ik_rpc_client_address(c), cases[i].out);
      ik_rpc_client_free(c);
    }
  }
}

static void go_durations_parse(void **state) {
  (void)state;
  static const struct {
    const char *in;
    uint64_t ms;
    int rc;
  } cases[] = {
      {"15s", 15000, 0},
      {"1m30s", 90000, 0},
      {"500ms", 500, 0},
      {"1.5s", 1500, 0},
      {"2h", 7200000, 0},
      {"0", 0, 0},
      {"", 0, IK_EINVAL},
      {"10", 0, IK_EINVAL},
      {"-1s", 0, IK_EINVAL},
      {"5x", 0, IK_EINVAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t ms = 12345;
    assert_int_equal(ik_parse_go_duration(cases[i].in, &ms), cases[i].rc);
    if (cases[i].rc == 0) assert_int_equal(ms, cases[i].ms);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(remote_plugin_keeps_the_native_contract, setup, teardown),
      cmocka_unit_test_setup_teardown(a_sub_type_is_sent_as_type, setup, teardown),
      cmocka_unit_test_setup_teardown(an_old_interface_version_is_refused_like_infrakit, setup, teardown),
      cmocka_unit_test_setup_teardown(a_missing_interface_is_refused_like_infrakit, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_first_calls_share_one_handshake, setup, teardown),
      cmocka_unit_test_setup_teardown(a_missing_plugin_is_not_found_by_name, setup, teardown),
      cmocka_unit_test_setup_teardown(a_stale_socket_fails_the_call_with_connection_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(a_listen_file_with_a_tcp_url_is_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(freeing_the_plugin_cancels_calls_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(a_call_waiting_for_the_handshake_can_be_cancelled, setup, teardown),
      cmocka_unit_test_setup_teardown(raw_calls_map_json_rpc_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(address_forms_are_infrakits, setup, teardown),
      cmocka_unit_test_setup_teardown(go_durations_parse, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
