/*
 * vcli bench: methods, request data, metadata, mix and flag values (see
 * bench_input.h).
 */
#include "cli/bench_input.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/output.h"
#include "cli/pbjson.h"
#include "common/errbuf.h"
#include "common/timeutil.h"
#include "governance.pb-c.h"
#include "health.pb-c.h"

/* ---- methods ---- */

static const ProtobufCServiceDescriptor *const services[] = {
	&vertice__governance__v1__governance_service__descriptor,
	&grpc__health__v1__health__descriptor,
};

/* protobuf-c's descriptors do not say which methods stream, so the
 * server-streaming ones of the two .proto files are named here. */
static const char *const streaming[] = {
	"vertice.governance.v1.GovernanceService/StreamDecisions",
	"vertice.governance.v1.GovernanceService/StreamEvents",
	"grpc.health.v1.Health/Watch",
};

static int service_matches(const ProtobufCServiceDescriptor *s,
			   const char *name, size_t len)
{
	return (strlen(s->name) == len && memcmp(s->name, name, len) == 0) ||
	       (strlen(s->short_name) == len &&
		memcmp(s->short_name, name, len) == 0);
}

int bench_method_resolve(const char *name, struct bench_method *out,
			 char *err, size_t errlen)
{
	const char *method = name, *base, *sep;
	size_t slen = 0, found = 0;
	char shown[128], list[512];
	size_t used = 0;

	out_sanitize(shown, sizeof(shown), name);
	if (*method == '/')
		method++;
	base = method;
	/* "pkg.Service/Method", else "pkg.Service.Method": the service ends
	 * at the last '/' or, without one, at the last '.'. */
	sep = strrchr(method, '/');
	if (!sep)
		sep = strrchr(method, '.');
	if (sep) {
		slen = (size_t)(sep - method);
		method = sep + 1;
	}
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		const ProtobufCServiceDescriptor *s = services[i];

		if (sep && !service_matches(s, base, slen))
			continue;
		for (unsigned m = 0; m < s->n_methods; m++) {
			if (strcmp(s->methods[m].name, method) != 0)
				continue;
			if (found++) {
				return err_set(err, errlen, "method '%s' is in more "
					    "than one service (name it in full, "
					    "such as '%s/%s')", shown,
					    s->name, method);
			}
			out->service = s;
			out->method = &s->methods[m];
		}
	}
	if (!found) {
		list[0] = '\0';
		for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
			for (unsigned m = 0; m < services[i]->n_methods; m++) {
				int n = snprintf(list + used, sizeof(list) - used,
						 "%s%s", used ? ", " : "",
						 services[i]->methods[m].name);
				if (n > 0 && (size_t)n < sizeof(list) - used)
					used += (size_t)n;
			}
		return err_set(err, errlen, "unknown method '%s' (methods: %s; "
			    "a full name is SERVICE/METHOD, such as "
			    "grpc.health.v1.Health/Check)", shown, list);
	}
	snprintf(out->full, sizeof(out->full), "%s/%s", out->service->name,
		 out->method->name);
	snprintf(out->path, sizeof(out->path), "/%s/%s", out->service->name,
		 out->method->name);
	for (size_t i = 0; i < sizeof(streaming) / sizeof(streaming[0]); i++)
		if (strcmp(streaming[i], out->full) == 0)
			return err_set(err, errlen, "method '%s' streams its "
				    "answers; vcli bench drives unary methods",
				    shown);
	return 0;
}

/* ---- request data ---- */

static int parse_json(const char *text, size_t len, json_t **out, char *err,
		      size_t errlen)
{
	json_error_t je;

	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return err_set(err, errlen, "request data is not valid JSON: "
			    "line %d column %d: %s", je.line, je.column,
			    je.text);
	return 0;
}

static ProtobufCMessage *json_to_msg(struct doc_arena *a,
				     const ProtobufCMessageDescriptor *desc,
				     const char *text, size_t len, char *err,
				     size_t errlen)
{
	json_t *v;
	ProtobufCMessage *m;
	char why[448];

	if (parse_json(text, len, &v, err, errlen) < 0)
		return NULL;
	m = pbjson_from_json(a, desc, v, why, sizeof(why));
	json_decref(v);
	if (!m)
		err_set(err, errlen, "request data does not fit %s: %s",
		     desc->name, why);
	return m;
}

static int pack(const ProtobufCMessage *m, buf *out, char *err,
		size_t errlen)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	buf_reset(out);
	if (n > BENCH_REQUEST_MAX || buf_reserve(out, n ? n : 1) < 0)
		return err_set(err, errlen, "the request is %zu bytes (at most "
			    "%u)", n, BENCH_REQUEST_MAX);
	out->len = protobuf_c_message_pack(m, out->data);
	return 0;
}

static size_t count_actions(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '{' && s[i + 1] == '{') {
			n++;
			i++;
		}
	return n;
}

static int add_slot(struct bench_request *r, size_t *cap, char **field,
		    size_t *nactions, char *err, size_t errlen)
{
	struct bench_slot *sl;

	if (!*field || !tmpl_has_actions(*field, strlen(*field)))
		return 0;
	if (r->nslots == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct bench_slot *n = realloc(r->slots, ncap * sizeof(*n));

		if (!n)
			return err_set(err, errlen, "out of memory");
		r->slots = n;
		*cap = ncap;
	}
	sl = &r->slots[r->nslots];
	if (tmpl_compile(&sl->t, *field, strlen(*field), err, errlen) < 0)
		return -1;
	sl->field = field;
	r->nslots++;
	*nactions += count_actions(*field, strlen(*field));
	return 0;
}

/* Finds every string field of m (nested messages and map values too)
 * that holds an action. */
static int find_slots(struct bench_request *r, size_t *cap,
		      ProtobufCMessage *m, size_t *nactions, char *err,
		      size_t errlen)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		char *p = (char *)m + fd->offset;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)((char *)m + fd->quantifier_offset);

			for (size_t k = 0; k < n; k++) {
				if (fd->type == PROTOBUF_C_TYPE_STRING) {
					if (add_slot(r, cap, &(*(char ***)p)[k],
						     nactions, err, errlen) < 0)
						return -1;
				} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
					ProtobufCMessage *sub =
						(*(ProtobufCMessage ***)p)[k];

					if (sub && find_slots(r, cap, sub, nactions,
							      err, errlen) < 0)
						return -1;
				}
			}
		} else if (fd->type == PROTOBUF_C_TYPE_STRING) {
			if (add_slot(r, cap, (char **)p, nactions, err,
				     errlen) < 0)
				return -1;
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			ProtobufCMessage *sub = *(ProtobufCMessage **)p;

			if (sub && find_slots(r, cap, sub, nactions, err,
					      errlen) < 0)
				return -1;
		}
	}
	return 0;
}

static int is_blank_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

int bench_request_init(struct bench_request *r,
		       const ProtobufCMessageDescriptor *desc,
		       const char *json, size_t len,
		       const struct tmpl_ctx *sample, char *err,
		       size_t errlen)
{
	ProtobufCMessage *m;
	size_t cap = 0, nactions = 0;

	memset(r, 0, sizeof(*r));
	r->desc = desc;
	buf_init(&r->packed, BENCH_REQUEST_MAX);
	doc_arena_init(&r->arena);
	if (!json || is_blank_text(json, len)) {
		m = doc_alloc(&r->arena, desc->sizeof_message);
		if (!m)
			goto nomem;
		desc->message_init(m);
		if (pack(m, &r->packed, err, errlen) < 0)
			goto fail;
		return 0;
	}
	if (!tmpl_has_actions(json, len)) {
		m = json_to_msg(&r->arena, desc, json, len, err, errlen);
		if (!m || pack(m, &r->packed, err, errlen) < 0)
			goto fail;
		return 0;
	}
	/* Actions: inside string fields only, the message is built once and
	 * only those fields change; anywhere else ("limit": {{...}}), the
	 * text is rendered and converted for every request. */
	{
		char ignored[8];

		m = json_to_msg(&r->arena, desc, json, len, ignored,
				sizeof(ignored));
	}
	if (m) {
		if (find_slots(r, &cap, m, &nactions, err, errlen) < 0)
			goto fail;
		if (nactions == count_actions(json, len)) {
			r->mode = BENCH_REQ_SLOTS;
			r->msg = m;
			r->offsets = calloc(r->nslots, sizeof(*r->offsets));
			if (!r->offsets)
				goto nomem;
			return 0;
		}
		for (size_t i = 0; i < r->nslots; i++)
			tmpl_release(&r->slots[i].t);
		free(r->slots);
		r->slots = NULL;
		r->nslots = 0;
	}
	r->mode = BENCH_REQ_TEXT;
	if (tmpl_compile(&r->text, json, len, err, errlen) < 0)
		goto fail;
	{
		/* Try it once, so that data that can never convert is a
		 * usage error now, not an error on every request. */
		buf scratch = BUF_INIT(BENCH_REQUEST_MAX), out =
			BUF_INIT(BENCH_REQUEST_MAX);
		const uint8_t *b;
		size_t n;
		int rc = bench_request_build(r, sample, &scratch, &out, &b, &n,
					     err, errlen);

		buf_release(&scratch);
		buf_release(&out);
		if (rc < 0)
			goto fail;
	}
	return 0;
nomem:
	err_set(err, errlen, "out of memory");
fail:
	bench_request_release(r);
	return -1;
}

void bench_request_release(struct bench_request *r)
{
	for (size_t i = 0; i < r->nslots; i++)
		tmpl_release(&r->slots[i].t);
	free(r->slots);
	free(r->offsets);
	tmpl_release(&r->text);
	buf_release(&r->packed);
	doc_arena_release(&r->arena);
	memset(r, 0, sizeof(*r));
}

int bench_request_build(struct bench_request *r, const struct tmpl_ctx *ctx,
			buf *scratch, buf *out, const uint8_t **bytes,
			size_t *len, char *err, size_t errlen)
{
	switch (r->mode) {
	case BENCH_REQ_STATIC:
		*bytes = r->packed.data;
		*len = r->packed.len;
		return 0;
	case BENCH_REQ_SLOTS:
		buf_reset(scratch);
		for (size_t i = 0; i < r->nslots; i++) {
			r->offsets[i] = scratch->len;
			if (tmpl_render(&r->slots[i].t, ctx, scratch) < 0 ||
			    buf_append_byte(scratch, 0) < 0)
				return err_set(err, errlen, "request data too "
					    "large");
		}
		/* Pointers only now: rendering may have moved scratch. */
		for (size_t i = 0; i < r->nslots; i++)
			*r->slots[i].field = (char *)scratch->data + r->offsets[i];
		if (pack(r->msg, out, err, errlen) < 0)
			return -1;
		*bytes = out->data;
		*len = out->len;
		return 0;
	case BENCH_REQ_TEXT: {
		struct doc_arena a;
		ProtobufCMessage *m;
		int rc;

		buf_reset(scratch);
		if (tmpl_render(&r->text, ctx, scratch) < 0)
			return err_set(err, errlen, "request data too large");
		doc_arena_init(&a);
		m = json_to_msg(&a, r->desc, (const char *)scratch->data,
				scratch->len, err, errlen);
		rc = m ? pack(m, out, err, errlen) : -1;
		doc_arena_release(&a);
		if (rc < 0)
			return -1;
		*bytes = out->data;
		*len = out->len;
		return 0;
	}
	}
	return err_set(err, errlen, "bad request mode");
}

/* ---- metadata ---- */

static int md_add(struct bench_md_list *l, const char *key, size_t klen,
		  const char *value, size_t vlen, char *err, size_t errlen)
{
	char shown[80], *k;
	struct bench_md *n;
	int bin;

	out_sanitize_n(shown, sizeof(shown), key, klen);
	if (klen == 0)
		return err_set(err, errlen, "metadata entry with an empty key");
	if (l->n >= BENCH_MD_MAX)
		return err_set(err, errlen, "too many metadata entries (at most "
			    "%d)", BENCH_MD_MAX);
	k = malloc(klen + 1);
	if (!k)
		return err_set(err, errlen, "out of memory");
	for (size_t i = 0; i < klen; i++) {
		char c = (char)tolower((unsigned char)key[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.')) {
			free(k);
			return err_set(err, errlen, "invalid metadata key '%s' "
				    "(use letters, digits, '-', '_' and '.')",
				    shown);
		}
		k[i] = c;
	}
	k[klen] = '\0';
	if (strncmp(k, "grpc-", 5) == 0 || strcmp(k, "te") == 0 ||
	    strcmp(k, "content-type") == 0 || strcmp(k, "user-agent") == 0) {
		free(k);
		return err_set(err, errlen, "metadata key '%s' is reserved by "
			    "gRPC", shown);
	}
	bin = klen > 4 && strcmp(k + klen - 4, "-bin") == 0;
	for (size_t i = 0; i < vlen && !bin; i++)
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e) {
			free(k);
			return err_set(err, errlen, "metadata '%s' has a value "
				    "that is not printable ASCII (binary "
				    "values need a key ending in -bin)", shown);
		}
	n = realloc(l->v, (l->n + 1) * sizeof(*n));
	if (!n) {
		free(k);
		return err_set(err, errlen, "out of memory");
	}
	l->v = n;
	if (tmpl_compile(&l->v[l->n].value, value, vlen, err, errlen) < 0) {
		free(k);
		return -1;
	}
	l->v[l->n].key = k;
	l->has_actions |= l->v[l->n].value.has_actions;
	l->n++;
	return 0;
}

int bench_md_parse(struct bench_md_list *l, const char *arg, char *err,
		   size_t errlen)
{
	const char *p = arg, *sep;
	char shown[80];

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '{') {
		json_t *obj, *v;
		const char *key;
		json_error_t je;

		obj = json_loads(p, JSON_REJECT_DUPLICATES, &je);
		if (!obj || !json_is_object(obj)) {
			json_decref(obj);
			return err_set(err, errlen, "metadata is not a JSON object "
				    "of strings: %s", obj ? "not an object" :
				    je.text);
		}
		json_object_foreach(obj, key, v) {
			if (!json_is_string(v)) {
				out_sanitize(shown, sizeof(shown), key);
				json_decref(obj);
				return err_set(err, errlen, "metadata '%s' is not "
					    "a string", shown);
			}
			if (md_add(l, key, strlen(key), json_string_value(v),
				   json_string_length(v), err, errlen) < 0) {
				json_decref(obj);
				return -1;
			}
		}
		json_decref(obj);
		return 0;
	}
	sep = strpbrk(arg, "=:");
	if (!sep) {
		out_sanitize(shown, sizeof(shown), arg);
		return err_set(err, errlen, "invalid metadata '%s' (use "
			    "key=value, key: value or a JSON object)", shown);
	}
	{
		const char *k = arg, *ke = sep, *v = sep + 1;

		while (isspace((unsigned char)*k))
			k++;
		while (ke > k && isspace((unsigned char)ke[-1]))
			ke--;
		while (*v == ' ' || *v == '\t')
			v++;
		return md_add(l, k, (size_t)(ke - k), v, strlen(v), err,
			      errlen);
	}
}

void bench_md_release(struct bench_md_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		tmpl_release(&l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- mix ---- */

int bench_mix_parse(const char *spec, struct bench_mix_item *items,
		    size_t max, char *err, size_t errlen)
{
	const char *p = spec;
	size_t n = 0;
	uint64_t total = 0;

	if (!*spec)
		return err_set(err, errlen, "the mix is empty (use "
			    "METHOD:WEIGHT,METHOD:WEIGHT...)");
	while (*p) {
		const char *end = strchr(p, ','), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p), nlen;
		char item[300], shown[96];

		if (len >= sizeof(item))
			len = sizeof(item) - 1;
		memcpy(item, p, len);
		item[len] = '\0';
		out_sanitize(shown, sizeof(shown), item);
		if (n == max)
			return err_set(err, errlen, "the mix has more than %zu "
				    "methods", max);
		colon = strrchr(item, ':');
		nlen = colon ? (size_t)(colon - item) : len;
		while (nlen && isspace((unsigned char)item[nlen - 1]))
			nlen--;
		{
			const char *s = item;

			while (isspace((unsigned char)*s) && nlen) {
				s++;
				nlen--;
			}
			if (!nlen || nlen >= sizeof(items[n].name))
				return err_set(err, errlen, "invalid mix item "
					    "'%s' (use METHOD:WEIGHT)", shown);
			memcpy(items[n].name, s, nlen);
			items[n].name[nlen] = '\0';
		}
		items[n].weight = 1;
		if (colon) {
			char *stop;
			unsigned long w;

			errno = 0;
			w = strtoul(colon + 1, &stop, 10);
			while (isspace((unsigned char)*stop))
				stop++;
			if (errno || stop == colon + 1 || *stop ||
			    !isdigit((unsigned char)colon[1 + strspn(colon + 1, " ")]) ||
			    w < 1 || w > BENCH_MIX_WEIGHT_MAX)
				return err_set(err, errlen, "invalid weight in mix "
					    "item '%s' (use a whole number from "
					    "1 to %d)", shown,
					    BENCH_MIX_WEIGHT_MAX);
			items[n].weight = (unsigned)w;
		}
		total += items[n].weight;
		n++;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return err_set(err, errlen, "the mix ends with ','");
	}
	(void)total;
	return (int)n;
}

size_t bench_mix_sequence(const unsigned *weights, size_t n, uint16_t *seq,
			  size_t max)
{
	int64_t cur[BENCH_MIX_MAX] = { 0 }, total = 0;
	size_t len = 0;

	for (size_t i = 0; i < n && i < BENCH_MIX_MAX; i++)
		total += weights[i];
	for (; len < (size_t)total && len < max; len++) {
		size_t best = 0;

		for (size_t i = 0; i < n && i < BENCH_MIX_MAX; i++) {
			cur[i] += weights[i];
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= total;
		seq[len] = (uint16_t)best;
	}
	return len;
}

/* ---- flag values ---- */

int bench_parse_uint(const char *flag, const char *text, uint64_t min,
		     uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	char shown[64], *stop;
	unsigned long long v;

	out_sanitize(shown, sizeof(shown), text);
	errno = 0;
	v = strtoull(text, &stop, 10);
	if (errno || stop == text || *stop || !isdigit((unsigned char)*text) ||
	    v < min || v > max)
		return err_set(err, errlen, "invalid number '%s' for '%s' (use "
			    "%llu to %llu)", shown, flag,
			    (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int bench_parse_number(const char *flag, const char *text, int allow_negative,
		       double *out, char *err, size_t errlen)
{
	char shown[64], *stop;
	const char *p = text;
	double v;

	out_sanitize(shown, sizeof(shown), text);
	if (*p == '-' && allow_negative)
		p++;
	/* Plain decimal only: strtod alone takes hex, "inf" and blanks. */
	if (!isdigit((unsigned char)*p) || strpbrk(text, "xXnNiIeE \t")) {
		v = NAN;
	} else {
		errno = 0;
		v = strtod(text, &stop);
		if (errno || *stop)
			v = NAN;
	}
	if (!isfinite(v) || v > 1e9 || (!allow_negative && v < 0))
		return err_set(err, errlen, "invalid number '%s' for '%s' (use %s "
			    "number such as 100 or 0.5)", shown, flag,
			    allow_negative ? "a" : "a positive");
	*out = v;
	return 0;
}

int bench_parse_duration(const char *flag, const char *text, int allow_zero,
			 uint64_t *ns, char *err, size_t errlen)
{
	char shown[64];
	uint64_t ms;

	if (allow_zero && strcmp(text, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (duration_parse_ms(text, &ms) < 0 || ms > UINT64_C(1) << 40) {
		out_sanitize(shown, sizeof(shown), text);
		return err_set(err, errlen, "invalid duration '%s' for '%s' (use a "
			    "positive number with a unit: 500ms, 2s, 1.5s, "
			    "1m%s)", shown, flag, allow_zero ? "; 0 for none" : "");
	}
	*ns = ms * 1000000;
	return 0;
}
