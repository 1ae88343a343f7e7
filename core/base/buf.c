#include "base/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"

void ik_buf_init(ik_buf_t *b) {
  b->data = NULL;
  b->len = b->cap = 0;
}

void ik_buf_free(ik_buf_t *b) {
  ik_free(b->data);
  ik_buf_init(b);
}

void ik_buf_reset(ik_buf_t *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void ik_buf_reserve(ik_buf_t *b, size_t extra) {
  size_t need = b->len + extra + 1; /* +1 for the NUL */
  if (need < b->len) ik_oom(SIZE_MAX);
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap * 2 > cap ? cap * 2 : need;
  b->data = ik_realloc(b->data, cap);
  b->cap = cap;
}

void ik_buf_append(ik_buf_t *b, const void *p, size_t n) {
  ik_buf_reserve(b, n);
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void ik_buf_puts(ik_buf_t *b, const char *s) { ik_buf_append(b, s, strlen(s)); }

void ik_buf_putc(ik_buf_t *b, char c) { ik_buf_append(b, &c, 1); }

void ik_buf_vprintf(ik_buf_t *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  ik_buf_reserve(b, 64);
  int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
  if (n < 0) n = 0;
  if ((size_t)n >= b->cap - b->len) {
    ik_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
  }
  va_end(ap2);
  b->len += (size_t)n;
}

void ik_buf_printf(ik_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ik_buf_vprintf(b, fmt, ap);
  va_end(ap);
}

char *ik_buf_steal(ik_buf_t *b, size_t *len) {
  if (b->data == NULL) ik_buf_reserve(b, 0), b->data[0] = '\0';
  char *p = b->data;
  if (len) *len = b->len;
  ik_buf_init(b);
  return p;
}

const char *ik_buf_cstr(const ik_buf_t *b) { return b->data ? b->data : ""; }
