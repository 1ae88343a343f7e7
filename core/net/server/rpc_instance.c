/* Instance/0.6.1 over JSON-RPC: decode InfraKit's request structs, call the
 * instance vtable, encode its results (reference §3.1; shapes and field
 * order from wire-examples.md). */
#include "net/server/rpc_instance.h"

#include "base/json.h"
#include "net/go_types.h"
#include "net/server/rpc_util.h"

/* --- results ------------------------------------------------------------ */

/* {"ID": the new instance's ID} (a string, or null as Go's nil *ID). */
static int encode_id(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  if (!json_is_string(result) && !json_is_null(result))
    return ik_err_set(err, IK_EDRIVER, "provision returned no instance ID (want a string)");
  json_object_set(out, "ID", result);
  return 0;
}

/* {"Descriptions": [...]}: [] when the driver found nothing. */
static int encode_descriptions(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  json_t *list;
  if (ik_go_description_list(result, "describe result", &list, err) < 0) return IK_EDRIVER;
  json_object_set_new(out, "Descriptions", json_is_array(list) ? list : json_array());
  return 0;
}

/* --- methods ------------------------------------------------------------ */

static void m_validate(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, ik_rpc_encode_ok, NULL);
  int rc = pl->vt->validate(pl->self, ik_json_get(params, "Properties"), ik_rpc_pending_done, p, &err);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_provision(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *spec;
  if (ik_go_instance_spec(ik_json_get(params, "Spec"), "params.Spec", &spec, &err) < 0) {
    ik_rpc_fail_err(call, &err);
    return;
  }
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_id, NULL);
  int rc = pl->vt->provision(pl->self, spec, ik_rpc_pending_done, p, &err);
  json_decref(spec);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_label(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  const char *id = ik_rpc_need_string(call, params, "Instance");
  if (id == NULL) return;
  json_t *labels;
  if (ik_go_string_map(ik_json_get(params, "Labels"), "params.Labels", &labels, &err) < 0) {
    ik_rpc_fail_err(call, &err);
    return;
  }
  if (json_is_null(labels)) labels = json_object(); /* no labels: nothing to merge */
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, ik_rpc_encode_ok, NULL);
  int rc = pl->vt->label(pl->self, id, labels, ik_rpc_pending_done, p, &err);
  json_decref(labels);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_destroy(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  const char *id = ik_rpc_need_string(call, params, "Instance");
  if (id == NULL) return;
  json_t *context;
  const char *reason = NULL;
  if (ik_go_get_object(params, "Context", "params", &context, &err) < 0 ||
      ik_go_get_string(context, "Reason", "params.Context", &reason, &err) < 0) {
    ik_rpc_fail_err(call, &err);
    return;
  }
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, ik_rpc_encode_ok, NULL);
  int rc = pl->vt->destroy(pl->self, id, reason[0] ? reason : "terminate", ik_rpc_pending_done, p, &err);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_describe(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *tags;
  bool props;
  if (ik_go_get_bool(params, "Properties", "params", &props, &err) < 0 ||
      ik_go_string_map(ik_json_get(params, "Tags"), "params.Tags", &tags, &err) < 0) {
    ik_rpc_fail_err(call, &err);
    return;
  }
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_descriptions, NULL);
  int rc = pl->vt->describe(pl->self, json_is_null(tags) ? NULL : tags, props, ik_rpc_pending_done, p, &err);
  json_decref(tags);
  ik_rpc_pending_started(p, rc, &err);
}

static const ik_rpc_method_t instance_methods[] = {
    {"Validate", m_validate, "{\"Type\":\"\",\"Properties\":null}", "{\"Type\":\"\",\"OK\":false}"},
    {"Provision", m_provision,
     "{\"Type\":\"\",\"Spec\":{\"Properties\":null,\"Tags\":null,\"Init\":\"\",\"LogicalID\":null,"
     "\"Attachments\":null}}",
     "{\"Type\":\"\",\"ID\":null}"},
    {"Label", m_label, "{\"Type\":\"\",\"Instance\":\"\",\"Labels\":null}", "{\"Type\":\"\",\"OK\":false}"},
    {"Destroy", m_destroy, "{\"Type\":\"\",\"Instance\":\"\",\"Context\":{\"Reason\":\"\"}}",
     "{\"Type\":\"\",\"OK\":false}"},
    {"DescribeInstances", m_describe, "{\"Type\":\"\",\"Tags\":null,\"Properties\":false}",
     "{\"Type\":\"\",\"Descriptions\":null}"},
    {NULL, NULL, NULL, NULL},
};

const ik_rpc_iface_t ik_rpc_instance_iface = {
    .name = "Instance",
    .version = IK_IFACE_INSTANCE_VERSION,
    .service = "Instance",
    .dispatch = IK_RPC_TYPED,
    .methods = instance_methods,
};
