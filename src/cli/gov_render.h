/*
 * Private to vcli: the table-format views of governance messages (a list of
 * decisions, one decision in detail, metrics, operator stats, stream
 * events).  Pure: they write to the FILE given, take the current time as an
 * argument and never touch the terminal themselves, so tests can compare
 * their output.  The json and yaml formats do not come through here: they
 * are the messages' JSON mapping (pbjson.h).
 */
#ifndef VCLI_CLI_GOV_RENDER_H
#define VCLI_CLI_GOV_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "governance.pb-c.h"

typedef Vertice__Governance__V1__Decision gov_decision;
typedef Vertice__Governance__V1__DecisionMetrics gov_metrics;
typedef Vertice__Governance__V1__DecisionEvent gov_decision_event;
typedef Vertice__Governance__V1__GovernanceEvent gov_event;
typedef Vertice__Governance__V1__GetSessionStatsResponse gov_stats;

/* The colour of a priority (CRITICAL red, HIGH yellow) or a status
 * (APPROVED green, REJECTED and EXPIRED red, ESCALATED yellow), or NULL. */
const char *gov_priority_color(const char *priority);
const char *gov_status_color(const char *status);

/* A span of seconds in one unit, rounded down: "45s", "5m", "3h", "2d". */
void gov_format_age(int64_t seconds, char *out, size_t outlen);

/* Seconds with a fraction as "0.45s", "12.3s", "2m5s", "1h2m3s". */
void gov_format_seconds(double seconds, char *out, size_t outlen);

/*
 * The list view: one row per decision (ID, PRIORITY, STATUS, TYPE, RISK,
 * ASSIGNED, AGE, EXPIRES), long cells cut with an ellipsis.  now is the
 * wall clock in seconds.  Returns 0, or -1 when memory ran out.
 */
int gov_render_list(FILE *f, gov_decision *const *ds, size_t n, int64_t now,
		    int color);

/* The detail view of one decision: its fields, then sections for the
 * context, risk, ethics, actions, history and executions that are not
 * empty. */
int gov_render_decision(FILE *f, const gov_decision *d, int64_t now,
			int color);

void gov_render_metrics(FILE *f, const gov_metrics *m);

void gov_render_stats(FILE *f, const char *operator_id, const gov_stats *s);

/* One line per stream event, fixed-width so that lines written one by one
 * still line up. */
void gov_render_decision_event(FILE *f, const gov_decision_event *e,
			       int color);
void gov_render_event(FILE *f, const gov_event *e);

#endif
