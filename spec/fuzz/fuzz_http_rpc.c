/* libFuzzer target: core/net's HTTP/1.1 server (http_server.c), JSON-RPC
 * decoding and dispatch (rpc_server.c) and Instance/0.6.1 params
 * (rpc_instance.c).
 *
 * How an input reaches the server: through the real code path, no seam.
 * Each input is one client connection to a real listener on a unix socket
 * in a temporary directory: the harness connects a uv_pipe on the same
 * loop, writes the bytes, half-closes, reads every response and turns the
 * loop until the server has closed the connection. Accept, the shared read
 * buffer, pipelining and the pause around a busy handler, the rejects and
 * the close paths all run as in the daemon. A byte-feeding function inside
 * http_server.c would save the connect/accept and a few syscalls per input,
 * but would bypass the stream handling where lifetime bugs live, and would
 * be a second entry point to keep honest; the socket costs little (thousands
 * of inputs per second under ASan and UBSan, see docs/dev/testing.md).
 *
 * The first byte picks what the rest is (printable digits select the modes,
 * so the seed files stay readable text):
 *   bits 0-1  0: raw bytes from a client
 *             1: one JSON-RPC body, wrapped in a valid POST / (Content-Length)
 *             2: JSON-RPC bodies separated by '\n', each wrapped in a POST,
 *                pipelined; every second one chunked (chunks of n bytes)
 *             3: raw bytes, dribbled n bytes per loop turn, so requests
 *                arrive split across reads
 *   bit 2     use the server with small limits (431 and 413 reachable)
 *   bits 3-7  n - 1 (n = 1..32)
 *
 * The server hosts an instance plugin double under "." and "aws" (typed
 * dispatch), a keyed double ("." and "workers", Group-like) and a single
 * object (Manager-like). The instance double answers later from the loop,
 * as the SPI requires, so requests wait on a busy connection; a value
 * "refuse" makes it fail synchronously, "fail" fail later.
 *
 * Oracles besides the sanitizers: the connection always closes (a watchdog
 * aborts after 5 s of loop time); the bytes the server sent parse as HTTP/1.1
 * responses (none with a body for a HEAD request), exactly one per
 * request the server dispatched or rejected;
 * every application/json body is a JSON-RPC 2.0 response (or an /info
 * document); nothing is left pending in the plugin double.
 *
 * IK_FUZZ_TRACE=1 prints every response stream to stderr (to read what a
 * crash input did: build/.../fuzz_http_rpc CRASH-FILE). */
#include <http_parser.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "net/server/http_server.h"
#include "net/server/rpc_instance.h"
#include "net/server/rpc_server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WATCHDOG_MS 5000
#define MAX_PARTS 64

static bool trace; /* IK_FUZZ_TRACE=1: print every response stream */

static struct {
  ik_loop_t loop;
  ik_rpc_server_t *rpc;
  char dir[96];
  char path[2][104]; /* default limits, small limits; fits sun_path */
  int pending;       /* plugin double calls not yet answered */
} fz;

static void die(const char *what) {
  fprintf(stderr, "fuzz_http_rpc: %s\n", what);
  abort();
}

/* --- an instance plugin double --------------------------------------------- */

typedef struct later {
  ik_spi_cb cb;
  void *data;
  json_t *result;
  ik_err_t err;
} later_t;

static void later_run(void *p) {
  later_t *l = p;
  fz.pending--;
  l->cb(l->err.code ? NULL : l->result, l->err.code ? &l->err : NULL, l->data);
  json_decref(l->result);
  ik_free(l);
}

/* Answer from the loop, after returning. verdict (may be NULL) chooses:
 * "refuse" fails now with IK_EINVAL, "fail" fails later, else result
 * (stolen) is delivered later. */
static int answer(const char *verdict, json_t *result, ik_spi_cb cb, void *data, ik_err_t *err) {
  if (verdict && strcmp(verdict, "refuse") == 0) {
    json_decref(result);
    return ik_err_set(err, IK_EINVAL, "refused by the double");
  }
  later_t *l = IK_NEW(later_t);
  l->cb = cb;
  l->data = data;
  l->result = result;
  if (verdict && strcmp(verdict, "fail") == 0) ik_err_set(&l->err, IK_EDRIVER, "failed in the double");
  fz.pending++;
  ik_loop_defer(&fz.loop, later_run, l);
  return 0;
}

static int d_validate(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  return answer(json_string_value(properties), json_null(), cb, data, err);
}

static int d_provision(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err) {
  if (!json_is_object(spec)) die("provision: spec is not an object");
  const char *lid = json_string_value(json_object_get(spec, "LogicalID"));
  return answer(json_string_value(json_object_get(spec, "Properties")), json_string(lid ? lid : "inst-1"), cb,
                data, err);
}

static int d_label(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err) {
  if (id == NULL || !json_is_object(labels)) die("label: bad arguments");
  return answer(id, json_null(), cb, data, err);
}

static int d_destroy(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err) {
  if (id == NULL || reason == NULL) die("destroy: bad arguments");
  return answer(id, json_null(), cb, data, err);
}

static int d_describe(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  if (tags && !json_is_object(tags)) die("describe: tags is not an object");
  json_t *d = json_pack("{s:s, s:n, s:o}", "ID", "inst-1", "LogicalID", "Tags",
                        tags ? json_deep_copy(tags) : json_object());
  if (properties) json_object_set_new(d, "Properties", json_object());
  return answer(json_string_value(json_object_get(tags, "verdict")), json_pack("[o]", d), cb, data, err);
}

static const ik_instance_vtable_t double_vt = {
    .kind = "fuzz-double",
    .validate = d_validate,
    .provision = d_provision,
    .label = d_label,
    .destroy = d_destroy,
    .describe = d_describe,
    .free = NULL,
};
static ik_instance_plugin_t double_plugin = {.vt = &double_vt, .self = NULL};

/* --- keyed and single objects, answered at once ------------------------------ */

static void k_echo(ik_rpc_call_t *call, json_t *params, void *obj) {
  json_t *r = ik_rpc_result_new(call);
  json_object_set(r, "Params", params);
  json_object_set_new(r, "Object", json_string(obj));
  ik_rpc_reply(call, r);
}

static void k_refuse(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_err_t err = {0};
  ik_err_set(&err, IK_EINVAL, "params.ID: refused by %s", (const char *)obj);
  ik_rpc_fail_err(call, &err);
}

static const ik_rpc_method_t keyed_methods[] = {
    {"DescribeGroup", k_echo, "{\"Name\":\"\",\"ID\":\"\"}", NULL},
    {"FreeGroup", k_refuse, NULL, NULL},
    {NULL, NULL, NULL, NULL},
};
static const ik_rpc_iface_t keyed_iface = {"Group", "0.1.1", "Group", IK_RPC_KEYED, keyed_methods, false};

static const ik_rpc_method_t single_methods[] = {
    {"IsLeader", k_echo, NULL, "{\"Leader\":true}"},
    {NULL, NULL, NULL, NULL},
};
static const ik_rpc_iface_t single_iface = {"Manager", "0.1.0", "Manager", IK_RPC_SINGLE, single_methods, false};

/* --- set-up, once per process -------------------------------------------------- */

static void cleanup(void) {
  for (int i = 0; i < 2; i++) unlink(fz.path[i]);
  rmdir(fz.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  ik_err_t err = {0};
  ik_log_set_level(IK_LOG_OFF);
  trace = getenv("IK_FUZZ_TRACE") != NULL;
  if (ik_loop_init(&fz.loop, &err) < 0) die(err.msg);
  /* The sockets' directory. A crash ends the process without atexit, so
   * make fuzz and make test point TMPDIR into the build directory; a path
   * too long for a socket address falls back to /tmp. */
  const char *tmp = getenv("TMPDIR");
  snprintf(fz.dir, sizeof fz.dir, "%s/ik-fuzz-XXXXXX", tmp && *tmp && strlen(tmp) < 80 ? tmp : "/tmp");
  if (mkdtemp(fz.dir) == NULL) die("mkdtemp failed");
  atexit(cleanup);
  fz.rpc = ik_rpc_server_new(&fz.loop, "fuzz");
  if (ik_rpc_server_add(fz.rpc, &ik_rpc_instance_iface, ".", &double_plugin, &err) < 0 ||
      ik_rpc_server_add(fz.rpc, &ik_rpc_instance_iface, "aws", &double_plugin, &err) < 0 ||
      ik_rpc_server_add(fz.rpc, &keyed_iface, ".", (void *)(uintptr_t) "group", &err) < 0 ||
      ik_rpc_server_add(fz.rpc, &keyed_iface, "workers", (void *)(uintptr_t) "workers", &err) < 0 ||
      ik_rpc_server_add(fz.rpc, &single_iface, ".", (void *)(uintptr_t) "manager", &err) < 0)
    die(err.msg);
  static const ik_http_server_opts_t limits[2] = {{0}, {.max_header_bytes = 256, .max_body_bytes = 512}};
  for (int i = 0; i < 2; i++) {
    snprintf(fz.path[i], sizeof fz.path[i], "%s/%d", fz.dir, i);
    ik_http_server_opts_t o = limits[i];
    o.unix_path = fz.path[i];
    if (ik_rpc_server_listen(fz.rpc, &o, &err) < 0) die(err.msg);
  }
  return 0;
}

/* --- the client ------------------------------------------------------------------ */

typedef struct client {
  uv_pipe_t pipe;
  uv_connect_t connect;
  uv_shutdown_t shutdown;
  uv_idle_t sender; /* pushes the next piece each loop turn */
  const char *data;
  size_t len, off, piece;
  ik_buf_t got;
  bool closed;
} client_t;

static void on_client_closed(uv_handle_t *h) { ((client_t *)h->data)->closed = true; }
static int stack_handles; /* handles on LLVMFuzzerTestOneInput's stack, not yet closed */
static void on_stack_handle_closed(uv_handle_t *h) { stack_handles--; }
static void on_shutdown(uv_shutdown_t *req, int status) {}

static void on_client_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  static char space[65536];
  *buf = uv_buf_init(space, sizeof space);
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  client_t *c = s->data;
  if (n > 0) ik_buf_append(&c->got, buf->base, (size_t)n);
  if (n < 0 && !uv_is_closing((uv_handle_t *)&c->pipe)) {
    uv_idle_stop(&c->sender);
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
  }
}

/* One piece per loop turn: the server reads it before the next is sent. */
static void on_send(uv_idle_t *h) {
  client_t *c = h->data;
  if (uv_is_closing((uv_handle_t *)&c->pipe)) return;
  size_t n = c->len - c->off < c->piece ? c->len - c->off : c->piece;
  if (n > 0) {
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)(c->data + c->off), (unsigned)n);
    int rc = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
    if (rc == UV_EAGAIN) return;
    if (rc < 0) { /* the server closed on us (a reject): read what it sent */
      uv_idle_stop(h);
      return;
    }
    c->off += (size_t)rc;
  }
  if (c->off == c->len) {
    uv_idle_stop(h);
    (void)uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, on_shutdown); /* fails only if gone */
  }
}

static void on_connected(uv_connect_t *req, int status) {
  client_t *c = req->data;
  if (status < 0) die("connect to the fuzz server failed");
  uv_read_start((uv_stream_t *)&c->pipe, on_client_alloc, on_client_read);
  uv_idle_start(&c->sender, on_send);
}

static bool watchdog_fired;
static void on_watchdog(uv_timer_t *t) { watchdog_fired = true; }

static uint64_t handled(void) {
  uint64_t n = 0;
  for (int i = 0; i < 2; i++) {
    ik_http_stats_t st = ik_http_server_stats(ik_rpc_server_http(fz.rpc, i));
    n += st.requests + st.rejected;
  }
  return n;
}

static uint64_t open_conns(void) {
  uint64_t n = 0;
  for (int i = 0; i < 2; i++) n += ik_http_server_stats(ik_rpc_server_http(fz.rpc, i)).open;
  return n;
}

/* --- checking what the server sent ------------------------------------------------ */

typedef struct resp {
  int count;
  bool in_ctype, json;
  ik_buf_t body;
  const ik_buf_t *heads; /* heads->data[i]: request i was a HEAD */
} resp_t;

/* Which of the requests sent were HEAD requests: the response to one has
 * no body, whatever its Content-Length says. The same parser as the
 * server's reads the same bytes, so request i here is request i there. */
static int m_complete(http_parser *p) {
  ik_buf_putc(p->data, p->method == HTTP_HEAD);
  return 0;
}

static void mirror(const char *data, size_t len, ik_buf_t *heads) {
  static const http_parser_settings settings = {.on_message_complete = m_complete};
  http_parser p;
  http_parser_init(&p, HTTP_REQUEST);
  p.data = heads;
  http_parser_execute(&p, &settings, data, len);
}

/* 1: no body. The server's own rejects (400, 408, 413, 431) always carry
 * their text: they end the connection, whatever the request was. */
static int r_headers_done(http_parser *p) {
  resp_t *r = p->data;
  if (p->status_code == 400 || p->status_code == 408 || p->status_code == 413 || p->status_code == 431) return 0;
  return (size_t)r->count < r->heads->len && r->heads->data[r->count];
}

static int r_begin(http_parser *p) {
  resp_t *r = p->data;
  r->json = r->in_ctype = false;
  ik_buf_reset(&r->body);
  return 0;
}
static int r_field(http_parser *p, const char *at, size_t len) {
  ((resp_t *)p->data)->in_ctype = len == 12 && strncmp(at, "Content-Type", 12) == 0;
  return 0;
}
static int r_value(http_parser *p, const char *at, size_t len) {
  resp_t *r = p->data;
  if (r->in_ctype && len == 16 && strncmp(at, "application/json", 16) == 0) r->json = true;
  return 0;
}
static int r_body(http_parser *p, const char *at, size_t len) {
  ik_buf_append(&((resp_t *)p->data)->body, at, len);
  return 0;
}

/* A JSON body is a JSON-RPC 2.0 response or one of the /info documents. */
static void check_json(const ik_buf_t *body) {
  json_error_t je;
  json_t *v = json_loadb(body->data ? body->data : "", body->len, 0, &je);
  /* Ids beyond int64 are echoed as sent (Go's uint64 ids): read as reals. */
  if (v == NULL && strstr(je.text, "too big"))
    v = json_loadb(body->data, body->len, JSON_DECODE_INT_AS_REAL, &je);
  if (!json_is_object(v)) die("an application/json response is not a JSON object");
  if (json_object_get(v, "jsonrpc")) {
    if (!json_is_string(json_object_get(v, "jsonrpc")) || strcmp(json_string_value(json_object_get(v, "jsonrpc")), "2.0"))
      die("a JSON-RPC response without jsonrpc 2.0");
    if ((json_object_get(v, "result") == NULL) == (json_object_get(v, "error") == NULL))
      die("a JSON-RPC response needs exactly one of result and error");
    if (json_object_get(v, "id") == NULL) die("a JSON-RPC response without id");
    json_t *e = json_object_get(v, "error");
    if (e && (!json_is_number(json_object_get(e, "code")) || !json_is_string(json_object_get(e, "message"))))
      die("a JSON-RPC error without a numeric code and a message");
  } else if (!json_object_get(v, "Implements") && !json_object_get(v, "builtin")) {
    die("an application/json response that is neither JSON-RPC nor /info");
  }
  json_decref(v);
}

static int r_complete(http_parser *p) {
  resp_t *r = p->data;
  r->count++;
  if (r->json) check_json(&r->body);
  return 0;
}

static void check_responses(const ik_buf_t *got, const ik_buf_t *sent, uint64_t expected) {
  static const http_parser_settings settings = {
      .on_message_begin = r_begin,
      .on_header_field = r_field,
      .on_header_value = r_value,
      .on_headers_complete = r_headers_done,
      .on_body = r_body,
      .on_message_complete = r_complete,
  };
  ik_buf_t heads = {0};
  mirror(sent->data ? sent->data : "", sent->len, &heads);
  resp_t r = {.heads = &heads};
  http_parser p;
  http_parser_init(&p, HTTP_RESPONSE);
  p.data = &r;
  size_t n = http_parser_execute(&p, &settings, got->data ? got->data : "", got->len);
  if (HTTP_PARSER_ERRNO(&p) != HPE_OK || n != got->len) {
    fprintf(stderr, "fuzz_http_rpc: response stream: %s at byte %zu\n", http_errno_description(HTTP_PARSER_ERRNO(&p)),
            n);
    die("the server sent something that is not an HTTP/1.1 response");
  }
  http_parser_execute(&p, &settings, NULL, 0); /* EOF */
  if ((uint64_t)r.count != expected) {
    fprintf(stderr, "fuzz_http_rpc: %d responses for %llu requests handled or rejected\n", r.count,
            (unsigned long long)expected);
    die("one response per request");
  }
  ik_buf_free(&r.body);
  ik_buf_free(&heads);
}

/* --- building the bytes to send --------------------------------------------------- */

static void wrap_length(ik_buf_t *b, const char *body, size_t len) {
  ik_buf_printf(b, "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                len);
  ik_buf_append(b, body, len);
}

static void wrap_chunked(ik_buf_t *b, const char *body, size_t len, size_t chunk) {
  ik_buf_puts(b, "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (size_t off = 0; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    ik_buf_printf(b, "%zx\r\n", n);
    ik_buf_append(b, body + off, n);
    ik_buf_puts(b, "\r\n");
  }
  ik_buf_puts(b, "0\r\n\r\n");
}

static void build(ik_buf_t *b, int mode, size_t n, const char *in, size_t len) {
  switch (mode) {
  case 0:
  case 3: ik_buf_append(b, in, len); break;
  case 1: wrap_length(b, in, len); break;
  case 2:
    for (int part = 0; len > 0 || part == 0; part++) {
      const char *nl = part < MAX_PARTS - 1 ? memchr(in, '\n', len) : NULL;
      size_t plen = nl ? (size_t)(nl - in) : len;
      if (part % 2) wrap_chunked(b, in, plen, n);
      else wrap_length(b, in, plen);
      in += plen;
      len -= plen;
      if (nl) in++, len--;
    }
    break;
  default: abort();
  }
}

/* --- one input ----------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int mode = data[0] & 3;
  int server = (data[0] >> 2) & 1;
  size_t n = 1 + (size_t)(data[0] >> 3);
  ik_buf_t bytes = {0};
  build(&bytes, mode, n, (const char *)data + 1, size - 1);
  uint64_t before = handled();

  client_t c = {0};
  c.data = bytes.data ? bytes.data : "";
  c.len = bytes.len;
  c.piece = mode == 3 ? n : c.len;
  uv_pipe_init(&fz.loop.uv, &c.pipe, 0);
  uv_idle_init(&fz.loop.uv, &c.sender);
  c.pipe.data = c.sender.data = c.connect.data = &c;
  uv_pipe_connect(&c.connect, &c.pipe, fz.path[server], on_connected);

  uv_timer_t watchdog;
  uv_timer_init(&fz.loop.uv, &watchdog);
  watchdog_fired = false;
  uv_timer_start(&watchdog, on_watchdog, WATCHDOG_MS, 0);
  /* The listeners keep the loop alive: turn it until the connection is
   * gone on both sides and the double has answered everything. */
  while (!(c.closed && open_conns() == 0 && fz.pending == 0) && !watchdog_fired)
    uv_run(&fz.loop.uv, UV_RUN_ONCE);
  if (watchdog_fired) {
    fprintf(stderr, "fuzz_http_rpc: after %d s: client %s, %llu server connections open, %d calls pending\n",
            WATCHDOG_MS / 1000, c.closed ? "closed" : "open", (unsigned long long)open_conns(), fz.pending);
    die("the connection did not close (hang)");
  }
  stack_handles = 2;
  uv_close((uv_handle_t *)&watchdog, on_stack_handle_closed);
  uv_close((uv_handle_t *)&c.sender, on_stack_handle_closed);
  uv_run(&fz.loop.uv, UV_RUN_NOWAIT); /* runs the close callbacks */
  if (stack_handles != 0) die("handles on the stack still open");

  if (trace) {
    fprintf(stderr, "--- sent %zu bytes, received %zu:\n", c.len, c.got.len);
    fwrite(c.got.data ? c.got.data : "", 1, c.got.len, stderr);
  }
  check_responses(&c.got, &bytes, handled() - before);
  ik_buf_free(&c.got);
  ik_buf_free(&bytes);
  return 0;
}
