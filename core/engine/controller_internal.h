/* The controller's insides, shared by controller.c (the group SPI, the
 * store, resume) and reconcile.c (the cycle and the actions). */
#ifndef IK_ENGINE_CONTROLLER_INTERNAL_H
#define IK_ENGINE_CONTROLLER_INTERNAL_H

#include <stdbool.h>
#include <uv.h>

#include "base/posindex.h"
#include "engine/controller.h"
#include "engine/events.h"
#include "engine/group_spec.h"
#include "engine/metrics.h"
#include "engine/intents.h"
#include "engine/plan.h"

#define IK_FAILURE_MSG_MAX (IK_ERR_MSG_MAX + 128)

typedef struct ik__group ik__group_t;

/* Losses remembered per group for the heal metric; beyond, the oldest go. */
#define IK_HEAL_PENDING_MAX 64

/* A deadline on one plugin call (controller.h call_timeout_ms). The call
 * is made with ik__guarded and the guard as its callback and data; the
 * caller's (cb, data) is called exactly once: with the plugin's answer,
 * or with IK_ETIMEDOUT when the deadline passes first (or IK_ECANCELED
 * when the controller is freed). An answer after that is logged and
 * dropped - never passed on, so it cannot touch what the caller freed
 * meanwhile; its effect (an instance created late) is seen by the next
 * describe like any other. The guard refers to no group, only to the
 * loop, and frees itself once both the answer and its timer's close are
 * in (a call that never answers keeps only the guard). */
typedef struct ik__guard {
  struct ik__guard *next, *prev; /* in the controller's list while the deadline is armed */
  ik_controller_t *c;            /* NULL once the deadline is settled */
  ik_spi_cb cb;
  void *data;
  uv_timer_t timer;
  bool settled;  /* cb was called */
  bool answered; /* the plugin called back (or refused the call) */
  bool closed;   /* the timer's close callback ran */
  char what[96]; /* "provision (instance-x)": for the log of a late answer */
  /* For infrakit_plugin_rpc_duration_seconds (engine_metrics.h): copied,
   * the group's spec may change while the call runs. */
  uint64_t started_ns;
  char plugin[80];
  const char *method; /* static: "Instance.Provision" */
} ik__guard_t;

/* An action the controller started and has not finished, or holds back
 * while it backs off (retry_at_ms > 0). */
typedef struct ik__action {
  struct ik__action *next, *prev; /* g->actions: unlinked in O(1) (a batch of 10,000 ends one by one) */
  ik__group_t *g;
  ik_plan_action_kind_t kind;
  char *id;         /* DESTROY, DRAIN, LABEL: the instance */
  char *logical_id; /* PROVISION: the slot (pets) */
  char config_hash[IK_HASH_LEN + 1];
  ik_destroy_reason_t reason;
  bool drain;
  char *key;                          /* the failure key: "provision", "provision db-1", "destroy i-3", ... */
  char *created;                      /* PROVISION: the new ID, once provisioned; kept until observed */
  int64_t created_at_ms;              /* when it was provisioned */
  int64_t retry_at_ms;                /* > 0: backing off until then */
  int64_t started_ms;                 /* when its current attempt began */
  uint64_t started_ns;                /* the same, uv_hrtime(): infrakit_action_duration_seconds */
  bool running;                       /* an SPI call is outstanding */
  bool crash;                         /* PROVISION: the replacement of a crash-looping instance, held back */
  bool queued;                        /* waiting for room in the calls window */
  bool recording;                     /* waiting for its intent to be durable (the intents put of its batch) */
  bool unrecorded;                    /* that put failed: dropped, never sent */
  uint64_t intent_gen;                /* the group's intents_gen once its intent was added */
  char intent[IK_INTENT_TAG_LEN + 1]; /* PROVISION, DESTROY: its write-ahead intent's tag; "" once settled */
} ik__action_t;

/* What went wrong with one kind of action, until it succeeds. */
typedef struct ik__failure {
  struct ik__failure *next;
  char *key;
  uint32_t attempts; /* failures so far (shown) */
  uint32_t streak;   /* rounds of retries: drives the backoff */
  int64_t last_ms;
  char msg[IK_FAILURE_MSG_MAX];
} ik__failure_t;

/* What the controller remembers of one member between cycles. */
typedef struct ik__seen {
  char *id;
  char *logical_id;
  int64_t first_ms; /* first seen (creation time, as far as we know) */
  ik_health_t health;
  int64_t unhealthy_since_ms;
  bool adopted; /* found by the first describe after a resume, no health answer yet */
} ik__seen_t;

struct ik__group {
  ik__group_t *next;
  ik_controller_t *c;
  int refs;   /* the controller's, the timer's, one per outstanding call */
  bool freed; /* no longer managed: callbacks only drop their reference */
  char *id;
  json_t *spec_json; /* as committed (group.Spec) */
  ik_group_spec_t spec;
  ik_rollout_state_t state; /* as last persisted */
  char *state_text;         /* its JSON, to tell when it changed */
  uint64_t state_gen;       /* bumped when an operator's call (promote, pause, resume) changes state: a cycle
                               planned before it does not act on its plan */
  bool destroying;          /* DestroyGroup in progress */

  ik_instance_plugin_t inst; /* resolved at first use; vt NULL until then */
  ik_flavor_plugin_t flavor;
  int watch_token; /* > 0 while subscribed to the instance plugin's events */

  uv_timer_t timer; /* the next cycle */
  int64_t due_ms;   /* when the timer fires (monotonic ms); 0 = not armed */
  bool cycling;     /* a cycle is running */
  bool again;       /* something happened meanwhile: run one more */
  uint64_t cycles;
  bool planned;         /* a plan was made since the group was installed */
  uint64_t spec_gen;    /* bumped at every commit or scale of this group */
  uint64_t summary_gen; /* the spec_gen the summary was planned for: older = "pending" */
  bool resumed;         /* installed from the store at start (not committed) */
  bool observed;        /* a describe succeeded since the group was installed */

  json_t *descs;            /* the last describe: members' descriptions */
  ik_posindex_t desc_index; /* ID -> its position in descs and seen (keys: seen[].id) */
  ik__seen_t *seen;
  size_t n_seen;
  size_t health_pending;     /* Healthy calls outstanding */
  size_t health_next;        /* the next member to ask */
  bool *health_skip;         /* per member: health known, not asked this cycle */
  int64_t health_checked_ms; /* when every member's health was last asked */
  uint32_t unknown_streak;   /* cycles in a row with a member's health unknown: drives its re-check backoff */
  ik_health_t *health;       /* per entry of descs, this cycle */

  /* Write-ahead intents (intents.h): tag -> entry, what the store has or
   * is about to have under groups/ID/intents. Every change bumps
   * intents_gen; intents_saved_gen is the generation the store holds. */
  json_t *intents;
  uint64_t intents_gen, intents_saved_gen, intents_sent_gen;
  bool intents_writing;             /* a put of the document is out (one at a time: puts of a key stay in order) */
  bool intents_unresolved;          /* loaded from the store, not yet settled by a describe: the group does not act */
  struct ik__batch *intent_batches; /* destroys outside the plan (reconcile.c) waiting for their intents' put */

  ik__action_t *actions; /* in flight */
  ik__action_t **queue;  /* started by the plan, waiting for room (FIFO) */
  size_t queue_head, queue_len, queue_cap;
  size_t n_running;          /* actions with a call outstanding */
  size_t calls_since_relief; /* plugin calls finished since the owner was last told (relief) */
  ik__failure_t *failures;
  ik_plan_summary_t summary;           /* of the last plan */
  json_t *last_plan;                   /* the last plan's action lines */
  char last_error[IK_FAILURE_MSG_MAX]; /* observe / persist trouble; "" when fine */
  uint32_t crash_streak;               /* replacements lost young, in a row */
  json_t *replacements;                /* IDs provisioned while a streak ran: ID -> true */
  json_t *exits;                       /* member ID -> how it ended, as its plugin said (until its loss is handled) */
  /* When members were found lost (uv_hrtime), oldest first, until a
   * provision replaces them: infrakit_heal_duration_seconds. Forgotten at
   * a commit or a resize (what replaces them is then the new spec's). */
  uint64_t lost_ns[IK_HEAL_PENDING_MAX];
  size_t n_lost;
  struct { /* the last crash-loop loss, while the loop lasts (count > 0) */
    char *instance;
    char *exit;     /* "exited with status 3", or NULL when the plugin did not say */
    uint32_t count; /* losses in a row (the streak) */
    int64_t age_ms; /* how long it lived */
    int64_t at_ms;  /* when it was lost */
  } crash;
};

struct ik_controller {
  ik_loop_t *loop;
  ik__guard_t *guards;              /* calls whose deadline is armed */
  ik_call_timeout_t *call_timeouts; /* owned copies of o.call_timeouts */
  ik_controller_opts_t o;
  char *self_id;
  ik_events_t *events;
  ik__group_t *groups;
  uint64_t rng;
  bool closing;          /* ik_controller_free (or _stop) was called */
  int closing_code;      /* what operations still out fail with then, */
  char closing_why[160]; /* and why: "the daemon is shutting down", or the leadership loss */
  bool fenced;           /* the last may_act said no (logged once per run) */
  size_t live;           /* groups and operations still referring to the controller */
};

/* --- controller.c ------------------------------------------------------ */
/* A guard for a call about to be made on plugin `plugin` (stage: what is
 * called, "provision"): pass ik__guarded and the guard to the call. When
 * the call is refused at once (it returns an error: no callback will
 * come), call ik__guard_refused, which settles it without calling cb. */
ik__guard_t *ik__guard(ik_controller_t *c, const char *stage, const char *plugin, ik_spi_cb cb, void *data);
void ik__guarded(json_t *result, const ik_err_t *err, void *data);
void ik__guard_refused(ik__guard_t *gd);
void ik__group_ref(ik__group_t *g);
void ik__group_unref(ik__group_t *g);
ik__group_t *ik__group_find(ik_controller_t *c, const char *id);
/* Resolve the group's plugins if not yet done. */
int ik__group_plugins(ik__group_t *g, ik_err_t *err);
uint64_t ik__random(ik_controller_t *c);
/* Whether the controller may send a plugin action now (controller.h
 * may_act); logs the first refusal of a run of them. */
bool ik__may_act(ik_controller_t *c);
int64_t ik__now_ms(void);

/* --- controller_metrics.c --------------------------------------------- */
/* The collector of c's group gauges (engine_metrics.h), on the process's
 * registry from ik_controller_new to ik_controller_free. */
void ik__controller_collect(ik_metrics_t *m, void *data);

/* --- reconcile.c ------------------------------------------------------- */
/* Run a cycle after delay_ms (0 = as soon as possible); coalesces. */
void ik__group_schedule(ik__group_t *g, int64_t delay_ms);
/* Start the group's timer and event subscription. */
int ik__group_start(ik__group_t *g, ik_err_t *err);
/* Stop them (the group is being freed or destroyed). */
void ik__group_stop(ik__group_t *g);
/* Destroy ids (members, borrowed), drain first, as DestroyGroup and
 * DestroyInstances do; cb(NULL, err or NULL) when all are done; the error
 * lists every failure. */
int ik__group_destroy_members(ik__group_t *g, json_t *ids, ik_spi_cb cb, void *data, ik_err_t *err);
/* The status document (spi/group.h). */
json_t *ik__group_status(ik__group_t *g);
/* True while g's summary was planned for an older spec than its committed
 * one (before the first plan, and between a commit or scale and the plan
 * that follows): its phase and counts are not yet the new spec's. */
bool ik__group_summary_stale(const ik__group_t *g);
/* The instance's description from the last observation, or NULL. */
json_t *ik__group_desc(ik__group_t *g, const char *id);
void ik__group_clear_observation(ik__group_t *g);
void ik__action_free(ik__action_t *a);
void ik__emit(ik__group_t *g, const char *event, json_t *fields);

#endif
