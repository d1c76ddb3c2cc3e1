/*
 * governd's /metrics, /healthz and /readyz: see exporter.h.  The metric
 * names and labels are documented in docs/metrics.md; the gRPC ones are
 * those of go-grpc-prometheus, so that existing dashboards and alerts work.
 */
#include "server/exporter.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/procstat.h"
#include "common/prom.h"
#include "server/gov.h"
#include "server/httpd.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static struct {
	uv_loop_t *loop;
	rpc_server *srv;
	store *st;
	httpd *h;
	uv_work_t wait_req;
	int draining;
} X;

/* grpc_code as go-grpc-prometheus spells it (Go's codes.Code.String()). */
static const char *const code_names[RPC_STAT_NCODES] = {
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
	"Unauthenticated",
};

static const char *type_name(rpc_method_kind k)
{
	switch (k) {
	case RPC_UNARY: return "unary";
	case RPC_SERVER_STREAMING: return "server_stream";
	case RPC_CLIENT_STREAMING: return "client_stream";
	case RPC_BIDI_STREAMING: return "bidi_stream";
	}
	return "unary";
}

static void lower(char *out, size_t outlen, const char *s)
{
	size_t i = 0;

	for (; s[i] && i + 1 < outlen; i++)
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	out[i] = '\0';
}

static void to_seconds(double *out, const uint64_t *in, size_t n, double scale)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (double)in[i] / scale;
}

static void render_grpc(prom *p)
{
	size_t n = rpc_server_nmethods(X.srv);
	double bounds[RPC_STAT_NBOUNDS];
	static const struct {
		const char *name, *help;
	} counters[] = {
		{ "grpc_server_started_total",
		  "Total number of RPCs started on the server." },
		{ "grpc_server_msg_received_total",
		  "Total number of RPC stream messages received on the server." },
		{ "grpc_server_msg_sent_total",
		  "Total number of gRPC stream messages sent by the server." },
	};

	to_seconds(bounds, rpc_stat_bounds_ns, RPC_STAT_NBOUNDS, 1e9);
	/* Four passes over the methods, one per family: the format wants a
	 * family's samples together. */
	for (int f = 0; f < 5; f++) {
		if (f < 3)
			prom_family(p, counters[f].name, "counter", counters[f].help);
		else if (f == 3)
			prom_family(p, "grpc_server_handled_total", "counter",
				    "Total number of RPCs completed on the server, regardless of "
				    "success or failure.");
		else
			prom_family(p, "grpc_server_handling_seconds", "histogram",
				    "Histogram of response latency (seconds) of gRPC that had been "
				    "application-level handled by the server.");
		for (size_t i = 0; i < n; i++) {
			const char *path, *slash;
			char service[200], method[120];
			rpc_method_kind kind;
			rpc_method_stats ms;
			const char *labels[] = { "grpc_type", NULL, "grpc_service", service,
						 "grpc_method", method, "grpc_code", NULL, NULL };

			if (rpc_server_method_info(X.srv, i, &path, &kind) < 0)
				continue;
			slash = strrchr(path, '/');
			if (!slash || slash == path)
				continue;
			snprintf(service, sizeof(service), "%.*s", (int)(slash - path - 1), path + 1);
			snprintf(method, sizeof(method), "%s", slash + 1);
			labels[1] = type_name(kind);
			rpc_server_method_stats(X.srv, i, &ms);
			switch (f) {
			case 0:
				labels[6] = NULL;
				prom_sample_u64(p, counters[0].name, labels, ms.started);
				break;
			case 1:
				labels[6] = NULL;
				prom_sample_u64(p, counters[1].name, labels, ms.msg_received);
				break;
			case 2:
				labels[6] = NULL;
				prom_sample_u64(p, counters[2].name, labels, ms.msg_sent);
				break;
			case 3:
				for (int c = 0; c < RPC_STAT_NCODES; c++) {
					labels[7] = code_names[c];
					prom_sample_u64(p, "grpc_server_handled_total", labels,
							ms.handled[c]);
				}
				break;
			default:
				labels[6] = NULL;
				prom_histogram(p, "grpc_server_handling_seconds", labels, bounds,
					       RPC_STAT_NBOUNDS, ms.buckets, (double)ms.sum_ns / 1e9);
			}
		}
	}
}

enum { S_PENDING, S_ESCALATED, S_APPROVED, S_REJECTED, S_EXPIRED };

static void render_governance(prom *p)
{
	store_gauges g;
	store_stats ss;
	unsigned dsubs, esubs;
	uint64_t total = 0;
	char prio[4][16];
	double rb[STORE_REVIEW_NBOUNDS], tb[STORE_TIME_NBOUNDS], bb[STORE_BATCH_NBOUNDS];

	store_get_gauges(X.st, &g);
	store_get_stats(X.st, &ss);
	for (int r = 0; r < 4; r++)
		lower(prio[r], sizeof(prio[r]), store_priority_names[r]);

	prom_family(p, "governd_pending_decisions", "gauge",
		    "Open decisions (pending review, escalated ones included) by priority.");
	for (int r = 0; r < 4; r++) {
		const char *l[] = { "priority", prio[r], NULL };
		prom_sample_u64(p, "governd_pending_decisions", l,
				(uint64_t)g.decisions[S_PENDING][r] + g.decisions[S_ESCALATED][r]);
	}
	prom_family(p, "governd_escalated_decisions", "gauge",
		    "Open decisions that were escalated, by priority.");
	for (int r = 0; r < 4; r++) {
		const char *l[] = { "priority", prio[r], NULL };
		prom_sample_u64(p, "governd_escalated_decisions", l, g.decisions[S_ESCALATED][r]);
	}
	prom_family(p, "governd_decisions_submitted_total", "counter",
		    "Decisions submitted, as kept in the store (survives restarts).");
	for (int s = 0; s < STORE_NSTATUS; s++)
		for (int r = 0; r < 4; r++)
			total += g.decisions[s][r];
	prom_sample_u64(p, "governd_decisions_submitted_total", NULL, total);
	prom_family(p, "governd_decisions_resolved_total", "counter",
		    "Decisions resolved, by outcome and priority, as kept in the store "
		    "(survives restarts).");
	for (int s = S_APPROVED; s <= S_EXPIRED; s++) {
		char outcome[16];
		lower(outcome, sizeof(outcome), store_status_names[s]);
		for (int r = 0; r < 4; r++) {
			const char *l[] = { "outcome", outcome, "priority", prio[r], NULL };
			prom_sample_u64(p, "governd_decisions_resolved_total", l, g.decisions[s][r]);
		}
	}
	prom_family(p, "governd_sla_violations_total", "counter",
		    "Decisions that reached their SLA deadline unreviewed and expired, by "
		    "priority (survives restarts).");
	for (int r = 0; r < 4; r++) {
		const char *l[] = { "priority", prio[r], NULL };
		prom_sample_u64(p, "governd_sla_violations_total", l, g.decisions[S_EXPIRED][r]);
	}
	prom_family(p, "governd_escalations_total", "counter",
		    "Escalations committed since governd started.");
	prom_sample_u64(p, "governd_escalations_total", NULL, g.escalations);

	to_seconds(rb, store_review_bounds_ms, STORE_REVIEW_NBOUNDS, 1e3);
	prom_family(p, "governd_review_latency_seconds", "histogram",
		    "Time from a decision's submission to its approval or rejection, for "
		    "reviews committed since governd started.");
	for (int k = 0; k < 2; k++) {
		const char *l[] = { "outcome", k ? "rejected" : "approved", NULL };
		prom_histogram(p, "governd_review_latency_seconds", l, rb, STORE_REVIEW_NBOUNDS,
			       g.review[k], (double)g.review_sum_ms[k] / 1e3);
	}
	prom_family(p, "governd_open_sessions", "gauge", "Operator sessions open.");
	prom_sample_u64(p, "governd_open_sessions", NULL, g.open_sessions);
	gov_stream_subscribers(&dsubs, &esubs);
	prom_family(p, "governd_stream_subscribers", "gauge",
		    "Clients subscribed to a stream: StreamDecisions (decisions) or "
		    "StreamEvents (events).");
	{
		const char *ld[] = { "stream", "decisions", NULL };
		const char *le[] = { "stream", "events", NULL };
		prom_sample_u64(p, "governd_stream_subscribers", ld, dsubs);
		prom_sample_u64(p, "governd_stream_subscribers", le, esubs);
	}
	prom_family(p, "governd_grpc_connections", "gauge", "gRPC connections open.");
	prom_sample_u64(p, "governd_grpc_connections", NULL, rpc_server_connections(X.srv));

	to_seconds(tb, store_time_bounds_ns, STORE_TIME_NBOUNDS, 1e9);
	prom_family(p, "governd_store_commit_duration_seconds", "histogram",
		    "Store writer time per committed batch: running its operations and the "
		    "COMMIT, which includes the log's sync (group commit: one transaction "
		    "per batch).");
	prom_histogram(p, "governd_store_commit_duration_seconds", NULL, tb, STORE_TIME_NBOUNDS,
		       ss.batch_time, (double)ss.batch_ns / 1e9);
	prom_family(p, "governd_store_sync_duration_seconds", "histogram",
		    "fdatasync of the store's log; an answer waits for the one covering its "
		    "commit.");
	prom_histogram(p, "governd_store_sync_duration_seconds", NULL, tb, STORE_TIME_NBOUNDS,
		       ss.sync_time, (double)ss.sync_ns / 1e9);
	for (int i = 0; i < STORE_BATCH_NBOUNDS; i++)
		bb[i] = (double)store_batch_bounds[i];
	prom_family(p, "governd_store_batch_operations", "histogram",
		    "Operations per committed batch (group commit).");
	prom_histogram(p, "governd_store_batch_operations", NULL, bb, STORE_BATCH_NBOUNDS,
		       ss.batch_ops, (double)ss.ops);
	prom_family(p, "governd_store_checkpoints_total", "counter",
		    "Checkpoints of the store's log into its database: passes of the "
		    "checkpoint thread (by=thread), the last frames of each round copied by "
		    "the writer so that the log starts over (by=tail), or by the writer "
		    "when that thread fell behind (by=writer).");
	{
		const char *lt[] = { "by", "thread", NULL };
		const char *la[] = { "by", "tail", NULL };
		const char *lw[] = { "by", "writer", NULL };
		prom_sample_u64(p, "governd_store_checkpoints_total", lt, ss.checkpoints);
		prom_sample_u64(p, "governd_store_checkpoints_total", la, ss.checkpoints_tail);
		prom_sample_u64(p, "governd_store_checkpoints_total", lw, ss.checkpoints_inline);
	}
	prom_family(p, "governd_ready", "gauge",
		    "1 when governd is ready (as /readyz answers 200), else 0.");
	prom_sample_u64(p, "governd_ready", NULL,
			g.ready && !rpc_server_draining(X.srv) ? 1 : 0);
	prom_family(p, "governd_build_info", "gauge", "Always 1; the version is a label.");
	{
		const char *l[] = { "version", VCLI_VERSION, NULL };
		prom_sample_u64(p, "governd_build_info", l, 1);
	}
}

/* The process_* metrics of the Prometheus client libraries. */
static void render_process(prom *p)
{
	procstat ps;

	if (procstat_read(&ps) < 0)
		return;
	prom_family(p, "process_cpu_seconds_total", "counter",
		    "Total user and system CPU time spent in seconds.");
	prom_sample(p, "process_cpu_seconds_total", NULL, ps.cpu_seconds);
	prom_family(p, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	prom_sample_u64(p, "process_resident_memory_bytes", NULL, ps.resident_bytes);
	prom_family(p, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	prom_sample_u64(p, "process_virtual_memory_bytes", NULL, ps.virtual_bytes);
	prom_family(p, "process_start_time_seconds", "gauge",
		    "Start time of the process since unix epoch in seconds.");
	prom_sample(p, "process_start_time_seconds", NULL, ps.start_time_seconds);
	prom_family(p, "process_open_fds", "gauge", "Number of open file descriptors.");
	prom_sample_u64(p, "process_open_fds", NULL, ps.open_fds);
	prom_family(p, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
	prom_sample(p, "process_max_fds", NULL,
		    ps.max_fds == UINT64_MAX ? INFINITY : (double)ps.max_fds);
	prom_family(p, "governd_threads", "gauge", "Threads of the governd process.");
	prom_sample_u64(p, "governd_threads", NULL, ps.threads);
}

int exporter_render(buf *out)
{
	prom p;

	prom_init(&p, out);
	render_grpc(&p);
	render_governance(&p);
	render_process(&p);
	if (prom_error(&p)) {
		log_msg(LOG_ERROR, "metrics: cannot render", "error",
			prom_strerror(prom_error(&p)), NULL);
		return -1;
	}
	return 0;
}

/* Why governd is not ready, or NULL when it is. */
static const char *not_ready(char *why, size_t whylen)
{
	store_gauges g;

	if (X.draining || rpc_server_draining(X.srv))
		return "shutting down";
	store_get_gauges(X.st, &g);
	if (!g.ready) {
		snprintf(why, whylen, "%s", g.not_ready);
		return why;
	}
	return NULL;
}

static int handle(const char *path, buf *body, const char **ctype, void *ud)
{
	char why[200];
	const char *reason;

	(void)ud;
	if (strcmp(path, "/metrics") == 0) {
		*ctype = CONTENT_TYPE;
		return exporter_render(body) == 0 ? 200 : 500;
	}
	if (strcmp(path, "/healthz") == 0) {
		buf_printf(body, "ok\n");
		return 200;
	}
	if (strcmp(path, "/readyz") == 0) {
		reason = not_ready(why, sizeof(why));
		buf_printf(body, "%s\n", reason ? reason : "ok");
		return reason ? 503 : 200;
	}
	buf_printf(body, "not found; try /metrics, /healthz or /readyz\n");
	return 404;
}

int exporter_disabled(const char *addr)
{
	return addr && (*addr == '\0' || strcmp(addr, "off") == 0);
}

int exporter_start(uv_loop_t *loop, const char *addr, rpc_server *srv, store *st,
		   char *err, size_t errlen)
{
	char bound[300];
	const char *where = addr ? addr : EXPORTER_DEFAULT_ADDR;

	if (exporter_disabled(addr))
		return 0;
	X.loop = loop;
	X.srv = srv;
	X.st = st;
	int rc = httpd_start(loop, where, handle, NULL, &X.h, bound, sizeof(bound), err, errlen);

	if (rc < 0) {
		X.h = NULL;
		if (addr)
			return rc;
		log_msg(LOG_WARN, "metrics listener off: the default address is taken", "addr",
			where, "error", err, "flag", "--metrics-listen", NULL);
		return 0;
	}
	log_msg(LOG_INFO, "metrics listening", "addr", bound, NULL);
	return 0;
}

static void wait_workers(uv_work_t *req)
{
	(void)req;
	rpc_server_wait(X.srv);
}

static void workers_stopped(uv_work_t *req, int status)
{
	(void)req;
	(void)status;
	httpd_close(X.h);
	X.h = NULL;
}

void exporter_drain(void)
{
	if (!X.h || X.draining)
		return;
	X.draining = 1;
	/* rpc_server_wait blocks: it runs on libuv's thread pool, and the
	 * listener closes on this loop when it returns. */
	if (uv_queue_work(X.loop, &X.wait_req, wait_workers, workers_stopped) != 0) {
		httpd_close(X.h);
		X.h = NULL;
	}
}
