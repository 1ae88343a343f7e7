/* infrakit: entry point. Global options, then a command. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

static char help_name[] = "help", version_name[] = "version";

int main(int argc, char **argv) {
  ik_err_t err = {0};
  if (ik_log_init_from_env(&err) < 0) {
    ik_cli_eprintf("infrakit: %s\n", err.msg);
    return IK_EXIT_USAGE;
  }

  /* Global options may come before the command. */
  int i = 1;
  while (i < argc && argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2] != '\0') {
    const char *name = argv[i] + 2;
    if (strcmp(name, "help") == 0) return ik_cmd_help.run(1, (char *[]){help_name, NULL});
    if (strcmp(name, "version") == 0) return ik_cmd_version.run(1, (char *[]){version_name, NULL});
    char gname[32];
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    snprintf(gname, sizeof gname, "%.*s", (int)(len < 31 ? len : 31), name);
    bool has_arg = false;
    if (len >= 31 || !ik_cli_is_global(gname, &has_arg))
      return ik_cli_usage_error(NULL, "unknown flag --%s", gname);
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (value == NULL) return ik_cli_usage_error(NULL, "flag --%s needs a value", gname);
    int rc = ik_cli_apply_global(NULL, gname, value);
    if (rc != 0) return rc;
    i++;
  }
  if (i >= argc) {
    ik_cmd_help.run(1, (char *[]){help_name, NULL});
    return IK_EXIT_USAGE;
  }
  if (strcmp(argv[i], "-h") == 0) return ik_cmd_help.run(1, (char *[]){help_name, NULL});

  const ik_cli_cmd_t *cmd = ik_cli_find(argv[i]);
  if (cmd == NULL) {
    const char *names[32];
    size_t n = 0;
    for (size_t k = 0; ik_cli_commands[k] && n < 32; k++) names[n++] = ik_cli_commands[k]->name;
    const char *guess = ik_cli_suggest(argv[i], names, n);
    if (guess) return ik_cli_usage_error(NULL, "unknown command \"%s\" (did you mean \"%s\"?)", argv[i], guess);
    return ik_cli_usage_error(NULL, "unknown command \"%s\"", argv[i]);
  }
  int rc = cmd->run(argc - i, argv + i);
  ik_log_close();
  return rc;
}
