/* The watchers of a native instance driver (watchers.h). */
#include "providers/common/watchers.h"

#include <string.h>

int ik_watchers_add(ik_watchers_t *w, ik_instance_event_cb cb, void *data, const char *plugin, ik_err_t *err) {
  for (int i = 0; i < IK_WATCHERS_MAX; i++) {
    if (w->slot[i].cb == NULL) {
      w->slot[i].cb = cb;
      w->slot[i].data = data;
      w->slot[i].token = ++w->next_token;
      w->count++;
      return w->slot[i].token;
    }
  }
  return ik_err_set(err, IK_ESTATE, "%s: at most %d watchers", plugin, IK_WATCHERS_MAX);
}

void ik_watchers_remove(ik_watchers_t *w, int token) {
  for (int i = 0; i < IK_WATCHERS_MAX; i++) {
    if (w->slot[i].cb && w->slot[i].token == token) {
      memset(&w->slot[i], 0, sizeof w->slot[i]);
      w->count--;
    }
  }
}

void ik_watchers_clear(ik_watchers_t *w) {
  memset(w->slot, 0, sizeof w->slot);
  w->count = 0;
}

void ik_watchers_notify(const ik_watchers_t *w, const char *id, const char *why) {
  for (int i = 0; i < IK_WATCHERS_MAX; i++)
    if (w->slot[i].cb) w->slot[i].cb(id, why, w->slot[i].data);
}
