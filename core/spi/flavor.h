/* The flavor SPI: what every flavor implements (a Lua flavor, a native one
 * or a remote plugin reached over RPC), InfraKit's Flavor/0.1.1 (reference
 * §3.2, §5). A flavor shapes the instances of a group: it validates its
 * Properties, amends each instance spec before provisioning (Init, Tags,
 * Attachments), judges an instance's health and drains it before it is
 * destroyed.
 *
 * Every operation follows libuv's rule (spi.h). Arguments arrive in the
 * shapes Go encodes InfraKit's structs (every field present, in Go order,
 * nil as null), whatever case or omissions the caller used:
 *   properties  the flavor's own Properties, any JSON; NULL when absent
 *   allocation  group.AllocationMethod {"Size": n, "LogicalIDs": [s] | null}
 *   index       group.Index {"Group": id, "Sequence": n}; Sequence is the
 *               group's target size, not 0..N-1 (reference §11.1)
 *   spec        instance.Spec {"Properties", "Tags", "Init", "LogicalID",
 *               "Attachments"}
 *   instance    instance.Description {"ID", "LogicalID", "Tags"[,
 *               "Properties"]} (Properties only when the caller sent it)
 * All are borrowed for the duration of the call.
 *
 * Results passed to cb: validate, drain → null (ignored); prepare → the
 * amended instance.Spec (an object; missing fields are Go's zero values);
 * healthy → a JSON integer, one of ik_health_t. */
#ifndef IK_SPI_FLAVOR_H
#define IK_SPI_FLAVOR_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"
#include "spi/spi.h"

/* flavor.Health, as the wire carries it. */
typedef enum ik_health {
  IK_HEALTH_UNKNOWN = 0, /* not known yet (still booting): wait */
  IK_HEALTH_HEALTHY = 1,
  IK_HEALTH_UNHEALTHY = 2,
} ik_health_t;

typedef struct ik_flavor_vtable {
  const char *kind; /* "vanilla", "combo", "lua", "rpc", ... */
  int (*validate)(void *self, json_t *properties, json_t *allocation, ik_spi_cb cb, void *data, ik_err_t *err);
  /* The spec the instance plugin will provision, amended. */
  int (*prepare)(void *self, json_t *properties, json_t *spec, json_t *allocation, json_t *index, ik_spi_cb cb,
                 void *data, ik_err_t *err);
  int (*healthy)(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err);
  /* Make the instance ready to be destroyed (leave a cluster, ...). */
  int (*drain)(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err);
  void (*free)(void *self);
  /* Optional (NULL = no): whether healthy needs the instance's Properties,
   * so callers describe instances with properties (InfraKit's group
   * describes without; a flavor that judges health by what the instance
   * runs says so here). Answers at once, no callback. */
  bool (*healthy_wants_properties)(void *self);
} ik_flavor_vtable_t;

typedef struct ik_flavor_plugin {
  const ik_flavor_vtable_t *vt;
  void *self;
} ik_flavor_plugin_t;

#endif
