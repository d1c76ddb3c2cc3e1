/*
 * chaosproxy: a fault-injecting TCP proxy for the chaos tests.  The fault
 * classes ("toxics") and their meaning follow Toxiproxy's; the code, the
 * control protocol and the choices written below are our own.
 *
 *   chaosproxy --upstream HOST:PORT [--listen [HOST:]PORT]
 *              [--control [HOST:]PORT] [--max-pending BYTES] [--seed N]
 *
 * Every connection accepted on the listening address is forwarded to the
 * upstream.  Once both ports listen, the first line on stdout is
 *
 *   listening 127.0.0.1:PORT control 127.0.0.1:PORT2
 *
 * Control protocol (docs/chaosproxy.md has the long form).  One request
 * per line, words separated by blanks; one reply line per request, either
 * "ok ..." or "err MESSAGE", where the message quotes the offending value.
 *
 *   add NAME TYPE STREAM [toxicity=P] [KEY=VALUE]...  ok added NAME
 *   remove NAME                                       ok removed NAME
 *   list     ok toxics=N | NAME TYPE STREAM toxicity=P KEY=VALUE... | ...
 *   down     stop listening (new connections are refused), cut all open ones
 *   up       listen again, on the same address
 *   reset    remove every toxic and bring the proxy up
 *   stats    ok state=up|down open=N total=N bytes_upstream=N
 *            bytes_downstream=N pending=N peak_pending=N toxics=N
 *   help     ok followed by the list of requests and toxic types
 *
 * STREAM is "upstream" (client to server bytes) or "downstream" (server to
 * client bytes).  toxicity (0 to 1, default 1) is the chance that a toxic
 * acts on one connection; it is drawn once per connection, when the toxic
 * is attached to it (at accept, or at "add" for connections already open).
 * A connection that loses the draw passes the bytes through that toxic
 * untouched.  Toxics of one stream act in the order they were added.
 *
 *   latency     latency=MS [jitter=MS]   each chunk is held latency +- jitter
 *                                        (uniform), order kept
 *   bandwidth   rate=KB/S                at most rate * 1024 bytes a second
 *   slow_close  delay=MS                 the end of the stream (FIN) is passed
 *                                        on delay after it arrives
 *   timeout     timeout=MS               nothing passes; the connection is
 *                                        closed timeout after the attach
 *                                        (0: never, bytes wait until removal)
 *   reset_peer  [timeout=MS]             timeout after the attach, both
 *                                        sockets are closed with RST
 *   slicer      average_size=BYTES [size_variation=BYTES] [delay=US]
 *                                        chunks cut into slices of
 *                                        average_size +- size_variation,
 *                                        delay microseconds apart
 *   limit_data  bytes=N                  N bytes (counted from the attach)
 *                                        pass, then the connection is closed
 *
 * Model.  Each direction of a connection is a pipeline: bytes read from
 * the source socket become items (data, end of stream, or "close the
 * connection"), which pass through one stage per toxic of that stream and
 * end in the sink, which writes them to the destination socket.  One pump
 * per direction moves whatever is ready from stage to stage and arms one
 * timer for the earliest stage that is waiting; removing a toxic hands the
 * items its stage held to the next stage, in order.
 *
 * Memory is bounded: every item of a direction, held by a stage or being
 * written, counts in that direction's pending bytes; reading from the
 * source stops above --max-pending (default 1 MiB) and resumes below half
 * of it.  A toxic that holds bytes (latency, bandwidth, timeout) therefore
 * slows the sender down through TCP instead of growing the proxy.
 *
 * Where we differ from Toxiproxy, on purpose:
 *  - timeout keeps the bytes (up to the cap) instead of dropping them, so
 *    that removing it heals the stream as a healed network would;
 *  - stacked latency toxics add up (each counts from when a chunk reaches
 *    it);
 *  - a half-close passes through as a half-close (shutdown), and a reset
 *    read from one side is passed to the other side as a reset.
 *
 * Exit status: 0 after SIGTERM or SIGINT, 1 when it cannot listen or
 * resolve the upstream, 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#define READ_SIZE (64u * 1024)            /* one read from a socket */
#define DEFAULT_MAX_PENDING (1u << 20)    /* bytes held per direction */
#define MAX_TOXICS 32
#define MAX_KEYS 3                        /* keys of one toxic type */
#define MAX_NAME 64
#define MAX_CONNS 4096
#define MAX_CTL_CLIENTS 32
#define CTL_LINE_MAX 1024                 /* a request, newline included */
#define CTL_MAX_WORDS 16
#define CTL_MAX_QUEUED (1u << 20)         /* replies a client has not read */
#define REPLY_MAX 16384
#define MAX_MS 3600000u                   /* an hour: longer than any test */
#define NS_PER_MS 1000000ull
#define NS_PER_US 1000ull
#define NS_PER_S 1000000000ull

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };
enum { DIR_UP = 0, DIR_DOWN = 1 };
enum close_how { CLOSE_FIN, CLOSE_RST };

static const char *const stream_names[] = { "upstream", "downstream" };

/* ------------------------------------------------------------------ types */

enum item_kind {
	ITEM_DATA,
	ITEM_EOF,   /* the source ended its stream: shut the destination down */
	ITEM_CLOSE, /* a toxic decided to close the connection (limit_data) */
};

/* Bytes (or an event) on their way through one direction.  Owned by the
 * queue that holds it, then by its write request until on_write. */
struct item {
	struct item *next;
	struct direction *dir;
	enum item_kind kind;
	uint64_t due;       /* ns, when the current stage may let it go */
	size_t acct;        /* what it counts in dir->pending */
	size_t len, off;    /* data[off, len) is still to go */
	uv_write_t req;
	char data[];
};

/* A FIFO of items; plain pointers so that stages can be moved in memory. */
struct queue {
	struct item *head, *tail;
};

struct toxic;
struct stage;
struct direction;

/* One toxic type: its keys, and how its stage stamps arriving items and
 * runs.  run() moves what is ready to stage i + 1 and lowers *wake to the
 * time it next needs to run; it returns -1 when it closed the connection. */
struct keydef {
	const char *name;
	int required;
	uint64_t min, max, def;
	const char *unit;
};

struct toxic_kind {
	const char *name;
	struct keydef keys[MAX_KEYS]; /* name NULL ends the list */
	void (*stamp)(struct direction *d, struct stage *s, struct item *it,
		      uint64_t now);
	int (*run)(struct direction *d, size_t i, uint64_t now, uint64_t *wake);
};

/* Indexes into toxic.param, per type (the order of toxic_kind.keys). */
enum { K_LATENCY = 0, K_JITTER = 1 };
enum { K_RATE = 0 };
enum { K_DELAY = 0 };
enum { K_TIMEOUT = 0 };
enum { K_AVERAGE_SIZE = 0, K_SIZE_VARIATION = 1, K_SLICE_DELAY = 2 };
enum { K_BYTES = 0 };

/* A toxic as added by the control protocol.  Owned by proxy.toxics;
 * stages point to it and are removed before it is freed. */
struct toxic {
	char name[MAX_NAME + 1];
	const struct toxic_kind *kind;
	int stream;
	double toxicity;
	uint64_t param[MAX_KEYS];
};

/* A toxic attached to one direction of one connection. */
struct stage {
	const struct toxic *toxic;
	int active;        /* won the toxicity draw */
	struct queue q;
	uint64_t attached; /* ns */
	uint64_t next;     /* bandwidth, slicer: ns when the next piece may go */
	uint64_t passed;   /* limit_data: bytes let through */
	int tripped;       /* limit_data: limit reached, close sent on */
};

struct conn;

struct direction {
	struct conn *conn;
	int index;                 /* DIR_UP or DIR_DOWN */
	uv_tcp_t *src, *dst;
	struct stage stages[MAX_TOXICS];
	size_t nstages;
	struct queue sink;         /* through every stage, waiting to be written */
	size_t inflight;           /* writes under way */
	size_t pending;            /* bytes of every item of this direction */
	int reading;
	int src_eof;
	int shut;                  /* end of stream passed on (shutdown asked) */
	int shut_done;
	int close_after;           /* close the connection once writes drain */
	uv_shutdown_t shutdown_req;
	uv_timer_t timer;
};

/* One proxied connection.  Owned by the proxy's list while open; freed
 * when the last of its four handles has closed. */
struct conn {
	struct proxy *proxy;
	struct conn *prev, *next;
	uv_tcp_t client, server;
	uv_connect_t connect_req;
	struct direction dir[2];
	int connected;
	int closing;
	int handles;
};

/* A control connection; owned by the proxy's list, freed on close. */
struct ctl {
	uv_tcp_t tcp;
	struct proxy *proxy;
	struct ctl *prev, *next;
	size_t len;
	int overlong;  /* the current line is too long: skip to its end */
	int has_nul;
	char line[CTL_LINE_MAX];
};

struct proxy {
	uv_loop_t loop;
	uv_tcp_t *listener;        /* NULL while down; freed on close */
	uv_tcp_t control;
	uv_signal_t sigterm, sigint;
	struct sockaddr_storage listen_addr; /* port filled in once bound */
	struct sockaddr_storage upstream;
	struct toxic *toxics[MAX_TOXICS];
	size_t ntoxics;
	struct conn *conns;
	size_t open;
	uint64_t total;
	uint64_t bytes[2];         /* written to the destination, per stream */
	size_t pending;            /* every item of every connection */
	size_t peak_pending;       /* highest pending of one direction */
	size_t max_pending;
	struct ctl *ctls;
	size_t nctls;
	uint64_t rng;
	int stopping;
	char rbuf[READ_SIZE];      /* every read lands here, then is copied */
};

/* One process, one proxy (the read buffer is too big for the stack). */
static struct proxy proxy;

/* ------------------------------------------------------------------ random */

/* xorshift64*: enough for jitter, slices and toxicity draws; --seed makes
 * a run repeatable. */
static uint64_t rng_next(struct proxy *p)
{
	uint64_t x = p->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	p->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* A double in [0, 1). */
static double rng_unit(struct proxy *p)
{
	return (double)(rng_next(p) >> 11) * (1.0 / 9007199254740992.0);
}

/* An integer in [-span, span]. */
static int64_t rng_spread(struct proxy *p, uint64_t span)
{
	if (span == 0)
		return 0;
	return (int64_t)(rng_next(p) % (2 * span + 1)) - (int64_t)span;
}

/* ------------------------------------------------------------------ items */

static void queue_push(struct queue *q, struct item *it)
{
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
}

static struct item *queue_pop(struct queue *q)
{
	struct item *it = q->head;

	if (it) {
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		it->next = NULL;
	}
	return it;
}

/* A new item of d holding a copy of data[0, len); NULL when out of
 * memory.  The caller queues it; item_free() releases it. */
static struct item *item_new(struct direction *d, enum item_kind kind,
			     const char *data, size_t len)
{
	struct proxy *p = d->conn->proxy;
	struct item *it = malloc(sizeof(*it) + len);

	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	it->dir = d;
	it->kind = kind;
	it->len = len;
	it->acct = sizeof(*it) + len;
	if (len)
		memcpy(it->data, data, len);
	d->pending += it->acct;
	p->pending += it->acct;
	if (d->pending > p->peak_pending)
		p->peak_pending = d->pending;
	return it;
}

static void item_free(struct item *it)
{
	struct direction *d = it->dir;

	d->pending -= it->acct;
	d->conn->proxy->pending -= it->acct;
	free(it);
}

/* Splits the first n bytes (fewer than remain) off a data item, as a new
 * item; NULL when out of memory. */
static struct item *item_split(struct item *it, size_t n)
{
	struct item *piece = item_new(it->dir, ITEM_DATA, it->data + it->off, n);

	if (piece)
		it->off += n;
	return piece;
}

static void queue_free(struct queue *q)
{
	struct item *it;

	while ((it = queue_pop(q)) != NULL)
		item_free(it);
}

/* ------------------------------------------------------------------ connections */

static void conn_close(struct conn *c, enum close_how how);
static void dir_pump(struct direction *d);

static void lower(uint64_t *wake, uint64_t t)
{
	if (t < *wake)
		*wake = t;
}

/* Queues an item at stage i of d (the sink when i is past the last stage),
 * stamped by that stage. */
static void dir_push(struct direction *d, size_t i, struct item *it, uint64_t now)
{
	if (i < d->nstages) {
		struct stage *s = &d->stages[i];

		it->due = 0;
		if (s->active && s->toxic->kind->stamp)
			s->toxic->kind->stamp(d, s, it, now);
		queue_push(&s->q, it);
	} else {
		queue_push(&d->sink, it);
	}
}

/* Moves the head of stage i on to the next stage. */
static void pass_head(struct direction *d, size_t i, uint64_t now)
{
	dir_push(d, i + 1, queue_pop(&d->stages[i].q), now);
}

static void pass_all(struct direction *d, size_t i, uint64_t now)
{
	while (d->stages[i].q.head)
		pass_head(d, i, now);
}

static int conn_fail(struct conn *c)
{
	conn_close(c, CLOSE_RST);
	return -1;
}

static void dir_attach(struct direction *d, const struct toxic *t, uint64_t now)
{
	struct stage *s = &d->stages[d->nstages++];

	memset(s, 0, sizeof(*s));
	s->toxic = t;
	/* Drawn once, here: the connection keeps its fate while the toxic is
	 * attached (Toxiproxy draws per link in the same way). */
	s->active = rng_unit(d->conn->proxy) < t->toxicity;
	s->attached = now;
}

/* Removes t's stage from d; what it held goes on to the next stage after
 * what that one holds (it arrived later), so order is kept. */
static void dir_detach(struct direction *d, const struct toxic *t, uint64_t now)
{
	struct queue held;
	struct item *it;
	size_t i;

	for (i = 0; i < d->nstages && d->stages[i].toxic != t; i++)
		;
	if (i == d->nstages)
		return;
	held = d->stages[i].q;
	memmove(&d->stages[i], &d->stages[i + 1],
		(d->nstages - i - 1) * sizeof(d->stages[0]));
	d->nstages--;
	while ((it = queue_pop(&held)) != NULL)
		dir_push(d, i, it, now);
}

static void on_write(uv_write_t *req, int status)
{
	struct item *it = req->data;
	struct direction *d = it->dir;
	struct conn *c = d->conn;

	d->inflight--;
	if (status == 0)
		c->proxy->bytes[d->index] += it->len - it->off;
	item_free(it);
	if (c->closing)
		return;
	if (status < 0) {
		/* The destination is gone (reset or closed under us): pass the
		 * reset on to the other side. */
		conn_close(c, CLOSE_RST);
		return;
	}
	dir_pump(d);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct direction *d = req->data;
	struct conn *c = d->conn;

	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c, CLOSE_RST);
		return;
	}
	d->shut_done = 1;
	/* Both ends have said they are done: nothing more can pass. */
	if (c->dir[DIR_UP].shut_done && c->dir[DIR_DOWN].shut_done)
		conn_close(c, CLOSE_FIN);
}

/* Writes what reached the sink.  Returns -1 when the connection closed. */
static int sink_flush(struct direction *d)
{
	struct conn *c = d->conn;
	struct item *it;

	if (!c->connected)
		return 0; /* upstream bytes wait for the connect */
	while ((it = queue_pop(&d->sink)) != NULL) {
		uv_buf_t b;

		if (d->shut || d->close_after) {
			item_free(it); /* nothing passes after the end */
			continue;
		}
		switch (it->kind) {
		case ITEM_DATA:
			if (it->off == it->len) {
				item_free(it);
				break;
			}
			b = uv_buf_init(it->data + it->off, (unsigned)(it->len - it->off));
			it->req.data = it;
			if (uv_write(&it->req, (uv_stream_t *)d->dst, &b, 1, on_write) != 0) {
				item_free(it);
				return conn_fail(c);
			}
			d->inflight++;
			break;
		case ITEM_EOF:
			item_free(it);
			d->shut = 1;
			d->shutdown_req.data = d;
			if (uv_shutdown(&d->shutdown_req, (uv_stream_t *)d->dst,
					on_shutdown) != 0)
				return conn_fail(c);
			break;
		case ITEM_CLOSE:
			item_free(it);
			d->close_after = 1;
			break;
		}
	}
	if (d->close_after && d->inflight == 0) {
		conn_close(c, CLOSE_FIN);
		return -1;
	}
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct proxy *p = &proxy;

	*buf = uv_buf_init(p->rbuf, sizeof(p->rbuf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = stream->data;
	struct direction *d = &c->dir[stream == (uv_stream_t *)&c->client ? DIR_UP : DIR_DOWN];
	uint64_t now = uv_hrtime();
	struct item *it;

	if (c->closing || nread == 0)
		return;
	if (nread == UV_EOF) {
		d->src_eof = 1;
		uv_read_stop(stream);
		d->reading = 0;
		it = item_new(d, ITEM_EOF, NULL, 0);
	} else if (nread < 0) {
		conn_close(c, CLOSE_RST);
		return;
	} else {
		it = item_new(d, ITEM_DATA, buf->base, (size_t)nread);
	}
	if (!it) {
		conn_fail(c);
		return;
	}
	dir_push(d, 0, it, now);
	dir_pump(d);
}

/* Reads from the source while the direction holds little enough; stops
 * above the cap and starts again below half of it.  Returns -1 when the
 * connection closed. */
static int dir_update_reading(struct direction *d)
{
	struct conn *c = d->conn;
	size_t cap = c->proxy->max_pending;
	int can = !d->src_eof && c->connected;

	if (d->reading && (!can || d->pending > cap)) {
		uv_read_stop((uv_stream_t *)d->src);
		d->reading = 0;
	} else if (!d->reading && can && d->pending <= cap / 2) {
		if (uv_read_start((uv_stream_t *)d->src, on_alloc, on_read) != 0)
			return conn_fail(c);
		d->reading = 1;
	}
	return 0;
}

static void on_dir_timer(uv_timer_t *t)
{
	dir_pump(t->data);
}

/* Moves everything that is ready through d's stages into its sink, writes
 * it, and arms d's timer for the earliest stage that waits. */
static void dir_pump(struct direction *d)
{
	struct conn *c = d->conn;
	uint64_t now = uv_hrtime(), wake = UINT64_MAX;
	size_t i;

	if (c->closing)
		return;
	for (i = 0; i < d->nstages; i++) {
		struct stage *s = &d->stages[i];

		if (!s->active) {
			pass_all(d, i, now);
			continue;
		}
		if (s->toxic->kind->run(d, i, now, &wake) < 0)
			return;
	}
	if (sink_flush(d) < 0 || dir_update_reading(d) < 0)
		return;
	if (wake == UINT64_MAX) {
		uv_timer_stop(&d->timer);
	} else {
		uint64_t ms = wake > now ? (wake - now + NS_PER_MS - 1) / NS_PER_MS : 1;

		/* The timer counts from the loop's cached time; fresh time
		 * keeps it from firing early (an early pump just re-arms). */
		uv_update_time(&c->proxy->loop);
		uv_timer_start(&d->timer, on_dir_timer, ms, 0);
	}
}

static void on_conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles == 0)
		free(c);
}

/* Closing with SO_LINGER 0 makes the kernel send RST instead of FIN. */
static void set_linger0(uv_tcp_t *tcp)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Closes both sockets (with RST for CLOSE_RST) and drops what the
 * connection held.  Writes under way end in on_write with UV_ECANCELED
 * and free their items there; the struct goes with its last handle. */
static void conn_close(struct conn *c, enum close_how how)
{
	struct proxy *p = c->proxy;
	int k;

	if (c->closing)
		return;
	c->closing = 1;
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->open--;
	for (k = 0; k < 2; k++) {
		struct direction *d = &c->dir[k];

		for (size_t i = 0; i < d->nstages; i++)
			queue_free(&d->stages[i].q);
		queue_free(&d->sink);
		d->timer.data = c;
		uv_close((uv_handle_t *)&d->timer, on_conn_handle_closed);
	}
	if (how == CLOSE_RST) {
		set_linger0(&c->client);
		set_linger0(&c->server);
	}
	uv_close((uv_handle_t *)&c->client, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->server, on_conn_handle_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	if (c->closing)
		return;
	if (status < 0) {
		/* No upstream: the client sees its connection closed, as a
		 * proxy can do no better. */
		conn_close(c, CLOSE_FIN);
		return;
	}
	c->connected = 1;
	uv_tcp_nodelay(&c->server, 1);
	dir_pump(&c->dir[DIR_UP]);
	dir_pump(&c->dir[DIR_DOWN]);
}

static void conn_accept(struct proxy *p, uv_stream_t *listener)
{
	struct conn *c = calloc(1, sizeof(*c));
	uint64_t now = uv_hrtime();
	int k;

	if (!c)
		return; /* out of memory: libuv stops accepting, nothing better to do */
	c->proxy = p;
	uv_tcp_init(&p->loop, &c->client);
	uv_tcp_init(&p->loop, &c->server);
	c->client.data = c->server.data = c->connect_req.data = c;
	c->handles = 2;
	for (k = 0; k < 2; k++) {
		struct direction *d = &c->dir[k];

		d->conn = c;
		d->index = k;
		d->src = k == DIR_UP ? &c->client : &c->server;
		d->dst = k == DIR_UP ? &c->server : &c->client;
		uv_timer_init(&p->loop, &d->timer);
		d->timer.data = d;
		c->handles++;
	}
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	p->open++;
	p->total++;

	if (uv_accept(listener, (uv_stream_t *)&c->client) != 0) {
		conn_close(c, CLOSE_FIN);
		return;
	}
	if (p->open > MAX_CONNS) {
		conn_close(c, CLOSE_RST);
		return;
	}
	uv_tcp_nodelay(&c->client, 1);
	for (size_t i = 0; i < p->ntoxics; i++)
		dir_attach(&c->dir[p->toxics[i]->stream], p->toxics[i], now);
	if (uv_tcp_connect(&c->connect_req, &c->server,
			   (const struct sockaddr *)&p->upstream, on_connect) != 0) {
		conn_close(c, CLOSE_FIN);
		return;
	}
	/* Reading the client starts with the connect (dir_update_reading);
	 * the pumps arm the timers of toxics that act on their own. */
	dir_pump(&c->dir[DIR_UP]);
	dir_pump(&c->dir[DIR_DOWN]);
}

/* ------------------------------------------------------------------ toxics */

static void stamp_latency(struct direction *d, struct stage *s, struct item *it,
			  uint64_t now)
{
	const uint64_t *param = s->toxic->param;
	int64_t delay = (int64_t)(param[K_LATENCY] * NS_PER_MS) +
			rng_spread(d->conn->proxy, param[K_JITTER] * NS_PER_MS);

	it->due = now + (delay > 0 ? (uint64_t)delay : 0);
}

/* Only the head is looked at, so a chunk never overtakes an earlier one
 * that drew a longer delay. */
static int run_latency(struct direction *d, size_t i, uint64_t now, uint64_t *wake)
{
	struct stage *s = &d->stages[i];

	while (s->q.head && s->q.head->due <= now)
		pass_head(d, i, now);
	if (s->q.head)
		lower(wake, s->q.head->due);
	return 0;
}

static int run_bandwidth(struct direction *d, size_t i, uint64_t now, uint64_t *wake)
{
	struct stage *s = &d->stages[i];
	uint64_t rate = s->toxic->param[K_RATE] * 1024; /* bytes a second */
	/* Pieces of 20 ms worth: a steady flow rather than one burst a
	 * second. */
	uint64_t quantum = rate / 50;
	struct item *it;

	if (quantum < 1)
		quantum = 1;
	if (quantum > READ_SIZE)
		quantum = READ_SIZE;
	while ((it = s->q.head) != NULL) {
		size_t left, n;

		if (it->kind != ITEM_DATA) {
			pass_head(d, i, now);
			continue;
		}
		if (now < s->next) {
			lower(wake, s->next);
			break;
		}
		left = it->len - it->off;
		n = left < quantum ? left : (size_t)quantum;
		if (n < left) {
			struct item *piece = item_split(it, n);

			if (!piece)
				return conn_fail(d->conn);
			dir_push(d, i + 1, piece, now);
		} else {
			pass_head(d, i, now);
		}
		/* A timer that fired a little late keeps its credit; an idle
		 * link earns none (no burst after a pause). */
		if (s->next + 20 * NS_PER_MS < now)
			s->next = now;
		s->next += n * NS_PER_S / rate;
	}
	return 0;
}

static void stamp_slow_close(struct direction *d, struct stage *s, struct item *it,
			     uint64_t now)
{
	if (it->kind != ITEM_DATA)
		it->due = now + s->toxic->param[K_DELAY] * NS_PER_MS;
}

static int run_slow_close(struct direction *d, size_t i, uint64_t now, uint64_t *wake)
{
	struct stage *s = &d->stages[i];
	struct item *it;

	while ((it = s->q.head) != NULL) {
		if (it->kind != ITEM_DATA && it->due > now) {
			lower(wake, it->due);
			break;
		}
		pass_head(d, i, now);
	}
	return 0;
}

/* Holds everything; with a timeout, closes the connection that long
 * after the attach. */
static int run_timeout(struct direction *d, size_t i, uint64_t now, uint64_t *wake)
{
	struct stage *s = &d->stages[i];
	uint64_t ms = s->toxic->param[K_TIMEOUT];

	if (ms) {
		uint64_t deadline = s->attached + ms * NS_PER_MS;

		if (now >= deadline) {
			conn_close(d->conn, CLOSE_FIN);
			return -1;
		}
		lower(wake, deadline);
	}
	return 0;
}

static int run_reset_peer(struct direction *d, size_t i, uint64_t now, uint64_t *wake)
{
	struct stage *s = &d->stages[i];
	uint64_t deadline = s->attached + s->toxic->param[K_TIMEOUT] * NS_PER_MS;

	if (now >= deadline) {
		conn_close(d->conn, CLOSE_RST);
		return -1;
	}
	lower(wake, deadline);
	pass_all(d, i, now);
	return 0;
}

static int run_slicer(struct direction *d, size_t i, uint64_t now, uint64_t *wake)
{
	struct stage *s = &d->stages[i];
	const uint64_t *param = s->toxic->param;
	struct item *it;

	while ((it = s->q.head) != NULL) {
		int64_t size;
		size_t left;

		if (it->kind != ITEM_DATA) {
			pass_head(d, i, now);
			continue;
		}
		if (now < s->next) {
			lower(wake, s->next);
			break;
		}
		size = (int64_t)param[K_AVERAGE_SIZE] +
		       rng_spread(d->conn->proxy, param[K_SIZE_VARIATION]);
		if (size < 1)
			size = 1;
		left = it->len - it->off;
		if ((uint64_t)size < left) {
			struct item *piece = item_split(it, (size_t)size);

			if (!piece)
				return conn_fail(d->conn);
			dir_push(d, i + 1, piece, now);
		} else {
			pass_head(d, i, now);
		}
		s->next = now + param[K_SLICE_DELAY] * NS_PER_US;
	}
	return 0;
}

static int run_limit_data(struct direction *d, size_t i, uint64_t now, uint64_t *wake)
{
	struct stage *s = &d->stages[i];
	uint64_t limit = s->toxic->param[K_BYTES];
	struct item *it;

	while (!s->tripped) {
		uint64_t left, room;

		if (s->passed >= limit) {
			struct item *close = item_new(d, ITEM_CLOSE, NULL, 0);

			if (!close)
				return conn_fail(d->conn);
			dir_push(d, i + 1, close, now);
			s->tripped = 1;
			break;
		}
		if ((it = s->q.head) == NULL)
			break;
		if (it->kind != ITEM_DATA) {
			pass_head(d, i, now);
			continue;
		}
		left = it->len - it->off;
		room = limit - s->passed;
		if (left <= room) {
			pass_head(d, i, now);
			s->passed += left;
		} else {
			struct item *piece = item_split(it, (size_t)room);

			if (!piece)
				return conn_fail(d->conn);
			dir_push(d, i + 1, piece, now);
			s->passed += room;
		}
	}
	if (s->tripped)
		queue_free(&s->q); /* the connection is closing: drop the rest */
	return 0;
}

#define MS(name, req, def) { name, req, 0, MAX_MS, def, "ms" }

static const struct toxic_kind kinds[] = {
	{ "latency", { MS("latency", 1, 0), MS("jitter", 0, 0) },
	  stamp_latency, run_latency },
	{ "bandwidth", { { "rate", 1, 1, 1000000000, 0, "KB/s" } },
	  NULL, run_bandwidth },
	{ "slow_close", { MS("delay", 1, 0) },
	  stamp_slow_close, run_slow_close },
	{ "timeout", { MS("timeout", 1, 0) },
	  NULL, run_timeout },
	{ "reset_peer", { MS("timeout", 0, 0) },
	  NULL, run_reset_peer },
	{ "slicer", { { "average_size", 1, 1, READ_SIZE, 0, "bytes" },
		      { "size_variation", 0, 0, READ_SIZE, 0, "bytes" },
		      { "delay", 0, 0, 1000ull * MAX_MS, 0, "us" } },
	  NULL, run_slicer },
	{ "limit_data", { { "bytes", 1, 0, UINT64_C(1) << 50, 0, "bytes" } },
	  NULL, run_limit_data },
};

#undef MS

/* ------------------------------------------------------------------ listening */

static void on_accept(uv_stream_t *listener, int status)
{
	if (status == 0)
		conn_accept(listener->data, listener);
}

static void on_free_handle(uv_handle_t *h)
{
	free(h);
}

static int addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* "127.0.0.1:PORT" or "[::1]:PORT" into out. */
static void addr_format(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char host[64] = "?";

	if (ss->ss_family == AF_INET6) {
		uv_ip6_name((const struct sockaddr_in6 *)ss, host, sizeof(host));
		snprintf(out, size, "[%s]:%d", host, addr_port(ss));
	} else {
		uv_ip4_name((const struct sockaddr_in *)ss, host, sizeof(host));
		snprintf(out, size, "%s:%d", host, addr_port(ss));
	}
}

/* Initializes h, binds it to *addr and listens; *addr then holds the
 * bound port.  Returns 0 or a libuv error code; either way h is
 * initialized and the caller closes it. */
static int listen_on(struct proxy *p, struct sockaddr_storage *addr,
		     uv_connection_cb cb, uv_tcp_t *h)
{
	int len = sizeof(*addr);
	int rc;

	uv_tcp_init(&p->loop, h);
	h->data = p;
	rc = uv_tcp_bind(h, (const struct sockaddr *)addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)h, SOMAXCONN, cb);
	if (rc == 0)
		rc = uv_tcp_getsockname(h, (struct sockaddr *)addr, &len);
	return rc;
}

static int proxy_up(struct proxy *p)
{
	uv_tcp_t *h;
	int rc;

	if (p->listener)
		return 0;
	h = malloc(sizeof(*h));
	if (!h)
		return UV_ENOMEM;
	rc = listen_on(p, &p->listen_addr, on_accept, h);
	if (rc != 0) {
		uv_close((uv_handle_t *)h, on_free_handle);
		return rc;
	}
	p->listener = h;
	return 0;
}

static void proxy_cut_all(struct proxy *p)
{
	while (p->conns)
		conn_close(p->conns, CLOSE_FIN);
}

/* Closing the listening socket makes new connections refused, as from a
 * host with nothing listening. */
static void proxy_down(struct proxy *p)
{
	if (p->listener) {
		uv_close((uv_handle_t *)p->listener, on_free_handle);
		p->listener = NULL;
	}
	proxy_cut_all(p);
}

/* ------------------------------------------------------------------ control */

/* A reply under construction; a reply longer than REPLY_MAX is cut
 * (it cannot be: MAX_TOXICS lines of a few dozen bytes). */
struct sb {
	char buf[REPLY_MAX];
	size_t len;
};

static void sb_printf(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= sizeof(b->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, sizeof(b->buf) - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < sizeof(b->buf) - b->len ?
			  (size_t)n : sizeof(b->buf) - b->len - 1;
}

/* A user's word in double quotes, unprintable bytes as '?', cut at 64. */
static void sb_quoted(struct sb *b, const char *s)
{
	char q[MAX_NAME + 8];
	size_t n = 0;

	for (; *s && n < MAX_NAME; s++, n++)
		q[n] = (*s >= 0x20 && *s < 0x7f && *s != '"') ? *s : '?';
	q[n] = '\0';
	sb_printf(b, "\"%s%s\"", q, *s ? "..." : "");
}

static struct toxic *toxic_find(struct proxy *p, const char *name, size_t *index)
{
	for (size_t i = 0; i < p->ntoxics; i++) {
		if (strcmp(p->toxics[i]->name, name) == 0) {
			if (index)
				*index = i;
			return p->toxics[i];
		}
	}
	return NULL;
}

static const struct toxic_kind *kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

/* Decimal digits only, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_probability(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s || strchr(s, 'x') || strchr(s, 'X'))
		return -1; /* no hex floats */
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.0 && v <= 1.0))
		return -1;
	*out = v;
	return 0;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_NAME)
		return 0;
	for (; *s; s++) {
		char ch = *s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return 0;
	}
	return 1;
}

static void toxic_describe(struct sb *b, const struct toxic *t)
{
	sb_printf(b, "%s %s %s toxicity=%g", t->name, t->kind->name,
		  stream_names[t->stream], t->toxicity);
	for (int k = 0; k < MAX_KEYS && t->kind->keys[k].name; k++)
		sb_printf(b, " %s=%" PRIu64, t->kind->keys[k].name, t->param[k]);
}

static void kinds_describe(struct sb *b)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		sb_printf(b, "%s%s", i ? ", " : "", kinds[i].name);
}

/* Pumps every open connection (after a change of toxics).  A pump may
 * close its connection, which unlinks only that one. */
static void pump_all(struct proxy *p)
{
	struct conn *c = p->conns, *next;

	for (; c; c = next) {
		next = c->next;
		dir_pump(&c->dir[DIR_UP]);
		if (!c->closing)
			dir_pump(&c->dir[DIR_DOWN]);
	}
}

/* Parses the KEY=VALUE words of an add into t; returns 0, or -1 with the
 * err reply written to b. */
static int toxic_parse_keys(struct toxic *t, int argc, char **argv, struct sb *b)
{
	const struct toxic_kind *kind = t->kind;
	int seen[MAX_KEYS] = { 0 }, seen_toxicity = 0, k;

	t->toxicity = 1.0;
	for (int a = 0; a < argc; a++) {
		char *eq = strchr(argv[a], '=');
		const char *key = argv[a], *value;

		if (!eq || eq == argv[a]) {
			sb_printf(b, "err bad argument ");
			sb_quoted(b, argv[a]);
			sb_printf(b, ": want KEY=VALUE");
			return -1;
		}
		*eq = '\0';
		value = eq + 1;
		if (strcmp(key, "toxicity") == 0) {
			if (seen_toxicity++) {
				sb_printf(b, "err key \"toxicity\" given twice");
				return -1;
			}
			if (parse_probability(value, &t->toxicity) < 0) {
				sb_printf(b, "err bad toxicity ");
				sb_quoted(b, value);
				sb_printf(b, ": want a number from 0 to 1");
				return -1;
			}
			continue;
		}
		for (k = 0; k < MAX_KEYS && kind->keys[k].name; k++)
			if (strcmp(kind->keys[k].name, key) == 0)
				break;
		if (k == MAX_KEYS || !kind->keys[k].name) {
			sb_printf(b, "err unknown key ");
			sb_quoted(b, key);
			sb_printf(b, " for %s (keys: toxicity", kind->name);
			for (k = 0; k < MAX_KEYS && kind->keys[k].name; k++)
				sb_printf(b, ", %s", kind->keys[k].name);
			sb_printf(b, ")");
			return -1;
		}
		if (seen[k]++) {
			sb_printf(b, "err key ");
			sb_quoted(b, key);
			sb_printf(b, " given twice");
			return -1;
		}
		if (parse_u64(value, &t->param[k]) < 0 ||
		    t->param[k] < kind->keys[k].min || t->param[k] > kind->keys[k].max) {
			sb_printf(b, "err bad value ");
			sb_quoted(b, value);
			sb_printf(b, " for %s: want a whole number of %s from %" PRIu64
				  " to %" PRIu64, key, kind->keys[k].unit,
				  kind->keys[k].min, kind->keys[k].max);
			return -1;
		}
	}
	for (k = 0; k < MAX_KEYS && kind->keys[k].name; k++) {
		if (seen[k])
			continue;
		if (kind->keys[k].required) {
			sb_printf(b, "err missing key \"%s\" for %s (add %s=N)",
				  kind->keys[k].name, kind->name, kind->keys[k].name);
			return -1;
		}
		t->param[k] = kind->keys[k].def;
	}
	if (kind->run == run_slicer &&
	    t->param[K_SIZE_VARIATION] >= t->param[K_AVERAGE_SIZE]) {
		sb_printf(b, "err size_variation \"%" PRIu64 "\" must be less than"
			  " average_size \"%" PRIu64 "\"", t->param[K_SIZE_VARIATION],
			  t->param[K_AVERAGE_SIZE]);
		return -1;
	}
	return 0;
}

static void cmd_add(struct proxy *p, int argc, char **argv, struct sb *b)
{
	struct toxic t, *heap;
	uint64_t now;

	memset(&t, 0, sizeof(t));
	if (!name_ok(argv[0])) {
		sb_printf(b, "err bad toxic name ");
		sb_quoted(b, argv[0]);
		sb_printf(b, ": use 1 to %d letters, digits, '_', '-' or '.'", MAX_NAME);
		return;
	}
	if (toxic_find(p, argv[0], NULL)) {
		sb_printf(b, "err toxic ");
		sb_quoted(b, argv[0]);
		sb_printf(b, " exists; remove it first");
		return;
	}
	t.kind = kind_find(argv[1]);
	if (!t.kind) {
		sb_printf(b, "err unknown toxic type ");
		sb_quoted(b, argv[1]);
		sb_printf(b, " (types: ");
		kinds_describe(b);
		sb_printf(b, ")");
		return;
	}
	if (strcmp(argv[2], "upstream") == 0) {
		t.stream = DIR_UP;
	} else if (strcmp(argv[2], "downstream") == 0) {
		t.stream = DIR_DOWN;
	} else {
		sb_printf(b, "err bad stream ");
		sb_quoted(b, argv[2]);
		sb_printf(b, ": want upstream or downstream");
		return;
	}
	if (p->ntoxics == MAX_TOXICS) {
		sb_printf(b, "err too many toxics (at most %d); remove one first", MAX_TOXICS);
		return;
	}
	if (toxic_parse_keys(&t, argc - 3, argv + 3, b) < 0)
		return;
	snprintf(t.name, sizeof(t.name), "%s", argv[0]);
	heap = malloc(sizeof(*heap));
	if (!heap) {
		sb_printf(b, "err out of memory");
		return;
	}
	*heap = t;
	p->toxics[p->ntoxics++] = heap;
	now = uv_hrtime();
	for (struct conn *c = p->conns; c; c = c->next)
		dir_attach(&c->dir[heap->stream], heap, now);
	pump_all(p);
	sb_printf(b, "ok added %s", heap->name);
}

/* Detaches toxic index i from every connection and frees it (no pump). */
static void toxic_remove(struct proxy *p, size_t i)
{
	struct toxic *t = p->toxics[i];
	uint64_t now = uv_hrtime();

	for (struct conn *c = p->conns; c; c = c->next)
		dir_detach(&c->dir[t->stream], t, now);
	memmove(&p->toxics[i], &p->toxics[i + 1],
		(p->ntoxics - i - 1) * sizeof(p->toxics[0]));
	p->ntoxics--;
	free(t);
}

static void cmd_remove(struct proxy *p, int argc, char **argv, struct sb *b)
{
	size_t i;

	if (!toxic_find(p, argv[0], &i)) {
		sb_printf(b, "err no toxic ");
		sb_quoted(b, argv[0]);
		sb_printf(b, "; 'list' shows them");
		return;
	}
	toxic_remove(p, i);
	pump_all(p);
	sb_printf(b, "ok removed %s", argv[0]);
}

static void cmd_list(struct proxy *p, int argc, char **argv, struct sb *b)
{
	sb_printf(b, "ok toxics=%zu", p->ntoxics);
	for (size_t i = 0; i < p->ntoxics; i++) {
		sb_printf(b, " | ");
		toxic_describe(b, p->toxics[i]);
	}
}

static void cmd_down(struct proxy *p, int argc, char **argv, struct sb *b)
{
	proxy_down(p);
	sb_printf(b, "ok down");
}

static void reply_up(struct proxy *p, struct sb *b)
{
	int rc = proxy_up(p);
	char addr[80];

	if (rc != 0) {
		addr_format(&p->listen_addr, addr, sizeof(addr));
		sb_printf(b, "err cannot listen on \"%s\" again: %s; try 'up' again",
			  addr, uv_strerror(rc));
		return;
	}
	sb_printf(b, "ok up");
}

static void cmd_up(struct proxy *p, int argc, char **argv, struct sb *b)
{
	reply_up(p, b);
}

static void cmd_reset(struct proxy *p, int argc, char **argv, struct sb *b)
{
	while (p->ntoxics)
		toxic_remove(p, p->ntoxics - 1);
	pump_all(p);
	reply_up(p, b);
}

static void cmd_stats(struct proxy *p, int argc, char **argv, struct sb *b)
{
	sb_printf(b, "ok state=%s open=%zu total=%" PRIu64 " bytes_upstream=%" PRIu64
		  " bytes_downstream=%" PRIu64 " pending=%zu peak_pending=%zu toxics=%zu",
		  p->listener ? "up" : "down", p->open, p->total, p->bytes[DIR_UP],
		  p->bytes[DIR_DOWN], p->pending, p->peak_pending, p->ntoxics);
}

static void cmd_help(struct proxy *p, int argc, char **argv, struct sb *b);

/* The requests: name, words after the name (at least, at most), usage. */
static const struct command {
	const char *name;
	int min_args, max_args;
	void (*fn)(struct proxy *p, int argc, char **argv, struct sb *b);
	const char *usage;
} commands[] = {
	{ "add", 3, CTL_MAX_WORDS - 1, cmd_add,
	  "add NAME TYPE upstream|downstream [toxicity=P] [KEY=VALUE]..." },
	{ "remove", 1, 1, cmd_remove, "remove NAME" },
	{ "list", 0, 0, cmd_list, "list" },
	{ "down", 0, 0, cmd_down, "down" },
	{ "up", 0, 0, cmd_up, "up" },
	{ "reset", 0, 0, cmd_reset, "reset" },
	{ "stats", 0, 0, cmd_stats, "stats" },
	{ "help", 0, 0, cmd_help, "help" },
};

static void cmd_help(struct proxy *p, int argc, char **argv, struct sb *b)
{
	sb_printf(b, "ok requests:");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		sb_printf(b, "%s %s", i ? ";" : "", commands[i].usage);
	sb_printf(b, "; types: ");
	kinds_describe(b);
}

static void on_ctl_closed(uv_handle_t *h)
{
	struct ctl *cl = h->data;

	free(cl);
}

static void ctl_close(struct ctl *cl)
{
	struct proxy *p = cl->proxy;

	if (uv_is_closing((uv_handle_t *)&cl->tcp))
		return;
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		p->ctls = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	p->nctls--;
	uv_close((uv_handle_t *)&cl->tcp, on_ctl_closed);
}

struct reply {
	uv_write_t req;
	char text[];
};

static void on_reply_written(uv_write_t *req, int status)
{
	free(req->data);
}

/* Sends b's text and a newline.  A client that lets replies pile up
 * unread is dropped rather than buffered for. */
static void ctl_send(struct ctl *cl, const struct sb *b)
{
	struct reply *r;
	uv_buf_t buf;

	if (uv_stream_get_write_queue_size((uv_stream_t *)&cl->tcp) > CTL_MAX_QUEUED) {
		ctl_close(cl);
		return;
	}
	r = malloc(sizeof(*r) + b->len + 1);
	if (!r) {
		ctl_close(cl);
		return;
	}
	memcpy(r->text, b->buf, b->len);
	r->text[b->len] = '\n';
	r->req.data = r;
	buf = uv_buf_init(r->text, (unsigned)b->len + 1);
	if (uv_write(&r->req, (uv_stream_t *)&cl->tcp, &buf, 1, on_reply_written) != 0) {
		free(r);
		ctl_close(cl);
	}
}

static void ctl_handle(struct ctl *cl, char *line)
{
	static struct sb b; /* 16 KiB: not on the stack; one request at a time */
	char *argv[CTL_MAX_WORDS];
	int argc = 0;
	const struct command *cmd = NULL;

	b.len = 0;
	for (char *s = line; *s;) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (!*s)
			break;
		if (argc == CTL_MAX_WORDS) {
			sb_printf(&b, "err too many words (at most %d)", CTL_MAX_WORDS);
			goto out;
		}
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	if (argc == 0) {
		sb_printf(&b, "err empty request; try 'help'");
		goto out;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			cmd = &commands[i];
	if (!cmd) {
		sb_printf(&b, "err unknown request ");
		sb_quoted(&b, argv[0]);
		sb_printf(&b, "; try 'help'");
		goto out;
	}
	if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
		sb_printf(&b, "err wrong number of words for '%s'; usage: %s",
			  cmd->name, cmd->usage);
		goto out;
	}
	cmd->fn(cl->proxy, argc - 1, argv + 1, &b);
out:
	ctl_send(cl, &b);
}

static void on_ctl_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl *cl = stream->data;

	if (nread < 0) {
		ctl_close(cl);
		return;
	}
	for (ssize_t k = 0; k < nread && !uv_is_closing((uv_handle_t *)stream); k++) {
		char ch = buf->base[k];

		if (ch == '\n') {
			if (cl->overlong || cl->has_nul) {
				static struct sb e;

				e.len = 0;
				sb_printf(&e, cl->overlong ?
					  "err request longer than %d bytes" :
					  "err request has a NUL byte (max %d bytes of text)",
					  CTL_LINE_MAX - 1);
				ctl_send(cl, &e);
			} else {
				if (cl->len && cl->line[cl->len - 1] == '\r')
					cl->len--;
				cl->line[cl->len] = '\0';
				ctl_handle(cl, cl->line);
			}
			cl->len = 0;
			cl->overlong = cl->has_nul = 0;
		} else if (cl->overlong) {
			continue;
		} else if (cl->len + 1 < sizeof(cl->line)) {
			if (ch == '\0')
				cl->has_nul = 1;
			cl->line[cl->len++] = ch;
		} else {
			cl->overlong = 1;
		}
	}
}

static void on_ctl_accept(uv_stream_t *listener, int status)
{
	struct proxy *p = listener->data;
	struct ctl *cl;

	if (status < 0)
		return;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return;
	cl->proxy = p;
	uv_tcp_init(&p->loop, &cl->tcp);
	cl->tcp.data = cl;
	cl->next = p->ctls;
	if (p->ctls)
		p->ctls->prev = cl;
	p->ctls = cl;
	p->nctls++;
	if (uv_accept(listener, (uv_stream_t *)&cl->tcp) != 0 ||
	    p->nctls > MAX_CTL_CLIENTS ||
	    uv_read_start((uv_stream_t *)&cl->tcp, on_alloc, on_ctl_read) != 0)
		ctl_close(cl);
}

/* ------------------------------------------------------------------ process */

static void proxy_stop(struct proxy *p)
{
	if (p->stopping)
		return;
	p->stopping = 1;
	uv_close((uv_handle_t *)&p->sigterm, NULL);
	uv_close((uv_handle_t *)&p->sigint, NULL);
	uv_close((uv_handle_t *)&p->control, NULL);
	proxy_down(p);
	while (p->ctls)
		ctl_close(p->ctls);
}

static void on_signal(uv_signal_t *h, int signum)
{
	proxy_stop(h->data);
}

struct config {
	const char *listen, *control, *upstream;
	uint64_t max_pending, seed;
	int seed_set, help;
};

/* Options are data: the table drives parsing and --help. */
enum opt_kind { O_STRING, O_U64, O_FLAG };

static const struct optdef {
	const char *name;
	enum opt_kind kind;
	size_t offset, set_offset; /* into struct config; set_offset 0: none */
	const char *help;
} optdefs[] = {
	{ "--upstream", O_STRING, offsetof(struct config, upstream), 0,
	  "HOST:PORT to forward connections to (required)" },
	{ "--listen", O_STRING, offsetof(struct config, listen), 0,
	  "[HOST:]PORT to accept on (default 127.0.0.1:0, a free port)" },
	{ "--control", O_STRING, offsetof(struct config, control), 0,
	  "[HOST:]PORT of the control protocol (default 127.0.0.1:0)" },
	{ "--max-pending", O_U64, offsetof(struct config, max_pending), 0,
	  "bytes one direction may hold before reading stops (default 1048576)" },
	{ "--seed", O_U64, offsetof(struct config, seed), offsetof(struct config, seed_set),
	  "seed of the random draws (default: from the clock)" },
	{ "--help", O_FLAG, offsetof(struct config, help), 0, "show this help" },
};

static void usage(FILE *f)
{
	fputs("usage: chaosproxy --upstream HOST:PORT [options]\n\n"
	      "A fault-injecting TCP proxy for tests (see docs/chaosproxy.md).\n\n"
	      "options:\n", f);
	for (size_t i = 0; i < sizeof(optdefs) / sizeof(optdefs[0]); i++)
		fprintf(f, "  %-14s %s\n", optdefs[i].name, optdefs[i].help);
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
	for (int a = 1; a < argc; a++) {
		const struct optdef *o = NULL;
		char *base = (char *)cfg;

		for (size_t i = 0; i < sizeof(optdefs) / sizeof(optdefs[0]); i++)
			if (strcmp(optdefs[i].name, argv[a]) == 0)
				o = &optdefs[i];
		if (!o) {
			fprintf(stderr, "chaosproxy: unknown option '%s'; see --help\n", argv[a]);
			return -1;
		}
		if (o->kind == O_FLAG) {
			*(int *)(base + o->offset) = 1;
			continue;
		}
		if (a + 1 == argc) {
			fprintf(stderr, "chaosproxy: '%s' needs a value\n", o->name);
			return -1;
		}
		a++;
		if (o->kind == O_STRING) {
			*(const char **)(base + o->offset) = argv[a];
		} else if (parse_u64(argv[a], (uint64_t *)(base + o->offset)) < 0) {
			fprintf(stderr, "chaosproxy: bad number '%s' for '%s'\n",
				argv[a], o->name);
			return -1;
		}
		if (o->set_offset)
			*(int *)(base + o->set_offset) = 1;
	}
	return 0;
}

/* Splits "HOST:PORT", "[V6]:PORT" or (with default_host) "PORT" into host
 * (copied into hostbuf) and port.  Returns 0 or -1. */
static int split_hostport(const char *s, const char *default_host,
			  char *hostbuf, size_t hostsize, int *port)
{
	const char *colon = strrchr(s, ':'), *ps, *hs;
	size_t hl;
	uint64_t v;

	if (!colon) {
		if (!default_host)
			return -1;
		hs = default_host;
		hl = strlen(default_host);
		ps = s;
	} else {
		hs = s;
		hl = (size_t)(colon - s);
		ps = colon + 1;
		if (hl >= 2 && hs[0] == '[' && hs[hl - 1] == ']') {
			hs++;
			hl -= 2;
		}
	}
	if (hl == 0 || hl >= hostsize || parse_u64(ps, &v) < 0 || v > 65535)
		return -1;
	memcpy(hostbuf, hs, hl);
	hostbuf[hl] = '\0';
	*port = (int)v;
	return 0;
}

/* A numeric listening address. */
static int parse_listen(const char *s, struct sockaddr_storage *out)
{
	char host[64];
	int port;

	memset(out, 0, sizeof(*out));
	if (split_hostport(s, "127.0.0.1", host, sizeof(host), &port) < 0)
		return -1;
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0)
		return 0;
	if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0)
		return 0;
	return -1;
}

/* The upstream, resolved once, at start (synchronous getaddrinfo).
 * Returns 0, -1 for a malformed address, or a libuv error code. */
static int resolve_upstream(uv_loop_t *loop, const char *s, struct sockaddr_storage *out)
{
	char host[256], port_text[8];
	struct addrinfo hints;
	uv_getaddrinfo_t req;
	int port, rc;

	if (split_hostport(s, NULL, host, sizeof(host), &port) < 0 || port == 0)
		return -1;
	snprintf(port_text, sizeof(port_text), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = uv_getaddrinfo(loop, &req, NULL, host, port_text, &hints);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	memcpy(out, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
	uv_freeaddrinfo(req.addrinfo);
	return 0;
}

int main(int argc, char **argv)
{
	struct proxy *p = &proxy;
	struct config cfg;
	struct sockaddr_storage control_addr;
	char a1[80], a2[80];
	int rc, status = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_pending = DEFAULT_MAX_PENDING;
	if (parse_args(argc, argv, &cfg) < 0)
		return EXIT_USAGE;
	if (cfg.help) {
		usage(stdout);
		return 0;
	}
	if (!cfg.upstream) {
		fprintf(stderr, "chaosproxy: --upstream HOST:PORT is required; see --help\n");
		return EXIT_USAGE;
	}
	if (parse_listen(cfg.listen ? cfg.listen : "127.0.0.1:0", &p->listen_addr) < 0) {
		fprintf(stderr, "chaosproxy: bad --listen '%s' (want [HOST:]PORT, numeric)\n",
			cfg.listen);
		return EXIT_USAGE;
	}
	if (parse_listen(cfg.control ? cfg.control : "127.0.0.1:0", &control_addr) < 0) {
		fprintf(stderr, "chaosproxy: bad --control '%s' (want [HOST:]PORT, numeric)\n",
			cfg.control);
		return EXIT_USAGE;
	}
	if (cfg.max_pending < READ_SIZE || cfg.max_pending > (UINT64_C(1) << 32)) {
		fprintf(stderr, "chaosproxy: bad --max-pending '%" PRIu64 "' (want %u to 4294967296)\n",
			cfg.max_pending, READ_SIZE);
		return EXIT_USAGE;
	}
	p->max_pending = (size_t)cfg.max_pending;
	p->rng = cfg.seed_set ? cfg.seed : uv_hrtime() ^ ((uint64_t)getpid() << 32);
	if (p->rng == 0)
		p->rng = 0x9E3779B97F4A7C15ull; /* xorshift stays at zero */

	/* A write to a socket the peer closed must be an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&p->loop);

	rc = resolve_upstream(&p->loop, cfg.upstream, &p->upstream);
	if (rc != 0) {
		if (rc == -1)
			fprintf(stderr, "chaosproxy: bad --upstream '%s' (want HOST:PORT)\n",
				cfg.upstream);
		else
			fprintf(stderr, "chaosproxy: cannot resolve '%s': %s\n",
				cfg.upstream, uv_strerror(rc));
		status = rc == -1 ? EXIT_USAGE : EXIT_FAIL;
		goto out;
	}
	rc = proxy_up(p);
	if (rc != 0) {
		addr_format(&p->listen_addr, a1, sizeof(a1));
		fprintf(stderr, "chaosproxy: cannot listen on %s: %s\n", a1, uv_strerror(rc));
		status = EXIT_FAIL;
		goto out;
	}
	rc = listen_on(p, &control_addr, on_ctl_accept, &p->control);
	if (rc != 0) {
		addr_format(&control_addr, a2, sizeof(a2));
		fprintf(stderr, "chaosproxy: cannot listen on %s: %s\n", a2, uv_strerror(rc));
		uv_close((uv_handle_t *)&p->control, NULL);
		proxy_down(p);
		status = EXIT_FAIL;
		goto out;
	}
	uv_signal_init(&p->loop, &p->sigterm);
	uv_signal_init(&p->loop, &p->sigint);
	p->sigterm.data = p->sigint.data = p;
	uv_signal_start(&p->sigterm, on_signal, SIGTERM);
	uv_signal_start(&p->sigint, on_signal, SIGINT);

	addr_format(&p->listen_addr, a1, sizeof(a1));
	addr_format(&control_addr, a2, sizeof(a2));
	printf("listening %s control %s\n", a1, a2);
	fflush(stdout);
out:
	uv_run(&p->loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < p->ntoxics; i++)
		free(p->toxics[i]);
	if (uv_loop_close(&p->loop) != 0 && status == 0) {
		fprintf(stderr, "chaosproxy: handles left open at exit\n");
		status = EXIT_FAIL;
	}
	return status;
}
