/* Errors: negative integer codes plus a human message.
 *
 * Every fallible function returns 0 or a negative code and, when it fails,
 * fills an ik_err_t with the code and a one-line message that names the
 * thing that went wrong ("exec: /bin/nope: no such file or directory").
 * Codes are libuv's (negated errno values, UV_E*) where one fits, and
 * IK_E* below for what libuv has no name for, so a libuv result can be
 * passed through unchanged. */
#ifndef IK_BASE_ERR_H
#define IK_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define IK_ERR_MSG_MAX 512

enum {
  IK_OK = 0,
  /* Project codes live below libuv's range (libuv ends at -4095). */
  IK_EINVAL = -5001,     /* bad input: a field is missing, mistyped or out of range */
  IK_ETIMEDOUT = -5002,  /* a deadline passed (watchdog, exec timeout, rpc) */
  IK_ECANCELED = -5003,  /* the operation was cancelled (shutdown, Ctrl-C) */
  IK_ELUA = -5004,       /* a Lua error was raised */
  IK_ENOTFOUND = -5005,  /* a named thing (plugin, group, file) does not exist */
  IK_EEXIST = -5006,     /* a named thing already exists */
  IK_ESTATE = -5007,     /* the call is not valid in the current state */
  IK_EIO = -5008,        /* an I/O or transport error */
  IK_EDRIVER = -5009,    /* an instance/flavor driver reported an error */
  IK_EUSAGE = -5010,     /* command-line misuse (exit status 2) */
  IK_ENOTLEADER = -5011, /* a fenced write was refused: this daemon no longer leads */
};

typedef struct ik_err {
  int code;                 /* 0 when no error has been recorded */
  char msg[IK_ERR_MSG_MAX]; /* NUL-terminated, one line */
} ik_err_t;

/* Record an error: code plus printf-style message. Returns code, so a
 * function can `return ik_err_set(err, IK_EINVAL, "...")`. err may be NULL. */
int ik_err_set(ik_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ik_err_setv(ik_err_t *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Record a libuv (or IK_E*) code with a prefix: "prefix: <strerror>". */
int ik_err_uv(ik_err_t *err, int code, const char *prefix);

void ik_err_clear(ik_err_t *err);

/* Short symbolic name of a code: "EINVAL", "ETIMEDOUT", "ENOENT", ... Never
 * NULL. Used as the third return value of failing Lua calls. */
const char *ik_err_name(int code);

/* Human description of a code. Never NULL. */
const char *ik_strerror(int code);

#endif
