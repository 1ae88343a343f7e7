/* Shared by the remote adapters (remote_*.c): one SPI call over JSON-RPC.
 * Internal to core/net. */
#ifndef IK_NET_REMOTE_CALL_H
#define IK_NET_REMOTE_CALL_H

#include <stdbool.h>

#include "net/client/rpc_client.h"

/* What the SPI caller gets from the JSON-RPC result. */
typedef enum ik_remote_pick {
  IK_PICK_NULL,  /* nothing: null */
  IK_PICK_FIELD, /* result[field] (null when absent) */
  IK_PICK_ARRAY, /* result[field], [] when absent or null (Go's nil slice) */
  IK_PICK_WHOLE, /* the whole result object */
} ik_remote_pick_t;

/* Call method on c for interface iface/version with params (stolen),
 * passing the picked part of the result to cb. libuv's rule. */
int ik__remote_call(ik_rpc_client_t *c, const char *iface, const char *version, const char *method, json_t *params,
                    ik_remote_pick_t pick, const char *field, ik_spi_cb cb, void *data, ik_err_t *err);

/* Open the client for "lookup[/type]" in dir; *type points into name (or
 * is NULL). */
int ik__remote_open(ik_http_client_t *http, const char *dir, const char *name, ik_rpc_client_t **c,
                    const char **type, ik_err_t *err);

/* A borrowed JSON value, or a new null when NULL: for json_pack's "o". */
json_t *ik__or_null(json_t *v);

#endif
