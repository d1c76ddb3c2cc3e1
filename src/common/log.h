/*
 * Private: structured logging to stderr, logfmt (default) or JSON lines.
 *
 *   log_msg(LOG_INFO, "governd listening", "addr", addr, "threads", "2", NULL);
 *
 * Fields are key/value string pairs ended by NULL.  Thread-safe: a line is
 * built in a local buffer and written with one write(2).  Never pass secrets:
 * the logger cannot know what a token looks like.
 *
 * The level and the format may change while other threads log (governd's
 * SIGHUP reload): both are atomics, read relaxed, so a disabled level costs
 * one plain load and a compare.
 */
#ifndef VCLI_LOG_H
#define VCLI_LOG_H

#include <stdatomic.h>

typedef enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
} log_level;

typedef enum log_format {
	LOG_FMT_LOGFMT = 0,
	LOG_FMT_JSON = 1,
} log_format;

void log_setup(log_level level, log_format fmt);
/* Returns -1 for an unknown name. */
int log_level_parse(const char *name);
int log_format_parse(const char *name);

extern _Atomic int log_current_level;

static inline int log_enabled(log_level level)
{
	return (int)level <= atomic_load_explicit(&log_current_level,
						  memory_order_relaxed);
}

/* The names of a level and of a format, as log_*_parse() take them. */
const char *log_level_name(log_level level);
const char *log_format_name(log_format fmt);

void log_msg(log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
