#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/b64.h"

static void roundtrip_all_lengths(void **state)
{
	uint8_t in[64], out[64];
	char enc[128];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t el = b64_encoded_len(n);
		b64_encode(in, n, enc);
		assert_int_equal(b64_decode(enc, el, out), (long)n);
		assert_memory_equal(in, out, n);
	}
}

static void known_vectors(void **state)
{
	char enc[16];
	uint8_t out[16];

	/* RFC 4648 test vectors, without padding as gRPC sends them. */
	b64_encode((const uint8_t *)"foob", 4, enc);
	assert_memory_equal(enc, "Zm9vYg", 6);
	assert_int_equal(b64_decode("Zm9vYmFy", 8, out), 6);
	assert_memory_equal(out, "foobar", 6);
	/* Padded input is accepted too. */
	assert_int_equal(b64_decode("Zm8=", 4, out), 2);
	assert_memory_equal(out, "fo", 2);
}

static void rejects_garbage(void **state)
{
	uint8_t out[16];

	assert_int_equal(b64_decode("Zm9v!", 5, out), -1);
	assert_int_equal(b64_decode("Z", 1, out), -1);
}

static void percent_encoding(void **state)
{
	char out[64];

	assert_int_equal(pct_encode("a b%c\n", 6, out, sizeof(out)), 10);
	assert_string_equal(out, "a b%25c%0A");
	assert_int_equal(pct_decode("a b%25c%0A", 10, out, sizeof(out)), 6);
	assert_string_equal(out, "a b%c\n");
	/* Malformed escapes pass through unchanged, as the gRPC spec asks. */
	pct_decode("100%zz%4", 8, out, sizeof(out));
	assert_string_equal(out, "100%zz%4");
	/* UTF-8 bytes are escaped byte by byte. */
	pct_encode("\xc3\xa9", 2, out, sizeof(out));
	assert_string_equal(out, "%C3%A9");
}

static void percent_truncates_safely(void **state)
{
	char out[5];

	/* Needs 9 bytes; never splits an escape, always terminates. */
	assert_int_equal(pct_encode("ab\n\n", 4, out, sizeof(out)), 8);
	assert_string_equal(out, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_all_lengths),
		cmocka_unit_test(known_vectors),
		cmocka_unit_test(rejects_garbage),
		cmocka_unit_test(percent_encoding),
		cmocka_unit_test(percent_truncates_safely),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
