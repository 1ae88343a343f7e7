/* The event log (events.h). */
#include "engine/events.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/redact.h"

/* Events held while the cursor is read; past this many, the numbering
 * goes on from the file rather than hold more. */
#define HELD_MAX 10000

struct ik_events_sub {
  ik_events_fn fn; /* NULL once unsubscribed */
  void *data;
  ik_events_sub_t *next;
};

typedef struct held {
  json_t *obj; /* without "seq" yet */
  struct held *next;
} held_t;

struct ik_events {
  int fd;
  bool warned;
  char *path;
  uint64_t next;     /* the number the next event gets */
  uint64_t reserved; /* the cursor last written: numbers below it are ours */
  ik_store_t *store;
  bool loading;  /* the cursor's read is on its way: events are held */
  int in_flight; /* store calls not yet answered (each holds the memory) */
  bool writing;  /* a reservation's put is on its way */
  bool closing;
  held_t *held, **held_tail;
  size_t n_held;
  ik_events_sub_t *subs;
  int notifying; /* inside a subscriber: unsubscribed entries stay till after */
  bool dead_subs;
};

uint64_t ik_events_line_seq(const char *line, size_t len) {
  static const char prefix[] = "{\"seq\":";
  if (len < sizeof prefix || memcmp(line, prefix, sizeof prefix - 1) != 0) return 0;
  uint64_t v = 0;
  for (size_t i = sizeof prefix - 1; i < len && line[i] >= '0' && line[i] <= '9'; i++) v = v * 10 + (uint64_t)(line[i] - '0');
  return v;
}

/* The last "seq" in the file: the last line that has one, in its tail. */
static uint64_t last_seq_in(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size == 0) return 0;
  size_t want = st.st_size < 65536 ? (size_t)st.st_size : 65536;
  char *buf = ik_malloc(want);
  ssize_t n = pread(fd, buf, want, st.st_size - (off_t)want);
  uint64_t seq = 0;
  for (ssize_t end = n; end > 0 && seq == 0;) {
    ssize_t start = end - 1;
    while (start > 0 && buf[start - 1] != '\n') start--;
    seq = ik_events_line_seq(buf + start, (size_t)(end - start));
    end = start > 0 ? start - 1 : 0;
  }
  ik_free(buf);
  return seq;
}

int ik_events_open(const char *path, ik_events_t **out, ik_err_t *err) {
  ik_events_t *ev = IK_NEW(ik_events_t);
  ev->fd = -1;
  ev->next = 1;
  ev->held_tail = &ev->held;
  if (path) {
    ev->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (ev->fd < 0) {
      int e = errno;
      ik_free(ev);
      return ik_err_set(err, IK_EIO, "event log %s: %s", path, strerror(e));
    }
    ev->path = ik_strdup(path);
    ev->next = last_seq_in(ev->fd) + 1;
  }
  *out = ev;
  return 0;
}

static void events_free(ik_events_t *ev) {
  for (held_t *h = ev->held, *next; h; h = next) {
    next = h->next;
    json_decref(h->obj);
    ik_free(h);
  }
  for (ik_events_sub_t *s = ev->subs, *next; s; s = next) {
    next = s->next;
    ik_free(s);
  }
  if (ev->fd >= 0) close(ev->fd);
  ik_free(ev->path);
  ik_free(ev);
}

static void write_held(ik_events_t *ev);

static void on_reserved(json_t *result, const ik_err_t *err, void *data);

void ik_events_close(ik_events_t *ev) {
  if (ev == NULL) return;
  write_held(ev); /* what was held is not lost */
  if (ev->store && ev->reserved > ev->next) {
    /* Give back the rest of the block: the next daemon goes on at next,
     * not a block above it (best effort: after a crash it does). */
    json_t *doc = json_pack("{s:I}", "next", (json_int_t)ev->next);
    ik_err_t err = {0};
    if (ev->store->vt->put(ev->store->self, IK_EVENTS_CURSOR_KEY, doc, on_reserved, ev, &err) == 0) ev->in_flight++;
    json_decref(doc);
  }
  ev->closing = true;
  ev->store = NULL;
  if (ev->in_flight == 0) events_free(ev);
}

/* A store call answered: false when ev is closing (and now freed if this
 * was the last). */
static bool store_answered(ik_events_t *ev) {
  ev->in_flight--;
  if (!ev->closing) return true;
  if (ev->in_flight == 0) events_free(ev);
  return false;
}

/* --- the cursor in the store ----------------------------------------------- */

static void reserve(ik_events_t *ev);

static void on_reserved(json_t *result, const ik_err_t *err, void *data) {
  ik_events_t *ev = data;
  if (!store_answered(ev)) return;
  ev->writing = false;
  if (err) {
    ik_log(IK_LOG_WARN, "events", "cannot keep the event cursor in the store; numbering goes on", "key",
           IK_EVENTS_CURSOR_KEY, "error", err->msg, NULL);
    return;
  }
  reserve(ev); /* events may have run past half the block meanwhile */
}

/* Write the next block's end when half of this one is used, one put at a
 * time: the controller never waits for it. */
static void reserve(ik_events_t *ev) {
  if (ev->store == NULL || ev->loading || ev->writing) return;
  if (ev->next + IK_EVENTS_CURSOR_BLOCK / 2 <= ev->reserved) return;
  uint64_t want = ev->next + IK_EVENTS_CURSOR_BLOCK;
  json_t *doc = json_pack("{s:I}", "next", (json_int_t)want);
  ik_err_t err = {0};
  ev->writing = true;
  ev->in_flight++;
  int rc = ev->store->vt->put(ev->store->self, IK_EVENTS_CURSOR_KEY, doc, on_reserved, ev, &err);
  json_decref(doc);
  if (rc < 0) {
    ev->writing = false;
    ev->in_flight--;
    ik_log(IK_LOG_WARN, "events", "cannot keep the event cursor in the store; numbering goes on", "key",
           IK_EVENTS_CURSOR_KEY, "error", err.msg, NULL);
    return;
  }
  ev->reserved = want;
}

static void on_cursor(json_t *result, const ik_err_t *err, void *data) {
  ik_events_t *ev = data;
  if (!store_answered(ev)) return;
  ev->loading = false;
  if (err && err->code != IK_ENOTFOUND)
    ik_log(IK_LOG_WARN, "events", "cannot read the event cursor; numbering goes on from the event log", "key",
           IK_EVENTS_CURSOR_KEY, "error", err->msg, NULL);
  json_int_t stored = err ? 0 : json_integer_value(json_object_get(result, "next"));
  if (stored > 0 && (uint64_t)stored > ev->next) ev->next = (uint64_t)stored;
  ev->reserved = 0;
  write_held(ev);
  reserve(ev);
}

void ik_events_use_store(ik_events_t *ev, ik_store_t *store) {
  ev->store = store;
  ev->reserved = 0;
  if (store == NULL) {
    ev->loading = false;
    write_held(ev);
    return;
  }
  ik_err_t err = {0};
  ev->loading = true;
  ev->in_flight++;
  if (store->vt->get(store->self, IK_EVENTS_CURSOR_KEY, on_cursor, ev, &err) < 0) {
    ev->in_flight--;
    ev->loading = false;
    ik_log(IK_LOG_WARN, "events", "cannot read the event cursor; numbering goes on from the event log", "key",
           IK_EVENTS_CURSOR_KEY, "error", err.msg, NULL);
    write_held(ev);
  }
}

/* --- writing -------------------------------------------------------------- */

static void notify(ik_events_t *ev, uint64_t seq, const char *group, const char *event, const char *line,
                   size_t len) {
  ev->notifying++;
  for (ik_events_sub_t *s = ev->subs; s; s = s->next)
    if (s->fn) s->fn(seq, group, event, line, len, s->data);
  if (--ev->notifying == 0 && ev->dead_subs) {
    ev->dead_subs = false;
    for (ik_events_sub_t **p = &ev->subs; *p;) {
      ik_events_sub_t *s = *p;
      if (s->fn) {
        p = &s->next;
        continue;
      }
      *p = s->next;
      ik_free(s);
    }
  }
}

/* Number o (stolen), append it, tell the subscribers. */
static void write_event(ik_events_t *ev, json_t *o) {
  uint64_t seq = ev->next++;
  json_t *line_obj = json_pack("{s:I}", "seq", (json_int_t)seq);
  json_object_update(line_obj, o);
  json_decref(o);
  char *line = json_dumps(line_obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  size_t len = strlen(line);
  if (ev->fd >= 0) {
    line[len] = '\n'; /* json_dumps allocates len + 1: the NUL becomes the newline */
    ssize_t w = write(ev->fd, line, len + 1);
    if (w != (ssize_t)(len + 1) && !ev->warned) {
      ev->warned = true;
      ik_log(IK_LOG_WARN, "events", "cannot append to the event log; going on without it", "error",
             w < 0 ? strerror(errno) : "short write", NULL);
    }
    line[len] = '\0';
  }
  if (ev->subs)
    notify(ev, seq, json_string_value(json_object_get(line_obj, "group")),
           json_string_value(json_object_get(line_obj, "event")), line, len);
  json_decref(line_obj);
  free(line);
  reserve(ev);
}

static void write_held(ik_events_t *ev) {
  held_t *h = ev->held;
  ev->held = NULL;
  ev->held_tail = &ev->held;
  ev->n_held = 0;
  while (h) {
    held_t *next = h->next;
    write_event(ev, h->obj);
    ik_free(h);
    h = next;
  }
}

void ik_events_emit(ik_events_t *ev, const char *group, const char *event, json_t *fields) {
  if (ev == NULL || ev->closing) {
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
  json_object_del(o, "seq"); /* ours alone */
  ik_redact_json(o);         /* an error may repeat a secret (a plugin's, a URL's) */
  if (ev->loading && ev->n_held < HELD_MAX) {
    held_t *h = IK_NEW(held_t);
    h->obj = o;
    *ev->held_tail = h;
    ev->held_tail = &h->next;
    ev->n_held++;
    return;
  }
  if (ev->loading) { /* the store is slow to answer: stop holding */
    ev->loading = false;
    write_held(ev);
  }
  write_event(ev, o);
}

const char *ik_events_path(const ik_events_t *ev) { return ev->path; }

uint64_t ik_events_last_seq(const ik_events_t *ev) { return ev->next - 1; }

ik_events_sub_t *ik_events_subscribe(ik_events_t *ev, ik_events_fn fn, void *data) {
  ik_events_sub_t *s = IK_NEW(ik_events_sub_t);
  s->fn = fn;
  s->data = data;
  s->next = ev->subs;
  ev->subs = s;
  return s;
}

void ik_events_unsubscribe(ik_events_t *ev, ik_events_sub_t *sub) {
  if (sub == NULL) return;
  if (ev->notifying) {
    sub->fn = NULL;
    ev->dead_subs = true;
    return;
  }
  for (ik_events_sub_t **p = &ev->subs; *p; p = &(*p)->next)
    if (*p == sub) {
      *p = sub->next;
      ik_free(sub);
      return;
    }
}
