/* The project's one HTTP client: libcurl's multi interface on the loop.
 *
 * A client owns one curl multi handle, so connections to the same target
 * (host and port, or unix socket) are kept alive and reused across calls;
 * it drives curl's sockets with uv_poll_t handles and curl's timeouts with
 * one uv_timer_t. Nothing blocks the loop. libcurl is loaded lazily by the
 * first ik_http_client_new() (see net/curl_lazy.h).
 *
 * Callbacks follow libuv's rule: if a call returns an error, its callback is
 * never called; otherwise it is called exactly once, later, from the loop -
 * never from inside ik_http_request(), ik_http_cancel() or
 * ik_http_client_free(). The call handle is valid until its callback
 * returns.
 *
 * Errors passed to a callback (err->code):
 *   IK_ETIMEDOUT        the whole call took longer than timeout_ms
 *   IK_ECANCELED        ik_http_cancel() or ik_http_client_free()
 *   UV_ECONNREFUSED,    connecting failed: the errno of connect(), e.g. a
 *   UV_ENOENT, ...      stale unix socket, or a socket path with no file
 *   UV_EMSGSIZE         the response body exceeds max_body
 *   UV_EAI_NONAME       the host name does not resolve
 *   IK_EINVAL           curl rejected the URL
 *   IK_EIO              any other transport failure (the server closed the
 *                       connection without a response, TLS, ...)
 * Every message names the method and URL (and the unix socket, if any) and
 * says what happened. An HTTP status of any value is a success. */
#ifndef IK_NET_HTTP_CLIENT_H
#define IK_NET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "loop/loop.h"

#define IK_HTTP_DEFAULT_TIMEOUT_MS 15000 /* InfraKit's INFRAKIT_CLIENT_TIMEOUT */
#define IK_HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)

typedef struct ik_http_client ik_http_client_t;
typedef struct ik_http_call ik_http_call_t;

/* A request. Everything is borrowed for the duration of ik_http_request()
 * only: the client copies what it keeps. */
typedef struct ik_http_req {
  const char *method;         /* "GET", "POST", ... */
  const char *url;            /* "http://h/path" with unix_path, or "http://127.0.0.1:PORT/path" */
  const char *unix_path;      /* unix socket to connect to, or NULL for TCP */
  const char *const *headers; /* "Name: value" strings, NULL-terminated, may be NULL */
  const char *body;           /* may be NULL */
  size_t body_len;
  uint64_t timeout_ms; /* whole call; 0 = IK_HTTP_DEFAULT_TIMEOUT_MS */
  size_t max_body;     /* response body limit; 0 = IK_HTTP_DEFAULT_MAX_BODY */
  /* https:// only, each may be NULL: a client certificate and its key (PEM
   * files) to present, and the CA file that must have signed the server's
   * certificate instead of the system's. */
  const char *tls_cert;
  const char *tls_key;
  const char *tls_ca;
  /* https:// only: accept any server certificate (Docker's and InfraKit's
   * InsecureSkipVerify). The connection is encrypted but not authenticated. */
  bool tls_insecure;
} ik_http_req_t;

typedef struct ik_http_resp {
  long status;
  ik_buf_t body;            /* owned by the call; steal it with ik_buf_steal() to keep it */
  const char *content_type; /* may be NULL; valid until the callback returns */
} ik_http_resp_t;

/* err is NULL on success (any HTTP status is success); else resp is NULL.
 * Both are valid until the callback returns. */
typedef void (*ik_http_cb)(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err,
                           void *data);

/* Create a client on loop (loading libcurl on first use). Returns 0 and sets
 * *out, or a negative code: IK_ENOTFOUND when libcurl.so.4 cannot be loaded.
 * An idle client does not keep the loop alive. */
int ik_http_client_new(ik_loop_t *loop, ik_http_client_t **out, ik_err_t *err);

/* Cancel pending calls (their callbacks run, from the loop, with an
 * IK_ECANCELED error), close the kept-alive connections, and release the
 * client once all its handles are closed; run the loop to finish. The
 * client must not be used afterwards. NULL is a no-op. */
void ik_http_client_free(ik_http_client_t *c);

/* The loop the client runs on. */
ik_loop_t *ik_http_client_loop(const ik_http_client_t *c);

/* Start a call. On success returns 0, sets *out (out may be NULL) and calls
 * cb exactly once, later, from the loop. On failure (bad request: no method,
 * no URL, a scheme other than http/https; a client being freed) returns a
 * negative code, fills err and never calls cb. */
int ik_http_request(ik_http_client_t *c, const ik_http_req_t *req, ik_http_cb cb, void *data,
                    ik_http_call_t **out, ik_err_t *err);

/* Abort a call: its connection is closed and cb still runs once, from the
 * loop, with an IK_ECANCELED error. A no-op once the call has completed
 * (its callback is queued or running). */
void ik_http_cancel(ik_http_call_t *call);

#endif
