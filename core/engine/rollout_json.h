/* The rollout state (plan.h) as the JSON document the store keeps under
 * "groups/ID/state", so a restarted daemon resumes the same rollout:
 *
 *   {"SpecHash": h, "TargetHash": h, "GoodHash": h, "SelfDrainedHash": h,
 *    "CanaryPromoted": false, "Paused": false, "RolledBack": false, "StartedMs": 0,
 *    "Failure": "", "Destroying": false}
 *
 * Only what changes at rollout boundaries is written - a new target, a
 * batch's end, a promotion, a pause or resume, a rollback - so a rollout costs a handful of
 * fsyncs, not one per instance. The phase and when each member was first
 * seen healthy stay in memory: after a restart members prove their
 * MinHealthySeconds again. (A document that has "Phase" and
 * "HealthySince", from an older daemon, is read as well.)
 *
 * Destroying is the controller's own: a DestroyGroup in progress, so a
 * crash in the middle finishes the job on restart. */
#ifndef IK_ENGINE_ROLLOUT_JSON_H
#define IK_ENGINE_ROLLOUT_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"
#include "engine/plan.h"

/* A new document for st. */
json_t *ik_rollout_state_to_json(const ik_rollout_state_t *st, bool destroying);

/* Parse v into *st (uninitialised; free with ik_rollout_state_free even on
 * failure). IK_EINVAL naming the field when v is not such a document;
 * missing fields take their zero value (a state from an older daemon). */
int ik_rollout_state_from_json(const json_t *v, ik_rollout_state_t *st, bool *destroying, ik_err_t *err);

#endif
