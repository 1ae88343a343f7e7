/* Go-compatible JSON on top of jansson: the one place that holds Go's
 * encoding/json rules (field-name case, null as absent, HTML escapes,
 * float64 number format, sorted map keys) for C, and, through
 * core/lua/json_lua.c, for Lua (infrakit.json.go).
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

#include "base/buf.h"
#include "base/err.h"

/* obj[key], matched exactly first, then ignoring ASCII case; NULL when obj
 * is not an object or has no such key. A JSON null is returned as NULL too
 * (Go decodes null as "absent"). Borrowed reference. */
json_t *ik_json_get(const json_t *obj, const char *key);

/* The string at obj[key]: def when absent or null; NULL (and err filled,
 * naming field) when present with another type. */
const char *ik_json_get_string(const json_t *obj, const char *key, const char *def, const char *field,
                               ik_err_t *err);

/* How an error message shows the JSON value v (not NULL): numbers as
 * written ("-1", "%g" for reals), true, false, null, "an object", "an
 * array", and a string quoted and cut to 40 bytes ("\"abc\"") or, when
 * quote_strings is false, only as "a string" (the wire's errors do not
 * echo the caller's text). */
void ik_json_describe(const json_t *v, bool quote_strings, char *buf, size_t n);

/* Fill err with "<path>: want <what>, got <v as ik_json_describe shows
 * it>" and return IK_EINVAL: the one shape of a mistyped-field error. */
int ik_json_want(ik_err_t *err, const char *path, const char *what, const json_t *v, bool quote_strings);

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

/* --- Go's encoding/json output for a generic decoded value, byte for byte.
 *
 * InfraKit hashes JSON that Go produced after decoding a document into
 * map[string]interface{} (reference §4.2), so the exact bytes matter:
 *   - objects: keys sorted by byte value (Go sorts map keys);
 *   - numbers: every number is a float64 (Go decodes numbers so), printed
 *     with the shortest digits that read back to the same float64, plain
 *     ("100", "0.000001") when 1e-6 <= |x| < 1e21, else exponent form
 *     with a two-digit minimum exponent ("1e+21", "1e-7", "1.5e-300");
 *   - strings: `"` `\` as \" \\; \n \r \t; other bytes below 0x20 and
 *     `<` `>` `&` as \u00XX (lower-case hex); U+2028 and U+2029 as
 *     \u2028 \u2029; everything else verbatim UTF-8 (an invalid byte
 *     becomes U+FFFD, as a decode/encode round trip in Go leaves it). This
 *     is Go 1.19's encoder, the one InfraKit's capture ran on (Go >= 1.22
 *     writes \b and \f instead of \u0008 and \u000c).
 * ik_json_marshal_indent() is json.MarshalIndent(v, prefix, indent): no
 * prefix on the first line; "{}" and "[]" for empty containers; ": "
 * after keys; no trailing newline.
 *
 * Limits (documented divergences): jansson reads "-0" as the integer 0,
 * which Go reads as float64 -0 and prints "-0"; write -0.0 to get "-0".
 * Integers beyond jansson's range are refused by jansson before we see
 * them unless the document was loaded with JSON_DECODE_INT_AS_REAL. */

/* Append json.MarshalIndent(v, prefix, indent) of v as Go would write it
 * after decoding v into an interface{}. v is borrowed; NULL writes "null". */
void ik_json_marshal_indent(ik_buf_t *out, const json_t *v, const char *prefix, const char *indent);

/* Append Go's encoding/json form of the float64 f (finite). */
void ik_json_format_float(ik_buf_t *out, double f);

/* Append s[0..len) as a Go JSON string literal, quotes included. */
void ik_json_format_string(ik_buf_t *out, const char *s, size_t len);

#endif
