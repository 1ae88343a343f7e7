/* The group controller: keeps each committed group at its spec, forever
 * (DESIGN §2 "The reconciler"; docs/groups.md for users).
 *
 * It implements the group SPI (spi/group.h), so the daemon serves it as
 * the `group` plugin on InfraKit's wire, and the CLI, playbooks and
 * InfraKit's own CLI drive it alike. Per group it runs a cycle:
 *
 *   observe   Instance.DescribeInstances with tag infrakit.group=ID, then
 *             Flavor.Healthy of every member (an error counts as unknown)
 *   plan      ik_plan_compute (pure) over what was seen, the actions still
 *             in flight and the rollout state
 *   persist   the plan's next rollout state, to the store, when it changed
 *   execute   the plan's actions, at most MaxParallel in flight: provision
 *             (Flavor.Prepare, then Instance.Provision with the group's
 *             tags), destroy (Flavor.Drain first when the plan says so,
 *             then Instance.Destroy), label, drain
 *
 * A cycle runs at commit, whenever an action finishes, when an instance
 * plugin reports an event (spi/instance.h watch: a process exited, a file
 * was removed), when a wait the plan asked for ends, and every poll_ms
 * (the resync). Cycles of one group never overlap; a trigger during a
 * cycle runs one more right after it.
 *
 * Failures are never swallowed. A failed action is counted and kept, with
 * its message, in the group's status and the event log; it is retried
 * after an exponential backoff with jitter (backoff.h) and stays "in
 * flight" for the plan meanwhile, so the plan does not propose it again
 * and nothing loops hot. An instance that vanishes soon after it was
 * created (a crash loop) holds back its replacement the same way.
 *
 * Durability: a commit writes the spec (groups/ID/spec) before it is
 * acted on, each cycle writes the rollout state (groups/ID/state) before
 * its actions start, and ik_controller_resume() picks every group up
 * again after a restart. Instances carry the group's tags from the moment
 * they are created, so a crash between provisioning and recording leaves
 * nothing orphaned: the next describe finds the instance.
 *
 * Write-ahead intents (intents.h): every provision and destroy of a batch
 * is recorded under groups/ID/intents, in one put, before any of them is
 * sent; each is cleared once its answer is in (clears are written with the
 * next batch or at the end of a cycle). A group resumed with intents
 * pending acts only once a describe has succeeded and settled them. */
#ifndef IK_ENGINE_CONTROLLER_H
#define IK_ENGINE_CONTROLLER_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "loop/loop.h"
#include "spi/group.h"
#include "spi/resolver.h"
#include "engine/events.h"
#include "spi/store.h"

typedef struct ik_controller ik_controller_t;

/* A call deadline for one plugin, as a spec names it ("slow", or
 * "name/type": the name before '/' matches too). */
typedef struct ik_call_timeout {
  const char *plugin;
  int64_t ms;
} ik_call_timeout_t;

typedef struct ik_controller_opts {
  ik_resolver_t resolver;                 /* instance and flavor plugins by name */
  ik_store_t *store;                      /* borrowed; outlives the controller */
  ik_events_t *events;                    /* the event log (events.h), borrowed: the daemon's one; NULL: none */
  int64_t poll_ms;                        /* resync interval [5000] */
  int64_t retry_base_ms;                  /* first retry delay [500] */
  int64_t retry_max_ms;                   /* longest retry delay [60000] */
  int64_t crash_window_ms;                /* an instance lost younger than this is crash-looping [60000] */
  const char *self_id;                    /* the instance (ID or logical ID) this daemon runs on; NULL: none */
  size_t max_calls;                       /* plugin calls in flight per group, at most [256]: bounds memory, not speed */
  int64_t call_timeout_ms;                /* a plugin call not answered within this fails with IK_ETIMEDOUT and is retried
                               like any failure; a late answer is dropped (logged) [300000] */
  const ik_call_timeout_t *call_timeouts; /* per plugin, over call_timeout_ms; copied */
  size_t n_call_timeouts;
  uint64_t max_group_size; /* the largest Allocation.Size or number of LogicalIDs accepted [10000]:
                               a commit, a resize or a stored spec above it is refused, naming the field */
  /* Called when a group has just made many plugin calls (thousands of
   * health checks or actions) and has none outstanding: the owner frees
   * what they left behind (Lua garbage, the allocator's free lists). May
   * be NULL. */
  void (*relief)(void *ctx);
  void *relief_ctx;
  /* The fence on plugin actions: asked immediately before each provision,
   * destroy, drain and label is sent; false (this daemon no longer leads,
   * or its lease is past its local deadline) and nothing is sent: the
   * action fails with IK_ENOTLEADER. NULL: always true (one manager). */
  bool (*may_act)(void *ctx);
  void *may_act_ctx;
  /* At commit, a group's Properties.Scaling.Policy (borrowed) beyond its
   * shape, which the engine checks itself (scaling_spec.h): the daemon
   * compiles the Lua (never runs it). 0, or a negative code with err
   * naming the field; the commit is then refused. NULL: not checked. */
  int (*check_policy)(void *ctx, const json_t *policy, ik_err_t *err);
  void *check_policy_ctx;
} ik_controller_opts_t;

int ik_controller_new(ik_loop_t *loop, const ik_controller_opts_t *opts, ik_controller_t **out, ik_err_t *err);

/* Stop every group (instances untouched; nothing in the store changes) and
 * free the controller. Calls still running finish later and are dropped. */
void ik_controller_free(ik_controller_t *c);

/* As ik_controller_free, but operations still out (a commit between its
 * validation and its store write, a destroy) fail with code and why
 * rather than "the daemon is shutting down": a daemon that lost
 * leadership says so (IK_ENOTLEADER), and its client knows to retry on
 * the leader. */
void ik_controller_stop(ik_controller_t *c, int code, const char *why);

/* Load every group the store holds and start reconciling it. cb(NULL, err
 * or NULL, data) once all are loaded; a group whose documents are broken
 * is logged, skipped and reported in err (the others still run). */
int ik_controller_resume(ik_controller_t *c, ik_spi_cb cb, void *data, ik_err_t *err);

/* The controller as a group plugin (free does nothing: the controller
 * stays the owner). Beyond InfraKit's Group/0.1.1 it implements the
 * optional promote and status operations. */
ik_group_plugin_t ik_controller_group(ik_controller_t *c);

#endif
