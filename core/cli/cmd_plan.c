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

/* The instances of the group whose tags (infrakit.group=ID) arg holds. */
static int describe_group(ik_cli_client_t *c, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  return c->pl.instance.vt->describe(c->pl.instance.self, arg, false, ik_cli_result_cb, res, err);
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
  const char *file = ik_cli_one_arg(&p, "missing FILE (or - to read standard input)");
  if (file == NULL) return IK_EXIT_USAGE;

  ik_err_t err = {0};
  ik_group_spec_t spec;
  json_t *doc = ik_cli_read_group_spec(file, &spec, &err);
  if (doc == NULL) return ik_cli_fail(&ik_cmd_plan, "%s", err.msg);
  ik_cli_result_t res = {0};
  json_t *tags = json_pack("{s:s}", IK_TAG_GROUP, spec.id);
  int code = ik_cli_client_call(&ik_cmd_plan, &(ik_cli_target_t){.kind = IK_CLI_INSTANCE, .name = spec.instance_plugin}, describe_group, tags, &res);
  json_decref(tags);
  ik_plan_instance_t *insts = NULL;
  size_t n = 0;
  ik_plan_t plan = {0};
  bool planned = false;
  if (code == IK_EXIT_OK && ik_observe_descriptions(res.result, &insts, &n, &err) == 0) {
    for (size_t i = 0; i < n; i++) insts[i].health = IK_HEALTH_HEALTHY; /* see the comment at the top */
    ik_plan_input_t in = {.spec = &spec, .instances = insts, .n_instances = n, .now_ms = (int64_t)(ik_loop_walltime() * 1000), .poll_ms = 5000};
    planned = ik_plan_compute(&in, &plan, &err) == 0;
  }
  if (code == IK_EXIT_OK && !planned) {
    code = ik_cli_fail(&ik_cmd_plan, "%s", err.msg);
  } else if (planned && as_json) {
    json_t *o = plan_json(&plan);
    ik_cli_print_json(o);
    json_decref(o);
  } else if (planned) {
    plan_print(&spec, &plan);
  }
  if (planned) ik_plan_free(&plan);
  ik_free(insts);
  ik_cli_result_clear(&res);
  ik_group_spec_free(&spec);
  json_decref(doc);
  return code;
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
