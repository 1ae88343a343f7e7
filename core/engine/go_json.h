/* Go's encoding/json output for a generic decoded value, byte for byte.
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
 * ik_go_marshal_indent() is json.MarshalIndent(v, prefix, indent): no
 * prefix on the first line; "{}" and "[]" for empty containers; ": "
 * after keys; no trailing newline.
 *
 * Limits (documented divergences): jansson reads "-0" as the integer 0,
 * which Go reads as float64 -0 and prints "-0"; write -0.0 to get "-0".
 * Integers beyond jansson's range are refused by jansson before we see
 * them unless the document was loaded with JSON_DECODE_INT_AS_REAL. */
#ifndef IK_ENGINE_GO_JSON_H
#define IK_ENGINE_GO_JSON_H

#include <jansson.h>

#include "base/buf.h"

/* Append json.MarshalIndent(v, prefix, indent) of v as Go would write it
 * after decoding v into an interface{}. v is borrowed; NULL writes "null". */
void ik_go_marshal_indent(ik_buf_t *out, const json_t *v, const char *prefix, const char *indent);

/* Append Go's encoding/json form of the float64 f (finite). */
void ik_go_format_float(ik_buf_t *out, double f);

/* Append s[0..len) as a Go JSON string literal, quotes included. */
void ik_go_format_string(ik_buf_t *out, const char *s, size_t len);

#endif
