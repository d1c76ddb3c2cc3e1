/*
 * Streams: StreamDecisions (every committed change, in commit order, with
 * resume) and StreamEvents (metrics as they change, heartbeats).
 *
 * Fan-out without per-subscriber queues: the store's event log is the
 * queue.  After each commit the writer pokes every worker loop once (a
 * poke already pending is not repeated); each loop then pumps its own
 * subscribers from their position in the log.  A subscriber whose socket
 * does not drain waits (rpc_call_on_drain) instead of buffering; once it is
 * both stuck and more than STREAM_MAX_LAG events behind, its stream ends
 * with RESOURCE_EXHAUSTED naming the sequence to resume from.  Nobody is
 * ever skipped silently, and a slow reader costs nobody else anything.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "server/checks.h"
#include "server/gov.h"
#include "common/pbraw.h"

#define STREAM_HIGH_WATER (256u * 1024)  /* unsent bytes before we wait */
#define STREAM_MAX_LAG 10000             /* events behind while stuck */
#define STREAM_MAX_BEHIND (1024u * 1024) /* bytes behind while stuck */
#define STREAM_BATCH 64                  /* events read per store call */
#define TICK_MS 250                      /* metrics coalescing */
#define EVENTS_MAX_PENDING (1024u * 1024)

void gov_fill_metrics(Vertice__Governance__V1__DecisionMetrics *dm, const store_metrics *m);

struct dsub {
	rpc_call *call;
	struct loop_ctx *ctx;
	uint64_t next;          /* last sequence sent */
	int waiting;            /* for the socket to drain */
	int ended;
	struct dsub *link;
};

struct esub {
	rpc_call *call;
	uint64_t sent_seq;      /* metrics as of this sequence were sent */
	uint64_t last_beat_ms;
	struct esub *link;
};

struct loop_ctx {
	int index;
	int timer_on;
	uv_timer_t tick;
	struct dsub *dsubs;
	struct esub *esubs;
	atomic_int poke_pending;
	atomic_int ndsubs;      /* decision subscribers on this loop */
	atomic_int nesubs;      /* event subscribers (for /metrics) */
};

static struct gov *G;
static struct loop_ctx *ctxs;
static int nctxs;

static void dsub_unlink(struct dsub *s)
{
	struct dsub **pp = &s->ctx->dsubs;

	while (*pp && *pp != s)
		pp = &(*pp)->link;
	if (*pp) {
		*pp = s->link;
		atomic_fetch_sub(&s->ctx->ndsubs, 1);
	}
}

static void dsub_cancel(rpc_call *call, int reason, void *ud)
{
	struct dsub *s = ud;

	dsub_unlink(s);
	free(s);
}

/* Ends the stream with a status (from the loop, outside cancel). */
static void dsub_end(struct dsub *s, int status, const char *msg)
{
	rpc_call *call = s->call;

	rpc_call_on_cancel(call, NULL, NULL);
	rpc_call_on_drain(call, NULL, NULL);
	dsub_unlink(s);
	free(s);
	rpc_call_finish(call, status, msg);
}

struct send_ctx {
	struct dsub *s;
	buf msg;
	int failed;
};

static int send_event(const store_event *ev, void *ud)
{
	struct send_ctx *sc = ud;
	struct dsub *s = sc->s;

	/* DecisionEvent { type = 1; decision = 2; timestamp = 3; sequence = 4 } */
	buf_reset(&sc->msg);
	if (pb_put_uint(&sc->msg, 1, (uint64_t)ev->type) < 0 ||
	    pb_put_bytes(&sc->msg, 2, ev->decision, ev->decision_len) < 0 ||
	    pb_put_timestamp(&sc->msg, 3, ev->at_ms) < 0 ||
	    pb_put_uint(&sc->msg, 4, ev->seq) < 0 ||
	    rpc_call_send_raw(s->call, sc->msg.data, sc->msg.len) < 0) {
		sc->failed = 1;
		return 1;
	}
	s->next = ev->seq;
	return rpc_call_pending_bytes(s->call) >= STREAM_HIGH_WATER;
}

static void dsub_pump(struct dsub *s);

struct behind {
	size_t bytes;
};

static int add_behind(const store_event *ev, void *ud)
{
	struct behind *b = ud;

	b->bytes += ev->decision_len + 32;
	return b->bytes > STREAM_MAX_BEHIND;
}

static void dsub_drained(rpc_call *call, void *ud)
{
	struct dsub *s = ud;

	s->waiting = 0;
	dsub_pump(s);
}

static void dsub_pump(struct dsub *s)
{
	struct send_ctx sc;
	uint64_t last = store_last_seq(G->st);
	char msg[256];

	if (s->waiting) {
		/* Stuck: what it has not read yet, queued here or still in
		 * the log, is bounded in events and in bytes. */
		struct behind b = { rpc_call_pending_bytes(s->call) };
		int over = last - s->next > STREAM_MAX_LAG;

		if (!over && last > s->next) {
			store_events_since(G->st, s->next, STREAM_MAX_LAG, add_behind, &b);
			over = b.bytes > STREAM_MAX_BEHIND;
		}
		if (over) {
			/* The status goes out behind what is already queued, so
			 * the reader loses nothing: it gets every event up to
			 * s->next, then the point to resume from.  Until it reads,
			 * what it costs stays bounded by the high-water mark. */
			snprintf(msg, sizeof(msg),
				 "subscriber too slow; resume from sequence %llu",
				 (unsigned long long)s->next);
			dsub_end(s, VCLI_STATUS_RESOURCE_EXHAUSTED, msg);
		}
		return;
	}
	memset(&sc, 0, sizeof(sc));
	sc.s = s;
	buf_init(&sc.msg, 64u << 20);
	while (s->next < last) {
		uint64_t before = s->next;
		store_code rc = store_events_since(G->st, s->next, STREAM_BATCH, send_event, &sc);

		if (rc != STORE_OK) {
			buf_release(&sc.msg);
			if (rc == STORE_E_RANGE) {
				unsigned long long first = store_first_seq(G->st);

				snprintf(msg, sizeof(msg),
					 "events after sequence %llu are no longer retained (the "
					 "oldest kept is %llu): resume from %llu, or from 0 for new "
					 "events only", (unsigned long long)s->next, first,
					 first ? first - 1 : 0);
			}
			dsub_end(s, gov_status(rc), rc == STORE_E_RANGE ? msg : store_strerror(rc));
			return;
		}
		if (sc.failed) {
			buf_release(&sc.msg);
			dsub_end(s, VCLI_STATUS_RESOURCE_EXHAUSTED, "cannot queue event");
			return;
		}
		if (rpc_call_pending_bytes(s->call) >= STREAM_HIGH_WATER) {
			s->waiting = 1;
			rpc_call_on_drain(s->call, dsub_drained, s);
			break;
		}
		if (s->next == before)
			break; /* nothing new came back: do not spin */
	}
	buf_release(&sc.msg);
}

/* ---- StreamEvents ---- */

static int esub_send(struct esub *s, int type, const char *message, int with_metrics)
{
	Vertice__Governance__V1__GovernanceEvent ev =
		VERTICE__GOVERNANCE__V1__GOVERNANCE_EVENT__INIT;
	Vertice__Governance__V1__DecisionMetrics dm =
		VERTICE__GOVERNANCE__V1__DECISION_METRICS__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	store_metrics m;
	int64_t sec;
	int32_t nsec;

	ev.type = (Vertice__Governance__V1__GovernanceEvent__EventType)type;
	ev.message = (char *)message;
	if (with_metrics) {
		store_get_metrics(G->st, &m);
		gov_fill_metrics(&dm, &m);
		ev.metrics = &dm;
		s->sent_seq = m.last_seq;
	}
	time_wall(&sec, &nsec);
	ts.seconds = sec;
	ts.nanos = nsec;
	ev.timestamp = &ts;
	return rpc_call_send(s->call, &ev.base);
}

static void esub_unlink(struct loop_ctx *ctx, struct esub *s)
{
	struct esub **pp = &ctx->esubs;

	while (*pp && *pp != s)
		pp = &(*pp)->link;
	if (*pp) {
		*pp = s->link;
		atomic_fetch_sub(&ctx->nesubs, 1);
	}
}

static void esub_cancel(rpc_call *call, int reason, void *ud)
{
	struct esub *s = ud;

	esub_unlink(&ctxs[rpc_call_worker(call)], s);
	free(s);
}

static void esub_end(struct loop_ctx *ctx, struct esub *s, int status, const char *msg)
{
	rpc_call *call = s->call;

	rpc_call_on_cancel(call, NULL, NULL);
	esub_unlink(ctx, s);
	free(s);
	rpc_call_finish(call, status, msg);
}

/* Every TICK_MS on a loop with subscribers: coalesced metrics, heartbeats. */
static void on_tick(uv_timer_t *t)
{
	struct loop_ctx *ctx = t->data;
	uint64_t now = uv_now(t->loop);
	uint64_t last = store_last_seq(G->st);
	struct esub *s, *next;

	for (s = ctx->esubs; s; s = next) {
		next = s->link;
		if (rpc_call_pending_bytes(s->call) > EVENTS_MAX_PENDING) {
			esub_end(ctx, s, VCLI_STATUS_RESOURCE_EXHAUSTED, "subscriber too slow");
			continue;
		}
		if (s->sent_seq != last) {
			esub_send(s, VERTICE__GOVERNANCE__V1__GOVERNANCE_EVENT__EVENT_TYPE__METRICS_UPDATED,
				  "metrics updated", 1);
			s->last_beat_ms = now;
		} else if (now - s->last_beat_ms >=
			   atomic_load_explicit(&G->heartbeat_ms, memory_order_relaxed)) {
			esub_send(s, VERTICE__GOVERNANCE__V1__GOVERNANCE_EVENT__EVENT_TYPE__HEARTBEAT,
				  "heartbeat", 0);
			s->last_beat_ms = now;
		}
	}
	if (!ctx->esubs)
		uv_timer_stop(&ctx->tick);
}

static void ensure_tick(struct loop_ctx *ctx, uv_loop_t *loop)
{
	if (!ctx->timer_on) {
		uv_timer_init(loop, &ctx->tick);
		ctx->tick.data = ctx;
		uv_unref((uv_handle_t *)&ctx->tick);
		ctx->timer_on = 1;
	}
	if (!uv_is_active((uv_handle_t *)&ctx->tick))
		uv_timer_start(&ctx->tick, on_tick, TICK_MS, TICK_MS);
}

void gov_stream_events(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
		       const struct auth_principal *who)
{
	struct loop_ctx *ctx = &ctxs[rpc_call_worker(call)];
	struct esub *s = calloc(1, sizeof(*s));

	if (!s) {
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	s->call = call;
	s->last_beat_ms = uv_now(rpc_call_loop(call));
	rpc_call_on_cancel(call, esub_cancel, s);
	s->link = ctx->esubs;
	ctx->esubs = s;
	atomic_fetch_add(&ctx->nesubs, 1);
	esub_send(s, VERTICE__GOVERNANCE__V1__GOVERNANCE_EVENT__EVENT_TYPE__CONNECTION_ESTABLISHED,
		  "connected", 1);
	ensure_tick(ctx, rpc_call_loop(call));
}

/* ---- StreamDecisions ---- */

void gov_stream_decisions(rpc_call *call, const ProtobufCMessage *req, struct gov *g,
			  const struct auth_principal *who)
{
	const Vertice__Governance__V1__StreamDecisionsRequest *r = (const void *)req;
	struct loop_ctx *ctx = &ctxs[rpc_call_worker(call)];
	uint64_t last = store_last_seq(G->st);
	struct dsub *s;

	char err[256];
	int status = gov_check_stream_decisions(r, last, err, sizeof(err));

	if (status != VCLI_STATUS_OK) {
		rpc_call_finish(call, status, err);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	s->call = call;
	s->ctx = ctx;
	s->next = r->resume_after ? r->resume_after : last;
	rpc_call_on_cancel(call, dsub_cancel, s);
	s->link = ctx->dsubs;
	ctx->dsubs = s;
	/* Counted before the first pump: a commit whose hook saw no
	 * subscriber here was in the ring before that pump reads it. */
	atomic_fetch_add(&ctx->ndsubs, 1);
	/* Open the response now, so that the client sees the stream
	 * established even before the first event. */
	rpc_call_send_headers(call);
	dsub_pump(s);
}

/* ---- the commit hook ---- */

static void on_poke(uv_loop_t *loop, void *ud)
{
	struct loop_ctx *ctx = ud;
	struct dsub *s, *next;

	atomic_store(&ctx->poke_pending, 0);
	if (!loop)
		return;
	for (s = ctx->dsubs; s; s = next) {
		next = s->link;
		dsub_pump(s);
	}
}

/* On the store's writer thread, after a commit that added events.  Loops
 * without a decision subscriber are not woken: an idle worker woken per
 * commit cost a context switch each on a busy two-core machine. */
static void on_commit(uint64_t last_seq, void *ud)
{
	for (int i = 0; i < nctxs; i++)
		if (atomic_load(&ctxs[i].ndsubs) && !atomic_exchange(&ctxs[i].poke_pending, 1))
			rpc_server_post(G->srv, i, on_poke, &ctxs[i]);
}

int gov_streams_init(struct gov *g)
{
	G = g;
	nctxs = rpc_server_workers(g->srv);
	ctxs = calloc((size_t)(nctxs > 0 ? nctxs : 1), sizeof(*ctxs));
	if (!ctxs)
		return -1;
	for (int i = 0; i < nctxs; i++)
		ctxs[i].index = i;
	store_set_event_hook(g->st, on_commit, NULL);
	return 0;
}

void gov_stream_subscribers(unsigned *decisions, unsigned *events)
{
	*decisions = *events = 0;
	for (int i = 0; i < nctxs; i++) {
		*decisions += (unsigned)atomic_load(&ctxs[i].ndsubs);
		*events += (unsigned)atomic_load(&ctxs[i].nesubs);
	}
}

void gov_streams_release(void)
{
	free(ctxs);
	ctxs = NULL;
	nctxs = 0;
}
