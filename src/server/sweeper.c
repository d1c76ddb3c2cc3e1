/*
 * The SLA sweeper: every 250 ms, one EXPIRE_DUE write sweeps every open
 * decision past its expires_at to EXPIRED (so "within a second" holds with
 * room to spare).  At most one sweep is in flight; the store makes the
 * nothing-to-do case cheap.
 */
#include "server/sweeper.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

#define SWEEP_EVERY_MS 250

static store *sweep_store;
static uv_timer_t sweep_timer;
static store_op sweep_op;
static atomic_int sweep_busy;
static unsigned trim_ticks;
#define TRIM_EVERY (10000 / SWEEP_EVERY_MS)

static void sweep_done(store_op *op)
{
	if (op->result == STORE_OK && op->expired) {
		char n[16];
		snprintf(n, sizeof(n), "%u", op->expired);
		log_msg(LOG_INFO, "decisions expired", "count", n, NULL);
	} else if (op->result != STORE_OK && op->result != STORE_E_CLOSED) {
		log_msg(LOG_WARN, "sweep failed", "error", op->message, NULL);
	}
	atomic_store(&sweep_busy, 0);
}

static void on_sweep(uv_timer_t *t)
{
	/*
	 * Every TRIM_EVERY ticks, hand the allocator's free pages back to the
	 * system.  glibc keeps what a burst freed (and its per-thread arenas
	 * fragment when one thread frees what another allocated: the store's
	 * writer and the workers), so without this RSS follows the highest
	 * load seen, not what is in use.  A walk of the arenas every 10 s.
	 */
	if (++trim_ticks >= TRIM_EVERY) {
		trim_ticks = 0;
		malloc_trim(0);
	}
	if (atomic_exchange(&sweep_busy, 1))
		return;
	memset(&sweep_op, 0, sizeof(sweep_op));
	sweep_op.kind = STORE_OP_EXPIRE_DUE;
	sweep_op.done = sweep_done;
	store_submit(sweep_store, &sweep_op);
}

void sweeper_start(uv_loop_t *loop, store *st)
{
	sweep_store = st;
	uv_timer_init(loop, &sweep_timer);
	uv_timer_start(&sweep_timer, on_sweep, SWEEP_EVERY_MS, SWEEP_EVERY_MS);
}

void sweeper_stop(void)
{
	uv_timer_stop(&sweep_timer);
	uv_close((uv_handle_t *)&sweep_timer, NULL);
}
