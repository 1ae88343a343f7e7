/* Flavor/0.1.1 over JSON-RPC: decode InfraKit's request structs
 * (pkg/rpc/flavor/types.go), call the flavor vtable, encode its results
 * with Go's field order (wire-examples "Flavor.*"). */
#include "net/server/rpc_flavor.h"

#include "base/json.h"
#include "net/go_types.h"
#include "net/server/rpc_util.h"

/* --- results ------------------------------------------------------------ */

/* {"Spec": the amended instance.Spec, in Go's shape}. */
static int encode_spec(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  json_t *spec;
  if (!json_is_object(result))
    return ik_err_set(err, IK_EDRIVER, "flavor prepare returned no spec (want an instance spec object)");
  if (ik_go_instance_spec(result, "prepared Spec", &spec, err) < 0) return IK_EDRIVER;
  json_object_set_new(out, "Spec", spec);
  return 0;
}

/* {"Health": 0 | 1 | 2}. */
static int encode_health(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  json_int_t h = json_is_integer(result) ? json_integer_value(result) : -1;
  if (h != IK_HEALTH_UNKNOWN && h != IK_HEALTH_HEALTHY && h != IK_HEALTH_UNHEALTHY)
    return ik_err_set(err, IK_EDRIVER, "flavor healthy returned no health (want 0 unknown, 1 healthy, 2 unhealthy)");
  json_object_set_new(out, "Health", json_integer(h));
  return 0;
}

/* --- methods ------------------------------------------------------------ */

/* Healthy and Drain take the same request: {Properties, Instance}. */
typedef int (*instance_op)(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data,
                           ik_err_t *err);

static void call_with_instance(ik_rpc_call_t *call, json_t *params, ik_flavor_plugin_t *pl, instance_op op,
                               ik_rpc_encode_fn encode) {
  ik_err_t err = {0};
  json_t *inst;
  if (ik_go_description(ik_json_get(params, "Instance"), "params.Instance", &inst, &err) < 0) {
    ik_rpc_fail_err(call, &err);
    return;
  }
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode, NULL);
  int rc = op(pl->self, ik_json_get(params, "Properties"), inst, ik_rpc_pending_done, p, &err);
  json_decref(inst);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_validate(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_flavor_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *alloc;
  if (ik_go_allocation(ik_json_get(params, "Allocation"), "params.Allocation", &alloc, &err) < 0) {
    ik_rpc_fail_err(call, &err);
    return;
  }
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, ik_rpc_encode_ok, NULL);
  int rc = pl->vt->validate(pl->self, ik_json_get(params, "Properties"), alloc, ik_rpc_pending_done, p, &err);
  json_decref(alloc);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_prepare(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_flavor_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *spec = NULL, *alloc = NULL, *index = NULL;
  if (ik_go_instance_spec(ik_json_get(params, "Spec"), "params.Spec", &spec, &err) < 0 ||
      ik_go_allocation(ik_json_get(params, "Allocation"), "params.Allocation", &alloc, &err) < 0 ||
      ik_go_index(ik_json_get(params, "Index"), "params.Index", &index, &err) < 0) {
    ik_rpc_fail_err(call, &err);
  } else {
    ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_spec, NULL);
    int rc = pl->vt->prepare(pl->self, ik_json_get(params, "Properties"), spec, alloc, index, ik_rpc_pending_done,
                             p, &err);
    ik_rpc_pending_started(p, rc, &err);
  }
  json_decref(spec);
  json_decref(alloc);
  json_decref(index);
}

static void m_healthy(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_flavor_plugin_t *pl = obj;
  call_with_instance(call, params, pl, pl->vt->healthy, encode_health);
}

static void m_drain(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_flavor_plugin_t *pl = obj;
  call_with_instance(call, params, pl, pl->vt->drain, ik_rpc_encode_ok);
}

/* Examples for /info/api.json: Go's zero-value request and response
 * structs, as flavor-vanilla shows them (wire-examples). */
#define ZERO_SPEC "{\"Properties\":null,\"Tags\":null,\"Init\":\"\",\"LogicalID\":null,\"Attachments\":null}"
#define ZERO_ALLOC "{\"Size\":0,\"LogicalIDs\":null}"
#define ZERO_DESC "{\"ID\":\"\",\"LogicalID\":null,\"Tags\":null}"

static const ik_rpc_method_t flavor_methods[] = {
    {"Validate", m_validate, "{\"Type\":\"\",\"Properties\":null,\"Allocation\":" ZERO_ALLOC "}",
     "{\"Type\":\"\",\"OK\":false}"},
    {"Prepare", m_prepare,
     "{\"Type\":\"\",\"Properties\":null,\"Spec\":" ZERO_SPEC ",\"Allocation\":" ZERO_ALLOC
     ",\"Index\":{\"Group\":\"\",\"Sequence\":0}}",
     "{\"Type\":\"\",\"Spec\":" ZERO_SPEC "}"},
    {"Healthy", m_healthy, "{\"Type\":\"\",\"Properties\":null,\"Instance\":" ZERO_DESC "}",
     "{\"Type\":\"\",\"Health\":0}"},
    {"Drain", m_drain, "{\"Type\":\"\",\"Properties\":null,\"Instance\":" ZERO_DESC "}",
     "{\"Type\":\"\",\"OK\":false}"},
    {NULL, NULL, NULL, NULL},
};

const ik_rpc_iface_t ik_rpc_flavor_iface = {
    .name = "Flavor",
    .version = IK_IFACE_FLAVOR_VERSION,
    .service = "Flavor",
    .dispatch = IK_RPC_TYPED,
    .methods = flavor_methods,
};
