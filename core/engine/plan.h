/* The plan: what a group controller should do next, as a pure function
 *
 *   (group spec, observed instances, in-flight actions, rollout state, now)
 *     -> (actions, summary, next rollout state)
 *
 * No I/O, no clock, no randomness but the seed passed in: the same input
 * gives the same output, byte for byte. The executor (DESIGN.md §2, "The
 * reconciler") calls it after every observation, persists `next` before
 * acting, runs the actions, and calls it again; `infrakit plan` and
 * `--pretend` print it. The plan is level-triggered: it needs no memory
 * of earlier batches beyond the small rollout state below, because a batch
 * in progress is visible in the input as in-flight actions and instances
 * that are not yet available.
 *
 * Identity (reference §4.1). An instance belongs to the group when its tag
 * infrakit.group equals the group ID; no other instance is ever touched.
 * Its config is its infrakit.config.hash tag (none = an old config). Pets
 * (Allocation.LogicalIDs) are matched by logical ID; a member of a pet
 * group without one is ignored, as InfraKit does. A member whose hash is
 * "bootstrap" is adopted: a label action writes the target hash on it
 * and it counts as up to date.
 *
 * Availability. An instance is available when its flavor has reported it
 * healthy continuously for the group's minimum healthy time:
 * max(MinHealthySeconds, Duration, Count * poll interval). "unknown" is
 * not healthy. The state records when each instance was first seen
 * healthy (`healthy_since`); the plan keeps that record in `next`.
 *
 * What the plan does, in this order (docs/groups.md says it for users):
 *  1. Target. A spec whose config hash differs from the state's starts a
 *     rollout to it (canary promotion reset). Only the hash counts: a
 *     scale-only change never replaces an instance.
 *  2. Failure. While a rollout is active (target != last good hash), a
 *     member at the target that is unhealthy, or not available within
 *     HealthyDeadline of max(its creation, the rollout's start), fails
 *     the rollout: with AutoRollback and a known good hash the target
 *     becomes the good hash (a rollback, which has no canary step);
 *     otherwise the rollout stops (phase blocked) until the instance
 *     recovers or a new spec is committed. Scaling and healing go on.
 *  3. Excess. Cattle above the desired size (desired + MaxSurge during a
 *     rollout) are destroyed at once (context terminate). Scale-in order:
 *     unhealthy first, then old config, then not yet available, then
 *     DeletePolicy (Oldest: earliest created; Newest; Random: a shuffle
 *     from the seed), then ID. Pets whose logical ID is no longer in the
 *     spec are destroyed; of several members with one logical ID the plan
 *     keeps the best (target config first, then the most available, then
 *     the oldest, then the lowest ID) and destroys the others, except
 *     that an old member beside a new one is a surge pair the rollout
 *     resolves (step 6).
 *  4. Remediation (Health). A member unhealthy for UnhealthyTimeout is
 *     destroyed and replaced, unless more members than MaxUnhealthy (of
 *     the desired size, rounded down) are unhealthy at once: then nothing
 *     is remediated and the phase is blocked. Crash-loop backoff is the
 *     executor's: it keeps a failing action in `in_flight` while it backs
 *     off, so the plan does not propose it again.
 *  5. Missing. Cattle below the desired size, and pets whose logical ID
 *     has no member, are provisioned with the target hash (also during a
 *     rollout: the new size applies at once and new instances get the
 *     target). Members being destroyed still count against the limit of
 *     desired + MaxSurge instances at once, so with MaxSurge 0 a
 *     replacement waits for the destroy to finish.
 *  6. Rollout (Kubernetes' Deployment arithmetic). surge = MaxSurge of the
 *     desired size rounded up, unavailable = MaxUnavailable rounded down
 *     (both 0 after rounding: unavailable = 1). New instances are
 *     provisioned while members < desired + surge; old ones are destroyed
 *     (context rolling_update) while available members stay >= desired -
 *     unavailable: unavailable old ones first (bounded as Kubernetes'
 *     cleanup), then available ones. For pets a slot's new instance is
 *     provisioned beside its old one when the surge allows (the pair's old
 *     member is destroyed once the new one is available), else the old one
 *     is destroyed first and its slot provisioned after the destroy
 *     completes. Canary N (not promoted): the rollout stops once N members
 *     are at the new config or being replaced by it; phase canary-paused.
 *     Paused (state.paused, `group pause`): this step proposes nothing -
 *     no surge, no rolling-update destroy, no replacement of one - and the
 *     phase is paused (unless blocked) whether or not a rollout is
 *     active, so a spec committed while paused waits too (Kubernetes'
 *     paused Deployment). Actions in flight finish; steps 1-5 and 7-8 go
 *     on: scaling, remediation and the refill of missing members (at the
 *     target config) are not a rollout's, and a rollout whose last
 *     replacement finishes while paused completes.
 *  7. Self. The instance this daemon runs on is never destroyed. When it
 *     is the last member with an old config, it is drained once and the
 *     phase is blocked: another manager must replace it (InfraKit).
 *  8. Completion. No old member, the desired count, all available: the
 *     target becomes the last good hash.
 *  9. MaxParallel and the window. New actions are cut to MaxParallel (and
 *     to the window, in.window) minus the actions in flight, in the order
 *     above; one wait says how many were held back. Provisions beyond the
 *     cut are only counted, never built, so the plan's time and memory
 *     do not grow with the size.
 * Destroys drain first, except rolling-update destroys when
 * SkipBeforeInstanceDestroy is "drain" (InfraKit: terminations always
 * drain). */
#ifndef IK_ENGINE_PLAN_H
#define IK_ENGINE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "engine/group_spec.h"
#include "engine/hash.h"
#include "spi/flavor.h"

#define IK_PLAN_REASON_MAX 256
#define IK_PLAN_BOOTSTRAP_HASH "bootstrap" /* reference §4.1: adopt this instance */

/* --- input ------------------------------------------------------------------ */

/* One instance as observed (all strings borrowed for the call). */
typedef struct ik_plan_instance {
  const char *id;
  const char *logical_id;     /* LogicalID, else tag infrakit.logical_id; NULL if none */
  const char *group;          /* tag infrakit.group; NULL if absent */
  const char *config_hash;    /* tag infrakit.config.hash; NULL if absent */
  int64_t created_ms;         /* creation time, ms since the epoch; 0 if unknown */
  ik_health_t health;         /* the flavor's last answer */
  int64_t unhealthy_since_ms; /* when it turned unhealthy (health UNHEALTHY) */
  bool self;                  /* this daemon runs on it: never destroyed */
  bool adopted;               /* found by a controller that just resumed, before its first health answer: at
                              the last good config and healthy, it proved itself before the restart and
                              is available at once (no new MinHealthySeconds) */
} ik_plan_instance_t;

typedef enum ik_plan_action_kind {
  IK_ACTION_PROVISION = 0,
  IK_ACTION_DESTROY,
  IK_ACTION_DRAIN,
  IK_ACTION_LABEL,
  IK_ACTION_WAIT,
} ik_plan_action_kind_t;

/* An action the executor started and has not finished (including one it
 * holds back while retrying with backoff). A provision stays listed until
 * the instance it created is observed, so it is never proposed twice. */
typedef struct ik_plan_inflight {
  ik_plan_action_kind_t kind; /* PROVISION, DESTROY, DRAIN or LABEL */
  const char *id;             /* DESTROY, DRAIN, LABEL: the instance */
  const char *logical_id;     /* PROVISION: the slot (pets), else NULL */
  const char *config_hash;    /* PROVISION, LABEL: the config */
} ik_plan_inflight_t;

typedef enum ik_plan_phase {
  IK_PHASE_STEADY = 0,    /* at the spec: nothing to do, nothing in flight */
  IK_PHASE_SCALING,       /* adding or removing instances (scale, heal, create) */
  IK_PHASE_ROLLING,       /* replacing instances with the target config */
  IK_PHASE_CANARY_PAUSED, /* canaries rolled; waiting for `group promote` */
  IK_PHASE_BLOCKED,       /* cannot make progress; reason says why */
  IK_PHASE_PAUSED,        /* `group pause`: no new replacement until `group resume` */
} ik_plan_phase_t;

typedef struct ik_healthy_since {
  char *id;
  int64_t since_ms;
} ik_healthy_since_t;

/* What the plan remembers between calls; persisted by the store. A
 * zeroed struct (ik_rollout_state_init) is a group never planned. */
typedef struct ik_rollout_state {
  char spec_hash[IK_HASH_LEN + 1];         /* config hash of the spec last planned */
  char target_hash[IK_HASH_LEN + 1];       /* config members should have (spec's, or good after a rollback) */
  char good_hash[IK_HASH_LEN + 1];         /* last config fully rolled out and available; "" = none */
  char self_drained_hash[IK_HASH_LEN + 1]; /* target for which self was drained */
  ik_plan_phase_t phase;                   /* as of the last plan */
  bool canary_promoted;                    /* `group promote` since the rollout started */
  bool paused;                             /* `group pause` until `group resume`; kept across new targets */
  bool rolled_back;                        /* the target went back to good_hash */
  int64_t started_ms;                      /* when the target was last changed */
  char failure[IK_PLAN_REASON_MAX];        /* why the rollout was rolled back; "" if not */
  ik_healthy_since_t *healthy;             /* members seen healthy continuously, by ID */
  size_t n_healthy;
} ik_rollout_state_t;

typedef struct ik_plan_input {
  const ik_group_spec_t *spec;         /* parsed and validated */
  const ik_plan_instance_t *instances; /* as observed, any order; may include non-members */
  size_t n_instances;
  const ik_plan_inflight_t *in_flight;
  size_t n_in_flight;
  const ik_rollout_state_t *state; /* NULL = never planned */
  int64_t now_ms;
  int64_t poll_ms; /* resync interval, for Updating.Count */
  uint64_t seed;   /* DeletePolicy Random */
  uint32_t window; /* at most this many actions in flight and proposed at once;
                                           0 = IK_PLAN_WINDOW */
} ik_plan_input_t;

/* The default window: a plan never holds more actions than this, however
 * large the group, so its memory (and the executor's queue, and
 * --pretend's Details) stays bounded; what is held back is one wait,
 * "N more actions wait for room", planned again as actions finish. */
#define IK_PLAN_WINDOW 4096

/* --- output ------------------------------------------------------------------ */

typedef enum ik_destroy_reason {
  IK_DESTROY_TERMINATE = 0,  /* instance.Context "terminate" */
  IK_DESTROY_ROLLING_UPDATE, /* instance.Context "rolling_update" */
} ik_destroy_reason_t;

typedef enum ik_wait_for {
  IK_WAIT_HEALTHY = 0, /* new instances to become available */
  IK_WAIT_PROMOTION,   /* `infrakit group promote ID` */
  IK_WAIT_UNHEALTHY,   /* an unhealthy instance to reach UnhealthyTimeout */
  IK_WAIT_IN_FLIGHT,   /* actions in flight (MaxParallel, a destroy before its slot is reused) */
  IK_WAIT_RESUME,      /* `infrakit group resume ID` */
} ik_wait_for_t;

typedef struct ik_plan_action {
  ik_plan_action_kind_t kind;
  char *id;                          /* DESTROY, DRAIN, LABEL: the instance */
  char *logical_id;                  /* PROVISION: the slot (pets), else NULL; DESTROY: the member's */
  char config_hash[IK_HASH_LEN + 1]; /* PROVISION: the config to create; LABEL: the hash to write */
  ik_destroy_reason_t reason;        /* DESTROY */
  bool drain;                        /* DESTROY: call the flavor's Drain first */
  ik_wait_for_t wait_for;            /* WAIT */
  int64_t until_ms;                  /* WAIT: plan again by then; 0 = when something changes */
  char *why;                         /* a short human reason, never NULL */
} ik_plan_action_t;

typedef struct ik_plan_summary {
  ik_plan_phase_t phase;
  uint64_t desired;                /* the spec's size */
  uint64_t current;                /* members that exist, less those being destroyed (provisions not yet done are not counted) */
  uint64_t updated;                /* of those, at the target config */
  uint64_t available;              /* of those, available */
  uint64_t unhealthy;              /* of those, reported unhealthy */
  uint64_t done;                   /* rollout progress: available at the target (pets: slots), <= desired */
  uint64_t total;                  /* = desired */
  char reason[IK_PLAN_REASON_MAX]; /* why blocked, paused or waiting; "" when steady */
} ik_plan_summary_t;

typedef struct ik_plan {
  ik_plan_action_t *actions; /* in the order to start them; waits last */
  size_t n_actions;
  ik_plan_summary_t summary;
  ik_rollout_state_t next; /* persist before acting */
} ik_plan_t;

/* --- functions ------------------------------------------------------------------ */

/* Compute the plan. in and everything it points to are borrowed; *out is
 * filled (free with ik_plan_free). Returns 0, or IK_EINVAL with err
 * filled when in is unusable (no spec, an instance or in-flight entry
 * without its ID). Never does I/O. */
int ik_plan_compute(const ik_plan_input_t *in, ik_plan_t *out, ik_err_t *err);

void ik_plan_free(ik_plan_t *plan);

void ik_rollout_state_init(ik_rollout_state_t *st);
void ik_rollout_state_free(ik_rollout_state_t *st);
/* A deep copy of src into dst (dst uninitialised). */
void ik_rollout_state_copy(ik_rollout_state_t *dst, const ik_rollout_state_t *src);

/* One line per action, for `infrakit plan`, events and tests:
 *   provision logical_id=db-1 hash=<h> (missing logical ID db-1)
 *   provision hash=<h> (rolling update: surge)
 *   destroy i-3 terminate drain (scale down to 2)
 *   destroy i-1 rolling_update (rolling update: replace)
 *   drain i-9 (runs this daemon and is the last instance with the old config)
 *   label i-4 hash=<h> (adopt a bootstrap instance)
 *   wait healthy until=<ms> (waiting for 2 new instances to be healthy for MinHealthySeconds)
 * No trailing newline. */
void ik_plan_action_format(ik_buf_t *out, const ik_plan_action_t *a);
/* "rolling 2/5: <reason>" (the reason only when not empty). */
void ik_plan_summary_format(ik_buf_t *out, const ik_plan_summary_t *s);

const char *ik_plan_action_kind_name(ik_plan_action_kind_t k); /* "provision", "destroy", "drain", "label", "wait" */
const char *ik_plan_phase_name(ik_plan_phase_t p);             /* "steady", "scaling", "rolling", "canary-paused", "blocked", "paused" */
const char *ik_destroy_reason_name(ik_destroy_reason_t r);     /* "terminate", "rolling_update" */
const char *ik_wait_for_name(ik_wait_for_t w);                 /* "healthy", "promotion", "unhealthy", "in-flight", "resume" */

#endif
