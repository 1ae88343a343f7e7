#include "loop/proc.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"

#define IK_PROC_DEFAULT_MAX_OUTPUT ((size_t)64 << 20)

struct ik_proc {
  uv_process_t process;
  uv_pipe_t out_pipe, err_pipe, in_pipe;
  uv_write_t in_req;
  uv_timer_t timer;
  ik_loop_t *loop;
  ik_proc_cb cb;
  void *data;
  ik_proc_result_t res;
  char *stdin_copy;
  size_t max_output;
  uint64_t started_ns;
  int pid;
  int open_handles; /* handles not yet closed; freed at 0 */
  int open_streams; /* stdout/stderr not yet at EOF */
  bool exited;
  bool done; /* cb has run */
  bool has_timer;
  bool has_stdin;
};

static void proc_release(uv_handle_t *h) {
  ik_proc_t *p = h->data;
  if (--p->open_handles > 0) return;
  ik_buf_free(&p->res.out);
  ik_buf_free(&p->res.err);
  ik_free(p->stdin_copy);
  ik_free(p);
}

static void proc_close(ik_proc_t *p, uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, proc_release);
}

/* Finish once the process has exited and both pipes are drained. */
static void proc_maybe_done(ik_proc_t *p) {
  if (p->done || !p->exited || p->open_streams > 0) return;
  p->done = true;
  p->res.elapsed = (double)(uv_hrtime() - p->started_ns) / 1e9;
  if (p->has_timer) proc_close(p, (uv_handle_t *)&p->timer);
  p->cb(p, &p->res, p->data);
  proc_close(p, (uv_handle_t *)&p->process);
}

static void proc_exit(uv_process_t *h, int64_t status, int term_signal) {
  ik_proc_t *p = h->data;
  p->exited = true;
  p->pid = 0;
  p->res.exit_status = status;
  p->res.term_signal = term_signal;
  if (p->has_timer) uv_timer_stop(&p->timer);
  proc_maybe_done(p);
}

static void proc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char slab[65536]; /* the loop is single-threaded: one slab suffices */
  (void)h;
  (void)suggested;
  buf->base = slab;
  buf->len = sizeof slab;
}

static void proc_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  ik_proc_t *p = s->data;
  ik_buf_t *dst = (s == (uv_stream_t *)&p->out_pipe) ? &p->res.out : &p->res.err;
  if (nread > 0) {
    size_t n = (size_t)nread;
    if (dst->len + n > p->max_output) {
      p->res.truncated = true;
      n = dst->len < p->max_output ? p->max_output - dst->len : 0;
    }
    if (n) ik_buf_append(dst, buf->base, n);
    return;
  }
  if (nread == 0) return;
  /* EOF or error: this stream is finished either way. */
  uv_read_stop(s);
  proc_close(p, (uv_handle_t *)s);
  p->open_streams--;
  proc_maybe_done(p);
}

/* Read the child's output from pipe; a pipe that cannot be read is
 * finished, as at a read error (its output stays empty). */
static void proc_read_start(ik_proc_t *p, uv_pipe_t *pipe) {
  if (uv_read_start((uv_stream_t *)pipe, proc_alloc, proc_read) < 0) {
    proc_close(p, (uv_handle_t *)pipe);
    p->open_streams--;
  }
}

static void proc_stdin_written(uv_write_t *req, int status) {
  ik_proc_t *p = req->data;
  (void)status; /* EPIPE: the child did not read it all; not our failure */
  proc_close(p, (uv_handle_t *)&p->in_pipe);
}

static void proc_timeout(uv_timer_t *t) {
  ik_proc_t *p = t->data;
  p->res.timed_out = true;
  ik_proc_kill(p, SIGKILL);
}

int ik_proc_spawn(ik_loop_t *loop, const ik_proc_opts_t *opts, ik_proc_cb cb, void *data,
                  ik_proc_t **out, ik_err_t *err) {
  if (opts == NULL || opts->argv == NULL || opts->argv[0] == NULL || opts->argv[0][0] == '\0')
    return ik_err_set(err, IK_EINVAL, "exec: argv must name a program");

  ik_proc_t *p = IK_NEW(ik_proc_t);
  p->loop = loop;
  p->cb = cb;
  p->data = data;
  p->max_output = opts->max_output ? opts->max_output : IK_PROC_DEFAULT_MAX_OUTPUT;
  p->started_ns = uv_hrtime();
  p->has_stdin = opts->stdin_data != NULL;

  uv_pipe_init(&loop->uv, &p->out_pipe, 0);
  uv_pipe_init(&loop->uv, &p->err_pipe, 0);
  p->out_pipe.data = p->err_pipe.data = p->process.data = p;
  p->open_handles = 2;
  if (p->has_stdin) {
    uv_pipe_init(&loop->uv, &p->in_pipe, 0);
    p->in_pipe.data = p;
    p->open_handles++;
  }

  uv_stdio_container_t stdio[3];
  if (p->has_stdin) {
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&p->in_pipe;
  } else {
    stdio[0].flags = UV_IGNORE;
  }
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&p->out_pipe;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&p->err_pipe;

  uv_process_options_t po;
  memset(&po, 0, sizeof po);
  po.exit_cb = proc_exit;
  po.file = opts->argv[0];
  /* libuv takes char ** but does not modify the strings. */
  union {
    const char *const *c;
    char **m;
  } args = {opts->argv}, env = {opts->env};
  po.args = args.m;
  po.env = env.m;
  po.cwd = opts->cwd;
  po.stdio = stdio;
  po.stdio_count = 3;
  po.flags = UV_PROCESS_DETACHED; /* own process group: kill(-pid) reaches the whole tree */

  int rc = uv_spawn(&loop->uv, &p->process, &po);
  if (rc < 0) {
    /* uv_spawn leaves an initialised process handle on failure; close all. */
    p->done = true;
    p->open_handles++;
    proc_close(p, (uv_handle_t *)&p->process);
    proc_close(p, (uv_handle_t *)&p->out_pipe);
    proc_close(p, (uv_handle_t *)&p->err_pipe);
    if (p->has_stdin) proc_close(p, (uv_handle_t *)&p->in_pipe);
    /* The child's chdir and execvp failures arrive as the same errno:
     * name the directory when it is the cwd that is missing. */
    struct stat st;
    if (opts->cwd && (stat(opts->cwd, &st) != 0 || !S_ISDIR(st.st_mode)))
      return ik_err_set(err, rc, "exec %s: working directory %s: %s", opts->argv[0], opts->cwd,
                        ik_strerror(rc));
    return ik_err_set(err, rc, "exec %s: %s", opts->argv[0], ik_strerror(rc));
  }
  p->open_handles++; /* the process handle */
  p->pid = p->process.pid;
  p->open_streams = 2;
  proc_read_start(p, &p->out_pipe);
  proc_read_start(p, &p->err_pipe);

  if (p->has_stdin) {
    p->stdin_copy = ik_memdup(opts->stdin_data, opts->stdin_len);
    uv_buf_t b = uv_buf_init(p->stdin_copy, (unsigned)opts->stdin_len);
    p->in_req.data = p;
    if (uv_write(&p->in_req, (uv_stream_t *)&p->in_pipe, &b, 1, proc_stdin_written) < 0)
      proc_close(p, (uv_handle_t *)&p->in_pipe);
  }

  if (opts->timeout_ms > 0) {
    uv_timer_init(&loop->uv, &p->timer);
    p->timer.data = p;
    p->has_timer = true;
    p->open_handles++;
    uv_timer_start(&p->timer, proc_timeout, opts->timeout_ms, 0);
  }
  if (out) *out = p;
  return 0;
}

int ik_proc_kill(ik_proc_t *p, int signum) {
  if (p->exited || p->pid <= 0) return UV_ESRCH;
  /* The group first (detached child leads its own); fall back to the pid. */
  int rc = uv_kill(-p->pid, signum);
  if (rc < 0) rc = uv_kill(p->pid, signum);
  return rc;
}

void ik_proc_cancel(ik_proc_t *p) {
  if (p->done) return;
  p->res.canceled = true;
  ik_proc_kill(p, SIGKILL);
}

int ik_proc_pid(const ik_proc_t *p) { return p->pid; }

unsigned long long ik_proc_start_time(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces and parens */
  if (p == NULL || p[1] != ' ') return 0;
  /* Fields from 3 (state) on, one space apart; starttime is field 22. */
  char *save = NULL, *tok = strtok_r(p + 2, " ", &save);
  if (tok == NULL || *tok == 'Z' || *tok == 'X') return 0;
  for (int field = 3; tok && field < 22; field++) tok = strtok_r(NULL, " ", &save);
  return tok ? strtoull(tok, NULL, 10) : 0;
}
