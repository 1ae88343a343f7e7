/* etcd gateway JSON helpers (etcd_json.h). */
#include "engine/etcd_json.h"

#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/mem.h"

json_t *ik_etcd_b64(const char *s, size_t n) {
  size_t len;
  char *out = ik_base64_encode(s, n, &len);
  json_t *v = out ? json_stringn(out, len) : NULL;
  ik_free(out);
  return v;
}

char *ik_etcd_unb64(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v)) return NULL;
  return ik_base64_decode(json_string_value(v), json_string_length(v), NULL);
}

int64_t ik_etcd_int(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (json_is_integer(v)) return (int64_t)json_integer_value(v);
  if (!json_is_string(v)) return 0;
  char *end = NULL;
  long long n = strtoll(json_string_value(v), &end, 10);
  return end && *end == '\0' ? (int64_t)n : 0;
}
