/* Shared by the C unit tests of SPI implementations: the outcome of one SPI call, and
 * CALL(fx, slot, expr), which starts expr (an SPI call given on_slot and
 * the slot, and &e_ for its error), fails the test if it is refused, and
 * runs the test's loop with run_until(fx, count, want) until it is done. */
#ifndef IK_SPEC_SPI_SLOT_H
#define IK_SPEC_SPI_SLOT_H

#include <jansson.h>
#include <string.h>

#include "base/err.h"

typedef struct slot {
  int done;
  json_t *result; /* owned; NULL on error */
  ik_err_t err;
} slot_t;

static void on_slot(json_t *result, const ik_err_t *err, void *data) {
  slot_t *s = data;
  s->done++;
  if (err) s->err = *err;
  else s->result = json_incref(result);
}

static void slot_clear(slot_t *s) {
  json_decref(s->result);
  memset(s, 0, sizeof *s);
}

#define CALL(fx, s, expr)                \
  do {                                   \
    slot_clear(s);                       \
    ik_err_t e_ = {0};                   \
    int rc_ = (expr);                    \
    if (rc_ < 0) fail_msg("%s", e_.msg); \
    run_until(fx, &(s)->done, 1);        \
  } while (0)

#endif
