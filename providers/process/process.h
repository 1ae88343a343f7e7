/* instance-process: an instance is a local process (see process.c). The
 * embedded default: groups of real, killable things with nothing to
 * install. */
#ifndef IK_PROVIDERS_PROCESS_H
#define IK_PROVIDERS_PROCESS_H

#include <stdint.h>

#include "loop/loop.h"
#include "spi/instance.h"

typedef struct ik_process_opts {
  const char *dir;        /* state directory (created 0700): one ID.json per instance, logs */
  uint64_t grace_ms;      /* destroy: SIGTERM, then SIGKILL after this [5000] */
  const char *output_dir; /* Stdout/Stderr: absolute paths allowed under this (copied);
                           * NULL = only relative paths, without "..", inside dir */
} ik_process_opts_t;

/* An instance plugin running one process per instance. Processes it finds
 * recorded in dir and still alive (same pid and start time) are adopted;
 * records of processes that are gone are removed. Free with vt->free:
 * the processes keep running (they outlive the daemon by design). */
int ik_process_provider_new(ik_loop_t *loop, const ik_process_opts_t *opts, ik_instance_plugin_t *out, ik_err_t *err);

#endif
