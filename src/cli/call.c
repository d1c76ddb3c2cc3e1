/*
 * vcli: calling the governance service and reporting how calls ended
 * (declared in commands.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/pbjson.h"
#include "common/timeutil.h"

#define GOV_SERVICE "/vertice.governance.v1.GovernanceService/"

void cli_call_options(const struct cli *cli, vcli_call_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->deadline_ms = cli->cfg.timeout_ms;
	if (cli->auth_count) {
		opts->metadata = &cli->auth_md;
		opts->metadata_count = cli->auth_count;
	}
}

/* The unary methods vcli calls that are safe to send twice: reads, and
 * writes that always carry vcli's request id.  Anything else (sessions,
 * SubmitDecision without a key) is sent once. */
static const char *const retry_safe_methods[] = {
	"HealthCheck", "ListPendingDecisions", "GetDecision", "GetMetrics",
	"GetSessionStats", "ListAudit", "ListTokens",
	"ApproveDecision", "RejectDecision", "EscalateDecision",
};

int cli_method_retry_safe(const char *method)
{
	for (size_t i = 0; i < sizeof(retry_safe_methods) /
				sizeof(retry_safe_methods[0]); i++)
		if (strcmp(retry_safe_methods[i], method) == 0)
			return 1;
	return 0;
}

int cli_exit_for_status(int status)
{
	switch (status) {
	case VCLI_STATUS_OK:
		return CLI_EXIT_OK;
	case VCLI_STATUS_UNAVAILABLE:
		return CLI_EXIT_UNREACHABLE;
	case VCLI_STATUS_DEADLINE_EXCEEDED:
		return CLI_EXIT_DEADLINE;
	case VCLI_STATUS_NOT_FOUND:
		return CLI_EXIT_NOT_FOUND;
	case VCLI_STATUS_FAILED_PRECONDITION:
	case VCLI_STATUS_ALREADY_EXISTS:
	case VCLI_STATUS_ABORTED:
		return CLI_EXIT_CONFLICT;
	case VCLI_STATUS_INVALID_ARGUMENT:
	case VCLI_STATUS_OUT_OF_RANGE:
		return CLI_EXIT_REJECTED;
	case VCLI_STATUS_UNAUTHENTICATED:
	case VCLI_STATUS_PERMISSION_DENIED:
		return CLI_EXIT_DENIED;
	case VCLI_STATUS_RESOURCE_EXHAUSTED:
		return CLI_EXIT_EXHAUSTED;
	default:
		return CLI_EXIT_RPC;
	}
}

int cli_rpc_failed(const struct cli *cli, const char *method,
		   const char *action, const vcli_call_result *result)
{
	/* How the library words a failed connection; the address is in our
	 * own message already, so only the reason after it is kept. */
	static const struct {
		const char *before, *after;
	} library_prefixes[] = {
		{ "cannot connect to ", ": " },
		{ "connection to ", " failed: " },
	};
	char msg[sizeof(result->message)], dur[32], prefix[300], tries[48] = "";
	const char *reason = msg;

	out_sanitize(msg, sizeof(msg), result->message);
	if (result->attempts > 1)
		snprintf(tries, sizeof(tries), " (after %u attempts)",
			 result->attempts);
	switch (result->status) {
	case VCLI_STATUS_UNAVAILABLE:
		for (size_t i = 0; i < sizeof(library_prefixes) /
					   sizeof(library_prefixes[0]); i++) {
			int n = snprintf(prefix, sizeof(prefix), "%s%s%s",
					 library_prefixes[i].before,
					 cli->server,
					 library_prefixes[i].after);

			if (n > 0 && (size_t)n < sizeof(prefix) &&
			    strncmp(msg, prefix, (size_t)n) == 0) {
				reason = msg + n;
				break;
			}
		}
		/* A TLS server hangs up on a plaintext HTTP/2 preface; that is
		 * the usual reason for a close before any answer. */
		cli_error("cannot reach server '%s': %s%s%s", cli->server,
			  reason[0] ? reason : "unavailable", tries,
			  !cli->cfg.tls && strstr(reason, "closed by the server") ?
			  " (if the server uses TLS, add --tls)" : "");
		break;
	case VCLI_STATUS_DEADLINE_EXCEEDED:
		duration_format(cli->cfg.timeout_ms, dur, sizeof(dur));
		cli_error("no answer to %s from '%s' within '%s' (deadline "
			  "exceeded%s); a longer --timeout may help", method,
			  cli->server, dur, tries);
		break;
	default:
		if (msg[0])
			cli_error("%s: %s (%s)%s", action, msg,
				  vcli_status_name(result->status), tries);
		else
			cli_error("%s: %s%s", action,
				  vcli_status_name(result->status), tries);
		break;
	}
	return cli_exit_for_status(result->status);
}

int cli_call_failed(const struct cli *cli, const char *what,
		    const vcli_call_result *result)
{
	char action[384];

	snprintf(action, sizeof(action), "%s on '%s' failed", what,
		 cli->server);
	return cli_rpc_failed(cli, what, action, result);
}

int cli_unary_raw(struct cli *cli, const char *method, const uint8_t *req,
		  size_t len, const ProtobufCMessageDescriptor *rdesc,
		  ProtobufCMessage **resp, vcli_call_result *result)
{
	return cli_unary_call(cli, method, req, len,
			      cli_method_retry_safe(method), rdesc, resp,
			      result);
}

int cli_unary_call(struct cli *cli, const char *method, const uint8_t *req,
		   size_t len, int retry_safe,
		   const ProtobufCMessageDescriptor *rdesc,
		   ProtobufCMessage **resp, vcli_call_result *result)
{
	char path[128];
	vcli_bytes out = { NULL, 0 };
	vcli_call_options copts;
	vcli_code code;

	*resp = NULL;
	memset(result, 0, sizeof(*result));
	snprintf(path, sizeof(path), GOV_SERVICE "%s", method);
	cli_call_options(cli, &copts);
	copts.retry_safe = retry_safe;
	code = vcli_client_unary(cli->client, path, req, len, &out, &copts,
				 result);
	if (code != VCLI_OK) {
		result->status = VCLI_STATUS_INTERNAL;
		snprintf(result->message, sizeof(result->message),
			 "cannot call %s: %s", method, vcli_strerror(code));
		return -1;
	}
	if (result->status != VCLI_STATUS_OK)
		return -1;
	*resp = protobuf_c_message_unpack(rdesc, NULL, out.len, out.data);
	vcli_bytes_release(&out);
	if (!*resp) {
		result->status = VCLI_STATUS_INTERNAL;
		snprintf(result->message, sizeof(result->message),
			 "the answer to %s does not decode as %s", method,
			 rdesc->name);
		return -1;
	}
	return 0;
}

int cli_unary(struct cli *cli, const char *method, const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **resp,
	      vcli_call_result *result)
{
	uint8_t small[512], *buf = small;
	size_t len = protobuf_c_message_get_packed_size(req);
	int rc;

	if (len > sizeof(small) && !(buf = malloc(len))) {
		*resp = NULL;
		memset(result, 0, sizeof(*result));
		result->status = VCLI_STATUS_INTERNAL;
		snprintf(result->message, sizeof(result->message),
			 "out of memory");
		return -1;
	}
	protobuf_c_message_pack(req, buf);
	rc = cli_unary_raw(cli, method, buf, len, rdesc, resp, result);
	if (buf != small)
		free(buf);
	return rc;
}

int cli_print_doc(const struct cli *cli, const struct doc_arena *a,
		  const struct doc *d)
{
	int rc = cli->output == OUTPUT_YAML ? doc_write_yaml(stdout, a, d)
					    : doc_write_json(stdout, a, d);

	if (rc < 0) {
		cli_error("out of memory while writing the output");
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

int cli_print_message(const struct cli *cli, const ProtobufCMessage *m)
{
	struct doc_arena a;
	int rc;

	doc_arena_init(&a);
	rc = cli_print_doc(cli, &a, pbjson_to_doc(&a, m, PBJSON_ENUMS_ALWAYS));
	doc_arena_release(&a);
	return rc;
}

char *cli_read_input(const char *path, size_t max, size_t *len, int *rc)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *data;
	size_t n = 0;

	*rc = CLI_EXIT_USAGE;
	if (!f) {
		cli_error("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	data = malloc(max + 1);
	if (!data) {
		cli_error("out of memory");
		*rc = CLI_EXIT_INTERNAL;
		goto out;
	}
	while (n <= max) {
		size_t got = fread(data + n, 1, max + 1 - n, f);

		if (got == 0)
			break;
		n += got;
	}
	if (ferror(f)) {
		cli_error("cannot read '%s': %s", path, strerror(errno));
		free(data);
		data = NULL;
	} else if (n > max) {
		cli_error("'%s' is larger than %zu KiB", path, max / 1024);
		*rc = CLI_EXIT_REJECTED;
		free(data);
		data = NULL;
	}
out:
	if (f != stdin)
		fclose(f);
	*len = n;
	return data;
}
