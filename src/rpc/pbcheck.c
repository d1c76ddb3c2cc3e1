/*
 * The string fields of a request, checked on the wire (see pbcheck.h).
 * The walk follows the message's descriptor: known string fields are
 * checked, known message fields (map entries among them) walked into,
 * everything else skipped by its wire type.
 */
#include "rpc/pbcheck.h"

#include <stdio.h>
#include <string.h>

#include "common/utf8.h"

#define DEPTH_MAX 32      /* deeper than any message of ours: protobuf-c decides */
#define COUNTED_FIELDS 64 /* fields per message whose occurrences are numbered */

struct walk {
	char path[256];
	size_t len;
	char *err;
	size_t errlen;
};

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* What is wrong with the text at s: NULL when nothing. */
static const char *text_fault(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k;

		if (s[i] < 0x80) {
			if (!s[i])
				return "contains a NUL character";
			i++;
			continue;
		}
		if (!(k = utf8_seq_len(s + i, n - i)))
			return "is not valid UTF-8";
		i += k;
	}
	return NULL;
}

/* Appends "name" (after a dot below the top) and "[index]" when index >=
 * 0; returns the length to go back to. */
static size_t path_push(struct walk *w, const char *name, int index)
{
	size_t old = w->len, room = sizeof(w->path) - w->len;
	int k;

	if (index >= 0)
		k = snprintf(w->path + w->len, room, "%s%s[%d]", w->len ? "." : "", name, index);
	else
		k = snprintf(w->path + w->len, room, "%s%s", w->len ? "." : "", name);
	if (k > 0)
		w->len += (size_t)k < room ? (size_t)k : room - 1;
	return old;
}

static int walk(struct walk *w, const ProtobufCMessageDescriptor *d, const uint8_t *p,
		const uint8_t *end, int depth)
{
	uint32_t seen[COUNTED_FIELDS] = { 0 };

	if (depth > DEPTH_MAX)
		return 0;
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		uint64_t key, len;
		const char *fault;
		size_t old;
		int index = -1;

		if (get_varint(&p, end, &key) < 0)
			return 0;
		/* No parser takes field number 0, but protobuf-c does when its
		 * tag is written in more bytes than needed (0x80 0x00): it
		 * keeps it as an unknown field and packs it back as a plain
		 * 0x00, which it then refuses itself.  A decision stored that
		 * way could not be read back. */
		if (key >> 3 == 0) {
			snprintf(w->err, w->errlen, "%s has a field numbered 0",
				 w->len ? w->path : "the request");
			return -2;
		}
		switch (key & 7) {
		case 0:
			if (get_varint(&p, end, &len) < 0)
				return 0;
			continue;
		case 1:
			if (end - p < 8)
				return 0;
			p += 8;
			continue;
		case 5:
			if (end - p < 4)
				return 0;
			p += 4;
			continue;
		case 2:
			break;
		default:
			return 0;   /* groups: not in proto3, protobuf-c decides */
		}
		if (get_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
			return 0;
		f = key >> 3 <= UINT32_MAX ?
			    protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
		if (!f || (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)) {
			p += len;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t fi = (size_t)(f - d->fields);

			if (fi < COUNTED_FIELDS)
				index = (int)seen[fi]++;
		}
		old = path_push(w, f->name, index);
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if ((fault = text_fault(p, (size_t)len))) {
				snprintf(w->err, w->errlen, "%s %s", w->path, fault);
				return -1;
			}
		} else {
			int rc = walk(w, f->descriptor, p, p + len, depth + 1);

			if (rc < 0)
				return rc;
		}
		w->len = old;
		w->path[old] = '\0';
		p += len;
	}
	return 0;
}

int pb_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
		     char *err, size_t errlen)
{
	struct walk w;

	w.path[0] = '\0';
	w.len = 0;
	w.err = err;
	w.errlen = errlen;
	if (errlen)
		err[0] = '\0';
	return n ? walk(&w, desc, p, p + n, 0) : 0;
}
