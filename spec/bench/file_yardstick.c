/* The yardstick for group_bench's converges: the files instance-file
 * writes for N instances, written directly - each document built and
 * serialised as the driver does (InfraKit's fields, indented) and put in
 * place by ik_fs_replace (temp + rename, no fsync) - with nothing else: no
 * plan, flavor, event or describe. What the daemon takes beyond this for
 * the same N is its own cost; what this takes is the machine's.
 *   file_yardstick DIR N
 * prints {"instances": N, "seconds": S} and leaves the files in DIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "base/fs.h"
#include "base/mem.h"

int main(int argc, char **argv) {
  if (argc != 3 || atoi(argv[2]) <= 0) {
    fprintf(stderr, "usage: file_yardstick DIR N\n");
    return 2;
  }
  const char *dir = argv[1];
  int n = atoi(argv[2]);
  uint64_t t0 = uv_hrtime();
  for (int i = 0; i < n; i++) {
    char id[64], hash[16];
    snprintf(id, sizeof id, "instance-%d", 100000000 + i);
    snprintf(hash, sizeof hash, "%015d", i); /* stands for the intent tag */
    json_t *tags = json_pack("{s:s, s:s, s:s}", "infrakit.config.hash", "3f09c1d2a4b5e6f7a8b9c0d1e2f3a4b5",
                             "infrakit.group", "bench", "infrakit.intent", hash);
    json_t *doc = json_pack("{s:s, s:n, s:O, s:{s:{s:s}, s:O, s:s, s:n, s:n}}", "ID", id, "LogicalID", "Tags", tags,
                            "Spec", "Properties", "Note", "v1", "Tags", tags, "Init", "", "LogicalID", "Attachments");
    char *text = json_dumps(doc, JSON_INDENT(1));
    char *path = ik_sprintf("%s/%s", dir, id);
    ik_err_t err = {0};
    if (ik_fs_replace(path, text, strlen(text), false, &err) < 0) {
      fprintf(stderr, "file_yardstick: %s\n", err.msg);
      return 1;
    }
    ik_free(path);
    free(text);
    json_decref(doc);
    json_decref(tags);
  }
  printf("{\"instances\": %d, \"seconds\": %.6f}\n", n, (double)(uv_hrtime() - t0) / 1e9);
  return 0;
}
