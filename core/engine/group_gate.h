/* The group plugin of a daemon among several managers (docs/ha.md): it
 * acts only while this daemon leads.
 *
 *   leader     every call goes to the local controller (set_local)
 *   follower   Inspect and Size are answered from the store's specs (what
 *              the leader committed); every other call - CommitGroup,
 *              SetSize, DestroyGroup, FreeGroup, DestroyInstances,
 *              Promote, Pause, Resume, and Describe and Status, which need the leader's
 *              observations - is forwarded to the leader at its advertised
 *              location, as InfraKit's mux did, and its answer (or error)
 *              relayed as it came. With no leader known, the call fails
 *              with IK_ESTATE "not a leader, and no leader is known: WHY". */
#ifndef IK_ENGINE_GROUP_GATE_H
#define IK_ENGINE_GROUP_GATE_H

#include "base/err.h"
#include "loop/loop.h"
#include "spi/group.h"
#include "spi/store.h"

typedef struct ik_group_gate ik_group_gate_t;

typedef struct ik_group_gate_opts {
  ik_store_t *store; /* borrowed: follower reads */
  /* The leader's location now (borrowed until the next call), or NULL and
   * *why (may stay NULL) says why none is known. */
  const char *(*leader)(void *ctx, const char **why);
  /* A group plugin that reaches the leader at location (a remote one). */
  int (*open_leader)(void *ctx, const char *location, ik_group_plugin_t *out, ik_err_t *err);
  void *ctx;
} ik_group_gate_opts_t;

ik_group_gate_t *ik_group_gate_new(ik_loop_t *loop, const ik_group_gate_opts_t *opts);

/* The controller's group plugin while this daemon leads; NULL (vt NULL)
 * when it stops leading. Borrowed. */
void ik_group_gate_set_local(ik_group_gate_t *g, const ik_group_plugin_t *local);

/* The gate as a group plugin (its free does nothing). */
ik_group_plugin_t ik_group_gate_plugin(ik_group_gate_t *g);

/* Releases the gate and its connection to the leader (calls forwarded and
 * still out are cancelled: their callers hear IK_ECANCELED). */
void ik_group_gate_free(ik_group_gate_t *g);

#endif
