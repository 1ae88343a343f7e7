/* libFuzzer target: the group-spec parser (core/engine/group_spec.c,
 * ik_group_spec_parse) and what it calls: field lookup ignoring case,
 * durations and quantities, InfraKit's config hash (base/json.c, hash.c),
 * the allocation Go encodes for Flavor.Validate/Prepare.
 *
 * The first byte picks what the rest is, by its value % 32:
 *   0 ('@', ' ')     the rest is the whole spec, JSON, as a client sends
 *                    it in Group.CommitGroup
 *   k ('A' = 1, ...) the rest, parsed as JSON (or taken as a JSON string
 *                    when it does not parse), replaces field k of a valid
 *                    spec (fields[] below), so most inputs reach deep into
 *                    validation instead of failing at "Properties"
 * Seeds in spec/fuzz/corpus/group_spec/ are readable text.
 *
 * Oracles besides the sanitizers: a refusal has code IK_EINVAL (or IK_EIO
 * from the hash) and a non-empty message; an accepted spec has a non-blank
 * ID and plugins, LogicalIDs consistent with its size, a 40-hex config hash
 * that the same input always gives, and an allocation that encodes; freeing
 * leaves nothing behind (LeakSanitizer). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "engine/group_spec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_group_spec: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

/* A valid spec, and the fields a mode-k input replaces (object path,
 * dot-separated, under the spec). */
static const char *base_spec =
    "{\"ID\":\"workers\",\"Properties\":{"
    "\"Allocation\":{\"Size\":3},"
    "\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\":{\"Note\":\"x\"}},"
    "\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properties\":{\"Init\":[\"echo hi\"]}},"
    "\"Updating\":{\"MaxSurge\":1,\"MaxUnavailable\":0},"
    "\"Health\":{\"UnhealthyTimeout\":\"5m\",\"MaxUnhealthy\":\"40%\"}}}";

static const char *const fields[] = {
    "ID",
    "Properties",
    "Properties.Allocation",
    "Properties.Allocation.Size",
    "Properties.Allocation.LogicalIDs",
    "Properties.Instance",
    "Properties.Instance.Plugin",
    "Properties.Instance.Properties",
    "Properties.Flavor",
    "Properties.Flavor.Plugin",
    "Properties.Flavor.Properties",
    "Properties.Updating",
    "Properties.Updating.MaxSurge",
    "Properties.Updating.MaxUnavailable",
    "Properties.Updating.MaxParallel",
    "Properties.Updating.MinHealthySeconds",
    "Properties.Updating.HealthyDeadline",
    "Properties.Updating.AutoRollback",
    "Properties.Updating.Canary",
    "Properties.Updating.DeletePolicy",
    "Properties.Updating.Count",
    "Properties.Updating.Duration",
    "Properties.Updating.SkipBeforeInstanceDestroy",
    "Properties.Health",
    "Properties.Health.UnhealthyTimeout",
    "Properties.Health.MaxUnhealthy",
    "properties.allocation.size", /* Go matches names ignoring case */
    "Properties.ALLOCATION",
    "Properties.Updating.maxsurge",
    "Properties.Allocation.LogicalIDs", /* again: pets are the richer path */
    "Properties.Flavor.Properties",
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static json_t *base;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  ik_log_set_level(IK_LOG_OFF);
  json_error_t je;
  base = json_loads(base_spec, 0, &je);
  if (base == NULL) die("base spec", je.text);
  ik_group_spec_t s;
  ik_err_t err = {0};
  if (ik_group_spec_parse(base, &s, &err) < 0) die("base spec refused", err.msg);
  ik_group_spec_free(&s);
  return 0;
}

/* Sets the dot-separated path under root to v (stolen), creating objects. */
static void set_path(json_t *root, const char *path, json_t *v) {
  char key[128];
  json_t *obj = root;
  for (;;) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    snprintf(key, sizeof key, "%.*s", (int)n, path);
    if (dot == NULL) {
      json_object_set_new(obj, key, v);
      return;
    }
    json_t *next = json_object_get(obj, key);
    if (!json_is_object(next)) {
      next = json_object();
      json_object_set_new(obj, key, next);
    }
    obj = next;
    path = dot + 1;
  }
}

/* InfraKit's config hash: SHA-1 in lower-case base32, 32 characters. */
static bool is_hash(const char *s) {
  if (strlen(s) != IK_HASH_LEN) return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7'))) return false;
  return true;
}

/* Parses doc and checks the result; fills hash (IK_HASH_LEN + 1) or "". */
static void check(const json_t *doc, char *hash) {
  ik_group_spec_t s;
  ik_err_t err = {0};
  int rc = ik_group_spec_parse(doc, &s, &err);
  hash[0] = '\0';
  if (rc < 0) {
    if (rc != IK_EINVAL && rc != IK_EIO) die("refused with an unexpected code", err.msg);
    if (err.code != rc || err.msg[0] == '\0') die("refused without a message", NULL);
    if (s.id || s.logical_ids || s.instance_plugin || s.flavor_plugin || s.instance_properties ||
        s.flavor_properties)
      die("a refused spec kept memory", err.msg);
    return;
  }
  if (s.id == NULL || s.id[0] == '\0') die("accepted a blank ID", NULL);
  if (s.instance_plugin == NULL || s.instance_plugin[0] == '\0') die("accepted a blank Instance.Plugin", NULL);
  if (s.flavor_plugin == NULL || s.flavor_plugin[0] == '\0') die("accepted a blank Flavor.Plugin", NULL);
  if (s.pets && s.n_logical_ids != s.size) die("LogicalIDs and Size disagree", s.id);
  if (!s.pets && s.n_logical_ids != 0) die("cattle with LogicalIDs", s.id);
  for (size_t i = 0; i < s.n_logical_ids; i++)
    if (s.logical_ids[i] == NULL || s.logical_ids[i][0] == '\0') die("accepted an empty logical ID", s.id);
  if (!is_hash(s.config_hash)) die("config hash is not 32 base32 digits", s.config_hash);
  json_t *alloc = ik_group_spec_allocation(&s);
  if (alloc == NULL) die("allocation did not encode", s.id);
  size_t len = 0;
  char *text = ik_json_dump_go(alloc, false, &len);
  if (text == NULL || len == 0) die("allocation did not dump", s.id);
  free(text);
  json_decref(alloc);
  memcpy(hash, s.config_hash, IK_HASH_LEN + 1);
  ik_group_spec_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  unsigned mode = data[0] % 32;
  const char *rest = (const char *)data + 1;
  size_t n = size - 1;
  json_error_t je;
  json_t *doc;
  if (mode == 0) {
    doc = json_loadb(rest, n, JSON_DECODE_ANY, &je);
    if (doc == NULL) return 0;
  } else {
    json_t *v = json_loadb(rest, n, JSON_DECODE_ANY, &je);
    if (v == NULL) v = json_stringn(rest, n); /* NULL: not UTF-8, as no decoder gives */
    if (v == NULL) return 0;
    doc = json_deep_copy(base);
    set_path(doc, fields[(mode - 1) % NFIELDS], v);
  }
  char h1[IK_HASH_LEN + 1], h2[IK_HASH_LEN + 1];
  check(doc, h1);
  check(doc, h2); /* the same spec, the same answer */
  if (strcmp(h1, h2) != 0) die("config hash differs between two parses of one spec", h1);
  json_decref(doc);
  return 0;
}
