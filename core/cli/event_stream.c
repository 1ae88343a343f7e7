/* Following the event stream (event_stream.h). */
#include "cli/event_stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "net/discovery.h"

void ik_cli_events_stop(ik_cli_events_t *f) {
  if (f->stopped || f->ended) return;
  f->stopped = true;
  if (f->call) ik_http_cancel(f->call);
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
  if (line) f->on_event(f, seq, event, line);
  else if (live) f->on_event(f, 0, NULL, NULL);
}

static void on_data(ik_http_call_t *call, long status, const char *chunk, size_t len, void *data) {
  ik_cli_events_t *f = data;
  if (len == 0) {
    f->up = true;
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

static void on_end(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  ik_cli_events_t *f = data;
  f->ended = true;
  f->call = NULL;
  if (f->stopped || f->timed_out) return;
  const char *addr = ik_rpc_client_address(f->client);
  if (err && !f->up) f->err = *err;
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
  if (f->call) ik_http_cancel(f->call);
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
  char *path = ik_sprintf("events%s", q.len ? ik_buf_cstr(&q) : "");
  ik_buf_free(&q);
  char last_id[64];
  snprintf(last_id, sizeof last_id, "Last-Event-ID: %" PRIu64, f->since);
  const char *headers[] = {f->have_since ? last_id : NULL, NULL};
  rc = ik_rpc_client_stream(f->client, path, headers, on_data, on_end, f, &f->call, &f->err);
  ik_free(path);
  if (rc == 0 && f->timeout_ms) {
    uv_timer_init(&r->loop.uv, &f->timer);
    f->timer.data = f;
    f->timer_on = true;
    uv_timer_start(&f->timer, on_timeout, f->timeout_ms, 0);
  }
  if (rc == 0) {
    while (!f->ended && uv_run(&r->loop.uv, UV_RUN_ONCE)) {
    }
  }
  if (f->timer_on) {
    uv_close((uv_handle_t *)&f->timer, on_timer_closed);
    ik_cli_remote_wait(r, &f->closed, 1);
  }
  ik_rpc_client_free(f->client);
  f->client = NULL;
  ik_buf_free(&f->pending);
  if (rc < 0) return rc;
  if (f->stopped) return 0;
  if (f->timed_out) return IK_ETIMEDOUT;
  return f->err.code ? f->err.code : IK_EIO;
}
