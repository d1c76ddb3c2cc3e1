/*
 * vcli session open|close|show: the operator's session, remembered in the
 * state directory (state.h) so that consecutive writes reuse it; and the
 * session handling every write shares (cli_session_for_write()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance.pb-c.h"
#include "cli/commands.h"
#include "cli/pbjson.h"
#include "cli/state.h"

typedef Vertice__Governance__V1__CreateSessionRequest create_req;
typedef Vertice__Governance__V1__CreateSessionResponse create_resp;
typedef Vertice__Governance__V1__CloseSessionRequest close_req;

int cli_need_operator(const struct cli *cli)
{
	if (cli->cfg.operator_id)
		return CLI_PROCEED;
	if (cli->config_path[0])
		return cli_usage_error(cli, "no operator configured; use "
				       "--operator NAME, set VCLI_OPERATOR, or "
				       "add 'operator = NAME' to '%s'",
				       cli->config_path);
	return cli_usage_error(cli, "no operator configured; use --operator "
			       "NAME or set VCLI_OPERATOR");
}

int cli_need_actor(const struct cli *cli)
{
	if (cli->cfg.operator_id || cli->credential[0])
		return CLI_PROCEED;
	if (cli->config_path[0])
		return cli_usage_error(cli, "no operator configured; use "
				       "--operator NAME or a credential "
				       "(--token, VCLI_TOKEN, --tls-cert), or add "
				       "'operator = NAME' to '%s'",
				       cli->config_path);
	return cli_usage_error(cli, "no operator configured; use --operator "
			       "NAME, VCLI_OPERATOR or a credential (--token, "
			       "VCLI_TOKEN, --tls-cert)");
}

/* vcli's request ids: the library's, prefixed "vcli-" (time-ordered, so
 * that governd's index of them grows at its end: vcli_request_id()). */
void cli_request_id(char *id, size_t idlen)
{
	if (vcli_request_id("vcli-", id, idlen) != VCLI_OK && idlen)
		id[0] = '\0';
}

/* The state directory and this server's session file. */
static int session_paths(const struct cli *cli, char *dir, size_t dirlen,
			 char *path, size_t pathlen)
{
	char name[300];
	int n;

	if (state_dir(getenv("XDG_STATE_HOME"), getenv("HOME"), dir,
		      dirlen) < 0) {
		cli_error("cannot find the state directory for the session; "
			  "set XDG_STATE_HOME or HOME");
		return CLI_EXIT_USAGE;
	}
	state_session_name(cli->server, name, sizeof(name));
	n = snprintf(path, pathlen, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= pathlen) {
		cli_error("the state directory path '%s' is too long", dir);
		return CLI_EXIT_USAGE;
	}
	return CLI_PROCEED;
}

/* CreateSession for the configured operator (or, with none, for whoever
 * the credential says: the server fills it in and tells); remembers the
 * session.  A session that cannot be remembered still serves this run
 * (warning). */
static int open_session(struct cli *cli, struct state_session *s)
{
	create_req req = VERTICE__GOVERNANCE__V1__CREATE_SESSION_REQUEST__INIT;
	create_resp *resp;
	vcli_call_result result;
	char dir[4096], path[4400], err[512], action[300], op[136];
	int rc = session_paths(cli, dir, sizeof(dir), path, sizeof(path));

	if (rc != CLI_PROCEED)
		return rc;
	req.operator_id = (char *)(cli->cfg.operator_id ? cli->cfg.operator_id
							: "");
	if (cli_unary(cli, "CreateSession", &req.base,
		      &vertice__governance__v1__create_session_response__descriptor,
		      (ProtobufCMessage **)&resp, &result) < 0) {
		if (cli->cfg.operator_id) {
			out_sanitize(op, sizeof(op), cli->cfg.operator_id);
			snprintf(action, sizeof(action), "cannot open a session "
				 "for operator '%s'", op);
		} else if (result.status == VCLI_STATUS_INVALID_ARGUMENT &&
			   strncmp(cli->credential, "u:", 2) == 0) {
			/* Only the socket's user was offered, and this
			 * governd does not know its socket's users. */
			return cli_usage_error(cli, "no operator configured, and governd "
					       "at '%s' takes no identity from its socket's "
					       "users (governd --peer-role); use --operator "
					       "NAME, VCLI_OPERATOR or --token", cli->server);
		} else {
			snprintf(action, sizeof(action), "cannot open a session");
		}
		return cli_rpc_failed(cli, "CreateSession", action, &result);
	}
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", resp->session_id);
	/* Whose it is, as the server says (an older one does not: then the
	 * configured operator). */
	snprintf(s->operator_id, sizeof(s->operator_id), "%s",
		 resp->operator_id && resp->operator_id[0] ? resp->operator_id :
		 cli->cfg.operator_id ? cli->cfg.operator_id : "");
	snprintf(s->server, sizeof(s->server), "%s", cli->server);
	snprintf(s->credential, sizeof(s->credential), "%s", cli->credential);
	if (resp->created_at)
		pbjson_format_time(resp->created_at->seconds,
				   resp->created_at->nanos, s->created,
				   sizeof(s->created));
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	if (!s->id[0]) {
		cli_error("the server opened a session without an id");
		return CLI_EXIT_RPC;
	}
	if (state_session_save(dir, path, s, err, sizeof(err)) < 0)
		cli_error("warning: the session cannot be remembered: %s", err);
	return CLI_PROCEED;
}

int cli_session_for_write(struct cli *cli, int force_new, char *id,
			  size_t idlen)
{
	struct state_session s;
	char dir[4096], path[4400], err[512];
	int rc = session_paths(cli, dir, sizeof(dir), path, sizeof(path));

	if (rc != CLI_PROCEED)
		return rc;
	if (!force_new) {
		int loaded = state_session_load(path, &s, err, sizeof(err));

		if (loaded < 0)
			cli_error("warning: %s; opening a new session", err);
		/* A session remembered for another operator or opened
		 * with another credential (the configuration changed) is
		 * not ours to write with. */
		if (loaded > 0 && (!cli->cfg.operator_id ||
				   strcmp(s.operator_id,
					  cli->cfg.operator_id) == 0) &&
		    strcmp(s.credential, cli->credential) == 0 &&
		    strcmp(s.server, cli->server) == 0) {
			snprintf(id, idlen, "%s", s.id);
			return CLI_PROCEED;
		}
	}
	rc = open_session(cli, &s);
	if (rc != CLI_PROCEED)
		return rc;
	snprintf(id, idlen, "%s", s.id);
	return CLI_PROCEED;
}

static int print_session(const struct cli *cli, const struct state_session *s,
			 const char *path)
{
	struct doc_arena a;
	struct doc *d;
	int rc;

	if (cli->output == OUTPUT_TABLE) {
		out_kv(stdout, "SESSION", "%s", s->id);
		out_kv(stdout, "OPERATOR", "%s", s->operator_id);
		out_kv(stdout, "SERVER", "%s", s->server);
		out_kv(stdout, "CREATED", "%s", s->created[0] ? s->created : "-");
		if (path)
			out_kv(stdout, "FILE", "%s", path);
		return CLI_EXIT_OK;
	}
	doc_arena_init(&a);
	d = doc_obj(&a);
	doc_set(&a, d, "sessionId", doc_str(&a, s->id));
	doc_set(&a, d, "operator", doc_str(&a, s->operator_id));
	doc_set(&a, d, "server", doc_str(&a, s->server));
	if (s->created[0])
		doc_set(&a, d, "createdAt", doc_str(&a, s->created));
	if (path)
		doc_set(&a, d, "file", doc_str(&a, path));
	rc = cli_print_doc(cli, &a, d);
	doc_arena_release(&a);
	return rc;
}

/* Best effort: a remembered session that open replaces is closed, so it
 * does not count as open in the operator's stats. */
static void close_quietly(struct cli *cli, const char *id)
{
	close_req req = VERTICE__GOVERNANCE__V1__CLOSE_SESSION_REQUEST__INIT;
	ProtobufCMessage *resp;
	vcli_call_result result;

	req.session_id = (char *)id;
	if (cli_unary(cli, "CloseSession", &req.base,
		      &vertice__governance__v1__close_session_response__descriptor,
		      &resp, &result) == 0)
		protobuf_c_message_free_unpacked(resp, NULL);
}

static int session_open(struct cli *cli)
{
	struct state_session old, s;
	char dir[4096], path[4400], err[512];
	int rc = session_paths(cli, dir, sizeof(dir), path, sizeof(path));

	if (rc != CLI_PROCEED)
		return rc;
	if (state_session_load(path, &old, err, sizeof(err)) > 0 &&
	    strcmp(old.server, cli->server) == 0)
		close_quietly(cli, old.id);
	rc = open_session(cli, &s);
	if (rc != CLI_PROCEED)
		return rc;
	return print_session(cli, &s, NULL);
}

static int print_closed(const struct cli *cli, const char *id, int closed)
{
	struct doc_arena a;
	struct doc *d;
	int rc;

	if (cli->output == OUTPUT_TABLE) {
		if (closed)
			printf("closed session '%s'\n", id);
		return CLI_EXIT_OK;
	}
	doc_arena_init(&a);
	d = doc_obj(&a);
	if (id)
		doc_set(&a, d, "sessionId", doc_str(&a, id));
	doc_set(&a, d, "closed", doc_bool(&a, closed));
	rc = cli_print_doc(cli, &a, d);
	doc_arena_release(&a);
	return rc;
}

static int session_close(struct cli *cli)
{
	close_req req = VERTICE__GOVERNANCE__V1__CLOSE_SESSION_REQUEST__INIT;
	ProtobufCMessage *resp;
	vcli_call_result result;
	struct state_session s;
	char dir[4096], path[4400], err[512], action[300];
	int rc = session_paths(cli, dir, sizeof(dir), path, sizeof(path)), got;

	if (rc != CLI_PROCEED)
		return rc;
	got = state_session_load(path, &s, err, sizeof(err));
	if (got < 0) {
		cli_error("%s", err);
		return CLI_EXIT_INTERNAL;
	}
	if (got == 0) {
		fprintf(stderr, "no session remembered for server '%s'; "
			"nothing to close\n", cli->server);
		return print_closed(cli, NULL, 0);
	}
	req.session_id = s.id;
	if (cli_unary(cli, "CloseSession", &req.base,
		      &vertice__governance__v1__close_session_response__descriptor,
		      &resp, &result) == 0) {
		protobuf_c_message_free_unpacked(resp, NULL);
	} else if (result.status == VCLI_STATUS_NOT_FOUND) {
		/* The server does not know it (a new database): there is
		 * nothing left to close, only something to forget. */
		fprintf(stderr, "the server does not know session '%s'; "
			"forgetting it\n", s.id);
	} else {
		snprintf(action, sizeof(action), "cannot close session '%s'",
			 s.id);
		return cli_rpc_failed(cli, "CloseSession", action, &result);
	}
	if (state_session_forget(path, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return CLI_EXIT_INTERNAL;
	}
	return print_closed(cli, s.id, 1);
}

static int session_show(struct cli *cli)
{
	struct state_session s;
	char dir[4096], path[4400], err[512];
	int rc = session_paths(cli, dir, sizeof(dir), path, sizeof(path)), got;

	if (rc != CLI_PROCEED)
		return rc;
	got = state_session_load(path, &s, err, sizeof(err));
	if (got < 0) {
		cli_error("%s", err);
		return CLI_EXIT_INTERNAL;
	}
	if (got == 0) {
		cli_error("no session remembered for server '%s'; open one "
			  "with 'vcli session open'", cli->server);
		return CLI_EXIT_NOT_FOUND;
	}
	return print_session(cli, &s, path);
}

static const struct cmd_spec open_spec = {
	.usage = "vcli session open [options]",
	.description =
		"Opens a session for the configured operator (CreateSession),\n"
		"or, with a token or client certificate and no operator, for\n"
		"the identity the credential names, and remembers it in the\n"
		"state directory for this server, so that approve, reject\n"
		"and escalate use it.  A session\n"
		"remembered before for this server is closed first.  Writes\n"
		"open a session by themselves when none is remembered; this\n"
		"command is for starting afresh.\n",
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli session open --operator alice\n"
		"  VCLI_OPERATOR=alice vcli session open -o json\n",
};

static const struct cmd_spec close_spec = {
	.usage = "vcli session close [options]",
	.description =
		"Closes the session remembered for this server\n"
		"(CloseSession) and forgets it.  With none remembered it says\n"
		"so and exits 0.\n",
	.min_args = 0,
	.max_args = 0,
	.examples = "  vcli session close\n",
};

static const struct cmd_spec show_spec = {
	.usage = "vcli session show [options]",
	.description =
		"Prints the session remembered for this server: its id,\n"
		"operator, server, when it was opened and the file it is kept\n"
		"in.  It does not ask the server whether the session is still\n"
		"open.  Exits 7 when none is remembered.\n",
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli session show\n"
		"  vcli session show -o json\n",
};

static const struct subcmd session_subs[] = {
	{ "open", session_open, NEED_SERVER | NEED_ACTOR, &open_spec,
	  "open a session for the operator and remember it" },
	{ "close", session_close, NEED_SERVER, &close_spec,
	  "close the remembered session and forget it" },
	{ "show", session_show, 0, &show_spec,
	  "print the remembered session" },
};

int cmd_session(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli,
			    "An operator's writes (approve, reject, escalate) "
			    "name an open session.\nvcli remembers one per "
			    "server in $XDG_STATE_HOME/vcli (or\n"
			    "~/.local/state/vcli) and renews it when the "
			    "server no longer knows it.\n",
			    session_subs,
			    sizeof(session_subs) / sizeof(session_subs[0]),
			    argc, argv);
}
