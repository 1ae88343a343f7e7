/* instance-qemu's Properties and command line (config.h). */
#include "providers/qemu/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"

/* A whole number in [lo, hi] at props[key]: def when absent. */
static int whole(const json_t *props, const char *key, const char *what, int64_t lo, int64_t hi, int64_t def,
                 int64_t *out, ik_err_t *err) {
  json_t *v = ik_json_get(props, key);
  *out = def;
  if (v == NULL) return 0;
  double d = json_is_number(v) ? json_number_value(v) : NAN;
  char path[64];
  snprintf(path, sizeof path, "Properties.%s", key);
  if (!json_is_number(v) || d != floor(d) || d < (double)lo || d > (double)hi) return ik_json_want(err, path, what, v, true);
  *out = (int64_t)d;
  return 0;
}

/* A string at props[key] (NULL when absent); refused when empty. */
static int string(const json_t *props, const char *key, const char **out, ik_err_t *err) {
  char path[64];
  snprintf(path, sizeof path, "Properties.%s", key);
  ik_err_t e = {0};
  *out = ik_json_get_string(props, key, NULL, path, &e);
  if (e.code) return ik_err_set(err, IK_EINVAL, "%s", e.msg);
  if (*out && **out == '\0') return ik_err_set(err, IK_EINVAL, "%s: empty; leave it out or name something", path);
  return 0;
}

static int check_file(const char *key, const char *path, ik_err_t *err) {
  struct stat st;
  if (stat(path, &st) < 0) return ik_err_set(err, IK_EINVAL, "Properties.%s: %s: %s", key, path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return ik_err_set(err, IK_EINVAL, "Properties.%s: %s: not a regular file", key, path);
  if (access(path, R_OK) < 0) return ik_err_set(err, IK_EINVAL, "Properties.%s: %s: %s", key, path, strerror(errno));
  return 0;
}

static bool port_number(double d) { return d == floor(d) && d >= 1 && d <= 65535; }

/* Ports: [80, 22] or {"80": 8080, "22": 0}, normalised to the object. */
static int parse_ports(const json_t *props, json_t **out, ik_err_t *err) {
  json_t *v = ik_json_get(props, "Ports");
  *out = json_object();
  if (v == NULL) return 0;
  if (json_is_array(v)) {
    size_t i;
    json_t *p;
    json_array_foreach(v, i, p) {
      char path[48];
      snprintf(path, sizeof path, "Properties.Ports[%zu]", i);
      if (!json_is_number(p) || !port_number(json_number_value(p)))
        return ik_json_want(err, path, "a guest TCP port from 1 to 65535", p, true);
      char key[8];
      snprintf(key, sizeof key, "%d", (int)json_number_value(p));
      json_object_set_new(*out, key, json_integer(0));
    }
    return 0;
  }
  if (!json_is_object(v))
    return ik_json_want(err, "Properties.Ports", "a list of guest ports like [80] or an object like {\"80\": 8080}", v,
                        true);
  const char *k;
  json_t *p;
  json_object_foreach((json_t *)v, k, p) {
    char *end;
    long guest = strtol(k, &end, 10);
    if (*k == '\0' || *end != '\0' || guest < 1 || guest > 65535)
      return ik_err_set(err, IK_EINVAL, "Properties.Ports: key \"%.20s\": want a guest TCP port from 1 to 65535", k);
    char path[48];
    snprintf(path, sizeof path, "Properties.Ports.%ld", guest);
    if (!json_is_number(p) || (json_number_value(p) != 0 && !port_number(json_number_value(p))))
      return ik_json_want(err, path, "a host port from 1 to 65535, or 0 for a free one", p, true);
    char key[8];
    snprintf(key, sizeof key, "%ld", guest);
    json_object_set_new(*out, key, json_integer((json_int_t)json_number_value(p)));
  }
  return 0;
}

int ik_qemu_config_parse(const json_t *props, bool check_files, ik_qemu_config_t *out, ik_err_t *err) {
  memset(out, 0, sizeof *out);
  if (props != NULL && !json_is_object(props))
    return ik_json_want(err, "Properties", "an object like {\"Kernel\": \"/images/vmlinuz\", \"Initrd\": ...}", props,
                        false);
  int rc;
  if ((rc = string(props, "Kernel", &out->kernel, err)) < 0 || (rc = string(props, "Initrd", &out->initrd, err)) < 0 ||
      (rc = string(props, "Cmdline", &out->cmdline, err)) < 0 || (rc = string(props, "Disk", &out->disk, err)) < 0 ||
      (rc = string(props, "Accel", &out->accel, err)) < 0 || (rc = string(props, "Checksum", &out->checksum, err)) < 0)
    return rc;
  if (out->kernel == NULL && out->disk == NULL)
    return ik_err_set(err, IK_EINVAL, "Properties.Kernel: missing: a VM boots a Kernel (with an Initrd) or a Disk");
  if (out->kernel == NULL && (out->initrd || out->cmdline))
    return ik_err_set(err, IK_EINVAL, "Properties.%s: needs a Kernel to go with it", out->initrd ? "Initrd" : "Cmdline");
  if (out->accel && strcmp(out->accel, "auto") != 0 && strcmp(out->accel, "tcg") != 0 && strcmp(out->accel, "kvm") != 0)
    return ik_err_set(err, IK_EINVAL, "Properties.Accel: want \"auto\", \"tcg\" or \"kvm\", got \"%.40s\"", out->accel);
  if ((rc = whole(props, "Memory", "a whole number of MiB from 16 to 1048576", 16, 1048576, 256, &out->memory_mib, err)) < 0 ||
      (rc = whole(props, "CPUs", "a whole number of CPUs from 1 to 255", 1, 255, 1, &out->cpus, err)) < 0)
    return rc;
  if (check_files) {
    if ((out->kernel && (rc = check_file("Kernel", out->kernel, err)) < 0) ||
        (out->initrd && (rc = check_file("Initrd", out->initrd, err)) < 0) ||
        (out->disk && (rc = check_file("Disk", out->disk, err)) < 0))
      return rc;
  }
  if ((rc = parse_ports(props, &out->ports, err)) < 0) {
    ik_qemu_config_free(out);
    return rc;
  }
  return 0;
}

void ik_qemu_config_free(ik_qemu_config_t *c) {
  json_decref(c->ports);
  c->ports = NULL;
}

const char *ik_qemu_accel(const char *want, const char *kvm_dev, ik_err_t *err) {
  if (want && strcmp(want, "tcg") == 0) return "tcg";
  int fd = open(kvm_dev, O_RDWR | O_CLOEXEC);
  int e = errno;
  if (fd >= 0) {
    close(fd);
    return "kvm";
  }
  if (want && strcmp(want, "kvm") == 0) {
    ik_err_set(err, IK_EINVAL, "Properties.Accel: kvm: %s: %s (use \"tcg\", or \"auto\" to fall back to it)", kvm_dev,
               strerror(e));
    return NULL;
  }
  return "tcg";
}

static void add(json_t *argv, const char *arg) { json_array_append_new(argv, json_string(arg)); }

static void addf(json_t *argv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(json_t *argv, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[4096];
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  add(argv, buf);
}

json_t *ik_qemu_argv(const char *qemu, const ik_qemu_config_t *c, const ik_qemu_launch_t *l) {
  json_t *argv = json_array();
  add(argv, qemu);
  add(argv, "-name");
  add(argv, l->name);
  add(argv, "-accel");
  add(argv, l->accel);
  add(argv, "-m");
  addf(argv, "%lld", (long long)c->memory_mib);
  add(argv, "-smp");
  addf(argv, "%lld", (long long)c->cpus);
  add(argv, "-display");
  add(argv, "none");
  add(argv, "-monitor");
  add(argv, "none");
  add(argv, "-no-reboot"); /* a guest that reboots is gone: the group replaces it */
  if (c->kernel) {
    add(argv, "-kernel");
    add(argv, c->kernel);
    if (c->initrd) {
      add(argv, "-initrd");
      add(argv, c->initrd);
    }
    add(argv, "-append");
    add(argv, c->cmdline ? c->cmdline : "console=ttyS0");
  }
  if (l->has_disk) {
    add(argv, "-drive");
    addf(argv, "file=%s/disk.qcow2,format=qcow2,if=virtio", l->state_dir);
  }
  /* User-mode networking; each forward listens on 127.0.0.1 only. */
  ik_buf_t nic = {0};
  ik_buf_puts(&nic, "user,model=virtio-net-pci");
  const char *guest;
  json_t *host;
  json_object_foreach(l->ports, guest, host) ik_buf_printf(&nic, ",hostfwd=tcp:127.0.0.1:%lld-:%s", (long long)json_integer_value(host), guest);
  add(argv, "-nic");
  add(argv, ik_buf_cstr(&nic));
  ik_buf_free(&nic);
  if (l->has_init) {
    add(argv, "-fw_cfg");
    addf(argv, "name=opt/infrakit/init,file=%s/init", l->state_dir);
  }
  add(argv, "-qmp");
  addf(argv, "unix:%s/qmp.sock,server=on,wait=off", l->state_dir);
  add(argv, "-serial");
  addf(argv, "file:%s/console.log", l->state_dir);
  add(argv, "-pidfile");
  addf(argv, "%s/pid", l->state_dir);
  add(argv, "-daemonize");
  return argv;
}

int ik_qemu_free_port(ik_err_t *err) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ik_err_set(err, IK_EIO, "a free port: socket: %s", strerror(errno));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int rc = 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
    rc = ik_err_set(err, IK_EIO, "a free port on 127.0.0.1: %s", strerror(errno));
  else rc = ntohs(a.sin_port);
  close(fd);
  return rc;
}
