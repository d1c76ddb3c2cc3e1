/* A strict HTTP/1.x request-head parser: see httpreq.h. */
#include "common/httpreq.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Visible ASCII, SP and HTAB, and obs-text, as field values may hold. */
static int is_vchar_ws(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static httpreq_result bad(httpreq *r, const char *why)
{
	r->error = why;
	return HTTPREQ_BAD;
}

/* 1 when the comma-separated list v (length n) holds token tok. */
static int list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	while (n > 0) {
		size_t i = 0, e;
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		v += i;
		n -= i;
		for (e = 0; e < n && v[e] != ','; e++)
			;
		i = e;
		while (i > 0 && (v[i - 1] == ' ' || v[i - 1] == '\t'))
			i--;
		if (i == tl && strncasecmp(v, tok, tl) == 0)
			return 1;
		v += e;
		n -= e;
	}
	return 0;
}

static httpreq_result request_line(httpreq *r, const char *p, size_t n)
{
	size_t i = 0, m, t0, tl;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return bad(r, "malformed request line");
	if (i >= sizeof(r->method))
		return bad(r, "method too long");
	memcpy(r->method, p, i);
	r->method[i] = '\0';
	t0 = ++i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	tl = i - t0;
	if (tl == 0 || i >= n || p[i] != ' ')
		return bad(r, "malformed request target");
	if (p[t0] != '/')
		return bad(r, "request target is not a path");
	for (m = 0; m < tl && p[t0 + m] != '?' && p[t0 + m] != '#'; m++)
		;
	if (m >= sizeof(r->path))
		return bad(r, "request target too long");
	memcpy(r->path, p + t0, m);
	r->path[m] = '\0';
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 5] < '0' || p[i + 5] > '9' ||
	    p[i + 6] != '.' || p[i + 7] < '0' || p[i + 7] > '9')
		return bad(r, "malformed HTTP version");
	if (p[i + 5] != '1' || (p[i + 7] != '0' && p[i + 7] != '1'))
		return HTTPREQ_VERSION;
	r->minor = p[i + 7] - '0';
	return HTTPREQ_DONE;
}

httpreq_result httpreq_parse(httpreq *r, const char *p, size_t n, size_t max)
{
	const char *end = NULL, *line, *eol;
	int nheaders = 0, have_host = 0, have_cl = 0, conn_close = 0, conn_keep = 0;
	httpreq_result rc;

	memset(r, 0, sizeof(*r));
	/* Bare LF and NUL are refused wherever they appear in the head; the
	 * scan also finds where the head ends. */
	for (size_t i = 0; i < n && i < max; i++) {
		if (p[i] == '\0')
			return bad(r, "NUL in request head");
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return bad(r, "bare LF in request head");
		if (p[i] == '\r' && i + 1 < n && p[i + 1] != '\n')
			return bad(r, "bare CR in request head");
		if (i >= 3 && memcmp(p + i - 3, "\r\n\r\n", 4) == 0) {
			end = p + i + 1;
			break;
		}
	}
	if (!end) {
		/* What is not HTTP (a TLS or HTTP/2 client) shows in its first
		 * bytes: refuse at once instead of waiting for a head. */
		for (size_t i = 0; i < n && p[i] != ' '; i++)
			if (!is_tchar((unsigned char)p[i]) || i >= sizeof(r->method))
				return bad(r, "not an HTTP/1.x request");
		return n >= max ? HTTPREQ_TOO_LARGE : HTTPREQ_MORE;
	}
	r->head_len = (size_t)(end - p);

	eol = memchr(p, '\r', r->head_len);
	if (eol == p)
		return bad(r, "empty request line");
	if ((rc = request_line(r, p, (size_t)(eol - p))) != HTTPREQ_DONE)
		return rc;
	for (line = eol + 2; line < end - 2; line = eol + 2) {
		const char *colon, *v, *ve;
		size_t nl;

		eol = memchr(line, '\r', (size_t)(end - line));
		if (++nheaders > HTTPREQ_MAX_HEADERS)
			return bad(r, "too many header fields");
		if (*line == ' ' || *line == '\t')
			return bad(r, "obsolete line folding");
		for (colon = line; colon < eol && is_tchar((unsigned char)*colon); colon++)
			;
		if (colon == line || colon == eol || *colon != ':')
			return bad(r, "malformed header field");
		nl = (size_t)(colon - line);
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		for (const char *c = v; c < ve; c++)
			if (!is_vchar_ws((unsigned char)*c))
				return bad(r, "control character in header value");
		if (nl == 4 && strncasecmp(line, "host", 4) == 0) {
			if (have_host++)
				return bad(r, "more than one Host");
		} else if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
			if (have_cl++)
				return bad(r, "more than one Content-Length");
			if (v == ve)
				return bad(r, "malformed Content-Length");
			for (const char *c = v; c < ve; c++)
				if (*c < '0' || *c > '9')
					return bad(r, "malformed Content-Length");
			for (const char *c = v; c < ve; c++)
				if (*c != '0')
					return HTTPREQ_BODY;
		} else if (nl == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
			return HTTPREQ_BODY;
		} else if (nl == 10 && strncasecmp(line, "connection", 10) == 0) {
			conn_close |= list_has(v, (size_t)(ve - v), "close");
			conn_keep |= list_has(v, (size_t)(ve - v), "keep-alive");
		}
	}
	if (r->minor == 1 && !have_host)
		return bad(r, "HTTP/1.1 request without Host");
	r->keep_alive = conn_close ? 0 : r->minor == 1 ? 1 : conn_keep;
	return HTTPREQ_DONE;
}
