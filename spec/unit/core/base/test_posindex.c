/* core/base/posindex: every key found at its position, absent keys not,
 * NULL keys skipped, equal keys give the first, keys read at find time
 * (a key set to NULL after the build is no longer found), rebuilds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "base/posindex.h"

static const char *key_at(const void *ctx, size_t pos) { return ((const char *const *)ctx)[pos]; }

static void posindex_finds_every_key_of_ten_thousand(void **state) {
  (void)state;
  enum { N = 10000 };
  char **keys = ik_calloc(N, sizeof *keys);
  for (size_t i = 0; i < N; i++) keys[i] = ik_sprintf("instance-%zu", i * 7919);
  ik_posindex_t ix = {0};
  ik_posindex_build(&ix, N, key_at, keys);
  assert_true(ix.mask + 1 >= 2 * N); /* at most half full */
  for (size_t i = 0; i < N; i++) {
    size_t pos = N;
    assert_true(ik_posindex_find(&ix, keys[i], key_at, keys, &pos));
    assert_int_equal(pos, i);
  }
  size_t pos;
  assert_false(ik_posindex_find(&ix, "instance-1", key_at, keys, &pos));
  assert_false(ik_posindex_find(&ix, "", key_at, keys, &pos));
  assert_false(ik_posindex_find(&ix, NULL, key_at, keys, &pos));
  ik_posindex_free(&ix);
  for (size_t i = 0; i < N; i++) ik_free(keys[i]);
  ik_free(keys);
}

static void posindex_skips_null_keys_and_reads_keys_at_find(void **state) {
  (void)state;
  const char *keys[] = {"a", NULL, "b", "a", "c"};
  ik_posindex_t ix = {0};
  ik_posindex_build(&ix, 5, key_at, keys);
  size_t pos = 99;
  assert_true(ik_posindex_find(&ix, "a", key_at, keys, &pos));
  assert_int_equal(pos, 0); /* equal keys: the first */
  assert_true(ik_posindex_find(&ix, "c", key_at, keys, &pos));
  assert_int_equal(pos, 4);
  keys[0] = NULL; /* moved away after the build: the next equal key is found */
  assert_true(ik_posindex_find(&ix, "a", key_at, keys, &pos));
  assert_int_equal(pos, 3);
  keys[3] = NULL;
  assert_false(ik_posindex_find(&ix, "a", key_at, keys, &pos));
  /* A rebuild replaces the slots. */
  const char *other[] = {"x"};
  ik_posindex_build(&ix, 1, key_at, other);
  assert_false(ik_posindex_find(&ix, "b", key_at, other, &pos));
  assert_true(ik_posindex_find(&ix, "x", key_at, other, &pos));
  assert_int_equal(pos, 0);
  ik_posindex_free(&ix);
  ik_posindex_free(&ix); /* twice is fine */
}

static void posindex_empty_finds_nothing(void **state) {
  (void)state;
  ik_posindex_t ix = {0};
  size_t pos;
  assert_false(ik_posindex_find(&ix, "a", key_at, NULL, &pos));
  ik_posindex_build(&ix, 0, key_at, NULL);
  assert_false(ik_posindex_find(&ix, "a", key_at, NULL, &pos));
  ik_posindex_free(&ix);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(posindex_finds_every_key_of_ten_thousand),
      cmocka_unit_test(posindex_skips_null_keys_and_reads_keys_at_find),
      cmocka_unit_test(posindex_empty_finds_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
