/* JSON-RPC 2.0 client for one plugin: InfraKit's wire, seen from the caller
 * (reference §1.1, §1.2).
 *
 * A client is bound to one plugin address and sends each call as a POST /
 * through the project's HTTP client, whose kept-alive connections it
 * shares. Calls that name an interface ("Instance", "0.6.1") are preceded,
 * once per client, by Handshake.Hello, and fail the way InfraKit's client
 * fails when the plugin does not implement that interface version:
 *   "Plugin supports Instance interface version 0.5.0, client requires 0.6.1"
 *   "Plugin does not support interface Instance"
 * A failed handshake (nobody listening yet) is not remembered: the next call
 * tries again.
 *
 * Errors given to a call's callback (err->code):
 *   transport  the HTTP client's codes (UV_ECONNREFUSED, UV_ENOENT,
 *              IK_ETIMEDOUT, IK_ECANCELED, IK_EIO, ...), message prefixed
 *              with the plugin's address
 *   IK_EIO     an HTTP status other than 200, a body that is not a JSON-RPC
 *              response, or "result is null" (as InfraKit's client)
 *   IK_EINVAL  the plugin's -32602 / -32600 (bad params)
 *   IK_ENOTFOUND  -32601 (no such method), and the handshake errors above
 *   IK_EDRIVER -32000 and any other error object: the plugin's own message
 * Callbacks follow libuv's rule (see core/spi/instance.h). */
#ifndef IK_NET_RPC_CLIENT_H
#define IK_NET_RPC_CLIENT_H

#include <jansson.h>

#include "base/err.h"
#include "net/client/http_client.h"
#include "spi/instance.h"

typedef struct ik_rpc_client ik_rpc_client_t;
typedef struct ik_rpc_pending ik_rpc_pending_t;

/* A client for the plugin at address, one of InfraKit's forms: a unix
 * socket path (bare, unix:// or file://), a NAME.listen file holding a URL,
 * tcp://HOST:PORT or http(s)://HOST:PORT[/prefix]; tcp+tls://HOST:PORT is
 * https. Over TLS the client presents $INFRAKIT_TLS_CERT and
 * $INFRAKIT_TLS_KEY and checks the server against $INFRAKIT_TLS_CA (read
 * when the client is made; docs/security.md). http is borrowed and
 * must outlive the client. timeout_ms 0 = $INFRAKIT_CLIENT_TIMEOUT (a Go
 * duration such as "15s"), else 15 s. */
int ik_rpc_client_new(ik_http_client_t *http, const char *address, uint64_t timeout_ms,
                      ik_rpc_client_t **out, ik_err_t *err);

/* The client for plugin lookup (a socket name, without "/type") in the
 * plugins directory dir: DIR/lookup if it is a socket, else the URL in
 * DIR/lookup.listen. IK_ENOTFOUND when neither exists. */
int ik_rpc_client_open(ik_http_client_t *http, const char *dir, const char *lookup, uint64_t timeout_ms,
                       ik_rpc_client_t **out, ik_err_t *err);

/* Cancel pending calls (their callbacks run later with IK_ECANCELED) and
 * release the client once they have. NULL is a no-op. Safe inside a call's
 * callback. */
void ik_rpc_client_free(ik_rpc_client_t *c);

/* "unix:///path" or the URL, for messages. */
const char *ik_rpc_client_address(const ik_rpc_client_t *c);

/* Call method ("Instance.Provision") with params (borrowed; NULL sends {}).
 * iface/version (may be NULL) name the interface the plugin must implement.
 * cb gets the "result" member (borrowed). *out (may be NULL) is the handle
 * for ik_rpc_cancel(), valid until cb returns. */
int ik_rpc_call(ik_rpc_client_t *c, const char *iface, const char *version, const char *method,
                json_t *params, ik_spi_cb cb, void *data, ik_rpc_pending_t **out, ik_err_t *err);

/* Abort a call; its callback still runs once, later, with IK_ECANCELED. */
void ik_rpc_cancel(ik_rpc_pending_t *p);

/* GET path_query ("events?group=web", no leading '/') from the plugin's
 * address, streamed (see ik_http_req_t.on_data): what the plugin serves
 * beside JSON-RPC, such as its event stream. headers as in ik_http_req_t;
 * the client's timeout bounds the connection only. */
int ik_rpc_client_stream(ik_rpc_client_t *c, const char *path_query, const char *const *headers,
                         ik_http_data_cb on_data, ik_http_cb cb, void *data, ik_http_call_t **out, ik_err_t *err);

/* The plugin's Handshake.Hello "Objects" (borrowed) once a handshake has
 * succeeded, else NULL. */
json_t *ik_rpc_client_hello(const ik_rpc_client_t *c);

/* Parse a Go duration ("15s", "1m30s", "500ms") into milliseconds.
 * Returns 0 or IK_EINVAL. */
int ik_parse_go_duration(const char *s, uint64_t *ms);

#endif
