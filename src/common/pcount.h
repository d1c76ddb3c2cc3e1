/*
 * Private: counters written by one thread and read by any.
 *
 * The writer owns the counter (a worker loop counting its calls, the store's
 * writer counting its batches): it adds with a relaxed load and a relaxed
 * store, which on x86-64 and arm64 are plain moves, with no locked
 * read-modify-write and no cache line shared with other writers.  Readers
 * (a /metrics scrape on another thread) load relaxed and sum the writers'
 * copies: a value may be a few increments old, never torn, and the program
 * has no data race for the sanitizers to report.
 *
 * pcount_add from two threads on one counter loses counts: one writer each.
 */
#ifndef VCLI_COMMON_PCOUNT_H
#define VCLI_COMMON_PCOUNT_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t pcount;

static inline void pcount_add(pcount *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t pcount_get(const pcount *c)
{
	return atomic_load_explicit((pcount *)c, memory_order_relaxed);
}

/*
 * A histogram with fixed upper bounds (Prometheus "le"), bounds[n-1] the
 * largest; values above it land in the last slot (+Inf).  Slots are not
 * cumulative here; a reader makes them so.
 */
static inline unsigned pcount_slot(const uint64_t *bounds, unsigned n, uint64_t v)
{
	unsigned i = 0;

	while (i < n && v > bounds[i])
		i++;
	return i;
}

#endif
