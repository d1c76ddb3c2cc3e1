/*
 * The pure parts of the client's resilience (see resil.h).
 */
#include "rpc/resil.h"

#include <math.h>
#include <string.h>

void resil_backoff_normalize(vcli_backoff *b, uint32_t initial_ms,
			     double multiplier, uint32_t max_ms)
{
	if (!b->initial_ms)
		b->initial_ms = initial_ms;
	if (!b->max_ms)
		b->max_ms = max_ms;
	if (b->max_ms < b->initial_ms)
		b->max_ms = b->initial_ms;
	/* NaN fails every comparison: it becomes the default too. */
	if (!(b->multiplier > 0))
		b->multiplier = multiplier;
	if (b->multiplier < 1)
		b->multiplier = 1;
}

uint32_t resil_backoff_cap(const vcli_backoff *b, uint32_t n)
{
	double cap;

	if (n <= 1)
		return b->initial_ms;
	/* pow() overflows to infinity, never wraps: the max then. */
	cap = b->initial_ms * pow(b->multiplier, (double)(n - 1));
	return !(cap < b->max_ms) ? b->max_ms : (uint32_t)cap;
}

uint64_t resil_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

uint32_t resil_backoff_delay(const vcli_backoff *b, uint32_t n, uint64_t *rng)
{
	uint64_t cap = resil_backoff_cap(b, n);

	/* The top bits of xorshift* are its best. */
	return (uint32_t)((resil_rand(rng) >> 11) % (cap + 1));
}

uint64_t resil_retry_at(const vcli_retry_policy *p, int retry_safe,
			int status, uint32_t attempts, uint64_t now,
			uint64_t expiry, uint64_t *rng)
{
	uint64_t at;

	if (!retry_safe || status <= 0 || status > 31 ||
	    status == VCLI_STATUS_DEADLINE_EXCEEDED ||
	    !(p->retry_codes & VCLI_RETRY_CODE(status)) ||
	    attempts >= p->max_attempts)
		return 0;
	at = now + resil_backoff_delay(&p->backoff, attempts, rng);
	/* An attempt must have some time to run: one that would start at
	 * the deadline could only end with DEADLINE_EXCEEDED, which says
	 * less than the failure we have. */
	if (expiry && at >= expiry)
		return 0;
	return at;
}

void resil_breaker_init(struct resil_breaker *b, const vcli_breaker_policy *p)
{
	memset(b, 0, sizeof(*b));
	b->p = *p;
	if (!b->p.threshold)
		b->p.threshold = RESIL_BREAKER_THRESHOLD;
	if (!b->p.cooldown_ms)
		b->p.cooldown_ms = RESIL_BREAKER_COOLDOWN_MS;
	b->state = VCLI_CIRCUIT_CLOSED;
}

enum resil_admit resil_breaker_admit(struct resil_breaker *b, uint64_t now)
{
	if (b->p.off || b->state == VCLI_CIRCUIT_CLOSED)
		return RESIL_ADMIT;
	if (now < b->open_until || b->probe_out)
		return RESIL_REJECT;
	b->probe_out = 1;
	return RESIL_ADMIT_PROBE;
}

void resil_breaker_success(struct resil_breaker *b)
{
	b->failures = 0;
	b->probe_out = 0;
	b->state = VCLI_CIRCUIT_CLOSED;
}

int resil_breaker_failure(struct resil_breaker *b, uint64_t now)
{
	if (b->failures < UINT32_MAX)
		b->failures++;
	if (b->p.off)
		return 0;
	/* Open: a failure of the probe (or of a call that was already on
	 * the wire when the circuit opened) starts the cool-down again. */
	if (b->state == VCLI_CIRCUIT_OPEN) {
		if (b->probe_out || now >= b->open_until) {
			b->probe_out = 0;
			b->open_until = now + b->p.cooldown_ms;
		}
		return 0;
	}
	if (b->failures < b->p.threshold)
		return 0;
	b->state = VCLI_CIRCUIT_OPEN;
	b->open_until = now + b->p.cooldown_ms;
	b->probe_out = 0;
	b->opened++;
	return 1;
}

void resil_breaker_probe_void(struct resil_breaker *b)
{
	b->probe_out = 0;
}

vcli_circuit_state resil_breaker_state(const struct resil_breaker *b,
				       uint64_t now)
{
	if (b->p.off || b->state == VCLI_CIRCUIT_CLOSED)
		return VCLI_CIRCUIT_CLOSED;
	return now >= b->open_until ? VCLI_CIRCUIT_HALF_OPEN
				    : VCLI_CIRCUIT_OPEN;
}
