/* The store SPI: where the engine keeps what must survive a crash -
 * committed group specs and rollout progress - as JSON documents under
 * slash-separated keys ("groups/workers/spec"). A file implementation
 * now (core/engine/store_file.c); etcd later, behind the same vtable.
 *
 * A put is durable when its callback reports success: the engine writes
 * before it acts. Keys are 1-200 bytes of [A-Za-z0-9._-] segments joined
 * by '/', no empty, "." or ".." segment; anything else is IK_EINVAL.
 * Every operation follows libuv's rule (spi.h). Results passed to cb:
 *   put, del   null (del of a missing key is not an error)
 *   get        the document (IK_ENOTFOUND when absent)
 *   list       the sorted array of keys under prefix ("" = all) */
#ifndef IK_SPI_STORE_H
#define IK_SPI_STORE_H

#include <jansson.h>

#include "base/err.h"
#include "spi/spi.h"

typedef struct ik_store_vtable {
  const char *kind; /* "file", "etcd" */
  int (*put)(void *self, const char *key, json_t *value, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*get)(void *self, const char *key, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*del)(void *self, const char *key, ik_spi_cb cb, void *data, ik_err_t *err);
  int (*list)(void *self, const char *prefix, ik_spi_cb cb, void *data, ik_err_t *err);
  void (*free)(void *self);
} ik_store_vtable_t;

typedef struct ik_store {
  const ik_store_vtable_t *vt;
  void *self;
} ik_store_t;

#endif
