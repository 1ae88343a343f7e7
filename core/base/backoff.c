/* Exponential backoff with equal jitter (backoff.h). */
#include "base/backoff.h"

int64_t ik_backoff_ms(uint32_t attempt, int64_t base_ms, int64_t max_ms, uint64_t rand) {
  if (base_ms < 1) base_ms = 1;
  if (max_ms < base_ms) max_ms = base_ms;
  int64_t d = base_ms;
  for (uint32_t i = 1; i < attempt && d < max_ms; i++) d *= 2;
  if (d > max_ms) d = max_ms;
  int64_t half = d / 2;
  return half + (int64_t)(rand % (uint64_t)(d - half + 1));
}
