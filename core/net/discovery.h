/* Plugin discovery in the plugins directory, InfraKit's way (reference
 * §1.1, §1.4): a plugin NAME is a unix socket DIR/NAME, with DIR/NAME.pid
 * holding its process ID, and DIR/NAME.listen holding "tcp://HOST:PORT"
 * when it also listens on TCP. Nothing else is a registry.
 *
 * Unlike InfraKit, a socket left behind by a crashed process is detected
 * (nobody accepts on it) and replaced, and a live one is never stolen. */
#ifndef IK_NET_DISCOVERY_H
#define IK_NET_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

/* $INFRAKIT_PLUGINS_DIR, else $INFRAKIT_HOME/plugins, else
 * ~/.infrakit/plugins; created (with parents) mode 0700 if missing. */
int ik_plugins_dir(char *out, size_t len, ik_err_t *err);

/* $INFRAKIT_HOME, else ~/.infrakit; created (with parents) mode 0700 if
 * missing. Home of instance-file's default directory and of logs/. */
int ik_home_dir(char *out, size_t len, ik_err_t *err);

/* Make DIR/NAME free to listen on: absent, or a stale socket (removed, with
 * its pid file). A live socket is IK_EEXIST naming the pid that serves it;
 * a non-socket file there is IK_EEXIST too. */
int ik_plugin_claim(const char *dir, const char *name, ik_err_t *err);

/* Write NAME.pid (and NAME.listen when tcp_url is not NULL), atomically. */
int ik_plugin_publish(const char *dir, const char *name, const char *tcp_url, ik_err_t *err);

/* Remove NAME, NAME.pid and NAME.listen (the ones that exist). */
void ik_plugin_unpublish(const char *dir, const char *name);

/* A plugin found in the directory. */
typedef struct ik_plugin_entry {
  char name[128];
  char socket[4096]; /* DIR/NAME, or "" when only a .listen file exists */
  char url[256];     /* from NAME.listen, or "" */
  pid_t pid;         /* from NAME.pid, or 0 */
  bool alive;        /* something accepts connections on the socket */
} ik_plugin_entry_t;

/* Every plugin in dir, sorted by name. *out is freed with ik_free(). */
int ik_plugins_scan(const char *dir, ik_plugin_entry_t **out, size_t *n, ik_err_t *err);

/* Split "lookup[/type]" at the first '/' (reference §1.4). type may be
 * NULL; lookup gets the socket name. */
void ik_plugin_name_split(const char *name, char *lookup, size_t lookup_len, const char **type);

/* True when a process accepts connections on the unix socket at path. */
bool ik_unix_socket_alive(const char *path);

/* The pid of the process listening on the unix socket at path (from the
 * kernel, SO_PEERCRED), or 0 when nothing accepts there. */
pid_t ik_unix_socket_peer_pid(const char *path);

#endif
