/* Store write latency, in process through the store SPI: N puts of a
 * rollout-state-sized document one at a time (as the controller writes:
 * each before the action that depends on it), then the p50, p99 and max
 * latency and puts/s, as JSON.
 *   store_bench file DIR N
 *   store_bench etcd HOST:PORT[,HOST:PORT...] N [guard]
 * With "guard", every put is the fenced txn (a guard on a key this tool
 * creates first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "engine/etcd_json.h"
#include "engine/store_etcd.h"
#include "engine/store_file.h"
#include "loop/loop.h"
#include "net/client/etcd_gateway.h"
#include "net/client/http_client.h"

typedef struct bench {
  ik_loop_t loop;
  int done;
  ik_err_t err;
  json_t *result;
  /* the timed run: puts chained from their callbacks */
  ik_store_t *st;
  json_t *doc;
  double *lat, started;
  int i, n;
} bench_t;

static void on_done(json_t *result, const ik_err_t *err, void *data) {
  bench_t *b = data;
  b->done = 1;
  if (err) b->err = *err;
  else b->result = json_incref(result);
}

/* Run the loop until the call is done: UV_RUN_DEFAULT, since a callback
 * run from curl's timer would leave UV_RUN_ONCE blocked in its poll. */
static void wait_done(bench_t *b, int rc, const ik_err_t *err) {
  if (rc < 0) {
    fprintf(stderr, "store_bench: %s\n", err->msg);
    exit(1);
  }
  uv_run(&b->loop.uv, UV_RUN_DEFAULT);
  if (b->err.code) {
    fprintf(stderr, "store_bench: %s\n", b->err.msg);
    exit(1);
  }
}

static void put_next(bench_t *b);

static void on_put(json_t *result, const ik_err_t *err, void *data) {
  (void)result;
  bench_t *b = data;
  if (err) {
    fprintf(stderr, "store_bench: %s\n", err->msg);
    exit(1);
  }
  b->lat[b->i++] = (ik_loop_monotime() - b->started) * 1000.0;
  if (b->i < b->n) put_next(b);
}

static void put_next(bench_t *b) {
  char key[64];
  snprintf(key, sizeof key, "groups/g%d/state", b->i % 16);
  ik_err_t err = {0};
  b->started = ik_loop_monotime();
  if (b->st->vt->put(b->st->self, key, b->doc, on_put, b, &err) < 0) {
    fprintf(stderr, "store_bench: %s\n", err.msg);
    exit(1);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: store_bench file DIR N | etcd ENDPOINTS N [guard]\n");
    return 2;
  }
  ik_log_set_level(IK_LOG_WARN);
  bench_t b = {0};
  ik_err_t err = {0};
  if (ik_loop_init(&b.loop, &err) < 0) return 1;
  ik_store_t st = {0};
  ik_http_client_t *http = NULL;
  ik_etcd_gateway_t gw = {0};
  int n = atoi(argv[3]);
  if (strcmp(argv[1], "file") == 0) {
    if (ik_store_file_new(&b.loop, argv[2], &st, &err) < 0) goto fail;
  } else {
    if (ik_http_client_new(&b.loop, &http, &err) < 0 || ik_etcd_gateway_new(http, argv[2], NULL, &gw, &err) < 0 ||
        ik_store_etcd_new(&b.loop, &gw, "bench", &st, &err) < 0)
      goto fail;
    if (argc > 4 && strcmp(argv[4], "guard") == 0) {
      /* The guard key, created now: its create revision fences the puts. */
      json_t *leader = json_pack("{s:s}", "at", "bench");
      wait_done(&b, st.vt->put(st.self, "leader", leader, on_done, &b, &err), &err);
      json_decref(leader);
      b.done = 0;
      json_t *req = json_pack("{s:o}", "key", ik_etcd_b64("bench/leader", 12));
      wait_done(&b, gw.vt->call(gw.self, "/v3/kv/range", req, on_done, &b, &err), &err);
      json_decref(req);
      int64_t rev = ik_etcd_int(json_array_get(json_object_get(b.result, "kvs"), 0), "create_revision");
      json_decref(b.result);
      b.result = NULL;
      if (ik_store_etcd_set_guard(&st, "bench/leader", rev, &err) < 0) goto fail;
    }
  }
  double *lat = ik_calloc((size_t)n, sizeof *lat);
  json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:s, s:b}", "SpecHash", "pgmprqi6o5erpbvehrbpn7jwpb4h4c6c",
                          "TargetHash", "pgmprqi6o5erpbvehrbpn7jwpb4h4c6c", "GoodHash",
                          "qgmprqi6o5erpbvehrbpn7jwpb4h4c6c", "SelfDrainedHash", "", "CanaryPromoted", 0, "RolledBack",
                          0, "StartedMs", (json_int_t)1796649530961, "Failure", "", "Destroying", 0);
  b.st = &st, b.doc = doc, b.lat = lat, b.n = n;
  double t0 = ik_loop_monotime();
  put_next(&b);
  uv_run(&b.loop.uv, UV_RUN_DEFAULT);
  double total = ik_loop_monotime() - t0;
  qsort(lat, (size_t)n, sizeof *lat, cmp_double);
  printf("{\"puts\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"puts_per_sec\":%.1f}\n", n, lat[n / 2],
         lat[(size_t)((n - 1) * 0.99)], lat[n - 1], n / total);
  json_decref(b.result);
  json_decref(doc);
  ik_free(lat);
  st.vt->free(st.self);
  ik_http_client_free(http);
  ik_etcd_gateway_free(&gw);
  uv_run(&b.loop.uv, UV_RUN_DEFAULT);
  ik_loop_close(&b.loop, NULL);
  return 0;
fail:
  fprintf(stderr, "store_bench: %s\n", err.msg);
  return 1;
}
