/* instance-docker: an instance is a container on a Docker Engine.
 *
 * InfraKit's docker instance plugin (pkg/provider/docker/plugin/instance),
 * spoken to the Engine API pinned at /v1.41 over the engine's socket
 * through the project's HTTP client; no docker CLI. Properties are
 * InfraKit's: {"Tags", "Config" (the API's container config: Image, Cmd,
 * Env, Labels, ...), "HostConfig", "NetworkAttachments": [{"Name",
 * "Driver"}]}.
 *
 * Provision: create the container with labels = Config.Labels + the
 * spec's tags + Tags (later wins), named after the LogicalID (the engine
 * names cattle); an image the engine lacks is pulled once, then created
 * again; attach the networks (created when missing); start; run Init in
 * the container with /bin/sh -c and, when it exits non-zero, remove the
 * container and report its status and output. Any failure after create
 * removes the container. The instance ID is the container ID's first 12
 * hex digits (InfraKit's), the LogicalID the container's name.
 *
 * Describe: containers created or running with the requested labels;
 * tags added by Label (kept by the driver: labels.c) merged in. Destroy:
 * stop (SIGTERM, SIGKILL after the grace period), then remove with its
 * anonymous volumes. Events: events.c. Engine errors are passed on with
 * the engine's own message. */
#include "providers/docker/docker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "loop/complete.h"
#include "net/go_types.h"
#include "providers/docker/docker_internal.h"

#define IK_DOCKER_PULL_TIMEOUT_MS 600000 /* a large image over a slow link */
#define IK_DOCKER_INIT_TIMEOUT_MS 120000
#define IK_DOCKER_INIT_OUTPUT_MAX 2000 /* of Init's output, in an error */

void ik__docker_ref(ik_docker_t *dp) { dp->refs++; }

void ik__docker_unref(ik_docker_t *dp) {
  if (--dp->refs > 0) return;
  json_decref(dp->labels);
  ik_buf_free(&dp->events_line);
  ik_free(dp->host);
  ik_free(dp->base_url);
  ik_free(dp->unix_path);
  ik_free(dp->dir);
  ik_free(dp->labels_path);
  ik_free(dp->events_label);
  ik_free(dp);
}

/* --- checking what callers send ------------------------------------------ */

/* A container name the engine accepts: [a-zA-Z0-9][a-zA-Z0-9_.-]+. */
static bool valid_name(const char *s) {
  size_t n = strlen(s);
  if (n < 2 || n > 128) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || !strchr("_.-", c))) return false;
  }
  return true;
}

static int check_properties(const json_t *props, ik_err_t *err) {
  if (!json_is_object(props))
    return ik_json_want(err, "Properties", "an object with Config (and Tags, HostConfig, NetworkAttachments)",
                        props ? props : json_null(), false);
  json_t *config = ik_json_get(props, "Config");
  if (!json_is_object(config))
    return ik_json_want(err, "Properties.Config", "an object (the container config: Image, Cmd, Env, ...)",
                        config ? config : json_null(), false);
  json_t *image = ik_json_get(config, "Image");
  if (!json_is_string(image) || json_string_length(image) == 0)
    return ik_json_want(err, "Properties.Config.Image", "the image to run, a non-empty string",
                        image ? image : json_null(), false);
  json_t *out = NULL;
  int rc = ik_go_string_map(ik_json_get(props, "Tags"), "Properties.Tags", &out, err);
  json_decref(out);
  if (rc < 0) return rc;
  json_t *labels = ik_json_get(config, "Labels");
  rc = ik_go_string_map(labels, "Properties.Config.Labels", &out, err);
  json_decref(out);
  if (rc < 0) return rc;
  json_t *host = ik_json_get(props, "HostConfig");
  if (host && !json_is_object(host)) return ik_json_want(err, "Properties.HostConfig", "an object", host, false);
  json_t *atts = ik_json_get(props, "NetworkAttachments");
  if (atts && !json_is_array(atts))
    return ik_json_want(err, "Properties.NetworkAttachments", "an array of {Name, Driver}", atts, false);
  size_t i;
  json_t *a;
  json_array_foreach(atts, i, a) {
    char path[64];
    snprintf(path, sizeof path, "Properties.NetworkAttachments[%zu].Name", i);
    json_t *name = ik_json_get(a, "Name");
    if (!json_is_string(name) || json_string_length(name) == 0)
      return ik_json_want(err, path, "a network name", name ? name : json_null(), false);
    json_t *driver = ik_json_get(a, "Driver");
    snprintf(path, sizeof path, "Properties.NetworkAttachments[%zu].Driver", i);
    if (driver && !json_is_string(driver)) return ik_json_want(err, path, "a string", driver, false);
  }
  return 0;
}

/* An instance ID or container name as the engine takes it in a path. */
static int check_id(const char *id, ik_err_t *err) {
  if (id == NULL || !valid_name(id))
    return ik_err_set(err, IK_EINVAL, "Instance: \"%.64s\" is not a container ID or name", id ? id : "");
  return 0;
}

/* --- operations: one context each, a chain of engine calls ---------------- */

typedef struct op {
  ik_docker_t *dp;
  ik_spi_cb cb;
  void *data;
  char *what; /* "create container web-1", for errors */
  char *cid;  /* the container, once created (or the ID given) */
  char id[IK_DOCKER_ID_LEN + 1];
  /* provision */
  char *name, *image, *init, *exec_id;
  json_t *create, *attachments;
  size_t att_i;
  bool pulled;
  bool cleared; /* a dead member's name was freed once */
  ik_buf_t output;
  ik_err_t fail; /* the error to report once the container is removed */
  /* describe */
  json_t *want;
  bool properties;
  /* label */
  json_t *labels;
  bool started;     /* its first engine call went out */
  ik_err_t refused; /* why its first call could not (op_begun returns it) */
} op_t;

static op_t *op_new(ik_docker_t *dp, ik_spi_cb cb, void *data) {
  op_t *op = IK_NEW(op_t);
  op->dp = dp;
  op->cb = cb;
  op->data = data;
  ik__docker_ref(dp);
  return op;
}

static void op_free(op_t *op) {
  ik_docker_t *dp = op->dp;
  ik_free(op->what);
  ik_free(op->cid);
  ik_free(op->name);
  ik_free(op->image);
  ik_free(op->init);
  ik_free(op->exec_id);
  json_decref(op->create);
  json_decref(op->attachments);
  ik_buf_free(&op->output);
  json_decref(op->want);
  json_decref(op->labels);
  ik_free(op);
  ik__docker_unref(dp);
}

/* Complete op with result (stolen) or err, and free it. */
static void op_finish(op_t *op, json_t *result, const ik_err_t *err) {
  op->cb(err ? NULL : result, err, op->data);
  json_decref(result);
  op_free(op);
}

/* Start an engine call for op; when it cannot start, op ends with why -
 * or, for its first call, op_begun tells the SPI caller (libuv's rule: a
 * call refused at once never calls back). */
static void op_call(op_t *op, const char *method, const char *path, json_t *body, uint64_t timeout_ms,
                    ik__docker_resp_cb next) {
  ik_err_t e = {0};
  if (ik__docker_call(op->dp, method, path, body, timeout_ms, next, op, &e) == 0) {
    op->started = true;
    return;
  }
  ik_err_t w = {0};
  ik_err_set(&w, e.code, "instance-docker: %s: %s", op->what ? op->what : method, e.msg);
  if (!op->started) op->refused = w;
  else op_finish(op, NULL, &w);
}

/* After an operation's first op_call: 0, or the call was refused: err
 * filled, op freed without a callback, the code returned. */
static int op_begun(op_t *op, ik_err_t *err) {
  if (op->started) return 0;
  int code = op->refused.code;
  if (err) *err = op->refused;
  op_free(op);
  return code;
}

/* op failed with err (an engine answer or a transport error). */
static void op_fail(op_t *op, const char *what, long status, const json_t *body, const ik_buf_t *raw,
                    const ik_err_t *transport) {
  ik_err_t e = {0};
  ik__docker_fail(op->dp, &e, what, status, body, raw, transport);
  op_finish(op, NULL, &e);
}

/* --- provision ----------------------------------------------------------- */

static void prov_create(op_t *op);
static void prov_attach(op_t *op);
static void prov_start(op_t *op);

static void on_removed_after_failure(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err,
                                     void *data) {
  op_t *op = data;
  if (err || (status != 204 && status != 404)) {
    ik_err_t e = {0};
    ik__docker_fail(op->dp, &e, "remove it", status, body, raw, err);
    size_t n = strlen(op->fail.msg);
    snprintf(op->fail.msg + n, sizeof op->fail.msg - n, "; the container %s is left: %s", op->id, e.msg);
  }
  ik_err_t f = op->fail;
  op_finish(op, NULL, &f);
}

/* The container exists but provisioning failed with op->fail: remove it,
 * then report. */
static void prov_undo(op_t *op) {
  ik_log(IK_LOG_WARN, "instance-docker", "provision failed; removing the container", "id", op->id, "error",
         op->fail.msg, NULL);
  char *path = ik_sprintf("/containers/%s?force=1&v=1", op->cid);
  op_call(op, "DELETE", path, NULL, 0, on_removed_after_failure);
  ik_free(path);
}

static void prov_undo_with(op_t *op, const char *what, long status, const json_t *body, const ik_buf_t *raw,
                           const ik_err_t *transport) {
  ik__docker_fail(op->dp, &op->fail, what, status, body, raw, transport);
  prov_undo(op);
}

static void on_init_inspected(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (err || status != 200) return prov_undo_with(op, "inspect Init's exec", status, body, raw, err);
  json_int_t code = json_integer_value(json_object_get(body, "ExitCode"));
  if (code == 0) return op_finish(op, json_string(op->id), NULL);
  /* The last part of the output: where a script says why it failed. */
  const char *out = op->output.len ? op->output.data : "";
  size_t len = op->output.len;
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r')) len--;
  size_t skip = len > IK_DOCKER_INIT_OUTPUT_MAX ? len - IK_DOCKER_INIT_OUTPUT_MAX : 0;
  ik_err_set(&op->fail, IK_EDRIVER, "instance-docker: Init exited with status %lld in container %s%s: %s%.*s",
             (long long)code, op->id, "; removed it", skip ? "..." : "", (int)(len - skip), out + skip);
  prov_undo(op);
}

/* The exec's attached output, as the engine multiplexes it without a TTY:
 * frames of [stream, 0, 0, 0, size (big-endian 32 bits)] + size bytes. */
static void demux(ik_buf_t *out, const ik_buf_t *raw) {
  size_t i = 0;
  while (raw && i + 8 <= raw->len) {
    const unsigned char *h = (const unsigned char *)raw->data + i;
    size_t n = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
    if (h[0] > 2 || i + 8 + n > raw->len) { /* not multiplexed after all: keep it as it is */
      ik_buf_append(out, raw->data + i, raw->len - i);
      return;
    }
    ik_buf_append(out, raw->data + i + 8, n);
    i += 8 + n;
  }
}

static void on_init_ran(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (err || status / 100 != 2) return prov_undo_with(op, "run Init", status, body, raw, err);
  demux(&op->output, raw);
  char *path = ik_sprintf("/exec/%s/json", op->exec_id);
  op_call(op, "GET", path, NULL, 0, on_init_inspected);
  ik_free(path);
}

static void on_exec_created(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  const char *eid = json_string_value(json_object_get(body, "Id"));
  if (err || status != 201 || eid == NULL) return prov_undo_with(op, "create Init's exec", status, body, raw, err);
  op->exec_id = ik_strdup(eid);
  char *path = ik_sprintf("/exec/%s/start", eid);
  op_call(op, "POST", path, json_pack("{s:b, s:b}", "Detach", 0, "Tty", 0), IK_DOCKER_INIT_TIMEOUT_MS, on_init_ran);
  ik_free(path);
}

static void on_started(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (err || (status != 204 && status != 304)) return prov_undo_with(op, "start the container", status, body, raw, err);
  if (op->init == NULL) return op_finish(op, json_string(op->id), NULL);
  char *path = ik_sprintf("/containers/%s/exec", op->cid);
  json_t *exec = json_pack("{s:b, s:b, s:[s,s,s]}", "AttachStdout", 1, "AttachStderr", 1, "Cmd", "/bin/sh", "-c",
                           op->init);
  op_call(op, "POST", path, exec, 0, on_exec_created);
  ik_free(path);
}

static void prov_start(op_t *op) {
  char *path = ik_sprintf("/containers/%s/start", op->cid);
  op_call(op, "POST", path, NULL, 0, on_started);
  ik_free(path);
}

static void on_connected(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (err || status != 200) return prov_undo_with(op, "connect the container to its network", status, body, raw, err);
  op->att_i++;
  prov_attach(op);
}

static void net_connect(op_t *op, const char *net_id) {
  char *path = ik_sprintf("/networks/%s/connect", net_id);
  op_call(op, "POST", path, json_pack("{s:s}", "Container", op->cid), 0, on_connected);
  ik_free(path);
}

static void on_net_created(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  const char *nid = json_string_value(json_object_get(body, "Id"));
  if (err || status != 201 || nid == NULL) return prov_undo_with(op, "create a network", status, body, raw, err);
  net_connect(op, nid);
}

static void on_networks(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (err || status != 200 || !json_is_array(body)) return prov_undo_with(op, "list networks", status, body, raw, err);
  json_t *att = json_array_get(op->attachments, op->att_i);
  const char *name = json_string_value(ik_json_get(att, "Name"));
  const char *driver = json_string_value(ik_json_get(att, "Driver"));
  /* The engine's name filter matches substrings: keep exact names. */
  const char *found = NULL;
  int n = 0;
  size_t i;
  json_t *net;
  json_array_foreach(body, i, net) {
    const char *net_name = json_string_value(json_object_get(net, "Name"));
    if (net_name == NULL || strcmp(net_name, name) != 0) continue;
    found = json_string_value(json_object_get(net, "Id"));
    n++;
  }
  if (n > 1) {
    ik_err_set(&op->fail, IK_EDRIVER, "instance-docker: %d networks are named %s; name one of them by ID", n, name);
    return prov_undo(op);
  }
  if (found) return net_connect(op, found);
  json_t *create = json_pack("{s:s, s:b, s:b}", "Name", name, "Attachable", 1, "CheckDuplicate", 1);
  if (driver && driver[0]) json_object_set_new(create, "Driver", json_string(driver));
  op_call(op, "POST", "/networks/create", create, 0, on_net_created);
}

static void prov_attach(op_t *op) {
  json_t *att = json_array_get(op->attachments, op->att_i);
  if (att == NULL) return prov_start(op);
  json_t *filters = json_pack("{s:[s]}", "name", json_string_value(ik_json_get(att, "Name")));
  const char *driver = json_string_value(ik_json_get(att, "Driver"));
  if (driver && driver[0]) json_object_set_new(filters, "driver", json_pack("[s]", driver));
  ik_buf_t path = {0};
  ik_buf_puts(&path, "/networks?filters=");
  ik__docker_filters(&path, filters);
  json_decref(filters);
  op_call(op, "GET", path.data, NULL, 0, on_networks);
  ik_buf_free(&path);
}

/* The first error line of a pull's progress stream, or NULL: a pull that
 * fails after it started answers 200 and says so in the stream. */
static char *pull_error(const ik_buf_t *raw) {
  if (raw == NULL || raw->len == 0) return NULL;
  const char *p = raw->data, *end = raw->data + raw->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    json_t *line = json_loadb(p, n, 0, NULL);
    const char *msg = json_string_value(json_object_get(line, "error"));
    char *copy = msg ? ik_strdup(msg) : NULL;
    json_decref(line);
    if (copy) return copy;
    p += n + 1;
  }
  return NULL;
}

static void on_pulled(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  char *stream_err = !err && status == 200 ? pull_error(raw) : NULL;
  if (err || status != 200 || stream_err) {
    const char *msg = stream_err ? stream_err : json_string_value(json_object_get(body, "message"));
    ik_err_t e = {0};
    if (err) ik__docker_fail(op->dp, &e, "pull", 0, NULL, NULL, err);
    else if (msg) ik_err_set(&e, IK_ENOTFOUND, "%s (HTTP %ld)", msg, status);
    else ik__docker_fail(op->dp, &e, "pull", status, body, raw, NULL);
    ik_free(stream_err);
    ik_err_t f = {0};
    ik_err_set(&f, IK_ENOTFOUND, "instance-docker: image %s is not on the engine and could not be pulled: %s",
               op->image, e.msg);
    return op_finish(op, NULL, &f);
  }
  ik_log(IK_LOG_INFO, "instance-docker", "pulled", "image", op->image, NULL);
  op->pulled = true;
  prov_create(op);
}

/* repo and tag of an image reference (the tag after the last ':' that
 * follows the last '/'; none: "latest"), as the engine's pull takes them. */
static void prov_pull(op_t *op) {
  const char *slash = strrchr(op->image, '/');
  const char *colon = strrchr(slash ? slash : op->image, ':');
  const char *at = strchr(op->image, '@');
  char *repo = ik_strndup(op->image, colon && !at ? (size_t)(colon - op->image) : strlen(op->image));
  ik_buf_t path = {0};
  ik_buf_puts(&path, "/images/create?fromImage=");
  ik_go_query_escape(&path, repo);
  if (!at) {
    ik_buf_puts(&path, "&tag=");
    ik_go_query_escape(&path, colon ? colon + 1 : "latest");
  }
  ik_free(repo);
  ik_log(IK_LOG_INFO, "instance-docker", "image not on the engine; pulling it", "image", op->image, NULL);
  op_call(op, "POST", path.data, NULL, IK_DOCKER_PULL_TIMEOUT_MS, on_pulled);
  ik_buf_free(&path);
}

/* A pet's name is taken: by its own dead predecessor (same group, not
 * running: a member that died stays on the engine, stopped), whose name
 * is freed so the pet can come back; by anything else, a conflict. */
static void on_name_freed(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (err || (status != 204 && status != 404)) return op_fail(op, "free the name of a dead member", status, body, raw, err);
  ik_log(IK_LOG_INFO, "instance-docker", "removed a dead member to reuse its name", "name", op->name, NULL);
  prov_create(op);
}

static void on_name_holder(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  const char *group = json_string_value(json_object_get(json_object_get(op->create, "Labels"), "infrakit.group"));
  json_t *labels = json_object_get(json_object_get(body, "Config"), "Labels");
  const char *holder_group = json_string_value(json_object_get(labels, "infrakit.group"));
  json_t *running = json_object_get(json_object_get(body, "State"), "Running");
  const char *cid = json_string_value(json_object_get(body, "Id"));
  if (err || status != 200 || cid == NULL || group == NULL || holder_group == NULL || strcmp(group, holder_group) != 0 ||
      !json_is_false(running)) {
    ik_err_t f = op->fail;
    return op_finish(op, NULL, &f);
  }
  char *path = ik_sprintf("/containers/%s?force=1&v=1", cid);
  op_call(op, "DELETE", path, NULL, 0, on_name_freed);
  ik_free(path);
}

static void on_created(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  const char *cid = json_string_value(json_object_get(body, "Id"));
  if (!err && status == 404 && !op->pulled) return prov_pull(op);
  if (!err && status == 409 && op->name && !op->cleared) {
    op->cleared = true;
    ik__docker_fail(op->dp, &op->fail, op->what, status, body, raw, NULL);
    char *path = ik_sprintf("/containers/%s/json", op->name);
    op_call(op, "GET", path, NULL, 0, on_name_holder);
    ik_free(path);
    return;
  }
  if (err || status != 201 || cid == NULL || strlen(cid) < IK_DOCKER_ID_LEN)
    return op_fail(op, op->what, status, body, raw, err);
  op->cid = ik_strdup(cid);
  memcpy(op->id, cid, IK_DOCKER_ID_LEN);
  json_t *warnings = json_object_get(body, "Warnings");
  if (json_array_size(warnings) > 0) {
    char *w = json_dumps(warnings, JSON_COMPACT);
    ik_log(IK_LOG_WARN, "instance-docker", "the engine warns", "id", op->id, "warnings", w, NULL);
    free(w);
  }
  prov_attach(op);
}

static void prov_create(op_t *op) {
  ik_buf_t path = {0};
  ik_buf_puts(&path, "/containers/create");
  if (op->name) {
    ik_buf_puts(&path, "?name=");
    ik_go_query_escape(&path, op->name);
  }
  op_call(op, "POST", path.data, json_incref(op->create), 0, on_created);
  ik_buf_free(&path);
}

/* The create body: Config with its Labels = Config.Labels + spec tags +
 * Tags, and HostConfig. */
static json_t *create_body(const json_t *spec, const json_t *props) {
  json_t *body = json_deep_copy(ik_json_get(props, "Config"));
  json_t *labels = json_object();
  const char *k;
  json_t *v;
  void *it;
  json_object_foreach_safe(body, it, k, v) { /* any spelling of Labels: Go matches keys ignoring case */
    if (strcasecmp(k, "Labels") != 0) continue;
    if (json_is_object(v)) json_object_update(labels, v);
    json_object_del(body, k);
  }
  json_t *spec_tags = ik_json_get(spec, "Tags");
  if (json_is_object(spec_tags)) json_object_update(labels, spec_tags);
  json_t *tags = ik_json_get(props, "Tags");
  if (json_is_object(tags)) json_object_update(labels, tags);
  json_object_set_new(body, "Labels", labels);
  json_t *host = ik_json_get(props, "HostConfig");
  if (host) json_object_set(body, "HostConfig", host);
  return body;
}

/* --- the vtable ----------------------------------------------------------- */

/* 0, or why no call can be made: the plugin is closing, or $DOCKER_HOST
 * names an engine the driver cannot reach (kept from the start, so a
 * daemon with such a variable still serves its other plugins). */
static int check_usable(const ik_docker_t *dp, ik_err_t *err) {
  if (dp->freed) return ik_err_set(err, IK_ESTATE, "instance-docker: the plugin is closing");
  if (dp->base_url == NULL) return ik_err_set(err, dp->host_err.code, "%s", dp->host_err.msg);
  return 0;
}

static int dk_validate(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_docker_t *dp = self;
  int rc = check_properties(properties, err);
  if (rc < 0) return rc;
  return ik_loop_complete(dp->loop, cb, data, json_null(), NULL);
}

static int dk_provision(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_docker_t *dp = self;
  json_t *props = ik_json_get(spec, "Properties");
  int rc = check_properties(props, err);
  if (rc < 0) return rc;
  json_t *tags = NULL;
  if ((rc = ik_go_string_map(ik_json_get(spec, "Tags"), "Spec.Tags", &tags, err)) < 0) return rc;
  json_decref(tags);
  json_t *lid = ik_json_get(spec, "LogicalID");
  if (lid && (!json_is_string(lid) || !valid_name(json_string_value(lid))))
    return ik_json_want(err, "Spec.LogicalID",
                        "a container name: 2 to 128 of [a-zA-Z0-9_.-], starting with a letter or digit", lid, true);
  json_t *init = ik_json_get(spec, "Init");
  if (init && !json_is_string(init)) return ik_json_want(err, "Spec.Init", "a string (a shell script)", init, false);
  if ((rc = check_usable(dp, err)) < 0) return rc;

  op_t *op = op_new(dp, cb, data);
  op->name = lid ? ik_strdup(json_string_value(lid)) : NULL;
  op->image = ik_strdup(json_string_value(ik_json_get(ik_json_get(props, "Config"), "Image")));
  op->init = init && json_string_length(init) > 0 ? ik_strdup(json_string_value(init)) : NULL;
  op->create = create_body(spec, props);
  json_t *atts = ik_json_get(props, "NetworkAttachments");
  op->attachments = atts ? json_incref(atts) : json_array();
  op->what = op->name ? ik_sprintf("create container %s", op->name) : ik_sprintf("create a container of %s", op->image);
  prov_create(op);
  return op_begun(op, err);
}

static void on_removed(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  /* 404: removed meanwhile (AutoRemove, or by hand): gone is what was asked. */
  if (err || (status != 204 && status != 404)) return op_fail(op, op->what, status, body, raw, err);
  ik__docker_labels_forget(op->dp, op->id);
  op_finish(op, json_null(), NULL);
}

static void on_stopped(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (err || (status != 204 && status != 304)) return op_fail(op, op->what, status, body, raw, err);
  ik_free(op->what);
  op->what = ik_sprintf("remove container %s", op->cid);
  char *path = ik_sprintf("/containers/%s?force=1&v=1", op->cid);
  op_call(op, "DELETE", path, NULL, 0, on_removed);
  ik_free(path);
}

static int dk_destroy(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_docker_t *dp = self;
  int rc = check_id(id, err);
  if (rc < 0) return rc;
  if ((rc = check_usable(dp, err)) < 0) return rc;
  op_t *op = op_new(dp, cb, data);
  op->cid = ik_strdup(id);
  snprintf(op->id, sizeof op->id, "%.12s", id);
  op->what = ik_sprintf("stop container %s", id);
  char *path = ik_sprintf("/containers/%s/stop?t=%llu", id, (unsigned long long)dp->stop_grace_s);
  /* The engine answers once the container stopped: up to the grace period. */
  op_call(op, "POST", path, NULL, dp->stop_grace_s * 1000 + 30000, on_stopped);
  ik_free(path);
  return op_begun(op, err);
}

static void on_listed(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  if (err || status != 200 || !json_is_array(body)) return op_fail(op, "list containers", status, body, raw, err);
  json_t *out = json_array();
  size_t i;
  json_t *c;
  json_array_foreach(body, i, c) {
    const char *cid = json_string_value(json_object_get(c, "Id"));
    if (cid == NULL || strlen(cid) < IK_DOCKER_ID_LEN) continue;
    char id[IK_DOCKER_ID_LEN + 1];
    snprintf(id, sizeof id, "%.12s", cid);
    json_t *labels = json_object_get(c, "Labels");
    json_t *tags = json_is_object(labels) ? json_deep_copy(labels) : json_object();
    ik__docker_labels_merge(op->dp, id, tags);
    if (op->want && !ik_instance_tags_match(tags, op->want)) {
      json_decref(tags);
      continue;
    }
    const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
    if (name && name[0] == '/') name++;
    json_t *desc = json_pack("{s:s, s:s?, s:o}", "ID", id, "LogicalID", name, "Tags", tags);
    if (json_object_get(desc, "LogicalID") == NULL) json_object_set_new(desc, "LogicalID", json_null());
    if (op->properties) json_object_set(desc, "Properties", c); /* the engine's summary of the container */
    json_array_append_new(out, desc);
  }
  op_finish(op, out, NULL);
}

static int dk_describe(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_docker_t *dp = self;
  if (tags && !json_is_object(tags)) return ik_json_want(err, "Tags", "an object of strings", tags, false);
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) {
    if (!json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Tags.%s: want a string", k);
  }
  int rc = check_usable(dp, err);
  if (rc < 0) return rc;
  /* The engine filters on the labels it has; a tag Label added (kept by
   * the driver) is checked here, after merging. Created and running:
   * InfraKit's filter, so instances still starting count. */
  json_t *labels = json_array();
  json_object_foreach(tags, k, v) {
    if (ik__docker_labels_use_key(dp, k)) continue;
    char *kv = ik_sprintf("%s=%s", k, json_string_value(v));
    json_array_append_new(labels, json_string(kv));
    ik_free(kv);
  }
  json_t *filters = json_pack("{s:[s,s]}", "status", "created", "running");
  if (json_array_size(labels) > 0) json_object_set(filters, "label", labels);
  json_decref(labels);
  ik_buf_t path = {0};
  ik_buf_puts(&path, "/containers/json?all=1&filters=");
  ik__docker_filters(&path, filters);
  json_decref(filters);
  op_t *op = op_new(dp, cb, data);
  op->want = tags ? json_incref(tags) : NULL;
  op->properties = properties;
  op_call(op, "GET", path.data, NULL, 0, on_listed);
  ik_buf_free(&path);
  return op_begun(op, err);
}

static void on_inspected_for_label(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data) {
  op_t *op = data;
  const char *cid = json_string_value(json_object_get(body, "Id"));
  if (err || status != 200 || cid == NULL || strlen(cid) < IK_DOCKER_ID_LEN)
    return op_fail(op, op->what, status, body, raw, err);
  char id[IK_DOCKER_ID_LEN + 1];
  snprintf(id, sizeof id, "%.12s", cid);
  ik_err_t e = {0};
  if (ik__docker_labels_add(op->dp, id, op->labels, &e) < 0) return op_finish(op, NULL, &e);
  op_finish(op, json_null(), NULL);
}

static int dk_label(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_docker_t *dp = self;
  int rc = check_id(id, err);
  if (rc < 0) return rc;
  json_t *checked = NULL;
  if ((rc = ik_go_string_map(labels, "Labels", &checked, err)) < 0) return rc;
  if ((rc = check_usable(dp, err)) < 0) {
    json_decref(checked);
    return rc;
  }
  op_t *op = op_new(dp, cb, data);
  op->labels = checked ? checked : json_object();
  op->what = ik_sprintf("label container %s", id);
  char *path = ik_sprintf("/containers/%s/json", id);
  op_call(op, "GET", path, NULL, 0, on_inspected_for_label);
  ik_free(path);
  return op_begun(op, err);
}

static int dk_watch(void *self, ik_instance_event_cb cb, void *data, ik_err_t *err) {
  ik_docker_t *dp = self;
  int token = ik_watchers_add(&dp->watchers, cb, data);
  ik__docker_events_update(dp);
  return token;
}

static void dk_unwatch(void *self, int token) {
  ik_docker_t *dp = self;
  ik_watchers_remove(&dp->watchers, token);
  ik__docker_events_update(dp);
}

static void dk_free(void *self) {
  ik_docker_t *dp = self;
  if (dp == NULL) return;
  dp->freed = true;
  ik_watchers_free(&dp->watchers);
  ik__docker_events_update(dp);
  ik_http_client_free(dp->http); /* calls in flight end with IK_ECANCELED */
  ik__docker_unref(dp);
}

static const ik_instance_vtable_t docker_vtable = {
    .kind = "docker",
    .validate = dk_validate,
    .provision = dk_provision,
    .label = dk_label,
    .destroy = dk_destroy,
    .describe = dk_describe,
    .free = dk_free,
    .watch = dk_watch,
    .unwatch = dk_unwatch,
};

int ik_docker_provider_new(ik_loop_t *loop, const ik_docker_opts_t *opts, ik_instance_plugin_t *out, ik_err_t *err) {
  const char *host = opts->host;
  bool from_env = false;
  if (host == NULL || host[0] == '\0') host = getenv("DOCKER_HOST"), from_env = true;
  if (host == NULL || host[0] == '\0') host = IK_DOCKER_DEFAULT_HOST, from_env = false;
  if (opts->dir == NULL) return ik_err_set(err, IK_EINVAL, "instance-docker: no state directory");
  if (mkdir(opts->dir, 0700) < 0 && errno != EEXIST)
    return ik_err_set(err, IK_EIO, "instance-docker: create %s: %s", opts->dir, strerror(errno));
  ik_docker_t *dp = IK_NEW(ik_docker_t);
  dp->refs = 1;
  dp->loop = loop;
  dp->dir = ik_strdup(opts->dir);
  dp->labels_path = ik_sprintf("%s/labels.json", opts->dir);
  uint64_t grace_ms = opts->stop_grace_ms ? opts->stop_grace_ms : 5000;
  dp->stop_grace_s = (grace_ms + 999) / 1000;
  dp->events_label = ik_strdup(opts->events_label ? opts->events_label : "infrakit.group");
  int rc = ik__docker_set_host(dp, host, from_env ? &dp->host_err : err);
  if (rc < 0 && from_env) { /* every call says so; the daemon still starts */
    size_t n = strlen(dp->host_err.msg);
    snprintf(dp->host_err.msg + n, sizeof dp->host_err.msg - n, " (from $DOCKER_HOST; or give --docker-host)");
    ik_log(IK_LOG_WARN, "instance-docker", "cannot use $DOCKER_HOST", "error", dp->host_err.msg, NULL);
    rc = 0;
  }
  if (rc == 0) rc = ik__docker_labels_load(dp, err); /* the HTTP client waits for the first call */
  if (rc < 0) {
    ik__docker_unref(dp);
    return rc;
  }
  out->vt = &docker_vtable;
  out->self = dp;
  return 0;
}
