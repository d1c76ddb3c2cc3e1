/*
 * Private to vcli bench: what a benchmark sends, from the command line to
 * protobuf bytes.  Pure: no network, no clock, no files.
 *
 *   - methods, resolved by name from the protobuf-c service descriptors of
 *     the governance service and grpc.health.v1;
 *   - request data, protobuf canonical JSON (pbjson.h) with template
 *     actions (bench_tmpl.h), packed once when it never changes;
 *   - metadata, "key=value" or a JSON object, values may hold actions;
 *   - a weighted mix of methods;
 *   - the numeric flag values, checked with messages that name the flag
 *     and the value.
 */
#ifndef VCLI_CLI_BENCH_INPUT_H
#define VCLI_CLI_BENCH_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "cli/bench_tmpl.h"
#include "cli/doc.h"
#include "common/buf.h"

/* ---- methods ---- */

struct bench_method {
	const ProtobufCServiceDescriptor *service;
	const ProtobufCMethodDescriptor *method;
	char path[260];  /* "/vertice.governance.v1.GovernanceService/HealthCheck" */
	char full[256];  /* the same without the leading '/' */
};

/*
 * Finds a unary method by name: "HealthCheck", "Check",
 * "GovernanceService/HealthCheck", "grpc.health.v1.Health/Check",
 * "grpc.health.v1.Health.Check" (a leading '/' is allowed).  Returns 0, or
 * -1 with a message naming name (unknown, ambiguous, or server-streaming).
 */
int bench_method_resolve(const char *name, struct bench_method *out,
			 char *err, size_t errlen);

/* ---- request data ---- */

enum bench_req_mode {
	BENCH_REQ_STATIC,  /* packed once */
	BENCH_REQ_SLOTS,   /* actions only inside string fields: those fields
			      are rendered and the message packed per request */
	BENCH_REQ_TEXT,    /* actions elsewhere: the JSON text is rendered and
			      converted per request (slower) */
};

struct bench_slot {
	char **field;      /* the string field in msg */
	struct tmpl t;
};

struct bench_request {
	const ProtobufCMessageDescriptor *desc;
	enum bench_req_mode mode;
	buf packed;                  /* STATIC */
	struct doc_arena arena;      /* SLOTS: msg lives here */
	ProtobufCMessage *msg;
	struct bench_slot *slots;
	size_t nslots;
	size_t *offsets;             /* SLOTS: where each slot's text went */
	struct tmpl text;            /* TEXT */
};

/* The largest request message built (the server's default limit). */
#define BENCH_REQUEST_MAX (4u * 1024 * 1024)

/*
 * Prepares requests of type desc from len bytes of JSON (json NULL or
 * blank: the empty message).  A request that cannot be built (bad JSON, an
 * unknown field, a bad action) is an error here, with a message that names
 * the JSON path; sample is the context used to try a per-request rendering
 * once.  Returns 0 or -1.  Release with bench_request_release().
 */
int bench_request_init(struct bench_request *r,
		       const ProtobufCMessageDescriptor *desc,
		       const char *json, size_t len,
		       const struct tmpl_ctx *sample, char *err,
		       size_t errlen);
void bench_request_release(struct bench_request *r);

/*
 * The request's bytes for ctx.  scratch and out are the caller's reusable
 * buffers; *bytes points into r (STATIC) or out, valid until the next
 * call.  Returns 0, or -1 with a message (only TEXT requests can fail once
 * prepared, and only when memory or a cap runs out).
 */
int bench_request_build(struct bench_request *r, const struct tmpl_ctx *ctx,
			buf *scratch, buf *out, const uint8_t **bytes,
			size_t *len, char *err, size_t errlen);

/* ---- metadata ---- */

struct bench_md {
	char *key;           /* lower case */
	struct tmpl value;
};

struct bench_md_list {
	struct bench_md *v;
	size_t n;
	int has_actions;
};

/* The most metadata entries a benchmark sends. */
#define BENCH_MD_MAX 64

/*
 * Adds the entries of one -m argument: "key=value", "key: value" or a JSON
 * object of string values.  Returns 0, or -1 with a message quoting the
 * bad entry.  Release the list with bench_md_release().
 */
int bench_md_parse(struct bench_md_list *l, const char *arg, char *err,
		   size_t errlen);
void bench_md_release(struct bench_md_list *l);

/* ---- mix ---- */

struct bench_mix_item {
	char name[256];
	unsigned weight;
};

#define BENCH_MIX_MAX 16
#define BENCH_MIX_WEIGHT_MAX 10000

/*
 * Parses "HealthCheck:60,ListPendingDecisions:20,GetMetrics:20" (a
 * missing weight is 1).  Returns the number of items, or -1 with a
 * message quoting the bad item.
 */
int bench_mix_parse(const char *spec, struct bench_mix_item *items,
		    size_t max, char *err, size_t errlen);

/*
 * Spreads the weights over a cycle of sum(weights) slots, interleaved
 * (smooth weighted round robin): 60/20/20 gives A A B A C A ... never a
 * run of one method.  seq gets sum(weights) entries (indexes into
 * weights).  Returns the cycle length.
 */
size_t bench_mix_sequence(const unsigned *weights, size_t n, uint16_t *seq,
			  size_t max);

/* ---- flag values ---- */

/* An integer in [min, max] for flag: "invalid number 'x' for '-n' (use 1
 * to 1000000)".  Returns 0 or -1. */
int bench_parse_uint(const char *flag, const char *text, uint64_t min,
		     uint64_t max, uint64_t *out, char *err, size_t errlen);

/* A decimal number (a rate, a step), negative only when allow_negative.
 * Returns 0 or -1. */
int bench_parse_number(const char *flag, const char *text, int allow_negative,
		       double *out, char *err, size_t errlen);

/* A duration (500ms, 2s), or "0" for none when allow_zero.  Writes
 * nanoseconds.  Returns 0 or -1. */
int bench_parse_duration(const char *flag, const char *text, int allow_zero,
			 uint64_t *ns, char *err, size_t errlen);

#endif
