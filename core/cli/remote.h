/* What the CLI's client commands (plugin, instance) share: a loop with the
 * HTTP client and the plugins directory, and a way to wait for SPI
 * callbacks. Commands are one-shot: they run the loop until their answers
 * are in, then close it clean. */
#ifndef IK_CLI_REMOTE_H
#define IK_CLI_REMOTE_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "loop/loop.h"
#include "net/client/http_client.h"

typedef struct ik_cli_remote {
  ik_loop_t loop;
  ik_http_client_t *http;
  char dir[4096]; /* the plugins directory */
} ik_cli_remote_t;

/* The outcome of one asynchronous call. */
typedef struct ik_cli_result {
  int done;
  json_t *result; /* owned; NULL on error */
  ik_err_t err;
} ik_cli_result_t;

int ik_cli_remote_open(ik_cli_remote_t *r, ik_err_t *err);
void ik_cli_remote_close(ik_cli_remote_t *r);

/* An ik_spi_cb filling the ik_cli_result_t passed as data. */
void ik_cli_result_cb(json_t *result, const ik_err_t *err, void *data);
void ik_cli_result_clear(ik_cli_result_t *res);

/* Run the loop until *count reaches want. */
void ik_cli_remote_wait(ik_cli_remote_t *r, const int *count, int want);

/* Read a JSON document from path ("-" = stdin). Returns NULL and fills err
 * (naming the file, line and column) on failure. */
json_t *ik_cli_read_json(const char *path, ik_err_t *err);

/* The largest group size (Allocation.Size, or the number of LogicalIDs)
 * for the CLI's local checks (group commit, plan) and the daemon's
 * default: $INFRAKIT_MAX_GROUP_SIZE when set, else
 * IK_GROUP_MAX_SIZE_DEFAULT (the daemon's --max-group-size overrides
 * both). Returns 0, or IK_EUSAGE naming the variable when it is not a
 * positive integer. */
int ik_cli_max_group_size(uint64_t *out, ik_err_t *err);

#endif
