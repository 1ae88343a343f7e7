/* rpc_yardstick: the smallest honest HTTP/1.1 JSON-RPC server, the yardstick
 * infrakit's own RPC server is measured against.
 *
 *   rpc_yardstick PATH                  listen on a unix socket
 *   rpc_yardstick --tcp HOST:PORT       listen on TCP
 *
 * One thread, libuv + http-parser + jansson, no framework. Every request is
 * really parsed (HTTP by http-parser, the body by json_loadb) and every
 * answer really encoded (json_dumps), so the numbers are what the libraries
 * cost, not what a canned byte string costs. POST / gets InfraKit's fixed
 * Handshake.Hello result with the request's id echoed; anything else gets
 * 404. Keep-alive and pipelining: the answers to all requests found in one
 * read go out in one write, in order.
 *
 * Writes try uv_try_write first and queue only the rest with uv_write
 * (measured 1.6x over always queueing). Read and output buffers are shared
 * by all connections: callbacks run one at a time and consume them before
 * returning, so an idle connection costs only its handle and parser.
 *
 * Prints {"listening":"ADDR"} on stdout once accepting. SIGTERM or SIGINT
 * closes everything, removes the socket file and exits 0. */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <http_parser.h>
#include <jansson.h>
#include <uv.h>

/* One accepted connection; freed in its close callback. */
typedef struct conn {
  union {
    uv_handle_t h;
    uv_stream_t s;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } u;
  http_parser parser;
  char *body; /* request body so far; kept across requests */
  size_t body_len, body_cap;
  char url[4]; /* enough to tell "/" from anything else */
  size_t url_len;
  int closing; /* no more requests: answer what we have, then close */
} conn_t;

/* A queued write: the part uv_try_write could not take, copied. */
typedef struct wreq {
  uv_write_t req;
  char data[];
} wreq_t;

static uv_loop_t *g_loop;
static union {
  uv_handle_t h;
  uv_stream_t s;
  uv_pipe_t pipe;
  uv_tcp_t tcp;
} g_server;
static int g_is_tcp;
static const char *g_unix_path; /* removed at exit; NULL for TCP */
static uv_signal_t g_sigterm, g_sigint;
static http_parser_settings g_settings;

static char g_rbuf[64 * 1024]; /* shared read buffer */
static char *g_out;            /* shared output, flushed per read */
static size_t g_out_len, g_out_cap;

static json_t *g_result;  /* the fixed Hello result, shared by reference */
static json_t *g_version; /* "2.0" */

static void die(const char *what, int err) {
  fprintf(stderr, "rpc_yardstick: %s: %s\n", what, uv_strerror(err));
  exit(1);
}

/* Returns room for n more bytes at the end of g_out. Aborts on OOM. */
static char *out_reserve(size_t n) {
  if (g_out_len + n > g_out_cap) {
    size_t cap = g_out_cap ? g_out_cap : 4096;
    while (cap < g_out_len + n) cap *= 2;
    char *p = realloc(g_out, cap);
    if (!p) abort();
    g_out = p;
    g_out_cap = cap;
  }
  return g_out + g_out_len;
}

static void out_append(const char *s, size_t n) {
  memcpy(out_reserve(n), s, n);
  g_out_len += n;
}

static void on_conn_close(uv_handle_t *h) {
  conn_t *c = h->data;
  free(c->body);
  free(c);
}

static void conn_close(conn_t *c) {
  if (!uv_is_closing(&c->u.h)) uv_close(&c->u.h, on_conn_close);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  conn_close(req->handle->data);
  free(req);
}

/* Close after the queued writes have gone out (uv_close would drop them). */
static void conn_end(conn_t *c) {
  if (uv_is_closing(&c->u.h)) return;
  uv_read_stop(&c->u.s);
  uv_shutdown_t *req = malloc(sizeof *req);
  if (!req || uv_shutdown(req, &c->u.s, on_shutdown) != 0) {
    free(req);
    conn_close(c);
  }
}

static void on_write(uv_write_t *req, int status) {
  wreq_t *w = (wreq_t *)req;
  if (status < 0 && status != UV_ECANCELED) conn_close(req->handle->data);
  free(w);
}

/* Sends g_out on c and empties it: as much as possible right now, the rest
 * queued. uv_try_write refuses while older writes are queued, so order is
 * kept. */
static void flush(conn_t *c) {
  if (g_out_len == 0) return;
  size_t len = g_out_len, off = 0;
  g_out_len = 0;
  uv_buf_t b = uv_buf_init(g_out, (unsigned)len);
  int r = uv_try_write(&c->u.s, &b, 1);
  if (r >= 0) {
    off = (size_t)r;
  } else if (r != UV_EAGAIN) {
    conn_close(c);
    return;
  }
  if (off == len) return;
  wreq_t *w = malloc(sizeof *w + (len - off));
  if (!w) abort();
  memcpy(w->data, g_out + off, len - off);
  b = uv_buf_init(w->data, (unsigned)(len - off));
  if (uv_write(&w->req, &c->u.s, &b, 1, on_write) != 0) {
    free(w);
    conn_close(c);
  }
}

static void append_response(const char *status, const char *body, size_t n) {
  char head[160];
  int h = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   status, n);
  out_append(head, (size_t)h);
  out_append(body, n);
}

/* Answers one complete request: the Hello result with its id, or a JSON-RPC
 * parse error if the body is not a JSON object. */
static void answer_rpc(conn_t *c) {
  json_t *req = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  json_t *resp = json_object();
  json_object_set(resp, "jsonrpc", g_version);
  if (json_is_object(req)) {
    json_object_set(resp, "result", g_result);
    json_t *id = json_object_get(req, "id");
    json_object_set(resp, "id", id ? id : json_null());
  } else {
    json_object_set_new(resp, "error",
                        json_pack("{s:i,s:s}", "code", -32700, "message",
                                  "Parse error"));
    json_object_set_new(resp, "id", json_null());
  }
  char *text = json_dumps(resp, JSON_COMPACT);
  if (!text) abort();
  size_t n = strlen(text);
  text[n] = '\n'; /* overwrite the NUL: n+1 bytes are ours */
  append_response("200 OK", text, n + 1);
  free(text);
  json_decref(resp);
  json_decref(req);
}

static int on_message_begin(http_parser *p) {
  conn_t *c = p->data;
  c->body_len = 0;
  c->url_len = 0;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  conn_t *c = p->data;
  if (c->url_len + n <= sizeof c->url) memcpy(c->url + c->url_len, at, n);
  c->url_len += n;
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  conn_t *c = p->data;
  if (c->body_len + n > c->body_cap) {
    size_t cap = c->body_cap ? c->body_cap : 256;
    while (cap < c->body_len + n) cap *= 2;
    char *b = realloc(c->body, cap);
    if (!b) abort();
    c->body = b;
    c->body_cap = cap;
  }
  memcpy(c->body + c->body_len, at, n);
  c->body_len += n;
  return 0;
}

static int on_message_complete(http_parser *p) {
  conn_t *c = p->data;
  if (p->method == HTTP_POST && c->url_len == 1 && c->url[0] == '/') {
    answer_rpc(c);
  } else {
    append_response("404 Not Found", "", 0);
  }
  if (!http_should_keep_alive(p)) {
    c->closing = 1;
    http_parser_pause(p, 1); /* ignore anything after the last request */
  }
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  *buf = uv_buf_init(g_rbuf, sizeof g_rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn_t *c = s->data;
  if (n < 0) {
    if (n == UV_EOF) {
      conn_end(c); /* the peer may still read answers already queued */
    } else {
      conn_close(c);
    }
    return;
  }
  if (n == 0 || c->closing) return;
  http_parser_execute(&c->parser, &g_settings, buf->base, (size_t)n);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (e != HPE_OK && !(e == HPE_PAUSED && c->closing)) {
    const char msg[] = "{\"error\":\"bad request\"}\n";
    append_response("400 Bad Request", msg, sizeof msg - 1);
    c->closing = 1;
  } else if (c->parser.upgrade) {
    c->closing = 1;
  }
  flush(c);
  if (c->closing) conn_end(c);
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) {
    fprintf(stderr, "rpc_yardstick: accept: %s\n", uv_strerror(status));
    return;
  }
  conn_t *c = calloc(1, sizeof *c);
  if (!c) abort();
  if (g_is_tcp) {
    uv_tcp_init(g_loop, &c->u.tcp);
  } else {
    uv_pipe_init(g_loop, &c->u.pipe, 0);
  }
  c->u.h.data = c;
  int r = uv_accept(server, &c->u.s);
  if (r == 0 && g_is_tcp) uv_tcp_nodelay(&c->u.tcp, 1); /* as Go does */
  if (r == 0) {
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    r = uv_read_start(&c->u.s, on_alloc, on_read);
  }
  if (r != 0) {
    fprintf(stderr, "rpc_yardstick: accept: %s\n", uv_strerror(r));
    conn_close(c);
  }
}

/* Closes every handle; connections (data != NULL) free themselves. */
static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (uv_is_closing(h)) return;
  uv_close(h, h->data ? on_conn_close : NULL);
}

static void on_signal(uv_signal_t *sig, int signum) {
  (void)sig;
  (void)signum;
  uv_walk(g_loop, close_walk, NULL);
  if (g_unix_path) unlink(g_unix_path);
}

/* Soft RLIMIT_NOFILE up to the hard limit: benchmarks hold 1000+ sockets. */
static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* Parses HOST:PORT ([v6]:PORT too) into addr. Returns 0 or -1. */
static int parse_hostport(const char *arg, struct sockaddr_storage *addr) {
  const char *colon = strrchr(arg, ':');
  if (!colon || colon == arg) return -1;
  char host[256];
  size_t hl = (size_t)(colon - arg);
  if (arg[0] == '[' && hl >= 2 && arg[hl - 1] == ']') {
    arg++;
    hl -= 2;
  }
  if (hl >= sizeof host) return -1;
  memcpy(host, arg, hl);
  host[hl] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || port < 0 || port > 65535) return -1;
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)addr) == 0) return 0;
  if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)addr) == 0) return 0;
  return -1;
}

static void usage(void) {
  fprintf(stderr, "usage: rpc_yardstick PATH | --tcp HOST:PORT\n");
  exit(2);
}

/* The fixed Hello result: {"Objects":{"Instance/0.6.1":[{"Name":".",
 * "ProxyFor":""}]}}, as an InfraKit instance plugin answers it. */
static json_t *hello_result(void) {
  return json_pack("{s:{s:[{s:s,s:s}]}}", "Objects", "Instance/0.6.1", "Name",
                   ".", "ProxyFor", "");
}

int main(int argc, char **argv) {
  struct sockaddr_storage addr;
  const char *where;
  if (argc == 2 && argv[1][0] != '-') {
    g_unix_path = argv[1];
    where = argv[1];
  } else if (argc == 3 && strcmp(argv[1], "--tcp") == 0) {
    if (parse_hostport(argv[2], &addr) != 0) usage();
    g_is_tcp = 1;
    where = argv[2];
  } else {
    usage();
  }

  raise_nofile();
  signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error code */
  g_result = hello_result();
  g_version = json_string("2.0");
  if (!g_result || !g_version) abort();

  g_settings.on_message_begin = on_message_begin;
  g_settings.on_url = on_url;
  g_settings.on_body = on_body;
  g_settings.on_message_complete = on_message_complete;

  g_loop = uv_default_loop();
  int r;
  if (g_is_tcp) {
    uv_tcp_init(g_loop, &g_server.tcp);
    r = uv_tcp_bind(&g_server.tcp, (const struct sockaddr *)&addr, 0);
  } else {
    struct stat st; /* replace a stale socket, never anything else */
    if (lstat(g_unix_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
      unlink(g_unix_path);
    }
    uv_pipe_init(g_loop, &g_server.pipe, 0);
    r = uv_pipe_bind(&g_server.pipe, g_unix_path);
  }
  if (r != 0) die("bind", r);
  r = uv_listen(&g_server.s, 4096, on_connection);
  if (r != 0) {
    if (g_unix_path) unlink(g_unix_path);
    die("listen", r);
  }

  uv_signal_init(g_loop, &g_sigterm);
  uv_signal_start(&g_sigterm, on_signal, SIGTERM);
  uv_signal_init(g_loop, &g_sigint);
  uv_signal_start(&g_sigint, on_signal, SIGINT);

  printf("{\"listening\":\"%s\"}\n", where);
  fflush(stdout);

  uv_run(g_loop, UV_RUN_DEFAULT);
  r = uv_loop_close(g_loop);
  json_decref(g_result);
  json_decref(g_version);
  free(g_out);
  if (r != 0) {
    fprintf(stderr, "rpc_yardstick: loop_close: %s\n", uv_strerror(r));
    return 1;
  }
  return 0;
}
