/*
 * Sessions: CreateSession, CloseSession (docs/governance.md).  With
 * authentication a session belongs to the caller's identity: operator_id
 * may be left empty, and one that names someone else is refused
 * (docs/security.md, rule "own-identity").
 */
#include <stdio.h>
#include <string.h>

#include "server/checks.h"
#include "server/gov.h"
#include "common/pbraw.h"

static void create_respond(struct gov_write *w, rpc_call *call)
{
	uint8_t tmp[320];
	buf out = { tmp, 0, sizeof(tmp), sizeof(tmp) };

	if (w->op.result != STORE_OK) {
		gov_fail(call, w->op.result, w->op.message);
		return;
	}
	/* CreateSessionResponse { session_id = 1; created_at = 2;
	 * operator_id = 3 }; out borrows a stack array that is large enough
	 * for an id of at most V_ID_MAX bytes (never grown). */
	pb_put_string(&out, 1, w->op.session_id_out);
	pb_put_timestamp(&out, 2, w->op.session_created_ms);
	pb_put_string(&out, 3, w->op.operator_id);
	rpc_call_send_raw(call, out.data, out.len);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

void gov_create_session(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			const struct auth_principal *who)
{
	const Vertice__Governance__V1__CreateSessionRequest *r = (const void *)req;
	const char *operator_id = r->operator_id;
	struct gov_write *w;
	char err[256];

	int status = gov_check_create_session(r, who->authenticated, err, sizeof(err));

	if (status != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	if (who->authenticated && (!operator_id || !*operator_id)) {
		operator_id = who->identity;  /* the credential says who */
	} else if (who->authenticated && strcmp(operator_id, who->identity) != 0) {
		gov_refuse(call, g, who, "session.open", "", "own-identity",
			   "operator_id '%.64s' is not the credential's identity '%.64s'; leave "
			   "it empty or give your own", operator_id, who->identity);
		return;
	}
	w = gov_write_new(g, call, STORE_OP_SESSION_OPEN, create_respond);
	if (!w || gov_write_actor(w, who) < 0 ||
	    !(w->op.operator_id = gov_write_str(w, operator_id))) {
		gov_write_discard(w);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	gov_write_start(w);
}

static void close_respond(struct gov_write *w, rpc_call *call)
{
	static const uint8_t success[] = { 0x08, 0x01 }; /* CloseSessionResponse{success: true} */

	if (w->op.result != STORE_OK) {
		if (w->op.result == STORE_E_NOTFOUND)
			rpc_call_finishf(call, VCLI_STATUS_NOT_FOUND, "session '%s' not found",
					 w->op.session_id);
		else
			gov_fail(call, w->op.result, w->op.message);
		return;
	}
	rpc_call_send_raw(call, success, sizeof(success));
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

void gov_close_session(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		       const struct auth_principal *who)
{
	const Vertice__Governance__V1__CloseSessionRequest *r = (const void *)req;
	struct gov_write *w;
	char err[256];

	int status = gov_check_close_session(r, err, sizeof(err));

	if (status != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	w = gov_write_new(g, call, STORE_OP_SESSION_CLOSE, close_respond);
	if (!w || gov_write_actor(w, who) < 0) {
		gov_write_discard(w);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	w->op.session_id = gov_write_str(w, r->session_id);
	gov_write_start(w);
}
