/*
 * Private: the audit chain's canonical form and hash, shared by governd's
 * store (which appends entries) and vcli (which verifies what governd
 * hands out).  docs/security.md states the same format for anyone who
 * wants to check a chain with their own tools.
 *
 * Each entry's hash is the SHA-256, in lower-case hex, of
 *
 *   prev_hash "\n"
 *   then, for at_ms (decimal), actor, role, action, outcome, subject and
 *   detail in this order:  <byte length in decimal> ":" <bytes> "\n"
 *
 * where prev_hash is the previous entry's hash (64 hex characters), or 64
 * zeros for the first entry.  The length prefixes make the encoding
 * unambiguous whatever bytes a field holds.  The sequence number is not
 * hashed: the order is what the links say, and the sequence is where the
 * entry is stored (a gap in it shows a removed entry).
 */
#ifndef VCLI_COMMON_AUDIT_CHAIN_H
#define VCLI_COMMON_AUDIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_HEX 64

/* 64 zeros: the prev_hash of the first entry. */
extern const char audit_chain_genesis[AUDIT_HASH_HEX + 1];

/* What an entry's hash covers.  NULL strings count as empty. */
struct audit_fields {
	int64_t at_ms;
	const char *actor;
	const char *role;
	const char *action;
	const char *outcome;
	const char *subject;
	const char *detail;
};

/*
 * out = the entry's hash after prev (AUDIT_HASH_HEX hex digits and a NUL).
 * Returns 0, or -1 when memory or OpenSSL fails (out is then "").
 * Thread-safe.
 */
int audit_chain_hash(const char *prev, const struct audit_fields *f,
		     char out[AUDIT_HASH_HEX + 1]);

/* 1 when s is AUDIT_HASH_HEX lower-case hex digits. */
int audit_chain_is_hash(const char *s);

/* SHA-256 of n bytes, raw (32 bytes).  Returns 0 or -1. */
int audit_sha256(const void *p, size_t n, uint8_t out[32]);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void audit_hex(const uint8_t *p, size_t n, char *out);

#endif
