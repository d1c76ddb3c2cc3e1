/* Unit tests: vcli's config file parser and setting precedence
 * (src/cli/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/config.h"

static int parse(struct cfg_file *f, const char *text, char *err,
		 size_t errlen)
{
	return cfg_file_parse(f, "/etc/vcli.conf", text, strlen(text), err,
			      errlen);
}

static void file_valid(void **state)
{
	struct cfg_file f;
	char err[512] = "";

	assert_int_equal(parse(&f,
			       "# vcli settings\n"
			       "\n"
			       "server = 10.0.0.7:50051\n"
			       "  operator=alice  \r\n"
			       "\ttimeout =\t2s\n"
			       "output = YAML\n"
			       "tls-ca = /etc/ssl/ca.pem\n"
			       "color = never\n"
			       "   # indented comment\n"
			       "connect-timeout = 1m30s", err, sizeof(err)), 0);
	assert_string_equal(f.value[CFG_SERVER], "10.0.0.7:50051");
	assert_int_equal(f.line[CFG_SERVER], 3);
	assert_string_equal(f.value[CFG_OPERATOR], "alice");
	assert_int_equal(f.line[CFG_OPERATOR], 4);
	assert_string_equal(f.value[CFG_TIMEOUT], "2s");
	assert_string_equal(f.value[CFG_OUTPUT], "YAML");
	assert_string_equal(f.value[CFG_TLS_CA], "/etc/ssl/ca.pem");
	assert_string_equal(f.value[CFG_COLOR], "never");
	assert_string_equal(f.value[CFG_CONNECT_TIMEOUT], "1m30s");
	assert_int_equal(f.line[CFG_CONNECT_TIMEOUT], 10);
	assert_null(f.value[CFG_TLS_KEY]);
	cfg_file_release(&f);

	/* An empty file is a valid file. */
	assert_int_equal(cfg_file_parse(&f, "x", "", 0, err, sizeof(err)), 0);
	cfg_file_release(&f);
}

static void file_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "server = 1.2.3.4:1\nfrob = 1\n",
		  "/etc/vcli.conf:2: unknown key 'frob'" },
		{ "timeout = 10\n",
		  "/etc/vcli.conf:1: invalid value '10' for 'timeout' (use a "
		  "positive number with a unit" },
		{ "output = xml\n",
		  "/etc/vcli.conf:1: invalid value 'xml' for 'output' (use "
		  "table, json or yaml)" },
		{ "server = nohost\n",
		  "/etc/vcli.conf:1: invalid value 'nohost' for 'server' (use "
		  "HOST:PORT or unix:PATH)" },
		{ "server = unix:\n",
		  "/etc/vcli.conf:1: invalid value 'unix:' for 'server' (no socket "
		  "path after unix:)" },
		{ "server = unix-abstract:g\n", "abstract Unix sockets are not supported" },
		{ "timeout = 5s # five seconds\n",
		  "/etc/vcli.conf:1: invalid value '5s # five seconds'" },
		{ "operator = a\noperator = b\n",
		  "/etc/vcli.conf:2: key 'operator' is already set on line 1" },
		{ "\n\njust words\n",
		  "/etc/vcli.conf:3: expected 'key = value', got 'just words'" },
		{ " = 3\n", "/etc/vcli.conf:1: missing key before '='" },
		{ "tls-ca =\n", "/etc/vcli.conf:1: invalid value '' for "
		  "'tls-ca' (the value is empty)" },
		{ "color = always\n", "(use auto or never)" },
		{ "tls = maybe\n", "(use true or false)" },
		{ "operator = a\x01" "b\n", "invalid value 'a?b' for 'operator'" },
		{ "Server = 1.2.3.4:5\n", "unknown key 'Server'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_file f;
		char err[512] = "";

		assert_int_equal(parse(&f, cases[i].text, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err,
				 cases[i].want);
		assert_null(f.text);
	}
}

static void file_limits(void **state)
{
	struct cfg_file f;
	char err[256];
	static char big[CFG_FILE_MAX + 2];

	assert_int_equal(cfg_file_parse(&f, "p", "server\0= x", 10, err,
					sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	memset(big, '#', sizeof(big) - 1);
	assert_int_equal(cfg_file_parse(&f, "p", big, CFG_FILE_MAX + 1, err,
					sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 64 KiB"));
	/* Exactly the cap is fine (all one comment line). */
	assert_int_equal(cfg_file_parse(&f, "p", big, CFG_FILE_MAX, err,
					sizeof(err)), 0);
	cfg_file_release(&f);
}

static void precedence(void **state)
{
	struct cfg_file f;
	struct cfg_inputs in;
	struct cfg c;
	char err[512] = "", origin[256];

	assert_int_equal(parse(&f, "server = 10.0.0.1:1\noperator = filer\n"
				   "timeout = 3s\noutput = json\n", err,
			       sizeof(err)), 0);
	memset(&in, 0, sizeof(in));
	in.file = &f;
	in.flag[CFG_SERVER] = "10.0.0.3:3";
	in.env[CFG_SERVER] = "10.0.0.2:2";
	in.env[CFG_OPERATOR] = "envop";
	in.env[CFG_TIMEOUT] = ""; /* empty: unset */
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);

	assert_string_equal(c.server, "10.0.0.3:3");
	assert_int_equal(c.s[CFG_SERVER].origin, CFG_ORIGIN_FLAG);
	cfg_origin_text(&c.s[CFG_SERVER], origin, sizeof(origin));
	assert_string_equal(origin, "flag --server");

	assert_string_equal(c.operator_id, "envop");
	cfg_origin_text(&c.s[CFG_OPERATOR], origin, sizeof(origin));
	assert_string_equal(origin, "env VCLI_OPERATOR");

	assert_int_equal(c.timeout_ms, 3000);
	cfg_origin_text(&c.s[CFG_TIMEOUT], origin, sizeof(origin));
	assert_string_equal(origin, "/etc/vcli.conf:3");
	assert_int_equal(c.output, 1); /* json */

	assert_int_equal(c.connect_timeout_ms, 5000);
	cfg_origin_text(&c.s[CFG_CONNECT_TIMEOUT], origin, sizeof(origin));
	assert_string_equal(origin, "default");
	assert_null(c.s[CFG_TLS_CA].text);
	assert_int_equal(c.tls, 0);
	assert_int_equal(c.color, 1);

	/* Without a file either: defaults. */
	memset(&in, 0, sizeof(in));
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "127.0.0.1:50051");
	assert_null(c.operator_id);
	assert_int_equal(c.timeout_ms, 10000);
	assert_int_equal(c.output, 0);
	cfg_file_release(&f);
}

static void resolve_errors_name_the_source(void **state)
{
	struct cfg_inputs in;
	struct cfg c;
	char err[512];

	memset(&in, 0, sizeof(in));
	in.env[CFG_TIMEOUT] = "banana";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid duration 'banana' in VCLI_TIMEOUT "
			    "(use a positive number with a unit: 500ms, 2s, "
			    "1.5s, 1m)");

	memset(&in, 0, sizeof(in));
	in.flag[CFG_SERVER] = "127.0.0.1:70000";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid server address '127.0.0.1:70000' "
			    "for '--server' (use HOST:PORT or unix:PATH)");

	/* a Unix socket is an address too */
	memset(&in, 0, sizeof(in));
	in.flag[CFG_SERVER] = "unix:/run/governd/governd.sock";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "unix:/run/governd/governd.sock");

	memset(&in, 0, sizeof(in));
	in.flag[CFG_TLS_CERT] = "c.pem";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "'--tls-cert' needs '--tls-key' as well");
}

/* The token is a secret: resolved like any setting, never echoed. */
static void token_is_never_shown(void **state)
{
	static const char tok[] = "vt_0123456789abcdef0123456789abcdef"
				  "0123456789abcdef0123456789abcdef";
	struct cfg_inputs in;
	struct cfg_file f;
	struct cfg c;
	char err[512], text[256];

	snprintf(text, sizeof(text), "token = %s\n", tok);
	assert_int_equal(parse(&f, text, err, sizeof(err)), 0);
	memset(&in, 0, sizeof(in));
	in.file = &f;
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_string_equal(c.token, tok);
	assert_int_equal(c.s[CFG_TOKEN].origin, CFG_ORIGIN_FILE);
	assert_string_equal(cfg_shown(CFG_TOKEN, c.s[CFG_TOKEN].text), "(hidden)");
	assert_string_equal(cfg_shown(CFG_SERVER, "a:1"), "a:1");
	in.env[CFG_TOKEN] = "vt_from_env";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_string_equal(c.token, "vt_from_env");
	assert_int_equal(c.s[CFG_TOKEN].origin, CFG_ORIGIN_ENV);
	cfg_file_release(&f);

	/* A bad value, from the environment or the file: the message says
	 * where and why, never what. */
	memset(&in, 0, sizeof(in));
	in.env[CFG_TOKEN] = "vt_secret with space";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	assert_null(strstr(err, "secret"));
	assert_non_null(strstr(err, "'(hidden)' in VCLI_TOKEN"));
	assert_int_equal(parse(&f, "token = vt_secret\tx\n", err, sizeof(err)), -1);
	assert_null(strstr(err, "secret"));
	assert_non_null(strstr(err, "/etc/vcli.conf:1: invalid value '(hidden)' for 'token'"));
}

static void tls_and_color(void **state)
{
	struct cfg_inputs in;
	struct cfg c;
	char err[256], origin[64];

	memset(&in, 0, sizeof(in));
	in.env[CFG_TLS_SERVER_NAME] = "gov.example";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_int_equal(c.tls, 1); /* implied */

	memset(&in, 0, sizeof(in));
	in.flag[CFG_TLS] = "true";
	in.env[CFG_COLOR] = "never";
	in.env_name[CFG_COLOR] = "NO_COLOR";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_int_equal(c.tls, 1);
	assert_int_equal(c.color, 0);
	cfg_origin_text(&c.s[CFG_COLOR], origin, sizeof(origin));
	assert_string_equal(origin, "env NO_COLOR");
}

static void default_path(void **state)
{
	char p[256];

	assert_int_equal(cfg_default_path("/x/cfg", "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/x/cfg/vcli/config");
	/* A relative XDG_CONFIG_HOME is ignored, as the spec says. */
	assert_int_equal(cfg_default_path("rel", "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/a/.config/vcli/config");
	assert_int_equal(cfg_default_path(NULL, "", p, sizeof(p)), -1);
}

static void endpoints(void **state)
{
	assert_true(cfg_endpoint_valid("127.0.0.1:50051"));
	assert_true(cfg_endpoint_valid("[::1]:1"));
	assert_true(cfg_endpoint_valid("gov.example:65535"));
	assert_false(cfg_endpoint_valid("gov.example:65536"));
	assert_false(cfg_endpoint_valid("gov.example:0"));
	assert_false(cfg_endpoint_valid(":80"));
	assert_false(cfg_endpoint_valid("host:"));
	assert_false(cfg_endpoint_valid("host:8o"));
}

/* The resilience settings: defaults, their sources, --no-retry as the
 * source of retries 0, bad values named with their source. */
static void resilience_settings(void **state)
{
	struct cfg_inputs in;
	struct cfg_file f;
	struct cfg c;
	char err[512] = "", origin[128];

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_int_equal(c.retries, 3);
	assert_int_equal(c.retry_backoff_ms, 100);
	assert_int_equal(c.reconnect_backoff_ms, 250);
	assert_int_equal(c.breaker, 5);
	assert_int_equal(c.breaker_cooldown_ms, 5000);

	assert_int_equal(parse(&f, "retries = 7\nbreaker = 0\n"
			       "breaker-cooldown = 1m\nretry-backoff = 250ms\n"
			       "reconnect-backoff = 2s\n", err, sizeof(err)), 0);
	in.file = &f;
	in.env[CFG_RETRIES] = "9";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_int_equal(c.retries, 9);
	cfg_origin_text(&c.s[CFG_RETRIES], origin, sizeof(origin));
	assert_string_equal(origin, "env VCLI_RETRIES");
	assert_int_equal(c.breaker, 0);
	assert_int_equal(c.breaker_cooldown_ms, 60000);
	assert_int_equal(c.retry_backoff_ms, 250);
	assert_int_equal(c.reconnect_backoff_ms, 2000);
	cfg_origin_text(&c.s[CFG_BREAKER], origin, sizeof(origin));
	assert_string_equal(origin, "/etc/vcli.conf:2");

	/* The off-switch, named as the source. */
	in.flag[CFG_RETRIES] = "0";
	in.flag_name[CFG_RETRIES] = "--no-retry";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), 0);
	assert_int_equal(c.retries, 0);
	cfg_origin_text(&c.s[CFG_RETRIES], origin, sizeof(origin));
	assert_string_equal(origin, "flag --no-retry");
	cfg_file_release(&f);

	memset(&in, 0, sizeof(in));
	in.flag[CFG_RETRIES] = "101";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid number '101' for '--retries' (use a "
			    "whole number from 0 to 100)");
	in.flag[CFG_RETRIES] = "-1";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	in.flag[CFG_RETRIES] = "";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	in.flag[CFG_RETRIES] = NULL;
	in.flag[CFG_BREAKER] = "3x";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid number '3x' for '--breaker' (use a "
			    "whole number from 0 (off) to 10000)");
	in.flag[CFG_BREAKER] = NULL;
	in.flag[CFG_RETRY_BACKOFF] = "100";
	assert_int_equal(cfg_resolve(&in, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid duration '100' for '--retry-backoff'"));
	assert_int_equal(parse(&f, "breaker-cooldown = soon\n", err, sizeof(err)), -1);
	assert_string_equal(err, "/etc/vcli.conf:1: invalid value 'soon' for "
			    "'breaker-cooldown' (use a positive number with a "
			    "unit: 500ms, 2s, 1.5s, 1m)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_valid),
		cmocka_unit_test(file_errors),
		cmocka_unit_test(file_limits),
		cmocka_unit_test(precedence),
		cmocka_unit_test(resolve_errors_name_the_source),
		cmocka_unit_test(token_is_never_shown),
		cmocka_unit_test(tls_and_color),
		cmocka_unit_test(default_path),
		cmocka_unit_test(endpoints),
		cmocka_unit_test(resilience_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
