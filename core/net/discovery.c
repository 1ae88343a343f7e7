/* Plugin discovery: the plugins directory, claiming a socket name, pid and
 * listen files, scanning (see discovery.h). Short synchronous file system
 * calls: they run at start-up, shutdown and in CLI commands. */
#include "net/discovery.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"

static int mkdir_p(const char *path, ik_err_t *err) {
  char *tmp = ik_strdup(path);
  int rc = 0;
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
      rc = ik_err_set(err, IK_EIO, "create %s: %s", tmp, strerror(errno));
      goto done;
    }
    *p = '/';
  }
  struct stat st;
  if (mkdir(tmp, 0700) < 0 && errno != EEXIST) rc = ik_err_set(err, IK_EIO, "create %s: %s", tmp, strerror(errno));
  else if (stat(tmp, &st) < 0 || !S_ISDIR(st.st_mode)) rc = ik_err_set(err, IK_EIO, "%s is not a directory", tmp);
done:
  ik_free(tmp);
  return rc;
}

int ik_plugins_dir(char *out, size_t len, ik_err_t *err) {
  const char *dir = getenv("INFRAKIT_PLUGINS_DIR");
  const char *home = getenv("INFRAKIT_HOME");
  int n;
  if (dir && *dir) n = snprintf(out, len, "%s", dir);
  else if (home && *home) n = snprintf(out, len, "%s/plugins", home);
  else {
    const char *h = getenv("HOME");
    if (h == NULL || *h == '\0') return ik_err_set(err, IK_EINVAL, "set INFRAKIT_HOME (HOME is not set)");
    n = snprintf(out, len, "%s/.infrakit/plugins", h);
  }
  if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path) - 130)
    return ik_err_set(err, IK_EINVAL, "plugins directory path too long for unix sockets: %s", out);
  int rc = mkdir_p(out, err);
  if (rc < 0) return rc;
  /* Sockets are 0600 in a 0700 directory: tighten one we created loosely. */
  struct stat st;
  if (stat(out, &st) == 0 && st.st_uid == getuid() && (st.st_mode & 077)) chmod(out, 0700);
  return 0;
}

int ik_home_dir(char *out, size_t len, ik_err_t *err) {
  const char *home = getenv("INFRAKIT_HOME");
  int n;
  if (home && *home) n = snprintf(out, len, "%s", home);
  else {
    const char *h = getenv("HOME");
    if (h == NULL || *h == '\0') return ik_err_set(err, IK_EINVAL, "set INFRAKIT_HOME (HOME is not set)");
    n = snprintf(out, len, "%s/.infrakit", h);
  }
  if (n < 0 || (size_t)n >= len) return ik_err_set(err, IK_EINVAL, "INFRAKIT_HOME is too long");
  return mkdir_p(out, err);
}

bool ik_unix_socket_alive(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return false;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  /* A unix-socket connect completes or fails at once: no loop needed. */
  bool alive = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return alive;
}

pid_t ik_unix_socket_peer_pid(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return 0;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct ucred cred = {0};
  socklen_t len = sizeof cred;
  pid_t pid = 0;
  /* The kernel records the listener's credentials at listen(): the pid
   * that really serves the socket, whatever a pid file says. */
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
    pid = cred.pid;
  close(fd);
  return pid;
}

static pid_t read_pid(const char *dir, const char *name) {
  char buf[32] = "";
  char *path = ik_sprintf("%s/%s.pid", dir, name);
  FILE *f = fopen(path, "re");
  ik_free(path);
  if (f == NULL) return 0;
  if (fgets(buf, sizeof buf, f) == NULL) buf[0] = '\0';
  fclose(f);
  long v = strtol(buf, NULL, 10);
  return v > 0 ? (pid_t)v : 0;
}

/* Whether the socket at path may be taken: 0 when nothing is there or
 * what is there is a stale socket, now removed. */
static int claim_path(const char *dir, const char *name, const char *path, ik_err_t *err) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT) return 0;
    return ik_err_set(err, IK_EIO, "plugin %s: %s: %s", name, path, strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    return ik_err_set(err, IK_EEXIST, "plugin %s: %s exists and is not a socket; move it away", name, path);
  if (ik_unix_socket_alive(path)) {
    pid_t pid = ik_unix_socket_peer_pid(path);
    if (pid == 0) pid = read_pid(dir, name);
    if (pid)
      return ik_err_set(err, IK_EEXIST,
                        "plugin %s is already served at %s by process %d; stop it first (infrakit plugin stop %s)",
                        name, path, (int)pid, name);
    return ik_err_set(err, IK_EEXIST, "plugin %s is already served at %s by another process", name, path);
  }
  ik_log(IK_LOG_WARN, "discovery", "replacing a stale socket (its process is gone)", "plugin", name, "socket", path, NULL);
  char *pidpath = ik_sprintf("%s.pid", path);
  unlink(pidpath);
  ik_free(pidpath);
  if (unlink(path) < 0 && errno != ENOENT)
    return ik_err_set(err, IK_EIO, "plugin %s: remove stale %s: %s", name, path, strerror(errno));
  return 0;
}

int ik_plugin_claim(const char *dir, const char *name, ik_err_t *err) {
  char *path = ik_sprintf("%s/%s", dir, name);
  int rc = claim_path(dir, name, path, err);
  ik_free(path);
  return rc;
}

int ik_plugin_publish(const char *dir, const char *name, const char *tcp_url, ik_err_t *err) {
  char text[32];
  snprintf(text, sizeof text, "%d", (int)getpid());
  char *path = ik_sprintf("%s/%s.pid", dir, name);
  int rc = ik_fs_write_atomic(path, text, strlen(text), err);
  ik_free(path);
  if (rc < 0 || tcp_url == NULL) return rc;
  path = ik_sprintf("%s/%s.listen", dir, name);
  rc = ik_fs_write_atomic(path, tcp_url, strlen(tcp_url), err);
  ik_free(path);
  return rc;
}

void ik_plugin_unpublish(const char *dir, const char *name) {
  static const char *const suffixes[] = {"", ".pid", ".listen"};
  for (size_t i = 0; i < 3; i++) {
    char *path = ik_sprintf("%s/%s%s", dir, name, suffixes[i]);
    unlink(path);
    ik_free(path);
  }
}

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const ik_plugin_entry_t *)a)->name, ((const ik_plugin_entry_t *)b)->name);
}

static ik_plugin_entry_t *entry_for(ik_plugin_entry_t **list, size_t *n, const char *name) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*list)[i].name, name) == 0) return &(*list)[i];
  *list = ik_realloc(*list, (*n + 1) * sizeof **list);
  ik_plugin_entry_t *e = &(*list)[(*n)++];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  return e;
}

int ik_plugins_scan(const char *dir, ik_plugin_entry_t **out, size_t *n, ik_err_t *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (d == NULL) return ik_err_set(err, IK_EIO, "list %s: %s", dir, strerror(errno));
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' || strlen(de->d_name) >= 120) continue;
    char path[sizeof((ik_plugin_entry_t *)0)->socket];
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) continue;
    struct stat st;
    if (lstat(path, &st) < 0) continue;
    size_t len = strlen(de->d_name);
    if (S_ISSOCK(st.st_mode)) {
      ik_plugin_entry_t *e = entry_for(out, n, de->d_name);
      snprintf(e->socket, sizeof e->socket, "%s", path);
    } else if (S_ISREG(st.st_mode) && len > 7 && strcmp(de->d_name + len - 7, ".listen") == 0) {
      char name[128];
      snprintf(name, sizeof name, "%.*s", (int)(len - 7), de->d_name);
      ik_plugin_entry_t *e = entry_for(out, n, name);
      FILE *f = fopen(path, "re");
      if (f) {
        if (fgets(e->url, sizeof e->url, f) == NULL) e->url[0] = '\0';
        e->url[strcspn(e->url, "\r\n")] = '\0';
        fclose(f);
      }
    }
  }
  closedir(d);
  for (size_t i = 0; i < *n; i++) {
    ik_plugin_entry_t *e = &(*out)[i];
    e->pid = read_pid(dir, e->name);
    e->alive = e->socket[0] ? ik_unix_socket_alive(e->socket) : e->url[0] != '\0';
  }
  if (*n > 1) qsort(*out, *n, sizeof **out, cmp_entry);
  return 0;
}

void ik_plugin_name_split(const char *name, char *lookup, size_t lookup_len, const char **type) {
  const char *slash = strchr(name, '/');
  size_t n = slash ? (size_t)(slash - name) : strlen(name);
  snprintf(lookup, lookup_len, "%.*s", (int)n, name);
  if (type) *type = slash ? slash + 1 : NULL;
}
