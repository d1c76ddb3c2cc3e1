/* Unit tests: a Decision from its protobuf JSON mapping
 * (src/cli/decision_json.c, src/cli/pbjson.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "governance.pb-c.h"
#include "cli/decision_json.h"

typedef Vertice__Governance__V1__Decision decision;
typedef Vertice__Governance__V1__SubmitDecisionRequest submit_req;

static const char full[] =
	"{\n"
	"  \"operationType\": \"block_ip\",\n"
	"  \"context\": {\"ip\": \"203.0.113.7\", \"source\": \"ids\"},\n"
	"  \"risk_assessment\": {\n"
	"    \"score\": 0.82, \"level\": \"HIGH\",\n"
	"    \"factors\": [\"port scan\", \"known bad ASN\"],\n"
	"    \"details\": {\"asn\": \"64500\"}\n"
	"  },\n"
	"  \"ethicalAssessment\": {\n"
	"    \"principles\": [{\"name\": \"proportionality\", \"violated\": true,"
	"      \"severity\": \"0.25\", \"explanation\": \"a 24 h block\"}],\n"
	"    \"concerns\": [\"shared NAT\"], \"confidence\": 1,\n"
	"    \"reasoning\": \"clear \\u00e9vidence\"\n"
	"  },\n"
	"  \"priority\": \"HIGH\",\n"
	"  \"sla_seconds\": \"900\",\n"
	"  \"assignedOperator\": \"alice\",\n"
	"  \"recommendedActions\": [\n"
	"    {\"actionType\": \"fw.block\", \"description\": \"block\","
	"     \"parameters\": {\"ttl\": \"24h\"}, \"confidence\": 0.95},\n"
	"    {\"actionType\": \"notify\", \"confidence\": 5e-1}\n"
	"  ],\n"
	"  \"history\": null,\n"
	"  \"createdAt\": \"2024-05-01T14:00:00.5+02:00\",\n"
	"  \"idempotencyKey\": \"ids-alert-1\"\n"
	"}\n";

static void parses_full_example(void **state)
{
	struct decision_json dj;
	char err[512] = "";
	decision *d;
	submit_req *r;

	assert_int_equal(decision_json_parse(full, strlen(full), NULL, &dj,
					     err, sizeof(err)), 0);
	assert_string_equal(dj.idempotency_key, "ids-alert-1");

	d = vertice__governance__v1__decision__unpack(NULL, dj.decision_len,
						      dj.decision);
	assert_non_null(d);
	assert_string_equal(d->operation_type, "block_ip");
	assert_int_equal(d->n_context, 2);
	assert_string_equal(d->context[0]->key, "ip");
	assert_string_equal(d->context[0]->value, "203.0.113.7");
	assert_non_null(d->risk_assessment);
	assert_true(d->risk_assessment->score == 0.82);
	assert_string_equal(d->risk_assessment->level, "HIGH");
	assert_int_equal(d->risk_assessment->n_factors, 2);
	assert_string_equal(d->risk_assessment->factors[1], "known bad ASN");
	assert_string_equal(d->risk_assessment->details[0]->value, "64500");
	assert_int_equal(d->ethical_assessment->n_principles, 1);
	assert_true(d->ethical_assessment->principles[0]->violated);
	assert_true(d->ethical_assessment->principles[0]->severity == 0.25);
	assert_true(d->ethical_assessment->confidence == 1.0);
	assert_string_equal(d->ethical_assessment->reasoning,
			    "clear \xc3\xa9vidence");
	assert_string_equal(d->priority, "HIGH");
	assert_int_equal(d->sla_seconds, 900);
	assert_string_equal(d->assigned_operator, "alice");
	assert_int_equal(d->n_recommended_actions, 2);
	assert_string_equal(d->recommended_actions[0]->parameters[0]->key,
			    "ttl");
	assert_true(d->recommended_actions[1]->confidence == 0.5);
	assert_null(d->history);
	/* 14:00:00.5+02:00 is 12:00:00.5Z. */
	assert_non_null(d->created_at);
	assert_int_equal(d->created_at->seconds, 1714564800);
	assert_int_equal(d->created_at->nanos, 500000000);
	/* The key went to the request, not the decision. */
	assert_string_equal(d->idempotency_key, "");
	vertice__governance__v1__decision__free_unpacked(d, NULL);

	r = vertice__governance__v1__submit_decision_request__unpack(
		NULL, dj.request_len, dj.request);
	assert_non_null(r);
	assert_string_equal(r->idempotency_key, "ids-alert-1");
	assert_string_equal(r->decision->operation_type, "block_ip");
	assert_string_equal(r->decision->idempotency_key, "");
	vertice__governance__v1__submit_decision_request__free_unpacked(r, NULL);
	decision_json_release(&dj);
}

static void key_override_and_absent(void **state)
{
	struct decision_json dj;
	char err[256];
	submit_req *r;
	const char *text = "{\"operation_type\":\"x\"}";

	assert_int_equal(decision_json_parse(full, strlen(full), "other", &dj,
					     err, sizeof(err)), 0);
	assert_string_equal(dj.idempotency_key, "other");
	decision_json_release(&dj);

	assert_int_equal(decision_json_parse(text, strlen(text), NULL, &dj,
					     err, sizeof(err)), 0);
	assert_string_equal(dj.idempotency_key, "");
	r = vertice__governance__v1__submit_decision_request__unpack(
		NULL, dj.request_len, dj.request);
	assert_string_equal(r->idempotency_key, "");
	assert_string_equal(r->decision->operation_type, "x");
	vertice__governance__v1__submit_decision_request__free_unpacked(r, NULL);
	decision_json_release(&dj);
}

/* Every error class, with the message it must give. */
static void errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		/* wrong types */
		{ "{\"riskAssessment\":{\"score\":\"high\"}}",
		  "riskAssessment.score: expected a number, got \"high\"" },
		{ "{\"operationType\":3}",
		  "operationType: expected a string, got 3" },
		{ "{\"context\":{\"a\":1}}",
		  "context.a: expected a string, got 1" },
		{ "{\"context\":[]}", "context: expected an object, got an array" },
		{ "{\"recommendedActions\":{}}",
		  "recommendedActions: expected an array, got an object" },
		{ "{\"recommendedActions\":[{\"confidence\":true}]}",
		  "recommendedActions[0].confidence: expected a number, got "
		  "true" },
		{ "{\"ethicalAssessment\":{\"principles\":[{},{\"violated\":"
		  "\"yes\"}]}}",
		  "ethicalAssessment.principles[1].violated: expected true or "
		  "false, got \"yes\"" },
		{ "{\"riskAssessment\":[]}",
		  "riskAssessment: expected an object, got an array" },
		{ "{\"riskAssessment\":{\"factors\":[null]}}",
		  "riskAssessment.factors[0]: null is not allowed in a list" },
		{ "{\"context\":{\"a\":null}}",
		  "context.a: expected a string, got null" },
		{ "{\"riskAssessment\":{\"score\":\"0x10\"}}",
		  "riskAssessment.score: expected a number, got \"0x10\"" },
		{ "{\"riskAssessment\":{\"score\":\" 1\"}}",
		  "riskAssessment.score: expected a number, got \" 1\"" },
		/* integers */
		{ "{\"slaSeconds\":1.5}", "slaSeconds: expected an integer, got "
		  "1.5" },
		{ "{\"slaSeconds\":4294967296}",
		  "slaSeconds: 4294967296 is out of range for a 32-bit "
		  "integer" },
		{ "{\"slaSeconds\":\"12a\"}",
		  "slaSeconds: expected an integer, got \"12a\"" },
		{ "{\"slaSeconds\":\"99999999999999999999\"}",
		  "slaSeconds: integer \"99999999999999999999\" is out of range" },
		/* timestamps */
		{ "{\"createdAt\":\"2024-02-30T00:00:00Z\"}",
		  "createdAt: expected an RFC 3339 timestamp such as "
		  "\"2024-05-01T12:00:00Z\", got \"2024-02-30T00:00:00Z\"" },
		{ "{\"createdAt\":\"2024-05-01 12:00:00Z\"}",
		  "createdAt: expected an RFC 3339 timestamp" },
		{ "{\"createdAt\":\"2024-05-01T12:00:00\"}",
		  "createdAt: expected an RFC 3339 timestamp" },
		{ "{\"createdAt\":\"2024-05-01T12:00:00.1234567890Z\"}",
		  "createdAt: expected an RFC 3339 timestamp" },
		{ "{\"createdAt\":1714564800}",
		  "createdAt: expected an RFC 3339 timestamp such as "
		  "\"2024-05-01T12:00:00Z\", got 1714564800" },
		/* unknown and repeated fields */
		{ "{\"bogus\":1}", "bogus: unknown field" },
		{ "{\"riskAssessment\":{\"scor\":1}}",
		  "riskAssessment.scor: unknown field" },
		{ "{\"RiskAssessment\":{}}", "RiskAssessment: unknown field" },
		{ "{\"slaSeconds\":1,\"sla_seconds\":2}",
		  "sla_seconds: the field is given twice (as 'slaSeconds' and "
		  "'sla_seconds')" },
		{ "{\"a\":1,\"a\":2}", "duplicate object key" },
		/* not JSON, or not an object */
		{ "", "line 1, column 0:" },
		{ "{\"operationType\": \"x\",", "line 1, column 22:" },
		{ "[]", "expected an object, got an array" },
		{ "{} {}", "end of file expected" },
		{ "{\"operationType\":\"a\\u0000b\"}", "\\u0000 is not allowed" },
		{ "{\"operationType\":\"\xff\"}", "unable to decode byte 0xff" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct decision_json dj;
		char err[512] = "";

		assert_int_equal(decision_json_parse(cases[i].text,
						     strlen(cases[i].text),
						     NULL, &dj, err,
						     sizeof(err)), -1);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu (%s): '%s' lacks '%s'", i,
				 cases[i].text, err, cases[i].want);
		assert_null(dj.request);
		assert_null(dj.decision);
	}
}

static void size_cap(void **state)
{
	size_t n = DECISION_JSON_MAX + 1;
	char *big = malloc(n);
	struct decision_json dj;
	char err[256];

	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_int_equal(decision_json_parse(big, n, NULL, &dj, err,
					     sizeof(err)), -1);
	assert_string_equal(err, "the decision is larger than 1024 KiB");
	/* At the cap it parses. */
	big[n - 2] = '}';
	assert_int_equal(decision_json_parse(big, n - 1, NULL, &dj, err,
					     sizeof(err)), 0);
	decision_json_release(&dj);
	free(big);
}

static void numbers_the_mapping_allows(void **state)
{
	static const char text[] =
		"{\"slaSeconds\": 1e2, \"riskAssessment\": {\"score\": \"NaN\"},"
		" \"ethicalAssessment\": {\"confidence\": \"-Infinity\"},"
		" \"recommendedActions\": [{\"confidence\": \"1e-3\"}],"
		" \"slaViolated\": false, \"updatedAt\": \"1970-01-01T00:00:00Z\"}";
	struct decision_json dj;
	char err[256] = "";
	decision *d;

	assert_int_equal(decision_json_parse(text, strlen(text), NULL, &dj,
					     err, sizeof(err)), 0);
	d = vertice__governance__v1__decision__unpack(NULL, dj.decision_len,
						      dj.decision);
	assert_int_equal(d->sla_seconds, 100);
	assert_true(d->risk_assessment->score != d->risk_assessment->score);
	assert_true(d->ethical_assessment->confidence < -1e308);
	assert_true(d->recommended_actions[0]->confidence == 0.001);
	assert_non_null(d->updated_at);
	assert_int_equal(d->updated_at->seconds, 0);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	decision_json_release(&dj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_full_example),
		cmocka_unit_test(key_override_and_absent),
		cmocka_unit_test(errors),
		cmocka_unit_test(size_cap),
		cmocka_unit_test(numbers_the_mapping_allows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
