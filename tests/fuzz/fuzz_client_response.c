/*
 * Fuzz target: the response path of the client library (src/rpc/client.c
 * behind include/vcli/client.h, as vcli uses it): a server's bytes as the
 * client reads them — SETTINGS, response HEADERS, gRPC messages in DATA
 * (compressed or not), trailers with grpc-status and the percent-encoded
 * grpc-message, RST_STREAM, GOAWAY, and whatever else arrives.
 *
 * The client library dials TCP and has no other transport, so the server
 * here is a loopback socket in this process: a thread accepts the
 * client's connection, writes the input's bytes to it, half-closes it and
 * drains what the client sends until the call is over.  Nothing in the
 * library is bypassed; every call must end (the server's half-close is
 * seen at the latest) with a status and a message.  A stream the server
 * refuses is sent again on a new connection, which gets the same bytes.
 *
 * Input: byte 0 chooses the call and the mode:
 *   bit 0: server-streaming call (vcli_client_stream), else unary;
 *   bit 1: the client compresses its request (gzip);
 *   bit 2: a small largest response message (1 KiB);
 *   bit 3: the caller cancels the stream at its second message;
 *   bit 4: the call sends metadata (plain and -bin);
 *   bit 7: structured: the server's SETTINGS frame is written for the
 *          input, which is then read as operations on stream 1 mostly,
 *          a byte picking each (modulo 12): response HEADERS, trailers,
 *          Trailers-Only, a gRPC message, and the frames of h2build.c.
 *   Otherwise the rest of the input is the server's byte stream as is.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "h2build.h"
#include "vcli/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define METHOD "/vertice.governance.v1.GovernanceService/GetDecision"
#define MAX_CONNS 4

/* ---- the server: a thread on a loopback socket ---- */

static int listen_fd = -1;
static int listen_port;

struct server {
	const uint8_t *bytes;
	size_t len;
	int stop[2];            /* a pipe: the call is over */
	pthread_t thread;
};

static void listen_once(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	if (listen_fd >= 0)
		return;
	/* A peer that goes away must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(listen_fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(listen_fd, 16) == 0);
	CHECK(getsockname(listen_fd, (struct sockaddr *)&a, &alen) == 0);
	listen_port = ntohs(a.sin_port);
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the client hung up early: fine */
		p += w;
		n -= (size_t)w;
	}
}

/* Serves every connection the client makes until told to stop: the bytes,
 * a half-close, then reads (so that closing sends FIN, not RST). */
static void *serve(void *arg)
{
	struct server *s = arg;
	struct pollfd pf[2 + MAX_CONNS];
	int conns[MAX_CONNS];
	int nconns = 0, done = 0;
	uint8_t sink[16384];

	while (!done) {
		int n = 2;

		pf[0].fd = s->stop[0];
		pf[0].events = POLLIN;
		pf[1].fd = nconns < MAX_CONNS ? listen_fd : -1;
		pf[1].events = POLLIN;
		for (int i = 0; i < nconns; i++) {
			pf[n].fd = conns[i];
			pf[n].events = POLLIN;
			n++;
		}
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		if (pf[0].revents)
			done = 1;
		if (pf[1].revents & POLLIN) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				send_all(fd, s->bytes, s->len);
				shutdown(fd, SHUT_WR);
				conns[nconns++] = fd;
			}
		}
		for (int i = 0; i < nconns; i++) {
			if (!(pf[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (recv(conns[i], sink, sizeof(sink), MSG_DONTWAIT) == 0) {
				/* The client closed: forget this one. */
				close(conns[i]);
				conns[i] = -1;
			}
		}
		for (int i = 0; i < nconns;) {
			if (conns[i] < 0) {
				conns[i] = conns[--nconns];
				continue;
			}
			i++;
		}
	}
	for (int i = 0; i < nconns; i++)
		close(conns[i]);
	return NULL;
}

/* ---- structured input: a server's frames ---- */

static const char *const statuses[] = { "200", "404", "503", "500", "2000", "" };
static const char *const content_types[] = {
	"application/grpc", "application/grpc+proto", "text/html", "application/grpcx",
};

/* A grpc-status value: mostly a real code, sometimes any bytes. */
static void status_field(struct fuzz_input *in, buf *hb)
{
	uint8_t b = fuzz_u8(in);
	char code[8];

	if (b < 0xe0) {
		snprintf(code, sizeof(code), "%d", b % 17);
		hpack_str(hb, "grpc-status", code);
	} else {
		size_t len;
		const uint8_t *p = fuzz_take(in, 8, &len);
		hpack_field(hb, "grpc-status", 11, p, len);
	}
}

/* grpc-message: the fuzzer's bytes, which the client percent-decodes. */
static void message_field(struct fuzz_input *in, buf *hb)
{
	size_t len;
	const uint8_t *p = fuzz_take(in, 1024, &len);

	hpack_field(hb, "grpc-message", 12, p, len);
}

/*
 * Response HEADERS.  Layout: stream, flags (bit 0: END_STREAM, bit 1: no
 * END_HEADERS, bit 2: Trailers-Only: grpc-status and grpc-message in the
 * same block, bit 3: grpc-encoding gzip, bits 4-6: extra fields), :status
 * index, content-type index, then the status fields and the extra fields
 * (name, value).
 */
static void op_response_headers(struct fuzz_input *in, buf *out)
{
	buf hb = BUF_INIT(1 << 20);
	uint32_t id = fuzz_stream_id(in);
	uint8_t f = fuzz_u8(in), st = fuzz_u8(in), ct = fuzz_u8(in);
	size_t nextra = (f >> 4) & 7, len, vlen;

	hpack_str(&hb, ":status", statuses[st % (sizeof(statuses) / sizeof(statuses[0]))]);
	if (!(ct & 0x80))
		hpack_str(&hb, "content-type",
			  content_types[ct % (sizeof(content_types) / sizeof(content_types[0]))]);
	if (f & 8)
		hpack_str(&hb, "grpc-encoding", "gzip");
	if (f & 4) {
		status_field(in, &hb);
		message_field(in, &hb);
	}
	for (size_t i = 0; i < nextra; i++) {
		const uint8_t *p = fuzz_take(in, 64, &len);
		const uint8_t *v = fuzz_take(in, 512, &vlen);
		hpack_field(&hb, p, len, v, vlen);
	}
	h2_headers(out, id, f & 3, &hb);
	buf_release(&hb);
}

/* Trailers: stream, flags (bit 0: no grpc-message, bit 1: no END_HEADERS,
 * bit 2: no grpc-status), the status, the message. */
static void op_trailers(struct fuzz_input *in, buf *out)
{
	buf hb = BUF_INIT(1 << 20);
	uint32_t id = fuzz_stream_id(in);
	uint8_t f = fuzz_u8(in);

	if (!(f & 4))
		status_field(in, &hb);
	if (!(f & 1))
		message_field(in, &hb);
	h2_headers(out, id, 1 | (f & 2), &hb);
	buf_release(&hb);
}

static void build_structured(struct fuzz_input *in, buf *out)
{
	h2_frame(out, 0x4, 0, 0, NULL, 0);
	while (in->n > 0) {
		switch (fuzz_u8(in) % 12) {
		case 0: op_response_headers(in, out); break;
		case 1: h2_op_message(in, out); break;
		case 2: op_trailers(in, out); break;
		case 3: h2_op_data(in, out); break;
		case 4: h2_op_rst_stream(in, out); break;
		case 5: h2_op_ping(in, out); break;
		case 6: h2_op_settings(in, out); break;
		case 7: h2_op_window_update(in, out); break;
		case 8: h2_op_goaway(in, out); break;
		case 9: h2_op_continuation(in, out); break;
		case 10: h2_op_raw(in, out); break;
		default: h2_frame(out, 0x4, 1, 0, NULL, 0); break; /* SETTINGS ACK */
		}
	}
}

/* ---- the call ---- */

struct stream_state {
	int msgs;
	int cancel_at;          /* 0: never */
};

static int on_message(void *ud, const uint8_t *msg, size_t len)
{
	struct stream_state *st = ud;

	CHECK(msg || !len);
	st->msgs++;
	return st->cancel_at && st->msgs >= st->cancel_at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t request[] = { 0x0a, 0x04, 'd', '-', '0', '1' };
	static const uint8_t bin[] = { 0x00, 0xff, 0x10 };
	const vcli_metadata md[] = {
		{ "x-request-id", (const uint8_t *)"fuzz", 4 },
		{ "x-trace-bin", bin, sizeof(bin) },
	};
	struct server srv;
	buf structured = BUF_INIT(16u << 20);
	vcli_client_options o;
	vcli_call_options co;
	vcli_call_result result;
	vcli_client *cl;
	vcli_bytes resp = { NULL, 0 };
	char endpoint[64], err[256];
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	listen_once();

	memset(&srv, 0, sizeof(srv));
	if (mode & 0x80) {
		struct fuzz_input in = { data + 1, size - 1, 1 };
		build_structured(&in, &structured);
		srv.bytes = structured.data;
		srv.len = structured.len;
	} else {
		srv.bytes = data + 1;
		srv.len = size - 1;
	}
	CHECK(pipe(srv.stop) == 0);
	CHECK(pthread_create(&srv.thread, NULL, serve, &srv) == 0);

	snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", listen_port);
	vcli_client_options_init(&o);
	o.endpoint = endpoint;
	o.gzip = mode & 2 ? 1 : 0;
	o.max_recv_size = mode & 4 ? 1024 : 0;
	CHECK(vcli_client_new(&o, &cl, err, sizeof(err)) == VCLI_OK);
	memset(&co, 0, sizeof(co));
	if (mode & 16) {
		co.metadata = md;
		co.metadata_count = sizeof(md) / sizeof(md[0]);
	}
	memset(&result, 0, sizeof(result));
	if (mode & 1) {
		struct stream_state st = { 0, mode & 8 ? 2 : 0 };
		CHECK(vcli_client_stream(cl, METHOD, request, sizeof(request), on_message, &st,
					 &co, &result) == VCLI_OK);
		if (st.cancel_at && st.msgs >= st.cancel_at)
			CHECK(result.status == VCLI_STATUS_CANCELLED);
	} else {
		CHECK(vcli_client_unary(cl, METHOD, request, sizeof(request), &resp, &co,
					&result) == VCLI_OK);
		/* A response only with OK; never one over the limit. */
		if (result.status != VCLI_STATUS_OK)
			CHECK(!resp.data);
		else if (mode & 4)
			CHECK(resp.len <= 1024);
		vcli_bytes_release(&resp);
	}
	/* Every ending is one of the gRPC codes (what vcli maps to its exit
	 * status and names), with a terminated message. */
	CHECK(result.status >= VCLI_STATUS_OK && result.status <= VCLI_STATUS_UNAUTHENTICATED);
	CHECK(memchr(result.message, '\0', sizeof(result.message)) != NULL);
	CHECK(vcli_client_inflight(cl) == 0);
	vcli_client_free(cl);

	CHECK(write(srv.stop[1], "x", 1) == 1);
	pthread_join(srv.thread, NULL);
	close(srv.stop[0]);
	close(srv.stop[1]);
	buf_release(&structured);
	return 0;
}
