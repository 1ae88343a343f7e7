/* etcd's v3 JSON gateway, as a vtable: what the engine's etcd users
 * (the HA manager) call, so the engine never includes network code. The
 * real one is net/client/etcd_gateway.h; unit tests give a fake.
 *
 * Messages are the gateway's JSON as etcd sends it: keys and values
 * base64, int64 as strings, zero fields omitted (engine/etcd_json.h reads
 * them). Calls follow libuv's rule (spi.h). */
#ifndef IK_SPI_ETCD_GATEWAY_H
#define IK_SPI_ETCD_GATEWAY_H

#include <jansson.h>

#include "base/err.h"
#include "spi/spi.h"

/* One message of a watch stream: the "result" object of a line
 * ({"created":true} first, then {"events":[...]}), borrowed. */
typedef void (*ik_etcd_msg_cb)(json_t *msg, void *data);

typedef struct ik_etcd_gateway_vtable {
  /* POST path ("/v3/kv/txn") with body (borrowed). cb gets the answer
   * object (borrowed) or an error (transport, or an HTTP status other than
   * 200 with etcd's message), exactly once, later, from the loop. */
  int (*call)(void *self, const char *path, json_t *body, ik_spi_cb cb, void *data,
              ik_err_t *err);
  /* Start a /v3/watch stream with create_request (borrowed). on_msg for
   * each message, then on_end exactly once when the stream ends (an
   * error; IK_ECANCELED after cancel_watch). *out is the handle for
   * cancel_watch, valid until on_end runs. */
  int (*watch)(void *self, json_t *create_request, ik_etcd_msg_cb on_msg,
               ik_spi_cb on_end, void *data, void **out, ik_err_t *err);
  void (*cancel_watch)(void *self, void *w);
} ik_etcd_gateway_vtable_t;

typedef struct ik_etcd_gateway {
  const ik_etcd_gateway_vtable_t *vt;
  void *self;
} ik_etcd_gateway_t;

#endif
