/* Group/0.1.1 and Stack/0.1.1 (Manager.*) over JSON-RPC: decode InfraKit's
 * request structs (pkg/rpc/group/types.go, pkg/rpc/manager/service.go),
 * call the group and manager vtables, encode their results with Go's field
 * order (wire-examples "Group.*", "Manager socket"). */
#include "net/server/rpc_group.h"

#include "base/json.h"
#include "net/go_types.h"
#include "net/server/rpc_util.h"

/* --- Group results: {"Name", "ID", ...} ---------------------------------- */

/* ctx is the request's group ID, echoed as Go's service does. */
static int encode_id(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  json_object_set(out, "ID", ctx);
  return 0;
}

/* {"ID", "Details"}: the ID the controller committed (the spec's when it
 * does not say), and what it did or, with Pretend, would do. */
static int encode_commit(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  const char *id, *details;
  if (!json_is_object(result)) return ik_err_set(err, IK_EDRIVER, "group commit returned no {ID, Details} object");
  if (ik_go_get_string(result, "ID", "commit result", &id, err) < 0 ||
      ik_go_get_string(result, "Details", "commit result", &details, err) < 0)
    return IK_EDRIVER;
  json_object_set_new(out, "ID", id[0] ? json_string(id) : json_incref(ctx));
  json_object_set_new(out, "Details", json_string(details));
  return 0;
}

static int encode_describe(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  json_t *desc;
  if (!json_is_object(result))
    return ik_err_set(err, IK_EDRIVER, "group describe returned no {Instances, Converged} object");
  if (ik_go_group_description(result, "group description", &desc, err) < 0) return IK_EDRIVER;
  json_object_set(out, "ID", ctx);
  json_object_set_new(out, "Description", desc);
  return 0;
}

static int encode_inspect(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  json_t *groups;
  if (ik_go_group_spec_list(result, "inspected groups", &groups, err) < 0) return IK_EDRIVER;
  json_object_set(out, "ID", ctx);
  json_object_set_new(out, "Groups", groups);
  return 0;
}

static int encode_size(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  if (!json_is_integer(result)) return ik_err_set(err, IK_EDRIVER, "group size returned no size (want an integer)");
  json_object_set(out, "ID", ctx);
  json_object_set(out, "Size", result);
  return 0;
}

/* --- Group methods ------------------------------------------------------ */

/* params.ID (a group ID; "" when absent, as Go decodes it), as a new JSON
 * string to echo; NULL after failing the call when mistyped. */
static json_t *group_id(ik_rpc_call_t *call, json_t *params) {
  ik_err_t err = {0};
  const char *id;
  if (ik_go_get_string(params, "ID", "params", &id, &err) < 0) {
    ik_rpc_fail_err(call, &err);
    return NULL;
  }
  return json_string(id);
}

/* FreeGroup, DescribeGroup, DestroyGroup, Size: {Name, ID} → op(id). */
typedef int (*id_op)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);

static void call_with_id(ik_rpc_call_t *call, json_t *params, ik_group_plugin_t *pl, id_op op,
                         ik_rpc_encode_fn encode) {
  ik_err_t err = {0};
  json_t *id = group_id(call, params);
  if (id == NULL) return;
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode, id);
  int rc = op(pl->self, json_string_value(id), ik_rpc_pending_done, p, &err);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_commit(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *spec;
  bool pretend;
  if (ik_go_get_bool(params, "Pretend", "params", &pretend, &err) < 0 ||
      ik_go_group_spec(ik_json_get(params, "Spec"), "params.Spec", &spec, &err) < 0) {
    ik_rpc_fail_err(call, &err);
    return;
  }
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_commit, json_incref(json_object_get(spec, "ID")));
  int rc = pl->vt->commit(pl->self, spec, pretend, ik_rpc_pending_done, p, &err);
  json_decref(spec);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_free(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  call_with_id(call, params, pl, pl->vt->free_group, encode_id);
}

static void m_describe(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  call_with_id(call, params, pl, pl->vt->describe, encode_describe);
}

static void m_destroy(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  call_with_id(call, params, pl, pl->vt->destroy, encode_id);
}

static void m_size(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  call_with_id(call, params, pl, pl->vt->size, encode_size);
}

static void m_inspect(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *id = group_id(call, params);
  if (id == NULL) return;
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_inspect, id);
  int rc = pl->vt->inspect(pl->self, ik_rpc_pending_done, p, &err);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_destroy_instances(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  ik_err_t err = {0};
  json_t *ids, *id = group_id(call, params);
  if (id == NULL) return;
  if (ik_go_string_list(ik_json_get(params, "Instances"), "params.Instances", &ids, &err) < 0) {
    json_decref(id);
    ik_rpc_fail_err(call, &err);
    return;
  }
  if (json_is_null(ids)) ids = json_array();
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_id, id);
  int rc = pl->vt->destroy_instances(pl->self, json_string_value(id), ids, ik_rpc_pending_done, p, &err);
  json_decref(ids);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_set_size(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  ik_err_t err = {0};
  uint64_t size;
  json_t *id = group_id(call, params);
  if (id == NULL) return;
  if (ik_go_get_uint(params, "Size", "params", &size, &err) < 0) {
    json_decref(id);
    ik_rpc_fail_err(call, &err);
    return;
  }
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_id, id);
  int rc = pl->vt->set_size(pl->self, json_string_value(id), size, ik_rpc_pending_done, p, &err);
  ik_rpc_pending_started(p, rc, &err);
}

/* Ours: Group.Promote, Group.Pause, Group.Resume {Name, ID} → {Name, ID};
 * Group.Status {Name, ID} →
 * {Name, ID, Status: {...}} (spi/group.h). A controller without them
 * answers with the error a Go client gets for a method it lacks. */
static int encode_status(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  if (!json_is_object(result)) return ik_err_set(err, IK_EDRIVER, "group status returned no object");
  json_object_set(out, "ID", ctx);
  json_object_set(out, "Status", result);
  return 0;
}

static void m_promote(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  if (pl->vt->promote == NULL) return ik_rpc_fail(call, IK_RPC_METHOD_NOT_FOUND, "this group controller has no Promote");
  call_with_id(call, params, pl, pl->vt->promote, encode_id);
}

static void m_pause(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  if (pl->vt->pause == NULL) return ik_rpc_fail(call, IK_RPC_METHOD_NOT_FOUND, "this group controller has no Pause");
  call_with_id(call, params, pl, pl->vt->pause, encode_id);
}

static void m_resume(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  if (pl->vt->resume == NULL) return ik_rpc_fail(call, IK_RPC_METHOD_NOT_FOUND, "this group controller has no Resume");
  call_with_id(call, params, pl, pl->vt->resume, encode_id);
}

static void m_status(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_group_plugin_t *pl = obj;
  if (pl->vt->status == NULL) return ik_rpc_fail(call, IK_RPC_METHOD_NOT_FOUND, "this group controller has no Status");
  call_with_id(call, params, pl, pl->vt->status, encode_status);
}

/* Examples for /info/api.json: Go's zero-value request and response structs. */
#define NAME_ID "\"Name\":\"\",\"ID\":\"\""

static const ik_rpc_method_t group_methods[] = {
    {"CommitGroup", m_commit, "{\"Name\":\"\",\"Spec\":{\"ID\":\"\",\"Properties\":null},\"Pretend\":false}",
     "{" NAME_ID ",\"Details\":\"\"}"},
    {"FreeGroup", m_free, "{" NAME_ID "}", "{" NAME_ID "}"},
    {"DescribeGroup", m_describe, "{" NAME_ID "}",
     "{" NAME_ID ",\"Description\":{\"Instances\":null,\"Converged\":false}}"},
    {"DestroyGroup", m_destroy, "{" NAME_ID "}", "{" NAME_ID "}"},
    {"InspectGroups", m_inspect, "{" NAME_ID "}", "{" NAME_ID ",\"Groups\":null}"},
    {"DestroyInstances", m_destroy_instances, "{" NAME_ID ",\"Instances\":null}", "{" NAME_ID "}"},
    {"Size", m_size, "{" NAME_ID "}", "{" NAME_ID ",\"Size\":0}"},
    {"SetSize", m_set_size, "{" NAME_ID ",\"Size\":0}", "{" NAME_ID "}"},
    {"Promote", m_promote, "{" NAME_ID "}", "{" NAME_ID "}"},
    {"Status", m_status, "{" NAME_ID "}", "{" NAME_ID ",\"Status\":{}}"},
    {"Pause", m_pause, "{" NAME_ID "}", "{" NAME_ID "}"},
    {"Resume", m_resume, "{" NAME_ID "}", "{" NAME_ID "}"},
    {NULL, NULL, NULL, NULL},
};

const ik_rpc_iface_t ik_rpc_group_iface = {
    .name = "Group",
    .version = IK_IFACE_GROUP_VERSION,
    .service = "Group",
    .dispatch = IK_RPC_KEYED,
    .methods = group_methods,
};

/* --- Stack (Manager.*) ---------------------------------------------------- */

static int encode_leader(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  if (!json_is_boolean(result)) return ik_err_set(err, IK_EDRIVER, "is_leader returned no boolean");
  json_object_set(out, "Leader", result);
  return 0;
}

/* {"Location": the URL as Go's url.URL struct}. */
static int encode_location(json_t *out, json_t *result, json_t *ctx, ik_err_t *err) {
  json_t *url;
  if (!json_is_string(result)) return ik_err_set(err, IK_EDRIVER, "leader_location returned no URL string");
  if (ik_go_url(json_string_value(result), &url, err) < 0) return IK_EDRIVER;
  json_object_set_new(out, "Location", url);
  return 0;
}

static void m_is_leader(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_manager_plugin_t *pl = obj;
  ik_err_t err = {0};
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_leader, NULL);
  int rc = pl->vt->is_leader(pl->self, ik_rpc_pending_done, p, &err);
  ik_rpc_pending_started(p, rc, &err);
}

static void m_leader_location(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_manager_plugin_t *pl = obj;
  ik_err_t err = {0};
  ik_rpc_pending_t *p = ik_rpc_pending_new(call, encode_location, NULL);
  int rc = pl->vt->leader_location(pl->self, ik_rpc_pending_done, p, &err);
  ik_rpc_pending_started(p, rc, &err);
}

static const ik_rpc_method_t manager_methods[] = {
    {"IsLeader", m_is_leader, "{}", "{\"Leader\":false}"},
    {"LeaderLocation", m_leader_location, "{}", "{\"Location\":null}"},
    {NULL, NULL, NULL, NULL},
};

const ik_rpc_iface_t ik_rpc_manager_iface = {
    .name = "Stack",
    .version = IK_IFACE_STACK_VERSION,
    .service = "Manager",
    .dispatch = IK_RPC_SINGLE,
    .methods = manager_methods,
};
