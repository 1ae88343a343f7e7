/* core/engine/store_etcd over net/client/etcd_gateway: the requests the
 * store sends to etcd's v3 JSON gateway and how it reads the answers,
 * against a fake gateway in this process (an ik_http_server on 127.0.0.1
 * keeping keys in memory, answering as etcd 3.4 does: base64 keys and
 * values, int64 as strings, zero fields and a failed txn's "succeeded"
 * omitted); fenced writes; endpoint failover; etcd's errors; the URL of
 * --store. Then the store contract (store_contract.h, as the file store)
 * against the fake and against a real etcd this test starts (skipped,
 * saying why, when there is no etcd). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "engine/etcd_json.h"
#include "engine/store_etcd.h"
#include "loop/loop.h"
#include "net/client/etcd_gateway.h"
#include "net/client/http_client.h"
#include "net/server/http_server.h"
#include "spi_slot.h"
#include "store_contract.h"

/* ---- a fake etcd gateway ------------------------------------------------- */

typedef struct fake {
  ik_http_server_t *srv;
  int port;
  json_t *kv;       /* decoded key -> {"value": decoded, "create": n, "mod": n} */
  int64_t revision; /* the cluster's revision */
  int requests;
  char last_path[64];
  json_t *last_body; /* the last request's JSON */
  int fail_status;   /* answer every request with this status (etcd's error), 0: serve */
} fake_t;

static json_t *b64(const char *s) { return ik_etcd_b64(s, strlen(s)); }

/* The kvs of a range over [key, end) (end NULL: key alone). */
static json_t *fake_range(fake_t *f, const char *key, const char *end, bool keys_only) {
  json_t *kvs = json_array();
  const char *k;
  json_t *v;
  /* jansson's objects are unordered: collect, then sort as etcd does. */
  json_t *names = json_array();
  json_object_foreach(f->kv, k, v) {
    if (end ? (strcmp(k, key) >= 0 && strcmp(k, end) < 0) : strcmp(k, key) == 0) json_array_append_new(names, json_string(k));
  }
  size_t n = json_array_size(names);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(json_string_value(json_array_get(names, j)), json_string_value(json_array_get(names, i))) < 0) {
        json_t *a = json_incref(json_array_get(names, i));
        json_array_set(names, i, json_array_get(names, j));
        json_array_set_new(names, j, a);
      }
  for (size_t i = 0; i < n; i++) {
    k = json_string_value(json_array_get(names, i));
    v = json_object_get(f->kv, k);
    char cr[32], mr[32];
    snprintf(cr, sizeof cr, "%lld", (long long)json_integer_value(json_object_get(v, "create")));
    snprintf(mr, sizeof mr, "%lld", (long long)json_integer_value(json_object_get(v, "mod")));
    json_t *item = json_pack("{s:o, s:s, s:s}", "key", b64(k), "create_revision", cr, "mod_revision", mr);
    const char *val = json_string_value(json_object_get(v, "value"));
    if (!keys_only && val[0]) json_object_set_new(item, "value", b64(val)); /* empty: omitted */
    json_array_append_new(kvs, item);
  }
  json_decref(names);
  return kvs;
}

static json_t *header(fake_t *f) {
  char rev[32];
  snprintf(rev, sizeof rev, "%lld", (long long)f->revision);
  return json_pack("{s:s, s:s}", "cluster_id", "1", "revision", rev);
}

static char *unb64(json_t *obj, const char *field) { return ik_etcd_unb64(obj, field); }

static void fake_put(fake_t *f, const char *key, const char *value) {
  json_t *old = json_object_get(f->kv, key);
  f->revision++;
  json_int_t create = old ? json_integer_value(json_object_get(old, "create")) : f->revision;
  json_object_set_new(f->kv, key, json_pack("{s:s, s:I, s:I}", "value", value, "create", create, "mod", (json_int_t)f->revision));
}

static json_t *do_range(fake_t *f, json_t *req) {
  char *key = unb64(req, "key"), *end = unb64(req, "range_end");
  json_t *kvs = fake_range(f, key, end, json_is_true(json_object_get(req, "keys_only")));
  json_t *r = json_pack("{s:o}", "header", header(f));
  if (json_array_size(kvs)) {
    char count[16];
    snprintf(count, sizeof count, "%zu", json_array_size(kvs));
    json_object_set_new(r, "kvs", kvs);
    json_object_set_new(r, "count", json_string(count));
  } else {
    json_decref(kvs);
  }
  ik_free(key);
  ik_free(end);
  return r;
}

static json_t *do_put(fake_t *f, json_t *req) {
  char *key = unb64(req, "key"), *value = unb64(req, "value");
  fake_put(f, key, value ? value : "");
  ik_free(key);
  ik_free(value);
  return json_pack("{s:o}", "header", header(f));
}

static json_t *do_delete(fake_t *f, json_t *req) {
  char *key = unb64(req, "key");
  json_t *r = json_pack("{s:o}", "header", header(f));
  if (json_object_get(f->kv, key)) {
    f->revision++;
    json_object_del(f->kv, key);
    json_object_set_new(r, "deleted", json_string("1"));
  }
  ik_free(key);
  return r;
}

/* One compare of target CREATE, result EQUAL (what the store sends). */
static json_t *do_txn(fake_t *f, json_t *req) {
  bool ok = true;
  size_t i;
  json_t *cmp;
  json_array_foreach(json_object_get(req, "compare"), i, cmp) {
    char *key = unb64(cmp, "key");
    json_t *have = json_object_get(f->kv, key);
    int64_t want = ik_etcd_int(cmp, "create_revision");
    int64_t got = have ? (int64_t)json_integer_value(json_object_get(have, "create")) : 0;
    if (strcmp(json_string_value(json_object_get(cmp, "target")), "CREATE") != 0 || got != want) ok = false;
    ik_free(key);
  }
  json_t *responses = json_array(), *op;
  json_array_foreach(json_object_get(req, ok ? "success" : "failure"), i, op) {
    json_t *a;
    if ((a = json_object_get(op, "request_put"))) {
      json_decref(do_put(f, a));
      json_array_append_new(responses, json_pack("{s:{s:o}}", "response_put", "header", header(f)));
    } else if ((a = json_object_get(op, "request_delete_range"))) {
      json_array_append_new(responses, json_pack("{s:o}", "response_delete_range", do_delete(f, a)));
    } else if ((a = json_object_get(op, "request_range"))) {
      json_array_append_new(responses, json_pack("{s:o}", "response_range", do_range(f, a)));
    }
  }
  json_t *r = json_pack("{s:o, s:o}", "header", header(f), "responses", responses);
  if (ok) json_object_set_new(r, "succeeded", json_true()); /* false is omitted */
  return r;
}

static void fake_handle(ik_http_request_t *req, void *data) {
  fake_t *f = data;
  f->requests++;
  snprintf(f->last_path, sizeof f->last_path, "%s", req->path);
  json_decref(f->last_body);
  f->last_body = json_loadb(req->body, req->body_len, 0, NULL);
  if (f->fail_status) {
    const char *e = "{\"error\":\"etcdserver: request is too large\",\"message\":\"etcdserver: request is too large\","
                    "\"code\":3}";
    ik_http_respond(req, f->fail_status, "application/json", e, strlen(e));
    return;
  }
  json_t *r = NULL;
  if (strcmp(req->path, "/v3/kv/range") == 0) r = do_range(f, f->last_body);
  else if (strcmp(req->path, "/v3/kv/put") == 0) r = do_put(f, f->last_body);
  else if (strcmp(req->path, "/v3/kv/deleterange") == 0) r = do_delete(f, f->last_body);
  else if (strcmp(req->path, "/v3/kv/txn") == 0) r = do_txn(f, f->last_body);
  if (r == NULL) {
    ik_http_respond(req, 404, "text/plain", "404 page not found\n", 19);
    return;
  }
  char *text = json_dumps(r, JSON_COMPACT);
  ik_http_respond(req, 200, "application/json", text, strlen(text));
  free(text);
  json_decref(r);
}

/* ---- fixture --------------------------------------------------------------- */

typedef struct fixture {
  ik_loop_t loop;
  fake_t fake;
  ik_http_client_t *http;
  ik_etcd_gateway_t gw;
  ik_store_t store;
  int dead_port;   /* a port nothing listens on */
  uv_timer_t tick; /* bounds each poll of run_until */
} fixture_t;

static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  bind(fd, (struct sockaddr *)&a, sizeof a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd); /* bound, never listened: connecting is refused */
  return ntohs(a.sin_port);
}

static void on_tick(uv_timer_t *t) { (void)t; }

/* Run the loop until the slot is done (10 s at most). A callback run from
 * a timer (curl's) would leave UV_RUN_ONCE blocked in its poll afterwards:
 * the tick bounds every poll to 10 ms. */
static void run_until(fixture_t *fx, int *done, int want) {
  assert_int_equal(*done, 0); /* never before the call returned */
  time_t until = time(NULL) + 10;
  while (*done < want && time(NULL) < until) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(*done, want);
}

/* The contract's wait (store_contract.h); spi_slot.h's CALL uses run_until. */
static void wait_slot(void *ctx, slot_t *s) { run_until(ctx, &s->done, 1); }

/* A gateway on endpoints and a store under prefix on it. */
static void open_store(fixture_t *fx, const char *endpoints, const char *prefix) {
  ik_err_t err = {0};
  assert_int_equal(ik_etcd_gateway_new(fx->http, endpoints, &(ik_etcd_gateway_opts_t){.timeout_ms = 2000}, &fx->gw, &err), 0);
  assert_int_equal(ik_store_etcd_new(&fx->loop, &fx->gw, prefix, &fx->store, &err), 0);
}

static int setup(void **state) {
  fixture_t *fx = IK_NEW(fixture_t);
  ik_err_t err = {0};
  if (ik_loop_init(&fx->loop, &err) < 0 || ik_http_client_new(&fx->loop, &fx->http, &err) < 0) return -1;
  fx->fake.kv = json_object();
  uv_timer_init(&fx->loop.uv, &fx->tick);
  uv_timer_start(&fx->tick, on_tick, 10, 10);
  uv_unref((uv_handle_t *)&fx->tick);
  ik_http_server_opts_t o = {.tcp = "127.0.0.1:0"};
  if (ik_http_server_start(&fx->loop, &o, fake_handle, &fx->fake, &fx->fake.srv, &err) < 0) return -1;
  fx->fake.port = ik_http_server_port(fx->fake.srv);
  fx->dead_port = closed_port();
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%d", fx->fake.port);
  open_store(fx, ep, "ik");
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  if (fx->store.vt) fx->store.vt->free(fx->store.self);
  ik_http_client_free(fx->http);
  ik_etcd_gateway_free(&fx->gw);
  ik_http_server_close(fx->fake.srv);
  uv_close((uv_handle_t *)&fx->tick, NULL);
  uv_run(&fx->loop.uv, UV_RUN_DEFAULT);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&fx->loop, &leaked), 0);
  assert_int_equal(leaked, 0);
  json_decref(fx->fake.kv);
  json_decref(fx->fake.last_body);
  ik_free(fx);
  return 0;
}

#define DO(fx, s, expr) CALL(fx, s, expr)

/* The raw record of key in the fake (decoded key), or NULL. */
static const char *fake_value(fixture_t *fx, const char *key) {
  return json_string_value(json_object_get(json_object_get(fx->fake.kv, key), "value"));
}

/* ---- the mapping -------------------------------------------------------------- */

static void put_sends_the_file_stores_text_under_the_prefix_in_base64(void **state) {
  fixture_t *fx = *state;
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  json_t *doc = json_pack("{s:s, s:{s:i}}", "ID", "web", "Allocation", "Size", 2);
  DO(fx, &s, st->vt->put(st->self, "groups/web/spec", doc, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_string_equal(fx->fake.last_path, "/v3/kv/put");
  /* The key on the wire is base64 of "ik/groups/web/spec". */
  assert_string_equal(json_string_value(json_object_get(fx->fake.last_body, "key")), "aWsvZ3JvdXBzL3dlYi9zcGVj");
  /* The value: the same text the file store writes (Go's formatting). */
  assert_string_equal(fake_value(fx, "ik/groups/web/spec"), "{\"ID\":\"web\",\"Allocation\":{\"Size\":2}}\n");
  DO(fx, &s, st->vt->get(st->self, "groups/web/spec", on_slot, &s, &e_));
  assert_string_equal(fx->fake.last_path, "/v3/kv/range");
  assert_true(json_equal(s.result, doc));
  DO(fx, &s, st->vt->del(st->self, "groups/web/spec", on_slot, &s, &e_));
  assert_string_equal(fx->fake.last_path, "/v3/kv/deleterange");
  assert_null(fake_value(fx, "ik/groups/web/spec"));
  slot_clear(&s);
  json_decref(doc);
}

static void list_ranges_over_the_prefix_keys_only(void **state) {
  fixture_t *fx = *state;
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  fake_put(&fx->fake, "ik/groups/a/spec", "{}");
  fake_put(&fx->fake, "ik/groups/b/spec", "{}");
  fake_put(&fx->fake, "ik/groups0", "{}"); /* the range's end: excluded */
  fake_put(&fx->fake, "other/groups/c/spec", "{}");
  DO(fx, &s, st->vt->list(st->self, "groups/", on_slot, &s, &e_));
  json_t *body = fx->fake.last_body;
  char *key = ik_etcd_unb64(body, "key"), *end = ik_etcd_unb64(body, "range_end");
  assert_string_equal(key, "ik/groups/");
  assert_string_equal(end, "ik/groups0"); /* the prefix with its last byte + 1 */
  assert_true(json_is_true(json_object_get(body, "keys_only")));
  ik_free(key);
  ik_free(end);
  char *keys = json_dumps(s.result, JSON_COMPACT);
  assert_string_equal(keys, "[\"groups/a/spec\",\"groups/b/spec\"]");
  free(keys);
  /* No kvs at all (etcd omits the empty array): an empty list. */
  DO(fx, &s, st->vt->list(st->self, "none/", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(json_is_array(s.result));
  assert_int_equal(json_array_size(s.result), 0);
  slot_clear(&s);
}

static void a_value_that_is_not_json_is_an_error_naming_the_etcd_key(void **state) {
  fixture_t *fx = *state;
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  fake_put(&fx->fake, "ik/groups/a/spec", "{\"n\":");
  DO(fx, &s, st->vt->get(st->self, "groups/a/spec", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EIO);
  assert_non_null(strstr(s.err.msg, "etcd key ik/groups/a/spec:1:"));
  fake_put(&fx->fake, "ik/groups/a/spec", ""); /* empty: etcd omits the value */
  DO(fx, &s, st->vt->get(st->self, "groups/a/spec", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EIO);
  slot_clear(&s);
}

static void etcds_error_answer_names_the_endpoint_and_its_message(void **state) {
  fixture_t *fx = *state;
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  fx->fake.fail_status = 400;
  json_t *doc = json_object();
  DO(fx, &s, st->vt->put(st->self, "groups/a/spec", doc, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_EIO);
  char want[256];
  snprintf(want, sizeof want,
           "store put groups/a/spec: etcd 127.0.0.1:%d: POST /v3/kv/put: HTTP 400: etcdserver: request is too large",
           fx->fake.port);
  assert_string_equal(s.err.msg, want);
  assert_int_equal(fx->fake.requests, 1); /* etcd answered: no other endpoint is tried */
  slot_clear(&s);
  json_decref(doc);
}

/* ---- fencing -------------------------------------------------------------------- */

/* What ik_store_etcd_on_refused reported last. */
typedef struct {
  int calls;
  char op[8];
  char key[64];
  uint64_t refused;
} refusal_t;

static void on_refusal(const char *op, const char *key, uint64_t refused, void *ctx) {
  refusal_t *r = ctx;
  r->calls++;
  snprintf(r->op, sizeof r->op, "%s", op);
  snprintf(r->key, sizeof r->key, "%s", key);
  r->refused = refused;
}

static void guarded_writes_are_txns_on_the_leader_keys_create_revision(void **state) {
  fixture_t *fx = *state;
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  ik_err_t err = {0};
  fake_put(&fx->fake, "ik/leader", "http://a");
  int64_t rev = fx->fake.revision;
  assert_int_equal(ik_store_etcd_set_guard(st, "ik/leader", rev, &err), 0);
  json_t *doc = json_pack("{s:i}", "n", 1);
  DO(fx, &s, st->vt->put(st->self, "groups/a/spec", doc, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_string_equal(fx->fake.last_path, "/v3/kv/txn");
  /* The exact condition: the leader key's CREATE revision, as a string. */
  json_t *cmp = json_array_get(json_object_get(fx->fake.last_body, "compare"), 0);
  char *gk = ik_etcd_unb64(cmp, "key");
  assert_string_equal(gk, "ik/leader");
  ik_free(gk);
  assert_string_equal(json_string_value(json_object_get(cmp, "target")), "CREATE");
  assert_string_equal(json_string_value(json_object_get(cmp, "result")), "EQUAL");
  char want[32];
  snprintf(want, sizeof want, "%lld", (long long)rev);
  assert_string_equal(json_string_value(json_object_get(cmp, "create_revision")), want);
  json_t *put = json_object_get(json_array_get(json_object_get(fx->fake.last_body, "success"), 0), "request_put");
  char *pk = ik_etcd_unb64(put, "key");
  assert_string_equal(pk, "ik/groups/a/spec");
  ik_free(pk);
  assert_string_equal(fake_value(fx, "ik/groups/a/spec"), "{\"n\":1}\n");
  /* The leader key is re-created by another (its lease expired while we
   * were paused): refused, nothing written, counted. */
  json_object_del(fx->fake.kv, "ik/leader");
  fake_put(&fx->fake, "ik/leader", "http://b");
  json_t *doc2 = json_pack("{s:i}", "n", 2);
  assert_int_equal(ik_store_etcd_refused(st), 0);
  refusal_t told = {0};
  assert_int_equal(ik_store_etcd_on_refused(st, on_refusal, &told, &err), 0);
  DO(fx, &s, st->vt->put(st->self, "groups/a/spec", doc2, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTLEADER);
  /* ... and told as it is answered: operation, key and count so far */
  assert_int_equal(told.calls, 1);
  assert_string_equal(told.op, "put");
  assert_string_equal(told.key, "groups/a/spec");
  assert_int_equal(told.refused, 1);
  assert_non_null(strstr(s.err.msg, "not the leader: the leader key changed"));
  char now[128];
  snprintf(now, sizeof now, "ik/leader was created at revision %lld, now created at revision %lld", (long long)rev,
           (long long)fx->fake.revision);
  if (strstr(s.err.msg, now) == NULL) fail_msg("%s", s.err.msg);
  assert_string_equal(fake_value(fx, "ik/groups/a/spec"), "{\"n\":1}\n");
  assert_int_equal(ik_store_etcd_refused(st), 1);
  /* A guarded delete too; and with the key gone altogether. */
  DO(fx, &s, st->vt->del(st->self, "groups/a/spec", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTLEADER);
  assert_non_null(fake_value(fx, "ik/groups/a/spec"));
  json_object_del(fx->fake.kv, "ik/leader");
  DO(fx, &s, st->vt->put(st->self, "groups/a/spec", doc2, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTLEADER);
  assert_non_null(strstr(s.err.msg, ", now absent)"));
  assert_int_equal(ik_store_etcd_refused(st), 3);
  assert_int_equal(told.calls, 3);
  assert_int_equal(told.refused, 3);
  assert_int_equal(ik_store_etcd_on_refused(st, NULL, NULL, &err), 0);
  /* Reads are not fenced. */
  DO(fx, &s, st->vt->get(st->self, "groups/a/spec", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_string_equal(fx->fake.last_path, "/v3/kv/range");
  /* No guard: plain writes again. */
  assert_int_equal(ik_store_etcd_set_guard(st, NULL, 0, &err), 0);
  DO(fx, &s, st->vt->put(st->self, "groups/a/spec", doc2, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_string_equal(fx->fake.last_path, "/v3/kv/put");
  slot_clear(&s);
  json_decref(doc);
  json_decref(doc2);
}

static void a_failed_txn_is_read_by_the_absence_of_succeeded(void **state) {
  fixture_t *fx = *state;
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  ik_err_t err = {0};
  /* Guarded on a key that never existed: etcd answers without "succeeded". */
  assert_int_equal(ik_store_etcd_set_guard(st, "ik/leader", 7, &err), 0);
  json_t *doc = json_object();
  DO(fx, &s, st->vt->put(st->self, "x", doc, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTLEADER);
  assert_int_equal(ik_store_etcd_refused(st), 1);
  slot_clear(&s);
  json_decref(doc);
  /* set_guard on another kind of store is refused. */
  ik_store_t other = {.vt = NULL, .self = NULL};
  assert_int_equal(ik_store_etcd_set_guard(&other, "k", 1, &err), IK_EINVAL);
  assert_int_equal(ik_store_etcd_refused(&other), 0);
  assert_int_equal(ik_store_etcd_on_refused(&other, on_refusal, NULL, &err), IK_EINVAL);
}

/* ---- endpoints ------------------------------------------------------------------- */

static void a_dead_endpoint_is_skipped_and_the_next_answers(void **state) {
  fixture_t *fx = *state;
  fx->store.vt->free(fx->store.self);
  ik_etcd_gateway_free(&fx->gw);
  char eps[96];
  snprintf(eps, sizeof eps, "127.0.0.1:%d,127.0.0.1:%d", fx->dead_port, fx->fake.port);
  open_store(fx, eps, "ik");
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  json_t *doc = json_pack("{s:i}", "n", 1);
  DO(fx, &s, st->vt->put(st->self, "a", doc, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_int_equal(fx->fake.requests, 1);
  /* The next call goes straight to the one that answered. */
  DO(fx, &s, st->vt->get(st->self, "a", on_slot, &s, &e_));
  assert_true(json_equal(s.result, doc));
  assert_int_equal(fx->fake.requests, 2);
  slot_clear(&s);
  json_decref(doc);
}

static void no_endpoint_answering_names_them(void **state) {
  fixture_t *fx = *state;
  fx->store.vt->free(fx->store.self);
  ik_etcd_gateway_free(&fx->gw);
  int other = closed_port();
  char eps[96];
  snprintf(eps, sizeof eps, "127.0.0.1:%d,127.0.0.1:%d", fx->dead_port, other);
  open_store(fx, eps, "ik");
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  DO(fx, &s, st->vt->get(st->self, "a", on_slot, &s, &e_));
  assert_int_not_equal(s.err.code, 0);
  char want[128];
  snprintf(want, sizeof want, "store get a: no etcd endpoint answered (2 tried); etcd 127.0.0.1:%d: ", fx->dead_port);
  if (strncmp(s.err.msg, want, strlen(want)) != 0) fail_msg("%s", s.err.msg);
  slot_clear(&s);
}

static void the_store_url_is_parsed_or_refused_naming_the_part(void **state) {
  (void)state;
  char *eps, *prefix;
  ik_err_t err = {0};
  assert_int_equal(ik_store_etcd_parse_url("etcd://10.0.0.1:2379,h2:2379/infra/prod", &eps, &prefix, &err), 0);
  assert_string_equal(eps, "10.0.0.1:2379,h2:2379");
  assert_string_equal(prefix, "infra/prod");
  ik_free(eps);
  ik_free(prefix);
  assert_int_equal(ik_store_etcd_parse_url("etcd://127.0.0.1:2379", &eps, &prefix, &err), 0);
  assert_string_equal(prefix, "infrakit"); /* the default */
  ik_free(eps);
  ik_free(prefix);
  static const struct {
    const char *url, *says;
  } bad[] = {
      {"http://h:1/x", "want etcd://HOST:PORT"},
      {"etcd:///x", "no HOST:PORT"},
      {"etcd://h/x", "endpoint \"h\": want HOST:PORT"},
      {"etcd://h:0/x", "endpoint \"h:0\""},
      {"etcd://h:99999/x", "endpoint \"h:99999\""},
      {"etcd://h:1,/x", "an empty endpoint"},
      {"etcd://h:1,,h:2/x", "endpoint \"\""},
      {"etcd://h:1/a//b", "prefix: empty"},
      {"etcd://h:1/a b", "prefix: ' ' is not allowed"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(ik_store_etcd_parse_url(bad[i].url, &eps, &prefix, &err), IK_EINVAL);
    if (strstr(err.msg, bad[i].says) == NULL) fail_msg("%s: %s", bad[i].url, err.msg);
    assert_null(eps);
    assert_null(prefix);
  }
}

/* ---- the contract, against the fake ------------------------------------------------ */

static void contract_against_the_fake(void **state) {
  fixture_t *fx = *state;
  contract_round_trip(&fx->store, wait_slot, fx);
  contract_bad_keys(&fx->store);
}

/* ---- the contract, against a real etcd ------------------------------------------------ */

typedef struct real_etcd {
  pid_t pid;
  char dir[64];
  char endpoint[64];
  const char *skip; /* why not, or NULL */
} real_etcd_t;

static real_etcd_t real;

static int start_real_etcd(void **state) {
  (void)state;
  if (system("etcd --version >/dev/null 2>&1") != 0) {
    real.skip = "etcd is not installed (make deps installs etcd-server)";
    return 0;
  }
  snprintf(real.dir, sizeof real.dir, "/tmp/ik-etcd-unit-XXXXXX");
  if (mkdtemp(real.dir) == NULL) return -1;
  int cport = closed_port(), pport = closed_port();
  snprintf(real.endpoint, sizeof real.endpoint, "127.0.0.1:%d", cport);
  char curl[64], purl[64], data[96], cluster[96], log[96];
  snprintf(curl, sizeof curl, "http://127.0.0.1:%d", cport);
  snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport);
  snprintf(data, sizeof data, "%s/data", real.dir);
  snprintf(cluster, sizeof cluster, "u=%s", purl);
  snprintf(log, sizeof log, "%s/etcd.log", real.dir);
  real.pid = fork();
  if (real.pid == 0) {
    FILE *out = freopen(log, "w", stdout);
    (void)out;
    dup2(1, 2);
    execlp("etcd", "etcd", "--name", "u", "--data-dir", data, "--listen-client-urls", curl,
           "--advertise-client-urls", curl, "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
           "--initial-cluster", cluster, "--initial-cluster-state", "new", (char *)NULL);
    _exit(127);
  }
  /* Healthy when /health answers (curl keeps this test free of a loop). */
  char cmd[160];
  snprintf(cmd, sizeof cmd, "curl -sf %s/health 2>/dev/null | grep -q '\"health\":\"true\"'", curl);
  for (int i = 0; i < 200; i++) {
    if (system(cmd) == 0) return 0;
    usleep(50000);
  }
  real.skip = "etcd did not become healthy within 10 s";
  return 0;
}

static int stop_real_etcd(void **state) {
  (void)state;
  if (real.pid > 0) {
    kill(real.pid, SIGKILL);
    waitpid(real.pid, NULL, 0);
  }
  if (real.dir[0]) {
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", real.dir);
    if (system(cmd) != 0) return -1;
  }
  return 0;
}

static void contract_against_a_real_etcd(void **state) {
  fixture_t *fx = *state;
  if (real.skip) {
    fprintf(stderr, "skipped: %s\n", real.skip);
    skip();
  }
  fx->store.vt->free(fx->store.self);
  ik_etcd_gateway_free(&fx->gw);
  open_store(fx, real.endpoint, "contract");
  contract_round_trip(&fx->store, wait_slot, fx);
  contract_bad_keys(&fx->store);
  /* Fencing against the real thing: a guard on a key created by this
   * test, then re-created (a new create revision). */
  ik_store_t *st = &fx->store;
  slot_t s = {0};
  json_t *leader = json_pack("{s:s}", "at", "a");
  DO(fx, &s, st->vt->put(st->self, "leader", leader, on_slot, &s, &e_));
  json_t *range = json_pack("{s:o}", "key", b64("contract/leader"));
  DO(fx, &s, fx->gw.vt->call(fx->gw.self, "/v3/kv/range", range, on_slot, &s, &e_));
  json_decref(range);
  int64_t rev = ik_etcd_int(json_array_get(json_object_get(s.result, "kvs"), 0), "create_revision");
  assert_true(rev > 0);
  ik_err_t err = {0};
  assert_int_equal(ik_store_etcd_set_guard(st, "contract/leader", rev, &err), 0);
  DO(fx, &s, st->vt->put(st->self, "groups/g/spec", leader, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_int_equal(ik_store_etcd_set_guard(st, NULL, 0, &err), 0);
  DO(fx, &s, st->vt->del(st->self, "leader", on_slot, &s, &e_));
  DO(fx, &s, st->vt->put(st->self, "leader", leader, on_slot, &s, &e_));
  assert_int_equal(ik_store_etcd_set_guard(st, "contract/leader", rev, &err), 0);
  DO(fx, &s, st->vt->put(st->self, "groups/g/spec", leader, on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTLEADER);
  assert_int_equal(ik_store_etcd_refused(st), 1);
  slot_clear(&s);
  json_decref(leader);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(put_sends_the_file_stores_text_under_the_prefix_in_base64, setup, teardown),
      cmocka_unit_test_setup_teardown(list_ranges_over_the_prefix_keys_only, setup, teardown),
      cmocka_unit_test_setup_teardown(a_value_that_is_not_json_is_an_error_naming_the_etcd_key, setup, teardown),
      cmocka_unit_test_setup_teardown(etcds_error_answer_names_the_endpoint_and_its_message, setup, teardown),
      cmocka_unit_test_setup_teardown(guarded_writes_are_txns_on_the_leader_keys_create_revision, setup, teardown),
      cmocka_unit_test_setup_teardown(a_failed_txn_is_read_by_the_absence_of_succeeded, setup, teardown),
      cmocka_unit_test_setup_teardown(a_dead_endpoint_is_skipped_and_the_next_answers, setup, teardown),
      cmocka_unit_test_setup_teardown(no_endpoint_answering_names_them, setup, teardown),
      cmocka_unit_test(the_store_url_is_parsed_or_refused_naming_the_part),
      cmocka_unit_test_setup_teardown(contract_against_the_fake, setup, teardown),
      cmocka_unit_test_setup_teardown(contract_against_a_real_etcd, setup, teardown),
  };
  return cmocka_run_group_tests(tests, start_real_etcd, stop_real_etcd);
}
