/* infrakit plan FILE|- [--json]: what committing a group spec would do,
 * now. Reads the spec, asks its instance plugin which instances the group
 * has (tag infrakit.group), and prints the plan's actions - without doing
 * any of them. Health is not asked of the flavor: every instance counts as
 * healthy, so the plan shows what the spec changes, not what health would
 * hold back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "engine/group_spec.h"
#include "engine/observe.h"
#include "engine/plan.h"
#include "loop/loop.h"
#include "net/client/remote.h"

static json_t *plan_json(const ik_plan_t *plan) {
  const ik_plan_summary_t *s = &plan->summary;
  json_t *actions = json_array();
  for (size_t i = 0; i < plan->n_actions; i++) {
    ik_buf_t line = {0};
    ik_plan_action_format(&line, &plan->actions[i]);
    json_array_append_new(actions, json_pack("{s:s, s:s}", "Kind", ik_plan_action_kind_name(plan->actions[i].kind), "Text",
                                             ik_buf_cstr(&line)));
    ik_buf_free(&line);
  }
  return json_pack("{s:{s:s, s:I, s:I, s:I, s:I, s:I, s:s}, s:o}", "Summary", "Phase", ik_plan_phase_name(s->phase),
                   "Desired", (json_int_t)s->desired, "Current", (json_int_t)s->current, "Updated",
                   (json_int_t)s->updated, "Done", (json_int_t)s->done, "Total", (json_int_t)s->total, "Reason",
                   s->reason, "Actions", actions);
}

static void plan_print(const ik_group_spec_t *spec, const ik_plan_t *plan) {
  ik_buf_t line = {0};
  ik_plan_summary_format(&line, &plan->summary);
  printf("group %s (config %s): %s\n", spec->id, spec->config_hash, ik_buf_cstr(&line));
  ik_buf_free(&line);
  if (plan->n_actions == 0) printf("  nothing to do\n");
  for (size_t i = 0; i < plan->n_actions; i++) {
    ik_plan_action_format(&line, &plan->actions[i]);
    printf("  %s\n", ik_buf_cstr(&line));
    ik_buf_free(&line);
  }
}

static int plan_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {{"json", 0, false}, {NULL, 0, false}};
  bool as_json = false;
  ik_optparse_t p;
  ik_opt_init(&p, &ik_cmd_plan, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    as_json = true;
  }
  if (p.index >= argc) return ik_cli_usage_error(&ik_cmd_plan, "missing FILE (or - to read standard input)");
  if (p.index + 1 < argc) return ik_cli_usage_error(&ik_cmd_plan, "unexpected argument \"%s\"", argv[p.index + 1]);

  ik_err_t err = {0};
  ik_group_spec_t spec = {0};
  json_t *doc = ik_cli_read_json(argv[p.index], &err);
  uint64_t max_size;
  if (doc == NULL || ik_cli_max_group_size(&max_size, &err) < 0 ||
      ik_group_spec_parse_limited(doc, max_size, &spec, &err) < 0) {
    ik_cli_eprintf("infrakit plan: %s\n", err.msg);
    json_decref(doc);
    ik_group_spec_free(&spec);
    return IK_EXIT_FAIL;
  }
  ik_cli_remote_t r;
  ik_cli_result_t res = {0};
  int rc = ik_cli_remote_open(&r, &err);
  if (rc == 0) {
    ik_instance_plugin_t pl = {0};
    json_t *tags = json_pack("{s:s}", IK_TAG_GROUP, spec.id);
    rc = ik_remote_instance_open(r.http, r.dir, spec.instance_plugin, &pl, &err);
    if (rc == 0) rc = pl.vt->describe(pl.self, tags, false, ik_cli_result_cb, &res, &err);
    if (rc == 0) {
      ik_cli_remote_wait(&r, &res.done, 1);
      if (res.err.code) err = res.err, rc = res.err.code;
    }
    json_decref(tags);
    if (pl.vt) pl.vt->free(pl.self);
    ik_cli_remote_close(&r);
  }
  ik_plan_instance_t *insts = NULL;
  size_t n = 0;
  ik_plan_t plan = {0};
  if (rc == 0) rc = ik_observe_descriptions(res.result, &insts, &n, &err);
  if (rc == 0) {
    for (size_t i = 0; i < n; i++) insts[i].health = IK_HEALTH_HEALTHY; /* see the comment at the top */
    ik_plan_input_t in = {.spec = &spec, .instances = insts, .n_instances = n, .now_ms = (int64_t)(ik_loop_walltime() * 1000), .poll_ms = 5000};
    rc = ik_plan_compute(&in, &plan, &err);
  }
  if (rc < 0) {
    ik_cli_eprintf("infrakit plan: %s\n", err.msg);
  } else if (as_json) {
    json_t *o = plan_json(&plan);
    ik_cli_print_json(o);
    json_decref(o);
  } else {
    plan_print(&spec, &plan);
  }
  if (rc == 0) ik_plan_free(&plan);
  ik_free(insts);
  ik_cli_result_clear(&res);
  ik_group_spec_free(&spec);
  json_decref(doc);
  return rc < 0 ? IK_EXIT_FAIL : IK_EXIT_OK;
}

const ik_cli_cmd_t ik_cmd_plan = {
    .name = "plan",
    .summary = "Show what committing a group spec would do now, without doing it",
    .usage = "infrakit plan [--json] FILE|-",
    .help = "FILE holds a group spec, InfraKit's group.Spec: {\"ID\": \"workers\", \"Properties\":\n"
            "{\"Allocation\": ..., \"Instance\": {\"Plugin\", \"Properties\"}, \"Flavor\": {...},\n"
            "\"Updating\": {...}}} (docs/groups.md). The group's instances are asked of its\n"
            "instance plugin (tag infrakit.group=ID); the plan lists the actions a commit\n"
            "would start now: provisions, destroys, drains, waits. Health is not checked:\n"
            "every instance counts as healthy. A spec error names its field (exit 1).\n\n"
            "Options:\n"
            "  --json   print {\"Summary\": {...}, \"Actions\": [{\"Kind\", \"Text\"}]}\n\n"
            "Example:\n"
            "  infrakit plan workers.json\n",
    .run = plan_run,
};
