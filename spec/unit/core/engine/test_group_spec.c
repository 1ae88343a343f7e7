/* core/engine/group_spec and quantity: parsing a group spec, defaults,
 * errors that name the field, percentages, durations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "engine/group_spec.h"
#include "engine/quantity.h"

static json_t *load(const char *text) {
  json_error_t jerr;
  json_t *v = json_loads(text, 0, &jerr);
  if (v == NULL) fail_msg("bad JSON in test: %s: %s", jerr.text, text);
  return v;
}

static void put_intstr(ik_buf_t *b, const char *name, ik_intstr_t q) {
  ik_buf_printf(b, " %s=%" PRId64 "%s", name, q.value, q.percent ? "%" : "");
}

/* The parsed struct as one line, so a case states all of it. */
static char *render(const ik_group_spec_t *s) {
  ik_buf_t b = {0};
  const ik_updating_t *u = &s->updating;
  ik_buf_printf(&b, "%s %s size=%" PRIu64, s->id, s->pets ? "pets" : "cattle", s->size);
  if (s->pets) {
    ik_buf_puts(&b, " ids=");
    for (size_t i = 0; i < s->n_logical_ids; i++) ik_buf_printf(&b, "%s%s", i ? "," : "", s->logical_ids[i]);
  }
  ik_buf_printf(&b, " instance=%s flavor=%s", s->instance_plugin, s->flavor_plugin);
  put_intstr(&b, "surge", u->max_surge);
  put_intstr(&b, "unavailable", u->max_unavailable);
  ik_buf_printf(&b,
                " parallel=%u min_healthy=%" PRId64 "ms deadline=%" PRId64 "ms rollback=%d canary=%u delete=%s"
                " skip_drain=%d duration=%" PRId64 "ms count=%" PRId64 " unhealthy_timeout=%" PRId64 "ms",
                u->max_parallel, u->min_healthy_ms, u->healthy_deadline_ms, u->auto_rollback, u->canary,
                ik_delete_policy_name(u->delete_policy), u->skip_drain, u->duration_ms, u->count,
                s->health.unhealthy_timeout_ms);
  put_intstr(&b, "max_unhealthy", s->health.max_unhealthy);
  return ik_buf_steal(&b, NULL);
}

#define BLOCKS "\"Instance\":{\"Plugin\":\"instance-file\"},\"Flavor\":{\"Plugin\":\"flavor-vanilla\"}"
#define CATTLE(extra) "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":3}," BLOCKS extra "}}"
#define LONG_ID "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 129 */
#define SCALING(block) CATTLE(",\"Scaling\":" block)
#define TU "\"Policy\":\"target-utilisation\",\"Target\":10"
#define PETS(extra) "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":[\"a\",\"b\"]}," BLOCKS extra "}}"

static void group_spec_parse_fills_defaults_and_every_field(void **state) {
  (void)state;
  static const struct {
    const char *spec, *want;
  } cases[] = {
      {CATTLE(""),
       "g cattle size=3 instance=instance-file flavor=flavor-vanilla surge=1 unavailable=0 parallel=0 min_healthy=0ms "
       "deadline=600000ms rollback=0 canary=0 delete=Oldest skip_drain=0 duration=0ms count=0 unhealthy_timeout=0ms "
       "max_unhealthy=100%"},
      /* Pets default to destroy-then-create, one at a time (InfraKit's quorum). */
      {PETS(""),
       "g pets size=2 ids=a,b instance=instance-file flavor=flavor-vanilla surge=0 unavailable=1 parallel=0 "
       "min_healthy=0ms deadline=600000ms rollback=0 canary=0 delete=Oldest skip_drain=0 duration=0ms count=0 "
       "unhealthy_timeout=0ms max_unhealthy=100%"},
      {CATTLE(",\"Updating\":{\"MaxSurge\":\"25%\",\"MaxUnavailable\":2,\"MaxParallel\":4,\"MinHealthySeconds\":2.5,"
              "\"HealthyDeadline\":\"1m30s\",\"AutoRollback\":true,\"Canary\":1,\"DeletePolicy\":\"Newest\","
              "\"SkipBeforeInstanceDestroy\":\"drain\",\"Duration\":\"30s\"},"
              "\"Health\":{\"UnhealthyTimeout\":300,\"MaxUnhealthy\":\"40%\"}"),
       "g cattle size=3 instance=instance-file flavor=flavor-vanilla surge=25% unavailable=2 parallel=4 "
       "min_healthy=2500ms deadline=90000ms rollback=1 canary=1 delete=Newest skip_drain=1 duration=30000ms count=0 "
       "unhealthy_timeout=300000ms max_unhealthy=40%"},
      /* Field names match ignoring case; HealthyDeadline may be seconds. */
      {"{\"id\":\"g\",\"properties\":{\"allocation\":{\"size\":0},\"instance\":{\"plugin\":\"i\"},"
       "\"flavor\":{\"plugin\":\"f\"},\"updating\":{\"maxsurge\":0,\"maxunavailable\":\"10%\",\"healthydeadline\":90,"
       "\"count\":2,\"deletepolicy\":\"random\"}}}",
       "g cattle size=0 instance=i flavor=f surge=0 unavailable=10% parallel=0 min_healthy=0ms deadline=90000ms "
       "rollback=0 canary=0 delete=Random skip_drain=0 duration=0ms count=2 unhealthy_timeout=0ms max_unhealthy=100%"},
      /* An empty LogicalIDs list is no list (Go's check); Size 0 beside LogicalIDs is no size. */
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":2,\"LogicalIDs\":[]}," BLOCKS "}}",
       "g cattle size=2 instance=instance-file flavor=flavor-vanilla surge=1 unavailable=0 parallel=0 min_healthy=0ms "
       "deadline=600000ms rollback=0 canary=0 delete=Oldest skip_drain=0 duration=0ms count=0 unhealthy_timeout=0ms "
       "max_unhealthy=100%"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":0,\"LogicalIDs\":[\"x\"]}," BLOCKS
       ",\"Updating\":{\"MaxSurge\":1,\"HealthyDeadline\":0}}}",
       "g pets size=1 ids=x instance=instance-file flavor=flavor-vanilla surge=1 unavailable=1 parallel=0 "
       "min_healthy=0ms deadline=0ms rollback=0 canary=0 delete=Oldest skip_drain=0 duration=0ms count=0 "
       "unhealthy_timeout=0ms max_unhealthy=100%"},
      /* Unknown fields and nulls are ignored, as Go does. */
      {CATTLE(",\"Updating\":{\"MaxSurge\":null,\"Bogus\":1},\"Health\":null,\"Extra\":[1]"),
       "g cattle size=3 instance=instance-file flavor=flavor-vanilla surge=1 unavailable=0 parallel=0 min_healthy=0ms "
       "deadline=600000ms rollback=0 canary=0 delete=Oldest skip_drain=0 duration=0ms count=0 unhealthy_timeout=0ms "
       "max_unhealthy=100%"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = load(cases[i].spec);
    ik_group_spec_t s;
    ik_err_t err = {0};
    if (ik_group_spec_parse(v, &s, &err) != 0) fail_msg("case %zu: %s", i, err.msg);
    char *got = render(&s);
    if (strcmp(got, cases[i].want) != 0) fail_msg("case %zu:\n got  %s\n want %s", i, got, cases[i].want);
    ik_free(got);
    ik_group_spec_free(&s);
    json_decref(v);
  }
}

static void group_spec_parse_refuses_bad_input_naming_the_field(void **state) {
  (void)state;
  static const struct {
    const char *spec, *msg;
  } cases[] = {
      {CATTLE(",\"Updating\":{\"MaxSurge\":true}"),
       "Properties.Updating.MaxSurge: want a number or a percentage like \"25%\", got true"},
      {CATTLE(",\"Updating\":{\"MaxSurge\":\"abc\"}"),
       "Properties.Updating.MaxSurge: want a number or a percentage like \"25%\", got \"abc\""},
      {CATTLE(",\"Updating\":{\"MaxSurge\":\"25\"}"),
       "Properties.Updating.MaxSurge: want a number or a percentage like \"25%\", got \"25\""},
      {CATTLE(",\"Updating\":{\"MaxUnavailable\":-1}"),
       "Properties.Updating.MaxUnavailable: want a number or a percentage like \"25%\", got -1"},
      {CATTLE(",\"Updating\":{\"MaxSurge\":1.5}"),
       "Properties.Updating.MaxSurge: want a number or a percentage like \"25%\", got 1.5"},
      {CATTLE(",\"Updating\":{\"MaxSurge\":\"-5%\"}"),
       "Properties.Updating.MaxSurge: want a number or a percentage like \"25%\", got \"-5%\""},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":-1}," BLOCKS "}}",
       "Properties.Allocation.Size: want a non-negative integer, got -1"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":\"3\"}," BLOCKS "}}",
       "Properties.Allocation.Size: want a non-negative integer, got \"3\""},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":2,\"LogicalIDs\":[\"a\"]}," BLOCKS "}}",
       "Properties.Allocation: only one of Size and LogicalIDs may be used"},
      {"{\"ID\":\"g\",\"Properties\":{" BLOCKS "}}", "Properties.Allocation: must not be blank: give Size or LogicalIDs"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{}," BLOCKS "}}",
       "Properties.Allocation: must not be blank: give Size or LogicalIDs"},
      {CATTLE(",\"Updating\":{\"MaxSurge\":0,\"MaxUnavailable\":0}"),
       "Properties.Updating: MaxSurge and MaxUnavailable cannot both be 0 (both given as 0)"},
      {CATTLE(",\"Updating\":{\"MaxSurge\":\"0%\"}"),
       "Properties.Updating: MaxSurge and MaxUnavailable cannot both be 0 (MaxUnavailable defaults to 0)"},
      {PETS(",\"Updating\":{\"MaxUnavailable\":0}"),
       "Properties.Updating: MaxSurge and MaxUnavailable cannot both be 0 (MaxSurge defaults to 0 for LogicalIDs)"},
      {"{\"Properties\":{\"Allocation\":{\"Size\":1}," BLOCKS "}}", "ID: must not be blank"},
      {"{\"ID\":5,\"Properties\":{}}", "ID: want a string, got 5"},
      /* IDs name store keys and files: no path, no control bytes, bounded. */
      {"{\"ID\":\"../x\",\"Properties\":{}}",
       "ID: '/' is not allowed: use letters, digits, \".\", \"_\" and \"-\" (got \"../x\")"},
      {"{\"ID\":\"..\",\"Properties\":{}}", "ID: must not start with \".\" (got \"..\")"},
      {"{\"ID\":\"a\\tb\",\"Properties\":{}}",
       "ID: byte 0x09 is not allowed: use letters, digits, \".\", \"_\" and \"-\""},
      {"{\"ID\":\"" LONG_ID "\",\"Properties\":{}}", "ID: want at most 128 characters, got 129"},
      /* The size is bounded before anything is planned or allocated. */
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1000000000000}," BLOCKS "}}",
       "Properties.Allocation.Size: 1000000000000 is above the limit of 10000 instances per group (daemon "
       "--max-group-size, INFRAKIT_MAX_GROUP_SIZE)"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":10001}," BLOCKS "}}",
       "Properties.Allocation.Size: 10001 is above the limit of 10000 instances per group (daemon "
       "--max-group-size, INFRAKIT_MAX_GROUP_SIZE)"},
      {"{\"ID\":\"g\"}", "Properties: must not be blank"},
      {"{\"ID\":\"g\",\"Properties\":\"x\"}", "Properties: want an object, got \"x\""},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1},\"Instance\":{\"Plugin\":\"\"}}}",
       "Properties.Instance.Plugin: must not be blank"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1},\"Instance\":{\"Plugin\":\"i\"}}}",
       "Properties.Flavor.Plugin: must not be blank"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1},\"Instance\":[]}}",
       "Properties.Instance: want an object, got an array"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1},\"Instance\":{\"Plugin\":7}}}",
       "Properties.Instance.Plugin: want a string, got 7"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":[\"a\",\"a\"]}," BLOCKS "}}",
       "Properties.Allocation.LogicalIDs[1]: duplicate logical ID \"a\""},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":[\"\"]}," BLOCKS "}}",
       "Properties.Allocation.LogicalIDs[0]: must not be blank"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":[3]}," BLOCKS "}}",
       "Properties.Allocation.LogicalIDs[0]: want a string, got 3"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":\"a\"}," BLOCKS "}}",
       "Properties.Allocation.LogicalIDs: want an array of strings, got \"a\""},
      {CATTLE(",\"Updating\":{\"Count\":2,\"Duration\":\"10s\"}"),
       "Properties.Updating: only one of Count and Duration may be used"},
      {CATTLE(",\"Updating\":{\"Duration\":\"30\"}"), "Properties.Updating.Duration: want a duration like \"30s\", got \"30\""},
      {CATTLE(",\"Updating\":{\"Duration\":30}"), "Properties.Updating.Duration: want a duration like \"30s\", got 30"},
      {CATTLE(",\"Updating\":{\"Count\":-1}"), "Properties.Updating.Count: want a non-negative integer, got -1"},
      {CATTLE(",\"Updating\":{\"SkipBeforeInstanceDestroy\":\"flavor\"}"),
       "Properties.Updating.SkipBeforeInstanceDestroy: want \"drain\", got \"flavor\""},
      {CATTLE(",\"Updating\":{\"DeletePolicy\":\"Largest\"}"),
       "Properties.Updating.DeletePolicy: want \"Oldest\", \"Newest\" or \"Random\", got \"Largest\""},
      {CATTLE(",\"Updating\":{\"HealthyDeadline\":\"-5s\"}"),
       "Properties.Updating.HealthyDeadline: want a duration >= 0, got \"-5s\""},
      {CATTLE(",\"Updating\":{\"HealthyDeadline\":true}"),
       "Properties.Updating.HealthyDeadline: want a number of seconds or a duration like \"30s\", got true"},
      {CATTLE(",\"Updating\":{\"HealthyDeadline\":-1}"),
       "Properties.Updating.HealthyDeadline: want a number of seconds >= 0, got -1"},
      {CATTLE(",\"Updating\":{\"MinHealthySeconds\":\"10\"}"),
       "Properties.Updating.MinHealthySeconds: want a number of seconds >= 0, got \"10\""},
      {CATTLE(",\"Updating\":{\"Canary\":-2}"), "Properties.Updating.Canary: want a non-negative integer, got -2"},
      {CATTLE(",\"Updating\":{\"MaxParallel\":\"3\"}"),
       "Properties.Updating.MaxParallel: want a non-negative integer, got \"3\""},
      {CATTLE(",\"Updating\":{\"AutoRollback\":\"yes\"}"), "Properties.Updating.AutoRollback: want true or false, got \"yes\""},
      {CATTLE(",\"Updating\":[1]"), "Properties.Updating: want an object, got an array"},
      {CATTLE(",\"Health\":{\"MaxUnhealthy\":\"x%\"}"),
       "Properties.Health.MaxUnhealthy: want a number or a percentage like \"25%\", got \"x%\""},
      {CATTLE(",\"Health\":{\"UnhealthyTimeout\":\"5 minutes\"}"),
       "Properties.Health.UnhealthyTimeout: want a duration like \"30s\", got \"5 minutes\""},
      /* Properties.Scaling (scaling_spec.c) */
      {SCALING("3"), "Properties.Scaling: want an object, got 3"},
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":[\"a\"]}," BLOCKS
       ",\"Scaling\":{" TU ",\"Max\":2}}}",
       "Properties.Scaling: needs Allocation.Size: a group of LogicalIDs has no size to scale"},
      {SCALING("{\"Max\":2}"),
       "Properties.Scaling.Policy: must not be blank: give a policy name (\"target-utilisation\") or "
       "{\"Source\": \"<Lua>\"}"},
      {SCALING("{\"Policy\":\"../x\",\"Max\":2}"),
       "Properties.Scaling.Policy: want a name of letters, digits, '.', '_' and '-', got \"../x\""},
      {SCALING("{\"Policy\":7,\"Max\":2}"),
       "Properties.Scaling.Policy: want a policy name or {\"Source\": \"<Lua>\"}, got 7"},
      {SCALING("{\"Policy\":{\"Source\":\"\"},\"Max\":2}"),
       "Properties.Scaling.Policy.Source: want Lua source returning a function, got \"\""},
      {SCALING("{\"Policy\":{},\"Max\":2}"),
       "Properties.Scaling.Policy.Source: want Lua source returning a function, got null"},
      {SCALING("{\"Policy\":\"target-utilisation\",\"Max\":2}"),
       "Properties.Scaling.Target: must not be blank: the target-utilisation policy needs the metric's target "
       "per instance"},
      {SCALING("{\"Policy\":\"target-utilisation\",\"Target\":0,\"Max\":2}"),
       "Properties.Scaling.Target: want a number > 0, got 0"},
      {SCALING("{\"Policy\":\"target-utilisation\",\"Target\":\"high\",\"Max\":2}"),
       "Properties.Scaling.Target: want a number > 0, got \"high\""},
      {SCALING("{" TU ",\"Metric\":\"\",\"Max\":2}"), "Properties.Scaling.Metric: want a metric name, got \"\""},
      {SCALING("{" TU ",\"Tolerance\":1,\"Max\":2}"), "Properties.Scaling.Tolerance: want a fraction in [0, 1), got 1"},
      {SCALING("{" TU "}"), "Properties.Scaling.Max: must not be blank: the autoscaler needs a ceiling"},
      {SCALING("{" TU ",\"Min\":5,\"Max\":2}"), "Properties.Scaling.Max: want an integer >= Min (5), got 2"},
      {SCALING("{" TU ",\"Min\":-1,\"Max\":2}"), "Properties.Scaling.Min: want a non-negative integer, got -1"},
      {SCALING("{" TU ",\"Max\":1.5}"), "Properties.Scaling.Max: want an integer >= Min (1), got 1.5"},
      {SCALING("{" TU ",\"Max\":20000}"),
       "Properties.Scaling.Max: 20000 is above the limit of 10000 instances per group (daemon --max-group-size)"},
      {SCALING("{" TU ",\"Max\":2,\"Interval\":\"10ms\"}"), "Properties.Scaling.Interval: want at least 100ms, got 10ms"},
      {SCALING("{" TU ",\"Max\":2,\"Interval\":\"soon\"}"),
       "Properties.Scaling.Interval: want a duration like \"30s\", got \"soon\""},
      {SCALING("{" TU ",\"Max\":2,\"CooldownUp\":-1}"),
       "Properties.Scaling.CooldownUp: want a number of seconds >= 0, got -1"},
      {SCALING("{" TU ",\"Max\":2,\"ScaleInAfter\":0}"), "Properties.Scaling.ScaleInAfter: want an integer >= 1, got 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = load(cases[i].spec);
    ik_group_spec_t s;
    ik_err_t err = {0};
    int rc = ik_group_spec_parse(v, &s, &err);
    if (rc != IK_EINVAL) fail_msg("case %zu: rc %d, want IK_EINVAL (%s)", i, rc, cases[i].spec);
    if (strcmp(err.msg, cases[i].msg) != 0) fail_msg("case %zu:\n got  %s\n want %s", i, err.msg, cases[i].msg);
    assert_null(s.id); /* nothing kept */
    ik_group_spec_free(&s);
    json_decref(v);
  }
}

/* The limit is the caller's (the daemon's --max-group-size); LogicalIDs
 * count against it like Size, and the limit itself is accepted. */
static void group_spec_parse_limited_bounds_size_and_logical_ids(void **state) {
  (void)state;
  ik_group_spec_t s;
  ik_err_t err = {0};
  json_t *v = load("{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":[\"a\",\"b\",\"c\"]}," BLOCKS "}}");
  assert_int_equal(ik_group_spec_parse_limited(v, 2, &s, &err), IK_EINVAL);
  assert_string_equal(err.msg, "Properties.Allocation.LogicalIDs: 3 is above the limit of 2 instances per group "
                               "(daemon --max-group-size, INFRAKIT_MAX_GROUP_SIZE)");
  assert_int_equal(ik_group_spec_parse_limited(v, 3, &s, &err), 0);
  ik_group_spec_free(&s);
  json_decref(v);
  v = load("{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":50000}," BLOCKS "}}");
  assert_int_equal(ik_group_spec_parse_limited(v, 50000, &s, &err), 0);
  assert_int_equal(s.size, 50000);
  ik_group_spec_free(&s);
  json_decref(v);
  v = load("{\"ID\":\"" LONG_ID "\",\"Properties\":{}}");
  json_object_set_new(v, "ID", json_stringn(LONG_ID, 128));
  json_object_set_new(v, "Properties", load("{\"Allocation\":{\"Size\":1}," BLOCKS "}"));
  assert_int_equal(ik_group_spec_parse(v, &s, &err), 0);
  ik_group_spec_free(&s);
  json_decref(v);
}

static void group_spec_parse_computes_infrakit_config_hash(void **state) {
  (void)state;
  json_t *v = load("{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":2},\"Instance\":{\"Plugin\":"
                   "\"instance-file\",\"Properties\":{\"Note\":\"v1\"}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\","
                   "\"Properties\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}}}");
  ik_group_spec_t s;
  assert_int_equal(ik_group_spec_parse(v, &s, NULL), 0);
  assert_string_equal(s.config_hash, "rsfonnrfmaykaiytaj26ud5ixjk7m4rd");
  assert_non_null(s.instance_properties);
  assert_string_equal(json_string_value(json_object_get(s.instance_properties, "Note")), "v1");
  ik_group_spec_free(&s);
  json_decref(v);
}

/* Cluster API's GetScaledValueFromIntOrPercent. */
static void intstr_scaled_rounds_surge_up_and_unavailable_down(void **state) {
  (void)state;
  static const struct {
    int64_t value;
    bool percent;
    int64_t total;
    bool up;
    int64_t want;
  } cases[] = {
      {25, true, 10, true, 3},
      {25, true, 10, false, 2},
      {1, false, 10, true, 1},
      {1, false, 10, false, 1},
      {0, true, 10, true, 0},
      {100, true, 3, false, 3},
      {150, true, 4, true, 6},
      {33, true, 3, true, 1},
      {33, true, 3, false, 0},
      {50, true, 0, true, 0},
      {1, true, 1, true, 1},
      {1, true, 1, false, 0},
      {5, false, 2, false, 5},
      {20, true, 5, true, 1},
      {20, true, 5, false, 1},
      {10, true, 1000, true, 100},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_intstr_t q = {cases[i].value, cases[i].percent};
    int64_t got = ik_intstr_scaled(q, cases[i].total, cases[i].up);
    if (got != cases[i].want)
      fail_msg("case %zu: %" PRId64 "%s of %" PRId64 " rounded %s = %" PRId64 ", want %" PRId64, i, q.value,
               q.percent ? "%" : "", cases[i].total, cases[i].up ? "up" : "down", got, cases[i].want);
  }
}

/* Expected values from Go 1.19's time.ParseDuration (-1: Go refuses). */
static void go_duration_parse_matches_go(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int rc;
    int64_t ns;
  } cases[] = {
      {"0", 0, INT64_C(0)},
      {"+0", 0, INT64_C(0)},
      {"-0", 0, INT64_C(0)},
      {"1s", 0, INT64_C(1000000000)},
      {"1.5h", 0, INT64_C(5400000000000)},
      {"2h45m", 0, INT64_C(9900000000000)},
      {"300ms", 0, INT64_C(300000000)},
      {"-1.5s", 0, INT64_C(-1500000000)},
      {"1us", 0, INT64_C(1000)},
      {"1\xC2\xB5s", 0, INT64_C(1000)},
      {"1\xCE\xBCs", 0, INT64_C(1000)},
      {".5s", 0, INT64_C(500000000)},
      {"1.s", 0, INT64_C(1000000000)},
      {"", -1, 0},
      {"1", -1, 0},
      {"s", -1, 0},
      {"1x", -1, 0},
      {"1.2.3s", -1, 0},
      {"9223372036854775807ns", 0, INT64_C(9223372036854775807)},
      {"9223372036854775808ns", -1, 0},
      {"-9223372036854775808ns", 0, INT64_MIN},
      {"1h1m1s1ms1us1ns", 0, INT64_C(3661001001001)},
      {"0.333333333333333333333s", 0, INT64_C(333333333)},
      {"2562047h", 0, INT64_C(9223369200000000000)},
      {"2562048h", -1, 0},
      {"1.0000000001s", 0, INT64_C(1000000000)},
      {"10m", 0, INT64_C(600000000000)},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t ns = 42;
    ik_err_t err = {0};
    int rc = ik_go_duration_parse(cases[i].s, "D", &ns, &err);
    if (cases[i].rc == 0) {
      if (rc != 0) fail_msg("\"%s\": %s", cases[i].s, err.msg);
      if (ns != cases[i].ns) fail_msg("\"%s\": %" PRId64 " want %" PRId64, cases[i].s, ns, cases[i].ns);
    } else {
      if (rc != IK_EINVAL) fail_msg("\"%s\": accepted as %" PRId64 ", Go refuses it", cases[i].s, ns);
      char want[128];
      snprintf(want, sizeof want, "D: want a duration like \"30s\", got \"%s\"", cases[i].s);
      assert_string_equal(err.msg, want);
    }
  }
}

/* Properties.Scaling: its defaults and every field (scaling_spec.h). */
static void group_spec_parse_reads_scaling(void **state) {
  (void)state;
  static const struct {
    const char *spec, *want;
  } cases[] = {
      {"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":3}," BLOCKS "}}", "unset"},
      {SCALING("{" TU ",\"Max\":5}"), "min=1 max=5 interval=10000 up=60000 down=60000 after=3"},
      {SCALING("{\"Policy\":{\"Source\":\"return function() return 1 end\"},\"Min\":0,\"Max\":0}"),
       "min=0 max=0 interval=10000 up=60000 down=60000 after=3"},
      {SCALING("{\"policy\":\"mine\",\"min\":2,\"max\":9,\"interval\":\"500ms\",\"cooldown\":30}"),
       "min=2 max=9 interval=500 up=30000 down=30000 after=3"},
      {SCALING("{\"Policy\":\"mine\",\"Max\":9,\"Cooldown\":\"1m\",\"CooldownUp\":\"5s\",\"ScaleInAfter\":1}"),
       "min=1 max=9 interval=10000 up=5000 down=60000 after=1"},
      {SCALING("{\"Policy\":\"mine\",\"Max\":9,\"CooldownDown\":0.5}"),
       "min=1 max=9 interval=10000 up=60000 down=500 after=3"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = load(cases[i].spec);
    ik_group_spec_t s;
    ik_err_t err = {0};
    if (ik_group_spec_parse(v, &s, &err) != 0) fail_msg("case %zu: %s", i, err.msg);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(group_spec_parse_fills_defaults_and_every_field),
      cmocka_unit_test(group_spec_parse_refuses_bad_input_naming_the_field),
      cmocka_unit_test(group_spec_parse_reads_scaling),
      cmocka_unit_test(group_spec_parse_computes_infrakit_config_hash),
      cmocka_unit_test(group_spec_parse_limited_bounds_size_and_logical_ids),
      cmocka_unit_test(intstr_scaled_rounds_surge_up_and_unavailable_down),
      cmocka_unit_test(go_duration_parse_matches_go),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
