/* core/net/server/http_server: ordered pipelining with late responses, limits,
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
#include "net/client/http_client.h"
#include "net/server/http_server.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64], path[96];
  ik_http_server_t *server;
  ik_http_request_t *held[8]; /* requests answered later */
  int nheld;
  bool hold; /* handler keeps requests instead of answering */
  int handled;
  bool stream;             /* handler answers with a stream (st) */
  ik_http_stream_t *st;    /* NULL once closed */
  int stream_closed;       /* on_closed calls */
  char last_id[64];        /* the request's Last-Event-ID, or "" */
  char kind[64], group[8]; /* its ?kind= and ?group= ("-" when absent) */
} fixture_t;

static void on_stream_closed(ik_http_stream_t *st, void *data) {
  fixture_t *f = data;
  assert_ptr_equal(st, f->st);
  f->st = NULL;
  f->stream_closed++;
}

static void handler(ik_http_request_t *req, void *data) {
  fixture_t *f = data;
  f->handled++;
  if (f->stream) {
    const char *id = ik_http_request_header(req, "last-event-id");
    snprintf(f->last_id, sizeof f->last_id, "%s", id ? id : "");
    if (!ik_http_query_param(req->query, "kind", f->kind, sizeof f->kind)) snprintf(f->kind, sizeof f->kind, "-");
    if (!ik_http_query_param(req->query, "group", f->group, sizeof f->group)) snprintf(f->group, sizeof f->group, "-");
    f->st = ik_http_stream_start(req, 200, "text/event-stream", "Cache-Control: no-cache\r\n", on_stream_closed, f);
    return;
  }
  if (f->hold && f->nheld < 8) {
    f->held[f->nheld++] = req;
    return;
  }
  if (strcmp(req->path, "/with-headers") == 0) {
    ik_http_respond_headers(req, 200, "text/html", "Cache-Control: no-cache\r\nX-Frame: none\r\n", "hi", 2);
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
  union {
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  };
  uv_connect_t connect;
  uv_write_t write;
  const char *send;
  ik_buf_t got;
  bool eof;
  bool hangup_after_write;
  bool no_read; /* never reads: a client that does not keep up */
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
  if (!c->no_read) uv_read_start((uv_stream_t *)&c->pipe, on_client_alloc, on_client_read);
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

static void client_start_tcp(fixture_t *f, client_t *c, const char *send) {
  memset(c, 0, sizeof *c);
  c->send = send;
  uv_tcp_init(&f->loop.uv, &c->tcp);
  c->tcp.data = c;
  c->connect.data = c;
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", ik_http_server_port(f->server), &sa);
  uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&sa, on_client_connected);
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

/* ik_http_respond_headers: the caller's header lines go out after
 * Content-Type, before Content-Length, as given. */
static void a_response_carries_the_extra_headers_given(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  client_t c;
  client_start(&f, &c, "GET /with-headers HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  run_until(&f, &c.eof);
  const char *out = got(&c);
  assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
  assert_non_null(
      strstr(out, "Content-Type: text/html\r\nCache-Control: no-cache\r\nX-Frame: none\r\nContent-Length: 2\r\n"));
  assert_non_null(strstr(out, "\r\n\r\nhi"));
  ik_buf_free(&c.got);
  stop(&f);
}

/* On TCP with check_host, a request must name the listener (its address
 * or localhost, and its port if any) in exactly one Host header: a page
 * reaching the port through the attacker's own DNS name is refused. */
static void tcp_requests_must_name_the_listener_in_host(void **state) {
  fixture_t f;
  ik_err_t err = {0};
  memset(&f, 0, sizeof f);
  assert_int_equal(ik_loop_init(&f.loop, &err), 0);
  ik_http_server_opts_t o = {.tcp = "127.0.0.1:0", .check_host = true};
  assert_int_equal(ik_http_server_start(&f.loop, &o, handler, &f, &f.server, &err), 0);
  int port = ik_http_server_port(f.server);
  static const struct {
    const char *headers; /* %d is the port */
    const char *want;
  } cases[] = {
      {"Host: 127.0.0.1:%d\r\n", "HTTP/1.1 200 "},
      {"Host: localhost:%d\r\n", "HTTP/1.1 200 "},
      {"Host: LOCALHOST\r\n", "HTTP/1.1 200 "},
      {"Host: [::1]:%d\r\n", "HTTP/1.1 200 "},
      {"Host: evil.example:%d\r\n", "HTTP/1.1 421 "},
      {"Host: 127.0.0.1.nip.io:%d\r\n", "HTTP/1.1 421 "},
      {"Host: 10.1.2.3:%d\r\n", "HTTP/1.1 421 "},
      {"Host: 127.0.0.1:1%d\r\n", "HTTP/1.1 421 "},
      {"Host: 127.0.0.1:%d\r\nHost: evil.example\r\n", "HTTP/1.1 400 "},
      {"X-No-Host: %d\r\n", "HTTP/1.1 400 "},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char headers[200], req[300];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(headers, sizeof headers, cases[i].headers, port);
#pragma GCC diagnostic pop
    snprintf(req, sizeof req, "GET /x HTTP/1.0\r\n%s\r\n", headers);
    client_t c;
    client_start_tcp(&f, &c, req);
    run_until(&f, &c.eof);
    if (strncmp(got(&c), cases[i].want, strlen(cases[i].want)) != 0)
      fail_msg("%s: got \"%.80s\"", headers, got(&c));
    if (strstr(cases[i].want, "421")) assert_non_null(strstr(got(&c), "is not this server's address"));
    ik_buf_free(&c.got);
  }
  assert_int_equal(f.handled, 4);
  ik_http_server_close(f.server);
  ik_loop_run(&f.loop);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&f.loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

/* TLS set-up errors name the flag and the file. */
static void tls_files_that_do_not_load_are_named(void **state) {
  ik_loop_t loop;
  ik_err_t err = {0};
  ik_http_server_t *s = NULL;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  ik_http_server_opts_t o = {.tcp = "127.0.0.1:0", .tls_cert = "/nonexistent/cert.pem", .tls_key = "/nonexistent/key.pem", .tls_client_ca = "/nonexistent/ca.pem"};
  assert_int_equal(ik_http_server_start(&loop, &o, handler, NULL, &s, &err), IK_EINVAL);
  assert_non_null(strstr(err.msg, "--tls-cert /nonexistent/cert.pem"));
  o.tls_key = NULL;
  assert_int_equal(ik_http_server_start(&loop, &o, handler, NULL, &s, &err), IK_EINVAL);
  assert_non_null(strstr(err.msg, "--tls-key"));
  ik_http_server_opts_t u = {.unix_path = "/tmp/x", .tls_cert = "/nonexistent/cert.pem"};
  assert_int_equal(ik_http_server_start(&loop, &u, handler, NULL, &s, &err), IK_EINVAL);
  ik_loop_run(&loop);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

/* --- TLS -------------------------------------------------------------------- */

/* A CA, a server certificate for 127.0.0.1 and a client certificate it
 * signed, and a client certificate from another CA, made in dir with the
 * openssl CLI. */
static void make_certs(const char *dir) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "set -e; cd %s; K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';"
           "for ca in ca otherca; do openssl req -x509 $K -keyout $ca.key -out $ca.pem -days 2 -subj /CN=$ca; done;"
           "printf 'subjectAltName=IP:127.0.0.1\\n' > server.ext;"
           "printf 'extendedKeyUsage=clientAuth\\n' > client.ext; cp client.ext stranger.ext;"
           "for x in server:ca client:ca stranger:otherca; do n=${x%%:*}; ca=${x#*:};"
           " openssl req $K -keyout $n.key -out $n.csr -subj /CN=$n;"
           " openssl x509 -req -in $n.csr -CA $ca.pem -CAkey $ca.key -CAcreateserial -out $n.pem -days 2 -extfile $n.ext;"
           "done",
           dir);
  char full[4200];
  snprintf(full, sizeof full, "(%s) >/dev/null 2>&1", cmd);
  assert_int_equal(system(full), 0);
}

typedef struct tls_call {
  fixture_t *f;
  bool done;
  long status;
  int code;
  char body[256];
  char err[512];
} tls_call_t;

static void on_tls_call(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  tls_call_t *t = data;
  t->done = true;
  if (err) {
    t->code = err->code;
    snprintf(t->err, sizeof t->err, "%s", err->msg);
  } else {
    t->status = resp->status;
    snprintf(t->body, sizeof t->body, "%.*s", (int)resp->body.len, resp->body.data ? resp->body.data : "");
  }
  uv_stop(&t->f->loop.uv);
}

/* One HTTPS request from our own client; who is NULL (no certificate),
 * "client" or "stranger". */
static void tls_request(fixture_t *f, ik_http_client_t *http, const char *dir, const char *who, tls_call_t *t) {
  char url[128], ca[128], cert[128], key[128];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/x", ik_http_server_port(f->server));
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  snprintf(cert, sizeof cert, "%s/%s.pem", dir, who ? who : "");
  snprintf(key, sizeof key, "%s/%s.key", dir, who ? who : "");
  ik_http_req_t r = {.method = "GET", .url = url, .tls_ca = ca, .tls_cert = who ? cert : NULL, .tls_key = who ? key : NULL, .timeout_ms = 10000};
  memset(t, 0, sizeof *t);
  t->f = f;
  ik_err_t err = {0};
  assert_int_equal(ik_http_request(http, &r, on_tls_call, t, NULL, &err), 0);
  run_until(f, &t->done);
}

/* A TLS listener serves only clients with a certificate from its CA: one
 * without a certificate and one from another CA fail the handshake; the
 * right one is served, several requests on one connection. A client that
 * never finishes the handshake is cut off at the request deadline. */
static void a_tls_listener_serves_only_clients_with_a_certificate_from_its_ca(void **state) {
  fixture_t f;
  ik_err_t err = {0};
  memset(&f, 0, sizeof f);
  snprintf(f.dir, sizeof f.dir, "/tmp/ik-tls-XXXXXX");
  assert_non_null(mkdtemp(f.dir));
  make_certs(f.dir);
  char cert[128], key[128], ca[128];
  snprintf(cert, sizeof cert, "%s/server.pem", f.dir);
  snprintf(key, sizeof key, "%s/server.key", f.dir);
  snprintf(ca, sizeof ca, "%s/ca.pem", f.dir);
  assert_int_equal(ik_loop_init(&f.loop, &err), 0);
  ik_http_server_opts_t o = {.tcp = "127.0.0.1:0", .tls_cert = cert, .tls_key = key, .tls_client_ca = ca, .check_host = true, .request_timeout_ms = 300};
  if (ik_http_server_start(&f.loop, &o, handler, &f, &f.server, &err) < 0) fail_msg("%s", err.msg);
  ik_http_client_t *http = NULL;
  assert_int_equal(ik_http_client_new(&f.loop, &http, &err), 0);

  tls_call_t t;
  tls_request(&f, http, f.dir, NULL, &t);
  assert_int_equal(t.code, IK_EIO);
  tls_request(&f, http, f.dir, "stranger", &t);
  assert_int_equal(t.code, IK_EIO);
  assert_int_equal(f.handled, 0);
  for (int i = 0; i < 3; i++) {
    tls_request(&f, http, f.dir, "client", &t);
    if (t.code) fail_msg("%s", t.err);
    assert_int_equal(t.status, 200);
    assert_string_equal(t.body, "GET /x []");
  }
  assert_int_equal(f.handled, 3);
  assert_int_equal(ik_http_server_stats(f.server).accepted, 3); /* the last three shared one connection */

  /* Half a TLS record, then nothing: closed at the deadline. */
  client_t c;
  client_start_tcp(&f, &c, "\x16\x03\x01");
  run_until(&f, &c.eof);
  assert_int_equal(c.got.len, 0);
  assert_int_equal(ik_http_server_stats(f.server).timeouts, 1);
  ik_buf_free(&c.got);

  ik_http_client_free(http);
  ik_http_server_close(f.server);
  ik_loop_run(&f.loop);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&f.loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  char rm[128];
  snprintf(rm, sizeof rm, "rm -rf %s", f.dir);
  assert_int_equal(system(rm), 0);
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

/* --- streamed responses --------------------------------------------------- */

static void on_wait_timer(uv_timer_t *t) {
  bool *fired = t->data;
  *fired = true;
}

/* Turn the loop for ms (the listener keeps it alive). */
static void run_for(fixture_t *f, uint64_t ms) {
  uv_timer_t t;
  bool fired = false;
  uv_timer_init(&f->loop.uv, &t);
  t.data = &fired;
  uv_timer_start(&t, on_wait_timer, ms, 0);
  run_until(f, &fired);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&f->loop.uv, UV_RUN_NOWAIT);
}

/* Headers go out at once (no Content-Length, Connection: close), then each
 * piece as written; the request and idle timeouts do not apply while it
 * streams; the end sends what is queued, then closes, without on_closed.
 * The request's headers (any case) and query parameters (decoded) reach
 * the handler. */
static void a_stream_sends_headers_then_pieces_and_never_times_out(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){.idle_timeout_ms = 30, .request_timeout_ms = 30}), 0);
  f.stream = true;
  client_t c;
  client_start(&f, &c, "GET /events?kind=a%2Cb&group=w+1 HTTP/1.1\r\nHost: h\r\nLAST-EVENT-ID: 41\r\n\r\n");
  for (int i = 0; i < 1000 && f.st == NULL; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  assert_non_null(f.st);
  assert_string_equal(f.last_id, "41");
  assert_string_equal(f.kind, "a,b");
  assert_string_equal(f.group, "w 1");
  assert_int_equal(ik_http_server_stats(f.server).streams, 1);
  assert_int_equal(ik_http_stream_write(f.st, "id: 1\n\n", 7), 0);
  run_for(&f, 100); /* past both timeouts */
  assert_non_null(f.st);
  assert_int_equal(ik_http_stream_write(f.st, "id: 2\n\n", 7), 0);
  run_for(&f, 20);
  const char *text = got(&c);
  assert_non_null(strstr(text, "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(text, "Content-Type: text/event-stream\r\n"));
  assert_non_null(strstr(text, "Cache-Control: no-cache\r\nConnection: close\r\n\r\nid: 1\n\nid: 2\n\n"));
  assert_null(strstr(text, "Content-Length"));
  assert_false(c.eof);
  ik_http_stream_end(f.st);
  f.st = NULL;
  run_until(&f, &c.eof);
  assert_int_equal(f.stream_closed, 0);
  assert_int_equal(ik_http_server_stats(f.server).timeouts, 0);
  assert_int_equal(ik_http_server_stats(f.server).streams, 0);
  ik_buf_free(&c.got);
  stop(&f);
}

/* A client that hangs up ends its stream: on_closed, once. */
static void a_stream_ends_when_its_client_goes(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  f.stream = true;
  client_t c;
  client_start(&f, &c, "GET /events HTTP/1.1\r\nHost: h\r\n\r\n");
  for (int i = 0; i < 1000 && f.st == NULL; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  assert_non_null(f.st);
  assert_string_equal(f.last_id, "");
  assert_string_equal(f.kind, "-");
  uv_close((uv_handle_t *)&c.pipe, NULL);
  for (int i = 0; i < 1000 && f.stream_closed == 0; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  assert_int_equal(f.stream_closed, 1);
  assert_null(f.st);
  ik_buf_free(&c.got);
  stop(&f);
}

/* A client that does not read is closed once max_stream_backlog bytes wait
 * for it: the write that would pass the limit fails and on_closed runs. */
static void a_stream_client_that_does_not_keep_up_is_dropped(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){.max_stream_backlog = 64 * 1024}), 0);
  f.stream = true;
  client_t c;
  memset(&c, 0, sizeof c);
  c.send = "GET /events HTTP/1.1\r\nHost: h\r\n\r\n";
  c.no_read = true;
  uv_pipe_init(&f.loop.uv, &c.pipe, 0);
  c.pipe.data = &c;
  c.connect.data = &c;
  uv_pipe_connect(&c.connect, &c.pipe, f.path, on_client_connected);
  for (int i = 0; i < 1000 && f.st == NULL; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  assert_non_null(f.st);
  static char piece[8192];
  memset(piece, 'x', sizeof piece);
  int rc = 0, writes = 0;
  while (rc == 0 && writes < 100000) {
    rc = ik_http_stream_write(f.st, piece, sizeof piece);
    writes++;
    uv_run(&f.loop.uv, UV_RUN_NOWAIT);
  }
  assert_int_equal(rc, IK_EIO);
  assert_int_equal(f.stream_closed, 1);
  assert_int_equal(ik_http_server_stats(f.server).dropped, 1);
  uv_close((uv_handle_t *)&c.pipe, NULL);
  stop(&f);
}

/* Closing the server ends every stream (on_closed) and frees everything;
 * a HEAD request gets the headers alone and no stream. */
static void closing_the_server_ends_its_streams(void **state) {
  fixture_t f;
  assert_int_equal(start(&f, (ik_http_server_opts_t){0}), 0);
  f.stream = true;
  client_t head;
  client_start(&f, &head, "HEAD /events HTTP/1.1\r\nHost: h\r\n\r\n");
  run_until(&f, &head.eof);
  assert_int_equal(f.handled, 1);
  assert_null(f.st);
  assert_non_null(strstr(got(&head), "Content-Type: text/event-stream"));
  client_t c;
  client_start(&f, &c, "GET /events HTTP/1.1\r\nHost: h\r\n\r\n");
  for (int i = 0; i < 1000 && f.st == NULL; i++) uv_run(&f.loop.uv, UV_RUN_ONCE);
  assert_non_null(f.st);
  ik_http_server_close(f.server);
  assert_int_equal(f.stream_closed, 1);
  ik_loop_run(&f.loop);
  assert_true(c.eof);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&f.loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  ik_buf_free(&c.got);
  ik_buf_free(&head.got);
  unlink(f.path);
  rmdir(f.dir);
}

int main(void) {

  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pipelined_requests_are_answered_in_order),
      cmocka_unit_test(a_response_carries_the_extra_headers_given),
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
      cmocka_unit_test(tcp_requests_must_name_the_listener_in_host),
      cmocka_unit_test(tls_files_that_do_not_load_are_named),
      cmocka_unit_test(a_tls_listener_serves_only_clients_with_a_certificate_from_its_ca),
      cmocka_unit_test(a_stream_sends_headers_then_pieces_and_never_times_out),
      cmocka_unit_test(a_stream_ends_when_its_client_goes),
      cmocka_unit_test(a_stream_client_that_does_not_keep_up_is_dropped),
      cmocka_unit_test(closing_the_server_ends_its_streams),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
