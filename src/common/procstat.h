/*
 * Private: this process's figures from /proc, as the Prometheus client
 * libraries export them (process_* metrics), and another process's CPU
 * time (vcli bench --server-pid).
 */
#ifndef VCLI_COMMON_PROCSTAT_H
#define VCLI_COMMON_PROCSTAT_H

#include <stdint.h>

typedef struct procstat {
	double cpu_seconds;        /* user + system */
	uint64_t resident_bytes;   /* RSS */
	uint64_t virtual_bytes;
	double start_time_seconds; /* since the Unix epoch */
	uint64_t open_fds;
	uint64_t max_fds;          /* the soft RLIMIT_NOFILE */
	uint64_t threads;
} procstat;

/* Reads them (a few small files).  0, or -1 when /proc/self/stat cannot
 * be read (then nothing is set). */
int procstat_read(procstat *out);

/* The user + system CPU process pid has used (all its threads, those gone
 * included), in ns, at clock-tick resolution (10 ms on most kernels).  0,
 * or -1 with errno set (ENOENT: no such process, or no /proc; EPROTO: a
 * line not understood). */
int procstat_cpu_ns(int pid, uint64_t *ns);

#endif
