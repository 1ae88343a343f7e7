#include "loop/timer.h"

#include <stdbool.h>

#include "base/mem.h"

struct ik_timer {
  uv_timer_t h;
  ik_timer_cb cb;
  void *data;
  bool repeat;
  bool stopped;
};

static void timer_closed(uv_handle_t *h) { ik_free(h->data); }

static void timer_fire(uv_timer_t *h) {
  ik_timer_t *t = h->data;
  t->cb(t, t->data);
  if (!t->repeat) ik_timer_stop(t);
}

int ik_timer_start(ik_loop_t *loop, uint64_t timeout_ms, uint64_t repeat_ms, ik_timer_cb cb,
                   void *data, ik_timer_t **out, ik_err_t *err) {
  ik_timer_t *t = IK_NEW(ik_timer_t);
  int rc = uv_timer_init(&loop->uv, &t->h);
  if (rc < 0) {
    ik_free(t);
    return ik_err_uv(err, rc, "timer init");
  }
  t->h.data = t;
  t->cb = cb;
  t->data = data;
  t->repeat = repeat_ms > 0;
  uv_timer_start(&t->h, timer_fire, timeout_ms, repeat_ms);
  if (out) *out = t;
  return 0;
}

void ik_timer_stop(ik_timer_t *t) {
  if (t == NULL || t->stopped) return;
  t->stopped = true;
  uv_timer_stop(&t->h);
  uv_close((uv_handle_t *)&t->h, timer_closed);
}

void ik_timer_ref(ik_timer_t *t, int ref) {
  if (ref) uv_ref((uv_handle_t *)&t->h);
  else uv_unref((uv_handle_t *)&t->h);
}
