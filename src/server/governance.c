/*
 * The governance service's method table: each method, its handler, who
 * may call it (docs/security.md, "Roles") and what a refusal of it is
 * recorded as in the audit trail.  Adding a method: write its handler
 * (one file per service area: decisions.c, sessions.c, metrics.c,
 * streams.c, tokens.c, audit.c), declare it in gov.h, add one row here.
 *
 * Every call goes through gate(): when governd requires credentials it
 * identifies the caller (UNAUTHENTICATED without a valid credential) and
 * checks the row's roles (PERMISSION_DENIED, audited, otherwise), then
 * runs the handler with the caller.  HealthCheck needs nothing: probes
 * carry no credentials.
 */
#include "server/governance.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "governance.pb-c.h"
#include "server/gov.h"
#include "server/health.h"

/* Who may call a method. */
#define ANYONE 0u  /* no credential needed */
#define PRODUCER AUTH_BIT(AUTH_ROLE_PRODUCER)
#define OPERATOR AUTH_BIT(AUTH_ROLE_OPERATOR)
#define ADMIN AUTH_BIT(AUTH_ROLE_ADMIN)
#define READERS (PRODUCER | OPERATOR | ADMIN)

struct gov_method {
	const char *name;
	rpc_method_kind kind;
	gov_handler_fn handler;
	unsigned roles;          /* ANYONE, or the roles allowed */
	const char *action;      /* a refusal's action in the audit trail */
};

static void health(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		   const struct auth_principal *who)
{
	health_gov_check(call, req, g);
}

static const struct gov_method methods[] = {
	{ "HealthCheck", RPC_UNARY, health, ANYONE, NULL },
	{ "CreateSession", RPC_UNARY, gov_create_session, OPERATOR, "session.open" },
	{ "CloseSession", RPC_UNARY, gov_close_session, OPERATOR, "session.close" },
	{ "ListPendingDecisions", RPC_UNARY, gov_list, READERS, "decision.list" },
	{ "GetDecision", RPC_UNARY, gov_get, READERS, "decision.get" },
	{ "ApproveDecision", RPC_UNARY, gov_approve, OPERATOR, "decision.approve" },
	{ "RejectDecision", RPC_UNARY, gov_reject, OPERATOR, "decision.reject" },
	{ "EscalateDecision", RPC_UNARY, gov_escalate, OPERATOR, "decision.escalate" },
	{ "GetMetrics", RPC_UNARY, gov_get_metrics, READERS, "metrics.get" },
	{ "GetSessionStats", RPC_UNARY, gov_get_session_stats, READERS, "stats.get" },
	{ "StreamDecisions", RPC_SERVER_STREAMING, gov_stream_decisions, READERS,
	  "decision.watch" },
	{ "StreamEvents", RPC_SERVER_STREAMING, gov_stream_events, READERS, "metrics.watch" },
	{ "SubmitDecision", RPC_UNARY, gov_submit, PRODUCER, "decision.submit" },
	{ "CreateToken", RPC_UNARY, gov_create_token, ADMIN, "token.create" },
	{ "ListTokens", RPC_UNARY, gov_list_tokens, ADMIN, "token.list" },
	{ "RevokeToken", RPC_UNARY, gov_revoke_token, ADMIN, "token.revoke" },
	{ "ListAudit", RPC_UNARY, gov_list_audit, OPERATOR | ADMIN, "audit.list" },
	{ "ExportAudit", RPC_SERVER_STREAMING, gov_export_audit, OPERATOR | ADMIN,
	  "audit.export" },
	{ "RecordExecution", RPC_UNARY, gov_record_execution, OPERATOR, "decision.execute" },
};

#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

/* The transport's rows, one per method, all through gate(); a call's row
 * gives back its method (rpc_call_row). */
static rpc_method_row rows[N_METHODS];
static struct gov the_gov;

/* The roles of a mask, for messages: "operator or admin". */
static void roles_text(unsigned roles, char *out, size_t outlen)
{
	size_t n = 0;
	int k = 0, total = 0;

	for (int r = AUTH_ROLE_PRODUCER; r <= AUTH_ROLE_ADMIN; r++)
		total += (roles & AUTH_BIT(r)) != 0;
	out[0] = '\0';
	for (int r = AUTH_ROLE_PRODUCER; r <= AUTH_ROLE_ADMIN && n < outlen; r++) {
		if (!(roles & AUTH_BIT(r)))
			continue;
		k++;
		n += (size_t)snprintf(out + n, outlen - n, "%s%s",
				      k == 1 ? "" : k == total ? " or " : ", ",
				      auth_role_name((enum auth_role)r));
	}
}

/* The id a request is about (decision, session or token), for the audit
 * trail: the first of those fields the request has and fills. */
static const char *subject_of(const ProtobufCMessage *req)
{
	static const char *const names[] = { "decision_id", "session_id", "token_id" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(req->descriptor, names[i]);
		const char *v;

		if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		v = *(const char *const *)((const char *)req + f->offset);
		if (v && *v)
			return v;
	}
	return "";
}

static void gate(rpc_call *call, const ProtobufCMessage *req, void *ud)
{
	const rpc_method_row *row = rpc_call_row(call);
	const struct gov_method *m = &methods[row - rows];
	struct auth_principal who;
	char msg[256], roles[64];

	memset(&who, 0, sizeof(who));
	if (m->roles == ANYONE || !auth_enabled()) {
		m->handler(call, req, ud, &who);
		return;
	}
	if (auth_identify(call, &who, msg, sizeof(msg)) < 0) {
		rpc_call_finish(call, VCLI_STATUS_UNAUTHENTICATED, msg);
		return;
	}
	if (!(m->roles & AUTH_BIT(who.role))) {
		roles_text(m->roles, roles, sizeof(roles));
		if (who.role == AUTH_ROLE_NONE)
			gov_refuse(call, ud, &who, m->action, subject_of(req), "role",
				   "%s needs the %s role; %s identity '%.64s' has no role%s",
				   m->name, roles, who.via, who.identity,
				   strcmp(who.via, "certificate") == 0 ?
				   " (governd --mtls-role)" : "");
		else
			gov_refuse(call, ud, &who, m->action, subject_of(req), "role",
				   "%s needs the %s role; '%.64s' is %s", m->name, roles,
				   who.identity, auth_role_name(who.role));
		return;
	}
	m->handler(call, req, ud, &who);
}

int governance_register(rpc_server *srv, store *st, uint32_t heartbeat_ms)
{
	the_gov.srv = srv;
	the_gov.st = st;
	the_gov.heartbeat_ms = heartbeat_ms ? heartbeat_ms : 15000;
	for (size_t i = 0; i < N_METHODS; i++) {
		rows[i].name = methods[i].name;
		rows[i].kind = methods[i].kind;
		rows[i].handler = gate;
	}
	if (gov_write_caches_init(&the_gov) < 0)
		return -1;
	if (gov_streams_init(&the_gov) < 0) {
		gov_write_caches_release(&the_gov);
		return -1;
	}
	if (rpc_server_add_service(srv, &vertice__governance__v1__governance_service__descriptor,
				   rows, N_METHODS, &the_gov) != RPC_OK) {
		gov_streams_release();
		gov_write_caches_release(&the_gov);
		return -1;
	}
	return 0;
}

void governance_set_heartbeat(uint32_t heartbeat_ms)
{
	atomic_store_explicit(&the_gov.heartbeat_ms, heartbeat_ms ? heartbeat_ms : 15000,
			      memory_order_relaxed);
}

void governance_release(void)
{
	gov_streams_release();
	gov_write_caches_release(&the_gov);
}
