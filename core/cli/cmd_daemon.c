/* infrakit daemon: host the built-in plugins, each on its own socket in the
 * plugins directory, until SIGINT/SIGTERM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/log.h"
#include "cli/cli.h"
#include "loop/loop.h"
#include "net/discovery.h"
#include "net/rpc_instance.h"
#include "net/rpc_server.h"
#include "providers/file/file.h"

#define IK_DAEMON_MAX_PLUGINS 8

typedef struct hosted {
  char name[64];
  ik_rpc_server_t *rpc;
  ik_instance_plugin_t instance;
  bool published;
} hosted_t;

typedef struct daemon {
  ik_loop_t loop;
  char dir[4096];
  const char *file_dir;  /* --instance-file-dir */
  hosted_t plugins[IK_DAEMON_MAX_PLUGINS];
  int nplugins;
} daemon_t;

/* A built-in plugin: make its objects and add them to h->rpc. */
typedef struct builtin {
  const char *name;
  int (*setup)(daemon_t *d, hosted_t *h, ik_err_t *err);
} builtin_t;

static int setup_instance_file(daemon_t *d, hosted_t *h, ik_err_t *err) {
  int rc = ik_file_provider_new(&d->loop, d->file_dir, &h->instance, err);
  if (rc < 0) return rc;
  return ik_rpc_server_add(h->rpc, &ik_rpc_instance_iface, ".", &h->instance, err);
}

static const builtin_t builtins[] = {
    {"instance-file", setup_instance_file},
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

const char *const ik_daemon_builtins[] = {"instance-file", NULL};
_Static_assert(sizeof ik_daemon_builtins / sizeof ik_daemon_builtins[0] == NBUILTINS + 1,
               "ik_daemon_builtins lists every builtin");

static const builtin_t *find_builtin(const char *name) {
  for (size_t i = 0; i < NBUILTINS; i++)
    if (strcmp(builtins[i].name, name) == 0) return &builtins[i];
  return NULL;
}

static void daemon_stop(daemon_t *d) {
  for (int i = d->nplugins - 1; i >= 0; i--) {
    hosted_t *h = &d->plugins[i];
    ik_rpc_server_free(h->rpc);
    h->rpc = NULL;
    if (h->published) ik_plugin_unpublish(d->dir, h->name);
    h->published = false;
    if (h->instance.vt) h->instance.vt->free(h->instance.self);
    h->instance.vt = NULL;
  }
  d->nplugins = 0;
}

static void on_shutdown(ik_loop_t *loop, int signum, void *data) {
  daemon_t *d = data;
  ik_log(IK_LOG_INFO, "daemon", "shutting down", "signal", signum == 2 ? "SIGINT" : "SIGTERM", NULL);
  daemon_stop(d);
}

/* Serve h->rpc as NAME on DIR/NAME (and on tcp when given). */
static int serve(daemon_t *d, hosted_t *h, const char *tcp, ik_err_t *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", d->dir, h->name);
  int rc = ik_plugin_claim(d->dir, h->name, err);
  if (rc < 0) return rc;
  ik_http_server_opts_t opts = {.unix_path = path};
  if ((rc = ik_rpc_server_listen(h->rpc, &opts, err)) < 0) return rc;
  char url[300] = "";
  if (tcp) {
    ik_http_server_opts_t topts = {.tcp = tcp};
    if ((rc = ik_rpc_server_listen(h->rpc, &topts, err)) < 0) return rc;
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(tcp, ':') - tcp), tcp);
    snprintf(url, sizeof url, "tcp://%s:%d", host, ik_http_server_port(ik_rpc_server_http(h->rpc, 1)));
  }
  if ((rc = ik_plugin_publish(d->dir, h->name, tcp ? url : NULL, err)) < 0) return rc;
  h->published = true;
  ik_log(IK_LOG_INFO, "daemon", "serving", "plugin", h->name, "socket", path, tcp ? "tcp" : NULL, url, NULL);
  return 0;
}

static int ik__daemon_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {
      {"listen", 0, true},
      {"instance-file-dir", 0, true},
      {"plugin", 'p', true},
      {NULL, 0, false},
  };
  const char *tcp = NULL, *file_dir = NULL;
  const builtin_t *chosen[IK_DAEMON_MAX_PLUGINS];
  size_t nchosen = 0;
  ik_optparse_t p;
  ik_opt_init(&p, &ik_cmd_daemon, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    if (o == 0) tcp = p.arg;
    if (o == 1) file_dir = p.arg;
    if (o == 2) {
      const builtin_t *b = find_builtin(p.arg);
      if (b == NULL) {
        const char *guess = ik_cli_suggest(p.arg, ik_daemon_builtins, NBUILTINS);
        return ik_cli_usage_error(&ik_cmd_daemon, "--plugin %s: no such built-in plugin%s%s%s", p.arg,
                                  guess ? " (did you mean " : "", guess ? guess : "", guess ? "?)" : "");
      }
      bool dup = false;
      for (size_t i = 0; i < nchosen; i++) dup |= chosen[i] == b;
      if (!dup && nchosen < IK_DAEMON_MAX_PLUGINS) chosen[nchosen++] = b;
    }
  }
  if (nchosen == 0)
    for (size_t i = 0; i < NBUILTINS; i++) chosen[nchosen++] = &builtins[i];
  if (p.index < argc) return ik_cli_usage_error(&ik_cmd_daemon, "unexpected argument \"%s\"", argv[p.index]);

  /* One descriptor per client connection: allow as many as the hard limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  static daemon_t d;
  ik_err_t err = {0};
  if (ik_plugins_dir(d.dir, sizeof d.dir, &err) < 0) {
    fprintf(stderr, "infrakit daemon: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }
  char default_file_dir[4200];
  if (file_dir == NULL) {
    char home[4096];
    if (ik_home_dir(home, sizeof home, &err) < 0) {
      fprintf(stderr, "infrakit daemon: %s\n", err.msg);
      return IK_EXIT_FAIL;
    }
    snprintf(default_file_dir, sizeof default_file_dir, "%s/instance-file", home);
    file_dir = default_file_dir;
  }
  if (ik_loop_init(&d.loop, &err) < 0 || ik_loop_catch_signals(&d.loop, &err) < 0) {
    fprintf(stderr, "infrakit daemon: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }

  d.file_dir = file_dir;
  int exit_code = IK_EXIT_OK;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < nchosen; i++) {
    hosted_t *h = &d.plugins[d.nplugins++];
    snprintf(h->name, sizeof h->name, "%s", chosen[i]->name);
    h->rpc = ik_rpc_server_new(&d.loop, h->name);
    rc = chosen[i]->setup(&d, h, &err);
    /* --listen serves the first plugin on TCP: one port, one plugin. */
    if (rc == 0) rc = serve(&d, h, i == 0 ? tcp : NULL, &err);
  }
  if (rc < 0) {
    fprintf(stderr, "infrakit daemon: %s\n", err.msg);
    exit_code = err.code == IK_EINVAL ? IK_EXIT_USAGE : IK_EXIT_FAIL;
    daemon_stop(&d);
  } else {
    ik_loop_on_shutdown(&d.loop, on_shutdown, &d);
    ik_loop_run(&d.loop);
    ik_loop_off_shutdown(&d.loop, on_shutdown, &d);
    daemon_stop(&d);
  }
  ik_loop_run(&d.loop); /* let closing handles finish */
  int leaked = 0;
  if (ik_loop_close(&d.loop, &leaked) != 0 || leaked > 0)
    ik_log(IK_LOG_WARN, "daemon", "loop did not close clean", NULL);
  return exit_code;
}

const ik_cli_cmd_t ik_cmd_daemon = {
    .name = "daemon",
    .summary = "Serve the built-in plugins on unix sockets (InfraKit's wire)",
    .usage = "infrakit daemon [options]",
    .help = "Hosts each built-in plugin on its own unix socket in the plugins directory\n"
            "($INFRAKIT_PLUGINS_DIR, else $INFRAKIT_HOME/plugins, else ~/.infrakit/plugins),\n"
            "speaking JSON-RPC 2.0 over HTTP/1.1 like InfraKit's plugins, so InfraKit's CLI\n"
            "and Go plugins can use them. Beside each socket NAME it writes NAME.pid (and\n"
            "NAME.listen with --listen). A socket left by a crashed daemon is replaced; a\n"
            "live one is never taken over. SIGINT or SIGTERM stops it and removes the files.\n\n"
            "Plugins:\n"
            "  instance-file    Instance/0.6.1: one JSON file per instance, in\n"
            "                   $INFRAKIT_HOME/instance-file (see --instance-file-dir)\n\n"
            "Options:\n"
            "  -p, --plugin NAME         serve only this built-in plugin; repeat for more\n"
            "                            (default: all of them)\n"
            "  --listen HOST:PORT        also serve the first plugin on TCP (port 0 picks\n"
            "                            one; see NAME.listen)\n"
            "  --instance-file-dir DIR   where instance-file keeps its instances\n\n"
            "Examples:\n"
            "  INFRAKIT_HOME=/tmp/ik infrakit daemon &\n"
            "  curl --unix-socket /tmp/ik/plugins/instance-file -H 'Content-Type: application/json' \\\n"
            "       -d '{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{},\"id\":1}' http://h/\n",
    .run = ik__daemon_run,
};
