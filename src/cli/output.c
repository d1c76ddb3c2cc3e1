/*
 * vcli: output formats (see output.h).
 */
#include "cli/output.h"
#include "common/utf8.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const output_names[] = { "table", "json", "yaml", NULL };


/* Appends text to dst as snprintf would: counts everything, stores what
 * fits, and leaves room for the final NUL. */
static void put(char *dst, size_t cap, size_t *used, const char *text,
		size_t n)
{
	if (*used < cap) {
		size_t room = cap - 1 - *used;

		memcpy(dst + *used, text, n < room ? n : room);
	}
	*used += n;
}

size_t out_json_escape(char *dst, size_t cap, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t used = 0, i = 0;

	while (i < len) {
		unsigned char c = u[i];
		char esc[8];
		size_t n;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(dst, cap, &used, esc, 2);
			i++;
		} else if (c < 0x20) {
			const char *named = NULL;

			switch (c) {
			case '\b': named = "\\b"; break;
			case '\f': named = "\\f"; break;
			case '\n': named = "\\n"; break;
			case '\r': named = "\\r"; break;
			case '\t': named = "\\t"; break;
			}
			if (named) {
				put(dst, cap, &used, named, 2);
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				put(dst, cap, &used, esc, 6);
			}
			i++;
		} else if (c == 0x7f || (c == 0xc2 && i + 1 < len &&
					 u[i + 1] < 0xa0 && u[i + 1] >= 0x80)) {
			/* DEL and the C1 controls are legal in JSON, but
			 * escaped they cannot reach a terminal that shows the
			 * output. */
			unsigned cp = c == 0x7f ? 0x7f : u[i + 1];

			snprintf(esc, sizeof(esc), "\\u%04x", cp);
			put(dst, cap, &used, esc, 6);
			i += c == 0x7f ? 1 : 2;
		} else if ((n = utf8_seq_len(u + i, len - i)) == 0) {
			/* One replacement per bad byte, as decoders do. */
			put(dst, cap, &used, "\\ufffd", 6);
			i++;
		} else {
			put(dst, cap, &used, s + i, n);
			i += n;
		}
	}
	if (cap)
		dst[used < cap ? used : cap - 1] = '\0';
	return used;
}

void out_json_string(FILE *f, const char *s)
{
	char small[256];
	size_t len = s ? strlen(s) : 0;
	size_t need = out_json_escape(small, sizeof(small), s ? s : "", len);

	fputc('"', f);
	if (need < sizeof(small)) {
		fputs(small, f);
	} else {
		/* Escaping grows text at most sixfold; a long string goes
		 * through the heap instead of a bigger stack buffer. */
		char *big = malloc(need + 1);

		if (big) {
			out_json_escape(big, need + 1, s, len);
			fputs(big, f);
			free(big);
		} else {
			fputs(small, f);
		}
	}
	fputc('"', f);
}

size_t out_sanitize_n(char *dst, size_t cap, const char *src, size_t len)
{
	return utf8_sanitize_n(dst, cap, src, len);
}

void out_sanitize(char *dst, size_t cap, const char *src)
{
	out_sanitize_n(dst, cap, src ? src : "", src ? strlen(src) : 0);
}

void out_text(FILE *f, const char *s)
{
	char buf[1024];
	size_t len = s ? strlen(s) : 0, i = 0;

	/* In chunks; a chunk never splits a character because
	 * out_sanitize_n() only stops between characters. */
	while (i < len) {
		size_t used = out_sanitize_n(buf, sizeof(buf), s + i, len - i);

		if (used == 0)
			break;
		fputs(buf, f);
		i += used;
	}
}

size_t out_text_width(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = s ? strlen(s) : 0, i = 0, w = 0;

	while (i < len) {
		size_t n = utf8_printable_len(u + i, len - i);

		i += n ? n : 1;
		w++;
	}
	return w;
}

void out_kv(FILE *f, const char *key, const char *fmt, ...)
{
	char value[1024];
	va_list ap;
	int pad = 10 - (int)strlen(key);

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	fprintf(f, "%s%*s", key, pad >= 2 ? pad : 2, "");
	out_text(f, value);
	fputc('\n', f);
}

void out_format_uptime(int64_t seconds, char *buf, size_t len)
{
	int64_t d, h, m, s;

	if (seconds < 0)
		seconds = 0;
	d = seconds / 86400;
	h = seconds / 3600 % 24;
	m = seconds / 60 % 60;
	s = seconds % 60;
	if (d)
		snprintf(buf, len, "%" PRId64 "d%" PRId64 "h%" PRId64 "m%"
			 PRId64 "s", d, h, m, s);
	else if (h)
		snprintf(buf, len, "%" PRId64 "h%" PRId64 "m%" PRId64 "s", h,
			 m, s);
	else if (m)
		snprintf(buf, len, "%" PRId64 "m%" PRId64 "s", m, s);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
}
