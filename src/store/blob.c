/*
 * Decision blobs: the packed vertice.governance.v1.Decision bytes the store
 * keeps and hands out as they are.
 *
 * A submission is decoded once and packed in canonical form (fields in
 * number order).  Every later change (review, escalation, expiry) touches a
 * handful of top-level fields, so instead of decoding the whole decision
 * (maps, lists, nested messages: dozens of allocations) the change is packed
 * on its own and merged into the stored bytes field by field.  The writer
 * thread does this for every approval, which is why it matters.
 */
#include <stdlib.h>
#include <string.h>

#include "governance.pb-c.h"
#include "store/store_int.h"

typedef Vertice__Governance__V1__Decision Decision;
typedef Vertice__Governance__V1__DecisionHistory History;
typedef Vertice__Governance__V1__ExecutionRecord Execution;
typedef Google__Protobuf__Timestamp Timestamp;

/* Top-level field numbers of Decision that changes own. */
enum {
	F_DECISION_ID = 1, F_STATUS = 6, F_CREATED_AT = 8, F_EXPIRES_AT = 9,
	F_ASSIGNED = 11, F_HISTORY = 13, F_ESCALATED_TO = 14, F_ESCALATION_REASON = 15,
	F_ESCALATED_AT = 16, F_ESCALATED_BY = 17, F_IDEMPOTENCY_KEY = 18, F_UPDATED_AT = 19,
	F_SLA_VIOLATED = 20, F_EXECUTIONS = 22,
};

#define BIT(n) (UINT32_C(1) << (n))

static void ts_fill(Timestamp *t, int64_t ms)
{
	google__protobuf__timestamp__init(t);
	t->seconds = ms / 1000;
	t->nanos = (int32_t)(ms % 1000) * 1000000;
}

static char *str_or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

static int rank_of(const char *p)
{
	static const char *const names[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW" };

	for (int i = 0; i < 4; i++)
		if (p && strcmp(p, names[i]) == 0)
			return i;
	return 3;
}

void store__proposal_release(struct store__proposal *meta)
{
	free(meta->operation_type);
	free(meta->assigned_operator);
	meta->operation_type = meta->assigned_operator = NULL;
}

int store__blob_submit(const uint8_t *proposal, size_t len, const char *id, int64_t now_ms,
		       const char *idempotency_key, const char *submitted_by, uint8_t **out,
		       size_t *outlen, struct store__proposal *meta)
{
	Decision *d = vertice__governance__v1__decision__unpack(NULL, len, proposal);
	Timestamp created, expires;
	/* The server-owned fields are swapped for ours while packing and put
	 * back before the message is freed, so nothing is allocated for them. */
	char *old_id, *old_status, *old_key, *old_by;
	Timestamp *old_created, *old_expires, *old_updated;
	size_t n;
	int rc = 0;

	memset(meta, 0, sizeof(*meta));
	*out = NULL;
	if (!d)
		return -1;
	meta->rank = rank_of(d->priority);
	meta->expires_ms = now_ms + (int64_t)d->sla_seconds * 1000;
	meta->operation_type = strdup(d->operation_type);
	meta->assigned_operator = strdup(d->assigned_operator);
	ts_fill(&created, now_ms);
	ts_fill(&expires, meta->expires_ms);
	old_id = d->decision_id;
	old_status = d->status;
	old_key = d->idempotency_key;
	old_by = d->submitted_by;
	old_created = d->created_at;
	old_expires = d->expires_at;
	old_updated = d->updated_at;
	d->decision_id = (char *)id;
	d->status = "PENDING";
	d->idempotency_key = str_or_empty(idempotency_key);
	d->submitted_by = str_or_empty(submitted_by);
	d->created_at = &created;
	d->expires_at = &expires;
	d->updated_at = &created;
	n = vertice__governance__v1__decision__get_packed_size(d);
	*out = malloc(n ? n : 1);
	if (*out && meta->operation_type && meta->assigned_operator)
		*outlen = vertice__governance__v1__decision__pack(d, *out);
	else
		rc = -2;
	d->decision_id = old_id;
	d->status = old_status;
	d->idempotency_key = old_key;
	d->submitted_by = old_by;
	d->created_at = old_created;
	d->expires_at = old_expires;
	d->updated_at = old_updated;
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		store__proposal_release(meta);
	}
	return rc;
}

/* ---- merging top-level fields ---- */

static int read_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 64 && *pos < n; shift += 7) {
		uint8_t b = p[(*pos)++];
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Steps over the field at *pos; *num gets its number.  -1 when the bytes
 * are not a well-formed field (groups included: Decision has none). */
static int next_field(const uint8_t *p, size_t n, size_t *pos, uint32_t *num)
{
	uint64_t key, v;

	if (read_varint(p, n, pos, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -1;
	*num = (uint32_t)(key >> 3);
	switch (key & 7) {
	case 0:
		return read_varint(p, n, pos, &v);
	case 1:
		v = 8;
		break;
	case 2:
		if (read_varint(p, n, pos, &v) < 0)
			return -1;
		break;
	case 5:
		v = 4;
		break;
	default:
		return -1;
	}
	if (v > n - *pos)
		return -1;
	*pos += (size_t)v;
	return 0;
}

/*
 * Writes base's fields minus those in drop, with patch's fields inserted at
 * their place by number (both are in number order; for equal numbers
 * base's come first, which keeps repeated fields in their order).
 */
static int merge(const uint8_t *base, size_t blen, const uint8_t *patch, size_t plen,
		 uint32_t drop, uint8_t *out, size_t *outlen)
{
	size_t bi = 0, pi = 0, o = 0;
	size_t bstart = 0, pstart = 0;
	uint32_t bnum = 0, pnum = 0;
	int bhave = 0, phave = 0;

	for (;;) {
		if (!bhave && bi < blen) {
			bstart = bi;
			if (next_field(base, blen, &bi, &bnum) < 0)
				return -1;
			bhave = 1;
			if (bnum < 32 && (drop & BIT(bnum))) {
				bhave = 0;
				continue;
			}
		}
		if (!phave && pi < plen) {
			pstart = pi;
			if (next_field(patch, plen, &pi, &pnum) < 0)
				return -1;
			phave = 1;
		}
		if (!bhave && !phave)
			break;
		if (phave && (!bhave || pnum < bnum)) {
			memcpy(out + o, patch + pstart, pi - pstart);
			o += pi - pstart;
			phave = 0;
		} else {
			memcpy(out + o, base + bstart, bi - bstart);
			o += bi - bstart;
			bhave = 0;
		}
	}
	*outlen = o;
	return 0;
}

int store__blob_string(const uint8_t *blob, size_t len, uint32_t field, const uint8_t **p,
		       size_t *n)
{
	size_t pos = 0, start;
	uint32_t num;
	int found = 0;

	*p = NULL;
	*n = 0;
	while (pos < len) {
		start = pos;
		if (next_field(blob, len, &pos, &num) < 0)
			return -1;
		if (num == field && (blob[start] & 7) == 2) {
			uint64_t key = 0, l = 0;
			size_t q = start;

			/* The key and the length again: next_field skipped them. */
			read_varint(blob, len, &q, &key);
			read_varint(blob, len, &q, &l);
			*p = blob + q;
			*n = (size_t)l;
			found = 1;
		}
	}
	return found;
}

/*
 * The patch of a change, packed by hand: a review packs a few strings and
 * timestamps, and protobuf-c's descriptor-driven sizing and packing of a
 * Decision cost 4,700 instructions per approval on the writer (callgrind),
 * most of the change.  The bytes are those protobuf-c would pack (fields in
 * number order, proto3: empty strings, zeros and false left out, a set
 * message field always present); test_store.c checks them against it.
 * Every length is worked out once (struct plan), then the bytes are
 * written in one pass.
 */
static size_t vlen(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *vput(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static size_t key_len(uint32_t field)
{
	return vlen((uint64_t)field << 3);
}

static uint8_t *key_put(uint8_t *p, uint32_t field, int wire_type)
{
	return vput(p, (uint64_t)field << 3 | (uint64_t)wire_type);
}

/* A length-delimited field of body length n: its key and length. */
static size_t ld_len(uint32_t field, size_t n)
{
	return key_len(field) + vlen(n) + n;
}

static uint8_t *ld_put(uint8_t *p, uint32_t field, size_t n)
{
	return vput(key_put(p, field, 2), n);
}

struct ts {                    /* a Timestamp as ts_fill makes it */
	int64_t seconds;
	int32_t nanos;
	size_t len;                /* of its body */
};

static void ts_plan(struct ts *t, int64_t ms)
{
	/* C's division, as ts_fill: a negative time packs as it would. */
	t->seconds = ms / 1000;
	t->nanos = (int32_t)(ms % 1000) * 1000000;
	t->len = (t->seconds ? 1 + vlen((uint64_t)t->seconds) : 0) +
		 (t->nanos ? 1 + vlen((uint64_t)(int64_t)t->nanos) : 0);
}

static uint8_t *ts_put(uint8_t *p, uint32_t field, const struct ts *t)
{
	p = ld_put(p, field, t->len);
	if (t->seconds)
		p = vput(key_put(p, 1, 0), (uint64_t)t->seconds);
	if (t->nanos)
		p = vput(key_put(p, 2, 0), (uint64_t)(int64_t)t->nanos);
	return p;
}

struct str {
	const char *s;
	size_t n;
};

/* Plans string s as field `field`; the bytes it takes (none when empty). */
static size_t str_plan(struct str *v, uint32_t field, const char *s)
{
	v->s = s;
	v->n = s ? strlen(s) : 0;
	return v->n ? ld_len(field, v->n) : 0;
}

static uint8_t *str_put(uint8_t *p, uint32_t field, const struct str *v)
{
	if (!v->n)
		return p;
	p = ld_put(p, field, v->n);
	memcpy(p, v->s, v->n);
	return p + v->n;
}

/* int32, int64 and bool: a negative one is ten bytes, sign-extended. */
static size_t int_len(uint32_t field, int64_t v)
{
	return v ? key_len(field) + vlen((uint64_t)v) : 0;
}

static uint8_t *int_put(uint8_t *p, uint32_t field, int64_t v)
{
	return v ? vput(key_put(p, field, 0), (uint64_t)v) : p;
}

/* ExecutionRecord and DecisionHistory field numbers. */
enum {
	X_ACTION_TYPE = 1, X_ACTION_INDEX, X_SUCCEEDED, X_DETAIL, X_TARGET, X_EXECUTED_BY,
	X_EXECUTED_AT, X_REQUEST_ID,
};
enum {
	H_SUBMITTED_AT = 1, H_REVIEWED_AT, H_REVIEWED_BY, H_OUTCOME, H_COMMENT, H_REASONING,
	H_REQUEST_ID,
};

struct plan {
	struct ts now, submitted;
	struct str status, reviewed_by, outcome, comment, reasoning, request_id;
	struct str assigned, escalated_to, reason, escalated_by;
	struct str action_type, detail, target, executed_by, exec_request_id;
	size_t history_len, exec_len, len;
};

static void plan_patch(struct plan *pl, const struct store__change *c)
{
	memset(pl, 0, sizeof(*pl));
	ts_plan(&pl->now, c->now_ms);
	pl->len = str_plan(&pl->status, F_STATUS, c->status) + ld_len(F_UPDATED_AT, pl->now.len);
	if (c->history) {
		ts_plan(&pl->submitted, c->submitted_ms);
		pl->history_len = ld_len(H_SUBMITTED_AT, pl->submitted.len) +
				  ld_len(H_REVIEWED_AT, pl->now.len) +
				  str_plan(&pl->reviewed_by, H_REVIEWED_BY, c->reviewed_by) +
				  str_plan(&pl->outcome, H_OUTCOME, c->outcome) +
				  str_plan(&pl->comment, H_COMMENT, c->comment) +
				  str_plan(&pl->reasoning, H_REASONING, c->reasoning) +
				  str_plan(&pl->request_id, H_REQUEST_ID, c->request_id);
		pl->len += ld_len(F_HISTORY, pl->history_len);
	}
	if (c->escalate)
		pl->len += str_plan(&pl->assigned, F_ASSIGNED, c->escalated_to) +
			   str_plan(&pl->escalated_to, F_ESCALATED_TO, c->escalated_to) +
			   str_plan(&pl->reason, F_ESCALATION_REASON, c->escalation_reason) +
			   ld_len(F_ESCALATED_AT, pl->now.len) +
			   str_plan(&pl->escalated_by, F_ESCALATED_BY, c->escalated_by);
	if (c->sla_violated)
		pl->len += int_len(F_SLA_VIOLATED, 1);
	if (c->execution) {
		pl->exec_len = str_plan(&pl->action_type, X_ACTION_TYPE, c->action_type) +
			       int_len(X_ACTION_INDEX, c->action_index) +
			       int_len(X_SUCCEEDED, c->succeeded ? 1 : 0) +
			       str_plan(&pl->detail, X_DETAIL, c->detail) +
			       str_plan(&pl->target, X_TARGET, c->target) +
			       str_plan(&pl->executed_by, X_EXECUTED_BY, c->executed_by) +
			       ld_len(X_EXECUTED_AT, pl->now.len) +
			       str_plan(&pl->exec_request_id, X_REQUEST_ID, c->exec_request_id);
		pl->len += ld_len(F_EXECUTIONS, pl->exec_len);
	}
}

/* Writes the planned patch (pl->len bytes) at p, fields in number order. */
static void put_patch(const struct plan *pl, const struct store__change *c, uint8_t *p)
{
	p = str_put(p, F_STATUS, &pl->status);
	if (c->escalate)
		p = str_put(p, F_ASSIGNED, &pl->assigned);
	if (c->history) {
		p = ld_put(p, F_HISTORY, pl->history_len);
		p = ts_put(p, H_SUBMITTED_AT, &pl->submitted);
		p = ts_put(p, H_REVIEWED_AT, &pl->now);
		p = str_put(p, H_REVIEWED_BY, &pl->reviewed_by);
		p = str_put(p, H_OUTCOME, &pl->outcome);
		p = str_put(p, H_COMMENT, &pl->comment);
		p = str_put(p, H_REASONING, &pl->reasoning);
		p = str_put(p, H_REQUEST_ID, &pl->request_id);
	}
	if (c->escalate) {
		p = str_put(p, F_ESCALATED_TO, &pl->escalated_to);
		p = str_put(p, F_ESCALATION_REASON, &pl->reason);
		p = ts_put(p, F_ESCALATED_AT, &pl->now);
		p = str_put(p, F_ESCALATED_BY, &pl->escalated_by);
	}
	p = ts_put(p, F_UPDATED_AT, &pl->now);
	if (c->sla_violated)
		p = int_put(p, F_SLA_VIOLATED, 1);
	if (c->execution) {
		p = ld_put(p, F_EXECUTIONS, pl->exec_len);
		p = str_put(p, X_ACTION_TYPE, &pl->action_type);
		p = int_put(p, X_ACTION_INDEX, c->action_index);
		p = int_put(p, X_SUCCEEDED, c->succeeded ? 1 : 0);
		p = str_put(p, X_DETAIL, &pl->detail);
		p = str_put(p, X_TARGET, &pl->target);
		p = str_put(p, X_EXECUTED_BY, &pl->executed_by);
		p = ts_put(p, X_EXECUTED_AT, &pl->now);
		str_put(p, X_REQUEST_ID, &pl->exec_request_id);
	}
}

size_t store__blob_patch(const struct store__change *c, uint8_t *out)
{
	struct plan pl;

	plan_patch(&pl, c);
	if (out)
		put_patch(&pl, c, out);
	return pl.len;
}

int store__blob_change(const uint8_t *blob, size_t len, const struct store__change *c,
		       uint8_t **out, size_t *outlen)
{
	uint32_t drop = BIT(F_STATUS) | BIT(F_UPDATED_AT);
	uint8_t small[1024], *patch = small;
	struct plan pl;
	size_t plen;
	int rc;

	*out = NULL;
	if (c->history)
		drop |= BIT(F_HISTORY);
	if (c->sla_violated)
		drop |= BIT(F_SLA_VIOLATED);
	if (c->escalate)
		drop |= BIT(F_ASSIGNED) | BIT(F_ESCALATED_TO) | BIT(F_ESCALATION_REASON) |
			BIT(F_ESCALATED_AT) | BIT(F_ESCALATED_BY);
	/* An execution record is not dropped: merge() puts the patch's record
	 * after the decision's own, a repeated field's append. */
	plan_patch(&pl, c);
	plen = pl.len;
	if (plen > sizeof(small) && !(patch = malloc(plen)))
		return -2;
	put_patch(&pl, c, patch);
	*out = malloc(len + plen ? len + plen : 1);
	if (!*out) {
		rc = -2;
	} else {
		rc = merge(blob, len, patch, plen, drop, *out, outlen);
		if (rc < 0) {
			free(*out);
			*out = NULL;
		}
	}
	if (patch != small)
		free(patch);
	return rc;
}

int store__blob_exec_info(const uint8_t *blob, size_t len, int32_t index,
			  struct store__exec_info *info)
{
	Decision *d = vertice__governance__v1__decision__unpack(NULL, len, blob);
	int rc = 0;

	memset(info, 0, sizeof(*info));
	if (!d)
		return -1;
	info->n_actions = d->n_recommended_actions;
	info->n_executions = d->n_executions;
	info->reviewed_by = strdup(d->history ? str_or_empty(d->history->reviewed_by) : "");
	if (!info->reviewed_by)
		rc = -2;
	if (index >= 0 && (size_t)index < d->n_recommended_actions &&
	    !(info->action_type = strdup(str_or_empty(d->recommended_actions[index]->action_type))))
		rc = -2;
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	return rc;
}

void store__exec_info_release(struct store__exec_info *info)
{
	free(info->reviewed_by);
	free(info->action_type);
	info->reviewed_by = info->action_type = NULL;
}
