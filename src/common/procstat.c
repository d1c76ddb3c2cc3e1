/* This process's figures from /proc: see procstat.h. */
#include "common/procstat.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Boot time (seconds since the epoch) from /proc/stat's btime line. */
static double boot_time(void)
{
	char line[256];
	double bt = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "btime ", 6) == 0) {
			bt = strtod(line + 6, NULL);
			break;
		}
	fclose(f);
	return bt;
}

static uint64_t count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint64_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	/* Not counting the descriptor opendir itself held. */
	return n ? n - 1 : 0;
}

/* Reads path (a /proc/PID/stat) into text (cap bytes) and returns where
 * field 3 starts, or NULL with errno set.  The command name (field 2) is
 * in parentheses and may hold spaces and parentheses: the fields that
 * follow start after the last ')'. */
static const char *stat_fields(const char *path, char *text, size_t cap)
{
	FILE *f = fopen(path, "re");
	const char *p;
	size_t n;

	if (!f)
		return NULL;
	n = fread(text, 1, cap - 1, f);
	fclose(f);
	text[n] = '\0';
	if (!(p = strrchr(text, ')'))) {
		errno = EPROTO;
		return NULL;
	}
	return p + 1;
}

/* Fields 3.. : state ppid pgrp session tty_nr tpgid flags minflt cminflt
 * majflt cmajflt utime(14) stime(15) cutime cstime priority nice
 * num_threads(20) itrealvalue starttime(22) vsize(23) rss(24) */
#define STAT_TO_UTIME " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "

int procstat_cpu_ns(int pid, uint64_t *ns)
{
	char path[64], text[1024];
	const char *p;
	unsigned long long utime, stime;
	long tck = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(p = stat_fields(path, text, sizeof(text))))
		return -1;
	if (tck <= 0 || sscanf(p, STAT_TO_UTIME "%llu %llu", &utime, &stime) != 2) {
		errno = EPROTO;
		return -1;
	}
	*ns = (uint64_t)(utime + stime) * (1000000000u / (uint64_t)tck);
	return 0;
}

int procstat_read(procstat *out)
{
	char text[1024];
	const char *p;
	unsigned long long utime, stime, start, vsize, threads;
	long long rss;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;

	if (!(p = stat_fields("/proc/self/stat", text, sizeof(text))) || tck <= 0 || page <= 0)
		return -1;
	if (sscanf(p, STAT_TO_UTIME "%llu %llu %*d %*d %*d %*d %llu %*d %llu %llu %lld",
		   &utime, &stime, &threads, &start, &vsize, &rss) != 6)
		return -1;
	memset(out, 0, sizeof(*out));
	out->cpu_seconds = (double)(utime + stime) / (double)tck;
	out->threads = threads;
	out->start_time_seconds = boot_time() + (double)start / (double)tck;
	out->virtual_bytes = vsize;
	out->resident_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
	out->open_fds = count_fds();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		out->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
	return 0;
}
