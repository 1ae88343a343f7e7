/* The event loop: one libuv loop per process, plus graceful shutdown.
 *
 * ik_loop_catch_signals() turns SIGINT/SIGTERM into a call to every
 * registered shutdown hook (once); each owner then closes its handles and
 * the loop runs dry. A second SIGINT while shutting down exits at once with
 * status 130, for a user whose Ctrl-C did not seem to work.
 *
 * ik_loop_close() closes what is left and reports it: a handle still open
 * at close time is a leak in its owner, and tests assert there are none. */
#ifndef IK_LOOP_LOOP_H
#define IK_LOOP_LOOP_H

#include <stdbool.h>
#include <uv.h>

#include "base/err.h"

#define IK_LOOP_MAX_HOOKS 16

typedef struct ik_loop ik_loop_t;
typedef void (*ik_loop_shutdown_fn)(ik_loop_t *loop, int signum, void *data);

struct ik_loop {
  uv_loop_t uv;
  uv_signal_t sigint, sigterm;
  bool signals_on;
  bool stopping; /* shutdown has begun */
  int signum;    /* the signal that began it; 0 if programmatic */
  struct ik_loop_hook {
    ik_loop_shutdown_fn fn;
    void *data;
  } hooks[IK_LOOP_MAX_HOOKS];
  int nhooks;
  /* ik_loop_defer() queue, drained by one idle handle (see defer.c). */
  uv_idle_t defer_idle;
  bool defer_on;
  struct ik_deferred *defer_head, *defer_tail;
};

int ik_loop_init(ik_loop_t *loop, ik_err_t *err);

/* Handle SIGINT and SIGTERM by starting a graceful shutdown. The signal
 * handles are unreferenced: they never keep the loop alive by themselves. */
int ik_loop_catch_signals(ik_loop_t *loop, ik_err_t *err);

/* Register fn to run once when shutdown begins. Returns 0 or IK_ESTATE when
 * the table is full. Hooks run in registration order. */
int ik_loop_on_shutdown(ik_loop_t *loop, ik_loop_shutdown_fn fn, void *data);
void ik_loop_off_shutdown(ik_loop_t *loop, ik_loop_shutdown_fn fn, void *data);

/* Begin shutdown as if signum arrived (0 = programmatic). Idempotent. */
void ik_loop_shutdown(ik_loop_t *loop, int signum);

/* Run until no active, referenced handles remain. */
int ik_loop_run(ik_loop_t *loop);

/* Close the loop. Closes the signal handles, then any handle still open (a
 * leak: each is logged with its type), runs the loop until every close
 * callback has run and closes it. *leaked (may be NULL) receives the number
 * of leaked handles. Returns 0 when uv_loop_close succeeded. */
int ik_loop_close(ik_loop_t *loop, int *leaked);

/* Run fn(data) on the loop, soon, outside the current call stack: for
 * callbacks that must not run before the function that promised them has
 * returned (libuv's rule, kept by drivers that finish synchronously).
 * Functions run in the order they were deferred. */
void ik_loop_defer(ik_loop_t *loop, void (*fn)(void *data), void *data);

/* The ik_loop_t that owns a uv loop. */
static inline ik_loop_t *ik_loop_of(uv_loop_t *uv) { return (ik_loop_t *)uv; }

/* Monotonic clock in seconds, and wall clock in seconds since the epoch. */
double ik_loop_monotime(void);
double ik_loop_walltime(void);

#endif
