/*
 * The audit trail: ListAudit (pages, filters) and ExportAudit (every
 * entry, streamed with flow control), for operators and admins
 * (docs/security.md).  Entries are handed out exactly as stored, hashes
 * included, so that a client can recompute the chain itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/checks.h"
#include "server/gov.h"
#include "common/pbraw.h"
#include "server/validate.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define EXPORT_CHUNK 256                 /* entries read per store call */
#define EXPORT_HIGH_WATER (256u * 1024)  /* unsent bytes before waiting */

/* AuditEntry { sequence = 1; at = 2; actor = 3 ... hash = 10 } into out. */
static int entry_encode(buf *out, const store_audit_entry *e)
{
	buf_reset(out);
	return pb_put_uint(out, 1, e->seq) < 0 || pb_put_timestamp(out, 2, e->at_ms) < 0 ||
	       pb_put_string(out, 3, e->actor) < 0 || pb_put_string(out, 4, e->role) < 0 ||
	       pb_put_string(out, 5, e->action) < 0 || pb_put_string(out, 6, e->outcome) < 0 ||
	       pb_put_string(out, 7, e->subject) < 0 || pb_put_string(out, 8, e->detail) < 0 ||
	       pb_put_string(out, 9, e->prev_hash) < 0 || pb_put_string(out, 10, e->hash) < 0 ?
	       -1 : 0;
}

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
	return t ? t->seconds * 1000 + t->nanos / 1000000 : 0;
}

/* ---- ListAudit ---- */

struct page {
	buf resp;                /* ListAuditResponse being built */
	buf entry;
	uint32_t want, got;
	uint64_t last;           /* the last entry put in the page */
	int more, failed;
};

static int page_add(const store_audit_entry *e, void *ud)
{
	struct page *p = ud;

	if (p->got == p->want) {
		p->more = 1;
		return 1;
	}
	if (entry_encode(&p->entry, e) < 0 ||
	    pb_put_bytes(&p->resp, 1, p->entry.data, p->entry.len) < 0) {
		p->failed = 1;
		return 1;
	}
	p->got++;
	p->last = e->seq;
	return 0;
}

void gov_list_audit(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		    const struct auth_principal *who)
{
	const Vertice__Governance__V1__ListAuditRequest *r = (const void *)req;
	store_audit_filter f;
	struct page p;
	store_code rc;
	char err[256];

	int status = gov_check_list_audit(r, err, sizeof(err));

	if (status != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	memset(&f, 0, sizeof(f));
	f.since_ms = ts_ms(r->since);
	f.until_ms = ts_ms(r->until);
	f.actor = r->actor;
	f.subject = r->subject;
	f.action = r->action;
	f.outcome = r->outcome;
	memset(&p, 0, sizeof(p));
	buf_init(&p.resp, 64u << 20);
	buf_init(&p.entry, 1u << 20);
	p.want = r->limit <= 0 ? LIST_DEFAULT : r->limit > LIST_MAX ? LIST_MAX : (uint32_t)r->limit;
	rc = store_audit_list(g->st, &f, r->after_sequence, p.want + 1, page_add, &p);
	if (rc == STORE_OK && !p.failed && p.more && pb_put_uint(&p.resp, 2, p.last) < 0)
		p.failed = 1;
	if (rc != STORE_OK || p.failed) {
		buf_release(&p.resp);
		buf_release(&p.entry);
		gov_fail(call, p.failed ? STORE_E_NOMEM : rc, p.failed ? "answer too large" : NULL);
		return;
	}
	rpc_call_send_raw(call, p.resp.data ? p.resp.data : (const uint8_t *)"", p.resp.len);
	buf_release(&p.resp);
	buf_release(&p.entry);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

/* ---- ExportAudit ---- */

struct export {
	rpc_call *call;
	struct gov *g;
	uint64_t after;          /* the last entry sent */
	uint64_t end;            /* the last entry when the export began */
	buf msg;
	int failed;
};

static void export_free(struct export *x)
{
	buf_release(&x->msg);
	free(x);
}

static void export_cancel(rpc_call *call, int reason, void *ud)
{
	export_free(ud);
}

static void export_end(struct export *x, int status, const char *msg)
{
	rpc_call *call = x->call;

	rpc_call_on_cancel(call, NULL, NULL);
	rpc_call_on_drain(call, NULL, NULL);
	export_free(x);
	rpc_call_finish(call, status, msg);
}

static int export_send(const store_audit_entry *e, void *ud)
{
	struct export *x = ud;

	if (e->seq > x->end)
		return 1;
	if (entry_encode(&x->msg, e) < 0 ||
	    rpc_call_send_raw(x->call, x->msg.data, x->msg.len) < 0) {
		x->failed = 1;
		return 1;
	}
	x->after = e->seq;
	return rpc_call_pending_bytes(x->call) >= EXPORT_HIGH_WATER;
}

static void export_pump(struct export *x);

static void export_drained(rpc_call *call, void *ud)
{
	export_pump(ud);
}

/* Sends what the socket takes; waits for it to drain; ends at x->end. */
static void export_pump(struct export *x)
{
	for (;;) {
		uint64_t before = x->after;
		store_code rc = store_audit_list(x->g->st, NULL, x->after, EXPORT_CHUNK,
						 export_send, x);

		if (rc != STORE_OK) {
			export_end(x, gov_status(rc), store_strerror(rc));
			return;
		}
		if (x->failed) {
			export_end(x, VCLI_STATUS_RESOURCE_EXHAUSTED, "cannot queue the entry");
			return;
		}
		/* Done: at the end as it was, or nothing more to read (entries
		 * removed from under the export are not waited for). */
		if (x->after >= x->end || x->after == before) {
			export_end(x, VCLI_STATUS_OK, NULL);
			return;
		}
		if (rpc_call_pending_bytes(x->call) >= EXPORT_HIGH_WATER) {
			rpc_call_on_drain(x->call, export_drained, x);
			return;
		}
	}
}

void gov_export_audit(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		      const struct auth_principal *who)
{
	const Vertice__Governance__V1__ExportAuditRequest *r = (const void *)req;
	struct export *x = calloc(1, sizeof(*x));
	store_code rc;

	if (!x) {
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	x->call = call;
	x->g = g;
	x->after = r->after_sequence;
	buf_init(&x->msg, 1u << 20);
	/* What exists now: entries appended during the export are the next
	 * export's (a stream that never ends would never verify). */
	rc = store_audit_head(g->st, &x->end);
	if (rc != STORE_OK) {
		export_free(x);
		gov_fail(call, rc, NULL);
		return;
	}
	rpc_call_on_cancel(call, export_cancel, x);
	rpc_call_send_headers(call);
	export_pump(x);
}
