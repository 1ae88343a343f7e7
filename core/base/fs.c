/* Atomic file replacement (see fs.h). */
#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int ik_fs_write_atomic(const char *path, const char *data, size_t len, ik_err_t *err) {
  return ik_fs_replace(path, data, len, true, err);
}

int ik_fs_replace(const char *path, const char *data, size_t len, bool durable, ik_err_t *err) {
  char dir[4096], tmp[8200];
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (slash == NULL) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else if (snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path) >= (int)sizeof dir)
    return ik_err_set(err, IK_EINVAL, "write %s: path too long", path);
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
  if ((durable && fsync(fd) < 0) || close(fd) < 0) {
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
