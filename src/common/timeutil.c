#include "common/timeutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void time_wall(int64_t *sec, int32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*nsec = (int32_t)ts.tv_nsec;
}

int duration_parse_ms(const char *text, uint64_t *ms)
{
	static const struct { const char *unit; double ms; } units[] = {
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "ms", 1 }, { "s", 1000 },
		{ "m", 60000 }, { "h", 3600000 }, { "", 1000 },
	};
	char *end;
	double v;

	if (!text || !*text || *text == '-' || *text == '+' ||
	    (*text != '.' && (*text < '0' || *text > '9')))
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !isfinite(v) || v < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			double r = ceil(v * units[i].ms);
			if (r > 1e15)
				return -1;
			*ms = (uint64_t)r;
			return 0;
		}
	}
	return -1;
}

void duration_format(uint64_t ms, char *out, size_t outlen)
{
	uint64_t s = ms / 1000, h = s / 3600, m = s / 60 % 60;

	if (ms < 1000)
		snprintf(out, outlen, "%llums", (unsigned long long)ms);
	else if (h)
		snprintf(out, outlen, "%lluh%llum%llus", (unsigned long long)h,
			 (unsigned long long)m, (unsigned long long)(s % 60));
	else if (m)
		snprintf(out, outlen, "%llum%llus", (unsigned long long)m,
			 (unsigned long long)(s % 60));
	else
		snprintf(out, outlen, "%llus", (unsigned long long)s);
}

int grpc_timeout_parse(const char *v, size_t n, uint64_t *ns)
{
	uint64_t x = 0, mul;
	size_t i;

	if (n < 2 || n > 9)
		return -1;
	for (i = 0; i < n - 1; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	switch (v[n - 1]) {
	case 'H': mul = 3600000000000ull; break;
	case 'M': mul = 60000000000ull; break;
	case 'S': mul = 1000000000ull; break;
	case 'm': mul = 1000000ull; break;
	case 'u': mul = 1000ull; break;
	case 'n': mul = 1ull; break;
	default: return -1;
	}
	/* 8 digits of hours still fit in 64 bits of nanoseconds?  99999999 h
	 * is 3.6e20 ns: no, so saturate. */
	if (x > UINT64_MAX / mul)
		*ns = UINT64_MAX;
	else
		*ns = x * mul;
	return 0;
}

void grpc_timeout_format(uint64_t ms, char *out, size_t outlen)
{
	if (ms < 100000000ull)
		snprintf(out, outlen, "%llum", (unsigned long long)ms);
	else if (ms / 1000 < 100000000ull)
		snprintf(out, outlen, "%lluS", (unsigned long long)((ms + 999) / 1000));
	else if (ms / 60000 < 100000000ull)
		snprintf(out, outlen, "%lluM", (unsigned long long)((ms + 59999) / 60000));
	else
		snprintf(out, outlen, "%lluH", (unsigned long long)((ms / 3600000 + 1) > 99999999ull ? 99999999ull : ms / 3600000 + 1));
}
