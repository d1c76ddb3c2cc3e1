/*
 * Private to the client half: the pure parts of its resilience (see
 * include/vcli/client.h and docs/client.md) — back-off schedules with full
 * jitter, the retry decision and the circuit breaker's state machine.
 * Nothing here reads a clock or touches the network: times are passed in
 * (milliseconds of any monotonic clock) and randomness comes from a
 * caller-held state, so unit tests drive it with an injected clock.
 */
#ifndef VCLI_RPC_RESIL_H
#define VCLI_RPC_RESIL_H

#include <stdint.h>

#include "vcli/client.h"

/* Defaults of the options left 0. */
#define RESIL_RECONNECT_INITIAL_MS 1000
#define RESIL_RECONNECT_MULTIPLIER 1.6
#define RESIL_RECONNECT_MAX_MS 120000
#define RESIL_RETRY_ATTEMPTS 4
#define RESIL_RETRY_INITIAL_MS 100
#define RESIL_RETRY_MULTIPLIER 2.0
#define RESIL_RETRY_MAX_MS 5000
#define RESIL_BREAKER_THRESHOLD 5
#define RESIL_BREAKER_COOLDOWN_MS 5000

/* Fills the zero fields of b from the defaults given; a multiplier below 1
 * becomes 1, a max below the initial becomes the initial. */
void resil_backoff_normalize(vcli_backoff *b, uint32_t initial_ms,
			     double multiplier, uint32_t max_ms);

/* The cap of the n-th wait (n from 1): min(max, initial * mult^(n-1)). */
uint32_t resil_backoff_cap(const vcli_backoff *b, uint32_t n);

/* The n-th wait: uniform in [0, cap(n)] (full jitter).  *rng is the
 * caller's generator state (any value but 0; it is advanced). */
uint32_t resil_backoff_delay(const vcli_backoff *b, uint32_t n, uint64_t *rng);

/* A pseudo-random 64-bit number (xorshift64*); *state must not be 0. */
uint64_t resil_rand(uint64_t *state);

/*
 * The retry decision for a call that ended with status after `attempts`
 * attempts, at now, with its deadline at expiry (0: none).  Returns the
 * time to send it again (>= now), or 0 when it must end: not retry-safe,
 * a status not in the policy, attempts used up, or no time left before
 * the deadline for another attempt.  DEADLINE_EXCEEDED is never retried.
 */
uint64_t resil_retry_at(const vcli_retry_policy *p, int retry_safe,
			int status, uint32_t attempts, uint64_t now,
			uint64_t expiry, uint64_t *rng);

enum resil_admit {
	RESIL_ADMIT = 0,     /* closed: go */
	RESIL_ADMIT_PROBE,   /* half-open: go, this call is the probe */
	RESIL_REJECT,        /* open (or a probe already out): fail fast */
};

struct resil_breaker {
	vcli_breaker_policy p;   /* normalized */
	vcli_circuit_state state;/* CLOSED or OPEN (HALF_OPEN is OPEN cooled) */
	uint32_t failures;       /* transport failures in a row */
	uint64_t open_until;     /* OPEN: when a probe may go */
	int probe_out;           /* OPEN: the probe is in flight */
	uint32_t opened;         /* times it opened, for the record */
};

void resil_breaker_init(struct resil_breaker *b, const vcli_breaker_policy *p);

/* May a call go at now?  With RESIL_ADMIT_PROBE the caller reports the
 * probe's outcome (success, failure or resil_breaker_probe_void). */
enum resil_admit resil_breaker_admit(struct resil_breaker *b, uint64_t now);

/* The server answered (any status but UNAVAILABLE): closes the circuit. */
void resil_breaker_success(struct resil_breaker *b);

/* A transport failure at now: counts it, opens (or re-opens) the circuit
 * at the threshold or when a probe failed.  Returns 1 when this failure
 * opened it. */
int resil_breaker_failure(struct resil_breaker *b, uint64_t now);

/* The probe ended without telling either way (cancelled, a deadline on a
 * connection that answers): the next call may probe. */
void resil_breaker_probe_void(struct resil_breaker *b);

/* The state as callers see it at now (HALF_OPEN once cooled down). */
vcli_circuit_state resil_breaker_state(const struct resil_breaker *b,
				       uint64_t now);

#endif
