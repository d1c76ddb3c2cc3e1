/* Unit tests: the audit chain's canonical form and hash
 * (src/common/audit_chain.c).  The expected hashes were computed with
 * Python's hashlib from the format docs/security.md states, so the C code,
 * the document and any outside verifier agree; a change to the format
 * breaks every chain already written and must fail here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/audit_chain.h"

static void pinned_vectors(void **state)
{
	struct audit_fields a = { 1795745878443, "alice", "operator", "decision.approve", "OK",
				  "d-1", "session=s-1" };
	struct audit_fields b = { 1795745878444, "bot", "producer", "decision.submit",
				  "DENIED", "", "role: x\nwith newline" };
	struct audit_fields empty = { -5, NULL, NULL, NULL, NULL, NULL, NULL };
	struct audit_fields utf8 = { 1795745878443, "\xc3\xbc" "n" "\xc3\xaf" "code", "operator", "a",
				     "OK", "d-1", "" };
	char ha[AUDIT_HASH_HEX + 1], hb[AUDIT_HASH_HEX + 1], h[AUDIT_HASH_HEX + 1];

	assert_int_equal(audit_chain_hash(audit_chain_genesis, &a, ha), 0);
	assert_string_equal(ha, "16bd093276395692d9e1c503473298b1a0e1c72c19cb8e881a6962b3ff3ec2e9");
	assert_int_equal(audit_chain_hash(ha, &b, hb), 0);
	assert_string_equal(hb, "0838e740ce3702ca0d8036779863ee18cd5bfc1e6a4de9e9fe2cb3fe777faf81");
	/* NULL fields are empty ones; negative times are decimal too. */
	assert_int_equal(audit_chain_hash(hb, &empty, h), 0);
	assert_string_equal(h, "527e185e0c4bfb5654f152a95ba272303f529bd94a1fdafd92b58d8afc629a9f");
	/* Lengths count bytes, not characters. */
	assert_int_equal(audit_chain_hash(audit_chain_genesis, &utf8, h), 0);
	assert_string_equal(h, "e3724132c854653e15c9a90a1e2785bc7029c0e72e135c1ee61f15ed4bdef6fb");
}

static void boundaries_between_fields_count(void **state)
{
	/* "alic" + "eoperator" has the bytes of "alice" + "operator": the
	 * length prefixes keep them apart. */
	struct audit_fields moved = { 1795745878443, "alic", "eoperator", "decision.approve",
				      "OK", "d-1", "session=s-1" };
	char h[AUDIT_HASH_HEX + 1];

	assert_int_equal(audit_chain_hash(audit_chain_genesis, &moved, h), 0);
	assert_string_equal(h, "0da334be7482d9c9e5bf8a896a2de968bb2aa7a34e9aa0eb081babdacb7b908c");
}

static void long_fields_and_helpers(void **state)
{
	static char detail[5000];
	struct audit_fields f = { 1, "a", "b", "c", "OK", "s", detail };
	char h1[AUDIT_HASH_HEX + 1], h2[AUDIT_HASH_HEX + 1];
	uint8_t raw[32];
	char hex[65];

	/* Longer than the stack buffer: the heap path gives the same kind
	 * of answer, and one byte more changes it. */
	memset(detail, 'x', sizeof(detail) - 1);
	assert_int_equal(audit_chain_hash(audit_chain_genesis, &f, h1), 0);
	assert_true(audit_chain_is_hash(h1));
	detail[sizeof(detail) - 2] = 'y';
	assert_int_equal(audit_chain_hash(audit_chain_genesis, &f, h2), 0);
	assert_string_not_equal(h1, h2);

	assert_true(audit_chain_is_hash(audit_chain_genesis));
	assert_false(audit_chain_is_hash("abc"));
	assert_false(audit_chain_is_hash(NULL));
	assert_false(audit_chain_is_hash("G000000000000000000000000000000000000000000000000000000000000000"));
	assert_int_equal(audit_sha256("abc", 3, raw), 0);
	audit_hex(raw, sizeof(raw), hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pinned_vectors),
		cmocka_unit_test(boundaries_between_fields_count),
		cmocka_unit_test(long_fields_and_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
