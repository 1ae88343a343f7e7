/* etcd gateway JSON helpers (etcd_json.h). */
#include "engine/etcd_json.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

json_t *ik_etcd_b64(const char *s, size_t n) {
  if (n > (size_t)INT_MAX / 2) return NULL;
  unsigned char *out = ik_malloc(4 * ((n + 2) / 3) + 1);
  int len = EVP_EncodeBlock(out, (const unsigned char *)s, (int)n);
  json_t *v = json_stringn((const char *)out, (size_t)len);
  ik_free(out);
  return v;
}

char *ik_etcd_unb64(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v)) return NULL;
  size_t n = json_string_length(v);
  if (n % 4 != 0 || n > (size_t)INT_MAX) return NULL;
  unsigned char *out = ik_malloc(n / 4 * 3 + 1);
  int len = EVP_DecodeBlock(out, (const unsigned char *)json_string_value(v), (int)n);
  if (len < 0) {
    ik_free(out);
    return NULL;
  }
  /* EVP_DecodeBlock counts the padding as bytes: take them back. */
  const char *s = json_string_value(v);
  if (n >= 1 && s[n - 1] == '=') len--;
  if (n >= 2 && s[n - 2] == '=') len--;
  out[len] = '\0';
  return (char *)out;
}

int64_t ik_etcd_int(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (json_is_integer(v)) return (int64_t)json_integer_value(v);
  if (!json_is_string(v)) return 0;
  char *end = NULL;
  long long n = strtoll(json_string_value(v), &end, 10);
  return end && *end == '\0' ? (int64_t)n : 0;
}
