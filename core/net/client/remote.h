/* Remote plugins: the SPI vtables implemented over JSON-RPC, so a plugin in
 * another process (ours or InfraKit's) is used exactly like a native one.
 *
 * Each adapter owns an rpc client for the plugin's socket and sends the
 * sub-type of a "lookup/type" name the way InfraKit's clients do: Instance
 * and Flavor in the request's Type field, Group in its Name field
 * (reference §1.4). The first call performs the handshake and fails with
 * InfraKit's message if the plugin lacks the interface version. */
#ifndef IK_NET_REMOTE_H
#define IK_NET_REMOTE_H

#include "base/err.h"
#include "net/client/http_client.h"
#include "net/client/rpc_client.h"
#include "spi/flavor.h"
#include "spi/group.h"
#include "spi/instance.h"
#include "spi/manager.h"

/* The instance plugin behind client c (owned from now on: the plugin's
 * free releases it), sending type ("" or NULL for the default object). */
void ik_remote_instance_new(ik_rpc_client_t *c, const char *type, ik_instance_plugin_t *out);

/* Open "lookup[/type]" from the plugins directory dir (see
 * ik_rpc_client_open()). */
int ik_remote_instance_open(ik_http_client_t *http, const char *dir, const char *name, ik_instance_plugin_t *out,
                            ik_err_t *err);

/* The flavor plugin behind c, sending type as the request's Type. */
void ik_remote_flavor_new(ik_rpc_client_t *c, const char *type, ik_flavor_plugin_t *out);
int ik_remote_flavor_open(ik_http_client_t *http, const char *dir, const char *name, ik_flavor_plugin_t *out,
                          ik_err_t *err);

/* The group plugin behind c, sending name (the whole "lookup[/key]") as
 * the request's Name. */
void ik_remote_group_new(ik_rpc_client_t *c, const char *name, ik_group_plugin_t *out);
int ik_remote_group_open(ik_http_client_t *http, const char *dir, const char *name, ik_group_plugin_t *out,
                         ik_err_t *err);

/* Manager.IsLeader / LeaderLocation of the plugin "lookup" (InfraKit's
 * Stack/0.1.1 interface); the location comes back as a URL string. */
int ik_remote_manager_open(ik_http_client_t *http, const char *dir, const char *name, ik_manager_plugin_t *out,
                           ik_err_t *err);

#endif
