/*
 * The governance service's method table.  Adding a method: write its
 * handler (one file per service area: decisions.c, sessions.c, metrics.c,
 * streams.c), declare it in gov.h, add one row here.
 */
#include "server/governance.h"

#include "governance.pb-c.h"
#include "server/gov.h"
#include "server/health.h"

static const rpc_method_row governance_rows[] = {
	{ "HealthCheck", RPC_UNARY, health_gov_check },
	{ "CreateSession", RPC_UNARY, gov_create_session },
	{ "CloseSession", RPC_UNARY, gov_close_session },
	{ "ListPendingDecisions", RPC_UNARY, gov_list },
	{ "GetDecision", RPC_UNARY, gov_get },
	{ "ApproveDecision", RPC_UNARY, gov_approve },
	{ "RejectDecision", RPC_UNARY, gov_reject },
	{ "EscalateDecision", RPC_UNARY, gov_escalate },
	{ "GetMetrics", RPC_UNARY, gov_get_metrics },
	{ "GetSessionStats", RPC_UNARY, gov_get_session_stats },
	{ "StreamDecisions", RPC_SERVER_STREAMING, gov_stream_decisions },
	{ "StreamEvents", RPC_SERVER_STREAMING, gov_stream_events },
	{ "SubmitDecision", RPC_UNARY, gov_submit },
};

static struct gov the_gov;

int governance_register(rpc_server *srv, store *st, uint32_t heartbeat_ms)
{
	the_gov.srv = srv;
	the_gov.st = st;
	the_gov.heartbeat_ms = heartbeat_ms ? heartbeat_ms : 15000;
	if (gov_streams_init(&the_gov) < 0)
		return -1;
	return rpc_server_add_service(srv,
				      &vertice__governance__v1__governance_service__descriptor,
				      governance_rows,
				      sizeof(governance_rows) / sizeof(governance_rows[0]),
				      &the_gov) == RPC_OK ? 0 : -1;
}

void governance_release(void)
{
	gov_streams_release();
}
