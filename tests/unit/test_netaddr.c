#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/netaddr.h"

static void splits(void **state)
{
	char host[64];
	int port;

	assert_int_equal(netaddr_split("127.0.0.1:50051", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 50051);
	assert_int_equal(netaddr_split("[::1]:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(netaddr_split("localhost:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "localhost");
}

static void rejects(void **state)
{
	char host[8];
	int port;

	assert_int_equal(netaddr_split("127.0.0.1", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split(":80", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split("h:", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split("h:65536", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split("h:-1", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split("h:80x", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split("::1:80", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split("[::1]80", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split("averylonghostname:1", host, sizeof(host), &port), -1);
	assert_int_equal(netaddr_split("", host, sizeof(host), &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splits),
		cmocka_unit_test(rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
