/* Plumbing shared by the SPI servers (see rpc_util.h). */
#include "net/server/rpc_util.h"

#include <stdio.h>

#include "base/json.h"
#include "base/mem.h"

struct ik_rpc_pending {
  ik_rpc_call_t *call;
  ik_rpc_encode_fn encode;
  json_t *ctx;
};

ik_rpc_pending_t *ik_rpc_pending_new(ik_rpc_call_t *call, ik_rpc_encode_fn encode, json_t *ctx) {
  ik_rpc_pending_t *p = IK_NEW(ik_rpc_pending_t);
  p->call = call;
  p->encode = encode;
  p->ctx = ctx;
  return p;
}

static void pending_free(ik_rpc_pending_t *p) {
  json_decref(p->ctx);
  ik_free(p);
}

void ik_rpc_pending_done(json_t *result, const ik_err_t *err, void *data) {
  ik_rpc_pending_t *p = data;
  if (err) {
    ik_rpc_fail(p->call, IK_RPC_SERVER_ERROR, "%s", err->msg);
  } else {
    ik_err_t bad = {0};
    json_t *out = ik_rpc_result_new(p->call);
    if (p->encode(out, result ? result : json_null(), p->ctx, &bad) < 0) {
      json_decref(out);
      ik_rpc_fail(p->call, IK_RPC_SERVER_ERROR, "%s", bad.msg);
    } else {
      ik_rpc_reply(p->call, out);
    }
  }
  pending_free(p);
}

void ik_rpc_pending_started(ik_rpc_pending_t *p, int rc, const ik_err_t *err) {
  if (rc >= 0) return;
  const char *msg = err && err->msg[0] ? err->msg : ik_strerror(rc);
  ik_rpc_fail(p->call, rc == IK_EINVAL ? IK_RPC_INVALID_PARAMS : IK_RPC_SERVER_ERROR, "%s", msg);
  pending_free(p);
}

int ik_rpc_encode_ok(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  json_object_set_new(out, "OK", json_true());
  return 0;
}

const char *ik_rpc_need_string(ik_rpc_call_t *call, json_t *params, const char *key) {
  ik_err_t err = {0};
  char field[64];
  snprintf(field, sizeof field, "params.%s", key);
  const char *v = ik_json_get_string(params, key, NULL, field, &err);
  if (v == NULL) {
    if (err.code == 0) ik_err_set(&err, IK_EINVAL, "%s: missing", field);
    ik_rpc_fail(call, IK_RPC_INVALID_PARAMS, "%s", err.msg);
  }
  return v;
}
