/* core/engine/events_http: GET /events on an rpc server, read with the
 * project's HTTP client (streaming): the history after Last-Event-ID, the
 * ": live" mark, live events, the group and kind filters, the heartbeat,
 * bad input, and the end of every stream when the module is freed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "engine/events.h"
#include "engine/events_http.h"
#include "loop/loop.h"
#include "net/client/http_client.h"
#include "net/server/rpc_server.h"

typedef struct fixture {
  ik_loop_t loop;
  char dir[64], path[96], sock[96];
  ik_events_t *ev;
  ik_events_http_t *eh;
  ik_rpc_server_t *rpc;
  ik_http_client_t *http;
} fixture_t;

typedef struct reader {
  ik_buf_t got;
  bool up, done;
  long status;
  ik_http_call_t *call;
} reader_t;

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-evhttp-XXXXXX");
  if (mkdtemp(fx->dir) == NULL || ik_loop_init(&fx->loop, &err) < 0) return -1;
  snprintf(fx->path, sizeof fx->path, "%s/events.jsonl", fx->dir);
  snprintf(fx->sock, sizeof fx->sock, "%s/group", fx->dir);
  if (ik_events_open(fx->path, &fx->ev, &err) < 0) return -1;
  fx->eh = ik_events_http_new(&fx->loop, fx->ev, 30);
  fx->rpc = ik_rpc_server_new(&fx->loop, "group");
  if (ik_events_http_route(fx->eh, fx->rpc, &err) < 0) return -1;
  ik_http_server_opts_t o = {.unix_path = fx->sock};
  if (ik_rpc_server_listen(fx->rpc, &o, &err) < 0) return -1;
  if (ik_http_client_new(&fx->loop, &fx->http, &err) < 0) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  ik_http_client_free(fx->http);
  ik_rpc_server_free(fx->rpc);
  ik_events_http_free(fx->eh);
  ik_events_close(fx->ev);
  int leaked = 0;
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  ik_loop_close(&fx->loop, &leaked);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
  if (system(cmd) != 0) return -1;
  ik_free(fx);
  return leaked == 0 ? 0 : -1;
}

static void on_data(ik_http_call_t *call, long status, const char *chunk, size_t len, void *data) {
  reader_t *r = data;
  r->up = true;
  r->status = status;
  ik_buf_append(&r->got, chunk, len);
}

static void on_end(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  reader_t *r = data;
  r->done = true;
  r->call = NULL;
  if (resp) {
    r->status = resp->status;
    ik_buf_append(&r->got, resp->body.data, resp->body.len);
  }
}

static void get(fixture_t *fx, reader_t *r, const char *path_query, const char *header) {
  char url[256];
  snprintf(url, sizeof url, "http://h%s", path_query);
  const char *headers[] = {header, NULL};
  ik_http_req_t req = {.method = "GET", .url = url, .unix_path = fx->sock, .headers = headers, .on_data = on_data};
  ik_err_t err = {0};
  memset(r, 0, sizeof *r);
  assert_int_equal(ik_http_request(fx->http, &req, on_end, r, &r->call, &err), 0);
}

/* Turn the loop until r's body holds text (or 5 s). */
static void wait_text(fixture_t *fx, reader_t *r, const char *text) {
  uint64_t until = uv_now(&fx->loop.uv) + 5000;
  while (!(r->got.len && strstr(ik_buf_cstr(&r->got), text)) && !r->done && uv_now(&fx->loop.uv) < until)
    uv_run(&fx->loop.uv, UV_RUN_ONCE);
  if (!strstr(ik_buf_cstr(&r->got), text)) fail_msg("wanted \"%s\" in: %s", text, ik_buf_cstr(&r->got));
}

static const char *frame_of(const char *body, uint64_t seq) {
  char probe[32];
  snprintf(probe, sizeof probe, "id: %llu\n", (unsigned long long)seq);
  return strstr(body, probe);
}

static void history_then_live_filtered_with_heartbeats(void **state) {
  fixture_t *fx = *state;
  ik_events_emit(fx->ev, "web", "committed", NULL);                                    /* 1 */
  ik_events_emit(fx->ev, "web", "provisioned", json_pack("{s:s}", "instance", "i-1")); /* 2 */
  ik_events_emit(fx->ev, "db", "provisioned", NULL);                                   /* 3 */
  ik_events_emit(fx->ev, "web", "phase", NULL);                                        /* 4 */
  reader_t r;
  get(fx, &r, "/events?group=web&kind=provisioned,phase", "Last-Event-ID: 1");
  wait_text(fx, &r, ": live\n\n");
  const char *body = ik_buf_cstr(&r.got);
  assert_int_equal(r.status, 200);
  const char *two = frame_of(body, 2);
  assert_non_null(two);
  assert_true(strncmp(two, "id: 2\nevent: provisioned\ndata: {\"seq\":2,\"time\":\"", 48) == 0);
  assert_non_null(strstr(two, "\"group\":\"web\",\"event\":\"provisioned\",\"instance\":\"i-1\"}\n\n"));
  assert_null(frame_of(body, 1)); /* not after Last-Event-ID */
  assert_null(frame_of(body, 3)); /* another group */
  assert_true(frame_of(body, 4) > two);
  assert_true(strstr(body, ": live") > frame_of(body, 4));
  /* Live now. */
  ik_events_emit(fx->ev, "web", "committed", NULL); /* 5: another kind */
  ik_events_emit(fx->ev, "web", "phase", NULL);     /* 6 */
  wait_text(fx, &r, "id: 6\n");
  assert_null(frame_of(ik_buf_cstr(&r.got), 5));
  wait_text(fx, &r, ": ping\n\n");
  assert_int_equal(ik_events_http_clients(fx->eh), 1);
  assert_false(r.done);
  ik_http_cancel(r.call);
  while (!r.done) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  for (int i = 0; i < 100 && ik_events_http_clients(fx->eh) > 0; i++) uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
  ik_buf_free(&r.got);
}

/* since=0 replays the whole log; no since: live at once; a bad since or
 * Last-Event-ID is a 400 naming it; freeing the module ends the streams. */
static void since_bad_input_and_the_end(void **state) {
  fixture_t *fx = *state;
  ik_events_emit(fx->ev, "web", "committed", NULL);
  reader_t all, live, bad, bad_id;
  get(fx, &all, "/events?since=0", NULL);
  wait_text(fx, &all, ": live\n\n");
  assert_non_null(frame_of(ik_buf_cstr(&all.got), 1));
  get(fx, &live, "/events", NULL);
  wait_text(fx, &live, ": live\n\n");
  assert_null(frame_of(ik_buf_cstr(&live.got), 1));
  get(fx, &bad, "/events?since=-3", NULL);
  wait_text(fx, &bad, "since=-3: want an event's id");
  while (!bad.done) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(bad.status, 400);
  get(fx, &bad_id, "/events", "Last-Event-ID: x1");
  wait_text(fx, &bad_id, "Last-Event-ID \"x1\": want an event's id");
  ik_events_http_free(fx->eh); /* the daemon's shutdown */
  fx->eh = NULL;
  while (!all.done || !live.done || !bad_id.done) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  ik_buf_free(&all.got);
  ik_buf_free(&live.got);
  ik_buf_free(&bad.got);
  ik_buf_free(&bad_id.got);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(history_then_live_filtered_with_heartbeats, setup, teardown),
      cmocka_unit_test_setup_teardown(since_bad_input_and_the_end, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
