/* The web dashboard: GET /ui on the group plugin's server (its unix socket
 * and, with `daemon --listen`, its TCP port).
 *
 *   /ui, /ui/, /ui/index.html   the page (ui/index.html)
 *   /ui/<file>                  ui/<file>: the CSS and the JS
 *   /ui/history.json            the last hour of each group's size
 *                               (dashboard_history.h)
 *   anything else under /ui/    404
 *
 * The files are compiled into the binary (the ui/ entries of the embedded
 * table, scripts/embed-lua.lua); the page itself reads groups over the
 * JSON-RPC API (POST /) and events from GET /events, as any client would.
 * Every response carries a Content-Security-Policy that allows scripts,
 * styles and connections from this origin only, and Cache-Control:
 * no-cache (a new binary brings new files). docs/observability.md. */
#ifndef IK_NET_DASHBOARD_H
#define IK_NET_DASHBOARD_H

#include "base/err.h"
#include "loop/loop.h"
#include "net/server/rpc_server.h"
#include "spi/group.h"

#define IK_DASHBOARD_SAMPLE_MS 10000 /* a history sample of every group this often */

typedef struct ik_dashboard ik_dashboard_t;

/* Add the /ui routes to server and start sampling group (borrowed: must
 * outlive the dashboard) every IK_DASHBOARD_SAMPLE_MS, the first after a
 * second. The timer does not keep the loop alive. Returns 0 and *out, or
 * a negative code with err: then *out is NULL, or (the routes could not be
 * added) set and to be freed as on success. */
int ik_dashboard_new(ik_loop_t *loop, ik_rpc_server_t *server, ik_group_plugin_t group, ik_dashboard_t **out,
                     ik_err_t *err);

/* Stop sampling and free (later, if a sample is in flight). The routes
 * stay on the server: free the dashboard after the server, or with it. */
void ik_dashboard_free(ik_dashboard_t *d);

#endif
