/*
 * vcli bench: load and concurrency schedules (see bench_sched.h).
 */
#include "cli/bench_sched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/errbuf.h"

const char *const sched_kind_names[] = { "const", "step", "line", NULL };

static int add_seg(struct rate_sched *s, size_t *cap, double t0, double n0,
		   double r0, double slope)
{
	if (s->nsegs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct rate_seg *n = realloc(s->segs, ncap * sizeof(*n));

		if (!n)
			return -1;
		s->segs = n;
		*cap = ncap;
	}
	s->segs[s->nsegs].t0_s = t0;
	s->segs[s->nsegs].n0 = n0;
	s->segs[s->nsegs].r0 = r0;
	s->segs[s->nsegs].slope = slope;
	s->nsegs++;
	return 0;
}

/* The checks shared by the step and line shapes of both schedules. */
static int check_shape(const struct sched_spec *sp, const char *what,
		       char *err, size_t errlen)
{
	const char *kind = sched_kind_names[sp->kind];

	if (sp->step == 0)
		return err_set(err, errlen, "a %s %s schedule needs --%s-step "
			    "(not 0)", kind, what, what);
	if (sp->kind == SCHED_STEP && sp->step_ns == 0)
		return err_set(err, errlen, "a step %s schedule needs "
			    "--%s-step-duration", what, what);
	if (sp->end > 0 && sp->step > 0 && sp->end <= sp->start)
		return err_set(err, errlen, "--%s-end %g is not above --%s-start "
			    "%g, but --%s-step %g rises", what, sp->end, what,
			    sp->start, what, sp->step);
	if (sp->end > 0 && sp->step < 0 && sp->end >= sp->start)
		return err_set(err, errlen, "--%s-end %g is not below --%s-start "
			    "%g, but --%s-step %g falls", what, sp->end, what,
			    sp->start, what, sp->step);
	if (sp->step < 0 && sp->end <= 0)
		return err_set(err, errlen, "a falling %s schedule needs "
			    "--%s-end above 0", what, what);
	return 0;
}

int rate_sched_init(struct rate_sched *s, const struct sched_spec *sp,
		    char *err, size_t errlen)
{
	size_t cap = 0;

	s->segs = NULL;
	s->nsegs = 0;
	if (sp->kind == SCHED_CONST) {
		if (!(sp->start > 0))
			return err_set(err, errlen, "the rate must be above 0");
		if (add_seg(s, &cap, 0, 0, sp->start, 0) < 0)
			goto nomem;
		return 0;
	}
	if (sp->start < 0)
		return err_set(err, errlen, "--load-start %g is below 0", sp->start);
	if (check_shape(sp, "load", err, errlen) < 0)
		return -1;
	if (sp->kind == SCHED_STEP) {
		double d = (double)sp->step_ns / 1e9, n = 0;

		for (uint64_t k = 0;; k++) {
			double r = sp->start + (double)k * sp->step;
			int last = 0;

			if (sp->end > 0 && (sp->step > 0 ? r >= sp->end : r <= sp->end)) {
				r = sp->end;
				last = 1;
			}
			if (sp->max_ns && (double)(k + 1) * (double)sp->step_ns >=
					  (double)sp->max_ns)
				last = 1;
			if (!last && s->nsegs + 1 >= RATE_SCHED_MAX_SEGS) {
				rate_sched_release(s);
				return err_set(err, errlen, "the load schedule has "
					    "more than %d steps (use a larger "
					    "--load-step, or --load-end or "
					    "--load-max-duration)",
					    RATE_SCHED_MAX_SEGS);
			}
			if (add_seg(s, &cap, (double)k * d, n, r, 0) < 0)
				goto nomem;
			if (last) {
				if (!(r > 0)) {
					rate_sched_release(s);
					return err_set(err, errlen, "the load "
						    "schedule stays at 0 req/s");
				}
				break;
			}
			n += r * d;
		}
		return 0;
	}
	/* line */
	{
		double d = sp->step_ns ? (double)sp->step_ns / 1e9 : 1.0;
		double slope = sp->step / d, t_end = INFINITY;

		if (sp->end > 0)
			t_end = (sp->end - sp->start) / slope;
		if (sp->max_ns && (double)sp->max_ns / 1e9 < t_end)
			t_end = (double)sp->max_ns / 1e9;
		if (add_seg(s, &cap, 0, 0, sp->start, slope) < 0)
			goto nomem;
		if (isfinite(t_end)) {
			double r = sp->start + slope * t_end;

			if (!(r > 0)) {
				rate_sched_release(s);
				return err_set(err, errlen, "the load schedule "
					    "stays at 0 req/s");
			}
			if (add_seg(s, &cap, t_end, sp->start * t_end +
				    slope * t_end * t_end / 2, r, 0) < 0)
				goto nomem;
		}
	}
	return 0;
nomem:
	rate_sched_release(s);
	return err_set(err, errlen, "out of memory");
}

void rate_sched_release(struct rate_sched *s)
{
	free(s->segs);
	s->segs = NULL;
	s->nsegs = 0;
}

/* The last piece whose start is at or before key (by n0 or t0). */
static size_t find_seg(const struct rate_sched *s, double key, int by_time)
{
	size_t lo = 0, hi = s->nsegs;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		double v = by_time ? s->segs[mid].t0_s : s->segs[mid].n0;

		if (v <= key)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

uint64_t rate_sched_due_ns(const struct rate_sched *s, uint64_t i)
{
	const struct rate_seg *g = &s->segs[find_seg(s, (double)i, 0)];
	double k = (double)i - g->n0, t;

	if (k <= 0)
		t = g->t0_s;
	else if (g->slope == 0)
		t = g->t0_s + k / g->r0;
	else
		/* n(dt) = r0 dt + slope dt^2 / 2 = k, solved in the form
		 * that stays exact when slope is small. */
		t = g->t0_s + 2 * k / (g->r0 + sqrt(g->r0 * g->r0 +
						    2 * g->slope * k));
	return (uint64_t)(t * 1e9 + 0.5);
}

double rate_sched_rate_at(const struct rate_sched *s, uint64_t t_ns)
{
	double t = (double)t_ns / 1e9;
	const struct rate_seg *g = &s->segs[find_seg(s, t, 1)];

	return g->r0 + g->slope * (t - g->t0_s);
}

int conc_sched_check(const struct sched_spec *sp, char *err, size_t errlen)
{
	if (sp->start < 1)
		return err_set(err, errlen, "--concurrency-start %g is below 1",
			    sp->start);
	if (sp->kind == SCHED_CONST)
		return 0;
	if (check_shape(sp, "concurrency", err, errlen) < 0)
		return -1;
	if (sp->step > 0 && sp->end <= 0 && !sp->max_ns)
		return err_set(err, errlen, "a rising concurrency schedule needs "
			    "--concurrency-end or --concurrency-max-duration");
	if (conc_sched_max(sp) > 100000)
		return err_set(err, errlen, "the concurrency schedule reaches %u "
			    "workers (at most 100000)", conc_sched_max(sp));
	return 0;
}

static double conc_raw(const struct sched_spec *sp, uint64_t t_ns)
{
	double v;

	if (sp->kind == SCHED_CONST)
		return sp->start;
	if (sp->max_ns && t_ns > sp->max_ns)
		t_ns = sp->max_ns;
	if (sp->kind == SCHED_STEP) {
		uint64_t k = t_ns / sp->step_ns;

		/* A step due at or after max_duration never comes. */
		if (sp->max_ns && k * sp->step_ns >= sp->max_ns && k > 0)
			k--;
		v = sp->start + (double)k * sp->step;
	} else {
		double d = sp->step_ns ? (double)sp->step_ns : 1e9;

		v = sp->start + trunc(sp->step * (double)t_ns / d);
	}
	if (sp->end > 0 && (sp->step > 0 ? v > sp->end : v < sp->end))
		v = sp->end;
	return v;
}

unsigned conc_sched_at(const struct sched_spec *sp, uint64_t t_ns)
{
	double v = conc_raw(sp, t_ns);

	return v < 1 ? 1 : (unsigned)v;
}

unsigned conc_sched_max(const struct sched_spec *sp)
{
	double v = sp->start;

	if (sp->kind != SCHED_CONST && sp->step > 0)
		v = sp->end > 0 ? sp->end : conc_raw(sp, sp->max_ns);
	return v < 1 ? 1 : (unsigned)v;
}
