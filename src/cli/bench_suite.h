/*
 * Private to vcli bench: the suites, fixed sets of runs with targets.
 *
 *   validation  every load scenario of the validation matrix (one shared
 *               connection, N workers, 10 s deadline), a table of target,
 *               the earlier system's figure, ours and pass/miss;
 *   approvals   durable approvals per second: a session, N decisions
 *               submitted (not timed), then each approved exactly once.
 *
 * Each returns the exit code: 0 when every target is met, CLI_EXIT_TARGET
 * when one is missed, 3 when the server cannot be reached, 1 otherwise.
 */
#ifndef VCLI_CLI_BENCH_SUITE_H
#define VCLI_CLI_BENCH_SUITE_H

#include <stdint.h>

#include "vcli/client.h"

struct bench_suite_opts {
	vcli_client_options client;
	const char *server;
	int json;              /* -o json: one document instead of the table */
	int quick;             /* validation: Sustained runs 3 s, not 30 s */
	int progress;
	uint64_t approvals;    /* approvals: decisions to approve */
	unsigned connections;  /* approvals: default 50 */
	unsigned concurrency;  /* approvals: default = connections */
	uint64_t warmup;       /* approvals: extra decisions approved first */
	uint32_t deadline_ms;  /* approvals: per call */
	const char *operator_id;
	int server_pid;        /* approvals: > 0, report its CPU per call */
	int request_ids;       /* approvals: BENCH_RIDS_* */
	const uint8_t *decision;   /* approvals: packed Decision to submit, */
	size_t decision_len;       /* NULL: a small LOW one */
};

/* The approvals' request ids: none (the default), vcli's own form (the
 * time, then random: what `vcli gov approve` sends), or all random (as
 * a client sending UUIDv4s would). */
enum { BENCH_RIDS_NONE, BENCH_RIDS_TIME, BENCH_RIDS_RANDOM };

int bench_suite_validation(const struct bench_suite_opts *o);
int bench_suite_approvals(const struct bench_suite_opts *o);

#endif
