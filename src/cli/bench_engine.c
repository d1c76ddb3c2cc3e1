/*
 * vcli bench: the load engine (see bench_engine.h).
 *
 * A runner is one loop with its share of the connections and workers;
 * with --threads 1 (the default) the only runner runs on the calling
 * thread.  Runners share only the request counters (atomics) and the
 * phase barriers; each keeps its own histograms, merged at the end, so
 * the path of a call takes no lock.
 */
#include "cli/bench_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <uv.h>

#include "common/procstat.h"
#include "common/timeutil.h"

const char *const bench_stop_names[] = { "wait", "close", "ignore", NULL };

/* The progress line is redrawn this often. */
#define PROGRESS_NS (200u * 1000000u)
/* The tick that follows the concurrency schedule and the end of -z when
 * they need it; otherwise it only draws progress and notices that other
 * runners used up -n, which can wait longer (a wake-up costs CPU). */
#define TICK_MS 5
#define TICK_IDLE_MS 50
/* A mix cycle holds at most this many slots (sum of weights). */
#define MIX_SEQ_MAX (BENCH_MIX_MAX * BENCH_MIX_WEIGHT_MAX)

/* What every runner shares. */
struct shared {
	const struct bench_config *cfg;
	struct rate_sched rate;
	uint16_t *mix;                 /* call of request n: mix[n % nmix] */
	size_t nmix;
	unsigned max_workers;
	_Atomic uint64_t warm_next;    /* warm-up calls claimed */
	_Atomic uint64_t next;         /* measured calls claimed */
	_Atomic uint64_t ended;        /* measured calls ended (progress) */
	_Atomic int connect_failed;
	uint64_t t0;                   /* measured phase start, monotonic ns */
	uint64_t end_ns;               /* t0 + duration; 0: none */
	pthread_barrier_t barrier;
	pthread_mutex_t start_lock;    /* threads wait for start_state */
	pthread_cond_t start_cond;
	int start_state;               /* 0: wait, 1: go, -1: give up */
	char connect_err[sizeof(((vcli_call_result *)0)->message)];
	pthread_mutex_t err_lock;
};

struct runner;

struct worker {
	struct runner *r;
	unsigned id;             /* global, from 0 */
	vcli_client *cl;
	int busy;
	int active;              /* the concurrency schedule wants it */
	int in_free;             /* on the runner's free list */
	int in_start;            /* inside vcli_client_unary_async */
	int ended_early;         /* the call ended inside it */
	int warm;
	uint64_t number;         /* the request number (warm-up first) */
	uint64_t due, started;
	unsigned call;
	uint32_t attempts;       /* of the call that just ended */
};

enum phase { PH_CONNECT, PH_WARM, PH_MEASURE };

struct runner {
	struct shared *sh;
	unsigned index;
	pthread_t thread;
	int thread_started;
	uv_loop_t loop;
	int loop_open;
	vcli_client **clients;
	unsigned nclients;
	struct worker *workers;
	unsigned nworkers;
	unsigned *free;          /* stack of idle active workers (paced) */
	unsigned nfree;
	struct bench_request reqs[BENCH_MIX_MAX];
	size_t nreqs;
	vcli_metadata *md;
	buf scratch, out, mdbuf;
	uint64_t rng;
	enum phase phase;
	unsigned busy;
	unsigned pending_connects;
	int done_claiming;
	int cancelling;          /* the -z end cancelled the calls in flight */
	int ignore_ends;         /* BENCH_STOP_IGNORE: do not count them */
	int have_pending;        /* paced: a claimed request waits for its time */
	uint64_t pending_i, pending_due;
	uint64_t armed_due;      /* what the pacer's timer is set for */
	int in_pace, pace_again;
	int tfd;
	uv_poll_t tpoll;
	int tpoll_open;
	uv_timer_t tick;
	int tick_open;
	uint64_t last_progress;
	uint64_t last_end;
	int rc;
	char err[300];
	/* what it measured */
	struct bench_result res;
};

static uint64_t now_ns(void)
{
	return time_mono_ns();
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int bench_result_init(struct bench_result *r)
{
	memset(r, 0, sizeof(*r));
	r->server_cpu_err = -1;
	if (hist_init(&r->latency) < 0 || hist_init(&r->lag) < 0)
		goto nomem;
	for (size_t i = 0; i < BENCH_MIX_MAX; i++)
		if (hist_init(&r->calls[i].latency) < 0)
			goto nomem;
	return 0;
nomem:
	bench_result_release(r);
	return -1;
}

void bench_result_release(struct bench_result *r)
{
	hist_release(&r->latency);
	hist_release(&r->lag);
	for (size_t i = 0; i < BENCH_MIX_MAX; i++)
		hist_release(&r->calls[i].latency);
}

static void add_errmsg(struct bench_result *res, int status, const char *msg,
		       uint64_t count)
{
	for (size_t i = 0; i < res->nerrors; i++)
		if (res->errors[i].status == status &&
		    strncmp(res->errors[i].message, msg,
			    sizeof(res->errors[i].message) - 1) == 0) {
			res->errors[i].count += count;
			return;
		}
	if (res->nerrors == BENCH_ERRMSG_MAX) {
		res->errors_other += count;
		return;
	}
	res->errors[res->nerrors].status = status;
	snprintf(res->errors[res->nerrors].message,
		 sizeof(res->errors[res->nerrors].message), "%s", msg);
	res->errors[res->nerrors].count = count;
	res->nerrors++;
}

/* ---- phases ---- */

static void maybe_finish(struct runner *r)
{
	const struct bench_config *cfg = r->sh->cfg;

	switch (r->phase) {
	case PH_CONNECT:
		if (r->pending_connects == 0)
			uv_stop(&r->loop);
		break;
	case PH_WARM:
		if (r->busy == 0 &&
		    atomic_load_explicit(&r->sh->warm_next, memory_order_relaxed) >=
		    cfg->warmup)
			uv_stop(&r->loop);
		break;
	case PH_MEASURE:
		if (r->busy == 0 && r->done_claiming && !r->have_pending)
			uv_stop(&r->loop);
		break;
	}
}

/* Claims the next measured request: 0, or -1 when the run is over.  The
 * closed loop stops at the end of -z by the clock; the open loop by due
 * times (a request due before the end starts even when the pacer runs
 * late), which pace() checks. */
static int claim(struct runner *r, uint64_t *i)
{
	const struct bench_config *cfg = r->sh->cfg;

	if (r->done_claiming)
		return -1;
	if (!cfg->paced && r->sh->end_ns && now_ns() >= r->sh->end_ns) {
		r->done_claiming = 1;
		return -1;
	}
	*i = atomic_fetch_add_explicit(&r->sh->next, 1, memory_order_relaxed);
	if (cfg->total && *i >= cfg->total) {
		r->done_claiming = 1;
		return -1;
	}
	return 0;
}

static void on_call_done(void *ud, const vcli_call_result *res,
			 const uint8_t *resp, size_t len);
static void worker_go(struct worker *w);
static void pace(struct runner *r);

/* Records a call that ended (or failed to start). */
static void record(struct worker *w, int status, const char *message,
		   const uint8_t *resp, size_t len, uint64_t end)
{
	struct runner *r = w->r;
	const struct bench_config *cfg = r->sh->cfg;
	struct bench_result *res = &r->res;
	uint64_t lat = end - w->due;

	if (status < 0 || status > 16)
		status = VCLI_STATUS_UNKNOWN;
	if (w->warm) {
		res->warmup++;
		return;
	}
	if (r->ignore_ends)
		return;
	if (cfg->on_response)
		cfg->on_response(cfg->ud, w->number, w->call, status, resp, len);
	res->count++;
	if (w->attempts > 1)
		res->retries += w->attempts - 1;
	res->status[status]++;
	hist_record(&res->latency, lat);
	if (cfg->paced)
		hist_record(&res->lag, w->started - w->due);
	res->calls[w->call].count++;
	hist_record(&res->calls[w->call].latency, lat);
	if (status == VCLI_STATUS_OK) {
		res->ok++;
		res->calls[w->call].ok++;
	} else {
		add_errmsg(res, status, message, 1);
	}
	if (end > r->last_end)
		r->last_end = end;
	atomic_fetch_add_explicit(&r->sh->ended, 1, memory_order_relaxed);
	if (cfg->csv)
		fprintf(cfg->csv, "%llu,%s,%u,%.3f,%.3f,%.3f,%s\n",
			(unsigned long long)w->number,
			cfg->calls[w->call].method.method->name, w->id,
			(double)(w->due - r->sh->t0) / 1e3,
			(double)(w->started - w->due) / 1e3, (double)lat / 1e3,
			vcli_status_name(status));
}

/* Starts request number n on w; due is when it was meant to start. */
static void start_call(struct worker *w, uint64_t n, uint64_t due, int warm)
{
	struct runner *r = w->r;
	const struct bench_config *cfg = r->sh->cfg;
	const struct bench_call_def *def;
	struct tmpl_ctx ctx;
	vcli_call_options copts;
	const uint8_t *bytes = NULL;
	size_t len = 0;
	char msg[300];
	vcli_code rc;
	int need_ctx;

	w->number = n;
	w->warm = warm;
	w->call = r->sh->nmix > 1 ? r->sh->mix[n % r->sh->nmix] : 0;
	def = &cfg->calls[w->call];
	need_ctx = r->reqs[w->call].mode != BENCH_REQ_STATIC ||
		   (cfg->metadata && cfg->metadata->has_actions);
	if (need_ctx) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.request_number = n;
		ctx.worker_id = w->id;
		ctx.service = def->method.service->name;
		ctx.method = def->method.method->name;
		ctx.input = def->method.method->input->name;
		ctx.output = def->method.method->output->name;
		time_wall(&ctx.wall_sec, &ctx.wall_nsec);
		ctx.rng = &r->rng;
	}
	memset(&copts, 0, sizeof(copts));
	copts.deadline_ms = cfg->deadline_ms;
	copts.retry_safe = cfg->retry_safe;
	msg[0] = '\0';
	if (cfg->make_request) {
		buf_reset(&r->out);
		if (cfg->make_request(cfg->ud, n, w->call, &r->out) < 0)
			snprintf(msg, sizeof(msg), "cannot build request %llu",
				 (unsigned long long)n);
		bytes = r->out.data;
		len = r->out.len;
	} else if (bench_request_build(&r->reqs[w->call], &ctx, &r->scratch,
				       &r->out, &bytes, &len, msg,
				       sizeof(msg)) < 0 && !msg[0]) {
		snprintf(msg, sizeof(msg), "cannot build request");
	}
	if (!msg[0] && cfg->metadata && cfg->metadata->n) {
		const struct bench_md_list *md = cfg->metadata;

		if (md->has_actions) {
			size_t *offs = (size_t *)(void *)(r->md + md->n);

			buf_reset(&r->mdbuf);
			for (size_t i = 0; i < md->n; i++) {
				offs[i] = r->mdbuf.len;
				if (tmpl_render(&md->v[i].value, &ctx, &r->mdbuf) < 0)
					snprintf(msg, sizeof(msg), "metadata too large");
			}
			for (size_t i = 0; i < md->n; i++) {
				size_t e = i + 1 < md->n ? offs[i + 1] : r->mdbuf.len;

				r->md[i].value = r->mdbuf.data + offs[i];
				r->md[i].value_len = e - offs[i];
			}
		}
		copts.metadata = r->md;
		copts.metadata_count = md->n;
	}
	w->busy = 1;
	r->busy++;
	w->due = due;
	w->started = now_ns();
	if (w->due > w->started)
		w->due = w->started; /* a timer that fired a hair early */
	if (msg[0]) {
		w->ended_early = 1;
		w->busy = 0;
		r->busy--;
		record(w, VCLI_STATUS_INTERNAL, msg, NULL, 0, now_ns());
		return;
	}
	w->in_start = 1;
	w->ended_early = 0;
	rc = vcli_client_unary_async(w->cl, def->method.path, bytes, len, &copts,
				     on_call_done, w);
	w->in_start = 0;
	if (rc != VCLI_OK) {
		snprintf(msg, sizeof(msg), "call not started: %s", vcli_strerror(rc));
		w->ended_early = 1;
		w->busy = 0;
		r->busy--;
		record(w, VCLI_STATUS_INTERNAL, msg, NULL, 0, now_ns());
	}
}

static void push_free(struct runner *r, struct worker *w)
{
	if (w->in_free || w->busy || !w->active)
		return;
	w->in_free = 1;
	r->free[r->nfree++] = (unsigned)(w - r->workers);
}

static struct worker *pop_free(struct runner *r)
{
	while (r->nfree) {
		struct worker *w = &r->workers[r->free[--r->nfree]];

		w->in_free = 0;
		if (w->active && !w->busy)
			return w;
	}
	return NULL;
}

static void on_call_done(void *ud, const vcli_call_result *res,
			 const uint8_t *resp, size_t len)
{
	struct worker *w = ud;
	struct runner *r = w->r;

	w->busy = 0;
	r->busy--;
	w->attempts = res->attempts;
	record(w, res->status, res->message, resp, len, now_ns());
	w->attempts = 0;
	if (w->in_start) {
		/* Ended inside vcli_client_unary_async (the connection had
		 * failed): the caller goes on from there, without recursing
		 * once per failed call. */
		w->ended_early = 1;
		return;
	}
	if (r->cancelling)
		return;
	if (r->phase == PH_MEASURE && r->sh->cfg->paced) {
		push_free(r, w);
		pace(r);
	} else {
		worker_go(w);
	}
	maybe_finish(r);
}

/* Closed loop (and warm-up): starts w's calls one after the other while
 * they end at once; returns when one is in flight or there is no more. */
static void worker_go(struct worker *w)
{
	struct runner *r = w->r;
	const struct bench_config *cfg = r->sh->cfg;

	while (!w->busy && w->active && !r->cancelling) {
		uint64_t i;

		if (r->phase == PH_WARM) {
			i = atomic_fetch_add_explicit(&r->sh->warm_next, 1,
						      memory_order_relaxed);
			if (i >= cfg->warmup)
				return;
			start_call(w, i, now_ns(), 1);
		} else {
			if (claim(r, &i) < 0)
				return;
			start_call(w, cfg->warmup + i, now_ns(), 0);
		}
		if (!w->ended_early)
			return;
	}
}

static void arm_pacer(struct runner *r, uint64_t due)
{
	struct itimerspec its;

	if (r->armed_due == due)
		return; /* set already (a call ended while the next waits) */
	r->armed_due = due;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(due / 1000000000u);
	its.it_value.tv_nsec = (long)(due % 1000000000u);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Open loop: starts every request that is due on a free worker, and sets
 * the timer for the next one. */
static void pace(struct runner *r)
{
	const struct bench_config *cfg = r->sh->cfg;

	if (r->in_pace) {
		r->pace_again = 1;
		return;
	}
	r->in_pace = 1;
	do {
		r->pace_again = 0;
		while (!r->cancelling) {
			struct worker *w;
			uint64_t now;

			if (!r->have_pending) {
				uint64_t i;

				if (claim(r, &r->pending_i) < 0)
					break;
				i = r->pending_i;
				r->pending_due = r->sh->t0 + rate_sched_due_ns(&r->sh->rate, i);
				if (r->sh->end_ns && r->pending_due >= r->sh->end_ns) {
					r->done_claiming = 1;
					break;
				}
				r->have_pending = 1;
			}
			now = now_ns();
			if (r->pending_due > now) {
				arm_pacer(r, r->pending_due);
				break;
			}
			w = pop_free(r);
			if (!w)
				break; /* late: the next call to end starts it */
			r->have_pending = 0;
			start_call(w, cfg->warmup + r->pending_i, r->pending_due, 0);
			if (w->ended_early)
				push_free(r, w);
		}
	} while (r->pace_again);
	r->in_pace = 0;
}

static void on_pacer(uv_poll_t *p, int status, int events)
{
	struct runner *r = p->data;
	uint64_t expirations;

	if (read(r->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	r->armed_due = 0;
	pace(r);
	maybe_finish(r);
}

static void draw_progress(struct runner *r, int last)
{
	const struct bench_config *cfg = r->sh->cfg;
	uint64_t done = atomic_load_explicit(&r->sh->ended, memory_order_relaxed);
	uint64_t now = now_ns(), el = now - r->sh->t0;
	double frac = 0, rps = el ? (double)done * 1e9 / (double)el : 0;
	char bar[31];
	int fill;

	if (cfg->total)
		frac = (double)done / (double)cfg->total;
	if (cfg->duration_ns) {
		double tf = (double)el / (double)cfg->duration_ns;

		if (!cfg->total || tf > frac)
			frac = tf;
	}
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * 30);
	memset(bar, '=', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(30 - fill));
	bar[30] = '\0';
	fprintf(stderr, "\r[%s] %3d%%  %llu calls  %.0f req/s  %.1f s ", bar,
		(int)(frac * 100), (unsigned long long)done, rps, (double)el / 1e9);
	if (last)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

static void apply_schedule(struct runner *r, uint64_t now)
{
	const struct bench_config *cfg = r->sh->cfg;
	unsigned want = conc_sched_at(&cfg->workers,
				      r->phase == PH_MEASURE ? now - r->sh->t0 : 0);

	for (unsigned j = 0; j < r->nworkers; j++) {
		struct worker *w = &r->workers[j];
		int active = w->id < want;

		if (active == w->active)
			continue;
		w->active = active;
		if (!active || r->phase != PH_MEASURE)
			continue;
		if (cfg->paced)
			push_free(r, w);
		else
			worker_go(w);
	}
	if (cfg->paced && r->phase == PH_MEASURE)
		pace(r);
}

static void cancel_in_flight(struct runner *r)
{
	const struct bench_config *cfg = r->sh->cfg;

	if (cfg->stop == BENCH_STOP_WAIT) {
		/* Open loop: a request due before the end still starts (pace()
		 * stops at the first one due after it). */
		if (!cfg->paced)
			r->done_claiming = 1;
		return;
	}
	r->done_claiming = 1;
	r->have_pending = 0;
	if (!r->busy)
		return;
	r->cancelling = 1;
	r->ignore_ends = cfg->stop == BENCH_STOP_IGNORE;
	/* Freeing a client ends its calls with CANCELLED, now. */
	for (unsigned i = 0; i < r->nclients; i++) {
		vcli_client_free(r->clients[i]);
		r->clients[i] = NULL;
	}
	if (r->last_end < r->sh->end_ns)
		r->last_end = r->sh->end_ns;
}

static void on_tick(uv_timer_t *t)
{
	struct runner *r = t->data;
	const struct bench_config *cfg = r->sh->cfg;
	uint64_t now = now_ns();

	if (r->phase != PH_MEASURE)
		return;
	if (cfg->interrupt && *cfg->interrupt && !r->done_claiming) {
		r->done_claiming = 1;
		r->have_pending = 0;
		r->res.interrupted = 1;
	}
	if (cfg->workers.kind != SCHED_CONST)
		apply_schedule(r, now);
	if (cfg->total && atomic_load_explicit(&r->sh->next, memory_order_relaxed) >=
	    cfg->total)
		r->done_claiming = 1;
	if (r->sh->end_ns && now >= r->sh->end_ns && !r->cancelling)
		cancel_in_flight(r);
	if (cfg->progress && r->index == 0 && now - r->last_progress >= PROGRESS_NS) {
		r->last_progress = now;
		draw_progress(r, 0);
	}
	maybe_finish(r);
}

/* ---- set-up and tear-down of a runner ---- */

static void on_connected(void *ud, const vcli_call_result *res,
			 const uint8_t *resp, size_t len)
{
	struct runner *r = ud;

	if (res->status != VCLI_STATUS_OK &&
	    atomic_exchange(&r->sh->connect_failed, 1) == 0) {
		pthread_mutex_lock(&r->sh->err_lock);
		snprintf(r->sh->connect_err, sizeof(r->sh->connect_err), "%s",
			 res->message);
		pthread_mutex_unlock(&r->sh->err_lock);
	}
	r->pending_connects--;
	maybe_finish(r);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void runner_release(struct runner *r)
{
	for (unsigned i = 0; i < r->nclients; i++)
		vcli_client_free(r->clients[i]);
	if (r->tick_open)
		uv_close((uv_handle_t *)&r->tick, NULL);
	if (r->tpoll_open)
		uv_close((uv_handle_t *)&r->tpoll, NULL);
	if (r->loop_open) {
		uv_run(&r->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&r->loop) == UV_EBUSY) {
			uv_walk(&r->loop, close_walk, NULL);
			uv_run(&r->loop, UV_RUN_DEFAULT);
			uv_loop_close(&r->loop);
		}
	}
	if (r->tfd >= 0)
		close(r->tfd);
	for (size_t i = 0; i < r->nreqs; i++)
		bench_request_release(&r->reqs[i]);
	free(r->clients);
	free(r->workers);
	free(r->free);
	free(r->md);
	buf_release(&r->scratch);
	buf_release(&r->out);
	buf_release(&r->mdbuf);
	bench_result_release(&r->res);
}

/* Gives runner r its loop, clients, workers and requests. */
static int runner_init(struct runner *r, struct shared *sh, unsigned index)
{
	const struct bench_config *cfg = sh->cfg;
	unsigned nthreads = cfg->threads;
	vcli_client_options o = cfg->client;
	unsigned j = 0;

	r->sh = sh;
	r->index = index;
	r->tfd = -1;
	buf_init(&r->scratch, BENCH_REQUEST_MAX);
	buf_init(&r->out, BENCH_REQUEST_MAX);
	buf_init(&r->mdbuf, 1024 * 1024);
	if (bench_result_init(&r->res) < 0)
		goto nomem;
	r->rng = now_ns() ^ ((uint64_t)index << 32) ^ (uint64_t)getpid();
	if (uv_loop_init(&r->loop) != 0)
		goto nomem;
	r->loop_open = 1;
	/* Connections c with c % threads == index, likewise the workers;
	 * worker j of the runner uses its connection j % nclients. */
	{
		unsigned nc = cfg->connections / nthreads +
			      (index < cfg->connections % nthreads);
		unsigned nw = sh->max_workers / nthreads +
			      (index < sh->max_workers % nthreads);

		r->clients = calloc(nc, sizeof(*r->clients));
		r->workers = calloc(nw ? nw : 1, sizeof(*r->workers));
		r->free = calloc(nw ? nw : 1, sizeof(*r->free));
		if (!r->clients || !r->workers || !r->free)
			goto nomem;
		r->nclients = nc;
		r->nworkers = nw;
	}
	o.loop = &r->loop;
	for (unsigned i = 0; i < r->nclients; i++) {
		vcli_code rc = vcli_client_new(&o, &r->clients[i], r->err,
					       sizeof(r->err));

		if (rc != VCLI_OK) {
			if (!r->err[0])
				snprintf(r->err, sizeof(r->err), "%s", vcli_strerror(rc));
			r->rc = rc == VCLI_E_NOMEM ? BENCH_E_INTERNAL : BENCH_E_USAGE;
			return -1;
		}
	}
	for (j = 0; j < r->nworkers; j++) {
		r->workers[j].r = r;
		r->workers[j].id = j * nthreads + index;
		r->workers[j].cl = r->clients[j % r->nclients];
	}
	if (cfg->metadata && cfg->metadata->n) {
		/* The entries, then (when they render) their offsets. */
		r->md = calloc(cfg->metadata->n, sizeof(*r->md) + sizeof(size_t));
		if (!r->md)
			goto nomem;
		for (size_t i = 0; i < cfg->metadata->n; i++) {
			r->md[i].key = cfg->metadata->v[i].key;
			r->md[i].value = (const uint8_t *)cfg->metadata->v[i].value.text;
			r->md[i].value_len = cfg->metadata->v[i].value.len;
		}
	}
	if (!cfg->make_request) {
		for (size_t i = 0; i < cfg->ncalls; i++) {
			struct tmpl_ctx sample;

			memset(&sample, 0, sizeof(sample));
			sample.rng = &r->rng;
			sample.method = cfg->calls[i].method.method->name;
			sample.service = cfg->calls[i].method.service->name;
			if (bench_request_init(&r->reqs[i],
					       cfg->calls[i].method.method->input,
					       cfg->calls[i].data,
					       cfg->calls[i].data_len, &sample,
					       r->err, sizeof(r->err)) < 0) {
				r->rc = BENCH_E_USAGE;
				return -1;
			}
			r->nreqs++;
		}
	}
	if (cfg->paced) {
		r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (r->tfd < 0 || uv_poll_init(&r->loop, &r->tpoll, r->tfd) != 0) {
			snprintf(r->err, sizeof(r->err), "cannot make a timer: %s",
				 strerror(errno));
			r->rc = BENCH_E_INTERNAL;
			return -1;
		}
		r->tpoll.data = r;
		r->tpoll_open = 1;
	}
	uv_timer_init(&r->loop, &r->tick);
	r->tick.data = r;
	r->tick_open = 1;
	return 0;
nomem:
	snprintf(r->err, sizeof(r->err), "out of memory");
	r->rc = BENCH_E_INTERNAL;
	return -1;
}

static void run_phase(struct runner *r)
{
	uv_run(&r->loop, UV_RUN_DEFAULT);
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	struct shared *sh = r->sh;
	const struct bench_config *cfg = sh->cfg;
	vcli_call_options copts;

	/* The kernel may fire a timer up to the thread's slack late (50 us
	 * by default): the pacer wants its requests on time. */
	if (cfg->paced)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	/* Connect every client (not timed). */
	memset(&copts, 0, sizeof(copts));
	r->phase = PH_CONNECT;
	r->pending_connects = r->nclients;
	for (unsigned i = 0; i < r->nclients; i++)
		vcli_client_connect_async(r->clients[i], &copts, on_connected, r);
	if (r->pending_connects)
		run_phase(r);
	pthread_barrier_wait(&sh->barrier);
	if (atomic_load(&sh->connect_failed))
		return NULL;

	/* Warm-up: closed loop, not recorded. */
	if (cfg->warmup) {
		r->phase = PH_WARM;
		apply_schedule(r, 0);
		for (unsigned j = 0; j < r->nworkers; j++)
			worker_go(&r->workers[j]);
		maybe_finish(r);
		run_phase(r);
	}
	/* Every runner has finished warming up; the first sets the clock. */
	pthread_barrier_wait(&sh->barrier);
	if (r->index == 0) {
		sh->t0 = now_ns();
		sh->end_ns = cfg->duration_ns ? sh->t0 + cfg->duration_ns : 0;
	}
	pthread_barrier_wait(&sh->barrier);

	r->phase = PH_MEASURE;
	r->last_progress = sh->t0;
	r->last_end = sh->t0;
	{
		uint64_t ms = cfg->workers.kind != SCHED_CONST ||
			      cfg->stop != BENCH_STOP_WAIT ? TICK_MS : TICK_IDLE_MS;

		uv_timer_start(&r->tick, on_tick, ms, ms);
	}
	if (cfg->paced)
		uv_poll_start(&r->tpoll, UV_READABLE, on_pacer);
	for (unsigned j = 0; j < r->nworkers; j++)
		r->workers[j].active = 0;
	apply_schedule(r, sh->t0);
	maybe_finish(r);
	run_phase(r);
	uv_timer_stop(&r->tick);
	if (cfg->paced)
		uv_poll_stop(&r->tpoll);
	if (cfg->progress && r->index == 0)
		draw_progress(r, 1);
	return NULL;
}

/* A runner's thread: waits until every thread exists (the barriers
 * count them all), then runs. */
static void *runner_thread(void *arg)
{
	struct runner *r = arg;
	struct shared *sh = r->sh;
	int state;

	pthread_mutex_lock(&sh->start_lock);
	while (sh->start_state == 0)
		pthread_cond_wait(&sh->start_cond, &sh->start_lock);
	state = sh->start_state;
	pthread_mutex_unlock(&sh->start_lock);
	return state > 0 ? runner_main(r) : NULL;
}

static void release_threads(struct shared *sh, int state)
{
	pthread_mutex_lock(&sh->start_lock);
	sh->start_state = state;
	pthread_cond_broadcast(&sh->start_cond);
	pthread_mutex_unlock(&sh->start_lock);
}

static uint64_t cpu_now_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

static void merge(struct bench_result *dst, const struct bench_result *src)
{
	dst->count += src->count;
	dst->ok += src->ok;
	dst->interrupted |= src->interrupted;
	dst->warmup += src->warmup;
	dst->retries += src->retries;
	for (int i = 0; i <= 16; i++)
		dst->status[i] += src->status[i];
	hist_merge(&dst->latency, &src->latency);
	hist_merge(&dst->lag, &src->lag);
	for (size_t i = 0; i < BENCH_MIX_MAX; i++) {
		dst->calls[i].count += src->calls[i].count;
		dst->calls[i].ok += src->calls[i].ok;
		hist_merge(&dst->calls[i].latency, &src->calls[i].latency);
	}
	for (size_t i = 0; i < src->nerrors; i++)
		add_errmsg(dst, src->errors[i].status, src->errors[i].message,
			   src->errors[i].count);
	dst->errors_other += src->errors_other;
}

int bench_run(const struct bench_config *cfg, struct bench_result *res,
	      char *err, size_t errlen)
{
	struct shared sh;
	struct runner *rs;
	unsigned nthreads = cfg->threads ? cfg->threads : 1, started = 0;
	uint64_t cpu0, cpu1, scpu0 = 0, scpu1 = 0, last_end = 0;
	int rc = BENCH_OK, serr = -1;
	unsigned weights[BENCH_MIX_MAX];

	if (cfg->connections < nthreads) {
		set_err(err, errlen, "--threads %u needs at least %u connections "
			"(-c)", nthreads, nthreads);
		return BENCH_E_USAGE;
	}
	memset(&sh, 0, sizeof(sh));
	sh.cfg = cfg;
	sh.max_workers = conc_sched_max(&cfg->workers);
	if (cfg->paced && rate_sched_init(&sh.rate, &cfg->rate, err, errlen) < 0)
		return BENCH_E_USAGE;
	if (cfg->ncalls > 1) {
		for (size_t i = 0; i < cfg->ncalls; i++)
			weights[i] = cfg->calls[i].weight;
		sh.mix = malloc(MIX_SEQ_MAX * sizeof(*sh.mix));
		if (!sh.mix) {
			rate_sched_release(&sh.rate);
			set_err(err, errlen, "out of memory");
			return BENCH_E_INTERNAL;
		}
		sh.nmix = bench_mix_sequence(weights, cfg->ncalls, sh.mix, MIX_SEQ_MAX);
	}
	rs = calloc(nthreads, sizeof(*rs));
	if (!rs) {
		free(sh.mix);
		rate_sched_release(&sh.rate);
		set_err(err, errlen, "out of memory");
		return BENCH_E_INTERNAL;
	}
	pthread_barrier_init(&sh.barrier, NULL, nthreads);
	pthread_mutex_init(&sh.err_lock, NULL);
	pthread_mutex_init(&sh.start_lock, NULL);
	pthread_cond_init(&sh.start_cond, NULL);
	for (unsigned i = 0; i < nthreads; i++) {
		if (runner_init(&rs[i], &sh, i) < 0) {
			set_err(err, errlen, "%s", rs[i].err);
			rc = rs[i].rc;
			nthreads = i + 1; /* the ones made so far */
			goto out;
		}
	}
	if (cfg->csv && cfg->csv_header)
		fputs("request,method,worker,due_us,lag_us,latency_us,status\n",
		      cfg->csv);
	if (cfg->server_pid > 0)
		serr = procstat_cpu_ns(cfg->server_pid, &scpu0) < 0 ? errno : 0;
	cpu0 = cpu_now_ns();
	/* Runners 1.. on their own threads; runner 0 on this one. */
	for (unsigned i = 1; i < nthreads; i++) {
		if (pthread_create(&rs[i].thread, NULL, runner_thread, &rs[i]) != 0)
			break;
		rs[i].thread_started = 1;
		started++;
	}
	if (started != nthreads - 1) {
		release_threads(&sh, -1);
		for (unsigned i = 1; i < nthreads; i++)
			if (rs[i].thread_started)
				pthread_join(rs[i].thread, NULL);
		set_err(err, errlen, "cannot start %u threads", nthreads);
		rc = BENCH_E_INTERNAL;
		goto out;
	}
	release_threads(&sh, 1);
	runner_main(&rs[0]);
	for (unsigned i = 1; i < nthreads; i++)
		pthread_join(rs[i].thread, NULL);
	cpu1 = cpu_now_ns();
	if (!serr)
		serr = procstat_cpu_ns(cfg->server_pid, &scpu1) < 0 ? errno :
		       scpu1 < scpu0 ? ESRCH : 0; /* less: another process now */
	if (atomic_load(&sh.connect_failed)) {
		set_err(err, errlen, "%s", sh.connect_err);
		rc = BENCH_E_CONNECT;
		goto out;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		merge(res, &rs[i].res);
		if (rs[i].last_end > last_end)
			last_end = rs[i].last_end;
	}
	res->max_workers = sh.max_workers;
	res->total_ns = last_end > sh.t0 ? last_end - sh.t0 : 0;
	res->rps = res->total_ns ? (double)res->count * 1e9 / (double)res->total_ns : 0;
	res->cpu_ns = cpu1 - cpu0;
	res->server_cpu_err = serr;
	res->server_cpu_ns = serr ? 0 : scpu1 - scpu0;
out:
	for (unsigned i = 0; i < nthreads; i++)
		runner_release(&rs[i]);
	free(rs);
	free(sh.mix);
	rate_sched_release(&sh.rate);
	pthread_barrier_destroy(&sh.barrier);
	pthread_mutex_destroy(&sh.err_lock);
	pthread_mutex_destroy(&sh.start_lock);
	pthread_cond_destroy(&sh.start_cond);
	return rc;
}
