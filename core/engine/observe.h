/* What the plan knows of instances, from what an instance plugin says
 * (Instance.DescribeInstances, reference §3.1, §4.1). */
#ifndef IK_ENGINE_OBSERVE_H
#define IK_ENGINE_OBSERVE_H

#include <jansson.h>

#include "base/err.h"
#include "engine/plan.h"

#define IK_TAG_GROUP "infrakit.group"
#define IK_TAG_CONFIG_HASH "infrakit.config.hash"
#define IK_TAG_LOGICAL_ID "infrakit.logical_id"

/* One ik_plan_instance_t per description in descs (a JSON array of
 * instance.Description, borrowed: the strings point into it). Logical ID
 * from LogicalID, else the tag infrakit.logical_id; group and config hash
 * from their tags. Health is IK_HEALTH_UNKNOWN and created_ms 0: the
 * caller knows those (the flavor, first-seen times). *out is freed with
 * ik_free(). IK_EINVAL naming the entry when one has no ID. */
int ik_observe_descriptions(const json_t *descs, ik_plan_instance_t **out, size_t *n, ik_err_t *err);

#endif
