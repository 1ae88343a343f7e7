/* One SPI call over JSON-RPC, for every remote adapter (remote_call.h). */
#include "net/client/remote_call.h"

#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "net/discovery.h"

typedef struct call_ctx {
  ik_spi_cb cb;
  void *data;
  ik_remote_pick_t pick;
  const char *field; /* static string */
} call_ctx_t;

static void on_result(json_t *result, const ik_err_t *err, void *data) {
  call_ctx_t ctx = *(call_ctx_t *)data;
  ik_free(data);
  if (err) {
    ctx.cb(NULL, err, ctx.data);
    return;
  }
  json_t *v = NULL;
  switch (ctx.pick) {
  case IK_PICK_NULL: break;
  case IK_PICK_FIELD: v = ik_json_get(result, ctx.field); break;
  case IK_PICK_WHOLE: v = result; break;
  case IK_PICK_ARRAY:
    v = ik_json_get(result, ctx.field);
    if (!json_is_array(v)) {
      json_t *empty = json_array();
      ctx.cb(empty, NULL, ctx.data);
      json_decref(empty);
      return;
    }
    break;
  default: abort();
  }
  ctx.cb(v ? v : json_null(), NULL, ctx.data);
}

int ik__remote_call(ik_rpc_client_t *c, const char *iface, const char *version, const char *method, json_t *params,
                    ik_remote_pick_t pick, const char *field, ik_spi_cb cb, void *data, ik_err_t *err) {
  call_ctx_t *ctx = ik_malloc(sizeof *ctx);
  *ctx = (call_ctx_t){cb, data, pick, field};
  int rc = ik_rpc_call(c, iface, version, method, params, on_result, ctx, NULL, err);
  json_decref(params);
  if (rc < 0) ik_free(ctx);
  return rc;
}

int ik__remote_open(ik_http_client_t *http, const char *dir, const char *name, ik_rpc_client_t **c,
                    const char **type, ik_err_t *err) {
  char lookup[256];
  ik_plugin_name_split(name, lookup, sizeof lookup, type);
  return ik_rpc_client_open(http, dir, lookup, 0, c, err);
}

json_t *ik__or_null(json_t *v) { return v ? json_incref(v) : json_null(); }
