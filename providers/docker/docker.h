/* instance-docker: an instance is a container on a Docker Engine, driven
 * through the Engine API over its socket (see docker.c, docs/docker.md). */
#ifndef IK_PROVIDERS_DOCKER_H
#define IK_PROVIDERS_DOCKER_H

#include <stdint.h>

#include "loop/loop.h"
#include "spi/instance.h"

#define IK_DOCKER_DEFAULT_HOST "unix:///var/run/docker.sock"
#define IK_DOCKER_API_VERSION "v1.41" /* Engine 20.10; every path is pinned to it */

typedef struct ik_docker_opts {
  /* The engine: "unix:///path/docker.sock" or "tcp://HOST:PORT" (plain
   * HTTP); NULL = $DOCKER_HOST, else IK_DOCKER_DEFAULT_HOST. */
  const char *host;
  /* Where the driver keeps its own state (labels.json: tags added by
   * Label, which the engine cannot add to a container); created 0700. */
  const char *dir;
  uint64_t stop_grace_ms; /* destroy: stop, SIGKILL after this (whole seconds) [5000] */
  /* The label a container must carry for its events to be followed [infrakit.group]. */
  const char *events_label;
} ik_docker_opts_t;

/* An instance plugin whose instances are containers. Nothing is asked of
 * the engine until the first call, so a daemon starts whether or not an
 * engine runs. Free with out->vt->free(out->self): calls in flight end
 * with IK_ECANCELED; containers keep running. */
int ik_docker_provider_new(ik_loop_t *loop, const ik_docker_opts_t *opts, ik_instance_plugin_t *out, ik_err_t *err);

#endif
