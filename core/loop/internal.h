/* Internal to core/loop: declarations shared by its files, not part of the
 * module's API (libuv's uv-common.h). */
#ifndef IK_LOOP_INTERNAL_H
#define IK_LOOP_INTERNAL_H

#include "loop/loop.h"

/* Close the ik_loop_defer() idle handle (defer.c); ik_loop_close() calls it. */
void ik__loop_defer_close(ik_loop_t *loop);

#endif
