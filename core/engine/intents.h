/* Write-ahead intents: the provisions and destroys a group's controller
 * has sent, or is about to send, recorded in the store before they go out
 * (docs/ha.md, "Write-ahead intents"), so that whoever leads next knows
 * which calls' outcome it must observe before it acts on the group.
 *
 * The store keeps them under "groups/ID/intents" as one document per
 * group, rewritten whole (one put per batch, not per action):
 *
 *   {"Intents": [
 *     {"Tag": "3f09c1d2a4b5e6f7", "Kind": "provision", "ConfigHash": h, "LogicalID": "db-1"},
 *     {"Tag": "9a8b7c6d5e4f3a2b", "Kind": "destroy", "Instance": "instance-1234"}]}
 *
 * A provision's tag is also the value of the instance tag infrakit.intent
 * the provisioned instance carries, so an observation tells whether it
 * happened; a destroy happened when its instance is gone. LogicalID only
 * for pets. In memory the pending intents are a JSON object, tag -> the
 * entry without "Tag". */
#ifndef IK_ENGINE_INTENTS_H
#define IK_ENGINE_INTENTS_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

#define IK_TAG_INTENT "infrakit.intent"
#define IK_INTENT_TAG_LEN 16 /* hex characters, without the NUL */

/* The store document for pending (tag -> entry), entries sorted by tag. */
json_t *ik_intents_to_json(json_t *pending);

/* Parse a store document into *pending (a new object, tag -> entry).
 * IK_EINVAL naming the entry and field when doc is not such a document. */
int ik_intents_from_json(const json_t *doc, json_t **pending, ik_err_t *err);

/* An entry for a provision (logical_id NULL for cattle) or a destroy. */
json_t *ik_intent_provision(const char *config_hash, const char *logical_id);
json_t *ik_intent_destroy(const char *instance);

/* What an observation says of the pending intents. */
typedef struct ik_intents_outcome {
  size_t provisioned;     /* provisions whose instance is there (it carries the intent's tag) */
  size_t not_provisioned; /* provisions with no such instance */
  size_t destroyed;       /* destroys whose instance is gone */
  size_t not_destroyed;   /* destroys whose instance is still there */
} ik_intents_outcome_t;

/* Settle every pending intent against members (the group's instance
 * descriptions from a describe that succeeded) and empty pending: after
 * it the members are what the plan goes by. */
void ik_intents_resolve(json_t *pending, const json_t *members, ik_intents_outcome_t *out);

#endif
