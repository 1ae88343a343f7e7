/* A QMP client on the loop (qmp.h). */
#include "providers/qemu/qmp.h"

#include <stdbool.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

/* A line longer than this is not QMP: the peer is something else. */
#define IK_QMP_MAX_LINE ((size_t)1 << 20)

typedef enum { QMP_CONNECTING,
               QMP_GREETING,
               QMP_CAPS,
               QMP_READY,
               QMP_DONE } qmp_state_t;

/* A command waiting for its answer (answers come in order). */
typedef struct pending {
  struct pending *next;
  char *command;
  ik_qmp_reply_cb cb; /* NULL: the handshake's qmp_capabilities */
  void *data;
} pending_t;

struct ik_qmp {
  ik_loop_t *loop;
  uv_pipe_t pipe;
  uv_timer_t timer;
  uv_connect_t connect_req;
  int open_handles;
  qmp_state_t state;
  bool silenced; /* ik_qmp_close: no more callbacks */
  ik_qmp_handlers_t h;
  void *data;
  ik_buf_t in; /* bytes of an incomplete line */
  pending_t *head, *tail;
  unsigned long long next_id;
};

typedef struct write_req {
  uv_write_t req;
  char *text;
} write_req_t;

static void on_handle_closed(uv_handle_t *handle) {
  ik_qmp_t *q = handle->data;
  if (--q->open_handles > 0) return;
  ik_buf_free(&q->in);
  ik_free(q);
}

static void drop_pending(ik_qmp_t *q, const char *why) {
  while (q->head) {
    pending_t *p = q->head;
    q->head = p->next;
    if (q->head == NULL) q->tail = NULL;
    if (p->cb && !q->silenced) {
      ik_err_t e = {0};
      ik_err_set(&e, IK_EIO, "QMP %s: %s", p->command, why);
      p->cb(q, NULL, &e, q->data);
    }
    ik_free(p->command);
    ik_free(p);
  }
}

/* The end, whatever the cause: tell the owner once (ready failed, or
 * closed), then close the handles. */
static void finish(ik_qmp_t *q, int code, const char *why) {
  if (q->state == QMP_DONE) return;
  qmp_state_t was = q->state;
  q->state = QMP_DONE;
  drop_pending(q, why);
  if (!q->silenced) {
    if (was == QMP_READY) {
      if (q->h.closed) q->h.closed(q, why, q->data);
    } else {
      ik_err_t e = {0};
      ik_err_set(&e, code, "QMP: %s", why);
      if (q->h.ready) q->h.ready(q, &e, q->data);
    }
  }
  q->silenced = true;
  uv_close((uv_handle_t *)&q->pipe, on_handle_closed);
  uv_close((uv_handle_t *)&q->timer, on_handle_closed);
}

static void on_written(uv_write_t *req, int status) {
  write_req_t *w = (write_req_t *)req;
  ik_free(w->text);
  ik_free(w);
}

static int send_line(ik_qmp_t *q, const char *command, json_t *args, ik_qmp_reply_cb cb, void *data) {
  json_t *msg = json_pack("{s:s, s:I}", "execute", command, "id", (json_int_t)++q->next_id);
  if (args) json_object_set(msg, "arguments", args);
  char *text = json_dumps(msg, JSON_COMPACT);
  json_decref(msg);
  write_req_t *w = IK_NEW(write_req_t);
  size_t len = strlen(text);
  w->text = ik_malloc(len + 2);
  memcpy(w->text, text, len);
  w->text[len] = '\n';
  w->text[len + 1] = '\0';
  free(text);
  uv_buf_t b = uv_buf_init(w->text, (unsigned)len + 1);
  int rc = uv_write(&w->req, (uv_stream_t *)&q->pipe, &b, 1, on_written);
  if (rc < 0) {
    ik_free(w->text);
    ik_free(w);
    return rc;
  }
  pending_t *p = IK_NEW(pending_t);
  p->command = ik_strdup(command);
  p->cb = cb;
  p->data = data;
  if (q->tail) q->tail->next = p;
  else q->head = p;
  q->tail = p;
  return 0;
}

/* An answer ({"return"} or {"error"}) to the oldest pending command. */
static void on_answer(ik_qmp_t *q, json_t *msg) {
  pending_t *p = q->head;
  if (p == NULL) return; /* an answer nobody asked for: ignore it */
  q->head = p->next;
  if (q->head == NULL) q->tail = NULL;
  json_t *error = json_object_get(msg, "error");
  ik_err_t e = {0};
  if (error)
    ik_err_set(&e, IK_EDRIVER, "QMP %s: %s: %s", p->command,
               json_string_value(json_object_get(error, "class")) ? json_string_value(json_object_get(error, "class"))
                                                                  : "Error",
               json_string_value(json_object_get(error, "desc")) ? json_string_value(json_object_get(error, "desc"))
                                                                 : "(no description)");
  if (p->cb == NULL) { /* the handshake */
    if (error) {
      finish(q, IK_EDRIVER, e.msg);
    } else {
      q->state = QMP_READY;
      uv_timer_stop(&q->timer);
      if (q->h.ready && !q->silenced) q->h.ready(q, NULL, q->data);
    }
  } else if (!q->silenced) {
    p->cb(q, error ? NULL : json_object_get(msg, "return"), error ? &e : NULL, p->data);
  }
  ik_free(p->command);
  ik_free(p);
}

/* One complete line. Returns false when the connection was finished. */
static bool on_line(ik_qmp_t *q, const char *line, size_t len) {
  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
  if (len == 0) return true;
  json_error_t je;
  json_t *msg = json_loadb(line, len, 0, &je);
  if (!json_is_object(msg)) {
    json_decref(msg);
    char why[160];
    snprintf(why, sizeof why, "protocol error: not a JSON object: %.60s", line);
    finish(q, IK_EIO, why);
    return false;
  }
  if (q->state == QMP_GREETING) {
    if (json_object_get(msg, "QMP") == NULL) {
      json_decref(msg);
      finish(q, IK_EIO, "protocol error: no QMP greeting (not a QMP socket?)");
      return false;
    }
    q->state = QMP_CAPS;
    int rc = send_line(q, "qmp_capabilities", NULL, NULL, NULL);
    json_decref(msg);
    if (rc < 0) finish(q, rc, uv_strerror(rc));
    return rc == 0;
  }
  const char *event = json_string_value(json_object_get(msg, "event"));
  if (event) {
    if (q->state == QMP_READY && q->h.event && !q->silenced) q->h.event(q, event, json_object_get(msg, "data"), q->data);
  } else if (json_object_get(msg, "return") || json_object_get(msg, "error")) {
    on_answer(q, msg);
  }
  json_decref(msg);
  return q->state != QMP_DONE;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  ik_qmp_t *q = handle->data;
  ik_buf_reserve(&q->in, 65536);
  *buf = uv_buf_init(q->in.data + q->in.len, (unsigned)(q->in.cap - q->in.len - 1));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  ik_qmp_t *q = s->data;
  if (nread < 0) {
    finish(q, IK_EIO, nread == UV_EOF ? "connection closed by qemu" : uv_strerror((int)nread));
    return;
  }
  q->in.len += (size_t)nread;
  q->in.data[q->in.len] = '\0';
  /* Every complete line; keep the rest for the next read. */
  size_t start = 0;
  for (char *nl; (nl = memchr(q->in.data + start, '\n', q->in.len - start)) != NULL;) {
    size_t end = (size_t)(nl - q->in.data);
    if (!on_line(q, q->in.data + start, end - start)) return;
    start = end + 1;
  }
  if (start > 0) {
    memmove(q->in.data, q->in.data + start, q->in.len - start);
    q->in.len -= start;
    q->in.data[q->in.len] = '\0';
  }
  if (q->in.len > IK_QMP_MAX_LINE) finish(q, IK_EIO, "protocol error: a line longer than 1 MiB");
}

static void on_connect(uv_connect_t *req, int status) {
  ik_qmp_t *q = req->data;
  if (q->state == QMP_DONE) return;
  if (status < 0) {
    finish(q, status, uv_strerror(status));
    return;
  }
  q->state = QMP_GREETING;
  int rc = uv_read_start((uv_stream_t *)&q->pipe, on_alloc, on_read);
  if (rc < 0) finish(q, rc, uv_strerror(rc));
}

static void on_timeout(uv_timer_t *t) {
  ik_qmp_t *q = t->data;
  finish(q, IK_ETIMEDOUT, q->state == QMP_CONNECTING ? "connect timed out" : "no QMP greeting in time (another client may hold the socket: "
                                                                             "qemu serves one at a time)");
}

int ik_qmp_connect(ik_loop_t *loop, const char *path, uint64_t timeout_ms, const ik_qmp_handlers_t *handlers, void *data,
                   ik_qmp_t **out, ik_err_t *err) {
  if (strlen(path) >= 108) return ik_err_set(err, IK_EINVAL, "QMP socket %s: path too long for a unix socket", path);
  ik_qmp_t *q = IK_NEW(ik_qmp_t);
  q->loop = loop;
  q->h = *handlers;
  q->data = data;
  uv_pipe_init(&loop->uv, &q->pipe, 0);
  uv_timer_init(&loop->uv, &q->timer);
  q->pipe.data = q->timer.data = q->connect_req.data = q;
  q->open_handles = 2;
  q->state = QMP_CONNECTING;
  uv_timer_start(&q->timer, on_timeout, timeout_ms ? timeout_ms : 5000, 0);
  uv_pipe_connect(&q->connect_req, &q->pipe, path, on_connect);
  *out = q;
  return 0;
}

int ik_qmp_execute(ik_qmp_t *q, const char *command, json_t *args, ik_qmp_reply_cb cb, void *data, ik_err_t *err) {
  if (q->state != QMP_READY || q->silenced)
    return ik_err_set(err, IK_ESTATE, "QMP %s: %s", command,
                      q->state == QMP_DONE ? "the connection has ended" : "the handshake is not done");
  int rc = send_line(q, command, args, cb, data);
  if (rc < 0) return ik_err_set(err, rc, "QMP %s: %s", command, uv_strerror(rc));
  return 0;
}

void ik_qmp_close(ik_qmp_t *q) {
  if (q == NULL) return;
  q->silenced = true;
  finish(q, IK_ECANCELED, "closed");
}
