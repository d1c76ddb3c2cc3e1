/* Figures: GetMetrics, GetSessionStats (definitions in docs/governance.md). */
#include <stdio.h>

#include "server/checks.h"
#include "server/gov.h"

/* Fills a DecisionMetrics message from the store's exact counters. */
void gov_fill_metrics(Vertice__Governance__V1__DecisionMetrics *dm, const store_metrics *m);

void gov_fill_metrics(Vertice__Governance__V1__DecisionMetrics *dm, const store_metrics *m)
{
	dm->pending_count = m->pending;
	dm->total_decisions = m->total;
	dm->approved_count = m->approved;
	dm->rejected_count = m->rejected;
	dm->escalated_count = m->escalated;
	dm->critical_count = m->critical;
	dm->high_priority_count = m->high;
	dm->avg_response_time_seconds = m->avg_response_s;
	dm->approval_rate = m->approval_rate;
	dm->sla_violations = m->sla_violations;
	dm->expired_count = m->expired;
	dm->last_sequence = m->last_seq;
}

void gov_get_metrics(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		     const struct auth_principal *who)
{
	Vertice__Governance__V1__GetMetricsResponse resp =
		VERTICE__GOVERNANCE__V1__GET_METRICS_RESPONSE__INIT;
	Vertice__Governance__V1__DecisionMetrics dm =
		VERTICE__GOVERNANCE__V1__DECISION_METRICS__INIT;
	store_metrics m;

	store_get_metrics(g->st, &m);
	gov_fill_metrics(&dm, &m);
	resp.metrics = &dm;
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

void gov_get_session_stats(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			   const struct auth_principal *who)
{
	const Vertice__Governance__V1__GetSessionStatsRequest *r = (const void *)req;
	Vertice__Governance__V1__GetSessionStatsResponse resp =
		VERTICE__GOVERNANCE__V1__GET_SESSION_STATS_RESPONSE__INIT;
	Google__Protobuf__Timestamp start = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	store_operator_stats st;
	store_code rc;
	char err[256];

	int status = gov_check_session_stats(r, err, sizeof(err));

	if (status != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	rc = store_get_operator_stats(g->st, r->operator_id, &st);
	if (rc == STORE_E_NOTFOUND) {
		rpc_call_finishf(call, VCLI_STATUS_NOT_FOUND, "operator '%s' has no sessions",
				 r->operator_id);
		return;
	}
	if (rc != STORE_OK) {
		gov_fail(call, rc, NULL);
		return;
	}
	resp.total_decisions = st.total;
	resp.approved = st.approved;
	resp.rejected = st.rejected;
	resp.escalated = st.escalated;
	resp.avg_response_time_seconds = st.avg_response_s;
	start.seconds = st.session_start_ms / 1000;
	start.nanos = (int32_t)(st.session_start_ms % 1000) * 1000000;
	resp.session_start = &start;
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}
