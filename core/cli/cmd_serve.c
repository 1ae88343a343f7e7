/* infrakit serve --listen HOST:PORT [--text TEXT] [--report FILE]: a tiny
 * HTTP server that answers every request with TEXT. The stand-in workload
 * of the quickstart and autoscale playbooks and of tests: a real process
 * with a real port, and nothing to install. With --report it writes its
 * load to FILE twice a second, {"load": requests per second over the last
 * second, "port": P, "requests": total}, the shape the autoscaler reads
 * from $INFRAKIT_HOME/metrics/GROUP/INSTANCE-ID (docs/autoscaling.md), and
 * removes FILE when it stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "cli/cli.h"
#include "loop/loop.h"
#include "loop/timer.h"
#include "net/server/http_server.h"

#define REPORT_MS 500

typedef struct serve {
  const char *text;
  size_t len;
  ik_http_server_t *http;
  const char *report; /* --report FILE, or NULL */
  ik_timer_t *timer;
  int port;
  uint64_t total;     /* requests answered */
  uint64_t window[2]; /* requests in the last two half seconds */
} serve_t;

static void on_request(ik_http_request_t *req, void *data) {
  serve_t *s = data;
  s->total++;
  s->window[1]++;
  ik_http_respond(req, 200, "text/plain; charset=utf-8", s->text, s->len);
}

/* Every REPORT_MS: the requests of the last second, per second. A failed
 * write is logged and retried at the next tick. */
static void on_report(ik_timer_t *t, void *data) {
  serve_t *s = data;
  char doc[128];
  int n = snprintf(doc, sizeof doc, "{\"load\":%llu,\"port\":%d,\"requests\":%llu}\n",
                   (unsigned long long)(s->window[0] + s->window[1]), s->port, (unsigned long long)s->total);
  s->window[0] = s->window[1];
  s->window[1] = 0;
  ik_err_t err = {0};
  if (ik_fs_replace(s->report, doc, (size_t)n, false, &err) < 0)
    ik_log(IK_LOG_WARN, "serve", "cannot write the load report", "file", s->report, "error", err.msg, NULL);
}

static void on_shutdown(ik_loop_t *loop, int signum, void *data) {
  serve_t *s = data;
  ik_http_server_close(s->http);
  s->http = NULL;
  if (s->timer) {
    ik_timer_stop(s->timer);
    s->timer = NULL;
    unlink(s->report);
  }
}

static int serve_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {{"listen", 0, true}, {"text", 0, true}, {"report", 0, true}, {NULL, 0, false}};
  const char *listen = NULL, *text = NULL, *report = NULL;
  ik_optparse_t p;
  ik_opt_init(&p, &ik_cmd_serve, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    if (o == 0) listen = p.arg;
    if (o == 1) text = p.arg;
    if (o == 2) report = p.arg;
  }
  if (p.index < argc) return ik_cli_usage_error(&ik_cmd_serve, "unexpected argument \"%s\"", argv[p.index]);
  if (listen == NULL) return ik_cli_usage_error(&ik_cmd_serve, "--listen HOST:PORT is required");
  static serve_t s;
  char buf[512];
  if (text == NULL) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    snprintf(buf, sizeof buf, "hello from %s, pid %d\n", host, (int)getpid());
    text = buf;
  }
  s.len = strlen(text);
  s.text = text;
  static ik_loop_t loop;
  ik_err_t err = {0};
  if (ik_loop_init(&loop, &err) < 0 || ik_loop_catch_signals(&loop, &err) < 0) {
    ik_cli_eprintf("infrakit serve: %s\n", err.msg);
    return IK_EXIT_FAIL;
  }
  ik_http_server_opts_t o = {.tcp = listen};
  if (ik_http_server_start(&loop, &o, on_request, &s, &s.http, &err) < 0) {
    ik_cli_eprintf("infrakit serve: %s\n", err.msg);
    ik_loop_close(&loop, NULL);
    return err.code == IK_EINVAL ? IK_EXIT_USAGE : IK_EXIT_FAIL;
  }
  char port[16];
  s.port = ik_http_server_port(s.http);
  snprintf(port, sizeof port, "%d", s.port);
  if (report) {
    s.report = report;
    on_report(NULL, &s); /* the port at once: a client may be waiting for it */
    if (ik_timer_start(&loop, REPORT_MS, REPORT_MS, on_report, &s, &s.timer, &err) < 0) {
      ik_cli_eprintf("infrakit serve: %s\n", err.msg);
      ik_http_server_close(s.http);
      ik_loop_close(&loop, NULL);
      return IK_EXIT_FAIL;
    }
  }
  ik_log(IK_LOG_INFO, "serve", "listening", "address", listen, "port", port, NULL);
  ik_loop_on_shutdown(&loop, on_shutdown, &s);
  ik_loop_run(&loop);
  ik_loop_close(&loop, NULL);
  return IK_EXIT_OK;
}

const ik_cli_cmd_t ik_cmd_serve = {
    .name = "serve",
    .summary = "A tiny HTTP server answering every request with a text (demos, tests)",
    .usage = "infrakit serve --listen HOST:PORT [--text TEXT] [--report FILE]",
    .help = "Answers every HTTP request with 200 and TEXT (default: \"hello from HOST,\n"
            "pid N\"). The quickstart playbook runs a group of these as its instances:\n"
            "a real process on a real port, with nothing to install. SIGINT or SIGTERM\n"
            "stops it.\n\n"
            "Options:\n"
            "  --listen HOST:PORT   where to listen (port 0 picks one; see the log line)\n"
            "  --text TEXT          the answer\n"
            "  --report FILE        write {\"load\": requests/s over the last second, \"port\": P,\n"
            "                       \"requests\": total} to FILE twice a second (for the\n"
            "                       autoscaler: docs/autoscaling.md); removed on exit\n\n"
            "Example:\n"
            "  infrakit serve --listen 127.0.0.1:8080 --text 'hi' & curl 127.0.0.1:8080\n",
    .run = serve_run,
};
