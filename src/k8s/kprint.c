/*
 * kubectl's tabwriter and table printer; see kprint.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/kprint.h"
#include "k8s/kyaml.h"

#define KTAB_MIN_WIDTH 6
#define KTAB_PADDING 3
#define KTAB_TEXT_MAX (1u << 30)

void ktab_init(struct ktab *t)
{
	buf_init(&t->text, KTAB_TEXT_MAX);
	t->min_width = KTAB_MIN_WIDTH;
	t->padding = KTAB_PADDING;
}

void ktab_init_describe(struct ktab *t)
{
	buf_init(&t->text, KTAB_TEXT_MAX);
	t->min_width = 0;
	t->padding = 2;
}

void ktab_release(struct ktab *t)
{
	buf_release(&t->text);
}

int ktab_add(struct ktab *t, const char *s, size_t n)
{
	return buf_append(&t->text, s, n);
}

int ktab_printf(struct ktab *t, const char *fmt, ...)
{
	char small[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_append(&t->text, small, (size_t)n);
	{
		char *big = malloc((size_t)n + 1);
		int rc;

		if (!big)
			return -1;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		rc = buf_append(&t->text, big, (size_t)n);
		free(big);
		return rc;
	}
}

/* Characters (not bytes) of UTF-8 text. */
static size_t width_of(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/*
 * Go's tabwriter lays columns out by blocks: column j of a run of
 * consecutive lines that all have a cell j (a tab-terminated one).  The
 * recursion below is the same as format() in text/tabwriter.
 */
struct line {
	const char *start;
	size_t ncells;     /* tab-terminated cells */
	size_t *cell_len;  /* byte lengths, ncells + 1 (the last, free one) */
	size_t *cell_w;
};

static void layout(const struct ktab *t, struct line *lines, size_t line0,
		   size_t line1, size_t col)
{
	size_t i = line0;

	while (i < line1) {
		size_t j, w = 0;

		if (lines[i].ncells <= col) {
			i++;
			continue;
		}
		for (j = i; j < line1 && lines[j].ncells > col; j++)
			if (lines[j].cell_w[col] + t->padding > w)
				w = lines[j].cell_w[col] + t->padding;
		if (w < t->min_width)
			w = t->min_width;
		/* The block's width goes to every line in it. */
		for (size_t k = i; k < j; k++)
			lines[k].cell_len[lines[k].ncells + 1 + col] = w;
		layout(t, lines, i, j, col + 1);
		i = j;
	}
}

static int flush(struct ktab *t, buf *out, FILE *f);

int ktab_flush(struct ktab *t, buf *out)
{
	return flush(t, out, NULL);
}

int ktab_write(struct ktab *t, FILE *f)
{
	buf line = BUF_INIT(KTAB_TEXT_MAX);
	int rc = flush(t, &line, f);

	buf_release(&line);
	return rc;
}

/* Lays out into out; with f, line by line into f (out holds one line). */
static int flush(struct ktab *t, buf *out, FILE *f)
{
	const char *s = (const char *)t->text.data;
	size_t n = t->text.len, nlines = 0, pos;
	struct line *lines;
	int rc = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n')
			nlines++;
	if (s[n - 1] != '\n')
		nlines++;
	lines = calloc(nlines, sizeof(*lines));
	if (!lines)
		return -1;
	pos = 0;
	for (size_t l = 0; l < nlines; l++) {
		size_t end = pos, tabs = 0, c = 0, cs;

		while (end < n && s[end] != '\n') {
			if (s[end] == '\t')
				tabs++;
			end++;
		}
		lines[l].start = s + pos;
		lines[l].ncells = tabs;
		/* cell_len[0..tabs] lengths, then tabs widths (set by
		 * layout) after them. */
		/* One allocation: lengths, widths set by layout(), then the
		 * cells' character counts. */
		lines[l].cell_len = calloc(3 * tabs + 3, sizeof(size_t));
		lines[l].cell_w = lines[l].cell_len ? lines[l].cell_len + 2 * tabs + 2
						    : NULL;
		if (!lines[l].cell_len) {
			rc = -1;
			nlines = l + 1;
			goto out;
		}
		cs = pos;
		for (size_t i = pos; i <= end; i++) {
			if (i == end || s[i] == '\t') {
				lines[l].cell_len[c] = i - cs;
				lines[l].cell_w[c] = width_of(s + cs, i - cs);
				c++;
				cs = i + 1;
			}
		}
		pos = end + 1;
	}
	layout(t, lines, 0, nlines, 0);
	for (size_t l = 0; l < nlines && rc == 0; l++) {
		const char *p = lines[l].start;

		for (size_t c = 0; c <= lines[l].ncells && rc == 0; c++) {
			size_t len = lines[l].cell_len[c];

			rc = buf_append(out, p, len);
			if (rc == 0 && c < lines[l].ncells) {
				size_t w = lines[l].cell_len[lines[l].ncells + 1 + c];

				for (size_t k = lines[l].cell_w[c]; k < w && rc == 0; k++)
					rc = buf_append_byte(out, ' ');
			}
			p += len + 1;
		}
		if (rc == 0 && (l + 1 < nlines || s[n - 1] == '\n'))
			rc = buf_append_byte(out, '\n');
		if (rc == 0 && f) {
			if (out->len && fwrite(out->data, 1, out->len, f) != out->len)
				rc = -1;
			buf_reset(out);
		}
	}
out:
	for (size_t l = 0; l < nlines; l++)
		free(lines[l].cell_len);
	free(lines);
	buf_reset(&t->text);
	return rc;
}

/* ------------------------------------------------------------ tables */

static int column_shown(const json_t *col, const struct ktable_opts *o)
{
	return o->wide || json_integer_value(json_object_get(col, "priority")) == 0;
}

int ktable_header(struct ktab *t, const json_t *table,
		  const struct ktable_opts *o)
{
	json_t *cols = json_object_get(table, "columnDefinitions"), *c;
	size_t i;
	int first = 1, rc = 0;

	if (o->no_headers)
		return 0;
	if (o->with_namespace) {
		rc = ktab_add(t, "NAMESPACE", 9);
		first = 0;
	}
	json_array_foreach(cols, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));

		if (!column_shown(c, o))
			continue;
		if (!first)
			rc |= ktab_add(t, "\t", 1);
		first = 0;
		for (const char *p = name ? name : ""; *p; p++) {
			char u = (char)toupper((unsigned char)*p);

			rc |= ktab_add(t, &u, 1);
		}
	}
	for (size_t k = 0; o->label_columns && o->label_columns[k]; k++) {
		rc |= ktab_add(t, "\t", 1);
		for (const char *p = o->label_columns[k]; *p; p++) {
			char u = (char)toupper((unsigned char)*p);

			rc |= ktab_add(t, &u, 1);
		}
	}
	if (o->show_labels)
		rc |= ktab_add(t, "\tLABELS", 7);
	rc |= ktab_add(t, "\n", 1);
	return rc ? -1 : 0;
}

/* A cell as Go's fmt.Print shows it; tabs and line breaks would break
 * the table, so they become spaces. */
static int add_cell(struct ktab *t, const json_t *v)
{
	char num[48];

	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);

		for (size_t i = 0; i < n; i++) {
			char c = s[i];

			if (c == '\t' || c == '\n' || c == '\r')
				c = ' ';
			if (ktab_add(t, &c, 1) < 0)
				return -1;
		}
		return 0;
	}
	case JSON_INTEGER:
		return ktab_printf(t, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		kjson_format_real(json_real_value(v), num, sizeof(num));
		return ktab_add(t, num, strlen(num));
	case JSON_TRUE:
		return ktab_add(t, "true", 4);
	case JSON_FALSE:
		return ktab_add(t, "false", 5);
	case JSON_NULL:
		return ktab_add(t, "<nil>", 5);
	default: {
		buf b = BUF_INIT(1 << 20);
		int rc = kjson_emit_compact(&b, v);

		if (rc == 0)
			rc = ktab_add(t, (const char *)b.data, b.len);
		buf_release(&b);
		return rc;
	}
	}
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int add_labels(struct ktab *t, const json_t *labels)
{
	size_t n = json_object_size(labels), i = 0;
	const char **keys;
	const char *k;
	json_t *v;
	int rc = 0;

	if (!n)
		return ktab_add(t, "<none>", 6);
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -1;
	json_object_foreach((json_t *)labels, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n && rc == 0; i++)
		rc = ktab_printf(t, "%s%s=%s", i ? "," : "", keys[i],
				 json_string_value(json_object_get(labels,
								   keys[i])) ?
				 json_string_value(json_object_get(labels,
								   keys[i])) : "");
	free(keys);
	return rc;
}

int ktable_rows(struct ktab *t, const json_t *table, const json_t *cols,
		const struct ktable_opts *o)
{
	json_t *tc = json_object_get(table, "columnDefinitions");
	json_t *row;
	size_t i;

	if (json_array_size(tc))
		cols = tc;
	json_array_foreach(json_object_get(table, "rows"), i, row) {
		json_t *cells = json_object_get(row, "cells"), *cell;
		json_t *md = json_object_get(json_object_get(row, "object"),
					     "metadata");
		size_t j;
		int first = 1, rc = 0;

		if (o->with_namespace) {
			const char *ns = json_string_value(json_object_get(md,
							       "namespace"));

			rc |= ktab_add(t, ns ? ns : "", ns ? strlen(ns) : 0);
			first = 0;
		}
		json_array_foreach(cells, j, cell) {
			json_t *col = json_array_get(cols, j);

			if (!col || !column_shown(col, o))
				continue;
			if (!first)
				rc |= ktab_add(t, "\t", 1);
			if (first && o->kind_prefix && json_is_string(cell))
				rc |= ktab_printf(t, "%s/", o->kind_prefix);
			first = 0;
			rc |= add_cell(t, cell);
		}
		for (size_t k = 0; o->label_columns && o->label_columns[k]; k++) {
			const char *v = json_string_value(json_object_get(
				json_object_get(md, "labels"),
				o->label_columns[k]));

			rc |= ktab_add(t, "\t", 1);
			if (v)
				rc |= ktab_add(t, v, strlen(v));
		}
		if (o->show_labels) {
			rc |= ktab_add(t, "\t", 1);
			rc |= add_labels(t, json_object_get(md, "labels"));
		}
		rc |= ktab_add(t, "\n", 1);
		if (rc)
			return -1;
	}
	return 0;
}

/* Appends the JSON string at t[i] == '"', unescaped, tabs and line breaks
 * as spaces.  Returns the position after it, or n. */
static size_t add_json_string(struct ktab *t, const char *s, size_t i,
			      size_t n, int *rc)
{
	size_t start = ++i;

	while (i < n && s[i] != '"') {
		if (s[i] == '\\') {
			unsigned cp = 0;
			char c, u[4];
			size_t ul = 0;

			if (i > start)
				*rc |= ktab_add(t, s + start, i - start);
			if (i + 1 >= n)
				return n;
			c = s[i + 1];
			i += 2;
			switch (c) {
			case 'n': case 'r': case 't':
				*rc |= ktab_add(t, " ", 1);
				break;
			case 'b': case 'f':
				break;
			case 'u':
				if (i + 4 > n)
					return n;
				for (int k = 0; k < 4; k++) {
					char h = s[i + k];

					cp = cp * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 :
						h >= 'A' ? h - 'A' + 10 : h - '0');
				}
				i += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= n &&
				    s[i] == '\\' && s[i + 1] == 'u') {
					unsigned lo = 0;

					for (int k = 0; k < 4; k++) {
						char h = s[i + 2 + k];

						lo = lo * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 :
							h >= 'A' ? h - 'A' + 10 : h - '0');
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
				if (cp < 0x80) {
					u[ul++] = (char)(cp == '\t' || cp == '\n' ||
							 cp == '\r' ? ' ' : cp);
				} else if (cp < 0x800) {
					u[ul++] = (char)(0xc0 | (cp >> 6));
					u[ul++] = (char)(0x80 | (cp & 0x3f));
				} else if (cp < 0x10000) {
					u[ul++] = (char)(0xe0 | (cp >> 12));
					u[ul++] = (char)(0x80 | ((cp >> 6) & 0x3f));
					u[ul++] = (char)(0x80 | (cp & 0x3f));
				} else {
					u[ul++] = (char)(0xf0 | (cp >> 18));
					u[ul++] = (char)(0x80 | ((cp >> 12) & 0x3f));
					u[ul++] = (char)(0x80 | ((cp >> 6) & 0x3f));
					u[ul++] = (char)(0x80 | (cp & 0x3f));
				}
				*rc |= ktab_add(t, u, ul);
				break;
			default:
				*rc |= ktab_add(t, &c, 1);
			}
			start = i;
			continue;
		}
		if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			/* Not valid JSON, but never let it break the table. */
			if (i > start)
				*rc |= ktab_add(t, s + start, i - start);
			*rc |= ktab_add(t, " ", 1);
			start = ++i;
			continue;
		}
		i++;
	}
	if (i > start)
		*rc |= ktab_add(t, s + start, i - start);
	return i < n ? i + 1 : n;
}

/* A cell from text at i: a string unescaped, a number or literal as
 * written (null as <nil>), anything else through jansson. */
static size_t add_cell_text(struct ktab *t, const char *s, size_t i,
			    size_t n, int *rc)
{
	size_t e;

	i = kjson_ws(s, i, n);
	if (i >= n)
		return n;
	if (s[i] == '"')
		return add_json_string(t, s, i, n, rc);
	e = kjson_skip(s, i, n);
	if (s[i] == '{' || s[i] == '[' || (s[i] != 'n' && s[i] != 't' &&
					   s[i] != 'f' && s[i] != '-' &&
					   (s[i] < '0' || s[i] > '9'))) {
		json_t *v = json_loadb(s + i, e - i, JSON_DECODE_ANY, NULL);

		if (v)
			*rc |= add_cell(t, v);
		json_decref(v);
	} else if (s[i] == 'n') {
		*rc |= ktab_add(t, "<nil>", 5);
	} else if (memchr(s + i, '.', e - i) || memchr(s + i, 'e', e - i) ||
		   memchr(s + i, 'E', e - i)) {
		json_t *v = json_loadb(s + i, e - i, JSON_DECODE_ANY, NULL);

		if (v)
			*rc |= add_cell(t, v);
		json_decref(v);
	} else {
		*rc |= ktab_add(t, s + i, e - i);
	}
	return e;
}

int ktable_rows_text(struct ktab *t, const char *s, size_t n,
		     const json_t *cols, const struct ktable_opts *o,
		     size_t *nrows)
{
	size_t i = kjson_find_key(s, 0, n, "rows");
	int rc = 0;

	if (i >= n)
		return 0; /* no rows */
	if (s[i] == 'n')
		return 0; /* "rows": null */
	if (s[i] != '[')
		return -1;
	i = kjson_ws(s, i + 1, n);
	while (i < n && s[i] != ']') {
		size_t row = i, end = kjson_skip(s, i, n);
		size_t c = kjson_find_key(s, row, end, "cells");
		size_t ob = kjson_find_key(s, row, end, "object");
		size_t md = ob < end ? kjson_find_key(s, ob, end, "metadata") : end;
		size_t col = 0;
		int first = 1;

		if (end >= n || c >= end || s[c] != '[')
			return -1;
		if (o->with_namespace) {
			size_t ns = md < end ? kjson_find_key(s, md, end,
							       "namespace") : end;

			if (ns < end && s[ns] == '"')
				add_json_string(t, s, ns, end, &rc);
			first = 0;
		}
		c = kjson_ws(s, c + 1, end);
		while (c < end && s[c] != ']') {
			const json_t *cd = json_array_get(cols, col++);

			if (!cd || !(o->wide || json_integer_value(
					json_object_get(cd, "priority")) == 0)) {
				c = kjson_skip(s, c, end);
			} else {
				if (!first)
					rc |= ktab_add(t, "\t", 1);
				if (first && o->kind_prefix && s[c] == '"')
					rc |= ktab_printf(t, "%s/", o->kind_prefix);
				first = 0;
				c = add_cell_text(t, s, c, end, &rc);
			}
			c = kjson_ws(s, c, end);
			if (c < end && s[c] == ',')
				c = kjson_ws(s, c + 1, end);
		}
		if ((o->label_columns && o->label_columns[0]) || o->show_labels) {
			size_t l = md < end ? kjson_find_key(s, md, end, "labels") : end;
			json_t *labels = l < end ? json_loadb(s + l,
				kjson_skip(s, l, end) - l, JSON_DECODE_ANY, NULL) : NULL;

			for (size_t k = 0; o->label_columns && o->label_columns[k]; k++) {
				const char *v = json_string_value(json_object_get(
					labels, o->label_columns[k]));

				rc |= ktab_add(t, "\t", 1);
				if (v)
					rc |= ktab_add(t, v, strlen(v));
			}
			if (o->show_labels) {
				rc |= ktab_add(t, "\t", 1);
				rc |= add_labels(t, labels);
			}
			json_decref(labels);
		}
		rc |= ktab_add(t, "\n", 1);
		if (rc)
			return -1;
		(*nrows)++;
		i = kjson_ws(s, end, n);
		if (i < n && s[i] == ',')
			i = kjson_ws(s, i + 1, n);
	}
	return 0;
}

void kstatus_reason(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *v = json_loadb(body, len, 0, NULL);
	const char *r = json_string_value(json_object_get(v, "reason"));

	snprintf(out, outlen, "%s", r ? r : "");
	json_decref(v);
}

void kstatus_message(long http_status, const char *body, size_t len,
		     char *out, size_t outlen)
{
	json_t *v = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *kind = json_string_value(json_object_get(v, "kind"));
	const char *reason = json_string_value(json_object_get(v, "reason"));
	const char *msg = json_string_value(json_object_get(v, "message"));

	if (http_status == 401) {
		/* As kubectl words it; discovery passes no body and gets
		 * client-go's own wording. */
		snprintf(out, outlen, "You must be logged in to the server (%s)",
			 msg ? msg : "the server has asked for the client to "
			 "provide credentials");
	} else if (kind && strcmp(kind, "Status") == 0 && msg) {
		snprintf(out, outlen, "Error from server (%s): %s",
			 reason && *reason ? reason : "Unknown", msg);
	} else if (http_status == 403) {
		snprintf(out, outlen, "Error from server (Forbidden): %.*s",
			 (int)(len > 200 ? 200 : len), body ? body : "");
	} else if (http_status == 404) {
		snprintf(out, outlen, "the server could not find the requested "
			 "resource");
	} else {
		snprintf(out, outlen, "the server answered HTTP %ld: %.*s",
			 http_status, (int)(len > 200 ? 200 : len),
			 body ? body : "");
	}
	json_decref(v);
}
