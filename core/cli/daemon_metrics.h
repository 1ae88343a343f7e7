/* The daemon's GET /metrics (docs/observability.md, "## Metrics"): the
 * process's registry (engine/metrics.h) in Prometheus' text format, served
 * by the group plugin's server, so on its unix socket and on the TCP
 * listener of `daemon --listen` (with its TLS and Host checks). Adds what
 * only the daemon knows: the Lua heap, leadership, the etcd store's
 * refused writes, and the process_* metrics. */
#ifndef IK_CLI_DAEMON_METRICS_H
#define IK_CLI_DAEMON_METRICS_H

#include <stdbool.h>

#include "base/err.h"
#include "lua/runtime.h"
#include "net/server/rpc_server.h"
#include "spi/store.h"

typedef struct ik_daemon_metrics_opts {
  ik_lua_t *lua;           /* the daemon's Lua state; borrowed, may be NULL */
  const ik_store_t *store; /* the controller's store; borrowed, may be NULL */
  /* Whether this daemon leads (manages the groups) now. */
  bool (*is_leader)(void *ctx);
  void *ctx;
} ik_daemon_metrics_opts_t;

typedef struct ik_daemon_metrics ik_daemon_metrics_t;

/* Start collecting what opts names (which must outlive the result). */
ik_daemon_metrics_t *ik_daemon_metrics_new(const ik_daemon_metrics_opts_t *opts);

/* Route GET /metrics on rpc (the group plugin's server, and the one that
 * listens on TCP). dm must outlive rpc: free it after the servers. */
int ik_daemon_metrics_route(ik_daemon_metrics_t *dm, ik_rpc_server_t *rpc, ik_err_t *err);

/* Stop collecting (the registry keeps what was observed) and free. NULL
 * does nothing. */
void ik_daemon_metrics_free(ik_daemon_metrics_t *dm);

#endif
