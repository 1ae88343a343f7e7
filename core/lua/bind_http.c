/* core.http_request(method, url, headers, body, timeout_ms, unix_socket,
 * max_body, tls_cert, tls_key, tls_ca, tls_insecure): one HTTP call through the project's client, yielding the
 * task until the response is in.
 *
 *   headers      array of "Name: value" strings, or nil
 *   body         string or nil
 *   timeout_ms   0 for the client's default (15 s)
 *   unix_socket  path, or nil for TCP
 *   max_body     bytes, 0 for the default (64 MiB)
 *   tls_*        https:// only: client certificate and key files, the CA
 *                file, and true to skip verifying the server (all optional)
 *
 * Returns status, body, content_type (nil when absent), or nil, msg, code
 * ("ECONNREFUSED", "ETIMEDOUT", "EMSGSIZE", "EINVAL", "EIO", ...): any HTTP
 * status is an answer, not a failure. lua/infrakit/http.lua wraps it. */
#include <string.h>

#include "base/mem.h"
#include "lua/internal.h"
#include "net/client/http_client.h"

typedef struct ik_http_op {
  ik_op_t op;
  ik_task_t *task; /* NULL once cancelled */
  ik_http_call_t *call;
} ik_http_op_t;

static void http_done(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  (void)call;
  ik_http_op_t *op = data;
  ik_task_t *t = op->task;
  if (t != NULL) {
    lua_State *co = t->co;
    int n;
    if (err) {
      n = ik__push_fail(co, err->code, err->msg);
    } else {
      lua_pushinteger(co, (lua_Integer)resp->status);
      lua_pushlstring(co, ik_buf_cstr(&resp->body), resp->body.len);
      if (resp->content_type) lua_pushstring(co, resp->content_type);
      else lua_pushnil(co);
      n = 3;
    }
    ik__task_wake(t, n);
  }
  ik_free(op);
}

static void http_cancel(ik_op_t *base) {
  ik_http_op_t *op = (ik_http_op_t *)base;
  op->task = NULL;
  ik_http_cancel(op->call); /* http_done still runs and frees op */
}

/* The runtime's HTTP client, created on first use (shared with rpc). */
int ik__lua_http_client(ik_lua_t *rt, struct ik_http_client **out, ik_err_t *err) {
  int rc = rt->http ? 0 : ik_http_client_new(rt->loop, &rt->http, err);
  *out = rt->http;
  return rc;
}

static int l_http_request(lua_State *L) {
  const char *method = luaL_checkstring(L, 1);
  const char *url = luaL_checkstring(L, 2);
  size_t body_len = 0;
  const char *body = luaL_optlstring(L, 4, NULL, &body_len);
  lua_Number timeout = luaL_optnumber(L, 5, 0);
  const char *unix_path = luaL_optstring(L, 6, NULL);
  lua_Number max_body = luaL_optnumber(L, 7, 0);
  /* https:// only: client certificate, its key, the CA, skip verification. */
  const char *tls_cert = luaL_optstring(L, 8, NULL);
  const char *tls_key = luaL_optstring(L, 9, NULL);
  const char *tls_ca = luaL_optstring(L, 10, NULL);
  bool tls_insecure = lua_toboolean(L, 11);
  ik_task_t *t = ik__task_current(L, "infrakit.http.request");
  /* Headers: a NULL-terminated copy of the array's strings, kept alive by
   * the table (the client copies what it keeps). */
  const char *headers[65] = {NULL};
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    size_t n = lua_objlen(L, 3);
    if (n > 64) return luaL_error(L, "infrakit.http.request: at most 64 headers");
    for (size_t i = 0; i < n; i++) {
      lua_rawgeti(L, 3, (int)i + 1);
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "infrakit.http.request: headers[%d] must be a string", (int)i + 1);
      headers[i] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
  }
  ik_err_t err = {0};
  ik_http_client_t *http;
  int rc = ik__lua_http_client(t->rt, &http, &err);
  if (rc < 0) return ik__push_fail(L, rc, err.msg);
  ik_http_op_t *op = IK_NEW(ik_http_op_t);
  op->op.cancel = http_cancel;
  op->task = t;
  ik_http_req_t req = {
      .method = method,
      .url = url,
      .unix_path = unix_path,
      .headers = headers,
      .body = body,
      .body_len = body_len,
      .timeout_ms = (uint64_t)timeout,
      .max_body = (size_t)max_body,
      .tls_cert = tls_cert,
      .tls_key = tls_key,
      .tls_ca = tls_ca,
      .tls_insecure = tls_insecure,
  };
  rc = ik_http_request(http, &req, http_done, op, &op->call, &err);
  if (rc < 0) {
    ik_free(op);
    return ik__push_fail(L, rc, err.msg);
  }
  return ik__task_yield(L, t, &op->op);
}

void ik__bind_http(lua_State *L) {
  lua_pushcfunction(L, l_http_request);
  lua_setfield(L, -2, "http_request");
}
