/*
 * Unit tests: the client's resilience, pure parts (src/rpc/resil.c) —
 * back-off caps and full-jitter bounds, the retry decision, and the
 * circuit breaker's state machine driven by an injected clock.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rpc/resil.h"

static vcli_backoff reconnect_defaults(void)
{
	vcli_backoff b = { 0, 0, 0 };

	resil_backoff_normalize(&b, RESIL_RECONNECT_INITIAL_MS,
				RESIL_RECONNECT_MULTIPLIER, RESIL_RECONNECT_MAX_MS);
	return b;
}

static void test_normalize(void **state)
{
	vcli_backoff b = reconnect_defaults();
	vcli_backoff odd = { 500, 100, 0.5 };
	vcli_backoff nan_mult = { 10, 20, NAN };

	(void)state;
	/* gRPC's connection-backoff: 1 s, x1.6, 120 s. */
	assert_int_equal(b.initial_ms, 1000);
	assert_int_equal(b.max_ms, 120000);
	assert_true(b.multiplier == 1.6);
	/* A max below the initial and a shrinking multiplier are lifted. */
	resil_backoff_normalize(&odd, 1, 2.0, 1000);
	assert_int_equal(odd.initial_ms, 500);
	assert_int_equal(odd.max_ms, 500);
	assert_true(odd.multiplier == 1.0);
	resil_backoff_normalize(&nan_mult, 1, 2.0, 1000);
	assert_true(nan_mult.multiplier == 2.0);
}

static void test_cap_schedule(void **state)
{
	vcli_backoff b = reconnect_defaults();
	vcli_backoff flat = { 200, 5000, 1.0 };
	const uint32_t want[] = { 1000, 1600, 2560, 4096, 6553, 10485 };

	(void)state;
	for (uint32_t n = 1; n <= 6; n++)
		assert_int_equal(resil_backoff_cap(&b, n), want[n - 1]);
	/* Grows to the max and stays there, however many failures. */
	assert_int_equal(resil_backoff_cap(&b, 12), 120000);
	assert_int_equal(resil_backoff_cap(&b, 1000), 120000);
	assert_int_equal(resil_backoff_cap(&b, UINT32_MAX), 120000);
	assert_int_equal(resil_backoff_cap(&b, 0), 1000);
	assert_int_equal(resil_backoff_cap(&flat, 40), 200);
}

static void test_full_jitter_bounds(void **state)
{
	vcli_backoff b = reconnect_defaults();
	uint64_t rng = 42;

	(void)state;
	for (uint32_t n = 1; n <= 14; n++) {
		uint32_t cap = resil_backoff_cap(&b, n), lo = UINT32_MAX, hi = 0;
		double sum = 0;

		for (int i = 0; i < 2000; i++) {
			uint32_t d = resil_backoff_delay(&b, n, &rng);

			assert_true(d <= cap);
			if (d < lo)
				lo = d;
			if (d > hi)
				hi = d;
			sum += d;
		}
		/* Full jitter: the whole of [0, cap], mean near cap / 2. */
		assert_true(lo < cap / 20 + 1);
		assert_true(hi > cap - cap / 20 - 1);
		assert_true(fabs(sum / 2000 - cap / 2.0) < cap * 0.05 + 1);
	}
}

static void test_rand_differs_by_seed(void **state)
{
	uint64_t a = 1, b = 2;

	(void)state;
	assert_true(resil_rand(&a) != resil_rand(&b));
	assert_true(a != 0 && b != 0);
}

static vcli_retry_policy retry_defaults(void)
{
	vcli_retry_policy p;

	memset(&p, 0, sizeof(p));
	p.max_attempts = RESIL_RETRY_ATTEMPTS;
	p.retry_codes = VCLI_RETRY_CODE(VCLI_STATUS_UNAVAILABLE);
	resil_backoff_normalize(&p.backoff, RESIL_RETRY_INITIAL_MS,
				RESIL_RETRY_MULTIPLIER, RESIL_RETRY_MAX_MS);
	return p;
}

static void test_retry_decision(void **state)
{
	vcli_retry_policy p = retry_defaults();
	uint64_t rng = 7, now = 50000, at;

	(void)state;
	/* Not marked retry-safe: never, whatever the status. */
	assert_int_equal(resil_retry_at(&p, 0, VCLI_STATUS_UNAVAILABLE, 1, now, 0, &rng), 0);
	/* OK and statuses outside the policy: never. */
	assert_int_equal(resil_retry_at(&p, 1, VCLI_STATUS_OK, 1, now, 0, &rng), 0);
	assert_int_equal(resil_retry_at(&p, 1, VCLI_STATUS_INTERNAL, 1, now, 0, &rng), 0);
	assert_int_equal(resil_retry_at(&p, 1, VCLI_STATUS_FAILED_PRECONDITION, 1, now, 0, &rng), 0);
	/* DEADLINE_EXCEEDED never, even when asked for. */
	p.retry_codes |= VCLI_RETRY_CODE(VCLI_STATUS_DEADLINE_EXCEEDED);
	assert_int_equal(resil_retry_at(&p, 1, VCLI_STATUS_DEADLINE_EXCEEDED, 1, now, 0, &rng), 0);
	/* UNAVAILABLE: after attempt n, within [now, now + cap(n)]. */
	for (uint32_t n = 1; n < p.max_attempts; n++) {
		for (int i = 0; i < 200; i++) {
			at = resil_retry_at(&p, 1, VCLI_STATUS_UNAVAILABLE, n, now, 0, &rng);
			assert_true(at >= now);
			assert_true(at <= now + resil_backoff_cap(&p.backoff, n));
		}
	}
	/* Attempts used up. */
	assert_int_equal(resil_retry_at(&p, 1, VCLI_STATUS_UNAVAILABLE, p.max_attempts,
					now, 0, &rng), 0);
	/* The deadline bounds every attempt: none that would start at or
	 * after it. */
	assert_int_equal(resil_retry_at(&p, 1, VCLI_STATUS_UNAVAILABLE, 1, now, now, &rng), 0);
	for (int i = 0; i < 200; i++) {
		at = resil_retry_at(&p, 1, VCLI_STATUS_UNAVAILABLE, 3, now, now + 150, &rng);
		assert_true(at == 0 || (at >= now && at < now + 150));
	}
	/* Another status, when the policy names it. */
	p.retry_codes |= VCLI_RETRY_CODE(VCLI_STATUS_ABORTED);
	assert_true(resil_retry_at(&p, 1, VCLI_STATUS_ABORTED, 1, now, 0, &rng) >= now);
	/* max_attempts 1: no retries. */
	p.max_attempts = 1;
	assert_int_equal(resil_retry_at(&p, 1, VCLI_STATUS_UNAVAILABLE, 1, now, 0, &rng), 0);
}

static void test_breaker_opens_at_threshold(void **state)
{
	vcli_breaker_policy pol = { 3, 1000, 0 };
	struct resil_breaker b;
	uint64_t t = 10000;

	(void)state;
	resil_breaker_init(&b, &pol);
	assert_int_equal(resil_breaker_state(&b, t), VCLI_CIRCUIT_CLOSED);
	assert_int_equal(resil_breaker_admit(&b, t), RESIL_ADMIT);
	/* Failures in a row; a success in between starts the count over. */
	assert_int_equal(resil_breaker_failure(&b, t), 0);
	assert_int_equal(resil_breaker_failure(&b, t), 0);
	resil_breaker_success(&b);
	assert_int_equal(b.failures, 0);
	assert_int_equal(resil_breaker_failure(&b, t), 0);
	assert_int_equal(resil_breaker_failure(&b, t), 0);
	assert_int_equal(resil_breaker_state(&b, t), VCLI_CIRCUIT_CLOSED);
	assert_int_equal(resil_breaker_failure(&b, t + 5), 1);
	assert_int_equal(resil_breaker_state(&b, t + 5), VCLI_CIRCUIT_OPEN);
	/* Open: every call fails fast until the cool-down has passed. */
	assert_int_equal(resil_breaker_admit(&b, t + 5), RESIL_REJECT);
	assert_int_equal(resil_breaker_admit(&b, t + 1004), RESIL_REJECT);
	/* A late failure of a call sent before it opened does not push the
	 * probe back. */
	resil_breaker_failure(&b, t + 500);
	assert_int_equal(b.open_until, t + 1005);
	assert_int_equal(resil_breaker_state(&b, t + 1005), VCLI_CIRCUIT_HALF_OPEN);
}

static void test_breaker_probe(void **state)
{
	vcli_breaker_policy pol = { 2, 1000, 0 };
	struct resil_breaker b;
	uint64_t t = 0;

	(void)state;
	resil_breaker_init(&b, &pol);
	resil_breaker_failure(&b, t);
	resil_breaker_failure(&b, t);
	/* Half-open: one probe, the rest fail fast while it is out. */
	t = 1000;
	assert_int_equal(resil_breaker_admit(&b, t), RESIL_ADMIT_PROBE);
	assert_int_equal(resil_breaker_admit(&b, t), RESIL_REJECT);
	assert_int_equal(resil_breaker_admit(&b, t + 3000), RESIL_REJECT);
	/* The probe fails: open again, a full cool-down from then. */
	t = 1300;
	assert_int_equal(resil_breaker_failure(&b, t), 0);
	assert_int_equal(resil_breaker_state(&b, t), VCLI_CIRCUIT_OPEN);
	assert_int_equal(resil_breaker_admit(&b, t + 999), RESIL_REJECT);
	/* Next probe ends without telling (cancelled): another may go. */
	assert_int_equal(resil_breaker_admit(&b, t + 1000), RESIL_ADMIT_PROBE);
	resil_breaker_probe_void(&b);
	assert_int_equal(resil_breaker_state(&b, t + 1000), VCLI_CIRCUIT_HALF_OPEN);
	assert_int_equal(resil_breaker_admit(&b, t + 1001), RESIL_ADMIT_PROBE);
	/* It succeeds: closed, calls flow, the count starts over. */
	resil_breaker_success(&b);
	assert_int_equal(resil_breaker_state(&b, t + 1001), VCLI_CIRCUIT_CLOSED);
	assert_int_equal(resil_breaker_admit(&b, t + 1001), RESIL_ADMIT);
	assert_int_equal(resil_breaker_admit(&b, t + 1001), RESIL_ADMIT);
	assert_int_equal(b.failures, 0);
	assert_int_equal(resil_breaker_failure(&b, t + 2000), 0);
	assert_int_equal(resil_breaker_state(&b, t + 2000), VCLI_CIRCUIT_CLOSED);
	assert_int_equal(b.opened, 1);
}

static void test_breaker_defaults_and_off(void **state)
{
	vcli_breaker_policy zero = { 0, 0, 0 }, off = { 1, 1, 1 };
	struct resil_breaker b;

	(void)state;
	resil_breaker_init(&b, &zero);
	assert_int_equal(b.p.threshold, RESIL_BREAKER_THRESHOLD);
	assert_int_equal(b.p.cooldown_ms, RESIL_BREAKER_COOLDOWN_MS);
	for (int i = 0; i < RESIL_BREAKER_THRESHOLD - 1; i++)
		assert_int_equal(resil_breaker_failure(&b, 0), 0);
	assert_int_equal(resil_breaker_failure(&b, 0), 1);
	assert_int_equal(resil_breaker_admit(&b, RESIL_BREAKER_COOLDOWN_MS - 1), RESIL_REJECT);
	assert_int_equal(resil_breaker_admit(&b, RESIL_BREAKER_COOLDOWN_MS), RESIL_ADMIT_PROBE);
	/* Off: counts, never opens, never refuses. */
	resil_breaker_init(&b, &off);
	for (int i = 0; i < 100; i++)
		assert_int_equal(resil_breaker_failure(&b, 0), 0);
	assert_int_equal(b.failures, 100);
	assert_int_equal(resil_breaker_admit(&b, 0), RESIL_ADMIT);
	assert_int_equal(resil_breaker_state(&b, 0), VCLI_CIRCUIT_CLOSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_cap_schedule),
		cmocka_unit_test(test_full_jitter_bounds),
		cmocka_unit_test(test_rand_differs_by_seed),
		cmocka_unit_test(test_retry_decision),
		cmocka_unit_test(test_breaker_opens_at_threshold),
		cmocka_unit_test(test_breaker_probe),
		cmocka_unit_test(test_breaker_defaults_and_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
