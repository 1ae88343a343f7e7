/* Instance/0.6.1 client: the instance vtable over JSON-RPC (reference
 * §3.1; request shapes as InfraKit's pkg/rpc/instance/types.go). */
#include <stdio.h>

#include "base/mem.h"
#include "net/client/remote.h"
#include "net/client/remote_call.h"
#include "net/server/rpc_server.h"

typedef struct remote_instance {
  ik_rpc_client_t *client;
  char *type;
} remote_instance_t;

/* Instance.<method> with params (stolen) plus the Type field. */
static int call(remote_instance_t *ri, const char *method, json_t *params, ik_remote_pick_t pick, const char *field,
                ik_spi_cb cb, void *data, ik_err_t *err) {
  char full[64];
  snprintf(full, sizeof full, "Instance.%s", method);
  json_t *req = json_pack("{s:s}", "Type", ri->type);
  json_object_update(req, params);
  json_decref(params);
  return ik__remote_call(ri->client, "Instance", IK_IFACE_INSTANCE_VERSION, full, req, pick, field, cb, data, err);
}

static int r_validate(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Validate", json_pack("{s:o}", "Properties", ik__or_null(properties)), IK_PICK_NULL, NULL, cb,
              data, err);
}

static int r_provision(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Provision", json_pack("{s:o}", "Spec", ik__or_null(spec)), IK_PICK_FIELD, "ID", cb, data, err);
}

static int r_label(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Label", json_pack("{s:s, s:o}", "Instance", id, "Labels", ik__or_null(labels)), IK_PICK_NULL,
              NULL, cb, data, err);
}

static int r_destroy(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Destroy", json_pack("{s:s, s:{s:s}}", "Instance", id, "Context", "Reason", reason),
              IK_PICK_NULL, NULL, cb, data, err);
}

static int r_describe(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "DescribeInstances",
              json_pack("{s:o, s:b}", "Tags", ik__or_null(tags), "Properties", properties), IK_PICK_ARRAY,
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
  ik_rpc_client_t *c;
  const char *type;
  int rc = ik__remote_open(http, dir, name, &c, &type, err);
  if (rc == 0) ik_remote_instance_new(c, type, out);
  return rc;
}
