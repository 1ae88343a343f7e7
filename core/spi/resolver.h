/* How the engine finds plugins by name without knowing where they live
 * (DESIGN §2 naming, §3 layering: the engine never includes network
 * code). The daemon wires this to its registry: hosted plugins first,
 * else sockets in the plugins directory.
 *
 * A lookup fills *out with a plugin the caller frees with vt->free, or
 * returns a negative IK_E* code with err naming the plugin. */
#ifndef IK_SPI_RESOLVER_H
#define IK_SPI_RESOLVER_H

#include "base/err.h"
#include "spi/flavor.h"
#include "spi/instance.h"

typedef struct ik_resolver {
  int (*instance)(void *ctx, const char *name, ik_instance_plugin_t *out, ik_err_t *err);
  int (*flavor)(void *ctx, const char *name, ik_flavor_plugin_t *out, ik_err_t *err);
  void *ctx;
} ik_resolver_t;

#endif
