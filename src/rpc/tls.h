/*
 * Private: TLS for the transport, OpenSSL driven through memory BIOs so that
 * libuv owns the socket and OpenSSL only transforms bytes.
 */
#ifndef VCLI_RPC_TLS_H
#define VCLI_RPC_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "common/buf.h"

/* Server context: certificate chain and key (PEM); with client_ca, client
 * certificates are required and verified against it.  ALPN selects "h2". */
SSL_CTX *tls_server_ctx_new(const char *cert, const char *key,
			    const char *client_ca, char *err, size_t errlen);

/* Client context: verifies the server against ca (PEM; NULL: the system's
 * default paths); optional client certificate for mTLS; offers ALPN h2. */
SSL_CTX *tls_client_ctx_new(const char *ca, const char *cert, const char *key,
			    char *err, size_t errlen);

typedef struct tls_conn {
	SSL *ssl;
	BIO *rbio; /* network -> OpenSSL */
	BIO *wbio; /* OpenSSL -> network */
	int handshake_done;
	char error[160];
} tls_conn;

/* server_name: SNI and the name the certificate must match (client only). */
int tls_conn_init(tls_conn *t, SSL_CTX *ctx, int is_server,
		  const char *server_name);
void tls_conn_release(tls_conn *t);

/* Advances the handshake.  Returns 1 when done, 0 when it needs more input,
 * -1 on failure (t->error says why). */
int tls_conn_handshake(tls_conn *t);

/* Ciphertext from the network. */
int tls_conn_put_cipher(tls_conn *t, const uint8_t *p, size_t n);

/* Decrypted bytes into out (up to what fits).  Returns bytes, 0 when none
 * are ready, -1 on a fatal error or close_notify. */
int tls_conn_read(tls_conn *t, uint8_t *out, size_t outlen);

/* Encrypts plaintext.  Returns 0 or -1. */
int tls_conn_write(tls_conn *t, const uint8_t *p, size_t n);

/* Moves pending ciphertext into out.  Returns 0 or -1 (cap). */
int tls_conn_drain(tls_conn *t, buf *out);

/*
 * The identity in the peer's certificate, once the handshake verified it:
 * the subject's common name, else the first DNS, URI or e-mail subject
 * alternative name.  Returns 0 with it in out, or -1 when there is no
 * verified certificate or no usable name (empty, too long for out, or
 * holding NUL or control bytes: never silently cut or cleaned).
 */
int tls_conn_peer_identity(const tls_conn *t, char *out, size_t outlen);

#endif
