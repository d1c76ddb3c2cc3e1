#include "vcli/status.h"

#include <stdlib.h>
#include <strings.h>

static const char *const status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *vcli_status_name(int code)
{
	if (code < 0 || code > 16)
		return "UNKNOWN";
	return status_names[code];
}

int vcli_status_parse(const char *text)
{
	char *end;
	long v;

	for (int i = 0; i <= 16; i++)
		if (strcasecmp(text, status_names[i]) == 0)
			return i;
	v = strtol(text, &end, 10);
	if (*text && !*end && v >= 0 && v <= 16)
		return (int)v;
	return -1;
}
