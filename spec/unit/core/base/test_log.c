/* core/base/log: levels, line shape (logfmt and JSON), redaction, log file,
 * environment. Every test that writes logs sends them to a file in its own
 * temporary directory; teardown restores the process-wide log state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/log.h"
#include "base/mem.h"

typedef struct fixture {
  char dir[64];
  char path[128];
} fixture_t;

static void log_reset_globals(void) {
  ik_log_set_level(IK_LOG_INFO);
  ik_log_set_format(IK_LOG_FMT_KV);
  ik_log_close();
  ik_log_clear_secrets();
  ik_log_set_redactor(NULL, NULL);
}

static int setup(void **state) {
  fixture_t *fx = ik_calloc(1, sizeof *fx);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ik-test-log-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) return -1;
  snprintf(fx->path, sizeof fx->path, "%s/test.log", fx->dir);
  log_reset_globals();
  unsetenv("INFRAKIT_LOG_LEVEL");
  unsetenv("INFRAKIT_LOG_FORMAT");
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  log_reset_globals();
  unsetenv("INFRAKIT_LOG_LEVEL");
  unsetenv("INFRAKIT_LOG_FORMAT");
  unlink(fx->path);
  int rc = rmdir(fx->dir);
  ik_free(fx);
  return rc;
}

/* Open the fixture's log file (empty) as the sink. */
static void open_log(const fixture_t *fx) {
  ik_err_t err;
  ik_err_clear(&err);
  assert_int_equal(ik_log_open(fx->path, &err), 0);
  assert_int_equal(truncate(fx->path, 0), 0);
}

/* Empty the log file; the sink appends, so the next line starts at 0. */
static void clear_log(const fixture_t *fx) { assert_int_equal(truncate(fx->path, 0), 0); }

/* The whole log file as a string; caller frees with ik_free. */
static char *read_log(const fixture_t *fx) {
  FILE *f = fopen(fx->path, "rb");
  assert_non_null(f);
  char *s = NULL;
  size_t len = 0, cap = 0;
  int c;
  while ((c = fgetc(f)) != EOF) {
    if (len + 2 > cap) {
      cap = cap ? cap * 2 : 256;
      s = ik_realloc(s, cap);
    }
    s[len++] = (char)c;
  }
  fclose(f);
  if (s == NULL) s = ik_calloc(1, 1);
  s[len] = '\0';
  return s;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (*s == '\n') n++;
  return n;
}

/* "ts=YYYY-MM-DDTHH:MM:SS.mmmZ " and return what follows. */
static const char *skip_kv_timestamp(const char *line) {
  static const char shape[] = "ts=dddd-dd-ddTdd:dd:dd.dddZ ";
  for (size_t i = 0; i < sizeof shape - 1; i++) {
    if (shape[i] == 'd') assert_true(isdigit((unsigned char)line[i]));
    else assert_int_equal(line[i], shape[i]);
  }
  return line + sizeof shape - 1;
}

/* ---- levels ---- */

static void log_level_parse_accepts_names_in_any_case(void **state) {
  (void)state;
  static const struct {
    const char *in;
    ik_log_level_t want;
  } cases[] = {
      {"debug", IK_LOG_DEBUG},
      {"DEBUG", IK_LOG_DEBUG},
      {"info", IK_LOG_INFO},
      {"Info", IK_LOG_INFO},
      {"warn", IK_LOG_WARN},
      {"WARN", IK_LOG_WARN},
      {"warning", IK_LOG_WARN},
      {"WarNing", IK_LOG_WARN},
      {"error", IK_LOG_ERROR},
      {"ERROR", IK_LOG_ERROR},
      {"off", IK_LOG_OFF},
      {"Off", IK_LOG_OFF},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_log_level_t got = (ik_log_level_t)99;
    assert_int_equal(ik_log_level_parse(cases[i].in, &got), 0);
    assert_int_equal(got, cases[i].want);
  }
}

static void log_level_parse_rejects_bad_input_and_leaves_output(void **state) {
  (void)state;
  static const char *const bad[] = {"", "verbose", "infos", " info", "warn ", "2", "err", "fatal", NULL};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ik_log_level_t got = IK_LOG_ERROR;
    assert_int_equal(ik_log_level_parse(bad[i], &got), IK_EINVAL);
    assert_int_equal(got, IK_LOG_ERROR);
  }
}

static void log_level_name_round_trips_through_parse(void **state) {
  (void)state;
  static const char *const names[] = {"debug", "info", "warn", "error", "off"};
  for (int lv = IK_LOG_DEBUG; lv <= IK_LOG_OFF; lv++) {
    assert_string_equal(ik_log_level_name((ik_log_level_t)lv), names[lv]);
    ik_log_level_t got;
    assert_int_equal(ik_log_level_parse(ik_log_level_name((ik_log_level_t)lv), &got), 0);
    assert_int_equal(got, lv);
  }
  assert_string_equal(ik_log_level_name((ik_log_level_t)42), "?");
}

static void log_enabled_follows_the_set_level(void **state) {
  (void)state;
  static const struct {
    ik_log_level_t set, query;
    bool want;
  } cases[] = {
      {IK_LOG_INFO, IK_LOG_DEBUG, false},
      {IK_LOG_INFO, IK_LOG_INFO, true},
      {IK_LOG_INFO, IK_LOG_ERROR, true},
      {IK_LOG_DEBUG, IK_LOG_DEBUG, true},
      {IK_LOG_WARN, IK_LOG_INFO, false},
      {IK_LOG_WARN, IK_LOG_WARN, true},
      {IK_LOG_ERROR, IK_LOG_WARN, false},
      {IK_LOG_ERROR, IK_LOG_ERROR, true},
      {IK_LOG_OFF, IK_LOG_ERROR, false},
      {IK_LOG_DEBUG, IK_LOG_OFF, false},
      {IK_LOG_OFF, IK_LOG_OFF, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_log_set_level(cases[i].set);
    assert_int_equal(ik_log_get_level(), cases[i].set);
    assert_int_equal(ik_log_enabled(cases[i].query), cases[i].want);
  }
}

static void log_below_level_writes_nothing(void **state) {
  fixture_t *fx = *state;
  open_log(fx);
  ik_log_set_level(IK_LOG_WARN);
  ik_log(IK_LOG_DEBUG, "t", "dropped debug", NULL);
  ik_log(IK_LOG_INFO, "t", "dropped info", NULL);
  ik_log(IK_LOG_WARN, "t", "kept warn", NULL);
  ik_log(IK_LOG_ERROR, "t", "kept error", NULL);
  ik_log_set_level(IK_LOG_OFF);
  ik_log(IK_LOG_ERROR, "t", "dropped error", NULL);
  char *s = read_log(fx);
  assert_int_equal(count_lines(s), 2);
  assert_non_null(strstr(s, "level=warn mod=t msg=\"kept warn\"\n"));
  assert_non_null(strstr(s, "level=error mod=t msg=\"kept error\"\n"));
  assert_null(strstr(s, "dropped"));
  ik_free(s);
}

/* ---- line shape ---- */

static void log_kv_line_has_ts_level_mod_msg_then_pairs(void **state) {
  fixture_t *fx = *state;
  open_log(fx);
  ik_log(IK_LOG_INFO, "lua", "task failed", "task", "3", "group", "workers", NULL);
  char *s = read_log(fx);
  assert_string_equal(skip_kv_timestamp(s), "level=info mod=lua msg=\"task failed\" task=3 group=workers\n");
  ik_free(s);
}

static void log_pairs_array_form_matches_variadic_form(void **state) {
  fixture_t *fx = *state;
  open_log(fx);
  static const char *const kv[] = {"a", "1", "b", "two words"};
  ik_log_pairs(IK_LOG_ERROR, "engine", "msg", kv, 2);
  char *s = read_log(fx);
  assert_string_equal(skip_kv_timestamp(s), "level=error mod=engine msg=msg a=1 b=\"two words\"\n");
  ik_free(s);
}

static void log_null_mod_msg_and_value_print_placeholders(void **state) {
  fixture_t *fx = *state;
  open_log(fx);
  ik_log(IK_LOG_INFO, NULL, NULL, "k", (const char *)NULL, NULL);
  char *s = read_log(fx);
  assert_string_equal(skip_kv_timestamp(s), "level=info mod=- msg=\"\" k=\"\"\n");
  ik_free(s);
}

static void log_kv_quotes_and_escapes_values_that_need_it(void **state) {
  fixture_t *fx = *state;
  static const struct {
    const char *value, *want;
  } cases[] = {
      {"plain", "plain"},
      {"two words", "\"two words\""},
      {"", "\"\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"line1\nline2", "\"line1\\nline2\""},
      {"cr\rlf", "\"cr\\rlf\""},
      {"tab\there", "\"tab\\there\""},
      {"k=v", "\"k=v\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"bell\x01", "\"bell\\x01\""},
      {"del\x7f", "\"del\\x7f\""},
  };
  open_log(fx);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    clear_log(fx);
    ik_log(IK_LOG_INFO, "t", "m", "v", cases[i].value, NULL);
    char *s = read_log(fx);
    char want[128];
    snprintf(want, sizeof want, "level=info mod=t msg=m v=%s\n", cases[i].want);
    assert_string_equal(skip_kv_timestamp(s), want);
    assert_int_equal(count_lines(s), 1);
    ik_free(s);
  }
}

static void log_json_lines_parse_and_round_trip_values(void **state) {
  fixture_t *fx = *state;
  static const char *const values[] = {
      "plain",
      "two words",
      "",
      "say \"hi\"",
      "line1\nline2",
      "tab\there",
      "back\\slash",
      "bell\x01",
      "del\x7f",
      "caf\xc3\xa9",
      "{\"nested\":true}",
  };
  const size_t n = sizeof values / sizeof values[0];
  open_log(fx);
  ik_log_set_format(IK_LOG_FMT_JSON);
  for (size_t i = 0; i < n; i++) ik_log(IK_LOG_WARN, "net", "value \"quoted\"\n", "v", values[i], "i", "x", NULL);
  char *s = read_log(fx);
  assert_int_equal(count_lines(s), n);
  char *line = s;
  for (size_t i = 0; i < n; i++) {
    char *nl = strchr(line, '\n');
    assert_non_null(nl);
    *nl = '\0';
    json_error_t jerr;
    json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) fail_msg("line %zu is not JSON (%s): %s", i, jerr.text, line);
    assert_true(json_is_object(obj));
    assert_int_equal(json_object_size(obj), 6);
    const char *ts = json_string_value(json_object_get(obj, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
    assert_string_equal(json_string_value(json_object_get(obj, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(obj, "mod")), "net");
    assert_string_equal(json_string_value(json_object_get(obj, "msg")), "value \"quoted\"\n");
    assert_string_equal(json_string_value(json_object_get(obj, "v")), values[i]);
    assert_string_equal(json_string_value(json_object_get(obj, "i")), "x");
    json_decref(obj);
    line = nl + 1;
  }
  ik_free(s);
}

/* ---- redaction ---- */

static void log_redacts_values_under_secret_keys(void **state) {
  fixture_t *fx = *state;
  static const char *const secret_keys[] = {
      "password",
      "PASSWORD",
      "db_password",
      "passwd",
      "secret",
      "client_secret",
      "token",
      "api_token",
      "Authorization",
      "api_key",
      "APIKEY",
      "private_key",
      "privatekey",
      "credential",
      "aws_credentials",
      "cookie",
      "Set-Cookie",
      "access_key",
      "session_key",
  };
  static const ik_log_format_t formats[] = {IK_LOG_FMT_KV, IK_LOG_FMT_JSON};
  open_log(fx);
  for (size_t f = 0; f < 2; f++) {
    ik_log_set_format(formats[f]);
    for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++) {
      assert_true(ik_log_key_is_secret(secret_keys[i]));
      clear_log(fx);
      ik_log(IK_LOG_INFO, "t", "login", secret_keys[i], "hunter2-xyz", "user", "alice", NULL);
      char *s = read_log(fx);
      assert_null(strstr(s, "hunter2"));
      char want[128];
      snprintf(want, sizeof want, formats[f] == IK_LOG_FMT_KV ? " %s=[REDACTED] user=alice\n" : "\"%s\":\"[REDACTED]\",\"user\":\"alice\"}\n",
               secret_keys[i]);
      assert_non_null(strstr(s, want));
      ik_free(s);
    }
  }
}

static void log_keeps_values_under_ordinary_keys(void **state) {
  fixture_t *fx = *state;
  static const char *const plain_keys[] = {"user", "host", "path", "count", "msg_id", "group"};
  open_log(fx);
  for (size_t i = 0; i < sizeof plain_keys / sizeof plain_keys[0]; i++) {
    assert_false(ik_log_key_is_secret(plain_keys[i]));
    clear_log(fx);
    ik_log(IK_LOG_INFO, "t", "m", plain_keys[i], "visible-value", NULL);
    char *s = read_log(fx);
    char want[64];
    snprintf(want, sizeof want, " %s=visible-value\n", plain_keys[i]);
    assert_non_null(strstr(s, want));
    ik_free(s);
  }
}

static void log_masks_registered_secret_in_msg_and_values(void **state) {
  fixture_t *fx = *state;
  open_log(fx);
  ik_log_add_secret("s3cr3t-v4lue");
  ik_log_add_secret("s3cr3t-v4lue"); /* twice is the same as once */
  ik_log(IK_LOG_INFO, "t", "login with s3cr3t-v4lue ok", "note", "xs3cr3t-v4lues3cr3t-v4luex",
         "url", "https://u:s3cr3t-v4lue@host/", NULL);
  char *s = read_log(fx);
  assert_null(strstr(s, "s3cr3t"));
  assert_string_equal(skip_kv_timestamp(s),
                      "level=info mod=t msg=\"login with [REDACTED] ok\" note=x[REDACTED][REDACTED]x "
                      "url=https://u:[REDACTED]@host/\n");
  ik_free(s);

  /* JSON lines are masked the same way. */
  clear_log(fx);
  ik_log_set_format(IK_LOG_FMT_JSON);
  ik_log(IK_LOG_INFO, "t", "s3cr3t-v4lue", "k", "s3cr3t-v4lue", NULL);
  s = read_log(fx);
  assert_null(strstr(s, "s3cr3t"));
  assert_non_null(strstr(s, "\"msg\":\"[REDACTED]\",\"k\":\"[REDACTED]\"}\n"));
  ik_free(s);
}

static void log_secret_shorter_than_four_bytes_is_not_registered(void **state) {
  fixture_t *fx = *state;
  open_log(fx);
  ik_log_add_secret(NULL);
  ik_log_add_secret("");
  ik_log_add_secret("a");
  ik_log_add_secret("abc");
  ik_log(IK_LOG_INFO, "t", "abc a", "k", "abc", NULL);
  char *s = read_log(fx);
  assert_string_equal(skip_kv_timestamp(s), "level=info mod=t msg=\"abc a\" k=abc\n");
  ik_free(s);

  clear_log(fx);
  ik_log_add_secret("abcd"); /* four bytes: registered */
  ik_log(IK_LOG_INFO, "t", "abcd abc", "k", "abcde", NULL);
  s = read_log(fx);
  assert_string_equal(skip_kv_timestamp(s), "level=info mod=t msg=\"[REDACTED] abc\" k=[REDACTED]e\n");
  ik_free(s);
}

static void log_clear_secrets_stops_masking(void **state) {
  fixture_t *fx = *state;
  open_log(fx);
  ik_log_add_secret("topsecret");
  ik_log_clear_secrets();
  ik_log(IK_LOG_INFO, "t", "topsecret", NULL);
  char *s = read_log(fx);
  assert_string_equal(skip_kv_timestamp(s), "level=info mod=t msg=topsecret\n");
  ik_free(s);
}

typedef struct redactor_seen {
  int calls;
  char keys[512];
} redactor_seen_t;

static const char *mask_ip(const char *key, const char *value, void *data) {
  redactor_seen_t *seen = data;
  seen->calls++;
  strncat(seen->keys, key, sizeof seen->keys - strlen(seen->keys) - 2);
  strncat(seen->keys, ",", sizeof seen->keys - strlen(seen->keys) - 1);
  if (strcmp(key, "ip") == 0) return "x.x.x.x";
  if (strcmp(value, "leaky") == 0) return "contains the-registered-secret";
  return NULL;
}

static void log_custom_redactor_rewrites_values(void **state) {
  fixture_t *fx = *state;
  redactor_seen_t seen = {0};
  open_log(fx);
  ik_log_add_secret("the-registered-secret");
  ik_log_set_redactor(mask_ip, &seen);
  ik_log(IK_LOG_INFO, "t", "hello", "ip", "10.1.2.3", "host", "web1", "other", "leaky", NULL);
  char *s = read_log(fx);
  /* NULL keeps the value; a replacement is still subject to secret masking. */
  assert_string_equal(skip_kv_timestamp(s),
                      "level=info mod=t msg=hello ip=x.x.x.x host=web1 other=\"contains [REDACTED]\"\n");
  assert_null(strstr(s, "10.1.2.3"));
  assert_non_null(strstr(seen.keys, "ip,"));
  assert_non_null(strstr(seen.keys, "host,"));
  assert_non_null(strstr(seen.keys, "other,"));
  ik_free(s);

  /* Removing the redactor restores the plain value. */
  clear_log(fx);
  ik_log_set_redactor(NULL, NULL);
  int calls = seen.calls;
  ik_log(IK_LOG_INFO, "t", "hello", "ip", "10.1.2.3", NULL);
  s = read_log(fx);
  assert_non_null(strstr(s, " ip=10.1.2.3\n"));
  assert_int_equal(seen.calls, calls);
  ik_free(s);
}

/* ---- the log file ---- */

static void log_open_creates_file_with_mode_0600(void **state) {
  fixture_t *fx = *state;
  mode_t old = umask(0); /* the mode must come from open(), not the umask */
  ik_err_t err;
  int rc = ik_log_open(fx->path, &err);
  umask(old);
  assert_int_equal(rc, 0);
  struct stat st;
  assert_int_equal(stat(fx->path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
}

static void log_open_appends_to_existing_file(void **state) {
  fixture_t *fx = *state;
  FILE *f = fopen(fx->path, "w");
  assert_non_null(f);
  fputs("existing line\n", f);
  fclose(f);
  ik_err_t err;
  assert_int_equal(ik_log_open(fx->path, &err), 0);
  ik_log(IK_LOG_INFO, "t", "appended", NULL);
  ik_log_close();
  /* After close, lines go to stderr (silenced here), not to the file. */
  int saved = dup(STDERR_FILENO);
  int devnull = open("/dev/null", O_WRONLY);
  assert_true(saved >= 0 && devnull >= 0);
  dup2(devnull, STDERR_FILENO);
  ik_log(IK_LOG_ERROR, "t", "after close goes to stderr", NULL);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(devnull);
  char *s = read_log(fx);
  assert_int_equal(count_lines(s), 2);
  assert_memory_equal(s, "existing line\n", 14);
  assert_string_equal(skip_kv_timestamp(s + 14), "level=info mod=t msg=appended\n");
  ik_free(s);
}

static void log_open_failure_names_the_path(void **state) {
  fixture_t *fx = *state;
  char bad[192];
  snprintf(bad, sizeof bad, "%s/no-such-dir/x.log", fx->dir);
  ik_err_t err;
  ik_err_clear(&err);
  int rc = ik_log_open(bad, &err);
  assert_int_equal(rc, -ENOENT);
  assert_int_equal(err.code, -ENOENT);
  assert_non_null(strstr(err.msg, bad));
}

/* ---- environment ---- */

static void log_init_from_env_applies_level(void **state) {
  (void)state;
  static const struct {
    const char *value; /* NULL = unset */
    ik_log_level_t want;
  } cases[] = {
      {"debug", IK_LOG_DEBUG},
      {"WARNING", IK_LOG_WARN},
      {"Error", IK_LOG_ERROR},
      {"off", IK_LOG_OFF},
      {NULL, IK_LOG_WARN},
      {"", IK_LOG_WARN},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_log_set_level(IK_LOG_WARN);
    if (cases[i].value) setenv("INFRAKIT_LOG_LEVEL", cases[i].value, 1);
    else unsetenv("INFRAKIT_LOG_LEVEL");
    ik_err_t err;
    ik_err_clear(&err);
    assert_int_equal(ik_log_init_from_env(&err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(ik_log_get_level(), cases[i].want);
  }
}

static void log_init_from_env_rejects_bad_level_naming_variable(void **state) {
  (void)state;
  ik_log_set_level(IK_LOG_ERROR);
  setenv("INFRAKIT_LOG_LEVEL", "loud", 1);
  ik_err_t err;
  ik_err_clear(&err);
  assert_int_equal(ik_log_init_from_env(&err), IK_EINVAL);
  assert_int_equal(err.code, IK_EINVAL);
  assert_non_null(strstr(err.msg, "INFRAKIT_LOG_LEVEL"));
  assert_non_null(strstr(err.msg, "loud"));
  assert_int_equal(ik_log_get_level(), IK_LOG_ERROR);
}

static void log_init_from_env_applies_format(void **state) {
  fixture_t *fx = *state;
  open_log(fx);
  setenv("INFRAKIT_LOG_FORMAT", "JSON", 1);
  ik_err_t err;
  assert_int_equal(ik_log_init_from_env(&err), 0);
  ik_log(IK_LOG_INFO, "t", "as json", NULL);
  setenv("INFRAKIT_LOG_FORMAT", "logfmt", 1);
  assert_int_equal(ik_log_init_from_env(&err), 0);
  ik_log(IK_LOG_INFO, "t", "as kv", NULL);
  char *s = read_log(fx);
  char *second = strchr(s, '\n');
  assert_non_null(second);
  *second++ = '\0';
  json_t *obj = json_loads(s, 0, NULL);
  assert_non_null(obj);
  assert_string_equal(json_string_value(json_object_get(obj, "msg")), "as json");
  json_decref(obj);
  assert_string_equal(skip_kv_timestamp(second), "level=info mod=t msg=\"as kv\"\n");
  ik_free(s);

  setenv("INFRAKIT_LOG_FORMAT", "xml", 1);
  ik_err_clear(&err);
  assert_int_equal(ik_log_init_from_env(&err), IK_EINVAL);
  assert_non_null(strstr(err.msg, "INFRAKIT_LOG_FORMAT"));
  assert_non_null(strstr(err.msg, "xml"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(log_level_parse_accepts_names_in_any_case),
      T(log_level_parse_rejects_bad_input_and_leaves_output),
      T(log_level_name_round_trips_through_parse),
      T(log_enabled_follows_the_set_level),
      T(log_below_level_writes_nothing),
      T(log_kv_line_has_ts_level_mod_msg_then_pairs),
      T(log_pairs_array_form_matches_variadic_form),
      T(log_null_mod_msg_and_value_print_placeholders),
      T(log_kv_quotes_and_escapes_values_that_need_it),
      T(log_json_lines_parse_and_round_trip_values),
      T(log_redacts_values_under_secret_keys),
      T(log_keeps_values_under_ordinary_keys),
      T(log_masks_registered_secret_in_msg_and_values),
      T(log_secret_shorter_than_four_bytes_is_not_registered),
      T(log_clear_secrets_stops_masking),
      T(log_custom_redactor_rewrites_values),
      T(log_open_creates_file_with_mode_0600),
      T(log_open_appends_to_existing_file),
      T(log_open_failure_names_the_path),
      T(log_init_from_env_applies_level),
      T(log_init_from_env_rejects_bad_level_naming_variable),
      T(log_init_from_env_applies_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
