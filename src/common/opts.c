/*
 * vcli: the option-table parser (see opts.h).
 */
#include "common/opts.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/timeutil.h"

static void set_err(struct opts_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct opts_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

static const struct opt *find_long(const struct opt *const *tables,
				   const char *name, size_t len)
{
	for (size_t t = 0; tables[t]; t++)
		for (const struct opt *o = tables[t]; o->name; o++)
			if (strlen(o->name) == len &&
			    memcmp(o->name, name, len) == 0)
				return o;
	return NULL;
}

static const struct opt *find_short(const struct opt *const *tables, char c)
{
	for (size_t t = 0; tables[t]; t++)
		for (const struct opt *o = tables[t]; o->name; o++)
			if (o->short_name && o->short_name == c)
				return o;
	return NULL;
}

/* Joins an enum's values as "a, b or c" for error messages. */
static void join_values(const char *const *values, char *buf, size_t len)
{
	size_t n = 0, used = 0;

	buf[0] = '\0';
	while (values[n])
		n++;
	for (size_t i = 0; i < n && used < len; i++) {
		const char *sep = i == 0 ? "" : (i + 1 == n ? " or " : ", ");
		int w = snprintf(buf + used, len - used, "%s%s", sep, values[i]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int opts_parse_duration(const char *text, uint32_t *ms)
{
	uint64_t v;

	if (duration_parse_ms(text, &v) < 0 || v > UINT32_MAX)
		return -1;
	*ms = (uint32_t)v;
	return 0;
}

static int store_value(struct opts_parser *p, const struct opt *o,
		       const char *shown, const char *value);

/* Stores value into o->dest; shown is the option as the user wrote it. */
static int set_value(struct opts_parser *p, const struct opt *o,
		     const char *shown, const char *value)
{
	if (store_value(p, o, shown, value) < 0)
		return -1;
	if (p->on_set)
		p->on_set(p->ud, o, value);
	return 0;
}

static int store_value(struct opts_parser *p, const struct opt *o,
		       const char *shown, const char *value)
{
	char allowed[128];

	switch (o->kind) {
	case OPT_FLAG:
		*(int *)o->dest = 1;
		return 0;
	case OPT_STRING:
		*(const char **)o->dest = value;
		return 0;
	case OPT_DURATION:
		if (opts_parse_duration(value, (uint32_t *)o->dest) < 0) {
			set_err(p, "invalid duration '%s' for '%s' (use a "
				"positive number with a unit: 500ms, 2s, 1.5s, "
				"1m)", value, shown);
			return -1;
		}
		return 0;
	case OPT_INT: {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < INT_MIN ||
		    v > INT_MAX) {
			set_err(p, "invalid number '%s' for '%s'", value,
				shown);
			return -1;
		}
		*(int *)o->dest = (int)v;
		return 0;
	}
	case OPT_UINT32: {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(value, &end, 10);
		if (errno || end == value || *end || *value < '0' || *value > '9' ||
		    v == 0 || v > UINT32_MAX) {
			set_err(p, "invalid number '%s' for '%s' (use 1 to %u)", value,
				shown, UINT32_MAX);
			return -1;
		}
		*(uint32_t *)o->dest = (uint32_t)v;
		return 0;
	}
	case OPT_LIST: {
		struct opt_list *l = o->dest;

		if (l->n >= OPT_LIST_MAX) {
			set_err(p, "too many '%s' options (at most %d)", shown,
				OPT_LIST_MAX);
			return -1;
		}
		l->v[l->n++] = value;
		return 0;
	}
	case OPT_ENUM:
		for (int i = 0; o->values[i]; i++) {
			if (strcasecmp(o->values[i], value) == 0) {
				*(int *)o->dest = i;
				return 0;
			}
		}
		join_values(o->values, allowed, sizeof(allowed));
		set_err(p, "invalid value '%s' for '%s' (use %s)", value, shown,
			allowed);
		return -1;
	}
	set_err(p, "option '%s' has an unknown kind", shown);
	return -1;
}

static const char *const bool_true[] = { "true", "yes", "on", "1", NULL };
static const char *const bool_false[] = { "false", "no", "off", "0", NULL };

static int in_list(const char *const *list, const char *text)
{
	for (int i = 0; list[i]; i++)
		if (strcasecmp(list[i], text) == 0)
			return 1;
	return 0;
}

int opts_set_text(const struct opt *o, const char *shown, const char *value,
		  char *err, size_t errlen)
{
	struct opts_parser p;

	memset(&p, 0, sizeof(p));
	if (o->kind == OPT_FLAG) {
		if (in_list(bool_true, value) || in_list(bool_false, value)) {
			*(int *)o->dest = in_list(bool_true, value);
			return 0;
		}
		snprintf(err, errlen, "invalid value '%s' for '%s' (use true or false)",
			 value, shown);
		return -1;
	}
	if (store_value(&p, o, shown, value) == 0)
		return 0;
	snprintf(err, errlen, "%s", p.err);
	return -1;
}

static void duration_text(uint32_t ms, char *out, size_t outlen)
{
	static const struct { uint32_t ms; const char *unit; } units[] = {
		{ 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" },
	};

	if (ms == 0) {
		snprintf(out, outlen, "off");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms % units[i].ms == 0) {
			snprintf(out, outlen, "%u%s", ms / units[i].ms, units[i].unit);
			return;
		}
	}
}

const char *opts_value_text(const struct opt *o, char *out, size_t outlen)
{
	if (!outlen)
		return out;
	out[0] = '\0';
	switch (o->kind) {
	case OPT_FLAG:
		snprintf(out, outlen, "%s", *(const int *)o->dest ? "true" : "false");
		break;
	case OPT_STRING: {
		const char *v = *(const char *const *)o->dest;

		snprintf(out, outlen, "%s", v ? v : "");
		break;
	}
	case OPT_DURATION:
		duration_text(*(const uint32_t *)o->dest, out, outlen);
		break;
	case OPT_INT:
		snprintf(out, outlen, "%d", *(const int *)o->dest);
		break;
	case OPT_UINT32:
		snprintf(out, outlen, "%u", *(const uint32_t *)o->dest);
		break;
	case OPT_ENUM: {
		int i = *(const int *)o->dest;
		int n = 0;

		while (o->values[n])
			n++;
		snprintf(out, outlen, "%s", i >= 0 && i < n ? o->values[i] : "?");
		break;
	}
	case OPT_LIST: {
		const struct opt_list *l = o->dest;
		size_t used = 0;

		for (int i = 0; i < l->n && used < outlen; i++) {
			int w = snprintf(out + used, outlen - used, "%s%s", i ? "," : "",
					 l->v[i]);
			if (w < 0)
				break;
			used += (size_t)w;
		}
		break;
	}
	}
	return out;
}

static const char *placeholder(const struct opt *o, char *buf, size_t len)
{
	if (o->argname)
		return o->argname;
	switch (o->kind) {
	case OPT_DURATION:
		return "DUR";
	case OPT_INT:
	case OPT_UINT32:
		return "N";
	case OPT_ENUM: {
		size_t used = 0;

		buf[0] = '\0';
		for (int i = 0; o->values[i] && used < len; i++) {
			int w = snprintf(buf + used, len - used, "%s%s",
					 i ? "|" : "", o->values[i]);
			if (w < 0)
				break;
			used += (size_t)w;
		}
		return buf;
	}
	default:
		return "VALUE";
	}
}

/* Parses one "--name" or "--name=value" argument at argv[*i]. */
static int parse_long(struct opts_parser *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct opt *o = find_long(p->tables, arg, nlen);
	char shown[96];

	snprintf(shown, sizeof(shown), "--%.*s", (int)nlen, arg);
	if (!o) {
		set_err(p, "unknown option '%s'", shown);
		return -1;
	}
	if (o->kind == OPT_FLAG) {
		if (eq) {
			set_err(p, "option '%s' takes no value", shown);
			return -1;
		}
		return set_value(p, o, shown, NULL);
	}
	if (eq)
		return set_value(p, o, shown, eq + 1);
	if (*i + 1 >= argc) {
		char ph[96];

		set_err(p, "option '%s' needs a value (%s)", shown,
			placeholder(o, ph, sizeof(ph)));
		return -1;
	}
	(*i)++;
	return set_value(p, o, shown, argv[*i]);
}

/* Parses one "-x", "-xVALUE", "-x VALUE" or cluster "-hx" argument. */
static int parse_short(struct opts_parser *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];

	for (size_t j = 1; arg[j]; j++) {
		const struct opt *o = find_short(p->tables, arg[j]);
		char shown[3] = { '-', arg[j], '\0' };

		if (!o) {
			set_err(p, "unknown option '%s'", shown);
			return -1;
		}
		if (o->kind == OPT_FLAG) {
			set_value(p, o, shown, NULL);
			continue;
		}
		if (arg[j + 1])
			return set_value(p, o, shown, arg + j + 1);
		if (*i + 1 >= argc) {
			char ph[96];

			set_err(p, "option '%s' needs a value (%s)", shown,
				placeholder(o, ph, sizeof(ph)));
			return -1;
		}
		(*i)++;
		return set_value(p, o, shown, argv[*i]);
	}
	return 0;
}

int opts_parse(struct opts_parser *p, int argc, char **argv, int first)
{
	int i, only_positionals = 0;

	p->npos = 0;
	p->err[0] = '\0';
	for (i = first; i < argc; i++) {
		char *arg = argv[i];
		int is_option = !only_positionals && arg[0] == '-' && arg[1];

		if (is_option && strcmp(arg, "--") == 0) {
			only_positionals = 1;
			if (p->stop_at_positional)
				return i + 1;
			continue;
		}
		if (!is_option) {
			if (p->stop_at_positional)
				return i;
			/* Positionals move to the front in order; the write
			 * index never passes the read index, so this is safe
			 * in place. */
			argv[first + p->npos++] = arg;
			continue;
		}
		if (arg[1] == '-') {
			if (parse_long(p, argc, argv, &i) < 0)
				return -1;
		} else if (parse_short(p, argc, argv, &i) < 0) {
			return -1;
		}
	}
	return i;
}

void opts_print_help(FILE *f, const struct opt *table)
{
	enum { MAX_COL = 34 };
	size_t col = 0;
	char left[128], ph[96];

	for (const struct opt *o = table; o->name; o++) {
		size_t n = strlen(o->name) + 8;

		if (o->kind != OPT_FLAG)
			n += strlen(placeholder(o, ph, sizeof(ph))) + 1;
		if (n > col && n <= MAX_COL)
			col = n;
	}
	for (const struct opt *o = table; o->name; o++) {
		int w;

		if (o->short_name)
			w = snprintf(left, sizeof(left), "  -%c, --%s",
				     o->short_name, o->name);
		else
			w = snprintf(left, sizeof(left), "      --%s", o->name);
		if (w > 0 && o->kind != OPT_FLAG && (size_t)w < sizeof(left))
			snprintf(left + w, sizeof(left) - (size_t)w, " %s",
				 placeholder(o, ph, sizeof(ph)));
		/* An option too long for the column gets its help on the
		 * next line instead of pushing every other line right. */
		if (strlen(left) > col)
			fprintf(f, "%s\n%*s%s\n", left, (int)col + 2, "",
				o->help);
		else
			fprintf(f, "%-*s  %s\n", (int)col, left, o->help);
	}
}
