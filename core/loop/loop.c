#include "loop/loop.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "loop/internal.h"

int ik_loop_init(ik_loop_t *loop, ik_err_t *err) {
  memset(loop, 0, sizeof *loop);
  /* A peer that hangs up must be an EPIPE on its socket, not the end of
   * the process. libuv leaves SIGPIPE alone; servers must ignore it. */
  signal(SIGPIPE, SIG_IGN);
  int rc = uv_loop_init(&loop->uv);
  if (rc < 0) return ik_err_uv(err, rc, "uv_loop_init");
  loop->uv.data = loop;
  return 0;
}

static void on_signal(uv_signal_t *h, int signum) {
  ik_loop_t *loop = h->data;
  if (loop->stopping) {
    if (signum == SIGINT) {
      static const char msg[] = "interrupted again: exiting now\n";
      ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      _exit(130);
    }
    return;
  }
  ik_log(IK_LOG_INFO, "loop", "shutting down", "signal", signum == SIGINT ? "SIGINT" : "SIGTERM", NULL);
  ik_loop_shutdown(loop, signum);
}

int ik_loop_catch_signals(ik_loop_t *loop, ik_err_t *err) {
  if (loop->signals_on) return 0;
  int rc;
  if ((rc = uv_signal_init(&loop->uv, &loop->sigint)) < 0) return ik_err_uv(err, rc, "signal init");
  if ((rc = uv_signal_init(&loop->uv, &loop->sigterm)) < 0) {
    uv_close((uv_handle_t *)&loop->sigint, NULL);
    return ik_err_uv(err, rc, "signal init");
  }
  loop->sigint.data = loop->sigterm.data = loop;
  if ((rc = uv_signal_start(&loop->sigint, on_signal, SIGINT)) < 0 ||
      (rc = uv_signal_start(&loop->sigterm, on_signal, SIGTERM)) < 0) {
    uv_close((uv_handle_t *)&loop->sigint, NULL);
    uv_close((uv_handle_t *)&loop->sigterm, NULL);
    return ik_err_uv(err, rc, "signal start");
  }
  uv_unref((uv_handle_t *)&loop->sigint);
  uv_unref((uv_handle_t *)&loop->sigterm);
  loop->signals_on = true;
  return 0;
}

int ik_loop_on_shutdown(ik_loop_t *loop, ik_loop_shutdown_fn fn, void *data) {
  if (loop->nhooks >= IK_LOOP_MAX_HOOKS) return IK_ESTATE;
  loop->hooks[loop->nhooks].fn = fn;
  loop->hooks[loop->nhooks].data = data;
  loop->nhooks++;
  return 0;
}

void ik_loop_off_shutdown(ik_loop_t *loop, ik_loop_shutdown_fn fn, void *data) {
  for (int i = 0; i < loop->nhooks; i++) {
    if (loop->hooks[i].fn == fn && loop->hooks[i].data == data) {
      memmove(&loop->hooks[i], &loop->hooks[i + 1], (size_t)(loop->nhooks - i - 1) * sizeof loop->hooks[0]);
      loop->nhooks--;
      return;
    }
  }
}

void ik_loop_shutdown(ik_loop_t *loop, int signum) {
  if (loop->stopping) return;
  loop->stopping = true;
  loop->signum = signum;
  /* A hook may unregister itself (or others): iterate over a copy. */
  int n = loop->nhooks;
  struct ik_loop_hook hooks[IK_LOOP_MAX_HOOKS];
  memcpy(hooks, loop->hooks, sizeof hooks);
  for (int i = 0; i < n; i++) hooks[i].fn(loop, signum, hooks[i].data);
}

int ik_loop_run(ik_loop_t *loop) { return uv_run(&loop->uv, UV_RUN_DEFAULT); }

static void close_leaked(uv_handle_t *h, void *arg) {
  int *leaked = arg;
  if (uv_is_closing(h)) return;
  (*leaked)++;
  ik_log(IK_LOG_WARN, "loop", "handle still open at close (leak)", "type", uv_handle_type_name(h->type), NULL);
  uv_close(h, NULL);
}

int ik_loop_close(ik_loop_t *loop, int *leaked) {
  int nleaked = 0;
  if (loop->signals_on) {
    uv_close((uv_handle_t *)&loop->sigint, NULL);
    uv_close((uv_handle_t *)&loop->sigterm, NULL);
    loop->signals_on = false;
  }
  ik__loop_defer_close(loop);
  uv_run(&loop->uv, UV_RUN_NOWAIT);
  uv_walk(&loop->uv, close_leaked, &nleaked);
  /* Close callbacks run on the next iterations. */
  for (int i = 0; i < 16 && uv_loop_alive(&loop->uv); i++) uv_run(&loop->uv, UV_RUN_NOWAIT);
  if (leaked) *leaked = nleaked;
  return uv_loop_close(&loop->uv);
}

double ik_loop_monotime(void) { return (double)uv_hrtime() / 1e9; }

double ik_loop_walltime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
