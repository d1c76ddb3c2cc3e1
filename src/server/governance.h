/* Private: governd's vertice.governance.v1.GovernanceService. */
#ifndef VCLI_SERVER_GOVERNANCE_H
#define VCLI_SERVER_GOVERNANCE_H

#include "rpc/server.h"
#include "store/store.h"

/* Registers the governance service over st.  Call after rpc_server_new
 * and before rpc_server_start. */
int governance_register(rpc_server *srv, store *st, uint32_t heartbeat_ms);
/* Changes the StreamEvents heartbeat period of a running server (SIGHUP);
 * streams use it from their next tick. */
void governance_set_heartbeat(uint32_t heartbeat_ms);

/* Frees what governance_register set up (after the server stopped). */
void governance_release(void);

#endif
