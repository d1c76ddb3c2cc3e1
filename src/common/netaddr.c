#include "common/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

int netaddr_split(const char *text, char *host, size_t hostlen, int *port)
{
	const char *colon, *hs, *he;
	char *end;
	long p;

	if (!text || !*text)
		return -1;
	if (text[0] == '[') {
		he = strchr(text, ']');
		if (!he || he[1] != ':')
			return -1;
		hs = text + 1;
		colon = he + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text)))
			return -1; /* no port, or an unbracketed IPv6 address */
		hs = text;
		he = colon;
	}
	if (he == hs || (size_t)(he - hs) >= hostlen)
		return -1;
	if (!colon[1] || colon[1] < '0' || colon[1] > '9')
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535)
		return -1;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	*port = (int)p;
	return 0;
}

int netaddr_unix(const char *text, char *path, size_t pathlen, const char **why)
{
	const char *p;
	size_t n;

	if (!text)
		return 0;
	if (strncmp(text, "unix-abstract:", 14) == 0) {
		if (why)
			*why = "abstract Unix sockets are not supported (they have no file "
			       "permissions); use unix:PATH";
		return -1;
	}
	if (strncmp(text, "unix:", 5) != 0)
		return 0;
	p = text + 5;
	if (strncmp(p, "//", 2) == 0) {
		p += 2;
		if (*p != '/') {
			if (why)
				*why = "unix:// must be followed by an absolute path "
				       "(unix:///run/x.sock), or use unix:PATH";
			return -1;
		}
	}
	n = strlen(p);
	if (n == 0) {
		if (why)
			*why = "no socket path after unix:";
		return -1;
	}
	if (n >= pathlen) {
		if (why)
			*why = "socket path too long (at most 107 bytes)";
		return -1;
	}
	memcpy(path, p, n + 1);
	return 1;
}

int netaddr_listen_list(const char *text, char *tcp, size_t tcplen, char *path,
			size_t pathlen, char *err, size_t errlen)
{
	const char *p = text ? text : "";
	char item[512], host[256];
	const char *why = NULL;
	int port, u;

	tcp[0] = path[0] = '\0';
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == 0 || n >= sizeof(item)) {
			snprintf(err, errlen, "bad listen address '%s' (want HOST:PORT, unix:PATH, "
				 "or one of each separated by a comma)", text ? text : "");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		u = netaddr_unix(item, host, pathlen < sizeof(host) ? pathlen : sizeof(host),
				 &why);
		if (u < 0) {
			snprintf(err, errlen, "bad listen address '%s': %s", item, why);
			return -1;
		}
		if (u > 0) {
			if (path[0]) {
				snprintf(err, errlen, "bad listen address '%s': one Unix socket at "
					 "most", text);
				return -1;
			}
			memcpy(path, host, strlen(host) + 1);
		} else {
			if (netaddr_split(item, host, sizeof(host), &port) < 0 ||
			    n >= tcplen) {
				snprintf(err, errlen, "bad listen address '%s' (want HOST:PORT or "
					 "unix:PATH)", item);
				return -1;
			}
			if (tcp[0]) {
				snprintf(err, errlen, "bad listen address '%s': one HOST:PORT at "
					 "most", text);
				return -1;
			}
			memcpy(tcp, item, n + 1);
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

void netaddr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		if (inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)))
			snprintf(out, outlen, "[%s]:%d", ip, ntohs(a->sin6_port));
		else
			snprintf(out, outlen, "?:0");
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

		if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
			snprintf(out, outlen, "%s:%d", ip, ntohs(a->sin_port));
		else
			snprintf(out, outlen, "?:0");
	} else {
		snprintf(out, outlen, "?:0");
	}
}
