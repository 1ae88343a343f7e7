/* JSON-RPC client for one plugin (see rpc_client.h).
 *
 * Every call is a pending record on the client's list. A call that names an
 * interface waits for the client's one Handshake.Hello; the others go out at
 * once. The client is reference-counted: its owner holds one reference and
 * every pending record one more, so ik_rpc_client_free() may run inside a
 * callback and the memory goes when the last callback has returned. */
#include "net/client/rpc_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json.h"
#include "base/mem.h"
#include "net/server/rpc_server.h"

struct ik_rpc_client {
  ik_http_client_t *http;
  char *address;                     /* for messages */
  char *url;                         /* POST target */
  char *unix_path;                   /* or NULL for TCP */
  char *tls_cert, *tls_key, *tls_ca; /* https: $INFRAKIT_TLS_CERT, _KEY, _CA; may be NULL */
  uint64_t timeout_ms;
  int refs;
  bool closing;
  json_t *hello; /* Handshake.Hello "Objects", once known */
  ik_rpc_pending_t *hello_call;
  ik_rpc_pending_t *head; /* every pending call, oldest first */
  ik_rpc_pending_t *tail;
  uint64_t next_id;
};

struct ik_rpc_pending {
  ik_rpc_client_t *c;
  char *iface, *version, *method;
  json_t *params; /* kept until sent */
  ik_spi_cb cb;
  void *data;
  ik_http_call_t *http; /* while on the wire */
  uint64_t id;
  bool waiting_hello;
  bool canceled; /* finish with IK_ECANCELED at the next chance */
  ik_rpc_pending_t *prev, *next;
};

static void client_unref(ik_rpc_client_t *c) {
  if (--c->refs > 0) return;
  json_decref(c->hello);
  ik_free(c->address);
  ik_free(c->url);
  ik_free(c->unix_path);
  ik_free(c->tls_cert);
  ik_free(c->tls_key);
  ik_free(c->tls_ca);
  ik_free(c);
}

/* --- addresses ----------------------------------------------------------- */

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* The first line of a NAME.listen file, trimmed. */
static int read_listen_file(const char *path, char *out, size_t len, ik_err_t *err) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return ik_err_set(err, IK_ENOTFOUND, "plugin address %s: %s", path, strerror(errno));
  char *line = fgets(out, (int)len, f);
  fclose(f);
  if (line == NULL) return ik_err_set(err, IK_EINVAL, "plugin address %s: the file is empty", path);
  size_t n = strlen(out);
  while (n > 0 && isspace((unsigned char)out[n - 1])) out[--n] = '\0';
  if (n == 0) return ik_err_set(err, IK_EINVAL, "plugin address %s: the file is empty", path);
  return 0;
}

/* Set c->url, c->unix_path and c->address from InfraKit's address forms
 * (pkg/rpc/client parseAddress, reference §1.1). */
static int set_address(ik_rpc_client_t *c, const char *address, ik_err_t *err) {
  char listen[1024];
  size_t alen = strlen(address);
  if (alen > 7 && strcmp(address + alen - 7, ".listen") == 0 && !has_prefix(address, "http")) {
    const char *path = has_prefix(address, "file://") ? address + 7 : address;
    int rc = read_listen_file(path, listen, sizeof listen, err);
    if (rc < 0) return rc;
    if (has_prefix(listen, "unix://") || has_prefix(listen, "file://") || listen[0] == '/' ||
        (!has_prefix(listen, "tcp://") && !has_prefix(listen, "tcp+tls://") && !has_prefix(listen, "http://") &&
         !has_prefix(listen, "https://")))
      return ik_err_set(err, IK_EINVAL,
                        "plugin address %s: want tcp://, tcp+tls:// or http(s):// in the file, got \"%.200s\"", path,
                        listen);
    address = listen;
  }
  if (*address == '\0') return ik_err_set(err, IK_EINVAL, "plugin address: empty");
  if (has_prefix(address, "tcp://") || has_prefix(address, "tcp+tls://") || has_prefix(address, "http://") ||
      has_prefix(address, "https://")) {
    bool tls = has_prefix(address, "tcp+tls://") || has_prefix(address, "https://");
    const char *rest = has_prefix(address, "tcp://") ? address + 6 : has_prefix(address, "tcp+tls://") ? address + 10
                                                                                                       : address;
    size_t n = strlen(rest);
    bool slash = n > 0 && rest[n - 1] == '/';
    c->url = ik_sprintf("%s%s%s", rest != address ? (tls ? "https://" : "http://") : "", rest, slash ? "" : "/");
    c->address = ik_strdup(address);
    if (tls) { /* the client certificate a daemon's TLS listener asks for */
      const char *cert = getenv("INFRAKIT_TLS_CERT"), *key = getenv("INFRAKIT_TLS_KEY"), *ca = getenv("INFRAKIT_TLS_CA");
      c->tls_cert = cert && *cert ? ik_strdup(cert) : NULL;
      c->tls_key = key && *key ? ik_strdup(key) : NULL;
      c->tls_ca = ca && *ca ? ik_strdup(ca) : NULL;
    }
    return 0;
  }
  const char *path = address;
  if (has_prefix(address, "unix://")) path = address + 7;
  else if (has_prefix(address, "file://")) path = address + 7;
  else if (strstr(address, "://")) return ik_err_set(err, IK_EINVAL, "plugin address %s: unsupported scheme", address);
  if (*path == '\0') return ik_err_set(err, IK_EINVAL, "plugin address %s: empty socket path", address);
  c->unix_path = ik_strdup(path);
  c->url = ik_strdup("http://h/");
  c->address = ik_sprintf("unix://%s", path);
  return 0;
}

/* --- durations ----------------------------------------------------------- */

int ik_parse_go_duration(const char *s, uint64_t *ms) {
  static const struct {
    const char *unit;
    double ms;
  } units[] = {
      {"ns", 1e-6},
      {"us", 1e-3},
      {"µs", 1e-3},
      {"ms", 1},
      {"s", 1e3},
      {"m", 60e3},
      {"h", 3600e3},
  };
  double total = 0;
  const char *p = s;
  if (p == NULL || *p == '\0') return IK_EINVAL;
  if (strcmp(p, "0") == 0) return *ms = 0, 0;
  while (*p) {
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno || v < 0 || *p == '-' || *p == '+') return IK_EINVAL;
    p = end;
    size_t best = 0;
    double scale = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t n = strlen(units[i].unit);
      if (n > best && strncmp(p, units[i].unit, n) == 0) best = n, scale = units[i].ms;
    }
    if (best == 0) return IK_EINVAL;
    p += best;
    total += v * scale;
  }
  if (total > 1e15) return IK_EINVAL;
  *ms = (uint64_t)(total + 0.5);
  return 0;
}

static uint64_t default_timeout(void) {
  const char *env = getenv("INFRAKIT_CLIENT_TIMEOUT");
  uint64_t ms;
  if (env && *env && ik_parse_go_duration(env, &ms) == 0 && ms > 0) return ms;
  return IK_HTTP_DEFAULT_TIMEOUT_MS;
}

/* --- life cycle ----------------------------------------------------------- */

int ik_rpc_client_new(ik_http_client_t *http, const char *address, uint64_t timeout_ms, ik_rpc_client_t **out,
                      ik_err_t *err) {
  if (http == NULL || address == NULL || out == NULL)
    return ik_err_set(err, IK_EINVAL, "rpc client: http client, address and out are required");
  ik_rpc_client_t *c = IK_NEW(ik_rpc_client_t);
  c->http = http;
  c->refs = 1;
  c->next_id = 1;
  c->timeout_ms = timeout_ms ? timeout_ms : default_timeout();
  int rc = set_address(c, address, err);
  if (rc < 0) {
    client_unref(c);
    return rc;
  }
  *out = c;
  return 0;
}

int ik_rpc_client_open(ik_http_client_t *http, const char *dir, const char *lookup, uint64_t timeout_ms,
                       ik_rpc_client_t **out, ik_err_t *err) {
  if (lookup == NULL || *lookup == '\0' || strchr(lookup, '/') || strcmp(lookup, ".") == 0 ||
      strcmp(lookup, "..") == 0)
    return ik_err_set(err, IK_EINVAL, "plugin name \"%s\": want a socket name in %s", lookup ? lookup : "", dir);
  static const struct {
    const char *suffix;
    mode_t type;
  } forms[] = {{"", S_IFSOCK}, {".listen", S_IFREG}};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char *path = ik_sprintf("%s/%s%s", dir, lookup, forms[i].suffix);
    struct stat st;
    int rc = 1;
    if (stat(path, &st) == 0 && (st.st_mode & S_IFMT) == forms[i].type)
      rc = ik_rpc_client_new(http, path, timeout_ms, out, err);
    ik_free(path);
    if (rc <= 0) return rc;
  }
  return ik_err_set(err, IK_ENOTFOUND, "plugin %s: not found in %s (no socket %s, no %s.listen); is it running?",
                    lookup, dir, lookup, lookup);
}

const char *ik_rpc_client_address(const ik_rpc_client_t *c) { return c->address; }
json_t *ik_rpc_client_hello(const ik_rpc_client_t *c) { return c->hello; }

/* --- pending calls -------------------------------------------------------- */

static void pending_unlink(ik_rpc_pending_t *p) {
  ik_rpc_client_t *c = p->c;
  if (p->prev) p->prev->next = p->next;
  else c->head = p->next;
  if (p->next) p->next->prev = p->prev;
  else c->tail = p->prev;
  p->prev = p->next = NULL;
}

static void pending_free(ik_rpc_pending_t *p) {
  ik_rpc_client_t *c = p->c;
  json_decref(p->params);
  ik_free(p->iface);
  ik_free(p->version);
  ik_free(p->method);
  ik_free(p);
  client_unref(c);
}

/* End a call: exactly one callback, then free. */
static void finish(ik_rpc_pending_t *p, json_t *result, const ik_err_t *err) {
  pending_unlink(p);
  p->cb(result, err, p->data);
  pending_free(p);
}

static void finish_err(ik_rpc_pending_t *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish_err(ik_rpc_pending_t *p, int code, const char *fmt, ...) {
  ik_err_t err = {0};
  va_list ap;
  va_start(ap, fmt);
  ik_err_setv(&err, code, fmt, ap);
  va_end(ap);
  finish(p, NULL, &err);
}

/* An error object's code as one of ours. */
static int map_rpc_code(json_int_t code) {
  switch (code) {
  case IK_RPC_INVALID_PARAMS:
  case IK_RPC_INVALID_REQUEST:
    return IK_EINVAL;
  case IK_RPC_METHOD_NOT_FOUND:
    return IK_ENOTFOUND;
  default:
    return IK_EDRIVER;
  }
}

/* Decode a response body and end the call with its result or error. */
static void finish_response(ik_rpc_pending_t *p, ik_http_resp_t *resp) {
  const char *who = p->c->address;
  if (resp->status != 200) {
    const char *body = ik_buf_cstr(&resp->body);
    int n = (int)strcspn(body, "\r\n");
    finish_err(p, IK_EIO, "%s %s: HTTP %ld%s%.*s", who, p->method, resp->status, n ? ": " : "", n > 200 ? 200 : n,
               body);
    return;
  }
  json_error_t jerr;
  json_t *doc = json_loadb(ik_buf_cstr(&resp->body), resp->body.len, JSON_DECODE_ANY, &jerr);
  if (doc == NULL || !json_is_object(doc)) {
    finish_err(p, IK_EIO, "%s %s: the response is not a JSON-RPC object%s%s", who, p->method, doc ? "" : ": ",
               doc ? "" : jerr.text);
    json_decref(doc);
    return;
  }
  json_t *error = json_object_get(doc, "error");
  json_t *result = json_object_get(doc, "result");
  json_t *id = json_object_get(doc, "id");
  if (error && !json_is_null(error)) {
    const char *msg = json_is_string(error) ? json_string_value(error)
                                            : json_string_value(json_object_get(error, "message"));
    json_int_t code = json_integer_value(json_object_get(error, "code"));
    finish_err(p, map_rpc_code(code), "%s", msg && *msg ? msg : "the plugin returned an error without a message");
  } else if (!json_is_integer(id) || (uint64_t)json_integer_value(id) != p->id) {
    finish_err(p, IK_EIO, "%s %s: the response id does not match the request's", who, p->method);
  } else if (result == NULL || json_is_null(result)) {
    finish_err(p, IK_EIO, "%s %s: result is null", who, p->method);
  } else {
    finish(p, result, NULL);
  }
  json_decref(doc);
}

static void on_http(ik_http_call_t *call, ik_http_resp_t *resp, const ik_err_t *err, void *data) {
  (void)call;
  ik_rpc_pending_t *p = data;
  p->http = NULL;
  if (err && err->code == IK_EIO && strncmp(p->c->url, "https://", 8) == 0 &&
      !strstr(err->msg, "INFRAKIT_TLS")) {
    /* A transport failure over https, most often TLS: say what the client side needs. */
    ik_err_t e = *err;
    const char *hint = p->c->tls_cert ? " (check INFRAKIT_TLS_CERT, INFRAKIT_TLS_KEY and INFRAKIT_TLS_CA)"
                                      : " (a TLS plugin wants a client certificate: set INFRAKIT_TLS_CERT, "
                                        "INFRAKIT_TLS_KEY and INFRAKIT_TLS_CA; docs/security.md)";
    size_t n = strlen(e.msg);
    snprintf(e.msg + n, sizeof e.msg - n, "%s", hint);
    finish(p, NULL, &e);
  } else if (err) {
    finish(p, NULL, err);
  } else {
    finish_response(p, resp);
  }
}

/* Put a call on the wire. On failure fills err and leaves p as it was. */
static int send_call(ik_rpc_pending_t *p, ik_err_t *err) {
  ik_rpc_client_t *c = p->c;
  p->id = c->next_id++;
  json_t *req = json_pack("{s:s, s:s, s:O, s:I}", "jsonrpc", "2.0", "method", p->method, "params", p->params, "id",
                          (json_int_t)p->id);
  size_t len;
  char *body = ik_json_dump_go(req, false, &len);
  json_decref(req);
  json_decref(p->params);
  p->params = NULL;
  static const char *const headers[] = {"Content-Type: application/json", NULL};
  ik_http_req_t hr = {
      .method = "POST",
      .url = c->url,
      .unix_path = c->unix_path,
      .headers = headers,
      .body = body,
      .body_len = len,
      .timeout_ms = c->timeout_ms,
      .tls_cert = c->tls_cert,
      .tls_key = c->tls_key,
      .tls_ca = c->tls_ca,
  };
  int rc = ik_http_request(c->http, &hr, on_http, p, &p->http, err);
  free(body);
  return rc;
}

int ik_rpc_client_stream(ik_rpc_client_t *c, const char *path_query, const char *const *headers,
                         ik_http_data_cb on_data, ik_http_cb cb, void *data, ik_http_call_t **out, ik_err_t *err) {
  char *url = ik_sprintf("%s%s", c->url, path_query);
  ik_http_req_t hr = {
      .method = "GET",
      .url = url,
      .unix_path = c->unix_path,
      .headers = headers,
      .timeout_ms = c->timeout_ms,
      .tls_cert = c->tls_cert,
      .tls_key = c->tls_key,
      .tls_ca = c->tls_ca,
      .on_data = on_data,
  };
  int rc = ik_http_request(c->http, &hr, cb, data, out, err);
  ik_free(url);
  return rc;
}

/* NULL when the handshake allows p's interface, else the error text. */
static const char *check_iface(const ik_rpc_client_t *c, const ik_rpc_pending_t *p, char *buf, size_t len) {
  const char *key;
  json_t *v;
  const char *found = NULL;
  size_t ilen = strlen(p->iface);
  json_object_foreach(c->hello, key, v) {
    if (strncmp(key, p->iface, ilen) != 0 || key[ilen] != '/') continue;
    const char *ver = key + ilen + 1;
    size_t vlen = strcspn(ver, "/");
    if (strlen(p->version) == vlen && strncmp(ver, p->version, vlen) == 0) return NULL;
    found = ver;
  }
  if (found)
    snprintf(buf, len, "Plugin supports %s interface version %.*s, client requires %s", p->iface,
             (int)strcspn(found, "/"), found, p->version);
  else snprintf(buf, len, "Plugin does not support interface %s", p->iface);
  return buf;
}

static void on_hello(json_t *result, const ik_err_t *err, void *data) {
  ik_rpc_client_t *c = data;
  c->hello_call = NULL;
  json_t *objects = result ? ik_json_get(result, "Objects") : NULL;
  ik_err_t bad = {0};
  if (err == NULL && !json_is_object(objects)) {
    ik_err_set(&bad, IK_EIO, "%s Handshake.Hello: no Objects in the result", c->address);
    err = &bad;
  }
  if (err == NULL) c->hello = json_incref(objects);
  /* Release the waiters, oldest first; a callback may free the client,
   * whose reference the hello record still holds. */
  ik_rpc_pending_t *p = c->head, *next;
  for (; p; p = next) {
    next = p->next;
    if (!p->waiting_hello) continue;
    p->waiting_hello = false;
    char msg[256];
    ik_err_t e = {0};
    if (p->canceled) finish_err(p, IK_ECANCELED, "%s %s: cancelled", c->address, p->method);
    else if (err) finish(p, NULL, err);
    else if (check_iface(c, p, msg, sizeof msg)) finish_err(p, IK_ENOTFOUND, "%s: %s", c->address, msg);
    else if (send_call(p, &e) < 0) finish(p, NULL, &e);
  }
}

static ik_rpc_pending_t *pending_new(ik_rpc_client_t *c, const char *iface, const char *version,
                                     const char *method, json_t *params, ik_spi_cb cb, void *data) {
  ik_rpc_pending_t *p = IK_NEW(ik_rpc_pending_t);
  p->c = c;
  c->refs++;
  p->iface = iface ? ik_strdup(iface) : NULL;
  p->version = version ? ik_strdup(version) : NULL;
  p->method = ik_strdup(method);
  p->params = params ? json_incref(params) : json_object();
  p->cb = cb;
  p->data = data;
  p->prev = c->tail;
  if (c->tail) c->tail->next = p;
  else c->head = p;
  c->tail = p;
  return p;
}

int ik_rpc_call(ik_rpc_client_t *c, const char *iface, const char *version, const char *method, json_t *params,
                ik_spi_cb cb, void *data, ik_rpc_pending_t **out, ik_err_t *err) {
  if (c == NULL || method == NULL || cb == NULL || (iface && version == NULL))
    return ik_err_set(err, IK_EINVAL, "rpc call: client, method and callback are required");
  if (c->closing) return ik_err_set(err, IK_ESTATE, "%s %s: the client is closed", c->address, method);
  if (params && !json_is_object(params))
    return ik_err_set(err, IK_EINVAL, "%s %s: params must be an object", c->address, method);
  ik_rpc_pending_t *p = pending_new(c, iface, version, method, params, cb, data);
  char msg[256];
  int rc = 0;
  if (iface && c->hello == NULL) {
    p->waiting_hello = true;
    if (c->hello_call == NULL) {
      ik_rpc_pending_t *h = pending_new(c, NULL, NULL, "Handshake.Hello", NULL, on_hello, c);
      rc = send_call(h, err);
      if (rc < 0) {
        pending_unlink(h);
        pending_free(h);
      } else {
        c->hello_call = h;
      }
    }
  } else if (iface && check_iface(c, p, msg, sizeof msg)) {
    rc = ik_err_set(err, IK_ENOTFOUND, "%s: %s", c->address, msg);
  } else {
    rc = send_call(p, err);
  }
  if (rc < 0) {
    pending_unlink(p);
    pending_free(p);
    return rc;
  }
  if (out) *out = p;
  return 0;
}

/* A call waiting for the handshake is finished from the loop, never from
 * inside ik_rpc_cancel(). */
static void finish_canceled(void *data) {
  ik_rpc_pending_t *p = data;
  finish_err(p, IK_ECANCELED, "%s %s: cancelled", p->c->address, p->method);
}

void ik_rpc_cancel(ik_rpc_pending_t *p) {
  if (p == NULL || p->canceled) return;
  p->canceled = true;
  if (p->http) {
    ik_http_cancel(p->http);
  } else if (p->waiting_hello) {
    p->waiting_hello = false;
    ik_loop_defer(ik_http_client_loop(p->c->http), finish_canceled, p);
  }
}

void ik_rpc_client_free(ik_rpc_client_t *c) {
  if (c == NULL || c->closing) return;
  c->closing = true;
  for (ik_rpc_pending_t *p = c->head; p; p = p->next) ik_rpc_cancel(p);
  client_unref(c);
}
