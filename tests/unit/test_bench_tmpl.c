/* vcli bench's template actions: what each renders, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/bench_tmpl.h"

static uint64_t rng = 42;

static struct tmpl_ctx sample_ctx(void)
{
	struct tmpl_ctx c;

	memset(&c, 0, sizeof(c));
	c.request_number = 1234;
	c.worker_id = 7;
	c.service = "vertice.governance.v1.GovernanceService";
	c.method = "ApproveDecision";
	c.input = "vertice.governance.v1.ApproveDecisionRequest";
	c.output = "vertice.governance.v1.ApproveDecisionResponse";
	c.wall_sec = 1700000000;
	c.wall_nsec = 5;
	c.rng = &rng;
	return c;
}

/* Renders text with ctx into a static string. */
static const char *render(const char *text, const struct tmpl_ctx *c)
{
	static char out[4096];
	struct tmpl t;
	buf b = BUF_INIT(sizeof(out) - 1);
	char err[512];

	if (tmpl_compile(&t, text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("compile '%s': %s", text, err);
	assert_int_equal(tmpl_render(&t, c, &b), 0);
	if (b.len)
		memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	buf_release(&b);
	tmpl_release(&t);
	return out;
}

static void variables(void **state)
{
	struct tmpl_ctx c = sample_ctx();

	assert_string_equal(render("plain text", &c), "plain text");
	assert_string_equal(render("", &c), "");
	assert_string_equal(render("key-{{.RequestNumber}}", &c), "key-1234");
	assert_string_equal(render("{{ .WorkerID }}/{{.RequestNumber}}", &c),
			    "7/1234");
	assert_string_equal(render("{{.MethodName}} {{.ServiceName}}", &c),
			    "ApproveDecision vertice.governance.v1.GovernanceService");
	assert_string_equal(render("{{.FullyQualifiedName}}", &c),
			    "vertice.governance.v1.GovernanceService.ApproveDecision");
	assert_string_equal(render("{{.InputName}}", &c),
			    "vertice.governance.v1.ApproveDecisionRequest");
	assert_string_equal(render("{{.OutputName}}", &c),
			    "vertice.governance.v1.ApproveDecisionResponse");
	assert_string_equal(render("{{.TimestampUnix}}", &c), "1700000000");
	assert_string_equal(render("{{.TimestampUnixMilli}}", &c), "1700000000000");
	assert_string_equal(render("{{.TimestampUnixNano}}", &c),
			    "1700000000000000005");
	assert_string_equal(render("{{.Timestamp}}", &c),
			    "2023-11-14T22:13:20.000000005Z");
	/* A lone brace is text. */
	assert_string_equal(render("{\"a\": \"{x}\"}", &c), "{\"a\": \"{x}\"}");
	c.request_number = UINT64_MAX;
	assert_string_equal(render("{{.RequestNumber}}", &c),
			    "18446744073709551615");
}

static void random_values(void **state)
{
	struct tmpl_ctx c = sample_ctx();
	char a[64], b[64];
	const char *s;

	/* UUIDs: version 4 layout, different each time. */
	snprintf(a, sizeof(a), "%s", render("{{.UUID}}", &c));
	snprintf(b, sizeof(b), "%s", render("{{newUUID}}", &c));
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[8], '-');
	assert_int_equal(a[14], '4');
	assert_true(strchr("89ab", a[19]) != NULL);
	assert_string_not_equal(a, b);

	s = render("{{randomString 12}}", &c);
	assert_int_equal(strlen(s), 12);
	for (const char *p = s; *p; p++)
		assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9'));
	for (int i = 0; i < 200; i++) {
		long v = strtol(render("{{randomInt -5 5}}", &c), NULL, 10);

		assert_true(v >= -5 && v < 5);
	}
}

static void refused(void **state)
{
	static const char *const bad[] = {
		"{{.Nope}}",
		"{{.RequestNumber",
		"x {{ }} y",
		"{{randomString}}",
		"{{randomString 0}}",
		"{{randomString 99999}}",
		"{{randomInt 5 5}}",
		"{{randomInt 1}}",
		"{{.UUID extra}}",
	};
	struct tmpl t;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tmpl_compile(&t, bad[i], strlen(bad[i]), err, sizeof(err)) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(tmpl_compile(&t, "{{.Nope}}", 9, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'{{.Nope}}'"));
	assert_int_equal(tmpl_has_actions("a{{b", 4), 1);
	assert_int_equal(tmpl_has_actions("a{b}", 4), 0);
}

static void cap_is_kept(void **state)
{
	struct tmpl_ctx c = sample_ctx();
	struct tmpl t;
	buf b = BUF_INIT(8);
	char err[256];

	assert_int_equal(tmpl_compile(&t, "{{randomString 64}}", 19, err,
				      sizeof(err)), 0);
	assert_int_equal(tmpl_render(&t, &c, &b), -1);
	buf_release(&b);
	tmpl_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(variables),
		cmocka_unit_test(random_values),
		cmocka_unit_test(refused),
		cmocka_unit_test(cap_is_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
