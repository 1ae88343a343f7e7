/* Rings of per-group samples (see dashboard_history.h). */
#include "net/server/dashboard_history.h"

#include <string.h>

#include "base/mem.h"

typedef struct ring {
  char *id;
  ik_dashboard_sample_t s[IK_DASHBOARD_HISTORY_SAMPLES];
  size_t head, n; /* the next slot to write; how many are filled */
} ring_t;

struct ik_dashboard_history {
  ring_t *rings[IK_DASHBOARD_HISTORY_GROUPS];
  size_t n;
};

ik_dashboard_history_t *ik_dashboard_history_new(void) { return ik_calloc(1, sizeof(ik_dashboard_history_t)); }

static void ring_free(ring_t *r) {
  ik_free(r->id);
  ik_free(r);
}

void ik_dashboard_history_free(ik_dashboard_history_t *h) {
  if (h == NULL) return;
  for (size_t i = 0; i < h->n; i++) ring_free(h->rings[i]);
  ik_free(h);
}

void ik_dashboard_history_add(ik_dashboard_history_t *h, const char *id, const ik_dashboard_sample_t *s) {
  ring_t *r = NULL;
  for (size_t i = 0; i < h->n && r == NULL; i++)
    if (strcmp(h->rings[i]->id, id) == 0) r = h->rings[i];
  if (r == NULL) {
    if (h->n == IK_DASHBOARD_HISTORY_GROUPS) return;
    r = ik_calloc(1, sizeof *r);
    r->id = ik_strdup(id);
    h->rings[h->n++] = r;
  }
  r->s[r->head] = *s;
  r->head = (r->head + 1) % IK_DASHBOARD_HISTORY_SAMPLES;
  if (r->n < IK_DASHBOARD_HISTORY_SAMPLES) r->n++;
}

static int listed(const json_t *ids, const char *id) {
  size_t i;
  const json_t *v;
  json_array_foreach(ids, i, v) if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) return 1;
  return 0;
}

void ik_dashboard_history_retain(ik_dashboard_history_t *h, const json_t *ids) {
  size_t kept = 0;
  for (size_t i = 0; i < h->n; i++) {
    if (listed(ids, h->rings[i]->id)) h->rings[kept++] = h->rings[i];
    else ring_free(h->rings[i]);
  }
  h->n = kept;
}

json_t *ik_dashboard_history_json(const ik_dashboard_history_t *h, uint64_t interval_ms) {
  json_t *groups = json_object();
  for (size_t i = 0; i < h->n; i++) {
    const ring_t *r = h->rings[i];
    json_t *rows = json_array();
    size_t first = (r->head + IK_DASHBOARD_HISTORY_SAMPLES - r->n) % IK_DASHBOARD_HISTORY_SAMPLES;
    for (size_t k = 0; k < r->n; k++) {
      const ik_dashboard_sample_t *s = &r->s[(first + k) % IK_DASHBOARD_HISTORY_SAMPLES];
      json_array_append_new(rows, json_pack("[I, I, I, I, I]", (json_int_t)s->t_ms, (json_int_t)s->desired,
                                            (json_int_t)s->current, (json_int_t)s->available,
                                            (json_int_t)s->updated));
    }
    json_object_set_new(groups, r->id, rows);
  }
  return json_pack("{s:I, s:[s, s, s, s, s], s:o}", "IntervalMs", (json_int_t)interval_ms, "Columns", "t", "desired",
                   "current", "available", "updated", "Groups", groups);
}
