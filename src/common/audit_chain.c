/*
 * The audit chain's hash (see audit_chain.h): SHA-256 through OpenSSL's
 * EVP interface over a canonical, length-prefixed text.
 */
#include "common/audit_chain.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

const char audit_chain_genesis[AUDIT_HASH_HEX + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* Fetched once: an implicit fetch per digest is measurable on the store
 * writer's path.  It stays for the life of the process. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_fetched;

static void md_fetch(void)
{
	md_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
	pthread_once(&md_once, md_fetch);
	return md_fetched ? md_fetched : EVP_sha256();
}

int audit_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, sha256(), NULL) != 1 || len != 32)
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

/* Writes "<len>:<bytes>\n" at out (sized by the caller); returns its length. */
static size_t put_field(char *out, const char *s, size_t n)
{
	int w = snprintf(out, 24, "%zu:", n);

	memcpy(out + w, s, n);
	out[(size_t)w + n] = '\n';
	return (size_t)w + n + 1;
}

int audit_chain_hash(const char *prev, const struct audit_fields *f,
		     char out[AUDIT_HASH_HEX + 1])
{
	const char *text[6] = { f->actor, f->role, f->action, f->outcome, f->subject,
				f->detail };
	size_t plen = prev ? strlen(prev) : 0, lens[6], need = plen + 1 + 48, at;
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
	snprintf(num, sizeof(num), "%" PRId64, f->at_ms);
	at += put_field(b + at, num, strlen(num));
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
