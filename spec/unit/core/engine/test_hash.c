/* core/engine/hash and base/json (Go encoder): InfraKit's config hash, byte for byte.
 *
 * Expected values come from InfraKit's own algorithm (types.go
 * stableFormat + InstanceHash) run by Go 1.19, the toolchain of the
 * recorded capture; the first two are the hashes recorded from a running
 * InfraKit in shared/reference/wire-examples.md. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/json.h"
#include "engine/hash.h"

static json_t *load(const char *text) {
  json_error_t jerr;
  json_t *v = json_loads(text, JSON_ALLOW_NUL, &jerr);
  if (v == NULL) fail_msg("bad JSON in test: %s: %s", jerr.text, text);
  return v;
}

static const struct {
  const char *properties; /* group.Spec's Properties */
  const char *hash;
} hash_cases[] = {
    /* recorded InfraKit example (wire-examples.md, group commit 'cattle') */
    {"{\"Allocation\":{\"Size\":2},\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\":{\"Note\":\"v1\"}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properties\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}}",
     "rsfonnrfmaykaiytaj26ud5ixjk7m4rd"},
    /* recorded InfraKit example after the update to Note v2 (instance file) */
    {"{\"Allocation\":{\"Size\":2},\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\":{\"Note\":\"v2\"}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properties\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}}",
     "kbu4l5xdbf2ikxqaifelnmvn3bge4sve"},
    /* keys reordered, Allocation and Updating changed: same hash as the recording */
    {"{\"Flavor\":{\"Properties\":{\"Tags\":{\"tier\":\"web\"},\"Init\":[\"echo hello\"]},\"Plugin\":\"flavor-vanilla\"},\"Updating\":{\"Count\":3},\"Allocation\":{\"Size\":7},\"Instance\":{\"Properties\":{\"Note\":\"v1\"},\"Plugin\":\"instance-file\"}}",
     "rsfonnrfmaykaiytaj26ud5ixjk7m4rd"},
    /* field names in another case: Go matches them ignoring case */
    {"{\"instance\":{\"plugin\":\"instance-file\",\"properties\":{\"Note\":\"v1\"}},\"FLAVOR\":{\"Plugin\":\"flavor-vanilla\",\"PROPERTIES\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}}",
     "rsfonnrfmaykaiytaj26ud5ixjk7m4rd"},
    /* Properties absent and null both hash as null */
    {"{\"Instance\":{\"Plugin\":\"instance-file\"},\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properties\":null}}",
     "ynrmw2ha5krbpx3in3yezn7ogprucxsk"},
    /* no Flavor block: the zero value {"Plugin": "", "Properties": null} */
    {"{\"Instance\":{\"Plugin\":\"instance-process\",\"Properties\":{\"Cmd\":[\"sleep\",\"1000\"]}}}",
     "caka4gr4cdbp6sqmo5tlw7ohhfly5k3n"},
    /* empty controller properties */
    {"{}",
     "z3aypkty3dxozefuvv63j7xdvckkg42o"},
    /* numbers are float64: 1e+21, 1e-7, -0, 2^53+1 rounds, 12E3 */
    {"{\"Instance\":{\"Plugin\":\"p\",\"Properties\":{\"n\":1,\"f\":1.5,\"big\":1e21,\"small\":0.0000001,\"neg\":-3,\"huge\":1e25,\"third\":0.3333333333333333,\"int53\":9007199254740993,\"zero\":0,\"negzero\":-0.0,\"exp\":12E3}},\"Flavor\":{\"Plugin\":\"f\"}}",
     "gdbv4r3xpkgd6rotg64x4bi5n63lvmzd"},
    /* string escapes: < > & \n \t \r control bytes \b \f U+2028 U+2029, UTF-8 kept */
    {"{\"Instance\":{\"Plugin\":\"p\",\"Properties\":{\"html\":\"<a href=\\\"x\\\">&amp;</a>\",\"ctl\":\"a\\nb\\tc\\rd\\u0001\\u001f\\b\\f\",\"ls\":\"x\\u2028y\\u2029z\",\"uni\":\"caf\\u00e9 \\ud83d\\ude00 日本\",\"q\":\"say \\\"hi\\\" \\\\ back\",\"slash\":\"a/b\"}},\"Flavor\":{\"Plugin\":\"f\",\"Properties\":\"just a string\"}}",
     "7owdbho6ys4ycvrfp4xqlgvcgrleawjw"},
    /* nesting, empty containers, booleans, null */
    {"{\"Instance\":{\"Plugin\":\"p\",\"Properties\":{\"a\":[],\"o\":{},\"n\":null,\"t\":true,\"f\":false,\"nest\":[[1,[2,{}]],{\"k\":[{\"x\":[]}]}]}},\"Flavor\":{\"Plugin\":\"f\",\"Properties\":[1,2,3]}}",
     "kvmgtzvrl3oymejc5eyinfqcm7chi52p"},
    /* Options are not part of the hashed struct */
    {"{\"Instance\":{\"Plugin\":\"p\",\"Properties\":{},\"Options\":{\"x\":1}},\"Flavor\":{\"Plugin\":\"f\",\"Properties\":{},\"Options\":{\"y\":2}}}",
     "qmlirqrhy3542ntyyesnfhplc3zzgeew"},
    /* the same without Options */
    {"{\"Instance\":{\"Plugin\":\"p\",\"Properties\":{}},\"Flavor\":{\"Plugin\":\"f\",\"Properties\":{}}}",
     "qmlirqrhy3542ntyyesnfhplc3zzgeew"},
    /* keys sorted by byte value */
    {"{\"Instance\":{\"Plugin\":\"p\",\"Properties\":{\"B\":1,\"a\":2,\"_\":3,\"Z\":4,\"\\u00e9\":5,\"aa\":6,\"a b\":7,\"A\":8,\"1\":9,\"\":10}},\"Flavor\":{\"Plugin\":\"f\"}}",
     "ym4rb37b242t52uyhezk7nsllb6f5mbk"},
    /* a realistic AWS + swarm spec */
    {"{\"Instance\":{\"Plugin\":\"instance-aws/ec2-instance\",\"Properties\":{\"RunInstancesInput\":{\"ImageId\":\"ami-0123456789abcdef0\",\"InstanceType\":\"t2.micro\",\"KeyName\":\"infrakit\",\"SubnetId\":\"subnet-1234\",\"SecurityGroupIds\":[\"sg-1\",\"sg-2\"],\"BlockDeviceMappings\":[{\"DeviceName\":\"/dev/sda1\",\"Ebs\":{\"VolumeSize\":20,\"DeleteOnTermination\":true}}]},\"Tags\":{\"Name\":\"worker\",\"env\":\"prod\"}}},\"Flavor\":{\"Plugin\":\"flavor-swarm/worker\",\"Properties\":{\"InitScriptTemplateURL\":\"file:///infrakit/worker-init.tpl\",\"SwarmJoinIP\":\"10.0.0.10\",\"Docker\":{\"Host\":\"tcp://10.0.0.10:2375\"}}}}",
     "vziirnus4a5ja6w5qp5amwbgd7z3q75h"},
    /* 3.0 is 3; a negative small real */
    {"{\"Instance\":{\"Plugin\":\"p\",\"Properties\":3.0},\"Flavor\":{\"Plugin\":\"f\",\"Properties\":-2.5e-8}}",
     "zfuiyofnrjupj4saglipz2byur72tcmy"},
    /* escapes in the plugin name; a NUL in a string */
    {"{\"Instance\":{\"Plugin\":\"p\\u003cx\\u003e&\",\"Properties\":true},\"Flavor\":{\"Plugin\":\"f\",\"Properties\":\"\\u0000nul\"}}",
     "4rutkd6gwt67nvsjtvp5cts2himuof6r"},
};

static void hash_matches_infrakit_for_each_recorded_and_go_computed_spec(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof hash_cases / sizeof hash_cases[0]; i++) {
    json_t *props = load(hash_cases[i].properties);
    char got[IK_HASH_LEN + 1];
    ik_err_t err = {0};
    int rc = ik_config_hash_of(props, got, &err);
    if (rc != 0) fail_msg("case %zu: %s", i, err.msg);
    if (strcmp(got, hash_cases[i].hash) != 0)
      fail_msg("case %zu: got %s want %s for %s", i, got, hash_cases[i].hash, hash_cases[i].properties);
    json_decref(props);
  }
}

/* The group commit recorded in wire-examples.md ("cattle", Size 2) put
 * infrakit.config.hash=rsfonnrfmaykaiytaj26ud5ixjk7m4rd on its instances. */
static void hash_of_recorded_cattle_commit_is_the_tag_on_its_instances(void **state) {
  (void)state;
  json_t *params = load("{\"Name\":\"group-stateless\",\"Spec\":{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":2},"
                        "\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\":{\"Note\":\"v1\"}},\"Flavor\":{"
                        "\"Plugin\":\"flavor-vanilla\",\"Properties\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":"
                        "\"web\"}}}}},\"Pretend\":false}");
  json_t *props = json_object_get(json_object_get(params, "Spec"), "Properties");
  char got[IK_HASH_LEN + 1];
  ik_err_t err = {0};
  assert_int_equal(ik_config_hash_of(props, got, &err), 0);
  assert_string_equal(got, "rsfonnrfmaykaiytaj26ud5ixjk7m4rd");
  assert_int_equal(strlen(got), IK_HASH_LEN);
  json_decref(params);
}

static void hash_block_bytes_are_go_marshal_indent_with_two_space_prefix(void **state) {
  (void)state;
  json_t *props = load("{\"html\":\"<a href=\\\"x\\\">&amp;</a>\",\"ctl\":\"a\\nb\\tc\\rd\\u0001\\u001f\\b\\f\","
                       "\"ls\":\"x\\u2028y\\u2029z\",\"uni\":\"caf\\u00e9 \\ud83d\\ude00 日本\","
                       "\"q\":\"say \\\"hi\\\" \\\\ back\",\"slash\":\"a/b\"}");
  json_t *fprops = json_string("just a string");
  ik_buf_t b = {0};
  ik_hash_block_bytes(&b, "p", props);
  ik_hash_block_bytes(&b, "f", fprops);
  assert_string_equal(ik_buf_cstr(&b), "{\n    \"Plugin\": \"p\",\n    \"Properties\": {\n      \"ctl\": \"a\\nb\\tc\\rd\\u0001\\u001f\\u0008\\u000c\",\n      \"html\": \"\\u003ca href=\\\"x\\\"\\u003e\\u0026amp;\\u003c/a\\u003e\",\n      \"ls\": \"x\\u2028y\\u2029z\",\n      \"q\": \"say \\\"hi\\\" \\\\ back\",\n      \"slash\": \"a/b\",\n      \"uni\": \"café 😀 日本\"\n    }\n  }{\n    \"Plugin\": \"f\",\n    \"Properties\": \"just a string\"\n  }");
  ik_buf_free(&b);
  json_decref(props);
  json_decref(fprops);
}

static void hash_ignores_allocation_and_updating(void **state) {
  (void)state;
  char a[IK_HASH_LEN + 1], b[IK_HASH_LEN + 1];
  json_t *p1 = load("{\"Allocation\":{\"Size\":1},\"Instance\":{\"Plugin\":\"i\",\"Properties\":{\"x\":1}},"
                    "\"Flavor\":{\"Plugin\":\"f\"}}");
  json_t *p2 = load("{\"Allocation\":{\"LogicalIDs\":[\"a\",\"b\"]},\"Updating\":{\"MaxSurge\":\"50%\"},"
                    "\"Health\":{\"UnhealthyTimeout\":\"1m\"},\"Instance\":{\"Plugin\":\"i\",\"Properties\":{\"x\":1.0}},"
                    "\"Flavor\":{\"Plugin\":\"f\"}}");
  assert_int_equal(ik_config_hash_of(p1, a, NULL), 0);
  assert_int_equal(ik_config_hash_of(p2, b, NULL), 0);
  assert_string_equal(a, b);
  json_decref(p1);
  json_decref(p2);
}

static void hash_changes_with_any_instance_or_flavor_property(void **state) {
  (void)state;
  static const char *variants[] = {
      "{\"Instance\":{\"Plugin\":\"i\",\"Properties\":{\"x\":1}},\"Flavor\":{\"Plugin\":\"f\"}}",
      "{\"Instance\":{\"Plugin\":\"i\",\"Properties\":{\"x\":2}},\"Flavor\":{\"Plugin\":\"f\"}}",
      "{\"Instance\":{\"Plugin\":\"i2\",\"Properties\":{\"x\":1}},\"Flavor\":{\"Plugin\":\"f\"}}",
      "{\"Instance\":{\"Plugin\":\"i\",\"Properties\":{\"x\":1}},\"Flavor\":{\"Plugin\":\"f\",\"Properties\":{}}}",
      "{\"Instance\":{\"Plugin\":\"i\",\"Properties\":{\"x\":\"1\"}},\"Flavor\":{\"Plugin\":\"f\"}}",
  };
  char h[5][IK_HASH_LEN + 1];
  for (size_t i = 0; i < 5; i++) {
    json_t *p = load(variants[i]);
    assert_int_equal(ik_config_hash_of(p, h[i], NULL), 0);
    for (const char *c = h[i]; *c; c++) assert_true((*c >= 'a' && *c <= 'z') || (*c >= '2' && *c <= '7'));
    for (size_t j = 0; j < i; j++) assert_string_not_equal(h[i], h[j]);
    json_decref(p);
  }
}

static void hash_of_mistyped_blocks_names_the_field(void **state) {
  (void)state;
  static const struct {
    const char *props, *msg;
  } cases[] = {
      {"{\"Instance\":[1]}", "Properties.Instance: want an object"},
      {"{\"Instance\":{\"Plugin\":3}}", "Properties.Instance.Plugin: want a string"},
      {"{\"Instance\":{\"Plugin\":\"i\"},\"Flavor\":{\"Plugin\":true}}", "Properties.Flavor.Plugin: want a string"},
      {"[]", "Properties: want an object"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *p = load(cases[i].props);
    char h[IK_HASH_LEN + 1];
    ik_err_t err = {0};
    assert_int_equal(ik_config_hash_of(p, h, &err), IK_EINVAL);
    assert_string_equal(err.msg, cases[i].msg);
    json_decref(p);
  }
}

/* json.Marshal(float64) in Go 1.19 for each value (strconv 'g' 17 digits
 * on the left, so the double is exact). A run against 300,000 random and
 * power-of-two doubles agreed too; these are the interesting ones. */
static void go_format_float_matches_go_encoding_json(void **state) {
  (void)state;
  static const struct {
    double v;
    const char *want;
  } cases[] = {
      {0, "0"},
      {1, "1"},
      {-1, "-1"},
      {1.5, "1.5"},
      {0.10000000000000001, "0.1"},
      {0.29999999999999999, "0.3"},
      {1e+20, "100000000000000000000"},
      {1e+21, "1e+21"},
      {123456789, "123456789"},
      {9.9999999999999995e-07, "0.000001"},
      {9.9999999999999995e-08, "1e-7"},
      {1.234e-06, "0.000001234"},
      {1.7976931348623157e+308, "1.7976931348623157e+308"},
      {4.9406564584124654e-324, "5e-324"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {9007199254740992, "9007199254740992"},
      {1e+100, "1e+100"},
      {1.23e-18, "1.23e-18"},
      {3.1415899999999999, "3.14159"},
      {1000000000000000, "1000000000000000"},
      {12345678912345678, "12345678912345678"},
      {-9.9999999999999995e-08, "-1e-7"},
      {2.5000000000000001e-05, "0.000025"},
      {0.33333333333333331, "0.3333333333333333"},
      {0.66666666666666663, "0.6666666666666666"},
      {4.3499999999999996, "4.35"},
      {8.4099999999999995e+21, "8.41e+21"},
      {4.9999999999999998e-07, "5e-7"},
      {1.152921504606847e+18, "1152921504606847000"},
      {9.3132257461547852e-10, "9.313225746154785e-10"},
      {1.1805916207174113e+21, "1.1805916207174113e+21"},
      {9.9999999999999992e+22, "1e+23"},
      {1.2345e-300, "1.2345e-300"},
      {65536.5, "65536.5"},
      {-0.0, "-0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_buf_t b = {0};
    ik_json_format_float(&b, cases[i].v);
    if (strcmp(ik_buf_cstr(&b), cases[i].want) != 0)
      fail_msg("%.17g: got %s want %s", cases[i].v, ik_buf_cstr(&b), cases[i].want);
    ik_buf_free(&b);
  }
}

static void go_format_string_escapes_as_go_and_replaces_invalid_utf8(void **state) {
  (void)state;
  static const struct {
    const char *in;
    size_t len;
    const char *want;
  } cases[] = {
      {"plain", 5, "\"plain\""},
      {"<&>", 3, "\"\\u003c\\u0026\\u003e\""},
      {"\x7f", 1, "\"\x7f\""},
      {"a\0b", 3, "\"a\\u0000b\""},
      {"\xff", 1, "\"\xEF\xBF\xBD\""},
      {"\xC0\xAF", 2, "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},                 /* overlong '/' */
      {"\xED\xA0\x80", 3, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""}, /* a surrogate */
      {"\xE2\x80\xA8", 3, "\"\\u2028\""},
      {"\xF0\x9F\x98\x80", 4, "\"\xF0\x9F\x98\x80\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_buf_t b = {0};
    ik_json_format_string(&b, cases[i].in, cases[i].len);
    assert_string_equal(ik_buf_cstr(&b), cases[i].want);
    ik_buf_free(&b);
  }
}

static void go_marshal_indent_keeps_empty_containers_compact(void **state) {
  (void)state;
  json_t *v = load("{\"b\":[],\"a\":{},\"c\":[{}]}");
  ik_buf_t b = {0};
  ik_json_marshal_indent(&b, v, "", "\t");
  assert_string_equal(ik_buf_cstr(&b), "{\n\t\"a\": {},\n\t\"b\": [],\n\t\"c\": [\n\t\t{}\n\t]\n}");
  ik_buf_reset(&b);
  ik_json_marshal_indent(&b, NULL, "", "");
  assert_string_equal(ik_buf_cstr(&b), "null");
  ik_buf_free(&b);
  json_decref(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hash_matches_infrakit_for_each_recorded_and_go_computed_spec),
      cmocka_unit_test(hash_of_recorded_cattle_commit_is_the_tag_on_its_instances),
      cmocka_unit_test(hash_block_bytes_are_go_marshal_indent_with_two_space_prefix),
      cmocka_unit_test(hash_ignores_allocation_and_updating),
      cmocka_unit_test(hash_changes_with_any_instance_or_flavor_property),
      cmocka_unit_test(hash_of_mistyped_blocks_names_the_field),
      cmocka_unit_test(go_format_float_matches_go_encoding_json),
      cmocka_unit_test(go_format_string_escapes_as_go_and_replaces_invalid_utf8),
      cmocka_unit_test(go_marshal_indent_keeps_empty_containers_compact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
