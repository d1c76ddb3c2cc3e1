/*
 * The checks of every governance handler before it asks the store
 * (src/server/validate.c, called in the order of decisions.c, sessions.c,
 * metrics.c and streams.c).  The handlers interleave these checks with
 * store look-ups, so their order is repeated here, one function per
 * method, with the store taken as knowing every id.  When a handler gains
 * a check, add it to the function of its method.
 */
#include "gov_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance.pb-c.h"
#include "server/validate.h"
#include "vcli/status.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* The same caps as decisions.c. */
#define SUBMIT_MAX_BYTES (1024u * 1024)

typedef Vertice__Governance__V1__SubmitDecisionRequest submit_req;
typedef Vertice__Governance__V1__ListPendingDecisionsRequest list_req;
typedef Vertice__Governance__V1__GetDecisionRequest get_req;
typedef Vertice__Governance__V1__ApproveDecisionRequest approve_req;
typedef Vertice__Governance__V1__RejectDecisionRequest reject_req;
typedef Vertice__Governance__V1__EscalateDecisionRequest escalate_req;
typedef Vertice__Governance__V1__CreateSessionRequest create_req;
typedef Vertice__Governance__V1__CloseSessionRequest close_req;
typedef Vertice__Governance__V1__GetSessionStatsRequest stats_req;
typedef Vertice__Governance__V1__StreamDecisionsRequest stream_req;

/* Each returns the status the handler would answer before the store is
 * asked (VCLI_STATUS_OK: it goes on to the store), with err filled. */
typedef int (*check_fn)(const ProtobufCMessage *m, char *err, size_t errlen);

static int invalid(void)
{
	return VCLI_STATUS_INVALID_ARGUMENT;
}

/* decisions.c gov_submit */
static int check_submit(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const submit_req *r = (const submit_req *)m;

	if (protobuf_c_message_get_packed_size(m) > SUBMIT_MAX_BYTES) {
		snprintf(err, errlen, "request is %zu bytes; a submission may have at most %u",
			 protobuf_c_message_get_packed_size(m), SUBMIT_MAX_BYTES);
		return invalid();
	}
	if (v_proposal(r->decision, err, errlen) < 0 ||
	    v_opt_id("idempotency_key", r->idempotency_key, err, errlen) < 0)
		return invalid();
	return VCLI_STATUS_OK;
}

/* decisions.c gov_list */
static int check_list(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const list_req *r = (const list_req *)m;

	if (r->status && *r->status && !v_status_known(r->status)) {
		snprintf(err, errlen, "status '%.64s' is invalid (PENDING, ESCALATED, APPROVED, "
			 "REJECTED or EXPIRED)", r->status);
		return invalid();
	}
	if (r->priority && *r->priority && v_priority_rank(r->priority) < 0) {
		snprintf(err, errlen, "priority '%.64s' is invalid (CRITICAL, HIGH, MEDIUM or LOW)",
			 r->priority);
		return invalid();
	}
	if (v_opt_id("operation_type", r->operation_type, err, errlen) < 0 ||
	    v_opt_id("assigned_operator", r->assigned_operator, err, errlen) < 0 ||
	    v_opt_id("page_token", r->page_token, err, errlen) < 0)
		return invalid();
	return VCLI_STATUS_OK;
}

/* decisions.c gov_get */
static int check_get(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const get_req *r = (const get_req *)m;

	return v_req_id("decision_id", r->decision_id, err, errlen) < 0 ? invalid() :
									  VCLI_STATUS_OK;
}

/* decisions.c review_begin */
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
		return invalid();
	return VCLI_STATUS_OK;
}

/* decisions.c approve_or_reject (the two requests share their layout) */
static int check_approve_or_reject(const ProtobufCMessage *m, int reject, char *err,
				   size_t errlen)
{
	const approve_req *r = (const approve_req *)m;

	if (v_opt_text("comment", r->comment, err, errlen) < 0 ||
	    v_opt_text("reasoning", r->reasoning, err, errlen) < 0)
		return invalid();
	if (reject && !(r->comment && *r->comment) && !(r->reasoning && *r->reasoning)) {
		snprintf(err, errlen, "a rejection needs a comment or a reasoning");
		return invalid();
	}
	return check_review(r->session_id, r->decision_id, r->request_id, err, errlen);
}

static int check_approve(const ProtobufCMessage *m, char *err, size_t errlen)
{
	return check_approve_or_reject(m, 0, err, errlen);
}

static int check_reject(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const reject_req *r = (const reject_req *)m;

	/* The handler reads a reject request through the approve layout. */
	CHECK(offsetof(reject_req, request_id) == offsetof(approve_req, request_id));
	return check_approve_or_reject(&r->base, 1, err, errlen);
}

/* decisions.c gov_escalate */
static int check_escalate(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const escalate_req *r = (const escalate_req *)m;

	if (v_req_id("escalation_target", r->escalation_target, err, errlen) < 0 ||
	    v_opt_text("reason", r->reason, err, errlen) < 0)
		return invalid();
	return check_review(r->session_id, r->decision_id, r->request_id, err, errlen);
}

/* sessions.c gov_create_session */
static int check_create_session(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const create_req *r = (const create_req *)m;

	return v_req_id("operator_id", r->operator_id, err, errlen) < 0 ? invalid() :
									  VCLI_STATUS_OK;
}

/* sessions.c gov_close_session */
static int check_close_session(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const close_req *r = (const close_req *)m;

	return v_req_id("session_id", r->session_id, err, errlen) < 0 ? invalid() :
									VCLI_STATUS_OK;
}

/* metrics.c gov_get_session_stats */
static int check_session_stats(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const stats_req *r = (const stats_req *)m;

	return v_req_id("operator_id", r->operator_id, err, errlen) < 0 ? invalid() :
									  VCLI_STATUS_OK;
}

/* streams.c gov_stream_decisions */
static int check_stream_decisions(const ProtobufCMessage *m, char *err, size_t errlen)
{
	const stream_req *r = (const stream_req *)m;

	if (r->resume_after > FUZZ_LAST_SEQ) {
		snprintf(err, errlen, "resume_after %llu is beyond the last sequence number %u",
			 (unsigned long long)r->resume_after, FUZZ_LAST_SEQ);
		return invalid();
	}
	return VCLI_STATUS_OK;
}

/* HealthCheck, GetMetrics and StreamEvents check nothing. */
static int check_nothing(const ProtobufCMessage *m, char *err, size_t errlen)
{
	return VCLI_STATUS_OK;
}

static const struct {
	const char *method;
	check_fn check;
} checks[] = {
	{ "HealthCheck", check_nothing },
	{ "CreateSession", check_create_session },
	{ "CloseSession", check_close_session },
	{ "ListPendingDecisions", check_list },
	{ "GetDecision", check_get },
	{ "ApproveDecision", check_approve },
	{ "RejectDecision", check_reject },
	{ "EscalateDecision", check_escalate },
	{ "GetMetrics", check_nothing },
	{ "GetSessionStats", check_session_stats },
	{ "StreamDecisions", check_stream_decisions },
	{ "StreamEvents", check_nothing },
	{ "SubmitDecision", check_submit },
};

int fuzz_gov_check(const char *method, const ProtobufCMessage *req, char *err,
		   size_t errlen)
{
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (strcmp(checks[i].method, method) == 0)
			return checks[i].check(req, err, errlen);
	fprintf(stderr, "fuzz: no checks for method %s\n", method);
	abort();
}
