/*
 * Credentials: bearer tokens (cached per worker loop, looked up in the
 * store on a miss) and client certificates (see auth.h).
 */
#include "server/auth.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "common/audit_chain.h"
#include "common/timeutil.h"

#define CACHE_SLOTS 256                /* per worker; a power of two */

struct cached {
	uint8_t hash[32];
	uint64_t fetched_ms;               /* loop time */
	uint64_t generation;
	int64_t expires_ms;                /* wall clock; 0: never */
	int used;
	char identity[160];
	enum auth_role role;
};

static const struct auth_config *conf;
static store *the_store;
static struct cached *caches;          /* workers x CACHE_SLOTS */
static int nworkers;
static atomic_uint_fast64_t generation;

static const char *const role_names[] = {
	[AUTH_ROLE_NONE] = "none",
	[AUTH_ROLE_PRODUCER] = STORE_ROLE_PRODUCER,
	[AUTH_ROLE_OPERATOR] = STORE_ROLE_OPERATOR,
	[AUTH_ROLE_ADMIN] = STORE_ROLE_ADMIN,
};

enum auth_role auth_role_parse(const char *name)
{
	for (int r = AUTH_ROLE_PRODUCER; r <= AUTH_ROLE_ADMIN; r++)
		if (name && strcmp(name, role_names[r]) == 0)
			return (enum auth_role)r;
	return AUTH_ROLE_NONE;
}

const char *auth_role_name(enum auth_role role)
{
	return role >= AUTH_ROLE_NONE && role <= AUTH_ROLE_ADMIN ? role_names[role] : "none";
}

int auth_init(const struct auth_config *cfg, store *st, rpc_server *srv)
{
	conf = cfg;
	the_store = st;
	nworkers = rpc_server_workers(srv);
	if (nworkers < 1)
		nworkers = 1;
	atomic_init(&generation, 1);
	if (!cfg->enabled)
		return 0;
	caches = calloc((size_t)nworkers * CACHE_SLOTS, sizeof(*caches));
	return caches ? 0 : -1;
}

void auth_release(void)
{
	if (caches)
		OPENSSL_cleanse(caches, (size_t)nworkers * CACHE_SLOTS * sizeof(*caches));
	free(caches);
	caches = NULL;
	conf = NULL;
}

int auth_enabled(void)
{
	return conf && conf->enabled;
}

void auth_tokens_changed(void)
{
	atomic_fetch_add(&generation, 1);
}

int auth_new_secret(char *secret, uint8_t hash[32])
{
	uint8_t r[32];
	size_t n = 0;

	while (n < sizeof(r)) {
		ssize_t k = getrandom(r + n, sizeof(r) - n, 0);

		if (k > 0)
			n += (size_t)k;
		else if (k < 0 && errno != EINTR)
			return -1;
	}
	memcpy(secret, AUTH_SECRET_PREFIX, 3);
	audit_hex(r, sizeof(r), secret + 3);
	OPENSSL_cleanse(r, sizeof(r));
	return audit_sha256(secret, AUTH_SECRET_LEN, hash);
}

/* The token of "Bearer <token>" into tok (AUTH_SECRET_LEN + 1 bytes): 0,
 * or -1 with why in msg. */
static int bearer(const uint8_t *v, size_t len, char *tok, char *msg, size_t msglen)
{
	if (len < 7 || strncasecmp((const char *)v, "bearer ", 7) != 0) {
		snprintf(msg, msglen, "the authorization metadata is not 'Bearer TOKEN'");
		return -1;
	}
	v += 7;
	len -= 7;
	if (len != AUTH_SECRET_LEN || memcmp(v, AUTH_SECRET_PREFIX, 3) != 0) {
		snprintf(msg, msglen, "the bearer token is malformed (governd tokens are 'vt_' "
			 "and 64 hex digits)");
		return -1;
	}
	for (size_t i = 3; i < len; i++) {
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'))) {
			snprintf(msg, msglen, "the bearer token is malformed (governd tokens are "
				 "'vt_' and 64 hex digits)");
			return -1;
		}
	}
	memcpy(tok, v, len);
	tok[len] = '\0';
	return 0;
}

static int64_t wall_ms(void)
{
	int64_t sec;
	int32_t nsec;

	time_wall(&sec, &nsec);
	return sec * 1000 + nsec / 1000000;
}

static int from_token(rpc_call *call, const char *tok, struct auth_principal *p, char *msg,
		      size_t msglen)
{
	uint64_t now = uv_now(rpc_call_loop(call)), gen = atomic_load(&generation);
	int w = rpc_call_worker(call);
	struct cached *slot;
	store_token t;
	uint8_t hash[32];
	store_code rc;

	if (audit_sha256(tok, strlen(tok), hash) < 0) {
		snprintf(msg, msglen, "cannot check the bearer token");
		return -1;
	}
	slot = &caches[(size_t)(w < 0 || w >= nworkers ? 0 : w) * CACHE_SLOTS +
		       (hash[0] | (unsigned)hash[1] << 8) % CACHE_SLOTS];
	if (slot->used && slot->generation == gen && now - slot->fetched_ms < AUTH_CACHE_MS &&
	    memcmp(slot->hash, hash, sizeof(hash)) == 0 &&
	    (!slot->expires_ms || wall_ms() < slot->expires_ms)) {
		snprintf(p->identity, sizeof(p->identity), "%s", slot->identity);
		p->role = slot->role;
		p->via = "token";
		return 0;
	}
	slot->used = 0;
	rc = store_token_lookup(the_store, hash, &t);
	if (rc != STORE_OK || t.revoked_ms) {
		snprintf(msg, msglen, rc == STORE_OK ? "the bearer token was revoked" :
			 rc == STORE_E_NOTFOUND ? "the bearer token is not known" :
			 "cannot check the bearer token: the store failed");
		return -1;
	}
	if (t.expires_ms && wall_ms() >= t.expires_ms) {
		char when[40];

		time_format_utc(t.expires_ms, when, sizeof(when));
		snprintf(msg, msglen, "the bearer token '%s' expired at %s; ask an admin for a "
			 "new one", t.id, when);
		return -1;
	}
	memcpy(slot->hash, hash, sizeof(hash));
	snprintf(slot->identity, sizeof(slot->identity), "%s", t.identity);
	slot->role = auth_role_parse(t.role);
	slot->fetched_ms = now;
	slot->expires_ms = t.expires_ms;
	slot->generation = gen;
	slot->used = 1;
	snprintf(p->identity, sizeof(p->identity), "%s", t.identity);
	p->role = slot->role;
	p->via = "token";
	return 0;
}

int auth_identify(rpc_call *call, struct auth_principal *p, char *msg, size_t msglen)
{
	size_t len = 0;
	const uint8_t *v = rpc_call_metadata(call, "authorization", &len);
	const char *id;
	uid_t uid;

	memset(p, 0, sizeof(*p));
	p->authenticated = 1;
	if (v) {
		char tok[AUTH_SECRET_LEN + 1];
		int rc = bearer(v, len, tok, msg, msglen) == 0 ?
			 from_token(call, tok, p, msg, msglen) : -1;

		OPENSSL_cleanse(tok, sizeof(tok));
		return rc;
	}
	id = rpc_call_peer_identity(call);
	if (!id && rpc_call_peer_uid(call, &uid) == 0) {
		for (size_t i = 0; i < conf->n_peer_roles; i++)
			if (conf->peer_roles[i].uid == uid) {
				snprintf(p->identity, sizeof(p->identity), "%s",
					 conf->peer_roles[i].identity);
				p->role = conf->peer_roles[i].role;
				p->via = "peer";
				return 0;
			}
		snprintf(msg, msglen, "this call needs a credential: a bearer token "
			 "('authorization: Bearer TOKEN' metadata); user id %lu on this "
			 "socket has no role (governd --peer-role)", (unsigned long)uid);
		return -1;
	}
	if (!id) {
		snprintf(msg, msglen, "this call needs a credential: a bearer token "
			 "('authorization: Bearer TOKEN' metadata) or a client certificate");
		return -1;
	}
	snprintf(p->identity, sizeof(p->identity), "%s", id);
	p->via = "certificate";
	p->role = conf->mtls_default_role;
	for (size_t i = 0; i < conf->n_mtls_roles; i++)
		if (strcmp(conf->mtls_roles[i].identity, id) == 0)
			p->role = conf->mtls_roles[i].role;
	return 0;
}
