/* Leader election over etcd: lease, keepalive, campaign, watch
 * (manager_etcd.h). One state machine per daemon:
 *
 *   granting  -> /v3/lease/grant; then keepalive every TTL/3 and campaign
 *   campaign  -> create-if-absent txn on the leader key; won: leader;
 *                lost: follower of the holder; then watch the key
 *   leader    -> until the lease is gone (keepalive without TTL), no
 *                keepalive succeeded for the lease's TTL (less a margin),
 *                or the watch shows the key deleted or re-created
 *   follower  -> campaign again when the watch shows the key deleted
 *
 * A lost lease ends an epoch: its timers, watch and late answers are
 * dropped, and a new lease is granted. Every gateway call carries its
 * epoch; the manager is released once no call is outstanding. */
#include "engine/manager_etcd.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "engine/etcd_json.h"
#include "loop/complete.h"
#include "loop/timer.h"

struct ik_manager_etcd {
  ik_loop_t *loop;
  ik_etcd_gateway_t gw;
  char *key;
  char *location;
  int64_t ttl_ms;
  void (*on_gained)(int64_t, void *);
  void (*on_lost)(const char *, void *);
  void *ctx;

  uint64_t epoch; /* one per lease */
  int64_t lease;  /* 0 while none is granted */
  bool leader;    /* we hold the key at my_rev */
  int64_t my_rev;
  char *leader_loc;      /* the holder's value, NULL when nobody holds the key */
  int64_t watch_from;    /* the revision after the last one seen */
  void *watch;           /* the stream, NULL when none */
  bool campaigning;      /* a txn is out */
  bool again;            /* campaign once more when it is answered (the key changed meanwhile) */
  ik_timer_t *keepalive; /* repeating, every TTL/3 */
  ik_timer_t *deadline;  /* one-shot: the lease may expire after this */
  int64_t deadline_ms;   /* when, in the loop's clock (uv_now) */
  ik_timer_t *retry;     /* one-shot: grant or campaign again */
  int pending;           /* gateway calls and streams outstanding */
  char *last_error;      /* the last call's error, NULL after a success */
  char *lost_why;        /* after a step-down, until a campaign tells who leads: why we do not know */
  bool closing;
  bool resigned; /* no campaign any more */
};

typedef struct op {
  ik_manager_etcd_t *m;
  uint64_t epoch;
  uint64_t sent;  /* loop time the request left */
  ik_spi_cb done; /* resign's caller */
  void *done_data;
} op_t;

static void grant(ik_manager_etcd_t *m);
static void campaign(ik_manager_etcd_t *m);

static void release(ik_manager_etcd_t *m) {
  ik_free(m->key);
  ik_free(m->location);
  ik_free(m->leader_loc);
  ik_free(m->last_error);
  ik_free(m->lost_why);
  ik_free(m);
}

/* A gateway answer arrived: false when it must be dropped (the manager is
 * closing or the epoch it belongs to has ended). Frees op. With record,
 * err (NULL: success) becomes the last error. */
static bool answer_current(op_t *op, const ik_err_t *err, bool record) {
  ik_manager_etcd_t *m = op->m;
  bool current = !m->closing && op->epoch == m->epoch;
  if (record && !m->closing && (!err || err->code != IK_ECANCELED)) {
    ik_free(m->last_error);
    m->last_error = err ? ik_strdup(err->msg) : NULL;
  }
  ik_free(op);
  m->pending--;
  if (m->closing && m->pending == 0) release(m);
  return current;
}

static op_t *op_new(ik_manager_etcd_t *m) {
  op_t *op = IK_NEW(op_t);
  op->m = m;
  op->epoch = m->epoch;
  op->sent = uv_now(&m->loop->uv);
  m->pending++;
  return op;
}

static void op_failed(op_t *op) {
  op->m->pending--;
  ik_free(op);
}

static void stop_timer(ik_timer_t **t) {
  if (*t) ik_timer_stop(*t);
  *t = NULL;
}

static void set_leader_loc(ik_manager_etcd_t *m, const char *loc) {
  ik_free(m->leader_loc);
  m->leader_loc = ik_strdup(loc);
  if (loc) {
    ik_free(m->lost_why);
    m->lost_why = NULL;
  }
}

static void step_down(ik_manager_etcd_t *m, const char *reason) {
  if (!m->leader) return;
  m->leader = false;
  m->my_rev = 0;
  set_leader_loc(m, NULL);
  ik_log(IK_LOG_WARN, "manager", "leadership lost: stopped acting", "reason", reason, NULL);
  if (m->on_lost) m->on_lost(reason, m->ctx);
}

static void become_leader(ik_manager_etcd_t *m, int64_t rev) {
  set_leader_loc(m, m->location);
  if (m->leader && m->my_rev == rev) return;
  m->leader = true;
  m->my_rev = rev;
  char r[24];
  snprintf(r, sizeof r, "%" PRId64, rev);
  ik_log(IK_LOG_INFO, "manager", "leadership gained", "location", m->location, "revision", r, NULL);
  if (m->on_gained) m->on_gained(rev, m->ctx);
}

/* ---- retries ---- */

static void on_retry(ik_timer_t *t, void *data) {
  ik_manager_etcd_t *m = data;
  (void)t;
  m->retry = NULL;
  if (m->lease == 0)
    grant(m);
  else
    campaign(m);
}

/* Grant (no lease) or campaign again after delay_ms, once. */
static void retry_later(ik_manager_etcd_t *m, int64_t delay_ms) {
  if (m->retry || m->closing || m->resigned) return;
  ik_err_t err = {0};
  if (ik_timer_start(m->loop, (uint64_t)delay_ms, 0, on_retry, m, &m->retry, &err) < 0)
    ik_log(IK_LOG_ERROR, "manager", "cannot start a timer", "error", err.msg, NULL);
}

/* No timer fires and the watch ends (its on_end still comes, and is
 * dropped as stale). */
static void stop_all(ik_manager_etcd_t *m) {
  stop_timer(&m->keepalive);
  stop_timer(&m->deadline);
  stop_timer(&m->retry);
  if (m->watch) m->gw.vt->cancel_watch(m->gw.self, m->watch);
  m->watch = NULL;
}

/* The lease is gone (or cannot be trusted): end the epoch, start over. */
static void lease_lost(ik_manager_etcd_t *m, const char *reason) {
  step_down(m, reason);
  ik_free(m->lost_why);
  m->lost_why = ik_sprintf("this manager lost its lease (%s) and has not campaigned since: it does not know who leads yet",
                           reason);
  m->epoch++;
  m->lease = 0;
  m->campaigning = false;
  m->again = false;
  stop_all(m);
  set_leader_loc(m, NULL);
  retry_later(m, m->ttl_ms / 3);
}

/* ---- watch ---- */

static void on_watch_msg(json_t *msg, void *data) {
  op_t *op = data;
  ik_manager_etcd_t *m = op->m;
  if (m->closing || op->epoch != m->epoch) return;
  json_t *header = json_object_get(msg, "header");
  int64_t rev = ik_etcd_int(header, "revision");
  if (rev >= m->watch_from) m->watch_from = rev + 1;
  size_t i;
  json_t *ev;
  json_array_foreach(json_object_get(msg, "events"), i, ev) {
    json_t *kv = json_object_get(ev, "kv");
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "DELETE") == 0) {
      set_leader_loc(m, NULL);
      step_down(m, "the leader key was deleted (the lease expired or was revoked)");
      campaign(m);
      continue;
    }
    int64_t crev = ik_etcd_int(kv, "create_revision");
    if (m->leader && crev != m->my_rev) step_down(m, "the leader key was re-created by another manager");
    char *loc = ik_etcd_unb64(kv, "value");
    if (!m->leader) set_leader_loc(m, loc);
    ik_free(loc);
  }
}

static void on_watch_end(json_t *result, const ik_err_t *err, void *data) {
  op_t *op = data;
  ik_manager_etcd_t *m = op->m;
  (void)result;
  bool current = !m->closing && op->epoch == m->epoch;
  if (current) m->watch = NULL;
  if (!answer_current(op, err, false) || !current) return;
  ik_log(IK_LOG_WARN, "manager", "the leader key's watch ended; watching again", "error",
         err ? err->msg : "closed", NULL);
  retry_later(m, m->ttl_ms / 3);
}

static void start_watch(ik_manager_etcd_t *m) {
  if (m->watch || m->closing) return;
  json_t *req = json_object();
  json_object_set_new(req, "key", ik_etcd_b64(m->key, strlen(m->key)));
  if (m->watch_from > 0) json_object_set_new(req, "start_revision", json_integer(m->watch_from));
  op_t *op = op_new(m);
  ik_err_t err = {0};
  if (m->gw.vt->watch(m->gw.self, req, on_watch_msg, on_watch_end, op, &m->watch, &err) < 0) {
    op_failed(op);
    m->watch = NULL;
    ik_log(IK_LOG_WARN, "manager", "cannot watch the leader key", "error", err.msg, NULL);
    retry_later(m, m->ttl_ms / 3);
  }
  json_decref(req);
}

/* ---- campaign ---- */

static void on_campaign(json_t *res, const ik_err_t *err, void *data) {
  op_t *op = data;
  ik_manager_etcd_t *m = op->m;
  if (!answer_current(op, err, true)) return;
  m->campaigning = false;
  if (m->again) {
    m->again = false;
    campaign(m);
    return;
  }
  if (err) {
    ik_log(IK_LOG_WARN, "manager", "campaign failed; trying again", "error", err->msg, NULL);
    retry_later(m, m->ttl_ms / 3);
    return;
  }
  bool won = json_is_true(json_object_get(res, "succeeded")); /* absent when the compare failed */
  json_t *responses = json_object_get(res, "responses");
  json_t *range = json_object_get(json_array_get(responses, won ? 1 : 0), "response_range");
  json_t *kv = json_array_get(json_object_get(range, "kvs"), 0);
  int64_t rev = ik_etcd_int(json_object_get(res, "header"), "revision");
  if (rev >= m->watch_from) m->watch_from = rev + 1;
  if (!kv) { /* deleted between the compare and the range: try again */
    set_leader_loc(m, NULL);
    step_down(m, "the leader key is gone");
    retry_later(m, 50);
    return;
  }
  int64_t crev = ik_etcd_int(kv, "create_revision");
  if (won || ik_etcd_int(kv, "lease") == m->lease) {
    become_leader(m, crev);
  } else {
    step_down(m, "another manager holds the leader key");
    char *loc = ik_etcd_unb64(kv, "value");
    set_leader_loc(m, loc);
    ik_free(loc);
  }
  start_watch(m);
}

static void campaign(ik_manager_etcd_t *m) {
  if (m->closing || m->lease == 0) return;
  if (m->campaigning) {
    m->again = true;
    return;
  }
  json_t *key = ik_etcd_b64(m->key, strlen(m->key));
  char lease[24];
  snprintf(lease, sizeof lease, "%" PRId64, m->lease);
  json_t *range = json_pack("{s:{s:O}}", "request_range", "key", key);
  json_t *body = json_pack("{s:[{s:O,s:s,s:s,s:s}],s:[{s:{s:O,s:o,s:s}},O],s:[O]}", "compare", "key", key, "result",
                           "EQUAL", "target", "CREATE", "create_revision", "0", "success", "request_put", "key", key,
                           "value", ik_etcd_b64(m->location, strlen(m->location)), "lease", lease, range, "failure",
                           range);
  op_t *op = op_new(m);
  ik_err_t err = {0};
  m->campaigning = true;
  if (m->gw.vt->call(m->gw.self, "/v3/kv/txn", body, on_campaign, op, &err) < 0) {
    op_failed(op);
    m->campaigning = false;
    ik_log(IK_LOG_WARN, "manager", "cannot campaign", "error", err.msg, NULL);
    retry_later(m, m->ttl_ms / 3);
  }
  json_decref(body);
  json_decref(range);
  json_decref(key);
}

/* ---- lease ---- */

static void on_deadline(ik_timer_t *t, void *data) {
  ik_manager_etcd_t *m = data;
  (void)t;
  m->deadline = NULL;
  lease_lost(m, "no keepalive succeeded within the lease's TTL: the lease may have expired");
}

/* A keepalive sent at sent (loop time) succeeded: the lease lives until at
 * least sent + TTL. Give up leadership a margin before that. */
static void lease_alive(ik_manager_etcd_t *m, uint64_t sent) {
  int64_t margin = m->ttl_ms / 6;
  m->deadline_ms = (int64_t)sent + m->ttl_ms - margin;
  int64_t due = m->deadline_ms - (int64_t)uv_now(&m->loop->uv);
  stop_timer(&m->deadline);
  ik_err_t err = {0};
  if (ik_timer_start(m->loop, due > 0 ? (uint64_t)due : 0, 0, on_deadline, m, &m->deadline, &err) < 0)
    ik_log(IK_LOG_ERROR, "manager", "cannot start a timer", "error", err.msg, NULL);
}

static void on_keepalive(json_t *res, const ik_err_t *err, void *data) {
  op_t *op = data;
  ik_manager_etcd_t *m = op->m;
  uint64_t sent = op->sent;
  if (!answer_current(op, err, true)) return;
  if (err) {
    ik_log(IK_LOG_WARN, "manager", "keepalive failed", "error", err->msg, NULL);
    return; /* the deadline decides */
  }
  json_t *r = json_object_get(res, "result");
  if (!r) r = res;
  if (ik_etcd_int(r, "TTL") <= 0) {
    lease_lost(m, "the lease expired (keepalive answered without a TTL)");
    return;
  }
  lease_alive(m, sent);
}

static void on_keepalive_tick(ik_timer_t *t, void *data) {
  ik_manager_etcd_t *m = data;
  (void)t;
  char id[24];
  snprintf(id, sizeof id, "%" PRId64, m->lease);
  json_t *body = json_pack("{s:s}", "ID", id);
  op_t *op = op_new(m);
  ik_err_t err = {0};
  if (m->gw.vt->call(m->gw.self, "/v3/lease/keepalive", body, on_keepalive, op, &err) < 0) {
    op_failed(op);
    ik_log(IK_LOG_WARN, "manager", "cannot send a keepalive", "error", err.msg, NULL);
  }
  json_decref(body);
}

static void on_grant(json_t *res, const ik_err_t *err, void *data) {
  op_t *op = data;
  ik_manager_etcd_t *m = op->m;
  uint64_t sent = op->sent;
  if (!answer_current(op, err, true)) return;
  int64_t id = err ? 0 : ik_etcd_int(res, "ID");
  if (id == 0) {
    ik_log(IK_LOG_WARN, "manager", "cannot grant a lease; trying again", "error",
           err ? err->msg : "the answer has no lease ID", NULL);
    retry_later(m, m->ttl_ms / 3);
    return;
  }
  m->lease = id;
  ik_err_t e = {0};
  uint64_t every = ik_manager_etcd_keepalive_every_ms(m->ttl_ms);
  if (ik_timer_start(m->loop, every, every, on_keepalive_tick, m, &m->keepalive, &e) < 0)
    ik_log(IK_LOG_ERROR, "manager", "cannot start a timer", "error", e.msg, NULL);
  lease_alive(m, sent);
  campaign(m);
}

static void grant(ik_manager_etcd_t *m) {
  if (m->closing) return;
  json_t *body = json_pack("{s:I}", "TTL", (json_int_t)((m->ttl_ms + 999) / 1000));
  op_t *op = op_new(m);
  ik_err_t err = {0};
  if (m->gw.vt->call(m->gw.self, "/v3/lease/grant", body, on_grant, op, &err) < 0) {
    op_failed(op);
    ik_log(IK_LOG_WARN, "manager", "cannot grant a lease", "error", err.msg, NULL);
    retry_later(m, m->ttl_ms / 3);
  }
  json_decref(body);
}

/* ---- public ---- */

/* The lease's TTL for lease_ttl_ms (0: 2 s): etcd counts whole seconds. */
static int64_t lease_ttl(int64_t lease_ttl_ms) {
  int64_t ttl = lease_ttl_ms > 0 ? lease_ttl_ms : 2000;
  return (ttl + 999) / 1000 * 1000;
}

uint64_t ik_manager_etcd_keepalive_every_ms(int64_t lease_ttl_ms) {
  int64_t every = lease_ttl(lease_ttl_ms) / 3;
  return (uint64_t)(every > 0 ? every : 1);
}

int ik_manager_etcd_new(ik_loop_t *loop, const ik_manager_etcd_opts_t *o, ik_manager_etcd_t **out, ik_err_t *err) {
  if (!o->gateway.vt || !o->location || !*o->location)
    return ik_err_set(err, IK_EINVAL, "etcd manager: a gateway and an advertised location are required");
  if (o->lease_ttl_ms < 0) return ik_err_set(err, IK_EINVAL, "--lease-ttl: must be positive");
  ik_manager_etcd_t *m = IK_NEW(ik_manager_etcd_t);
  m->loop = loop;
  m->gw = o->gateway;
  const char *prefix = o->prefix && *o->prefix ? o->prefix : "infrakit";
  size_t n = strlen(prefix) + sizeof "/leader";
  m->key = ik_malloc(n);
  snprintf(m->key, n, "%s/leader", prefix);
  m->location = ik_strdup(o->location);
  m->ttl_ms = lease_ttl(o->lease_ttl_ms);
  m->on_gained = o->on_gained;
  m->on_lost = o->on_lost;
  m->ctx = o->ctx;
  retry_later(m, 0);
  *out = m;
  return 0;
}

static void on_revoke(json_t *res, const ik_err_t *err, void *data) {
  op_t *op = data;
  ik_spi_cb done = op->done;
  void *done_data = op->done_data;
  answer_current(op, err, true);
  if (err) ik_log(IK_LOG_WARN, "manager", "cannot revoke the lease; it expires by itself", "error", err->msg, NULL);
  done(NULL, err, done_data);
}

int ik_manager_etcd_resign(ik_manager_etcd_t *m, ik_spi_cb cb, void *data, ik_err_t *err) {
  step_down(m, "resigned: shutting down");
  m->resigned = true;
  int64_t lease = m->lease;
  m->epoch++;
  m->lease = 0;
  stop_all(m);
  if (lease == 0) return ik_loop_complete(m->loop, cb, data, NULL, NULL);
  char id[24];
  snprintf(id, sizeof id, "%" PRId64, lease);
  json_t *body = json_pack("{s:s}", "ID", id);
  op_t *op = op_new(m);
  op->done = cb;
  op->done_data = data;
  int rc = m->gw.vt->call(m->gw.self, "/v3/lease/revoke", body, on_revoke, op, err);
  if (rc < 0) op_failed(op);
  json_decref(body);
  return rc;
}

bool ik_manager_etcd_is_leader(const ik_manager_etcd_t *m) { return m->leader; }

bool ik_manager_etcd_may_act(const ik_manager_etcd_t *m) {
  /* The clock now, not the loop's cached time: a daemon paused inside a
   * callback, or just woken, must not go by the time the iteration began.
   * uv_now counts the same monotonic milliseconds (coarser, never ahead). */
  return m->leader && (int64_t)(uv_hrtime() / 1000000) < m->deadline_ms;
}

const char *ik_manager_etcd_last_error(const ik_manager_etcd_t *m) {
  return m->last_error ? m->last_error : m->lost_why;
}

const char *ik_manager_etcd_leader(const ik_manager_etcd_t *m) { return m->leader_loc; }

void ik_manager_etcd_free(ik_manager_etcd_t *m) {
  if (!m) return;
  m->closing = true;
  stop_all(m);
  if (m->pending == 0) release(m);
}

static int is_leader(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_manager_etcd_t *m = self;
  (void)err;
  return ik_loop_complete(m->loop, cb, data, json_boolean(m->leader), NULL);
}

static int leader_location(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_manager_etcd_t *m = self;
  (void)err;
  if (!m->leader_loc) {
    ik_err_t e = {0};
    ik_err_set(&e, IK_ENOTFOUND, "no leader is known: no manager holds the leader key %s", m->key);
    return ik_loop_complete(m->loop, cb, data, NULL, &e);
  }
  return ik_loop_complete(m->loop, cb, data, json_string(m->leader_loc), NULL);
}

static void plugin_free(void *self) { ik_manager_etcd_free(self); }

static const ik_manager_vtable_t etcd_vt = {
    .kind = "etcd",
    .is_leader = is_leader,
    .leader_location = leader_location,
    .free = plugin_free,
};

ik_manager_plugin_t ik_manager_etcd_plugin(ik_manager_etcd_t *m) { return (ik_manager_plugin_t){&etcd_vt, m}; }
