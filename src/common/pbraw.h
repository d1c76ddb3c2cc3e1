/*
 * Private: hand encoding of the few protobuf fields written around or into
 * stored Decision bytes.  The store keeps decisions packed; answers that
 * carry them (lists, events, write results) are built by appending those
 * bytes as a length-delimited field instead of unpacking and re-packing,
 * and the store packs a change's fields with the same functions
 * (store/blob.c).  Fields follow proto3: empty strings and zeros are left
 * out.  Each pb_put_* has a pb_*_len giving the bytes it writes, for the
 * length of an enclosing message written before its fields.  Two readers
 * step through such bytes field by field (the store's merge of a change,
 * the transport's check of a request's strings).
 */
#ifndef VCLI_COMMON_PBRAW_H
#define VCLI_COMMON_PBRAW_H

#include <stdint.h>
#include <string.h>

#include "common/buf.h"

static inline int pb_put_varint(buf *b, uint64_t v)
{
	uint8_t tmp[10], *p = tmp;
	size_t n = 0;

	/* Straight into b when a varint's ten bytes surely fit (the
	 * store packs a change's fields this way, on its writer's path). */
	if (b->len + 11 <= b->cap && b->len + 10 <= b->max)
		p = b->data + b->len;
	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	if (p != tmp) {
		b->len += n;
		return 0;
	}
	return buf_append(b, tmp, n);
}

static inline size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The key and length of a length-delimited field (wire type 2) whose
 * len bytes the caller writes next: an enclosing message's fields. */
static inline int pb_put_len(buf *b, unsigned field, size_t len)
{
	if (pb_put_varint(b, (uint64_t)field << 3 | 2) < 0)
		return -1;
	return pb_put_varint(b, len);
}

/* Bytes of a length-delimited field with a body of len bytes. */
static inline size_t pb_bytes_len(unsigned field, size_t len)
{
	return pb_varint_len((uint64_t)field << 3 | 2) + pb_varint_len(len) + len;
}

/* Length-delimited field (wire type 2): strings, bytes, messages. */
static inline int pb_put_bytes(buf *b, unsigned field, const void *p, size_t len)
{
	if (pb_put_len(b, field, len) < 0)
		return -1;
	return buf_append(b, p, len);
}

static inline int pb_put_string(buf *b, unsigned field, const char *s)
{
	return s && *s ? pb_put_bytes(b, field, s, strlen(s)) : 0;
}

static inline size_t pb_string_len(unsigned field, const char *s)
{
	return s && *s ? pb_bytes_len(field, strlen(s)) : 0;
}

/* Varint field (wire type 0); proto3 leaves zero out.  A negative int32 or
 * int64 goes in as (uint64_t)(int64_t)v: ten bytes, as protobuf has it. */
static inline int pb_put_uint(buf *b, unsigned field, uint64_t v)
{
	if (!v)
		return 0;
	if (pb_put_varint(b, (uint64_t)field << 3) < 0)
		return -1;
	return pb_put_varint(b, v);
}

static inline size_t pb_uint_len(unsigned field, uint64_t v)
{
	return v ? pb_varint_len((uint64_t)field << 3) + pb_varint_len(v) : 0;
}

/* google.protobuf.Timestamp from milliseconds since the epoch (C's
 * division: a time before the epoch has negative nanos). */
static inline void pb_timestamp_split(int64_t ms, uint64_t *sec, uint64_t *nanos)
{
	*sec = (uint64_t)(ms / 1000);
	*nanos = (uint64_t)(int64_t)((int32_t)(ms % 1000) * 1000000);
}

static inline int pb_put_timestamp(buf *b, unsigned field, int64_t ms)
{
	uint64_t sec, nanos;

	pb_timestamp_split(ms, &sec, &nanos);
	if (pb_put_len(b, field, pb_uint_len(1, sec) + pb_uint_len(2, nanos)) < 0 ||
	    pb_put_uint(b, 1, sec) < 0)
		return -1;
	return pb_put_uint(b, 2, nanos);
}

static inline size_t pb_timestamp_len(unsigned field, int64_t ms)
{
	uint64_t sec, nanos;

	pb_timestamp_split(ms, &sec, &nanos);
	return pb_bytes_len(field, pb_uint_len(1, sec) + pb_uint_len(2, nanos));
}

/* Reads the varint at p[*pos] (p holds n bytes) into *v and steps over
 * it; -1 when it runs past n or past ten bytes. */
static inline int pb_get_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	size_t i = *pos;

	for (int shift = 0; shift < 64 && i < n; shift += 7) {
		uint8_t c = p[i++];

		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*pos = i;
			*v = r;
			return 0;
		}
	}
	*pos = i;
	return -1;
}

/* Steps over the value of a field whose key (number << 3 | wire type)
 * was just read; for a length-delimited one *len gets its payload's
 * length (the payload ends at the new *pos).  -1 when the bytes do not
 * hold the value, or for groups (proto3 has none). */
static inline int pb_skip_value(const uint8_t *p, size_t n, size_t *pos, uint64_t key,
				uint64_t *len)
{
	uint64_t v;

	switch (key & 7) {
	case 0:
		return pb_get_varint(p, n, pos, &v);
	case 1:
		v = 8;
		break;
	case 2:
		if (pb_get_varint(p, n, pos, &v) < 0)
			return -1;
		*len = v;
		break;
	case 5:
		v = 4;
		break;
	default:
		return -1;
	}
	if (v > n - *pos)
		return -1;
	*pos += (size_t)v;
	return 0;
}

#endif
