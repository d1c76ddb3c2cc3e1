/*
 * Private: the checks each governance handler runs on its request before it
 * asks the store (docs/governance.md has the rules).  Each returns
 * VCLI_STATUS_OK, or the status to answer with err filled (a message naming
 * the field and its value).  The handlers call them and so do the fuzz
 * targets (tests/fuzz), so what is fuzzed is what is served.
 */
#ifndef VCLI_SERVER_CHECKS_H
#define VCLI_SERVER_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "governance.pb-c.h"

#define GOV_SUBMIT_MAX_BYTES (1024u * 1024)

int gov_check_submit(const Vertice__Governance__V1__SubmitDecisionRequest *r, char *err,
		     size_t errlen);
int gov_check_list(const Vertice__Governance__V1__ListPendingDecisionsRequest *r, char *err,
		   size_t errlen);
int gov_check_get(const Vertice__Governance__V1__GetDecisionRequest *r, char *err,
		  size_t errlen);

/*
 * Approve and reject (reject: 1) share their request layout.  A refusal
 * of the method's own arguments gives way to NOT_FOUND for an unknown
 * decision: then *unknown_first is 1 and the handler looks the decision
 * up before it answers with the refusal.
 */
int gov_check_approve(const Vertice__Governance__V1__ApproveDecisionRequest *r, int reject,
		      int *unknown_first, char *err, size_t errlen);
int gov_check_escalate(const Vertice__Governance__V1__EscalateDecisionRequest *r,
		       int *unknown_first, char *err, size_t errlen);

/*
 * RecordExecution.  Like approve, a refusal of the execution record's own
 * fields gives way to NOT_FOUND for an unknown decision (*unknown_first).
 */
int gov_check_execution(const Vertice__Governance__V1__RecordExecutionRequest *r,
			int *unknown_first, char *err, size_t errlen);

/* authenticated: an empty operator_id is then the credential's identity. */
int gov_check_create_session(const Vertice__Governance__V1__CreateSessionRequest *r,
			     int authenticated, char *err, size_t errlen);
int gov_check_close_session(const Vertice__Governance__V1__CloseSessionRequest *r, char *err,
			    size_t errlen);
int gov_check_session_stats(const Vertice__Governance__V1__GetSessionStatsRequest *r,
			    char *err, size_t errlen);
int gov_check_stream_decisions(const Vertice__Governance__V1__StreamDecisionsRequest *r,
			       uint64_t last_seq, char *err, size_t errlen);

int gov_check_create_token(const Vertice__Governance__V1__CreateTokenRequest *r, char *err,
			   size_t errlen);
int gov_check_revoke_token(const Vertice__Governance__V1__RevokeTokenRequest *r, char *err,
			   size_t errlen);
int gov_check_list_audit(const Vertice__Governance__V1__ListAuditRequest *r, char *err,
			 size_t errlen);

/*
 * The checks of method (a GovernanceService method name, "SubmitDecision")
 * on req, unpacked with that method's input descriptor, for a caller
 * without credentials and a store whose last event is last_seq; methods
 * that check nothing return VCLI_STATUS_OK.  -1 for a name that is not a
 * method of the service.
 */
int gov_check_request(const char *method, const ProtobufCMessage *req, uint64_t last_seq,
		      char *err, size_t errlen);

#endif
