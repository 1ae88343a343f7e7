/* infrakit play FILE|DIR|NAME [--PARAM VALUE ...] [-- ARGS]: run a
 * playbook. The work is in Lua (lua/infrakit/playbook.lua): finding the
 * playbook, checking its parameters, running it as a task on the loop. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int ik__play_run(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    if (argc < 2) return ik_cli_usage_error(&ik_cmd_play, "missing the playbook (a file, a directory, or a name)");
    ik_cli_print_help(&ik_cmd_play);
    return IK_EXIT_OK;
  }
  return ik_cli_run_lua("play", "return require('infrakit.playbook').main(...)", NULL, argc - 1, argv + 1);
}

const ik_cli_cmd_t ik_cmd_play = {
    .name = "play",
    .summary = "Run a playbook: a Lua program that stands up and changes infrastructure",
    .usage = "infrakit play [--refresh] [--json] FILE|DIR|URL|NAME [--PARAM VALUE ...] [-- ARGS]",
    .help = "Runs the playbook as a task on the event loop. FILE is a .lua file, DIR a\n"
            "directory holding playbook.lua, URL an http(s) address (fetched and cached;\n"
            "when it does not answer the cached copy runs, and it says so), NAME a playbook\n"
            "of the registry ('infrakit playbook add') or a built-in one, compiled into\n"
            "the binary ('infrakit playbook ls' lists them). Its declared parameters are given as\n"
            "--NAME VALUE (--NAME alone sets a bool, --no-NAME clears it) and checked\n"
            "before anything runs: an unknown, missing or mistyped one is an error that\n"
            "names it (exit 2). Arguments after -- reach the playbook as they are.\n\n"
            "  infrakit play NAME --help   lists the playbook's parameters\n"
            "  --refresh                   fetch a URL or registry playbook again first\n"
            "  --json                      print and progress as JSON lines, for machines\n\n"
            "Exit status: 0 when the playbook succeeds, 1 when it fails (its error and\n"
            "traceback on stderr), 2 for bad usage, 130 after Ctrl-C. docs/playbooks.md\n"
            "explains writing one.\n\n"
            "Example:\n"
            "  infrakit play quickstart --size 3\n",
    .run = ik__play_run,
};
