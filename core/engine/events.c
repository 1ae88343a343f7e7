/* The event log (events.h). */
#include "engine/events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/redact.h"

struct ik_events {
  int fd;
  bool warned;
};

int ik_events_open(const char *path, ik_events_t **out, ik_err_t *err) {
  ik_events_t *ev = IK_NEW(ik_events_t);
  ev->fd = -1;
  if (path) {
    ev->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (ev->fd < 0) {
      int e = errno;
      ik_free(ev);
      return ik_err_set(err, IK_EIO, "event log %s: %s", path, strerror(e));
    }
  }
  *out = ev;
  return 0;
}

void ik_events_close(ik_events_t *ev) {
  if (ev == NULL) return;
  if (ev->fd >= 0) close(ev->fd);
  ik_free(ev);
}

void ik_events_emit(ik_events_t *ev, const char *group, const char *event, json_t *fields) {
  if (ev == NULL || ev->fd < 0) {
    json_decref(fields);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char when[40];
  size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + n, sizeof when - n, ".%03dZ", (int)(tv.tv_usec / 1000));
  json_t *o = json_pack("{s:s, s:s, s:s}", "time", when, "group", group ? group : "", "event", event);
  if (fields) json_object_update(o, fields);
  json_decref(fields);
  ik_redact_json(o); /* an error may repeat a secret (a plugin's, a URL's) */
  char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  size_t len = strlen(line);
  line[len] = '\n'; /* json_dumps allocates len + 1: the NUL becomes the newline */
  ssize_t w = write(ev->fd, line, len + 1);
  if (w != (ssize_t)(len + 1) && !ev->warned) {
    ev->warned = true;
    ik_log(IK_LOG_WARN, "events", "cannot append to the event log; going on without it", "error",
           w < 0 ? strerror(errno) : "short write", NULL);
  }
  free(line);
}
