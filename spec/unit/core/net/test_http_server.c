/* core/net/http_server: ordered pipelining with late responses, limits,
 * timeouts, clients that go away, closing with requests in flight. A raw
 * client on the same loop sends bytes and collects everything until EOF. */
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
#include "base/mem.h"
#include "loop/loop.h"
#include "loop/timer.h"
#include "net/http_server.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64], path[96];
  ik_http_server_t *server;
  ik_http_request_t *held[8]; /* requests answered later */
  int nheld;
  bool hold;                  /* handler keeps requests instead of answering */
  int handled;
} fixture_t;

static void handler(ik_http_request_t *req, void *data) {
  fixture_t *f = data;
  f->handled++;
  if (f->hold && f->nheld < 8) {
    f->held[f->nheld++] = req;
    return;
  }
  char body[128];
  int n = snprintf(body, sizeof body, "%s %s [%.*s]", req->method, req->path, (int)req->body_len, req->body);
  ik_http_respond(req, 200, "text/plain", body, (size_t)n);
}

static int start(fixture_t *f, ik_http_server_opts_t opts) {
  ik_err_t err = {0};
  memset(f, 0, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/ik-http-XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  snprintf(f->path, sizeof f->path, "%s/s", f->dir);
  if (ik_loop_init(&f->loop, &err) < 0) return -1;
  opts.unix_path = f->path;
  if (ik_http_server_start(&f->loop, &opts, handler, f, &f->server, &err) < 0) {
    fprintf(stderr, "%s\n", err.msg);
    return -1;
  }
  return 0;
}

static void stop(fixture_t *f) {
  ik_http_server_close(f->server);
  ik_loop_run(&f->loop);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&f->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  unlink(f->path);
  rmdir(f->dir);
}

/* --- a raw client --------------------------------------------------------- */

typedef struct client {
  uv_pipe_t pipe;
  uv_connect_t connect;
  uv_write_t write;
  const char *send;
  ik_buf_t got;
  bool eof;
  bool hangup_after_write;
} client_t;

static void on_client_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  static char space[65536];
  *buf = uv_buf_init(space, sizeof space);
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  client_t *c = s->data;
  if (n > 0) ik_buf_append(&c->got, buf->base, (size_t)n);
  if (n < 0) {
    c->eof = true;
    uv_close((uv_handle_t *)&c->pipe, NULL);
  }
}

static void on_client_written(uv_write_t *w, int status) {
  client_t *c = w->data;
  if (c->hangup_after_write) uv_close((uv_handle_t *)&c->pipe, NULL);
}

static void on_client_connected(uv_connect_t *req, int status) {
  client_t *c = req->data;
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&c->pipe, on_client_alloc, on_client_read);
  uv_buf_t b = uv_buf_init((char *)(uintptr_t)c->send, (unsigned)strlen(c->send));
  c->write.data = c;
  uv_write(&c->write, (uv_stream_t *)&c->pipe, &b, 1, on_client_written);
}

static void client_start(fixture_t *f, client_t *c, const char *send) {
  memset(c, 0, sizeof *c);
  c->send = send;
  uv_pipe_init(&f->loop.uv, &c->pipe, 0);
  c->pipe.data = c;
  c->connect.data = c;
  uv_pipe_connect(&c->connect, &c->pipe, f->path, on_client_connected);
}

static const char *got(client_t *c) {
  ik_buf_append(&c->got, "", 1);
  c->got.len--;
  return c->got.data;
}

/* Count occurrences of needle in hay. */
static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

/* The listener keeps the loop alive: turn it until the flag is set. */
static void run_until(fixture_t *f, const bool *flag) {
  for (int i = 0; i < 100000 && !*flag; i++) uv_run(&f->loop.uv, UV_RUN_ONCE);
  assert_true(*flag);
}

/* --- tests ---------------------------------------------------------------- */

static void respond_late(void *data) {
  fixture_t *f = data;
  for (int i = 0; i < f->nheld; i++) ik_http_respond(f->held[i], 200, "text/plain", "late", 4);
  f->nheld = 0;
}

static void pipelined_requests_are_answered_in_order(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  client_t c;
  client_start(&f, &c,
               "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n1"
               "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n22\r\n0\r\n\r\n"
               "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  run_until(&f, &c.eof);
  const char *out = got(&c);
  const char *a = strstr(out, "POST /a [1]"), *b = strstr(out, "POST /b [22]"), *cc = strstr(out, "GET /c []");
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(cc);
  assert_true(a < b && b < cc);
  assert_int_equal(count(out, "HTTP/1.1 200 OK\r\n"), 3);
  assert_non_null(strstr(out, "Connection: close\r\n"));
  ik_buf_free(&c.got);
  stop(&f);
}

static void a_late_response_holds_back_the_next_request(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  f.hold = true;
  client_t c;
  client_start(&f, &c,
               "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
               "GET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  for (int i = 0; i < 50 && f.nheld == 0; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  assert_int_equal(f.handled, 1); /* the second waits for the first */
  f.hold = false;
  ik_loop_defer(&f.loop, respond_late, &f);
  run_until(&f, &c.eof);
  assert_int_equal(f.handled, 2);
  const char *out = got(&c);
  assert_true(strstr(out, "late") < strstr(out, "GET /2"));
  ik_buf_free(&c.got);
  stop(&f);
}

static void oversized_headers_get_431_and_close(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){.max_header_bytes = 256}), 0);
  char req[1024];
  snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX-Big: %0600d\r\n\r\n", 0);
  client_t c;
  client_start(&f, &c, req);
  run_until(&f, &c.eof);
  assert_non_null(strstr(got(&c), "HTTP/1.1 431 "));
  assert_true(c.eof);
  assert_int_equal(f.handled, 0);
  ik_buf_free(&c.got);
  stop(&f);
}

static void oversized_body_gets_413_before_it_is_read(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){.max_body_bytes = 10}), 0);
  client_t c;
  client_start(&f, &c, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
  run_until(&f, &c.eof);
  assert_non_null(strstr(got(&c), "HTTP/1.1 413 "));
  assert_int_equal(f.handled, 0);
  ik_buf_free(&c.got);
  stop(&f);
}

static void garbage_gets_400_and_close(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  client_t c;
  client_start(&f, &c, "NOT HTTP AT ALL\r\n\r\n");
  run_until(&f, &c.eof);
  assert_non_null(strstr(got(&c), "HTTP/1.1 400 "));
  ik_buf_free(&c.got);
  stop(&f);
}

static void a_slow_request_gets_408(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){.request_timeout_ms = 50}), 0);
  client_t c;
  client_start(&f, &c, "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly a little");
  run_until(&f, &c.eof);
  assert_non_null(strstr(got(&c), "HTTP/1.1 408 "));
  assert_int_equal(ik_http_server_stats(f.server).timeouts, 1);
  ik_buf_free(&c.got);
  stop(&f);
}

/* A slowloris client: one byte every 10 ms, far inside the 100 ms request
 * timeout between bytes, of a request that would take 3 s to send. The
 * deadline runs from the request's first byte, so the server answers 408
 * while the client is still dribbling. */
typedef struct dribbler {
  client_t *c;
  uv_timer_t timer;
  size_t sent;
  bool connected;
} dribbler_t;

static const char dribble_text[] =
    "POST / HTTP/1.1\r\nHost: h\r\nX-Pad: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "\r\nContent-Length: 0\r\n\r\n";

static void on_dribble(uv_timer_t *t) {
  dribbler_t *d = t->data;
  if (d->c->eof || d->sent + 1 >= sizeof dribble_text) {
    uv_timer_stop(t);
    return;
  }
  uv_buf_t b = uv_buf_init((char *)(uintptr_t)dribble_text + d->sent, 1);
  if (uv_try_write((uv_stream_t *)&d->c->pipe, &b, 1) == 1) d->sent++;
}

static void on_dribbler_connected(uv_connect_t *req, int status) {
  client_t *c = req->data;
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&c->pipe, on_client_alloc, on_client_read);
}

static void a_request_dribbled_byte_by_byte_is_cut_off_at_its_deadline(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){.request_timeout_ms = 100}), 0);
  client_t c;
  memset(&c, 0, sizeof c);
  uv_pipe_init(&f.loop.uv, &c.pipe, 0);
  c.pipe.data = &c;
  c.connect.data = &c;
  uv_pipe_connect(&c.connect, &c.pipe, f.path, on_dribbler_connected);
  dribbler_t d = {.c = &c};
  uv_timer_init(&f.loop.uv, &d.timer);
  d.timer.data = &d;
  uv_timer_start(&d.timer, on_dribble, 10, 10);
  run_until(&f, &c.eof);
  uv_close((uv_handle_t *)&d.timer, NULL);
  assert_non_null(strstr(got(&c), "HTTP/1.1 408 "));
  assert_true(d.sent > 0);
  assert_true(d.sent < sizeof dribble_text - 1); /* cut off mid-request */
  assert_int_equal(ik_http_server_stats(f.server).timeouts, 1);
  assert_int_equal(f.handled, 0);
  ik_buf_free(&c.got);
  stop(&f);
}

static void an_idle_connection_is_closed(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){.idle_timeout_ms = 50}), 0);
  client_t c;
  client_start(&f, &c, "GET /k HTTP/1.1\r\nHost: h\r\n\r\n"); /* keep-alive */
  run_until(&f, &c.eof);
  assert_non_null(strstr(got(&c), "GET /k []"));
  assert_true(c.eof);
  assert_int_equal(ik_http_server_stats(f.server).timeouts, 1);
  ik_buf_free(&c.got);
  stop(&f);
}

static void a_client_gone_before_the_response_is_harmless(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  f.hold = true;
  client_t c;
  client_start(&f, &c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  c.hangup_after_write = true;
  for (int i = 0; i < 50 && f.nheld == 0; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  assert_int_equal(f.nheld, 1);
  for (int i = 0; i < 20; i++) uv_run(&f.loop.uv, UV_RUN_NOWAIT); /* the server sees the hang-up */
  respond_late(&f);
  for (int i = 0; i < 1000 && ik_http_server_stats(f.server).open > 0; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  assert_int_equal(ik_http_server_stats(f.server).open, 0);
  ik_buf_free(&c.got);
  stop(&f);
}

static void closing_with_a_request_in_flight_frees_on_response(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  f.hold = true;
  client_t c;
  client_start(&f, &c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  for (int i = 0; i < 50 && f.nheld == 0; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  ik_http_server_close(f.server);
  ik_loop_run(&f.loop);
  respond_late(&f); /* a no-op write; frees the connection and the server */
  ik_loop_run(&f.loop);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&f.loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  assert_true(c.eof);
  ik_buf_free(&c.got);
  unlink(f.path);
  rmdir(f.dir);
}

/* A HEAD response carries the headers GET would get, Content-Length
 * included, and no body: a body would be read as the next response by a
 * keep-alive client (found by spec/fuzz). */
static void a_head_response_has_no_body(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  client_t c;
  client_start(&f, &c,
               "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"
               "GET /g HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  run_until(&f, &c.eof);
  const char *out = got(&c);
  assert_int_equal(f.handled, 2);
  assert_int_equal(count(out, "HTTP/1.1 200 OK\r\n"), 2);
  /* "HEAD /h []" is 10 bytes; the next response follows the blank line. */
  assert_non_null(strstr(out, "Content-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\n"));
  assert_null(strstr(out, "HEAD /h"));
  assert_non_null(strstr(out, "\r\n\r\nGET /g []"));
  ik_buf_free(&c.got);
  stop(&f);
}

static void bad_listen_addresses_are_named(void **state) {
  ik_loop_t loop;
  ik_err_t err = {0};
  ik_http_server_t *s = NULL;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  const char *bad[] = {"nowhere", "127.0.0.1:99999", "host:80", ":80"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ik_http_server_opts_t o = {.tcp = bad[i]};
    assert_int_equal(ik_http_server_start(&loop, &o, handler, NULL, &s, &err), IK_EINVAL);
    assert_non_null(strstr(err.msg, bad[i]));
  }
  ik_http_server_opts_t o = {.unix_path = "/nonexistent-dir/s"};
  assert_true(ik_http_server_start(&loop, &o, handler, NULL, &s, &err) < 0);
  assert_non_null(strstr(err.msg, "/nonexistent-dir/s"));
  ik_loop_run(&loop);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pipelined_requests_are_answered_in_order),
      cmocka_unit_test(a_late_response_holds_back_the_next_request),
      cmocka_unit_test(oversized_headers_get_431_and_close),
      cmocka_unit_test(oversized_body_gets_413_before_it_is_read),
      cmocka_unit_test(garbage_gets_400_and_close),
      cmocka_unit_test(a_slow_request_gets_408),
      cmocka_unit_test(a_request_dribbled_byte_by_byte_is_cut_off_at_its_deadline),
      cmocka_unit_test(an_idle_connection_is_closed),
      cmocka_unit_test(a_client_gone_before_the_response_is_harmless),
      cmocka_unit_test(closing_with_a_request_in_flight_frees_on_response),
      cmocka_unit_test(a_head_response_has_no_body),
      cmocka_unit_test(bad_listen_addresses_are_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
