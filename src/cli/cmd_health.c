/*
 * vcli health: is the server up, and is it healthy?
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "health.pb-c.h"

#define STD_HEALTH_CHECK "/grpc.health.v1.Health/Check"

static struct {
	int standard;
	const char *service;
} o;

static const struct opt health_options[] = {
	{ "standard", 0, OPT_FLAG, &o.standard,
	  "ask the standard grpc.health.v1 service (what Kubernetes' gRPC probe asks)",
	  NULL, NULL },
	{ "service", 0, OPT_STRING, &o.service,
	  "with --standard: the service to ask about (default \"\": the server)", NULL,
	  "NAME" },
	OPT_END,
};

static const struct cmd_spec health_spec = {
	.usage = "vcli health [--standard [--service NAME]] [options]",
	.description =
		"Calls the governance service's HealthCheck and prints what the\n"
		"server reports with the round-trip time of the call (which\n"
		"includes opening the connection).  With --standard it asks the\n"
		"standard grpc.health.v1.Health/Check instead, as a Kubernetes\n"
		"gRPC probe does, but over TLS too.  Exits 6 when the server\n"
		"answers but says it is not healthy (not SERVING), 7 when it\n"
		"does not know --service, 3 when it cannot be reached.\n",
	.options = health_options,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli health\n"
		"  vcli health --server 10.0.0.7:50051 -o json\n"
		"  vcli --tls --tls-ca ca.pem --server gov.example:443 health\n"
		"  vcli health --standard --service vertice.governance.v1.GovernanceService\n",
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

static const char *serving_name(int status)
{
	switch (status) {
	case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING: return "SERVING";
	case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING:
		return "NOT_SERVING";
	case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN:
		return "SERVICE_UNKNOWN";
	default: return "UNKNOWN";
	}
}

/* vcli health --standard: grpc.health.v1.Health/Check. */
static int standard_check(struct cli *cli)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *resp;
	uint8_t buf[600];
	vcli_call_options copts;
	vcli_call_result result;
	vcli_bytes out = { NULL, 0 };
	const char *status;
	double start, latency_ms;
	vcli_code code;
	int rc = CLI_EXIT_OK;

	if (o.service && strlen(o.service) > 512)
		return cli_usage_error(cli, "invalid value for '--service': longer than 512 bytes");
	req.service = (char *)(o.service ? o.service : "");
	cli_call_options(cli, &copts);
	copts.retry_safe = 1; /* a read */
	start = now_ms();
	code = vcli_client_unary(cli->client, STD_HEALTH_CHECK, buf,
				 grpc__health__v1__health_check_request__pack(&req, buf), &out,
				 &copts, &result);
	latency_ms = now_ms() - start;
	if (code != VCLI_OK) {
		cli_error("cannot call grpc.health.v1.Health/Check: %s", vcli_strerror(code));
		return CLI_EXIT_INTERNAL;
	}
	if (result.status != VCLI_STATUS_OK) {
		vcli_bytes_release(&out);
		return cli_call_failed(cli, "grpc.health.v1.Health/Check", &result);
	}
	resp = grpc__health__v1__health_check_response__unpack(NULL, out.len, out.data);
	vcli_bytes_release(&out);
	if (!resp) {
		cli_error("the answer of grpc.health.v1.Health/Check on '%s' does not decode",
			  cli->server);
		return CLI_EXIT_INTERNAL;
	}
	status = serving_name(resp->status);
	grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
	if (cli->output != OUTPUT_TABLE) {
		struct doc_arena a;
		struct doc *d;
		char ms[32];

		doc_arena_init(&a);
		d = doc_obj(&a);
		snprintf(ms, sizeof(ms), "%.2f", latency_ms);
		doc_set(&a, d, "server", doc_str(&a, cli->server));
		doc_set(&a, d, "service", doc_str(&a, req.service));
		doc_set(&a, d, "status", doc_str(&a, status));
		doc_set(&a, d, "latency_ms", doc_double(&a, strtod(ms, NULL)));
		rc = cli_print_doc(cli, &a, d);
		doc_arena_release(&a);
	} else {
		out_kv(stdout, "SERVER", "%s", cli->server);
		if (*req.service)
			out_kv(stdout, "SERVICE", "%s", req.service);
		out_kv(stdout, "STATUS", "%s", status);
		out_kv(stdout, "LATENCY", "%.2f ms", latency_ms);
	}
	if (rc != CLI_EXIT_OK)
		return rc;
	if (strcmp(status, "SERVING") != 0) {
		char shown[600];

		out_sanitize(shown, sizeof(shown), req.service);
		cli_error("server '%s' reports %s for service '%s'", cli->server, status, shown);
		return strcmp(status, "SERVICE_UNKNOWN") == 0 ? CLI_EXIT_NOT_FOUND :
								   CLI_EXIT_UNHEALTHY;
	}
	return CLI_EXIT_OK;
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
	if (o.service && !o.standard)
		return cli_usage_error(cli, "'--service' goes with '--standard'");
	if (o.standard)
		return standard_check(cli);
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
