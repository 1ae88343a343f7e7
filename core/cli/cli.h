/* The command-line interface: a table of commands, one file each.
 *
 * Exit statuses: 0 success, 1 failure, 2 usage error (unknown command or
 * flag, missing argument), 128+N killed by signal N (130 for Ctrl-C). */
#ifndef IK_CLI_CLI_H
#define IK_CLI_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define IK_EXIT_OK 0
#define IK_EXIT_FAIL 1
#define IK_EXIT_USAGE 2

typedef struct ik_cli_cmd {
  const char *name;
  const char *summary;               /* one line, for `infrakit help` */
  const char *usage;                 /* "infrakit lua [options] FILE [ARGS...]" */
  const char *help;                  /* the rest of `--help`: description, options, examples */
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} ik_cli_cmd_t;

/* Every command, in help order, NULL-terminated. */
extern const ik_cli_cmd_t *const ik_cli_commands[];

const ik_cli_cmd_t *ik_cli_find(const char *name);

/* The candidate closest to word by edit distance, if close enough to be a
 * plausible typo (distance <= max(1, len/3)), else NULL. */
const char *ik_cli_suggest(const char *word, const char *const *candidates, size_t n);
size_t ik_cli_edit_distance(const char *a, const char *b);

/* Print "infrakit CMD: <message>" and the hint to --help to stderr;
 * returns IK_EXIT_USAGE. cmd may be NULL for the top level. */
int ik_cli_usage_error(const ik_cli_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "infrakit CMD: <message>" and a newline to stderr (through
 * ik_cli_eprintf); returns IK_EXIT_FAIL. How a command reports a failure. */
int ik_cli_fail(const ik_cli_cmd_t *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print the command's full help to stdout: "Usage: ...", the summary, the
 * help text, then the global options. */
void ik_cli_print_help(const ik_cli_cmd_t *cmd);

/* Print the global options block that ends every help (what `play NAME
 * --help` adds after the playbook's own parameters). */
void ik_cli_print_global_options(void);

/* Run the subcommand argv[1] of parent among subs (NULL-terminated; each
 * sub's name is "parent sub"). No subcommand, or an unknown one, is a usage
 * error with a suggestion; "--help" prints the parent's help. */
int ik_cli_run_sub(const ik_cli_cmd_t *parent, const ik_cli_cmd_t *const *subs, int argc, char **argv);

/* --- option parsing ------------------------------------------------- */
typedef struct ik_opt {
  const char *name; /* long name without dashes: "timeout" */
  char short_name;  /* 'e', or 0 */
  bool has_arg;
} ik_opt_t;

typedef struct ik_optparse {
  int argc;
  char **argv;
  int index;       /* next argv element to look at */
  const char *arg; /* argument of the last matched option */
  const ik_cli_cmd_t *cmd;
} ik_optparse_t;

enum {
  IK_OPT_END = -1,   /* no more options: argv[index] is the first positional */
  IK_OPT_ERROR = -2, /* usage error already printed: exit IK_EXIT_USAGE */
  IK_OPT_HELP = -3,  /* --help / -h: help already printed: exit 0 */
};

void ik_opt_init(ik_optparse_t *p, const ik_cli_cmd_t *cmd, int argc, char **argv);

/* Next option. Returns its index in opts (opts ends with a {NULL} entry),
 * or IK_OPT_*. Global options (--log-level, --log-file, --log-format,
 * --lua-timeout) are accepted by every command and applied here. Parsing
 * stops at the first positional argument or after "--". A hidden
 * --help-options prints the command's own options, one a line ("-p
 * --plugin"), and returns IK_OPT_HELP: the functional spec checks with it
 * that every command's --help lists every option it takes. */
int ik_opt_next(ik_optparse_t *p, const ik_opt_t *opts);

/* The one positional argument a command takes, at p->index after its
 * options. None: the usage error missing (e.g. "missing the group ID");
 * more than one: the usage error naming the first extra. Both return NULL
 * (exit IK_EXIT_USAGE). */
const char *ik_cli_one_arg(const ik_optparse_t *p, const char *missing);

/* Apply a global option by long name; returns 0, or IK_EXIT_USAGE after
 * printing the error. Used by main for options before the command. */
int ik_cli_apply_global(const ik_cli_cmd_t *cmd, const char *name, const char *value);
bool ik_cli_is_global(const char *name, bool *has_arg);

/* The built-in plugins `infrakit daemon` can host, NULL-terminated. */
extern const char *const ik_daemon_builtins[];

/* True when `infrakit daemon --plugin name` can host name: a built-in, or
 * a Lua file in $INFRAKIT_HOME/flavors or providers. names (may be NULL)
 * gets the list of them all, comma-separated. */
bool ik_daemon_can_host(const char *name, char *names, size_t len);

/* Run Lua code (or the file script; "-" = stdin) as the main task with
 * nargs args, the loop running, and exit as `infrakit lua` does; cmd
 * names the command in messages. */
int ik_cli_run_lua(const char *cmd, const char *code, const char *script, int nargs, char **args);

/* Run the Lua function that the expression fn names with the options a
 * command parsed (opts, borrowed, as a Lua table) and then nargs more
 * string arguments; exit as ik_cli_run_lua does. How play, playbook and
 * template hand their parsed command line to Lua. */
int ik_cli_run_lua_opts(const char *cmd, const char *fn, const json_t *opts, int nargs, char **args);

/* Print v as indented JSON (keys in insertion order) and a newline: what
 * every --json prints. */
void ik_cli_print_json(const json_t *v);

/* fprintf(stderr, ...) through the redactor (base/redact.h): what every
 * error the CLI prints goes through, so a URL's password or a secret of the
 * spec it read is never echoed. */
void ik_cli_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ik_cli_veprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* strcmp for qsort of char * arrays. */
int ik_cli_cmp_str(const void *a, const void *b);

/* The watchdog limit chosen with --lua-timeout, or 0 for the default. */
extern double ik_cli_lua_timeout;
/* --sandbox-timeout (seconds) and --sandbox-memory (bytes), or 0 for the defaults. */
extern double ik_cli_sandbox_timeout;
extern size_t ik_cli_sandbox_memory;

extern const ik_cli_cmd_t ik_cmd_help, ik_cmd_version, ik_cmd_lua, ik_cmd_daemon, ik_cmd_plugin, ik_cmd_instance,
    ik_cmd_flavor, ik_cmd_template, ik_cmd_plan, ik_cmd_group, ik_cmd_play, ik_cmd_playbook, ik_cmd_serve, ik_cmd_events;

#endif
