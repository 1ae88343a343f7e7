/* GET /events: the event log as Server-Sent Events, on the group plugin's
 * listeners (its unix socket and --listen's TCP port).
 *
 *   id: <seq>
 *   event: <event name>
 *   data: <the events.jsonl line>
 *   (blank line)
 *
 * Query: group=ID (that group's events only), kind=NAME[,NAME] (those
 * events only), since=SEQ (as the Last-Event-ID header, which wins): what
 * the log holds after SEQ is sent first, read from events.jsonl, then the
 * stream goes on live, so a client that reconnects with the last id it saw
 * misses nothing. The comment ": live" marks where history ends (at once
 * without since): a reader that wants only the history stops there. A
 * comment line ": ping" every heartbeat keeps proxies
 * and clients from timing the stream out. A client that falls more than
 * the server's max_stream_backlog behind is disconnected (it reconnects
 * with Last-Event-ID and catches up from the file). */
#ifndef IK_ENGINE_EVENTS_HTTP_H
#define IK_ENGINE_EVENTS_HTTP_H

#include <stdint.h>

#include "base/err.h"
#include "engine/events.h"
#include "loop/loop.h"
#include "net/server/rpc_server.h"

#define IK_EVENTS_HEARTBEAT_MS 15000

typedef struct ik_events_http ik_events_http_t;

/* Serve ev (borrowed: outlives this). heartbeat_ms 0 = 15 s. */
ik_events_http_t *ik_events_http_new(ik_loop_t *loop, ik_events_t *ev, uint64_t heartbeat_ms);

/* Add GET /events to s. */
int ik_events_http_route(ik_events_http_t *eh, ik_rpc_server_t *s, ik_err_t *err);

/* End every stream and free. NULL is a no-op. */
void ik_events_http_free(ik_events_http_t *eh);

/* How many clients are streaming now (tests, status). */
size_t ik_events_http_clients(const ik_events_http_t *eh);

#endif
