/*
 * Private: what governd's governance handlers share — the store, the
 * transport, and the machinery that carries a write from a handler to the
 * store's writer thread and its result back to the call's loop.
 */
#ifndef VCLI_SERVER_GOV_H
#define VCLI_SERVER_GOV_H

#include <stdatomic.h>

#include "governance.pb-c.h"
#include "rpc/server.h"
#include "server/auth.h"
#include "store/store.h"

struct gov_write;

/* Writes made and freed on one worker loop, kept for its next ones: a
 * write is ~2 KiB, past glibc's per-thread cache, and each malloc of it
 * went through the bins and consolidated the fast ones (21 % of a
 * worker's time under approvals went to malloc and free). */
struct gov_write_cache {
	struct gov_write *free;
	unsigned n;
};

struct gov {
	store *st;
	rpc_server *srv;
	_Atomic uint32_t heartbeat_ms; /* StreamEvents heartbeat period; SIGHUP may change it */
	struct gov_write_cache *wcache; /* one per worker loop (rpc_server_workers) */
	int nwcache;
};

/* A write in flight.  Lives from the handler until its result has been
 * answered (or dropped, when the call was cancelled meanwhile) on the
 * call's loop. */
struct gov_write;
typedef void (*gov_respond_fn)(struct gov_write *w, rpc_call *call);

struct gov_write {
	store_op op;              /* handed to the store */
	struct gov *g;
	rpc_call *call;           /* NULL once the call was cancelled */
	int worker;
	gov_respond_fn respond;   /* on the loop, when op.result is known */
	uint8_t *decision;        /* copy of op.decision (outputs die in done):
				     dbuf, or malloc'd when larger */
	size_t decision_len;
	rpc_task task;            /* the answer's way back to the call's loop */
	char *strings[8];         /* copies of request strings the op points to
				     that did not fit in sbuf */
	int nstrings;
	size_t sused;             /* of sbuf */
	uint8_t *proposal;        /* SUBMIT's packed proposal */
	struct gov_write *next_free;  /* in its worker's gov_write_cache */
	/* Left uninitialised by gov_write_new (they are filled as used):
	 * copies of request strings (gov_write_str), and the decision the
	 * writer thread hands back (what it allocated a worker would free,
	 * and such frees lock the writer's malloc arena). */
	char sbuf[256];
	uint8_t dbuf[1024];
};

/* Sets up the per-worker caches of writes (after rpc_server_new);
 * -1 when memory runs out. */
int gov_write_caches_init(struct gov *g);
/* Frees them (the workers have stopped). */
void gov_write_caches_release(struct gov *g);

/* Makes a write for call; respond runs later on the call's loop. */
struct gov_write *gov_write_new(struct gov *g, rpc_call *call, store_op_kind kind,
				gov_respond_fn respond);
/* Copies s into the write (NULL stays NULL); returns the copy. */
const char *gov_write_str(struct gov_write *w, const char *s);
/* Queues the write to the store. */
void gov_write_start(struct gov_write *w);

/* Frees a write that was never started (NULL is a no-op). */
void gov_write_discard(struct gov_write *w);

/* Sets the write's actor from who (nothing when governd runs without
 * authentication).  -1 when memory runs out. */
int gov_write_actor(struct gov_write *w, const struct auth_principal *who);

/*
 * Refuses call by a rule: PERMISSION_DENIED with "<rule>: <why>" once the
 * refusal is in the audit trail (as action on subject, by who).
 */
void gov_refuse(rpc_call *call, struct gov *g, const struct auth_principal *who,
		const char *action, const char *subject, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* The gRPC status for a store result. */
int gov_status(store_code rc);

/* Finishes call with the store result's status and message. */
void gov_fail(rpc_call *call, store_code rc, const char *message);

/*
 * Handlers (one file per area).  The method table (governance.c) checks
 * the caller's credential and role before a handler runs; who is the
 * caller (who->authenticated is 0 when governd runs without
 * authentication).
 */
typedef void (*gov_handler_fn)(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			       const struct auth_principal *who);

void gov_submit(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		const struct auth_principal *who);
void gov_list(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
	      const struct auth_principal *who);
void gov_get(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
	     const struct auth_principal *who);
void gov_approve(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		 const struct auth_principal *who);
void gov_reject(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		const struct auth_principal *who);
void gov_escalate(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		  const struct auth_principal *who);
void gov_record_execution(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			  const struct auth_principal *who);
void gov_create_session(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			const struct auth_principal *who);
void gov_close_session(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		       const struct auth_principal *who);
void gov_get_metrics(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		     const struct auth_principal *who);
void gov_get_session_stats(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			   const struct auth_principal *who);
void gov_stream_decisions(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			  const struct auth_principal *who);
void gov_stream_events(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		       const struct auth_principal *who);
void gov_create_token(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		      const struct auth_principal *who);
void gov_list_tokens(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		     const struct auth_principal *who);
void gov_revoke_token(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		      const struct auth_principal *who);
void gov_list_audit(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		    const struct auth_principal *who);
void gov_export_audit(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		      const struct auth_principal *who);

/* Streams: set up once (the event hook), and the per-loop fan-out. */
int gov_streams_init(struct gov *g);
void gov_streams_release(void);
/* Stream subscribers now, summed over the loops (any thread). */
void gov_stream_subscribers(unsigned *decisions, unsigned *events);

#endif
