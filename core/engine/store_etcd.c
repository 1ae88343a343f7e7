/* The etcd store (store_etcd.h). */
#include "engine/store_etcd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/json.h"
#include "base/mem.h"
#include "engine/engine_metrics.h"
#include "engine/etcd_json.h"
#include "engine/store_file.h"

typedef struct store_etcd {
  ik_loop_t *loop;
  ik_etcd_gateway_t gw;
  char *prefix; /* "infrakit": documents are "infrakit/KEY" */
  char *guard_key;
  int64_t guard_rev; /* 0: no guard */
  uint64_t refused;
  ik_store_etcd_refused_cb on_refused; /* NULL: nobody is told */
  void *on_refused_ctx;
  size_t refs; /* 1 for the owner until free, +1 per call in flight */
} store_etcd_t;

static void store_unref(store_etcd_t *s) {
  if (--s->refs > 0) return;
  ik_free(s->prefix);
  ik_free(s->guard_key);
  ik_free(s);
}

typedef enum { OP_PUT,
               OP_GET,
               OP_DEL,
               OP_LIST } op_kind_t;
static const char *const op_names[] = {"put", "get", "del", "list"};

/* One call in flight. */
typedef struct op {
  store_etcd_t *s;
  op_kind_t kind;
  char *key;       /* the store key (or list prefix) */
  char *guard_key; /* the guard it was sent with, or NULL */
  int64_t guard_rev;
  ik_spi_cb cb;
  void *data;
  uint64_t started_ns; /* infrakit_store_write_duration_seconds */
} op_t;

static json_t *b64s(const char *s) { return ik_etcd_b64(s, strlen(s)); }

/* "PREFIX/key" as base64. */
static json_t *etcd_key(const store_etcd_t *s, const char *key) {
  char *full = ik_sprintf("%s/%s", s->prefix, key);
  json_t *v = b64s(full);
  ik_free(full);
  return v;
}

/* The first key after every key that starts with p: p with its last byte
 * incremented (etcd's range_end for a prefix; p never ends in 0xff here). */
static json_t *range_end(const char *p) {
  size_t n = strlen(p);
  char *end = ik_strdup(p);
  end[n - 1] = (char)(end[n - 1] + 1);
  json_t *v = ik_etcd_b64(end, n);
  ik_free(end);
  return v;
}

/* --- answers ------------------------------------------------------------------- */

static void finish(op_t *op, json_t *result, const ik_err_t *err) {
  if (op->kind == OP_PUT || op->kind == OP_DEL)
    ik_metric_observe_since(ik_metric_series(ik_engine_metrics()->store_seconds, "etcd"), op->started_ns);
  op->cb(err ? NULL : result, err, op->data);
  json_decref(result);
  store_unref(op->s);
  ik_free(op->key);
  ik_free(op->guard_key);
  ik_free(op);
}

/* A txn answered without "succeeded" (etcd omits false): refused. Its
 * failure branch read the guard key, so the message says who holds it. */
static void refused(op_t *op, json_t *answer) {
  op->s->refused++;
  if (op->s->on_refused) op->s->on_refused(op_names[op->kind], op->key, op->s->refused, op->s->on_refused_ctx);
  json_t *range = json_object_get(json_array_get(json_object_get(answer, "responses"), 0), "response_range");
  json_t *kv = json_array_get(json_object_get(range, "kvs"), 0);
  char now[64];
  if (kv) snprintf(now, sizeof now, "created at revision %" PRId64, ik_etcd_int(kv, "create_revision"));
  else snprintf(now, sizeof now, "absent");
  ik_err_t e = {0};
  ik_err_set(&e, IK_ENOTLEADER,
             "not the leader: the leader key changed (store %s %s: %s was created at revision %" PRId64 ", now %s)",
             op_names[op->kind], op->key, op->guard_key, op->guard_rev, now);
  finish(op, NULL, &e);
}

static void on_answer(json_t *answer, const ik_err_t *err, void *data) {
  op_t *op = data;
  ik_err_t e = {0};
  if (err) {
    ik_err_set(&e, err->code, "store %s %s: %s", op_names[op->kind], op->key, err->msg);
    return finish(op, NULL, &e);
  }
  if (op->guard_key && (op->kind == OP_PUT || op->kind == OP_DEL)) {
    if (!json_is_true(json_object_get(answer, "succeeded"))) return refused(op, answer);
    return finish(op, json_null(), NULL);
  }
  switch (op->kind) {
  case OP_PUT:
  case OP_DEL:
    return finish(op, json_null(), NULL);
  case OP_GET: {
    json_t *kv = json_array_get(json_object_get(answer, "kvs"), 0);
    if (kv == NULL) {
      ik_err_set(&e, IK_ENOTFOUND, "store: no %s", op->key);
      return finish(op, NULL, &e);
    }
    char *text = ik_etcd_unb64(kv, "value"); /* NULL: an empty value (omitted) */
    json_error_t je;
    json_t *doc = json_loads(text ? text : "", JSON_DECODE_ANY, &je);
    if (doc == NULL)
      ik_err_set(&e, IK_EIO, "store: etcd key %s/%s:%d:%d: invalid JSON: %s", op->s->prefix, op->key, je.line,
                 ik_json_error_column(&je), je.text);
    ik_free(text);
    return finish(op, doc, e.code ? &e : NULL);
  }
  case OP_LIST: {
    json_t *keys = json_array();
    size_t skip = strlen(op->s->prefix) + 1, i;
    json_t *kv;
    json_array_foreach(json_object_get(answer, "kvs"), i, kv) {
      char *k = ik_etcd_unb64(kv, "key");
      if (k && strlen(k) > skip) json_array_append_new(keys, json_string(k + skip));
      ik_free(k);
    }
    return finish(op, keys, NULL);
  }
  }
}

/* Send body to path for op (taking body); on failure op is freed and cb
 * never runs. */
static int send_op(store_etcd_t *s, op_kind_t kind, const char *key, const char *path, json_t *body, ik_spi_cb cb,
                   void *data, ik_err_t *err) {
  op_t *op = IK_NEW(op_t);
  *op = (op_t){.s = s, .kind = kind, .key = ik_strdup(key), .cb = cb, .data = data, .started_ns = uv_hrtime()};
  if (s->guard_rev > 0 && (kind == OP_PUT || kind == OP_DEL)) {
    op->guard_key = ik_strdup(s->guard_key);
    op->guard_rev = s->guard_rev;
  }
  s->refs++;
  ik_err_t e = {0};
  int rc = s->gw.vt->call(s->gw.self, path, body, on_answer, op, &e);
  json_decref(body);
  if (rc < 0) {
    ik_err_set(err, rc, "store %s %s: %s", op_names[kind], key, e.msg);
    store_unref(s);
    ik_free(op->key);
    ik_free(op->guard_key);
    ik_free(op);
  }
  return rc;
}

/* The fenced form of one write request (request_put or request_delete_range). */
static json_t *guarded(const store_etcd_t *s, const char *request, json_t *args) {
  char rev[32];
  snprintf(rev, sizeof rev, "%" PRId64, s->guard_rev);
  return json_pack("{s:[{s:o, s:s, s:s, s:s}], s:[{s:o}], s:[{s:{s:o}}]}", "compare", "key", b64s(s->guard_key),
                   "target", "CREATE", "result", "EQUAL", "create_revision", rev, "success", request, args,
                   "failure", "request_range", "key", b64s(s->guard_key));
}

/* --- operations ------------------------------------------------------------------ */

static int se_put(void *self, const char *key, json_t *value, ik_spi_cb cb, void *data, ik_err_t *err) {
  store_etcd_t *s = self;
  int rc = ik_store_key_check(key, "store key", err);
  if (rc < 0) return rc;
  if (value == NULL) return ik_err_set(err, IK_EINVAL, "store put %s: no value", key);
  size_t len;
  char *text = ik_json_dump_go(value, true, &len); /* the file store's text */
  json_t *args = json_pack("{s:o, s:o}", "key", etcd_key(s, key), "value", ik_etcd_b64(text, len));
  free(text);
  if (s->guard_rev > 0) return send_op(s, OP_PUT, key, "/v3/kv/txn", guarded(s, "request_put", args), cb, data, err);
  return send_op(s, OP_PUT, key, "/v3/kv/put", args, cb, data, err);
}

static int se_get(void *self, const char *key, ik_spi_cb cb, void *data, ik_err_t *err) {
  store_etcd_t *s = self;
  int rc = ik_store_key_check(key, "store key", err);
  if (rc < 0) return rc;
  return send_op(s, OP_GET, key, "/v3/kv/range", json_pack("{s:o}", "key", etcd_key(s, key)), cb, data, err);
}

static int se_del(void *self, const char *key, ik_spi_cb cb, void *data, ik_err_t *err) {
  store_etcd_t *s = self;
  int rc = ik_store_key_check(key, "store key", err);
  if (rc < 0) return rc;
  json_t *args = json_pack("{s:o}", "key", etcd_key(s, key));
  if (s->guard_rev > 0)
    return send_op(s, OP_DEL, key, "/v3/kv/txn", guarded(s, "request_delete_range", args), cb, data, err);
  return send_op(s, OP_DEL, key, "/v3/kv/deleterange", args, cb, data, err);
}

static int se_list(void *self, const char *prefix, ik_spi_cb cb, void *data, ik_err_t *err) {
  store_etcd_t *s = self;
  if (prefix == NULL) prefix = "";
  char *full = ik_sprintf("%s/%s", s->prefix, prefix);
  json_t *body = json_pack("{s:o, s:o, s:b}", "key", b64s(full), "range_end", range_end(full), "keys_only", 1);
  ik_free(full);
  return send_op(s, OP_LIST, prefix, "/v3/kv/range", body, cb, data, err);
}

static void se_free(void *self) { store_unref(self); }

static const ik_store_vtable_t store_etcd_vt = {
    .kind = "etcd",
    .put = se_put,
    .get = se_get,
    .del = se_del,
    .list = se_list,
    .free = se_free,
};

/* --- construction ---------------------------------------------------------------- */

int ik_store_etcd_parse_url(const char *url, char **endpoints, char **prefix, ik_err_t *err) {
  static const char scheme[] = "etcd://";
  *endpoints = *prefix = NULL;
  if (url == NULL || strncmp(url, scheme, sizeof scheme - 1) != 0)
    return ik_err_set(err, IK_EINVAL, "want etcd://HOST:PORT[,HOST:PORT...][/PREFIX], got \"%.200s\"", url ? url : "");
  const char *hosts = url + sizeof scheme - 1;
  const char *slash = strchr(hosts, '/');
  size_t hlen = slash ? (size_t)(slash - hosts) : strlen(hosts);
  if (hlen == 0) return ik_err_set(err, IK_EINVAL, "no HOST:PORT");
  char *eps = ik_strndup(hosts, hlen);
  /* Each endpoint: a host, ':', a port 1-65535. */
  for (const char *ep = eps; *ep;) {
    const char *comma = strchr(ep, ',');
    size_t n = comma ? (size_t)(comma - ep) : strlen(ep);
    const char *colon = memrchr(ep, ':', n);
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (n == 0 || colon == NULL || colon == ep || end != ep + n || colon + 1 == end || port < 1 || port > 65535) {
      ik_err_set(err, IK_EINVAL, "endpoint \"%.*s\": want HOST:PORT (port 1-65535)", (int)n, ep);
      ik_free(eps);
      return IK_EINVAL;
    }
    ep += n + (comma ? 1 : 0);
    if (comma && *ep == '\0') {
      ik_err_set(err, IK_EINVAL, "an empty endpoint after ','");
      ik_free(eps);
      return IK_EINVAL;
    }
  }
  const char *p = slash ? slash + 1 : "";
  size_t plen = strlen(p);
  while (plen > 0 && p[plen - 1] == '/') plen--; /* "etcd://h:1/infrakit/" */
  char *pre = plen ? ik_strndup(p, plen) : ik_strdup("infrakit");
  ik_err_t ke = {0};
  if (ik_store_key_check(pre, "prefix", &ke) < 0) {
    ik_err_set(err, IK_EINVAL, "%s", ke.msg);
    ik_free(eps);
    ik_free(pre);
    return IK_EINVAL;
  }
  *endpoints = eps;
  *prefix = pre;
  return 0;
}

int ik_store_etcd_new(ik_loop_t *loop, const ik_etcd_gateway_t *gateway, const char *prefix, ik_store_t *out,
                      ik_err_t *err) {
  int rc = ik_store_key_check(prefix, "etcd store prefix", err);
  if (rc < 0) return rc;
  store_etcd_t *s = IK_NEW(store_etcd_t);
  *s = (store_etcd_t){.loop = loop, .gw = *gateway, .prefix = ik_strdup(prefix), .refs = 1};
  out->vt = &store_etcd_vt;
  out->self = s;
  return 0;
}

bool ik_store_is_etcd(const ik_store_t *store) { return store && store->vt == &store_etcd_vt; }

int ik_store_etcd_set_guard(ik_store_t *store, const char *guard_key, int64_t create_revision, ik_err_t *err) {
  if (!ik_store_is_etcd(store)) return ik_err_set(err, IK_EINVAL, "store guard: not an etcd store");
  store_etcd_t *s = store->self;
  ik_free(s->guard_key);
  s->guard_key = NULL;
  s->guard_rev = 0;
  if (guard_key && *guard_key && create_revision > 0) {
    s->guard_key = ik_strdup(guard_key);
    s->guard_rev = create_revision;
  }
  return 0;
}

int ik_store_etcd_on_refused(ik_store_t *store, ik_store_etcd_refused_cb cb, void *ctx, ik_err_t *err) {
  if (!ik_store_is_etcd(store)) return ik_err_set(err, IK_EINVAL, "store refusal callback: not an etcd store");
  store_etcd_t *s = store->self;
  s->on_refused = cb;
  s->on_refused_ctx = ctx;
  return 0;
}

uint64_t ik_store_etcd_refused(const ik_store_t *store) {
  return ik_store_is_etcd(store) ? ((const store_etcd_t *)store->self)->refused : 0;
}
