/* infrakit plugin ls|start|stop: the plugins directory, seen and managed
 * from the command line. ls asks every plugin for Handshake.Hello (all at
 * once); start runs `infrakit daemon --plugin NAME...` in the background
 * and waits for its sockets; stop signals the process that really listens
 * on a socket (the kernel says which, SO_PEERCRED) and waits for it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "net/discovery.h"
#include "net/client/rpc_client.h"

#define HELLO_TIMEOUT_MS 3000

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(int ms) {
  struct timespec ts = {0, (long)ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* --timeout SECS, shared by start and stop. */
static int parse_timeout(const ik_cli_cmd_t *cmd, const char *arg, double *out) {
  char *end;
  double v = strtod(arg, &end);
  if (end == arg || *end != '\0' || !(v > 0) || v > 3600)
    return ik_cli_usage_error(cmd, "--timeout \"%s\": want seconds, > 0 and <= 3600", arg);
  *out = v;
  return 0;
}

/* The options of start and stop: --timeout, then at least one NAME.
 * Returns -1 to go on (*first = the first NAME), else the exit status. */
static int parse_names(const ik_cli_cmd_t *cmd, int argc, char **argv, double *timeout, int *first,
                       const char *missing) {
  static const ik_opt_t opts[] = {{"timeout", 0, true}, {NULL, 0, false}};
  ik_optparse_t p;
  ik_opt_init(&p, cmd, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0 || parse_timeout(cmd, p.arg, timeout)) return IK_EXIT_USAGE;
  }
  if (p.index >= argc) return ik_cli_usage_error(cmd, "missing plugin NAME (%s)", missing);
  *first = p.index;
  return -1;
}

/* --- ls --------------------------------------------------------------------- */

typedef struct listed {
  ik_plugin_entry_t e;
  pid_t pid; /* from the kernel when alive, else the pid file */
  ik_cli_result_t hello;
  ik_rpc_client_t *client;
} listed_t;

static const char *status_of(const listed_t *l) {
  if (l->e.socket[0] && !l->e.alive) return "stale";
  return l->hello.err.code ? "error" : "ok";
}

/* "Instance/0.6.1,Flavor/0.1.1" from Hello's Objects. */
static void interfaces_of(const listed_t *l, char *out, size_t len) {
  out[0] = '\0';
  json_t *objects = ik_json_get(l->hello.result, "Objects");
  const char *key;
  json_t *v;
  json_object_foreach(objects, key, v) {
    size_t n = strlen(out);
    snprintf(out + n, len - n, "%s%s", n ? "," : "", key);
  }
  if (out[0] == '\0') snprintf(out, len, "-");
}

static json_t *listed_json(const listed_t *l) {
  json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:b}", "Name", l->e.name, "Socket", l->e.socket, "URL", l->e.url,
                        "Pid", (int)l->pid, "Status", status_of(l), "Alive", !strcmp(status_of(l), "ok"));
  json_t *objects = ik_json_get(l->hello.result, "Objects");
  json_object_set(o, "Interfaces", objects ? objects : json_object());
  if (l->hello.err.code) json_object_set_new(o, "Error", json_string(l->hello.err.msg));
  return o;
}

static const ik_cli_cmd_t ik_cmd_plugin_ls;
static int ls_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {{"json", 0, false}, {NULL, 0, false}};
  const ik_cli_cmd_t *cmd = &ik_cmd_plugin_ls;
  bool as_json = false;
  ik_optparse_t p;
  ik_opt_init(&p, cmd, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    as_json = true;
  }
  if (p.index < argc) return ik_cli_usage_error(cmd, "unexpected argument \"%s\"", argv[p.index]);

  ik_err_t err = {0};
  ik_cli_remote_t r;
  if (ik_cli_remote_open(&r, &err) < 0) {
    ik_cli_eprintf("infrakit plugin ls: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }
  ik_plugin_entry_t *entries = NULL;
  size_t n = 0;
  if (ik_plugins_scan(r.dir, &entries, &n, &err) < 0) {
    ik_cli_remote_close(&r);
    ik_cli_eprintf("infrakit plugin ls: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }
  listed_t *list = ik_calloc(n ? n : 1, sizeof *list);
  int asked = 0, answered = 0;
  for (size_t i = 0; i < n; i++) {
    listed_t *l = &list[i];
    l->e = entries[i];
    l->pid = l->e.alive ? ik_unix_socket_peer_pid(l->e.socket) : 0;
    if (l->pid == 0) l->pid = l->e.pid;
    if (l->e.socket[0] && !l->e.alive) continue; /* stale: nobody to ask */
    const char *addr = l->e.socket[0] ? l->e.socket : l->e.url;
    if (ik_rpc_client_new(r.http, addr, HELLO_TIMEOUT_MS, &l->client, &l->hello.err) < 0) continue;
    if (ik_rpc_call(l->client, NULL, NULL, "Handshake.Hello", NULL, ik_cli_result_cb, &l->hello, NULL,
                    &l->hello.err) == 0)
      asked++;
  }
  /* Every call has a timeout, so the loop runs dry or all have answered. */
  for (;;) {
    answered = 0;
    for (size_t i = 0; i < n; i++) answered += list[i].hello.done;
    if (answered >= asked || !uv_run(&r.loop.uv, UV_RUN_ONCE)) break;
  }

  if (as_json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, listed_json(&list[i]));
    ik_cli_print_json(arr);
    json_decref(arr);
  } else if (n == 0) {
    printf("No plugins in %s. Start one with 'infrakit plugin start instance-file'.\n", r.dir);
  } else {
    printf("%-24s %-32s %-8s %-7s %s\n", "NAME", "INTERFACES", "PID", "STATUS", "ADDRESS");
    for (size_t i = 0; i < n; i++) {
      char ifaces[512], pid[16] = "-";
      interfaces_of(&list[i], ifaces, sizeof ifaces);
      if (list[i].pid) snprintf(pid, sizeof pid, "%d", (int)list[i].pid);
      printf("%-24s %-32s %-8s %-7s %s\n", list[i].e.name, ifaces, pid, status_of(&list[i]),
             list[i].e.socket[0] ? list[i].e.socket : list[i].e.url);
      if (list[i].hello.err.code) printf("  error: %s\n", list[i].hello.err.msg);
    }
  }
  for (size_t i = 0; i < n; i++) {
    ik_rpc_client_free(list[i].client);
    ik_cli_result_clear(&list[i].hello);
  }
  ik_cli_remote_close(&r);
  ik_free(list);
  ik_free(entries);
  return IK_EXIT_OK;
}

static const ik_cli_cmd_t ik_cmd_plugin_ls = {
    .name = "plugin ls",
    .summary = "List the plugins in the plugins directory",
    .usage = "infrakit plugin ls [--json]",
    .help = "Every socket (and NAME.listen file) in the plugins directory is a plugin, ours\n"
            "or InfraKit's. Each live one is asked Handshake.Hello for the interfaces it\n"
            "implements. STATUS is ok (it answered), stale (a socket nobody serves: its\n"
            "process died) or error (it did not answer; the error follows).\n\n"
            "Options:\n"
            "  --json   print a JSON list of {Name, Socket, URL, Pid, Status, Alive,\n"
            "           Interfaces, Error}\n",
    .run = ls_run,
};

/* --- start ------------------------------------------------------------------ */

/* The log file of a background daemon: $INFRAKIT_HOME/logs/NAME.log
 * into *out (caller frees). */
static int log_path(const char *name, char **out, ik_err_t *err) {
  char home[4096];
  int rc = ik_home_dir(home, sizeof home, err);
  if (rc < 0) return rc;
  char *logs = ik_sprintf("%s/logs", home);
  if (mkdir(logs, 0700) < 0 && errno != EEXIST) rc = ik_err_set(err, IK_EIO, "create %s: %s", logs, strerror(errno));
  else *out = ik_sprintf("%s/%s.log", logs, name);
  ik_free(logs);
  return rc;
}

/* Start `infrakit daemon --plugin N...` detached (own session, stdin from
 * /dev/null, output to log). Returns its pid, or -1 with err filled. */
static pid_t spawn_daemon(char **names, int n, const char *log, ik_err_t *err) {
  char exe[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len < 0) return ik_err_set(err, IK_EIO, "cannot find the infrakit binary: %s", strerror(errno)), -1;
  exe[len] = '\0';
  int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logfd < 0) return ik_err_set(err, IK_EIO, "open %s: %s", log, strerror(errno)), -1;
  static char daemon_arg[] = "daemon", plugin_arg[] = "--plugin";
  char **args = ik_calloc((size_t)(2 + 2 * n + 1), sizeof *args);
  int k = 0;
  args[k++] = exe;
  args[k++] = daemon_arg;
  for (int i = 0; i < n; i++) {
    args[k++] = plugin_arg;
    args[k++] = names[i];
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    execv(exe, args);
    dprintf(2, "infrakit plugin start: exec %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  int saved = errno;
  close(logfd);
  ik_free(args);
  if (pid < 0) return ik_err_set(err, IK_EIO, "fork: %s", strerror(saved)), -1;
  return pid;
}

/* The last lines of a log, indented, to stderr. */
static void print_log_tail(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return;
  char line[1024], tail[8][1024];
  int n = 0;
  while (fgets(line, sizeof line, f)) snprintf(tail[n++ % 8], sizeof tail[0], "%s", line);
  fclose(f);
  for (int i = n > 8 ? n - 8 : 0; i < n; i++) ik_cli_eprintf("  %s", tail[i % 8]);
}

static bool socket_alive(const char *dir, const char *name) {
  char *path = ik_sprintf("%s/%s", dir, name);
  bool alive = ik_unix_socket_alive(path);
  ik_free(path);
  return alive;
}

static const ik_cli_cmd_t ik_cmd_plugin_start;
static int start_run(int argc, char **argv) {
  const ik_cli_cmd_t *cmd = &ik_cmd_plugin_start;
  double timeout = 10;
  int first, rc = parse_names(cmd, argc, argv, &timeout, &first, "see 'infrakit daemon --help'");
  if (rc >= 0) return rc;
  char known[1024];
  for (int i = first; i < argc; i++) {
    if (ik_daemon_can_host(argv[i], known, sizeof known)) continue;
    size_t nbuiltin = 0;
    while (ik_daemon_builtins[nbuiltin]) nbuiltin++;
    const char *guess = ik_cli_suggest(argv[i], ik_daemon_builtins, nbuiltin);
    if (guess) return ik_cli_usage_error(cmd, "%s: no such plugin (did you mean %s?)", argv[i], guess);
    return ik_cli_usage_error(cmd, "%s: no such plugin (known: %s)", argv[i], known);
  }

  ik_err_t err = {0};
  char dir[4096];
  if (ik_plugins_dir(dir, sizeof dir, &err) < 0) {
    ik_cli_eprintf("infrakit plugin start: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }
  char **todo = ik_calloc((size_t)(argc - first), sizeof *todo);
  int n = 0;
  for (int i = first; i < argc; i++) {
    char *path = ik_sprintf("%s/%s", dir, argv[i]);
    pid_t running = ik_unix_socket_peer_pid(path);
    ik_free(path);
    if (running) printf("%s is already running (pid %d)\n", argv[i], (int)running);
    else todo[n++] = argv[i];
  }
  int status = IK_EXIT_OK;
  char *log = NULL;
  pid_t pid = -1;
  if (n == 0) goto out;
  if (log_path(todo[0], &log, &err) < 0 || (pid = spawn_daemon(todo, n, log, &err)) < 0) {
    ik_cli_eprintf("infrakit plugin start: %s\n", err.msg);
    status = IK_EXIT_FAIL;
    goto out;
  }
  for (double deadline = now_s() + timeout;;) {
    int up = 0;
    for (int i = 0; i < n; i++) up += socket_alive(dir, todo[i]);
    if (up == n) break;
    int wstatus;
    if (waitpid(pid, &wstatus, WNOHANG) == pid) {
      ik_cli_eprintf("infrakit plugin start: %s did not start (daemon exited with status %d); its log, %s:\n",
                     todo[0], WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus), log);
      print_log_tail(log);
      status = IK_EXIT_FAIL;
      goto out;
    }
    if (now_s() > deadline) {
      kill(pid, SIGTERM);
      ik_cli_eprintf("infrakit plugin start: %s did not come up within %g s (stopped it); see %s\n", todo[0],
                     timeout, log);
      status = IK_EXIT_FAIL;
      goto out;
    }
    nap_ms(10);
  }
  for (int i = 0; i < n; i++) printf("started %s (pid %d, socket %s/%s, log %s)\n", todo[i], (int)pid, dir, todo[i], log);
out:
  ik_free(log);
  ik_free(todo);
  return status;
}

static const ik_cli_cmd_t ik_cmd_plugin_start = {
    .name = "plugin start",
    .summary = "Start built-in plugins in a background daemon",
    .usage = "infrakit plugin start [--timeout SECS] NAME...",
    .help = "Runs `infrakit daemon --plugin NAME...` in the background (its own session,\n"
            "output to $INFRAKIT_HOME/logs/NAME.log, NAME being the first one) and waits until\n"
            "every NAME answers on its socket. A NAME already running is left alone.\n"
            "NAME is a built-in (group, instance-file, instance-process, instance-docker,\n"
            "instance-qemu, flavor-vanilla, flavor-combo, flavor-zookeeper, flavor-swarm,\n"
            "flavor-http) or a Lua file $INFRAKIT_HOME/flavors/NAME.lua or\n"
            "$INFRAKIT_HOME/providers/NAME.lua.\n\n"
            "Options:\n"
            "  --timeout SECS   how long to wait for the sockets (default 10)\n\n"
            "Example:\n"
            "  infrakit plugin start instance-file && infrakit plugin ls\n",
    .run = start_run,
};

/* --- stop ------------------------------------------------------------------- */

/* True once pid is gone (or a zombie waiting for its parent). */
static bool process_gone(pid_t pid) {
  if (kill(pid, 0) < 0 && errno == ESRCH) return true;
  char path[64], buf[256] = "";
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return true;
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[got] = '\0';
  const char *paren = strrchr(buf, ')');
  return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* Stop the process serving NAME; prints what happened. Returns the exit
 * status for this NAME. */
static int stop_one(const char *dir, const char *name, double timeout) {
  char *path = ik_sprintf("%s/%s", dir, name);
  char *pidpath = ik_sprintf("%s.pid", path);
  struct stat st;
  bool has_socket = lstat(path, &st) == 0, has_pid = stat(pidpath, &st) == 0;
  pid_t pid = has_socket || has_pid ? ik_unix_socket_peer_pid(path) : 0;
  ik_free(pidpath);
  ik_free(path);
  if (!has_socket && !has_pid) {
    ik_cli_eprintf("infrakit plugin stop: %s is not running (no socket or pid file in %s)\n", name, dir);
    return IK_EXIT_FAIL;
  }
  if (pid == 0) {
    ik_plugin_unpublish(dir, name);
    printf("%s was not running; removed its stale files\n", name);
    return IK_EXIT_OK;
  }
  if (pid == getpid()) {
    ik_cli_eprintf("infrakit plugin stop: %s is served by this process\n", name);
    return IK_EXIT_FAIL;
  }
  /* Other plugins served by the same process go with it: say so. */
  ik_plugin_entry_t *entries = NULL;
  size_t n = 0;
  char others[512] = "";
  if (ik_plugins_scan(dir, &entries, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++) {
      if (strcmp(entries[i].name, name) == 0 || !entries[i].alive) continue;
      if (ik_unix_socket_peer_pid(entries[i].socket) != pid) continue;
      size_t len = strlen(others);
      snprintf(others + len, sizeof others - len, "%s%s", len ? ", " : "", entries[i].name);
    }
  }
  ik_free(entries);
  if (kill(pid, SIGTERM) < 0) {
    ik_cli_eprintf("infrakit plugin stop: %s: signal pid %d: %s\n", name, (int)pid, strerror(errno));
    return IK_EXIT_FAIL;
  }
  for (double deadline = now_s() + timeout; !process_gone(pid);) {
    if (now_s() > deadline) {
      ik_cli_eprintf("infrakit plugin stop: %s (pid %d) did not stop within %g s; kill -9 %d if it must go\n", name,
                     (int)pid, timeout, (int)pid);
      return IK_EXIT_FAIL;
    }
    nap_ms(10);
  }
  printf("stopped %s (pid %d)%s%s\n", name, (int)pid, others[0] ? "; it also served " : "", others);
  return IK_EXIT_OK;
}

/* NAMEs name sockets in the plugins dir, never paths: a usage error (its
 * exit status) for the first that is not, else -1. */
static int check_socket_names(const ik_cli_cmd_t *cmd, int argc, char **argv, int first) {
  for (int i = first; i < argc; i++)
    if (strchr(argv[i], '/') || argv[i][0] == '.')
      return ik_cli_usage_error(cmd, "\"%s\": want a plugin's socket name", argv[i]);
  return -1;
}

static const ik_cli_cmd_t ik_cmd_plugin_stop;
static int stop_run(int argc, char **argv) {
  const ik_cli_cmd_t *cmd = &ik_cmd_plugin_stop;
  double timeout = 10;
  int first, rc = parse_names(cmd, argc, argv, &timeout, &first, "see 'infrakit plugin ls'");
  if (rc >= 0) return rc;
  if ((rc = check_socket_names(cmd, argc, argv, first)) >= 0) return rc;
  ik_err_t err = {0};
  char dir[4096];
  if (ik_plugins_dir(dir, sizeof dir, &err) < 0) {
    ik_cli_eprintf("infrakit plugin stop: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }
  int status = IK_EXIT_OK;
  for (int i = first; i < argc; i++)
    if (stop_one(dir, argv[i], timeout) != IK_EXIT_OK) status = IK_EXIT_FAIL;
  return status;
}

static const ik_cli_cmd_t ik_cmd_plugin_stop = {
    .name = "plugin stop",
    .summary = "Stop the process serving a plugin",
    .usage = "infrakit plugin stop [--timeout SECS] NAME...",
    .help = "Sends SIGTERM to the process that listens on the plugin's socket (asked of\n"
            "the kernel, not taken from NAME.pid, which may be stale) and waits until it\n"
            "has exited. A daemon hosting several plugins stops them all; the output says\n"
            "which. A stale socket (its process died) is just removed.\n\n"
            "Options:\n"
            "  --timeout SECS   how long to wait (default 10)\n",
    .run = stop_run,
};

/* --- reload ----------------------------------------------------------------- */

/* Ask the daemon serving NAME to load its Lua file again (Plugin.Reload on
 * the plugin's own socket); prints the outcome. Returns the exit status. */
static int reload_one(ik_cli_remote_t *r, const char *name, double timeout) {
  ik_err_t err = {0};
  ik_rpc_client_t *client = NULL;
  if (ik_rpc_client_open(r->http, r->dir, name, (uint64_t)(timeout * 1000), &client, &err) < 0) {
    ik_cli_eprintf(
        "infrakit plugin reload: %s is not running (no socket in %s); see 'infrakit plugin ls'.\n"
        "A new file, or one that did not load when the daemon started, is served after SIGHUP to the daemon.\n",
        name, r->dir);
    return IK_EXIT_FAIL;
  }
  ik_cli_result_t res = {0};
  if (ik_rpc_call(client, NULL, NULL, "Plugin.Reload", NULL, ik_cli_result_cb, &res, NULL, &res.err) < 0) {
    res.done = 1;
  } else {
    ik_cli_remote_wait(r, &res.done, 1);
  }
  int status = IK_EXIT_OK;
  if (res.err.code == IK_ENOTFOUND && strstr(res.err.msg, "Plugin.Reload")) {
    ik_cli_eprintf(
        "infrakit plugin reload: %s cannot be reloaded: only Lua flavors and providers from $INFRAKIT_HOME/flavors\n"
        "and $INFRAKIT_HOME/providers are (%s)\n",
        name, res.err.msg);
    status = IK_EXIT_FAIL;
  } else if (res.err.code) {
    ik_cli_eprintf("infrakit plugin reload: %s\n", res.err.msg);
    status = IK_EXIT_FAIL;
  } else {
    const char *file = json_string_value(json_object_get(res.result, "File"));
    printf("reloaded %s (%s)\n", name, file ? file : "?");
  }
  ik_cli_result_clear(&res);
  ik_rpc_client_free(client);
  return status;
}

static const ik_cli_cmd_t ik_cmd_plugin_reload;
static int reload_run(int argc, char **argv) {
  const ik_cli_cmd_t *cmd = &ik_cmd_plugin_reload;
  double timeout = 30;
  int first, rc = parse_names(cmd, argc, argv, &timeout, &first, "see 'infrakit plugin ls'");
  if (rc >= 0) return rc;
  if ((rc = check_socket_names(cmd, argc, argv, first)) >= 0) return rc;
  ik_err_t err = {0};
  ik_cli_remote_t r;
  if (ik_cli_remote_open(&r, &err) < 0) {
    ik_cli_eprintf("infrakit plugin reload: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }
  int status = IK_EXIT_OK;
  for (int i = first; i < argc; i++)
    if (reload_one(&r, argv[i], timeout) != IK_EXIT_OK) status = IK_EXIT_FAIL;
  ik_cli_remote_close(&r);
  return status;
}

static const ik_cli_cmd_t ik_cmd_plugin_reload = {
    .name = "plugin reload",
    .summary = "Load a running Lua flavor or provider's file again",
    .usage = "infrakit plugin reload [--timeout SECS] NAME...",
    .help = "Asks the daemon serving NAME to load $INFRAKIT_HOME/flavors/NAME.lua (or\n"
            "providers/NAME.lua) again, changed or not, without a restart: calls already\n"
            "running finish on the old code, new calls run on the new. If the file does not\n"
            "load (a syntax error, an error while it runs, a missing function) the previous\n"
            "version keeps serving, the daemon logs why, and this command prints the error\n"
            "(file and line) and exits 1. A provider's watch is restarted on the new code.\n\n"
            "The request is the method Plugin.Reload on the plugin's own socket (an\n"
            "infrakit extension, not listed by Handshake.Hello). Built-in plugins and\n"
            "plugins of other programs cannot be reloaded.\n\n"
            "SIGHUP to the daemon reloads every Lua flavor and provider whose file changed\n"
            "(and, for a daemon serving all plugins, starts serving new files).\n\n"
            "Options:\n"
            "  --timeout SECS   how long to wait for the answer (default 30)\n\n"
            "Examples:\n"
            "  vi ~/.infrakit/flavors/hostname.lua && infrakit plugin reload hostname\n"
            "  kill -HUP $(cat ~/.infrakit/plugins/group.pid)\n",
    .run = reload_run,
};

/* --- the command ------------------------------------------------------------ */

static const ik_cli_cmd_t *const plugin_subs[] = {&ik_cmd_plugin_ls, &ik_cmd_plugin_start, &ik_cmd_plugin_stop,
                                                  &ik_cmd_plugin_reload, NULL};

static int plugin_run(int argc, char **argv) { return ik_cli_run_sub(&ik_cmd_plugin, plugin_subs, argc, argv); }

const ik_cli_cmd_t ik_cmd_plugin = {
    .name = "plugin",
    .summary = "List, start, stop and reload plugins in the plugins directory",
    .usage = "infrakit plugin ls|start|stop|reload ...",
    .help = "Subcommands (each has --help):\n"
            "  ls      list plugins: name, interfaces, pid, status, socket\n"
            "  start   start built-in plugins in a background daemon\n"
            "  stop    stop the process serving a plugin\n"
            "  reload  load a running Lua flavor or provider's file again\n\n"
            "The plugins directory is $INFRAKIT_PLUGINS_DIR, else $INFRAKIT_HOME/plugins,\n"
            "else ~/.infrakit/plugins. See docs/plugins.md.\n",
    .run = plugin_run,
};
