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

/*
 * How many bytes at s (at most len) make one printable character, or 0 for
 * a byte that utf8_sanitize_n() shows as '?': C0 and C1 control characters
 * (C1 ones such as U+009B open terminal escape sequences too), DEL, and
 * bytes that are not well-formed UTF-8.
 */
size_t utf8_printable_len(const unsigned char *s, size_t len);

/*
 * Copies len bytes of src into dst (cap bytes, NUL-terminated) for a
 * terminal or a message: printable characters stay, every other byte
 * becomes '?' (see utf8_printable_len()).  Stops between characters when dst is full;
 * returns how many bytes of src it took.
 */
size_t utf8_sanitize_n(char *dst, size_t cap, const char *src, size_t len);

#endif
