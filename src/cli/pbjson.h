/*
 * Private to vcli: the protobuf canonical JSON mapping, both ways, for any
 * protobuf-c message (driven by its descriptor, so a new field in the
 * .proto needs no code here).
 *
 * Out: a message becomes a struct doc (doc.h) that the json and yaml output
 * formats write: lowerCamelCase keys, default values omitted, 64-bit
 * integers as strings, enums as names, google.protobuf.Timestamp as an RFC
 * 3339 string in UTC with a 'Z', bytes as base64, maps as objects.
 *
 * In: a jansson value becomes a message built in a doc_arena, accepting
 * both the lowerCamelCase and the original field names, and refusing
 * unknown fields, wrong types and out-of-range numbers with a message that
 * names the JSON path ("riskAssessment.score: expected a number, got
 * \"high\"").
 */
#ifndef VCLI_CLI_PBJSON_H
#define VCLI_CLI_PBJSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "cli/doc.h"

/* Options of pbjson_to_doc(). */
enum {
	/* Write enum fields even when they hold their default (zero)
	 * value, so that {"type":"NEW_DECISION"} is never just {}. */
	PBJSON_ENUMS_ALWAYS = 1 << 0,
};

/* The message as a document (see above).  NULL when memory ran out. */
struct doc *pbjson_to_doc(struct doc_arena *a, const ProtobufCMessage *m,
			  unsigned flags);

/*
 * Builds a message of type desc from v in arena a.  Returns the message, or
 * NULL with "path: what is wrong" in err.  The message and everything in it
 * live in the arena: pack it, then release the arena; never pass it to
 * protobuf_c_message_free_unpacked().
 */
ProtobufCMessage *pbjson_from_json(struct doc_arena *a,
				   const ProtobufCMessageDescriptor *desc,
				   const json_t *v, char *err, size_t errlen);

/* "decision_id" -> "decisionId", as protoc derives json_name. */
void pbjson_camel(const char *name, char *out, size_t outlen);

/*
 * RFC 3339 in UTC: "2024-05-01T12:00:00Z", with 3, 6 or 9 fraction digits
 * when nanos needs them.  out needs 40 bytes.  Years outside 1..9999 are
 * clamped into range.
 */
void pbjson_format_time(int64_t seconds, int32_t nanos, char *out,
			size_t outlen);

/*
 * Parses an RFC 3339 timestamp ("2024-05-01T12:00:00Z",
 * "2024-05-01T14:00:00.5+02:00"), years 0001-9999, 0-9 fraction digits.
 * Returns 0, or -1 when text is not one.
 */
int pbjson_parse_time(const char *text, int64_t *seconds, int32_t *nanos);

#endif
