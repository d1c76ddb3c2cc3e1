/*
 * The SQLite store through its interface (src/store/store.h): durability
 * across reopen and the schema version, submission and idempotency, first
 * resolution wins inside one batch, request-id replay, sessions, expiry,
 * listing (order, filters, pages), exact metrics, operator stats, event
 * resume from memory and from the database, group commit, closing; the
 * audit chain, the review rules for authenticated actors, bearer tokens
 * (also from a second, tokens-only store on the same file); execution
 * records on approved decisions (in one batch with their approval, from
 * the database, the cap, the rules).
 *
 * Every test gets its own database under a mkdtemp directory (removed at
 * the end).  Operations are queued with store_submit and waited for; a
 * "gate" op whose done() blocks holds the writer so that what is queued
 * behind it is run as one batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "governance.pb-c.h"
#include "common/audit_chain.h"
#include "store/store.h"
#include "store/store_int.h"

typedef Vertice__Governance__V1__Decision Decision;

static char dir[64];

/* ---- waiting for operations ---- */

struct wop {
	store_op op;
	uint8_t *decision;     /* copies of the outputs, valid after done() */
	size_t len;
	char message[256];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int pending;

static void on_done(store_op *op)
{
	struct wop *w = (struct wop *)op;

	if (op->decision) {
		w->decision = malloc(op->decision_len ? op->decision_len : 1);
		memcpy(w->decision, op->decision, op->decision_len);
		w->len = op->decision_len;
	}
	snprintf(w->message, sizeof(w->message), "%s", op->message);
	pthread_mutex_lock(&lock);
	pending--;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void queue(store *st, struct wop *ops, int n)
{
	pthread_mutex_lock(&lock);
	pending += n;
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < n; i++) {
		ops[i].op.done = on_done;
		store_submit(st, &ops[i].op);
	}
}

static void wait_all(void)
{
	pthread_mutex_lock(&lock);
	while (pending)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void run(store *st, struct wop *ops, int n)
{
	queue(st, ops, n);
	wait_all();
}

static void wop_release(struct wop *w, int n)
{
	for (int i = 0; i < n; i++) {
		free(w[i].decision);
		w[i].decision = NULL;
	}
}

/* A gate: an op whose done() blocks the writer until gate_open(). */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_held, gate_reached;

static void gate_done(store_op *op)
{
	pthread_mutex_lock(&gate_lock);
	gate_reached = 1;
	pthread_cond_broadcast(&gate_cond);
	while (gate_held)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	on_done(op);
}

/* Queues a session open whose done() holds the writer, and waits until it
 * does: what is queued next runs as one batch after gate_open(). */
static void gate_close(store *st, struct wop *g)
{
	memset(g, 0, sizeof(*g));
	g->op.kind = STORE_OP_SESSION_OPEN;
	g->op.operator_id = "gatekeeper";
	gate_held = 1;
	gate_reached = 0;
	pthread_mutex_lock(&lock);
	pending++;
	pthread_mutex_unlock(&lock);
	g->op.done = gate_done;
	store_submit(st, &g->op);
	pthread_mutex_lock(&gate_lock);
	while (!gate_reached)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void gate_open(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_held = 0;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* ---- stores and decisions ---- */

static void db_path(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s/nested/gov.db", dir, name);
}

static store *open_at(const char *path, uint32_t ring, uint32_t retention)
{
	store_options o;
	store *st = NULL;
	char err[512];

	store_options_init(&o);
	o.path = path;
	o.event_ring = ring;
	o.event_retention = retention;
	if (store_open(&o, &st, err, sizeof(err)) != STORE_OK)
		fail_msg("store_open: %s", err);
	return st;
}

static uint8_t *proposal(const char *op_type, const char *prio, int sla, const char *assigned,
			 size_t *len)
{
	Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Vertice__Governance__V1__Risk risk = VERTICE__GOVERNANCE__V1__RISK__INIT;
	Vertice__Governance__V1__Decision__ContextEntry ce =
		VERTICE__GOVERNANCE__V1__DECISION__CONTEXT_ENTRY__INIT;
	Vertice__Governance__V1__Decision__ContextEntry *ctx[1] = { &ce };
	char *factors[1] = { "2,400 failed logins in 10 minutes" };
	uint8_t *b;

	d.operation_type = (char *)op_type;
	d.priority = (char *)prio;
	d.sla_seconds = sla;
	d.assigned_operator = (char *)(assigned ? assigned : "");
	ce.key = "source_ip";
	ce.value = "203.0.113.45";
	d.n_context = 1;
	d.context = ctx;
	risk.score = 0.8;
	risk.level = "HIGH";
	risk.n_factors = 1;
	risk.factors = factors;
	d.risk_assessment = &risk;
	*len = vertice__governance__v1__decision__get_packed_size(&d);
	b = malloc(*len + 1);
	vertice__governance__v1__decision__pack(&d, b);
	return b;
}

static Decision *decode(const uint8_t *b, size_t len)
{
	Decision *d = vertice__governance__v1__decision__unpack(NULL, len, b);

	assert_non_null(d);
	return d;
}

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
	return t ? t->seconds * 1000 + t->nanos / 1000000 : 0;
}

struct sub {
	char id[40];
	int rank;
	int64_t created;
};

/* Submits n decisions (one batch if they queue up) and records them. */
static void submit_many(store *st, int n, const char *op_type, const char *const *prios,
			int nprios, const char *assigned, struct sub *out)
{
	struct wop *w = calloc((size_t)n, sizeof(*w));
	uint8_t **props = calloc((size_t)n, sizeof(*props));

	for (int i = 0; i < n; i++) {
		size_t len;
		props[i] = proposal(op_type, prios[i % nprios], 3600, assigned, &len);
		w[i].op.kind = STORE_OP_SUBMIT;
		w[i].op.proposal = props[i];
		w[i].op.proposal_len = len;
	}
	run(st, w, n);
	for (int i = 0; i < n; i++) {
		Decision *d;

		assert_int_equal(w[i].op.result, STORE_OK);
		assert_int_equal(w[i].op.created, 1);
		d = decode(w[i].decision, w[i].len);
		if (out) {
			snprintf(out[i].id, sizeof(out[i].id), "%s", d->decision_id);
			out[i].rank = !strcmp(d->priority, "CRITICAL") ? 0 :
				      !strcmp(d->priority, "HIGH") ? 1 :
				      !strcmp(d->priority, "MEDIUM") ? 2 : 3;
			out[i].created = ts_ms(d->created_at);
		}
		vertice__governance__v1__decision__free_unpacked(d, NULL);
		free(props[i]);
	}
	wop_release(w, n);
	free(w);
	free(props);
}

static void session_open(store *st, const char *operator_id, char *sid, size_t sidlen)
{
	struct wop w;

	memset(&w, 0, sizeof(w));
	w.op.kind = STORE_OP_SESSION_OPEN;
	w.op.operator_id = operator_id;
	run(st, &w, 1);
	assert_int_equal(w.op.result, STORE_OK);
	assert_int_equal(strlen(w.op.session_id_out), 34);
	assert_memory_equal(w.op.session_id_out, "s-", 2);
	snprintf(sid, sidlen, "%s", w.op.session_id_out);
}

/* One review op; the result, with the outputs copied into *w. */
static store_code review(store *st, struct wop *w, store_op_kind kind, const char *sid,
			 const char *id, const char *rid)
{
	memset(w, 0, sizeof(*w));
	w->op.kind = kind;
	w->op.session_id = sid;
	w->op.decision_id = id;
	w->op.request_id = rid;
	w->op.comment = kind == STORE_OP_REJECT ? "not proportionate" : "looks right";
	w->op.reasoning = "checked the evidence";
	w->op.target = "bob";
	w->op.reason = "needs the network team";
	run(st, w, 1);
	return w->op.result;
}

static Decision *get(store *st, const char *id)
{
	uint8_t *b = NULL;
	size_t len = 0;
	Decision *d;

	assert_int_equal(store_get(st, id, &b, &len), STORE_OK);
	d = decode(b, len);
	free(b);
	return d;
}

static int is_hex32(const char *s)
{
	if (strlen(s) != 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* ---- tests ---- */

static void reopen_and_schema(void **state)
{
	char path[256];
	struct sub subs[3];
	static const char *const prios[] = { "HIGH" };
	store_metrics m;
	store *st;
	sqlite3 *db;
	store_options o;
	char err[512];
	struct stat sb;
	Decision *d;

	db_path(path, sizeof(path), "reopen");
	st = open_at(path, 0, 0);
	assert_int_equal(store_schema_version(st), 5);
	assert_int_equal(store_last_seq(st), 0);
	/* The directory was made, private. */
	{
		char parent[256];
		snprintf(parent, sizeof(parent), "%s/reopen/nested", dir);
		assert_int_equal(stat(parent, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0700);
	}
	submit_many(st, 3, "block_ip", prios, 1, NULL, subs);
	store_close(st);

	st = open_at(path, 0, 0);
	assert_int_equal(store_schema_version(st), 5);
	store_get_metrics(st, &m);
	assert_int_equal(m.total, 3);
	assert_int_equal(m.pending, 3);
	assert_int_equal(m.high, 3);
	assert_int_equal(store_last_seq(st), 3);
	d = get(st, subs[1].id);
	assert_string_equal(d->status, "PENDING");
	assert_string_equal(d->decision_id, subs[1].id);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	store_close(st);

	/* A database from a newer build is refused, naming the versions. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store_options_init(&o);
	o.path = path;
	st = NULL;
	assert_int_equal(store_open(&o, &st, err, sizeof(err)), STORE_E_IO);
	assert_null(st);
	assert_non_null(strstr(err, "schema version 99 is newer"));
	assert_non_null(strstr(err, path));

	/* No path: a clear error. */
	o.path = "";
	assert_int_equal(store_open(&o, &st, err, sizeof(err)), STORE_E_INVALID);
}

/* A version 1 decision blob, as version 1 stored it. */
static void v1_insert(sqlite3 *db, const char *id, const char *status, const char *prio,
		      int rank, int64_t created, int64_t reviewed, const char *reviewed_by)
{
	Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Google__Protobuf__Timestamp c = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Google__Protobuf__Timestamp e = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	sqlite3_stmt *s;
	uint8_t b[512];
	size_t len;

	d.decision_id = (char *)id;
	d.operation_type = "block_ip";
	d.status = (char *)status;
	d.priority = (char *)prio;
	d.assigned_operator = "";
	c.seconds = created / 1000;
	e.seconds = created / 1000 + 3600;
	d.created_at = &c;
	d.expires_at = &e;
	len = vertice__governance__v1__decision__get_packed_size(&d);
	assert_true(len <= sizeof(b));
	vertice__governance__v1__decision__pack(&d, b);
	assert_int_equal(sqlite3_prepare_v2(db,
		"INSERT INTO decisions(id, status, priority_rank, created_ms, expires_ms, "
		"operation_type, assigned_operator, reviewed_ms, reviewed_by, outcome, blob) "
		"VALUES(?1, ?2, ?3, ?4, ?5, 'block_ip', '', ?6, ?7, ?8, ?9)", -1, &s, NULL),
		SQLITE_OK);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, rank);
	sqlite3_bind_int64(s, 4, created);
	sqlite3_bind_int64(s, 5, created + 3600000);
	if (reviewed) {
		sqlite3_bind_int64(s, 6, reviewed);
		sqlite3_bind_text(s, 7, reviewed_by, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 8, status, -1, SQLITE_STATIC);
	}
	sqlite3_bind_blob(s, 9, b, (int)len, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
}

/* A database written by a version 1 governd opens as version 2 with
 * nothing lost: decisions, resolutions, replays, operator figures. */
static void migrate_from_v1(void **state)
{
	char path[256], parent[256];
	int64_t t = (int64_t)time(NULL) * 1000 - 60000;
	store_metrics m;
	store_operator_stats os;
	struct wop w;
	sqlite3 *db;
	store *st;
	Decision *d;

	db_path(path, sizeof(path), "v1");
	snprintf(parent, sizeof(parent), "%s/v1", dir);
	mkdir(parent, 0700);
	snprintf(parent, sizeof(parent), "%s/v1/nested", dir);
	mkdir(parent, 0700);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"PRAGMA journal_mode=WAL;"
		"CREATE TABLE decisions (id TEXT PRIMARY KEY, status TEXT NOT NULL,"
		"  priority_rank INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
		"  expires_ms INTEGER NOT NULL, operation_type TEXT NOT NULL,"
		"  assigned_operator TEXT NOT NULL DEFAULT '', idempotency_key TEXT UNIQUE,"
		"  reviewed_ms INTEGER, reviewed_by TEXT, outcome TEXT, blob BLOB NOT NULL)"
		"  WITHOUT ROWID;"
		"CREATE INDEX decisions_queue ON decisions(status, priority_rank, created_ms, id);"
		"CREATE INDEX decisions_reviewer ON decisions(reviewed_by);"
		"CREATE TABLE sessions (id TEXT PRIMARY KEY, operator_id TEXT NOT NULL,"
		"  created_ms INTEGER NOT NULL, closed_ms INTEGER) WITHOUT ROWID;"
		"CREATE INDEX sessions_operator ON sessions(operator_id);"
		"CREATE TABLE requests (request_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL,"
		"  kind INTEGER NOT NULL, processed_ms INTEGER NOT NULL, blob BLOB NOT NULL)"
		"  WITHOUT ROWID;"
		"CREATE TABLE escalations (decision_id TEXT NOT NULL, escalated_by TEXT NOT NULL,"
		"  at_ms INTEGER NOT NULL);"
		"CREATE INDEX escalations_by ON escalations(escalated_by);"
		"CREATE TABLE events (seq INTEGER PRIMARY KEY, type INTEGER NOT NULL,"
		"  at_ms INTEGER NOT NULL, decision_id TEXT NOT NULL, blob BLOB NOT NULL);"
		"PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	v1_insert(db, "d-pending", "PENDING", "HIGH", 1, t, 0, NULL);
	v1_insert(db, "d-approved", "APPROVED", "CRITICAL", 0, t + 1, t + 5001, "alice");
	v1_insert(db, "d-escalated", "ESCALATED", "LOW", 3, t + 2, t + 3002, "bob");
	v1_insert(db, "d-rejected", "REJECTED", "MEDIUM", 2, t + 3, t + 9003, "carol");
	v1_insert(db, "d-expired", "EXPIRED", "HIGH", 1, t + 4, t + 3600004, "system");
	assert_int_equal(sqlite3_exec(db,
		"INSERT INTO escalations VALUES('d-escalated', 'bob', 0);"
		"INSERT INTO escalations VALUES('d-rejected', 'bob', 0);"
		"INSERT INTO sessions VALUES('s-alice', 'alice', 0, NULL);"
		"INSERT INTO sessions VALUES('s-bob', 'bob', 0, NULL);"
		"INSERT INTO sessions VALUES('s-carol', 'carol', 0, NULL);"
		"INSERT INTO requests SELECT 'req-a', id, 1, reviewed_ms, blob FROM decisions"
		"  WHERE id = 'd-approved';"
		"INSERT INTO events VALUES(1, 1, 0, 'd-pending', x'');"
		"INSERT INTO events VALUES(2, 1, 0, 'd-approved', x'');"
		"INSERT INTO events VALUES(3, 3, 0, 'd-approved', x'');", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);

	st = open_at(path, 0, 0);
	assert_int_equal(store_schema_version(st), 5);
	assert_int_equal(store_last_seq(st), 3);
	store_get_metrics(st, &m);
	assert_int_equal(m.total, 5);
	assert_int_equal(m.pending, 2);
	assert_int_equal(m.escalated, 1);
	assert_int_equal(m.approved, 1);
	assert_int_equal(m.rejected, 1);
	assert_int_equal(m.expired, 1);
	assert_int_equal(m.sla_violations, 1);
	assert_int_equal(m.high, 1);
	assert_true(m.avg_response_s > 6.99 && m.avg_response_s < 7.01);
	d = get(st, "d-approved");
	assert_string_equal(d->status, "APPROVED");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	d = get(st, "d-escalated");
	assert_string_equal(d->status, "ESCALATED");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	assert_int_equal(store_get_operator_stats(st, "alice", &os), STORE_OK);
	assert_int_equal(os.approved, 1);
	assert_true(os.avg_response_s > 4.99 && os.avg_response_s < 5.01);
	assert_int_equal(store_get_operator_stats(st, "bob", &os), STORE_OK);
	assert_int_equal(os.escalated, 2);
	assert_int_equal(os.total, 2);
	assert_int_equal(store_get_operator_stats(st, "carol", &os), STORE_OK);
	assert_int_equal(os.rejected, 1);
	/* A request id from version 1 still replays; the first outcome stays. */
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, "s-alice", "d-approved", "req-a"),
			 STORE_OK);
	assert_int_equal(w.op.replayed, 1);
	wop_release(&w, 1);
	assert_int_equal(review(st, &w, STORE_OP_REJECT, "s-carol", "d-approved", NULL),
			 STORE_E_CONFLICT);
	/* What was open is reviewable, and stays so across a restart. */
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, "s-alice", "d-escalated", NULL),
			 STORE_OK);
	wop_release(&w, 1);
	store_close(st);
	st = open_at(path, 0, 0);
	assert_int_equal(store_schema_version(st), 5);
	store_get_metrics(st, &m);
	assert_int_equal(m.pending, 1);
	assert_int_equal(m.approved, 2);
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, "s-alice", "d-pending", NULL), STORE_OK);
	wop_release(&w, 1);
	store_close(st);
}

static void submit_and_idempotency(void **state)
{
	char path[256];
	struct wop w[3];
	size_t len1, len2;
	uint8_t *p1 = proposal("quarantine_host", "CRITICAL", 600, "alice", &len1);
	uint8_t *p2 = proposal("block_ip", "LOW", 60, "", &len2);
	store_metrics m;
	Decision *d, *d2;
	store *st;
	int64_t before = store__now_ms();

	db_path(path, sizeof(path), "submit");
	st = open_at(path, 0, 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 3; i++) {
		w[i].op.kind = STORE_OP_SUBMIT;
		w[i].op.idempotency_key = "producer-42";
	}
	w[0].op.proposal = p1;
	w[0].op.proposal_len = len1;
	/* The same key with another body: still the first decision. */
	w[1].op.proposal = p2;
	w[1].op.proposal_len = len2;
	w[2].op.proposal = p1;
	w[2].op.proposal_len = len1;
	run(st, w, 1);
	run(st, w + 1, 2);
	assert_int_equal(w[0].op.result, STORE_OK);
	assert_int_equal(w[0].op.created, 1);
	d = decode(w[0].decision, w[0].len);
	assert_memory_equal(d->decision_id, "d-", 2);
	assert_true(is_hex32(d->decision_id + 2));
	assert_string_equal(d->status, "PENDING");
	assert_string_equal(d->operation_type, "quarantine_host");
	assert_string_equal(d->assigned_operator, "alice");
	assert_string_equal(d->idempotency_key, "producer-42");
	assert_int_equal(d->n_context, 1);
	assert_true(ts_ms(d->created_at) >= before);
	assert_int_equal(ts_ms(d->expires_at), ts_ms(d->created_at) + 600 * 1000);
	assert_int_equal(ts_ms(d->updated_at), ts_ms(d->created_at));
	assert_null(d->history);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(w[i].op.result, STORE_OK);
		assert_int_equal(w[i].op.created, 0);
		assert_int_equal(w[i].len, w[0].len);
		assert_memory_equal(w[i].decision, w[0].decision, w[0].len);
	}
	store_get_metrics(st, &m);
	assert_int_equal(m.total, 1);
	assert_int_equal(m.critical, 1);
	assert_int_equal(store_last_seq(st), 1);  /* no event for a match */

	/* Submitted and matched in one batch. */
	{
		struct wop g, b[2];

		gate_close(st, &g);
		memset(b, 0, sizeof(b));
		for (int i = 0; i < 2; i++) {
			b[i].op.kind = STORE_OP_SUBMIT;
			b[i].op.proposal = p2;
			b[i].op.proposal_len = len2;
			b[i].op.idempotency_key = "same-batch";
		}
		queue(st, b, 2);
		gate_open();
		wait_all();
		assert_int_equal(b[0].op.created, 1);
		assert_int_equal(b[1].op.created, 0);
		assert_memory_equal(b[0].decision, b[1].decision, b[0].len);
		wop_release(b, 2);
		wop_release(&g, 1);
	}
	/* Approved and submitted again in one batch: the match is the
	 * approved decision (its resolutions row is written at the batch's
	 * end, the overlay has its bytes). */
	{
		struct wop g, b[2];
		char sid[40];

		session_open(st, "carol", sid, sizeof(sid));
		d2 = decode(w[0].decision, w[0].len);
		gate_close(st, &g);
		memset(b, 0, sizeof(b));
		b[0].op.kind = STORE_OP_APPROVE;
		b[0].op.session_id = sid;
		b[0].op.decision_id = d2->decision_id;
		b[1].op.kind = STORE_OP_SUBMIT;
		b[1].op.proposal = p1;
		b[1].op.proposal_len = len1;
		b[1].op.idempotency_key = "producer-42";
		queue(st, b, 2);
		gate_open();
		wait_all();
		assert_int_equal(b[0].op.result, STORE_OK);
		assert_int_equal(b[1].op.result, STORE_OK);
		assert_int_equal(b[1].op.created, 0);
		assert_int_equal(b[1].len, b[0].len);
		assert_memory_equal(b[1].decision, b[0].decision, b[0].len);
		vertice__governance__v1__decision__free_unpacked(d2, NULL);
		d2 = decode(b[1].decision, b[1].len);
		assert_string_equal(d2->status, "APPROVED");
		vertice__governance__v1__decision__free_unpacked(d2, NULL);
		/* And from the row, in the next batch. */
		wop_release(b, 2);
		memset(b, 0, sizeof(b));
		b[0].op.kind = STORE_OP_SUBMIT;
		b[0].op.proposal = p1;
		b[0].op.proposal_len = len1;
		b[0].op.idempotency_key = "producer-42";
		run(st, b, 1);
		d2 = decode(b[0].decision, b[0].len);
		assert_string_equal(d2->status, "APPROVED");
		vertice__governance__v1__decision__free_unpacked(d2, NULL);
		wop_release(b, 2);
		wop_release(&g, 1);
	}
	/* Garbage that is not a Decision. */
	{
		static const uint8_t junk[] = { 0xff, 0xff, 0xff };
		struct wop j;

		memset(&j, 0, sizeof(j));
		j.op.kind = STORE_OP_SUBMIT;
		j.op.proposal = junk;
		j.op.proposal_len = sizeof(junk);
		run(st, &j, 1);
		assert_int_equal(j.op.result, STORE_E_INVALID);
	}
	store_get_metrics(st, &m);
	assert_int_equal(m.total, 2);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	wop_release(w, 3);
	store_close(st);
	free(p1);
	free(p2);
}

/* The batch cap as a state machine: no disk, no clock. */
static struct store__cap cap_learnt(uint64_t sync_us, uint64_t op_us)
{
	struct store__cap c;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 16; i++)
		store__cap_learn(&c, 1, (sync_us + op_us) * 1000, sync_us * 1000);
	return c;
}

/* n clients that each write again once answered, their answers back
 * while the next batch runs: the writer takes what queued, up to the cap;
 * on an empty queue it wakes on the first write back.  Returns the last
 * batch. */
static uint32_t closed_loop(struct store__cap *c, uint32_t n, int rounds)
{
	uint32_t queued = n, out = 0, took = 0;

	for (int i = 0; i < rounds; i++) {
		uint32_t cap;

		if (!queued) {
			queued = 1;
			out--;
		}
		cap = store__cap_next(c, queued, 1024);
		took = queued < cap ? queued : cap;
		queued -= took;
		store__cap_learn(c, took, 0, 0);
		queued += out;
		out = took;
	}
	return took;
}

static void batch_cap(void **state)
{
	struct store__cap c;

	(void)state;
	/* Nothing learnt yet: everything queued. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store__cap_next(&c, 50, 1024), 1024);
	assert_int_equal(store__cap_next(&c, 50, 1024), 1024);

	/* 50 in a closed loop, a sync of 200 us, 10 us an op (their way out
	 * and back, 500 us, exceeds the sync): two groups of 25. */
	c = cap_learnt(200, 10);
	assert_int_equal(closed_loop(&c, 50, 10), 25);
	assert_int_equal(store__cap_next(&c, 25, 1024), 25);
	/* never above max_batch */
	assert_int_equal(store__cap_next(&c, 25, 16), 16);

	/* The same on a disk that syncs in 2 ms: one group is better. */
	c = cap_learnt(2000, 10);
	closed_loop(&c, 50, 10);
	assert_int_equal(store__cap_next(&c, 50, 1024), 1024);

	/* A lone burst after a quiet spell stays one batch. */
	c = cap_learnt(200, 10);
	closed_loop(&c, 1, 10);
	assert_int_equal(store__cap_next(&c, 40, 1024), 1024);

	/* The load falls from 50 to 10 (10 x 10 us is under the sync): the
	 * peak decays and the cap lets go within a few hundred batches. */
	c = cap_learnt(200, 10);
	closed_loop(&c, 50, 10);
	closed_loop(&c, 10, 300);
	assert_true(c.peak < 20);
	assert_int_equal(store__cap_next(&c, 10, 1024), 1024);

	/* A queue that keeps growing raises the cap with it. */
	c = cap_learnt(200, 10);
	closed_loop(&c, 50, 10);
	for (uint32_t q = 100; q <= 800; q *= 2) {
		store__cap_next(&c, q, 1024);
		store__cap_learn(&c, 0, 0, 0);
	}
	assert_true(store__cap_next(&c, 1600, 1024) >= 400);
}

static void first_resolution_wins(void **state)
{
	char path[256], sid[40];
	struct sub subs[2];
	static const char *const prios[] = { "MEDIUM" };
	struct wop g, a[20], rj;
	uint64_t commits;
	store_metrics m;
	int ok = 0, conflict = 0;
	Decision *d;
	store *st;
	char want[160];

	db_path(path, sizeof(path), "firstwins");
	st = open_at(path, 0, 0);
	submit_many(st, 2, "rotate_credentials", prios, 1, NULL, subs);
	session_open(st, "alice", sid, sizeof(sid));

	/* 20 approvals of one decision, all in one batch behind the gate. */
	gate_close(st, &g);
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 20; i++) {
		a[i].op.kind = STORE_OP_APPROVE;
		a[i].op.session_id = sid;
		a[i].op.decision_id = subs[0].id;
		a[i].op.comment = "ok";
	}
	queue(st, a, 20);
	commits = store__commits(st);
	gate_open();
	wait_all();
	/* One transaction for the 20 (group commit). */
	assert_int_equal(store__commits(st) - commits, 1);
	snprintf(want, sizeof(want), "decision '%s' is already APPROVED", subs[0].id);
	for (int i = 0; i < 20; i++) {
		if (a[i].op.result == STORE_OK) {
			ok++;
			d = decode(a[i].decision, a[i].len);
			assert_string_equal(d->status, "APPROVED");
			assert_non_null(d->history);
			assert_string_equal(d->history->reviewed_by, "alice");
			assert_string_equal(d->history->outcome, "APPROVED");
			assert_string_equal(d->history->comment, "ok");
			assert_int_equal(ts_ms(d->history->submitted_at), ts_ms(d->created_at));
			assert_int_equal(ts_ms(d->history->reviewed_at), a[i].op.processed_at_ms);
			vertice__governance__v1__decision__free_unpacked(d, NULL);
		} else {
			assert_int_equal(a[i].op.result, STORE_E_CONFLICT);
			assert_string_equal(a[i].message, want);
			assert_null(a[i].decision);
			conflict++;
		}
	}
	assert_int_equal(ok, 1);
	assert_int_equal(conflict, 19);
	assert_int_equal(a[0].op.result, STORE_OK);  /* queue order */

	/* Reject: the other decision; rejecting the approved one conflicts. */
	assert_int_equal(review(st, &rj, STORE_OP_REJECT, sid, subs[1].id, NULL), STORE_OK);
	d = decode(rj.decision, rj.len);
	assert_string_equal(d->status, "REJECTED");
	assert_string_equal(d->history->outcome, "REJECTED");
	assert_string_equal(d->history->comment, "not proportionate");
	assert_string_equal(d->history->reasoning, "checked the evidence");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	wop_release(&rj, 1);
	assert_int_equal(review(st, &rj, STORE_OP_REJECT, sid, subs[0].id, NULL),
			 STORE_E_CONFLICT);
	assert_int_equal(review(st, &rj, STORE_OP_APPROVE, sid, "d-00000000000000000000000000000000",
				NULL), STORE_E_NOTFOUND);
	assert_non_null(strstr(rj.message, "not found"));
	assert_int_equal(review(st, &rj, STORE_OP_ESCALATE, sid, subs[1].id, NULL),
			 STORE_E_CONFLICT);
	assert_non_null(strstr(rj.message, "is already REJECTED"));

	store_get_metrics(st, &m);
	assert_int_equal(m.approved, 1);
	assert_int_equal(m.rejected, 1);
	assert_int_equal(m.pending, 0);
	assert_true(m.approval_rate > 0.49 && m.approval_rate < 0.51);
	/* The resolved decisions from the database. */
	d = get(st, subs[0].id);
	assert_string_equal(d->status, "APPROVED");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	wop_release(a, 20);
	wop_release(&g, 1);
	store_close(st);
}

static void escalate_then_approve(void **state)
{
	char path[256], sid[40], sid2[40];
	struct sub subs[1];
	static const char *const prios[] = { "HIGH" };
	struct wop w;
	store_page pg;
	store_filter f = { NULL, NULL, NULL, "bob" };
	store_metrics m;
	Decision *d;
	store *st;

	db_path(path, sizeof(path), "escalate");
	st = open_at(path, 0, 0);
	submit_many(st, 1, "disable_account", prios, 1, "alice", subs);
	session_open(st, "alice", sid, sizeof(sid));
	session_open(st, "bob", sid2, sizeof(sid2));
	assert_int_equal(review(st, &w, STORE_OP_ESCALATE, sid, subs[0].id, NULL), STORE_OK);
	d = decode(w.decision, w.len);
	assert_string_equal(d->status, "ESCALATED");
	assert_string_equal(d->escalated_to, "bob");
	assert_string_equal(d->escalated_by, "alice");
	assert_string_equal(d->escalation_reason, "needs the network team");
	assert_string_equal(d->assigned_operator, "bob");
	assert_int_equal(ts_ms(d->escalated_at), w.op.processed_at_ms);
	assert_int_equal(ts_ms(d->updated_at), w.op.processed_at_ms);
	assert_null(d->history);
	assert_string_equal(d->operation_type, "disable_account");
	assert_int_equal(d->n_context, 1);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	wop_release(&w, 1);
	store_get_metrics(st, &m);
	assert_int_equal(m.escalated, 1);
	assert_int_equal(m.pending, 1);

	/* Listed by its new assignee, and as ESCALATED. */
	assert_int_equal(store_list(st, &f, "", 10, &pg), STORE_OK);
	assert_int_equal(pg.total, 1);
	assert_int_equal(pg.count, 1);
	store_page_release(&pg);
	f.assigned_operator = "alice";
	assert_int_equal(store_list(st, &f, "", 10, &pg), STORE_OK);
	assert_int_equal(pg.total, 0);
	store_page_release(&pg);
	f.assigned_operator = NULL;
	f.status = "ESCALATED";
	assert_int_equal(store_list(st, &f, "", 10, &pg), STORE_OK);
	assert_int_equal(pg.total, 1);
	store_page_release(&pg);

	/* Escalating again is allowed while open; then approve. */
	assert_int_equal(review(st, &w, STORE_OP_ESCALATE, sid2, subs[0].id, NULL), STORE_OK);
	wop_release(&w, 1);
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, sid2, subs[0].id, NULL), STORE_OK);
	d = decode(w.decision, w.len);
	assert_string_equal(d->status, "APPROVED");
	assert_string_equal(d->escalated_by, "bob");
	assert_string_equal(d->history->reviewed_by, "bob");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	wop_release(&w, 1);
	store_get_metrics(st, &m);
	assert_int_equal(m.escalated, 0);
	assert_int_equal(m.pending, 0);
	assert_int_equal(m.approved, 1);

	/* The resolved one is listed from the database, with the filters. */
	f.status = "APPROVED";
	f.assigned_operator = "bob";
	f.operation_type = "disable_account";
	assert_int_equal(store_list(st, &f, "", 10, &pg), STORE_OK);
	assert_int_equal(pg.total, 1);
	assert_int_equal(pg.count, 1);
	d = decode(pg.data + pg.offsets[0], pg.lengths[0]);
	assert_string_equal(d->decision_id, subs[0].id);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	store_page_release(&pg);
	store_close(st);
}

static void request_ids(void **state)
{
	char path[256], sid[40];
	struct sub subs[2];
	static const char *const prios[] = { "LOW" };
	struct wop w1, w2;
	store *st;

	db_path(path, sizeof(path), "requests");
	st = open_at(path, 0, 0);
	submit_many(st, 2, "revoke_token", prios, 1, NULL, subs);
	session_open(st, "carol", sid, sizeof(sid));
	assert_int_equal(review(st, &w1, STORE_OP_APPROVE, sid, subs[0].id, "req-1"), STORE_OK);
	assert_int_equal(w1.op.replayed, 0);
	usleep(5000);
	/* The retry gets the first outcome, processed_at included. */
	assert_int_equal(review(st, &w2, STORE_OP_APPROVE, sid, subs[0].id, "req-1"), STORE_OK);
	assert_int_equal(w2.op.replayed, 1);
	assert_int_equal(w2.op.processed_at_ms, w1.op.processed_at_ms);
	assert_int_equal(w2.len, w1.len);
	assert_memory_equal(w2.decision, w1.decision, w1.len);
	wop_release(&w2, 1);
	/* Even as another kind: the request id names the first outcome. */
	assert_int_equal(review(st, &w2, STORE_OP_REJECT, sid, subs[0].id, "req-1"), STORE_OK);
	assert_int_equal(w2.op.replayed, 1);
	wop_release(&w2, 1);
	/* On another decision it is a duplicate. */
	assert_int_equal(review(st, &w2, STORE_OP_APPROVE, sid, subs[1].id, "req-1"),
			 STORE_E_DUPLICATE);
	{
		char want[200];
		snprintf(want, sizeof(want), "request id 'req-1' was used for decision '%s'",
			 subs[0].id);
		assert_string_equal(w2.message, want);
	}
	/* Without a request id the same approval again conflicts. */
	assert_int_equal(review(st, &w2, STORE_OP_APPROVE, sid, subs[0].id, NULL),
			 STORE_E_CONFLICT);
	/* An escalation's replay returns the decision as it was then. */
	assert_int_equal(review(st, &w2, STORE_OP_ESCALATE, sid, subs[1].id, "req-2"), STORE_OK);
	wop_release(&w2, 1);
	store_close(st);

	/* Replays survive a restart. */
	st = open_at(path, 0, 0);
	assert_int_equal(review(st, &w2, STORE_OP_APPROVE, sid, subs[0].id, "req-1"), STORE_OK);
	assert_int_equal(w2.op.replayed, 1);
	assert_int_equal(w2.op.processed_at_ms, w1.op.processed_at_ms);
	assert_memory_equal(w2.decision, w1.decision, w1.len);
	wop_release(&w2, 1);
	assert_int_equal(review(st, &w2, STORE_OP_APPROVE, sid, subs[1].id, "req-2"), STORE_OK);
	assert_int_equal(w2.op.replayed, 1);
	{
		Decision *d = decode(w2.decision, w2.len);
		assert_string_equal(d->status, "ESCALATED");
		vertice__governance__v1__decision__free_unpacked(d, NULL);
	}
	wop_release(&w2, 1);
	wop_release(&w1, 1);
	store_close(st);
}

static void sessions(void **state)
{
	char path[256], sid[40], want[200];
	struct sub subs[1];
	static const char *const prios[] = { "LOW" };
	struct wop w, g, b[3];
	store_operator_stats os;
	store *st;

	db_path(path, sizeof(path), "sessions");
	st = open_at(path, 0, 0);
	submit_many(st, 1, "scale_deployment", prios, 1, NULL, subs);
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, "s-unknown", subs[0].id, NULL),
			 STORE_E_SESSION);
	assert_string_equal(w.message, "session 's-unknown' is unknown or closed; "
				       "open a new one with CreateSession");
	session_open(st, "dave", sid, sizeof(sid));
	assert_int_equal(store_get_operator_stats(st, "dave", &os), STORE_OK);
	assert_true(os.session_start_ms > 0);
	assert_int_equal(os.total, 0);
	assert_int_equal(store_get_operator_stats(st, "nobody", &os), STORE_E_NOTFOUND);

	memset(&w, 0, sizeof(w));
	w.op.kind = STORE_OP_SESSION_CLOSE;
	w.op.session_id = sid;
	run(st, &w, 1);
	assert_int_equal(w.op.result, STORE_OK);
	run(st, &w, 1);  /* closing twice is fine */
	assert_int_equal(w.op.result, STORE_OK);
	w.op.session_id = "s-never";
	run(st, &w, 1);
	assert_int_equal(w.op.result, STORE_E_NOTFOUND);
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, sid, subs[0].id, NULL), STORE_E_SESSION);
	snprintf(want, sizeof(want),
		 "session '%s' is unknown or closed; open a new one with CreateSession", sid);
	assert_string_equal(w.message, want);
	/* Known operator with no open session: stats still answer. */
	assert_int_equal(store_get_operator_stats(st, "dave", &os), STORE_OK);

	/* Used and closed within one batch: the approval sees it open. */
	memset(b, 0, sizeof(b));
	b[0].op.kind = STORE_OP_SESSION_OPEN;
	b[0].op.operator_id = "erin";
	run(st, b, 1);
	gate_close(st, &g);
	b[1].op.kind = STORE_OP_APPROVE;
	b[1].op.session_id = b[0].op.session_id_out;
	b[1].op.decision_id = subs[0].id;
	b[2].op.kind = STORE_OP_SESSION_CLOSE;
	b[2].op.session_id = b[0].op.session_id_out;
	queue(st, b + 1, 2);
	gate_open();
	wait_all();
	assert_int_equal(b[1].op.result, STORE_OK);
	assert_int_equal(b[2].op.result, STORE_OK);
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, b[0].op.session_id_out, subs[0].id,
				NULL), STORE_E_SESSION);
	wop_release(b, 3);
	wop_release(&g, 1);
	store_close(st);

	/* Sessions survive a restart: closed stays closed. */
	st = open_at(path, 0, 0);
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, sid, subs[0].id, NULL), STORE_E_SESSION);
	assert_int_equal(store_get_operator_stats(st, "erin", &os), STORE_OK);
	assert_int_equal(os.approved, 1);
	assert_int_equal(os.total, 1);
	store_close(st);
}

static void expiry(void **state)
{
	char path[256], sid[40];
	struct wop w[2], sweep;
	size_t plen, qlen;
	uint8_t *p = proposal("isolate_network_segment", "CRITICAL", 1, NULL, &plen);
	uint8_t *q = proposal("isolate_network_segment", "LOW", 3600, NULL, &qlen);
	store_metrics m;
	Decision *d;
	char id[40];
	store *st;

	db_path(path, sizeof(path), "expiry");
	st = open_at(path, 0, 0);
	session_open(st, "frank", sid, sizeof(sid));
	memset(w, 0, sizeof(w));
	w[0].op.kind = w[1].op.kind = STORE_OP_SUBMIT;
	w[0].op.proposal = p;
	w[1].op.proposal = q;
	w[0].op.proposal_len = plen;
	w[1].op.proposal_len = qlen;
	run(st, w, 2);
	d = decode(w[0].decision, w[0].len);
	snprintf(id, sizeof(id), "%s", d->decision_id);
	vertice__governance__v1__decision__free_unpacked(d, NULL);

	/* Nothing due yet. */
	memset(&sweep, 0, sizeof(sweep));
	sweep.op.kind = STORE_OP_EXPIRE_DUE;
	run(st, &sweep, 1);
	assert_int_equal(sweep.op.result, STORE_OK);
	assert_int_equal(sweep.op.expired, 0);
	usleep(1100 * 1000);
	run(st, &sweep, 1);
	assert_int_equal(sweep.op.result, STORE_OK);
	assert_int_equal(sweep.op.expired, 1);
	run(st, &sweep, 1);
	assert_int_equal(sweep.op.expired, 0);

	d = get(st, id);
	assert_string_equal(d->status, "EXPIRED");
	assert_true(d->sla_violated);
	assert_non_null(d->history);
	assert_string_equal(d->history->reviewed_by, "system");
	assert_string_equal(d->history->outcome, "EXPIRED");
	assert_true(ts_ms(d->history->reviewed_at) >= ts_ms(d->expires_at));
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	store_get_metrics(st, &m);
	assert_int_equal(m.expired, 1);
	assert_int_equal(m.sla_violations, 1);
	assert_int_equal(m.pending, 1);
	assert_int_equal(m.critical, 0);
	assert_int_equal(review(st, &sweep, STORE_OP_APPROVE, sid, id, NULL), STORE_E_CONFLICT);
	assert_non_null(strstr(sweep.message, "is already EXPIRED"));
	store_close(st);

	st = open_at(path, 0, 0);
	store_get_metrics(st, &m);
	assert_int_equal(m.expired, 1);
	assert_int_equal(m.pending, 1);
	store_close(st);
	wop_release(w, 2);
	free(p);
	free(q);
}

/* Lists every page of f; checks each page's size and total; returns the
 * ids in order (caller frees). */
static char **list_all(store *st, const store_filter *f, uint32_t limit, uint32_t want_total,
		       size_t *n)
{
	char token[128] = "";
	char **ids = NULL;
	size_t k = 0;

	do {
		store_page pg;

		assert_int_equal(store_list(st, f, token, limit, &pg), STORE_OK);
		assert_int_equal(pg.total, want_total);
		assert_true(pg.count <= limit);
		if (pg.next_token[0])
			assert_int_equal(pg.count, limit);
		ids = realloc(ids, (k + pg.count + 1) * sizeof(*ids));
		for (size_t i = 0; i < pg.count; i++) {
			Decision *d = decode(pg.data + pg.offsets[i], pg.lengths[i]);
			ids[k++] = strdup(d->decision_id);
			vertice__governance__v1__decision__free_unpacked(d, NULL);
		}
		snprintf(token, sizeof(token), "%s", pg.next_token);
		store_page_release(&pg);
	} while (token[0]);
	*n = k;
	return ids;
}

static int sub_cmp(const void *a, const void *b)
{
	const struct sub *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void listing(void **state)
{
	char path[256], sid[40];
	static const char *const prios[] = { "LOW", "CRITICAL", "MEDIUM", "HIGH", "LOW" };
	struct sub subs[60];
	struct wop w;
	store_filter f = { NULL, NULL, NULL, NULL };
	store_page pg;
	char **ids;
	size_t n;
	store *st;

	db_path(path, sizeof(path), "listing");
	st = open_at(path, 0, 0);
	/* Three submissions, a millisecond apart at least, of 20 each. */
	for (int r = 0; r < 3; r++) {
		submit_many(st, 20, r == 1 ? "block_ip" : "rollback_deployment", prios, 5,
			    r == 2 ? "alice" : NULL, subs + r * 20);
		usleep(2000);
	}
	qsort(subs, 60, sizeof(subs[0]), sub_cmp);

	/* Open decisions, 7 a page: the order across pages. */
	ids = list_all(st, &f, 7, 60, &n);
	assert_int_equal(n, 60);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ids[i], subs[i].id);
		free(ids[i]);
	}
	free(ids);

	/* Filters. */
	f.priority = "LOW";
	ids = list_all(st, &f, 5, 24, &n);
	assert_int_equal(n, 24);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	f.priority = NULL;
	f.operation_type = "block_ip";
	ids = list_all(st, &f, 3, 20, &n);
	assert_int_equal(n, 20);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	f.operation_type = "rollback_deployment";
	f.assigned_operator = "alice";
	f.priority = "CRITICAL";
	ids = list_all(st, &f, 2, 4, &n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);

	/* A token is good only for the filter it was made for. */
	f.operation_type = f.assigned_operator = f.priority = NULL;
	assert_int_equal(store_list(st, &f, "", 5, &pg), STORE_OK);
	assert_true(pg.next_token[0] != '\0');
	{
		char token[128];
		store_page pg2;

		snprintf(token, sizeof(token), "%s", pg.next_token);
		f.priority = "HIGH";
		assert_int_equal(store_list(st, &f, token, 5, &pg2), STORE_E_INVALID);
		f.priority = NULL;
		f.status = "PENDING";
		assert_int_equal(store_list(st, &f, token, 5, &pg2), STORE_E_INVALID);
		f.status = NULL;
		assert_int_equal(store_list(st, &f, "not-a-token", 5, &pg2), STORE_E_INVALID);
		assert_int_equal(store_list(st, &f, token, 5, &pg2), STORE_OK);
		store_page_release(&pg2);
	}
	store_page_release(&pg);
	f.status = "DONE";
	assert_int_equal(store_list(st, &f, "", 5, &pg), STORE_E_INVALID);
	f.status = NULL;

	/* Approve half of them (every other in order): resolved ones are
	 * listed from the database in the same order. */
	session_open(st, "gina", sid, sizeof(sid));
	for (int i = 0; i < 60; i += 2) {
		assert_int_equal(review(st, &w, STORE_OP_APPROVE, sid, subs[i].id, NULL), STORE_OK);
		wop_release(&w, 1);
	}
	f.status = "APPROVED";
	ids = list_all(st, &f, 4, 30, &n);
	assert_int_equal(n, 30);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ids[i], subs[2 * i].id);
		free(ids[i]);
	}
	free(ids);
	f.priority = "LOW";
	ids = list_all(st, &f, 4, 12, &n);
	assert_int_equal(n, 12);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	f.priority = NULL;
	f.assigned_operator = "alice";
	ids = list_all(st, &f, 4, 10, &n);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	f.assigned_operator = NULL;
	f.status = NULL;
	ids = list_all(st, &f, 9, 30, &n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ids[i], subs[2 * i + 1].id);
		free(ids[i]);
	}
	free(ids);
	/* After a restart, from the database. */
	store_close(st);
	st = open_at(path, 0, 0);
	ids = list_all(st, &f, 11, 30, &n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ids[i], subs[2 * i + 1].id);
		free(ids[i]);
	}
	free(ids);
	store_close(st);
}

static void metrics_exact(void **state)
{
	char path[256], sid[40], sid2[40];
	static const char *const prios[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW" };
	struct sub subs[40];
	struct wop w;
	store_metrics m, m2;
	store_operator_stats os;
	int approved = 0, rejected = 0, escalated = 0;
	int64_t resp = 0;
	store *st;

	db_path(path, sizeof(path), "metrics");
	st = open_at(path, 0, 0);
	submit_many(st, 40, "block_ip", prios, 4, NULL, subs);
	session_open(st, "hank", sid, sizeof(sid));
	session_open(st, "ivy", sid2, sizeof(sid2));
	usleep(3000);
	for (int i = 0; i < 40; i++) {
		store_op_kind k = i % 5 == 0 ? STORE_OP_APPROVE : i % 5 == 1 ? STORE_OP_REJECT :
				  i % 5 == 2 ? STORE_OP_ESCALATE : 0;
		Decision *d;

		if (!k)
			continue;
		assert_int_equal(review(st, &w, k, i % 2 ? sid : sid2, subs[i].id, NULL), STORE_OK);
		d = decode(w.decision, w.len);
		if (k == STORE_OP_APPROVE)
			approved++;
		else if (k == STORE_OP_REJECT)
			rejected++;
		else
			escalated++;
		if (k != STORE_OP_ESCALATE)
			resp += ts_ms(d->history->reviewed_at) - ts_ms(d->created_at);
		vertice__governance__v1__decision__free_unpacked(d, NULL);
		wop_release(&w, 1);
	}
	store_get_metrics(st, &m);
	assert_int_equal(m.total, 40);
	assert_int_equal(m.approved, approved);
	assert_int_equal(m.rejected, rejected);
	assert_int_equal(m.escalated, escalated);
	assert_int_equal(m.pending, 40 - approved - rejected);
	assert_int_equal(m.expired, 0);
	assert_int_equal(m.sla_violations, 0);
	/* subs[i] has priority i % 4; resolved are i % 5 in {0, 1}. */
	{
		int crit = 0, high = 0;
		for (int i = 0; i < 40; i++) {
			int open = i % 5 > 1;
			crit += open && i % 4 == 0;
			high += open && i % 4 == 1;
		}
		assert_int_equal(m.critical, crit);
		assert_int_equal(m.high, high);
	}
	assert_true(m.avg_response_s > (double)resp / 1000.0 / (approved + rejected) - 1e-9);
	assert_true(m.avg_response_s < (double)resp / 1000.0 / (approved + rejected) + 1e-9);
	assert_true(m.approval_rate > 0.499 && m.approval_rate < 0.501);
	assert_int_equal(m.last_seq, store_last_seq(st));
	assert_int_equal(m.last_seq, 40 + approved + rejected + escalated);

	/* Operator stats: hank (odd i) and ivy (even i). */
	assert_int_equal(store_get_operator_stats(st, "hank", &os), STORE_OK);
	{
		int a = 0, r = 0, e = 0;
		for (int i = 1; i < 40; i += 2) {
			a += i % 5 == 0;
			r += i % 5 == 1;
			e += i % 5 == 2;
		}
		assert_int_equal(os.approved, a);
		assert_int_equal(os.rejected, r);
		assert_int_equal(os.escalated, e);
		assert_int_equal(os.total, a + r + e);
		assert_true(os.avg_response_s > 0.0);
	}
	store_close(st);

	/* The same figures from the database after a restart. */
	st = open_at(path, 0, 0);
	store_get_metrics(st, &m2);
	assert_int_equal(m2.total, m.total);
	assert_int_equal(m2.pending, m.pending);
	assert_int_equal(m2.approved, m.approved);
	assert_int_equal(m2.rejected, m.rejected);
	assert_int_equal(m2.escalated, m.escalated);
	assert_int_equal(m2.critical, m.critical);
	assert_int_equal(m2.high, m.high);
	assert_int_equal(m2.last_seq, m.last_seq);
	assert_true(m2.avg_response_s > m.avg_response_s - 1e-9 &&
		    m2.avg_response_s < m.avg_response_s + 1e-9);
	store_close(st);
}

struct collect {
	uint64_t first, last;
	uint32_t n;
	uint32_t stop_after;   /* 0: never */
	int new_, updated, resolved;
};

static int collect(const store_event *ev, void *ud)
{
	struct collect *c = ud;
	Decision *d = decode(ev->decision, ev->decision_len);

	if (c->n)
		assert_int_equal(ev->seq, c->last + 1);
	else
		c->first = ev->seq;
	c->last = ev->seq;
	c->n++;
	assert_true(ev->at_ms > 0);
	switch (ev->type) {
	case STORE_EV_NEW:
		assert_string_equal(d->status, "PENDING");
		c->new_++;
		break;
	case STORE_EV_UPDATED:
		assert_string_equal(d->status, "ESCALATED");
		c->updated++;
		break;
	case STORE_EV_RESOLVED:
		c->resolved++;
		break;
	}
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	return c->stop_after && c->n >= c->stop_after;
}

static uint64_t hook_last;
static int hook_calls;

static void hook(uint64_t last_seq, void *ud)
{
	(void)ud;
	__atomic_store_n(&hook_last, last_seq, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&hook_calls, 1, __ATOMIC_SEQ_CST);
}

static void events(void **state)
{
	char path[256], sid[40];
	static const char *const prios[] = { "HIGH", "LOW" };
	struct sub subs[100];
	struct collect c;
	struct wop w;
	store *st;
	uint64_t last;

	db_path(path, sizeof(path), "events");
	/* A ring of 8 events, 40 kept in the database. */
	st = open_at(path, 8, 40);
	hook_calls = 0;
	store_set_event_hook(st, hook, NULL);
	submit_many(st, 30, "block_ip", prios, 2, NULL, subs);
	session_open(st, "jack", sid, sizeof(sid));
	assert_int_equal(review(st, &w, STORE_OP_ESCALATE, sid, subs[0].id, NULL), STORE_OK);
	wop_release(&w, 1);
	assert_int_equal(review(st, &w, STORE_OP_APPROVE, sid, subs[1].id, NULL), STORE_OK);
	wop_release(&w, 1);
	last = store_last_seq(st);
	assert_int_equal(last, 32);
	assert_true(hook_calls >= 3);
	assert_int_equal(__atomic_load_n(&hook_last, __ATOMIC_SEQ_CST), last);

	/* From the database (1..24) and the ring (25..32) in one call. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_events_since(st, 0, 1000, collect, &c), STORE_OK);
	assert_int_equal(c.first, 1);
	assert_int_equal(c.last, 32);
	assert_int_equal(c.new_, 30);
	assert_int_equal(c.updated, 1);
	assert_int_equal(c.resolved, 1);
	/* max and a stop from the callback. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_events_since(st, 10, 5, collect, &c), STORE_OK);
	assert_int_equal(c.first, 11);
	assert_int_equal(c.n, 5);
	memset(&c, 0, sizeof(c));
	c.stop_after = 3;
	assert_int_equal(store_events_since(st, 27, 100, collect, &c), STORE_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.last, 30);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_events_since(st, last, 100, collect, &c), STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_events_since(st, last + 1, 100, collect, &c), STORE_E_INVALID);

	/* Past the retention, the oldest go: resuming from them is RANGE. */
	submit_many(st, 60, "block_ip", prios, 2, NULL, subs);
	last = store_last_seq(st);
	assert_int_equal(last, 92);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_events_since(st, 0, 1000, collect, &c), STORE_E_RANGE);
	assert_int_equal(c.n, 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_events_since(st, last - 40, 1000, collect, &c), STORE_OK);
	assert_int_equal(c.n, 40);
	assert_int_equal(c.last, last);
	store_close(st);

	/* After a restart the ring is empty: all from the database, and new
	 * events continue the sequence. */
	st = open_at(path, 8, 40);
	assert_int_equal(store_last_seq(st), last);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_events_since(st, last - 30, 1000, collect, &c), STORE_OK);
	assert_int_equal(c.n, 30);
	assert_int_equal(store_events_since(st, 0, 10, collect, &c), STORE_E_RANGE);
	submit_many(st, 3, "block_ip", prios, 2, NULL, NULL);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_events_since(st, last - 5, 1000, collect, &c), STORE_OK);
	assert_int_equal(c.first, last - 4);
	assert_int_equal(c.last, last + 3);
	store_close(st);
}

/* Concurrent clients: batches share commits, and a figure for the log. */
struct client {
	store *st;
	const char *sid;
	struct sub *subs;
	int from, to;
	int ok;
};

struct cwait {
	store_op op;
	pthread_mutex_t m;
	pthread_cond_t c;
	int done;
};

static void client_done(store_op *op)
{
	struct cwait *w = (struct cwait *)op;

	pthread_mutex_lock(&w->m);
	w->done = 1;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	struct cwait w;

	pthread_mutex_init(&w.m, NULL);
	pthread_cond_init(&w.c, NULL);
	for (int i = cl->from; i < cl->to; i++) {
		memset(&w.op, 0, sizeof(w.op));
		w.done = 0;
		w.op.kind = STORE_OP_APPROVE;
		w.op.session_id = cl->sid;
		w.op.decision_id = cl->subs[i].id;
		w.op.done = client_done;
		store_submit(cl->st, &w.op);
		pthread_mutex_lock(&w.m);
		while (!w.done)
			pthread_cond_wait(&w.c, &w.m);
		pthread_mutex_unlock(&w.m);
		cl->ok += w.op.result == STORE_OK;
	}
	pthread_mutex_destroy(&w.m);
	pthread_cond_destroy(&w.c);
	return NULL;
}

static void group_commit(void **state)
{
	enum { N = 5000, CLIENTS = 50 };
	char path[256], sid[40];
	static const char *const prios[] = { "MEDIUM" };
	struct sub *subs = calloc(N, sizeof(*subs));
	struct client cl[CLIENTS];
	pthread_t th[CLIENTS];
	uint64_t c0, commits;
	struct timespec t0, t1;
	store_metrics m;
	double secs;
	int ok = 0;
	store *st;

	db_path(path, sizeof(path), "group");
	st = open_at(path, 0, 0);
	c0 = store__commits(st);
	submit_many(st, N, "block_ip", prios, 1, NULL, subs);
	/* N submissions queued at once: a handful of transactions. */
	assert_true(store__commits(st) - c0 < N / 100);
	session_open(st, "kim", sid, sizeof(sid));
	c0 = store__commits(st);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < CLIENTS; i++) {
		cl[i].st = st;
		cl[i].sid = sid;
		cl[i].subs = subs;
		cl[i].from = N * i / CLIENTS;
		cl[i].to = N * (i + 1) / CLIENTS;
		cl[i].ok = 0;
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		ok += cl[i].ok;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	commits = store__commits(st) - c0;
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("group commit: %d approvals by %d clients in %.3f s (%.0f/s), "
		      "%llu transactions (%.1f approvals each)\n", ok, CLIENTS, secs, ok / secs,
		      (unsigned long long)commits, (double)ok / (double)commits);
	assert_int_equal(ok, N);
	assert_true(commits < N / 2);
	store_get_metrics(st, &m);
	assert_int_equal(m.approved, N);
	assert_int_equal(m.pending, 0);
	store_close(st);
	free(subs);
}

static int count_rows(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int n = -1;

	/* The default VFS, as every other connection: it sees what the
	 * writer's commits made visible, from the file. */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM decisions", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* The writer's log writes are gathered (vfs_gather.c) and written when its
 * COMMIT syncs the log: every answered write is in the file for any other
 * connection, also for a commit larger than what is gathered at once. */
static void log_gathered_and_visible(void **state)
{
	static const char *const prios[] = { "CRITICAL", "LOW" };
	char path[256];
	store_metrics m;
	store_stats ss;
	store *st;
	int total = 0;

	(void)state;
	db_path(path, sizeof(path), "gather");
	st = open_at(path, 0, 0);
	for (int i = 0; i < 20; i++) {
		submit_many(st, 37, "block_ip", prios, 2, NULL, NULL);
		total += 37;
		assert_int_equal(count_rows(path), total);
	}
	/* ~1,500 decisions in one or two batches: several hundred KiB of log
	 * in a commit, written in several pieces. */
	submit_many(st, 1500, "quarantine_host", prios, 2, NULL, NULL);
	total += 1500;
	assert_int_equal(count_rows(path), total);
	store_get_stats(st, &ss);
	/* Each commit synced the log (SQLite, through the VFS). */
	assert_true(ss.syncs >= ss.commits);
	store_close(st);
	st = open_at(path, 0, 0);
	store_get_metrics(st, &m);
	assert_int_equal(m.pending, total);
	store_close(st);
}

/* A reader's snapshot holds the log back: a checkpoint copies no frame
 * past it.  The thread then waits between passes rather than spinning, and
 * once the reader is gone the log is copied and starts over. */
static void checkpoints_wait_for_a_reader(void **state)
{
	enum { PAGES = 64 };
	static const char *const prios[] = { "HIGH" };
	char path[256], err[512];
	store_options o;
	store_stats ss;
	sqlite3 *rd = NULL;
	sqlite3_stmt *q = NULL;
	uint64_t passes, tails;
	store *st = NULL;

	(void)state;
	db_path(path, sizeof(path), "ckpt-reader");
	store_options_init(&o);
	o.path = path;
	o.checkpoint_pages = PAGES;
	if (store_open(&o, &st, err, sizeof(err)) != STORE_OK)
		fail_msg("store_open: %s", err);
	submit_many(st, 20, "block_ip", prios, 1, NULL, NULL);
	/* A snapshot on a frame of the log (not on the database alone). */
	assert_int_equal(sqlite3_open_v2(path, &rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(rd, "SELECT count(*) FROM decisions", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	for (int i = 0; i < 10; i++)
		submit_many(st, 300, "block_ip", prios, 1, NULL, NULL);
	usleep(300 * 1000);
	store_get_stats(st, &ss);
	passes = ss.checkpoints;
	print_message("with the reader: %llu passes\n", (unsigned long long)passes);
	/* A pass that copies nothing takes microseconds: spinning would make
	 * tens of thousands of them here; waiting 1 ms each, a few hundred. */
	assert_true(passes < 2000);
	tails = ss.checkpoints_tail;
	sqlite3_finalize(q);
	sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(rd);
	for (int i = 0; i < 200 && ss.checkpoints_tail == tails; i++) {
		submit_many(st, 50, "block_ip", prios, 1, NULL, NULL);
		usleep(10 * 1000);
		store_get_stats(st, &ss);
	}
	assert_true(ss.checkpoints_tail > tails);
	store_close(st);
}

/* Checkpoints run on the store's own thread, not in the writer's commits:
 * with a small threshold, a sustained load keeps the log near it (SQLite's
 * automatic checkpoint is off), and nothing is lost across a reopen. */
static void checkpoints_beside_the_writer(void **state)
{
	enum { N = 3000, CLIENTS = 20, PAGES = 64 };
	static const char *const prios[] = { "HIGH", "LOW" };
	struct sub *subs = calloc(N, sizeof(*subs));
	struct client cl[CLIENTS];
	pthread_t th[CLIENTS];
	char path[256], wal[300], sid[40], err[512];
	store_options o;
	store_stats ss;
	store_metrics m;
	struct stat sb;
	store *st = NULL;
	int ok = 0;

	db_path(path, sizeof(path), "ckpt");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	store_options_init(&o);
	o.path = path;
	o.checkpoint_pages = PAGES;
	if (store_open(&o, &st, err, sizeof(err)) != STORE_OK)
		fail_msg("store_open: %s", err);
	submit_many(st, N, "block_ip", prios, 2, NULL, subs);
	session_open(st, "kim", sid, sizeof(sid));
	for (int i = 0; i < CLIENTS; i++) {
		cl[i] = (struct client){ .st = st, .sid = sid, .subs = subs,
					 .from = N * i / CLIENTS, .to = N * (i + 1) / CLIENTS };
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		ok += cl[i].ok;
	}
	assert_int_equal(ok, N);
	store_get_stats(st, &ss);
	assert_int_equal(stat(wal, &sb), 0);
	print_message("checkpoints: %llu by the thread (%.1f ms), %llu tails and %llu "
		      "backstops by the writer; log %lld bytes\n",
		      (unsigned long long)ss.checkpoints, (double)ss.checkpoint_ns / 1e6,
		      (unsigned long long)ss.checkpoints_tail,
		      (unsigned long long)ss.checkpoints_inline, (long long)sb.st_size);
	assert_true(ss.checkpoints > 0);
	/* The thread leaves each round's last frames to the writer, whose
	 * copy lets the log start over. */
	assert_true(ss.checkpoints_tail > 0);
	/* The log starts over once a checkpoint has copied all of it: it
	 * never holds the whole run (several MiB here), at most about the
	 * writer's backstop (8 x 64 pages) and a batch. */
	assert_true(sb.st_size < 4 * 1024 * 1024);
	store_close(st);
	st = open_at(path, 0, 0);
	store_get_metrics(st, &m);
	assert_int_equal(m.approved, N);
	assert_int_equal(m.pending, 0);
	store_close(st);
	free(subs);
}

/* done() of an op that is answered while the store closes submits
 * another: that one is refused with STORE_E_CLOSED. */
static store *closing_store;
static struct wop late;

static void submit_late(store_op *op)
{
	on_done(op);
	memset(&late, 0, sizeof(late));
	late.op.kind = STORE_OP_SESSION_OPEN;
	late.op.operator_id = "late";
	pthread_mutex_lock(&lock);
	pending++;
	pthread_mutex_unlock(&lock);
	late.op.done = on_done;
	store_submit(closing_store, &late.op);
}

static void closing(void **state)
{
	char path[256];
	struct wop g, w[10];

	db_path(path, sizeof(path), "closing");
	closing_store = open_at(path, 0, 0);
	gate_close(closing_store, &g);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 10; i++) {
		w[i].op.kind = STORE_OP_SESSION_OPEN;
		w[i].op.operator_id = "closer";
	}
	queue(closing_store, w, 9);
	pthread_mutex_lock(&lock);
	pending++;
	pthread_mutex_unlock(&lock);
	w[9].op.done = submit_late;
	store_submit(closing_store, &w[9].op);
	gate_open();
	/* Close drains what was queued: every done() runs. */
	store_close(closing_store);
	wait_all();
	for (int i = 0; i < 10; i++)
		assert_int_equal(w[i].op.result, STORE_OK);
	assert_int_equal(late.op.result, STORE_E_CLOSED);
	store_close(NULL);
	wop_release(&g, 1);
}

/* A changed decision is the canonical encoding of what it says (the
 * writer splices fields into the stored bytes instead of re-encoding). */
static void blobs_canonical(void **state)
{
	char path[256], sid[40];
	struct wop w;
	store *st;
	Decision *d;
	uint8_t *again;
	size_t len;

	db_path(path, sizeof(path), "canonical");
	st = open_at(path, 0, 0);
	assert_int_equal(store_seed_demo(st, 6), STORE_OK);
	session_open(st, "lee", sid, sizeof(sid));
	{
		store_filter f = { NULL, NULL, NULL, NULL };
		store_page pg;
		char ids[6][40];

		assert_int_equal(store_list(st, &f, "", 10, &pg), STORE_OK);
		assert_int_equal(pg.count, 6);
		for (size_t i = 0; i < 6; i++) {
			d = decode(pg.data + pg.offsets[i], pg.lengths[i]);
			snprintf(ids[i], sizeof(ids[i]), "%s", d->decision_id);
			vertice__governance__v1__decision__free_unpacked(d, NULL);
		}
		store_page_release(&pg);
		for (int i = 0; i < 6; i++) {
			store_op_kind k = i % 3 == 0 ? STORE_OP_APPROVE :
					  i % 3 == 1 ? STORE_OP_ESCALATE : STORE_OP_REJECT;
			assert_int_equal(review(st, &w, k, sid, ids[i], i == 2 ? "r-9" : NULL),
					 STORE_OK);
			d = decode(w.decision, w.len);
			len = vertice__governance__v1__decision__get_packed_size(d);
			again = malloc(len);
			vertice__governance__v1__decision__pack(d, again);
			assert_int_equal(len, w.len);
			assert_memory_equal(again, w.decision, len);
			/* Everything else survived the change. */
			assert_true(d->n_context >= 2);
			assert_non_null(d->risk_assessment);
			assert_non_null(d->ethical_assessment);
			assert_true(d->n_recommended_actions >= 1);
			free(again);
			vertice__governance__v1__decision__free_unpacked(d, NULL);
			wop_release(&w, 1);
		}
	}
	store_close(st);
}

/* The patch store__blob_patch packs by hand, against protobuf-c packing
 * the same fields of a Decision (what the store did before). */
static void ts_set(Google__Protobuf__Timestamp *t, int64_t ms)
{
	google__protobuf__timestamp__init(t);
	t->seconds = ms / 1000;
	t->nanos = (int32_t)(ms % 1000) * 1000000;
}

static char *or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

static size_t patch_by_protobuf_c(const struct store__change *c, uint8_t *out)
{
	Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Vertice__Governance__V1__DecisionHistory h =
		VERTICE__GOVERNANCE__V1__DECISION_HISTORY__INIT;
	Vertice__Governance__V1__ExecutionRecord x =
		VERTICE__GOVERNANCE__V1__EXECUTION_RECORD__INIT;
	Vertice__Governance__V1__ExecutionRecord *xs[1] = { &x };
	Google__Protobuf__Timestamp updated, submitted, reviewed;

	d.status = or_empty(c->status);
	ts_set(&updated, c->now_ms);
	d.updated_at = &updated;
	if (c->history) {
		ts_set(&submitted, c->submitted_ms);
		ts_set(&reviewed, c->now_ms);
		h.submitted_at = &submitted;
		h.reviewed_at = &reviewed;
		h.reviewed_by = or_empty(c->reviewed_by);
		h.outcome = or_empty(c->outcome);
		h.comment = or_empty(c->comment);
		h.reasoning = or_empty(c->reasoning);
		h.request_id = or_empty(c->request_id);
		d.history = &h;
	}
	d.sla_violated = c->sla_violated ? 1 : 0;
	if (c->escalate) {
		d.assigned_operator = or_empty(c->escalated_to);
		d.escalated_to = or_empty(c->escalated_to);
		d.escalation_reason = or_empty(c->escalation_reason);
		d.escalated_by = or_empty(c->escalated_by);
		d.escalated_at = &updated;
	}
	if (c->execution) {
		x.action_type = or_empty(c->action_type);
		x.action_index = c->action_index;
		x.succeeded = c->succeeded ? 1 : 0;
		x.detail = or_empty(c->detail);
		x.target = or_empty(c->target);
		x.executed_by = or_empty(c->executed_by);
		x.executed_at = &updated;
		x.request_id = or_empty(c->exec_request_id);
		d.n_executions = 1;
		d.executions = xs;
	}
	return vertice__governance__v1__decision__pack(&d, out);
}

static void blob_patch_as_protobuf_c(void **state)
{
	static char long_text[3000];
	/* approve with everything; reject with empty and NULL strings, a
	 * long comment, time 0; expire; escalate to someone and to nobody;
	 * executions: failed with a negative index and time, and one of
	 * each field; nothing but an empty status */
	const struct store__change cs[] = {
		{ .status = "APPROVED", .now_ms = 1795775386581, .history = 1,
		  .submitted_ms = 1795775380000, .reviewed_by = "alice", .outcome = "APPROVED",
		  .comment = "go", .reasoning = "looks right", .request_id = "r-1" },
		{ .status = "REJECTED", .history = 1, .reviewed_by = "", .outcome = "REJECTED",
		  .comment = long_text },
		{ .status = "EXPIRED", .now_ms = 1795775386000, .history = 1,
		  .submitted_ms = 1795775386999, .reviewed_by = "system", .outcome = "EXPIRED",
		  .sla_violated = 1 },
		{ .status = "ESCALATED", .now_ms = 1795775386581, .escalate = 1,
		  .escalated_to = "bob", .escalation_reason = "needs a second look",
		  .escalated_by = "alice" },
		{ .status = "ESCALATED", .now_ms = 1795775386581, .escalate = 1,
		  .escalated_to = "", .escalated_by = "alice" },
		{ .status = "APPROVED", .now_ms = -1500, .execution = 1, .action_type = "k8s.scale",
		  .action_index = -3, .detail = long_text, .executed_by = "alice" },
		{ .status = "APPROVED", .now_ms = 1795775386581, .execution = 1,
		  .action_type = "k8s.scale", .action_index = 200, .succeeded = 1,
		  .detail = "scaled", .target = "context kind-test", .executed_by = "alice",
		  .exec_request_id = "x-1" },
		{ .status = "" },
	};
	uint8_t want[8192], got[8192];

	(void)state;
	memset(long_text, 'x', sizeof(long_text) - 1);
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		size_t wn = patch_by_protobuf_c(&cs[i], want);
		size_t n = store__blob_patch(&cs[i], NULL);

		assert_int_equal(n, wn);
		assert_int_equal(store__blob_patch(&cs[i], got), wn);
		assert_memory_equal(got, want, wn);
	}
}

static void demo_data(void **state)
{
	char path[256];
	store_metrics m;
	store_filter f = { NULL, NULL, NULL, NULL };
	store_page pg;
	store *st;
	int critical = 0, assigned = 0, sla_ok = 1;

	db_path(path, sizeof(path), "demo");
	st = open_at(path, 0, 0);
	assert_int_equal(store_seed_demo(st, 40), STORE_OK);
	store_get_metrics(st, &m);
	assert_int_equal(m.total, 40);
	assert_int_equal(m.pending, 40);
	assert_true(m.critical >= 1 && m.critical < 12);
	assert_int_equal(store_list(st, &f, "", 40, &pg), STORE_OK);
	assert_int_equal(pg.count, 40);
	for (size_t i = 0; i < pg.count; i++) {
		Decision *d = decode(pg.data + pg.offsets[i], pg.lengths[i]);

		critical += !strcmp(d->priority, "CRITICAL");
		assigned += d->assigned_operator[0] != '\0';
		sla_ok &= d->sla_seconds >= 300 && d->sla_seconds <= 14400;
		assert_true(d->operation_type[0] != '\0');
		assert_non_null(d->risk_assessment);
		assert_true(d->risk_assessment->n_factors >= 1);
		assert_non_null(d->ethical_assessment);
		assert_true(d->ethical_assessment->n_principles >= 1);
		assert_true(d->n_recommended_actions >= 1);
		assert_true(d->n_context >= 2);
		vertice__governance__v1__decision__free_unpacked(d, NULL);
	}
	store_page_release(&pg);
	assert_int_equal(critical, m.critical);
	assert_true(assigned > 0 && assigned < 40);
	assert_true(sla_ok);
	store_close(st);
}


/* ---- the audit trail, the review rules, tokens ---- */

struct aent {
	uint64_t seq;
	int64_t at;
	char actor[64], role[16], action[32], outcome[8], subject[48], detail[256];
	char prev[AUDIT_HASH_HEX + 1], hash[AUDIT_HASH_HEX + 1];
};

struct acollect {
	struct aent *v;
	size_t n, max;
};

static int collect_audit(const store_audit_entry *e, void *ud)
{
	struct acollect *c = ud;
	struct aent *a;

	if (c->n == c->max)
		return 1;
	a = &c->v[c->n++];
	a->seq = e->seq;
	a->at = e->at_ms;
	snprintf(a->actor, sizeof(a->actor), "%s", e->actor);
	snprintf(a->role, sizeof(a->role), "%s", e->role);
	snprintf(a->action, sizeof(a->action), "%s", e->action);
	snprintf(a->outcome, sizeof(a->outcome), "%s", e->outcome);
	snprintf(a->subject, sizeof(a->subject), "%s", e->subject);
	snprintf(a->detail, sizeof(a->detail), "%s", e->detail);
	snprintf(a->prev, sizeof(a->prev), "%s", e->prev_hash);
	snprintf(a->hash, sizeof(a->hash), "%s", e->hash);
	return 0;
}

static size_t audit_matching(store *st, const store_audit_filter *f, struct aent *out, size_t max)
{
	struct acollect c = { out, 0, max };

	assert_int_equal(store_audit_list(st, f, 0, 0, collect_audit, &c), STORE_OK);
	return c.n;
}

/* The whole trail is one unbroken chain from the first entry. */
static void check_chain(const struct aent *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct audit_fields f = { a[i].at, a[i].actor, a[i].role, a[i].action,
					  a[i].outcome, a[i].subject, a[i].detail };
		char h[AUDIT_HASH_HEX + 1];

		assert_int_equal(a[i].seq, i + 1);
		assert_string_equal(a[i].prev, i ? a[i - 1].hash : audit_chain_genesis);
		assert_int_equal(audit_chain_hash(a[i].prev, &f, h), 0);
		assert_string_equal(h, a[i].hash);
	}
}

static struct aent *audit_all(store *st, size_t *n)
{
	static struct aent all[512];

	*n = audit_matching(st, NULL, all, 512);
	check_chain(all, *n);
	return all;
}

/* Submits one decision as actor; its id in id. */
static void submit_as(store *st, const char *actor, const char *assigned, char *id, size_t idlen)
{
	struct wop w;
	size_t len;
	uint8_t *p = proposal("block_ip", "HIGH", 3600, assigned, &len);
	Decision *d;

	memset(&w, 0, sizeof(w));
	w.op.kind = STORE_OP_SUBMIT;
	w.op.proposal = p;
	w.op.proposal_len = len;
	w.op.actor = actor;
	w.op.actor_role = actor ? "producer" : NULL;
	run(st, &w, 1);
	assert_int_equal(w.op.result, STORE_OK);
	d = decode(w.decision, w.len);
	snprintf(id, idlen, "%s", d->decision_id);
	assert_string_equal(d->submitted_by, actor ? actor : "");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	wop_release(&w, 1);
	free(p);
}

static void review_op(struct wop *w, store_op_kind kind, const char *actor, const char *sid,
		      const char *id)
{
	memset(w, 0, sizeof(*w));
	w->op.kind = kind;
	w->op.actor = actor;
	w->op.actor_role = "operator";
	w->op.session_id = sid;
	w->op.decision_id = id;
	w->op.comment = "reviewed";
	w->op.target = "alice";
}

static store_code review_as(store *st, store_op_kind kind, const char *actor, const char *sid,
			    const char *id, char *msg, size_t msglen)
{
	struct wop w;

	review_op(&w, kind, actor, sid, id);
	run(st, &w, 1);
	snprintf(msg, msglen, "%s", w.message);
	wop_release(&w, 1);
	return w.op.result;
}

static void migrate_from_v2(void **state)
{
	char path[256], parent[256], sid[40] = "s-alice", msg[256];
	Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Google__Protobuf__Timestamp c = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Google__Protobuf__Timestamp e = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	int64_t t = (int64_t)time(NULL) * 1000 - 60000;
	store_token tok;
	struct aent *a;
	sqlite3_stmt *s;
	uint8_t b[512];
	size_t len, n;
	sqlite3 *db;
	store *st;

	db_path(path, sizeof(path), "v2");
	snprintf(parent, sizeof(parent), "%s/v2", dir);
	mkdir(parent, 0700);
	snprintf(parent, sizeof(parent), "%s/v2/nested", dir);
	mkdir(parent, 0700);
	/* The version 2 schema as version 2 made it, with an open decision,
	 * an open session and an event. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"PRAGMA journal_mode=WAL;"
		"CREATE TABLE sessions (id TEXT PRIMARY KEY, operator_id TEXT NOT NULL,"
		"  created_ms INTEGER NOT NULL, closed_ms INTEGER) WITHOUT ROWID;"
		"CREATE TABLE events (seq INTEGER PRIMARY KEY, type INTEGER NOT NULL,"
		"  at_ms INTEGER NOT NULL, decision_id TEXT NOT NULL, blob BLOB NOT NULL);"
		"CREATE TABLE decisions (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
		"  open_status TEXT NOT NULL, priority_rank INTEGER NOT NULL,"
		"  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
		"  operation_type TEXT NOT NULL, assigned_operator TEXT NOT NULL,"
		"  idempotency_key TEXT UNIQUE, blob BLOB NOT NULL);"
		"CREATE TABLE resolutions (rid INTEGER PRIMARY KEY, id TEXT NOT NULL,"
		"  status TEXT NOT NULL, priority_rank INTEGER NOT NULL,"
		"  created_ms INTEGER NOT NULL, reviewed_ms INTEGER NOT NULL,"
		"  reviewed_by TEXT NOT NULL, operation_type TEXT NOT NULL,"
		"  assigned_operator TEXT NOT NULL, blob BLOB NOT NULL);"
		"CREATE UNIQUE INDEX resolutions_by_status"
		"  ON resolutions(status, priority_rank, created_ms, id);"
		"CREATE INDEX sessions_by_operator ON sessions(operator_id, created_ms);"
		"CREATE TABLE requests (request_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL,"
		"  kind INTEGER NOT NULL, processed_ms INTEGER NOT NULL, blob BLOB NOT NULL);"
		"CREATE TABLE operator_stats (operator_id TEXT PRIMARY KEY,"
		"  approved INTEGER NOT NULL, rejected INTEGER NOT NULL,"
		"  escalated INTEGER NOT NULL, response_ms INTEGER NOT NULL) WITHOUT ROWID;"
		"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
		"INSERT INTO meta(key, value) VALUES('open_floor_rid', 0);"
		"INSERT INTO sessions VALUES('s-alice', 'alice', 0, NULL);"
		"INSERT INTO events VALUES(1, 0, 0, 'd-open', x'');"
		"PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK);
	d.decision_id = "d-open";
	d.operation_type = "block_ip";
	d.status = "PENDING";
	d.priority = "HIGH";
	d.sla_seconds = 3600;
	c.seconds = t / 1000;
	e.seconds = t / 1000 + 3600;
	d.created_at = &c;
	d.expires_at = &e;
	len = vertice__governance__v1__decision__get_packed_size(&d);
	assert_true(len <= sizeof(b));
	vertice__governance__v1__decision__pack(&d, b);
	assert_int_equal(sqlite3_prepare_v2(db,
		"INSERT INTO decisions(id, open_status, priority_rank, created_ms, expires_ms, "
		"operation_type, assigned_operator, blob) VALUES('d-open', 'PENDING', 1, ?1, ?2, "
		"'block_ip', '', ?3)", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, t);
	sqlite3_bind_int64(s, 2, t + 3600000);
	sqlite3_bind_blob(s, 3, b, (int)len, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);

	st = open_at(path, 0, 0);
	assert_int_equal(store_schema_version(st), 5);
	assert_int_equal(store_last_seq(st), 1);
	a = audit_all(st, &n);
	assert_int_equal(n, 0);
	assert_int_equal(store_token_get(st, "t-none", &tok), STORE_E_NOTFOUND);
	/* What was open stays reviewable; the review starts the chain. */
	assert_int_equal(review_as(st, STORE_OP_APPROVE, NULL, sid, "d-open", msg, sizeof(msg)),
			 STORE_OK);
	a = audit_all(st, &n);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].actor, "alice");
	assert_string_equal(a[0].action, "decision.approve");
	assert_string_equal(a[0].outcome, "OK");
	assert_string_equal(a[0].subject, "d-open");
	assert_string_equal(a[0].prev, audit_chain_genesis);
	store_close(st);
	st = open_at(path, 0, 0);
	assert_int_equal(store_schema_version(st), 5);
	a = audit_all(st, &n);
	assert_int_equal(n, 1);
	store_close(st);
}

static void audit_and_rules(void **state)
{
	char path[256], msg[256], mine[40], carols[40], other[40], s_bot[40], s_alice[40],
		s_bob[40], s_carol[40];
	store_audit_filter f;
	struct wop w[40], g;
	struct aent *a, sel[64];
	size_t n, before, len;
	uint8_t *p;
	store *st;
	Decision *d;
	int denied = 0;

	db_path(path, sizeof(path), "rules");
	st = open_at(path, 0, 0);
	session_open(st, "bot-1", s_bot, sizeof(s_bot));
	session_open(st, "alice", s_alice, sizeof(s_alice));
	session_open(st, "bob", s_bob, sizeof(s_bob));
	session_open(st, "carol", s_carol, sizeof(s_carol));
	submit_as(st, "bot-1", NULL, mine, sizeof(mine));
	submit_as(st, "bot-1", "carol", carols, sizeof(carols));
	submit_as(st, NULL, NULL, other, sizeof(other));

	/* Nobody reviews what they submitted. */
	assert_int_equal(review_as(st, STORE_OP_APPROVE, "bot-1", s_bot, mine, msg, sizeof(msg)),
			 STORE_E_DENIED);
	assert_non_null(strstr(msg, "no-self-review: 'bot-1' submitted decision"));
	/* A session is its operator's alone. */
	assert_int_equal(review_as(st, STORE_OP_REJECT, "alice", s_bob, mine, msg, sizeof(msg)),
			 STORE_E_DENIED);
	assert_non_null(strstr(msg, "session-owner: session"));
	assert_non_null(strstr(msg, "belongs to 'bob', not to 'alice'"));
	/* Assigned to carol: not alice's, until carol escalates it to her. */
	assert_int_equal(review_as(st, STORE_OP_APPROVE, "alice", s_alice, carols, msg,
				   sizeof(msg)), STORE_E_DENIED);
	assert_non_null(strstr(msg, "assigned-to-other: decision"));
	assert_non_null(strstr(msg, "is assigned to 'carol'"));
	assert_int_equal(review_as(st, STORE_OP_ESCALATE, "carol", s_carol, carols, msg,
				   sizeof(msg)), STORE_OK);
	assert_int_equal(review_as(st, STORE_OP_ESCALATE, "carol", s_carol, carols, msg,
				   sizeof(msg)), STORE_E_DENIED);
	assert_int_equal(review_as(st, STORE_OP_APPROVE, "alice", s_alice, carols, msg,
				   sizeof(msg)), STORE_OK);
	d = get(st, carols);
	assert_string_equal(d->history->reviewed_by, "alice");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	/* A refusal and a review in one batch: the refusal is recorded and
	 * changes nothing, the review goes through. */
	gate_close(st, &g);
	review_op(&w[0], STORE_OP_APPROVE, "bob", s_alice, mine);
	review_op(&w[1], STORE_OP_APPROVE, "bob", s_bob, mine);
	queue(st, w, 2);
	gate_open();
	wait_all();
	assert_int_equal(w[0].op.result, STORE_E_DENIED);
	assert_int_equal(w[1].op.result, STORE_OK);
	wop_release(w, 2);
	/* Closing someone else's session is refused too. */
	memset(&w[0], 0, sizeof(w[0]));
	w[0].op.kind = STORE_OP_SESSION_CLOSE;
	w[0].op.session_id = s_carol;
	w[0].op.actor = "bob";
	w[0].op.actor_role = "operator";
	run(st, w, 1);
	assert_int_equal(w[0].op.result, STORE_E_DENIED);
	/* A refusal decided by the caller. */
	memset(&w[0], 0, sizeof(w[0]));
	w[0].op.kind = STORE_OP_AUDIT;
	w[0].op.actor = "bot-1";
	w[0].op.actor_role = "producer";
	w[0].op.audit_action = "decision.approve";
	w[0].op.audit_subject = other;
	w[0].op.audit_detail = "role: ApproveDecision needs the operator role";
	run(st, w, 1);
	assert_int_equal(w[0].op.result, STORE_OK);
	/* Without an actor (no authentication) nothing of this applies. */
	assert_int_equal(review_as(st, STORE_OP_APPROVE, NULL, s_bot, other, msg, sizeof(msg)),
			 STORE_OK);

	a = audit_all(st, &n);
	/* 5 sessions (with the gate's), 3 submissions, 4 reviews, 7 refusals */
	assert_int_equal(n, 19);
	for (size_t i = 0; i < n; i++)
		denied += !strcmp(a[i].outcome, "DENIED");
	assert_int_equal(denied, 7);
	assert_string_equal(a[0].action, "session.open");
	assert_string_equal(a[0].actor, "bot-1");
	assert_string_equal(a[4].action, "decision.submit");
	assert_string_equal(a[4].actor, "bot-1");
	assert_string_equal(a[4].role, "producer");
	assert_non_null(strstr(a[4].detail, "operation_type=block_ip priority=HIGH"));
	assert_string_equal(a[6].actor, "anonymous");
	assert_string_equal(a[7].outcome, "DENIED");
	assert_string_equal(a[7].subject, mine);
	assert_non_null(strstr(a[7].detail, "no-self-review"));
	memset(&f, 0, sizeof(f));
	f.outcome = "DENIED";
	f.actor = "alice";
	assert_int_equal(audit_matching(st, &f, sel, 64), 2);
	memset(&f, 0, sizeof(f));
	f.subject = carols;
	assert_int_equal(audit_matching(st, &f, sel, 64), 5);
	f.action = "decision.escalate";
	assert_int_equal(audit_matching(st, &f, sel, 64), 2);
	assert_non_null(strstr(sel[0].detail, " to=alice"));
	memset(&f, 0, sizeof(f));
	f.since_ms = a[0].at;
	f.until_ms = a[0].at;
	assert_int_equal(audit_matching(st, &f, sel, 64), 0);
	f.until_ms = a[n - 1].at + 1;
	assert_int_equal(audit_matching(st, &f, sel, 64), (int)n);

	/* A batch with more entries than one multi-row INSERT holds. */
	before = n;
	gate_close(st, &g);
	p = proposal("scale_down", "LOW", 600, NULL, &len);
	for (int i = 0; i < 40; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].op.kind = STORE_OP_SUBMIT;
		w[i].op.proposal = p;
		w[i].op.proposal_len = len;
	}
	queue(st, w, 40);
	gate_open();
	wait_all();
	wop_release(w, 40);
	free(p);
	a = audit_all(st, &n);
	assert_int_equal(n, before + 1 + 40);  /* the gate's session too */
	/* The chain goes on after a restart. */
	store_close(st);
	st = open_at(path, 0, 0);
	session_open(st, "dave", s_bot, sizeof(s_bot));
	a = audit_all(st, &n);
	assert_int_equal(n, before + 42);
	assert_string_equal(a[n - 1].actor, "dave");
	store_close(st);
}

static store_code token_op(store *st, store_op_kind kind, const char *name, const char *role,
			   const char *identity, const uint8_t *hash, const char *id,
			   struct wop *w)
{
	memset(w, 0, sizeof(*w));
	w->op.kind = kind;
	w->op.actor = "root";
	w->op.actor_role = "admin";
	w->op.token_name = name;
	w->op.token_role = role;
	w->op.token_identity = identity;
	w->op.token_hash = hash;
	w->op.token_id = id;
	run(st, w, 1);
	return w->op.result;
}

static int count_token(const store_token *t, void *ud)
{
	(*(int *)ud)++;
	return 0;
}

static void tokens(void **state)
{
	char path[256], id1[40], id2[40], sid[40];
	uint8_t h1[32], h2[32], h3[32];
	store_options o;
	store_token t;
	struct wop w;
	struct aent *a;
	store *st, *admin;
	size_t n;
	char err[512];
	int count = 0;

	assert_int_equal(audit_sha256("vt_one", 6, h1), 0);
	assert_int_equal(audit_sha256("vt_two", 6, h2), 0);
	assert_int_equal(audit_sha256("vt_three", 8, h3), 0);
	db_path(path, sizeof(path), "tokens");
	st = open_at(path, 0, 0);
	assert_int_equal(token_op(st, STORE_OP_TOKEN_CREATE, "ci-bot", "producer", NULL, h1, NULL,
				  &w), STORE_OK);
	snprintf(id1, sizeof(id1), "%s", w.op.token_id_out);
	assert_int_equal(strlen(id1), 34);
	assert_memory_equal(id1, "t-", 2);
	assert_int_equal(token_op(st, STORE_OP_TOKEN_CREATE, "alice's laptop", "operator",
				  "alice", h2, NULL, &w), STORE_OK);
	snprintf(id2, sizeof(id2), "%s", w.op.token_id_out);
	assert_int_equal(token_op(st, STORE_OP_TOKEN_CREATE, "x", "superuser", NULL, h3, NULL,
				  &w), STORE_E_INVALID);
	assert_non_null(strstr(w.message, "producer, operator or admin"));

	assert_int_equal(store_token_lookup(st, h1, &t), STORE_OK);
	assert_string_equal(t.id, id1);
	assert_string_equal(t.identity, "ci-bot");  /* no identity: the name */
	assert_string_equal(t.role, "producer");
	assert_string_equal(t.created_by, "root");
	assert_int_equal(t.revoked_ms, 0);
	assert_int_equal(store_token_lookup(st, h2, &t), STORE_OK);
	assert_string_equal(t.identity, "alice");
	assert_string_equal(t.name, "alice's laptop");
	assert_int_equal(store_token_lookup(st, h3, &t), STORE_E_NOTFOUND);

	assert_int_equal(token_op(st, STORE_OP_TOKEN_REVOKE, NULL, NULL, NULL, NULL, id1, &w),
			 STORE_OK);
	assert_int_equal(w.op.changed, 1);
	assert_int_equal(token_op(st, STORE_OP_TOKEN_REVOKE, NULL, NULL, NULL, NULL, id1, &w),
			 STORE_OK);
	assert_int_equal(w.op.changed, 0);
	assert_int_equal(token_op(st, STORE_OP_TOKEN_REVOKE, NULL, NULL, NULL, NULL, "t-nope", &w),
			 STORE_E_NOTFOUND);
	assert_non_null(strstr(w.message, "token 't-nope' not found"));
	assert_int_equal(store_token_get(st, id1, &t), STORE_OK);
	assert_true(t.revoked_ms > 0);
	assert_string_equal(t.revoked_by, "root");
	assert_int_equal(store_token_list(st, 0, count_token, &count), STORE_OK);
	assert_int_equal(count, 1);
	count = 0;
	assert_int_equal(store_token_list(st, 1, count_token, &count), STORE_OK);
	assert_int_equal(count, 2);

	/* A second store on the same file, as `governd token create` opens
	 * it beside a running governd: what it writes is seen at once, the
	 * two writers extend one chain, and it leaves the events alone. */
	{
		static const char *const prios[] = { "LOW" };

		submit_many(st, 3, "block_ip", prios, 1, NULL, NULL);
	}
	store_options_init(&o);
	o.path = path;
	o.tokens_only = 1;
	assert_int_equal(store_open(&o, &admin, err, sizeof(err)), STORE_OK);
	assert_int_equal(token_op(admin, STORE_OP_TOKEN_CREATE, "ops", "admin", NULL, h3, NULL, &w),
			 STORE_OK);
	assert_int_equal(store_token_lookup(st, h3, &t), STORE_OK);
	assert_string_equal(t.role, "admin");
	session_open(st, "alice", sid, sizeof(sid));
	assert_int_equal(token_op(admin, STORE_OP_TOKEN_REVOKE, NULL, NULL, NULL, NULL, id2, &w),
			 STORE_OK);
	memset(&w, 0, sizeof(w));
	w.op.kind = STORE_OP_SESSION_OPEN;
	w.op.operator_id = "mallory";
	run(admin, &w, 1);
	assert_int_equal(w.op.result, STORE_E_INVALID);
	store_close(admin);
	assert_int_equal(store_token_lookup(st, h2, &t), STORE_OK);
	assert_true(t.revoked_ms > 0);
	session_open(st, "bob", sid, sizeof(sid));
	store_close(st);
	/* The events are all there after a reopen (from the database). */
	st = open_at(path, 0, 0);
	assert_int_equal(store_first_seq(st), 1);
	assert_int_equal(store_last_seq(st), 3);
	a = audit_all(st, &n);
	assert_int_equal(n, 10);
	assert_string_equal(a[3].action, "decision.submit");
	memmove(a + 3, a + 6, 4 * sizeof(*a));  /* the rest as before */
	assert_string_equal(a[0].action, "token.create");
	assert_string_equal(a[0].actor, "root");
	assert_string_equal(a[0].subject, id1);
	assert_non_null(strstr(a[0].detail, "name=ci-bot role=producer identity=ci-bot"));
	assert_string_equal(a[2].action, "token.revoke");
	assert_string_equal(a[3].action, "token.create");
	assert_string_equal(a[4].action, "session.open");
	assert_string_equal(a[5].action, "token.revoke");
	assert_string_equal(a[6].actor, "bob");
	store_close(st);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/vcli-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- execution records ---- */

/* A proposal with two recommended actions: firewall.block and k8s.scale. */
static uint8_t *proposal_with_actions(size_t *len)
{
	Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Vertice__Governance__V1__Action a0 = VERTICE__GOVERNANCE__V1__ACTION__INIT;
	Vertice__Governance__V1__Action a1 = VERTICE__GOVERNANCE__V1__ACTION__INIT;
	Vertice__Governance__V1__Action *acts[2] = { &a0, &a1 };
	uint8_t *b;

	d.operation_type = "scale_out";
	d.priority = "HIGH";
	d.sla_seconds = 3600;
	a0.action_type = "firewall.block";
	a1.action_type = "k8s.scale";
	d.n_recommended_actions = 2;
	d.recommended_actions = acts;
	*len = vertice__governance__v1__decision__get_packed_size(&d);
	b = malloc(*len + 1);
	vertice__governance__v1__decision__pack(&d, b);
	return b;
}

static void submit_with_actions(store *st, int n, char (*ids)[40])
{
	for (int i = 0; i < n; i++) {
		struct wop w;
		size_t len;
		uint8_t *p = proposal_with_actions(&len);
		Decision *d;

		memset(&w, 0, sizeof(w));
		w.op.kind = STORE_OP_SUBMIT;
		w.op.proposal = p;
		w.op.proposal_len = len;
		run(st, &w, 1);
		assert_int_equal(w.op.result, STORE_OK);
		d = decode(w.decision, w.len);
		snprintf(ids[i], 40, "%s", d->decision_id);
		vertice__governance__v1__decision__free_unpacked(d, NULL);
		wop_release(&w, 1);
		free(p);
	}
}

static void exec_op(struct wop *w, const char *actor, const char *sid, const char *id,
		    const char *type, int32_t index, int succeeded, const char *rid)
{
	memset(w, 0, sizeof(*w));
	w->op.kind = STORE_OP_EXECUTION;
	w->op.actor = actor;
	w->op.actor_role = actor ? "operator" : NULL;
	w->op.session_id = sid;
	w->op.decision_id = id;
	w->op.request_id = rid;
	w->op.action_type = type;
	w->op.action_index = index;
	w->op.succeeded = succeeded;
	w->op.detail = succeeded ? "deployment.apps/web scaled to 5" : "the cluster said no";
	w->op.target = "context kind-test";
}

static store_code exec_run(store *st, struct wop *w, const char *actor, const char *sid,
			   const char *id, const char *type, int32_t index, const char *rid)
{
	exec_op(w, actor, sid, id, type, index, 1, rid);
	run(st, w, 1);
	return w->op.result;
}

struct evcount {
	int type[3];
	size_t executions_last;  /* records in the last UPDATED event's decision */
};

static int count_events(const store_event *ev, void *ud)
{
	struct evcount *c = ud;
	Decision *d = decode(ev->decision, ev->decision_len);

	c->type[ev->type]++;
	if (ev->type == STORE_EV_UPDATED)
		c->executions_last = d->n_executions;
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	return 0;
}

static uint64_t review_count(const store_gauges *g, int k)
{
	uint64_t n = 0;

	for (int i = 0; i <= STORE_REVIEW_NBOUNDS; i++)
		n += g->review[k][i];
	return n;
}

static void executions(void **state)
{
	char path[256], ids[3][40], sid[40], sid_bob[40], rid[32];
	struct wop w[4], g, r;
	store_metrics m;
	store_gauges ga;
	store_operator_stats os;
	store_page pg;
	store_filter f = { "APPROVED", NULL, NULL, NULL };
	struct evcount ec;
	store_audit_filter af;
	struct aent sel[40];
	uint8_t *b;
	size_t len;
	Decision *d;
	store *st;

	db_path(path, sizeof(path), "executions");
	st = open_at(path, 0, 0);
	submit_with_actions(st, 3, ids);
	session_open(st, "alice", sid, sizeof(sid));
	session_open(st, "bob", sid_bob, sizeof(sid_bob));

	/* An approval and two records for it in one batch, and one for a
	 * decision still pending: the overlay carries the resolution's row
	 * and its latest bytes from op to op. */
	gate_close(st, &g);
	memset(&w[0], 0, sizeof(w[0]));
	w[0].op.kind = STORE_OP_APPROVE;
	w[0].op.session_id = sid;
	w[0].op.decision_id = ids[0];
	w[0].op.comment = "go";
	exec_op(&w[1], NULL, sid, ids[0], "k8s.scale", 1, 1, "x-1");
	exec_op(&w[2], NULL, sid, ids[0], "firewall.block", 0, 0, NULL);
	exec_op(&w[3], NULL, sid, ids[1], "k8s.scale", 1, 1, NULL);
	queue(st, w, 4);
	gate_open();
	wait_all();
	assert_int_equal(g.op.result, STORE_OK);
	assert_int_equal(w[0].op.result, STORE_OK);
	assert_int_equal(w[1].op.result, STORE_OK);
	assert_int_equal(w[2].op.result, STORE_OK);
	assert_int_equal(w[3].op.result, STORE_E_CONFLICT);
	{
		char want[200];

		snprintf(want, sizeof(want), "decision '%s' is PENDING; only an approved "
			 "decision can have executions", ids[1]);
		assert_string_equal(w[3].message, want);
	}
	d = decode(w[2].decision, w[2].len);
	assert_string_equal(d->status, "APPROVED");
	assert_string_equal(d->history->reviewed_by, "alice");
	assert_int_equal(d->n_executions, 2);
	assert_string_equal(d->executions[0]->action_type, "k8s.scale");
	assert_int_equal(d->executions[0]->action_index, 1);
	assert_true(d->executions[0]->succeeded);
	assert_string_equal(d->executions[0]->detail, "deployment.apps/web scaled to 5");
	assert_string_equal(d->executions[0]->target, "context kind-test");
	assert_string_equal(d->executions[0]->executed_by, "alice");
	assert_string_equal(d->executions[0]->request_id, "x-1");
	assert_int_equal(ts_ms(d->executions[0]->executed_at), w[1].op.processed_at_ms);
	assert_string_equal(d->executions[1]->action_type, "firewall.block");
	assert_false(d->executions[1]->succeeded);
	assert_string_equal(d->executions[1]->request_id, "");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	/* What the store hands out is what the last record answered. */
	assert_int_equal(store_get(st, ids[0], &b, &len), STORE_OK);
	assert_int_equal(len, w[2].len);
	assert_memory_equal(b, w[2].decision, len);
	free(b);
	wop_release(w, 4);
	wop_release(&g, 1);

	/* One approval in the figures, nothing for the records. */
	store_get_metrics(st, &m);
	assert_int_equal(m.total, 3);
	assert_int_equal(m.approved, 1);
	assert_int_equal(m.pending, 2);
	store_get_gauges(st, &ga);
	assert_int_equal(review_count(&ga, 0), 1);
	assert_int_equal(ga.decisions[2][1], 1);   /* APPROVED, HIGH */
	assert_int_equal(store_get_operator_stats(st, "alice", &os), STORE_OK);
	assert_int_equal(os.total, 1);
	assert_int_equal(os.approved, 1);

	/* Later, from the database; a replay answers the first outcome. */
	assert_int_equal(exec_run(st, &r, NULL, sid, ids[0], "k8s.scale", 1, "x-2"), STORE_OK);
	d = decode(r.decision, r.len);
	assert_int_equal(d->n_executions, 3);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	wop_release(&r, 1);
	assert_int_equal(exec_run(st, &r, NULL, sid, ids[0], "k8s.scale", 1, "x-1"), STORE_OK);
	assert_int_equal(r.op.replayed, 1);
	d = decode(r.decision, r.len);
	assert_int_equal(d->n_executions, 1);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	wop_release(&r, 1);
	assert_int_equal(exec_run(st, &r, NULL, sid, ids[1], "k8s.scale", 1, "x-1"),
			 STORE_E_DUPLICATE);
	/* The action must be the decision's. */
	assert_int_equal(exec_run(st, &r, NULL, sid, ids[0], "k8s.delete", 1, NULL),
			 STORE_E_INVALID);
	assert_non_null(strstr(r.message, "action_type 'k8s.delete' is not recommended action 1"));
	assert_int_equal(exec_run(st, &r, NULL, sid, ids[0], "k8s.scale", 2, NULL),
			 STORE_E_INVALID);
	assert_non_null(strstr(r.message, "action_index 2 is out of range"));
	assert_int_equal(exec_run(st, &r, NULL, "s-none", ids[0], "k8s.scale", 1, NULL),
			 STORE_E_SESSION);
	assert_int_equal(exec_run(st, &r, NULL, sid, "d-none", "k8s.scale", 1, NULL),
			 STORE_E_NOTFOUND);
	/* With credentials, only the approver records. */
	assert_int_equal(exec_run(st, &r, "bob", sid_bob, ids[0], "k8s.scale", 1, NULL),
			 STORE_E_DENIED);
	assert_non_null(strstr(r.message, "executed-by-reviewer: decision '"));
	assert_non_null(strstr(r.message, "was approved by 'alice'"));
	assert_int_equal(exec_run(st, &r, "bob", sid, ids[0], "k8s.scale", 1, NULL),
			 STORE_E_DENIED);
	assert_non_null(strstr(r.message, "session-owner: "));
	assert_int_equal(exec_run(st, &r, "alice", sid, ids[0], "k8s.scale", 1, NULL), STORE_OK);
	wop_release(&r, 1);

	/* The APPROVED listing reads the same bytes. */
	assert_int_equal(store_list(st, &f, "", 10, &pg), STORE_OK);
	assert_int_equal(pg.count, 1);
	assert_int_equal(store_get(st, ids[0], &b, &len), STORE_OK);
	assert_int_equal(pg.lengths[0], len);
	assert_memory_equal(pg.data + pg.offsets[0], b, len);
	free(b);
	store_page_release(&pg);

	/* Events: three submissions, the approval, four records. */
	memset(&ec, 0, sizeof(ec));
	assert_int_equal(store_events_since(st, 0, 1000, count_events, &ec), STORE_OK);
	assert_int_equal(ec.type[STORE_EV_NEW], 3);
	assert_int_equal(ec.type[STORE_EV_RESOLVED], 1);
	assert_int_equal(ec.type[STORE_EV_UPDATED], 4);
	assert_int_equal(ec.executions_last, 4);
	/* Audit: four records, two refusals. */
	memset(&af, 0, sizeof(af));
	af.action = "decision.execute";
	af.outcome = "OK";
	assert_int_equal(audit_matching(st, &af, sel, 40), 4);
	assert_string_equal(sel[0].actor, "alice");
	assert_string_equal(sel[0].subject, ids[0]);
	{
		char want[120];

		snprintf(want, sizeof(want), "action=k8s.scale succeeded=true session=%s", sid);
		assert_string_equal(sel[0].detail, want);
	}
	af.outcome = "DENIED";
	assert_int_equal(audit_matching(st, &af, sel, 40), 2);
	store_close(st);

	/* Durable; at most STORE_MAX_EXECUTIONS, the cap counted on disk. */
	st = open_at(path, 0, 0);
	session_open(st, "alice", sid, sizeof(sid));
	d = get(st, ids[0]);
	assert_int_equal(d->n_executions, 4);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	for (int i = 4; i < STORE_MAX_EXECUTIONS; i++) {
		snprintf(rid, sizeof(rid), "cap-%d", i);
		assert_int_equal(exec_run(st, &r, NULL, sid, ids[0], "k8s.scale", 1, rid), STORE_OK);
		wop_release(&r, 1);
	}
	assert_int_equal(exec_run(st, &r, NULL, sid, ids[0], "k8s.scale", 1, NULL),
			 STORE_E_CONFLICT);
	assert_non_null(strstr(r.message, "has 16 executions recorded, the most it may have"));
	/* A replay still answers past the cap. */
	assert_int_equal(exec_run(st, &r, NULL, sid, ids[0], "k8s.scale", 1, "cap-5"), STORE_OK);
	assert_int_equal(r.op.replayed, 1);
	wop_release(&r, 1);
	d = get(st, ids[0]);
	assert_int_equal(d->n_executions, STORE_MAX_EXECUTIONS);
	assert_string_equal(d->executions[15]->request_id, "cap-15");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	store_get_metrics(st, &m);
	assert_int_equal(m.approved, 1);
	assert_int_equal(m.total, 3);
	store_close(st);
}

/* ---- schema 5: a RESOLVED event points at its resolution's row ---- */

struct resolved_ev {
	int found;
	char status[16];
	size_t executions;
	size_t len;
};

static int find_resolved(const store_event *ev, void *ud)
{
	struct resolved_ev *r = ud;
	Decision *d;

	if (ev->type != STORE_EV_RESOLVED)
		return 0;
	d = decode(ev->decision, ev->decision_len);
	r->found++;
	snprintf(r->status, sizeof(r->status), "%s", d->status);
	r->executions = d->n_executions;
	r->len = ev->decision_len;
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	return 0;
}

/* The RESOLVED event's row: (length of its own blob, res_rid or -1). */
static void event_row(const char *path, int64_t *bloblen, int64_t *res_rid)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT length(blob), COALESCE(res_rid, -1) FROM "
					    "events WHERE type = 2", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	*bloblen = sqlite3_column_int64(s, 0);
	*res_rid = sqlite3_column_int64(s, 1);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void resolved_events_point_at_rows(void **state)
{
	char path[256], ids[2][40], more[2][40], sid[40];
	struct resolved_ev r;
	struct wop w;
	int64_t bloblen, res_rid;
	uint8_t *b;
	size_t len;
	store *st;

	(void)state;
	db_path(path, sizeof(path), "resolved-events");
	/* A ring of 2: the events below are read back from the database. */
	st = open_at(path, 2, 0);
	submit_with_actions(st, 2, ids);
	session_open(st, "alice", sid, sizeof(sid));
	memset(&w, 0, sizeof(w));
	w.op.kind = STORE_OP_APPROVE;
	w.op.session_id = sid;
	w.op.decision_id = ids[0];
	w.op.comment = "go";
	run(st, &w, 1);
	assert_int_equal(w.op.result, STORE_OK);
	wop_release(&w, 1);
	/* Two more events: the ring holds those, not the resolution's. */
	submit_with_actions(st, 2, more);
	/* No copy of its own: the row's bytes, read through the pointer. */
	event_row(path, &bloblen, &res_rid);
	assert_int_equal(bloblen, 0);
	assert_true(res_rid > 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_events_since(st, 0, 1000, find_resolved, &r), STORE_OK);
	assert_int_equal(r.found, 1);
	assert_string_equal(r.status, "APPROVED");
	assert_int_equal(r.executions, 0);
	assert_int_equal(store_get(st, ids[0], &b, &len), STORE_OK);
	assert_int_equal(r.len, len);
	free(b);

	/* An execution amends the row; the event keeps the bytes it had. */
	assert_int_equal(exec_run(st, &w, NULL, sid, ids[0], "k8s.scale", 1, "x-1"), STORE_OK);
	wop_release(&w, 1);
	assert_int_equal(exec_run(st, &w, NULL, sid, ids[0], "k8s.scale", 1, "x-2"), STORE_OK);
	wop_release(&w, 1);
	event_row(path, &bloblen, &res_rid);
	assert_int_equal(bloblen, (int64_t)r.len);
	assert_int_equal(res_rid, -1);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_events_since(st, 0, 1000, find_resolved, &r), STORE_OK);
	assert_int_equal(r.found, 1);
	assert_int_equal(r.executions, 0);
	store_close(st);

	/* And after a restart; the decision itself has both records. */
	st = open_at(path, 2, 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_events_since(st, 0, 1000, find_resolved, &r), STORE_OK);
	assert_int_equal(r.found, 1);
	assert_int_equal(r.executions, 0);
	{
		Decision *d = get(st, ids[0]);

		assert_int_equal(d->n_executions, 2);
		vertice__governance__v1__decision__free_unpacked(d, NULL);
	}
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reopen_and_schema),
		cmocka_unit_test(migrate_from_v1),
		cmocka_unit_test(migrate_from_v2),
		cmocka_unit_test(audit_and_rules),
		cmocka_unit_test(tokens),
		cmocka_unit_test(submit_and_idempotency),
		cmocka_unit_test(batch_cap),
		cmocka_unit_test(first_resolution_wins),
		cmocka_unit_test(escalate_then_approve),
		cmocka_unit_test(request_ids),
		cmocka_unit_test(sessions),
		cmocka_unit_test(expiry),
		cmocka_unit_test(listing),
		cmocka_unit_test(metrics_exact),
		cmocka_unit_test(events),
		cmocka_unit_test(group_commit),
		cmocka_unit_test(checkpoints_beside_the_writer),
		cmocka_unit_test(checkpoints_wait_for_a_reader),
		cmocka_unit_test(log_gathered_and_visible),
		cmocka_unit_test(closing),
		cmocka_unit_test(blobs_canonical),
		cmocka_unit_test(blob_patch_as_protobuf_c),
		cmocka_unit_test(demo_data),
		cmocka_unit_test(executions),
		cmocka_unit_test(resolved_events_point_at_rows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
