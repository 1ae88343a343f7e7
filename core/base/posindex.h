/* An index from strings to positions in an array the caller owns.
 *
 * The group controller finds a member by its ID among the last describe's
 * (ik__seen_t records, descriptions) thousands of times a cycle. A JSON
 * object from ID to position cost 230 bytes a member (10,000 members:
 * 2.3 MiB); this costs 8 (two 4-byte slots a member, open addressing).
 * The keys are not copied: key(ctx, pos) returns the string at a position
 * (NULL: none there; skipped), read at build and on every find, so the
 * array must not change under the index. */
#ifndef IK_BASE_POSINDEX_H
#define IK_BASE_POSINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef const char *(*ik_posindex_key_fn)(const void *ctx, size_t pos);

typedef struct ik_posindex {
  uint32_t *slots; /* position + 1; 0 = empty */
  size_t mask;     /* slots - 1 (a power of two) */
} ik_posindex_t;

/* Index positions 0..n-1 (n < 2^32 - 1) of the array key reads; replaces
 * what ix held. With equal keys, find returns the first position. */
void ik_posindex_build(ik_posindex_t *ix, size_t n, ik_posindex_key_fn key, const void *ctx);

/* The position of k, or false. An empty (zeroed) index finds nothing. */
bool ik_posindex_find(const ik_posindex_t *ix, const char *k, ik_posindex_key_fn key, const void *ctx, size_t *pos);

void ik_posindex_free(ik_posindex_t *ix);

#endif
