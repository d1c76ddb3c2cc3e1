/* The Prometheus exposition writer: escaping, names, numbers, histograms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "common/prom.h"

static char text[8192];

static const char *render(buf *b)
{
	size_t n = b->len < sizeof(text) - 1 ? b->len : sizeof(text) - 1;

	memcpy(text, b->data, n);
	text[n] = '\0';
	return text;
}

static void test_family_and_samples(void **state)
{
	buf b = BUF_INIT(1 << 16);
	prom p;
	const char *l[] = { "method", "Get", "code", "OK", NULL };

	(void)state;
	prom_init(&p, &b);
	prom_family(&p, "x_total", "counter", "Things counted.");
	prom_sample_u64(&p, "x_total", l, 18446744073709551615ull);
	prom_sample_u64(&p, "x_total", NULL, 0);
	assert_int_equal(prom_error(&p), PROM_OK);
	assert_string_equal(render(&b), "# HELP x_total Things counted.\n"
					"# TYPE x_total counter\n"
					"x_total{method=\"Get\",code=\"OK\"} 18446744073709551615\n"
					"x_total 0\n");
	buf_release(&b);
}

static void test_label_escaping(void **state)
{
	buf b = BUF_INIT(1 << 16);
	prom p;
	const char *l[] = { "v", "a\\b\"c\nd", NULL };

	(void)state;
	prom_init(&p, &b);
	prom_sample_u64(&p, "m", l, 1);
	assert_string_equal(render(&b), "m{v=\"a\\\\b\\\"c\\nd\"} 1\n");
	/* UTF-8 passes unchanged; an empty value is an empty string. */
	buf_reset(&b);
	{
		const char *u[] = { "who", "Zoë ✓", "empty", "", NULL };
		prom_sample_u64(&p, "m", u, 2);
	}
	assert_string_equal(render(&b), "m{who=\"Zoë ✓\",empty=\"\"} 2\n");
	buf_release(&b);
}

static void test_help_escaping(void **state)
{
	buf b = BUF_INIT(1 << 16);
	prom p;

	(void)state;
	prom_init(&p, &b);
	/* In help text a backslash and a newline are escaped; quotes are not. */
	prom_family(&p, "m", "gauge", "a \"q\" \\ b\nc");
	assert_string_equal(render(&b), "# HELP m a \"q\" \\\\ b\\nc\n# TYPE m gauge\n");
	buf_release(&b);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(prom_metric_name_ok("grpc_server_handled_total"));
	assert_true(prom_metric_name_ok("job:rate5m"));
	assert_true(prom_metric_name_ok("_x"));
	assert_false(prom_metric_name_ok("1x"));
	assert_false(prom_metric_name_ok(""));
	assert_false(prom_metric_name_ok("a-b"));
	assert_false(prom_metric_name_ok("a b"));
	assert_true(prom_label_name_ok("grpc_code"));
	assert_false(prom_label_name_ok("__name__"));
	assert_false(prom_label_name_ok("a:b"));
	assert_false(prom_label_name_ok("9"));
}

static void test_bad_names_fail(void **state)
{
	buf b = BUF_INIT(1 << 16);
	prom p;
	const char *l[] = { "bad-label", "x", NULL };

	(void)state;
	prom_init(&p, &b);
	prom_sample_u64(&p, "ok_name", l, 1);
	assert_int_equal(prom_error(&p), PROM_E_NAME);
	prom_init(&p, &b);
	prom_family(&p, "bad name", "gauge", "h");
	assert_int_equal(prom_error(&p), PROM_E_NAME);
	prom_init(&p, &b);
	prom_family(&p, "m", "summary", "h");
	assert_int_equal(prom_error(&p), PROM_E_TYPE);
	buf_release(&b);
}

static void test_numbers(void **state)
{
	buf b = BUF_INIT(1 << 16);
	prom p;

	(void)state;
	prom_init(&p, &b);
	prom_sample(&p, "a", NULL, 120.0);
	prom_sample(&p, "b", NULL, 0.005);
	prom_sample(&p, "c", NULL, 0.1 + 0.2);
	prom_sample(&p, "d", NULL, NAN);
	prom_sample(&p, "e", NULL, INFINITY);
	prom_sample(&p, "f", NULL, -INFINITY);
	prom_sample(&p, "g", NULL, 1795749745.42);
	prom_sample(&p, "h", NULL, -3.0);
	prom_sample(&p, "i", NULL, 1e-9);
	assert_string_equal(render(&b), "a 120\nb 0.005\nc 0.30000000000000004\nd NaN\ne +Inf\n"
					"f -Inf\ng 1795749745.42\nh -3\ni 1e-09\n");
	buf_release(&b);
}

static void test_histogram(void **state)
{
	buf b = BUF_INIT(1 << 16);
	prom p;
	const double bounds[] = { 0.005, 0.25, 10 };
	const uint64_t slots[] = { 3, 0, 2, 1 };
	const char *l[] = { "m", "x", NULL };

	(void)state;
	prom_init(&p, &b);
	prom_histogram(&p, "lat_seconds", l, bounds, 3, slots, 12.5);
	assert_int_equal(prom_error(&p), PROM_OK);
	assert_string_equal(render(&b), "lat_seconds_bucket{m=\"x\",le=\"0.005\"} 3\n"
					"lat_seconds_bucket{m=\"x\",le=\"0.25\"} 3\n"
					"lat_seconds_bucket{m=\"x\",le=\"10\"} 5\n"
					"lat_seconds_bucket{m=\"x\",le=\"+Inf\"} 6\n"
					"lat_seconds_sum{m=\"x\"} 12.5\n"
					"lat_seconds_count{m=\"x\"} 6\n");
	buf_reset(&b);
	prom_histogram(&p, "h", NULL, bounds, 1, slots, 0);
	assert_string_equal(render(&b), "h_bucket{le=\"0.005\"} 3\nh_bucket{le=\"+Inf\"} 3\n"
					"h_sum 0\nh_count 3\n");
	buf_release(&b);
}

static void test_cap(void **state)
{
	buf b = BUF_INIT(40);
	prom p;

	(void)state;
	prom_init(&p, &b);
	prom_family(&p, "a_long_metric_name_total", "counter", "Help that does not fit.");
	prom_sample_u64(&p, "x", NULL, 1);
	assert_int_equal(prom_error(&p), PROM_E_FULL);
	assert_true(b.len <= 40);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_help_escaping),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_names_fail),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
