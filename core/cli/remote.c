/* Loop, HTTP client and waiting for the CLI's client commands (remote.h). */
#include "cli/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/redact.h"
#include "engine/group_spec.h"
#include "net/client/remote.h"
#include "net/discovery.h"

int ik_cli_remote_open(ik_cli_remote_t *r, ik_err_t *err) {
  memset(r, 0, sizeof *r);
  int rc = ik_plugins_dir(r->dir, sizeof r->dir, err);
  if (rc < 0) return rc;
  if ((rc = ik_loop_init(&r->loop, err)) < 0) return rc;
  if ((rc = ik_http_client_new(&r->loop, &r->http, err)) < 0) {
    ik_loop_close(&r->loop, NULL);
    return rc;
  }
  return 0;
}

void ik_cli_remote_close(ik_cli_remote_t *r) {
  ik_http_client_free(r->http);
  r->http = NULL;
  ik_loop_run(&r->loop);
  ik_loop_close(&r->loop, NULL);
}

void ik_cli_result_cb(json_t *result, const ik_err_t *err, void *data) {
  ik_cli_result_t *res = data;
  res->done++;
  if (err) res->err = *err;
  else res->result = json_incref(result);
}

void ik_cli_result_clear(ik_cli_result_t *res) {
  json_decref(res->result);
  memset(res, 0, sizeof *res);
}

void ik_cli_remote_wait(ik_cli_remote_t *r, const int *count, int want) {
  /* Every call has a timeout (the HTTP client's), so this ends. */
  while (*count < want && uv_run(&r->loop.uv, UV_RUN_ONCE)) {
  }
}

int ik_cli_common_next(ik_optparse_t *p, const ik_opt_t *opts, ik_cli_common_t *c) {
  int o = ik_opt_next(p, opts);
  if (o == IK_CLI_OPT_PLUGIN) c->plugin = p->arg;
  if (o == IK_CLI_OPT_JSON) c->json = true;
  return o;
}

int ik_cli_common_parse(const ik_cli_cmd_t *cmd, int argc, char **argv, ik_cli_common_t *c, ik_optparse_t *p) {
  static const ik_opt_t opts[] = {IK_CLI_COMMON_OPTS, {NULL, 0, false}};
  ik_opt_init(p, cmd, argc, argv);
  for (int o; (o = ik_cli_common_next(p, opts, c)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
  }
  return -1;
}

bool ik_cli_has_plugin(const ik_cli_cmd_t *cmd, const char *plugin) {
  if (plugin) return true;
  ik_cli_usage_error(cmd, "--plugin NAME is required (see 'infrakit plugin ls')");
  return false;
}

static int open_plugin(ik_cli_client_t *c, ik_err_t *err) {
  const char *name = c->target.name;
  switch (c->target.kind) {
  case IK_CLI_INSTANCE: return ik_remote_instance_open(c->r.http, c->r.dir, name, &c->pl.instance, err);
  case IK_CLI_FLAVOR: return ik_remote_flavor_open(c->r.http, c->r.dir, name, &c->pl.flavor, err);
  case IK_CLI_GROUP: return ik_remote_group_open(c->r.http, c->r.dir, name, &c->pl.group, err);
  default: abort();
  }
}

int ik_cli_client_open(ik_cli_client_t *c, const ik_cli_cmd_t *cmd, const ik_cli_target_t *t) {
  ik_err_t err = {0};
  memset(c, 0, sizeof *c);
  c->cmd = cmd;
  c->target = *t;
  if (ik_cli_remote_open(&c->r, &err) < 0) return ik_cli_fail(cmd, "%s", err.msg);
  if (open_plugin(c, &err) < 0) {
    ik_cli_remote_close(&c->r);
    return ik_cli_fail(cmd, "%s%s", err.msg, t->open_hint ? t->open_hint : "");
  }
  return IK_EXIT_OK;
}

void ik_cli_client_close(ik_cli_client_t *c) {
  switch (c->target.kind) {
  case IK_CLI_INSTANCE: c->pl.instance.vt->free(c->pl.instance.self); break;
  case IK_CLI_FLAVOR: c->pl.flavor.vt->free(c->pl.flavor.self); break;
  case IK_CLI_GROUP: c->pl.group.vt->free(c->pl.group.self); break;
  default: abort();
  }
  ik_cli_remote_close(&c->r);
}

int ik_cli_client_finish(ik_cli_client_t *c, int rc, ik_cli_result_t *res, ik_err_t *err) {
  if (rc == 0) {
    ik_cli_remote_wait(&c->r, &res->done, 1);
    if (res->err.code) *err = res->err, rc = res->err.code;
  }
  if (rc == 0) return IK_EXIT_OK;
  ik_cli_fail(c->cmd, "%s", err->msg);
  if (c->target.explain) c->target.explain(c->cmd, err->msg);
  return IK_EXIT_FAIL;
}

int ik_cli_client_call(const ik_cli_cmd_t *cmd, const ik_cli_target_t *t, ik_cli_start_fn start, void *arg,
                       ik_cli_result_t *res) {
  if (!ik_cli_has_plugin(cmd, t->name)) return IK_EXIT_USAGE;
  ik_cli_client_t c;
  int code = ik_cli_client_open(&c, cmd, t);
  if (code != IK_EXIT_OK) return code;
  ik_err_t err = {0};
  code = ik_cli_client_finish(&c, start(&c, arg, res, &err), res, &err);
  ik_cli_client_close(&c);
  return code;
}

json_t *ik_cli_read_json(const char *path, ik_err_t *err) {
  json_error_t jerr;
  bool from_stdin = strcmp(path, "-") == 0;
  json_t *doc = from_stdin ? json_loadf(stdin, JSON_DECODE_ANY, &jerr) : json_load_file(path, JSON_DECODE_ANY, &jerr);
  /* What this command may print next - an error repeating the spec - masks
   * the spec's secrets. */
  ik_redact_register_json(doc);
  if (doc == NULL) {
    const char *name = from_stdin ? "stdin" : path;
    if (jerr.line <= 0) ik_err_set(err, IK_EINVAL, "%s: %s", name, jerr.text);
    else ik_err_set(err, IK_EINVAL, "%s:%d:%d: invalid JSON: %s", name, jerr.line, ik_json_error_column(&jerr),
                    jerr.text);
  }
  return doc;
}

int ik_cli_max_group_size(uint64_t *out, ik_err_t *err) {
  const char *v = getenv("INFRAKIT_MAX_GROUP_SIZE");
  *out = IK_GROUP_MAX_SIZE_DEFAULT;
  if (v == NULL || *v == '\0') return 0;
  char *end;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end != '\0' || n == 0 || n > 100000000ULL || v[0] == '-')
    return ik_err_set(err, IK_EUSAGE, "INFRAKIT_MAX_GROUP_SIZE=%.40s: want a whole number from 1 to 100000000", v);
  *out = n;
  return 0;
}

json_t *ik_cli_read_group_spec(const char *path, ik_group_spec_t *spec, ik_err_t *err) {
  memset(spec, 0, sizeof *spec);
  json_t *doc = ik_cli_read_json(path, err);
  uint64_t max_size;
  if (doc == NULL || ik_cli_max_group_size(&max_size, err) < 0 ||
      ik_group_spec_parse_limited(doc, max_size, spec, err) < 0) {
    json_decref(doc);
    ik_group_spec_free(spec);
    return NULL;
  }
  return doc;
}
