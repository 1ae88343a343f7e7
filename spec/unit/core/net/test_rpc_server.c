/* core/net/server/rpc_server: JSON-RPC error responses keep their message when
 * what the client sent makes it long. A raw client on the same loop sends
 * one request and collects the response until the server closes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "net/server/rpc_instance.h"
#include "net/server/rpc_server.h"

typedef struct client {
  uv_pipe_t pipe;
  uv_connect_t connect;
  uv_write_t write;
  ik_buf_t send, got;
  bool eof;
} client_t;

static void on_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  static char space[65536];
  *buf = uv_buf_init(space, sizeof space);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  client_t *c = s->data;
  if (n > 0) ik_buf_append(&c->got, buf->base, (size_t)n);
  if (n < 0) {
    c->eof = true;
    uv_close((uv_handle_t *)&c->pipe, NULL);
  }
}

static void on_connected(uv_connect_t *req, int status) {
  client_t *c = req->data;
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
  uv_buf_t b = uv_buf_init(c->send.data, (unsigned)c->send.len);
  uv_write(&c->write, (uv_stream_t *)&c->pipe, &b, 1, NULL);
}

static char tag_metrics[] = "metrics", tag_ui[] = "ui";

/* A route handler for the cases below: answers with the path it was given
 * and the tag it was registered with. */
static void answer_route(ik_http_request_t *req, void *data) {
  char text[256];
  snprintf(text, sizeof text, "%s %s %s", (const char *)data, req->method, req->path);
  ik_http_respond(req, 200, "text/plain", text, strlen(text));
}

/* Send request (a whole HTTP/1.1 message) to a fresh server hosting the
 * instance interface (no method is ever reached: every JSON-RPC case fails
 * in dispatch) and two extra routes: GET /metrics exactly and GET /ui/...
 * by prefix. Returns the whole response, to free. */
static char *exchange(const char *request) {
  ik_loop_t loop;
  ik_err_t err = {0};
  char dir[64], path[96];
  snprintf(dir, sizeof dir, "/tmp/ik-rpc-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/s", dir);
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  ik_rpc_server_t *s = ik_rpc_server_new(&loop, "test");
  static ik_instance_plugin_t unused;
  assert_int_equal(ik_rpc_server_add(s, &ik_rpc_instance_iface, ".", &unused, &err), 0);
  assert_int_equal(ik_rpc_server_route(s, "GET", "/metrics", false, answer_route, tag_metrics, &err), 0);
  assert_int_equal(ik_rpc_server_route(s, "GET", "/ui/", true, answer_route, tag_ui, &err), 0);
  ik_http_server_opts_t opts = {.unix_path = path};
  assert_int_equal(ik_rpc_server_listen(s, &opts, &err), 0);

  client_t c = {0};
  ik_buf_puts(&c.send, request);
  uv_pipe_init(&loop.uv, &c.pipe, 0);
  c.pipe.data = c.connect.data = &c;
  uv_pipe_connect(&c.connect, &c.pipe, path, on_connected);
  for (int i = 0; i < 100000 && !c.eof; i++) uv_run(&loop.uv, UV_RUN_ONCE);
  assert_true(c.eof);

  ik_buf_putc(&c.got, '\0');
  ik_buf_free(&c.send);
  ik_rpc_server_free(s);
  ik_loop_run(&loop);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  unlink(path);
  rmdir(dir);
  return ik_buf_steal(&c.got, NULL);
}

/* POST body as JSON-RPC and return the decoded response. */
static json_t *call(const char *body) {
  char *request = ik_sprintf("POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nConnection: close\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             strlen(body), body);
  char *got = exchange(request);
  const char *sep = strstr(got, "\r\n\r\n");
  assert_non_null(sep);
  json_error_t je;
  json_t *v = json_loads(sep + 4, 0, &je);
  if (v == NULL) fail_msg("response body is not JSON (%s): %s", je.text, sep + 4);
  ik_free(got);
  ik_free(request);
  return v;
}

static char *repeat(const char *pad, const char *unit, int n) {
  ik_buf_t b = {0};
  ik_buf_puts(&b, pad);
  for (int i = 0; i < n; i++) ik_buf_puts(&b, unit);
  return ik_buf_steal(&b, NULL);
}

/* Messages are formatted into fixed-size buffers; a client-chosen Type or
 * method made of multi-byte characters used to be cut inside a character,
 * jansson refused the invalid UTF-8 and the error went out without its
 * message (found by spec/fuzz). The message must be there, a prefix of the
 * full text, cut on a character boundary. */
static void a_long_multibyte_message_is_cut_on_a_character(void **state) {
  static const struct {
    const char *method_prefix, *type_pad, *unit;
    int code;
    const char *message_prefix;
  } cases[] = {
      {"Instance.Validate", "", "\xc3\xa9", IK_RPC_SERVER_ERROR, "no-plugin:"},         /* é */
      {"Instance.Validate", "", "\xf0\x9f\x98\x80", IK_RPC_SERVER_ERROR, "no-plugin:"}, /* 😀 */
      {"Instance.Validate", "aa", "\xf0\x9f\x98\x80", IK_RPC_SERVER_ERROR, "no-plugin:"},
      {"Instance.Validate", "aaa", "\xf0\x9f\x98\x80", IK_RPC_SERVER_ERROR, "no-plugin:"},
      {"Instance.", NULL, "\xe2\x82\xac", IK_RPC_METHOD_NOT_FOUND, "method not found: Instance."}, /* € */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text = repeat(cases[i].type_pad ? cases[i].type_pad : "", cases[i].unit, 300);
    char *body, *full;
    if (cases[i].type_pad) {
      body = ik_sprintf("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":{\"Type\":\"%s\"},\"id\":1}",
                        cases[i].method_prefix, text);
      full = ik_sprintf("%s%s", cases[i].message_prefix, text);
    } else {
      body = ik_sprintf("{\"jsonrpc\":\"2.0\",\"method\":\"%s%s\",\"params\":{},\"id\":1}", cases[i].method_prefix,
                        text);
      full = ik_sprintf("%s%s", cases[i].message_prefix, text);
    }
    json_t *r = call(body);
    json_t *e = json_object_get(r, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), cases[i].code);
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (msg == NULL) fail_msg("case %zu: the error has no message", i);
    assert_true(strlen(msg) > 250); /* cut, not emptied */
    assert_int_equal(strncmp(full, msg, strlen(msg)), 0);
    json_decref(r);
    ik_free(body);
    ik_free(full);
    ik_free(text);
  }
}

/* Extra routes (ik_rpc_server_route) get their method and path, exact or
 * by prefix; HEAD reaches a GET route; anything else is still 404. */
static void extra_routes_are_matched_by_method_and_path(void **state) {
  static const struct {
    const char *request_line, *status, *body;
  } cases[] = {
      {"GET /metrics HTTP/1.1", "HTTP/1.1 200 ", "metrics GET /metrics"},
      {"GET /metrics?x=1 HTTP/1.1", "HTTP/1.1 200 ", "metrics GET /metrics"},
      {"GET /metricsz HTTP/1.1", "HTTP/1.1 404 ", "404 page not found\n"},
      {"POST /metrics HTTP/1.1", "HTTP/1.1 404 ", "404 page not found\n"},
      {"GET /ui/ HTTP/1.1", "HTTP/1.1 200 ", "ui GET /ui/"},
      {"GET /ui/app.js HTTP/1.1", "HTTP/1.1 200 ", "ui GET /ui/app.js"},
      {"HEAD /ui/app.js HTTP/1.1", "HTTP/1.1 200 ", NULL},
      {"GET /u HTTP/1.1", "HTTP/1.1 404 ", "404 page not found\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *request = ik_sprintf("%s\r\nHost: h\r\nConnection: close\r\n\r\n", cases[i].request_line);
    char *got = exchange(request);
    if (strncmp(got, cases[i].status, strlen(cases[i].status)) != 0) fail_msg("%s: got %s", cases[i].request_line, got);
    const char *body = strstr(got, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, cases[i].body ? cases[i].body : "");
    ik_free(got);
    ik_free(request);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_long_multibyte_message_is_cut_on_a_character),
      cmocka_unit_test(extra_routes_are_matched_by_method_and_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
