#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/timeutil.h"

static void durations(void **state)
{
	uint64_t ms;

	assert_int_equal(duration_parse_ms("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(duration_parse_ms("1.5s", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(duration_parse_ms("2m", &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(duration_parse_ms("1h", &ms), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(duration_parse_ms("1m30s", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(duration_parse_ms("30d", &ms), 0);
	assert_int_equal(ms, 30ull * 86400000);
	assert_int_equal(duration_parse_ms("1d12h", &ms), 0);
	assert_int_equal(ms, 36ull * 3600000);
	assert_int_equal(duration_parse_ms("1500us", &ms), 0);
	assert_int_equal(ms, 2);
	/* A unit is required, and what rounds to nothing is refused. */
	assert_int_equal(duration_parse_ms("3", &ms), -1);
	assert_int_equal(duration_parse_ms("1us", &ms), -1);
	assert_int_equal(duration_parse_ms("0s", &ms), -1);
	assert_int_equal(duration_parse_ms("-1s", &ms), -1);
	assert_int_equal(duration_parse_ms("5 s", &ms), -1);
	assert_int_equal(duration_parse_ms("s", &ms), -1);
	assert_int_equal(duration_parse_ms("1w", &ms), -1);
	assert_int_equal(duration_parse_ms("", &ms), -1);
	assert_int_equal(duration_parse_ms("inf", &ms), -1);
	assert_int_equal(duration_parse_ms("1e30h", &ms), -1);
}

static void formats(void **state)
{
	char out[32];

	duration_format(3723000, out, sizeof(out));
	assert_string_equal(out, "1h2m3s");
	duration_format(45000, out, sizeof(out));
	assert_string_equal(out, "45s");
	duration_format(120, out, sizeof(out));
	assert_string_equal(out, "120ms");
	duration_format(1500, out, sizeof(out));
	assert_string_equal(out, "1.5s");
}

static void grpc_timeouts(void **state)
{
	uint64_t ns;
	char out[16];

	assert_int_equal(grpc_timeout_parse("100m", 4, &ns), 0);
	assert_int_equal(ns, 100000000ull);
	assert_int_equal(grpc_timeout_parse("5S", 2, &ns), 0);
	assert_int_equal(ns, 5000000000ull);
	assert_int_equal(grpc_timeout_parse("99999999H", 9, &ns), 0);
	assert_true(ns > 0);
	assert_int_equal(grpc_timeout_parse("123456789m", 10, &ns), -1); /* 9 digits */
	assert_int_equal(grpc_timeout_parse("10x", 3, &ns), -1);
	assert_int_equal(grpc_timeout_parse("m", 1, &ns), -1);
	assert_int_equal(grpc_timeout_parse("1-m", 3, &ns), -1);
	grpc_timeout_format(250, out, sizeof(out));
	assert_string_equal(out, "250m");
	grpc_timeout_format(200000000ull, out, sizeof(out));
	assert_string_equal(out, "200000S");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations),
		cmocka_unit_test(formats),
		cmocka_unit_test(grpc_timeouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
