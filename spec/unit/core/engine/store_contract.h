/* The store SPI's contract (spi/store.h), the same cases for every store:
 * the file store (test_store_file.c) and the etcd store against a fake
 * gateway and a real etcd (test_store_etcd.c). The including test gives a
 * wait function that runs its loop until the slot is done (and checks the
 * callback did not run before the call returned). */
#ifndef IK_SPEC_STORE_CONTRACT_H
#define IK_SPEC_STORE_CONTRACT_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "spi/store.h"
#include "spi_slot.h"

typedef void (*contract_wait_fn)(void *ctx, slot_t *s);

#define CONTRACT_DO(s, expr)             \
  do {                                   \
    slot_clear(s);                       \
    ik_err_t e_ = {0};                   \
    int rc_ = (expr);                    \
    if (rc_ < 0) fail_msg("%s", e_.msg); \
    wait(ctx, s);                        \
  } while (0)

/* Put, get, list by prefix (sorted), overwrite, delete, get of a missing
 * key (IK_ENOTFOUND), delete of a missing key (fine). */
static void contract_round_trip(ik_store_t *st, contract_wait_fn wait, void *ctx) {
  slot_t s = {0};
  json_t *spec = json_pack("{s:s, s:{s:{s:i}}}", "ID", "workers", "Properties", "Allocation", "Size", 3);
  json_t *roll = json_pack("{s:s, s:i}", "Target", "abc", "Done", 2);
  CONTRACT_DO(&s, st->vt->put(st->self, "groups/workers/spec", spec, on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(json_is_null(s.result));
  CONTRACT_DO(&s, st->vt->put(st->self, "groups/workers/rollout", roll, on_slot, &s, &e_));
  CONTRACT_DO(&s, st->vt->put(st->self, "groups/db/spec", spec, on_slot, &s, &e_));
  CONTRACT_DO(&s, st->vt->put(st->self, "groupsx/other", spec, on_slot, &s, &e_));
  CONTRACT_DO(&s, st->vt->get(st->self, "groups/workers/spec", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  assert_true(json_equal(s.result, spec));
  CONTRACT_DO(&s, st->vt->list(st->self, "groups/", on_slot, &s, &e_));
  char *keys = json_dumps(s.result, JSON_COMPACT);
  assert_string_equal(keys, "[\"groups/db/spec\",\"groups/workers/rollout\",\"groups/workers/spec\"]");
  free(keys);
  CONTRACT_DO(&s, st->vt->list(st->self, "groups/workers/", on_slot, &s, &e_));
  assert_int_equal(json_array_size(s.result), 2);
  CONTRACT_DO(&s, st->vt->list(st->self, "", on_slot, &s, &e_));
  assert_int_equal(json_array_size(s.result), 4);
  CONTRACT_DO(&s, st->vt->list(st->self, "nothing/", on_slot, &s, &e_));
  assert_int_equal(json_array_size(s.result), 0);
  /* An overwrite replaces the whole document. */
  json_t *roll2 = json_pack("{s:s}", "Target", "def");
  CONTRACT_DO(&s, st->vt->put(st->self, "groups/workers/rollout", roll2, on_slot, &s, &e_));
  CONTRACT_DO(&s, st->vt->get(st->self, "groups/workers/rollout", on_slot, &s, &e_));
  assert_true(json_equal(s.result, roll2));
  CONTRACT_DO(&s, st->vt->del(st->self, "groups/workers/rollout", on_slot, &s, &e_));
  assert_int_equal(s.err.code, 0);
  CONTRACT_DO(&s, st->vt->get(st->self, "groups/workers/rollout", on_slot, &s, &e_));
  assert_int_equal(s.err.code, IK_ENOTFOUND);
  assert_non_null(strstr(s.err.msg, "groups/workers/rollout"));
  CONTRACT_DO(&s, st->vt->del(st->self, "groups/workers/rollout", on_slot, &s, &e_)); /* again: fine */
  assert_int_equal(s.err.code, 0);
  slot_clear(&s);
  json_decref(spec);
  json_decref(roll);
  json_decref(roll2);
}

#define CONTRACT_K60 "groups-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CONTRACT_LONG_KEY                                                                                 \
  CONTRACT_K60 CONTRACT_K60 CONTRACT_K60 CONTRACT_K60 CONTRACT_K60 CONTRACT_K60 CONTRACT_K60 CONTRACT_K60 \
      CONTRACT_K60 CONTRACT_K60

/* Bad keys are refused at the call (no callback), naming the problem. */
static void contract_bad_keys(ik_store_t *st) {
  static const struct {
    const char *key;
    const char *says;
  } cases[] = {
      {"", "want 1 to 200 bytes"},
      {"groups//spec", "empty"},
      {"groups/../etc", "\"..\""},
      {"./x", "\".\""},
      {"groups/a b", "' ' is not allowed"},
      {"/abs", "empty"},
      {"trailing/", "empty"},
      /* A long key never pushes the reason out of the (bounded) message. */
      {CONTRACT_LONG_KEY, "want 1 to 200 bytes, got 650"},
      {CONTRACT_K60 CONTRACT_K60 CONTRACT_K60 "/a b", "' ' is not allowed"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_err_t err = {0};
    slot_t s = {0};
    json_t *v = json_object();
    assert_int_equal(st->vt->put(st->self, cases[i].key, v, on_slot, &s, &err), IK_EINVAL);
    if (strstr(err.msg, cases[i].says) == NULL) fail_msg("key \"%s\": %s", cases[i].key, err.msg);
    assert_int_equal(st->vt->get(st->self, cases[i].key, on_slot, &s, &err), IK_EINVAL);
    assert_int_equal(st->vt->del(st->self, cases[i].key, on_slot, &s, &err), IK_EINVAL);
    assert_int_equal(s.done, 0);
    json_decref(v);
  }
}

#endif
