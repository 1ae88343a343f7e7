/* Small synchronous file helpers for commit points (DESIGN §2: "short
 * synchronous writes at commit points"). */
#ifndef IK_BASE_FS_H
#define IK_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

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

/* ik_fs_replace, and when st is not NULL the new file's stat (its inode,
 * size and mtime are path's once it returns 0): for a writer that
 * recognises its own writes without a stat of the path. */
int ik_fs_replace_stat(const char *path, const char *data, size_t len, bool durable, struct stat *st,
                       ik_err_t *err);

/* Remove the temp files ik_fs_replace leaves behind when the process is
 * killed between writing and renaming (".NAME.tmp"), in dir and, when
 * recursive, in its subdirectories (never through a symlink). Call it at
 * start, before anything writes there. Only entries named ".*.tmp" that
 * are regular files or symlinks are removed; anything else is left.
 * Returns how many were removed (0 when dir does not exist), or a
 * negative IK_EIO with err filled when dir cannot be read. */
int ik_fs_clean_temps(const char *dir, bool recursive, ik_err_t *err);

/* Open path for reading only when it is a regular file with one link,
 * never through a symlink (O_NOFOLLOW): for files in directories others
 * may plant links in. Returns the descriptor, or a negative code with err
 * naming path (IK_ENOTFOUND when absent, IK_EINVAL when not a regular
 * file) and never quoting its content. */
int ik_fs_open_regular(const char *path, ik_err_t *err);

/* Remove dir and everything under it, never following a symlink (a link
 * is removed, not what it points to). Returns 0 (also when dir does not
 * exist), or IK_EIO with err naming the first entry that could not be
 * removed. For state directories a driver owns (a VM's). */
int ik_fs_remove_tree(const char *dir, ik_err_t *err);

#endif
