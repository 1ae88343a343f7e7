/* Child processes on the loop: spawn, feed stdin, capture stdout/stderr,
 * collect the exit status, never block.
 *
 * The callback runs once, after the process has exited AND both output
 * pipes have reached EOF (so no output is lost), or after it was killed
 * for its timeout. The child runs in its own process group, so a timeout
 * or cancel kills the whole group (a shell and what it started). */
#ifndef IK_LOOP_PROC_H
#define IK_LOOP_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "loop/loop.h"

typedef struct ik_proc ik_proc_t;

typedef struct ik_proc_opts {
  const char *const *argv; /* argv[0] is looked up in PATH; NULL-terminated */
  const char *const *env;  /* "K=V" strings, NULL-terminated; NULL = inherit */
  const char *cwd;         /* NULL = inherit */
  const char *stdin_data;  /* written then closed; NULL = /dev/null */
  size_t stdin_len;
  uint64_t timeout_ms; /* 0 = none; on expiry the group gets SIGKILL */
  size_t max_output;   /* per stream; 0 = 64 MiB. Excess is dropped and flagged */
} ik_proc_opts_t;

typedef struct ik_proc_result {
  int64_t exit_status; /* valid when term_signal == 0 */
  int term_signal;     /* signal that ended the process, or 0 */
  bool timed_out;      /* killed because timeout_ms passed */
  bool canceled;       /* killed by ik_proc_cancel() */
  bool truncated;      /* some output beyond max_output was dropped */
  ik_buf_t out;        /* captured stdout (owned by the proc) */
  ik_buf_t err;        /* captured stderr (owned by the proc) */
  double elapsed;      /* seconds from spawn to completion */
} ik_proc_result_t;

/* res is borrowed: valid only during the callback (steal the buffers to keep). */
typedef void (*ik_proc_cb)(ik_proc_t *proc, ik_proc_result_t *res, void *data);

/* Spawn. Returns 0 and later calls cb exactly once; or returns a negative
 * code (UV_ENOENT for a missing program, ...), fills err and never calls
 * cb. opts is borrowed: everything needed is copied. out may be NULL. */
int ik_proc_spawn(ik_loop_t *loop, const ik_proc_opts_t *opts, ik_proc_cb cb, void *data,
                  ik_proc_t **out, ik_err_t *err);

/* Kill the process group with SIGKILL; cb still runs (canceled = true). */
void ik_proc_cancel(ik_proc_t *proc);

/* Send a signal to the process group. Returns 0 or a negative code. */
int ik_proc_kill(ik_proc_t *proc, int signum);

/* The child's pid (0 once it has been reaped). */
int ik_proc_pid(const ik_proc_t *proc);

/* The start time of any process pid (clock ticks since boot, field 22 of
 * /proc/PID/stat), or 0 when it is gone or a zombie (it has exited). A
 * recorded (pid, start time) pair names one process for good: a reused pid
 * has another start time. Used to adopt processes after a restart. */
unsigned long long ik_proc_start_time(int pid);

#endif
