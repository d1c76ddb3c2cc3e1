/*
 * Private: the governance store interface.  One file per backend:
 * store_sqlite.c (embedded, the default); store_pg.c can follow as one more
 * file behind the same functions.
 *
 * Model (docs/governance.md is the behaviour, this is the mechanism):
 * - Writes are operations (struct store_op) queued to ONE writer thread.
 *   The writer takes everything queued, runs it in ONE transaction (each op
 *   in its own savepoint, so one op's failure does not undo the others),
 *   commits with a single fsync (group commit), and only then calls each
 *   op's done() — on the writer thread.  A done() with STORE_OK means the
 *   change is durable.
 * - Open decisions (PENDING, ESCALATED) are also kept in memory, updated by
 *   the writer after each commit, so listing the queue never touches disk.
 * - Every committed change appends an event with the next sequence number
 *   (gap-free, commit order) in the same transaction.  After a commit the
 *   writer calls the event hook once with the new last sequence number.
 *
 * - Every state change, and every refusal, appends an entry to the audit
 *   trail in the same transaction, chained to the one before by a SHA-256
 *   hash (common/audit_chain.h).  The entries of a batch are hashed and
 *   written together just before its commit.
 *
 * Decisions cross this interface as packed vertice.governance.v1.Decision
 * protobuf bytes ("blobs"): the store keeps them that way, so a list answer
 * is a concatenation of stored bytes, never a re-encoding.
 *
 * Threads: store_* functions may be called from any thread unless noted.
 */
#ifndef VCLI_STORE_H
#define VCLI_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum store_code {
	STORE_OK = 0,
	STORE_E_NOTFOUND,     /* no such decision / session / operator */
	STORE_E_CONFLICT,     /* decision not open (message names its status) */
	STORE_E_DUPLICATE,    /* request id already used on another decision */
	STORE_E_SESSION,      /* session unknown or closed */
	STORE_E_INVALID,      /* bad argument (message says which) */
	STORE_E_RANGE,        /* resume point no longer retained */
	STORE_E_IO,           /* the database failed (message has SQLite's words) */
	STORE_E_NOMEM,
	STORE_E_CLOSED,       /* store shutting down */
	STORE_E_FULL,         /* the disk is full: nothing written; retry once
				 space is freed */
	STORE_E_DENIED,       /* an authorization rule refused it (the message
				 starts with the rule's name); the refusal is
				 in the audit trail, nothing else changed */
	STORE_E_BUSY,         /* max_queue writes already wait: nothing was
				 queued; retry later */
} store_code;

const char *store_strerror(store_code code);

typedef struct store store;

typedef struct store_options {
	const char *path;          /* database file; created with its directory */
	uint32_t max_batch;        /* ops per transaction at most; 0: 1024 */
	uint32_t event_retention;  /* events kept for resume; 0: 100000 */
	uint32_t max_queue;        /* writes waiting for the writer at most;
				      more get STORE_E_BUSY; 0: 16384 */
	int synchronous_full;      /* 1 (store_options_init's default): no
				      answer before an fdatasync of the log
				      covers its commit; 0: answers at commit
				      (for tests of other things only) */
	uint32_t event_ring;       /* recent events kept in memory for
				      store_events_since (older ones come from
				      the database); 0: 16384 */
	uint32_t checkpoint_pages; /* log pages that start a checkpoint (by a
				      thread of the store's, beside the
				      writer); 0: 8192 (32 MiB) */
	int tokens_only;           /* open beside a running governd to manage
				      tokens (governd token ...): nothing is
				      loaded into memory and only TOKEN_CREATE
				      and TOKEN_REVOKE run */
} store_options;

void store_options_init(store_options *o);

/* Opens (creating and migrating the schema as needed), loads the open
 * decisions into memory and starts the writer thread.  err gets a message
 * naming the path on failure. */
store_code store_open(const store_options *o, store **out, char *err, size_t errlen);

/* Stops accepting ops, lets the writer finish what is queued (their done()
 * runs), joins it and closes the database.  NULL is a no-op. */
void store_close(store *st);

/* Schema version of an open store (for logs and tests). */
int store_schema_version(const store *st);

/* ---- writes ---- */

typedef enum store_op_kind {
	STORE_OP_SUBMIT = 1,
	STORE_OP_APPROVE,
	STORE_OP_REJECT,
	STORE_OP_ESCALATE,
	STORE_OP_EXPIRE_DUE,     /* sweep every open decision past expires_at */
	STORE_OP_SESSION_OPEN,
	STORE_OP_SESSION_CLOSE,
	STORE_OP_TOKEN_CREATE,
	STORE_OP_TOKEN_REVOKE,
	STORE_OP_AUDIT,          /* a refusal decided before the store: one
				    audit entry with outcome DENIED */
	STORE_OP_EXECUTION,      /* the outcome of carrying out an approved
				    decision's recommended action: one
				    ExecutionRecord appended to it */
} store_op_kind;

/* Execution records one decision may have at most. */
#define STORE_MAX_EXECUTIONS 16

/* Token roles, as stored and as the wire spells them. */
#define STORE_ROLE_PRODUCER "producer"
#define STORE_ROLE_OPERATOR "operator"
#define STORE_ROLE_ADMIN "admin"

/* 1 for producer, operator or admin.  Inline: the request checks
 * (server/checks.c), which the fuzz targets link without a store, use it. */
static inline int store_role_valid(const char *role)
{
	return role && (strcmp(role, STORE_ROLE_PRODUCER) == 0 ||
			strcmp(role, STORE_ROLE_OPERATOR) == 0 ||
			strcmp(role, STORE_ROLE_ADMIN) == 0);
}

typedef struct store_op store_op;

struct store_op {
	store_op_kind kind;

	/* ---- inputs (the caller owns the memory until done() runs) ---- */
	const char *session_id;      /* APPROVE, REJECT, ESCALATE, EXECUTION,
					SESSION_CLOSE */
	const char *operator_id;     /* SESSION_OPEN */
	const char *decision_id;     /* APPROVE, REJECT, ESCALATE, EXECUTION */
	const char *request_id;      /* APPROVE, REJECT, ESCALATE, EXECUTION;
					NULL/"": none */
	const char *comment;         /* APPROVE, REJECT */
	const char *reasoning;       /* APPROVE, REJECT */
	const char *reason;          /* ESCALATE */
	const char *target;          /* ESCALATE: to whom; EXECUTION: where the
					action ran */
	/*
	 * EXECUTION: which recommended action (its index and action_type,
	 * which must match the decision's), whether it worked and what
	 * happened.  The decision must be APPROVED and have fewer than
	 * STORE_MAX_EXECUTIONS records (else STORE_E_CONFLICT); the store
	 * fills executed_by (the session's operator) and executed_at.  With
	 * an actor, only the operator who approved it may record
	 * (STORE_E_DENIED, rule executed-by-reviewer).  Metrics, operator
	 * stats and review histograms do not change: it is not a review.
	 */
	const char *action_type;
	int32_t action_index;
	int succeeded;
	const char *detail;
	const uint8_t *proposal;     /* SUBMIT: packed Decision, validated by the
					caller (server-owned fields empty) */
	size_t proposal_len;
	const char *idempotency_key; /* SUBMIT; NULL/"": none */

	/*
	 * Who asks, from their credential: every op.  NULL when governd runs
	 * without authentication; then the audit trail records the
	 * session's operator (reviews, sessions) or "anonymous".  With an
	 * actor, SUBMIT records it as the decision's submitted_by, and
	 * APPROVE/REJECT/ESCALATE/SESSION_CLOSE refuse (STORE_E_DENIED) a
	 * session of someone else, a decision the actor submitted, and one
	 * assigned to someone else (docs/security.md has the rules).
	 */
	const char *actor;
	const char *actor_role;      /* "producer", "operator", "admin", ... */
	const char *token_name;      /* TOKEN_CREATE */
	const char *token_role;      /* TOKEN_CREATE: store_role_valid() */
	const char *token_identity;  /* TOKEN_CREATE */
	const uint8_t *token_hash;   /* TOKEN_CREATE: SHA-256 of the secret */
	int64_t token_expires_ms;    /* TOKEN_CREATE: ms since the epoch; 0: never */
	const char *token_id;        /* TOKEN_REVOKE */
	const char *audit_action;    /* AUDIT: what was refused ("decision.submit") */
	const char *audit_subject;   /* AUDIT: its decision/session/token id, or "" */
	const char *audit_detail;    /* AUDIT: why ("role: ...") */

	/* ---- outputs (valid inside done(); the store frees them after) ---- */
	store_code result;
	char message[256];           /* for errors: ready for grpc-message */
	uint8_t *decision;           /* packed Decision after the change (or,
					for a request-id replay, as recorded) */
	size_t decision_len;
	int created;                 /* SUBMIT: 0 when the key matched */
	int replayed;                /* APPROVE/REJECT/ESCALATE/EXECUTION:
					request id seen */
	int64_t processed_at_ms;     /* when the change committed (or the
					original one, for a replay) */
	char session_id_out[40];     /* SESSION_OPEN */
	int64_t session_created_ms;  /* SESSION_OPEN */
	uint32_t expired;            /* EXPIRE_DUE: how many were swept */
	char token_id_out[40];       /* TOKEN_CREATE */
	int changed;                 /* TOKEN_REVOKE: 0 when it was revoked
					already */

	/* ---- completion ---- */
	void (*done)(store_op *op);  /* runs on the writer thread */
	void *ud;

	store_op *next;              /* the store's queue link */
};

/* Queues op.  done() always runs exactly once (STORE_E_CLOSED when the
 * store is closing).  Never blocks on I/O. */
void store_submit(store *st, store_op *op);

/* ---- reads (any thread; never wait for the writer) ---- */

/* A decision by id: from memory when open, else from the database.
 * On STORE_OK *blob is malloc'd (caller frees). */
store_code store_get(store *st, const char *decision_id, uint8_t **blob, size_t *len);

typedef struct store_filter {
	const char *status;            /* NULL/"": open (PENDING + ESCALATED) */
	const char *priority;          /* NULL/"": any */
	const char *operation_type;    /* NULL/"": any */
	const char *assigned_operator; /* NULL/"": any */
} store_filter;

typedef struct store_page {
	/* Packed Decision blobs of this page, in order: each entry is
	 * (offset, length) into data.  The caller frees with store_page_release. */
	uint8_t *data;
	size_t data_len;
	size_t *offsets;
	size_t *lengths;
	size_t count;
	uint32_t total;                /* matches across all pages */
	char next_token[128];          /* "" on the last page */
} store_page;

/*
 * One page: order is priority (CRITICAL first), created_at, decision_id.
 * token is "" for the first page or a next_token from an earlier page with
 * the same filter (STORE_E_INVALID otherwise).  limit is already clamped by
 * the caller (1..500).
 */
store_code store_list(store *st, const store_filter *f, const char *token,
		      uint32_t limit, store_page *out);
void store_page_release(store_page *p);

typedef struct store_metrics {
	int32_t pending;        /* open: PENDING + ESCALATED */
	int32_t total;
	int32_t approved;
	int32_t rejected;
	int32_t escalated;      /* currently ESCALATED */
	int32_t expired;
	int32_t critical;       /* open CRITICAL */
	int32_t high;           /* open HIGH */
	double avg_response_s;  /* approved + rejected: mean(reviewed - created) */
	double approval_rate;   /* approved / (approved + rejected) */
	int32_t sla_violations;
	uint64_t last_seq;      /* the sequence number these figures are at */
} store_metrics;

/* Exact figures, kept in step with commits (no disk access). */
void store_get_metrics(store *st, store_metrics *m);

/* ---- figures for /metrics (server/prom_governd.c) ---- */

#define STORE_NSTATUS 5
/* Decision statuses and priorities in the index order of store_gauges. */
extern const char *const store_status_names[STORE_NSTATUS];  /* "PENDING",
				"ESCALATED", "APPROVED", "REJECTED", "EXPIRED" */
extern const char *const store_priority_names[4];  /* "CRITICAL" .. "LOW" */

/* Review latency (reviewed_at - created_at) bucket upper bounds, in
 * milliseconds: 1 s to 1 day, for reviews by people. */
#define STORE_REVIEW_NBOUNDS 14
extern const uint64_t store_review_bounds_ms[STORE_REVIEW_NBOUNDS];

typedef struct store_gauges {
	uint32_t decisions[STORE_NSTATUS][4];  /* in the store, by status and
						  priority (all time) */
	uint32_t open_sessions;
	/* Since store_open, as the writer applied them: */
	uint64_t escalations;
	uint64_t review[2][STORE_REVIEW_NBOUNDS + 1];  /* [0] approvals,
						  [1] rejections, by latency;
						  not cumulative, last: slower */
	uint64_t review_sum_ms[2];
	int ready;                  /* 0 once closing, or after a failed sync
				       (every write fails from then on) */
	char not_ready[160];        /* why, when not ready */
} store_gauges;

/* A consistent snapshot (one read lock; no disk access). */
void store_get_gauges(store *st, store_gauges *out);

typedef struct store_operator_stats {
	int32_t total;          /* approved + rejected + escalations made */
	int32_t approved;
	int32_t rejected;
	int32_t escalated;
	double avg_response_s;
	int64_t session_start_ms;
} store_operator_stats;

store_code store_get_operator_stats(store *st, const char *operator_id,
				    store_operator_stats *out);

/* ---- tokens ---- */

typedef struct store_token {
	char id[40];
	char name[160];
	char role[16];
	char identity[160];
	char created_by[160];
	char revoked_by[160];
	int64_t created_ms;
	int64_t revoked_ms;          /* 0: not revoked */
	int64_t expires_ms;          /* 0: never */
} store_token;

/* The token whose secret hashes to hash (32 bytes), revoked or not; read
 * from the database every time (callers cache).  STORE_E_NOTFOUND when
 * none does. */
store_code store_token_lookup(store *st, const uint8_t *hash, store_token *out);

/* The token with this id. */
store_code store_token_get(store *st, const char *id, store_token *out);

/* Calls fn for each token, oldest first (revoked ones too when asked),
 * until it returns non-zero. */
store_code store_token_list(store *st, int include_revoked,
			    int (*fn)(const store_token *t, void *ud), void *ud);

/* ---- the audit trail ---- */

typedef struct store_audit_entry {
	uint64_t seq;
	int64_t at_ms;
	const char *actor, *role, *action, *outcome, *subject, *detail;
	const char *prev_hash, *hash;
} store_audit_entry;

typedef struct store_audit_filter {
	int64_t since_ms;            /* 0: any; else at_ms >= since_ms */
	int64_t until_ms;            /* 0: any; else at_ms < until_ms */
	const char *actor;           /* NULL/"": any; else exact matches */
	const char *subject;
	const char *action;
	const char *outcome;
} store_audit_filter;

/*
 * Calls fn for each entry with seq > after that matches f (NULL: all), in
 * sequence order, at most limit of them (0: no limit), until fn returns
 * non-zero.  The entry's strings are valid only during fn.  Read from the
 * database, beside the writer.
 */
store_code store_audit_list(store *st, const store_audit_filter *f, uint64_t after,
			    uint32_t limit, int (*fn)(const store_audit_entry *e, void *ud),
			    void *ud);

/* The sequence number of the last entry (0: none yet). */
store_code store_audit_head(store *st, uint64_t *seq);

/* ---- events ---- */

typedef enum store_event_type {
	STORE_EV_NEW = 0,       /* = DecisionEvent.NEW_DECISION */
	STORE_EV_UPDATED = 1,   /* escalation, execution record */
	STORE_EV_RESOLVED = 2,  /* approve, reject, expire */
} store_event_type;

typedef struct store_event {
	uint64_t seq;
	store_event_type type;
	int64_t at_ms;
	const uint8_t *decision; /* packed Decision as of this event */
	size_t decision_len;
} store_event;

/* Last committed sequence number (0 for an empty store). */
uint64_t store_last_seq(store *st);
/* The oldest event still retained (0: none yet). */
uint64_t store_first_seq(store *st);

/*
 * Calls fn for each event with seq > after, in order, up to max events or
 * until fn returns non-zero.  Recent events come from memory, older ones
 * from the database.  Returns STORE_E_RANGE when after is older than what is
 * retained, STORE_E_INVALID when it is beyond the last sequence number.
 * The event (and its bytes) is valid only during fn.
 */
store_code store_events_since(store *st, uint64_t after, uint32_t max,
			      int (*fn)(const store_event *ev, void *ud), void *ud);

/* Called on the writer thread after each commit that added events, with
 * the new last sequence number.  Set before traffic starts. */
void store_set_event_hook(store *st, void (*fn)(uint64_t last_seq, void *ud), void *ud);

/* Bucket upper bounds of store_stats' histograms: writer time per batch
 * and per fdatasync (nanoseconds, 100 us .. 1 s), operations per batch. */
#define STORE_TIME_NBOUNDS 13
#define STORE_BATCH_NBOUNDS 11
extern const uint64_t store_time_bounds_ns[STORE_TIME_NBOUNDS];
extern const uint64_t store_batch_bounds[STORE_BATCH_NBOUNDS];  /* 1 .. 1024 */

/* How the writer has been doing since store_open (for logs and metrics). */
typedef struct store_stats {
	uint64_t commits;       /* transactions committed */
	uint64_t ops;           /* operations run in them */
	uint64_t batch_ns;      /* writer time running batches (execute + commit) */
	uint64_t syncs;         /* fdatasyncs of the log */
	uint64_t sync_ns;       /* time in them */
	/* Histograms (not cumulative; the last slot: above the last bound),
	 * one observation per committed batch / per fdatasync. */
	uint64_t batch_time[STORE_TIME_NBOUNDS + 1];
	uint64_t sync_time[STORE_TIME_NBOUNDS + 1];
	uint64_t batch_ops[STORE_BATCH_NBOUNDS + 1];
	uint64_t checkpoints;   /* passes of the checkpoint thread */
	uint64_t checkpoint_ns; /* time in them */
	uint64_t checkpoints_inline;  /* by the writer: the thread fell behind
				   by 8 x checkpoint_pages */
	uint64_t checkpoints_tail;    /* by the writer: the last frames of a
				   round, so that the log starts over */
} store_stats;

void store_get_stats(const store *st, store_stats *out);

/* ---- demo data ---- */

/* Submits n realistic decisions (varied operation types, priorities, risk
 * factors, principles, actions) through the normal write path; blocks until
 * they are committed.  Returns STORE_OK or the first failure. */
store_code store_seed_demo(store *st, unsigned n);

#endif
