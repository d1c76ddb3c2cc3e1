/*
 * vcli: the operator CLI for governd.
 *
 * This file owns the global options, the command table and the process exit
 * status; each command lives in its own cmd_<name>.c (see commands.h for the
 * checklist to add one).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/commands.h"
#include "common/audit_chain.h"
#include "common/timeutil.h"

#ifndef VCLI_VERSION
#define VCLI_VERSION "unknown"
#endif

#define DEFAULT_SERVER "127.0.0.1:50051"
#define ENDPOINT_ENV "VCLI_GOVERNANCE_ENDPOINT"

static const struct cmd commands[] = {
	{ "health", cmd_health, NEED_SERVER,
	  "check that the server is up and healthy" },
	{ "gov", cmd_gov, 0,
	  "list, review and submit decisions; metrics; watch the stream" },
	{ "bench", cmd_bench, 0,
	  "load-test the server: any method, rates, mixes, suites" },
	{ "session", cmd_session, 0,
	  "open, close or show the operator's session" },
	{ "config", cmd_config, 0,
	  "show the effective configuration and where each value came from" },
	{ "audit", cmd_audit, 0,
	  "list, export and verify the hash-chained audit trail" },
	{ "k8s", cmd_k8s, 0,
	  "Kubernetes, kubectl-compatible: get, describe, logs, apply, ..." },
	{ "version", cmd_version, 0, "print the version of vcli" },
	{ "help", cmd_help, NO_CONFIG,
	  "show help for vcli or for one command" },
};

/*
 * One invocation is one process, so the global options live in one static
 * struct; that lets their table below be a constant that points into it.
 */
static struct cli the_cli;

static const struct opt global_options[] = {
	{ "server", 0, OPT_STRING, &the_cli.g.server,
	  "server to call (default: " DEFAULT_SERVER ")", NULL,
	  "HOST:PORT|unix:PATH" },
	{ "operator", 0, OPT_STRING, &the_cli.g.operator_id,
	  "operator you act as (writes, sessions, stats)", NULL, "NAME" },
	{ "token", 0, OPT_STRING, &the_cli.g.token,
	  "bearer token for a governd with --auth (VCLI_TOKEN keeps it out of ps)", NULL,
	  "TOKEN" },
	{ "timeout", 0, OPT_STRING, &the_cli.g.timeout,
	  "deadline of each call (default: 10s)", NULL, "DUR" },
	{ "connect-timeout", 0, OPT_STRING, &the_cli.g.connect_timeout,
	  "time allowed to open the connection (default: 5s)", NULL,
	  "DUR" },
	{ "retries", 0, OPT_STRING, &the_cli.g.retries,
	  "retries of a call that is safe to repeat, on UNAVAILABLE "
	  "(default: 3)", NULL, "N" },
	{ "no-retry", 0, OPT_FLAG, &the_cli.g.no_retry,
	  "never retry a call (--retries 0)", NULL, NULL },
	{ "retry-backoff", 0, OPT_STRING, &the_cli.g.retry_backoff,
	  "first back-off between retries, doubling (default: 100ms)", NULL,
	  "DUR" },
	{ "reconnect-backoff", 0, OPT_STRING, &the_cli.g.reconnect_backoff,
	  "first back-off after a failed connection attempt, x1.6 "
	  "(default: 250ms)", NULL, "DUR" },
	{ "breaker", 0, OPT_STRING, &the_cli.g.breaker,
	  "transport failures in a row that open the circuit (default: 5; "
	  "0: off)", NULL, "N" },
	{ "breaker-cooldown", 0, OPT_STRING, &the_cli.g.breaker_cooldown,
	  "time the open circuit fails calls fast before a probe "
	  "(default: 5s)", NULL, "DUR" },
	{ "tls", 0, OPT_FLAG, &the_cli.g.tls,
	  "use TLS (any --tls-* option implies it)", NULL, NULL },
	{ "tls-ca", 0, OPT_STRING, &the_cli.g.tls_ca,
	  "CA bundle to verify the server (default: the system's)", NULL,
	  "FILE" },
	{ "tls-cert", 0, OPT_STRING, &the_cli.g.tls_cert,
	  "client certificate for mutual TLS (PEM)", NULL, "FILE" },
	{ "tls-key", 0, OPT_STRING, &the_cli.g.tls_key,
	  "private key of --tls-cert (PEM)", NULL, "FILE" },
	{ "tls-server-name", 0, OPT_STRING, &the_cli.g.tls_server_name,
	  "name to send (SNI) and verify (default: the host)", NULL, "NAME" },
	{ "output", 'o', OPT_STRING, &the_cli.g.output,
	  "output format (default: table)", NULL, "table|json|yaml" },
	{ "no-color", 0, OPT_FLAG, &the_cli.g.no_color,
	  "no colour in tables, even on a terminal", NULL, NULL },
	{ "config", 0, OPT_STRING, &the_cli.g.config,
	  "configuration file (default: ~/.config/vcli/config)", NULL,
	  "FILE" },
	{ "help", 'h', OPT_FLAG, &the_cli.g.help,
	  "show help", NULL, NULL },
	{ "version", 0, OPT_FLAG, &the_cli.g.version,
	  "print the version and exit", NULL, NULL },
	OPT_END,
};

static const char exit_codes_help[] =
	"exit status:\n"
	"  0  ok\n"
	"  1  internal error\n"
	"  2  usage error (bad option or value, unknown command, bad config)\n"
	"  3  server unreachable or UNAVAILABLE\n"
	"  4  deadline exceeded\n"
	"  5  any other gRPC error status\n"
	"  6  server reachable but not healthy\n"
	"  7  not found (NOT_FOUND)\n"
	"  8  conflict (FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED)\n"
	"  9  rejected input (INVALID_ARGUMENT, OUT_OF_RANGE)\n"
	" 10  not allowed (UNAUTHENTICATED after renewing the session, "
	"PERMISSION_DENIED)\n"
	" 11  resource exhausted (RESOURCE_EXHAUSTED)\n"
	" 12  a benchmark missed its target (vcli bench --suite)\n"
	" 13  the audit trail does not verify (vcli audit verify)\n"
	" 14  the cluster action ran but its outcome is not recorded on the\n"
	"     decision (vcli gov approve --execute)\n";

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vcli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fputs("vcli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cli && cli->cmd && cli->sub)
		fprintf(stderr, "see 'vcli %s %s --help'\n", cli->cmd->name,
			cli->sub->name);
	else if (cli && cli->cmd)
		fprintf(stderr, "see 'vcli %s --help'\n", cli->cmd->name);
	else
		fputs("see 'vcli --help'\n", stderr);
	return CLI_EXIT_USAGE;
}

const struct cmd *cli_find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Edit distance, capped: names longer than 31 bytes are never near. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[32];

	if (la > 31 || lb > 31)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

void cli_suggest(const char *name, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3; /* only near misses: two edits at most */

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(name, names[i]);

		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	if (best)
		fprintf(stderr, "did you mean '%s'?\n", best);
}

void cli_suggest_command(const char *name)
{
	const char *names[sizeof(commands) / sizeof(commands[0])];

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		names[i] = commands[i].name;
	cli_suggest(name, names, sizeof(names) / sizeof(names[0]));
}

void cli_print_main_help(FILE *f)
{
	fputs("usage: vcli [global options] <command> [options]\n"
	      "\n"
	      "vcli is the operator CLI for governd, the governance service.\n"
	      "\n"
	      "commands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\nglobal options (before or after the command):\n", f);
	opts_print_help(f, global_options);
	fputs("\nenvironment (flags win over it, it wins over the config "
	      "file):\n"
	      "  " ENDPOINT_ENV "  server address (--server)\n"
	      "  VCLI_OPERATOR             operator (--operator)\n"
	      "  VCLI_TOKEN                bearer token (--token; never shown)\n"
	      "  VCLI_TIMEOUT              deadline of each call (--timeout)\n"
	      "  VCLI_RETRIES              retries of a safe call (--retries)\n"
	      "  VCLI_OUTPUT               output format (--output)\n"
	      "  VCLI_TLS_CA, VCLI_TLS_CERT, VCLI_TLS_KEY, "
	      "VCLI_TLS_SERVER_NAME\n"
	      "                            the --tls-* options\n"
	      "  VCLI_CONFIG               configuration file (--config)\n"
	      "  NO_COLOR                  any value: no colour "
	      "(--no-color)\n"
	      "\nconfiguration file: $XDG_CONFIG_HOME/vcli/config or "
	      "~/.config/vcli/config,\n"
	      "lines of 'key = value' (see 'vcli config show')\n\n", f);
	fputs(exit_codes_help, f);
	fputs("\nsee 'vcli help <command>' for a command's options and "
	      "examples.\n", f);
}

static void print_command_help(FILE *f, const struct cmd_spec *spec)
{
	fprintf(f, "usage: %s\n\n%s", spec->usage, spec->description);
	if (spec->options && spec->options[0].name) {
		fputs("\noptions:\n", f);
		opts_print_help(f, spec->options);
	}
	fputs("\nglobal options:\n", f);
	opts_print_help(f, global_options);
	if (spec->examples)
		fprintf(f, "\nexamples:\n%s", spec->examples);
	fputc('\n', f);
	fputs(exit_codes_help, f);
}

static void print_version(void)
{
	printf("vcli version %s\n", VCLI_VERSION);
}

/* Reads the configuration file into cli->file: --config, else
 * $VCLI_CONFIG, else the default path (which may be missing). */
static int read_config_file(struct cli *cli)
{
	const char *env = getenv("VCLI_CONFIG");
	char err[512], *text;
	int explicit = 1, fd, rc;
	size_t len = 0;

	if (cli->g.config) {
		snprintf(cli->config_path, sizeof(cli->config_path), "%s",
			 cli->g.config);
		cli->config_origin = "flag --config";
	} else if (env && *env) {
		snprintf(cli->config_path, sizeof(cli->config_path), "%s", env);
		cli->config_origin = "env VCLI_CONFIG";
	} else {
		explicit = 0;
		cli->config_origin = "default";
		if (cfg_default_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"),
				     cli->config_path,
				     sizeof(cli->config_path)) < 0) {
			cli->config_path[0] = '\0';
			return CLI_PROCEED;
		}
	}
	fd = open(cli->config_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* Only the default file may be missing. */
		if (!explicit && (errno == ENOENT || errno == ENOTDIR))
			return CLI_PROCEED;
		cli_error("cannot read config file '%s': %s", cli->config_path,
			  strerror(errno));
		return CLI_EXIT_USAGE;
	}
	text = malloc(CFG_FILE_MAX + 1);
	if (!text) {
		close(fd);
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	for (;;) {
		ssize_t n = read(fd, text + len, CFG_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_error("cannot read config file '%s': %s",
				  cli->config_path, strerror(errno));
			close(fd);
			free(text);
			return CLI_EXIT_USAGE;
		}
		if (n == 0 || (len += (size_t)n) == CFG_FILE_MAX + 1)
			break;
	}
	close(fd);
	rc = cfg_file_parse(&cli->file, cli->config_path, text, len, err,
			    sizeof(err));
	free(text);
	if (rc < 0) {
		cli_error("%s", err);
		return CLI_EXIT_USAGE;
	}
	cli->config_present = 1;
	return CLI_PROCEED;
}

/* 16 hex digits of SHA-256(kind, NUL, text) into out: which credential. */
static void fingerprint(const char *kind, const char *text, char *out, size_t outlen)
{
	uint8_t h[32];
	char hex[17], *in;
	size_t kl = strlen(kind), tl = strlen(text);

	out[0] = '\0';
	if (!(in = malloc(kl + 1 + tl)))
		return;
	memcpy(in, kind, kl + 1);
	memcpy(in + kl + 1, text, tl);
	if (audit_sha256(in, kl + 1 + tl, h) == 0) {
		audit_hex(h, 8, hex);
		snprintf(out, outlen, "%s%s", kind, hex);
	}
	OPENSSL_cleanse(in, kl + 1 + tl);
	free(in);
}

/* The token as call metadata, and which credential this is. */
static void set_credential(struct cli *cli)
{
	const char *tok = cli->cfg.token, *cert = cli->cfg.s[CFG_TLS_CERT].text;
	int n;

	cli->credential[0] = '\0';
	cli->auth_count = 0;
	if (tok) {
		n = snprintf(cli->auth_value, sizeof(cli->auth_value), "Bearer %s", tok);
		cli->auth_md.key = "authorization";
		cli->auth_md.value = (const uint8_t *)cli->auth_value;
		cli->auth_md.value_len = n > 0 ? (size_t)n : 0;
		cli->auth_count = 1;
		fingerprint("t:", tok, cli->credential, sizeof(cli->credential));
	} else if (cert) {
		fingerprint("c:", cert, cli->credential, sizeof(cli->credential));
	} else if (cli->server && strncmp(cli->server, "unix:", 5) == 0) {
		/* On a Unix socket the user this runs as is a credential
		 * (governd --peer-role), so a session needs no operator. */
		snprintf(cli->credential, sizeof(cli->credential), "u:%lu",
			 (unsigned long)geteuid());
	}
}

/* Resolves every setting: flags > environment > config file > default. */
static int resolve_config(struct cli *cli)
{
	struct cfg_inputs in;
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	char err[512];
	int rc = read_config_file(cli);

	if (rc != CLI_PROCEED)
		return rc;
	memset(&in, 0, sizeof(in));
	in.flag[CFG_SERVER] = cli->g.server;
	in.flag[CFG_OPERATOR] = cli->g.operator_id;
	in.flag[CFG_TOKEN] = cli->g.token;
	in.flag[CFG_TIMEOUT] = cli->g.timeout;
	in.flag[CFG_CONNECT_TIMEOUT] = cli->g.connect_timeout;
	in.flag[CFG_RETRIES] = cli->g.retries;
	if (cli->g.no_retry) {
		/* The off-switch wins over a count given with it. */
		in.flag[CFG_RETRIES] = "0";
		in.flag_name[CFG_RETRIES] = "--no-retry";
	}
	in.flag[CFG_RETRY_BACKOFF] = cli->g.retry_backoff;
	in.flag[CFG_RECONNECT_BACKOFF] = cli->g.reconnect_backoff;
	in.flag[CFG_BREAKER] = cli->g.breaker;
	in.flag[CFG_BREAKER_COOLDOWN] = cli->g.breaker_cooldown;
	in.flag[CFG_OUTPUT] = cli->g.output;
	in.flag[CFG_TLS] = cli->g.tls ? "true" : NULL;
	in.flag[CFG_TLS_CA] = cli->g.tls_ca;
	in.flag[CFG_TLS_CERT] = cli->g.tls_cert;
	in.flag[CFG_TLS_KEY] = cli->g.tls_key;
	in.flag[CFG_TLS_SERVER_NAME] = cli->g.tls_server_name;
	in.flag[CFG_COLOR] = cli->g.no_color ? "never" : NULL;
	for (int k = 0; k < CFG_NKEYS; k++)
		if (cfg_keys[k].env)
			in.env[k] = getenv(cfg_keys[k].env);
	/* https://no-color.org: present and not empty means no colour. */
	if (no_color && *no_color) {
		in.env[CFG_COLOR] = "never";
		in.env_name[CFG_COLOR] = "NO_COLOR";
	}
	in.file = cli->config_present ? &cli->file : NULL;
	if (cfg_resolve(&in, &cli->cfg, err, sizeof(err)) < 0)
		return cli_usage_error(cli, "%s", err);
	cli->server = cli->cfg.server;
	cli->output = cli->cfg.output;
	set_credential(cli);
	cli->color = cli->cfg.color && isatty(STDOUT_FILENO) &&
		     !(term && strcmp(term, "dumb") == 0);
	return CLI_PROCEED;
}

void cli_client_options(const struct cli *cli, vcli_client_options *o)
{
	const struct cfg *c = &cli->cfg;

	vcli_client_options_init(o);
	o->endpoint = cli->server;
	o->tls = c->tls;
	o->tls_ca_file = c->s[CFG_TLS_CA].text;
	o->tls_cert_file = c->s[CFG_TLS_CERT].text;
	o->tls_key_file = c->s[CFG_TLS_KEY].text;
	o->tls_server_name = c->s[CFG_TLS_SERVER_NAME].text;
	o->connect_timeout_ms = c->connect_timeout_ms;
	/* Retries apply to the calls vcli marks retry-safe (cli_unary()). */
	o->retry.max_attempts = c->retries + 1;
	o->retry.backoff.initial_ms = c->retry_backoff_ms;
	o->reconnect.initial_ms = c->reconnect_backoff_ms;
	o->breaker.threshold = c->breaker;
	o->breaker.cooldown_ms = c->breaker_cooldown_ms;
	o->breaker.off = c->breaker == 0;
}

static int setup_server(struct cli *cli)
{
	vcli_client_options o;
	char err[256] = "";
	vcli_code code;

	cli_client_options(cli, &o);
	code = vcli_client_new(&o, &cli->client, err, sizeof(err));
	if (code == VCLI_OK)
		return CLI_PROCEED;
	if (!err[0])
		snprintf(err, sizeof(err), "%s", vcli_strerror(code));
	switch (code) {
	case VCLI_E_INVALID:
		return cli_usage_error(cli, "cannot use server '%s': %s",
				       cli->server, err);
	case VCLI_E_TLS:
		return cli_usage_error(cli, "cannot set up tls: %s", err);
	case VCLI_E_RESOLVE:
		cli_error("cannot reach server '%s': %s", cli->server, err);
		return CLI_EXIT_UNREACHABLE;
	default:
		cli_error("cannot create the client: %s", err);
		return CLI_EXIT_INTERNAL;
	}
}

int cli_begin(struct cli *cli, const struct cmd_spec *spec, int argc,
	      char **argv)
{
	const struct opt *tables[3];
	struct opts_parser p;
	size_t n = 0;
	int rc;

	if (spec->options)
		tables[n++] = spec->options;
	tables[n++] = global_options;
	tables[n] = NULL;
	memset(&p, 0, sizeof(p));
	p.tables = tables;
	if (opts_parse(&p, argc, argv, 1) < 0)
		return cli_usage_error(cli, "%s", p.err);
	if (cli->g.help) {
		print_command_help(stdout, spec);
		return CLI_EXIT_OK;
	}
	if (cli->g.version) {
		print_version();
		return CLI_EXIT_OK;
	}
	if (p.npos > spec->max_args)
		return cli_usage_error(cli, "unexpected argument '%s'",
				       argv[1 + spec->max_args]);
	if (p.npos < spec->min_args)
		return cli_usage_error(cli, "missing argument (usage: %s)",
				       spec->usage);
	cli->args = argv + 1;
	cli->nargs = p.npos;
	if (cli->flags & NO_CONFIG)
		return CLI_PROCEED;
	rc = resolve_config(cli);
	if (rc != CLI_PROCEED)
		return rc;
	if (cli->flags & NEED_OPERATOR) {
		rc = cli_need_operator(cli);
		if (rc != CLI_PROCEED)
			return rc;
	}
	if (cli->flags & NEED_ACTOR) {
		rc = cli_need_actor(cli);
		if (rc != CLI_PROCEED)
			return rc;
	}
	if (cli->flags & NEED_SERVER)
		return setup_server(cli);
	return CLI_PROCEED;
}

static void print_group_help(FILE *f, const struct cli *cli,
			     const char *description,
			     const struct subcmd *subs, size_t nsubs)
{
	fprintf(f, "usage: vcli %s <subcommand> [options]\n\n%s\nsubcommands:\n",
		cli->cmd->name, description);
	for (size_t i = 0; i < nsubs; i++)
		fprintf(f, "  %-10s %s\n", subs[i].name, subs[i].summary);
	fprintf(f, "\nsee 'vcli %s <subcommand> --help' for its options and "
		"examples.\n", cli->cmd->name);
}

int cli_dispatch(struct cli *cli, const char *description,
		 const struct subcmd *subs, size_t nsubs, int argc,
		 char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	const char *names[16];
	int rc;

	if (!name || name[0] == '-') {
		if (cli->g.help || (name && (strcmp(name, "--help") == 0 ||
					     strcmp(name, "-h") == 0))) {
			print_group_help(stdout, cli, description, subs, nsubs);
			return CLI_EXIT_OK;
		}
		if (!name) {
			print_group_help(stderr, cli, description, subs, nsubs);
			return CLI_EXIT_USAGE;
		}
		return cli_usage_error(cli, "expected a subcommand after "
				       "'vcli %s', got '%s'", cli->cmd->name,
				       name);
	}
	for (size_t i = 0; i < nsubs; i++) {
		if (strcmp(subs[i].name, name) != 0)
			continue;
		cli->sub = &subs[i];
		cli->flags = subs[i].flags;
		rc = cli_begin(cli, subs[i].spec, argc - 1, argv + 1);
		if (rc != CLI_PROCEED)
			return rc;
		return subs[i].fn(cli);
	}
	cli_error("unknown subcommand '%s' for 'vcli %s'", name,
		  cli->cmd->name);
	for (size_t i = 0; i < nsubs && i < sizeof(names) / sizeof(names[0]);
	     i++)
		names[i] = subs[i].name;
	cli_suggest(name, names, nsubs < 16 ? nsubs : 16);
	fprintf(stderr, "see 'vcli %s --help'\n", cli->cmd->name);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli *cli = &the_cli;
	struct opts_parser p;
	const struct opt *tables[] = { global_options, NULL };
	int i, rc;

	/* libuv starts 4 threads for the first name lookup, and vcli makes
	 * one connection: one thread is all it needs, and starting the other
	 * three measurably slows a short command (about 0.4 ms of a `gov
	 * list`).  A value the user set wins. */
	setenv("UV_THREADPOOL_SIZE", "1", 0);
	/* A connection the server dropped must fail a write, not kill vcli
	 * (a retry may follow: the server restarting under `gov approve`).
	 * A closed stdout still ends vcli as SIGPIPE would: see the end. */
	signal(SIGPIPE, SIG_IGN);

	/* Global options before the command name; the command's own parse
	 * (cli_begin) takes the ones after it. */
	memset(&p, 0, sizeof(p));
	p.tables = tables;
	p.stop_at_positional = 1;
	i = opts_parse(&p, argc, argv, 1);
	if (i < 0)
		return cli_usage_error(NULL, "%s", p.err);
	if (i >= argc) {
		if (cli->g.help) {
			cli_print_main_help(stdout);
			return CLI_EXIT_OK;
		}
		if (cli->g.version) {
			print_version();
			return CLI_EXIT_OK;
		}
		cli_print_main_help(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli->g.version && !cli->g.help) {
		print_version();
		return CLI_EXIT_OK;
	}
	cli->cmd = cli_find_command(argv[i]);
	if (!cli->cmd) {
		cli_error("unknown command '%s'", argv[i]);
		cli_suggest_command(argv[i]);
		fputs("see 'vcli --help'\n", stderr);
		return CLI_EXIT_USAGE;
	}
	cli->flags = cli->cmd->flags;
	rc = cli->cmd->fn(cli, argc - i, argv + i);
	if (rc < 0)
		rc = CLI_EXIT_INTERNAL; /* a command forgot to map CLI_PROCEED */
	vcli_client_free(cli->client);
	cli->client = NULL;
	OPENSSL_cleanse(cli->auth_value, sizeof(cli->auth_value));
	cfg_file_release(&cli->file);

	/* A full disk or a closed pipe must not look like success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE) {
			/* The reader went away (`| head`): end as a filter does. */
			signal(SIGPIPE, SIG_DFL);
			raise(SIGPIPE);
		}
		cli_error("cannot write the output: %s", strerror(errno));
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_INTERNAL;
	}
	return rc;
}
