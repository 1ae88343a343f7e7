/* The file store: one JSON file per key under a directory, written with
 * ik_fs_write_atomic (temp file, fsync, rename, fsync of the directory), so
 * a crash at any moment leaves each document old or new, never torn. The
 * key "groups/workers/spec" is DIR/groups/workers/spec.json. Calls are
 * short synchronous file operations at commit points (DESIGN §2); their
 * callbacks run later from the loop. */
#ifndef IK_ENGINE_STORE_FILE_H
#define IK_ENGINE_STORE_FILE_H

#include "base/err.h"
#include "loop/loop.h"
#include "spi/store.h"

/* A store in dir (created 0700 with its parents if missing). */
int ik_store_file_new(ik_loop_t *loop, const char *dir, ik_store_t *out, ik_err_t *err);

/* Take store (a file store) for this process alone: an exclusive flock(2)
 * on DIR/daemon.lock, which then holds this process's pid. The lock lives
 * as long as the store (freed: released) and no longer than the process:
 * the kernel drops it on any exit, kill -9 included, so a crashed daemon
 * never blocks a restart; the descriptor is close-on-exec, so children do
 * not inherit it. IK_ESTATE, naming the holder's pid and the store, when
 * another process holds it. Only the daemon that acts on the store takes
 * it; readers do not need it. */
int ik_store_file_lock(ik_store_t *store, ik_err_t *err);

/* 0 when key is a valid store key (spi/store.h), else IK_EINVAL naming
 * what ("key") and the problem. */
int ik_store_key_check(const char *key, const char *what, ik_err_t *err);

#endif
