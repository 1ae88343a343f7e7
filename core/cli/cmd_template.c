/* infrakit template FILE|URL [--var K=V]... [--json-context FILE]: render
 * one of InfraKit's templates to stdout. The work is Lua's
 * (lua/infrakit/template/cli.lua); this file gives it a command and help. */
#include <string.h>

#include "cli/cli.h"

static int ik__template_run(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      ik_cli_print_help(&ik_cmd_template);
      return IK_EXIT_OK;
    }
  }
  return ik_cli_run_lua("template", "return require('infrakit.template.cli').main({...})", NULL, argc - 1, argv + 1);
}

const ik_cli_cmd_t ik_cmd_template = {
    .name = "template",
    .summary = "Render an InfraKit template (Go text/template dialect) to stdout",
    .usage = "infrakit template [--var K=V]... [--json-context FILE] FILE|URL",
    .help = "FILE|URL is a path, file://, http(s):// or str://TEXT. Templates use Go's\n"
            "text/template syntax with InfraKit's functions (include, source, fetch, var,\n"
            "q, jsonEncode, yamlDecode, ...) and the common Sprig ones; see\n"
            "docs/lua-api.md#infrakittemplate.\n\n"
            "Options:\n"
            "  --var K=V              set variable K (read with {{ var \"K\" }}); repeat for more\n"
            "  --json-context FILE    the template's dot (.) from a JSON file (- = stdin)\n\n"
            "Exit status: 0, 1 when the template fails (the message names the template,\n"
            "line and column), 2 for a misused command line.\n\n"
            "Example:\n"
            "  infrakit template --var name=web 'str://hello {{ var \"name\" }}'\n",
    .run = ik__template_run,
};
