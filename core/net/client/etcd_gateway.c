/* etcd's v3 JSON gateway over the project's HTTP client (etcd_gateway.h).
 *
 * A call is tried on the current endpoint; on a transport failure (not an
 * HTTP status: etcd answered) it moves to the next and tries again, until
 * every endpoint has been tried once. The endpoint that answered stays the
 * current one. The gateway and its calls are reference-counted, so
 * ik_etcd_gateway_free may come while calls are outstanding (their
 * callbacks still run, with the HTTP client's IK_ECANCELED if it was freed
 * first). */
#include "net/client/etcd_gateway.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

#define IK_ETCD_DEFAULT_TIMEOUT_MS 5000

typedef struct gateway {
  ik_http_client_t *http;
  char **endpoints; /* "host:port" each */
  size_t n, current;
  uint64_t timeout_ms, keepalive_timeout_ms;
  size_t refs; /* 1 for the owner until free, +1 per outstanding call or watch */
} gateway_t;

static void gw_unref(gateway_t *g) {
  if (--g->refs > 0) return;
  for (size_t i = 0; i < g->n; i++) ik_free(g->endpoints[i]);
  ik_free(g->endpoints);
  ik_free(g);
}

static const char *const json_headers[] = {"Content-Type: application/json", NULL};

/* etcd's error answer ({"error":..,"message":..,"code":N}) as a message,
 * or the raw body's start. */
static void status_error(ik_err_t *e, const char *endpoint, const char *path, long status, const ik_buf_t *body) {
  json_t *doc = json_loadb(ik_buf_cstr(body), body->len, 0, NULL);
  const char *msg = json_string_value(json_object_get(doc, "message"));
  if (msg == NULL) msg = json_string_value(json_object_get(doc, "error"));
  if (msg) ik_err_set(e, IK_EIO, "etcd %s: POST %s: HTTP %ld: %s", endpoint, path, status, msg);
  else
    ik_err_set(e, IK_EIO, "etcd %s: POST %s: HTTP %ld: %.200s", endpoint, path, status, ik_buf_cstr(body));
  json_decref(doc);
}

/* --- unary calls ----------------------------------------------------------- */

typedef struct call {
  gateway_t *g;
  char *path;
  char *body;
  size_t body_len;
  size_t tried;   /* endpoints tried so far */
  size_t at;      /* the endpoint of the request in flight */
  ik_err_t first; /* the first transport error, for the message */
  ik_spi_cb cb;
  void *data;
} call_t;

static void call_free(call_t *c) {
  gw_unref(c->g);
  ik_free(c->path);
  free(c->body);
  ik_free(c);
}

static void on_call_done(ik_http_call_t *hc, ik_http_resp_t *resp, const ik_err_t *err, void *data);

static int send_call(call_t *c, ik_err_t *err) {
  gateway_t *g = c->g;
  c->at = g->current;
  char *url = ik_sprintf("http://%s%s", g->endpoints[c->at], c->path);
  ik_http_req_t req = {
      .method = "POST",
      .url = url,
      .headers = json_headers,
      .body = c->body,
      .body_len = c->body_len,
      .timeout_ms = strcmp(c->path, "/v3/lease/keepalive") == 0 ? g->keepalive_timeout_ms : g->timeout_ms,
  };
  int rc = ik_http_request(g->http, &req, on_call_done, c, NULL, err);
  ik_free(url);
  return rc;
}

static void on_call_done(ik_http_call_t *hc, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  (void)hc;
  call_t *c = data;
  gateway_t *g = c->g;
  const char *endpoint = g->endpoints[c->at];
  ik_err_t e = {0};
  if (err && err->code != IK_ECANCELED) {
    /* No answer from this member: the next one, once each. */
    if (c->first.code == 0) ik_err_set(&c->first, err->code, "etcd %s: %s", endpoint, err->msg);
    c->tried++;
    if (c->tried < g->n) {
      if (g->current == c->at) g->current = (c->at + 1) % g->n;
      ik_err_t se = {0};
      if (send_call(c, &se) == 0) return;
      e = se;
    } else if (g->n > 1) {
      ik_err_set(&e, err->code, "no etcd endpoint answered (%zu tried); %s", g->n, c->first.msg);
    } else {
      e = c->first;
    }
  } else if (err) {
    ik_err_set(&e, err->code, "etcd %s: %s", endpoint, err->msg);
  } else if (resp->status != 200) {
    status_error(&e, endpoint, c->path, resp->status, &resp->body);
  }
  json_t *doc = NULL;
  if (e.code == 0) {
    json_error_t je;
    doc = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, &je);
    if (!json_is_object(doc)) ik_err_set(&e, IK_EIO, "etcd %s: POST %s: not a JSON object: %s", endpoint, c->path, je.text);
  }
  c->cb(e.code ? NULL : doc, e.code ? &e : NULL, c->data);
  json_decref(doc);
  call_free(c);
}

static int gw_call(void *self, const char *path, json_t *body, ik_spi_cb cb, void *data, ik_err_t *err) {
  gateway_t *g = self;
  call_t *c = IK_NEW(call_t);
  *c = (call_t){.g = g, .path = ik_strdup(path), .cb = cb, .data = data};
  c->body = json_dumps(body, JSON_COMPACT);
  if (c->body == NULL) {
    ik_free(c->path);
    ik_free(c);
    return ik_err_set(err, IK_EINVAL, "etcd: POST %s: the body is not JSON", path);
  }
  c->body_len = strlen(c->body);
  g->refs++;
  int rc = send_call(c, err);
  if (rc < 0) call_free(c);
  return rc;
}

/* --- watch streams ----------------------------------------------------------- */

typedef struct watch {
  gateway_t *g;
  ik_http_call_t *hc;
  char *endpoint;
  ik_buf_t line; /* a partial line */
  ik_etcd_msg_cb on_msg;
  ik_spi_cb on_end;
  void *data;
} watch_t;

/* Each line is {"result":{...}} (or {"error":{...}} when etcd ends it). */
static void watch_line(watch_t *w, const char *s, size_t n) {
  json_t *doc = json_loadb(s, n, 0, NULL);
  json_t *result = json_object_get(doc, "result");
  if (json_is_object(result)) w->on_msg(result, w->data);
  json_decref(doc);
}

static void on_watch_data(ik_http_call_t *hc, long status, const char *chunk, size_t len, void *data) {
  (void)hc, (void)status;
  watch_t *w = data;
  for (size_t i = 0; i < len; i++) {
    if (chunk[i] != '\n') {
      ik_buf_putc(&w->line, chunk[i]);
      continue;
    }
    if (w->line.len) watch_line(w, w->line.data, w->line.len);
    ik_buf_reset(&w->line);
  }
}

static void on_watch_end(ik_http_call_t *hc, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  (void)hc;
  watch_t *w = data;
  ik_err_t e = {0};
  if (err) ik_err_set(&e, err->code, "etcd %s: watch: %s", w->endpoint, err->msg);
  else if (resp->status != 200) status_error(&e, w->endpoint, "/v3/watch", resp->status, &resp->body);
  else ik_err_set(&e, IK_EIO, "etcd %s: watch: the stream ended", w->endpoint);
  /* A member that cannot be reached: the next call starts elsewhere. */
  if (err && err->code != IK_ECANCELED && w->g->n > 1 && strcmp(w->g->endpoints[w->g->current], w->endpoint) == 0)
    w->g->current = (w->g->current + 1) % w->g->n;
  w->on_end(NULL, &e, w->data);
  gw_unref(w->g);
  ik_buf_free(&w->line);
  ik_free(w->endpoint);
  ik_free(w);
}

static int gw_watch(void *self, json_t *create_request, ik_etcd_msg_cb on_msg, ik_spi_cb on_end, void *data,
                    void **out, ik_err_t *err) {
  gateway_t *g = self;
  json_t *body = json_pack("{s:O}", "create_request", create_request);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  watch_t *w = IK_NEW(watch_t);
  *w = (watch_t){.g = g, .endpoint = ik_strdup(g->endpoints[g->current]), .on_msg = on_msg, .on_end = on_end, .data = data};
  char *url = ik_sprintf("http://%s/v3/watch", w->endpoint);
  ik_http_req_t req = {
      .method = "POST",
      .url = url,
      .headers = json_headers,
      .body = text,
      .body_len = text ? strlen(text) : 0,
      .timeout_ms = g->timeout_ms,
      .on_data = on_watch_data,
  };
  int rc = ik_http_request(g->http, &req, on_watch_end, w, &w->hc, err);
  ik_free(url);
  free(text);
  if (rc < 0) {
    ik_free(w->endpoint);
    ik_free(w);
    return rc;
  }
  g->refs++;
  if (out) *out = w;
  return 0;
}

static void gw_cancel_watch(void *self, void *handle) {
  (void)self;
  watch_t *w = handle;
  if (w) ik_http_cancel(w->hc);
}

static const ik_etcd_gateway_vtable_t gateway_vt = {
    .call = gw_call,
    .watch = gw_watch,
    .cancel_watch = gw_cancel_watch,
};

int ik_etcd_gateway_new(ik_http_client_t *http, const char *endpoints, const ik_etcd_gateway_opts_t *opts,
                        ik_etcd_gateway_t *out, ik_err_t *err) {
  if (endpoints == NULL || *endpoints == '\0') return ik_err_set(err, IK_EINVAL, "etcd: no endpoint");
  gateway_t *g = IK_NEW(gateway_t);
  uint64_t timeout = opts && opts->timeout_ms ? opts->timeout_ms : IK_ETCD_DEFAULT_TIMEOUT_MS;
  uint64_t keepalive = opts && opts->keepalive_timeout_ms ? opts->keepalive_timeout_ms : timeout;
  if (keepalive > timeout) keepalive = timeout; /* a long lease's keepalive waits no longer than any call */
  *g = (gateway_t){.http = http, .timeout_ms = timeout, .keepalive_timeout_ms = keepalive, .refs = 1};
  char *copy = ik_strdup(endpoints);
  for (char *save = NULL, *ep = strtok_r(copy, ",", &save); ep; ep = strtok_r(NULL, ",", &save)) {
    g->endpoints = ik_realloc(g->endpoints, (g->n + 1) * sizeof *g->endpoints);
    g->endpoints[g->n++] = ik_strdup(ep);
  }
  ik_free(copy);
  if (g->n == 0) {
    gw_unref(g);
    return ik_err_set(err, IK_EINVAL, "etcd: no endpoint in \"%s\"", endpoints);
  }
  out->vt = &gateway_vt;
  out->self = g;
  return 0;
}

void ik_etcd_gateway_free(ik_etcd_gateway_t *g) {
  if (g == NULL || g->self == NULL) return;
  gw_unref(g->self);
  g->self = NULL;
  g->vt = NULL;
}
