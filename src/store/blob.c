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

#include "common/pbraw.h"
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

/* Steps over the field at *pos; *num gets its number.  -1 when the bytes
 * are not a well-formed field (groups included: Decision has none). */
static int next_field(const uint8_t *p, size_t n, size_t *pos, uint32_t *num)
{
	uint64_t key, len;

	if (pb_get_varint(p, n, pos, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -1;
	*num = (uint32_t)(key >> 3);
	return pb_skip_value(p, n, pos, key, &len);
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
			pb_get_varint(blob, len, &q, &key);
			pb_get_varint(blob, len, &q, &l);
			*p = blob + q;
			*n = (size_t)l;
			found = 1;
		}
	}
	return found;
}

/*
 * The patch of a change, packed by hand (common/pbraw.h): a review packs a
 * few strings and timestamps, and protobuf-c's descriptor-driven sizing and
 * packing of a Decision cost 4,700 instructions per approval on the
 * writer, most of the change.  The bytes are those protobuf-c would pack
 * (fields in number order, proto3: empty strings, zeros and false left
 * out, a set message field always present); test_store.c checks them
 * against it.  The nested messages' lengths are worked out first, so that
 * everything is written in one pass into a buffer of the exact size.
 */

/* ExecutionRecord and DecisionHistory field numbers. */
enum {
	X_ACTION_TYPE = 1, X_ACTION_INDEX, X_SUCCEEDED, X_DETAIL, X_TARGET, X_EXECUTED_BY,
	X_EXECUTED_AT, X_REQUEST_ID,
};
enum {
	H_SUBMITTED_AT = 1, H_REVIEWED_AT, H_REVIEWED_BY, H_OUTCOME, H_COMMENT, H_REASONING,
	H_REQUEST_ID,
};

static size_t history_len(const struct store__change *c)
{
	return pb_timestamp_len(H_SUBMITTED_AT, c->submitted_ms) +
	       pb_timestamp_len(H_REVIEWED_AT, c->now_ms) +
	       pb_string_len(H_REVIEWED_BY, c->reviewed_by) +
	       pb_string_len(H_OUTCOME, c->outcome) + pb_string_len(H_COMMENT, c->comment) +
	       pb_string_len(H_REASONING, c->reasoning) +
	       pb_string_len(H_REQUEST_ID, c->request_id);
}

static size_t execution_len(const struct store__change *c)
{
	return pb_string_len(X_ACTION_TYPE, c->action_type) +
	       pb_uint_len(X_ACTION_INDEX, (uint64_t)(int64_t)c->action_index) +
	       pb_uint_len(X_SUCCEEDED, c->succeeded ? 1 : 0) +
	       pb_string_len(X_DETAIL, c->detail) + pb_string_len(X_TARGET, c->target) +
	       pb_string_len(X_EXECUTED_BY, c->executed_by) +
	       pb_timestamp_len(X_EXECUTED_AT, c->now_ms) +
	       pb_string_len(X_REQUEST_ID, c->exec_request_id);
}

/* The patch's length; *hl and *xl: its history's and execution's bodies. */
static size_t patch_len(const struct store__change *c, size_t *hl, size_t *xl)
{
	size_t n = pb_string_len(F_STATUS, c->status) + pb_timestamp_len(F_UPDATED_AT, c->now_ms);

	*hl = c->history ? history_len(c) : 0;
	*xl = c->execution ? execution_len(c) : 0;
	if (c->history)
		n += pb_bytes_len(F_HISTORY, *hl);
	if (c->escalate)
		n += pb_string_len(F_ASSIGNED, c->escalated_to) +
		     pb_string_len(F_ESCALATED_TO, c->escalated_to) +
		     pb_string_len(F_ESCALATION_REASON, c->escalation_reason) +
		     pb_timestamp_len(F_ESCALATED_AT, c->now_ms) +
		     pb_string_len(F_ESCALATED_BY, c->escalated_by);
	if (c->sla_violated)
		n += pb_uint_len(F_SLA_VIOLATED, 1);
	if (c->execution)
		n += pb_bytes_len(F_EXECUTIONS, *xl);
	return n;
}

/* Writes the patch, fields in number order; 0, or -1 past b's size. */
static int put_patch(buf *b, const struct store__change *c, size_t hl, size_t xl)
{
	if (pb_put_string(b, F_STATUS, c->status) < 0 ||
	    (c->escalate && pb_put_string(b, F_ASSIGNED, c->escalated_to) < 0))
		return -1;
	if (c->history &&
	    (pb_put_len(b, F_HISTORY, hl) < 0 ||
	     pb_put_timestamp(b, H_SUBMITTED_AT, c->submitted_ms) < 0 ||
	     pb_put_timestamp(b, H_REVIEWED_AT, c->now_ms) < 0 ||
	     pb_put_string(b, H_REVIEWED_BY, c->reviewed_by) < 0 ||
	     pb_put_string(b, H_OUTCOME, c->outcome) < 0 ||
	     pb_put_string(b, H_COMMENT, c->comment) < 0 ||
	     pb_put_string(b, H_REASONING, c->reasoning) < 0 ||
	     pb_put_string(b, H_REQUEST_ID, c->request_id) < 0))
		return -1;
	if (c->escalate &&
	    (pb_put_string(b, F_ESCALATED_TO, c->escalated_to) < 0 ||
	     pb_put_string(b, F_ESCALATION_REASON, c->escalation_reason) < 0 ||
	     pb_put_timestamp(b, F_ESCALATED_AT, c->now_ms) < 0 ||
	     pb_put_string(b, F_ESCALATED_BY, c->escalated_by) < 0))
		return -1;
	if (pb_put_timestamp(b, F_UPDATED_AT, c->now_ms) < 0 ||
	    (c->sla_violated && pb_put_uint(b, F_SLA_VIOLATED, 1) < 0))
		return -1;
	if (c->execution &&
	    (pb_put_len(b, F_EXECUTIONS, xl) < 0 ||
	     pb_put_string(b, X_ACTION_TYPE, c->action_type) < 0 ||
	     pb_put_uint(b, X_ACTION_INDEX, (uint64_t)(int64_t)c->action_index) < 0 ||
	     pb_put_uint(b, X_SUCCEEDED, c->succeeded ? 1 : 0) < 0 ||
	     pb_put_string(b, X_DETAIL, c->detail) < 0 ||
	     pb_put_string(b, X_TARGET, c->target) < 0 ||
	     pb_put_string(b, X_EXECUTED_BY, c->executed_by) < 0 ||
	     pb_put_timestamp(b, X_EXECUTED_AT, c->now_ms) < 0 ||
	     pb_put_string(b, X_REQUEST_ID, c->exec_request_id) < 0))
		return -1;
	return 0;
}

/* Writes the patch of n bytes (patch_len) into out, which holds n + 1:
 * the buf borrows it (buf keeps a byte for a terminator) and, its cap
 * being enough, never grows it.  0, or -1 when the bytes came out other
 * than n. */
static int write_patch(const struct store__change *c, uint8_t *out, size_t n, size_t hl,
		       size_t xl)
{
	buf b = { out, 0, n + 1, n };

	return put_patch(&b, c, hl, xl) < 0 || b.len != n ? -1 : 0;
}

size_t store__blob_patch(const struct store__change *c, uint8_t *out)
{
	size_t hl, xl, n = patch_len(c, &hl, &xl);

	if (out)
		write_patch(c, out, n, hl, xl);
	return n;
}

int store__blob_change(const uint8_t *blob, size_t len, const struct store__change *c,
		       uint8_t **out, size_t *outlen)
{
	uint32_t drop = BIT(F_STATUS) | BIT(F_UPDATED_AT);
	uint8_t small[1024], *patch = small;
	size_t plen, hl, xl;
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
	plen = patch_len(c, &hl, &xl);
	if (plen + 1 > sizeof(small) && !(patch = malloc(plen + 1)))
		return -2;
	if (write_patch(c, patch, plen, hl, xl) < 0) {
		if (patch != small)
			free(patch);
		return -1;
	}
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
