/* Giving freed heap back to the kernel (heap_trim.h). */
#include "loop/heap_trim.h"

#include <stdio.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "base/log.h"
#include "base/mem.h"
#include "loop/timer.h"

struct ik_heap_trim {
  ik_loop_t *loop;
  uint64_t delay_ms;
  ik_timer_t *pending; /* the trim asked for, or NULL */
};

size_t ik_heap_trim_now(size_t min_free) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  size_t free_bytes = mallinfo2().fordblks;
  if (free_bytes < min_free) return 0;
  malloc_trim(0);
  return free_bytes;
#else
  (void)min_free;
  return 0;
#endif
}

static void on_trim(ik_timer_t *timer, void *data) {
  ik_heap_trim_t *t = data;
  t->pending = NULL; /* a one-shot timer frees itself */
  uint64_t t0 = uv_hrtime();
  size_t freed = ik_heap_trim_now(IK_HEAP_TRIM_MIN);
  if (freed == 0) return;
  char kib[32], us[32];
  snprintf(kib, sizeof kib, "%zu", freed / 1024);
  snprintf(us, sizeof us, "%llu", (unsigned long long)((uv_hrtime() - t0) / 1000));
  ik_log(IK_LOG_DEBUG, "daemon", "heap trimmed", "free_kib", kib, "took_us", us, NULL);
}

ik_heap_trim_t *ik_heap_trim_new(ik_loop_t *loop, uint64_t delay_ms) {
  ik_heap_trim_t *t = IK_NEW(ik_heap_trim_t);
  t->loop = loop;
  t->delay_ms = delay_ms;
  return t;
}

void ik_heap_trim_soon(ik_heap_trim_t *t) {
  if (t == NULL || t->pending) return;
  ik_err_t err = {0};
  if (ik_timer_start(t->loop, t->delay_ms, 0, on_trim, t, &t->pending, &err) < 0) {
    t->pending = NULL; /* no trim this time: only memory stays resident */
    return;
  }
  ik_timer_ref(t->pending, 0);
}

void ik_heap_trim_free(ik_heap_trim_t *t) {
  if (t == NULL) return;
  if (t->pending) ik_timer_stop(t->pending);
  ik_free(t);
}
