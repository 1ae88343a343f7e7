/* What the CLI's client commands (plugin, instance, flavor, group, plan)
 * share: a loop with the HTTP client and the plugins directory, a way to
 * wait for SPI callbacks, the --plugin/--json options, and one way to open
 * a plugin, make a call and report its error. Commands are one-shot: they
 * run the loop until their answers are in, then close it clean. */
#ifndef IK_CLI_REMOTE_H
#define IK_CLI_REMOTE_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "cli/cli.h"
#include "engine/group_spec.h"
#include "loop/loop.h"
#include "net/client/http_client.h"
#include "spi/flavor.h"
#include "spi/group.h"
#include "spi/instance.h"

typedef struct ik_cli_remote {
  ik_loop_t loop;
  ik_http_client_t *http;
  char dir[4096]; /* the plugins directory */
} ik_cli_remote_t;

/* The outcome of one asynchronous call. */
typedef struct ik_cli_result {
  int done;
  json_t *result; /* owned; NULL on error */
  ik_err_t err;
} ik_cli_result_t;

int ik_cli_remote_open(ik_cli_remote_t *r, ik_err_t *err);
void ik_cli_remote_close(ik_cli_remote_t *r);

/* An ik_spi_cb filling the ik_cli_result_t passed as data. */
void ik_cli_result_cb(json_t *result, const ik_err_t *err, void *data);
void ik_cli_result_clear(ik_cli_result_t *res);

/* Run the loop until *count reaches want. */
void ik_cli_remote_wait(ik_cli_remote_t *r, const int *count, int want);

/* --- the options every plugin client command takes ------------------- */

/* --plugin NAME and --json. A command's own options follow them in its
 * opts table: IK_CLI_COMMON_OPTS first, then its own from
 * IK_CLI_OPT_FIRST_OWN on. */
typedef struct ik_cli_common {
  const char *plugin; /* borrowed from argv; NULL when not given */
  bool json;
} ik_cli_common_t;

enum { IK_CLI_OPT_PLUGIN,
       IK_CLI_OPT_JSON,
       IK_CLI_OPT_FIRST_OWN };
#define IK_CLI_COMMON_OPTS \
  {"plugin", 'p', true}, { "json", 0, false }

/* ik_opt_next() that also fills c from --plugin and --json. */
int ik_cli_common_next(ik_optparse_t *p, const ik_opt_t *opts, ik_cli_common_t *c);

/* Parse a command that takes only --plugin and --json. Returns -1 to go
 * on (p->index at the first positional), else the exit status. */
int ik_cli_common_parse(const ik_cli_cmd_t *cmd, int argc, char **argv, ik_cli_common_t *c, ik_optparse_t *p);

/* True when plugin (what --plugin gave) is not NULL; else prints the usage
 * error "--plugin NAME is required" and returns false (exit
 * IK_EXIT_USAGE). */
bool ik_cli_has_plugin(const ik_cli_cmd_t *cmd, const char *plugin);

/* --- one connection to a plugin, and its calls -------------------------- */

typedef enum ik_cli_kind { IK_CLI_INSTANCE,
                           IK_CLI_FLAVOR,
                           IK_CLI_GROUP } ik_cli_kind_t;

/* Which plugin a command talks to, and what it says when that fails. */
typedef struct ik_cli_target {
  ik_cli_kind_t kind;
  const char *name;      /* "lookup[/type]"; NULL: --plugin was not given */
  const char *open_hint; /* appended to the error when the plugin cannot be opened; may be NULL */
  /* Called after a failed call's error is printed, to say what to do about
   * it (msg is the error); may be NULL. */
  void (*explain)(const ik_cli_cmd_t *cmd, const char *msg);
} ik_cli_target_t;

typedef struct ik_cli_client {
  ik_cli_remote_t r;
  const ik_cli_cmd_t *cmd; /* names the command in messages */
  ik_cli_target_t target;
  union {
    ik_instance_plugin_t instance;
    ik_flavor_plugin_t flavor;
    ik_group_plugin_t group;
  } pl; /* the member target.kind says */
} ik_cli_client_t;

/* Open the loop and the plugin t names (t->name not NULL). On failure
 * prints "infrakit CMD: <error><open hint>" and returns IK_EXIT_FAIL with
 * nothing to close; else IK_EXIT_OK. */
int ik_cli_client_open(ik_cli_client_t *c, const ik_cli_cmd_t *cmd, const ik_cli_target_t *t);
void ik_cli_client_close(ik_cli_client_t *c);

/* Finish a call that returned rc: 0 (started; its answer comes to res,
 * whose callback is ik_cli_result_cb) or a negative code (err says why).
 * Waits for the answer. On failure prints "infrakit CMD: <error>" and the
 * target's explanation, leaves the error in err and returns IK_EXIT_FAIL;
 * else IK_EXIT_OK with the result in res->result. */
int ik_cli_client_finish(ik_cli_client_t *c, int rc, ik_cli_result_t *res, ik_err_t *err);

/* Starts one call on c's plugin with arg (what the command parsed),
 * answering to ik_cli_result_cb with res. Returns 0 or a negative code
 * with err filled, as the SPI functions do. */
typedef int (*ik_cli_start_fn)(ik_cli_client_t *c, void *arg, ik_cli_result_t *res, ik_err_t *err);

/* A one-shot command's whole conversation: the usage error when t->name
 * is NULL, else open the plugin, start the call, wait, close. Returns the
 * exit status, the error printed; on IK_EXIT_OK res holds the result
 * (the caller clears res either way). */
int ik_cli_client_call(const ik_cli_cmd_t *cmd, const ik_cli_target_t *t, ik_cli_start_fn start, void *arg,
                       ik_cli_result_t *res);

/* --- reading what commands are given ------------------------------------ */

/* Read a JSON document from path ("-" = stdin). Returns NULL and fills err
 * (naming the file, line and column) on failure. */
json_t *ik_cli_read_json(const char *path, ik_err_t *err);

/* The largest group size (Allocation.Size, or the number of LogicalIDs)
 * for the CLI's local checks (group commit, plan) and the daemon's
 * default: $INFRAKIT_MAX_GROUP_SIZE when set, else
 * IK_GROUP_MAX_SIZE_DEFAULT (the daemon's --max-group-size overrides
 * both). Returns 0, or IK_EUSAGE naming the variable when it is not a
 * positive integer. */
int ik_cli_max_group_size(uint64_t *out, ik_err_t *err);

/* Read the group spec at path ("-" = stdin) and check it (within
 * ik_cli_max_group_size()), so a bad field is named even with no daemon
 * up. Returns the document (caller decrefs) with *spec parsed (caller
 * frees with ik_group_spec_free), or NULL with err filled and nothing to
 * free. */
json_t *ik_cli_read_group_spec(const char *path, ik_group_spec_t *spec, ik_err_t *err);

#endif
