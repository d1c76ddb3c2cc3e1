/*
 * The checks of every governance request before the store is asked (see
 * checks.h).
 */
#include "server/checks.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "server/validate.h"
#include "store/store.h"
#include "vcli/status.h"

#define INVALID VCLI_STATUS_INVALID_ARGUMENT

/* A reject request is read through the approve layout. */
#define SAME_FIELD(f) \
	_Static_assert(offsetof(Vertice__Governance__V1__RejectDecisionRequest, f) == \
		       offsetof(Vertice__Governance__V1__ApproveDecisionRequest, f), #f)
SAME_FIELD(session_id);
SAME_FIELD(decision_id);
SAME_FIELD(comment);
SAME_FIELD(reasoning);
SAME_FIELD(request_id);

int gov_check_submit(const Vertice__Governance__V1__SubmitDecisionRequest *r, char *err,
		     size_t errlen)
{
	size_t n = protobuf_c_message_get_packed_size(&r->base);

	if (n > GOV_SUBMIT_MAX_BYTES) {
		snprintf(err, errlen, "request is %zu bytes; a submission may have at most %u", n,
			 GOV_SUBMIT_MAX_BYTES);
		return INVALID;
	}
	if (v_proposal(r->decision, err, errlen) < 0 ||
	    v_opt_id("idempotency_key", r->idempotency_key, err, errlen) < 0)
		return INVALID;
	return VCLI_STATUS_OK;
}

int gov_check_list(const Vertice__Governance__V1__ListPendingDecisionsRequest *r, char *err,
		   size_t errlen)
{
	if (r->status && *r->status && !v_status_known(r->status)) {
		snprintf(err, errlen, "status '%.64s' is invalid (PENDING, ESCALATED, APPROVED, "
			 "REJECTED or EXPIRED)", r->status);
		return INVALID;
	}
	if (r->priority && *r->priority && v_priority_rank(r->priority) < 0) {
		snprintf(err, errlen, "priority '%.64s' is invalid (CRITICAL, HIGH, MEDIUM or LOW)",
			 r->priority);
		return INVALID;
	}
	if (v_opt_id("operation_type", r->operation_type, err, errlen) < 0 ||
	    v_opt_id("assigned_operator", r->assigned_operator, err, errlen) < 0 ||
	    v_opt_id("page_token", r->page_token, err, errlen) < 0)
		return INVALID;
	return VCLI_STATUS_OK;
}

int gov_check_get(const Vertice__Governance__V1__GetDecisionRequest *r, char *err,
		  size_t errlen)
{
	return v_req_id("decision_id", r->decision_id, err, errlen) < 0 ? INVALID :
									  VCLI_STATUS_OK;
}

/* What every review needs.  No session is an unknown session: the same
 * answer, so that clients renew on one code. */
static int check_review(const char *session_id, const char *decision_id,
			const char *request_id, char *err, size_t errlen)
{
	if (!session_id || !*session_id) {
		snprintf(err, errlen, "session_id is required; open a session with CreateSession");
		return VCLI_STATUS_UNAUTHENTICATED;
	}
	if (v_req_id("decision_id", decision_id, err, errlen) < 0 ||
	    v_req_id("session_id", session_id, err, errlen) < 0 ||
	    v_opt_id("request_id", request_id, err, errlen) < 0)
		return INVALID;
	return VCLI_STATUS_OK;
}

int gov_check_approve(const Vertice__Governance__V1__ApproveDecisionRequest *r, int reject,
		      int *unknown_first, char *err, size_t errlen)
{
	*unknown_first = 0;
	if (v_opt_text("comment", r->comment, err, errlen) < 0 ||
	    v_opt_text("reasoning", r->reasoning, err, errlen) < 0)
		return INVALID;
	if (reject && !(r->comment && *r->comment) && !(r->reasoning && *r->reasoning)) {
		snprintf(err, errlen, "a rejection needs a comment or a reasoning");
		*unknown_first = 1;
		return INVALID;
	}
	return check_review(r->session_id, r->decision_id, r->request_id, err, errlen);
}

int gov_check_escalate(const Vertice__Governance__V1__EscalateDecisionRequest *r,
		       int *unknown_first, char *err, size_t errlen)
{
	*unknown_first = 0;
	if (v_req_id("escalation_target", r->escalation_target, err, errlen) < 0 ||
	    v_opt_text("reason", r->reason, err, errlen) < 0) {
		*unknown_first = 1;
		return INVALID;
	}
	return check_review(r->session_id, r->decision_id, r->request_id, err, errlen);
}

int gov_check_execution(const Vertice__Governance__V1__RecordExecutionRequest *r,
			int *unknown_first, char *err, size_t errlen)
{
	const Vertice__Governance__V1__ExecutionRecord *x = r->execution;

	*unknown_first = 1;
	if (!x) {
		snprintf(err, errlen, "execution is required");
		return INVALID;
	}
	if (v_req_id("execution.action_type", x->action_type, err, errlen) < 0 ||
	    v_opt_text("execution.detail", x->detail, err, errlen) < 0 ||
	    v_opt_line("execution.target", x->target, err, errlen) < 0)
		return INVALID;
	if (x->action_index < 0) {
		snprintf(err, errlen, "execution.action_index %d is negative", (int)x->action_index);
		return INVALID;
	}
	/* The server's own fields. */
	if (x->executed_by && *x->executed_by) {
		snprintf(err, errlen, "execution.executed_by is the session's operator, set by "
			 "the server; leave it empty");
		return INVALID;
	}
	if (x->executed_at) {
		snprintf(err, errlen, "execution.executed_at is set by the server; leave it empty");
		return INVALID;
	}
	if (x->request_id && *x->request_id) {
		snprintf(err, errlen, "execution.request_id is set from the request's request_id; "
			 "leave it empty");
		return INVALID;
	}
	*unknown_first = 0;
	return check_review(r->session_id, r->decision_id, r->request_id, err, errlen);
}

int gov_check_create_session(const Vertice__Governance__V1__CreateSessionRequest *r,
			     int authenticated, char *err, size_t errlen)
{
	if (authenticated && !(r->operator_id && *r->operator_id))
		return VCLI_STATUS_OK;
	return v_req_id("operator_id", r->operator_id, err, errlen) < 0 ? INVALID :
									  VCLI_STATUS_OK;
}

int gov_check_close_session(const Vertice__Governance__V1__CloseSessionRequest *r, char *err,
			    size_t errlen)
{
	return v_req_id("session_id", r->session_id, err, errlen) < 0 ? INVALID :
									VCLI_STATUS_OK;
}

int gov_check_session_stats(const Vertice__Governance__V1__GetSessionStatsRequest *r,
			    char *err, size_t errlen)
{
	return v_req_id("operator_id", r->operator_id, err, errlen) < 0 ? INVALID :
									  VCLI_STATUS_OK;
}

int gov_check_stream_decisions(const Vertice__Governance__V1__StreamDecisionsRequest *r,
			       uint64_t last_seq, char *err, size_t errlen)
{
	if (r->resume_after > last_seq) {
		snprintf(err, errlen, "resume_after %llu is beyond the last sequence number %llu",
			 (unsigned long long)r->resume_after, (unsigned long long)last_seq);
		return INVALID;
	}
	return VCLI_STATUS_OK;
}

int gov_check_create_token(const Vertice__Governance__V1__CreateTokenRequest *r, char *err,
			   size_t errlen)
{
	/* At most 100 years: the expiry stays far inside int64 milliseconds. */
	const int64_t max_expiry = 100ll * 365 * 86400;

	if (v_req_id("name", r->name, err, errlen) < 0 ||
	    v_opt_id("identity", r->identity, err, errlen) < 0)
		return INVALID;
	if (!store_role_valid(r->role)) {
		snprintf(err, errlen, "role '%.64s' is invalid (producer, operator or admin)",
			 r->role ? r->role : "");
		return INVALID;
	}
	if (r->expires_in_seconds < 0 || r->expires_in_seconds > max_expiry) {
		snprintf(err, errlen, "expires_in_seconds %lld is invalid (0: never, else 1 to %lld)",
			 (long long)r->expires_in_seconds, (long long)max_expiry);
		return INVALID;
	}
	return VCLI_STATUS_OK;
}

int gov_check_revoke_token(const Vertice__Governance__V1__RevokeTokenRequest *r, char *err,
			   size_t errlen)
{
	return v_req_id("token_id", r->token_id, err, errlen) < 0 ? INVALID : VCLI_STATUS_OK;
}

int gov_check_list_audit(const Vertice__Governance__V1__ListAuditRequest *r, char *err,
			 size_t errlen)
{
	if (v_opt_id("actor", r->actor, err, errlen) < 0 ||
	    v_opt_id("subject", r->subject, err, errlen) < 0 ||
	    v_opt_id("action", r->action, err, errlen) < 0)
		return INVALID;
	if (r->outcome && *r->outcome && strcmp(r->outcome, "OK") != 0 &&
	    strcmp(r->outcome, "DENIED") != 0) {
		snprintf(err, errlen, "outcome '%.64s' is invalid (OK or DENIED)", r->outcome);
		return INVALID;
	}
	return VCLI_STATUS_OK;
}

int gov_check_request(const char *method, const ProtobufCMessage *req, uint64_t last_seq,
		      char *err, size_t errlen)
{
	const void *r = req;
	int unknown_first;

	if (!strcmp(method, "SubmitDecision"))
		return gov_check_submit(r, err, errlen);
	if (!strcmp(method, "ListPendingDecisions"))
		return gov_check_list(r, err, errlen);
	if (!strcmp(method, "GetDecision"))
		return gov_check_get(r, err, errlen);
	if (!strcmp(method, "ApproveDecision") || !strcmp(method, "RejectDecision"))
		return gov_check_approve(r, method[0] == 'R', &unknown_first, err, errlen);
	if (!strcmp(method, "EscalateDecision"))
		return gov_check_escalate(r, &unknown_first, err, errlen);
	if (!strcmp(method, "RecordExecution"))
		return gov_check_execution(r, &unknown_first, err, errlen);
	if (!strcmp(method, "CreateSession"))
		return gov_check_create_session(r, 0, err, errlen);
	if (!strcmp(method, "CloseSession"))
		return gov_check_close_session(r, err, errlen);
	if (!strcmp(method, "GetSessionStats"))
		return gov_check_session_stats(r, err, errlen);
	if (!strcmp(method, "StreamDecisions"))
		return gov_check_stream_decisions(r, last_seq, err, errlen);
	if (!strcmp(method, "CreateToken"))
		return gov_check_create_token(r, err, errlen);
	if (!strcmp(method, "RevokeToken"))
		return gov_check_revoke_token(r, err, errlen);
	if (!strcmp(method, "ListAudit"))
		return gov_check_list_audit(r, err, errlen);
	if (!strcmp(method, "HealthCheck") || !strcmp(method, "GetMetrics") ||
	    !strcmp(method, "StreamEvents") || !strcmp(method, "ListTokens") ||
	    !strcmp(method, "ExportAudit"))
		return VCLI_STATUS_OK;
	return -1;
}
