/* instance-qemu: an instance is a qemu virtual machine.
 *
 * Properties: config.h (Kernel, Initrd, Cmdline, Disk, Memory, CPUs,
 * Accel, Ports, Checksum). The spec's Init reaches the guest through
 * fw_cfg (opt/infrakit/init, from a file: no quoting); the guest's init
 * runs it.
 *
 * Each VM has a state directory DIR/qemu-XXXXXXXX (its name is the
 * instance ID) holding: tags ({"ID", "LogicalID", "Tags"}), spec.json
 * ({"Properties", "Ports", "Accel"}), init, cmdline (the command line,
 * one argument a line), disk.qcow2 (the overlay of Properties.Disk, made
 * with qemu-img through the loop's process API), pid (written by qemu),
 * start_time (the qemu process's, from /proc/PID/stat), qmp.sock and
 * console.log (the serial console).
 *
 * Provision: qemu runs with -daemonize, through the loop's process API:
 * its exit status says whether the VM started, and its stderr is the
 * error when it did not (with the console's tail). The VM then belongs to
 * no process of ours, so it outlives the daemon. Provision completes once
 * QMP answers (capabilities, query-status).
 *
 * Events: the QMP connection stays open. SHUTDOWN, STOP and POWERDOWN
 * events and the socket closing are told to watchers at once, and so is
 * the qemu process exiting (a pidfd): a VM killed with SIGKILL is gone
 * and replaced without waiting for the group's poll. A VM that is gone
 * has its state directory removed (its console's tail is logged first).
 *
 * Destroy: ACPI system_powerdown (the guest shuts down if it handles the
 * power button), then QMP quit, then SIGTERM, then SIGKILL, each after a
 * grace period (qemu.h); completes when qemu has exited, after its
 * overlay and state directory are removed.
 *
 * Adoption: a new provider (a restarted daemon) adopts every state
 * directory whose qemu runs with the recorded start time (a reused pid
 * has another) and reconnects to its QMP socket; a directory whose qemu
 * is gone is removed. */
#include "providers/qemu/qemu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/backoff.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "loop/complete.h"
#include "loop/pidwatch.h"
#include "loop/proc.h"
#include "providers/qemu/config.h"
#include "providers/qemu/qmp.h"
#include "spi/watchers.h"

#define MOD "instance-qemu"

typedef struct qemu_provider qemu_provider_t;

/* A destroy waiting for its VM to stop. */
typedef struct waiter {
  struct waiter *next;
  ik_spi_cb cb;
  void *data;
} waiter_t;

typedef enum { STOP_NONE,
               STOP_POWERDOWN,
               STOP_QUIT,
               STOP_TERM,
               STOP_KILL } stop_stage_t;

typedef struct vm {
  struct vm *next;
  qemu_provider_t *qp;
  char *id, *dir;
  json_t *lid;   /* string or null */
  json_t *tags;  /* object */
  json_t *props; /* as given (may be NULL) */
  json_t *ports; /* {"<guest>": <host>} */
  char accel[8];
  int pid;
  unsigned long long start;
  ik_qmp_t *qmp;
  bool qmp_ready, status_pending;
  char state[32];            /* from query-status and events */
  ik_pidwatch_t *exit_watch; /* NULL without pidfds */
  uv_timer_t *stop_timer;
  uv_timer_t *qmp_timer; /* QMP closed or unreachable, qemu still there: look again */
  uint32_t qmp_failures; /* connections lost or refused in a row: the backoff's attempt */
  stop_stage_t stage;
  waiter_t *waiters;
  /* Provisioning: on qp->booting until QMP answers. */
  bool booting;
  ik_spi_cb prov_cb; /* NULL once answered (or the provider was freed) */
  void *prov_data;
  ik_qemu_config_t cfg;
  char *kernel, *initrd; /* cfg's, made absolute: qemu's -daemonize moves to / */
} vm_t;

struct qemu_provider {
  ik_loop_t *loop;
  char *dir, *qemu, *qemu_img, *kvm_dev;
  uint64_t powerdown_ms, quit_ms, term_ms, qmp_timeout_ms;
  vm_t *vms;     /* running: what describe lists */
  vm_t *booting; /* being provisioned */
  ik_watchers_t watchers;
  bool freed;
  int handles; /* libuv handles still closing */
};

static void vm_connect_qmp(vm_t *vm);
static void qmp_retry_later(vm_t *vm);

/* --- small helpers ----------------------------------------------------------- */

static int finish(qemu_provider_t *qp, ik_spi_cb cb, void *data, json_t *result, const ik_err_t *err) {
  return ik_loop_complete(qp->loop, cb, data, result, err);
}

static void notify(qemu_provider_t *qp, const char *id, const char *why) {
  if (!qp->freed) ik_watchers_notify(&qp->watchers, id, why);
}

static char *path_in(const vm_t *vm, const char *name) { return ik_sprintf("%s/%s", vm->dir, name); }

/* The whole small file name in vm's dir, or NULL. Caller frees. */
static char *read_small(const vm_t *vm, const char *name) {
  char *path = path_in(vm, name);
  FILE *f = fopen(path, "re");
  ik_free(path);
  if (f == NULL) return NULL;
  ik_buf_t b = {0};
  char chunk[4096];
  for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20);) ik_buf_append(&b, chunk, n);
  fclose(f);
  return ik_buf_steal(&b, NULL);
}

static int write_file(const vm_t *vm, const char *name, const char *text, ik_err_t *err) {
  char *path = path_in(vm, name);
  int rc = ik_fs_replace(path, text, strlen(text), false, err);
  ik_free(path);
  return rc;
}

static int write_json(const vm_t *vm, const char *name, json_t *doc, ik_err_t *err) {
  char *text = json_dumps(doc, JSON_INDENT(1));
  int rc = write_file(vm, name, text, err);
  free(text);
  return rc;
}

/* The last max bytes of the serial console, on one line, for errors and
 * logs: what the guest said before it died. "" when there is none. */
static void console_tail(const vm_t *vm, char *out, size_t max) {
  out[0] = '\0';
  char *path = path_in(vm, "console.log");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ik_free(path);
  if (fd < 0) return;
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)max - 1 ? size - (off_t)max + 1 : 0;
  ssize_t n = pread(fd, out, max - 1, from);
  close(fd);
  if (n <= 0) return;
  out[n] = '\0';
  for (ssize_t i = 0; i < n; i++)
    if (out[i] == '\n' || out[i] == '\r' || out[i] == '\t') out[i] = ' ';
    else if ((unsigned char)out[i] < 0x20) out[i] = '?';
  while (n > 0 && out[n - 1] == ' ') out[--n] = '\0';
}

static bool alive(const vm_t *vm) { return vm->pid > 0 && vm->start != 0 && ik_proc_start_time(vm->pid) == vm->start; }

/* --- life and death ---------------------------------------------------------- */

static void maybe_free_provider(qemu_provider_t *qp);

static void on_handle_closed(uv_handle_t *h) {
  qemu_provider_t *qp = h->data;
  ik_free(h);
  qp->handles--;
  maybe_free_provider(qp);
}

static void close_handle(qemu_provider_t *qp, uv_handle_t *h) {
  h->data = qp;
  qp->handles++;
  uv_close(h, on_handle_closed);
}

/* Forget vm (unlinked already): our handles and memory; qemu untouched. */
static void vm_release(vm_t *vm) {
  qemu_provider_t *qp = vm->qp;
  ik_qmp_close(vm->qmp);
  ik_pidwatch_stop(vm->exit_watch);
  if (vm->stop_timer) close_handle(qp, (uv_handle_t *)vm->stop_timer);
  if (vm->qmp_timer) close_handle(qp, (uv_handle_t *)vm->qmp_timer);
  for (waiter_t *w = vm->waiters, *next; w; w = next) {
    next = w->next;
    ik_free(w);
  }
  ik_qemu_config_free(&vm->cfg);
  ik_free(vm->kernel);
  ik_free(vm->initrd);
  json_decref(vm->lid);
  json_decref(vm->tags);
  json_decref(vm->props);
  json_decref(vm->ports);
  ik_free(vm->id);
  ik_free(vm->dir);
  ik_free(vm);
}

static void unlink_vm(vm_t **list, vm_t *vm) {
  for (vm_t **p = list; *p; p = &(*p)->next)
    if (*p == vm) {
      *p = vm->next;
      return;
    }
}

static void remove_state_dir(const vm_t *vm) {
  ik_err_t e = {0};
  if (ik_fs_remove_tree(vm->dir, &e) < 0) ik_log(IK_LOG_WARN, MOD, "cannot remove a VM's state directory", "instance", vm->id, "error", e.msg, NULL);
}

/* A running VM's qemu has exited (or was found gone): the instance is gone.
 * Its state directory goes (the console's tail is logged first), destroys
 * waiting complete, watchers are told why. */
static void vm_gone(vm_t *vm, const char *why) {
  qemu_provider_t *qp = vm->qp;
  char tail[400];
  console_tail(vm, tail, sizeof tail);
  bool expected = vm->stage != STOP_NONE;
  ik_log(expected ? IK_LOG_INFO : IK_LOG_WARN, MOD, expected ? "VM stopped" : "VM gone", "instance", vm->id, "why", why,
         expected ? NULL : "console", tail, NULL);
  unlink_vm(&qp->vms, vm);
  remove_state_dir(vm);
  for (waiter_t *w = vm->waiters; w; w = w->next) finish(qp, w->cb, w->data, json_null(), NULL);
  char *id = ik_strdup(vm->id);
  vm_release(vm);
  notify(qp, id, why);
  ik_free(id);
}

/* A VM being provisioned failed: kill what started, remove its directory,
 * answer the provision with err (the console's tail added). */
static void boot_failed(vm_t *vm, const ik_err_t *err) {
  qemu_provider_t *qp = vm->qp;
  if (alive(vm)) kill(vm->pid, SIGKILL);
  char tail[400];
  console_tail(vm, tail, sizeof tail);
  ik_err_t e = *err;
  if (tail[0]) {
    size_t len = strlen(e.msg);
    snprintf(e.msg + len, sizeof e.msg - len, " (console: %s)", tail);
  }
  ik_log(IK_LOG_WARN, MOD, "VM did not start", "instance", vm->id, "error", e.msg, NULL);
  unlink_vm(&qp->booting, vm);
  remove_state_dir(vm);
  if (vm->prov_cb) finish(qp, vm->prov_cb, vm->prov_data, NULL, &e);
  vm_release(vm);
  maybe_free_provider(qp);
}

/* The VM answers QMP: provisioning is over. */
static void boot_done(vm_t *vm) {
  qemu_provider_t *qp = vm->qp;
  unlink_vm(&qp->booting, vm);
  vm->booting = false;
  if (qp->freed) { /* nobody to tell: leave it running, to be adopted */
    vm_release(vm);
    maybe_free_provider(qp);
    return;
  }
  vm->next = qp->vms;
  qp->vms = vm;
  ik_log(IK_LOG_INFO, MOD, "VM started", "instance", vm->id, "accel", vm->accel, NULL);
  if (vm->prov_cb) finish(qp, vm->prov_cb, vm->prov_data, json_string(vm->id), NULL);
  vm->prov_cb = NULL;
}

static void on_exit_seen(ik_pidwatch_t *w, int pid, void *data) {
  vm_t *vm = data;
  int st;
  waitpid(pid, &st, WNOHANG); /* ours only when this daemon is a subreaper */
  if (vm->booting) {
    ik_err_t e = {0};
    ik_err_set(&e, IK_EDRIVER, "qemu exited while starting");
    boot_failed(vm, &e);
    return;
  }
  vm_gone(vm, "qemu exited");
}

/* Watch qemu's exit (loop/pidwatch.h): it is not our child, it daemonized. */
static void watch_exit(vm_t *vm) {
  ik_err_t e = {0};
  if (ik_pidwatch_start(vm->qp->loop, vm->pid, on_exit_seen, vm, &vm->exit_watch, &e) < 0)
    ik_log(IK_LOG_WARN, MOD, "cannot watch qemu's exit: a dead VM is seen at the next describe", "instance", vm->id,
           "error", e.msg, NULL);
}

/* --- QMP ----------------------------------------------------------------------- */

static void on_status(ik_qmp_t *q, json_t *ret, const ik_err_t *err, void *data) {
  vm_t *vm = data;
  vm->status_pending = false;
  const char *status = json_string_value(json_object_get(ret, "status"));
  if (status) snprintf(vm->state, sizeof vm->state, "%s", status);
  if (vm->booting) boot_done(vm);
}

static void query_status(vm_t *vm) {
  if (!vm->qmp_ready || vm->status_pending) return;
  ik_err_t e = {0};
  if (ik_qmp_execute(vm->qmp, "query-status", NULL, on_status, vm, &e) == 0) vm->status_pending = true;
}

static void on_qmp_ready(ik_qmp_t *q, const ik_err_t *err, void *data) {
  vm_t *vm = data;
  if (err) {
    vm->qmp = NULL; /* freed by the client */
    if (vm->booting) {
      boot_failed(vm, err);
      return;
    }
    snprintf(vm->state, sizeof vm->state, "qmp-unreachable");
    ik_log(vm->qmp_failures ? IK_LOG_DEBUG : IK_LOG_WARN, MOD,
           "cannot reach the VM's QMP socket; trying again (meanwhile destroy uses signals)", "instance", vm->id,
           "error", err->msg, NULL);
    qmp_retry_later(vm);
    return;
  }
  vm->qmp_ready = true;
  vm->qmp_failures = 0;
  query_status(vm);
  if (vm->booting && !vm->status_pending) boot_done(vm);
}

static void on_qmp_event(ik_qmp_t *q, const char *name, json_t *payload, void *data) {
  vm_t *vm = data;
  char why[128];
  if (strcmp(name, "SHUTDOWN") == 0) {
    snprintf(vm->state, sizeof vm->state, "shutdown");
    const char *reason = json_string_value(json_object_get(payload, "reason"));
    snprintf(why, sizeof why, "qemu: SHUTDOWN (%s)", reason ? reason : json_is_true(json_object_get(payload, "guest")) ? "guest"
                                                                                                                       : "host");
  } else if (strcmp(name, "STOP") == 0) {
    snprintf(vm->state, sizeof vm->state, "paused");
    snprintf(why, sizeof why, "qemu: STOP (paused)");
  } else if (strcmp(name, "RESUME") == 0) {
    snprintf(vm->state, sizeof vm->state, "running");
    snprintf(why, sizeof why, "qemu: RESUME");
  } else if (strcmp(name, "POWERDOWN") == 0) {
    snprintf(why, sizeof why, "qemu: POWERDOWN (ACPI power button)");
  } else {
    return;
  }
  ik_log(IK_LOG_INFO, MOD, "QMP event", "instance", vm->id, "event", name, NULL);
  if (!vm->booting) notify(vm->qp, vm->id, why);
}

static void on_qmp_retry(uv_timer_t *t) {
  vm_t *vm = t->data;
  if (!alive(vm)) vm_gone(vm, "qemu exited");
  else if (vm->qmp == NULL) vm_connect_qmp(vm);
}

/* Connect to QMP again after a backoff (base/backoff.h): qemu serves one
 * client at a time, and the one holding it (a daemon on its way out) may
 * let go. */
static void qmp_retry_later(vm_t *vm) {
  if (vm->qmp_timer == NULL) {
    vm->qmp_timer = ik_calloc(1, sizeof *vm->qmp_timer);
    uv_timer_init(&vm->qp->loop->uv, vm->qmp_timer);
    vm->qmp_timer->data = vm;
  }
  int64_t delay = ik_backoff_ms(++vm->qmp_failures, 500, 30000, uv_hrtime());
  uv_timer_start(vm->qmp_timer, on_qmp_retry, (uint64_t)delay, 0);
}

/* QMP closed a moment ago and qemu still runs: say so, and reconnect. */
static void on_closed_grace(uv_timer_t *t) {
  vm_t *vm = t->data;
  if (!alive(vm)) {
    vm_gone(vm, "qemu exited");
    return;
  }
  notify(vm->qp, vm->id, "QMP connection closed");
  qmp_retry_later(vm);
}

static void on_qmp_closed(ik_qmp_t *q, const char *why, void *data) {
  vm_t *vm = data;
  vm->qmp = NULL;
  vm->qmp_ready = vm->status_pending = false;
  if (vm->booting) {
    ik_err_t e = {0};
    ik_err_set(&e, IK_EDRIVER, "QMP: %s while starting", why);
    boot_failed(vm, &e);
    return;
  }
  if (!alive(vm)) {
    vm_gone(vm, "qemu exited");
    return;
  }
  snprintf(vm->state, sizeof vm->state, "qmp-closed");
  if (vm->stage != STOP_NONE) return; /* a destroy's quit: the exit follows */
  /* qemu closes QMP as it exits, a moment before its process is gone:
   * give the exit that moment, so watchers hear the cause ("qemu
   * exited"); a qemu that stays is reported then. */
  if (vm->qmp_timer == NULL) {
    vm->qmp_timer = ik_calloc(1, sizeof *vm->qmp_timer);
    uv_timer_init(&vm->qp->loop->uv, vm->qmp_timer);
    vm->qmp_timer->data = vm;
  }
  uv_timer_start(vm->qmp_timer, on_closed_grace, 200, 0);
}

static void vm_connect_qmp(vm_t *vm) {
  if (vm->qmp_timer) uv_timer_stop(vm->qmp_timer);
  static const ik_qmp_handlers_t handlers = {on_qmp_ready, on_qmp_event, on_qmp_closed};
  char *sock = path_in(vm, "qmp.sock");
  ik_err_t e = {0};
  if (ik_qmp_connect(vm->qp->loop, sock, vm->qp->qmp_timeout_ms, &handlers, vm, &vm->qmp, &e) < 0) {
    vm->qmp = NULL;
    if (vm->booting) boot_failed(vm, &e);
    else snprintf(vm->state, sizeof vm->state, "qmp-unreachable");
  }
  ik_free(sock);
}

/* --- provisioning ------------------------------------------------------------- */

/* The pid qemu wrote and its start time, recorded. */
static int record_process(vm_t *vm, ik_err_t *err) {
  char *text = read_small(vm, "pid");
  vm->pid = text ? atoi(text) : 0;
  ik_free(text);
  if (vm->pid <= 0) return ik_err_set(err, IK_EDRIVER, "qemu started but wrote no pid file in %s", vm->dir);
  vm->start = ik_proc_start_time(vm->pid);
  if (vm->start == 0) return ik_err_set(err, IK_EDRIVER, "qemu exited right after starting");
  char buf[32];
  snprintf(buf, sizeof buf, "%llu\n", vm->start);
  return write_file(vm, "start_time", buf, err);
}

static void on_qemu_started(ik_proc_t *proc, ik_proc_result_t *res, void *data) {
  vm_t *vm = data;
  ik_err_t e = {0};
  if (res->term_signal || res->exit_status != 0 || res->timed_out) {
    /* qemu's own words: its last stderr line is the reason. */
    char msg[400];
    snprintf(msg, sizeof msg, "%s", ik_buf_cstr(&res->err));
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    for (size_t i = 0; i < n; i++)
      if (msg[i] == '\n') msg[i] = ' ';
    if (res->timed_out) ik_err_set(&e, IK_ETIMEDOUT, "qemu did not start within 60s");
    else if (res->term_signal) ik_err_set(&e, IK_EDRIVER, "qemu killed by signal %d: %s", res->term_signal, msg);
    else ik_err_set(&e, IK_EDRIVER, "qemu exited with status %lld: %s", (long long)res->exit_status, n ? msg : "(no message)");
    boot_failed(vm, &e);
    return;
  }
  if (record_process(vm, &e) < 0) {
    boot_failed(vm, &e);
    return;
  }
  watch_exit(vm);
  vm_connect_qmp(vm);
}

static void launch_qemu(vm_t *vm) {
  qemu_provider_t *qp = vm->qp;
  char *disk = path_in(vm, "disk.qcow2");
  char *init = path_in(vm, "init");
  ik_qemu_launch_t l = {.name = vm->id, .state_dir = vm->dir, .accel = vm->accel, .ports = vm->ports, .has_disk = access(disk, F_OK) == 0, .has_init = access(init, F_OK) == 0};
  ik_free(disk);
  ik_free(init);
  json_t *argv = ik_qemu_argv(qp->qemu, &vm->cfg, &l);
  size_t n = json_array_size(argv);
  const char **args = ik_calloc(n + 1, sizeof *args);
  ik_buf_t text = {0};
  for (size_t i = 0; i < n; i++) {
    args[i] = json_string_value(json_array_get(argv, i));
    ik_buf_printf(&text, "%s\n", args[i]);
  }
  ik_err_t e = {0};
  int rc = write_file(vm, "cmdline", ik_buf_cstr(&text), &e);
  ik_buf_free(&text);
  if (rc == 0) {
    ik_proc_opts_t po = {.argv = args, .timeout_ms = 60000, .max_output = 65536};
    rc = ik_proc_spawn(qp->loop, &po, on_qemu_started, vm, NULL, &e);
  }
  ik_free(args);
  json_decref(argv);
  if (rc < 0) boot_failed(vm, &e);
}

static void on_overlay(ik_proc_t *proc, ik_proc_result_t *res, void *data) {
  vm_t *vm = data;
  if (res->term_signal || res->exit_status != 0 || res->timed_out) {
    ik_err_t e = {0};
    const char *msg = ik_buf_cstr(&res->err);
    ik_err_set(&e, IK_EDRIVER, "Properties.Disk: qemu-img create (the overlay) failed: %.300s",
               *msg ? msg : res->timed_out ? "timed out"
                                           : "(no message)");
    for (char *p = e.msg; *p; p++)
      if (*p == '\n') *p = ' ';
    boot_failed(vm, &e);
    return;
  }
  launch_qemu(vm);
}

/* The base image's format for qemu-img's -F: qcow2 by its magic, else raw. */
static const char *image_format(const char *path) {
  unsigned char magic[4] = {0};
  FILE *f = fopen(path, "rbe");
  if (f == NULL) return "raw";
  size_t n = fread(magic, 1, 4, f);
  fclose(f);
  return n == 4 && memcmp(magic, "QFI\xfb", 4) == 0 ? "qcow2" : "raw";
}

static void make_overlay(vm_t *vm) {
  qemu_provider_t *qp = vm->qp;
  char base[4096];
  ik_err_t e = {0};
  if (realpath(vm->cfg.disk, base) == NULL) {
    ik_err_set(&e, IK_EINVAL, "Properties.Disk: %s: %s", vm->cfg.disk, strerror(errno));
    boot_failed(vm, &e);
    return;
  }
  char *overlay = path_in(vm, "disk.qcow2");
  const char *argv[] = {qp->qemu_img, "create", "-q", "-f", "qcow2", "-b", base, "-F", image_format(base), overlay, NULL};
  ik_proc_opts_t po = {.argv = argv, .timeout_ms = 60000, .max_output = 65536};
  int rc = ik_proc_spawn(qp->loop, &po, on_overlay, vm, NULL, &e);
  ik_free(overlay);
  if (rc < 0) {
    ik_err_t e2 = {0};
    ik_err_set(&e2, rc, "Properties.Disk: the overlay needs qemu-img: %s", e.msg);
    boot_failed(vm, &e2);
  }
}

/* A new state directory DIR/qemu-XXXXXXXX; its name is the ID. */
static int make_state_dir(qemu_provider_t *qp, vm_t *vm, ik_err_t *err) {
  for (int tries = 0; tries < 16; tries++) {
    uint32_t r;
    if (uv_random(NULL, NULL, &r, sizeof r, 0, NULL) < 0) r = (uint32_t)uv_hrtime();
    char id[32];
    snprintf(id, sizeof id, "qemu-%08x", r);
    char *dir = ik_sprintf("%s/%s", qp->dir, id);
    if (mkdir(dir, 0700) == 0) {
      vm->id = ik_strdup(id);
      vm->dir = dir;
      return 0;
    }
    int e = errno;
    ik_free(dir);
    if (e != EEXIST) return ik_err_set(err, IK_EIO, "instance-qemu: create a state directory in %s: %s", qp->dir, strerror(e));
  }
  return ik_err_set(err, IK_EIO, "instance-qemu: no free state directory name in %s", qp->dir);
}

static vm_t *vm_new(qemu_provider_t *qp) {
  vm_t *vm = IK_NEW(vm_t);
  vm->qp = qp;
  snprintf(vm->state, sizeof vm->state, "unknown");
  return vm;
}

/* --- the vtable ------------------------------------------------------------------- */

static int qp_validate(void *self, json_t *properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  qemu_provider_t *qp = self;
  ik_qemu_config_t c;
  int rc = ik_qemu_config_parse(properties, true, &c, err);
  if (rc < 0) return rc;
  const char *accel = ik_qemu_accel(c.accel, qp->kvm_dev, err);
  ik_qemu_config_free(&c);
  return accel ? finish(qp, cb, data, json_null(), NULL) : IK_EINVAL;
}

/* *path made absolute (kept in *owned, which *path then points to). */
static int absolute(const char *field, const char **path, char **owned, ik_err_t *err) {
  char buf[4096];
  if (realpath(*path, buf) == NULL) return ik_err_set(err, IK_EINVAL, "Properties.%s: %s: %s", field, *path, strerror(errno));
  *owned = ik_strdup(buf);
  *path = *owned;
  return 0;
}

static int qp_provision(void *self, json_t *spec, ik_spi_cb cb, void *data, ik_err_t *err) {
  qemu_provider_t *qp = self;
  json_t *tags = ik_json_get(spec, "Tags");
  if (tags && !json_is_object(tags)) return ik_json_want(err, "Spec.Tags", "an object of strings", tags, false);
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) if (!json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Spec.Tags.%s: want a string", k);
  json_t *lid = ik_json_get(spec, "LogicalID");
  if (lid && !json_is_string(lid)) return ik_json_want(err, "Spec.LogicalID", "a string", lid, false);
  json_t *init = ik_json_get(spec, "Init");
  if (init && !json_is_string(init)) return ik_json_want(err, "Spec.Init", "a string", init, false);
  json_t *props = ik_json_get(spec, "Properties");
  vm_t *vm = vm_new(qp);
  vm->props = props ? json_deep_copy(props) : NULL; /* cfg borrows from it */
  int rc = ik_qemu_config_parse(vm->props, true, &vm->cfg, err);
  const char *accel = rc < 0 ? NULL : ik_qemu_accel(vm->cfg.accel, qp->kvm_dev, err);
  if (rc == 0 && accel == NULL) rc = IK_EINVAL;
  if (rc == 0 && vm->cfg.kernel) rc = absolute("Kernel", &vm->cfg.kernel, &vm->kernel, err);
  if (rc == 0 && vm->cfg.initrd) rc = absolute("Initrd", &vm->cfg.initrd, &vm->initrd, err);
  if (rc == 0) rc = make_state_dir(qp, vm, err);
  if (rc < 0) {
    vm_release(vm);
    return rc;
  }
  snprintf(vm->accel, sizeof vm->accel, "%s", accel);
  vm->lid = lid ? json_incref(lid) : json_null();
  vm->tags = tags ? json_deep_copy(tags) : json_object();
  /* Every forwarded guest port gets its host port now. */
  vm->ports = json_deep_copy(vm->cfg.ports);
  const char *guest;
  json_t *host;
  json_object_foreach(vm->ports, guest, host) {
    if (json_integer_value(host) != 0) continue;
    int port = ik_qemu_free_port(err);
    if (port < 0) {
      remove_state_dir(vm);
      vm_release(vm);
      return port;
    }
    json_object_set_new(vm->ports, guest, json_integer(port));
  }
  json_t *tag_doc = json_pack("{s:s, s:O, s:O}", "ID", vm->id, "LogicalID", vm->lid, "Tags", vm->tags);
  json_t *spec_doc = json_pack("{s:O?, s:O, s:s}", "Properties", vm->props, "Ports", vm->ports, "Accel", vm->accel);
  rc = write_json(vm, "tags", tag_doc, err);
  if (rc == 0) rc = write_json(vm, "spec.json", spec_doc, err);
  if (rc == 0 && init && json_string_length(init) > 0) rc = write_file(vm, "init", json_string_value(init), err);
  json_decref(tag_doc);
  json_decref(spec_doc);
  if (rc < 0) {
    remove_state_dir(vm);
    vm_release(vm);
    return rc;
  }
  vm->booting = true;
  vm->prov_cb = cb;
  vm->prov_data = data;
  vm->next = qp->booting;
  qp->booting = vm;
  ik_log(IK_LOG_INFO, MOD, "starting a VM", "instance", vm->id, "accel", vm->accel, NULL);
  /* From here on every outcome is told through cb, from the loop. */
  if (vm->cfg.disk) make_overlay(vm);
  else launch_qemu(vm);
  return 0;
}

static vm_t *find(qemu_provider_t *qp, const char *id) {
  for (vm_t *vm = qp->vms; vm; vm = vm->next)
    if (strcmp(vm->id, id) == 0) return vm;
  return NULL;
}

static int qp_label(void *self, const char *id, json_t *labels, ik_spi_cb cb, void *data, ik_err_t *err) {
  qemu_provider_t *qp = self;
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) if (!json_is_string(v)) return ik_err_set(err, IK_EINVAL, "Labels.%s: want a string", k);
  vm_t *vm = find(qp, id);
  ik_err_t e = {0};
  if (vm == NULL) {
    ik_err_set(&e, IK_ENOTFOUND, "instance %s: no such VM", id);
    return finish(qp, cb, data, NULL, &e);
  }
  json_object_update(vm->tags, labels);
  json_t *doc = json_pack("{s:s, s:O, s:O}", "ID", vm->id, "LogicalID", vm->lid, "Tags", vm->tags);
  int rc = write_json(vm, "tags", doc, &e);
  json_decref(doc);
  return finish(qp, cb, data, json_null(), rc < 0 ? &e : NULL);
}

static void stop_next(vm_t *vm);

static void on_stop_timer(uv_timer_t *t) {
  vm_t *vm = t->data;
  if (vm == NULL) return;
  if (!alive(vm)) {
    vm_gone(vm, "stopped");
    return;
  }
  if (vm->stage == STOP_KILL) uv_timer_start(t, on_stop_timer, 100, 0); /* SIGKILL sent: wait for it */
  else stop_next(vm);
}

static void on_stop_reply(ik_qmp_t *q, json_t *ret, const ik_err_t *err, void *data) {
  vm_t *vm = data;
  if (err) ik_log(IK_LOG_INFO, MOD, "stop command failed; the next step follows after its grace period", "instance", vm->id, "error", err->msg, NULL);
}

/* The next step of a destroy: powerdown, quit, SIGTERM, SIGKILL. */
static void stop_next(vm_t *vm) {
  qemu_provider_t *qp = vm->qp;
  for (;;) {
    vm->stage++;
    uint64_t wait = 0;
    ik_err_t e = {0};
    switch (vm->stage) {
    case STOP_POWERDOWN:
      if (!vm->qmp_ready || ik_qmp_execute(vm->qmp, "system_powerdown", NULL, on_stop_reply, vm, &e) < 0) continue;
      wait = qp->powerdown_ms;
      break;
    case STOP_QUIT:
      if (!vm->qmp_ready || ik_qmp_execute(vm->qmp, "quit", NULL, on_stop_reply, vm, &e) < 0) continue;
      ik_log(IK_LOG_INFO, MOD, "the guest did not power down in time; QMP quit", "instance", vm->id, NULL);
      wait = qp->quit_ms;
      break;
    case STOP_TERM:
      ik_log(IK_LOG_INFO, MOD, "qemu still runs; SIGTERM", "instance", vm->id, NULL);
      kill(vm->pid, SIGTERM);
      wait = qp->term_ms;
      break;
    case STOP_KILL:
      ik_log(IK_LOG_WARN, MOD, "qemu ignored SIGTERM; SIGKILL", "instance", vm->id, NULL);
      kill(vm->pid, SIGKILL);
      wait = 100;
      break;
    case STOP_NONE:
    default:
      abort();
    }
    uv_timer_start(vm->stop_timer, on_stop_timer, wait, 0);
    return;
  }
}

static int qp_destroy(void *self, const char *id, const char *reason, ik_spi_cb cb, void *data, ik_err_t *err) {
  qemu_provider_t *qp = self;
  vm_t *vm = find(qp, id);
  ik_err_t e = {0};
  if (vm == NULL) {
    ik_err_set(&e, IK_ENOTFOUND, "instance %s: no such VM", id);
    return finish(qp, cb, data, NULL, &e);
  }
  waiter_t *w = IK_NEW(waiter_t);
  w->cb = cb;
  w->data = data;
  w->next = vm->waiters;
  vm->waiters = w;
  if (vm->stage != STOP_NONE) return 0; /* already stopping */
  ik_log(IK_LOG_INFO, MOD, "stopping a VM", "instance", vm->id, "reason", reason ? reason : "", NULL);
  vm->stop_timer = ik_calloc(1, sizeof *vm->stop_timer);
  uv_timer_init(&qp->loop->uv, vm->stop_timer);
  vm->stop_timer->data = vm;
  if (!alive(vm)) {
    vm->stage = STOP_KILL;
    uv_timer_start(vm->stop_timer, on_stop_timer, 0, 0); /* gone already: completes from the loop */
    return 0;
  }
  stop_next(vm);
  return 0;
}

static json_t *describe_vm(vm_t *vm, bool properties) {
  json_t *d = json_pack("{s:s, s:O, s:o}", "ID", vm->id, "LogicalID", vm->lid, "Tags", json_deep_copy(vm->tags));
  if (properties) {
    json_t *p = json_is_object(vm->props) ? json_deep_copy(vm->props) : json_object();
    json_object_set_new(p, "Ports", json_deep_copy(vm->ports));
    json_object_set_new(p, "Pid", json_integer(vm->pid));
    json_object_set_new(p, "State", json_string(vm->state));
    json_object_set_new(p, "Accel", json_string(vm->accel));
    char *console = path_in(vm, "console.log");
    json_object_set_new(p, "Console", json_string(console));
    ik_free(console);
    json_object_set_new(p, "StateDir", json_string(vm->dir));
    json_object_set_new(d, "Properties", p);
  }
  return d;
}

static int qp_describe(void *self, json_t *tags, bool properties, ik_spi_cb cb, void *data, ik_err_t *err) {
  qemu_provider_t *qp = self;
  json_t *out = json_array();
  for (vm_t *vm = qp->vms, *next; vm; vm = next) {
    next = vm->next;
    if (!vm->exit_watch && !alive(vm)) { /* no exit event: look */
      vm_gone(vm, "qemu exited");
      continue;
    }
    if (tags && !ik_instance_tags_match(vm->tags, tags)) continue;
    json_array_append_new(out, describe_vm(vm, properties));
    query_status(vm); /* the next describe shows what qemu says now */
  }
  return finish(qp, cb, data, out, NULL);
}

static int qp_watch(void *self, ik_instance_event_cb cb, void *data, ik_err_t *err) {
  return ik_watchers_add(&((qemu_provider_t *)self)->watchers, cb, data);
}

static void qp_unwatch(void *self, int token) { ik_watchers_remove(&((qemu_provider_t *)self)->watchers, token); }

static void maybe_free_provider(qemu_provider_t *qp) {
  if (!qp->freed || qp->handles > 0 || qp->booting) return;
  ik_watchers_free(&qp->watchers);
  ik_free(qp->dir);
  ik_free(qp->qemu);
  ik_free(qp->qemu_img);
  ik_free(qp->kvm_dev);
  ik_free(qp);
}

/* The VMs keep running: only our handles go. Destroys and provisions still
 * waiting are answered (cancelled); a VM still starting is left to start,
 * and the next daemon adopts it. */
static void qp_free(void *self) {
  qemu_provider_t *qp = self;
  if (qp == NULL) return;
  qp->freed = true;
  qp->handles++;
  while (qp->vms) {
    vm_t *vm = qp->vms;
    qp->vms = vm->next;
    for (waiter_t *w = vm->waiters; w; w = w->next) {
      ik_err_t e = {0};
      ik_err_set(&e, IK_ECANCELED, "instance %s: destroy cancelled: the plugin is shutting down", vm->id);
      finish(qp, w->cb, w->data, NULL, &e);
    }
    vm_release(vm);
  }
  for (vm_t *vm = qp->booting; vm; vm = vm->next) {
    if (vm->prov_cb == NULL) continue;
    ik_err_t e = {0};
    ik_err_set(&e, IK_ECANCELED, "instance %s: provision cancelled: the plugin is shutting down (the VM may still "
                                 "start; the next daemon adopts it)",
               vm->id);
    finish(qp, vm->prov_cb, vm->prov_data, NULL, &e);
    vm->prov_cb = NULL;
  }
  qp->handles--;
  maybe_free_provider(qp);
}

static const ik_instance_vtable_t qemu_vtable = {
    .kind = "qemu",
    .validate = qp_validate,
    .provision = qp_provision,
    .label = qp_label,
    .destroy = qp_destroy,
    .describe = qp_describe,
    .free = qp_free,
    .watch = qp_watch,
    .unwatch = qp_unwatch,
};

/* --- adoption ------------------------------------------------------------------------ */

/* Whether pid's command line names path (qemu's for this state dir). */
static bool cmdline_names(int pid, const char *path) {
  char file[64], buf[8192];
  snprintf(file, sizeof file, "/proc/%d/cmdline", pid);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\0') buf[i] = ' ';
  buf[n] = '\0';
  return strstr(buf, path) != NULL;
}

/* Adopt the VM of state directory name, or remove the directory when its
 * qemu is gone. */
static void adopt_dir(qemu_provider_t *qp, const char *name) {
  vm_t *vm = vm_new(qp);
  vm->id = ik_strdup(name);
  vm->dir = ik_sprintf("%s/%s", qp->dir, name);
  char *pid = read_small(vm, "pid"), *start = read_small(vm, "start_time");
  vm->pid = pid ? atoi(pid) : 0;
  vm->start = start ? strtoull(start, NULL, 10) : 0;
  ik_free(pid);
  ik_free(start);
  if (vm->pid > 0 && vm->start == 0) { /* cut short before start_time was written */
    char *qmp = path_in(vm, "qmp.sock");
    if (cmdline_names(vm->pid, qmp)) vm->start = ik_proc_start_time(vm->pid);
    ik_free(qmp);
  }
  if (!alive(vm)) {
    unsigned long long now = vm->pid > 0 ? ik_proc_start_time(vm->pid) : 0;
    ik_log(IK_LOG_INFO, MOD,
           now ? "the VM's pid now names another process: its qemu is gone; removing its state directory"
               : "the VM's qemu is gone; removing its state directory",
           "instance", vm->id, NULL);
    remove_state_dir(vm);
    vm_release(vm);
    return;
  }
  char *tags_path = path_in(vm, "tags"), *spec_path = path_in(vm, "spec.json");
  json_t *tags = json_load_file(tags_path, 0, NULL), *spec = json_load_file(spec_path, 0, NULL);
  ik_free(tags_path);
  ik_free(spec_path);
  json_t *t = json_object_get(tags, "Tags"), *lid = json_object_get(tags, "LogicalID");
  vm->tags = json_is_object(t) ? json_incref(t) : json_object();
  vm->lid = json_is_string(lid) ? json_incref(lid) : json_null();
  json_t *props = json_object_get(spec, "Properties"), *ports = json_object_get(spec, "Ports");
  vm->props = json_is_object(props) ? json_incref(props) : NULL;
  vm->ports = json_is_object(ports) ? json_incref(ports) : json_object();
  const char *accel = json_string_value(json_object_get(spec, "Accel"));
  snprintf(vm->accel, sizeof vm->accel, "%s", accel ? accel : "");
  json_decref(tags);
  json_decref(spec);
  char buf[32];
  snprintf(buf, sizeof buf, "%llu\n", vm->start);
  ik_err_t e = {0};
  write_file(vm, "start_time", buf, &e);
  vm->next = qp->vms;
  qp->vms = vm;
  ik_log(IK_LOG_INFO, MOD, "adopted a running VM", "instance", vm->id, NULL);
  watch_exit(vm);
  vm_connect_qmp(vm);
}

static void adopt(qemu_provider_t *qp) {
  DIR *d = opendir(qp->dir);
  if (d == NULL) return;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    if (strncmp(de->d_name, "qemu-", 5) != 0 || strchr(de->d_name, '/')) continue;
    char *path = ik_sprintf("%s/%s", qp->dir, de->d_name);
    struct stat st;
    bool dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
    ik_free(path);
    if (dir) adopt_dir(qp, de->d_name);
  }
  closedir(d);
}

int ik_qemu_provider_new(ik_loop_t *loop, const ik_qemu_opts_t *opts, ik_instance_plugin_t *out, ik_err_t *err) {
  const char *dir = opts->dir;
  if (dir == NULL || dir[0] != '/') return ik_err_set(err, IK_EINVAL, "instance-qemu: the state directory must be an absolute path, got %s", dir ? dir : "none");
  if (strchr(dir, ','))
    return ik_err_set(err, IK_EINVAL, "instance-qemu: the state directory %s holds a ',' (qemu's option separator); pick another", dir);
  /* DIR/qemu-XXXXXXXX/qmp.sock must fit a unix socket address. */
  if (strlen(dir) + sizeof "/qemu-12345678/qmp.sock" > 108)
    return ik_err_set(err, IK_EINVAL, "instance-qemu: the state directory %s is too long for the VMs' QMP sockets (at most %zu bytes)", dir, 108 - sizeof "/qemu-12345678/qmp.sock");
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return ik_err_set(err, IK_EIO, "instance-qemu: create %s: %s", dir, strerror(errno));
  struct stat st;
  if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) return ik_err_set(err, IK_EINVAL, "instance-qemu: %s is not a directory", dir);
  qemu_provider_t *qp = IK_NEW(qemu_provider_t);
  qp->loop = loop;
  qp->dir = ik_strdup(dir);
  qp->qemu = ik_strdup(opts->qemu ? opts->qemu : "qemu-system-x86_64");
  qp->qemu_img = ik_strdup(opts->qemu_img ? opts->qemu_img : "qemu-img");
  qp->kvm_dev = ik_strdup(opts->kvm_dev ? opts->kvm_dev : "/dev/kvm");
  qp->powerdown_ms = opts->powerdown_ms ? opts->powerdown_ms : 10000;
  qp->quit_ms = opts->quit_ms ? opts->quit_ms : 3000;
  qp->term_ms = opts->term_ms ? opts->term_ms : 3000;
  qp->qmp_timeout_ms = opts->qmp_timeout_ms ? opts->qmp_timeout_ms : 5000;
  adopt(qp);
  *out = (ik_instance_plugin_t){&qemu_vtable, qp};
  return 0;
}
