/* JSON helpers: Go-compatible decoding and encoding (see json.h). */
#include "base/json.h"

#include <stdint.h>
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
               json_is_object(v) ? "an object" : json_is_array(v) ? "an array" :
               json_is_number(v) ? "a number" : "a boolean");
    return NULL;
  }
  return json_string_value(v);
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
    const char *rep = s[i] == '<' ? "\\u003c" : s[i] == '>' ? "\\u003e" : s[i] == '&' ? "\\u0026" : NULL;
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
