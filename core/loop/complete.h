/* Completing an asynchronous call from the loop: the one place where a
 * driver that finishes synchronously keeps libuv's rule (spi.h) - its
 * callback runs after the call that promised it has returned, never
 * inside it. */
#ifndef IK_LOOP_COMPLETE_H
#define IK_LOOP_COMPLETE_H

#include <jansson.h>

#include "base/err.h"
#include "loop/loop.h"

/* The shape of spi.h's ik_spi_cb (the loop knows no SPI). */
typedef void (*ik_complete_cb)(json_t *result, const ik_err_t *err, void *data);

/* Call cb(result, NULL, data) - or cb(NULL, err, data) when err is not
 * NULL - from the loop, soon. result is stolen (may be NULL); err is
 * copied. Returns 0, so an operation can end with `return
 * ik_loop_complete(...)`. */
int ik_loop_complete(ik_loop_t *loop, ik_complete_cb cb, void *data, json_t *result, const ik_err_t *err);

#endif
