/* JSON helpers on top of jansson, for InfraKit's Go-shaped payloads.
 *
 * Go's encoding/json matches field names case-insensitively when decoding
 * ("size" fills Size) and writes `<`, `>` and `&` inside strings as \u003c,
 * \u003e and \u0026. ik_json_get() and ik_json_dump_go() copy both, so
 * InfraKit's clients and plugins read our payloads the way they read
 * their own (reference §1.1, §11; wire-examples "Go JSON quirks"). */
#ifndef IK_BASE_JSON_H
#define IK_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* obj[key], matched exactly first, then ignoring ASCII case; NULL when obj
 * is not an object or has no such key. A JSON null is returned as NULL too
 * (Go decodes null as "absent"). Borrowed reference. */
json_t *ik_json_get(const json_t *obj, const char *key);

/* The string at obj[key]: def when absent or null; NULL (and err filled,
 * naming field) when present with another type. */
const char *ik_json_get_string(const json_t *obj, const char *key, const char *def, const char *field,
                               ik_err_t *err);

/* Compact encoding in insertion order, Go's escapes for < > &, plus a
 * trailing newline when newline is set (Go's json.Encoder adds one).
 * Caller frees with free(). NULL only on allocation failure (aborts). */
char *ik_json_dump_go(const json_t *v, bool newline, size_t *len);

/* The 1-based column an editor shows for a jansson parse error: the first
 * character of the offending token ("near 'x'") when jansson names one on
 * its line, the position just past the input at "near end of file". jansson's
 * own column is that of the last character it read, 0 when it read none on
 * the line, so neither start of token nor 1-based. */
int ik_json_error_column(const json_error_t *je);

#endif
