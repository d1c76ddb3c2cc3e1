/* Private: "host:port" endpoints. */
#ifndef VCLI_NETADDR_H
#define VCLI_NETADDR_H

#include <stddef.h>

/*
 * Splits "host:port", "[v6]:port" into host (without brackets) and port.
 * Returns 0, or -1 when the text has no port, the port is not 0..65535, or
 * the host is empty or too long for hostlen.
 */
int netaddr_split(const char *text, char *host, size_t hostlen, int *port);

struct sockaddr;

/* Writes sa as "ip:port" or "[v6]:port" ("?:0" for another family): the
 * inverse of netaddr_split, for logs and for a listener's bound address. */
void netaddr_format(const struct sockaddr *sa, char *out, size_t outlen);

#endif
