#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "governance.pb-c.h"
#include "rpc/pbcheck.h"

typedef Vertice__Governance__V1__SubmitDecisionRequest submit_req;
typedef Vertice__Governance__V1__Decision decision;
typedef Vertice__Governance__V1__EthicalAssessment ethics;
typedef Vertice__Governance__V1__EthicalPrinciple principle;
typedef Vertice__Governance__V1__Decision__ContextEntry context_entry;

#define MARK "MARKMARK"

/* A SubmitDecisionRequest with two principles and two context entries;
 * where, if not NULL, names the string that holds MARK. */
static uint8_t *packed_request(const char *where, size_t *len)
{
	submit_req r = VERTICE__GOVERNANCE__V1__SUBMIT_DECISION_REQUEST__INIT;
	decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	ethics e = VERTICE__GOVERNANCE__V1__ETHICAL_ASSESSMENT__INIT;
	principle p0 = VERTICE__GOVERNANCE__V1__ETHICAL_PRINCIPLE__INIT;
	principle p1 = VERTICE__GOVERNANCE__V1__ETHICAL_PRINCIPLE__INIT;
	principle *ps[2] = { &p0, &p1 };
	context_entry c0 = VERTICE__GOVERNANCE__V1__DECISION__CONTEXT_ENTRY__INIT;
	context_entry c1 = VERTICE__GOVERNANCE__V1__DECISION__CONTEXT_ENTRY__INIT;
	context_entry *cs[2] = { &c0, &c1 };
	uint8_t *out;

	d.operation_type = "block_ip";
	d.priority = "HIGH";
	p0.name = "proportionality";
	p0.explanation = "a 24 h block";
	p1.name = "reversibility";
	p1.explanation = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92";   /* 2-, 3-, 4-byte */
	e.n_principles = 2;
	e.principles = ps;
	e.reasoning = "ok";
	d.ethical_assessment = &e;
	c0.key = "ip";
	c0.value = "203.0.113.7";
	c1.key = "asn";
	c1.value = "64500";
	d.n_context = 2;
	d.context = cs;
	r.decision = &d;
	r.idempotency_key = "key-1";
	if (where && strcmp(where, "principles[1].explanation") == 0)
		p1.explanation = MARK;
	else if (where && strcmp(where, "context[1].value") == 0)
		c1.value = MARK;
	else if (where && strcmp(where, "idempotency_key") == 0)
		r.idempotency_key = MARK;
	*len = vertice__governance__v1__submit_decision_request__get_packed_size(&r);
	out = malloc(*len);
	assert_non_null(out);
	vertice__governance__v1__submit_decision_request__pack(&r, out);
	return out;
}

/* Overwrites MARK in p (same length: the framing stays valid). */
static void replace_mark(uint8_t *p, size_t n, const char *with)
{
	for (size_t i = 0; i + 8 <= n; i++) {
		if (memcmp(p + i, MARK, 8) == 0) {
			memcpy(p + i, with, 8);
			return;
		}
	}
	fail_msg("marker not found");
}

static int check(const uint8_t *p, size_t n, char *err, size_t errlen)
{
	return pb_check_strings(&vertice__governance__v1__submit_decision_request__descriptor, p,
				n, err, errlen);
}

static void well_formed_passes(void **state)
{
	char err[256] = "x";
	size_t n;
	uint8_t *p = packed_request(NULL, &n);

	(void)state;
	assert_int_equal(check(p, n, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(check(p, 0, err, sizeof(err)), 0);
	free(p);
}

static void faults_name_the_field(void **state)
{
	static const struct {
		const char *where, *with, *want;
	} cases[] = {
		{ "principles[1].explanation", "ab\0cdefg",
		  "decision.ethical_assessment.principles[1].explanation contains a NUL character" },
		{ "principles[1].explanation", "abc\xff" "defg",
		  "decision.ethical_assessment.principles[1].explanation is not valid UTF-8" },
		{ "context[1].value", "ab\xc0\xafzzzz",        /* overlong '/' */
		  "decision.context[1].value is not valid UTF-8" },
		{ "context[1].value", "a\xed\xa0\x80zzzz",     /* a UTF-16 surrogate */
		  "decision.context[1].value is not valid UTF-8" },
		{ "idempotency_key", "abcdefg\xe2",            /* cut short at the end */
		  "idempotency_key is not valid UTF-8" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256];
		size_t n;
		uint8_t *p = packed_request(cases[i].where, &n);

		replace_mark(p, n, cases[i].with);
		assert_int_equal(check(p, n, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].want);
		free(p);
	}
}

/* Unknown fields are skipped whatever they hold; bytes that are not a
 * message are left to protobuf-c (0, nothing said). */
static void unknown_and_malformed_are_not_its_business(void **state)
{
	/* field 99, length-delimited, not UTF-8; then field 98, fixed64 */
	static const uint8_t unknown[] = { 0x9a, 0x06, 0x02, 0xff, 0x00,
					   0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t cut[] = { 0x0a, 0x10, 0x12, 0x02, 'a' };   /* lengths past the end */
	static const uint8_t group[] = { 0x0b, 0x0c };                 /* start/end group */
	char err[64];
	size_t n;
	uint8_t *p = packed_request("idempotency_key", &n), *q = malloc(n + sizeof(cut));

	(void)state;
	assert_int_equal(check(unknown, sizeof(unknown), err, sizeof(err)), 0);
	assert_int_equal(check(cut, sizeof(cut), err, sizeof(err)), 0);
	assert_int_equal(check(group, sizeof(group), err, sizeof(err)), 0);
	/* a fault before the bad bytes is still found */
	assert_non_null(q);
	replace_mark(p, n, "\0bcdefgh");
	memcpy(q, p, n);
	memcpy(q + n, cut, sizeof(cut));
	assert_int_equal(check(q, n + sizeof(cut), err, sizeof(err)), -1);
	assert_string_equal(err, "idempotency_key contains a NUL character");
	free(q);
	free(p);
}

/* Field number 0 is refused wherever it is: protobuf-c takes it written
 * as 0x80 0x00 and packs it back as 0x00, which it cannot read. */
static void field_number_0(void **state)
{
	/* decision { operation_type "x" (field 2), then 0x80 0x00 0x05 } */
	static const uint8_t nested[] = { 0x0a, 0x06, 0x12, 0x01, 'x', 0x80, 0x00, 0x05 };
	static const uint8_t top[] = { 0x00, 0x05 };
	char err[128];

	(void)state;
	assert_int_equal(check(nested, sizeof(nested), err, sizeof(err)), -2);
	assert_string_equal(err, "decision has a field numbered 0");
	assert_int_equal(check(top, sizeof(top), err, sizeof(err)), -2);
	assert_string_equal(err, "the request has a field numbered 0");
}

/* Thousands of empty decision frames (protobuf-c merges them) walk in
 * order, and a short error buffer is cut, never overrun. */
static void many_frames_and_short_buffers(void **state)
{
	enum { FRAMES = 2000 };
	uint8_t *p = malloc(FRAMES * 2);
	char err[8];
	size_t n;
	uint8_t *q;

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < FRAMES; i++) {
		p[2 * i] = 0x0a;       /* field 1 (decision), length 0 */
		p[2 * i + 1] = 0x00;
	}
	assert_int_equal(check(p, FRAMES * 2, err, sizeof(err)), 0);
	free(p);
	q = packed_request("context[1].value", &n);
	replace_mark(q, n, "\xff" "bcdefgh");
	assert_int_equal(check(q, n, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(well_formed_passes),
		cmocka_unit_test(faults_name_the_field),
		cmocka_unit_test(unknown_and_malformed_are_not_its_business),
		cmocka_unit_test(field_number_0),
		cmocka_unit_test(many_frames_and_short_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
