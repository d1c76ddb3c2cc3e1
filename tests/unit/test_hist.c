/* The log-linear histogram: every percentile within 1 % of the exact one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <cmocka.h>

#include "common/hist.h"

static uint64_t rng_state = 12345;

static uint64_t next_rand(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The exact percentile by the same definition: the value of rank
 * ceil(p/100 * n). */
static uint64_t exact(const uint64_t *sorted, size_t n, double p)
{
	double want = p / 100.0 * (double)n;
	size_t rank = (size_t)want;

	if ((double)rank < want)
		rank++;
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static void check_error_bound(uint64_t (*gen)(void), size_t n)
{
	static const double ps[] = { 0.1, 1, 10, 25, 50, 75, 90, 95, 99,
				     99.9, 99.99 };
	uint64_t *v = malloc(n * sizeof(*v));
	struct hist h;

	assert_non_null(v);
	assert_int_equal(hist_init(&h), 0);
	for (size_t i = 0; i < n; i++) {
		v[i] = gen();
		hist_record(&h, v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	assert_int_equal(h.count, n);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[n - 1]);
	assert_int_equal(hist_percentile(&h, 0), v[0]);
	assert_int_equal(hist_percentile(&h, 100), v[n - 1]);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t want = exact(v, n, ps[i]);
		uint64_t got = hist_percentile(&h, ps[i]);
		double diff = got > want ? (double)(got - want) : (double)(want - got);

		/* Documented bound: half a bucket, 1/256 of the value. */
		assert_true(diff <= (double)want / 256.0 + 0.5);
		assert_true(diff <= (double)want * 0.01 + 0.5);
	}
	hist_release(&h);
	free(v);
}

/* Latencies from 1 us to 10 s, spread evenly on a log scale. */
static uint64_t log_uniform(void)
{
	double u = (double)(next_rand() >> 11) / 9007199254740992.0;

	return (uint64_t)(1000.0 * pow(10.0, u * 7.0));
}

/* Small values, where the buckets are exact. */
static uint64_t small(void)
{
	return next_rand() % 300;
}

/* Huge values, up to the top of the range. */
static uint64_t huge(void)
{
	return next_rand() | (UINT64_C(1) << 63);
}

static void percentiles_log_uniform(void **state)
{
	check_error_bound(log_uniform, 100000);
}

static void percentiles_small_exact(void **state)
{
	check_error_bound(small, 10000);
}

static void percentiles_huge(void **state)
{
	check_error_bound(huge, 10000);
}

static void buckets_cover_the_range(void **state)
{
	/* Every bucket's bounds map back to it, and buckets tile the
	 * numbers without gaps. */
	for (size_t i = 0; i + 1 < HIST_NBUCKETS; i++) {
		uint64_t lo = hist_bucket_low(i), w = hist_bucket_width(i);

		assert_int_equal(hist_bucket(lo), i);
		assert_int_equal(hist_bucket(lo + w - 1), i);
		assert_int_equal(hist_bucket_low(i + 1), lo + w);
		/* Never wider than 1/128 of the lower bound. */
		if (lo >= 128)
			assert_true(w * 128 <= lo);
	}
	assert_int_equal(hist_bucket(UINT64_MAX), HIST_NBUCKETS - 1);
}

static void merge_and_mean(void **state)
{
	struct hist a, b;

	assert_int_equal(hist_init(&a), 0);
	assert_int_equal(hist_init(&b), 0);
	assert_int_equal(hist_percentile(&a, 50), 0);
	assert_true(hist_mean(&a) == 0.0);
	hist_record(&a, 10);
	hist_record(&a, 20);
	hist_record(&b, 30);
	hist_record(&b, 1000000);
	hist_merge(&a, &b);
	assert_int_equal(a.count, 4);
	assert_int_equal(a.min, 10);
	assert_int_equal(a.max, 1000000);
	assert_true(hist_mean(&a) == (10 + 20 + 30 + 1000000) / 4.0);
	assert_int_equal(hist_percentile(&a, 50), 20);
	assert_int_equal(hist_percentile(&a, 75), 30);
	hist_reset(&a);
	assert_int_equal(a.count, 0);
	hist_release(&a);
	hist_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(percentiles_log_uniform),
		cmocka_unit_test(percentiles_small_exact),
		cmocka_unit_test(percentiles_huge),
		cmocka_unit_test(buckets_cover_the_range),
		cmocka_unit_test(merge_and_mean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
