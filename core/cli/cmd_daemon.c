/* infrakit daemon: host the built-in plugins, each on its own socket in the
 * plugins directory, until SIGINT/SIGTERM. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/daemon_autoscale.h"
#include "cli/daemon_events_relay.h"
#include "cli/daemon_policy_check.h"
#include "cli/daemon_metrics.h"
#include "cli/remote.h"
#include "engine/controller.h"
#include "engine/events.h"
#include "engine/events_http.h"
#include "engine/group_gate.h"
#include "engine/manager_etcd.h"
#include "engine/manager_single.h"
#include "engine/store_etcd.h"
#include "engine/store_file.h"
#include "loop/heap_trim.h"
#include "loop/loop.h"
#include "lua/plugin.h"
#include "lua/runtime.h"
#include "net/discovery.h"
#include "net/client/etcd_gateway.h"
#include "net/client/http_client.h"
#include "net/registry.h"
#include "net/client/remote.h"
#include "net/client/rpc_client.h"
#include "net/server/dashboard.h"
#include "net/server/rpc_flavor.h"
#include "net/server/rpc_group.h"
#include "net/server/rpc_instance.h"
#include "net/server/rpc_server.h"
#include "providers/docker/docker.h"
#include "providers/file/file.h"
#include "providers/process/process.h"
#include "providers/qemu/qemu.h"

#define IK_DAEMON_MAX_PLUGINS 64
#define HEAP_TRIM_DELAY_MS 200 /* after a converge ends: the trim comes after its last answers */

/* A plugin this daemon can host: a built-in or a user's Lua file. */
typedef struct candidate {
  char name[128];
  bool is_flavor;
  bool native_file;    /* instance-file */
  bool native_process; /* instance-process */
  bool native_docker;  /* instance-docker */
  bool native_qemu;    /* instance-qemu */
  bool native_group;   /* group: the controller */
  const char *module;  /* a built-in Lua module, for require */
  /* A typed flavor (InfraKit's objects, "NAME/TYPE" in a spec): each TYPE
   * is served from the module "<module>.<TYPE>" on NAME's one socket, and
   * picked by the request's Type; NULL-terminated, or NULL for one object. */
  const char *const *types;
  char *path; /* a user's Lua file (owned: candidates_free); NULL for a built-in */
} candidate_t;

typedef struct daemon daemon_t;

typedef struct hosted {
  char name[128];
  ik_rpc_server_t *rpc;
  bool published;
  bool lua_file; /* a user's Lua file: reloadable */
  bool is_flavor;
  void *obj;  /* the registry's ik_flavor_plugin_t / ik_instance_plugin_t */
  char *path; /* the Lua file (owned; freed by daemon_stop) */
} hosted_t;

struct daemon {
  ik_loop_t loop;
  char dir[4096];
  char home[4096];
  const char *file_dir;                           /* --instance-file-dir */
  const char *output_dir;                         /* --process-output-dir, or NULL */
  const char *docker_host;                        /* --docker-host, or NULL ($DOCKER_HOST) */
  uint64_t docker_stop_grace_ms;                  /* --docker-stop-grace; 0 = the driver's default */
  const char *qemu_dir;                           /* --qemu-dir, else $INFRAKIT_QEMU_DIR, or NULL */
  const char *tls_cert, *tls_key, *tls_client_ca; /* --listen over TLS; NULL with --insecure */
  ik_lua_t *lua;
  ik_registry_t *registry; /* owns every hosted plugin */
  ik_store_t store;        /* $INFRAKIT_HOME/configs, or etcd with --store etcd://... */
  char *etcd_endpoints;    /* --store etcd://ENDPOINTS/PREFIX, else NULL (the file store) */
  char *etcd_prefix;
  ik_http_client_t *etcd_http; /* the etcd store's gateway and its client */
  ik_etcd_gateway_t etcd_gw;
  ik_controller_t *controller; /* with etcd: only while this daemon leads */
  ik_manager_plugin_t manager;
  /* --store etcd: several managers (docs/ha.md) */
  uint64_t lease_ttl_ms;          /* --lease-ttl */
  ik_manager_etcd_t *elect;       /* the election; owned through manager */
  ik_group_gate_t *gate;          /* the group plugin served: controller or leader */
  ik_http_client_t *forward_http; /* calls forwarded to the leader */
  ik_events_t *events;            /* the event log: the controller's and leadership events */
  ik_events_http_t *events_http;  /* GET /events on the group plugin's listeners */
  ik_heap_trim_t *heap_trim;      /* freed heap back to the kernel after a converge */
  ik_events_sub_t *heap_trim_sub;
  ik_daemon_autoscale_t *autoscale; /* groups' Properties.Scaling; on the leader only */
  char *group_url;                  /* the group plugin's --listen URL, else NULL */
  ik_daemon_metrics_t *metrics;     /* GET /metrics on the group plugin's server */
  ik_group_plugin_t group;
  ik_dashboard_t *dashboard; /* GET /ui on the group plugin's server */
  uint64_t poll_ms;
  uint64_t call_timeout_ms;            /* --call-timeout; 0 = the controller's default */
  ik_call_timeout_t call_timeouts[16]; /* --call-timeout NAME=DURATION */
  char call_timeout_names[16][128];
  size_t n_call_timeouts;
  uint64_t max_group_size; /* --max-group-size, else $INFRAKIT_MAX_GROUP_SIZE, else the default */
  hosted_t plugins[IK_DAEMON_MAX_PLUGINS];
  int nplugins;
  bool serve_all;           /* no --plugin: SIGHUP also hosts new Lua files */
  ik_buf_t template_access; /* Lua table constructor: --template-env/-dir/-schemes */
  uv_signal_t sighup;
  bool sighup_on;
};

static const char *const swarm_types[] = {"manager", "worker", NULL};

/* --listen serves the first of these that is hosted (tcp_plugin_first). */
static const candidate_t builtins[] = {
    {.name = "instance-file", .native_file = true},
    {.name = "instance-process", .native_process = true},
    {.name = "instance-docker", .native_docker = true},
    {.name = "instance-qemu", .native_qemu = true},
    {.name = "flavor-vanilla", .is_flavor = true, .module = "infrakit.flavors.vanilla"},
    {.name = "flavor-combo", .is_flavor = true, .module = "infrakit.flavors.combo"},
    {.name = "flavor-zookeeper", .is_flavor = true, .module = "infrakit.flavors.zookeeper"},
    {.name = "flavor-swarm", .is_flavor = true, .module = "infrakit.flavors.swarm", .types = swarm_types},
    {.name = "flavor-http", .is_flavor = true, .module = "infrakit.flavors.http"},
    {.name = "group", .native_group = true},
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

const char *const ik_daemon_builtins[] = {"instance-file", "instance-process", "instance-docker", "instance-qemu", "flavor-vanilla",
                                          "flavor-combo", "flavor-zookeeper", "flavor-swarm", "flavor-http", "group", NULL};
_Static_assert(sizeof ik_daemon_builtins / sizeof ik_daemon_builtins[0] == NBUILTINS + 1,
               "ik_daemon_builtins lists every builtin");

/* --listen serves one plugin on TCP, whatever the order of the --plugin
 * flags: the group controller when --plugin group is given (what remote
 * CLIs and HA followers talk to), else the hosted plugin that comes first
 * in the candidates' order (builtins[], then the user's Lua files), so
 * instance-file when every plugin is served, as before. daemon_start
 * serves chosen[0] on TCP: move that one there, keeping the others' order. */
static void tcp_plugin_first(const candidate_t **chosen, size_t n, bool group_wins) {
  if (n < 2) return;
  size_t pick = 0;
  for (size_t i = 1; i < n; i++) {
    bool group_i = chosen[i]->native_group, group_pick = chosen[pick]->native_group;
    if (group_wins && group_i != group_pick) {
      if (group_i) pick = i;
    } else if (chosen[i] < chosen[pick]) { /* all points into one array, in the candidates' order */
      pick = i;
    }
  }
  const candidate_t *c = chosen[pick];
  memmove(chosen + 1, chosen, pick * sizeof *chosen);
  chosen[0] = c;
}

/* Add the user's Lua plugins in home/sub (*.lua, served as their base
 * name) to list. A name taken by a built-in is skipped with a warning. */
static void scan_user_plugins(const char *home, const char *sub, bool is_flavor, candidate_t *list, size_t *n,
                              size_t cap) {
  char *dir = ik_sprintf("%s/%s", home, sub);
  DIR *dh = opendir(dir);
  if (dh == NULL) {
    ik_free(dir);
    return;
  }
  char *names[IK_DAEMON_MAX_PLUGINS];
  size_t count = 0;
  for (struct dirent *de; (de = readdir(dh)) != NULL && count < IK_DAEMON_MAX_PLUGINS;) {
    size_t len = strlen(de->d_name);
    if (len > 4 && len < 100 && strcmp(de->d_name + len - 4, ".lua") == 0 && de->d_name[0] != '.')
      names[count++] = strndup(de->d_name, len - 4);
  }
  closedir(dh);
  qsort(names, count, sizeof *names, ik_cli_cmp_str);
  for (size_t i = 0; i < count; i++) {
    bool taken = false;
    for (size_t j = 0; j < *n; j++) taken |= strcmp(list[j].name, names[i]) == 0;
    if (taken) {
      ik_log(IK_LOG_WARN, "daemon", "skipping a Lua plugin whose name is taken; rename its file", "plugin", names[i],
             "dir", dir, NULL);
    } else if (*n < cap) {
      candidate_t *c = &list[(*n)++];
      memset(c, 0, sizeof *c);
      snprintf(c->name, sizeof c->name, "%s", names[i]);
      c->path = ik_sprintf("%s/%s.lua", dir, names[i]);
      c->is_flavor = is_flavor;
    }
    free(names[i]);
  }
  ik_free(dir);
}

/* Every plugin this daemon could host: built-ins, then $INFRAKIT_HOME's
 * flavors/ and providers/. Returns how many; the caller releases the list
 * with candidates_free(). */
static size_t candidates(const char *home, candidate_t *list, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < NBUILTINS && n < cap; i++) list[n++] = builtins[i];
  scan_user_plugins(home, "flavors", true, list, &n, cap);
  scan_user_plugins(home, "providers", false, list, &n, cap);
  return n;
}

/* Free the paths candidates() allocated in list[0..n). */
static void candidates_free(candidate_t *list, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ik_free(list[i].path);
    list[i].path = NULL;
  }
}

bool ik_daemon_can_host(const char *name, char *names, size_t len) {
  char home[4096];
  ik_err_t err = {0};
  static candidate_t list[IK_DAEMON_MAX_PLUGINS];
  size_t n = ik_home_dir(home, sizeof home, &err) == 0 ? candidates(home, list, IK_DAEMON_MAX_PLUGINS) : 0;
  if (names && len) names[0] = '\0';
  bool found = false;
  for (size_t i = 0; i < n; i++) {
    found |= strcmp(list[i].name, name) == 0;
    if (names && strlen(names) + strlen(list[i].name) + 3 < len)
      snprintf(names + strlen(names), len - strlen(names), "%s%s", i ? ", " : "", list[i].name);
  }
  candidates_free(list, n);
  return found;
}

static void on_sighup_closed(uv_handle_t *h) { (void)h; }

static void daemon_stop(daemon_t *d) {
  if (d->sighup_on) uv_close((uv_handle_t *)&d->sighup, on_sighup_closed);
  d->sighup_on = false;
  for (int i = d->nplugins - 1; i >= 0; i--) {
    hosted_t *h = &d->plugins[i];
    ik_rpc_server_free(h->rpc);
    h->rpc = NULL;
    if (h->published) ik_plugin_unpublish(d->dir, h->name);
    h->published = false;
    ik_free(h->path);
    h->path = NULL;
  }
  d->nplugins = 0;
  ik_dashboard_free(d->dashboard); /* after the servers: their routes held it */
  d->dashboard = NULL;
}

/* The engine finds plugins through the registry: hosted, else remote. */
static int resolve_instance(void *ctx, const char *name, ik_instance_plugin_t *out, ik_err_t *err) {
  return ik_registry_instance(ctx, name, out, err);
}

static int resolve_flavor(void *ctx, const char *name, ik_flavor_plugin_t *out, ik_err_t *err) {
  return ik_registry_flavor(ctx, name, out, err);
}

/* After a burst of plugin calls: a full Lua collection, and free memory
 * back to the system, so a daemon that just created 10,000 instances does
 * not stay at its peak. */
static void memory_relief(void *ctx) {
  daemon_t *d = ctx;
  if (d->lua) ik_lua_collect(d->lua);
  else malloc_trim(0);
}

/* --store etcd://...: the store in etcd, through its JSON gateway. Not
 * locked: several managers share it (leadership decides who writes). */
static int open_etcd_store(daemon_t *d, ik_err_t *err) {
  int rc = ik_http_client_new(&d->loop, &d->etcd_http, err);
  /* Keepalives give up when the next is due; other calls get the default. */
  ik_etcd_gateway_opts_t gopts = {.keepalive_timeout_ms = ik_manager_etcd_keepalive_every_ms((int64_t)d->lease_ttl_ms)};
  if (rc == 0) rc = ik_etcd_gateway_new(d->etcd_http, d->etcd_endpoints, &gopts, &d->etcd_gw, err);
  if (rc == 0) rc = ik_store_etcd_new(&d->loop, &d->etcd_gw, d->etcd_prefix, &d->store, err);
  return rc;
}

/* The controller's store, taken for this daemon alone before anything is
 * served: a second daemon on it would fight this one for the same groups
 * (several managers come with the etcd store). */
static int open_store(daemon_t *d, ik_err_t *err) {
  if (d->etcd_endpoints) return open_etcd_store(d, err);
  char *configs = ik_sprintf("%s/configs", d->home);
  int rc = ik_store_file_new(&d->loop, configs, &d->store, err);
  ik_free(configs);
  if (rc == 0) rc = ik_store_file_lock(&d->store, err);
  return rc;
}

/* A group that went steady or was destroyed has ended a burst of work:
 * what it freed goes back to the kernel (loop/heap_trim.h). */
static void trim_after_burst(uint64_t seq, const char *group, const char *event, const char *line, size_t len,
                             void *data) {
  daemon_t *d = data;
  if ((strcmp(event, "phase") == 0 && strstr(line, "\"to\":\"steady\"")) || strcmp(event, "destroyed") == 0)
    ik_heap_trim_soon(d->heap_trim);
}

/* The event log, one per daemon, and its stream (GET /events). */
static int open_events(daemon_t *d, ik_err_t *err) {
  char *path = ik_sprintf("%s/events.jsonl", d->home);
  int rc = ik_events_open(path, &d->events, err);
  ik_free(path);
  if (rc < 0) return rc;
  d->events_http = ik_events_http_new(&d->loop, d->events, 0);
  d->heap_trim = ik_heap_trim_new(&d->loop, HEAP_TRIM_DELAY_MS);
  d->heap_trim_sub = ik_events_subscribe(d->events, trim_after_burst, d);
  return 0;
}

/* The fence on the controller's plugin actions (controller.h may_act):
 * with several managers, only while this daemon leads and its lease is
 * within its local deadline. */
static bool may_act(void *ctx) {
  daemon_t *d = ctx;
  return d->elect != NULL && ik_manager_etcd_may_act(d->elect);
}

/* A scaling policy at commit: compiled, never run (daemon_policy_check.h). */
static int check_policy(void *ctx, const json_t *policy, ik_err_t *err) {
  daemon_t *d = ctx;
  return ik_daemon_policy_check(d->lua, d->home, policy, err);
}

/* The group controller over the open store. */
static int new_controller(daemon_t *d, ik_err_t *err) {
  ik_controller_opts_t o = {
      .resolver = {resolve_instance, resolve_flavor, d->registry},
      .store = &d->store,
      .events = d->events,
      .poll_ms = (int64_t)d->poll_ms,
      .max_group_size = d->max_group_size,
      .call_timeout_ms = (int64_t)d->call_timeout_ms,
      .call_timeouts = d->call_timeouts,
      .n_call_timeouts = d->n_call_timeouts,
      .self_id = getenv("INFRAKIT_GROUP_SELF_LOGICAL_ID"),
      .relief = memory_relief,
      .relief_ctx = d,
      .may_act = d->etcd_endpoints ? may_act : NULL,
      .may_act_ctx = d,
      .check_policy = d->lua ? check_policy : NULL,
      .check_policy_ctx = d,
  };
  return ik_controller_new(&d->loop, &o, &d->controller, err);
}

/* --- several managers (--store etcd; docs/ha.md) ------------------------- */

static void ha_event(daemon_t *d, const char *event, json_t *fields) {
  ik_events_emit(d->events, "", event, fields);
}

static void on_resumed(json_t *result, const ik_err_t *err, void *data);

/* Elected: fence the store's writes on our leader key, then load every
 * group and its rollout state and go on where the last leader stopped. */
static void ha_gained(int64_t revision, void *ctx) {
  daemon_t *d = ctx;
  ik_err_t err = {0};
  char *key = ik_sprintf("%s/leader", d->etcd_prefix);
  int rc = ik_store_etcd_set_guard(&d->store, key, revision, &err);
  ik_free(key);
  /* Number events above whatever the last leader reserved. */
  if (rc == 0) ik_events_use_store(d->events, &d->store);
  if (rc == 0 && d->controller == NULL) rc = new_controller(d, &err);
  if (rc == 0) {
    ik_group_plugin_t local = ik_controller_group(d->controller);
    ik_group_gate_set_local(d->gate, &local);
    rc = ik_controller_resume(d->controller, on_resumed, d, &err);
  }
  /* The autoscaler runs on the leader only; its memory is in the store. */
  if (rc == 0) rc = ik_daemon_autoscale_start(d->autoscale, &err);
  if (rc < 0) ik_log(IK_LOG_ERROR, "daemon", "elected, but cannot take over the groups", "error", err.msg, NULL);
  ha_event(d, "leadership-gained", json_pack("{s:I}", "revision", (json_int_t)revision));
}

/* Deposed: stop at once. The controller's groups stop (no new action;
 * the answers of calls still out are dropped), instances stay as they
 * are, and the store's guard stays on the old revision, so a write that
 * was already on its way is refused. */
static void ha_lost(const char *reason, void *ctx) {
  daemon_t *d = ctx;
  ik_daemon_autoscale_stop(d->autoscale); /* no decision from here on */
  ik_group_gate_set_local(d->gate, NULL);
  char *why = ik_sprintf("not the leader any more: %s", reason);
  ik_controller_stop(d->controller, IK_ENOTLEADER, why);
  ik_free(why);
  d->controller = NULL;
  ik_events_use_store(d->events, NULL); /* our writes are refused now */
  char n[24];
  snprintf(n, sizeof n, "%" PRIu64, ik_store_etcd_refused(&d->store));
  ik_log(IK_LOG_WARN, "daemon", "stopped managing groups: not the leader", "reason", reason, "refused_writes", n, NULL);
  ha_event(d, "leadership-lost",
           json_pack("{s:s,s:I}", "reason", reason, "refused_writes", (json_int_t)ik_store_etcd_refused(&d->store)));
}

static const char *ha_leader(void *ctx, const char **why) {
  daemon_t *d = ctx;
  if (d->elect == NULL) return NULL;
  *why = ik_manager_etcd_last_error(d->elect);
  return ik_manager_etcd_leader(d->elect);
}

/* The leader's group plugin, over RPC at its advertised location. */
static int ha_open_leader(void *ctx, const char *location, ik_group_plugin_t *out, ik_err_t *err) {
  daemon_t *d = ctx;
  int rc = d->forward_http ? 0 : ik_http_client_new(&d->loop, &d->forward_http, err);
  ik_rpc_client_t *c = NULL;
  if (rc == 0) rc = ik_rpc_client_new(d->forward_http, location, 0, &c, err);
  if (rc == 0) ik_remote_group_new(c, "group", out);
  return rc;
}

/* GET /events on a follower: the leader's stream (daemon_events_relay.h). */
static bool relay_events(void *ctx, ik_http_request_t *req) {
  daemon_t *d = ctx;
  if (d->elect == NULL || ik_manager_etcd_is_leader(d->elect)) return false;
  const char *location = ik_manager_etcd_leader(d->elect);
  if (location == NULL) return false; /* no leader known: our own log */
  ik_err_t err = {0};
  if (d->forward_http == NULL && ik_http_client_new(&d->loop, &d->forward_http, &err) < 0) return false;
  return ik_daemon_events_relay(req, d->forward_http, location);
}

/* A write the store's guard refused (we no longer hold the leader key).
 * Most are answered after the step-down, so the leadership-lost event's
 * count misses them: each is logged and appended to the event log. */
static void ha_refused(const char *op, const char *key, uint64_t refused, void *ctx) {
  daemon_t *d = ctx;
  char n[24];
  snprintf(n, sizeof n, "%" PRIu64, refused);
  ik_log(IK_LOG_WARN, "daemon", "store write refused: not the leader", "op", op, "key", key, "refused_writes", n, NULL);
  ha_event(d, "write-refused", json_pack("{s:s,s:s,s:I}", "op", op, "key", key, "refused_writes", (json_int_t)refused));
}

/* Campaign, once the group plugin listens: its location is what the
 * others forward to (the --listen URL, else the unix socket). */
static int ha_start(daemon_t *d, ik_err_t *err) {
  int rc = ik_store_etcd_on_refused(&d->store, ha_refused, d, err);
  if (rc < 0) return rc;
  char *location = d->group_url ? ik_strdup(d->group_url) : ik_sprintf("unix://%s/group", d->dir);
  ik_manager_etcd_opts_t o = {
      .gateway = d->etcd_gw,
      .prefix = d->etcd_prefix,
      .location = location,
      .lease_ttl_ms = (int64_t)d->lease_ttl_ms,
      .on_gained = ha_gained,
      .on_lost = ha_lost,
      .ctx = d,
  };
  rc = ik_manager_etcd_new(&d->loop, &o, &d->elect, err);
  ik_free(location);
  if (rc == 0) d->manager = ik_manager_etcd_plugin(d->elect);
  if (rc == 0 && d->events_http) ik_events_http_set_relay(d->events_http, relay_events, d);
  return rc;
}

/* The group plugin and its leadership: the controller itself with the
 * file store; with etcd, the gate (the manager comes in ha_start). */
static int make_controller(daemon_t *d, ik_err_t *err) {
  if (d->etcd_endpoints) {
    ik_group_gate_opts_t go = {.store = &d->store, .leader = ha_leader, .open_leader = ha_open_leader, .ctx = d};
    d->gate = ik_group_gate_new(&d->loop, &go);
    d->group = ik_group_gate_plugin(d->gate);
    return 0;
  }
  int rc = new_controller(d, err);
  if (rc < 0) return rc;
  ik_events_use_store(d->events, &d->store);
  d->group = ik_controller_group(d->controller);
  char *location = ik_sprintf("unix://%s/group", d->dir);
  ik_manager_single_new(&d->loop, location, &d->manager);
  ik_free(location);
  return 0;
}

/* infrakit_leader: with the file store this daemon is the only manager. */
static bool is_leader(void *ctx) {
  daemon_t *d = ctx;
  return d->gate == NULL || (d->elect && ik_manager_etcd_is_leader(d->elect));
}

/* What GET /metrics serves (daemon_metrics.h), once the store is open. */
static void start_metrics(daemon_t *d) {
  ik_daemon_metrics_opts_t o = {.lua = d->lua, .store = d->store.vt ? &d->store : NULL, .is_leader = is_leader, .ctx = d};
  d->metrics = ik_daemon_metrics_new(&o);
}

/* Load one type of the typed built-in flavor c (module "<module>.<type>"),
 * add it to the registry as "NAME/TYPE" and to h's server under type. */
static int host_flavor_type(daemon_t *d, const candidate_t *c, const char *type, hosted_t *h, ik_err_t *err) {
  char *name = ik_sprintf("%s/%s", c->name, type);
  char *module = ik_sprintf("%s.%s", c->module, type);
  ik_flavor_plugin_t pl;
  int rc = ik_lua_flavor_load(d->lua, name, NULL, module, &pl, err);
  if (rc == 0 && (rc = ik_registry_add_flavor(d->registry, name, pl, err)) < 0) pl.vt->free(pl.self);
  if (rc == 0) rc = ik_rpc_server_add(h->rpc, &ik_rpc_flavor_iface, type, ik_registry_hosted_flavor(d->registry, name), err);
  ik_free(module);
  ik_free(name);
  return rc;
}

/* Make c's plugin and add it to the registry; *obj is where it lives. */
static int make_plugin(daemon_t *d, const candidate_t *c, void **obj, ik_err_t *err) {
  int rc;
  if (c->native_group) {
    if ((rc = make_controller(d, err)) == 0) *obj = &d->group;
    return rc;
  }
  if (c->is_flavor) {
    ik_flavor_plugin_t pl;
    rc = ik_lua_flavor_load(d->lua, c->name, c->module ? NULL : c->path, c->module, &pl, err);
    if (rc == 0 && (rc = ik_registry_add_flavor(d->registry, c->name, pl, err)) < 0) pl.vt->free(pl.self);
    if (rc == 0) *obj = ik_registry_hosted_flavor(d->registry, c->name);
    return rc;
  }
  ik_instance_plugin_t pl;
  if (c->native_file) {
    rc = ik_file_provider_new(&d->loop, d->file_dir, &pl, err);
  } else if (c->native_process) {
    char *pdir = ik_sprintf("%s/instance-process", d->home);
    ik_process_opts_t popts = {.dir = pdir, .output_dir = d->output_dir};
    rc = ik_process_provider_new(&d->loop, &popts, &pl, err);
    ik_free(pdir);
  } else if (c->native_docker) {
    char *ddir = ik_sprintf("%s/instance-docker", d->home);
    ik_docker_opts_t dopts = {.host = d->docker_host, .dir = ddir, .stop_grace_ms = d->docker_stop_grace_ms};
    rc = ik_docker_provider_new(&d->loop, &dopts, &pl, err);
    ik_free(ddir);
  } else if (c->native_qemu) {
    char *qdir = d->qemu_dir ? ik_strdup(d->qemu_dir) : ik_sprintf("%s/instance-qemu", d->home);
    ik_qemu_opts_t qopts = {.dir = qdir};
    rc = ik_qemu_provider_new(&d->loop, &qopts, &pl, err);
    ik_free(qdir);
  } else {
    rc = ik_lua_instance_load(d->lua, c->name, c->path, NULL, &pl, err);
  }
  if (rc == 0 && (rc = ik_registry_add_instance(d->registry, c->name, pl, err)) < 0) pl.vt->free(pl.self);
  if (rc == 0) *obj = ik_registry_hosted_instance(d->registry, c->name);
  return rc;
}

/* Serve h->rpc as NAME on DIR/NAME, path (and on tcp when given). */
static int serve_at(daemon_t *d, hosted_t *h, const char *path, const char *tcp, ik_err_t *err) {
  int rc = ik_plugin_claim(d->dir, h->name, err);
  if (rc < 0) return rc;
  ik_http_server_opts_t opts = {.unix_path = path};
  if ((rc = ik_rpc_server_listen(h->rpc, &opts, err)) < 0) return rc;
  char url[300] = "";
  if (tcp) {
    ik_http_server_opts_t topts = {.tcp = tcp, .tls_cert = d->tls_cert, .tls_key = d->tls_key, .tls_client_ca = d->tls_client_ca, .check_host = true};
    if ((rc = ik_rpc_server_listen(h->rpc, &topts, err)) < 0) return rc;
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(tcp, ':') - tcp), tcp);
    snprintf(url, sizeof url, "%s://%s:%d", d->tls_cert ? "https" : "tcp", host,
             ik_http_server_port(ik_rpc_server_http(h->rpc, 1)));
  }
  if ((rc = ik_plugin_publish(d->dir, h->name, tcp ? url : NULL, err)) < 0) return rc;
  if (tcp && h->obj == &d->group) d->group_url = ik_strdup(url);
  h->published = true;
  ik_log(IK_LOG_INFO, "daemon", "serving", "plugin", h->name, "socket", path, tcp ? "tcp" : NULL, url, NULL);
  return 0;
}

static int serve(daemon_t *d, hosted_t *h, const char *tcp, ik_err_t *err) {
  char *path = ik_sprintf("%s/%s", d->dir, h->name);
  int rc = serve_at(d, h, path, tcp, err);
  ik_free(path);
  return rc;
}

static const ik_rpc_iface_t plugin_iface; /* Plugin.Reload, below */

/* Host c: its plugin, its socket. Returns 0 or the error (the daemon goes
 * on without it). */
static int host(daemon_t *d, const candidate_t *c, const char *tcp, ik_err_t *err) {
  if (d->nplugins >= IK_DAEMON_MAX_PLUGINS)
    return ik_err_set(err, IK_ESTATE, "plugin %s: this daemon hosts %d plugins already", c->name, IK_DAEMON_MAX_PLUGINS);
  void *obj = NULL;
  int rc = c->types ? 0 : make_plugin(d, c, &obj, err);
  if (rc < 0) return rc;
  hosted_t *h = &d->plugins[d->nplugins++];
  memset(h, 0, sizeof *h);
  snprintf(h->name, sizeof h->name, "%s", c->name);
  h->is_flavor = c->is_flavor;
  h->obj = obj;
  h->lua_file = !c->native_group && !c->native_file && !c->native_process && !c->native_docker && !c->native_qemu &&
                c->module == NULL;
  if (h->lua_file) h->path = ik_strdup(c->path);
  h->rpc = ik_rpc_server_new(&d->loop, h->name);
  if (c->native_group) {
    rc = ik_rpc_server_add(h->rpc, &ik_rpc_group_iface, ".", obj, err);
    if (rc == 0) rc = ik_rpc_server_add(h->rpc, &ik_rpc_manager_iface, ".", &d->manager, err);
    if (rc == 0) rc = ik_events_http_route(d->events_http, h->rpc, err);
    if (rc == 0) rc = ik_dashboard_new(&d->loop, h->rpc, d->group, &d->dashboard, err);
  } else if (c->types) {
    for (const char *const *t = c->types; rc == 0 && *t; t++) rc = host_flavor_type(d, c, *t, h, err);
  } else {
    rc = ik_rpc_server_add(h->rpc, c->is_flavor ? &ik_rpc_flavor_iface : &ik_rpc_instance_iface, ".", obj, err);
  }
  if (rc == 0 && h->lua_file) rc = ik_rpc_server_add(h->rpc, &plugin_iface, ".", h, err);
  /* GET /metrics beside the group plugin's JSON-RPC, and on the TCP listener. */
  if (rc == 0 && (c->native_group || tcp)) rc = ik_daemon_metrics_route(d->metrics, h->rpc, err);
  if (rc == 0) rc = serve(d, h, tcp, err);
  return rc;
}

/* --- reloading Lua plugins ------------------------------------------------- */

/* Load h's file again (only when its bytes changed, with only_if_changed)
 * and log the outcome. On failure the previous version keeps serving. */
static int reload_hosted(hosted_t *h, bool only_if_changed, bool *reloaded, ik_err_t *err) {
  int rc = h->is_flavor ? ik_lua_flavor_reload(h->obj, only_if_changed, reloaded, err)
                        : ik_lua_instance_reload(h->obj, only_if_changed, reloaded, err);
  if (rc < 0)
    ik_log(IK_LOG_ERROR, "daemon", "reload failed; the previous version keeps serving", "plugin", h->name, "file",
           h->path, "error", err->msg, NULL);
  else if (*reloaded)
    ik_log(IK_LOG_INFO, "daemon", "reloaded", "plugin", h->name, "file", h->path, NULL);
  return rc;
}

/* Plugin.Reload on a Lua plugin's own socket (what `infrakit plugin reload`
 * sends): load the file again, whether or not it changed. The result is
 * {"Name", "File", "Reloaded": true}; a file that does not load is an
 * error naming the file and line, and the previous version keeps serving. */
static void rpc_reload(ik_rpc_call_t *call, json_t *params, void *obj) {
  hosted_t *h = obj;
  ik_err_t err = {0};
  bool reloaded = false;
  if (reload_hosted(h, false, &reloaded, &err) < 0) {
    ik_rpc_fail(call, IK_RPC_SERVER_ERROR, "%s: not reloaded, the previous version keeps serving: %s", h->name,
                err.msg);
    return;
  }
  ik_rpc_reply(call, json_pack("{s:s, s:s, s:b}", "Name", h->name, "File", h->path, "Reloaded", reloaded));
}

static const ik_rpc_method_t plugin_methods[] = {
    {"Reload", rpc_reload, "{}", "{\"Name\":\"hostname\",\"File\":\"/root/.infrakit/flavors/hostname.lua\",\"Reloaded\":true}"},
    {NULL, NULL, NULL, NULL},
};

/* Served beside a Lua plugin's own interface, hidden from Hello: InfraKit
 * has no such interface, and its clients must see the plugin as before. */
static const ik_rpc_iface_t plugin_iface = {"Plugin", "0.1.0", "Plugin", IK_RPC_SINGLE, plugin_methods, true};

/* SIGHUP: reload every Lua file that changed (the others are left alone,
 * state and all), and, when this daemon serves every plugin, start serving
 * Lua files added since. Failures are logged; the daemon carries on. */
static void on_sighup(uv_signal_t *sig, int signum) {
  daemon_t *d = sig->data;
  ik_log(IK_LOG_INFO, "daemon", "SIGHUP: reloading the Lua flavors and providers that changed", NULL);
  int reloaded_n = 0, failed = 0, added = 0;
  for (int i = 0; i < d->nplugins; i++) {
    hosted_t *h = &d->plugins[i];
    if (!h->lua_file || h->rpc == NULL) continue;
    ik_err_t err = {0};
    bool reloaded = false;
    if (reload_hosted(h, true, &reloaded, &err) < 0) failed++;
    else reloaded_n += reloaded;
  }
  if (d->serve_all) {
    static candidate_t list[IK_DAEMON_MAX_PLUGINS];
    size_t n = candidates(d->home, list, IK_DAEMON_MAX_PLUGINS);
    for (size_t i = 0; i < n; i++) {
      bool hosted = false;
      for (int k = 0; k < d->nplugins && !hosted; k++) hosted = strcmp(d->plugins[k].name, list[i].name) == 0;
      if (hosted) continue;
      ik_err_t err = {0};
      if (host(d, &list[i], NULL, &err) == 0) {
        added++;
      } else {
        failed++;
        ik_log(IK_LOG_ERROR, "daemon", "not serving a new plugin that failed to load", "plugin", list[i].name, "error",
               err.msg, NULL);
      }
    }
    candidates_free(list, n);
  }
  char r[16], a[16], f[16];
  snprintf(r, sizeof r, "%d", reloaded_n);
  snprintf(a, sizeof a, "%d", added);
  snprintf(f, sizeof f, "%d", failed);
  ik_log(failed ? IK_LOG_WARN : IK_LOG_INFO, "daemon", "SIGHUP: done", "reloaded", r, "added", a, "failed", f, NULL);
}

static void on_resumed(json_t *result, const ik_err_t *err, void *data) {
  if (err) ik_log(IK_LOG_ERROR, "daemon", "some groups could not be resumed", "error", err->msg, NULL);
}

/* --- what templates rendered here may read (--template-*) ----------------- */

/* Appends s to b as a Lua string literal: every byte that is not a letter
 * or a digit as a decimal escape, so no path or name can end the literal. */
static void lua_string(ik_buf_t *b, const char *s, size_t n) {
  ik_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ik_buf_putc(b, (char)c);
    else ik_buf_printf(b, "\\%03u", c);
  }
  ik_buf_putc(b, '"');
}

typedef struct template_access {
  ik_buf_t env, dirs, schemes; /* Lua list items, each "literal," */
  bool schemes_set;
} template_access_t;

/* Adds the comma-separated items of list (from --template-env or
 * --template-schemes, or their environment variables) to out. Returns 0,
 * or IK_EXIT_USAGE after printing why. */
static int add_env_names(template_access_t *ta, const char *list) {
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    for (size_t i = 0; i < n; i++) {
      char c = p[i];
      bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c == '*' && i == n - 1);
      if (!ok)
        return ik_cli_usage_error(&ik_cmd_daemon, "--template-env %s: want variable names like HOME or a prefix like APP_*, separated by commas", list);
    }
    if (n > 0) {
      lua_string(&ta->env, p, n);
      ik_buf_putc(&ta->env, ',');
    }
    p += n;
    if (*p == ',') p++;
  }
  return 0;
}

static int add_schemes(template_access_t *ta, const char *list) {
  ta->schemes_set = true;
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    if (n == 4 && strncmp(p, "file", 4) == 0)
      return ik_cli_usage_error(&ik_cmd_daemon, "--template-schemes %s: local files are allowed by directory: use --template-dir DIR", list);
    if (!((n == 4 && strncmp(p, "http", 4) == 0) || (n == 5 && strncmp(p, "https", 5) == 0) ||
          (n == 4 && strncmp(p, "unix", 4) == 0) || n == 0))
      return ik_cli_usage_error(&ik_cmd_daemon, "--template-schemes %s: want a comma-separated list of http, https, unix", list);
    if (n > 0) {
      lua_string(&ta->schemes, p, n);
      ik_buf_putc(&ta->schemes, ',');
    }
    p += n;
    if (*p == ',') p++;
  }
  return 0;
}

/* A directory templates may read files from: must exist; kept resolved. */
static int add_dir(template_access_t *ta, const char *dir) {
  char real[PATH_MAX];
  if (realpath(dir, real) == NULL)
    return ik_cli_usage_error(&ik_cmd_daemon, "--template-dir %s: %s", dir, strerror(errno));
  lua_string(&ta->dirs, real, strlen(real));
  ik_buf_putc(&ta->dirs, ',');
  return 0;
}

/* Frees what the --template-* flags collected; returns code (so a usage
 * error while parsing the flags returns through it). */
static int drop_access(template_access_t *ta, int code) {
  ik_buf_free(&ta->env);
  ik_buf_free(&ta->dirs);
  ik_buf_free(&ta->schemes);
  return code;
}

/* The Lua that sets the template access policy of every render in the
 * daemon (lua/infrakit/template/access.lua). Defaults: no variables, no
 * directories, http and https. */
static void access_code(template_access_t *ta, ik_buf_t *out) {
  if (!ta->schemes_set) ik_buf_puts(&ta->schemes, "\"http\",\"https\",");
  ik_buf_printf(out, "require('infrakit.template.access').configure({env={%s},dirs={%s},schemes={%s}})",
                ik_buf_cstr(&ta->env), ik_buf_cstr(&ta->dirs), ik_buf_cstr(&ta->schemes));
  drop_access(ta, 0);
}

static int daemon_start(daemon_t *d, const candidate_t *const *chosen, size_t n, const char *tcp, ik_err_t *err) {
  ik_lua_opts_t lopts = {.timeout = ik_cli_lua_timeout,
                         .sandbox_timeout = ik_cli_sandbox_timeout,
                         .sandbox_memory = ik_cli_sandbox_memory};
  int rc = ik_lua_new(&d->loop, &lopts, &d->lua, err);
  if (rc < 0) return rc;
  rc = ik_lua_dostring(d->lua, ik_buf_cstr(&d->template_access), "=template access", err);
  ik_buf_free(&d->template_access);
  if (rc < 0) return rc;
  d->registry = ik_registry_new(&d->loop, d->dir);
  ik_lua_set_registry(d->lua, d->registry);
  for (size_t i = 0; i < n; i++)
    if (chosen[i]->native_group && ((rc = open_store(d, err)) < 0 || (rc = open_events(d, err)) < 0)) return rc;
  start_metrics(d);
  size_t hosted = 0;
  ik_err_t first = {0};
  for (size_t i = 0; i < n; i++) {
    ik_err_t e = {0};
    /* --listen serves chosen[0] on TCP (tcp_plugin_first): one port, one plugin. */
    if (host(d, chosen[i], i == 0 ? tcp : NULL, &e) == 0) {
      hosted++;
    } else if (e.code == IK_ELUA) { /* a broken Lua file: report it, go on */
      ik_log(IK_LOG_ERROR, "daemon", "not serving a plugin that failed to load", "plugin", chosen[i]->name,
             "error", e.msg, NULL);
      if (first.code == 0) first = e;
    } else {
      *err = e;
      return e.code;
    }
  }
  if (hosted == 0 && first.code) {
    *err = first;
    return first.code;
  }
  /* SIGHUP reloads the Lua plugins; the handle does not keep the loop alive. */
  rc = uv_signal_init(&d->loop.uv, &d->sighup);
  if (rc < 0) return ik_err_uv(err, rc, "SIGHUP handler");
  d->sighup.data = d;
  d->sighup_on = true; /* closed by daemon_stop from here on */
  uv_unref((uv_handle_t *)&d->sighup);
  if ((rc = uv_signal_start(&d->sighup, on_sighup, SIGHUP)) < 0) return ik_err_uv(err, rc, "SIGHUP handler");
  /* Every plugin is up: pick up the groups committed before. */
  /* The autoscaler: with one manager from now on; with several, on the
   * leader only (ha_gained starts it, ha_lost stops it). */
  char *sock = ik_sprintf("%s/group", d->dir);
  d->autoscale = ik_daemon_autoscale_new(d->lua, d->home, sock, d->events, &d->store);
  ik_free(sock);
  if (d->gate && ha_start(d, err) < 0) return err->code;
  if (!d->gate && d->controller && ik_controller_resume(d->controller, on_resumed, d, err) < 0) return err->code;
  if (!d->gate && d->controller && ik_daemon_autoscale_start(d->autoscale, err) < 0) return err->code;
  return 0;
}

static void daemon_free(daemon_t *d) {
  daemon_stop(d);
  ik_daemon_metrics_free(d->metrics); /* after its server */
  d->metrics = NULL;
  /* Tasks first (no Lua runs after this), then the plugins (Lua modules
   * need the runtime; remote calls are cancelled with the HTTP client),
   * then the runtime (its handles release their adapters). */
  if (d->lua) ik_lua_cancel_all(d->lua);
  ik_daemon_autoscale_free(d->autoscale);
  d->autoscale = NULL;
  ik_controller_free(d->controller); /* before the plugins its groups use */
  d->controller = NULL;
  if (d->manager.vt) d->manager.vt->free(d->manager.self);
  d->manager.vt = NULL;
  d->elect = NULL;
  ik_group_gate_free(d->gate);
  d->gate = NULL;
  ik_http_client_free(d->forward_http);
  d->forward_http = NULL;
  ik_events_http_free(d->events_http); /* its streams closed with the servers */
  d->events_http = NULL;
  if (d->events) ik_events_unsubscribe(d->events, d->heap_trim_sub);
  ik_heap_trim_free(d->heap_trim);
  d->heap_trim = NULL;
  ik_events_close(d->events);
  d->events = NULL;
  ik_free(d->group_url);
  d->group_url = NULL;
  if (d->store.vt) d->store.vt->free(d->store.self);
  d->store.vt = NULL;
  ik_http_client_free(d->etcd_http); /* cancels the etcd calls in flight */
  d->etcd_http = NULL;
  ik_etcd_gateway_free(&d->etcd_gw); /* released once they have answered */
  ik_registry_free(d->registry);
  d->registry = NULL;
  ik_lua_free(d->lua);
  d->lua = NULL;
}

static void on_resigned(json_t *result, const ik_err_t *err, void *data) {
  if (!err) ik_log(IK_LOG_INFO, "daemon", "resigned: the lease is revoked, another manager may lead now", NULL);
  daemon_free(data);
}

static void on_shutdown(ik_loop_t *loop, int signum, void *data) {
  daemon_t *d = data;
  ik_log(IK_LOG_INFO, "daemon", "shutting down", "signal", signum == 2 ? "SIGINT" : "SIGTERM", NULL);
  /* A leader hands over first: its groups stop, its lease goes, and a
   * follower takes over at once rather than after the TTL. */
  ik_err_t err = {0};
  if (d->elect && ik_manager_etcd_is_leader(d->elect) && ik_manager_etcd_resign(d->elect, on_resigned, d, &err) == 0)
    return;
  daemon_free(d);
}

/* Whether "HOST:PORT" names a loopback address (127.0.0.0/8, ::1): 1 if
 * so, 0 if it is another IP address, -1 if HOST is not an IP address (the
 * listener reports that). */
static int is_loopback(const char *hostport) {
  char host[256];
  const char *colon = strrchr(hostport, ':');
  size_t n = colon ? (size_t)(colon - hostport) : strlen(hostport);
  if (n >= 2 && hostport[0] == '[' && hostport[n - 1] == ']') hostport++, n -= 2;
  if (n >= sizeof host) return -1;
  memcpy(host, hostport, n);
  host[n] = '\0';
  unsigned char a[16];
  if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
  static const unsigned char one[16] = {[15] = 1};
  if (inet_pton(AF_INET6, host, a) != 1) return -1;
  return memcmp(a, one, 16) == 0;
}

/* --listen needs TLS (all three files) or --insecure on loopback; the TLS
 * flags and --insecure need --listen. Returns 0 or prints the usage error
 * naming the flags and returns IK_EXIT_USAGE. */
static int check_listen_flags(const char *tcp, const daemon_t *d, bool insecure) {
  bool any_tls = d->tls_cert || d->tls_key || d->tls_client_ca;
  if (tcp == NULL && (any_tls || insecure))
    return ik_cli_usage_error(&ik_cmd_daemon, "%s goes with --listen HOST:PORT",
                              insecure ? "--insecure" : "--tls-cert, --tls-key and --tls-client-ca");
  if (tcp == NULL) return 0;
  if (insecure && any_tls)
    return ik_cli_usage_error(&ik_cmd_daemon, "--insecure (plain TCP) and --tls-cert/--tls-key/--tls-client-ca "
                                              "exclude each other");
  if (insecure) {
    if (is_loopback(tcp) == 0)
      return ik_cli_usage_error(&ik_cmd_daemon, "--insecure serves plain TCP on a loopback address only (127.0.0.1, "
                                                "[::1]); for %s use TLS: --tls-cert, --tls-key, --tls-client-ca "
                                                "(docs/security.md)",
                                tcp);
    return 0;
  }
  if (!any_tls)
    return ik_cli_usage_error(&ik_cmd_daemon, "--listen %s: the TCP listener needs TLS with client certificates: give "
                                              "--tls-cert FILE --tls-key FILE --tls-client-ca FILE (docs/security.md), "
                                              "or --insecure for plain TCP on a loopback address",
                              tcp);
  const char *missing = !d->tls_cert ? "--tls-cert" : !d->tls_key     ? "--tls-key"
                                                  : !d->tls_client_ca ? "--tls-client-ca"
                                                                      : NULL;
  if (missing)
    return ik_cli_usage_error(&ik_cmd_daemon, "--listen over TLS needs --tls-cert, --tls-key and --tls-client-ca; "
                                              "%s is missing",
                              missing);
  return 0;
}

/* The daemon's options, by name: the index of each in opts[] below. Append a
 * new option before OPT_COUNT; nothing else is numbered. */
enum {
  OPT_LISTEN,
  OPT_INSTANCE_FILE_DIR,
  OPT_PLUGIN,
  OPT_POLL,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_TLS_CLIENT_CA,
  OPT_INSECURE,
  OPT_PROCESS_OUTPUT_DIR,
  OPT_MAX_GROUP_SIZE,
  OPT_CALL_TIMEOUT,
  OPT_TEMPLATE_ENV,
  OPT_TEMPLATE_DIR,
  OPT_TEMPLATE_SCHEMES,
  OPT_DOCKER_HOST,
  OPT_DOCKER_STOP_GRACE,
  OPT_QEMU_DIR,
  OPT_STORE,
  OPT_LEASE_TTL,
  OPT_COUNT
};

static int daemon_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {
      [OPT_LISTEN] = {"listen", 0, true},
      [OPT_INSTANCE_FILE_DIR] = {"instance-file-dir", 0, true},
      [OPT_PLUGIN] = {"plugin", 'p', true},
      [OPT_POLL] = {"poll", 0, true},
      [OPT_TLS_CERT] = {"tls-cert", 0, true},
      [OPT_TLS_KEY] = {"tls-key", 0, true},
      [OPT_TLS_CLIENT_CA] = {"tls-client-ca", 0, true},
      [OPT_INSECURE] = {"insecure", 0, false},
      [OPT_PROCESS_OUTPUT_DIR] = {"process-output-dir", 0, true},
      [OPT_MAX_GROUP_SIZE] = {"max-group-size", 0, true},
      [OPT_CALL_TIMEOUT] = {"call-timeout", 0, true},
      [OPT_TEMPLATE_ENV] = {"template-env", 0, true},
      [OPT_TEMPLATE_DIR] = {"template-dir", 0, true},
      [OPT_TEMPLATE_SCHEMES] = {"template-schemes", 0, true},
      [OPT_DOCKER_HOST] = {"docker-host", 0, true},
      [OPT_DOCKER_STOP_GRACE] = {"docker-stop-grace", 0, true},
      [OPT_QEMU_DIR] = {"qemu-dir", 0, true},
      [OPT_STORE] = {"store", 0, true},
      [OPT_LEASE_TTL] = {"lease-ttl", 0, true},
      [OPT_COUNT] = {NULL, 0, false},
  };
  template_access_t ta = {0};
  bool env_set = false, dirs_set = false;
  static daemon_t d;
  static candidate_t all[IK_DAEMON_MAX_PLUGINS];
  const char *tcp = NULL, *file_dir = NULL;
  bool insecure = false;
  const char *wanted[IK_DAEMON_MAX_PLUGINS];
  size_t nwanted = 0;
  ik_optparse_t p;
  ik_opt_init(&p, &ik_cmd_daemon, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return drop_access(&ta, IK_EXIT_OK);
    if (o < 0) return drop_access(&ta, IK_EXIT_USAGE);
    if (o == OPT_LISTEN) tcp = p.arg;
    if (o == OPT_INSTANCE_FILE_DIR) file_dir = p.arg;
    if (o == OPT_PLUGIN && nwanted < IK_DAEMON_MAX_PLUGINS) wanted[nwanted++] = p.arg;
    if (o == OPT_POLL && (ik_parse_go_duration(p.arg, &d.poll_ms) < 0 || d.poll_ms < 10 || d.poll_ms > 86400000))
      return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--poll %s: want a duration from 10ms to 24h, like 5s or 500ms", p.arg));
    if (o == OPT_TLS_CERT) d.tls_cert = p.arg;
    if (o == OPT_TLS_KEY) d.tls_key = p.arg;
    if (o == OPT_TLS_CLIENT_CA) d.tls_client_ca = p.arg;
    if (o == OPT_INSECURE) insecure = true;
    if (o == OPT_PROCESS_OUTPUT_DIR && p.arg[0] != '/')
      return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--process-output-dir %s: want an absolute path", p.arg));
    if (o == OPT_PROCESS_OUTPUT_DIR) d.output_dir = p.arg;
    if (o == OPT_MAX_GROUP_SIZE) {
      char *end;
      unsigned long long n = strtoull(p.arg, &end, 10);
      if (*end != '\0' || n == 0 || n > 100000000ULL || p.arg[0] == '-')
        return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--max-group-size %s: want a whole number from 1 to 100000000", p.arg));
      d.max_group_size = n;
    }
    if (o == OPT_CALL_TIMEOUT) {
      /* DURATION (every plugin), or NAME=DURATION (that plugin). */
      const char *eq = strchr(p.arg, '=');
      uint64_t ms = 0;
      size_t name_len = eq ? (size_t)(eq - p.arg) : 0;
      if (ik_parse_go_duration(eq ? eq + 1 : p.arg, &ms) < 0 || ms < 10 || ms > 86400000 || (eq && name_len == 0) ||
          name_len >= sizeof d.call_timeout_names[0])
        return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon,
                                                   "--call-timeout %s: want a duration from 10ms to 24h (like 5m or 30s), or "
                                                   "PLUGIN=DURATION",
                                                   p.arg));
      if (eq == NULL) {
        d.call_timeout_ms = ms;
      } else if (d.n_call_timeouts < sizeof d.call_timeouts / sizeof d.call_timeouts[0]) {
        char *name = d.call_timeout_names[d.n_call_timeouts];
        snprintf(name, sizeof d.call_timeout_names[0], "%.*s", (int)name_len, p.arg);
        d.call_timeouts[d.n_call_timeouts++] = (ik_call_timeout_t){name, (int64_t)ms};
      } else {
        return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--call-timeout: at most 16 PLUGIN=DURATION"));
      }
    }
    if (o == OPT_TEMPLATE_ENV && (env_set = true) && add_env_names(&ta, p.arg) != 0) return drop_access(&ta, IK_EXIT_USAGE);
    if (o == OPT_TEMPLATE_DIR && (dirs_set = true) && add_dir(&ta, p.arg) != 0) return drop_access(&ta, IK_EXIT_USAGE);
    if (o == OPT_TEMPLATE_SCHEMES && add_schemes(&ta, p.arg) != 0) return drop_access(&ta, IK_EXIT_USAGE);
    if (o == OPT_DOCKER_HOST && strncmp(p.arg, "unix:///", 8) != 0 && strncmp(p.arg, "tcp://", 6) != 0)
      return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--docker-host %s: want unix:///path/to/docker.sock or tcp://HOST:PORT", p.arg));
    if (o == OPT_DOCKER_HOST) d.docker_host = p.arg;
    if (o == OPT_DOCKER_STOP_GRACE && (ik_parse_go_duration(p.arg, &d.docker_stop_grace_ms) < 0 || d.docker_stop_grace_ms < 1000 ||
                                       d.docker_stop_grace_ms > 3600000))
      return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--docker-stop-grace %s: want a duration from 1s to 1h, like 10s", p.arg));
    if (o == OPT_QEMU_DIR && p.arg[0] != '/')
      return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--qemu-dir %s: want an absolute path", p.arg));
    if (o == OPT_QEMU_DIR) d.qemu_dir = p.arg;
    if (o == OPT_LEASE_TTL && (ik_parse_go_duration(p.arg, &d.lease_ttl_ms) < 0 || d.lease_ttl_ms < 1000 ||
                               d.lease_ttl_ms > 3600000))
      return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--lease-ttl %s: want a duration from 1s to 1h, like 2s", p.arg));
    if (o == OPT_STORE && strcmp(p.arg, "file") == 0) {
      ik_free(d.etcd_endpoints), ik_free(d.etcd_prefix);
      d.etcd_endpoints = d.etcd_prefix = NULL;
    } else if (o == OPT_STORE) {
      ik_free(d.etcd_endpoints), ik_free(d.etcd_prefix);
      ik_err_t ue = {0};
      if (ik_store_etcd_parse_url(p.arg, &d.etcd_endpoints, &d.etcd_prefix, &ue) < 0)
        return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--store %s: %s (or file, the default)", p.arg, ue.msg));
    }
  }
  if (d.max_group_size == 0) {
    ik_err_t env_err = {0};
    if (ik_cli_max_group_size(&d.max_group_size, &env_err) < 0)
      return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "%s", env_err.msg));
  }
  /* The flags' environment variables, for daemons started by `plugin start`. */
  const char *ev;
  /* InfraKit's INFRAKIT_GROUP_POLL_INTERVAL (reference §4.7), when --poll is not given. */
  if (d.poll_ms == 0 && (ev = getenv("INFRAKIT_GROUP_POLL_INTERVAL")) && *ev &&
      (ik_parse_go_duration(ev, &d.poll_ms) < 0 || d.poll_ms < 10 || d.poll_ms > 86400000))
    return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon,
                                               "INFRAKIT_GROUP_POLL_INTERVAL %s: want a duration from 10ms to 24h, like 5s or 500ms", ev));
  if (!env_set && (ev = getenv("INFRAKIT_TEMPLATE_ENV")) && add_env_names(&ta, ev) != 0) return drop_access(&ta, IK_EXIT_USAGE);
  if (!dirs_set && (ev = getenv("INFRAKIT_TEMPLATE_DIR")) && *ev) {
    char copy[8192];
    snprintf(copy, sizeof copy, "%s", ev);
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
      if (add_dir(&ta, dir) != 0) return drop_access(&ta, IK_EXIT_USAGE);
  }
  if (d.qemu_dir == NULL && (ev = getenv("INFRAKIT_QEMU_DIR")) && *ev) {
    if (ev[0] != '/') return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "INFRAKIT_QEMU_DIR %s: want an absolute path", ev));
    d.qemu_dir = ev;
  }
  if (!ta.schemes_set && (ev = getenv("INFRAKIT_TEMPLATE_SCHEMES")) && *ev && add_schemes(&ta, ev) != 0)
    return drop_access(&ta, IK_EXIT_USAGE);
  access_code(&ta, &d.template_access);
  if (p.index < argc) return ik_cli_usage_error(&ik_cmd_daemon, "unexpected argument \"%s\"", argv[p.index]);
  if (d.lease_ttl_ms && !d.etcd_endpoints)
    return drop_access(&ta, ik_cli_usage_error(&ik_cmd_daemon, "--lease-ttl goes with --store etcd://... (one manager "
                                                               "on the file store has no election)"));
  int urc = check_listen_flags(tcp, &d, insecure);
  if (urc != 0) return urc;

  ik_err_t err = {0};
  if (ik_plugins_dir(d.dir, sizeof d.dir, &err) < 0 || ik_home_dir(d.home, sizeof d.home, &err) < 0) {
    ik_cli_eprintf("infrakit daemon: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }
  size_t nall = candidates(d.home, all, IK_DAEMON_MAX_PLUGINS);
  const candidate_t *chosen[IK_DAEMON_MAX_PLUGINS];
  size_t nchosen = 0;
  for (size_t w = 0; w < nwanted; w++) {
    const candidate_t *c = NULL;
    for (size_t i = 0; i < nall && c == NULL; i++)
      if (strcmp(all[i].name, wanted[w]) == 0) c = &all[i];
    if (c == NULL) {
      const char *names[IK_DAEMON_MAX_PLUGINS];
      for (size_t i = 0; i < nall; i++) names[i] = all[i].name;
      const char *guess = ik_cli_suggest(wanted[w], names, nall);
      char known[1024];
      ik_daemon_can_host("", known, sizeof known);
      candidates_free(all, nall); /* guess points into a name, not a path */
      if (guess) return ik_cli_usage_error(&ik_cmd_daemon, "--plugin %s: no such plugin (did you mean %s?)", wanted[w], guess);
      return ik_cli_usage_error(&ik_cmd_daemon, "--plugin %s: no such plugin (known: %s)", wanted[w], known);
    }
    bool dup = false;
    for (size_t i = 0; i < nchosen; i++) dup |= chosen[i] == c;
    if (!dup) chosen[nchosen++] = c;
  }
  d.serve_all = nwanted == 0;
  if (nwanted == 0)
    for (size_t i = 0; i < nall; i++) chosen[nchosen++] = &all[i];
  if (tcp) tcp_plugin_first(chosen, nchosen, nwanted > 0);

  /* One descriptor per client connection: allow as many as the hard limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  char *default_file_dir = NULL;
  if (file_dir == NULL) file_dir = default_file_dir = ik_sprintf("%s/instance-file", d.home);
  d.file_dir = file_dir;
  if (ik_loop_init(&d.loop, &err) < 0 || ik_loop_catch_signals(&d.loop, &err) < 0) {
    ik_cli_eprintf("infrakit daemon: %s\n", err.msg);
    ik_free(default_file_dir);
    candidates_free(all, nall);
    return IK_EXIT_FAIL;
  }

  int exit_code = IK_EXIT_OK;
  if (daemon_start(&d, chosen, nchosen, tcp, &err) < 0) {
    ik_cli_eprintf("infrakit daemon: %s\n", err.msg);
    exit_code = err.code == IK_EINVAL ? IK_EXIT_USAGE : IK_EXIT_FAIL;
  } else {
    ik_loop_on_shutdown(&d.loop, on_shutdown, &d);
    ik_loop_run(&d.loop);
    ik_loop_off_shutdown(&d.loop, on_shutdown, &d);
  }
  daemon_free(&d);
  ik_loop_run(&d.loop); /* let closing handles finish */
  int leaked = 0;
  if (ik_loop_close(&d.loop, &leaked) != 0 || leaked > 0)
    ik_log(IK_LOG_WARN, "daemon", "loop did not close clean", NULL);
  d.file_dir = NULL;
  ik_free(d.etcd_endpoints), ik_free(d.etcd_prefix);
  d.etcd_endpoints = d.etcd_prefix = NULL;
  ik_free(default_file_dir);
  candidates_free(all, nall);
  return exit_code;
}

const ik_cli_cmd_t ik_cmd_daemon = {
    .name = "daemon",
    .summary = "Serve the built-in plugins on unix sockets (InfraKit's wire)",
    .usage = "infrakit daemon [options]",
    .help = "Hosts each built-in plugin on its own unix socket in the plugins directory\n"
            "($INFRAKIT_PLUGINS_DIR, else $INFRAKIT_HOME/plugins, else ~/.infrakit/plugins),\n"
            "speaking JSON-RPC 2.0 over HTTP/1.1 like InfraKit's plugins, so InfraKit's CLI\n"
            "and Go plugins can use them. Beside each socket NAME it writes NAME.pid (and\n"
            "NAME.listen with --listen). A socket left by a crashed daemon is replaced; a\n"
            "live one is never taken over. SIGINT or SIGTERM stops it and removes the files.\n"
            "SIGHUP reloads the Lua flavors and providers whose files changed (one that\n"
            "does not load keeps its previous version, and the log says why) and, without\n"
            "--plugin, starts serving Lua files added since; see 'infrakit plugin reload'.\n\n"
            "Plugins:\n"
            "  group              Group/0.1.1 and Manager: the group controller; keeps each\n"
            "                     committed group at its spec (docs/groups.md); specs and\n"
            "                     rollout state in $INFRAKIT_HOME/configs, events appended\n"
            "                     to $INFRAKIT_HOME/events.jsonl; one daemon per store: it\n"
            "                     locks configs/daemon.lock, and a second daemon on the same\n"
            "                     INFRAKIT_HOME refuses to start, naming the holder's pid;\n"
            "                     with --store etcd, several daemons share the store:\n"
            "                     the elected leader runs the groups, the others forward\n"
            "                     changes to it (docs/ha.md); GET /metrics on its socket\n"
            "                     (and on --listen): Prometheus' text format\n"
            "                     (docs/observability.md); groups with Properties.Scaling\n"
            "                     are autoscaled by the leader (docs/autoscaling.md);\n"
            "                     a web dashboard at /ui (docs/observability.md)\n"
            "  instance-file      Instance/0.6.1: one JSON file per instance, in\n"
            "                     $INFRAKIT_HOME/instance-file (see --instance-file-dir)\n"
            "  instance-process   Instance/0.6.1: each instance a local process (Properties\n"
            "                     Cmd, Env, Dir, Stdout, Stderr); state and logs in\n"
            "                     $INFRAKIT_HOME/instance-process; processes outlive the\n"
            "                     daemon and are adopted again when it restarts\n"
            "  instance-docker    Instance/0.6.1: each instance a container on a Docker\n"
            "                     Engine (Properties Tags, Config, HostConfig,\n"
            "                     NetworkAttachments; docs/docker.md), over its API at\n"
            "                     --docker-host, else $DOCKER_HOST, else\n"
            "                     unix:///var/run/docker.sock; follows the engine's events;\n"
            "                     tags added by Label kept in $INFRAKIT_HOME/instance-docker\n"
            "  instance-qemu      Instance/0.6.1: each instance a qemu VM (Properties Kernel,\n"
            "                     Initrd, Cmdline, Disk, Memory, CPUs, Accel, Ports,\n"
            "                     Checksum; docs/qemu.md); Init reaches the guest through\n"
            "                     fw_cfg; state in $INFRAKIT_HOME/instance-qemu (see\n"
            "                     --qemu-dir); VMs outlive the daemon and are adopted again\n"
            "  flavor-vanilla     Flavor/0.1.1: Init lines or template, Tags, Attachments\n"
            "  flavor-combo       Flavor/0.1.1: several flavors composed\n"
            "  flavor-zookeeper   Flavor/0.1.1: a ZooKeeper ensemble from LogicalIDs\n"
            "  flavor-swarm       Flavor/0.1.1, types manager and worker (\"flavor-swarm/manager\"\n"
            "                     in a spec): Docker swarm nodes; Init joins the swarm read\n"
            "                     from Properties.Docker.Host, health from the swarm's nodes\n"
            "                     (docs/swarm.md)\n"
            "  flavor-http        Flavor/0.1.1: healthy when the instance answers HTTP (Port,\n"
            "                     Path, Expect; a forwarded port from Properties.Ports)\n"
            "  NAME               each $INFRAKIT_HOME/flavors/NAME.lua (a Lua flavor) and\n"
            "                     $INFRAKIT_HOME/providers/NAME.lua (a Lua instance provider);\n"
            "                     one that fails to load is logged (file and line) and skipped\n\n"
            "Options:\n"
            "  -p, --plugin NAME         serve only this plugin; repeat for more\n"
            "                            (default: all of them)\n"
            "  --listen HOST:PORT        also serve one plugin on TCP (port 0 picks one;\n"
            "                            see NAME.listen): group when --plugin group is\n"
            "                            given (in any order), else the first hosted of\n"
            "                            instance-file, instance-process, instance-docker,\n"
            "                            instance-qemu, the flavors (instance-file when\n"
            "                            all are served); over TLS with client certificates:\n"
            "                            needs the three --tls-* flags, or --insecure\n"
            "                            (docs/security.md); /metrics, /events and /ui\n"
            "                            come with the group plugin\n"
            "  --tls-cert FILE           the listener's certificate (PEM; its chain may follow)\n"
            "  --tls-key FILE            its private key (PEM)\n"
            "  --tls-client-ca FILE      CA(s) that sign the client certificates it accepts;\n"
            "                            a client without one is refused at the handshake\n"
            "  --insecure                --listen serves plain TCP, with no authentication:\n"
            "                            loopback addresses only (127.0.0.1, [::1]); any local\n"
            "                            user can then drive the plugin\n"
            "  --process-output-dir DIR  instance-process may write Stdout/Stderr to absolute\n"
            "                            paths under DIR (default: only names inside its\n"
            "                            state directory, no \"..\")\n"
            "  --instance-file-dir DIR   where instance-file keeps its instances\n"
            "  --docker-host URL         the engine instance-docker drives: unix:///PATH or\n"
            "                            tcp://HOST:PORT (default $DOCKER_HOST, else\n"
            "                            unix:///var/run/docker.sock)\n"
            "  --docker-stop-grace DURATION\n"
            "                            instance-docker's destroy: stop, then SIGKILL after\n"
            "                            this (whole seconds; default 5s)\n"
            "  --qemu-dir DIR            where instance-qemu keeps its VMs' state directories\n"
            "                            (default $INFRAKIT_QEMU_DIR, else\n"
            "                            $INFRAKIT_HOME/instance-qemu; at most 84 bytes: the\n"
            "                            QMP sockets live there)\n"
            "  --poll DURATION           the group controller's resync interval (default 5s;\n"
            "                            $INFRAKIT_GROUP_POLL_INTERVAL); events from instance\n"
            "                            plugins act at once\n"
            "  --max-group-size N        refuse groups larger than N instances (Allocation.Size\n"
            "                            or LogicalIDs; default $INFRAKIT_MAX_GROUP_SIZE, else 10000)\n"
            "  --call-timeout DURATION   a plugin call the group controller makes (provision,\n"
            "                            destroy, describe, health, ...) not answered within this\n"
            "                            fails and is retried with backoff (default 5m)\n"
            "  --call-timeout PLUGIN=DURATION\n"
            "                            the same for one plugin (as specs name it); repeat\n"
            "  --store file|etcd://HOST:PORT[,HOST:PORT...][/PREFIX]\n"
            "                            where the group controller keeps specs and rollout\n"
            "                            state: file ($INFRAKIT_HOME/configs, the default) or\n"
            "                            an etcd v3 cluster, each document at PREFIX/KEY\n"
            "                            (default prefix infrakit; docs/ha.md); the next\n"
            "                            endpoint is tried when one does not answer. With etcd,\n"
            "                            several daemons manage together: one leads (elected),\n"
            "                            the others forward changes to it\n"
            "  --lease-ttl DURATION      with --store etcd: the leader's lease (default 2s, whole\n"
            "                            seconds); a dead leader is replaced within about twice\n"
            "                            this\n\n"
            "Templates the daemon renders (InitScriptTemplateURL and what it includes) come\n"
            "from specs, so they read the environment and local files only as allowed here\n"
            "(docs/security.md#templates); `infrakit template` and playbooks are not limited:\n"
            "  --template-env NAME[,NAME] environment variables `env`/`expandenv` may read;\n"
            "                            PREFIX* allows a prefix (default: none;\n"
            "                            $INFRAKIT_TEMPLATE_ENV)\n"
            "  --template-dir DIR        a directory whose files templates may read\n"
            "                            (file:// URLs, paths); repeat for more (default:\n"
            "                            none; $INFRAKIT_TEMPLATE_DIR, colon-separated)\n"
            "  --template-schemes LIST   URL schemes templates may fetch, from http, https,\n"
            "                            unix (default: http,https;\n"
            "                            $INFRAKIT_TEMPLATE_SCHEMES)\n\n"
            "Examples:\n"
            "  INFRAKIT_HOME=/tmp/ik infrakit daemon &\n"
            "  curl --unix-socket /tmp/ik/plugins/instance-file -H 'Content-Type: application/json' \\\n"
            "       -d '{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{},\"id\":1}' http://h/\n"
            "  infrakit daemon --listen 10.0.0.5:24864 --tls-cert server.pem --tls-key server.key \\\n"
            "       --tls-client-ca ca.pem &    # clients: INFRAKIT_TLS_CERT/_KEY/_CA\n"
            "  infrakit daemon -p group -p instance-file -p flavor-vanilla \\\n"
            "       --listen 127.0.0.1:8080 --insecure &   # the dashboard: http://127.0.0.1:8080/ui\n",
    .run = daemon_run,
};
