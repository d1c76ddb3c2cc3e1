/*
 * vcli bench --suite: the validation matrix and the durable approvals
 * figure (see bench_suite.h).
 */
#include "cli/bench_suite.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench_engine.h"
#include "cli/bench_report.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "governance.pb-c.h"

#define GOV "/vertice.governance.v1.GovernanceService/"
#define LIST_DATA "{\"limit\":10,\"status\":\"PENDING\"}"

/* ---- the validation matrix ---- */

/*
 * One row of the Load table of the validation matrix: one shared
 * connection, N workers each making sequential unary calls, a 10 s
 * deadline.  A target left at 0 is not part of the row.  Beyond its own
 * targets a row passes only when its calls succeed: all of them, or the
 * share the row names (min_ok_pct).
 */
struct scenario {
	const char *name;
	const char *call;        /* one method, or NULL for the mix */
	const char *data;
	uint64_t total;
	unsigned workers;
	double rate;             /* req/s; 0: closed loop */
	uint64_t seconds;        /* paced rows: how long */
	double p99_ms, avg_ms, max_ms, min_rps, min_ok_pct;
	const char *target;
	const char *earlier;
};

static const struct scenario scenarios[] = {
	{ "HealthCheck 1K", "HealthCheck", NULL, 1000, 10, 0, 0,
	  10, 0, 0, 0, 95, "p99 < 10 ms, > 95 % ok",
	  "4,366 req/s, p99 5.6 ms, 100 % ok" },
	{ "HealthCheck 5K", "HealthCheck", NULL, 5000, 50, 0, 0,
	  15, 0, 0, 0, 100, "p99 < 15 ms",
	  "4,993 req/s, p99 21.2 ms (missed)" },
	{ "HealthCheck 10K", "HealthCheck", NULL, 10000, 100, 0, 0,
	  40, 0, 0, 5000, 100, "p99 < 40 ms, > 5,000 req/s",
	  "5,684 req/s, p99 33.1 ms" },
	{ "Sustained 1,000 req/s", "HealthCheck", NULL, 0, 10, 1000, 30,
	  20, 5, 100, 0, 99.9,
	  "p99 < 20 ms, avg < 5 ms, max < 100 ms, > 99.9 % ok",
	  "29,991 req, 99.97 % ok, p99 6.6 ms" },
	{ "CreateSession 1K", "CreateSession",
	  "{\"operatorId\":\"vcli-bench-{{.WorkerID}}\"}", 1000, 10, 0, 0,
	  50, 0, 0, 0, 100, "p99 < 50 ms", "(not reported)" },
	{ "ListPendingDecisions 5K", "ListPendingDecisions", LIST_DATA, 5000,
	  50, 0, 0, 100, 0, 0, 0, 100, "p99 < 100 ms (limit 10, PENDING)",
	  "(not reported)" },
	{ "GetMetrics 10K", "GetMetrics", NULL, 10000, 100, 0, 0,
	  20, 0, 0, 2000, 100, "p99 < 20 ms, > 2,000 req/s",
	  "(not reported)" },
	{ "Mixed 5K (60/20/20)", NULL, NULL, 5000, 50, 0, 0,
	  50, 0, 0, 500, 100, "p99 < 50 ms, > 500 req/s",
	  "(not reported)" },
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* The quick run's Sustained length (tests); the real one is 30 s. */
#define QUICK_SUSTAINED_S 3

struct outcome {
	int ran;
	int pass;
	uint64_t count, ok;
	double rps, ok_pct;
	char ours[160];
	char why[160];           /* the failed target, or the error */
};

static int scenario_config(const struct scenario *s,
			   const struct bench_suite_opts *so,
			   struct bench_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->client = so->client;
	cfg->connections = 1;
	cfg->threads = 1;
	cfg->deadline_ms = 10000;
	cfg->workers.kind = SCHED_CONST;
	cfg->workers.start = s->workers;
	cfg->total = s->total;
	cfg->progress = so->progress;
	if (s->rate > 0) {
		cfg->paced = 1;
		cfg->rate.kind = SCHED_CONST;
		cfg->rate.start = s->rate;
		cfg->duration_ns = (so->quick ? QUICK_SUSTAINED_S : s->seconds) *
				   UINT64_C(1000000000);
	}
	if (s->call) {
		if (bench_method_resolve(s->call, &cfg->calls[0].method, err,
					 errlen) < 0)
			return -1;
		cfg->calls[0].weight = 1;
		cfg->calls[0].data = s->data;
		cfg->calls[0].data_len = s->data ? strlen(s->data) : 0;
		cfg->ncalls = 1;
		return 0;
	}
	/* The mix: 60 % HealthCheck, 20 % list, 20 % metrics. */
	if (bench_method_resolve("HealthCheck", &cfg->calls[0].method, err, errlen) < 0 ||
	    bench_method_resolve("ListPendingDecisions", &cfg->calls[1].method, err,
				 errlen) < 0 ||
	    bench_method_resolve("GetMetrics", &cfg->calls[2].method, err, errlen) < 0)
		return -1;
	cfg->calls[0].weight = 60;
	cfg->calls[1].weight = 20;
	cfg->calls[1].data = LIST_DATA;
	cfg->calls[1].data_len = strlen(LIST_DATA);
	cfg->calls[2].weight = 20;
	cfg->ncalls = 3;
	return 0;
}

static void judge(const struct scenario *s, const struct bench_result *r,
		  struct outcome *out)
{
	double p99 = (double)hist_percentile(&r->latency, 99) / 1e6;
	double avg = hist_mean(&r->latency) / 1e6;
	double max = (double)r->latency.max / 1e6;

	out->count = r->count;
	out->ok = r->ok;
	out->rps = r->rps;
	out->ok_pct = r->count ? 100.0 * (double)r->ok / (double)r->count : 0;
	if (s->rate > 0)
		snprintf(out->ours, sizeof(out->ours),
			 "%" PRIu64 " req, %.2f %% ok, p99 %.2f ms, avg %.2f ms, "
			 "max %.2f ms", r->count, out->ok_pct, p99, avg, max);
	else
		snprintf(out->ours, sizeof(out->ours),
			 "%.0f req/s, p99 %.2f ms, %.2f %% ok", r->rps, p99,
			 out->ok_pct);
	out->pass = 1;
	if (!r->count) {
		out->pass = 0;
		snprintf(out->why, sizeof(out->why), "no call ended");
	} else if (s->p99_ms && !(p99 < s->p99_ms)) {
		out->pass = 0;
		snprintf(out->why, sizeof(out->why), "p99 %.2f ms", p99);
	} else if (s->avg_ms && !(avg < s->avg_ms)) {
		out->pass = 0;
		snprintf(out->why, sizeof(out->why), "avg %.2f ms", avg);
	} else if (s->max_ms && !(max < s->max_ms)) {
		out->pass = 0;
		snprintf(out->why, sizeof(out->why), "max %.2f ms", max);
	} else if (s->min_rps && !(r->rps > s->min_rps)) {
		out->pass = 0;
		snprintf(out->why, sizeof(out->why), "%.0f req/s", r->rps);
	} else if (s->min_ok_pct >= 100 ? r->ok != r->count :
		   !(out->ok_pct > s->min_ok_pct)) {
		out->pass = 0;
		snprintf(out->why, sizeof(out->why), "%" PRIu64 " of %" PRIu64
			 " calls failed", r->count - r->ok, r->count);
	}
}

static int print_validation(const struct bench_suite_opts *so,
			    const struct outcome *out, int all_pass)
{
	static const struct table_col cols[] = {
		{ "SCENARIO", 0 }, { "TARGET", 0 }, { "EARLIER SYSTEM", 0 },
		{ "VCLI BENCH + GOVERND", 0 }, { "RESULT", 0 },
	};
	struct table t;
	int rc;

	if (so->json) {
		struct doc_arena a;
		struct doc *d, *rows;

		doc_arena_init(&a);
		d = doc_obj(&a);
		rows = doc_arr(&a);
		doc_set(&a, d, "suite", doc_str(&a, "validation"));
		doc_set(&a, d, "server", doc_str(&a, so->server));
		doc_set(&a, d, "quick", doc_bool(&a, so->quick));
		for (size_t i = 0; i < NSCENARIOS; i++) {
			struct doc *r = doc_obj(&a);

			doc_set(&a, r, "scenario", doc_str(&a, scenarios[i].name));
			doc_set(&a, r, "target", doc_str(&a, scenarios[i].target));
			doc_set(&a, r, "earlier", doc_str(&a, scenarios[i].earlier));
			doc_set(&a, r, "ours", doc_str(&a, out[i].ours));
			doc_set(&a, r, "count", doc_uint(&a, out[i].count));
			doc_set(&a, r, "ok", doc_uint(&a, out[i].ok));
			doc_set(&a, r, "rps", doc_double(&a, round(out[i].rps * 100) / 100));
			doc_set(&a, r, "pass", doc_bool(&a, out[i].pass));
			if (!out[i].pass)
				doc_set(&a, r, "missed", doc_str(&a, out[i].why));
			doc_push(rows, r);
		}
		doc_set(&a, d, "scenarios", rows);
		doc_set(&a, d, "pass", doc_bool(&a, all_pass));
		rc = doc_write_json(stdout, &a, d);
		doc_arena_release(&a);
		return rc;
	}
	table_init(&t, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < NSCENARIOS; i++) {
		table_row(&t);
		if (scenarios[i].rate > 0 && so->quick)
			table_setf(&t, 0, NULL, "%s (%d s, --quick)",
				   scenarios[i].name, QUICK_SUSTAINED_S);
		else
			table_set(&t, 0, NULL, scenarios[i].name);
		table_set(&t, 1, NULL, scenarios[i].target);
		table_set(&t, 2, NULL, scenarios[i].earlier);
		table_set(&t, 3, NULL, out[i].ours);
		if (out[i].pass)
			table_set(&t, 4, TABLE_GREEN, "pass");
		else
			table_setf(&t, 4, TABLE_RED, "MISS (%s)", out[i].why);
	}
	printf("validation matrix, load scenarios: one connection to %s, "
	       "N workers, 10s deadline\n\n", so->server);
	rc = table_print(stdout, &t, 0);
	table_release(&t);
	if (rc == 0)
		printf("\n%s\n", all_pass ? "all targets met" :
		       "a target was missed");
	return rc;
}

int bench_suite_validation(const struct bench_suite_opts *so)
{
	struct outcome out[NSCENARIOS];
	int all_pass = 1;
	char err[600];

	memset(out, 0, sizeof(out));
	for (size_t i = 0; i < NSCENARIOS; i++) {
		const struct scenario *s = &scenarios[i];
		struct bench_config cfg;
		struct bench_result res;
		int rc;

		if (scenario_config(s, so, &cfg, err, sizeof(err)) < 0 ||
		    bench_result_init(&res) < 0) {
			cli_error("%s", err);
			return CLI_EXIT_INTERNAL;
		}
		if (so->progress)
			fprintf(stderr, "%s...\n", s->name);
		rc = bench_run(&cfg, &res, err, sizeof(err));
		if (rc == BENCH_E_CONNECT) {
			bench_result_release(&res);
			cli_error("cannot reach server '%s': %s", so->server, err);
			return CLI_EXIT_UNREACHABLE;
		}
		if (rc != BENCH_OK) {
			bench_result_release(&res);
			cli_error("%s: %s", s->name, err);
			return rc == BENCH_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
		}
		judge(s, &res, &out[i]);
		out[i].ran = 1;
		all_pass &= out[i].pass;
		bench_result_release(&res);
	}
	if (print_validation(so, out, all_pass) < 0) {
		cli_error("out of memory while writing the output");
		return CLI_EXIT_INTERNAL;
	}
	return all_pass ? CLI_EXIT_OK : CLI_EXIT_TARGET;
}

/* ---- durable approvals ---- */

/* The target: durable approvals per second, 50 clients. */
#define APPROVALS_TARGET 50000.0

struct approvals {
	char session[128];
	char **ids;              /* decision of request n */
	uint64_t n;
	int request_ids;         /* BENCH_RIDS_* */
	uint64_t rng;            /* their random part: splitmix64 */
	const uint8_t *decision; /* --decision-file: the packed Decision */
	size_t decision_len;
	uint64_t submit_failed;
	char submit_err[200];
};

static int pack_into(buf *out, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	buf_reset(out);
	if (buf_reserve(out, n ? n : 1) < 0)
		return -1;
	out->len = protobuf_c_message_pack(m, out->data);
	return 0;
}

static int make_submit(void *ud, uint64_t n, unsigned call, buf *out)
{
	const struct approvals *ap = ud;
	Vertice__Governance__V1__SubmitDecisionRequest req =
		VERTICE__GOVERNANCE__V1__SUBMIT_DECISION_REQUEST__INIT;
	Vertice__Governance__V1__Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;

	(void)n;
	(void)call;
	if (ap->decision) {
		/* SubmitDecisionRequest.decision (field 1) around the file's
		 * bytes: the same request every time, no key. */
		uint8_t head[1 + 10];
		size_t h = 0, len = ap->decision_len;

		head[h++] = 0x0a;
		do {
			head[h++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
			len >>= 7;
		} while (len);
		buf_reset(out);
		if (buf_append(out, head, h) < 0 ||
		    buf_append(out, ap->decision, ap->decision_len) < 0)
			return -1;
		return 0;
	}

	/* An hour to be approved: the queue must not expire under the run. */
	d.operation_type = "vcli_bench_approval";
	d.priority = "LOW";
	d.sla_seconds = 3600;
	req.decision = &d;
	return pack_into(out, &req.base);
}

static void on_submitted(void *ud, uint64_t n, unsigned call, int status,
			 const uint8_t *resp, size_t len)
{
	struct approvals *ap = ud;
	Vertice__Governance__V1__SubmitDecisionResponse *r;

	if (status != VCLI_STATUS_OK || n >= ap->n) {
		if (!ap->submit_failed++)
			snprintf(ap->submit_err, sizeof(ap->submit_err), "%s",
				 vcli_status_name(status));
		return;
	}
	r = vertice__governance__v1__submit_decision_response__unpack(NULL, len, resp);
	if (r && r->decision && r->decision->decision_id)
		ap->ids[n] = strdup(r->decision->decision_id);
	if (!ap->ids[n] && !ap->submit_failed++)
		snprintf(ap->submit_err, sizeof(ap->submit_err),
			 "an answer without a decision id");
	if (r)
		vertice__governance__v1__submit_decision_response__free_unpacked(r, NULL);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* An approval's request id, in vcli's form ("vcli-", 12 hex digits of the
 * time in ms, 20 random) or all random: the same length either way, so
 * that only their order differs.  No system call per id: the generator's
 * CPU is the machine's too. */
static void request_id(struct approvals *ap, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	uint64_t x = splitmix64(&ap->rng), y = splitmix64(&ap->rng);
	size_t i, at = 0;

	for (i = 0; i < 8; i++) {
		b[i] = (unsigned char)(x >> (8 * i));
		b[8 + i] = (unsigned char)(y >> (8 * i));
	}
	if (ap->request_ids == BENCH_RIDS_TIME) {
		struct timespec now;
		uint64_t ms;

		clock_gettime(CLOCK_REALTIME, &now);
		ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
		for (i = 0; i < 6; i++)
			b[i] = (unsigned char)(ms >> (8 * (5 - i)));
	}
	if (outlen < 5 + 32 + 1) {
		*out = '\0';
		return;
	}
	memcpy(out, "vcli-", 5);
	at = 5;
	for (i = 0; i < sizeof(b); i++) {
		out[at++] = hex[b[i] >> 4];
		out[at++] = hex[b[i] & 15];
	}
	out[at] = '\0';
}

static int make_approve(void *ud, uint64_t n, unsigned call, buf *out)
{
	struct approvals *ap = ud;
	char rid[40];
	Vertice__Governance__V1__ApproveDecisionRequest req =
		VERTICE__GOVERNANCE__V1__APPROVE_DECISION_REQUEST__INIT;

	if (n >= ap->n || !ap->ids[n])
		return -1;
	req.session_id = ap->session;
	req.decision_id = ap->ids[n];
	req.comment = "vcli bench";
	if (ap->request_ids != BENCH_RIDS_NONE) {
		request_id(ap, rid, sizeof(rid));
		req.request_id = rid;
	}
	return pack_into(out, &req.base);
}

/* One synchronous call on its own client (set-up and checks). */
static int unary(vcli_client *cl, const char *method, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **resp,
		 char *err, size_t errlen)
{
	uint8_t b[512];
	size_t n = protobuf_c_message_pack(req, b);
	vcli_call_options copts = { .deadline_ms = 10000 };
	vcli_call_result r;
	vcli_bytes out = { NULL, 0 };

	if (vcli_client_unary(cl, method, b, n, &out, &copts, &r) != VCLI_OK ||
	    r.status != VCLI_STATUS_OK) {
		snprintf(err, errlen, "%s: %s (%s)", method + strlen(GOV), r.message,
			 vcli_status_name(r.status));
		return r.status == VCLI_STATUS_UNAVAILABLE ? CLI_EXIT_UNREACHABLE :
		       CLI_EXIT_RPC;
	}
	*resp = protobuf_c_message_unpack(rdesc, NULL, out.len, out.data);
	vcli_bytes_release(&out);
	if (!*resp) {
		snprintf(err, errlen, "%s: the answer does not decode",
			 method + strlen(GOV));
		return CLI_EXIT_RPC;
	}
	return 0;
}

static int approved_count(vcli_client *cl, int64_t *count, char *err,
			  size_t errlen)
{
	Vertice__Governance__V1__GetMetricsRequest req =
		VERTICE__GOVERNANCE__V1__GET_METRICS_REQUEST__INIT;
	Vertice__Governance__V1__GetMetricsResponse *resp;
	int rc = unary(cl, GOV "GetMetrics", &req.base,
		       &vertice__governance__v1__get_metrics_response__descriptor,
		       (ProtobufCMessage **)&resp, err, errlen);

	if (rc)
		return rc;
	*count = resp->metrics ? resp->metrics->approved_count : 0;
	vertice__governance__v1__get_metrics_response__free_unpacked(resp, NULL);
	return 0;
}

static int run_phase(const struct bench_suite_opts *so, struct approvals *ap,
		     const char *method, uint64_t total, uint64_t warmup,
		     bench_request_fn make, bench_response_fn seen,
		     struct bench_config *cfg, struct bench_result *res)
{
	char err[600];
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->client = so->client;
	cfg->connections = so->connections;
	cfg->threads = 1;
	cfg->server_pid = so->server_pid;
	cfg->workers.kind = SCHED_CONST;
	cfg->workers.start = so->concurrency ? so->concurrency : so->connections;
	cfg->total = total;
	cfg->warmup = warmup;
	cfg->deadline_ms = so->deadline_ms;
	cfg->progress = so->progress;
	cfg->make_request = make;
	cfg->on_response = seen;
	cfg->ud = ap;
	if (bench_method_resolve(method, &cfg->calls[0].method, err,
				 sizeof(err)) < 0) {
		cli_error("%s", err);
		return CLI_EXIT_INTERNAL;
	}
	cfg->calls[0].weight = 1;
	cfg->ncalls = 1;
	rc = bench_run(cfg, res, err, sizeof(err));
	if (rc == BENCH_E_CONNECT) {
		cli_error("cannot reach server '%s': %s", so->server, err);
		return CLI_EXIT_UNREACHABLE;
	}
	if (rc != BENCH_OK) {
		cli_error("%s", err);
		return rc == BENCH_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

int bench_suite_approvals(const struct bench_suite_opts *so)
{
	struct approvals ap;
	struct bench_config cfg;
	struct bench_result sub, res;
	vcli_client *cl = NULL;
	char err[600];
	int64_t before = 0, after = 0;
	int rc, pass, counted;

	memset(&ap, 0, sizeof(ap));
	ap.n = so->approvals + so->warmup;
	ap.request_ids = so->request_ids;
	ap.decision = so->decision;
	ap.decision_len = so->decision_len;
	if (getrandom(&ap.rng, sizeof(ap.rng), 0) != (ssize_t)sizeof(ap.rng))
		ap.rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	ap.ids = calloc(ap.n, sizeof(*ap.ids));
	if (!ap.ids || bench_result_init(&sub) < 0) {
		free(ap.ids);
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	if (bench_result_init(&res) < 0) {
		bench_result_release(&sub);
		free(ap.ids);
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	rc = vcli_client_new(&so->client, &cl, err, sizeof(err)) == VCLI_OK ? 0 : -1;
	if (rc < 0) {
		cli_error("cannot use server '%s': %s", so->server, err);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	{
		Vertice__Governance__V1__CreateSessionRequest req =
			VERTICE__GOVERNANCE__V1__CREATE_SESSION_REQUEST__INIT;
		Vertice__Governance__V1__CreateSessionResponse *resp;

		req.operator_id = (char *)(so->operator_id ? so->operator_id :
					   "vcli-bench");
		rc = unary(cl, GOV "CreateSession", &req.base,
			   &vertice__governance__v1__create_session_response__descriptor,
			   (ProtobufCMessage **)&resp, err, sizeof(err));
		if (rc) {
			cli_error("cannot open a session on '%s': %s", so->server, err);
			goto out;
		}
		snprintf(ap.session, sizeof(ap.session), "%s", resp->session_id);
		vertice__governance__v1__create_session_response__free_unpacked(resp, NULL);
	}
	if (so->progress)
		fprintf(stderr, "submitting %" PRIu64 " decisions (not timed)...\n",
			ap.n);
	rc = run_phase(so, &ap, "SubmitDecision", ap.n, 0, make_submit,
		       on_submitted, &cfg, &sub);
	if (rc)
		goto out;
	if (ap.submit_failed) {
		cli_error("%" PRIu64 " of %" PRIu64 " submissions failed (first: "
			  "%s); not measuring", ap.submit_failed, ap.n,
			  ap.submit_err);
		rc = CLI_EXIT_RPC;
		goto out;
	}
	rc = approved_count(cl, &before, err, sizeof(err));
	if (rc) {
		cli_error("%s", err);
		goto out;
	}
	if (so->progress)
		fprintf(stderr, "approving...\n");
	rc = run_phase(so, &ap, "ApproveDecision", so->approvals, so->warmup,
		       make_approve, NULL, &cfg, &res);
	if (rc)
		goto out;
	rc = approved_count(cl, &after, err, sizeof(err));
	if (rc) {
		cli_error("%s", err);
		goto out;
	}
	/* governd counts every approval it committed; ours must match. */
	counted = (uint64_t)(after - before) == res.ok + res.warmup;
	pass = res.rps >= APPROVALS_TARGET && res.ok == res.count && counted;
	if (so->json) {
		struct doc_arena a;
		struct doc *d;

		doc_arena_init(&a);
		d = doc_obj(&a);
		doc_set(&a, d, "suite", doc_str(&a, "approvals"));
		doc_set(&a, d, "approvals_per_second", doc_double(&a, round(res.rps)));
		doc_set(&a, d, "target_per_second", doc_double(&a, APPROVALS_TARGET));
		doc_set(&a, d, "governd_approved_delta", doc_int(&a, after - before));
		doc_set(&a, d, "pass", doc_bool(&a, pass));
		doc_set(&a, d, "result", bench_report_doc(&a, &cfg, so->server, &res));
		rc = doc_write_json(stdout, &a, d) < 0 ? CLI_EXIT_INTERNAL : 0;
		doc_arena_release(&a);
		if (rc)
			goto out;
	} else {
		printf("durable approvals: session %s, %" PRIu64 " decisions "
		       "submitted first (not timed)\n\n", ap.session, ap.n);
		bench_report_summary(stdout, &cfg, so->server, &res);
		printf("\ngovernd's approved_count went up by %" PRId64 " (%s)\n",
		       after - before, counted ? "every approval counted" :
		       "does NOT match the calls that succeeded");
		printf("target: >= %.0f approvals/s with %u connections: %.0f, %s\n",
		       APPROVALS_TARGET, so->connections, res.rps,
		       pass ? "pass" : "MISS");
	}
	rc = pass ? CLI_EXIT_OK : CLI_EXIT_TARGET;
out:
	if (cl && ap.session[0]) {
		Vertice__Governance__V1__CloseSessionRequest req =
			VERTICE__GOVERNANCE__V1__CLOSE_SESSION_REQUEST__INIT;
		ProtobufCMessage *resp = NULL;

		req.session_id = ap.session;
		if (unary(cl, GOV "CloseSession", &req.base,
			  &vertice__governance__v1__close_session_response__descriptor,
			  &resp, err, sizeof(err)) == 0)
			protobuf_c_message_free_unpacked(resp, NULL);
	}
	vcli_client_free(cl);
	for (uint64_t i = 0; i < ap.n; i++)
		free(ap.ids[i]);
	free(ap.ids);
	bench_result_release(&sub);
	bench_result_release(&res);
	return rc;
}
