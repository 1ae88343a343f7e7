/* rpc_load: closed-loop load client for HTTP/1.1 JSON-RPC servers.
 *
 *   rpc_load --unix PATH | --tcp HOST:PORT [--conns N] [--seconds S]
 *            [--warmup S] [--idle N]
 *
 * Normal mode: N keep-alive connections, each with one request in flight at
 * a time (no pipelining). The request is InfraKit's Go client's
 * Handshake.Hello, byte for byte. A call counts when its whole response has
 * been read (status 200, body containing "result") inside the measuring
 * window, which opens after the warmup; calls in flight when it closes are
 * dropped. Prints one JSON line:
 *   {"calls":..,"seconds":..,"calls_per_sec":..,"p50_us":..,"p99_us":..,
 *    "errors":..}
 * A connection that fails (connect, write, non-200, bad body, closed by the
 * server) counts one error and is not reopened; the first error is printed
 * to stderr. Exits 1 if there were errors or no calls.
 *
 * Idle mode (--idle N): opens N connections, makes one call on each so the
 * server has surely accepted and served them, prints {"idle_open":K} (K
 * connections that succeeded) and keeps them open until SIGTERM/SIGINT or
 * EOF on stdin, then closes them and exits (1 if any failed). stdin is only
 * watched when it is a pipe, socket or terminal: a file or /dev/null (a
 * background job's stdin) would be at EOF at once, so then only the signal
 * ends it. */

#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <http_parser.h>
#include <uv.h>

#define BODY                                                           \
  "{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{}," \
  "\"id\":2738014149164670554}"

/* One client connection; all live in g_conns, freed at exit. */
typedef struct lconn {
  union {
    uv_handle_t h;
    uv_stream_t s;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } u;
  uv_connect_t connect_req;
  http_parser parser;
  uint64_t t_sent; /* uv_hrtime() when the request in flight was sent */
  int in_flight;   /* a request is out, its response not complete */
  int closed;      /* uv_close called */
  int settled;     /* idle mode: its one call succeeded or it failed */
  char *body;      /* response body so far */
  size_t body_len, body_cap;
} lconn_t;

static uv_loop_t *g_loop;
static http_parser_settings g_settings;
static char g_req[8192];          /* the request bytes; not const for uv_buf_t */
static const char *g_body = BODY; /* --body: another JSON-RPC request */
static size_t g_req_len;

static int g_is_tcp;
static const char *g_unix_path;
static struct sockaddr_storage g_addr;

static lconn_t *g_conns;
static int g_nconns;
static int g_live; /* connections not closed */
static int g_idle_mode, g_idle_pending, g_idle_ok;
static int g_stopping;

static int g_measuring;
static uint64_t g_t0, g_t1; /* measuring window, uv_hrtime() */
static uint64_t *g_lat;     /* latencies in ns, calls in the window */
static size_t g_calls, g_lat_cap;
static unsigned long g_errors;

static uv_timer_t g_timer;
static double g_seconds = 3, g_warmup = 0.5;
static uv_signal_t g_sigterm, g_sigint;
static union {
  uv_handle_t h;
  uv_stream_t s;
  uv_pipe_t pipe;
  uv_tty_t tty;
} g_stdin;
static int g_stdin_open;

static void finish_normal(void);
static void idle_settle(lconn_t *c);

static void conn_close(lconn_t *c) {
  if (c->closed) return;
  c->closed = 1;
  g_live--;
  uv_close(&c->u.h, NULL);
  if (!g_idle_mode && g_live == 0 && !g_stopping) finish_normal();
}

/* Counts an error on c, reports the first one, closes c. uverr may be 0. */
static void conn_fail(lconn_t *c, const char *what, int uverr) {
  if (g_stopping || c->closed) return; /* our own teardown is no error */
  if (g_errors++ == 0) {
    fprintf(stderr, "rpc_load: connection %d: %s%s%s\n", (int)(c - g_conns),
            what, uverr ? ": " : "", uverr ? uv_strerror(uverr) : "");
  }
  conn_close(c);
  if (g_idle_mode) idle_settle(c);
}

static void on_write(uv_write_t *req, int status) {
  lconn_t *c = req->handle->data;
  free(req);
  if (status < 0 && status != UV_ECANCELED) conn_fail(c, "write", status);
}

/* Sends the request on c: uv_try_write, then uv_write for what is left. */
static void send_request(lconn_t *c) {
  c->in_flight = 1;
  c->body_len = 0;
  c->t_sent = uv_hrtime();
  uv_buf_t b = uv_buf_init(g_req, (unsigned)g_req_len);
  int r = uv_try_write(&c->u.s, &b, 1);
  if (r == (int)g_req_len) return;
  if (r < 0 && r != UV_EAGAIN) {
    conn_fail(c, "write", r);
    return;
  }
  size_t off = r > 0 ? (size_t)r : 0;
  uv_write_t *w = malloc(sizeof *w);
  if (!w) abort();
  b = uv_buf_init(g_req + off, (unsigned)(g_req_len - off));
  r = uv_write(w, &c->u.s, &b, 1, on_write);
  if (r != 0) {
    free(w);
    conn_fail(c, "write", r);
  }
}

static int on_message_begin(http_parser *p) {
  lconn_t *c = p->data;
  c->body_len = 0;
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  lconn_t *c = p->data;
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

static void record(uint64_t ns) {
  if (g_calls == g_lat_cap) {
    g_lat_cap = g_lat_cap ? g_lat_cap * 2 : 1 << 16;
    uint64_t *l = realloc(g_lat, g_lat_cap * sizeof *l);
    if (!l) abort();
    g_lat = l;
  }
  g_lat[g_calls++] = ns;
}

/* A whole response: check it, record it, send the next request. Returns
 * non-zero to stop the parser when c was closed. */
static int on_message_complete(http_parser *p) {
  lconn_t *c = p->data;
  uint64_t now = uv_hrtime();
  if (!c->in_flight) {
    conn_fail(c, "response without a request", 0);
    return 1;
  }
  c->in_flight = 0;
  if (p->status_code != 200) {
    char what[64];
    snprintf(what, sizeof what, "HTTP status %u", p->status_code);
    conn_fail(c, what, 0);
    return 1;
  }
  if (!c->body || !memmem(c->body, c->body_len, "\"result\"", 8)) {
    conn_fail(c, "response body has no \"result\"", 0);
    return 1;
  }
  if (!http_should_keep_alive(p)) {
    conn_fail(c, "server will close the connection", 0);
    return 1;
  }
  if (g_idle_mode) {
    g_idle_ok++;
    idle_settle(c);
    return 0;
  }
  if (g_measuring) record(now - c->t_sent);
  if (!g_stopping) send_request(c);
  return c->closed;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char rbuf[64 * 1024]; /* shared: consumed before on_read returns */
  (void)h;
  (void)hint;
  *buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  lconn_t *c = s->data;
  if (n < 0) {
    conn_fail(c, n == UV_EOF ? "server closed the connection" : "read",
              n == UV_EOF ? 0 : (int)n);
    return;
  }
  if (n == 0 || c->closed) return;
  size_t done = http_parser_execute(&c->parser, &g_settings, buf->base,
                                    (size_t)n);
  if (c->closed) return;
  if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || done != (size_t)n) {
    conn_fail(c, http_errno_description(HTTP_PARSER_ERRNO(&c->parser)), 0);
  }
}

static void on_connect(uv_connect_t *req, int status) {
  lconn_t *c = req->handle->data;
  if (status < 0) {
    conn_fail(c, "connect", status);
    return;
  }
  if (g_is_tcp) uv_tcp_nodelay(&c->u.tcp, 1); /* as Go does */
  int r = uv_read_start(&c->u.s, on_alloc, on_read);
  if (r != 0) {
    conn_fail(c, "read_start", r);
    return;
  }
  send_request(c);
}

static void close_all(void) {
  g_stopping = 1;
  for (int i = 0; i < g_nconns; i++) conn_close(&g_conns[i]);
  if (!uv_is_closing((uv_handle_t *)&g_timer)) {
    uv_close((uv_handle_t *)&g_timer, NULL);
  }
  if (g_idle_mode) {
    if (!uv_is_closing((uv_handle_t *)&g_sigterm)) {
      uv_close((uv_handle_t *)&g_sigterm, NULL);
      uv_close((uv_handle_t *)&g_sigint, NULL);
    }
    if (g_stdin_open && !uv_is_closing(&g_stdin.h)) {
      uv_close(&g_stdin.h, NULL);
    }
  }
}

/* Ends the measuring window (if open) and tears everything down. */
static void finish_normal(void) {
  if (g_measuring) {
    g_t1 = uv_hrtime();
    g_measuring = 0;
  }
  close_all();
}

static void on_measure_end(uv_timer_t *t) {
  (void)t;
  finish_normal();
}

static void start_measuring(void) {
  g_measuring = 1;
  g_t0 = g_t1 = uv_hrtime();
  uv_timer_start(&g_timer, on_measure_end, (uint64_t)(g_seconds * 1000), 0);
}

static void on_warmup_end(uv_timer_t *t) {
  (void)t;
  start_measuring();
}

static void on_stop_signal(uv_signal_t *sig, int signum) {
  (void)sig;
  (void)signum;
  close_all();
}

static void on_stdin_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char sink[4096];
  (void)h;
  (void)hint;
  *buf = uv_buf_init(sink, sizeof sink);
}

static void on_stdin_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)s;
  (void)buf;
  if (n < 0) close_all(); /* EOF (or error): the parent is gone */
}

/* Watches stdin for EOF if it is a stream; see the header comment. */
static void watch_stdin(void) {
  int r;
  switch (uv_guess_handle(0)) {
  case UV_NAMED_PIPE:
    uv_pipe_init(g_loop, &g_stdin.pipe, 0);
    r = uv_pipe_open(&g_stdin.pipe, 0);
    break;
  case UV_TTY:
    r = uv_tty_init(g_loop, &g_stdin.tty, 0, 1);
    break;
  default:
    return;
  }
  g_stdin_open = 1;
  if (r == 0) r = uv_read_start(&g_stdin.s, on_stdin_alloc, on_stdin_read);
  if (r != 0) {
    fprintf(stderr, "rpc_load: stdin: %s (waiting for SIGTERM only)\n",
            uv_strerror(r));
    uv_close(&g_stdin.h, NULL);
  }
}

/* Idle connection c finished its call or failed; counted once per
 * connection. When all have, reports and waits, unless none is open. */
static void idle_settle(lconn_t *c) {
  if (c->settled) return;
  c->settled = 1;
  if (--g_idle_pending > 0) return;
  printf("{\"idle_open\":%d}\n", g_idle_ok);
  fflush(stdout);
  if (g_stopping) return;
  if (g_live == 0) {
    close_all(); /* nothing to hold open */
  } else {
    watch_stdin();
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted latencies, in microseconds. */
static double pct_us(double p) {
  if (g_calls == 0) return 0;
  double rank = p * (double)g_calls; /* 1-based; take its ceiling */
  size_t i = (size_t)rank;
  if ((double)i < rank) i++;
  i = i ? i - 1 : 0;
  if (i >= g_calls) i = g_calls - 1;
  return (double)g_lat[i] / 1e3;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: rpc_load --unix PATH | --tcp HOST:PORT [--conns N] "
          "[--seconds S] [--warmup S] [--idle N] [--body JSON]\n");
  exit(2);
}

/* Resolves HOST:PORT ([v6]:PORT too) into g_addr; exits 2 on failure. */
static void resolve(const char *arg) {
  const char *colon = strrchr(arg, ':');
  char host[256];
  size_t hl = colon ? (size_t)(colon - arg) : 0;
  if (!colon || hl == 0) usage();
  if (arg[0] == '[' && hl >= 2 && arg[hl - 1] == ']') {
    arg++;
    hl -= 2;
  }
  if (hl >= sizeof host) usage();
  memcpy(host, arg, hl);
  host[hl] = '\0';
  struct addrinfo hints = {0}, *res;
  hints.ai_socktype = SOCK_STREAM;
  int r = getaddrinfo(host, colon + 1, &hints, &res);
  if (r != 0) {
    fprintf(stderr, "rpc_load: %s: %s\n", arg, gai_strerror(r));
    exit(2);
  }
  memcpy(&g_addr, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
}

static double num_arg(const char *s, double min) {
  char *end;
  double v = s ? strtod(s, &end) : 0;
  if (!s || *end || end == s || !(v >= min)) usage();
  return v;
}

int main(int argc, char **argv) {
  int nconns = 1, nidle = 0;
  for (int i = 1; i < argc; i += 2) { /* every option takes a value */
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--unix") == 0 && v) {
      g_unix_path = v;
      g_is_tcp = 0;
    } else if (strcmp(a, "--tcp") == 0 && v) {
      resolve(v);
      g_is_tcp = 1;
      g_unix_path = NULL;
    } else if (strcmp(a, "--conns") == 0) {
      nconns = (int)num_arg(v, 1);
    } else if (strcmp(a, "--seconds") == 0) {
      g_seconds = num_arg(v, 0.001);
    } else if (strcmp(a, "--warmup") == 0) {
      g_warmup = num_arg(v, 0);
    } else if (strcmp(a, "--body") == 0 && v && strlen(v) < 7000) {
      g_body = v;
    } else if (strcmp(a, "--idle") == 0) {
      nidle = (int)num_arg(v, 1);
    } else {
      usage();
    }
  }
  if (!g_is_tcp && !g_unix_path) usage();

  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  g_req_len = (size_t)snprintf(g_req, sizeof g_req,
                               "POST / HTTP/1.1\r\nHost: h\r\n"
                               "User-Agent: Go-http-client/1.1\r\n"
                               "Content-Length: %zu\r\n"
                               "Content-Type: application/json\r\n"
                               "Accept-Encoding: gzip\r\n\r\n%s",
                               strlen(g_body), g_body);
  g_settings.on_message_begin = on_message_begin;
  g_settings.on_body = on_body;
  g_settings.on_message_complete = on_message_complete;

  g_loop = uv_default_loop();
  g_idle_mode = nidle > 0;
  g_nconns = g_idle_mode ? nidle : nconns;
  g_idle_pending = g_nconns;
  g_conns = calloc((size_t)g_nconns, sizeof *g_conns);
  if (!g_conns) abort();
  uv_timer_init(g_loop, &g_timer);
  if (g_idle_mode) {
    uv_signal_init(g_loop, &g_sigterm);
    uv_signal_start(&g_sigterm, on_stop_signal, SIGTERM);
    uv_signal_init(g_loop, &g_sigint);
    uv_signal_start(&g_sigint, on_stop_signal, SIGINT);
  } else if (g_warmup > 0) {
    uv_timer_start(&g_timer, on_warmup_end, (uint64_t)(g_warmup * 1000), 0);
  } else {
    start_measuring();
  }

  g_live = g_nconns;
  for (int i = 0; i < g_nconns; i++) {
    lconn_t *c = &g_conns[i];
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    if (g_is_tcp) {
      uv_tcp_init(g_loop, &c->u.tcp);
      c->u.h.data = c;
      int r = uv_tcp_connect(&c->connect_req, &c->u.tcp,
                             (const struct sockaddr *)&g_addr, on_connect);
      if (r != 0) conn_fail(c, "connect", r);
    } else {
      uv_pipe_init(g_loop, &c->u.pipe, 0);
      c->u.h.data = c;
      uv_pipe_connect(&c->connect_req, &c->u.pipe, g_unix_path, on_connect);
    }
  }

  uv_run(g_loop, UV_RUN_DEFAULT);
  int r = uv_loop_close(g_loop);
  if (r != 0) fprintf(stderr, "rpc_load: loop_close: %s\n", uv_strerror(r));
  for (int i = 0; i < g_nconns; i++) free(g_conns[i].body);
  free(g_conns);

  if (g_idle_mode) {
    free(g_lat);
    return g_errors > 0 || r != 0;
  }
  double secs = (double)(g_t1 - g_t0) / 1e9;
  qsort(g_lat, g_calls, sizeof *g_lat, cmp_u64);
  printf("{\"calls\":%zu,\"seconds\":%.3f,\"calls_per_sec\":%.1f,"
         "\"p50_us\":%.1f,\"p99_us\":%.1f,\"errors\":%lu}\n",
         g_calls, secs, secs > 0 ? (double)g_calls / secs : 0.0,
         pct_us(0.50), pct_us(0.99), g_errors);
  free(g_lat);
  if (g_errors > 1) {
    fprintf(stderr, "rpc_load: %lu errors in all\n", g_errors);
  }
  return g_errors > 0 || g_calls == 0 || r != 0;
}
