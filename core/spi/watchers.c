/* The watchers of an instance plugin (watchers.h). */
#include "spi/watchers.h"

#include "base/mem.h"

int ik_watchers_add(ik_watchers_t *w, ik_instance_event_cb cb, void *data) {
  int i = 0;
  while (i < w->n && w->slots[i].cb) i++;
  if (i == w->n) {
    if (w->n == w->cap) {
      w->cap = w->cap ? 2 * w->cap : 4;
      w->slots = ik_realloc(w->slots, (size_t)w->cap * sizeof *w->slots);
    }
    w->n++;
  }
  w->slots[i] = (ik_watcher_t){.cb = cb, .data = data, .token = ++w->next_token};
  return w->slots[i].token;
}

void ik_watchers_remove(ik_watchers_t *w, int token) {
  for (int i = 0; i < w->n; i++)
    if (w->slots[i].token == token && w->slots[i].cb) w->slots[i] = (ik_watcher_t){0};
}

void ik_watchers_notify(ik_watchers_t *w, const char *id, const char *why) {
  /* Indexes, not pointers: a callback may add (moving the slots) or free. */
  for (int i = 0; i < w->n; i++)
    if (w->slots[i].cb) w->slots[i].cb(id, why, w->slots[i].data);
}

int ik_watchers_count(const ik_watchers_t *w) {
  int live = 0;
  for (int i = 0; i < w->n; i++)
    if (w->slots[i].cb) live++;
  return live;
}

void ik_watchers_free(ik_watchers_t *w) {
  ik_free(w->slots);
  w->slots = NULL;
  w->n = w->cap = 0;
}
