/*
 * Tokens: CreateToken, ListTokens, RevokeToken (admins only; see
 * docs/security.md).  The secret is made here, shown once in the answer
 * and never stored: the store keeps its SHA-256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/timeutil.h"
#include "server/checks.h"
#include "server/gov.h"
#include "server/validate.h"

typedef Vertice__Governance__V1__TokenInfo TokenInfo;
typedef Google__Protobuf__Timestamp Timestamp;

/* A new token's hash and secret travel in w->proposal: the hash first
 * (TOKEN_HASH bytes), then the secret and its NUL.  gov_write wipes it. */
#define TOKEN_HASH 32
#define TOKEN_CARGO (TOKEN_HASH + AUTH_SECRET_LEN + 1)

static void ts_set(Timestamp *t, int64_t ms)
{
	google__protobuf__timestamp__init(t);
	t->seconds = ms / 1000;
	t->nanos = (int32_t)(ms % 1000) * 1000000;
}

/* ti points into t (and the timestamps); valid while they are. */
static void info_fill(TokenInfo *ti, Timestamp *created, Timestamp *revoked,
		      Timestamp *expires, const store_token *t)
{
	vertice__governance__v1__token_info__init(ti);
	ti->token_id = (char *)t->id;
	ti->name = (char *)t->name;
	ti->role = (char *)t->role;
	ti->identity = (char *)t->identity;
	ts_set(created, t->created_ms);
	ti->created_at = created;
	ti->created_by = (char *)t->created_by;
	if (t->revoked_ms) {
		ts_set(revoked, t->revoked_ms);
		ti->revoked_at = revoked;
		ti->revoked_by = (char *)t->revoked_by;
	}
	if (t->expires_ms) {
		ts_set(expires, t->expires_ms);
		ti->expires_at = expires;
	}
}

static void create_respond(struct gov_write *w, rpc_call *call)
{
	Vertice__Governance__V1__CreateTokenResponse resp =
		VERTICE__GOVERNANCE__V1__CREATE_TOKEN_RESPONSE__INIT;
	Timestamp created, revoked, expires;
	TokenInfo ti;
	store_token t;

	if (w->op.result != STORE_OK) {
		gov_fail(call, w->op.result, w->op.message);
		return;
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", w->op.token_id_out);
	snprintf(t.name, sizeof(t.name), "%s", w->op.token_name);
	snprintf(t.role, sizeof(t.role), "%s", w->op.token_role);
	snprintf(t.identity, sizeof(t.identity), "%s",
		 w->op.token_identity && *w->op.token_identity ? w->op.token_identity :
		 w->op.token_name);
	snprintf(t.created_by, sizeof(t.created_by), "%s",
		 w->op.actor ? w->op.actor : "anonymous");
	t.created_ms = w->op.processed_at_ms;
	t.expires_ms = w->op.token_expires_ms;
	info_fill(&ti, &created, &revoked, &expires, &t);
	resp.token = &ti;
	resp.secret = (char *)w->proposal + TOKEN_HASH;
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

void gov_create_token(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		      const struct auth_principal *who)
{
	const Vertice__Governance__V1__CreateTokenRequest *r = (const void *)req;
	struct gov_write *w;
	char err[256];

	int status = gov_check_create_token(r, err, sizeof(err));

	if (status != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	w = gov_write_new(g, call, STORE_OP_TOKEN_CREATE, create_respond);
	if (!w || !(w->proposal = malloc(TOKEN_CARGO)) || gov_write_actor(w, who) < 0) {
		gov_write_discard(w);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	w->op.proposal_len = TOKEN_CARGO;
	if (auth_new_secret((char *)w->proposal + TOKEN_HASH, w->proposal) < 0) {
		gov_write_discard(w);
		rpc_call_finish(call, VCLI_STATUS_UNAVAILABLE,
				"cannot make a token: no randomness from the system");
		return;
	}
	w->op.token_hash = w->proposal;
	w->op.token_name = gov_write_str(w, r->name);
	w->op.token_role = gov_write_str(w, r->role);
	w->op.token_identity = gov_write_str(w, r->identity);
	if (r->expires_in_seconds) {
		int64_t sec;
		int32_t nsec;

		time_wall(&sec, &nsec);
		w->op.token_expires_ms = sec * 1000 + nsec / 1000000 + r->expires_in_seconds * 1000;
	}
	gov_write_start(w);
}

struct token_list {
	store_token *v;
	size_t n, cap;
	int failed;
};

static int add_token(const store_token *t, void *ud)
{
	struct token_list *l = ud;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		store_token *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv) {
			l->failed = 1;
			return 1;
		}
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *t;
	return 0;
}

void gov_list_tokens(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		     const struct auth_principal *who)
{
	const Vertice__Governance__V1__ListTokensRequest *r = (const void *)req;
	Vertice__Governance__V1__ListTokensResponse resp =
		VERTICE__GOVERNANCE__V1__LIST_TOKENS_RESPONSE__INIT;
	struct token_list l = { NULL, 0, 0, 0 };
	TokenInfo *infos = NULL, **ptrs = NULL;
	Timestamp *times = NULL;
	store_code rc;

	rc = store_token_list(g->st, r->include_revoked, add_token, &l);
	if (rc != STORE_OK || l.failed) {
		free(l.v);
		gov_fail(call, l.failed ? STORE_E_NOMEM : rc, NULL);
		return;
	}
	if (l.n && (!(infos = calloc(l.n, sizeof(*infos))) ||
		    !(ptrs = calloc(l.n, sizeof(*ptrs))) ||
		    !(times = calloc(3 * l.n, sizeof(*times))))) {
		free(infos);
		free(ptrs);
		free(l.v);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		info_fill(&infos[i], &times[3 * i], &times[3 * i + 1], &times[3 * i + 2], &l.v[i]);
		ptrs[i] = &infos[i];
	}
	resp.n_tokens = l.n;
	resp.tokens = ptrs;
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
	free(times);
	free(ptrs);
	free(infos);
	free(l.v);
}

static void revoke_respond(struct gov_write *w, rpc_call *call)
{
	Vertice__Governance__V1__RevokeTokenResponse resp =
		VERTICE__GOVERNANCE__V1__REVOKE_TOKEN_RESPONSE__INIT;
	Timestamp created, revoked, expires;
	TokenInfo ti;
	store_token t;
	store_code rc;

	if (w->op.result != STORE_OK) {
		gov_fail(call, w->op.result, w->op.message);
		return;
	}
	/* Every loop's cache forgets the token now, not in AUTH_CACHE_MS. */
	auth_tokens_changed();
	rc = store_token_get(w->g->st, w->op.token_id, &t);
	if (rc != STORE_OK) {
		gov_fail(call, rc, NULL);
		return;
	}
	info_fill(&ti, &created, &revoked, &expires, &t);
	resp.token = &ti;
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

void gov_revoke_token(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		      const struct auth_principal *who)
{
	const Vertice__Governance__V1__RevokeTokenRequest *r = (const void *)req;
	struct gov_write *w;
	char err[256];

	int status = gov_check_revoke_token(r, err, sizeof(err));

	if (status != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	w = gov_write_new(g, call, STORE_OP_TOKEN_REVOKE, revoke_respond);
	if (!w || gov_write_actor(w, who) < 0 || !(w->op.token_id = gov_write_str(w, r->token_id))) {
		gov_write_discard(w);
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	gov_write_start(w);
}
