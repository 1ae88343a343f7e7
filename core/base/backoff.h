/* Retry delays: exponential backoff with jitter, so a failing driver is
 * retried soon at first, then ever more rarely, and many failing actions
 * do not retry in lockstep (AWS's "equal jitter").
 *
 *   d = min(max, base * 2^(attempt-1));  delay = d/2 + rand % (d/2 + 1)
 *
 * attempt counts failures so far (1 after the first). rand is any random
 * 64-bit value (the caller draws it; this function is pure). */
#ifndef IK_BASE_BACKOFF_H
#define IK_BASE_BACKOFF_H

#include <stdint.h>

int64_t ik_backoff_ms(uint32_t attempt, int64_t base_ms, int64_t max_ms, uint64_t rand);

#endif
