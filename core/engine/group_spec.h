/* A group spec (InfraKit's group.Spec, reference §2.1, plus our Updating
 * and Health policies) parsed and validated into a C struct.
 *
 *   {"ID": "workers",
 *    "Properties": {
 *      "Allocation": {"Size": 3} | {"LogicalIDs": ["a", "b"]},
 *      "Instance":   {"Plugin": "instance-file", "Properties": {...}},
 *      "Flavor":     {"Plugin": "flavor-vanilla", "Properties": {...}},
 *      "Updating":   {"MaxSurge": 1, "MaxUnavailable": 0, ...},   optional
 *      "Health":     {"UnhealthyTimeout": "5m", "MaxUnhealthy": "40%"},   optional
 *      "Scaling":    {"Policy": "target-utilisation", "Min": 1, "Max": 10, ...}}} optional
 *
 * Field names match ignoring case, unknown fields are ignored and null is
 * "absent", as Go decodes. Every error names the field
 * ("Properties.Updating.MaxSurge: want a number or a percentage like
 * \"25%\", got true"). docs/groups.md lists every field and its default. */
#ifndef IK_ENGINE_GROUP_SPEC_H
#define IK_ENGINE_GROUP_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "engine/hash.h"
#include "engine/quantity.h"
#include "engine/scaling_spec.h"

/* Which instance a scale-in removes first, after the preferences that
 * always apply (unhealthy, old config, not yet available; plan.h). */
typedef enum ik_delete_policy {
  IK_DELETE_OLDEST = 0, /* earliest created first (the default) */
  IK_DELETE_NEWEST,     /* latest created first */
  IK_DELETE_RANDOM,     /* a shuffle drawn from the plan's seed */
} ik_delete_policy_t;

/* Properties.Updating. Times are in milliseconds. */
typedef struct ik_updating {
  /* InfraKit's fields, same meaning: a replaced instance must be healthy
   * for Duration, or for Count consecutive polls, before the next one is
   * replaced (only one of the two may be set); SkipBeforeInstanceDestroy
   * "drain" skips the flavor's Drain before a rolling-update destroy. */
  int64_t duration_ms;
  int64_t count;
  bool skip_drain;
  /* Ours. MaxSurge: instances above the desired size during a rollout
   * (rounded up). MaxUnavailable: desired instances that may be
   * unavailable (rounded down). Defaults 1 and 0 for cattle; 0 and 1 for
   * pets (a logical ID often names something only one instance can hold,
   * such as an IP address). */
  ik_intstr_t max_surge;
  ik_intstr_t max_unavailable;
  uint32_t max_parallel;       /* actions in flight at once; 0 = unlimited */
  int64_t min_healthy_ms;      /* MinHealthySeconds: healthy this long = available */
  int64_t healthy_deadline_ms; /* HealthyDeadline [600 s]; 0 = no deadline */
  bool auto_rollback;          /* on failure, roll back to the last good config */
  uint32_t canary;             /* roll this many, then wait for promotion */
  ik_delete_policy_t delete_policy;
} ik_updating_t;

/* Properties.Health: remediation of unhealthy instances. */
typedef struct ik_health_policy {
  int64_t unhealthy_timeout_ms; /* replace after this long unhealthy; 0 = never */
  ik_intstr_t max_unhealthy;    /* stop remediating above this [100%] */
} ik_health_policy_t;

typedef struct ik_group_spec {
  char *id;
  bool pets;          /* Allocation.LogicalIDs given */
  uint64_t size;      /* Allocation.Size, or the number of logical IDs */
  char **logical_ids; /* pets only; n_logical_ids == size */
  size_t n_logical_ids;
  char *instance_plugin;       /* Instance.Plugin, never empty */
  json_t *instance_properties; /* Instance.Properties; NULL when absent */
  char *flavor_plugin;
  json_t *flavor_properties;
  ik_updating_t updating;
  ik_health_policy_t health;
  ik_scaling_t scaling;              /* Properties.Scaling (scaling_spec.h); .set false when absent */
  char config_hash[IK_HASH_LEN + 1]; /* InfraKit's hash of Instance + Flavor */
} ik_group_spec_t;

/* The default limit on a group's size (Allocation.Size, or the number of
 * LogicalIDs); the daemon's --max-group-size changes it. */
#define IK_GROUP_MAX_SIZE_DEFAULT 10000
/* The longest group ID. */
#define IK_GROUP_ID_MAX 128

/* A group ID is 1 to IK_GROUP_ID_MAX letters, digits, '.', '_' and '-',
 * not starting with '.': it names files and store keys (groups/ID/spec),
 * so no '/', no "..", no control bytes. Returns 0, or IK_EINVAL with err
 * naming the field ID. */
int ik_group_id_check(const char *id, ik_err_t *err);

/* Parse and validate group.Spec v (borrowed) into *out. On success
 * returns 0 and *out owns its memory (ik_group_spec_free). On failure
 * returns IK_EINVAL (or IK_EIO from the hash), fills err naming the
 * field, and leaves *out empty (freeing it is harmless). Refused: a blank
 * ID; no Allocation; a negative Size; Size and LogicalIDs both given;
 * empty or duplicate logical IDs; a blank Instance or Flavor plugin; Count
 * and Duration both set; a SkipBeforeInstanceDestroy other than "drain";
 * MaxSurge and MaxUnavailable both 0; a bad DeletePolicy; a Scaling block
 * that ik_scaling_parse refuses; any mistyped
 * or negative number. `"Size": 0` is accepted (scale to zero; InfraKit
 * refuses it as a blank Allocation). An ID that ik_group_id_check refuses,
 * and a Size or a number of LogicalIDs above max_size, are refused before
 * anything is allocated for them. */
int ik_group_spec_parse_limited(const json_t *v, uint64_t max_size, ik_group_spec_t *out, ik_err_t *err);

/* ik_group_spec_parse_limited with IK_GROUP_MAX_SIZE_DEFAULT. */
int ik_group_spec_parse(const json_t *v, ik_group_spec_t *out, ik_err_t *err);

void ik_group_spec_free(ik_group_spec_t *spec);

/* The spec's group.AllocationMethod as Go encodes it, for Flavor.Validate
 * and Flavor.Prepare: {"Size": n, "LogicalIDs": null} for cattle,
 * {"Size": 0, "LogicalIDs": [...]} for pets. A new value. */
json_t *ik_group_spec_allocation(const ik_group_spec_t *spec);

const char *ik_delete_policy_name(ik_delete_policy_t p); /* "Oldest", ... */

#endif
