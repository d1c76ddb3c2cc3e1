/*
 * The server half of the transport: listeners, connections, HTTP/2 streams,
 * gRPC calls.  See server.h for the model; the path of one call is
 *
 *   read_cb -> h2io_feed -> nghttp2 callbacks (headers, data, end of stream)
 *           -> decode request -> handler -> rpc_call_send / rpc_call_finish
 *           -> data provider + trailers -> h2io_flush (from the prepare hook)
 */
#include "rpc/server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/pcount.h"
#include "common/timeutil.h"
#include "rpc/frame.h"
#include "rpc/h2io.h"
#include "rpc/pbcheck.h"
#include "rpc/tls.h"

#define READ_BUF_SIZE (64 * 1024)
#define OUT_HIGH_WATER (256 * 1024)
#define MAX_METADATA_ENTRIES 64
#define SWEEP_INTERVAL_MS 1000
#define UNIX_ACCEPT_RETRY_MS 50

/* ---- method table ---- */

struct method {
	char *path;                 /* "/pkg.Service/Method" */
	const ProtobufCMethodDescriptor *desc;
	rpc_method_kind kind;
	rpc_handler_fn handler;     /* NULL: known but not implemented */
	const rpc_method_row *row;  /* as registered (rows outlive the server) */
	void *ud;
	size_t idx;                 /* in srv->methods: the stats slot */
};

/* One method's counts on one worker (server.h, call statistics). */
struct mstat {
	pcount started, msg_received, msg_sent;
	pcount handled[RPC_STAT_NCODES];
	pcount buckets[RPC_STAT_NBOUNDS + 1];
	pcount sum_ns;
};


struct worker;
struct conn;

struct rpc_call {
	struct conn *c;
	int32_t id;
	const struct method *m;
	char path[256];
	/* request headers */
	int is_post, ct_ok, enc_gzip, enc_bad, accept_gzip, bad_timeout;
	uint64_t timeout_ns;
	int has_timeout;
	buf meta;                   /* key\0 value-len(4) value ... */
	uint32_t nmeta;
	size_t header_bytes;
	/* request body */
	grpc_deframer in;
	ProtobufCMessage *request;
	int nmsgs;
	int remote_closed;
	/* response */
	buf resp_meta;              /* extra response headers: key\0value\0 */
	buf out;                    /* framed messages not yet taken by nghttp2 */
	size_t out_off;
	int headers_sent;
	int data_deferred;
	int trailers_pending;
	int status;
	char *status_msg;
	/* life cycle */
	int started;                /* handler invoked */
	int cancelling;             /* inside the handler's cancel callback */
	int finished;               /* rpc_call_finish or transport ended it */
	int stream_closed;
	int local_closed;           /* we sent END_STREAM */
	rpc_cancel_fn cancel_fn;
	void *cancel_ud;
	rpc_drain_fn drain_fn;
	void *drain_ud;
	struct rpc_call *drain_next;  /* the connection's armed list */
	int drain_armed;
	uv_timer_t *deadline;
	uint64_t deadline_ms;
	int default_deadline;       /* the server's: ended by on_sweep */
	uint64_t start_ns;
	struct mstat *stat;         /* counted (server.h): its method's slot */
	struct rpc_call *prev, *next;
};

struct conn {
	struct worker *w;
	h2io_sock sock;
	h2io io;
	tls_conn tls;
	int use_tls;
	nghttp2_session *h2;
	char peer[64];
	char identity[256];         /* of the client certificate, when known */
	int identity_state;         /* 0 not looked at, 1 found, -1 none */
	int has_peer_uid;           /* a Unix socket's peer, from SO_PEERCRED */
	uid_t peer_uid;
	struct rpc_call *calls;
	struct rpc_call *drain_list;    /* calls waiting for rpc_call_on_drain */
	uint32_t ncalls;
	int closing;
	int got_settings;
	int goaway_sent;
	int abort_after_flush;      /* close once the GOAWAY is out, calls or not */
	int dirty;
	uint64_t opened_ms, last_read_ms, last_ping_recv_ms, ping_sent_ms;
	int ping_outstanding;
	int ping_strikes;
	struct conn *prev, *next;       /* worker's connection list */
	struct conn *dirty_next;
};

struct worker {
	rpc_server *srv;
	int index;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_tcp_t listener;
	int listener_open;
	int listen_fd;
	/* A Unix socket listener (worker 0 only): accepted there, handed out
	 * round robin (no SO_REUSEPORT for Unix sockets). */
	uv_poll_t uaccept;
	uv_timer_t uaccept_retry;   /* out of descriptors: accept again soon */
	int uaccept_open;
	int uaccept_warned;         /* said so once for this shortage */
	uv_async_t wake;
	uv_prepare_t flusher;
	uv_timer_t sweep;
	uv_timer_t grace;
	struct conn *conns;
	struct conn *dirty;
	int draining;
	int stopping;
	uint8_t readbuf[READ_BUF_SIZE];
	int readbuf_busy;
	uv_mutex_t task_lock;
	struct rpc_task *tasks, *tasks_tail;
	struct mstat *mstats;       /* one per method; this thread writes them */
	int no_wake;                /* loop ending: queue posts, do not wake */
	int stopped;                /* loop gone: posts run inline */
};

struct rpc_server {
	rpc_server_options opts;
	char host[256];
	int port;
	int has_tcp;                /* a HOST:PORT was given */
	int unix_first;             /* listed before it: the bound address's order */
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "": none */
	int unix_fd;                /* the listening Unix socket, or -1 */
	dev_t unix_dev;             /* the socket file we made, so that we */
	ino_t unix_ino;             /* only ever remove that one */
	unsigned unix_next;         /* the worker the next one goes to */
	SSL_CTX *ssl_ctx;
	struct method *methods;
	size_t nmethods, capmethods;
	struct worker *workers;
	int nworkers;
	int started;
	atomic_int draining;
	atomic_uint nconns;
	nghttp2_session_callbacks *cbs;
	nghttp2_option *h2opt;
};

/* The worker index of the thread running now (-1: not a worker). */
static _Thread_local int current_worker = -1;

static void call_end(struct rpc_call *call, int status, const char *msg);
static void conn_close(struct conn *c);
static void conn_mark_dirty(struct conn *c);

const char *rpc_strerror(rpc_code code)
{
	switch (code) {
	case RPC_OK: return "ok";
	case RPC_E_INVALID: return "invalid argument";
	case RPC_E_NOMEM: return "out of memory";
	case RPC_E_ADDR: return "bad listen address";
	case RPC_E_BIND: return "cannot listen";
	case RPC_E_TLS: return "TLS set-up failed";
	case RPC_E_THREAD: return "cannot start thread";
	}
	return "unknown error";
}

void rpc_server_options_init(rpc_server_options *o)
{
	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:50051";
	o->max_recv_size = GRPC_DEFAULT_MAX_RECV;
	o->max_concurrent_streams = 1000;
	o->initial_window_size = 1024 * 1024;
	o->connection_window_size = 16 * 1024 * 1024;
	o->max_header_list_size = 16 * 1024;
	o->max_connections = 10000;
	o->keepalive_time_ms = 2 * 60 * 60 * 1000;
	o->keepalive_timeout_ms = 20 * 1000;
	o->keepalive_min_time_ms = 5 * 1000;
	o->keepalive_permit_without_calls = 0;
	o->handshake_timeout_ms = 10 * 1000;
	o->idle_timeout_ms = 0;
	o->grace_ms = 10 * 1000;
	o->default_deadline_ms = 60 * 1000;
}

/* ---- method lookup ---- */

static const struct method *find_method(const rpc_server *srv, const char *path)
{
	/* Few methods: a linear scan over short strings beats hashing here. */
	for (size_t i = 0; i < srv->nmethods; i++)
		if (strcmp(srv->methods[i].path, path) == 0)
			return &srv->methods[i];
	return NULL;
}

rpc_code rpc_server_add_service(rpc_server *srv,
				const ProtobufCServiceDescriptor *desc,
				const rpc_method_row *rows, size_t nrows,
				void *service_ud)
{
	size_t need = srv->nmethods + desc->n_methods;

	for (size_t r = 0; r < nrows; r++) {
		int found = 0;
		for (unsigned i = 0; i < desc->n_methods; i++)
			if (strcmp(rows[r].name, desc->methods[i].name) == 0)
				found = 1;
		if (!found || !rows[r].handler ||
		    (rows[r].kind != RPC_UNARY && rows[r].kind != RPC_SERVER_STREAMING))
			return RPC_E_INVALID;
	}
	if (need > srv->capmethods) {
		struct method *m = realloc(srv->methods, need * sizeof(*m));
		if (!m)
			return RPC_E_NOMEM;
		srv->methods = m;
		srv->capmethods = need;
	}
	for (unsigned i = 0; i < desc->n_methods; i++) {
		struct method *m = &srv->methods[srv->nmethods];
		size_t plen = strlen(desc->name) + strlen(desc->methods[i].name) + 3;
		memset(m, 0, sizeof(*m));
		m->path = malloc(plen);
		if (!m->path)
			return RPC_E_NOMEM;
		snprintf(m->path, plen, "/%s/%s", desc->name, desc->methods[i].name);
		if (find_method(srv, m->path)) {
			free(m->path);
			return RPC_E_INVALID;
		}
		m->desc = &desc->methods[i];
		m->ud = service_ud;
		m->idx = srv->nmethods;
		for (size_t r = 0; r < nrows; r++) {
			if (strcmp(rows[r].name, desc->methods[i].name) == 0) {
				m->kind = rows[r].kind;
				m->handler = rows[r].handler;
				m->row = &rows[r];
			}
		}
		srv->nmethods++;
	}
	return RPC_OK;
}

/* ---- calls ---- */

static int call_is_streaming(const struct rpc_call *call)
{
	return call->m && call->m->kind != RPC_UNARY;
}

static void call_log(struct rpc_call *call)
{
	char dur[32];

	if (!log_enabled(LOG_DEBUG))
		return;
	snprintf(dur, sizeof(dur), "%.3f",
		 (double)(time_mono_ns() - call->start_ns) / 1e6);
	log_msg(LOG_DEBUG, "call", "method", call->path, "code",
		vcli_status_name(call->status), "duration_ms", dur, "peer",
		call->c->peer, NULL);
}

static void deadline_closed(uv_handle_t *h)
{
	free(h);
}

static void call_stop_timer(struct rpc_call *call)
{
	if (call->deadline) {
		uv_timer_stop(call->deadline);
		uv_close((uv_handle_t *)call->deadline, deadline_closed);
		call->deadline = NULL;
	}
}

static void call_free(struct rpc_call *call)
{
	struct conn *c = call->c;

	call_stop_timer(call);
	if (call->drain_armed) {
		struct rpc_call **pp = &c->drain_list;
		while (*pp && *pp != call)
			pp = &(*pp)->drain_next;
		if (*pp)
			*pp = call->drain_next;
	}
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	c->ncalls--;
	if (call->request)
		protobuf_c_message_free_unpacked(call->request, NULL);
	grpc_deframer_release(&call->in);
	buf_release(&call->meta);
	buf_release(&call->resp_meta);
	buf_release(&call->out);
	free(call->status_msg);
	free(call);
}

static ssize_t data_read_cb(nghttp2_session *session, int32_t stream_id,
			    uint8_t *dst, size_t length, uint32_t *flags,
			    nghttp2_data_source *source, void *user_data);

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
		   NGHTTP2_NV_FLAG_NO_COPY_NAME }

/* Builds :status, content-type, grpc-encoding and response metadata. */
static size_t build_resp_headers(struct rpc_call *call, nghttp2_nv *nv,
				 size_t cap, int with_encoding)
{
	size_t n = 0;
	nghttp2_nv st = NV(":status", "200");
	nghttp2_nv ct = NV("content-type", "application/grpc");

	nv[n++] = st;
	nv[n++] = ct;
	if (with_encoding && call->accept_gzip && call->enc_gzip) {
		nghttp2_nv e = NV("grpc-encoding", "gzip");
		nv[n++] = e;
	}
	{
		nghttp2_nv ae = NV("grpc-accept-encoding", "identity,gzip");
		nv[n++] = ae;
	}
	for (size_t off = 0; off < call->resp_meta.len && n < cap;) {
		const char *k = (const char *)call->resp_meta.data + off;
		size_t kl = strlen(k);
		const char *v = k + kl + 1;
		size_t vl = strlen(v);
		nghttp2_nv x = { (uint8_t *)k, (uint8_t *)v, kl, vl, NGHTTP2_NV_FLAG_NONE };
		nv[n++] = x;
		off += kl + vl + 2;
	}
	return n;
}

static void submit_response_headers(struct rpc_call *call)
{
	nghttp2_nv nv[8 + MAX_METADATA_ENTRIES];
	nghttp2_data_provider dp;
	size_t n;

	n = build_resp_headers(call, nv, sizeof(nv) / sizeof(nv[0]), 1);
	dp.source.ptr = call;
	dp.read_callback = data_read_cb;
	if (nghttp2_submit_response(call->c->h2, call->id, nv, n, &dp) == 0)
		call->headers_sent = 1;
}

static void submit_trailers(struct rpc_call *call)
{
	char code[8];
	char msg[1024];
	nghttp2_nv nv[2];
	size_t n = 0;

	snprintf(code, sizeof(code), "%d", call->status);
	nv[n].name = (uint8_t *)"grpc-status";
	nv[n].namelen = 11;
	nv[n].value = (uint8_t *)code;
	nv[n].valuelen = strlen(code);
	nv[n].flags = NGHTTP2_NV_FLAG_NONE;
	n++;
	if (call->status_msg && *call->status_msg) {
		pct_encode(call->status_msg, strlen(call->status_msg), msg, sizeof(msg));
		nv[n].name = (uint8_t *)"grpc-message";
		nv[n].namelen = 12;
		nv[n].value = (uint8_t *)msg;
		nv[n].valuelen = strlen(msg);
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
		n++;
	}
	nghttp2_submit_trailer(call->c->h2, call->id, nv, n);
}

/* A response with no messages: headers that carry the status, END_STREAM. */
static void submit_trailers_only(struct rpc_call *call)
{
	nghttp2_nv nv[10 + MAX_METADATA_ENTRIES];
	char code[8];
	char msg[1024];
	size_t n;

	n = build_resp_headers(call, nv, sizeof(nv) / sizeof(nv[0]) - 2, 0);
	snprintf(code, sizeof(code), "%d", call->status);
	nv[n].name = (uint8_t *)"grpc-status";
	nv[n].namelen = 11;
	nv[n].value = (uint8_t *)code;
	nv[n].valuelen = strlen(code);
	nv[n].flags = NGHTTP2_NV_FLAG_NONE;
	n++;
	if (call->status_msg && *call->status_msg) {
		pct_encode(call->status_msg, strlen(call->status_msg), msg, sizeof(msg));
		nv[n].name = (uint8_t *)"grpc-message";
		nv[n].namelen = 12;
		nv[n].value = (uint8_t *)msg;
		nv[n].valuelen = strlen(msg);
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
		n++;
	}
	if (nghttp2_submit_response(call->c->h2, call->id, nv, n, NULL) == 0)
		call->headers_sent = 1;
}

static void submit_http_error(struct rpc_call *call, const char *code)
{
	nghttp2_nv nv[1] = { NV(":status", code) };

	nv[0].valuelen = strlen(code);
	nghttp2_submit_response(call->c->h2, call->id, nv, 1, NULL);
	call->headers_sent = 1;
	call->finished = 1;
	call->trailers_pending = 0;
}

static ssize_t data_read_cb(nghttp2_session *session, int32_t stream_id,
			    uint8_t *dst, size_t length, uint32_t *flags,
			    nghttp2_data_source *source, void *user_data)
{
	struct rpc_call *call = source->ptr;
	size_t avail = call->out.len - call->out_off;
	size_t n = avail < length ? avail : length;

	if (n) {
		memcpy(dst, call->out.data + call->out_off, n);
		call->out_off += n;
		if (call->out_off == call->out.len) {
			buf_reset(&call->out);
			call->out_off = 0;
		} else if (call->out_off > 65536 && call->out_off * 2 > call->out.len) {
			buf_consume(&call->out, call->out_off);
			call->out_off = 0;
		}
		/* More may remain; nghttp2 will ask again. */
		if (call->out.len - call->out_off > 0 || !call->trailers_pending)
			return (ssize_t)n;
	}
	if (call->trailers_pending) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		call->trailers_pending = 0;
		submit_trailers(call);
		return (ssize_t)n;
	}
	if (n)
		return (ssize_t)n;
	call->data_deferred = 1;
	return NGHTTP2_ERR_DEFERRED;
}

static void call_resume(struct rpc_call *call)
{
	if (call->data_deferred) {
		call->data_deferred = 0;
		nghttp2_session_resume_data(call->c->h2, call->id);
	}
	conn_mark_dirty(call->c);
}

void rpc_call_send_headers(rpc_call *call)
{
	if (call->finished || call->stream_closed || call->headers_sent)
		return;
	submit_response_headers(call);
	conn_mark_dirty(call->c);
}

int rpc_call_send_raw(rpc_call *call, const uint8_t *msg, size_t len)
{
	if (call->finished || call->stream_closed)
		return -1;
	if (grpc_frame_append(&call->out, msg, len, call->accept_gzip && call->enc_gzip) < 0)
		return -1;
	if (call->stat)
		pcount_add(&call->stat->msg_sent, 1);
	if (!call->headers_sent)
		submit_response_headers(call);
	else
		call_resume(call);
	conn_mark_dirty(call->c);
	return 0;
}

int rpc_call_send(rpc_call *call, const ProtobufCMessage *msg)
{
	size_t len;
	uint8_t stackbuf[512];
	uint8_t *p = stackbuf;
	int rc;

	if (call->finished || call->stream_closed)
		return -1;
	len = protobuf_c_message_get_packed_size(msg);
	if (len > sizeof(stackbuf)) {
		p = malloc(len);
		if (!p)
			return -1;
	}
	protobuf_c_message_pack(msg, p);
	rc = rpc_call_send_raw(call, p, len);
	if (p != stackbuf)
		free(p);
	return rc;
}

void rpc_call_on_drain(rpc_call *call, rpc_drain_fn fn, void *ud)
{
	call->drain_fn = fn;
	call->drain_ud = ud;
	if (!call->drain_armed && fn) {
		call->drain_armed = 1;
		call->drain_next = call->c->drain_list;
		call->c->drain_list = call;
	}
	conn_mark_dirty(call->c);
}

int rpc_call_worker(const rpc_call *call)
{
	return call->c->w->index;
}

/* After a flush: tell the calls that asked whose output has all gone to
 * HTTP/2.  Runs outside nghttp2 callbacks, so they may send again. */
static void conn_run_drains(struct conn *c)
{
	struct rpc_call **pp = &c->drain_list;

	while (*pp) {
		struct rpc_call *call = *pp;
		if (call->finished || call->out.len - call->out_off > 0) {
			if (call->finished) {
				*pp = call->drain_next;
				call->drain_armed = 0;
				continue;
			}
			pp = &call->drain_next;
			continue;
		}
		*pp = call->drain_next;
		call->drain_armed = 0;
		if (call->drain_fn) {
			rpc_drain_fn fn = call->drain_fn;
			call->drain_fn = NULL;
			fn(call, call->drain_ud);
			/* fn may have re-armed (pushed on the head): restart. */
			pp = &c->drain_list;
		}
	}
}

const uint64_t rpc_stat_bounds_ns[RPC_STAT_NBOUNDS] = {
	5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000,
	1000000000, 2500000000, 5000000000, 10000000000,
};

static void call_count_end(struct rpc_call *call)
{
	struct mstat *ms = call->stat;
	uint64_t ns = time_mono_ns() - call->start_ns;
	unsigned code = call->status >= 0 && call->status < RPC_STAT_NCODES ?
			(unsigned)call->status : VCLI_STATUS_UNKNOWN;

	pcount_add(&ms->handled[code], 1);
	pcount_add(&ms->buckets[pcount_slot(rpc_stat_bounds_ns, RPC_STAT_NBOUNDS, ns)], 1);
	pcount_add(&ms->sum_ns, ns);
}

/* Ends the call: the single place where a status is decided and sent. */
static void call_end(struct rpc_call *call, int status, const char *msg)
{
	if (call->finished)
		return;
	call->finished = 1;
	call->status = status;
	if (call->stat)
		call_count_end(call);
	free(call->status_msg);
	call->status_msg = msg && *msg ? strdup(msg) : NULL;
	call_stop_timer(call);
	call_log(call);
	if (call->stream_closed)
		return;
	if (!call->headers_sent) {
		submit_trailers_only(call);
	} else {
		call->trailers_pending = 1;
		call_resume(call);
	}
	conn_mark_dirty(call->c);
}

void rpc_call_finish(rpc_call *call, int status, const char *message)
{
	/* A handler that answers from its cancel callback is too late: the
	 * transport already decided the status. */
	if (call->cancelling)
		return;
	/* The call itself is freed when its stream closes (on_stream_close),
	 * which may be now or after the status has been written. */
	call_end(call, status, message);
}

void rpc_call_finishf(rpc_call *call, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rpc_call_finish(call, status, msg);
}

void rpc_call_on_cancel(rpc_call *call, rpc_cancel_fn fn, void *ud)
{
	call->cancel_fn = fn;
	call->cancel_ud = ud;
}

/* The transport ends a call the handler still owns: tell the handler, then
 * send the status.  After this the handler must not touch the call. */
static void call_cancel(struct rpc_call *call, int reason, const char *msg)
{
	rpc_cancel_fn fn = call->cancel_fn;

	if (call->finished)
		return;
	call->cancel_fn = NULL;
	if (call->started && fn) {
		call->cancelling = 1;
		fn(call, reason, call->cancel_ud);
		call->cancelling = 0;
	}
	call_end(call, reason, msg);
}

const uint8_t *rpc_call_metadata(const rpc_call *call, const char *key,
				 size_t *len)
{
	size_t off = 0;
	size_t klen = strlen(key);

	while (off < call->meta.len) {
		const char *k = (const char *)call->meta.data + off;
		size_t kl = strlen(k);
		uint32_t vl;
		memcpy(&vl, call->meta.data + off + kl + 1, 4);
		if (kl == klen && memcmp(k, key, kl) == 0) {
			if (len)
				*len = vl;
			return call->meta.data + off + kl + 5;
		}
		off += kl + 5 + vl + 1;
	}
	return NULL;
}

int rpc_call_add_metadata(rpc_call *call, const char *key,
			  const uint8_t *value, size_t len)
{
	size_t kl = strlen(key);

	if (call->headers_sent)
		return -1;
	if (kl > 4 && strcmp(key + kl - 4, "-bin") == 0) {
		size_t el = b64_encoded_len(len);
		char *enc = malloc(el + 1);
		int rc;
		if (!enc)
			return -1;
		b64_encode(value, len, enc);
		enc[el] = '\0';
		rc = buf_append(&call->resp_meta, key, kl + 1) < 0 ||
		     buf_append(&call->resp_meta, enc, el + 1) < 0 ? -1 : 0;
		free(enc);
		return rc;
	}
	if (memchr(value, '\0', len))
		return -1;
	if (buf_append(&call->resp_meta, key, kl + 1) < 0 ||
	    buf_append(&call->resp_meta, value, len) < 0 ||
	    buf_append_byte(&call->resp_meta, 0) < 0)
		return -1;
	return 0;
}

const char *rpc_call_method(const rpc_call *call) { return call->path; }
const rpc_method_row *rpc_call_row(const rpc_call *call) { return call->m ? call->m->row : NULL; }

const char *rpc_call_peer_identity(const rpc_call *call)
{
	struct conn *c = call->c;

	/* Looked up once per connection: a certificate does not change. */
	if (!c->identity_state)
		c->identity_state = c->use_tls && tls_conn_peer_identity(&c->tls, c->identity,
									 sizeof(c->identity)) == 0 ? 1 : -1;
	return c->identity_state > 0 ? c->identity : NULL;
}
const char *rpc_call_peer(const rpc_call *call) { return call->c->peer; }

int rpc_call_peer_uid(const rpc_call *call, uid_t *uid)
{
	if (!call->c->has_peer_uid)
		return -1;
	*uid = call->c->peer_uid;
	return 0;
}
uint64_t rpc_call_deadline(const rpc_call *call) { return call->deadline_ms; }
uv_loop_t *rpc_call_loop(const rpc_call *call) { return &call->c->w->loop; }
rpc_server *rpc_call_server(const rpc_call *call) { return call->c->w->srv; }

size_t rpc_call_pending_bytes(const rpc_call *call)
{
	return call->out.len - call->out_off;
}

static void on_deadline(uv_timer_t *t)
{
	struct rpc_call *call = t->data;

	call_cancel(call, VCLI_STATUS_DEADLINE_EXCEEDED, "deadline exceeded");
}

/* ---- request handling ---- */

static void call_dispatch(struct rpc_call *call)
{
	rpc_server *srv = call->c->w->srv;
	size_t len;
	const uint8_t *msg;
	char why[320];

	if (call->nmsgs != 1) {
		call_end(call, VCLI_STATUS_INTERNAL,
			 call->nmsgs == 0 ? "request has no message" :
					    "unary request has more than one message");
		return;
	}
	(void)srv;
	if (call->stat)
		pcount_add(&call->stat->msg_received, 1);
	msg = grpc_deframer_msg(&call->in, &len);
	switch (pb_check_strings(call->m->desc->input, msg, len, why, sizeof(why))) {
	case 0:
		break;
	case -1:        /* a string field's content */
		call_end(call, VCLI_STATUS_INVALID_ARGUMENT, why);
		return;
	default: {      /* not a message: as protobuf-c's own refusals below */
		char m[sizeof(why) + 40];

		snprintf(m, sizeof(m), "cannot decode request message: %s", why);
		call_end(call, VCLI_STATUS_INTERNAL, m);
		return;
	}
	}
	call->request = protobuf_c_message_unpack(call->m->desc->input, NULL, len, msg);
	if (!call->request) {
		call_end(call, VCLI_STATUS_INTERNAL, "cannot decode request message");
		return;
	}
	call->started = 1;
	call->m->handler(call, call->request, call->m->ud);
}

/* Called once the request headers are complete. */
static void call_begin(struct rpc_call *call)
{
	struct conn *c = call->c;
	rpc_server *srv = c->w->srv;

	if (!call->is_post) {
		submit_http_error(call, "405");
		return;
	}
	if (!call->ct_ok) {
		submit_http_error(call, "415");
		return;
	}
	if (call->bad_timeout) {
		call_end(call, VCLI_STATUS_INTERNAL, "malformed grpc-timeout");
		return;
	}
	if (call->enc_bad) {
		call_end(call, VCLI_STATUS_UNIMPLEMENTED,
			 "unsupported grpc-encoding; accepted: identity, gzip");
		return;
	}
	call->m = find_method(srv, call->path);
	if (!call->m || !call->m->handler) {
		char msg[320];
		snprintf(msg, sizeof(msg), "%s method %s", call->m ? "unimplemented" : "unknown",
			 call->path);
		call->m = NULL;
		call_end(call, VCLI_STATUS_UNIMPLEMENTED, msg);
		return;
	}
	if (atomic_load(&srv->draining)) {
		call_end(call, VCLI_STATUS_UNAVAILABLE, "server shutting down");
		return;
	}
	if (!call->has_timeout && call->m->kind == RPC_UNARY && srv->opts.default_deadline_ms) {
		/* A unary call without a deadline of its own gets the server's:
		 * nothing a client forgets holds a call open for ever.  No timer
		 * of its own (one per call measured 1-2 us per call): the
		 * worker's once-a-second sweep ends it.  Streams are meant to
		 * last, and keep what their client asked. */
		call->deadline_ms = uv_now(&c->w->loop) + srv->opts.default_deadline_ms;
		call->default_deadline = 1;
	}
	if (c->w->mstats) {
		call->stat = &c->w->mstats[call->m->idx];
		pcount_add(&call->stat->started, 1);
	}
	if (call->has_timeout) {
		uint64_t ms = call->timeout_ns / 1000000 + (call->timeout_ns % 1000000 ? 1 : 0);
		if (call->timeout_ns == 0) {
			call_end(call, VCLI_STATUS_DEADLINE_EXCEEDED, "deadline exceeded");
			return;
		}
		call->deadline = malloc(sizeof(*call->deadline));
		if (call->deadline) {
			uv_timer_init(&c->w->loop, call->deadline);
			call->deadline->data = call;
			call->deadline_ms = uv_now(&c->w->loop) + ms;
			uv_timer_start(call->deadline, on_deadline, ms, 0);
		}
	}
}

static int add_meta(struct rpc_call *call, const uint8_t *name, size_t namelen,
		    const uint8_t *value, size_t valuelen)
{
	uint32_t vl = (uint32_t)valuelen;
	uint8_t *dec = NULL;

	if (call->nmeta >= MAX_METADATA_ENTRIES)
		return -1;
	if (namelen > 4 && memcmp(name + namelen - 4, "-bin", 4) == 0) {
		long dl;
		dec = malloc(valuelen / 4 * 3 + 4);
		if (!dec)
			return -1;
		dl = b64_decode((const char *)value, valuelen, dec);
		if (dl < 0) {
			free(dec);
			return -1;
		}
		value = dec;
		vl = (uint32_t)dl;
	}
	if (buf_append(&call->meta, name, namelen) < 0 ||
	    buf_append_byte(&call->meta, 0) < 0 ||
	    buf_append(&call->meta, &vl, 4) < 0 ||
	    buf_append(&call->meta, value, vl) < 0 ||
	    buf_append_byte(&call->meta, 0) < 0) {
		free(dec);
		return -1;
	}
	free(dec);
	call->nmeta++;
	return 0;
}

static int hdr_is(const uint8_t *name, size_t namelen, const char *lit)
{
	size_t l = strlen(lit);
	return namelen == l && memcmp(name, lit, l) == 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame,
		     const uint8_t *name, size_t namelen, const uint8_t *value,
		     size_t valuelen, uint8_t flags, void *user_data)
{
	struct rpc_call *call;
	struct conn *c = user_data;

	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (!call)
		return 0;
	call->header_bytes += namelen + valuelen + 32;
	if (call->header_bytes > c->w->srv->opts.max_header_list_size)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST this stream */
	if (frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* request trailers carry nothing we use */
	if (name[0] == ':') {
		if (hdr_is(name, namelen, ":method"))
			call->is_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
		else if (hdr_is(name, namelen, ":path")) {
			size_t n = valuelen < sizeof(call->path) - 1 ? valuelen : sizeof(call->path) - 1;
			memcpy(call->path, value, n);
			call->path[n] = '\0';
		}
		return 0;
	}
	if (hdr_is(name, namelen, "content-type")) {
		call->ct_ok = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
			      (valuelen == 16 || value[16] == '+' || value[16] == ';');
	} else if (hdr_is(name, namelen, "grpc-timeout")) {
		call->has_timeout = 1;
		if (grpc_timeout_parse((const char *)value, valuelen, &call->timeout_ns) < 0)
			call->bad_timeout = 1;
	} else if (hdr_is(name, namelen, "grpc-encoding")) {
		if (valuelen == 4 && memcmp(value, "gzip", 4) == 0)
			call->enc_gzip = 1;
		else if (!(valuelen == 8 && memcmp(value, "identity", 8) == 0))
			call->enc_bad = 1;
	} else if (hdr_is(name, namelen, "grpc-accept-encoding")) {
		call->accept_gzip = memmem(value, valuelen, "gzip", 4) != NULL;
	} else if (hdr_is(name, namelen, "te") || hdr_is(name, namelen, "user-agent") ||
		   (namelen >= 5 && memcmp(name, "grpc-", 5) == 0)) {
		/* Reserved or transport headers: not application metadata. */
	} else if (add_meta(call, name, namelen, value, valuelen) < 0) {
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
			    void *user_data)
{
	struct conn *c = user_data;
	struct rpc_call *call;

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	call = calloc(1, sizeof(*call));
	if (!call)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	call->c = c;
	call->id = frame->hd.stream_id;
	/* A call in progress makes the client's pings legitimate. */
	c->ping_strikes = 0;
	call->start_ns = time_mono_ns();
	grpc_deframer_init(&call->in, c->w->srv->opts.max_recv_size);
	buf_init(&call->meta, c->w->srv->opts.max_header_list_size);
	buf_init(&call->resp_meta, 16 * 1024);
	buf_init(&call->out, 64u * 1024 * 1024);
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->ncalls++;
	nghttp2_session_set_stream_user_data(session, call->id, call);
	return 0;
}

static void call_remote_end(struct rpc_call *call)
{
	call->remote_closed = 1;
	if (call->finished || call->started)
		return;
	if (grpc_deframer_partial(&call->in)) {
		call_end(call, VCLI_STATUS_INTERNAL, "request message truncated");
		return;
	}
	call_dispatch(call);
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
			 void *user_data)
{
	struct conn *c = user_data;
	struct rpc_call *call;

	switch (frame->hd.type) {
	case NGHTTP2_SETTINGS:
		c->got_settings = 1;
		return 0;
	case NGHTTP2_PING:
		if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
			c->ping_outstanding = 0;
		} else {
			uint64_t now = uv_now(&c->w->loop);
			rpc_server_options *o = &c->w->srv->opts;
			int bad = c->last_ping_recv_ms &&
				  now - c->last_ping_recv_ms < o->keepalive_min_time_ms;
			if (!bad && c->ncalls == 0 && !o->keepalive_permit_without_calls &&
			    c->last_ping_recv_ms && now - c->last_ping_recv_ms < 2 * 3600 * 1000ull)
				bad = 1;
			c->last_ping_recv_ms = now;
			if (bad && ++c->ping_strikes > 2 && !c->goaway_sent) {
				static const char why[] = "too_many_pings";
				log_msg(LOG_WARN, "closing connection: client pings too often",
					"peer", c->peer, "reason", why, NULL);
				nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE,
						      nghttp2_session_get_last_proc_stream_id(session),
						      NGHTTP2_ENHANCE_YOUR_CALM,
						      (const uint8_t *)why, sizeof(why) - 1);
				c->goaway_sent = 1;
				c->closing = 1;
				/* An abusive peer does not get to finish its calls
				 * (they end UNAVAILABLE), as gRPC servers do. */
				c->abort_after_flush = 1;
			}
		}
		return 0;
	case NGHTTP2_HEADERS:
		call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
		if (!call)
			return 0;
		if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
			call_begin(call);
		if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
			call_remote_end(call);
		return 0;
	case NGHTTP2_DATA:
		call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
		if (call && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
			call_remote_end(call);
		return 0;
	default:
		return 0;
	}
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags,
			 int32_t stream_id, const uint8_t *data, size_t len,
			 void *user_data)
{
	struct rpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
	int status;
	const char *msg;

	if (!call || call->finished || call->started)
		return 0; /* answered already: drop what the client still sends */
	while (len > 0) {
		int r = grpc_deframer_feed(&call->in, &data, &len, call->enc_gzip,
					   &status, &msg);
		if (r == DEFRAME_ERR) {
			call_end(call, status, msg);
			return 0;
		}
		if (r == DEFRAME_MSG) {
			if (++call->nmsgs > 1) {
				call_end(call, VCLI_STATUS_INTERNAL,
					 "unary request has more than one message");
				return 0;
			}
		}
	}
	return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame,
			 void *user_data)
{
	struct rpc_call *call;
	struct conn *c = user_data;

	/* Sending data makes the client's next pings legitimate again (its
	 * BDP probes follow our DATA), as gRPC servers count strikes. */
	if (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) {
		c->ping_strikes = 0;
		c->last_ping_recv_ms = 0;
	}

	if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
	    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (!call)
		return 0;
	call->local_closed = 1;
	/* The response is complete but the client is still sending: ask it to
	 * stop without error (RFC 9113 section 8.1). */
	if (!call->remote_closed)
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, call->id,
					  NGHTTP2_NO_ERROR);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id,
			   uint32_t error_code, void *user_data)
{
	struct rpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);

	if (!call)
		return 0;
	nghttp2_session_set_stream_user_data(session, stream_id, NULL);
	call->stream_closed = 1;
	if (!call->finished) {
		/* Client cancelled (RST_STREAM) or the connection is going away
		 * before we answered. */
		call_cancel(call, VCLI_STATUS_CANCELLED, "cancelled by client");
	}
	call_free(call);
	return 0;
}

/* ---- connections ---- */

static void conn_mark_dirty(struct conn *c)
{
	if (c->dirty || c->closing > 1)
		return;
	c->dirty = 1;
	c->dirty_next = c->w->dirty;
	c->w->dirty = c;
}

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct worker *w = c->w;

	h2io_release(&c->io);
	if (c->use_tls)
		tls_conn_release(&c->tls);
	free(c);
	atomic_fetch_sub(&w->srv->nconns, 1);
	if (w->draining && !w->conns)
		uv_stop(&w->loop);
}

/* Tears the connection down now: pending calls are cancelled. */
static void conn_close(struct conn *c)
{
	struct worker *w = c->w;

	if (c->closing > 1)
		return;
	c->closing = 2;
	/* Unlink from the dirty list; it is walked only from the flusher. */
	if (c->dirty) {
		struct conn **pp = &w->dirty;
		while (*pp && *pp != c)
			pp = &(*pp)->dirty_next;
		if (*pp)
			*pp = c->dirty_next;
		c->dirty = 0;
	}
	if (c->h2) {
		/* nghttp2_session_del() runs no stream-close callbacks: the
		 * loop below cancels and frees what is left. */
		nghttp2_session_del(c->h2);
		c->h2 = NULL;
		c->io.h2 = NULL;
	}
	while (c->calls) {
		struct rpc_call *call = c->calls;
		call->stream_closed = 1;
		if (!call->finished)
			call_cancel(call, VCLI_STATUS_UNAVAILABLE, "connection closed");
		call_free(call);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close(&c->sock.handle, conn_closed);
}

static void conn_flush(struct conn *c)
{
	if (c->closing > 1 || !c->h2)
		return;
	if (h2io_flush(&c->io) < 0) {
		log_msg(LOG_DEBUG, "connection error", "peer", c->peer, "error",
			c->io.error, NULL);
		conn_close(c);
		return;
	}
	if (c->drain_list) {
		conn_run_drains(c);
		if (c->closing > 1 || !c->h2)
			return;
		if (c->dirty && h2io_flush(&c->io) < 0) {
			conn_close(c);
			return;
		}
	}
	if (!h2io_busy(&c->io) &&
	    ((!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) ||
	     (c->closing && (c->ncalls == 0 || c->abort_after_flush))))
		conn_close(c);
}

static void on_written(h2io *io)
{
	struct conn *c = (struct conn *)((char *)io - offsetof(struct conn, io));

	if (io->failed) {
		conn_close(c);
		return;
	}
	conn_flush(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct conn *c = h->data;

	/* One read buffer per worker: reads are processed before the next
	 * allocation, so connections never need their own. */
	b->base = (char *)c->w->readbuf;
	b->len = sizeof(c->w->readbuf);
}

/* Bytes from the client.  Returns -1 when the connection takes no more
 * input (it is closing; what nghttp2 queued still goes out). */
static int conn_input(struct conn *c, const uint8_t *p, size_t n)
{
	int rc = 0;

	c->last_read_ms = uv_now(&c->w->loop);
	if (h2io_feed(&c->io, p, n) < 0) {
		log_msg(LOG_DEBUG, "closing connection", "peer", c->peer, "error",
			c->io.error, NULL);
		/* nghttp2 may have queued a GOAWAY explaining why: send it. */
		c->closing = 1;
		rc = -1;
	}
	conn_mark_dirty(c);
	return rc;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = s->data;

	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0 || c->closing > 1)
		return;
	if (conn_input(c, (const uint8_t *)b->base, (size_t)nread) < 0)
		uv_read_stop(s);
}

static int conn_setup_h2(struct conn *c)
{
	rpc_server *srv = c->w->srv;
	nghttp2_settings_entry iv[5];

	if (nghttp2_session_server_new2(&c->h2, srv->cbs, c, srv->h2opt) != 0)
		return -1;
	iv[0].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
	iv[0].value = srv->opts.max_concurrent_streams;
	iv[1].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
	iv[1].value = srv->opts.initial_window_size;
	iv[2].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
	iv[2].value = srv->opts.max_header_list_size;
	iv[3].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH;
	iv[3].value = 0;
	iv[4].settings_id = NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES;
	iv[4].value = 1;
	if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 5) != 0)
		return -1;
	if (srv->opts.connection_window_size > 65535)
		nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0,
						      (int32_t)srv->opts.connection_window_size);
	c->io.h2 = c->h2;
	return 0;
}

static void peer_name(uv_tcp_t *tcp, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len);
	netaddr_format((struct sockaddr *)&ss, out, outlen);
}

/* A Unix socket's peer is a process: "unix:pid=P,uid=U" (SO_PEERCRED,
 * the credentials the kernel took when the peer connected: the peer
 * cannot choose them).  Its user id is kept for rpc_call_peer_uid. */
static void unix_peer(struct conn *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof(cred)) {
		snprintf(c->peer, sizeof(c->peer), "unix:pid=%ld,uid=%lu", (long)cred.pid,
			 (unsigned long)cred.uid);
		c->peer_uid = cred.uid;
		c->has_peer_uid = 1;
	} else {
		snprintf(c->peer, sizeof(c->peer), "unix:?");
	}
}

/* Close callback for a connection that never got going: h->data owns it. */
static void free_handle_owner(uv_handle_t *h)
{
	free(h->data);
}

/*
 * A connection whose handle is open (accepted, counted in nconns, peer
 * named): TLS (the server's, when tls: TCP connections), HTTP/2 and
 * reading.  On failure the connection is closed.
 */
static void conn_start(struct worker *w, struct conn *c, int tls)
{
	rpc_server *srv = w->srv;

	c->opened_ms = c->last_read_ms = uv_now(&w->loop);
	h2io_init(&c->io, &c->sock.stream, NULL, OUT_HIGH_WATER);
	c->io.on_written = on_written;
	if (srv->ssl_ctx && tls) {
		if (tls_conn_init(&c->tls, srv->ssl_ctx, 1, NULL) < 0) {
			h2io_release(&c->io);
			atomic_fetch_sub(&srv->nconns, 1);
			uv_close(&c->sock.handle, free_handle_owner);
			return;
		}
		c->use_tls = 1;
		c->io.tls = &c->tls;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	if (conn_setup_h2(c) < 0) {
		conn_close(c);
		return;
	}
	uv_read_start(&c->sock.stream, on_alloc, on_read);
	conn_mark_dirty(c); /* our SETTINGS go out at once */
}

/* Counts a new connection in, or says no (limit reached, draining). */
static int conn_admit(struct worker *w)
{
	rpc_server *srv = w->srv;

	if (atomic_fetch_add(&srv->nconns, 1) >= srv->opts.max_connections ||
	    w->draining) {
		atomic_fetch_sub(&srv->nconns, 1);
		log_msg(LOG_DEBUG, "refusing connection: limit reached", NULL);
		return -1;
	}
	return 0;
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct worker *w = listener->data;
	struct conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->w = w;
	uv_tcp_init(&w->loop, &c->sock.tcp);
	c->sock.tcp.data = c;
	if (uv_accept(listener, &c->sock.stream) != 0 || conn_admit(w) < 0) {
		uv_close(&c->sock.handle, free_handle_owner);
		return;
	}
	uv_tcp_nodelay(&c->sock.tcp, 1);
	peer_name(&c->sock.tcp, c->peer, sizeof(c->peer));
	conn_start(w, c, 1);
}

/* An accepted Unix socket, on the worker it was handed to. */
static void unix_adopt(struct worker *w, int fd)
{
	struct conn *c;

	if (conn_admit(w) < 0) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		atomic_fetch_sub(&w->srv->nconns, 1);
		close(fd);
		return;
	}
	c->w = w;
	uv_pipe_init(&w->loop, &c->sock.pipe, 0);
	c->sock.pipe.data = c;
	if (uv_pipe_open(&c->sock.pipe, fd) != 0) {
		atomic_fetch_sub(&w->srv->nconns, 1);
		close(fd);
		uv_close(&c->sock.handle, free_handle_owner);
		return;
	}
	unix_peer(c, fd);
	conn_start(w, c, 0); /* a local socket: its file mode is the access control */
}

/* rpc_server_post's end of a hand-off: the accepted descriptor in ud.
 * loop is NULL when the worker has stopped: the socket is closed. */
static void unix_adopt_task(uv_loop_t *loop, void *ud)
{
	int fd = (int)(intptr_t)ud;

	if (!loop) {
		close(fd);
		return;
	}
	unix_adopt((struct worker *)((char *)loop - offsetof(struct worker, loop)), fd);
}

static void on_unix_accept(uv_poll_t *p, int status, int events);

static void on_unix_accept_retry(uv_timer_t *t)
{
	struct worker *w = t->data;

	if (w->uaccept_open && !w->draining)
		uv_poll_start(&w->uaccept, UV_READABLE, on_unix_accept);
}

/*
 * Worker 0's Unix listener: every pending connection accepted, each given
 * to the next worker in turn, so that connections spread over the workers
 * as SO_REUSEPORT spreads TCP ones.
 */
static void on_unix_accept(uv_poll_t *p, int status, int events)
{
	struct worker *w = p->data;
	rpc_server *srv = w->srv;

	(void)events;
	if (status < 0 || w->draining)
		return;
	for (int n = 0; n < 256; n++) {
		int fd = accept4(srv->unix_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		rpc_task *t;
		int to;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Level-triggered: without a pause this would
				 * spin.  Connections wait in the backlog; told
				 * once per shortage, not per retry. */
				if (!w->uaccept_warned)
					log_msg(LOG_WARN, "cannot accept connections, retrying "
						"every 50 ms", "addr", srv->opts.listen, "error",
						strerror(errno), NULL);
				w->uaccept_warned = 1;
				uv_poll_stop(p);
				uv_timer_start(&w->uaccept_retry, on_unix_accept_retry,
					       UNIX_ACCEPT_RETRY_MS, 0);
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				w->uaccept_warned = 0; /* all taken: the shortage is over */
			}
			return; /* ECONNABORTED and the like: that one is gone */
		}
		to = (int)(srv->unix_next++ % (unsigned)srv->nworkers);
		t = to == w->index ? NULL : malloc(sizeof(*t));
		if (!t) {
			unix_adopt(w, fd); /* here, rather than lose it */
			continue;
		}
		t->fn = unix_adopt_task;
		t->ud = (void *)(intptr_t)fd;
		t->owned = 1;
		rpc_server_post_task(srv, to, t);
	}
}

/* ---- worker loop hooks ---- */

static void on_prepare(uv_prepare_t *p)
{
	struct worker *w = p->data;

	while (w->dirty) {
		struct conn *c = w->dirty;
		w->dirty = c->dirty_next;
		c->dirty = 0;
		conn_flush(c);
	}
}

static void send_goaway(struct conn *c)
{
	static const char why[] = "server shutting down";

	if (c->goaway_sent || !c->h2)
		return;
	c->goaway_sent = 1;
	nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(c->h2),
			      NGHTTP2_NO_ERROR, (const uint8_t *)why, sizeof(why) - 1);
	conn_mark_dirty(c);
}

static void on_grace(uv_timer_t *t)
{
	struct worker *w = t->data;

	/* Whatever is still running has had its grace period. */
	for (struct conn *c = w->conns; c; c = c->next) {
		for (struct rpc_call *call = c->calls; call; call = call->next)
			call_cancel(call, VCLI_STATUS_UNAVAILABLE, "server shutting down");
		c->closing = c->closing ? c->closing : 1;
		conn_mark_dirty(c);
	}
	/* And connections that will not drain get a last second. */
	w->stopping = 1;
}

/*
 * Stops listening on the Unix socket and removes its file, if it is still
 * the one we made (a governd started since may have replaced it).
 */
static void unix_listener_close(rpc_server *srv)
{
	struct stat st;

	if (srv->unix_fd < 0)
		return;
	close(srv->unix_fd);
	srv->unix_fd = -1;
	if (lstat(srv->unix_path, &st) == 0 && st.st_dev == srv->unix_dev &&
	    st.st_ino == srv->unix_ino)
		unlink(srv->unix_path);
}

static void worker_begin_drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = 1;
	if (w->listener_open) {
		uv_close((uv_handle_t *)&w->listener, NULL);
		w->listener_open = 0;
	}
	if (w->uaccept_open) {
		uv_close((uv_handle_t *)&w->uaccept, NULL);
		uv_timer_stop(&w->uaccept_retry);
		w->uaccept_open = 0;
		unix_listener_close(w->srv);
	}
	for (struct conn *c = w->conns; c; c = c->next) {
		send_goaway(c);
		/* Long-lived streams never end by themselves: end them now
		 * (their handlers may already have said goodbye). */
		for (struct rpc_call *call = c->calls; call; call = call->next)
			if (call_is_streaming(call) && call->started)
				call_cancel(call, VCLI_STATUS_UNAVAILABLE, "server shutting down");
		c->closing = c->closing ? c->closing : 1;
	}
	uv_timer_start(&w->grace, on_grace, w->srv->opts.grace_ms, 0);
	if (!w->conns)
		uv_stop(&w->loop);
}

static void on_sweep(uv_timer_t *t)
{
	struct worker *w = t->data;
	rpc_server_options *o = &w->srv->opts;
	uint64_t now = uv_now(&w->loop);
	struct conn *c, *next;

	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->closing > 1)
			continue;
		if (w->stopping) {
			conn_close(c);
			continue;
		}
		if (o->default_deadline_ms) {
			for (struct rpc_call *k = c->calls, *kn; k; k = kn) {
				kn = k->next;
				if (k->default_deadline && !k->finished && now >= k->deadline_ms)
					call_cancel(k, VCLI_STATUS_DEADLINE_EXCEEDED,
						    "deadline exceeded (the server's default; "
						    "send grpc-timeout to choose one)");
			}
		}
		if (!c->got_settings && now - c->opened_ms > o->handshake_timeout_ms) {
			log_msg(LOG_DEBUG, "closing connection: handshake timeout", "peer",
				c->peer, NULL);
			conn_close(c);
			continue;
		}
		if (c->ping_outstanding && now - c->ping_sent_ms > o->keepalive_timeout_ms) {
			log_msg(LOG_INFO, "closing connection: keepalive timeout", "peer",
				c->peer, NULL);
			conn_close(c);
			continue;
		}
		if (o->idle_timeout_ms && c->ncalls == 0 &&
		    now - c->last_read_ms > o->idle_timeout_ms) {
			static const char why[] = "idle";
			if (!c->goaway_sent && c->h2) {
				nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
						      nghttp2_session_get_last_proc_stream_id(c->h2),
						      NGHTTP2_NO_ERROR, (const uint8_t *)why,
						      sizeof(why) - 1);
				c->goaway_sent = 1;
				c->closing = 1;
				conn_mark_dirty(c);
			}
			continue;
		}
		if (c->got_settings && !c->ping_outstanding && o->keepalive_time_ms &&
		    now - c->last_read_ms > o->keepalive_time_ms && c->h2) {
			nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, NULL);
			c->ping_outstanding = 1;
			c->ping_sent_ms = now;
			conn_mark_dirty(c);
		}
	}
	if (w->draining && !w->conns)
		uv_stop(&w->loop);
}

static void on_wake(uv_async_t *a)
{
	struct worker *w = a->data;
	struct rpc_task *t;

	/* The whole list at once: the poster (the store's writer) is not held
	 * up by a lock taken per task. */
	for (;;) {
		uv_mutex_lock(&w->task_lock);
		t = w->tasks;
		w->tasks = w->tasks_tail = NULL;
		uv_mutex_unlock(&w->task_lock);
		if (!t)
			break;
		while (t) {
			struct rpc_task *next = t->next;
			int owned = t->owned;

			/* fn may free a caller's task: read it first. */
			t->fn(&w->loop, t->ud);
			if (owned)
				free(t);
			t = next;
		}
	}
	if (atomic_load(&w->srv->draining))
		worker_begin_drain(w);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void worker_finish(struct worker *w);

static void worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	current_worker = w->index;
	snprintf(name, sizeof(name), "governd-w%d", w->index);
	pthread_setname_np(pthread_self(), name);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	worker_finish(w);
}

/* After the worker's loop has stopped: closes what is left and the loop. */
static void worker_finish(struct worker *w)
{
	/* From here the wake-up handle is closing: a post (from the store's
	 * writer thread, say) must not touch it; it is queued and run below. */
	uv_mutex_lock(&w->task_lock);
	w->no_wake = 1;
	uv_mutex_unlock(&w->task_lock);
	/* Stopped: connections are gone (or being closed); close the rest. */
	for (struct conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		conn_close(c);
	}
	uv_walk(&w->loop, close_walk, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
	/* From now on a post (a store completion arriving late, say) runs on
	 * the posting thread with no loop: nothing else touches this
	 * worker's state any more.  Tasks still queued run here likewise. */
	uv_mutex_lock(&w->task_lock);
	w->stopped = 1;
	while (w->tasks) {
		struct rpc_task *t = w->tasks;
		int owned = t->owned;

		w->tasks = t->next;
		t->fn(NULL, t->ud);
		if (owned)
			free(t);
	}
	w->tasks_tail = NULL;
	uv_mutex_unlock(&w->task_lock);
}

/* ---- server ---- */

static void init_callbacks(rpc_server *srv)
{
	nghttp2_session_callbacks *cb;

	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	srv->cbs = cb;
	nghttp2_option_new(&srv->h2opt);
	/* Bound what a peer can make us hold. */
	nghttp2_option_set_max_send_header_block_length(srv->h2opt, 64 * 1024);
	nghttp2_option_set_max_deflate_dynamic_table_size(srv->h2opt, 4096);
	nghttp2_option_set_max_outbound_ack(srv->h2opt, 1000);
	nghttp2_option_set_max_settings(srv->h2opt, 32);
	/* gRPC does not use HTTP/2 priorities: keeping closed streams for the
	 * priority tree only costs memory (up to max-streams per connection). */
	nghttp2_option_set_no_closed_streams(srv->h2opt, 1);
}

rpc_code rpc_server_new(const rpc_server_options *opts, rpc_server **out,
			char *err, size_t errlen)
{
	rpc_server *srv = calloc(1, sizeof(*srv));
	char tcp[300];

	if (!srv)
		return RPC_E_NOMEM;
	srv->opts = *opts;
	srv->unix_fd = -1;
	if (netaddr_listen_list(opts->listen, tcp, sizeof(tcp), srv->unix_path,
				sizeof(srv->unix_path), err, errlen) < 0 ||
	    (tcp[0] && netaddr_split(tcp, srv->host, sizeof(srv->host), &srv->port) < 0)) {
		free(srv);
		return RPC_E_ADDR;
	}
	srv->has_tcp = tcp[0] != '\0';
	srv->unix_first = strncmp(opts->listen, "unix:", 5) == 0;
	if (!srv->opts.threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		srv->opts.threads = n > 0 ? (int)n : 1;
	}
	if (srv->opts.threads < 1 || srv->opts.threads > 256 ||
	    !srv->opts.max_concurrent_streams || !srv->opts.max_connections) {
		snprintf(err, errlen, "invalid server limits");
		free(srv);
		return RPC_E_INVALID;
	}
	if (!srv->opts.max_recv_size)
		srv->opts.max_recv_size = GRPC_DEFAULT_MAX_RECV;
	if (opts->tls_cert_file || opts->tls_key_file) {
		if (!opts->tls_cert_file || !opts->tls_key_file) {
			snprintf(err, errlen, "TLS needs both --tls-cert and --tls-key");
			free(srv);
			return RPC_E_TLS;
		}
		srv->ssl_ctx = tls_server_ctx_new(opts->tls_cert_file, opts->tls_key_file,
						  opts->tls_client_ca_file, err, errlen);
		if (!srv->ssl_ctx) {
			free(srv);
			return RPC_E_TLS;
		}
	} else if (opts->tls_client_ca_file) {
		snprintf(err, errlen, "--tls-client-ca needs --tls-cert and --tls-key");
		free(srv);
		return RPC_E_TLS;
	}
	init_callbacks(srv);
	*out = srv;
	return RPC_OK;
}

static int make_listen_socket(const struct sockaddr *sa, socklen_t salen,
			      char *err, size_t errlen)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, sa, salen) < 0 || listen(fd, 1024) < 0) {
		snprintf(err, errlen, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * SO_REUSEPORT lets our workers share the port, but it would also let a
 * second governd (same user) join it silently and take half the calls.  A
 * bind without SO_REUSEPORT fails while anyone holds the port, so it tells.
 */
static int probe_port_free(const struct sockaddr *sa, socklen_t salen, char *err,
			   size_t errlen)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return 0; /* the real bind will report it */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, salen) < 0) {
		snprintf(err, errlen, "cannot listen: %s%s", strerror(errno),
			 errno == EADDRINUSE ? " (is another governd running?)" : "");
		rc = -1;
	}
	close(fd);
	return rc;
}

/*
 * The Unix socket at srv->unix_path, listening, mode 0660 (its owner and
 * group may connect).  A socket file nobody accepts on (left by a server
 * that is gone) is replaced; one that answers is another server's, and
 * anything else at the path is not ours to remove.
 */
static int unix_listen(rpc_server *srv, char *err, size_t errlen)
{
	const char *path = srv->unix_path;
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		int in_use;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "cannot listen on '%s': it exists and is not a "
				 "socket", path);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return -1;
		}
		/* A full backlog (EAGAIN) is a live server too. */
		in_use = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
			 errno == EAGAIN || errno == EINPROGRESS;
		if (!in_use && errno != ECONNREFUSED) {
			snprintf(err, errlen, "cannot listen on '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		if (in_use) {
			snprintf(err, errlen, "cannot listen on '%s': a server is accepting on it "
				 "(is another governd running?)", path);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove the stale socket '%s': %s", path,
				 strerror(errno));
			return -1;
		}
		log_msg(LOG_INFO, "removed a stale socket (nobody was accepting on it)", "path",
			path, NULL);
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "cannot listen on '%s': %s", path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot listen on '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Before listen(): until then a connect is refused, so nobody gets in
	 * under the umask's mode. */
	if (chmod(path, 0660) < 0 || lstat(path, &st) < 0 || listen(fd, 1024) < 0) {
		snprintf(err, errlen, "cannot listen on '%s': %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	srv->unix_dev = st.st_dev;
	srv->unix_ino = st.st_ino;
	srv->unix_fd = fd;
	return 0;
}

/* A worker's loop and the handles every worker has (not the listener). */
static void worker_init(rpc_server *srv, struct worker *w, int index)
{
	w->srv = srv;
	w->index = index;
	uv_loop_init(&w->loop);
	uv_mutex_init(&w->task_lock);
	uv_async_init(&w->loop, &w->wake, on_wake);
	w->wake.data = w;
	uv_prepare_init(&w->loop, &w->flusher);
	w->flusher.data = w;
	uv_prepare_start(&w->flusher, on_prepare);
	uv_unref((uv_handle_t *)&w->flusher);
	uv_timer_init(&w->loop, &w->sweep);
	w->sweep.data = w;
	uv_timer_start(&w->sweep, on_sweep, SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS);
	uv_unref((uv_handle_t *)&w->sweep);
	uv_timer_init(&w->loop, &w->grace);
	w->grace.data = w;
}

rpc_code rpc_server_start(rpc_server *srv, char *bound, size_t boundlen,
			  char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char port[16];
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	rpc_code rc;
	int gai;

	memset(&ss, 0, sizeof(ss));

	if (srv->has_tcp) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		snprintf(port, sizeof(port), "%d", srv->port);
		gai = getaddrinfo(srv->host, port, &hints, &ai);
		if (gai != 0 || !ai) {
			snprintf(err, errlen, "cannot resolve listen address '%s': %s",
				 srv->host, gai_strerror(gai));
			return RPC_E_ADDR;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sslen = ai->ai_addrlen;
		freeaddrinfo(ai);
		if (srv->port != 0 &&
		    probe_port_free((struct sockaddr *)&ss, sslen, err, errlen) < 0)
			return RPC_E_BIND;
	}
	if (srv->unix_path[0] && unix_listen(srv, err, errlen) < 0)
		return RPC_E_BIND;

	srv->workers = calloc((size_t)srv->opts.threads, sizeof(*srv->workers));
	if (!srv->workers) {
		unix_listener_close(srv);
		return RPC_E_NOMEM;
	}
	for (int i = 0; i < srv->opts.threads; i++) {
		/* Each worker's counts on cache lines of their own (calloc'd
		 * separately): workers never write a line another writes. */
		if (srv->nmethods &&
		    !(srv->workers[i].mstats = calloc(srv->nmethods, sizeof(struct mstat)))) {
			snprintf(err, errlen, "out of memory");
			rc = RPC_E_NOMEM;
			goto fail;
		}
	}
	for (int i = 0; i < srv->opts.threads; i++) {
		struct worker *w = &srv->workers[i];
		int fd = -1;

		if (srv->has_tcp) {
			fd = make_listen_socket((struct sockaddr *)&ss, sslen, err, errlen);
			if (fd < 0) {
				rc = RPC_E_BIND;
				goto fail;
			}
			if (i == 0) {
				/* Port 0 asked for any port: every worker must
				 * share the one the kernel picked. */
				socklen_t l = sizeof(ss);
				getsockname(fd, (struct sockaddr *)&ss, &l);
				sslen = l;
			}
		}
		worker_init(srv, w, i);
		srv->nworkers = i + 1; /* from here on fail: tears it down */
		if (fd >= 0) {
			w->listen_fd = fd;
			uv_tcp_init(&w->loop, &w->listener);
			w->listener.data = w;
			w->listener_open = 1;
			if (uv_tcp_open(&w->listener, fd) != 0 ||
			    uv_listen((uv_stream_t *)&w->listener, 1024, on_connection) != 0) {
				snprintf(err, errlen, "cannot listen on %s", srv->opts.listen);
				rc = RPC_E_BIND;
				goto fail;
			}
		}
		if (srv->unix_fd >= 0 && i == 0) {
			if (uv_poll_init(&w->loop, &w->uaccept, srv->unix_fd) != 0) {
				snprintf(err, errlen, "cannot listen on unix:%s", srv->unix_path);
				rc = RPC_E_BIND;
				goto fail;
			}
			w->uaccept.data = w;
			w->uaccept_open = 1;
			uv_poll_start(&w->uaccept, UV_READABLE, on_unix_accept);
			uv_timer_init(&w->loop, &w->uaccept_retry);
			w->uaccept_retry.data = w;
			uv_unref((uv_handle_t *)&w->uaccept_retry);
		}
	}
	if (bound) {
		char tcpaddr[300] = "", unixaddr[120] = "";

		if (srv->has_tcp)
			netaddr_format((struct sockaddr *)&ss, tcpaddr, sizeof(tcpaddr));
		if (srv->unix_path[0])
			snprintf(unixaddr, sizeof(unixaddr), "unix:%s", srv->unix_path);
		snprintf(bound, boundlen, "%s%s%s", srv->unix_first ? unixaddr : tcpaddr,
			 tcpaddr[0] && unixaddr[0] ? "," : "",
			 srv->unix_first ? tcpaddr : unixaddr);
	}
	/* A thread that fails to start leaves the server half up: shut the
	 * started ones down through the normal path and report. */
	for (int i = 0; i < srv->nworkers; i++) {
		if (uv_thread_create(&srv->workers[i].thread, worker_main,
				     &srv->workers[i]) != 0) {
			snprintf(err, errlen, "cannot start worker thread");
			srv->nworkers = i;
			srv->started = i > 0;
			rpc_server_shutdown(srv);
			rpc_server_wait(srv);
			return RPC_E_THREAD;
		}
	}
	srv->started = 1;
	return RPC_OK;
fail:
	/* No thread runs yet: close what the workers opened, on this thread. */
	for (int i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];
		uv_walk(&w->loop, close_walk, NULL);
		uv_run(&w->loop, UV_RUN_DEFAULT);
		uv_loop_close(&w->loop);
		uv_mutex_destroy(&w->task_lock);
	}
	for (int i = 0; i < srv->opts.threads; i++) {
		free(srv->workers[i].mstats);
		srv->workers[i].mstats = NULL;
	}
	srv->nworkers = 0;
	unix_listener_close(srv);
	return rc;
}

void rpc_server_shutdown(rpc_server *srv)
{
	int expected = 0;

	if (!atomic_compare_exchange_strong(&srv->draining, &expected, 1))
		return;
	for (int i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		/* A worker woken for another reason (a post) sees draining set
		 * above, drains and may be closing its loop already: as for a
		 * post, no wake-up once it is (worker_finish). */
		uv_mutex_lock(&w->task_lock);
		if (!w->no_wake)
			uv_async_send(&w->wake);
		uv_mutex_unlock(&w->task_lock);
	}
}

void rpc_server_broadcast(rpc_server *srv, void (*fn)(uv_loop_t *, void *),
			  void *ud)
{
	for (int i = 0; i < srv->nworkers; i++)
		rpc_server_post(srv, i, fn, ud);
}

int rpc_server_workers(const rpc_server *srv)
{
	return srv->opts.threads;
}

int rpc_server_current_worker(const rpc_server *srv)
{
	return current_worker;
}

void rpc_server_post(rpc_server *srv, int index, void (*fn)(uv_loop_t *, void *),
		     void *ud)
{
	struct rpc_task *t;

	if (index < 0 || index >= srv->nworkers)
		return;
	t = malloc(sizeof(*t));
	if (!t)
		return; /* out of memory: the caller's call will time out */
	t->fn = fn;
	t->ud = ud;
	t->owned = 1;
	rpc_server_post_task(srv, index, t);
}

void rpc_server_post_task(rpc_server *srv, int index, rpc_task *t)
{
	struct worker *w;

	if (index < 0 || index >= srv->nworkers)
		return;
	w = &srv->workers[index];
	t->next = NULL;
	uv_mutex_lock(&w->task_lock);
	if (w->stopped) {
		int owned = t->owned;

		uv_mutex_unlock(&w->task_lock);
		t->fn(NULL, t->ud);
		if (owned)
			free(t);
		return;
	}
	if (w->tasks_tail)
		w->tasks_tail->next = t;
	else
		w->tasks = t;
	w->tasks_tail = t;
	if (!w->no_wake)
		uv_async_send(&w->wake);
	uv_mutex_unlock(&w->task_lock);
}

void rpc_server_wait(rpc_server *srv)
{
	if (!srv->started)
		return;
	for (int i = 0; i < srv->nworkers; i++)
		uv_thread_join(&srv->workers[i].thread);
	srv->started = 0;
}

size_t rpc_server_nmethods(const rpc_server *srv)
{
	return srv->nmethods;
}

int rpc_server_method_info(const rpc_server *srv, size_t i, const char **path,
			   rpc_method_kind *kind)
{
	if (i >= srv->nmethods || !srv->methods[i].handler)
		return -1;
	*path = srv->methods[i].path;
	*kind = srv->methods[i].kind;
	return 0;
}

void rpc_server_method_stats(const rpc_server *srv, size_t i, rpc_method_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= srv->nmethods)
		return;
	for (int k = 0; k < srv->nworkers; k++) {
		const struct mstat *ms = srv->workers[k].mstats;

		if (!ms)
			continue;
		ms += i;
		out->started += pcount_get(&ms->started);
		out->msg_received += pcount_get(&ms->msg_received);
		out->msg_sent += pcount_get(&ms->msg_sent);
		for (int c = 0; c < RPC_STAT_NCODES; c++)
			out->handled[c] += pcount_get(&ms->handled[c]);
		for (int b = 0; b <= RPC_STAT_NBOUNDS; b++)
			out->buckets[b] += pcount_get(&ms->buckets[b]);
		out->sum_ns += pcount_get(&ms->sum_ns);
	}
}

int rpc_server_draining(const rpc_server *srv)
{
	return atomic_load(&((rpc_server *)srv)->draining);
}

uint32_t rpc_server_connections(const rpc_server *srv)
{
	return atomic_load(&((rpc_server *)srv)->nconns);
}

void rpc_server_free(rpc_server *srv)
{
	if (!srv)
		return;
	rpc_server_wait(srv);
	for (int i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];
		struct rpc_task *t = w->tasks;
		while (t) {
			struct rpc_task *n = t->next;
			if (t->owned)
				free(t);
			t = n;
		}
		uv_mutex_destroy(&w->task_lock);
		free(w->mstats);
	}
	free(srv->workers);
	unix_listener_close(srv);
	for (size_t i = 0; i < srv->nmethods; i++)
		free(srv->methods[i].path);
	free(srv->methods);
	if (srv->ssl_ctx)
		SSL_CTX_free(srv->ssl_ctx);
	nghttp2_session_callbacks_del(srv->cbs);
	nghttp2_option_del(srv->h2opt);
	free(srv);
}

/* ---- in-memory connections (server.h: fuzz targets and tests) ---- */

struct rpc_memconn {
	struct worker *w;
	int input_done;             /* the connection refused input */
	rpc_memconn_output_fn output;
	void *output_ud;
};

static void memconn_sink(h2io *io, const uint8_t *p, size_t n)
{
	rpc_memconn *mc = io->sink_ud;

	if (mc->output)
		mc->output(p, n, mc->output_ud);
}

rpc_code rpc__memconn_open(rpc_server *srv, rpc_memconn_output_fn output,
			   void *ud, rpc_memconn **out)
{
	rpc_memconn *mc;
	struct worker *w;
	struct conn *c;

	if (srv->nworkers || srv->started || srv->ssl_ctx || srv->opts.threads != 1)
		return RPC_E_INVALID;
	mc = calloc(1, sizeof(*mc));
	c = calloc(1, sizeof(*c));
	srv->workers = calloc(1, sizeof(*srv->workers));
	if (!mc || !c || !srv->workers) {
		free(mc);
		free(c);
		free(srv->workers);
		srv->workers = NULL;
		return RPC_E_NOMEM;
	}
	w = &srv->workers[0];
	worker_init(srv, w, 0);
	srv->nworkers = 1;
	current_worker = 0;
	mc->w = w;
	mc->output = output;
	mc->output_ud = ud;

	/* What on_connection does for an accepted socket, minus the socket:
	 * the handle is never opened, only closed. */
	c->w = w;
	uv_tcp_init(&w->loop, &c->sock.tcp);
	c->sock.tcp.data = c;
	atomic_fetch_add(&srv->nconns, 1);
	snprintf(c->peer, sizeof(c->peer), "memory");
	c->opened_ms = c->last_read_ms = uv_now(&w->loop);
	h2io_init(&c->io, &c->sock.stream, NULL, OUT_HIGH_WATER);
	c->io.on_written = on_written;
	c->io.sink = memconn_sink;
	c->io.sink_ud = mc;
	w->conns = c;
	if (conn_setup_h2(c) < 0) {
		conn_close(c);
		mc->input_done = 1;
	} else {
		conn_mark_dirty(c); /* our SETTINGS go out at once */
	}
	uv_run(&w->loop, UV_RUN_NOWAIT);
	*out = mc;
	return RPC_OK;
}

int rpc__memconn_feed(rpc_memconn *mc, const uint8_t *p, size_t n)
{
	struct worker *w = mc->w;
	struct conn *c = w->conns;

	if (!c || c->closing > 1 || mc->input_done)
		return -1;
	if (n && conn_input(c, p, n) < 0)
		mc->input_done = 1;
	uv_run(&w->loop, UV_RUN_NOWAIT);
	return w->conns && !mc->input_done ? 0 : -1;
}

void rpc__memconn_close(rpc_memconn *mc)
{
	struct worker *w = mc->w;

	/* The client hung up (as on_read sees EOF), then the worker stops as
	 * a worker thread does at the end of its loop. */
	if (w->conns)
		conn_close(w->conns);
	uv_run(&w->loop, UV_RUN_NOWAIT);
	worker_finish(w);
	current_worker = -1;
	free(mc);
}
