/* vcli bench's schedules: the intended start of every request, and the
 * workers at every moment, for const, step and line shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/bench_sched.h"

#define MS(x) ((uint64_t)(x) * 1000000u)
#define S(x) ((uint64_t)(x) * 1000000000u)

/* Within 1 us: the schedule works in doubles. */
static void assert_near(uint64_t got, uint64_t want)
{
	uint64_t d = got > want ? got - want : want - got;

	if (d > 1000)
		fail_msg("got %llu ns, want %llu ns", (unsigned long long)got,
			 (unsigned long long)want);
}

static void rate_const(void **state)
{
	struct sched_spec sp = { SCHED_CONST, 100, 0, 0, 0, 0 };
	struct rate_sched s;
	char err[256];

	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	assert_int_equal(rate_sched_due_ns(&s, 0), 0);
	assert_near(rate_sched_due_ns(&s, 1), MS(10));
	assert_near(rate_sched_due_ns(&s, 250), MS(2500));
	assert_near(rate_sched_due_ns(&s, 100000), S(1000));
	assert_true(rate_sched_rate_at(&s, S(5)) == 100);
	rate_sched_release(&s);

	sp.start = 0.5; /* one request every 2 s */
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	assert_near(rate_sched_due_ns(&s, 3), S(6));
	rate_sched_release(&s);

	sp.start = 0;
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), -1);
}

static void rate_step(void **state)
{
	/* 10 req/s for 1 s, 20 for 1 s, then 30 from 2 s on (the end). */
	struct sched_spec sp = { SCHED_STEP, 10, 30, 10, S(1), 0 };
	struct rate_sched s;
	char err[256];

	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	assert_int_equal(rate_sched_due_ns(&s, 0), 0);
	assert_near(rate_sched_due_ns(&s, 5), MS(500));
	assert_near(rate_sched_due_ns(&s, 10), S(1));      /* 10 done in step 0 */
	assert_near(rate_sched_due_ns(&s, 11), MS(1050));  /* 20 req/s */
	assert_near(rate_sched_due_ns(&s, 30), S(2));      /* 10 + 20 */
	assert_near(rate_sched_due_ns(&s, 60), S(3));      /* then 30 req/s */
	assert_near(rate_sched_due_ns(&s, 90), S(4));
	assert_true(rate_sched_rate_at(&s, MS(1500)) == 20);
	assert_true(rate_sched_rate_at(&s, S(100)) == 30);
	rate_sched_release(&s);

	/* Down from 30 to 10 by 10 every 500 ms. */
	sp = (struct sched_spec){ SCHED_STEP, 30, 10, -10, MS(500), 0 };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	assert_near(rate_sched_due_ns(&s, 15), MS(500));   /* 30 * 0.5 */
	assert_near(rate_sched_due_ns(&s, 25), S(1));      /* + 20 * 0.5 */
	assert_near(rate_sched_due_ns(&s, 35), S(2));      /* + 10 * 1 */
	rate_sched_release(&s);

	/* No end: it rises until max_duration (2.5 s), then holds. */
	sp = (struct sched_spec){ SCHED_STEP, 10, 0, 10, S(1), MS(2500) };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	assert_true(rate_sched_rate_at(&s, MS(2400)) == 30);
	assert_true(rate_sched_rate_at(&s, S(50)) == 30);
	assert_near(rate_sched_due_ns(&s, 60), S(3));
	rate_sched_release(&s);

	/* Starting from 0 req/s: nothing is due in the first step. */
	sp = (struct sched_spec){ SCHED_STEP, 0, 20, 10, S(1), 0 };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	assert_near(rate_sched_due_ns(&s, 0), S(1));
	assert_near(rate_sched_due_ns(&s, 10), S(2));
	rate_sched_release(&s);
}

static void rate_line(void **state)
{
	/* From 10 req/s, +10 req/s every second, up to 50 (reached at 4 s). */
	struct sched_spec sp = { SCHED_LINE, 10, 50, 10, 0, 0 };
	struct rate_sched s;
	char err[256];

	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	/* n(t) = 10 t + 5 t^2: n(1) = 15, n(2) = 40, n(4) = 120. */
	assert_int_equal(rate_sched_due_ns(&s, 0), 0);
	assert_near(rate_sched_due_ns(&s, 15), S(1));
	assert_near(rate_sched_due_ns(&s, 40), S(2));
	assert_near(rate_sched_due_ns(&s, 120), S(4));
	assert_near(rate_sched_due_ns(&s, 170), S(5)); /* then 50 req/s */
	assert_true(rate_sched_rate_at(&s, S(2)) == 30);
	assert_true(rate_sched_rate_at(&s, S(9)) == 50);
	/* Intended starts never go backwards. */
	for (uint64_t i = 1; i < 1000; i++)
		assert_true(rate_sched_due_ns(&s, i) > rate_sched_due_ns(&s, i - 1));
	rate_sched_release(&s);

	/* Down from 100 by 20 per second to 20 (at 4 s): n(4) = 240. */
	sp = (struct sched_spec){ SCHED_LINE, 100, 20, -20, 0, 0 };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	assert_near(rate_sched_due_ns(&s, 90), S(1));  /* 100 - 10 */
	assert_near(rate_sched_due_ns(&s, 240), S(4));
	assert_near(rate_sched_due_ns(&s, 260), S(5));
	rate_sched_release(&s);

	/* From 0 with a 500 ms step duration: slope 20 req/s^2, held at 2 s. */
	sp = (struct sched_spec){ SCHED_LINE, 0, 0, 10, MS(500), S(2) };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), 0);
	assert_int_equal(rate_sched_due_ns(&s, 0), 0);
	assert_near(rate_sched_due_ns(&s, 10), S(1));  /* 10 t^2 */
	assert_near(rate_sched_due_ns(&s, 40), S(2));
	assert_near(rate_sched_due_ns(&s, 80), S(3));  /* then 40 req/s */
	rate_sched_release(&s);
}

static void rate_errors(void **state)
{
	struct rate_sched s;
	char err[256];
	struct sched_spec sp = { SCHED_STEP, 10, 100, 10, 0, 0 };

	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--load-step-duration"));
	sp = (struct sched_spec){ SCHED_LINE, 10, 100, 0, 0, 0 };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--load-step"));
	sp = (struct sched_spec){ SCHED_LINE, 10, 5, 10, 0, 0 };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--load-end 5"));
	sp = (struct sched_spec){ SCHED_LINE, 10, 0, -1, 0, 0 };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs --load-end"));
	sp = (struct sched_spec){ SCHED_STEP, 1, 0, 1, MS(1), 0 };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "steps"));
	sp = (struct sched_spec){ SCHED_STEP, 0, 0, 10, S(1), MS(500) };
	assert_int_equal(rate_sched_init(&s, &sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "stays at 0"));
}

static void concurrency(void **state)
{
	struct sched_spec sp = { SCHED_CONST, 50, 0, 0, 0, 0 };
	char err[256];

	assert_int_equal(conc_sched_check(&sp, err, sizeof(err)), 0);
	assert_int_equal(conc_sched_at(&sp, S(100)), 50);
	assert_int_equal(conc_sched_max(&sp), 50);

	/* 5 workers, +5 every 5 s up to 20. */
	sp = (struct sched_spec){ SCHED_STEP, 5, 20, 5, S(5), 0 };
	assert_int_equal(conc_sched_check(&sp, err, sizeof(err)), 0);
	assert_int_equal(conc_sched_at(&sp, 0), 5);
	assert_int_equal(conc_sched_at(&sp, MS(4999)), 5);
	assert_int_equal(conc_sched_at(&sp, S(5)), 10);
	assert_int_equal(conc_sched_at(&sp, S(15)), 20);
	assert_int_equal(conc_sched_at(&sp, S(60)), 20);
	assert_int_equal(conc_sched_max(&sp), 20);

	/* Max duration 10 s: the step due at 10 s never comes. */
	sp = (struct sched_spec){ SCHED_STEP, 5, 0, 5, S(5), S(10) };
	assert_int_equal(conc_sched_check(&sp, err, sizeof(err)), 0);
	assert_int_equal(conc_sched_at(&sp, S(7)), 10);
	assert_int_equal(conc_sched_at(&sp, S(30)), 10);
	assert_int_equal(conc_sched_max(&sp), 10);

	/* Line: 20 down by 2 a second to 4, one worker at a time. */
	sp = (struct sched_spec){ SCHED_LINE, 20, 4, -2, 0, 0 };
	assert_int_equal(conc_sched_check(&sp, err, sizeof(err)), 0);
	assert_int_equal(conc_sched_at(&sp, MS(500)), 19);
	assert_int_equal(conc_sched_at(&sp, S(1)), 18);
	assert_int_equal(conc_sched_at(&sp, S(100)), 4);
	assert_int_equal(conc_sched_max(&sp), 20);

	sp = (struct sched_spec){ SCHED_LINE, 1, 0, 1, 0, 0 };
	assert_int_equal(conc_sched_check(&sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--concurrency-end"));
	sp = (struct sched_spec){ SCHED_CONST, 0, 0, 0, 0, 0 };
	assert_int_equal(conc_sched_check(&sp, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rate_const),
		cmocka_unit_test(rate_step),
		cmocka_unit_test(rate_line),
		cmocka_unit_test(rate_errors),
		cmocka_unit_test(concurrency),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
