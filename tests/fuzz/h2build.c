/* HTTP/2 frames from the fuzzer's bytes (see h2build.h). */
#include "h2build.h"

#include <string.h>

#include "rpc/frame.h"

uint8_t fuzz_u8(struct fuzz_input *in)
{
	uint8_t v;

	if (!in->n)
		return 0;
	v = *in->p++;
	in->n--;
	return v;
}

uint32_t fuzz_u32(struct fuzz_input *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | fuzz_u8(in);
	return v;
}

const uint8_t *fuzz_take(struct fuzz_input *in, size_t max, size_t *len)
{
	const uint8_t *p;
	size_t l = fuzz_u8(in);

	if (max > 255)
		l = l << 8 | fuzz_u8(in);
	if (l > max)
		l = max;
	if (l > in->n)
		l = in->n;
	p = in->p;
	in->p += l;
	in->n -= l;
	*len = l;
	return p;
}

uint32_t fuzz_stream_id(struct fuzz_input *in)
{
	uint8_t b = fuzz_u8(in);

	if (b >= 0xf0)
		return b & 0x0f;
	if (b >= 0xe0)
		return 0x7fffffff - (b & 0x0f);
	return in->one_stream && b < 0xc0 ? 1 : 1 + 2u * (b % 8);
}

void h2_frame_header(buf *out, size_t len, uint8_t type, uint8_t flags, uint32_t id)
{
	uint8_t h[9] = {
		(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
		(uint8_t)(id >> 24 & 0x7f), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id,
	};

	buf_append(out, h, sizeof(h));
}

void h2_frame(buf *out, uint8_t type, uint8_t flags, uint32_t id, const void *p,
	      size_t len)
{
	h2_frame_header(out, len, type, flags, id);
	if (len)
		buf_append(out, p, len);
}

/* HPACK integer with a 7-bit prefix (RFC 7541 section 5.1), H bit clear. */
static void hpack_int(buf *b, size_t v)
{
	if (v < 127) {
		buf_append_byte(b, (uint8_t)v);
		return;
	}
	buf_append_byte(b, 127);
	v -= 127;
	while (v >= 128) {
		buf_append_byte(b, (uint8_t)(v % 128 + 128));
		v /= 128;
	}
	buf_append_byte(b, (uint8_t)v);
}

void hpack_field(buf *b, const void *name, size_t nlen, const void *value, size_t vlen)
{
	buf_append_byte(b, 0x00);
	hpack_int(b, nlen);
	if (nlen)
		buf_append(b, name, nlen);
	hpack_int(b, vlen);
	if (vlen)
		buf_append(b, value, vlen);
}

void hpack_str(buf *b, const char *name, const char *value)
{
	hpack_field(b, name, strlen(name), value, strlen(value));
}

void h2_headers(buf *out, uint32_t id, uint8_t flags, const buf *block)
{
	h2_frame(out, 0x1, (flags & 1 ? 0x1 : 0) | (flags & 2 ? 0 : 0x4), id, block->data,
		 block->len);
}

/*
 * One gRPC message in DATA.  Layout: stream, flags (bit 0: END_STREAM,
 * bit 1: gzip-compress it and set the compressed flag, bit 2: a raw flag
 * byte follows, bit 3: a raw length follows, bit 4: split the message
 * over two DATA frames), then the message bytes.
 */
void h2_op_message(struct fuzz_input *in, buf *out)
{
	uint32_t id = fuzz_stream_id(in);
	uint8_t f = fuzz_u8(in);
	uint8_t raw_flag = f & 4 ? fuzz_u8(in) : 0;
	uint32_t raw_len = f & 8 ? fuzz_u32(in) : 0;
	size_t len;
	const uint8_t *msg = fuzz_take(in, 4096, &len);
	buf body = BUF_INIT(1 << 20);
	buf z = BUF_INIT(1 << 20);
	uint8_t hdr[GRPC_PREFIX_LEN];
	size_t cut;

	hdr[0] = 0;
	if ((f & 2) && grpc_gzip(msg, len, &z) == 0) {
		msg = z.data;
		len = z.len;
		hdr[0] = 1;
	}
	if (f & 4)
		hdr[0] = raw_flag;
	if (!(f & 8))
		raw_len = (uint32_t)len;
	hdr[1] = (uint8_t)(raw_len >> 24);
	hdr[2] = (uint8_t)(raw_len >> 16);
	hdr[3] = (uint8_t)(raw_len >> 8);
	hdr[4] = (uint8_t)raw_len;
	buf_append(&body, hdr, sizeof(hdr));
	if (len)
		buf_append(&body, msg, len);
	cut = f & 16 ? body.len / 2 : body.len;
	h2_frame(out, 0x0, (f & 1) && cut == body.len ? 0x1 : 0, id, body.data, cut);
	if (cut < body.len)
		h2_frame(out, 0x0, f & 1 ? 0x1 : 0, id, body.data + cut, body.len - cut);
	buf_release(&body);
	buf_release(&z);
}

/* Plain DATA: stream, flags (END_STREAM, PADDED as given), payload. */
void h2_op_data(struct fuzz_input *in, buf *out)
{
	uint32_t id = fuzz_stream_id(in);
	uint8_t f = fuzz_u8(in);
	size_t len;
	const uint8_t *p = fuzz_take(in, 4096, &len);

	h2_frame(out, 0x0, f & 0x9, id, p, len);
}

/* RST_STREAM: stream, error code. */
void h2_op_rst_stream(struct fuzz_input *in, buf *out)
{
	uint32_t id = fuzz_stream_id(in);
	uint8_t code[4] = { 0, 0, 0, (uint8_t)(fuzz_u8(in) % 14) };

	h2_frame(out, 0x3, 0, id, code, 4);
}

/* PING: flags (bit 0: ACK), one byte of the opaque data. */
void h2_op_ping(struct fuzz_input *in, buf *out)
{
	uint8_t f = fuzz_u8(in);
	uint8_t opaque[8] = { 0 };

	opaque[7] = fuzz_u8(in);
	h2_frame(out, 0x6, f & 1, 0, opaque, 8);
}

/* SETTINGS: flags (bit 0: ACK, bits 1-3: 0-7 entries), each entry an id
 * byte (1-9) and a four-byte value. */
void h2_op_settings(struct fuzz_input *in, buf *out)
{
	uint8_t f = fuzz_u8(in);
	uint8_t body[7 * 6];
	size_t n = (size_t)(f >> 1) % 8;

	for (size_t i = 0; i < n; i++) {
		uint8_t sid = (uint8_t)(1 + fuzz_u8(in) % 9);
		uint32_t v = fuzz_u32(in);
		body[i * 6] = 0;
		body[i * 6 + 1] = sid;
		body[i * 6 + 2] = (uint8_t)(v >> 24);
		body[i * 6 + 3] = (uint8_t)(v >> 16);
		body[i * 6 + 4] = (uint8_t)(v >> 8);
		body[i * 6 + 5] = (uint8_t)v;
	}
	h2_frame(out, 0x4, f & 1, 0, body, f & 1 ? 0 : n * 6);
}

/* WINDOW_UPDATE: a byte (bit 0: the connection, else a stream follows),
 * the increment. */
void h2_op_window_update(struct fuzz_input *in, buf *out)
{
	uint32_t id = fuzz_u8(in) & 1 ? 0 : fuzz_stream_id(in);
	uint32_t inc = fuzz_u32(in) & 0x7fffffff;
	uint8_t body[4] = { (uint8_t)(inc >> 24), (uint8_t)(inc >> 16), (uint8_t)(inc >> 8),
			    (uint8_t)inc };

	h2_frame(out, 0x8, 0, id, body, 4);
}

/* GOAWAY: last stream, error code. */
void h2_op_goaway(struct fuzz_input *in, buf *out)
{
	uint32_t last = fuzz_stream_id(in);
	uint8_t body[8] = { (uint8_t)(last >> 24), (uint8_t)(last >> 16), (uint8_t)(last >> 8),
			    (uint8_t)last, 0, 0, 0, (uint8_t)(fuzz_u8(in) % 14) };

	h2_frame(out, 0x7, 0, 0, body, 8);
}

/* CONTINUATION: stream, flags (bit 0: END_HEADERS), one field (name,
 * value). */
void h2_op_continuation(struct fuzz_input *in, buf *out)
{
	buf hb = BUF_INIT(1 << 20);
	uint32_t id = fuzz_stream_id(in);
	uint8_t f = fuzz_u8(in);
	size_t len, vlen;
	const uint8_t *p = fuzz_take(in, 64, &len);
	const uint8_t *v = fuzz_take(in, 512, &vlen);

	hpack_field(&hb, p, len, v, vlen);
	h2_frame(out, 0x9, f & 1 ? 0x4 : 0, id, hb.data, hb.len);
	buf_release(&hb);
}

/* Any frame: type, flags, stream, payload. */
void h2_op_raw(struct fuzz_input *in, buf *out)
{
	uint8_t type = fuzz_u8(in), flags = fuzz_u8(in);
	uint32_t id = fuzz_stream_id(in);
	size_t len;
	const uint8_t *p = fuzz_take(in, 4096, &len);

	h2_frame(out, type, flags, id, p, len);
}
