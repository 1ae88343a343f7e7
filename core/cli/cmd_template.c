/* infrakit template FILE|URL [--var K=V]... [--json-context FILE]: render
 * one of InfraKit's templates to stdout. The command line is parsed here,
 * with ik_optparse like every command; the rendering is Lua's
 * (lua/infrakit/template/_cli.lua run(opts)), handed the parsed options. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static int template_run(int argc, char **argv) {
  const ik_cli_cmd_t *cmd = &ik_cmd_template;
  static const ik_opt_t opts[] = {{"var", 0, true},
                                  {"json-context", 0, true},
                                  {"missing-key", 0, true},
                                  {"delims", 0, true},
                                  {NULL, 0, false}};
  json_t *o = json_object(), *vars = json_object();
  json_object_set_new(o, "vars", vars);
  const char *source = NULL, *context = NULL;
  int code = IK_EXIT_USAGE;
  ik_optparse_t p;
  ik_opt_init(&p, cmd, argc, argv);
  /* Options may follow the template: parse, take one positional, go on. */
  for (;;) {
    int opt = ik_opt_next(&p, opts);
    if (opt == IK_OPT_HELP) {
      code = IK_EXIT_OK;
      goto done;
    }
    if (opt == IK_OPT_ERROR) goto done;
    if (opt == IK_OPT_END) {
      if (p.index >= argc) break;
      if (source) {
        ik_cli_usage_error(cmd, "unexpected argument \"%s\"", argv[p.index]);
        goto done;
      }
      source = argv[p.index++];
      continue;
    }
    const char *eq;
    switch (opt) {
    case 0: /* --var */
      eq = strchr(p.arg, '=');
      if (eq == NULL || eq == p.arg) {
        ik_cli_usage_error(cmd, "--var \"%s\": expected NAME=VALUE", p.arg);
        goto done;
      }
      json_object_setn_new(vars, p.arg, (size_t)(eq - p.arg), json_string(eq + 1));
      break;
    case 1: /* --json-context */
      context = p.arg;
      break;
    case 2: /* --missing-key */
      if (strcmp(p.arg, "error") != 0 && strcmp(p.arg, "default") != 0) {
        ik_cli_usage_error(cmd, "--missing-key must be \"error\" or \"default\"");
        goto done;
      }
      json_object_set_new(o, "missing_key", json_string(p.arg));
      break;
    case 3: { /* --delims */
      const char *comma = strchr(p.arg, ',');
      if (comma == NULL || comma == p.arg || comma[1] == '\0' || strchr(comma + 1, ',')) {
        ik_cli_usage_error(cmd, "--delims needs LEFT,RIGHT");
        goto done;
      }
      json_object_set_new(o, "delims", json_pack("[s%, s]", p.arg, (size_t)(comma - p.arg), comma + 1));
      break;
    }
    default:
      abort();
    }
  }
  if (source == NULL) {
    ik_cli_usage_error(cmd, "missing the template FILE or URL");
    goto done;
  }
  if (context && strcmp(source, "-") == 0 && strcmp(context, "-") == 0) {
    ik_cli_usage_error(cmd, "the template and the context cannot both come from stdin");
    goto done;
  }
  json_object_set_new(o, "source", json_string(source));
  if (context) json_object_set_new(o, "json_context", json_string(context));
  code = ik_cli_run_lua_opts("template", "require('infrakit.template._cli').run", o, 0, NULL);
done:
  json_decref(o);
  return code;
}

const ik_cli_cmd_t ik_cmd_template = {
    .name = "template",
    .summary = "Render an InfraKit template (Go text/template dialect) to stdout",
    .usage = "infrakit template [options] FILE|URL|-",
    .help = "Render a template to stdout: InfraKit's template dialect (Go text/template\n"
            "syntax) with InfraKit's functions (include, source, fetch, var, q,\n"
            "jsonEncode, yamlDecode, ...) and the common Sprig ones (default, split,\n"
            "dict, toJson, ...); see docs/lua-api.md#infrakittemplate.\n\n"
            "FILE is a path (relative includes resolve against its directory); URL is\n"
            "file://, http://, https://, unix://PLUGIN/path or str://TEXT (the text\n"
            "itself); - reads the template from stdin. A path or URL ending in .lua is a\n"
            "Lua template: a chunk returning function(context, funcs) -> string.\n\n"
            "Options:\n"
            "  --var NAME=VALUE        set a template global, read with {{ var \"NAME\" }};\n"
            "                          repeat for more. Integers, true and false are\n"
            "                          typed; anything else is a string\n"
            "  --json-context FILE     the template's context (its \".\") from a JSON file;\n"
            "                          - reads stdin. Without it the context is empty\n"
            "  --missing-key error     a missing map key is an error instead of\n"
            "                          rendering \"<no value>\"\n"
            "  --delims LEFT,RIGHT     action delimiters instead of {{ and }}\n\n"
            "Exit status: 0 rendered, 1 the template or its sources failed, 2 bad usage.\n\n"
            "Examples:\n"
            "  infrakit template init.sh.tpl --var cluster=prod --var size=3\n"
            "  infrakit template https://example.com/init.tpl --json-context spec.json\n"
            "  infrakit template 'str://{{ now | htmlDate }} {{ env \"USER\" | upper }}'\n",
    .run = template_run,
};
