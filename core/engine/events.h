/* The event log: one JSON object per line in $INFRAKIT_HOME/events.jsonl,
 * appended as things happen, for operators (`infrakit events`, `infrakit
 * group watch`, GET /events, tail -f, jq) and for post-mortems:
 *
 *   {"seq":42,"time":"2026-12-07T10:00:00.123Z","group":"workers",
 *    "event":"provisioned","instance":"instance-42",...}
 *
 * Events: committed, freed, destroyed, plan (phase changes), provisioned,
 * destroyed-instance, drained, labelled, action-failed (with "error",
 * "attempt", "retry_in_ms"), instance-lost (gone without our destroy),
 * rollout-done, rollout-failed, promoted, rollout-paused, rollout-resumed
 * (`group pause` / `group resume`; "resumed" is a group loaded from the
 * store at start); the daemon adds
 * leadership-gained and leadership-lost (docs/ha.md). Appends are single write(2)s with
 * O_APPEND, so concurrent readers never see half a line. A write error is
 * logged once and the controller goes on: the log must not stop healing.
 *
 * "seq" numbers every event, increasing by one, so a reader that saw N
 * asks for what came after N (GET /events with Last-Event-ID). It goes on
 * across restarts (from the file's last line) and across leaders: with a
 * store (ik_events_use_store) the next number is also kept under
 * "events/cursor", reserved IK_EVENTS_CURSOR_BLOCK at a time so the
 * controller never waits on a write, and a new leader starts above the
 * whole block the last one reserved. One ik_events_t per daemon: the
 * controller and the daemon's leadership events share it. */
#ifndef IK_ENGINE_EVENTS_H
#define IK_ENGINE_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "spi/store.h"

#define IK_EVENTS_CURSOR_KEY "events/cursor"
#define IK_EVENTS_CURSOR_BLOCK 1000

typedef struct ik_events ik_events_t;
typedef struct ik_events_sub ik_events_sub_t;

/* Open path for appending (created 0600); the numbering goes on from its
 * last line's "seq". NULL path: nothing is written, events are still
 * numbered and given to subscribers. */
int ik_events_open(const char *path, ik_events_t **out, ik_err_t *err);
/* Close; a store read or write still on its way finishes first (the
 * memory goes with its callback). NULL is a no-op. */
void ik_events_close(ik_events_t *ev);

/* Append {"seq", "time", "group", "event", ...fields}; fields is stolen
 * (may be NULL). Also called with ev NULL (does nothing). Never waits:
 * while the store's cursor is being read, events are held in memory, in
 * order, and written (numbered) once it is known. */
void ik_events_emit(ik_events_t *ev, const char *group, const char *event, json_t *fields);

/* Keep the cursor in store (borrowed; NULL: stop using one). Called when
 * this daemon starts managing the groups: at start with the file store,
 * on each election with etcd. Reads "events/cursor" ({"next": N}), goes
 * on from the larger of N and its own next number, and writes the next
 * reservation. A failed read is logged and the numbering goes on from the
 * file. */
void ik_events_use_store(ik_events_t *ev, ik_store_t *store);

/* The file (NULL when none) and the last number given (0: none yet). */
const char *ik_events_path(const ik_events_t *ev);
uint64_t ik_events_last_seq(const ik_events_t *ev);

/* Called for each event as it is written: its number, group ("" for the
 * daemon's), name and line (JSON, no newline; borrowed for the call). */
typedef void (*ik_events_fn)(uint64_t seq, const char *group, const char *event, const char *line, size_t len,
                             void *data);
/* Subscribe; the callback may unsubscribe (itself or others). */
ik_events_sub_t *ik_events_subscribe(ik_events_t *ev, ik_events_fn fn, void *data);
void ik_events_unsubscribe(ik_events_t *ev, ik_events_sub_t *sub);

/* The "seq" of an events.jsonl line (starting {"seq":N), or 0. */
uint64_t ik_events_line_seq(const char *line, size_t len);

#endif
