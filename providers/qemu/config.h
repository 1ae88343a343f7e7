/* The Properties of an instance-qemu VM, checked, and the qemu command
 * line they make. Pure functions (plus stat of the named files), so the
 * unit tests drive them with tables.
 *
 * Properties (docs/qemu.md), modelled on InfraKit's hyperkit plugin:
 *   Kernel    path of the kernel (vmlinuz)           Kernel or Disk needed
 *   Initrd    path of the initramfs                  optional
 *   Cmdline   kernel command line                    ["console=ttyS0"]
 *   Disk      a base image (raw or qcow2): each VM boots a qcow2 overlay of it
 *   Memory    MiB                                    [256]
 *   CPUs      virtual CPUs                           [1]
 *   Accel     "auto" (kvm when /dev/kvm is usable, else tcg), "tcg", "kvm" [auto]
 *   Ports     guest TCP ports forwarded from 127.0.0.1: [80, 22] (a free host
 *             port each) or {"80": 8080} (0 = a free one)
 *   Checksum  the image's version: only recorded, but it is part of the
 *             Instance block, so a new image changes the config hash
 * Unknown fields are ignored (Go decodes so). */
#ifndef IK_PROVIDERS_QEMU_CONFIG_H
#define IK_PROVIDERS_QEMU_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

typedef struct ik_qemu_config {
  const char *kernel, *initrd, *cmdline, *disk, *accel, *checksum; /* borrowed from the properties; may be NULL */
  int64_t memory_mib;
  int64_t cpus;
  json_t *ports; /* {"<guest port>": <host port or 0>}, owned: ik_qemu_config_free */
} ik_qemu_config_t;

/* Check props (an object, or NULL) and fill out. Every error names the
 * field ("Properties.Memory: want a whole number of MiB from 16 to
 * 1048576, got \"lots\""). When check_files, Kernel, Initrd and Disk must
 * name readable regular files. Returns 0 or IK_EINVAL. */
int ik_qemu_config_parse(const json_t *props, bool check_files, ik_qemu_config_t *out, ik_err_t *err);
void ik_qemu_config_free(ik_qemu_config_t *c);

/* The accelerator to run with: "kvm" or "tcg" for want ("auto", "tcg",
 * "kvm"; NULL = auto), kvm when kvm_dev ("/dev/kvm") opens read-write.
 * Returns the name (static) or NULL with err naming Properties.Accel when
 * kvm was asked for and cannot be used. */
const char *ik_qemu_accel(const char *want, const char *kvm_dev, ik_err_t *err);

/* What a launch adds to the properties: where the VM's files go and what
 * was resolved. */
typedef struct ik_qemu_launch {
  const char *name;      /* the instance ID (qemu's -name) */
  const char *state_dir; /* absolute, without ',' */
  const char *accel;     /* "kvm" or "tcg" */
  json_t *ports;         /* {"<guest>": <host>}, every host port chosen */
  bool has_disk;         /* boot STATE_DIR/disk.qcow2 (the overlay) */
  bool has_init;         /* STATE_DIR/init reaches the guest as fw_cfg opt/infrakit/init */
} ik_qemu_launch_t;

/* The qemu command line, argv[0] = qemu, as a JSON array of strings (new
 * reference). qemu daemonizes once the VM runs (-daemonize, -pidfile), so
 * the VM outlives the daemon and a start-up error is its exit status and
 * stderr. */
json_t *ik_qemu_argv(const char *qemu, const ik_qemu_config_t *c, const ik_qemu_launch_t *l);

/* A free TCP port on 127.0.0.1 (bound then released), or a negative code. */
int ik_qemu_free_port(ik_err_t *err);

#endif
