/* Calls to the Docker Engine API for instance-docker: one request helper
 * over the project's HTTP client, every path pinned to /v1.41, and one
 * shape for the engine's errors ({"message": ...} in a 4xx/5xx answer),
 * which are always passed on, never swallowed. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "net/go_types.h"
#include "providers/docker/docker_internal.h"

int ik__docker_set_host(ik_docker_t *dp, const char *host, ik_err_t *err) {
  if (strncmp(host, "unix://", 7) == 0) {
    const char *path = host + 7;
    if (path[0] != '/')
      return ik_err_set(err, IK_EINVAL, "instance-docker: host %s: want unix:///ABSOLUTE/PATH", host);
    dp->unix_path = ik_strdup(path);
    dp->base_url = ik_strdup("http://docker/" IK_DOCKER_API_VERSION);
  } else if (strncmp(host, "tcp://", 6) == 0 && host[6] != '\0' && strchr(host + 6, ':') &&
             strpbrk(host + 6, "/?#@ ") == NULL) {
    dp->base_url = ik_sprintf("http://%s/" IK_DOCKER_API_VERSION, host + 6);
  } else {
    return ik_err_set(err, IK_EINVAL,
                      "instance-docker: host \"%s\": want unix:///path/to/docker.sock or tcp://HOST:PORT (plain HTTP; "
                      "TLS is not supported)",
                      host);
  }
  dp->host = ik_strdup(host);
  return 0;
}

ik_http_client_t *ik__docker_http(ik_docker_t *dp, ik_err_t *err) {
  if (dp->freed) {
    ik_err_set(err, IK_ECANCELED, "instance-docker: the driver was closed");
    return NULL;
  }
  if (dp->http == NULL && ik_http_client_new(dp->loop, &dp->http, err) < 0) dp->http = NULL;
  return dp->http;
}

typedef struct call_ctx {
  ik_docker_t *dp;
  ik__docker_resp_cb cb;
  void *data;
} call_ctx_t;

static void on_response(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  call_ctx_t *ctx = data;
  ik_docker_t *dp = ctx->dp;
  if (err) {
    ctx->cb(0, NULL, NULL, err, ctx->data);
  } else {
    json_t *body = NULL;
    if (resp->body.len > 0) body = json_loadb(resp->body.data, resp->body.len, JSON_DECODE_ANY, NULL);
    ctx->cb(resp->status, body, &resp->body, NULL, ctx->data);
    json_decref(body);
  }
  ik_free(ctx);
  ik__docker_unref(dp);
}

int ik__docker_call(ik_docker_t *dp, const char *method, const char *path, json_t *body, uint64_t timeout_ms,
                    ik__docker_resp_cb cb, void *data, ik_err_t *err) {
  if (ik__docker_http(dp, err) == NULL) {
    json_decref(body);
    return err->code;
  }
  char *url = ik_sprintf("%s%s", dp->base_url, path);
  char *text = body ? ik_json_dump_go(body, false, NULL) : NULL;
  json_decref(body);
  static const char *const json_headers[] = {"Content-Type: application/json", NULL};
  ik_http_req_t req = {
      .method = method,
      .url = url,
      .unix_path = dp->unix_path,
      .headers = text ? json_headers : NULL,
      .body = text,
      .body_len = text ? strlen(text) : 0,
      .timeout_ms = timeout_ms,
  };
  call_ctx_t *ctx = IK_NEW(call_ctx_t);
  ctx->dp = dp;
  ctx->cb = cb;
  ctx->data = data;
  int rc = ik_http_request(dp->http, &req, on_response, ctx, NULL, err);
  free(text);
  ik_free(url);
  if (rc < 0) {
    ik_free(ctx);
    return rc;
  }
  ik__docker_ref(dp);
  return 0;
}

int ik__docker_fail(ik_docker_t *dp, ik_err_t *err, const char *what, long status, const json_t *body,
                    const ik_buf_t *raw, const ik_err_t *transport) {
  if (transport) {
    bool nobody = transport->code == UV_ENOENT || transport->code == UV_ECONNREFUSED;
    return ik_err_set(err, transport->code, "instance-docker: %s: %s%s%s%s", what, transport->msg,
                      nobody ? " (is the Docker engine running? the driver talks to " : "", nobody ? dp->host : "",
                      nobody ? "; set DOCKER_HOST or --docker-host)" : "");
  }
  const char *msg = json_string_value(json_object_get(body, "message"));
  int code = status == 404 ? IK_ENOTFOUND : status == 409 ? IK_EEXIST
                                        : status == 400   ? IK_EINVAL
                                                          : IK_EDRIVER;
  if (msg) return ik_err_set(err, code, "instance-docker: %s: %s (HTTP %ld)", what, msg, status);
  return ik_err_set(err, code, "instance-docker: %s: HTTP %ld from the engine: %.300s", what, status,
                    raw && raw->len ? raw->data : "(no body)");
}

void ik__docker_filters(ik_buf_t *out, const json_t *filters) {
  char *text = ik_json_dump_go(filters, false, NULL);
  ik_go_query_escape(out, text);
  free(text);
}
