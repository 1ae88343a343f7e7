/* JSON-RPC 2.0 over the HTTP server: routing, decoding, dispatch to
 * objects, Handshake.Hello and the /info endpoints (see rpc_server.h). */
#include "net/server/rpc_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/redact.h"

typedef struct ik_rpc_object {
  const ik_rpc_iface_t *iface;
  char *name;
  void *obj;
} ik_rpc_object_t;

typedef struct ik_rpc_route {
  const char *method;
  const char *path;
  bool prefix;
  ik_http_handler fn;
  void *data;
} ik_rpc_route_t;

#define IK_RPC_MAX_ROUTES 16

struct ik_rpc_server {
  ik_loop_t *loop;
  char *name;
  ik_rpc_object_t *objects;
  size_t nobjects;
  ik_http_server_t *http[2]; /* a unix socket, and optionally TCP */
  int nhttp;
  json_t *hello;                            /* cached Handshake.Hello result; dropped by ik_rpc_server_add */
  ik_rpc_route_t routes[IK_RPC_MAX_ROUTES]; /* see ik_rpc_server_route */
  size_t nroutes;
};

struct ik_rpc_call {
  ik_http_request_t *req;
  json_t *msg;  /* the decoded request; params borrow from it */
  json_t *id;   /* NULL for a notification */
  char *raw_id; /* the id's text when it is an integer beyond int64 */
  const ik_rpc_iface_t *iface;
  char *selector; /* Type or Name as sent */
};

/* --- responses ---------------------------------------------------------- */

/* Send body (stolen). raw_id, when set, replaces body's id by that text:
 * Go clients send random uint64 ids, half of them beyond what jansson's
 * integers hold, and the id must come back byte for byte. */
static void respond_json(ik_http_request_t *req, json_t *body, const char *raw_id) {
  size_t len;
  if (raw_id) json_object_del(body, "id");
  char *text = ik_json_dump_go(body, true, &len);
  if (raw_id) { /* "{...}\n" → "{...,"id":RAW}\n" */
    char *with_id = ik_sprintf("%.*s,\"id\":%s}\n", (int)(len - 2), text, raw_id);
    free(text);
    text = with_id;
    len = strlen(text);
    ik_http_respond(req, 200, "application/json", text, len);
    ik_free(text);
  } else {
    ik_http_respond(req, 200, "application/json", text, len);
    free(text);
  }
  json_decref(body);
}

static void respond_text(ik_http_request_t *req, int status, const char *text) {
  ik_http_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* message as a JSON string, never NULL. Messages are built in fixed-size
 * buffers from what the client sent (a method, a Type, a Name), so one may
 * be cut inside a UTF-8 sequence, and json_string() refuses invalid UTF-8:
 * the error would lose its message. Drop the cut sequence (at most 3
 * bytes); should anything else be invalid, bytes >= 0x80 become '?'. */
static json_t *message_string(const char *message) {
  size_t n = strlen(message);
  json_t *v = json_string(message);
  for (size_t cut = 1; v == NULL && cut <= 3 && cut <= n; cut++) v = json_stringn(message, n - cut);
  if (v == NULL) {
    char *ascii = ik_strdup(message);
    for (char *p = ascii; *p; p++)
      if ((unsigned char)*p >= 0x80) *p = '?';
    v = json_string(ascii);
    ik_free(ascii);
  }
  return v;
}

/* An error response; data (stolen) may be NULL for null. id borrowed. */
static void respond_error(ik_http_request_t *req, json_t *id, const char *raw_id, int code, const char *message,
                          json_t *data) {
  json_t *err = json_object();
  ik_buf_t scratch = {0};
  json_object_set_new(err, "code", json_integer(code));
  /* A plugin's error may repeat a secret: the client sees it masked. */
  json_object_set_new(err, "message", message_string(ik_redact_buf(message, &scratch)));
  ik_buf_free(&scratch);
  json_object_set_new(err, "data", data ? data : json_null());
  json_t *body = json_object();
  json_object_set_new(body, "jsonrpc", json_string("2.0"));
  json_object_set_new(body, "error", err);
  json_object_set(body, "id", id ? id : json_null());
  respond_json(req, body, raw_id);
}

static void call_free(ik_rpc_call_t *call) {
  json_decref(call->msg);
  json_decref(call->id);
  ik_free(call->raw_id);
  ik_free(call->selector);
  ik_free(call);
}

void ik_rpc_reply(ik_rpc_call_t *call, json_t *result) {
  if (call->id == NULL) { /* notification: the call ran, nothing is sent */
    ik_http_respond(call->req, 200, NULL, "", 0);
    json_decref(result);
  } else {
    json_t *body = json_object();
    json_object_set_new(body, "jsonrpc", json_string("2.0"));
    json_object_set_new(body, "result", result ? result : json_null());
    json_object_set(body, "id", call->id);
    respond_json(call->req, body, call->raw_id);
  }
  call_free(call);
}

void ik_rpc_fail(ik_rpc_call_t *call, int code, const char *fmt, ...) {
  char msg[IK_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (call->id == NULL) ik_http_respond(call->req, 200, NULL, "", 0);
  else respond_error(call->req, call->id, call->raw_id, code, msg, NULL);
  call_free(call);
}

void ik_rpc_fail_err(ik_rpc_call_t *call, const ik_err_t *err) {
  ik_rpc_fail(call, err->code == IK_EINVAL ? IK_RPC_INVALID_PARAMS : IK_RPC_SERVER_ERROR, "%s", err->msg);
}

json_t *ik_rpc_result_new(const ik_rpc_call_t *call) {
  json_t *r = json_object();
  switch (call->iface->dispatch) {
  case IK_RPC_TYPED: json_object_set_new(r, "Type", json_string(call->selector)); break;
  case IK_RPC_KEYED: json_object_set_new(r, "Name", json_string(call->selector)); break;
  case IK_RPC_SINGLE: break;
  default: abort();
  }
  return r;
}

const char *ik_rpc_call_selector(const ik_rpc_call_t *call) { return call->selector; }

/* --- objects ------------------------------------------------------------ */

ik_rpc_server_t *ik_rpc_server_new(ik_loop_t *loop, const char *name) {
  ik_rpc_server_t *s = ik_calloc(1, sizeof *s);
  s->loop = loop;
  s->name = ik_strdup(name);
  return s;
}

int ik_rpc_server_add(ik_rpc_server_t *s, const ik_rpc_iface_t *iface, const char *obj_name, void *obj,
                      ik_err_t *err) {
  for (size_t i = 0; i < s->nobjects; i++)
    if (s->objects[i].iface == iface && strcmp(s->objects[i].name, obj_name) == 0)
      return ik_err_set(err, IK_EEXIST, "plugin %s already hosts %s object \"%s\"", s->name, iface->name,
                        obj_name);
  s->objects = ik_realloc(s->objects, (s->nobjects + 1) * sizeof *s->objects);
  s->objects[s->nobjects++] = (ik_rpc_object_t){.iface = iface, .name = ik_strdup(obj_name), .obj = obj};
  json_decref(s->hello);
  s->hello = NULL;
  return 0;
}

const char *ik_rpc_server_name(const ik_rpc_server_t *s) { return s->name; }
ik_http_server_t *ik_rpc_server_http(const ik_rpc_server_t *s, int i) {
  return i >= 0 && i < s->nhttp ? s->http[i] : NULL;
}

/* The object of iface named name[0..len). */
static const ik_rpc_object_t *find_object_n(const ik_rpc_server_t *s, const ik_rpc_iface_t *iface,
                                            const char *name, size_t len) {
  for (size_t i = 0; i < s->nobjects; i++)
    if (s->objects[i].iface == iface && strlen(s->objects[i].name) == len &&
        strncmp(s->objects[i].name, name, len) == 0)
      return &s->objects[i];
  return NULL;
}

static const ik_rpc_object_t *find_object(const ik_rpc_server_t *s, const ik_rpc_iface_t *iface,
                                          const char *name) {
  return find_object_n(s, iface, name, strlen(name));
}

static const ik_rpc_iface_t *find_service(const ik_rpc_server_t *s, const char *service, size_t len) {
  for (size_t i = 0; i < s->nobjects; i++) {
    const char *svc = s->objects[i].iface->service;
    if (strlen(svc) == len && strncmp(svc, service, len) == 0) return s->objects[i].iface;
  }
  return NULL;
}

/* Keyed lookup of Name "lookup[/sub]", step for step as InfraKit's
 * Keyed.Keyed (pkg/rpc/internal/keyed.go; rules in rpc_server.h). Fills
 * why with InfraKit's message when nothing matches. */
static const ik_rpc_object_t *resolve_keyed(const ik_rpc_server_t *s, const ik_rpc_iface_t *iface,
                                            const char *name, char *why, size_t whylen) {
  const char *slash = strchr(name, '/');
  size_t lookup_len = slash ? (size_t)(slash - name) : strlen(name);
  const char *sub = slash ? slash + 1 : "";
  bool lookup_is_dot = lookup_len == 1 && name[0] == '.';
  const ik_rpc_object_t *only = NULL;
  size_t count = 0;
  for (size_t i = 0; i < s->nobjects; i++)
    if (s->objects[i].iface == iface) {
      only = &s->objects[i];
      count++;
    }
  if ((sub[0] == '\0' || lookup_is_dot) && count == 1) return only;
  const ik_rpc_object_t *o = sub[0] == '\0' ? find_object(s, iface, ".") : find_object_n(s, iface, name, lookup_len);
  if (o) return o;
  const char *inner = strchr(sub, '/');
  o = find_object(s, iface, inner ? inner + 1 : sub);
  if (o) return o;
  snprintf(why, whylen, "not found: %s (key=%s)", name, sub);
  return NULL;
}

/* --- Handshake.Hello and /info ------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* {"Objects": {"Instance/0.6.1": [{"Name": ".", "ProxyFor": ""}]}}, keys
 * sorted as Go encodes a map. */
static json_t *hello_result(const ik_rpc_server_t *s) {
  char **keys = ik_calloc(s->nobjects + 1, sizeof *keys);
  size_t nkeys = 0;
  json_t *lists = json_object();
  for (size_t i = 0; i < s->nobjects; i++) {
    if (s->objects[i].iface->hidden) continue;
    char key[128];
    snprintf(key, sizeof key, "%s/%s", s->objects[i].iface->name, s->objects[i].iface->version);
    json_t *list = json_object_get(lists, key);
    if (list == NULL) {
      list = json_array();
      json_object_set_new(lists, key, list);
      keys[nkeys++] = ik_strdup(key);
    }
    json_t *entry = json_object();
    json_object_set_new(entry, "Name", json_string(s->objects[i].name));
    json_object_set_new(entry, "ProxyFor", json_string(""));
    json_array_append_new(list, entry);
  }
  qsort(keys, nkeys, sizeof *keys, cmp_str);
  json_t *objects = json_object();
  for (size_t i = 0; i < nkeys; i++) {
    json_object_set(objects, keys[i], json_object_get(lists, keys[i]));
    ik_free(keys[i]);
  }
  ik_free(keys);
  json_decref(lists);
  json_t *r = json_object();
  json_object_set_new(r, "Objects", objects);
  return r;
}

static json_t *load_example(const char *text) {
  json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
  return v ? v : json_object();
}

static int cmp_method(const void *a, const void *b) {
  return strcmp((*(const ik_rpc_method_t *const *)a)->name, (*(const ik_rpc_method_t *const *)b)->name);
}

/* /info/api.json describes the first object, as InfraKit does (§1.3). */
static json_t *api_json(const ik_rpc_server_t *s) {
  json_t *root = json_object();
  json_object_set_new(root, "Vendor", json_null());
  json_t *impl = json_array(), *ifaces = json_array();
  if (s->nobjects > 0 && !s->objects[0].iface->hidden) {
    const ik_rpc_iface_t *iface = s->objects[0].iface;
    json_t *spec = json_pack("{s:s, s:s, s:s}", "Name", iface->name, "Version", iface->version, "Sub", "");
    json_array_append(impl, spec);
    json_t *entry = json_deep_copy(spec);
    json_decref(spec);
    size_t n = 0;
    while (iface->methods[n].name) n++;
    const ik_rpc_method_t **sorted = ik_calloc(n + 1, sizeof *sorted);
    for (size_t i = 0; i < n; i++) sorted[i] = &iface->methods[i];
    qsort(sorted, n, sizeof *sorted, cmp_method);
    json_t *methods = json_array();
    for (size_t i = 0; i < n; i++) {
      char full[128];
      snprintf(full, sizeof full, "%s.%s", iface->service, sorted[i]->name);
      json_t *m = json_pack("{s:{s:s, s:s, s:o, s:s}, s:{s:o, s:s}}", "Request", "jsonrpc", "2.0", "method",
                            full, "params", load_example(sorted[i]->example_params), "id", "1795571590",
                            "Response", "result", load_example(sorted[i]->example_result), "id", "1795571590");
      json_array_append_new(methods, m);
    }
    ik_free(sorted);
    json_object_set_new(entry, "Methods", methods);
    json_array_append_new(ifaces, entry);
  }
  json_object_set_new(root, "Implements", impl);
  json_object_set_new(root, "Interfaces", ifaces);
  return root;
}

/* /info bodies are Go's json.Marshal written as is: compact, no newline
 * (the recorded api.json bodies are 1227 and 490 bytes: compact). */
static void respond_info(ik_http_request_t *req, json_t *v) {
  size_t len;
  char *text = ik_json_dump_go(v, false, &len);
  ik_http_respond(req, 200, "application/json", text, len);
  free(text);
  json_decref(v);
}

/* --- JSON-RPC ----------------------------------------------------------- */

/* params as one object: {} when absent, null or [], the element of [obj]. */
static json_t *params_object(json_t *msg, json_t **out) {
  json_t *p = json_object_get(msg, "params");
  if (p == NULL || json_is_null(p) || (json_is_array(p) && json_array_size(p) == 0)) {
    *out = json_object();
    json_object_set_new(msg, "params", *out); /* owned by msg from here */
    return *out;
  }
  if (json_is_array(p) && json_array_size(p) == 1 && json_is_object(json_array_get(p, 0)))
    return *out = json_array_get(p, 0);
  if (json_is_object(p)) return *out = p;
  return *out = NULL;
}

/* The span [*start, *end) of the top-level "id" member's value in a JSON
 * object text, found without decoding it; false when there is none or the
 * text is not well-formed enough to tell. */
static bool find_top_level_id(const char *p, size_t len, size_t *start, size_t *end) {
  size_t i = 0, depth = 0;
  bool want_key = false, is_id = false;
  size_t key_start = 0;
  while (i < len) {
    char c = p[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < len && p[j] != '"') j += p[j] == '\\' ? 2 : 1;
      if (j >= len) return false;
      if (depth == 1 && want_key) {
        is_id = j - i - 1 == 2 && strncmp(p + i + 1, "id", 2) == 0;
        want_key = false;
      }
      i = j + 1;
      continue;
    }
    if (c == '{' || c == '[') {
      depth++;
      if (depth == 1) want_key = c == '{';
    } else if (c == '}' || c == ']') {
      if (depth == 0) return false;
      depth--;
    } else if (c == ',' && depth == 1) {
      want_key = true;
      is_id = false;
    } else if (c == ':' && depth == 1 && is_id) {
      key_start = i + 1;
      while (key_start < len && strchr(" \t\r\n", p[key_start])) key_start++;
      size_t e = key_start + (key_start < len && p[key_start] == '-');
      size_t digits = e;
      while (e < len && p[e] >= '0' && p[e] <= '9') e++;
      if (e == digits) return false; /* an integer token, or nothing */
      *start = key_start;
      *end = e;
      return true;
    }
    i++;
  }
  return false;
}

/* json_loadb(), plus a rescue for what Go clients send and jansson cannot
 * hold: an integer id beyond int64 (InfraKit's client picks a random
 * uint64). Its text goes to *raw_id (caller frees) and the request decodes
 * with id 0 in its place. */
static json_t *decode_request(const char *body, size_t len, char **raw_id, json_error_t *je) {
  json_t *msg = json_loadb(body, len, 0, je);
  size_t start, end;
  if (msg || strstr(je->text, "too big") == NULL || !find_top_level_id(body, len, &start, &end))
    return msg;
  char *copy = ik_malloc(len + 1);
  memcpy(copy, body, start);
  copy[start] = '0';
  memcpy(copy + start + 1, body + end, len - end);
  json_error_t je2;
  msg = json_loadb(copy, len - (end - start) + 1, 0, &je2);
  ik_free(copy);
  if (msg == NULL) return NULL; /* another big integer: report the first */
  *raw_id = ik_strndup(body + start, end - start);
  return msg;
}

static void handle_rpc(ik_rpc_server_t *s, ik_http_request_t *req) {
  json_error_t je;
  char *raw_id = NULL; /* set only for an integer id (decode_request) */
  json_t *msg = decode_request(req->body, req->body_len, &raw_id, &je);
  if (msg == NULL) {
    char text[300];
    snprintf(text, sizeof text, "parse error: %s (at byte %d)", je.text, je.position);
    respond_error(req, NULL, NULL, IK_RPC_PARSE_ERROR, text, NULL);
    return;
  }
  /* A refused request: answered with code, refusal and data (stolen). */
  int code = IK_RPC_INVALID_REQUEST;
  const char *refusal;
  json_t *data = NULL, *id = NULL, *params;
  if (!json_is_object(msg)) {
    refusal = json_is_array(msg) ? "batch requests are not supported: send one request object"
                                 : "request must be a JSON object";
    goto refuse;
  }
  id = json_object_get(msg, "id");
  if (id && json_is_null(id)) id = NULL;
  if (id && !json_is_string(id) && !json_is_number(id)) {
    id = NULL;
    refusal = "id must be a string, a number or null";
    goto refuse;
  }
  const char *version = json_string_value(json_object_get(msg, "jsonrpc"));
  if (version == NULL || strcmp(version, "2.0") != 0) {
    refusal = "jsonrpc must be 2.0";
    data = json_incref(msg); /* InfraKit sends the request back as data; so do we. */
    goto refuse;
  }
  const char *method = json_string_value(json_object_get(msg, "method"));
  if (method == NULL) {
    refusal = "method must be a string";
    goto refuse;
  }
  if (params_object(msg, &params) == NULL) {
    code = IK_RPC_INVALID_PARAMS;
    refusal = "params must be an object (or a list of one object)";
    goto refuse;
  }

  ik_rpc_call_t *call = ik_calloc(1, sizeof *call);
  call->req = req;
  call->msg = msg;
  call->id = id ? json_incref(id) : NULL;
  call->raw_id = raw_id;

  const char *dot = strchr(method, '.');
  if (dot && strcmp(method, "Handshake.Hello") == 0) {
    static const ik_rpc_iface_t handshake = {"Handshake", "0.1.0", "Handshake", IK_RPC_SINGLE, NULL, false};
    call->iface = &handshake;
    call->selector = ik_strdup("");
    if (s->hello == NULL) s->hello = hello_result(s); /* asked once per client connection */
    ik_rpc_reply(call, json_incref(s->hello));
    return;
  }
  const ik_rpc_iface_t *iface = dot ? find_service(s, method, (size_t)(dot - method)) : NULL;
  const ik_rpc_method_t *m = NULL;
  if (iface)
    for (size_t i = 0; iface->methods[i].name && !m; i++)
      if (strcmp(iface->methods[i].name, dot + 1) == 0) m = &iface->methods[i];
  if (m == NULL) {
    call->selector = ik_strdup("");
    ik_rpc_fail(call, IK_RPC_METHOD_NOT_FOUND, "method not found: %s (plugin %s)", method, s->name);
    return;
  }
  call->iface = iface;

  ik_err_t err = {0};
  const ik_rpc_object_t *obj = NULL;
  char why[300] = "";
  switch (iface->dispatch) {
  case IK_RPC_TYPED: {
    const char *type = ik_json_get_string(params, "Type", "", "params.Type", &err);
    call->selector = ik_strdup(type ? type : "");
    if (type == NULL) {
      ik_rpc_fail_err(call, &err);
      return;
    }
    obj = find_object(s, iface, type[0] ? type : ".");
    if (obj == NULL) snprintf(why, sizeof why, "no-plugin:%s", type);
    break;
  }
  case IK_RPC_KEYED: {
    const char *name = ik_json_get_string(params, "Name", "", "params.Name", &err);
    call->selector = ik_strdup(name ? name : "");
    if (name == NULL) {
      ik_rpc_fail_err(call, &err);
      return;
    }
    obj = resolve_keyed(s, iface, name, why, sizeof why);
    break;
  }
  case IK_RPC_SINGLE:
    call->selector = ik_strdup("");
    for (size_t i = 0; i < s->nobjects && !obj; i++)
      if (s->objects[i].iface == iface) obj = &s->objects[i];
    break;
  default:
    abort();
  }
  if (obj == NULL) {
    ik_rpc_fail(call, IK_RPC_SERVER_ERROR, "%s", why);
    return;
  }
  m->fn(call, params, obj->obj);
  return;

refuse:
  respond_error(req, id, raw_id, code, refusal, data);
  json_decref(msg);
  ik_free(raw_id);
}

/* True when the media type (before any ';') is application/json. */
static bool is_json_type(const char *ct) {
  while (*ct == ' ') ct++;
  size_t n = strcspn(ct, ";");
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

/* The route added for req's method and path, or NULL. */
static const ik_rpc_route_t *find_route(const ik_rpc_server_t *s, const ik_http_request_t *req) {
  const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
  for (size_t i = 0; i < s->nroutes; i++) {
    const ik_rpc_route_t *r = &s->routes[i];
    if (strcmp(r->method, method) != 0) continue;
    if (r->prefix ? strncmp(req->path, r->path, strlen(r->path)) == 0 : strcmp(req->path, r->path) == 0) return r;
  }
  return NULL;
}

int ik_rpc_server_route(ik_rpc_server_t *s, const char *method, const char *path, bool prefix, ik_http_handler fn,
                        void *data, ik_err_t *err) {
  if (s->nroutes == IK_RPC_MAX_ROUTES)
    return ik_err_set(err, IK_ESTATE, "plugin %s: more than %d HTTP routes", s->name, IK_RPC_MAX_ROUTES);
  s->routes[s->nroutes++] = (ik_rpc_route_t){method, path, prefix, fn, data};
  return 0;
}

static void on_http(ik_http_request_t *req, void *data) {
  ik_rpc_server_t *s = data;
  const ik_rpc_route_t *route;
  if (strcmp(req->path, "/") == 0) {
    if (strcmp(req->method, "POST") != 0) {
      char text[96];
      snprintf(text, sizeof text, "rpc: POST method required, received %s", req->method);
      respond_text(req, 405, text);
      return;
    }
    /* No Content-Type is accepted (one codec); another one is not. */
    if (req->content_type && !is_json_type(req->content_type)) {
      char text[300];
      snprintf(text, sizeof text, "rpc: unrecognized Content-Type: %.200s", req->content_type);
      respond_text(req, 415, text);
      return;
    }
    handle_rpc(s, req);
  } else if (strcmp(req->path, "/info/api.json") == 0 && strcmp(req->method, "GET") == 0) {
    respond_info(req, api_json(s));
  } else if (strcmp(req->path, "/info/functions.json") == 0 && strcmp(req->method, "GET") == 0) {
    /* Template functions arrive with the template engine. */
    respond_info(req, json_pack("{s:[]}", "builtin"));
  } else if ((route = find_route(s, req)) != NULL) {
    route->fn(req, route->data);
  } else {
    respond_text(req, 404, "404 page not found\n");
  }
}

int ik_rpc_server_listen(ik_rpc_server_t *s, const ik_http_server_opts_t *opts, ik_err_t *err) {
  if (s->nhttp == 2) return ik_err_set(err, IK_ESTATE, "plugin %s already listens on two addresses", s->name);
  int rc = ik_http_server_start(s->loop, opts, on_http, s, &s->http[s->nhttp], err);
  if (rc == 0) s->nhttp++;
  return rc;
}

void ik_rpc_server_free(ik_rpc_server_t *s) {
  if (s == NULL) return;
  for (int i = 0; i < s->nhttp; i++) ik_http_server_close(s->http[i]);
  for (size_t i = 0; i < s->nobjects; i++) ik_free(s->objects[i].name);
  ik_free(s->objects);
  json_decref(s->hello);
  ik_free(s->name);
  ik_free(s);
}
