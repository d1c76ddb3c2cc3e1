/*
 * vcli: the document tree and its json and yaml writers (see doc.h).
 */
#include "cli/doc.h"
#include "common/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/output.h"

/* Arena blocks: big enough that a list of 500 decisions needs a few. */
#define DOC_BLOCK_SIZE (64 * 1024)

struct doc_block {
	struct doc_block *next;
	size_t used, size;
	max_align_t data[];
};

void doc_arena_init(struct doc_arena *a)
{
	a->blocks = NULL;
	a->failed = 0;
}

void doc_arena_release(struct doc_arena *a)
{
	struct doc_block *b = a->blocks;

	while (b) {
		struct doc_block *next = b->next;

		free(b);
		b = next;
	}
	a->blocks = NULL;
}

void *doc_alloc(struct doc_arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	struct doc_block *b = a->blocks;
	void *p;

	size = (size + align - 1) / align * align;
	if (!size)
		size = align;
	if (!b || b->size - b->used < size) {
		size_t cap = size > DOC_BLOCK_SIZE ? size : DOC_BLOCK_SIZE;

		b = malloc(sizeof(*b) + cap);
		if (!b) {
			a->failed = 1;
			return NULL;
		}
		b->used = 0;
		b->size = cap;
		b->next = a->blocks;
		a->blocks = b;
	}
	p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *doc_strndup(struct doc_arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = doc_alloc(a, len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static struct doc *node(struct doc_arena *a, enum doc_kind kind)
{
	struct doc *d = doc_alloc(a, sizeof(*d));

	if (d)
		d->kind = kind;
	return d;
}

struct doc *doc_obj(struct doc_arena *a)
{
	return node(a, DOC_OBJ);
}

struct doc *doc_arr(struct doc_arena *a)
{
	return node(a, DOC_ARR);
}

struct doc *doc_null(struct doc_arena *a)
{
	return node(a, DOC_NULL);
}

struct doc *doc_bool(struct doc_arena *a, int b)
{
	struct doc *d = node(a, DOC_BOOL);

	if (d)
		d->boolean = !!b;
	return d;
}

struct doc *doc_str(struct doc_arena *a, const char *s)
{
	struct doc *d = node(a, DOC_STR);

	if (!s)
		s = "";
	if (d && !(d->text = doc_strndup(a, s, strlen(s))))
		return NULL;
	return d;
}

static struct doc *num(struct doc_arena *a, const char *text, int is_float)
{
	struct doc *d = node(a, DOC_NUM);

	if (d && !(d->text = doc_strndup(a, text, strlen(text))))
		return NULL;
	if (d)
		d->is_float = is_float;
	return d;
}

struct doc *doc_int(struct doc_arena *a, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return num(a, buf, 0);
}

struct doc *doc_uint(struct doc_arena *a, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return num(a, buf, 0);
}

void doc_format_double(double v, char *out, size_t outlen)
{
	if (isnan(v)) {
		snprintf(out, outlen, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, outlen, v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	/* The shortest precision that reads back as the same double, as
	 * other JSON encoders print (0.85, not 0.84999999999999998). */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, outlen, "%.*g", prec, v);
		if (strtod(out, NULL) != v)
			continue;
		/* %g switches to an exponent once the digits run out
		 * ("1e+02"); below 1e16 whole digits read better (100). */
		if (strchr(out, 'e') && fabs(v) >= 1 && fabs(v) < 1e16) {
			int digits = (int)floor(log10(fabs(v))) + 1;

			if (digits > prec)
				snprintf(out, outlen, "%.*g", digits, v);
		}
		return;
	}
}

struct doc *doc_double(struct doc_arena *a, double v)
{
	char buf[40];

	doc_format_double(v, buf, sizeof(buf));
	if (isnan(v) || isinf(v))
		return doc_str(a, buf);
	return num(a, buf, 1);
}

static void append(struct doc *parent, struct doc *child)
{
	if (parent->last)
		parent->last->next = child;
	else
		parent->first = child;
	parent->last = child;
	parent->n++;
}

void doc_push(struct doc *arr, struct doc *child)
{
	if (arr && child)
		append(arr, child);
}

void doc_set(struct doc_arena *a, struct doc *obj, const char *key,
	     struct doc *child)
{
	if (!obj || !child)
		return;
	child->key = doc_strndup(a, key, strlen(key));
	if (child->key)
		append(obj, child);
}

/* ---- json ---- */

static void json_value(FILE *f, const struct doc *d)
{
	switch (d->kind) {
	case DOC_NULL:
		fputs("null", f);
		return;
	case DOC_BOOL:
		fputs(d->boolean ? "true" : "false", f);
		return;
	case DOC_NUM:
		fputs(d->text, f);
		return;
	case DOC_STR:
		out_json_string(f, d->text);
		return;
	case DOC_ARR:
		fputc('[', f);
		for (const struct doc *c = d->first; c; c = c->next) {
			if (c != d->first)
				fputc(',', f);
			json_value(f, c);
		}
		fputc(']', f);
		return;
	case DOC_OBJ:
		fputc('{', f);
		for (const struct doc *c = d->first; c; c = c->next) {
			if (c != d->first)
				fputc(',', f);
			out_json_string(f, c->key);
			fputc(':', f);
			json_value(f, c);
		}
		fputc('}', f);
		return;
	}
}

int doc_write_json(FILE *f, const struct doc_arena *a, const struct doc *d)
{
	if (a->failed || !d)
		return -1;
	json_value(f, d);
	fputc('\n', f);
	return 0;
}

/* ---- yaml ---- */

/* Words a YAML 1.1 or 1.2 reader takes for a boolean or null. */
static const char *const yaml_reserved[] = {
	"y", "n", "yes", "no", "on", "off", "true", "false", "null", NULL,
};

/*
 * Whether s can be written as a plain scalar and read back as the same
 * string.  Deliberately narrow: a letter, '_' or '/' first, then letters,
 * digits, spaces and "_./@+-", no trailing space, and not a word a reader
 * would take for a boolean or null.  Anything else (numbers, timestamps,
 * colons, quotes, non-ASCII) is quoted.
 */
static int yaml_plain_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || s[len - 1] == ' ')
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      s[0] == '_' || s[0] == '/'))
		return 0;
	for (const char *p = s; *p; p++) {
		char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(" _./@+-", c))
			continue;
		return 0;
	}
	for (int i = 0; yaml_reserved[i]; i++)
		if (strcasecmp(s, yaml_reserved[i]) == 0)
			return 0;
	return 1;
}


static uint32_t utf8_cp(const unsigned char *s, size_t n)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = s[0] & lead_mask[n];

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

/* A double-quoted YAML scalar: every character that is not printable, or
 * that a reader would treat as a line break, is escaped. */
static void yaml_quoted(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;

	fputc('"', f);
	while (i < len) {
		unsigned char c = u[i];
		size_t n = utf8_seq_len(u + i, len - i);
		uint32_t cp;

		if (n == 0) {
			fputs("\\uFFFD", f);
			i++;
			continue;
		}
		if (n == 1) {
			switch (c) {
			case '"': fputs("\\\"", f); break;
			case '\\': fputs("\\\\", f); break;
			case '\n': fputs("\\n", f); break;
			case '\t': fputs("\\t", f); break;
			case '\r': fputs("\\r", f); break;
			default:
				if (c < 0x20 || c == 0x7f)
					fprintf(f, "\\x%02X", c);
				else
					fputc(c, f);
			}
			i++;
			continue;
		}
		cp = utf8_cp(u + i, n);
		if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
		    cp == 0x2029 || cp == 0xfeff)
			fprintf(f, "\\u%04X", (unsigned)cp);
		else
			fwrite(s + i, 1, n, f);
		i += n;
	}
	fputc('"', f);
}

static void yaml_string(FILE *f, const char *s)
{
	if (yaml_plain_ok(s))
		fputs(s, f);
	else
		yaml_quoted(f, s);
}

static int is_block(const struct doc *d)
{
	return (d->kind == DOC_OBJ || d->kind == DOC_ARR) && d->n > 0;
}

static void yaml_scalar(FILE *f, const struct doc *d)
{
	switch (d->kind) {
	case DOC_NULL:
		fputs("null", f);
		return;
	case DOC_BOOL:
		fputs(d->boolean ? "true" : "false", f);
		return;
	case DOC_NUM: {
		const char *e = strpbrk(d->text, "eE");

		/* YAML 1.1 readers want a '.' in a float with an exponent
		 * ("1e+20" would read as a string). */
		if (d->is_float && e && !memchr(d->text, '.', (size_t)(e - d->text)))
			fprintf(f, "%.*s.0%s", (int)(e - d->text), d->text, e);
		else
			fputs(d->text, f);
		return;
	}
	case DOC_STR:
		yaml_string(f, d->text);
		return;
	case DOC_ARR:
		fputs("[]", f);
		return;
	case DOC_OBJ:
		fputs("{}", f);
		return;
	}
}

static void yaml_indent(FILE *f, int indent)
{
	fprintf(f, "%*s", indent, "");
}

static void yaml_obj(FILE *f, const struct doc *o, int indent,
		     int inline_first);
static void yaml_arr(FILE *f, const struct doc *a, int indent,
		     int inline_first);

/* The value after "key:". */
static void yaml_member_value(FILE *f, const struct doc *v, int indent)
{
	if (is_block(v)) {
		fputc('\n', f);
		if (v->kind == DOC_OBJ)
			yaml_obj(f, v, indent + 2, 0);
		else
			yaml_arr(f, v, indent + 2, 0);
		return;
	}
	fputc(' ', f);
	yaml_scalar(f, v);
	fputc('\n', f);
}

static void yaml_obj(FILE *f, const struct doc *o, int indent,
		     int inline_first)
{
	for (const struct doc *m = o->first; m; m = m->next) {
		if (!(inline_first && m == o->first))
			yaml_indent(f, indent);
		yaml_string(f, m->key);
		fputc(':', f);
		yaml_member_value(f, m, indent);
	}
}

static void yaml_arr(FILE *f, const struct doc *a, int indent,
		     int inline_first)
{
	for (const struct doc *it = a->first; it; it = it->next) {
		if (!(inline_first && it == a->first))
			yaml_indent(f, indent);
		fputs("- ", f);
		if (is_block(it) && it->kind == DOC_OBJ) {
			yaml_obj(f, it, indent + 2, 1);
		} else if (is_block(it)) {
			yaml_arr(f, it, indent + 2, 1);
		} else {
			yaml_scalar(f, it);
			fputc('\n', f);
		}
	}
}

int doc_write_yaml(FILE *f, const struct doc_arena *a, const struct doc *d)
{
	if (a->failed || !d)
		return -1;
	if (is_block(d) && d->kind == DOC_OBJ) {
		yaml_obj(f, d, 0, 0);
	} else if (is_block(d)) {
		yaml_arr(f, d, 0, 0);
	} else {
		yaml_scalar(f, d);
		fputc('\n', f);
	}
	return 0;
}
