/* url.URL as Go 1.19 parses and encodes it (see go_types.h), for
 * Manager.LeaderLocation, whose result is a *url.URL encoded as a struct.
 * Follows net/url's parse(): fragment, scheme, query, opaque or authority,
 * then the path with RawPath kept only when re-escaping would differ. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "net/go_types.h"

typedef enum { ENC_PATH,
               ENC_FRAGMENT,
               ENC_QUERY_COMPONENT } enc_t;

/* net/url's shouldEscape, for the modes used here. */
static bool should_escape(unsigned char c, enc_t mode) {
  if (isalnum(c)) return false;
  switch (c) {
  case '-':
  case '_':
  case '.':
  case '~': return false;
  case '$':
  case '&':
  case '+':
  case ',':
  case '/':
  case ':':
  case ';':
  case '=':
  case '?':
  case '@':
    if (mode == ENC_QUERY_COMPONENT) return true;
    return mode == ENC_PATH && c == '?';
  default: break;
  }
  if (mode == ENC_FRAGMENT && strchr("!()*", c) && c != '\0') return false;
  return true;
}

static int hexval(char c) {
  return isdigit((unsigned char)c) ? c - '0' : isxdigit((unsigned char)c) ? (tolower((unsigned char)c) - 'a' + 10)
                                                                          : -1;
}

/* %XX-decode s[0..n) into a new string of *len bytes (it may hold NULs);
 * NULL (err set) on a bad escape. */
static char *unescape(const char *s, size_t n, size_t *len, const char *text, ik_err_t *err) {
  char *out = ik_malloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      out[o++] = s[i];
      continue;
    }
    if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
      int shown = n - i < 3 ? (int)(n - i) : 3;
      ik_err_set(err, IK_EINVAL, "parse \"%s\": invalid URL escape \"%.*s\"", text, shown, s + i);
      ik_free(out);
      return NULL;
    }
    out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
    i += 2;
  }
  out[o] = '\0';
  *len = o;
  return out;
}

/* s[0..len) as a JSON string; NULL (err set) when it is not UTF-8, which
 * jansson cannot hold (Go would write U+FFFD for each bad byte). */
static json_t *utf8_string(const char *s, size_t len, const char *text, ik_err_t *err) {
  json_t *v = json_stringn(s, len);
  if (v == NULL) ik_err_set(err, IK_EINVAL, "parse \"%s\": %%-escapes that are not UTF-8 are not supported", text);
  return v;
}

/* True when escaping s[0..len) in mode gives back raw[0..n) exactly. */
static bool escapes_to(const char *s, size_t len, enc_t mode, const char *raw, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; p < (const unsigned char *)s + len; p++) {
    char buf[3] = {(char)*p, 0, 0};
    size_t k = 1;
    if (should_escape(*p, mode)) {
      buf[0] = '%', buf[1] = hex[*p >> 4], buf[2] = hex[*p & 15];
      k = 3;
    }
    if (o + k > n || memcmp(raw + o, buf, k) != 0) return false;
    o += k;
  }
  return o == n;
}

/* Set field (and raw_field when escaping would not reproduce raw). */
static int set_escaped(json_t *u, const char *field, const char *raw_field, const char *raw, size_t n, enc_t mode,
                       const char *text, ik_err_t *err) {
  size_t len;
  char *plain = unescape(raw, n, &len, text, err);
  if (plain == NULL) return IK_EINVAL;
  json_t *v = utf8_string(plain, len, text, err);
  if (v && !escapes_to(plain, len, mode, raw, n)) json_object_set_new(u, raw_field, json_stringn(raw, n));
  ik_free(plain);
  if (v == NULL) return IK_EINVAL;
  json_object_set_new(u, field, v);
  return 0;
}

/* "scheme:" at the start of s: its length (0 = none); -1 for ":..." */
static int scheme_len(const char *s) {
  for (int i = 0; s[i]; i++) {
    unsigned char c = (unsigned char)s[i];
    if (isalpha(c)) continue;
    if (isdigit(c) || c == '+' || c == '-' || c == '.') {
      if (i == 0) return 0;
      continue;
    }
    if (c == ':') return i == 0 ? -1 : i;
    return 0;
  }
  return 0;
}

/* [userinfo@]host[:port]; the port must be digits (net/url's
 * validOptionalPort). Userinfo is not checked further. */
static int set_authority(json_t *u, const char *a, size_t n, const char *text, ik_err_t *err) {
  const char *at = memrchr(a, '@', n);
  if (at) {
    json_object_set_new(u, "User", json_object());
    n -= (size_t)(at + 1 - a);
    a = at + 1;
  }
  const char *port = memrchr(a, ':', n);
  if (n > 0 && a[0] == '[') {
    const char *rb = memrchr(a, ']', n);
    if (rb == NULL) return ik_err_set(err, IK_EINVAL, "parse \"%s\": missing ']' in host", text);
    port = rb + 1;
  }
  if (port && port < a + n) {
    bool ok = *port == ':';
    for (const char *p = port + 1; ok && p < a + n; p++) ok = isdigit((unsigned char)*p);
    if (!ok)
      return ik_err_set(err, IK_EINVAL, "parse \"%s\": invalid port \"%.*s\" after host", text, (int)(a + n - port),
                        port);
  }
  size_t len;
  char *host = unescape(a, n, &len, text, err);
  if (host == NULL) return IK_EINVAL;
  json_t *v = utf8_string(host, len, text, err);
  ik_free(host);
  if (v == NULL) return IK_EINVAL;
  json_object_set_new(u, "Host", v);
  return 0;
}

/* Cut "?query" off rest[0..rn): RawQuery, or ForceQuery for a lone
 * trailing '?'. Returns the length left. */
static size_t cut_query(json_t *u, const char *rest, size_t rn) {
  const char *q = memchr(rest, '?', rn);
  if (q == NULL) return rn;
  if (q == rest + rn - 1) {
    json_object_set_new(u, "ForceQuery", json_true());
    return rn - 1;
  }
  json_object_set_new(u, "RawQuery", json_stringn(q + 1, (size_t)(rest + rn - q - 1)));
  return (size_t)(q - rest);
}

/* s[0..n) is the URL without its fragment: scheme, query, then opaque
 * data, or authority and path, in net/url's order. */
static int parse_main(json_t *u, const char *s, size_t n, const char *text, ik_err_t *err) {
  int sl = scheme_len(s);
  if (sl < 0) return ik_err_set(err, IK_EINVAL, "parse \"%s\": missing protocol scheme", text);
  char *scheme = ik_strndup(s, (size_t)sl);
  for (char *p = scheme; *p; p++) *p = (char)tolower((unsigned char)*p);
  json_object_set_new(u, "Scheme", json_string(scheme));
  ik_free(scheme);
  const char *rest = s + (sl ? sl + 1 : 0);
  size_t rn = cut_query(u, rest, n - (size_t)(rest - s));
  if ((rn == 0 || rest[0] != '/') && sl) {
    json_object_set_new(u, "Opaque", json_stringn(rest, rn));
    return 0;
  }
  if (sl == 0 && (rn == 0 || rest[0] != '/')) {
    const char *slash = memchr(rest, '/', rn);
    if (memchr(rest, ':', slash ? (size_t)(slash - rest) : rn))
      return ik_err_set(err, IK_EINVAL, "parse \"%s\": first path segment in URL cannot contain colon", text);
  }
  if (rn >= 2 && rest[0] == '/' && rest[1] == '/' && (sl || rn < 3 || rest[2] != '/')) {
    const char *a = rest + 2;
    const char *end = memchr(a, '/', rn - 2);
    size_t an = end ? (size_t)(end - a) : rn - 2;
    if (set_authority(u, a, an, text, err) < 0) return IK_EINVAL;
    rn -= 2 + an;
    rest = a + an;
  } else if (sl && rn > 0 && rest[0] == '/') {
    json_object_set_new(u, "OmitHost", json_true());
  }
  return set_escaped(u, "Path", "RawPath", rest, rn, ENC_PATH, text, err);
}

int ik_go_url(const char *text, json_t **out, ik_err_t *err) {
  *out = NULL;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return ik_err_set(err, IK_EINVAL, "parse \"%s\": net/url: invalid control character in URL", text);
  json_t *u = json_pack("{s:s, s:s, s:n, s:s, s:s, s:s, s:b, s:b, s:s, s:s, s:s}", "Scheme", "", "Opaque", "", "User",
                        "Host", "", "Path", "", "RawPath", "", "OmitHost", 0, "ForceQuery", 0, "RawQuery", "",
                        "Fragment", "", "RawFragment", "");
  const char *hash = strchr(text, '#');
  size_t n = hash ? (size_t)(hash - text) : strlen(text);
  int rc = 0;
  if (n == 1 && text[0] == '*') json_object_set_new(u, "Path", json_string("*"));
  else rc = parse_main(u, text, n, text, err);
  if (rc == 0 && hash) rc = set_escaped(u, "Fragment", "RawFragment", hash + 1, strlen(hash + 1), ENC_FRAGMENT, text, err);
  if (rc < 0) {
    json_decref(u);
    return IK_EINVAL;
  }
  *out = u;
  return 0;
}

void ik_go_query_escape(ik_buf_t *out, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == ' ') ik_buf_putc(out, '+');
    else if (should_escape(*p, ENC_QUERY_COMPONENT)) ik_buf_printf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    else ik_buf_putc(out, (char)*p);
  }
}
