/* The group SPI: a group controller (the engine's, or a remote one reached
 * over RPC), InfraKit's Group/0.1.1 (reference §3.3, §4). Groups are named
 * by their ID (the spec's "ID", e.g. "workers").
 *
 * Every operation follows libuv's rule (spi.h). A group spec is
 * group.Spec {"ID": id, "Properties": <controller schema, reference §2.1>
 * | null}, borrowed for the duration of the call; IDs are borrowed strings.
 *
 * Results passed to cb, in InfraKit's shapes:
 *   commit             {"ID": id, "Details": "human text"}; with pretend
 *                      nothing changes and Details says what would
 *   free_group, destroy, destroy_instances, set_size  → null (ignored)
 *   describe           group.Description {"Instances": [instance.Description]
 *                      | null, "Converged": bool}
 *   inspect            [group.Spec] (every group committed)
 *   size               a JSON integer: the target size
 *   promote            null: a canary rollout may go on (optional)
 *   pause, resume      null: the group's rollouts start no new replacement
 *                      until resumed (optional; docs/groups.md "Pause")
 *   status             the controller's view of the group (optional):
 *                      {"ID", "Phase", "Summary": {...}, "ConfigHash",
 *                      "TargetHash", "GoodHash", "Failure", "InFlight":
 *                      [...], "Failures": [...], "Instances": [...]}
 *                      (docs/groups.md, "group describe")
 * An unknown group is an error ("Group 'x' is not being watched").
 * Optional operations are NULL where a controller lacks them (InfraKit's). */
#ifndef IK_SPI_GROUP_H
#define IK_SPI_GROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "spi/spi.h"

typedef struct ik_group_vtable {
  const char *kind; /* "engine", "rpc", ... */
  /* Start managing the group as spec says (create or update). */
  int (*commit)(void *self, json_t *spec, bool pretend, ik_spi_cb cb, void *data, ik_err_t *err);
  /* Stop managing the group; its instances are left running. */
  int (*free_group)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*describe)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
  /* Destroy the group's instances and stop managing it. */
  int (*destroy)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*inspect)(void *self, ik_spi_cb cb, void *data, ik_err_t *err);
  /* Destroy these instances (an array of ID strings) of the group. */
  int (*destroy_instances)(void *self, const char *id, json_t *ids, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*size)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
  /* Change the target size only (scale; never an update). */
  int (*set_size)(void *self, const char *id, uint64_t size, ik_spi_cb cb, void *data, ik_err_t *err);
  void (*free)(void *self);
  /* Ours, beyond Group/0.1.1 (served as Group.Promote, Group.Status,
   * Group.Pause, Group.Resume). */
  int (*promote)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*status)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*pause)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*resume)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
} ik_group_vtable_t;

typedef struct ik_group_plugin {
  const ik_group_vtable_t *vt;
  void *self;
} ik_group_plugin_t;

#endif
