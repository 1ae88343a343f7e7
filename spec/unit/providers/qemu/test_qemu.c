/* providers/qemu: the command line built from Properties, their errors,
 * the QMP client's framing (against a fake QMP server on a unix socket),
 * and the driver itself against a fake qemu: this test binary, run with
 * IK_FAKE_QEMU set, daemonizes like qemu (-daemonize, -pidfile), serves
 * QMP on the -qmp socket and behaves as the mode says:
 *   ok        powerdown: POWERDOWN, SHUTDOWN, exit; quit: SHUTDOWN, exit
 *   deaf      ignores the ACPI button (POWERDOWN only), quits on quit
 *   stubborn  ignores powerdown, quit and SIGTERM (SIGKILL ends it)
 *   fail      says why on stderr and exits 1 at once (a bad kernel)
 * SIGUSR1 makes it emit a STOP event; $IK_FAKE_QEMU_LOG, when set, gets
 * what it was asked. As qemu-img ("create" first) it writes the overlay
 * file. Tests assert on what happened, never on how long it took. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/mem.h"
#include "loop/loop.h"
#include "loop/proc.h"
#include "providers/qemu/config.h"
#include "providers/qemu/qemu.h"
#include "providers/qemu/qmp.h"
#include "spi_slot.h"

/* --- the fake qemu (another process: plain blocking C) ------------------------- */

static volatile sig_atomic_t fake_stop_requested;
static void fake_on_usr1(int sig) { fake_stop_requested = 1; }

/* What the fake was asked, one word a line, appended to $IK_FAKE_QEMU_LOG
 * (when set): QMP commands by name (but query-status, which every describe
 * sends), "SIGTERM" when one came. */
static void fake_note(const char *what) {
  const char *path = getenv("IK_FAKE_QEMU_LOG");
  int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT, 0600) : -1;
  if (fd < 0) return;
  char line[64];
  int n = snprintf(line, sizeof line, "%s\n", what);
  if (write(fd, line, (size_t)n) != n) _exit(7);
  close(fd);
}

static void fake_on_term(int sig) { fake_note("SIGTERM"); }

static void fake_say(int fd, const char *line) {
  size_t n = strlen(line);
  while (n > 0) {
    ssize_t w = write(fd, line, n);
    if (w <= 0) return;
    line += w;
    n -= (size_t)w;
  }
}

/* Answer one client until it goes; returns true when qemu must exit. */
static bool fake_serve(int c, const char *mode) {
  static const char *status = "running";
  fake_say(c, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n");
  char buf[8192];
  size_t len = 0;
  for (;;) {
    if (fake_stop_requested) {
      fake_stop_requested = 0;
      status = "paused";
      fake_say(c, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n");
    }
    struct pollfd p = {.fd = c, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = read(c, buf + len, sizeof buf - 1 - len);
    if (n <= 0) return false;
    len += (size_t)n;
    buf[len] = '\0';
    char *nl;
    while ((nl = strchr(buf, '\n')) != NULL) {
      *nl = '\0';
      bool ok = strcmp(mode, "ok") == 0, stubborn = strcmp(mode, "stubborn") == 0;
      char *exec = strstr(buf, "\"execute\":\"");
      if (exec) {
        char name[48];
        if (sscanf(exec + 11, "%47[^\"]", name) == 1 && strcmp(name, "query-status") != 0) fake_note(name);
      }
      if (strstr(buf, "\"qmp_capabilities\"")) {
        fake_say(c, "{\"return\": {}}\r\n");
      } else if (strstr(buf, "\"query-status\"")) {
        char answer[128];
        snprintf(answer, sizeof answer, "{\"return\": {\"status\": \"%s\", \"singlestep\": false}}\r\n", status);
        fake_say(c, answer);
      } else if (strstr(buf, "\"system_powerdown\"")) {
        fake_say(c, "{\"return\": {}}\r\n");
        fake_say(c, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"POWERDOWN\"}\r\n");
        if (ok) {
          fake_say(c, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": \"SHUTDOWN\", \"data\": "
                      "{\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n");
          return true;
        }
      } else if (strstr(buf, "\"quit\"")) {
        fake_say(c, "{\"return\": {}}\r\n");
        if (!stubborn) {
          fake_say(c, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": \"SHUTDOWN\", \"data\": "
                      "{\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n");
          return true;
        }
      } else {
        fake_say(c, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command has not been found\"}}\r\n");
      }
      len -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, len + 1);
    }
  }
}

static int fake_qemu(int argc, char **argv) {
  const char *mode = getenv("IK_FAKE_QEMU");
  if (argc > 1 && strcmp(argv[1], "create") == 0) { /* qemu-img create ... OVERLAY */
    FILE *f = fopen(argv[argc - 1], "w");
    if (f == NULL) return 1;
    for (int i = 1; i < argc; i++) fprintf(f, "%s\n", argv[i]);
    fclose(f);
    return 0;
  }
  if (strcmp(mode, "fail") == 0) {
    fprintf(stderr, "qemu-system-x86_64: could not load kernel '/nope/vmlinuz': No such file or directory\n");
    return 1;
  }
  const char *qmp = NULL, *pidfile = NULL, *serial = NULL;
  for (int i = 1; i + 1 < argc; i++) {
    if (strcmp(argv[i], "-qmp") == 0) qmp = argv[i + 1] + 5; /* "unix:" */
    if (strcmp(argv[i], "-pidfile") == 0) pidfile = argv[i + 1];
    if (strcmp(argv[i], "-serial") == 0) serial = argv[i + 1] + 5; /* "file:" */
  }
  if (qmp == NULL || pidfile == NULL || serial == NULL) return 2;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%.*s", (int)(strchr(qmp, ',') - qmp), qmp);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4) < 0) return 3;
  int ready[2];
  if (pipe(ready) < 0) return 4;
  pid_t pid = fork();
  if (pid > 0) { /* the parent exits once the VM "runs", as qemu -daemonize */
    char x;
    close(ready[1]);
    return read(ready[0], &x, 1) == 1 ? 0 : 5;
  }
  setsid();
  FILE *f = fopen(pidfile, "w");
  fprintf(f, "%d\n", (int)getpid());
  fclose(f);
  f = fopen(serial, "w");
  fprintf(f, "fake console: booted\n");
  fclose(f);
  signal(SIGUSR1, fake_on_usr1);
  signal(SIGPIPE, SIG_IGN);                                         /* as qemu: a client that hangs up is no reason to die */
  if (strcmp(mode, "stubborn") == 0) signal(SIGTERM, fake_on_term); /* noted, then ignored */
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0), dup2(null, 1), dup2(null, 2);
  if (write(ready[1], "x", 1) != 1) return 6;
  close(ready[1]);
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0) continue;
    bool quit = fake_serve(c, mode);
    close(c);
    if (quit) return 0;
  }
}

/* --- fixture ---------------------------------------------------------------------- */

typedef struct fixture {
  ik_loop_t loop;
  char dir[64];
  char self[4096];
  ik_instance_plugin_t pl;
  bool open;
  uint64_t qmp_timeout_ms; /* 0: 2000 */
  int events;
  char last_event[256];
  char last_why[256];
  uv_timer_t tick;
} fixture_t;

#include "driver_fixture.h"

static void open_provider(fixture_t *fx) {
  ik_err_t err = {0};
  char state[128];
  snprintf(state, sizeof state, "%s/vms", fx->dir);
  ik_qemu_opts_t o = {.dir = state,
                      .qemu = fx->self,
                      .qemu_img = fx->self,
                      .kvm_dev = "/nonexistent/kvm",
                      .powerdown_ms = 300,
                      .quit_ms = 300,
                      .term_ms = 300,
                      .qmp_timeout_ms = fx->qmp_timeout_ms ? fx->qmp_timeout_ms : 2000};
  assert_int_equal(ik_qemu_provider_new(&fx->loop, &o, &fx->pl, &err), 0);
  fx->open = true;
}

static void close_provider(fixture_t *fx) {
  if (!fx->open) return;
  fx->pl.vt->free(fx->pl.self);
  fx->open = false;
  for (int i = 0; i < 20; i++) uv_run(&fx->loop.uv, UV_RUN_NOWAIT);
}

static int setup(void **state) {
  fixture_t *fx = fixture_open("/tmp/ikq-XXXXXX");
  if (fx == NULL) return -1;
  ssize_t n = readlink("/proc/self/exe", fx->self, sizeof fx->self - 1);
  if (n <= 0) return -1;
  fx->self[n] = '\0';
  setenv("IK_FAKE_QEMU", "ok", 1);
  *state = fx;
  return 0;
}

/* Every fake qemu started for dir (its command line names it), killed:
 * tests leak no process, even when one fails half-way. */
static void kill_fakes(const char *dir) {
  DIR *d = opendir("/proc");
  if (d == NULL) return;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    int pid = atoi(de->d_name);
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = pid > 0 ? open(path, O_RDONLY) : -1;
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] == '\0') buf[i] = ' ';
    buf[n > 0 ? n : 0] = '\0';
    if (pid != getpid() && strstr(buf, dir) && strstr(buf, "-daemonize")) kill(pid, SIGKILL);
  }
  closedir(d);
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  kill_fakes(fx->dir);
  close_provider(fx);
  return fixture_close(fx);
}

static const char *kernel_spec(fixture_t *fx, char *buf, size_t n, const char *extra) {
  char kernel[128];
  snprintf(kernel, sizeof kernel, "%s/vmlinuz", fx->dir);
  FILE *f = fopen(kernel, "w");
  fputs("kernel", f);
  fclose(f);
  snprintf(buf, n, "{\"Properties\": {\"Kernel\": \"%s\", \"Ports\": [80]}%s}", kernel, extra ? extra : "");
  return buf;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return NULL;
  char *buf = ik_calloc(1, 65536);
  size_t n = fread(buf, 1, 65535, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static bool exists(const char *dir, const char *id, const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/vms/%s%s%s", dir, id, name ? "/" : "", name ? name : "");
  return access(path, F_OK) == 0;
}

/* Run the loop until describe shows instance id in State want (or fail). */
static void wait_state(fixture_t *fx, const char *id, const char *want) {
  char seen[64] = "";
  for (int i = 0; i < 20000 && strcmp(seen, want) != 0; i++) {
    json_t *list = describe(fx, NULL, true);
    const char *state = json_string_value(json_object_get(props_of(list, id), "State"));
    snprintf(seen, sizeof seen, "%s", state ? state : "(not described)");
    json_decref(list);
    if (strcmp(seen, want) != 0) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  }
  assert_string_equal(seen, want);
}

/* Wait (running the loop) until pid is gone or a zombie. */
static void wait_gone(fixture_t *fx, int pid) {
  for (int i = 0; i < 400 && ik_proc_start_time(pid) != 0; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_int_equal(ik_proc_start_time(pid), 0);
}

/* --- the command line ------------------------------------------------------------------ */

static void command_line_from_properties(void **state) {
  (void)state;
  static const struct {
    const char *props, *accel;
    bool disk, init;
    const char *want;
  } cases[] = {
      {"{\"Kernel\": \"/k\"}", "tcg", false, false,
       "qemu -name qemu-1 -accel tcg -m 256 -smp 1 -display none -monitor none -no-reboot -kernel /k -append "
       "console=ttyS0 -nic user,model=virtio-net-pci -qmp unix:/s/qmp.sock,server=on,wait=off -serial "
       "file:/s/console.log -pidfile /s/pid -daemonize"},
      {"{\"Kernel\": \"/k\", \"Initrd\": \"/i\", \"Cmdline\": \"console=ttyS0 quiet\", \"Memory\": 512, \"CPUs\": 2}",
       "kvm", false, true,
       "qemu -name qemu-1 -accel kvm -m 512 -smp 2 -display none -monitor none -no-reboot -kernel /k -initrd /i "
       "-append console=ttyS0 quiet -nic user,model=virtio-net-pci -fw_cfg name=opt/infrakit/init,file=/s/init -qmp "
       "unix:/s/qmp.sock,server=on,wait=off -serial file:/s/console.log -pidfile /s/pid -daemonize"},
      {"{\"Disk\": \"/base.img\", \"Ports\": [80, 22]}", "tcg", true, false,
       "qemu -name qemu-1 -accel tcg -m 256 -smp 1 -display none -monitor none -no-reboot -drive "
       "file=/s/disk.qcow2,format=qcow2,if=virtio -nic "
       "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:40080-:80,hostfwd=tcp:127.0.0.1:40022-:22 -qmp "
       "unix:/s/qmp.sock,server=on,wait=off -serial file:/s/console.log -pidfile /s/pid -daemonize"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *props = json_loads(cases[i].props, 0, NULL);
    ik_qemu_config_t c;
    ik_err_t err = {0};
    assert_int_equal(ik_qemu_config_parse(props, false, &c, &err), 0);
    /* Host ports as the driver resolves them: 40000 + guest port here. */
    json_t *ports = json_object();
    const char *guest;
    json_t *host;
    json_object_foreach(c.ports, guest, host) json_object_set_new(ports, guest, json_integer(40000 + atoi(guest)));
    ik_qemu_launch_t l = {.name = "qemu-1", .state_dir = "/s", .accel = cases[i].accel, .ports = ports, .has_disk = cases[i].disk, .has_init = cases[i].init};
    json_t *argv = ik_qemu_argv("qemu", &c, &l);
    char got[2048] = "";
    size_t j;
    json_t *a;
    json_array_foreach(argv, j, a) {
      if (j) strcat(got, " ");
      strcat(got, json_string_value(a));
    }
    if (strcmp(got, cases[i].want) != 0) fail_msg("case %zu:\n got  %s\n want %s", i, got, cases[i].want);
    json_decref(argv);
    json_decref(ports);
    ik_qemu_config_free(&c);
    json_decref(props);
  }
}

static void ports_as_a_list_or_an_object(void **state) {
  (void)state;
  json_t *props = json_loads("{\"Kernel\": \"/k\", \"Ports\": {\"80\": 8080, \"443\": 0}}", 0, NULL);
  ik_qemu_config_t c;
  ik_err_t err = {0};
  assert_int_equal(ik_qemu_config_parse(props, false, &c, &err), 0);
  char *got = json_dumps(c.ports, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(got, "{\"443\":0,\"80\":8080}");
  free(got);
  ik_qemu_config_free(&c);
  json_decref(props);
}

static void bad_properties_name_the_field(void **state) {
  (void)state;
  static const struct {
    const char *props, *want;
  } cases[] = {
      {"[]", "Properties: want an object"},
      {"{}", "Properties.Kernel: missing"},
      {"{\"Kernel\": 3}", "Properties.Kernel: want a string"},
      {"{\"Kernel\": \"\"}", "Properties.Kernel: empty"},
      {"{\"Disk\": \"/d\", \"Initrd\": \"/i\"}", "Properties.Initrd: needs a Kernel"},
      {"{\"Kernel\": \"/k\", \"Memory\": \"lots\"}", "Properties.Memory: want a whole number of MiB from 16 to 1048576, got \"lots\""},
      {"{\"Kernel\": \"/k\", \"Memory\": 8}", "Properties.Memory: want a whole number of MiB"},
      {"{\"Kernel\": \"/k\", \"Memory\": 256.5}", "Properties.Memory: want a whole number"},
      {"{\"Kernel\": \"/k\", \"CPUs\": 0}", "Properties.CPUs: want a whole number of CPUs from 1 to 255, got 0"},
      {"{\"Kernel\": \"/k\", \"Accel\": \"hvf\"}", "Properties.Accel: want \"auto\", \"tcg\" or \"kvm\", got \"hvf\""},
      {"{\"Kernel\": \"/k\", \"Ports\": [0]}", "Properties.Ports[0]: want a guest TCP port from 1 to 65535, got 0"},
      {"{\"Kernel\": \"/k\", \"Ports\": [80, \"22\"]}", "Properties.Ports[1]: want a guest TCP port"},
      {"{\"Kernel\": \"/k\", \"Ports\": {\"http\": 80}}", "Properties.Ports: key \"http\": want a guest TCP port"},
      {"{\"Kernel\": \"/k\", \"Ports\": {\"80\": 70000}}", "Properties.Ports.80: want a host port from 1 to 65535, or 0"},
      {"{\"Kernel\": \"/k\", \"Ports\": \"80\"}", "Properties.Ports: want a list of guest ports"},
      {"{\"Kernel\": \"/k\", \"Checksum\": 12}", "Properties.Checksum: want a string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *props = json_loads(cases[i].props, 0, NULL);
    ik_qemu_config_t c;
    ik_err_t err = {0};
    assert_int_equal(ik_qemu_config_parse(props, false, &c, &err), IK_EINVAL);
    if (strstr(err.msg, cases[i].want) == NULL) fail_msg("case %zu: %s\n got  %s\n want %s", i, cases[i].props, err.msg, cases[i].want);
    json_decref(props);
  }
  /* With the files checked: a missing kernel is named with its path. */
  json_t *props = json_loads("{\"Kernel\": \"/nonexistent/vmlinuz\"}", 0, NULL);
  ik_qemu_config_t c;
  ik_err_t err = {0};
  assert_int_equal(ik_qemu_config_parse(props, true, &c, &err), IK_EINVAL);
  assert_string_equal(err.msg, "Properties.Kernel: /nonexistent/vmlinuz: No such file or directory");
  json_decref(props);
}

static void accel_auto_is_kvm_only_when_usable(void **state) {
  (void)state;
  ik_err_t err = {0};
  assert_string_equal(ik_qemu_accel("auto", "/nonexistent/kvm", &err), "tcg");
  assert_string_equal(ik_qemu_accel(NULL, "/nonexistent/kvm", &err), "tcg");
  assert_string_equal(ik_qemu_accel("tcg", "/dev/null", &err), "tcg");
  assert_string_equal(ik_qemu_accel("auto", "/dev/null", &err), "kvm"); /* opens read-write: usable */
  assert_string_equal(ik_qemu_accel("kvm", "/dev/null", &err), "kvm");
  assert_null(ik_qemu_accel("kvm", "/nonexistent/kvm", &err));
  assert_string_equal(err.msg, "Properties.Accel: kvm: /nonexistent/kvm: No such file or directory (use \"tcg\", or "
                               "\"auto\" to fall back to it)");
}

/* --- QMP framing, against a fake server in this loop --------------------------------------- */

typedef struct qmp_fx {
  fixture_t *fx;
  uv_pipe_t server, conn;
  bool have_conn;
  uv_timer_t pace;
  const char *chunks[16]; /* written one per 10 ms, in order */
  int nchunks, next_chunk;
  char got[4096]; /* what the client sent */
  int ready, ready_err, events, replies, closed;
  char log[2048]; /* what the client saw, in order */
  ik_qmp_t *q;
} qmp_fx_t;

static void qmp_log(qmp_fx_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qmp_log(qmp_fx_t *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = strlen(t->log);
  vsnprintf(t->log + n, sizeof t->log - n, fmt, ap);
  va_end(ap);
}

static void on_written(uv_write_t *req, int status) {
  ik_free(req->data);
  ik_free(req);
}

static void on_pace(uv_timer_t *timer) {
  qmp_fx_t *t = timer->data;
  if (t->next_chunk >= t->nchunks || !t->have_conn) return;
  const char *c = t->chunks[t->next_chunk++];
  if (c == NULL) { /* NULL: hang up */
    uv_close((uv_handle_t *)&t->conn, NULL);
    t->have_conn = false;
    return;
  }
  uv_write_t *req = IK_NEW(uv_write_t);
  size_t n = strlen(c);
  uv_buf_t b = uv_buf_init(ik_memdup(c, n), (unsigned)n);
  req->data = b.base;
  uv_write(req, (uv_stream_t *)&t->conn, &b, 1, on_written);
}

static void queue(qmp_fx_t *t, const char *chunk) { t->chunks[t->nchunks++] = chunk; }

static void srv_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
  static char buf[4096];
  *b = uv_buf_init(buf, sizeof buf);
}

static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  qmp_fx_t *t = s->data;
  if (n <= 0) return;
  size_t len = strlen(t->got);
  snprintf(t->got + len, sizeof t->got - len, "%.*s", (int)n, b->base);
}

static void on_srv_conn(uv_stream_t *server, int status) {
  qmp_fx_t *t = server->data;
  uv_pipe_init(&t->fx->loop.uv, &t->conn, 0);
  t->conn.data = t;
  uv_accept(server, (uv_stream_t *)&t->conn);
  t->have_conn = true;
  uv_read_start((uv_stream_t *)&t->conn, srv_alloc, srv_read);
}

static void c_ready(ik_qmp_t *q, const ik_err_t *err, void *data) {
  qmp_fx_t *t = data;
  t->ready++;
  if (err) {
    t->ready_err = err->code;
    t->q = NULL;
    qmp_log(t, "ready-error(%s);", err->msg);
  } else {
    qmp_log(t, "ready;");
  }
}

static void c_event(ik_qmp_t *q, const char *name, json_t *payload, void *data) {
  qmp_fx_t *t = data;
  t->events++;
  char *p = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  qmp_log(t, "event %s %s;", name, p ? p : "-");
  free(p);
}

static void c_closed(ik_qmp_t *q, const char *why, void *data) {
  qmp_fx_t *t = data;
  t->closed++;
  t->q = NULL;
  qmp_log(t, "closed(%s);", why);
}

static void c_reply(ik_qmp_t *q, json_t *ret, const ik_err_t *err, void *data) {
  qmp_fx_t *t = data;
  t->replies++;
  if (err) {
    qmp_log(t, "error(%s);", err->msg);
  } else {
    char *r = json_dumps(ret, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    qmp_log(t, "return %s;", r);
    free(r);
  }
}

static void qmp_fx_start(fixture_t *fx, qmp_fx_t *t, bool listen) {
  memset(t, 0, sizeof *t);
  t->fx = fx;
  uv_timer_init(&fx->loop.uv, &t->pace);
  t->pace.data = t;
  uv_timer_start(&t->pace, on_pace, 10, 10);
  if (!listen) return;
  char path[128];
  snprintf(path, sizeof path, "%s/qmp.sock", fx->dir);
  unlink(path); /* the previous server's */
  uv_pipe_init(&fx->loop.uv, &t->server, 0);
  t->server.data = t;
  assert_int_equal(uv_pipe_bind(&t->server, path), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&t->server, 4, on_srv_conn), 0);
}

static void qmp_fx_stop(qmp_fx_t *t, bool listened) {
  ik_qmp_close(t->q);
  if (t->have_conn) uv_close((uv_handle_t *)&t->conn, NULL);
  if (listened) uv_close((uv_handle_t *)&t->server, NULL);
  uv_close((uv_handle_t *)&t->pace, NULL);
  for (int i = 0; i < 10; i++) uv_run(&t->fx->loop.uv, UV_RUN_NOWAIT);
}

static void connect_client(fixture_t *fx, qmp_fx_t *t, uint64_t timeout_ms) {
  static const ik_qmp_handlers_t h = {c_ready, c_event, c_closed};
  char path[128];
  snprintf(path, sizeof path, "%s/qmp.sock", fx->dir);
  ik_err_t err = {0};
  assert_int_equal(ik_qmp_connect(&fx->loop, path, timeout_ms, &h, t, &t->q, &err), 0);
}

/* Partial lines, several messages in one read, the greeting, return,
 * error and event lines, and the end of the connection. */
static void qmp_framing(void **state) {
  fixture_t *fx = *state;
  qmp_fx_t t;
  qmp_fx_start(fx, &t, true);
  /* The greeting in three pieces (one cut inside a string). */
  queue(&t, "{\"QMP\": {\"version\": {\"qemu\": {\"ma");
  queue(&t, "jor\": 7}}, \"capab");
  queue(&t, "ilities\": []}}\r\n");
  connect_client(fx, &t, 2000);
  for (int i = 0; i < 1000 && strstr(t.got, "qmp_capabilities") == NULL; i++) uv_run(&fx->loop.uv, UV_RUN_ONCE);
  assert_non_null(strstr(t.got, "{\"execute\":\"qmp_capabilities\""));
  assert_int_equal(t.ready, 0); /* not before capabilities are answered */
  /* The answer and an event in one write. */
  queue(&t, "{\"return\": {}}\r\n{\"timestamp\": {\"seconds\": 1}, \"event\": \"STOP\"}\r\n");
  run_until(fx, &t.ready, 1);
  run_until(fx, &t.events, 1);
  ik_err_t err = {0};
  assert_int_equal(ik_qmp_execute(t.q, "query-status", NULL, c_reply, &t, &err), 0);
  json_t *args = json_pack("{s:b}", "force", 1);
  assert_int_equal(ik_qmp_execute(t.q, "bogus", args, c_reply, &t, &err), 0);
  json_decref(args);
  /* Two answers: the first split across writes, the second with an event before it. */
  queue(&t, "{\"return\": {\"status\": \"pau");
  queue(&t, "sed\", \"running\": false}}\n{\"event\": \"RESUME\", \"data\": {\"x\": 1}}\n{\"error\": {\"class\": "
            "\"CommandNotFound\", \"desc\": \"The command bogus has not been found\"}}\n");
  run_until(fx, &t.replies, 2);
  assert_non_null(strstr(t.got, "{\"execute\":\"bogus\",\"id\":3,\"arguments\":{\"force\":true}}\n"));
  /* A command still waiting when qemu hangs up is answered with an error. */
  assert_int_equal(ik_qmp_execute(t.q, "query-status", NULL, c_reply, &t, &err), 0);
  queue(&t, NULL);
  run_until(fx, &t.closed, 1);
  assert_string_equal(t.log, "ready;event STOP -;return {\"running\":false,\"status\":\"paused\"};event RESUME "
                             "{\"x\":1};error(QMP bogus: CommandNotFound: The command bogus has not been "
                             "found);error(QMP query-status: connection closed by qemu);closed(connection closed by "
                             "qemu);");
  assert_null(t.q); /* the client freed itself after closed */
  qmp_fx_stop(&t, true);
}

static void qmp_handshake_failures(void **state) {
  fixture_t *fx = *state;
  qmp_fx_t t;
  /* Nobody listens. */
  qmp_fx_start(fx, &t, false);
  connect_client(fx, &t, 2000);
  run_until(fx, &t.ready, 1);
  assert_int_equal(t.ready_err, UV_ENOENT);
  qmp_fx_stop(&t, false);
  /* Something that is not QMP. */
  qmp_fx_start(fx, &t, true);
  queue(&t, "HTTP/1.1 400 Bad Request\r\n");
  connect_client(fx, &t, 2000);
  run_until(fx, &t.ready, 1);
  assert_int_equal(t.ready_err, IK_EIO);
  assert_non_null(strstr(t.log, "protocol error: not a JSON object: HTTP/1.1 400"));
  qmp_fx_stop(&t, true);
  /* A server that never greets (qemu busy with another client). */
  qmp_fx_start(fx, &t, true);
  connect_client(fx, &t, 100);
  run_until(fx, &t.ready, 1);
  assert_int_equal(t.ready_err, IK_ETIMEDOUT);
  assert_non_null(strstr(t.log, "another client may hold the socket"));
  qmp_fx_stop(&t, true);
}

/* --- the driver, against the fake qemu ------------------------------------------------------ */

static void a_vm_boots_with_its_files_and_is_described(void **state) {
  fixture_t *fx = *state;
  open_provider(fx);
  char spec[1024];
  kernel_spec(fx, spec, sizeof spec,
              ", \"Tags\": {\"infrakit.group\": \"vms\"}, \"LogicalID\": \"vm-1\", \"Init\": \"echo 'it''s' \\\"quoted\\\"\"");
  char *id = provision(fx, spec);
  assert_int_equal(strncmp(id, "qemu-", 5), 0);
  assert_int_equal(strlen(id), 13);
  json_t *list = describe(fx, NULL, true);
  assert_int_equal(json_array_size(list), 1);
  json_t *d = json_array_get(list, 0);
  assert_string_equal(json_string_value(json_object_get(d, "LogicalID")), "vm-1");
  assert_string_equal(json_string_value(json_object_get(json_object_get(d, "Tags"), "infrakit.group")), "vms");
  json_t *p = json_object_get(d, "Properties");
  json_int_t host = json_integer_value(json_object_get(json_object_get(p, "Ports"), "80"));
  assert_true(host > 0 && host < 65536);
  assert_true(json_integer_value(json_object_get(p, "Pid")) > 0);
  assert_string_equal(json_string_value(json_object_get(p, "State")), "running");
  assert_string_equal(json_string_value(json_object_get(p, "Accel")), "tcg");
  char path[256];
  snprintf(path, sizeof path, "%s/vms/%s/console.log", fx->dir, id);
  assert_string_equal(json_string_value(json_object_get(p, "Console")), path);
  /* The Init went to a file, byte for byte, and fw_cfg names it. */
  snprintf(path, sizeof path, "%s/vms/%s/init", fx->dir, id);
  char *init = slurp(path);
  assert_string_equal(init, "echo 'it''s' \"quoted\"");
  ik_free(init);
  snprintf(path, sizeof path, "%s/vms/%s/cmdline", fx->dir, id);
  char *cmdline = slurp(path), want[512];
  snprintf(want, sizeof want, "-fw_cfg\nname=opt/infrakit/init,file=%s/vms/%s/init\n", fx->dir, id);
  assert_non_null(strstr(cmdline, want));
  snprintf(want, sizeof want, "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%lld-:80\n", (long long)host);
  assert_non_null(strstr(cmdline, want));
  ik_free(cmdline);
  assert_true(exists(fx->dir, id, "tags") && exists(fx->dir, id, "start_time") && exists(fx->dir, id, "pid"));
  /* Tags filter and label. */
  json_t *tags = json_pack("{s:s}", "infrakit.group", "other");
  json_t *none = describe(fx, tags, false);
  assert_int_equal(json_array_size(none), 0);
  json_decref(none);
  json_object_set_new(tags, "infrakit.group", json_string("vms"));
  slot_t s = {0};
  json_t *labels = json_pack("{s:s}", "infrakit.config.hash", "abc");
  CALL(fx, &s, fx->pl.vt->label(fx->pl.self, id, labels, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  json_t *one = describe(fx, labels, false);
  assert_int_equal(json_array_size(one), 1);
  json_decref(one);
  json_decref(labels);
  json_decref(tags);
  json_decref(list);
  ik_free(id);
}

static void a_disk_boots_from_its_own_overlay(void **state) {
  fixture_t *fx = *state;
  open_provider(fx);
  char base[128], spec[512];
  snprintf(base, sizeof base, "%s/base.img", fx->dir);
  FILE *f = fopen(base, "w");
  fputs("QFI\xfb-a-qcow2-image", f);
  fclose(f);
  snprintf(spec, sizeof spec, "{\"Properties\": {\"Disk\": \"%s\", \"Checksum\": \"sha256:1\"}}", base);
  char *id = provision(fx, spec);
  char path[256], want[512];
  snprintf(path, sizeof path, "%s/vms/%s/disk.qcow2", fx->dir, id);
  char *overlay = slurp(path); /* the fake qemu-img wrote its arguments there */
  snprintf(want, sizeof want, "create\n-q\n-f\nqcow2\n-b\n%s\n-F\nqcow2\n%s\n", base, path);
  assert_string_equal(overlay, want);
  ik_free(overlay);
  snprintf(path, sizeof path, "%s/vms/%s/cmdline", fx->dir, id);
  char *cmdline = slurp(path);
  snprintf(want, sizeof want, "-drive\nfile=%s/vms/%s/disk.qcow2,format=qcow2,if=virtio\n", fx->dir, id);
  assert_non_null(strstr(cmdline, want));
  ik_free(cmdline);
  json_t *list = describe(fx, NULL, true);
  assert_string_equal(json_string_value(json_object_get(props_of(list, id), "Checksum")), "sha256:1");
  json_decref(list);
  ik_free(id);
}

/* qemu -daemonize moves to /: a relative Kernel reaches it absolute. */
static void relative_paths_are_made_absolute(void **state) {
  fixture_t *fx = *state;
  open_provider(fx);
  char spec[512], cwd[4096], real[4096], path[256], want[4200];
  kernel_spec(fx, spec, sizeof spec, NULL); /* writes DIR/vmlinuz */
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(fx->dir), 0);
  char *id = provision(fx, "{\"Properties\": {\"Kernel\": \"./vmlinuz\"}}");
  assert_int_equal(chdir(cwd), 0);
  snprintf(path, sizeof path, "%s/vms/%s/cmdline", fx->dir, id);
  char *cmdline = slurp(path);
  assert_non_null(realpath(fx->dir, real));
  snprintf(want, sizeof want, "-kernel\n%s/vmlinuz\n", real);
  assert_non_null(strstr(cmdline, want));
  ik_free(cmdline);
  ik_free(id);
}

static void a_vm_that_cannot_start_says_why(void **state) {
  fixture_t *fx = *state;
  open_provider(fx);
  setenv("IK_FAKE_QEMU", "fail", 1);
  char spec[512];
  ik_err_t err = {0};
  char *id = try_provision(fx, kernel_spec(fx, spec, sizeof spec, NULL), &err);
  assert_null(id);
  assert_int_equal(err.code, IK_EDRIVER);
  assert_string_equal(err.msg, "qemu exited with status 1: qemu-system-x86_64: could not load kernel "
                               "'/nope/vmlinuz': No such file or directory");
  json_t *list = describe(fx, NULL, false);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/vms)\"", fx->dir);
  assert_int_equal(system(cmd), 0); /* no state directory left */
  /* Accel kvm where there is none: refused before anything starts. */
  setenv("IK_FAKE_QEMU", "ok", 1);
  char kernel[128], bad[512];
  snprintf(kernel, sizeof kernel, "%s/vmlinuz", fx->dir);
  snprintf(bad, sizeof bad, "{\"Properties\": {\"Kernel\": \"%s\", \"Accel\": \"kvm\"}}", kernel);
  json_t *spec_json = json_loads(bad, 0, NULL);
  ik_err_t e = {0};
  assert_int_equal(fx->pl.vt->provision(fx->pl.self, spec_json, on_slot, NULL, &e), IK_EINVAL);
  assert_non_null(strstr(e.msg, "Properties.Accel: kvm: /nonexistent/kvm"));
  assert_int_equal(fx->pl.vt->validate(fx->pl.self, json_object_get(spec_json, "Properties"), on_slot, NULL, &e), IK_EINVAL);
  json_decref(spec_json);
}

static void a_killed_vm_tells_watchers_at_once(void **state) {
  fixture_t *fx = *state;
  open_provider(fx);
  ik_err_t err = {0};
  int token = fx->pl.vt->watch(fx->pl.self, on_event, fx, &err);
  assert_true(token > 0);
  char spec[512];
  char *id = provision(fx, kernel_spec(fx, spec, sizeof spec, NULL));
  int pid = pid_of(fx, id);
  /* A QMP event first: STOP. */
  kill(pid, SIGUSR1);
  run_until(fx, &fx->events, 1);
  assert_string_equal(fx->last_event, id);
  assert_string_equal(fx->last_why, "qemu: STOP (paused)");
  json_t *list = describe(fx, NULL, true);
  assert_string_equal(json_string_value(json_object_get(props_of(list, id), "State")), "paused");
  json_decref(list);
  /* Then SIGKILL: gone, said at once, its directory removed. */
  kill(pid, SIGKILL);
  run_until(fx, &fx->events, 2);
  assert_string_equal(fx->last_event, id);
  assert_string_equal(fx->last_why, "qemu exited");
  list = describe(fx, NULL, false);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  assert_false(exists(fx->dir, id, NULL));
  fx->pl.vt->unwatch(fx->pl.self, token);
  ik_free(id);
}

static void destroy(fixture_t *fx, const char *id) {
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, id, "terminate", on_slot, &s, &e_));
  if (s.err.code) fail_msg("destroy: %s", s.err.msg);
  slot_clear(&s);
}

/* The guest powers down at the ACPI button (mode ok); a deaf one is quit;
 * a stubborn qemu is signalled to death (SIGTERM ignored, then SIGKILL).
 * Each time destroy answers once qemu is gone, its state dir with it. */
static void destroy_powers_down_then_quits_then_kills(void **state) {
  fixture_t *fx = *state;
  open_provider(fx);
  static const struct {
    const char *mode, *asked;
  } cases[] = {
      {"ok", "qmp_capabilities\nsystem_powerdown\n"},
      {"deaf", "qmp_capabilities\nsystem_powerdown\nquit\n"},
      {"stubborn", "qmp_capabilities\nsystem_powerdown\nquit\nSIGTERM\n"},
  };
  char journal[128];
  snprintf(journal, sizeof journal, "%s/asked.log", fx->dir);
  setenv("IK_FAKE_QEMU_LOG", journal, 1);
  for (size_t i = 0; i < 3; i++) {
    setenv("IK_FAKE_QEMU", cases[i].mode, 1);
    unlink(journal);
    char spec[512];
    char *id = provision(fx, kernel_spec(fx, spec, sizeof spec, NULL));
    int pid = pid_of(fx, id);
    destroy(fx, id);
    assert_int_equal(ik_proc_start_time(pid), 0);
    assert_false(exists(fx->dir, id, NULL));
    char *asked = slurp(journal);
    if (asked == NULL || strcmp(asked, cases[i].asked) != 0)
      fail_msg("%s: qemu was asked:\n%s\nwant:\n%s", cases[i].mode, asked ? asked : "(nothing)", cases[i].asked);
    ik_free(asked);
    ik_free(id);
  }
  unsetenv("IK_FAKE_QEMU_LOG");
  slot_t s = {0};
  CALL(fx, &s, fx->pl.vt->destroy(fx->pl.self, "qemu-nope", "terminate", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  slot_clear(&s);
}

/* A restarted daemon adopts a VM whose qemu runs with the recorded start
 * time, and removes the state of one that is gone or whose pid now names
 * another process. */
static void a_new_provider_adopts_running_vms_and_cleans_gone_ones(void **state) {
  fixture_t *fx = *state;
  open_provider(fx);
  char spec[512];
  char *live = provision(fx, kernel_spec(fx, spec, sizeof spec, ", \"LogicalID\": \"keep\""));
  char *dead = provision(fx, kernel_spec(fx, spec, sizeof spec, NULL));
  char *reused = provision(fx, kernel_spec(fx, spec, sizeof spec, NULL));
  int dead_pid = pid_of(fx, dead), reused_pid = pid_of(fx, reused), live_pid = pid_of(fx, live);
  close_provider(fx);
  kill(dead_pid, SIGKILL);
  for (int i = 0; i < 200 && ik_proc_start_time(dead_pid) != 0; i++) usleep(5000);
  /* reused: the pid is alive but its start time is not the recorded one. */
  char path[256];
  snprintf(path, sizeof path, "%s/vms/%s/start_time", fx->dir, reused);
  FILE *f = fopen(path, "w");
  fputs("1\n", f);
  fclose(f);
  open_provider(fx);
  json_t *list = describe(fx, NULL, true);
  assert_int_equal(json_array_size(list), 1);
  json_t *p = props_of(list, live);
  assert_non_null(p);
  assert_int_equal(json_integer_value(json_object_get(p, "Pid")), live_pid);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "LogicalID")), "keep");
  json_decref(list);
  assert_false(exists(fx->dir, dead, NULL));
  assert_false(exists(fx->dir, reused, NULL));
  kill(reused_pid, SIGKILL); /* not ours any more: the test cleans it up */
  /* The adopted VM is reachable over QMP again: State comes back from qemu, and destroy works. */
  wait_state(fx, live, "running");
  destroy(fx, live);
  wait_gone(fx, live_pid);
  ik_free(live);
  ik_free(dead);
  ik_free(reused);
}

/* qemu serves one QMP client at a time: a VM whose socket another client
 * holds is adopted anyway (pid and start time), shown unreachable, and
 * reached once the other client lets go. */
static void a_vm_whose_qmp_is_held_is_reached_when_it_is_let_go(void **state) {
  fixture_t *fx = *state;
  open_provider(fx);
  char spec[512];
  char *id = provision(fx, kernel_spec(fx, spec, sizeof spec, NULL));
  close_provider(fx);
  /* Another client takes QMP (and reads the greeting, as it would). */
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s/vms/%s/qmp.sock", fx->dir, id);
  int other = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_int_equal(connect(other, (struct sockaddr *)&a, sizeof a), 0);
  char greeting[256];
  assert_true(read(other, greeting, sizeof greeting) > 0);
  fx->qmp_timeout_ms = 200;
  open_provider(fx);
  wait_state(fx, id, "qmp-unreachable");
  close(other);
  wait_state(fx, id, "running");
  destroy(fx, id); /* through QMP again: powerdown */
  ik_free(id);
}

int main(int argc, char **argv) {
  if (getenv("IK_FAKE_QEMU") && argc > 1) return fake_qemu(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(command_line_from_properties),
      cmocka_unit_test(ports_as_a_list_or_an_object),
      cmocka_unit_test(bad_properties_name_the_field),
      cmocka_unit_test(accel_auto_is_kvm_only_when_usable),
      cmocka_unit_test_setup_teardown(qmp_framing, setup, teardown),
      cmocka_unit_test_setup_teardown(qmp_handshake_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(a_vm_boots_with_its_files_and_is_described, setup, teardown),
      cmocka_unit_test_setup_teardown(a_disk_boots_from_its_own_overlay, setup, teardown),
      cmocka_unit_test_setup_teardown(relative_paths_are_made_absolute, setup, teardown),
      cmocka_unit_test_setup_teardown(a_vm_that_cannot_start_says_why, setup, teardown),
      cmocka_unit_test_setup_teardown(a_killed_vm_tells_watchers_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(destroy_powers_down_then_quits_then_kills, setup, teardown),
      cmocka_unit_test_setup_teardown(a_new_provider_adopts_running_vms_and_cleans_gone_ones, setup, teardown),
      cmocka_unit_test_setup_teardown(a_vm_whose_qmp_is_held_is_reached_when_it_is_let_go, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
