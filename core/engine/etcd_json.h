/* Reading and writing etcd v3 JSON gateway messages (reference
 * backends.md "etcd"): keys and values are base64, int64 values are JSON
 * strings, and a field at its zero value is omitted (a failed txn has no
 * "succeeded"; an expired lease's keepalive has no "TTL"). */
#ifndef IK_ENGINE_ETCD_JSON_H
#define IK_ENGINE_ETCD_JSON_H

#include <jansson.h>
#include <stdint.h>

/* s (n bytes) as a base64 JSON string (new reference). */
json_t *ik_etcd_b64(const char *s, size_t n);

/* The base64 string member key of obj, decoded: a NUL-terminated copy the
 * caller frees, or NULL when absent or not base64. */
char *ik_etcd_unb64(const json_t *obj, const char *key);

/* The int64 member key of obj, whether a string ("42") or a number; 0
 * when absent (etcd omits zero) or not a number. */
int64_t ik_etcd_int(const json_t *obj, const char *key);

#endif
