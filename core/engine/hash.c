/* InfraKit's config hash (see hash.h). */
#include "engine/hash.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "base/json.h"

void ik_hash_block_bytes(ik_buf_t *out, const char *plugin, const json_t *properties) {
  /* The map Go decodes {"Plugin":..,"Properties":..} into, re-encoded:
   * the two keys in sorted order ("Plugin" < "Properties"). */
  json_t *block = json_object();
  json_object_set_new(block, "Plugin", json_string(plugin ? plugin : ""));
  json_object_set_new(block, "Properties",
                      properties ? json_incref((json_t *)(uintptr_t)properties) : json_null());
  ik_json_marshal_indent(out, block, "  ", "  ");
  json_decref(block);
}

/* RFC 4648 base32, standard alphabet lower-cased, no padding: 20 bytes in,
 * 32 characters out. */
static void base32_lower(const unsigned char *in, size_t n, char *out) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8) | in[i];
    bits += 8;
    while (bits >= 5) {
      out[o++] = alphabet[(acc >> (bits - 5)) & 0x1F];
      bits -= 5;
    }
  }
  if (bits > 0) out[o++] = alphabet[(acc << (5 - bits)) & 0x1F];
  out[o] = '\0';
}

int ik_config_hash(const char *instance_plugin, const json_t *instance_properties,
                   const char *flavor_plugin, const json_t *flavor_properties,
                   char out[IK_HASH_LEN + 1], ik_err_t *err) {
  ik_buf_t bytes = {0};
  ik_hash_block_bytes(&bytes, instance_plugin, instance_properties);
  ik_hash_block_bytes(&bytes, flavor_plugin, flavor_properties);

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  int rc = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
      EVP_DigestUpdate(ctx, bytes.data, bytes.len) != 1 || EVP_DigestFinal_ex(ctx, md, &md_len) != 1 ||
      md_len != 20) {
    rc = ik_err_set(err, IK_EIO, "config hash: OpenSSL cannot compute SHA-1");
    out[0] = '\0';
  } else {
    base32_lower(md, md_len, out);
  }
  EVP_MD_CTX_free(ctx);
  ik_buf_free(&bytes);
  return rc;
}

/* The Plugin and Properties of block `name` of properties, as Go decodes
 * them: absent or null block = zero value; Plugin must be a string. */
static int read_block(const json_t *properties, const char *name, const char **plugin,
                      const json_t **props, ik_err_t *err) {
  *plugin = "";
  *props = NULL;
  json_t *block = ik_json_get(properties, name);
  if (block == NULL) return 0;
  if (!json_is_object(block))
    return ik_err_set(err, IK_EINVAL, "Properties.%s: want an object", name);
  json_t *p = ik_json_get(block, "Plugin");
  if (p != NULL && !json_is_string(p))
    return ik_err_set(err, IK_EINVAL, "Properties.%s.Plugin: want a string", name);
  if (p != NULL) *plugin = json_string_value(p);
  *props = ik_json_get(block, "Properties");
  return 0;
}

int ik_config_hash_of(const json_t *properties, char out[IK_HASH_LEN + 1], ik_err_t *err) {
  const char *ip, *fp;
  const json_t *iprops, *fprops;
  out[0] = '\0';
  if (properties != NULL && !json_is_null(properties) && !json_is_object(properties))
    return ik_err_set(err, IK_EINVAL, "Properties: want an object");
  int rc = read_block(properties, "Instance", &ip, &iprops, err);
  if (rc == 0) rc = read_block(properties, "Flavor", &fp, &fprops, err);
  if (rc != 0) return rc;
  return ik_config_hash(ip, iprops, fp, fprops, out, err);
}
