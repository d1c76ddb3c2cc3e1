/*
 * Private: what governd's governance handlers share — the store, the
 * transport, and the machinery that carries a write from a handler to the
 * store's writer thread and its result back to the call's loop.
 */
#ifndef VCLI_SERVER_GOV_H
#define VCLI_SERVER_GOV_H

#include "governance.pb-c.h"
#include "rpc/server.h"
#include "store/store.h"

struct gov {
	store *st;
	rpc_server *srv;
	uint32_t heartbeat_ms;    /* StreamEvents heartbeat period */
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
	uint8_t *decision;        /* copy of op.decision (outputs die in done) */
	size_t decision_len;
	char *strings[8];         /* copies of request strings the op points to */
	int nstrings;
	uint8_t *proposal;        /* SUBMIT's packed proposal */
};

/* Makes a write for call; respond runs later on the call's loop. */
struct gov_write *gov_write_new(struct gov *g, rpc_call *call, store_op_kind kind,
				gov_respond_fn respond);
/* Copies s into the write (NULL stays NULL); returns the copy. */
const char *gov_write_str(struct gov_write *w, const char *s);
/* Queues the write to the store. */
void gov_write_start(struct gov_write *w);

/* The gRPC status for a store result. */
int gov_status(store_code rc);

/* Finishes call with the store result's status and message. */
void gov_fail(rpc_call *call, store_code rc, const char *message);

/* Handlers (one file per area). */
void gov_submit(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_list(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_get(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_approve(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_reject(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_escalate(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_create_session(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_close_session(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_get_metrics(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_get_session_stats(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_stream_decisions(rpc_call *call, const ProtobufCMessage *req, void *ud);
void gov_stream_events(rpc_call *call, const ProtobufCMessage *req, void *ud);

/* Streams: set up once (the event hook), and the per-loop fan-out. */
int gov_streams_init(struct gov *g);
void gov_streams_release(void);

#endif
