/* What commands print for scripts (cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/redact.h"
#include "cli/cli.h"

void ik_cli_print_json(const json_t *v) {
  char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
  puts(s ? s : "null");
  free(s);
}

void ik_cli_veprintf(const char *fmt, va_list ap) {
  ik_buf_t text = {0}, scratch = {0};
  ik_buf_vprintf(&text, fmt, ap);
  fputs(ik_redact_buf(ik_buf_cstr(&text), &scratch), stderr);
  ik_buf_free(&text);
  ik_buf_free(&scratch);
}

void ik_cli_eprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ik_cli_veprintf(fmt, ap);
  va_end(ap);
}

int ik_cli_fail(const ik_cli_cmd_t *cmd, const char *fmt, ...) {
  ik_buf_t msg = {0};
  va_list ap;
  va_start(ap, fmt);
  ik_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  /* One call, so the redactor sees the whole line. */
  ik_cli_eprintf("infrakit %s: %s\n", cmd->name, ik_buf_cstr(&msg));
  ik_buf_free(&msg);
  return IK_EXIT_FAIL;
}
