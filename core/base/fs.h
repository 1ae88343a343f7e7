/* Small synchronous file helpers for commit points (DESIGN §2: "short
 * synchronous writes at commit points"). */
#ifndef IK_BASE_FS_H
#define IK_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Replace path with len bytes of data, atomically: a reader sees the old
 * file or the new one, never a part. Writes "<dir>/.<name>.tmp" mode 0600,
 * fsyncs it, renames it over path and fsyncs the directory, so a crash at
 * any point loses nothing that was reported written. */
int ik_fs_write_atomic(const char *path, const char *data, size_t len, ik_err_t *err);

/* The same, atomic but without the fsyncs when durable is false: a
 * process crash still leaves the old file or the new one, a power loss may
 * leave the old one. For what is cheap to lose and written often (the
 * instance-file fake's instances). */
int ik_fs_replace(const char *path, const char *data, size_t len, bool durable, ik_err_t *err);

#endif
