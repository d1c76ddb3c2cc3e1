/* Private: UTF-8, shared by governd's validation and vcli's output. */
#ifndef VCLI_UTF8_H
#define VCLI_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Returns the length of the well-formed UTF-8 sequence at s (at most len
 * bytes), or 0 when it is not one.  Overlong forms, surrogates and code
 * points past U+10FFFF count as malformed (RFC 3629).
 */
size_t utf8_seq_len(const unsigned char *s, size_t len);

#endif
