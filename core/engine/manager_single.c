/* Always the leader (manager_single.h). */
#include "engine/manager_single.h"

#include "base/mem.h"
#include "loop/complete.h"

typedef struct single {
  ik_loop_t *loop;
  char *location;
} single_t;

/* Answer v (stolen) from the loop: never inside the call. */
static int answer(single_t *s, json_t *v, ik_spi_cb cb, void *data) {
  return ik_loop_complete(s->loop, cb, data, v, NULL);
}

static int is_leader(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  return answer(self, json_true(), cb, data);
}

static int leader_location(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  single_t *s = self;
  return answer(s, json_string(s->location), cb, data);
}

static void single_free(void *self) {
  single_t *s = self;
  ik_free(s->location);
  ik_free(s);
}

static const ik_manager_vtable_t single_vt = {
    .kind = "single",
    .is_leader = is_leader,
    .leader_location = leader_location,
    .free = single_free,
};

void ik_manager_single_new(ik_loop_t *loop, const char *location, ik_manager_plugin_t *out) {
  single_t *s = IK_NEW(single_t);
  s->loop = loop;
  s->location = ik_strdup(location);
  *out = (ik_manager_plugin_t){&single_vt, s};
}
