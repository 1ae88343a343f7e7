/* Policy quantities of a group spec: counts that may be percentages (as
 * Kubernetes' IntOrString: 3 or "25%") and durations (Go's "1m30s", or a
 * plain number of seconds where a field says so). Pure functions. */
#ifndef IK_ENGINE_QUANTITY_H
#define IK_ENGINE_QUANTITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

/* A count or a percentage of a total. */
typedef struct ik_intstr {
  int64_t value; /* >= 0 */
  bool percent;  /* value is a percentage (may exceed 100) */
} ik_intstr_t;

/* Read a non-negative JSON integer or a string "<integer>%" ("25%").
 * Anything else is IK_EINVAL with err "<field>: want a number or a
 * percentage like \"25%\", got <what>". v is borrowed, not NULL. */
int ik_intstr_parse(const json_t *v, const char *field, ik_intstr_t *out, ik_err_t *err);

/* The absolute value of q for a total, as Cluster API's
 * GetScaledValueFromIntOrPercent: a count is itself; a percentage is
 * total * value / 100 rounded up (round_up, MaxSurge) or down (otherwise,
 * MaxUnavailable, MaxUnhealthy). E.g. 25% of 10 = 3 up, 2 down. */
int64_t ik_intstr_scaled(ik_intstr_t q, int64_t total, bool round_up);

/* True when q is 0 or "0%" (zero whatever the total). */
bool ik_intstr_is_zero(ik_intstr_t q);

/* Parse Go's time.ParseDuration syntax ("300ms", "1.5h", "2h45m", "0";
 * units ns us µs ms s m h; an optional sign) into nanoseconds. Returns 0,
 * or IK_EINVAL (err: "<field>: want a duration like \"30s\", got \"x\"")
 * for bad syntax, a missing unit, or overflow. */
int ik_go_duration_parse(const char *s, const char *field, int64_t *ns, ik_err_t *err);

/* A duration field: a Go duration string, or (when seconds_ok) a
 * non-negative JSON number of seconds (600, 1.5). Negative durations are
 * IK_EINVAL. The result is in milliseconds, rounded down. */
int ik_duration_field(const json_t *v, const char *field, bool seconds_ok, int64_t *ms, ik_err_t *err);

#endif
