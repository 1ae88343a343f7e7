/* The manager SPI: leadership, for InfraKit's Stack/0.1.1 (served as
 * Manager.*, reference §3.4, §9). With several daemons sharing a store one
 * is the leader; the others answer "not a leader" to mutating calls and
 * tell clients where the leader is.
 *
 * Every operation follows libuv's rule (spi.h). Results passed to cb:
 *   is_leader        a JSON boolean; when leadership cannot be checked,
 *                    false (a manager that is not sure it leads must not
 *                    act as the leader) or an error
 *   leader_location  the leader's URL as a JSON string
 *                    ("http://10.0.0.1:24864/"), or an error when no
 *                    leader is known */
#ifndef IK_SPI_MANAGER_H
#define IK_SPI_MANAGER_H

#include <jansson.h>

#include "base/err.h"
#include "spi/spi.h"

typedef struct ik_manager_vtable {
  const char *kind; /* "file", "etcd", ... */
  int (*is_leader)(void *self, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*leader_location)(void *self, ik_spi_cb cb, void *data, ik_err_t *err);
  void (*free)(void *self);
} ik_manager_vtable_t;

typedef struct ik_manager_plugin {
  const ik_manager_vtable_t *vt;
  void *self;
} ik_manager_plugin_t;

#endif
