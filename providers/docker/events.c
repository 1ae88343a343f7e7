/* instance-docker's events: while anyone watches (the group controller
 * does), the driver follows the engine's GET /events stream, filtered to
 * containers carrying the events label (infrakit.group by default) and to
 * the actions that end one: kill, die, destroy. Each tells the watchers at
 * once, with the instance ID and what happened ("exited with status 137"),
 * so a `docker kill`ed member is replaced without waiting for the poll.
 *
 * The engine tells of a death before its list of containers shows it
 * (the "die" event is sent before the container's new state is
 * committed), so a describe at once could still see the dead container
 * running and heal nothing until the poll. A die is therefore told once
 * an inspect of the container has answered: the engine answers it under
 * the container's lock, after the new state is committed.
 *
 * The stream ends when the engine stops or restarts: it is opened again
 * after a backoff (base/backoff.h: 100 ms doubling to 5 s, with jitter),
 * and when it is up again every watcher is told "describe again" (id
 * NULL), which covers whatever happened while it was down. */
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/log.h"
#include "base/mem.h"
#include "providers/docker/docker_internal.h"

#define IK_DOCKER_RECONNECT_BASE_MS 100
#define IK_DOCKER_RECONNECT_MAX_MS 5000

void ik__docker_notify(ik_docker_t *dp, const char *id, const char *why) {
  ik_watchers_notify(&dp->watchers, id, why);
}

typedef struct death {
  ik_docker_t *dp;
  char id[IK_DOCKER_ID_LEN + 1];
  char why[96];
} death_t;

/* The inspect after a die answered (whatever it said): now describe sees
 * the container stopped. */
static void on_death_settled(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  death_t *d = data;
  if (!d->dp->freed) ik__docker_notify(d->dp, d->id, d->why);
  ik_free(d);
}

static void tell_death(ik_docker_t *dp, const char *cid, const char *id, const char *why) {
  death_t *d = IK_NEW(death_t);
  d->dp = dp;
  snprintf(d->id, sizeof d->id, "%s", id);
  snprintf(d->why, sizeof d->why, "%s", why);
  char *path = ik_sprintf("/containers/%s/json", cid);
  ik_err_t e = {0};
  int rc = ik__docker_call(dp, "GET", path, NULL, 0, on_death_settled, d, &e);
  ik_free(path);
  if (rc < 0) {
    ik__docker_notify(dp, id, why);
    ik_free(d);
  }
}

void ik__docker_event_line(ik_docker_t *dp, const char *line, size_t len) {
  json_t *ev = json_loadb(line, len, 0, NULL);
  if (ev == NULL) {
    ik_log(IK_LOG_WARN, "instance-docker", "skipping an event that is not JSON", NULL);
    return;
  }
  const char *type = json_string_value(json_object_get(ev, "Type"));
  const char *action = json_string_value(json_object_get(ev, "Action"));
  json_t *actor = json_object_get(ev, "Actor");
  const char *cid = json_string_value(json_object_get(actor, "ID"));
  json_t *attrs = json_object_get(actor, "Attributes");
  if (type && strcmp(type, "container") == 0 && action && cid && strlen(cid) >= IK_DOCKER_ID_LEN) {
    char id[IK_DOCKER_ID_LEN + 1];
    memcpy(id, cid, IK_DOCKER_ID_LEN);
    id[IK_DOCKER_ID_LEN] = '\0';
    char why[96] = "";
    const char *code = json_string_value(json_object_get(attrs, "exitCode"));
    const char *sig = json_string_value(json_object_get(attrs, "signal"));
    if (strcmp(action, "die") == 0) snprintf(why, sizeof why, "exited with status %s", code ? code : "?");
    else if (strcmp(action, "kill") == 0) snprintf(why, sizeof why, "sent signal %s", sig ? sig : "?");
    else if (strcmp(action, "destroy") == 0) snprintf(why, sizeof why, "container removed");
    if (why[0]) {
      if (strcmp(action, "destroy") == 0) ik__docker_labels_forget(dp, id);
      ik_log(IK_LOG_DEBUG, "instance-docker", "container event", "id", id, "action", action, NULL);
      if (strcmp(action, "die") == 0) tell_death(dp, cid, id, why);
      else ik__docker_notify(dp, id, why);
    }
  }
  json_decref(ev);
}

static void connect_stream(ik_docker_t *dp);

static void on_reconnect_closed(uv_handle_t *h) {
  ik_docker_t *dp = h->data;
  ik_free(h);
  ik__docker_unref(dp);
}

static void on_reconnect(uv_timer_t *t) {
  ik_docker_t *dp = t->data;
  if (!dp->freed && ik_watchers_count(&dp->watchers) > 0 && dp->events_call == NULL) connect_stream(dp);
}

static void schedule_reconnect(ik_docker_t *dp) {
  if (dp->freed || ik_watchers_count(&dp->watchers) == 0) return;
  if (dp->reconnect == NULL) {
    dp->reconnect = IK_NEW(uv_timer_t);
    uv_timer_init(&dp->loop->uv, dp->reconnect);
    dp->reconnect->data = dp;
    ik__docker_ref(dp);
  }
  uint64_t r;
  if (uv_random(NULL, NULL, &r, sizeof r, 0, NULL) < 0) r = uv_hrtime();
  dp->events_failures++;
  int64_t delay =
      ik_backoff_ms(dp->events_failures, IK_DOCKER_RECONNECT_BASE_MS, IK_DOCKER_RECONNECT_MAX_MS, r);
  uv_timer_start(dp->reconnect, on_reconnect, (uint64_t)delay, 0);
}

static void on_piece(ik_http_call_t *call, long status, const char *chunk, size_t len, void *data) {
  ik_docker_t *dp = data;
  if (dp->freed) return;
  if (len == 0) { /* the stream is up */
    if (dp->events_connected_once && dp->events_failures > 0) {
      ik_log(IK_LOG_INFO, "instance-docker", "following the engine's events again", "host", dp->host, NULL);
      ik__docker_notify(dp, NULL, NULL); /* whatever happened meanwhile: describe again */
    }
    dp->events_connected_once = true;
    dp->events_failures = 0;
    return;
  }
  ik_buf_append(&dp->events_line, chunk, len);
  char *start = dp->events_line.data, *end = start + dp->events_line.len, *nl;
  while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
    if (nl > start) ik__docker_event_line(dp, start, (size_t)(nl - start));
    start = nl + 1;
  }
  size_t rest = (size_t)(end - start);
  memmove(dp->events_line.data, start, rest);
  dp->events_line.len = rest;
  dp->events_line.data[rest] = '\0';
}

static void on_stream_end(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  ik_docker_t *dp = data;
  dp->events_call = NULL;
  ik_buf_reset(&dp->events_line);
  if (!dp->freed && ik_watchers_count(&dp->watchers) > 0) {
    ik_err_t e = {0};
    if (err) {
      ik__docker_fail(dp, &e, "GET /events", 0, NULL, NULL, err);
    } else if (resp->status / 100 != 2) { /* the engine's own message */
      json_t *body = json_loadb(resp->body.data, resp->body.len, 0, NULL);
      ik__docker_fail(dp, &e, "GET /events", resp->status, body, &resp->body, NULL);
      json_decref(body);
    } else {
      ik_err_set(&e, IK_EIO, "instance-docker: the engine ended its event stream");
    }
    /* Said once per outage; the attempts that follow are debug. */
    ik_log(dp->events_failures == 0 ? IK_LOG_WARN : IK_LOG_DEBUG, "instance-docker",
           "lost the engine's events; reconnecting with backoff (the poll covers the gap)", "error", e.msg, NULL);
    schedule_reconnect(dp);
  }
  ik__docker_unref(dp);
}

static void connect_stream(ik_docker_t *dp) {
  json_t *filters = json_pack("{s:[s], s:[s,s,s], s:[s]}", "type", "container", "event", "kill", "die", "destroy",
                              "label", dp->events_label);
  ik_buf_t url = {0};
  ik_buf_printf(&url, "%s/events?filters=", dp->base_url);
  ik__docker_filters(&url, filters);
  json_decref(filters);
  ik_http_req_t req = {.method = "GET", .url = url.data, .unix_path = dp->unix_path, .on_data = on_piece};
  ik_err_t err = {0};
  int rc = ik__docker_http(dp, &err) ? ik_http_request(dp->http, &req, on_stream_end, dp, &dp->events_call, &err)
                                     : err.code;
  ik_buf_free(&url);
  if (rc < 0) {
    dp->events_call = NULL;
    ik_log(IK_LOG_WARN, "instance-docker", "cannot follow the engine's events", "error", err.msg, NULL);
    schedule_reconnect(dp);
    return;
  }
  ik__docker_ref(dp);
}

void ik__docker_events_update(ik_docker_t *dp) {
  bool want = !dp->freed && dp->base_url && ik_watchers_count(&dp->watchers) > 0;
  if (want && dp->events_call == NULL && (dp->reconnect == NULL || !uv_is_active((uv_handle_t *)dp->reconnect))) {
    connect_stream(dp);
  } else if (!want) {
    if (dp->events_call) ik_http_cancel(dp->events_call);
    if (dp->reconnect) {
      uv_close((uv_handle_t *)dp->reconnect, on_reconnect_closed);
      dp->reconnect = NULL;
    }
  }
}
