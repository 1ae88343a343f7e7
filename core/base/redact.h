/* Redaction: what every output path applies before text leaves the
 * process - log lines (log.c), the event log, group describe / Group.Status,
 * JSON-RPC error messages, the CLI's error output.
 *
 * One process-wide registry of secret values, plus two rules that need no
 * registration:
 *   - registered values (ik_redact_register: from Lua infrakit.log.secret,
 *     and every secret-named field of a committed or read spec,
 *     ik_redact_register_json) print as [REDACTED] wherever they appear;
 *   - in URLs, the userinfo password (https://user:[REDACTED]@host/) and
 *     the values of query parameters with secret names
 *     (?token=[REDACTED]&user=bob) are redacted.
 * A name is secret (ik_redact_name_is_secret) when, ignoring case, it
 * contains password, passwd, secret, token, authorization, api_key, apikey,
 * private_key, privatekey, credential, cookie, access_key, session_key or
 * signature; ends in "key" (Key, SSHKey, ssh_key); or is sig, auth, pass or
 * pwd.
 *
 * Not thread-safe: the loop thread registers and redacts. */
#ifndef IK_BASE_REDACT_H
#define IK_BASE_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define IK_REDACTED "[REDACTED]"

/* Mask value wherever it appears from now on. Values shorter than 4 bytes
 * are ignored (masking "a" would wreck every line). Copied; registering a
 * value twice is the same as once. */
void ik_redact_register(const char *value);
void ik_redact_clear(void);
size_t ik_redact_count(void);

/* True when values under this field, key or query parameter name are
 * secrets. */
bool ik_redact_name_is_secret(const char *name);

/* Register every string under a secret-named field of v, at any depth (a
 * "Secrets" list or object counts: its name contains "secret"). Numbers
 * and booleans are not registered. v is borrowed (not changed); may be
 * NULL. */
void ik_redact_register_json(json_t *v);

/* s with URL credentials, secret query values and registered values
 * masked. Returns s itself when nothing changed, else the text in
 * *scratch (reset first; valid until its next use). NULL gives "". */
const char *ik_redact_buf(const char *s, ik_buf_t *scratch);

/* The same, as a new string the caller frees with ik_free. */
char *ik_redact(const char *s);

/* In place: strings masked as above; scalars under secret-named object
 * fields replaced by "[REDACTED]", and every string below such a field. */
void ik_redact_json(json_t *v);

/* In place on err->msg. err may be NULL. */
void ik_redact_err(ik_err_t *err);

#endif
