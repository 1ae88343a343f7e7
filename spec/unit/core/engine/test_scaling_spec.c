/* core/engine/scaling_spec: Properties.Scaling, its defaults and the
 * errors that name the field (docs/autoscaling.md). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/group_spec.h"

#define BLOCKS "\"Instance\":{\"Plugin\":\"instance-file\"},\"Flavor\":{\"Plugin\":\"flavor-vanilla\"}"
#define CATTLE(scaling) "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":3}," BLOCKS ",\"Scaling\":" scaling "}}"
#define TU "\"Policy\":\"target-utilisation\",\"Target\":10"

static json_t *load(const char *text) {
  json_error_t jerr;
  json_t *v = json_loads(text, 0, &jerr);
  if (v == NULL) fail_msg("bad JSON in test: %s: %s", jerr.text, text);
  return v;
}

static void scaling_parse_fills_defaults_and_every_field(void **state) {
  (void)state;
  static const struct {
    const char *spec, *want;
  } cases[] = {
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":3}," BLOCKS "}}", "unset"},
      {CATTLE("{" TU ",\"Max\":5}"), "min=1 max=5 interval=10000 up=60000 down=60000 after=3"},
      {CATTLE("{\"Policy\":{\"Source\":\"return function() return 1 end\"},\"Min\":0,\"Max\":0}"),
       "min=0 max=0 interval=10000 up=60000 down=60000 after=3"},
      {CATTLE("{\"policy\":\"mine\",\"min\":2,\"max\":9,\"interval\":\"500ms\",\"cooldown\":30}"),
       "min=2 max=9 interval=500 up=30000 down=30000 after=3"},
      {CATTLE("{\"Policy\":\"mine\",\"Max\":9,\"Cooldown\":\"1m\",\"CooldownUp\":\"5s\",\"ScaleInAfter\":1}"),
       "min=1 max=9 interval=10000 up=5000 down=60000 after=1"},
      {CATTLE("{\"Policy\":\"mine\",\"Max\":9,\"CooldownDown\":0.5}"),
       "min=1 max=9 interval=10000 up=60000 down=500 after=3"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = load(cases[i].spec);
    ik_group_spec_t s;
    ik_err_t err = {0};
    int rc = ik_group_spec_parse(v, &s, &err);
    if (rc != 0) fail_msg("case %zu: %s", i, err.msg);
    char got[160];
    const ik_scaling_t *c = &s.scaling;
    if (!c->set)
      snprintf(got, sizeof got, "unset");
    else
      snprintf(got, sizeof got, "min=%" PRIu64 " max=%" PRIu64 " interval=%" PRId64 " up=%" PRId64 " down=%" PRId64 " after=%u", c->min, c->max, c->interval_ms, c->cooldown_up_ms, c->cooldown_down_ms, c->scale_in_after);
    assert_string_equal(got, cases[i].want);
    ik_group_spec_free(&s);
    json_decref(v);
  }
}

static void scaling_parse_refuses_bad_input_naming_the_field(void **state) {
  (void)state;
  static const struct {
    const char *spec, *msg;
  } cases[] = {
      {CATTLE("3"), "Properties.Scaling: want an object, got 3"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":[\"a\"]}," BLOCKS
       ",\"Scaling\":{" TU ",\"Max\":2}}}",
       "Properties.Scaling: needs Allocation.Size: a group of LogicalIDs has no size to scale"},
      {CATTLE("{\"Max\":2}"),
       "Properties.Scaling.Policy: must not be blank: give a policy name (\"target-utilisation\") or "
       "{\"Source\": \"<Lua>\"}"},
      {CATTLE("{\"Policy\":\"../x\",\"Max\":2}"),
       "Properties.Scaling.Policy: want a name of letters, digits, '.', '_' and '-', got \"../x\""},
      {CATTLE("{\"Policy\":7,\"Max\":2}"),
       "Properties.Scaling.Policy: want a policy name or {\"Source\": \"<Lua>\"}, got 7"},
      {CATTLE("{\"Policy\":{\"Source\":\"\"},\"Max\":2}"),
       "Properties.Scaling.Policy.Source: want Lua source returning a function, got \"\""},
      {CATTLE("{\"Policy\":{},\"Max\":2}"),
       "Properties.Scaling.Policy.Source: want Lua source returning a function, got null"},
      {CATTLE("{\"Policy\":\"target-utilisation\",\"Max\":2}"),
       "Properties.Scaling.Target: must not be blank: the target-utilisation policy needs the metric's target "
       "per instance"},
      {CATTLE("{\"Policy\":\"target-utilisation\",\"Target\":0,\"Max\":2}"),
       "Properties.Scaling.Target: want a number > 0, got 0"},
      {CATTLE("{\"Policy\":\"target-utilisation\",\"Target\":\"high\",\"Max\":2}"),
       "Properties.Scaling.Target: want a number > 0, got \"high\""},
      {CATTLE("{" TU ",\"Metric\":\"\",\"Max\":2}"), "Properties.Scaling.Metric: want a metric name, got \"\""},
      {CATTLE("{" TU ",\"Tolerance\":1,\"Max\":2}"), "Properties.Scaling.Tolerance: want a fraction in [0, 1), got 1"},
      {CATTLE("{" TU "}"), "Properties.Scaling.Max: must not be blank: the autoscaler needs a ceiling"},
      {CATTLE("{" TU ",\"Min\":5,\"Max\":2}"), "Properties.Scaling.Max: want an integer >= Min (5), got 2"},
      {CATTLE("{" TU ",\"Min\":-1,\"Max\":2}"), "Properties.Scaling.Min: want a non-negative integer, got -1"},
      {CATTLE("{" TU ",\"Max\":1.5}"), "Properties.Scaling.Max: want an integer >= Min (1), got 1.5"},
      {CATTLE("{" TU ",\"Max\":20000}"),
       "Properties.Scaling.Max: 20000 is above the limit of 10000 instances per group (daemon --max-group-size)"},
      {CATTLE("{" TU ",\"Max\":2,\"Interval\":\"10ms\"}"), "Properties.Scaling.Interval: want at least 100ms, got 10ms"},
      {CATTLE("{" TU ",\"Max\":2,\"Interval\":\"soon\"}"),
       "Properties.Scaling.Interval: want a duration like \"30s\", got \"soon\""},
      {CATTLE("{" TU ",\"Max\":2,\"CooldownUp\":-1}"),
       "Properties.Scaling.CooldownUp: want a number of seconds >= 0, got -1"},
      {CATTLE("{" TU ",\"Max\":2,\"ScaleInAfter\":0}"), "Properties.Scaling.ScaleInAfter: want an integer >= 1, got 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = load(cases[i].spec);
    ik_group_spec_t s;
    ik_err_t err = {0};
    int rc = ik_group_spec_parse(v, &s, &err);
    if (rc != IK_EINVAL) fail_msg("case %zu: want IK_EINVAL, got %d", i, rc);
    if (strcmp(err.msg, cases[i].msg) != 0) fail_msg("case %zu:\n got: %s\nwant: %s", i, err.msg, cases[i].msg);
    ik_group_spec_free(&s);
    json_decref(v);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(scaling_parse_fills_defaults_and_every_field),
      cmocka_unit_test(scaling_parse_refuses_bad_input_naming_the_field),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
