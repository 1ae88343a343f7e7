/* InfraKit's config hash of a group's instance spec (reference §4.2), the
 * value of the `infrakit.config.hash` tag. Computed exactly as InfraKit's
 * Spec.InstanceHash() does, so instances InfraKit created are recognised
 * as up to date and ours are recognised by InfraKit:
 *
 *   1. For each of the two blocks, Instance then Flavor, take the Go
 *      struct {Plugin string; Properties *types.Any}: Go writes it as
 *      {"Plugin": <name>, "Properties": <raw JSON or null>}. Only these
 *      two fields count (Options and any other key are not in the struct);
 *      field names are matched ignoring case, as Go decodes them.
 *   2. Decode that JSON into map[string]interface{} and write it again
 *      with json.MarshalIndent(v, "  ", "  "): keys sorted, numbers as
 *      float64, Go's string escapes (base/json.h). Allocation, Updating and
 *      everything else in the group spec is left out, so a resize never
 *      changes the hash.
 *   3. SHA-1 (OpenSSL EVP) over bytes(Instance) || bytes(Flavor), no
 *      separator.
 *   4. Base32, RFC 4648 standard alphabet, lower-cased, trailing '='
 *      removed. A SHA-1 digest is 20 bytes = 160 bits = exactly 32 base32
 *      characters, so no padding is ever produced and nothing is cut: the
 *      result is always 32 characters of [a-z2-7].
 *
 * Example (wire-examples.md, recorded from InfraKit): Instance
 * {"Plugin":"instance-file","Properties":{"Note":"v1"}} and Flavor
 * {"Plugin":"flavor-vanilla","Properties":{"Init":["echo hello"],
 * "Tags":{"tier":"web"}}} hash to "rsfonnrfmaykaiytaj26ud5ixjk7m4rd". */
#ifndef IK_ENGINE_HASH_H
#define IK_ENGINE_HASH_H

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

#define IK_HASH_LEN 32 /* characters, without the NUL */

/* Append the bytes InfraKit hashes for one block (step 1-2 above): plugin
 * may be NULL (""), properties may be NULL (null); both borrowed. */
void ik_hash_block_bytes(ik_buf_t *out, const char *plugin, const json_t *properties);

/* The config hash of the Instance and Flavor blocks into out (33 bytes,
 * NUL-terminated). Arguments as for ik_hash_block_bytes. Returns 0, or
 * IK_EIO with err filled when OpenSSL cannot compute SHA-1 (e.g. a
 * FIPS-only provider). */
int ik_config_hash(const char *instance_plugin, const json_t *instance_properties,
                   const char *flavor_plugin, const json_t *flavor_properties,
                   char out[IK_HASH_LEN + 1], ik_err_t *err);

/* The config hash of a group's controller properties (group.Spec's
 * "Properties": {"Instance": {...}, "Flavor": {...}, ...}), reading the
 * blocks as Go would. A block or a field with the wrong JSON type is
 * IK_EINVAL with the field named ("Properties.Instance.Plugin: want a
 * string, got a number"). properties is borrowed. */
int ik_config_hash_of(const json_t *properties, char out[IK_HASH_LEN + 1], ik_err_t *err);

#endif
