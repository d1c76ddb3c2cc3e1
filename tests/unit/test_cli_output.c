/* Unit tests: vcli's output formats: the document tree and its json and
 * yaml writers (src/cli/doc.c), messages in the protobuf JSON mapping
 * (src/cli/pbjson.c), tables (src/cli/table.c, src/cli/gov_render.c) and
 * the remembered-session file (src/cli/state.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "governance.pb-c.h"
#include "cli/doc.h"
#include "cli/gov_render.h"
#include "cli/pbjson.h"
#include "cli/state.h"
#include "cli/table.h"

/* Captures what fn writes to a FILE. */
struct capture {
	char *text;
	size_t len;
	FILE *f;
};

static FILE *cap_open(struct capture *c)
{
	c->text = NULL;
	c->len = 0;
	c->f = open_memstream(&c->text, &c->len);
	assert_non_null(c->f);
	return c->f;
}

static const char *cap_close(struct capture *c)
{
	fclose(c->f);
	return c->text;
}

static void json_and_yaml_of_a_tree(void **state)
{
	struct doc_arena a;
	struct doc *root, *list, *inner;
	struct capture c;

	doc_arena_init(&a);
	root = doc_obj(&a);
	doc_set(&a, root, "name", doc_str(&a, "block_ip"));
	doc_set(&a, root, "quote", doc_str(&a, "say \"hi\"\n\t\x01"));
	doc_set(&a, root, "n", doc_int(&a, -42));
	doc_set(&a, root, "big", doc_uint(&a, UINT64_MAX));
	doc_set(&a, root, "score", doc_double(&a, 0.85));
	doc_set(&a, root, "exp", doc_double(&a, 1e20));
	doc_set(&a, root, "ok", doc_bool(&a, 1));
	doc_set(&a, root, "none", doc_null(&a));
	list = doc_arr(&a);
	doc_push(list, doc_str(&a, "a"));
	inner = doc_obj(&a);
	doc_set(&a, inner, "k", doc_str(&a, "v"));
	doc_set(&a, inner, "k2", doc_str(&a, "true"));
	doc_push(list, inner);
	inner = doc_arr(&a);
	doc_push(inner, doc_int(&a, 1));
	doc_push(inner, doc_int(&a, 2));
	doc_push(list, inner);
	doc_set(&a, root, "list", list);
	doc_set(&a, root, "empty", doc_obj(&a));
	doc_set(&a, root, "nothing", doc_arr(&a));

	assert_int_equal(doc_write_json(cap_open(&c), &a, root), 0);
	assert_string_equal(cap_close(&c),
		"{\"name\":\"block_ip\",\"quote\":\"say \\\"hi\\\"\\n\\t\\u0001\","
		"\"n\":-42,\"big\":18446744073709551615,\"score\":0.85,"
		"\"exp\":1e+20,\"ok\":true,\"none\":null,"
		"\"list\":[\"a\",{\"k\":\"v\",\"k2\":\"true\"},[1,2]],"
		"\"empty\":{},\"nothing\":[]}\n");
	free(c.text);

	assert_int_equal(doc_write_yaml(cap_open(&c), &a, root), 0);
	assert_string_equal(cap_close(&c),
		"name: block_ip\n"
		"quote: \"say \\\"hi\\\"\\n\\t\\x01\"\n"
		/* "n" is a boolean to YAML 1.1 readers: quoted. */
		"\"n\": -42\n"
		"big: 18446744073709551615\n"
		"score: 0.85\n"
		"exp: 1.0e+20\n"
		"ok: true\n"
		"none: null\n"
		"list:\n"
		"  - a\n"
		"  - k: v\n"
		"    k2: \"true\"\n"
		"  - - 1\n"
		"    - 2\n"
		"empty: {}\n"
		"nothing: []\n");
	free(c.text);
	doc_arena_release(&a);
}

static void yaml_quotes_what_needs_it(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain text", "plain text" },
		{ "d-0123abcd", "d-0123abcd" },
		{ "/etc/ssl/ca.pem", "/etc/ssl/ca.pem" },
		{ "", "\"\"" },
		{ "yes", "\"yes\"" },
		{ "No", "\"No\"" },
		{ "null", "\"null\"" },
		{ "off", "\"off\"" },
		{ "12", "\"12\"" },
		{ "1e3", "\"1e3\"" },
		{ ".5", "\".5\"" },
		{ "2024-05-01T12:00:00Z", "\"2024-05-01T12:00:00Z\"" },
		{ "127.0.0.1:50051", "\"127.0.0.1:50051\"" },
		{ "key: value", "\"key: value\"" },
		{ "a #b", "\"a #b\"" },
		{ "- item", "\"- item\"" },
		{ "trailing ", "\"trailing \"" },
		{ " leading", "\" leading\"" },
		{ "*alias", "\"*alias\"" },
		{ "it's", "\"it's\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "bell\x07", "\"bell\\x07\"" },
		{ "c1\xc2\x85", "\"c1\\u0085\"" },
		{ "ls\xe2\x80\xa8", "\"ls\\u2028\"" },
		{ "bad\xff", "\"bad\\uFFFD\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct doc_arena a;
		struct capture c;
		char want[128];

		doc_arena_init(&a);
		assert_int_equal(doc_write_yaml(cap_open(&c), &a,
						doc_str(&a, cases[i].in)), 0);
		snprintf(want, sizeof(want), "%s\n", cases[i].out);
		if (strcmp(cap_close(&c), want) != 0)
			fail_msg("case %zu: got %s want %s", i, c.text, want);
		free(c.text);
		doc_arena_release(&a);
	}
}

static void doubles_are_shortest(void **state)
{
	char buf[40];

	doc_format_double(0.1, buf, sizeof(buf));
	assert_string_equal(buf, "0.1");
	doc_format_double(1.0 / 3.0, buf, sizeof(buf));
	assert_string_equal(buf, "0.3333333333333333");
	doc_format_double(100, buf, sizeof(buf));
	assert_string_equal(buf, "100");
	doc_format_double(1234567, buf, sizeof(buf));
	assert_string_equal(buf, "1234567");
	doc_format_double(1e20, buf, sizeof(buf));
	assert_string_equal(buf, "1e+20");
	doc_format_double(2.5e-7, buf, sizeof(buf));
	assert_string_equal(buf, "2.5e-07");
	doc_format_double(-0.0, buf, sizeof(buf));
	assert_string_equal(buf, "-0");
	doc_format_double(1.0 / 0.0, buf, sizeof(buf));
	assert_string_equal(buf, "Infinity");
}

static void times(void **state)
{
	char buf[40];
	int64_t s;
	int32_t n;

	pbjson_format_time(0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	pbjson_format_time(1714564800, 500000000, buf, sizeof(buf));
	assert_string_equal(buf, "2024-05-01T12:00:00.500Z");
	pbjson_format_time(1714564800, 1000, buf, sizeof(buf));
	assert_string_equal(buf, "2024-05-01T12:00:00.000001Z");
	pbjson_format_time(1714564800, 7, buf, sizeof(buf));
	assert_string_equal(buf, "2024-05-01T12:00:00.000000007Z");
	pbjson_format_time(-1, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	pbjson_format_time(951782400, 0, buf, sizeof(buf));
	assert_string_equal(buf, "2000-02-29T00:00:00Z");
	pbjson_format_time(INT64_C(-62135596800), 0, buf, sizeof(buf));
	assert_string_equal(buf, "0001-01-01T00:00:00Z");
	pbjson_format_time(INT64_C(253402300799), 0, buf, sizeof(buf));
	assert_string_equal(buf, "9999-12-31T23:59:59Z");

	assert_int_equal(pbjson_parse_time("2000-02-29T00:00:00Z", &s, &n), 0);
	assert_int_equal(s, 951782400);
	assert_int_equal(pbjson_parse_time("2024-05-01T12:00:00.5-01:30", &s,
					   &n), 0);
	assert_int_equal(s, 1714564800 + 5400);
	assert_int_equal(n, 500000000);
	assert_int_equal(pbjson_parse_time("0001-01-01t00:00:00z", &s, &n), 0);
	assert_int_equal(s, INT64_C(-62135596800));
	assert_int_equal(pbjson_parse_time("1900-02-29T00:00:00Z", &s, &n), -1);
	assert_int_equal(pbjson_parse_time("2024-05-01T24:00:00Z", &s, &n), -1);
	assert_int_equal(pbjson_parse_time("2024-05-01T12:00:60Z", &s, &n), -1);
	assert_int_equal(pbjson_parse_time("2024-05-01T12:00:00.Z", &s, &n), -1);
	assert_int_equal(pbjson_parse_time("2024-05-01T12:00:00+2:00", &s, &n),
			 -1);
	assert_int_equal(pbjson_parse_time("0000-12-31T23:59:59Z", &s, &n), -1);
	assert_int_equal(pbjson_parse_time("2024-05-01T12:00:00Zjunk", &s, &n),
			 -1);
}

/* A decision with a bit of everything, built on the stack. */
struct sample {
	gov_decision d;
	Vertice__Governance__V1__Risk risk;
	Vertice__Governance__V1__Decision__ContextEntry ctx, *ctxp[1];
	Google__Protobuf__Timestamp created;
	char *factors[1];
};

static void sample_init(struct sample *s)
{
	gov_decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Vertice__Governance__V1__Risk r = VERTICE__GOVERNANCE__V1__RISK__INIT;
	Vertice__Governance__V1__Decision__ContextEntry e =
		VERTICE__GOVERNANCE__V1__DECISION__CONTEXT_ENTRY__INIT;
	Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	s->d = d;
	s->risk = r;
	s->ctx = e;
	s->created = t;
	s->d.decision_id = "d-0123456789abcdef0123456789abcdef";
	s->d.operation_type = "quarantine_host_with_a_very_long_name_indeed";
	s->d.status = "PENDING";
	s->d.priority = "CRITICAL";
	s->d.sla_seconds = 600;
	s->created.seconds = 1714564800;
	s->d.created_at = &s->created;
	s->ctx.key = "host";
	s->ctx.value = "laptop-7";
	s->ctxp[0] = &s->ctx;
	s->d.n_context = 1;
	s->d.context = s->ctxp;
	s->risk.score = 0.5;
	s->risk.level = "HIGH";
	s->factors[0] = "beaconing";
	s->risk.n_factors = 1;
	s->risk.factors = s->factors;
	s->d.risk_assessment = &s->risk;
}

static void messages_in_the_json_mapping(void **state)
{
	Vertice__Governance__V1__DecisionEvent ev =
		VERTICE__GOVERNANCE__V1__DECISION_EVENT__INIT;
	struct sample s;
	struct doc_arena a;
	struct capture c;

	sample_init(&s);
	doc_arena_init(&a);
	assert_int_equal(doc_write_json(cap_open(&c), &a,
		pbjson_to_doc(&a, &s.d.base, 0)), 0);
	assert_string_equal(cap_close(&c),
		"{\"decisionId\":\"d-0123456789abcdef0123456789abcdef\","
		"\"operationType\":\"quarantine_host_with_a_very_long_name_indeed\","
		"\"context\":{\"host\":\"laptop-7\"},"
		"\"riskAssessment\":{\"score\":0.5,\"level\":\"HIGH\","
		"\"factors\":[\"beaconing\"]},"
		"\"status\":\"PENDING\",\"priority\":\"CRITICAL\","
		"\"createdAt\":\"2024-05-01T12:00:00Z\",\"slaSeconds\":600}\n");
	free(c.text);

	/* uint64 as a string; an enum at its default only when asked. */
	ev.sequence = 42;
	assert_int_equal(doc_write_json(cap_open(&c), &a,
		pbjson_to_doc(&a, &ev.base, 0)), 0);
	assert_string_equal(cap_close(&c), "{\"sequence\":\"42\"}\n");
	free(c.text);
	assert_int_equal(doc_write_json(cap_open(&c), &a,
		pbjson_to_doc(&a, &ev.base, PBJSON_ENUMS_ALWAYS)), 0);
	assert_string_equal(cap_close(&c),
			    "{\"type\":\"NEW_DECISION\",\"sequence\":\"42\"}\n");
	free(c.text);
	doc_arena_release(&a);
}

static void list_table(void **state)
{
	struct sample s1, s2;
	gov_decision *ds[2] = { &s1.d, &s2.d };
	struct capture c;

	sample_init(&s1);
	sample_init(&s2);
	s2.d.decision_id = "d-2";
	s2.d.status = "APPROVED";
	s2.d.priority = "LOW";
	s2.d.operation_type = "block_ip";
	s2.d.assigned_operator = "alice";
	s2.d.risk_assessment = NULL;
	assert_int_equal(gov_render_list(cap_open(&c), ds, 2,
					 1714564800 + 125, 0), 0);
	assert_string_equal(cap_close(&c),
		"ID                                  PRIORITY  STATUS    TYPE "
		"                     RISK       ASSIGNED  AGE  EXPIRES\n"
		"d-0123456789abcdef0123456789abcdef  CRITICAL  PENDING   "
		"quarantine_host_with_a_\xe2\x80\xa6  0.50 HIGH  -         2m   -\n"
		"d-2                                 LOW       APPROVED  "
		"block_ip                  -          alice     2m   -\n");
	free(c.text);

	/* With colour: CRITICAL red, APPROVED green, padding outside. */
	assert_int_equal(gov_render_list(cap_open(&c), ds, 2,
					 1714564800 + 125, 1), 0);
	cap_close(&c);
	assert_non_null(strstr(c.text, "\033[31mCRITICAL\033[0m  "));
	assert_non_null(strstr(c.text, "\033[32mAPPROVED\033[0m  "));
	free(c.text);
}

static void tables_sanitize_and_cut(void **state)
{
	static const struct table_col cols[] = { { "A", 5 }, { "B", 0 } };
	struct table t;
	struct capture c;
	char buf[32];

	table_init(&t, cols, 2);
	table_row(&t);
	table_set(&t, 0, NULL, "\033[2Jxy");
	table_set(&t, 1, NULL, "tail");
	table_row(&t);
	table_set(&t, 0, NULL, "abcdefgh");
	table_row(&t);
	table_set(&t, 0, NULL, "\xc3\xa9t\xc3\xa9");
	assert_int_equal(table_print(cap_open(&c), &t, 0), 0);
	/* No trailing blanks where the last cells are empty. */
	assert_string_equal(cap_close(&c),
			    "A      B\n"
			    "?[2J\xe2\x80\xa6  tail\n"
			    "abcd\xe2\x80\xa6\n"
			    "\xc3\xa9t\xc3\xa9\n");
	free(c.text);
	table_release(&t);

	assert_string_equal(table_ellipsize(buf, sizeof(buf), "short", 10),
			    "short");
	assert_string_equal(table_ellipsize(buf, sizeof(buf), "exactly10!", 10),
			    "exactly10!");
	assert_string_equal(table_ellipsize(buf, sizeof(buf), "eleven char", 10),
			    "eleven ch\xe2\x80\xa6");
}

static void detail_view(void **state)
{
	struct sample s;
	struct capture c;

	sample_init(&s);
	assert_int_equal(gov_render_decision(cap_open(&c), &s.d,
					     1714564800 + 60, 0), 0);
	cap_close(&c);
	assert_non_null(strstr(c.text, "ID          d-0123456789abcdef"));
	assert_non_null(strstr(c.text, "CREATED     2024-05-01T12:00:00Z "
				       "(1m ago)\n"));
	assert_non_null(strstr(c.text, "SLA         10m0s\n"));
	assert_non_null(strstr(c.text, "\nCONTEXT\n  KEY   VALUE\n"
				       "  host  laptop-7\n"));
	assert_non_null(strstr(c.text, "\nRISK\n  SCORE       0.50\n"
				       "  LEVEL       HIGH\n  FACTORS\n"
				       "    - beaconing\n"));
	assert_null(strstr(c.text, "HISTORY"));
	assert_null(strstr(c.text, "EXECUTIONS"));
	assert_null(strstr(c.text, "\033["));
	free(c.text);

	/* Executions: a row each, oldest first, the result coloured. */
	{
		Vertice__Governance__V1__ExecutionRecord x1 =
			VERTICE__GOVERNANCE__V1__EXECUTION_RECORD__INIT;
		Vertice__Governance__V1__ExecutionRecord x2 =
			VERTICE__GOVERNANCE__V1__EXECUTION_RECORD__INIT;
		Vertice__Governance__V1__ExecutionRecord *xs[2] = { &x1, &x2 };
		Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

		at.seconds = 1714564800 + 30;
		x1.action_type = "k8s.scale";
		x1.action_index = 1;
		x1.succeeded = 1;
		x1.executed_by = "alice";
		x1.executed_at = &at;
		x1.detail = "deployment.apps/web scaled to 5";
		x1.target = "context kind-prod, cluster https://10.0.0.1:6443";
		x2.action_type = "k8s.delete";
		x2.executed_by = "alice";
		x2.detail = "failed: forbidden";
		s.d.n_executions = 2;
		s.d.executions = xs;
		assert_int_equal(gov_render_decision(cap_open(&c), &s.d,
						     1714564800 + 60, 0), 0);
		cap_close(&c);
		assert_non_null(strstr(c.text, "\nEXECUTIONS\n  WHEN"));
		assert_non_null(strstr(c.text, "2024-05-01T12:00:30Z (30s ago)  "
					       "k8s.scale (#1)   ok      alice  "
					       "deployment.apps/web scaled to 5  "
					       "context kind-prod, cluster https://10.0.0.1:6443\n"));
		assert_non_null(strstr(c.text, "k8s.delete (#0)  failed  alice  "
					       "failed: forbidden"));
		free(c.text);
		assert_int_equal(gov_render_decision(cap_open(&c), &s.d,
						     1714564800 + 60, 1), 0);
		cap_close(&c);
		assert_non_null(strstr(c.text, "\033[32mok\033[0m"));
		assert_non_null(strstr(c.text, "\033[31mfailed\033[0m"));
		free(c.text);
		s.d.n_executions = 0;
		s.d.executions = NULL;
	}
}

static void session_file(void **state)
{
	struct state_session s, back;
	char text[STATE_FILE_MAX], name[64], dir[128];
	int n;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "s-0123");
	snprintf(s.operator_id, sizeof(s.operator_id), "alice");
	snprintf(s.server, sizeof(s.server), "[::1]:50051");
	snprintf(s.created, sizeof(s.created), "2024-05-01T12:00:00Z");
	n = state_session_format(&s, text, sizeof(text));
	assert_true(n > 0);
	assert_string_equal(text, "session=s-0123\noperator=alice\n"
			    "server=[::1]:50051\ncreated=2024-05-01T12:00:00Z\n");
	assert_int_equal(state_session_parse(text, (size_t)n, &back), 0);
	assert_memory_equal(&s, &back, sizeof(s));
	assert_int_equal(state_session_parse("operator=a\n", 11, &back), -1);
	assert_int_equal(state_session_parse("garbage\n", 8, &back), -1);
	assert_int_equal(state_session_parse("session=s\nserver=x\nnew=1\n",
					     25, &back), 0);
	/* Which credential opened it: kept when there is one. */
	snprintf(s.credential, sizeof(s.credential), "t:0d3020f8b2ea5d3d");
	n = state_session_format(&s, text, sizeof(text));
	assert_true(n > 0);
	assert_non_null(strstr(text, "\ncredential=t:0d3020f8b2ea5d3d\n"));
	assert_int_equal(state_session_parse(text, (size_t)n, &back), 0);
	assert_memory_equal(&s, &back, sizeof(s));
	snprintf(s.operator_id, sizeof(s.operator_id), "a\nb");
	assert_int_equal(state_session_format(&s, text, sizeof(text)), -1);

	state_session_name("[::1]:50051", name, sizeof(name));
	assert_string_equal(name, "session-___1__50051");
	state_session_name("gov.example.com:443", name, sizeof(name));
	assert_string_equal(name, "session-gov.example.com_443");
	assert_int_equal(state_dir("/s", "/h", dir, sizeof(dir)), 0);
	assert_string_equal(dir, "/s/vcli");
	assert_int_equal(state_dir("", "/h", dir, sizeof(dir)), 0);
	assert_string_equal(dir, "/h/.local/state/vcli");
	assert_int_equal(state_dir(NULL, NULL, dir, sizeof(dir)), -1);
}

static void ages(void **state)
{
	char buf[32];

	gov_format_age(59, buf, sizeof(buf));
	assert_string_equal(buf, "59s");
	gov_format_age(3599, buf, sizeof(buf));
	assert_string_equal(buf, "59m");
	gov_format_age(86399, buf, sizeof(buf));
	assert_string_equal(buf, "23h");
	gov_format_age(86400 * 3, buf, sizeof(buf));
	assert_string_equal(buf, "3d");
	gov_format_seconds(0.456, buf, sizeof(buf));
	assert_string_equal(buf, "0.46s");
	gov_format_seconds(125, buf, sizeof(buf));
	assert_string_equal(buf, "2m5s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_and_yaml_of_a_tree),
		cmocka_unit_test(yaml_quotes_what_needs_it),
		cmocka_unit_test(doubles_are_shortest),
		cmocka_unit_test(times),
		cmocka_unit_test(messages_in_the_json_mapping),
		cmocka_unit_test(list_table),
		cmocka_unit_test(tables_sanitize_and_cut),
		cmocka_unit_test(detail_view),
		cmocka_unit_test(session_file),
		cmocka_unit_test(ages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
