/* The label store of instance-docker: the Engine cannot change a
 * container's labels once it is created, so tags added by Label (the
 * group controller's adoption tag, `infrakit instance label`) are kept
 * here, in DIR/labels.json ({"<instance ID>": {"tag": "value"}}), and
 * merged over the container's labels by Describe. Written atomically and
 * durably (temp file, fsync, rename) at each Label: a crash keeps the old
 * store or the new one. Entries go when their container is destroyed. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "providers/docker/docker_internal.h"

int ik__docker_labels_load(ik_docker_t *dp, ik_err_t *err) {
  dp->labels = json_object();
  int fd = ik_fs_open_regular(dp->labels_path, err);
  if (fd == IK_ENOTFOUND) {
    ik_err_clear(err);
    return 0;
  }
  if (fd < 0) return fd;
  json_error_t je;
  json_t *v = json_loadfd(fd, 0, &je);
  close(fd);
  if (!json_is_object(v)) {
    json_decref(v);
    return ik_err_set(err, IK_EINVAL, "instance-docker: %s: %s (want an object of instance ID -> tags)",
                      dp->labels_path, v ? "not an object" : je.text);
  }
  json_decref(dp->labels);
  dp->labels = v;
  return 0;
}

static int save(ik_docker_t *dp, ik_err_t *err) {
  char *text = json_dumps(dp->labels, JSON_INDENT(1) | JSON_SORT_KEYS);
  int rc = ik_fs_write_atomic(dp->labels_path, text, strlen(text), err);
  free(text);
  return rc;
}

int ik__docker_labels_add(ik_docker_t *dp, const char *id, json_t *add, ik_err_t *err) {
  json_t *before = json_deep_copy(dp->labels);
  json_t *tags = json_object_get(dp->labels, id);
  if (tags == NULL) {
    tags = json_object();
    json_object_set_new(dp->labels, id, tags);
  }
  json_object_update(tags, add);
  int rc = save(dp, err);
  if (rc < 0) { /* the store on disk is what counts: keep memory in line with it */
    json_decref(dp->labels);
    dp->labels = before;
  } else {
    json_decref(before);
  }
  return rc;
}

void ik__docker_labels_forget(ik_docker_t *dp, const char *id) {
  if (json_object_get(dp->labels, id) == NULL) return;
  json_object_del(dp->labels, id);
  ik_err_t e = {0};
  if (save(dp, &e) < 0)
    ik_log(IK_LOG_WARN, "instance-docker", "could not drop a destroyed container's labels from the store", "id", id,
           "error", e.msg, NULL);
}

bool ik__docker_labels_use_key(const ik_docker_t *dp, const char *key) {
  const char *id;
  json_t *tags;
  json_object_foreach(dp->labels, id, tags) {
    if (json_object_get(tags, key)) return true;
  }
  return false;
}

void ik__docker_labels_merge(const ik_docker_t *dp, const char *id, json_t *tags) {
  json_t *kept = json_object_get(dp->labels, id);
  if (kept) json_object_update(tags, kept);
}
