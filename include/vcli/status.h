/*
 * vcli: gRPC status codes, as the gRPC protocol defines them
 * (doc/statuscodes.md of the gRPC project).  The numbers are wire values and
 * never change.
 */
#ifndef VCLI_STATUS_H
#define VCLI_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vcli_status_code {
	VCLI_STATUS_OK = 0,
	VCLI_STATUS_CANCELLED = 1,
	VCLI_STATUS_UNKNOWN = 2,
	VCLI_STATUS_INVALID_ARGUMENT = 3,
	VCLI_STATUS_DEADLINE_EXCEEDED = 4,
	VCLI_STATUS_NOT_FOUND = 5,
	VCLI_STATUS_ALREADY_EXISTS = 6,
	VCLI_STATUS_PERMISSION_DENIED = 7,
	VCLI_STATUS_RESOURCE_EXHAUSTED = 8,
	VCLI_STATUS_FAILED_PRECONDITION = 9,
	VCLI_STATUS_ABORTED = 10,
	VCLI_STATUS_OUT_OF_RANGE = 11,
	VCLI_STATUS_UNIMPLEMENTED = 12,
	VCLI_STATUS_INTERNAL = 13,
	VCLI_STATUS_UNAVAILABLE = 14,
	VCLI_STATUS_DATA_LOSS = 15,
	VCLI_STATUS_UNAUTHENTICATED = 16,
} vcli_status_code;

/* Upper-case canonical name ("DEADLINE_EXCEEDED"); "UNKNOWN" for codes
 * outside 0..16.  The string is static. */
const char *vcli_status_name(int code);

/* Parses a canonical name (case-insensitive) or a decimal code.  Returns the
 * code, or -1 when the text names no status. */
int vcli_status_parse(const char *text);

#ifdef __cplusplus
}
#endif
#endif
