/* Giving freed heap back to the kernel after a burst of work.
 *
 * glibc's malloc gives memory back by itself only from the top of the
 * heap. A converge of 10,000 instances allocates and frees megabytes of
 * short-lived JSON (plans, descriptions, events) among the long-lived
 * records, so what it freed stays resident: 40.5 MiB after 11,000
 * instances converged, 30.7 after a trim (measured; docs/groups.md,
 * "Memory"). malloc_trim(0) releases every free page wherever it lies
 * (madvise); the next burst gets them from the kernel again.
 *
 * ik_heap_trim_soon() asks for one trim delay_ms later; asks meanwhile
 * fold into it, so a burst costs one trim. The trim is skipped when less
 * than IK_HEAP_TRIM_MIN bytes are free (mallinfo2's count is cheap): a
 * page given back is faulted in again by the next burst, and a group of
 * 1,000 leaves 1.6-3.3 MiB free, not worth a trim of 0.4-3 ms plus the
 * next converge's page faults (a converge of 1,000 takes ~60 ms);
 * 10,000 leave 27 MiB, trimmed in 6-7 ms (measured, debug log "heap
 * trimmed").
 * Elsewhere than glibc it does nothing. */
#ifndef IK_LOOP_HEAP_TRIM_H
#define IK_LOOP_HEAP_TRIM_H

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"

#define IK_HEAP_TRIM_MIN (8 * 1024 * 1024)

typedef struct ik_heap_trim ik_heap_trim_t;

/* A trimmer on loop; its timer never keeps the loop alive. */
ik_heap_trim_t *ik_heap_trim_new(ik_loop_t *loop, uint64_t delay_ms);
void ik_heap_trim_soon(ik_heap_trim_t *t);
/* Cancels a trim asked for and not yet done. NULL is fine. */
void ik_heap_trim_free(ik_heap_trim_t *t);

/* Trim now when at least min_free bytes are free in the heap. Returns the
 * bytes free before, or 0 when it did not trim (fewer free, or not glibc). */
size_t ik_heap_trim_now(size_t min_free);

#endif
