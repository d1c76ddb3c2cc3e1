/*
 * The path of a write: handler -> gov_write_start -> store writer thread
 * (group commit) -> write_done (writer thread) -> rpc_server_post_task -> the
 * call's loop -> respond -> rpc_call_finish.
 */
#include "server/gov.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/timeutil.h"

int gov_status(store_code rc)
{
	switch (rc) {
	case STORE_OK: return VCLI_STATUS_OK;
	case STORE_E_NOTFOUND: return VCLI_STATUS_NOT_FOUND;
	case STORE_E_CONFLICT: return VCLI_STATUS_FAILED_PRECONDITION;
	case STORE_E_DUPLICATE: return VCLI_STATUS_ALREADY_EXISTS;
	case STORE_E_SESSION: return VCLI_STATUS_UNAUTHENTICATED;
	case STORE_E_DENIED: return VCLI_STATUS_PERMISSION_DENIED;
	case STORE_E_INVALID: return VCLI_STATUS_INVALID_ARGUMENT;
	case STORE_E_RANGE: return VCLI_STATUS_OUT_OF_RANGE;
	case STORE_E_NOMEM:
	case STORE_E_BUSY:
	case STORE_E_FULL: return VCLI_STATUS_RESOURCE_EXHAUSTED;
	case STORE_E_IO:
	case STORE_E_CLOSED: return VCLI_STATUS_UNAVAILABLE;
	}
	return VCLI_STATUS_INTERNAL;
}

void gov_fail(rpc_call *call, store_code rc, const char *message)
{
	rpc_call_finish(call, gov_status(rc),
			message && *message ? message : store_strerror(rc));
}

static void write_cancel(rpc_call *call, int reason, void *ud)
{
	struct gov_write *w = ud;

	/* The write goes on (it may already be committed); only its answer
	 * has nowhere to go. */
	w->call = NULL;
}

#define WCACHE_MAX 64           /* writes a worker keeps for reuse */

int gov_write_caches_init(struct gov *g)
{
	int n = rpc_server_workers(g->srv);

	g->nwcache = 0;
	g->wcache = NULL;
	if (n <= 0)
		return 0;
	if (!(g->wcache = calloc((size_t)n, sizeof(*g->wcache))))
		return -1;
	g->nwcache = n;
	return 0;
}

void gov_write_caches_release(struct gov *g)
{
	for (int i = 0; i < g->nwcache; i++) {
		while (g->wcache[i].free) {
			struct gov_write *w = g->wcache[i].free;

			g->wcache[i].free = w->next_free;
			free(w);
		}
	}
	free(g->wcache);
	g->wcache = NULL;
	g->nwcache = 0;
}

struct gov_write *gov_write_new(struct gov *g, rpc_call *call, store_op_kind kind,
				gov_respond_fn respond)
{
	int worker = rpc_call_worker(call);
	struct gov_write_cache *c = worker >= 0 && worker < g->nwcache ? &g->wcache[worker] : NULL;
	struct gov_write *w;

	/* On the call's loop: its worker's cache is this thread's alone. */
	if (c && c->free) {
		w = c->free;
		c->free = w->next_free;
		c->n--;
	} else if (!(w = malloc(sizeof(*w)))) {
		return NULL;
	}
	/* All but the buffers, which are filled as used. */
	memset(w, 0, offsetof(struct gov_write, sbuf));
	w->g = g;
	w->call = call;
	w->worker = worker;
	w->respond = respond;
	w->op.kind = kind;
	w->op.ud = w;
	return w;
}

const char *gov_write_str(struct gov_write *w, const char *s)
{
	size_t n;
	char *c;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	if (n <= sizeof(w->sbuf) - w->sused) {
		c = memcpy(w->sbuf + w->sused, s, n);
		w->sused += n;
		return c;
	}
	if (w->nstrings >= (int)(sizeof(w->strings) / sizeof(w->strings[0])))
		return NULL;
	c = strdup(s);
	if (c)
		w->strings[w->nstrings++] = c;
	return c;
}

/* on_loop: called on the write's worker loop, whose cache takes it;
 * elsewhere (the writer thread, once the loop is gone) it is freed. */
static void write_free(struct gov_write *w, int on_loop)
{
	struct gov *g = w->g;

	/* A new token's secret rides there (tokens.c): it leaves no copy. */
	if (w->op.kind == STORE_OP_TOKEN_CREATE && w->proposal)
		OPENSSL_cleanse(w->proposal, w->op.proposal_len);
	for (int i = 0; i < w->nstrings; i++)
		free(w->strings[i]);
	if (w->decision != w->dbuf)
		free(w->decision);
	free(w->proposal);
	if (on_loop && w->worker >= 0 && w->worker < g->nwcache &&
	    g->wcache[w->worker].n < WCACHE_MAX) {
		struct gov_write_cache *c = &g->wcache[w->worker];

		w->next_free = c->free;
		c->free = w;
		c->n++;
		return;
	}
	free(w);
}

/* On the call's loop (or, when the loop is gone, on the writer thread with
 * loop NULL: then the call is gone too). */
static void write_complete(uv_loop_t *loop, void *ud)
{
	struct gov_write *w = ud;

	if (w->call && loop) {
		rpc_call_on_cancel(w->call, NULL, NULL);
		w->respond(w, w->call);
	}
	write_free(w, loop != NULL);
}

/* Store failures an operator must hear about (a full disk, an I/O error),
 * at most one line a second: a full disk fails every write. */
static void log_store_failure(const store_op *op)
{
	static _Atomic uint64_t next_ms;    /* no line before this */
	uint64_t now = time_mono_ns() / 1000000, next = atomic_load(&next_ms);

	if (now < next || !atomic_compare_exchange_strong(&next_ms, &next, now + 1000))
		return;
	log_msg(LOG_ERROR, "store write failed", "code", store_strerror(op->result), "error",
		op->message, NULL);
}

/* On the store's writer thread: keep what the answer needs, go home. */
static void write_done(store_op *op)
{
	struct gov_write *w = op->ud;

	if (op->result == STORE_E_FULL || op->result == STORE_E_IO)
		log_store_failure(op);

	if (op->decision && op->decision_len) {
		w->decision = op->decision_len <= sizeof(w->dbuf) ? w->dbuf :
			      malloc(op->decision_len);
		if (w->decision) {
			memcpy(w->decision, op->decision, op->decision_len);
			w->decision_len = op->decision_len;
		}
	}
	w->task.fn = write_complete;
	w->task.ud = w;
	rpc_server_post_task(w->g->srv, w->worker, &w->task);
}

void gov_write_discard(struct gov_write *w)
{
	if (w)
		write_free(w, 1);
}

void gov_write_start(struct gov_write *w)
{
	rpc_call_on_cancel(w->call, write_cancel, w);
	w->op.done = write_done;
	store_submit(w->g->st, &w->op);
}

int gov_write_actor(struct gov_write *w, const struct auth_principal *who)
{
	if (!who || !who->authenticated)
		return 0;
	w->op.actor = gov_write_str(w, who->identity);
	w->op.actor_role = auth_role_name(who->role);
	return w->op.actor ? 0 : -1;
}

/* A refusal is answered once its audit entry is stored (or could not be:
 * the answer is the refusal all the same). */
static void refuse_respond(struct gov_write *w, rpc_call *call)
{
	rpc_call_finish(call, VCLI_STATUS_PERMISSION_DENIED, w->op.audit_detail);
}

void gov_refuse(rpc_call *call, struct gov *g, const struct auth_principal *who,
		const char *action, const char *subject, const char *rule, const char *fmt, ...)
{
	char why[256], msg[320];
	struct gov_write *w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s: %s", rule, why);
	w = gov_write_new(g, call, STORE_OP_AUDIT, refuse_respond);
	if (!w || gov_write_actor(w, who) < 0 ||
	    !(w->op.audit_detail = gov_write_str(w, msg))) {
		gov_write_discard(w);
		rpc_call_finish(call, VCLI_STATUS_PERMISSION_DENIED, msg);
		return;
	}
	w->op.audit_action = gov_write_str(w, action ? action : "");
	w->op.audit_subject = gov_write_str(w, subject ? subject : "");
	log_msg(LOG_INFO, "refused", "identity", who->identity, "role", auth_role_name(who->role),
		"action", action ? action : "", "reason", msg, NULL);
	gov_write_start(w);
}
