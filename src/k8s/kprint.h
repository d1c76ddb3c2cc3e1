/*
 * Private to the k8s library: kubectl's printers.
 *
 * ktab is Go's text/tabwriter as kubectl configures it (minimum width 6,
 * padding 3, spaces): cells end with a tab, the last cell of a line does
 * not, a column is as wide as its widest cell (counted in characters)
 * plus the padding.  ktable prints server-side Table objects as kubectl get
 * does.
 */
#ifndef VCLI_K8S_KPRINT_H
#define VCLI_K8S_KPRINT_H

#include <stdio.h>

#include <jansson.h>

#include "common/buf.h"

struct ktab {
	buf text;     /* the lines, cells separated by '\t' */
	size_t min_width, padding;
};

/* kubectl get's settings: minimum width 6, padding 3. */
void ktab_init(struct ktab *t);
/* kubectl describe's: minimum width 0, padding 2. */
void ktab_init_describe(struct ktab *t);
void ktab_release(struct ktab *t);
/* Appends raw text (cells with '\t', lines with '\n'). */
int ktab_add(struct ktab *t, const char *s, size_t n);
int ktab_printf(struct ktab *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Lays the text out into out and forgets it.  Returns 0 or -1. */
int ktab_flush(struct ktab *t, buf *out);
/* The same, written to f line by line (no copy of the whole table). */
int ktab_write(struct ktab *t, FILE *f);

/* How get prints a table. */
struct ktable_opts {
	int wide;          /* -o wide: every column */
	int with_namespace;/* -A: a NAMESPACE column first */
	int show_labels;   /* a LABELS column last */
	int no_headers;
	const char *kind_prefix; /* "deployment.apps": names become
				    "deployment.apps/web"; NULL: as they are */
	const char *const *label_columns; /* -L keys, NULL-ended, or NULL */
};

/* Appends the header line of table (a Table object) to t. */
int ktable_header(struct ktab *t, const json_t *table,
		  const struct ktable_opts *o);
/* Appends its rows; columns are table's or, when it has none (watch
 * events after the first), cols. */
int ktable_rows(struct ktab *t, const json_t *table, const json_t *cols,
		const struct ktable_opts *o);

/*
 * ktable_rows() straight from the JSON text of a Table (len bytes),
 * without building it: what get uses for long lists.  cols are the
 * column definitions (from the first answer).  Adds the number of rows to
 * *nrows.  Returns 0, or -1 when the text is not a Table's or memory runs
 * out.
 */
int ktable_rows_text(struct ktab *t, const char *text, size_t len,
		     const json_t *cols, const struct ktable_opts *o,
		     size_t *nrows);

/* "Error from server (Reason): message" for a Status body, or a
 * description of the HTTP status when the body is not one. */
void kstatus_message(long http_status, const char *body, size_t len,
		     char *out, size_t outlen);

/* The Status reason ("NotFound", "Forbidden") of a body, or "". */
void kstatus_reason(const char *body, size_t len, char *out, size_t outlen);

#endif
