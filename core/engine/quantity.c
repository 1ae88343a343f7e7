/* Policy quantities: counts-or-percentages and durations (see quantity.h). */
#include "engine/quantity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#define PERCENT_HINT "want a number or a percentage like \"25%\""

int ik_intstr_parse(const json_t *v, const char *field, ik_intstr_t *out, ik_err_t *err) {
  char got[64];
  out->value = 0;
  out->percent = false;
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    out->value = json_integer_value(v);
    return 0;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    bool digits = n >= 2 && s[n - 1] == '%';
    for (size_t i = 0; digits && i + 1 < n; i++) digits = s[i] >= '0' && s[i] <= '9';
    if (digits && n <= 12) {
      out->value = strtoll(s, NULL, 10);
      out->percent = true;
      return 0;
    }
  }
  ik_json_describe(v, true, got, sizeof got);
  return ik_err_set(err, IK_EINVAL, "%s: %s, got %s", field, PERCENT_HINT, got);
}

int64_t ik_intstr_scaled(ik_intstr_t q, int64_t total, bool round_up) {
  if (!q.percent) return q.value;
  if (total <= 0) return 0;
  int64_t num = q.value * total;
  return round_up ? (num + 99) / 100 : num / 100;
}

bool ik_intstr_is_zero(ik_intstr_t q) { return q.value == 0; }

/* --- durations ------------------------------------------------------------ */

static const struct {
  const char *name;
  uint64_t ns;
} units[] = {
    {"ns", 1ULL},
    {"us", 1000ULL},
    {"\xC2\xB5s", 1000ULL}, /* U+00B5 micro sign */
    {"\xCE\xBCs", 1000ULL}, /* U+03BC greek mu */
    {"ms", 1000000ULL},
    {"s", 1000000000ULL},
    {"m", 60000000000ULL},
    {"h", 3600000000000ULL},
};

static int bad_duration(ik_err_t *err, const char *field, const char *s) {
  return ik_err_set(err, IK_EINVAL, "%s: want a duration like \"30s\", got \"%.40s\"", field, s);
}

/* Go's time.ParseDuration, step for step. */
int ik_go_duration_parse(const char *orig, const char *field, int64_t *ns, ik_err_t *err) {
  const char *s = orig;
  uint64_t d = 0;
  bool neg = false;
  *ns = 0;
  if (*s == '-' || *s == '+') neg = *s++ == '-';
  if (strcmp(s, "0") == 0) return 0;
  if (*s == '\0') return bad_duration(err, field, orig);
  while (*s) {
    uint64_t v = 0, f = 0;
    double scale = 1;
    if (!(*s == '.' || (*s >= '0' && *s <= '9'))) return bad_duration(err, field, orig);
    const char *start = s;
    for (; *s >= '0' && *s <= '9'; s++) {
      if (v > (UINT64_C(1) << 63) / 10) return bad_duration(err, field, orig);
      v = v * 10 + (uint64_t)(*s - '0');
      if (v > (UINT64_C(1) << 63)) return bad_duration(err, field, orig);
    }
    bool pre = s != start, post = false;
    if (*s == '.') {
      s++;
      const char *fs = s;
      bool overflow = false;
      for (; *s >= '0' && *s <= '9'; s++) {
        if (overflow) continue;
        if (f > ((UINT64_C(1) << 63) - 1) / 10) {
          overflow = true;
          continue;
        }
        uint64_t y = f * 10 + (uint64_t)(*s - '0');
        if (y > (UINT64_C(1) << 63)) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = s != fs;
    }
    if (!pre && !post) return bad_duration(err, field, orig);
    const char *u = s;
    while (*s && *s != '.' && !(*s >= '0' && *s <= '9')) s++;
    size_t ulen = (size_t)(s - u);
    if (ulen == 0) return bad_duration(err, field, orig);
    uint64_t unit = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
      if (strlen(units[i].name) == ulen && memcmp(units[i].name, u, ulen) == 0) unit = units[i].ns;
    if (unit == 0) return bad_duration(err, field, orig);
    if (v > (UINT64_C(1) << 63) / unit) return bad_duration(err, field, orig);
    v *= unit;
    if (f > 0) {
      v += (uint64_t)((double)f * ((double)unit / scale));
      if (v > (UINT64_C(1) << 63)) return bad_duration(err, field, orig);
    }
    d += v;
    if (d > (UINT64_C(1) << 63)) return bad_duration(err, field, orig);
  }
  if (neg) {
    *ns = d == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)d;
    return 0;
  }
  if (d > (uint64_t)INT64_MAX) return bad_duration(err, field, orig);
  *ns = (int64_t)d;
  return 0;
}

int ik_duration_field(const json_t *v, const char *field, bool seconds_ok, int64_t *ms, ik_err_t *err) {
  char got[64];
  *ms = 0;
  if (json_is_string(v)) {
    int64_t ns;
    int rc = ik_go_duration_parse(json_string_value(v), field, &ns, err);
    if (rc != 0) return rc;
    if (ns < 0)
      return ik_err_set(err, IK_EINVAL, "%s: want a duration >= 0, got \"%s\"", field, json_string_value(v));
    *ms = ns / 1000000;
    return 0;
  }
  if (seconds_ok && json_is_number(v)) {
    double secs = json_number_value(v);
    if (secs < 0 || !isfinite(secs) || secs > 9.2e15 / 1000) {
      ik_json_describe(v, true, got, sizeof got);
      return ik_err_set(err, IK_EINVAL, "%s: want a number of seconds >= 0, got %s", field, got);
    }
    *ms = (int64_t)(secs * 1000);
    return 0;
  }
  ik_json_describe(v, true, got, sizeof got);
  return ik_err_set(err, IK_EINVAL, "%s: want %s, got %s", field,
                    seconds_ok ? "a number of seconds or a duration like \"30s\"" : "a duration like \"30s\"", got);
}
