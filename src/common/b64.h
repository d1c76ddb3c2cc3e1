/*
 * Private: base64 (RFC 4648) for "-bin" metadata, and the percent-encoding
 * that grpc-message uses.
 */
#ifndef VCLI_B64_H
#define VCLI_B64_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length without padding (gRPC sends -bin values unpadded). */
size_t b64_encoded_len(size_t n);
/* Writes b64_encoded_len(n) chars, no padding, no terminator. */
void b64_encode(const uint8_t *in, size_t n, char *out);
/* Decodes padded or unpadded base64 into out (room for n*3/4+3 bytes).
 * Returns the decoded length, or -1 on a bad character or length. */
long b64_decode(const char *in, size_t n, uint8_t *out);

/* grpc-message percent-encoding: bytes outside 0x20..0x7e and '%' become
 * %XX.  Returns the bytes needed (excluding NUL); writes at most outlen-1
 * and NUL-terminates when outlen > 0. */
size_t pct_encode(const char *in, size_t n, char *out, size_t outlen);
/* Decodes %XX sequences; a malformed sequence is kept as it is, as the gRPC
 * spec asks.  NUL-terminates within outlen. Returns the length written. */
size_t pct_decode(const char *in, size_t n, char *out, size_t outlen);

#endif
