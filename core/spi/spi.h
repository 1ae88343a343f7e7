/* What every SPI (instance, flavor, group, manager) shares: the completion
 * callback and its rule.
 *
 * Every SPI operation follows libuv's rule: it returns 0 and later calls cb
 * exactly once from the loop (never before returning), or it returns a
 * negative IK_E* code, fills err and never calls cb. JSON arguments are
 * borrowed for the duration of the call only: incref or copy what is used
 * after returning. */
#ifndef IK_SPI_SPI_H
#define IK_SPI_SPI_H

#include <jansson.h>

#include "base/err.h"

/* result is borrowed (incref to keep) and read-only: a plugin may hand out
 * its own objects, so copy before changing. NULL when err is set. err is NULL
 * on success. What result holds is said by each operation. */
typedef void (*ik_spi_cb)(json_t *result, const ik_err_t *err, void *data);

#endif
