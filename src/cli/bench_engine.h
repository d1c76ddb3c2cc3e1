/*
 * Private to vcli bench: the load engine.
 *
 * A run is N connections (vcli clients) and M workers on one libuv loop,
 * or spread over --threads loops, one thread each.  A worker makes one
 * unary call at a time on its connection (worker w uses connection
 * w mod N), so M is the number of calls in flight.
 *
 * Closed loop (no rate): a worker starts its next call as soon as the last
 * one ends.  Open loop (a rate schedule): request i is due at the time the
 * schedule gives it (bench_sched.h); a free worker starts it then, or as
 * soon as one is free when all are busy.  Latency is measured from the
 * due time, and the start lag (start - due) is reported on its own.
 *
 * Phases: connect every client (not timed), the warm-up calls (closed
 * loop, not recorded), then the measured calls.  The engine only measures:
 * what to print is bench_report.h's business, and the exit status the
 * command's.
 */
#ifndef VCLI_CLI_BENCH_ENGINE_H
#define VCLI_CLI_BENCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vcli/client.h"
#include "cli/bench_input.h"
#include "cli/bench_sched.h"
#include "common/buf.h"
#include "common/hist.h"

/* One method of the run; a mix has several, each with its weight. */
struct bench_call_def {
	struct bench_method method;
	const char *data;        /* JSON request data, or NULL */
	size_t data_len;
	unsigned weight;         /* 1 without a mix */
};

/*
 * Builds request request_number's bytes into out instead of the data
 * (the suites use it for requests that refer to ids they collected).
 * Returns 0, or -1 to fail that call locally.  With --threads above 1 it
 * runs on several threads at once.
 */
typedef int (*bench_request_fn)(void *ud, uint64_t request_number,
				unsigned call, buf *out);

/* Sees every measured response (status OK or not). */
typedef void (*bench_response_fn)(void *ud, uint64_t request_number,
				  unsigned call, int status,
				  const uint8_t *resp, size_t len);

enum bench_stop {
	BENCH_STOP_WAIT = 0,   /* at the end of -z, let calls in flight end */
	BENCH_STOP_CLOSE = 1,  /* cancel them: counted as CANCELLED */
	BENCH_STOP_IGNORE = 2, /* cancel them: not counted */
};

extern const char *const bench_stop_names[]; /* "wait", "close", "ignore" */

struct bench_config {
	vcli_client_options client;   /* endpoint, TLS, connect timeout */
	struct bench_call_def calls[BENCH_MIX_MAX];
	size_t ncalls;
	const struct bench_md_list *metadata;
	unsigned connections;         /* >= 1 */
	struct sched_spec workers;    /* SCHED_CONST: start = --concurrency */
	int paced;                    /* 1: rate is the schedule */
	struct sched_spec rate;
	uint64_t total;               /* measured calls; 0: until duration */
	uint64_t duration_ns;         /* 0: until total */
	uint64_t warmup;              /* calls before measuring */
	uint32_t deadline_ms;         /* per call; 0: none */
	int retry_safe;               /* 1: calls may be retried (the
					 client's retry policy) */
	unsigned threads;             /* loops (and threads); >= 1 */
	enum bench_stop stop;
	FILE *csv;                    /* a line per measured call, or NULL */
	int csv_header;               /* 1: write the header line first */
	int progress;                 /* 1: a progress line on stderr */
	/* Polled by the engine: once it holds non-zero, no call starts and
	 * the run ends when the calls in flight have (a signal handler sets
	 * it; NULL: never). */
	volatile int *interrupt;
	int server_pid;               /* > 0: report that process's CPU too */
	bench_request_fn make_request;/* NULL: the calls' data */
	bench_response_fn on_response;
	void *ud;
};

/* Distinct error messages kept, by status and text. */
#define BENCH_ERRMSG_MAX 16

struct bench_errmsg {
	int status;
	char message[200];
	uint64_t count;
};

struct bench_call_stats {
	uint64_t count, ok;
	struct hist latency;
};

struct bench_result {
	uint64_t count;               /* measured calls that ended */
	uint64_t ok;
	uint64_t status[17];          /* by gRPC status code */
	struct hist latency;          /* ns, every measured call */
	struct hist lag;              /* ns, open loop only */
	struct bench_call_stats calls[BENCH_MIX_MAX];
	struct bench_errmsg errors[BENCH_ERRMSG_MAX];
	size_t nerrors;
	uint64_t errors_other;        /* beyond the kept messages */
	uint64_t warmup;              /* warm-up calls made */
	uint64_t retries;             /* attempts beyond the first, measured
					 calls (retry_safe) */
	uint64_t total_ns;            /* first due time to the last end */
	double rps;                   /* count / total */
	uint64_t cpu_ns;              /* vcli's user + system CPU, measured
					 phase */
	uint64_t server_cpu_ns;       /* cfg->server_pid's, the same phase */
	int server_cpu_err;           /* 0: server_cpu_ns measured; else the
					 errno of reading it (or -1: not
					 asked) */
	unsigned max_workers;
	int interrupted;              /* cfg->interrupt ended the run early */
};

int bench_result_init(struct bench_result *r);
void bench_result_release(struct bench_result *r);

enum bench_code {
	BENCH_OK = 0,
	BENCH_E_USAGE = 1,      /* bad data, TLS files, ... */
	BENCH_E_CONNECT = 2,    /* a connection could not be opened */
	BENCH_E_INTERNAL = 3,   /* out of memory, a thread would not start */
};

/*
 * Runs cfg and fills res (initialised by the caller).  Returns BENCH_OK,
 * or a code with a message for "vcli: <err>".
 */
int bench_run(const struct bench_config *cfg, struct bench_result *res,
	      char *err, size_t errlen);

#endif
