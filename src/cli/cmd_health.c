/*
 * vcli health: is the server up, and is it healthy?
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/commands.h"

static const struct cmd_spec health_spec = {
	.usage = "vcli health [options]",
	.description =
		"Calls the governance service's HealthCheck and prints what the\n"
		"server reports with the round-trip time of the call (which\n"
		"includes opening the connection).  Exits 6 when the server\n"
		"answers but says it is not healthy, 3 when it cannot be\n"
		"reached.\n",
	.options = NULL,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli health\n"
		"  vcli health --server 10.0.0.7:50051 -o json\n"
		"  vcli --tls --tls-ca ca.pem --server gov.example:443 health\n",
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void print_table(const struct cli *cli, const vcli_health *h,
			double latency_ms)
{
	char uptime[64];

	out_format_uptime(h->uptime_seconds, uptime, sizeof(uptime));
	out_kv(stdout, "SERVER", "%s", cli->server);
	out_kv(stdout, "HEALTHY", "%s", h->healthy ? "yes" : "no");
	out_kv(stdout, "STATUS", "%s", h->status);
	out_kv(stdout, "UPTIME", "%s", uptime);
	out_kv(stdout, "LATENCY", "%.2f ms", latency_ms);
}

/* json and yaml.  The keys are snake_case: this command's interface
 * predates the governance commands' protobuf JSON mapping, and keys are
 * only ever added to. */
static int print_doc(const struct cli *cli, const vcli_health *h,
		     double latency_ms)
{
	struct doc_arena a;
	struct doc *d;
	char ms[32];
	int rc;

	doc_arena_init(&a);
	d = doc_obj(&a);
	snprintf(ms, sizeof(ms), "%.2f", latency_ms);
	doc_set(&a, d, "server", doc_str(&a, cli->server));
	doc_set(&a, d, "healthy", doc_bool(&a, h->healthy));
	doc_set(&a, d, "status", doc_str(&a, h->status));
	doc_set(&a, d, "uptime_seconds", doc_int(&a, h->uptime_seconds));
	doc_set(&a, d, "latency_ms", doc_double(&a, strtod(ms, NULL)));
	rc = cli_print_doc(cli, &a, d);
	doc_arena_release(&a);
	return rc;
}

int cmd_health(struct cli *cli, int argc, char **argv)
{
	vcli_call_options copts;
	vcli_call_result result;
	vcli_health health;
	vcli_code code;
	double start, latency_ms;
	int rc = cli_begin(cli, &health_spec, argc, argv);

	if (rc != CLI_PROCEED)
		return rc;
	cli_call_options(cli, &copts);
	copts.retry_safe = 1; /* a read */
	start = now_ms();
	code = vcli_client_health(cli->client, &copts, &health, &result);
	latency_ms = now_ms() - start;
	if (code != VCLI_OK) {
		cli_error("cannot call HealthCheck: %s", vcli_strerror(code));
		return CLI_EXIT_INTERNAL;
	}
	if (result.status != VCLI_STATUS_OK)
		return cli_call_failed(cli, "HealthCheck", &result);

	rc = CLI_EXIT_OK;
	if (cli->output != OUTPUT_TABLE)
		rc = print_doc(cli, &health, latency_ms);
	else
		print_table(cli, &health, latency_ms);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (!health.healthy) {
		char status[sizeof(health.status)];

		out_sanitize(status, sizeof(status), health.status);
		cli_error("server '%s' is not healthy (status '%s')",
			  cli->server, status);
		return CLI_EXIT_UNHEALTHY;
	}
	return CLI_EXIT_OK;
}
