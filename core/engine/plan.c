/* The plan: a pure function from what is observed to what to do next
 * (contract and rules in plan.h; the user's view in docs/groups.md). */
#include "engine/plan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define BIG INT64_MAX

/* One member of the group: an observed instance, or a provision in flight
 * (pending; it has no ID yet). */
typedef struct member {
  const char *id; /* NULL when pending */
  const char *logical_id;
  const char *hash; /* effective config hash */
  int64_t created;
  int64_t unhealthy_since;
  int64_t healthy_since; /* when healthy */
  int slot;              /* pets: index in LogicalIDs, -1 = not in the spec; cattle: 0 */
  uint64_t rnd;          /* DeletePolicy Random key */
  bool pending, leaving, self, bootstrap, draining, labelling, adopted;
  bool is_new, healthy, unhealthy, available;
} member_t;

/* Counters of one pet slot (cattle use slot 0 for everything). */
typedef struct slot {
  int64_t live, new_live, old_live, avail, new_avail;
} slot_t;

typedef struct plan_ctx {
  const ik_plan_input_t *in;
  const ik_group_spec_t *spec;
  const ik_updating_t *up;
  ik_rollout_state_t *next;
  member_t *m;
  size_t n;
  slot_t *slots;
  size_t n_slots;
  ik_plan_action_t *acts, *waits;
  size_t n_acts, cap_acts, n_waits, cap_waits;
  /* Counters over live members in a valid slot (live = not leaving;
   * exist = live + leaving). */
  int64_t live, exist, new_live, old_live, avail, new_avail, unhealthy, pending, a_slots;
  int64_t D, surge, unavail, min_avail, min_healthy;
  int64_t cap;  /* actions that may be proposed: MaxParallel and the window, less those in flight */
  int64_t held; /* provisions beyond cap: counted, not built */
  char target[IK_HASH_LEN + 1];
  bool failed, short_circuit, canary_paused, paused;
  char fail_reason[IK_PLAN_REASON_MAX];
  char short_reason[IK_PLAN_REASON_MAX];
  char self_reason[IK_PLAN_REASON_MAX];
} plan_ctx_t;

/* --- small helpers --------------------------------------------------------------- */

static const char *plural(int64_t n) { return n == 1 ? "" : "s"; }

/* 90000 -> "1m30s", 600000 -> "10m", 1500 -> "1.5s". */
static const char *fmt_ms(int64_t ms, char *buf, size_t n) {
  if (ms % 1000 != 0) {
    snprintf(buf, n, "%" PRId64 ".%03" PRId64 "s", ms / 1000, ms % 1000);
    return buf;
  }
  int64_t s = ms / 1000, h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  size_t o = 0;
  buf[0] = '\0';
  if (h) o += (size_t)snprintf(buf + o, n - o, "%" PRId64 "h", h);
  if (m && o < n) o += (size_t)snprintf(buf + o, n - o, "%" PRId64 "m", m);
  if ((sec || s == 0) && o < n) snprintf(buf + o, n - o, "%" PRId64 "s", sec);
  return buf;
}

static uint64_t mix(uint64_t seed, const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  uint64_t z = h ^ seed; /* splitmix64 finaliser */
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static ik_plan_action_t *push(ik_plan_action_t **arr, size_t *n, size_t *cap) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *arr = ik_realloc(*arr, *cap * sizeof **arr);
  }
  ik_plan_action_t *a = &(*arr)[(*n)++];
  memset(a, 0, sizeof *a);
  return a;
}

static char *vfmt(const char *fmt, va_list ap) {
  char buf[IK_PLAN_REASON_MAX];
  vsnprintf(buf, sizeof buf, fmt, ap);
  return ik_strdup(buf);
}

static ik_plan_action_t *act(plan_ctx_t *c, ik_plan_action_kind_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ik_plan_action_t *act(plan_ctx_t *c, ik_plan_action_kind_t kind, const char *fmt, ...) {
  ik_plan_action_t *a = push(&c->acts, &c->n_acts, &c->cap_acts);
  va_list ap;
  va_start(ap, fmt);
  a->kind = kind;
  a->why = vfmt(fmt, ap);
  va_end(ap);
  return a;
}

static void wait_for(plan_ctx_t *c, ik_wait_for_t w, int64_t until, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void wait_for(plan_ctx_t *c, ik_wait_for_t w, int64_t until, const char *fmt, ...) {
  ik_plan_action_t *a = push(&c->waits, &c->n_waits, &c->cap_waits);
  va_list ap;
  va_start(ap, fmt);
  a->kind = IK_ACTION_WAIT;
  a->wait_for = w;
  a->until_ms = until == BIG ? 0 : until;
  a->why = vfmt(fmt, ap);
  va_end(ap);
}

static bool counted(const member_t *m) { return m->slot >= 0; }

/* Add (sign 1) or remove (-1) a live member's share of the counters. */
static void tally(plan_ctx_t *c, const member_t *m, int sign) {
  if (!counted(m)) return;
  slot_t *s = &c->slots[m->slot];
  int64_t had = s->avail;
  c->live += sign;
  s->live += sign;
  if (m->pending) c->pending += sign;
  if (m->is_new) {
    c->new_live += sign;
    s->new_live += sign;
  } else {
    c->old_live += sign;
    s->old_live += sign;
  }
  if (m->available) {
    c->avail += sign;
    s->avail += sign;
    if (m->is_new) {
      c->new_avail += sign;
      s->new_avail += sign;
    }
  }
  if (m->unhealthy) c->unhealthy += sign;
  if (had == 0 && s->avail > 0) c->a_slots++;
  if (had > 0 && s->avail == 0) c->a_slots--;
}

/* Propose destroying m (and stop counting it as live). */
static void destroy(plan_ctx_t *c, member_t *m, ik_destroy_reason_t reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void destroy(plan_ctx_t *c, member_t *m, ik_destroy_reason_t reason, const char *fmt, ...) {
  ik_plan_action_t *a = push(&c->acts, &c->n_acts, &c->cap_acts);
  va_list ap;
  va_start(ap, fmt);
  a->kind = IK_ACTION_DESTROY;
  a->id = ik_strdup(m->id);
  a->logical_id = ik_strdup(m->logical_id);
  a->reason = reason;
  a->drain = reason == IK_DESTROY_TERMINATE || !c->up->skip_drain;
  a->why = vfmt(fmt, ap);
  va_end(ap);
  if (!m->leaving) tally(c, m, -1);
  m->leaving = true;
}

/* Propose provisioning n members at the target config in slot (pets: n
 * is 1) and count them as live, not yet available, new members. Only
 * those within c->cap become actions (limit_actions would cut the rest);
 * the others are counted in c->held, so n costs O(1) however large. */
static void provision_n(plan_ctx_t *c, int slot, int64_t n, const char *why) {
  if (n <= 0) return;
  int64_t room_now = c->cap - (int64_t)c->n_acts;
  int64_t build = room_now <= 0 ? 0 : n < room_now ? n
                                                   : room_now;
  for (int64_t i = 0; i < build; i++) {
    ik_plan_action_t *a = act(c, IK_ACTION_PROVISION, "%s", why);
    a->logical_id = c->spec->pets ? ik_strdup(c->spec->logical_ids[slot]) : NULL;
    memcpy(a->config_hash, c->target, sizeof a->config_hash);
  }
  c->held += n - build;
  slot_t *s = &c->slots[slot];
  c->live += n, c->exist += n, c->pending += n, c->new_live += n;
  s->live += n, s->new_live += n;
}

static void provision(plan_ctx_t *c, int slot, const char *why) { provision_n(c, slot, 1, why); }

/* --- ordering ------------------------------------------------------------------- */

/* Who goes first when instances are removed: never self; unhealthy, old
 * config, not yet available; then DeletePolicy; then ID. */
static int victim_cmp(const void *pa, const void *pb, void *arg) {
  const member_t *x = *(member_t *const *)pa, *y = *(member_t *const *)pb;
  const plan_ctx_t *c = arg;
  if (x->self != y->self) return x->self ? 1 : -1;
  if (x->unhealthy != y->unhealthy) return x->unhealthy ? -1 : 1;
  if (x->is_new != y->is_new) return x->is_new ? 1 : -1;
  if (x->available != y->available) return x->available ? 1 : -1;
  switch (c->up->delete_policy) {
  case IK_DELETE_OLDEST:
    if (x->created != y->created) return x->created < y->created ? -1 : 1;
    break;
  case IK_DELETE_NEWEST:
    if (x->created != y->created) return x->created > y->created ? -1 : 1;
    break;
  case IK_DELETE_RANDOM:
    if (x->rnd != y->rnd) return x->rnd < y->rnd ? -1 : 1;
    break;
  default:
    abort();
  }
  return strcmp(x->id, y->id);
}

static int health_rank(const member_t *m) {
  if (m->available) return 3;
  if (m->healthy) return 2;
  if (m->unhealthy) return 0;
  return 1; /* unknown, or pending */
}

/* Which member of a pet slot to keep: grouped by slot; then the target
 * config, the most available, an observed one before a pending one, the
 * oldest, the lowest ID. */
static int keeper_cmp(const void *pa, const void *pb, void *arg) {
  const member_t *x = *(member_t *const *)pa, *y = *(member_t *const *)pb;
  (void)arg;
  if (x->slot != y->slot) return x->slot < y->slot ? -1 : 1;
  if (x->is_new != y->is_new) return x->is_new ? -1 : 1;
  if (health_rank(x) != health_rank(y)) return health_rank(x) > health_rank(y) ? -1 : 1;
  if (x->pending != y->pending) return x->pending ? 1 : -1;
  if (x->pending) return 0;
  if (x->created != y->created) return x->created < y->created ? -1 : 1;
  return strcmp(x->id, y->id);
}

static int member_id_cmp(const void *pa, const void *pb) {
  const member_t *x = pa, *y = pb;
  if (x->pending != y->pending) return x->pending ? 1 : -1;
  if (x->pending) return 0;
  return strcmp(x->id, y->id);
}

/* Live members that pass keep(), sorted by cmp (may be NULL). Caller
 * frees the array. */
static member_t **select_members(plan_ctx_t *c, bool (*keep)(const plan_ctx_t *, const member_t *),
                                 int (*cmp)(const void *, const void *, void *), size_t *n) {
  member_t **v = ik_calloc(c->n ? c->n : 1, sizeof *v);
  size_t k = 0;
  for (size_t i = 0; i < c->n; i++)
    if (!c->m[i].leaving && keep(c, &c->m[i])) v[k++] = &c->m[i];
  if (cmp) qsort_r(v, k, sizeof *v, cmp, c);
  *n = k;
  return v;
}

/* --- building the picture ------------------------------------------------------- */

static member_t *find_member(plan_ctx_t *c, const char *id) {
  size_t lo = 0, hi = c->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    member_t *m = &c->m[mid];
    int r = m->pending ? -1 : strcmp(id, m->id);
    if (r == 0) return m;
    if (r < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

static int slot_of(const ik_group_spec_t *spec, const char *lid) {
  if (!spec->pets) return 0;
  if (lid == NULL) return -1;
  for (size_t i = 0; i < spec->n_logical_ids; i++)
    if (strcmp(spec->logical_ids[i], lid) == 0) return (int)i;
  return -1;
}

static int healthy_cmp(const void *a, const void *b) {
  return strcmp(((const ik_healthy_since_t *)a)->id, ((const ik_healthy_since_t *)b)->id);
}

/* Members from the observation and the provisions in flight; destroys,
 * drains and labels in flight marked on them. Sorted by ID, pending last. */
static int build_members(plan_ctx_t *c, ik_err_t *err) {
  const ik_plan_input_t *in = c->in;
  c->m = ik_calloc(in->n_instances + in->n_in_flight + 1, sizeof *c->m);
  for (size_t i = 0; i < in->n_instances; i++) {
    const ik_plan_instance_t *o = &in->instances[i];
    if (o->id == NULL) return ik_err_set(err, IK_EINVAL, "plan: instance %zu has no ID", i);
    if (o->group == NULL || strcmp(o->group, c->spec->id) != 0) continue; /* not ours: never touched */
    if (c->spec->pets && o->logical_id == NULL) continue;                 /* InfraKit ignores these */
    member_t *m = &c->m[c->n++];
    m->id = o->id;
    m->logical_id = o->logical_id;
    m->hash = o->config_hash ? o->config_hash : "";
    m->bootstrap = strcmp(m->hash, IK_PLAN_BOOTSTRAP_HASH) == 0;
    m->created = o->created_ms;
    m->unhealthy_since = o->unhealthy_since_ms;
    m->healthy = o->health == IK_HEALTH_HEALTHY;
    m->unhealthy = o->health == IK_HEALTH_UNHEALTHY;
    m->self = o->self;
    m->adopted = o->adopted;
    m->slot = slot_of(c->spec, o->logical_id);
    m->rnd = mix(in->seed, o->id);
  }
  qsort(c->m, c->n, sizeof *c->m, member_id_cmp);
  /* An ID observed twice is one instance. */
  size_t w = 0;
  for (size_t i = 0; i < c->n; i++)
    if (w == 0 || strcmp(c->m[w - 1].id, c->m[i].id) != 0) c->m[w++] = c->m[i];
  c->n = w;

  for (size_t i = 0; i < in->n_in_flight; i++) {
    const ik_plan_inflight_t *f = &in->in_flight[i];
    if (f->kind == IK_ACTION_PROVISION) {
      int slot = slot_of(c->spec, f->logical_id);
      if (slot < 0) continue;
      member_t *m = &c->m[c->n++];
      m->pending = true;
      m->logical_id = f->logical_id;
      m->hash = f->config_hash ? f->config_hash : "";
      m->created = in->now_ms;
      m->slot = slot;
      continue;
    }
    if (f->id == NULL) return ik_err_set(err, IK_EINVAL, "plan: in-flight action %zu has no instance ID", i);
    member_t *m = find_member(c, f->id);
    if (m == NULL) continue;
    switch (f->kind) {
    case IK_ACTION_DESTROY: m->leaving = true; break;
    case IK_ACTION_DRAIN: m->draining = true; break;
    case IK_ACTION_LABEL:
      m->labelling = true;
      m->bootstrap = false;
      if (f->config_hash) m->hash = f->config_hash;
      break;
    case IK_ACTION_WAIT: break;
    default: abort();
    }
  }
  return 0;
}

/* Health and availability; the healthy-since record carried into next. */
static void assess_health(plan_ctx_t *c) {
  const ik_rollout_state_t *st = c->in->state;
  ik_healthy_since_t *known = NULL;
  size_t n_known = st ? st->n_healthy : 0;
  if (n_known) {
    known = ik_memdup(st->healthy, n_known * sizeof *known);
    qsort(known, n_known, sizeof *known, healthy_cmp);
  }
  c->next->healthy = ik_calloc(c->n + 1, sizeof *c->next->healthy);
  c->next->n_healthy = 0;
  for (size_t i = 0; i < c->n; i++) {
    member_t *m = &c->m[i];
    if (m->pending || !m->healthy) continue;
    ik_healthy_since_t key = {.id = (char *)(uintptr_t)m->id};
    ik_healthy_since_t *k = n_known ? bsearch(&key, known, n_known, sizeof *known, healthy_cmp) : NULL;
    /* Adopted at the last good config: it was available before the
     * restart (healthy-since times are kept in memory only). */
    bool proven = m->adopted && c->next->good_hash[0] && strcmp(m->hash, c->next->good_hash) == 0;
    m->healthy_since = k ? k->since_ms : proven ? c->in->now_ms - c->min_healthy
                                                : c->in->now_ms;
    m->available = c->in->now_ms - m->healthy_since >= c->min_healthy;
    ik_healthy_since_t *h = &c->next->healthy[c->next->n_healthy++];
    h->id = ik_strdup(m->id);
    h->since_ms = m->healthy_since;
  }
  ik_free(known);
}

static void classify(plan_ctx_t *c) {
  for (size_t i = 0; i < c->n; i++)
    c->m[i].is_new = c->m[i].bootstrap || strcmp(c->m[i].hash, c->target) == 0;
}

static void count_all(plan_ctx_t *c) {
  memset(c->slots, 0, c->n_slots * sizeof *c->slots);
  c->live = c->exist = c->new_live = c->old_live = c->avail = c->new_avail = 0;
  c->unhealthy = c->pending = c->a_slots = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (!counted(&c->m[i])) continue;
    c->exist++;
    if (!c->m[i].leaving) tally(c, &c->m[i], 1);
  }
}

/* --- 1, 2: target and failure ----------------------------------------------------- */

static void choose_target(plan_ctx_t *c) {
  ik_rollout_state_t *nx = c->next;
  const char *spec_hash = c->spec->config_hash;
  if (strcmp(nx->spec_hash, spec_hash) != 0) {
    memcpy(nx->spec_hash, spec_hash, sizeof nx->spec_hash);
    memcpy(nx->target_hash, spec_hash, sizeof nx->target_hash);
    nx->canary_promoted = false;
    nx->rolled_back = false;
    nx->failure[0] = '\0';
    nx->self_drained_hash[0] = '\0';
    nx->started_ms = c->in->now_ms;
  }
  memcpy(c->target, nx->target_hash, sizeof c->target);
}

static bool rollout_active(const plan_ctx_t *c) { return strcmp(c->target, c->next->good_hash) != 0; }

static void detect_failure(plan_ctx_t *c) {
  char d1[32], d2[32];
  int64_t deadline = c->up->healthy_deadline_ms, now = c->in->now_ms;
  const member_t *first = NULL;
  bool first_unhealthy = false;
  int64_t failing = 0;
  if (!rollout_active(c)) return;
  for (size_t i = 0; i < c->n; i++) {
    const member_t *m = &c->m[i];
    if (m->pending || m->leaving || !m->is_new || !counted(m)) continue;
    int64_t clock = m->created > c->next->started_ms ? m->created : c->next->started_ms;
    bool late = !m->available && deadline > 0 && now - clock >= deadline;
    if (!m->unhealthy && !late) continue;
    if (failing++ == 0) first = m, first_unhealthy = m->unhealthy;
  }
  if (failing == 0) return;
  char why[IK_PLAN_REASON_MAX];
  if (first_unhealthy)
    snprintf(why, sizeof why, "instance %s at the new config is unhealthy", first->id);
  else if (c->min_healthy > 0)
    snprintf(why, sizeof why, "instance %s at the new config was not healthy for %s within HealthyDeadline (%s)",
             first->id, fmt_ms(c->min_healthy, d1, sizeof d1), fmt_ms(deadline, d2, sizeof d2));
  else
    snprintf(why, sizeof why, "instance %s at the new config was not healthy within HealthyDeadline (%s)", first->id,
             fmt_ms(deadline, d2, sizeof d2));
  if (failing > 1) {
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, " (and %" PRId64 " more)", failing - 1);
  }
  const char *good = c->next->good_hash;
  if (c->up->auto_rollback && good[0] && !c->next->rolled_back) {
    ik_rollout_state_t *nx = c->next;
    snprintf(nx->failure, sizeof nx->failure, "%s", why);
    nx->rolled_back = true;
    memcpy(nx->target_hash, good, sizeof nx->target_hash);
    nx->self_drained_hash[0] = '\0';
    nx->started_ms = now;
    memcpy(c->target, good, sizeof c->target);
    classify(c);
    return;
  }
  c->failed = true;
  snprintf(c->fail_reason, sizeof c->fail_reason, "rollout stopped: %.190s%s", why,
           !c->up->auto_rollback ? ""
           : good[0]             ? ""
                                 : "; no earlier good config to roll back to");
}

/* --- 3: excess ---------------------------------------------------------------------- */

/* Observed (not pending), in a valid slot, not the daemon's own instance. */
static bool is_destroyable(const plan_ctx_t *c, const member_t *m) {
  (void)c;
  return !m->pending && counted(m) && !m->self;
}

static void excess_cattle(plan_ctx_t *c) {
  int64_t cap = c->D + (c->old_live > 0 ? c->surge : 0);
  int64_t k = (c->live - c->pending) - cap;
  if (k <= 0) return;
  size_t n;
  member_t **v = select_members(c, is_destroyable, victim_cmp, &n);
  for (size_t i = 0; i < n && k > 0; i++, k--)
    destroy(c, v[i], IK_DESTROY_TERMINATE, "scale down to %" PRId64, c->D);
  if (k > 0)
    snprintf(c->self_reason, sizeof c->self_reason,
             "cannot scale down to %" PRId64 " without destroying the instance this daemon runs on", c->D);
  ik_free(v);
}

static bool is_slotted(const plan_ctx_t *c, const member_t *m) {
  (void)c;
  return counted(m);
}

static void excess_pets(plan_ctx_t *c) {
  for (size_t i = 0; i < c->n; i++) {
    member_t *m = &c->m[i];
    if (m->pending || m->leaving || m->slot >= 0) continue;
    if (m->self) {
      snprintf(c->self_reason, sizeof c->self_reason,
               "instance %s runs this daemon; its logical ID %s is not in the spec: left for another manager", m->id,
               m->logical_id);
      continue;
    }
    destroy(c, m, IK_DESTROY_TERMINATE, "logical ID %s is not in Allocation.LogicalIDs", m->logical_id);
  }
  /* Duplicates: one member per logical ID; pending ones included. */
  member_t **v = ik_calloc(c->n ? c->n : 1, sizeof *v);
  size_t k = 0;
  for (size_t i = 0; i < c->n; i++)
    if (!c->m[i].leaving && is_slotted(c, &c->m[i])) v[k++] = &c->m[i];
  qsort_r(v, k, sizeof *v, keeper_cmp, c);
  for (size_t i = 0; i < k;) {
    size_t j = i + 1;
    while (j < k && v[j]->slot == v[i]->slot) j++;
    const member_t *keep = v[i];
    for (size_t x = i + 1; x < j; x++) {
      member_t *m = v[x];
      if (m->pending) continue;
      if (keep->is_new && !m->is_new) continue; /* a surge pair: the rollout resolves it */
      if (m->self) continue;                    /* never destroyed; the other stays too */
      destroy(c, m, IK_DESTROY_TERMINATE, "duplicate of logical ID %s, keeping %s", m->logical_id,
              keep->pending ? "the one being provisioned" : keep->id);
    }
    i = j;
  }
  ik_free(v);
}

/* --- 4: remediation ------------------------------------------------------------------ */

static void remediate(plan_ctx_t *c) {
  char d1[32], d2[32];
  const ik_health_policy_t *h = &c->spec->health;
  int64_t timeout = h->unhealthy_timeout_ms, now = c->in->now_ms;
  if (timeout <= 0 || c->unhealthy == 0) return;
  int64_t max = ik_intstr_scaled(h->max_unhealthy, c->D, false);
  if (c->unhealthy > max) {
    c->short_circuit = true;
    snprintf(c->short_reason, sizeof c->short_reason,
             "remediation paused: %" PRId64 " of %" PRId64 " instances are unhealthy, more than MaxUnhealthy (%" PRId64
             ")",
             c->unhealthy, c->D, max);
    return;
  }
  int64_t waiting = 0, until = BIG;
  const char *first = NULL;
  for (size_t i = 0; i < c->n; i++) {
    member_t *m = &c->m[i];
    if (m->pending || m->leaving || !m->unhealthy || !counted(m) || m->self) continue;
    if (now - m->unhealthy_since >= timeout) {
      destroy(c, m, IK_DESTROY_TERMINATE, "unhealthy for %s (UnhealthyTimeout %s)",
              fmt_ms(now - m->unhealthy_since, d1, sizeof d1), fmt_ms(timeout, d2, sizeof d2));
      continue;
    }
    if (waiting++ == 0) first = m->id;
    if (m->unhealthy_since + timeout < until) until = m->unhealthy_since + timeout;
  }
  if (waiting == 1)
    wait_for(c, IK_WAIT_UNHEALTHY, until, "waiting for %s to stay unhealthy for UnhealthyTimeout (%s) before replacing it",
             first, fmt_ms(timeout, d1, sizeof d1));
  else if (waiting > 1)
    wait_for(c, IK_WAIT_UNHEALTHY, until, "waiting for %" PRId64 " unhealthy instances to reach UnhealthyTimeout (%s)",
             waiting, fmt_ms(timeout, d1, sizeof d1));
}

/* --- 5: missing ------------------------------------------------------------------------- */

/* Instances that may still be created now: desired + surge - existing. */
static int64_t room(const plan_ctx_t *c) {
  int64_t r = c->D + c->surge - c->exist;
  return r > 0 ? r : 0;
}

static void held_for_destroys(plan_ctx_t *c, int64_t held) {
  int64_t leaving = c->exist - c->live;
  wait_for(c, IK_WAIT_IN_FLIGHT, 0,
           "waiting for %" PRId64 " destroy%s to finish before provisioning %" PRId64 " more (MaxSurge %" PRId64 ")",
           leaving, leaving == 1 ? "" : "s", held, c->surge);
}

static void missing(plan_ctx_t *c) {
  if (!c->spec->pets) {
    int64_t need = c->D - c->live;
    if (need <= 0) return;
    int64_t n = need < room(c) ? need : room(c);
    char why[96];
    snprintf(why, sizeof why, "%" PRId64 " of %" PRId64 " instances", c->live, c->D);
    provision_n(c, 0, n, why);
    if (n < need) held_for_destroys(c, need - n);
    return;
  }
  int64_t held = 0;
  for (size_t s = 0; s < c->n_slots; s++) {
    if (c->slots[s].live > 0) continue;
    if (room(c) == 0) {
      held++;
      continue;
    }
    char why[IK_PLAN_REASON_MAX];
    snprintf(why, sizeof why, "missing logical ID %s", c->spec->logical_ids[s]);
    provision(c, (int)s, why);
  }
  if (held) held_for_destroys(c, held);
}

/* --- 6: rollout ---------------------------------------------------------------------------- */

static bool canary_mode(const plan_ctx_t *c) {
  return c->up->canary > 0 && !c->next->canary_promoted && !c->next->rolled_back;
}

static int64_t canary_quota(const plan_ctx_t *c) {
  return (int64_t)c->up->canary < c->D ? (int64_t)c->up->canary : c->D;
}

static bool is_old_observed(const plan_ctx_t *c, const member_t *m) {
  return is_destroyable(c, m) && !m->is_new;
}

static bool self_is_old(const plan_ctx_t *c) {
  for (size_t i = 0; i < c->n; i++)
    if (c->m[i].self && !c->m[i].leaving && !c->m[i].pending && counted(&c->m[i]) && !c->m[i].is_new) return true;
  return false;
}

static void rollout_cattle(plan_ctx_t *c, int64_t *allowance) {
  /* Surge: new instances while fewer than desired are new. */
  int64_t p = room(c);
  int64_t want = c->D - c->new_live - (self_is_old(c) ? 1 : 0);
  if (want < p) p = want;
  if (*allowance < p) p = *allowance;
  provision_n(c, 0, p, "rolling update: surge");
  if (p > 0) *allowance -= p;

  /* Destroy old ones while enough stay available. */
  size_t n;
  member_t **v = select_members(c, is_old_observed, victim_cmp, &n);
  int64_t max_down = c->live - c->min_avail - (c->new_live - c->new_avail);
  for (size_t i = 0; i < n && max_down > 0; i++) {
    member_t *m = v[i];
    if (m->available) break; /* unavailable ones sort first */
    if (c->live - 1 < c->D) {
      if (*allowance <= 0) break;
      (*allowance)--;
    }
    destroy(c, m, IK_DESTROY_ROLLING_UPDATE, "rolling update: replace unavailable");
    max_down--;
  }
  int64_t k = c->avail - c->min_avail;
  for (size_t i = 0; i < n && k > 0; i++) {
    member_t *m = v[i];
    if (m->leaving || !m->available) continue;
    if (c->live - 1 < c->D) {
      if (*allowance <= 0) break;
      (*allowance)--;
    }
    destroy(c, m, IK_DESTROY_ROLLING_UPDATE, "rolling update: replace");
    k--;
  }
  ik_free(v);

  /* Replacements for what was destroyed, as the surge allows. */
  int64_t need = c->D - c->live, can = need < room(c) ? need : room(c);
  provision_n(c, 0, can, "rolling update: replacement");
  if (can < need) held_for_destroys(c, need - can);
}

static bool is_old_alone(const plan_ctx_t *c, const member_t *m) {
  return is_old_observed(c, m) && c->slots[m->slot].new_live == 0;
}

static void rollout_pets(plan_ctx_t *c, int64_t *allowance) {
  /* Surge pairs: the old member goes once its slot's new one is available. */
  for (size_t i = 0; i < c->n; i++) {
    member_t *m = &c->m[i];
    if (m->pending || m->leaving || m->is_new || !counted(m) || m->self) continue;
    if (c->slots[m->slot].new_avail > 0)
      destroy(c, m, IK_DESTROY_ROLLING_UPDATE, "rolling update: logical ID %s has an available new instance",
              m->logical_id);
  }
  /* Slots with only an old member: surge beside it, else destroy it first. */
  size_t n;
  member_t **v = select_members(c, is_old_alone, victim_cmp, &n);
  for (size_t i = 0; i < n; i++) {
    member_t *m = v[i];
    if (*allowance <= 0) break;
    if (room(c) > 0) {
      char why[IK_PLAN_REASON_MAX];
      snprintf(why, sizeof why, "rolling update: surge for logical ID %s", m->logical_id);
      provision(c, m->slot, why);
      (*allowance)--;
      continue;
    }
    /* Pets hold quorums: as a StatefulSet does, replace one only while
     * the slots available without it stay at min_avail or more. An old
     * member that is not available is not free to take while others are
     * short too: its health may only be unknown (a check that timed out
     * under load, as a demoted swarm manager's peers' do), and two
     * managers gone at once lose the quorum. One unhealthy for long is
     * remediation's to replace. */
    bool costs = m->available && c->slots[m->slot].avail == 1;
    if (c->a_slots - (costs ? 1 : 0) < c->min_avail) break;
    (*allowance)--;
    destroy(c, m, IK_DESTROY_ROLLING_UPDATE, "rolling update: replace; logical ID %s is provisioned after",
            m->logical_id);
  }
  ik_free(v);
}

static void rollout(plan_ctx_t *c) {
  if (c->old_live == 0 || c->failed) return;
  if (c->paused) return; /* `group pause`: no new replacement; what is in flight finishes */
  int64_t allowance = BIG;
  if (canary_mode(c)) {
    int64_t started = 0;
    if (c->spec->pets) {
      for (size_t s = 0; s < c->n_slots; s++)
        if (c->slots[s].new_live > 0 || c->slots[s].live == 0) started++;
    } else {
      started = c->new_live + (c->D > c->live ? c->D - c->live : 0);
    }
    allowance = canary_quota(c) - started;
  }
  if (c->spec->pets) rollout_pets(c, &allowance);
  else rollout_cattle(c, &allowance);
  c->canary_paused = canary_mode(c) && c->old_live > 0 && allowance <= 0;
}

/* --- 7: self ---------------------------------------------------------------------------------- */

static void handle_self(plan_ctx_t *c) {
  if (c->failed) return;
  for (size_t i = 0; i < c->n; i++) {
    member_t *m = &c->m[i];
    if (!m->self || m->pending || m->leaving || !counted(m) || m->is_new || c->old_live != 1) continue;
    if (!m->draining && strcmp(c->next->self_drained_hash, c->target) != 0) {
      act(c, IK_ACTION_DRAIN, "runs this daemon and is the last instance with the old config")->id = ik_strdup(m->id);
      memcpy(c->next->self_drained_hash, c->target, sizeof c->next->self_drained_hash);
    }
    snprintf(c->self_reason, sizeof c->self_reason,
             "instance %s runs this daemon and is the last with the old config: drained and left for another manager "
             "to replace",
             m->id);
  }
}

/* --- 8, 9: completion, waits, summary --------------------------------------------------------- */

static bool all_in_place(const plan_ctx_t *c) {
  if (c->old_live > 0 || c->pending > 0 || c->exist != c->live || c->avail != c->live) return false;
  if (!c->spec->pets) return c->live == c->D;
  for (size_t s = 0; s < c->n_slots; s++)
    if (c->slots[s].live != 1) return false;
  return true;
}

/* A wait for members at the target that are not available yet - in a
 * rollout, and also, for healthy members, after a scale-up or a restart
 * (when each proves its minimum healthy time again) - so the next plan
 * comes when the first of them can be available, not at the next poll. */
static void wait_healthy(plan_ctx_t *c) {
  if (c->failed) return;
  bool rolling = c->old_live > 0 || rollout_active(c);
  int64_t u = 0, until = BIG, deadline = c->up->healthy_deadline_ms;
  for (size_t i = 0; i < c->n; i++) {
    const member_t *m = &c->m[i];
    if (m->pending || m->leaving || !m->is_new || !counted(m) || m->available) continue;
    if (!rolling && !m->healthy) continue; /* only health can change that: the poll will see it */
    u++;
    if (m->healthy && m->healthy_since + c->min_healthy < until) until = m->healthy_since + c->min_healthy;
    int64_t clock = m->created > c->next->started_ms ? m->created : c->next->started_ms;
    if (deadline > 0 && rollout_active(c) && clock + deadline < until) until = clock + deadline;
  }
  if (u == 0) return;
  wait_for(c, IK_WAIT_HEALTHY, until, "waiting for %" PRId64 " new instance%s to be healthy%s", u, plural(u),
           c->min_healthy > 0 ? " for MinHealthySeconds" : "");
}

static uint32_t window_of(const ik_plan_input_t *in) { return in->window ? in->window : IK_PLAN_WINDOW; }

/* Actions that may be proposed now: MaxParallel and the window, less the
 * actions in flight. */
static int64_t action_cap(const ik_plan_input_t *in, const ik_updating_t *up) {
  int64_t cap = (int64_t)window_of(in);
  if (up->max_parallel > 0 && up->max_parallel < cap) cap = up->max_parallel;
  cap -= (int64_t)in->n_in_flight;
  return cap > 0 ? cap : 0;
}

/* Keep the first c->cap actions; one wait says how many more (those cut
 * here and the provisions only counted) wait for room. */
static void limit_actions(plan_ctx_t *c) {
  uint32_t max = c->up->max_parallel, window = window_of(c->in);
  int64_t budget = c->cap;
  if ((int64_t)c->n_acts <= budget && c->held == 0) return;
  int64_t cut = (int64_t)c->n_acts > budget ? (int64_t)c->n_acts - budget : 0;
  int64_t held = cut + c->held;
  for (size_t i = (size_t)(c->n_acts - (size_t)cut); i < c->n_acts; i++) {
    ik_plan_action_t *a = &c->acts[i];
    if (a->kind == IK_ACTION_DRAIN) c->next->self_drained_hash[0] = '\0';
    ik_free(a->id);
    ik_free(a->logical_id);
    ik_free(a->why);
  }
  c->n_acts -= (size_t)cut;
  /* In flight once this plan's actions start: what the operator sees
   * while they run, not the count before them. */
  if (max > 0 && max <= window)
    wait_for(c, IK_WAIT_IN_FLIGHT, 0, "%" PRId64 " more action%s wait for MaxParallel (%zu of %u in flight)", held,
             plural(held), c->in->n_in_flight + c->n_acts, max);
  else
    wait_for(c, IK_WAIT_IN_FLIGHT, 0,
             "%" PRId64 " more action%s wait for room: at most %u in flight per group (%zu in flight)", held,
             plural(held), window, c->in->n_in_flight + c->n_acts);
}

static void summarize(plan_ctx_t *c, ik_plan_summary_t *s) {
  const ik_rollout_state_t *nx = c->next;
  const char *wait_why = c->n_waits ? c->waits[0].why : "";
  memset(s, 0, sizeof *s);
  s->desired = s->total = (uint64_t)c->D;
  /* Instances that exist: the provisions proposed, held back or in
   * flight are counted by the plan (live) but are not there yet. */
  for (size_t i = 0; i < c->n; i++) {
    const member_t *m = &c->m[i];
    if (m->pending || m->leaving || !counted(m)) continue;
    s->current++;
    if (m->is_new) s->updated++;
  }
  s->available = (uint64_t)c->avail;
  s->unhealthy = (uint64_t)c->unhealthy;
  if (c->spec->pets) {
    for (size_t i = 0; i < c->n_slots; i++)
      if (c->slots[i].new_avail > 0) s->done++;
  } else {
    s->done = (uint64_t)(c->new_avail < c->D ? c->new_avail : c->D);
  }
  bool busy = c->n_acts > 0 || c->in->n_in_flight > 0 || !all_in_place(c);
  const char *reason = "";
  char buf[IK_PLAN_REASON_MAX];
  if (c->failed) {
    s->phase = IK_PHASE_BLOCKED, reason = c->fail_reason;
  } else if (c->short_circuit) {
    s->phase = IK_PHASE_BLOCKED, reason = c->short_reason;
  } else if (c->self_reason[0]) {
    s->phase = IK_PHASE_BLOCKED, reason = c->self_reason;
  } else if (c->paused) {
    s->phase = IK_PHASE_PAUSED;
    for (size_t i = 0; i < c->n_waits; i++)
      if (c->waits[i].wait_for == IK_WAIT_RESUME) reason = c->waits[i].why;
  } else if (c->canary_paused) {
    s->phase = IK_PHASE_CANARY_PAUSED;
    for (size_t i = 0; i < c->n_waits; i++)
      if (c->waits[i].wait_for == IK_WAIT_PROMOTION) reason = c->waits[i].why;
  } else if (c->old_live > 0 || (rollout_active(c) && nx->good_hash[0]) || (nx->rolled_back && busy)) {
    s->phase = IK_PHASE_ROLLING, reason = wait_why;
    if (nx->rolled_back) {
      snprintf(buf, sizeof buf, "rolling back to %.32s: %.200s", nx->good_hash, nx->failure);
      reason = buf;
    }
  } else if (nx->rolled_back) {
    snprintf(buf, sizeof buf, "rolled back to %.32s: %.200s", nx->good_hash, nx->failure);
    s->phase = IK_PHASE_BLOCKED, reason = buf;
  } else if (busy || rollout_active(c)) {
    s->phase = IK_PHASE_SCALING, reason = wait_why;
  } else {
    s->phase = IK_PHASE_STEADY, reason = wait_why;
  }
  snprintf(s->reason, sizeof s->reason, "%s", reason);
}

/* --- entry ---------------------------------------------------------------------------------------- */

int ik_plan_compute(const ik_plan_input_t *in, ik_plan_t *out, ik_err_t *err) {
  memset(out, 0, sizeof *out);
  if (in == NULL || in->spec == NULL) return ik_err_set(err, IK_EINVAL, "plan: no group spec");
  plan_ctx_t c = {.in = in, .spec = in->spec, .up = &in->spec->updating, .next = &out->next};
  c.paused = in->state && in->state->paused;
  const ik_updating_t *up = c.up;
  int rc;

  if (in->state) ik_rollout_state_copy(&out->next, in->state);
  else ik_rollout_state_init(&out->next);
  for (size_t i = 0; i < out->next.n_healthy; i++) ik_free(out->next.healthy[i].id);
  ik_free(out->next.healthy);
  out->next.healthy = NULL;
  out->next.n_healthy = 0;

  c.D = (int64_t)in->spec->size;
  c.surge = ik_intstr_scaled(up->max_surge, c.D, true);
  c.unavail = ik_intstr_scaled(up->max_unavailable, c.D, false);
  if (c.surge == 0 && c.unavail == 0) c.unavail = 1;
  c.min_avail = c.D > c.unavail ? c.D - c.unavail : 0;
  c.min_healthy = up->min_healthy_ms;
  if (up->duration_ms > c.min_healthy) c.min_healthy = up->duration_ms;
  if (up->count * in->poll_ms > c.min_healthy) c.min_healthy = up->count * in->poll_ms;
  c.cap = action_cap(in, up);
  c.n_slots = in->spec->pets ? in->spec->n_logical_ids : 1;
  c.slots = ik_calloc(c.n_slots ? c.n_slots : 1, sizeof *c.slots);

  if ((rc = build_members(&c, err)) != 0) goto done;
  assess_health(&c);
  choose_target(&c);
  classify(&c);
  detect_failure(&c);
  count_all(&c);

  /* Adopt bootstrap instances (reference §4.1). */
  for (size_t i = 0; i < c.n; i++) {
    member_t *m = &c.m[i];
    if (!m->bootstrap || m->pending || m->leaving || m->labelling) continue;
    ik_plan_action_t *a = act(&c, IK_ACTION_LABEL, "adopt a bootstrap instance");
    a->id = ik_strdup(m->id);
    memcpy(a->config_hash, c.target, sizeof a->config_hash);
  }
  if (in->spec->pets) excess_pets(&c);
  else excess_cattle(&c);
  remediate(&c);
  missing(&c);
  rollout(&c);
  handle_self(&c);

  if (!c.failed && c.n_acts == 0 && in->n_in_flight == 0 && all_in_place(&c) && rollout_active(&c))
    memcpy(out->next.good_hash, c.target, sizeof out->next.good_hash);

  limit_actions(&c);
  wait_healthy(&c);
  if (c.canary_paused)
    wait_for(&c, IK_WAIT_PROMOTION, 0,
             "waiting for promotion: %" PRId64 " of %" PRId64 " at the new config (infrakit group promote %s)",
             c.new_live, c.D, in->spec->id);
  if (c.paused) {
    if (c.old_live > 0 && !c.failed)
      wait_for(&c, IK_WAIT_RESUME, 0,
               "paused: %" PRId64 " of %" PRId64 " at the new config, no new replacement (infrakit group resume %s)",
               c.new_live, c.D, in->spec->id);
    else
      wait_for(&c, IK_WAIT_RESUME, 0, "paused: the next rollout waits (infrakit group resume %s)",
               in->spec->id);
  }
  summarize(&c, &out->summary);
  out->next.phase = out->summary.phase;

  /* Actions, then waits. */
  out->n_actions = c.n_acts + c.n_waits;
  out->actions = ik_calloc(out->n_actions ? out->n_actions : 1, sizeof *out->actions);
  if (c.n_acts) memcpy(out->actions, c.acts, c.n_acts * sizeof *c.acts);
  if (c.n_waits) memcpy(out->actions + c.n_acts, c.waits, c.n_waits * sizeof *c.waits);
  c.n_acts = c.n_waits = 0;
  rc = 0;
done:
  for (size_t i = 0; i < c.n_acts; i++) {
    ik_free(c.acts[i].id);
    ik_free(c.acts[i].logical_id);
    ik_free(c.acts[i].why);
  }
  for (size_t i = 0; i < c.n_waits; i++) ik_free(c.waits[i].why);
  ik_free(c.acts);
  ik_free(c.waits);
  ik_free(c.m);
  ik_free(c.slots);
  if (rc != 0) ik_plan_free(out);
  return rc;
}
