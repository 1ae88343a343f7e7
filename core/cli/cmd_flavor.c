/* infrakit flavor validate|prepare|healthy|drain --plugin NAME FILE|-
 *
 * Talks Flavor/0.1.1 to any flavor plugin - a Lua flavor served by our
 * daemon, or InfraKit's - through the remote adapter. FILE holds the
 * request's params as InfraKit sends them, without Type:
 *   validate  {"Properties": ..., "Allocation": {...}}
 *   prepare   {"Properties": ..., "Spec": {...}, "Allocation": {...}, "Index": {...}}
 *   healthy   {"Properties": ..., "Instance": {...}}
 *   drain     {"Properties": ..., "Instance": {...}} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "cli/remote.h"

typedef enum flavor_op { OP_VALIDATE,
                         OP_PREPARE,
                         OP_HEALTHY,
                         OP_DRAIN } flavor_op_t;

/* What one subcommand sends: the operation and the request's fields. */
typedef struct request {
  flavor_op_t op;
  json_t *doc;
} request_t;

static int start(ik_cli_client_t *c, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  const request_t *rq = arg;
  const ik_flavor_plugin_t *pl = &c->pl.flavor;
  json_t *doc = rq->doc, *props = ik_json_get(doc, "Properties");
  switch (rq->op) {
  case OP_VALIDATE:
    return pl->vt->validate(pl->self, props, ik_json_get(doc, "Allocation"), ik_cli_result_cb, res, err);
  case OP_PREPARE:
    return pl->vt->prepare(pl->self, props, ik_json_get(doc, "Spec"), ik_json_get(doc, "Allocation"),
                           ik_json_get(doc, "Index"), ik_cli_result_cb, res, err);
  case OP_HEALTHY:
    return pl->vt->healthy(pl->self, props, ik_json_get(doc, "Instance"), ik_cli_result_cb, res, err);
  case OP_DRAIN:
    return pl->vt->drain(pl->self, props, ik_json_get(doc, "Instance"), ik_cli_result_cb, res, err);
  default:
    abort();
  }
}

static void print_result(flavor_op_t op, const json_t *result, bool as_json) {
  static const char *const health[] = {"unknown", "healthy", "unhealthy"};
  json_int_t h = json_integer_value(result);
  const char *word = h >= 0 && h <= 2 ? health[h] : "unknown";
  if (op == OP_PREPARE) {
    ik_cli_print_json(result);
  } else if (op == OP_HEALTHY) {
    if (as_json) printf("{\"Health\": %d, \"Status\": \"%s\"}\n", (int)h, word);
    else puts(word);
  } else if (as_json) {
    puts("{\"OK\": true}");
  } else {
    puts(op == OP_VALIDATE ? "valid" : "drained");
  }
}

static int run(const ik_cli_cmd_t *cmd, flavor_op_t op, int argc, char **argv) {
  ik_cli_common_t c = {0};
  ik_optparse_t p;
  int parsed = ik_cli_common_parse(cmd, argc, argv, &c, &p);
  if (parsed >= 0) return parsed;
  if (!ik_cli_has_plugin(cmd, c.plugin)) return IK_EXIT_USAGE;
  const char *file = ik_cli_one_arg(&p, "missing FILE (or - to read standard input)");
  if (file == NULL) return IK_EXIT_USAGE;
  ik_err_t err = {0};
  json_t *doc = ik_cli_read_json(file, &err);
  if (doc && !json_is_object(doc)) {
    ik_err_set(&err, IK_EINVAL, "%s: want an object of the request's fields (Properties, ...)", file);
    json_decref(doc);
    doc = NULL;
  }
  if (doc == NULL) return ik_cli_fail(cmd, "%s", err.msg);
  request_t rq = {.op = op, .doc = doc};
  ik_cli_result_t res = {0};
  int code = ik_cli_client_call(cmd, &(ik_cli_target_t){.kind = IK_CLI_FLAVOR, .name = c.plugin}, start, &rq, &res);
  if (code == IK_EXIT_OK) print_result(op, res.result, c.json);
  ik_cli_result_clear(&res);
  json_decref(doc);
  return code;
}

#define FLAVOR_OPTS                                                       \
  "Options:\n"                                                            \
  "  -p, --plugin NAME   the flavor plugin (\"name\" or \"name/type\")\n" \
  "      --json          print the result as JSON\n"

static const ik_cli_cmd_t ik_cmd_flavor_validate, ik_cmd_flavor_prepare, ik_cmd_flavor_healthy, ik_cmd_flavor_drain;
static int validate_run(int argc, char **argv) { return run(&ik_cmd_flavor_validate, OP_VALIDATE, argc, argv); }
static int prepare_run(int argc, char **argv) { return run(&ik_cmd_flavor_prepare, OP_PREPARE, argc, argv); }
static int healthy_run(int argc, char **argv) { return run(&ik_cmd_flavor_healthy, OP_HEALTHY, argc, argv); }
static int drain_run(int argc, char **argv) { return run(&ik_cmd_flavor_drain, OP_DRAIN, argc, argv); }

static const ik_cli_cmd_t ik_cmd_flavor_validate = {
    .name = "flavor validate",
    .summary = "Check a flavor's Properties against an allocation",
    .usage = "infrakit flavor validate --plugin NAME FILE|-",
    .help = "Sends Flavor.Validate with FILE's {\"Properties\", \"Allocation\"}. Prints \"valid\".\n\n" FLAVOR_OPTS,
    .run = validate_run,
};

static const ik_cli_cmd_t ik_cmd_flavor_prepare = {
    .name = "flavor prepare",
    .summary = "Show the instance spec a flavor makes",
    .usage = "infrakit flavor prepare --plugin NAME FILE|-",
    .help = "Sends Flavor.Prepare with FILE's {\"Properties\", \"Spec\", \"Allocation\", \"Index\"}\n"
            "and prints the amended instance spec as JSON.\n\n" FLAVOR_OPTS "\n"
            "Example:\n"
            "  echo '{\"Properties\": {\"Init\": [\"echo hi\"]}, \"Spec\": {}, \"Allocation\": {\"Size\": 1}}' |\n"
            "    infrakit flavor prepare --plugin flavor-vanilla -\n",
    .run = prepare_run,
};

static const ik_cli_cmd_t ik_cmd_flavor_healthy = {
    .name = "flavor healthy",
    .summary = "Ask a flavor whether an instance is healthy",
    .usage = "infrakit flavor healthy --plugin NAME FILE|-",
    .help = "Sends Flavor.Healthy with FILE's {\"Properties\", \"Instance\"}. Prints healthy,\n"
            "unhealthy or unknown.\n\n" FLAVOR_OPTS,
    .run = healthy_run,
};

static const ik_cli_cmd_t ik_cmd_flavor_drain = {
    .name = "flavor drain",
    .summary = "Drain an instance before it is destroyed",
    .usage = "infrakit flavor drain --plugin NAME FILE|-",
    .help = "Sends Flavor.Drain with FILE's {\"Properties\", \"Instance\"}. Prints \"drained\".\n\n" FLAVOR_OPTS,
    .run = drain_run,
};

static const ik_cli_cmd_t *const flavor_subs[] = {&ik_cmd_flavor_validate, &ik_cmd_flavor_prepare,
                                                  &ik_cmd_flavor_healthy, &ik_cmd_flavor_drain, NULL};

static int flavor_run(int argc, char **argv) { return ik_cli_run_sub(&ik_cmd_flavor, flavor_subs, argc, argv); }

const ik_cli_cmd_t ik_cmd_flavor = {
    .name = "flavor",
    .summary = "Use any flavor plugin (a Lua flavor, or InfraKit's) over its socket",
    .usage = "infrakit flavor validate|prepare|healthy|drain --plugin NAME FILE|-",
    .help = "Subcommands (each has --help):\n"
            "  validate   check Properties against an allocation\n"
            "  prepare    print the instance spec the flavor makes\n"
            "  healthy    healthy, unhealthy or unknown for an instance\n"
            "  drain      drain an instance\n\n"
            "FILE (or - for standard input) holds the request's fields as InfraKit sends\n"
            "them: Properties plus Allocation, Spec, Index or Instance. Exit status 1 when\n"
            "the flavor reports an error. See docs/writing-a-flavor.md.\n",
    .run = flavor_run,
};
