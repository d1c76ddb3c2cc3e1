/*
 * Private: growable byte buffer with a hard cap (the idea of curl's dynbuf).
 * Every buffer filled from the network, a file or a user has a cap: appending
 * past it fails instead of growing without bound.
 */
#ifndef VCLI_BUF_H
#define VCLI_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;   /* allocated */
	size_t max;   /* hard limit for len */
} buf;

#define BUF_INIT(maxlen) { NULL, 0, 0, (maxlen) }

void buf_init(buf *b, size_t max);
/* Frees the contents; the buf can be reused after buf_init. */
void buf_release(buf *b);
/* Keeps the memory, forgets the bytes. */
static inline void buf_reset(buf *b) { b->len = 0; }
/* 0, or -1 when the cap would be passed or memory runs out. */
int buf_reserve(buf *b, size_t more);
int buf_append(buf *b, const void *p, size_t n);
int buf_append_byte(buf *b, uint8_t c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void buf_consume(buf *b, size_t n);
/* Hands the bytes to the caller (who frees them); b is left empty. */
uint8_t *buf_detach(buf *b, size_t *len);
/* NUL-terminated view (reserves one byte past len, not counted). */
const char *buf_cstr(buf *b);

#endif
