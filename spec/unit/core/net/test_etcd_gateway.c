/* net/client/etcd_gateway: each call's timeout. The "member" is a TCP
 * socket that listens and never accepts: the kernel completes the
 * connection, the request goes out, no answer ever comes, so every call
 * ends with the HTTP client's "timed out after N ms", N the timeout the
 * gateway gave that call. (The etcd calls themselves are exercised against
 * a real etcd in engine/test_store_etcd.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/mem.h"
#include "loop/loop.h"
#include "net/client/etcd_gateway.h"
#include "spi_slot.h"

/* A listening socket on 127.0.0.1 that never accepts; its port in *port. */
static int silent_member(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 8), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* POST path through a gateway with opts; returns the error the call ended with. */
static void call_with(ik_loop_t *loop, ik_http_client_t *http, const char *endpoint,
                      const ik_etcd_gateway_opts_t *opts, const char *path, ik_err_t *out) {
  ik_etcd_gateway_t gw;
  ik_err_t err = {0};
  assert_int_equal(ik_etcd_gateway_new(http, endpoint, opts, &gw, &err), 0);
  slot_t s = {0};
  json_t *body = json_pack("{s:s}", "ID", "1");
  assert_int_equal(gw.vt->call(gw.self, path, body, on_slot, &s, &err), 0);
  json_decref(body);
  while (s.done == 0) uv_run(&loop->uv, UV_RUN_ONCE);
  assert_int_equal(s.done, 1);
  ik_etcd_gateway_free(&gw);
  *out = s.err;
  slot_clear(&s);
}

static void keepalives_give_up_sooner_than_other_calls(void **state) {
  (void)state;
  ik_loop_t loop;
  ik_err_t err = {0};
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  ik_http_client_t *http = NULL;
  assert_int_equal(ik_http_client_new(&loop, &http, &err), 0);
  int port = 0;
  int fd = silent_member(&port);
  char endpoint[64];
  snprintf(endpoint, sizeof endpoint, "127.0.0.1:%d", port);

  static const struct {
    ik_etcd_gateway_opts_t opts;
    const char *path;
    const char *want;
  } cases[] = {
      {{.timeout_ms = 600, .keepalive_timeout_ms = 100}, "/v3/lease/keepalive", "timed out after 100 ms"},
      {{.timeout_ms = 600, .keepalive_timeout_ms = 100}, "/v3/kv/txn", "timed out after 600 ms"},
      {{.timeout_ms = 300}, "/v3/lease/keepalive", "timed out after 300 ms"},                               /* keepalive defaults to timeout */
      {{.timeout_ms = 300, .keepalive_timeout_ms = 5000}, "/v3/lease/keepalive", "timed out after 300 ms"}, /* capped */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_err_t e = {0};
    call_with(&loop, http, endpoint, &cases[i].opts, cases[i].path, &e);
    assert_int_equal(e.code, IK_ETIMEDOUT);
    if (strstr(e.msg, cases[i].want) == NULL) fail_msg("case %zu: want \"%s\" in \"%s\"", i, cases[i].want, e.msg);
  }

  close(fd);
  ik_http_client_free(http);
  while (ik_loop_run(&loop) != 0) {
  }
  int leaked = -1;
  assert_int_equal(ik_loop_close(&loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(keepalives_give_up_sooner_than_other_calls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
