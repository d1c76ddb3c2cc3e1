/*
 * Private: what governd shows Prometheus and the probes, over HTTP on its
 * own listener (--metrics-listen, default 127.0.0.1:9464):
 *   GET /metrics  the text exposition (docs/metrics.md lists every metric)
 *   GET /healthz  200 while the process serves
 *   GET /readyz   200 when the store is open and governd is not shutting
 *                 down; 503 with a one-line reason otherwise
 * The listener runs on governd's main loop (signals, the sweeper), never on
 * a gRPC worker: a slow or hostile HTTP client cannot delay a call.  A scrape
 * sums the workers' per-thread counters (rpc_server_method_stats) and reads
 * the store's figures under its read lock for a moment.
 */
#ifndef VCLI_SERVER_EXPORTER_H
#define VCLI_SERVER_EXPORTER_H

#include <stddef.h>

#include <uv.h>

#include "common/buf.h"

#include "rpc/server.h"
#include "store/store.h"

#define EXPORTER_DEFAULT_ADDR "127.0.0.1:9464"

/* 1 when addr turns the listener off: "off" or "". */
int exporter_disabled(const char *addr);

/*
 * Starts serving on loop.  addr NULL means the default address; then a
 * failure to listen there is logged as a warning and governd goes on
 * without metrics (a second governd on one host), while on an address the
 * user gave it returns -2 (not HOST:PORT, or the host does not resolve) or
 * -1 (cannot listen there) with err naming it.  0 otherwise; logs
 * msg="metrics listening" with the bound address.
 */
int exporter_start(uv_loop_t *loop, const char *addr, rpc_server *srv, store *st,
		   char *err, size_t errlen);

/* Shutdown has begun: /readyz answers 503 from now on, and the listener
 * closes once the gRPC workers have stopped (so the drain can be watched
 * and scraped to its end).  No-op when not started. */
void exporter_drain(void);

/* Renders the exposition into out (tests and the listener).  0, or -1 when
 * out's cap was too small. */
int exporter_render(buf *out);

#endif
