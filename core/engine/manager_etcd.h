/* Leadership among daemons that share an etcd cluster (docs/ha.md).
 *
 * Each daemon grants itself a lease (TTL lease_ttl_ms, default 2 s), keeps
 * it alive every TTL/3 and campaigns for the leader key PREFIX/leader with
 * a create-if-absent transaction whose value is its advertised location
 * (the URL Manager.LeaderLocation reports) and whose lease is its own. The
 * winner leads until its lease is lost; the others watch the key and
 * campaign again the moment it is deleted (its holder's lease expired or
 * it resigned).
 *
 * Leadership is lost, at once, when a keepalive fails or answers without a
 * TTL (the lease expired), when no keepalive has succeeded for a whole TTL
 * (a paused or partitioned process cannot know it still leads), or when
 * the watch shows the key deleted or held by another create revision. A
 * manager that lost its lease grants a new one and campaigns again, as a
 * follower.
 *
 * The engine reaches etcd only through the gateway vtable (spi/etcd_gateway.h;
 * the real one, net/client/etcd_gateway.h, speaks the v3 JSON gateway through the
 * project's HTTP client; unit tests give a fake). */
#ifndef IK_ENGINE_MANAGER_ETCD_H
#define IK_ENGINE_MANAGER_ETCD_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "loop/loop.h"
#include "spi/etcd_gateway.h"
#include "spi/manager.h"

typedef struct ik_manager_etcd ik_manager_etcd_t;

typedef struct ik_manager_etcd_opts {
  ik_etcd_gateway_t gateway; /* borrowed; outlives the manager's last callback (free it after the manager) */
  const char *prefix;        /* key prefix ("infrakit"); the leader key is PREFIX/leader; copied */
  const char *location;      /* this daemon's advertised URL; copied */
  int64_t lease_ttl_ms;      /* [2000]; etcd leases count whole seconds: rounded up, at least 1 s */
  /* Leadership transitions, from the loop. on_gained: this daemon now
   * holds the leader key, created at create_revision (the fencing
   * revision). on_lost: it no longer may act, reason says why. Either may
   * be NULL. */
  void (*on_gained)(int64_t create_revision, void *ctx);
  void (*on_lost)(const char *reason, void *ctx);
  void *ctx;
} ik_manager_etcd_opts_t;

/* How often the manager sends a keepalive for a lease of lease_ttl_ms
 * (0: the default), in ms: TTL/3 of the TTL rounded up to whole seconds.
 * A keepalive still unanswered by then is stale (its gateway's
 * keepalive_timeout_ms, see net/client/etcd_gateway.h). */
uint64_t ik_manager_etcd_keepalive_every_ms(int64_t lease_ttl_ms);

/* Start campaigning (the first request goes out from the loop). */
int ik_manager_etcd_new(ik_loop_t *loop, const ik_manager_etcd_opts_t *opts, ik_manager_etcd_t **out, ik_err_t *err);

/* The manager SPI over m (Manager.IsLeader, Manager.LeaderLocation); its
 * free is ik_manager_etcd_free. */
ik_manager_plugin_t ik_manager_etcd_plugin(ik_manager_etcd_t *m);

/* Whether this daemon leads now, and the leader's location (borrowed,
 * NULL when no leader is known). */
bool ik_manager_etcd_is_leader(const ik_manager_etcd_t *m);

/* Whether this daemon may still act as the leader at this instant: it
 * leads and the clock (read now, not the loop's time) is before its
 * lease's local deadline - the moment, a sixth of the TTL before etcd
 * could expire the lease, at which the deadline timer will depose it. The
 * group controller asks it before every plugin action (controller.h
 * may_act): a daemon woken from a pause past its deadline sends nothing
 * even before that timer has run. */
bool ik_manager_etcd_may_act(const ik_manager_etcd_t *m);
const char *ik_manager_etcd_leader(const ik_manager_etcd_t *m);

/* The last error etcd's gateway gave (borrowed); once a call has
 * succeeded since, NULL - or, after this manager lost its lease and until
 * a campaign tells who leads, that it lost it and why ("this manager lost
 * its lease (REASON) and has not campaigned since: ..."), rather than
 * letting "no manager holds the leader key" be assumed: another may well
 * hold it. Why no leader may be known. */
const char *ik_manager_etcd_last_error(const ik_manager_etcd_t *m);

/* Give up leadership for good (a clean shutdown): on_lost runs now if
 * this daemon leads, campaigning stops, and the lease is revoked, which
 * deletes the leader key with it, so a follower takes over at once
 * instead of after the TTL. cb(NULL, err or NULL, data) once etcd has
 * answered (or at once, from the loop, without a lease); free the manager
 * after. */
int ik_manager_etcd_resign(ik_manager_etcd_t *m, ik_spi_cb cb, void *data, ik_err_t *err);

/* Stop campaigning (no callback runs any more; the lease is left to
 * expire) and release m once the gateway has answered its calls. */
void ik_manager_etcd_free(ik_manager_etcd_t *m);

#endif
