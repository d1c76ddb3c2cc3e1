/*
 * vcli: table-format views of governance messages (see gov_render.h).
 */
#include "cli/gov_render.h"

#include <inttypes.h>
#include <string.h>

#include "cli/output.h"
#include "cli/pbjson.h"
#include "cli/table.h"

typedef Vertice__Governance__V1__Action gov_action;
typedef Vertice__Governance__V1__ExecutionRecord gov_execution;
typedef Vertice__Governance__V1__EthicalPrinciple gov_principle;
typedef Google__Protobuf__Timestamp gov_time;

/* Columns of the list view; TYPE and ASSIGNED are the ones that can be
 * long, the decision id is never cut (it is what the next command needs). */
static const struct table_col list_cols[] = {
	{ "ID", 0 },
	{ "PRIORITY", 0 },
	{ "STATUS", 0 },
	{ "TYPE", 24 },
	{ "RISK", 14 },
	{ "ASSIGNED", 16 },
	{ "AGE", 0 },
	{ "EXPIRES", 0 },
};

static const char *str(const char *s)
{
	return s ? s : "";
}

const char *gov_priority_color(const char *p)
{
	if (!p)
		return NULL;
	if (strcmp(p, "CRITICAL") == 0)
		return TABLE_RED;
	if (strcmp(p, "HIGH") == 0)
		return TABLE_YELLOW;
	return NULL;
}

const char *gov_status_color(const char *s)
{
	if (!s)
		return NULL;
	if (strcmp(s, "APPROVED") == 0)
		return TABLE_GREEN;
	if (strcmp(s, "REJECTED") == 0 || strcmp(s, "EXPIRED") == 0)
		return TABLE_RED;
	if (strcmp(s, "ESCALATED") == 0)
		return TABLE_YELLOW;
	return NULL;
}

void gov_format_age(int64_t s, char *out, size_t outlen)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, outlen, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(out, outlen, "%" PRId64 "m", s / 60);
	else if (s < 86400)
		snprintf(out, outlen, "%" PRId64 "h", s / 3600);
	else
		snprintf(out, outlen, "%" PRId64 "d", s / 86400);
}

void gov_format_seconds(double s, char *out, size_t outlen)
{
	if (!(s > 0)) {
		snprintf(out, outlen, "0s");
		return;
	}
	if (s < 60) {
		snprintf(out, outlen, s < 10 ? "%.2fs" : "%.1fs", s);
		return;
	}
	if (s > 1e12)
		s = 1e12;
	out_format_uptime((int64_t)(s + 0.5), out, outlen);
}

static int is_open(const char *status)
{
	return status && (strcmp(status, "PENDING") == 0 ||
			  strcmp(status, "ESCALATED") == 0);
}

static void format_time(const gov_time *t, char *out, size_t outlen)
{
	if (!t) {
		snprintf(out, outlen, "-");
		return;
	}
	/* Milliseconds are plenty for people and keep the column at 24. */
	pbjson_format_time(t->seconds, t->nanos / 1000000 * 1000000, out,
			   outlen);
}

/* "2024-05-01T12:00:00Z (5m ago)" or "(in 5m)". */
static void format_when(const gov_time *t, int64_t now, char *out,
			size_t outlen)
{
	char at[40], age[24];

	format_time(t, at, sizeof(at));
	if (!t) {
		snprintf(out, outlen, "-");
		return;
	}
	gov_format_age(t->seconds > now ? t->seconds - now : now - t->seconds,
		       age, sizeof(age));
	snprintf(out, outlen, t->seconds > now ? "%s (in %s)" : "%s (%s ago)",
		 at, age);
}

static void format_risk(const gov_decision *d, char *out, size_t outlen)
{
	const Vertice__Governance__V1__Risk *r = d->risk_assessment;

	if (!r) {
		snprintf(out, outlen, "-");
		return;
	}
	if (r->level && r->level[0])
		snprintf(out, outlen, "%.2f %s", r->score, r->level);
	else
		snprintf(out, outlen, "%.2f", r->score);
}

int gov_render_list(FILE *f, gov_decision *const *ds, size_t n, int64_t now,
		    int color)
{
	struct table t;
	int rc;

	table_init(&t, list_cols, sizeof(list_cols) / sizeof(list_cols[0]));
	for (size_t i = 0; i < n; i++) {
		const gov_decision *d = ds[i];
		char buf[64];

		table_row(&t);
		table_set(&t, 0, NULL, d->decision_id);
		table_set(&t, 1, gov_priority_color(d->priority), d->priority);
		table_set(&t, 2, gov_status_color(d->status), d->status);
		table_set(&t, 3, NULL, d->operation_type);
		format_risk(d, buf, sizeof(buf));
		table_set(&t, 4, NULL, buf);
		table_set(&t, 5, NULL, d->assigned_operator &&
			  d->assigned_operator[0] ? d->assigned_operator : "-");
		if (d->created_at)
			gov_format_age(now - d->created_at->seconds, buf,
				       sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "-");
		table_set(&t, 6, NULL, buf);
		if (!is_open(d->status) || !d->expires_at) {
			table_set(&t, 7, NULL, "-");
		} else if (d->expires_at->seconds > now) {
			char age[24];

			gov_format_age(d->expires_at->seconds - now, age,
				       sizeof(age));
			table_setf(&t, 7, NULL, "in %s", age);
		} else {
			table_set(&t, 7, TABLE_RED, "overdue");
		}
	}
	rc = table_print(f, &t, color);
	table_release(&t);
	return rc;
}

/* "KEY         value" at the given indent, key column of 12. */
static void kv(FILE *f, int indent, const char *key, const char *color,
	       int use_color, const char *value)
{
	int pad = 12 - (int)strlen(key);

	fprintf(f, "%*s%s%*s", indent, "", key, pad >= 2 ? pad : 2, "");
	if (use_color && color)
		fputs(color, f);
	out_text(f, value);
	if (use_color && color)
		fputs(TABLE_RESET, f);
	fputc('\n', f);
}

static void kv_opt(FILE *f, int indent, const char *key, const char *value)
{
	if (value && value[0])
		kv(f, indent, key, NULL, 0, value);
}

/*
 * A map<string,string> as an aligned two-column block.  The map entry
 * types (Decision.context, Risk.details, Action.parameters) are distinct C
 * types, so the key and value are read through the entry's descriptor.
 */
static const char *entry_string(const ProtobufCMessage *e, unsigned i)
{
	const char *s;

	if (!e || e->descriptor->n_fields <= i ||
	    e->descriptor->fields[i].type != PROTOBUF_C_TYPE_STRING)
		return "";
	s = *(char *const *)(const void *)((const char *)e +
					   e->descriptor->fields[i].offset);
	return s ? s : "";
}

static int string_map(FILE *f, int indent, void *const *entries, size_t n)
{
	static const struct table_col cols[] = { { "KEY", 32 }, { "VALUE", 0 } };
	ProtobufCMessage *const *e = (ProtobufCMessage *const *)entries;
	struct table t;
	int rc;

	table_init(&t, cols, 2);
	t.indent = indent;
	for (size_t i = 0; i < n; i++) {
		table_row(&t);
		table_set(&t, 0, NULL, entry_string(e[i], 0));
		table_set(&t, 1, NULL, entry_string(e[i], 1));
	}
	rc = table_print(f, &t, 0);
	table_release(&t);
	return rc;
}

static void params_text(const gov_action *a, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < a->n_parameters && used < outlen; i++) {
		int w = snprintf(out + used, outlen - used, "%s%s=%s",
				 i ? ", " : "", str(a->parameters[i]->key),
				 str(a->parameters[i]->value));
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static int risk_section(FILE *f, const Vertice__Governance__V1__Risk *r,
			int color)
{
	char buf[64];
	int rc = 0;

	fputs("\nRISK\n", f);
	snprintf(buf, sizeof(buf), "%.2f", r->score);
	kv(f, 2, "SCORE", NULL, 0, buf);
	if (r->level && r->level[0])
		kv(f, 2, "LEVEL", gov_priority_color(r->level), color,
		   r->level);
	if (r->n_factors) {
		fputs("  FACTORS\n", f);
		for (size_t i = 0; i < r->n_factors; i++) {
			fputs("    - ", f);
			out_text(f, r->factors[i]);
			fputc('\n', f);
		}
	}
	if (r->n_details) {
		fputs("  DETAILS\n", f);
		rc = string_map(f, 4, (void *const *)r->details, r->n_details);
	}
	return rc;
}

static int ethics_section(FILE *f,
			  const Vertice__Governance__V1__EthicalAssessment *e,
			  int color)
{
	static const struct table_col cols[] = {
		{ "NAME", 24 }, { "VIOLATED", 0 }, { "SEVERITY", 0 },
		{ "EXPLANATION", 60 },
	};
	char buf[64];
	struct table t;
	int rc = 0;

	fputs("\nETHICS\n", f);
	snprintf(buf, sizeof(buf), "%.2f", e->confidence);
	kv(f, 2, "CONFIDENCE", NULL, 0, buf);
	kv_opt(f, 2, "REASONING", e->reasoning);
	if (e->n_concerns) {
		fputs("  CONCERNS\n", f);
		for (size_t i = 0; i < e->n_concerns; i++) {
			fputs("    - ", f);
			out_text(f, e->concerns[i]);
			fputc('\n', f);
		}
	}
	if (!e->n_principles)
		return 0;
	fputs("  PRINCIPLES\n", f);
	table_init(&t, cols, 4);
	t.indent = 4;
	for (size_t i = 0; i < e->n_principles; i++) {
		const gov_principle *p = e->principles[i];

		table_row(&t);
		table_set(&t, 0, NULL, p->name);
		table_set(&t, 1, p->violated ? TABLE_RED : NULL,
			  p->violated ? "yes" : "no");
		table_setf(&t, 2, NULL, "%.2f", p->severity);
		table_set(&t, 3, NULL, p->explanation);
	}
	rc = table_print(f, &t, color);
	table_release(&t);
	return rc;
}

static int actions_section(FILE *f, const gov_decision *d)
{
	static const struct table_col cols[] = {
		{ "TYPE", 24 }, { "CONFIDENCE", 0 }, { "DESCRIPTION", 50 },
		{ "PARAMETERS", 50 },
	};
	struct table t;
	int rc;

	fputs("\nACTIONS\n", f);
	table_init(&t, cols, 4);
	t.indent = 2;
	for (size_t i = 0; i < d->n_recommended_actions; i++) {
		const gov_action *a = d->recommended_actions[i];
		char params[512];

		params_text(a, params, sizeof(params));
		table_row(&t);
		table_set(&t, 0, NULL, a->action_type);
		table_setf(&t, 1, NULL, "%.2f", a->confidence);
		table_set(&t, 2, NULL, a->description);
		table_set(&t, 3, NULL, params);
	}
	rc = table_print(f, &t, 0);
	table_release(&t);
	return rc;
}

static void history_section(FILE *f,
			    const Vertice__Governance__V1__DecisionHistory *h,
			    int64_t now, int color)
{
	char buf[96];

	fputs("\nHISTORY\n", f);
	if (h->submitted_at) {
		format_when(h->submitted_at, now, buf, sizeof(buf));
		kv(f, 2, "SUBMITTED", NULL, 0, buf);
	}
	if (h->reviewed_at) {
		format_when(h->reviewed_at, now, buf, sizeof(buf));
		kv(f, 2, "REVIEWED", NULL, 0, buf);
	}
	kv_opt(f, 2, "BY", h->reviewed_by);
	if (h->outcome && h->outcome[0])
		kv(f, 2, "OUTCOME", gov_status_color(h->outcome), color,
		   h->outcome);
	kv_opt(f, 2, "COMMENT", h->comment);
	kv_opt(f, 2, "REASONING", h->reasoning);
	kv_opt(f, 2, "REQUEST ID", h->request_id);
}

/* What came of carrying out its actions (RecordExecution), oldest first:
 * when, which action, whether it worked, who, what happened, where. */
static int executions_section(FILE *f, const gov_decision *d, int64_t now,
			      int color)
{
	static const struct table_col cols[] = {
		{ "WHEN", 0 }, { "ACTION", 28 }, { "RESULT", 0 }, { "BY", 16 },
		{ "DETAIL", 60 }, { "TARGET", 48 },
	};
	struct table t;
	int rc;

	fputs("\nEXECUTIONS\n", f);
	table_init(&t, cols, 6);
	t.indent = 2;
	for (size_t i = 0; i < d->n_executions; i++) {
		const gov_execution *x = d->executions[i];
		char when[96];

		if (x->executed_at)
			format_when(x->executed_at, now, when, sizeof(when));
		else
			snprintf(when, sizeof(when), "-");
		table_row(&t);
		table_set(&t, 0, NULL, when);
		table_setf(&t, 1, NULL, "%s (#%d)", str(x->action_type),
			   (int)x->action_index);
		table_set(&t, 2, x->succeeded ? TABLE_GREEN : TABLE_RED,
			  x->succeeded ? "ok" : "failed");
		table_set(&t, 3, NULL, str(x->executed_by));
		table_set(&t, 4, NULL, str(x->detail));
		table_set(&t, 5, NULL, str(x->target));
	}
	rc = table_print(f, &t, color);
	table_release(&t);
	return rc;
}

int gov_render_decision(FILE *f, const gov_decision *d, int64_t now,
			int color)
{
	char buf[160], when[96];
	int rc = 0;

	kv(f, 0, "ID", NULL, 0, str(d->decision_id));
	kv(f, 0, "TYPE", NULL, 0, str(d->operation_type));
	kv(f, 0, "STATUS", gov_status_color(d->status), color, str(d->status));
	kv(f, 0, "PRIORITY", gov_priority_color(d->priority), color,
	   str(d->priority));
	kv_opt(f, 0, "ASSIGNED", d->assigned_operator);
	kv_opt(f, 0, "SUBMITTER", d->submitted_by);
	if (d->created_at) {
		format_when(d->created_at, now, buf, sizeof(buf));
		kv(f, 0, "CREATED", NULL, 0, buf);
	}
	if (d->expires_at) {
		format_when(d->expires_at, now, buf, sizeof(buf));
		kv(f, 0, "EXPIRES", NULL, 0, buf);
	}
	if (d->sla_seconds) {
		out_format_uptime(d->sla_seconds, when, sizeof(when));
		snprintf(buf, sizeof(buf), "%s%s", when,
			 d->sla_violated ? " (violated)" : "");
		kv(f, 0, "SLA", d->sla_violated ? TABLE_RED : NULL, color, buf);
	}
	if (d->updated_at) {
		format_when(d->updated_at, now, buf, sizeof(buf));
		kv(f, 0, "UPDATED", NULL, 0, buf);
	}
	if (d->escalated_to && d->escalated_to[0]) {
		kv(f, 0, "ESCALATED", TABLE_YELLOW, color, d->escalated_to);
		kv_opt(f, 2, "BY", d->escalated_by);
		if (d->escalated_at) {
			format_when(d->escalated_at, now, when, sizeof(when));
			kv(f, 2, "AT", NULL, 0, when);
		}
		kv_opt(f, 2, "REASON", d->escalation_reason);
	}
	kv_opt(f, 0, "IDEMPOTENCY", d->idempotency_key);
	if (d->n_context) {
		fputs("\nCONTEXT\n", f);
		rc |= string_map(f, 2, (void *const *)d->context, d->n_context);
	}
	if (d->risk_assessment)
		rc |= risk_section(f, d->risk_assessment, color);
	if (d->ethical_assessment)
		rc |= ethics_section(f, d->ethical_assessment, color);
	if (d->n_recommended_actions)
		rc |= actions_section(f, d);
	if (d->history)
		history_section(f, d->history, now, color);
	if (d->n_executions)
		rc |= executions_section(f, d, now, color);
	return rc ? -1 : 0;
}

void gov_render_metrics(FILE *f, const gov_metrics *m)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%d", m->pending_count);
	kv(f, 0, "PENDING", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", m->total_decisions);
	kv(f, 0, "TOTAL", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", m->approved_count);
	kv(f, 0, "APPROVED", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", m->rejected_count);
	kv(f, 0, "REJECTED", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", m->escalated_count);
	kv(f, 0, "ESCALATED", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", m->expired_count);
	kv(f, 0, "EXPIRED", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", m->critical_count);
	kv(f, 0, "CRITICAL", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", m->high_priority_count);
	kv(f, 0, "HIGH", NULL, 0, buf);
	gov_format_seconds(m->avg_response_time_seconds, buf, sizeof(buf));
	kv(f, 0, "AVG REVIEW", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%.1f%%", m->approval_rate * 100.0);
	kv(f, 0, "APPROVAL", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", m->sla_violations);
	kv(f, 0, "SLA MISSED", NULL, 0, buf);
}

void gov_render_stats(FILE *f, const char *operator_id, const gov_stats *s)
{
	char buf[64];

	kv(f, 0, "OPERATOR", NULL, 0, str(operator_id));
	snprintf(buf, sizeof(buf), "%d", s->total_decisions);
	kv(f, 0, "TOTAL", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", s->approved);
	kv(f, 0, "APPROVED", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", s->rejected);
	kv(f, 0, "REJECTED", NULL, 0, buf);
	snprintf(buf, sizeof(buf), "%d", s->escalated);
	kv(f, 0, "ESCALATED", NULL, 0, buf);
	gov_format_seconds(s->avg_response_time_seconds, buf, sizeof(buf));
	kv(f, 0, "AVG REVIEW", NULL, 0, buf);
	if (s->session_start) {
		format_time(s->session_start, buf, sizeof(buf));
		kv(f, 0, "SESSION", NULL, 0, buf);
	}
}

/* Writes text padded to width (cut with an ellipsis when longer). */
static void padded(FILE *f, const char *text, size_t width, const char *color,
		   int use_color)
{
	char buf[256];
	size_t w;

	table_ellipsize(buf, sizeof(buf), str(text), width);
	w = out_text_width(buf);
	if (use_color && color)
		fprintf(f, "%s%s%s", color, buf, TABLE_RESET);
	else
		fputs(buf, f);
	fprintf(f, "%*s", (int)(width - w + 2), "");
}

void gov_render_decision_event(FILE *f, const gov_decision_event *e,
			       int color)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
		&vertice__governance__v1__decision_event__event_type__descriptor,
		(int)e->type);
	const gov_decision *d = e->decision;
	char at[40], seq[32];

	format_time(e->timestamp, at, sizeof(at));
	snprintf(seq, sizeof(seq), "#%" PRIu64, e->sequence);
	padded(f, at, 24, NULL, 0);
	padded(f, seq, 8, NULL, 0);
	padded(f, ev ? ev->name : "UNKNOWN", 17, NULL, 0);
	if (!d) {
		fputc('\n', f);
		return;
	}
	padded(f, d->decision_id, 34, NULL, 0);
	padded(f, d->priority, 8, gov_priority_color(d->priority), color);
	padded(f, d->status, 9, gov_status_color(d->status), color);
	out_text(f, d->operation_type);
	if (d->history && d->history->reviewed_by && d->history->reviewed_by[0]) {
		fputs(" by ", f);
		out_text(f, d->history->reviewed_by);
	} else if (e->type ==
		   VERTICE__GOVERNANCE__V1__DECISION_EVENT__EVENT_TYPE__DECISION_UPDATED &&
		   d->escalated_to && d->escalated_to[0]) {
		fputs(" to ", f);
		out_text(f, d->escalated_to);
	}
	fputc('\n', f);
}

void gov_render_event(FILE *f, const gov_event *e)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
		&vertice__governance__v1__governance_event__event_type__descriptor,
		(int)e->type);
	const gov_metrics *m = e->metrics;
	char at[40];

	format_time(e->timestamp, at, sizeof(at));
	padded(f, at, 24, NULL, 0);
	if (m || (e->message && e->message[0]))
		padded(f, ev ? ev->name : "UNKNOWN", 22, NULL, 0);
	else
		fputs(ev ? ev->name : "UNKNOWN", f);
	if (m)
		fprintf(f, "pending=%d total=%d approved=%d rejected=%d "
			"escalated=%d expired=%d critical=%d high=%d "
			"sla_violations=%d", m->pending_count,
			m->total_decisions, m->approved_count,
			m->rejected_count, m->escalated_count,
			m->expired_count, m->critical_count,
			m->high_priority_count, m->sla_violations);
	if (e->message && e->message[0]) {
		if (m)
			fputs("  ", f);
		out_text(f, e->message);
	}
	fputc('\n', f);
}
