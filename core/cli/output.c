/* What commands print for scripts (cli.h). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

void ik_cli_print_json(const json_t *v) {
  char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
  puts(s ? s : "null");
  free(s);
}
