/*
 * vcli client library: calls to a governd (or any gRPC server) over HTTP/2.
 *
 * One vcli_client is one connection to one endpoint.  Many calls share it
 * concurrently (HTTP/2 streams).  The connection is opened lazily by the first
 * call and re-opened by a later call after it drops, so a client that lives
 * long survives server restarts.
 *
 * Threading: a client and everything done with it belong to the thread that
 * drives its event loop.  The synchronous calls drive the loop themselves
 * until their call ends; the asynchronous calls return at once and complete
 * from vcli_client_run().  Use one client per thread.
 *
 * Many connections on one thread: give each client the same libuv loop
 * (vcli_client_options.loop) and run that loop yourself.  Such clients
 * make only asynchronous calls; their callbacks run from your uv_run().
 * This is how a load generator drives hundreds of connections from one
 * thread without a thread (and a loop) per connection.
 *
 * Resilience (docs/client.md): a failed connection attempt delays the next
 * one (exponential back-off with full jitter); a call the caller marks
 * retry-safe is retried on UNAVAILABLE within its deadline; a circuit
 * breaker fails calls fast while the server is down and lets one probe
 * through after a cool-down.  All three are on by default and each has an
 * off-switch in vcli_client_options.  Their state belongs to the client,
 * hence to its loop's thread, like everything else here: no locks.
 *
 * Signals: the library writes to sockets with write(2) (through libuv), so
 * a connection the server dropped raises SIGPIPE.  Ignore SIGPIPE in a
 * process that uses it (vcli does), or that signal ends the process
 * instead of the call failing UNAVAILABLE (and being retried).
 *
 * Messages are passed as serialized protobuf bytes, so the library does not
 * tie callers to any particular protobuf runtime.  vcli_client_health() and
 * vcli_client_record_execution() are typed conveniences for the governance
 * service's HealthCheck and RecordExecution.
 */
#ifndef VCLI_CLIENT_H
#define VCLI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "vcli/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Library result codes (not gRPC statuses: those come in vcli_call_result). */
typedef enum vcli_code {
	VCLI_OK = 0,
	VCLI_E_INVALID = 1,  /* a bad argument or option */
	VCLI_E_NOMEM = 2,
	VCLI_E_TLS = 3,      /* TLS set-up failed (certificate, key, CA) */
	VCLI_E_RESOLVE = 4,  /* the endpoint's host does not resolve */
	VCLI_E_BUSY = 5,     /* too many calls in flight on this client */
} vcli_code;

const char *vcli_strerror(vcli_code code);

typedef struct vcli_client vcli_client;

/* libuv's loop type (uv_loop_t), declared here so that callers who do not
 * share a loop need not include uv.h. */
struct uv_loop_s;

/*
 * An exponential back-off with full jitter: the n-th wait (n from 1) is
 * drawn uniformly from [0, min(max_ms, initial_ms * multiplier^(n-1))].
 * A field left 0 takes the default of where the back-off is used.
 */
typedef struct vcli_backoff {
	uint32_t initial_ms;
	uint32_t max_ms;
	double multiplier;           /* at least 1 */
} vcli_backoff;

/* The bit of a status code in vcli_retry_policy.retry_codes. */
#define VCLI_RETRY_CODE(status) (1u << (status))

/*
 * Retries of a call the caller marked retry-safe (vcli_call_options): only
 * unary calls, never DEADLINE_EXCEEDED (the call's own deadline bounds all
 * of its attempts and ends it).  A new call the open circuit refuses fails
 * fast; one already sent when the circuit opened waits for the cool-down
 * and goes as (or after) the probe, within its deadline.
 */
typedef struct vcli_retry_policy {
	uint32_t max_attempts;       /* the first included; 0: 4; 1: no retries */
	vcli_backoff backoff;        /* between attempts; 0s: 100 ms, x2, 5 s */
	uint32_t retry_codes;        /* VCLI_RETRY_CODE() bits; 0: UNAVAILABLE */
} vcli_retry_policy;

/*
 * The circuit breaker.  A transport failure is a connection attempt that
 * failed (refused, reset, timed out before the server's HTTP/2 settings),
 * a connection lost with calls on it, or a call the server ended with
 * UNAVAILABLE.  Any other answer from the server is a success.  After
 * threshold failures in a row the circuit opens: calls end at once with
 * UNAVAILABLE ("circuit open ...; next probe in ...").  After cooldown_ms
 * the next call goes through as a probe (half-open; the others still fail
 * fast); its success closes the circuit, its failure opens it again.
 */
typedef struct vcli_breaker_policy {
	uint32_t threshold;          /* 0: 5 */
	uint32_t cooldown_ms;        /* 0: 5000 */
	int off;                     /* 1: no breaker */
} vcli_breaker_policy;

typedef struct vcli_client_options {
	const char *endpoint;        /* "host:port", "[v6addr]:port", or a
					"unix:PATH" / "unix:///ABS" socket
					(:authority "localhost"); required */
	int tls;                     /* 1: TLS with ALPN h2 */
	const char *tls_ca_file;     /* PEM bundle; NULL: the system's */
	const char *tls_cert_file;   /* client certificate (mTLS), PEM */
	const char *tls_key_file;    /* its private key, PEM */
	const char *tls_server_name; /* SNI and verified name; NULL: the host */
	uint32_t connect_timeout_ms; /* 0: 5000 */
	uint32_t max_recv_size;      /* largest response message; 0: 4 MiB */
	int gzip;                    /* 1: compress request messages */
	const char *user_agent;      /* NULL: "vcli/<version>" */
	/*
	 * NULL (the default): the client makes, runs and closes its own loop.
	 * Otherwise the caller's loop, which the caller runs (uv_run) and
	 * closes only after every client on it is freed and the loop has run
	 * once more to finish their closes.  On such a client the synchronous
	 * calls (vcli_client_unary, vcli_client_stream, vcli_client_health)
	 * return VCLI_E_INVALID and vcli_client_run() does nothing: only
	 * vcli_client_unary_async() is for it.  vcli_client_free() may be
	 * called from one of the loop's callbacks (not from one of this
	 * client's own on_done callbacks).
	 */
	struct uv_loop_s *loop;
	/*
	 * After a connection attempt fails, the next one waits a back-off
	 * (gRPC's connection-backoff; 0s: 1 s, x1.6, 120 s): a call started
	 * meanwhile ends at once with UNAVAILABLE ("...; next attempt in N
	 * ms"), or, if retry-safe, waits for that attempt.  A connection that
	 * got the server's settings resets it.  reconnect_off: 1 dials again
	 * for every call, as before.
	 */
	vcli_backoff reconnect;
	int reconnect_off;
	vcli_retry_policy retry;
	vcli_breaker_policy breaker;
} vcli_client_options;

void vcli_client_options_init(vcli_client_options *opts);

/*
 * Makes a client.  Nothing touches the network until the first call.
 * On failure returns a code and, when err is not NULL, a message in err.
 * The caller owns *out and releases it with vcli_client_free().
 */
vcli_code vcli_client_new(const vcli_client_options *opts, vcli_client **out,
			  char *err, size_t errlen);

/* Cancels every call still in flight (their callbacks run with CANCELLED),
 * closes the connection and frees the client.  NULL is a no-op. */
void vcli_client_free(vcli_client *client);

/* One metadata entry.  Keys are lower case; a key ending in "-bin" carries
 * binary bytes (the library base64-encodes them on the wire). */
typedef struct vcli_metadata {
	const char *key;
	const uint8_t *value;
	size_t value_len;
} vcli_metadata;

typedef struct vcli_call_options {
	uint32_t deadline_ms;          /* 0: no deadline; bounds every attempt */
	const vcli_metadata *metadata; /* sent with the request */
	size_t metadata_count;
	/*
	 * 1: the call may be sent again (vcli_client_options.retry): it is
	 * idempotent (a read), or a write the server deduplicates (a request
	 * id, an idempotency key).  The library cannot know; 0 (the default)
	 * is never retried, except the transparent retry of a stream the
	 * server refused unseen.
	 */
	int retry_safe;
} vcli_call_options;

/* How a call ended.  message is the server's grpc-message (decoded) or the
 * library's own account of a local failure. */
typedef struct vcli_call_result {
	int status;              /* vcli_status_code */
	char message[512];
	/* Times the call was sent (or a connection dialled for it): 0 when it
	 * failed fast (circuit open, reconnect back-off), more than 1 after
	 * retries. */
	uint32_t attempts;
} vcli_call_result;

/* A response buffer the library fills.  Release with vcli_bytes_release(). */
typedef struct vcli_bytes {
	uint8_t *data;
	size_t len;
} vcli_bytes;

void vcli_bytes_release(vcli_bytes *b);

/*
 * Synchronous unary call.  method is the full path
 * ("/vertice.governance.v1.GovernanceService/HealthCheck").  On return
 * result->status is OK and *response holds the message, or it holds the
 * error.  Returns a vcli_code for misuse only (bad arguments); every network
 * or server failure is a status in result.
 */
vcli_code vcli_client_unary(vcli_client *client, const char *method,
			    const uint8_t *request, size_t request_len,
			    vcli_bytes *response,
			    const vcli_call_options *opts,
			    vcli_call_result *result);

/*
 * Synchronous server-streaming call.  on_message runs for each response
 * message; returning non-zero from it cancels the call (the result is then
 * CANCELLED).  Returns when the stream ends.
 */
typedef int (*vcli_message_fn)(void *ud, const uint8_t *msg, size_t len);

vcli_code vcli_client_stream(vcli_client *client, const char *method,
			     const uint8_t *request, size_t request_len,
			     vcli_message_fn on_message, void *ud,
			     const vcli_call_options *opts,
			     vcli_call_result *result);

/*
 * Asynchronous unary call.  Returns at once; on_done runs exactly once, from
 * vcli_client_run() (or from vcli_client_free() with CANCELLED).  The
 * response bytes passed to on_done are valid only during the callback.
 */
typedef void (*vcli_done_fn)(void *ud, const vcli_call_result *result,
			     const uint8_t *response, size_t len);

vcli_code vcli_client_unary_async(vcli_client *client, const char *method,
				  const uint8_t *request, size_t request_len,
				  const vcli_call_options *opts,
				  vcli_done_fn on_done, void *ud);

/*
 * Opens the connection now, rather than with the first call, and runs
 * on_done once it is ready (status OK; no response bytes) or has failed
 * (UNAVAILABLE, or DEADLINE_EXCEEDED after opts->deadline_ms).  With a
 * connection already ready, on_done runs before this returns.  Metadata
 * in opts is ignored.  A load generator uses it to connect before its
 * clock starts.
 */
vcli_code vcli_client_connect_async(vcli_client *client,
				    const vcli_call_options *opts,
				    vcli_done_fn on_done, void *ud);

/* Drives the client's event loop.  VCLI_RUN_ONCE blocks for at least one
 * event; VCLI_RUN_NOWAIT polls; VCLI_RUN_DEFAULT runs until no call is in
 * flight.  Returns the number of calls still in flight.  A client on the
 * caller's loop (vcli_client_options.loop) is never run from here. */
typedef enum vcli_run_mode {
	VCLI_RUN_DEFAULT = 0,
	VCLI_RUN_ONCE = 1,
	VCLI_RUN_NOWAIT = 2,
} vcli_run_mode;

int vcli_client_run(vcli_client *client, vcli_run_mode mode);

/* Number of calls in flight. */
int vcli_client_inflight(const vcli_client *client);

/* The circuit breaker's state, for dashboards and tests. */
typedef enum vcli_circuit_state {
	VCLI_CIRCUIT_CLOSED = 0,
	VCLI_CIRCUIT_OPEN = 1,
	VCLI_CIRCUIT_HALF_OPEN = 2, /* cooled down: the next call probes */
} vcli_circuit_state;

typedef struct vcli_circuit_info {
	vcli_circuit_state state;
	uint32_t failures;           /* transport failures in a row */
	uint32_t probe_in_ms;        /* OPEN: until the next probe may go */
	uint32_t reconnect_in_ms;    /* until the next connection attempt */
} vcli_circuit_info;

void vcli_client_circuit(vcli_client *client, vcli_circuit_info *info);

/* The governance service's HealthCheck, typed. */
typedef struct vcli_health {
	int healthy;
	char status[64];
	int64_t uptime_seconds;
} vcli_health;

vcli_code vcli_client_health(vcli_client *client,
			     const vcli_call_options *opts,
			     vcli_health *health, vcli_call_result *result);

/*
 * The governance service's RecordExecution, typed: what came of carrying
 * out recommended action action_index (of type action_type) of an
 * approved decision, recorded on it by the operator of session_id (docs/
 * governance.md).  detail says what happened (or the error), target where
 * ("context kind-prod, cluster https://..."); NULL strings are empty.
 */
typedef struct vcli_execution {
	const char *action_type;     /* "k8s.scale"; required */
	int32_t action_index;        /* index in the decision's recommended_actions */
	int succeeded;
	const char *detail;          /* at most 4096 bytes */
	const char *target;          /* one line, at most 512 bytes */
} vcli_execution;

/* The answer to a recorded execution (or to the retry of one). */
typedef struct vcli_execution_result {
	char message[256];           /* "execution of k8s.scale recorded on ..." */
	int64_t processed_at_ms;     /* when it was recorded */
	vcli_bytes decision;         /* the packed Decision with the record;
					release with vcli_bytes_release() */
} vcli_execution_result;

/*
 * Records ex on decision_id.  request_id (NULL or "": none) makes the
 * call safe to repeat: the server answers a retry with the first outcome,
 * so with one the library retries it on UNAVAILABLE (the retry policy of
 * vcli_client_options; opts->retry_safe is ignored).  Prefer ids that
 * grow with time (a UUIDv7): governd indexes them, and random ones cost
 * it a page write each (docs/governance.md).  Like the other
 * calls, returns a vcli_code for misuse only (VCLI_E_INVALID for a NULL
 * client, session, decision, ex, out or result); the call's status is in
 * result, and out is filled when it is OK.  A failed call leaves
 * out->decision empty.
 */
vcli_code vcli_client_record_execution(vcli_client *client,
				       const vcli_call_options *opts,
				       const char *session_id,
				       const char *decision_id,
				       const vcli_execution *ex,
				       const char *request_id,
				       vcli_execution_result *out,
				       vcli_call_result *result);

/*
 * A fresh request id for the writes that take one (approve, reject,
 * escalate, RecordExecution): prefix (NULL: none; at most
 * VCLI_REQUEST_ID_PREFIX_MAX bytes), then 32 hex digits, the first 12 the
 * wall clock in milliseconds and the other 20 random.  Ids made this way
 * sort by time, which is what governd's index of them wants: random ids
 * (a UUIDv4) cost it a page write each (docs/governance.md).  outlen must
 * hold the prefix, 32 digits and the NUL (VCLI_REQUEST_ID_MAX is enough
 * for any prefix); VCLI_E_INVALID otherwise, or for a NULL out.
 * Thread-safe.
 */
#define VCLI_REQUEST_ID_PREFIX_MAX 64
#define VCLI_REQUEST_ID_MAX (VCLI_REQUEST_ID_PREFIX_MAX + 32 + 1)
vcli_code vcli_request_id(const char *prefix, char *out, size_t outlen);

/* The library's version string ("0.1.0"). */
const char *vcli_version(void);

#ifdef __cplusplus
}
#endif
#endif
