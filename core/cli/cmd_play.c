/* infrakit play [--refresh] [--json] FILE|DIR|URL|NAME [--PARAM VALUE ...]
 * [-- ARGS]: run a playbook. The runner's options are parsed here with
 * ik_optparse like every command's; the rest is Lua's (playbook.main in
 * lua/infrakit/_playbook.lua): finding the playbook, checking the
 * parameters it declares (known only once it is loaded), running it as a
 * task on the loop. `play NAME --help` prints the playbook's parameters in
 * the help format of every command (ik_cli_print_help's). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static int play_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {{"refresh", 0, false}, {"json", 0, false}, {NULL, 0, false}};
  ik_optparse_t p;
  ik_opt_init(&p, &ik_cmd_play, argc, argv);
  bool refresh = false, json = false;
  int opt;
  while ((opt = ik_opt_next(&p, opts)) >= 0) {
    if (opt == 0) refresh = true;
    else json = true;
  }
  if (opt == IK_OPT_HELP) return IK_EXIT_OK;
  if (opt == IK_OPT_ERROR) return IK_EXIT_USAGE;
  if (p.index >= argc) return ik_cli_usage_error(&ik_cmd_play, "missing the playbook (a file, a directory, a URL or a name)");
  /* The playbook's own --help: its parameters, then the global options. */
  bool help = false;
  for (int i = p.index + 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    help = help || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
  json_t *o = json_pack("{s:s, s:b, s:b, s:b}", "target", argv[p.index], "refresh", refresh, "json", json, "help", help);
  int code = ik_cli_run_lua_opts("play", "require('infrakit._playbook').main", o, argc - p.index - 1, argv + p.index + 1);
  json_decref(o);
  if (help && code == IK_EXIT_OK) ik_cli_print_global_options();
  return code;
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
    .run = play_run,
};
