#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Atomic int log_current_level = LOG_INFO;
static _Atomic int log_fmt = LOG_FMT_LOGFMT;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_setup(log_level level, log_format fmt)
{
	atomic_store_explicit(&log_current_level, (int)level, memory_order_relaxed);
	atomic_store_explicit(&log_fmt, (int)fmt, memory_order_relaxed);
}

const char *log_level_name(log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

const char *log_format_name(log_format fmt)
{
	return fmt == LOG_FMT_JSON ? "json" : "logfmt";
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	if (strcmp(name, "warning") == 0)
		return LOG_WARN;
	return -1;
}

int log_format_parse(const char *name)
{
	if (strcmp(name, "logfmt") == 0)
		return LOG_FMT_LOGFMT;
	if (strcmp(name, "json") == 0)
		return LOG_FMT_JSON;
	return -1;
}

/* A line is capped: anything past LINE_MAX is cut, never overflowed. */
#define LOG_LINE_MAX 4096

struct line {
	char s[LOG_LINE_MAX];
	size_t n;
};

static void put(struct line *l, const char *p, size_t n)
{
	if (l->n + n > LOG_LINE_MAX - 2)
		n = LOG_LINE_MAX - 2 - l->n;
	memcpy(l->s + l->n, p, n);
	l->n += n;
}

static void puts_(struct line *l, const char *p)
{
	put(l, p, strlen(p));
}

static int needs_quotes(const char *v)
{
	if (!*v)
		return 1;
	for (; *v; v++)
		if (*v == ' ' || *v == '"' || *v == '=' || (unsigned char)*v < 0x20)
			return 1;
	return 0;
}

static void put_escaped(struct line *l, const char *v, int json)
{
	char esc[8];

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c == '\n') {
			put(l, "\\n", 2);
		} else if (c < 0x20 || (json && c == 0x7f)) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(l, esc, 6);
		} else {
			put(l, (const char *)&c, 1);
		}
	}
}

static void put_kv(struct line *l, int json, const char *k, const char *v, int first)
{
	if (json) {
		puts_(l, first ? "{\"" : ",\"");
		put_escaped(l, k, 1);
		puts_(l, "\":\"");
		put_escaped(l, v, 1);
		puts_(l, "\"");
		return;
	}
	if (!first)
		puts_(l, " ");
	puts_(l, k);
	puts_(l, "=");
	if (needs_quotes(v)) {
		puts_(l, "\"");
		put_escaped(l, v, 0);
		puts_(l, "\"");
	} else {
		puts_(l, v);
	}
}

void log_msg(log_level level, const char *msg, ...)
{
	struct line l;
	struct timespec ts;
	struct tm tm;
	char tbuf[96];
	va_list ap;
	const char *k, *v;
	ssize_t w;
	int json;

	if (!log_enabled(level))
		return;
	/* One format for the whole line, even if a reload changes it now. */
	json = atomic_load_explicit(&log_fmt, memory_order_relaxed) == LOG_FMT_JSON;
	l.n = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	put_kv(&l, json, "ts", tbuf, 1);
	put_kv(&l, json, "level", level_names[level], 0);
	put_kv(&l, json, "msg", msg, 0);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		put_kv(&l, json, k, v ? v : "", 0);
	}
	va_end(ap);
	if (json)
		puts_(&l, "}");
	l.s[l.n++] = '\n';
	w = write(STDERR_FILENO, l.s, l.n);
	(void)w;
}
