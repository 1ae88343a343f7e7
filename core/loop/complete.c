/* Completions from the loop (complete.h). */
#include "loop/complete.h"

#include "base/mem.h"

typedef struct completion {
  ik_complete_cb cb;
  void *data;
  json_t *result;
  ik_err_t err;
  bool failed;
} completion_t;

static void run_completion(void *arg) {
  completion_t *c = arg;
  c->cb(c->failed ? NULL : c->result, c->failed ? &c->err : NULL, c->data);
  json_decref(c->result);
  ik_free(c);
}

int ik_loop_complete(ik_loop_t *loop, ik_complete_cb cb, void *data, json_t *result, const ik_err_t *err) {
  completion_t *c = IK_NEW(completion_t);
  c->cb = cb;
  c->data = data;
  c->result = result;
  if (err) {
    c->err = *err;
    c->failed = true;
  }
  ik_loop_defer(loop, run_completion, c);
  return 0;
}
