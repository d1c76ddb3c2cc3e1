/*
 * Fuzz target: every governance method's request as governd takes it in:
 * the transport checks its string fields on the wire (src/rpc/pbcheck.c)
 * and protobuf-c unpacks the message with the method's input descriptor
 * (what call_dispatch does), then the request goes through the checks its
 * handler runs before it asks the store (src/server/checks.c, the
 * handlers' own).
 *
 * Input: byte 0 picks the method (modulo the number of methods of
 * vertice.governance.v1.GovernanceService, in .proto order); the rest is
 * the request message as it arrives in the gRPC frame.
 *
 * Checked beyond memory safety: a refusal always says why, and the why
 * survives the grpc-message percent-encoding both ways; an accepted
 * proposal packs and unpacks as the store will do it (the transport now
 * refuses a field numbered 0, which protobuf-c took in an overlong
 * encoding and packed into bytes it then refused: corpus/gov_request/
 * regress-field-number-0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "governance.pb-c.h"
#include "gov_checks.h"
#include "rpc/pbcheck.h"
#include "vcli/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

typedef Vertice__Governance__V1__SubmitDecisionRequest submit_req;

/* The refusal travels as grpc-message: percent-encoded by the server
 * (server.c submit_trailers) and decoded by the client (client.c
 * on_header), with the same buffer sizes. */
static void check_message_travels(const char *err)
{
	char wire[1024], back[512];
	size_t n = strlen(err);

	pct_encode(err, n, wire, sizeof(wire));
	CHECK(strlen(wire) < sizeof(wire));
	pct_decode(wire, strlen(wire), back, sizeof(back));
	/* A message that fits both buffers comes back as it was. */
	if (n * 3 < sizeof(wire) && n < sizeof(back))
		CHECK(strcmp(back, err) == 0);
}

/* What gov_submit hands the store: the decision, packed again. */
static void check_proposal_packs(const ProtobufCMessage *m)
{
	const submit_req *r = (const submit_req *)m;
	Vertice__Governance__V1__Decision *d;
	size_t len = vertice__governance__v1__decision__get_packed_size(r->decision);
	uint8_t *p = malloc(len ? len : 1);

	if (!p)
		return;
	CHECK(vertice__governance__v1__decision__pack(r->decision, p) == len);
	d = vertice__governance__v1__decision__unpack(NULL, len, p);
	CHECK(d);
	CHECK(strcmp(d->operation_type, r->decision->operation_type) == 0);
	vertice__governance__v1__decision__free_unpacked(d, NULL);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCServiceDescriptor *svc =
		&vertice__governance__v1__governance_service__descriptor;
	const ProtobufCMethodDescriptor *md;
	ProtobufCMessage *req;
	char err[256];
	int status;

	if (size < 1)
		return 0;
	md = &svc->methods[data[0] % svc->n_methods];
	if (pb_check_strings(md->input, data + 1, size - 1, err, sizeof(err)) < 0) {
		/* INVALID_ARGUMENT, naming the field */
		CHECK(err[0]);
		check_message_travels(err);
		return 0;
	}
	req = protobuf_c_message_unpack(md->input, NULL, size - 1, data + 1);
	if (!req)
		return 0; /* the transport answers "cannot decode request message" */
	err[0] = '\0';
	status = fuzz_gov_check(md->name, req, err, sizeof(err));
	if (status != VCLI_STATUS_OK) {
		CHECK(err[0]);
		check_message_travels(err);
	} else if (strcmp(md->name, "SubmitDecision") == 0) {
		check_proposal_packs(req);
	}
	protobuf_c_message_free_unpacked(req, NULL);
	return 0;
}
