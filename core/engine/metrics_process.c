/* process_* metrics (metrics_process.h). */
#include "engine/metrics_process.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

typedef struct process_metrics {
  ik_metric_series_t *cpu, *rss, *vsize, *fds, *max_fds, *start;
  double start_time; /* computed once: it does not change */
} process_metrics_t;

/* Descriptors open now: the entries of /proc/self/fd, less the one the
 * listing itself holds. */
static double open_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return 0;
  double n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(dir);
  return n > 0 ? n - 1 : 0;
}

/* From /proc/self/stat: the start time (field 22, clock ticks after boot,
 * plus the boot time from /proc/stat) and the virtual size (field 23).
 * The command name (field 2) may hold spaces: fields are counted after
 * its closing parenthesis. */
static void read_stat(double *start_time, double *vsize) {
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  unsigned long long ticks = 0, vm = 0;
  /* After ")": field 3 (state) onwards; starttime is the 20th, vsize the 21st. */
  if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu %llu",
                          &ticks, &vm) != 2)
    return;
  *vsize = (double)vm;
  if (start_time == NULL) return;
  unsigned long long btime = 0;
  FILE *s = fopen("/proc/stat", "r");
  char line[256];
  while (s && fgets(line, sizeof line, s))
    if (sscanf(line, "btime %llu", &btime) == 1) break;
  if (s) fclose(s);
  long hz = sysconf(_SC_CLK_TCK);
  if (btime > 0 && hz > 0) *start_time = (double)btime + (double)ticks / (double)hz;
}

static void collect(ik_metrics_t *m, void *data) {
  process_metrics_t *pm = data;
  uv_rusage_t ru;
  if (uv_getrusage(&ru) == 0)
    ik_metric_set(pm->cpu, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
  size_t rss = 0;
  if (uv_resident_set_memory(&rss) == 0) ik_metric_set(pm->rss, (double)rss);
  double vsize = 0;
  read_stat(pm->start_time > 0 ? NULL : &pm->start_time, &vsize);
  ik_metric_set(pm->vsize, vsize);
  ik_metric_set(pm->start, pm->start_time);
  ik_metric_set(pm->fds, open_fds());
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
    ik_metric_set(pm->max_fds, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
}

void ik_metrics_process_register(ik_metrics_t *m) {
  static process_metrics_t pm; /* one per process: there is one process */
  pm.cpu = ik_metric_series(
      ik_metrics_counter(m, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", NULL));
  pm.rss = ik_metric_series(
      ik_metrics_gauge(m, "process_resident_memory_bytes", "Resident memory size in bytes.", NULL));
  pm.vsize = ik_metric_series(
      ik_metrics_gauge(m, "process_virtual_memory_bytes", "Virtual memory size in bytes.", NULL));
  pm.fds = ik_metric_series(ik_metrics_gauge(m, "process_open_fds", "Number of open file descriptors.", NULL));
  pm.max_fds =
      ik_metric_series(ik_metrics_gauge(m, "process_max_fds", "Maximum number of open file descriptors.", NULL));
  pm.start = ik_metric_series(ik_metrics_gauge(m, "process_start_time_seconds",
                                               "Start time of the process since unix epoch in seconds.", NULL));
  ik_metrics_add_collector(m, collect, &pm);
}
