#include "common/timeutil.h"

#include <errno.h>
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
	static const struct {
		const char *unit;
		double ms;
	} units[] = {
		/* Two-letter units first so that "ms" is not read as "m". */
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "ms", 1.0 }, { "s", 1000.0 },
		{ "m", 60000.0 }, { "h", 3600000.0 }, { "d", 86400000.0 },
	};
	const char *s = text;
	double total = 0.0;

	if (!s || !*s)
		return -1;
	while (*s) {
		double value = 0.0, scale = 0.1;
		int digits = 0, matched = 0;

		while (*s >= '0' && *s <= '9') {
			value = value * 10.0 + (*s - '0');
			digits++;
			s++;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				value += (*s - '0') * scale;
				scale /= 10.0;
				digits++;
				s++;
			}
		}
		if (digits == 0)
			return -1;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].unit);

			if (strncmp(s, units[i].unit, ul) == 0) {
				total += value * units[i].ms;
				s += ul;
				matched = 1;
				break;
			}
		}
		if (!matched || total > 1e15)
			return -1;
	}
	/* Nearest millisecond; what rounds to zero is refused rather than
	 * silently turned into "no time at all". */
	total += 0.5;
	if (total < 1.0)
		return -1;
	*ms = (uint64_t)total;
	return 0;
}

void duration_format(uint64_t ms, char *buf, size_t len)
{
	unsigned long long h = ms / 3600000, m = ms / 60000 % 60, sec = ms / 1000 % 60;
	unsigned frac = (unsigned)(ms % 1000);
	size_t used = 0;
	int w;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ms < 1000) {
		snprintf(buf, len, "%ums", frac);
		return;
	}
	/* Go-style "1h2m3.5s", leaving out the parts that are zero. */
	if (h && (w = snprintf(buf, len, "%lluh", h)) > 0)
		used = (size_t)w;
	if (m && used < len && (w = snprintf(buf + used, len - used, "%llum", m)) > 0)
		used += (size_t)w;
	if ((sec || frac) && used < len) {
		if (frac % 100 == 0)
			snprintf(buf + used, len - used, frac ? "%llu.%us" : "%llus", sec,
				 frac / 100);
		else if (frac % 10 == 0)
			snprintf(buf + used, len - used, "%llu.%02us", sec, frac / 10);
		else
			snprintf(buf + used, len - used, "%llu.%03us", sec, frac);
	}
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

void time_format_utc(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outlen, "-");
}
