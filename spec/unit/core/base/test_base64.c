/* core/base/base64: standard padded base64 through libcrypto, both ways,
 * binary-safe; what is not base64 is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/base64.h"
#include "base/mem.h"

static void encodes_and_decodes_with_padding(void **state) {
  (void)state;
  static const struct {
    const char *plain, *coded;
  } cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"infrakit/leader", "aW5mcmFraXQvbGVhZGVy"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len = 99;
    char *e = ik_base64_encode(cases[i].plain, strlen(cases[i].plain), &len);
    assert_string_equal(e, cases[i].coded);
    assert_int_equal(len, strlen(cases[i].coded));
    char *d = ik_base64_decode(e, len, &len);
    assert_string_equal(d, cases[i].plain);
    assert_int_equal(len, strlen(cases[i].plain));
    ik_free(e);
    ik_free(d);
  }
}

static void binary_bytes_survive(void **state) {
  (void)state;
  const char bytes[] = {'\0', '\xff', '\x10', '\0'};
  size_t len;
  char *e = ik_base64_encode(bytes, sizeof bytes, &len);
  char *d = ik_base64_decode(e, len, &len);
  assert_int_equal(len, sizeof bytes);
  assert_memory_equal(d, bytes, sizeof bytes);
  ik_free(e);
  ik_free(d);
}

static void what_is_not_base64_is_refused(void **state) {
  (void)state;
  assert_null(ik_base64_decode("Zm9", 3, NULL));  /* not a multiple of 4 */
  assert_null(ik_base64_decode("Zm9*", 4, NULL)); /* outside the alphabet */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(encodes_and_decodes_with_padding),
      cmocka_unit_test(binary_bytes_survive),
      cmocka_unit_test(what_is_not_base64_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
