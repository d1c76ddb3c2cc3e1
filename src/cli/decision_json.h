/*
 * Private to vcli: a decision proposal in the protobuf canonical JSON
 * mapping of vertice.governance.v1.Decision, as `vcli gov submit` reads it.
 *
 * Pure (text in, packed protobuf or an error message out), so that a fuzz
 * target can link it on its own.  The text is the JSON mapping of Decision
 * (lowerCamelCase or the original snake_case names; maps as objects;
 * Timestamps as RFC 3339 strings; numbers for doubles), where the Decision
 * field "idempotencyKey" is taken as the producer's idempotency key: it
 * moves into SubmitDecisionRequest.idempotency_key and the Decision sent
 * has none.  Unknown fields, wrong types and out-of-range numbers are
 * errors naming the JSON path.  Server rules (required fields, 0-1 scores,
 * enum strings) are left to the server, which names the field too.
 */
#ifndef VCLI_CLI_DECISION_JSON_H
#define VCLI_CLI_DECISION_JSON_H

#include <stddef.h>
#include <stdint.h>

/* The largest input accepted, in bytes (the server's request cap). */
#define DECISION_JSON_MAX (1024 * 1024)

struct decision_json {
	uint8_t *decision;     /* packed Decision (no idempotency key) */
	size_t decision_len;
	uint8_t *request;      /* packed SubmitDecisionRequest */
	size_t request_len;
	char *idempotency_key; /* "" when none */
};

/*
 * Parses len bytes of text.  key_override, when not NULL, replaces the
 * idempotency key of the text.  Returns 0 and fills *out (the caller
 * releases it with decision_json_release()), or -1 with a message in err:
 * "riskAssessment.score: expected a number, got \"high\"", or for text
 * that is not JSON "line 3, column 5: <what>".
 */
int decision_json_parse(const char *text, size_t len, const char *key_override,
			struct decision_json *out, char *err, size_t errlen);

void decision_json_release(struct decision_json *dj);

#endif
