/* core/engine/observe: descriptions from an instance plugin as the plan
 * sees them - IDs, logical IDs (field or tag), group and config hash tags,
 * health left unknown; a description without an ID is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/mem.h"
#include "engine/observe.h"

static void descriptions_become_plan_instances(void **state) {
  (void)state;
  json_t *descs = json_loads("[{\"ID\":\"a\",\"LogicalID\":\"10.0.0.1\",\"Tags\":{\"infrakit.group\":\"g\","
                             "\"infrakit.config.hash\":\"h1\"}},"
                             "{\"ID\":\"b\",\"LogicalID\":null,\"Tags\":{\"infrakit.logical_id\":\"10.0.0.2\"}},"
                             "{\"ID\":\"c\"}]",
                             0, NULL);
  ik_plan_instance_t *insts;
  size_t n;
  ik_err_t err = {0};
  assert_int_equal(ik_observe_descriptions(descs, &insts, &n, &err), 0);
  assert_int_equal(n, 3);
  assert_string_equal(insts[0].id, "a");
  assert_string_equal(insts[0].logical_id, "10.0.0.1");
  assert_string_equal(insts[0].group, "g");
  assert_string_equal(insts[0].config_hash, "h1");
  assert_int_equal(insts[0].health, IK_HEALTH_UNKNOWN);
  assert_string_equal(insts[1].logical_id, "10.0.0.2"); /* from the tag */
  assert_null(insts[1].group);
  assert_null(insts[2].logical_id);
  assert_null(insts[2].config_hash);
  ik_free(insts);
  json_decref(descs);
}

static void a_description_without_an_id_is_refused(void **state) {
  (void)state;
  json_t *descs = json_loads("[{\"ID\":\"a\"},{\"Tags\":{}}]", 0, NULL);
  ik_plan_instance_t *insts;
  size_t n;
  ik_err_t err = {0};
  assert_int_equal(ik_observe_descriptions(descs, &insts, &n, &err), IK_EINVAL);
  assert_string_equal(err.msg, "descriptions[1].ID: missing");
  assert_null(insts);
  json_decref(descs);
  json_t *empty = json_null();
  assert_int_equal(ik_observe_descriptions(empty, &insts, &n, &err), 0); /* Go's nil slice */
  assert_int_equal(n, 0);
  ik_free(insts);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(descriptions_become_plan_instances),
      cmocka_unit_test(a_description_without_an_id_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
