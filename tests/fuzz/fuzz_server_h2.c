/*
 * Fuzz target: governd's input path.  Bytes from a client go into the real
 * server connection code (src/rpc/server.c through h2io and nghttp2:
 * preface, frames, HPACK headers, gRPC length-prefixed messages with their
 * compressed flag) over an in-memory connection (rpc__memconn, server.h),
 * with the services registered as governd registers them:
 *   - grpc.health.v1.Health, governd's own handlers (src/server/health.c);
 *   - vertice.governance.v1.GovernanceService from its real descriptor, so
 *     requests are decoded with every method's input type, served by a
 *     test service: HealthCheck is governd's handler; every other method
 *     runs the checks its handler runs (src/server/checks.c) and then,
 *     instead of asking the store, answers in one of the ways the real
 *     handlers do (a message, an error status with the request's text in
 *     it, metadata, or no answer until the connection goes), and the two
 *     streaming methods send a stream of messages paced by
 *     rpc_call_on_drain.
 *
 * Input: byte 0 chooses the mode.
 *   even: raw.  The rest of the input is the client's byte stream as is
 *         (the preface first), fed in reads of (byte0 / 2) * 16 bytes, or
 *         all at once when that is 0.  Seeds: captured client traffic.
 *   odd:  structured.  The client preface and an empty SETTINGS frame are
 *         written for the input, which is then read as a list of
 *         operations: a byte picks each (modulo 14), which then builds one
 *         frame (request HEADERS with literal HPACK fields, a gRPC message
 *         in DATA, plain DATA, RST_STREAM, PING, SETTINGS, WINDOW_UPDATE,
 *         GOAWAY, CONTINUATION, trailers, any raw frame), or is a "flush"
 *         that hands what is built so far to the server as one read, a
 *         "wait" (1.5 ms, twice at most, so that 1 ms deadlines pass) or a
 *         "shutdown" (rpc_server_shutdown, as governd's SIGTERM: GOAWAY,
 *         streams ended, in-flight calls drain).  The op_* functions here
 *         and in h2build.c give the layout of each.
 *
 * The server's limits are governd's defaults except for a smaller largest
 * message (64 KiB), so that the size checks are reachable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "governance.pb-c.h"
#include "gov_checks.h"
#include "h2build.h"
#include "rpc/frame.h"
#include "rpc/server.h"
#include "server/health.h"
#include "vcli/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_RECV (64u * 1024)

/* ---- the test service ---- */

/* A stream in progress (StreamDecisions, StreamEvents). */
struct stream {
	rpc_call *call;
	const ProtobufCMessage *request;
	int left;        /* messages still to send */
	int finish;      /* end with OK after the last (else wait for cancel) */
	uint32_t sent;
};

static void stream_cancel(rpc_call *call, int reason, void *ud)
{
	free(ud);
}

static void stream_pump(rpc_call *call, void *ud)
{
	struct stream *s = ud;

	/* Like streams.c: send while little is queued, then wait for the
	 * drain callback (a low mark, so that short inputs reach it). */
	while (s->left > 0 && rpc_call_pending_bytes(call) < 64) {
		if (s->request->descriptor == &vertice__governance__v1__stream_events_request__descriptor) {
			Vertice__Governance__V1__GovernanceEvent ev =
				VERTICE__GOVERNANCE__V1__GOVERNANCE_EVENT__INIT;
			const Vertice__Governance__V1__StreamEventsRequest *r =
				(const void *)s->request;
			ev.message = r->session_id;
			if (rpc_call_send(call, &ev.base) < 0)
				return;
		} else {
			Vertice__Governance__V1__DecisionEvent ev =
				VERTICE__GOVERNANCE__V1__DECISION_EVENT__INIT;
			ev.sequence = ++s->sent;
			if (rpc_call_send(call, &ev.base) < 0)
				return;
		}
		s->left--;
	}
	if (s->left > 0) {
		rpc_call_on_drain(call, stream_pump, s);
		return;
	}
	if (s->finish) {
		rpc_call_on_cancel(call, NULL, NULL);
		free(s);
		rpc_call_finish(call, VCLI_STATUS_OK, NULL);
	}
}

static void serve_stream(rpc_call *call, const ProtobufCMessage *req, int count)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s) {
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	s->call = call;
	s->request = req;
	s->left = count & 0x3f;
	s->finish = count & 0x40;
	rpc_call_on_cancel(call, stream_cancel, s);
	rpc_call_send_headers(call);
	stream_pump(call, s);
}

static void pending_cancel(rpc_call *call, int reason, void *ud)
{
}

/* The request's first string field ("" when it has none). */
static const char *first_string(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED) {
			const char *s = *(const char *const *)((const char *)m + f->offset);
			return s ? s : "";
		}
	}
	return "";
}

/* What governd would answer once the store has spoken, picked by the
 * request's size so that the fuzzer can steer it. */
static void answer(rpc_call *call, const ProtobufCMessage *req,
		   const ProtobufCMethodDescriptor *md)
{
	size_t size = protobuf_c_message_get_packed_size(req);
	const uint8_t *v;
	size_t vlen;

	switch (size % 5) {
	case 0: /* an empty response of the method's output type */
	case 1: {
		ProtobufCMessage *resp = calloc(1, md->output->sizeof_message);
		if (!resp) {
			rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
			return;
		}
		protobuf_c_message_init(md->output, resp);
		/* Metadata the client sent comes back, as a proxy might. */
		v = rpc_call_metadata(call, "x-echo-bin", &vlen);
		if (v)
			rpc_call_add_metadata(call, "x-echo-bin", v, vlen);
		v = rpc_call_metadata(call, "x-echo", &vlen);
		if (v)
			rpc_call_add_metadata(call, "x-echo", v, vlen);
		rpc_call_send(call, resp);
		free(resp);
		rpc_call_finish(call, VCLI_STATUS_OK, NULL);
		return;
	}
	case 2: /* a store refusal that quotes the request, as "decision '%s'
		 * not found" does */
		rpc_call_finishf(call, VCLI_STATUS_NOT_FOUND, "%s: '%s' not found",
				 md->name, first_string(req));
		return;
	case 3: /* a raw answer (the store's bytes), then a failure */
		rpc_call_send_raw(call, (const uint8_t *)"\x0a\x00", 2);
		rpc_call_finish(call, VCLI_STATUS_UNAVAILABLE, "store closed");
		return;
	default: /* the store has not answered when the connection goes */
		rpc_call_on_cancel(call, pending_cancel, NULL);
		return;
	}
}

static void gov_handler(rpc_call *call, const ProtobufCMessage *req, void *ud)
{
	const ProtobufCServiceDescriptor *svc = ud;
	const char *path = rpc_call_method(call);
	const char *name = strrchr(path, '/') + 1;
	const ProtobufCMethodDescriptor *md =
		protobuf_c_service_descriptor_get_method_by_name(svc, name);
	char err[256];
	int status;

	err[0] = '\0';
	status = fuzz_gov_check(md->name, req, err, sizeof(err));
	if (status != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	if (strcmp(md->name, "StreamDecisions") == 0) {
		const Vertice__Governance__V1__StreamDecisionsRequest *r = (const void *)req;
		serve_stream(call, req, (int)(r->resume_after & 0x7f));
	} else if (strcmp(md->name, "StreamEvents") == 0) {
		const Vertice__Governance__V1__StreamEventsRequest *r = (const void *)req;
		serve_stream(call, req, (int)(strlen(r->session_id) & 0x7f));
	} else {
		answer(call, req, md);
	}
}

static const rpc_method_row gov_rows[] = {
	{ "HealthCheck", RPC_UNARY, health_gov_check },
	{ "CreateSession", RPC_UNARY, gov_handler },
	{ "CloseSession", RPC_UNARY, gov_handler },
	{ "ListPendingDecisions", RPC_UNARY, gov_handler },
	{ "GetDecision", RPC_UNARY, gov_handler },
	{ "ApproveDecision", RPC_UNARY, gov_handler },
	{ "RejectDecision", RPC_UNARY, gov_handler },
	{ "EscalateDecision", RPC_UNARY, gov_handler },
	{ "GetMetrics", RPC_UNARY, gov_handler },
	{ "GetSessionStats", RPC_UNARY, gov_handler },
	{ "StreamDecisions", RPC_SERVER_STREAMING, gov_handler },
	{ "StreamEvents", RPC_SERVER_STREAMING, gov_handler },
	{ "SubmitDecision", RPC_UNARY, gov_handler },
};

/* ---- structured input (h2build.h has the frames every target shares) ---- */

static const char *const paths[] = {
	"/vertice.governance.v1.GovernanceService/HealthCheck",
	"/vertice.governance.v1.GovernanceService/CreateSession",
	"/vertice.governance.v1.GovernanceService/CloseSession",
	"/vertice.governance.v1.GovernanceService/ListPendingDecisions",
	"/vertice.governance.v1.GovernanceService/GetDecision",
	"/vertice.governance.v1.GovernanceService/ApproveDecision",
	"/vertice.governance.v1.GovernanceService/RejectDecision",
	"/vertice.governance.v1.GovernanceService/EscalateDecision",
	"/vertice.governance.v1.GovernanceService/GetMetrics",
	"/vertice.governance.v1.GovernanceService/GetSessionStats",
	"/vertice.governance.v1.GovernanceService/StreamDecisions",
	"/vertice.governance.v1.GovernanceService/StreamEvents",
	"/vertice.governance.v1.GovernanceService/SubmitDecision",
	"/grpc.health.v1.Health/Check",
	"/grpc.health.v1.Health/Watch",
	"/vertice.governance.v1.GovernanceService/NoSuchMethod",
};

/* Deadlines: one far, one that has passed, one that ends within a "wait"
 * operation, malformed ones. */
static const char *const timeouts[] = { "1S", "0n", "1m", "99999999H", "x", "12345678901" };

/*
 * Request HEADERS.  Layout: stream, flags byte (bit 0: END_STREAM, bit 1:
 * leave END_HEADERS off for a CONTINUATION to finish, bit 2: a free
 * :method, bit 3: no content-type, bit 4: a free :path), path index,
 * option bits (grpc-timeout, grpc-encoding, gzip or not, accept gzip,
 * padding, and in the top three bits 0-7 extra fields), the free values,
 * the extra fields (name, value), the padding length.
 */
static void op_headers(struct fuzz_input *in, buf *out)
{
	buf hb = BUF_INIT(1 << 20);
	uint32_t id = fuzz_stream_id(in);
	uint8_t f = fuzz_u8(in), pidx = fuzz_u8(in), opt = fuzz_u8(in);
	size_t nextra = opt >> 5, len, vlen;
	const uint8_t *p, *v;

	if (f & 4) {
		p = fuzz_take(in, 16, &len);
		hpack_field(&hb, ":method", 7, p, len);
	} else {
		buf_append_byte(&hb, 0x83); /* indexed: :method POST */
	}
	buf_append_byte(&hb, 0x86);         /* indexed: :scheme http */
	if (f & 16) {
		p = fuzz_take(in, 300, &len);
		hpack_field(&hb, ":path", 5, p, len);
	} else {
		hpack_str(&hb, ":path", paths[pidx % (sizeof(paths) / sizeof(paths[0]))]);
	}
	hpack_str(&hb, ":authority", "fuzz");
	if (!(f & 8))
		hpack_str(&hb, "content-type", pidx & 0x80 ? "application/grpc+proto" :
			  "application/grpc");
	hpack_str(&hb, "te", "trailers");
	if (opt & 1)
		hpack_str(&hb, "grpc-timeout", timeouts[(pidx >> 4) % 6]);
	if (opt & 2)
		hpack_str(&hb, "grpc-encoding", opt & 4 ? "gzip" : "deflate");
	if (opt & 8)
		hpack_str(&hb, "grpc-accept-encoding", "identity,gzip");
	for (size_t i = 0; i < nextra; i++) {
		p = fuzz_take(in, 64, &len);
		v = fuzz_take(in, 512, &vlen);
		hpack_field(&hb, p, len, v, vlen);
	}
	if (opt & 16) {
		/* PADDED: the pad length, the block, the padding. */
		uint8_t pad = fuzz_u8(in);
		h2_frame_header(out, 1u + hb.len + pad, 0x1,
				(uint8_t)((f & 1) | 0x8 | (f & 2 ? 0 : 0x4)), id);
		buf_append_byte(out, pad);
		buf_append(out, hb.data, hb.len);
		for (unsigned i = 0; i < pad; i++)
			buf_append_byte(out, 0);
	} else {
		h2_headers(out, id, f & 3, &hb);
	}
	buf_release(&hb);
}

/* Request trailers: stream, then one field (name, value); END_STREAM. */
static void op_trailers(struct fuzz_input *in, buf *out)
{
	buf hb = BUF_INIT(1 << 20);
	uint32_t id = fuzz_stream_id(in);
	size_t len, vlen;
	const uint8_t *p = fuzz_take(in, 64, &len);
	const uint8_t *v = fuzz_take(in, 512, &vlen);

	hpack_field(&hb, p, len, v, vlen);
	h2_headers(out, id, 1, &hb);
	buf_release(&hb);
}

/* ---- the connection ---- */

static void output(const uint8_t *p, size_t n, void *ud)
{
	*(size_t *)ud += n;
}

static rpc_server *server_new(void)
{
	rpc_server_options o;
	rpc_server *srv;
	char err[256];

	rpc_server_options_init(&o);
	o.threads = 1;
	o.max_recv_size = FUZZ_MAX_RECV;
	if (rpc_server_new(&o, &srv, err, sizeof(err)) != RPC_OK)
		abort();
	if (rpc_server_add_service(srv, &vertice__governance__v1__governance_service__descriptor,
				   gov_rows, sizeof(gov_rows) / sizeof(gov_rows[0]),
				   (void *)&vertice__governance__v1__governance_service__descriptor)
	    != RPC_OK ||
	    health_register(srv) < 0)
		abort();
	return srv;
}

static void run_raw(rpc_memconn *mc, const uint8_t *p, size_t n, size_t chunk)
{
	if (!chunk)
		chunk = n;
	while (n > 0) {
		size_t k = n < chunk ? n : chunk;
		if (rpc__memconn_feed(mc, p, k) < 0)
			return;
		p += k;
		n -= k;
	}
}

static void run_structured(rpc_server *srv, rpc_memconn *mc, const uint8_t *p, size_t n)
{
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct fuzz_input in = { p, n, 0 };
	buf out = BUF_INIT(4u << 20);
	int waits = 0;

	buf_append(&out, preface, sizeof(preface) - 1);
	h2_frame(&out, 0x4, 0, 0, NULL, 0);
	while (in.n > 0) {
		switch (fuzz_u8(&in) % 14) {
		case 0: op_headers(&in, &out); break;
		case 1: h2_op_message(&in, &out); break;
		case 2: h2_op_data(&in, &out); break;
		case 3: h2_op_rst_stream(&in, &out); break;
		case 4: h2_op_ping(&in, &out); break;
		case 5: h2_op_settings(&in, &out); break;
		case 6: h2_op_window_update(&in, &out); break;
		case 7: h2_op_goaway(&in, &out); break;
		case 8: h2_op_continuation(&in, &out); break;
		case 9: op_trailers(&in, &out); break;
		case 10: h2_op_raw(&in, &out); break;
		case 11: /* flush: the server reads what is built so far */
			if (out.len && rpc__memconn_feed(mc, out.data, out.len) < 0)
				goto out;
			buf_reset(&out);
			break;
		case 12: /* wait: deadlines of a millisecond pass */
			if (waits++ >= 2)
				break;
			if (out.len && rpc__memconn_feed(mc, out.data, out.len) < 0)
				goto out;
			buf_reset(&out);
			usleep(1500);
			if (rpc__memconn_feed(mc, NULL, 0) < 0)
				goto out;
			break;
		default: /* governd gets SIGTERM: GOAWAY, streams end, calls drain */
			rpc_server_shutdown(srv);
			if (rpc__memconn_feed(mc, NULL, 0) < 0)
				goto out;
			break;
		}
	}
	if (out.len)
		rpc__memconn_feed(mc, out.data, out.len);
out:
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	rpc_server *srv;
	rpc_memconn *mc;
	size_t written = 0;

	if (size < 1)
		return 0;
	if (!quiet) {
		/* Abusive peers are logged at warn level: not news here. */
		log_setup(LOG_ERROR, LOG_FMT_LOGFMT);
		quiet = 1;
	}
	srv = server_new();
	if (rpc__memconn_open(srv, output, &written, &mc) != RPC_OK)
		abort();
	if (data[0] & 1)
		run_structured(srv, mc, data + 1, size - 1);
	else
		run_raw(mc, data + 1, size - 1, (size_t)(data[0] >> 1) * 16);
	rpc__memconn_close(mc);
	rpc_server_free(srv);
	health_release();
	return 0;
}
