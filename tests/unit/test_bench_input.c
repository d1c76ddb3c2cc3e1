/* vcli bench's input: methods by name, request data with templates,
 * metadata, the mix, and the messages bad flag values get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/bench_input.h"
#include "governance.pb-c.h"

static void methods(void **state)
{
	static const char *const names[] = {
		"ApproveDecision",
		"GovernanceService/ApproveDecision",
		"vertice.governance.v1.GovernanceService/ApproveDecision",
		"/vertice.governance.v1.GovernanceService/ApproveDecision",
		"vertice.governance.v1.GovernanceService.ApproveDecision",
	};
	struct bench_method m;
	char err[1024];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (bench_method_resolve(names[i], &m, err, sizeof(err)) < 0)
			fail_msg("%s: %s", names[i], err);
		assert_string_equal(m.path,
			"/vertice.governance.v1.GovernanceService/ApproveDecision");
		assert_ptr_equal(m.method->input,
			&vertice__governance__v1__approve_decision_request__descriptor);
	}
	assert_int_equal(bench_method_resolve("Check", &m, err, sizeof(err)), 0);
	assert_string_equal(m.full, "grpc.health.v1.Health/Check");
	assert_int_equal(bench_method_resolve("grpc.health.v1.Health/Check", &m,
					      err, sizeof(err)), 0);

	assert_int_equal(bench_method_resolve("HealthChek", &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown method 'HealthChek'"));
	assert_non_null(strstr(err, "HealthCheck"));
	assert_int_equal(bench_method_resolve("grpc.health.v1.Health/HealthCheck",
					      &m, err, sizeof(err)), -1);
	assert_int_equal(bench_method_resolve("StreamDecisions", &m, err,
					      sizeof(err)), -1);
	assert_non_null(strstr(err, "streams"));
	assert_int_equal(bench_method_resolve("Watch", &m, err, sizeof(err)), -1);
}

static struct tmpl_ctx ctx_for(uint64_t n, uint64_t *rng)
{
	struct tmpl_ctx c;

	memset(&c, 0, sizeof(c));
	c.request_number = n;
	c.rng = rng;
	c.method = "SubmitDecision";
	return c;
}

static Vertice__Governance__V1__SubmitDecisionRequest *build_submit(
	struct bench_request *r, uint64_t n, buf *scratch, buf *out)
{
	uint64_t rng = 1;
	struct tmpl_ctx c = ctx_for(n, &rng);
	const uint8_t *b;
	size_t len;
	char err[512];

	if (bench_request_build(r, &c, scratch, out, &b, &len, err, sizeof(err)) < 0)
		fail_msg("build: %s", err);
	return vertice__governance__v1__submit_decision_request__unpack(NULL, len, b);
}

static void request_modes(void **state)
{
	const ProtobufCMessageDescriptor *d =
		&vertice__governance__v1__submit_decision_request__descriptor;
	struct bench_request r;
	buf scratch = BUF_INIT(1 << 20), out = BUF_INIT(1 << 20);
	Vertice__Governance__V1__SubmitDecisionRequest *m;
	uint64_t rng = 1;
	struct tmpl_ctx c0 = ctx_for(0, &rng);
	char err[512];
	const char *fixed = "{\"decision\":{\"operationType\":\"block_ip\","
			    "\"slaSeconds\":60},\"idempotencyKey\":\"k\"}";
	const char *slots = "{\"decision\":{\"operation_type\":\"op-{{.MethodName}}\","
			    "\"context\":{\"n\":\"{{.RequestNumber}}\"}},"
			    "\"idempotencyKey\":\"key-{{.RequestNumber}}\"}";
	const char *text = "{\"decision\":{\"operationType\":\"x\","
			   "\"slaSeconds\":{{.RequestNumber}}}}";

	/* No actions: packed once. */
	assert_int_equal(bench_request_init(&r, d, fixed, strlen(fixed), &c0, err,
					    sizeof(err)), 0);
	assert_int_equal(r.mode, BENCH_REQ_STATIC);
	m = build_submit(&r, 5, &scratch, &out);
	assert_non_null(m);
	assert_string_equal(m->idempotency_key, "k");
	assert_int_equal(m->decision->sla_seconds, 60);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	bench_request_release(&r);

	/* Actions in string fields (map values too): those are re-rendered. */
	assert_int_equal(bench_request_init(&r, d, slots, strlen(slots), &c0, err,
					    sizeof(err)), 0);
	assert_int_equal(r.mode, BENCH_REQ_SLOTS);
	assert_int_equal(r.nslots, 3);
	for (uint64_t n = 0; n < 3; n++) {
		char want[32];

		m = build_submit(&r, n, &scratch, &out);
		assert_non_null(m);
		snprintf(want, sizeof(want), "key-%llu", (unsigned long long)n);
		assert_string_equal(m->idempotency_key, want);
		assert_string_equal(m->decision->operation_type, "op-SubmitDecision");
		assert_int_equal(m->decision->n_context, 1);
		assert_string_equal(m->decision->context[0]->value, want + 4);
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	bench_request_release(&r);

	/* An action where a number goes: the text is converted per request. */
	assert_int_equal(bench_request_init(&r, d, text, strlen(text), &c0, err,
					    sizeof(err)), 0);
	assert_int_equal(r.mode, BENCH_REQ_TEXT);
	m = build_submit(&r, 77, &scratch, &out);
	assert_non_null(m);
	assert_int_equal(m->decision->sla_seconds, 77);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	bench_request_release(&r);

	/* Empty data: the empty message. */
	assert_int_equal(bench_request_init(&r, d, NULL, 0, &c0, err, sizeof(err)), 0);
	m = build_submit(&r, 0, &scratch, &out);
	assert_non_null(m);
	assert_null(m->decision);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	bench_request_release(&r);

	buf_release(&scratch);
	buf_release(&out);
}

static void request_errors(void **state)
{
	const ProtobufCMessageDescriptor *d =
		&vertice__governance__v1__list_pending_decisions_request__descriptor;
	struct bench_request r;
	uint64_t rng = 1;
	struct tmpl_ctx c0 = ctx_for(0, &rng);
	const char *json;
	char err[512];

	assert_int_equal(bench_request_init(&r, d, "{\"limit\":", 9, &c0, err,
					    sizeof(err)), -1);
	assert_non_null(strstr(err, "not valid JSON"));
	assert_int_equal(bench_request_init(&r, d, "{\"limt\":10}", 11, &c0, err,
					    sizeof(err)), -1);
	assert_non_null(strstr(err, "limt: unknown field"));
	assert_int_equal(bench_request_init(&r, d, "{\"limit\":\"ten\"}", 15, &c0,
					    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "limit"));
	assert_int_equal(bench_request_init(&r, d, "{\"status\":\"{{.Bad}}\"}", 20,
					    &c0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "{{.Bad}}"));
	/* Renders, but never to valid data. */
	json = "{\"limit\":\"x{{.RequestNumber}}\"}";
	assert_int_equal(bench_request_init(&r, d, json, strlen(json), &c0, err,
					    sizeof(err)), -1);
	assert_non_null(strstr(err, "limit"));
}

static void metadata(void **state)
{
	struct bench_md_list l;
	char err[512];

	memset(&l, 0, sizeof(l));
	assert_int_equal(bench_md_parse(&l, "X-Tenant=blue", err, sizeof(err)), 0);
	assert_int_equal(bench_md_parse(&l, "request-id: r-{{.RequestNumber}}", err,
					sizeof(err)), 0);
	assert_int_equal(bench_md_parse(&l, "{\"a\":\"1\",\"b\":\"2\"}", err,
					sizeof(err)), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].key, "x-tenant");
	assert_string_equal(l.v[0].value.text, "blue");
	assert_string_equal(l.v[1].key, "request-id");
	assert_true(l.has_actions);
	assert_string_equal(l.v[3].key, "b");

	assert_int_equal(bench_md_parse(&l, "novalue", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'novalue'"));
	assert_int_equal(bench_md_parse(&l, "bad key=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'bad key'"));
	assert_int_equal(bench_md_parse(&l, "grpc-timeout=1S", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "reserved"));
	assert_int_equal(bench_md_parse(&l, "{\"a\":1}", err, sizeof(err)), -1);
	assert_int_equal(bench_md_parse(&l, "{\"a\":", err, sizeof(err)), -1);
	assert_int_equal(bench_md_parse(&l, "k={{.Nope}}", err, sizeof(err)), -1);
	assert_int_equal(l.n, 4);
	bench_md_release(&l);
}

static void mix(void **state)
{
	struct bench_mix_item it[BENCH_MIX_MAX];
	unsigned w[3];
	uint16_t seq[100];
	size_t count[3] = { 0 };
	char err[512];
	int n = bench_mix_parse("HealthCheck:60, ListPendingDecisions:20,GetMetrics",
				it, BENCH_MIX_MAX, err, sizeof(err));

	assert_int_equal(n, 3);
	assert_string_equal(it[0].name, "HealthCheck");
	assert_int_equal(it[0].weight, 60);
	assert_string_equal(it[1].name, "ListPendingDecisions");
	assert_int_equal(it[2].weight, 1);

	w[0] = 60, w[1] = 20, w[2] = 20;
	assert_int_equal(bench_mix_sequence(w, 3, seq, 100), 100);
	for (size_t i = 0; i < 100; i++) {
		count[seq[i]]++;
		/* Interleaved: never two of the light ones in a row. */
		if (i && seq[i] != 0)
			assert_int_equal(seq[i - 1], 0);
	}
	assert_int_equal(count[0], 60);
	assert_int_equal(count[1], 20);
	assert_int_equal(count[2], 20);

	assert_int_equal(bench_mix_parse("A:x", it, BENCH_MIX_MAX, err,
					 sizeof(err)), -1);
	assert_non_null(strstr(err, "'A:x'"));
	assert_int_equal(bench_mix_parse("A:0", it, BENCH_MIX_MAX, err,
					 sizeof(err)), -1);
	assert_int_equal(bench_mix_parse("A:-3", it, BENCH_MIX_MAX, err,
					 sizeof(err)), -1);
	assert_int_equal(bench_mix_parse(":5", it, BENCH_MIX_MAX, err,
					 sizeof(err)), -1);
	assert_int_equal(bench_mix_parse("A:1,", it, BENCH_MIX_MAX, err,
					 sizeof(err)), -1);
	assert_int_equal(bench_mix_parse("", it, BENCH_MIX_MAX, err,
					 sizeof(err)), -1);
}

static void flag_values(void **state)
{
	uint64_t v, ns;
	double d;
	char err[512];

	assert_int_equal(bench_parse_uint("-n", "1000", 1, 100, &v, err,
					  sizeof(err)), -1);
	assert_string_equal(err, "invalid number '1000' for '-n' (use 1 to 100)");
	assert_int_equal(bench_parse_uint("-n", "abc", 1, 100, &v, err,
					  sizeof(err)), -1);
	assert_non_null(strstr(err, "'abc'"));
	assert_int_equal(bench_parse_uint("-n", "-5", 1, 100, &v, err,
					  sizeof(err)), -1);
	assert_int_equal(bench_parse_uint("-n", "0", 1, 100, &v, err,
					  sizeof(err)), -1);
	assert_int_equal(bench_parse_uint("-n", "42", 1, 100, &v, err,
					  sizeof(err)), 0);
	assert_int_equal(v, 42);

	assert_int_equal(bench_parse_number("-q", "0.5", 0, &d, err,
					    sizeof(err)), 0);
	assert_true(d == 0.5);
	assert_int_equal(bench_parse_number("-q", "fast", 0, &d, err,
					    sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid number 'fast' for '-q'"));
	assert_int_equal(bench_parse_number("-q", "-1", 0, &d, err,
					    sizeof(err)), -1);
	assert_int_equal(bench_parse_number("-q", "inf", 0, &d, err,
					    sizeof(err)), -1);
	assert_int_equal(bench_parse_number("-q", "0x10", 0, &d, err,
					    sizeof(err)), -1);
	assert_int_equal(bench_parse_number("--load-step", "-2", 1, &d, err,
					    sizeof(err)), 0);
	assert_true(d == -2);

	assert_int_equal(bench_parse_duration("-z", "10", 0, &ns, err,
					      sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid duration '10' for '-z'"));
	assert_int_equal(bench_parse_duration("-z", "0", 0, &ns, err,
					      sizeof(err)), -1);
	assert_int_equal(bench_parse_duration("-t", "0", 1, &ns, err,
					      sizeof(err)), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(bench_parse_duration("-z", "1.5s", 0, &ns, err,
					      sizeof(err)), 0);
	assert_int_equal(ns, 1500000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(methods),
		cmocka_unit_test(request_modes),
		cmocka_unit_test(request_errors),
		cmocka_unit_test(metadata),
		cmocka_unit_test(mix),
		cmocka_unit_test(flag_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
