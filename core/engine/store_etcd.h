/* The etcd store: the store SPI (spi/store.h) over etcd v3's JSON gateway
 * (spi/etcd_gateway.h; the real one is net/client/etcd_gateway.h), for
 * several managers sharing one cluster (docs/ha.md).
 *
 * The document of key K is the etcd key PREFIX/K, and its value is the
 * text the file store writes for it (the same JSON, Go's formatting), so
 * `etcdctl get --prefix PREFIX/` shows what `cat configs/K.json` would:
 *   put   /v3/kv/put                    get  /v3/kv/range {key}
 *   del   /v3/kv/deleterange            list /v3/kv/range {key: PREFIX/p,
 *                                            range_end: PREFIX/p + 1, keys_only}
 * A put is durable when its callback reports success: etcd answered after
 * a quorum of members committed it.
 *
 * Fencing (ik_store_etcd_set_guard): once a guard is set, every put and
 * del is instead a /v3/kv/txn whose one compare is "the guard key's CREATE
 * revision equals the guard's" - the leader key this daemon created when
 * it won the election. A deposed leader (its lease expired while it was
 * paused or cut off, and another daemon created the key again, at a new
 * revision) therefore cannot write, whatever it believes. Such a refused
 * write completes with IK_ENOTLEADER and the message "not the leader: the
 * leader key changed" (with the key and revisions), writes nothing, and is
 * counted (ik_store_etcd_refused). Reads are never guarded. Without a
 * guard (the default, one manager), writes are plain.
 *
 * Errors name the store key and carry the gateway's message (the etcd
 * endpoint and etcd's own message). */
#ifndef IK_ENGINE_STORE_ETCD_H
#define IK_ENGINE_STORE_ETCD_H

#include <stdint.h>

#include "base/err.h"
#include "loop/loop.h"
#include "spi/etcd_gateway.h"
#include "spi/store.h"

/* The parts of "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]": endpoints
 * "HOST:PORT,..." and prefix (default "infrakit"; slash-separated segments
 * of letters, digits, . _ -). The strings are the caller's to ik_free. An
 * IK_EINVAL naming what is wrong otherwise. */
int ik_store_etcd_parse_url(const char *url, char **endpoints, char **prefix, ik_err_t *err);

/* A store under prefix (copied) through gateway (borrowed: it must outlive
 * the store's last callback). */
int ik_store_etcd_new(ik_loop_t *loop, const ik_etcd_gateway_t *gateway, const char *prefix, ik_store_t *out,
                      ik_err_t *err);

/* Guard every later write of store (an etcd store) on etcd key guard_key
 * (a whole etcd key, e.g. "infrakit/leader"; copied) having been created
 * at create_revision. guard_key NULL (or create_revision <= 0) removes the
 * guard. IK_EINVAL when store is not an etcd store. Writes already sent
 * keep the condition they were sent with. */
int ik_store_etcd_set_guard(ik_store_t *store, const char *guard_key, int64_t create_revision, ik_err_t *err);

/* How many writes the guard refused since the store was made (0 for a
 * store that is not an etcd store). */
uint64_t ik_store_etcd_refused(const ik_store_t *store);

/* Told of each write the guard refused, as it is answered: the operation
 * ("put", "del"), the store key and the count so far. A write sent while
 * leading can be refused only after the daemon stepped down (its answer
 * comes later), so a count taken at the step-down misses it; this is how
 * the daemon reports those too. */
typedef void (*ik_store_etcd_refused_cb)(const char *op, const char *key, uint64_t refused, void *ctx);

/* Call cb (NULL: none) for every refused write of store from now on.
 * IK_EINVAL when store is not an etcd store. */
int ik_store_etcd_on_refused(ik_store_t *store, ik_store_etcd_refused_cb cb, void *ctx, ik_err_t *err);

/* Whether store is an etcd store. */
bool ik_store_is_etcd(const ik_store_t *store);

#endif
