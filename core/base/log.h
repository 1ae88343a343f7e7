/* Levelled, structured logging.
 *
 * One line per event, key=value (logfmt) by default or JSON lines:
 *   ts=2026-11-25T03:30:00.123Z level=info mod=lua msg="task failed" task=3
 * Written to stderr unless ik_log_open() names a file. The level comes from
 * --log-level or INFRAKIT_LOG_LEVEL (debug|info|warn|error|off).
 *
 * Secrets never reach the sink: values under keys that look like secrets
 * (password, secret, token, authorization, api_key, private_key,
 * credential...; ik_redact_name_is_secret) print as [REDACTED], URL
 * passwords and secret query values are masked, every string registered
 * with ik_log_add_secret() (= ik_redact_register) is masked wherever it
 * appears (message or value), and a custom redactor may rewrite any value.
 * The rules and the registry are base/redact.h's, shared with every other
 * output path. Not thread-safe: call from the
 * loop thread only. */
#ifndef IK_BASE_LOG_H
#define IK_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

typedef enum ik_log_level {
  IK_LOG_DEBUG = 0,
  IK_LOG_INFO,
  IK_LOG_WARN,
  IK_LOG_ERROR,
  IK_LOG_OFF,
} ik_log_level_t;

typedef enum ik_log_format { IK_LOG_FMT_KV = 0,
                             IK_LOG_FMT_JSON } ik_log_format_t;

/* A redactor sees every (key, value) pair after the built-in rules. Return
 * NULL to keep the value, or a replacement (borrowed until the next call). */
typedef const char *(*ik_log_redactor_fn)(const char *key, const char *value, void *data);

/* Parse "debug|info|warn|warning|error|off" (any case). Returns 0 or IK_EINVAL. */
int ik_log_level_parse(const char *s, ik_log_level_t *out);
const char *ik_log_level_name(ik_log_level_t level);

void ik_log_set_level(ik_log_level_t level);
ik_log_level_t ik_log_get_level(void);
bool ik_log_enabled(ik_log_level_t level);
void ik_log_set_format(ik_log_format_t fmt);

/* Apply INFRAKIT_LOG_LEVEL and INFRAKIT_LOG_FORMAT if set. Returns 0 or
 * IK_EINVAL naming the variable and the bad value. */
int ik_log_init_from_env(ik_err_t *err);

/* Log to path (appended, created 0600) instead of stderr; NULL = stderr. */
int ik_log_open(const char *path, ik_err_t *err);
void ik_log_close(void);

/* Mask every occurrence of value in later log lines. Values shorter than 4
 * bytes are ignored (masking "a" would wreck every line). Copied. */
void ik_log_add_secret(const char *value);
void ik_log_clear_secrets(void);
void ik_log_set_redactor(ik_log_redactor_fn fn, void *data);

/* True if values under this key are always redacted. */
bool ik_log_key_is_secret(const char *key);

/* Log msg with key/value string pairs, terminated by NULL:
 *   ik_log(IK_LOG_INFO, "loop", "shutting down", "signal", "SIGTERM", NULL); */
void ik_log(ik_log_level_t level, const char *mod, const char *msg, ...)
    __attribute__((sentinel));
void ik_logv(ik_log_level_t level, const char *mod, const char *msg, va_list ap);

/* Same with an array of 2*npairs strings (key, value, key, value...). */
void ik_log_pairs(ik_log_level_t level, const char *mod, const char *msg,
                  const char *const *kv, size_t npairs);

#endif
