/*
 * Typed calls of the public client library (include/vcli/client.h), built
 * on the transport's generic calls.  The protobuf-c types stay in here: the
 * public header speaks plain C structs.
 */
#include "vcli/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance.pb-c.h"

#define GOV_SERVICE "/vertice.governance.v1.GovernanceService/"

vcli_code vcli_client_health(vcli_client *client, const vcli_call_options *opts,
			     vcli_health *health, vcli_call_result *result)
{
	Vertice__Governance__V1__HealthCheckRequest req =
		VERTICE__GOVERNANCE__V1__HEALTH_CHECK_REQUEST__INIT;
	Vertice__Governance__V1__HealthCheckResponse *resp;
	uint8_t reqbuf[16];
	size_t reqlen;
	vcli_bytes out = { NULL, 0 };
	vcli_code rc;

	if (!health || !result)
		return VCLI_E_INVALID;
	memset(health, 0, sizeof(*health));
	reqlen = vertice__governance__v1__health_check_request__pack(&req, reqbuf);
	rc = vcli_client_unary(client, GOV_SERVICE "HealthCheck", reqbuf, reqlen, &out,
			       opts, result);
	if (rc != VCLI_OK || result->status != VCLI_STATUS_OK)
		return rc;
	resp = vertice__governance__v1__health_check_response__unpack(NULL, out.len,
								      out.data);
	vcli_bytes_release(&out);
	if (!resp) {
		result->status = VCLI_STATUS_INTERNAL;
		snprintf(result->message, sizeof(result->message),
			 "cannot decode HealthCheck response");
		return VCLI_OK;
	}
	health->healthy = resp->healthy;
	snprintf(health->status, sizeof(health->status), "%s",
		 resp->status ? resp->status : "");
	health->uptime_seconds = resp->uptime_seconds;
	vertice__governance__v1__health_check_response__free_unpacked(resp, NULL);
	return VCLI_OK;
}

static char *str_or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

vcli_code vcli_client_record_execution(vcli_client *client, const vcli_call_options *opts,
				       const char *session_id, const char *decision_id,
				       const vcli_execution *ex, const char *request_id,
				       vcli_execution_result *out, vcli_call_result *result)
{
	Vertice__Governance__V1__RecordExecutionRequest req =
		VERTICE__GOVERNANCE__V1__RECORD_EXECUTION_REQUEST__INIT;
	Vertice__Governance__V1__ExecutionRecord rec =
		VERTICE__GOVERNANCE__V1__EXECUTION_RECORD__INIT;
	Vertice__Governance__V1__RecordExecutionResponse *resp;
	vcli_call_options copts;
	vcli_bytes raw = { NULL, 0 };
	uint8_t *reqbuf;
	size_t reqlen;
	vcli_code rc;

	if (!client || !session_id || !decision_id || !ex || !out || !result)
		return VCLI_E_INVALID;
	memset(out, 0, sizeof(*out));
	rec.action_type = str_or_empty(ex->action_type);
	rec.action_index = ex->action_index;
	rec.succeeded = ex->succeeded ? 1 : 0;
	rec.detail = str_or_empty(ex->detail);
	rec.target = str_or_empty(ex->target);
	req.session_id = (char *)session_id;
	req.decision_id = (char *)decision_id;
	req.request_id = str_or_empty(request_id);
	req.execution = &rec;
	if (opts)
		copts = *opts;
	else
		memset(&copts, 0, sizeof(copts));
	copts.retry_safe = request_id && *request_id;
	reqlen = vertice__governance__v1__record_execution_request__get_packed_size(&req);
	reqbuf = malloc(reqlen ? reqlen : 1);
	if (!reqbuf)
		return VCLI_E_NOMEM;
	vertice__governance__v1__record_execution_request__pack(&req, reqbuf);
	rc = vcli_client_unary(client, GOV_SERVICE "RecordExecution", reqbuf, reqlen, &raw,
			       &copts, result);
	free(reqbuf);
	if (rc != VCLI_OK || result->status != VCLI_STATUS_OK) {
		vcli_bytes_release(&raw);
		return rc;
	}
	resp = vertice__governance__v1__record_execution_response__unpack(NULL, raw.len, raw.data);
	vcli_bytes_release(&raw);
	if (!resp) {
		result->status = VCLI_STATUS_INTERNAL;
		snprintf(result->message, sizeof(result->message),
			 "cannot decode RecordExecution response");
		return VCLI_OK;
	}
	snprintf(out->message, sizeof(out->message), "%s", resp->message ? resp->message : "");
	if (resp->processed_at)
		out->processed_at_ms = resp->processed_at->seconds * 1000 +
				       resp->processed_at->nanos / 1000000;
	if (resp->decision) {
		size_t n = vertice__governance__v1__decision__get_packed_size(resp->decision);

		out->decision.data = malloc(n ? n : 1);
		if (!out->decision.data) {
			vertice__governance__v1__record_execution_response__free_unpacked(resp, NULL);
			result->status = VCLI_STATUS_RESOURCE_EXHAUSTED;
			snprintf(result->message, sizeof(result->message), "out of memory");
			return VCLI_OK;
		}
		out->decision.len = vertice__governance__v1__decision__pack(resp->decision,
									    out->decision.data);
	}
	vertice__governance__v1__record_execution_response__free_unpacked(resp, NULL);
	return VCLI_OK;
}
