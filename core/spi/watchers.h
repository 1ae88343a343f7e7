/* The watchers of an instance plugin: the subscribers that watch (spi/
 * instance.h) registered, told about every change. One list type for every
 * plugin that has events - the native drivers in providers/ and the Lua
 * providers (core/lua/lua_plugin.c) - so watch, unwatch and the delivery
 * rules are the same everywhere:
 *
 *   - add returns a token > 0, unique within the list, for remove;
 *   - the list grows as needed (a daemon has one watcher per group);
 *   - a callback may add or remove watchers (itself included) while
 *     ik_watchers_notify runs: a removed one is not called again, an added
 *     one may or may not be called for the event being delivered;
 *   - ik_watchers_free empties the list, and may be called from a callback
 *     (the delivery then stops).
 *
 * A zeroed ik_watchers_t is an empty list. Not thread-safe: loop thread. */
#ifndef IK_SPI_WATCHERS_H
#define IK_SPI_WATCHERS_H

#include "spi/instance.h"

typedef struct ik_watcher {
  ik_instance_event_cb cb; /* NULL: a free slot */
  void *data;
  int token;
} ik_watcher_t;

typedef struct ik_watchers {
  ik_watcher_t *slots;
  int n, cap; /* slots in use (free ones included), slots allocated */
  int next_token;
} ik_watchers_t;

/* Register cb(id, why, data) for every change from now on. Returns its
 * token (> 0). Never fails (allocation failure aborts, base/mem.h). */
int ik_watchers_add(ik_watchers_t *w, ik_instance_event_cb cb, void *data);
/* Unregister the watcher with token; unknown tokens are ignored. */
void ik_watchers_remove(ik_watchers_t *w, int token);
/* Tell every watcher: id (NULL: "describe again") and why (may be NULL)
 * are passed through, borrowed. */
void ik_watchers_notify(ik_watchers_t *w, const char *id, const char *why);
/* How many watchers are registered (free slots not counted): a driver
 * follows its backend's events only while someone watches. */
int ik_watchers_count(const ik_watchers_t *w);
/* Drop every watcher and the memory; the list is empty (and usable). */
void ik_watchers_free(ik_watchers_t *w);

#endif
