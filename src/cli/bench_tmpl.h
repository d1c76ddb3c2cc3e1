/*
 * Private to vcli bench: template variables in request data and metadata,
 * so that every request can carry its own values (an idempotency key, a
 * request id).  Pure: the caller passes everything that varies.
 *
 * An action is "{{" ... "}}" with optional blanks inside, as in ghz:
 *   {{.RequestNumber}}       the request's number, from 0 (warm-up first)
 *   {{.WorkerID}}            the worker's number, from 0
 *   {{.UUID}}, {{newUUID}}   a random version 4 UUID
 *   {{.Timestamp}}           wall clock, RFC 3339 with nanoseconds
 *   {{.TimestampUnix}}, {{.TimestampUnixMilli}}, {{.TimestampUnixNano}}
 *   {{.FullyQualifiedName}}  "pkg.Service.Method"
 *   {{.MethodName}}, {{.ServiceName}}, {{.InputName}}, {{.OutputName}}
 *   {{randomString N}}       N random letters and digits (N <= 1024)
 *   {{randomInt MIN MAX}}    a random integer in [MIN, MAX)
 * Every other "{{...}}" is an error at compile time, never sent as text.
 */
#ifndef VCLI_CLI_BENCH_TMPL_H
#define VCLI_CLI_BENCH_TMPL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum tmpl_op {
	TMPL_TEXT,
	TMPL_REQUEST_NUMBER,
	TMPL_WORKER_ID,
	TMPL_UUID,
	TMPL_TIMESTAMP,
	TMPL_TS_UNIX,
	TMPL_TS_UNIX_MILLI,
	TMPL_TS_UNIX_NANO,
	TMPL_FQN,
	TMPL_METHOD_NAME,
	TMPL_SERVICE_NAME,
	TMPL_INPUT_NAME,
	TMPL_OUTPUT_NAME,
	TMPL_RANDOM_STRING,
	TMPL_RANDOM_INT,
};

struct tmpl_part {
	enum tmpl_op op;
	size_t off, len;     /* TMPL_TEXT: bytes of tmpl.text */
	int64_t a, b;        /* arguments of randomString / randomInt */
};

/* A compiled template.  Owns a copy of the text. */
struct tmpl {
	char *text;
	size_t len;
	struct tmpl_part *parts;
	size_t nparts;
	int has_actions;     /* 0: rendering gives text back unchanged */
};

/* What a rendering may use. */
struct tmpl_ctx {
	uint64_t request_number;
	unsigned worker_id;
	const char *service;      /* "vertice.governance.v1.GovernanceService" */
	const char *method;       /* "HealthCheck" */
	const char *input;        /* "vertice.governance.v1.HealthCheckRequest" */
	const char *output;
	int64_t wall_sec;         /* wall clock of the request */
	int32_t wall_nsec;
	uint64_t *rng;            /* PRNG state (tmpl_rand) */
};

/* Finds the actions of len bytes of text.  Returns 0, or -1 with a message
 * that quotes the bad action.  Release with tmpl_release(). */
int tmpl_compile(struct tmpl *t, const char *text, size_t len, char *err,
		 size_t errlen);
void tmpl_release(struct tmpl *t);

/* 1 when text holds "{{" (anything tmpl_compile() would treat). */
int tmpl_has_actions(const char *text, size_t len);

/* Appends the rendering to out.  Returns 0, or -1 when out's cap is
 * reached. */
int tmpl_render(const struct tmpl *t, const struct tmpl_ctx *ctx, buf *out);

/* A fast non-cryptographic generator (splitmix64) for the random actions
 * and UUIDs; *state may start anywhere. */
uint64_t tmpl_rand(uint64_t *state);

#endif
