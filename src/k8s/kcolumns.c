/*
 * kubectl get's custom-columns printer and --sort-by ordering.
 *
 * Custom columns: a header line, then one line per object, each cell the
 * values its JSONPath expression finds, joined by ',' and written as Go's
 * fmt.Sprint writes an unstructured value; "<none>" when nothing is
 * found.  The text goes through the same tabwriter as the tables.
 *
 * Sorting compares the first value found in each object, as kubectl's
 * RuntimeSort and TableSorter do on unstructured objects: integers with
 * integers, floats with floats, strings as resource quantities when both
 * parse as one, else byte by byte; null and a missing field sort first.
 * Up to 12 objects are sorted by insertion, which is what Go's sort.Sort
 * does with that few, so even ties come out as kubectl's; beyond that a
 * stable merge sort (Go's pdqsort is not stable: equal keys may come out
 * in another order than kubectl's).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/kcolumns.h"
#include "k8s/kjsonpath.h"

static int err_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int krelaxed_jsonpath(const char *in, char *out, size_t outlen, char *err,
		      size_t errlen)
{
	size_t n = strlen(in);
	const char *s = in;

	if (!n) {
		snprintf(out, outlen, "%s", "");
		return 0;
	}
	if (s[0] == '{' && n >= 2 && s[n - 1] == '}') {
		s++;
		n -= 2;
	}
	if (n && s[0] == '.') {
		s++;
		n--;
	}
	if (!n || memchr(s, '{', n) || memchr(s, '}', n))
		return err_set(err, errlen, "unexpected path string, expected "
			       "a 'name1.name2' or '.name1.name2' or "
			       "'{name1.name2}' or '{.name1.name2}'");
	if (n + 2 > outlen)
		return err_set(err, errlen, "path too long: '%s'", in);
	snprintf(out, outlen, ".%.*s", (int)n, s);
	return 0;
}

void kcolumns_release(struct kcolumns *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->header[i]);
		free(c->expr[i]);
	}
	c->n = 0;
}

static int add_column(struct kcolumns *c, const char *h, size_t hl,
		      const char *e, size_t el, char *err, size_t errlen)
{
	char raw[4096], rel[4096];

	if (c->n == KCOLUMNS_MAX)
		return err_set(err, errlen, "more than %d custom columns",
			       KCOLUMNS_MAX);
	if (el >= sizeof(raw))
		return err_set(err, errlen, "column spec too long");
	memcpy(raw, e, el);
	raw[el] = '\0';
	if (krelaxed_jsonpath(raw, rel, sizeof(rel), err, errlen) < 0)
		return -1;
	c->header[c->n] = strndup(h, hl);
	c->expr[c->n] = strdup(rel);
	if (!c->header[c->n] || !c->expr[c->n])
		return err_set(err, errlen, "out of memory");
	c->n++;
	return 0;
}

int kcolumns_from_spec(struct kcolumns *c, const char *spec, char *err,
		       size_t errlen)
{
	const char *p = spec;

	memset(c, 0, sizeof(*c));
	if (!*spec)
		return err_set(err, errlen, "custom-columns format specified "
			       "but no custom columns given");
	for (;;) {
		const char *end = strchr(p, ','), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p);

		colon = memchr(p, ':', len);
		/* Go's strings.SplitN(part, ":", 2) must give two parts. */
		if (!colon) {
			kcolumns_release(c);
			return err_set(err, errlen, "unexpected custom-columns "
				       "spec: %.*s, expected <header>:"
				       "<json-path-expr>", (int)len, p);
		}
		if (add_column(c, p, (size_t)(colon - p), colon + 1,
			       len - (size_t)(colon - p) - 1, err,
			       errlen) < 0) {
			kcolumns_release(c);
			return -1;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

/* Splits a line on whitespace into at most KCOLUMNS_MAX + 1 words. */
static size_t words(char *line, char **w)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t\r\n\v\f", &save); t;
	     t = strtok_r(NULL, " \t\r\n\v\f", &save)) {
		if (n == KCOLUMNS_MAX + 1)
			break;
		w[n++] = t;
	}
	return n;
}

int kcolumns_from_file(struct kcolumns *c, const char *path, char *err,
		       size_t errlen)
{
	static const char expect[] = "Expected format is one line of space "
		"separated headers, one line of space separated column specs.";
	char l1[16384], l2[16384], *h[KCOLUMNS_MAX + 1], *s[KCOLUMNS_MAX + 1];
	size_t nh, ns;
	FILE *f = fopen(path, "r");

	memset(c, 0, sizeof(*c));
	if (!f) {
		char why[256];

		/* Go's words: "open FILE: no such file or directory". */
		snprintf(why, sizeof(why), "%s", strerror(errno));
		why[0] = (char)tolower((unsigned char)why[0]);
		return err_set(err, errlen, "error reading template %s, open "
			       "%s: %s", path, path, why);
	}
	if (!fgets(l1, sizeof(l1), f)) {
		fclose(f);
		return err_set(err, errlen, "invalid template, missing header "
			       "line. %s", expect);
	}
	if (!fgets(l2, sizeof(l2), f)) {
		fclose(f);
		return err_set(err, errlen, "invalid template, missing spec "
			       "line. %s", expect);
	}
	fclose(f);
	nh = words(l1, h);
	ns = words(l2, s);
	if (nh != ns)
		return err_set(err, errlen, "number of headers (%zu) and field "
			       "specifications (%zu) don't match", nh, ns);
	for (size_t i = 0; i < nh; i++)
		if (add_column(c, h[i], strlen(h[i]), s[i], strlen(s[i]), err,
			       errlen) < 0) {
			kcolumns_release(c);
			return -1;
		}
	return 0;
}

int kcolumns_header(struct ktab *t, const struct kcolumns *c)
{
	int rc = 0;

	for (size_t i = 0; i < c->n; i++)
		rc |= ktab_printf(t, "%s%s", i ? "\t" : "", c->header[i]);
	rc |= ktab_add(t, "\n", 1);
	return rc ? -1 : 0;
}

/* Go's strconv.FormatFloat(f, 'g', -1, 64), which %v uses. */
static int go_float(buf *out, double d)
{
	char e[64], m[32];
	int p, x, nd, eprec;

	if (isnan(d))
		return buf_printf(out, "NaN");
	if (isinf(d))
		return buf_printf(out, d < 0 ? "-Inf" : "+Inf");
	if (d == 0)
		return buf_printf(out, signbit(d) ? "-0" : "0");
	for (p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	x = atoi(strchr(e, 'e') + 1);
	nd = p;
	/* The digits, without the point or trailing zeros. */
	{
		size_t k = 0;

		for (const char *q = e; *q && *q != 'e'; q++)
			if (isdigit((unsigned char)*q) && k + 1 < sizeof(m))
				m[k++] = *q;
		m[k] = '\0';
		while (k > 1 && m[k - 1] == '0')
			m[--k] = '\0';
		nd = (int)k;
	}
	eprec = 6;
	if (eprec > nd && nd >= x + 1)
		eprec = nd;
	if (x < -4 || x >= eprec) {
		int rc = buf_printf(out, "%s%c", d < 0 ? "-" : "", m[0]);

		if (nd > 1)
			rc |= buf_printf(out, ".%s", m + 1);
		return rc | buf_printf(out, "e%c%02d", x < 0 ? '-' : '+',
				       x < 0 ? -x : x);
	}
	{
		int decimals = nd - x - 1 > 0 ? nd - x - 1 : 0;

		return buf_printf(out, "%.*f", decimals, d);
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int kgo_sprint(buf *out, const json_t *v)
{
	int rc = 0;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return buf_append(out, json_string_value(v),
				  json_string_length(v));
	case JSON_INTEGER:
		return buf_printf(out, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return go_float(out, json_real_value(v));
	case JSON_TRUE:
		return buf_printf(out, "true");
	case JSON_FALSE:
		return buf_printf(out, "false");
	case JSON_NULL:
		return buf_printf(out, "<nil>");
	case JSON_ARRAY: {
		const json_t *x;
		size_t i;

		rc |= buf_printf(out, "[");
		json_array_foreach(v, i, x) {
			if (i)
				rc |= buf_printf(out, " ");
			rc |= kgo_sprint(out, x);
		}
		return rc | buf_printf(out, "]");
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(*keys));
		const char *k;
		const json_t *x;

		if (!keys)
			return -1;
		json_object_foreach((json_t *)v, k, x)
			keys[i++] = k;
		qsort(keys, n, sizeof(*keys), cmp_keys);
		rc |= buf_printf(out, "map[");
		for (i = 0; i < n; i++) {
			rc |= buf_printf(out, "%s%s:", i ? " " : "", keys[i]);
			rc |= kgo_sprint(out, json_object_get(v, keys[i]));
		}
		free(keys);
		return rc | buf_printf(out, "]");
	}
	}
	return -1;
}

int kcolumns_row(struct ktab *t, const struct kcolumns *c, const json_t *obj,
		 char *err, size_t errlen)
{
	buf line = BUF_INIT(64u << 20);
	int rc = 0;

	for (size_t i = 0; i < c->n && !rc; i++) {
		json_t *vals = json_array(), *v;
		size_t k;

		if (i)
			rc |= buf_append_byte(&line, '\t');
		if (c->expr[i][0] && kjsonpath_eval(c->expr[i], obj, vals, err,
						    errlen) < 0) {
			json_decref(vals);
			buf_release(&line);
			return -1;
		}
		if (!json_array_size(vals))
			rc |= buf_printf(&line, "<none>");
		json_array_foreach(vals, k, v) {
			if (k)
				rc |= buf_append_byte(&line, ',');
			rc |= kgo_sprint(&line, v);
		}
		json_decref(vals);
	}
	rc |= buf_append_byte(&line, '\n');
	if (rc || ktab_add(t, (const char *)line.data, line.len) < 0) {
		buf_release(&line);
		return err_set(err, errlen, "output too large");
	}
	buf_release(&line);
	return 0;
}

/* ------------------------------------------------------------ sorting */

/* Go's resource.ParseQuantity, reduced to the value: a signed decimal
 * number and a suffix (Ki..Ei, n u m k M G T P E, or e/E exponent). */
static int parse_quantity(const char *s, long double *out)
{
	const char *p = s;
	long double v = 0, frac = 0.1L;
	int neg = 0, digits = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			v += (*p++ - '0') * frac;
			frac /= 10;
			digits++;
		}
	}
	if (!digits)
		return -1;
	if (*p == 'E' && !p[1]) {
		v *= 1e18L; /* exa */
	} else if (*p == 'e' || *p == 'E') {
		char *end;
		long x;

		{
			errno = 0;
			x = strtol(p + 1, &end, 10);
			if (*end || errno || end == p + 1 || !isdigit(
				    (unsigned char)end[-1]))
				return -1;
			v *= powl(10, (long double)x);
		}
	} else if (*p) {
		static const struct {
			const char *s;
			long double m;
		} suf[] = {
			{ "Ki", 1024.0L }, { "Mi", 1048576.0L },
			{ "Gi", 1073741824.0L }, { "Ti", 1099511627776.0L },
			{ "Pi", 1125899906842624.0L },
			{ "Ei", 1152921504606846976.0L },
			{ "n", 1e-9L }, { "u", 1e-6L }, { "m", 1e-3L },
			{ "k", 1e3L }, { "M", 1e6L }, { "G", 1e9L },
			{ "T", 1e12L }, { "P", 1e15L },
		};
		size_t i;

		for (i = 0; i < sizeof(suf) / sizeof(suf[0]); i++)
			if (strcmp(p, suf[i].s) == 0)
				break;
		if (i == sizeof(suf) / sizeof(suf[0]))
			return -1;
		v *= suf[i].m;
	}
	*out = neg ? -v : v;
	return 0;
}

struct sort_ctx {
	const json_t **key; /* the first value of each, NULL: none */
	char *err;
	size_t errlen;
	int failed;
};

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "map[string]interface {}";
	case JSON_ARRAY:
		return "[]interface {}";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "int64";
	case JSON_REAL:
		return "float64";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "<nil>";
	}
}

/* kubectl's isLess on two interface values. */
static int value_less(struct sort_ctx *s, const json_t *a, const json_t *b)
{
	if (json_is_null(a) && json_is_null(b))
		return 0;
	if (json_is_null(a))
		return 1;
	if (json_is_null(b))
		return 0;
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) < json_integer_value(b);
	if (json_is_real(a) && json_is_real(b))
		return json_real_value(a) < json_real_value(b);
	if (json_is_string(a) && json_is_string(b)) {
		long double qa, qb;

		if (parse_quantity(json_string_value(a), &qa) == 0 &&
		    parse_quantity(json_string_value(b), &qb) == 0)
			return qa < qb;
		return strcmp(json_string_value(a), json_string_value(b)) < 0;
	}
	if (!s->failed) {
		if (json_is_integer(a) || json_is_real(a) || json_is_string(a))
			err_set(s->err, s->errlen, "unsortable interface: "
				"values of types %s and %s", type_name(a),
				type_name(b));
		else
			err_set(s->err, s->errlen, "unsortable type: %s",
				type_name(a));
	}
	s->failed = 1;
	return 0;
}

static int less(struct sort_ctx *s, size_t i, size_t j)
{
	if (!s->key[i])
		return 1;
	if (!s->key[j])
		return 0;
	return value_less(s, s->key[i], s->key[j]);
}

static void merge_sort(struct sort_ctx *s, size_t *a, size_t *tmp, size_t n)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	merge_sort(s, a, tmp, h);
	merge_sort(s, a + h, tmp, n - h);
	while (i < h && j < n) {
		/* Missing keys first, ties keep their order. */
		int right_first = !s->key[a[j]] ? s->key[a[i]] != NULL :
				  s->key[a[i]] && value_less(s, s->key[a[j]],
							     s->key[a[i]]);

		tmp[k++] = right_first ? a[j++] : a[i++];
	}
	while (i < h)
		tmp[k++] = a[i++];
	while (j < n)
		tmp[k++] = a[j++];
	memcpy(a, tmp, n * sizeof(*a));
}

int ksort_order(const char *expr, json_t *const *objs, size_t n,
		size_t *order, int *found, char *err, size_t errlen)
{
	struct sort_ctx s = { NULL, err, errlen, 0 };
	json_t **vals = calloc(n ? n : 1, sizeof(*vals));
	int rc = 0;

	s.key = calloc(n ? n : 1, sizeof(*s.key));
	*found = 0;
	if (!vals || !s.key) {
		free(vals);
		free((void *)s.key);
		return err_set(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		vals[i] = json_array();
		if (expr[0] && kjsonpath_eval(expr, objs[i], vals[i], err,
					      errlen) < 0) {
			rc = -1;
			goto out;
		}
		s.key[i] = json_array_get(vals[i], 0);
		if (s.key[i])
			*found = 1;
	}
	if (n <= 12) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && less(&s, order[j],
							 order[j - 1]); j--) {
				size_t t = order[j];

				order[j] = order[j - 1];
				order[j - 1] = t;
			}
	} else {
		size_t *tmp = malloc(n * sizeof(*tmp));

		if (!tmp) {
			rc = err_set(err, errlen, "out of memory");
			goto out;
		}
		merge_sort(&s, order, tmp, n);
		free(tmp);
	}
	if (s.failed)
		rc = -1;
out:
	for (size_t i = 0; i < n; i++)
		json_decref(vals[i]);
	free(vals);
	free((void *)s.key);
	return rc;
}
