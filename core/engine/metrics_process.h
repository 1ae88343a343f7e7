/* The process's own metrics, under the names every Prometheus client
 * library uses (so existing dashboards and alerts work unchanged):
 *
 *   process_cpu_seconds_total       counter  user + system CPU time
 *   process_resident_memory_bytes   gauge    resident set size
 *   process_virtual_memory_bytes    gauge    virtual memory size
 *   process_open_fds                gauge    open file descriptors
 *   process_max_fds                 gauge    the descriptor limit (RLIMIT_NOFILE)
 *   process_start_time_seconds      gauge    start time, seconds since the epoch
 *
 * Read from the kernel (/proc, getrusage) at each scrape. */
#ifndef IK_ENGINE_METRICS_PROCESS_H
#define IK_ENGINE_METRICS_PROCESS_H

#include "engine/metrics.h"

/* Register the families and their collector on m (once per registry). */
void ik_metrics_process_register(ik_metrics_t *m);

#endif
