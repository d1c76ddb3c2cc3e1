/* A small HTTP/1.1 server for /metrics and the probes: see httpd.h. */
#include "server/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/httpreq.h"
#include "common/log.h"
#include "common/netaddr.h"

#define HTTPD_LINGER_MS 2000

struct hconn {
	httpd *h;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	char in[HTTPD_MAX_HEAD];
	size_t inlen;
	buf head, body;           /* the response being written */
	int writing;
	int close_after;          /* close once the response is out */
	int closing;
	int lingering;            /* response out, FIN sent: discarding input */
	uv_shutdown_t shut;
	int handles;              /* open handles (tcp, timer) */
	struct hconn *prev, *next;
};

struct httpd {
	uv_loop_t *loop;
	uv_tcp_t listener;
	int listening;
	int closed;               /* httpd_close was called */
	int handles;              /* listener + connections' handles */
	httpd_handler_fn fn;
	void *ud;
	struct hconn *conns;
	unsigned nconns;
};

static void maybe_free(httpd *h)
{
	if (h->closed && h->handles == 0)
		free(h);
}

static void conn_handle_closed(uv_handle_t *hd)
{
	struct hconn *c = hd->data;
	httpd *h = c->h;

	h->handles--;
	if (--c->handles > 0)
		return;
	buf_release(&c->head);
	buf_release(&c->body);
	free(c);
	maybe_free(h);
}

static void conn_close(struct hconn *c)
{
	httpd *h = c->h;

	if (c->closing)
		return;
	c->closing = 1;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->nconns--;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

static void serve(struct hconn *c);
static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

static void on_written(uv_write_t *wr, int status)
{
	struct hconn *c = wr->data;

	c->writing = 0;
	buf_reset(&c->head);
	buf_reset(&c->body);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->close_after) {
		/* Lingering close: a client still sending (a request we refused
		 * half-read) would get a reset that can destroy the response
		 * before it reads it.  Send FIN, discard its bytes for a while. */
		c->lingering = 1;
		c->inlen = 0;
		if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, NULL) != 0 ||
		    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
			conn_close(c);
			return;
		}
		uv_timer_start(&c->timer, on_timeout, HTTPD_LINGER_MS, 0);
		return;
	}
	uv_timer_start(&c->timer, on_timeout,
		       c->inlen ? HTTPD_HEAD_TIMEOUT_MS : HTTPD_IDLE_TIMEOUT_MS, 0);
	/* A request that arrived behind this one (pipelined) is served now. */
	if (c->inlen)
		serve(c);
	if (!c->closing && !c->writing &&
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

/* Queues status + body (HEAD: headers only). */
static void respond(struct hconn *c, int status, const char *ctype, int head_only,
		    const char *extra_header)
{
	uv_buf_t bufs[2];
	unsigned n = 1;

	if (buf_printf(&c->head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
				 "%s%s\r\n", status, reason(status), ctype, c->body.len,
		       extra_header ? extra_header : "",
		       c->close_after ? "Connection: close\r\n" : "") < 0) {
		conn_close(c);
		return;
	}
	bufs[0] = uv_buf_init((char *)c->head.data, (unsigned)c->head.len);
	if (!head_only && c->body.len)
		bufs[n++] = uv_buf_init((char *)c->body.data, (unsigned)c->body.len);
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->writing = 1;
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, bufs, n, on_written) < 0) {
		c->writing = 0;
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, HTTPD_WRITE_TIMEOUT_MS, 0);
}

static void respond_text(struct hconn *c, int status, const char *text, int head_only,
			 const char *extra_header)
{
	buf_reset(&c->body);
	if (buf_printf(&c->body, "%s\n", text) < 0) {
		conn_close(c);
		return;
	}
	respond(c, status, "text/plain; charset=utf-8", head_only, extra_header);
}

/* Parses what has arrived; answers a complete request. */
static void serve(struct hconn *c)
{
	httpreq req;
	httpreq_result rc = httpreq_parse(&req, c->in, c->inlen, sizeof(c->in));
	const char *ctype = "text/plain; charset=utf-8";
	int status, head_only;

	switch (rc) {
	case HTTPREQ_MORE:
		return;
	case HTTPREQ_DONE:
		break;
	case HTTPREQ_BAD:
		c->close_after = 1;
		respond_text(c, 400, req.error, 0, NULL);
		return;
	case HTTPREQ_TOO_LARGE:
		c->close_after = 1;
		respond_text(c, 431, "request head too large", 0, NULL);
		return;
	case HTTPREQ_VERSION:
		c->close_after = 1;
		respond_text(c, 505, "only HTTP/1.0 and HTTP/1.1 are served", 0, NULL);
		return;
	case HTTPREQ_BODY:
		c->close_after = 1;
		respond_text(c, 413, "request bodies are not accepted", 0, NULL);
		return;
	}
	memmove(c->in, c->in + req.head_len, c->inlen - req.head_len);
	c->inlen -= req.head_len;
	c->close_after = !req.keep_alive;
	head_only = strcmp(req.method, "HEAD") == 0;
	if (!head_only && strcmp(req.method, "GET") != 0) {
		respond_text(c, 405, "method not allowed; use GET", 0, "Allow: GET, HEAD\r\n");
		return;
	}
	buf_reset(&c->body);
	status = c->h->fn(req.path, &c->body, &ctype, c->h->ud);
	if (c->body.len >= c->body.max) {
		log_msg(LOG_WARN, "metrics: response over its cap", "path", req.path, NULL);
		respond_text(c, 500, "response too large", head_only, NULL);
		return;
	}
	respond(c, status, ctype, head_only, NULL);
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *b)
{
	struct hconn *c = hd->data;

	(void)suggested;
	*b = uv_buf_init(c->in + c->inlen, (unsigned)(sizeof(c->in) - c->inlen));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct hconn *c = s->data;

	(void)b;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	if (c->lingering) {
		c->inlen = 0;
		return;
	}
	if (c->inlen == 0 && !c->writing)
		uv_timer_start(&c->timer, on_timeout, HTTPD_HEAD_TIMEOUT_MS, 0);
	c->inlen += (size_t)nread;
	if (!c->writing)
		serve(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	httpd *h = server->data;
	struct hconn *c;

	if (status < 0 || h->closed)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->h = h;
	uv_tcp_init(h->loop, &c->tcp);
	uv_timer_init(h->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	h->handles += 2;
	buf_init(&c->head, 1024);
	buf_init(&c->body, HTTPD_MAX_BODY);
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	if (h->nconns > HTTPD_MAX_CONNS) {
		log_msg(LOG_DEBUG, "metrics: refusing connection: limit reached", NULL);
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_timer_start(&c->timer, on_timeout, HTTPD_IDLE_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

static void listener_closed(uv_handle_t *hd)
{
	httpd *h = hd->data;

	h->handles--;
	maybe_free(h);
}

int httpd_start(uv_loop_t *loop, const char *addr, httpd_handler_fn fn, void *ud,
		httpd **out, char *bound, size_t boundlen, char *err, size_t errlen)
{
	char host[256], port[16];
	int portnum, rc;
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	httpd *h;

	if (netaddr_split(addr, host, sizeof(host), &portnum) < 0) {
		snprintf(err, errlen, "invalid address '%s' (use HOST:PORT)", addr);
		return -2;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", portnum);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0 || !ai) {
		snprintf(err, errlen, "cannot resolve '%s': %s", addr, gai_strerror(rc));
		return -2;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->loop = loop;
	h->fn = fn;
	h->ud = ud;
	uv_tcp_init(loop, &h->listener);
	h->listener.data = h;
	h->handles = 1;
	rc = uv_tcp_bind(&h->listener, ai->ai_addr, 0);
	freeaddrinfo(ai);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on '%s': %s", addr, uv_strerror(rc));
		h->closed = 1;
		uv_close((uv_handle_t *)&h->listener, listener_closed);
		return -1;
	}
	h->listening = 1;
	if (bound && uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &sslen) == 0)
		netaddr_format((struct sockaddr *)&ss, bound, boundlen);
	*out = h;
	return 0;
}

void httpd_close(httpd *h)
{
	if (!h || h->closed)
		return;
	h->closed = 1;
	while (h->conns)
		conn_close(h->conns);
	uv_close((uv_handle_t *)&h->listener, listener_closed);
}
