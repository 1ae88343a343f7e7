/* infrakit playbook add|ls|rm|update: the playbook registry. Each
 * subcommand parses its command line here with ik_optparse and hands the
 * parsed options to Lua (playbook.registry_main in lua/infrakit/_playbook.lua,
 * over lua/infrakit/_registry.lua), which does the work. */
#include <jansson.h>

#include "cli/cli.h"

/* Parse sub's options (only --json, for ls) and exactly min..max
 * positionals, named by names; then run the registry. */
static int registry_run(const ik_cli_cmd_t *sub, const char *verb, int argc, char **argv, int min, int max,
                        const char *missing) {
  static const ik_opt_t json_opts[] = {{"json", 0, false}, {NULL, 0, false}};
  static const ik_opt_t no_opts[] = {{NULL, 0, false}};
  bool is_ls = max == 0;
  ik_optparse_t p;
  ik_opt_init(&p, sub, argc, argv);
  json_t *o = json_pack("{s:s}", "sub", verb);
  int opt;
  while ((opt = ik_opt_next(&p, is_ls ? json_opts : no_opts)) >= 0) json_object_set_new(o, "json", json_true());
  int code = IK_EXIT_USAGE;
  if (opt == IK_OPT_HELP) code = IK_EXIT_OK;
  if (opt != IK_OPT_END) goto done;
  int n = argc - p.index;
  if (n < min) {
    ik_cli_usage_error(sub, "%s", missing);
    goto done;
  }
  if (n > max) {
    ik_cli_usage_error(sub, "unexpected argument \"%s\"", argv[p.index + max]);
    goto done;
  }
  json_t *args = json_array();
  for (int i = p.index; i < argc; i++) json_array_append_new(args, json_string(argv[i]));
  json_object_set_new(o, "args", args);
  code = ik_cli_run_lua_opts("playbook", "require('infrakit._playbook').registry_main", o, 0, NULL);
done:
  json_decref(o);
  return code;
}

static const ik_cli_cmd_t ik_cmd_playbook_add, ik_cmd_playbook_ls, ik_cmd_playbook_rm, ik_cmd_playbook_update;

static int add_run(int argc, char **argv) {
  return registry_run(&ik_cmd_playbook_add, "add", argc, argv, 2, 2, "want NAME and a URL or PATH");
}
static int ls_run(int argc, char **argv) { return registry_run(&ik_cmd_playbook_ls, "ls", argc, argv, 0, 0, ""); }
static int rm_run(int argc, char **argv) { return registry_run(&ik_cmd_playbook_rm, "rm", argc, argv, 1, 1, "want NAME"); }
static int update_run(int argc, char **argv) {
  return registry_run(&ik_cmd_playbook_update, "update", argc, argv, 0, 1, "");
}

static const ik_cli_cmd_t ik_cmd_playbook_add = {
    .name = "playbook add",
    .summary = "Fetch a playbook, check it is one, and cache it under NAME",
    .usage = "infrakit playbook add NAME URL|PATH",
    .help = "URL is http(s), fetched through infrakit's HTTP client; PATH a file. The copy\n"
            "is cached in $INFRAKIT_HOME/playbooks/NAME/, so 'infrakit play NAME' runs\n"
            "offline. NAME is letters, digits, '.', '_' or '-'.\n",
    .run = add_run,
};

static const ik_cli_cmd_t ik_cmd_playbook_ls = {
    .name = "playbook ls",
    .summary = "List the registry's playbooks and the built-in ones",
    .usage = "infrakit playbook ls [--json]",
    .help = "One line per playbook: name, cached at, source, description; the built-in\n"
            "playbooks (in the binary) too, unless a registry entry has their name.\n\n"
            "Options:\n"
            "  --json    print a JSON array of {Name, CachedAt, Source, Description, Builtin}\n",
    .run = ls_run,
};

static const ik_cli_cmd_t ik_cmd_playbook_rm = {
    .name = "playbook rm",
    .summary = "Forget a playbook of the registry (and its cached copy)",
    .usage = "infrakit playbook rm NAME",
    .help = "",
    .run = rm_run,
};

static const ik_cli_cmd_t ik_cmd_playbook_update = {
    .name = "playbook update",
    .summary = "Fetch registered playbooks again",
    .usage = "infrakit playbook update [NAME]",
    .help = "Fetches NAME's source again (every registered playbook when no NAME). A\n"
            "failure keeps the cached copy and exits 1.\n",
    .run = update_run,
};

static const ik_cli_cmd_t *const playbook_subs[] = {&ik_cmd_playbook_add, &ik_cmd_playbook_ls, &ik_cmd_playbook_rm,
                                                    &ik_cmd_playbook_update, NULL};

static int playbook_run(int argc, char **argv) {
  return ik_cli_run_sub(&ik_cmd_playbook, playbook_subs, argc, argv);
}

const ik_cli_cmd_t ik_cmd_playbook = {
    .name = "playbook",
    .summary = "The playbook registry: named playbooks, cached for offline runs",
    .usage = "infrakit playbook add NAME URL|PATH | ls [--json] | rm NAME | update [NAME]",
    .help = "Playbooks added here are fetched (an http(s) URL through infrakit's HTTP\n"
            "client, or a file) and cached in $INFRAKIT_HOME/playbooks/NAME/, so\n"
            "'infrakit play NAME' runs them offline; 'infrakit play --refresh NAME'\n"
            "fetches again first (and falls back on the cache, saying so).\n\n"
            "Subcommands (each has --help):\n"
            "  add NAME URL|PATH   fetch, check it is a playbook, cache it\n"
            "  ls [--json]         name, cached at, source, description; the built-in\n"
            "                      playbooks (in the binary) too\n"
            "  rm NAME             forget it\n"
            "  update [NAME]       fetch again (all when no NAME); a failure keeps the cache\n\n"
            "Example:\n"
            "  infrakit playbook add web https://example.com/web.lua && infrakit play web\n",
    .run = playbook_run,
};
