/* Atomic file replacement (see fs.h). */
#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"

int ik_fs_write_atomic(const char *path, const char *data, size_t len, ik_err_t *err) {
  return ik_fs_replace(path, data, len, true, err);
}

/* ik_fs_replace through tmp, a new file in dir (path's directory). */
static int replace_through(const char *path, const char *dir, const char *tmp, const char *data, size_t len,
                           bool durable, struct stat *st, ik_err_t *err) {
  /* A new file, never through whatever is there (a leftover, or a link
   * someone planted): created exclusively, and when something is there,
   * that is removed and the file created exclusively again (usually
   * nothing is: one call, not an unlink per write). */
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(tmp, flags, 0600);
  if (fd < 0 && errno == EEXIST) {
    if (unlink(tmp) < 0 && errno != ENOENT) return ik_err_set(err, IK_EIO, "write %s: %s", tmp, strerror(errno));
    fd = open(tmp, flags, 0600);
  }
  if (fd < 0) return ik_err_set(err, IK_EIO, "write %s: %s", tmp, strerror(errno));
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return ik_err_set(err, IK_EIO, "write %s: %s", tmp, strerror(e));
    }
    off += (size_t)n;
  }
  if ((durable && fsync(fd) < 0) || (st && fstat(fd, st) < 0) || close(fd) < 0) {
    int e = errno;
    unlink(tmp);
    return ik_err_set(err, IK_EIO, "write %s: %s", tmp, strerror(e));
  }
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return ik_err_set(err, IK_EIO, "rename %s: %s", path, strerror(e));
  }
  if (!durable) return 0;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

int ik_fs_replace(const char *path, const char *data, size_t len, bool durable, ik_err_t *err) {
  return ik_fs_replace_stat(path, data, len, durable, NULL, err);
}

int ik_fs_replace_stat(const char *path, const char *data, size_t len, bool durable, struct stat *st,
                       ik_err_t *err) {
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  char *dir = slash == NULL ? ik_strdup(".") : slash == path ? ik_strdup("/")
                                                             : ik_strndup(path, (size_t)(slash - path));
  char *tmp = ik_sprintf("%s/.%s.tmp", dir, name);
  int rc = replace_through(path, dir, tmp, data, len, durable, st, err);
  ik_free(tmp);
  ik_free(dir);
  return rc;
}

static bool is_temp_name(const char *name) {
  size_t n = strlen(name);
  return name[0] == '.' && n > 5 && strcmp(name + n - 4, ".tmp") == 0;
}

int ik_fs_clean_temps(const char *dir, bool recursive, ik_err_t *err) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    if (errno == ENOENT) return 0;
    return ik_err_set(err, IK_EIO, "clean %s: %s", dir, strerror(errno));
  }
  int removed = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    char *path = ik_sprintf("%s/%s", dir, name);
    struct stat st;
    if (lstat(path, &st) < 0) {
      /* gone meanwhile */
    } else if (S_ISDIR(st.st_mode)) {
      if (recursive) {
        ik_err_t e = {0};
        int n = ik_fs_clean_temps(path, true, &e);
        if (n > 0) removed += n;
      }
    } else if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && is_temp_name(name) && unlink(path) == 0) {
      removed++;
    }
    ik_free(path);
  }
  closedir(d);
  return removed;
}

int ik_fs_open_regular(const char *path, ik_err_t *err) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return ik_err_set(err, IK_ENOTFOUND, "%s: no such file", path);
    if (e == ELOOP) return ik_err_set(err, IK_EINVAL, "%s: not a regular file (a symbolic link); not followed", path);
    return ik_err_set(err, IK_EIO, "%s: %s", path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    close(fd);
    return ik_err_set(err, IK_EINVAL, "%s: not a regular file with one link; not read", path);
  }
  return fd;
}

static ik_err_t *remove_tree_err; /* nftw passes no user data */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  int rc = type == FTW_DP ? rmdir(path) : unlink(path);
  if (rc < 0 && errno != ENOENT) return ik_err_set(remove_tree_err, IK_EIO, "remove %s: %s", path, strerror(errno));
  return 0;
}

int ik_fs_remove_tree(const char *dir, ik_err_t *err) {
  struct stat st;
  if (lstat(dir, &st) < 0 && errno == ENOENT) return 0;
  remove_tree_err = err;
  int rc = nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  remove_tree_err = NULL;
  if (rc == 0 || (rc == -1 && errno == ENOENT)) return 0;
  if (rc == -1) return ik_err_set(err, IK_EIO, "remove %s: %s", dir, strerror(errno));
  return IK_EIO; /* remove_entry filled err */
}
