/*
 * The client half of the transport, behind include/vcli/client.h.
 *
 * One vcli_client = one libuv loop (its own, or the caller's) + at most one
 * live HTTP/2 connection.  Calls wait in the client's list until the
 * connection is ready, then each becomes a stream.  When the connection
 * fails, every call on it ends with UNAVAILABLE and the next call dials
 * again.
 *
 * Resilience (docs/client.md; the pure parts in resil.c): a connection
 * attempt that fails sets the time of the next one (dial_at); a call
 * that ends with a retryable status, or that would need a connection
 * before dial_at, waits on the client's retry list (one timer for all of
 * it, like deadlines) if it is retry-safe, and ends otherwise; the
 * breaker is asked before any call goes out and told what the server
 * (or the network) answered.
 *
 * On a caller's loop, vcli_client_free() cannot run the loop to let the
 * closing handles finish, so the client struct lives on until the last of
 * its connections is gone (refs below): nothing a late close callback
 * touches is freed under it.
 */
#include "vcli/client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/netaddr.h"
#include "common/timeutil.h"
#include "rpc/frame.h"
#include "rpc/h2io.h"
#include "rpc/resil.h"
#include "rpc/tls.h"

#define CLIENT_READ_BUF (64 * 1024)
#define CLIENT_HIGH_WATER (256 * 1024)
#define CLIENT_MAX_INFLIGHT 100000

enum conn_state { C_RESOLVING, C_CONNECTING, C_TLS, C_READY, C_DEAD };

struct cconn;

struct ccall {
	vcli_client *cl;
	struct cconn *conn;      /* set once submitted as a stream */
	int32_t stream_id;
	char *path;
	buf req;                 /* framed request message */
	size_t req_off;
	buf hdrs;                /* metadata: key\0value\0 (values ready to send) */
	size_t nhdrs;
	uint32_t deadline_ms;
	uint64_t expiry;         /* loop time (ms) the deadline passes at */
	int in_deadlines;        /* on the client's deadline list */
	struct ccall *dl_prev, *dl_next;
	char timeout[16];        /* grpc-timeout value while headers wait */
	int streaming;
	int connect_only;        /* vcli_client_connect_async: no stream */
	vcli_done_fn on_done;
	vcli_message_fn on_message;
	void *ud;                /* for on_done */
	void *msg_ud;            /* for on_message */
	/* response */
	int http_status;
	int got_status;
	int status;
	char message[512];
	int enc_gzip;
	int content_type_ok;
	int saw_headers;
	grpc_deframer in;
	int nmsgs;
	buf resp;
	int ended;
	int retried;             /* the transparent retry (refused stream) */
	/* retries (vcli_retry_policy) */
	int retry_safe;
	int probe;               /* the circuit breaker's probe */
	uint32_t attempts;
	int in_retry;            /* on the client's retry list */
	uint64_t retry_due;      /* loop time (ms) to go again */
	struct ccall *rt_prev, *rt_next;
	char last_err[200];      /* why the last attempt failed */
	struct ccall *prev, *next;
};

struct cconn {
	vcli_client *cl;
	enum conn_state state;
	uv_getaddrinfo_t gai;
	h2io_sock sock;
	int sock_open;
	uv_connect_t creq;
	uv_timer_t ctimer;
	int ctimer_open;
	h2io io;
	tls_conn tls;
	int use_tls;
	nghttp2_session *h2;
	int goaway;
	int heard;               /* the server's SETTINGS came: established */
	int in_recv;
	int refs;                /* handles still to close + 1 while live */
	struct cconn *next_live; /* the client's live connections */
};

struct vcli_client {
	uv_loop_t *loop;         /* &own_loop, or the caller's */
	uv_loop_t own_loop;
	int external_loop;       /* 1: the caller owns and runs loop */
	int refs;                /* 1 until freed + 1 per connection not yet
				    released */
	char *endpoint;
	char host[256];
	int port;
	char unix_path[108];     /* "unix:PATH" endpoints; "" for TCP */
	char authority[300];
	char *server_name;
	char *user_agent;
	int tls;
	uint32_t connect_timeout_ms;
	uint32_t max_recv;
	int gzip;
	SSL_CTX *ssl;
	struct cconn *conn;      /* where new calls go; NULL: dial on next call */
	struct cconn *live;      /* every connection not yet failed (incl. draining) */
	struct ccall *calls;
	/* Calls with a deadline, earliest first, and one timer for the
	 * earliest: no timer handle (and no allocation) per call. */
	struct ccall *dl_head, *dl_tail;
	uv_timer_t dl_timer;
	/* Calls waiting to go (again): a retry's back-off, or the reconnect
	 * back-off.  Unordered (short, and rarely used); one timer. */
	struct ccall *rt_head;
	uv_timer_t rt_timer;
	vcli_retry_policy retry;
	vcli_backoff reconnect;
	int reconnect_off;
	uint32_t dial_failures;  /* connection attempts failed in a row */
	uint64_t dial_at;        /* loop time (ms) before which none is made */
	char dial_err[200];      /* why the last attempt failed */
	struct resil_breaker breaker;
	char fail_err[200];      /* the last transport failure */
	uint64_t rng;
	int inflight;
	int running;             /* inside uv_run: no nested loop runs */
	uint8_t rbuf[CLIENT_READ_BUF];
	nghttp2_session_callbacks *cbs;
};

static void conn_fail(struct cconn *c, int status, const char *msg);
static void conn_flush(struct cconn *c);
static struct cconn *conn_open(vcli_client *cl);
static void submit_call(struct cconn *c, struct ccall *call);

const char *vcli_version(void)
{
	return VCLI_VERSION;
}

const char *vcli_strerror(vcli_code code)
{
	switch (code) {
	case VCLI_OK: return "ok";
	case VCLI_E_INVALID: return "invalid argument";
	case VCLI_E_NOMEM: return "out of memory";
	case VCLI_E_TLS: return "TLS set-up failed";
	case VCLI_E_RESOLVE: return "cannot resolve endpoint";
	case VCLI_E_BUSY: return "too many calls in flight";
	}
	return "unknown error";
}

void vcli_client_options_init(vcli_client_options *o)
{
	memset(o, 0, sizeof(*o));
}

void vcli_bytes_release(vcli_bytes *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* ---- call completion ---- */

static void call_unlink(struct ccall *call)
{
	vcli_client *cl = call->cl;

	if (call->prev)
		call->prev->next = call->next;
	else
		cl->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
	cl->inflight--;
}

static void on_deadlines(uv_timer_t *t);

/* Puts call on the deadline list (the calls of a client mostly share one
 * deadline, so the new one usually goes at the tail). */
static void deadline_add(vcli_client *cl, struct ccall *call)
{
	struct ccall *after = cl->dl_tail;

	call->expiry = uv_now(cl->loop) + call->deadline_ms;
	while (after && after->expiry > call->expiry)
		after = after->dl_prev;
	call->dl_prev = after;
	call->dl_next = after ? after->dl_next : cl->dl_head;
	if (call->dl_next)
		call->dl_next->dl_prev = call;
	else
		cl->dl_tail = call;
	if (after)
		after->dl_next = call;
	else
		cl->dl_head = call;
	call->in_deadlines = 1;
	/* A new earliest deadline: the timer moves up to it.  Otherwise the
	 * timer, armed for an earlier one, looks again when it fires. */
	if (cl->dl_head == call)
		uv_timer_start(&cl->dl_timer, on_deadlines, call->deadline_ms, 0);
}

static void deadline_remove(vcli_client *cl, struct ccall *call)
{
	if (!call->in_deadlines)
		return;
	if (call->dl_prev)
		call->dl_prev->dl_next = call->dl_next;
	else
		cl->dl_head = call->dl_next;
	if (call->dl_next)
		call->dl_next->dl_prev = call->dl_prev;
	else
		cl->dl_tail = call->dl_prev;
	call->dl_prev = call->dl_next = NULL;
	call->in_deadlines = 0;
}

/* ---- the retry list ---- */

static void on_retry_timer(uv_timer_t *t);

/* Arms the timer for the earliest call on the list, or stops it (a timer
 * left armed would keep a caller's loop alive for nothing). */
static void retry_arm(vcli_client *cl)
{
	uint64_t first = UINT64_MAX, now = uv_now(cl->loop);

	for (struct ccall *c = cl->rt_head; c; c = c->rt_next)
		if (c->retry_due < first)
			first = c->retry_due;
	if (first == UINT64_MAX)
		uv_timer_stop(&cl->rt_timer);
	else
		uv_timer_start(&cl->rt_timer, on_retry_timer,
			       first > now ? first - now : 0, 0);
}

static void retry_park(struct ccall *call, uint64_t due)
{
	vcli_client *cl = call->cl;

	call->retry_due = due;
	call->rt_prev = NULL;
	call->rt_next = cl->rt_head;
	if (cl->rt_head)
		cl->rt_head->rt_prev = call;
	cl->rt_head = call;
	call->in_retry = 1;
	retry_arm(cl);
}

static void retry_unlink(struct ccall *call)
{
	vcli_client *cl = call->cl;

	if (!call->in_retry)
		return;
	if (call->rt_prev)
		call->rt_prev->rt_next = call->rt_next;
	else
		cl->rt_head = call->rt_next;
	if (call->rt_next)
		call->rt_next->rt_prev = call->rt_prev;
	call->rt_prev = call->rt_next = NULL;
	call->in_retry = 0;
	if (!cl->rt_head)
		uv_timer_stop(&cl->rt_timer);
}

static void call_free(struct ccall *call)
{
	deadline_remove(call->cl, call);
	retry_unlink(call);
	buf_release(&call->req);
	buf_release(&call->hdrs);
	buf_release(&call->resp);
	grpc_deframer_release(&call->in);
	free(call);
}

/* Ends a call exactly once: detaches it from its stream, tells the caller,
 * frees it. */
static void call_end(struct ccall *call, int status, const char *msg)
{
	vcli_call_result r;

	if (call->ended)
		return;
	call->ended = 1;
	if (call->conn && call->conn->h2 && call->stream_id > 0)
		nghttp2_session_set_stream_user_data(call->conn->h2, call->stream_id, NULL);
	call_unlink(call);
	/* A probe that ended without telling (a deadline, a cancel): the
	 * next call may probe.  One whose outcome counted has already
	 * settled the breaker, and this changes nothing then. */
	if (call->probe)
		resil_breaker_probe_void(&call->cl->breaker);
	r.status = status;
	r.attempts = call->attempts;
	{
		/* Every call ends here: a plain copy, not a printf. */
		size_t ml = msg ? strlen(msg) : 0;

		if (ml >= sizeof(r.message))
			ml = sizeof(r.message) - 1;
		if (ml)
			memcpy(r.message, msg, ml);
		r.message[ml] = '\0';
	}
	if (call->on_done)
		call->on_done(call->ud, &r, call->resp.data, call->resp.len);
	call_free(call);
}

/* "812 ms", "4.2 s": a wait, for messages. */
static void wait_text(uint64_t ms, char *out, size_t outlen)
{
	if (ms < 1000)
		snprintf(out, outlen, "%u ms", (unsigned)ms);
	else
		snprintf(out, outlen, "%.1f s", (double)ms / 1000);
}

static void copy_text(char *dst, size_t dstlen, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= dstlen)
		n = dstlen - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The server (or the network) answered a call of ours: the breaker
 * hears of it.  UNAVAILABLE is a transport failure, anything else a
 * success. */
static void note_answer(struct ccall *call, int status, const char *msg)
{
	vcli_client *cl = call->cl;

	call->probe = 0;
	if (status != VCLI_STATUS_UNAVAILABLE) {
		if (cl->breaker.state != VCLI_CIRCUIT_CLOSED) {
			/* Closed by this answer: the calls that waited for
			 * the probe go now. */
			uint64_t now = uv_now(cl->loop);

			for (struct ccall *c = cl->rt_head; c; c = c->rt_next)
				if (c->attempts && c->retry_due > now)
					c->retry_due = now;
			if (cl->rt_head)
				retry_arm(cl);
		}
		resil_breaker_success(&cl->breaker);
		return;
	}
	copy_text(cl->fail_err, sizeof(cl->fail_err), msg);
	resil_breaker_failure(&cl->breaker, uv_now(cl->loop));
}

/*
 * Ends a call that failed with status, or sends it again later when it is
 * retry-safe and the policy, the breaker and its deadline allow: the call
 * leaves its stream and waits on the retry list for its back-off, and at
 * least for the next connection attempt when there is no connection.
 */
static void call_done(struct ccall *call, int status, const char *msg)
{
	vcli_client *cl = call->cl;
	uint64_t now, at, expiry;

	if (call->ended || !call->retry_safe || status == VCLI_STATUS_OK)
		goto end;
	now = uv_now(cl->loop);
	expiry = call->in_deadlines ? call->expiry : 0;
	at = resil_retry_at(&cl->retry, 1, status, call->attempts, now, expiry,
			    &cl->rng);
	if (!at)
		goto end;
	/* An open circuit sends nothing before its cool-down: the retry
	 * waits for it (and may be the probe); the reconnect back-off
	 * likewise, unless the circuit paces the attempts. */
	if (resil_breaker_state(&cl->breaker, now) == VCLI_CIRCUIT_OPEN &&
	    at < cl->breaker.open_until)
		at = cl->breaker.open_until;
	else if (!cl->conn && !cl->reconnect_off && at < cl->dial_at &&
		 resil_breaker_state(&cl->breaker, now) == VCLI_CIRCUIT_CLOSED)
		at = cl->dial_at;
	if (expiry && at >= expiry)
		goto end;
	/* Leave the stream and forget its answer. */
	if (call->conn && call->conn->h2 && call->stream_id > 0)
		nghttp2_session_set_stream_user_data(call->conn->h2, call->stream_id, NULL);
	call->conn = NULL;
	call->stream_id = 0;
	call->req_off = 0;
	call->http_status = 0;
	call->got_status = 0;
	call->status = 0;
	call->enc_gzip = 0;
	call->content_type_ok = 0;
	call->saw_headers = 0;
	call->nmsgs = 0;
	call->retried = 0;
	buf_reset(&call->resp);
	grpc_deframer_release(&call->in);
	grpc_deframer_init(&call->in, cl->max_recv);
	snprintf(call->last_err, sizeof(call->last_err), "%s: %s",
		 vcli_status_name(status), msg ? msg : "");
	call->message[0] = '\0';
	retry_park(call, at);
	return;
end:
	call_end(call, status, msg);
}

/* Cancels the stream on the wire (if any) and ends the call. */
static void call_abort(struct ccall *call, int status, const char *msg)
{
	struct cconn *c = call->conn;

	if (c && c->h2 && call->stream_id > 0) {
		nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, call->stream_id,
					  NGHTTP2_CANCEL);
		call_end(call, status, msg);
		if (!c->in_recv)
			conn_flush(c);
		return;
	}
	call_end(call, status, msg);
}

static void on_deadlines(uv_timer_t *t)
{
	vcli_client *cl = t->data;
	uint64_t now = uv_now(cl->loop);
	char msg[512];

	/* Ending a call can end others (its connection may fail): take the
	 * head afresh each time. */
	while (cl->dl_head && cl->dl_head->expiry <= now) {
		struct ccall *call = cl->dl_head;

		deadline_remove(cl, call);
		if (call->in_retry && !call->attempts)
			snprintf(msg, sizeof(msg), "deadline of %u ms exceeded "
				 "waiting for the next connection attempt "
				 "(the last: %s)", call->deadline_ms,
				 cl->dial_err);
		else if (call->in_retry)
			snprintf(msg, sizeof(msg), "deadline of %u ms exceeded "
				 "after %u attempts (the last: %s)",
				 call->deadline_ms, call->attempts,
				 call->last_err);
		else
			snprintf(msg, sizeof(msg), "deadline of %u ms exceeded%s",
				 call->deadline_ms,
				 call->conn ? "" : " before the connection was ready");
		call_abort(call, VCLI_STATUS_DEADLINE_EXCEEDED, msg);
	}
	if (cl->dl_head)
		uv_timer_start(&cl->dl_timer, on_deadlines,
			       cl->dl_head->expiry - now, 0);
}

/* ---- nghttp2 callbacks ---- */

static ssize_t req_read_cb(nghttp2_session *s, int32_t id, uint8_t *dst,
			   size_t len, uint32_t *flags, nghttp2_data_source *src,
			   void *ud)
{
	struct ccall *call = src->ptr;
	size_t avail = call->req.len - call->req_off;
	size_t n = avail < len ? avail : len;

	memcpy(dst, call->req.data + call->req_off, n);
	call->req_off += n;
	/* The request stays until the call ends: a stream the server refuses
	 * is sent again on a new connection. */
	if (call->req_off == call->req.len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int http_to_grpc(int http)
{
	switch (http) {
	case 400: return VCLI_STATUS_INTERNAL;
	case 401: return VCLI_STATUS_UNAUTHENTICATED;
	case 403: return VCLI_STATUS_PERMISSION_DENIED;
	case 404: return VCLI_STATUS_UNIMPLEMENTED;
	case 429: case 502: case 503: case 504: return VCLI_STATUS_UNAVAILABLE;
	default: return VCLI_STATUS_UNKNOWN;
	}
}

static int h2err_to_grpc(uint32_t e)
{
	switch (e) {
	case NGHTTP2_REFUSED_STREAM: return VCLI_STATUS_UNAVAILABLE;
	case NGHTTP2_CANCEL: return VCLI_STATUS_CANCELLED;
	case NGHTTP2_ENHANCE_YOUR_CALM: return VCLI_STATUS_RESOURCE_EXHAUSTED;
	case NGHTTP2_INADEQUATE_SECURITY: return VCLI_STATUS_PERMISSION_DENIED;
	default: return VCLI_STATUS_INTERNAL;
	}
}

static int hdr_is(const uint8_t *name, size_t namelen, const char *lit)
{
	size_t l = strlen(lit);
	return namelen == l && memcmp(name, lit, l) == 0;
}

/* A grpc-status value: a code from 0 to 16 in decimal.  Anything else (no
 * digits, other characters, a code gRPC does not define) is UNKNOWN, as
 * the gRPC spec asks of a status the client cannot understand: never
 * mistaken for OK, never outside vcli_status_code. */
static int parse_grpc_status(const uint8_t *value, size_t len)
{
	int v = 0;

	if (len == 0 || len > 2)
		return VCLI_STATUS_UNKNOWN;
	for (size_t i = 0; i < len; i++) {
		if (value[i] < '0' || value[i] > '9')
			return VCLI_STATUS_UNKNOWN;
		v = v * 10 + (value[i] - '0');
	}
	return v <= VCLI_STATUS_UNAUTHENTICATED ? v : VCLI_STATUS_UNKNOWN;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f,
		     const uint8_t *name, size_t namelen, const uint8_t *value,
		     size_t valuelen, uint8_t flags, void *ud)
{
	struct ccall *call;

	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	call = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (!call)
		return 0;
	call->saw_headers = 1;
	if (hdr_is(name, namelen, ":status")) {
		call->http_status = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++)
			call->http_status = call->http_status * 10 + (value[i] - '0');
	} else if (hdr_is(name, namelen, "content-type")) {
		call->content_type_ok = valuelen >= 16 &&
					memcmp(value, "application/grpc", 16) == 0;
	} else if (hdr_is(name, namelen, "grpc-status")) {
		call->got_status = 1;
		call->status = parse_grpc_status(value, valuelen);
	} else if (hdr_is(name, namelen, "grpc-message")) {
		pct_decode((const char *)value, valuelen, call->message, sizeof(call->message));
	} else if (hdr_is(name, namelen, "grpc-encoding")) {
		call->enc_gzip = valuelen == 4 && memcmp(value, "gzip", 4) == 0;
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id,
			 const uint8_t *data, size_t len, void *ud)
{
	struct ccall *call = nghttp2_session_get_stream_user_data(s, id);
	int status;
	const char *msg;

	if (!call)
		return 0;
	while (len > 0) {
		int r = grpc_deframer_feed(&call->in, &data, &len, call->enc_gzip,
					   &status, &msg);
		if (r == DEFRAME_ERR) {
			char m[160];
			snprintf(m, sizeof(m), "response: %s (limit %u bytes)", msg,
				 call->in.max);
			call_abort(call, status, status == VCLI_STATUS_RESOURCE_EXHAUSTED ?
				   m : msg);
			return 0;
		}
		if (r != DEFRAME_MSG)
			break;
		call->nmsgs++;
		{
			size_t mlen;
			const uint8_t *m = grpc_deframer_msg(&call->in, &mlen);
			if (call->streaming) {
				if (call->on_message && call->on_message(call->msg_ud, m, mlen)) {
					call_abort(call, VCLI_STATUS_CANCELLED,
						   "cancelled by the caller");
					return 0;
				}
			} else if (call->nmsgs > 1) {
				call_abort(call, VCLI_STATUS_INTERNAL,
					   "unary response has more than one message");
				return 0;
			} else {
				/* The message is in the deframer's buffer: take
				 * the buffer instead of copying it. */
				buf t = call->resp;

				(void)m;
				(void)mlen;
				call->resp = call->in.body;
				call->in.body = t;
				buf_reset(&call->in.body);
			}
		}
	}
	return 0;
}

/*
 * A stream the server refused (it had sent GOAWAY, say after closing an idle
 * connection) was never processed, so it is safe to send again, once, on a
 * new connection: the transparent retry of the gRPC retry design.
 */
static int call_requeue(struct ccall *call, struct cconn *old)
{
	vcli_client *cl = call->cl;

	if (call->retried || call->saw_headers || call->ended)
		return -1;
	call->retried = 1;
	nghttp2_session_set_stream_user_data(old->h2, call->stream_id, NULL);
	call->conn = NULL;
	call->stream_id = 0;
	call->req_off = 0;
	old->goaway = 1;
	if (cl->conn == old)
		cl->conn = NULL;
	if (!cl->conn)
		conn_open(cl); /* on failure it ends the waiting calls */
	else if (cl->conn->state == C_READY) {
		submit_call(cl->conn, call);
		conn_flush(cl->conn);
	}
	return 0;
}

/* Ends a call the server (or the network) answered: the breaker hears
 * of it, then the call ends or goes again (call_done). */
static void call_answered(struct ccall *call, int status, const char *msg)
{
	note_answer(call, status, msg);
	call_done(call, status, msg);
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error_code,
			   void *ud)
{
	struct ccall *call = nghttp2_session_get_stream_user_data(s, id);
	char msg[200];

	if (!call)
		return 0;
	if (error_code == NGHTTP2_REFUSED_STREAM && !call->got_status &&
	    call_requeue(call, ud) == 0)
		return 0;
	if (call->got_status) {
		if (call->status == VCLI_STATUS_OK && !call->streaming && call->nmsgs == 0) {
			call_answered(call, VCLI_STATUS_INTERNAL, "response has no message");
			return 0;
		}
		if (call->status == VCLI_STATUS_OK && grpc_deframer_partial(&call->in)) {
			call_answered(call, VCLI_STATUS_INTERNAL, "response message truncated");
			return 0;
		}
		/* call_done() reads the message before a retry clears it. */
		call_answered(call, call->status, call->message);
		return 0;
	}
	if (call->http_status && call->http_status != 200) {
		snprintf(msg, sizeof(msg), "server answered HTTP %d", call->http_status);
		call_answered(call, http_to_grpc(call->http_status), msg);
		return 0;
	}
	if (call->saw_headers && !call->content_type_ok && error_code == NGHTTP2_NO_ERROR) {
		call_answered(call, VCLI_STATUS_UNKNOWN, "response is not gRPC (content-type)");
		return 0;
	}
	if (error_code == NGHTTP2_REFUSED_STREAM)
		snprintf(msg, sizeof(msg), "stream refused by the server (it may be shutting down)");
	else if (error_code != NGHTTP2_NO_ERROR)
		snprintf(msg, sizeof(msg), "stream reset by the server: %s",
			 nghttp2_http2_strerror(error_code));
	else
		snprintf(msg, sizeof(msg), "stream ended without a grpc-status");
	call_answered(call, error_code == NGHTTP2_NO_ERROR ? VCLI_STATUS_INTERNAL :
		      h2err_to_grpc(error_code), msg);
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct cconn *c = ud;

	if (f->hd.type == NGHTTP2_GOAWAY)
		c->goaway = 1; /* new calls go to a new connection */
	/* The server's first SETTINGS: it speaks HTTP/2, the connection is
	 * established.  Until then the connect timeout runs (a server that
	 * accepts and says nothing is not up), and now the reconnect
	 * back-off starts over. */
	if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK) &&
	    !c->heard) {
		c->heard = 1;
		if (c->ctimer_open)
			uv_timer_stop(&c->ctimer);
		c->cl->dial_failures = 0;
		c->cl->dial_at = 0;
	}
	return 0;
}

/* ---- connection ---- */

static void client_release(vcli_client *cl);

static void client_unref(vcli_client *cl)
{
	if (--cl->refs == 0)
		client_release(cl);
}

static void conn_unref(struct cconn *c)
{
	vcli_client *cl = c->cl;

	if (--c->refs > 0)
		return;
	if (c->h2)
		nghttp2_session_del(c->h2);
	h2io_release(&c->io);
	if (c->use_tls)
		tls_conn_release(&c->tls);
	free(c);
	client_unref(cl);
}

static void conn_handle_closed(uv_handle_t *h)
{
	conn_unref(h->data);
}

/* Takes the connection down; every call on it (or waiting for it) ends
 * with status. */
static void conn_fail(struct cconn *c, int status, const char *msg)
{
	vcli_client *cl = c->cl;
	struct ccall *call, *next;

	int was_current = cl->conn == c, had_calls = 0;

	if (c->state == C_DEAD)
		return;
	c->state = C_DEAD;
	if (cl->conn == c)
		cl->conn = NULL;
	for (struct cconn **pp = &cl->live; *pp; pp = &(*pp)->next_live) {
		if (*pp == c) {
			*pp = c->next_live;
			break;
		}
	}
	for (call = cl->calls; call && !had_calls; call = call->next)
		had_calls = call->conn == c ||
			    (was_current && !call->conn && !call->in_retry);
	/*
	 * A transport failure: an attempt that never got the server's
	 * SETTINGS sets the time of the next one; that or an established
	 * connection lost under calls counts for the breaker (an idle one
	 * the server closed does not).  Both before the calls end, so that
	 * their retries see them.
	 */
	if (status == VCLI_STATUS_UNAVAILABLE) {
		uint64_t now = uv_now(cl->loop);

		if (!c->heard) {
			if (cl->dial_failures < UINT32_MAX)
				cl->dial_failures++;
			cl->dial_at = cl->reconnect_off ? 0 :
				now + resil_backoff_delay(&cl->reconnect,
							  cl->dial_failures,
							  &cl->rng);
			copy_text(cl->dial_err, sizeof(cl->dial_err), msg);
		}
		if (!c->heard || had_calls) {
			copy_text(cl->fail_err, sizeof(cl->fail_err), msg);
			resil_breaker_failure(&cl->breaker, now);
		}
	}
	for (call = cl->calls; call; call = next) {
		next = call->next;
		if (call->in_retry)
			continue; /* not on any connection */
		if (call->conn == c || !call->conn) {
			if (call->conn == NULL && cl->conn)
				continue; /* waiting for a newer connection */
			if (status == VCLI_STATUS_UNAVAILABLE) {
				call->probe = 0; /* counted above */
				call_done(call, status, msg);
			} else {
				call_end(call, status, msg);
			}
		}
	}
	if (c->ctimer_open) {
		c->ctimer_open = 0;
		uv_close((uv_handle_t *)&c->ctimer, conn_handle_closed);
	}
	if (c->sock_open) {
		c->sock_open = 0;
		uv_close(&c->sock.handle, conn_handle_closed);
	}
	conn_unref(c);
}

static void conn_flush(struct cconn *c)
{
	char msg[300];

	if (c->state != C_READY && c->state != C_TLS)
		return;
	if (h2io_flush(&c->io) < 0) {
		snprintf(msg, sizeof(msg), "connection to %s failed: %s", c->cl->endpoint,
			 c->io.error);
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
		return;
	}
	if (c->state == C_READY && c->goaway && !h2io_busy(&c->io) &&
	    !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, "server closed the connection");
}

static void submit_call(struct cconn *c, struct ccall *call)
{
	vcli_client *cl = c->cl;
	nghttp2_nv nv[12 + 64];
	nghttp2_data_provider dp;
	size_t n = 0;
	int32_t id;

	if (call->connect_only) {
		call->conn = c;
		call_end(call, VCLI_STATUS_OK, NULL);
		return;
	}

#define ADD(nm, val) do { \
		nv[n].name = (uint8_t *)(nm); nv[n].namelen = strlen(nm); \
		nv[n].value = (uint8_t *)(val); nv[n].valuelen = strlen(val); \
		nv[n].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | \
			      NGHTTP2_NV_FLAG_NO_COPY_VALUE; n++; } while (0)
	ADD(":method", "POST");
	ADD(":scheme", cl->tls ? "https" : "http");
	ADD(":path", call->path);
	ADD(":authority", cl->authority);
	ADD("content-type", "application/grpc");
	ADD("te", "trailers");
	ADD("user-agent", cl->user_agent);
	ADD("grpc-accept-encoding", "identity,gzip");
	if (cl->gzip)
		ADD("grpc-encoding", "gzip");
	if (call->deadline_ms) {
		/* What is left of the deadline, not what was asked: time spent
		 * connecting counts. */
		uint64_t now = uv_now(cl->loop);
		uint64_t left = call->expiry > now ? call->expiry - now : 1;

		grpc_timeout_format(left, call->timeout, sizeof(call->timeout));
		ADD("grpc-timeout", call->timeout);
	}
	for (size_t off = 0; off < call->hdrs.len && n < sizeof(nv) / sizeof(nv[0]);) {
		const char *k = (const char *)call->hdrs.data + off;
		const char *v = k + strlen(k) + 1;
		ADD(k, v);
		off += strlen(k) + strlen(v) + 2;
	}
#undef ADD
	dp.source.ptr = call;
	dp.read_callback = req_read_cb;
	id = nghttp2_submit_request(c->h2, NULL, nv, n, &dp, call);
	if (id < 0) {
		call_end(call, VCLI_STATUS_UNAVAILABLE, nghttp2_strerror(id));
		return;
	}
	call->conn = c;
	call->stream_id = id;
}

static void submit_waiting(struct cconn *c)
{
	struct ccall *call, *next;

	for (call = c->cl->calls; call; call = next) {
		next = call->next;
		if (!call->conn && !call->in_retry)
			submit_call(c, call);
	}
	conn_flush(c);
}

static void on_conn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	struct cconn *c = h->data;

	b->base = (char *)c->cl->rbuf;
	b->len = sizeof(c->cl->rbuf);
}

static int conn_start_h2(struct cconn *c)
{
	nghttp2_settings_entry iv[3];

	if (nghttp2_session_client_new(&c->h2, c->cl->cbs, c) != 0)
		return -1;
	iv[0].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH;
	iv[0].value = 0;
	iv[1].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
	iv[1].value = 1024 * 1024;
	iv[2].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
	iv[2].value = 64 * 1024;
	nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 3);
	nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
	c->io.h2 = c->h2;
	c->state = C_READY;
	return 0;
}

static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct cconn *c = s->data;
	char msg[300];

	if (nread == 0)
		return;
	if (nread < 0) {
		snprintf(msg, sizeof(msg), "connection to %s lost: %s", c->cl->endpoint,
			 nread == UV_EOF ? "closed by the server" : uv_strerror((int)nread));
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
		return;
	}
	c->in_recv = 1;
	if (h2io_feed(&c->io, (const uint8_t *)b->base, (size_t)nread) < 0) {
		c->in_recv = 0;
		snprintf(msg, sizeof(msg), "connection to %s failed: %s", c->cl->endpoint,
			 c->io.error);
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
		return;
	}
	c->in_recv = 0;
	if (c->state == C_TLS && c->tls.handshake_done) {
		const unsigned char *alpn = NULL;
		unsigned alen = 0;
		SSL_get0_alpn_selected(c->tls.ssl, &alpn, &alen);
		if (alen && !(alen == 2 && memcmp(alpn, "h2", 2) == 0)) {
			snprintf(msg, sizeof(msg), "server %s did not agree to HTTP/2 (ALPN)",
				 c->cl->endpoint);
			conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
			return;
		}
		if (conn_start_h2(c) < 0) {
			conn_fail(c, VCLI_STATUS_INTERNAL, "cannot start HTTP/2 session");
			return;
		}
		submit_waiting(c);
		return;
	}
	conn_flush(c);
}

static void on_conn_written(h2io *io)
{
	struct cconn *c = (struct cconn *)((char *)io - offsetof(struct cconn, io));

	if (io->failed) {
		char msg[300];
		snprintf(msg, sizeof(msg), "connection to %s failed: %s", c->cl->endpoint,
			 io->error);
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
		return;
	}
	conn_flush(c);
}

static void on_connected(uv_connect_t *req, int status)
{
	struct cconn *c = req->data;
	char msg[300];

	if (c->state == C_DEAD)
		return;
	if (status < 0) {
		snprintf(msg, sizeof(msg), "cannot connect to %s: %s", c->cl->endpoint,
			 uv_strerror(status));
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
		return;
	}
	if (!c->cl->unix_path[0])
		uv_tcp_nodelay(&c->sock.tcp, 1);
	h2io_init(&c->io, &c->sock.stream, NULL, CLIENT_HIGH_WATER);
	c->io.on_written = on_conn_written;
	uv_read_start(&c->sock.stream, on_conn_alloc, on_conn_read);
	if (c->cl->tls) {
		const char *sni = c->cl->server_name ? c->cl->server_name : c->cl->host;
		if (tls_conn_init(&c->tls, c->cl->ssl, 0, sni) < 0) {
			conn_fail(c, VCLI_STATUS_INTERNAL, "cannot start TLS");
			return;
		}
		c->use_tls = 1;
		c->io.tls = &c->tls;
		c->state = C_TLS;
		conn_flush(c); /* sends the ClientHello */
		return;
	}
	/* Cleartext: connected is ready for calls.  The connect timeout
	 * runs on until the server's SETTINGS (on_frame_recv), and with TLS
	 * covers the handshake too. */
	if (conn_start_h2(c) < 0) {
		conn_fail(c, VCLI_STATUS_INTERNAL, "cannot start HTTP/2 session");
		return;
	}
	submit_waiting(c);
}

static void on_connect_timeout(uv_timer_t *t)
{
	struct cconn *c = t->data;
	char msg[300];

	snprintf(msg, sizeof(msg), "cannot connect to %s: %s after %u ms",
		 c->cl->endpoint, c->state == C_TLS ? "TLS handshake timed out" :
		 c->state == C_READY ? "no HTTP/2 settings from the server" :
		 "connect timed out", c->cl->connect_timeout_ms);
	conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
}

/* Starts the TCP connect to addr (the live reference is already held). */
static void conn_connect(struct cconn *c, const struct sockaddr *addr)
{
	vcli_client *cl = c->cl;
	char msg[300];
	int rc;

	uv_tcp_init(cl->loop, &c->sock.tcp);
	c->sock.tcp.data = c;
	c->sock_open = 1;
	c->refs++;
	c->creq.data = c;
	c->state = C_CONNECTING;
	rc = uv_tcp_connect(&c->creq, &c->sock.tcp, addr, on_connected);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "cannot connect to %s: %s", cl->endpoint,
			 uv_strerror(rc));
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
	}
}

/* The same for a Unix socket (the live reference is already held): errors
 * come to on_connected. */
static void conn_connect_unix(struct cconn *c)
{
	vcli_client *cl = c->cl;

	uv_pipe_init(cl->loop, &c->sock.pipe, 0);
	c->sock.pipe.data = c;
	c->sock_open = 1;
	c->refs++;
	c->creq.data = c;
	c->state = C_CONNECTING;
	uv_pipe_connect(&c->creq, &c->sock.pipe, cl->unix_path, on_connected);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct cconn *c = req->data;
	char msg[300];

	if (c->state == C_DEAD) {
		uv_freeaddrinfo(ai);
		conn_unref(c);
		return;
	}
	if (status < 0 || !ai) {
		snprintf(msg, sizeof(msg), "cannot resolve '%s': %s", c->cl->host,
			 uv_strerror(status));
		uv_freeaddrinfo(ai);
		conn_unref(c); /* the resolver's reference */
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, msg);
		return;
	}
	conn_unref(c); /* the resolver's reference; the live one remains */
	conn_connect(c, ai->ai_addr);
	uv_freeaddrinfo(ai);
}

static struct cconn *conn_open(vcli_client *cl)
{
	struct cconn *c = calloc(1, sizeof(*c));
	struct addrinfo hints;
	char port[16];

	if (!c)
		return NULL;
	c->cl = cl;
	cl->refs++;  /* released with the connection's last reference */
	c->refs = 1; /* live */
	c->state = C_RESOLVING;
	h2io_init(&c->io, NULL, NULL, CLIENT_HIGH_WATER);
	uv_timer_init(cl->loop, &c->ctimer);
	c->ctimer.data = c;
	c->ctimer_open = 1;
	c->refs++;
	uv_timer_start(&c->ctimer, on_connect_timeout, cl->connect_timeout_ms, 0);
	cl->conn = c;
	c->next_live = cl->live;
	cl->live = c;
	if (cl->unix_path[0]) {
		conn_connect_unix(c);
		return cl->conn == c ? c : NULL;
	}
	{
		/* A numeric address needs no resolver: no thread-pool round
		 * trip (and no threads started) for the common local case. */
		struct sockaddr_in a4;
		struct sockaddr_in6 a6;
		if (uv_ip4_addr(cl->host, cl->port, &a4) == 0) {
			conn_connect(c, (const struct sockaddr *)&a4);
			return cl->conn == c ? c : NULL;
		}
		if (uv_ip6_addr(cl->host, cl->port, &a6) == 0) {
			conn_connect(c, (const struct sockaddr *)&a6);
			return cl->conn == c ? c : NULL;
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	snprintf(port, sizeof(port), "%d", cl->port);
	c->gai.data = c;
	c->refs++; /* the resolver's */
	if (uv_getaddrinfo(cl->loop, &c->gai, on_resolved, cl->host, port, &hints) < 0) {
		c->refs--;
		conn_fail(c, VCLI_STATUS_UNAVAILABLE, "cannot start name resolution");
		return NULL;
	}
	return c;
}

/* ---- public API ---- */

static char *dupstr(const char *s)
{
	return s ? strdup(s) : NULL;
}

vcli_code vcli_client_new(const vcli_client_options *opts, vcli_client **out,
			  char *err, size_t errlen)
{
	vcli_client *cl;
	nghttp2_session_callbacks *cb;
	const char *why = NULL;
	char tmp[1];
	int u;

	if (!err) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	if (!opts || !out || !opts->endpoint) {
		snprintf(err, errlen, "no endpoint given");
		return VCLI_E_INVALID;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return VCLI_E_NOMEM;
	u = netaddr_unix(opts->endpoint, cl->unix_path, sizeof(cl->unix_path), &why);
	if (u < 0) {
		snprintf(err, errlen, "bad server address '%s': %s", opts->endpoint, why);
		free(cl);
		return VCLI_E_INVALID;
	}
	if (u == 0 && (netaddr_split(opts->endpoint, cl->host, sizeof(cl->host), &cl->port) < 0 ||
		       cl->port == 0)) {
		snprintf(err, errlen, "bad server address '%s' (want HOST:PORT or unix:PATH)",
			 opts->endpoint);
		free(cl);
		return VCLI_E_INVALID;
	}
	/* A Unix socket has no host name: gRPC clients send "localhost" as
	 * its :authority (and TLS, if asked for, checks that name unless
	 * tls_server_name says another). */
	if (u > 0)
		snprintf(cl->host, sizeof(cl->host), "localhost");
	cl->tls = opts->tls || opts->tls_ca_file || opts->tls_cert_file ||
		  opts->tls_key_file || opts->tls_server_name;
	if (cl->tls) {
		cl->ssl = tls_client_ctx_new(opts->tls_ca_file, opts->tls_cert_file,
					     opts->tls_key_file, err, errlen);
		if (!cl->ssl) {
			free(cl);
			return VCLI_E_TLS;
		}
	}
	cl->endpoint = dupstr(opts->endpoint);
	cl->server_name = dupstr(opts->tls_server_name);
	if (opts->user_agent) {
		cl->user_agent = dupstr(opts->user_agent);
	} else {
		cl->user_agent = malloc(32);
		if (cl->user_agent)
			snprintf(cl->user_agent, 32, "vcli/%s", VCLI_VERSION);
	}
	snprintf(cl->authority, sizeof(cl->authority), "%s",
		 cl->unix_path[0] ? "localhost" : opts->endpoint);
	cl->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
	cl->max_recv = opts->max_recv_size ? opts->max_recv_size : GRPC_DEFAULT_MAX_RECV;
	cl->gzip = opts->gzip;
	cl->retry = opts->retry;
	if (!cl->retry.max_attempts)
		cl->retry.max_attempts = RESIL_RETRY_ATTEMPTS;
	if (!cl->retry.retry_codes)
		cl->retry.retry_codes = VCLI_RETRY_CODE(VCLI_STATUS_UNAVAILABLE);
	resil_backoff_normalize(&cl->retry.backoff, RESIL_RETRY_INITIAL_MS,
				RESIL_RETRY_MULTIPLIER, RESIL_RETRY_MAX_MS);
	cl->reconnect = opts->reconnect;
	cl->reconnect_off = opts->reconnect_off;
	resil_backoff_normalize(&cl->reconnect, RESIL_RECONNECT_INITIAL_MS,
				RESIL_RECONNECT_MULTIPLIER, RESIL_RECONNECT_MAX_MS);
	resil_breaker_init(&cl->breaker, &opts->breaker);
	/* Jitter needs no strong randomness, only clients that differ. */
	cl->rng = time_mono_ns() ^ ((uint64_t)(uintptr_t)cl << 16);
	if (!cl->rng)
		cl->rng = 1;
	if (opts->loop) {
		cl->loop = opts->loop;
		cl->external_loop = 1;
	} else {
		cl->loop = &cl->own_loop;
	}
	cl->refs = 1;
	if (!cl->endpoint || !cl->user_agent ||
	    (!cl->external_loop && uv_loop_init(cl->loop) != 0)) {
		free(cl->endpoint);
		free(cl->server_name);
		free(cl->user_agent);
		if (cl->ssl)
			SSL_CTX_free(cl->ssl);
		free(cl);
		return VCLI_E_NOMEM;
	}
	uv_timer_init(cl->loop, &cl->dl_timer);
	cl->dl_timer.data = cl;
	/* Calls keep the loop alive by their connections; the deadline timer
	 * alone must not (a caller's loop could never end). */
	uv_unref((uv_handle_t *)&cl->dl_timer);
	cl->refs++; /* released when the timer has closed */
	/* Armed only while a call waits on it, which must keep the loop
	 * running: not unref'd. */
	uv_timer_init(cl->loop, &cl->rt_timer);
	cl->rt_timer.data = cl;
	cl->refs++;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	cl->cbs = cb;
	*out = cl;
	return VCLI_OK;
}

static void close_any(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void client_release(vcli_client *cl)
{
	nghttp2_session_callbacks_del(cl->cbs);
	if (cl->ssl)
		SSL_CTX_free(cl->ssl);
	free(cl->endpoint);
	free(cl->server_name);
	free(cl->user_agent);
	free(cl);
}

static void dl_timer_closed(uv_handle_t *h)
{
	client_unref(h->data);
}

void vcli_client_free(vcli_client *cl)
{
	if (!cl)
		return;
	while (cl->calls)
		call_abort(cl->calls, VCLI_STATUS_CANCELLED, "client closed");
	while (cl->live)
		conn_fail(cl->live, VCLI_STATUS_CANCELLED, "client closed");
	uv_close((uv_handle_t *)&cl->dl_timer, dl_timer_closed);
	uv_close((uv_handle_t *)&cl->rt_timer, dl_timer_closed);
	if (!cl->external_loop) {
		uv_run(cl->loop, UV_RUN_DEFAULT);
		uv_walk(cl->loop, close_any, NULL);
		uv_run(cl->loop, UV_RUN_DEFAULT);
		uv_loop_close(cl->loop);
	}
	/* On the caller's loop the closes finish when it next runs; the last
	 * connection to go releases the client. */
	client_unref(cl);
}

static int valid_md_key(const char *k)
{
	if (!*k)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
		      *k == '-' || *k == '_' || *k == '.'))
			return 0;
	return 1;
}

/*
 * Sends a call that is on the client's list and nowhere else (new, or
 * back from the retry list): the breaker may fail it fast; without a
 * connection it dials, unless the reconnect back-off says not yet.  May
 * end the call (and others) before it returns.
 */
static void call_launch(struct ccall *call)
{
	vcli_client *cl = call->cl;
	uint64_t now = uv_now(cl->loop);
	char msg[512], wait[32];

	switch (resil_breaker_admit(&cl->breaker, now)) {
	case RESIL_ADMIT:
		break;
	case RESIL_ADMIT_PROBE:
		call->probe = 1;
		break;
	case RESIL_REJECT:
		/*
		 * A call under way (it has been sent) keeps its retries: it
		 * waits for the cool-down, or while another call probes,
		 * for its own back-off again, within its deadline.  Only a
		 * new call fails fast.
		 */
		if (call->attempts && call->retry_safe &&
		    call->attempts < cl->retry.max_attempts) {
			uint64_t at = cl->breaker.probe_out ?
				now + resil_backoff_cap(&cl->retry.backoff,
							call->attempts) :
				cl->breaker.open_until;

			if (!(call->in_deadlines && call->expiry <= at)) {
				retry_park(call, at);
				return;
			}
		}
		if (cl->breaker.probe_out) {
			snprintf(msg, sizeof(msg), "circuit half-open: a probe "
				 "call is out to %s (the last failure: %s)",
				 cl->endpoint, cl->fail_err);
		} else {
			wait_text(cl->breaker.open_until - now, wait, sizeof(wait));
			snprintf(msg, sizeof(msg), "circuit open after %u "
				 "transport failures in a row (the last: %s); "
				 "next probe in %s", cl->breaker.failures,
				 cl->fail_err, wait);
		}
		call_end(call, VCLI_STATUS_UNAVAILABLE, msg);
		return;
	}
	if (cl->conn && cl->conn->goaway)
		cl->conn = NULL; /* it drains on its own; new calls dial again */
	if (!cl->conn && !call->probe && !cl->reconnect_off && now < cl->dial_at) {
		/* A retry-safe call waits for the attempt, if it can. */
		if (call->retry_safe && call->attempts < cl->retry.max_attempts &&
		    !(call->in_deadlines && call->expiry <= cl->dial_at)) {
			retry_park(call, cl->dial_at);
			return;
		}
		wait_text(cl->dial_at - now, wait, sizeof(wait));
		snprintf(msg, sizeof(msg), "%s (next attempt in %s)", cl->dial_err,
			 wait);
		call_end(call, VCLI_STATUS_UNAVAILABLE, msg);
		return;
	}
	call->attempts++;
	if (!cl->conn) {
		conn_open(cl); /* on failure it ends (or parks) the calls */
	} else if (cl->conn->state == C_READY) {
		submit_call(cl->conn, call);
		if (!cl->conn->in_recv)
			conn_flush(cl->conn);
	}
}

static void on_retry_timer(uv_timer_t *t)
{
	vcli_client *cl = t->data;
	uint64_t now = uv_now(cl->loop);
	struct ccall *call;

	/* A launch can end or park other calls: look from the head again
	 * after each.  A call parked again is due later, or has used one
	 * more of its attempts, so this ends. */
	for (;;) {
		for (call = cl->rt_head; call; call = call->rt_next)
			if (call->retry_due <= now)
				break;
		if (!call)
			break;
		retry_unlink(call);
		call_launch(call);
	}
	retry_arm(cl);
}

enum call_kind { CALL_UNARY, CALL_STREAM, CALL_CONNECT };

static vcli_code call_start(vcli_client *cl, const char *method,
			    const uint8_t *req, size_t reqlen,
			    const vcli_call_options *opts, enum call_kind kind,
			    vcli_done_fn on_done, vcli_message_fn on_message,
			    void *msg_ud, void *ud)
{
	struct ccall *call;
	size_t pathlen;

	if (!cl || !method || method[0] != '/' || (!req && reqlen))
		return VCLI_E_INVALID;
	if (cl->inflight >= CLIENT_MAX_INFLIGHT)
		return VCLI_E_BUSY;
	/* A connection idle since the last call may have been closed by the
	 * server meanwhile (GOAWAY, EOF) without us reading it yet: catch up
	 * before choosing it, unless we are already inside the loop. */
	if (cl->conn && cl->inflight == 0 && !cl->running && !cl->external_loop) {
		cl->running = 1;
		uv_run(cl->loop, UV_RUN_NOWAIT);
		cl->running = 0;
	}
	/* The loop's clock stands still between runs; deadlines, back-offs
	 * and the breaker's cool-down count from now. */
	if (!cl->running && !cl->external_loop)
		uv_update_time(cl->loop);
	/* The call and its path in one allocation. */
	pathlen = strlen(method);
	call = calloc(1, sizeof(*call) + pathlen + 1);
	if (!call)
		return VCLI_E_NOMEM;
	call->cl = cl;
	call->path = (char *)(call + 1);
	memcpy(call->path, method, pathlen + 1);
	call->streaming = kind == CALL_STREAM;
	call->connect_only = kind == CALL_CONNECT;
	call->on_done = on_done;
	call->on_message = on_message;
	call->ud = ud;
	call->msg_ud = msg_ud;
	buf_init(&call->req, UINT32_MAX);
	buf_init(&call->hdrs, 64 * 1024);
	buf_init(&call->resp, cl->max_recv);
	grpc_deframer_init(&call->in, cl->max_recv);
	if (grpc_frame_append(&call->req, req, reqlen, cl->gzip) < 0)
		goto nomem;
	if (opts) {
		for (size_t i = 0; i < opts->metadata_count; i++) {
			const vcli_metadata *md = &opts->metadata[i];
			size_t kl = md->key ? strlen(md->key) : 0;
			if (!md->key || !valid_md_key(md->key) || strncmp(md->key, "grpc-", 5) == 0) {
				call_free(call);
				return VCLI_E_INVALID;
			}
			if (buf_append(&call->hdrs, md->key, kl + 1) < 0)
				goto nomem;
			if (kl > 4 && strcmp(md->key + kl - 4, "-bin") == 0) {
				size_t el = b64_encoded_len(md->value_len);
				if (buf_reserve(&call->hdrs, el + 1) < 0)
					goto nomem;
				b64_encode(md->value, md->value_len,
					   (char *)call->hdrs.data + call->hdrs.len);
				call->hdrs.len += el;
			} else {
				for (size_t j = 0; j < md->value_len; j++)
					if (md->value[j] < 0x20 || md->value[j] > 0x7e) {
						call_free(call);
						return VCLI_E_INVALID;
					}
				if (buf_append(&call->hdrs, md->value, md->value_len) < 0)
					goto nomem;
			}
			if (buf_append_byte(&call->hdrs, 0) < 0)
				goto nomem;
		}
		call->deadline_ms = opts->deadline_ms;
	}
	if (call->deadline_ms)
		deadline_add(cl, call);
	call->retry_safe = opts && opts->retry_safe && kind == CALL_UNARY;
	call->next = cl->calls;
	if (cl->calls)
		cl->calls->prev = call;
	cl->calls = call;
	cl->inflight++;
	call_launch(call);
	return VCLI_OK;
nomem:
	call_free(call);
	return VCLI_E_NOMEM;
}

vcli_code vcli_client_unary_async(vcli_client *cl, const char *method,
				  const uint8_t *request, size_t request_len,
				  const vcli_call_options *opts,
				  vcli_done_fn on_done, void *ud)
{
	return call_start(cl, method, request, request_len, opts, CALL_UNARY, on_done,
			  NULL, NULL, ud);
}

vcli_code vcli_client_connect_async(vcli_client *cl,
				    const vcli_call_options *opts,
				    vcli_done_fn on_done, void *ud)
{
	return call_start(cl, "/", NULL, 0, opts, CALL_CONNECT, on_done, NULL, NULL,
			  ud);
}

int vcli_client_inflight(const vcli_client *cl)
{
	return cl->inflight;
}

void vcli_client_circuit(vcli_client *cl, vcli_circuit_info *info)
{
	uint64_t now;

	memset(info, 0, sizeof(*info));
	/* The loop's clock is cached: a caller between runs wants now. */
	if (!cl->running)
		uv_update_time(cl->loop);
	now = uv_now(cl->loop);
	info->state = resil_breaker_state(&cl->breaker, now);
	info->failures = cl->breaker.failures;
	if (info->state == VCLI_CIRCUIT_OPEN)
		info->probe_in_ms = (uint32_t)(cl->breaker.open_until - now);
	if (!cl->reconnect_off && cl->dial_at > now)
		info->reconnect_in_ms = (uint32_t)(cl->dial_at - now);
}

int vcli_client_run(vcli_client *cl, vcli_run_mode mode)
{
	if (cl->running || cl->external_loop)
		return cl->inflight; /* called from a callback: the loop is running */
	cl->running = 1;
	switch (mode) {
	case VCLI_RUN_ONCE:
		uv_run(cl->loop, UV_RUN_ONCE);
		break;
	case VCLI_RUN_NOWAIT:
		uv_run(cl->loop, UV_RUN_NOWAIT);
		break;
	default:
		while (cl->inflight > 0)
			if (uv_run(cl->loop, UV_RUN_ONCE) == 0 && cl->inflight > 0)
				break; /* nothing left that could finish them */
		break;
	}
	cl->running = 0;
	return cl->inflight;
}

struct sync_state {
	int done;
	vcli_call_result *result;
	vcli_bytes *response;
};

static void sync_done(void *ud, const vcli_call_result *r, const uint8_t *resp,
		      size_t len)
{
	struct sync_state *st = ud;

	st->done = 1;
	*st->result = *r;
	if (st->response && r->status == VCLI_STATUS_OK) {
		st->response->data = malloc(len ? len : 1);
		if (!st->response->data) {
			st->result->status = VCLI_STATUS_RESOURCE_EXHAUSTED;
			snprintf(st->result->message, sizeof(st->result->message),
				 "out of memory for response");
			return;
		}
		if (len)
			memcpy(st->response->data, resp, len);
		st->response->len = len;
	}
}

static vcli_code run_until(vcli_client *cl, struct sync_state *st)
{
	cl->running = 1;
	while (!st->done) {
		if (uv_run(cl->loop, UV_RUN_ONCE) == 0 && !st->done) {
			/* Cannot happen while a call holds a timer or a socket;
			 * fail loudly rather than spin. */
			st->result->status = VCLI_STATUS_INTERNAL;
			snprintf(st->result->message, sizeof(st->result->message),
				 "event loop ran dry before the call ended");
			break;
		}
	}
	cl->running = 0;
	return VCLI_OK;
}

vcli_code vcli_client_unary(vcli_client *cl, const char *method,
			    const uint8_t *request, size_t request_len,
			    vcli_bytes *response, const vcli_call_options *opts,
			    vcli_call_result *result)
{
	struct sync_state st = { 0, result, response };
	vcli_code rc;

	if (response) {
		response->data = NULL;
		response->len = 0;
	}
	/* A synchronous call from inside a callback would need a nested loop,
	 * which libuv does not allow; on the caller's loop only the caller
	 * may run it. */
	if (!cl || cl->running || cl->external_loop)
		return VCLI_E_INVALID;
	rc = call_start(cl, method, request, request_len, opts, CALL_UNARY, sync_done, NULL,
			NULL, &st);
	if (rc != VCLI_OK)
		return rc;
	return run_until(cl, &st);
}

vcli_code vcli_client_stream(vcli_client *cl, const char *method,
			     const uint8_t *request, size_t request_len,
			     vcli_message_fn on_message, void *ud,
			     const vcli_call_options *opts,
			     vcli_call_result *result)
{
	struct sync_state st = { 0, result, NULL };
	vcli_code rc;

	if (!cl || cl->running || cl->external_loop)
		return VCLI_E_INVALID;
	rc = call_start(cl, method, request, request_len, opts, CALL_STREAM, sync_done,
			on_message, ud, &st);
	if (rc != VCLI_OK)
		return rc;
	/* on_message gets the caller's ud; on_done gets ours. */
	return run_until(cl, &st);
}
