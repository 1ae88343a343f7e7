/* Serving a group controller over JSON-RPC (Group/0.1.1, reference §3.3)
 * and its leadership (Stack/0.1.1, served as Manager.*, reference §3.4,
 * §9), so InfraKit's CLI can commit, describe and scale groups here.
 *
 * ik_rpc_group_iface is keyed: register an ik_group_plugin_t as "." (the
 * controller: a request's bare Name, "group", reaches it) and, if wanted,
 * under group IDs ("group/workers" reaches "workers"); see
 * ik_rpc_server_add() for the resolution rules. ik_rpc_manager_iface is a
 * single object: register an ik_manager_plugin_t as ".". Requests are
 * decoded as Go does (go_types.h); results echo Name and ID first, as
 * InfraKit does. */
#ifndef IK_NET_RPC_GROUP_H
#define IK_NET_RPC_GROUP_H

#include "net/server/rpc_server.h"
#include "spi/group.h"
#include "spi/manager.h"

extern const ik_rpc_iface_t ik_rpc_group_iface;
extern const ik_rpc_iface_t ik_rpc_manager_iface;

#endif
