/* infrakit group commit|describe|ls|scale|free|destroy|promote|pause|resume|watch
 *
 * Talks Group/0.1.1 to the group controller (the daemon's `group` plugin,
 * or any group plugin named with --plugin) through the remote adapter: the
 * same vtable InfraKit's CLI reaches over the wire. describe, ls, promote
 * and watch use our Group.Status / Group.Promote, which InfraKit's group
 * plugin lacks. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/event_stream.h"
#include "cli/remote.h"
#include "engine/group_spec.h"

/* The spec names a plugin that is not running ("plugin NAME: not found in
 * DIR ..."), but this machine can serve it (a built-in, or a Lua flavor or
 * provider in $INFRAKIT_HOME): say how to start it. A running daemon
 * serves only the plugins it was started with. */
static void not_running_hint(const char *msg) {
  const char *at = strstr(msg, "plugin ");
  const char *end = at ? strstr(at, ": not found in ") : NULL;
  if (end == NULL || (size_t)(end - at - 7) >= 128) return;
  char name[128];
  snprintf(name, sizeof name, "%.*s", (int)(end - at - 7), at + 7);
  if (strchr(name, ' ') || !ik_daemon_can_host(name, NULL, 0)) return;
  fprintf(stderr, "Start it with 'infrakit plugin start %s' (a running daemon serves only the plugins it was\n"
                  "started with; 'infrakit daemon' with no --plugin serves every plugin it finds).\n",
          name);
}

/* After a failed call's error: what to do about it. */
static void explain(const ik_cli_cmd_t *cmd, const char *msg) {
  not_running_hint(msg);
  if (strcmp(cmd->name, "group destroy") == 0 && strstr(msg, "is not being watched"))
    fprintf(stderr, "A freed group's instances are left running: commit its spec again (the instances\n"
                    "are adopted, nothing is provisioned), then destroy it.\n");
}

/* The group plugin --plugin names, else the daemon's "group". */
static ik_cli_target_t group_plugin(const ik_cli_common_t *c) {
  return (ik_cli_target_t){
      .kind = IK_CLI_GROUP,
      .name = c->plugin ? c->plugin : "group",
      .open_hint = c->plugin ? "" : " Start one with 'infrakit daemon' (or 'infrakit plugin start group').",
      .explain = explain,
  };
}

/* Calls that take only the group ID, as the commands name them. */
typedef enum id_op { OP_STATUS,
                     OP_FREE,
                     OP_DESTROY,
                     OP_PROMOTE,
                     OP_PAUSE,
                     OP_RESUME } id_op_t;

typedef struct id_arg {
  id_op_t op;
  const char *id;
} id_arg_t;

static int start_id_op(ik_cli_client_t *s, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  const id_arg_t *a = arg;
  const ik_group_vtable_t *vt = s->pl.group.vt;
  int (*fn)(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err);
  switch (a->op) {
  case OP_STATUS: fn = vt->status; break;
  case OP_FREE: fn = vt->free_group; break;
  case OP_DESTROY: fn = vt->destroy; break;
  case OP_PROMOTE: fn = vt->promote; break;
  case OP_PAUSE: fn = vt->pause; break;
  case OP_RESUME: fn = vt->resume; break;
  default: abort();
  }
  if (fn == NULL) return ik_err_set(err, IK_ENOTFOUND, "this group plugin does not support it");
  return fn(s->pl.group.self, a->id, ik_cli_result_cb, res, err);
}

/* Group.Status of id on the open session s. */
static int status_call(ik_cli_client_t *s, const char *id, ik_cli_result_t *res) {
  ik_err_t err = {0};
  return ik_cli_client_finish(s, start_id_op(s, &(id_arg_t){.op = OP_STATUS, .id = id}, res, &err), res, &err);
}

/* A command taking exactly one group ID. NULL after a usage error. */
static const char *one_id(const ik_optparse_t *p) { return ik_cli_one_arg(p, "missing the group ID"); }

/* --- commit ------------------------------------------------------------- */

typedef struct commit_arg {
  json_t *spec;
  bool pretend;
} commit_arg_t;

static int start_commit(ik_cli_client_t *s, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  const commit_arg_t *a = arg;
  return s->pl.group.vt->commit(s->pl.group.self, a->spec, a->pretend, ik_cli_result_cb, res, err);
}

static const ik_cli_cmd_t ik_cmd_group_commit;
static int commit_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {IK_CLI_COMMON_OPTS, {"pretend", 0, false}, {NULL, 0, false}};
  const ik_cli_cmd_t *cmd = &ik_cmd_group_commit;
  ik_cli_common_t c = {0};
  bool pretend = false;
  ik_optparse_t p;
  ik_opt_init(&p, cmd, argc, argv);
  for (int o; (o = ik_cli_common_next(&p, opts, &c)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    if (o == IK_CLI_OPT_FIRST_OWN) pretend = true;
  }
  const char *file = ik_cli_one_arg(&p, "missing FILE (or - to read standard input)");
  if (file == NULL) return IK_EXIT_USAGE;
  ik_err_t err = {0};
  /* Checked here first, so a bad field is named even with no daemon up. */
  ik_group_spec_t parsed;
  json_t *spec = ik_cli_read_group_spec(file, &parsed, &err);
  if (spec == NULL) return ik_cli_fail(cmd, "%s", err.msg);
  ik_group_spec_free(&parsed);
  commit_arg_t a = {.spec = spec, .pretend = pretend};
  ik_cli_result_t res = {0};
  const ik_cli_target_t t = group_plugin(&c);
  int code = ik_cli_client_call(cmd, &t, start_commit, &a, &res);
  if (code == IK_EXIT_OK && c.json) {
    ik_cli_print_json(res.result);
  } else if (code == IK_EXIT_OK) {
    const char *id = json_string_value(json_object_get(res.result, "ID"));
    const char *details = json_string_value(json_object_get(res.result, "Details"));
    printf("%s %s: %s\n", pretend ? "would commit" : "committed", id ? id : "?", details ? details : "");
  }
  ik_cli_result_clear(&res);
  json_decref(spec);
  return code;
}

static const ik_cli_cmd_t ik_cmd_group_commit = {
    .name = "group commit",
    .summary = "Commit a group spec: create the group or update it",
    .usage = "infrakit group commit [--pretend] [--json] [--plugin NAME] FILE|-",
    .help = "FILE holds InfraKit's group.Spec plus our Updating and Health policies\n"
            "(docs/groups.md). The spec is checked (a bad field is named, exit 1) and\n"
            "validated by its flavor and instance plugins, then stored durably and acted on.\n"
            "Only a changed Instance or Flavor block starts a rolling update; a new size\n"
            "only scales. A group holds at most 10000 instances (INFRAKIT_MAX_GROUP_SIZE;\n"
            "the daemon's --max-group-size); its ID is at most 128 letters, digits, . _ -.\n\n"
            "Options:\n"
            "      --pretend       say what the commit would do, change nothing\n"
            "      --json          print {\"ID\", \"Details\"}\n"
            "  -p, --plugin NAME   the group plugin (default: group)\n\n"
            "Example:\n"
            "  infrakit group commit workers.json\n",
    .run = commit_run,
};

/* --- describe ------------------------------------------------------------ */

static void print_status(const json_t *st) {
  const json_t *sum = json_object_get(st, "Summary");
  printf("group %s: %s", json_string_value(json_object_get(st, "ID")), json_string_value(json_object_get(st, "Phase")));
  printf(" (%lld desired, %lld current, %lld at the target config, %lld available, %lld unhealthy)\n",
         json_integer_value(json_object_get(sum, "Desired")), json_integer_value(json_object_get(sum, "Current")),
         json_integer_value(json_object_get(sum, "Updated")), json_integer_value(json_object_get(sum, "Available")),
         json_integer_value(json_object_get(sum, "Unhealthy")));
  const char *reason = json_string_value(json_object_get(sum, "Reason"));
  if (reason && *reason) printf("  reason: %s\n", reason);
  printf("  config: %s", json_string_value(json_object_get(st, "ConfigHash")));
  const char *target = json_string_value(json_object_get(st, "TargetHash"));
  const char *good = json_string_value(json_object_get(st, "GoodHash"));
  if (target && *target && strcmp(target, json_string_value(json_object_get(st, "ConfigHash"))) != 0)
    printf("  target: %s", target);
  printf("  last good: %s\n", good && *good ? good : "-");
  const char *failure = json_string_value(json_object_get(st, "Failure"));
  if (failure && *failure) printf("  rollout failure: %s\n", failure);
  const char *error = json_string_value(json_object_get(st, "Error"));
  if (error && *error) printf("  error: %s\n", error);
  size_t i;
  json_t *v;
  json_t *insts = json_object_get(st, "Instances");
  printf("  instances:\n");
  if (json_array_size(insts) == 0) printf("    (none)\n");
  json_array_foreach(insts, i, v) {
    const char *lid = json_string_value(json_object_get(v, "LogicalID"));
    const char *hash = json_string_value(json_object_get(v, "ConfigHash"));
    printf("    %-32s %-12s %-9s %s\n", json_string_value(json_object_get(v, "ID")), lid ? lid : "-",
           json_string_value(json_object_get(v, "Health")),
           hash && target && strcmp(hash, target) == 0 ? "current" : "old config");
  }
  json_t *fl = json_object_get(st, "InFlight");
  if (json_array_size(fl)) printf("  in flight:\n");
  json_array_foreach(fl, i, v) {
    const char *inst = json_string_value(json_object_get(v, "Instance"));
    const char *lid = json_string_value(json_object_get(v, "LogicalID"));
    const char *state = json_string_value(json_object_get(v, "State"));
    json_t *retry = json_object_get(v, "RetryInMs");
    printf("    %s%s%s%s%s (%s", json_string_value(json_object_get(v, "Action")), inst ? " " : "", inst ? inst : "",
           lid ? " " : "", lid ? lid : "", state ? state : "");
    if (json_is_integer(retry)) printf(", retry in %.1f s", (double)json_integer_value(retry) / 1000.0);
    printf(")\n");
  }
  json_t *crash = json_object_get(st, "CrashLoop");
  if (json_is_object(crash)) {
    const char *exit = json_string_value(json_object_get(crash, "Exit"));
    json_t *retry = json_object_get(crash, "RetryInMs");
    printf("  crash loop: %s %s %.1f s after it started, %lld times in a row; ",
           json_string_value(json_object_get(crash, "Instance")), exit ? exit : "went away",
           (double)json_integer_value(json_object_get(crash, "AgeMs")) / 1000.0,
           json_integer_value(json_object_get(crash, "Count")));
    if (json_is_integer(retry)) printf("next try in %.1f s\n", (double)json_integer_value(retry) / 1000.0);
    else printf("trying again now\n");
  }
  json_t *fails = json_object_get(st, "Failures");
  if (json_array_size(fails)) printf("  failures:\n");
  json_array_foreach(fails, i, v) {
    printf("    %s: %lld attempt%s, last error: %s\n", json_string_value(json_object_get(v, "Action")),
           json_integer_value(json_object_get(v, "Attempts")),
           json_integer_value(json_object_get(v, "Attempts")) == 1 ? "" : "s",
           json_string_value(json_object_get(v, "Error")));
  }
}

/* describe, free, destroy, promote, pause and resume: the call op on the one group ID
 * given; done is what a success prints (NULL: the status). */
static int id_command(const ik_cli_cmd_t *cmd, int argc, char **argv, id_op_t op, const char *done) {
  ik_cli_common_t c = {0};
  ik_optparse_t p;
  int parsed = ik_cli_common_parse(cmd, argc, argv, &c, &p);
  if (parsed >= 0) return parsed;
  const char *id = one_id(&p);
  if (id == NULL) return IK_EXIT_USAGE;
  const ik_cli_target_t t = group_plugin(&c);
  ik_cli_result_t res = {0};
  int code = ik_cli_client_call(cmd, &t, start_id_op, &(id_arg_t){.op = op, .id = id}, &res);
  if (code == IK_EXIT_OK && done == NULL) {
    if (c.json) ik_cli_print_json(res.result);
    else print_status(res.result);
  } else if (code == IK_EXIT_OK) {
    if (c.json) printf("{\"ID\": \"%s\", \"OK\": true}\n", id);
    else printf("group %s: %s\n", id, done);
  }
  ik_cli_result_clear(&res);
  return code;
}

static const ik_cli_cmd_t ik_cmd_group_describe;
static int describe_run(int argc, char **argv) { return id_command(&ik_cmd_group_describe, argc, argv, OP_STATUS, NULL); }

static const ik_cli_cmd_t ik_cmd_group_describe = {
    .name = "group describe",
    .summary = "Show a group: phase, progress, instances, actions in flight, failures",
    .usage = "infrakit group describe [--json] [--plugin NAME] ID",
    .help = "Prints the controller's view of group ID: its phase (steady, scaling, rolling,\n"
            "canary-paused, paused, blocked, destroying) and why, how many instances are at the\n"
            "target config and available, each member's health, the actions in flight or\n"
            "backing off (with the time to the next try), every failed action with its\n"
            "attempts and last error, and a crash loop: how the last instance ended (exit\n"
            "status), how many died young in a row, when the next replacement is tried.\n\n"
            "Options:\n"
            "      --json          print the status document (docs/groups.md)\n"
            "  -p, --plugin NAME   the group plugin (default: group)\n",
    .run = describe_run,
};

/* --- ls -------------------------------------------------------------------- */

static const ik_cli_cmd_t ik_cmd_group_ls;
static int ls_run(int argc, char **argv) {
  const ik_cli_cmd_t *cmd = &ik_cmd_group_ls;
  ik_cli_common_t c = {0};
  ik_optparse_t p;
  int parsed = ik_cli_common_parse(cmd, argc, argv, &c, &p);
  if (parsed >= 0) return parsed;
  if (p.index < argc) return ik_cli_usage_error(cmd, "unexpected argument \"%s\"", argv[p.index]);
  const ik_cli_target_t t = group_plugin(&c);
  ik_cli_client_t s;
  int code = ik_cli_client_open(&s, cmd, &t);
  if (code != IK_EXIT_OK) return code;
  ik_cli_result_t res = {0};
  ik_err_t err = {0};
  int rc = s.pl.group.vt->inspect(s.pl.group.self, ik_cli_result_cb, &res, &err);
  code = ik_cli_client_finish(&s, rc, &res, &err);
  json_t *rows = json_array();
  size_t i;
  json_t *spec;
  json_array_foreach(res.result, i, spec) {
    if (code != IK_EXIT_OK) break;
    const char *id = json_string_value(json_object_get(spec, "ID"));
    ik_cli_result_t st = {0};
    if (id && s.pl.group.vt->status) code = status_call(&s, id, &st);
    if (code == IK_EXIT_OK) {
      json_t *sum = json_object_get(st.result, "Summary");
      json_array_append_new(rows, json_pack("{s:s, s:s, s:O?, s:O?, s:O?}", "ID", id ? id : "", "Phase",
                                            st.result ? json_string_value(json_object_get(st.result, "Phase")) : "?",
                                            "Desired", json_object_get(sum, "Desired"), "Current",
                                            json_object_get(sum, "Current"), "Available",
                                            json_object_get(sum, "Available")));
    }
    ik_cli_result_clear(&st);
  }
  if (code == IK_EXIT_OK && c.json) {
    ik_cli_print_json(rows);
  } else if (code == IK_EXIT_OK) {
    printf("%-24s %-14s %8s %8s %10s\n", "ID", "PHASE", "DESIRED", "CURRENT", "AVAILABLE");
    json_t *row;
    json_array_foreach(rows, i, row)
        printf("%-24s %-14s %8lld %8lld %10lld\n", json_string_value(json_object_get(row, "ID")),
               json_string_value(json_object_get(row, "Phase")), json_integer_value(json_object_get(row, "Desired")),
               json_integer_value(json_object_get(row, "Current")), json_integer_value(json_object_get(row, "Available")));
  }
  json_decref(rows);
  ik_cli_result_clear(&res);
  ik_cli_client_close(&s);
  return code;
}

static const ik_cli_cmd_t ik_cmd_group_ls = {
    .name = "group ls",
    .summary = "List the groups the controller manages",
    .usage = "infrakit group ls [--json] [--plugin NAME]",
    .help = "One line per committed group: ID, phase, desired, current and available\n"
            "instances.\n\n"
            "Options:\n"
            "      --json          print a JSON array of {ID, Phase, Desired, Current, Available}\n"
            "  -p, --plugin NAME   the group plugin (default: group)\n",
    .run = ls_run,
};

/* --- scale, free, destroy, promote, pause, resume ----------------------------------------- */

typedef struct scale_arg {
  const char *id;
  unsigned long long size;
} scale_arg_t;

static int start_scale(ik_cli_client_t *s, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  const scale_arg_t *a = arg;
  return s->pl.group.vt->set_size(s->pl.group.self, a->id, a->size, ik_cli_result_cb, res, err);
}

static const ik_cli_cmd_t ik_cmd_group_scale;
static int scale_run(int argc, char **argv) {
  const ik_cli_cmd_t *cmd = &ik_cmd_group_scale;
  ik_cli_common_t c = {0};
  ik_optparse_t p;
  int parsed = ik_cli_common_parse(cmd, argc, argv, &c, &p);
  if (parsed >= 0) return parsed;
  if (argc - p.index != 2) return ik_cli_usage_error(cmd, "want the group ID and the new size");
  const char *id = argv[p.index], *n = argv[p.index + 1];
  char *end;
  unsigned long long size = strtoull(n, &end, 10);
  if (*n == '\0' || *n == '-' || *end != '\0') return ik_cli_usage_error(cmd, "SIZE \"%s\": want a whole number >= 0", n);
  const ik_cli_target_t t = group_plugin(&c);
  ik_cli_result_t res = {0};
  int code = ik_cli_client_call(cmd, &t, start_scale, &(scale_arg_t){.id = id, .size = size}, &res);
  if (code == IK_EXIT_OK && !c.json) printf("group %s: size set to %llu\n", id, size);
  if (code == IK_EXIT_OK && c.json) printf("{\"ID\": \"%s\", \"Size\": %llu}\n", id, size);
  ik_cli_result_clear(&res);
  return code;
}

static const ik_cli_cmd_t ik_cmd_group_scale = {
    .name = "group scale",
    .summary = "Change a group's size (cattle); never replaces instances",
    .usage = "infrakit group scale [--json] [--plugin NAME] ID SIZE",
    .help = "Sets Allocation.Size of group ID (stored durably first). Instances are added\n"
            "or removed (DeletePolicy picks which); none is replaced. A pets group\n"
            "(LogicalIDs) is scaled by committing a new list of logical IDs instead.\n\n"
            "Options:\n"
            "      --json          print {\"ID\", \"Size\"}\n"
            "  -p, --plugin NAME   the group plugin (default: group)\n",
    .run = scale_run,
};

/* free, destroy, promote, pause and resume share these options. */
#define SIMPLE_OPTS_HELP                                 \
  "\nOptions:\n"                                         \
  "      --json          print {\"ID\", \"OK\": true}\n" \
  "  -p, --plugin NAME   the group plugin (default: group)\n"
static const ik_cli_cmd_t ik_cmd_group_free, ik_cmd_group_destroy, ik_cmd_group_promote, ik_cmd_group_pause,
    ik_cmd_group_resume;
static int free_run(int argc, char **argv) {
  return id_command(&ik_cmd_group_free, argc, argv, OP_FREE, "no longer managed; its instances are left running");
}
static int destroy_run(int argc, char **argv) {
  return id_command(&ik_cmd_group_destroy, argc, argv, OP_DESTROY, "destroyed, with its instances");
}
static int promote_run(int argc, char **argv) {
  return id_command(&ik_cmd_group_promote, argc, argv, OP_PROMOTE, "promoted; the rollout goes on past the canaries");
}
static int pause_run(int argc, char **argv) {
  return id_command(&ik_cmd_group_pause, argc, argv, OP_PAUSE,
                    "paused; no new replacement starts until 'infrakit group resume'");
}
static int resume_run(int argc, char **argv) {
  return id_command(&ik_cmd_group_resume, argc, argv, OP_RESUME, "resumed; the rollout goes on");
}

static const ik_cli_cmd_t ik_cmd_group_free = {
    .name = "group free",
    .summary = "Stop managing a group; its instances keep running",
    .usage = "infrakit group free [--json] [--plugin NAME] ID",
    .help = "Removes group ID from the controller and its store. Nothing is destroyed;\n"
            "committing the spec again adopts the instances (they carry the group's tags).\n" SIMPLE_OPTS_HELP,
    .run = free_run,
};

static const ik_cli_cmd_t ik_cmd_group_destroy = {
    .name = "group destroy",
    .summary = "Destroy a group's instances (drained first), then forget the group",
    .usage = "infrakit group destroy [--json] [--plugin NAME] ID",
    .help = "Every member is drained by its flavor and destroyed (context terminate). When\n"
            "a destroy fails the command fails, naming each instance and error, and the\n"
            "group stays in phase destroying; run the command again to retry.\n" SIMPLE_OPTS_HELP,
    .run = destroy_run,
};

static const ik_cli_cmd_t ik_cmd_group_promote = {
    .name = "group promote",
    .summary = "Let a canary rollout go on past its canaries",
    .usage = "infrakit group promote [--json] [--plugin NAME] ID",
    .help = "With Properties.Updating.Canary N, a rollout stops once N instances run the\n"
            "new config (phase canary-paused). Check them, then promote: the rollout goes\n"
            "on under MaxSurge / MaxUnavailable. The promotion is stored durably.\n" SIMPLE_OPTS_HELP,
    .run = promote_run,
};

static const ik_cli_cmd_t ik_cmd_group_pause = {
    .name = "group pause",
    .summary = "Pause a group's rollout: no new replacement until resume",
    .usage = "infrakit group pause [--json] [--plugin NAME] ID",
    .help = "Stores durably that group ID is paused (phase paused), as 'kubectl rollout\n"
            "pause' does: the rollout starts no new replacement - no surge, no rolling\n"
            "update destroy. Actions already in flight finish. Scaling, the replacement of\n"
            "lost or unhealthy instances and rollback-on-failure detection go on. A group\n"
            "with no rollout may be paused too: a spec committed while paused waits.\n"
            "The pause survives a restart of the daemon and a change of leader.\n"
            "Fails (exit 1) if the group is unknown or already paused.\n" SIMPLE_OPTS_HELP,
    .run = pause_run,
};

static const ik_cli_cmd_t ik_cmd_group_resume = {
    .name = "group resume",
    .summary = "Resume a paused rollout",
    .usage = "infrakit group resume [--json] [--plugin NAME] ID",
    .help = "Clears the pause of group ID (stored durably): its rollout goes on under\n"
            "MaxSurge / MaxUnavailable, or the spec committed while paused rolls out.\n"
            "Fails (exit 1) if the group is unknown or not paused.\n" SIMPLE_OPTS_HELP,
    .run = resume_run,
};

/* --- watch ----------------------------------------------------------------
 *
 * Follows the daemon's event stream for the group (GET /events?group=ID)
 * and asks for its status when something happened: at once, not every
 * half second. A status call is also made every --interval, for what
 * comes without an event. */

/* Exit statuses of `group watch` beyond 0, 1 and 2 (its --help lists them). */
enum { WATCH_EXIT_BLOCKED = 3,
       WATCH_EXIT_PAUSED = 4,
       WATCH_EXIT_TIMEOUT = 5 };

typedef struct watch {
  ik_cli_client_t s;
  const ik_cli_cmd_t *cmd;
  const char *id;
  bool json, until_steady;
  char last[1024]; /* the last line printed */
  bool asking;     /* a status call is on its way */
  bool again;      /* something happened meanwhile: ask again after it */
  bool finished;   /* the exit status is decided */
  int code;
  ik_cli_events_t f;
  uv_timer_t recheck;
} watch_t;

static void watch_finish(watch_t *w, int code) {
  if (w->finished) return;
  w->finished = true;
  w->code = code;
  ik_cli_events_stop(&w->f);
}

/* "rolling 2/5 updated, 4 available, 6 current: <reason>" */
static void status_line(const json_t *st, char *line, size_t len) {
  const json_t *sum = json_object_get(st, "Summary");
  const char *phase = json_string_value(json_object_get(st, "Phase"));
  const char *reason = json_string_value(json_object_get(sum, "Reason"));
  snprintf(line, len, "%s %lld/%lld updated, %lld available, %lld current%s%s", phase ? phase : "?",
           json_integer_value(json_object_get(sum, "Done")), json_integer_value(json_object_get(sum, "Total")),
           json_integer_value(json_object_get(sum, "Available")), json_integer_value(json_object_get(sum, "Current")),
           reason && *reason ? ": " : "", reason && *reason ? reason : "");
}

static void watch_ask(watch_t *w);

static void on_watch_status(json_t *st, const ik_err_t *err, void *data) {
  watch_t *w = data;
  w->asking = false;
  if (w->finished) return;
  /* No daemon to answer (it is restarting): the stream reconnects, and
   * its live mark (or --interval) asks again. */
  if (err && err->code == IK_EIO) return;
  if (err) {
    ik_cli_fail(w->cmd, "%s", err->msg);
    watch_finish(w, IK_EXIT_FAIL);
    return;
  }
  char line[1024];
  status_line(st, line, sizeof line);
  if (strcmp(line, w->last) != 0) {
    time_t now = time(NULL);
    struct tm tm;
    char when[16];
    strftime(when, sizeof when, "%H:%M:%S", localtime_r(&now, &tm));
    if (w->json) {
      char *text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
      puts(text);
      free(text);
    } else {
      printf("%s group %s: %s\n", when, w->id, line);
    }
    fflush(stdout);
    snprintf(w->last, sizeof w->last, "%s", line);
  }
  const char *phase = json_string_value(json_object_get(st, "Phase"));
  /* A crash loop is not steady, even while its latest instance lives. */
  bool steady = phase && strcmp(phase, "steady") == 0 && json_array_size(json_object_get(st, "InFlight")) == 0 &&
                !json_is_object(json_object_get(st, "CrashLoop"));
  if (w->until_steady && steady) {
    watch_finish(w, IK_EXIT_OK);
  } else if (w->until_steady && phase && strcmp(phase, "blocked") == 0) {
    ik_cli_fail(w->cmd, "group %s is blocked, it will not become steady by itself: %s", w->id, line);
    fprintf(stderr, "Fix the cause (see 'infrakit group describe %s' and 'infrakit events --group %s'), or\n"
                    "commit a spec that works.\n",
            w->id, w->id);
    watch_finish(w, WATCH_EXIT_BLOCKED);
  } else if (w->until_steady && phase && strcmp(phase, "paused") == 0) {
    ik_cli_fail(w->cmd, "group %s is paused: %s", w->id, line);
    fprintf(stderr, "'infrakit group resume %s' lets the rollout go on.\n", w->id);
    watch_finish(w, WATCH_EXIT_PAUSED);
  } else if (w->until_steady && phase && strcmp(phase, "canary-paused") == 0) {
    ik_cli_fail(w->cmd, "group %s is waiting for its canaries to be promoted: %s", w->id, line);
    fprintf(stderr, "Check the canaries, then 'infrakit group promote %s' (the rollout goes on), or commit\n"
                    "the previous spec to roll them back.\n",
            w->id);
    watch_finish(w, WATCH_EXIT_PAUSED);
  } else if (w->again) {
    watch_ask(w);
  }
}

/* Ask for the status, or, while a call is out, again after it. */
static void watch_ask(watch_t *w) {
  if (w->finished) return;
  if (w->asking) {
    w->again = true;
    return;
  }
  w->again = false;
  ik_err_t err = {0};
  const ik_group_vtable_t *vt = w->s.pl.group.vt;
  int rc = vt->status ? vt->status(w->s.pl.group.self, w->id, on_watch_status, w, &err)
                      : ik_err_set(&err, IK_ENOTFOUND, "this group plugin does not support it");
  if (rc < 0) {
    ik_cli_fail(w->cmd, "%s", err.msg);
    watch_finish(w, IK_EXIT_FAIL);
    return;
  }
  w->asking = true;
}

/* Every event of the group, and the mark that the stream is live. */
static void on_watch_event(ik_cli_events_t *f, uint64_t seq, const char *event, const char *line) {
  watch_ask(f->data);
}

static void on_recheck(uv_timer_t *t) { watch_ask(t->data); }
static void on_recheck_closed(uv_handle_t *h) { (void)h; }

static const ik_cli_cmd_t ik_cmd_group_watch;
static int watch_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {IK_CLI_COMMON_OPTS, {"until-steady", 0, false}, {"interval", 0, true}, {"timeout", 0, true}, {NULL, 0, false}};
  ik_cli_common_t c = {0};
  watch_t w = {.cmd = &ik_cmd_group_watch};
  long interval = 5000;
  uint64_t timeout_ms = 0;
  ik_optparse_t p;
  ik_opt_init(&p, w.cmd, argc, argv);
  for (int o; (o = ik_cli_common_next(&p, opts, &c)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    if (o == IK_CLI_OPT_FIRST_OWN) w.until_steady = true;
    if (o == IK_CLI_OPT_FIRST_OWN + 1) {
      char *end;
      interval = strtol(p.arg, &end, 10);
      if (*end != '\0' || interval < 50 || interval > 600000)
        return ik_cli_usage_error(w.cmd, "--interval %s: want milliseconds from 50 to 600000", p.arg);
    }
    if (o == IK_CLI_OPT_FIRST_OWN + 2 && (ik_parse_go_duration(p.arg, &timeout_ms) < 0 || timeout_ms == 0))
      return ik_cli_usage_error(w.cmd, "--timeout %s: want a duration such as 90s or 10m", p.arg);
  }
  w.id = one_id(&p);
  if (w.id == NULL) return IK_EXIT_USAGE;
  w.json = c.json;
  const ik_cli_target_t t = group_plugin(&c);
  int code = ik_cli_client_open(&w.s, w.cmd, &t);
  if (code != IK_EXIT_OK) return code;
  w.f = (ik_cli_events_t){.plugin = t.name, .group = w.id, .timeout_ms = timeout_ms, .reconnect = true, .on_event = on_watch_event, .data = &w};
  uv_timer_init(&w.s.r.loop.uv, &w.recheck);
  w.recheck.data = &w;
  uv_timer_start(&w.recheck, on_recheck, (uint64_t)interval, (uint64_t)interval);
  int rc = ik_cli_events_run(&w.s.r, &w.f);
  uv_close((uv_handle_t *)&w.recheck, on_recheck_closed);
  if (!w.finished && rc == IK_ETIMEDOUT) {
    char after[32];
    if (timeout_ms % 1000) snprintf(after, sizeof after, "%" PRIu64 "ms", timeout_ms);
    else snprintf(after, sizeof after, "%" PRIu64 "s", timeout_ms / 1000);
    ik_cli_fail(w.cmd, "timed out after %s; group %s: %s", after, w.id, w.last[0] ? w.last : "no status yet");
    w.code = WATCH_EXIT_TIMEOUT;
  } else if (!w.finished) {
    ik_cli_fail(w.cmd, "%s%s", w.f.err.msg, rc == IK_ENOTFOUND ? " (is this infrakit's own daemon?)" : "");
    w.code = IK_EXIT_FAIL;
  }
  w.finished = true; /* a status answer still on its way is dropped */
  ik_cli_client_close(&w.s);
  return w.code;
}

static const ik_cli_cmd_t ik_cmd_group_watch = {
    .name = "group watch",
    .summary = "Follow a group's progress as it changes",
    .usage = "infrakit group watch [--until-steady] [--timeout DURATION] [--interval MS] [--json] [--plugin NAME] ID",
    .help = "Prints a timestamped line each time the group's phase or progress changes\n"
            "(\"rolling 2/5 updated, 4 available, 6 current: ...\"). It follows the daemon's\n"
            "event stream (GET /events) and asks for the group's status when something\n"
            "happens. Ctrl-C stops it. When the stream ends (the daemon restarts) it says so\n"
            "on stderr and reconnects, with backoff; --timeout bounds the whole wait.\n"
            "'infrakit events --group ID' shows the events themselves.\n\n"
            "Options:\n"
            "      --until-steady      exit 0 once the group is steady with nothing in flight\n"
            "                          and no crash loop; exit 3 if it is blocked, 4 if a\n"
            "                          canary rollout waits for 'infrakit group promote'\n"
            "                          or the group is paused ('infrakit group resume')\n"
            "      --timeout DURATION  give up after this long (90s, 10m): exit 5\n"
            "      --interval MS       also ask this often, events or not (default 5000)\n"
            "      --json              print the whole status document on each change\n"
            "  -p, --plugin NAME       the group plugin (default: group)\n\n"
            "Exit status: 0 steady (--until-steady), 1 an error (no daemon at the start,\n"
            "unknown group), 2 a usage error, 3 blocked, 4 canary-paused or paused,\n"
            "5 timed out.\n",
    .run = watch_run,
};

/* --- the command ---------------------------------------------------------- */

static const ik_cli_cmd_t *const group_subs[] = {
    &ik_cmd_group_commit,
    &ik_cmd_group_describe,
    &ik_cmd_group_ls,
    &ik_cmd_group_scale,
    &ik_cmd_group_free,
    &ik_cmd_group_destroy,
    &ik_cmd_group_promote,
    &ik_cmd_group_pause,
    &ik_cmd_group_resume,
    &ik_cmd_group_watch,
    NULL,
};

static int group_run(int argc, char **argv) { return ik_cli_run_sub(&ik_cmd_group, group_subs, argc, argv); }

const ik_cli_cmd_t ik_cmd_group = {
    .name = "group",
    .summary = "Manage groups of instances: commit, describe, scale, roll out, destroy",
    .usage = "infrakit group commit|describe|ls|scale|free|destroy|promote|pause|resume|watch ...",
    .help = "Subcommands (each has --help):\n"
            "  commit      create or update a group from its spec (FILE or -)\n"
            "  describe    phase, progress, instances, failures of one group\n"
            "  ls          every group the controller manages\n"
            "  scale       change the size of a group (never replaces instances)\n"
            "  free        stop managing a group, leaving its instances\n"
            "  destroy     destroy a group's instances and forget it\n"
            "  promote     let a canary rollout go on\n"
            "  pause       pause a group's rollout (no new replacement)\n"
            "  resume      let a paused rollout go on\n"
            "  watch       follow a group's progress\n\n"
            "They talk to the daemon's group controller (plugin \"group\"; start it with\n"
            "'infrakit daemon'); docs/groups.md explains specs, rollouts and health.\n\n"
            "Example:\n"
            "  infrakit group commit workers.json && infrakit group watch --until-steady workers\n",
    .run = group_run,
};
