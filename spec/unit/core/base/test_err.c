/* core/base/err: codes, messages, names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "base/err.h"

static void err_set_records_code_and_formatted_message(void **state) {
  (void)state;
  ik_err_t err;
  ik_err_clear(&err);
  int rc = ik_err_set(&err, IK_EINVAL, "group %s: size %d out of range", "workers", -3);
  assert_int_equal(rc, IK_EINVAL);
  assert_int_equal(err.code, IK_EINVAL);
  assert_string_equal(err.msg, "group workers: size -3 out of range");
}

static void err_set_flattens_newlines_to_one_line(void **state) {
  (void)state;
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"a\nb", "a b"},
      {"a\r\nb", "a  b"},
      {"\nlead and trail\n", " lead and trail "},
      {"no newline", "no newline"},
      {"x\ry\nz", "x y z"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_err_t err;
    ik_err_set(&err, IK_EIO, "%s", cases[i].in);
    assert_string_equal(err.msg, cases[i].want);
    assert_null(strchr(err.msg, '\n'));
    assert_null(strchr(err.msg, '\r'));
  }
}

static void err_set_with_null_err_returns_code(void **state) {
  (void)state;
  assert_int_equal(ik_err_set(NULL, IK_ETIMEDOUT, "deadline %d", 5), IK_ETIMEDOUT);
  assert_int_equal(ik_err_uv(NULL, UV_ENOENT, "open"), UV_ENOENT);
  ik_err_clear(NULL); /* must not crash */
}

static void err_set_truncates_long_message_and_terminates(void **state) {
  (void)state;
  char big[2 * IK_ERR_MSG_MAX];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ik_err_t err;
  ik_err_set(&err, IK_EINVAL, "%s", big);
  assert_int_equal(strlen(err.msg), IK_ERR_MSG_MAX - 1);
  assert_int_equal(err.msg[0], 'x');
}

static void err_clear_resets_code_and_message(void **state) {
  (void)state;
  ik_err_t err;
  ik_err_set(&err, IK_EIO, "boom");
  ik_err_clear(&err);
  assert_int_equal(err.code, 0);
  assert_string_equal(err.msg, "");
}

static void err_uv_prefixes_strerror_and_keeps_libuv_code(void **state) {
  (void)state;
  static const int codes[] = {UV_ENOENT, UV_EACCES, UV_EPIPE, UV_ETIMEDOUT, UV_ECANCELED};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    ik_err_t err;
    ik_err_clear(&err);
    assert_int_equal(ik_err_uv(&err, codes[i], "open /etc/nope"), codes[i]);
    assert_int_equal(err.code, codes[i]);
    char want[IK_ERR_MSG_MAX];
    snprintf(want, sizeof want, "open /etc/nope: %s", uv_strerror(codes[i]));
    assert_string_equal(err.msg, want);
  }
}

static void err_uv_with_project_code_uses_project_text(void **state) {
  (void)state;
  ik_err_t err;
  ik_err_uv(&err, IK_ETIMEDOUT, "rpc");
  assert_int_equal(err.code, IK_ETIMEDOUT);
  assert_string_equal(err.msg, "rpc: timed out");
}

static void err_name_and_strerror_cover_every_code(void **state) {
  (void)state;
  static const struct {
    int code;
    const char *name, *text;
  } cases[] = {
      {0, "OK", "success"},
      {IK_EINVAL, "EINVAL", "invalid argument"},
      {IK_ETIMEDOUT, "ETIMEDOUT", "timed out"},
      {IK_ECANCELED, "ECANCELED", "cancelled"},
      {IK_ELUA, "ELUA", "Lua error"},
      {IK_ENOTFOUND, "ENOTFOUND", "not found"},
      {IK_EEXIST, "EEXIST", "already exists"},
      {IK_ESTATE, "ESTATE", "invalid state"},
      {IK_EIO, "EIO", "i/o error"},
      {IK_EDRIVER, "EDRIVER", "driver error"},
      {IK_EUSAGE, "EUSAGE", "usage error"},
      /* libuv codes pass through unchanged */
      {UV_ENOENT, "ENOENT", "no such file or directory"},
      {UV_EACCES, "EACCES", "permission denied"},
      {UV_EPIPE, "EPIPE", "broken pipe"},
      /* neither ours nor libuv's */
      {-6000, "EUNKNOWN", "unknown error"},
      {7, "EUNKNOWN", "unknown error"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_string_equal(ik_err_name(cases[i].code), cases[i].name);
    assert_string_equal(ik_strerror(cases[i].code), cases[i].text);
  }
}

static void err_libuv_codes_match_uv_names(void **state) {
  (void)state;
  static const int codes[] = {UV_EINVAL, UV_ENOENT, UV_ECONNREFUSED, UV_EADDRINUSE, UV_ESRCH, UV_EOF};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    assert_string_equal(ik_err_name(codes[i]), uv_err_name(codes[i]));
    assert_string_equal(ik_strerror(codes[i]), uv_strerror(codes[i]));
  }
}

static void err_project_codes_are_outside_libuv_range(void **state) {
  (void)state;
  static const int codes[] = {IK_EINVAL, IK_ETIMEDOUT, IK_ECANCELED, IK_ELUA, IK_ENOTFOUND,
                              IK_EEXIST, IK_ESTATE, IK_EIO, IK_EDRIVER, IK_EUSAGE};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    assert_true(codes[i] < -4095);
    for (size_t j = i + 1; j < sizeof codes / sizeof codes[0]; j++) assert_int_not_equal(codes[i], codes[j]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(err_set_records_code_and_formatted_message),
      cmocka_unit_test(err_set_flattens_newlines_to_one_line),
      cmocka_unit_test(err_set_with_null_err_returns_code),
      cmocka_unit_test(err_set_truncates_long_message_and_terminates),
      cmocka_unit_test(err_clear_resets_code_and_message),
      cmocka_unit_test(err_uv_prefixes_strerror_and_keeps_libuv_code),
      cmocka_unit_test(err_uv_with_project_code_uses_project_text),
      cmocka_unit_test(err_name_and_strerror_cover_every_code),
      cmocka_unit_test(err_libuv_codes_match_uv_names),
      cmocka_unit_test(err_project_codes_are_outside_libuv_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
