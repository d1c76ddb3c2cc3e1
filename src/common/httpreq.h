/*
 * Private: a strict parser of HTTP/1.x request heads (request line and
 * header fields, RFC 9112), for governd's metrics listener.
 *
 * Why our own: llhttp, the maintained C parser, is not packaged for Debian
 * 12 (only its Node.js sources are), and http-parser, which is, has been
 * archived by its authors in llhttp's favour.  The listener needs a small
 * part of HTTP: GET or HEAD of a path, no bodies, keep-alive.  What it
 * does not need it refuses: a strict parser of a capped head is about 200
 * lines, fuzzable and unit-tested, and refuses smuggling vectors (bare LF,
 * obsolete line folding, whitespace before the colon, duplicate or
 * malformed Content-Length, Transfer-Encoding) instead of interpreting them.
 *
 * The parser is stateless: it is given everything received so far and says
 * whether that starts with a complete head.  With heads capped at a few
 * KiB, parsing again on each read costs nothing worth keeping state for.
 */
#ifndef VCLI_COMMON_HTTPREQ_H
#define VCLI_COMMON_HTTPREQ_H

#include <stddef.h>

#define HTTPREQ_MAX_HEADERS 64

typedef enum httpreq_result {
	HTTPREQ_DONE = 0,     /* a complete, valid head; r->head_len bytes */
	HTTPREQ_MORE,         /* valid so far, not complete: read more */
	HTTPREQ_BAD,          /* malformed: answer 400 and close (r->error) */
	HTTPREQ_TOO_LARGE,    /* no complete head within max bytes: 431 */
	HTTPREQ_VERSION,      /* not HTTP/1.0 or 1.1: 505 */
	HTTPREQ_BODY,         /* the request has a body: 413 and close */
} httpreq_result;

typedef struct httpreq {
	char method[16];
	char path[1024];      /* the target up to '?' (origin form only) */
	int minor;            /* HTTP/1.minor */
	int keep_alive;       /* 1: the connection may serve another request */
	size_t head_len;      /* bytes of the head, CRLF CRLF included */
	const char *error;    /* for BAD: what was wrong (static text) */
} httpreq;

/* Parses p[0..n).  max caps the head's size: once n >= max without a
 * complete head the answer is TOO_LARGE. */
httpreq_result httpreq_parse(httpreq *r, const char *p, size_t n, size_t max);

#endif
