/*
 * Private: gRPC message framing ("Length-Prefixed-Message" of the gRPC over
 * HTTP/2 spec): 1 byte compressed flag, 4 bytes big-endian length, payload.
 * Shared by the server and client halves.
 */
#ifndef VCLI_RPC_FRAME_H
#define VCLI_RPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define GRPC_PREFIX_LEN 5
#define GRPC_DEFAULT_MAX_RECV (4u * 1024 * 1024)

/* Incremental parser: bytes go in as they arrive from DATA frames, whole
 * messages come out.  A message is never bigger than max (checked on the
 * prefix, before a byte of payload is buffered). */
typedef struct grpc_deframer {
	uint8_t hdr[GRPC_PREFIX_LEN];
	size_t hdr_have;
	int in_body;
	int compressed;
	uint32_t msg_len;
	uint32_t max;
	buf body;
} grpc_deframer;

enum {
	DEFRAME_MORE = 0,  /* need more bytes */
	DEFRAME_MSG = 1,   /* a message is ready: see grpc_deframer_take() */
	DEFRAME_ERR = -1,  /* *status and *msg say why; the stream is done */
};

void grpc_deframer_init(grpc_deframer *d, uint32_t max);
void grpc_deframer_release(grpc_deframer *d);

/*
 * Consumes bytes from (*p, *n), advancing both, until a message completes
 * (DEFRAME_MSG), the input runs out (DEFRAME_MORE), or an error.  After
 * DEFRAME_MSG call grpc_deframer_take() and then feed the rest.
 * encoding_gzip says whether the stream's grpc-encoding allows compressed
 * messages; a compressed message is inflated (still capped by max).
 */
int grpc_deframer_feed(grpc_deframer *d, const uint8_t **p, size_t *n,
		       int encoding_gzip, int *status, const char **msg);

/* The message just completed (valid until the next feed). */
const uint8_t *grpc_deframer_msg(const grpc_deframer *d, size_t *len);

/* 1 when a message is partly received (truncation check at end of stream). */
int grpc_deframer_partial(const grpc_deframer *d);

/* Appends one framed message to out, gzip-compressing it when gzip is set
 * and that makes it smaller.  Returns 0 or -1 (out of memory / cap). */
int grpc_frame_append(buf *out, const uint8_t *msg, size_t len, int gzip);

/* gzip helpers.  grpc_gunzip returns 0, -1 for corrupt input, -2 when the
 * output would pass max. */
int grpc_gzip(const uint8_t *in, size_t n, buf *out);
int grpc_gunzip(const uint8_t *in, size_t n, size_t max, buf *out);

#endif
