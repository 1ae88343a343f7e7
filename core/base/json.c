/* JSON helpers: Go-compatible decoding and encoding (see json.h). */
#include "base/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/mem.h"

json_t *ik_json_get(const json_t *obj, const char *key) {
  if (!json_is_object(obj)) return NULL;
  json_t *v = json_object_get(obj, key);
  if (v == NULL) {
    const char *k;
    json_t *val;
    void *iter = json_object_iter((json_t *)(uintptr_t)obj);
    for (; iter; iter = json_object_iter_next((json_t *)(uintptr_t)obj, iter)) {
      k = json_object_iter_key(iter);
      val = json_object_iter_value(iter);
      if (strcasecmp(k, key) == 0) {
        v = val;
        break;
      }
    }
  }
  return json_is_null(v) ? NULL : v;
}

const char *ik_json_get_string(const json_t *obj, const char *key, const char *def, const char *field,
                               ik_err_t *err) {
  json_t *v = ik_json_get(obj, key);
  if (v == NULL) return def;
  if (!json_is_string(v)) {
    ik_err_set(err, IK_EINVAL, "%s: want a string, got %s", field ? field : key,
               json_is_object(v) ? "an object" : json_is_array(v) ? "an array"
                                             : json_is_number(v)  ? "a number"
                                                                  : "a boolean");
    return NULL;
  }
  return json_string_value(v);
}

void ik_json_describe(const json_t *v, bool quote_strings, char *buf, size_t n) {
  if (json_is_integer(v)) snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_real(v)) snprintf(buf, n, "%g", json_real_value(v));
  else if (json_is_string(v) && quote_strings) snprintf(buf, n, "\"%.40s\"", json_string_value(v));
  else if (json_is_string(v)) snprintf(buf, n, "a string");
  else if (json_is_object(v)) snprintf(buf, n, "an object");
  else if (json_is_array(v)) snprintf(buf, n, "an array");
  else if (json_is_null(v)) snprintf(buf, n, "null");
  else snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
}

int ik_json_want(ik_err_t *err, const char *path, const char *what, const json_t *v, bool quote_strings) {
  char got[64];
  ik_json_describe(v, quote_strings, got, sizeof got);
  return ik_err_set(err, IK_EINVAL, "%s: want %s, got %s", path, what, got);
}

/* Rewrite < > & as Go does. They can only occur inside strings in
 * jansson's output, so a byte scan is exact. */
static char *go_escape(char *s, size_t *len) {
  size_t n = strlen(s), extra = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '<' || s[i] == '>' || s[i] == '&') extra += 5;
  if (extra == 0) {
    if (len) *len = n;
    return s;
  }
  char *out = ik_malloc(n + extra + 2);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    const char *rep = s[i] == '<' ? "\\u003c" : s[i] == '>' ? "\\u003e"
                                            : s[i] == '&'   ? "\\u0026"
                                                            : NULL;
    if (rep) {
      memcpy(out + o, rep, 6);
      o += 6;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  free(s);
  if (len) *len = o;
  return out;
}

static char *dump(const json_t *v, size_t flags, bool newline, size_t *len) {
  char *s = json_dumps(v, flags | JSON_ENCODE_ANY);
  if (s == NULL) abort(); /* only on allocation failure */
  size_t n;
  s = go_escape(s, &n);
  if (newline) {
    char *t = realloc(s, n + 2);
    if (t == NULL) abort();
    s = t;
    s[n++] = '\n';
    s[n] = '\0';
  }
  if (len) *len = n;
  return s;
}

char *ik_json_dump_go(const json_t *v, bool newline, size_t *len) {
  return dump(v, JSON_COMPACT, newline, len);
}

int ik_json_error_column(const json_error_t *je) {
  int col = je->column;
  const char *text = je->text;
  size_t tlen = strlen(text);
  static const char eof[] = " near end of file";
  const char *near = strstr(text, " near '");
  if (tlen >= sizeof eof - 1 && strcmp(text + tlen - (sizeof eof - 1), eof) == 0) {
    col += 1; /* where the next character would have been */
  } else if (near != NULL && tlen > 0 && text[tlen - 1] == '\'') {
    /* The token jansson saved, up to the final quote; counted in characters
     * (UTF-8 lead bytes) as jansson counts its column. */
    const char *tok = near + strlen(" near '");
    const char *end = text + tlen - 1;
    int chars = 0;
    bool newline = false;
    for (const char *q = tok; q < end; q++) {
      if (*q == '\n') newline = true;
      if (((unsigned char)*q & 0xC0) != 0x80) chars++;
    }
    if (!newline && chars > 0 && chars <= col) col = col - chars + 1;
  }
  return col < 1 ? 1 : col;
}

/* --- numbers ------------------------------------------------------------ */

/* digits of m (> 0) into buf, returns the count. */
static int u64_digits(uint64_t m, char *buf) {
  char tmp[24];
  int n = 0;
  while (m > 0) {
    tmp[n++] = (char)('0' + m % 10);
    m /= 10;
  }
  for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}

/* Does m * 10^e read back (strtod, round-half-even) as x? */
static bool reads_back(uint64_t m, int e, double x) {
  char buf[48];
  snprintf(buf, sizeof buf, "%" PRIu64 "e%d", m, e);
  return strtod(buf, NULL) == x;
}

/* The shortest decimal that reads back as x (> 0, finite), the closest to
 * x among those of that length, as Go's strconv.FormatFloat(x, _, -1, 64)
 * chooses it: digits (no leading or trailing zeros) and dp, the position
 * of the decimal point (x = 0.d1d2...dn * 10^dp).
 *
 * For each length p, printf's correctly rounded p-digit value is the
 * closest p-digit decimal; if it does not read back, a p-digit decimal on
 * the far side can still read back when x is a power of two (its rounding
 * interval is narrower below than above), so the neighbours are tried. */
static void shortest(double x, char *digits, int *dp) {
  for (int p = 1; p <= 17; p++) {
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", p - 1, x);
    /* buf = d[.ddd]e[+-]XX */
    uint64_t m = 0;
    const char *s = buf;
    for (; *s && *s != 'e'; s++)
      if (*s >= '0' && *s <= '9') m = m * 10 + (uint64_t)(*s - '0');
    int e10 = atoi(s + 1);   /* exponent of the leading digit */
    int scale = e10 - p + 1; /* x ~ m * 10^scale */
    bool ok = strtod(buf, NULL) == x;
    if (!ok && reads_back(m + 1, scale, x)) {
      m += 1, ok = true;
    } else if (!ok && m > 1 && reads_back(m - 1, scale, x)) {
      m -= 1, ok = true;
    }
    if (!ok) continue;
    int n = u64_digits(m, digits);
    *dp = n + scale;
    while (n > 1 && digits[n - 1] == '0') digits[--n] = '\0';
    return;
  }
  /* 17 significant digits always read back; not reached. */
  abort();
}

void ik_json_format_float(ik_buf_t *out, double f) {
  if (f == 0) {
    ik_buf_puts(out, signbit(f) ? "-0" : "0");
    return;
  }
  if (f < 0) {
    ik_buf_putc(out, '-');
    f = -f;
  }
  char d[24];
  int dp;
  shortest(f, d, &dp);
  int n = (int)strlen(d);
  if (f < 1e-6 || f >= 1e21) {
    /* 'e' format; Go's JSON encoder then rewrites e-07 as e-7. */
    ik_buf_putc(out, d[0]);
    if (n > 1) {
      ik_buf_putc(out, '.');
      ik_buf_append(out, d + 1, (size_t)n - 1);
    }
    int e = dp - 1;
    if (e < 0) ik_buf_printf(out, "e-%d", -e);
    else ik_buf_printf(out, "e+%02d", e);
    return;
  }
  if (dp <= 0) {
    ik_buf_puts(out, "0.");
    for (int i = 0; i < -dp; i++) ik_buf_putc(out, '0');
    ik_buf_append(out, d, (size_t)n);
  } else if (dp >= n) {
    ik_buf_append(out, d, (size_t)n);
    for (int i = n; i < dp; i++) ik_buf_putc(out, '0');
  } else {
    ik_buf_append(out, d, (size_t)dp);
    ik_buf_putc(out, '.');
    ik_buf_append(out, d + dp, (size_t)(n - dp));
  }
}

/* --- strings ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code
 * point, or 0 when the byte at s does not start one (Go's RuneError, 1). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char c = s[0];
  size_t len;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) len = 2, *cp = c & 0x1F, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, *cp = c & 0x0F, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, *cp = c & 0x07, min = 0x10000;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (s[i] & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

void ik_json_format_string(ik_buf_t *out, const char *str, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  ik_buf_putc(out, '"');
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        ik_buf_putc(out, '\\');
        ik_buf_putc(out, (char)c);
      } else if (c == '\n') {
        ik_buf_puts(out, "\\n");
      } else if (c == '\r') {
        ik_buf_puts(out, "\\r");
      } else if (c == '\t') {
        ik_buf_puts(out, "\\t");
      } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF], '\0'};
        ik_buf_puts(out, esc);
      } else {
        ik_buf_putc(out, (char)c);
      }
      i++;
      continue;
    }
    uint32_t cp;
    size_t n = utf8_seq(s + i, len - i, &cp);
    if (n == 0) {
      ik_buf_puts(out, "\xEF\xBF\xBD"); /* U+FFFD, as Go's decoder leaves it */
      i++;
    } else if (cp == 0x2028 || cp == 0x2029) {
      ik_buf_puts(out, cp == 0x2028 ? "\\u2028" : "\\u2029");
      i += n;
    } else {
      ik_buf_append(out, s + i, n);
      i += n;
    }
  }
  ik_buf_putc(out, '"');
}

/* --- values ------------------------------------------------------------- */

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void newline(ik_buf_t *out, const char *prefix, const char *indent, int depth) {
  ik_buf_putc(out, '\n');
  ik_buf_puts(out, prefix);
  for (int i = 0; i < depth; i++) ik_buf_puts(out, indent);
}

static void encode(ik_buf_t *out, const json_t *v, const char *prefix, const char *indent, int depth) {
  json_t *mv = (json_t *)(uintptr_t)v; /* jansson's getters are not const */
  switch (v ? json_typeof(v) : JSON_NULL) {
  case JSON_OBJECT: {
    size_t n = json_object_size(v);
    if (n == 0) {
      ik_buf_puts(out, "{}");
      return;
    }
    const char **keys = ik_calloc(n, sizeof *keys);
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(mv, key, val) keys[k++] = key;
    qsort(keys, k, sizeof *keys, cmp_keys);
    ik_buf_putc(out, '{');
    for (size_t i = 0; i < k; i++) {
      if (i > 0) ik_buf_putc(out, ',');
      newline(out, prefix, indent, depth + 1);
      ik_json_format_string(out, keys[i], strlen(keys[i]));
      ik_buf_puts(out, ": ");
      encode(out, json_object_get(v, keys[i]), prefix, indent, depth + 1);
    }
    newline(out, prefix, indent, depth);
    ik_buf_putc(out, '}');
    ik_free(keys);
    return;
  }
  case JSON_ARRAY: {
    size_t n = json_array_size(v);
    if (n == 0) {
      ik_buf_puts(out, "[]");
      return;
    }
    ik_buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
      if (i > 0) ik_buf_putc(out, ',');
      newline(out, prefix, indent, depth + 1);
      encode(out, json_array_get(v, i), prefix, indent, depth + 1);
    }
    newline(out, prefix, indent, depth);
    ik_buf_putc(out, ']');
    return;
  }
  case JSON_STRING:
    ik_json_format_string(out, json_string_value(v), json_string_length(v));
    return;
  case JSON_INTEGER:
    ik_json_format_float(out, (double)json_integer_value(v));
    return;
  case JSON_REAL:
    ik_json_format_float(out, json_real_value(v));
    return;
  case JSON_TRUE:
    ik_buf_puts(out, "true");
    return;
  case JSON_FALSE:
    ik_buf_puts(out, "false");
    return;
  case JSON_NULL:
    ik_buf_puts(out, "null");
    return;
  default:
    abort();
  }
}

void ik_json_marshal_indent(ik_buf_t *out, const json_t *v, const char *prefix, const char *indent) {
  encode(out, v, prefix, indent, 0);
}
