/*
 * The embedded store: SQLite in WAL mode behind src/store/store.h.
 *
 * One writer thread runs every write.  It takes what queued up (max_batch at
 * most) and runs it as one transaction: an operation that writes more than
 * one statement gets a savepoint, so that its failure undoes it and nothing
 * else.  The COMMIT writes the batch's log frames in one write and
 * fdatasyncs the log (the WAL file; vfs_gather.c, synchronous=FULL), or,
 * without that VFS, the writer fdatasyncs the log after the COMMIT (wal_fd);
 * once synced, memory takes the batch's changes under the write lock, the
 * event hook runs, and each operation's done() -- so an answer is durable.
 * What queues up during a batch and its sync is the next batch: one sync
 * per batch, shared by all of its operations (group commit).
 *
 * What the writer needs to decide an operation is in memory, so an approval
 * runs one statement (its resolution row; events go in with one multi-row
 * INSERT per batch) and no query:
 * - open decisions (the shared mirror, also what readers list);
 * - open sessions (writer-private);
 * - the overlay: the latest change to each id made by a batch not yet in
 *   memory (committed and waiting for its sync, or being run), so that
 *   operations see each other: the second approval of a decision in a batch
 *   conflicts with the first.
 * Only ids that are not open fall back to the database (to tell "not found"
 * from "already resolved"), and request ids and idempotency keys are looked
 * up there.
 *
 * Readers (store_get, store_list, ...) take the shared lock for what is in
 * memory and a read-only connection from a small pool for the rest; WAL lets
 * them read beside the writer.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/audit_chain.h"
#include "common/buf.h"
#include "common/pcount.h"
#include "common/timeutil.h"
#include "store/store_int.h"

#define RING_DEFAULT 16384
#define TRIM_CHUNK 4096        /* events deleted per batch at most */
#define TRIM_SLACK 1024        /* retention overshoot before trimming, at most */
#define EVENT_CHUNK 64         /* ring events copied per lock hold */
#define ROWS_LEVELS 6          /* multi-row INSERTs of 1, 2, 4 .. 32 rows */
#define ID_MAX 40
#define CKPT_PAGES 8192        /* log pages that start a checkpoint (32 MiB) */
#define CKPT_BACKSTOP 8        /* x checkpoint_pages: the writer checkpoints */
#define CKPT_TAIL_DIV 16       /* checkpoint_pages / this: the tail the writer copies */
#define PATH_CAP 1024

enum { SYNC_FAILED_LOG = 1, SYNC_FAILED_DB = 2 };
/* The file whose sync failed, as the messages name it. */
#define SYNC_FAILED_FILE(what) ((what) == SYNC_FAILED_DB ? "database file" : "log")
enum { ST_NONE = -1, ST_PENDING, ST_ESCALATED, ST_APPROVED, ST_REJECTED, ST_EXPIRED, ST_COUNT };
static const char *const st_names[ST_COUNT] = { "PENDING", "ESCALATED", "APPROVED", "REJECTED",
						"EXPIRED" };
_Static_assert(ST_COUNT == STORE_NSTATUS, "store_gauges.decisions follows ST_*");
static const char *const rank_names[4] = { "CRITICAL", "HIGH", "MEDIUM", "LOW" };

static int is_open(int status)
{
	return status == ST_PENDING || status == ST_ESCALATED;
}

/* ---- a string-keyed hash map (open addressing, linear probing) ---- */

struct slot {
	uint64_t hash;
	const char *key;       /* owned by the value */
	void *val;
};

struct strmap {
	struct slot *s;
	size_t cap, n;         /* cap: 0 or a power of two */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ^ (h >> 29);
}

static void *strmap_get(const struct strmap *m, const char *key)
{
	uint64_t h;
	size_t mask, i;

	if (!m->n)
		return NULL;
	h = hash_str(key);
	mask = m->cap - 1;
	for (i = h & mask; m->s[i].key; i = (i + 1) & mask)
		if (m->s[i].hash == h && strcmp(m->s[i].key, key) == 0)
			return m->s[i].val;
	return NULL;
}

/*
 * Starts loading what a strmap_get of each key will touch: the slot its
 * hash lands on, then the value that slot holds (keys of open decisions
 * live in their values).  A batch's lookups in a map of 100,000 open
 * decisions each missed the cache twice, one after the other: 7 % of the
 * writer's time (perf); fetched side by side for the whole batch first,
 * they overlap.
 */
static void strmap_prefetch(const struct strmap *m, const char *const *keys, size_t n)
{
	size_t mask, at[64];

	if (!m->n)
		return;
	mask = m->cap - 1;
	n = n < 64 ? n : 64;
	for (size_t i = 0; i < n; i++) {
		at[i] = hash_str(keys[i]) & mask;
		__builtin_prefetch(&m->s[at[i]]);
	}
	for (size_t i = 0; i < n; i++)
		if (m->s[at[i]].val)
			__builtin_prefetch(m->s[at[i]].val);
}

static void strmap_place(struct strmap *m, uint64_t h, const char *key, void *val)
{
	size_t mask = m->cap - 1, i;

	for (i = h & mask; m->s[i].key; i = (i + 1) & mask)
		;
	m->s[i].hash = h;
	m->s[i].key = key;
	m->s[i].val = val;
	m->n++;
}

static int strmap_grow(struct strmap *m)
{
	struct slot *old = m->s;
	size_t oldcap = m->cap;

	m->cap = oldcap ? oldcap * 2 : 64;
	m->s = calloc(m->cap, sizeof(*m->s));
	if (!m->s) {
		m->s = old;
		m->cap = oldcap;
		return -1;
	}
	m->n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			strmap_place(m, old[i].hash, old[i].key, old[i].val);
	free(old);
	return 0;
}

/* Sets key to val (replacing).  key must live as long as the entry. */
static int strmap_put(struct strmap *m, const char *key, void *val)
{
	uint64_t h = hash_str(key);
	size_t mask, i;

	if (m->cap) {
		mask = m->cap - 1;
		for (i = h & mask; m->s[i].key; i = (i + 1) & mask) {
			if (m->s[i].hash == h && strcmp(m->s[i].key, key) == 0) {
				m->s[i].key = key;
				m->s[i].val = val;
				return 0;
			}
		}
	}
	if ((m->n + 1) * 2 > m->cap && strmap_grow(m) < 0)
		return -1;
	strmap_place(m, h, key, val);
	return 0;
}

static void strmap_del(struct strmap *m, const char *key)
{
	uint64_t h;
	size_t mask, i, j;

	if (!m->n)
		return;
	h = hash_str(key);
	mask = m->cap - 1;
	for (i = h & mask; m->s[i].key; i = (i + 1) & mask)
		if (m->s[i].hash == h && strcmp(m->s[i].key, key) == 0)
			break;
	if (!m->s[i].key)
		return;
	/* Backward-shift deletion: pull later members of the run into the
	 * hole when their home slot is not between the hole and them. */
	for (j = (i + 1) & mask; m->s[j].key; j = (j + 1) & mask) {
		size_t home = m->s[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	memset(&m->s[i], 0, sizeof(m->s[i]));
	m->n--;
}

static void strmap_clear(struct strmap *m)
{
	if (m->n)
		memset(m->s, 0, m->cap * sizeof(*m->s));
	m->n = 0;
}

static void strmap_release(struct strmap *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

/* ---- in-memory state ---- */

struct odec {                  /* an open decision */
	char id[ID_MAX];
	int64_t rid;               /* its rowid: updates skip the id index */
	int status;                /* ST_PENDING or ST_ESCALATED */
	int rank;
	int64_t created_ms, expires_ms;
	char *op_type, *assigned;
	uint8_t *blob;
	size_t len;
	int removed;               /* resolved; dropped at the next compaction */
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

struct session {               /* an open session (writer-private) */
	char id[ID_MAX];
	char *operator_id;
};

enum { FX_DECISION, FX_SESSION_OPEN, FX_SESSION_CLOSE };

/* A change made by a batch, applied to memory once the batch is synced. */
struct effect {
	int kind;
	char id[ID_MAX];           /* decision or session id */
	int64_t rid;
	int old_status, new_status;    /* ST_NONE as old: submitted now */
	int rank;
	int64_t created_ms, expires_ms, reviewed_ms;
	char *op_type, *assigned;  /* owned copies (memory takes them) */
	uint8_t *blob;             /* the decision after (owned) */
	size_t len;
	int event;                 /* store_event_type, -1: none */
	uint64_t seq;
	char *operator_id;         /* session open: owned */
	int64_t res_rid;           /* resolved: the rowid of its resolutions row */
	int amend;                 /* an execution record added to a resolved
				      decision: its bytes changed, nothing else
				      (no metrics, no review counts) */
	int res_row;               /* its resolutions row (res_rid) is written
				      at the end of the batch (write_resolutions):
				      a resolution, or an execution amending one
				      made in this batch */
	const char *reviewed_by;   /* a resolution's; lives through the batch */
	const uint8_t *res_blob;   /* the row's bytes when an execution later in
				      the batch amended them (that effect's) */
	size_t res_len;
};

/*
 * A batch: the operations of one transaction and what they changed.  From
 * its commit until an fdatasync of the log covers it, it waits in
 * st->pending (its changes stay in the overlay, so the next batches see
 * them); then memory takes its changes and its operations get answered.
 */
struct batch {
	uint64_t id;               /* commits that must be synced before it ends */
	store_op *ops;
	int64_t now;
	uint64_t trimmed_to;       /* oldest event kept, when it trimmed */
	int rescan_expiry;
	uint64_t last_seq;         /* its last event (0: none) */
	struct effect **fx;        /* effect objects are kept for reuse */
	size_t nfx, nalloc, capfx;
	uint8_t **owned;           /* outputs to free once done() ran */
	size_t nowned, capowned;
	struct batch *next;
};

/* An audit entry of the batch being run.  Its strings are in
 * st->audit_text, by offset (the buffer moves as the batch grows); the
 * hashes are computed, in order, just before the batch's commit. */
enum { AU_ACTOR, AU_ROLE, AU_ACTION, AU_OUTCOME, AU_SUBJECT, AU_DETAIL, AU_NFIELDS };

struct audit_rec {
	size_t off[AU_NFIELDS];
	char hash[AUDIT_HASH_HEX + 1];
};

/* Review counts by operator, added up over a batch and written once. */
struct opstat {
	char operator_id[160];
	int approved, rejected, escalated;
	int64_t response_ms;
};

/* A read-only connection with its statements. */
struct reader {
	sqlite3 *db;
	sqlite3_stmt *get, *events, *sess, *ostats;
	sqlite3_stmt *count[8], *page[16];  /* by filter shape, prepared on use */
	sqlite3_stmt *tok_hash, *tok_id, *tok_list, *audit;  /* prepared on use */
	struct reader *next_idle, *next_all;
};

/*
 * One INSERT of n rows for n = 1, 2, 4 .. 2^(ROWS_LEVELS-1): the rows a
 * batch adds to a table go in as the binary digits of their count (24:
 * one of 16, one of 8).  A statement costs its set-up (cursors, the
 * table's last row) once for all its rows: measured, a row of 16 costs
 * half of a row on its own.
 */
struct rows_ins {
	sqlite3_stmt *s[ROWS_LEVELS];  /* s[l]: 2^l rows */
	int ncols;                     /* row k binds parameters k * ncols + 1 .. */
};

struct store {
	store_options opts;
	char path[PATH_CAP];
	int schema;
	sqlite3 *db;               /* the writer's connection */

	/* the queue */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	store_op *qhead, *qtail;
	uint32_t qlen;             /* ops queued (bounded by opts.max_queue) */
	int closing;
	pthread_t writer;
	int writer_started;

	/* Checkpoints (docs/store.md): a thread of their own copies the log
	 * into the database beside the writer, once the log holds
	 * CKPT_PAGES; ckpt_lock/ckpt_cond guard the two flags. */
	pthread_t ckpt;
	int ckpt_started;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	int ckpt_wanted, ckpt_stop;
	atomic_int ckpt_tail;      /* the thread left the log's last frames to the writer */
	atomic_int db_sync_err;    /* errno of the thread's failed sync of the database file */
	atomic_uint_fast64_t ckpts, ckpt_ns, ckpt_inline, ckpt_tails;

	/* shared with readers: the writer changes it under the write lock */
	pthread_rwlock_t lock;
	struct strmap byid;        /* open decisions by id */
	struct vec ranks[4];
	uint32_t counts[ST_COUNT][4];  /* decisions by status and priority */
	struct ring_ev *ring;
	uint32_t ring_cap;
	uint64_t ring_first;       /* oldest seq in the ring (0: empty) */
	uint64_t first_seq;        /* oldest seq in the events table (0: none) */
	uint64_t last_seq;
	store_metrics m;
	int64_t resp_sum_ms;       /* over approved + rejected */
	uint64_t escalations;      /* since open (store_gauges) */
	uint64_t review_hist[2][STORE_REVIEW_NBOUNDS + 1];
	uint64_t review_sum_ms[2];

	/* the writer's own */
	struct strmap sessions;    /* open sessions */
	struct strmap overlay;     /* id -> latest effect of an unfinished batch */
	struct batch *cur;         /* the batch being run */
	struct batch *pending, *pending_tail;  /* committed, not yet answered */
	struct batch *spare;
	uint64_t committed;        /* transactions that wrote something */
	uint64_t trim_first;       /* oldest event row not deleted */
	int64_t max_rid;           /* of the decisions in memory's view */
	int64_t floor_rid;         /* open_floor_rid as last written */
	int64_t res_rid;           /* the last resolutions row given out */
	int64_t floor_ms;          /* when it was last considered */
	int memory_short;          /* an open decision did not make it into
				      memory: the floor must not pass it */
	int broken;                /* a sync failed: every op fails from now on */
	atomic_int sync_failed;    /* the same, for readers (store_get_gauges):
				      SYNC_FAILED_LOG or SYNC_FAILED_DB */
	char broken_msg[160];
	struct opstat *opst;
	size_t nopst, capopst;
	int in_savepoint;
	struct opstat *review;     /* the op's operator, counted if it succeeds */
	int review_status;
	int64_t review_ms;
	uint64_t next_seq;
	int64_t earliest_expiry;   /* <= every open decision's expires_ms */
	struct audit_rec *audit;   /* the batch's audit entries */
	size_t naudit, capaudit;
	buf audit_text;            /* their strings, NUL-terminated */
	atomic_uint_fast64_t commits, ops, batch_ns, syncs, sync_ns;
	/* written by the writer alone (common/pcount.h) */
	pcount h_batch_time[STORE_TIME_NBOUNDS + 1], h_sync_time[STORE_TIME_NBOUNDS + 1],
		h_batch_ops[STORE_BATCH_NBOUNDS + 1];
	void (*hook)(uint64_t, void *);
	void *hook_ud;

	/* durability (writer-private): after each batch the writer
	 * fdatasyncs the log (wal_fd); synced is the commit count that
	 * covers, sync_err the errno of a failed sync (the store stops) */
	int use_sync;
	int gather;                /* the writer's connection gathers its log
				      writes and syncs in COMMIT (vfs_gather.c) */
	int wal_fd;
	int sync_err;
	uint64_t synced;
	uint64_t batch_sync_ns;    /* the writer's syncs in the current batch */

	struct store__cap cap;     /* the batch cap (writer-private) */

	/* the writer's statements, prepared once */
	sqlite3_stmt *s_ins_dec, *s_esc_dec, *s_status, *s_idem, *s_floor,
		*s_sess_get, *s_ins_sess, *s_close_sess, *s_req, *s_ins_req, *s_trim_ev,
		*s_opstat, *s_sp, *s_release, *s_rollback_to, *s_begin, *s_commit,
		*s_rollback, *s_audit_head, *s_tok_ins, *s_tok_get, *s_tok_revoke, *s_res_get,
		*s_res_amend, *s_ev_keep;
	struct rows_ins ins_res, ins_ev, ins_audit;

	/* readers */
	pthread_mutex_t rlock;
	struct reader *idle, *all;
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
	case STORE_E_FULL: return "disk full";
	case STORE_E_DENIED: return "permission denied";
	case STORE_E_BUSY: return "too many writes waiting";
	}
	return "unknown error";
}

void store_options_init(store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_batch = 1024;
	o->event_retention = 100000;
	o->synchronous_full = 1;
	o->event_ring = RING_DEFAULT;
}

int64_t store__now_ms(void)
{
	int64_t sec;
	int32_t nsec;

	time_wall(&sec, &nsec);
	return sec * 1000 + nsec / 1000000;
}

void store__random_id(const char *prefix, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[10];
	size_t n = 0;
	uint64_t ms = (uint64_t)store__now_ms();
	char id[33];

	while (n < sizeof(r)) {
		ssize_t k = getrandom(r + n, sizeof(r) - n, 0);
		if (k > 0)
			n += (size_t)k;
		else if (errno != EINTR)
			break;  /* not on Linux >= 3.17; the time part stays unique-ish */
	}
	for (int i = 0; i < 12; i++)
		id[i] = hex[(ms >> (44 - 4 * i)) & 0xf];
	for (int i = 0; i < 10; i++) {
		id[12 + 2 * i] = hex[r[i] >> 4];
		id[13 + 2 * i] = hex[r[i] & 0xf];
	}
	id[32] = '\0';
	snprintf(out, outlen, "%s%s", prefix, id);
}

uint64_t store__commits(const store *st)
{
	return atomic_load(&((store *)st)->commits);
}

void store_get_stats(const store *st, store_stats *out)
{
	store *s = (store *)st;

	out->commits = atomic_load(&s->commits);
	out->ops = atomic_load(&s->ops);
	out->batch_ns = atomic_load(&s->batch_ns);
	out->syncs = atomic_load(&s->syncs);
	out->sync_ns = atomic_load(&s->sync_ns);
	for (int i = 0; i <= STORE_TIME_NBOUNDS; i++) {
		out->batch_time[i] = pcount_get(&s->h_batch_time[i]);
		out->sync_time[i] = pcount_get(&s->h_sync_time[i]);
	}
	for (int i = 0; i <= STORE_BATCH_NBOUNDS; i++)
		out->batch_ops[i] = pcount_get(&s->h_batch_ops[i]);
	out->checkpoints = atomic_load(&s->ckpts);
	out->checkpoint_ns = atomic_load(&s->ckpt_ns);
	out->checkpoints_inline = atomic_load(&s->ckpt_inline);
	out->checkpoints_tail = atomic_load(&s->ckpt_tails);
}

const uint64_t store_time_bounds_ns[STORE_TIME_NBOUNDS] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
	50000000, 100000000, 250000000, 500000000, 1000000000,
};
const uint64_t store_batch_bounds[STORE_BATCH_NBOUNDS] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
};
const uint64_t store_review_bounds_ms[STORE_REVIEW_NBOUNDS] = {
	1000, 5000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000,
	7200000, 14400000, 28800000, 86400000,
};

static int status_index(const char *s)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (s && strcmp(s, st_names[i]) == 0)
			return i;
	return ST_NONE;
}

static int rank_of(const char *p)
{
	for (int i = 0; i < 4; i++)
		if (p && strcmp(p, rank_names[i]) == 0)
			return i;
	return -1;
}

static int empty(const char *s)
{
	return !s || !*s;
}

/* Appends at most max bytes of s to dst (capacity cap, holding pos bytes
 * and a NUL), truncating to fit; the new length.  The writer builds its
 * audit details and ids with it: snprintf's format parsing was 4 % of a
 * batch's instructions. */
static size_t cat_n(char *dst, size_t cap, size_t pos, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;

	if (pos >= cap)
		return pos;
	if (n > cap - 1 - pos)
		n = cap - 1 - pos;
	memcpy(dst + pos, s, n);
	dst[pos + n] = '\0';
	return pos + n;
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (c && n)
		memcpy(c, p, n);
	return c;
}

/* ---- ordered vectors of open decisions ---- */

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
		size_t mid = lo + (hi - lo) / 2;
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
		size_t nc = v->cap ? v->cap * 2 : 64;
		struct odec **nv = realloc(v->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		v->v = nv;
		v->cap = nc;
	}
	/* New decisions are the newest: the append is the common case. */
	if (v->n == 0 || odec_cmp(v->v[v->n - 1], d->created_ms, d->id) < 0)
		at = v->n;
	else
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

/* Frees resolved entries once they are a quarter of the vector. */
static void vec_compact(struct vec *v)
{
	size_t w = 0;

	if (v->removed * 4 < v->n)
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

/*
 * migrations[i] takes the schema from version i to i + 1.  A migration runs
 * in one transaction with the user_version bump, so a crash leaves the
 * database at the version before or after it, never between.
 *
 * Version 1 kept a decision as one row, rewritten in place at its review.
 *
 * Version 2.  A decision is a row of decisions from its submission on (an
 * escalation updates it); its resolution (approve, reject, expire) is a row
 * of resolutions, appended, and a decision is open exactly when it has none.
 * So an approval writes one new row and one index entry instead of
 * rewriting the decision in place (whose page, and the status index pages
 * it moves between, are scattered when approvals come in another order
 * than submissions): a third of the pages per commit.
 * events and requests keep the decision as it was at that point; meta holds
 * open_floor_rid, below which no decision is open (what open() loads);
 * operator_stats keeps each operator's review counts, which version 1
 * computed by scanning decisions and escalations.
 *
 * Version 3 adds the audit trail and bearer tokens (docs/security.md);
 * version 4 lets a token expire (tokens.expires_ms, NULL: never).
 * audit is append-only: entry seq is chained to entry seq - 1 by
 * prev_hash, and hash covers the entry's content and prev_hash
 * (common/audit_chain.h); it has no index but its key, so that an entry
 * costs one row on the writer's path.  tokens keeps the SHA-256 of each
 * secret, never the secret.  What happened before the upgrade is not in
 * the trail: the chain starts at the first change after it.
 *
 * Version 5: the RESOLVED event of a resolution holds no bytes of its own
 * (an empty blob) but the resolution's rid (events.res_rid), and the
 * resolution row names its event (resolutions.ev_seq): an approval wrote
 * the decision twice, once in each row, and with decisions of ~1 KB that
 * second copy was a third of a commit's log.  The two rows hold the same
 * bytes when written; when an execution is first recorded on the decision
 * (its resolution row amended), the event gets the row's bytes as they
 * were, and res_rid NULL, in the same transaction, so an event still
 * shows the decision as it was at that point.  Rows written before keep
 * their copies (res_rid and ev_seq NULL).
 */
static const char *const migrations[] = {
	/* 0 -> 1: the initial schema, kept as it was so that 1 -> 2 starts
	 * from what every version 1 database holds */
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

	/* 1 -> 2: decisions split into decisions + resolutions (see above) */
	"ALTER TABLE decisions RENAME TO decisions_v1;"
	"DROP INDEX decisions_queue;"
	"DROP INDEX decisions_reviewer;"
	"ALTER TABLE requests RENAME TO requests_v1;"
	"DROP INDEX sessions_operator;"
	"CREATE TABLE decisions ("
	"  rid INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  open_status TEXT NOT NULL,"          /* PENDING or ESCALATED while open */
	"  priority_rank INTEGER NOT NULL,"      /* 0 CRITICAL .. 3 LOW */
	"  created_ms INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL,"
	"  operation_type TEXT NOT NULL,"
	"  assigned_operator TEXT NOT NULL,"
	"  idempotency_key TEXT UNIQUE,"
	"  blob BLOB NOT NULL);"
	"CREATE TABLE resolutions ("
	"  rid INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL,"
	"  status TEXT NOT NULL,"                /* APPROVED, REJECTED, EXPIRED */
	"  priority_rank INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  reviewed_ms INTEGER NOT NULL,"
	"  reviewed_by TEXT NOT NULL,"
	"  operation_type TEXT NOT NULL,"
	"  assigned_operator TEXT NOT NULL,"
	"  blob BLOB NOT NULL);"
	"CREATE UNIQUE INDEX resolutions_by_status "
	"  ON resolutions(status, priority_rank, created_ms, id);"
	"CREATE INDEX sessions_by_operator ON sessions(operator_id, created_ms);"
	"CREATE TABLE requests ("
	"  request_id TEXT PRIMARY KEY,"
	"  decision_id TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  processed_ms INTEGER NOT NULL,"
	"  blob BLOB NOT NULL);"
	"CREATE TABLE operator_stats ("
	"  operator_id TEXT PRIMARY KEY,"
	"  approved INTEGER NOT NULL,"
	"  rejected INTEGER NOT NULL,"
	"  escalated INTEGER NOT NULL,"
	"  response_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta(key, value) VALUES('open_floor_rid', 0);"
	/* a resolved decision's open_status: whether it was escalated first */
	"INSERT INTO decisions(id, open_status, priority_rank, created_ms, expires_ms,"
	"  operation_type, assigned_operator, idempotency_key, blob) "
	"SELECT id, CASE WHEN status = 'ESCALATED' OR EXISTS (SELECT 1 FROM escalations e"
	"  WHERE e.decision_id = d.id) THEN 'ESCALATED' ELSE 'PENDING' END,"
	"  priority_rank, created_ms, expires_ms, operation_type, assigned_operator,"
	"  idempotency_key, blob FROM decisions_v1 d ORDER BY created_ms, id;"
	"INSERT INTO resolutions(id, status, priority_rank, created_ms, reviewed_ms,"
	"  reviewed_by, operation_type, assigned_operator, blob) "
	"SELECT id, status, priority_rank, created_ms, COALESCE(reviewed_ms, created_ms),"
	"  COALESCE(reviewed_by, ''), operation_type, assigned_operator, blob "
	"FROM decisions_v1 WHERE status IN ('APPROVED', 'REJECTED', 'EXPIRED') "
	"ORDER BY reviewed_ms, id;"
	"INSERT INTO requests SELECT * FROM requests_v1;"
	"INSERT INTO operator_stats(operator_id, approved, rejected, escalated, response_ms) "
	"SELECT op, SUM(a), SUM(r), SUM(e), SUM(ms) FROM ("
	"  SELECT reviewed_by AS op, outcome = 'APPROVED' AS a, outcome = 'REJECTED' AS r,"
	"    0 AS e, reviewed_ms - created_ms AS ms FROM decisions_v1"
	"    WHERE outcome IN ('APPROVED', 'REJECTED') AND reviewed_by IS NOT NULL"
	"  UNION ALL SELECT escalated_by, 0, 0, 1, 0 FROM escalations) GROUP BY op;"
	"DROP TABLE decisions_v1;"
	"DROP TABLE requests_v1;"
	"DROP TABLE escalations;",

	/* 2 -> 3: the audit trail and tokens (see above) */
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  at_ms INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  outcome TEXT NOT NULL,"               /* OK or DENIED */
	"  subject TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL);"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  identity TEXT NOT NULL,"
	"  hash BLOB NOT NULL UNIQUE,"           /* SHA-256 of the secret */
	"  created_ms INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  revoked_ms INTEGER,"
	"  revoked_by TEXT) WITHOUT ROWID;",

	/* 3 -> 4: tokens may expire (NULL: never) */
	"ALTER TABLE tokens ADD COLUMN expires_ms INTEGER;",

	/* 4 -> 5: a resolution's RESOLVED event points at the resolution's
	 * row instead of holding a second copy of the decision (see above) */
	"ALTER TABLE events ADD COLUMN res_rid INTEGER;"
	"ALTER TABLE resolutions ADD COLUMN ev_seq INTEGER;",
};

/* The resolution of decision d, if any (an index probe per status). */
#define RESOLUTION_OF(d) \
	"r.status IN ('APPROVED','REJECTED','EXPIRED') AND r.priority_rank = " d \
	".priority_rank AND r.created_ms = " d ".created_ms AND r.id = " d ".id"

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (errlen)
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

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "database schema version %d is newer than this build knows (%d); "
			 "use a newer governd or another database", v, SCHEMA_VERSION);
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (exec_sql(st->db, "BEGIN IMMEDIATE", err, errlen) < 0)
			return -1;
		if (exec_sql(st->db, migrations[v], err, errlen) < 0 ||
		    exec_sql(st->db, pragma, err, errlen) < 0 ||
		    exec_sql(st->db, "COMMIT", err, errlen) < 0) {
			exec_sql(st->db, "ROLLBACK", NULL, 0);
			return -1;
		}
	}
	st->schema = SCHEMA_VERSION;
	return 0;
}

int store_schema_version(const store *st)
{
	return st->schema;
}

/* mkdir -p of path's directory, mode 0700 for what it creates. */
static int mkdirs(const char *path)
{
	char dir[PATH_CAP];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* ---- statements ---- */

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

/* Runs a statement that returns no rows we need; 0 or -1. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return NULL;
	return s;
}

/* Prepares "<head> VALUES(?, ..), .." for each level; 0 or -1. */
static int rows_prepare(sqlite3 *db, struct rows_ins *ri, const char *head, int ncols)
{
	buf sql = BUF_INIT(16384);
	int rc = 0;

	ri->ncols = ncols;
	for (int l = 0; l < ROWS_LEVELS && !rc; l++) {
		buf_reset(&sql);
		buf_printf(&sql, "%s VALUES", head);
		for (int r = 0; r < 1 << l; r++) {
			buf_printf(&sql, "%s(?", r ? "," : "");
			for (int c = 1; c < ncols; c++)
				buf_printf(&sql, ", ?");
			buf_printf(&sql, ")");
		}
		if (!(ri->s[l] = prepare(db, buf_cstr(&sql))))
			rc = -1;
	}
	buf_release(&sql);
	return rc;
}

static void rows_finalize(struct rows_ins *ri)
{
	for (int l = 0; l < ROWS_LEVELS; l++) {
		sqlite3_finalize(ri->s[l]);
		ri->s[l] = NULL;
	}
}

/* The statement for the next rows of `left` (> 0): the largest that
 * fits, its row count in *rows. */
static sqlite3_stmt *rows_next(const struct rows_ins *ri, size_t left, size_t *rows)
{
	int l = ROWS_LEVELS - 1;

	while ((size_t)1 << l > left)
		l--;
	*rows = (size_t)1 << l;
	return ri->s[l];
}

static const struct {
	size_t off;
	const char *sql;
} writer_sql[] = {
	{ offsetof(store, s_ins_dec),
	  "INSERT INTO decisions(id, open_status, priority_rank, created_ms, expires_ms, "
	  "operation_type, assigned_operator, idempotency_key, blob) "
	  "VALUES(?1, 'PENDING', ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	{ offsetof(store, s_esc_dec),
	  "UPDATE decisions SET open_status='ESCALATED', assigned_operator=?1, blob=?2 "
	  "WHERE rid=?3" },
	{ offsetof(store, s_status),
	  "SELECT r.status, d.rid, d.open_status, d.priority_rank, d.created_ms, d.expires_ms, "
	  "d.operation_type, d.assigned_operator, d.blob FROM decisions d "
	  "LEFT JOIN resolutions r ON " RESOLUTION_OF("d") " WHERE d.id=?1" },
	{ offsetof(store, s_res_get),
	  "SELECT r.rid, r.blob, r.priority_rank, r.created_ms, r.operation_type, "
	  "r.assigned_operator, d.rid, d.expires_ms FROM decisions d "
	  "JOIN resolutions r ON " RESOLUTION_OF("d") " WHERE d.id=?1" },
	{ offsetof(store, s_res_amend), "UPDATE resolutions SET blob=?1 WHERE rid=?2" },
	{ offsetof(store, s_ev_keep),
	  "UPDATE events SET blob=?1, res_rid=NULL WHERE res_rid=?2 AND "
	  "seq=(SELECT ev_seq FROM resolutions WHERE rid=?2)" },
	{ offsetof(store, s_idem),
	  "SELECT COALESCE(r.blob, d.blob), d.id FROM decisions d LEFT JOIN resolutions r ON "
	  RESOLUTION_OF("d") " WHERE d.idempotency_key=?1" },
	{ offsetof(store, s_floor),
	  "UPDATE meta SET value=?1 WHERE key='open_floor_rid'" },
	{ offsetof(store, s_sess_get), "SELECT closed_ms FROM sessions WHERE id=?1" },
	{ offsetof(store, s_ins_sess),
	  "INSERT INTO sessions(id, operator_id, created_ms) VALUES(?1, ?2, ?3)" },
	{ offsetof(store, s_close_sess), "UPDATE sessions SET closed_ms=?1 WHERE id=?2" },
	{ offsetof(store, s_req),
	  "SELECT decision_id, processed_ms, blob FROM requests WHERE request_id=?1" },
	{ offsetof(store, s_ins_req),
	  "INSERT INTO requests(request_id, decision_id, kind, processed_ms, blob) "
	  "VALUES(?1, ?2, ?3, ?4, ?5)" },
	{ offsetof(store, s_trim_ev), "DELETE FROM events WHERE seq < ?1" },
	{ offsetof(store, s_opstat),
	  "INSERT INTO operator_stats(operator_id, approved, rejected, escalated, response_ms) "
	  "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(operator_id) DO UPDATE SET "
	  "approved = approved + excluded.approved, rejected = rejected + excluded.rejected, "
	  "escalated = escalated + excluded.escalated, "
	  "response_ms = response_ms + excluded.response_ms" },
	{ offsetof(store, s_sp), "SAVEPOINT op" },
	{ offsetof(store, s_release), "RELEASE op" },
	{ offsetof(store, s_rollback_to), "ROLLBACK TO op" },
	{ offsetof(store, s_audit_head),
	  "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1" },
	{ offsetof(store, s_tok_ins),
	  "INSERT INTO tokens(id, name, role, identity, hash, created_ms, created_by, "
	  "expires_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	{ offsetof(store, s_tok_get), "SELECT name, revoked_ms FROM tokens WHERE id=?1" },
	{ offsetof(store, s_tok_revoke),
	  "UPDATE tokens SET revoked_ms=?1, revoked_by=?2 WHERE id=?3" },
	{ offsetof(store, s_begin), "BEGIN IMMEDIATE" },
	{ offsetof(store, s_commit), "COMMIT" },
	{ offsetof(store, s_rollback), "ROLLBACK" },
};

#define N_WRITER_SQL (sizeof(writer_sql) / sizeof(writer_sql[0]))

static sqlite3_stmt **writer_stmt(store *st, size_t i)
{
	return (sqlite3_stmt **)((char *)st + writer_sql[i].off);
}

/* ---- readers: a pool of read-only connections ---- */

static void reader_close(struct reader *r)
{
	sqlite3_finalize(r->get);
	sqlite3_finalize(r->events);
	sqlite3_finalize(r->sess);
	sqlite3_finalize(r->ostats);
	sqlite3_finalize(r->tok_hash);
	sqlite3_finalize(r->tok_id);
	sqlite3_finalize(r->tok_list);
	sqlite3_finalize(r->audit);
	for (int i = 0; i < 8; i++)
		sqlite3_finalize(r->count[i]);
	for (int i = 0; i < 16; i++)
		sqlite3_finalize(r->page[i]);
	sqlite3_close_v2(r->db);
	free(r);
}

/* Borrows a connection (opening one when none is idle); NULL on failure. */
static struct reader *reader_get(store *st)
{
	struct reader *r;

	pthread_mutex_lock(&st->rlock);
	r = st->idle;
	if (r)
		st->idle = r->next_idle;
	pthread_mutex_unlock(&st->rlock);
	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (sqlite3_open_v2(st->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(r->db, 5000);
	exec_sql(r->db, "PRAGMA mmap_size=268435456", NULL, 0);
	r->get = prepare(r->db, "SELECT COALESCE(r.blob, d.blob) FROM decisions d LEFT JOIN "
				"resolutions r ON " RESOLUTION_OF("d") " WHERE d.id=?1");
	r->events = prepare(r->db, "SELECT e.seq, e.type, e.at_ms, CASE WHEN e.res_rid IS NULL "
				   "THEN e.blob ELSE (SELECT r.blob FROM resolutions r WHERE "
				   "r.rid = e.res_rid) END FROM events e "
				   "WHERE e.seq > ?1 AND e.seq <= ?2 ORDER BY e.seq LIMIT ?3");
	r->sess = prepare(r->db, "SELECT MIN(CASE WHEN closed_ms IS NULL THEN created_ms END), "
				 "MAX(created_ms), COUNT(*) FROM sessions WHERE operator_id=?1");
	r->ostats = prepare(r->db, "SELECT approved, rejected, escalated, response_ms "
				   "FROM operator_stats WHERE operator_id=?1");
	if (!r->get || !r->events || !r->sess || !r->ostats)
		goto fail;
	pthread_mutex_lock(&st->rlock);
	r->next_all = st->all;
	st->all = r;
	pthread_mutex_unlock(&st->rlock);
	return r;
fail:
	reader_close(r);
	return NULL;
}

static void reader_put(store *st, struct reader *r)
{
	pthread_mutex_lock(&st->rlock);
	r->next_idle = st->idle;
	st->idle = r;
	pthread_mutex_unlock(&st->rlock);
}

/* ---- loading at open ---- */

static int load_decisions(store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT d.rid, d.id, d.open_status, d.priority_rank, d.created_ms, "
			       "d.expires_ms, d.operation_type, d.assigned_operator, d.blob "
			       "FROM decisions d WHERE d.rid >= COALESCE((SELECT value FROM meta "
			       "WHERE key='open_floor_rid'), 0) AND NOT EXISTS (SELECT 1 FROM "
			       "resolutions r WHERE " RESOLUTION_OF("d") ")", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct odec *d = calloc(1, sizeof(*d));
		const char *id = (const char *)sqlite3_column_text(s, 1);
		const char *op = (const char *)sqlite3_column_text(s, 6);
		const char *as = (const char *)sqlite3_column_text(s, 7);
		int bl = sqlite3_column_bytes(s, 8);

		if (!d)
			goto nomem;
		d->rid = sqlite3_column_int64(s, 0);
		snprintf(d->id, sizeof(d->id), "%s", id ? id : "");
		d->status = status_index((const char *)sqlite3_column_text(s, 2));
		d->rank = sqlite3_column_int(s, 3);
		d->created_ms = sqlite3_column_int64(s, 4);
		d->expires_ms = sqlite3_column_int64(s, 5);
		d->op_type = strdup(op ? op : "");
		d->assigned = strdup(as ? as : "");
		d->blob = dup_bytes(sqlite3_column_blob(s, 8), (size_t)bl);
		d->len = (size_t)bl;
		if (!d->op_type || !d->assigned || !d->blob) {
			odec_free(d);
			goto nomem;
		}
		if (d->rank < 0 || d->rank > 3 || !is_open(d->status)) {
			odec_free(d);
			continue;
		}
		if (strmap_put(&st->byid, d->id, d) < 0) {
			odec_free(d);
			goto nomem;
		}
		if (vec_insert(&st->ranks[d->rank], d) < 0) {
			strmap_del(&st->byid, d->id);
			odec_free(d);
			goto nomem;
		}
		if (d->expires_ms < st->earliest_expiry)
			st->earliest_expiry = d->expires_ms;
		st->counts[d->status][d->rank]++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
nomem:
	sqlite3_finalize(s);
	return -2;
}

/* The figures: open ones from memory (load_decisions first), resolved
 * ones from the index of resolutions, response times from the operators'
 * sums (the same transactions keep both). */
static int load_counts(store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT status, priority_rank, COUNT(*) FROM resolutions "
				       "GROUP BY status, priority_rank", -1, &s, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int status = status_index((const char *)sqlite3_column_text(s, 0));
		int rank = sqlite3_column_int(s, 1);

		if (status != ST_NONE && !is_open(status) && rank >= 0 && rank <= 3)
			st->counts[status][rank] += (uint32_t)sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	/* Resolutions rows get their rowids from the writer (write_change). */
	if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(MAX(rid), 0) FROM resolutions", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		st->res_rid = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return -1;
	for (int rank = 0; rank < 4; rank++) {
		for (int status = 0; status < ST_COUNT; status++) {
			int32_t n = (int32_t)st->counts[status][rank];

			st->m.total += n;
			switch (status) {
			case ST_PENDING:
			case ST_ESCALATED:
				st->m.pending += n;
				if (status == ST_ESCALATED)
					st->m.escalated += n;
				if (rank == 0)
					st->m.critical += n;
				if (rank == 1)
					st->m.high += n;
				break;
			case ST_APPROVED: st->m.approved += n; break;
			case ST_REJECTED: st->m.rejected += n; break;
			case ST_EXPIRED:
				st->m.expired += n;
				st->m.sla_violations += n;
				break;
			}
		}
	}
	if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(SUM(response_ms), 0) FROM operator_stats",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		st->resp_sum_ms = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return -1;
	if (sqlite3_prepare_v2(st->db, "SELECT COALESCE((SELECT MAX(rid) FROM decisions), 0), "
				       "(SELECT value FROM meta WHERE key='open_floor_rid')", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st->max_rid = sqlite3_column_int64(s, 0);
		st->floor_rid = sqlite3_column_int64(s, 1);  /* NULL reads as 0 */
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int load_sessions(store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, operator_id FROM sessions WHERE closed_ms IS NULL", -1,
			       &s, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct session *se = calloc(1, sizeof(*se));
		const char *id = (const char *)sqlite3_column_text(s, 0);
		const char *op = (const char *)sqlite3_column_text(s, 1);

		if (!se || !(se->operator_id = strdup(op ? op : ""))) {
			free(se);
			sqlite3_finalize(s);
			return -2;
		}
		snprintf(se->id, sizeof(se->id), "%s", id ? id : "");
		if (strmap_put(&st->sessions, se->id, se) < 0) {
			free(se->operator_id);
			free(se);
			sqlite3_finalize(s);
			return -2;
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int load_events(store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) "
				       "FROM events", -1, &s, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		st->first_seq = (uint64_t)sqlite3_column_int64(s, 0);
		st->last_seq = (uint64_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	st->next_seq = st->last_seq + 1;
	return rc == SQLITE_ROW ? 0 : -1;
}

static void recompute_derived(store *st)
{
	int32_t reviewed = st->m.approved + st->m.rejected;

	st->m.avg_response_s = reviewed ? (double)st->resp_sum_ms / 1000.0 / reviewed : 0.0;
	st->m.approval_rate = reviewed ? (double)st->m.approved / reviewed : 0.0;
	st->m.last_seq = st->last_seq;
}

/* ---- the writer: per-batch state ---- */

static void fx_release(struct effect *e)
{
	free(e->op_type);
	free(e->assigned);
	free(e->blob);
	free(e->operator_id);
	e->op_type = e->assigned = e->operator_id = NULL;
	e->blob = NULL;
}

/* A fresh effect at the end of the current batch (NULL: no memory). */
static struct effect *fx_add(store *st, int kind, const char *id)
{
	struct batch *b = st->cur;
	struct effect *e;

	if (b->nfx == b->nalloc) {
		if (b->nalloc == b->capfx) {
			size_t nc = b->capfx ? b->capfx * 2 : 64;
			struct effect **n = realloc(b->fx, nc * sizeof(*n));
			if (!n)
				return NULL;
			b->fx = n;
			b->capfx = nc;
		}
		if (!(b->fx[b->nalloc] = malloc(sizeof(struct effect))))
			return NULL;
		b->nalloc++;
	}
	e = b->fx[b->nfx];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->event = -1;
	e->old_status = e->new_status = ST_NONE;
	cat_n(e->id, sizeof(e->id), 0, id, sizeof(e->id));
	if (strmap_put(&st->overlay, e->id, e) < 0)
		return NULL;
	b->nfx++;
	return e;
}

/* Forgets the current batch's effects from index mark on (an operation,
 * or the whole batch, rolled back). */
static void fx_truncate(store *st, size_t mark)
{
	struct batch *b = st->cur;

	if (b->nfx == mark)
		return;
	while (b->nfx > mark)
		fx_release(b->fx[--b->nfx]);
	/* Rare (a statement failed): rebuild the overlay from what is left. */
	strmap_clear(&st->overlay);
	for (struct batch *p = st->pending; p; p = p->next)
		for (size_t i = 0; i < p->nfx; i++)
			strmap_put(&st->overlay, p->fx[i]->id, p->fx[i]);
	for (size_t i = 0; i < b->nfx; i++)
		strmap_put(&st->overlay, b->fx[i]->id, b->fx[i]);
}

static struct batch *batch_get(store *st)
{
	struct batch *b = st->spare;

	if (b)
		st->spare = b->next;
	else if (!(b = calloc(1, sizeof(*b))))
		return NULL;
	b->next = NULL;
	b->ops = NULL;
	b->id = 0;
	b->trimmed_to = 0;
	b->rescan_expiry = 0;
	b->last_seq = 0;
	return b;
}

/* Drops an answered batch's effects (from the overlay too, unless a later
 * batch changed the same id since) and keeps the batch for reuse. */
static void batch_put(store *st, struct batch *b)
{
	for (size_t i = 0; i < b->nfx; i++) {
		struct effect *e = b->fx[i];

		if (strmap_get(&st->overlay, e->id) == e)
			strmap_del(&st->overlay, e->id);
		fx_release(e);
	}
	b->nfx = 0;
	for (size_t i = 0; i < b->nowned; i++)
		free(b->owned[i]);
	b->nowned = 0;
	b->next = st->spare;
	st->spare = b;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nalloc; i++) {
		fx_release(b->fx[i]);
		free(b->fx[i]);
	}
	for (size_t i = 0; i < b->nowned; i++)
		free(b->owned[i]);
	free(b->fx);
	free(b->owned);
	free(b);
}

/* Keeps p (an op's output) until the batch's done() calls ran; -1 (and p
 * freed) on no memory. */
static int own(store *st, uint8_t *p)
{
	struct batch *b = st->cur;

	if (b->nowned == b->capowned) {
		size_t nc = b->capowned ? b->capowned * 2 : 16;
		uint8_t **n = realloc(b->owned, nc * sizeof(*n));
		if (!n) {
			free(p);
			return -1;
		}
		b->owned = n;
		b->capowned = nc;
	}
	b->owned[b->nowned++] = p;
	return 0;
}

#define DISK_FULL_MSG "the store's disk is full: nothing was written; writes work again " \
	"once space is freed"

static store_code io_fail(store *st, store_op *op)
{
	if (sqlite3_errcode(st->db) == SQLITE_FULL) {
		snprintf(op->message, sizeof(op->message), DISK_FULL_MSG);
		return STORE_E_FULL;
	}
	snprintf(op->message, sizeof(op->message), "database error: %s", sqlite3_errmsg(st->db));
	return STORE_E_IO;
}

static store_code no_memory(store_op *op)
{
	snprintf(op->message, sizeof(op->message), "out of memory");
	return STORE_E_NOMEM;
}

/* Opens the operation's savepoint before its first write. */
/*
 * Called once by an operation before its first write, with how many
 * statements it will run.  One statement is atomic on its own; two or more
 * get a savepoint so that a failure undoes the operation and nothing else.
 */
static int begin_writes(store *st, int statements)
{
	if (statements < 2 || st->in_savepoint)
		return 0;
	if (step_done(st->s_sp) < 0)
		return -1;
	st->in_savepoint = 1;
	return 0;
}

/* Gives e the next sequence number; the row is written with the batch's
 * other events just before the commit (write_events). */
static void add_event(store *st, struct effect *e, int type)
{
	e->event = type;
	e->seq = st->next_seq++;
}

/* A RESOLVED event whose resolution row, written in this batch, holds
 * the same bytes: not when an execution later in the batch amends the row
 * (then the row gets the amended bytes, res_blob). */
static int ev_points_at_row(const struct effect *e)
{
	return e->event == STORE_EV_RESOLVED && e->res_rid > 0 && !e->amend && !e->res_blob;
}

static int write_events(store *st, int64_t now)
{
	struct batch *b = st->cur;
	size_t i = 0, left = 0;

	for (size_t j = 0; j < b->nfx; j++)
		left += b->fx[j]->event >= 0;
	while (left) {
		size_t rows;
		sqlite3_stmt *s = rows_next(&st->ins_ev, left, &rows);

		for (size_t k = 0; k < rows; i++) {
			const struct effect *e = b->fx[i];
			int c = (int)k * st->ins_ev.ncols;

			if (e->event < 0)
				continue;
			sqlite3_bind_int64(s, c + 1, (sqlite3_int64)e->seq);
			sqlite3_bind_int(s, c + 2, e->event);
			sqlite3_bind_int64(s, c + 3, now);
			bind_text(s, c + 4, e->id);
			if (ev_points_at_row(e)) {
				/* The resolution row holds these bytes (schema 5). */
				sqlite3_bind_zeroblob(s, c + 5, 0);
				sqlite3_bind_int64(s, c + 6, e->res_rid);
			} else {
				sqlite3_bind_blob(s, c + 5, e->blob, (int)e->len, SQLITE_STATIC);
				sqlite3_bind_null(s, c + 6);
			}
			k++;
		}
		if (step_done(s) < 0)
			return -1;
		left -= rows;
	}
	return 0;
}

/* ---- the audit trail ---- */

/* Adds an entry to the batch; -1 when memory runs out.  NULL strings are
 * empty. */
static int audit_add(store *st, const char *actor, const char *role, const char *action,
		     const char *outcome, const char *subject, const char *detail)
{
	const char *v[AU_NFIELDS] = { actor, role, action, outcome, subject, detail };
	struct audit_rec *r;

	if (st->naudit == st->capaudit) {
		size_t nc = st->capaudit ? st->capaudit * 2 : 64;
		struct audit_rec *n = realloc(st->audit, nc * sizeof(*n));

		if (!n)
			return -1;
		st->audit = n;
		st->capaudit = nc;
	}
	r = &st->audit[st->naudit];
	for (int i = 0; i < AU_NFIELDS; i++) {
		const char *t = v[i] ? v[i] : "";

		r->off[i] = st->audit_text.len;
		if (buf_append(&st->audit_text, t, strlen(t) + 1) < 0)
			return -1;
	}
	st->naudit++;
	return 0;
}

static const char *audit_str(const store *st, const struct audit_rec *r, int field)
{
	return (const char *)st->audit_text.data + r->off[field];
}

static void audit_bind(store *st, sqlite3_stmt *s, int base, uint64_t seq, int64_t now,
		       const struct audit_rec *r, const char *prev)
{
	sqlite3_bind_int64(s, base + 1, (sqlite3_int64)seq);
	sqlite3_bind_int64(s, base + 2, now);
	for (int f = 0; f < AU_NFIELDS; f++)
		bind_text(s, base + 3 + f, audit_str(st, r, f));
	bind_text(s, base + 9, prev);
	bind_text(s, base + 10, r->hash);
}

/*
 * Hashes the batch's entries onto the chain and writes them, inside the
 * batch's transaction.  The head of the chain is read here, under the
 * transaction's write lock, rather than remembered: another process
 * (governd token ...) may have appended since the last batch.
 */
static int write_audit(store *st, int64_t now)
{
	char head[AUDIT_HASH_HEX + 1];
	sqlite3_stmt *s = st->s_audit_head;
	uint64_t seq = 0;
	size_t i = 0;
	int rc;

	if (!st->naudit)
		return 0;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(s, 1);

		seq = (uint64_t)sqlite3_column_int64(s, 0);
		snprintf(head, sizeof(head), "%s", h ? h : "");
	} else {
		memcpy(head, audit_chain_genesis, sizeof(head));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	for (size_t k = 0; k < st->naudit; k++) {
		struct audit_rec *r = &st->audit[k];
		struct audit_fields f = {
			now, audit_str(st, r, AU_ACTOR), audit_str(st, r, AU_ROLE),
			audit_str(st, r, AU_ACTION), audit_str(st, r, AU_OUTCOME),
			audit_str(st, r, AU_SUBJECT), audit_str(st, r, AU_DETAIL),
		};

		if (audit_chain_hash(k ? st->audit[k - 1].hash : head, &f, r->hash) < 0)
			return -1;
	}
	while (i < st->naudit) {
		size_t rows;

		s = rows_next(&st->ins_audit, st->naudit - i, &rows);
		for (size_t k = 0; k < rows; k++)
			audit_bind(st, s, (int)k * st->ins_audit.ncols, seq + i + k + 1, now,
				   &st->audit[i + k],
				   i + k ? st->audit[i + k - 1].hash : head);
		if (step_done(s) < 0)
			return -1;
		i += rows;
	}
	return 0;
}

/*
 * Refuses op by an authorization rule: the entry for the audit trail, the
 * message ("<rule>: <why>"), STORE_E_DENIED.  The op must not have
 * written anything: run_batch keeps its audit entry and nothing else.
 */
static store_code deny(store *st, store_op *op, const char *action, const char *subject,
		       const char *rule, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static store_code deny(store *st, store_op *op, const char *action, const char *subject,
		       const char *rule, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(op->message, sizeof(op->message), "%s: %s", rule, why);
	if (audit_add(st, op->actor, op->actor_role, action, "DENIED", subject, op->message) < 0)
		return no_memory(op);
	return STORE_E_DENIED;
}

static struct opstat *opstat_for(store *st, const char *operator_id)
{
	struct opstat *o;

	for (size_t i = 0; i < st->nopst; i++)
		if (strcmp(st->opst[i].operator_id, operator_id) == 0)
			return &st->opst[i];
	if (st->nopst == st->capopst) {
		size_t nc = st->capopst ? st->capopst * 2 : 8;
		struct opstat *n = realloc(st->opst, nc * sizeof(*n));
		if (!n)
			return NULL;
		st->opst = n;
		st->capopst = nc;
	}
	o = &st->opst[st->nopst++];
	memset(o, 0, sizeof(*o));
	snprintf(o->operator_id, sizeof(o->operator_id), "%s", operator_id);
	return o;
}

/* A decision's state as the writer sees it: this batch's changes first,
 * then the open decisions in memory, then the database (status only). */
struct cur {
	int status;
	int64_t rid;
	int rank;
	int64_t created_ms, expires_ms;
	const char *op_type, *assigned;
	const uint8_t *blob;
	size_t len;
};

static store_code lookup(store *st, const char *id, struct cur *c)
{
	struct effect *e = strmap_get(&st->overlay, id);
	struct odec *d;
	sqlite3_stmt *s;
	int rc;

	memset(c, 0, sizeof(*c));
	if (e && e->kind == FX_DECISION) {
		c->status = e->new_status;
		c->rid = e->rid;
		c->rank = e->rank;
		c->created_ms = e->created_ms;
		c->expires_ms = e->expires_ms;
		c->op_type = e->op_type;
		c->assigned = e->assigned;
		c->blob = e->blob;
		c->len = e->len;
		return STORE_OK;
	}
	/* The writer is the only one changing the mirror: it reads it
	 * without the lock. */
	d = strmap_get(&st->byid, id);
	if (d) {
		c->status = d->status;
		c->rid = d->rid;
		c->rank = d->rank;
		c->created_ms = d->created_ms;
		c->expires_ms = d->expires_ms;
		c->op_type = d->op_type;
		c->assigned = d->assigned;
		c->blob = d->blob;
		c->len = d->len;
		return STORE_OK;
	}
	/* Not open in memory: resolved, unknown, or (should memory have
	 * failed to take it) open in the database only. */
	s = st->s_status;
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) != SQLITE_NULL) {
			c->status = status_index((const char *)sqlite3_column_text(s, 0));
		} else {
			struct batch *b = st->cur;
			size_t ol = b->nowned;
			uint8_t *op = NULL, *as = NULL, *bl = NULL;
			const char *t;

			c->status = status_index((const char *)sqlite3_column_text(s, 2));
			c->rid = sqlite3_column_int64(s, 1);
			c->rank = sqlite3_column_int(s, 3);
			c->created_ms = sqlite3_column_int64(s, 4);
			c->expires_ms = sqlite3_column_int64(s, 5);
			c->len = (size_t)sqlite3_column_bytes(s, 8);
			t = (const char *)sqlite3_column_text(s, 6);
			op = (uint8_t *)strdup(t ? t : "");
			t = (const char *)sqlite3_column_text(s, 7);
			as = (uint8_t *)strdup(t ? t : "");
			bl = dup_bytes(sqlite3_column_blob(s, 8), c->len);
			if (!op || own(st, op) < 0 || !as || own(st, as) < 0 || !bl ||
			    own(st, bl) < 0) {
				if (b->nowned == ol)
					free(op);
				if (b->nowned <= ol + 1)
					free(as);
				if (b->nowned <= ol + 2)
					free(bl);
				sqlite3_reset(s);
				return STORE_E_NOMEM;
			}
			c->op_type = (const char *)op;
			c->assigned = (const char *)as;
			c->blob = bl;
		}
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return c->status == ST_NONE ? STORE_E_IO : STORE_OK;
	return rc == SQLITE_DONE ? STORE_E_NOTFOUND : STORE_E_IO;
}

/* The operator of an open session, or NULL. */
static const char *session_operator(store *st, const char *id)
{
	struct effect *e = strmap_get(&st->overlay, id);
	struct session *se;

	if (e && e->kind == FX_SESSION_OPEN)
		return e->operator_id;
	if (e && e->kind == FX_SESSION_CLOSE)
		return NULL;
	se = strmap_get(&st->sessions, id);
	return se ? se->operator_id : NULL;
}

/* ---- the operations ---- */

static store_code op_submit(store *st, store_op *op, int64_t now)
{
	struct store__proposal meta;
	struct effect *e;
	sqlite3_stmt *s;
	char id[ID_MAX];
	int has_key = !empty(op->idempotency_key);
	int rc;

	if (has_key) {
		s = st->s_idem;
		bind_text(s, 1, op->idempotency_key);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			/* Changed in this batch: the overlay has its bytes (a
			 * resolution's row is not written yet). */
			const char *did = (const char *)sqlite3_column_text(s, 1);
			struct effect *fx = did ? strmap_get(&st->overlay, did) : NULL;

			op->created = 0;
			if (fx && fx->kind == FX_DECISION) {
				op->decision_len = fx->len;
				op->decision = dup_bytes(fx->blob, fx->len);
			} else {
				op->decision_len = (size_t)sqlite3_column_bytes(s, 0);
				op->decision = dup_bytes(sqlite3_column_blob(s, 0),
							 op->decision_len);
			}
			sqlite3_reset(s);
			if (!op->decision || own(st, op->decision) < 0) {
				op->decision = NULL;
				return no_memory(op);
			}
			return STORE_OK;
		}
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return io_fail(st, op);
	}
	store__random_id("d-", id, sizeof(id));
	e = fx_add(st, FX_DECISION, id);
	if (!e)
		return no_memory(op);
	rc = store__blob_submit(op->proposal, op->proposal_len, id, now, op->idempotency_key,
				op->actor, &e->blob, &e->len, &meta);
	if (rc < 0) {
		if (rc == -1) {
			/* Checked by the handler and packed again, yet not
			 * decodable: protobuf-c packed something it cannot
			 * read back (the one case known, a field numbered 0,
			 * the transport refuses: src/rpc/pbcheck.c). */
			snprintf(op->message, sizeof(op->message),
				 "the decision carries a malformed field: it does not decode once "
				 "encoded again");
			return STORE_E_INVALID;
		}
		return no_memory(op);
	}
	e->op_type = meta.operation_type;
	e->assigned = meta.assigned_operator;
	e->new_status = ST_PENDING;
	e->rank = meta.rank;
	e->created_ms = now;
	e->expires_ms = meta.expires_ms;
	/* Entries go in before the writes: an op that fails after its audit
	 * entry loses the entry with the rest (run_batch). */
	{
		char detail[256];

		snprintf(detail, sizeof(detail), "operation_type=%s priority=%s%s%.128s",
			 e->op_type, rank_names[e->rank], empty(e->assigned) ? "" :
			 " assigned_operator=", e->assigned);
		if (audit_add(st, op->actor ? op->actor : "anonymous", op->actor_role,
			      "decision.submit", "OK", e->id, detail) < 0)
			return no_memory(op);
	}
	s = st->s_ins_dec;
	bind_text(s, 1, e->id);
	sqlite3_bind_int(s, 2, e->rank);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, e->expires_ms);
	bind_text(s, 5, e->op_type);
	bind_text(s, 6, e->assigned);
	if (has_key)
		bind_text(s, 7, op->idempotency_key);
	else
		sqlite3_bind_null(s, 7);
	sqlite3_bind_blob(s, 8, e->blob, (int)e->len, SQLITE_STATIC);
	if (step_done(s) < 0)
		return io_fail(st, op);
	e->rid = sqlite3_last_insert_rowid(st->db);
	add_event(st, e, STORE_EV_NEW);
	op->created = 1;
	op->decision = e->blob;
	op->decision_len = e->len;
	op->processed_at_ms = now;
	return STORE_OK;
}

/* A request id used before: a replay (STORE_OK) or STORE_E_DUPLICATE;
 * STORE_E_NOTFOUND when it is new. */
static store_code request_seen(store *st, store_op *op)
{
	sqlite3_stmt *s = st->s_req;
	store_code res = STORE_E_NOTFOUND;
	int rc;

	if (empty(op->request_id))
		return STORE_E_NOTFOUND;
	bind_text(s, 1, op->request_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *did = (const char *)sqlite3_column_text(s, 0);

		if (!did || strcmp(did, op->decision_id) != 0) {
			snprintf(op->message, sizeof(op->message),
				 "request id '%.100s' was used for decision '%.40s'", op->request_id,
				 did ? did : "");
			res = STORE_E_DUPLICATE;
		} else {
			op->replayed = 1;
			op->processed_at_ms = sqlite3_column_int64(s, 1);
			op->decision_len = (size_t)sqlite3_column_bytes(s, 2);
			op->decision = dup_bytes(sqlite3_column_blob(s, 2), op->decision_len);
			if (!op->decision || own(st, op->decision) < 0) {
				op->decision = NULL;
				res = no_memory(op);
			} else {
				res = STORE_OK;
			}
		}
	} else if (rc != SQLITE_DONE) {
		res = io_fail(st, op);
	}
	sqlite3_reset(s);
	return res;
}

/*
 * Writes a change and gives it its event: an escalation updates the
 * decision now; a resolution is a row of its own, written with the
 * batch's others just before the commit (write_resolutions), under the
 * rowid given here.  An execution recorded later in this batch changes
 * that row's bytes before it is written, one in a later batch updates it
 * by its rowid (op_execution).  reviewed_by must live through the batch.
 */
static int write_change(store *st, struct effect *e, const char *reviewed_by)
{
	sqlite3_stmt *s;

	if (is_open(e->new_status)) {
		s = st->s_esc_dec;
		bind_text(s, 1, e->assigned);
		sqlite3_bind_blob(s, 2, e->blob, (int)e->len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, e->rid);
		if (step_done(s) < 0)
			return -1;
		add_event(st, e, STORE_EV_UPDATED);
		return 0;
	}
	e->res_rid = ++st->res_rid;
	e->res_row = 1;
	e->reviewed_by = reviewed_by;
	add_event(st, e, STORE_EV_RESOLVED);
	return 0;
}

/*
 * The batch's resolutions rows, in multi-row INSERTs (a statement per
 * row cost 2.5 times as much: the unique index's cursor and seek are
 * set up per statement).  A row's bytes are those of the last effect of
 * the batch on it: an execution recorded after the resolution amends it.
 */
static int write_resolutions(store *st)
{
	struct batch *b = st->cur;
	size_t left = 0, i = 0;

	for (size_t j = 0; j < b->nfx; j++) {
		struct effect *e = b->fx[j];

		if (!e->res_row)
			continue;
		if (!e->amend) {
			left++;
			continue;
		}
		/* Amends the row of an earlier effect of this batch: that one
		 * is written with these bytes. */
		for (size_t k = j; k-- > 0;) {
			struct effect *r = b->fx[k];

			if (r->res_row && !r->amend && r->res_rid == e->res_rid) {
				r->res_blob = e->blob;
				r->res_len = e->len;
				break;
			}
		}
	}
	while (left) {
		size_t rows;
		sqlite3_stmt *s = rows_next(&st->ins_res, left, &rows);

		for (size_t k = 0; k < rows; i++) {
			struct effect *e = b->fx[i];
			int c = (int)k * st->ins_res.ncols;

			if (!e->res_row || e->amend)
				continue;
			sqlite3_bind_int64(s, c + 1, e->res_rid);
			bind_text(s, c + 2, e->id);
			bind_text(s, c + 3, st_names[e->new_status]);
			sqlite3_bind_int(s, c + 4, e->rank);
			sqlite3_bind_int64(s, c + 5, e->created_ms);
			sqlite3_bind_int64(s, c + 6, e->reviewed_ms);
			bind_text(s, c + 7, e->reviewed_by);
			bind_text(s, c + 8, e->op_type);
			bind_text(s, c + 9, e->assigned);
			sqlite3_bind_blob(s, c + 10, e->res_blob ? e->res_blob : e->blob,
					  (int)(e->res_blob ? e->res_len : e->len), SQLITE_STATIC);
			sqlite3_bind_int64(s, c + 11, (sqlite3_int64)e->seq);
			k++;
		}
		if (step_done(s) < 0)
			return -1;
		left -= rows;
	}
	for (size_t j = 0; j < b->nfx; j++)
		b->fx[j]->res_row = 0;
	return 0;
}

/* A new effect for decision id changed from c (blob set by the caller). */
static struct effect *fx_change(store *st, const char *id, const struct cur *c, int new_status,
				int64_t now)
{
	struct effect *e = fx_add(st, FX_DECISION, id);

	if (!e)
		return NULL;
	e->rid = c->rid;
	e->old_status = c->status;
	e->new_status = new_status;
	e->rank = c->rank;
	e->created_ms = c->created_ms;
	e->expires_ms = c->expires_ms;
	e->reviewed_ms = now;
	/* Each effect owns its copies: the odec or effect they come from
	 * may change before this one is answered. */
	e->op_type = strdup(c->op_type ? c->op_type : "");
	e->assigned = strdup(c->assigned ? c->assigned : "");
	if (!e->op_type || !e->assigned)
		return NULL;
	return e;
}

/* A store__blob_* failure (brc: -2 out of memory, else the stored bytes
 * of decision id do not decode) as the op's result. */
static store_code blob_failed(store_op *op, int brc, const char *id)
{
	if (brc == -2)
		return no_memory(op);
	snprintf(op->message, sizeof(op->message), "stored decision '%.64s' does not decode", id);
	return STORE_E_IO;
}

/* 1 when string field `field` of blob is exactly s. */
static int blob_field_is(const uint8_t *blob, size_t len, uint32_t field, const char *s)
{
	const uint8_t *p;
	size_t n;

	return store__blob_string(blob, len, field, &p, &n) == 1 && n == strlen(s) &&
	       memcmp(p, s, n) == 0;
}

/*
 * The rules on who reviews what (docs/security.md), for an authenticated
 * actor and an open decision c: nobody reviews a decision they submitted;
 * a decision assigned to someone is theirs, or of whoever it was escalated
 * to.  STORE_OK, or the refusal (deny()).
 */
static store_code review_allowed(store *st, store_op *op, const char *action,
				 const struct cur *c)
{
	if (blob_field_is(c->blob, c->len, STORE__F_SUBMITTED_BY, op->actor))
		return deny(st, op, action, op->decision_id, "no-self-review",
			    "'%.64s' submitted decision '%.40s' and cannot review it", op->actor,
			    op->decision_id);
	if (!empty(c->assigned) && strcmp(c->assigned, op->actor) != 0 &&
	    !blob_field_is(c->blob, c->len, STORE__F_ESCALATED_TO, op->actor))
		return deny(st, op, action, op->decision_id, "assigned-to-other",
			    "decision '%.40s' is assigned to '%.64s'; only they, or an operator "
			    "it is escalated to, may review it", op->decision_id, c->assigned);
	return STORE_OK;
}

/*
 * The session of a review or an execution record: its operator in *opr
 * and STORE_OK, or the refusal: unknown or closed (STORE_E_SESSION), or,
 * with an actor, someone else's (deny(), rule session-owner).
 */
static store_code session_of(store *st, store_op *op, const char *action, const char *subject,
			     const char **opr)
{
	*opr = session_operator(st, op->session_id ? op->session_id : "");
	if (!*opr) {
		snprintf(op->message, sizeof(op->message),
			 "session '%.64s' is unknown or closed; open a new one with CreateSession",
			 op->session_id ? op->session_id : "");
		return STORE_E_SESSION;
	}
	if (op->actor && strcmp(*opr, op->actor) != 0)
		return deny(st, op, action, subject, "session-owner",
			    "session '%.40s' belongs to '%.64s', not to '%.64s'", op->session_id,
			    *opr, op->actor);
	return STORE_OK;
}

static store_code op_review(store *st, store_op *op, int64_t now)
{
	static const char *const actions[] = {
		[STORE_OP_APPROVE] = "decision.approve",
		[STORE_OP_REJECT] = "decision.reject",
		[STORE_OP_ESCALATE] = "decision.escalate",
	};
	const char *opr;
	const char *action = actions[op->kind];
	int new_status = op->kind == STORE_OP_APPROVE ? ST_APPROVED :
			 op->kind == STORE_OP_REJECT ? ST_REJECTED : ST_ESCALATED;
	char detail[256];
	size_t n;
	struct store__change ch;
	struct opstat *os;
	struct effect *e;
	struct cur c;
	store_code rc;
	int brc;

	if ((rc = session_of(st, op, action, op->decision_id, &opr)) != STORE_OK)
		return rc;
	rc = lookup(st, op->decision_id ? op->decision_id : "", &c);
	if (rc == STORE_E_NOTFOUND) {
		snprintf(op->message, sizeof(op->message), "decision '%.64s' not found",
			 op->decision_id ? op->decision_id : "");
		return rc;
	}
	if (rc != STORE_OK)
		return io_fail(st, op);
	if ((rc = request_seen(st, op)) != STORE_E_NOTFOUND)
		return rc;
	if (!is_open(c.status)) {
		snprintf(op->message, sizeof(op->message), "decision '%.64s' is already %s",
			 op->decision_id, c.status == ST_NONE ? "resolved" : st_names[c.status]);
		return STORE_E_CONFLICT;
	}
	if (op->actor && (rc = review_allowed(st, op, action, &c)) != STORE_OK)
		return rc;
	/* The entry now (it may need memory), the counts once the op is done. */
	if (!(os = opstat_for(st, opr)))
		return no_memory(op);
	memset(&ch, 0, sizeof(ch));
	ch.status = st_names[new_status];
	ch.now_ms = now;
	if (new_status == ST_ESCALATED) {
		ch.escalate = 1;
		ch.escalated_to = op->target;
		ch.escalation_reason = op->reason;
		ch.escalated_by = opr;
	} else {
		ch.history = 1;
		ch.submitted_ms = c.created_ms;
		ch.reviewed_by = opr;
		ch.outcome = st_names[new_status];
		ch.comment = op->comment;
		ch.reasoning = op->reasoning;
		ch.request_id = op->request_id;
	}
	e = fx_change(st, op->decision_id, &c, new_status, now);
	if (!e)
		return no_memory(op);
	if (new_status == ST_ESCALATED) {
		free(e->assigned);
		if (!(e->assigned = strdup(op->target ? op->target : "")))
			return no_memory(op);
	}
	brc = store__blob_change(c.blob, c.len, &ch, &e->blob, &e->len);
	if (brc < 0)
		return blob_failed(op, brc, op->decision_id);
	/* "session=<id>", and " to=<target>" for an escalation */
	n = cat_n(detail, sizeof(detail), 0, "session=", 8);
	n = cat_n(detail, sizeof(detail), n, op->session_id, 40);
	if (new_status == ST_ESCALATED) {
		n = cat_n(detail, sizeof(detail), n, " to=", 4);
		cat_n(detail, sizeof(detail), n, op->target, 128);
	}
	if (audit_add(st, opr, op->actor_role, action, "OK", op->decision_id, detail) < 0)
		return no_memory(op);
	/* A resolution's row is written at the batch's end (write_change):
	 * the statements now are an escalation's and the request's. */
	if (begin_writes(st, (new_status == ST_ESCALATED) + !empty(op->request_id)) < 0 ||
	    write_change(st, e, opr) < 0)
		return io_fail(st, op);
	if (!empty(op->request_id)) {
		sqlite3_stmt *s = st->s_ins_req;

		bind_text(s, 1, op->request_id);
		bind_text(s, 2, op->decision_id);
		sqlite3_bind_int(s, 3, (int)op->kind);
		sqlite3_bind_int64(s, 4, now);
		sqlite3_bind_blob(s, 5, e->blob, (int)e->len, SQLITE_STATIC);
		if (step_done(s) < 0)
			return io_fail(st, op);
	}
	st->review = os;
	st->review_status = new_status;
	st->review_ms = new_status == ST_ESCALATED ? 0 : now - c.created_ms;
	op->decision = e->blob;
	op->decision_len = e->len;
	op->processed_at_ms = now;
	return STORE_OK;
}

/*
 * The resolution of decision id for an execution record: c as lookup()
 * gives it, and for a resolved decision also its resolutions row (*res_rid)
 * and current bytes (c->blob), from this or an unanswered batch's effect
 * (the overlay) or else from the database.
 */
static store_code resolution_of(store *st, const char *id, struct cur *c, int64_t *res_rid)
{
	struct effect *e = strmap_get(&st->overlay, id);
	sqlite3_stmt *s;
	store_code rc;
	int step;

	*res_rid = 0;
	rc = lookup(st, id, c);
	if (rc != STORE_OK || is_open(c->status) || c->status == ST_NONE)
		return rc;
	if (e && e->kind == FX_DECISION) {
		*res_rid = e->res_rid;
		return STORE_OK;
	}
	s = st->s_res_get;
	bind_text(s, 1, id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		const char *t;
		uint8_t *bl, *op, *as;

		*res_rid = sqlite3_column_int64(s, 0);
		c->len = (size_t)sqlite3_column_bytes(s, 1);
		bl = dup_bytes(sqlite3_column_blob(s, 1), c->len);
		c->rank = sqlite3_column_int(s, 2);
		c->created_ms = sqlite3_column_int64(s, 3);
		t = (const char *)sqlite3_column_text(s, 4);
		op = (uint8_t *)strdup(t ? t : "");
		t = (const char *)sqlite3_column_text(s, 5);
		as = (uint8_t *)strdup(t ? t : "");
		c->rid = sqlite3_column_int64(s, 6);
		c->expires_ms = sqlite3_column_int64(s, 7);
		/* own() frees what it cannot keep; the rest is freed here. */
		if (!bl || own(st, bl) < 0) {
			free(op);
			free(as);
			rc = STORE_E_NOMEM;
		} else if (!op || own(st, op) < 0) {
			free(as);
			rc = STORE_E_NOMEM;
		} else if (!as || own(st, as) < 0) {
			rc = STORE_E_NOMEM;
		} else {
			c->blob = bl;
			c->op_type = (const char *)op;
			c->assigned = (const char *)as;
		}
	} else {
		/* lookup() just saw its resolution: anything else is I/O. */
		rc = STORE_E_IO;
	}
	sqlite3_reset(s);
	return rc;
}

/*
 * An execution record (docs/governance.md, RecordExecution): appended to
 * an approved decision's bytes in its resolutions row, with an UPDATED
 * event and an audit entry.  Nothing else moves: the decision was counted
 * when it was approved.
 */
static store_code op_execution(store *st, store_op *op, int64_t now)
{
	static const char action[] = "decision.execute";
	const char *opr;
	const char *id = op->decision_id ? op->decision_id : "";
	struct store__exec_info xi;
	char detail[256];
	struct store__change ch;
	struct effect *e, *prev;
	struct cur c;
	int64_t res_rid;
	store_code rc;
	int brc, row_later;

	if ((rc = session_of(st, op, action, id, &opr)) != STORE_OK)
		return rc;
	rc = resolution_of(st, id, &c, &res_rid);
	if (rc == STORE_E_NOTFOUND) {
		snprintf(op->message, sizeof(op->message), "decision '%.64s' not found", id);
		return rc;
	}
	if (rc == STORE_E_NOMEM)
		return no_memory(op);
	if (rc != STORE_OK)
		return io_fail(st, op);
	if ((rc = request_seen(st, op)) != STORE_E_NOTFOUND)
		return rc;
	if (c.status != ST_APPROVED) {
		snprintf(op->message, sizeof(op->message),
			 "decision '%.64s' is %s; only an approved decision can have executions",
			 id, c.status == ST_NONE ? "resolved" : st_names[c.status]);
		return STORE_E_CONFLICT;
	}
	brc = store__blob_exec_info(c.blob, c.len, op->action_index, &xi);
	if (brc < 0) {
		rc = blob_failed(op, brc, id);
		goto out;
	}
	if (op->actor && strcmp(xi.reviewed_by, op->actor) != 0) {
		rc = deny(st, op, action, id, "executed-by-reviewer",
			  "decision '%.40s' was approved by '%.64s'; only they may record its "
			  "executions, not '%.64s'", id, xi.reviewed_by, op->actor);
		goto out;
	}
	if (!xi.action_type) {
		snprintf(op->message, sizeof(op->message),
			 "action_index %d is out of range: decision '%.40s' has %zu recommended "
			 "action%s", (int)op->action_index, id, xi.n_actions,
			 xi.n_actions == 1 ? "" : "s");
		rc = STORE_E_INVALID;
		goto out;
	}
	if (strcmp(xi.action_type, op->action_type ? op->action_type : "") != 0) {
		snprintf(op->message, sizeof(op->message),
			 "action_type '%.64s' is not recommended action %d of decision '%.40s' "
			 "(that one is '%.64s')", op->action_type ? op->action_type : "",
			 (int)op->action_index, id, xi.action_type);
		rc = STORE_E_INVALID;
		goto out;
	}
	if (xi.n_executions >= STORE_MAX_EXECUTIONS) {
		snprintf(op->message, sizeof(op->message),
			 "decision '%.64s' has %d executions recorded, the most it may have", id,
			 STORE_MAX_EXECUTIONS);
		rc = STORE_E_CONFLICT;
		goto out;
	}
	/* Approved in this batch: its row is not written yet, and is written
	 * with these bytes (write_resolutions). */
	prev = strmap_get(&st->overlay, id);
	row_later = prev && prev->kind == FX_DECISION && prev->res_row;
	memset(&ch, 0, sizeof(ch));
	ch.status = st_names[ST_APPROVED];
	ch.now_ms = now;
	ch.execution = 1;
	ch.action_type = op->action_type;
	ch.action_index = op->action_index;
	ch.succeeded = op->succeeded;
	ch.detail = op->detail;
	ch.target = op->target;
	ch.executed_by = opr;
	ch.exec_request_id = op->request_id;
	e = fx_change(st, id, &c, ST_APPROVED, now);
	if (!e) {
		rc = no_memory(op);
		goto out;
	}
	e->amend = 1;
	e->res_rid = res_rid;
	e->res_row = row_later;
	brc = store__blob_change(c.blob, c.len, &ch, &e->blob, &e->len);
	if (brc < 0) {
		rc = blob_failed(op, brc, id);
		goto out;
	}
	snprintf(detail, sizeof(detail), "action=%.64s succeeded=%s session=%.40s",
		 op->action_type, op->succeeded ? "true" : "false", op->session_id);
	if (audit_add(st, opr, op->actor_role, action, "OK", id, detail) < 0) {
		rc = no_memory(op);
		goto out;
	}
	rc = STORE_OK;
	if (begin_writes(st, 2 * !row_later + !empty(op->request_id)) < 0) {
		rc = io_fail(st, op);
		goto out;
	}
	if (!row_later) {
		sqlite3_stmt *s = st->s_ev_keep;

		/* The RESOLVED event keeps the bytes it pointed at (schema 5):
		 * c.blob is the row as it is before this record. */
		sqlite3_bind_blob(s, 1, c.blob, (int)c.len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, res_rid);
		if (step_done(s) < 0) {
			rc = io_fail(st, op);
			goto out;
		}
		s = st->s_res_amend;

		sqlite3_bind_blob(s, 1, e->blob, (int)e->len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, res_rid);
		if (step_done(s) < 0 || sqlite3_changes(st->db) != 1) {
			rc = io_fail(st, op);
			goto out;
		}
	}
	add_event(st, e, STORE_EV_UPDATED);
	if (!empty(op->request_id)) {
		sqlite3_stmt *s = st->s_ins_req;

		bind_text(s, 1, op->request_id);
		bind_text(s, 2, id);
		sqlite3_bind_int(s, 3, (int)op->kind);
		sqlite3_bind_int64(s, 4, now);
		sqlite3_bind_blob(s, 5, e->blob, (int)e->len, SQLITE_STATIC);
		if (step_done(s) < 0) {
			rc = io_fail(st, op);
			goto out;
		}
	}
	op->decision = e->blob;
	op->decision_len = e->len;
	op->processed_at_ms = now;
out:
	store__exec_info_release(&xi);
	return rc;
}

static store_code expire_one(store *st, store_op *op, const char *id, int64_t now)
{
	struct store__change ch;
	struct effect *e;
	struct cur c;
	int brc;

	if (lookup(st, id, &c) != STORE_OK || !is_open(c.status) || c.expires_ms > now)
		return STORE_OK;
	memset(&ch, 0, sizeof(ch));
	ch.status = "EXPIRED";
	ch.now_ms = now;
	ch.history = 1;
	ch.submitted_ms = c.created_ms;
	ch.reviewed_by = "system";
	ch.outcome = "EXPIRED";
	ch.sla_violated = 1;
	e = fx_change(st, id, &c, ST_EXPIRED, now);
	if (!e)
		return no_memory(op);
	brc = store__blob_change(c.blob, c.len, &ch, &e->blob, &e->len);
	if (brc < 0)
		return blob_failed(op, brc, id);
	if (audit_add(st, "system", "system", "decision.expire", "OK", id, "") < 0)
		return no_memory(op);
	if (write_change(st, e, "system") < 0)
		return io_fail(st, op);
	op->expired++;
	return STORE_OK;
}

static store_code op_expire(store *st, store_op *op, int64_t now)
{
	char (*due)[ID_MAX] = NULL;
	size_t n = 0, cap = 0;
	store_code rc = STORE_OK;

	if (now < st->earliest_expiry)
		return STORE_OK;
	st->cur->rescan_expiry = 1;
	/* Collect first: expiring changes what the walk would visit.  What this
	 * batch submitted is not due yet (sla_seconds >= 1). */
	for (int r = 0; r < 4; r++) {
		const struct vec *v = &st->ranks[r];

		for (size_t i = 0; i < v->n; i++) {
			const struct odec *d = v->v[i];

			if (d->removed || d->expires_ms > now)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				char (*nd)[ID_MAX] = realloc(due, nc * sizeof(*nd));
				if (!nd) {
					free(due);
					return no_memory(op);
				}
				due = nd;
				cap = nc;
			}
			memcpy(due[n++], d->id, ID_MAX);
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
	struct effect *e;

	store__random_id("s-", op->session_id_out, sizeof(op->session_id_out));
	e = fx_add(st, FX_SESSION_OPEN, op->session_id_out);
	if (!e || !(e->operator_id = strdup(op->operator_id ? op->operator_id : "")))
		return no_memory(op);
	e->created_ms = now;
	if (audit_add(st, op->actor ? op->actor : e->operator_id, op->actor_role, "session.open",
		      "OK", e->id, "") < 0)
		return no_memory(op);
	bind_text(s, 1, e->id);
	bind_text(s, 2, e->operator_id);
	sqlite3_bind_int64(s, 3, now);
	if (step_done(s) < 0)
		return io_fail(st, op);
	op->session_created_ms = now;
	op->processed_at_ms = now;
	return STORE_OK;
}

static store_code op_session_close(store *st, store_op *op, int64_t now)
{
	const char *id = op->session_id ? op->session_id : "";
	const char *opr = session_operator(st, id);
	sqlite3_stmt *s;
	struct effect *e;
	int rc;

	if (!opr) {
		/* Not open: closed already (fine) or never opened. */
		s = st->s_sess_get;
		bind_text(s, 1, id);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc == SQLITE_ROW)
			return STORE_OK;
		if (rc != SQLITE_DONE)
			return io_fail(st, op);
		snprintf(op->message, sizeof(op->message), "session '%.64s' not found", id);
		return STORE_E_NOTFOUND;
	}
	if (op->actor && strcmp(opr, op->actor) != 0)
		return deny(st, op, "session.close", id, "session-owner",
			    "session '%.40s' belongs to '%.64s', not to '%.64s'", id, opr, op->actor);
	if (audit_add(st, op->actor ? op->actor : opr, op->actor_role, "session.close", "OK", id,
		      "") < 0)
		return no_memory(op);
	e = fx_add(st, FX_SESSION_CLOSE, id);
	if (!e)
		return no_memory(op);
	s = st->s_close_sess;
	sqlite3_bind_int64(s, 1, now);
	bind_text(s, 2, id);
	if (step_done(s) < 0)
		return io_fail(st, op);
	op->processed_at_ms = now;
	return STORE_OK;
}

static store_code op_token_create(store *st, store_op *op, int64_t now)
{
	sqlite3_stmt *s = st->s_tok_ins;
	const char *identity = empty(op->token_identity) ? op->token_name : op->token_identity;
	char detail[512];

	if (empty(op->token_name) || !store_role_valid(op->token_role) || !op->token_hash) {
		snprintf(op->message, sizeof(op->message),
			 "a token needs a name, a role (producer, operator or admin) and a hash");
		return STORE_E_INVALID;
	}
	if (op->token_expires_ms < 0 || (op->token_expires_ms && op->token_expires_ms <= now)) {
		snprintf(op->message, sizeof(op->message),
			 "the token's expiry (%lld ms since the epoch) is not in the future",
			 (long long)op->token_expires_ms);
		return STORE_E_INVALID;
	}
	store__random_id("t-", op->token_id_out, sizeof(op->token_id_out));
	snprintf(detail, sizeof(detail), "name=%.128s role=%s identity=%.128s expires_ms=%lld",
		 op->token_name, op->token_role, identity, (long long)op->token_expires_ms);
	if (audit_add(st, op->actor ? op->actor : "anonymous", op->actor_role, "token.create",
		      "OK", op->token_id_out, detail) < 0)
		return no_memory(op);
	bind_text(s, 1, op->token_id_out);
	bind_text(s, 2, op->token_name);
	bind_text(s, 3, op->token_role);
	bind_text(s, 4, identity);
	sqlite3_bind_blob(s, 5, op->token_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, now);
	bind_text(s, 7, op->actor ? op->actor : "anonymous");
	if (op->token_expires_ms > 0)
		sqlite3_bind_int64(s, 8, op->token_expires_ms);
	else
		sqlite3_bind_null(s, 8);
	if (step_done(s) < 0)
		return io_fail(st, op);
	op->processed_at_ms = now;
	return STORE_OK;
}

static store_code op_token_revoke(store *st, store_op *op, int64_t now)
{
	sqlite3_stmt *s = st->s_tok_get;
	const char *id = op->token_id ? op->token_id : "";
	char detail[200];
	int rc, revoked = 0;

	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);

		revoked = sqlite3_column_type(s, 1) != SQLITE_NULL;
		snprintf(detail, sizeof(detail), "name=%.128s", name ? name : "");
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		snprintf(op->message, sizeof(op->message), "token '%.64s' not found", id);
		return STORE_E_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return io_fail(st, op);
	op->processed_at_ms = now;
	if (revoked)
		return STORE_OK;  /* revoked already: nothing changes */
	if (audit_add(st, op->actor ? op->actor : "anonymous", op->actor_role, "token.revoke",
		      "OK", id, detail) < 0)
		return no_memory(op);
	s = st->s_tok_revoke;
	sqlite3_bind_int64(s, 1, now);
	bind_text(s, 2, op->actor ? op->actor : "anonymous");
	bind_text(s, 3, id);
	if (step_done(s) < 0)
		return io_fail(st, op);
	op->changed = 1;
	return STORE_OK;
}

/* A refusal decided before the store (a role, a credential): its entry. */
static store_code op_audit(store *st, store_op *op, int64_t now)
{
	if (audit_add(st, op->actor ? op->actor : "anonymous", op->actor_role, op->audit_action,
		      "DENIED", op->audit_subject, op->audit_detail) < 0)
		return no_memory(op);
	op->processed_at_ms = now;
	return STORE_OK;
}

static store_code run_op(store *st, store_op *op, int64_t now)
{
	if (st->opts.tokens_only && op->kind != STORE_OP_TOKEN_CREATE &&
	    op->kind != STORE_OP_TOKEN_REVOKE && op->kind != STORE_OP_AUDIT) {
		snprintf(op->message, sizeof(op->message),
			 "this store was opened to manage tokens only");
		return STORE_E_INVALID;
	}
	switch (op->kind) {
	case STORE_OP_SUBMIT: return op_submit(st, op, now);
	case STORE_OP_APPROVE:
	case STORE_OP_REJECT:
	case STORE_OP_ESCALATE: return op_review(st, op, now);
	case STORE_OP_EXPIRE_DUE: return op_expire(st, op, now);
	case STORE_OP_SESSION_OPEN: return op_session_open(st, op, now);
	case STORE_OP_SESSION_CLOSE: return op_session_close(st, op, now);
	case STORE_OP_TOKEN_CREATE: return op_token_create(st, op, now);
	case STORE_OP_TOKEN_REVOKE: return op_token_revoke(st, op, now);
	case STORE_OP_AUDIT: return op_audit(st, op, now);
	case STORE_OP_EXECUTION: return op_execution(st, op, now);
	}
	snprintf(op->message, sizeof(op->message), "unknown operation %d", (int)op->kind);
	return STORE_E_INVALID;
}

/* ---- after a commit: memory follows the database ---- */

static void metrics_move(store *st, int from, int to, int rank)
{
	store_metrics *m = &st->m;

	if (from == ST_NONE) {
		m->total++;
	} else {
		st->counts[from][rank]--;
		if (is_open(from)) {
			m->pending--;
			m->escalated -= from == ST_ESCALATED;
			m->critical -= rank == 0;
			m->high -= rank == 1;
		}
	}
	st->counts[to][rank]++;
	switch (to) {
	case ST_PENDING:
	case ST_ESCALATED:
		m->pending++;
		m->escalated += to == ST_ESCALATED;
		m->critical += rank == 0;
		m->high += rank == 1;
		break;
	case ST_APPROVED: m->approved++; break;
	case ST_REJECTED: m->rejected++; break;
	case ST_EXPIRED:
		m->expired++;
		m->sla_violations++;
		break;
	}
}

static void ring_put(store *st, const struct effect *e, int64_t at_ms)
{
	struct ring_ev *r = &st->ring[e->seq % st->ring_cap];
	uint8_t *copy = dup_bytes(e->blob, e->len);

	free(r->blob);
	if (!copy) {
		/* The ring must not claim an event it cannot give: readers see
		 * seq 0 here and go to the database. */
		memset(r, 0, sizeof(*r));
		return;
	}
	r->seq = e->seq;
	r->type = e->event;
	r->at_ms = at_ms;
	r->blob = copy;
	r->len = e->len;
	/* Events arrive in order without gaps: the ring holds the last
	 * ring_cap of them. */
	if (!st->ring_first)
		st->ring_first = e->seq;
	else if (e->seq - st->ring_first >= st->ring_cap)
		st->ring_first = e->seq - st->ring_cap + 1;
}

/* An open decision enters memory or changes there. */
static void apply_open(store *st, struct effect *e)
{
	struct odec *d = strmap_get(&st->byid, e->id);

	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d) {
			st->memory_short = 1;
			return;
		}
		memcpy(d->id, e->id, sizeof(d->id));
		d->rid = e->rid;
		d->rank = e->rank;
		d->created_ms = e->created_ms;
		d->expires_ms = e->expires_ms;
		d->op_type = e->op_type;
		e->op_type = NULL;
		if (!d->op_type || strmap_put(&st->byid, d->id, d) < 0) {
			odec_free(d);
			st->memory_short = 1;
			return;
		}
		if (vec_insert(&st->ranks[d->rank], d) < 0) {
			strmap_del(&st->byid, d->id);
			odec_free(d);
			st->memory_short = 1;
			return;
		}
		if (d->expires_ms < st->earliest_expiry)
			st->earliest_expiry = d->expires_ms;
	}
	d->status = e->new_status;
	if (e->assigned) {
		free(d->assigned);
		d->assigned = e->assigned;
		e->assigned = NULL;
	}
	if (e->rid > st->max_rid)
		st->max_rid = e->rid;
	if (!d->assigned && !(d->assigned = strdup(""))) {
		/* Filters read it: without one the entry cannot be listed. */
		strmap_del(&st->byid, d->id);
		d->removed = 1;
		st->ranks[d->rank].removed++;
		st->memory_short = 1;
		return;
	}
	{
		/* op->decision still points at e->blob until done() ran. */
		uint8_t *copy = dup_bytes(e->blob, e->len);
		if (copy) {
			free(d->blob);
			d->blob = copy;
			d->len = e->len;
		}
	}
}

static void apply_resolved(store *st, const struct effect *e)
{
	struct odec *d = strmap_get(&st->byid, e->id);

	if (!d)
		return;
	strmap_del(&st->byid, e->id);
	d->removed = 1;
	st->ranks[d->rank].removed++;
	vec_compact(&st->ranks[d->rank]);
}

static void apply_session(store *st, struct effect *e)
{
	if (e->kind == FX_SESSION_OPEN) {
		struct session *se = calloc(1, sizeof(*se));

		if (!se)
			return;
		memcpy(se->id, e->id, sizeof(se->id));
		se->operator_id = e->operator_id;
		e->operator_id = NULL;
		if (strmap_put(&st->sessions, se->id, se) < 0) {
			free(se->operator_id);
			free(se);
		}
	} else {
		struct session *se = strmap_get(&st->sessions, e->id);

		if (se) {
			strmap_del(&st->sessions, e->id);
			free(se->operator_id);
			free(se);
		}
	}
}

static void apply(store *st, const struct batch *b)
{
	pthread_rwlock_wrlock(&st->lock);
	for (size_t i = 0; i < b->nfx; i++) {
		struct effect *e = b->fx[i];

		if (e->kind != FX_DECISION) {
			apply_session(st, e);
			continue;
		}
		if (e->event >= 0) {
			ring_put(st, e, b->now);
			if (!st->first_seq)
				st->first_seq = e->seq;
			st->last_seq = e->seq;
		}
		/* An execution record is not a review: the decision stays
		 * where it was counted, out of memory (it is resolved). */
		if (e->amend)
			continue;
		metrics_move(st, e->old_status, e->new_status, e->rank);
		if (e->new_status == ST_APPROVED || e->new_status == ST_REJECTED) {
			int64_t ms = e->reviewed_ms - e->created_ms;
			int k = e->new_status == ST_REJECTED;

			st->resp_sum_ms += ms;
			ms = ms < 0 ? 0 : ms;
			st->review_hist[k][pcount_slot(store_review_bounds_ms, STORE_REVIEW_NBOUNDS,
						  (uint64_t)ms)]++;
			st->review_sum_ms[k] += (uint64_t)ms;
		}
		if (e->new_status == ST_ESCALATED && e->old_status != ST_ESCALATED)
			st->escalations++;
		if (is_open(e->new_status))
			apply_open(st, e);
		else
			apply_resolved(st, e);
	}
	if (b->trimmed_to > st->first_seq)
		st->first_seq = b->trimmed_to;
	recompute_derived(st);
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

/* ---- the batch ---- */

static void finish_ops(store_op *list)
{
	while (list) {
		store_op *next = list->next;

		/* done() may free op (its owner's): touch nothing after it. */
		list->done(list);
		list = next;
	}
}

/* full: the database said SQLITE_FULL (the transaction is undone; the
 * same ops can succeed once there is space). */
static void fail_all(store_op *list, const char *what, const char *err, int full)
{
	for (store_op *op = list; op; op = op->next) {
		op->result = full ? STORE_E_FULL : STORE_E_IO;
		if (full)
			snprintf(op->message, sizeof(op->message), DISK_FULL_MSG);
		else
			snprintf(op->message, sizeof(op->message), "database error: %s: %.180s",
				 what, err);
		op->decision = NULL;
		op->decision_len = 0;
		op->created = op->replayed = 0;
		op->expired = 0;
	}
}

/* Deletes the oldest events past the retention, a bounded chunk per batch.
 * Returns the new oldest retained sequence number (0: nothing trimmed). */
static uint64_t trim_events(store *st, int *failed)
{
	uint64_t last = st->next_seq - 1, upto;
	uint64_t first = st->trim_first ? st->trim_first : 1;  /* 0: none yet */
	uint64_t keep = st->opts.event_retention;
	/* Trim in chunks, not at every batch: let it overshoot a little. */
	uint64_t slack = keep / 16 < 1 ? 1 : keep / 16 > TRIM_SLACK ? TRIM_SLACK : keep / 16;

	if (last < first || last - first + 1 <= keep + slack)
		return 0;
	upto = last - st->opts.event_retention + 1;  /* keep seq >= upto */
	if (upto > first + TRIM_CHUNK)
		upto = first + TRIM_CHUNK;
	sqlite3_bind_int64(st->s_trim_ev, 1, (sqlite3_int64)upto);
	if (step_done(st->s_trim_ev) < 0) {
		*failed = 1;
		return 0;
	}
	st->trim_first = upto;
	return upto;
}

/*
 * Now and then (a second apart at most) raises meta.open_floor_rid to the
 * smallest rowid of an open decision, so that open() reads only the
 * decisions from there on.  Memory lags the batches still waiting for
 * their sync, but those only resolve decisions or add ones with larger
 * rowids, so the floor stays at or below every open decision.
 */
static int raise_floor(store *st, int64_t now)
{
	int64_t floor = st->max_rid + 1;

	if (st->memory_short || now - st->floor_ms < 1000)
		return 0;
	st->floor_ms = now;
	for (int r = 0; r < 4; r++)
		for (size_t i = 0; i < st->ranks[r].n; i++)
			if (!st->ranks[r].v[i]->removed && st->ranks[r].v[i]->rid < floor)
				floor = st->ranks[r].v[i]->rid;
	if (floor <= st->floor_rid)
		return 0;
	sqlite3_bind_int64(st->s_floor, 1, floor);
	if (step_done(st->s_floor) < 0)
		return -1;
	st->floor_rid = floor;
	return 0;
}

static int flush_opstats(store *st)
{
	sqlite3_stmt *s = st->s_opstat;

	for (size_t i = 0; i < st->nopst; i++) {
		const struct opstat *o = &st->opst[i];

		bind_text(s, 1, o->operator_id);
		sqlite3_bind_int(s, 2, o->approved);
		sqlite3_bind_int(s, 3, o->rejected);
		sqlite3_bind_int(s, 4, o->escalated);
		sqlite3_bind_int64(s, 5, o->response_ms);
		if (step_done(s) < 0)
			return -1;
	}
	return 0;
}

static void reset_outputs(store_op *op)
{
	op->result = STORE_OK;
	op->message[0] = '\0';
	op->decision = NULL;
	op->decision_len = 0;
	op->created = op->replayed = 0;
	op->processed_at_ms = 0;
	op->expired = 0;
	op->token_id_out[0] = '\0';
	op->changed = 0;
}

/* A sync of the log or of the database file failed (what: SYNC_FAILED_*,
 * err its errno): every write fails from now on, saying why, and readers
 * see it (store_get_gauges).  After a failed sync what the file holds is
 * unknown, and only a restart, reading it back, knows. */
static void stop_writes(store *st, int what, int err)
{
	snprintf(st->broken_msg, sizeof(st->broken_msg),
		 "the store stopped: syncing its %s failed: %s; restart governd",
		 SYNC_FAILED_FILE(what), strerror(err));
	st->broken = 1;
	atomic_store(&st->sync_failed, what);
}

/* Answers the batches an fdatasync has covered (every pending one, failed,
 * when the sync failed): memory takes their changes, the hook hears of
 * their events, then each operation's done() runs. */
static void complete(store *st)
{
	uint64_t synced = st->synced;
	int sync_err = st->sync_err;

	while (st->pending && (st->pending->id <= synced || sync_err)) {
		struct batch *b = st->pending;

		st->pending = b->next;
		if (!st->pending)
			st->pending_tail = NULL;
		if (b->id > synced) {
			stop_writes(st, SYNC_FAILED_LOG, sync_err);
			fail_all(b->ops, "sync", strerror(sync_err), 0);
		} else {
			apply(st, b);
			if (b->rescan_expiry)
				recompute_earliest(st);
			if (b->last_seq && st->hook)
				st->hook(b->last_seq, st->hook_ud);
		}
		finish_ops(b->ops);
		batch_put(st, b);
	}
}

/* Queues a run batch for its answers, which wait for the sync of commit
 * b->id. */
static void batch_queue(store *st, struct batch *b)
{
	b->next = NULL;
	if (st->pending_tail)
		st->pending_tail->next = b;
	else
		st->pending = b;
	st->pending_tail = b;
	if (!st->use_sync)
		st->synced = st->committed;
}

/* A sync of the log, in the figures (syncs, time, histogram). */
static void count_sync(store *st, uint64_t ns)
{
	st->batch_sync_ns += ns;
	atomic_fetch_add(&st->syncs, 1);
	atomic_fetch_add(&st->sync_ns, ns);
	pcount_add(&st->h_sync_time[pcount_slot(store_time_bounds_ns, STORE_TIME_NBOUNDS, ns)], 1);
}

/* One fdatasync of the log covers every transaction committed before it.
 * A failure is sticky: what the log holds is then unknown. */
static void sync_log(store *st)
{
	uint64_t want = st->committed, t0;

	if (!st->use_sync || want <= st->synced || st->sync_err)
		return;
	t0 = time_mono_ns();
	if (fdatasync(st->wal_fd) == 0)
		st->synced = want;
	else
		st->sync_err = errno ? errno : EIO;
	count_sync(st, time_mono_ns() - t0);
}

static void run_batch(store *st, store_op *list)
{
	int64_t now = store__now_ms();
	uint64_t first_seq = st->next_seq, trim_first = st->trim_first;
	int64_t floor_rid = st->floor_rid, first_res_rid = st->res_rid;
	sqlite3_int64 changes;
	int trim_failed = 0, aborted = 0;
	struct batch *b;
	uint64_t t0, nops = 0;
	int db_err;

	/* The checkpoint thread could not sync the database file: what it
	 * holds of the pages copied since the last good sync is unknown, and
	 * a later sync may succeed without them, so no checkpoint may let the
	 * log start over.  Stopping writes is what guarantees that. */
	if (!st->broken && (db_err = atomic_load(&st->db_sync_err)) != 0)
		stop_writes(st, SYNC_FAILED_DB, db_err);
	if (st->broken) {
		for (store_op *op = list; op; op = op->next) {
			op->result = STORE_E_IO;
			snprintf(op->message, sizeof(op->message), "%s", st->broken_msg);
		}
		finish_ops(list);
		return;
	}
	/* The sweeper's every-250-ms call usually finds nothing due. */
	if (!list->next && list->kind == STORE_OP_EXPIRE_DUE && now < st->earliest_expiry) {
		list->processed_at_ms = now;
		finish_ops(list);
		return;
	}
	if (!(b = batch_get(st))) {
		for (store_op *op = list; op; op = op->next)
			op->result = no_memory(op);
		finish_ops(list);
		return;
	}
	b->ops = list;
	b->now = now;
	t0 = time_mono_ns();
	st->cur = b;
	st->nopst = 0;
	st->naudit = 0;
	buf_reset(&st->audit_text);
	changes = sqlite3_total_changes64(st->db);
	{
		/* The open decisions the batch reviews, fetched side by side. */
		const char *ids[64];
		size_t n = 0;

		for (store_op *op = list; op && n < 64; op = op->next)
			if (op->decision_id && op->kind != STORE_OP_SUBMIT)
				ids[n++] = op->decision_id;
		strmap_prefetch(&st->byid, ids, n);
	}
	if (step_done(st->s_begin) < 0) {
		fail_all(list, "begin", sqlite3_errmsg(st->db),
			 sqlite3_errcode(st->db) == SQLITE_FULL);
		goto queue;
	}
	for (store_op *op = list; op; op = op->next) {
		size_t mark = b->nfx, audit_mark = st->naudit, text_mark = st->audit_text.len;
		uint64_t seq_mark = st->next_seq;
		int64_t rid_mark = st->res_rid;

		st->in_savepoint = 0;
		st->review = NULL;
		if (sqlite3_get_autocommit(st->db)) {
			/* A failed statement made SQLite roll the transaction back:
			 * running the rest would commit each on its own. */
			aborted = 1;
			break;
		}
		op->result = run_op(st, op, now);
		if (op->result == STORE_OK && st->in_savepoint && step_done(st->s_release) < 0)
			op->result = io_fail(st, op);
		if (op->result == STORE_OK) {
			/* Counted only once the op can no longer fail. */
			struct opstat *os = st->review;
			if (os) {
				os->approved += st->review_status == ST_APPROVED;
				os->rejected += st->review_status == ST_REJECTED;
				os->escalated += st->review_status == ST_ESCALATED;
				os->response_ms += st->review_ms;
			}
			continue;
		}
		if (st->in_savepoint) {
			step_done(st->s_rollback_to);
			step_done(st->s_release);
		}
		fx_truncate(st, mark);
		st->next_seq = seq_mark;
		st->res_rid = rid_mark;
		/* A refusal keeps its entry: it is the op's one write. */
		if (op->result != STORE_E_DENIED) {
			st->naudit = audit_mark;
			st->audit_text.len = text_mark;
		}
		op->decision = NULL;
		op->decision_len = 0;
		op->created = op->replayed = 0;
		op->expired = 0;
	}
	st->in_savepoint = 0;
	if (!aborted && write_resolutions(st) < 0)
		aborted = 4;
	if (!aborted && write_events(st, now) < 0)
		aborted = 2;
	if (!aborted && write_audit(st, now) < 0)
		aborted = 3;
	/* A tokens-only store knows nothing of the events (another process
	 * owns them, with its own retention): it never trims them. */
	if (!aborted && !st->opts.tokens_only)
		b->trimmed_to = trim_events(st, &trim_failed);
	if (aborted || trim_failed || flush_opstats(st) < 0 || raise_floor(st, now) < 0 ||
	    step_done(st->s_commit) < 0) {
		char err[200];
		int full = sqlite3_errcode(st->db) == SQLITE_FULL;

		snprintf(err, sizeof(err), "%s", sqlite3_errmsg(st->db));
		if (st->gather && sqlite3_extended_errcode(st->db) == SQLITE_IOERR_FSYNC) {
			/* As with the writer's own sync (complete()): after a
			 * failed sync what the log holds is unknown. */
			int e = sqlite3_system_errno(st->db);

			stop_writes(st, SYNC_FAILED_LOG, e ? e : EIO);
		}
		fail_all(list, aborted == 1 ? "transaction rolled back" :
			 aborted == 2 ? "writing events" : aborted == 3 ? "writing the audit trail" :
			 aborted == 4 ? "writing resolutions" :
			 trim_failed ? "trimming events" : "commit", err, full);
		if (!sqlite3_get_autocommit(st->db))
			step_done(st->s_rollback);
		fx_truncate(st, 0);
		st->next_seq = first_seq;
		st->res_rid = first_res_rid;
		st->trim_first = trim_first;
		st->floor_rid = floor_rid;
		b->trimmed_to = 0;
		goto queue;
	}
	atomic_fetch_add(&st->commits, 1);
	for (store_op *op = list; op; op = op->next)
		nops++;
	atomic_fetch_add(&st->ops, nops);
	pcount_add(&st->h_batch_ops[pcount_slot(store_batch_bounds, STORE_BATCH_NBOUNDS, nops)], 1);
	if (sqlite3_total_changes64(st->db) != changes)
		st->committed++;
	if (st->next_seq != first_seq)
		b->last_seq = st->next_seq - 1;
queue:
	/* Answers wait for the sync of everything committed so far, failed
	 * ones too: what they saw may be a change not yet on disk. */
	b->id = st->committed;
	st->cur = NULL;
	t0 = time_mono_ns() - t0;
	atomic_fetch_add(&st->batch_ns, t0);
	pcount_add(&st->h_batch_time[pcount_slot(store_time_bounds_ns, STORE_TIME_NBOUNDS, t0)], 1);
	batch_queue(st, b);
}

/*
 * How many of the queued ops the next batch takes.  All of them, unless
 * the writes around the store behave as one closed loop too large for
 * one group: clients that each write again once answered.  Such a group
 * of n costs, per round, its batch (n ops and a sync) plus its way out
 * and back (the answers encoded and sent, the next writes read and
 * decoded: ~n times what the writer spends per op).  Two groups of n/2
 * alternate instead, one written while the other travels; that pays
 * once the way out and back of the group exceeds a sync.  Taken whole
 * every time, a group of 50 settled into batches of ~45 and ~4 (the
 * stragglers that came during the big one paid a whole sync), and the
 * writer idled while the big group travelled; halved, it stays two
 * groups of ~25 (docs/benchmarks.md).  peak is the writes seen at once
 * (the last batch and what queued meanwhile) twice in a row, so that a
 * lone burst is still one batch, decaying so that the cap follows a
 * falling load; under a queue that keeps growing the cap grows with it.
 */
uint32_t store__cap_next(struct store__cap *c, uint32_t qlen, uint32_t max_batch)
{
	uint32_t now = c->last_n + qlen, seen = now < c->last_seen ? now : c->last_seen;

	c->last_seen = now;
	c->peak = seen >= c->peak ? seen : c->peak - (c->peak + 31) / 32;
	if (c->peak >= 4 && c->ew_sync_ns && (uint64_t)c->peak * c->ew_op_ns > c->ew_sync_ns)
		return (c->peak + 1) / 2 < max_batch ? (c->peak + 1) / 2 : max_batch;
	return max_batch;
}

void store__cap_learn(struct store__cap *c, uint32_t n, uint64_t ns, uint64_t sync_ns)
{
	uint64_t op = n && ns > sync_ns ? (ns - sync_ns) / n : 0;

	c->last_n = n;
	if (!sync_ns)
		return;
	c->ew_sync_ns = c->ew_sync_ns ? c->ew_sync_ns - c->ew_sync_ns / 8 + sync_ns / 8 : sync_ns;
	c->ew_op_ns = c->ew_op_ns ? c->ew_op_ns - c->ew_op_ns / 8 + op / 8 : op;
}

static void *writer_main(void *arg)
{
	store *st = arg;

	pthread_setname_np(pthread_self(), "store-writer");
	for (;;) {
		store_op *list, *tail;
		uint32_t n = 1, cap;
		uint64_t t0;

		pthread_mutex_lock(&st->qlock);
		while (!st->qhead && !st->closing)
			pthread_cond_wait(&st->qcond, &st->qlock);
		/* Closing ends here only: with nothing queued. */
		if (!st->qhead) {
			pthread_mutex_unlock(&st->qlock);
			break;
		}
		cap = store__cap_next(&st->cap, st->qlen, st->opts.max_batch);
		list = tail = st->qhead;
		while (tail->next && n < cap) {
			tail = tail->next;
			n++;
		}
		st->qhead = tail->next;
		if (!st->qhead)
			st->qtail = NULL;
		tail->next = NULL;
		st->qlen -= n;
		pthread_mutex_unlock(&st->qlock);
		/*
		 * Run and commit, sync the log, answer.  The sync is the
		 * writer's own: what queues up meanwhile is the next batch, so
		 * one sync per batch is all the disk sees, and no other thread
		 * has to be woken and wake the writer back per batch (a
		 * separate syncer thread measured 20-30 % fewer approvals/s
		 * here, all of it in wake-ups).
		 */
		t0 = time_mono_ns();
		run_batch(st, list);
		sync_log(st);
		complete(st);
		store__cap_learn(&st->cap, n, time_mono_ns() - t0, st->batch_sync_ns);
		st->batch_sync_ns = 0;
	}
	return NULL;
}

void store_submit(store *st, store_op *op)
{
	op->next = NULL;
	reset_outputs(op);
	pthread_mutex_lock(&st->qlock);
	if (st->closing) {
		pthread_mutex_unlock(&st->qlock);
		op->result = STORE_E_CLOSED;
		snprintf(op->message, sizeof(op->message), "the store is shutting down");
		op->done(op);
		return;
	}
	if (st->qlen >= st->opts.max_queue) {
		/* Bounded: a client that writes faster than the disk takes
		 * them meets a refusal, not a queue that grows with it. */
		pthread_mutex_unlock(&st->qlock);
		op->result = STORE_E_BUSY;
		snprintf(op->message, sizeof(op->message),
			 "the store has %u writes waiting already; retry later",
			 st->opts.max_queue);
		op->done(op);
		return;
	}
	st->qlen++;
	if (st->qhead) {
		st->qtail->next = op;
	} else {
		/* The writer sleeps only on an empty queue: only the op that
		 * ends that needs to wake it. */
		st->qhead = op;
		pthread_cond_signal(&st->qcond);
	}
	st->qtail = op;
	pthread_mutex_unlock(&st->qlock);
}

void store_set_event_hook(store *st, void (*fn)(uint64_t, void *), void *ud)
{
	st->hook = fn;
	st->hook_ud = ud;
}

/* ---- open / close ---- */

/*
 * Opens the log (the -wal file SQLite made when the store was loaded) for
 * the writer's fdatasyncs and makes its directory entry durable.  0 or an
 * errno.
 */
static int open_log(store *st)
{
	char wal[PATH_CAP + 8], dir[PATH_CAP];
	char *slash;
	int dfd;

	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	if (!st->gather) {
		st->wal_fd = open(wal, O_RDWR | O_CLOEXEC);
		if (st->wal_fd < 0)
			return errno;
	}
	snprintf(dir, sizeof(dir), "%s", st->path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	/* Gathering, SQLite syncs the log in each COMMIT (vfs_gather.c). */
	if (st->gather)
		return 0;
	if (fdatasync(st->wal_fd) < 0)
		return errno;
	st->use_sync = 1;
	return 0;
}

/* The writer's commits sync the log through the gathering VFS: count
 * them as the writer's own syncs are. */
static void on_log_sync(void *ud, uint64_t ns, int rc)
{
	(void)rc;
	count_sync(ud, ns);
}

/*
 * Checkpoints off the writer.  SQLite's automatic checkpoint runs inside
 * the commit that crosses the threshold, on the writer: measured, 15 % of
 * the writer's time under sustained approvals and a 20 ms stall for the
 * batch that pays it.  Instead the writer's commit hook wakes this thread,
 * which runs a PASSIVE checkpoint on a connection of its own (it never
 * blocks the writer or readers): it copies the log as it was when the
 * pass began (again, while a reader's snapshot held more than
 * checkpoint_pages / CKPT_TAIL_DIV frames of it back).
 *
 * The tail is the writer's: under a sustained load every pass ends with
 * commits made during it still uncopied, so a thread of its own never
 * catches up with the log's end, and the log starts over only when a
 * checkpoint has copied all of it before the writer's next transaction.
 * Measured before the hand-off: the log started over only by chance and
 * reached 97 MB over 400,000 writes, every fdatasync also wrote the file's
 * metadata for the blocks it had grown by, and the thread ran a pass (and
 * an fsync of the database) every six commits.  So the thread leaves the tail, and the
 * writer copies it inline after its next commit, a few hundred frames,
 * with nothing committed in between: the next transaction starts the log
 * over, within the blocks it already has.
 *
 * Should the thread fall behind by CKPT_BACKSTOP times the threshold (a
 * disk much slower than the writer), the writer checkpoints inline, as
 * SQLite would have, so that the log stays bounded.
 */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	store *st = ud;

	if (atomic_exchange(&st->ckpt_tail, 0)) {
		atomic_fetch_add(&st->ckpt_tails, 1);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if ((uint64_t)pages >= (uint64_t)CKPT_BACKSTOP * st->opts.checkpoint_pages) {
		atomic_fetch_add(&st->ckpt_inline, 1);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if ((uint32_t)pages >= st->opts.checkpoint_pages) {
		pthread_mutex_lock(&st->ckpt_lock);
		if (!st->ckpt_wanted) {
			st->ckpt_wanted = 1;
			pthread_cond_signal(&st->ckpt_cond);
		}
		pthread_mutex_unlock(&st->ckpt_lock);
	}
	return SQLITE_OK;
}

/*
 * Syncs the database file after the thread's passes, then copies what the
 * writer committed meanwhile and syncs again.  A pass that ends short of
 * the log's end (the writer appended during it) writes its pages into the
 * database file without syncing it: SQLite syncs the database only in the
 * checkpoint that reaches the log's end, since only then may the log start
 * over.  Under load that checkpoint is the writer's tail, which therefore
 * paid for the writeback of the whole round, thousands of pages: 8-15 ms
 * on the 2-core VM every 32 MiB of log, all writes waiting.  Synced here,
 * the tail's own pages are all the writer's sync is left with (0.5-1.2
 * ms; the second pass shrinks the tail to what came during it).  0, or
 * -1 with db_sync_err set: the store stops (run_batch).
 */
static int ckpt_sync_db(store *st, sqlite3 *db)
{
	int fd = open(st->path, O_RDONLY | O_CLOEXEC), log = 0, done = 0, rc = 0;

	if (fd < 0)
		return 0;      /* nothing synced; the tail's checkpoint syncs it all */
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		if (pass && sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
						      &done) != SQLITE_OK)
			break;
		if (fdatasync(fd) < 0) {
			atomic_store(&st->db_sync_err, errno ? errno : EIO);
			rc = -1;
		}
	}
	close(fd);
	return rc;
}

static void *ckpt_main(void *arg)
{
	store *st = arg;
	sqlite3 *db = NULL;
	int tail = (int)(st->opts.checkpoint_pages / CKPT_TAIL_DIV);
	int last_done = 0;

	pthread_setname_np(pthread_self(), "store-ckpt");
	for (;;) {
		int log = 0, done = 0, rc;
		uint64_t t0;

		pthread_mutex_lock(&st->ckpt_lock);
		while (!st->ckpt_wanted && !st->ckpt_stop)
			pthread_cond_wait(&st->ckpt_cond, &st->ckpt_lock);
		if (st->ckpt_stop) {
			pthread_mutex_unlock(&st->ckpt_lock);
			break;
		}
		pthread_mutex_unlock(&st->ckpt_lock);
		/* Opened for each round of checkpoints, closed after it: an
		 * idle governd carries no connection it does not use (~150
		 * KiB, two descriptors). */
		if (!db && (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE |
					    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
			    exec_sql(db, "PRAGMA synchronous=NORMAL", NULL, 0) < 0)) {
			/* The writer's backstop still bounds the log. */
			sqlite3_close_v2(db);
			db = NULL;
			pthread_mutex_lock(&st->ckpt_lock);
			st->ckpt_wanted = 0;
			pthread_mutex_unlock(&st->ckpt_lock);
			usleep(100000);
			continue;
		}
		t0 = time_mono_ns();
		rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		atomic_fetch_add(&st->ckpts, 1);
		atomic_fetch_add(&st->ckpt_ns, time_mono_ns() - t0);
		/* Again while the pass left more than the tail of the log it
		 * saw (log: its size when the pass began; a reader's snapshot
		 * keeps later frames from being copied).  What came during the
		 * pass, less what ckpt_sync_db copies after its sync, is the
		 * writer's tail (wal_hook).  A busy or failed pass waits a
		 * little (the writer's backstop still holds). */
		if (rc == SQLITE_OK && log - done > tail) {
			/* No progress: a reader's snapshot holds the log back
			 * (a pass copies no frame past it).  Wait for it rather
			 * than spin. */
			if (done <= last_done)
				usleep(1000);
			last_done = done;
			continue;
		}
		last_done = 0;
		if (rc == SQLITE_OK) {
			t0 = time_mono_ns();
			if (ckpt_sync_db(st, db) < 0)
				rc = SQLITE_IOERR;
			atomic_fetch_add(&st->ckpt_ns, time_mono_ns() - t0);
		}
		sqlite3_close_v2(db);
		db = NULL;
		if (rc == SQLITE_OK)
			atomic_store(&st->ckpt_tail, 1);
		pthread_mutex_lock(&st->ckpt_lock);
		st->ckpt_wanted = 0;
		pthread_mutex_unlock(&st->ckpt_lock);
		if (rc != SQLITE_OK)
			usleep(10000);
	}
	sqlite3_close_v2(db);
	return NULL;
}

static store_code open_fail(store *st, store_code rc, char *err, size_t errlen, const char *what)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s", what);
	snprintf(err, errlen, "%s: %s", st->path, tmp);
	store_close(st);
	return rc;
}

/*
 * SQLite's process-wide settings, once, before its first use.  No memory
 * statistics: nothing here reads them, and keeping them takes a global
 * mutex around every allocation and free SQLite makes (5 % of the
 * writer's instructions, callgrind).  Should SQLite already be in use
 * (another part of the process opened a database first), the call is
 * refused and the default stays: only a little slower.
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_initialize();
}

store_code store_open(const store_options *o, store **out, char *err, size_t errlen)
{
	static const char *const pragmas[] = {
		/* A page cache for the hot pages (not larger: SQLite walks the
		 * cache's hash table at every commit, which a 64 MiB cache made
		 * a fifth of the writer's time), memory-mapped reads of the
		 * rest, savepoint journals in memory rather than in a temporary
		 * file, and checkpoints every 32 MiB of log (CKPT_PAGES; the
		 * checkpoint thread's, see ckpt_main, once the store is open). */
		"PRAGMA cache_size=-16384",
		"PRAGMA mmap_size=268435456",
		"PRAGMA temp_store=MEMORY",
		"PRAGMA wal_autocheckpoint=8192",
	};
	char msg[400];
	store *st;
	int rc;

	*out = NULL;
	pthread_once(&sqlite_once, sqlite_setup);
	if (!o || empty(o->path)) {
		snprintf(err, errlen, "no database path given");
		return STORE_E_INVALID;
	}
	if (strlen(o->path) >= PATH_CAP) {
		snprintf(err, errlen, "database path '%.64s...' is too long", o->path);
		return STORE_E_INVALID;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return STORE_E_NOMEM;
	}
	st->opts = *o;
	if (!st->opts.max_batch)
		st->opts.max_batch = 1024;
	if (!st->opts.event_retention)
		st->opts.event_retention = 100000;
	if (!st->opts.max_queue)
		st->opts.max_queue = 16384;
	st->ring_cap = st->opts.event_ring ? st->opts.event_ring : RING_DEFAULT;
	if (!st->opts.checkpoint_pages)
		st->opts.checkpoint_pages = CKPT_PAGES;
	st->earliest_expiry = INT64_MAX;
	snprintf(st->path, sizeof(st->path), "%s", o->path);
	st->wal_fd = -1;
	buf_init(&st->audit_text, SIZE_MAX);
	pthread_mutex_init(&st->qlock, NULL);
	pthread_cond_init(&st->qcond, NULL);
	pthread_mutex_init(&st->ckpt_lock, NULL);
	pthread_cond_init(&st->ckpt_cond, NULL);
	{
		/* Readers never take it twice; the writer must not starve
		 * behind a stream of them. */
		pthread_rwlockattr_t ra;

		pthread_rwlockattr_init(&ra);
		pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&st->lock, &ra);
		pthread_rwlockattr_destroy(&ra);
	}
	pthread_mutex_init(&st->rlock, NULL);
	atomic_init(&st->commits, 0);
	atomic_init(&st->ops, 0);
	atomic_init(&st->batch_ns, 0);
	atomic_init(&st->syncs, 0);
	atomic_init(&st->sync_ns, 0);
	st->ring = calloc(st->ring_cap, sizeof(*st->ring));
	if (!st->ring)
		return open_fail(st, STORE_E_NOMEM, err, errlen, "out of memory");
	if (mkdirs(st->path) < 0) {
		snprintf(msg, sizeof(msg), "cannot create its directory: %s", strerror(errno));
		return open_fail(st, STORE_E_IO, err, errlen, msg);
	}
	/* With durable answers (and as the store's own writer), the log's
	 * writes are gathered and SQLite syncs them in each COMMIT
	 * (synchronous=FULL, below): one write and one fdatasync per batch. */
	if (st->opts.synchronous_full && !st->opts.tokens_only && store__gather_vfs())
		st->gather = 1;
	rc = sqlite3_open_v2(st->path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     st->gather ? store__gather_vfs() : NULL);
	if (rc != SQLITE_OK) {
		snprintf(msg, sizeof(msg), "cannot open: %s",
			 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		return open_fail(st, STORE_E_IO, err, errlen, msg);
	}
	sqlite3_busy_timeout(st->db, 5000);
	{
		sqlite3_stmt *s = NULL;
		int wal = 0;

		if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) == SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_ROW)
			wal = sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
		sqlite3_finalize(s);
		if (!wal) {
			snprintf(msg, sizeof(msg), "cannot switch to WAL mode: %s",
				 sqlite3_errmsg(st->db));
			return open_fail(st, STORE_E_IO, err, errlen, msg);
		}
	}
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		if (exec_sql(st->db, pragmas[i], msg, sizeof(msg)) < 0)
			return open_fail(st, STORE_E_IO, err, errlen, msg);
	}

	/* NORMAL: SQLite syncs around checkpoints (the database stays
	 * consistent); the writer adds the fdatasync of the log per batch
	 * that makes its answers durable (FULL's guarantee, one sync per
	 * batch rather than per transaction SQLite commits). */
	if (exec_sql(st->db, st->gather ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
		     msg, sizeof(msg)) < 0 ||
	    migrate(st, msg, sizeof(msg)) < 0)
		return open_fail(st, STORE_E_IO, err, errlen, msg);
	for (size_t i = 0; i < N_WRITER_SQL; i++) {
		if (!(*writer_stmt(st, i) = prepare(st->db, writer_sql[i].sql))) {
			snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(st->db));
			return open_fail(st, STORE_E_IO, err, errlen, msg);
		}
	}
	/* The batch's events and audit entries, in multi-row INSERTs. */
	if (rows_prepare(st->db, &st->ins_res,
			 "INSERT INTO resolutions(rid, id, status, priority_rank, created_ms, "
			 "reviewed_ms, reviewed_by, operation_type, assigned_operator, blob, "
			 "ev_seq)", 11) < 0 ||
	    rows_prepare(st->db, &st->ins_ev,
			 "INSERT INTO events(seq, type, at_ms, decision_id, blob, res_rid)",
			 6) < 0 ||
	    rows_prepare(st->db, &st->ins_audit,
			 "INSERT INTO audit(seq, at_ms, actor, role, action, outcome, subject, "
			 "detail, prev_hash, hash)", 10) < 0) {
		snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(st->db));
		return open_fail(st, STORE_E_IO, err, errlen, msg);
	}
	if (st->opts.tokens_only) {
		/* Beside a running governd: its memory is the truth, this one
		 * stays empty and must never move the open floor. */
		st->memory_short = 1;
	} else if ((rc = load_decisions(st)) < 0 || (rc = load_counts(st)) < 0 ||
		   (rc = load_sessions(st)) < 0 || (rc = load_events(st)) < 0) {
		if (rc == -2)
			return open_fail(st, STORE_E_NOMEM, err, errlen, "out of memory loading");
		snprintf(msg, sizeof(msg), "loading: %s", sqlite3_errmsg(st->db));
		return open_fail(st, STORE_E_IO, err, errlen, msg);
	}
	recompute_derived(st);
	st->trim_first = st->first_seq;
	if (st->opts.synchronous_full && (rc = open_log(st)) != 0) {
		snprintf(msg, sizeof(msg), "cannot sync its log: %s", strerror(rc));
		return open_fail(st, STORE_E_IO, err, errlen, msg);
	}
	if (st->gather && store__gather_on_sync(st->db, on_log_sync, st) < 0)
		return open_fail(st, STORE_E_IO, err, errlen,
				 "its log is not open through the gathering VFS");
	if (!st->opts.tokens_only) {
		/* Beside a running governd (tokens_only) SQLite's own automatic
		 * checkpoint stays: that process checkpoints too. */
		if (pthread_create(&st->ckpt, NULL, ckpt_main, st) != 0)
			return open_fail(st, STORE_E_IO, err, errlen,
					 "cannot start the checkpoint thread");
		st->ckpt_started = 1;
		sqlite3_wal_hook(st->db, wal_hook, st);
	}
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0)
		return open_fail(st, STORE_E_IO, err, errlen, "cannot start the writer thread");
	st->writer_started = 1;
	*out = st;
	return STORE_OK;
}

void store_close(store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->qlock);
	st->closing = 1;
	pthread_cond_broadcast(&st->qcond);
	pthread_mutex_unlock(&st->qlock);
	if (st->writer_started)
		pthread_join(st->writer, NULL);
	if (st->ckpt_started) {
		pthread_mutex_lock(&st->ckpt_lock);
		st->ckpt_stop = 1;
		pthread_cond_signal(&st->ckpt_cond);
		pthread_mutex_unlock(&st->ckpt_lock);
		pthread_join(st->ckpt, NULL);
	}
	if (st->wal_fd >= 0)
		close(st->wal_fd);
	for (size_t i = 0; i < N_WRITER_SQL; i++)
		sqlite3_finalize(*writer_stmt(st, i));
	rows_finalize(&st->ins_res);
	rows_finalize(&st->ins_ev);
	rows_finalize(&st->ins_audit);
	while (st->all) {
		struct reader *r = st->all;
		st->all = r->next_all;
		reader_close(r);
	}
	if (st->db)
		sqlite3_close_v2(st->db);
	for (int r = 0; r < 4; r++) {
		for (size_t i = 0; i < st->ranks[r].n; i++)
			odec_free(st->ranks[r].v[i]);
		free(st->ranks[r].v);
	}
	strmap_release(&st->byid);
	for (size_t i = 0; i < st->sessions.cap; i++) {
		struct session *se = st->sessions.s[i].val;
		if (st->sessions.s[i].key) {
			free(se->operator_id);
			free(se);
		}
	}
	strmap_release(&st->sessions);
	strmap_release(&st->overlay);
	while (st->spare) {
		struct batch *b = st->spare;
		st->spare = b->next;
		batch_free(b);
	}
	free(st->opst);
	free(st->audit);
	buf_release(&st->audit_text);
	for (uint32_t i = 0; st->ring && i < st->ring_cap; i++)
		free(st->ring[i].blob);
	free(st->ring);
	pthread_mutex_destroy(&st->rlock);
	pthread_rwlock_destroy(&st->lock);
	pthread_cond_destroy(&st->qcond);
	pthread_mutex_destroy(&st->qlock);
	pthread_cond_destroy(&st->ckpt_cond);
	pthread_mutex_destroy(&st->ckpt_lock);
	free(st);
}

/* ---- reads ---- */

store_code store_get(store *st, const char *id, uint8_t **blob, size_t *len)
{
	struct odec *d;
	struct reader *r;
	sqlite3_stmt *s;
	store_code res = STORE_E_NOTFOUND;
	int rc;

	*blob = NULL;
	*len = 0;
	if (empty(id))
		return STORE_E_INVALID;
	pthread_rwlock_rdlock(&st->lock);
	d = strmap_get(&st->byid, id);
	if (d) {
		*blob = dup_bytes(d->blob, d->len);
		*len = d->len;
	}
	pthread_rwlock_unlock(&st->lock);
	if (d)
		return *blob ? STORE_OK : STORE_E_NOMEM;
	if (!(r = reader_get(st)))
		return STORE_E_IO;
	s = r->get;
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(s, 0);
		*blob = dup_bytes(sqlite3_column_blob(s, 0), *len);
		res = *blob ? STORE_OK : STORE_E_NOMEM;
	} else if (rc != SQLITE_DONE) {
		res = STORE_E_IO;
	}
	sqlite3_reset(s);
	reader_put(st, r);
	return res;
}

static uint32_t filter_hash(const store_filter *f)
{
	uint64_t h = 1469598103934665603ull;
	const char *parts[4] = { f->status, f->priority, f->operation_type, f->assigned_operator };

	for (int i = 0; i < 4; i++) {
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0x1ff) * 1099511628211ull;  /* a separator no byte equals */
	}
	return (uint32_t)(h ^ (h >> 32));
}

struct pos {                   /* the last item of a page */
	int rank;
	int64_t created;
	char id[ID_MAX];
};

/* Token: "1.<filter hash>.<rank>.<created_ms>.<id>" of the page's last item. */
static void token_make(char *out, size_t outlen, uint32_t fh, int rank, int64_t created,
		       const char *id)
{
	snprintf(out, outlen, "1.%08x.%d.%lld.%s", fh, rank, (long long)created, id);
}

static int token_parse(const char *t, uint32_t want, struct pos *p)
{
	unsigned int h;
	long long c;
	int n = 0;

	if (strlen(t) > 100 ||
	    sscanf(t, "1.%8x.%1d.%18lld.%39[a-z0-9-]%n", &h, &p->rank, &c, p->id, &n) != 4 ||
	    t[n] != '\0' || h != want || p->rank < 0 || p->rank > 3 || c < 0)
		return -1;
	p->created = c;
	return 0;
}

/* Builds a page: capacity for limit entries, data grown as needed. */
static int page_add(store_page *pg, const uint8_t *b, size_t len, uint32_t limit, buf *data)
{
	if (!pg->offsets) {
		pg->offsets = calloc(limit, sizeof(size_t));
		pg->lengths = calloc(limit, sizeof(size_t));
		if (!pg->offsets || !pg->lengths)
			return -1;
	}
	pg->offsets[pg->count] = data->len;
	pg->lengths[pg->count] = len;
	if (buf_append(data, b, len) < 0)
		return -1;
	pg->count++;
	return 0;
}

static int odec_matches(const struct odec *d, int want_status, const store_filter *f)
{
	if (d->removed)
		return 0;
	if (want_status != ST_NONE && d->status != want_status)
		return 0;
	if (!empty(f->operation_type) && strcmp(d->op_type, f->operation_type) != 0)
		return 0;
	if (!empty(f->assigned_operator) && strcmp(d->assigned, f->assigned_operator) != 0)
		return 0;
	return 1;
}

static store_code list_open(store *st, const store_filter *f, int want_status, int want_rank,
			    const struct pos *after, uint32_t limit, uint32_t fh, store_page *pg,
			    buf *data)
{
	int counted = empty(f->operation_type) && empty(f->assigned_operator);
	const struct odec *last = NULL;
	int more = 0;

	pthread_rwlock_rdlock(&st->lock);
	for (int r = 0; r < 4; r++) {
		const struct vec *v = &st->ranks[r];
		size_t start = 0;

		if (want_rank >= 0 && r != want_rank)
			continue;
		/* Totals: the counters when only status and priority filter,
		 * else a walk (the open set is in memory). */
		if (counted) {
			for (int s = ST_PENDING; s <= ST_ESCALATED; s++)
				if (want_status == ST_NONE || want_status == s)
					pg->total += st->counts[s][r];
		} else {
			for (size_t i = 0; i < v->n; i++)
				pg->total += (uint32_t)odec_matches(v->v[i], want_status, f);
		}
		if (more || (after && r < after->rank))
			continue;
		if (after && r == after->rank)
			start = vec_upper(v, after->created, after->id);
		for (size_t i = start; i < v->n; i++) {
			if (!odec_matches(v->v[i], want_status, f))
				continue;
			if (pg->count == limit) {
				more = 1;
				break;
			}
			if (page_add(pg, v->v[i]->blob, v->v[i]->len, limit, data) < 0) {
				pthread_rwlock_unlock(&st->lock);
				return STORE_E_NOMEM;
			}
			last = v->v[i];
		}
	}
	if (more && last)
		token_make(pg->next_token, sizeof(pg->next_token), fh, last->rank, last->created_ms,
			   last->id);
	pthread_rwlock_unlock(&st->lock);
	return STORE_OK;
}

/* The WHERE clause of a resolved listing by filter shape: bit 0 priority,
 * bit 1 operation type, bit 2 assigned operator, bit 3 after a position. */
static void where_sql(char *out, size_t outlen, int shape)
{
	snprintf(out, outlen, "status=?1%s%s%s%s", (shape & 1) ? " AND priority_rank=?2" : "",
		 (shape & 2) ? " AND operation_type=?3" : "",
		 (shape & 4) ? " AND assigned_operator=?4" : "",
		 (shape & 8) ? " AND (priority_rank, created_ms, id) > (?5, ?6, ?7)" : "");
}

static void bind_filter(sqlite3_stmt *s, const store_filter *f, int rank)
{
	bind_text(s, 1, f->status);
	if (rank >= 0)
		sqlite3_bind_int(s, 2, rank);
	if (!empty(f->operation_type))
		bind_text(s, 3, f->operation_type);
	if (!empty(f->assigned_operator))
		bind_text(s, 4, f->assigned_operator);
}

static store_code list_resolved(store *st, const store_filter *f, int want_status, int want_rank,
				const struct pos *after, uint32_t limit, uint32_t fh,
				store_page *pg, buf *data)
{
	int shape = (want_rank >= 0) | (!empty(f->operation_type) << 1) |
		    (!empty(f->assigned_operator) << 2);
	char where[256], sql[512];
	struct reader *r;
	sqlite3_stmt *s;
	int rc, last_rank = 0;
	long long last_created = 0;
	char last_id[ID_MAX] = "";
	store_code res = STORE_OK;

	if (shape < 2) {
		/* Status and priority only: the counters have the total. */
		pthread_rwlock_rdlock(&st->lock);
		for (int k = 0; k < 4; k++)
			if (want_rank < 0 || want_rank == k)
				pg->total += st->counts[want_status][k];
		pthread_rwlock_unlock(&st->lock);
	}
	if (!(r = reader_get(st)))
		return STORE_E_IO;
	/* One read transaction: the count and the page see the same data. */
	if (exec_sql(r->db, "BEGIN", NULL, 0) < 0) {
		reader_put(st, r);
		return STORE_E_IO;
	}
	if (shape >= 2) {
		if (!r->count[shape]) {
			where_sql(where, sizeof(where), shape);
			snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM resolutions WHERE %s", where);
			r->count[shape] = prepare(r->db, sql);
		}
		if (!(s = r->count[shape])) {
			res = STORE_E_IO;
			goto out;
		}
		bind_filter(s, f, want_rank);
		if (sqlite3_step(s) == SQLITE_ROW)
			pg->total = (uint32_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	if (after)
		shape |= 8;
	if (!r->page[shape]) {
		where_sql(where, sizeof(where), shape);
		snprintf(sql, sizeof(sql),
			 "SELECT blob, priority_rank, created_ms, id FROM resolutions WHERE %s "
			 "ORDER BY priority_rank, created_ms, id LIMIT ?8", where);
		r->page[shape] = prepare(r->db, sql);
	}
	if (!(s = r->page[shape])) {
		res = STORE_E_IO;
		goto out;
	}
	sqlite3_clear_bindings(s);
	bind_filter(s, f, want_rank);
	if (after) {
		sqlite3_bind_int(s, 5, after->rank);
		sqlite3_bind_int64(s, 6, after->created);
		bind_text(s, 7, after->id);
	}
	sqlite3_bind_int64(s, 8, (sqlite3_int64)limit + 1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 3);

		if (pg->count == limit) {
			token_make(pg->next_token, sizeof(pg->next_token), fh, last_rank,
				   last_created, last_id);
			break;
		}
		if (page_add(pg, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0),
			     limit, data) < 0) {
			res = STORE_E_NOMEM;
			break;
		}
		last_rank = sqlite3_column_int(s, 1);
		last_created = sqlite3_column_int64(s, 2);
		snprintf(last_id, sizeof(last_id), "%s", id ? id : "");
	}
	if (res == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = STORE_E_IO;
	sqlite3_reset(s);
out:
	exec_sql(r->db, "COMMIT", NULL, 0);
	reader_put(st, r);
	return res;
}

store_code store_list(store *st, const store_filter *f, const char *token, uint32_t limit,
		      store_page *out)
{
	static const store_filter none = { NULL, NULL, NULL, NULL };
	uint32_t fh;
	struct pos p;
	const struct pos *after = NULL;
	int want_status = ST_NONE, want_rank = -1;
	buf data;
	store_code rc;

	memset(out, 0, sizeof(*out));
	if (!f)
		f = &none;
	if (!empty(f->status) && (want_status = status_index(f->status)) == ST_NONE)
		return STORE_E_INVALID;
	if (!empty(f->priority) && (want_rank = rank_of(f->priority)) < 0)
		return STORE_E_INVALID;
	fh = filter_hash(f);
	if (!empty(token)) {
		if (token_parse(token, fh, &p) < 0)
			return STORE_E_INVALID;
		after = &p;
	}
	if (limit == 0)
		limit = 1;
	buf_init(&data, SIZE_MAX);
	if (want_status == ST_NONE || is_open(want_status))
		rc = list_open(st, f, want_status, want_rank, after, limit, fh, out, &data);
	else
		rc = list_resolved(st, f, want_status, want_rank, after, limit, fh, out, &data);
	if (rc != STORE_OK) {
		buf_release(&data);
		store_page_release(out);
		return rc;
	}
	out->data = buf_detach(&data, &out->data_len);
	return STORE_OK;
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

const char *const store_status_names[STORE_NSTATUS] = {
	"PENDING", "ESCALATED", "APPROVED", "REJECTED", "EXPIRED",
};
const char *const store_priority_names[4] = { "CRITICAL", "HIGH", "MEDIUM", "LOW" };

void store_get_gauges(store *st, store_gauges *out)
{
	int failed;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&st->lock);
	memcpy(out->decisions, st->counts, sizeof(out->decisions));
	out->open_sessions = (uint32_t)st->sessions.n;
	out->escalations = st->escalations;
	memcpy(out->review, st->review_hist, sizeof(out->review));
	memcpy(out->review_sum_ms, st->review_sum_ms, sizeof(out->review_sum_ms));
	pthread_rwlock_unlock(&st->lock);
	/* closing and sync_err are the writer's; a stale read only delays
	 * the answer by one scrape. */
	pthread_mutex_lock(&st->qlock);
	out->ready = !st->closing;
	pthread_mutex_unlock(&st->qlock);
	if (!out->ready)
		snprintf(out->not_ready, sizeof(out->not_ready), "store closing");
	else if ((failed = atomic_load(&st->sync_failed)) != 0) {
		out->ready = 0;
		snprintf(out->not_ready, sizeof(out->not_ready),
			 "store broken: a sync of its %s failed; writes fail until restart",
			 SYNC_FAILED_FILE(failed));
	}
}

store_code store_get_operator_stats(store *st, const char *operator_id,
				    store_operator_stats *out)
{
	struct reader *r;
	sqlite3_stmt *s;
	store_code res = STORE_E_NOTFOUND;
	int reviewed;

	memset(out, 0, sizeof(*out));
	if (empty(operator_id))
		return STORE_E_INVALID;
	if (!(r = reader_get(st)))
		return STORE_E_IO;
	if (exec_sql(r->db, "BEGIN", NULL, 0) < 0) {
		reader_put(st, r);
		return STORE_E_IO;
	}
	s = r->sess;
	bind_text(s, 1, operator_id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		res = STORE_E_IO;
	} else if (sqlite3_column_int64(s, 2) > 0) {
		res = STORE_OK;
		/* The oldest open session, else the most recent one. */
		out->session_start_ms = sqlite3_column_type(s, 0) != SQLITE_NULL ?
			sqlite3_column_int64(s, 0) : sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (res == STORE_OK) {
		s = r->ostats;
		bind_text(s, 1, operator_id);
		if (sqlite3_step(s) == SQLITE_ROW) {
			out->approved = sqlite3_column_int(s, 0);
			out->rejected = sqlite3_column_int(s, 1);
			out->escalated = sqlite3_column_int(s, 2);
			reviewed = out->approved + out->rejected;
			out->avg_response_s = reviewed ?
				(double)sqlite3_column_int64(s, 3) / 1000.0 / reviewed : 0.0;
		}
		sqlite3_reset(s);
		out->total = out->approved + out->rejected + out->escalated;
	}
	exec_sql(r->db, "COMMIT", NULL, 0);
	reader_put(st, r);
	return res;
}

uint64_t store_first_seq(store *st)
{
	uint64_t v;

	pthread_rwlock_rdlock(&st->lock);
	v = st->first_seq;
	pthread_rwlock_unlock(&st->lock);
	return v;
}

uint64_t store_last_seq(store *st)
{
	uint64_t v;

	pthread_rwlock_rdlock(&st->lock);
	v = st->last_seq;
	pthread_rwlock_unlock(&st->lock);
	return v;
}

struct ev_copy {
	store_event ev;
	size_t off;
};

/*
 * Events after *cur from the ring, copied (at most n) so that fn runs
 * without the lock.  Returns how many; 0 when the ring does not hold
 * *cur + 1.
 */
static size_t ring_copy(store *st, uint64_t cur, uint64_t last, size_t n, struct ev_copy *out,
			buf *data)
{
	size_t k = 0;

	buf_reset(data);
	pthread_rwlock_rdlock(&st->lock);
	for (uint64_t q = cur + 1; q <= last && k < n; q++) {
		const struct ring_ev *r = &st->ring[q % st->ring_cap];

		if (!st->ring_first || q < st->ring_first || r->seq != q)
			break;
		out[k].ev.seq = q;
		out[k].ev.type = (store_event_type)r->type;
		out[k].ev.at_ms = r->at_ms;
		out[k].ev.decision_len = r->len;
		out[k].off = data->len;
		if (buf_append(data, r->blob, r->len) < 0)
			break;
		k++;
	}
	pthread_rwlock_unlock(&st->lock);
	return k;
}

store_code store_events_since(store *st, uint64_t after, uint32_t max,
			      int (*fn)(const store_event *ev, void *ud), void *ud)
{
	struct ev_copy chunk[EVENT_CHUNK];
	uint64_t last, first, cur = after;
	uint32_t sent = 0;
	store_code res = STORE_OK;
	int stop = 0;
	buf data;

	pthread_rwlock_rdlock(&st->lock);
	last = st->last_seq;
	first = st->first_seq;
	pthread_rwlock_unlock(&st->lock);
	if (after > last)
		return STORE_E_INVALID;
	if (first && after + 1 < first)
		return STORE_E_RANGE;
	buf_init(&data, SIZE_MAX);
	while (!stop && sent < max && cur < last) {
		size_t want = max - sent < EVENT_CHUNK ? max - sent : EVENT_CHUNK;
		size_t k = ring_copy(st, cur, last, want, chunk, &data);

		if (k) {
			for (size_t i = 0; i < k && !stop; i++) {
				chunk[i].ev.decision = data.data + chunk[i].off;
				sent++;
				cur = chunk[i].ev.seq;
				stop = fn(&chunk[i].ev, ud) != 0;
			}
			continue;
		}
		/* Older than the ring: from the database, up to where the ring
		 * takes over (or max). */
		{
			struct reader *r = reader_get(st);
			sqlite3_stmt *s;
			int rc;
			uint32_t got = 0;

			if (!r) {
				res = STORE_E_IO;
				break;
			}
			s = r->events;
			sqlite3_bind_int64(s, 1, (sqlite3_int64)cur);
			sqlite3_bind_int64(s, 2, (sqlite3_int64)last);
			sqlite3_bind_int64(s, 3, (sqlite3_int64)(max - sent < 1024 ? max - sent :
								    1024));
			while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
				store_event ev;

				ev.seq = (uint64_t)sqlite3_column_int64(s, 0);
				if (ev.seq != cur + 1) {
					/* Trimmed under us. */
					rc = SQLITE_DONE;
					break;
				}
				ev.type = (store_event_type)sqlite3_column_int(s, 1);
				ev.at_ms = sqlite3_column_int64(s, 2);
				ev.decision = sqlite3_column_blob(s, 3);
				ev.decision_len = (size_t)sqlite3_column_bytes(s, 3);
				got++;
				sent++;
				cur = ev.seq;
				stop = fn(&ev, ud) != 0;
			}
			if (!stop && rc != SQLITE_ROW && rc != SQLITE_DONE)
				res = STORE_E_IO;
			sqlite3_reset(s);
			reader_put(st, r);
			if (res != STORE_OK)
				break;
			if (!got) {
				/* Neither the ring nor the table has cur + 1. */
				if (!sent)
					res = STORE_E_RANGE;
				break;
			}
		}
	}
	buf_release(&data);
	return res;
}

/* ---- tokens and the audit trail (reads) ---- */

/* A statement of reader r prepared on first use; NULL on failure. */
static sqlite3_stmt *reader_stmt(struct reader *r, sqlite3_stmt **slot, const char *sql)
{
	if (!*slot)
		*slot = prepare(r->db, sql);
	return *slot;
}

#define TOKEN_COLUMNS \
	"id, name, role, identity, created_ms, created_by, revoked_ms, revoked_by, expires_ms"

static void col_copy(sqlite3_stmt *s, int i, char *out, size_t outlen)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	snprintf(out, outlen, "%s", t ? t : "");
}

static void token_from_row(sqlite3_stmt *s, store_token *t)
{
	memset(t, 0, sizeof(*t));
	col_copy(s, 0, t->id, sizeof(t->id));
	col_copy(s, 1, t->name, sizeof(t->name));
	col_copy(s, 2, t->role, sizeof(t->role));
	col_copy(s, 3, t->identity, sizeof(t->identity));
	t->created_ms = sqlite3_column_int64(s, 4);
	col_copy(s, 5, t->created_by, sizeof(t->created_by));
	t->revoked_ms = sqlite3_column_type(s, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 6);
	/* A revocation at the epoch still counts as one. */
	if (sqlite3_column_type(s, 6) != SQLITE_NULL && !t->revoked_ms)
		t->revoked_ms = 1;
	col_copy(s, 7, t->revoked_by, sizeof(t->revoked_by));
	t->expires_ms = sqlite3_column_type(s, 8) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 8);
}

/* One token by a key: the hash (blob) or the id (text). */
static store_code token_one(store *st, int by_hash, const void *key, store_token *out)
{
	struct reader *r;
	sqlite3_stmt *s;
	store_code res = STORE_E_NOTFOUND;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(r = reader_get(st)))
		return STORE_E_IO;
	s = by_hash ? reader_stmt(r, &r->tok_hash, "SELECT " TOKEN_COLUMNS " FROM tokens "
							"WHERE hash=?1") :
		      reader_stmt(r, &r->tok_id, "SELECT " TOKEN_COLUMNS " FROM tokens WHERE id=?1");
	if (!s) {
		reader_put(st, r);
		return STORE_E_IO;
	}
	if (by_hash)
		sqlite3_bind_blob(s, 1, key, 32, SQLITE_STATIC);
	else
		bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		token_from_row(s, out);
		res = STORE_OK;
	} else if (rc != SQLITE_DONE) {
		res = STORE_E_IO;
	}
	sqlite3_reset(s);
	reader_put(st, r);
	return res;
}

store_code store_token_lookup(store *st, const uint8_t *hash, store_token *out)
{
	return token_one(st, 1, hash, out);
}

store_code store_token_get(store *st, const char *id, store_token *out)
{
	if (empty(id)) {
		memset(out, 0, sizeof(*out));
		return STORE_E_INVALID;
	}
	return token_one(st, 0, id, out);
}

store_code store_token_list(store *st, int include_revoked,
			    int (*fn)(const store_token *t, void *ud), void *ud)
{
	struct reader *r;
	sqlite3_stmt *s;
	store_code res = STORE_OK;
	store_token t;
	int rc;

	if (!(r = reader_get(st)))
		return STORE_E_IO;
	s = reader_stmt(r, &r->tok_list, "SELECT " TOKEN_COLUMNS " FROM tokens WHERE ?1 OR "
					 "revoked_ms IS NULL ORDER BY created_ms, id");
	if (!s) {
		reader_put(st, r);
		return STORE_E_IO;
	}
	sqlite3_bind_int(s, 1, include_revoked ? 1 : 0);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		token_from_row(s, &t);
		if (fn(&t, ud))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = STORE_E_IO;
	sqlite3_reset(s);
	reader_put(st, r);
	return res;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	return t ? t : "";
}

store_code store_audit_list(store *st, const store_audit_filter *f, uint64_t after,
			    uint32_t limit, int (*fn)(const store_audit_entry *e, void *ud),
			    void *ud)
{
	static const store_audit_filter none = { 0, 0, NULL, NULL, NULL, NULL };
	store_audit_entry e;
	struct reader *r;
	sqlite3_stmt *s;
	store_code res = STORE_OK;
	int rc;

	if (!f)
		f = &none;
	if (after > INT64_MAX)
		return STORE_OK;
	if (!(r = reader_get(st)))
		return STORE_E_IO;
	/* A scan in key order: the trail is read by people, rarely, and an
	 * index would cost every write. */
	s = reader_stmt(r, &r->audit,
			"SELECT seq, at_ms, actor, role, action, outcome, subject, detail, "
			"prev_hash, hash FROM audit WHERE seq > ?1 AND (?2 = 0 OR at_ms >= ?2) "
			"AND (?3 = 0 OR at_ms < ?3) AND (?4 = '' OR actor = ?4) "
			"AND (?5 = '' OR subject = ?5) AND (?6 = '' OR action = ?6) "
			"AND (?7 = '' OR outcome = ?7) ORDER BY seq LIMIT ?8");
	if (!s) {
		reader_put(st, r);
		return STORE_E_IO;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
	sqlite3_bind_int64(s, 2, f->since_ms);
	sqlite3_bind_int64(s, 3, f->until_ms);
	bind_text(s, 4, f->actor);
	bind_text(s, 5, f->subject);
	bind_text(s, 6, f->action);
	bind_text(s, 7, f->outcome);
	sqlite3_bind_int64(s, 8, limit ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		e.seq = (uint64_t)sqlite3_column_int64(s, 0);
		e.at_ms = sqlite3_column_int64(s, 1);
		e.actor = col_text(s, 2);
		e.role = col_text(s, 3);
		e.action = col_text(s, 4);
		e.outcome = col_text(s, 5);
		e.subject = col_text(s, 6);
		e.detail = col_text(s, 7);
		e.prev_hash = col_text(s, 8);
		e.hash = col_text(s, 9);
		if (fn(&e, ud))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = STORE_E_IO;
	sqlite3_reset(s);
	reader_put(st, r);
	return res;
}

store_code store_audit_head(store *st, uint64_t *seq)
{
	struct reader *r;
	sqlite3_stmt *s = NULL;
	store_code res = STORE_E_IO;

	*seq = 0;
	if (!(r = reader_get(st)))
		return STORE_E_IO;
	/* Rare (once per export): not worth a prepared slot. */
	if (sqlite3_prepare_v2(r->db, "SELECT COALESCE(MAX(seq), 0) FROM audit", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(s, 0);
		res = STORE_OK;
	}
	sqlite3_finalize(s);
	reader_put(st, r);
	return res;
}
