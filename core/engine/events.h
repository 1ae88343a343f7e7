/* The event log: one JSON object per line in $INFRAKIT_HOME/events.jsonl,
 * appended as things happen, for operators (`infrakit group watch`, tail
 * -f, jq) and for post-mortems:
 *
 *   {"time":"2026-12-07T10:00:00.123Z","group":"workers","event":"provisioned",
 *    "instance":"instance-42","logical_id":null,"attempt":1,...}
 *
 * Events: committed, freed, destroyed, plan (phase changes), provisioned,
 * destroyed-instance, drained, labelled, action-failed (with "error",
 * "attempt", "retry_in_ms"), instance-lost (gone without our destroy),
 * rollout-done, rollout-failed, promoted; the daemon adds
 * leadership-gained and leadership-lost (docs/ha.md). Appends are single write(2)s with
 * O_APPEND, so concurrent readers never see half a line. A write error is
 * logged once and the controller goes on: the log must not stop healing. */
#ifndef IK_ENGINE_EVENTS_H
#define IK_ENGINE_EVENTS_H

#include <jansson.h>

#include "base/err.h"

typedef struct ik_events ik_events_t;

/* Open path for appending (created 0600). NULL path: a log that drops
 * everything. */
int ik_events_open(const char *path, ik_events_t **out, ik_err_t *err);
void ik_events_close(ik_events_t *ev);

/* Append {"time", "group", "event", ...fields}; fields is stolen (may be
 * NULL). Also called with ev NULL (does nothing). */
void ik_events_emit(ik_events_t *ev, const char *group, const char *event, json_t *fields);

#endif
