/* Private: "host:port" endpoints and "unix:PATH" socket addresses. */
#ifndef VCLI_NETADDR_H
#define VCLI_NETADDR_H

#include <stddef.h>

/*
 * Splits "host:port", "[v6]:port" into host (without brackets) and port.
 * Returns 0, or -1 when the text has no port, the port is not 0..65535, or
 * the host is empty or too long for hostlen.
 */
int netaddr_split(const char *text, char *host, size_t hostlen, int *port);

/*
 * A Unix socket address in gRPC's naming: "unix:PATH" (relative or
 * absolute) or "unix:///ABSOLUTE/PATH" ("unix://" then an absolute path).
 * Returns 1 and copies the path when text is one; 0 when text is not a
 * unix: address (path untouched); -1 when it is one but unusable, with
 * *why (when why is given) saying what is wrong: no path, "unix://" not
 * followed by '/', a path of pathlen bytes or more (a sockaddr_un holds
 * 107), or "unix-abstract:" (refused: an abstract socket has no file mode,
 * so any process in the network namespace could connect).
 */
int netaddr_unix(const char *text, char *path, size_t pathlen, const char **why);

/*
 * A listen list: "ADDR" or "ADDR,ADDR", at most one HOST:PORT and one
 * unix:PATH (so a socket path given here cannot hold a comma).  Fills tcp
 * (the HOST:PORT, "" if none) and path (the socket's path, "" if none);
 * pathlen is the room for the path (a sockaddr_un's 108).  Returns 0, or
 * -1 with a message naming the bad part in err.
 */
int netaddr_listen_list(const char *text, char *tcp, size_t tcplen, char *path,
			size_t pathlen, char *err, size_t errlen);

struct sockaddr;

/* Writes sa as "ip:port" or "[v6]:port" ("?:0" for another family): the
 * inverse of netaddr_split, for logs and for a listener's bound address. */
void netaddr_format(const struct sockaddr *sa, char *out, size_t outlen);

#endif
