/* The plugins a process can reach, by InfraKit name (DESIGN §2 naming):
 * "name[/type]" is a plugin hosted in this process when one was added
 * under that name, else a socket (or NAME.listen) in the plugins
 * directory, reached through the remote adapters (net/client/remote.h). Calls to
 * a hosted plugin skip the wire.
 *
 * Every lookup returns a plugin the caller frees with vt->free: for a
 * hosted plugin a borrowing view (valid while the registry lives), for a
 * remote one its own adapter. */
#ifndef IK_NET_REGISTRY_H
#define IK_NET_REGISTRY_H

#include "base/err.h"
#include "loop/loop.h"
#include "net/client/http_client.h"
#include "spi/flavor.h"
#include "spi/instance.h"

typedef struct ik_registry ik_registry_t;

/* Remote plugins are looked up in dir (copied) and reached with an HTTP
 * client on loop, created at the first remote lookup: a daemon that only
 * serves never loads libcurl. loop NULL: remote lookups fail (IK_ESTATE). */
ik_registry_t *ik_registry_new(ik_loop_t *loop, const char *dir);

/* Free the registry and the plugins added to it. */
void ik_registry_free(ik_registry_t *r);

/* Host pl (owned from now on) as "name" or "name/type". IK_EEXIST when
 * taken. */
int ik_registry_add_flavor(ik_registry_t *r, const char *name, ik_flavor_plugin_t pl, ik_err_t *err);
int ik_registry_add_instance(ik_registry_t *r, const char *name, ik_instance_plugin_t pl, ik_err_t *err);

/* The hosted plugin added under exactly name, or NULL (borrowed). */
ik_flavor_plugin_t *ik_registry_hosted_flavor(ik_registry_t *r, const char *name);
ik_instance_plugin_t *ik_registry_hosted_instance(ik_registry_t *r, const char *name);

/* Resolve name: hosted first (exact "name/type", then "name" for a bare
 * name), else remote. IK_ENOTFOUND names both places looked in. */
int ik_registry_flavor(ik_registry_t *r, const char *name, ik_flavor_plugin_t *out, ik_err_t *err);
int ik_registry_instance(ik_registry_t *r, const char *name, ik_instance_plugin_t *out, ik_err_t *err);

#endif
