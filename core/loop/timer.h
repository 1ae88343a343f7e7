/* One-shot and repeating timers that own their memory.
 *
 * ik_timer_start() allocates a timer; the callback runs after timeout_ms and
 * then every repeat_ms (0 = once). A one-shot timer frees itself after its
 * callback returns. ik_timer_stop() cancels: the callback is never called
 * again and the memory is released in libuv's close callback. A callback
 * may call ik_timer_stop() on its own timer. */
#ifndef IK_LOOP_TIMER_H
#define IK_LOOP_TIMER_H

#include <stdint.h>

#include "loop/loop.h"

typedef struct ik_timer ik_timer_t;
typedef void (*ik_timer_cb)(ik_timer_t *t, void *data);

int ik_timer_start(ik_loop_t *loop, uint64_t timeout_ms, uint64_t repeat_ms, ik_timer_cb cb,
                   void *data, ik_timer_t **out, ik_err_t *err);
void ik_timer_stop(ik_timer_t *t);

/* Keep (or stop keeping) the loop alive while the timer is pending. */
void ik_timer_ref(ik_timer_t *t, int ref);

#endif
