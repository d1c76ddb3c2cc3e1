/*
 * Private to the fuzz targets: the checks each governance handler runs on
 * its request before it asks the store -- governd's own
 * (src/server/checks.c), called the way the handlers call them.  Shared by
 * fuzz_gov_request.c and the test service of fuzz_server_h2.c.
 */
#ifndef VCLI_FUZZ_GOV_CHECKS_H
#define VCLI_FUZZ_GOV_CHECKS_H

#include <stddef.h>
#include <stdlib.h>

#include <protobuf-c/protobuf-c.h>

#include "server/checks.h"

/* The store's last sequence number as the checks assume it (StreamDecisions'
 * resume_after may not pass it). */
#define FUZZ_LAST_SEQ 1000u

/*
 * The status the handler of method ("SubmitDecision") would answer req
 * before it asks the store, VCLI_STATUS_OK when it would go on, with the
 * refusal's message in err.  Aborts for a name governd does not check (a
 * method added to the .proto without its checks).
 */
static inline int fuzz_gov_check(const char *method, const ProtobufCMessage *req, char *err,
				 size_t errlen)
{
	int status = gov_check_request(method, req, FUZZ_LAST_SEQ, err, errlen);

	if (status < 0)
		abort();
	return status;
}

#endif
