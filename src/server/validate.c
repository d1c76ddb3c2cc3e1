#include "server/validate.h"

#include "common/utf8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int v_text(const char *s, size_t max, int allow_newlines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0;

	if (n > max)
		return -1;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len;

		/* ASCII, nearly every byte of an id or a comment, without a
		 * call per byte (3 % of a worker under approvals). */
		if (c < 0x80) {
			if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t' || c == '\r'))) ||
			    c == 0x7f)
				return -1;
			i++;
			continue;
		}
		if (!(len = utf8_seq_len(p + i, n - i)))
			return -1;
		i += len;
	}
	return 0;
}

int v_priority_rank(const char *p)
{
	static const char *const names[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW" };

	if (!p)
		return -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(p, names[i]) == 0)
			return i;
	return -1;
}

int v_status_known(const char *s)
{
	static const char *const names[] = { "PENDING", "ESCALATED", "APPROVED",
					     "REJECTED", "EXPIRED" };

	for (int i = 0; s && i < 5; i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

/* Quotes at most 64 bytes of a value for a message, never splitting the
 * message buffer. */
static const char *shown(const char *s, char *tmp, size_t tmplen)
{
	size_t n = s ? strlen(s) : 0;

	if (n < tmplen)
		return s ? s : "";
	snprintf(tmp, tmplen, "%.*s...", (int)(tmplen - 4), s);
	return tmp;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int check_text(const char *what, const char *s, size_t max, int newlines,
		      char *err, size_t errlen)
{
	char tmp[68];

	if (s && strlen(s) > max)
		FAIL("%s is longer than %zu bytes", what, max);
	if (v_text(s, max, newlines) < 0)
		FAIL("%s '%s' is not valid UTF-8 text (control characters are refused)",
		     what, shown(s, tmp, sizeof(tmp)));
	return 0;
}

int v_opt_id(const char *what, const char *s, char *err, size_t errlen)
{
	return check_text(what, s, V_ID_MAX, 0, err, errlen);
}

int v_req_id(const char *what, const char *s, char *err, size_t errlen)
{
	if (!s || !*s)
		FAIL("%s is required", what);
	return v_opt_id(what, s, err, errlen);
}

int v_opt_text(const char *what, const char *s, char *err, size_t errlen)
{
	return check_text(what, s, V_TEXT_MAX, 1, err, errlen);
}

int v_opt_line(const char *what, const char *s, char *err, size_t errlen)
{
	return check_text(what, s, V_LINE_MAX, 0, err, errlen);
}

static int check_unit(const char *what, double v, char *err, size_t errlen)
{
	if (isnan(v) || v < 0.0 || v > 1.0)
		FAIL("%s %g is outside 0.0-1.0", what, v);
	return 0;
}

static int check_map(const char *what, size_t n, Vertice__Governance__V1__Decision__ContextEntry **e,
		     char *err, size_t errlen)
{
	char w[96];

	if (n > V_LIST_MAX)
		FAIL("%s has %zu entries (at most %d)", what, n, V_LIST_MAX);
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s key", what);
		if (!e[i]->key || !*e[i]->key)
			FAIL("%s has an empty key", what);
		if (check_text(w, e[i]->key, V_ID_MAX, 0, err, errlen) < 0)
			return -1;
		snprintf(w, sizeof(w), "%s['%.40s']", what, e[i]->key);
		if (check_text(w, e[i]->value, V_TEXT_MAX, 1, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The map entry types protobuf-c generates differ by name only; they share
 * the layout {base, key, value}, which check_map relies on. */
#define MAP_ARGS(n, e) (n), (Vertice__Governance__V1__Decision__ContextEntry **)(void *)(e)

int v_proposal(const Vertice__Governance__V1__Decision *d, char *err, size_t errlen)
{
	char tmp[68], w[64];
	const char *p;

	if (!d)
		FAIL("decision is required");
	/* Server-owned fields. */
	if (d->decision_id && *d->decision_id)
		FAIL("decision_id is assigned by the server; leave it empty");
	if (d->status && *d->status)
		FAIL("status is set by the server; leave it empty");
	if (d->created_at || d->expires_at || d->updated_at || d->escalated_at)
		FAIL("timestamps are set by the server; leave created_at, expires_at, updated_at and escalated_at empty");
	if (d->history)
		FAIL("history is written by the server; leave it empty");
	if (d->escalated_to && *d->escalated_to)
		FAIL("escalated_to is set by EscalateDecision; leave it empty");
	if (d->escalated_by && *d->escalated_by)
		FAIL("escalated_by is set by EscalateDecision; leave it empty");
	if (d->escalation_reason && *d->escalation_reason)
		FAIL("escalation_reason is set by EscalateDecision; leave it empty");
	if (d->idempotency_key && *d->idempotency_key)
		FAIL("decision.idempotency_key is set from the request's idempotency_key; leave it empty");
	if (d->sla_violated)
		FAIL("sla_violated is set by the server; leave it false");
	if (d->submitted_by && *d->submitted_by)
		FAIL("submitted_by is the submitter's credential identity, set by the server; leave it empty");
	if (d->n_executions)
		FAIL("executions are recorded by RecordExecution once the decision is approved; leave them empty");

	/* operation_type: [a-z0-9_.-]{1,64} */
	p = d->operation_type;
	if (!p || !*p)
		FAIL("operation_type is required");
	if (strlen(p) > 64 || strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(p))
		FAIL("operation_type '%s' is invalid (1-64 characters of a-z 0-9 _ . -)",
		     shown(p, tmp, sizeof(tmp)));
	if (v_priority_rank(d->priority) < 0)
		FAIL("priority '%s' is invalid (CRITICAL, HIGH, MEDIUM or LOW)",
		     shown(d->priority, tmp, sizeof(tmp)));
	if (d->sla_seconds < 1 || d->sla_seconds > 604800)
		FAIL("sla_seconds %d is out of range (1 to 604800)", d->sla_seconds);
	if (check_text("assigned_operator", d->assigned_operator, V_ID_MAX, 0, err, errlen) < 0)
		return -1;
	if (check_map("context", MAP_ARGS(d->n_context, d->context), err, errlen) < 0)
		return -1;

	if (d->risk_assessment) {
		const Vertice__Governance__V1__Risk *r = d->risk_assessment;
		if (check_unit("risk_assessment.score", r->score, err, errlen) < 0)
			return -1;
		if (r->level && *r->level && v_priority_rank(r->level) < 0)
			FAIL("risk_assessment.level '%s' is invalid (CRITICAL, HIGH, MEDIUM or LOW)",
			     shown(r->level, tmp, sizeof(tmp)));
		if (r->n_factors > V_LIST_MAX)
			FAIL("risk_assessment.factors has %zu items (at most %d)", r->n_factors,
			     V_LIST_MAX);
		for (size_t i = 0; i < r->n_factors; i++) {
			snprintf(w, sizeof(w), "risk_assessment.factors[%zu]", i);
			if (check_text(w, r->factors[i], V_TEXT_MAX, 0, err, errlen) < 0)
				return -1;
		}
		if (check_map("risk_assessment.details", MAP_ARGS(r->n_details, r->details),
			      err, errlen) < 0)
			return -1;
	}
	if (d->ethical_assessment) {
		const Vertice__Governance__V1__EthicalAssessment *e = d->ethical_assessment;
		if (check_unit("ethical_assessment.confidence", e->confidence, err, errlen) < 0)
			return -1;
		if (check_text("ethical_assessment.reasoning", e->reasoning, V_TEXT_MAX, 1, err,
			       errlen) < 0)
			return -1;
		if (e->n_principles > V_LIST_MAX)
			FAIL("ethical_assessment.principles has %zu items (at most %d)",
			     e->n_principles, V_LIST_MAX);
		if (e->n_concerns > V_LIST_MAX)
			FAIL("ethical_assessment.concerns has %zu items (at most %d)",
			     e->n_concerns, V_LIST_MAX);
		for (size_t i = 0; i < e->n_principles; i++) {
			const Vertice__Governance__V1__EthicalPrinciple *pr = e->principles[i];
			snprintf(w, sizeof(w), "ethical_assessment.principles[%zu].severity", i);
			if (check_unit(w, pr->severity, err, errlen) < 0)
				return -1;
			snprintf(w, sizeof(w), "ethical_assessment.principles[%zu].name", i);
			if (check_text(w, pr->name, V_ID_MAX, 0, err, errlen) < 0)
				return -1;
			snprintf(w, sizeof(w), "ethical_assessment.principles[%zu].explanation", i);
			if (check_text(w, pr->explanation, V_TEXT_MAX, 1, err, errlen) < 0)
				return -1;
		}
		for (size_t i = 0; i < e->n_concerns; i++) {
			snprintf(w, sizeof(w), "ethical_assessment.concerns[%zu]", i);
			if (check_text(w, e->concerns[i], V_TEXT_MAX, 1, err, errlen) < 0)
				return -1;
		}
	}
	if (d->n_recommended_actions > V_LIST_MAX)
		FAIL("recommended_actions has %zu items (at most %d)", d->n_recommended_actions,
		     V_LIST_MAX);
	for (size_t i = 0; i < d->n_recommended_actions; i++) {
		const Vertice__Governance__V1__Action *a = d->recommended_actions[i];
		snprintf(w, sizeof(w), "recommended_actions[%zu].action_type", i);
		if (!a->action_type || !*a->action_type)
			FAIL("%s is required", w);
		if (check_text(w, a->action_type, V_ID_MAX, 0, err, errlen) < 0)
			return -1;
		snprintf(w, sizeof(w), "recommended_actions[%zu].confidence", i);
		if (check_unit(w, a->confidence, err, errlen) < 0)
			return -1;
		snprintf(w, sizeof(w), "recommended_actions[%zu].description", i);
		if (check_text(w, a->description, V_TEXT_MAX, 1, err, errlen) < 0)
			return -1;
		snprintf(w, sizeof(w), "recommended_actions[%zu].parameters", i);
		if (check_map(w, MAP_ARGS(a->n_parameters, a->parameters), err, errlen) < 0)
			return -1;
	}
	return 0;
}
