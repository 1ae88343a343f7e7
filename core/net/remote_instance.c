/* Instance/0.6.1 client: the instance vtable over JSON-RPC (reference
 * §3.1; request shapes as InfraKit's pkg/rpc/instance/types.go). */
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "net/discovery.h"
#include "net/remote.h"
#include "net/rpc_server.h"

typedef struct remote_instance {
  ik_rpc_client_t *client;
  char *type;
} remote_instance_t;

/* One call in flight: which result field the caller wants. */
typedef struct call_ctx {
  ik_spi_cb cb;
  void *data;
  const char *field; /* NULL: the call has no result (null) */
} call_ctx_t;

static void on_result(json_t *result, const ik_err_t *err, void *data) {
  call_ctx_t ctx = *(call_ctx_t *)data;
  ik_free(data);
  if (err) {
    ctx.cb(NULL, err, ctx.data);
    return;
  }
  json_t *v = ctx.field ? ik_json_get(result, ctx.field) : NULL;
  if (ctx.field && strcmp(ctx.field, "Descriptions") == 0 && !json_is_array(v)) {
    json_t *empty = json_array();
    ctx.cb(empty, NULL, ctx.data);
    json_decref(empty);
    return;
  }
  ctx.cb(v ? v : json_null(), NULL, ctx.data);
}

/* Send Instance.<method> with params (stolen) plus the Type field. */
static int call(remote_instance_t *ri, const char *method, json_t *params, const char *field, ik_spi_cb cb,
                void *data, ik_err_t *err) {
  char full[64];
  snprintf(full, sizeof full, "Instance.%s", method);
  json_t *req = json_object();
  json_object_set_new(req, "Type", json_string(ri->type));
  json_object_update(req, params);
  json_decref(params);
  call_ctx_t *ctx = ik_malloc(sizeof *ctx);
  *ctx = (call_ctx_t){cb, data, field};
  int rc = ik_rpc_call(ri->client, "Instance", IK_IFACE_INSTANCE_VERSION, full, req, on_result, ctx, NULL, err);
  json_decref(req);
  if (rc < 0) ik_free(ctx);
  return rc;
}

static json_t *or_null(json_t *v) { return v ? json_incref(v) : json_null(); }

static int r_validate(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Validate", json_pack("{s:o}", "Properties", or_null(properties)), NULL, cb, data, err);
}

static int r_provision(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Provision", json_pack("{s:o}", "Spec", or_null(spec)), "ID", cb, data, err);
}

static int r_label(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Label", json_pack("{s:s, s:o}", "Instance", id, "Labels", or_null(labels)), NULL, cb, data,
              err);
}

static int r_destroy(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Destroy", json_pack("{s:s, s:{s:s}}", "Instance", id, "Context", "Reason", reason), NULL, cb,
              data, err);
}

static int r_describe(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "DescribeInstances", json_pack("{s:o, s:b}", "Tags", or_null(tags), "Properties", properties),
              "Descriptions", cb, data, err);
}

static void r_free(void *self) {
  remote_instance_t *ri = self;
  ik_rpc_client_free(ri->client);
  ik_free(ri->type);
  ik_free(ri);
}

static const ik_instance_vtable_t remote_instance_vt = {
    .kind = "rpc",
    .validate = r_validate,
    .provision = r_provision,
    .label = r_label,
    .destroy = r_destroy,
    .describe = r_describe,
    .free = r_free,
};

void ik_remote_instance_new(ik_rpc_client_t *c, const char *type, ik_instance_plugin_t *out) {
  remote_instance_t *ri = IK_NEW(remote_instance_t);
  ri->client = c;
  ri->type = ik_strdup(type ? type : "");
  out->vt = &remote_instance_vt;
  out->self = ri;
}

int ik_remote_instance_open(ik_http_client_t *http, const char *dir, const char *name, ik_instance_plugin_t *out,
                            ik_err_t *err) {
  char lookup[256];
  const char *type = NULL;
  ik_plugin_name_split(name, lookup, sizeof lookup, &type);
  ik_rpc_client_t *c;
  int rc = ik_rpc_client_open(http, dir, lookup, 0, &c, err);
  if (rc < 0) return rc;
  ik_remote_instance_new(c, type, out);
  return 0;
}
