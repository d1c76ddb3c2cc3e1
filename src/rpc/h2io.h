/*
 * Private: the byte pump between a libuv stream (TCP or a Unix socket),
 * optional TLS and an nghttp2 session, shared by the server and client
 * halves.
 *
 * Output is double-buffered: one buffer is being written by the kernel while
 * nghttp2 fills the other, so a connection has at most one uv_write in
 * flight and never copies a frame twice.  Output stops being pulled from
 * nghttp2 once high_water bytes wait, which is how a slow reader pushes back
 * on the streams that feed it.
 */
#ifndef VCLI_RPC_H2IO_H
#define VCLI_RPC_H2IO_H

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "common/buf.h"
#include "rpc/tls.h"

typedef struct h2io h2io;

/* A connection's libuv handle: TCP or a Unix socket, used as a stream. */
typedef union h2io_sock {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
} h2io_sock;

typedef struct h2io {
	uv_stream_t *stream;
	nghttp2_session *h2;
	tls_conn *tls;          /* NULL for cleartext */
	buf out[2];
	int writing;            /* index being written, or -1 */
	uv_write_t wreq;
	size_t high_water;
	int failed;             /* a write or TLS error happened */
	char error[160];
	/* Called when a write completes (so the owner can re-flush or close). */
	void (*on_written)(h2io *io);
	/* When set, output goes here instead of to stream and every write
	 * completes at once: an in-memory transport (the server's
	 * rpc__memconn, for fuzz targets and tests). */
	void (*sink)(h2io *io, const uint8_t *p, size_t n);
	void *sink_ud;
} h2io;

void h2io_init(h2io *io, uv_stream_t *stream, tls_conn *tls, size_t high_water);
void h2io_release(h2io *io);

/* Feeds bytes read from the socket.  Returns 0, or -1 on a fatal error (TLS
 * failure or an HTTP/2 protocol error; nghttp2 may have queued a GOAWAY:
 * flush before closing). */
int h2io_feed(h2io *io, const uint8_t *p, size_t n);

/* Pulls pending frames from nghttp2 (and TLS records) and starts a write.
 * Returns 0, or -1 when the connection is broken. */
int h2io_flush(h2io *io);

/* 1 while bytes wait to be written or a write is in flight. */
int h2io_busy(const h2io *io);

#endif
