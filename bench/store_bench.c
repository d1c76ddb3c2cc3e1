/*
 * store_bench: durable approvals through the store alone, without the
 * network, in rounds of a fixed number of writes (one batch, one commit
 * and one sync per round).  It separates what the store's writer costs
 * from what the RPC path and the load generator cost (docs/benchmarks.md),
 * and shows how the figure grows with the writes a commit shares.
 *
 * usage: store_bench [--approvals N] [--rounds B1,B2,...] [--dir DIR]
 * Prints one line per round size; exits 0 unless it could not run.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "governance.pb-c.h"
#include "common/timeutil.h"
#include "store/store.h"

#define MAX_ROUNDS 16
#define SUBMIT_CHUNK 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pending;
static char **ids;           /* decision id of submission n */

/* On the writer thread: keep the new decision's id, count the op done. */
static void on_done(store_op *op)
{
	if (op->kind == STORE_OP_SUBMIT && op->result == STORE_OK && op->decision) {
		Vertice__Governance__V1__Decision *d = vertice__governance__v1__decision__unpack(
			NULL, op->decision_len, op->decision);

		if (d) {
			ids[(size_t)op->ud] = strdup(d->decision_id);
			vertice__governance__v1__decision__free_unpacked(d, NULL);
		}
	}
	pthread_mutex_lock(&mu);
	pending--;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void wait_all(void)
{
	pthread_mutex_lock(&mu);
	while (pending)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

/* CPU seconds of this process's thread named `name` (0 when none). */
static double thread_cpu(const char *name)
{
	long hz = sysconf(_SC_CLK_TCK);
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	double v = 0;

	while (d && (e = readdir(d))) {
		char p[300], comm[64] = "", stat[1024];
		unsigned long ut = 0, st = 0;
		FILE *f;
		char *q;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%s/comm", e->d_name);
		if (!(f = fopen(p, "r")))
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) != 0)
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%s/stat", e->d_name);
		if (!(f = fopen(p, "r")))
			continue;
		if (fgets(stat, sizeof(stat), f) && (q = strrchr(stat, ')')) &&
		    sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			   &st) == 2)
			v = (double)(ut + st) / (double)hz;
		fclose(f);
	}
	if (d)
		closedir(d);
	return v;
}

/* What a round's operations are: fill sets op n up. */
struct fill {
	void (*fn)(store_op *op, unsigned n, const struct fill *f);
	const uint8_t *proposal;
	size_t len;
	const char *session;
};

static void fill_submit(store_op *op, unsigned n, const struct fill *f)
{
	op->kind = STORE_OP_SUBMIT;
	op->proposal = f->proposal;
	op->proposal_len = f->len;
	op->ud = (void *)(size_t)n;
}

static void fill_approve(store_op *op, unsigned n, const struct fill *f)
{
	op->kind = STORE_OP_APPROVE;
	op->session_id = f->session;
	op->decision_id = ids[n];
	op->comment = "store bench";
}

/* Queues ops[0..n) in rounds of b, each round at once, and waits for
 * each round's answers before the next. */
static void in_rounds(store *st, store_op *ops, unsigned n, unsigned b, const struct fill *f)
{
	for (unsigned i = 0; i < n; i += b) {
		unsigned k = n - i < b ? n - i : b;

		pending = (int)k;
		for (unsigned j = 0; j < k; j++) {
			f->fn(&ops[i + j], i + j, f);
			ops[i + j].done = on_done;
			store_submit(st, &ops[i + j]);
		}
		wait_all();
	}
}

static void remove_store(const char *dir)
{
	static const char *const files[] = { "gov.db", "gov.db-wal", "gov.db-shm" };
	char p[600];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* One round size on a fresh store; 0, or -1 with the reason printed. */
static int run(const char *base, unsigned n, unsigned b)
{
	Vertice__Governance__V1__Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	char dir[512], path[600], err[256], sid[64];
	store_options o;
	store_stats ss;
	store_op *ops, so;
	store *st = NULL;
	uint8_t *proposal;
	size_t len;
	double c0, c1;
	uint64_t t0, t1;
	unsigned bad = 0;
	int rc = -1;

	snprintf(dir, sizeof(dir), "%s/store-bench.XXXXXX", base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "store_bench: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/gov.db", dir);
	store_options_init(&o);
	o.path = path;
	if (store_open(&o, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "store_bench: %s: %s\n", path, err);
		remove_store(dir);
		return -1;
	}
	/* The decisions vcli bench --suite approvals submits. */
	d.operation_type = "vcli_bench_approval";
	d.priority = "LOW";
	d.sla_seconds = 3600;
	len = vertice__governance__v1__decision__get_packed_size(&d);
	proposal = malloc(len + 1);
	ops = calloc(n, sizeof(*ops));
	ids = calloc(n, sizeof(*ids));
	if (!proposal || !ops || !ids) {
		fprintf(stderr, "store_bench: out of memory\n");
		goto out;
	}
	vertice__governance__v1__decision__pack(&d, proposal);
	in_rounds(st, ops, n, SUBMIT_CHUNK,
		  &(struct fill){ .fn = fill_submit, .proposal = proposal, .len = len });
	memset(&so, 0, sizeof(so));
	so.kind = STORE_OP_SESSION_OPEN;
	so.operator_id = "store-bench";
	so.done = on_done;
	pending = 1;
	store_submit(st, &so);
	wait_all();
	snprintf(sid, sizeof(sid), "%s", so.session_id_out);
	for (unsigned i = 0; i < n; i++) {
		if (!ids[i]) {
			fprintf(stderr, "store_bench: submission %u failed\n", i);
			goto out;
		}
	}

	store_get_stats(st, &ss);
	{
		uint64_t syncs0 = ss.syncs, sync_ns0 = ss.sync_ns;

		memset(ops, 0, n * sizeof(*ops));
		c0 = thread_cpu("store-writer");
		t0 = time_mono_ns();
		in_rounds(st, ops, n, b, &(struct fill){ .fn = fill_approve, .session = sid });
		t1 = time_mono_ns();
		c1 = thread_cpu("store-writer");
		for (unsigned i = 0; i < n; i++)
			bad += ops[i].result != STORE_OK;
		store_get_stats(st, &ss);
		printf("  %4u per commit   %8.0f approvals/s   %6.1f us each   writer CPU %5.1f us "
		       "each   fdatasync %4.0f us   %s\n",
		       b, n / ((double)(t1 - t0) / 1e9), (double)(t1 - t0) / 1e3 / n,
		       (c1 - c0) * 1e6 / n,
		       ss.syncs > syncs0 ? (double)(ss.sync_ns - sync_ns0) / (ss.syncs - syncs0) / 1e3 : 0.0,
		       bad ? "SOME FAILED" : "all OK");
	}
	rc = bad ? -1 : 0;
out:
	store_close(st);
	for (unsigned i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
	ids = NULL;
	free(ops);
	free(proposal);
	remove_store(dir);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: store_bench [--approvals N] [--rounds B1,B2,...] [--dir DIR]\n");
}

int main(int argc, char **argv)
{
	unsigned n = 20000, rounds[MAX_ROUNDS] = { 15, 25, 50, 100 }, nrounds = 4;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--approvals") && i + 1 < argc) {
			unsigned long v = strtoul(argv[++i], &end, 10);

			if (*end || v < 1 || v > 10000000) {
				fprintf(stderr, "store_bench: --approvals '%s': want 1..10000000\n",
					argv[i]);
				return 2;
			}
			n = (unsigned)v;
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			char *p = argv[++i];

			nrounds = 0;
			while (*p) {
				unsigned long v = strtoul(p, &end, 10);

				if (end == p || v < 1 || v > 1024 || nrounds == MAX_ROUNDS ||
				    (*end && *end != ',')) {
					fprintf(stderr, "store_bench: --rounds '%s': want up to %d "
						"sizes of 1..1024, comma-separated\n", argv[i],
						MAX_ROUNDS);
					return 2;
				}
				rounds[nrounds++] = (unsigned)v;
				p = *end ? end + 1 : end;
			}
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			base = argv[++i];
		} else {
			usage();
			return 2;
		}
	}
	printf("store alone (no network): %u durable approvals per run, in rounds of a fixed "
	       "size, each round one batch (one commit, one fdatasync)\n", n);
	for (unsigned i = 0; i < nrounds; i++)
		if (run(base, n, rounds[i]) < 0)
			rc = 1;
	return rc;
}
