/* The file store (store_file.h). */
#include "engine/store_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "engine/engine_metrics.h"
#include "loop/complete.h"

typedef struct store_file {
  ik_loop_t *loop;
  char *dir;
  int lock_fd; /* DIR/daemon.lock while locked, else -1 */
} store_file_t;

/* Messages are bounded (ik_err_t): the reason comes first, the key after
 * it, cut to its first 60 bytes. */
int ik_store_key_check(const char *key, const char *what, ik_err_t *err) {
  size_t n = key ? strlen(key) : 0;
  if (n == 0 || n > 200)
    return ik_err_set(err, IK_EINVAL, "%s: want 1 to 200 bytes, got %zu (\"%.60s\")", what, n, key ? key : "");
  const char *seg = key;
  for (const char *p = key;; p++) {
    if (*p == '/' || *p == '\0') {
      size_t len = (size_t)(p - seg);
      if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
        return ik_err_set(err, IK_EINVAL, "%s: empty, \".\" or \"..\" segment (\"%.60s\")", what, key);
      if (*p == '\0') return 0;
      seg = p + 1;
    } else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                 *p == '_' || *p == '-')) {
      unsigned char ch = (unsigned char)*p;
      if (ch < 0x20 || ch >= 0x7f)
        return ik_err_set(err, IK_EINVAL, "%s: byte 0x%02x is not allowed (letters, digits, . _ - and /)", what, ch);
      return ik_err_set(err, IK_EINVAL, "%s: '%c' is not allowed (letters, digits, . _ - and /) (\"%.60s\")", what,
                        *p, key);
    }
  }
}

/* mkdir -p of path's parent directories (0700). */
static int make_parents(const char *path, ik_err_t *err) {
  char *tmp = ik_strdup(path);
  int rc = 0;
  for (char *p = tmp + 1; *p && rc == 0; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST) rc = ik_err_set(err, IK_EIO, "create %s: %s", tmp, strerror(errno));
    *p = '/';
  }
  ik_free(tmp);
  return rc;
}

/* --- completions from the loop ------------------------------------------ */

/* Answer later; result is stolen, err may be NULL. */
static int finish(store_file_t *s, ik_spi_cb cb, void *data, json_t *result, const ik_err_t *err) {
  return ik_loop_complete(s->loop, cb, data, result, err);
}

/* The file of key (caller frees). */
static char *key_path(const store_file_t *s, const char *key) { return ik_sprintf("%s/%s.json", s->dir, key); }

/* --- operations ----------------------------------------------------------- */

static int sf_put(void *self, const char *key, json_t *value, ik_spi_cb cb, void *data, ik_err_t *err) {
  store_file_t *s = self;
  int rc = ik_store_key_check(key, "store key", err);
  if (rc < 0) return rc;
  if (value == NULL) return ik_err_set(err, IK_EINVAL, "store put %s: no value", key);
  char *path = key_path(s, key);
  size_t len;
  char *text = ik_json_dump_go(value, true, &len);
  ik_err_t e = {0};
  uint64_t t0 = uv_hrtime();
  if (make_parents(path, &e) == 0) ik_fs_write_atomic(path, text, len, &e);
  ik_metric_observe_since(ik_metric_series(ik_engine_metrics()->store_seconds, "file"), t0);
  free(text);
  ik_free(path);
  return finish(s, cb, data, json_null(), e.code ? &e : NULL);
}

static int sf_get(void *self, const char *key, ik_spi_cb cb, void *data, ik_err_t *err) {
  store_file_t *s = self;
  int rc = ik_store_key_check(key, "store key", err);
  if (rc < 0) return rc;
  char *path = key_path(s, key);
  ik_err_t e = {0};
  json_error_t je;
  json_t *doc = json_load_file(path, JSON_DECODE_ANY, &je);
  if (doc == NULL) {
    if (access(path, F_OK) != 0) ik_err_set(&e, IK_ENOTFOUND, "store: no %s", key);
    else ik_err_set(&e, IK_EIO, "store: %s:%d:%d: invalid JSON: %s", path, je.line, ik_json_error_column(&je),
                    je.text);
  }
  ik_free(path);
  return finish(s, cb, data, doc, e.code ? &e : NULL);
}

static int sf_del(void *self, const char *key, ik_spi_cb cb, void *data, ik_err_t *err) {
  store_file_t *s = self;
  int rc = ik_store_key_check(key, "store key", err);
  if (rc < 0) return rc;
  char *path = key_path(s, key);
  ik_err_t e = {0};
  uint64_t t0 = uv_hrtime();
  if (unlink(path) < 0 && errno != ENOENT) ik_err_set(&e, IK_EIO, "store: remove %s: %s", path, strerror(errno));
  ik_metric_observe_since(ik_metric_series(ik_engine_metrics()->store_seconds, "file"), t0);
  ik_free(path);
  return finish(s, cb, data, json_null(), e.code ? &e : NULL);
}

/* Append the keys of the documents below dir (relative name rel) to keys. */
static void collect(const char *dir, const char *rel, json_t *keys) {
  DIR *dh = opendir(dir);
  if (dh == NULL) return;
  for (struct dirent *de; (de = readdir(dh)) != NULL;) {
    const char *name = de->d_name;
    if (name[0] == '.') continue; /* ".", "..", and temp files ".x.tmp" */
    char *path = ik_sprintf("%s/%s", dir, name);
    char *sub = ik_sprintf("%s%s%s", rel, rel[0] ? "/" : "", name);
    struct stat st;
    size_t n = strlen(sub);
    if (stat(path, &st) < 0) {
      /* gone meanwhile */
    } else if (S_ISDIR(st.st_mode)) {
      collect(path, sub, keys);
    } else if (S_ISREG(st.st_mode) && n > 5 && strcmp(sub + n - 5, ".json") == 0) {
      json_array_append_new(keys, json_stringn(sub, n - 5));
    }
    ik_free(sub);
    ik_free(path);
  }
  closedir(dh);
}

static int cmp_json_str(const void *a, const void *b) {
  return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static int sf_list(void *self, const char *prefix, ik_spi_cb cb, void *data, ik_err_t *err) {
  store_file_t *s = self;
  if (prefix == NULL) prefix = "";
  json_t *all = json_array();
  collect(s->dir, "", all);
  size_t n = json_array_size(all), plen = strlen(prefix), k = 0;
  json_t **items = ik_calloc(n ? n : 1, sizeof *items);
  for (size_t i = 0; i < n; i++) {
    json_t *key = json_array_get(all, i);
    if (strncmp(json_string_value(key), prefix, plen) == 0) items[k++] = key;
  }
  qsort(items, k, sizeof *items, cmp_json_str);
  json_t *keys = json_array();
  for (size_t i = 0; i < k; i++) json_array_append(keys, items[i]);
  ik_free(items);
  json_decref(all);
  return finish(s, cb, data, keys, NULL);
}

static void sf_free(void *self) {
  store_file_t *s = self;
  if (s->lock_fd >= 0) close(s->lock_fd); /* releases the lock */
  ik_free(s->dir);
  ik_free(s);
}

static const ik_store_vtable_t store_file_vt = {
    .kind = "file",
    .put = sf_put,
    .get = sf_get,
    .del = sf_del,
    .list = sf_list,
    .free = sf_free,
};

int ik_store_file_new(ik_loop_t *loop, const char *dir, ik_store_t *out, ik_err_t *err) {
  char *probe = ik_sprintf("%s/x", dir);
  int rc = make_parents(probe, err);
  ik_free(probe);
  if (rc < 0) return rc;
  /* Temp files of writes a crash cut short (a kill between the write and
   * the rename): the documents themselves are whole. */
  ik_err_t ce = {0};
  int cleaned = ik_fs_clean_temps(dir, true, &ce);
  if (cleaned > 0) {
    char n[16];
    snprintf(n, sizeof n, "%d", cleaned);
    ik_log(IK_LOG_INFO, "store", "removed temp files left by an interrupted write", "dir", dir, "files", n, NULL);
  }
  store_file_t *s = IK_NEW(store_file_t);
  s->loop = loop;
  s->dir = ik_strdup(dir);
  s->lock_fd = -1;
  out->vt = &store_file_vt;
  out->self = s;
  return 0;
}

/* Take the lock file at path for s. */
static int lock_at(store_file_t *s, const char *path, ik_err_t *err) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ik_err_set(err, IK_EIO, "store %s: open %s: %s", s->dir, path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    char pid[32] = "";
    ssize_t n = e == EWOULDBLOCK ? pread(fd, pid, sizeof pid - 1, 0) : -1;
    close(fd);
    if (e != EWOULDBLOCK) return ik_err_set(err, IK_EIO, "store %s: lock %s: %s", s->dir, path, strerror(e));
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\r\n")] = '\0';
    return ik_err_set(err, IK_ESTATE,
                      "store %s is in use by infrakit daemon pid %s (lock %s): one daemon per store; stop it, or "
                      "give this one another INFRAKIT_HOME",
                      s->dir, pid[0] ? pid : "unknown", path);
  }
  /* Ours: say who holds it, for the next one to name. */
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
    int e = errno;
    close(fd);
    return ik_err_set(err, IK_EIO, "store %s: write %s: %s", s->dir, path, strerror(e));
  }
  s->lock_fd = fd;
  return 0;
}

int ik_store_file_lock(ik_store_t *store, ik_err_t *err) {
  if (store->vt != &store_file_vt) return ik_err_set(err, IK_EINVAL, "store lock: not a file store");
  store_file_t *s = store->self;
  if (s->lock_fd >= 0) return 0;
  char *path = ik_sprintf("%s/daemon.lock", s->dir);
  int rc = lock_at(s, path, err);
  ik_free(path);
  return rc;
}
