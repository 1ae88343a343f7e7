#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/redact.h"

#define IK_LOG_MAX_PAIRS 32

static struct {
  ik_log_level_t level;
  ik_log_format_t format;
  int fd; /* -1 = stderr */
  ik_log_redactor_fn redactor;
  void *redactor_data;
} ik_log_state = {IK_LOG_INFO, IK_LOG_FMT_KV, -1, NULL, NULL};

static const char *const ik_level_names[] = {"debug", "info", "warn", "error", "off"};

int ik_log_level_parse(const char *s, ik_log_level_t *out) {
  if (s == NULL) return IK_EINVAL;
  for (int i = 0; i <= IK_LOG_OFF; i++) {
    if (strcasecmp(s, ik_level_names[i]) == 0) {
      *out = (ik_log_level_t)i;
      return 0;
    }
  }
  if (strcasecmp(s, "warning") == 0) {
    *out = IK_LOG_WARN;
    return 0;
  }
  return IK_EINVAL;
}

const char *ik_log_level_name(ik_log_level_t level) {
  return (unsigned)level <= IK_LOG_OFF ? ik_level_names[level] : "?";
}

void ik_log_set_level(ik_log_level_t level) { ik_log_state.level = level; }
ik_log_level_t ik_log_get_level(void) { return ik_log_state.level; }
bool ik_log_enabled(ik_log_level_t level) {
  return level != IK_LOG_OFF && level >= ik_log_state.level;
}
void ik_log_set_format(ik_log_format_t fmt) { ik_log_state.format = fmt; }

int ik_log_init_from_env(ik_err_t *err) {
  const char *lv = getenv("INFRAKIT_LOG_LEVEL");
  if (lv && *lv) {
    ik_log_level_t level;
    if (ik_log_level_parse(lv, &level) != 0)
      return ik_err_set(err, IK_EINVAL,
                        "INFRAKIT_LOG_LEVEL: unknown level \"%s\" (want debug, info, warn, error or off)", lv);
    ik_log_set_level(level);
  }
  const char *fmt = getenv("INFRAKIT_LOG_FORMAT");
  if (fmt && *fmt) {
    if (strcasecmp(fmt, "json") == 0) ik_log_set_format(IK_LOG_FMT_JSON);
    else if (strcasecmp(fmt, "kv") == 0 || strcasecmp(fmt, "logfmt") == 0) ik_log_set_format(IK_LOG_FMT_KV);
    else return ik_err_set(err, IK_EINVAL, "INFRAKIT_LOG_FORMAT: unknown format \"%s\" (want kv or json)", fmt);
  }
  return 0;
}

int ik_log_open(const char *path, ik_err_t *err) {
  ik_log_close();
  if (path == NULL) return 0;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ik_err_set(err, -errno, "log file %s: %s", path, strerror(errno));
  ik_log_state.fd = fd;
  return 0;
}

void ik_log_close(void) {
  if (ik_log_state.fd >= 0) close(ik_log_state.fd);
  ik_log_state.fd = -1;
}

/* The registry and the name rule are redact.h's: one mechanism for every
 * output path. */
void ik_log_add_secret(const char *value) { ik_redact_register(value); }
void ik_log_clear_secrets(void) { ik_redact_clear(); }

void ik_log_set_redactor(ik_log_redactor_fn fn, void *data) {
  ik_log_state.redactor = fn;
  ik_log_state.redactor_data = data;
}

bool ik_log_key_is_secret(const char *key) { return ik_redact_name_is_secret(key); }

static bool kv_needs_quotes(const char *s) {
  if (*s == '\0') return true;
  for (; *s; s++)
    if (*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' || (unsigned char)*s == 0x7f) return true;
  return false;
}

static void put_escaped(ik_buf_t *b, const char *s, bool json) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '"': ik_buf_puts(b, "\\\""); break;
    case '\\': ik_buf_puts(b, "\\\\"); break;
    case '\n': ik_buf_puts(b, "\\n"); break;
    case '\r': ik_buf_puts(b, "\\r"); break;
    case '\t': ik_buf_puts(b, "\\t"); break;
    default:
      if (c < 0x20 || c == 0x7f) ik_buf_printf(b, json ? "\\u%04x" : "\\x%02x", c);
      else ik_buf_putc(b, (char)c);
    }
  }
}

static void put_field(ik_buf_t *line, const char *key, const char *value, bool first) {
  bool json = ik_log_state.format == IK_LOG_FMT_JSON;
  if (json) {
    ik_buf_puts(line, first ? "{\"" : ",\"");
    put_escaped(line, key, true);
    ik_buf_puts(line, "\":\"");
    put_escaped(line, value, true);
    ik_buf_putc(line, '"');
    return;
  }
  if (!first) ik_buf_putc(line, ' ');
  ik_buf_puts(line, key);
  ik_buf_putc(line, '=');
  if (kv_needs_quotes(value)) {
    ik_buf_putc(line, '"');
    put_escaped(line, value, false);
    ik_buf_putc(line, '"');
  } else {
    ik_buf_puts(line, value);
  }
}

static const char *redact(const char *key, const char *value, ik_buf_t *scratch) {
  if (value == NULL) return "";
  if (ik_log_key_is_secret(key)) return "[REDACTED]";
  if (ik_log_state.redactor) {
    const char *r = ik_log_state.redactor(key, value, ik_log_state.redactor_data);
    if (r) value = r;
  }
  return ik_redact_buf(value, scratch);
}

void ik_log_pairs(ik_log_level_t level, const char *mod, const char *msg,
                  const char *const *kv, size_t npairs) {
  if (!ik_log_enabled(level)) return;
  ik_buf_t line = {0}, scratch = {0};

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[64];
  snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));

  put_field(&line, "ts", stamp, true);
  put_field(&line, "level", ik_log_level_name(level), false);
  put_field(&line, "mod", mod ? mod : "-", false);
  put_field(&line, "msg", redact("msg", msg ? msg : "", &scratch), false);
  for (size_t i = 0; i < npairs; i++) {
    const char *key = kv[2 * i] ? kv[2 * i] : "?";
    put_field(&line, key, redact(key, kv[2 * i + 1], &scratch), false);
  }
  if (ik_log_state.format == IK_LOG_FMT_JSON) ik_buf_putc(&line, '}');
  ik_buf_putc(&line, '\n');

  /* One write per line keeps lines whole when several processes share a file. */
  int fd = ik_log_state.fd >= 0 ? ik_log_state.fd : STDERR_FILENO;
  const char *p = line.data;
  size_t left = line.len;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= (size_t)n;
  }
  ik_buf_free(&line);
  ik_buf_free(&scratch);
}

void ik_logv(ik_log_level_t level, const char *mod, const char *msg, va_list ap) {
  if (!ik_log_enabled(level)) return;
  const char *kv[2 * IK_LOG_MAX_PAIRS];
  size_t n = 0;
  for (;;) {
    const char *key = va_arg(ap, const char *);
    if (key == NULL) break;
    const char *value = va_arg(ap, const char *);
    if (n < IK_LOG_MAX_PAIRS) {
      kv[2 * n] = key;
      kv[2 * n + 1] = value;
      n++;
    }
  }
  ik_log_pairs(level, mod, msg, kv, n);
}

void ik_log(ik_log_level_t level, const char *mod, const char *msg, ...) {
  va_list ap;
  va_start(ap, msg);
  ik_logv(level, mod, msg, ap);
  va_end(ap);
}
