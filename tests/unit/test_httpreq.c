/* The strict HTTP/1.x request-head parser of governd's metrics listener. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/httpreq.h"

static httpreq_result parse(httpreq *r, const char *s)
{
	return httpreq_parse(r, s, strlen(s), 8192);
}

static void test_prometheus_request(void **state)
{
	httpreq r;
	const char *s = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n"
			"User-Agent: Prometheus/2.42.0\r\nAccept: application/openmetrics-text;"
			"version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
			"Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";

	(void)state;
	assert_int_equal(parse(&r, s), HTTPREQ_DONE);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/metrics");
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.keep_alive, 1);
	assert_int_equal(r.head_len, strlen(s));
}

static void test_incremental(void **state)
{
	httpreq r;
	const char *s = "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
	size_t head = strlen("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");

	(void)state;
	/* Every prefix of the head asks for more; the head then ends where
	 * the blank line does, whatever follows. */
	for (size_t n = 0; n < head; n++)
		assert_int_equal(httpreq_parse(&r, s, n, 8192), HTTPREQ_MORE);
	assert_int_equal(httpreq_parse(&r, s, strlen(s), 8192), HTTPREQ_DONE);
	assert_int_equal(r.head_len, head);
	assert_string_equal(r.path, "/readyz");
}

static void test_keep_alive_rules(void **state)
{
	httpreq r;

	(void)state;
	assert_int_equal(parse(&r, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
			 HTTPREQ_DONE);
	assert_int_equal(r.keep_alive, 0);
	assert_int_equal(parse(&r, "GET / HTTP/1.1\r\nHost: x\r\nconnection: Upgrade, CLOSE\r\n\r\n"),
			 HTTPREQ_DONE);
	assert_int_equal(r.keep_alive, 0);
	assert_int_equal(parse(&r, "GET / HTTP/1.0\r\n\r\n"), HTTPREQ_DONE);
	assert_int_equal(r.keep_alive, 0);
	assert_int_equal(r.minor, 0);
	assert_int_equal(parse(&r, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
			 HTTPREQ_DONE);
	assert_int_equal(r.keep_alive, 1);
}

static void test_query_is_not_path(void **state)
{
	httpreq r;

	(void)state;
	assert_int_equal(parse(&r, "HEAD /metrics?name[]=x HTTP/1.1\r\nHost: x\r\n\r\n"),
			 HTTPREQ_DONE);
	assert_string_equal(r.method, "HEAD");
	assert_string_equal(r.path, "/metrics");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GET /metrics HTTP/1.1\nHost: x\n\n",             /* bare LF */
		"GET /metrics HTTP/1.1\r\nHost: x\r\r\n\r\n",     /* bare CR */
		"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",      /* two spaces */
		"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",        /* not a path */
		"GET http://h/metrics HTTP/1.1\r\nHost: x\r\n\r\n", /* absolute form */
		"GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n",      /* trailing space */
		"GET /metrics HTTP/11\r\nHost: x\r\n\r\n",
		"GET /metrics\r\nHost: x\r\n\r\n",                /* HTTP/0.9 */
		"G@T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n\r\n",                  /* 1.1 without Host */
		"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",             /* space before colon */
		"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",   /* obs-fold */
		"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01" "b\r\n\r\n", /* control char */
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",          /* empty first line */
	};
	httpreq r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		httpreq_result rc = parse(&r, bad[i]);
		if (rc != HTTPREQ_BAD)
			fail_msg("case %zu: %d instead of BAD: %s", i, (int)rc, bad[i]);
		assert_non_null(r.error);
	}
	/* What is not HTTP/1 is refused before a head could end. */
	assert_int_equal(httpreq_parse(&r, "\x16\x03\x01\x02", 4, 8192), HTTPREQ_BAD);
	assert_int_equal(httpreq_parse(&r, "GETTINGLONGERTHANAMETHOD", 24, 8192), HTTPREQ_BAD);
	assert_int_equal(httpreq_parse(&r, "GET /x", 6, 8192), HTTPREQ_MORE);
	/* A NUL anywhere in the head. */
	assert_int_equal(httpreq_parse(&r, "GET /\0 HTTP/1.1\r\n\r\n", 19, 8192), HTTPREQ_BAD);
}

static void test_bodies_versions_and_size(void **state)
{
	httpreq r;
	char big[9000];

	(void)state;
	assert_int_equal(parse(&r, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
			 HTTPREQ_DONE);
	assert_int_equal(parse(&r, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"),
			 HTTPREQ_BODY);
	assert_int_equal(parse(&r, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
			 HTTPREQ_BODY);
	assert_int_equal(parse(&r, "GET / HTTP/2.0\r\n\r\n"), HTTPREQ_VERSION);
	assert_int_equal(parse(&r, "GET / HTTP/1.2\r\n\r\n"), HTTPREQ_VERSION);
	/* No end of head within the cap. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	assert_int_equal(httpreq_parse(&r, big, sizeof(big), 8192), HTTPREQ_TOO_LARGE);
	assert_int_equal(httpreq_parse(&r, big, 8191, 8192), HTTPREQ_MORE);
	/* A path longer than we keep. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	memcpy(big + 2000, " HTTP/1.1\r\nHost: x\r\n\r\n", 23);
	assert_int_equal(httpreq_parse(&r, big, 2023, 8192), HTTPREQ_BAD);
}

static void test_too_many_headers(void **state)
{
	char head[4096];
	size_t n = 0;
	httpreq r;

	(void)state;
	n += (size_t)snprintf(head + n, sizeof(head) - n, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < HTTPREQ_MAX_HEADERS; i++)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "X-%d: v\r\n", i);
	n += (size_t)snprintf(head + n, sizeof(head) - n, "\r\n");
	assert_int_equal(httpreq_parse(&r, head, n, 8192), HTTPREQ_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prometheus_request),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_keep_alive_rules),
		cmocka_unit_test(test_query_is_not_path),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bodies_versions_and_size),
		cmocka_unit_test(test_too_many_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
