/* instance-file: an instance is one JSON file in a directory.
 *
 * InfraKit's fast fake, kept for the same reasons: tests and demos of the
 * group controller without any machine. Each file holds
 * {"ID", "LogicalID", "Tags", "Spec"} like InfraKit's file plugin
 * (wire-examples "Instance file written by the file plugin"). Writes are
 * atomic (temp file, rename; no fsync, as InfraKit's plugin: a process
 * crash loses nothing, a power cut may), short and synchronous: they are the
 * commit point; completions are deferred to the loop (libuv's rule).
 *
 * The instances are also kept in memory, indexed by ID, so describe does
 * not read the directory (10,000 instances stay fast). The index is kept
 * current by file-system events (uv_fs_event, inotify): a file removed or
 * edited by hand is seen at once, and watchers (spi/instance.h watch; the
 * group controller) are told, so a deleted instance is healed without
 * waiting for a poll. A destroy through the API is told too (when its
 * removal's event comes back), whoever called it. Temp files (".NAME.tmp") are ignored. */
#include "providers/file/file.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "loop/complete.h"
#include "spi/watchers.h"

/* The stamp of an instance fp_destroy removed, until its event comes back. */
#define IK_FILE_DESTROYED ((json_int_t)-1)

typedef struct ik_file_provider {
  ik_loop_t *loop;
  char *dir;
  json_t *index;       /* ID -> the instance document, as on disk */
  json_t *stamps;      /* ID -> the stamp of the file as we last wrote or read it */
  json_t *last_tags;   /* the tags slim() kept last: their values are shared with the next entry's when equal */
  uv_fs_event_t *fsev; /* NULL when the platform has no events */
  ik_watchers_t watchers;
} ik_file_provider_t;

/* --- completion on the next loop turn ----------------------------------- */

/* Complete later with result (stolen) or, when err is set, the error. */
static int finish(ik_file_provider_t *fp, ik_spi_cb cb, void *data, json_t *result, const ik_err_t *err) {
  return ik_loop_complete(fp->loop, cb, data, result, err);
}

/* --- files -------------------------------------------------------------- */

static bool valid_id(const char *id) {
  return id[0] != '\0' && id[0] != '.' && strchr(id, '/') == NULL && strlen(id) < 200;
}

/* The instance file id, read only when it is a regular file: a symlink
 * or anything else planted in the directory is never followed, and its
 * error never quotes what it points to. */
static json_t *read_instance(const char *dir, const char *id, ik_err_t *err) {
  char *path = ik_sprintf("%s/%s", dir, id);
  ik_err_t e = {0};
  json_t *v = NULL;
  int fd = ik_fs_open_regular(path, &e);
  if (fd < 0) {
    if (fd == IK_ENOTFOUND) ik_err_set(err, IK_ENOTFOUND, "instance %s: no such instance in %s", id, dir);
    else ik_err_set(err, fd == IK_EINVAL ? IK_EINVAL : IK_EIO, "instance %s: %s", id, e.msg);
    goto done;
  }
  json_error_t je;
  v = json_loadfd(fd, 0, &je);
  close(fd);
  if (v == NULL)
    ik_err_set(err, IK_EIO, "instance %s: %s:%d:%d: invalid JSON: %s", id, path, je.line, ik_json_error_column(&je),
               je.text);
done:
  ik_free(path);
  return v;
}

/* Whether name in dir is a regular file (not followed when a link); a
 * planted link or other non-file is logged once per scan and skipped. */
static bool is_regular(const char *dir, const char *name, bool log) {
  char *path = ik_sprintf("%s/%s", dir, name);
  struct stat st;
  bool regular = false;
  if (lstat(path, &st) == 0) {
    regular = S_ISREG(st.st_mode);
    if (!regular && log)
      ik_log(IK_LOG_WARN, "instance-file", "skipping an entry that is not a regular file (not followed)", "path", path,
             "type", S_ISLNK(st.st_mode) ? "symlink" : S_ISDIR(st.st_mode) ? "directory"
                                                                           : "other",
             NULL);
  }
  ik_free(path);
  return regular;
}

/* What the index keeps of an instance document: {"ID", "LogicalID",
 * "Tags"}. The Spec stays on disk (describe with properties reads it), so
 * 10,000 instances stay small in memory. */
static json_t *slim(ik_file_provider_t *fp, const json_t *inst) {
  json_t *lid = json_object_get(inst, "LogicalID"), *tags = json_object_get(inst, "Tags");
  json_t *kept = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(json_is_object(tags) ? tags : NULL, k, v) {
    json_t *last = json_object_get(fp->last_tags, k);
    if (last == NULL || !json_equal(last, v)) {
      last = json_deep_copy(v);
      json_object_set_new(fp->last_tags, k, last);
    }
    json_object_set(kept, k, last);
  }
  return json_pack("{s:O, s:O, s:o}", "ID", json_object_get(inst, "ID"), "LogicalID", lid ? lid : json_null(), "Tags",
                   kept);
}

/* A file's identity and version (inode, mtime, size) as one number: the
 * event for our own write finds it unchanged and skips reading it back. */
static json_int_t stamp_of_stat(const struct stat *st) {
  uint64_t h = (uint64_t)st->st_ino * 0x9e3779b97f4a7c15ULL;
  h ^= (uint64_t)st->st_mtim.tv_sec * 1000000007ULL + (uint64_t)st->st_mtim.tv_nsec;
  h ^= (uint64_t)st->st_size << 17;
  return (json_int_t)(h >> 1);
}

static json_int_t stamp_of(const char *dir, const char *id) {
  char *path = ik_sprintf("%s/%s", dir, id);
  struct stat st;
  int rc = lstat(path, &st);
  ik_free(path);
  if (rc < 0 || !S_ISREG(st.st_mode)) return 0;
  return stamp_of_stat(&st);
}

static int save(ik_file_provider_t *fp, json_t *inst, ik_err_t *err) {
  const char *id = json_string_value(json_object_get(inst, "ID"));
  char *path = ik_sprintf("%s/%s", fp->dir, id);
  char *text = json_dumps(inst, JSON_INDENT(1));
  /* Atomic, not fsynced: a fake's instance is cheap to lose to a power
   * cut, and 1,000 fsyncs would make a group of 1,000 take seconds. */
  struct stat st; /* the written file's: its stamp without a stat of the path */
  int rc = ik_fs_replace_stat(path, text, strlen(text), false, &st, err);
  free(text);
  ik_free(path);
  if (rc == 0) {
    json_object_set_new(fp->index, id, slim(fp, inst));
    json_object_set_new(fp->stamps, id, json_integer(stamp_of_stat(&st)));
  }
  return rc;
}

/* --- the index and its events ------------------------------------------- */

static void notify(ik_file_provider_t *fp, const char *id) { ik_watchers_notify(&fp->watchers, id, NULL); }

/* Bring the index entry for name in line with the disk; tell watchers
 * when that changed it. */
static void refresh(ik_file_provider_t *fp, const char *name) {
  if (name[0] == '.' || !valid_id(name)) return;
  json_t *known_stamp = json_object_get(fp->stamps, name);
  /* Not a file (gone, or a planted link) and nothing we know of: nothing to
   * tell. A destroy's stamp is known though the index forgot the ID. */
  if (!is_regular(fp->dir, name, false) && json_object_get(fp->index, name) == NULL && known_stamp == NULL) return;
  json_int_t stamp = stamp_of(fp->dir, name);
  if (stamp != 0 && known_stamp && json_integer_value(known_stamp) == stamp) return; /* as we wrote it */
  bool destroyed = stamp == 0 && known_stamp && json_integer_value(known_stamp) == IK_FILE_DESTROYED;
  if (stamp == 0) json_object_del(fp->stamps, name);
  else json_object_set_new(fp->stamps, name, json_integer(stamp));
  if (destroyed) { /* removed by fp_destroy, which already updated the index */
    notify(fp, name);
    return;
  }
  ik_err_t e = {0};
  json_t *full = read_instance(fp->dir, name, &e);
  json_t *disk = full && json_is_string(json_object_get(full, "ID")) ? slim(fp, full) : NULL; /* else not an instance */
  json_decref(full);
  json_t *known = json_object_get(fp->index, name);
  if (disk == NULL && known == NULL) return;
  if (disk && known && json_equal(disk, known)) {
    json_decref(disk);
    return;
  }
  if (disk) json_object_set_new(fp->index, name, disk);
  else json_object_del(fp->index, name);
  notify(fp, name);
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status) {
  ik_file_provider_t *fp = h->data;
  if (fp == NULL) return;
  if (status < 0 || filename == NULL) { /* overflow or no name: everything may have changed */
    notify(fp, NULL);
    return;
  }
  refresh(fp, filename);
}

/* Load every instance file of the directory into the index. */
static int load_index(ik_file_provider_t *fp, ik_err_t *err) {
  DIR *d = opendir(fp->dir);
  if (d == NULL) return ik_err_set(err, IK_EIO, "instance-file: list %s: %s", fp->dir, strerror(errno));
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    if (de->d_name[0] == '.' || !valid_id(de->d_name) || !is_regular(fp->dir, de->d_name, true)) continue;
    ik_err_t e = {0};
    json_t *inst = read_instance(fp->dir, de->d_name, &e);
    if (inst && json_is_string(json_object_get(inst, "ID"))) json_object_set_new(fp->index, de->d_name, slim(fp, inst));
    json_decref(inst);
  }
  closedir(d);
  return 0;
}

/* --- the vtable --------------------------------------------------------- */

static int fp_validate(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  return finish(self, cb, data, json_null(), NULL);
}

static int fp_provision(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_file_provider_t *fp = self;
  json_t *tags = ik_json_get(spec, "Tags");
  if (tags && !json_is_object(tags)) return ik_err_set(err, IK_EINVAL, "Spec.Tags: want an object of strings");
  json_t *lid = ik_json_get(spec, "LogicalID");
  if (lid && !json_is_string(lid)) return ik_err_set(err, IK_EINVAL, "Spec.LogicalID: want a string");

  char id[64];
  uint64_t r;
  if (uv_random(NULL, NULL, &r, sizeof r, 0, NULL) < 0) r = uv_hrtime();
  snprintf(id, sizeof id, "instance-%llu", (unsigned long long)(r >> 1));

  /* The spec as InfraKit stores it: every field present, in Go order. */
  json_t *stored = json_object();
  json_object_set(stored, "Properties", ik_json_get(spec, "Properties") ? ik_json_get(spec, "Properties") : json_null());
  json_object_set_new(stored, "Tags", tags ? json_deep_copy(tags) : json_null());
  const char *init = json_string_value(ik_json_get(spec, "Init"));
  json_object_set_new(stored, "Init", json_string(init ? init : ""));
  json_object_set(stored, "LogicalID", lid ? lid : json_null());
  json_t *att = ik_json_get(spec, "Attachments");
  json_object_set(stored, "Attachments", att ? att : json_null());

  json_t *inst = json_object();
  json_object_set_new(inst, "ID", json_string(id));
  json_object_set(inst, "LogicalID", lid ? lid : json_null());
  json_object_set_new(inst, "Tags", tags ? json_deep_copy(tags) : json_object());
  json_object_set_new(inst, "Spec", stored);
  int rc = save(fp, inst, err);
  json_decref(inst);
  if (rc < 0) return rc;
  return finish(fp, cb, data, json_string(id), NULL);
}

static int fp_label(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_file_provider_t *fp = self;
  if (!valid_id(id)) return ik_err_set(err, IK_EINVAL, "Instance: \"%s\" is not a valid instance ID", id);
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) {
    if (!json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Labels.%s: want a string", k);
  }
  ik_err_t e = {0};
  json_t *inst = read_instance(fp->dir, id, &e);
  if (inst == NULL) return finish(fp, cb, data, NULL, &e);
  json_t *tags = json_object_get(inst, "Tags");
  if (!json_is_object(tags)) {
    tags = json_object();
    json_object_set_new(inst, "Tags", tags);
  }
  json_object_update(tags, labels);
  json_t *spec = json_object_get(inst, "Spec");
  if (json_is_object(spec)) {
    json_t *stags = json_object_get(spec, "Tags");
    if (!json_is_object(stags)) json_object_set_new(spec, "Tags", json_deep_copy(tags));
    else json_object_update(stags, labels);
  }
  int rc = save(fp, inst, &e);
  json_decref(inst);
  return finish(fp, cb, data, json_null(), rc < 0 ? &e : NULL);
}

static int fp_destroy(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_file_provider_t *fp = self;
  if (!valid_id(id)) return ik_err_set(err, IK_EINVAL, "Instance: \"%s\" is not a valid instance ID", id);
  char *path = ik_sprintf("%s/%s", fp->dir, id);
  ik_err_t e = {0};
  if (unlink(path) < 0) {
    int errnum = errno;
    ik_err_set(&e, errnum == ENOENT ? IK_ENOTFOUND : IK_EIO, "remove %s: %s", path, strerror(errnum));
    ik_free(path);
    if (errnum == ENOENT) json_object_del(fp->index, id), json_object_del(fp->stamps, id);
    return finish(fp, cb, data, NULL, &e);
  }
  ik_free(path);
  /* Gone from the index now, so describe agrees at once; watchers are told
   * when the removal's file-system event comes back (from the loop, after
   * this call's completion): a destroy through the API, by whichever
   * client, is a change like a file removed by hand. The controller's own
   * destroys are reported too; it knows them and does not count them as
   * losses (instance-process reports every exit the same way). */
  json_object_del(fp->index, id);
  if (fp->fsev) json_object_set_new(fp->stamps, id, json_integer(IK_FILE_DESTROYED));
  else json_object_del(fp->stamps, id); /* no events, no watchers */
  return finish(fp, cb, data, json_null(), NULL);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int fp_describe(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  ik_file_provider_t *fp = self;
  /* Without events the index may be stale: read the directory again. */
  if (fp->fsev == NULL) {
    json_object_clear(fp->index);
    int rc = load_index(fp, err);
    if (rc < 0) return rc;
  }
  size_t n = json_object_size(fp->index), i = 0;
  const char **names = ik_calloc(n + 1, sizeof *names);
  const char *key;
  json_t *inst;
  json_object_foreach(fp->index, key, inst) names[i++] = key;
  qsort(names, n, sizeof *names, cmp_names);
  json_t *out = json_array();
  for (i = 0; i < n; i++) {
    inst = json_object_get(fp->index, names[i]);
    if (tags != NULL && !ik_instance_tags_match(json_object_get(inst, "Tags"), tags)) continue;
    /* The index entry is the description: shared, not copied (callers
     * treat results as read-only; spi.h). */
    if (!properties) {
      json_array_append(out, inst);
      continue;
    }
    json_t *desc = json_pack("{s:O, s:O, s:O}", "ID", json_object_get(inst, "ID"), "LogicalID",
                             json_object_get(inst, "LogicalID"), "Tags", json_object_get(inst, "Tags"));
    ik_err_t e = {0};
    json_t *full = read_instance(fp->dir, names[i], &e);
    json_t *spec = json_object_get(full, "Spec");
    json_object_set(desc, "Properties", spec ? spec : json_null());
    json_decref(full);
    json_array_append_new(out, desc);
  }
  ik_free(names);
  return finish(fp, cb, data, out, NULL);
}

static int fp_watch(void *self, ik_instance_event_cb cb, void *data, ik_err_t *err) {
  ik_file_provider_t *fp = self;
  if (fp->fsev == NULL) return ik_err_set(err, IK_ESTATE, "instance-file: no file-system events here");
  return ik_watchers_add(&fp->watchers, cb, data);
}

static void fp_unwatch(void *self, int token) { ik_watchers_remove(&((ik_file_provider_t *)self)->watchers, token); }

static void on_fsev_closed(uv_handle_t *h) { ik_free(h); }

static void fp_free(void *self) {
  ik_file_provider_t *fp = self;
  if (fp == NULL) return;
  if (fp->fsev) {
    fp->fsev->data = NULL;
    uv_fs_event_stop(fp->fsev);
    uv_close((uv_handle_t *)fp->fsev, on_fsev_closed);
  }
  json_decref(fp->index);
  json_decref(fp->stamps);
  json_decref(fp->last_tags);
  ik_watchers_free(&fp->watchers);
  ik_free(fp->dir);
  ik_free(fp);
}

static const ik_instance_vtable_t file_vtable = {
    .kind = "file",
    .validate = fp_validate,
    .provision = fp_provision,
    .label = fp_label,
    .destroy = fp_destroy,
    .describe = fp_describe,
    .free = fp_free,
    .watch = fp_watch,
    .unwatch = fp_unwatch,
};

int ik_file_provider_new(ik_loop_t *loop, const char *dir, ik_instance_plugin_t *out, ik_err_t *err) {
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return ik_err_set(err, IK_EIO, "instance-file: create %s: %s", dir, strerror(errno));
  struct stat st;
  if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
    return ik_err_set(err, IK_EINVAL, "instance-file: %s is not a directory", dir);
  /* Temp files of writes a crash cut short. */
  ik_err_t ce = {0};
  int cleaned = ik_fs_clean_temps(dir, false, &ce);
  if (cleaned > 0) {
    char n[16];
    snprintf(n, sizeof n, "%d", cleaned);
    ik_log(IK_LOG_INFO, "instance-file", "removed temp files left by an interrupted write", "dir", dir, "files", n,
           NULL);
  }
  ik_file_provider_t *fp = ik_calloc(1, sizeof *fp);
  fp->loop = loop;
  fp->dir = ik_strdup(dir);
  fp->index = json_object();
  fp->stamps = json_object();
  fp->last_tags = json_object();
  /* Events first, then the scan: a file written in between is seen twice,
   * never missed. The handle does not keep the loop alive. */
  fp->fsev = ik_calloc(1, sizeof *fp->fsev);
  if (uv_fs_event_init(&loop->uv, fp->fsev) == 0) {
    fp->fsev->data = fp;
    if (uv_fs_event_start(fp->fsev, on_fs_event, dir, 0) == 0) {
      uv_unref((uv_handle_t *)fp->fsev);
    } else {
      fp->fsev->data = NULL;
      uv_close((uv_handle_t *)fp->fsev, on_fsev_closed);
      fp->fsev = NULL;
    }
  } else {
    ik_free(fp->fsev);
    fp->fsev = NULL;
  }
  int rc = load_index(fp, err);
  if (rc < 0) {
    fp_free(fp);
    return rc;
  }
  out->vt = &file_vtable;
  out->self = fp;
  return 0;
}
