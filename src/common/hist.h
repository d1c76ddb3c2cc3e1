/*
 * Private: a log-linear histogram of non-negative 64-bit values (latencies
 * in nanoseconds), in the manner of HdrHistogram.
 *
 * Values below 128 have a bucket each.  Above, every power of two
 * [2^e, 2^(e+1)) is cut into 128 buckets of equal width 2^(e-7), so a
 * bucket is never wider than 1/128 of its lower bound.  A percentile is
 * reported as the middle of its bucket (clamped to the exact min and max),
 * which is within 1/256 (0.4 %) of the value it stands for.  Recording is a
 * shift and an increment; memory is fixed (HIST_NBUCKETS counters, about
 * 58 KiB) whatever is recorded.  Count, sum, min and max are exact.
 */
#ifndef VCLI_COMMON_HIST_H
#define VCLI_COMMON_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
/* 128 exact buckets, then 128 for each exponent 7..63. */
#define HIST_NBUCKETS (HIST_SUB_COUNT * (64 - HIST_SUB_BITS + 1))

struct hist {
	uint64_t *counts;  /* HIST_NBUCKETS */
	uint64_t count;
	uint64_t sum;      /* saturates at UINT64_MAX (585 years of ns) */
	uint64_t min, max; /* min is UINT64_MAX while empty */
};

/* Allocates the buckets.  Returns 0, or -1 when memory ran out.  Release
 * with hist_release(). */
int hist_init(struct hist *h);
void hist_release(struct hist *h);
void hist_reset(struct hist *h);

static inline size_t hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB_COUNT)
		return (size_t)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return (size_t)(e - HIST_SUB_BITS + 1) * HIST_SUB_COUNT +
	       (size_t)(v >> (e - HIST_SUB_BITS)) - HIST_SUB_COUNT;
}

static inline void hist_record(struct hist *h, uint64_t v)
{
	h->counts[hist_bucket(v)]++;
	h->count++;
	h->sum = h->sum + v < h->sum ? UINT64_MAX : h->sum + v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* The smallest value of bucket i and the number of values it holds. */
uint64_t hist_bucket_low(size_t i);
uint64_t hist_bucket_width(size_t i);

/* Adds src's values to dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * The value at percentile p (0 to 100): the smallest recorded value v such
 * that at least p % of the values are <= v, within the bucket error above.
 * p <= 0 gives the min, p >= 100 the max; an empty histogram gives 0.
 */
uint64_t hist_percentile(const struct hist *h, double p);

/* The exact mean; 0 when empty. */
double hist_mean(const struct hist *h);

#endif
