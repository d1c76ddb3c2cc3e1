/*
 * Private: the server half of vcli's gRPC transport.
 *
 * A server owns N worker threads.  Each worker runs its own libuv loop with
 * its own listening socket on the same address (SO_REUSEPORT), so the kernel
 * spreads connections and a connection lives on one thread end to end: no
 * locks on the request path.
 *
 * Services are registered from protobuf-c service descriptors plus a table
 * of rows {method name, kind, handler}.  The transport decodes the request
 * with the method's input descriptor, calls the handler on the connection's
 * loop thread, and encodes whatever the handler sends with the output
 * descriptor.  Methods of a registered service without a row, and unknown
 * paths, answer UNIMPLEMENTED.
 */
#ifndef VCLI_RPC_SERVER_H
#define VCLI_RPC_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "vcli/status.h"

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;

typedef enum rpc_method_kind {
	RPC_UNARY = 0,
	RPC_SERVER_STREAMING = 1,
	RPC_CLIENT_STREAMING = 2,
	RPC_BIDI_STREAMING = 3,
} rpc_method_kind;

/*
 * A handler owns the call from the moment it is invoked until it calls
 * rpc_call_finish(), or until the transport runs its cancel callback
 * (deadline, client RST_STREAM, connection loss, shutdown): after the cancel
 * callback returns, the call is gone and the handler must not touch it.
 * request is valid until the call ends.
 */
typedef void (*rpc_handler_fn)(rpc_call *call, const ProtobufCMessage *request,
			       void *service_ud);

typedef struct rpc_method_row {
	const char *name;        /* as in the .proto: "HealthCheck" */
	rpc_method_kind kind;
	rpc_handler_fn handler;
} rpc_method_row;

typedef struct rpc_server_options {
	const char *listen;            /* "host:port" (port 0 picks one),
					  "unix:PATH", or one of each: "A,B"
					  (common/netaddr.h) */
	int threads;                   /* worker loops; 0: number of CPUs */
	const char *tls_cert_file;     /* PEM; with tls_key_file turns TLS on
					  for TCP connections (a Unix socket's
					  are cleartext: its mode guards it) */
	const char *tls_key_file;
	const char *tls_client_ca_file;/* require and verify client certs */
	uint32_t max_recv_size;        /* per message, after decompression */
	uint32_t max_concurrent_streams;
	uint32_t initial_window_size;  /* per stream */
	uint32_t connection_window_size;
	uint32_t max_header_list_size;
	uint32_t max_connections;      /* whole server */
	uint32_t keepalive_time_ms;    /* PING after this much silence */
	uint32_t keepalive_timeout_ms; /* close when the PING gets no ACK */
	uint32_t keepalive_min_time_ms;/* clients may PING at most this often */
	int keepalive_permit_without_calls;
	uint32_t handshake_timeout_ms; /* preface (and TLS) must finish by then */
	uint32_t idle_timeout_ms;      /* close connections idle this long; 0 off */
	uint32_t grace_ms;             /* shutdown grace for in-flight calls */
	uint32_t default_deadline_ms;  /* unary calls sent without grpc-timeout
					  end DEADLINE_EXCEEDED after this; 0 off */
} rpc_server_options;

void rpc_server_options_init(rpc_server_options *opts);

typedef enum rpc_code {
	RPC_OK = 0,
	RPC_E_INVALID,   /* bad option value */
	RPC_E_NOMEM,
	RPC_E_ADDR,      /* listen address does not parse or resolve */
	RPC_E_BIND,      /* bind/listen failed */
	RPC_E_TLS,       /* certificate, key or CA could not be loaded */
	RPC_E_THREAD,
} rpc_code;

const char *rpc_strerror(rpc_code code);

/* Makes a server; nothing listens until rpc_server_start().  err gets a
 * human message on failure.  Release with rpc_server_free(). */
rpc_code rpc_server_new(const rpc_server_options *opts, rpc_server **out,
			char *err, size_t errlen);

/* Registers a service.  Every row must name a method of desc and no method
 * may be registered twice; a mismatch is a programming error reported as
 * RPC_E_INVALID.  desc and rows must outlive the server. */
rpc_code rpc_server_add_service(rpc_server *srv,
				const ProtobufCServiceDescriptor *desc,
				const rpc_method_row *rows, size_t nrows,
				void *service_ud);

/* Binds and starts the workers.  The bound address (with the real port
 * when 0 was asked) is written to bound (may be NULL). */
rpc_code rpc_server_start(rpc_server *srv, char *bound, size_t boundlen,
			  char *err, size_t errlen);

/*
 * Begins graceful shutdown; thread-safe and idempotent.  Listeners close,
 * every connection gets GOAWAY, calls in flight get grace_ms to finish, then
 * whatever is left ends with UNAVAILABLE.  Long-lived server streams are
 * told at once through the on_shutdown hook of rpc_server_set_shutdown_fn.
 */
void rpc_server_shutdown(rpc_server *srv);

/* Blocks until every worker has stopped (after shutdown). */
void rpc_server_wait(rpc_server *srv);

void rpc_server_free(rpc_server *srv);

/* 1 while shutting down. */
int rpc_server_draining(const rpc_server *srv);

/* Number of connections open now (all workers). */
uint32_t rpc_server_connections(const rpc_server *srv);

/*
 * Runs fn on every worker loop thread, once, with that loop (thread-safe).
 * Used to tell per-loop state about a change (health status, say).
 */
void rpc_server_broadcast(rpc_server *srv, void (*fn)(uv_loop_t *, void *),
			  void *ud);

/* Number of worker loops (known from rpc_server_new on), and the index
 * (0..n-1) of the one running now (-1 when called from another thread). */
int rpc_server_workers(const rpc_server *srv);
int rpc_server_current_worker(const rpc_server *srv);

/* Runs fn(loop, ud) once on worker `index` (thread-safe): how work done
 * elsewhere (the store's writer thread) hands results back to a call's
 * loop.  After that worker has stopped, fn runs at once on the calling
 * thread with loop NULL, so that whatever ud owns can still be freed. */
void rpc_server_post(rpc_server *srv, int index, void (*fn)(uv_loop_t *, void *),
		     void *ud);

/*
 * The same with a task the caller owns (a member of its own struct), so
 * that nothing is allocated: the store's writer thread posts one per
 * answer, and a block it allocated but a worker freed would cost both
 * threads a lock of the writer's malloc arena.  Set fn and ud; the rest is
 * the server's.  t must stay valid until fn has started (fn may free it).
 */
typedef struct rpc_task {
	void (*fn)(uv_loop_t *, void *);
	void *ud;
	struct rpc_task *next;
	int owned;                 /* the server's: allocated by rpc_server_post */
} rpc_task;

void rpc_server_post_task(rpc_server *srv, int index, rpc_task *t);

/*
 * ---- call statistics ----
 *
 * Each worker counts the calls of its own connections, per method, in
 * memory only it writes (common/pcount.h): nothing shared, locked or
 * atomically incremented on the call path.  A reader on any thread sums
 * the workers' counts.  A call is counted from the moment its method is
 * known and the server is not draining (the calls a gRPC server's
 * interceptors see): unknown methods and calls refused at shutdown are not.
 */
#define RPC_STAT_NCODES 17      /* gRPC status codes 0..16 */
#define RPC_STAT_NBOUNDS 11     /* handling-time buckets below */

/* Handling-time bucket upper bounds in nanoseconds (the go-grpc-prometheus
 * defaults: 5 ms .. 10 s); a 12th bucket holds everything slower. */
extern const uint64_t rpc_stat_bounds_ns[RPC_STAT_NBOUNDS];

typedef struct rpc_method_stats {
	uint64_t started;         /* calls begun */
	uint64_t msg_received;    /* request messages received */
	uint64_t msg_sent;        /* response messages sent */
	uint64_t handled[RPC_STAT_NCODES];  /* calls ended, by status code */
	uint64_t buckets[RPC_STAT_NBOUNDS + 1];  /* by handling time; not
						    cumulative */
	uint64_t sum_ns;          /* total handling time */
} rpc_method_stats;

/* Number of registered methods (implemented or not). */
size_t rpc_server_nmethods(const rpc_server *srv);

/* Method i's path ("/pkg.Service/Method") and kind; 0, or -1 when i is out
 * of range or the method has no handler (never counted). */
int rpc_server_method_info(const rpc_server *srv, size_t i, const char **path,
			   rpc_method_kind *kind);

/* Method i's counts summed over the workers (any thread; zeros before
 * rpc_server_start). */
void rpc_server_method_stats(const rpc_server *srv, size_t i, rpc_method_stats *out);

/* ---- calls, for handlers (loop thread only) ---- */

/* Sends one response message.  For unary calls send once, then finish OK.
 * Returns 0, or -1 when the call can no longer send (it is ending). */
int rpc_call_send(rpc_call *call, const ProtobufCMessage *msg);

/* Sends the response headers now (a stream that may wait long for its
 * first message shows the client it is established).  No-op once sent. */
void rpc_call_send_headers(rpc_call *call);

/* Sends one response message that is already packed protobuf bytes (of
 * the method's output type).  Same rules as rpc_call_send. */
int rpc_call_send_raw(rpc_call *call, const uint8_t *msg, size_t len);

/* Ends the call with a status and an optional message (plain text; the
 * transport percent-encodes it).  The call is gone after this returns. */
void rpc_call_finish(rpc_call *call, int status, const char *message);

/* printf-style message. */
void rpc_call_finishf(rpc_call *call, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Registers the cancel callback (see rpc_handler_fn).  reason is the status
 * the call will end with: CANCELLED, DEADLINE_EXCEEDED or UNAVAILABLE. */
typedef void (*rpc_cancel_fn)(rpc_call *call, int reason, void *ud);
void rpc_call_on_cancel(rpc_call *call, rpc_cancel_fn fn, void *ud);

/* Request metadata by lower-case key; for "-bin" keys the decoded bytes.
 * Returns NULL when absent.  The pointer is valid until the call ends. */
const uint8_t *rpc_call_metadata(const rpc_call *call, const char *key,
				 size_t *len);

/* Adds response metadata (sent with the response headers, so only before
 * the first rpc_call_send).  Returns -1 when headers are already out. */
int rpc_call_add_metadata(rpc_call *call, const char *key,
			  const uint8_t *value, size_t len);

/* Full method path ("/pkg.Service/Method"). */
const char *rpc_call_method(const rpc_call *call);

/* The row the call's method was registered with (rpc_server_add_service),
 * so that a service can keep per-method data beside its rows. */
const rpc_method_row *rpc_call_row(const rpc_call *call);

/* The identity in the client's verified certificate (subject CN, else the
 * first DNS, URI or e-mail SAN; see tls_conn_peer_identity), or NULL: no
 * TLS, no certificate, or no clean name in it.  Valid until the call ends. */
const char *rpc_call_peer_identity(const rpc_call *call);

/* "ip:port" of the client ("unix:pid=P,uid=U" on a Unix socket). */
const char *rpc_call_peer(const rpc_call *call);

/* On a Unix socket, the user id the client process had when it connected
 * (SO_PEERCRED: set by the kernel, not by the client): 0 with *uid set.
 * -1 on TCP, or when the kernel did not say. */
int rpc_call_peer_uid(const rpc_call *call, uid_t *uid);

/* Absolute deadline in uv_now() milliseconds; 0 when the client set none. */
uint64_t rpc_call_deadline(const rpc_call *call);

/* Bytes queued for this call and not yet written to the socket: lets a
 * streaming handler bound what a slow reader costs. */
size_t rpc_call_pending_bytes(const rpc_call *call);

/* One-shot: fn runs (on the loop, outside any transport callback) once
 * everything sent so far has been handed to HTTP/2, so a streaming handler
 * can send more without queueing without bound.  Arming again replaces. */
typedef void (*rpc_drain_fn)(rpc_call *call, void *ud);
void rpc_call_on_drain(rpc_call *call, rpc_drain_fn fn, void *ud);

/* Index of the worker loop that owns the call. */
int rpc_call_worker(const rpc_call *call);

uv_loop_t *rpc_call_loop(const rpc_call *call);
rpc_server *rpc_call_server(const rpc_call *call);

/*
 * ---- internal: in-memory connections, for fuzz targets and tests ----
 *
 * One connection of srv whose input comes from the caller instead of a
 * socket, served by the real connection code (HTTP/2 session, calls,
 * handlers) on srv's single worker loop, which runs on the calling thread:
 * each feed processes the bytes and then runs the loop once without
 * waiting, so what the input asks for is answered before feed returns
 * (handlers that answer later, from another thread, are not supported).
 * srv must have threads = 1, no TLS, and never be started; it serves
 * that one connection and nothing else.  governd never calls these.
 */
typedef struct rpc_memconn rpc_memconn;

/* Receives what the server writes to the connection (may be NULL). */
typedef void (*rpc_memconn_output_fn)(const uint8_t *p, size_t n, void *ud);

/* Opens the connection (our SETTINGS are written at once).  Returns
 * RPC_E_INVALID when srv does not qualify (see above).  Release with
 * rpc__memconn_close(), then rpc_server_free(srv). */
rpc_code rpc__memconn_open(rpc_server *srv, rpc_memconn_output_fn output,
			   void *ud, rpc_memconn **out);

/* Bytes from the client, as a read from the socket would bring them.
 * Returns 0, or -1 once the connection takes no more input (a protocol
 * error, or it closed). */
int rpc__memconn_feed(rpc_memconn *mc, const uint8_t *p, size_t n);

/* The client hangs up: calls still running are cancelled, the worker loop
 * is closed, mc is freed. */
void rpc__memconn_close(rpc_memconn *mc);

#endif
