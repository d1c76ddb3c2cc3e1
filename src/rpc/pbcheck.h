/*
 * Private: the string fields of a request, checked on the wire before
 * protobuf-c unpacks it (server.c, call_dispatch).
 *
 * proto3 says a string field holds UTF-8; parsers in Go, Python and C++
 * refuse one that does not, so a string stored as it came would later
 * break their clients' answers.  protobuf-c neither checks that nor keeps
 * a string's length: it hands strings over NUL-terminated, so a value
 * with a NUL in it would be cut short there without a word.  Both are
 * refused here, for every method, with the field's path; so is a field
 * numbered 0, which protobuf-c lets through in one encoding and then
 * cannot read back once packed again.
 */
#ifndef VCLI_RPC_PBCHECK_H
#define VCLI_RPC_PBCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Walks the n bytes at p as a message of type desc: every string field,
 * in nested messages, repeated fields and map entries too, must be
 * well-formed UTF-8 without a NUL (else -1), and no field may be
 * numbered 0 (else -2: not a message at all).  0 when all is well; on
 * -1 and -2 err names the field (e.g. "decision.ethical_assessment.
 * principles[0].explanation is not valid UTF-8").  Bytes that are not a
 * well-formed message otherwise are not its business: it stops there and
 * returns 0, and protobuf-c's unpack refuses them.
 */
int pb_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
		     char *err, size_t errlen);

#endif
