/*
 * Private: validation of governance requests (docs/governance.md lists the
 * rules and caps).  Every check writes a message naming the field and the
 * offending value, ready for grpc-message.
 */
#ifndef VCLI_SERVER_VALIDATE_H
#define VCLI_SERVER_VALIDATE_H

#include <stddef.h>

#include "governance.pb-c.h"

#define V_ID_MAX 128        /* ids, operators, types, names, keys */
#define V_TEXT_MAX 4096     /* comments, reasons, descriptions */
#define V_LIST_MAX 64       /* list items and map entries */
#define V_LINE_MAX 512      /* one-line texts: where an action ran */

/* 0 for a valid UTF-8 string without NUL or C0 controls other than
 * tab/newline (when allow_newlines), of at most max bytes. */
int v_text(const char *s, size_t max, int allow_newlines);

/* CRITICAL=0, HIGH=1, MEDIUM=2, LOW=3; -1 otherwise. */
int v_priority_rank(const char *p);

/* PENDING, ESCALATED, APPROVED, REJECTED, EXPIRED -> 1; else 0. */
int v_status_known(const char *s);

/* Checks a proposed decision for SubmitDecision.  Returns 0 or -1 with
 * err filled. */
int v_proposal(const Vertice__Governance__V1__Decision *d, char *err, size_t errlen);

/* An optional id-like field (request id, idempotency key): "" is fine,
 * otherwise 1..V_ID_MAX printable bytes.  what names the field. */
int v_opt_id(const char *what, const char *s, char *err, size_t errlen);

/* A required id-like field. */
int v_req_id(const char *what, const char *s, char *err, size_t errlen);

/* Optional free text up to V_TEXT_MAX. */
int v_opt_text(const char *what, const char *s, char *err, size_t errlen);

/* Optional text of one line (no control characters) up to V_LINE_MAX. */
int v_opt_line(const char *what, const char *s, char *err, size_t errlen);

#endif
