/*
 * Typed calls of the public client library (include/vcli/client.h), built
 * on the transport's generic calls.  The protobuf-c types stay in here: the
 * public header speaks plain C structs.
 */
#include "vcli/client.h"

#include <stdio.h>
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
