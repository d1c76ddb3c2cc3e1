/*
 * Private: hand encoding of the few protobuf fields governd writes around
 * stored Decision bytes.  The store keeps decisions packed; answers that
 * carry them (lists, events, write results) are built by appending those
 * bytes as a length-delimited field instead of unpacking and re-packing.
 */
#ifndef VCLI_SERVER_PBRAW_H
#define VCLI_SERVER_PBRAW_H

#include <stdint.h>
#include <string.h>

#include "common/buf.h"

static inline int pb_put_varint(buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return buf_append(b, tmp, n);
}

/* Length-delimited field (wire type 2): strings, bytes, messages. */
static inline int pb_put_bytes(buf *b, unsigned field, const void *p, size_t len)
{
	if (pb_put_varint(b, (uint64_t)field << 3 | 2) < 0 || pb_put_varint(b, len) < 0)
		return -1;
	return buf_append(b, p, len);
}

static inline int pb_put_string(buf *b, unsigned field, const char *s)
{
	return s && *s ? pb_put_bytes(b, field, s, strlen(s)) : 0;
}

/* Varint field (wire type 0); proto3 leaves zero out. */
static inline int pb_put_uint(buf *b, unsigned field, uint64_t v)
{
	if (!v)
		return 0;
	if (pb_put_varint(b, (uint64_t)field << 3) < 0)
		return -1;
	return pb_put_varint(b, v);
}

/* google.protobuf.Timestamp from milliseconds since the epoch. */
static inline int pb_put_timestamp(buf *b, unsigned field, int64_t ms)
{
	uint8_t tmp[24];
	buf t = { tmp, 0, sizeof(tmp), sizeof(tmp) };
	int64_t sec = ms / 1000;
	int32_t nanos = (int32_t)(ms % 1000) * 1000000;

	/* t borrows the stack array; it is never grown (cap is exact). */
	if (pb_put_uint(&t, 1, (uint64_t)sec) < 0 || pb_put_uint(&t, 2, (uint64_t)nanos) < 0)
		return -1;
	return pb_put_bytes(b, field, tmp, t.len);
}

#endif
