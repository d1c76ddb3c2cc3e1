#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"

static void append_and_cap(void **state)
{
	buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "abcd", 4), 0);
	assert_int_equal(buf_append(&b, "efgh", 4), 0);
	/* The cap is hard: one more byte fails and changes nothing. */
	assert_int_equal(buf_append(&b, "i", 1), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_cstr(&b), "abcdefgh");
	buf_release(&b);
}

static void consume_and_detach(void **state)
{
	buf b = BUF_INIT(1024);
	uint8_t *p;
	size_t n;

	assert_int_equal(buf_printf(&b, "%s-%d", "x", 42), 0);
	assert_string_equal(buf_cstr(&b), "x-42");
	buf_consume(&b, 2);
	assert_string_equal(buf_cstr(&b), "42");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_append(&b, "zz", 2), 0);
	p = buf_detach(&b, &n);
	assert_int_equal(n, 2);
	assert_null(b.data);
	free(p);
	buf_release(&b);
}

static void printf_respects_cap(void **state)
{
	buf b = BUF_INIT(4);

	assert_int_equal(buf_printf(&b, "%s", "12345"), -1);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_and_cap),
		cmocka_unit_test(consume_and_detach),
		cmocka_unit_test(printf_respects_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
