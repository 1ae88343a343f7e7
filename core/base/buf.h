/* A growable byte buffer. Always NUL-terminated after any append (the NUL
 * is not counted in len), so data can be used as a C string when the
 * content is text. Zero-initialised ({0}) is a valid empty buffer. */
#ifndef IK_BASE_BUF_H
#define IK_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct ik_buf {
  char *data; /* NULL until the first append */
  size_t len;
  size_t cap;
} ik_buf_t;

void ik_buf_init(ik_buf_t *b);
void ik_buf_free(ik_buf_t *b);
void ik_buf_reset(ik_buf_t *b);                 /* len = 0, memory kept */
void ik_buf_reserve(ik_buf_t *b, size_t extra); /* room for extra more bytes */
void ik_buf_append(ik_buf_t *b, const void *p, size_t n);
void ik_buf_puts(ik_buf_t *b, const char *s);
void ik_buf_putc(ik_buf_t *b, char c);
void ik_buf_printf(ik_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ik_buf_vprintf(ik_buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Hand the memory to the caller (who frees it with ik_free); the buffer is
 * left empty. Never NULL: an empty buffer yields "". */
char *ik_buf_steal(ik_buf_t *b, size_t *len);

/* The content as a C string; "" for an empty buffer. Borrowed. */
const char *ik_buf_cstr(const ik_buf_t *b);

#endif
