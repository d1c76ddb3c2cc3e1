/*
 * Decisions: SubmitDecision, ListPendingDecisions, GetDecision,
 * ApproveDecision, RejectDecision, EscalateDecision, RecordExecution
 * (docs/governance.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/checks.h"
#include "server/gov.h"
#include "common/pbraw.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500

/* ---- SubmitDecision ---- */

static void submit_respond(struct gov_write *w, rpc_call *call)
{
	buf out = BUF_INIT(64u << 20);

	if (w->op.result != STORE_OK) {
		gov_fail(call, w->op.result, w->op.message);
		return;
	}
	/* SubmitDecisionResponse { decision = 1; created = 2; } */
	if (pb_put_bytes(&out, 1, w->decision, w->decision_len) < 0 ||
	    pb_put_uint(&out, 2, w->op.created ? 1 : 0) < 0) {
		buf_release(&out);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	rpc_call_send_raw(call, out.data, out.len);
	buf_release(&out);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

void gov_submit(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		const struct auth_principal *who)
{
	const Vertice__Governance__V1__SubmitDecisionRequest *r = (const void *)req;
	struct gov_write *w;
	char err[256];
	size_t len;

	int status;

	if ((status = gov_check_submit(r, err, sizeof(err))) != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	w = gov_write_new(g, call, STORE_OP_SUBMIT, submit_respond);
	if (!w) {
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	len = vertice__governance__v1__decision__get_packed_size(r->decision);
	w->proposal = malloc(len ? len : 1);
	if (!w->proposal) {
		free(w);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	vertice__governance__v1__decision__pack(r->decision, w->proposal);
	w->op.proposal = w->proposal;
	w->op.proposal_len = len;
	w->op.idempotency_key = gov_write_str(w, r->idempotency_key);
	if (gov_write_actor(w, who) < 0) {
		gov_write_discard(w);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	gov_write_start(w);
}

/* ---- ListPendingDecisions ---- */

void gov_list(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
	      const struct auth_principal *who)
{
	const Vertice__Governance__V1__ListPendingDecisionsRequest *r = (const void *)req;
	store_filter f;
	store_page page;
	store_code rc;
	uint32_t limit;
	buf out = BUF_INIT(64u << 20);

	{
		char err[256];
		int status = gov_check_list(r, err, sizeof(err));

		if (status != VCLI_STATUS_OK) {
			rpc_call_finish(call, status, err);
			return;
		}
	}
	limit = r->limit <= 0 ? LIST_DEFAULT_LIMIT :
		(r->limit > LIST_MAX_LIMIT ? LIST_MAX_LIMIT : (uint32_t)r->limit);
	f.status = r->status;
	f.priority = r->priority;
	f.operation_type = r->operation_type;
	f.assigned_operator = r->assigned_operator;
	memset(&page, 0, sizeof(page));
	rc = store_list(g->st, &f, r->page_token ? r->page_token : "", limit, &page);
	if (rc != STORE_OK) {
		gov_fail(call, rc, rc == STORE_E_INVALID ?
			 "page_token is invalid or was made for other filters" : NULL);
		return;
	}
	/* ListPendingDecisionsResponse: the stored bytes, as they are. */
	for (size_t i = 0; i < page.count; i++)
		if (pb_put_bytes(&out, 1, page.data + page.offsets[i], page.lengths[i]) < 0)
			goto nomem;
	if (pb_put_uint(&out, 2, page.total) < 0 ||
	    pb_put_string(&out, 3, page.next_token) < 0)
		goto nomem;
	store_page_release(&page);
	rpc_call_send_raw(call, out.data ? out.data : (const uint8_t *)"", out.len);
	buf_release(&out);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
	return;
nomem:
	store_page_release(&page);
	buf_release(&out);
	rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "answer too large");
}

/* ---- GetDecision ---- */

void gov_get(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
	     const struct auth_principal *who)
{
	const Vertice__Governance__V1__GetDecisionRequest *r = (const void *)req;
	uint8_t *blob = NULL;
	size_t len = 0;
	store_code rc;
	char err[256];
	buf out = BUF_INIT(64u << 20);

	int status;

	if ((status = gov_check_get(r, err, sizeof(err))) != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	rc = store_get(g->st, r->decision_id, &blob, &len);
	if (rc != STORE_OK) {
		if (rc == STORE_E_NOTFOUND)
			rpc_call_finishf(call, VCLI_STATUS_NOT_FOUND, "decision '%s' not found",
					 r->decision_id);
		else
			gov_fail(call, rc, NULL);
		return;
	}
	if (pb_put_bytes(&out, 1, blob, len) < 0) {
		free(blob);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	free(blob);
	rpc_call_send_raw(call, out.data, out.len);
	buf_release(&out);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

/* ---- Approve / Reject / Escalate ---- */

/* The four responses (RecordExecution's too) share their layout:
 * success = 1, message = 2, processed_at = 3, decision = 4. */
static void review_respond(struct gov_write *w, rpc_call *call)
{
	static const char *const verbs[] = {
		[STORE_OP_APPROVE] = "approved",
		[STORE_OP_REJECT] = "rejected",
		[STORE_OP_ESCALATE] = "escalated",
	};
	buf out = BUF_INIT(64u << 20);
	char msg[200];

	if (w->op.result != STORE_OK) {
		gov_fail(call, w->op.result, w->op.message);
		return;
	}
	/* A replay answers exactly what the first call answered. */
	if (w->op.kind == STORE_OP_EXECUTION) {
		snprintf(msg, sizeof(msg), "execution of %.64s recorded on decision '%s'",
			 w->op.action_type, w->op.decision_id);
	} else {
		/* By hand: this runs for every approval (snprintf was 2 % of
		 * a worker's time under load).  Ids are checked short. */
		size_t il = strnlen(w->op.decision_id, 128), vl = strlen(verbs[w->op.kind]);

		memcpy(msg, "decision '", 10);
		memcpy(msg + 10, w->op.decision_id, il);
		memcpy(msg + 10 + il, "' ", 2);
		memcpy(msg + 12 + il, verbs[w->op.kind], vl + 1);
	}
	/* One allocation for the whole answer. */
	if (buf_reserve(&out, 64 + strlen(msg) + w->decision_len) < 0 ||
	    pb_put_uint(&out, 1, 1) < 0 || pb_put_string(&out, 2, msg) < 0 ||
	    pb_put_timestamp(&out, 3, w->op.processed_at_ms) < 0 ||
	    (w->decision && pb_put_bytes(&out, 4, w->decision, w->decision_len) < 0)) {
		buf_release(&out);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	rpc_call_send_raw(call, out.data, out.len);
	buf_release(&out);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

/*
 * docs/governance.md checks an unknown decision before the method's own
 * arguments: answers NOT_FOUND and returns 1 when id names no decision.
 */
static int unknown_decision(rpc_call *call, struct gov *g, const char *id)
{
	uint8_t *blob = NULL;
	size_t len;

	if (!id || !*id || store_get(g->st, id, &blob, &len) != STORE_E_NOTFOUND) {
		free(blob);
		return 0;
	}
	rpc_call_finishf(call, VCLI_STATUS_NOT_FOUND, "decision '%.64s' not found", id);
	return 1;
}

/* Makes the write of a review whose request passed its checks. */
static struct gov_write *review_begin(rpc_call *call, struct gov *g,
				      const struct auth_principal *who, store_op_kind kind,
				      const char *session_id, const char *decision_id,
				      const char *request_id)
{
	struct gov_write *w;

	w = gov_write_new(g, call, kind, review_respond);
	if (w && gov_write_actor(w, who) < 0) {
		gov_write_discard(w);
		w = NULL;
	}
	if (!w) {
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	w->op.session_id = gov_write_str(w, session_id);
	w->op.decision_id = gov_write_str(w, decision_id);
	w->op.request_id = gov_write_str(w, request_id);
	return w;
}

static void approve_or_reject(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			      const struct auth_principal *who, store_op_kind kind)
{
	/* Approve and reject requests share their layout too. */
	const Vertice__Governance__V1__ApproveDecisionRequest *r = (const void *)req;
	struct gov_write *w;
	char err[256];

	int unknown_first, status;

	status = gov_check_approve(r, kind == STORE_OP_REJECT, &unknown_first, err, sizeof(err));
	if (status != VCLI_STATUS_OK) {
		if (!unknown_first || !unknown_decision(call, g, r->decision_id))
			rpc_call_finish(call, status, err);
		return;
	}
	w = review_begin(call, g, who, kind, r->session_id, r->decision_id, r->request_id);
	if (!w)
		return;
	w->op.comment = gov_write_str(w, r->comment);
	w->op.reasoning = gov_write_str(w, r->reasoning);
	gov_write_start(w);
}

void gov_approve(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		 const struct auth_principal *who)
{
	approve_or_reject(call, req, g, who, STORE_OP_APPROVE);
}

void gov_reject(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		const struct auth_principal *who)
{
	approve_or_reject(call, req, g, who, STORE_OP_REJECT);
}

void gov_escalate(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		  const struct auth_principal *who)
{
	const Vertice__Governance__V1__EscalateDecisionRequest *r = (const void *)req;
	struct gov_write *w;
	char err[256];

	int unknown_first, status;

	status = gov_check_escalate(r, &unknown_first, err, sizeof(err));
	if (status != VCLI_STATUS_OK) {
		if (!unknown_first || !unknown_decision(call, g, r->decision_id))
			rpc_call_finish(call, status, err);
		return;
	}
	w = review_begin(call, g, who, STORE_OP_ESCALATE, r->session_id, r->decision_id,
			 r->request_id);
	if (!w)
		return;
	w->op.target = gov_write_str(w, r->escalation_target);
	w->op.reason = gov_write_str(w, r->reason);
	gov_write_start(w);
}

/* ---- RecordExecution ---- */

void gov_record_execution(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			  const struct auth_principal *who)
{
	const Vertice__Governance__V1__RecordExecutionRequest *r = (const void *)req;
	const Vertice__Governance__V1__ExecutionRecord *x = r->execution;
	struct gov_write *w;
	char err[256];
	int unknown_first, status;

	status = gov_check_execution(r, &unknown_first, err, sizeof(err));
	if (status != VCLI_STATUS_OK) {
		if (!unknown_first || !unknown_decision(call, g, r->decision_id))
			rpc_call_finish(call, status, err);
		return;
	}
	w = review_begin(call, g, who, STORE_OP_EXECUTION, r->session_id, r->decision_id,
			 r->request_id);
	if (!w)
		return;
	w->op.action_type = gov_write_str(w, x->action_type);
	w->op.action_index = x->action_index;
	w->op.succeeded = x->succeeded;
	w->op.detail = gov_write_str(w, x->detail);
	w->op.target = gov_write_str(w, x->target);
	gov_write_start(w);
}
