/* The command table: every command, in the order `infrakit help` lists
 * them. Kept out of main.c so the library (and its unit tests) can look
 * commands up without the entry point. */
#include <string.h>

#include "cli/cli.h"

const ik_cli_cmd_t *const ik_cli_commands[] = {
    &ik_cmd_help,
    &ik_cmd_version,
    &ik_cmd_lua,
    &ik_cmd_daemon,
    &ik_cmd_plugin,
    &ik_cmd_instance,
    &ik_cmd_flavor,
    &ik_cmd_template,
    &ik_cmd_play,
    &ik_cmd_playbook,
    &ik_cmd_group,
    &ik_cmd_events,
    &ik_cmd_plan,
    &ik_cmd_serve,
    NULL,
};

const ik_cli_cmd_t *ik_cli_find(const char *name) {
  for (size_t i = 0; ik_cli_commands[i]; i++)
    if (strcmp(ik_cli_commands[i]->name, name) == 0) return ik_cli_commands[i];
  return NULL;
}
