/*
 * approve_load: durable approvals per second against a running governd.
 *
 *   approve_load --server HOST:PORT [--clients 50] [--inflight 1] [--decisions 100000]
 *                [--governd-pid PID] [--pause-before-approvals FILE]
 *
 * Set-up (not timed): opens a session and submits the decisions, using the
 * same clients.  Then each of --clients threads (one connection each) keeps
 * --inflight approvals in flight, every approval on a different decision,
 * until all are approved.  Prints approvals/s and latency percentiles.  An
 * approval counts only when governd answered OK, which it does only after
 * the change is committed (fsync'd) to its store.
 *
 * With --governd-pid, also prints the CPU time each governd thread and this
 * load generator spent per approval during the timed phase (from /proc and
 * getrusage): a figure that moves much less with the machine's other load
 * than approvals/s does.
 *
 * With --pause-before-approvals FILE, once the decisions are submitted it
 * creates FILE.ready and waits for FILE to exist before approving: how
 * bench/profile.sh records the approvals and not the submissions.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "vcli/client.h"
#include "governance.pb-c.h"

#define SVC "/vertice.governance.v1.GovernanceService/"

static const char *server = "127.0.0.1:50051";
static int nclients = 50, inflight = 1, ndecisions = 100000;
static char session_id[64];
static char **ids;
static int next_id;
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *lat_ns;
static int nlat;
static pthread_mutex_t lat_lock = PTHREAD_MUTEX_INITIALIZER;
static int failures;
static long governd_pid;
static const char *pause_file;

static void pause_until_told(void)
{
	char ready[1024];
	FILE *f;

	snprintf(ready, sizeof(ready), "%s.ready", pause_file);
	if ((f = fopen(ready, "w")))
		fclose(f);
	while (access(pause_file, F_OK) != 0)
		usleep(10000);
}

/* CPU time of one process's threads, by thread name (summed per name). */
#define MAX_THREADS 64
struct cpu_sample {
	int n;
	char name[MAX_THREADS][32];
	double secs[MAX_THREADS];
};

static void sample_threads(long pid, struct cpu_sample *out)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	long tick = sysconf(_SC_CLK_TCK);

	out->n = 0;
	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		char fn[320], line[1024], *rp;
		unsigned long ut, stt;
		FILE *f;
		int i;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fn, sizeof(fn), "/proc/%ld/task/%s/stat", pid, e->d_name);
		if (!(f = fopen(fn, "r")))
			continue;
		if (!fgets(line, sizeof(line), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		/* pid (comm) state ppid ... field 14 utime, 15 stime */
		rp = strrchr(line, ')');
		if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				  &ut, &stt) != 2)
			continue;
		*rp = '\0';
		rp = strchr(line, '(');
		if (!rp)
			continue;
		for (i = 0; i < out->n && strcmp(out->name[i], rp + 1); i++)
			;
		if (i == out->n) {
			if (out->n == MAX_THREADS)
				continue;
			snprintf(out->name[i], sizeof(out->name[i]), "%s", rp + 1);
			out->secs[i] = 0;
			out->n++;
		}
		out->secs[i] += (double)(ut + stt) / (double)tick;
	}
	closedir(d);
}

static double self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int take_id(void)
{
	int i;
	pthread_mutex_lock(&id_lock);
	i = next_id < ndecisions ? next_id++ : -1;
	pthread_mutex_unlock(&id_lock);
	return i;
}

struct slot {
	struct worker *w;
	uint64_t started;
	uint8_t req[256];
	size_t reqlen;
};

struct worker {
	vcli_client *cl;
	struct slot *slots;
	int active;
};

static void start_one(struct slot *s);

static void on_done(void *ud, const vcli_call_result *r, const uint8_t *resp, size_t len)
{
	struct slot *s = ud;
	uint64_t d = now_ns() - s->started;

	pthread_mutex_lock(&lat_lock);
	if (r->status == VCLI_STATUS_OK)
		lat_ns[nlat++] = d;
	else if (failures++ < 5)
		fprintf(stderr, "approve_load: %s: %s\n", vcli_status_name(r->status), r->message);
	pthread_mutex_unlock(&lat_lock);
	s->w->active--;
	start_one(s);
}

static void start_one(struct slot *s)
{
	Vertice__Governance__V1__ApproveDecisionRequest req =
		VERTICE__GOVERNANCE__V1__APPROVE_DECISION_REQUEST__INIT;
	int i = take_id();

	if (i < 0)
		return;
	req.session_id = session_id;
	req.decision_id = ids[i];
	req.comment = "load test";
	s->reqlen = vertice__governance__v1__approve_decision_request__pack(&req, s->req);
	s->started = now_ns();
	if (vcli_client_unary_async(s->w->cl, SVC "ApproveDecision", s->req, s->reqlen, NULL,
				    on_done, s) == VCLI_OK)
		s->w->active++;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < inflight; i++) {
		w->slots[i].w = w;
		start_one(&w->slots[i]);
	}
	while (vcli_client_inflight(w->cl) > 0)
		vcli_client_run(w->cl, VCLI_RUN_ONCE);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int call(vcli_client *cl, const char *m, const ProtobufCMessage *req, vcli_bytes *out)
{
	uint8_t buf[4096];
	size_t n = protobuf_c_message_pack(req, buf);
	vcli_call_result r;
	vcli_call_options o = { 10000, NULL, 0 };

	vcli_client_unary(cl, m, buf, n, out, &o, &r);
	if (r.status != VCLI_STATUS_OK) {
		fprintf(stderr, "approve_load: %s: %s: %s\n", m, vcli_status_name(r.status), r.message);
		return -1;
	}
	return 0;
}

struct submitter {
	vcli_client *cl;
	int from, to;
	int failed;
};

static void *run_submit(void *arg)
{
	struct submitter *s = arg;
	Vertice__Governance__V1__Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Vertice__Governance__V1__SubmitDecisionRequest req =
		VERTICE__GOVERNANCE__V1__SUBMIT_DECISION_REQUEST__INIT;

	d.operation_type = "block_ip";
	d.priority = "HIGH";
	d.sla_seconds = 3600;
	req.decision = &d;
	for (int i = s->from; i < s->to; i++) {
		vcli_bytes out;
		Vertice__Governance__V1__SubmitDecisionResponse *resp;
		if (call(s->cl, SVC "SubmitDecision", &req.base, &out) < 0) {
			s->failed = 1;
			return NULL;
		}
		resp = vertice__governance__v1__submit_decision_response__unpack(NULL, out.len, out.data);
		vcli_bytes_release(&out);
		if (!resp || !resp->decision) {
			s->failed = 1;
			return NULL;
		}
		ids[i] = strdup(resp->decision->decision_id);
		vertice__governance__v1__submit_decision_response__free_unpacked(resp, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker *ws;
	pthread_t *th;
	vcli_client_options o;
	uint64_t t0, t1;
	double secs, self0 = 0;
	struct cpu_sample g0, g1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--server")) server = argv[i + 1];
		else if (!strcmp(argv[i], "--clients")) nclients = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--inflight")) inflight = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--decisions")) ndecisions = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--governd-pid")) governd_pid = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--pause-before-approvals")) pause_file = argv[i + 1];
		else {
			fprintf(stderr, "approve_load: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (nclients < 1 || inflight < 1 || ndecisions < 1) {
		fprintf(stderr, "approve_load: --clients, --inflight, --decisions must be > 0\n");
		return 2;
	}
	ids = calloc((size_t)ndecisions, sizeof(*ids));
	lat_ns = calloc((size_t)ndecisions, sizeof(*lat_ns));
	ws = calloc((size_t)nclients, sizeof(*ws));
	th = calloc((size_t)nclients, sizeof(*th));
	vcli_client_options_init(&o);
	o.endpoint = server;
	for (int i = 0; i < nclients; i++) {
		char err[256];
		if (vcli_client_new(&o, &ws[i].cl, err, sizeof(err)) != VCLI_OK) {
			fprintf(stderr, "approve_load: %s\n", err);
			return 1;
		}
		ws[i].slots = calloc((size_t)inflight, sizeof(struct slot));
	}
	{
		Vertice__Governance__V1__CreateSessionRequest cs =
			VERTICE__GOVERNANCE__V1__CREATE_SESSION_REQUEST__INIT;
		Vertice__Governance__V1__CreateSessionResponse *r;
		vcli_bytes out;
		struct submitter *subs = calloc((size_t)nclients, sizeof(*subs));
		cs.operator_id = "load-operator";
		if (call(ws[0].cl, SVC "CreateSession", &cs.base, &out) < 0)
			return 1;
		r = vertice__governance__v1__create_session_response__unpack(NULL, out.len, out.data);
		snprintf(session_id, sizeof(session_id), "%s", r->session_id);
		vertice__governance__v1__create_session_response__free_unpacked(r, NULL);
		vcli_bytes_release(&out);
		fprintf(stderr, "approve_load: submitting %d decisions...\n", ndecisions);
		for (int i = 0; i < nclients; i++) {
			subs[i].cl = ws[i].cl;
			subs[i].from = (int)((long)ndecisions * i / nclients);
			subs[i].to = (int)((long)ndecisions * (i + 1) / nclients);
			pthread_create(&th[i], NULL, run_submit, &subs[i]);
		}
		for (int i = 0; i < nclients; i++) {
			pthread_join(th[i], NULL);
			if (subs[i].failed)
				return 1;
		}
		free(subs);
	}
	if (pause_file)
		pause_until_told();
	if (governd_pid) {
		sample_threads(governd_pid, &g0);
		self0 = self_cpu();
	}
	t0 = now_ns();
	for (int i = 0; i < nclients; i++)
		pthread_create(&th[i], NULL, run_worker, &ws[i]);
	for (int i = 0; i < nclients; i++)
		pthread_join(th[i], NULL);
	t1 = now_ns();
	if (governd_pid)
		sample_threads(governd_pid, &g1);
	secs = (double)(t1 - t0) / 1e9;
	qsort(lat_ns, (size_t)nlat, sizeof(*lat_ns), cmp_u64);
	printf("approvals      %d ok, %d failed, %d clients x %d in flight\n", nlat, failures,
	       nclients, inflight);
	printf("duration       %.3f s\n", secs);
	printf("approvals/s    %.0f\n", nlat / secs);
	if (nlat)
		printf("latency ms     p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
		       lat_ns[nlat / 2] / 1e6, lat_ns[nlat * 9 / 10] / 1e6,
		       lat_ns[nlat * 99 / 100] / 1e6, lat_ns[nlat - 1] / 1e6);
	if (governd_pid && nlat) {
		double total = 0;

		printf("cpu us/approval");
		for (int i = 0; i < g1.n; i++) {
			double before = 0;

			for (int j = 0; j < g0.n; j++)
				if (!strcmp(g0.name[j], g1.name[i]))
					before = g0.secs[j];
			total += g1.secs[i] - before;
			printf("  %s %.1f", g1.name[i], (g1.secs[i] - before) * 1e6 / nlat);
		}
		printf("  governd %.1f  load-generator %.1f\n", total * 1e6 / nlat,
		       (self_cpu() - self0) * 1e6 / nlat);
	}
	for (int i = 0; i < nclients; i++) {
		vcli_client_free(ws[i].cl);
		free(ws[i].slots);
	}
	for (int i = 0; i < ndecisions; i++)
		free(ids[i]);
	free(ids);
	free(lat_ns);
	free(ws);
	free(th);
	return failures ? 1 : 0;
}
