/*
 * The SQLite store through its interface (src/store/store.h): durability
 * across reopen, first-resolution-wins inside one batch, group commit,
 * paging, expiry and event resume from the database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <unistd.h>

#include "governance.pb-c.h"
#include "store/store.h"
#include "store/store_int.h"

struct waitop {
	store_op op;
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
	int *pending;
	uint8_t *decision;
	size_t len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int pending;

static void on_done(store_op *op)
{
	struct waitop *w = (struct waitop *)op;

	if (op->decision) {
		w->decision = malloc(op->decision_len);
		memcpy(w->decision, op->decision, op->decision_len);
		w->len = op->decision_len;
	}
	pthread_mutex_lock(&lock);
	pending--;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

/* Queues every op, then waits for all: they share batches. */
static void run_all(store *st, struct waitop *ops, int n)
{
	pthread_mutex_lock(&lock);
	pending += n;
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < n; i++) {
		ops[i].op.done = on_done;
		store_submit(st, &ops[i].op);
	}
	pthread_mutex_lock(&lock);
	while (pending)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static char dir[64];
static char path[128];

static store *open_store(void)
{
	store_options o;
	store *st = NULL;
	char err[512];

	store_options_init(&o);
	o.path = path;
	assert_int_equal(store_open(&o, &st, err, sizeof(err)), STORE_OK);
	return st;
}

static uint8_t *proposal(const char *prio, int sla, size_t *len)
{
	Vertice__Governance__V1__Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	uint8_t *b;

	d.operation_type = "block_ip";
	d.priority = (char *)prio;
	d.sla_seconds = sla;
	*len = vertice__governance__v1__decision__get_packed_size(&d);
	b = malloc(*len + 1);
	vertice__governance__v1__decision__pack(&d, b);
	return b;
}

static char *decision_id(const struct waitop *w)
{
	Vertice__Governance__V1__Decision *d =
		vertice__governance__v1__decision__unpack(NULL, w->len, w->decision);
	char *id;

	assert_non_null(d);
	id = strdup(d->decision_id);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	return id;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/vcli-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/gov.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_ev(const store_event *ev, void *ud)
{
	uint64_t *last = ud;

	assert_int_equal(ev->seq, *last + 1);
	*last = ev->seq;
	return 0;
}

static void lifecycle(void **state)
{
	store *st = open_store();
	struct waitop sess[1], sub[30], appr[20];
	uint8_t *props[30];
	char *ids[30];
	store_metrics m;
	int ok = 0, conflict = 0;
	uint64_t commits0;

	assert_int_equal(store_schema_version(st), 1);
	memset(sess, 0, sizeof(sess));
	sess[0].op.kind = STORE_OP_SESSION_OPEN;
	sess[0].op.operator_id = "alice";
	run_all(st, sess, 1);
	assert_int_equal(sess[0].op.result, STORE_OK);

	/* 30 submissions queued at once: group commit packs them. */
	memset(sub, 0, sizeof(sub));
	commits0 = store__commits(st);
	for (int i = 0; i < 30; i++) {
		size_t len;
		props[i] = proposal(i % 3 == 0 ? "CRITICAL" : "LOW", 3600, &len);
		sub[i].op.kind = STORE_OP_SUBMIT;
		sub[i].op.proposal = props[i];
		sub[i].op.proposal_len = len;
	}
	sub[29].op.idempotency_key = "same";
	run_all(st, sub, 30);
	assert_true(store__commits(st) - commits0 < 30);
	for (int i = 0; i < 30; i++) {
		assert_int_equal(sub[i].op.result, STORE_OK);
		ids[i] = decision_id(&sub[i]);
	}

	/* 20 approvals of one decision in one batch: exactly one wins. */
	memset(appr, 0, sizeof(appr));
	for (int i = 0; i < 20; i++) {
		appr[i].op.kind = STORE_OP_APPROVE;
		appr[i].op.session_id = sess[0].op.session_id_out;
		appr[i].op.decision_id = ids[0];
	}
	run_all(st, appr, 20);
	for (int i = 0; i < 20; i++) {
		if (appr[i].op.result == STORE_OK)
			ok++;
		else if (appr[i].op.result == STORE_E_CONFLICT)
			conflict++;
		free(appr[i].decision);
	}
	assert_int_equal(ok, 1);
	assert_int_equal(conflict, 19);

	store_get_metrics(st, &m);
	assert_int_equal(m.total, 30);
	assert_int_equal(m.approved, 1);
	assert_int_equal(m.pending, 29);
	assert_int_equal(m.critical, 9);
	store_close(st);

	/* Reopened: the same figures from disk, and the events resume from
	 * the database (the memory ring starts empty). */
	st = open_store();
	store_get_metrics(st, &m);
	assert_int_equal(m.total, 30);
	assert_int_equal(m.approved, 1);
	assert_int_equal(m.pending, 29);
	assert_int_equal(store_last_seq(st), 31);
	{
		store_page pg;
		store_filter f = { NULL, NULL, NULL, NULL };
		char token[128];
		uint32_t seen = 0;

		assert_int_equal(store_list(st, &f, "", 10, &pg), STORE_OK);
		assert_int_equal(pg.total, 29);
		assert_int_equal(pg.count, 10);
		snprintf(token, sizeof(token), "%s", pg.next_token);
		seen += (uint32_t)pg.count;
		store_page_release(&pg);
		while (*token) {
			assert_int_equal(store_list(st, &f, token, 10, &pg), STORE_OK);
			seen += (uint32_t)pg.count;
			snprintf(token, sizeof(token), "%s", pg.next_token);
			store_page_release(&pg);
		}
		assert_int_equal(seen, 29);
		f.status = "APPROVED";
		assert_int_equal(store_list(st, &f, "v1.00000000.0.1.d-x", 10, &pg), STORE_E_INVALID);
		assert_int_equal(store_list(st, &f, "", 10, &pg), STORE_OK);
		assert_int_equal(pg.count, 1);
		store_page_release(&pg);
	}
	assert_int_equal(store_events_since(st, 99, 10, NULL, NULL), STORE_E_INVALID);
	{
		/* After a restart the memory ring holds only new events: a
		 * resume from before the restart must still get every event,
		 * from disk, and then the new one. */
		struct waitop more[1];
		size_t plen;
		uint8_t *pp = proposal("LOW", 3600, &plen);
		uint64_t last = 1;

		memset(more, 0, sizeof(more));
		more[0].op.kind = STORE_OP_SUBMIT;
		more[0].op.proposal = pp;
		more[0].op.proposal_len = plen;
		run_all(st, more, 1);
		assert_int_equal(store_last_seq(st), 32);
		while (last < 32)
			assert_int_equal(store_events_since(st, last, 8, count_ev, &last), STORE_OK);
		assert_int_equal(last, 32);
		free(pp);
		free(more[0].decision);
	}
	store_close(st);
	for (int i = 0; i < 30; i++) {
		free(props[i]);
		free(ids[i]);
		free(sub[i].decision);
	}
}

static void expiry_and_events(void **state)
{
	store *st = open_store();
	struct waitop sub[1], sweep[1];
	size_t len;
	uint8_t *p = proposal("HIGH", 1, &len);
	uint64_t from = store_last_seq(st), last;
	uint8_t *blob;
	size_t blen;
	Vertice__Governance__V1__Decision *d;
	char *id;

	memset(sub, 0, sizeof(sub));
	sub[0].op.kind = STORE_OP_SUBMIT;
	sub[0].op.proposal = p;
	sub[0].op.proposal_len = len;
	run_all(st, sub, 1);
	id = decision_id(&sub[0]);
	usleep(1100 * 1000);
	memset(sweep, 0, sizeof(sweep));
	sweep[0].op.kind = STORE_OP_EXPIRE_DUE;
	run_all(st, sweep, 1);
	assert_true(sweep[0].op.expired >= 1);
	assert_int_equal(store_get(st, id, &blob, &blen), STORE_OK);
	d = vertice__governance__v1__decision__unpack(NULL, blen, blob);
	assert_string_equal(d->status, "EXPIRED");
	assert_true(d->sla_violated);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	free(blob);
	last = from;
	assert_int_equal(store_events_since(st, from, 100, count_ev, &last), STORE_OK);
	assert_true(last >= from + 2);
	assert_int_equal(store_get(st, "d-nope", &blob, &blen), STORE_E_NOTFOUND);
	store_close(st);
	free(p);
	free(id);
	free(sub[0].decision);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lifecycle),
		cmocka_unit_test(expiry_and_events),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
