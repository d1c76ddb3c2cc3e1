/*
 * Private to vcli: writing results in the output formats (-o table|json|yaml).
 *
 * Text that comes from the server is untrusted: JSON output escapes it so the
 * document stays valid (and valid UTF-8), table output replaces control
 * characters so a hostile string cannot drive the operator's terminal.
 */
#ifndef VCLI_CLI_OUTPUT_H
#define VCLI_CLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The values of -o/--output, in the order of output_names[]. */
enum output_format {
	OUTPUT_TABLE = 0,
	OUTPUT_JSON = 1,
	OUTPUT_YAML = 2,
};

extern const char *const output_names[]; /* NULL-ended, for OPT_ENUM */

/*
 * Escapes s (len bytes) as the inside of a JSON string, without the quotes:
 * '"' and '\\' get a backslash, control characters (C0, DEL and C1)
 * become \n, \t, ... or \u00XX, and bytes that are not well-formed UTF-8
 * become \ufffd, so the result is always valid JSON text.  Writes at most
 * cap-1 bytes and a NUL into dst (dst may be NULL when cap is 0) and
 * returns the length the whole escaped text needs, as snprintf does (a
 * truncated result may end inside an escape: check the length).
 */
size_t out_json_escape(char *dst, size_t cap, const char *s, size_t len);

/* Writes s as a quoted, escaped JSON string.  NULL writes "". */
void out_json_string(FILE *f, const char *s);

/* Writes s with every control character (C0, DEL and C1) and every byte
 * that is not well-formed UTF-8 replaced by '?'. */
void out_text(FILE *f, const char *s);

/* Copies src into dst (cap bytes, NUL included, truncating between
 * characters) with the same replacement, for server text that goes into an
 * error message. */
void out_sanitize(char *dst, size_t cap, const char *src);

/* The same for len bytes of src; returns how many bytes of src it used. */
size_t out_sanitize_n(char *dst, size_t cap, const char *src, size_t len);

/*
 * Writes one "KEY       value" row of a vertical table: the key padded to
 * a column of 10 (wider keys get two spaces), the formatted value passed
 * through out_text(), and a newline.
 */
void out_kv(FILE *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The number of terminal columns s takes once sanitized as out_text()
 * does: one per character (wide characters are not told apart). */
size_t out_text_width(const char *s);

/* Formats seconds as "1d2h3m4s", "1h2m3s", "2m3s" or "45s".  Negative
 * values (a confused server) come out as "0s". */
void out_format_uptime(int64_t seconds, char *buf, size_t len);

#endif
