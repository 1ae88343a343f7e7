/* etcd's v3 JSON gateway (POST /v3/...) through the project's HTTP client:
 * spi/etcd_gateway.h, which the etcd manager speaks (engine/manager_etcd.h).
 *
 * endpoints is "host:port[,host:port...]" (copied). A call goes to the
 * current endpoint; a transport failure (refused, timed out, reset) moves
 * to the next one for the following calls, so a cluster that lost a
 * member keeps answering. An HTTP status other than 200 is an IK_EIO
 * error carrying etcd's message. A watch is one streaming POST
 * /v3/watch; its lines are parsed as they arrive. */
#ifndef IK_NET_ETCD_GATEWAY_H
#define IK_NET_ETCD_GATEWAY_H

#include "net/client/http_client.h"
#include "spi/etcd_gateway.h"

/* How long a call may take, on each endpoint it tries. */
typedef struct ik_etcd_gateway_opts {
  /* Each call, and the connection of a watch [5000, etcdctl's
   * --command-timeout]: long enough for a loaded member's fsync. */
  uint64_t timeout_ms;
  /* /v3/lease/keepalive [timeout_ms, and at most that]: the HA manager sends one every
   * TTL/3 (ik_manager_etcd_keepalive_every_ms), so one unanswered by
   * then is better given up for the next endpoint while the lease lives. */
  uint64_t keepalive_timeout_ms;
} ik_etcd_gateway_opts_t;

/* http is borrowed and must outlive the gateway; opts may be NULL (the
 * defaults). Free with ik_etcd_gateway_free once no call is outstanding
 * (free the HTTP client first to cancel them). */
int ik_etcd_gateway_new(ik_http_client_t *http, const char *endpoints, const ik_etcd_gateway_opts_t *opts,
                        ik_etcd_gateway_t *out, ik_err_t *err);
void ik_etcd_gateway_free(ik_etcd_gateway_t *g);

#endif
