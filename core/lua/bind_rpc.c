/* core.rpc_call(plugin, method, params_json, timeout_ms): one JSON-RPC call
 * to a plugin, yielding the task until the answer arrives.
 *
 *   plugin       a socket name in the plugins directory ("instance-file"),
 *                or an address (a socket path, tcp://, http://)
 *   method       "Instance.DescribeInstances"
 *   params_json  the params object as JSON text, or nil for {}
 *   timeout_ms   0 for the default ($INFRAKIT_CLIENT_TIMEOUT, else 15 s)
 *
 * Returns the result as JSON text, or nil, msg, code ("ENOTFOUND" for a
 * missing plugin or method, "ECONNREFUSED" for a dead one, "EDRIVER" for
 * the plugin's own error, "EINVAL" for params it refused, "ETIMEDOUT").
 * lua/infrakit/rpc.lua wraps it with tables. The runtime's HTTP client is
 * created on first use, so scripts that make no calls never load libcurl. */
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "lua/internal.h"
#include "net/discovery.h"
#include "net/client/rpc_client.h"

typedef struct ik_rpc_op {
  ik_op_t op;
  ik_task_t *task; /* NULL once cancelled */
  ik_rpc_client_t *client;
  ik_rpc_pending_t *pending;
} ik_rpc_op_t;

/* The result as JSON text, the way Go would write it. */
static int push_result_text(lua_State *co, void *data) {
  size_t len;
  char *text = ik_json_dump_go(data, false, &len);
  lua_pushlstring(co, text, len);
  free(text);
  return 1;
}

static void rpc_done(json_t *result, const ik_err_t *err, void *data) {
  ik_rpc_op_t *op = data;
  ik__task_answer(op->task, err, push_result_text, result);
  ik_rpc_client_free(op->client); /* allowed inside its own callback */
  ik_free(op);
}

static void rpc_cancel(ik_op_t *base) {
  ik_rpc_op_t *op = (ik_rpc_op_t *)base;
  op->task = NULL;
  ik_rpc_cancel(op->pending); /* rpc_done still runs and frees op */
}

static bool is_address(const char *s) { return s[0] == '/' || strstr(s, "://") != NULL || strstr(s, ".listen"); }

static int l_rpc_call(lua_State *L) {
  const char *plugin = luaL_checkstring(L, 1);
  const char *method = luaL_checkstring(L, 2);
  size_t plen = 0;
  const char *ptext = luaL_optlstring(L, 3, NULL, &plen);
  lua_Number timeout = luaL_optnumber(L, 4, 0);
  ik_task_t *t = ik__task_current(L, "infrakit.rpc.call");
  ik_lua_t *rt = t->rt;
  ik_err_t err = {0};
  json_t *params = NULL;
  if (ptext) {
    json_error_t jerr;
    params = json_loadb(ptext, plen, 0, &jerr);
    if (params == NULL) return luaL_error(L, "infrakit.rpc.call: params: %s", jerr.text);
  }
  int rc;
  ik_http_client_t *http = NULL;
  rc = ik__lua_http_client(rt, &http, &err);
  ik_rpc_client_t *client = NULL;
  if (rc == 0 && is_address(plugin)) {
    rc = ik_rpc_client_new(rt->http, plugin, (uint64_t)timeout, &client, &err);
  } else if (rc == 0) {
    char dir[4096];
    rc = ik_plugins_dir(dir, sizeof dir, &err);
    if (rc == 0) rc = ik_rpc_client_open(rt->http, dir, plugin, (uint64_t)timeout, &client, &err);
  }
  ik_rpc_op_t *op = NULL;
  if (rc == 0) {
    op = IK_NEW(ik_rpc_op_t);
    op->op.cancel = rpc_cancel;
    op->task = t;
    op->client = client;
    rc = ik_rpc_call(client, NULL, NULL, method, params, rpc_done, op, &op->pending, &err);
  }
  json_decref(params);
  if (rc < 0) ik_rpc_client_free(client);
  return ik__task_await(L, t, op ? &op->op : NULL, rc, &err);
}

void ik__bind_rpc(lua_State *L) {
  lua_pushcfunction(L, l_rpc_call);
  lua_setfield(L, -2, "rpc_call");
}
