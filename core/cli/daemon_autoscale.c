/* The daemon's autoscaler task and its event sink (daemon_autoscale.h). */
#include "cli/daemon_autoscale.h"

#include "base/log.h"
#include "base/mem.h"
#include "engine/events.h"

struct ik_daemon_autoscale {
  ik_lua_t *lua;
  ik_events_t *events; /* the daemon's event log, borrowed */
};

static void emit(void *ctx, const char *group, const char *event, json_t *fields) {
  ik_daemon_autoscale_t *a = ctx;
  ik_events_emit(a->events, group, event, fields);
}

static void on_done(ik_task_t *task, ik_task_status_t status, const ik_err_t *err, void *data) {
  if (status == IK_TASK_ERROR)
    ik_log(IK_LOG_ERROR, "autoscale", "the autoscaler stopped: groups are no longer scaled", "error", err->msg, NULL);
}

int ik_daemon_autoscale_start(ik_lua_t *lua, const char *home, const char *group_socket, ik_events_t *events,
                              ik_daemon_autoscale_t **out, ik_err_t *err) {
  ik_daemon_autoscale_t *a = ik_calloc(1, sizeof *a);
  a->lua = lua;
  a->events = events;
  ik_lua_set_event_sink(lua, emit, a);
  int rc;
  char *args[] = {ik_strdup(home), ik_strdup(group_socket)}; /* pushed (copied) by the start */
  rc = ik_lua_start_string(lua, "return require('infrakit._autoscaler').run(...)", "=autoscaler", 2, args, on_done,
                           NULL, NULL, err);
  ik_free(args[0]);
  ik_free(args[1]);
  if (rc < 0) goto fail;
  *out = a;
  return 0;
fail:
  ik_lua_set_event_sink(lua, NULL, NULL);
  ik_free(a);
  return rc;
}

void ik_daemon_autoscale_free(ik_daemon_autoscale_t *a) {
  if (a == NULL) return;
  ik_lua_set_event_sink(a->lua, NULL, NULL);
  ik_free(a);
}
