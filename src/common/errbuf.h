/*
 * Error messages into a caller's buffer: the convention of functions that
 * take (char *err, size_t errlen) and return -1 with a message naming the
 * bad value.
 */
#ifndef VCLI_COMMON_ERRBUF_H
#define VCLI_COMMON_ERRBUF_H

#include <stddef.h>

/* Formats the message into err (truncated to errlen; nothing when errlen
 * is 0) and returns -1, so that a failure is `return err_set(...)`. */
int err_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
