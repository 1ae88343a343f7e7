/* core/net/client/http_client: requests over unix sockets and TCP against a tiny
 * libuv HTTP server in this process, keep-alive reuse, concurrency,
 * statuses, timeouts, connect failures, body limits, cancel and free.
 * Every test closes the loop clean. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "net/client/http_client.h"

#define BIG_LEN 3000000

/* The loop under test. Anything a test waits for calls wake(), so that
 * run_until() re-checks its condition at once: libuv polls for I/O after
 * running timers, and a callback run from a timer would otherwise leave it
 * blocked in that poll. */
static uv_loop_t *test_loop;

static void wake(void) { uv_stop(test_loop); }

/* ---- a tiny HTTP/1.1 server ------------------------------------------------
 * Answers by path: /echo returns the request body (method in X-Method),
 * /status/503 returns 503, /slow never answers, /big returns BIG_LEN bytes
 * with a Content-Length, /big-unsized the same delimited by closing the
 * connection, /close closes the connection without a response. Keeps the
 * connection open otherwise (keep-alive) and records the last request. */

typedef struct server server_t;

typedef struct conn {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } h;
  server_t *srv;
  ik_buf_t in;
  struct conn *prev, *next;
  bool closing;
} conn_t;

struct server {
  char dir[64];
  char sock_path[128];
  uv_pipe_t unix_listener;
  uv_tcp_t tcp_listener;
  int port;
  int accepted;
  int requests;
  conn_t *conns;
  char last_method[16];
  char last_path[64];
  char last_x_test[64];
  bool last_had_expect;
  ik_buf_t last_body;
};

typedef struct write_req {
  uv_write_t req;
  conn_t *conn;
  char *data;
  bool close_after;
} write_req_t;

static void conn_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  ik_buf_free(&c->in);
  ik_free(c);
}

static void conn_close(conn_t *c) {
  if (c->closing) return;
  c->closing = true;
  if (c->prev) c->prev->next = c->next;
  else c->srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  uv_close(&c->h.handle, conn_closed);
}

static void written(uv_write_t *req, int status) {
  write_req_t *w = req->data;
  if (w->close_after) conn_close(w->conn);
  ik_free(w->data);
  ik_free(w);
}

static void conn_send(conn_t *c, ik_buf_t *resp, bool close_after) {
  write_req_t *w = IK_NEW(write_req_t);
  w->conn = c;
  w->close_after = close_after;
  size_t len;
  w->data = ik_buf_steal(resp, &len);
  w->req.data = w;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  assert_int_equal(uv_write(&w->req, &c->h.stream, &b, 1, written), 0);
}

/* Value of header name in the head (NUL-terminated copy into out), or false. */
static bool header_value(const char *head, const char *name, char *out, size_t outlen) {
  size_t n = strlen(name);
  for (const char *line = strstr(head, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
    const char *p = line + 2;
    if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
      p += n + 1;
      while (*p == ' ') p++;
      size_t len = strcspn(p, "\r");
      snprintf(out, outlen, "%.*s", (int)len, p);
      return true;
    }
  }
  return false;
}

static void respond(conn_t *c, const char *method, const char *path, const char *body,
                    size_t body_len) {
  ik_buf_t r = {0};
  if (strcmp(path, "/echo") == 0) {
    ik_buf_printf(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Method: %s\r\n"
                      "Content-Length: %zu\r\n\r\n",
                  method, body_len);
    ik_buf_append(&r, body, body_len);
  } else if (strcmp(path, "/status/503") == 0) {
    ik_buf_puts(&r, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 11\r\n\r\nunavailable");
  } else if (strcmp(path, "/slow") == 0) {
    return;
  } else if (strcmp(path, "/stream") == 0 || strcmp(path, "/stream-open") == 0) {
    /* Chunked, like the Docker Engine's /events: /stream ends after two
     * messages, /stream-open sends one and stays open. */
    ik_buf_puts(&r, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "4\r\none\n\r\n");
    if (strcmp(path, "/stream") == 0) ik_buf_puts(&r, "4\r\ntwo\n\r\n0\r\n\r\n");
  } else if (strcmp(path, "/stream-refused") == 0) {
    ik_buf_puts(&r, "HTTP/1.1 400 Bad Request\r\nContent-Length: 24\r\n\r\n{\"message\":\"bad filter\"}");
  } else if (strcmp(path, "/close") == 0) {
    conn_close(c);
    return;
  } else if (strcmp(path, "/big") == 0 || strcmp(path, "/big-unsized") == 0) {
    bool sized = strcmp(path, "/big") == 0;
    if (sized)
      ik_buf_printf(&r, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG_LEN);
    else
      ik_buf_puts(&r, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    ik_buf_reserve(&r, BIG_LEN);
    for (int i = 0; i < BIG_LEN; i++) r.data[r.len + (size_t)i] = (char)('a' + i % 26);
    r.len += BIG_LEN;
    r.data[r.len] = '\0';
    conn_send(c, &r, !sized);
    return;
  } else {
    ik_buf_puts(&r, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  }
  conn_send(c, &r, false);
}

/* Serve one complete request from c->in; false if none is complete yet. */
static bool serve_one(conn_t *c) {
  server_t *srv = c->srv;
  if (c->in.len == 0) return false;
  char *end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
  if (end == NULL) return false;
  size_t head_len = (size_t)(end - c->in.data) + 4;
  char *head = ik_strndup(c->in.data, head_len - 2); /* keeps the last header's CRLF */
  char clen[32] = "0";
  header_value(head, "Content-Length", clen, sizeof clen);
  size_t body_len = (size_t)strtoul(clen, NULL, 10);
  if (c->in.len < head_len + body_len) {
    ik_free(head);
    return false;
  }
  char method[16] = "", path[64] = "";
  assert_int_equal(sscanf(head, "%15s %63s", method, path), 2);
  srv->requests++;
  wake();
  snprintf(srv->last_method, sizeof srv->last_method, "%s", method);
  snprintf(srv->last_path, sizeof srv->last_path, "%s", path);
  char ignored[64];
  srv->last_had_expect = header_value(head, "Expect", ignored, sizeof ignored);
  if (!header_value(head, "X-Test", srv->last_x_test, sizeof srv->last_x_test))
    srv->last_x_test[0] = '\0';
  ik_buf_reset(&srv->last_body);
  ik_buf_append(&srv->last_body, c->in.data + head_len, body_len);
  ik_free(head);

  respond(c, method, path, c->in.data + head_len, body_len);
  size_t used = head_len + body_len;
  memmove(c->in.data, c->in.data + used, c->in.len - used);
  c->in.len -= used;
  c->in.data[c->in.len] = '\0';
  return !c->closing;
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char slab[65536];
  buf->base = slab;
  buf->len = sizeof slab;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  if (nread < 0) {
    conn_close(c);
    return;
  }
  ik_buf_append(&c->in, buf->base, (size_t)nread);
  while (serve_one(c)) {
  }
}

static void on_connection(uv_stream_t *listener, int status) {
  server_t *srv = listener->data;
  assert_int_equal(status, 0);
  conn_t *c = IK_NEW(conn_t);
  c->srv = srv;
  if (listener->type == UV_NAMED_PIPE) uv_pipe_init(listener->loop, &c->h.pipe, 0);
  else uv_tcp_init(listener->loop, &c->h.tcp);
  c->h.handle.data = c;
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  assert_int_equal(uv_accept(listener, &c->h.stream), 0);
  srv->accepted++;
  assert_int_equal(uv_read_start(&c->h.stream, conn_alloc, conn_read), 0);
}

static void server_start(ik_loop_t *loop, server_t *srv) {
  memset(srv, 0, sizeof *srv);
  snprintf(srv->dir, sizeof srv->dir, "/tmp/ik-http-XXXXXX");
  assert_non_null(mkdtemp(srv->dir));
  snprintf(srv->sock_path, sizeof srv->sock_path, "%s/plugin.sock", srv->dir);

  assert_int_equal(uv_pipe_init(&loop->uv, &srv->unix_listener, 0), 0);
  srv->unix_listener.data = srv;
  assert_int_equal(uv_pipe_bind(&srv->unix_listener, srv->sock_path), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&srv->unix_listener, 128, on_connection), 0);

  struct sockaddr_in addr;
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(uv_tcp_init(&loop->uv, &srv->tcp_listener), 0);
  srv->tcp_listener.data = srv;
  assert_int_equal(uv_tcp_bind(&srv->tcp_listener, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&srv->tcp_listener, 128, on_connection), 0);
  struct sockaddr_in bound;
  int len = sizeof bound;
  assert_int_equal(uv_tcp_getsockname(&srv->tcp_listener, (struct sockaddr *)&bound, &len), 0);
  srv->port = ntohs(bound.sin_port);
}

/* Close the listeners and every connection; remove the directory. */
static void server_stop(server_t *srv) {
  if (!uv_is_closing((uv_handle_t *)&srv->unix_listener)) {
    uv_close((uv_handle_t *)&srv->unix_listener, NULL); /* unlinks the socket */
    uv_close((uv_handle_t *)&srv->tcp_listener, NULL);
  }
  while (srv->conns) conn_close(srv->conns);
  ik_buf_free(&srv->last_body);
  char stale[160];
  snprintf(stale, sizeof stale, "%s/stale.sock", srv->dir);
  unlink(stale);
  unlink(srv->sock_path);
  rmdir(srv->dir);
}

/* ---- the client side ------------------------------------------------------ */

typedef struct outcome {
  int calls;
  long status;
  int code; /* err->code, 0 on success */
  char msg[IK_ERR_MSG_MAX];
  char content_type[64];
  char *body; /* stolen from the response */
  size_t body_len;
  bool had_resp_and_err; /* both or neither given: a contract breach */
  int order;             /* when the callback ran, counting all outcomes */
} outcome_t;

static int callbacks_run;

static void record(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  outcome_t *o = data;
  o->calls++;
  o->order = ++callbacks_run;
  wake();
  o->had_resp_and_err = (resp == NULL) == (err == NULL);
  if (err) {
    o->code = err->code;
    snprintf(o->msg, sizeof o->msg, "%s", err->msg);
    return;
  }
  o->status = resp->status;
  snprintf(o->content_type, sizeof o->content_type, "%s",
           resp->content_type ? resp->content_type : "");
  ik_free(o->body);
  o->body = ik_buf_steal(&resp->body, &o->body_len);
}

static void outcome_free(outcome_t *o) {
  ik_free(o->body);
  o->body = NULL;
}

typedef struct fixture {
  ik_loop_t loop;
  server_t srv;
  ik_http_client_t *client;
  uv_timer_t guard; /* fails a test that would otherwise hang */
  bool expired;
  char tcp_base[64]; /* "http://127.0.0.1:PORT" */
} fixture_t;

static void guard_expired(uv_timer_t *t) {
  fixture_t *fx = t->data;
  fx->expired = true;
}

static void fx_start(fixture_t *fx) {
  ik_err_t err = {0};
  memset(fx, 0, sizeof *fx);
  assert_int_equal(ik_loop_init(&fx->loop, &err), 0);
  test_loop = &fx->loop.uv;
  server_start(&fx->loop, &fx->srv);
  snprintf(fx->tcp_base, sizeof fx->tcp_base, "http://127.0.0.1:%d", fx->srv.port);
  assert_int_equal(ik_http_client_new(&fx->loop, &fx->client, &err), 0);
  uv_timer_init(&fx->loop.uv, &fx->guard);
  fx->guard.data = fx;
  uv_timer_start(&fx->guard, guard_expired, 20000, 0);
  uv_unref((uv_handle_t *)&fx->guard);
}

/* Run the loop until *count reaches want. */
static void run_until(fixture_t *fx, const int *count, int want) {
  while (*count < want && !fx->expired) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_false(fx->expired);
}

static void close_clean(ik_loop_t *loop) {
  int leaked = -1;
  assert_int_equal(ik_loop_close(loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

/* Free the client (if still there), stop the server, close the loop. */
static void fx_finish(fixture_t *fx) {
  ik_http_client_free(fx->client);
  server_stop(&fx->srv);
  uv_close((uv_handle_t *)&fx->guard, NULL);
  while (ik_loop_run(&fx->loop) != 0) {
  } /* wake() may stop a run early */
  close_clean(&fx->loop);
}

/* A request to path, over the unix socket or TCP. url must hold 128 bytes. */
static ik_http_req_t req_to(fixture_t *fx, bool unix_sock, const char *method, const char *path,
                            char *url) {
  if (unix_sock) snprintf(url, 128, "http://plugin%s", path);
  else snprintf(url, 128, "%s%s", fx->tcp_base, path);
  return (ik_http_req_t){.method = method, .url = url, .unix_path = unix_sock ? fx->srv.sock_path : NULL};
}

static void start(fixture_t *fx, const ik_http_req_t *req, outcome_t *o, ik_http_call_t **call) {
  ik_err_t err = {0};
  int rc = ik_http_request(fx->client, req, record, o, call, &err);
  if (rc != 0) fail_msg("ik_http_request: %s", err.msg);
}

/* One call to completion. */
static outcome_t call_once(fixture_t *fx, const ik_http_req_t *req) {
  outcome_t o;
  memset(&o, 0, sizeof o);
  start(fx, req, &o, NULL);
  run_until(fx, &o.calls, 1);
  assert_false(o.had_resp_and_err);
  return o;
}

/* What a streaming call handed to on_data, in order. */
typedef struct streamed {
  int calls;            /* on_data calls */
  int empty;            /* of which len 0 (headers arrived) */
  ik_buf_t data;        /* every piece, concatenated */
  long status;          /* as given to on_data */
  outcome_t done;       /* the final callback */
  int done_before_data; /* on_data ran after the final callback: a contract breach */
  bool cancel_on_data;
} streamed_t;

static void stream_piece(ik_http_call_t *call, long status, const char *chunk, size_t len, void *data) {
  streamed_t *s = data;
  s->calls++;
  if (s->done.calls) s->done_before_data++;
  if (len == 0) s->empty++;
  s->status = status;
  ik_buf_append(&s->data, chunk, len);
  wake();
  if (s->cancel_on_data && len > 0) ik_http_cancel(call);
}

static void stream_done(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  record(call, resp, err, &((streamed_t *)data)->done);
}

static void count_tick(uv_timer_t *t) {
  (*(int *)t->data)++;
  wake();
}

static void stream_start(fixture_t *fx, const char *path, streamed_t *s, ik_http_call_t **call) {
  char url[128];
  ik_http_req_t req = req_to(fx, true, "GET", path, url);
  req.on_data = stream_piece;
  req.timeout_ms = 100; /* bounds connecting only */
  ik_err_t err = {0};
  if (ik_http_request(fx->client, &req, stream_done, s, call, &err) != 0) fail_msg("ik_http_request: %s", err.msg);
}

/* ---- tests ----------------------------------------------------------------- */

static void http_stream_hands_each_piece_to_on_data_then_ends(void **state) {
  fixture_t fx;
  fx_start(&fx);
  streamed_t s = {0};
  stream_start(&fx, "/stream", &s, NULL);
  run_until(&fx, &s.done.calls, 1);
  assert_int_equal(s.done.code, 0);
  assert_int_equal(s.done.status, 200);
  assert_int_equal(s.done.body_len, 0); /* not buffered */
  assert_int_equal(s.status, 200);
  assert_int_equal(s.empty, 1); /* the headers, once, first */
  assert_true(s.calls >= 2);
  assert_int_equal(s.done_before_data, 0);
  assert_int_equal(s.data.len, 8);
  assert_memory_equal(s.data.data, "one\ntwo\n", 8);
  ik_buf_free(&s.data);
  outcome_free(&s.done);
  fx_finish(&fx);
}

static void http_stream_outlives_its_timeout_until_cancelled(void **state) {
  fixture_t fx;
  fx_start(&fx);
  streamed_t s = {0};
  ik_http_call_t *call = NULL;
  stream_start(&fx, "/stream-open", &s, &call);
  while (s.data.len < 4 && !fx.expired) uv_run(&fx.loop.uv, UV_RUN_ONCE);
  assert_memory_equal(s.data.data, "one\n", 4);
  /* Three times the connect timeout later, the stream is still open. */
  int waited = 0;
  uv_timer_t t;
  uv_timer_init(&fx.loop.uv, &t);
  t.data = &waited;
  uv_timer_start(&t, count_tick, 300, 0);
  run_until(&fx, &waited, 1);
  uv_close((uv_handle_t *)&t, NULL);
  assert_int_equal(s.done.calls, 0);
  ik_http_cancel(call);
  run_until(&fx, &s.done.calls, 1);
  assert_int_equal(s.done.code, IK_ECANCELED);
  ik_buf_free(&s.data);
  fx_finish(&fx);
}

static void http_stream_cancelled_from_on_data_ends_once(void **state) {
  fixture_t fx;
  fx_start(&fx);
  streamed_t s = {.cancel_on_data = true};
  stream_start(&fx, "/stream-open", &s, NULL);
  run_until(&fx, &s.done.calls, 1);
  assert_int_equal(s.done.code, IK_ECANCELED);
  assert_int_equal(s.done_before_data, 0);
  assert_memory_equal(s.data.data, "one\n", 4);
  ik_buf_free(&s.data);
  fx_finish(&fx);
}

static void http_stream_refused_buffers_the_error_body(void **state) {
  fixture_t fx;
  fx_start(&fx);
  streamed_t s = {0};
  stream_start(&fx, "/stream-refused", &s, NULL);
  run_until(&fx, &s.done.calls, 1);
  assert_int_equal(s.calls, 0); /* no stream: nothing for on_data */
  assert_int_equal(s.done.code, 0);
  assert_int_equal(s.done.status, 400);
  assert_string_equal(s.done.body, "{\"message\":\"bad filter\"}");
  outcome_free(&s.done);
  fx_finish(&fx);
}

static void http_methods_and_bodies_reach_the_server_over_unix_and_tcp(void **state) {
  static const char big_body_seed[] = "0123456789abcdef";
  char big[100000]; /* large enough that curl would send Expect: 100-continue */
  for (size_t i = 0; i < sizeof big; i++) big[i] = big_body_seed[i % 16];
  const struct {
    bool unix_sock;
    const char *method;
    const char *body;
    size_t body_len;
  } cases[] = {
      {true, "GET", NULL, 0},
      {true, "POST", "{\"jsonrpc\":\"2.0\"}", 17},
      {true, "POST", big, sizeof big},
      {true, "PUT", "x", 1},
      {true, "DELETE", NULL, 0},
      {false, "GET", NULL, 0},
      {false, "POST", "hello", 5},
      {false, "POST", big, sizeof big},
      {false, "POST", NULL, 0},
  };
  fixture_t fx;
  fx_start(&fx);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char url[128];
    const char *const headers[] = {"X-Test: case", "Content-Type: application/json", NULL};
    ik_http_req_t req = req_to(&fx, cases[i].unix_sock, cases[i].method, "/echo", url);
    req.headers = headers;
    req.body = cases[i].body;
    req.body_len = cases[i].body_len;
    outcome_t o = call_once(&fx, &req);
    assert_int_equal(o.code, 0);
    assert_int_equal(o.status, 200);
    assert_string_equal(o.content_type, "text/plain");
    assert_int_equal(o.body_len, cases[i].body_len);
    if (cases[i].body_len) assert_memory_equal(o.body, cases[i].body, cases[i].body_len);
    assert_string_equal(fx.srv.last_method, cases[i].method);
    assert_string_equal(fx.srv.last_path, "/echo");
    assert_string_equal(fx.srv.last_x_test, "case");
    assert_false(fx.srv.last_had_expect);
    assert_int_equal(fx.srv.last_body.len, cases[i].body_len);
    outcome_free(&o);
  }
  fx_finish(&fx);
}

static void http_request_is_copied_not_borrowed(void **state) {
  fixture_t fx;
  fx_start(&fx);
  char url[128], body[16], header[32];
  ik_http_req_t req = req_to(&fx, true, "POST", "/echo", url);
  char *unix_path = ik_strdup(fx.srv.sock_path);
  char method[8] = "POST";
  snprintf(body, sizeof body, "original");
  snprintf(header, sizeof header, "X-Test: original");
  const char *headers[] = {header, NULL};
  req.method = method;
  req.unix_path = unix_path;
  req.body = body;
  req.body_len = strlen(body);
  req.headers = headers;
  outcome_t o = {0};
  start(&fx, &req, &o, NULL);
  /* Everything the request pointed at is gone before the call runs. */
  memset(url, 'z', sizeof url - 1);
  memset(body, 'z', sizeof body - 1);
  memset(header, 'z', sizeof header - 1);
  memset(method, 'z', sizeof method - 1);
  headers[0] = NULL;
  ik_free(unix_path);
  run_until(&fx, &o.calls, 1);
  assert_int_equal(o.code, 0);
  assert_string_equal(o.body, "original");
  assert_string_equal(fx.srv.last_method, "POST");
  assert_string_equal(fx.srv.last_x_test, "original");
  outcome_free(&o);
  fx_finish(&fx);
}

/* Each callback starts the next call until n calls have completed. */
typedef struct chain {
  fixture_t *fx;
  bool unix_sock;
  int done, n;
  bool failed;
} chain_t;

static void chain_next(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err,
                       void *data) {
  chain_t *ch = data;
  wake();
  if (err || resp->status != 200) ch->failed = true;
  if (++ch->done == ch->n) return;
  char url[128];
  ik_http_req_t req = req_to(ch->fx, ch->unix_sock, "GET", "/echo", url);
  ik_err_t e = {0};
  if (ik_http_request(ch->fx->client, &req, chain_next, ch, NULL, &e) != 0) {
    ch->failed = true;
    ch->done = ch->n;
  }
}

static void http_sequential_calls_reuse_one_connection(void **state) {
  for (int unix_sock = 1; unix_sock >= 0; unix_sock--) {
    fixture_t fx;
    fx_start(&fx);
    chain_t ch = {.fx = &fx, .unix_sock = unix_sock, .n = 5};
    char url[128];
    ik_http_req_t req = req_to(&fx, unix_sock, "GET", "/echo", url);
    ik_err_t err = {0};
    assert_int_equal(ik_http_request(fx.client, &req, chain_next, &ch, NULL, &err), 0);
    run_until(&fx, &ch.done, ch.n);
    assert_false(ch.failed);
    assert_int_equal(fx.srv.requests, 5);
    assert_int_equal(fx.srv.accepted, 1);
    fx_finish(&fx);
  }
}

static void http_twenty_concurrent_calls_all_complete(void **state) {
  enum { N = 20 };
  fixture_t fx;
  fx_start(&fx);
  outcome_t o[N];
  char bodies[N][24];
  memset(o, 0, sizeof o);
  int total = 0;
  for (int i = 0; i < N; i++) {
    char url[128];
    ik_http_req_t req = req_to(&fx, i % 2 == 0, "POST", "/echo", url);
    snprintf(bodies[i], sizeof bodies[i], "call-%d", i);
    req.body = bodies[i];
    req.body_len = strlen(bodies[i]);
    start(&fx, &req, &o[i], NULL);
  }
  while (!fx.expired) {
    total = 0;
    for (int i = 0; i < N; i++) total += o[i].calls;
    if (total == N) break;
    uv_run(&fx.loop.uv, UV_RUN_ONCE);
  }
  assert_int_equal(total, N);
  for (int i = 0; i < N; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].code, 0);
    assert_int_equal(o[i].status, 200);
    assert_string_equal(o[i].body, bodies[i]);
    outcome_free(&o[i]);
  }
  assert_int_equal(fx.srv.requests, N);
  fx_finish(&fx);
}

static void http_non_2xx_status_is_a_success(void **state) {
  fixture_t fx;
  fx_start(&fx);
  char url[128];
  ik_http_req_t req = req_to(&fx, true, "GET", "/status/503", url);
  outcome_t o = call_once(&fx, &req);
  assert_int_equal(o.code, 0);
  assert_int_equal(o.status, 503);
  assert_string_equal(o.body, "unavailable");
  assert_string_equal(o.content_type, "");
  outcome_free(&o);
  req = req_to(&fx, false, "GET", "/nowhere", url);
  o = call_once(&fx, &req);
  assert_int_equal(o.code, 0);
  assert_int_equal(o.status, 404);
  assert_int_equal(o.body_len, 0);
  outcome_free(&o);
  fx_finish(&fx);
}

static void http_large_response_is_received_whole(void **state) {
  fixture_t fx;
  fx_start(&fx);
  for (int unix_sock = 1; unix_sock >= 0; unix_sock--) {
    char url[128];
    ik_http_req_t req = req_to(&fx, unix_sock, "GET", "/big", url);
    outcome_t o = call_once(&fx, &req);
    assert_int_equal(o.code, 0);
    assert_int_equal(o.status, 200);
    assert_int_equal(o.body_len, BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i += 99991) assert_int_equal(o.body[i], 'a' + (int)(i % 26));
    assert_int_equal(o.body[BIG_LEN - 1], 'a' + (BIG_LEN - 1) % 26);
    outcome_free(&o);
  }
  fx_finish(&fx);
}

static void http_timeout_fails_with_etimedout_naming_the_call(void **state) {
  fixture_t fx;
  fx_start(&fx);
  char url[128];
  ik_http_req_t req = req_to(&fx, true, "POST", "/slow", url);
  req.timeout_ms = 200;
  outcome_t o = call_once(&fx, &req);
  assert_int_equal(o.code, IK_ETIMEDOUT);
  assert_non_null(strstr(o.msg, "POST http://plugin/slow"));
  assert_non_null(strstr(o.msg, fx.srv.sock_path));
  assert_non_null(strstr(o.msg, "timed out after 200 ms"));
  fx_finish(&fx);
}

static void http_connect_failures_name_the_socket_and_errno(void **state) {
  fixture_t fx;
  fx_start(&fx);
  /* A stale socket: the file exists, nobody listens (a crashed plugin). */
  char stale[100];
  snprintf(stale, sizeof stale, "%s/stale.sock", fx.srv.dir);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", stale);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  close(fd);
  char missing[100];
  snprintf(missing, sizeof missing, "%s/missing.sock", fx.srv.dir);

  const struct {
    const char *path;
    int code;
  } cases[] = {{stale, UV_ECONNREFUSED}, {missing, UV_ENOENT}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_http_req_t req = {.method = "GET", .url = "http://plugin/info/api.json", .unix_path = cases[i].path};
    outcome_t o = call_once(&fx, &req);
    assert_int_equal(o.code, cases[i].code);
    assert_non_null(strstr(o.msg, "GET http://plugin/info/api.json"));
    assert_non_null(strstr(o.msg, cases[i].path));
    assert_non_null(strstr(o.msg, "cannot connect"));
  }

  /* TCP: a port that was just free. */
  uv_tcp_t probe;
  struct sockaddr_in addr, bound;
  int len = sizeof bound;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(&fx.loop.uv, &probe);
  assert_int_equal(uv_tcp_bind(&probe, (const struct sockaddr *)&addr, 0), 0);
  uv_tcp_getsockname(&probe, (struct sockaddr *)&bound, &len);
  uv_close((uv_handle_t *)&probe, NULL);
  char url[64], shown[64];
  snprintf(url, sizeof url, "http://user:s3cret@127.0.0.1:%d/x", ntohs(bound.sin_port));
  snprintf(shown, sizeof shown, "GET http://***@127.0.0.1:%d/x", ntohs(bound.sin_port));
  ik_http_req_t req = {.method = "GET", .url = url};
  outcome_t o = call_once(&fx, &req);
  assert_int_equal(o.code, UV_ECONNREFUSED);
  assert_non_null(strstr(o.msg, shown)); /* the password never reaches a message */
  assert_null(strstr(o.msg, "s3cret"));
  fx_finish(&fx);
}

static void http_max_body_exceeded_fails_with_emsgsize(void **state) {
  fixture_t fx;
  fx_start(&fx);
  /* With a Content-Length curl refuses up front; without one the body
   * limit stops the download part way. */
  const char *paths[] = {"/big", "/big-unsized"};
  for (size_t i = 0; i < 2; i++) {
    char url[128];
    ik_http_req_t req = req_to(&fx, false, "GET", paths[i], url);
    req.max_body = 1 << 20;
    outcome_t o = call_once(&fx, &req);
    assert_int_equal(o.code, UV_EMSGSIZE);
    assert_non_null(strstr(o.msg, url));
    assert_non_null(strstr(o.msg, "response too large"));
    assert_non_null(strstr(o.msg, "1048576"));
  }
  fx_finish(&fx);
}

static void http_connection_closed_without_response_fails_with_eio(void **state) {
  fixture_t fx;
  fx_start(&fx);
  char url[128];
  ik_http_req_t req = req_to(&fx, true, "GET", "/close", url);
  outcome_t o = call_once(&fx, &req);
  assert_int_equal(o.code, IK_EIO);
  assert_non_null(strstr(o.msg, "GET http://plugin/close"));
  assert_non_null(strstr(o.msg, "without a response"));
  fx_finish(&fx);
}

static void cancel_from_timer(uv_timer_t *t) {
  ik_http_cancel(t->data);
  uv_close((uv_handle_t *)t, NULL);
}

static void http_cancel_runs_the_callback_once_with_ecanceled(void **state) {
  fixture_t fx;
  fx_start(&fx);
  char url[128];
  ik_http_req_t req = req_to(&fx, true, "GET", "/slow", url);

  /* In flight: the server has the request and is not answering. */
  outcome_t o = {0};
  ik_http_call_t *call = NULL;
  start(&fx, &req, &o, &call);
  uv_timer_t t;
  uv_timer_init(&fx.loop.uv, &t);
  t.data = call;
  uv_timer_start(&t, cancel_from_timer, 50, 0);
  run_until(&fx, &o.calls, 1);
  assert_int_equal(o.code, IK_ECANCELED);
  assert_non_null(strstr(o.msg, "GET http://plugin/slow"));
  assert_int_equal(fx.srv.requests, 1);

  /* Before the loop ever ran: the callback still comes from the loop. */
  outcome_t o2 = {0};
  start(&fx, &req, &o2, &call);
  ik_http_cancel(call);
  assert_int_equal(o2.calls, 0);
  run_until(&fx, &o2.calls, 1);
  assert_int_equal(o2.code, IK_ECANCELED);

  /* Nothing more arrives later. */
  uv_run(&fx.loop.uv, UV_RUN_NOWAIT);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o2.calls, 1);
  fx_finish(&fx);
}

static void http_free_with_calls_pending_runs_their_callbacks(void **state) {
  enum { N = 3 };
  fixture_t fx;
  fx_start(&fx);
  outcome_t o[N];
  memset(o, 0, sizeof o);
  char url[128];
  for (int i = 0; i < N; i++) {
    ik_http_req_t req = req_to(&fx, i != 1, "GET", "/slow", url);
    start(&fx, &req, &o[i], NULL);
  }
  run_until(&fx, &fx.srv.requests, N); /* all in flight */
  ik_http_client_free(fx.client);
  fx.client = NULL;
  for (int i = 0; i < N; i++) assert_int_equal(o[i].calls, 0); /* not from inside free */
  fx_finish(&fx);
  for (int i = 0; i < N; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].code, IK_ECANCELED);
    assert_non_null(strstr(o[i].msg, "closed"));
    if (i > 0) assert_true(o[i].order > o[i - 1].order); /* in call order */
  }
}

static void http_free_before_the_loop_runs_still_calls_back(void **state) {
  fixture_t fx;
  fx_start(&fx);
  char url[128];
  ik_http_req_t req = req_to(&fx, false, "GET", "/echo", url);
  outcome_t o = {0};
  start(&fx, &req, &o, NULL);
  ik_http_client_free(fx.client);
  fx.client = NULL;
  fx_finish(&fx);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.code, IK_ECANCELED);
  assert_int_equal(fx.srv.requests, 0);
}

/* The first callback frees the client; the others still run exactly once. */
typedef struct freer {
  fixture_t *fx;
  int calls;
  int canceled;
} freer_t;

static void free_on_first(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err,
                          void *data) {
  freer_t *f = data;
  wake();
  if (f->calls++ == 0) {
    ik_http_client_free(f->fx->client);
    f->fx->client = NULL;
  }
  if (err && err->code == IK_ECANCELED) f->canceled++;
}

static void http_free_from_inside_a_callback_is_safe(void **state) {
  fixture_t fx;
  fx_start(&fx);
  freer_t f = {.fx = &fx};
  char url[128];
  ik_err_t err = {0};
  ik_http_req_t fast = req_to(&fx, true, "GET", "/echo", url);
  assert_int_equal(ik_http_request(fx.client, &fast, free_on_first, &f, NULL, &err), 0);
  char url2[128];
  ik_http_req_t slow = req_to(&fx, true, "GET", "/slow", url2);
  for (int i = 0; i < 3; i++)
    assert_int_equal(ik_http_request(fx.client, &slow, free_on_first, &f, NULL, &err), 0);
  run_until(&fx, &f.calls, 4);
  assert_int_equal(f.canceled, 3);
  fx_finish(&fx);
  assert_int_equal(f.calls, 4);
}

static void http_reconnects_when_the_server_dropped_the_idle_connection(void **state) {
  fixture_t fx;
  fx_start(&fx);
  for (int unix_sock = 1; unix_sock >= 0; unix_sock--) {
    int accepted = fx.srv.accepted;
    char url[128];
    ik_http_req_t req = req_to(&fx, unix_sock, "GET", "/echo", url);
    outcome_t o = call_once(&fx, &req);
    assert_int_equal(o.status, 200);
    outcome_free(&o);
    /* The server drops its keep-alive connections (a restarted plugin, an
     * idle timeout); curl notices the dead one and connects again. */
    while (fx.srv.conns) conn_close(fx.srv.conns);
    uv_run(&fx.loop.uv, UV_RUN_NOWAIT);
    o = call_once(&fx, &req);
    assert_int_equal(o.code, 0);
    assert_int_equal(o.status, 200);
    assert_int_equal(fx.srv.accepted, accepted + 2);
    outcome_free(&o);
  }
  fx_finish(&fx);
}

static void http_idle_client_does_not_keep_the_loop_alive(void **state) {
  fixture_t fx;
  fx_start(&fx);
  char url[128];
  ik_http_req_t req = req_to(&fx, false, "GET", "/echo", url);
  outcome_t o = call_once(&fx, &req);
  assert_int_equal(o.status, 200);
  outcome_free(&o);
  /* The server goes away; the client keeps its (now dead) connection. */
  server_stop(&fx.srv);
  ik_loop_run(&fx.loop); /* returns: nothing of the idle client is referenced */
  ik_http_client_free(fx.client);
  uv_close((uv_handle_t *)&fx.guard, NULL);
  ik_loop_run(&fx.loop);
  close_clean(&fx.loop);
}

static void http_bad_requests_fail_at_call_without_callback(void **state) {
  fixture_t fx;
  fx_start(&fx);
  const char *const crlf_header[] = {"X-Test: a\r\nX-Injected: b", NULL};
  const char *const no_colon[] = {"X-Test", NULL};
  const struct {
    ik_http_req_t req;
    const char *want;
  } cases[] = {
      {{.method = NULL, .url = "http://h/"}, "bad method"},
      {{.method = "GET /x HTTP/1.1\r\n", .url = "http://h/"}, "bad method"},
      {{.method = "GET", .url = NULL}, "no URL"},
      {{.method = "GET", .url = "file:///etc/passwd"}, "unsupported URL scheme"},
      {{.method = "GET", .url = "http://h/a b"}, "white space"},
      {{.method = "GET", .url = "http://h/", .headers = crlf_header}, "bad header"},
      {{.method = "GET", .url = "http://h/", .headers = no_colon}, "bad header"},
      {{.method = "GET", .url = "http://h/", .unix_path = ""}, "empty unix socket path"},
  };
  outcome_t o = {0};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_err_t err = {0};
    ik_http_call_t *call = NULL;
    assert_int_equal(ik_http_request(fx.client, &cases[i].req, record, &o, &call, &err), IK_EINVAL);
    assert_null(call);
    if (strstr(err.msg, cases[i].want) == NULL) fail_msg("case %zu: %s", i, err.msg);
  }
  fx_finish(&fx);
  assert_int_equal(o.calls, 0);
}

int main(void) {
  /* The server writes to connections the client may have dropped. */
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(http_methods_and_bodies_reach_the_server_over_unix_and_tcp),
      cmocka_unit_test(http_request_is_copied_not_borrowed),
      cmocka_unit_test(http_sequential_calls_reuse_one_connection),
      cmocka_unit_test(http_twenty_concurrent_calls_all_complete),
      cmocka_unit_test(http_non_2xx_status_is_a_success),
      cmocka_unit_test(http_large_response_is_received_whole),
      cmocka_unit_test(http_timeout_fails_with_etimedout_naming_the_call),
      cmocka_unit_test(http_stream_hands_each_piece_to_on_data_then_ends),
      cmocka_unit_test(http_stream_outlives_its_timeout_until_cancelled),
      cmocka_unit_test(http_stream_cancelled_from_on_data_ends_once),
      cmocka_unit_test(http_stream_refused_buffers_the_error_body),
      cmocka_unit_test(http_connect_failures_name_the_socket_and_errno),
      cmocka_unit_test(http_max_body_exceeded_fails_with_emsgsize),
      cmocka_unit_test(http_connection_closed_without_response_fails_with_eio),
      cmocka_unit_test(http_cancel_runs_the_callback_once_with_ecanceled),
      cmocka_unit_test(http_free_with_calls_pending_runs_their_callbacks),
      cmocka_unit_test(http_free_before_the_loop_runs_still_calls_back),
      cmocka_unit_test(http_free_from_inside_a_callback_is_safe),
      cmocka_unit_test(http_reconnects_when_the_server_dropped_the_idle_connection),
      cmocka_unit_test(http_idle_client_does_not_keep_the_loop_alive),
      cmocka_unit_test(http_bad_requests_fail_at_call_without_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
