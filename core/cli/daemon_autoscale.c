/* The daemon's autoscaler task, its event sink and its store (daemon_autoscale.h). */
#include "cli/daemon_autoscale.h"

#include "base/log.h"
#include "base/mem.h"
#include "engine/events.h"

struct ik_daemon_autoscale {
  ik_lua_t *lua;
  ik_events_t *events; /* the daemon's event log, borrowed */
  char *home, *group_socket;
  ik_task_t *task; /* while it runs */
};

static void emit(void *ctx, const char *group, const char *event, json_t *fields) {
  ik_daemon_autoscale_t *a = ctx;
  ik_events_emit(a->events, group, event, fields);
}

static void on_done(ik_task_t *task, ik_task_status_t status, const ik_err_t *err, void *data) {
  ik_daemon_autoscale_t *a = data;
  a->task = NULL;
  if (status == IK_TASK_ERROR)
    ik_log(IK_LOG_ERROR, "autoscale", "the autoscaler stopped: groups are no longer scaled", "error", err->msg, NULL);
}

ik_daemon_autoscale_t *ik_daemon_autoscale_new(ik_lua_t *lua, const char *home, const char *group_socket,
                                               ik_events_t *events, const ik_store_t *store) {
  ik_daemon_autoscale_t *a = ik_calloc(1, sizeof *a);
  a->lua = lua;
  a->events = events;
  a->home = ik_strdup(home);
  a->group_socket = ik_strdup(group_socket);
  ik_lua_set_event_sink(lua, emit, a);
  ik_lua_set_store(lua, store);
  return a;
}

int ik_daemon_autoscale_start(ik_daemon_autoscale_t *a, ik_err_t *err) {
  if (a->task) return 0;
  char *args[] = {a->home, a->group_socket}; /* pushed (copied) by the start */
  return ik_lua_start_string(a->lua, "return require('infrakit._autoscaler').run(...)", "=autoscaler", 2, args,
                             on_done, a, &a->task, err);
}

void ik_daemon_autoscale_stop(ik_daemon_autoscale_t *a) {
  if (a && a->task) ik_lua_task_cancel(a->task); /* on_done clears a->task */
}

void ik_daemon_autoscale_free(ik_daemon_autoscale_t *a) {
  if (a == NULL) return;
  ik_daemon_autoscale_stop(a);
  ik_lua_set_event_sink(a->lua, NULL, NULL);
  ik_lua_set_store(a->lua, NULL);
  ik_free(a->home);
  ik_free(a->group_socket);
  ik_free(a);
}
