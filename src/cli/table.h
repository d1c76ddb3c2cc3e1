/*
 * Private to vcli: aligned text tables for the table output format.
 *
 * Cells are sanitized as out_text() does (server text cannot drive the
 * terminal), column widths come from the widest cell, and a cell wider
 * than its column's cap is cut with an ellipsis.  Colour is an attribute of
 * a cell that table_print() writes only when asked to.
 */
#ifndef VCLI_CLI_TABLE_H
#define VCLI_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

/* ANSI colours for cells; NULL is the terminal's default. */
#define TABLE_RED "\033[31m"
#define TABLE_GREEN "\033[32m"
#define TABLE_YELLOW "\033[33m"
#define TABLE_BLUE "\033[34m"
#define TABLE_RESET "\033[0m"

struct table_col {
	const char *header;
	size_t max;  /* widest a cell may be, ellipsis included; 0: no cap */
};

struct table_cell {
	char *text;
	const char *color;
};

struct table {
	const struct table_col *cols;
	size_t ncols;
	size_t nrows, cap;          /* rows used and allocated */
	struct table_cell *cells;   /* nrows * ncols */
	int failed;                 /* out of memory: print refuses */
	int indent;                 /* spaces before every line */
};

void table_init(struct table *t, const struct table_col *cols, size_t ncols);
void table_release(struct table *t);

/* Starts a row; its cells are empty until set. */
void table_row(struct table *t);

/* Sets cell col of the last row (copied, sanitized). */
void table_set(struct table *t, size_t col, const char *color,
	       const char *text);
void table_setf(struct table *t, size_t col, const char *color,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Writes the header and the rows, columns two spaces apart, no trailing
 * blanks.  With color, coloured cells are wrapped in ANSI sequences (the
 * padding stays outside them).  Returns 0, or -1 after a failed allocation.
 */
int table_print(FILE *f, const struct table *t, int color);

/*
 * Copies src into dst (cap bytes) cut to at most max columns: a longer
 * text keeps max-1 characters and gets "…".  Returns dst.
 */
char *table_ellipsize(char *dst, size_t cap, const char *src, size_t max);

#endif
