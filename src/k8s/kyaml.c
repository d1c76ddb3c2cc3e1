/*
 * YAML (libyaml) to jansson and back, and Go-style JSON; see kyaml.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "k8s/kyaml.h"

#define KYAML_MAX_DEPTH 256

/* ------------------------------------------------------------ resolving */

static int word_in(const char *s, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

static const char *const null_words[] = { "", "~", "null", "Null", "NULL",
					  NULL };
static const char *const true_words[] = { "y", "Y", "yes", "Yes", "YES",
					  "true", "True", "TRUE", "on", "On",
					  "ON", NULL };
static const char *const false_words[] = { "n", "N", "no", "No", "NO",
					   "false", "False", "FALSE", "off",
					   "Off", "OFF", NULL };

/* An integer as YAML 1.1 writes one: [-+]digits (underscores allowed),
 * 0x hex, 0b binary, 0 octal. */
static int is_int_text(const char *s, long long *out)
{
	char clean[64], *end;
	size_t n = 0;
	const char *p = s;
	int base = 10;

	if (*p == '-' || *p == '+')
		p++;
	if (!*p)
		return 0;
	for (const char *q = s; *q; q++) {
		if (*q == '_')
			continue;
		if (n + 1 >= sizeof(clean))
			return 0;
		clean[n++] = *q;
	}
	clean[n] = '\0';
	p = clean + (clean[0] == '-' || clean[0] == '+');
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		if (!p[2])
			return 0;
		for (const char *q = p + 2; *q; q++)
			if (!isxdigit((unsigned char)*q))
				return 0;
	} else if (p[0] == '0' && p[1] == 'b') {
		base = 2;
		if (!p[2])
			return 0;
		for (const char *q = p + 2; *q; q++)
			if (*q != '0' && *q != '1')
				return 0;
	} else {
		for (const char *q = p; *q; q++)
			if (!isdigit((unsigned char)*q))
				return 0;
		if (p[0] == '0' && p[1])
			base = 8;
	}
	if (out) {
		const char *digits = p + (base == 16 || base == 2 ? 2 : 0);
		unsigned long long v;

		errno = 0;
		v = strtoull(digits, &end, base);
		if (errno || *end || v > (unsigned long long)LLONG_MAX)
			return 0;
		*out = clean[0] == '-' ? -(long long)v : (long long)v;
	}
	return 1;
}

/* A float: [-+](digits[.digits]|.digits)([eE][-+]digits), .inf, .nan. */
static int is_float_text(const char *s, double *out)
{
	const char *p = s;
	int digits = 0;

	if (*p == '-' || *p == '+')
		p++;
	if (strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0 ||
	    strcmp(p, ".INF") == 0) {
		if (out)
			*out = *s == '-' ? -INFINITY : INFINITY;
		return 1;
	}
	if (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 ||
	    strcmp(s, ".NAN") == 0) {
		if (out)
			*out = NAN;
		return 1;
	}
	while (isdigit((unsigned char)*p) || *p == '_') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p) || *p == '_') {
			p++;
			digits++;
		}
	}
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return 0;
	if (out) {
		char clean[128];
		size_t n = 0;

		for (const char *q = s; *q && n + 1 < sizeof(clean); q++)
			if (*q != '_')
				clean[n++] = *q;
		clean[n] = '\0';
		*out = strtod(clean, NULL);
	}
	return 1;
}

/* Sexagesimal numbers (1:20) are special in YAML 1.1 too. */
static int is_base60(const char *s)
{
	const char *p = s;
	int colon = 0;

	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return 0;
	for (; *p; p++) {
		if (*p == ':')
			colon = 1;
		else if (!isdigit((unsigned char)*p) && *p != '.' && *p != '_')
			return 0;
	}
	return colon;
}

/* A timestamp as go-yaml resolves one: YYYY-M-D, then optionally a time
 * after 'T', 't' or a space. */
static int is_timestamp(const char *s)
{
	const char *p = s;
	int n;

	for (n = 0; isdigit((unsigned char)*p); p++)
		n++;
	if (n != 4 || *p++ != '-')
		return 0;
	for (n = 0; isdigit((unsigned char)*p); p++)
		n++;
	if (n < 1 || n > 2 || *p++ != '-')
		return 0;
	for (n = 0; isdigit((unsigned char)*p); p++)
		n++;
	if (n < 1 || n > 2)
		return 0;
	if (!*p)
		return 1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return 0;
	p++;
	for (n = 0; isdigit((unsigned char)*p); p++)
		n++;
	if (n < 1 || n > 2 || *p != ':')
		return 0;
	/* The rest must be time characters. */
	for (; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr(":.Zz+- ", *p))
			return 0;
	return 1;
}

int kyaml_plain_is_special(const char *s)
{
	if (is_timestamp(s))
		return 1;
	return word_in(s, null_words) || word_in(s, true_words) ||
	       word_in(s, false_words) || is_int_text(s, NULL) ||
	       is_float_text(s, NULL) || is_base60(s) || strcmp(s, "<<") == 0;
}

static json_t *resolve_plain(const char *s, size_t len)
{
	long long iv;
	double dv;

	if (strlen(s) != len)
		return json_stringn(s, len);
	if (word_in(s, null_words))
		return json_null();
	if (word_in(s, true_words))
		return json_true();
	if (word_in(s, false_words))
		return json_false();
	if (is_int_text(s, &iv))
		return json_integer(iv);
	if (is_float_text(s, &dv))
		return json_real(dv);
	return json_stringn(s, len);
}

/* ------------------------------------------------------------ reading */

struct reader {
	yaml_parser_t p;
	char *err;
	size_t errlen;
};

static void parse_error(struct reader *r)
{
	snprintf(r->err, r->errlen, "yaml: line %lu: %s",
		 (unsigned long)r->p.problem_mark.line + 1,
		 r->p.problem ? r->p.problem : "syntax error");
}

static json_t *read_node(struct reader *r, yaml_event_t *ev, int depth);

static json_t *read_mapping(struct reader *r, int depth)
{
	json_t *obj = json_object();
	yaml_event_t ev;

	for (;;) {
		json_t *k, *v;
		char keybuf[64];
		const char *key;

		if (!yaml_parser_parse(&r->p, &ev)) {
			parse_error(r);
			goto fail;
		}
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return obj;
		}
		k = read_node(r, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!k)
			goto fail;
		if (json_is_string(k)) {
			key = json_string_value(k);
		} else if (json_is_integer(k)) {
			snprintf(keybuf, sizeof(keybuf), "%lld",
				 (long long)json_integer_value(k));
			key = keybuf;
		} else if (json_is_true(k) || json_is_false(k)) {
			key = json_is_true(k) ? "true" : "false";
		} else if (json_is_null(k)) {
			key = "null";
		} else {
			snprintf(r->err, r->errlen, "yaml: line %lu: a mapping "
				 "key must be a scalar",
				 (unsigned long)r->p.mark.line + 1);
			json_decref(k);
			goto fail;
		}
		if (!yaml_parser_parse(&r->p, &ev)) {
			parse_error(r);
			json_decref(k);
			goto fail;
		}
		v = read_node(r, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!v) {
			json_decref(k);
			goto fail;
		}
		json_object_set_new(obj, key, v);
		json_decref(k);
	}
fail:
	json_decref(obj);
	return NULL;
}

static json_t *read_sequence(struct reader *r, int depth)
{
	json_t *arr = json_array();
	yaml_event_t ev;

	for (;;) {
		json_t *v;

		if (!yaml_parser_parse(&r->p, &ev)) {
			parse_error(r);
			json_decref(arr);
			return NULL;
		}
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return arr;
		}
		v = read_node(r, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!v) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, v);
	}
}

static json_t *read_node(struct reader *r, yaml_event_t *ev, int depth)
{
	if (depth > KYAML_MAX_DEPTH) {
		snprintf(r->err, r->errlen, "yaml: line %lu: nested deeper "
			 "than %d levels", (unsigned long)ev->start_mark.line + 1,
			 KYAML_MAX_DEPTH);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)ev->data.scalar.value;
		size_t len = ev->data.scalar.length;
		const char *tag = (const char *)ev->data.scalar.tag;

		if (tag && strcmp(tag, YAML_STR_TAG) == 0)
			return json_stringn(s, len);
		if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_stringn(s, len);
		return resolve_plain(s, len);
	}
	case YAML_MAPPING_START_EVENT:
		return read_mapping(r, depth);
	case YAML_SEQUENCE_START_EVENT:
		return read_sequence(r, depth);
	case YAML_ALIAS_EVENT:
		snprintf(r->err, r->errlen, "yaml: line %lu: aliases are not "
			 "supported", (unsigned long)ev->start_mark.line + 1);
		return NULL;
	default:
		snprintf(r->err, r->errlen, "yaml: line %lu: unexpected event",
			 (unsigned long)ev->start_mark.line + 1);
		return NULL;
	}
}

json_t *kyaml_load_all(const char *text, size_t len, char *err, size_t errlen)
{
	struct reader r;
	json_t *docs = json_array();
	yaml_event_t ev;
	int done = 0;

	r.err = err;
	r.errlen = errlen;
	if (!docs || !yaml_parser_initialize(&r.p)) {
		snprintf(err, errlen, "out of memory");
		json_decref(docs);
		return NULL;
	}
	yaml_parser_set_input_string(&r.p, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&r.p, &ev)) {
			parse_error(&r);
			goto fail;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT: {
			yaml_event_t body;
			json_t *v;

			yaml_event_delete(&ev);
			if (!yaml_parser_parse(&r.p, &body)) {
				parse_error(&r);
				goto fail;
			}
			if (body.type == YAML_DOCUMENT_END_EVENT) {
				yaml_event_delete(&body);
				continue;
			}
			v = read_node(&r, &body, 0);
			yaml_event_delete(&body);
			if (!v)
				goto fail;
			if (!json_is_null(v))
				json_array_append_new(docs, v);
			else
				json_decref(v);
			continue;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&r.p);
	return docs;
fail:
	yaml_parser_delete(&r.p);
	json_decref(docs);
	return NULL;
}

/* ------------------------------------------------------------ numbers */

void kjson_format_real(double d, char *out, size_t outlen)
{
	char tmp[40];
	int prec;

	if (isnan(d)) {
		snprintf(out, outlen, ".nan");
		return;
	}
	if (isinf(d)) {
		snprintf(out, outlen, d < 0 ? "-.inf" : ".inf");
		return;
	}
	/* The shortest precision that reads back exactly. */
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	{
		int exp10 = (int)floor(log10(fabs(d)));

		if (d == 0)
			exp10 = 0;
		/* Go's %g with the shortest digits: exponent form when the
		 * exponent is < -4 or >= max(digits, 21)... for 'g' it is
		 * eprec, which is 21 when shortest (strconv: "%e is used if
		 * the exponent from the conversion is less than -4 or greater
		 * than or equal to the precision. if precision was the
		 * shortest possible, use precision 6 for this decision" and
		 * then eprec = digits when digits > 6). */
		int eprec = prec > 6 ? prec : 6;

		if (exp10 < -4 || exp10 >= (prec > eprec ? prec : eprec) ||
		    exp10 >= 21) {
			char mant[40], *e;

			snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
			e = strchr(tmp, 'e');
			if (!e) {
				snprintf(out, outlen, "%s", tmp);
				return;
			}
			snprintf(mant, sizeof(mant), "%.*s", (int)(e - tmp), tmp);
			{
				int ev = atoi(e + 1);

				snprintf(out, outlen, "%se%c%02d", mant,
					 ev < 0 ? '-' : '+', ev < 0 ? -ev : ev);
			}
		} else {
			int decimals = prec - 1 - exp10;

			snprintf(out, outlen, "%.*f", decimals > 0 ? decimals : 0,
				 d);
		}
	}
}

/* ------------------------------------------------------------ writing YAML */

struct writer {
	yaml_emitter_t em;
	buf *out;
	int failed;
};

static int write_handler(void *data, unsigned char *bytes, size_t size)
{
	struct writer *w = data;

	if (buf_append(w->out, bytes, size) < 0) {
		w->failed = 1;
		return 0;
	}
	return 1;
}

static int emit_scalar(struct writer *w, const char *s, size_t len,
		       yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL,
					  (yaml_char_t *)YAML_STR_TAG,
					  (yaml_char_t *)s, (int)len, 1, 1,
					  style))
		return -1;
	return yaml_emitter_emit(&w->em, &ev) ? 0 : -1;
}

static int emit_string(struct writer *w, const char *s, size_t len)
{
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;

	if (memchr(s, '\n', len))
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (strlen(s) != len || kyaml_plain_is_special(s))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return emit_scalar(w, s, len, style);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int emit_value(struct writer *w, const json_t *v)
{
	yaml_event_t ev;
	char num[48];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys;
		const char *k;
		json_t *x;
		int rc = 0;

		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
				n ? YAML_BLOCK_MAPPING_STYLE :
				    YAML_FLOW_MAPPING_STYLE) ||
		    !yaml_emitter_emit(&w->em, &ev))
			return -1;
		keys = malloc((n ? n : 1) * sizeof(*keys));
		if (!keys)
			return -1;
		json_object_foreach((json_t *)v, k, x)
			keys[i++] = k;
		qsort(keys, n, sizeof(*keys), key_cmp);
		for (i = 0; i < n && rc == 0; i++) {
			rc = emit_string(w, keys[i], strlen(keys[i]));
			if (rc == 0)
				rc = emit_value(w, json_object_get(v, keys[i]));
		}
		free(keys);
		if (rc < 0 || !yaml_mapping_end_event_initialize(&ev) ||
		    !yaml_emitter_emit(&w->em, &ev))
			return -1;
		return 0;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;

		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
				json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE :
						     YAML_FLOW_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(&w->em, &ev))
			return -1;
		json_array_foreach(v, i, x)
			if (emit_value(w, x) < 0)
				return -1;
		if (!yaml_sequence_end_event_initialize(&ev) ||
		    !yaml_emitter_emit(&w->em, &ev))
			return -1;
		return 0;
	}
	case JSON_STRING:
		return emit_string(w, json_string_value(v),
				   json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(v));
		return emit_scalar(w, num, strlen(num),
				   YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		kjson_format_real(json_real_value(v), num, sizeof(num));
		return emit_scalar(w, num, strlen(num),
				   YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return emit_scalar(w, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(w, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(w, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	}
	return -1;
}

int kyaml_emit(buf *out, const json_t *v)
{
	struct writer w;
	yaml_event_t ev;
	int rc = -1;

	memset(&w, 0, sizeof(w));
	w.out = out;
	if (!yaml_emitter_initialize(&w.em))
		return -1;
	yaml_emitter_set_output(&w.em, write_handler, &w);
	yaml_emitter_set_unicode(&w.em, 1);
	yaml_emitter_set_width(&w.em, -1);
	yaml_emitter_set_indent(&w.em, 2);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&w.em, &ev))
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(&w.em, &ev))
		goto out;
	if (emit_value(&w, v) < 0)
		goto out;
	if (!yaml_document_end_event_initialize(&ev, 1) ||
	    !yaml_emitter_emit(&w.em, &ev))
		goto out;
	if (!yaml_stream_end_event_initialize(&ev) ||
	    !yaml_emitter_emit(&w.em, &ev))
		goto out;
	if (!yaml_emitter_flush(&w.em))
		goto out;
	rc = w.failed ? -1 : 0;
out:
	yaml_emitter_delete(&w.em);
	return rc;
}

/* ------------------------------------------------------------ writing JSON */

static int json_str(buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	if (buf_append_byte(out, '"') < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			rc = buf_append(out, e, 2);
		} else if (c == '\n') {
			rc = buf_append(out, "\\n", 2);
		} else if (c == '\r') {
			rc = buf_append(out, "\\r", 2);
		} else if (c == '\t') {
			rc = buf_append(out, "\\t", 2);
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4],
				      hex[c & 15] };

			rc = buf_append(out, e, 6);
		} else if (c == 0xe2 && i + 2 < len &&
			   (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xa8 ||
			    (unsigned char)s[i + 2] == 0xa9)) {
			/* U+2028 and U+2029, as Go escapes them. */
			rc = buf_append(out, (unsigned char)s[i + 2] == 0xa8 ?
					"\\u2028" : "\\u2029", 6);
			i += 2;
		} else {
			rc = buf_append_byte(out, c);
		}
		if (rc < 0)
			return -1;
	}
	return buf_append_byte(out, '"');
}

static int json_real_text(buf *out, double d)
{
	char num[48];

	/* encoding/json: %f-like unless the exponent is < -6 or >= 21. */
	if (d != 0 && (fabs(d) < 1e-6 || fabs(d) >= 1e21)) {
		char *e;

		kjson_format_real(d, num, sizeof(num));
		e = strchr(num, 'e');
		if (e && e[1] == '-' && e[2] == '0') /* e-07 -> e-7 */
			memmove(e + 2, e + 3, strlen(e + 3) + 1);
	} else {
		kjson_format_real(d, num, sizeof(num));
		if (strchr(num, 'e')) {
			/* Go writes these with 'f'. */
			snprintf(num, sizeof(num), "%.0f", d);
		}
	}
	return buf_printf(out, "%s", num);
}

static int json_value(buf *out, const json_t *v, int indent, int depth)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys;
		const char *k;
		json_t *x;
		int rc = 0;

		if (!n)
			return buf_append(out, "{}", 2);
		keys = malloc(n * sizeof(*keys));
		if (!keys)
			return -1;
		json_object_foreach((json_t *)v, k, x)
			keys[i++] = k;
		qsort(keys, n, sizeof(*keys), key_cmp);
		rc = buf_append_byte(out, '{');
		for (i = 0; i < n && rc == 0; i++) {
			if (i)
				rc = buf_append_byte(out, ',');
			if (rc == 0 && indent)
				rc = buf_printf(out, "\n%*s", indent * (depth + 1),
						"");
			if (rc == 0)
				rc = json_str(out, keys[i], strlen(keys[i]));
			if (rc == 0)
				rc = buf_append(out, indent ? ": " : ":",
						indent ? 2 : 1);
			if (rc == 0)
				rc = json_value(out, json_object_get(v, keys[i]),
						indent, depth + 1);
		}
		free(keys);
		if (rc == 0 && indent)
			rc = buf_printf(out, "\n%*s", indent * depth, "");
		return rc ? rc : buf_append_byte(out, '}');
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;

		if (!json_array_size(v))
			return buf_append(out, "[]", 2);
		if (buf_append_byte(out, '[') < 0)
			return -1;
		json_array_foreach(v, i, x) {
			if (i && buf_append_byte(out, ',') < 0)
				return -1;
			if (indent && buf_printf(out, "\n%*s",
						 indent * (depth + 1), "") < 0)
				return -1;
			if (json_value(out, x, indent, depth + 1) < 0)
				return -1;
		}
		if (indent && buf_printf(out, "\n%*s", indent * depth, "") < 0)
			return -1;
		return buf_append_byte(out, ']');
	}
	case JSON_STRING:
		return json_str(out, json_string_value(v),
				json_string_length(v));
	case JSON_INTEGER:
		return buf_printf(out, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return json_real_text(out, json_real_value(v));
	case JSON_TRUE:
		return buf_append(out, "true", 4);
	case JSON_FALSE:
		return buf_append(out, "false", 5);
	case JSON_NULL:
		return buf_append(out, "null", 4);
	}
	return -1;
}

int kjson_emit(buf *out, const json_t *v)
{
	if (json_value(out, v, 4, 0) < 0)
		return -1;
	return buf_append_byte(out, '\n');
}

int kjson_emit_compact(buf *out, const json_t *v)
{
	return json_value(out, v, 0, 0);
}

/* ------------------------------------------------------------ peeking */

size_t kjson_ws(const char *t, size_t i, size_t n)
{
	while (i < n && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' ||
			 t[i] == '\t'))
		i++;
	return i;
}

/* Past the string starting at t[i] == '"'; n on a malformed one. */
static size_t skip_string(const char *t, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		const char *q = memchr(t + i, '"', n - i);
		size_t bs = 0;

		if (!q)
			return n;
		i = (size_t)(q - t);
		while (bs < i && t[i - 1 - bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return i + 1;
	}
	return n;
}

/* Past the value at t[i]. */
size_t kjson_skip(const char *t, size_t i, size_t n)
{
	int depth = 0;

	i = kjson_ws(t, i, n);
	if (i >= n)
		return n;
	if (t[i] == '"')
		return skip_string(t, i, n);
	if (t[i] != '{' && t[i] != '[') {
		/* A number or a literal: up to a delimiter. */
		while (i < n && t[i] && !strchr(",}] \n\r\t", t[i]))
			i++;
		return i;
	}
	while (i < n) {
		char c = t[i];

		if (c == '"') {
			i = skip_string(t, i, n);
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

/* Finds key in the object at t[i] == '{'; returns the index of its value
 * or n. */
size_t kjson_find_key(const char *t, size_t i, size_t n, const char *key)
{
	size_t kl = strlen(key);

	i = kjson_ws(t, i, n);
	if (i >= n || t[i] != '{')
		return n;
	i++;
	for (;;) {
		size_t ks, ke;

		i = kjson_ws(t, i, n);
		if (i >= n || t[i] != '"')
			return n;
		ks = i + 1;
		ke = skip_string(t, i, n);
		if (ke >= n)
			return n;
		i = kjson_ws(t, ke, n);
		if (i >= n || t[i] != ':')
			return n;
		i = kjson_ws(t, i + 1, n);
		if (ke - 1 - ks == kl && memcmp(t + ks, key, kl) == 0)
			return i;
		i = kjson_ws(t, kjson_skip(t, i, n), n);
		if (i >= n || t[i] != ',')
			return n;
		i++;
	}
}

int kjson_peek_string(const char *text, size_t len, const char *key1,
		      const char *key2, char *out, size_t outlen)
{
	size_t i = kjson_find_key(text, 0, len, key1), e;
	json_t *v;
	int rc = -1;

	if (i < len && key2)
		i = kjson_find_key(text, i, len, key2);
	if (i >= len || text[i] != '"')
		return -1;
	e = skip_string(text, i, len);
	if (e > len)
		return -1;
	v = json_loadb(text + i, e - i, JSON_DECODE_ANY, NULL);
	if (json_is_string(v) && json_string_length(v) < outlen) {
		memcpy(out, json_string_value(v), json_string_length(v) + 1);
		rc = 0;
	}
	json_decref(v);
	return rc;
}
