/* Relaying the leader's event stream (daemon_events_relay.h). */
#include "cli/daemon_events_relay.h"

#include <stdio.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/client/rpc_client.h"

#define RELAY_HEADER "X-Infrakit-Relay"

typedef struct relay {
  ik_http_stream_t *st;    /* the client's stream, until it ends */
  ik_rpc_client_t *client; /* to the leader */
  ik_http_call_t *call;    /* the leader's stream, until it ends */
  bool ending;             /* in on_leader_end: it frees */
} relay_t;

static void maybe_free(relay_t *r) {
  if (r->st || r->call) return;
  ik_rpc_client_free(r->client); /* safe inside its call's callback */
  ik_free(r);
}

/* The client went away (or fell too far behind): stop the leader's stream. */
static void on_client_gone(ik_http_stream_t *st, void *data) {
  relay_t *r = data;
  r->st = NULL;
  if (r->call) ik_http_cancel(r->call); /* on_leader_end frees */
  else if (!r->ending) maybe_free(r);
}

static void on_leader_data(ik_http_call_t *call, long status, const char *chunk, size_t len, void *data) {
  relay_t *r = data;
  if (len && r->st) ik_http_stream_write(r->st, chunk, len); /* a failure closes it: on_client_gone */
}

static void on_leader_end(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  relay_t *r = data;
  r->call = NULL;
  r->ending = true; /* a failed write below closes the stream (on_client_gone), which must not free r */
  if (r->st) {
    char note[300];
    int n = 0;
    if (err && err->code != IK_ECANCELED) n = snprintf(note, sizeof note, ": relay: %.250s\n\n", err->msg);
    else if (!err && resp->status != 200)
      n = snprintf(note, sizeof note, ": relay: the leader answered HTTP %ld\n\n", resp->status);
    if (n > 0) ik_http_stream_write(r->st, note, (size_t)n);
    if (r->st) ik_http_stream_end(r->st);
    r->st = NULL;
  }
  maybe_free(r);
}

bool ik_daemon_events_relay(ik_http_request_t *req, ik_http_client_t *http, const char *location) {
  if (ik_http_request_header(req, RELAY_HEADER)) return false;
  ik_rpc_client_t *c = NULL;
  ik_err_t err = {0};
  if (ik_rpc_client_new(http, location, 0, &c, &err) < 0) {
    ik_log(IK_LOG_WARN, "events", "cannot relay the leader's event stream; serving this daemon's", "leader",
           location, "error", err.msg, NULL);
    return false;
  }
  relay_t *r = IK_NEW(relay_t);
  r->client = c;
  char *path = ik_sprintf("events%s%s", req->query ? "?" : "", req->query ? req->query : "");
  const char *last_id = ik_http_request_header(req, "Last-Event-ID");
  char *last_h = last_id ? ik_sprintf("Last-Event-ID: %s", last_id) : NULL;
  const char *headers[] = {RELAY_HEADER ": 1", last_h, NULL};
  int rc = ik_rpc_client_stream(c, path, headers, on_leader_data, on_leader_end, r, &r->call, &err);
  ik_free(path);
  ik_free(last_h);
  if (rc < 0) {
    ik_log(IK_LOG_WARN, "events", "cannot relay the leader's event stream; serving this daemon's", "leader",
           location, "error", err.msg, NULL);
    ik_rpc_client_free(c);
    ik_free(r);
    return false;
  }
  char *extra = ik_sprintf("Cache-Control: no-cache\r\nX-Infrakit-Leader: %s\r\n", location);
  r->st = ik_http_stream_start(req, 200, "text/event-stream; charset=utf-8", extra, on_client_gone, r);
  ik_free(extra);
  if (r->st == NULL) ik_http_cancel(r->call); /* HEAD, or the client went: on_leader_end frees */
  return true;
}
