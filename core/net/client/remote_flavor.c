/* Flavor/0.1.1 client: the flavor vtable over JSON-RPC (reference §3.2;
 * request shapes as InfraKit's pkg/rpc/flavor/types.go). */
#include <stdio.h>

#include "base/mem.h"
#include "net/client/remote.h"
#include "net/client/remote_call.h"
#include "net/server/rpc_server.h"

typedef struct remote_flavor {
  ik_rpc_client_t *client;
  char *type;
} remote_flavor_t;

/* Flavor.<method> with {Type, Properties} plus params (stolen). */
static int call(remote_flavor_t *rf, const char *method, json_t *properties, json_t *params, ik_remote_pick_t pick,
                const char *field, ik_spi_cb cb, void *data, ik_err_t *err) {
  char full[64];
  snprintf(full, sizeof full, "Flavor.%s", method);
  json_t *req = json_pack("{s:s, s:o}", "Type", rf->type, "Properties", ik__or_null(properties));
  json_object_update(req, params);
  json_decref(params);
  return ik__remote_call(rf->client, "Flavor", IK_IFACE_FLAVOR_VERSION, full, req, pick, field, cb, data, err);
}

static int r_validate(void *self, json_t *properties, json_t *allocation, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Validate", properties, json_pack("{s:o}", "Allocation", ik__or_null(allocation)), IK_PICK_NULL,
              NULL, cb, data, err);
}

static int r_prepare(void *self, json_t *properties, json_t *spec, json_t *allocation, json_t *index, ik_spi_cb cb,
                     void *data, ik_err_t *err) {
  json_t *params = json_pack("{s:o, s:o, s:o}", "Spec", ik__or_null(spec), "Allocation", ik__or_null(allocation),
                             "Index", ik__or_null(index));
  return call(self, "Prepare", properties, params, IK_PICK_FIELD, "Spec", cb, data, err);
}

static int r_healthy(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Healthy", properties, json_pack("{s:o}", "Instance", ik__or_null(instance)), IK_PICK_FIELD,
              "Health", cb, data, err);
}

static int r_drain(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Drain", properties, json_pack("{s:o}", "Instance", ik__or_null(instance)), IK_PICK_NULL, NULL,
              cb, data, err);
}

static void r_free(void *self) {
  remote_flavor_t *rf = self;
  ik_rpc_client_free(rf->client);
  ik_free(rf->type);
  ik_free(rf);
}

static const ik_flavor_vtable_t remote_flavor_vt = {
    .kind = "rpc",
    .validate = r_validate,
    .prepare = r_prepare,
    .healthy = r_healthy,
    .drain = r_drain,
    .free = r_free,
};

void ik_remote_flavor_new(ik_rpc_client_t *c, const char *type, ik_flavor_plugin_t *out) {
  remote_flavor_t *rf = IK_NEW(remote_flavor_t);
  rf->client = c;
  rf->type = ik_strdup(type ? type : "");
  out->vt = &remote_flavor_vt;
  out->self = rf;
}

int ik_remote_flavor_open(ik_http_client_t *http, const char *dir, const char *name, ik_flavor_plugin_t *out,
                          ik_err_t *err) {
  ik_rpc_client_t *c;
  const char *type;
  int rc = ik__remote_open(http, dir, name, &c, &type, err);
  if (rc == 0) ik_remote_flavor_new(c, type, out);
  return rc;
}
