/* A QMP client on the loop: qemu's machine protocol over its unix socket,
 * with libuv (no blocking call).
 *
 * QMP is JSON, one message per line. qemu greets ({"QMP": {...}}), the
 * client answers {"execute": "qmp_capabilities"}, then commands are
 * answered in order with {"return": ...} or {"error": {"class", "desc"}},
 * and asynchronous {"event": NAME, "data": {...}} lines may come at any
 * time. qemu serves one client at a time: a second client is accepted by
 * the kernel but never greeted, hence the handshake timeout.
 *
 * Callbacks (handlers): ready runs once, when the handshake is done (err
 * NULL) or has failed (err set: refused, no greeting in time, a protocol
 * error); after a failed ready the client is closed and freed, and nothing
 * else is called. After a successful ready: event for every event line,
 * and closed once when the connection ends (qemu exited, the socket was
 * closed, a protocol error), after which the client is freed. Pending
 * commands are answered with an IK_EIO error before closed runs.
 * ik_qmp_close() ends it from our side: no callback of any kind runs
 * after it (pending replies are dropped). Loop thread only. */
#ifndef IK_PROVIDERS_QEMU_QMP_H
#define IK_PROVIDERS_QEMU_QMP_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "loop/loop.h"

typedef struct ik_qmp ik_qmp_t;

typedef struct ik_qmp_handlers {
  void (*ready)(ik_qmp_t *q, const ik_err_t *err, void *data);
  /* name and payload (may be NULL) are borrowed. */
  void (*event)(ik_qmp_t *q, const char *name, json_t *payload, void *data);
  /* why: a few words ("connection closed by qemu"), borrowed. */
  void (*closed)(ik_qmp_t *q, const char *why, void *data);
} ik_qmp_handlers_t;

/* A command's answer: ret is the "return" value (borrowed), or err says
 * the command failed ({"error"}: "QMP <command>: <class>: <desc>") or the
 * connection ended first. */
typedef void (*ik_qmp_reply_cb)(ik_qmp_t *q, json_t *ret, const ik_err_t *err, void *data);

/* Connect to the QMP socket at path and negotiate capabilities within
 * timeout_ms (0: 5000). handlers is copied. Returns 0 and later calls
 * handlers->ready exactly once; or a negative code with err filled, and
 * never calls anything. */
int ik_qmp_connect(ik_loop_t *loop, const char *path, uint64_t timeout_ms, const ik_qmp_handlers_t *handlers, void *data,
                   ik_qmp_t **out, ik_err_t *err);

/* Send {"execute": command, "arguments": args} (args borrowed, may be
 * NULL). Returns 0 and later calls cb exactly once (unless ik_qmp_close
 * comes first); or IK_ESTATE when the handshake is not done or the
 * connection has ended, and never calls cb. */
int ik_qmp_execute(ik_qmp_t *q, const char *command, json_t *args, ik_qmp_reply_cb cb, void *data, ik_err_t *err);

/* Close from our side: no callback runs after this; the memory goes when
 * libuv has closed the handles. q may be NULL. */
void ik_qmp_close(ik_qmp_t *q);

#endif
