#include "rpc/frame.h"

#include <string.h>
#include <zlib.h>

#include "vcli/status.h"

void grpc_deframer_init(grpc_deframer *d, uint32_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max ? max : GRPC_DEFAULT_MAX_RECV;
	buf_init(&d->body, d->max);
}

void grpc_deframer_release(grpc_deframer *d)
{
	buf_release(&d->body);
}

int grpc_deframer_partial(const grpc_deframer *d)
{
	return d->hdr_have > 0 || d->in_body;
}

const uint8_t *grpc_deframer_msg(const grpc_deframer *d, size_t *len)
{
	*len = d->body.len;
	return d->body.data ? d->body.data : (const uint8_t *)"";
}

static int finish_message(grpc_deframer *d, int encoding_gzip, int *status,
			  const char **msg)
{
	buf plain;
	int rc;

	d->in_body = 0;
	d->hdr_have = 0;
	if (!d->compressed)
		return DEFRAME_MSG;
	if (!encoding_gzip) {
		*status = VCLI_STATUS_INTERNAL;
		*msg = "compressed message without a grpc-encoding";
		return DEFRAME_ERR;
	}
	buf_init(&plain, d->max);
	rc = grpc_gunzip(d->body.data, d->body.len, d->max, &plain);
	if (rc == -2) {
		buf_release(&plain);
		*status = VCLI_STATUS_RESOURCE_EXHAUSTED;
		*msg = "decompressed message larger than the maximum receive size";
		return DEFRAME_ERR;
	}
	if (rc < 0) {
		buf_release(&plain);
		*status = VCLI_STATUS_INTERNAL;
		*msg = "cannot decompress gzip message";
		return DEFRAME_ERR;
	}
	buf_release(&d->body);
	d->body = plain;
	return DEFRAME_MSG;
}

int grpc_deframer_feed(grpc_deframer *d, const uint8_t **p, size_t *n,
		       int encoding_gzip, int *status, const char **msg)
{
	while (*n > 0) {
		if (!d->in_body) {
			size_t take = GRPC_PREFIX_LEN - d->hdr_have;
			if (take > *n)
				take = *n;
			memcpy(d->hdr + d->hdr_have, *p, take);
			d->hdr_have += take;
			*p += take;
			*n -= take;
			if (d->hdr_have < GRPC_PREFIX_LEN)
				return DEFRAME_MORE;
			if (d->hdr[0] > 1) {
				*status = VCLI_STATUS_INTERNAL;
				*msg = "invalid compressed flag in message prefix";
				return DEFRAME_ERR;
			}
			d->compressed = d->hdr[0];
			d->msg_len = (uint32_t)d->hdr[1] << 24 | (uint32_t)d->hdr[2] << 16 |
				     (uint32_t)d->hdr[3] << 8 | d->hdr[4];
			if (d->msg_len > d->max) {
				*status = VCLI_STATUS_RESOURCE_EXHAUSTED;
				*msg = "message larger than the maximum receive size";
				return DEFRAME_ERR;
			}
			d->in_body = 1;
			buf_reset(&d->body);
			if (d->msg_len == 0)
				return finish_message(d, encoding_gzip, status, msg);
			continue;
		}
		{
			size_t want = d->msg_len - d->body.len;
			size_t take = want < *n ? want : *n;
			if (buf_append(&d->body, *p, take) < 0) {
				*status = VCLI_STATUS_RESOURCE_EXHAUSTED;
				*msg = "out of memory for message";
				return DEFRAME_ERR;
			}
			*p += take;
			*n -= take;
			if (d->body.len == d->msg_len)
				return finish_message(d, encoding_gzip, status, msg);
		}
	}
	return DEFRAME_MORE;
}

int grpc_frame_append(buf *out, const uint8_t *msg, size_t len, int gzip)
{
	uint8_t hdr[GRPC_PREFIX_LEN];
	size_t at = out->len;

	if (len > UINT32_MAX)
		return -1;
	if (gzip) {
		/* Compress straight after a placeholder prefix, then decide. */
		buf z;
		buf_init(&z, len + len / 1000 + 128);
		if (grpc_gzip(msg, len, &z) == 0 && z.len < len) {
			hdr[0] = 1;
			hdr[1] = (uint8_t)(z.len >> 24);
			hdr[2] = (uint8_t)(z.len >> 16);
			hdr[3] = (uint8_t)(z.len >> 8);
			hdr[4] = (uint8_t)z.len;
			if (buf_append(out, hdr, 5) < 0 ||
			    buf_append(out, z.data, z.len) < 0) {
				out->len = at;
				buf_release(&z);
				return -1;
			}
			buf_release(&z);
			return 0;
		}
		buf_release(&z);
	}
	hdr[0] = 0;
	hdr[1] = (uint8_t)(len >> 24);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)(len >> 8);
	hdr[4] = (uint8_t)len;
	if (buf_append(out, hdr, 5) < 0 || buf_append(out, msg, len) < 0) {
		out->len = at;
		return -1;
	}
	return 0;
}

int grpc_gzip(const uint8_t *in, size_t n, buf *out)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	if (buf_reserve(out, deflateBound(&zs, (uLong)n)) < 0) {
		deflateEnd(&zs);
		return -1;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out->data + out->len;
	zs.avail_out = (uInt)(out->cap - out->len - 1);
	rc = deflate(&zs, Z_FINISH);
	if (rc == Z_STREAM_END)
		out->len += zs.total_out;
	deflateEnd(&zs);
	return rc == Z_STREAM_END ? 0 : -1;
}

int grpc_gunzip(const uint8_t *in, size_t n, size_t max, buf *out)
{
	z_stream zs;
	uint8_t chunk[16384];
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		rc = inflate(&zs, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			inflateEnd(&zs);
			return -1;
		}
		size_t got = sizeof(chunk) - zs.avail_out;
		if (out->len + got > max) {
			inflateEnd(&zs);
			return -2;
		}
		if (buf_append(out, chunk, got) < 0) {
			inflateEnd(&zs);
			return -2;
		}
		if (rc != Z_STREAM_END && zs.avail_in == 0 && got == 0) {
			inflateEnd(&zs);
			return -1; /* truncated stream */
		}
	} while (rc != Z_STREAM_END);
	/* Trailing garbage after the gzip member is corruption, not padding. */
	rc = zs.avail_in == 0 ? 0 : -1;
	inflateEnd(&zs);
	return rc;
}
