/* The watchers of a native instance driver (spi/instance.h watch and
 * unwatch): who is told when an instance appears, changes or goes away.
 * One list shape for every driver in providers/. */
#ifndef IK_PROVIDERS_WATCHERS_H
#define IK_PROVIDERS_WATCHERS_H

#include "spi/instance.h"

#define IK_WATCHERS_MAX 16

typedef struct ik_watchers {
  struct {
    ik_instance_event_cb cb; /* NULL: a free slot */
    void *data;
    int token;
  } slot[IK_WATCHERS_MAX];
  int next_token;
  int count;
} ik_watchers_t;

/* Add cb: returns its token (> 0), or IK_ESTATE with err naming plugin
 * when IK_WATCHERS_MAX are already there. */
int ik_watchers_add(ik_watchers_t *w, ik_instance_event_cb cb, void *data, const char *plugin, ik_err_t *err);

/* Remove the watcher with token; an unknown token is a no-op. */
void ik_watchers_remove(ik_watchers_t *w, int token);

/* Remove them all. */
void ik_watchers_clear(ik_watchers_t *w);

/* Call every watcher with (id, why). A watcher may add or remove
 * watchers from its callback. */
void ik_watchers_notify(const ik_watchers_t *w, const char *id, const char *why);

#endif
