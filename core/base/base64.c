/* Base64 through libcrypto (base64.h). */
#include "base/base64.h"

#include <limits.h>
#include <openssl/evp.h>

#include "base/mem.h"

char *ik_base64_encode(const void *s, size_t n, size_t *len) {
  if (n > (size_t)INT_MAX / 4 * 3) return NULL;
  unsigned char *out = ik_malloc(4 * ((n + 2) / 3) + 1);
  int got = EVP_EncodeBlock(out, s, (int)n); /* NUL-terminates */
  if (len) *len = (size_t)got;
  return (char *)out;
}

char *ik_base64_decode(const char *s, size_t n, size_t *len) {
  if (n % 4 != 0 || n > (size_t)INT_MAX) return NULL;
  unsigned char *out = ik_malloc(n / 4 * 3 + 1);
  int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
  if (got < 0) {
    ik_free(out);
    return NULL;
  }
  /* EVP_DecodeBlock counts the padding as zero bytes: take them back. */
  if (n >= 1 && s[n - 1] == '=') got--;
  if (n >= 2 && s[n - 2] == '=') got--;
  out[got] = '\0';
  if (len) *len = (size_t)got;
  return (char *)out;
}
