/* infrakit playbook add|ls|rm|update: the playbook registry (Lua:
 * lua/infrakit/registry.lua). */
#include <string.h>

#include "cli/cli.h"

static int ik__playbook_run(int argc, char **argv) {
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    ik_cli_print_help(&ik_cmd_playbook);
    return IK_EXIT_OK;
  }
  return ik_cli_run_lua("playbook", "return require('infrakit.playbook').registry_main(...)", NULL, argc - 1,
                        argv + 1);
}

const ik_cli_cmd_t ik_cmd_playbook = {
    .name = "playbook",
    .summary = "The playbook registry: named playbooks, cached for offline runs",
    .usage = "infrakit playbook add NAME URL|PATH | ls | rm NAME | update [NAME]",
    .help = "Playbooks added here are fetched (an http(s) URL through infrakit's HTTP\n"
            "client, or a file) and cached in $INFRAKIT_HOME/playbooks/NAME/, so\n"
            "'infrakit play NAME' runs them offline; 'infrakit play --refresh NAME'\n"
            "fetches again first (and falls back on the cache, saying so).\n\n"
            "  add NAME URL|PATH   fetch, check it is a playbook, cache it\n"
            "  ls                  name, cached at, source, description; the built-in\n"
            "                      playbooks (in the binary) too\n"
            "  rm NAME             forget it\n"
            "  update [NAME]       fetch again (all when no NAME); a failure keeps the cache\n\n"
            "Example:\n"
            "  infrakit playbook add web https://example.com/web.lua && infrakit play web\n",
    .run = ik__playbook_run,
};
