/* The daemon's autoscaler (docs/autoscaling.md): a Lua task in the
 * daemon's runtime (lua/infrakit/_autoscaler.lua) that evaluates the
 * scaling policy of every group with Properties.Scaling and sets its size
 * through the group plugin, the event-log sink its decisions go to (the
 * daemon's one event log, numbered with the controller's events), and the
 * store its per-group memory (groups/ID/scaling: the last change, the
 * scale-in proposals) is kept in, so the cooldowns survive a restart and a
 * change of leader.
 *
 * With one manager it runs from the start; with several (--store etcd) it
 * runs on the leader only: started when leadership is gained, stopped at
 * once when it is lost. */
#ifndef IK_CLI_DAEMON_AUTOSCALE_H
#define IK_CLI_DAEMON_AUTOSCALE_H

#include "base/err.h"
#include "engine/events.h"
#include "lua/runtime.h"
#include "spi/store.h"

typedef struct ik_daemon_autoscale ik_daemon_autoscale_t;

/* The autoscaler of lua, not running yet: it will talk to the group
 * plugin at group_socket, read instances' metrics under home/metrics,
 * write its events to events and its memory to store (both borrowed: the
 * daemon's, which must outlive it). */
ik_daemon_autoscale_t *ik_daemon_autoscale_new(ik_lua_t *lua, const char *home, const char *group_socket,
                                               ik_events_t *events, const ik_store_t *store);

/* Start its task (nothing if it runs already). Returns 0, or a negative
 * code with err filled and nothing started. The task runs until stopped
 * or cancelled with the runtime; if it stops by itself it is logged. */
int ik_daemon_autoscale_start(ik_daemon_autoscale_t *a, ik_err_t *err);

/* Stop its task now (nothing if it is not running): the evaluation under
 * way is abandoned, an answer still out is dropped. */
void ik_daemon_autoscale_stop(ik_daemon_autoscale_t *a);

/* Stop, remove the event sink and the store from the runtime, free. NULL
 * is ignored. */
void ik_daemon_autoscale_free(ik_daemon_autoscale_t *a);

#endif
