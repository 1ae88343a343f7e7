/* HTTP/1.1 server: listener, connections, request assembly, responses.
 *
 * One read buffer is shared by the whole server: libuv calls the alloc and
 * read callbacks back to back on the loop thread, so bytes are parsed
 * straight out of it and only the unparsed tail of a pipelined batch is
 * copied (into conn->pending). That keeps an idle connection small. */
#include "net/server/http_server.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"

#define IK_HTTP_READ_BUF 65536

typedef struct ik_http_conn ik_http_conn_t;

struct ik_http_server {
  ik_loop_t *loop;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } listener;
  bool is_tcp;
  bool closing;
  int port;
  char host[64];    /* the TCP listen address, without brackets */
  bool wildcard;    /* listening on 0.0.0.0 or :: */
  SSL_CTX *tls;     /* TLS with client certificates, or NULL */
  int open_handles; /* the listener, plus one per live conn */
  ik_http_handler handler;
  void *data;
  ik_http_server_opts_t opts; /* defaults filled in; paths not kept */
  ik_http_conn_t *conns;      /* doubly linked, for close */
  ik_http_stats_t stats;
  time_t date_at; /* the second date_hdr was made for */
  char date_hdr[64];
  char readbuf[IK_HTTP_READ_BUF];
};

struct ik_http_conn {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } h;
  uv_timer_t timer;
  http_parser parser;
  ik_http_server_t *s;
  ik_http_conn_t *prev, *next;
  int handles; /* open uv handles: stream + timer */

  /* The request being assembled or served. */
  ik_buf_t url, body, hfield, hvalue, ctype, hosthdr;
  ik_buf_t headers; /* every header: "name\0value\0" pairs */
  bool in_value, have_ctype, have_host, dup_host;
  size_t header_bytes;
  int reject_status; /* set by a parser callback to answer 413 / 431 */
  bool in_message;   /* first byte of a request seen, not yet complete */
  uint64_t deadline; /* loop time by which the request in progress must be complete */
  bool busy;         /* dispatched, not yet responded */
  bool keep_alive;
  bool closing;
  bool done; /* answering its last request; closes once written */
  bool reading;
  bool head;        /* serving a HEAD request: its response has no body */
  int feeding;      /* inside conn_feed (guards re-entry from respond) */
  ik_buf_t pending; /* received but not yet parsed (pipelining) */
  SSL *ssl;         /* TLS over memory BIOs, or NULL */
  BIO *rbio, *wbio; /* socket bytes in; bytes for the socket out (owned by ssl) */
  bool handshaking; /* TLS handshake not yet complete; deadline applies */
  bool draining;    /* TLS handshake failed: alert sent, reading until EOF */
  uv_shutdown_t shutdown;
  ik_http_stream_t *stream; /* streaming a response (then done is set), or NULL */
  bool close_when_sent;     /* the stream ended: close once the queue is written */
  ik_http_request_t req;
  char method[16];
};

struct ik_http_stream {
  ik_http_conn_t *c;
  ik_http_stream_closed_cb on_closed;
  void *data;
};

typedef struct ik_http_write {
  uv_write_t req;
  ik_http_conn_t *conn;
  bool close_after;
  size_t len;
  char data[];
} ik_http_write_t;

static void conn_feed(ik_http_conn_t *c, const char *data, size_t len);
static void conn_close(ik_http_conn_t *c);
static ik_http_conn_t *conn_of_req(const ik_http_request_t *req);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void conn_arm_timer(ik_http_conn_t *c);
static void server_maybe_free(ik_http_server_t *s);

const char *ik_http_reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 413: return "Request Entity Too Large";
  case 415: return "Unsupported Media Type";
  case 421: return "Misdirected Request";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Unknown";
  }
}

/* --- responses ---------------------------------------------------------- */

static const char *server_date(ik_http_server_t *s) {
  time_t now = time(NULL);
  if (now != s->date_at) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->date_hdr, sizeof s->date_hdr, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    s->date_at = now;
  }
  return s->date_hdr;
}

static void on_write_done(uv_write_t *req, int status) {
  ik_http_write_t *w = (ik_http_write_t *)req;
  ik_http_conn_t *c = w->conn;
  if (status < 0 || w->close_after) conn_close(c);
  else if (c->close_when_sent && c->h.stream.write_queue_size == 0) conn_close(c);
  ik_free(w);
}

/* --- TLS ----------------------------------------------------------------
 *
 * OpenSSL works on two memory BIOs: bytes read from the socket go into
 * rbio, SSL_read gives the plaintext to the HTTP parser; SSL_write and the
 * handshake put records into wbio, which tls_flush() hands to uv_write. */

/* Send whatever TLS produced; close_after: close once it is written. */
static void tls_flush(ik_http_conn_t *c, bool close_after) {
  size_t n = BIO_ctrl_pending(c->wbio);
  if (n == 0) {
    if (close_after) conn_close(c);
    return;
  }
  ik_http_write_t *w = ik_malloc(sizeof *w + n);
  w->conn = c;
  w->close_after = close_after;
  w->len = (size_t)BIO_read(c->wbio, w->data, (int)n);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
  if (uv_write(&w->req, &c->h.stream, &b, 1, on_write_done) < 0) {
    ik_free(w);
    conn_close(c);
  }
}

/* Why a TLS connection failed, for the log: OpenSSL's error queue, or the
 * certificate verification result. */
static void tls_log_failure(ik_http_conn_t *c, const char *what) {
  char buf[256] = "";
  unsigned long e = ERR_get_error();
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  long v = SSL_get_verify_result(c->ssl);
  ik_log(IK_LOG_INFO, "http", what, "error", buf[0] ? buf : "connection closed",
         v != X509_V_OK ? "verify" : NULL, X509_verify_cert_error_string(v), NULL);
  ERR_clear_error();
}

static void conn_feed(ik_http_conn_t *c, const char *data, size_t len);
static void on_conn_timer(uv_timer_t *t);

static void on_shutdown_done(uv_shutdown_t *req, int status) { (void)req, (void)status; }

/* After a failed handshake: send OpenSSL's alert, end our side, and read
 * (discarding) until the client closes, for at most a second. Closing at
 * once would make the kernel answer the client's pending bytes with a
 * reset that can destroy the alert before the client reads it - and the
 * alert ("certificate required", "unknown CA") is what tells the user why. */
static void tls_drain(ik_http_conn_t *c) {
  c->handshaking = false;
  c->draining = true;
  c->done = true;
  tls_flush(c, false);
  if (c->closing) return;
  if (uv_shutdown(&c->shutdown, &c->h.stream, on_shutdown_done) < 0) {
    conn_close(c);
    return;
  }
  uv_timer_start(&c->timer, on_conn_timer, 1000, 0);
}

/* Bytes from the socket on a TLS connection: handshake, then decrypt and
 * feed the parser. A handshake that fails (no client certificate, one from
 * another CA, not TLS at all) sends OpenSSL's alert and closes. */
static void tls_on_read(ik_http_conn_t *c, const char *data, size_t len) {
  ERR_clear_error(); /* SSL_get_error reads the (per-thread) queue: start it empty */
  if (BIO_write(c->rbio, data, (int)len) != (int)len) {
    conn_close(c);
    return;
  }
  if (c->handshaking) {
    int rc = SSL_do_handshake(c->ssl);
    if (rc != 1) {
      int e = SSL_get_error(c->ssl, rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        tls_flush(c, false);
        return;
      }
      tls_log_failure(c, "TLS handshake failed");
      tls_drain(c);
      return;
    }
    c->handshaking = false;
    tls_flush(c, false);
    if (c->closing) return;
    conn_arm_timer(c); /* idle until the first request byte */
  }
  char plain[16384];
  for (;;) {
    int n = SSL_read(c->ssl, plain, sizeof plain);
    if (n > 0) {
      conn_feed(c, plain, (size_t)n);
      if (c->closing || c->done) return;
      continue;
    }
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
    if (e != SSL_ERROR_ZERO_RETURN) tls_log_failure(c, "TLS read failed");
    ERR_clear_error();
    tls_flush(c, true);
    return;
  }
  tls_flush(c, false); /* post-handshake messages, key updates */
}

/* Send head then body (either may be empty); close_after: close once
 * written. Most writes fit the socket buffer: they go now, without a copy;
 * only what the kernel did not take is queued. */
static void conn_send(ik_http_conn_t *c, const char *head, size_t hl, const char *body, size_t body_len,
                      bool close_after) {
  if (c->ssl) {
    /* Encrypted into the memory BIO (which grows: SSL_write never waits). */
    ERR_clear_error(); /* the queue is per thread; curl uses it too */
    if ((hl && SSL_write(c->ssl, head, (int)hl) <= 0) || (body_len && SSL_write(c->ssl, body, (int)body_len) <= 0)) {
      ERR_clear_error();
      conn_close(c);
      return;
    }
    tls_flush(c, close_after);
    return;
  }
  size_t total = hl + body_len;
  size_t sent = 0;
  if (c->h.stream.write_queue_size == 0) { /* else the new bytes go after the queued ones */
    uv_buf_t bufs[2] = {uv_buf_init((char *)(uintptr_t)head, (unsigned)hl),
                        uv_buf_init((char *)(uintptr_t)body, (unsigned)body_len)};
    int n = uv_try_write(&c->h.stream, hl ? bufs : bufs + 1, hl && body_len ? 2 : 1);
    if (n < 0 && n != UV_EAGAIN) {
      conn_close(c);
      return;
    }
    sent = n > 0 ? (size_t)n : 0;
  }
  if (sent == total) {
    if (close_after) conn_close(c);
    return;
  }
  ik_http_write_t *w = ik_malloc(sizeof *w + total - sent);
  w->conn = c;
  w->close_after = close_after;
  w->len = total - sent;
  if (sent < hl) {
    memcpy(w->data, head + sent, hl - sent);
    if (body_len) memcpy(w->data + hl - sent, body, body_len);
  } else {
    memcpy(w->data, body + (sent - hl), total - sent);
  }
  uv_buf_t rest = uv_buf_init(w->data, (unsigned)w->len);
  if (uv_write(&w->req, &c->h.stream, &rest, 1, on_write_done) < 0) {
    ik_free(w);
    conn_close(c);
  }
}

/* Queue status line, headers and body. close_after: close once written.
 * no_body (a HEAD request): Content-Length says body_len, no body follows.
 * headers: more header lines, each ending in CRLF, or NULL. */
static void conn_write(ik_http_conn_t *c, int status, const char *content_type, const char *headers,
                       const char *body, size_t body_len, bool no_body, bool close_after) {
  char head[2048];
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s%sContent-Length: %zu\r\n%s\r\n", status,
                    ik_http_reason(status), server_date(c->s), content_type ? "Content-Type: " : "",
                    content_type ? content_type : "", content_type ? "\r\n" : "", headers ? headers : "", body_len,
                    close_after ? "Connection: close\r\n" : "");
  if (hl < 0 || (size_t)hl >= sizeof head) abort(); /* content types and headers are ours and short */
  conn_send(c, head, (size_t)hl, body, no_body ? 0 : body_len, close_after);
}

static void conn_read_stop(ik_http_conn_t *c);

/* The server answers a bad request itself and closes the connection. */
static void conn_reject(ik_http_conn_t *c, int status, const char *text) {
  c->s->stats.rejected++;
  c->in_message = false;
  c->done = true; /* parse nothing more; the write closes the connection */
  conn_read_stop(c);
  uv_timer_stop(&c->timer);
  conn_write(c, status, "text/plain; charset=utf-8", NULL, text, strlen(text), false, true);
}

/* --- reading ----------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  ik_http_conn_t *c = h->data;
  *buf = uv_buf_init(c->s->readbuf, sizeof c->s->readbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  ik_http_conn_t *c = stream->data;
  if (nread < 0) { /* EOF or error: the client went away */
    if (nread != UV_EOF && nread != UV_ECONNRESET)
      ik_log(IK_LOG_DEBUG, "http", "read failed", "error", uv_strerror((int)nread), NULL);
    conn_close(c);
    return;
  }
  if (nread == 0 || c->draining || c->stream) return; /* a stream's client has nothing more to say */
  if (c->ssl) tls_on_read(c, buf->base, (size_t)nread);
  else conn_feed(c, buf->base, (size_t)nread);
}

static void conn_read_start(ik_http_conn_t *c) {
  if (c->reading || c->closing || c->done) return;
  if (uv_read_start(&c->h.stream, on_alloc, on_read) == 0) c->reading = true;
  else conn_close(c);
}

static void conn_read_stop(ik_http_conn_t *c) {
  if (!c->reading) return;
  uv_read_stop(&c->h.stream);
  c->reading = false;
}

/* --- parser callbacks --------------------------------------------------- */

static ik_http_conn_t *conn_of(http_parser *p) { return p->data; }

static int count_header(ik_http_conn_t *c, size_t len) {
  c->header_bytes += len;
  if (c->header_bytes > c->s->opts.max_header_bytes) {
    c->reject_status = 431;
    return -1;
  }
  return 0;
}

static void finish_header(ik_http_conn_t *c) {
  if (!c->in_value) return;
  ik_buf_append(&c->headers, c->hfield.data, c->hfield.len);
  ik_buf_putc(&c->headers, '\0');
  ik_buf_append(&c->headers, c->hvalue.data, c->hvalue.len);
  ik_buf_putc(&c->headers, '\0');
  if (c->hfield.len == 12 && strncasecmp(c->hfield.data, "content-type", 12) == 0) {
    ik_buf_reset(&c->ctype);
    ik_buf_append(&c->ctype, c->hvalue.data, c->hvalue.len);
    c->have_ctype = true;
  } else if (c->hfield.len == 4 && strncasecmp(c->hfield.data, "host", 4) == 0) {
    ik_buf_reset(&c->hosthdr);
    ik_buf_append(&c->hosthdr, c->hvalue.data, c->hvalue.len);
    ik_buf_append(&c->hosthdr, "", 1);
    c->hosthdr.len--;
    if (c->have_host) c->dup_host = true; /* two Host headers: refused */
    c->have_host = true;
  }
  ik_buf_reset(&c->hfield);
  ik_buf_reset(&c->hvalue);
  c->in_value = false;
}

static int on_message_begin(http_parser *p) {
  ik_http_conn_t *c = conn_of(p);
  ik_buf_reset(&c->url);
  ik_buf_reset(&c->body);
  ik_buf_reset(&c->hfield);
  ik_buf_reset(&c->hvalue);
  ik_buf_reset(&c->headers);
  c->have_ctype = false;
  c->have_host = c->dup_host = false;
  ik_buf_reset(&c->hosthdr);
  c->in_value = false;
  c->header_bytes = 0;
  c->in_message = true;
  /* One deadline for the whole request, head and body: reading more bytes
   * does not extend it, so a client dribbling a byte at a time is cut off. */
  c->deadline = uv_now(&c->s->loop->uv) + c->s->opts.request_timeout_ms;
  conn_arm_timer(c);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  ik_http_conn_t *c = conn_of(p);
  if (count_header(c, len) < 0) return -1;
  ik_buf_append(&c->url, at, len);
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  ik_http_conn_t *c = conn_of(p);
  if (count_header(c, len) < 0) return -1;
  finish_header(c);
  ik_buf_append(&c->hfield, at, len);
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  ik_http_conn_t *c = conn_of(p);
  if (count_header(c, len) < 0) return -1;
  ik_buf_append(&c->hvalue, at, len);
  c->in_value = true;
  return 0;
}

static int on_headers_complete(http_parser *p) {
  ik_http_conn_t *c = conn_of(p);
  finish_header(c);
  /* Refuse an announced oversized body before reading a byte of it. */
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->s->opts.max_body_bytes) {
    c->reject_status = 413;
    return -1;
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  ik_http_conn_t *c = conn_of(p);
  if (c->body.len + len > c->s->opts.max_body_bytes) { /* chunked bodies */
    c->reject_status = 413;
    return -1;
  }
  ik_buf_append(&c->body, at, len);
  return 0;
}

static int on_message_complete(http_parser *p) {
  ik_http_conn_t *c = conn_of(p);
  c->keep_alive = http_should_keep_alive(p) != 0;
  c->in_message = false;
  /* Stop here: the handler runs before the next pipelined request is
   * parsed, which keeps responses in request order. */
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* --- the Host check ------------------------------------------------------- */

/* Whether host (a Host header's value) names this TCP listener: its own
 * address or localhost (any IP address when it listens on a wildcard
 * address), with the listener's port if a port is given. A browser led to
 * the port through a name the attacker controls (DNS rebinding) sends that
 * name, and is refused. */
static bool host_allowed(const ik_http_server_t *s, const char *host) {
  char name[256];
  const char *port = NULL;
  size_t n;
  if (host[0] == '[') {
    const char *end = strchr(host, ']');
    if (end == NULL) return false;
    n = (size_t)(end - host - 1);
    if (n >= sizeof name) return false;
    memcpy(name, host + 1, n);
    if (end[1] == ':') port = end + 2;
    else if (end[1] != '\0') return false;
  } else {
    const char *colon = strchr(host, ':');
    if (colon && strchr(colon + 1, ':')) return false; /* IPv6 without brackets */
    n = colon ? (size_t)(colon - host) : strlen(host);
    if (n >= sizeof name) return false;
    memcpy(name, host, n);
    if (colon) port = colon + 1;
  }
  name[n] = '\0';
  if (port) {
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p != s->port) return false;
  }
  if (strcasecmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0 || strcmp(name, "::1") == 0) return true;
  unsigned char a[16], b[16];
  int fam = strchr(name, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(fam, name, a) != 1) return false;
  if (s->wildcard) return true;
  return inet_pton(fam, s->host, b) == 1 && memcmp(a, b, fam == AF_INET6 ? 16 : 4) == 0;
}

/* --- dispatch ----------------------------------------------------------- */

static void conn_dispatch(ik_http_conn_t *c) {
  ik_http_request_t *r = &c->req;
  snprintf(c->method, sizeof c->method, "%s", http_method_str((enum http_method)c->parser.method));
  ik_buf_append(&c->url, "", 1); /* NUL-terminate */
  c->url.len--;
  char *q = memchr(c->url.data, '?', c->url.len);
  if (q) *q = '\0';
  if (c->have_ctype) {
    ik_buf_append(&c->ctype, "", 1);
    c->ctype.len--;
  }
  ik_buf_append(&c->body, "", 1);
  c->body.len--;
  *r = (ik_http_request_t){
      .method = c->method,
      .path = c->url.data,
      .query = q ? q + 1 : NULL,
      .content_type = c->have_ctype ? c->ctype.data : NULL,
      .body = c->body.data,
      .body_len = c->body.len,
      .server = c->s,
  };
  c->head = c->parser.method == HTTP_HEAD;
  c->busy = true;
  c->s->stats.requests++;
  uv_timer_stop(&c->timer); /* the handler's own deadlines apply now */
  c->s->handler(r, c->s->data);
}

static const char *s_host_for_msg(const ik_http_server_t *s) {
  return s->wildcard || s->host[0] == '\0' ? "127.0.0.1" : s->host;
}

static void conn_feed(ik_http_conn_t *c, const char *data, size_t len) {
  c->feeding++;
  while (len > 0 && !c->busy && !c->closing && !c->done) {
    size_t n = http_parser_execute(&c->parser, &parser_settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (n > len) n = len;
    data += n;
    len -= n;
    if (e == HPE_PAUSED) {
      if (c->s->opts.check_host && !(c->have_host && !c->dup_host && host_allowed(c->s, c->hosthdr.data))) {
        char msg[400];
        if (!c->have_host || c->dup_host) snprintf(msg, sizeof msg, "exactly one Host header is required\n");
        else snprintf(msg, sizeof msg, "Host \"%.200s\" is not this server's address; use %s:%d or localhost:%d\n",
                      c->hosthdr.data, s_host_for_msg(c->s), c->s->port, c->s->port);
        conn_reject(c, c->have_host && !c->dup_host ? 421 : 400, msg);
        len = 0;
        break;
      }
      conn_dispatch(c);
      continue;
    }
    if (e != HPE_OK) {
      if (c->reject_status == 413) conn_reject(c, 413, "request body too large\n");
      else if (c->reject_status == 431) conn_reject(c, 431, "request header fields too large\n");
      else {
        char msg[160];
        snprintf(msg, sizeof msg, "bad request: %s\n", http_errno_description(e));
        conn_reject(c, 400, msg);
      }
      len = 0;
      break;
    }
  }
  c->feeding--;
  if (c->closing || c->done) return;
  if (len > 0) ik_buf_append(&c->pending, data, len);
  if (c->busy) conn_read_stop(c);
  else {
    conn_arm_timer(c);
    conn_read_start(c);
  }
}

void ik_http_respond(ik_http_request_t *req, int status, const char *content_type, const char *body,
                     size_t body_len) {
  ik_http_respond_headers(req, status, content_type, NULL, body, body_len);
}

void ik_http_respond_headers(ik_http_request_t *req, int status, const char *content_type, const char *headers,
                             const char *body, size_t body_len) {
  ik_http_conn_t *c = conn_of_req(req);
  if (!c->busy) abort(); /* responded twice: a bug in the handler */
  c->busy = false;
  if (c->closing) { /* the client or the server went away meanwhile */
    conn_close(c);
    return;
  }
  if (!c->keep_alive) c->done = true;
  conn_write(c, status, content_type, headers, body, body_len, c->head, !c->keep_alive);
  if (c->closing || c->done) return;
  http_parser_pause(&c->parser, 0);
  if (c->feeding) return; /* conn_feed carries on with the rest */
  if (c->pending.len > 0) {
    ik_buf_t rest = c->pending;
    c->pending = (ik_buf_t){0};
    conn_feed(c, rest.data, rest.len);
    ik_buf_free(&rest);
  } else {
    conn_arm_timer(c);
    conn_read_start(c);
  }
}

/* --- timers ------------------------------------------------------------- */

static void on_conn_timer(uv_timer_t *t) {
  ik_http_conn_t *c = t->data;
  if (c->draining) {
    conn_close(c);
    return;
  }
  c->s->stats.timeouts++;
  if (c->handshaking) conn_close(c);
  else if (c->in_message) conn_reject(c, 408, "request not received in time\n");
  else conn_close(c);
}

/* Idle between requests (restarted by each request's end), or the
 * request's deadline while one arrives (fixed at its first byte); nothing
 * while busy. */
static void conn_arm_timer(ik_http_conn_t *c) {
  if (c->closing || c->busy || c->done) return;
  uint64_t ms = c->s->opts.idle_timeout_ms;
  if (c->in_message || c->handshaking) {
    uint64_t now = uv_now(&c->s->loop->uv);
    ms = c->deadline > now ? c->deadline - now : 0;
  }
  uv_timer_start(&c->timer, on_conn_timer, ms, 0);
}

/* --- connections -------------------------------------------------------- */

static void conn_free(ik_http_conn_t *c) {
  ik_http_server_t *s = c->s;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  ik_buf_free(&c->url);
  ik_buf_free(&c->body);
  ik_buf_free(&c->hfield);
  ik_buf_free(&c->hvalue);
  ik_buf_free(&c->ctype);
  ik_buf_free(&c->pending);
  ik_buf_free(&c->hosthdr);
  ik_buf_free(&c->headers);
  if (c->ssl) SSL_free(c->ssl); /* and its BIOs */
  ik_free(c);
  s->open_handles--;
  s->stats.open--;
  server_maybe_free(s);
}

static void on_conn_handle_closed(uv_handle_t *h) {
  ik_http_conn_t *c = h->data;
  if (--c->handles == 0 && !c->busy) conn_free(c);
}

/* Close the connection. A request still with the handler keeps the memory
 * alive until it is responded to. */
static void conn_close(ik_http_conn_t *c) {
  if (c->closing) {
    if (c->handles == 0 && !c->busy) conn_free(c);
    return;
  }
  c->closing = true;
  c->reading = false;
  if (c->stream) { /* ended under the handler: tell it */
    ik_http_stream_t *st = c->stream;
    c->stream = NULL;
    c->s->stats.streams--;
    st->on_closed(st, st->data);
    ik_free(st);
  }
  uv_close(&c->h.handle, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_connection(uv_stream_t *listener, int status) {
  ik_http_server_t *s = listener->data;
  if (status < 0) {
    ik_log(IK_LOG_WARN, "http", "accept failed", "error", uv_strerror(status), NULL);
    return;
  }
  ik_http_conn_t *c = ik_calloc(1, sizeof *c);
  c->s = s;
  int rc = s->is_tcp ? uv_tcp_init(&s->loop->uv, &c->h.tcp) : uv_pipe_init(&s->loop->uv, &c->h.pipe, 0);
  if (rc < 0) {
    ik_free(c);
    return;
  }
  c->h.handle.data = c;
  uv_timer_init(&s->loop->uv, &c->timer);
  c->timer.data = c;
  c->handles = 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->open_handles++;
  s->stats.open++;
  if (uv_accept(listener, &c->h.stream) < 0) {
    conn_close(c);
    return;
  }
  s->stats.accepted++;
  if (s->is_tcp) uv_tcp_nodelay(&c->h.tcp, 1);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  if (s->tls) {
    c->ssl = SSL_new(s->tls);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
      SSL_free(c->ssl);
      BIO_free(c->rbio);
      BIO_free(c->wbio);
      c->ssl = NULL;
      ERR_clear_error();
      conn_close(c);
      return;
    }
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_accept_state(c->ssl);
    /* The handshake has the request deadline, from the accept. */
    c->handshaking = true;
    c->deadline = uv_now(&s->loop->uv) + s->opts.request_timeout_ms;
  }
  conn_arm_timer(c);
  conn_read_start(c);
}

/* --- listening ---------------------------------------------------------- */

static int parse_hostport(const char *spec, struct sockaddr_storage *ss, ik_err_t *err) {
  char host[256];
  const char *colon = strrchr(spec, ':');
  if (colon == NULL || colon == spec || colon[1] == '\0')
    return ik_err_set(err, IK_EINVAL, "listen address \"%s\": want HOST:PORT (e.g. 127.0.0.1:24864)", spec);
  size_t hl = (size_t)(colon - spec);
  if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
    spec++;
    hl -= 2;
  }
  if (hl >= sizeof host) return ik_err_set(err, IK_EINVAL, "listen address \"%s\": host too long", spec);
  memcpy(host, spec, hl);
  host[hl] = '\0';
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535)
    return ik_err_set(err, IK_EINVAL, "listen address \"%s\": port must be 0..65535", spec);
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) return 0;
  if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) return 0;
  return ik_err_set(err, IK_EINVAL, "listen address \"%s\": \"%s\" is not an IP address", spec, host);
}

static void on_listener_closed(uv_handle_t *h) {
  ik_http_server_t *s = h->data;
  s->open_handles--;
  server_maybe_free(s);
}

static void server_maybe_free(ik_http_server_t *s) {
  if (s->closing && s->open_handles == 0) {
    SSL_CTX_free(s->tls);
    ik_free(s);
  }
}

/* OpenSSL's first queued error, for a message. */
static const char *tls_error(char *buf, size_t len) {
  unsigned long e = ERR_get_error();
  if (e) ERR_error_string_n(e, buf, len);
  else snprintf(buf, len, "unknown error");
  ERR_clear_error();
  return buf;
}

/* A server context: TLS 1.2 or later, this certificate and key, and a
 * client certificate required, signed by a CA in client_ca. Errors name
 * the file (and the daemon's flag for it). */
static int tls_context(const ik_http_server_opts_t *o, SSL_CTX **out, ik_err_t *err) {
  char why[256];
  if (o->tls_key == NULL || o->tls_client_ca == NULL)
    return ik_err_set(err, IK_EINVAL, "TLS: a certificate needs its key (--tls-key) and the CA that signs client "
                                      "certificates (--tls-client-ca)");
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) return ik_err_set(err, IK_EIO, "TLS: %s", tls_error(why, sizeof why));
  int rc = 0;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1)
    rc = ik_err_set(err, IK_EINVAL, "--tls-cert %s: %s", o->tls_cert, tls_error(why, sizeof why));
  else if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1)
    rc = ik_err_set(err, IK_EINVAL, "--tls-key %s: %s", o->tls_key, tls_error(why, sizeof why));
  else if (SSL_CTX_check_private_key(ctx) != 1)
    rc = ik_err_set(err, IK_EINVAL, "--tls-key %s: does not match --tls-cert %s", o->tls_key, o->tls_cert);
  else if (SSL_CTX_load_verify_locations(ctx, o->tls_client_ca, NULL) != 1)
    rc = ik_err_set(err, IK_EINVAL, "--tls-client-ca %s: %s", o->tls_client_ca, tls_error(why, sizeof why));
  if (rc == 0) {
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->tls_client_ca);
    if (names == NULL) {
      rc = ik_err_set(err, IK_EINVAL, "--tls-client-ca %s: no CA certificate in it", o->tls_client_ca);
    } else {
      SSL_CTX_set_client_CA_list(ctx, names);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
  }
  if (rc < 0) {
    SSL_CTX_free(ctx);
    return rc;
  }
  *out = ctx;
  return 0;
}

int ik_http_server_start(ik_loop_t *loop, const ik_http_server_opts_t *opts, ik_http_handler handler,
                         void *data, ik_http_server_t **out, ik_err_t *err) {
  if ((opts->unix_path == NULL) == (opts->tcp == NULL))
    return ik_err_set(err, IK_EINVAL, "http server: give exactly one of a unix socket path or a TCP address");
  if (opts->tls_cert && opts->tcp == NULL)
    return ik_err_set(err, IK_EINVAL, "http server: TLS is for a TCP address only");
  ik_http_server_t *s = ik_calloc(1, sizeof *s);
  s->loop = loop;
  s->handler = handler;
  s->data = data;
  s->opts = *opts;
  s->opts.unix_path = s->opts.tcp = NULL;
  s->opts.tls_cert = s->opts.tls_key = s->opts.tls_client_ca = NULL;
  if (!s->opts.max_header_bytes) s->opts.max_header_bytes = 64 * 1024;
  if (!s->opts.max_body_bytes) s->opts.max_body_bytes = 8 * 1024 * 1024;
  if (!s->opts.request_timeout_ms) s->opts.request_timeout_ms = 10000;
  if (!s->opts.idle_timeout_ms) s->opts.idle_timeout_ms = 120000;
  if (!s->opts.max_stream_backlog) s->opts.max_stream_backlog = 1 << 20;
  int backlog = opts->backlog > 0 ? opts->backlog : 511;
  int rc;
  if (opts->tcp) {
    struct sockaddr_storage ss;
    if ((rc = parse_hostport(opts->tcp, &ss, err)) < 0) goto fail_early;
    if (opts->tls_cert && (rc = tls_context(opts, &s->tls, err)) < 0) goto fail_early;
    s->is_tcp = true;
    if (ss.ss_family == AF_INET6) {
      struct in6_addr any = IN6ADDR_ANY_INIT;
      s->wildcard = memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, &any, sizeof any) == 0;
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, s->host, sizeof s->host);
    } else {
      s->wildcard = ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY);
      inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, s->host, sizeof s->host);
    }
    uv_tcp_init(&loop->uv, &s->listener.tcp);
    s->listener.handle.data = s;
    s->open_handles = 1;
    if ((rc = uv_tcp_bind(&s->listener.tcp, (const struct sockaddr *)&ss, 0)) < 0 ||
        (rc = uv_listen(&s->listener.stream, backlog, on_connection)) < 0) {
      ik_err_set(err, rc, "listen on %s: %s", opts->tcp, ik_strerror(rc));
      goto fail;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(&s->listener.tcp, (struct sockaddr *)&bound, &blen) == 0)
      s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
  } else {
    uv_pipe_init(&loop->uv, &s->listener.pipe, 0);
    s->listener.handle.data = s;
    s->open_handles = 1;
    /* Created 0600 from the start: no window where others may connect. */
    mode_t old = umask(0177);
    rc = uv_pipe_bind(&s->listener.pipe, opts->unix_path);
    umask(old);
    if (rc < 0) {
      ik_err_set(err, rc, "listen on %s: %s", opts->unix_path, ik_strerror(rc));
      goto fail;
    }
    if ((rc = uv_listen(&s->listener.stream, backlog, on_connection)) < 0) {
      ik_err_set(err, rc, "listen on %s: %s", opts->unix_path, ik_strerror(rc));
      goto fail;
    }
  }
  *out = s;
  return 0;

fail:
  s->closing = true;
  uv_close(&s->listener.handle, on_listener_closed);
  return rc;
fail_early:
  SSL_CTX_free(s->tls);
  ik_free(s);
  return rc;
}

void ik_http_server_close(ik_http_server_t *s) {
  if (s == NULL || s->closing) return;
  s->closing = true;
  for (ik_http_conn_t *c = s->conns, *next; c; c = next) {
    next = c->next;
    conn_close(c);
  }
  uv_close(&s->listener.handle, on_listener_closed);
}

int ik_http_server_port(const ik_http_server_t *s) { return s->port; }

static ik_http_conn_t *conn_of_req(const ik_http_request_t *req) {
  return (ik_http_conn_t *)((char *)(uintptr_t)req - offsetof(ik_http_conn_t, req));
}

const char *ik_http_request_header(const ik_http_request_t *req, const char *name) {
  const ik_http_conn_t *c = conn_of_req(req);
  const char *found = NULL;
  for (size_t off = 0; off < c->headers.len;) {
    const char *field = c->headers.data + off;
    const char *value = field + strlen(field) + 1;
    if (strcasecmp(field, name) == 0) found = value;
    off = (size_t)(value + strlen(value) + 1 - c->headers.data);
  }
  return found;
}

static int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

bool ik_http_query_param(const char *query, const char *name, char *out, size_t outlen) {
  size_t nl = strlen(name);
  for (const char *p = query; p && *p;) {
    const char *end = strchr(p, '&');
    if (end == NULL) end = p + strlen(p);
    if ((size_t)(end - p) >= nl && strncmp(p, name, nl) == 0 && (p[nl] == '=' || p + nl == end)) {
      size_t o = 0;
      for (const char *v = p[nl] == '=' ? p + nl + 1 : end; v < end; v++) {
        char ch = *v;
        if (ch == '+') ch = ' ';
        else if (ch == '%' && end - v > 2 && hex_digit(v[1]) >= 0 && hex_digit(v[2]) >= 0) {
          ch = (char)(hex_digit(v[1]) * 16 + hex_digit(v[2]));
          v += 2;
        }
        if (o + 1 >= outlen) return false;
        out[o++] = ch;
      }
      out[o] = '\0';
      return true;
    }
    p = *end ? end + 1 : end;
  }
  return false;
}

/* --- streamed responses --------------------------------------------------- */

ik_http_stream_t *ik_http_stream_start(ik_http_request_t *req, int status, const char *content_type,
                                       const char *extra_headers, ik_http_stream_closed_cb on_closed, void *data) {
  ik_http_conn_t *c = conn_of_req(req);
  if (!c->busy) abort(); /* responded twice: a bug in the handler */
  c->busy = false;
  if (c->closing) {
    conn_close(c);
    return NULL;
  }
  c->done = true; /* no request after this one: the stream ends the connection */
  ik_buf_t head = {0};
  ik_buf_printf(&head, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, ik_http_reason(status), server_date(c->s));
  if (content_type) ik_buf_printf(&head, "Content-Type: %s\r\n", content_type);
  if (extra_headers) ik_buf_puts(&head, extra_headers);
  ik_buf_puts(&head, "Connection: close\r\n\r\n");
  bool head_only = c->head;
  conn_send(c, head.data, head.len, NULL, 0, head_only);
  ik_buf_free(&head);
  if (c->closing || head_only) return NULL;
  ik_http_stream_t *st = IK_NEW(ik_http_stream_t);
  st->c = c;
  st->on_closed = on_closed;
  st->data = data;
  c->stream = st;
  c->s->stats.streams++;
  uv_timer_stop(&c->timer);
  /* Read on, only to see the client go (on_read drops what it sends). */
  if (!c->reading && uv_read_start(&c->h.stream, on_alloc, on_read) == 0) c->reading = true;
  return st;
}

size_t ik_http_stream_backlog(const ik_http_stream_t *st) {
  const ik_http_conn_t *c = st->c;
  return c->h.stream.write_queue_size + (c->wbio ? BIO_ctrl_pending(c->wbio) : 0);
}

int ik_http_stream_write(ik_http_stream_t *st, const char *data, size_t len) {
  ik_http_conn_t *c = st->c;
  if (ik_http_stream_backlog(st) + len > c->s->opts.max_stream_backlog) {
    c->s->stats.dropped++;
    ik_log(IK_LOG_INFO, "http", "closing a stream whose client does not keep up", NULL);
    conn_close(c); /* calls on_closed */
    return IK_EIO;
  }
  conn_send(c, NULL, 0, data, len, false);
  return c->closing ? IK_EIO : 0; /* a failed write closed it, calling on_closed */
}

void ik_http_stream_end(ik_http_stream_t *st) {
  ik_http_conn_t *c = st->c;
  c->stream = NULL;
  c->s->stats.streams--;
  ik_free(st);
  if (c->h.stream.write_queue_size == 0) conn_close(c);
  else c->close_when_sent = true;
}

ik_http_stats_t ik_http_server_stats(const ik_http_server_t *s) { return s->stats; }
