/*
 * Private to the fuzz targets: the checks each governance handler runs on
 * its request before it asks the store, in the handler's order (see
 * gov_checks.c).  Shared by fuzz_gov_request.c and the test service of
 * fuzz_server_h2.c.
 */
#ifndef VCLI_FUZZ_GOV_CHECKS_H
#define VCLI_FUZZ_GOV_CHECKS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* The store's last sequence number as the checks assume it (StreamDecisions'
 * resume_after may not pass it). */
#define FUZZ_LAST_SEQ 1000u

/*
 * Runs the checks of method ("SubmitDecision": a method name of
 * vertice.governance.v1.GovernanceService) on req, unpacked with that
 * method's input descriptor.  Returns the status the handler would answer
 * before it asks the store, VCLI_STATUS_OK when it would go on to the
 * store, with the refusal's message in err.  Aborts for a method it has no
 * checks for (a method added to the .proto: add its row).
 */
int fuzz_gov_check(const char *method, const ProtobufCMessage *req, char *err,
		   size_t errlen);

#endif
