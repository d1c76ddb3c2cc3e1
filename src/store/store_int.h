/*
 * Private to src/store: what the SQLite backend (store_sqlite.c), the
 * decision encoder (blob.c), the demo data (demo.c) and the unit test share.
 * Nothing here is part of the store interface (store.h).
 */
#ifndef VCLI_STORE_INT_H
#define VCLI_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Wall-clock milliseconds since the epoch. */
int64_t store__now_ms(void);

/*
 * prefix + 32 lowercase hex digits: 12 of the time in milliseconds, then 20
 * random (80 bits from getrandom).  Time first keeps rows made together next
 * to each other in the id index; the random part keeps ids unguessable.
 */
void store__random_id(const char *prefix, char *out, size_t outlen);

/* ---- the gathering VFS (vfs_gather.c) ---- */

struct sqlite3;

/* The name of the "vcli-gather" VFS, registered on the first call: the
 * default VFS, but a connection's log writes are gathered and written when
 * SQLite syncs the log.  Only for a connection with synchronous=FULL.
 * NULL when it cannot be registered. */
const char *store__gather_vfs(void);

/* Calls fn after each sync of db's log (its duration, SQLite's result);
 * 0, or -1 when db's log is not open through the gathering VFS. */
int store__gather_on_sync(struct sqlite3 *db, void (*fn)(void *ud, uint64_t ns, int rc),
			  void *ud);

/* Transactions committed so far (group-commit checks in tests). */
uint64_t store__commits(const store *st);

/* ---- the batch cap (store_sqlite.c, the writer's) ---- */

/* What the writer learns from its batches to size the next one. */
struct store__cap {
	uint32_t last_n;          /* ops in the last batch */
	uint32_t last_seen;       /* what the last store__cap_next saw */
	uint32_t peak;            /* writes seen around the store, decaying */
	uint64_t ew_sync_ns;      /* moving averages: a sync, */
	uint64_t ew_op_ns;        /* and an op's share of the rest of a batch */
};

/* The most ops the next batch takes, with qlen queued; max_batch unless
 * the writes behave as one closed loop too large for one group (see
 * store_sqlite.c).  Updates the peak. */
uint32_t store__cap_next(struct store__cap *c, uint32_t qlen, uint32_t max_batch);

/* After a batch of n ops that took ns, sync_ns of it in syncs (0: nothing
 * was written, and nothing is learnt but n). */
void store__cap_learn(struct store__cap *c, uint32_t n, uint64_t ns, uint64_t sync_ns);

/* ---- decision blobs (blob.c) ---- */

/* What SUBMIT reads from a proposal. */
struct store__proposal {
	int rank;                 /* 0 CRITICAL .. 3 LOW */
	int64_t expires_ms;
	char *operation_type;     /* malloc'd */
	char *assigned_operator;  /* malloc'd, "" when none */
};

/*
 * Turns a proposal (packed Decision, validated by the caller) into the
 * stored decision: decision_id, status PENDING, created/expires/updated at
 * now, idempotency_key, submitted_by (NULL/"": none).  *out is malloc'd
 * (caller frees), and so are the strings of *meta
 * (store__proposal_release).  Returns 0, -1 when the proposal does not
 * decode, -2 when memory runs out.
 */
int store__blob_submit(const uint8_t *proposal, size_t len, const char *id, int64_t now_ms,
		       const char *idempotency_key, const char *submitted_by, uint8_t **out,
		       size_t *outlen, struct store__proposal *meta);

/* Decision field numbers the writer reads from a blob without decoding it. */
#define STORE__F_ESCALATED_TO 14
#define STORE__F_SUBMITTED_BY 21

/*
 * Finds top-level string field `field` of a packed Decision (the last one,
 * as a decoder would) without decoding the rest: *p and *n point into
 * blob.  Returns 1 when found, 0 when absent (*n = 0), -1 when blob is not
 * a well-formed message.
 */
int store__blob_string(const uint8_t *blob, size_t len, uint32_t field, const uint8_t **p,
		       size_t *n);
void store__proposal_release(struct store__proposal *meta);

/* A change to a stored decision.  Fields of the Decision that the change
 * owns are replaced (an empty value clears them); the others keep their
 * bytes. */
struct store__change {
	const char *status;
	int64_t now_ms;               /* updated_at */
	/* review (approve, reject, expire): history is replaced */
	int history;
	int64_t submitted_ms;
	const char *reviewed_by, *outcome, *comment, *reasoning, *request_id;
	int sla_violated;             /* expire */
	/* escalation */
	int escalate;
	const char *escalated_to, *escalation_reason, *escalated_by;
	/* execution: one ExecutionRecord appended after the ones there
	 * (executed_at is now_ms) */
	int execution;
	const char *action_type, *detail, *target, *executed_by, *exec_request_id;
	int32_t action_index;
	int succeeded;
};

/*
 * Applies change to a packed Decision written by this store (fields in
 * number order) without decoding the rest: the top-level fields are copied
 * as they are and the changed ones spliced in at their place, so the
 * result is what unpack, modify and pack would give.  *out is malloc'd.
 * Returns 0, -1 when blob is not a well-formed message, -2 on no memory.
 */
int store__blob_change(const uint8_t *blob, size_t len, const struct store__change *c,
		       uint8_t **out, size_t *outlen);

/* The Decision fields change c sets, packed (a Decision message of them
 * alone, as protobuf-c packs it) into out, which holds the length + 1
 * bytes, or only counted when out is NULL; the length. */
size_t store__blob_patch(const struct store__change *c, uint8_t *out);

/* What an execution record needs to know of a stored decision. */
struct store__exec_info {
	char *reviewed_by;        /* malloc'd; "" when none */
	char *action_type;        /* of recommended_actions[index], malloc'd;
				     NULL when index is out of range */
	size_t n_actions;         /* recommended actions */
	size_t n_executions;      /* execution records already there */
};

/*
 * Reads *info from a packed Decision (it decodes it: executions are rare).
 * Returns 0, -1 when blob does not decode, -2 on no memory; release with
 * store__exec_info_release in every case.
 */
int store__blob_exec_info(const uint8_t *blob, size_t len, int32_t index,
			  struct store__exec_info *info);
void store__exec_info_release(struct store__exec_info *info);

#endif
