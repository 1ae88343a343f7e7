/* Group/0.1.1 and Stack/0.1.1 (Manager.*) clients: the group and manager
 * vtables over JSON-RPC (reference §3.3, §3.4; pkg/rpc/group/types.go).
 * Group requests carry the whole plugin name in Name; the server resolves
 * the group object from it (reference §1.5). */
#include <stdio.h>

#include "base/json.h"
#include "base/mem.h"
#include "net/client/remote.h"
#include "net/client/remote_call.h"
#include "net/server/rpc_server.h"

typedef struct remote_keyed {
  ik_rpc_client_t *client;
  char *name; /* the plugin name as given: "group" or "group/workers" */
} remote_keyed_t;

/* Group.<method> with {Name, ID} plus params (stolen; may be NULL). */
static int call(remote_keyed_t *rg, const char *method, const char *id, json_t *params, ik_remote_pick_t pick,
                const char *field, ik_spi_cb cb, void *data, ik_err_t *err) {
  char full[64];
  snprintf(full, sizeof full, "Group.%s", method);
  json_t *req = json_pack("{s:s}", "Name", rg->name);
  if (id) json_object_set_new(req, "ID", json_string(id));
  if (params) json_object_update(req, params);
  json_decref(params);
  return ik__remote_call(rg->client, "Group", IK_IFACE_GROUP_VERSION, full, req, pick, field, cb, data, err);
}

static int r_commit(void *self, json_t *spec, bool pretend, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "CommitGroup", NULL, json_pack("{s:o, s:b}", "Spec", ik__or_null(spec), "Pretend", pretend),
              IK_PICK_WHOLE, NULL, cb, data, err);
}

static int r_free_group(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "FreeGroup", id, NULL, IK_PICK_NULL, NULL, cb, data, err);
}

static int r_describe(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "DescribeGroup", id, NULL, IK_PICK_FIELD, "Description", cb, data, err);
}

static int r_destroy(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "DestroyGroup", id, NULL, IK_PICK_NULL, NULL, cb, data, err);
}

static int r_inspect(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "InspectGroups", "", NULL, IK_PICK_ARRAY, "Groups", cb, data, err);
}

static int r_destroy_instances(void *self, const char *id, json_t *ids, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "DestroyInstances", id, json_pack("{s:o}", "Instances", ik__or_null(ids)), IK_PICK_NULL, NULL,
              cb, data, err);
}

static int r_size(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Size", id, NULL, IK_PICK_FIELD, "Size", cb, data, err);
}

static int r_set_size(void *self, const char *id, uint64_t size, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "SetSize", id, json_pack("{s:I}", "Size", (json_int_t)size), IK_PICK_NULL, NULL, cb, data, err);
}

static int r_promote(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Promote", id, NULL, IK_PICK_NULL, NULL, cb, data, err);
}

static int r_pause(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Pause", id, NULL, IK_PICK_NULL, NULL, cb, data, err);
}

static int r_resume(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Resume", id, NULL, IK_PICK_NULL, NULL, cb, data, err);
}

static int r_status(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return call(self, "Status", id, NULL, IK_PICK_FIELD, "Status", cb, data, err);
}

static void r_free(void *self) {
  remote_keyed_t *rg = self;
  ik_rpc_client_free(rg->client);
  ik_free(rg->name);
  ik_free(rg);
}

static const ik_group_vtable_t remote_group_vt = {
    .kind = "rpc",
    .commit = r_commit,
    .free_group = r_free_group,
    .describe = r_describe,
    .destroy = r_destroy,
    .inspect = r_inspect,
    .destroy_instances = r_destroy_instances,
    .size = r_size,
    .set_size = r_set_size,
    .free = r_free,
    .promote = r_promote,
    .status = r_status,
    .pause = r_pause,
    .resume = r_resume,
};

static remote_keyed_t *keyed_new(ik_rpc_client_t *c, const char *name) {
  remote_keyed_t *rk = IK_NEW(remote_keyed_t);
  rk->client = c;
  rk->name = ik_strdup(name ? name : "");
  return rk;
}

void ik_remote_group_new(ik_rpc_client_t *c, const char *name, ik_group_plugin_t *out) {
  out->vt = &remote_group_vt;
  out->self = keyed_new(c, name);
}

int ik_remote_group_open(ik_http_client_t *http, const char *dir, const char *name, ik_group_plugin_t *out,
                         ik_err_t *err) {
  ik_rpc_client_t *c;
  const char *type;
  int rc = ik__remote_open(http, dir, name, &c, &type, err);
  if (rc == 0) ik_remote_group_new(c, name, out);
  return rc;
}

/* --- Manager.* (interface Stack/0.1.1) ----------------------------------- */

static int m_call(void *self, const char *method, const char *field, ik_spi_cb cb, void *data, ik_err_t *err) {
  remote_keyed_t *rm = self;
  return ik__remote_call(rm->client, "Stack", "0.1.1", method, json_object(), IK_PICK_FIELD, field, cb, data, err);
}

static int m_is_leader(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  return m_call(self, "Manager.IsLeader", "Leader", cb, data, err);
}

typedef struct location_ctx {
  ik_spi_cb cb;
  void *data;
} location_ctx_t;

/* Go's url.URL struct {Scheme, Opaque, User, Host, Path, RawQuery, ...} as
 * the URL string the SPI promises; a string passes through. */
static void on_location(json_t *result, const ik_err_t *err, void *data) {
  location_ctx_t ctx = *(location_ctx_t *)data;
  ik_free(data);
  if (err) {
    ctx.cb(NULL, err, ctx.data);
    return;
  }
  json_t *loc = ik_json_get(result, "Location");
  if (!json_is_object(loc)) {
    ctx.cb(loc ? loc : json_null(), NULL, ctx.data);
    return;
  }
  const char *scheme = json_string_value(ik_json_get(loc, "Scheme"));
  const char *host = json_string_value(ik_json_get(loc, "Host"));
  const char *path = json_string_value(ik_json_get(loc, "Path"));
  const char *query = json_string_value(ik_json_get(loc, "RawQuery"));
  char *url = ik_sprintf("%s%s%s%s%s%s", scheme && *scheme ? scheme : "", scheme && *scheme ? "://" : "",
                         host ? host : "", path ? path : "", query && *query ? "?" : "", query ? query : "");
  json_t *s = json_string(url);
  ik_free(url);
  ctx.cb(s, NULL, ctx.data);
  json_decref(s);
}

static int m_leader_location(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  remote_keyed_t *rm = self;
  location_ctx_t *ctx = ik_malloc(sizeof *ctx);
  *ctx = (location_ctx_t){cb, data};
  int rc = ik_rpc_call(rm->client, "Stack", "0.1.1", "Manager.LeaderLocation", NULL, on_location, ctx, NULL, err);
  if (rc < 0) ik_free(ctx);
  return rc;
}

static const ik_manager_vtable_t remote_manager_vt = {
    .kind = "rpc",
    .is_leader = m_is_leader,
    .leader_location = m_leader_location,
    .free = r_free,
};

int ik_remote_manager_open(ik_http_client_t *http, const char *dir, const char *name, ik_manager_plugin_t *out,
                           ik_err_t *err) {
  ik_rpc_client_t *c;
  const char *type;
  int rc = ik__remote_open(http, dir, name, &c, &type, err);
  if (rc < 0) return rc;
  out->vt = &remote_manager_vt;
  out->self = keyed_new(c, name);
  return 0;
}
