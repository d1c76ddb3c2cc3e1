/*
 * Private: a small HTTP/1.1 server on a libuv loop, for governd's
 * /metrics, /healthz and /readyz (server/exporter.c).
 *
 * It answers GET and HEAD (405 for other methods), one request at a time
 * per connection, with keep-alive.  Every resource has a bound, so a slow
 * or hostile client costs a fixed amount and only on this loop, never on
 * the gRPC workers:
 * - HTTPD_MAX_CONNS connections (more are accepted and closed at once);
 * - a request head of at most HTTPD_MAX_HEAD bytes (431 beyond), parsed
 *   strictly (common/httpreq.h: 400, 413, 505 and the connection closes);
 * - HTTPD_HEAD_TIMEOUT_MS from a request's first byte to its last header,
 *   HTTPD_IDLE_TIMEOUT_MS between requests, HTTPD_WRITE_TIMEOUT_MS to take
 *   a response: past any of them the connection closes.
 * - no request bodies (413).
 */
#ifndef VCLI_SERVER_HTTPD_H
#define VCLI_SERVER_HTTPD_H

#include <stddef.h>

#include <uv.h>

#include "common/buf.h"

#define HTTPD_MAX_CONNS 64
#define HTTPD_MAX_HEAD 8192
#define HTTPD_HEAD_TIMEOUT_MS 10000
#define HTTPD_IDLE_TIMEOUT_MS 120000
#define HTTPD_WRITE_TIMEOUT_MS 10000
#define HTTPD_MAX_BODY (16u * 1024 * 1024)  /* response body cap */

typedef struct httpd httpd;

/*
 * Answers a GET (or HEAD) of path: fills body (capped at HTTPD_MAX_BODY)
 * and *content_type (static text), returns the HTTP status (200, 404,
 * 503, ...).  Runs on the loop.  A body that hits its cap is answered 500.
 */
typedef int (*httpd_handler_fn)(const char *path, buf *body, const char **content_type,
				void *ud);

/* Listens on addr ("host:port"; port 0 picks one) on loop.  On success (0)
 * *out is the server and bound (when not NULL) the address with its real
 * port.  On failure err says why (naming addr): -2 when addr is not
 * host:port or does not resolve, -1 when it cannot be listened on.
 * Release with httpd_close(). */
int httpd_start(uv_loop_t *loop, const char *addr, httpd_handler_fn fn, void *ud,
		httpd **out, char *bound, size_t boundlen, char *err, size_t errlen);

/* Stops listening and closes every connection (responses not yet taken
 * are dropped); the memory goes once the loop has run their close
 * callbacks.  NULL is a no-op. */
void httpd_close(httpd *h);

#endif
