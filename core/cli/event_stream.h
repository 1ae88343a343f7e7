/* Following the daemon's event stream (GET /events on the group plugin's
 * socket, core/engine/events_http.h) from a CLI command: `infrakit events`
 * and `infrakit group watch`. The stream's Server-Sent Events are parsed
 * here; the command sees one call per event. */
#ifndef IK_CLI_EVENT_STREAM_H
#define IK_CLI_EVENT_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "cli/remote.h"
#include "net/client/rpc_client.h"

typedef struct ik_cli_events ik_cli_events_t;

/* An event (seq, its name, its events.jsonl line: borrowed for the call),
 * or, with line NULL, the mark that history is over and what follows is
 * live. */
typedef void (*ik_cli_event_fn)(ik_cli_events_t *f, uint64_t seq, const char *event, const char *line);

struct ik_cli_events {
  /* Set by the caller. */
  const char *plugin; /* the group plugin ("lookup[/type]"); NULL = "group" */
  const char *group;  /* only this group's events, or NULL */
  const char *kinds;  /* only these ("a,b"), or NULL */
  bool have_since;    /* replay what the log holds after since first */
  uint64_t since;
  uint64_t timeout_ms; /* give up after this long (IK_ETIMEDOUT); 0 = never */
  ik_cli_event_fn on_event;
  void *data;
  /* Private. */
  ik_cli_remote_t *r;
  ik_rpc_client_t *client;
  ik_http_call_t *call;
  uv_timer_t timer;
  bool timer_on, timed_out, stopped, ended, up;
  int closed;
  ik_buf_t pending; /* bytes of a frame not yet complete */
  ik_err_t err;
};

/* Follow the stream on r's loop until ik_cli_events_stop(), the timeout,
 * or the stream's end. Returns 0 when stopped, IK_ETIMEDOUT after the
 * timeout, else the error (f->err says what: no daemon, the stream
 * ended). */
int ik_cli_events_run(ik_cli_remote_t *r, ik_cli_events_t *f);

/* End the stream from any callback on the loop; ik_cli_events_run returns 0. */
void ik_cli_events_stop(ik_cli_events_t *f);

#endif
