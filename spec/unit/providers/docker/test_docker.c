/* providers/docker: the driver's requests to the Engine API and how it
 * maps the answers, against answers recorded from a real dockerd 20.10
 * (spec/fixtures/docker/NAME.http: status line, headers and body as the
 * engine sent them), served by a fake engine on a unix socket (the
 * project's HTTP server). Covers provision (labels, name, networks, pull,
 * Init, a pet's name),
 * describe, label, destroy, engine errors passed on, and the event stream
 * with its reconnection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "loop/loop.h"
#include "net/server/http_server.h"
#include "providers/docker/docker.h"
#include "spi_slot.h"

#define FIXTURES "spec/fixtures/docker/"
#define MAX_REQS 32

/* "METHOD /v1.41/path" (fnmatch pattern) -> the recorded answer, for
 * the first `times` requests that match (0: every one). */
typedef struct route {
  const char *pattern;
  const char *fixture;
  int times;
} route_t;

typedef struct seen_req {
  char method[8];
  char path[256];
  char query[512];
  json_t *body;
} seen_req_t;

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  char sock[96];
  char host[128];
  ik_http_server_t *engine;
  const route_t *routes;
  int used[16]; /* per route: requests answered */
  seen_req_t reqs[MAX_REQS];
  int nreqs;
  ik_instance_plugin_t pl;
  /* watch */
  int events;
  char ids[16][16];
  char whys[16][64];
  int resyncs; /* notifications with no ID */
  uv_timer_t tick;
} fixture_t;

static void on_tick(uv_timer_t *t) { (void)t; }

static void run_until(fixture_t *fx, const int *count, int want) {
  for (int i = 0; *count < want && i < 200000; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_true(*count >= want);
}

/* The recorded answer: status and body (after the blank line). */
static void load_fixture(const char *name, int *status, ik_buf_t *body, char *ctype, size_t ctype_len) {
  char path[256];
  snprintf(path, sizeof path, FIXTURES "%s", name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail_msg("no fixture %s (tests run from the repository root)", path);
  ik_buf_t all = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) ik_buf_append(&all, chunk, n);
  fclose(f);
  assert_int_equal(sscanf(all.data, "HTTP/1.1 %d", status), 1);
  char *sep = memmem(all.data, all.len, "\r\n\r\n", 4);
  assert_non_null(sep);
  const char *ct = strcasestr(all.data, "\r\nContent-Type: ");
  ctype[0] = '\0';
  if (ct && ct < sep) snprintf(ctype, ctype_len, "%.*s", (int)strcspn(ct + 16, "\r"), ct + 16);
  size_t off = (size_t)(sep - all.data) + 4;
  ik_buf_append(body, all.data + off, all.len - off);
  ik_buf_free(&all);
}

static void engine_handler(ik_http_request_t *req, void *data) {
  fixture_t *fx = data;
  if (fx->nreqs < MAX_REQS) {
    seen_req_t *r = &fx->reqs[fx->nreqs++];
    snprintf(r->method, sizeof r->method, "%s", req->method);
    snprintf(r->path, sizeof r->path, "%s", req->path);
    snprintf(r->query, sizeof r->query, "%s", req->query ? req->query : "");
    r->body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
  }
  char line[300];
  snprintf(line, sizeof line, "%s %s", req->method, req->path);
  for (const route_t *rt = fx->routes; rt && rt->pattern; rt++) {
    if (fnmatch(rt->pattern, line, 0) != 0) continue;
    int *used = &fx->used[rt - fx->routes];
    if (rt->times > 0 && *used >= rt->times) continue;
    (*used)++;
    int status = 0;
    ik_buf_t body = {0};
    char ctype[128];
    load_fixture(rt->fixture, &status, &body, ctype, sizeof ctype);
    ik_http_respond(req, status, ctype[0] ? ctype : NULL, body.data ? body.data : "", body.len);
    ik_buf_free(&body);
    return;
  }
  static const char none[] = "{\"message\":\"no route in the fake engine\"}";
  ik_http_respond(req, 501, "application/json", none, sizeof none - 1);
}

static fixture_t *fx_start(const route_t *routes) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-dockerunit-XXXXXX");
  assert_non_null(mkdtemp(fx->dir));
  snprintf(fx->sock, sizeof fx->sock, "%s/engine.sock", fx->dir);
  snprintf(fx->host, sizeof fx->host, "unix://%s", fx->sock);
  assert_int_equal(ik_loop_init(&fx->loop, &err), 0);
  fx->routes = routes;
  ik_http_server_opts_t so = {.unix_path = fx->sock};
  assert_int_equal(ik_http_server_start(&fx->loop, &so, engine_handler, fx, &fx->engine, &err), 0);
  char store[128];
  snprintf(store, sizeof store, "%s/state", fx->dir);
  ik_docker_opts_t o = {.host = fx->host, .dir = store, .stop_grace_ms = 2000};
  if (ik_docker_provider_new(&fx->loop, &o, &fx->pl, &err) < 0) fail_msg("%s", err.msg);
  uv_timer_init(&fx->loop.uv, &fx->tick);
  uv_timer_start(&fx->tick, on_tick, 5, 5);
  return fx;
}

static void fx_finish(fixture_t *fx) {
  fx->pl.vt->free(fx->pl.self);
  if (fx->engine) ik_http_server_close(fx->engine);
  uv_close((uv_handle_t *)&fx->tick, NULL);
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&fx->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  for (int i = 0; i < fx->nreqs; i++) json_decref(fx->reqs[i].body);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  assert_int_equal(system(cmd), 0);
  ik_free(fx);
}

/* Query parameter name's value, %-decoded (enough for the tests). */
static void query_param(const char *query, const char *name, char *out, size_t len) {
  out[0] = '\0';
  size_t n = strlen(name);
  for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
    if (strncmp(p, name, n) != 0 || p[n] != '=') continue;
    size_t o = 0;
    for (const char *q = p + n + 1; *q && *q != '&' && o + 1 < len; q++) {
      if (*q == '%' && q[1] && q[2]) {
        char hex[3] = {q[1], q[2], 0};
        out[o++] = (char)strtol(hex, NULL, 16);
        q += 2;
      } else {
        out[o++] = *q == '+' ? ' ' : *q;
      }
    }
    out[o] = '\0';
    return;
  }
}

#define ID1 "7795ba3fcd10"
#define CID1 "7795ba3fcd10f22f34625da54255aea1d6e364521623d3c6d3f43a0afc5c071f"

static json_t *spec_of(const char *json_text) {
  json_error_t je;
  json_t *v = json_loads(json_text, 0, &je);
  if (v == NULL) fail_msg("bad test JSON: %s", je.text);
  return v;
}

/* --- provision ------------------------------------------------------------ */

static void provision_creates_with_merged_labels_and_the_logical_id_as_name(void **state) {
  static const route_t routes[] = {
      {"POST /v1.41/containers/create", "create.http", 0},
      {"POST /v1.41/containers/" CID1 "/start", "start.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  json_t *spec = spec_of("{\"Properties\": {\"Config\": {\"Image\": \"bb:1\", \"Cmd\": [\"sleep\", \"3600\"],"
                         " \"Labels\": {\"a\": \"config\", \"b\": \"config\", \"c\": \"config\"}},"
                         " \"HostConfig\": {\"NetworkMode\": \"none\"}, \"Tags\": {\"c\": \"tags\"}},"
                         " \"Tags\": {\"infrakit.group\": \"web\", \"b\": \"spec\", \"c\": \"spec\"},"
                         " \"LogicalID\": \"web-1\"}");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  json_decref(spec);
  if (s.err.code) fail_msg("%s", s.err.msg);
  assert_string_equal(json_string_value(s.result), ID1); /* InfraKit's: 12 hex */
  assert_int_equal(fx->nreqs, 2);
  assert_string_equal(fx->reqs[0].method, "POST");
  assert_string_equal(fx->reqs[0].path, "/v1.41/containers/create");
  assert_string_equal(fx->reqs[0].query, "name=web-1");
  json_t *want = spec_of("{\"Image\": \"bb:1\", \"Cmd\": [\"sleep\", \"3600\"],"
                         " \"Labels\": {\"a\": \"config\", \"b\": \"spec\", \"c\": \"tags\", \"infrakit.group\": \"web\"},"
                         " \"HostConfig\": {\"NetworkMode\": \"none\"}}");
  assert_true(json_equal(fx->reqs[0].body, want));
  json_decref(want);
  assert_string_equal(fx->reqs[1].path, "/v1.41/containers/" CID1 "/start");
  slot_clear(&s);
  fx_finish(fx);
}

static void provision_pulls_a_missing_image_and_says_when_no_registry_answers(void **state) {
  static const route_t routes[] = {
      {"POST /v1.41/containers/create", "create_no_image.http", 0},
      {"POST /v1.41/images/create", "pull_no_registry.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  json_t *spec = spec_of("{\"Properties\": {\"Config\": {\"Image\": \"bb:2\"}}}");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  json_decref(spec);
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  assert_non_null(strstr(s.err.msg, "image bb:2 is not on the engine and could not be pulled: Get "
                                    "\"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io"));
  assert_int_equal(fx->nreqs, 2);
  assert_string_equal(fx->reqs[0].query, ""); /* cattle: the engine names it */
  assert_string_equal(fx->reqs[1].path, "/v1.41/images/create");
  assert_string_equal(fx->reqs[1].query, "fromImage=bb&tag=2");
  slot_clear(&s);
  fx_finish(fx);
}

static void provision_init_failing_removes_the_container_and_reports_its_output(void **state) {
  static const route_t routes[] = {
      {"POST /v1.41/containers/create", "create.http", 0},
      {"POST /v1.41/containers/*/start", "start.http", 0},
      {"POST /v1.41/containers/*/exec", "exec_create.http", 0},
      {"POST /v1.41/exec/*/start", "exec_start.http", 0},
      {"GET /v1.41/exec/*/json", "exec_inspect.http", 0},
      {"DELETE /v1.41/containers/*", "remove.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  json_t *spec = spec_of("{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}}, \"LogicalID\": \"web-1\","
                         " \"Init\": \"echo hello; echo oops >&2; exit 3\"}");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  json_decref(spec);
  assert_int_equal(s.err.code, IK_EDRIVER);
  assert_non_null(strstr(s.err.msg, "Init exited with status 3 in container " ID1));
  assert_non_null(strstr(s.err.msg, ": oops hello")); /* both streams, in the engine's order, on one line */
  assert_int_equal(fx->nreqs, 6);
  json_t *want = spec_of("{\"AttachStdout\": true, \"AttachStderr\": true,"
                         " \"Cmd\": [\"/bin/sh\", \"-c\", \"echo hello; echo oops >&2; exit 3\"]}");
  assert_true(json_equal(fx->reqs[2].body, want));
  json_decref(want);
  assert_string_equal(fx->reqs[5].method, "DELETE");
  assert_string_equal(fx->reqs[5].path, "/v1.41/containers/" CID1);
  assert_string_equal(fx->reqs[5].query, "force=1&v=1");
  slot_clear(&s);
  fx_finish(fx);
}

static void provision_init_succeeding_gives_the_id(void **state) {
  static const route_t routes[] = {
      {"POST /v1.41/containers/create", "create.http", 0},
      {"POST /v1.41/containers/*/start", "start.http", 0},
      {"POST /v1.41/containers/*/exec", "exec_create_ok.http", 0},
      {"POST /v1.41/exec/*/start", "exec_start_ok.http", 0},
      {"GET /v1.41/exec/*/json", "exec_inspect_ok.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  json_t *spec = spec_of("{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}}, \"Init\": \"echo ready\"}");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  json_decref(spec);
  if (s.err.code) fail_msg("%s", s.err.msg);
  assert_string_equal(json_string_value(s.result), ID1);
  assert_int_equal(fx->nreqs, 5);
  slot_clear(&s);
  fx_finish(fx);
}

static void provision_passes_the_engines_conflict_message_on(void **state) {
  static const route_t routes[] = {{"POST /v1.41/containers/create", "create_conflict.http", 0}, {NULL, NULL, 0}};
  fixture_t *fx = fx_start(routes);
  json_t *spec = spec_of("{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}}, \"LogicalID\": \"web-1\"}");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  json_decref(spec);
  assert_int_equal(s.err.code, IK_EEXIST);
  assert_non_null(strstr(s.err.msg, "create container web-1: Conflict. The container name \"/web-1\" is already in use"));
  assert_non_null(strstr(s.err.msg, "(HTTP 409)"));
  slot_clear(&s);
  fx_finish(fx);
}

static void provision_of_a_pet_frees_its_name_from_its_dead_predecessor(void **state) {
  static const route_t routes[] = {
      {"POST /v1.41/containers/create", "create_conflict.http", 1},
      {"GET /v1.41/containers/web-2/json", "inspect_dead.http", 0},
      {"DELETE /v1.41/containers/9c201001771a*", "remove.http", 0},
      {"POST /v1.41/containers/create", "create.http", 0},
      {"POST /v1.41/containers/*/start", "start.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  json_t *spec = spec_of("{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}}, \"LogicalID\": \"web-2\","
                         " \"Tags\": {\"infrakit.group\": \"web\"}}");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  if (s.err.code) fail_msg("%s", s.err.msg);
  assert_string_equal(json_string_value(s.result), ID1);
  assert_int_equal(fx->nreqs, 5);
  assert_string_equal(fx->reqs[2].method, "DELETE");
  assert_string_equal(fx->reqs[3].query, "name=web-2");
  slot_clear(&s);
  /* Held by a member of another group (or a running one): a conflict, as the engine says. */
  json_decref(spec);
  spec = spec_of("{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}}, \"LogicalID\": \"web-2\","
                 " \"Tags\": {\"infrakit.group\": \"db\"}}");
  memset(fx->used, 0, sizeof fx->used);
  fx->nreqs = 0;
  for (int i = 0; i < 5; i++) json_decref(fx->reqs[i].body), fx->reqs[i].body = NULL;
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EEXIST);
  assert_non_null(strstr(s.err.msg, "Conflict. The container name"));
  assert_int_equal(fx->nreqs, 2); /* create, inspect: nothing removed */
  json_decref(spec);
  slot_clear(&s);
  fx_finish(fx);
}

#define NET "a48ae1390bb804efb0d551a45bef4313501d0a2a84c7021084c37f3a45f71d05"

static void provision_attaches_networks_creating_a_missing_one(void **state) {
  static const route_t routes[] = {
      {"POST /v1.41/containers/create", "create.http", 0},
      {"GET /v1.41/networks", "networks_none.http", 1},
      {"POST /v1.41/networks/create", "network_create.http", 0},
      {"GET /v1.41/networks", "networks_one.http", 0},
      {"POST /v1.41/networks/" NET "/connect", "network_connect.http", 0},
      {"POST /v1.41/containers/*/start", "start.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  json_t *spec = spec_of("{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"},"
                         " \"NetworkAttachments\": [{\"Name\": \"backend\", \"Driver\": \"bridge\"},"
                         " {\"Name\": \"backend\"}]}}");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &e_));
  json_decref(spec);
  if (s.err.code) fail_msg("%s", s.err.msg);
  /* create; list (none), create the network, connect; list (found), connect; start */
  static const char *const want[] = {
      "POST /v1.41/containers/create",
      "GET /v1.41/networks",
      "POST /v1.41/networks/create",
      "POST /v1.41/networks/" NET "/connect",
      "GET /v1.41/networks",
      "POST /v1.41/networks/" NET "/connect",
      "POST /v1.41/containers/" CID1 "/start",
  };
  assert_int_equal(fx->nreqs, 7);
  for (int i = 0; i < 7; i++) {
    char line[300];
    snprintf(line, sizeof line, "%s %s", fx->reqs[i].method, fx->reqs[i].path);
    assert_string_equal(line, want[i]);
  }
  char filters[256];
  query_param(fx->reqs[1].query, "filters", filters, sizeof filters);
  json_t *got = json_loads(filters, 0, NULL);
  json_t *wantj = spec_of("{\"name\": [\"backend\"], \"driver\": [\"bridge\"]}");
  assert_true(json_equal(got, wantj));
  json_decref(got);
  json_decref(wantj);
  wantj = spec_of("{\"Name\": \"backend\", \"Attachable\": true, \"CheckDuplicate\": true, \"Driver\": \"bridge\"}");
  assert_true(json_equal(fx->reqs[2].body, wantj));
  json_decref(wantj);
  wantj = json_pack("{s:s}", "Container", CID1);
  assert_true(json_equal(fx->reqs[3].body, wantj));
  json_decref(wantj);
  slot_clear(&s);
  fx_finish(fx);
}

static void provision_refuses_bad_specs_naming_the_field(void **state) {
  static const struct {
    const char *spec;
    const char *msg;
  } cases[] = {
      {"{}", "Properties: want an object with Config"},
      {"{\"Properties\": {\"Config\": 3}}", "Properties.Config: want an object"},
      {"{\"Properties\": {\"Config\": {\"Cmd\": [\"sh\"]}}}", "Properties.Config.Image: want the image to run"},
      {"{\"Properties\": {\"Config\": {\"Image\": \"\"}}}", "Properties.Config.Image: want the image to run"},
      {"{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}, \"Tags\": {\"a\": 1}}}", "Properties.Tags"},
      {"{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}, \"HostConfig\": []}}", "Properties.HostConfig: want an object"},
      {"{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}, \"NetworkAttachments\": [{\"Driver\": \"x\"}]}}",
       "Properties.NetworkAttachments[0].Name: want a network name"},
      {"{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}}, \"LogicalID\": \"a\"}", "Spec.LogicalID: want a container name"},
      {"{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}}, \"LogicalID\": \"a/b\"}", "Spec.LogicalID: want a container name"},
      {"{\"Properties\": {\"Config\": {\"Image\": \"bb:1\"}}, \"Init\": 3}", "Spec.Init: want a string"},
  };
  fixture_t *fx = fx_start(NULL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *spec = spec_of(cases[i].spec);
    ik_err_t err = {0};
    slot_t s = {0};
    int rc = fx->pl.vt->provision(fx->pl.self, spec, on_slot, &s, &err);
    json_decref(spec);
    assert_int_equal(rc, IK_EINVAL);
    if (strstr(err.msg, cases[i].msg) == NULL) fail_msg("case %zu: %s", i, err.msg);
  }
  assert_int_equal(fx->nreqs, 0); /* refused before asking the engine */
  fx_finish(fx);
}

static void validate_checks_properties_without_the_engine(void **state) {
  fixture_t *fx = fx_start(NULL);
  json_t *good = spec_of("{\"Config\": {\"Image\": \"bb:1\"}, \"HostConfig\": {\"NetworkMode\": \"host\"}}");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->validate(fx->pl.self, good, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  json_decref(good);
  json_t *bad = spec_of("{\"Config\": {\"Image\": 7}}");
  ik_err_t err = {0};
  assert_int_equal(fx->pl.vt->validate(fx->pl.self, bad, on_slot, &s, &err), IK_EINVAL);
  assert_non_null(strstr(err.msg, "Properties.Config.Image: want the image to run, a non-empty string, got 7"));
  json_decref(bad);
  slot_clear(&s);
  assert_int_equal(fx->nreqs, 0);
  fx_finish(fx);
}

/* --- describe, label, destroy ---------------------------------------------- */

static void describe_maps_containers_and_merges_the_label_store(void **state) {
  static const route_t routes[] = {
      {"GET /v1.41/containers/json", "list.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  json_t *tags = json_pack("{s:s}", "infrakit.group", "web");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->describe(fx->pl.self, tags, true, on_slot, &s, &e_));
  if (s.err.code) fail_msg("%s", s.err.msg);
  assert_int_equal(json_array_size(s.result), 1);
  json_t *d = json_array_get(s.result, 0);
  assert_string_equal(json_string_value(json_object_get(d, "ID")), ID1);
  assert_string_equal(json_string_value(json_object_get(d, "LogicalID")), "web-1");
  json_t *want = json_pack("{s:s, s:s, s:s}", "infrakit.config.hash", "abc", "infrakit.group", "web", "tier", "front");
  assert_true(json_equal(json_object_get(d, "Tags"), want));
  json_decref(want);
  assert_string_equal(json_string_value(json_object_get(json_object_get(d, "Properties"), "Image")), "bb:1");
  /* The engine filtered on status and labels: InfraKit's filter. */
  assert_string_equal(fx->reqs[0].path, "/v1.41/containers/json");
  char filters[256];
  query_param(fx->reqs[0].query, "filters", filters, sizeof filters);
  json_t *got = json_loads(filters, 0, NULL);
  want = spec_of("{\"status\": [\"created\", \"running\"], \"label\": [\"infrakit.group=web\"]}");
  assert_true(json_equal(got, want));
  json_decref(got);
  json_decref(want);
  json_decref(tags);
  slot_clear(&s);
  fx_finish(fx);
}

static void label_is_kept_by_the_driver_and_merged_on_describe(void **state) {
  static const route_t routes[] = {
      {"GET /v1.41/containers/json", "list.http", 0},
      {"GET /v1.41/containers/web-1/json", "inspect.http", 0}, /* the engine's answer names another ID */
      {"GET /v1.41/containers/nosuch/json", "remove_missing.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  /* Label an ID the list shows: the store is written, describe merges it. */
  char path[160];
  snprintf(path, sizeof path, "%s/state/labels.json", fx->dir);
  FILE *f = fopen(path, "w");
  fputs("{\"" ID1 "\": {\"infrakit.config.hash\": \"bootstrap\"}}", f);
  fclose(f);
  fx->pl.vt->free(fx->pl.self);
  char store[128];
  snprintf(store, sizeof store, "%s/state", fx->dir);
  ik_docker_opts_t o = {.host = fx->host, .dir = store};
  ik_err_t err = {0};
  assert_int_equal(ik_docker_provider_new(&fx->loop, &o, &fx->pl, &err), 0);
  json_t *tags = json_pack("{s:s, s:s}", "infrakit.group", "web", "infrakit.config.hash", "bootstrap");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->describe(fx->pl.self, tags, false, on_slot, &s, &e_));
  json_decref(tags);
  assert_int_equal(json_array_size(s.result), 1);
  json_t *t = json_object_get(json_array_get(s.result, 0), "Tags");
  assert_string_equal(json_string_value(json_object_get(t, "infrakit.config.hash")), "bootstrap");
  /* A key the store holds is not sent to the engine (it would not match). */
  char filters[256];
  query_param(fx->reqs[0].query, "filters", filters, sizeof filters);
  assert_non_null(strstr(filters, "infrakit.group=web"));
  assert_null(strstr(filters, "config.hash"));
  /* Label through the API: the container is looked up, its ID kept. */
  json_t *labels = json_pack("{s:s}", "extra", "1");
  CALL(fx, &s, fx->pl.vt->label(fx->pl.self, "web-1", labels, on_slot, &s, &e_));
  if (s.err.code) fail_msg("%s", s.err.msg);
  f = fopen(path, "r");
  json_t *stored = json_loadf(f, 0, NULL);
  fclose(f);
  assert_string_equal(json_string_value(json_object_get(json_object_get(stored, "ac367d6b2771"), "extra")), "1");
  json_decref(stored);
  /* A container the engine does not know: its message, and not found. */
  CALL(fx, &s, fx->pl.vt->label(fx->pl.self, "nosuch", labels, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  assert_non_null(strstr(s.err.msg, "label container nosuch: No such container: 7795ba3fcd10 (HTTP 404)"));
  json_decref(labels);
  slot_clear(&s);
  fx_finish(fx);
}

static void destroy_stops_with_the_grace_period_then_removes(void **state) {
  static const route_t routes[] = {
      {"POST /v1.41/containers/" ID1 "/stop", "stop.http", 0},
      {"DELETE /v1.41/containers/" ID1, "remove.http", 0},
      {"POST /v1.41/containers/gone1/stop", "stop_missing.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, ID1, "terminate", on_slot, &s, &e_));
  if (s.err.code) fail_msg("%s", s.err.msg);
  assert_int_equal(fx->nreqs, 2);
  assert_string_equal(fx->reqs[0].query, "t=2");
  assert_string_equal(fx->reqs[1].method, "DELETE");
  assert_string_equal(fx->reqs[1].query, "force=1&v=1");
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, "gone1", "terminate", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  assert_non_null(strstr(s.err.msg, "stop container gone1: No such container: 7795ba3fcd10 (HTTP 404)"));
  ik_err_t err = {0};
  assert_int_equal(fx->pl.vt->destroy(fx->pl.self, "../x", "terminate", on_slot, &s, &err), IK_EINVAL);
  slot_clear(&s);
  fx_finish(fx);
}

static void an_engine_that_is_not_there_is_named_in_the_error(void **state) {
  fixture_t *fx = fx_start(NULL);
  ik_http_server_close(fx->engine);
  fx->engine = NULL;
  unlink(fx->sock);
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->describe(fx->pl.self, NULL, false, on_slot, &s, &e_));
  assert_int_equal(s.err.code, UV_ENOENT);
  assert_non_null(strstr(s.err.msg, "list containers"));
  assert_non_null(strstr(s.err.msg, "is the Docker engine running?"));
  assert_non_null(strstr(s.err.msg, fx->sock));
  slot_clear(&s);
  fx_finish(fx);
}

/* --- events --------------------------------------------------------------- */

static void on_event(const char *id, const char *why, void *data) {
  fixture_t *fx = data;
  if (id == NULL) {
    fx->resyncs++;
    return;
  }
  if (fx->events < 16) {
    snprintf(fx->ids[fx->events], sizeof fx->ids[0], "%s", id);
    snprintf(fx->whys[fx->events], sizeof fx->whys[0], "%s", why ? why : "");
  }
  fx->events++;
}

static void events_tell_watchers_of_kills_deaths_and_removals_and_reconnect(void **state) {
  static const route_t routes[] = {
      {"GET /v1.41/events", "events.http", 0},
      {"GET /v1.41/containers/*/json", "inspect.http", 0},
      {NULL, NULL, 0},
  };
  fixture_t *fx = fx_start(routes);
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  assert_true(token > 0);
  run_until(fx, &fx->events, 6);
  /* The recording: create, start, exec_* of web-1 and create/start of a
   * second container are not losses; these are. A die is told once the
   * engine answered an inspect of the container (its state committed), so
   * after the kill that caused it. */
  static const char *const want[][2] = {
      {"ac367d6b2771", "sent signal 9"},
      {ID1, "sent signal 15"},
      {ID1, "sent signal 9"},
      {ID1, "container removed"},
      {"ac367d6b2771", "exited with status 137"},
      {ID1, "exited with status 137"},
  };
  int at[6];
  for (int w = 0; w < 6; w++) {
    at[w] = -1;
    for (int i = 0; i < 6; i++)
      if (strcmp(fx->ids[i], want[w][0]) == 0 && strcmp(fx->whys[i], want[w][1]) == 0) at[w] = i;
    if (at[w] < 0) fail_msg("not told: %s %s", want[w][0], want[w][1]);
  }
  assert_true(at[4] > at[0]);
  assert_true(at[5] > at[2]);
  int inspects = 0;
  for (int i = 0; i < fx->nreqs; i++) inspects += strstr(fx->reqs[i].path, "/containers/") != NULL;
  assert_true(inspects >= 2);
  char filters[256];
  query_param(fx->reqs[0].query, "filters", filters, sizeof filters);
  json_t *got = json_loads(filters, 0, NULL);
  json_t *wantf = spec_of("{\"type\": [\"container\"], \"event\": [\"kill\", \"die\", \"destroy\"],"
                          " \"label\": [\"infrakit.group\"]}");
  assert_true(json_equal(got, wantf));
  json_decref(got);
  json_decref(wantf);
  /* The recorded stream ends (as when the engine stops): the driver opens
   * it again and tells the watchers to describe again. */
  run_until(fx, &fx->resyncs, 1);
  int streams = 0;
  for (int i = 0; i < fx->nreqs; i++) streams += strcmp(fx->reqs[i].path, "/v1.41/events") == 0;
  assert_true(streams >= 2);
  fx->pl.vt->unwatch(fx->pl.self, token);
  fx_finish(fx);
}

static void events_refused_by_the_engine_are_retried(void **state) {
  static const route_t routes[] = {{"GET /v1.41/events", "create_no_image.http", 0}, {NULL, NULL, 0}};
  fixture_t *fx = fx_start(routes);
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  run_until(fx, &fx->nreqs, 3); /* backoff: 50-100 ms, then 100-200 ms */
  assert_int_equal(fx->events, 0);
  fx->pl.vt->unwatch(fx->pl.self, token);
  fx_finish(fx);
}

static void a_bad_host_is_refused_at_start(void **state) {
  static const char *const bad[] = {"http://x", "unix://relative", "tcp://", "tcp://h:1/path", "ssh://h"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ik_loop_t loop;
    ik_err_t err = {0};
    assert_int_equal(ik_loop_init(&loop, &err), 0);
    ik_instance_plugin_t pl;
    ik_docker_opts_t o = {.host = bad[i], .dir = "/tmp"};
    assert_int_equal(ik_docker_provider_new(&loop, &o, &pl, &err), IK_EINVAL);
    assert_non_null(strstr(err.msg, bad[i]));
    int leaked = -1;
    ik_loop_close(&loop, &leaked);
    assert_int_equal(leaked, 0);
  }
}

static void ignore_event(const char *id, const char *why, void *data) {}

static void a_docker_host_the_driver_cannot_use_fails_each_call_not_the_start(void **state) {
  ik_loop_t loop;
  ik_err_t err = {0};
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  char dir[] = "/tmp/ik-dockerunit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  setenv("DOCKER_HOST", "ssh://me@far", 1);
  ik_instance_plugin_t pl;
  ik_docker_opts_t o = {.dir = dir};
  int rc = ik_docker_provider_new(&loop, &o, &pl, &err);
  unsetenv("DOCKER_HOST");
  assert_int_equal(rc, 0); /* a daemon serving it still starts */
  slot_t s = {0};
  assert_int_equal(pl.vt->describe(pl.self, NULL, false, on_slot, &s, &err), IK_EINVAL);
  assert_non_null(strstr(err.msg, "host \"ssh://me@far\": want unix:///path/to/docker.sock or tcp://HOST:PORT"));
  assert_non_null(strstr(err.msg, "from $DOCKER_HOST"));
  assert_true(pl.vt->watch(pl.self, ignore_event, NULL, &err) > 0); /* no stream to follow: nothing asked */
  pl.vt->free(pl.self);
  uv_run(&loop.uv, UV_RUN_DEFAULT);
  int leaked = -1;
  ik_loop_close(&loop, &leaked);
  assert_int_equal(leaked, 0);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(provision_creates_with_merged_labels_and_the_logical_id_as_name),
      cmocka_unit_test(provision_pulls_a_missing_image_and_says_when_no_registry_answers),
      cmocka_unit_test(provision_init_failing_removes_the_container_and_reports_its_output),
      cmocka_unit_test(provision_init_succeeding_gives_the_id),
      cmocka_unit_test(provision_passes_the_engines_conflict_message_on),
      cmocka_unit_test(provision_of_a_pet_frees_its_name_from_its_dead_predecessor),
      cmocka_unit_test(provision_attaches_networks_creating_a_missing_one),
      cmocka_unit_test(provision_refuses_bad_specs_naming_the_field),
      cmocka_unit_test(validate_checks_properties_without_the_engine),
      cmocka_unit_test(describe_maps_containers_and_merges_the_label_store),
      cmocka_unit_test(label_is_kept_by_the_driver_and_merged_on_describe),
      cmocka_unit_test(destroy_stops_with_the_grace_period_then_removes),
      cmocka_unit_test(an_engine_that_is_not_there_is_named_in_the_error),
      cmocka_unit_test(events_tell_watchers_of_kills_deaths_and_removals_and_reconnect),
      cmocka_unit_test(events_refused_by_the_engine_are_retried),
      cmocka_unit_test(a_bad_host_is_refused_at_start),
      cmocka_unit_test(a_docker_host_the_driver_cannot_use_fails_each_call_not_the_start),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
