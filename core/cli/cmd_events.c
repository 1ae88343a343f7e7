/* infrakit events [--follow] [--group ID] [--kind K] [--since SEQ] [--json]
 *
 * Prints the daemon's event log through its event stream (GET /events on
 * the group plugin's socket): what the log holds, then, with --follow,
 * each event as it happens. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/event_stream.h"

typedef struct printer {
  bool json;
  bool follow;
} printer_t;

/* "2026-12-07T10:00:00.123Z #42 workers provisioned instance=instance-42
 * attempt=1": the fields beyond seq, time, group and event as key=value. */
static void print_human(uint64_t seq, const char *event, const char *line) {
  json_t *o = json_loads(line, 0, NULL);
  const char *when = json_string_value(json_object_get(o, "time"));
  const char *group = json_string_value(json_object_get(o, "group"));
  printf("%s #%" PRIu64 " %s %s", when ? when : "-", seq, group && *group ? group : "(daemon)", event);
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (!strcmp(key, "seq") || !strcmp(key, "time") || !strcmp(key, "group") || !strcmp(key, "event")) continue;
    if (json_is_string(v)) {
      printf(" %s=%s", key, json_string_value(v));
    } else {
      char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      printf(" %s=%s", key, text ? text : "?");
      free(text);
    }
  }
  putchar('\n');
  json_decref(o);
}

static void on_event(ik_cli_events_t *f, uint64_t seq, const char *event, const char *line) {
  const printer_t *pr = f->data;
  if (line == NULL) { /* history printed */
    if (!pr->follow) ik_cli_events_stop(f);
    return;
  }
  if (pr->json) puts(line);
  else print_human(seq, event, line);
  fflush(stdout);
}

static int events_run(int argc, char **argv) {
  enum { OPT_PLUGIN,
         OPT_JSON,
         OPT_FOLLOW,
         OPT_GROUP,
         OPT_KIND,
         OPT_SINCE };
  static const ik_opt_t opts[] = {{"plugin", 'p', true}, {"json", 0, false}, {"follow", 'f', false}, {"group", 'g', true}, {"kind", 'k', true}, {"since", 0, true}, {NULL, 0, false}};
  const ik_cli_cmd_t *cmd = &ik_cmd_events;
  printer_t pr = {0};
  ik_cli_events_t f = {.on_event = on_event, .data = &pr, .have_since = true};
  ik_optparse_t p;
  ik_opt_init(&p, cmd, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    if (o == OPT_PLUGIN) f.plugin = p.arg;
    if (o == OPT_JSON) pr.json = true;
    if (o == OPT_FOLLOW) pr.follow = true;
    if (o == OPT_GROUP) f.group = p.arg;
    if (o == OPT_KIND) f.kinds = p.arg;
    if (o == OPT_SINCE) {
      char *end;
      f.since = strtoull(p.arg, &end, 10);
      if (*p.arg < '0' || *p.arg > '9' || *end != '\0')
        return ik_cli_usage_error(cmd, "--since %s: want an event's seq (a whole number)", p.arg);
    }
  }
  if (p.index < argc) return ik_cli_usage_error(cmd, "unexpected argument \"%s\"", argv[p.index]);
  ik_cli_remote_t r;
  ik_err_t err = {0};
  if (ik_cli_remote_open(&r, &err) < 0) return ik_cli_fail(cmd, "%s", err.msg);
  int rc = ik_cli_events_run(&r, &f);
  ik_cli_remote_close(&r);
  if (rc < 0)
    return ik_cli_fail(cmd, "%s%s", f.err.msg,
                       f.plugin || rc != IK_ENOTFOUND ? "" : " Start one with 'infrakit daemon'.");
  return IK_EXIT_OK;
}

const ik_cli_cmd_t ik_cmd_events = {
    .name = "events",
    .summary = "Print the daemon's event log, and follow it",
    .usage = "infrakit events [--follow] [--group ID] [--kind NAME[,NAME]] [--since SEQ] [--json] [--plugin NAME]",
    .help = "Prints the events the daemon's group controller logged ($INFRAKIT_HOME/events.jsonl),\n"
            "one a line: time, #seq, group, event and its fields as key=value. With --follow\n"
            "it goes on printing them as they happen (Ctrl-C stops it). It reads the daemon's\n"
            "event stream, GET /events on the group plugin's socket (docs/observability.md).\n\n"
            "Options:\n"
            "  -f, --follow          keep printing events as they happen\n"
            "  -g, --group ID        only this group's events\n"
            "  -k, --kind NAME[,NAME]  only these events (provisioned,plan,action-failed,...)\n"
            "      --since SEQ       only the events after this seq (default 0: all)\n"
            "      --json            print each event's events.jsonl line\n"
            "  -p, --plugin NAME     the group plugin (default: group)\n\n"
            "Exit status: 0, or 1 when the daemon cannot be reached or the stream breaks.\n\n"
            "Example:\n"
            "  infrakit events --follow --group workers --kind provisioned,action-failed\n",
    .run = events_run,
};
