/* Leadership for a daemon that manages alone (the file store): it is
 * always the leader, at its own group socket. InfraKit's `manager commit`
 * asks Manager.IsLeader before it commits; with the etcd store, an
 * elected manager replaces this one. */
#ifndef IK_ENGINE_MANAGER_SINGLE_H
#define IK_ENGINE_MANAGER_SINGLE_H

#include "loop/loop.h"
#include "spi/manager.h"

/* location: the URL Manager.LeaderLocation reports ("unix:///...", or
 * "http://host:port/" when the group plugin also listens on TCP); copied. */
void ik_manager_single_new(ik_loop_t *loop, const char *location, ik_manager_plugin_t *out);

#endif
