/* infrakit._codec: base64 and SHA-256 from OpenSSL's libcrypto (already
 * linked for the config hash), for the template functions b64enc, b64dec
 * and sha256sum (lua/infrakit/template/_funcs/sprig.lua). Pure functions;
 * nothing here yields.
 *
 *   b64encode(s)  -> standard padded base64 (Go's base64.StdEncoding)
 *   b64decode(s)  -> bytes, or nil, "illegal base64 data at input byte N"
 *                    (Go's message and N; CR and LF are skipped, as Go does)
 *   sha256_hex(s) -> 64 lower-case hex digits */
#include <openssl/evp.h>
#include <string.h>

#include "base/base64.h"
#include "base/mem.h"
#include "lua/internal.h"

static int l_b64encode(lua_State *L) {
  size_t n, len;
  const char *s = luaL_checklstring(L, 1, &n);
  /* Strings past 1.5 GiB are refused by the template's own limits long
   * before this. */
  char *out = ik_base64_encode(s, n, &len);
  if (out == NULL) return luaL_error(L, "b64enc: the input is too large");
  lua_pushlstring(L, out, len);
  ik_free(out);
  return 1;
}

static bool b64_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Where Go's decoder stops on s (n bytes, CR/LF removed): -1 when s is
 * valid padded base64, else the 0-based offset Go names. Padding is only
 * allowed as the last one or two bytes of the last quantum. */
static long b64_bad_at(const unsigned char *s, size_t n) {
  if (n % 4 != 0) {
    for (size_t i = 0; i < n; i++)
      if (!b64_char(s[i]) && s[i] != '=') return (long)i;
    return (long)(n - n % 4); /* the first byte past the last whole quantum */
  }
  for (size_t i = 0; i < n; i += 4) {
    bool padded = false;
    for (size_t j = 0; j < 4; j++) {
      unsigned char c = s[i + j];
      bool last = i + 4 >= n;
      if (c == '=' && last && j >= 2 && (j == 3 || s[i + 3] == '=')) padded = true;
      else if (!b64_char(c) || padded) return (long)(i + j);
    }
  }
  return -1;
}

static int l_b64decode(lua_State *L) {
  size_t len;
  const char *in = luaL_checklstring(L, 1, &len);
  unsigned char *s = ik_malloc(len + 1);
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (in[i] != '\r' && in[i] != '\n') s[n++] = (unsigned char)in[i];
  long bad = b64_bad_at(s, n);
  if (bad >= 0) {
    ik_free(s);
    lua_pushnil(L);
    lua_pushfstring(L, "illegal base64 data at input byte %d", (int)bad);
    return 2;
  }
  size_t got = 0;
  char *out = ik_base64_decode((const char *)s, n, &got); /* valid: checked above */
  lua_pushlstring(L, out ? out : "", got);
  ik_free(out);
  ik_free(s);
  return 1;
}

static int l_sha256_hex(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL) != 1) return luaL_error(L, "sha256: libcrypto failed");
  static const char hex[] = "0123456789abcdef";
  char out[2 * EVP_MAX_MD_SIZE];
  for (unsigned int i = 0; i < mdlen; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0xF];
  }
  lua_pushlstring(L, out, 2 * (size_t)mdlen);
  return 1;
}

int ik__open_codec(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"b64encode", l_b64encode},
      {"b64decode", l_b64decode},
      {"sha256_hex", l_sha256_hex},
      {NULL, NULL},
  };
  lua_newtable(L);
  luaL_register(L, NULL, fns);
  return 1;
}
