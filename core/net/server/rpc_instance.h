/* Serving an instance plugin over JSON-RPC (Instance/0.6.1). Register an
 * ik_instance_plugin_t with ik_rpc_server_add(s, &ik_rpc_instance_iface,
 * ".", plugin) and InfraKit's clients can provision through it. */
#ifndef IK_NET_RPC_INSTANCE_H
#define IK_NET_RPC_INSTANCE_H

#include "net/server/rpc_server.h"
#include "spi/instance.h"

extern const ik_rpc_iface_t ik_rpc_instance_iface;

#endif
