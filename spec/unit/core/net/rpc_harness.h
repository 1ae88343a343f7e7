/* Shared by the rpc_* unit tests (header only, included once per test):
 * a real rpc_server on a unix socket in a temp dir, a raw HTTP client that
 * sends one request per connection and returns the response body byte for
 * byte, and the parts of an SPI test double (record the call, answer a
 * canned result later from the loop, or refuse it now). */
#ifndef IK_SPEC_RPC_HARNESS_H
#define IK_SPEC_RPC_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "net/server/rpc_server.h"
#include "spi/spi.h"

typedef struct harness {
  ik_loop_t loop;
  char dir[64], sock[96];
  ik_rpc_server_t *server;
  uv_timer_t guard; /* a test that hangs fails instead */
  bool expired;
} harness_t;

static void on_guard(uv_timer_t *t) { ((harness_t *)t->data)->expired = true; }

/* A loop and a server named name, not listening yet: add objects, then
 * harness_listen(). */
static void harness_start(harness_t *h, const char *name) {
  ik_err_t err = {0};
  memset(h, 0, sizeof *h);
  snprintf(h->dir, sizeof h->dir, "/tmp/ik-rpc-XXXXXX");
  assert_non_null(mkdtemp(h->dir));
  snprintf(h->sock, sizeof h->sock, "%s/%s", h->dir, name);
  assert_int_equal(ik_loop_init(&h->loop, &err), 0);
  uv_timer_init(&h->loop.uv, &h->guard);
  h->guard.data = h;
  uv_timer_start(&h->guard, on_guard, 10000, 0);
  uv_unref((uv_handle_t *)&h->guard);
  h->server = ik_rpc_server_new(&h->loop, name);
}

static void harness_add(harness_t *h, const ik_rpc_iface_t *iface, const char *obj_name, void *obj) {
  ik_err_t err = {0};
  assert_int_equal(ik_rpc_server_add(h->server, iface, obj_name, obj, &err), 0);
}

static void harness_listen(harness_t *h) {
  ik_err_t err = {0};
  ik_http_server_opts_t opts = {.unix_path = h->sock};
  if (ik_rpc_server_listen(h->server, &opts, &err) < 0) fail_msg("listen: %s", err.msg);
}

/* Stop the server, close the loop, assert nothing leaked. */
static void harness_stop(harness_t *h) {
  ik_rpc_server_free(h->server);
  uv_close((uv_handle_t *)&h->guard, NULL);
  ik_loop_run(&h->loop);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&h->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  unlink(h->sock);
  rmdir(h->dir);
}

/* --- a raw client: one request, read to EOF ------------------------------ */

typedef struct raw_client {
  uv_pipe_t pipe;
  uv_connect_t connect;
  uv_write_t write;
  char *send;
  ik_buf_t got;
  bool done;
} raw_client_t;

static void raw_alloc(uv_handle_t *hd, size_t n, uv_buf_t *buf) {
  static char space[65536];
  *buf = uv_buf_init(space, sizeof space);
}

static void raw_closed(uv_handle_t *hd) { ((raw_client_t *)hd->data)->done = true; }

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  raw_client_t *c = s->data;
  if (n > 0) ik_buf_append(&c->got, buf->base, (size_t)n);
  if (n < 0) uv_close((uv_handle_t *)&c->pipe, raw_closed);
}

static void raw_written(uv_write_t *w, int status) { assert_int_equal(status, 0); }

static void raw_connected(uv_connect_t *req, int status) {
  raw_client_t *c = req->data;
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&c->pipe, raw_alloc, raw_read);
  uv_buf_t b = uv_buf_init(c->send, (unsigned)strlen(c->send));
  uv_write(&c->write, (uv_stream_t *)&c->pipe, &b, 1, raw_written);
}

/* Send request (a whole HTTP request) and return the response body (caller
 * frees), asserting status 200 and a Content-Length that matches. */
static char *harness_exchange(harness_t *h, const char *request) {
  raw_client_t c;
  memset(&c, 0, sizeof c);
  c.send = ik_strdup(request);
  uv_pipe_init(&h->loop.uv, &c.pipe, 0);
  c.pipe.data = &c;
  c.connect.data = &c;
  uv_pipe_connect(&c.connect, &c.pipe, h->sock, raw_connected);
  while (!c.done && !h->expired) uv_run(&h->loop.uv, UV_RUN_ONCE);
  assert_false(h->expired);
  ik_buf_append(&c.got, "", 1);
  const char *out = c.got.data;
  if (strncmp(out, "HTTP/1.1 200 OK\r\n", 17) != 0) fail_msg("response: %s", out);
  const char *body = strstr(out, "\r\n\r\n");
  assert_non_null(body);
  body += 4;
  const char *cl = strstr(out, "Content-Length: ");
  assert_non_null(cl);
  assert_int_equal(strtoul(cl + 16, NULL, 10), strlen(body));
  char *copy = ik_strdup(body);
  ik_buf_free(&c.got);
  ik_free(c.send);
  return copy;
}

/* POST body as a JSON-RPC request; returns the response body. */
static char *harness_post(harness_t *h, const char *body) {
  char *req = ik_sprintf("POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s",
                         strlen(body), body);
  char *out = harness_exchange(h, req);
  ik_free(req);
  return out;
}

static char *harness_get(harness_t *h, const char *path) {
  char *req = ik_sprintf("GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", path);
  char *out = harness_exchange(h, req);
  ik_free(req);
  return out;
}

/* POST request and assert the response body is exactly want. */
static void harness_expect(harness_t *h, const char *request, const char *want) {
  char *got = harness_post(h, request);
  if (strcmp(got, want) != 0) fail_msg("request %s\n  got  %s  want %s", request, got, want);
  ik_free(got);
}

/* The JSON-RPC error body InfraKit's codec writes for id 1. */
static char *error_body(int code, const char *message) {
  json_t *e = json_pack("{s:s, s:{s:i, s:s, s:n}, s:i}", "jsonrpc", "2.0", "error", "code", code, "message",
                        message, "data", "id", 1);
  char *text = ik_json_dump_go(e, true, NULL);
  json_decref(e);
  return text;
}

/* --- an SPI test double ---------------------------------------------------- */

typedef struct spi_double {
  ik_loop_t *loop;
  json_t *result; /* the canned answer (owned); NULL answers null */
  ik_err_t fail;  /* fail.code != 0: answer this error instead, later */
  int refuse;     /* != 0: return this code at once, with fail's message */
  int calls;
  char last[8192]; /* the last call: "op [args as compact JSON]" */
} spi_double_t;

/* Set the canned answer from JSON text (NULL: null) and forget past calls. */
static void double_reset(spi_double_t *d, const char *result) {
  json_decref(d->result);
  d->result = result ? json_loads(result, JSON_DECODE_ANY, NULL) : NULL;
  if (result) assert_non_null(d->result);
  memset(&d->fail, 0, sizeof d->fail);
  d->refuse = 0;
  d->calls = 0;
  d->last[0] = '\0';
}

typedef struct later {
  ik_spi_cb cb;
  void *data;
  json_t *result;
  ik_err_t err;
} later_t;

static void run_later(void *arg) {
  later_t *l = arg;
  l->cb(l->err.code ? NULL : (l->result ? l->result : json_null()), l->err.code ? &l->err : NULL, l->data);
  json_decref(l->result);
  ik_free(l);
}

/* Record op and args (stolen), then answer as the double is set up to:
 * later through the loop (libuv's rule), or refuse now. */
static int double_answer(spi_double_t *d, const char *op, json_t *args, ik_spi_cb cb, void *data, ik_err_t *err) {
  char *text = ik_json_dump_go(args, false, NULL);
  snprintf(d->last, sizeof d->last, "%s %s", op, text);
  free(text);
  json_decref(args);
  d->calls++;
  if (d->refuse) return ik_err_set(err, d->refuse, "%s", d->fail.msg);
  later_t *l = IK_NEW(later_t);
  l->cb = cb;
  l->data = data;
  l->result = d->result ? json_incref(d->result) : NULL;
  l->err = d->fail;
  ik_loop_defer(d->loop, run_later, l);
  return 0;
}

static inline json_t *or_null(json_t *v) { return v ? v : json_null(); }

#endif
