/*
 * The audit chain's hash (see audit_chain.h): SHA-256 through OpenSSL's
 * EVP interface over a canonical, length-prefixed text.
 */
#include "common/audit_chain.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

const char audit_chain_genesis[AUDIT_HASH_HEX + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* Fetched once: an implicit fetch per digest is measurable on the store
 * writer's path.  It stays for the life of the process.  Each thread keeps
 * one digest context (freed when the thread ends): a context made and
 * freed per digest was a fifth of the hash's cost. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_fetched;
static pthread_key_t ctx_key;
static int ctx_key_ok;

static void ctx_free(void *p)
{
	EVP_MD_CTX_free(p);
}

static void md_fetch(void)
{
	md_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
	ctx_key_ok = pthread_key_create(&ctx_key, ctx_free) == 0;
}

static const EVP_MD *sha256(void)
{
	pthread_once(&md_once, md_fetch);
	return md_fetched ? md_fetched : EVP_sha256();
}

int audit_sha256(const void *p, size_t n, uint8_t out[32])
{
	const EVP_MD *md = sha256();
	EVP_MD_CTX *ctx = ctx_key_ok ? pthread_getspecific(ctx_key) : NULL;
	unsigned int len = 0;

	if (!ctx && ctx_key_ok && (ctx = EVP_MD_CTX_new()) &&
	    pthread_setspecific(ctx_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	if (!ctx) {
		if (EVP_Digest(p, n, out, &len, md, NULL) != 1 || len != 32)
			return -1;
		return 0;
	}
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, p, n) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32)
		return -1;
	return 0;
}

void audit_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int audit_chain_is_hash(const char *s)
{
	size_t i;

	for (i = 0; s && s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == AUDIT_HASH_HEX;
}

/* Writes v in decimal at out; returns its length (at most 20). */
static size_t put_u64(char *out, uint64_t v)
{
	char t[20];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	return n;
}

/* Writes "<len>:<bytes>\n" at out (sized by the caller); returns its
 * length.  By hand rather than snprintf: seven of these per entry are on
 * the store writer's path. */
static size_t put_field(char *out, const char *s, size_t n)
{
	size_t w = put_u64(out, n);

	out[w++] = ':';
	memcpy(out + w, s, n);
	out[w + n] = '\n';
	return w + n + 1;
}

int audit_chain_hash(const char *prev, const struct audit_fields *f,
		     char out[AUDIT_HASH_HEX + 1])
{
	const char *text[6] = { f->actor, f->role, f->action, f->outcome, f->subject,
				f->detail };
	size_t plen = prev ? strlen(prev) : 0, lens[6], need = plen + 1 + 48, at, nl;
	char stack[1536], *b = stack, num[24];
	uint8_t digest[32];
	int rc;

	out[0] = '\0';
	for (int i = 0; i < 6; i++) {
		lens[i] = text[i] ? strlen(text[i]) : 0;
		need += lens[i] + 24;
	}
	if (need > sizeof(stack) && !(b = malloc(need)))
		return -1;
	memcpy(b, prev ? prev : "", plen);
	at = plen;
	b[at++] = '\n';
	if (f->at_ms < 0) {
		num[0] = '-';
		nl = 1 + put_u64(num + 1, (uint64_t)0 - (uint64_t)f->at_ms);
	} else {
		nl = put_u64(num, (uint64_t)f->at_ms);
	}
	at += put_field(b + at, num, nl);
	for (int i = 0; i < 6; i++)
		at += put_field(b + at, text[i] ? text[i] : "", lens[i]);
	rc = audit_sha256(b, at, digest);
	if (b != stack)
		free(b);
	if (rc < 0)
		return -1;
	audit_hex(digest, sizeof(digest), out);
	return 0;
}
