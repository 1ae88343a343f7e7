#include "net/client/http_client.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/client/curl_lazy.h"

/* Idle connections a client keeps. curl's default (4 per transfer in
 * flight) drops them as soon as calls to several plugins are sequential. */
#define IK_HTTP_MAX_IDLE_CONNS 32L

typedef enum call_state {
  IK__CALL_ACTIVE,     /* in the multi handle */
  IK__CALL_DONE,       /* finished, waiting in client->done for its callback */
  IK__CALL_DELIVERING, /* its callback is running */
} call_state_t;

struct ik_http_call {
  ik_http_client_t *client;
  ik_http_call_t *prev, *next; /* in client->active; next also links client->done */
  call_state_t state;
  CURL *easy; /* NULL once finished */
  struct curl_slist *headers;
  char *label; /* "METHOD URL" or "METHOD URL (unix socket PATH)" */
  char *method, *url, *unix_path, *body;
  char *tls_cert, *tls_key, *tls_ca;
  bool tls_insecure;
  size_t body_len, max_body;
  uint64_t timeout_ms;
  ik_http_cb cb;
  void *data;
  ik_http_resp_t resp;
  char *content_type;
  ik_err_t err;   /* code 0: success */
  bool too_large; /* the write callback refused the body */
  char errbuf[CURL_ERROR_SIZE];
};

/* A socket curl asked us to watch. */
typedef struct http_sock {
  uv_poll_t poll;
  ik_http_client_t *client;
  curl_socket_t fd;
  struct http_sock *prev, *next;
} http_sock_t;

struct ik_http_client {
  ik_loop_t *loop;
  CURLM *multi;             /* NULL once freed */
  char *noproxy;            /* CURLOPT_NOPROXY for TCP calls */
  uv_timer_t curl_timer;    /* curl's next timeout */
  uv_timer_t deliver_timer; /* runs queued callbacks from the loop */
  http_sock_t *socks;
  ik_http_call_t *active;
  ik_http_call_t *done_head, *done_tail;
  int nactive;
  int open_handles; /* uv handles not yet closed; freed at 0 once closing */
  bool delivering;  /* inside client_deliver */
  bool closing;     /* ik_http_client_free has run */
  bool deliver_closed;
};

/* ---- handle lifetime ---------------------------------------------------- */

static void client_handle_closed(ik_http_client_t *c) {
  if (--c->open_handles > 0 || !c->closing) return;
  ik_free(c->noproxy);
  ik_free(c);
}

static void client_timer_closed(uv_handle_t *h) { client_handle_closed(h->data); }

static void sock_closed(uv_handle_t *h) {
  http_sock_t *s = h->data;
  ik_http_client_t *c = s->client;
  ik_free(s);
  client_handle_closed(c);
}

static void sock_close(http_sock_t *s) {
  ik_http_client_t *c = s->client;
  if (s->prev) s->prev->next = s->next;
  else c->socks = s->next;
  if (s->next) s->next->prev = s->prev;
  uv_close((uv_handle_t *)&s->poll, sock_closed);
}

/* An idle client (kept-alive connections, no call in flight) must not keep
 * the loop alive: reference curl's timer and sockets only while busy. */
static void client_update_ref(ik_http_client_t *c) {
  void (*set)(uv_handle_t *) = c->nactive > 0 ? uv_ref : uv_unref;
  set((uv_handle_t *)&c->curl_timer);
  for (http_sock_t *s = c->socks; s; s = s->next) set((uv_handle_t *)&s->poll);
}

/* ---- calls -------------------------------------------------------------- */

static void call_free(ik_http_call_t *call) {
  ik_buf_free(&call->resp.body);
  ik_free(call->content_type);
  ik_free(call->label);
  ik_free(call->method);
  ik_free(call->url);
  ik_free(call->unix_path);
  ik_free(call->tls_cert);
  ik_free(call->tls_key);
  ik_free(call->tls_ca);
  ik_free(call->body);
  ik_free(call);
}

ik_loop_t *ik_http_client_loop(const ik_http_client_t *c) { return c->loop; }

/* Take a finished or cancelled call out of curl and off the active list. */
static void call_detach(ik_http_call_t *call) {
  ik_http_client_t *c = call->client;
  ik_curl->multi_remove_handle(c->multi, call->easy);
  ik_curl->easy_cleanup(call->easy);
  call->easy = NULL;
  ik_curl->slist_free_all(call->headers);
  call->headers = NULL;
  if (call->prev) call->prev->next = call->next;
  else c->active = call->next;
  if (call->next) call->next->prev = call->prev;
  call->prev = call->next = NULL;
  c->nactive--;
  client_update_ref(c);
}

/* Queue a detached call for its callback. */
static void call_queue(ik_http_call_t *call) {
  ik_http_client_t *c = call->client;
  call->state = IK__CALL_DONE;
  call->next = NULL;
  if (c->done_tail) c->done_tail->next = call;
  else c->done_head = call;
  c->done_tail = call;
}

/* Fill call->err from a failed transfer. Needs call->easy (for errno). */
static void call_fail(ik_http_call_t *call, CURLcode result) {
  ik_err_t *e = &call->err;
  const char *what = call->label;
  const char *detail = call->errbuf[0] ? call->errbuf : ik_curl->easy_strerror(result);
  long oserr = 0;
  ik_curl->easy_getinfo(call->easy, CURLINFO_OS_ERRNO, &oserr);
  switch (result) {
  case CURLE_OPERATION_TIMEDOUT:
    ik_err_set(e, IK_ETIMEDOUT, "%s: timed out after %llu ms", what,
               (unsigned long long)call->timeout_ms);
    break;
  case CURLE_COULDNT_CONNECT: {
    /* The errno of connect() tells a stale socket (ECONNREFUSED) from a
     * missing one (ENOENT); libuv codes are negated errno values. */
    int code = oserr > 0 && oserr < 4096 ? -(int)oserr : UV_ECONNREFUSED;
    ik_err_set(e, code, "%s: cannot connect: %s", what, ik_strerror(code));
    break;
  }
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    ik_err_set(e, UV_EAI_NONAME, "%s: %s", what, detail);
    break;
  case CURLE_FILESIZE_EXCEEDED:
    ik_err_set(e, UV_EMSGSIZE, "%s: response too large: the body exceeds max_body (%zu bytes)",
               what, call->max_body);
    break;
  case CURLE_WRITE_ERROR:
    if (call->too_large)
      ik_err_set(e, UV_EMSGSIZE, "%s: response too large: the body exceeds max_body (%zu bytes)",
                 what, call->max_body);
    else
      ik_err_set(e, IK_EIO, "%s: %s", what, detail);
    break;
  case CURLE_GOT_NOTHING:
    ik_err_set(e, IK_EIO, "%s: the server closed the connection without a response", what);
    break;
  case CURLE_PARTIAL_FILE:
    ik_err_set(e, IK_EIO, "%s: the server closed the connection before the response was complete",
               what);
    break;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
    ik_err_set(e, IK_EINVAL, "%s: bad URL: %s", what, detail);
    break;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
    ik_err_set(e, IK_EIO, "%s: connection lost: %s", what, detail);
    break;
  default:
    ik_err_set(e, IK_EIO, "%s: %s", what, detail);
    break;
  }
}

/* curl finished a transfer: record the outcome and queue the callback. */
static void call_finished(ik_http_call_t *call, CURLcode result) {
  if (result == CURLE_OK) {
    long status = 0;
    char *ctype = NULL;
    ik_curl->easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
    ik_curl->easy_getinfo(call->easy, CURLINFO_CONTENT_TYPE, &ctype);
    call->resp.status = status;
    call->content_type = ik_strdup(ctype); /* curl's copy dies with the easy handle */
    call->resp.content_type = call->content_type;
  } else {
    call_fail(call, result);
    ik_buf_free(&call->resp.body);
  }
  call_detach(call);
  call_queue(call);
}

/* ---- delivering callbacks ----------------------------------------------- */

static void client_close_deliver(ik_http_client_t *c) {
  if (c->deliver_closed || c->delivering || c->done_head) return;
  c->deliver_closed = true;
  uv_close((uv_handle_t *)&c->deliver_timer, client_timer_closed);
}

/* Run queued callbacks, oldest first. A callback may start calls, cancel
 * calls or free the client; what it queues is delivered by this same pass. */
static void client_deliver(ik_http_client_t *c) {
  if (c->delivering) return;
  c->delivering = true;
  ik_http_call_t *call;
  while ((call = c->done_head) != NULL) {
    c->done_head = call->next;
    if (c->done_head == NULL) c->done_tail = NULL;
    call->next = NULL;
    call->state = IK__CALL_DELIVERING;
    bool ok = call->err.code == 0;
    call->cb(call, ok ? &call->resp : NULL, ok ? NULL : &call->err, call->data);
    call_free(call);
  }
  c->delivering = false;
  if (c->closing) client_close_deliver(c);
}

static void on_deliver(uv_timer_t *h) { client_deliver(h->data); }

/* Deliver on the next loop iteration (for cancel and free, which must not
 * call back from inside the caller's call). */
static void client_schedule(ik_http_client_t *c) {
  if (!c->deliver_closed) uv_timer_start(&c->deliver_timer, on_deliver, 0, 0);
}

/* ---- driving curl from the loop ----------------------------------------- */

static void client_collect(ik_http_client_t *c) {
  CURLMsg *msg;
  int left;
  while ((msg = ik_curl->multi_info_read(c->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    /* msg dies with the easy handle: copy what is needed first. */
    CURL *easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    char *priv = NULL;
    ik_curl->easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    call_finished((ik_http_call_t *)(void *)priv, result);
  }
}

static void client_drive(ik_http_client_t *c, curl_socket_t fd, int flags) {
  int running = 0;
  CURLMcode mc = ik_curl->multi_socket_action(c->multi, fd, flags, &running);
  if (mc != CURLM_OK)
    ik_log(IK_LOG_WARN, "http", "curl_multi_socket_action failed", "error",
           ik_curl->multi_strerror(mc), NULL);
  client_collect(c);
  /* Callbacks run here, after curl has returned: curl forbids calling it
   * back (add, remove, cleanup) from inside its own callbacks. */
  client_deliver(c);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  http_sock_t *s = h->data;
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  client_drive(s->client, s->fd, flags);
}

static void on_curl_timeout(uv_timer_t *h) {
  client_drive(h->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                          void *socketp) {
  ik_http_client_t *c = userp;
  http_sock_t *s = socketp;
  if (what == CURL_POLL_REMOVE) {
    /* curl calls this before it closes fd, so a new socket reusing the
     * number gets a fresh poll handle. */
    if (s) {
      ik_curl->multi_assign(c->multi, fd, NULL);
      sock_close(s);
    }
    return 0;
  }
  if (s == NULL) {
    s = IK_NEW(http_sock_t);
    int rc = uv_poll_init_socket(&c->loop->uv, &s->poll, fd);
    if (rc < 0) {
      ik_free(s);
      ik_log(IK_LOG_ERROR, "http", "cannot watch a curl socket", "error", ik_strerror(rc), NULL);
      return -1; /* curl fails the transfers */
    }
    s->client = c;
    s->fd = fd;
    s->poll.data = s;
    s->next = c->socks;
    if (c->socks) c->socks->prev = s;
    c->socks = s;
    c->open_handles++;
    if (c->nactive == 0) uv_unref((uv_handle_t *)&s->poll);
    ik_curl->multi_assign(c->multi, fd, s);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  int rc = uv_poll_start(&s->poll, events, on_poll);
  if (rc < 0) {
    ik_log(IK_LOG_ERROR, "http", "cannot watch a curl socket", "error", ik_strerror(rc), NULL);
    return -1; /* curl fails the transfers; CURL_POLL_REMOVE closes s */
  }
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be called back after timeout_ms
 * (-1: never). It must not be called from here, so a timer does it. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  ik_http_client_t *c = userp;
  if (uv_is_closing((uv_handle_t *)&c->curl_timer)) return 0;
  if (timeout_ms < 0) uv_timer_stop(&c->curl_timer);
  else uv_timer_start(&c->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
  return 0;
}

/* CURLOPT_WRITEFUNCTION: append to the body, up to max_body. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  ik_http_call_t *call = userdata;
  size_t n = size * nmemb;
  if (n > call->max_body - call->resp.body.len) {
    call->too_large = true;
    return 0; /* fails the transfer with CURLE_WRITE_ERROR */
  }
  ik_buf_append(&call->resp.body, ptr, n);
  return n;
}

/* ---- public API --------------------------------------------------------- */

/* Proxies from the environment (http_proxy, https_proxy, all_proxy) apply,
 * except to loopback, as in Go's net/http: a local etcd or a provider's test
 * double is never reached through a proxy. The user's no_proxy still counts. */
static char *http_noproxy(void) {
  const char *user = getenv("no_proxy");
  if (user == NULL || user[0] == '\0') user = getenv("NO_PROXY");
  if (user && strcmp(user, "*") == 0) return ik_strdup("*");
  ik_buf_t b = {0};
  ik_buf_puts(&b, "localhost,127.0.0.1,::1");
  if (user && user[0]) ik_buf_printf(&b, ",%s", user);
  return ik_buf_steal(&b, NULL);
}

int ik_http_client_new(ik_loop_t *loop, ik_http_client_t **out, ik_err_t *err) {
  int rc = ik_curl_load(err);
  if (rc < 0) return rc;
  CURLM *multi = ik_curl->multi_init();
  if (multi == NULL) return ik_err_set(err, IK_EIO, "http client: curl_multi_init failed");

  ik_http_client_t *c = IK_NEW(ik_http_client_t);
  c->loop = loop;
  c->multi = multi;
  c->noproxy = http_noproxy();
  uv_timer_init(&loop->uv, &c->curl_timer); /* cannot fail */
  uv_timer_init(&loop->uv, &c->deliver_timer);
  c->curl_timer.data = c->deliver_timer.data = c;
  c->open_handles = 2;
  uv_unref((uv_handle_t *)&c->curl_timer);

  ik_curl->multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, (curl_socket_callback)on_curl_socket);
  ik_curl->multi_setopt(multi, CURLMOPT_SOCKETDATA, (void *)c);
  ik_curl->multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
                        (curl_multi_timer_callback)on_curl_timer);
  ik_curl->multi_setopt(multi, CURLMOPT_TIMERDATA, (void *)c);
  ik_curl->multi_setopt(multi, CURLMOPT_MAXCONNECTS, IK_HTTP_MAX_IDLE_CONNS);
  *out = c;
  return 0;
}

void ik_http_client_free(ik_http_client_t *c) {
  if (c == NULL || c->closing) return;
  c->closing = true;
  /* Oldest first (the list is newest first), so callbacks run in call order. */
  ik_http_call_t *call = c->active;
  while (call && call->next) call = call->next;
  while (call) {
    ik_http_call_t *newer = call->prev;
    ik_err_set(&call->err, IK_ECANCELED, "%s: cancelled: the HTTP client was closed", call->label);
    ik_buf_free(&call->resp.body);
    call_detach(call);
    call_queue(call);
    call = newer;
  }
  /* Stop watching before curl closes the sockets, then let curl clean up
   * without calling back into handles that are closing. */
  while (c->socks) sock_close(c->socks);
  uv_close((uv_handle_t *)&c->curl_timer, client_timer_closed);
  ik_curl->multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, (curl_socket_callback)NULL);
  ik_curl->multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, (curl_multi_timer_callback)NULL);
  ik_curl->multi_cleanup(c->multi);
  c->multi = NULL;
  if (c->done_head) client_schedule(c);
  client_close_deliver(c);
}

/* "METHOD URL" with any user:password@ masked, plus the unix socket. */
static char *http_label(const char *method, const char *url, const char *unix_path) {
  ik_buf_t b = {0};
  ik_buf_printf(&b, "%s ", method);
  const char *sep = strstr(url, "://");
  const char *host = sep ? sep + 3 : url;
  const char *at = memrchr(host, '@', strcspn(host, "/?#"));
  if (at) {
    ik_buf_append(&b, url, (size_t)(host - url));
    ik_buf_puts(&b, "***");
    ik_buf_puts(&b, at);
  } else {
    ik_buf_puts(&b, url);
  }
  if (unix_path) ik_buf_printf(&b, " (unix socket %s)", unix_path);
  return ik_buf_steal(&b, NULL);
}

/* An HTTP token (RFC 9110 tchar): what a method may contain. */
static bool http_is_token(const char *s) {
  if (*s == '\0') return false;
  for (; *s; s++)
    if (!strchr("!#$%&'*+-.^_`|~", *s) && !(*s >= '0' && *s <= '9') &&
        !((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z'))
      return false;
  return true;
}

static bool http_sends_body(const ik_http_req_t *req) {
  return req->body != NULL || strcmp(req->method, "POST") == 0 ||
         strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0;
}

/* Validate req; 0 or IK_EINVAL naming the problem. */
static int http_check(const ik_http_req_t *req, ik_err_t *err) {
  if (req->method == NULL || !http_is_token(req->method))
    return ik_err_set(err, IK_EINVAL, "http: bad method \"%s\"", req->method ? req->method : "");
  if (req->url == NULL || req->url[0] == '\0')
    return ik_err_set(err, IK_EINVAL, "http %s: no URL", req->method);
  if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0)
    return ik_err_set(err, IK_EINVAL, "http %s %s: unsupported URL scheme (want http:// or https://)",
                      req->method, req->url);
  if (strpbrk(req->url, "\r\n \t"))
    return ik_err_set(err, IK_EINVAL, "http %s: URL contains white space", req->method);
  if (req->unix_path && req->unix_path[0] == '\0')
    return ik_err_set(err, IK_EINVAL, "http %s %s: empty unix socket path", req->method, req->url);
  for (const char *const *h = req->headers; h && *h; h++)
    if (strpbrk(*h, "\r\n") || !strchr(*h, ':'))
      return ik_err_set(err, IK_EINVAL, "http %s %s: bad header \"%.64s\" (want \"Name: value\")",
                        req->method, req->url, *h);
  return 0;
}

int ik_http_request(ik_http_client_t *c, const ik_http_req_t *req, ik_http_cb cb, void *data,
                    ik_http_call_t **out, ik_err_t *err) {
  if (c == NULL || req == NULL || cb == NULL)
    return ik_err_set(err, IK_EINVAL, "http: client, request and callback are required");
  int rc = http_check(req, err);
  if (rc < 0) return rc;
  if (c->closing)
    return ik_err_set(err, IK_ESTATE, "%s %s: the HTTP client is closed", req->method, req->url);

  ik_http_call_t *call = IK_NEW(ik_http_call_t);
  call->client = c;
  call->cb = cb;
  call->data = data;
  call->method = ik_strdup(req->method);
  call->url = ik_strdup(req->url);
  call->unix_path = ik_strdup(req->unix_path);
  call->tls_cert = ik_strdup(req->tls_cert);
  call->tls_key = ik_strdup(req->tls_key);
  call->tls_ca = ik_strdup(req->tls_ca);
  call->tls_insecure = req->tls_insecure;
  call->label = http_label(req->method, req->url, req->unix_path);
  call->timeout_ms = req->timeout_ms ? req->timeout_ms : IK_HTTP_DEFAULT_TIMEOUT_MS;
  call->max_body = req->max_body ? req->max_body : IK_HTTP_DEFAULT_MAX_BODY;
  bool sends_body = http_sends_body(req);
  if (sends_body) {
    call->body_len = req->body ? req->body_len : 0;
    call->body = ik_malloc(call->body_len + 1);
    if (call->body_len) memcpy(call->body, req->body, call->body_len);
    call->body[call->body_len] = '\0';
  }

  bool user_expect = false;
  for (const char *const *h = req->headers; h && *h; h++) {
    if (strncasecmp(*h, "Expect:", 7) == 0) user_expect = true;
    if ((call->headers = ik_curl->slist_append(call->headers, *h)) == NULL) ik_oom(strlen(*h));
  }
  /* curl sends "Expect: 100-continue" with larger bodies and waits for the
   * server's go-ahead: a round trip for nothing on our wire. */
  if (sends_body && !user_expect &&
      (call->headers = ik_curl->slist_append(call->headers, "Expect:")) == NULL)
    ik_oom(8);

  CURL *easy = ik_curl->easy_init();
  if (easy == NULL) {
    rc = ik_err_set(err, IK_EIO, "%s: curl_easy_init failed", call->label);
    goto fail;
  }
  call->easy = easy;
  uint64_t timeout = call->timeout_ms < (uint64_t)LONG_MAX ? call->timeout_ms : (uint64_t)LONG_MAX;
  curl_off_t max_body = call->max_body < (size_t)INT64_MAX ? (curl_off_t)call->max_body : INT64_MAX;

  /* Arguments go through curl's varargs: each must have the exact type the
   * option documents (long, curl_off_t, pointer). */
  CURLcode cc = CURLE_OK;
#define IK__SETOPT(opt, val)                                       \
  do {                                                             \
    if (cc == CURLE_OK) cc = ik_curl->easy_setopt(easy, opt, val); \
  } while (0)
  IK__SETOPT(CURLOPT_PRIVATE, (void *)call);
  IK__SETOPT(CURLOPT_ERRORBUFFER, call->errbuf);
  IK__SETOPT(CURLOPT_NOSIGNAL, 1L);
  IK__SETOPT(CURLOPT_URL, call->url);
  IK__SETOPT(CURLOPT_WRITEFUNCTION, (curl_write_callback)on_body);
  IK__SETOPT(CURLOPT_WRITEDATA, (void *)call);
  IK__SETOPT(CURLOPT_TIMEOUT_MS, (long)timeout);
  IK__SETOPT(CURLOPT_MAXFILESIZE_LARGE, max_body);
  IK__SETOPT(CURLOPT_HTTPHEADER, call->headers);
  if (call->unix_path) {
    IK__SETOPT(CURLOPT_UNIX_SOCKET_PATH, call->unix_path);
    IK__SETOPT(CURLOPT_NOPROXY, "*"); /* a proxy cannot reach our socket */
    if (cc == CURLE_UNKNOWN_OPTION) {
      rc = ik_err_set(err, IK_EIO, "%s: " IK_CURL_SONAME " was built without unix socket support",
                      call->label);
      goto fail;
    }
  } else {
    IK__SETOPT(CURLOPT_NOPROXY, c->noproxy);
  }
  if (call->tls_cert) IK__SETOPT(CURLOPT_SSLCERT, call->tls_cert);
  if (call->tls_key) IK__SETOPT(CURLOPT_SSLKEY, call->tls_key);
  if (call->tls_ca) IK__SETOPT(CURLOPT_CAINFO, call->tls_ca);
  if (call->tls_insecure) {
    IK__SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
    IK__SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (strcmp(call->method, "HEAD") == 0) {
    IK__SETOPT(CURLOPT_NOBODY, 1L);
  } else if (sends_body) {
    IK__SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    IK__SETOPT(CURLOPT_POSTFIELDS, call->body);
    if (strcmp(call->method, "POST") != 0) IK__SETOPT(CURLOPT_CUSTOMREQUEST, call->method);
  } else if (strcmp(call->method, "GET") != 0) {
    IK__SETOPT(CURLOPT_CUSTOMREQUEST, call->method);
  }
#undef IK__SETOPT
  if (cc == CURLE_OK) {
    /* Belt and braces with the scheme check above (older curl lacks it). */
    CURLcode pc = ik_curl->easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (pc != CURLE_UNKNOWN_OPTION) cc = pc;
  }
  if (cc != CURLE_OK) {
    rc = ik_err_set(err, IK_EIO, "%s: %s", call->label, ik_curl->easy_strerror(cc));
    goto fail;
  }

  CURLMcode mc = ik_curl->multi_add_handle(c->multi, easy);
  if (mc != CURLM_OK) {
    rc = ik_err_set(err, IK_EIO, "%s: %s", call->label, ik_curl->multi_strerror(mc));
    goto fail;
  }
  call->state = IK__CALL_ACTIVE;
  call->next = c->active;
  if (c->active) c->active->prev = call;
  c->active = call;
  c->nactive++;
  client_update_ref(c);
  if (out) *out = call;
  return 0;

fail:
  if (call->easy) ik_curl->easy_cleanup(call->easy);
  ik_curl->slist_free_all(call->headers);
  call_free(call);
  return rc;
}

void ik_http_cancel(ik_http_call_t *call) {
  if (call == NULL || call->state != IK__CALL_ACTIVE) return;
  ik_http_client_t *c = call->client;
  ik_err_set(&call->err, IK_ECANCELED, "%s: cancelled", call->label);
  ik_buf_free(&call->resp.body);
  call_detach(call);
  call_queue(call);
  client_schedule(c);
}
