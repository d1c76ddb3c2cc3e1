/*
 * governd: the governance daemon.  Reads its settings (flags, GOVERND_*
 * variables, the configuration file: server/config.h), starts the transport
 * with the services registered, reloads what can change live on SIGHUP and
 * shuts down gracefully on SIGTERM / SIGINT.
 * `governd token ...` manages bearer tokens and `governd backup ...` copies
 * the store instead (token_cmd.c, backup_cmd.c).
 *
 * Safe defaults (docs/security.md): on a loopback address governd may run
 * without credentials; on any other address it refuses to start without
 * TLS and authentication, unless --insecure, which it then warns about at
 * every start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <uv.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/opts.h"
#include "common/timeutil.h"
#include "rpc/server.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/exporter.h"
#include "server/governance.h"
#include "server/governd.h"
#include "server/health.h"
#include "server/sweeper.h"
#include "store/store.h"

enum { EXIT_USAGE = GOVERND_EXIT_USAGE };

struct config {
	rpc_server_options rpc;
	int log_level;
	int log_format;
	uint32_t threads;
	const char *db;
	int demo;
	uint32_t heartbeat_ms;
	uint32_t event_retention;
	uint32_t max_queued_writes;
	int auth;
	struct opt_list mtls_role;
	const char *mtls_default_role;
	struct opt_list peer_role;
	int insecure;
	const char *config;
	int check_config;
	const char *metrics_listen;
	int cpu_latency_us;
	int help, version;
};

/* One process, one configuration: the option table points into it. */
static struct config cfg;

static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const format_names[] = { "logfmt", "json", NULL };

/* Options are data (common/opts.h): parsing and --help come from here, and
 * every long option but the command-line-only ones is also a key of the
 * configuration file and a GOVERND_* variable (server/config.h). */
static const struct opt options[] = {
	{ "listen", 0, OPT_STRING, &cfg.rpc.listen,
	  "address to serve gRPC on (default 127.0.0.1:50051; port 0 picks one; "
	  "unix:PATH a Unix socket, mode 0660, in clear; or one of each: A,B)", NULL,
	  "HOST:PORT|unix:PATH" },
	{ "db", 0, OPT_STRING, &cfg.db,
	  "SQLite database file (default $XDG_STATE_HOME/governd/governd.db)", NULL, "PATH" },
	{ "demo", 0, OPT_FLAG, &cfg.demo,
	  "fill an empty store with realistic sample decisions", NULL, NULL },
	{ "heartbeat", 0, OPT_DURATION, &cfg.heartbeat_ms,
	  "StreamEvents sends HEARTBEAT after this long without an event (default 15s)",
	  NULL, NULL },
	{ "event-retention", 0, OPT_UINT32, &cfg.event_retention,
	  "decision events kept for StreamDecisions resume (default 100000)", NULL, "N" },
	{ "max-queued-writes", 0, OPT_UINT32, &cfg.max_queued_writes,
	  "writes waiting for the store at most; more get RESOURCE_EXHAUSTED (default 16384)",
	  NULL, "N" },
	{ "threads", 0, OPT_UINT32, &cfg.threads,
	  "worker threads, each with its own event loop (default: CPUs)", NULL, NULL },
	{ "tls-cert", 0, OPT_STRING, &cfg.rpc.tls_cert_file,
	  "TLS certificate chain (PEM)", NULL, "FILE" },
	{ "tls-key", 0, OPT_STRING, &cfg.rpc.tls_key_file,
	  "TLS private key (PEM)", NULL, "FILE" },
	{ "tls-client-ca", 0, OPT_STRING, &cfg.rpc.tls_client_ca_file,
	  "require client certificates signed by this CA (mTLS; implies --auth)", NULL, "FILE" },
	{ "auth", 0, OPT_FLAG, &cfg.auth,
	  "require a credential (bearer token or client certificate) on every call but health",
	  NULL, NULL },
	{ "mtls-role", 0, OPT_LIST, &cfg.mtls_role,
	  "role of a client certificate identity (repeatable)", NULL, "IDENTITY=ROLE" },
	{ "mtls-default-role", 0, OPT_STRING, &cfg.mtls_default_role,
	  "role of certificate identities without --mtls-role (default: none)", NULL, "ROLE" },
	{ "peer-role", 0, OPT_LIST, &cfg.peer_role,
	  "on the Unix socket, the role of a local user (repeatable; implies --auth)", NULL,
	  "USER=ROLE" },
	{ "insecure", 0, OPT_FLAG, &cfg.insecure,
	  "serve a non-loopback address without TLS or authentication (warns)", NULL, NULL },
	{ "metrics-listen", 0, OPT_STRING, &cfg.metrics_listen,
	  "serve /metrics, /healthz, /readyz over HTTP here (default 127.0.0.1:9464; off: none)",
	  NULL, "HOST:PORT" },
	{ "cpu-latency-us", 0, OPT_INT, &cfg.cpu_latency_us,
	  "hold a CPU wake-up latency request of N us while running (Linux PM QoS; "
	  "default -1: none)", NULL, "N" },
	{ "max-recv-size", 0, OPT_UINT32, &cfg.rpc.max_recv_size,
	  "largest request message accepted (default 4194304)", NULL, "BYTES" },
	{ "max-streams", 0, OPT_UINT32, &cfg.rpc.max_concurrent_streams,
	  "concurrent calls per connection (default 1000)", NULL, NULL },
	{ "max-connections", 0, OPT_UINT32, &cfg.rpc.max_connections,
	  "open connections at most (default 10000)", NULL, NULL },
	{ "keepalive-time", 0, OPT_DURATION, &cfg.rpc.keepalive_time_ms,
	  "PING a connection silent this long (default 2h)", NULL, NULL },
	{ "keepalive-timeout", 0, OPT_DURATION, &cfg.rpc.keepalive_timeout_ms,
	  "close it when the PING gets no answer in this time (default 20s)", NULL, NULL },
	{ "keepalive-min-time", 0, OPT_DURATION, &cfg.rpc.keepalive_min_time_ms,
	  "clients may PING at most this often; abusers get GOAWAY (default 5s)", NULL, NULL },
	{ "keepalive-permit-without-calls", 0, OPT_FLAG,
	  &cfg.rpc.keepalive_permit_without_calls,
	  "let clients PING while they have no call in flight", NULL, NULL },
	{ "handshake-timeout", 0, OPT_DURATION, &cfg.rpc.handshake_timeout_ms,
	  "TLS and HTTP/2 preface must finish within this (default 10s)", NULL, NULL },
	{ "idle-timeout", 0, OPT_DURATION, &cfg.rpc.idle_timeout_ms,
	  "close connections without calls for this long (default: never)", NULL, NULL },
	{ "default-deadline", 0, OPT_DURATION, &cfg.rpc.default_deadline_ms,
	  "unary calls sent without a deadline end after this (default 60s; 0: never)",
	  NULL, NULL },
	{ "grace", 0, OPT_DURATION, &cfg.rpc.grace_ms,
	  "on SIGTERM, time in-flight calls get to finish (default 10s)", NULL, NULL },
	{ "log-level", 0, OPT_ENUM, &cfg.log_level,
	  "log level (default info; debug logs every call)", level_names, NULL },
	{ "log-format", 0, OPT_ENUM, &cfg.log_format,
	  "log line format (default logfmt)", format_names, NULL },
	{ "config", 0, OPT_STRING, &cfg.config,
	  "configuration file (default ~/.config/governd/governd.conf, else "
	  "/etc/governd/governd.conf)", NULL, "PATH" },
	{ "check-config", 0, OPT_FLAG, &cfg.check_config,
	  "check the settings, print each with its source, and exit", NULL, NULL },
	{ "help", 'h', OPT_FLAG, &cfg.help, "show this help", NULL, NULL },
	{ "version", 0, OPT_FLAG, &cfg.version, "show the version", NULL, NULL },
	OPT_END,
};

/* Command-line only: not keys of the file, not variables. */
static const char *const cli_only[] = { "help", "version", "check-config", NULL };

static void usage(FILE *f)
{
	fprintf(f, "usage: governd [options]\n"
		   "       governd token create|list|revoke ...\n"
		   "       governd backup --to FILE [--db PATH]\n\n"
		   "The governance daemon: serves vertice.governance.v1.GovernanceService\n"
		   "and grpc.health.v1.Health over gRPC.\n\noptions:\n");
	opts_print_help(f, options);
	fprintf(f, "\nEvery option but --help, --version, --check-config is also a key of the\n"
		   "configuration file ('log-level = debug') and a variable (GOVERND_LOG_LEVEL);\n"
		   "a flag wins over the variable, the variable over the file.  SIGHUP re-reads\n"
		   "the file and applies log-level, log-format and heartbeat.\n"
		   "Durations take a unit: 500ms, 10s, 1m30s, 2h.\n"
		   "Roles: producer, operator, admin.  Tokens: 'governd token --help'.\n"
		   "Exit status: 0 after a clean shutdown, 1 when it cannot serve, 2 on bad usage\n"
		   "or a bad setting (--check-config: 0 when the settings are valid, 2 if not).\n");
}

static char default_db[1024];

/* The built-in defaults, written where the settings go so that
 * --check-config shows the values governd really uses. */
static void config_defaults(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&cfg, 0, sizeof(cfg));
	rpc_server_options_init(&cfg.rpc);
	cfg.log_level = LOG_INFO;
	cfg.log_format = LOG_FMT_LOGFMT;
	cfg.heartbeat_ms = 15000;
	cfg.event_retention = 100000;
	cfg.max_queued_writes = 16384;
	cfg.cpu_latency_us = -1;
	cfg.threads = cpus < 1 ? 1 : cpus > 256 ? 256 : (uint32_t)cpus;
	cfg.db = governd_default_db(default_db, sizeof(default_db));
}

/* The settings as they start governd, and a reload's scratch copy. */
static struct gconf sources, reload_sources;

/* Checks what no single value shows: combinations and ranges. */
static int check_settings(char *err, size_t errlen)
{
	if (cfg.threads > 256) {
		snprintf(err, errlen, "invalid number '%u' for 'threads' (use 1 to 256)",
			 cfg.threads);
		return -1;
	}
	if (!cfg.rpc.tls_cert_file != !cfg.rpc.tls_key_file) {
		snprintf(err, errlen, "'%s' needs '%s' as well",
			 cfg.rpc.tls_cert_file ? "tls-cert" : "tls-key",
			 cfg.rpc.tls_cert_file ? "tls-key" : "tls-cert");
		return -1;
	}
	if (cfg.rpc.tls_client_ca_file && !cfg.rpc.tls_cert_file) {
		snprintf(err, errlen, "'tls-client-ca' needs 'tls-cert' and 'tls-key' (mTLS is "
			 "TLS first)");
		return -1;
	}
	if (cfg.cpu_latency_us < -1) {
		snprintf(err, errlen, "invalid number '%d' for 'cpu-latency-us' (use 0 or more "
			 "microseconds, or -1 for no request)", cfg.cpu_latency_us);
		return -1;
	}
	cfg.rpc.threads = (int)cfg.threads;
	return 0;
}

/*
 * Linux PM QoS: while the returned descriptor stays open, no CPU enters an
 * idle state it takes longer than us microseconds to wake from.  On a VM
 * whose idle CPUs halt, a wake-up through the hypervisor costs milliseconds,
 * and at a low request rate that is most of a call's tail latency
 * (docs/operations.md).  -1 when not asked for or not allowed (logged).
 */
static int hold_cpu_latency(int us)
{
	static const char path[] = "/dev/cpu_dma_latency";
	int32_t v = us;
	int fd;

	if (us < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
		log_msg(LOG_WARN, "cannot hold a CPU wake-up latency request; running without",
			"path", path, "error", strerror(errno), NULL);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	{
		char n[16];

		snprintf(n, sizeof(n), "%d", us);
		log_msg(LOG_INFO, "holding a CPU wake-up latency request", "max_us", n, NULL);
	}
	return fd;
}

/* Loads every source into cfg (over the defaults); -1 after printing why. */
static int load_config(struct gconf *g, int argc, char **argv)
{
	char err[1400];

	config_defaults();
	g->table = options;
	g->cli_only = cli_only;
	g->config_key = "config";
	if (gconf_load(g, argc, argv, err, sizeof(err)) < 0 ||
	    check_settings(err, sizeof(err)) < 0) {
		fprintf(stderr, "governd: %s; see 'governd --help'\n", err);
		return -1;
	}
	return 0;
}

/* ---- credentials and safe defaults ---- */

static struct auth_mtls_role mtls_roles[OPT_LIST_MAX];
static struct auth_config auth_cfg;
static char mtls_identities[OPT_LIST_MAX][160];
static struct auth_peer_role peer_roles[OPT_LIST_MAX];
static char peer_identities[OPT_LIST_MAX][160];
static char listen_tcp[300], listen_unix[108]; /* check_listen's */

/*
 * One --peer-role USER=ROLE into peer_roles[i].  USER is a local user's
 * name or a numeric user id; both are looked up here, at start-up, so that
 * no call ever waits on the user database (NSS may be a network service).
 * The identity is the user's name (a uid without one stays its digits).
 * -1 after printing why.
 */
static int parse_peer_role(const char *v, int i)
{
	const char *eq = strrchr(v, '=');
	size_t len = eq ? (size_t)(eq - v) : 0;
	char user[160], pwbuf[4096], *end;
	struct passwd pw, *found = NULL;
	unsigned long n;
	int numeric, e;

	if (!eq || len == 0 || len >= sizeof(user) || auth_role_parse(eq + 1) == AUTH_ROLE_NONE) {
		fprintf(stderr, "governd: invalid value '%s' for '--peer-role' (use USER=ROLE, "
				"USER a local user's name or id, ROLE producer, operator or admin)\n", v);
		return -1;
	}
	memcpy(user, v, len);
	user[len] = '\0';
	errno = 0;
	n = strtoul(user, &end, 10);
	numeric = user[0] >= '0' && user[0] <= '9' && !*end;
	if (numeric && (errno || n > (unsigned long)(uid_t)-1 - 1)) {
		fprintf(stderr, "governd: invalid user id '%s' in '--peer-role %s'\n", user, v);
		return -1;
	}
	e = numeric ? getpwuid_r((uid_t)n, &pw, pwbuf, sizeof(pwbuf), &found) :
		      getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &found);
	/* Not found is 0 with found NULL, or one of these (getpwnam(3)). */
	if (e == ENOENT || e == ESRCH || e == EBADF || e == EPERM) {
		e = 0;
		found = NULL;
	}
	if (e) {
		fprintf(stderr, "governd: cannot look user '%s' up for '--peer-role': %s\n",
			user, strerror(e));
		return -1;
	}
	if (!found && !numeric) {
		fprintf(stderr, "governd: no local user '%s' for '--peer-role %s'\n", user, v);
		return -1;
	}
	peer_roles[i].uid = found ? found->pw_uid : (uid_t)n;
	snprintf(peer_identities[i], sizeof(peer_identities[i]), "%s",
		 found ? found->pw_name : user);
	for (int j = 0; j < i; j++)
		if (peer_roles[j].uid == peer_roles[i].uid) {
			fprintf(stderr, "governd: '--peer-role' gives user id %lu ('%s') a role "
					"twice; give each user one\n",
				(unsigned long)peer_roles[i].uid, peer_identities[i]);
			return -1;
		}
	peer_roles[i].identity = peer_identities[i];
	peer_roles[i].role = auth_role_parse(eq + 1);
	return 0;
}

/* Checks the credential flags into auth_cfg; -1 after printing why. */
static int setup_auth(void)
{
	const char *tls_ca = cfg.rpc.tls_client_ca_file;

	if ((cfg.mtls_role.n || cfg.mtls_default_role) && !tls_ca) {
		fprintf(stderr, "governd: '%s' needs '--tls-client-ca' (client certificates to "
				"take the identity from)\n",
			cfg.mtls_role.n ? "--mtls-role" : "--mtls-default-role");
		return -1;
	}
	if (cfg.mtls_default_role) {
		auth_cfg.mtls_default_role = auth_role_parse(cfg.mtls_default_role);
		if (auth_cfg.mtls_default_role == AUTH_ROLE_NONE) {
			fprintf(stderr, "governd: invalid role '%s' for '--mtls-default-role' (use "
					"producer, operator or admin)\n", cfg.mtls_default_role);
			return -1;
		}
	}
	for (int i = 0; i < cfg.mtls_role.n; i++) {
		const char *v = cfg.mtls_role.v[i], *eq = strrchr(v, '=');
		size_t idlen = eq ? (size_t)(eq - v) : 0;

		if (!eq || idlen == 0 || idlen >= sizeof(mtls_identities[i]) ||
		    auth_role_parse(eq + 1) == AUTH_ROLE_NONE) {
			fprintf(stderr, "governd: invalid value '%s' for '--mtls-role' (use "
					"IDENTITY=ROLE, a role being producer, operator or "
					"admin)\n", v);
			return -1;
		}
		memcpy(mtls_identities[i], v, idlen);
		mtls_identities[i][idlen] = '\0';
		mtls_roles[i].identity = mtls_identities[i];
		mtls_roles[i].role = auth_role_parse(eq + 1);
	}
	if (cfg.peer_role.n && !listen_unix[0]) {
		fprintf(stderr, "governd: '--peer-role' needs a Unix socket to know its users by: "
				"add one to --listen (unix:PATH, or HOST:PORT,unix:PATH)\n");
		return -1;
	}
	for (int i = 0; i < cfg.peer_role.n; i++)
		if (parse_peer_role(cfg.peer_role.v[i], i) < 0)
			return -1;
	/* A role for a socket's users means calls need credentials: on
	 * TCP too, or anyone could skip the socket's. */
	auth_cfg.enabled = cfg.auth || tls_ca || cfg.peer_role.n;
	auth_cfg.mtls_roles = mtls_roles;
	auth_cfg.n_mtls_roles = (size_t)cfg.mtls_role.n;
	auth_cfg.peer_roles = peer_roles;
	auth_cfg.n_peer_roles = (size_t)cfg.peer_role.n;
	return 0;
}

/* 1 when addr ("host:port") is a loopback address: localhost, 127/8, ::1.
 * Wildcards (0.0.0.0, ::) and every other name count as reachable from
 * elsewhere.  (A Unix socket is local too: check_exposure looks only at
 * the TCP address.) */
static int loopback(const char *addr)
{
	char host[256];
	unsigned char ip[16];
	int port;

	if (netaddr_split(addr, host, sizeof(host), &port) < 0)
		return 0;
	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, ip) == 1)
		return ip[0] == 127;
	if (inet_pton(AF_INET6, host, ip) == 1)
		return memcmp(ip, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	return 0;
}

/* --listen is HOST:PORT, a usable unix:PATH or one of each; checked before
 * anything is opened, and by --check-config.  Fills listen_tcp (the
 * HOST:PORT) and listen_unix (the socket's path), "" for none.  -1 (after
 * printing why) if not. */
static int check_listen(const char *listen)
{
	char err[600];

	if (netaddr_listen_list(listen, listen_tcp, sizeof(listen_tcp), listen_unix,
				sizeof(listen_unix), err, sizeof(err)) < 0) {
		fprintf(stderr, "governd: --listen: %s\n", err);
		return -1;
	}
	/* TLS is for TCP: a Unix socket's clients talk in clear (the
	 * socket's file mode says who may connect). */
	if (!listen_tcp[0] && (cfg.rpc.tls_cert_file || cfg.rpc.tls_client_ca_file)) {
		fprintf(stderr, "governd: --tls-cert and --tls-client-ca apply to a TCP "
				"address, and --listen '%s' has none (a Unix socket is served "
				"in clear)\n", listen);
		return -1;
	}
	return 0;
}

/*
 * Off loopback, TLS and authentication are required unless --insecure.
 * Returns -1 (after printing why) when governd must not start.
 */
static int check_exposure(const char *listen)
{
	int tls = cfg.rpc.tls_cert_file != NULL, auth = auth_cfg.enabled;
	const char *missing = !tls && !auth ? "TLS and authentication" :
			      !tls ? "TLS" : !auth ? "authentication" : NULL;

	if (!listen[0] || loopback(listen) || !missing) {
		if (cfg.insecure)
			log_msg(LOG_WARN, "--insecure given: it changes nothing here", "addr",
				listen, "tls", tls ? "true" : "false", "auth",
				auth ? "true" : "false", NULL);
		return 0;
	}
	if (!cfg.insecure) {
		fprintf(stderr, "governd: refusing to serve '%s' without %s: it is not a loopback "
				"address.  Add %s%s%s, or --insecure to accept the risk\n", listen,
			missing, tls ? "" : "--tls-cert and --tls-key",
			!tls && !auth ? " and " : "",
			auth ? "" : "--auth (bearer tokens) or --tls-client-ca (mTLS)");
		return -1;
	}
	log_msg(LOG_WARN, "insecure: serving a non-loopback address without protection",
		"addr", listen, "missing", missing, "flag", "--insecure", NULL);
	return 0;
}

/* --check-config goes one step further than a start would before it
 * serves: the files it names must be readable.  1 after printing why. */
static int check_files(void)
{
	const struct { const char *key, *path; } files[] = {
		{ "tls-cert", cfg.rpc.tls_cert_file },
		{ "tls-key", cfg.rpc.tls_key_file },
		{ "tls-client-ca", cfg.rpc.tls_client_ca_file },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;

		if (!files[i].path)
			continue;
		f = fopen(files[i].path, "r");
		if (!f) {
			fprintf(stderr, "governd: cannot read '%s' for '%s': %s\n", files[i].path,
				files[i].key, strerror(errno));
			return 1;
		}
		fclose(f);
	}
	return 0;
}

static rpc_server *server;
static uv_signal_t sigterm, sigint, sighup;

/* ---- SIGHUP: re-read the configuration ---- */

/* What can change in a running governd, and how.  Each copies its field
 * from the reloaded settings into cfg and makes the server use it. */
static void live_log(const struct config *next)
{
	cfg.log_level = next->log_level;
	cfg.log_format = next->log_format;
	log_setup((log_level)cfg.log_level, (log_format)cfg.log_format);
}

static void live_heartbeat(const struct config *next)
{
	cfg.heartbeat_ms = next->heartbeat_ms;
	governance_set_heartbeat(cfg.heartbeat_ms);
}

static const struct live_key {
	const char *name;
	void (*apply)(const struct config *next);
} live_keys[] = {
	{ "log-level", live_log },
	{ "log-format", live_log },
	{ "heartbeat", live_heartbeat },
};

static const struct live_key *live_key(const char *name)
{
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (strcmp(live_keys[i].name, name) == 0)
			return &live_keys[i];
	return NULL;
}

static int saved_argc;
static char **saved_argv;

/* Appends name to a comma-separated list for the summary line. */
static void list_add(char *list, size_t cap, const char *name)
{
	size_t n = strlen(list);

	snprintf(list + n, cap - n, "%s%s", n ? "," : "", name);
}

/*
 * Reads every source again (the flags and the environment cannot have
 * changed, so in effect the file), applies what may change live and logs,
 * key by key, what changed and what needs a restart.  A bad file changes
 * nothing: governd goes on with what it has.
 */
static void reload(void)
{
	static char before[GCONF_MAX_KEYS][1024], after[GCONF_MAX_KEYS][1024];
	struct config running = cfg, next;
	char applied[1024] = "", restart[1024] = "", err[1400], source[1100];
	size_t n = sources.n;

	for (size_t i = 0; i < n; i++)
		opts_value_text(&options[i], before[i], sizeof(before[i]));
	reload_sources.table = options;
	reload_sources.cli_only = cli_only;
	reload_sources.config_key = "config";
	config_defaults();
	if (gconf_load(&reload_sources, saved_argc, saved_argv, err, sizeof(err)) < 0 ||
	    check_settings(err, sizeof(err)) < 0) {
		cfg = running;
		gconf_release(&reload_sources);
		log_msg(LOG_ERROR, "configuration not reloaded: keeping the running settings",
			"error", err, NULL);
		return;
	}
	next = cfg;
	for (size_t i = 0; i < n; i++)
		opts_value_text(&options[i], after[i], sizeof(after[i]));
	cfg = running;
	for (size_t i = 0; i < n; i++) {
		const struct live_key *lk = live_key(options[i].name);

		if (!gconf_configurable(&sources, i) || strcmp(before[i], after[i]) == 0)
			continue;
		gconf_origin_text(&reload_sources.s[i], source, sizeof(source));
		if (lk) {
			lk->apply(&next);
			sources.s[i] = reload_sources.s[i];
			list_add(applied, sizeof(applied), options[i].name);
			log_msg(LOG_INFO, "setting changed", "key", options[i].name, "old",
				before[i], "new", after[i], "source", source, NULL);
		} else {
			list_add(restart, sizeof(restart), options[i].name);
			log_msg(LOG_WARN, "setting not changed: restart needed", "key",
				options[i].name, "running", before[i], "configured", after[i],
				"source", source, NULL);
		}
	}
	log_msg(LOG_INFO, "configuration reloaded", "file",
		reload_sources.path[0] ? reload_sources.path : "(none)", "applied",
		applied[0] ? applied : "none", "restart_needed", restart[0] ? restart : "none",
		NULL);
	/* Nothing running points into the reloaded text: only numbers
	 * change live. */
	gconf_release(&reload_sources);
}

static void on_sighup(uv_signal_t *s, int signum)
{
	reload();
}

/* The default database lives in the XDG state directory. */
const char *governd_default_db(char *out, size_t outlen)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (state && *state == '/')
		snprintf(out, outlen, "%s/governd/governd.db", state);
	else if (home && *home)
		snprintf(out, outlen, "%s/.local/state/governd/governd.db", home);
	else
		snprintf(out, outlen, "governd.db");
	return out;
}

static void on_signal(uv_signal_t *s, int signum)
{
	log_msg(LOG_INFO, "shutting down", "signal", signum == SIGINT ? "SIGINT" : "SIGTERM",
		NULL);
	/* Watchers hear NOT_SERVING first, then the transport drains. */
	health_set_draining(server);
	exporter_drain();
	rpc_server_shutdown(server);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&sighup, NULL);
	sweeper_stop();
}

/* The writer's figures since start: how well group commit batched. */
static void log_store_stats(const store *st)
{
	store_stats ss;
	char commits[24], ops[24], batch[24], syncs[24], sync_us[24], batch_us[24], ckpts[24],
		ckpt_ms[24], ckpt_inline[24], ckpt_tail[24];

	store_get_stats(st, &ss);
	snprintf(commits, sizeof(commits), "%llu", (unsigned long long)ss.commits);
	snprintf(ops, sizeof(ops), "%llu", (unsigned long long)ss.ops);
	snprintf(batch, sizeof(batch), "%.1f", ss.commits ? (double)ss.ops / ss.commits : 0.0);
	snprintf(batch_us, sizeof(batch_us), "%.1f",
		 ss.commits ? (double)ss.batch_ns / ss.commits / 1e3 : 0.0);
	snprintf(syncs, sizeof(syncs), "%llu", (unsigned long long)ss.syncs);
	snprintf(sync_us, sizeof(sync_us), "%.1f",
		 ss.syncs ? (double)ss.sync_ns / ss.syncs / 1e3 : 0.0);
	snprintf(ckpts, sizeof(ckpts), "%llu", (unsigned long long)ss.checkpoints);
	snprintf(ckpt_ms, sizeof(ckpt_ms), "%.1f", (double)ss.checkpoint_ns / 1e6);
	snprintf(ckpt_inline, sizeof(ckpt_inline), "%llu",
		 (unsigned long long)ss.checkpoints_inline);
	snprintf(ckpt_tail, sizeof(ckpt_tail), "%llu", (unsigned long long)ss.checkpoints_tail);
	log_msg(LOG_INFO, "store writes", "commits", commits, "ops", ops, "ops_per_commit", batch,
		"batch_us", batch_us, "syncs", syncs, "sync_us", sync_us, "checkpoints", ckpts,
		"checkpoint_ms", ckpt_ms, "checkpoints_inline", ckpt_inline,
		"checkpoints_tail", ckpt_tail, NULL);
}

/* Stops what main() started once the server exists.  The store's last
 * completions post to stopped workers, which run them inline: it closes
 * before the server's memory goes. */
static void release_all(store *st, rpc_server *srv)
{
	store_close(st);
	governance_release();
	rpc_server_free(srv);
	health_release();
	auth_release();
}

int main(int argc, char **argv)
{
	char err[512], bound[512], threads[16];
	rpc_code rc;
	int mrc, qos_fd;
	store_options sopts;
	store_code src;
	store *st = NULL;
	uv_loop_t *loop = uv_default_loop();

	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return governd_token_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "backup") == 0)
		return governd_backup_main(argc - 1, argv + 1);
	saved_argc = argc;
	saved_argv = argv;
	if (load_config(&sources, argc, argv) < 0) {
		gconf_release(&sources);
		/* --help still helps when a setting is wrong. */
		if (cfg.help)
			usage(stdout);
		return cfg.help ? 0 : EXIT_USAGE;
	}
	if (cfg.help || cfg.version) {
		if (cfg.help)
			usage(stdout);
		else
			printf("governd %s\n", VCLI_VERSION);
		gconf_release(&sources);
		return 0;
	}
	log_setup((log_level)cfg.log_level, (log_format)cfg.log_format);
	if (check_listen(cfg.rpc.listen) < 0 || setup_auth() < 0 ||
	    check_exposure(listen_tcp) < 0) {
		gconf_release(&sources);
		return EXIT_USAGE;
	}
	if (cfg.check_config) {
		int bad = check_files();

		if (!bad) {
			printf("# governd %s: configuration file %s\n", VCLI_VERSION,
			       sources.path[0] ? sources.path : "(none)");
			gconf_print(&sources, stdout);
		}
		gconf_release(&sources);
		return bad ? EXIT_USAGE : 0;
	}
	signal(SIGPIPE, SIG_IGN);

	store_options_init(&sopts);
	sopts.path = cfg.db;
	sopts.event_retention = cfg.event_retention;
	sopts.max_queue = cfg.max_queued_writes;
	src = store_open(&sopts, &st, err, sizeof(err));
	if (src != STORE_OK) {
		log_msg(LOG_ERROR, "cannot open the store", "db", sopts.path, "error", err, NULL);
		return 1;
	}
	if (cfg.demo) {
		store_metrics m;
		store_get_metrics(st, &m);
		if (m.total == 0 && (src = store_seed_demo(st, 40)) != STORE_OK) {
			log_msg(LOG_ERROR, "cannot seed demo data", "error", store_strerror(src), NULL);
			store_close(st);
			return 1;
		}
	}
	rc = rpc_server_new(&cfg.rpc, &server, err, sizeof(err));
	if (rc != RPC_OK) {
		log_msg(LOG_ERROR, "cannot start", "error", err, NULL);
		store_close(st);
		return rc == RPC_E_ADDR || rc == RPC_E_INVALID ? EXIT_USAGE : 1;
	}
	if (auth_init(&auth_cfg, st, server) < 0 ||
	    governance_register(server, st, cfg.heartbeat_ms) < 0 || health_register(server) < 0) {
		log_msg(LOG_ERROR, "cannot register services", NULL);
		rpc_server_free(server);
		store_close(st);
		auth_release();
		return 1;
	}
	/* Signals are caught before the workers start, so that a SIGTERM
	 * arriving during start-up still drains instead of killing. */
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_init(loop, &sighup);
	uv_signal_start(&sighup, on_sighup, SIGHUP);
	rc = rpc_server_start(server, bound, sizeof(bound), err, sizeof(err));
	if (rc != RPC_OK) {
		log_msg(LOG_ERROR, "cannot listen", "addr", cfg.rpc.listen, "error", err, NULL);
		rpc_server_shutdown(server);
		release_all(st, server);
		return 1;
	}
	sweeper_start(loop, st);
	snprintf(threads, sizeof(threads), "%d", cfg.rpc.threads ? cfg.rpc.threads :
		 (int)sysconf(_SC_NPROCESSORS_ONLN));
	log_msg(LOG_INFO, "configuration", "file", sources.path[0] ? sources.path : "(none)",
		"log_level", log_level_name((log_level)cfg.log_level), NULL);
	if ((mrc = exporter_start(loop, cfg.metrics_listen, server, st, err, sizeof(err))) != 0) {
		log_msg(LOG_ERROR, "cannot serve metrics", "addr", cfg.metrics_listen, "error", err,
			NULL);
		sweeper_stop();
		rpc_server_shutdown(server);
		release_all(st, server);
		return mrc == -2 ? EXIT_USAGE : 1;
	}
	/* A line per listener (bound lists them as --listen did, comma
	 * separated): TLS, and so certificates, are the TCP address's only. */
	for (char *a = bound, *next; a; a = next) {
		int is_unix = strncmp(a, "unix:", 5) == 0;

		next = strchr(a, ',');
		if (next)
			*next++ = '\0';
		log_msg(LOG_INFO, "governd listening", "addr", a, "threads", threads, "tls",
			is_unix || !cfg.rpc.tls_cert_file ? "false" :
			cfg.rpc.tls_client_ca_file ? "mtls" : "true",
			"auth", !auth_cfg.enabled ? "off" :
			cfg.rpc.tls_client_ca_file && !is_unix ? "token+certificate" :
			cfg.peer_role.n && is_unix ? "token+peer" : "token",
			"db", sopts.path, "version", VCLI_VERSION, NULL);
	}
	qos_fd = hold_cpu_latency(cfg.cpu_latency_us);
	uv_run(loop, UV_RUN_DEFAULT);
	rpc_server_wait(server);
	if (qos_fd >= 0)
		close(qos_fd);
	log_store_stats(st);
	release_all(st, server);
	uv_loop_close(loop);
	log_msg(LOG_INFO, "stopped", NULL);
	gconf_release(&sources);
	return 0;
}
