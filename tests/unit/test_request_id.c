#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vcli/client.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The 12 hex digits after the prefix, as a number. */
static uint64_t stamp(const char *id, size_t plen)
{
	char t[13];

	memcpy(t, id + plen, 12);
	t[12] = '\0';
	return strtoull(t, NULL, 16);
}

static void form_and_time(void **state)
{
	char id[VCLI_REQUEST_ID_MAX];
	uint64_t before = now_ms(), after;

	(void)state;
	assert_int_equal(vcli_request_id("vcli-", id, sizeof(id)), VCLI_OK);
	after = now_ms();
	assert_int_equal(strlen(id), 5 + 32);
	assert_memory_equal(id, "vcli-", 5);
	for (size_t i = 5; i < strlen(id); i++)
		assert_non_null(strchr("0123456789abcdef", id[i]));
	assert_true(stamp(id, 5) >= before && stamp(id, 5) <= after);
	/* No prefix, and the exact room for one. */
	assert_int_equal(vcli_request_id(NULL, id, 33), VCLI_OK);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(vcli_request_id("", id, 33), VCLI_OK);
	assert_int_equal(strlen(id), 32);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void sorted_by_time_and_distinct(void **state)
{
	enum { N = 20000 };
	char (*ids)[VCLI_REQUEST_ID_MAX] = calloc(N, sizeof(*ids));

	(void)state;
	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		assert_int_equal(vcli_request_id("r-", ids[i], sizeof(ids[i])), VCLI_OK);
		if (i)
			assert_true(stamp(ids[i], 2) >= stamp(ids[i - 1], 2));
	}
	qsort(ids, N, sizeof(*ids), by_text);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(ids[i], ids[i - 1]);
	free(ids);
}

static void refused(void **state)
{
	char id[VCLI_REQUEST_ID_MAX], longp[VCLI_REQUEST_ID_PREFIX_MAX + 2];

	(void)state;
	assert_int_equal(vcli_request_id("vcli-", NULL, 64), VCLI_E_INVALID);
	assert_int_equal(vcli_request_id("vcli-", id, 5 + 32), VCLI_E_INVALID);
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(vcli_request_id(longp, id, sizeof(id)), VCLI_E_INVALID);
	longp[VCLI_REQUEST_ID_PREFIX_MAX] = '\0';
	assert_int_equal(vcli_request_id(longp, id, sizeof(id)), VCLI_OK);
	assert_int_equal(strlen(id), VCLI_REQUEST_ID_PREFIX_MAX + 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(form_and_time),
		cmocka_unit_test(sorted_by_time_and_distinct),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
