/* Loop, HTTP client and waiting for the CLI's client commands (remote.h). */
#include "cli/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/redact.h"
#include "engine/group_spec.h"
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
