/*
 * vcli: aligned text tables (see table.h).
 */
#include "cli/table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"

static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */

void table_init(struct table *t, const struct table_col *cols, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
}

void table_release(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

void table_row(struct table *t)
{
	if (t->failed)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct table_cell *c = realloc(t->cells,
					       cap * t->ncols * sizeof(*c));

		if (!c) {
			t->failed = 1;
			return;
		}
		t->cells = c;
		t->cap = cap;
	}
	memset(t->cells + t->nrows * t->ncols, 0,
	       t->ncols * sizeof(*t->cells));
	t->nrows++;
}

void table_set(struct table *t, size_t col, const char *color,
	       const char *text)
{
	struct table_cell *c;
	size_t len;

	if (t->failed || !t->nrows || col >= t->ncols)
		return;
	c = &t->cells[(t->nrows - 1) * t->ncols + col];
	free(c->text);
	len = text ? strlen(text) : 0;
	c->text = malloc(len + 1);
	if (!c->text) {
		t->failed = 1;
		return;
	}
	/* Sanitizing never makes text longer: one '?' per bad byte. */
	out_sanitize(c->text, len + 1, text ? text : "");
	c->color = color;
}

void table_setf(struct table *t, size_t col, const char *color,
		const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	table_set(t, col, color, buf);
}

/* The byte length of the first n characters of s (already sanitized, so
 * well-formed UTF-8). */
static size_t prefix_bytes(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (u[i] && n) {
		i++;
		while ((u[i] & 0xc0) == 0x80)
			i++;
		n--;
	}
	return i;
}

char *table_ellipsize(char *dst, size_t cap, const char *src, size_t max)
{
	size_t w = out_text_width(src), keep;

	if (!cap)
		return dst;
	if (max == 0 || w <= max) {
		out_sanitize(dst, cap, src);
		return dst;
	}
	out_sanitize(dst, cap, src);
	keep = prefix_bytes(dst, max - 1);
	if (keep + sizeof(ellipsis) > cap)
		keep = prefix_bytes(dst, 0);
	memcpy(dst + keep, ellipsis, sizeof(ellipsis));
	return dst;
}

/* Writes one cell, cut to max and padded to width (unless last). */
static void cell(FILE *f, const char *text, const char *color, size_t width,
		 size_t max, int last, int use_color)
{
	char small[512], *buf = small;
	size_t len = strlen(text), cap = len + sizeof(ellipsis) + 1, w;

	if (cap > sizeof(small)) {
		buf = malloc(cap);
		if (!buf) {
			buf = small;
			cap = sizeof(small);
		}
	} else {
		cap = sizeof(small);
	}
	table_ellipsize(buf, cap, text, max);
	w = out_text_width(buf);
	if (use_color && color)
		fprintf(f, "%s%s%s", color, buf, TABLE_RESET);
	else
		fputs(buf, f);
	if (!last)
		fprintf(f, "%*s", (int)(width - w + 2), "");
	if (buf != small)
		free(buf);
}

int table_print(FILE *f, const struct table *t, int color)
{
	size_t *width;

	if (t->failed)
		return -1;
	width = calloc(t->ncols ? t->ncols : 1, sizeof(*width));
	if (!width)
		return -1;
	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = out_text_width(t->cols[c].header);
		for (size_t r = 0; r < t->nrows; r++) {
			const char *text = t->cells[r * t->ncols + c].text;
			size_t w = text ? out_text_width(text) : 0;

			if (w > width[c])
				width[c] = w;
		}
		if (t->cols[c].max && width[c] > t->cols[c].max)
			width[c] = t->cols[c].max;
	}
	fprintf(f, "%*s", t->indent, "");
	for (size_t c = 0; c < t->ncols; c++)
		cell(f, t->cols[c].header, NULL, width[c], t->cols[c].max,
		     c + 1 == t->ncols, 0);
	fputc('\n', f);
	for (size_t r = 0; r < t->nrows; r++) {
		const struct table_cell *row = &t->cells[r * t->ncols];
		size_t last = t->ncols ? t->ncols - 1 : 0;

		/* Empty cells at the end of a row get no padding, so no
		 * line ends in blanks. */
		while (last > 0 && (!row[last].text || !row[last].text[0]))
			last--;
		fprintf(f, "%*s", t->indent, "");
		for (size_t c = 0; c <= last && c < t->ncols; c++)
			cell(f, row[c].text ? row[c].text : "", row[c].color,
			     width[c], t->cols[c].max, c == last, color);
		fputc('\n', f);
	}
	free(width);
	return 0;
}
