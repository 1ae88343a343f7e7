/* infrakit help [COMMAND] | --man | --completion bash|zsh
 *
 * The man page and the shell completions are generated from the command
 * table (commands.c) and the help texts, at build time (Makefile), so
 * they cannot drift from `--help`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* Every environment variable the binary reads (getenv in core/ and
 * providers/, os.getenv in lua/), one line each. */
static const struct {
  const char *name, *text;
} env_help[] = {
    {"INFRAKIT_HOME", "state directory: plugins/, configs/, playbooks/, logs/ (default ~/.infrakit)"},
    {"INFRAKIT_PLUGINS_DIR", "where plugin sockets live (default $INFRAKIT_HOME/plugins)"},
    {"INFRAKIT_LOG_LEVEL", "debug, info, warn, error or off (as --log-level; default info)"},
    {"INFRAKIT_LOG_FORMAT", "kv or json (as --log-format)"},
    {"INFRAKIT_LUA_TIMEOUT", "watchdog seconds for Lua code that does not yield (as --lua-timeout)"},
    {"INFRAKIT_CLIENT_TIMEOUT", "timeout of a call to a plugin, a Go duration (default 15s)"},
    {"INFRAKIT_TLS_CERT", "client certificate (PEM) for a plugin reached over TLS (https://, tcp+tls://)"},
    {"INFRAKIT_TLS_KEY", "its private key (PEM)"},
    {"INFRAKIT_TLS_CA", "CA file the plugin's server certificate must chain to (docs/security.md)"},
    {"INFRAKIT_TEMPLATE_ENV", "variables a spec's template may read in the daemon (as --template-env)"},
    {"INFRAKIT_TEMPLATE_DIR", "directories a spec's template may read, colon-separated (as --template-dir)"},
    {"INFRAKIT_TEMPLATE_SCHEMES", "URL schemes a spec's template may fetch (as --template-schemes)"},
    {"INFRAKIT_GROUP_SELF_LOGICAL_ID", "logical ID of the instance the daemon runs on: destroyed last"},
    {"INFRAKIT_GROUP_POLL_INTERVAL", "the group controller's resync interval (as daemon --poll; default 5s)"},
    {"INFRAKIT_MAX_GROUP_SIZE", "most instances per group (default 10000; daemon --max-group-size)"},
    {"DOCKER_HOST", "engine of instance-docker (as daemon --docker-host; docs/docker.md)"},
    {"INFRAKIT_QEMU_DIR", "instance-qemu's VM state directories (as daemon --qemu-dir; default $INFRAKIT_HOME/instance-qemu)"},
    {"INFRAKIT_KERNEL_DIR", "the kernel infrakit.image builds VM images with (default build/kernel beside the binary: make deps)"},
    {"INFRAKIT_LUA_DIR", "load Lua modules and playbooks from this source lua/ first (development)"},
    {"LUA_PATH, LUA_CPATH", "more Lua module paths, searched after the built-in modules"},
    {"HOME", "the default INFRAKIT_HOME is $HOME/.infrakit"},
    {"http_proxy, https_proxy, all_proxy, no_proxy (NO_PROXY)", "proxies for HTTP(S) fetches (loopback never)"},
};

static void print_env(const char *indent) {
  for (size_t i = 0; i < sizeof env_help / sizeof env_help[0]; i++) {
    if (strlen(env_help[i].name) > 20) printf("%s%s\n%s%22s%s\n", indent, env_help[i].name, indent, "", env_help[i].text);
    else printf("%s%-22s%s\n", indent, env_help[i].name, env_help[i].text);
  }
}

/* The subcommands of cmd, from its usage line: "infrakit group a|b|c ..."
 * or "infrakit playbook add NAME | ls | rm NAME". Writes at most max
 * names (pointers into buf) and returns how many. */
static size_t subcommands(const ik_cli_cmd_t *cmd, char *buf, size_t len, const char **names, size_t max) {
  snprintf(buf, len, "%s", cmd->usage);
  char *nl = strchr(buf, '\n');
  if (nl) *nl = '\0';
  size_t skip = strlen("infrakit ") + strlen(cmd->name);
  if (strncmp(buf, "infrakit ", 9) != 0 || strlen(buf) <= skip || buf[skip] != ' ') return 0;
  char *rest = buf + skip + 1, *save = NULL;
  size_t n = 0;
  if (strstr(rest, " | ")) { /* alternatives: the first word of each */
    for (char *alt = rest; alt && n < max;) {
      char *next = strstr(alt, " | ");
      if (next) *next = '\0';
      char *sp = strchr(alt, ' ');
      if (sp) *sp = '\0';
      names[n++] = alt;
      alt = next ? next + 3 : NULL;
    }
    return n;
  }
  char *first = strtok_r(rest, " ", &save);
  if (first == NULL || strchr(first, '|') == NULL || strspn(first, "abcdefghijklmnopqrstuvwxyz|") != strlen(first))
    return 0;
  for (char *w = strtok_r(first, "|", &save); w && n < max; w = strtok_r(NULL, "|", &save)) names[n++] = w;
  return n;
}

/* Text for roff: escape backslashes, and guard a leading '.' or '\''. */
static void roff(const char *s) {
  bool bol = true;
  for (; *s; s++) {
    if (bol && (*s == '.' || *s == '\'')) fputs("\\&", stdout);
    if (*s == '\\') fputs("\\e", stdout);
    else if (*s == '-') fputs("\\-", stdout);
    else putchar(*s);
    bol = *s == '\n';
  }
}

static void print_man(void) {
  printf(".TH INFRAKIT 1 \"\" \"infrakit\" \"User Commands\"\n"
         ".SH NAME\ninfrakit \\- declarative, self\\-healing infrastructure (InfraKit\\-compatible)\n"
         ".SH SYNOPSIS\n.B infrakit\n[global options]\n.I command\n[options] [args]\n"
         ".SH DESCRIPTION\nA toolkit for declarative, self\\-healing infrastructure: a daemon hosts\n"
         "the group controller, instance drivers and Lua flavors; the commands below\n"
         "talk to it, run playbooks and render templates.\n"
         "The Lua modules and the built\\-in playbooks are compiled into the binary.\n"
         ".SH COMMANDS\n");
  for (size_t k = 0; ik_cli_commands[k]; k++) {
    const ik_cli_cmd_t *c = ik_cli_commands[k];
    printf(".SS infrakit %s\n", c->name);
    roff(c->summary);
    printf("\n.PP\n.nf\n");
    roff("Usage: ");
    roff(c->usage);
    printf("\n");
    if (c->help && *c->help) {
      printf("\n");
      roff(c->help);
    }
    printf(".fi\n");
  }
  printf(".SH GLOBAL OPTIONS\n");
  static const char *const g[][2] = {
      {"\\-\\-log\\-level LEVEL", "debug, info, warn, error or off (env INFRAKIT_LOG_LEVEL; default info)"},
      {"\\-\\-log\\-file PATH", "append logs to PATH instead of stderr"},
      {"\\-\\-log\\-format FORMAT", "kv (key=value, default) or json (env INFRAKIT_LOG_FORMAT)"},
      {"\\-\\-lua\\-timeout SECS", "watchdog limit for Lua code that does not yield (env INFRAKIT_LUA_TIMEOUT; default 30)"},
      {"\\-h, \\-\\-help", "show the help of a command"},
  };
  for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) printf(".TP\n.B %s\n%s\n", g[i][0], g[i][1]);
  printf(".SH ENVIRONMENT\n");
  for (size_t i = 0; i < sizeof env_help / sizeof env_help[0]; i++) {
    printf(".TP\n.B %s\n", env_help[i].name);
    roff(env_help[i].text);
    printf("\n");
  }
  printf(".SH FILES\n.TP\n.B ~/.infrakit\nthe default INFRAKIT_HOME: plugins/ (sockets), configs/ (committed specs),\n"
         "playbooks/ (registry and cache), flavors/ and providers/ (Lua plugins), logs/\n"
         ".SH EXIT STATUS\n0 success, 1 failure, 2 usage error, 128+N killed by signal N.\n"
         ".SH SEE ALSO\nREADME.md and docs/ in the source tree.\n");
}

/* The command names, space-separated. */
static void print_command_names(void) {
  for (size_t k = 0; ik_cli_commands[k]; k++) printf("%s%s", k ? " " : "", ik_cli_commands[k]->name);
}

/* One shell case line per command with subcommands: "      NAME) ", then
 * before, the subcommands space-separated, and after. */
static void print_subcommand_cases(const char *before, const char *after) {
  char buf[512];
  const char *subs[32];
  for (size_t k = 0; ik_cli_commands[k]; k++) {
    size_t n = subcommands(ik_cli_commands[k], buf, sizeof buf, subs, 32);
    if (n == 0) continue;
    printf("      %s) %s", ik_cli_commands[k]->name, before);
    for (size_t i = 0; i < n; i++) printf("%s%s", i ? " " : "", subs[i]);
    printf("%s", after);
  }
}

static void print_bash(void) {
  printf("# bash completion for infrakit (generated by 'infrakit help --completion bash')\n"
         "_infrakit() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}\n"
         "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
         "    COMPREPLY=($(compgen -W \"");
  print_command_names();
  printf(" --help --version\" -- \"$cur\"))\n    return\n  fi\n"
         "  if [ \"$COMP_CWORD\" -eq 2 ]; then\n    case $cmd in\n");
  print_subcommand_cases("COMPREPLY=($(compgen -W \"", " --help\" -- \"$cur\")); return ;;\n");
  printf("      help) COMPREPLY=($(compgen -W \"");
  print_command_names();
  printf("\" -- \"$cur\")); return ;;\n    esac\n  fi\n"
         "  COMPREPLY=($(compgen -f -- \"$cur\"))\n}\n"
         "complete -o filenames -F _infrakit infrakit\n");
}

static void zsh_quote(const char *s) {
  for (; *s; s++) {
    if (*s == '\'') fputs("'\\''", stdout);
    else if (*s == ':') fputs("\\:", stdout);
    else putchar(*s);
  }
}

static void print_zsh(void) {
  printf("#compdef infrakit\n# zsh completion for infrakit (generated by 'infrakit help --completion zsh')\n"
         "_infrakit() {\n"
         "  local -a commands\n  commands=(\n");
  for (size_t k = 0; ik_cli_commands[k]; k++) {
    printf("    '%s:", ik_cli_commands[k]->name);
    zsh_quote(ik_cli_commands[k]->summary);
    printf("'\n");
  }
  printf("  )\n  if (( CURRENT == 2 )); then\n    _describe -t commands 'infrakit command' commands\n    return\n  fi\n"
         "  if (( CURRENT == 3 )); then\n    case ${words[2]} in\n");
  print_subcommand_cases("compadd -- ", "; return ;;\n");
  printf("      help) _describe -t commands 'infrakit command' commands; return ;;\n"
         "    esac\n  fi\n  _files\n}\n_infrakit \"$@\"\n");
}

static int help_run(int argc, char **argv) {
  ik_optparse_t p;
  static const ik_opt_t opts[] = {{"man", 0, false}, {"completion", 0, true}, {NULL, 0, false}};
  ik_opt_init(&p, &ik_cmd_help, argc, argv);
  int o;
  while ((o = ik_opt_next(&p, opts)) != IK_OPT_END) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o == IK_OPT_ERROR) return IK_EXIT_USAGE;
    if (o == 0) {
      print_man();
      return IK_EXIT_OK;
    }
    if (strcmp(p.arg, "bash") == 0) print_bash();
    else if (strcmp(p.arg, "zsh") == 0) print_zsh();
    else return ik_cli_usage_error(&ik_cmd_help, "--completion: \"%s\" is not bash or zsh", p.arg);
    return IK_EXIT_OK;
  }
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
         "  --sandbox-timeout SECS  run-time limit of Lua from a spec or template (default 5)\n"
         "  --sandbox-memory MIB  memory budget of Lua from a spec or template (default 256)\n"
         "  --version             same as 'infrakit version'\n"
         "\nEnvironment:\n");
  print_env("  ");
  printf("\nRun 'infrakit <command> --help' for the options of a command; 'man infrakit'\n"
         "when installed. Docs: README.md and docs/ in the source tree.\n");
  return IK_EXIT_OK;
}

const ik_cli_cmd_t ik_cmd_help = {
    .name = "help",
    .summary = "Show the commands, or the help of one command",
    .usage = "infrakit help [COMMAND]\n"
             "       infrakit help --man | --completion bash|zsh",
    .help = "Lists the commands, global options and environment variables, or shows\n"
            "the help of one command (same as 'infrakit COMMAND --help').\n\n"
            "Options:\n"
            "  --man               print the man page (roff), generated from the help texts\n"
            "  --completion SHELL  print the completion script for bash or zsh\n\n"
            "Examples:\n"
            "  infrakit help\n"
            "  infrakit help lua\n"
            "  infrakit help --completion bash > /etc/bash_completion.d/infrakit\n",
    .run = help_run,
};
