/*
 * vcli: the protobuf canonical JSON mapping for protobuf-c messages (see
 * pbjson.h).
 */
#include "cli/pbjson.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "common/b64.h"

#define MEMBER(msg, off, type) (*(type *)((char *)(msg) + (off)))

static const char timestamp_name[] = "google.protobuf.Timestamp";

/* The first and last second RFC 3339 can write: 0001-01-01T00:00:00Z and
 * 9999-12-31T23:59:59Z. */
#define TIME_MIN INT64_C(-62135596800)
#define TIME_MAX INT64_C(253402300799)

void pbjson_camel(const char *name, char *out, size_t outlen)
{
	size_t o = 0;
	int upper = 0;

	if (!outlen)
		return;
	for (const char *p = name; *p && o + 1 < outlen; p++) {
		if (*p == '_') {
			upper = 1;
			continue;
		}
		out[o++] = upper && *p >= 'a' && *p <= 'z' ?
			   (char)(*p - 'a' + 'A') : *p;
		upper = 0;
	}
	out[o] = '\0';
}

static int is_timestamp(const ProtobufCMessageDescriptor *d)
{
	return strcmp(d->name, timestamp_name) == 0;
}

/*
 * Whether a repeated message field is a map: protoc makes a map field a
 * repeated nested "<FieldName>Entry" message of fields key = 1 and
 * value = 2, and refuses any other type of that name next to it.
 */
static int is_map(const ProtobufCFieldDescriptor *fd)
{
	const ProtobufCMessageDescriptor *e = fd->descriptor;
	char want[160];

	if (fd->label != PROTOBUF_C_LABEL_REPEATED ||
	    fd->type != PROTOBUF_C_TYPE_MESSAGE || !e || e->n_fields != 2 ||
	    e->fields[0].id != 1 || strcmp(e->fields[0].name, "key") != 0 ||
	    e->fields[1].id != 2 || strcmp(e->fields[1].name, "value") != 0)
		return 0;
	pbjson_camel(fd->name, want, sizeof(want) - 8);
	if (want[0] >= 'a' && want[0] <= 'z')
		want[0] = (char)(want[0] - 'a' + 'A');
	memcpy(want + strlen(want), "Entry", 6);
	return strcmp(e->short_name, want) == 0;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm; exact for every year we accept). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void pbjson_format_time(int64_t seconds, int32_t nanos, char *out,
			size_t outlen)
{
	int64_t days, rem, y;
	unsigned mo, d;
	int n;

	if (seconds < TIME_MIN)
		seconds = TIME_MIN;
	if (seconds > TIME_MAX)
		seconds = TIME_MAX;
	if (nanos < 0 || nanos > 999999999)
		nanos = 0;
	days = seconds / 86400;
	rem = seconds % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	n = snprintf(out, outlen, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y,
		     mo, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		     (int)(rem % 60));
	if (n < 0 || (size_t)n >= outlen)
		return;
	if (nanos == 0)
		snprintf(out + n, outlen - (size_t)n, "Z");
	else if (nanos % 1000000 == 0)
		snprintf(out + n, outlen - (size_t)n, ".%03dZ", nanos / 1000000);
	else if (nanos % 1000 == 0)
		snprintf(out + n, outlen - (size_t)n, ".%06dZ", nanos / 1000);
	else
		snprintf(out + n, outlen - (size_t)n, ".%09dZ", nanos);
}

/* Reads exactly n digits at *p. */
static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		*v = *v * 10 + (c - '0');
	}
	*p += n;
	return 0;
}

static int expect(const char **p, const char *set)
{
	if (!**p || !strchr(set, **p))
		return -1;
	(*p)++;
	return 0;
}

int pbjson_parse_time(const char *text, int64_t *seconds, int32_t *nanos)
{
	static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };
	const char *p = text;
	int y, mo, d, h, mi, s, frac = 0, oh = 0, om = 0, sign = 0, nd = 0;
	int leap;
	int64_t t;

	if (digits(&p, 4, &y) || expect(&p, "-") || digits(&p, 2, &mo) ||
	    expect(&p, "-") || digits(&p, 2, &d) || expect(&p, "Tt") ||
	    digits(&p, 2, &h) || expect(&p, ":") || digits(&p, 2, &mi) ||
	    expect(&p, ":") || digits(&p, 2, &s))
		return -1;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (++nd > 9)
				return -1;
			frac = frac * 10 + (*p++ - '0');
		}
		if (nd == 0)
			return -1;
		for (int i = nd; i < 9; i++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) || expect(&p, ":") ||
		    digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
	    s > 59)
		return -1;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + s;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	if (t < TIME_MIN || t > TIME_MAX)
		return -1;
	*seconds = t;
	*nanos = frac;
	return 0;
}

/* ---- message -> doc ---- */

static struct doc *message_doc(struct doc_arena *a, const ProtobufCMessage *m,
			       unsigned flags);

static struct doc *float_doc(struct doc_arena *a, float v)
{
	char buf[40];

	if (isnan(v) || isinf(v))
		return doc_double(a, (double)v);
	/* The shortest text that reads back as the same float. */
	for (int prec = 1; prec <= 9; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	return doc_double(a, strtod(buf, NULL));
}

static struct doc *bytes_doc(struct doc_arena *a, const ProtobufCBinaryData *b)
{
	size_t n = b64_encoded_len(b->len);
	char *text = doc_alloc(a, n + 3);
	struct doc *d;

	if (!text)
		return NULL;
	if (b->len)
		b64_encode(b->data, b->len, text);
	/* The mapping wants standard base64 with padding. */
	while (n % 4)
		text[n++] = '=';
	text[n] = '\0';
	d = doc_alloc(a, sizeof(*d));
	if (d) {
		d->kind = DOC_STR;
		d->text = text;
	}
	return d;
}

/* One value of field fd at p (an element for repeated fields). */
static struct doc *value_doc(struct doc_arena *a,
			     const ProtobufCFieldDescriptor *fd, const void *p,
			     unsigned flags)
{
	char buf[32];

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return doc_int(a, *(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return doc_uint(a, *(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		/* 64-bit integers are strings: JSON numbers lose precision
		 * past 2^53 in most readers. */
		snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)p);
		return doc_str(a, buf);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)p);
		return doc_str(a, buf);
	case PROTOBUF_C_TYPE_FLOAT:
		return float_doc(a, *(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return doc_double(a, *(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return doc_bool(a, *(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(
				fd->descriptor, *(const int *)p);

		/* A value this build does not know: its number, as the
		 * mapping says. */
		return ev ? doc_str(a, ev->name) : doc_int(a, *(const int *)p);
	}
	case PROTOBUF_C_TYPE_STRING:
		return doc_str(a, *(char *const *)p);
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_doc(a, p);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (!sub)
			return doc_null(a);
		return message_doc(a, sub, flags);
	}
	}
	return doc_null(a);
}

/* Whether a singular field holds its default, so the mapping omits it. */
static int is_default(const ProtobufCMessage *m,
		      const ProtobufCFieldDescriptor *fd, unsigned flags)
{
	const void *p = (const char *)m + fd->offset;

	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return MEMBER(m, fd->quantifier_offset, uint32_t) != fd->id;
	if (fd->label == PROTOBUF_C_LABEL_REQUIRED)
		return 0;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
	    fd->type != PROTOBUF_C_TYPE_STRING &&
	    fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return !MEMBER(m, fd->quantifier_offset, protobuf_c_boolean);
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return *(const uint32_t *)p == 0;
	case PROTOBUF_C_TYPE_ENUM:
		return !(flags & PBJSON_ENUMS_ALWAYS) && *(const int *)p == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *)p == 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0;
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)p;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p == NULL;
	}
	return 1;
}

static struct doc *map_doc(struct doc_arena *a,
			   const ProtobufCFieldDescriptor *fd,
			   ProtobufCMessage *const *entries, size_t n,
			   unsigned flags)
{
	const ProtobufCMessageDescriptor *ed = fd->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0],
				       *vf = &ed->fields[1];
	struct doc *obj = doc_obj(a);

	for (size_t i = 0; i < n; i++) {
		const ProtobufCMessage *e = entries[i];
		struct doc *k;

		if (!e)
			continue;
		k = value_doc(a, kf, (const char *)e + kf->offset, flags);
		if (!k)
			return NULL;
		/* Map keys are always strings in JSON: a number or a
		 * boolean key is written as its text. */
		doc_set(a, obj, k->kind == DOC_BOOL ?
			(k->boolean ? "true" : "false") : k->text,
			value_doc(a, vf, (const char *)e + vf->offset, flags));
	}
	return obj;
}

static struct doc *timestamp_doc(struct doc_arena *a, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	int64_t seconds = 0;
	int32_t nanos = 0;
	char buf[40];

	for (unsigned i = 0; i < d->n_fields; i++) {
		if (d->fields[i].id == 1)
			seconds = MEMBER(m, d->fields[i].offset, int64_t);
		else if (d->fields[i].id == 2)
			nanos = MEMBER(m, d->fields[i].offset, int32_t);
	}
	pbjson_format_time(seconds, nanos, buf, sizeof(buf));
	return doc_str(a, buf);
}

static struct doc *message_doc(struct doc_arena *a, const ProtobufCMessage *m,
			       unsigned flags)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	struct doc *obj;

	if (is_timestamp(d))
		return timestamp_doc(a, m);
	obj = doc_obj(a);
	if (!obj)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		char key[160];
		struct doc *v;

		pbjson_camel(fd->name, key, sizeof(key));
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = MEMBER(m, fd->quantifier_offset, size_t);
			const char *arr = MEMBER(m, fd->offset, const char *);
			size_t es = elem_size(fd->type);

			if (!n || !arr)
				continue;
			if (is_map(fd)) {
				v = map_doc(a, fd, (ProtobufCMessage *const *)arr,
					    n, flags);
			} else {
				v = doc_arr(a);
				for (size_t j = 0; j < n; j++)
					doc_push(v, value_doc(a, fd,
							      arr + j * es,
							      flags));
			}
		} else {
			if (is_default(m, fd, flags))
				continue;
			v = value_doc(a, fd, (const char *)m + fd->offset,
				      flags);
		}
		doc_set(a, obj, key, v);
	}
	return obj;
}

struct doc *pbjson_to_doc(struct doc_arena *a, const ProtobufCMessage *m,
			  unsigned flags)
{
	if (!m)
		return doc_obj(a);
	return message_doc(a, m, flags);
}

/* ---- json -> message ---- */

struct pctx {
	struct doc_arena *a;
	char path[512];
	size_t plen;
	char *err;
	size_t errlen;
};

static int fail(struct pctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct pctx *c, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->plen)
		snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	return -1;
}

static int oom(struct pctx *c)
{
	snprintf(c->err, c->errlen, "out of memory");
	return -1;
}

/* Appends ".name" (or "name" at the top) or "[i]" to the path; returns
 * the length to restore. */
static size_t path_push(struct pctx *c, const char *name)
{
	size_t old = c->plen;
	char clean[128];
	int n;

	out_sanitize(clean, sizeof(clean), name);
	n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "%s%s",
		     c->plen ? "." : "", clean);
	if (n > 0)
		c->plen += (size_t)n < sizeof(c->path) - c->plen ?
			   (size_t)n : sizeof(c->path) - c->plen - 1;
	return old;
}

static size_t path_index(struct pctx *c, size_t i)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]",
			 i);

	if (n > 0)
		c->plen += (size_t)n < sizeof(c->path) - c->plen ?
			   (size_t)n : sizeof(c->path) - c->plen - 1;
	return old;
}

static void path_pop(struct pctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* How a JSON value reads in "got ...": strings quoted (and cut short),
 * numbers as written, containers by kind. */
static const char *describe(const json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, len, "%.17g", json_real_value(v));
		return buf;
	case JSON_STRING: {
		char clean[48];
		size_t used = out_sanitize_n(clean, sizeof(clean),
					     json_string_value(v),
					     json_string_length(v));

		snprintf(buf, len, "\"%s%s\"", clean,
			 used < json_string_length(v) ? "..." : "");
		return buf;
	}
	}
	return "a value";
}

static int parse_message(struct pctx *c, const ProtobufCMessageDescriptor *d,
			 const json_t *v, ProtobufCMessage **out);

/* Integer text as the mapping allows it in a string: an optional '-' and
 * digits. */
static int int_text(const char *s, int *neg)
{
	*neg = *s == '-';
	s += *neg;
	if (!*s)
		return -1;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return -1;
	return 0;
}

/*
 * Reads an integer from a JSON integer, an integral JSON real, or a string
 * of digits, into *sv (signed) or *uv (is_unsigned).
 */
static int parse_integer(struct pctx *c, const json_t *v, int is_unsigned,
			 int64_t *sv, uint64_t *uv)
{
	char got[80];
	int neg;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (is_unsigned) {
			if (i < 0)
				return fail(c, "expected an integer of 0 or "
					    "more, got %s",
					    describe(v, got, sizeof(got)));
			*uv = (uint64_t)i;
		} else {
			*sv = i;
		}
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d != floor(d) || d < -9223372036854775808.0 ||
		    d >= 18446744073709551616.0 ||
		    (!is_unsigned && d >= 9223372036854775808.0) ||
		    (is_unsigned && d < 0))
			return fail(c, "expected an integer, got %s",
				    describe(v, got, sizeof(got)));
		if (is_unsigned)
			*uv = (uint64_t)d;
		else
			*sv = (int64_t)d;
		return 0;
	}
	if (json_is_string(v) && int_text(json_string_value(v), &neg) == 0) {
		const char *s = json_string_value(v);
		char *end;

		errno = 0;
		if (is_unsigned) {
			if (neg)
				return fail(c, "expected an integer of 0 or "
					    "more, got %s",
					    describe(v, got, sizeof(got)));
			*uv = strtoull(s, &end, 10);
		} else {
			*sv = strtoll(s, &end, 10);
		}
		if (errno || *end)
			return fail(c, "integer %s is out of range",
				    describe(v, got, sizeof(got)));
		return 0;
	}
	return fail(c, "expected an integer, got %s",
		    describe(v, got, sizeof(got)));
}

/* A JSON number, or a string holding one or NaN/Infinity/-Infinity. */
static int parse_double(struct pctx *c, const json_t *v, double *out)
{
	char got[80];

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v), *p = s;
		char *end;

		if (strcmp(s, "NaN") == 0) {
			*out = NAN;
			return 0;
		}
		if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
			*out = s[0] == '-' ? -INFINITY : INFINITY;
			return 0;
		}
		/* JSON number syntax only: strtod alone would take hex,
		 * "inf" and leading blanks too. */
		if (*p == '-')
			p++;
		if (*p >= '0' && *p <= '9') {
			errno = 0;
			*out = strtod(s, &end);
			if (!*end && !strpbrk(s, "xXnNiI \t") && errno != ERANGE)
				return 0;
		}
	}
	return fail(c, "expected a number, got %s",
		    describe(v, got, sizeof(got)));
}

static int parse_enum(struct pctx *c, const ProtobufCEnumDescriptor *ed,
		      const json_t *v, int *out)
{
	char got[80], names[256];
	size_t used = 0;

	if (json_is_string(v)) {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value_by_name(
				ed, json_string_value(v));

		if (ev) {
			*out = ev->value;
			return 0;
		}
	} else if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i >= INT32_MIN && i <= INT32_MAX) {
			*out = (int)i;
			return 0;
		}
	}
	names[0] = '\0';
	for (unsigned i = 0; i < ed->n_values && used < sizeof(names); i++) {
		int n = snprintf(names + used, sizeof(names) - used, "%s%s",
				 i == 0 ? "" : i + 1 == ed->n_values ? " or " :
				 ", ", ed->values[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return fail(c, "unknown value %s (use %s)",
		    describe(v, got, sizeof(got)), names);
}

static int parse_bytes(struct pctx *c, const json_t *v,
		       ProtobufCBinaryData *out)
{
	char got[80];
	size_t len;
	char *text;
	long n;

	if (!json_is_string(v))
		return fail(c, "expected a base64 string, got %s",
			    describe(v, got, sizeof(got)));
	len = json_string_length(v);
	text = doc_strndup(c->a, json_string_value(v), len);
	out->data = doc_alloc(c->a, len / 4 * 3 + 4);
	if (!text || !out->data)
		return oom(c);
	/* The mapping accepts the URL-safe alphabet as well. */
	for (size_t i = 0; i < len; i++)
		text[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
	n = b64_decode(text, len, out->data);
	if (n < 0)
		return fail(c, "expected a base64 string, got %s",
			    describe(v, got, sizeof(got)));
	out->len = (size_t)n;
	return 0;
}

/* Parses v as one value of field fd into dst. */
static int parse_value(struct pctx *c, const ProtobufCFieldDescriptor *fd,
		       const json_t *v, void *dst)
{
	char got[80];
	int64_t sv = 0;
	uint64_t uv = 0;
	double d;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (parse_integer(c, v, 0, &sv, &uv) < 0)
			return -1;
		if (sv < INT32_MIN || sv > INT32_MAX)
			return fail(c, "%s is out of range for a 32-bit "
				    "integer", describe(v, got, sizeof(got)));
		*(int32_t *)dst = (int32_t)sv;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (parse_integer(c, v, 1, &sv, &uv) < 0)
			return -1;
		if (uv > UINT32_MAX)
			return fail(c, "%s is out of range for a 32-bit "
				    "unsigned integer",
				    describe(v, got, sizeof(got)));
		*(uint32_t *)dst = (uint32_t)uv;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (parse_integer(c, v, 0, &sv, &uv) < 0)
			return -1;
		*(int64_t *)dst = sv;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (parse_integer(c, v, 1, &sv, &uv) < 0)
			return -1;
		*(uint64_t *)dst = uv;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if (parse_double(c, v, &d) < 0)
			return -1;
		if (isfinite(d) && fabs(d) > FLT_MAX)
			return fail(c, "%s is out of range for a float",
				    describe(v, got, sizeof(got)));
		*(float *)dst = (float)d;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return parse_double(c, v, (double *)dst);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return fail(c, "expected true or false, got %s",
				    describe(v, got, sizeof(got)));
		*(protobuf_c_boolean *)dst = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return parse_enum(c, fd->descriptor, v, (int *)dst);
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(v))
			return fail(c, "expected a string, got %s",
				    describe(v, got, sizeof(got)));
		/* jansson has checked the UTF-8 and refused "\u0000". */
		*(char **)dst = doc_strndup(c->a, json_string_value(v),
					    json_string_length(v));
		return *(char **)dst ? 0 : oom(c);
	case PROTOBUF_C_TYPE_BYTES:
		return parse_bytes(c, v, dst);
	case PROTOBUF_C_TYPE_MESSAGE:
		return parse_message(c, fd->descriptor, v,
				     (ProtobufCMessage **)dst);
	}
	return fail(c, "fields of this type are not supported");
}

/* A map key (always a JSON string) as a value of the key field. */
static int parse_map_key(struct pctx *c, const ProtobufCFieldDescriptor *kf,
			 const char *key, void *dst)
{
	json_t *k;
	int rc;

	if (kf->type == PROTOBUF_C_TYPE_STRING) {
		*(char **)dst = doc_strndup(c->a, key, strlen(key));
		return *(char **)dst ? 0 : oom(c);
	}
	if (kf->type == PROTOBUF_C_TYPE_BOOL) {
		if (strcmp(key, "true") && strcmp(key, "false"))
			return fail(c, "map key must be true or false");
		*(protobuf_c_boolean *)dst = strcmp(key, "true") == 0;
		return 0;
	}
	/* Integer keys: parse the text as a string-held integer. */
	k = json_string(key);
	if (!k)
		return oom(c);
	rc = parse_value(c, kf, k, dst);
	json_decref(k);
	return rc;
}

static int parse_map(struct pctx *c, const ProtobufCFieldDescriptor *fd,
		     const json_t *v, void *msg)
{
	const ProtobufCMessageDescriptor *ed = fd->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0],
				       *vf = &ed->fields[1];
	size_t n = json_object_size(v), i = 0;
	ProtobufCMessage **entries;
	const char *key;
	json_t *val;
	char got[80];

	if (!json_is_object(v))
		return fail(c, "expected an object, got %s",
			    describe(v, got, sizeof(got)));
	entries = doc_alloc(c->a, (n ? n : 1) * sizeof(*entries));
	if (!entries)
		return oom(c);
	json_object_foreach((json_t *)v, key, val) {
		ProtobufCMessage *e = doc_alloc(c->a, ed->sizeof_message);
		size_t old;

		if (!e)
			return oom(c);
		ed->message_init(e);
		old = path_push(c, key);
		if (parse_map_key(c, kf, key, (char *)e + kf->offset) < 0)
			return -1;
		if (json_is_null(val))
			return fail(c, "expected %s, got null",
				    vf->type == PROTOBUF_C_TYPE_STRING ?
				    "a string" : "a value");
		if (parse_value(c, vf, val, (char *)e + vf->offset) < 0)
			return -1;
		path_pop(c, old);
		entries[i++] = e;
	}
	MEMBER(msg, fd->quantifier_offset, size_t) = i;
	MEMBER(msg, fd->offset, ProtobufCMessage **) = entries;
	return 0;
}

static int parse_repeated(struct pctx *c, const ProtobufCFieldDescriptor *fd,
			  const json_t *v, void *msg)
{
	size_t n, es = elem_size(fd->type);
	char got[80];
	char *arr;

	if (is_map(fd))
		return parse_map(c, fd, v, msg);
	if (!json_is_array(v))
		return fail(c, "expected an array, got %s",
			    describe(v, got, sizeof(got)));
	n = json_array_size(v);
	arr = doc_alloc(c->a, (n ? n : 1) * es);
	if (!arr)
		return oom(c);
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		size_t old = path_index(c, i);

		if (json_is_null(e))
			return fail(c, "null is not allowed in a list");
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
			((ProtobufCMessage **)(void *)arr)[i] = NULL;
		if (parse_value(c, fd, e, arr + i * es) < 0)
			return -1;
		path_pop(c, old);
	}
	MEMBER(msg, fd->quantifier_offset, size_t) = n;
	MEMBER(msg, fd->offset, char *) = arr;
	return 0;
}

static const ProtobufCFieldDescriptor *find_field(
	const ProtobufCMessageDescriptor *d, const char *key)
{
	for (unsigned i = 0; i < d->n_fields; i++) {
		char camel[160];

		if (strcmp(d->fields[i].name, key) == 0)
			return &d->fields[i];
		pbjson_camel(d->fields[i].name, camel, sizeof(camel));
		if (strcmp(camel, key) == 0)
			return &d->fields[i];
	}
	return NULL;
}

static int parse_timestamp(struct pctx *c, const ProtobufCMessageDescriptor *d,
			   const json_t *v, ProtobufCMessage *m)
{
	int64_t seconds;
	int32_t nanos;
	char got[80];

	if (!json_is_string(v) ||
	    pbjson_parse_time(json_string_value(v), &seconds, &nanos) < 0)
		return fail(c, "expected an RFC 3339 timestamp such as "
			    "\"2024-05-01T12:00:00Z\", got %s",
			    describe(v, got, sizeof(got)));
	for (unsigned i = 0; i < d->n_fields; i++) {
		if (d->fields[i].id == 1)
			MEMBER(m, d->fields[i].offset, int64_t) = seconds;
		else if (d->fields[i].id == 2)
			MEMBER(m, d->fields[i].offset, int32_t) = nanos;
	}
	return 0;
}

static int parse_message(struct pctx *c, const ProtobufCMessageDescriptor *d,
			 const json_t *v, ProtobufCMessage **out)
{
	ProtobufCMessage *m = doc_alloc(c->a, d->sizeof_message);
	const char **seen_as;
	const char *key;
	json_t *val;
	char got[80];

	if (!m)
		return oom(c);
	d->message_init(m);
	*out = m;
	if (is_timestamp(d))
		return parse_timestamp(c, d, v, m);
	if (!json_is_object(v))
		return fail(c, "expected an object, got %s",
			    describe(v, got, sizeof(got)));
	seen_as = doc_alloc(c->a, (d->n_fields + 1) * sizeof(*seen_as));
	if (!seen_as)
		return oom(c);
	json_object_foreach((json_t *)v, key, val) {
		const ProtobufCFieldDescriptor *fd = find_field(d, key);
		size_t old = path_push(c, key), idx;

		if (!fd)
			return fail(c, "unknown field");
		idx = (size_t)(fd - d->fields);
		if (seen_as[idx])
			return fail(c, "the field is given twice (as '%s' "
				    "and '%s')", seen_as[idx], key);
		seen_as[idx] = key;
		/* null means "the default" for every field type. */
		if (!json_is_null(val)) {
			if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
				if (parse_repeated(c, fd, val, m) < 0)
					return -1;
			} else {
				if (parse_value(c, fd, val,
						(char *)m + fd->offset) < 0)
					return -1;
				if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
					MEMBER(m, fd->quantifier_offset,
					       uint32_t) = fd->id;
				else if (fd->label ==
					 PROTOBUF_C_LABEL_OPTIONAL &&
					 fd->type != PROTOBUF_C_TYPE_STRING &&
					 fd->type != PROTOBUF_C_TYPE_MESSAGE)
					MEMBER(m, fd->quantifier_offset,
					       protobuf_c_boolean) = 1;
			}
		}
		path_pop(c, old);
	}
	return 0;
}

ProtobufCMessage *pbjson_from_json(struct doc_arena *a,
				   const ProtobufCMessageDescriptor *desc,
				   const json_t *v, char *err, size_t errlen)
{
	struct pctx c;
	ProtobufCMessage *m = NULL;

	memset(&c, 0, sizeof(c));
	c.a = a;
	c.err = err;
	c.errlen = errlen;
	if (parse_message(&c, desc, v, &m) < 0)
		return NULL;
	return m;
}
