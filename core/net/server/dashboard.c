/* The /ui routes and the history sampler (see dashboard.h). */
#include "net/server/dashboard.h"

#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "loop/timer.h"
#include "lua/embedded.h" /* the table only: no Lua here */
#include "net/server/dashboard_history.h"

struct ik_dashboard {
  ik_group_plugin_t group;
  ik_dashboard_history_t *history;
  ik_timer_t *timer;
  int pending;  /* group calls in flight: their callbacks still come */
  bool closing; /* freed by the owner; the last callback frees it */
};

/* Scripts, styles, images and connections from this origin only: no
 * inline script, no remote script, no framing. */
#define DASHBOARD_HEADERS                                                                                    \
  "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"                      \
  "X-Content-Type-Options: nosniff\r\n"                                                                      \
  "Referrer-Policy: no-referrer\r\n"                                                                         \
  "Cache-Control: no-cache\r\n"

/* --- files ---------------------------------------------------------------- */

static const char *content_type(const char *name) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
  };
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0) return types[i].type;
  return "application/octet-stream";
}

static void not_found(ik_http_request_t *req) {
  static const char msg[] = "not found\n";
  ik_http_respond_headers(req, 404, "text/plain; charset=utf-8", DASHBOARD_HEADERS, msg, sizeof msg - 1);
}

static void serve_history(ik_dashboard_t *d, ik_http_request_t *req) {
  json_t *h = ik_dashboard_history_json(d->history, IK_DASHBOARD_SAMPLE_MS);
  size_t len;
  char *body = ik_json_dump_go(h, true, &len);
  json_decref(h);
  ik_http_respond_headers(req, 200, "application/json", DASHBOARD_HEADERS, body, len);
  free(body);
}

/* GET /ui and GET /ui/...: the page, its files, its history. */
static void on_ui(ik_http_request_t *req, void *data) {
  ik_dashboard_t *d = data;
  const char *p = req->path;
  if (strcmp(p, "/ui/history.json") == 0) return serve_history(d, req);
  if (strcmp(p, "/ui") == 0 || strcmp(p, "/ui/") == 0) p = "/ui/index.html";
  /* One level: ui/<file>, never a path that climbs or an entry outside ui/. */
  if (strchr(p + 4, '/') != NULL) return not_found(req);
  const ik_lua_embedded_t *e = ik_lua_embedded_find(p + 1);
  if (e == NULL) return not_found(req);
  ik_http_respond_headers(req, 200, content_type(e->name), DASHBOARD_HEADERS, (const char *)e->code, e->len);
}

/* --- history sampler -------------------------------------------------------- */

static void release(ik_dashboard_t *d) {
  d->pending--;
  if (d->closing && d->pending == 0) {
    ik_dashboard_history_free(d->history);
    ik_free(d);
  }
}

static int64_t json_int(const json_t *obj, const char *key) {
  return (int64_t)json_integer_value(json_object_get(obj, key));
}

/* One group's Status: its summary is the sample. */
static void on_status(json_t *result, const ik_err_t *err, void *data) {
  ik_dashboard_t *d = data;
  const char *id = json_string_value(json_object_get(result, "ID"));
  if (!d->closing && err == NULL && id) {
    const json_t *sum = json_object_get(result, "Summary");
    ik_dashboard_sample_t s = {.t_ms = (int64_t)(ik_loop_walltime() * 1000.0),
                               .desired = json_int(sum, "Desired"),
                               .current = json_int(sum, "Current"),
                               .available = json_int(sum, "Available"),
                               .updated = json_int(sum, "Updated")};
    ik_dashboard_history_add(d->history, id, &s);
  }
  release(d);
}

/* The committed groups: forget the others, ask each for its status. */
static void on_inspected(json_t *result, const ik_err_t *err, void *data) {
  ik_dashboard_t *d = data;
  if (d->closing || err != NULL || !json_is_array(result)) {
    if (err) ik_log(IK_LOG_DEBUG, "dashboard", "sample skipped", "error", err->msg, NULL);
    return release(d);
  }
  json_t *ids = json_array();
  size_t i;
  json_t *spec;
  json_array_foreach(result, i, spec) {
    json_t *id = json_object_get(spec, "ID");
    if (json_is_string(id)) json_array_append(ids, id);
  }
  ik_dashboard_history_retain(d->history, ids);
  json_t *id;
  json_array_foreach(ids, i, id) {
    ik_err_t e = {0};
    d->pending++;
    if (d->group.vt->status(d->group.self, json_string_value(id), on_status, d, &e) < 0) d->pending--;
  }
  json_decref(ids);
  release(d);
}

static void on_tick(ik_timer_t *t, void *data) {
  ik_dashboard_t *d = data;
  if (d->pending > 0 || d->group.vt->status == NULL) return; /* the last round is not over; or nothing to ask */
  ik_err_t e = {0};
  d->pending++;
  if (d->group.vt->inspect(d->group.self, on_inspected, d, &e) < 0) d->pending--;
}

/* --- life ------------------------------------------------------------------- */

int ik_dashboard_new(ik_loop_t *loop, ik_rpc_server_t *server, ik_group_plugin_t group, ik_dashboard_t **out,
                     ik_err_t *err) {
  *out = NULL;
  ik_dashboard_t *d = IK_NEW(ik_dashboard_t);
  d->group = group;
  d->history = ik_dashboard_history_new();
  int rc = ik_timer_start(loop, 1000, IK_DASHBOARD_SAMPLE_MS, on_tick, d, &d->timer, err);
  if (rc < 0) {
    ik_dashboard_history_free(d->history);
    ik_free(d);
    return rc;
  }
  ik_timer_ref(d->timer, 0);
  *out = d;
  /* On failure the server's routes may hold d: the caller frees the
   * server, and d after it, as on success. */
  rc = ik_rpc_server_route(server, "GET", "/ui", false, on_ui, d, err);
  if (rc == 0) rc = ik_rpc_server_route(server, "GET", "/ui/", true, on_ui, d, err);
  return rc;
}

void ik_dashboard_free(ik_dashboard_t *d) {
  if (d == NULL) return;
  ik_timer_stop(d->timer);
  d->closing = true;
  d->pending++;
  release(d);
}
