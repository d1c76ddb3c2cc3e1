/*
 * vcli: a log-linear histogram (see hist.h).
 */
#include "common/hist.h"

#include <stdlib.h>
#include <string.h>

int hist_init(struct hist *h)
{
	h->counts = calloc(HIST_NBUCKETS, sizeof(*h->counts));
	if (!h->counts)
		return -1;
	h->count = 0;
	h->sum = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	return 0;
}

void hist_release(struct hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

void hist_reset(struct hist *h)
{
	memset(h->counts, 0, HIST_NBUCKETS * sizeof(*h->counts));
	h->count = 0;
	h->sum = 0;
	h->min = UINT64_MAX;
	h->max = 0;
}

uint64_t hist_bucket_low(size_t i)
{
	size_t block = i / HIST_SUB_COUNT, sub = i % HIST_SUB_COUNT;

	if (block == 0)
		return (uint64_t)i;
	/* Block b >= 1 covers [2^(b+6), 2^(b+7)) in steps of 2^(b-1). */
	return (uint64_t)(HIST_SUB_COUNT + sub) << (block - 1);
}

uint64_t hist_bucket_width(size_t i)
{
	size_t block = i / HIST_SUB_COUNT;

	return block == 0 ? 1 : (uint64_t)1 << (block - 1);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->count)
		return;
	for (size_t i = 0; i < HIST_NBUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
	dst->sum = dst->sum + src->sum < dst->sum ? UINT64_MAX : dst->sum + src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	/* The rank of the value: ceil(p/100 * count), at least 1. */
	rank = (uint64_t)(p / 100.0 * (double)h->count);
	if ((double)rank < p / 100.0 * (double)h->count)
		rank++;
	if (rank < 1)
		rank = 1;
	for (size_t i = 0; i < HIST_NBUCKETS; i++) {
		uint64_t mid;

		seen += h->counts[i];
		if (seen < rank)
			continue;
		mid = hist_bucket_low(i) + hist_bucket_width(i) / 2;
		if (mid < h->min)
			mid = h->min;
		if (mid > h->max)
			mid = h->max;
		return mid;
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
