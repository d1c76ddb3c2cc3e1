#include "rpc/tls.h"

#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

static void ssl_error(char *err, size_t errlen, const char *what,
		      const char *file)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	if (err)
		snprintf(err, errlen, "%s '%s': %s", what, file ? file : "", reason);
}

static int alpn_select(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	/* in is a list of length-prefixed protocol names. */
	for (unsigned int i = 0; i < inlen; i += 1u + in[i]) {
		if (in[i] == 2 && i + 3 <= inlen && memcmp(in + i + 1, "h2", 2) == 0) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* gRPC needs HTTP/2: refuse clients that offer ALPN without it. */
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

SSL_CTX *tls_server_ctx_new(const char *cert, const char *key,
			    const char *client_ca, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_error(err, errlen, "cannot create TLS context", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error(err, errlen, "cannot load TLS certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_error(err, errlen, "cannot load TLS key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "TLS key does not match the certificate", key);
		goto fail;
	}
	if (client_ca) {
		STACK_OF(X509_NAME) *names;
		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			ssl_error(err, errlen, "cannot load client CA", client_ca);
			goto fail;
		}
		names = SSL_load_client_CA_file(client_ca);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   NULL);
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx_new(const char *ca, const char *cert, const char *key,
			    char *err, size_t errlen)
{
	static const unsigned char alpn[] = { 2, 'h', '2' };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		ssl_error(err, errlen, "cannot create TLS context", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			ssl_error(err, errlen, "cannot load CA bundle", ca);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ssl_error(err, errlen, "cannot load the system CA bundle", "");
		goto fail;
	}
	if (cert || key) {
		if (!cert || !key) {
			if (err)
				snprintf(err, errlen,
					 "a client certificate needs both a certificate and a key file");
			goto fail;
		}
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			ssl_error(err, errlen, "cannot load client certificate", cert);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			ssl_error(err, errlen, "cannot load client key", key);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			ssl_error(err, errlen, "client key does not match the certificate", key);
			goto fail;
		}
	}
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static int inet_pton_any(const char *name, unsigned char *tmp)
{
	return inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1;
}

int tls_conn_init(tls_conn *t, SSL_CTX *ctx, int is_server,
		  const char *server_name)
{
	memset(t, 0, sizeof(*t));
	t->ssl = SSL_new(ctx);
	if (!t->ssl)
		return -1;
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (!t->rbio || !t->wbio) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		t->ssl = NULL;
		return -1;
	}
	/* An empty memory BIO reports "retry" rather than EOF. */
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	if (is_server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (server_name && *server_name) {
			X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
			unsigned char tmp[16];
			/* IP literals are checked as IP SANs and get no SNI. */
			if (inet_pton_any(server_name, tmp)) {
				X509_VERIFY_PARAM_set1_ip_asc(vp, server_name);
			} else {
				SSL_set_tlsext_host_name(t->ssl, server_name);
				X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
				X509_VERIFY_PARAM_set1_host(vp, server_name, 0);
			}
		}
	}
	return 0;
}

void tls_conn_release(tls_conn *t)
{
	if (t->ssl)
		SSL_free(t->ssl); /* frees both BIOs */
	t->ssl = NULL;
}

static void conn_error(tls_conn *t, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[128] = "";

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	if (SSL_get_verify_result(t->ssl) != X509_V_OK)
		snprintf(t->error, sizeof(t->error), "%s: certificate verify failed: %s",
			 what, X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
	else
		snprintf(t->error, sizeof(t->error), "%s%s%s", what, *reason ? ": " : "",
			 reason);
}

int tls_conn_handshake(tls_conn *t)
{
	int rc, e;

	if (t->handshake_done)
		return 1;
	rc = SSL_do_handshake(t->ssl);
	if (rc == 1) {
		t->handshake_done = 1;
		return 1;
	}
	e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	conn_error(t, "TLS handshake failed");
	return -1;
}

int tls_conn_put_cipher(tls_conn *t, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int w = BIO_write(t->rbio, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tls_conn_read(tls_conn *t, uint8_t *out, size_t outlen)
{
	int rc = SSL_read(t->ssl, out, outlen > INT32_MAX ? INT32_MAX : (int)outlen);
	int e;

	if (rc > 0)
		return rc;
	e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	if (e == SSL_ERROR_ZERO_RETURN) {
		snprintf(t->error, sizeof(t->error), "TLS connection closed by peer");
		return -1;
	}
	conn_error(t, "TLS read failed");
	return -1;
}

int tls_conn_write(tls_conn *t, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int rc = SSL_write(t->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (rc <= 0) {
			conn_error(t, "TLS write failed");
			return -1;
		}
		p += rc;
		n -= (size_t)rc;
	}
	return 0;
}

/* Copies an ASN.1 string that must be a clean name into out. */
static int clean_name(const unsigned char *p, int n, char *out, size_t outlen)
{
	if (n <= 0 || (size_t)n >= outlen)
		return -1;
	for (int i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return -1;
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	return 0;
}

int tls_conn_peer_identity(const tls_conn *t, char *out, size_t outlen)
{
	X509 *cert;
	X509_NAME *subject;
	GENERAL_NAMES *sans;
	int rc = -1, idx;

	out[0] = '\0';
	if (!t->ssl || !t->handshake_done || SSL_get_verify_result(t->ssl) != X509_V_OK)
		return -1;
	cert = SSL_get0_peer_certificate(t->ssl);
	if (!cert)
		return -1;
	subject = X509_get_subject_name(cert);
	idx = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
	if (idx >= 0) {
		ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
		unsigned char *utf8 = NULL;
		int n = cn ? ASN1_STRING_to_UTF8(&utf8, cn) : -1;

		rc = n > 0 ? clean_name(utf8, n, out, outlen) : -1;
		OPENSSL_free(utf8);
		if (rc == 0)
			return 0;
	}
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		const ASN1_IA5STRING *s = g->type == GEN_DNS ? g->d.dNSName :
					  g->type == GEN_URI ? g->d.uniformResourceIdentifier :
					  g->type == GEN_EMAIL ? g->d.rfc822Name : NULL;

		if (s && clean_name(ASN1_STRING_get0_data(s), ASN1_STRING_length(s), out,
				    outlen) == 0) {
			rc = 0;
			break;
		}
	}
	GENERAL_NAMES_free(sans);
	return rc;
}

int tls_conn_drain(tls_conn *t, buf *out)
{
	size_t pending;

	while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
		if (buf_reserve(out, pending) < 0)
			return -1;
		int r = BIO_read(t->wbio, out->data + out->len, (int)pending);
		if (r <= 0)
			break;
		out->len += (size_t)r;
	}
	return 0;
}
