/*
 * vcli bench: a load generator for governd (and any server of the same
 * services), in the manner of ghz: any unary method, request data and
 * metadata with per-request templates, closed or open loop with rate and
 * concurrency schedules, weighted mixes, and the validation and approvals
 * suites.  The engine is bench_engine.c; this file turns flags into its
 * configuration and prints what it measured.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/bench_engine.h"
#include "cli/bench_report.h"
#include "cli/bench_suite.h"
#include "cli/commands.h"
#include "cli/decision_json.h"
#include "common/procstat.h"

/* Defaults, as ghz has them where ghz has the option. */
#define DEFAULT_TOTAL 200
#define DEFAULT_CONCURRENCY 50
#define DEFAULT_DEADLINE_MS 20000
/* Each connection holds a 64 KiB read buffer and its socket: 1000 is
 * 64 MiB and within the usual 1024 open files. */
#define MAX_CONNECTIONS 1000
#define MAX_WORKERS 100000
#define MAX_THREADS 64
#define DATA_FILE_MAX (4u * 1024 * 1024)

enum bench_output { OUT_SUMMARY, OUT_JSON, OUT_CSV };
static const char *const output_values[] = { "summary", "json", "csv", NULL };
static const char *const suite_values[] = { "validation", "approvals", NULL };
/* In BENCH_RIDS_* order. */
static const char *const rid_values[] = { "none", "time", "random", NULL };

/* One process runs one command: the options live here. */
static struct {
	const char *call, *data, *data_file, *mix, *csv, *timeout;
	struct opt_list metadata, mix_data;
	const char *connections, *concurrency, *total, *duration, *rps;
	const char *warmup, *threads, *approvals, *server_pid, *decision_file;
	int output, suite, quick, no_progress, duration_stop, retry, request_ids;
	int load_schedule, conc_schedule;
	const char *load_start, *load_end, *load_step, *load_step_dur,
		*load_max_dur;
	const char *conc_start, *conc_end, *conc_step, *conc_step_dur,
		*conc_max_dur;
} o;

static const struct opt bench_options[] = {
	{ "call", 0, OPT_STRING, &o.call,
	  "method to call (or give it as the argument)", NULL, "METHOD" },
	{ "data", 'd', OPT_STRING, &o.data,
	  "request as protobuf JSON; {{.RequestNumber}} etc. per request",
	  NULL, "JSON" },
	{ "data-file", 'D', OPT_STRING, &o.data_file,
	  "request JSON from a file ('-': stdin)", NULL, "FILE" },
	{ "metadata", 'm', OPT_LIST, &o.metadata,
	  "metadata: key=value or a JSON object (repeatable)", NULL, "MD" },
	{ "mix", 0, OPT_STRING, &o.mix,
	  "weighted methods: HealthCheck:60,GetMetrics:40", NULL, "SPEC" },
	{ "mix-data", 0, OPT_LIST, &o.mix_data,
	  "request JSON of one method of the mix (repeatable)", NULL,
	  "METHOD=JSON" },
	{ "connections", 'c', OPT_STRING, &o.connections,
	  "connections (default 1)", NULL, "N" },
	{ "concurrency", 0, OPT_STRING, &o.concurrency,
	  "workers in all, one call in flight each (default 50)", NULL, "N" },
	{ "total", 'n', OPT_STRING, &o.total,
	  "calls to measure (default 200 without -z)", NULL, "N" },
	{ "duration", 'z', OPT_STRING, &o.duration,
	  "measure for this long (with -n: whichever ends first)", NULL, "DUR" },
	{ "rps", 'q', OPT_STRING, &o.rps,
	  "open loop: start calls at this rate, req/s", NULL, "RATE" },
	{ "load-schedule", 0, OPT_ENUM, &o.load_schedule,
	  "rate schedule (default const)", sched_kind_names, NULL },
	{ "load-start", 0, OPT_STRING, &o.load_start,
	  "rate at the start, req/s (step, line)", NULL, "RATE" },
	{ "load-end", 0, OPT_STRING, &o.load_end,
	  "rate to stop changing at, req/s", NULL, "RATE" },
	{ "load-step", 0, OPT_STRING, &o.load_step,
	  "rate change per step (negative: down)", NULL, "RATE" },
	{ "load-step-duration", 0, OPT_STRING, &o.load_step_dur,
	  "time between steps (line: per step, default 1s)", NULL, "DUR" },
	{ "load-max-duration", 0, OPT_STRING, &o.load_max_dur,
	  "stop changing the rate after this long", NULL, "DUR" },
	{ "concurrency-schedule", 0, OPT_ENUM, &o.conc_schedule,
	  "worker schedule (default const)", sched_kind_names, NULL },
	{ "concurrency-start", 0, OPT_STRING, &o.conc_start,
	  "workers at the start (default 1)", NULL, "N" },
	{ "concurrency-end", 0, OPT_STRING, &o.conc_end,
	  "workers to stop changing at", NULL, "N" },
	{ "concurrency-step", 0, OPT_STRING, &o.conc_step,
	  "workers added per step (negative: removed)", NULL, "N" },
	{ "concurrency-step-duration", 0, OPT_STRING, &o.conc_step_dur,
	  "time between steps (line: per step, default 1s)", NULL, "DUR" },
	{ "concurrency-max-duration", 0, OPT_STRING, &o.conc_max_dur,
	  "stop changing the workers after this long", NULL, "DUR" },
	{ "warmup", 0, OPT_STRING, &o.warmup,
	  "calls made first and left out of the figures", NULL, "N" },
	{ "timeout", 't', OPT_STRING, &o.timeout,
	  "deadline of each call (default 20s; 0: none)", NULL, "DUR" },
	{ "duration-stop", 0, OPT_ENUM, &o.duration_stop,
	  "calls in flight when -z ends (default wait)", bench_stop_names,
	  NULL },
	{ "threads", 0, OPT_STRING, &o.threads,
	  "event loops, one thread each (default 1)", NULL, "N" },
	{ "cpus", 0, OPT_STRING, &o.threads,
	  "the same as --threads (ghz's name)", NULL, "N" },
	{ "server-pid", 0, OPT_STRING, &o.server_pid,
	  "also report this process's CPU per call (a server on this "
	  "machine, from /proc/PID/stat)", NULL, "PID" },
	{ "output", 'o', OPT_ENUM, &o.output,
	  "output format (default summary)", output_values, NULL },
	{ "csv", 0, OPT_STRING, &o.csv,
	  "also write every call to FILE as CSV", NULL, "FILE" },
	{ "retry", 0, OPT_FLAG, &o.retry,
	  "retry calls on UNAVAILABLE with the global settings (--retries, "
	  "back-offs, breaker); idempotent loads only", NULL, NULL },
	{ "no-progress", 0, OPT_FLAG, &o.no_progress,
	  "no progress line (shown only when stderr is a terminal)", NULL,
	  NULL },
	{ "suite", 0, OPT_ENUM, &o.suite,
	  "run a suite with targets instead", suite_values, NULL },
	{ "quick", 0, OPT_FLAG, &o.quick,
	  "validation suite: Sustained for 3 s instead of 30 s", NULL, NULL },
	{ "approvals", 0, OPT_STRING, &o.approvals,
	  "approvals suite: decisions to approve (default 100000)", NULL, "N" },
	{ "decision-file", 0, OPT_STRING, &o.decision_file,
	  "approvals suite: the decision to submit, as JSON (as for gov "
	  "submit -f; default: a small LOW one)", NULL, "FILE" },
	{ "request-ids", 0, OPT_ENUM, &o.request_ids,
	  "approvals suite: a request id on each approval: vcli's (time, then "
	  "random), all random, or none (default)", rid_values, NULL },
	OPT_END,
};

static const struct cmd_spec bench_spec = {
	.usage = "vcli bench [METHOD] [options]",
	.description =
		"Drives load at the server and reports throughput, latency\n"
		"percentiles, a latency histogram and every status code.  All\n"
		"connections run on one event loop (--threads for more).\n"
		"Without -q, each worker starts its next call when the last one\n"
		"ends (closed loop).  With -q or a --load-schedule, each call is\n"
		"due at a time set by the rate and its latency counts from then,\n"
		"so a stall cannot hide by slowing the load down (open loop).\n"
		"METHOD is HealthCheck, GovernanceService/ApproveDecision,\n"
		"grpc.health.v1.Health/Check, ...  --suite runs the validation\n"
		"matrix or the durable approvals figure against their targets.\n",
	.options = bench_options,
	.min_args = 0,
	.max_args = 1,
	.examples =
		"  vcli bench HealthCheck -n 100000 --concurrency 100\n"
		"  vcli bench ListPendingDecisions -d '{\"limit\":10,\"status\":"
		"\"PENDING\"}' -z 30s\n"
		"  vcli bench GetMetrics -q 1000 -z 30s --concurrency 10 -o json\n"
		"  vcli bench SubmitDecision -n 1000 -d '{\"decision\":"
		"{\"operationType\":\"block_ip\"},\"idempotencyKey\":"
		"\"k-{{.UUID}}\"}'\n"
		"  vcli bench --mix 'HealthCheck:60,ListPendingDecisions:20,"
		"GetMetrics:20' -n 5000\n"
		"  vcli bench Check --load-schedule step --load-start 1000 "
		"--load-step 1000 --load-step-duration 5s --load-end 10000 "
		"-z 1m\n"
		"  vcli bench --suite validation\n"
		"  vcli bench --suite approvals --approvals 100000\n",
};

/* Set by the first Ctrl-C (or SIGTERM): the run stops starting calls and
 * reports what it measured; a second one ends vcli at once. */
static volatile int interrupted;

static void on_interrupt(int sig)
{
	interrupted = 1;
	signal(sig, SIG_DFL);
}

/* Exit status after an interrupted run, as shells report SIGINT. */
#define EXIT_INTERRUPTED 130

static void reset_options(void)
{
	memset(&o, 0, sizeof(o));
	o.output = -1;
	o.suite = -1;
	o.request_ids = -1;
	o.load_schedule = -1;
	o.conc_schedule = -1;
	o.duration_stop = BENCH_STOP_WAIT;
}

/* Parses an optional count; *out keeps its default when text is NULL. */
static int opt_uint(const struct cli *cli, const char *flag, const char *text,
		    uint64_t min, uint64_t max, uint64_t *out)
{
	char err[256];

	if (!text)
		return 0;
	if (bench_parse_uint(flag, text, min, max, out, err, sizeof(err)) < 0) {
		cli_usage_error(cli, "%s", err);
		return -1;
	}
	return 0;
}

static int opt_number(const struct cli *cli, const char *flag, const char *text,
		      int allow_negative, double *out)
{
	char err[256];

	if (!text)
		return 0;
	if (bench_parse_number(flag, text, allow_negative, out, err,
			       sizeof(err)) < 0) {
		cli_usage_error(cli, "%s", err);
		return -1;
	}
	return 0;
}

static int opt_duration(const struct cli *cli, const char *flag,
			const char *text, int allow_zero, uint64_t *ns)
{
	char err[256];

	if (!text)
		return 0;
	if (bench_parse_duration(flag, text, allow_zero, ns, err,
				 sizeof(err)) < 0) {
		cli_usage_error(cli, "%s", err);
		return -1;
	}
	return 0;
}

/* --server-pid: a process whose CPU time this user can read now. */
static int server_pid_option(const struct cli *cli, int *pid)
{
	uint64_t v = 0, ns;

	*pid = 0;
	if (!o.server_pid)
		return 0;
	if (opt_uint(cli, "--server-pid", o.server_pid, 1, INT32_MAX, &v) < 0)
		return -1;
	if (procstat_cpu_ns((int)v, &ns) < 0) {
		cli_usage_error(cli, "cannot read the CPU time of process %s "
				"(--server-pid): %s", o.server_pid,
				errno == ENOENT ? "no such process" : strerror(errno));
		return -1;
	}
	*pid = (int)v;
	return 0;
}

/* The per-call deadline: -t, else a configured --timeout (flag before the
 * command, VCLI_TIMEOUT, the config file), else 20 s as ghz has it. */
/*
 * The client options of a run: the global settings, but without retries,
 * reconnect back-off or circuit breaker unless --retry, so that a run's
 * figures (errors included) stay comparable with runs made before the
 * library had them.
 */
static void bench_client_options(const struct cli *cli,
				 vcli_client_options *opts)
{
	cli_client_options(cli, opts);
	if (o.retry)
		return;
	opts->retry.max_attempts = 1;
	opts->reconnect_off = 1;
	opts->breaker.off = 1;
}

static int deadline(const struct cli *cli, uint32_t *ms)
{
	uint64_t ns = 0;

	if (o.timeout) {
		if (opt_duration(cli, "-t", o.timeout, 1, &ns) < 0)
			return -1;
		*ms = (uint32_t)(ns / 1000000);
		return 0;
	}
	*ms = cli->cfg.s[CFG_TIMEOUT].origin != CFG_ORIGIN_DEFAULT ?
	      cli->cfg.timeout_ms : DEFAULT_DEADLINE_MS;
	return 0;
}

static int rate_options(const struct cli *cli, struct bench_config *cfg)
{
	struct sched_spec *r = &cfg->rate;
	int kind = o.load_schedule < 0 ? SCHED_CONST : o.load_schedule;

	memset(r, 0, sizeof(*r));
	r->kind = (enum sched_kind)kind;
	if (kind == SCHED_CONST) {
		if (o.load_end || o.load_step || o.load_step_dur || o.load_max_dur)
			return cli_usage_error(cli, "--load-end, --load-step and "
					       "their durations need "
					       "--load-schedule step or line");
		if (o.rps && o.load_start)
			return cli_usage_error(cli, "give the rate once: -q or "
					       "--load-start");
		if (!o.rps && !o.load_start)
			return CLI_PROCEED; /* closed loop */
		if (opt_number(cli, o.rps ? "-q" : "--load-start",
			       o.rps ? o.rps : o.load_start, 0, &r->start) < 0)
			return CLI_EXIT_USAGE;
		if (!(r->start > 0))
			return cli_usage_error(cli, "invalid rate '%s' for '-q' "
					       "(use a number above 0)",
					       o.rps ? o.rps : o.load_start);
		cfg->paced = 1;
		return CLI_PROCEED;
	}
	if (o.rps)
		return cli_usage_error(cli, "-q is the constant rate; with "
				       "--load-schedule %s give --load-start",
				       sched_kind_names[kind]);
	if (opt_number(cli, "--load-start", o.load_start, 0, &r->start) < 0 ||
	    opt_number(cli, "--load-end", o.load_end, 0, &r->end) < 0 ||
	    opt_number(cli, "--load-step", o.load_step, 1, &r->step) < 0 ||
	    opt_duration(cli, "--load-step-duration", o.load_step_dur, 0,
			 &r->step_ns) < 0 ||
	    opt_duration(cli, "--load-max-duration", o.load_max_dur, 0,
			 &r->max_ns) < 0)
		return CLI_EXIT_USAGE;
	cfg->paced = 1;
	return CLI_PROCEED;
}

static int worker_options(const struct cli *cli, struct bench_config *cfg)
{
	struct sched_spec *w = &cfg->workers;
	int kind = o.conc_schedule < 0 ? SCHED_CONST : o.conc_schedule;
	uint64_t v = DEFAULT_CONCURRENCY;
	char err[300];

	memset(w, 0, sizeof(*w));
	w->kind = (enum sched_kind)kind;
	if (kind == SCHED_CONST) {
		if (o.conc_start || o.conc_end || o.conc_step ||
		    o.conc_step_dur || o.conc_max_dur)
			return cli_usage_error(cli, "--concurrency-start, -end, "
					       "-step and their durations need "
					       "--concurrency-schedule step or "
					       "line");
		if (opt_uint(cli, "--concurrency", o.concurrency, 1, MAX_WORKERS,
			     &v) < 0)
			return CLI_EXIT_USAGE;
		w->start = (double)v;
		return CLI_PROCEED;
	}
	if (o.concurrency)
		return cli_usage_error(cli, "--concurrency is the constant "
				       "worker count; with --concurrency-schedule "
				       "%s give --concurrency-start",
				       sched_kind_names[kind]);
	w->start = 1;
	if (opt_number(cli, "--concurrency-start", o.conc_start, 0, &w->start) < 0 ||
	    opt_number(cli, "--concurrency-end", o.conc_end, 0, &w->end) < 0 ||
	    opt_number(cli, "--concurrency-step", o.conc_step, 1, &w->step) < 0 ||
	    opt_duration(cli, "--concurrency-step-duration", o.conc_step_dur, 0,
			 &w->step_ns) < 0 ||
	    opt_duration(cli, "--concurrency-max-duration", o.conc_max_dur, 0,
			 &w->max_ns) < 0)
		return CLI_EXIT_USAGE;
	if (conc_sched_check(w, err, sizeof(err)) < 0)
		return cli_usage_error(cli, "%s", err);
	return CLI_PROCEED;
}

/* The methods and their data: one --call (or argument), or a --mix. */
static int call_options(const struct cli *cli, struct bench_config *cfg,
			char **data, size_t *data_len)
{
	const char *name = o.call ? o.call : cli->nargs ? cli->args[0] : NULL;
	struct bench_mix_item items[BENCH_MIX_MAX];
	char err[1024];
	int n, rc;

	if (o.call && cli->nargs)
		return cli_usage_error(cli, "give the method once: '%s' or "
				       "--call '%s'", cli->args[0], o.call);
	if (name && o.mix)
		return cli_usage_error(cli, "give one method or --mix, not both");
	if (!name && !o.mix)
		return cli_usage_error(cli, "no method given (use METHOD, "
				       "--call METHOD or --mix SPEC)");
	if (o.data && o.data_file)
		return cli_usage_error(cli, "give the data once: -d or -D");
	if (o.mix && (o.data || o.data_file))
		return cli_usage_error(cli, "with --mix, give each method's data "
				       "with --mix-data METHOD=JSON");
	if (!o.mix && o.mix_data.n)
		return cli_usage_error(cli, "--mix-data needs --mix");
	if (name) {
		if (bench_method_resolve(name, &cfg->calls[0].method, err,
					 sizeof(err)) < 0)
			return cli_usage_error(cli, "%s", err);
		cfg->calls[0].weight = 1;
		cfg->ncalls = 1;
		if (o.data) {
			cfg->calls[0].data = o.data;
			cfg->calls[0].data_len = strlen(o.data);
		} else if (o.data_file) {
			*data = cli_read_input(o.data_file, DATA_FILE_MAX, data_len,
					       &rc);
			if (!*data)
				return rc == CLI_EXIT_REJECTED ? CLI_EXIT_USAGE : rc;
			cfg->calls[0].data = *data;
			cfg->calls[0].data_len = *data_len;
		}
		return CLI_PROCEED;
	}
	n = bench_mix_parse(o.mix, items, BENCH_MIX_MAX, err, sizeof(err));
	if (n < 0)
		return cli_usage_error(cli, "invalid --mix '%s': %s", o.mix, err);
	for (int i = 0; i < n; i++) {
		if (bench_method_resolve(items[i].name, &cfg->calls[i].method, err,
					 sizeof(err)) < 0)
			return cli_usage_error(cli, "invalid --mix '%s': %s",
					       o.mix, err);
		cfg->calls[i].weight = items[i].weight;
	}
	cfg->ncalls = (size_t)n;
	for (int k = 0; k < o.mix_data.n; k++) {
		const char *arg = o.mix_data.v[k], *eq = strchr(arg, '=');
		struct bench_method m;
		char mname[256];
		int found = 0;

		if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(mname))
			return cli_usage_error(cli, "invalid --mix-data '%s' (use "
					       "METHOD=JSON)", arg);
		memcpy(mname, arg, (size_t)(eq - arg));
		mname[eq - arg] = '\0';
		if (bench_method_resolve(mname, &m, err, sizeof(err)) < 0)
			return cli_usage_error(cli, "invalid --mix-data '%s': %s",
					       arg, err);
		for (size_t i = 0; i < cfg->ncalls; i++)
			if (strcmp(cfg->calls[i].method.full, m.full) == 0) {
				cfg->calls[i].data = eq + 1;
				cfg->calls[i].data_len = strlen(eq + 1);
				found = 1;
			}
		if (!found)
			return cli_usage_error(cli, "invalid --mix-data '%s': "
					       "'%s' is not in --mix", arg, mname);
	}
	return CLI_PROCEED;
}

static int print_result(const struct cli *cli, int output,
			const struct bench_config *cfg,
			const struct bench_result *res)
{
	struct doc_arena a;
	int rc = 0;

	if (output == OUT_CSV)
		return CLI_EXIT_OK; /* written as the calls ended */
	if (output == OUT_SUMMARY) {
		bench_report_summary(stdout, cfg, cli->server, res);
		return CLI_EXIT_OK;
	}
	doc_arena_init(&a);
	if (doc_write_json(stdout, &a, bench_report_doc(&a, cfg, cli->server,
							 res)) < 0)
		rc = -1;
	doc_arena_release(&a);
	if (rc < 0) {
		cli_error("out of memory while writing the output");
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

/* A run that connected but in which no call got through (every failure
 * UNAVAILABLE: say, TLS refused after the handshake, or a server going
 * away) did not measure the server: exit 3 after the report. */
static int unreachable(const struct cli *cli, const struct bench_result *res)
{
	if (res->ok || !res->status[VCLI_STATUS_UNAVAILABLE] ||
	    res->status[VCLI_STATUS_UNAVAILABLE] != res->count)
		return CLI_EXIT_OK;
	for (size_t i = 0; i < res->nerrors; i++)
		if (res->errors[i].status == VCLI_STATUS_UNAVAILABLE) {
			char msg[sizeof(res->errors[i].message)];

			out_sanitize(msg, sizeof(msg), res->errors[i].message);
			cli_error("cannot reach server '%s': every call ended "
				  "UNAVAILABLE (%s)", cli->server, msg);
			return CLI_EXIT_UNREACHABLE;
		}
	cli_error("cannot reach server '%s': every call ended UNAVAILABLE",
		  cli->server);
	return CLI_EXIT_UNREACHABLE;
}

static int run_suite(struct cli *cli, int output)
{
	struct bench_suite_opts so;
	uint64_t v;
	int rc;

	if (o.retry)
		return cli_usage_error(cli, "--retry is for a load of your own: "
				       "a suite's targets are measured without "
				       "retries");
	if (o.call || cli->nargs || o.mix || o.data || o.data_file || o.total ||
	    o.duration || o.rps || o.load_schedule >= 0 ||
	    o.conc_schedule >= 0 || o.csv || o.metadata.n)
		return cli_usage_error(cli, "--suite runs its own calls: leave "
				       "out the method, data, -n, -z, -q, "
				       "schedules, -m and --csv");
	if (output == OUT_CSV)
		return cli_usage_error(cli, "--suite writes summary or json, "
				       "not csv");
	memset(&so, 0, sizeof(so));
	bench_client_options(cli, &so.client);
	so.server = cli->server;
	so.json = output == OUT_JSON;
	so.quick = o.quick;
	so.progress = !o.no_progress && isatty(STDERR_FILENO);
	so.operator_id = cli->cfg.operator_id;
	if (o.suite == 0) {
		if (o.approvals || o.connections || o.concurrency || o.warmup ||
		    o.timeout || o.threads || o.server_pid || o.request_ids >= 0 ||
		    o.decision_file)
			return cli_usage_error(cli, "the validation suite has the "
					       "matrix's shape: leave out "
					       "--approvals, -c, --concurrency, "
					       "--warmup, -t, --threads, "
					       "--request-ids, --decision-file and "
					       "--server-pid");
		return bench_suite_validation(&so);
	}
	if (o.quick)
		return cli_usage_error(cli, "--quick is for --suite validation");
	if (o.threads)
		return cli_usage_error(cli, "the approvals suite runs on one "
				       "thread; leave out --threads");
	v = 100000;
	if (opt_uint(cli, "--approvals", o.approvals, 1, 10000000, &v) < 0)
		return CLI_EXIT_USAGE;
	so.approvals = v;
	v = 50;
	if (opt_uint(cli, "-c", o.connections, 1, MAX_CONNECTIONS, &v) < 0)
		return CLI_EXIT_USAGE;
	so.connections = (unsigned)v;
	if (opt_uint(cli, "--concurrency", o.concurrency, 1, MAX_WORKERS, &v) < 0)
		return CLI_EXIT_USAGE;
	so.concurrency = (unsigned)v;
	v = 0;
	if (opt_uint(cli, "--warmup", o.warmup, 0, 10000000, &v) < 0)
		return CLI_EXIT_USAGE;
	so.warmup = v;
	so.request_ids = o.request_ids >= 0 ? o.request_ids : BENCH_RIDS_NONE;
	if (deadline(cli, &so.deadline_ms) < 0 ||
	    server_pid_option(cli, &so.server_pid) < 0)
		return CLI_EXIT_USAGE;
	if (o.decision_file) {
		struct decision_json dj;
		char err[600];
		size_t len;
		char *text = cli_read_input(o.decision_file, DECISION_JSON_MAX, &len, &rc);
		const char *shown = strcmp(o.decision_file, "-") == 0 ? "stdin" : o.decision_file;

		if (!text)
			return rc;
		rc = decision_json_parse(text, len, NULL, &dj, err, sizeof(err));
		free(text);
		if (rc < 0)
			return cli_usage_error(cli, "--decision-file %s: %s", shown, err);
		if (dj.idempotency_key && dj.idempotency_key[0]) {
			decision_json_release(&dj);
			return cli_usage_error(cli, "--decision-file %s: its idempotencyKey "
					       "would make every submission the same "
					       "decision; leave it out", shown);
		}
		so.decision = dj.decision;
		so.decision_len = dj.decision_len;
		rc = bench_suite_approvals(&so);
		decision_json_release(&dj);
		return rc;
	}
	return bench_suite_approvals(&so);
}

int cmd_bench(struct cli *cli, int argc, char **argv)
{
	struct bench_config cfg;
	struct bench_result res;
	char *data = NULL, err[600];
	size_t data_len = 0;
	uint64_t v;
	int output, rc;
	FILE *csv = NULL;

	reset_options();
	rc = cli_begin(cli, &bench_spec, argc, argv);
	if (rc != CLI_PROCEED)
		return rc;
	/* A server that resets a connection must not kill the run with
	 * SIGPIPE (the write fails, the calls end UNAVAILABLE); a closed
	 * stdout is noticed when main() flushes it. */
	signal(SIGPIPE, SIG_IGN);
	/* -o after the command is bench's own; before it (or from the
	 * settings), json is json and the rest is the summary. */
	output = o.output >= 0 ? o.output :
		 cli->output == OUTPUT_JSON ? OUT_JSON : OUT_SUMMARY;
	if (o.suite >= 0)
		return run_suite(cli, output);
	if (o.quick || o.approvals || o.request_ids >= 0 || o.decision_file)
		return cli_usage_error(cli, "--quick, --approvals, --request-ids and "
				       "--decision-file go with --suite");

	memset(&cfg, 0, sizeof(cfg));
	rc = call_options(cli, &cfg, &data, &data_len);
	if (rc != CLI_PROCEED)
		goto out;
	rc = CLI_EXIT_USAGE;
	bench_client_options(cli, &cfg.client);
	cfg.retry_safe = o.retry;
	v = 1;
	if (opt_uint(cli, "-c", o.connections, 1, MAX_CONNECTIONS, &v) < 0)
		goto out;
	cfg.connections = (unsigned)v;
	if (worker_options(cli, &cfg) != CLI_PROCEED ||
	    rate_options(cli, &cfg) != CLI_PROCEED)
		goto out;
	if (opt_uint(cli, "-n", o.total, 1, UINT64_C(1) << 48, &cfg.total) < 0 ||
	    opt_duration(cli, "-z", o.duration, 0, &cfg.duration_ns) < 0 ||
	    opt_uint(cli, "--warmup", o.warmup, 0, UINT64_C(1) << 40,
		     &cfg.warmup) < 0 ||
	    deadline(cli, &cfg.deadline_ms) < 0)
		goto out;
	if (!o.total && !o.duration)
		cfg.total = DEFAULT_TOTAL;
	v = 1;
	if (opt_uint(cli, "--threads", o.threads, 1, MAX_THREADS, &v) < 0)
		goto out;
	cfg.threads = (unsigned)v;
	if (cfg.threads > cfg.connections) {
		cli_usage_error(cli, "--threads %u needs at least %u connections "
				"(-c %u)", cfg.threads, cfg.threads, cfg.threads);
		goto out;
	}
	if (server_pid_option(cli, &cfg.server_pid) < 0)
		goto out;
	cfg.stop = (enum bench_stop)o.duration_stop;
	{
		static struct bench_md_list md;

		for (int i = 0; i < o.metadata.n; i++)
			if (bench_md_parse(&md, o.metadata.v[i], err,
					   sizeof(err)) < 0) {
				bench_md_release(&md);
				cli_usage_error(cli, "%s", err);
				goto out;
			}
		cfg.metadata = &md;
	}
	if (output == OUT_CSV && o.csv) {
		cli_usage_error(cli, "give either -o csv (to stdout) or --csv FILE");
		goto out;
	}
	if (output == OUT_CSV) {
		cfg.csv = stdout;
	} else if (o.csv) {
		csv = fopen(o.csv, "w");
		if (!csv) {
			cli_error("cannot write '%s': %s", o.csv, strerror(errno));
			goto out;
		}
		cfg.csv = csv;
	}
	cfg.csv_header = 1;
	cfg.progress = !o.no_progress && isatty(STDERR_FILENO);
	cfg.interrupt = &interrupted;
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);

	if (bench_result_init(&res) < 0) {
		cli_error("out of memory");
		rc = CLI_EXIT_INTERNAL;
		goto out;
	}
	switch (bench_run(&cfg, &res, err, sizeof(err))) {
	case BENCH_OK:
		rc = print_result(cli, output, &cfg, &res);
		if (rc == CLI_EXIT_OK)
			rc = unreachable(cli, &res);
		if (rc == CLI_EXIT_OK && res.interrupted) {
			cli_error("interrupted: the report covers the calls made "
				  "until then");
			rc = EXIT_INTERRUPTED;
		}
		break;
	case BENCH_E_USAGE:
		rc = cli_usage_error(cli, "%s", err);
		break;
	case BENCH_E_CONNECT:
		cli_error("cannot reach server '%s': %s", cli->server, err);
		rc = CLI_EXIT_UNREACHABLE;
		break;
	default:
		cli_error("%s", err);
		rc = CLI_EXIT_INTERNAL;
		break;
	}
	bench_result_release(&res);
out:
	if (cfg.metadata)
		bench_md_release((struct bench_md_list *)cfg.metadata);
	if (csv && fclose(csv) != 0 && rc == CLI_EXIT_OK) {
		cli_error("cannot write '%s': %s", o.csv, strerror(errno));
		rc = CLI_EXIT_INTERNAL;
	}
	free(data);
	return rc;
}
