/*
 * Private to the fuzz targets: HTTP/2 frames built from the fuzzer's bytes,
 * for the structured modes of fuzz_server_h2.c (a client's frames) and
 * fuzz_client_response.c (a server's frames).
 *
 * The fuzzer's input is read front to back by the h2_op_* functions, each
 * of which takes the bytes it needs (zeros once the input runs out) and
 * appends one frame, or two, to out.  Header blocks are written as HPACK
 * literals without Huffman coding, so that the bytes the fuzzer picks are
 * the bytes the peer's header callback sees.
 */
#ifndef VCLI_FUZZ_H2BUILD_H
#define VCLI_FUZZ_H2BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct fuzz_input {
	const uint8_t *p;
	size_t n;
	int one_stream;   /* stream ids are mostly 1 (a client's first call) */
};

uint8_t fuzz_u8(struct fuzz_input *in);
uint32_t fuzz_u32(struct fuzz_input *in);
/* Up to max bytes (max > 255: a two-byte count), the count read first. */
const uint8_t *fuzz_take(struct fuzz_input *in, size_t max, size_t *len);
/* Mostly a live client stream (1, 3, ... 15, or 1 with one_stream);
 * sometimes any id (0, even, the highest). */
uint32_t fuzz_stream_id(struct fuzz_input *in);

void h2_frame(buf *out, uint8_t type, uint8_t flags, uint32_t id, const void *p,
	      size_t len);
void h2_frame_header(buf *out, size_t len, uint8_t type, uint8_t flags, uint32_t id);

/* "Literal header field without indexing, new name", no Huffman. */
void hpack_field(buf *b, const void *name, size_t nlen, const void *value, size_t vlen);
void hpack_str(buf *b, const char *name, const char *value);

/* A header block as HEADERS: flags says END_STREAM (bit 0) and whether
 * END_HEADERS is left off (bit 1, for a CONTINUATION to finish). */
void h2_headers(buf *out, uint32_t id, uint8_t flags, const buf *block);

/* The operations both targets use; each documents its layout in
 * h2build.c. */
void h2_op_message(struct fuzz_input *in, buf *out);
void h2_op_data(struct fuzz_input *in, buf *out);
void h2_op_rst_stream(struct fuzz_input *in, buf *out);
void h2_op_ping(struct fuzz_input *in, buf *out);
void h2_op_settings(struct fuzz_input *in, buf *out);
void h2_op_window_update(struct fuzz_input *in, buf *out);
void h2_op_goaway(struct fuzz_input *in, buf *out);
void h2_op_continuation(struct fuzz_input *in, buf *out);
void h2_op_raw(struct fuzz_input *in, buf *out);

#endif
