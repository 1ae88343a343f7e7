#include "base/err.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

int ik_err_setv(ik_err_t *err, int code, const char *fmt, va_list ap) {
  if (err == NULL) return code;
  err->code = code;
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  /* Messages are one line: a newline would break key=value logs. */
  for (char *p = err->msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  return code;
}

int ik_err_set(ik_err_t *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ik_err_setv(err, code, fmt, ap);
  va_end(ap);
  return code;
}

int ik_err_uv(ik_err_t *err, int code, const char *prefix) {
  return ik_err_set(err, code, "%s: %s", prefix, ik_strerror(code));
}

void ik_err_clear(ik_err_t *err) {
  if (err == NULL) return;
  err->code = 0;
  err->msg[0] = '\0';
}

static const struct {
  int code;
  const char *name;
  const char *text;
} ik_codes[] = {
    {IK_EINVAL, "EINVAL", "invalid argument"},
    {IK_ETIMEDOUT, "ETIMEDOUT", "timed out"},
    {IK_ECANCELED, "ECANCELED", "cancelled"},
    {IK_ELUA, "ELUA", "Lua error"},
    {IK_ENOTFOUND, "ENOTFOUND", "not found"},
    {IK_EEXIST, "EEXIST", "already exists"},
    {IK_ESTATE, "ESTATE", "invalid state"},
    {IK_EIO, "EIO", "i/o error"},
    {IK_EDRIVER, "EDRIVER", "driver error"},
    {IK_EUSAGE, "EUSAGE", "usage error"},
    {IK_ENOTLEADER, "ENOTLEADER", "not the leader"},
};

const char *ik_err_name(int code) {
  if (code == 0) return "OK";
  for (size_t i = 0; i < sizeof ik_codes / sizeof ik_codes[0]; i++)
    if (ik_codes[i].code == code) return ik_codes[i].name;
  if (code < 0 && code > -5000) return uv_err_name(code);
  return "EUNKNOWN";
}

const char *ik_strerror(int code) {
  if (code == 0) return "success";
  for (size_t i = 0; i < sizeof ik_codes / sizeof ik_codes[0]; i++)
    if (ik_codes[i].code == code) return ik_codes[i].text;
  if (code < 0 && code > -5000) return uv_strerror(code);
  return "unknown error";
}
