#include "rpc/h2io.h"

#include <stdio.h>
#include <string.h>

/* Neither output buffer may grow past this: a connection never holds more
 * than 2 x this much unsent data. */
#define H2IO_BUF_MAX (64u * 1024 * 1024)

void h2io_init(h2io *io, uv_stream_t *stream, tls_conn *tls, size_t high_water)
{
	memset(io, 0, sizeof(*io));
	io->stream = stream;
	io->tls = tls;
	io->writing = -1;
	io->high_water = high_water;
	buf_init(&io->out[0], H2IO_BUF_MAX);
	buf_init(&io->out[1], H2IO_BUF_MAX);
	io->wreq.data = io;
}

void h2io_release(h2io *io)
{
	buf_release(&io->out[0]);
	buf_release(&io->out[1]);
}

int h2io_busy(const h2io *io)
{
	return io->writing >= 0 || io->out[0].len || io->out[1].len;
}

static void start_write(h2io *io);

static int recv_plain(h2io *io, const uint8_t *p, size_t n)
{
	ssize_t rc = nghttp2_session_mem_recv(io->h2, p, n);

	if (rc < 0) {
		snprintf(io->error, sizeof(io->error), "HTTP/2: %s",
			 nghttp2_strerror((int)rc));
		return -1;
	}
	return 0;
}

int h2io_feed(h2io *io, const uint8_t *p, size_t n)
{
	uint8_t plain[16384];
	int r;

	if (!io->tls)
		return recv_plain(io, p, n);
	if (tls_conn_put_cipher(io->tls, p, n) < 0)
		goto tls_fail;
	if (!io->tls->handshake_done) {
		r = tls_conn_handshake(io->tls);
		if (r < 0)
			goto tls_fail;
		if (r == 0)
			return 0;
	}
	while ((r = tls_conn_read(io->tls, plain, sizeof(plain))) > 0)
		if (recv_plain(io, plain, (size_t)r) < 0)
			return -1;
	if (r < 0)
		goto tls_fail;
	return 0;
tls_fail:
	snprintf(io->error, sizeof(io->error), "%s", io->tls->error);
	/* Let the peer read the alert that says why (say, "certificate
	 * required") before the connection goes. */
	if (tls_conn_drain(io->tls, &io->out[0]) == 0)
		start_write(io);
	io->failed = 1;
	return -1;
}

static void on_write(uv_write_t *req, int status)
{
	h2io *io = req->data;

	buf_reset(&io->out[io->writing]);
	io->writing = -1;
	if (status < 0) {
		io->failed = 1;
		snprintf(io->error, sizeof(io->error), "write: %s", uv_strerror(status));
	}
	if (io->on_written)
		io->on_written(io);
}

static void start_write(h2io *io)
{
	int i;
	buf *b;
	uv_buf_t ub;
	int rc;

	if (io->writing >= 0 || io->failed)
		return;
	/* Write whichever buffer has data; out[0] is the filling buffer. */
	i = io->out[0].len ? 0 : 1;
	b = &io->out[i];
	if (!b->len)
		return;
	if (io->sink) {
		io->sink(io, b->data, b->len);
		buf_reset(b);
		return;
	}
	/* Try the fast path first: most small responses leave in one syscall
	 * and need no write request at all. */
	ub = uv_buf_init((char *)b->data, (unsigned)b->len);
	rc = uv_try_write(io->stream, &ub, 1);
	if (rc == (int)b->len) {
		buf_reset(b);
		return;
	}
	if (rc < 0 && rc != UV_EAGAIN) {
		io->failed = 1;
		snprintf(io->error, sizeof(io->error), "write: %s", uv_strerror(rc));
		return;
	}
	if (rc > 0)
		buf_consume(b, (size_t)rc);
	/* Swap so that out[0] is free for new frames while b is in flight. */
	if (i == 0) {
		buf t = io->out[0];
		io->out[0] = io->out[1];
		io->out[1] = t;
		i = 1;
		b = &io->out[1];
	}
	ub = uv_buf_init((char *)b->data, (unsigned)b->len);
	io->writing = i;
	rc = uv_write(&io->wreq, io->stream, &ub, 1, on_write);
	if (rc < 0) {
		io->writing = -1;
		io->failed = 1;
		snprintf(io->error, sizeof(io->error), "write: %s", uv_strerror(rc));
	}
}

int h2io_flush(h2io *io)
{
	buf *fill;

	if (io->failed)
		return -1;
	if (io->tls && !io->tls->handshake_done) {
		int r = tls_conn_handshake(io->tls);
		if (r < 0) {
			snprintf(io->error, sizeof(io->error), "%s", io->tls->error);
			io->failed = 1;
			return -1;
		}
		if (tls_conn_drain(io->tls, &io->out[0]) < 0)
			return -1;
		if (r == 0) {
			start_write(io);
			return io->failed ? -1 : 0;
		}
	}
	/* While a write is in flight out[1] is owned by the kernel; out[0]
	 * collects.  When nothing is in flight, out[0] is the one to fill. */
	fill = &io->out[0];
	for (;;) {
		while (io->h2 && fill->len < io->high_water) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(io->h2, &data);
			if (n < 0) {
				snprintf(io->error, sizeof(io->error), "HTTP/2: %s",
					 nghttp2_strerror((int)n));
				io->failed = 1;
				return -1;
			}
			if (n == 0)
				break;
			if (io->tls) {
				if (tls_conn_write(io->tls, data, (size_t)n) < 0 ||
				    tls_conn_drain(io->tls, fill) < 0) {
					snprintf(io->error, sizeof(io->error), "%s",
						 io->tls->error);
					io->failed = 1;
					return -1;
				}
			} else if (buf_append(fill, data, (size_t)n) < 0) {
				io->failed = 1;
				snprintf(io->error, sizeof(io->error), "output buffer full");
				return -1;
			}
		}
		if (io->tls && tls_conn_drain(io->tls, fill) < 0)
			return -1;
		start_write(io);
		if (io->failed)
			return -1;
		/* The fast path wrote everything without a write request, so no
		 * completion will come to ask for more: if nghttp2 still has
		 * frames (we stopped at the high-water mark), go round again. */
		if (io->writing >= 0 || fill->len || !io->h2 ||
		    !nghttp2_session_want_write(io->h2))
			return 0;
	}
}
