/* A process's exit through a pidfd (pidwatch.h). */
#include "loop/pidwatch.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/mem.h"
#include "loop/proc.h"

struct ik_pidwatch {
  uv_poll_t poll;
  int fd, pid;
  ik_pidwatch_cb cb; /* NULL once called or stopped */
  void *data;
};

static void on_closed(uv_handle_t *h) {
  ik_pidwatch_t *w = h->data;
  close(w->fd);
  ik_free(w);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  ik_pidwatch_t *w = h->data;
  ik_pidwatch_cb cb = w->cb;
  if (cb == NULL) return;
  if (ik_proc_start_time(w->pid) != 0) return; /* still running: a spurious wake-up */
  w->cb = NULL;
  uv_poll_stop(h);
  cb(w, w->pid, w->data);
}

int ik_pidwatch_start(ik_loop_t *loop, int pid, ik_pidwatch_cb cb, void *data, ik_pidwatch_t **out, ik_err_t *err) {
#ifdef SYS_pidfd_open
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return ik_err_uv(err, -errno, "pidfd_open");
  ik_pidwatch_t *w = IK_NEW(ik_pidwatch_t);
  w->fd = fd;
  w->pid = pid;
  w->cb = cb;
  w->data = data;
  int rc = uv_poll_init(&loop->uv, &w->poll, fd);
  if (rc < 0) {
    close(fd);
    ik_free(w);
    return ik_err_uv(err, rc, "watch a pidfd");
  }
  w->poll.data = w;
  if ((rc = uv_poll_start(&w->poll, UV_READABLE, on_readable)) < 0) {
    uv_close((uv_handle_t *)&w->poll, on_closed);
    return ik_err_uv(err, rc, "watch a pidfd");
  }
  uv_unref((uv_handle_t *)&w->poll);
  *out = w;
  return 0;
#else
  return ik_err_set(err, UV_ENOSYS, "pidfd_open: not available on this system");
#endif
}

void ik_pidwatch_stop(ik_pidwatch_t *w) {
  if (w == NULL) return;
  w->cb = NULL;
  if (!uv_is_closing((uv_handle_t *)&w->poll)) uv_close((uv_handle_t *)&w->poll, on_closed);
}
