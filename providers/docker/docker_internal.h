/* What the files of providers/docker share: the driver's state, the
 * engine call helper (engine.c), the label store (labels.c) and the event
 * stream (events.c). Not for use outside providers/docker. */
#ifndef IK_PROVIDERS_DOCKER_INTERNAL_H
#define IK_PROVIDERS_DOCKER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "base/buf.h"
#include "net/client/http_client.h"
#include "spi/watchers.h"
#include "providers/docker/docker.h"

#define IK_DOCKER_ID_LEN 12 /* an instance ID: the container ID's first 12 hex digits, as InfraKit */

typedef struct ik_docker {
  ik_loop_t *loop;
  ik_http_client_t *http; /* created by the first engine call (ik__docker_http); NULL until then */
  char *host;             /* as given, for messages */
  char *base_url;         /* "http://docker/v1.41" or "http://HOST:PORT/v1.41"; NULL: unusable, see host_err */
  ik_err_t host_err;      /* why $DOCKER_HOST cannot be used */
  char *unix_path;        /* the engine's socket, or NULL over TCP */
  char *dir;
  char *labels_path; /* dir/labels.json */
  json_t *labels;    /* instance ID -> {tag: value} added by Label */
  uint64_t stop_grace_s;
  char *events_label;
  int refs; /* the driver itself, each call in flight, the reconnect timer */
  bool freed;
  ik_watchers_t watchers;
  /* The event stream (events.c). */
  ik_http_call_t *events_call;
  ik_buf_t events_line; /* a message cut across pieces */
  uv_timer_t *reconnect;
  uint32_t events_failures; /* attempts in a row that failed; 0 while connected */
  bool events_connected_once;
} ik_docker_t;

void ik__docker_ref(ik_docker_t *dp);
void ik__docker_unref(ik_docker_t *dp);

/* --- engine.c ------------------------------------------------------------ */

/* Parse host ("unix:///p", "tcp://h:p") into dp's base_url and unix_path. */
int ik__docker_set_host(ik_docker_t *dp, const char *host, ik_err_t *err);

/* The outcome of an engine call: status and parsed JSON body (NULL when
 * the body is empty or not JSON; raw has it as received), or err. */
typedef void (*ik__docker_resp_cb)(long status, json_t *body, const ik_buf_t *raw, const ik_err_t *err, void *data);

/* dp's HTTP client, created on first use: a daemon that serves
 * instance-docker but never calls the engine does not load libcurl (and
 * its ~28 libraries, several MiB of RSS). NULL (err filled) when it cannot
 * be created. */
ik_http_client_t *ik__docker_http(ik_docker_t *dp, ik_err_t *err);

/* method dp->base_url + path, with body (stolen; may be NULL) as JSON.
 * timeout_ms 0 = the client's default. Holds a reference on dp until cb
 * has run; cb gets IK_ECANCELED when dp is freed meanwhile. */
int ik__docker_call(ik_docker_t *dp, const char *method, const char *path, json_t *body, uint64_t timeout_ms,
                    ik__docker_resp_cb cb, void *data, ik_err_t *err);

/* Fill err with "instance-docker: <what>: <the engine's message> (HTTP
 * <status>)" from an error answer, or with the transport error (and a
 * hint when nothing listens on the socket). Returns err->code. */
int ik__docker_fail(ik_docker_t *dp, ik_err_t *err, const char *what, long status, const json_t *body,
                    const ik_buf_t *raw, const ik_err_t *transport);

/* The query value of filters (a JSON object of string arrays), escaped. */
void ik__docker_filters(ik_buf_t *out, const json_t *filters);

/* --- labels.c ------------------------------------------------------------ */

int ik__docker_labels_load(ik_docker_t *dp, ik_err_t *err);
/* Merge add into the tags kept for id and write the store. */
int ik__docker_labels_add(ik_docker_t *dp, const char *id, json_t *add, ik_err_t *err);
/* Forget id (destroyed); a failed write is logged (the entry is harmless). */
void ik__docker_labels_forget(ik_docker_t *dp, const char *id);
/* Whether any kept tags use key (describe cannot ask the engine to filter on it). */
bool ik__docker_labels_use_key(const ik_docker_t *dp, const char *key);
/* tags (an object) updated with what is kept for id. */
void ik__docker_labels_merge(const ik_docker_t *dp, const char *id, json_t *tags);

/* --- events.c ------------------------------------------------------------ */

/* Follow the engine's events while someone watches; stop when no one does. */
void ik__docker_events_update(ik_docker_t *dp);
/* Tell every watcher (docker.c's notify). */
void ik__docker_notify(ik_docker_t *dp, const char *id, const char *why);
/* Handle one line of the stream: a JSON event message (for the tests, too). */
void ik__docker_event_line(ik_docker_t *dp, const char *line, size_t len);

#endif
