/* The instance SPI: what every instance plugin implements, whether it is a
 * native driver (providers/), a Lua provider or a remote plugin reached
 * over RPC. The engine cannot tell them apart.
 *
 * The five operations are InfraKit's Instance/0.6.1 (reference §3.1), with
 * its JSON shapes: a spec is {"Properties", "Tags", "Init", "LogicalID",
 * "Attachments"}, a description {"ID", "LogicalID", "Tags", "Properties"}.
 * Values cross as jansson values; field names as InfraKit writes them.
 *
 * Every operation follows libuv's rule (spi.h): it returns 0 and later
 * calls cb exactly once from the loop (never before returning), or it
 * returns a negative IK_E* code, fills err and never calls cb.
 *
 * Results passed to cb: validate, label, destroy → null; provision → the
 * new ID as a string; describe → an array of descriptions.
 *
 * Events (optional: watch and unwatch are NULL for a plugin that has none,
 * and the engine falls back on its resync poll). A plugin that knows when
 * its instances change - a process exits, a file is removed by hand -
 * says so at once, so self-healing does not wait for the poll. */
#ifndef IK_SPI_INSTANCE_H
#define IK_SPI_INSTANCE_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"
#include "spi/spi.h"

/* An instance appeared, changed or went away. id is borrowed; NULL means
 * "something changed, describe again". why, when the plugin knows it, says
 * what happened in a few words for people ("exited with status 3",
 * "killed by signal 9"); NULL when it does not. Called from the loop. */
typedef void (*ik_instance_event_cb)(const char *id, const char *why, void *data);

typedef struct ik_instance_vtable {
  const char *kind; /* "file", "process", "rpc", "lua", ... */
  int (*validate)(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*provision)(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err);
  /* Merge labels into the instance's tags. */
  int (*label)(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err);
  /* reason: "terminate" or "rolling_update". */
  int (*destroy)(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err);
  /* Instances carrying every tag in tags (AND); Properties filled when
   * properties is set. tags may be NULL (all instances). */
  int (*describe)(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err);
  void (*free)(void *self);
  /* Call cb(id, data) on every change from now on, until unwatch with the
   * returned token (> 0). Never calls cb before returning. */
  int (*watch)(void *self, ik_instance_event_cb cb, void *data, ik_err_t *err);
  void (*unwatch)(void *self, int token);
} ik_instance_vtable_t;

typedef struct ik_instance_plugin {
  const ik_instance_vtable_t *vt;
  void *self;
} ik_instance_plugin_t;

/* Whether tags (an object, or NULL) hold every key of want with the same
 * string value: Describe's tag filter, as InfraKit's plugins apply it. A
 * NULL or empty want matches everything. */
bool ik_instance_tags_match(const json_t *tags, json_t *want);

#endif
