/* JSON-RPC 2.0 plugin server: InfraKit's wire on one socket.
 *
 * A plugin server hosts objects, each implementing one interface
 * (Instance/0.6.1, Flavor/0.1.1, Group/0.1.1, ...) under an object name:
 * "." for the default object, else a type ("Instance" and "Flavor" pick it
 * with the request's Type field) or a key ("Group" picks it with the Name
 * field, "manager/workers"). It answers POST / (JSON-RPC), GET
 * /info/api.json and GET /info/functions.json, and Handshake.Hello by
 * itself (reference §1.1-1.5).
 *
 * Where InfraKit is sloppy the JSON-RPC spec wins: invalid JSON gets a
 * -32700 error (InfraKit sends an empty body), an unknown method -32601,
 * bad params -32602; a method's own failure is -32000 with its message,
 * HTTP 200, as every Go client expects. Responses are Content-Type
 * application/json. */
#ifndef IK_NET_RPC_SERVER_H
#define IK_NET_RPC_SERVER_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"
#include "loop/loop.h"
#include "net/server/http_server.h"

#define IK_RPC_PARSE_ERROR (-32700)
#define IK_RPC_INVALID_REQUEST (-32600)
#define IK_RPC_METHOD_NOT_FOUND (-32601)
#define IK_RPC_INVALID_PARAMS (-32602)
#define IK_RPC_SERVER_ERROR (-32000) /* InfraKit: every error a method returns */

typedef struct ik_rpc_server ik_rpc_server_t;
typedef struct ik_rpc_call ik_rpc_call_t;

/* A method. params is borrowed (valid until the reply); obj is the object
 * registered with ik_rpc_server_add(). The method must end the call exactly
 * once with ik_rpc_reply() or ik_rpc_fail(), now or later. */
typedef void (*ik_rpc_method_fn)(ik_rpc_call_t *call, json_t *params, void *obj);

typedef struct ik_rpc_method {
  const char *name; /* "Provision" */
  ik_rpc_method_fn fn;
  const char *example_params; /* JSON for /info/api.json (zero-value request) */
  const char *example_result;
} ik_rpc_method_t;

typedef enum ik_rpc_dispatch {
  IK_RPC_TYPED,  /* params.Type selects the object ("" = ".") */
  IK_RPC_KEYED,  /* params.Name ("lookup/key") selects the object */
  IK_RPC_SINGLE, /* one object, no selector (Manager) */
} ik_rpc_dispatch_t;

typedef struct ik_rpc_iface {
  const char *name;    /* interface name in Hello: "Instance", "Stack" */
  const char *version; /* "0.6.1" */
  const char *service; /* JSON-RPC service prefix: "Instance", "Manager" */
  ik_rpc_dispatch_t dispatch;
  const ik_rpc_method_t *methods; /* ends with {NULL} */
  bool hidden;                    /* not listed by Handshake.Hello or /info: a control
                             service of this implementation (Plugin.Reload),
                             not an InfraKit interface clients look for */
} ik_rpc_iface_t;

/* name is the plugin's name (its socket's file name); copied. */
ik_rpc_server_t *ik_rpc_server_new(ik_loop_t *loop, const char *name);

/* Host obj as obj_name ("." or a type/key) implementing iface (borrowed:
 * must outlive the server). IK_EEXIST if that name is taken.
 *
 * How a request finds its object (reference §1.5):
 *   TYPED  Type "" → "."; else the object named Type; none: the error
 *          "no-plugin:<Type>".
 *   KEYED  Name is "lookup[/sub]" (split at the first '/'), resolved as
 *          InfraKit's keyed servers do: with exactly one object and no sub
 *          (or lookup "."), that object; else the object named lookup (or
 *          "." for a bare name); else the object named sub without its
 *          first segment when sub has a '/' ("a/b" → "b"), else sub; none:
 *          "not found: <Name> (key=<sub>)". So a bare name reaches "."
 *          (when there is one), and "group/workers" reaches "workers".
 *   SINGLE the first object of the interface. */
int ik_rpc_server_add(ik_rpc_server_t *s, const ik_rpc_iface_t *iface, const char *obj_name, void *obj,
                      ik_err_t *err);

/* Serve on the given address (see ik_http_server_opts_t); call again to
 * serve on a second one (a unix socket and a TCP port). */
int ik_rpc_server_listen(ik_rpc_server_t *s, const ik_http_server_opts_t *opts, ik_err_t *err);

/* Serve more than JSON-RPC on the same listeners: requests whose method is
 * `method` ("GET"; HEAD reaches a GET route too) and whose path is `path`
 * exactly, or starts with it when prefix is true ("/ui/"), go to fn(req,
 * data), which must respond as an ik_http_handler does. Routes are tried in
 * the order added, after "/" and /info/; the rest get 404. `path` is
 * borrowed (a literal). For /metrics, /events, /ui and the like: one router,
 * each feature registers its own routes from its own file. */
int ik_rpc_server_route(ik_rpc_server_t *s, const char *method, const char *path, bool prefix, ik_http_handler fn,
                        void *data, ik_err_t *err);

/* Stop serving and free. Calls still running may still reply: their
 * replies are dropped. */
void ik_rpc_server_free(ik_rpc_server_t *s);

const char *ik_rpc_server_name(const ik_rpc_server_t *s);
/* The i-th listener (0 or 1), or NULL. */
ik_http_server_t *ik_rpc_server_http(const ik_rpc_server_t *s, int i);

/* A result object with the fields InfraKit echoes first: {"Type": ...} for
 * typed interfaces, {"Name": ...} for keyed ones, {} otherwise. */
json_t *ik_rpc_result_new(const ik_rpc_call_t *call);

/* The Type / Name the request carried ("" when absent). */
const char *ik_rpc_call_selector(const ik_rpc_call_t *call);

/* End the call with result (stolen). */
void ik_rpc_reply(ik_rpc_call_t *call, json_t *result);

/* End the call with an error object {code, message, data: null}. */
void ik_rpc_fail(ik_rpc_call_t *call, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fail with err: -32602 for IK_EINVAL (bad params), else -32000. */
void ik_rpc_fail_err(ik_rpc_call_t *call, const ik_err_t *err);

/* The interface versions InfraKit's clients require (reference §1.2). */
#define IK_IFACE_INSTANCE_VERSION "0.6.1"
#define IK_IFACE_FLAVOR_VERSION "0.1.1"
#define IK_IFACE_GROUP_VERSION "0.1.1"
#define IK_IFACE_STACK_VERSION "0.1.1" /* served as Manager.* */

#endif
