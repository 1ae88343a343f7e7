/* Leader-only group plugin (group_gate.h). */
#include "engine/group_gate.h"

#include <string.h>

#include "base/json.h"
#include "base/mem.h"

struct ik_group_gate {
  ik_loop_t *loop;
  ik_group_gate_opts_t o;
  ik_group_plugin_t local;  /* vt NULL unless leading */
  ik_group_plugin_t remote; /* the leader's, vt NULL until needed */
  char *remote_loc;
};

static void drop_remote(ik_group_gate_t *g) {
  if (g->remote.vt) g->remote.vt->free(g->remote.self);
  g->remote.vt = NULL;
  ik_free(g->remote_loc);
  g->remote_loc = NULL;
}

/* Where a call goes: the local controller while leading, else the leader. */
static int target(ik_group_gate_t *g, ik_group_plugin_t **out, ik_err_t *err) {
  if (g->local.vt) {
    *out = &g->local;
    return 0;
  }
  const char *why = NULL;
  const char *loc = g->o.leader(g->o.ctx, &why);
  if (loc == NULL)
    return ik_err_set(err, IK_ESTATE, "not a leader, and no leader is known: %s",
                      why ? why : "no manager holds the leader key");
  if (g->remote_loc == NULL || strcmp(loc, g->remote_loc) != 0) {
    drop_remote(g);
    int rc = g->o.open_leader(g->o.ctx, loc, &g->remote, err);
    if (rc < 0) return rc;
    g->remote_loc = ik_strdup(loc);
  }
  *out = &g->remote;
  return 0;
}

/* The target's implementation of op, or an error naming it. */
#define HAS(t, op) ((t)->vt->op ? 0 : ik_err_set(err, IK_ENOTFOUND, "the leader's group plugin does not implement " #op))

static int gate_commit(void *self, json_t *spec, bool pretend, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, commit);
  return rc < 0 ? rc : t->vt->commit(t->self, spec, pretend, cb, data, err);
}

static int gate_free_group(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, free_group);
  return rc < 0 ? rc : t->vt->free_group(t->self, id, cb, data, err);
}

static int gate_describe(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, describe);
  return rc < 0 ? rc : t->vt->describe(t->self, id, cb, data, err);
}

static int gate_destroy(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, destroy);
  return rc < 0 ? rc : t->vt->destroy(t->self, id, cb, data, err);
}

static int gate_destroy_instances(void *self, const char *id, json_t *ids, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, destroy_instances);
  return rc < 0 ? rc : t->vt->destroy_instances(t->self, id, ids, cb, data, err);
}

static int gate_set_size(void *self, const char *id, uint64_t size, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, set_size);
  return rc < 0 ? rc : t->vt->set_size(t->self, id, size, cb, data, err);
}

static int gate_promote(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, promote);
  return rc < 0 ? rc : t->vt->promote(t->self, id, cb, data, err);
}

static int gate_pause(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, pause);
  return rc < 0 ? rc : t->vt->pause(t->self, id, cb, data, err);
}

static int gate_resume(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, resume);
  return rc < 0 ? rc : t->vt->resume(t->self, id, cb, data, err);
}

static int gate_status(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_plugin_t *t;
  int rc = target(self, &t, err);
  if (rc == 0) rc = HAS(t, status);
  return rc < 0 ? rc : t->vt->status(t->self, id, cb, data, err);
}

/* ---- follower reads, from the store ---- */

typedef struct read_op {
  ik_store_t *store;
  ik_spi_cb cb;
  void *data;
  json_t *keys; /* inspect: the keys left to read */
  size_t i;
  json_t *specs;
  char *id; /* size: the group */
} read_op_t;

static void read_done(read_op_t *op, json_t *result, const ik_err_t *err) {
  op->cb(result, err, op->data);
  json_decref(result);
  json_decref(op->keys);
  json_decref(op->specs);
  ik_free(op->id);
  ik_free(op);
}

static void inspect_next(read_op_t *op);

static void on_spec_read(json_t *result, const ik_err_t *err, void *data) {
  read_op_t *op = data;
  if (err && err->code != IK_ENOTFOUND) { /* a group freed meanwhile is skipped */
    read_done(op, NULL, err);
    return;
  }
  if (result) json_array_append(op->specs, result);
  inspect_next(op);
}

static bool is_spec_key(const char *k) {
  size_t n = strlen(k);
  return strncmp(k, "groups/", 7) == 0 && n > 12 && strcmp(k + n - 5, "/spec") == 0 &&
         memchr(k + 7, '/', n - 12) == NULL;
}

static void inspect_next(read_op_t *op) {
  while (op->i < json_array_size(op->keys)) {
    const char *k = json_string_value(json_array_get(op->keys, op->i++));
    if (!k || !is_spec_key(k)) continue;
    ik_err_t e = {0};
    if (op->store->vt->get(op->store->self, k, on_spec_read, op, &e) < 0) read_done(op, NULL, &e);
    return;
  }
  json_t *specs = op->specs;
  op->specs = NULL;
  read_done(op, specs, NULL);
}

static void on_keys(json_t *result, const ik_err_t *err, void *data) {
  read_op_t *op = data;
  if (err) {
    read_done(op, NULL, err);
    return;
  }
  op->keys = json_incref(result);
  inspect_next(op);
}

static int gate_inspect(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_gate_t *g = self;
  if (g->local.vt) return g->local.vt->inspect(g->local.self, cb, data, err);
  read_op_t *op = IK_NEW(read_op_t);
  *op = (read_op_t){.store = g->o.store, .cb = cb, .data = data, .specs = json_array()};
  int rc = g->o.store->vt->list(g->o.store->self, "groups", on_keys, op, err);
  if (rc < 0) {
    json_decref(op->specs);
    ik_free(op);
  }
  return rc;
}

static void on_size_spec(json_t *result, const ik_err_t *err, void *data) {
  read_op_t *op = data;
  ik_err_t e = {0};
  if (err && err->code == IK_ENOTFOUND) {
    ik_err_set(&e, IK_ENOTFOUND, "Group '%s' is not being watched", op->id);
    read_done(op, NULL, &e);
    return;
  }
  if (err) {
    read_done(op, NULL, err);
    return;
  }
  json_t *alloc = ik_json_get(ik_json_get(result, "Properties"), "Allocation");
  json_t *size = ik_json_get(alloc, "Size");
  json_t *lids = ik_json_get(alloc, "LogicalIDs");
  json_int_t n = json_is_integer(size) ? json_integer_value(size) : (json_int_t)json_array_size(lids);
  read_done(op, json_integer(n), NULL);
}

static int gate_size(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_group_gate_t *g = self;
  if (g->local.vt) return g->local.vt->size(g->local.self, id, cb, data, err);
  if (strchr(id, '/') || strlen(id) > 150) return ik_err_set(err, IK_EINVAL, "group ID \"%s\": not a group ID", id);
  read_op_t *op = IK_NEW(read_op_t);
  *op = (read_op_t){.store = g->o.store, .cb = cb, .data = data, .id = ik_strdup(id)};
  char *key = ik_sprintf("groups/%s/spec", id);
  int rc = g->o.store->vt->get(g->o.store->self, key, on_size_spec, op, err);
  ik_free(key);
  if (rc < 0) {
    ik_free(op->id);
    ik_free(op);
  }
  return rc;
}

static void gate_plugin_free(void *self) { (void)self; }

static const ik_group_vtable_t gate_vt = {
    .kind = "gate",
    .commit = gate_commit,
    .free_group = gate_free_group,
    .describe = gate_describe,
    .destroy = gate_destroy,
    .inspect = gate_inspect,
    .destroy_instances = gate_destroy_instances,
    .size = gate_size,
    .set_size = gate_set_size,
    .free = gate_plugin_free,
    .promote = gate_promote,
    .status = gate_status,
    .pause = gate_pause,
    .resume = gate_resume,
};

ik_group_gate_t *ik_group_gate_new(ik_loop_t *loop, const ik_group_gate_opts_t *opts) {
  ik_group_gate_t *g = IK_NEW(ik_group_gate_t);
  g->loop = loop;
  g->o = *opts;
  return g;
}

void ik_group_gate_set_local(ik_group_gate_t *g, const ik_group_plugin_t *local) {
  g->local = local ? *local : (ik_group_plugin_t){0};
  if (local) drop_remote(g); /* no forwarding while leading */
}

ik_group_plugin_t ik_group_gate_plugin(ik_group_gate_t *g) { return (ik_group_plugin_t){&gate_vt, g}; }

void ik_group_gate_free(ik_group_gate_t *g) {
  if (!g) return;
  drop_remote(g);
  ik_free(g);
}
