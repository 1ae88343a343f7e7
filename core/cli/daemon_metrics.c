/* GET /metrics for the daemon (daemon_metrics.h). */
#include "cli/daemon_metrics.h"

#include "base/buf.h"
#include "base/mem.h"
#include "engine/engine_metrics.h"
#include "engine/metrics_process.h"
#include "engine/store_etcd.h"

struct ik_daemon_metrics {
  ik_daemon_metrics_opts_t o;
  ik_metric_series_t *lua_bytes, *leader, *refused; /* refused: NULL without the etcd store */
};

/* The families of this file, once per process (the registry outlives any
 * daemon; a second daemon in one process, as tests run, finds them). */
static ik_metric_t *family(ik_metrics_t *m, ik_metric_type_t type, const char *name, const char *help) {
  ik_metric_t *f = ik_metrics_find(m, name);
  if (f) return f;
  return type == IK_METRIC_COUNTER ? ik_metrics_counter(m, name, help, NULL) : ik_metrics_gauge(m, name, help, NULL);
}

static void collect(ik_metrics_t *m, void *data) {
  ik_daemon_metrics_t *dm = data;
  if (dm->o.lua) ik_metric_set(dm->lua_bytes, (double)ik_lua_memory_bytes(dm->o.lua));
  ik_metric_set(dm->leader, dm->o.is_leader && dm->o.is_leader(dm->o.ctx) ? 1 : 0);
  if (dm->refused) ik_metric_set(dm->refused, (double)ik_store_etcd_refused(dm->o.store));
}

static void on_metrics(ik_http_request_t *req, void *data) {
  (void)data;
  ik_buf_t out;
  ik_buf_init(&out);
  ik_metrics_render(ik_metrics_default(), &out);
  ik_http_respond(req, 200, IK_METRICS_CONTENT_TYPE, ik_buf_cstr(&out), out.len);
  ik_buf_free(&out);
}

ik_daemon_metrics_t *ik_daemon_metrics_new(const ik_daemon_metrics_opts_t *opts) {
  ik_metrics_t *m = ik_metrics_default();
  if (ik_metrics_find(m, "process_cpu_seconds_total") == NULL) ik_metrics_process_register(m);
  ik_engine_metrics(); /* the engine's families come before this file's */
  ik_daemon_metrics_t *dm = IK_NEW(ik_daemon_metrics_t);
  dm->o = *opts;
  dm->lua_bytes = ik_metric_series(family(m, IK_METRIC_GAUGE, "infrakit_lua_memory_bytes",
                                          "Bytes the daemon's Lua heap holds (live and not yet collected)."));
  dm->leader = ik_metric_series(family(m, IK_METRIC_GAUGE, "infrakit_leader",
                                       "1 while this daemon leads (manages the groups), else 0. Always 1 with the file store."));
  if (opts->store && ik_store_is_etcd(opts->store))
    dm->refused = ik_metric_series(family(m, IK_METRIC_COUNTER, "infrakit_store_refused_writes_total",
                                          "Store writes etcd refused because this daemon no longer held the leader key (fencing)."));
  ik_metrics_add_collector(m, collect, dm);
  return dm;
}

int ik_daemon_metrics_route(ik_daemon_metrics_t *dm, ik_rpc_server_t *rpc, ik_err_t *err) {
  return ik_rpc_server_route(rpc, "GET", "/metrics", false, on_metrics, dm, err);
}

void ik_daemon_metrics_free(ik_daemon_metrics_t *dm) {
  if (dm == NULL) return;
  ik_metrics_remove_collector(ik_metrics_default(), collect, dm);
  ik_free(dm);
}
