/* Serving a flavor over JSON-RPC (Flavor/0.1.1, reference §3.2). Register
 * an ik_flavor_plugin_t with ik_rpc_server_add(s, &ik_rpc_flavor_iface,
 * ".", plugin) (or under a type name, picked by the request's Type) and
 * InfraKit's group controller can use it. Requests are decoded as Go does
 * (go_types.h) and the flavor sees Go's shapes (spi/flavor.h). */
#ifndef IK_NET_RPC_FLAVOR_H
#define IK_NET_RPC_FLAVOR_H

#include "net/server/rpc_server.h"
#include "spi/flavor.h"

extern const ik_rpc_iface_t ik_rpc_flavor_iface;

#endif
