/* ik_loop_defer(): a FIFO of functions run from an idle handle.
 *
 * The idle handle is created on first use and runs only while the queue is
 * non-empty, so it keeps the loop alive exactly as long as work is queued.
 * ik_loop_close() closes it (it is the loop's own handle, not a leak). */
#include <stdlib.h>

#include "base/mem.h"
#include "loop/internal.h"
#include "loop/loop.h"

struct ik_deferred {
  struct ik_deferred *next;
  void (*fn)(void *data);
  void *data;
};

static void on_defer_idle(uv_idle_t *h) {
  ik_loop_t *loop = h->data;
  /* Run what is queued now; what those functions defer runs next turn. */
  struct ik_deferred *d = loop->defer_head, *end = loop->defer_tail;
  loop->defer_head = loop->defer_tail = NULL;
  while (d) {
    struct ik_deferred *next = d == end ? NULL : d->next;
    d->fn(d->data);
    ik_free(d);
    d = next;
  }
  if (loop->defer_head == NULL) uv_idle_stop(&loop->defer_idle);
}

void ik_loop_defer(ik_loop_t *loop, void (*fn)(void *data), void *data) {
  struct ik_deferred *d = ik_malloc(sizeof *d);
  *d = (struct ik_deferred){.fn = fn, .data = data};
  if (!loop->defer_on) {
    uv_idle_init(&loop->uv, &loop->defer_idle);
    loop->defer_idle.data = loop;
    loop->defer_on = true;
  }
  if (loop->defer_tail) loop->defer_tail->next = d;
  else loop->defer_head = d;
  loop->defer_tail = d;
  uv_idle_start(&loop->defer_idle, on_defer_idle);
}

void ik__loop_defer_close(ik_loop_t *loop) {
  if (!loop->defer_on) return;
  /* Anything still queued never ran: drop it (its owner is gone too). */
  for (struct ik_deferred *d = loop->defer_head, *next; d; d = next) {
    next = d->next;
    ik_free(d);
  }
  loop->defer_head = loop->defer_tail = NULL;
  uv_close((uv_handle_t *)&loop->defer_idle, NULL);
  loop->defer_on = false;
}
