/*
 * Private to vcli bench: load and concurrency schedules (pure: no clock,
 * no I/O).
 *
 * A rate schedule gives every request an intended start time: request i
 * (counted from 0) is due at the time when the schedule's cumulative
 * request count reaches i, so request 0 is due at 0 and at a constant
 * 100 req/s request i is due at i * 10 ms.  The engine starts each request
 * at its time whatever happened to the ones before (open loop), and
 * measures latency from that time, so a stalled server cannot hide its
 * stall by slowing the load generator down (coordinated omission).
 *
 * The shapes follow ghz's --load-schedule:
 *   const  rate = start
 *   step   rate = start + step * floor(t / step_duration)
 *   line   rate = start + step * t / step_duration  (step per step_duration,
 *          1 s unless given, reached smoothly)
 * Both step and line stop changing once the rate reaches end (when end is
 * given) or once max_duration has passed (when given); from then on the
 * rate stays where it got to.  step may be negative (a ramp down), which
 * needs an end above zero.
 *
 * A concurrency schedule gives the number of active workers at time t,
 * with the same shapes over whole workers (ghz's --concurrency-schedule).
 */
#ifndef VCLI_CLI_BENCH_SCHED_H
#define VCLI_CLI_BENCH_SCHED_H

#include <stddef.h>
#include <stdint.h>

enum sched_kind { SCHED_CONST = 0, SCHED_STEP = 1, SCHED_LINE = 2 };

extern const char *const sched_kind_names[]; /* "const", "step", "line" */

struct sched_spec {
	enum sched_kind kind;
	double start;          /* rate (req/s) or workers at t = 0 */
	double end;            /* 0: none */
	double step;           /* change per step (step, line) */
	uint64_t step_ns;      /* step duration; 0: 1 s for line */
	uint64_t max_ns;       /* 0: none */
};

/* One piece of the rate curve: from t0_s on, the rate is r0 + slope * dt. */
struct rate_seg {
	double t0_s;   /* start of the piece, seconds */
	double n0;     /* requests due before t0_s */
	double r0;     /* rate at t0_s, req/s */
	double slope;  /* req/s per second */
};

/* The most pieces a step schedule may have. */
#define RATE_SCHED_MAX_SEGS 100000

struct rate_sched {
	struct rate_seg *segs;
	size_t nsegs;
};

/*
 * Builds the rate schedule of spec.  Returns 0, or -1 with a message for
 * "vcli: <err>" naming the option at fault (--load-end, ...).  Release
 * with rate_sched_release().
 */
int rate_sched_init(struct rate_sched *s, const struct sched_spec *spec,
		    char *err, size_t errlen);
void rate_sched_release(struct rate_sched *s);

/* The intended start of request i, in nanoseconds from the start. */
uint64_t rate_sched_due_ns(const struct rate_sched *s, uint64_t i);

/* The rate at t_ns (req/s). */
double rate_sched_rate_at(const struct rate_sched *s, uint64_t t_ns);

/*
 * Checks a concurrency schedule (start >= 1, a direction that reaches end,
 * ...).  Returns 0, or -1 with a message naming the --concurrency-* option
 * at fault.
 */
int conc_sched_check(const struct sched_spec *spec, char *err, size_t errlen);

/* Active workers at t_ns: at least 1. */
unsigned conc_sched_at(const struct sched_spec *spec, uint64_t t_ns);

/* The most workers the schedule ever asks for. */
unsigned conc_sched_max(const struct sched_spec *spec);

#endif
