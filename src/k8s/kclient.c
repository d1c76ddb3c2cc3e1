/*
 * The HTTP client of one cluster over a dlopen()ed libcurl; see kclient.h.
 */
#define CURL_DISABLE_TYPECHECK 1
#include <ctype.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/errbuf.h"
#include "k8s/kclient.h"

#ifndef VCLI_VERSION
#define VCLI_VERSION "unknown"
#endif

/* The part of libcurl's API we use, resolved once. */
static struct {
	int loaded;
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
} api;

static int load_curl(char *err, size_t errlen)
{
	static const char *const names[] = { "libcurl.so.4", "libcurl.so",
					     NULL };
	void *h = NULL;

	if (api.loaded)
		return 0;
	/*
	 * Debian's libcurl4 pulls in GnuTLS through librtmp and libldap
	 * (libcurl itself speaks TLS with OpenSSL), and GnuTLS initialises
	 * itself on load unless GNUTLS_NO_IMPLICIT_INIT is set: p11-kit, its
	 * trust modules, its RNG, 0.7 MiB of a 13.5 MiB `get pods -A`, for
	 * rtmp:// and ldap:// URLs vcli never asks for.  Set only around the
	 * load (single-threaded here), so that exec credential plugins and
	 * other children still get the default.
	 */
	int quiet_gnutls = !getenv("GNUTLS_NO_IMPLICIT_INIT") &&
			   setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0) == 0;

	for (size_t i = 0; names[i] && !h; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (quiet_gnutls)
		unsetenv("GNUTLS_NO_IMPLICIT_INIT");
	if (!h)
		return err_set(err, errlen, "cannot load libcurl: %s (install "
			       "libcurl4)", dlerror());
#define SYM(field, name)                                                 \
	do {                                                             \
		*(void **)&api.field = dlsym(h, name);                   \
		if (!api.field)                                          \
			return err_set(err, errlen, "libcurl lacks %s", name); \
	} while (0)
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(easy_escape, "curl_easy_escape");
	SYM(free, "curl_free");
#undef SYM
	if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(err, errlen, "cannot initialise libcurl");
	api.loaded = 1;
	return 0;
}

int kquery_escape(buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int rc;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			rc = buf_append_byte(b, c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			rc = buf_append(b, e, 3);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * tls-server-name.  libcurl has no option to send another name than the
 * URL's in SNI and to verify the certificate against it, so the URL's
 * host becomes the tls-server-name and CURLOPT_CONNECT_TO sends the
 * connection to the server's real address; the Host header keeps the
 * real one, as Go's client (kubectl) sends it.  This keeps libcurl's own
 * hostname verification (no callback of ours deciding what matches).
 */
static char *fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_dup(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *out;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(out = malloc((size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return out;
}

static int sni_override(struct kclient *c, char *err, size_t errlen)
{
	const char *srv = c->conn.server, *name = c->conn.tls_server_name;
	const char *hp = srv + 8, *end, *colon;
	char host[512], port[16], map[1200];
	size_t hl;

	if (!name || !*name || strncmp(srv, "https://", 8) != 0)
		return 0;
	for (const char *q = name; *q; q++)
		if (!isalnum((unsigned char)*q) && *q != '.' && *q != '-')
			return err_set(err, errlen, "tls-server-name '%s' is not "
				       "a host name", name);
	end = hp + strcspn(hp, "/");
	if (*hp == '[') { /* [v6]:port */
		const char *rb = memchr(hp, ']', (size_t)(end - hp));

		if (!rb)
			return err_set(err, errlen, "bad server address '%s'",
				       srv);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		hl = (size_t)(rb + 1 - hp);
	} else {
		colon = memchr(hp, ':', (size_t)(end - hp));
		hl = (size_t)((colon ? colon : end) - hp);
	}
	if (hl == 0 || hl >= sizeof(host) ||
	    (colon && (size_t)(end - colon - 1) >= sizeof(port)))
		return err_set(err, errlen, "bad server address '%s'", srv);
	memcpy(host, hp, hl);
	host[hl] = '\0';
	if (colon)
		snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1),
			 colon + 1);
	else
		snprintf(port, sizeof(port), "443");
	c->url_base = fmt_dup("https://%s:%s%s", name, port, end);
	c->host_header = fmt_dup("Host: %.*s", (int)(end - hp), hp);
	if (!c->url_base || !c->host_header)
		return err_set(err, errlen, "out of memory");
	snprintf(map, sizeof(map), "%s:%s:%s:%s", name, port, host, port);
	c->connect_to = api.slist_append(NULL, map);
	if (!c->connect_to)
		return err_set(err, errlen, "out of memory");
	return 0;
}

int kclient_init(struct kclient *c, struct kconn *conn, char *err,
		 size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->conn = *conn;
	memset(conn, 0, sizeof(*conn));
	c->timeout_ms = 0;
	snprintf(c->user_agent, sizeof(c->user_agent),
		 "vcli/%s (linux/amd64) k8s", VCLI_VERSION);
	if (load_curl(err, errlen) < 0)
		return -1;
	c->curl = api.easy_init();
	if (!c->curl)
		return err_set(err, errlen, "cannot create a libcurl handle");
	return sni_override(c, err, errlen);
}

void kclient_release(struct kclient *c)
{
	if (c->curl)
		api.easy_cleanup(c->curl);
	if (c->connect_to)
		api.slist_free_all(c->connect_to);
	free(c->url_base);
	free(c->host_header);
	kconn_release(&c->conn);
	if (c->exec_token) {
		memset(c->exec_token, 0, strlen(c->exec_token));
		free(c->exec_token);
	}
	free(c->exec_cert);
	if (c->exec_key) {
		memset(c->exec_key, 0, c->exec_key_len);
		free(c->exec_key);
	}
	memset(c, 0, sizeof(*c));
}

void kresp_release(struct kresp *r)
{
	buf_release(&r->body);
	memset(r, 0, sizeof(*r));
}

struct sink {
	struct kclient *c;
	struct kresp *resp;
	int (*on_data)(void *, const char *, size_t);
	void *ud;
	int too_large, stopped;
};

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	struct sink *s = data;
	size_t len = size * n;

	if (s->on_data) {
		long code = 0;

		api.easy_getinfo(s->c->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300) {
			if (s->on_data(s->ud, p, len)) {
				s->stopped = 1;
				return 0;
			}
			return len;
		}
	}
	if (buf_append(&s->resp->body, p, len) < 0) {
		s->too_large = 1;
		return 0;
	}
	return len;
}

static int ensure_exec(struct kclient *c, int force, char *err, size_t errlen)
{
	if (!c->conn.exec || (c->exec_done && !force))
		return 0;
	free(c->exec_token);
	free(c->exec_cert);
	free(c->exec_key);
	c->exec_token = NULL;
	c->exec_cert = c->exec_key = NULL;
	if (kexec_credential(c->conn.exec, c->conn.exec_dir, c->conn.server,
			     force, &c->exec_token, &c->exec_cert,
			     &c->exec_cert_len, &c->exec_key, &c->exec_key_len,
			     err, errlen) < 0)
		return -1;
	c->exec_done = 1;
	return 0;
}

/* Sets everything but the method and body on the reused handle. */
static int setup(struct kclient *c, const char *path, const char *accept,
		 const char *ctype, struct curl_slist **hdrs, buf *url,
		 char *err, size_t errlen)
{
	CURL *h = c->curl;
	const struct kconn *k = &c->conn;
	const char *token = c->exec_token ? c->exec_token : k->token;
	char line[8300];
	struct curl_blob blob;

	buf_reset(url);
	if (buf_printf(url, "%s%s", c->url_base ? c->url_base : k->server,
		       path) < 0)
		return err_set(err, errlen, "request path too long");
	api.easy_setopt(h, CURLOPT_URL, buf_cstr(url));
	api.easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
	if (c->host_header)
		*hdrs = api.slist_append(*hdrs, c->host_header);
	api.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	api.easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	api.easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	api.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
	api.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
	api.easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	api.easy_setopt(h, CURLOPT_VERBOSE, 0L);
	if (k->insecure) {
		api.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		api.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (k->ca_data) {
		blob.data = k->ca_data;
		blob.len = k->ca_len;
		blob.flags = CURL_BLOB_COPY;
		api.easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	} else if (k->ca_file) {
		api.easy_setopt(h, CURLOPT_CAINFO, k->ca_file);
	}
	if (c->exec_cert || k->cert_data) {
		blob.data = c->exec_cert ? c->exec_cert : k->cert_data;
		blob.len = c->exec_cert ? c->exec_cert_len : k->cert_len;
		blob.flags = CURL_BLOB_COPY;
		api.easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
		api.easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (k->cert_file) {
		api.easy_setopt(h, CURLOPT_SSLCERT, k->cert_file);
		api.easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (c->exec_key || k->key_data) {
		blob.data = c->exec_key ? c->exec_key : k->key_data;
		blob.len = c->exec_key ? c->exec_key_len : k->key_len;
		blob.flags = CURL_BLOB_COPY;
		api.easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
		api.easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (k->key_file) {
		api.easy_setopt(h, CURLOPT_SSLKEY, k->key_file);
		api.easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (k->proxy_url)
		api.easy_setopt(h, CURLOPT_PROXY, k->proxy_url);
	if (token) {
		if ((size_t)snprintf(line, sizeof(line), "Authorization: Bearer %s",
				     token) >= sizeof(line))
			return err_set(err, errlen, "bearer token too long");
		*hdrs = api.slist_append(*hdrs, line);
	} else if (k->username) {
		api.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		api.easy_setopt(h, CURLOPT_USERNAME, k->username);
		api.easy_setopt(h, CURLOPT_PASSWORD,
				k->password ? k->password : "");
	}
	snprintf(line, sizeof(line), "Accept: %s", accept ? accept :
		 KACCEPT_JSON);
	*hdrs = api.slist_append(*hdrs, line);
	if (ctype) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		*hdrs = api.slist_append(*hdrs, line);
	}
	*hdrs = api.slist_append(*hdrs, "Expect:");
	memset(line, 0, sizeof(line));
	api.easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	return 0;
}

static int perform(struct kclient *c, const char *method, const char *path,
		   const char *accept, const char *ctype, const void *body,
		   size_t len, struct sink *s, char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	buf url = BUF_INIT(64 << 10);
	CURLcode cc;
	char *ct = NULL;
	int rc = KC_E_INTERNAL;

	if (setup(c, path, accept, ctype, &hdrs, &url, err, errlen) < 0)
		goto out;
	if (c->verbose)
		fprintf(stderr, "vcli: %s %s%s\n", method, c->conn.server, path);
	if (strcmp(method, "GET") == 0) {
		api.easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
		api.easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		api.easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
		api.easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				(curl_off_t)(body ? len : 0));
		api.easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
				strcmp(method, "POST") == 0 ? NULL : method);
	}
	api.easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	api.easy_setopt(c->curl, CURLOPT_WRITEDATA, s);
	buf_reset(&s->resp->body);
	s->resp->status = 0;
	s->resp->content_type[0] = '\0';
	cc = api.easy_perform(c->curl);
	api.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &s->resp->status);
	if (api.easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct)
		snprintf(s->resp->content_type, sizeof(s->resp->content_type),
			 "%s", ct);
	if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && s->stopped)) {
		rc = KC_OK;
	} else if (s->too_large) {
		err_set(err, errlen, "the answer to %s %s is larger than %u "
			"bytes", method, path, KCLIENT_BODY_MAX);
		rc = KC_E_TOO_LARGE;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		err_set(err, errlen, "%s %s%s: timed out", method,
			c->conn.server, path);
		rc = KC_E_TIMEOUT;
	} else {
		err_set(err, errlen, "%s %s%s: %s", method, c->conn.server,
			path, api.easy_strerror(cc));
		rc = KC_E_CONNECT;
	}
out:
	/* The handle keeps pointers to these: drop them before freeing. */
	api.easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	api.easy_setopt(c->curl, CURLOPT_URL, NULL);
	api.slist_free_all(hdrs);
	buf_release(&url);
	return rc;
}

int kclient_request(struct kclient *c, const char *method, const char *path,
		    const char *accept, const char *ctype, const void *body,
		    size_t len, struct kresp *resp, char *err, size_t errlen)
{
	struct sink s = { c, resp, NULL, NULL, 0, 0 };
	int rc;

	if (!resp->body.max)
		buf_init(&resp->body, KCLIENT_BODY_MAX);
	if (ensure_exec(c, 0, err, errlen) < 0)
		return KC_E_AUTH;
	rc = perform(c, method, path, accept, ctype, body, len, &s, err,
		     errlen);
	if (rc == KC_OK && resp->status == 401 && c->conn.exec) {
		if (ensure_exec(c, 1, err, errlen) < 0)
			return KC_E_AUTH;
		rc = perform(c, method, path, accept, ctype, body, len, &s, err,
			     errlen);
	}
	return rc;
}

int kclient_stream(struct kclient *c, const char *path, const char *accept,
		   int (*on_data)(void *ud, const char *p, size_t n), void *ud,
		   struct kresp *resp, char *err, size_t errlen)
{
	struct sink s = { c, resp, on_data, ud, 0, 0 };
	long saved = c->timeout_ms;
	int rc;

	if (!resp->body.max)
		buf_init(&resp->body, 1 << 20);
	if (ensure_exec(c, 0, err, errlen) < 0)
		return KC_E_AUTH;
	c->timeout_ms = 0;
	rc = perform(c, "GET", path, accept, NULL, NULL, 0, &s, err, errlen);
	c->timeout_ms = saved;
	return rc;
}
