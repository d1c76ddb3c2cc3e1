/*
 * vcli gov list|get|approve|reject|escalate|submit|metrics|stats|watch: the
 * governance service's decisions, from an operator's seat.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "governance.pb-c.h"
#include "cli/commands.h"
#include "cli/k8s/action.h"
#include "cli/decision_json.h"
#include "cli/gov_render.h"
#include "cli/pbjson.h"
#include "common/timeutil.h"

#define GOV_SERVICE "/vertice.governance.v1.GovernanceService/"

/* Stops `gov list --all` from following a server that never ends. */
#define LIST_MAX_PAGES 100000

/* Reconnection back-off of `gov watch`. */
#define WATCH_BACKOFF_MIN_MS 100
#define WATCH_BACKOFF_MAX_MS 5000
/* A stream that stayed up this long counts as healthy: the back-off
 * starts again from the minimum. */
#define WATCH_HEALTHY_MS 2000

typedef Vertice__Governance__V1__ListPendingDecisionsRequest list_req;
typedef Vertice__Governance__V1__ListPendingDecisionsResponse list_resp;
typedef Vertice__Governance__V1__GetDecisionRequest get_req;
typedef Vertice__Governance__V1__GetDecisionResponse get_resp;
typedef Vertice__Governance__V1__ApproveDecisionRequest approve_req;
typedef Vertice__Governance__V1__ApproveDecisionResponse approve_resp;
typedef Vertice__Governance__V1__RejectDecisionRequest reject_req;
typedef Vertice__Governance__V1__RejectDecisionResponse reject_resp;
typedef Vertice__Governance__V1__EscalateDecisionRequest escalate_req;
typedef Vertice__Governance__V1__EscalateDecisionResponse escalate_resp;
typedef Vertice__Governance__V1__SubmitDecisionResponse submit_resp;
typedef Vertice__Governance__V1__GetMetricsRequest metrics_req;
typedef Vertice__Governance__V1__GetMetricsResponse metrics_resp;
typedef Vertice__Governance__V1__GetSessionStatsRequest stats_req;
typedef Vertice__Governance__V1__StreamDecisionsRequest stream_req;
typedef Vertice__Governance__V1__StreamEventsRequest events_req;

/* The options of every gov subcommand (one process runs one command). */
static struct {
	const char *status, *priority, *type, *assigned, *page_token;
	int limit, all;
	const char *comment, *reasoning, *request_id, *to, *reason;
	int execute;      /* approve --execute: carry out the k8s action */
	const char *file, *idempotency_key;
	const char *resume_after;
	int events;
} o;

static int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}

/* Copies s upper-cased: status and priority names are upper case on the
 * wire, and "pending" is what people type. */
static const char *upper(char *buf, size_t len, const char *s)
{
	size_t i = 0;

	if (!s)
		return NULL;
	for (; s[i] && i + 1 < len; i++)
		buf[i] = (char)toupper((unsigned char)s[i]);
	buf[i] = '\0';
	return buf;
}

/* ---- list ---- */

static const struct opt list_options[] = {
	{ "status", 0, OPT_STRING, &o.status,
	  "PENDING, ESCALATED, APPROVED, REJECTED or EXPIRED (default: "
	  "PENDING and ESCALATED)", NULL, "S" },
	{ "priority", 0, OPT_STRING, &o.priority,
	  "CRITICAL, HIGH, MEDIUM or LOW", NULL, "P" },
	{ "type", 0, OPT_STRING, &o.type,
	  "operation type, exact match (block_ip)", NULL, "OP" },
	{ "assigned", 0, OPT_STRING, &o.assigned,
	  "assigned operator, exact match", NULL, "OPERATOR" },
	{ "limit", 0, OPT_INT, &o.limit,
	  "decisions per page (0: the server's 50; at most 500)", NULL,
	  "N" },
	{ "page-token", 0, OPT_STRING, &o.page_token,
	  "the page after a previous list (its next page token)", NULL, "T" },
	{ "all", 0, OPT_FLAG, &o.all,
	  "follow the page tokens to the last page", NULL, NULL },
	OPT_END,
};

static const struct cmd_spec list_spec = {
	.usage = "vcli gov list [options]",
	.description =
		"Lists decisions, the most urgent first (priority, then the\n"
		"oldest).  Without --status: the open ones (PENDING and\n"
		"ESCALATED).  One page at a time (--limit, --page-token), or\n"
		"every page with --all.  The table shows where the next page\n"
		"starts on stderr; -o json prints {\"decisions\":[...],\n"
		"\"totalCount\":N,\"nextPageToken\":\"...\"}.\n",
	.options = list_options,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli gov list\n"
		"  vcli gov list --priority critical --limit 10\n"
		"  vcli gov list --status APPROVED --all -o json\n"
		"  vcli gov list --type block_ip --assigned alice\n",
};

static int print_list(const struct cli *cli, list_resp **pages, size_t npages,
		      size_t count)
{
	const list_resp *last = pages[npages - 1];
	gov_decision **all = NULL;
	struct doc_arena a;
	struct doc *root, *arr;
	size_t n = 0;
	int rc = CLI_EXIT_OK;

	if (cli->output != OUTPUT_TABLE) {
		doc_arena_init(&a);
		root = doc_obj(&a);
		arr = doc_arr(&a);
		for (size_t p = 0; p < npages; p++)
			for (size_t i = 0; i < pages[p]->n_decisions; i++)
				doc_push(arr, pbjson_to_doc(
					&a, &pages[p]->decisions[i]->base,
					PBJSON_ENUMS_ALWAYS));
		/* The envelope keeps decisions and totalCount even when
		 * they are empty or 0, so scripts need no special case (the
		 * mapping allows writing defaults). */
		doc_set(&a, root, "decisions", arr);
		doc_set(&a, root, "totalCount", doc_int(&a, last->total_count));
		if (last->next_page_token && last->next_page_token[0])
			doc_set(&a, root, "nextPageToken",
				doc_str(&a, last->next_page_token));
		rc = cli_print_doc(cli, &a, root);
		doc_arena_release(&a);
		return rc;
	}
	if (count == 0) {
		fputs("no decisions match\n", stderr);
		return CLI_EXIT_OK;
	}
	all = malloc(count * sizeof(*all));
	if (!all) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	for (size_t p = 0; p < npages; p++)
		for (size_t i = 0; i < pages[p]->n_decisions; i++)
			all[n++] = pages[p]->decisions[i];
	if (gov_render_list(stdout, all, n, now_seconds(), cli->color) < 0) {
		cli_error("out of memory");
		rc = CLI_EXIT_INTERNAL;
	}
	free(all);
	if (rc == CLI_EXIT_OK && last->next_page_token &&
	    last->next_page_token[0]) {
		char token[600];

		out_sanitize(token, sizeof(token), last->next_page_token);
		/* After the table, also when both go to one pipe. */
		fflush(stdout);
		fprintf(stderr, "%zu of %d shown; for the next page add "
			"--page-token '%s' (same filters), or use --all\n", n,
			last->total_count, token);
	}
	return rc;
}

static int gov_list(struct cli *cli)
{
	list_req req = VERTICE__GOVERNANCE__V1__LIST_PENDING_DECISIONS_REQUEST__INIT;
	char status[64], priority[64];
	list_resp **pages = NULL;
	size_t npages = 0, count = 0;
	vcli_call_result result;
	int rc = CLI_EXIT_OK;

	if (o.limit < 0)
		return cli_usage_error(cli, "invalid limit '%d' for '--limit' "
				       "(use 1 or more)", o.limit);
	req.limit = o.limit;
	req.status = (char *)(o.status ? upper(status, sizeof(status),
						 o.status) : "");
	req.priority = (char *)(o.priority ? upper(priority, sizeof(priority),
						   o.priority) : "");
	req.operation_type = (char *)(o.type ? o.type : "");
	req.assigned_operator = (char *)(o.assigned ? o.assigned : "");
	req.page_token = (char *)(o.page_token ? o.page_token : "");
	for (;;) {
		list_resp *resp, **grown;

		if (cli_unary(cli, "ListPendingDecisions", &req.base,
			      &vertice__governance__v1__list_pending_decisions_response__descriptor,
			      (ProtobufCMessage **)&resp, &result) < 0) {
			rc = cli_rpc_failed(cli, "ListPendingDecisions",
					    "cannot list decisions", &result);
			goto out;
		}
		grown = realloc(pages, (npages + 1) * sizeof(*pages));
		if (!grown) {
			protobuf_c_message_free_unpacked(&resp->base, NULL);
			cli_error("out of memory");
			rc = CLI_EXIT_INTERNAL;
			goto out;
		}
		pages = grown;
		pages[npages++] = resp;
		count += resp->n_decisions;
		if (!o.all || !resp->next_page_token ||
		    !resp->next_page_token[0])
			break;
		if (strcmp(resp->next_page_token, req.page_token) == 0 ||
		    npages >= LIST_MAX_PAGES) {
			cli_error("the server keeps returning page token "
				  "'%.64s'; stopping", resp->next_page_token);
			rc = CLI_EXIT_RPC;
			goto out;
		}
		req.page_token = resp->next_page_token;
	}
	rc = print_list(cli, pages, npages, count);
out:
	for (size_t i = 0; i < npages; i++)
		protobuf_c_message_free_unpacked(&pages[i]->base, NULL);
	free(pages);
	return rc;
}

/* ---- get ---- */

static const struct cmd_spec get_spec = {
	.usage = "vcli gov get ID [options]",
	.description =
		"Prints one decision: in the table format a detail view\n"
		"(context, risk factors, ethical principles, recommended\n"
		"actions, history); with -o json|yaml the Decision message.\n"
		"Exits 7 when there is no such decision.\n",
	.min_args = 1,
	.max_args = 1,
	.examples =
		"  vcli gov get d-0123456789abcdef0123456789abcdef\n"
		"  vcli gov get d-0123456789abcdef0123456789abcdef -o yaml\n",
};

static int gov_get(struct cli *cli)
{
	get_req req = VERTICE__GOVERNANCE__V1__GET_DECISION_REQUEST__INIT;
	vcli_call_result result;
	get_resp *resp;
	char action[300], id[140];
	int rc;

	req.decision_id = cli->args[0];
	if (cli_unary(cli, "GetDecision", &req.base,
		      &vertice__governance__v1__get_decision_response__descriptor,
		      (ProtobufCMessage **)&resp, &result) < 0) {
		out_sanitize(id, sizeof(id), cli->args[0]);
		snprintf(action, sizeof(action), "cannot get decision '%s'", id);
		return cli_rpc_failed(cli, "GetDecision", action, &result);
	}
	if (!resp->decision) {
		cli_error("the server answered GetDecision without a decision");
		rc = CLI_EXIT_RPC;
	} else if (cli->output == OUTPUT_TABLE) {
		rc = gov_render_decision(stdout, resp->decision, now_seconds(),
					 cli->color) < 0 ? CLI_EXIT_INTERNAL
							 : CLI_EXIT_OK;
	} else {
		rc = cli_print_message(cli, &resp->decision->base);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

/* ---- approve / reject / escalate ---- */

#define WRITE_OPTIONS_TAIL \
	{ "request-id", 0, OPT_STRING, &o.request_id, \
	  "id that makes a retry safe (default: a random one)", NULL, "R" }, \
	OPT_END

static const struct opt approve_options[] = {
	{ "comment", 0, OPT_STRING, &o.comment, "a comment for the record",
	  NULL, "C" },
	{ "execute", 0, OPT_FLAG, &o.execute,
	  "then carry out its cluster action (k8s.*) on the current context",
	  NULL, NULL },
	{ "reasoning", 0, OPT_STRING, &o.reasoning, "why, for the record",
	  NULL, "R" },
	WRITE_OPTIONS_TAIL,
};

static const struct opt reject_options[] = {
	{ "comment", 0, OPT_STRING, &o.comment,
	  "a comment (this or --reasoning is required)", NULL, "C" },
	{ "reasoning", 0, OPT_STRING, &o.reasoning,
	  "why (this or --comment is required)", NULL, "R" },
	WRITE_OPTIONS_TAIL,
};

static const struct opt escalate_options[] = {
	{ "to", 0, OPT_STRING, &o.to, "who takes the decision over (required)",
	  NULL, "TARGET" },
	{ "reason", 0, OPT_STRING, &o.reason, "why it is escalated", NULL,
	  "R" },
	WRITE_OPTIONS_TAIL,
};

#define WRITE_DESCRIPTION_TAIL \
	"Writes need an operator (--operator, VCLI_OPERATOR or the config\n" \
	"file) and use the session remembered for the server, opening one\n" \
	"when there is none; when the server no longer knows it, a new one\n" \
	"is opened and the write retried once with the same request id.\n"

static const struct cmd_spec approve_spec = {
	.usage = "vcli gov approve ID [options]",
	.description =
		"Approves an open decision.  The first resolution wins: a\n"
		"decision already approved, rejected or expired gives exit 8.\n"
		"With --execute, its recommended cluster action (k8s.scale,\n"
		"k8s.delete, k8s.rollout_restart, k8s.apply) is checked against the\n"
		"kubeconfig's current context first (the object exists, the\n"
		"credentials may do it: otherwise nothing is approved), then\n"
		"carried out once the approval is recorded, and what came of it\n"
		"(done or failed, and how) is recorded on the decision; exit 14\n"
		"when the action ran but that record could not be made\n"
		"(docs/commands/gov.md).\n"
		WRITE_DESCRIPTION_TAIL,
	.options = approve_options,
	.min_args = 1,
	.max_args = 1,
	.examples =
		"  vcli gov approve d-0123456789abcdef0123456789abcdef\n"
		"  vcli gov approve d-0123... --comment 'checked the logs' "
		"--operator alice\n",
};

static const struct cmd_spec reject_spec = {
	.usage = "vcli gov reject ID (--comment C | --reasoning R) [options]",
	.description =
		"Rejects an open decision; a comment or a reasoning is\n"
		"required.  The first resolution wins (exit 8 otherwise).\n"
		WRITE_DESCRIPTION_TAIL,
	.options = reject_options,
	.min_args = 1,
	.max_args = 1,
	.examples =
		"  vcli gov reject d-0123... --comment 'false positive'\n",
};

static const struct cmd_spec escalate_spec = {
	.usage = "vcli gov escalate ID --to TARGET [options]",
	.description =
		"Escalates an open decision to TARGET, who becomes its\n"
		"assigned operator; it stays open for review.\n"
		WRITE_DESCRIPTION_TAIL,
	.options = escalate_options,
	.min_args = 1,
	.max_args = 1,
	.examples =
		"  vcli gov escalate d-0123... --to security-lead --reason "
		"'needs a second look'\n",
};

/* One write: which method, and where its request keeps the session and
 * request ids. */
struct write_call {
	const char *method;
	const char *verb;                 /* "approve" */
	ProtobufCMessage *req;
	char **session_id;
	char **request_id;
	const ProtobufCMessageDescriptor *rdesc;
};

/* The three write responses share fields 1-4 (success, message,
 * processed_at, decision); this reads them through their descriptors'
 * field offsets, which protoc-c lays out identically. */
static const char *write_message(const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
								"message");

	return fd ? *(char *const *)(const void *)((const char *)m + fd->offset)
		  : "";
}

static int run_write(struct cli *cli, struct write_call *w)
{
	char session[160], rid[64], action[300], id[140];
	vcli_call_result result;
	ProtobufCMessage *resp = NULL;
	int rc;

	/* A given id goes as it is: the server judges its length. */
	if (o.request_id) {
		*w->request_id = (char *)o.request_id;
	} else {
		cli_request_id(rid, sizeof(rid));
		*w->request_id = rid;
	}
	out_sanitize(id, sizeof(id), cli->args[0]);
	snprintf(action, sizeof(action), "cannot %s decision '%s'", w->verb,
		 id);
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = cli_session_for_write(cli, attempt > 0, session,
					   sizeof(session));
		if (rc != CLI_PROCEED)
			return rc;
		*w->session_id = session;
		if (cli_unary(cli, w->method, w->req, w->rdesc, &resp,
			      &result) == 0)
			break;
		/* An unknown or closed session: open a new one and retry
		 * once; the request id makes the retry safe. */
		if (result.status != VCLI_STATUS_UNAUTHENTICATED || attempt)
			goto failed;
	}
	if (cli->output == OUTPUT_TABLE) {
		out_text(stdout, write_message(resp));
		fputc('\n', stdout);
		rc = CLI_EXIT_OK;
	} else {
		rc = cli_print_message(cli, resp);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
failed:
	rc = cli_rpc_failed(cli, w->method, action, &result);
	if (result.status == VCLI_STATUS_UNAVAILABLE ||
	    result.status == VCLI_STATUS_DEADLINE_EXCEEDED) {
		char shown[160];

		out_sanitize(shown, sizeof(shown), *w->request_id);
		fprintf(stderr, "the %s may or may not have happened; to retry "
			"it safely, add --request-id '%s'\n", w->verb, shown);
	}
	return rc;
}

/* approve --execute, before the approval: the decision's cluster action,
 * checked against the cluster.  CLI_PROCEED with *out set and its index in
 * recommended_actions and its type in *index and type, or the exit code
 * (printed); nothing has changed either way. */
static int prepare_action(struct cli *cli, struct k8s_action **out,
			  int32_t *index, char *type, size_t typelen)
{
	get_req req = VERTICE__GOVERNANCE__V1__GET_DECISION_REQUEST__INIT;
	vcli_call_result result;
	get_resp *resp;
	const Vertice__Governance__V1__Action *act = NULL;
	char action[300], id[140];
	int rc;

	req.decision_id = cli->args[0];
	out_sanitize(id, sizeof(id), cli->args[0]);
	if (cli_unary(cli, "GetDecision", &req.base,
		      &vertice__governance__v1__get_decision_response__descriptor,
		      (ProtobufCMessage **)&resp, &result) < 0) {
		snprintf(action, sizeof(action), "cannot get decision '%s'", id);
		return cli_rpc_failed(cli, "GetDecision", action, &result);
	}
	for (size_t i = 0; resp->decision &&
			   i < resp->decision->n_recommended_actions; i++) {
		const Vertice__Governance__V1__Action *a =
			resp->decision->recommended_actions[i];

		if (strncmp(a->action_type, "k8s.", 4) == 0) {
			act = a;
			*index = (int32_t)i;
			snprintf(type, typelen, "%s", a->action_type);
			break;
		}
	}
	if (!act) {
		cli_error("decision '%s' recommends no cluster action (k8s.scale, "
			  "k8s.delete, k8s.rollout_restart, k8s.apply): nothing to "
			  "execute; approve it without --execute", id);
		rc = CLI_EXIT_REJECTED;
	} else {
		const char *keys[64], *vals[64];
		size_t n = 0;

		for (size_t i = 0; i < act->n_parameters && n < 64; i++, n++) {
			keys[n] = act->parameters[i]->key;
			vals[n] = act->parameters[i]->value;
		}
		rc = k8s_action_prepare(out, act->action_type, keys, vals, n);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

/* The request id of an --execute's record: the approval's with ".exec",
 * so that rerunning the same approval (--request-id) records once; cut to
 * the server's 128 bytes. */
#define EXEC_RID_SUFFIX ".exec"
#define RID_MAX 128

/* approve --execute, after the action ran (or failed): its outcome on the
 * decision (RecordExecution), on the session of the approval, renewed
 * once like the writes.  CLI_EXIT_OK, or CLI_EXIT_UNRECORDED with why
 * printed: the action ran but nothing says so on the decision. */
static int record_execution(struct cli *cli, const char *approve_rid,
			    const vcli_execution *ex, FILE *f)
{
	char session[160], rid[RID_MAX + 1], id[140], msg[300];
	vcli_execution_result out;
	vcli_call_options copts;
	vcli_call_result result;
	vcli_code code;
	int rc;

	snprintf(rid, sizeof(rid), "%.*s%s",
		 (int)(RID_MAX - strlen(EXEC_RID_SUFFIX)), approve_rid,
		 EXEC_RID_SUFFIX);
	out_sanitize(id, sizeof(id), cli->args[0]);
	cli_call_options(cli, &copts);
	memset(&result, 0, sizeof(result));
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = cli_session_for_write(cli, attempt > 0, session,
					   sizeof(session));
		if (rc != CLI_PROCEED)
			goto unrecorded;
		code = vcli_client_record_execution(cli->client, &copts, session,
						    cli->args[0], ex, rid, &out,
						    &result);
		if (code != VCLI_OK) {
			result.status = VCLI_STATUS_INTERNAL;
			snprintf(result.message, sizeof(result.message),
				 "cannot call RecordExecution: %s",
				 vcli_strerror(code));
		}
		if (result.status == VCLI_STATUS_OK) {
			out_sanitize(msg, sizeof(msg), out.message);
			fprintf(f, "recorded: %s\n", msg);
			vcli_bytes_release(&out.decision);
			return CLI_EXIT_OK;
		}
		if (result.status != VCLI_STATUS_UNAUTHENTICATED)
			break;
	}
	snprintf(msg, sizeof(msg), "cannot record the execution on decision "
		 "'%s'", id);
	cli_rpc_failed(cli, "RecordExecution", msg, &result);
unrecorded:
	cli_error("the action %s, but its outcome is not recorded on decision "
		  "'%s'", ex->succeeded ? "ran" : "was tried and failed", id);
	return CLI_EXIT_UNRECORDED;
}

static int gov_approve(struct cli *cli)
{
	approve_req req = VERTICE__GOVERNANCE__V1__APPROVE_DECISION_REQUEST__INIT;
	struct write_call w = {
		"ApproveDecision", "approve", &req.base, &req.session_id,
		&req.request_id,
		&vertice__governance__v1__approve_decision_response__descriptor,
	};
	struct k8s_action *act = NULL;
	/* The server takes a detail of 4096 bytes, a target of 512, both
	 * UTF-8 without control characters: out_sanitize() makes them so. */
	char outcome[2048], detail[2048], type[160], where[1024], target[513];
	char rid[64];
	int32_t index = 0;
	int rc;

	if (o.execute) {
		rc = prepare_action(cli, &act, &index, type, sizeof(type));
		if (rc != CLI_PROCEED)
			return rc;
		/* Chosen here: the record's id is derived from it. */
		if (!o.request_id) {
			cli_request_id(rid, sizeof(rid));
			o.request_id = rid;
		}
	}
	req.decision_id = cli->args[0];
	req.comment = (char *)(o.comment ? o.comment : "");
	req.reasoning = (char *)(o.reasoning ? o.reasoning : "");
	rc = run_write(cli, &w);
	if (act && rc == CLI_EXIT_OK) {
		/* The approval is recorded: now the cluster, then what came
		 * of it on the decision, whichever way it went. */
		FILE *f = cli->output == OUTPUT_TABLE ? stdout : stderr;
		vcli_execution ex;
		int rrc;

		memset(&ex, 0, sizeof(ex));
		ex.action_type = type;
		ex.action_index = index;
		ex.succeeded = k8s_action_run(act, outcome, sizeof(outcome)) == 0;
		out_sanitize(detail, sizeof(detail), outcome);
		ex.detail = detail;
		k8s_action_target(act, where, sizeof(where));
		out_sanitize(target, sizeof(target), where);
		ex.target = target;
		if (ex.succeeded) {
			fprintf(f, "executed: %s\n", outcome);
		} else {
			fflush(stdout);
			cli_error("approved, but the action on %s %s",
				  k8s_action_describe(act), outcome);
			rc = CLI_EXIT_RPC;
		}
		fflush(stdout);
		rrc = record_execution(cli, o.request_id, &ex, f);
		if (rrc != CLI_EXIT_OK)
			rc = rrc;
	}
	k8s_action_free(act);
	return rc;
}

static int gov_reject(struct cli *cli)
{
	reject_req req = VERTICE__GOVERNANCE__V1__REJECT_DECISION_REQUEST__INIT;
	struct write_call w = {
		"RejectDecision", "reject", &req.base, &req.session_id,
		&req.request_id,
		&vertice__governance__v1__reject_decision_response__descriptor,
	};

	if ((!o.comment || !o.comment[0]) && (!o.reasoning || !o.reasoning[0]))
		return cli_usage_error(cli, "a rejection needs --comment or "
				       "--reasoning");
	req.decision_id = cli->args[0];
	req.comment = (char *)(o.comment ? o.comment : "");
	req.reasoning = (char *)(o.reasoning ? o.reasoning : "");
	return run_write(cli, &w);
}

static int gov_escalate(struct cli *cli)
{
	escalate_req req =
		VERTICE__GOVERNANCE__V1__ESCALATE_DECISION_REQUEST__INIT;
	struct write_call w = {
		"EscalateDecision", "escalate", &req.base, &req.session_id,
		&req.request_id,
		&vertice__governance__v1__escalate_decision_response__descriptor,
	};

	if (!o.to || !o.to[0])
		return cli_usage_error(cli, "an escalation needs --to TARGET");
	req.decision_id = cli->args[0];
	req.escalation_target = (char *)o.to;
	req.reason = (char *)(o.reason ? o.reason : "");
	return run_write(cli, &w);
}

/* ---- submit ---- */

static const struct opt submit_options[] = {
	{ "file", 'f', OPT_STRING, &o.file,
	  "the decision as JSON; '-' reads stdin (required)", NULL, "FILE" },
	{ "idempotency-key", 0, OPT_STRING, &o.idempotency_key,
	  "overrides the file's idempotencyKey", NULL, "K" },
	OPT_END,
};

static const struct cmd_spec submit_spec = {
	.usage = "vcli gov submit -f FILE|- [options]",
	.description =
		"Submits a decision for review, as a producer does.  FILE is\n"
		"the Decision message in the protobuf JSON mapping\n"
		"(lowerCamelCase or snake_case names, RFC 3339 timestamps),\n"
		"plus an optional top-level \"idempotencyKey\": the same key\n"
		"again returns the first decision instead of a new one.  Prints\n"
		"the decision id; with -o json|yaml the stored decision.\n"
		"Exits 9 when the file or the server refuses the decision.\n",
	.options = submit_options,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli gov submit -f decision.json\n"
		"  generate-proposal | vcli gov submit -f - --idempotency-key "
		"run-42\n",
};

static int gov_submit(struct cli *cli)
{
	struct decision_json dj;
	vcli_call_result result;
	submit_resp *resp;
	char err[600];
	const char *shown;
	size_t len;
	char *text;
	int rc;

	if (!o.file)
		return cli_usage_error(cli, "missing -f FILE (or -f - for "
				       "stdin)");
	shown = strcmp(o.file, "-") == 0 ? "stdin" : o.file;
	text = cli_read_input(o.file, DECISION_JSON_MAX, &len, &rc);
	if (!text)
		return rc;
	rc = decision_json_parse(text, len, o.idempotency_key, &dj, err,
				 sizeof(err));
	free(text);
	if (rc < 0) {
		cli_error("%s: %s", shown, err);
		return CLI_EXIT_REJECTED;
	}
	/* With a key the server answers a second submission with the
	 * first decision: safe to send again. */
	if (cli_unary_call(cli, "SubmitDecision", dj.request, dj.request_len,
			   dj.idempotency_key && dj.idempotency_key[0],
			   &vertice__governance__v1__submit_decision_response__descriptor,
			   (ProtobufCMessage **)&resp, &result) < 0) {
		decision_json_release(&dj);
		return cli_rpc_failed(cli, "SubmitDecision",
				      "cannot submit the decision", &result);
	}
	if (!resp->created) {
		char key[160];

		out_sanitize(key, sizeof(key), dj.idempotency_key);
		fprintf(stderr, "idempotency key '%s' was used before; this is "
			"the decision it made\n", key);
	}
	decision_json_release(&dj);
	if (!resp->decision) {
		cli_error("the server answered SubmitDecision without a "
			  "decision");
		rc = CLI_EXIT_RPC;
	} else if (cli->output == OUTPUT_TABLE) {
		out_text(stdout, resp->decision->decision_id);
		fputc('\n', stdout);
		rc = CLI_EXIT_OK;
	} else {
		rc = cli_print_message(cli, &resp->decision->base);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

/* ---- metrics / stats ---- */

static const struct cmd_spec metrics_spec = {
	.usage = "vcli gov metrics [options]",
	.description =
		"Prints the service's decision metrics: pending, totals per\n"
		"outcome, critical and high priority counts, the average\n"
		"review time, the approval rate and the SLA violations.  In\n"
		"json and yaml a count of 0 is left out, as the protobuf JSON\n"
		"mapping does.\n",
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli gov metrics\n"
		"  vcli gov metrics -o json\n",
};

static int gov_metrics_cmd(struct cli *cli)
{
	metrics_req req = VERTICE__GOVERNANCE__V1__GET_METRICS_REQUEST__INIT;
	gov_metrics zero = VERTICE__GOVERNANCE__V1__DECISION_METRICS__INIT;
	vcli_call_result result;
	metrics_resp *resp;
	int rc = CLI_EXIT_OK;

	if (cli_unary(cli, "GetMetrics", &req.base,
		      &vertice__governance__v1__get_metrics_response__descriptor,
		      (ProtobufCMessage **)&resp, &result) < 0)
		return cli_rpc_failed(cli, "GetMetrics", "cannot get metrics",
				      &result);
	if (cli->output == OUTPUT_TABLE)
		gov_render_metrics(stdout, resp->metrics ? resp->metrics
							 : &zero);
	else
		rc = cli_print_message(cli, resp->metrics ? &resp->metrics->base
							  : &zero.base);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

static const struct cmd_spec stats_spec = {
	.usage = "vcli gov stats [--operator OP] [options]",
	.description =
		"Prints an operator's review statistics (GetSessionStats):\n"
		"decisions reviewed, approved, rejected, escalations made, the\n"
		"average review time and the start of their session.  The\n"
		"operator is the configured one (--operator, VCLI_OPERATOR or\n"
		"the config file).  Exits 7 for an operator who never opened a\n"
		"session.\n",
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli gov stats\n"
		"  vcli gov stats --operator bob -o json\n",
};

static int gov_stats_cmd(struct cli *cli)
{
	stats_req req = VERTICE__GOVERNANCE__V1__GET_SESSION_STATS_REQUEST__INIT;
	vcli_call_result result;
	gov_stats *resp;
	char action[300], op[136];
	int rc = CLI_EXIT_OK;

	req.operator_id = (char *)cli->cfg.operator_id;
	if (cli_unary(cli, "GetSessionStats", &req.base,
		      &vertice__governance__v1__get_session_stats_response__descriptor,
		      (ProtobufCMessage **)&resp, &result) < 0) {
		out_sanitize(op, sizeof(op), cli->cfg.operator_id);
		snprintf(action, sizeof(action), "cannot get the stats of "
			 "operator '%s'", op);
		return cli_rpc_failed(cli, "GetSessionStats", action, &result);
	}
	if (cli->output == OUTPUT_TABLE)
		gov_render_stats(stdout, cli->cfg.operator_id, resp);
	else
		rc = cli_print_message(cli, &resp->base);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

/* ---- watch ---- */

static const struct opt watch_options[] = {
	{ "resume-after", 0, OPT_STRING, &o.resume_after,
	  "start with the events after this sequence number", NULL, "SEQ" },
	{ "events", 0, OPT_FLAG, &o.events,
	  "the metrics and heartbeat stream (StreamEvents) instead", NULL,
	  NULL },
	OPT_END,
};

static const struct cmd_spec watch_spec = {
	.usage = "vcli gov watch [--resume-after SEQ] [--events] [options]",
	.description =
		"Prints decision events as they happen (StreamDecisions): one\n"
		"line per event in the table format, one JSON object per line\n"
		"with -o json, one YAML document per event with -o yaml.  When\n"
		"the server goes away it reconnects (back-off from 100 ms\n"
		"doubling to 5 s, with jitter) and resumes after the last\n"
		"sequence number printed, so no event is missed or printed\n"
		"twice.  --resume-after SEQ starts with the events after SEQ\n"
		"(0, the default: from now, as a sequence number read first, so\n"
		"a reconnection before the first event misses nothing).\n"
		"--events streams the metrics updates and\n"
		"heartbeats (StreamEvents) instead.  Ends with exit 0 on\n"
		"Ctrl-C (SIGINT) or SIGTERM.\n",
	.options = watch_options,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli gov watch\n"
		"  vcli gov watch --resume-after 1200 -o json | jq .type\n"
		"  vcli gov watch --events\n",
};

struct watch {
	struct cli *cli;
	uint64_t last_seq;  /* the last sequence printed (or resumed from) */
	int have_start;     /* last_seq is a real point in the event sequence */
	unsigned events;    /* received in this attempt */
	int stop;           /* 1: end the command with rc */
	int rc;
	sigset_t sigs;      /* SIGINT and SIGTERM */
};

static void on_stop_signal(int sig)
{
	/* Every event is flushed with these signals blocked, so there is
	 * nothing buffered to lose: end at once. */
	(void)sig;
	_exit(CLI_EXIT_OK);
}

/* Writes one event in the output format and flushes it; the stop signals
 * wait until the whole event is out. */
static int emit(struct watch *w, const ProtobufCMessage *m,
		void (*table_line)(const ProtobufCMessage *, int))
{
	struct doc_arena a;
	int rc = 0;

	sigprocmask(SIG_BLOCK, &w->sigs, NULL);
	if (w->cli->output == OUTPUT_TABLE) {
		table_line(m, w->cli->color);
	} else {
		doc_arena_init(&a);
		if (w->cli->output == OUTPUT_YAML)
			fputs("---\n", stdout);
		rc = cli_print_doc(w->cli, &a, pbjson_to_doc(
			&a, m, PBJSON_ENUMS_ALWAYS));
		doc_arena_release(&a);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		/* The reader went away (`| head`): that ends a watch, as a
		 * signal does (nothing is left to write). */
		if (errno == EPIPE)
			_exit(CLI_EXIT_OK);
		cli_error("cannot write the output: %s", strerror(errno));
		w->stop = 1;
		w->rc = CLI_EXIT_INTERNAL;
		rc = -1;
	} else if (rc != CLI_EXIT_OK) {
		w->stop = 1;
		w->rc = rc;
		rc = -1;
	}
	sigprocmask(SIG_UNBLOCK, &w->sigs, NULL);
	return rc;
}

static void decision_line(const ProtobufCMessage *m, int color)
{
	gov_render_decision_event(stdout, (const gov_decision_event *)m, color);
}

static void event_line(const ProtobufCMessage *m, int color)
{
	(void)color;
	gov_render_event(stdout, (const gov_event *)m);
}

static int on_decision_event(void *ud, const uint8_t *msg, size_t len)
{
	struct watch *w = ud;
	gov_decision_event *e =
		vertice__governance__v1__decision_event__unpack(NULL, len, msg);
	int rc;

	w->events++;
	if (!e) {
		cli_error("an event from the server does not decode");
		w->stop = 1;
		w->rc = CLI_EXIT_RPC;
		return 1;
	}
	/* Resuming replays from last_seq + 1; anything older was printed
	 * already. */
	if (e->sequence && e->sequence <= w->last_seq) {
		vertice__governance__v1__decision_event__free_unpacked(e, NULL);
		return 0;
	}
	if (e->sequence && w->last_seq && e->sequence > w->last_seq + 1)
		cli_error("warning: the server skipped events %" PRIu64
			  " to %" PRIu64, w->last_seq + 1, e->sequence - 1);
	rc = emit(w, &e->base, decision_line);
	if (rc == 0 && e->sequence)
		w->last_seq = e->sequence;
	vertice__governance__v1__decision_event__free_unpacked(e, NULL);
	return rc < 0;
}

static int on_governance_event(void *ud, const uint8_t *msg, size_t len)
{
	struct watch *w = ud;
	gov_event *e =
		vertice__governance__v1__governance_event__unpack(NULL, len, msg);
	int rc;

	w->events++;
	if (!e) {
		cli_error("an event from the server does not decode");
		w->stop = 1;
		w->rc = CLI_EXIT_RPC;
		return 1;
	}
	rc = emit(w, &e->base, event_line);
	vertice__governance__v1__governance_event__free_unpacked(e, NULL);
	return rc < 0;
}

/* Statuses that another attempt cannot fix: the request itself is wrong
 * or the server refuses the stream. */
static int watch_fatal(int status)
{
	switch (status) {
	case VCLI_STATUS_INVALID_ARGUMENT:
	case VCLI_STATUS_OUT_OF_RANGE:
	case VCLI_STATUS_NOT_FOUND:
	case VCLI_STATUS_ALREADY_EXISTS:
	case VCLI_STATUS_FAILED_PRECONDITION:
	case VCLI_STATUS_PERMISSION_DENIED:
	case VCLI_STATUS_UNAUTHENTICATED:
	case VCLI_STATUS_UNIMPLEMENTED:
	case VCLI_STATUS_DATA_LOSS:
		return 1;
	default:
		return 0;
	}
}

static int parse_seq(const char *text, uint64_t *seq)
{
	char *end;

	if (!text[0])
		return -1;
	for (const char *p = text; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	*seq = strtoull(text, &end, 10);
	return errno || *end ? -1 : 0;
}

/*
 * Where "from now on" is, as a sequence number: the stream is then asked
 * for the events after it, so that a reconnection before the first event
 * arrives (governd restarting, say) still misses nothing.  0, or -1 with
 * the failed call's status in *result.
 */
static int watch_start_point(struct cli *cli, struct watch *w, vcli_call_result *result)
{
	Vertice__Governance__V1__GetMetricsRequest req =
		VERTICE__GOVERNANCE__V1__GET_METRICS_REQUEST__INIT;
	Vertice__Governance__V1__GetMetricsResponse *resp = NULL;

	if (cli_unary(cli, "GetMetrics", &req.base,
		      &vertice__governance__v1__get_metrics_response__descriptor,
		      (ProtobufCMessage **)&resp, result) < 0)
		return -1;
	/* A governd that predates last_sequence says 0: "from now on" then
	 * stays the server's idea of it, as before. */
	if (resp->metrics)
		w->last_seq = resp->metrics->last_sequence;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

/* Equal but for the digits: "next probe in 4.2 s" and "... in 3.1 s" are
 * one kind of failure, said once. */
static int same_but_numbers(const char *a, const char *b)
{
	for (;;) {
		while (*a >= '0' && *a <= '9')
			a++;
		while (*b >= '0' && *b <= '9')
			b++;
		if (*a != *b)
			return 0;
		if (!*a)
			return 1;
		a++;
		b++;
	}
}

static int gov_watch(struct cli *cli)
{
	const char *method = o.events ? "StreamEvents" : "StreamDecisions";
	struct watch w;
	struct sigaction sa;
	vcli_call_options copts;
	vcli_call_result result;
	uint32_t backoff = WATCH_BACKOFF_MIN_MS;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	char path[128], last_msg[sizeof(result.message) + 32] = "";

	memset(&w, 0, sizeof(w));
	w.cli = cli;
	if (o.resume_after && parse_seq(o.resume_after, &w.last_seq) < 0)
		return cli_usage_error(cli, "invalid sequence number '%s' for "
				       "'--resume-after' (use 0 or more)",
				       o.resume_after);
	if (o.events && o.resume_after)
		return cli_usage_error(cli, "'--resume-after' is for decision "
				       "events; '--events' cannot resume");
	w.have_start = o.events || w.last_seq != 0;
	sigemptyset(&w.sigs);
	sigaddset(&w.sigs, SIGINT);
	sigaddset(&w.sigs, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A server that resets the connection must not kill a long watch
	 * with SIGPIPE; a closed stdout is noticed by emit(). */
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), GOV_SERVICE "%s", method);
	cli_call_options(cli, &copts);
	copts.deadline_ms = 0; /* a stream has no deadline */

	for (;;) {
		uint8_t buf[32];
		size_t len;
		uint64_t started = time_mono_ns();
		vcli_code code;
		char msg[sizeof(result.message) + 32];
		uint32_t delay;
		const char *called = method;

		w.events = 0;
		if (!w.have_start) {
			if (watch_start_point(cli, &w, &result) < 0) {
				called = "GetMetrics";
				goto ended;
			}
			w.have_start = 1;
		}
		if (o.events) {
			events_req req =
				VERTICE__GOVERNANCE__V1__STREAM_EVENTS_REQUEST__INIT;

			len = vertice__governance__v1__stream_events_request__pack(
				&req, buf);
		} else {
			stream_req req =
				VERTICE__GOVERNANCE__V1__STREAM_DECISIONS_REQUEST__INIT;

			req.resume_after = w.last_seq;
			len = vertice__governance__v1__stream_decisions_request__pack(
				&req, buf);
		}
		code = vcli_client_stream(cli->client, path, buf, len,
					  o.events ? on_governance_event
						   : on_decision_event,
					  &w, &copts, &result);
		if (code != VCLI_OK) {
			cli_error("cannot call %s: %s", method,
				  vcli_strerror(code));
			return CLI_EXIT_INTERNAL;
		}
		if (w.stop)
			return w.rc;
ended:
		if (watch_fatal(result.status)) {
			char action[64];

			snprintf(action, sizeof(action), "cannot watch %s",
				 o.events ? "events" : "decisions");
			return cli_rpc_failed(cli, called, action, &result);
		}
		if (w.events ||
		    time_mono_ns() - started >= WATCH_HEALTHY_MS * 1000000ull)
			backoff = WATCH_BACKOFF_MIN_MS;
		/* Equal jitter: half the back-off, plus up to the other
		 * half at random, so many watchers do not reconnect in
		 * step. */
		delay = backoff / 2 + (uint32_t)(rand_r(&seed) %
						 (backoff / 2 + 1));
		/* Say so once per kind of failure, not every attempt. */
		out_sanitize(msg, sizeof(msg), result.message);
		if (!same_but_numbers(msg, last_msg)) {
			if (o.events)
				cli_error("the stream ended (%s%s%s); "
					  "reconnecting",
					  vcli_status_name(result.status),
					  msg[0] ? ": " : "", msg);
			else
				cli_error("the stream ended (%s%s%s); "
					  "reconnecting to resume after "
					  "sequence %" PRIu64,
					  vcli_status_name(result.status),
					  msg[0] ? ": " : "", msg, w.last_seq);
			snprintf(last_msg, sizeof(last_msg), "%s", msg);
		}
		{
			struct timespec ts = { delay / 1000,
					       (long)(delay % 1000) * 1000000L };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		if (backoff < WATCH_BACKOFF_MAX_MS)
			backoff = backoff * 2 < WATCH_BACKOFF_MAX_MS ?
				  backoff * 2 : WATCH_BACKOFF_MAX_MS;
	}
}

/* ---- the group ---- */

static const struct subcmd gov_subs[] = {
	{ "list", gov_list, NEED_SERVER, &list_spec,
	  "list decisions (open ones by default), most urgent first" },
	{ "get", gov_get, NEED_SERVER, &get_spec,
	  "show one decision in detail" },
	{ "approve", gov_approve, NEED_SERVER | NEED_ACTOR, &approve_spec,
	  "approve a decision" },
	{ "reject", gov_reject, NEED_SERVER | NEED_ACTOR, &reject_spec,
	  "reject a decision (with a comment or reasoning)" },
	{ "escalate", gov_escalate, NEED_SERVER | NEED_ACTOR,
	  &escalate_spec, "escalate a decision to someone else" },
	{ "submit", gov_submit, NEED_SERVER, &submit_spec,
	  "submit a decision for review from a JSON file" },
	{ "metrics", gov_metrics_cmd, NEED_SERVER, &metrics_spec,
	  "show the service's decision metrics" },
	{ "stats", gov_stats_cmd, NEED_SERVER | NEED_OPERATOR, &stats_spec,
	  "show an operator's review statistics" },
	{ "watch", gov_watch, NEED_SERVER, &watch_spec,
	  "print decision events as they happen, resuming after restarts" },
};

int cmd_gov(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli,
			    "Decisions are operations proposed by AI systems "
			    "that need a human:\nlist and inspect them, "
			    "approve, reject or escalate them, submit new\n"
			    "ones, and follow the service's metrics and event "
			    "stream.\n",
			    gov_subs, sizeof(gov_subs) / sizeof(gov_subs[0]),
			    argc, argv);
}
