/* Redaction (redact.h). */
#include "base/redact.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* Registered values, longest first, so a secret that contains another is
 * masked whole. */
static struct {
  char **values;
  size_t n;
} registry;

void ik_redact_register(const char *value) {
  if (value == NULL || strlen(value) < 4) return;
  for (size_t i = 0; i < registry.n; i++)
    if (strcmp(registry.values[i], value) == 0) return;
  registry.values = ik_realloc(registry.values, (registry.n + 1) * sizeof(char *));
  size_t len = strlen(value), at = registry.n;
  while (at > 0 && strlen(registry.values[at - 1]) < len) {
    registry.values[at] = registry.values[at - 1];
    at--;
  }
  registry.values[at] = ik_strdup(value);
  registry.n++;
}

void ik_redact_clear(void) {
  for (size_t i = 0; i < registry.n; i++) ik_free(registry.values[i]);
  ik_free(registry.values);
  registry.values = NULL;
  registry.n = 0;
}

size_t ik_redact_count(void) { return registry.n; }

bool ik_redact_name_is_secret(const char *name) {
  static const char *const words[] = {
      "password",
      "passwd",
      "secret",
      "token",
      "authorization",
      "api_key",
      "apikey",
      "private_key",
      "privatekey",
      "credential",
      "cookie",
      "access_key",
      "session_key",
      "signature",
  };
  static const char *const exact[] = {"sig", "auth", "pass", "pwd"};
  if (name == NULL) return false;
  char lower[128];
  size_t n = 0;
  for (; name[n] && n < sizeof lower - 1; n++) lower[n] = (char)tolower((unsigned char)name[n]);
  lower[n] = '\0';
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strstr(lower, words[i])) return true;
  for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
    if (strcmp(lower, exact[i]) == 0) return true;
  /* SSHKey, ssh_key, EncryptionKey; not a bare "Key" (AWS's {"Key": "Name",
   * "Value": ...} tag pairs) nor a public key. */
  return n > 3 && strcmp(lower + n - 3, "key") == 0 && strstr(lower, "public") == NULL;
}

/* --- URLs ------------------------------------------------------------------ */

static bool url_end(char c) {
  return c == '\0' || isspace((unsigned char)c) || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`';
}

static bool authority_end(char c) { return url_end(c) || c == '/' || c == '?' || c == '#'; }

/* Append s to out with each URL's userinfo password and secret-named query
 * values masked. True when something was. */
static bool redact_urls(const char *s, ik_buf_t *out) {
  bool changed = false;
  const char *copied = s; /* s is in out up to here */
  for (const char *scan = strstr(s, "://"); scan; scan = strstr(scan, "://")) {
    const char *auth = scan + 3, *aend = auth, *at = NULL;
    for (; !authority_end(*aend); aend++)
      if (*aend == '@') at = aend;
    if (at) {
      const char *colon = memchr(auth, ':', (size_t)(at - auth));
      if (colon && colon + 1 < at && colon + 1 >= copied) {
        ik_buf_append(out, copied, (size_t)(colon + 1 - copied));
        ik_buf_puts(out, IK_REDACTED);
        copied = at;
        changed = true;
      }
    }
    const char *uend = aend;
    while (!url_end(*uend)) uend++;
    /* Punctuation that ends a sentence or a message ("GET URL: refused")
     * is not part of the URL, as linkifiers read it. */
    while (uend > aend && strchr(".,:;!)]}", uend[-1])) uend--;
    const char *q = memchr(aend, '?', (size_t)(uend - aend));
    const char *frag = memchr(aend, '#', (size_t)(uend - aend));
    if (q && !(frag && frag < q)) {
      const char *qend = frag ? frag : uend;
      for (const char *param = q + 1; param < qend;) {
        const char *pend = param;
        while (pend < qend && *pend != '&' && *pend != ';') pend++;
        const char *eq = memchr(param, '=', (size_t)(pend - param));
        if (eq && eq + 1 < pend) {
          char name[128];
          snprintf(name, sizeof name, "%.*s", (int)(eq - param), param);
          if (eq + 1 >= copied && ik_redact_name_is_secret(name)) {
            ik_buf_append(out, copied, (size_t)(eq + 1 - copied));
            ik_buf_puts(out, IK_REDACTED);
            copied = pend;
            changed = true;
          }
        }
        param = pend + 1;
      }
    }
    scan += 3; /* a URL inside this one's query (?next=https://u:p@h/) is looked at too */
  }
  ik_buf_puts(out, copied);
  return changed;
}

/* --- registered values -------------------------------------------------------- */

static bool has_registered(const char *s) {
  for (size_t i = 0; i < registry.n; i++)
    if (strstr(s, registry.values[i])) return true;
  return false;
}

static void mask_registered(const char *s, ik_buf_t *out) {
  while (*s) {
    size_t hit = 0;
    for (size_t i = 0; i < registry.n && hit == 0; i++) {
      size_t n = strlen(registry.values[i]);
      if (registry.values[i][0] == *s && strncmp(s, registry.values[i], n) == 0) hit = n;
    }
    if (hit) {
      ik_buf_puts(out, IK_REDACTED);
      s += hit;
    } else {
      ik_buf_putc(out, *s++);
    }
  }
}

const char *ik_redact_buf(const char *s, ik_buf_t *scratch) {
  if (s == NULL) return "";
  bool url = strstr(s, "://") != NULL;
  if (!url && (registry.n == 0 || !has_registered(s))) return s;
  ik_buf_t tmp = {0};
  const char *cur = s;
  if (url && redact_urls(s, &tmp)) cur = ik_buf_cstr(&tmp);
  bool reg = registry.n > 0 && has_registered(cur);
  if (cur == s && !reg) {
    ik_buf_free(&tmp);
    return s;
  }
  ik_buf_reset(scratch);
  if (reg) mask_registered(cur, scratch);
  else ik_buf_puts(scratch, cur);
  ik_buf_free(&tmp);
  return ik_buf_cstr(scratch);
}

char *ik_redact(const char *s) {
  ik_buf_t b = {0};
  const char *r = ik_redact_buf(s, &b);
  char *out = ik_strdup(r);
  ik_buf_free(&b);
  return out;
}

void ik_redact_err(ik_err_t *err) {
  if (err == NULL) return;
  ik_buf_t b = {0};
  const char *r = ik_redact_buf(err->msg, &b);
  if (r != err->msg) snprintf(err->msg, sizeof err->msg, "%s", r);
  ik_buf_free(&b);
}

/* --- JSON ------------------------------------------------------------------------- */

static void register_json(json_t *v, bool secret) {
  const char *key;
  json_t *val;
  size_t i;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    json_object_foreach(v, key, val) register_json(val, secret || ik_redact_name_is_secret(key));
    break;
  case JSON_ARRAY:
    json_array_foreach(v, i, val) register_json(val, secret);
    break;
  case JSON_STRING:
    if (secret) ik_redact_register(json_string_value(v));
    break;
  case JSON_INTEGER:
  case JSON_REAL:
  case JSON_TRUE:
  case JSON_FALSE:
  case JSON_NULL:
    break;
  default:
    abort();
  }
}

void ik_redact_register_json(json_t *v) {
  if (v) register_json(v, false);
}

/* The value to put in place of v, or NULL to keep v (and look inside). */
static json_t *redacted_scalar(json_t *v, bool secret, ik_buf_t *scratch) {
  if (secret && (json_is_string(v) || json_is_number(v))) return json_string(IK_REDACTED);
  if (!json_is_string(v)) return NULL;
  const char *s = json_string_value(v);
  const char *r = ik_redact_buf(s, scratch);
  return r == s ? NULL : json_string(r);
}

static void redact_json(json_t *v, bool secret, ik_buf_t *scratch) {
  const char *key;
  json_t *val, *rep;
  size_t i;
  if (json_is_object(v)) {
    json_object_foreach(v, key, val) {
      bool sec = secret || ik_redact_name_is_secret(key);
      if ((rep = redacted_scalar(val, sec, scratch)) != NULL) json_object_set_new(v, key, rep);
      else redact_json(val, sec, scratch);
    }
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, val) {
      if ((rep = redacted_scalar(val, secret, scratch)) != NULL) json_array_set_new(v, i, rep);
      else redact_json(val, secret, scratch);
    }
  }
}

void ik_redact_json(json_t *v) {
  if (v == NULL) return;
  ik_buf_t scratch = {0};
  if ((json_is_object(v) || json_is_array(v))) redact_json(v, false, &scratch);
  else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    const char *r = ik_redact_buf(s, &scratch);
    if (r != s) json_string_set(v, r);
  }
  ik_buf_free(&scratch);
}
