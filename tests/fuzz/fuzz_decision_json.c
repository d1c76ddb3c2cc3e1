/*
 * Fuzz target: the decision JSON that `vcli gov submit -f FILE` reads
 * (src/cli/decision_json.c over jansson, src/cli/pbjson.c).
 *
 * Input: the file's bytes.  Checked beyond memory safety, for every input
 * the parser accepts:
 *   - both packed outputs decode with protobuf-c (what governd will do);
 *   - the decision written back as vcli's JSON output (-o json) parses
 *     again to the very same bytes: the JSON mapping goes both ways
 *     without loss;
 *   - the YAML writer (-o yaml) copes with whatever the decision holds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance.pb-c.h"
#include "cli/decision_json.h"
#include "cli/doc.h"
#include "cli/pbjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* Writes the decision as vcli's json (or yaml) output does, into a heap
 * string the caller frees; NULL when memory ran out. */
static char *render(const Vertice__Governance__V1__Decision *d, int yaml, size_t *len)
{
	struct doc_arena arena;
	struct doc *doc;
	char *text = NULL;
	FILE *f;
	int rc;

	*len = 0;
	doc_arena_init(&arena);
	doc = pbjson_to_doc(&arena, &d->base, 0);
	f = open_memstream(&text, len);
	if (!doc || !f) {
		if (f)
			fclose(f);
		free(text);
		doc_arena_release(&arena);
		return NULL;
	}
	rc = yaml ? doc_write_yaml(f, &arena, doc) : doc_write_json(f, &arena, doc);
	fclose(f);
	doc_arena_release(&arena);
	if (rc < 0) {
		free(text);
		return NULL;
	}
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Vertice__Governance__V1__SubmitDecisionRequest *req;
	Vertice__Governance__V1__Decision *d;
	struct decision_json dj, again;
	char err[512];
	char *text;
	size_t len;

	if (decision_json_parse((const char *)data, size, NULL, &dj, err, sizeof(err)) < 0) {
		CHECK(err[0]);
		return 0;
	}
	CHECK(dj.decision && dj.request && dj.idempotency_key);

	req = vertice__governance__v1__submit_decision_request__unpack(NULL, dj.request_len,
								      dj.request);
	CHECK(req && req->decision);
	CHECK(strcmp(req->idempotency_key, dj.idempotency_key) == 0);
	CHECK(!req->decision->idempotency_key[0]);
	vertice__governance__v1__submit_decision_request__free_unpacked(req, NULL);

	d = vertice__governance__v1__decision__unpack(NULL, dj.decision_len, dj.decision);
	CHECK(d);

	text = render(d, 0, &len);
	if (text) {
		/* The output leaves the idempotency key out (the decision has
		 * none), so the second parse packs the same decision. */
		if (decision_json_parse(text, len, NULL, &again, err, sizeof(err)) < 0) {
			fprintf(stderr, "fuzz: vcli's own JSON does not parse back: %s\n%s",
				err, text);
			abort();
		}
		if (again.decision_len != dj.decision_len ||
		    memcmp(again.decision, dj.decision, dj.decision_len) != 0) {
			fprintf(stderr, "fuzz: the JSON round trip changed the decision\n%s",
				text);
			abort();
		}
		decision_json_release(&again);
		free(text);
	}
	text = render(d, 1, &len);
	free(text);

	vertice__governance__v1__decision__free_unpacked(d, NULL);
	decision_json_release(&dj);
	return 0;
}
