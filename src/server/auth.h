/*
 * Private: who is calling governd (docs/security.md).
 *
 * A call carries a credential: a bearer token (`authorization: Bearer
 * vt_...` metadata; the store keeps the SHA-256 of each token) or, on a
 * mutual-TLS connection, the client certificate (its identity is the
 * subject CN or a SAN; its role comes from governd's flags) or, on a Unix
 * socket, the user the client process runs as (SO_PEERCRED; its identity
 * and role come from --peer-role).  A token wins when a call has another
 * credential too.  Each credential is an identity and a role.
 *
 * Tokens are looked up in the store on a cache miss and cached per worker
 * loop (no locks on the call path) for AUTH_CACHE_MS at most, so that a
 * token created or revoked by `governd token` in another process is seen
 * within that time; RevokeToken in this process empties the caches at once
 * (auth_tokens_changed).
 */
#ifndef VCLI_SERVER_AUTH_H
#define VCLI_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpc/server.h"
#include "store/store.h"

#define AUTH_CACHE_MS 500
#define AUTH_SECRET_PREFIX "vt_"
#define AUTH_SECRET_LEN (3 + 64)       /* "vt_" + 64 hex digits (256 bits) */

enum auth_role {
	AUTH_ROLE_NONE = 0,     /* authenticated, but no role was given to it */
	AUTH_ROLE_PRODUCER,
	AUTH_ROLE_OPERATOR,
	AUTH_ROLE_ADMIN,
};

#define AUTH_BIT(role) (1u << (role))

/* Who a call is.  authenticated is 0 when governd runs without
 * authentication: then nobody is known and every rule that needs an
 * identity is off (the old, open behaviour). */
struct auth_principal {
	int authenticated;
	char identity[160];
	enum auth_role role;
	const char *via;        /* "token", "certificate" or "peer" */
};

struct auth_mtls_role {
	const char *identity;
	enum auth_role role;
};

/* A local user, known on a Unix socket by its user id. */
struct auth_peer_role {
	uid_t uid;
	const char *identity;             /* the user's name, as configured */
	enum auth_role role;
};

struct auth_config {
	int enabled;                      /* credentials required */
	const struct auth_mtls_role *mtls_roles;
	size_t n_mtls_roles;
	enum auth_role mtls_default_role; /* NONE: unmapped identities have none */
	const struct auth_peer_role *peer_roles;
	size_t n_peer_roles;
};

/* Sets up the token caches for srv's workers; cfg (and what it points to)
 * must outlive the server.  0 or -1 (no memory). */
int auth_init(const struct auth_config *cfg, store *st, rpc_server *srv);
void auth_release(void);

/* 1 when credentials are required. */
int auth_enabled(void);

/*
 * Who call is, from its credential (call on its loop).  0 with *p filled,
 * or -1 with why not in msg (missing, malformed, unknown or revoked
 * credential: the answer is UNAUTHENTICATED).  Messages never hold the
 * token.
 */
int auth_identify(rpc_call *call, struct auth_principal *p, char *msg, size_t msglen);

/* A token was revoked here: every cache forgets what it knew (thread-safe). */
void auth_tokens_changed(void);

/* A new secret (AUTH_SECRET_LEN chars and a NUL) and its SHA-256.  0 or -1
 * when the system has no randomness to give. */
int auth_new_secret(char *secret, uint8_t hash[32]);

/* "producer" -> AUTH_ROLE_PRODUCER ...; AUTH_ROLE_NONE for anything else. */
enum auth_role auth_role_parse(const char *name);
const char *auth_role_name(enum auth_role role);

#endif
