/* instance-qemu: an instance is a qemu virtual machine (see qemu.c;
 * Properties in config.h; docs/qemu.md). */
#ifndef IK_PROVIDERS_QEMU_H
#define IK_PROVIDERS_QEMU_H

#include <stdint.h>

#include "loop/loop.h"
#include "spi/instance.h"

typedef struct ik_qemu_opts {
  const char *dir;      /* state directories, one per VM (created 0700); absolute, no ',' */
  const char *qemu;     /* the emulator [qemu-system-x86_64, looked up in PATH] */
  const char *qemu_img; /* for disk overlays [qemu-img] */
  const char *kvm_dev;  /* [/dev/kvm] */
  /* Destroy: ACPI powerdown, then QMP quit after powerdown_ms [10000],
   * SIGTERM after quit_ms more [3000], SIGKILL after term_ms more [3000]. */
  uint64_t powerdown_ms, quit_ms, term_ms;
  uint64_t qmp_timeout_ms; /* connect + handshake [5000] */
} ik_qemu_opts_t;

/* An instance plugin running one qemu per instance. VMs found in dir whose
 * qemu still runs (same pid and start time) are adopted; state dirs whose
 * qemu is gone are removed. Free with vt->free: the VMs keep running
 * (they outlive the daemon by design). */
int ik_qemu_provider_new(ik_loop_t *loop, const ik_qemu_opts_t *opts, ik_instance_plugin_t *out, ik_err_t *err);

#endif
