/*
 * Private to vcli bench: writing a run's result as the summary (text for
 * people, ghz-like), or as one JSON document (for CI and scripts).  The
 * per-call CSV is written by the engine as calls end.
 */
#ifndef VCLI_CLI_BENCH_REPORT_H
#define VCLI_CLI_BENCH_REPORT_H

#include <stdio.h>

#include "cli/bench_engine.h"
#include "cli/doc.h"

/* Bins of the summary's latency histogram. */
#define BENCH_REPORT_BINS 10

/* Writes the summary.  server is the address called. */
void bench_report_summary(FILE *f, const struct bench_config *cfg,
			  const char *server, const struct bench_result *res);

/* The result as a document (json: one object; see docs/commands/bench.md
 * for the keys).  NULL when memory ran out. */
struct doc *bench_report_doc(struct doc_arena *a,
			     const struct bench_config *cfg,
			     const char *server,
			     const struct bench_result *res);

/* min, mean, p50, p90, p95, p99, p99.9, max of h, in ms, as an object. */
struct doc *bench_report_latency_doc(struct doc_arena *a,
				     const struct hist *h);

/* A duration in ns as milliseconds with 3 decimals, as a number. */
double bench_ms(uint64_t ns);

/* The shape of the load in words: "1 connection, 50 workers, closed
 * loop, deadline 20s". */
void bench_report_shape(const struct bench_config *cfg, char *out,
			size_t outlen);

#endif
