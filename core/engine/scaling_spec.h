/* Properties.Scaling of a group spec: the autoscaler's settings
 * (docs/autoscaling.md), validated at commit so a bad one is refused with
 * the field named, not discovered at the first evaluation.
 *
 *   "Scaling": {"Policy": "target-utilisation" | {"Source": "<Lua>"},
 *               "Min": 1, "Max": 10, "Interval": "10s",
 *               "Cooldown": "60s", "CooldownUp": "30s", "CooldownDown": "2m",
 *               "ScaleInAfter": 3,
 *               ...the policy's own parameters ("Target", "Metric", ...)}
 *
 * The engine only validates: the daemon's autoscaler (lua/infrakit/
 * _autoscaler.lua) reads the committed spec and runs the policy. */
#ifndef IK_ENGINE_SCALING_SPEC_H
#define IK_ENGINE_SCALING_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

/* The built-in policy (lua/infrakit/scaling/target_utilisation.lua). */
#define IK_SCALING_TARGET_UTILISATION "target-utilisation"

typedef struct ik_scaling {
  bool set;                 /* Properties.Scaling given */
  uint64_t min, max;        /* bounds on Allocation.Size [1, required] */
  int64_t interval_ms;      /* evaluate every [10 s], at least 100 ms */
  int64_t cooldown_up_ms;   /* after a change, no scale-out for [Cooldown, 60 s] */
  int64_t cooldown_down_ms; /* after a change, no scale-in for [Cooldown, 60 s] */
  uint32_t scale_in_after;  /* evaluations in a row proposing fewer before a scale-in [3] */
} ik_scaling_t;

/* Parse props.Scaling (props borrowed) into *out (zeroed: not set when
 * absent). pets: the group has LogicalIDs, which cannot be scaled.
 * max_size: the daemon's group size limit. Returns 0, or IK_EINVAL with
 * err naming the field ("Properties.Scaling.Max: want an integer >= Min
 * (2), got 1"). */
int ik_scaling_parse(const json_t *props, bool pets, uint64_t max_size, ik_scaling_t *out, ik_err_t *err);

#endif
