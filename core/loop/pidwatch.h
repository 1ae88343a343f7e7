/* Watching a process's exit from the loop, whether or not it is our child
 * (a process adopted after a restart, qemu after -daemonize), through a
 * pidfd (Linux 5.3+): no polling, no SIGCHLD.
 *
 * The callback runs once, from the loop, when the process has exited (it
 * may be a zombie still: reaping a child is the caller's business). */
#ifndef IK_LOOP_PIDWATCH_H
#define IK_LOOP_PIDWATCH_H

#include "base/err.h"
#include "loop/loop.h"

typedef struct ik_pidwatch ik_pidwatch_t;
typedef void (*ik_pidwatch_cb)(ik_pidwatch_t *w, int pid, void *data);

/* Watch pid. Returns 0 and fills *out, or a negative code with err filled
 * (UV_ENOSYS where the kernel has no pidfds, UV_ESRCH when pid is gone)
 * and never calls cb. The watch does not keep the loop alive. */
int ik_pidwatch_start(ik_loop_t *loop, int pid, ik_pidwatch_cb cb, void *data, ik_pidwatch_t **out, ik_err_t *err);

/* Stop watching: cb is not called after this (also from inside cb). The
 * memory goes when libuv has closed the handle. w may be NULL. */
void ik_pidwatch_stop(ik_pidwatch_t *w);

#endif
