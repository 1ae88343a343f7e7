/* What the servers of the SPIs (rpc_instance, rpc_flavor, rpc_group) share:
 * the plumbing of a call that waits for its driver, and required params.
 *
 * A method decodes its params (go_types.h), starts the driver operation
 * with ik_rpc_pending_done as its callback, and hands the outcome to
 * ik_rpc_pending_started:
 *
 *   ik_rpc_pending_t *p = ik_rpc_pending_new(call, ik_rpc_encode_ok, NULL);
 *   int rc = pl->vt->validate(pl->self, props, ik_rpc_pending_done, p, &err);
 *   ik_rpc_pending_started(p, rc, &err);
 *
 * The driver's result is turned into the JSON-RPC result by an encode
 * function; a driver error becomes a -32000 error with its message. */
#ifndef IK_NET_RPC_UTIL_H
#define IK_NET_RPC_UTIL_H

#include <jansson.h>

#include "base/err.h"
#include "net/server/rpc_server.h"

/* Fill out (the result object ik_rpc_result_new() made, its Type or Name
 * already set) from the driver's result (borrowed; JSON null when the
 * driver passed none) and ctx (what the method kept, may be NULL). Returns
 * 0, or a negative code with err set when the result has the wrong shape:
 * the call then fails with -32000 and that message. */
typedef int (*ik_rpc_encode_fn)(json_t *out, json_t *result, json_t *ctx, ik_err_t *err);

typedef struct ik_rpc_pending ik_rpc_pending_t;

/* A call waiting for its driver; ctx (stolen, may be NULL) is passed to
 * encode. Freed by ik_rpc_pending_done or ik_rpc_pending_started. */
ik_rpc_pending_t *ik_rpc_pending_new(ik_rpc_call_t *call, ik_rpc_encode_fn encode, json_t *ctx);

/* The driver's callback (an ik_spi_cb; data is the pending): replies. */
void ik_rpc_pending_done(json_t *result, const ik_err_t *err, void *data);

/* Call with what starting the driver returned. rc < 0: the driver refused
 * and will not call back: fail the call (-32602 for IK_EINVAL, else -32000,
 * with err's message) and free p. rc >= 0: nothing to do. */
void ik_rpc_pending_started(ik_rpc_pending_t *p, int rc, const ik_err_t *err);

/* The encoder of calls whose only result is {"OK": true}. */
int ik_rpc_encode_ok(json_t *out, json_t *result, json_t *ctx, ik_err_t *err);

/* The required string params.<key>. When it is missing or not a string,
 * fails the call with -32602 naming the field and returns NULL. The string
 * is borrowed from params. */
const char *ik_rpc_need_string(ik_rpc_call_t *call, json_t *params, const char *key);

#endif
