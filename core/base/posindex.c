/* An index from strings to positions (posindex.h). */
#include "base/posindex.h"

#include <string.h>

#include "base/mem.h"

/* FNV-1a: short keys (instance IDs), no adversary (the IDs are the
 * plugins' own, and a collision costs a probe, not correctness). */
static uint64_t hash_of(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

void ik_posindex_free(ik_posindex_t *ix) {
  ik_free(ix->slots);
  ix->slots = NULL;
  ix->mask = 0;
}

void ik_posindex_build(ik_posindex_t *ix, size_t n, ik_posindex_key_fn key, const void *ctx) {
  ik_posindex_free(ix);
  size_t cap = 8;
  while (cap < 2 * n) cap <<= 1; /* at most half full: probes stay short */
  ix->slots = ik_calloc(cap, sizeof *ix->slots);
  ix->mask = cap - 1;
  for (size_t pos = 0; pos < n; pos++) {
    const char *k = key(ctx, pos);
    if (k == NULL) continue;
    size_t at = (size_t)hash_of(k) & ix->mask;
    while (ix->slots[at] != 0) at = (at + 1) & ix->mask;
    ix->slots[at] = (uint32_t)(pos + 1);
  }
}

bool ik_posindex_find(const ik_posindex_t *ix, const char *k, ik_posindex_key_fn key, const void *ctx, size_t *pos) {
  if (ix->slots == NULL || k == NULL) return false;
  for (size_t at = (size_t)hash_of(k) & ix->mask; ix->slots[at] != 0; at = (at + 1) & ix->mask) {
    size_t p = ix->slots[at] - 1;
    const char *have = key(ctx, p);
    if (have && strcmp(have, k) == 0) {
      *pos = p;
      return true;
    }
  }
  return false;
}
