/* Standard padded base64 (Go's base64.StdEncoding) through OpenSSL's
 * libcrypto, for whoever needs it: the template functions b64enc/b64dec
 * (lua/bind_codec.c) and etcd's JSON gateway (engine/etcd_json.c). */
#ifndef IK_BASE_BASE64_H
#define IK_BASE_BASE64_H

#include <stddef.h>

/* s (n bytes) encoded: a NUL-terminated string (ik_free it), its length
 * in *len (may be NULL). NULL when n is too large for libcrypto (> 1.5 GiB). */
char *ik_base64_encode(const void *s, size_t n, size_t *len);

/* s (n bytes of valid padded base64, no line breaks) decoded: the bytes
 * plus a NUL (ik_free them), their count in *len (may be NULL). NULL when
 * s is not valid base64 (its length not a multiple of 4, a byte outside
 * the alphabet). */
char *ik_base64_decode(const char *s, size_t n, size_t *len);

#endif
