/* GET /events on a follower, with several managers (docs/ha.md): the
 * leader's event stream relayed as it comes, since the leader's log - its
 * groups' events - is what an operator wants to see from any daemon (a
 * follower's own log holds only its leadership changes).
 *
 * The request (query and Last-Event-ID as the client sent them) goes to
 * the leader's group plugin location with the header X-Infrakit-Relay, and
 * its body is piped, byte for byte, into the client's stream. When the
 * leader's stream ends (the leader stopped or lost the lease) the client's
 * ends too: it reconnects with Last-Event-ID (`infrakit events --follow`
 * does) and is relayed to whoever leads then, or served the local log when
 * this daemon leads. A request that carries X-Infrakit-Relay is never
 * relayed again (two daemons that disagree on the leader do not bounce it
 * between them). */
#ifndef IK_CLI_DAEMON_EVENTS_RELAY_H
#define IK_CLI_DAEMON_EVENTS_RELAY_H

#include <stdbool.h>

#include "net/client/http_client.h"
#include "net/server/http_server.h"

/* Relay req (an already validated GET /events) to the leader at location
 * (tcp://..., unix://...) over http (borrowed: outlives the relays, whose
 * calls it cancels when freed). Returns true when it took req (it responds
 * and streams), false when req should be served from the local log: it
 * was relayed already, or the leader cannot be called (logged). */
bool ik_daemon_events_relay(ik_http_request_t *req, ik_http_client_t *http, const char *location);

#endif
