/* The Prometheus text exposition writer: see prom.h. */
#include "common/prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_init(prom *p, buf *out)
{
	p->out = out;
	p->err = PROM_OK;
}

prom_code prom_error(const prom *p)
{
	return p->err;
}

const char *prom_strerror(prom_code code)
{
	switch (code) {
	case PROM_OK: return "ok";
	case PROM_E_FULL: return "exposition larger than its buffer";
	case PROM_E_NAME: return "invalid metric or label name";
	case PROM_E_TYPE: return "invalid metric type";
	}
	return "unknown error";
}

static void fail(prom *p, prom_code code)
{
	if (!p->err)
		p->err = code;
}

static int is_alpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

int prom_metric_name_ok(const char *name)
{
	if (!name || !(is_alpha_(*name) || *name == ':'))
		return 0;
	for (const char *s = name + 1; *s; s++)
		if (!is_alpha_(*s) && !is_digit(*s) && *s != ':')
			return 0;
	return 1;
}

int prom_label_name_ok(const char *name)
{
	if (!name || !is_alpha_(*name) || strncmp(name, "__", 2) == 0)
		return 0;
	for (const char *s = name + 1; *s; s++)
		if (!is_alpha_(*s) && !is_digit(*s))
			return 0;
	return 1;
}

static void put(prom *p, const char *s, size_t n)
{
	if (!p->err && buf_append(p->out, s, n) < 0)
		fail(p, PROM_E_FULL);
}

static void puts_(prom *p, const char *s)
{
	put(p, s, strlen(s));
}

/* Escapes backslash, newline and (when quote) the double quote. */
static int escape(buf *out, const char *s, int quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" :
				  quote && *s == '"' ? "\\\"" : NULL;
		if (!rep)
			continue;
		if (buf_append(out, run, (size_t)(s - run)) < 0 || buf_append(out, rep, 2) < 0)
			return -1;
		run = s + 1;
	}
	return buf_append(out, run, (size_t)(s - run));
}

int prom_escape_label(buf *out, const char *value)
{
	return escape(out, value ? value : "", 1);
}

void prom_family(prom *p, const char *name, const char *type, const char *help)
{
	if (!prom_metric_name_ok(name)) {
		fail(p, PROM_E_NAME);
		return;
	}
	if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 &&
	    strcmp(type, "histogram") != 0 && strcmp(type, "untyped") != 0) {
		fail(p, PROM_E_TYPE);
		return;
	}
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	if (!p->err && escape(p->out, help ? help : "", 0) < 0)
		fail(p, PROM_E_FULL);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, type);
	puts_(p, "\n");
}

/* name{labels[,extra="value"]} without the value. */
static void series(prom *p, const char *name, const char *suffix, const char *const *labels,
		   const char *extra, const char *extra_value)
{
	int n = 0;

	if (!prom_metric_name_ok(name)) {
		fail(p, PROM_E_NAME);
		return;
	}
	puts_(p, name);
	if (suffix)
		puts_(p, suffix);
	for (; labels && labels[0]; labels += 2, n++) {
		if (!prom_label_name_ok(labels[0])) {
			fail(p, PROM_E_NAME);
			return;
		}
		puts_(p, n ? "," : "{");
		puts_(p, labels[0]);
		puts_(p, "=\"");
		if (!p->err && prom_escape_label(p->out, labels[1]) < 0)
			fail(p, PROM_E_FULL);
		puts_(p, "\"");
	}
	if (extra) {
		puts_(p, n ? "," : "{");
		puts_(p, extra);
		puts_(p, "=\"");
		puts_(p, extra_value);
		puts_(p, "\"");
		n++;
	}
	if (n)
		puts_(p, "}");
}

static void value_u64(prom *p, uint64_t v)
{
	char num[32];
	int n = snprintf(num, sizeof(num), " %llu\n", (unsigned long long)v);

	put(p, num, (size_t)n);
}

/* The shortest %g that reads back as v (what Go's 'g', -1 gives). */
static void format_double(char *out, size_t outlen, double v)
{
	if (isnan(v)) {
		snprintf(out, outlen, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers in full ("120", not "1.2e+02"), as Go writes them. */
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, outlen, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, outlen, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static void value_double(prom *p, double v)
{
	char num[40];

	format_double(num, sizeof(num), v);
	puts_(p, " ");
	puts_(p, num);
	puts_(p, "\n");
}

void prom_sample_u64(prom *p, const char *name, const char *const *labels, uint64_t v)
{
	series(p, name, NULL, labels, NULL, NULL);
	value_u64(p, v);
}

void prom_sample(prom *p, const char *name, const char *const *labels, double v)
{
	series(p, name, NULL, labels, NULL, NULL);
	value_double(p, v);
}

void prom_histogram(prom *p, const char *name, const char *const *labels,
		    const double *bounds, size_t n, const uint64_t *slots, double sum)
{
	uint64_t cum = 0;
	char le[40];

	for (size_t i = 0; i < n; i++) {
		cum += slots[i];
		format_double(le, sizeof(le), bounds[i]);
		series(p, name, "_bucket", labels, "le", le);
		value_u64(p, cum);
	}
	cum += slots[n];
	series(p, name, "_bucket", labels, "le", "+Inf");
	value_u64(p, cum);
	series(p, name, "_sum", labels, NULL, NULL);
	value_double(p, sum);
	series(p, name, "_count", labels, NULL, NULL);
	value_u64(p, cum);
}
