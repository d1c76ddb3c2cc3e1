/* Private: governd's vertice.governance.v1.GovernanceService. */
#ifndef VCLI_SERVER_GOVERNANCE_H
#define VCLI_SERVER_GOVERNANCE_H

#include "rpc/server.h"

/* Registers the governance service.  Methods without a row in its table
 * answer UNIMPLEMENTED. */
int governance_register(rpc_server *srv);

#endif
