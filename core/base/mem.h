/* Memory helpers that never return NULL: on exhaustion they log one line
 * and abort. A daemon that cannot allocate a few bytes cannot keep its
 * promises about state either; failing loudly is the honest option, and
 * it keeps every caller free of unreachable error paths. */
#ifndef IK_BASE_MEM_H
#define IK_BASE_MEM_H

#include <stddef.h>

void *ik_malloc(size_t n);
void *ik_calloc(size_t count, size_t size);
void *ik_realloc(void *p, size_t n);
char *ik_strdup(const char *s);            /* s may be NULL: returns NULL */
char *ik_strndup(const char *s, size_t n); /* copies at most n bytes, NUL-terminates */
void *ik_memdup(const void *p, size_t n);
char *ik_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* a new formatted string */
void ik_free(void *p);

/* Called on exhaustion; aborts. Exposed for tests of callers. */
_Noreturn void ik_oom(size_t n);

#define IK_NEW(type) ((type *)ik_calloc(1, sizeof(type)))

#endif
