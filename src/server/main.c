/*
 * governd: the governance daemon.  Parses flags, starts the transport with
 * the services registered, and shuts down gracefully on SIGTERM / SIGINT.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <uv.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "rpc/server.h"
#include "server/governance.h"
#include "server/health.h"

enum { EXIT_USAGE = 2 };

/* Options are data: one row per flag. */
enum opt_kind { OPT_STR, OPT_U32, OPT_INT, OPT_DUR_MS, OPT_FLAG, OPT_LEVEL, OPT_FORMAT };

struct config {
	rpc_server_options rpc;
	int log_level;
	int log_format;
	int help, version;
};

struct opt {
	const char *name;
	enum opt_kind kind;
	size_t offset;
	const char *arg;
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct opt options[] = {
	{ "listen", OPT_STR, OFF(rpc.listen), "HOST:PORT",
	  "address to serve gRPC on (default 127.0.0.1:50051; port 0 picks one)" },
	{ "threads", OPT_INT, OFF(rpc.threads), "N",
	  "worker threads, each with its own event loop (default: CPUs)" },
	{ "tls-cert", OPT_STR, OFF(rpc.tls_cert_file), "FILE", "TLS certificate chain (PEM)" },
	{ "tls-key", OPT_STR, OFF(rpc.tls_key_file), "FILE", "TLS private key (PEM)" },
	{ "tls-client-ca", OPT_STR, OFF(rpc.tls_client_ca_file), "FILE",
	  "require client certificates signed by this CA (mTLS)" },
	{ "max-recv-size", OPT_U32, OFF(rpc.max_recv_size), "BYTES",
	  "largest request message accepted (default 4194304)" },
	{ "max-streams", OPT_U32, OFF(rpc.max_concurrent_streams), "N",
	  "concurrent calls per connection (default 1000)" },
	{ "max-connections", OPT_U32, OFF(rpc.max_connections), "N",
	  "open connections at most (default 10000)" },
	{ "keepalive-time", OPT_DUR_MS, OFF(rpc.keepalive_time_ms), "DUR",
	  "PING a connection silent this long (default 2h)" },
	{ "keepalive-timeout", OPT_DUR_MS, OFF(rpc.keepalive_timeout_ms), "DUR",
	  "close it when the PING gets no answer in this time (default 20s)" },
	{ "keepalive-min-time", OPT_DUR_MS, OFF(rpc.keepalive_min_time_ms), "DUR",
	  "clients may PING at most this often; abusers get GOAWAY (default 5s)" },
	{ "keepalive-permit-without-calls", OPT_FLAG,
	  OFF(rpc.keepalive_permit_without_calls), NULL,
	  "let clients PING while they have no call in flight" },
	{ "handshake-timeout", OPT_DUR_MS, OFF(rpc.handshake_timeout_ms), "DUR",
	  "TLS and HTTP/2 preface must finish within this (default 10s)" },
	{ "idle-timeout", OPT_DUR_MS, OFF(rpc.idle_timeout_ms), "DUR",
	  "close connections without calls for this long (default: never)" },
	{ "grace", OPT_DUR_MS, OFF(rpc.grace_ms), "DUR",
	  "on SIGTERM, time in-flight calls get to finish (default 10s)" },
	{ "log-level", OPT_LEVEL, OFF(log_level), "LEVEL",
	  "error, warn, info or debug (default info; debug logs every call)" },
	{ "log-format", OPT_FORMAT, OFF(log_format), "FORMAT", "logfmt or json (default logfmt)" },
	{ "help", OPT_FLAG, OFF(help), NULL, "show this help" },
	{ "version", OPT_FLAG, OFF(version), NULL, "show the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: governd [options]\n\n"
		   "The governance daemon: serves vertice.governance.v1.GovernanceService\n"
		   "and grpc.health.v1.Health over gRPC.\n\noptions:\n");
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", options[i].name,
			 options[i].arg ? " " : "", options[i].arg ? options[i].arg : "");
		fprintf(f, "  %-36s %s\n", left, options[i].help);
	}
	fprintf(f, "\nDurations take a unit: 500ms, 10s, 5m, 2h.\n"
		   "Exit status: 0 after a clean shutdown, 1 when it cannot serve, 2 on bad usage.\n");
}

static int set_option(struct config *cfg, const struct opt *o, const char *val)
{
	char *p = (char *)cfg + o->offset;
	char *end;
	unsigned long long v;
	uint64_t ms;
	int x;

	switch (o->kind) {
	case OPT_STR:
		if (!*val)
			goto bad;
		*(const char **)p = val;
		return 0;
	case OPT_U32:
	case OPT_INT:
		errno = 0;
		if (*val < '0' || *val > '9')
			goto bad;
		v = strtoull(val, &end, 10);
		if (errno || *end || v == 0 || v > (o->kind == OPT_INT ? 256 : UINT32_MAX))
			goto bad;
		if (o->kind == OPT_INT)
			*(int *)p = (int)v;
		else
			*(uint32_t *)p = (uint32_t)v;
		return 0;
	case OPT_DUR_MS:
		if (duration_parse_ms(val, &ms) < 0 || ms > UINT32_MAX)
			goto bad;
		*(uint32_t *)p = (uint32_t)ms;
		return 0;
	case OPT_LEVEL:
		if ((x = log_level_parse(val)) < 0)
			goto bad;
		*(int *)p = x;
		return 0;
	case OPT_FORMAT:
		if ((x = log_format_parse(val)) < 0)
			goto bad;
		*(int *)p = x;
		return 0;
	case OPT_FLAG:
		*(int *)p = 1;
		return 0;
	}
bad:
	fprintf(stderr, "governd: invalid value '%s' for --%s (%s)\n", val, o->name,
		o->arg ? o->arg : "flag");
	return -1;
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const struct opt *o = NULL;
		size_t nlen;

		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "governd: unexpected argument '%s'; see 'governd --help'\n", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++)
			if (strlen(options[k].name) == nlen && memcmp(options[k].name, a, nlen) == 0)
				o = &options[k];
		if (!o) {
			fprintf(stderr, "governd: unknown option '%s'; see 'governd --help'\n", argv[i]);
			return -1;
		}
		if (o->kind == OPT_FLAG) {
			if (eq) {
				fprintf(stderr, "governd: --%s takes no value\n", o->name);
				return -1;
			}
		} else if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "governd: --%s needs a value (%s)\n", o->name, o->arg);
			return -1;
		}
		if (set_option(cfg, o, val ? val : "") < 0)
			return -1;
	}
	return 0;
}

static rpc_server *server;
static uv_signal_t sigterm, sigint;

static void on_signal(uv_signal_t *s, int signum)
{
	log_msg(LOG_INFO, "shutting down", "signal", signum == SIGINT ? "SIGINT" : "SIGTERM",
		NULL);
	/* Watchers hear NOT_SERVING first, then the transport drains. */
	health_set_draining(server);
	rpc_server_shutdown(server);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
}

int main(int argc, char **argv)
{
	struct config cfg;
	char err[512], bound[300], threads[16];
	rpc_code rc;
	uv_loop_t *loop = uv_default_loop();

	memset(&cfg, 0, sizeof(cfg));
	rpc_server_options_init(&cfg.rpc);
	cfg.log_level = LOG_INFO;
	if (parse_args(argc, argv, &cfg) < 0)
		return EXIT_USAGE;
	if (cfg.help) {
		usage(stdout);
		return 0;
	}
	if (cfg.version) {
		printf("governd %s\n", VCLI_VERSION);
		return 0;
	}
	log_setup((log_level)cfg.log_level, (log_format)cfg.log_format);
	signal(SIGPIPE, SIG_IGN);

	rc = rpc_server_new(&cfg.rpc, &server, err, sizeof(err));
	if (rc != RPC_OK) {
		log_msg(LOG_ERROR, "cannot start", "error", err, NULL);
		return rc == RPC_E_ADDR || rc == RPC_E_INVALID ? EXIT_USAGE : 1;
	}
	if (governance_register(server) < 0 || health_register(server) < 0) {
		log_msg(LOG_ERROR, "cannot register services", NULL);
		rpc_server_free(server);
		return 1;
	}
	/* Signals are caught before the workers start, so that a SIGTERM
	 * arriving during start-up still drains instead of killing. */
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	rc = rpc_server_start(server, bound, sizeof(bound), err, sizeof(err));
	if (rc != RPC_OK) {
		log_msg(LOG_ERROR, "cannot listen", "addr", cfg.rpc.listen, "error", err, NULL);
		rpc_server_shutdown(server);
		rpc_server_free(server);
		health_release();
		return 1;
	}
	snprintf(threads, sizeof(threads), "%d", cfg.rpc.threads ? cfg.rpc.threads :
		 (int)sysconf(_SC_NPROCESSORS_ONLN));
	log_msg(LOG_INFO, "governd listening", "addr", bound, "threads", threads, "tls",
		cfg.rpc.tls_cert_file ? (cfg.rpc.tls_client_ca_file ? "mtls" : "true") : "false",
		"version", VCLI_VERSION, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	rpc_server_wait(server);
	rpc_server_free(server);
	health_release();
	uv_loop_close(loop);
	log_msg(LOG_INFO, "stopped", NULL);
	return 0;
}
