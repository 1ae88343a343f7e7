/* Instance/0.6.1 over JSON-RPC: decode InfraKit's request structs, call the
 * instance vtable, encode its results (reference §3.1; shapes and field
 * order from wire-examples.md). */
#include "net/rpc_instance.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"

/* The result waits for the driver: remember the call. */
typedef struct pending {
  ik_rpc_call_t *call;
  const char *field;  /* result field: "OK", "ID", "Descriptions" */
} pending_t;

static void on_done(json_t *result, const ik_err_t *err, void *data) {
  pending_t *p = data;
  if (err) {
    ik_rpc_fail(p->call, IK_RPC_SERVER_ERROR, "%s", err->msg);
  } else {
    json_t *r = ik_rpc_result_new(p->call);
    if (strcmp(p->field, "OK") == 0) json_object_set_new(r, "OK", json_true());
    else if (strcmp(p->field, "Descriptions") == 0)
      json_object_set_new(r, "Descriptions", json_is_array(result) ? json_incref(result) : json_array());
    else json_object_set(r, p->field, result ? result : json_null());
    ik_rpc_reply(p->call, r);
  }
  ik_free(p);
}

static pending_t *pend(ik_rpc_call_t *call, const char *field) {
  pending_t *p = ik_malloc(sizeof *p);
  p->call = call;
  p->field = field;
  return p;
}

/* Finish a call whose driver refused it synchronously. */
static void refused(pending_t *p, int rc, const ik_err_t *err) {
  ik_rpc_call_t *call = p->call;
  ik_free(p);
  if (rc == IK_EINVAL) ik_rpc_fail(call, IK_RPC_INVALID_PARAMS, "%s", err->msg);
  else ik_rpc_fail(call, IK_RPC_SERVER_ERROR, "%s", err->msg);
}

/* A required string field, named in the error when missing or mistyped. */
static const char *need_string(ik_rpc_call_t *call, json_t *params, const char *key) {
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

static void m_validate(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  pending_t *p = pend(call, "OK");
  int rc = pl->vt->validate(pl->self, ik_json_get(params, "Properties"), on_done, p, &err);
  if (rc < 0) refused(p, rc, &err);
}

static void m_provision(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *spec = ik_json_get(params, "Spec");
  if (spec && !json_is_object(spec)) {
    ik_rpc_fail(call, IK_RPC_INVALID_PARAMS, "params.Spec: want an object");
    return;
  }
  json_t *empty = spec ? NULL : json_object();
  pending_t *p = pend(call, "ID");
  int rc = pl->vt->provision(pl->self, spec ? spec : empty, on_done, p, &err);
  json_decref(empty);
  if (rc < 0) refused(p, rc, &err);
}

static void m_label(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  const char *id = need_string(call, params, "Instance");
  if (id == NULL) return;
  json_t *labels = ik_json_get(params, "Labels");
  if (labels && !json_is_object(labels)) {
    ik_rpc_fail(call, IK_RPC_INVALID_PARAMS, "params.Labels: want an object of strings");
    return;
  }
  json_t *empty = labels ? NULL : json_object();
  pending_t *p = pend(call, "OK");
  int rc = pl->vt->label(pl->self, id, labels ? labels : empty, on_done, p, &err);
  json_decref(empty);
  if (rc < 0) refused(p, rc, &err);
}

static void m_destroy(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  const char *id = need_string(call, params, "Instance");
  if (id == NULL) return;
  const char *reason = ik_json_get_string(ik_json_get(params, "Context"), "Reason", "terminate",
                                          "params.Context.Reason", &err);
  if (reason == NULL) {
    ik_rpc_fail(call, IK_RPC_INVALID_PARAMS, "%s", err.msg);
    return;
  }
  pending_t *p = pend(call, "OK");
  int rc = pl->vt->destroy(pl->self, id, reason, on_done, p, &err);
  if (rc < 0) refused(p, rc, &err);
}

static void m_describe(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_instance_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *tags = ik_json_get(params, "Tags");
  if (tags && !json_is_object(tags)) {
    ik_rpc_fail(call, IK_RPC_INVALID_PARAMS, "params.Tags: want an object of strings");
    return;
  }
  json_t *props = ik_json_get(params, "Properties");
  if (props && !json_is_boolean(props)) {
    ik_rpc_fail(call, IK_RPC_INVALID_PARAMS, "params.Properties: want true or false");
    return;
  }
  pending_t *p = pend(call, "Descriptions");
  int rc = pl->vt->describe(pl->self, tags, props && json_is_true(props), on_done, p, &err);
  if (rc < 0) refused(p, rc, &err);
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
