/*
 * The embedded store: SQLite in WAL mode behind src/store/store.h.
 *
 * One writer thread runs every write; each batch of queued operations is
 * one transaction (an operation per savepoint) and one fsync.  Open
 * decisions, the metrics counters and recent events are mirrored in memory
 * and updated after each commit under a lock that readers share.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/buf.h"
#include "governance.pb-c.h"
#include "store/store_int.h"

#define SCHEMA_VERSION 1
#define RING_DEFAULT 16384

typedef Vertice__Governance__V1__Decision Decision;

/* ---- in-memory mirror ---- */

struct odec {                  /* an open decision */
	char id[40];
	int rank;
	int64_t created_ms, expires_ms;
	char status[12];
	char *op_type;
	char *assigned;
	uint8_t *blob;
	size_t len;
	int removed;
};

struct vec {                   /* open decisions of one priority, in order */
	struct odec **v;
	size_t n, cap, removed;
};

struct ring_ev {
	uint64_t seq;
	int type;
	int64_t at_ms;
	uint8_t *blob;
	size_t len;
};

/* What a committed operation changes in memory. */
struct effect {
	char id[40];
	int old_status;            /* ST_* before (ST_NONE for a new one) */
	int new_status;
	int rank;
	int64_t created_ms, expires_ms, reviewed_ms;
	char *op_type, *assigned;
	uint8_t *blob;             /* the decision after */
	size_t len;
	int event;                 /* -1: none */
	uint64_t seq;
	int64_t at_ms;
};

enum { ST_NONE = -1, ST_PENDING, ST_ESCALATED, ST_APPROVED, ST_REJECTED, ST_EXPIRED };
static const char *const st_names[] = { "PENDING", "ESCALATED", "APPROVED", "REJECTED", "EXPIRED" };

struct store {
	store_options opts;
	char path[1024];
	sqlite3 *db;
	int schema;
	/* queue */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	store_op *qhead, *qtail;
	int closing;
	pthread_t writer;
	int writer_started;
	/* mirror */
	pthread_rwlock_t lock;
	struct odec **byid;        /* open hash, power of two */
	size_t byid_cap, byid_n;
	struct vec ranks[4];
	int64_t earliest_expiry;   /* writer's view, for cheap sweeps */
	struct ring_ev *ring;
	uint32_t ring_cap;
	uint64_t ring_first;       /* seq of the oldest event in the ring (0: empty) */
	uint64_t last_seq;
	store_metrics m;
	int64_t resp_sum_ms;
	int64_t resp_n;
	/* writer-only */
	struct effect *fx;
	size_t nfx, capfx;
	uint64_t next_seq;
	uint64_t commits;
	void (*hook)(uint64_t, void *);
	void *hook_ud;
	/* prepared statements (writer) */
	sqlite3_stmt *s_ins_dec, *s_upd_dec, *s_status, *s_idem, *s_sess, *s_ins_sess,
		*s_close_sess, *s_req, *s_ins_req, *s_ins_ev, *s_trim_ev, *s_ins_esc,
		*s_sp, *s_release, *s_rollback_to, *s_begin, *s_commit;
	pthread_key_t reader_key;
};

const char *store_strerror(store_code code)
{
	switch (code) {
	case STORE_OK: return "ok";
	case STORE_E_NOTFOUND: return "not found";
	case STORE_E_CONFLICT: return "conflict";
	case STORE_E_DUPLICATE: return "duplicate";
	case STORE_E_SESSION: return "session unknown or closed";
	case STORE_E_INVALID: return "invalid argument";
	case STORE_E_RANGE: return "out of range";
	case STORE_E_IO: return "database error";
	case STORE_E_NOMEM: return "out of memory";
	case STORE_E_CLOSED: return "store closed";
	}
	return "unknown error";
}

void store_options_init(store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_batch = 1024;
	o->event_retention = 100000;
	o->synchronous_full = 1;
}

int64_t store__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Ids are 32 hex digits: 12 of the creation time in milliseconds, then 20
 * random.  Time first keeps new rows next to each other in the B-tree (a
 * random key would scatter every batch over many pages); the random part
 * keeps ids unguessable and unique.
 */
void store__random_id(const char *prefix, char *out, size_t outlen)
{
	uint8_t r[10];
	size_t n = 0;
	uint64_t ms = (uint64_t)store__now_ms();

	while (n < sizeof(r)) {
		ssize_t k = getrandom(r + n, sizeof(r) - n, 0);
		if (k > 0)
			n += (size_t)k;
	}
	n = (size_t)snprintf(out, outlen, "%s%012llx", prefix,
			     (unsigned long long)(ms & 0xffffffffffffull));
	for (size_t i = 0; i < sizeof(r) && n + 2 < outlen; i++, n += 2)
		snprintf(out + n, outlen - n, "%02x", r[i]);
}

static int status_index(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (s && strcmp(s, st_names[i]) == 0)
			return i;
	return ST_NONE;
}

static int rank_of(const char *p)
{
	static const char *const names[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW" };
	for (int i = 0; i < 4; i++)
		if (p && strcmp(p, names[i]) == 0)
			return i;
	return 3;
}

/* ---- hash of open decisions ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct odec *byid_find(const store *st, const char *id)
{
	size_t mask, i;

	if (!st->byid_cap)
		return NULL;
	mask = st->byid_cap - 1;
	for (i = hash_str(id) & mask; st->byid[i]; i = (i + 1) & mask)
		if (strcmp(st->byid[i]->id, id) == 0)
			return st->byid[i];
	return NULL;
}

static int byid_insert(store *st, struct odec *d);

static int byid_grow(store *st)
{
	struct odec **old = st->byid;
	size_t oldcap = st->byid_cap;

	st->byid_cap = oldcap ? oldcap * 2 : 1024;
	st->byid = calloc(st->byid_cap, sizeof(*st->byid));
	if (!st->byid) {
		st->byid = old;
		st->byid_cap = oldcap;
		return -1;
	}
	st->byid_n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			byid_insert(st, old[i]);
	free(old);
	return 0;
}

static int byid_insert(store *st, struct odec *d)
{
	size_t mask, i;

	if ((st->byid_n + 1) * 2 > st->byid_cap && byid_grow(st) < 0)
		return -1;
	mask = st->byid_cap - 1;
	for (i = hash_str(d->id) & mask; st->byid[i]; i = (i + 1) & mask)
		;
	st->byid[i] = d;
	st->byid_n++;
	return 0;
}

static void byid_remove(store *st, const char *id)
{
	size_t mask = st->byid_cap - 1, i, j;

	if (!st->byid_cap)
		return;
	for (i = hash_str(id) & mask; st->byid[i]; i = (i + 1) & mask)
		if (strcmp(st->byid[i]->id, id) == 0)
			break;
	if (!st->byid[i])
		return;
	st->byid[i] = NULL;
	st->byid_n--;
	/* Re-place the rest of the cluster (linear probing deletion). */
	for (j = (i + 1) & mask; st->byid[j]; j = (j + 1) & mask) {
		struct odec *d = st->byid[j];
		st->byid[j] = NULL;
		st->byid_n--;
		byid_insert(st, d);
	}
}

/* ---- ordered vectors ---- */

static int odec_cmp(const struct odec *a, int64_t created, const char *id)
{
	if (a->created_ms != created)
		return a->created_ms < created ? -1 : 1;
	return strcmp(a->id, id);
}

/* First index whose key is > (created, id). */
static size_t vec_upper(const struct vec *v, int64_t created, const char *id)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (odec_cmp(v->v[mid], created, id) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int vec_insert(struct vec *v, struct odec *d)
{
	size_t at;

	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 256;
		struct odec **nv = realloc(v->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		v->v = nv;
		v->cap = nc;
	}
	at = vec_upper(v, d->created_ms, d->id);
	memmove(v->v + at + 1, v->v + at, (v->n - at) * sizeof(*v->v));
	v->v[at] = d;
	v->n++;
	return 0;
}

static void odec_free(struct odec *d)
{
	free(d->op_type);
	free(d->assigned);
	free(d->blob);
	free(d);
}

/* Drops removed entries once they are half the vector. */
static void vec_compact(struct vec *v)
{
	size_t w = 0;

	if (v->removed * 2 < v->n)
		return;
	for (size_t i = 0; i < v->n; i++) {
		if (v->v[i]->removed)
			odec_free(v->v[i]);
		else
			v->v[w++] = v->v[i];
	}
	v->n = w;
	v->removed = 0;
}

/* ---- schema ---- */

static const char *const migrations[] = {
	/* 1: the initial schema */
	"CREATE TABLE decisions ("
	"  id TEXT PRIMARY KEY,"
	"  status TEXT NOT NULL,"
	"  priority_rank INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL,"
	"  operation_type TEXT NOT NULL,"
	"  assigned_operator TEXT NOT NULL DEFAULT '',"
	"  idempotency_key TEXT UNIQUE,"
	"  reviewed_ms INTEGER,"
	"  reviewed_by TEXT,"
	"  outcome TEXT,"
	"  blob BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX decisions_queue ON decisions(status, priority_rank, created_ms, id);"
	"CREATE INDEX decisions_reviewer ON decisions(reviewed_by);"
	"CREATE TABLE sessions ("
	"  id TEXT PRIMARY KEY,"
	"  operator_id TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  closed_ms INTEGER) WITHOUT ROWID;"
	"CREATE INDEX sessions_operator ON sessions(operator_id);"
	"CREATE TABLE requests ("
	"  request_id TEXT PRIMARY KEY,"
	"  decision_id TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  processed_ms INTEGER NOT NULL,"
	"  blob BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE escalations ("
	"  decision_id TEXT NOT NULL,"
	"  escalated_by TEXT NOT NULL,"
	"  at_ms INTEGER NOT NULL);"
	"CREATE INDEX escalations_by ON escalations(escalated_by);"
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY,"
	"  type INTEGER NOT NULL,"
	"  at_ms INTEGER NOT NULL,"
	"  decision_id TEXT NOT NULL,"
	"  blob BLOB NOT NULL);",
};

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int migrate(store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int v = 0;
	int known = (int)(sizeof(migrations) / sizeof(migrations[0]));

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (v > known) {
		snprintf(err, errlen,
			 "database schema version %d is newer than this governd knows (%d); "
			 "use a newer governd", v, known);
		return -1;
	}
	for (; v < known; v++) {
		char pragma[64];
		if (exec_sql(st->db, "BEGIN IMMEDIATE", err, errlen) < 0)
			return -1;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (exec_sql(st->db, migrations[v], err, errlen) < 0 ||
		    exec_sql(st->db, pragma, err, errlen) < 0) {
			exec_sql(st->db, "ROLLBACK", err + strlen(err), 0);
			return -1;
		}
		if (exec_sql(st->db, "COMMIT", err, errlen) < 0)
			return -1;
	}
	st->schema = known;
	return 0;
}

int store_schema_version(const store *st)
{
	return st->schema;
}

static int mkdirs(const char *path)
{
	char tmp[1024];
	char *slash;

	snprintf(tmp, sizeof(tmp), "%s", path);
	slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return 0;
	*slash = '\0';
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int prepare(store *st, sqlite3_stmt **s, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* A read-only connection per reading thread (WAL: readers never wait for
 * the writer). */
static void reader_free(void *p)
{
	sqlite3_close_v2(p);
}

static sqlite3 *reader(store *st)
{
	sqlite3 *db = pthread_getspecific(st->reader_key);

	if (db)
		return db;
	if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		sqlite3_close_v2(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	pthread_setspecific(st->reader_key, db);
	return db;
}

/* Loads open decisions, counters and recent events into memory. */
static int load(store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, status, priority_rank, created_ms, expires_ms, "
			       "operation_type, assigned_operator, blob FROM decisions "
			       "WHERE status IN ('PENDING','ESCALATED')", -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	st->earliest_expiry = INT64_MAX;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct odec *d = calloc(1, sizeof(*d));
		const void *b = sqlite3_column_blob(s, 7);
		int bl = sqlite3_column_bytes(s, 7);
		if (!d)
			goto nomem;
		snprintf(d->id, sizeof(d->id), "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(d->status, sizeof(d->status), "%s", (const char *)sqlite3_column_text(s, 1));
		d->rank = sqlite3_column_int(s, 2);
		d->created_ms = sqlite3_column_int64(s, 3);
		d->expires_ms = sqlite3_column_int64(s, 4);
		d->op_type = strdup((const char *)sqlite3_column_text(s, 5));
		d->assigned = strdup((const char *)sqlite3_column_text(s, 6));
		d->blob = malloc(bl ? (size_t)bl : 1);
		d->len = (size_t)bl;
		if (!d->op_type || !d->assigned || !d->blob || d->rank < 0 || d->rank > 3) {
			odec_free(d);
			goto nomem;
		}
		memcpy(d->blob, b, (size_t)bl);
		if (byid_insert(st, d) < 0 || vec_insert(&st->ranks[d->rank], d) < 0)
			goto nomem;
		if (d->expires_ms < st->earliest_expiry)
			st->earliest_expiry = d->expires_ms;
		st->m.pending++;
		if (strcmp(d->status, "ESCALATED") == 0)
			st->m.escalated++;
		if (d->rank == 0)
			st->m.critical++;
		if (d->rank == 1)
			st->m.high++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto sqlfail;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT COUNT(*), "
			       "COALESCE(SUM(status='APPROVED'),0), COALESCE(SUM(status='REJECTED'),0), "
			       "COALESCE(SUM(status='EXPIRED'),0), "
			       "COALESCE(SUM(CASE WHEN status IN ('APPROVED','REJECTED') "
			       "THEN reviewed_ms - created_ms END),0) FROM decisions",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	if (sqlite3_step(s) == SQLITE_ROW) {
		st->m.total = sqlite3_column_int(s, 0);
		st->m.approved = sqlite3_column_int(s, 1);
		st->m.rejected = sqlite3_column_int(s, 2);
		st->m.expired = sqlite3_column_int(s, 3);
		st->m.sla_violations = st->m.expired;
		st->resp_sum_ms = sqlite3_column_int64(s, 4);
		st->resp_n = st->m.approved + st->m.rejected;
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(MAX(seq),0) FROM events", -1, &s, NULL) !=
	    SQLITE_OK)
		goto sqlfail;
	if (sqlite3_step(s) == SQLITE_ROW)
		st->last_seq = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	st->next_seq = st->last_seq + 1;
	return 0;
sqlfail:
	snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
	return -1;
nomem:
	sqlite3_finalize(s);
	snprintf(err, errlen, "out of memory loading the store");
	return -1;
}

static void recompute_derived(store_metrics *m, int64_t sum_ms, int64_t n)
{
	m->avg_response_s = n ? (double)sum_ms / 1000.0 / (double)n : 0.0;
	m->approval_rate = (m->approved + m->rejected) ?
		(double)m->approved / (double)(m->approved + m->rejected) : 0.0;
}

static void *writer_main(void *arg);

/* ---- decisions as protobuf ---- */

static Google__Protobuf__Timestamp *ts_new(int64_t ms)
{
	Google__Protobuf__Timestamp *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	google__protobuf__timestamp__init(t);
	t->seconds = ms / 1000;
	t->nanos = (int32_t)(ms % 1000) * 1000000;
	return t;
}

static void ts_set(Google__Protobuf__Timestamp **f, int64_t ms)
{
	if (*f)
		google__protobuf__timestamp__free_unpacked(*f, NULL);
	*f = ts_new(ms);
}

/* Replaces a string field of an unpacked message (protobuf-c frees string
 * fields with free(), except its shared empty string). */
static void str_set(char **f, const char *v)
{
	if (*f && *f != protobuf_c_empty_string)
		free(*f);
	*f = strdup(v ? v : "");
}

static int pack_decision(const Decision *d, uint8_t **out, size_t *len)
{
	size_t n = vertice__governance__v1__decision__get_packed_size(d);

	*out = malloc(n ? n : 1);
	if (!*out)
		return -1;
	*len = vertice__governance__v1__decision__pack(d, *out);
	return 0;
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (c && n)
		memcpy(c, p, n);
	return c;
}

/* ---- the writer ---- */

struct cur {                   /* a decision's state as the writer sees it */
	int status;
	int rank;
	int64_t created_ms, expires_ms;
	const uint8_t *blob;
	size_t len;
};

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static store_code io_fail(store *st, store_op *op)
{
	snprintf(op->message, sizeof(op->message), "database error: %s", sqlite3_errmsg(st->db));
	return STORE_E_IO;
}

/* Current state: this batch's changes first, then memory, then disk. */
static store_code lookup(store *st, const char *id, struct cur *c)
{
	struct odec *d;
	sqlite3_stmt *s = st->s_status;
	int rc;

	for (size_t i = st->nfx; i-- > 0;) {
		struct effect *e = &st->fx[i];
		if (strcmp(e->id, id) == 0) {
			c->status = e->new_status;
			c->rank = e->rank;
			c->created_ms = e->created_ms;
			c->expires_ms = e->expires_ms;
			c->blob = e->blob;
			c->len = e->len;
			return STORE_OK;
		}
	}
	d = byid_find(st, id);
	if (d) {
		c->status = status_index(d->status);
		c->rank = d->rank;
		c->created_ms = d->created_ms;
		c->expires_ms = d->expires_ms;
		c->blob = d->blob;
		c->len = d->len;
		return STORE_OK;
	}
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		c->status = status_index((const char *)sqlite3_column_text(s, 0));
		c->blob = NULL;
		c->len = 0;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_E_NOTFOUND : STORE_E_IO;
}

static struct effect *fx_add(store *st)
{
	struct effect *e;

	if (st->nfx == st->capfx) {
		size_t nc = st->capfx ? st->capfx * 2 : 256;
		struct effect *n = realloc(st->fx, nc * sizeof(*n));
		if (!n)
			return NULL;
		st->fx = n;
		st->capfx = nc;
	}
	e = &st->fx[st->nfx++];
	memset(e, 0, sizeof(*e));
	e->event = -1;
	return e;
}

static void fx_release(struct effect *e)
{
	free(e->blob);
	free(e->op_type);
	free(e->assigned);
}

static int insert_event(store *st, struct effect *e, int type, int64_t now)
{
	sqlite3_stmt *s = st->s_ins_ev;

	e->event = type;
	e->seq = st->next_seq;
	e->at_ms = now;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)e->seq);
	sqlite3_bind_int(s, 2, type);
	sqlite3_bind_int64(s, 3, now);
	bind_text(s, 4, e->id);
	sqlite3_bind_blob(s, 5, e->blob, (int)e->len, SQLITE_STATIC);
	if (step_done(s) < 0)
		return -1;
	st->next_seq++;
	return 0;
}

static store_code op_submit(store *st, store_op *op, int64_t now)
{
	Decision *d;
	struct effect *e;
	sqlite3_stmt *s;
	int rc;
	char id[40];
	int rank;

	if (op->idempotency_key && *op->idempotency_key) {
		s = st->s_idem;
		bind_text(s, 1, op->idempotency_key);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			op->created = 0;
			op->decision_len = (size_t)sqlite3_column_bytes(s, 0);
			op->decision = dup_bytes(sqlite3_column_blob(s, 0), op->decision_len);
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return op->decision ? STORE_OK : STORE_E_NOMEM;
		}
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if (rc != SQLITE_DONE)
			return io_fail(st, op);
	}
	d = vertice__governance__v1__decision__unpack(NULL, op->proposal_len, op->proposal);
	if (!d) {
		snprintf(op->message, sizeof(op->message), "proposal does not decode");
		return STORE_E_INVALID;
	}
	store__random_id("d-", id, sizeof(id));
	str_set(&d->decision_id, id);
	str_set(&d->status, "PENDING");
	str_set(&d->idempotency_key, op->idempotency_key);
	ts_set(&d->created_at, now);
	ts_set(&d->expires_at, now + (int64_t)d->sla_seconds * 1000);
	ts_set(&d->updated_at, now);
	rank = rank_of(d->priority);
	e = fx_add(st);
	if (!e || pack_decision(d, &e->blob, &e->len) < 0) {
		if (e)
			st->nfx--;
		vertice__governance__v1__decision__free_unpacked(d, NULL);
		return STORE_E_NOMEM;
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->old_status = ST_NONE;
	e->new_status = ST_PENDING;
	e->rank = rank;
	e->created_ms = now;
	e->expires_ms = now + (int64_t)d->sla_seconds * 1000;
	e->op_type = strdup(d->operation_type);
	e->assigned = strdup(d->assigned_operator ? d->assigned_operator : "");
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	if (!e->op_type || !e->assigned) {
		fx_release(e);
		st->nfx--;
		return STORE_E_NOMEM;
	}
	/* Bound SQLITE_STATIC: only buffers that outlive the step. */
	s = st->s_ins_dec;
	bind_text(s, 1, id);
	sqlite3_bind_int(s, 2, rank);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, e->expires_ms);
	bind_text(s, 5, e->op_type);
	bind_text(s, 6, e->assigned);
	if (op->idempotency_key && *op->idempotency_key)
		bind_text(s, 7, op->idempotency_key);
	else
		sqlite3_bind_null(s, 7);
	sqlite3_bind_blob(s, 8, e->blob, (int)e->len, SQLITE_STATIC);
	if (step_done(s) < 0 ||
	    insert_event(st, e, STORE_EV_NEW, now) < 0) {
		fx_release(e);
		st->nfx--;
		return io_fail(st, op);
	}
	op->created = 1;
	op->decision = dup_bytes(e->blob, e->len);
	op->decision_len = e->len;
	return op->decision ? STORE_OK : STORE_E_NOMEM;
}

/* The session's operator, or STORE_E_SESSION. */
static store_code session_operator(store *st, store_op *op, char *opr, size_t oprlen)
{
	sqlite3_stmt *s = st->s_sess;
	int rc;
	int open = 0;

	bind_text(s, 1, op->session_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(opr, oprlen, "%s", (const char *)sqlite3_column_text(s, 0));
		open = sqlite3_column_type(s, 1) == SQLITE_NULL;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return io_fail(st, op);
	if (!open) {
		snprintf(op->message, sizeof(op->message),
			 "session '%.64s' is unknown or closed; open a new one with CreateSession",
			 op->session_id ? op->session_id : "");
		return STORE_E_SESSION;
	}
	return STORE_OK;
}

/* A request id seen before: replay (OK) or DUPLICATE; STORE_E_NOTFOUND
 * when it is new. */
static store_code request_seen(store *st, store_op *op)
{
	sqlite3_stmt *s = st->s_req;
	store_code res = STORE_E_NOTFOUND;
	int rc;

	if (!op->request_id || !*op->request_id)
		return STORE_E_NOTFOUND;
	bind_text(s, 1, op->request_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *did = (const char *)sqlite3_column_text(s, 0);
		if (strcmp(did, op->decision_id) != 0) {
			snprintf(op->message, sizeof(op->message),
				 "request id '%.64s' was used for decision '%.40s'", op->request_id, did);
			res = STORE_E_DUPLICATE;
		} else {
			op->replayed = 1;
			op->processed_at_ms = sqlite3_column_int64(s, 1);
			op->decision_len = (size_t)sqlite3_column_bytes(s, 2);
			op->decision = dup_bytes(sqlite3_column_blob(s, 2), op->decision_len);
			res = op->decision ? STORE_OK : STORE_E_NOMEM;
		}
	} else if (rc != SQLITE_DONE) {
		res = io_fail(st, op);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return res;
}

static store_code op_review(store *st, store_op *op, int64_t now)
{
	char opr[160];
	struct cur c;
	store_code rc;
	Decision *d;
	struct effect *e;
	sqlite3_stmt *s;
	int new_status = op->kind == STORE_OP_APPROVE ? ST_APPROVED :
			 op->kind == STORE_OP_REJECT ? ST_REJECTED : ST_ESCALATED;

	if ((rc = session_operator(st, op, opr, sizeof(opr))) != STORE_OK)
		return rc;
	rc = lookup(st, op->decision_id, &c);
	if (rc == STORE_E_NOTFOUND) {
		snprintf(op->message, sizeof(op->message), "decision '%.64s' not found",
			 op->decision_id);
		return rc;
	}
	if (rc != STORE_OK)
		return io_fail(st, op);
	if ((rc = request_seen(st, op)) != STORE_E_NOTFOUND)
		return rc;
	if (c.status != ST_PENDING && c.status != ST_ESCALATED) {
		snprintf(op->message, sizeof(op->message), "decision '%.64s' is already %s",
			 op->decision_id, c.status >= 0 ? st_names[c.status] : "resolved");
		return STORE_E_CONFLICT;
	}
	d = vertice__governance__v1__decision__unpack(NULL, c.len, c.blob);
	if (!d) {
		snprintf(op->message, sizeof(op->message), "stored decision does not decode");
		return STORE_E_IO;
	}
	str_set(&d->status, st_names[new_status]);
	ts_set(&d->updated_at, now);
	if (new_status == ST_ESCALATED) {
		str_set(&d->escalated_to, op->target);
		str_set(&d->escalation_reason, op->reason);
		str_set(&d->escalated_by, opr);
		ts_set(&d->escalated_at, now);
		str_set(&d->assigned_operator, op->target);
	} else {
		Vertice__Governance__V1__DecisionHistory *h = d->history;
		if (!h) {
			h = malloc(sizeof(*h));
			if (!h) {
				vertice__governance__v1__decision__free_unpacked(d, NULL);
				return STORE_E_NOMEM;
			}
			vertice__governance__v1__decision_history__init(h);
			d->history = h;
		}
		ts_set(&h->submitted_at, c.created_ms);
		ts_set(&h->reviewed_at, now);
		str_set(&h->reviewed_by, opr);
		str_set(&h->outcome, st_names[new_status]);
		str_set(&h->comment, op->comment);
		str_set(&h->reasoning, op->reasoning);
		str_set(&h->request_id, op->request_id);
	}
	e = fx_add(st);
	if (!e || pack_decision(d, &e->blob, &e->len) < 0) {
		if (e)
			st->nfx--;
		vertice__governance__v1__decision__free_unpacked(d, NULL);
		return STORE_E_NOMEM;
	}
	snprintf(e->id, sizeof(e->id), "%s", op->decision_id);
	e->old_status = c.status;
	e->new_status = new_status;
	e->rank = c.rank;
	e->created_ms = c.created_ms;
	e->expires_ms = c.expires_ms;
	e->reviewed_ms = now;
	e->op_type = strdup(d->operation_type);
	e->assigned = strdup(d->assigned_operator);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	s = st->s_upd_dec;
	bind_text(s, 1, st_names[new_status]);
	bind_text(s, 2, e->assigned);
	if (new_status == ST_ESCALATED) {
		sqlite3_bind_null(s, 3);
		sqlite3_bind_null(s, 4);
		sqlite3_bind_null(s, 5);
	} else {
		sqlite3_bind_int64(s, 3, now);
		bind_text(s, 4, opr);
		bind_text(s, 5, st_names[new_status]);
	}
	sqlite3_bind_blob(s, 6, e->blob, (int)e->len, SQLITE_STATIC);
	bind_text(s, 7, op->decision_id);
	if (!e->op_type || !e->assigned || step_done(s) < 0)
		goto fail;
	if (new_status == ST_ESCALATED) {
		s = st->s_ins_esc;
		bind_text(s, 1, op->decision_id);
		bind_text(s, 2, opr);
		sqlite3_bind_int64(s, 3, now);
		if (step_done(s) < 0)
			goto fail;
	}
	if (op->request_id && *op->request_id) {
		s = st->s_ins_req;
		bind_text(s, 1, op->request_id);
		bind_text(s, 2, op->decision_id);
		sqlite3_bind_int(s, 3, (int)op->kind);
		sqlite3_bind_int64(s, 4, now);
		sqlite3_bind_blob(s, 5, e->blob, (int)e->len, SQLITE_STATIC);
		if (step_done(s) < 0)
			goto fail;
	}
	if (insert_event(st, e, new_status == ST_ESCALATED ? STORE_EV_UPDATED : STORE_EV_RESOLVED,
			 now) < 0)
		goto fail;
	op->processed_at_ms = now;
	op->decision = dup_bytes(e->blob, e->len);
	op->decision_len = e->len;
	return op->decision ? STORE_OK : STORE_E_NOMEM;
fail:
	fx_release(e);
	st->nfx--;
	return io_fail(st, op);
}

static store_code expire_one(store *st, store_op *op, const char *id, int64_t now)
{
	struct cur c;
	Decision *d;
	Vertice__Governance__V1__DecisionHistory *h;
	struct effect *e;
	sqlite3_stmt *s;

	if (lookup(st, id, &c) != STORE_OK || (c.status != ST_PENDING && c.status != ST_ESCALATED) ||
	    c.expires_ms > now)
		return STORE_OK;
	d = vertice__governance__v1__decision__unpack(NULL, c.len, c.blob);
	if (!d)
		return STORE_E_IO;
	str_set(&d->status, "EXPIRED");
	ts_set(&d->updated_at, now);
	d->sla_violated = 1;
	h = d->history;
	if (!h && (h = malloc(sizeof(*h))) != NULL) {
		vertice__governance__v1__decision_history__init(h);
		d->history = h;
	}
	if (h) {
		ts_set(&h->submitted_at, c.created_ms);
		ts_set(&h->reviewed_at, now);
		str_set(&h->reviewed_by, "system");
		str_set(&h->outcome, "EXPIRED");
	}
	e = fx_add(st);
	if (!e || pack_decision(d, &e->blob, &e->len) < 0) {
		if (e)
			st->nfx--;
		vertice__governance__v1__decision__free_unpacked(d, NULL);
		return STORE_E_NOMEM;
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->old_status = c.status;
	e->new_status = ST_EXPIRED;
	e->rank = c.rank;
	e->created_ms = c.created_ms;
	e->expires_ms = c.expires_ms;
	e->reviewed_ms = now;
	e->op_type = strdup(d->operation_type);
	e->assigned = strdup(d->assigned_operator);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	s = st->s_upd_dec;
	bind_text(s, 1, "EXPIRED");
	bind_text(s, 2, e->assigned);
	sqlite3_bind_int64(s, 3, now);
	bind_text(s, 4, "system");
	bind_text(s, 5, "EXPIRED");
	sqlite3_bind_blob(s, 6, e->blob, (int)e->len, SQLITE_STATIC);
	bind_text(s, 7, id);
	if (!e->op_type || !e->assigned || step_done(s) < 0 ||
	    insert_event(st, e, STORE_EV_RESOLVED, now) < 0) {
		fx_release(e);
		st->nfx--;
		return io_fail(st, op);
	}
	op->expired++;
	return STORE_OK;
}

static store_code op_expire(store *st, store_op *op, int64_t now)
{
	char (*due)[40] = NULL;
	size_t n = 0, cap = 0;
	store_code rc = STORE_OK;

	if (now < st->earliest_expiry)
		return STORE_OK;
	/* Collect first: expiring changes what the loop would walk. */
	for (int r = 0; r < 4; r++) {
		struct vec *v = &st->ranks[r];
		for (size_t i = 0; i < v->n; i++) {
			struct odec *d = v->v[i];
			if (d->removed || d->expires_ms > now)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				char (*nd)[40] = realloc(due, nc * sizeof(*nd));
				if (!nd) {
					free(due);
					return STORE_E_NOMEM;
				}
				due = nd;
				cap = nc;
			}
			snprintf(due[n++], 40, "%s", d->id);
		}
	}
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = expire_one(st, op, due[i], now);
	free(due);
	return rc;
}

static store_code op_session_open(store *st, store_op *op, int64_t now)
{
	sqlite3_stmt *s = st->s_ins_sess;

	store__random_id("s-", op->session_id_out, sizeof(op->session_id_out));
	bind_text(s, 1, op->session_id_out);
	bind_text(s, 2, op->operator_id);
	sqlite3_bind_int64(s, 3, now);
	if (step_done(s) < 0)
		return io_fail(st, op);
	op->session_created_ms = now;
	return STORE_OK;
}

static store_code op_session_close(store *st, store_op *op, int64_t now)
{
	sqlite3_stmt *s = st->s_sess;
	int rc, open = 0;

	bind_text(s, 1, op->session_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		open = sqlite3_column_type(s, 1) == SQLITE_NULL;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE) {
		snprintf(op->message, sizeof(op->message), "session '%.64s' not found",
			 op->session_id);
		return STORE_E_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return io_fail(st, op);
	if (!open)
		return STORE_OK;
	s = st->s_close_sess;
	sqlite3_bind_int64(s, 1, now);
	bind_text(s, 2, op->session_id);
	return step_done(s) < 0 ? io_fail(st, op) : STORE_OK;
}

static store_code run_op(store *st, store_op *op, int64_t now)
{
	switch (op->kind) {
	case STORE_OP_SUBMIT: return op_submit(st, op, now);
	case STORE_OP_APPROVE:
	case STORE_OP_REJECT:
	case STORE_OP_ESCALATE: return op_review(st, op, now);
	case STORE_OP_EXPIRE_DUE: return op_expire(st, op, now);
	case STORE_OP_SESSION_OPEN: return op_session_open(st, op, now);
	case STORE_OP_SESSION_CLOSE: return op_session_close(st, op, now);
	}
	snprintf(op->message, sizeof(op->message), "unknown operation");
	return STORE_E_INVALID;
}

/* ---- after a commit: memory follows the database ---- */

static void metrics_leave(store *st, int status, int rank)
{
	if (status == ST_PENDING || status == ST_ESCALATED) {
		st->m.pending--;
		if (status == ST_ESCALATED)
			st->m.escalated--;
		if (rank == 0)
			st->m.critical--;
		if (rank == 1)
			st->m.high--;
	}
}

static void metrics_enter(store *st, int status, int rank)
{
	switch (status) {
	case ST_PENDING:
	case ST_ESCALATED:
		st->m.pending++;
		if (status == ST_ESCALATED)
			st->m.escalated++;
		if (rank == 0)
			st->m.critical++;
		if (rank == 1)
			st->m.high++;
		break;
	case ST_APPROVED: st->m.approved++; break;
	case ST_REJECTED: st->m.rejected++; break;
	case ST_EXPIRED: st->m.expired++; st->m.sla_violations++; break;
	}
}

static void ring_put(store *st, const struct effect *e)
{
	struct ring_ev *r = &st->ring[e->seq % st->ring_cap];

	free(r->blob);
	r->seq = e->seq;
	r->type = e->event;
	r->at_ms = e->at_ms;
	r->blob = dup_bytes(e->blob, e->len);
	r->len = r->blob ? e->len : 0;
	/* ring_first is the oldest sequence the ring really holds: after a
	 * restart the ring starts empty, and older events live only on disk. */
	if (!st->ring_first)
		st->ring_first = e->seq;
	else if (e->seq - st->ring_first >= st->ring_cap)
		st->ring_first = e->seq - st->ring_cap + 1;
}

static void apply(store *st)
{
	pthread_rwlock_wrlock(&st->lock);
	for (size_t i = 0; i < st->nfx; i++) {
		struct effect *e = &st->fx[i];
		int open_now = e->new_status == ST_PENDING || e->new_status == ST_ESCALATED;
		struct odec *d = byid_find(st, e->id);

		if (e->event >= 0)
			ring_put(st, e);
		if (e->old_status == ST_NONE)
			st->m.total++;
		else
			metrics_leave(st, e->old_status, e->rank);
		metrics_enter(st, e->new_status, e->rank);
		if (e->new_status == ST_APPROVED || e->new_status == ST_REJECTED) {
			st->resp_sum_ms += e->reviewed_ms - e->created_ms;
			st->resp_n++;
		}
		if (open_now) {
			if (!d) {
				d = calloc(1, sizeof(*d));
				if (!d)
					continue; /* memory stays behind; reads fall back to disk */
				snprintf(d->id, sizeof(d->id), "%s", e->id);
				d->rank = e->rank;
				d->created_ms = e->created_ms;
				d->expires_ms = e->expires_ms;
				if (byid_insert(st, d) < 0 || vec_insert(&st->ranks[d->rank], d) < 0) {
					byid_remove(st, d->id);
					free(d);
					continue;
				}
			}
			snprintf(d->status, sizeof(d->status), "%s", st_names[e->new_status]);
			free(d->op_type);
			free(d->assigned);
			free(d->blob);
			d->op_type = e->op_type;
			d->assigned = e->assigned;
			d->blob = e->blob;
			d->len = e->len;
			e->op_type = e->assigned = NULL;
			e->blob = NULL;
			if (d->expires_ms < st->earliest_expiry)
				st->earliest_expiry = d->expires_ms;
		} else if (d) {
			byid_remove(st, d->id);
			d->removed = 1;
			st->ranks[d->rank].removed++;
			vec_compact(&st->ranks[d->rank]);
		}
		if (e->seq > st->last_seq)
			st->last_seq = e->seq;
	}
	recompute_derived(&st->m, st->resp_sum_ms, st->resp_n);
	st->m.last_seq = st->last_seq;
	pthread_rwlock_unlock(&st->lock);
}

static void recompute_earliest(store *st)
{
	int64_t e = INT64_MAX;

	for (int r = 0; r < 4; r++)
		for (size_t i = 0; i < st->ranks[r].n; i++)
			if (!st->ranks[r].v[i]->removed && st->ranks[r].v[i]->expires_ms < e)
				e = st->ranks[r].v[i]->expires_ms;
	st->earliest_expiry = e;
}

static void finish_ops(store_op *list)
{
	while (list) {
		store_op *next = list->next;
		uint8_t *dec = list->decision;
		/* done() may free op (its owner's): touch nothing after it. */
		list->done(list);
		free(dec);
		list = next;
	}
}

static void run_batch(store *st, store_op *list)
{
	int64_t now = store__now_ms();
	char err[256];
	int any_events = 0, expired_any = 0;
	uint64_t first_seq = st->next_seq;

	st->nfx = 0;
	if (step_done(st->s_begin) < 0) {
		snprintf(err, sizeof(err), "%s", sqlite3_errmsg(st->db));
		for (store_op *op = list; op; op = op->next) {
			op->result = STORE_E_IO;
			snprintf(op->message, sizeof(op->message), "database error: %.200s", err);
		}
		finish_ops(list);
		return;
	}
	for (store_op *op = list; op; op = op->next) {
		size_t mark = st->nfx;
		uint64_t seq_mark = st->next_seq;

		step_done(st->s_sp);
		op->result = run_op(st, op, now);
		if (op->result == STORE_OK) {
			step_done(st->s_release);
			if (op->kind == STORE_OP_EXPIRE_DUE && op->expired)
				expired_any = 1;
		} else {
			step_done(st->s_rollback_to);
			step_done(st->s_release);
			while (st->nfx > mark)
				fx_release(&st->fx[--st->nfx]);
			st->next_seq = seq_mark;
			free(op->decision);
			op->decision = NULL;
			op->decision_len = 0;
		}
	}
	/* Retention: trim old events now and then, inside the same commit. */
	if (st->next_seq - 1 > st->opts.event_retention &&
	    (st->next_seq - 1) / 1024 != (first_seq - 1) / 1024) {
		sqlite3_bind_int64(st->s_trim_ev, 1,
				   (sqlite3_int64)(st->next_seq - 1 - st->opts.event_retention));
		step_done(st->s_trim_ev);
	}
	if (step_done(st->s_commit) < 0) {
		snprintf(err, sizeof(err), "%s", sqlite3_errmsg(st->db));
		exec_sql(st->db, "ROLLBACK", err + strlen(err), 0);
		for (size_t i = 0; i < st->nfx; i++)
			fx_release(&st->fx[i]);
		st->nfx = 0;
		st->next_seq = st->last_seq + 1;
		for (store_op *op = list; op; op = op->next) {
			if (op->result == STORE_OK) {
				op->result = STORE_E_IO;
				snprintf(op->message, sizeof(op->message),
					 "database error: commit failed: %.180s", err);
				free(op->decision);
				op->decision = NULL;
			}
		}
		finish_ops(list);
		return;
	}
	st->commits++;
	any_events = st->next_seq != first_seq;
	apply(st);
	for (size_t i = 0; i < st->nfx; i++)
		fx_release(&st->fx[i]);
	st->nfx = 0;
	if (expired_any)
		recompute_earliest(st);
	if (any_events && st->hook)
		st->hook(st->last_seq, st->hook_ud);
	finish_ops(list);
}

static void *writer_main(void *arg)
{
	store *st = arg;

	for (;;) {
		store_op *list, *tail;
		uint32_t n = 1;

		pthread_mutex_lock(&st->qlock);
		while (!st->qhead && !st->closing)
			pthread_cond_wait(&st->qcond, &st->qlock);
		if (!st->qhead) {
			pthread_mutex_unlock(&st->qlock);
			break;
		}
		list = tail = st->qhead;
		while (tail->next && n < st->opts.max_batch) {
			tail = tail->next;
			n++;
		}
		st->qhead = tail->next;
		if (!st->qhead)
			st->qtail = NULL;
		tail->next = NULL;
		pthread_mutex_unlock(&st->qlock);
		run_batch(st, list);
	}
	return NULL;
}

void store_submit(store *st, store_op *op)
{
	op->next = NULL;
	op->result = STORE_OK;
	op->message[0] = '\0';
	op->decision = NULL;
	op->decision_len = 0;
	op->created = op->replayed = 0;
	op->expired = 0;
	pthread_mutex_lock(&st->qlock);
	if (st->closing) {
		pthread_mutex_unlock(&st->qlock);
		op->result = STORE_E_CLOSED;
		snprintf(op->message, sizeof(op->message), "the store is shutting down");
		op->done(op);
		return;
	}
	if (st->qtail)
		st->qtail->next = op;
	else
		st->qhead = op;
	st->qtail = op;
	pthread_cond_signal(&st->qcond);
	pthread_mutex_unlock(&st->qlock);
}

void store_set_event_hook(store *st, void (*fn)(uint64_t, void *), void *ud)
{
	st->hook = fn;
	st->hook_ud = ud;
}

uint64_t store__commits(const store *st)
{
	return st->commits;
}

/* ---- open / close ---- */

store_code store_open(const store_options *o, store **out, char *err, size_t errlen)
{
	store *st;
	store_options def;

	if (!o) {
		store_options_init(&def);
		o = &def;
	}
	if (!o->path || !*o->path) {
		snprintf(err, errlen, "no database path given");
		return STORE_E_INVALID;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return STORE_E_NOMEM;
	st->opts = *o;
	if (!st->opts.max_batch)
		st->opts.max_batch = 1024;
	if (!st->opts.event_retention)
		st->opts.event_retention = 100000;
	st->ring_cap = RING_DEFAULT;
	snprintf(st->path, sizeof(st->path), "%s", o->path);
	pthread_mutex_init(&st->qlock, NULL);
	pthread_cond_init(&st->qcond, NULL);
	pthread_rwlock_init(&st->lock, NULL);
	pthread_key_create(&st->reader_key, reader_free);
	st->ring = calloc(st->ring_cap, sizeof(*st->ring));
	if (!st->ring)
		goto nomem;
	if (mkdirs(st->path) < 0) {
		snprintf(err, errlen, "cannot create the directory of '%s': %s", st->path,
			 strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(st->path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open '%s': %s", st->path,
			 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	/* A page cache that holds the working set and memory-mapped reads:
	 * without them every batch re-reads its pages through read(2).  A
	 * larger auto-checkpoint spreads checkpoint work over more commits. */
	if (exec_sql(st->db, "PRAGMA journal_mode=WAL", err, errlen) < 0 ||
	    exec_sql(st->db, "PRAGMA cache_size=-65536", err, errlen) < 0 ||
	    exec_sql(st->db, "PRAGMA mmap_size=268435456", err, errlen) < 0 ||
	    exec_sql(st->db, "PRAGMA wal_autocheckpoint=8192", err, errlen) < 0 ||
	    exec_sql(st->db, st->opts.synchronous_full ? "PRAGMA synchronous=FULL" :
			     "PRAGMA synchronous=NORMAL", err, errlen) < 0 ||
	    migrate(st, err, errlen) < 0)
		goto fail_named;
	if (prepare(st, &st->s_ins_dec,
		    "INSERT INTO decisions(id, status, priority_rank, created_ms, expires_ms, "
		    "operation_type, assigned_operator, idempotency_key, blob) "
		    "VALUES(?1, 'PENDING', ?2, ?3, ?4, ?5, ?6, ?7, ?8)", err, errlen) < 0 ||
	    prepare(st, &st->s_upd_dec,
		    "UPDATE decisions SET status=?1, assigned_operator=?2, reviewed_ms=?3, "
		    "reviewed_by=?4, outcome=?5, blob=?6 WHERE id=?7", err, errlen) < 0 ||
	    prepare(st, &st->s_status, "SELECT status FROM decisions WHERE id=?1", err,
		    errlen) < 0 ||
	    prepare(st, &st->s_idem, "SELECT blob FROM decisions WHERE idempotency_key=?1", err,
		    errlen) < 0 ||
	    prepare(st, &st->s_sess, "SELECT operator_id, closed_ms FROM sessions WHERE id=?1",
		    err, errlen) < 0 ||
	    prepare(st, &st->s_ins_sess,
		    "INSERT INTO sessions(id, operator_id, created_ms) VALUES(?1, ?2, ?3)", err,
		    errlen) < 0 ||
	    prepare(st, &st->s_close_sess, "UPDATE sessions SET closed_ms=?1 WHERE id=?2", err,
		    errlen) < 0 ||
	    prepare(st, &st->s_req,
		    "SELECT decision_id, processed_ms, blob FROM requests WHERE request_id=?1", err,
		    errlen) < 0 ||
	    prepare(st, &st->s_ins_req,
		    "INSERT INTO requests(request_id, decision_id, kind, processed_ms, blob) "
		    "VALUES(?1, ?2, ?3, ?4, ?5)", err, errlen) < 0 ||
	    prepare(st, &st->s_ins_ev,
		    "INSERT INTO events(seq, type, at_ms, decision_id, blob) "
		    "VALUES(?1, ?2, ?3, ?4, ?5)", err, errlen) < 0 ||
	    prepare(st, &st->s_trim_ev, "DELETE FROM events WHERE seq <= ?1", err, errlen) < 0 ||
	    prepare(st, &st->s_ins_esc,
		    "INSERT INTO escalations(decision_id, escalated_by, at_ms) VALUES(?1, ?2, ?3)",
		    err, errlen) < 0 ||
	    prepare(st, &st->s_sp, "SAVEPOINT op", err, errlen) < 0 ||
	    prepare(st, &st->s_release, "RELEASE op", err, errlen) < 0 ||
	    prepare(st, &st->s_rollback_to, "ROLLBACK TO op", err, errlen) < 0 ||
	    prepare(st, &st->s_begin, "BEGIN IMMEDIATE", err, errlen) < 0 ||
	    prepare(st, &st->s_commit, "COMMIT", err, errlen) < 0)
		goto fail_named;
	if (load(st, err, errlen) < 0)
		goto fail_named;
	recompute_derived(&st->m, st->resp_sum_ms, st->resp_n);
	st->m.last_seq = st->last_seq;
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
		snprintf(err, errlen, "cannot start the store's writer thread");
		goto fail;
	}
	st->writer_started = 1;
	*out = st;
	return STORE_OK;
fail_named:
	{
		char tmp[1600];
		snprintf(tmp, sizeof(tmp), "%s: %s", st->path, err);
		snprintf(err, errlen, "%s", tmp);
	}
fail:
	store_close(st);
	return STORE_E_IO;
nomem:
	store_close(st);
	return STORE_E_NOMEM;
}

void store_close(store *st)
{
	sqlite3_stmt **stmts[] = { &st->s_ins_dec, &st->s_upd_dec, &st->s_status, &st->s_idem,
				   &st->s_sess, &st->s_ins_sess, &st->s_close_sess, &st->s_req,
				   &st->s_ins_req, &st->s_ins_ev, &st->s_trim_ev, &st->s_ins_esc,
				   &st->s_sp, &st->s_release, &st->s_rollback_to, &st->s_begin,
				   &st->s_commit };

	if (!st)
		return;
	pthread_mutex_lock(&st->qlock);
	st->closing = 1;
	pthread_cond_broadcast(&st->qcond);
	pthread_mutex_unlock(&st->qlock);
	if (st->writer_started)
		pthread_join(st->writer, NULL);
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		sqlite3_finalize(*stmts[i]);
	if (st->db)
		sqlite3_close_v2(st->db);
	{
		sqlite3 *r = pthread_getspecific(st->reader_key);
		if (r) {
			sqlite3_close_v2(r);
			pthread_setspecific(st->reader_key, NULL);
		}
	}
	pthread_key_delete(st->reader_key);
	for (int r = 0; r < 4; r++) {
		for (size_t i = 0; i < st->ranks[r].n; i++)
			odec_free(st->ranks[r].v[i]);
		free(st->ranks[r].v);
	}
	free(st->byid);
	for (uint32_t i = 0; st->ring && i < st->ring_cap; i++)
		free(st->ring[i].blob);
	free(st->ring);
	free(st->fx);
	pthread_rwlock_destroy(&st->lock);
	pthread_cond_destroy(&st->qcond);
	pthread_mutex_destroy(&st->qlock);
	free(st);
}

/* ---- reads ---- */

store_code store_get(store *st, const char *id, uint8_t **blob, size_t *len)
{
	struct odec *d;
	sqlite3 *db;
	sqlite3_stmt *s;
	store_code res = STORE_E_NOTFOUND;
	int rc;

	pthread_rwlock_rdlock(&st->lock);
	d = byid_find(st, id);
	if (d) {
		*blob = dup_bytes(d->blob, d->len);
		*len = d->len;
	}
	pthread_rwlock_unlock(&st->lock);
	if (d)
		return *blob ? STORE_OK : STORE_E_NOMEM;
	db = reader(st);
	if (!db || sqlite3_prepare_v2(db, "SELECT blob FROM decisions WHERE id=?1", -1, &s, NULL) !=
			   SQLITE_OK)
		return STORE_E_IO;
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(s, 0);
		*blob = dup_bytes(sqlite3_column_blob(s, 0), *len);
		res = *blob ? STORE_OK : STORE_E_NOMEM;
	} else if (rc != SQLITE_DONE) {
		res = STORE_E_IO;
	}
	sqlite3_finalize(s);
	return res;
}

static int empty(const char *s)
{
	return !s || !*s;
}

static uint32_t filter_hash(const store_filter *f)
{
	uint64_t h = 1469598103934665603ull;
	const char *parts[4] = { f->status, f->priority, f->operation_type, f->assigned_operator };

	for (int i = 0; i < 4; i++) {
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

struct pos {
	int rank;
	int64_t created;
	char id[40];
};

/* Token: "v1.<filter hash>.<rank>.<created_ms>.<id>" of the last item. */
static int token_parse(const char *t, uint32_t want, struct pos *p)
{
	unsigned long h;
	int n = 0;
	long long c;

	if (sscanf(t, "v1.%8lx.%d.%lld.%39[a-z0-9-]%n", &h, &p->rank, &c, p->id, &n) != 4 ||
	    t[n] != '\0' || (uint32_t)h != want || p->rank < 0 || p->rank > 3)
		return -1;
	p->created = c;
	return 0;
}

static int page_add(store_page *pg, const uint8_t *b, size_t len, uint32_t limit)
{
	size_t at = pg->data_len;

	if (!pg->offsets) {
		pg->offsets = calloc(limit, sizeof(size_t));
		pg->lengths = calloc(limit, sizeof(size_t));
		if (!pg->offsets || !pg->lengths)
			return -1;
	}
	{
		uint8_t *nd = realloc(pg->data, at + len + 1);
		if (!nd)
			return -1;
		pg->data = nd;
	}
	memcpy(pg->data + at, b, len);
	pg->offsets[pg->count] = at;
	pg->lengths[pg->count] = len;
	pg->count++;
	pg->data_len += len;
	return 0;
}

static int matches(const struct odec *d, const store_filter *f)
{
	if (d->removed)
		return 0;
	if (!empty(f->status) && strcmp(d->status, f->status) != 0)
		return 0;
	if (!empty(f->operation_type) && strcmp(d->op_type, f->operation_type) != 0)
		return 0;
	if (!empty(f->assigned_operator) && strcmp(d->assigned, f->assigned_operator) != 0)
		return 0;
	return 1;
}

static store_code list_open(store *st, const store_filter *f, const struct pos *after,
			    uint32_t limit, uint32_t fh, store_page *pg)
{
	int want_rank = empty(f->priority) ? -1 : rank_of(f->priority);
	const struct odec *last = NULL;
	int more = 0;

	pthread_rwlock_rdlock(&st->lock);
	for (int r = 0; r < 4; r++) {
		const struct vec *v = &st->ranks[r];
		size_t start = 0;

		if (want_rank >= 0 && r != want_rank)
			continue;
		for (size_t i = 0; i < v->n; i++)
			if (matches(v->v[i], f))
				pg->total++;
		if (after) {
			if (r < after->rank)
				continue;
			if (r == after->rank)
				start = vec_upper(v, after->created, after->id);
		}
		for (size_t i = start; i < v->n && !more; i++) {
			if (!matches(v->v[i], f))
				continue;
			if (pg->count == limit) {
				more = 1;
				break;
			}
			if (page_add(pg, v->v[i]->blob, v->v[i]->len, limit) < 0) {
				pthread_rwlock_unlock(&st->lock);
				return STORE_E_NOMEM;
			}
			last = v->v[i];
		}
	}
	if (more && last)
		snprintf(pg->next_token, sizeof(pg->next_token), "v1.%08x.%d.%lld.%s", fh, last->rank,
			 (long long)last->created_ms, last->id);
	pthread_rwlock_unlock(&st->lock);
	return STORE_OK;
}

static store_code list_resolved(store *st, const store_filter *f, const struct pos *after,
				uint32_t limit, uint32_t fh, store_page *pg)
{
	char where[512], sql[768];
	sqlite3 *db = reader(st);
	sqlite3_stmt *s;
	int rc, k = 2, last_rank = 0;
	long long last_created = 0;
	char last_id[40] = "";

	if (!db)
		return STORE_E_IO;
	snprintf(where, sizeof(where), "status=?1%s%s%s",
		 empty(f->priority) ? "" : " AND priority_rank=?2",
		 empty(f->operation_type) ? "" : " AND operation_type=?3",
		 empty(f->assigned_operator) ? "" : " AND assigned_operator=?4");
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM decisions WHERE %s", where);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return STORE_E_IO;
	bind_text(s, 1, f->status);
	if (!empty(f->priority))
		sqlite3_bind_int(s, 2, rank_of(f->priority));
	if (!empty(f->operation_type))
		bind_text(s, 3, f->operation_type);
	if (!empty(f->assigned_operator))
		bind_text(s, 4, f->assigned_operator);
	if (sqlite3_step(s) == SQLITE_ROW)
		pg->total = (uint32_t)sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	snprintf(sql, sizeof(sql),
		 "SELECT blob, priority_rank, created_ms, id FROM decisions WHERE %s%s "
		 "ORDER BY priority_rank, created_ms, id LIMIT ?8", where,
		 after ? " AND (priority_rank, created_ms, id) > (?5, ?6, ?7)" : "");
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return STORE_E_IO;
	bind_text(s, 1, f->status);
	if (!empty(f->priority))
		sqlite3_bind_int(s, 2, rank_of(f->priority));
	if (!empty(f->operation_type))
		bind_text(s, 3, f->operation_type);
	if (!empty(f->assigned_operator))
		bind_text(s, 4, f->assigned_operator);
	if (after) {
		sqlite3_bind_int(s, 5, after->rank);
		sqlite3_bind_int64(s, 6, after->created);
		bind_text(s, 7, after->id);
	}
	sqlite3_bind_int(s, 8, (int)limit + 1);
	(void)k;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (pg->count == limit) {
			snprintf(pg->next_token, sizeof(pg->next_token), "v1.%08x.%d.%lld.%s", fh,
				 last_rank, last_created, last_id);
			break;
		}
		if (page_add(pg, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0),
			     limit) < 0) {
			sqlite3_finalize(s);
			return STORE_E_NOMEM;
		}
		last_rank = sqlite3_column_int(s, 1);
		last_created = sqlite3_column_int64(s, 2);
		snprintf(last_id, sizeof(last_id), "%s", (const char *)sqlite3_column_text(s, 3));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_E_IO;
}

store_code store_list(store *st, const store_filter *f, const char *token, uint32_t limit,
		      store_page *out)
{
	uint32_t fh = filter_hash(f);
	struct pos p;
	const struct pos *after = NULL;
	int st_idx = empty(f->status) ? -1 : status_index(f->status);
	store_code rc;

	memset(out, 0, sizeof(*out));
	if (limit == 0)
		limit = 1;
	if (token && *token) {
		if (token_parse(token, fh, &p) < 0)
			return STORE_E_INVALID;
		after = &p;
	}
	if (st_idx == ST_NONE && !empty(f->status))
		return STORE_E_INVALID;
	if (st_idx == -1 || st_idx == ST_PENDING || st_idx == ST_ESCALATED)
		rc = list_open(st, f, after, limit, fh, out);
	else
		rc = list_resolved(st, f, after, limit, fh, out);
	if (rc != STORE_OK)
		store_page_release(out);
	return rc;
}

void store_page_release(store_page *p)
{
	free(p->data);
	free(p->offsets);
	free(p->lengths);
	memset(p, 0, sizeof(*p));
}

void store_get_metrics(store *st, store_metrics *m)
{
	pthread_rwlock_rdlock(&st->lock);
	*m = st->m;
	pthread_rwlock_unlock(&st->lock);
}

store_code store_get_operator_stats(store *st, const char *operator_id,
				    store_operator_stats *out)
{
	sqlite3 *db = reader(st);
	sqlite3_stmt *s;
	int found = 0;

	memset(out, 0, sizeof(*out));
	if (!db)
		return STORE_E_IO;
	if (sqlite3_prepare_v2(db,
			       "SELECT (SELECT MIN(created_ms) FROM sessions WHERE operator_id=?1 "
			       "AND closed_ms IS NULL), (SELECT MAX(created_ms) FROM sessions "
			       "WHERE operator_id=?1)", -1, &s, NULL) != SQLITE_OK)
		return STORE_E_IO;
	bind_text(s, 1, operator_id);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 1) != SQLITE_NULL) {
		found = 1;
		out->session_start_ms = sqlite3_column_type(s, 0) != SQLITE_NULL ?
			sqlite3_column_int64(s, 0) : sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (!found)
		return STORE_E_NOTFOUND;
	if (sqlite3_prepare_v2(db,
			       "SELECT COALESCE(SUM(outcome='APPROVED'),0), "
			       "COALESCE(SUM(outcome='REJECTED'),0), "
			       "COALESCE(AVG(reviewed_ms - created_ms),0), "
			       "(SELECT COUNT(*) FROM escalations WHERE escalated_by=?1) "
			       "FROM decisions WHERE reviewed_by=?1 AND outcome IN ('APPROVED','REJECTED')",
			       -1, &s, NULL) != SQLITE_OK)
		return STORE_E_IO;
	bind_text(s, 1, operator_id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->approved = sqlite3_column_int(s, 0);
		out->rejected = sqlite3_column_int(s, 1);
		out->avg_response_s = sqlite3_column_double(s, 2) / 1000.0;
		out->escalated = sqlite3_column_int(s, 3);
	}
	sqlite3_finalize(s);
	out->total = out->approved + out->rejected + out->escalated;
	return STORE_OK;
}

uint64_t store_last_seq(store *st)
{
	uint64_t v;

	pthread_rwlock_rdlock(&st->lock);
	v = st->last_seq;
	pthread_rwlock_unlock(&st->lock);
	return v;
}

store_code store_events_since(store *st, uint64_t after, uint32_t max,
			      int (*fn)(const store_event *, void *), void *ud)
{
	uint64_t last;
	uint32_t sent = 0;
	sqlite3 *db;
	sqlite3_stmt *s;
	int rc;

	pthread_rwlock_rdlock(&st->lock);
	last = st->last_seq;
	if (after > last) {
		pthread_rwlock_unlock(&st->lock);
		return STORE_E_INVALID;
	}
	if (st->ring_first && after + 1 >= st->ring_first) {
		for (uint64_t q = after + 1; q <= last && sent < max; q++, sent++) {
			const struct ring_ev *r = &st->ring[q % st->ring_cap];
			store_event ev = { r->seq, (store_event_type)r->type, r->at_ms, r->blob, r->len };
			if (r->seq != q || fn(&ev, ud))
				break;
		}
		pthread_rwlock_unlock(&st->lock);
		return STORE_OK;
	}
	pthread_rwlock_unlock(&st->lock);
	if (after == last)
		return STORE_OK;
	db = reader(st);
	if (!db || sqlite3_prepare_v2(db,
				      "SELECT seq, type, at_ms, blob FROM events WHERE seq > ?1 "
				      "ORDER BY seq LIMIT ?2", -1, &s, NULL) != SQLITE_OK)
		return STORE_E_IO;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
	sqlite3_bind_int(s, 2, (int)(max ? max : 1));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_event ev;
		ev.seq = (uint64_t)sqlite3_column_int64(s, 0);
		if (sent == 0 && ev.seq != after + 1) {
			sqlite3_finalize(s);
			return STORE_E_RANGE; /* trimmed by retention */
		}
		ev.type = (store_event_type)sqlite3_column_int(s, 1);
		ev.at_ms = sqlite3_column_int64(s, 2);
		ev.decision = sqlite3_column_blob(s, 3);
		ev.decision_len = (size_t)sqlite3_column_bytes(s, 3);
		sent++;
		if (fn(&ev, ud))
			break;
	}
	sqlite3_finalize(s);
	if (sent == 0 && rc == SQLITE_DONE)
		return STORE_E_RANGE;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_E_IO;
}
