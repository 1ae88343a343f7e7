/* etcd's v3 JSON gateway over the HTTP client (etcd_gateway.h). */
#include "net/client/etcd_gateway.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

#define MAX_ENDPOINTS 16

typedef struct gateway {
  ik_http_client_t *http;
  char *endpoints[MAX_ENDPOINTS];
  size_t n, current;
  uint64_t timeout_ms;
} gateway_t;

typedef struct gw_call {
  gateway_t *g;
  size_t endpoint;
  ik_spi_cb cb;
  ik_etcd_msg_cb on_msg; /* watches only */
  void *data;
  ik_buf_t lines; /* a watch's partial line */
  ik_http_call_t *http_call;
} gw_call_t;

static const char *const json_headers[] = {"Content-Type: application/json", NULL};

/* A transport failure: later calls try the next endpoint. */
static void next_endpoint(gw_call_t *c) {
  if (c->g->current == c->endpoint) c->g->current = (c->endpoint + 1) % c->g->n;
}

/* etcd's error answer ({"error": "...", "message": "...", "code": N}). */
static void status_error(const ik_http_resp_t *resp, const char *path, ik_err_t *e) {
  json_t *j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, JSON_DISABLE_EOF_CHECK, NULL);
  const char *msg = json_string_value(json_object_get(j, "message"));
  if (!msg) msg = json_string_value(json_object_get(j, "error"));
  ik_err_set(e, IK_EIO, "etcd %s: HTTP %ld: %s", path, resp->status, msg ? msg : "no message");
  json_decref(j);
}

static void on_call_done(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  gw_call_t *c = data;
  (void)call;
  ik_err_t e = {0};
  json_t *j = NULL;
  if (err) {
    next_endpoint(c);
    e = *err;
  } else if (resp->status != 200) {
    status_error(resp, "call", &e);
  } else {
    json_error_t je;
    j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, JSON_DISABLE_EOF_CHECK, &je);
    if (!j) ik_err_set(&e, IK_EIO, "etcd: the answer is not JSON: %s", je.text);
  }
  c->cb(j, e.code ? &e : NULL, c->data);
  json_decref(j);
  ik_free(c);
}

static int start(gateway_t *g, const char *path, json_t *body, gw_call_t *c, ik_err_t *err) {
  char url[512];
  c->g = g;
  c->endpoint = g->current;
  snprintf(url, sizeof url, "http://%s%s", g->endpoints[c->endpoint], path);
  char *text = json_dumps(body, JSON_COMPACT);
  ik_http_req_t req = {
      .method = "POST",
      .url = url,
      .headers = json_headers,
      .body = text,
      .body_len = strlen(text),
      .timeout_ms = g->timeout_ms,
  };
  int rc = ik_http_request(g->http, &req, on_call_done, c, &c->http_call, err);
  free(text);
  return rc;
}

static int gw_call(void *self, const char *path, json_t *body, ik_spi_cb cb, void *data, ik_err_t *err) {
  gw_call_t *c = IK_NEW(gw_call_t);
  c->cb = cb;
  c->data = data;
  int rc = start(self, path, body, c, err);
  if (rc < 0) ik_free(c);
  return rc;
}

/* ---- watch ---- */

static void on_watch_data(ik_http_call_t *call, long status, const char *chunk, size_t len, void *data) {
  gw_call_t *c = data;
  (void)call;
  (void)status;
  ik_buf_append(&c->lines, chunk, len);
  size_t start = 0;
  for (size_t i = 0; i < c->lines.len; i++) {
    if (c->lines.data[i] != '\n') continue;
    json_t *j = json_loadb(c->lines.data + start, i - start, 0, NULL);
    json_t *result = json_object_get(j, "result");
    if (result) c->on_msg(result, c->data);
    json_decref(j);
    start = i + 1;
  }
  if (start > 0) {
    memmove(c->lines.data, c->lines.data + start, c->lines.len - start);
    c->lines.len -= start;
  }
}

static void on_watch_done(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  gw_call_t *c = data;
  (void)call;
  ik_err_t e = {0};
  if (err) {
    if (err->code != IK_ECANCELED) next_endpoint(c);
    e = *err;
  } else if (resp->status != 200) {
    status_error(resp, "/v3/watch", &e);
  } else {
    ik_err_set(&e, IK_EIO, "etcd /v3/watch: the stream ended");
  }
  c->cb(NULL, &e, c->data);
  ik_buf_free(&c->lines);
  ik_free(c);
}

static int gw_watch(void *self, json_t *create_request, ik_etcd_msg_cb on_msg, ik_spi_cb on_end, void *data,
                    void **out, ik_err_t *err) {
  gateway_t *g = self;
  gw_call_t *c = IK_NEW(gw_call_t);
  c->cb = on_end;
  c->on_msg = on_msg;
  c->data = data;
  ik_buf_init(&c->lines);
  json_t *body = json_pack("{s:O}", "create_request", create_request);
  char url[512];
  c->g = g;
  c->endpoint = g->current;
  snprintf(url, sizeof url, "http://%s/v3/watch", g->endpoints[c->endpoint]);
  char *text = json_dumps(body, JSON_COMPACT);
  ik_http_req_t req = {
      .method = "POST",
      .url = url,
      .headers = json_headers,
      .body = text,
      .body_len = strlen(text),
      .timeout_ms = g->timeout_ms,
      .on_data = on_watch_data,
  };
  int rc = ik_http_request(g->http, &req, on_watch_done, c, &c->http_call, err);
  free(text);
  json_decref(body);
  if (rc < 0) {
    ik_buf_free(&c->lines);
    ik_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

static void gw_cancel_watch(void *self, void *w) {
  (void)self;
  ik_http_cancel(((gw_call_t *)w)->http_call);
}

static const ik_etcd_gateway_vtable_t gateway_vt = {
    .call = gw_call,
    .watch = gw_watch,
    .cancel_watch = gw_cancel_watch,
};

int ik_etcd_gateway_new(ik_http_client_t *http, const char *endpoints, uint64_t timeout_ms, ik_etcd_gateway_t *out,
                        ik_err_t *err) {
  gateway_t *g = IK_NEW(gateway_t);
  g->http = http;
  g->timeout_ms = timeout_ms ? timeout_ms : 1000;
  const char *p = endpoints ? endpoints : "";
  while (*p) {
    size_t len = strcspn(p, ",");
    if (len > 0) {
      if (g->n == MAX_ENDPOINTS) {
        ik_etcd_gateway_free(&(ik_etcd_gateway_t){NULL, g});
        return ik_err_set(err, IK_EINVAL, "etcd endpoints: at most %d", MAX_ENDPOINTS);
      }
      g->endpoints[g->n] = ik_malloc(len + 1);
      memcpy(g->endpoints[g->n], p, len);
      g->endpoints[g->n++][len] = '\0';
    }
    p += len + (p[len] == ',');
  }
  if (g->n == 0) {
    ik_free(g);
    return ik_err_set(err, IK_EINVAL, "etcd endpoints: none given (want HOST:PORT[,HOST:PORT...])");
  }
  *out = (ik_etcd_gateway_t){&gateway_vt, g};
  return 0;
}

void ik_etcd_gateway_free(ik_etcd_gateway_t *gw) {
  gateway_t *g = gw ? gw->self : NULL;
  if (!g) return;
  for (size_t i = 0; i < g->n; i++) ik_free(g->endpoints[i]);
  ik_free(g);
  gw->self = NULL;
}
