/* instance-process: an instance is a supervised local process.
 *
 * Properties (docs/plugins.md "instance-process"):
 *   {"Cmd": ["python3", "-m", "http.server", "8080"] | "shell command",
 *    "Env": {"K": "V"}, "Dir": "/path", "Stdout": "file", "Stderr": "file",
 *    "StopTimeout": "5s"}
 * Without Cmd the instance runs its spec's Init (what a flavor such as
 * vanilla prepared) with /bin/sh. A script (Init, or Cmd as a string) is
 * written to DIR/ID.sh (0600) and run as `/bin/sh DIR/ID.sh`, never put on
 * the command line: it may carry secrets. Every process also gets
 * INFRAKIT_INSTANCE_ID and INFRAKIT_LOGICAL_ID in its environment.
 *
 * Each instance is recorded in DIR/ID.json ({"ID", "LogicalID", "Tags",
 * "Spec", "Pid", "StartTime"}) written atomically, before the process is
 * started (Pid 0) and again once it runs. Processes run detached in their
 * own session, output to log files (default DIR/ID.log), so they survive
 * a daemon restart; the next daemon adopts each recorded process that is
 * still alive with the same start time (/proc/PID/stat), so a reused pid is
 * never mistaken for it. A record left with Pid 0 by a crash between the
 * two writes is matched by INFRAKIT_INSTANCE_ID in /proc/PID/environ.
 *
 * An instance whose process exits is gone: its record is removed and
 * watchers (the group controller) are told at once through a pidfd (for
 * processes this daemon started and adopted ones alike), so a SIGKILLed
 * instance is replaced without waiting for a poll. Processes start with
 * posix_spawn (no fork of the daemon: ~0.3 ms instead of several).
 * Destroy sends SIGTERM to the process group, then SIGKILL after the
 * grace period, and completes when the process has exited. */
#include "providers/process/process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "loop/complete.h"
#include "loop/pidwatch.h"
#include "loop/proc.h"
#include "spi/watchers.h"

typedef struct proc_provider proc_provider_t;

/* A destroy waiting for its process to exit. */
typedef struct waiter {
  struct waiter *next;
  ik_spi_cb cb;
  void *data;
} waiter_t;

typedef struct instance {
  struct instance *next;
  proc_provider_t *pp;
  char *id;
  json_t *doc; /* the record, as on disk */
  int pid;
  unsigned long long start;  /* /proc/PID/stat starttime */
  ik_pidwatch_t *exit_watch; /* its exit, through a pidfd; NULL without */
  uv_timer_t *kill_timer;    /* destroy: SIGKILL after the grace period */
  waiter_t *waiters;
  bool exited;
} instance_t;

struct proc_provider {
  ik_loop_t *loop;
  char *dir;
  char *output_dir; /* absolute Stdout/Stderr allowed under it; may be NULL */
  uint64_t grace_ms;
  instance_t *instances;
  ik_watchers_t watchers;
  bool freed;
  int handles; /* libuv handles still closing: free the provider after them */
};

/* --- completions from the loop ----------------------------------------------- */

static int finish(proc_provider_t *pp, ik_spi_cb cb, void *data, json_t *result, const ik_err_t *err) {
  return ik_loop_complete(pp->loop, cb, data, result, err);
}

/* --- /proc --------------------------------------------------------------------- */

/* A process whose environment holds INFRAKIT_INSTANCE_ID=id, or 0. */
static int find_by_env(const char *id) {
  char want[300];
  int wlen = snprintf(want, sizeof want, "INFRAKIT_INSTANCE_ID=%s", id);
  DIR *d = opendir("/proc");
  if (d == NULL) return 0;
  int found = 0;
  static char env[65536];
  for (struct dirent *de; found == 0 && (de = readdir(d)) != NULL;) {
    int pid = atoi(de->d_name);
    if (pid <= 0) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, env, sizeof env - 1);
    close(fd);
    for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(env + i) + 1) {
      env[n] = '\0';
      if (strncmp(env + i, want, (size_t)wlen) == 0 && env[i + wlen] == '\0') found = pid;
    }
  }
  closedir(d);
  return found;
}

/* --- records ----------------------------------------------------------------- */

static bool valid_id(const char *id) {
  return id[0] != '\0' && id[0] != '.' && strchr(id, '/') == NULL && strlen(id) < 200;
}

/* durable: fsync before returning. The record written before the process
 * starts is; the one with its pid need not be: lost to a power cut, the
 * Pid 0 record left behind is matched by the process's environment. */
static int save(proc_provider_t *pp, instance_t *in, bool durable, ik_err_t *err) {
  char *path = ik_sprintf("%s/%s.json", pp->dir, in->id);
  json_object_set_new(in->doc, "Pid", json_integer(in->pid));
  json_object_set_new(in->doc, "StartTime", json_integer((json_int_t)in->start));
  char *text = json_dumps(in->doc, JSON_INDENT(1));
  int rc = ik_fs_replace(path, text, strlen(text), durable, err);
  free(text);
  ik_free(path);
  return rc;
}

/* DIR/ID.sh: the shell script an instance without a Cmd list runs. */
static char *script_path(const proc_provider_t *pp, const char *id) { return ik_sprintf("%s/%s.sh", pp->dir, id); }

/* Forget id: its record and its script. */
static void remove_record(proc_provider_t *pp, const char *id) {
  char *path = ik_sprintf("%s/%s.json", pp->dir, id);
  unlink(path);
  ik_free(path);
  path = script_path(pp, id);
  unlink(path);
  ik_free(path);
}

static void notify(proc_provider_t *pp, const char *id, const char *why) { ik_watchers_notify(&pp->watchers, id, why); }

static instance_t *find(proc_provider_t *pp, const char *id) {
  for (instance_t *in = pp->instances; in; in = in->next)
    if (strcmp(in->id, id) == 0) return in;
  return NULL;
}

/* --- life and death ------------------------------------------------------------ */

static void maybe_free_provider(proc_provider_t *pp);

static void on_handle_closed(uv_handle_t *h) {
  proc_provider_t *pp = h->data;
  ik_free(h);
  pp->handles--;
  maybe_free_provider(pp);
}

static void close_handle(proc_provider_t *pp, uv_handle_t *h) {
  h->data = pp;
  pp->handles++;
  uv_close(h, on_handle_closed);
}

static void instance_release(instance_t *in) {
  proc_provider_t *pp = in->pp;
  ik_pidwatch_stop(in->exit_watch);
  if (in->kill_timer) close_handle(pp, (uv_handle_t *)in->kill_timer);
  json_decref(in->doc);
  ik_free(in->id);
  ik_free(in);
}

static void unlink_instance(proc_provider_t *pp, instance_t *in) {
  for (instance_t **p = &pp->instances; *p; p = &(*p)->next) {
    if (*p == in) {
      *p = in->next;
      return;
    }
  }
}

/* The process is gone: the instance with it. status < 0: not known (a
 * process this daemon did not start is reaped by its own parent). Watchers
 * are told how it ended, so a crash loop shows its exit status. */
static void exited(instance_t *in, int64_t status, int signum) {
  proc_provider_t *pp = in->pp;
  if (in->exited) return;
  in->exited = true;
  char why[64];
  if (signum) snprintf(why, sizeof why, "killed by signal %d", signum);
  else if (status >= 0) snprintf(why, sizeof why, "exited with status %lld", (long long)status);
  else snprintf(why, sizeof why, "exited");
  ik_log(in->waiters ? IK_LOG_INFO : IK_LOG_WARN, "instance-process", in->waiters ? "instance stopped" : "instance exited",
         "instance", in->id, "exit", why, NULL);
  remove_record(pp, in->id);
  unlink_instance(pp, in);
  for (waiter_t *w = in->waiters, *next; w; w = next) {
    next = w->next;
    finish(pp, w->cb, w->data, json_null(), NULL);
    ik_free(w);
  }
  in->waiters = NULL;
  char *id = ik_strdup(in->id);
  instance_release(in);
  if (!pp->freed) notify(pp, id, why);
  ik_free(id);
}

/* The process exited: reap it when it is our child (an adopted one is
 * reaped by whoever is its parent now), then forget the instance. */
static void on_exit_seen(ik_pidwatch_t *w, int pid, void *data) {
  instance_t *in = data;
  in->exit_watch = NULL;
  ik_pidwatch_stop(w);
  int st = 0;
  if (waitpid(pid, &st, WNOHANG) == pid) exited(in, WIFEXITED(st) ? WEXITSTATUS(st) : 0, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  else exited(in, -1, 0);
}

/* Watch the process for its exit (loop/pidwatch.h), whether this daemon
 * started it or adopted it. */
static void watch_exit(proc_provider_t *pp, instance_t *in) {
  ik_err_t e = {0};
  if (ik_pidwatch_start(pp->loop, in->pid, on_exit_seen, in, &in->exit_watch, &e) < 0)
    ik_log(IK_LOG_WARN, "instance-process", "cannot watch the process's exit: it is seen at the next describe",
           "instance", in->id, "error", e.msg, NULL);
}

/* --- spawning ---------------------------------------------------------------------- */

/* Whether path has a ".." component. */
static bool has_dotdot(const char *path) {
  for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
    if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/')) return true;
  return false;
}

/* A Stdout/Stderr file stays inside the state directory: relative, no
 * "..". An absolute path is allowed only under the daemon's
 * --process-output-dir. Whoever may call Provision must not be able to
 * make the daemon write (append to) any file it can. */
static int check_output_path(const proc_provider_t *pp, const char *field, const char *path, ik_err_t *err) {
  if (*path == '\0') return ik_err_set(err, IK_EINVAL, "Properties.%s: empty file name", field);
  if (has_dotdot(path))
    return ik_err_set(err, IK_EINVAL, "Properties.%s \"%.200s\": \"..\" is not allowed; name a file inside the "
                                      "instance's state directory",
                      field, path);
  if (path[0] != '/') return 0;
  size_t n = pp->output_dir ? strlen(pp->output_dir) : 0;
  while (n > 1 && pp->output_dir[n - 1] == '/') n--;
  if (n > 0 && strncmp(path, pp->output_dir, n) == 0 && (path[n] == '/' || n == 1) && path[n + (n > 1)] != '\0')
    return 0;
  if (pp->output_dir)
    return ik_err_set(err, IK_EINVAL, "Properties.%s \"%.200s\": an absolute path must be under %s "
                                      "(the daemon's --process-output-dir)",
                      field, path, pp->output_dir);
  return ik_err_set(err, IK_EINVAL, "Properties.%s \"%.200s\": absolute paths are not allowed; name a file "
                                    "relative to the instance's state directory (or start the daemon with "
                                    "--process-output-dir DIR)",
                    field, path);
}

/* Properties checked; every error names the field. */
static int check_properties(const proc_provider_t *pp, const json_t *props, bool have_init, ik_err_t *err) {
  if (props != NULL && !json_is_null(props) && !json_is_object(props))
    return ik_err_set(err, IK_EINVAL, "Properties: want an object like {\"Cmd\": [\"sleep\", \"60\"]}");
  json_t *cmd = ik_json_get(props, "Cmd");
  if (cmd == NULL || json_is_null(cmd)) {
    if (!have_init)
      return ik_err_set(err, IK_EINVAL, "Properties.Cmd: missing (a list like [\"sleep\", \"60\"], a shell command, or "
                                        "an Init script from the flavor)");
  } else if (json_is_string(cmd)) {
    if (json_string_length(cmd) == 0) return ik_err_set(err, IK_EINVAL, "Properties.Cmd: empty command");
  } else if (json_is_array(cmd)) {
    if (json_array_size(cmd) == 0) return ik_err_set(err, IK_EINVAL, "Properties.Cmd: empty list");
    size_t i;
    json_t *v;
    json_array_foreach(cmd, i, v) if (!json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Properties.Cmd[%zu]: want a string", i);
  } else {
    return ik_err_set(err, IK_EINVAL, "Properties.Cmd: want a list of strings or a shell command string");
  }
  json_t *env = ik_json_get(props, "Env");
  if (env && !json_is_null(env)) {
    if (!json_is_object(env)) return ik_err_set(err, IK_EINVAL, "Properties.Env: want an object of strings");
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) if (!json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Properties.Env.%s: want a string", k);
  }
  static const char *const strs[] = {"Dir", "Stdout", "Stderr", "StopTimeout"};
  for (size_t i = 0; i < 4; i++) {
    json_t *v = ik_json_get(props, strs[i]);
    if (v && !json_is_null(v) && !json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Properties.%s: want a string", strs[i]);
  }
  for (size_t i = 1; i < 3; i++) {
    const char *name = json_string_value(ik_json_get(props, strs[i]));
    int rc = name ? check_output_path(pp, strs[i], name, err) : 0;
    if (rc < 0) return rc;
  }
  return 0;
}

/* Open a log file for appending (relative to dir). */
static int open_log(const char *dir, const char *name, ik_err_t *err) {
  char *path = name[0] == '/' ? ik_strdup(name) : ik_sprintf("%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) ik_err_set(err, IK_EIO, "open %s: %s", path, strerror(errno));
  ik_free(path);
  return fd;
}

static int spawn(proc_provider_t *pp, instance_t *in, json_t *spec, ik_err_t *err) {
  json_t *props = ik_json_get(spec, "Properties");
  json_t *cmd = ik_json_get(props, "Cmd");
  const char *init = json_string_value(ik_json_get(spec, "Init"));
  const char *lid = json_string_value(ik_json_get(spec, "LogicalID"));
  char **argv;
  size_t argc = 0;
  if (json_is_array(cmd)) {
    argv = ik_calloc(json_array_size(cmd) + 1, sizeof *argv);
    size_t i;
    json_t *v;
    json_array_foreach(cmd, i, v) argv[argc++] = ik_strdup(json_string_value(v));
  } else {
    /* A script (Init, or Cmd as a string) often carries secrets, such as a
     * swarm join token: it goes to DIR/ID.sh (0600 in the 0700 state
     * directory) and sh reads it from there, so it never shows in the
     * process's argv, which every local user can read (ps,
     * /proc/PID/cmdline). Removed with the instance's record. */
    const char *script = json_is_string(cmd) ? json_string_value(cmd) : init ? init
                                                                             : "";
    char *path = script_path(pp, in->id);
    int rc = ik_fs_replace(path, script, strlen(script), false, err);
    if (rc < 0) {
      ik_free(path);
      return rc;
    }
    argv = ik_calloc(3, sizeof *argv);
    argv[argc++] = ik_strdup("/bin/sh");
    argv[argc++] = path;
  }
  /* The environment: ours, then Env, then the instance's identity. */
  extern char **environ;
  size_t n_env = 0;
  while (environ[n_env]) n_env++;
  json_t *env = ik_json_get(props, "Env");
  char **envp = ik_calloc(n_env + json_object_size(env) + 3, sizeof *envp);
  size_t k = 0;
  for (size_t i = 0; i < n_env; i++)
    if (strncmp(environ[i], "INFRAKIT_INSTANCE_ID=", 21) != 0 && strncmp(environ[i], "INFRAKIT_LOGICAL_ID=", 20) != 0)
      envp[k++] = ik_strdup(environ[i]);
  const char *key;
  json_t *val;
  json_object_foreach(env, key, val) envp[k++] = ik_sprintf("%s=%s", key, json_string_value(val));
  envp[k++] = ik_sprintf("INFRAKIT_INSTANCE_ID=%s", in->id);
  envp[k++] = ik_sprintf("INFRAKIT_LOGICAL_ID=%s", lid ? lid : "");

  char logname[300];
  snprintf(logname, sizeof logname, "%s.log", in->id);
  const char *out_name = json_string_value(ik_json_get(props, "Stdout"));
  const char *err_name = json_string_value(ik_json_get(props, "Stderr"));
  int out_fd = open_log(pp->dir, out_name ? out_name : logname, err);
  int err_fd = out_fd < 0 ? -1 : err_name ? open_log(pp->dir, err_name, err)
                                          : dup(out_fd);
  int rc = 0;
  if (out_fd < 0 || err_fd < 0) {
    rc = IK_EIO;
  } else {
    /* posix_spawn (vfork-like, no copy of the daemon's page tables) starts
     * a process in a few hundred microseconds; uv_spawn's fork took
     * milliseconds, which self-healing would wait for. */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    const char *cwd = json_string_value(ik_json_get(props, "Dir"));
    if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all); /* the daemon ignores SIGPIPE; its processes must not */
    /* Its own session: it outlives the daemon and its group is ours to signal. */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (e != 0) {
      rc = ik_err_set(err, IK_EDRIVER, "start %s: %s%s%s%s", argv[0], strerror(e), cwd ? " (or Properties.Dir " : "",
                      cwd ? cwd : "", cwd ? ")" : "");
    } else {
      in->pid = pid;
      in->start = ik_proc_start_time(pid);
      watch_exit(pp, in);
    }
  }
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  for (size_t i = 0; i < argc; i++) ik_free(argv[i]);
  ik_free(argv);
  for (size_t i = 0; i < k; i++) ik_free(envp[i]);
  ik_free(envp);
  return rc;
}

/* --- the vtable ----------------------------------------------------------------------- */

static int pp_validate(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  int rc = check_properties(self, properties, true, err);
  return rc < 0 ? rc : finish(self, cb, data, json_null(), NULL);
}

static int pp_provision(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err) {
  proc_provider_t *pp = self;
  json_t *tags = ik_json_get(spec, "Tags");
  if (tags && !json_is_null(tags) && !json_is_object(tags)) return ik_err_set(err, IK_EINVAL, "Spec.Tags: want an object of strings");
  json_t *lid = ik_json_get(spec, "LogicalID");
  if (lid && !json_is_null(lid) && !json_is_string(lid)) return ik_err_set(err, IK_EINVAL, "Spec.LogicalID: want a string");
  const char *init = json_string_value(ik_json_get(spec, "Init"));
  int rc = check_properties(pp, ik_json_get(spec, "Properties"), init && *init, err);
  if (rc < 0) return rc;

  uint64_t r;
  if (uv_random(NULL, NULL, &r, sizeof r, 0, NULL) < 0) r = uv_hrtime();
  instance_t *in = IK_NEW(instance_t);
  in->pp = pp;
  in->id = ik_sprintf("process-%llu", (unsigned long long)(r >> 1));
  json_t *stored = json_pack("{s:O?, s:o, s:s, s:O?, s:O?}", "Properties", ik_json_get(spec, "Properties"), "Tags",
                             json_is_object(tags) ? json_deep_copy(tags) : json_object(), "Init", init ? init : "",
                             "LogicalID", lid, "Attachments", ik_json_get(spec, "Attachments"));
  in->doc = json_pack("{s:s, s:O?, s:O, s:o}", "ID", in->id, "LogicalID", lid ? lid : json_null(), "Tags",
                      json_object_get(stored, "Tags"), "Spec", stored);
  ik_err_t e = {0};
  /* Recorded before it starts (Pid 0), so a crash never leaves it untracked. */
  if ((rc = save(pp, in, true, &e)) == 0 && (rc = spawn(pp, in, spec, &e)) == 0) rc = save(pp, in, false, &e);
  if (rc < 0) {
    if (in->pid > 0) kill(-in->pid, SIGKILL);
    remove_record(pp, in->id);
    instance_release(in);
    return finish(pp, cb, data, NULL, &e);
  }
  in->next = pp->instances;
  pp->instances = in;
  return finish(pp, cb, data, json_string(in->id), NULL);
}

static int pp_label(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err) {
  proc_provider_t *pp = self;
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) if (!json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Labels.%s: want a string", k);
  instance_t *in = find(pp, id);
  ik_err_t e = {0};
  if (in == NULL) {
    ik_err_set(&e, IK_ENOTFOUND, "instance %s: no such instance (its process may have exited)", id);
    return finish(pp, cb, data, NULL, &e);
  }
  json_object_update(json_object_get(in->doc, "Tags"), labels);
  json_object_set(json_object_get(in->doc, "Spec"), "Tags", json_object_get(in->doc, "Tags"));
  int rc = save(pp, in, true, &e);
  return finish(pp, cb, data, json_null(), rc < 0 ? &e : NULL);
}

static void on_grace_over(uv_timer_t *t) {
  instance_t *in = t->data;
  if (in && !in->exited) {
    ik_log(IK_LOG_WARN, "instance-process", "process ignored SIGTERM; sending SIGKILL", "instance", in->id, NULL);
    kill(-in->pid, SIGKILL);
    kill(in->pid, SIGKILL);
  }
}

static int pp_destroy(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err) {
  proc_provider_t *pp = self;
  instance_t *in = find(pp, id);
  ik_err_t e = {0};
  if (in == NULL) {
    ik_err_set(&e, IK_ENOTFOUND, "instance %s: no such instance", id);
    return finish(pp, cb, data, NULL, &e);
  }
  waiter_t *w = IK_NEW(waiter_t);
  w->cb = cb;
  w->data = data;
  w->next = in->waiters;
  in->waiters = w;
  if (in->kill_timer) return 0; /* already stopping */
  if (kill(-in->pid, SIGTERM) < 0 && kill(in->pid, SIGTERM) < 0 && errno == ESRCH) {
    exited(in, -1, 0); /* already gone: completes from the loop */
    return 0;
  }
  uint64_t grace = pp->grace_ms;
  const char *st = json_string_value(ik_json_get(ik_json_get(json_object_get(in->doc, "Spec"), "Properties"), "StopTimeout"));
  if (st) {
    char *end;
    double secs = strtod(st, &end);
    if (end != st && strcmp(end, "s") == 0 && secs >= 0) grace = (uint64_t)(secs * 1000);
    else if (end != st && strcmp(end, "ms") == 0 && secs >= 0) grace = (uint64_t)secs;
  }
  in->kill_timer = ik_calloc(1, sizeof *in->kill_timer);
  uv_timer_init(&pp->loop->uv, in->kill_timer);
  in->kill_timer->data = in;
  uv_timer_start(in->kill_timer, on_grace_over, grace, 0);
  /* Adopted processes without a pidfd: look again shortly. */
  return 0;
}

static int pp_describe(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  proc_provider_t *pp = self;
  json_t *out = json_array();
  for (instance_t *in = pp->instances, *next; in; in = next) {
    next = in->next;
    if (!in->exit_watch && ik_proc_start_time(in->pid) != in->start) { /* no exit event: check */
      exited(in, -1, 0);
      continue;
    }
    json_t *itags = json_object_get(in->doc, "Tags");
    if (!ik_instance_tags_match(itags, tags)) continue;
    json_t *desc = json_pack("{s:s, s:O, s:o}", "ID", in->id, "LogicalID", json_object_get(in->doc, "LogicalID"), "Tags",
                             json_deep_copy(itags));
    if (properties) {
      json_t *p = json_deep_copy(json_object_get(in->doc, "Spec"));
      json_object_set_new(p, "Pid", json_integer(in->pid));
      json_object_set_new(desc, "Properties", p);
    }
    json_array_append_new(out, desc);
  }
  return finish(pp, cb, data, out, NULL);
}

static int pp_watch(void *self, ik_instance_event_cb cb, void *data, ik_err_t *err) {
  (void)err;
  return ik_watchers_add(&((proc_provider_t *)self)->watchers, cb, data);
}

static void pp_unwatch(void *self, int token) { ik_watchers_remove(&((proc_provider_t *)self)->watchers, token); }

static void maybe_free_provider(proc_provider_t *pp) {
  if (!pp->freed || pp->handles > 0) return;
  ik_free(pp->dir);
  ik_free(pp->output_dir);
  ik_watchers_free(&pp->watchers);
  ik_free(pp);
}

/* The processes keep running: only our handles go. Destroys still
 * waiting are answered (cancelled). */
static void pp_free(void *self) {
  proc_provider_t *pp = self;
  if (pp == NULL) return;
  pp->freed = true;
  pp->handles++;
  while (pp->instances) {
    instance_t *in = pp->instances;
    pp->instances = in->next;
    for (waiter_t *w = in->waiters, *next; w; w = next) {
      next = w->next;
      ik_err_t e = {0};
      ik_err_set(&e, IK_ECANCELED, "instance %s: destroy cancelled: the plugin is shutting down", in->id);
      finish(pp, w->cb, w->data, NULL, &e);
      ik_free(w);
    }
    if (in->kill_timer) in->kill_timer->data = NULL;
    instance_release(in);
  }
  pp->handles--;
  maybe_free_provider(pp);
}

static const ik_instance_vtable_t process_vtable = {
    .kind = "process",
    .validate = pp_validate,
    .provision = pp_provision,
    .label = pp_label,
    .destroy = pp_destroy,
    .describe = pp_describe,
    .free = pp_free,
    .watch = pp_watch,
    .unwatch = pp_unwatch,
};

/* Adopt the process the record at path describes, or forget the record
 * when the process is gone. */
static void adopt_record(proc_provider_t *pp, const char *path) {
  json_t *doc = json_load_file(path, 0, NULL);
  const char *id = json_string_value(json_object_get(doc, "ID"));
  if (id == NULL || !valid_id(id)) {
    json_decref(doc);
    return;
  }
  int pid = (int)json_integer_value(json_object_get(doc, "Pid"));
  unsigned long long start = (unsigned long long)json_integer_value(json_object_get(doc, "StartTime"));
  if (pid == 0 && (pid = find_by_env(id)) > 0) start = ik_proc_start_time(pid); /* crashed between the two writes */
  if (pid <= 0 || start == 0 || ik_proc_start_time(pid) != start) {
    ik_log(IK_LOG_INFO, "instance-process", "recorded process is gone; forgetting the instance", "instance", id, NULL);
    unlink(path);
    remove_record(pp, id); /* and its script */
    json_decref(doc);
    return;
  }
  instance_t *in = IK_NEW(instance_t);
  in->pp = pp;
  in->id = ik_strdup(id);
  in->doc = doc;
  in->pid = pid;
  in->start = start;
  in->next = pp->instances;
  pp->instances = in;
  watch_exit(pp, in);
  ik_err_t e = {0};
  save(pp, in, true, &e);
}

/* Adopt what the records in dir describe. */
static void adopt(proc_provider_t *pp) {
  DIR *d = opendir(pp->dir);
  if (d == NULL) return;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    size_t len = strlen(de->d_name);
    if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0) continue;
    char *path = ik_sprintf("%s/%s", pp->dir, de->d_name);
    adopt_record(pp, path);
    ik_free(path);
  }
  closedir(d);
}

int ik_process_provider_new(ik_loop_t *loop, const ik_process_opts_t *opts, ik_instance_plugin_t *out, ik_err_t *err) {
  if (mkdir(opts->dir, 0700) < 0 && errno != EEXIST)
    return ik_err_set(err, IK_EIO, "instance-process: create %s: %s", opts->dir, strerror(errno));
  struct stat st;
  if (stat(opts->dir, &st) < 0 || !S_ISDIR(st.st_mode))
    return ik_err_set(err, IK_EINVAL, "instance-process: %s is not a directory", opts->dir);
  /* Temp files of record writes a crash cut short. */
  ik_err_t ce = {0};
  int cleaned = ik_fs_clean_temps(opts->dir, false, &ce);
  if (cleaned > 0) {
    char n[16];
    snprintf(n, sizeof n, "%d", cleaned);
    ik_log(IK_LOG_INFO, "instance-process", "removed temp files left by an interrupted write", "dir", opts->dir,
           "files", n, NULL);
  }
  proc_provider_t *pp = IK_NEW(proc_provider_t);
  pp->loop = loop;
  pp->dir = ik_strdup(opts->dir);
  pp->output_dir = opts->output_dir ? ik_strdup(opts->output_dir) : NULL;
  pp->grace_ms = opts->grace_ms ? opts->grace_ms : 5000;
  adopt(pp);
  *out = (ik_instance_plugin_t){&process_vtable, pp};
  return 0;
}
