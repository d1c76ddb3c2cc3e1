/*
 * The string fields of a request, checked on the wire (see pbcheck.h).
 * The walk follows the message's descriptor: known string fields are
 * checked, known message fields (map entries among them) walked into,
 * everything else skipped by its wire type.
 */
#include "rpc/pbcheck.h"

#include <stdio.h>
#include <string.h>

#include "common/pbraw.h"
#include "common/utf8.h"

#define DEPTH_MAX 32      /* deeper than any message of ours: protobuf-c decides */
#define COUNTED_FIELDS 64 /* fields per message whose occurrences are numbered */

/* The fields from the top down to the one being looked at; the path is
 * only written out for a fault (formatting it per field was most of the
 * walk's time). */
struct walk {
	struct {
		const char *name;
		int index;      /* -1: not repeated */
	} at[DEPTH_MAX + 2];
	int depth;
	char *err;
	size_t errlen;
};

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

/* err = "<path> <what>", the path as "a.b[2].c" ("the request" at the
 * top), cut to fit. */
static void fail(struct walk *w, const char *what)
{
	size_t o = 0;

	if (!w->errlen)
		return;
	w->err[0] = '\0';
	if (!w->depth)
		o = (size_t)snprintf(w->err, w->errlen, "the request");
	for (int i = 0; i < w->depth && o < w->errlen; i++) {
		if (w->at[i].index >= 0)
			o += (size_t)snprintf(w->err + o, w->errlen - o, "%s%s[%d]", i ? "." : "",
					      w->at[i].name, w->at[i].index);
		else
			o += (size_t)snprintf(w->err + o, w->errlen - o, "%s%s", i ? "." : "",
					      w->at[i].name);
	}
	if (o < w->errlen)
		snprintf(w->err + o, w->errlen - o, " %s", what);
}

static int walk(struct walk *w, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
	uint16_t seen[COUNTED_FIELDS] = { 0 };
	size_t pos = 0;

	if (w->depth > DEPTH_MAX)
		return 0;
	while (pos < n) {
		const ProtobufCFieldDescriptor *f;
		const uint8_t *body;
		uint64_t key, len;
		const char *fault;
		int index = -1;

		if (pb_get_varint(p, n, &pos, &key) < 0)
			return 0;
		/* No parser takes field number 0, but protobuf-c does when its
		 * tag is written in more bytes than needed (0x80 0x00): it
		 * keeps it as an unknown field and packs it back as a plain
		 * 0x00, which it then refuses itself.  A decision stored that
		 * way could not be read back. */
		if (key >> 3 == 0) {
			fail(w, "has a field numbered 0");
			return -2;
		}
		/* Malformed, or a group (not in proto3): protobuf-c decides. */
		if (pb_skip_value(p, n, &pos, key, &len) < 0)
			return 0;
		if ((key & 7) != 2)
			continue;
		body = p + pos - len;
		f = key >> 3 <= UINT32_MAX ?
			    protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
		if (!f || (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t fi = (size_t)(f - d->fields);

			if (fi < COUNTED_FIELDS && seen[fi] < UINT16_MAX)
				index = (int)seen[fi]++;
		}
		w->at[w->depth].name = f->name;
		w->at[w->depth].index = index;
		w->depth++;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if ((fault = text_fault(body, (size_t)len))) {
				fail(w, fault);
				return -1;
			}
		} else {
			int rc = walk(w, f->descriptor, body, (size_t)len);

			if (rc < 0)
				return rc;
		}
		w->depth--;
	}
	return 0;
}

int pb_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
		     char *err, size_t errlen)
{
	struct walk w;

	w.depth = 0;
	w.err = err;
	w.errlen = errlen;
	if (errlen)
		err[0] = '\0';
	return n ? walk(&w, desc, p, n) : 0;
}
