/* A Lua flavor's prepare called through the C SPI, in process: calls/s
 * with one call in flight at a time and with 64 in flight. Prints JSON.
 *   flavor_bench FLAVOR.lua SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "loop/loop.h"
#include "lua/plugin.h"
#include "lua/runtime.h"

typedef struct bench {
  ik_flavor_plugin_t pl;
  json_t *props, *spec, *alloc, *index;
  uint64_t done, failed;
  double deadline;
  int inflight;
} bench_t;

static void start_one(bench_t *b);

static void on_prepared(json_t *result, const ik_err_t *err, void *data) {
  bench_t *b = data;
  b->inflight--;
  if (err) {
    if (b->failed++ == 0) fprintf(stderr, "flavor_bench: %s\n", err->msg);
  } else {
    b->done++;
  }
  if (ik_loop_monotime() < b->deadline) start_one(b);
}

static void start_one(bench_t *b) {
  ik_err_t err = {0};
  if (b->pl.vt->prepare(b->pl.self, b->props, b->spec, b->alloc, b->index, on_prepared, b, &err) < 0) {
    fprintf(stderr, "flavor_bench: %s\n", err.msg);
    exit(1);
  }
  b->inflight++;
}

static double run(ik_loop_t *loop, bench_t *b, int concurrency, double seconds) {
  b->done = b->failed = 0;
  double t0 = ik_loop_monotime();
  b->deadline = t0 + seconds;
  for (int i = 0; i < concurrency; i++) start_one(b);
  while (b->inflight > 0) uv_run(&loop->uv, UV_RUN_ONCE);
  return (double)b->done / (ik_loop_monotime() - t0);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: flavor_bench FLAVOR.lua SECONDS\n");
    return 2;
  }
  ik_log_set_level(IK_LOG_WARN);
  ik_loop_t loop;
  ik_lua_t *rt;
  ik_err_t err = {0};
  bench_t b = {0};
  if (ik_loop_init(&loop, &err) < 0 || ik_lua_new(&loop, NULL, &rt, &err) < 0 ||
      ik_lua_flavor_load(rt, "bench", argv[1], NULL, &b.pl, &err) < 0) {
    fprintf(stderr, "flavor_bench: %s\n", err.msg);
    return 1;
  }
  b.props = json_pack("{s:[s,s], s:{s:s}}", "Init", "echo one", "echo two", "Tags", "tier", "web");
  b.spec = json_pack("{s:{s:s}, s:{s:s, s:s}, s:s, s:n, s:n}", "Properties", "Note", "v1", "Tags",
                     "infrakit.group", "web", "infrakit.config.hash", "rsfonnrfmaykaiytaj26ud5ixjk7m4rd", "Init", "",
                     "LogicalID", "Attachments");
  b.alloc = json_pack("{s:i, s:n}", "Size", 3, "LogicalIDs");
  b.index = json_pack("{s:s, s:i}", "Group", "web", "Sequence", 3);
  double secs = atof(argv[2]);
  double one = run(&loop, &b, 1, secs);
  double many = run(&loop, &b, getenv("IK_INFLIGHT") ? atoi(getenv("IK_INFLIGHT")) : 64, secs);
  printf("{\"calls_per_sec_1\": %.0f, \"calls_per_sec_64\": %.0f, \"failed\": %llu}\n", one, many,
         (unsigned long long)b.failed);
  b.pl.vt->free(b.pl.self);
  json_decref(b.props);
  json_decref(b.spec);
  json_decref(b.alloc);
  json_decref(b.index);
  ik_lua_free(rt);
  ik_loop_run(&loop);
  ik_loop_close(&loop, NULL);
  return 0;
}
