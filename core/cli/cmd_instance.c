/* infrakit instance describe|validate|provision|label|destroy --plugin NAME
 *
 * Talks Instance/0.6.1 to any instance plugin in the plugins directory,
 * ours or InfraKit's, through the remote adapter (net/client/remote.h): the same
 * vtable the engine uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/remote.h"

/* One call to the instance plugin --plugin names (ik_cli_client_call). */
static int call(const ik_cli_cmd_t *cmd, const ik_cli_common_t *c, ik_cli_start_fn start, void *arg,
                ik_cli_result_t *res) {
  const ik_cli_target_t t = {.kind = IK_CLI_INSTANCE, .name = c->plugin};
  return ik_cli_client_call(cmd, &t, start, arg, res);
}

/* --- describe ------------------------------------------------------------ */

typedef struct describe_arg {
  json_t *tags;
  bool properties;
} describe_arg_t;

static int op_describe(ik_cli_client_t *c, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  describe_arg_t *a = arg;
  const ik_instance_plugin_t *pl = &c->pl.instance;
  return pl->vt->describe(pl->self, a->tags, a->properties, ik_cli_result_cb, res, err);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* "k=v,k2=v2", keys sorted, for the TAGS column; caller frees. */
static char *tags_text(json_t *tags) {
  size_t n = json_object_size(tags), i = 0;
  const char **keys = ik_calloc(n ? n : 1, sizeof *keys);
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) keys[i++] = k;
  qsort(keys, n, sizeof *keys, cmp_str);
  ik_buf_t b = {0};
  for (i = 0; i < n; i++) {
    json_t *val = json_object_get(tags, keys[i]);
    ik_buf_printf(&b, "%s%s=%s", i ? "," : "", keys[i], json_is_string(val) ? json_string_value(val) : "?");
  }
  if (n == 0) ik_buf_printf(&b, "-");
  ik_free(keys);
  return ik_buf_steal(&b, NULL);
}

static void print_descriptions(const json_t *list, bool properties) {
  size_t wid = 2, wlog = 7, wtags = 4, i, n = json_array_size(list);
  char **tags = ik_calloc(n ? n : 1, sizeof *tags);
  json_t *d;
  json_array_foreach(list, i, d) {
    const char *id = json_string_value(json_object_get(d, "ID"));
    const char *lid = json_string_value(json_object_get(d, "LogicalID"));
    tags[i] = tags_text(json_object_get(d, "Tags"));
    if (id && strlen(id) > wid) wid = strlen(id);
    if (lid && strlen(lid) > wlog) wlog = strlen(lid);
    if (strlen(tags[i]) > wtags) wtags = strlen(tags[i]);
  }
  if (properties) printf("%-*s  %-*s  %-*s  PROPERTIES\n", (int)wid, "ID", (int)wlog, "LOGICAL", (int)wtags, "TAGS");
  else printf("%-*s  %-*s  TAGS\n", (int)wid, "ID", (int)wlog, "LOGICAL");
  json_array_foreach(list, i, d) {
    const char *id = json_string_value(json_object_get(d, "ID"));
    const char *lid = json_string_value(json_object_get(d, "LogicalID"));
    printf("%-*s  %-*s  ", (int)wid, id ? id : "?", (int)wlog, lid ? lid : "-");
    if (properties) {
      json_t *props = json_object_get(d, "Properties");
      char *p = ik_json_dump_go(props ? props : json_null(), false, NULL);
      printf("%-*s  %s", (int)wtags, tags[i], p);
      free(p);
    } else {
      printf("%s", tags[i]);
    }
    putchar('\n');
    ik_free(tags[i]);
  }
  ik_free(tags);
}

/* A KEY=VALUE argument into an object; usage error naming a bad one. */
static int parse_pair(const ik_cli_cmd_t *cmd, const char *what, const char *arg, json_t *into) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL || eq == arg) return ik_cli_usage_error(cmd, "%s \"%s\": want KEY=VALUE", what, arg);
  char key[256];
  snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
  json_object_set_new(into, key, json_string(eq + 1));
  return 0;
}

static const ik_cli_cmd_t ik_cmd_instance_describe;
static int describe_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {IK_CLI_COMMON_OPTS, {"tag", 't', true}, {"properties", 0, false}, {NULL, 0, false}};
  ik_cli_common_t c = {0};
  describe_arg_t a = {.tags = json_object()};
  ik_optparse_t p;
  int rc = IK_EXIT_OK;
  ik_opt_init(&p, &ik_cmd_instance_describe, argc, argv);
  for (int o; rc == IK_EXIT_OK && (o = ik_cli_common_next(&p, opts, &c)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) goto out;
    if (o < 0) rc = IK_EXIT_USAGE;
    else if (o == IK_CLI_OPT_FIRST_OWN) rc = parse_pair(&ik_cmd_instance_describe, "--tag", p.arg, a.tags);
    else if (o == IK_CLI_OPT_FIRST_OWN + 1) a.properties = true;
  }
  if (rc == IK_EXIT_OK && p.index < argc)
    rc = ik_cli_usage_error(&ik_cmd_instance_describe, "unexpected argument \"%s\"", argv[p.index]);
  if (rc != IK_EXIT_OK) goto out;
  ik_cli_result_t res = {0};
  rc = call(&ik_cmd_instance_describe, &c, op_describe, &a, &res);
  if (rc == IK_EXIT_OK && c.json) ik_cli_print_json(res.result);
  else if (rc == IK_EXIT_OK) print_descriptions(res.result, a.properties);
  ik_cli_result_clear(&res);
out:
  json_decref(a.tags);
  return rc;
}

static const ik_cli_cmd_t ik_cmd_instance_describe = {
    .name = "instance describe",
    .summary = "List the instances of an instance plugin",
    .usage = "infrakit instance describe --plugin NAME [--tag KEY=VALUE]... [--properties] [--json]",
    .help = "Sends Instance.DescribeInstances. With --tag, only instances carrying every\n"
            "given tag are listed (AND).\n\n"
            "Options:\n"
            "  -p, --plugin NAME       the instance plugin (\"name\" or \"name/type\")\n"
            "  -t, --tag KEY=VALUE     filter by tag; repeat for more\n"
            "      --properties        include each instance's Properties\n"
            "      --json              print the descriptions as JSON\n\n"
            "Example:\n"
            "  infrakit instance describe --plugin instance-file --tag infrakit.group=web\n",
    .run = describe_run,
};

/* --- validate, provision ------------------------------------------------- */

static int op_validate(ik_cli_client_t *c, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  return c->pl.instance.vt->validate(c->pl.instance.self, arg, ik_cli_result_cb, res, err);
}

static int op_provision(ik_cli_client_t *c, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  return c->pl.instance.vt->provision(c->pl.instance.self, arg, ik_cli_result_cb, res, err);
}

/* validate and provision: one JSON document from FILE or stdin. */
static int document_run(const ik_cli_cmd_t *cmd, ik_cli_start_fn op, int argc, char **argv) {
  ik_cli_common_t c = {0};
  ik_optparse_t p;
  int parsed = ik_cli_common_parse(cmd, argc, argv, &c, &p);
  if (parsed >= 0) return parsed;
  const char *file = ik_cli_one_arg(&p, "missing FILE (or - to read standard input)");
  if (file == NULL) return IK_EXIT_USAGE;
  if (!ik_cli_has_plugin(cmd, c.plugin)) return IK_EXIT_USAGE;
  ik_err_t err = {0};
  json_t *doc = ik_cli_read_json(file, &err);
  if (doc == NULL) return ik_cli_fail(cmd, "%s", err.msg);
  if (op == op_provision && !json_is_object(doc)) {
    int code = ik_cli_fail(cmd, "%s: want an instance spec object {\"Properties\", \"Tags\", ...}", file);
    json_decref(doc);
    return code;
  }
  ik_cli_result_t res = {0};
  int rc = call(cmd, &c, op, doc, &res);
  json_decref(doc);
  if (rc == IK_EXIT_OK) {
    if (op == op_provision) {
      const char *id = json_string_value(res.result);
      if (c.json) {
        json_t *o = json_pack("{s:o}", "ID", json_incref(res.result));
        ik_cli_print_json(o);
        json_decref(o);
      } else {
        puts(id ? id : "(the plugin returned no ID)");
      }
    } else if (c.json) {
      puts("{\"OK\": true}");
    } else {
      puts("valid");
    }
  }
  ik_cli_result_clear(&res);
  return rc;
}

static const ik_cli_cmd_t ik_cmd_instance_validate, ik_cmd_instance_provision;
static int validate_run(int argc, char **argv) { return document_run(&ik_cmd_instance_validate, op_validate, argc, argv); }
static int provision_run(int argc, char **argv) {
  return document_run(&ik_cmd_instance_provision, op_provision, argc, argv);
}

static const ik_cli_cmd_t ik_cmd_instance_validate = {
    .name = "instance validate",
    .summary = "Check instance Properties with the plugin, without creating anything",
    .usage = "infrakit instance validate --plugin NAME FILE|-",
    .help = "Sends Instance.Validate with the Properties read from FILE (- = standard\n"
            "input). Prints \"valid\", or the plugin's error and exits 1.\n\n"
            "Options:\n"
            "  -p, --plugin NAME   the instance plugin (\"name\" or \"name/type\")\n"
            "      --json          print {\"OK\": true}\n",
    .run = validate_run,
};

static const ik_cli_cmd_t ik_cmd_instance_provision = {
    .name = "instance provision",
    .summary = "Create one instance from an instance spec",
    .usage = "infrakit instance provision --plugin NAME FILE|-",
    .help = "Sends Instance.Provision with the spec read from FILE (- = standard input):\n"
            "{\"Properties\": ..., \"Tags\": {...}, \"Init\": \"...\", \"LogicalID\": ...,\n"
            "\"Attachments\": [...]}, all optional. Prints the new instance's ID.\n\n"
            "Options:\n"
            "  -p, --plugin NAME   the instance plugin (\"name\" or \"name/type\")\n"
            "      --json          print {\"ID\": ...}\n\n"
            "Example:\n"
            "  echo '{\"Tags\": {\"tier\": \"web\"}}' | infrakit instance provision --plugin instance-file -\n",
    .run = provision_run,
};

/* --- label, destroy ------------------------------------------------------ */

typedef struct id_arg {
  const char *id;
  const char *reason;
  json_t *labels;
} id_arg_t;

static int op_label(ik_cli_client_t *c, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  id_arg_t *a = arg;
  return c->pl.instance.vt->label(c->pl.instance.self, a->id, a->labels, ik_cli_result_cb, res, err);
}

static int op_destroy(ik_cli_client_t *c, void *arg, ik_cli_result_t *res, ik_err_t *err) {
  id_arg_t *a = arg;
  return c->pl.instance.vt->destroy(c->pl.instance.self, a->id, a->reason, ik_cli_result_cb, res, err);
}

static const ik_cli_cmd_t ik_cmd_instance_label;
static int label_run(int argc, char **argv) {
  const ik_cli_cmd_t *cmd = &ik_cmd_instance_label;
  ik_cli_common_t c = {0};
  ik_optparse_t p;
  int parsed = ik_cli_common_parse(cmd, argc, argv, &c, &p);
  if (parsed >= 0) return parsed;
  if (p.index >= argc) return ik_cli_usage_error(cmd, "missing instance ID");
  if (p.index + 1 >= argc) return ik_cli_usage_error(cmd, "missing KEY=VALUE labels");
  id_arg_t a = {.id = argv[p.index], .labels = json_object()};
  int rc = IK_EXIT_OK;
  for (int i = p.index + 1; rc == IK_EXIT_OK && i < argc; i++) rc = parse_pair(cmd, "label", argv[i], a.labels);
  ik_cli_result_t res = {0};
  if (rc == IK_EXIT_OK) rc = call(cmd, &c, op_label, &a, &res);
  if (rc == IK_EXIT_OK) printf(c.json ? "{\"OK\": true}\n" : "labelled %s\n", a.id);
  ik_cli_result_clear(&res);
  json_decref(a.labels);
  return rc;
}

static const ik_cli_cmd_t ik_cmd_instance_label = {
    .name = "instance label",
    .summary = "Merge labels into an instance's tags",
    .usage = "infrakit instance label --plugin NAME ID KEY=VALUE...",
    .help = "Sends Instance.Label: each KEY=VALUE is set as a tag of instance ID.\n\n"
            "Options:\n"
            "  -p, --plugin NAME   the instance plugin (\"name\" or \"name/type\")\n"
            "      --json          print {\"OK\": true}\n",
    .run = label_run,
};

static const ik_cli_cmd_t ik_cmd_instance_destroy;
static int destroy_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {IK_CLI_COMMON_OPTS, {"reason", 0, true}, {NULL, 0, false}};
  const ik_cli_cmd_t *cmd = &ik_cmd_instance_destroy;
  ik_cli_common_t c = {0};
  const char *reason = "terminate";
  ik_optparse_t p;
  ik_opt_init(&p, cmd, argc, argv);
  for (int o; (o = ik_cli_common_next(&p, opts, &c)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    if (o == IK_CLI_OPT_FIRST_OWN) reason = p.arg;
  }
  if (strcmp(reason, "terminate") != 0 && strcmp(reason, "rolling_update") != 0)
    return ik_cli_usage_error(cmd, "--reason \"%s\": want terminate or rolling_update", reason);
  if (p.index >= argc) return ik_cli_usage_error(cmd, "missing instance ID");
  /* Once, not once per ID. */
  if (!ik_cli_has_plugin(cmd, c.plugin)) return IK_EXIT_USAGE;
  int status = IK_EXIT_OK;
  /* One call per ID, in order; an error is reported and the rest go on. */
  for (int i = p.index; i < argc; i++) {
    id_arg_t a = {.id = argv[i], .reason = reason};
    ik_cli_result_t res = {0};
    int rc = call(cmd, &c, op_destroy, &a, &res);
    if (rc == IK_EXIT_OK) printf(c.json ? "{\"ID\": \"%s\", \"OK\": true}\n" : "destroyed %s\n", a.id);
    else status = rc;
    ik_cli_result_clear(&res);
  }
  return status;
}

static const ik_cli_cmd_t ik_cmd_instance_destroy = {
    .name = "instance destroy",
    .summary = "Destroy instances",
    .usage = "infrakit instance destroy --plugin NAME [--reason terminate|rolling_update] ID...",
    .help = "Sends Instance.Destroy for each ID, in order. A failure is reported and the\n"
            "remaining IDs are still destroyed; the exit status is 1 if any failed.\n\n"
            "Options:\n"
            "  -p, --plugin NAME   the instance plugin (\"name\" or \"name/type\")\n"
            "      --reason WHY    Context.Reason sent to the plugin (default terminate)\n"
            "      --json          print one {\"ID\", \"OK\"} line per destroyed instance\n",
    .run = destroy_run,
};

/* --- the command --------------------------------------------------------- */

static const ik_cli_cmd_t *const instance_subs[] = {
    &ik_cmd_instance_describe,
    &ik_cmd_instance_validate,
    &ik_cmd_instance_provision,
    &ik_cmd_instance_label,
    &ik_cmd_instance_destroy,
    NULL,
};

static int instance_run(int argc, char **argv) { return ik_cli_run_sub(&ik_cmd_instance, instance_subs, argc, argv); }

const ik_cli_cmd_t ik_cmd_instance = {
    .name = "instance",
    .summary = "Use any instance plugin (ours or InfraKit's) over its socket",
    .usage = "infrakit instance describe|validate|provision|label|destroy --plugin NAME ...",
    .help = "Subcommands (each has --help):\n"
            "  describe    list instances, optionally filtered by tags\n"
            "  validate    check instance Properties read from FILE or -\n"
            "  provision   create an instance from a spec read from FILE or -\n"
            "  label       merge KEY=VALUE labels into an instance's tags\n"
            "  destroy     destroy instances by ID\n\n"
            "NAME is a plugin in the plugins directory (see 'infrakit plugin ls'); \"name/type\"\n"
            "picks a typed object of a plugin that hosts several. Output is for people;\n"
            "--json prints JSON for scripts. Exit status 1 when the plugin reports an error.\n\n"
            "Example:\n"
            "  infrakit instance describe --plugin instance-file\n",
    .run = instance_run,
};
