/*
 * rpcprobe: makes gRPC calls through the public client library only
 * (include/vcli/client.h) and prints how each one ended, one line per call,
 * in a form tests can match:
 *
 *   status=NAME message="..." msgs=K bytes=N attempts=A elapsed_ms=T
 *     circuit=closed|open|half-open failures=F
 *   response=HEX                      (unary calls that ended OK)
 *
 * With --stdin it makes one call per line read from stdin (until EOF), so
 * that a test can change the world between calls of one client: the
 * retry policy, the reconnect back-off and the circuit breaker are the
 * client's state.
 *
 * Exit status: 0 when every call completed with some gRPC status (an error
 * status included: reporting it is the point), 2 for a usage error, 1 when
 * the library refused to make the client or a call.
 *
 * Run with no arguments for the usage.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vcli/client.h"

#define MAX_METADATA 64
#define MAX_REQUEST_SIZE (64u << 20) /* enough to exceed any server limit */

enum kind { K_FLAG, K_STRING, K_UINT, K_METADATA };

struct probe {
	const char *server;
	int tls;
	const char *ca, *cert, *key, *server_name;
	int gzip;
	unsigned long deadline_ms, max_recv, connect_timeout_ms;
	const char *request_hex;
	unsigned long request_size;
	int request_size_set;
	int stream;
	unsigned long cancel_after;
	int cancel_after_set;
	unsigned long repeat;
	unsigned long interval_ms;
	int from_stdin;
	/* resilience (vcli_client_options) */
	int retry_safe;
	unsigned long max_attempts, retry_backoff_ms, reconnect_backoff_ms;
	int no_reconnect_backoff;
	unsigned long breaker_threshold, breaker_cooldown_ms;
	int no_breaker;
	const char *method;

	/* --metadata, with the decoded values (owned). */
	vcli_metadata md[MAX_METADATA];
	char *md_key[MAX_METADATA];
	uint8_t *md_value[MAX_METADATA];
	size_t nmd;
};

struct optdef {
	const char *name;
	enum kind kind;
	size_t offset;    /* into struct probe */
	size_t set_offset;/* K_UINT: an int set to 1 when given; 0: none */
};

#define P(field) offsetof(struct probe, field)

static const struct optdef optdefs[] = {
	{ "--server", K_STRING, P(server), 0 },
	{ "--tls", K_FLAG, P(tls), 0 },
	{ "--ca", K_STRING, P(ca), 0 },
	{ "--cert", K_STRING, P(cert), 0 },
	{ "--key", K_STRING, P(key), 0 },
	{ "--server-name", K_STRING, P(server_name), 0 },
	{ "--gzip", K_FLAG, P(gzip), 0 },
	{ "--deadline-ms", K_UINT, P(deadline_ms), 0 },
	{ "--connect-timeout-ms", K_UINT, P(connect_timeout_ms), 0 },
	{ "--max-recv", K_UINT, P(max_recv), 0 },
	{ "--metadata", K_METADATA, 0, 0 },
	{ "--request-hex", K_STRING, P(request_hex), 0 },
	{ "--request-size", K_UINT, P(request_size), P(request_size_set) },
	{ "--stream", K_FLAG, P(stream), 0 },
	{ "--cancel-after", K_UINT, P(cancel_after), P(cancel_after_set) },
	{ "--repeat", K_UINT, P(repeat), 0 },
	{ "--interval-ms", K_UINT, P(interval_ms), 0 },
	{ "--stdin", K_FLAG, P(from_stdin), 0 },
	{ "--retry-safe", K_FLAG, P(retry_safe), 0 },
	{ "--max-attempts", K_UINT, P(max_attempts), 0 },
	{ "--retry-backoff-ms", K_UINT, P(retry_backoff_ms), 0 },
	{ "--reconnect-backoff-ms", K_UINT, P(reconnect_backoff_ms), 0 },
	{ "--no-reconnect-backoff", K_FLAG, P(no_reconnect_backoff), 0 },
	{ "--breaker-threshold", K_UINT, P(breaker_threshold), 0 },
	{ "--breaker-cooldown-ms", K_UINT, P(breaker_cooldown_ms), 0 },
	{ "--no-breaker", K_FLAG, P(no_breaker), 0 },
};

static void usage(FILE *f)
{
	fputs("usage: rpcprobe --server HOST:PORT [--tls] [--ca F] [--cert F]"
	      " [--key F]\n"
	      "         [--server-name N] [--gzip] [--deadline-ms N]"
	      " [--connect-timeout-ms N]\n"
	      "         [--max-recv N] [--metadata key=value]...\n"
	      "         [--request-hex HEX | --request-size N] [--stream]"
	      " [--cancel-after N]\n"
	      "         [--repeat N [--interval-ms N] | --stdin]\n"
	      "         [--retry-safe] [--max-attempts N] [--retry-backoff-ms N]\n"
	      "         [--reconnect-backoff-ms N | --no-reconnect-backoff]\n"
	      "         [--breaker-threshold N] [--breaker-cooldown-ms N]"
	      " [--no-breaker] METHOD\n"
	      "\n"
	      "METHOD is the full path, e.g."
	      " /vertice.governance.v1.GovernanceService/HealthCheck.\n"
	      "A --metadata key ending in -bin takes its value as hex.\n"
	      "--request-size N sends N bytes of 'a' as protobuf bytes"
	      " field 1.\n"
	      "--repeat makes N sequential calls on one client (connection"
	      " reuse);\n"
	      "--interval-ms waits between them (time to restart the server,"
	      " or for\n"
	      "its idle timeout, to see the client reconnect).\n"
	      "--stdin makes one call per line of stdin instead, on one"
	      " client.\n"
	      "The resilience options are those of vcli_client_options and"
	      " vcli_call_options\n"
	      "(0 or absent: the library's defaults).\n", f);
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("rpcprobe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(run rpcprobe without arguments for the usage)\n", stderr);
	return 2;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex text into a new buffer (*out, owned by the caller; at least
 * one byte so that an empty value is not a NULL pointer). */
static int hex_decode(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *buf;

	if (n % 2)
		return -1;
	buf = malloc(n / 2 + 1);
	if (!buf)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(buf);
			return -1;
		}
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = buf;
	*len = n / 2;
	return 0;
}

static int parse_uint(const char *text, unsigned long *out)
{
	char *end;
	unsigned long long v;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

static int add_metadata(struct probe *p, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t klen;
	char *key;

	if (!eq || eq == arg)
		return usage_error("bad --metadata '%s' (use key=value)", arg);
	if (p->nmd == MAX_METADATA)
		return usage_error("too many --metadata (at most 64), at '%s'",
				   arg);
	klen = (size_t)(eq - arg);
	key = malloc(klen + 1);
	if (!key)
		return 1;
	memcpy(key, arg, klen);
	key[klen] = '\0';
	p->md_key[p->nmd] = key;
	if (klen > 4 && strcmp(key + klen - 4, "-bin") == 0) {
		if (hex_decode(eq + 1, &p->md_value[p->nmd],
			       &p->md[p->nmd].value_len) < 0) {
			free(key);
			return usage_error("bad hex in --metadata '%s'", arg);
		}
	} else {
		size_t vlen = strlen(eq + 1);

		p->md_value[p->nmd] = malloc(vlen + 1);
		if (!p->md_value[p->nmd]) {
			free(key);
			return 1;
		}
		memcpy(p->md_value[p->nmd], eq + 1, vlen + 1);
		p->md[p->nmd].value_len = vlen;
	}
	p->md[p->nmd].key = key;
	p->md[p->nmd].value = p->md_value[p->nmd];
	p->nmd++;
	return 0;
}

static int parse_args(struct probe *p, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const struct optdef *d = NULL;
		char *base = (char *)p;

		if (argv[i][0] != '-') {
			if (p->method)
				return usage_error("more than one METHOD, at "
						   "'%s'", argv[i]);
			p->method = argv[i];
			continue;
		}
		for (size_t j = 0; j < sizeof(optdefs) / sizeof(optdefs[0]);
		     j++)
			if (strcmp(optdefs[j].name, argv[i]) == 0)
				d = &optdefs[j];
		if (!d)
			return usage_error("unknown option '%s'", argv[i]);
		if (d->kind == K_FLAG) {
			*(int *)(base + d->offset) = 1;
			continue;
		}
		if (i + 1 >= argc)
			return usage_error("option '%s' needs a value",
					   argv[i]);
		i++;
		switch (d->kind) {
		case K_STRING:
			*(const char **)(base + d->offset) = argv[i];
			break;
		case K_UINT:
			if (parse_uint(argv[i],
				       (unsigned long *)(base + d->offset)) < 0)
				return usage_error("bad number '%s'", argv[i]);
			if (d->set_offset)
				*(int *)(base + d->set_offset) = 1;
			break;
		case K_METADATA: {
			int rc = add_metadata(p, argv[i]);

			if (rc)
				return rc;
			break;
		}
		case K_FLAG:
			break;
		}
	}
	if (!p->server)
		return usage_error("%s", "--server is required");
	if (!p->method)
		return usage_error("%s", "METHOD is required");
	if (p->request_hex && p->request_size_set)
		return usage_error("%s", "use --request-hex or --request-size, "
				   "not both");
	if (p->request_size > MAX_REQUEST_SIZE)
		return usage_error("%s", "--request-size is over 64 MiB");
	if (p->cancel_after_set && !p->stream)
		return usage_error("%s", "--cancel-after needs --stream");
	if (p->repeat == 0)
		p->repeat = 1;
	return 0;
}

/* Builds the request: --request-hex bytes, or --request-size N bytes of
 * 'a' as field 1 (tag 0x0a, varint length), or nothing. */
static int build_request(const struct probe *p, uint8_t **out, size_t *len)
{
	if (p->request_hex) {
		if (hex_decode(p->request_hex, out, len) < 0)
			return usage_error("bad hex in --request-hex '%s'",
					   p->request_hex);
		return 0;
	}
	if (p->request_size_set) {
		uint8_t *buf = malloc(p->request_size + 16);
		size_t n = 0;
		unsigned long v = p->request_size;

		if (!buf)
			return 1;
		buf[n++] = 0x0a;
		do {
			uint8_t b = v & 0x7f;

			v >>= 7;
			buf[n++] = (uint8_t)(v ? b | 0x80 : b);
		} while (v);
		memset(buf + n, 0x61, p->request_size);
		*out = buf;
		*len = n + p->request_size;
		return 0;
	}
	*out = malloc(1);
	*len = 0;
	return *out ? 0 : 1;
}

/* Prints the message with '"', '\\' and non-printable bytes escaped, so
 * one call is always one line. */
static void print_quoted(const char *s)
{
	putchar('"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			printf("\\x%02x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

static void print_hex(const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", data[i]);
}

struct stream_state {
	unsigned long msgs;
	size_t bytes;
	unsigned long cancel_after;
	int cancel;
};

static int on_message(void *ud, const uint8_t *msg, size_t len)
{
	struct stream_state *st = ud;

	st->msgs++;
	st->bytes += len;
	return st->cancel && st->msgs >= st->cancel_after;
}

static void refused(const struct probe *p, vcli_code code)
{
	fprintf(stderr, "rpcprobe: the library refused the call to '%s': %s "
		"(check METHOD and the --metadata keys)\n", p->method,
		vcli_strerror(code));
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The fields after bytes=N: how the call went through the resilience. */
static void print_resilience(vcli_client *client, const vcli_call_result *r,
			     double started)
{
	static const char *const states[] = { "closed", "open", "half-open" };
	vcli_circuit_info ci;

	vcli_client_circuit(client, &ci);
	printf(" attempts=%u elapsed_ms=%.3f circuit=%s failures=%u",
	       r->attempts, now_ms() - started, states[ci.state], ci.failures);
}

static int one_call(vcli_client *client, const struct probe *p,
		    const uint8_t *req, size_t req_len)
{
	vcli_call_options copts;
	vcli_call_result result;
	vcli_code code;
	double started = now_ms();

	memset(&copts, 0, sizeof(copts));
	copts.retry_safe = p->retry_safe;
	copts.deadline_ms = (uint32_t)p->deadline_ms;
	copts.metadata = p->nmd ? p->md : NULL;
	copts.metadata_count = p->nmd;
	memset(&result, 0, sizeof(result));

	if (p->stream) {
		struct stream_state st = { 0, 0, p->cancel_after,
					   p->cancel_after_set };

		code = vcli_client_stream(client, p->method, req, req_len,
					  on_message, &st, &copts, &result);
		if (code != VCLI_OK) {
			refused(p, code);
			return 1;
		}
		printf("status=%s message=", vcli_status_name(result.status));
		print_quoted(result.message);
		printf(" msgs=%lu bytes=%zu", st.msgs, st.bytes);
		print_resilience(client, &result, started);
		putchar('\n');
	} else {
		vcli_bytes resp = { NULL, 0 };
		int ok;

		code = vcli_client_unary(client, p->method, req, req_len,
					 &resp, &copts, &result);
		if (code != VCLI_OK) {
			refused(p, code);
			vcli_bytes_release(&resp);
			return 1;
		}
		ok = result.status == VCLI_STATUS_OK;
		printf("status=%s message=", vcli_status_name(result.status));
		print_quoted(result.message);
		printf(" msgs=%d bytes=%zu", ok ? 1 : 0, ok ? resp.len : 0);
		print_resilience(client, &result, started);
		putchar('\n');
		if (ok) {
			fputs("response=", stdout);
			print_hex(resp.data, resp.len);
			putchar('\n');
		}
		vcli_bytes_release(&resp);
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct probe p;
	vcli_client_options o;
	vcli_client *client = NULL;
	uint8_t *req = NULL;
	size_t req_len = 0;
	char err[256] = "";
	vcli_code code;
	int rc;

	memset(&p, 0, sizeof(p));
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	rc = parse_args(&p, argc, argv);
	if (rc)
		goto out;
	rc = build_request(&p, &req, &req_len);
	if (rc)
		goto out;

	vcli_client_options_init(&o);
	o.endpoint = p.server;
	o.tls = p.tls || p.ca || p.cert || p.key || p.server_name;
	o.tls_ca_file = p.ca;
	o.tls_cert_file = p.cert;
	o.tls_key_file = p.key;
	o.tls_server_name = p.server_name;
	o.max_recv_size = (uint32_t)p.max_recv;
	o.connect_timeout_ms = (uint32_t)p.connect_timeout_ms;
	o.gzip = p.gzip;
	o.user_agent = "rpcprobe";
	o.retry.max_attempts = (uint32_t)p.max_attempts;
	o.retry.backoff.initial_ms = (uint32_t)p.retry_backoff_ms;
	o.reconnect.initial_ms = (uint32_t)p.reconnect_backoff_ms;
	o.reconnect_off = p.no_reconnect_backoff;
	o.breaker.threshold = (uint32_t)p.breaker_threshold;
	o.breaker.cooldown_ms = (uint32_t)p.breaker_cooldown_ms;
	o.breaker.off = p.no_breaker;
	code = vcli_client_new(&o, &client, err, sizeof(err));
	if (code != VCLI_OK) {
		fprintf(stderr, "rpcprobe: cannot create the client: %s%s%s\n",
			vcli_strerror(code), err[0] ? ": " : "", err);
		rc = 1;
		goto out;
	}
	/* One call per line of stdin, on one client. */
	if (p.from_stdin) {
		char line[256];

		while (rc == 0 && fgets(line, sizeof(line), stdin))
			rc = one_call(client, &p, req, req_len);
		goto out;
	}
	/* Sequential calls on one client: the second and later reuse the
	 * connection, or re-open it when the server dropped it. */
	for (unsigned long i = 0; i < p.repeat && rc == 0; i++) {
		if (i > 0 && p.interval_ms) {
			struct timespec ts = {
				(time_t)(p.interval_ms / 1000),
				(long)(p.interval_ms % 1000) * 1000000L,
			};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		rc = one_call(client, &p, req, req_len);
	}
out:
	vcli_client_free(client);
	free(req);
	for (size_t i = 0; i < p.nmd; i++) {
		free(p.md_key[i]);
		free(p.md_value[i]);
	}
	return rc;
}
