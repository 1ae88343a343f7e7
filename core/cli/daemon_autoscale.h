/* The daemon's autoscaler (docs/autoscaling.md): a Lua task in the
 * daemon's runtime (lua/infrakit/_autoscaler.lua) that evaluates the
 * scaling policy of every group with Properties.Scaling and sets its size
 * through the group plugin, and the event-log sink its decisions go to
 * (the daemon's one event log, numbered with the controller's events). */
#ifndef IK_CLI_DAEMON_AUTOSCALE_H
#define IK_CLI_DAEMON_AUTOSCALE_H

#include "base/err.h"
#include "engine/events.h"
#include "lua/runtime.h"

typedef struct ik_daemon_autoscale ik_daemon_autoscale_t;

/* Start the autoscaler in lua: it talks to the group plugin at
 * group_socket and reads instances' metrics under home/metrics. Its
 * events go to events (borrowed: the daemon's event log, which must
 * outlive the autoscaler). Returns 0, or a negative code with err filled
 * and nothing started. The task runs until the runtime cancels it
 * (ik_lua_cancel_all); if it stops by itself it is logged. */
int ik_daemon_autoscale_start(ik_lua_t *lua, const char *home, const char *group_socket, ik_events_t *events,
                              ik_daemon_autoscale_t **out, ik_err_t *err);

/* After ik_lua_cancel_all (no Lua runs any more): remove the event sink
 * and free. NULL is ignored. */
void ik_daemon_autoscale_free(ik_daemon_autoscale_t *a);

#endif
