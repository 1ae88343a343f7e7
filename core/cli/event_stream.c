/* Following the event stream (event_stream.h). */
#include "cli/event_stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/mem.h"
#include "net/discovery.h"

#define RECONNECT_BASE_MS 100
#define RECONNECT_MAX_MS 2000

/* Stop following: the call is cancelled (its end ends the run), or,
 * between two attempts, the run ends now. */
static void give_up(ik_cli_events_t *f) {
  if (f->call) {
    ik_http_cancel(f->call);
    return;
  }
  if (f->retry_on) uv_timer_stop(&f->retry);
  f->ended = true;
}

void ik_cli_events_stop(ik_cli_events_t *f) {
  if (f->stopped || f->ended) return;
  f->stopped = true;
  give_up(f);
}

/* One frame's lines: "id: N", "event: NAME", "data: LINE", or ": comment". */
static void on_frame(ik_cli_events_t *f, char *frame) {
  uint64_t seq = 0;
  const char *event = "", *line = NULL;
  bool live = false;
  for (char *save = NULL, *l = strtok_r(frame, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    size_t n = strlen(l);
    if (n && l[n - 1] == '\r') l[n - 1] = '\0';
    if (strncmp(l, "id: ", 4) == 0) seq = strtoull(l + 4, NULL, 10);
    else if (strncmp(l, "event: ", 7) == 0) event = l + 7;
    else if (strncmp(l, "data: ", 6) == 0) line = l + 6;
    else if (strcmp(l, ": live") == 0) live = true;
  }
  if (line) {
    f->last_seq = seq;
    f->seen_any = true;
    f->on_event(f, seq, event, line);
  } else if (live) f->on_event(f, 0, NULL, NULL);
}

static void on_data(ik_http_call_t *call, long status, const char *chunk, size_t len, void *data) {
  ik_cli_events_t *f = data;
  if (len == 0) {
    f->up = f->ever_up = true;
    f->attempts = 0;
    f->said = false;
    return;
  }
  ik_buf_append(&f->pending, chunk, len);
  for (;;) {
    if (f->stopped) return;
    char *end = f->pending.len ? memmem(f->pending.data, f->pending.len, "\n\n", 2) : NULL;
    if (end == NULL) return;
    size_t flen = (size_t)(end - f->pending.data);
    char *frame = ik_malloc(flen + 1);
    memcpy(frame, f->pending.data, flen);
    frame[flen] = '\0';
    memmove(f->pending.data, end + 2, f->pending.len - flen - 2);
    f->pending.len -= flen + 2;
    on_frame(f, frame);
    ik_free(frame);
  }
}

static int open_stream(ik_cli_events_t *f);
static void retry_later(ik_cli_events_t *f, const char *why);

static void on_retry(uv_timer_t *t) {
  ik_cli_events_t *f = t->data;
  if (f->stopped || f->timed_out || f->ended) return;
  if (open_stream(f) < 0) {
    retry_later(f, f->err.msg);
    f->err = (ik_err_t){0};
  }
}

/* The stream ended, or an attempt found no daemon: try again after the
 * backoff, saying so once per outage. */
static void retry_later(ik_cli_events_t *f, const char *why) {
  if (!f->said) {
    fprintf(stderr, "%s: stream ended; reconnecting… (%s)\n", ik_rpc_client_address(f->client), why);
    f->said = true;
  }
  int64_t delay = ik_backoff_ms(++f->attempts, RECONNECT_BASE_MS, RECONNECT_MAX_MS, uv_hrtime());
  uv_timer_start(&f->retry, on_retry, (uint64_t)delay, 0);
}

static void on_end(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  ik_cli_events_t *f = data;
  bool was_up = f->up;
  f->call = NULL;
  f->up = false;
  ik_buf_reset(&f->pending); /* a frame cut short comes again */
  if (f->stopped || f->timed_out) {
    f->ended = true;
    return;
  }
  /* Reconnect when it was up once and ended, or when an attempt after
   * that found no daemon (yet); not when a daemon answered otherwise. */
  if (f->reconnect && f->ever_up && (err || resp->status == 200)) {
    retry_later(f, err ? err->msg : "the daemon closed it");
    return;
  }
  f->ended = true;
  const char *addr = ik_rpc_client_address(f->client);
  if (err && !was_up) f->err = *err;
  else if (err) ik_err_set(&f->err, IK_EIO, "%s: the event stream ended: %s", addr, err->msg);
  else if (resp->status == 404)
    ik_err_set(&f->err, IK_ENOTFOUND, "%s: this plugin serves no event stream (GET /events: 404); the daemon's "
                                      "group plugin does",
               addr);
  else if (resp->status != 200)
    ik_err_set(&f->err, IK_EIO, "%s: GET /events: HTTP %ld: %.*s", addr, resp->status,
               (int)(resp->body.len && resp->body.data[resp->body.len - 1] == '\n' ? resp->body.len - 1 : resp->body.len),
               resp->body.len ? resp->body.data : "");
  else ik_err_set(&f->err, IK_EIO, "%s: the daemon closed the event stream", addr);
}

static void on_timeout(uv_timer_t *t) {
  ik_cli_events_t *f = t->data;
  if (f->stopped || f->ended) return;
  f->timed_out = true;
  give_up(f);
}

static void on_timer_closed(uv_handle_t *h) {
  ik_cli_events_t *f = h->data;
  f->closed++;
}

/* Append "&name=value" (percent-encoded) to b. */
static void add_param(ik_buf_t *b, const char *name, const char *value) {
  ik_buf_printf(b, "%c%s=", b->len ? '&' : '?', name);
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~,", *p))
      ik_buf_putc(b, (char)*p);
    else ik_buf_printf(b, "%%%02X", *p);
  }
}

/* One attempt: GET /events from where the last one stopped. */
static int open_stream(ik_cli_events_t *f) {
  bool resume = f->have_since || f->seen_any;
  uint64_t since = f->seen_any ? f->last_seq : f->since;
  char last_id[64];
  snprintf(last_id, sizeof last_id, "Last-Event-ID: %" PRIu64, since);
  const char *headers[] = {resume ? last_id : NULL, NULL};
  return ik_rpc_client_stream(f->client, f->path, headers, on_data, on_end, f, &f->call, &f->err);
}

int ik_cli_events_run(ik_cli_remote_t *r, ik_cli_events_t *f) {
  f->r = r;
  char lookup[256];
  const char *type;
  ik_plugin_name_split(f->plugin ? f->plugin : "group", lookup, sizeof lookup, &type);
  int rc = ik_rpc_client_open(r->http, r->dir, lookup, 0, &f->client, &f->err);
  if (rc < 0) return rc;
  ik_buf_t q = {0};
  if (f->group) add_param(&q, "group", f->group);
  if (f->kinds) add_param(&q, "kind", f->kinds);
  f->path = ik_sprintf("events%s", q.len ? ik_buf_cstr(&q) : "");
  ik_buf_free(&q);
  rc = open_stream(f);
  if (rc == 0 && f->timeout_ms) {
    uv_timer_init(&r->loop.uv, &f->timer);
    f->timer.data = f;
    f->timer_on = true;
    uv_timer_start(&f->timer, on_timeout, f->timeout_ms, 0);
  }
  if (rc == 0) {
    uv_timer_init(&r->loop.uv, &f->retry);
    f->retry.data = f;
    f->retry_on = true;
    while (!f->ended && uv_run(&r->loop.uv, UV_RUN_ONCE)) {
    }
  }
  if (f->timer_on) uv_close((uv_handle_t *)&f->timer, on_timer_closed);
  if (f->retry_on) uv_close((uv_handle_t *)&f->retry, on_timer_closed);
  ik_cli_remote_wait(r, &f->closed, (int)f->timer_on + (int)f->retry_on);
  ik_rpc_client_free(f->client);
  f->client = NULL;
  ik_free(f->path);
  f->path = NULL;
  ik_buf_free(&f->pending);
  if (rc < 0) return rc;
  if (f->stopped) return 0;
  if (f->timed_out) return IK_ETIMEDOUT;
  return f->err.code ? f->err.code : IK_EIO;
}
