/*
 * vcli bench: the summary and the JSON document (see bench_report.h).
 */
#include "cli/bench_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"

static const struct {
	const char *label;   /* summary */
	const char *key;     /* json */
	double p;
} percentiles[] = {
	{ "p50", "p50", 50 }, { "p90", "p90", 90 }, { "p95", "p95", 95 },
	{ "p99", "p99", 99 }, { "p99.9", "p99_9", 99.9 },
};

double bench_ms(uint64_t ns)
{
	return round((double)ns / 1e3) / 1e3;
}

static int plural(unsigned n)
{
	return n != 1;
}

void bench_report_shape(const struct bench_config *cfg, char *out,
			size_t outlen)
{
	char dl[32], part[160];
	size_t used = 0;
	int n;

	n = snprintf(out, outlen, "%u connection%s, ", cfg->connections,
		     plural(cfg->connections) ? "s" : "");
	used = n > 0 ? (size_t)n : 0;
	if (cfg->workers.kind == SCHED_CONST)
		snprintf(part, sizeof(part), "%u worker%s", (unsigned)cfg->workers.start,
			 plural((unsigned)cfg->workers.start) ? "s" : "");
	else
		snprintf(part, sizeof(part), "workers %s from %g by %g%s%g",
			 sched_kind_names[cfg->workers.kind], cfg->workers.start,
			 cfg->workers.step, cfg->workers.end > 0 ? " to " : "",
			 cfg->workers.end > 0 ? cfg->workers.end : 0.0);
	n = snprintf(out + used, outlen - used, "%s, ", part);
	used += n > 0 && (size_t)n < outlen - used ? (size_t)n : 0;
	if (!cfg->paced)
		snprintf(part, sizeof(part), "closed loop");
	else if (cfg->rate.kind == SCHED_CONST)
		snprintf(part, sizeof(part), "%g req/s", cfg->rate.start);
	else
		snprintf(part, sizeof(part), "rate %s from %g req/s by %g%s",
			 sched_kind_names[cfg->rate.kind], cfg->rate.start,
			 cfg->rate.step, cfg->rate.end > 0 ? " (with an end)" : "");
	n = snprintf(out + used, outlen - used, "%s, ", part);
	used += n > 0 && (size_t)n < outlen - used ? (size_t)n : 0;
	if (cfg->deadline_ms)
		duration_format(cfg->deadline_ms, dl, sizeof(dl));
	if (used < outlen)
		snprintf(out + used, outlen - used, "deadline %s",
			 cfg->deadline_ms ? dl : "none");
	if (cfg->threads > 1) {
		size_t l = strlen(out);

		snprintf(out + l, outlen - l, ", %u threads", cfg->threads);
	}
}

static void ms_text(uint64_t ns, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.3f ms", (double)ns / 1e6);
}

/* The histogram re-binned into n equal bins from min to max (by each
 * bucket's middle), as ghz draws it. */
static void linear_bins(const struct hist *h, uint64_t *counts,
			double *marks, size_t n)
{
	double lo = (double)h->min, hi = (double)h->max;
	double width = (hi - lo) / (double)n;

	memset(counts, 0, n * sizeof(*counts));
	for (size_t k = 0; k < n; k++)
		marks[k] = lo + width * (double)(k + 1);
	if (!h->count)
		return;
	for (size_t i = 0; i < HIST_NBUCKETS; i++) {
		double mid;
		size_t k;

		if (!h->counts[i])
			continue;
		mid = (double)hist_bucket_low(i) + (double)hist_bucket_width(i) / 2;
		if (mid < lo)
			mid = lo;
		if (mid > hi)
			mid = hi;
		k = width > 0 ? (size_t)((mid - lo) / width) : 0;
		if (k >= n)
			k = n - 1;
		counts[k] += h->counts[i];
	}
}

static const char *call_name(const struct bench_config *cfg, size_t i)
{
	return cfg->calls[i].method.full;
}

/* Why the server's CPU time could not be measured (bench_result's
 * server_cpu_err). */
static const char *server_cpu_why(int err)
{
	if (err == ENOENT || err == ESRCH || err <= 0)
		return "it ended (or another process has its id) before the run did";
	return strerror(err);
}

void bench_report_summary(FILE *f, const struct bench_config *cfg,
			  const char *server, const struct bench_result *res)
{
	char shape[300], a[32], b[32];
	uint64_t counts[BENCH_REPORT_BINS], top = 0;
	double marks[BENCH_REPORT_BINS];
	const struct hist *h = &res->latency;

	bench_report_shape(cfg, shape, sizeof(shape));
	fputs("Summary:\n", f);
	if (cfg->ncalls == 1)
		fprintf(f, "  Call:          %s\n", call_name(cfg, 0));
	else
		fprintf(f, "  Calls:         a mix of %zu methods (below)\n",
			cfg->ncalls);
	fprintf(f, "  Server:        %s\n", server);
	fprintf(f, "  Load:          %s\n", shape);
	if (res->interrupted)
		fputs("  Interrupted:   yes, by a signal: the figures cover the "
		      "calls made until then\n", f);
	if (res->warmup)
		fprintf(f, "  Warm-up:       %llu calls (not counted)\n",
			(unsigned long long)res->warmup);
	fprintf(f, "  Count:         %llu (%llu OK, %llu errors)\n",
		(unsigned long long)res->count, (unsigned long long)res->ok,
		(unsigned long long)(res->count - res->ok));
	if (cfg->retry_safe)
		fprintf(f, "  Retries:       %llu (attempts beyond the first)\n",
			(unsigned long long)res->retries);
	fprintf(f, "  Total:         %.3f s\n", (double)res->total_ns / 1e9);
	ms_text(h->count ? h->max : 0, a, sizeof(a));
	fprintf(f, "  Slowest:       %s\n", a);
	ms_text(h->count ? h->min : 0, a, sizeof(a));
	fprintf(f, "  Fastest:       %s\n", a);
	fprintf(f, "  Average:       %.3f ms\n", hist_mean(h) / 1e6);
	fprintf(f, "  Requests/sec:  %.2f\n", res->rps);
	if (res->count)
		fprintf(f, "  Client CPU:    %.3f s (%.2f us per call)\n",
			(double)res->cpu_ns / 1e9,
			(double)res->cpu_ns / 1e3 / (double)res->count);
	if (cfg->server_pid > 0 && res->count) {
		if (!res->server_cpu_err)
			fprintf(f, "  Server CPU:    %.3f s (%.2f us per call, process %d)\n",
				(double)res->server_cpu_ns / 1e9,
				(double)res->server_cpu_ns / 1e3 / (double)res->count,
				cfg->server_pid);
		else
			fprintf(f, "  Server CPU:    unknown (process %d: %s)\n",
				cfg->server_pid, server_cpu_why(res->server_cpu_err));
	}

	fputs("\nLatency distribution:\n", f);
	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++) {
		ms_text(hist_percentile(h, percentiles[i].p), a, sizeof(a));
		fprintf(f, "  %-6s %s\n", percentiles[i].label, a);
	}
	if (cfg->paced && res->lag.count) {
		ms_text(hist_percentile(&res->lag, 50), a, sizeof(a));
		ms_text(hist_percentile(&res->lag, 99), b, sizeof(b));
		fprintf(f, "\nStart lag (start - due, included in the latency):\n"
			"  p50 %s, p99 %s, max %.3f ms\n", a, b,
			(double)res->lag.max / 1e6);
	}

	if (h->count) {
		linear_bins(h, counts, marks, BENCH_REPORT_BINS);
		for (size_t k = 0; k < BENCH_REPORT_BINS; k++)
			if (counts[k] > top)
				top = counts[k];
		fputs("\nResponse time histogram (ms, upper edge of each bin):\n", f);
		for (size_t k = 0; k < BENCH_REPORT_BINS; k++) {
			size_t bar = top ? (size_t)((double)counts[k] * 40.0 /
						    (double)top + 0.5) : 0;

			fprintf(f, "  %10.3f [%llu]\t|", marks[k] / 1e6,
				(unsigned long long)counts[k]);
			for (size_t j = 0; j < bar; j++)
				fputs("\u220e", f);
			fputc('\n', f);
		}
	}

	if (cfg->ncalls > 1) {
		int w = 0;

		for (size_t i = 0; i < cfg->ncalls; i++)
			if ((int)strlen(call_name(cfg, i)) > w)
				w = (int)strlen(call_name(cfg, i));
		fputs("\nCalls:\n", f);
		for (size_t i = 0; i < cfg->ncalls; i++) {
			const struct bench_call_stats *c = &res->calls[i];

			ms_text(hist_percentile(&c->latency, 99), a, sizeof(a));
			fprintf(f, "  %-*s  weight %-5u %llu calls, %llu OK, "
				"p99 %s\n", w, call_name(cfg, i), cfg->calls[i].weight,
				(unsigned long long)c->count,
				(unsigned long long)c->ok, a);
		}
	}

	fputs("\nStatus code distribution:\n", f);
	for (int s = 0; s <= 16; s++)
		if (res->status[s])
			fprintf(f, "  [%s]%*s %llu responses\n", vcli_status_name(s),
				(int)(20 - strlen(vcli_status_name(s))), "",
				(unsigned long long)res->status[s]);
	if (res->nerrors) {
		fputs("\nError distribution:\n", f);
		for (size_t i = 0; i < res->nerrors; i++) {
			char clean[sizeof(res->errors[i].message)];

			/* The message came from the server: no terminal
			 * control sequences through it. */
			for (size_t k = 0;; k++) {
				unsigned char c = (unsigned char)res->errors[i].message[k];

				clean[k] = (char)(c && (c < 0x20 || c == 0x7f) ? '?' : c);
				if (!c)
					break;
			}
			fprintf(f, "  [%llu]\t%s: %s\n",
				(unsigned long long)res->errors[i].count,
				vcli_status_name(res->errors[i].status), clean);
		}
		if (res->errors_other)
			fprintf(f, "  [%llu]\tother messages\n",
				(unsigned long long)res->errors_other);
	}
}

struct doc *bench_report_latency_doc(struct doc_arena *a, const struct hist *h)
{
	struct doc *o = doc_obj(a);

	doc_set(a, o, "min", doc_double(a, bench_ms(h->count ? h->min : 0)));
	doc_set(a, o, "mean", doc_double(a, round(hist_mean(h) / 1e3) / 1e3));
	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
		doc_set(a, o, percentiles[i].key,
			doc_double(a, bench_ms(hist_percentile(h, percentiles[i].p))));
	doc_set(a, o, "max", doc_double(a, bench_ms(h->max)));
	return o;
}

static struct doc *sched_doc(struct doc_arena *a, const struct sched_spec *s)
{
	struct doc *o = doc_obj(a);

	doc_set(a, o, "schedule", doc_str(a, sched_kind_names[s->kind]));
	doc_set(a, o, "start", doc_double(a, s->start));
	if (s->kind != SCHED_CONST) {
		doc_set(a, o, "end", doc_double(a, s->end));
		doc_set(a, o, "step", doc_double(a, s->step));
		doc_set(a, o, "step_duration_ms", doc_uint(a, s->step_ns / 1000000));
		doc_set(a, o, "max_duration_ms", doc_uint(a, s->max_ns / 1000000));
	}
	return o;
}

struct doc *bench_report_doc(struct doc_arena *a, const struct bench_config *cfg,
			     const char *server, const struct bench_result *res)
{
	struct doc *d = doc_obj(a), *st = doc_obj(a), *errs = doc_arr(a),
		   *bins = doc_arr(a), *calls = doc_arr(a);
	uint64_t counts[BENCH_REPORT_BINS];
	double marks[BENCH_REPORT_BINS];

	if (cfg->ncalls == 1)
		doc_set(a, d, "call", doc_str(a, call_name(cfg, 0)));
	doc_set(a, d, "server", doc_str(a, server));
	doc_set(a, d, "connections", doc_uint(a, cfg->connections));
	doc_set(a, d, "workers", doc_uint(a, res->max_workers));
	if (cfg->workers.kind != SCHED_CONST)
		doc_set(a, d, "concurrency", sched_doc(a, &cfg->workers));
	doc_set(a, d, "rate", cfg->paced ? sched_doc(a, &cfg->rate) : doc_null(a));
	doc_set(a, d, "threads", doc_uint(a, cfg->threads));
	doc_set(a, d, "deadline_ms", doc_uint(a, cfg->deadline_ms));
	doc_set(a, d, "warmup", doc_uint(a, res->warmup));
	doc_set(a, d, "retry", doc_bool(a, cfg->retry_safe));
	doc_set(a, d, "retries", doc_uint(a, res->retries));
	doc_set(a, d, "interrupted", doc_bool(a, res->interrupted));
	doc_set(a, d, "count", doc_uint(a, res->count));
	doc_set(a, d, "ok", doc_uint(a, res->ok));
	doc_set(a, d, "errors", doc_uint(a, res->count - res->ok));
	doc_set(a, d, "total_ms", doc_double(a, bench_ms(res->total_ns)));
	doc_set(a, d, "rps", doc_double(a, round(res->rps * 100) / 100));
	doc_set(a, d, "client_cpu_ms", doc_double(a, bench_ms(res->cpu_ns)));
	if (cfg->server_pid > 0) {
		doc_set(a, d, "server_pid", doc_uint(a, (uint64_t)cfg->server_pid));
		if (!res->server_cpu_err)
			doc_set(a, d, "server_cpu_ms",
				doc_double(a, bench_ms(res->server_cpu_ns)));
		else
			doc_set(a, d, "server_cpu_error",
				doc_str(a, server_cpu_why(res->server_cpu_err)));
	}
	doc_set(a, d, "latency_ms", bench_report_latency_doc(a, &res->latency));
	if (cfg->paced)
		doc_set(a, d, "start_lag_ms", bench_report_latency_doc(a, &res->lag));
	for (int s = 0; s <= 16; s++)
		if (res->status[s])
			doc_set(a, st, vcli_status_name(s), doc_uint(a, res->status[s]));
	doc_set(a, d, "status", st);
	for (size_t i = 0; i < res->nerrors; i++) {
		struct doc *e = doc_obj(a);

		doc_set(a, e, "status", doc_str(a, vcli_status_name(res->errors[i].status)));
		doc_set(a, e, "message", doc_str(a, res->errors[i].message));
		doc_set(a, e, "count", doc_uint(a, res->errors[i].count));
		doc_push(errs, e);
	}
	doc_set(a, d, "error_messages", errs);
	doc_set(a, d, "other_error_messages", doc_uint(a, res->errors_other));
	linear_bins(&res->latency, counts, marks, BENCH_REPORT_BINS);
	for (size_t k = 0; k < BENCH_REPORT_BINS && res->latency.count; k++) {
		struct doc *b = doc_obj(a);

		doc_set(a, b, "le_ms", doc_double(a, round(marks[k] / 1e3) / 1e3));
		doc_set(a, b, "count", doc_uint(a, counts[k]));
		doc_push(bins, b);
	}
	doc_set(a, d, "histogram", bins);
	for (size_t i = 0; i < cfg->ncalls; i++) {
		struct doc *c = doc_obj(a);

		doc_set(a, c, "call", doc_str(a, call_name(cfg, i)));
		doc_set(a, c, "weight", doc_uint(a, cfg->calls[i].weight));
		doc_set(a, c, "count", doc_uint(a, res->calls[i].count));
		doc_set(a, c, "ok", doc_uint(a, res->calls[i].ok));
		doc_set(a, c, "latency_ms",
			bench_report_latency_doc(a, &res->calls[i].latency));
		doc_push(calls, c);
	}
	doc_set(a, d, "calls", calls);
	return d;
}
