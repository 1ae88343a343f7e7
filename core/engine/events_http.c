/* GET /events (events_http.h).
 *
 * One subscription to the event log fans out to every client. A client
 * that asked for history first reads events.jsonl (as much at a time as
 * its connection takes, then again on a short timer); meanwhile it ignores
 * live events, which are in the file too, and when the file is read to
 * its end it goes live: both happen on the loop thread, so nothing falls
 * between the two. Live frames are gathered per client and written once
 * per turn of the loop (an idle handle flushes them before the loop waits
 * again): a burst of events - a thousand instances provisioned - costs
 * each client one write, not one per event. */
#include "engine/events_http.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"

#define REPLAY_CHUNK (256 * 1024) /* replay no further ahead of the client than this */
#define REPLAY_RETRY_MS 10
#define FLUSH_NOW (64 * 1024) /* gathered more than this: write at once */

typedef struct client client_t;

struct client {
  ik_events_http_t *eh;
  ik_http_stream_t *st;
  char group[256];  /* "" = every group */
  bool by_group;    /* ?group= was given */
  char kinds[1024]; /* ",a,b," or "" = every event */
  uint64_t since;   /* replay what comes after this */
  FILE *replay;     /* reading history, else NULL (live) */
  ik_buf_t out;     /* live frames not yet written */
  client_t *prev, *next;
};

struct ik_events_http {
  ik_loop_t *loop;
  ik_events_t *ev;
  ik_events_sub_t *sub;
  uint64_t heartbeat_ms;
  uv_timer_t heartbeat, replay_timer;
  uv_idle_t flusher; /* active while some client has frames gathered */
  int open_timers;
  bool freeing;
  client_t *clients;
  size_t nclients;
  ik_buf_t frame;                /* the event being fanned out, built once */
  ik_events_http_relay_fn relay; /* a follower's: the leader's stream instead */
  void *relay_ctx;
};

static bool wanted(const client_t *cl, const char *group, const char *event) {
  if (cl->by_group && strcmp(cl->group, group ? group : "") != 0) return false;
  if (cl->kinds[0] == '\0') return true;
  char probe[300];
  snprintf(probe, sizeof probe, ",%s,", event ? event : "");
  return strstr(cl->kinds, probe) != NULL;
}

static void client_free(client_t *cl) {
  ik_events_http_t *eh = cl->eh;
  if (cl->prev) cl->prev->next = cl->next;
  else eh->clients = cl->next;
  if (cl->next) cl->next->prev = cl->prev;
  if (cl->replay) fclose(cl->replay);
  ik_buf_free(&cl->out);
  ik_free(cl);
  if (--eh->nclients == 0) uv_timer_stop(&eh->heartbeat);
}

static void on_stream_closed(ik_http_stream_t *st, void *data) { client_free(data); }

/* Write what cl gathered. Returns false when the client is gone. */
static bool flush_client(client_t *cl) {
  if (cl->out.len == 0) return true;
  int rc = ik_http_stream_write(cl->st, cl->out.data, cl->out.len);
  if (rc == 0) ik_buf_reset(&cl->out);
  return rc == 0;
}

static void on_flush(uv_idle_t *h) {
  ik_events_http_t *eh = h->data;
  uv_idle_stop(h);
  for (client_t *cl = eh->clients, *next; cl; cl = next) {
    next = cl->next;
    flush_client(cl);
  }
}

/* One event's frame into out: "id: SEQ\nevent: KIND\ndata: LINE\n\n". */
static void build_frame(ik_buf_t *out, uint64_t seq, const char *event, const char *line, size_t len) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%" PRIu64, seq);
  ik_buf_reserve(out, len + (size_t)n + strlen(event ? event : "") + 24);
  ik_buf_append(out, "id: ", 4);
  ik_buf_append(out, digits, (size_t)n);
  ik_buf_append(out, "\nevent: ", 8);
  ik_buf_puts(out, event ? event : "");
  ik_buf_append(out, "\ndata: ", 7);
  ik_buf_append(out, line, len);
  ik_buf_append(out, "\n\n", 2);
}

/* The comment that says history is over: what follows is live. Returns
 * false when the client is gone. */
static bool send_live(client_t *cl) {
  ik_buf_puts(&cl->out, ": live\n\n");
  return flush_client(cl);
}

/* Read history until the file's end or a chunk is queued. Returns false
 * when the client is gone. */
static bool replay_step(client_t *cl) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  bool alive = true;
  while (ik_http_stream_backlog(cl->st) + cl->out.len < REPLAY_CHUNK && (n = getline(&line, &cap, cl->replay)) > 0) {
    if (line[n - 1] != '\n') break; /* not a whole line (cannot happen: appends are whole lines) */
    line[--n] = '\0';
    uint64_t seq = ik_events_line_seq(line, (size_t)n);
    if (seq <= cl->since) continue;
    json_t *o = json_loadb(line, (size_t)n, 0, NULL);
    const char *group = json_string_value(json_object_get(o, "group"));
    const char *event = json_string_value(json_object_get(o, "event"));
    if (wanted(cl, group, event)) build_frame(&cl->out, seq, event, line, (size_t)n);
    json_decref(o);
    cl->since = seq;
    if (cl->out.len > FLUSH_NOW && !(alive = flush_client(cl))) break;
  }
  free(line);
  if (alive) alive = flush_client(cl);
  if (alive && feof(cl->replay)) { /* all read: live from here on */
    fclose(cl->replay);
    cl->replay = NULL;
    alive = send_live(cl);
  }
  return alive;
}

static void on_replay_timer(uv_timer_t *t) {
  ik_events_http_t *eh = t->data;
  bool more = false;
  for (client_t *cl = eh->clients, *next; cl; cl = next) {
    next = cl->next;
    if (cl->replay && replay_step(cl) && cl->replay) more = true;
  }
  if (!more) uv_timer_stop(&eh->replay_timer);
}

static void on_heartbeat(uv_timer_t *t) {
  ik_events_http_t *eh = t->data;
  for (client_t *cl = eh->clients, *next; cl; cl = next) {
    next = cl->next;
    if (flush_client(cl)) ik_http_stream_write(cl->st, ": ping\n\n", 8);
  }
}

/* The frame is built once, for the first client that wants the event, and
 * copied to the others. */
static void on_event(uint64_t seq, const char *group, const char *event, const char *line, size_t len, void *data) {
  ik_events_http_t *eh = data;
  ik_buf_reset(&eh->frame);
  for (client_t *cl = eh->clients, *next; cl; cl = next) {
    next = cl->next;
    if (cl->replay || seq <= cl->since || !wanted(cl, group, event)) continue;
    cl->since = seq;
    if (eh->frame.len == 0) build_frame(&eh->frame, seq, event, line, len);
    ik_buf_append(&cl->out, eh->frame.data, eh->frame.len);
    if (cl->out.len > FLUSH_NOW) flush_client(cl);
    else uv_idle_start(&eh->flusher, on_flush);
  }
}

static void respond_error(ik_http_request_t *req, int status, const char *msg) {
  ik_http_respond(req, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* A whole number for ?since= or Last-Event-ID. */
static bool parse_seq(const char *s, uint64_t *out) {
  char *end;
  if (s == NULL || *s < '0' || *s > '9') return false;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

static void on_events_request(ik_http_request_t *req, void *data) {
  ik_events_http_t *eh = data;
  client_t *cl = IK_NEW(client_t);
  char since[32], kinds[sizeof cl->kinds - 2];
  bool have_since = false;
  char msg[400];
  const char *last_id = ik_http_request_header(req, "Last-Event-ID");
  if (last_id) {
    if (!parse_seq(last_id, &cl->since)) {
      snprintf(msg, sizeof msg, "Last-Event-ID \"%.40s\": want an event's id (a whole number)\n", last_id);
      goto bad;
    }
    have_since = true;
  } else if (ik_http_query_param(req->query, "since", since, sizeof since)) {
    if (!parse_seq(since, &cl->since)) {
      snprintf(msg, sizeof msg, "since=%.40s: want an event's id (a whole number)\n", since);
      goto bad;
    }
    have_since = true;
  }
  cl->by_group = ik_http_query_param(req->query, "group", cl->group, sizeof cl->group);
  if (!cl->by_group && req->query && strstr(req->query, "group=")) {
    snprintf(msg, sizeof msg, "group: longer than %zu bytes\n", sizeof cl->group - 1);
    goto bad;
  }
  if (ik_http_query_param(req->query, "kind", kinds, sizeof kinds)) {
    if (kinds[0] == '\0') {
      snprintf(msg, sizeof msg, "kind: want event names separated by commas (kind=provisioned,plan)\n");
      goto bad;
    }
    snprintf(cl->kinds, sizeof cl->kinds, ",%s,", kinds);
  } else if (req->query && strstr(req->query, "kind=")) {
    snprintf(msg, sizeof msg, "kind: longer than %zu bytes\n", sizeof kinds - 1);
    goto bad;
  }
  if (eh->relay && eh->relay(eh->relay_ctx, req)) {
    ik_free(cl);
    return;
  }
  if (have_since && ik_events_path(eh->ev)) {
    cl->replay = fopen(ik_events_path(eh->ev), "re");
    if (cl->replay == NULL) {
      snprintf(msg, sizeof msg, "cannot read the event log %s\n", ik_events_path(eh->ev));
      ik_free(cl);
      respond_error(req, 500, msg);
      return;
    }
  } else if (!have_since) {
    cl->since = ik_events_last_seq(eh->ev); /* live only */
  }
  cl->eh = eh;
  cl->next = eh->clients;
  if (eh->clients) eh->clients->prev = cl;
  eh->clients = cl;
  if (eh->nclients++ == 0) uv_timer_start(&eh->heartbeat, on_heartbeat, eh->heartbeat_ms, eh->heartbeat_ms);
  cl->st = ik_http_stream_start(req, 200, "text/event-stream; charset=utf-8", "Cache-Control: no-cache\r\n",
                                on_stream_closed, cl);
  if (cl->st == NULL) { /* HEAD, or the client already went */
    client_free(cl);
    return;
  }
  if (cl->replay == NULL) { /* also tells the client the stream is up before any event */
    send_live(cl);
    return;
  }
  if (replay_step(cl) && cl->replay) uv_timer_start(&eh->replay_timer, on_replay_timer, REPLAY_RETRY_MS, REPLAY_RETRY_MS);
  return;

bad:
  ik_free(cl);
  respond_error(req, 400, msg);
}

ik_events_http_t *ik_events_http_new(ik_loop_t *loop, ik_events_t *ev, uint64_t heartbeat_ms) {
  ik_events_http_t *eh = IK_NEW(ik_events_http_t);
  eh->loop = loop;
  eh->ev = ev;
  eh->heartbeat_ms = heartbeat_ms ? heartbeat_ms : IK_EVENTS_HEARTBEAT_MS;
  uv_timer_init(&loop->uv, &eh->heartbeat);
  uv_timer_init(&loop->uv, &eh->replay_timer);
  uv_idle_init(&loop->uv, &eh->flusher);
  eh->heartbeat.data = eh->replay_timer.data = eh->flusher.data = eh;
  uv_unref((uv_handle_t *)&eh->heartbeat);
  uv_unref((uv_handle_t *)&eh->replay_timer);
  eh->open_timers = 3;
  eh->sub = ik_events_subscribe(ev, on_event, eh);
  return eh;
}

int ik_events_http_route(ik_events_http_t *eh, ik_rpc_server_t *s, ik_err_t *err) {
  return ik_rpc_server_route(s, "GET", "/events", false, on_events_request, eh, err);
}

void ik_events_http_set_relay(ik_events_http_t *eh, ik_events_http_relay_fn relay, void *ctx) {
  eh->relay = relay;
  eh->relay_ctx = ctx;
}

size_t ik_events_http_clients(const ik_events_http_t *eh) { return eh->nclients; }

static void on_timer_closed(uv_handle_t *h) {
  ik_events_http_t *eh = h->data;
  if (--eh->open_timers > 0) return;
  ik_buf_free(&eh->frame);
  ik_free(eh);
}

void ik_events_http_free(ik_events_http_t *eh) {
  if (eh == NULL) return;
  ik_events_unsubscribe(eh->ev, eh->sub);
  while (eh->clients) {
    client_t *cl = eh->clients;
    ik_http_stream_end(cl->st);
    client_free(cl);
  }
  uv_close((uv_handle_t *)&eh->heartbeat, on_timer_closed);
  uv_close((uv_handle_t *)&eh->replay_timer, on_timer_closed);
  uv_close((uv_handle_t *)&eh->flusher, on_timer_closed);
}
