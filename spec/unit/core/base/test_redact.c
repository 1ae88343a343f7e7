/* core/base/redact: URL credentials and secret query values are masked
 * with no registration; registered values (and the secret-named fields of a
 * spec) are masked wherever they appear; JSON is redacted in place; text
 * with nothing to hide comes back as the same pointer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/mem.h"
#include "base/redact.h"

static int reset(void **state) {
  (void)state;
  ik_redact_clear();
  return 0;
}

static void redact_masks_url_passwords_and_secret_query_values(void **state) {
  (void)state;
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"get https://user:pw@host/a/b?x=1", "get https://user:[REDACTED]@host/a/b?x=1"},
      {"https://user:p%40ss:w@h.example:8443", "https://user:[REDACTED]@h.example:8443"},
      {"https://user@host/", "https://user@host/"}, /* a user name is not a secret (Go's URL.Redacted) */
      {"https://host/p?token=abc&user=bob&password=pw#frag",
       "https://host/p?token=[REDACTED]&user=bob&password=[REDACTED]#frag"},
      {"s3: https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ff00&X-Amz-Date=1 failed",
       "s3: https://b.s3.amazonaws.com/k?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&X-Amz-Date=1 failed"},
      {"https://h/?access_token=t1;sig=s2&api_key=k3&apikey=k4&Secret=s5&code=ok",
       "https://h/?access_token=[REDACTED];sig=[REDACTED]&api_key=[REDACTED]&apikey=[REDACTED]&Secret=[REDACTED]&code=ok"},
      {"two: \"http://a:b@x\" and 'ftp://c:d@y/?key=1'", "two: \"http://a:[REDACTED]@x\" and 'ftp://c:[REDACTED]@y/?key=1'"},
      {"https://h/?token=&empty", "https://h/?token=&empty"},
      {"no url here: a:b@c ?token=x", "no url here: a:b@c ?token=x"},
      {"unix:///tmp/plugins/group", "unix:///tmp/plugins/group"},
      {"GET https://h/x?token=abc: refused.", "GET https://h/x?token=[REDACTED]: refused."},
      {"(see https://h/?sig=abc), then", "(see https://h/?sig=[REDACTED]), then"},
      {"https://h/?next=https://u:p@x/?token=t&y=1", "https://h/?next=https://u:[REDACTED]@x/?token=[REDACTED]&y=1"},
      {"https://h/?token=https://u:p@x/&y=1", "https://h/?token=[REDACTED]&y=1"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *got = ik_redact(cases[i].in);
    assert_string_equal(got, cases[i].want);
    ik_free(got);
  }
}

static void redact_returns_the_same_text_when_nothing_is_hidden(void **state) {
  (void)state;
  ik_buf_t b = {0};
  const char *s = "provision failed: https://host/path?x=1";
  assert_ptr_equal(ik_redact_buf(s, &b), s);
  ik_redact_register("hunter2-long");
  assert_ptr_equal(ik_redact_buf(s, &b), s);
  assert_string_equal(ik_redact_buf(NULL, &b), "");
  ik_buf_free(&b);
}

static void redact_masks_registered_values_longest_first(void **state) {
  (void)state;
  ik_redact_register("abc"); /* too short: ignored */
  ik_redact_register("pass-1");
  ik_redact_register("pass-1-longer");
  ik_redact_register("pass-1"); /* twice is once */
  assert_int_equal(ik_redact_count(), 2);
  char *got = ik_redact("login abc with pass-1-longer, then pass-1; https://u:pass-1@h/?token=z");
  assert_string_equal(got, "login abc with [REDACTED], then [REDACTED]; https://u:[REDACTED]@h/?token=[REDACTED]");
  ik_free(got);
  ik_err_t err = {0};
  snprintf(err.msg, sizeof err.msg, "provision: password pass-1 refused");
  ik_redact_err(&err);
  assert_string_equal(err.msg, "provision: password [REDACTED] refused");
  ik_redact_clear();
  assert_int_equal(ik_redact_count(), 0);
  got = ik_redact("pass-1");
  assert_string_equal(got, "pass-1");
  ik_free(got);
}

static void redact_names_secrets_by_field_name(void **state) {
  (void)state;
  static const char *const secret[] = {"password", "DB_PASSWORD", "passwd", "Secrets", "client_secret", "token",
                                       "Authorization", "api_key", "APIKEY", "PrivateKey", "ssh_key", "SSHKey",
                                       "EncryptionKey", "credentials", "Cookie", "X-Amz-Signature", "sig", "auth",
                                       "pass", "pwd", "access_key", "session_key"};
  static const char *const plain[] = {"Key", "key", "KeyName", "PublicKey", "ssh_public_key", "user", "host",
                                      "signal", "Name", "Value", "path", "group", "Tags", "monkeys"};
  for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
    if (!ik_redact_name_is_secret(secret[i])) fail_msg("%s should be secret", secret[i]);
  }
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
    if (ik_redact_name_is_secret(plain[i])) fail_msg("%s should not be secret", plain[i]);
  }
}

static void redact_registers_the_secret_fields_of_a_spec(void **state) {
  (void)state;
  json_t *spec = json_loads("{\"ID\": \"db\", \"Properties\": {\"Instance\": {\"Properties\": {"
                            "\"Env\": {\"DB_PASSWORD\": \"hunter2-env\", \"MODE\": \"prod\"},"
                            "\"Secrets\": [\"from-a-list\", {\"x\": \"nested-in-list\"}],"
                            "\"Tags\": [{\"Key\": \"Name\", \"Value\": \"web\"}],"
                            "\"Password\": \"pw1\", \"Token\": 12345}}}}",
                            0, NULL);
  assert_non_null(spec);
  ik_redact_register_json(spec);
  /* pw1 is too short; a number is not registered; Key/Value pairs are not secrets. */
  assert_int_equal(ik_redact_count(), 3);
  char *got = ik_redact("hunter2-env from-a-list nested-in-list Name web prod pw1 12345");
  assert_string_equal(got, "[REDACTED] [REDACTED] [REDACTED] Name web prod pw1 12345");
  ik_free(got);
  json_decref(spec);
}

static void redact_json_in_place(void **state) {
  (void)state;
  ik_redact_register("hunter2-env");
  json_t *v = json_loads("{\"Error\": \"provision: login hunter2-env refused at https://a:b@h/\","
                         "\"Password\": \"short\", \"Pin\": 1234, \"Nested\": {\"api_key\": 7, \"Ok\": \"fine\"},"
                         "\"Secrets\": [\"x1\", {\"y\": \"y1\"}], \"List\": [\"hunter2-env\", 3, true, null]}",
                         JSON_PRESERVE_ORDER, NULL);
  assert_non_null(v);
  ik_redact_json(v);
  char *got = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
  assert_string_equal(got, "{\"Error\":\"provision: login [REDACTED] refused at https://a:[REDACTED]@h/\","
                           "\"Password\":\"[REDACTED]\",\"Pin\":1234,\"Nested\":{\"api_key\":\"[REDACTED]\",\"Ok\":\"fine\"},"
                           "\"Secrets\":[\"[REDACTED]\",{\"y\":\"[REDACTED]\"}],\"List\":[\"[REDACTED]\",3,true,null]}");
  free(got);
  json_decref(v);
  json_t *s = json_string("https://u:p@h");
  ik_redact_json(s);
  assert_string_equal(json_string_value(s), "https://u:[REDACTED]@h");
  json_decref(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(redact_masks_url_passwords_and_secret_query_values, reset, reset),
      cmocka_unit_test_setup_teardown(redact_returns_the_same_text_when_nothing_is_hidden, reset, reset),
      cmocka_unit_test_setup_teardown(redact_masks_registered_values_longest_first, reset, reset),
      cmocka_unit_test_setup_teardown(redact_names_secrets_by_field_name, reset, reset),
      cmocka_unit_test_setup_teardown(redact_registers_the_secret_fields_of_a_spec, reset, reset),
      cmocka_unit_test_setup_teardown(redact_json_in_place, reset, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
