/* Unit tests: the shared `key = value` syntax (src/common/kvfile.c) and
 * options set from text and shown as text (src/common/opts.c), which
 * governd's configuration file and variables go through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/kvfile.h"
#include "common/opts.h"

struct seen {
	char keys[8][32], values[8][64];
	unsigned lines[8];
	int n;
};

static int collect(void *ud, const char *key, const char *value, unsigned line, char *err,
		   size_t errlen)
{
	struct seen *s = ud;

	if (strcmp(key, "refuse") == 0) {
		snprintf(err, errlen, "no '%s' here", value);
		return -1;
	}
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	snprintf(s->values[s->n], sizeof(s->values[0]), "%s", value);
	s->lines[s->n++] = line;
	return 0;
}

static int parse(const char *text, struct seen *s, char *err, size_t errlen)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 1);
	int rc;

	memcpy(buf, text, len);
	memset(s, 0, sizeof(*s));
	rc = kv_parse(buf, len, "/etc/governd/governd.conf", collect, s, err, errlen);
	free(buf);
	return rc;
}

static void kv_lines(void **state)
{
	struct seen s;
	char err[256] = "";

	assert_int_equal(parse("# comment\n\n  a = 1 \r\n\tb=two words\n   # x\nc =\n", &s, err,
			       sizeof(err)), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.keys[0], "a");
	assert_string_equal(s.values[0], "1");
	assert_int_equal(s.lines[0], 3);
	assert_string_equal(s.values[1], "two words");
	assert_int_equal(s.lines[1], 4);
	assert_string_equal(s.keys[2], "c");
	assert_string_equal(s.values[2], "");
	assert_int_equal(s.lines[2], 6);
}

static void kv_errors(void **state)
{
	struct seen s;
	char err[256];
	char big[KV_FILE_MAX + 2];

	assert_int_equal(parse("a = 1\nwords\n", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "/etc/governd/governd.conf:2: expected 'key = value', got 'words'");
	assert_int_equal(parse(" = 3\n", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "/etc/governd/governd.conf:1: missing key before '='");
	assert_int_equal(parse("a = 1\nrefuse = x\n", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "/etc/governd/governd.conf:2: no 'x' here");
	assert_int_equal(parse("bad\x01line\n", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'bad?line'"));

	memset(big, 'a', sizeof(big));
	assert_int_equal(kv_parse(big, KV_FILE_MAX + 1, "f", collect, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 64 KiB"));
	memcpy(big, "a = 1\n\0", 7);
	assert_int_equal(kv_parse(big, 7, "f", collect, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL byte"));
}

static int flag;
static const char *str;
static uint32_t dur, num;
static int level;
static struct opt_list list;
static const char *const levels[] = { "error", "warn", "info", "debug", NULL };

static const struct opt table[] = {
	{ "auth", 0, OPT_FLAG, &flag, "", NULL, NULL },
	{ "db", 0, OPT_STRING, &str, "", NULL, NULL },
	{ "heartbeat", 0, OPT_DURATION, &dur, "", NULL, NULL },
	{ "threads", 0, OPT_UINT32, &num, "", NULL, NULL },
	{ "log-level", 0, OPT_ENUM, &level, "", levels, NULL },
	{ "mtls-role", 0, OPT_LIST, &list, "", NULL, NULL },
	OPT_END,
};

static void set_and_show(void **state)
{
	char err[256], out[128];

	assert_int_equal(opts_set_text(&table[0], "auth", "yes", err, sizeof(err)), 0);
	assert_int_equal(flag, 1);
	assert_string_equal(opts_value_text(&table[0], out, sizeof(out)), "true");
	assert_int_equal(opts_set_text(&table[0], "auth", "OFF", err, sizeof(err)), 0);
	assert_int_equal(flag, 0);
	assert_int_equal(opts_set_text(&table[0], "auth", "maybe", err, sizeof(err)), -1);
	assert_string_equal(err, "invalid value 'maybe' for 'auth' (use true or false)");

	assert_string_equal(opts_value_text(&table[1], out, sizeof(out)), "");
	assert_int_equal(opts_set_text(&table[1], "db", "/var/lib/g.db", err, sizeof(err)), 0);
	assert_string_equal(opts_value_text(&table[1], out, sizeof(out)), "/var/lib/g.db");

	static const struct { const char *in, *shown; } durs[] = {
		{ "15s", "15s" }, { "1m30s", "90s" }, { "2h", "2h" }, { "500ms", "500ms" },
		{ "1.5s", "1500ms" }, { "120m", "2h" },
	};
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		assert_int_equal(opts_set_text(&table[2], "heartbeat", durs[i].in, err,
					       sizeof(err)), 0);
		assert_string_equal(opts_value_text(&table[2], out, sizeof(out)), durs[i].shown);
	}
	dur = 0;
	assert_string_equal(opts_value_text(&table[2], out, sizeof(out)), "off");
	assert_int_equal(opts_set_text(&table[2], "GOVERND_HEARTBEAT", "soon", err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "invalid duration 'soon' for 'GOVERND_HEARTBEAT'"));

	assert_int_equal(opts_set_text(&table[3], "threads", "0", err, sizeof(err)), -1);
	assert_int_equal(opts_set_text(&table[3], "threads", "8", err, sizeof(err)), 0);
	assert_string_equal(opts_value_text(&table[3], out, sizeof(out)), "8");

	assert_int_equal(opts_set_text(&table[4], "log-level", "DEBUG", err, sizeof(err)), 0);
	assert_string_equal(opts_value_text(&table[4], out, sizeof(out)), "debug");
	assert_int_equal(opts_set_text(&table[4], "log-level", "loud", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "use error, warn, info or debug"));

	assert_int_equal(opts_set_text(&table[5], "mtls-role", "a=operator", err, sizeof(err)), 0);
	assert_int_equal(opts_set_text(&table[5], "mtls-role", "b=admin", err, sizeof(err)), 0);
	assert_string_equal(opts_value_text(&table[5], out, sizeof(out)), "a=operator,b=admin");
}

struct marks {
	int n;
	const struct opt *last;
};

static void on_set(void *ud, const struct opt *o, const char *value)
{
	struct marks *m = ud;

	m->n++;
	m->last = o;
}

static void parser_reports_each_option(void **state)
{
	const struct opt *const tables[] = { table, NULL };
	char a0[] = "governd", a1[] = "--threads", a2[] = "4", a3[] = "--auth";
	char *argv[] = { a0, a1, a2, a3, NULL };
	struct opts_parser p;
	struct marks m = { 0, NULL };

	memset(&p, 0, sizeof(p));
	p.tables = tables;
	p.on_set = on_set;
	p.ud = &m;
	assert_int_equal(opts_parse(&p, 4, argv, 1), 4);
	assert_int_equal(m.n, 2);
	assert_ptr_equal(m.last, &table[0]);
	assert_int_equal(num, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kv_lines),
		cmocka_unit_test(kv_errors),
		cmocka_unit_test(set_and_show),
		cmocka_unit_test(parser_reports_each_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
