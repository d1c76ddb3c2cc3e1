/*
 * vcli: a Decision from its JSON mapping (see decision_json.h).
 */
#include "cli/decision_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "governance.pb-c.h"
#include "cli/pbjson.h"

void decision_json_release(struct decision_json *dj)
{
	free(dj->decision);
	free(dj->request);
	free(dj->idempotency_key);
	memset(dj, 0, sizeof(*dj));
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n ? n : 1);

	if (p)
		*len = protobuf_c_message_pack(m, p);
	return p;
}

int decision_json_parse(const char *text, size_t len, const char *key_override,
			struct decision_json *out, char *err, size_t errlen)
{
	Vertice__Governance__V1__SubmitDecisionRequest req =
		VERTICE__GOVERNANCE__V1__SUBMIT_DECISION_REQUEST__INIT;
	Vertice__Governance__V1__Decision *d;
	struct doc_arena arena;
	json_error_t jerr;
	json_t *root = NULL;
	const char *key;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	doc_arena_init(&arena);
	if (len > DECISION_JSON_MAX) {
		snprintf(err, errlen, "the decision is larger than %d KiB",
			 DECISION_JSON_MAX / 1024);
		goto out;
	}
	/* Duplicate keys are refused: which one would win is a guess. */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "line %d, column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		goto out;
	}
	d = (Vertice__Governance__V1__Decision *)pbjson_from_json(
		&arena, &vertice__governance__v1__decision__descriptor, root,
		err, errlen);
	if (!d)
		goto out;
	key = key_override ? key_override :
	      d->idempotency_key ? d->idempotency_key : "";
	out->idempotency_key = strdup(key);
	d->idempotency_key = (char *)protobuf_c_empty_string;
	req.decision = d;
	req.idempotency_key = out->idempotency_key;
	if (out->idempotency_key)
		out->decision = pack(&d->base, &out->decision_len);
	if (out->decision)
		out->request = pack(&req.base, &out->request_len);
	if (!out->request) {
		snprintf(err, errlen, "out of memory");
		decision_json_release(out);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	doc_arena_release(&arena);
	return rc;
}
