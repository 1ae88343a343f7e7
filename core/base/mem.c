#include "base/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void ik_oom(size_t n) {
  /* No allocation here: stdio buffers may be what failed. */
  char line[96];
  int len = snprintf(line, sizeof line, "level=fatal msg=\"out of memory\" bytes=%zu\n", n);
  if (len > 0) {
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)len);
    (void)ignored;
  }
  abort();
}

void *ik_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) ik_oom(n);
  return p;
}

void *ik_calloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (p == NULL) ik_oom(count * size);
  return p;
}

void *ik_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (q == NULL) ik_oom(n);
  return q;
}

char *ik_strdup(const char *s) {
  if (s == NULL) return NULL;
  return ik_memdup(s, strlen(s) + 1);
}

char *ik_sprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) ik_oom(0);
  char *s = ik_malloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

char *ik_strndup(const char *s, size_t n) {
  if (s == NULL) return NULL;
  size_t len = strnlen(s, n);
  char *p = ik_malloc(len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

void *ik_memdup(const void *p, size_t n) {
  void *q = ik_malloc(n);
  if (n) memcpy(q, p, n);
  return q;
}

void ik_free(void *p) { free(p); }
