/* Plugins by name: hosted here, else remote (registry.h). */
#include "net/registry.h"

#include <string.h>

#include "base/mem.h"
#include "net/client/remote.h"

typedef struct entry {
  char *name;
  bool is_flavor;
  ik_flavor_plugin_t flavor;
  ik_instance_plugin_t instance;
  struct entry *next;
} entry_t;

struct ik_registry {
  ik_loop_t *loop;
  ik_http_client_t *http; /* created on first remote lookup; owned */
  char *dir;
  entry_t *entries;
};

ik_registry_t *ik_registry_new(ik_loop_t *loop, const char *dir) {
  ik_registry_t *r = IK_NEW(ik_registry_t);
  r->loop = loop;
  r->dir = ik_strdup(dir ? dir : "");
  return r;
}

void ik_registry_free(ik_registry_t *r) {
  if (r == NULL) return;
  for (entry_t *e = r->entries, *next; e; e = next) {
    next = e->next;
    if (e->is_flavor) e->flavor.vt->free(e->flavor.self);
    else e->instance.vt->free(e->instance.self);
    ik_free(e->name);
    ik_free(e);
  }
  ik_http_client_free(r->http); /* after the plugins: their calls are cancelled */
  ik_free(r->dir);
  ik_free(r);
}

static entry_t *find(ik_registry_t *r, const char *name, bool is_flavor) {
  for (entry_t *e = r->entries; e; e = e->next)
    if (e->is_flavor == is_flavor && strcmp(e->name, name) == 0) return e;
  return NULL;
}

static int add(ik_registry_t *r, const char *name, entry_t *proto, ik_err_t *err) {
  if (find(r, name, proto->is_flavor))
    return ik_err_set(err, IK_EEXIST, "plugin %s is already hosted in this process", name);
  entry_t *e = IK_NEW(entry_t);
  *e = *proto;
  e->name = ik_strdup(name);
  e->next = r->entries;
  r->entries = e;
  return 0;
}

int ik_registry_add_flavor(ik_registry_t *r, const char *name, ik_flavor_plugin_t pl, ik_err_t *err) {
  entry_t proto = {.is_flavor = true, .flavor = pl};
  return add(r, name, &proto, err);
}

int ik_registry_add_instance(ik_registry_t *r, const char *name, ik_instance_plugin_t pl, ik_err_t *err) {
  entry_t proto = {.is_flavor = false, .instance = pl};
  return add(r, name, &proto, err);
}

ik_flavor_plugin_t *ik_registry_hosted_flavor(ik_registry_t *r, const char *name) {
  entry_t *e = find(r, name, true);
  return e ? &e->flavor : NULL;
}

ik_instance_plugin_t *ik_registry_hosted_instance(ik_registry_t *r, const char *name) {
  entry_t *e = find(r, name, false);
  return e ? &e->instance : NULL;
}

/* --- borrowing views: forward every call, free nothing ------------------ */

#define FLAVOR(self) ((ik_flavor_plugin_t *)(self))
static int bf_validate(void *s, json_t *p, json_t *a, ik_spi_cb cb, void *d, ik_err_t *e) {
  return FLAVOR(s)->vt->validate(FLAVOR(s)->self, p, a, cb, d, e);
}
static int bf_prepare(void *s, json_t *p, json_t *spec, json_t *a, json_t *i, ik_spi_cb cb, void *d, ik_err_t *e) {
  return FLAVOR(s)->vt->prepare(FLAVOR(s)->self, p, spec, a, i, cb, d, e);
}
static int bf_healthy(void *s, json_t *p, json_t *inst, ik_spi_cb cb, void *d, ik_err_t *e) {
  return FLAVOR(s)->vt->healthy(FLAVOR(s)->self, p, inst, cb, d, e);
}
static int bf_drain(void *s, json_t *p, json_t *inst, ik_spi_cb cb, void *d, ik_err_t *e) {
  return FLAVOR(s)->vt->drain(FLAVOR(s)->self, p, inst, cb, d, e);
}
static bool bf_healthy_wants_properties(void *s) {
  return FLAVOR(s)->vt->healthy_wants_properties && FLAVOR(s)->vt->healthy_wants_properties(FLAVOR(s)->self);
}
static void borrowed_free(void *s) { (void)s; }

static const ik_flavor_vtable_t borrowed_flavor_vt = {"hosted", bf_validate, bf_prepare, bf_healthy,
                                                      bf_drain, borrowed_free, bf_healthy_wants_properties};

#define INSTANCE(self) ((ik_instance_plugin_t *)(self))
static int bi_validate(void *s, json_t *p, ik_spi_cb cb, void *d, ik_err_t *e) {
  return INSTANCE(s)->vt->validate(INSTANCE(s)->self, p, cb, d, e);
}
static int bi_provision(void *s, json_t *spec, ik_spi_cb cb, void *d, ik_err_t *e) {
  return INSTANCE(s)->vt->provision(INSTANCE(s)->self, spec, cb, d, e);
}
static int bi_label(void *s, const char *id, json_t *l, ik_spi_cb cb, void *d, ik_err_t *e) {
  return INSTANCE(s)->vt->label(INSTANCE(s)->self, id, l, cb, d, e);
}
static int bi_destroy(void *s, const char *id, const char *why, ik_spi_cb cb, void *d, ik_err_t *e) {
  return INSTANCE(s)->vt->destroy(INSTANCE(s)->self, id, why, cb, d, e);
}
static int bi_describe(void *s, json_t *tags, bool props, ik_spi_cb cb, void *d, ik_err_t *e) {
  return INSTANCE(s)->vt->describe(INSTANCE(s)->self, tags, props, cb, d, e);
}

/* Events pass through when the hosted plugin has them. */
static int bi_watch(void *s, ik_instance_event_cb cb, void *d, ik_err_t *e) {
  if (INSTANCE(s)->vt->watch == NULL) return ik_err_set(e, IK_ESTATE, "this instance plugin has no events");
  return INSTANCE(s)->vt->watch(INSTANCE(s)->self, cb, d, e);
}
static void bi_unwatch(void *s, int token) {
  if (INSTANCE(s)->vt->unwatch) INSTANCE(s)->vt->unwatch(INSTANCE(s)->self, token);
}

static const ik_instance_vtable_t borrowed_instance_vt = {
    .kind = "hosted",
    .validate = bi_validate,
    .provision = bi_provision,
    .label = bi_label,
    .destroy = bi_destroy,
    .describe = bi_describe,
    .free = borrowed_free,
    .watch = bi_watch,
    .unwatch = bi_unwatch,
};

/* The hosted entry for name: exact, then the bare lookup when name has no
 * type ("flavor-vanilla" also finds one added as "flavor-vanilla/."). */
static entry_t *lookup(ik_registry_t *r, const char *name, bool is_flavor) {
  entry_t *e = find(r, name, is_flavor);
  if (e == NULL && strchr(name, '/') == NULL) {
    char dotted[300];
    snprintf(dotted, sizeof dotted, "%s/.", name);
    e = find(r, dotted, is_flavor);
  }
  return e;
}

/* The HTTP client for remote plugins, created on first use. */
static int remote_http(ik_registry_t *r, const char *name, ik_err_t *err) {
  if (r->http) return 0;
  if (r->loop == NULL)
    return ik_err_set(err, IK_ESTATE, "plugin %s: not hosted in this process, and remote plugins are not available here",
                      name);
  return ik_http_client_new(r->loop, &r->http, err);
}

int ik_registry_flavor(ik_registry_t *r, const char *name, ik_flavor_plugin_t *out, ik_err_t *err) {
  entry_t *e = lookup(r, name, true);
  if (e) {
    *out = (ik_flavor_plugin_t){&borrowed_flavor_vt, &e->flavor};
    return 0;
  }
  int rc = remote_http(r, name, err);
  return rc < 0 ? rc : ik_remote_flavor_open(r->http, r->dir, name, out, err);
}

int ik_registry_instance(ik_registry_t *r, const char *name, ik_instance_plugin_t *out, ik_err_t *err) {
  entry_t *e = lookup(r, name, false);
  if (e) {
    *out = (ik_instance_plugin_t){&borrowed_instance_vt, &e->instance};
    return 0;
  }
  int rc = remote_http(r, name, err);
  return rc < 0 ? rc : ik_remote_instance_open(r->http, r->dir, name, out, err);
}
