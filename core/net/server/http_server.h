/* A small HTTP/1.1 server on the loop, for JSON-RPC plugins.
 *
 * Listens on a unix socket (the default for plugins) or on TCP. Requests
 * are parsed with http-parser; bodies are framed by Content-Length or
 * chunked encoding. Connections are kept alive; several requests on one
 * connection (pipelined or not) are answered in order, one at a time: the
 * next request is not parsed until the handler has responded to the
 * current one, so a handler may respond later, from another callback.
 *
 * Limits protect the loop from bad clients: a header block over
 * max_header_bytes gets 431, a body over max_body_bytes gets 413, a request
 * whose head and body are not complete request_timeout_ms after its first
 * byte gets 408 (a fixed deadline: a client sending a byte at a time does
 * not extend it), and an idle keep-alive connection is closed after
 * idle_timeout_ms. Each of those
 * closes only that connection; everyone else keeps being served. */
#ifndef IK_NET_HTTP_SERVER_H
#define IK_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "loop/loop.h"

typedef struct ik_http_server ik_http_server_t;

/* One request. Everything is borrowed: valid until ik_http_respond(). */
typedef struct ik_http_request {
  const char *method;       /* "GET", "POST", ... */
  const char *path;         /* "/", "/info/api.json" (query removed) */
  const char *query;        /* after '?', or NULL */
  const char *content_type; /* header value, or NULL when absent */
  const char *body;         /* NUL-terminated for convenience; may hold NULs */
  size_t body_len;
  ik_http_server_t *server;
} ik_http_request_t;

/* Called once per complete request. The handler must call ik_http_respond()
 * exactly once for it, now or later. */
typedef void (*ik_http_handler)(ik_http_request_t *req, void *data);

typedef struct ik_http_server_opts {
  const char *unix_path;       /* listen here (created 0600), or NULL */
  const char *tcp;             /* "127.0.0.1:PORT" ("[::1]:PORT"), or NULL; port 0 picks one */
  size_t max_header_bytes;     /* 0 = 64 KiB */
  size_t max_body_bytes;       /* 0 = 8 MiB */
  uint64_t request_timeout_ms; /* deadline from a request's first byte to its last; 0 = 10 s */
  uint64_t idle_timeout_ms;    /* keep-alive idle; 0 = 120 s */
  int backlog;                 /* 0 = 511 */
  /* TCP only. With tls_cert, the listener speaks TLS (1.2 or later) and
   * requires a client certificate signed by a CA in tls_client_ca: a client
   * without one fails the handshake. All three are PEM file paths, read at
   * start. The handshake shares the request deadline (request_timeout_ms
   * from the accept). */
  const char *tls_cert;      /* server certificate (chain), or NULL for plain TCP */
  const char *tls_key;       /* its private key */
  const char *tls_client_ca; /* CA(s) for client certificates */
  /* TCP: answer 421 to a request whose Host header names neither this
   * listener's address nor localhost (with its port, if one is given), and
   * 400 to one without Host: the guard against DNS rebinding. */
  bool check_host;
  /* A streamed response (ik_http_stream_start) whose client has not taken
   * this many bytes yet is closed: a slow reader costs bounded memory.
   * 0 = 1 MiB. */
  size_t max_stream_backlog;
} ik_http_server_opts_t;

/* Start listening. The socket path must not exist (discovery decides what
 * to do with a stale one). Returns 0 or a negative code with err naming the
 * address. */
int ik_http_server_start(ik_loop_t *loop, const ik_http_server_opts_t *opts, ik_http_handler handler,
                         void *data, ik_http_server_t **out, ik_err_t *err);

/* Stop listening, close every connection (pending requests are answered
 * with nothing: their later ik_http_respond() is a no-op) and free the
 * server once libuv has closed its handles. Does not unlink the socket. */
void ik_http_server_close(ik_http_server_t *s);

/* Respond to req. body is copied; content_type may be NULL (no header).
 * To a HEAD request only the headers go out (Content-Length: body_len).
 * After this, req and everything it points to is gone. */
void ik_http_respond(ik_http_request_t *req, int status, const char *content_type, const char *body,
                     size_t body_len);

/* The value of the request's header name (case-insensitive; the last one
 * when repeated), or NULL. Borrowed like the request. */
const char *ik_http_request_header(const ik_http_request_t *req, const char *name);

/* Copy the value of query parameter name (percent-decoded, '+' a space)
 * from query (a request's, may be NULL) into out (NUL-terminated). Returns
 * true when the parameter is there, false when absent or when its value
 * does not fit in outlen. */
bool ik_http_query_param(const char *query, const char *name, char *out, size_t outlen);

/* --- streamed responses ----------------------------------------------------
 *
 * For answers that go on (Server-Sent Events): the status line and headers
 * now, then the body in pieces as they come, delimited by the end of the
 * connection (Connection: close, no Content-Length). While it streams the
 * connection has no request or idle timeout; the server reads only to see
 * the client go. It ends when the handler ends it, the client goes away,
 * the server closes, or the client falls more than max_stream_backlog
 * behind. */
typedef struct ik_http_stream ik_http_stream_t;

/* The stream ended without ik_http_stream_end(): the client went away, was
 * too slow, or the server closed. st is gone after this returns. May come
 * from inside ik_http_stream_write(). */
typedef void (*ik_http_stream_closed_cb)(ik_http_stream_t *st, void *data);

/* Respond to req with a stream: status, content_type and extra_headers
 * (complete "Name: value\r\n" lines, or NULL) go out now. Returns the
 * stream, or NULL when there is nothing to stream to (a HEAD request: the
 * headers are its whole answer; a client already gone): on_closed is then
 * never called. Either way req is gone, as after ik_http_respond(). */
ik_http_stream_t *ik_http_stream_start(ik_http_request_t *req, int status, const char *content_type,
                                       const char *extra_headers, ik_http_stream_closed_cb on_closed, void *data);

/* Queue len bytes. Returns 0, or IK_EIO when the stream closed instead
 * (the client is gone or too slow): on_closed has then run, from inside
 * this call, and st is gone. */
int ik_http_stream_write(ik_http_stream_t *st, const char *data, size_t len);

/* Bytes written but not yet taken by the client. */
size_t ik_http_stream_backlog(const ik_http_stream_t *st);

/* End the stream: what is queued is sent, then the connection closes.
 * on_closed is not called; st is gone. */
void ik_http_stream_end(ik_http_stream_t *st);

/* ik_http_respond with more headers: header lines each ending in "\r\n"
 * ("Cache-Control: no-cache\r\n"), or NULL; borrowed, ours (not a
 * client's: they are not checked), under 1 KiB. */
void ik_http_respond_headers(ik_http_request_t *req, int status, const char *content_type, const char *headers,
                             const char *body, size_t body_len);

/* The TCP port actually bound (for "127.0.0.1:0"), or 0. */
int ik_http_server_port(const ik_http_server_t *s);

/* Counters, for tests and the daemon's status. */
typedef struct ik_http_stats {
  uint64_t accepted; /* connections accepted so far */
  uint64_t open;     /* connections open now */
  uint64_t requests; /* requests dispatched to the handler */
  uint64_t rejected; /* requests answered by the server itself (4xx) */
  uint64_t timeouts; /* connections closed for idleness or slowness */
  uint64_t streams;  /* streamed responses open now */
  uint64_t dropped;  /* streams closed because their client fell too far behind */
} ik_http_stats_t;
ik_http_stats_t ik_http_server_stats(const ik_http_server_t *s);

/* "Not Found" for 404: the reason phrase of a status code. */
const char *ik_http_reason(int status);

#endif
