/*
 * The governance service's method table.  Adding a method: write its
 * handler (one file per service area), add one row here.
 */
#include "server/governance.h"

#include "governance.pb-c.h"
#include "server/health.h"

static const rpc_method_row governance_rows[] = {
	{ "HealthCheck", RPC_UNARY, health_gov_check },
};

int governance_register(rpc_server *srv)
{
	return rpc_server_add_service(srv,
				      &vertice__governance__v1__governance_service__descriptor,
				      governance_rows,
				      sizeof(governance_rows) / sizeof(governance_rows[0]),
				      NULL) == RPC_OK ? 0 : -1;
}
