/*
 * Private to the k8s library: the HTTP client of one cluster.
 *
 * One libcurl easy handle per client, kept for every request, so the
 * connection (and its TLS session) is reused; HTTP/2 is negotiated by ALPN
 * where the server offers it, HTTP/1.1 otherwise.  libcurl is loaded with
 * dlopen() on the first client, not linked: vcli's other commands must not
 * pay for loading it and the libraries it needs at every start.
 *
 * Credentials come from the kubeconfig (struct kconn): bearer token (or
 * token file), basic auth, client certificate and key (files or data), or
 * an exec plugin (client.authentication.k8s.io/v1 or v1beta1) whose answer
 * is cached on disk until it expires and asked again after a 401.
 */
#ifndef VCLI_K8S_KCLIENT_H
#define VCLI_K8S_KCLIENT_H

#include <stddef.h>

#include "common/buf.h"
#include "k8s/kubeconfig.h"

/* A response body larger than this is refused (a list of 5,000 pods is
 * about 20 MB of JSON). */
#define KCLIENT_BODY_MAX (512u << 20)

/* Accept headers, as kubectl sends them. */
#define KACCEPT_JSON "application/json"
#define KACCEPT_TABLE                                                        \
	"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;" \
	"v=v1beta1;g=meta.k8s.io,application/json"

enum kclient_code {
	KC_OK = 0,
	KC_E_CONNECT = -1, /* could not reach the server, TLS failed */
	KC_E_TIMEOUT = -2,
	KC_E_INTERNAL = -3,
	KC_E_TOO_LARGE = -4,
	KC_E_AUTH = -5,    /* credentials could not be had (exec plugin) */
};

struct kclient {
	void *curl;        /* CURL *, reused */
	struct kconn conn; /* owned: moved in by kclient_init() */
	char *exec_token;  /* from the exec plugin */
	uint8_t *exec_cert, *exec_key;
	size_t exec_cert_len, exec_key_len;
	int exec_done;
	long timeout_ms;   /* 0: none (watches, logs -f) */
	int verbose;       /* requests to stderr (--v=6 style) */
	char user_agent[96];
	/* tls-server-name: requests go to https://NAME:PORT/... (so libcurl
	 * sends it as SNI and checks the certificate against it) and
	 * connect_to maps that to the server's real host and port; host is
	 * the Host header the server would have had. */
	char *url_base;    /* NULL: conn.server as it is */
	void *connect_to;  /* struct curl_slist * */
	char *host_header; /* "Host: host[:port]" */
};

struct kresp {
	long status;          /* HTTP status; 0 when there was no answer */
	buf body;
	char content_type[128];
};

/* Takes conn over (it is zeroed).  Returns 0, or -1 with err set (libcurl
 * not found). */
int kclient_init(struct kclient *c, struct kconn *conn, char *err,
		 size_t errlen);
void kclient_release(struct kclient *c);

/*
 * One request: method, path with its query ("/api/v1/pods?limit=500"),
 * Accept, and an optional body with its Content-Type.  The answer, any
 * status, is in resp (kresp_release() it).  A 401 runs the exec plugin again
 * (when there is one) and retries once.  Returns KC_OK when an answer came.
 */
int kclient_request(struct kclient *c, const char *method, const char *path,
		    const char *accept, const char *ctype, const void *body,
		    size_t len, struct kresp *resp, char *err, size_t errlen);

/*
 * A streamed GET (watch, logs -f): on_data is called with each piece of
 * the body as it comes while the status is 2xx (return non-zero to stop);
 * an error status's body lands in resp->body.  No timeout.
 */
int kclient_stream(struct kclient *c, const char *path, const char *accept,
		   int (*on_data)(void *ud, const char *p, size_t n), void *ud,
		   struct kresp *resp, char *err, size_t errlen);

void kresp_release(struct kresp *r);

/* Appends s percent-encoded for a query value to b.  Returns 0 or -1. */
int kquery_escape(buf *b, const char *s);

/*
 * Runs the exec credential plugin described by exec (a kubeconfig user's
 * "exec"), or takes its cached answer while that is valid.  Fills the
 * token and/or client certificate and key (each malloc'd or NULL).
 * force skips the cache.  Returns 0, or -1 with err set.
 */
int kexec_credential(const json_t *exec, const char *dir, const char *server,
		     int force, char **token, uint8_t **cert, size_t *cert_len,
		     uint8_t **key, size_t *key_len, char *err, size_t errlen);

#endif
