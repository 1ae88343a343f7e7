/* infrakit help [COMMAND] */
#include <stdio.h>

#include "cli/cli.h"

static int ik__help_run(int argc, char **argv) {
  ik_optparse_t p;
  static const ik_opt_t opts[] = {{NULL, 0, false}};
  ik_opt_init(&p, &ik_cmd_help, argc, argv);
  int o = ik_opt_next(&p, opts);
  if (o == IK_OPT_HELP) return IK_EXIT_OK;
  if (o == IK_OPT_ERROR) return IK_EXIT_USAGE;
  if (p.index < argc) {
    const ik_cli_cmd_t *cmd = ik_cli_find(argv[p.index]);
    if (cmd == NULL) {
      const char *names[32];
      size_t n = 0;
      for (size_t k = 0; ik_cli_commands[k] && n < 32; k++) names[n++] = ik_cli_commands[k]->name;
      const char *guess = ik_cli_suggest(argv[p.index], names, n);
      if (guess) return ik_cli_usage_error(&ik_cmd_help, "unknown command \"%s\" (did you mean \"%s\"?)", argv[p.index], guess);
      return ik_cli_usage_error(&ik_cmd_help, "unknown command \"%s\"", argv[p.index]);
    }
    ik_cli_print_help(cmd);
    return IK_EXIT_OK;
  }
  printf("infrakit: declarative, self-healing infrastructure (InfraKit-compatible)\n\n"
         "Usage: infrakit [global options] <command> [options] [args]\n\n"
         "Commands:\n");
  for (size_t k = 0; ik_cli_commands[k]; k++)
    printf("  %-10s %s\n", ik_cli_commands[k]->name, ik_cli_commands[k]->summary);
  printf("\nGlobal options:\n"
         "  --log-level LEVEL     debug, info, warn, error or off (env INFRAKIT_LOG_LEVEL)\n"
         "  --log-file PATH       append logs to PATH instead of stderr\n"
         "  --log-format FORMAT   kv (default) or json (env INFRAKIT_LOG_FORMAT)\n"
         "  --lua-timeout SECS    watchdog limit for Lua code that does not yield (default 30)\n"
         "  --version             same as 'infrakit version'\n"
         "\nRun 'infrakit <command> --help' for the options of a command.\n"
         "Docs: README.md and docs/ in the source tree.\n");
  return IK_EXIT_OK;
}

const ik_cli_cmd_t ik_cmd_help = {
  .name = "help",
  .summary = "Show the commands, or the help of one command",
  .usage = "infrakit help [COMMAND]",
  .help = "Examples:\n"
          "  infrakit help\n"
          "  infrakit help lua\n",
  .run = ik__help_run,
};
