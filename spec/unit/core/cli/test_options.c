/* core/cli/options and commands: option parsing, global options, usage
 * errors that name the culprit, typo suggestions, the command table, and
 * what the client commands share (the one positional argument, --plugin
 * and --json, the failure line). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/remote.h"

static const ik_cli_cmd_t fake_cmd = {.name = "fake", .summary = "s", .usage = "infrakit fake", .help = "h"};

static const ik_opt_t opts[] = {
    {"timeout", 't', true},
    {"json", 0, false},
    {"eval", 'e', true},
    {NULL, 0, false},
};

static char captured[4096];
/* Send stderr and stdout to a file until end_capture(), which leaves what
 * was written in captured. */
static FILE *capture_file;
static int saved_fds[2];
static void begin_capture(void) {
  fflush(stderr);
  fflush(stdout);
  capture_file = tmpfile();
  saved_fds[0] = dup(2);
  saved_fds[1] = dup(1);
  dup2(fileno(capture_file), 2);
  dup2(fileno(capture_file), 1);
}
static void end_capture(void) {
  fflush(stderr);
  fflush(stdout);
  dup2(saved_fds[0], 2);
  dup2(saved_fds[1], 1);
  close(saved_fds[0]);
  close(saved_fds[1]);
  rewind(capture_file);
  size_t n = fread(captured, 1, sizeof captured - 1, capture_file);
  captured[n] = '\0';
  fclose(capture_file);
}

/* Parse argv with opts, its output captured. Returns the index of the
 * first positional, or the IK_OPT_* that stopped parsing. */
static int parse_all(int argc, char **argv, int *last_index, const char **last_arg) {
  begin_capture();
  ik_optparse_t p;
  ik_opt_init(&p, &fake_cmd, argc, argv);
  int rc;
  while ((rc = ik_opt_next(&p, opts)) >= 0) {
    if (last_index) *last_index = rc;
    if (last_arg) *last_arg = p.arg;
  }
  end_capture();
  if (rc == IK_OPT_END && last_index && *last_index < 0) *last_index = -1;
  return rc == IK_OPT_END ? p.index : rc;
}

static void one_arg_wants_exactly_one_positional(void **state) {
  static const struct {
    int argc;
    const char *want;   /* the argument, or NULL */
    const char *stderr; /* a line the usage error holds, or "" */
  } cases[] = {
      {1, NULL, "infrakit fake: missing the thing\nRun 'infrakit fake --help' for usage.\n"},
      {2, "one", ""},
      {3, NULL, "infrakit fake: unexpected argument \"two\"\nRun 'infrakit fake --help' for usage.\n"},
  };
  char a0[] = "fake", a1[] = "one", a2[] = "two";
  char *argv[] = {a0, a1, a2, NULL};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_optparse_t p;
    ik_opt_init(&p, &fake_cmd, cases[i].argc, argv);
    begin_capture();
    const char *got = ik_cli_one_arg(&p, "missing the thing");
    end_capture();
    if (cases[i].want) assert_string_equal(got, cases[i].want);
    else assert_null(got);
    assert_string_equal(captured, cases[i].stderr);
  }
}

static void common_options_fill_plugin_and_json_and_stop_at_the_argument(void **state) {
  char a0[] = "fake", a1[] = "-p", a2[] = "instance-file", a3[] = "--json", a4[] = "ID", a5[] = "--json";
  char *argv[] = {a0, a1, a2, a3, a4, a5, NULL};
  ik_cli_common_t c = {0};
  ik_optparse_t p;
  assert_int_equal(ik_cli_common_parse(&fake_cmd, 6, argv, &c, &p), -1);
  assert_string_equal(c.plugin, "instance-file");
  assert_true(c.json);
  assert_int_equal(p.index, 4);
}

static void common_options_report_usage_errors_and_help(void **state) {
  char a0[] = "fake", a1[] = "--plugn", a2[] = "x", h1[] = "--help";
  char *bad[] = {a0, a1, a2, NULL}, *help[] = {a0, h1, NULL};
  ik_cli_common_t c = {0};
  ik_optparse_t p;
  begin_capture();
  int rc = ik_cli_common_parse(&fake_cmd, 3, bad, &c, &p);
  end_capture();
  assert_int_equal(rc, IK_EXIT_USAGE);
  assert_non_null(strstr(captured, "unknown flag --plugn (did you mean --plugin?)"));
  begin_capture();
  rc = ik_cli_common_parse(&fake_cmd, 2, help, &c, &p);
  end_capture();
  assert_int_equal(rc, IK_EXIT_OK);
  assert_non_null(strstr(captured, "Usage: infrakit fake"));
}

static void missing_plugin_is_a_usage_error(void **state) {
  begin_capture();
  bool has = ik_cli_has_plugin(&fake_cmd, NULL);
  end_capture();
  assert_false(has);
  assert_string_equal(captured, "infrakit fake: --plugin NAME is required (see 'infrakit plugin ls')\n"
                                "Run 'infrakit fake --help' for usage.\n");
  assert_true(ik_cli_has_plugin(&fake_cmd, "group"));
}

static void fail_prints_one_line_naming_the_command(void **state) {
  begin_capture();
  int rc = ik_cli_fail(&fake_cmd, "%s: %d", "spec.json", 3);
  end_capture();
  assert_int_equal(rc, IK_EXIT_FAIL);
  assert_string_equal(captured, "infrakit fake: spec.json: 3\n");
}

static void long_option_with_separate_and_inline_value(void **state) {
  char a0[] = "fake", a1[] = "--timeout", a2[] = "5", a3[] = "--eval=x=1", a4[] = "file.lua";
  char *argv[] = {a0, a1, a2, a3, a4, NULL};
  int idx = -1;
  const char *arg = NULL;
  assert_int_equal(parse_all(5, argv, &idx, &arg), 4); /* first positional */
  assert_int_equal(idx, 2);
  assert_string_equal(arg, "x=1");
}

static void short_option_forms(void **state) {
  char a0[] = "fake", a1[] = "-eprint(1)", a2[] = "-t", a3[] = "9";
  char *argv[] = {a0, a1, a2, a3, NULL};
  int idx = -1;
  const char *arg = NULL;
  assert_int_equal(parse_all(4, argv, &idx, &arg), 4);
  assert_int_equal(idx, 0);
  assert_string_equal(arg, "9");
}

static void double_dash_ends_options(void **state) {
  char a0[] = "fake", a1[] = "--", a2[] = "--json";
  char *argv[] = {a0, a1, a2, NULL};
  int idx = -1;
  assert_int_equal(parse_all(3, argv, &idx, NULL), 2);
  assert_int_equal(idx, -1);
}

static void lone_dash_is_positional(void **state) {
  char a0[] = "fake", a1[] = "-";
  char *argv[] = {a0, a1, NULL};
  assert_int_equal(parse_all(2, argv, NULL, NULL), 1);
}

static void unknown_flag_is_named_with_suggestion(void **state) {
  char a0[] = "fake", a1[] = "--timeuot=3";
  char *argv[] = {a0, a1, NULL};
  assert_int_equal(parse_all(2, argv, NULL, NULL), IK_OPT_ERROR);
  assert_non_null(strstr(captured, "infrakit fake: unknown flag --timeuot (did you mean --timeout?)"));
}

static void unknown_short_flag_is_named(void **state) {
  char a0[] = "fake", a1[] = "-z";
  char *argv[] = {a0, a1, NULL};
  assert_int_equal(parse_all(2, argv, NULL, NULL), IK_OPT_ERROR);
  assert_non_null(strstr(captured, "unknown flag -z"));
}

static void missing_value_is_a_usage_error(void **state) {
  char a0[] = "fake", a1[] = "--timeout";
  char *argv[] = {a0, a1, NULL};
  assert_int_equal(parse_all(2, argv, NULL, NULL), IK_OPT_ERROR);
  assert_non_null(strstr(captured, "flag --timeout needs a value"));
}

static void value_for_a_switch_is_a_usage_error(void **state) {
  char a0[] = "fake", a1[] = "--json=yes";
  char *argv[] = {a0, a1, NULL};
  assert_int_equal(parse_all(2, argv, NULL, NULL), IK_OPT_ERROR);
  assert_non_null(strstr(captured, "flag --json takes no value"));
}

static void help_prints_usage_and_stops(void **state) {
  char a0[] = "fake", a1[] = "--help", a2[] = "--bogus";
  char *argv[] = {a0, a1, a2, NULL};
  assert_int_equal(parse_all(3, argv, NULL, NULL), IK_OPT_HELP);
  assert_non_null(strstr(captured, "infrakit fake"));
}

static void global_options_are_accepted_and_applied(void **state) {
  char a0[] = "fake", a1[] = "--log-level", a2[] = "debug", a3[] = "--lua-timeout=2.5";
  char *argv[] = {a0, a1, a2, a3, NULL};
  ik_cli_lua_timeout = 0;
  assert_int_equal(parse_all(4, argv, NULL, NULL), 4);
  assert_true(ik_log_enabled(IK_LOG_DEBUG));
  assert_true(ik_cli_lua_timeout == 2.5);
  ik_log_set_level(IK_LOG_INFO);
  ik_cli_lua_timeout = 0;
}

static void bad_global_values_name_the_flag(void **state) {
  char a0[] = "fake", a1[] = "--log-level=loud";
  char *argv[] = {a0, a1, NULL};
  assert_int_equal(parse_all(2, argv, NULL, NULL), IK_OPT_ERROR);
  assert_non_null(strstr(captured, "--log-level: unknown level \"loud\""));
  char b1[] = "--lua-timeout=-3";
  char *argv2[] = {a0, b1, NULL};
  assert_int_equal(parse_all(2, argv2, NULL, NULL), IK_OPT_ERROR);
  assert_non_null(strstr(captured, "--lua-timeout"));
}

static void edit_distance_counts_edits(void **state) {
  assert_int_equal(ik_cli_edit_distance("", ""), 0);
  assert_int_equal(ik_cli_edit_distance("lua", "lua"), 0);
  assert_int_equal(ik_cli_edit_distance("lua", "lau"), 1); /* adjacent swap */
  assert_int_equal(ik_cli_edit_distance("version", "verison"), 1);
  assert_int_equal(ik_cli_edit_distance("abc", "ca"), 3);
  assert_int_equal(ik_cli_edit_distance("help", ""), 4);
  assert_int_equal(ik_cli_edit_distance("kitten", "sitting"), 3);
}

static void suggest_only_plausible_typos(void **state) {
  const char *names[] = {"help", "version", "lua"};
  const char *got = ik_cli_suggest("versoin", names, 3);
  assert_non_null(got);
  assert_string_equal(got, "version");
  assert_non_null(ik_cli_suggest("hlep", names, 3));
  assert_non_null(ik_cli_suggest("lau", names, 3));
  assert_string_equal(ik_cli_suggest("hlep", names, 3), "help");
  assert_string_equal(ik_cli_suggest("lau", names, 3), "lua");
  assert_null(ik_cli_suggest("deploy", names, 3));
}

static void command_table_is_complete_and_documented(void **state) {
  size_t n = 0;
  for (; ik_cli_commands[n]; n++) {
    const ik_cli_cmd_t *c = ik_cli_commands[n];
    assert_non_null(c->summary);
    assert_non_null(c->usage);
    assert_non_null(c->help);
    assert_non_null(c->run);
    assert_ptr_equal(ik_cli_find(c->name), c);
  }
  assert_true(n >= 3);
  assert_non_null(ik_cli_find("lua"));
  assert_non_null(ik_cli_find("version"));
  assert_non_null(ik_cli_find("help"));
  assert_null(ik_cli_find("nope"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(long_option_with_separate_and_inline_value),
      cmocka_unit_test(short_option_forms),
      cmocka_unit_test(double_dash_ends_options),
      cmocka_unit_test(lone_dash_is_positional),
      cmocka_unit_test(unknown_flag_is_named_with_suggestion),
      cmocka_unit_test(unknown_short_flag_is_named),
      cmocka_unit_test(missing_value_is_a_usage_error),
      cmocka_unit_test(value_for_a_switch_is_a_usage_error),
      cmocka_unit_test(help_prints_usage_and_stops),
      cmocka_unit_test(global_options_are_accepted_and_applied),
      cmocka_unit_test(bad_global_values_name_the_flag),
      cmocka_unit_test(edit_distance_counts_edits),
      cmocka_unit_test(one_arg_wants_exactly_one_positional),
      cmocka_unit_test(common_options_fill_plugin_and_json_and_stop_at_the_argument),
      cmocka_unit_test(common_options_report_usage_errors_and_help),
      cmocka_unit_test(missing_plugin_is_a_usage_error),
      cmocka_unit_test(fail_prints_one_line_naming_the_command),
      cmocka_unit_test(suggest_only_plausible_typos),
      cmocka_unit_test(command_table_is_complete_and_documented),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
