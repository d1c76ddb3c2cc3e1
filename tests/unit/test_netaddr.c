#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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

/* netaddr_format writes what netaddr_split reads back. */
static void formats(void **state)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr_storage none;
	char out[64], host[64];
	int port = 0;

	(void)state;
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons(50051);
	inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
	netaddr_format((struct sockaddr *)&a4, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1:50051");
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons(9464);
	inet_pton(AF_INET6, "::1", &a6.sin6_addr);
	netaddr_format((struct sockaddr *)&a6, out, sizeof(out));
	assert_string_equal(out, "[::1]:9464");
	assert_int_equal(netaddr_split(out, host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9464);
	memset(&none, 0, sizeof(none));
	netaddr_format((struct sockaddr *)&none, out, sizeof(out));
	assert_string_equal(out, "?:0");
}

/* gRPC's unix: names: unix:PATH, unix:///ABS; the rest is not ours or bad. */
static void unix_paths(void **state)
{
	char path[108], small[8];
	const char *why = NULL;
	char longp[200];

	(void)state;
	assert_int_equal(netaddr_unix("unix:/run/governd.sock", path, sizeof(path), &why), 1);
	assert_string_equal(path, "/run/governd.sock");
	assert_int_equal(netaddr_unix("unix:rel/g.sock", path, sizeof(path), &why), 1);
	assert_string_equal(path, "rel/g.sock");
	assert_int_equal(netaddr_unix("unix:///tmp/g.sock", path, sizeof(path), &why), 1);
	assert_string_equal(path, "/tmp/g.sock");
	/* not unix: addresses, path untouched */
	memcpy(path, "keep", 5);
	assert_int_equal(netaddr_unix("127.0.0.1:1", path, sizeof(path), &why), 0);
	assert_int_equal(netaddr_unix("unixhost:80", path, sizeof(path), &why), 0);
	assert_int_equal(netaddr_unix(NULL, path, sizeof(path), &why), 0);
	assert_string_equal(path, "keep");
	/* unix: addresses that cannot be used, each with its reason */
	why = NULL;
	assert_int_equal(netaddr_unix("unix:", path, sizeof(path), &why), -1);
	assert_non_null(strstr(why, "no socket path"));
	assert_int_equal(netaddr_unix("unix://tmp/g.sock", path, sizeof(path), &why), -1);
	assert_non_null(strstr(why, "absolute path"));
	assert_int_equal(netaddr_unix("unix-abstract:g", path, sizeof(path), &why), -1);
	assert_non_null(strstr(why, "abstract"));
	assert_int_equal(netaddr_unix("unix:/tmp/x.sock", small, sizeof(small), &why), -1);
	assert_non_null(strstr(why, "too long"));
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "unix:/", 6);
	longp[5 + 108] = '\0'; /* a path of exactly 108 bytes: one too many */
	assert_int_equal(netaddr_unix(longp, path, sizeof(path), NULL), -1);
	longp[5 + 107] = '\0';
	assert_int_equal(netaddr_unix(longp, path, sizeof(path), NULL), 1);
	assert_int_equal(strlen(path), 107);
}

/* A listen list: one address, or one TCP and one Unix socket. */
static void listen_lists(void **state)
{
	char tcp[64], path[108], err[256];

	(void)state;
	assert_int_equal(netaddr_listen_list("127.0.0.1:0", tcp, sizeof(tcp), path,
					     sizeof(path), err, sizeof(err)), 0);
	assert_string_equal(tcp, "127.0.0.1:0");
	assert_string_equal(path, "");
	assert_int_equal(netaddr_listen_list("unix:/run/g.sock", tcp, sizeof(tcp), path,
					     sizeof(path), err, sizeof(err)), 0);
	assert_string_equal(tcp, "");
	assert_string_equal(path, "/run/g.sock");
	assert_int_equal(netaddr_listen_list("unix:///run/g.sock,[::1]:50051", tcp,
					     sizeof(tcp), path, sizeof(path), err,
					     sizeof(err)), 0);
	assert_string_equal(tcp, "[::1]:50051");
	assert_string_equal(path, "/run/g.sock");

	assert_int_equal(netaddr_listen_list("h:1,h:2", tcp, sizeof(tcp), path, sizeof(path),
					     err, sizeof(err)), -1);
	assert_non_null(strstr(err, "one HOST:PORT at most"));
	assert_int_equal(netaddr_listen_list("unix:a,unix:b", tcp, sizeof(tcp), path,
					     sizeof(path), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "one Unix socket at most"));
	assert_int_equal(netaddr_listen_list("h:1,", tcp, sizeof(tcp), path, sizeof(path),
					     err, sizeof(err)), -1);
	assert_non_null(strstr(err, "separated by a comma"));
	assert_int_equal(netaddr_listen_list("", tcp, sizeof(tcp), path, sizeof(path),
					     err, sizeof(err)), -1);
	assert_int_equal(netaddr_listen_list(NULL, tcp, sizeof(tcp), path, sizeof(path),
					     err, sizeof(err)), -1);
	/* the bad part is named */
	assert_int_equal(netaddr_listen_list("h:1,nowhere", tcp, sizeof(tcp), path,
					     sizeof(path), err, sizeof(err)), -1);
	assert_string_equal(err, "bad listen address 'nowhere' (want HOST:PORT or unix:PATH)");
	assert_int_equal(netaddr_listen_list("h:1,unix:", tcp, sizeof(tcp), path,
					     sizeof(path), err, sizeof(err)), -1);
	assert_string_equal(err, "bad listen address 'unix:': no socket path after unix:");
	/* a HOST:PORT longer than tcp's room */
	assert_int_equal(netaddr_listen_list("averyveryverylonghostnamethatgoesonandonandon."
					     "example:50051", tcp, 16, path, sizeof(path), err,
					     sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splits),
		cmocka_unit_test(rejects),
		cmocka_unit_test(formats),
		cmocka_unit_test(unix_paths),
		cmocka_unit_test(listen_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
