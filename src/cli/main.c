/*
 * vcli: the operator CLI for governd.
 *
 * This file owns the global options, the command table and the process exit
 * status; each command lives in its own cmd_<name>.c (see commands.h for the
 * checklist to add one).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "common/timeutil.h"

#ifndef VCLI_VERSION
#define VCLI_VERSION "unknown"
#endif

#define DEFAULT_SERVER "127.0.0.1:50051"
#define ENDPOINT_ENV "VCLI_GOVERNANCE_ENDPOINT"

static const struct cmd commands[] = {
	{ "health", cmd_health, NEED_SERVER,
	  "check that the server is up and healthy" },
	{ "version", cmd_version, 0, "print the version of vcli" },
	{ "help", cmd_help, 0, "show help for vcli or for one command" },
};

/*
 * One invocation is one process, so the global options live in one static
 * struct; that lets their table below be a constant that points into it.
 */
static struct cli the_cli;

static const struct opt global_options[] = {
	{ "server", 0, OPT_STRING, &the_cli.g.server,
	  "server to call (default: " DEFAULT_SERVER ", see environment)",
	  NULL, "HOST:PORT" },
	{ "timeout", 0, OPT_DURATION, &the_cli.g.timeout_ms,
	  "deadline of each call (default: 10s)", NULL, NULL },
	{ "connect-timeout", 0, OPT_DURATION, &the_cli.g.connect_timeout_ms,
	  "time allowed to open the connection (default: 5s)", NULL, NULL },
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
	{ "output", 'o', OPT_ENUM, &the_cli.g.output,
	  "output format (default: table)", output_names, NULL },
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
	"  2  usage error (bad option or value, unknown command)\n"
	"  3  server unreachable or UNAVAILABLE\n"
	"  4  deadline exceeded\n"
	"  5  any other gRPC error status\n"
	"  6  server reachable but not healthy\n";

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
	if (cli && cli->cmd)
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

void cli_suggest_command(const char *name)
{
	const char *best = NULL;
	size_t best_d = 3; /* only near misses: two edits at most */

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		size_t d = edit_distance(name, commands[i].name);

		if (d < best_d) {
			best_d = d;
			best = commands[i].name;
		}
	}
	if (best)
		fprintf(stderr, "did you mean '%s'?\n", best);
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
	fputs("\nenvironment:\n"
	      "  " ENDPOINT_ENV "  server address when --server is not "
	      "given\n\n", f);
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

/* A light check that catches typos early with a clear message; the
 * library does the real parsing. */
static int endpoint_looks_valid(const char *ep)
{
	const char *colon = strrchr(ep, ':');
	long port = 0;

	if (!colon || colon == ep || !colon[1])
		return 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			return 0;
		port = port * 10 + (*p - '0');
	}
	return port >= 1 && port <= 65535;
}

static int setup_server(struct cli *cli)
{
	const char *env = getenv(ENDPOINT_ENV);
	vcli_client_options o;
	char err[256] = "";
	vcli_code code;
	struct cli_globals *g = &cli->g;

	if (g->server)
		cli->server = g->server;
	else if (env && *env)
		cli->server = env;
	else
		cli->server = DEFAULT_SERVER;
	if (!endpoint_looks_valid(cli->server)) {
		if (!g->server && env && *env)
			return cli_usage_error(cli, "invalid server address "
					       "'%s' in " ENDPOINT_ENV
					       " (use HOST:PORT)", cli->server);
		return cli_usage_error(cli, "invalid server address '%s' "
				       "(use HOST:PORT)", cli->server);
	}
	if (g->tls_ca || g->tls_cert || g->tls_key || g->tls_server_name)
		g->tls = 1;
	if (!g->tls_cert != !g->tls_key)
		return cli_usage_error(cli, "'%s' needs '%s' as well",
				       g->tls_cert ? "--tls-cert" : "--tls-key",
				       g->tls_cert ? "--tls-key" : "--tls-cert");

	vcli_client_options_init(&o);
	o.endpoint = cli->server;
	o.tls = g->tls;
	o.tls_ca_file = g->tls_ca;
	o.tls_cert_file = g->tls_cert;
	o.tls_key_file = g->tls_key;
	o.tls_server_name = g->tls_server_name;
	o.connect_timeout_ms = g->connect_timeout_ms;
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
	if (cli->cmd->flags & NEED_SERVER)
		return setup_server(cli);
	return CLI_PROCEED;
}

void cli_call_options(const struct cli *cli, vcli_call_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->deadline_ms = cli->g.timeout_ms;
}

int cli_call_failed(const struct cli *cli, const char *what,
		    const vcli_call_result *result)
{
	/* How the library words a failed connection; the address is in our
	 * own message already, so only the reason after it is kept. */
	static const struct {
		const char *before, *after;
	} library_prefixes[] = {
		{ "cannot connect to ", ": " },
		{ "connection to ", " failed: " },
	};
	char msg[sizeof(result->message)], dur[32], prefix[300];
	const char *reason = msg;

	out_sanitize(msg, sizeof(msg), result->message);
	switch (result->status) {
	case VCLI_STATUS_UNAVAILABLE:
		for (size_t i = 0; i < sizeof(library_prefixes) /
					   sizeof(library_prefixes[0]); i++) {
			int n = snprintf(prefix, sizeof(prefix), "%s%s%s",
					 library_prefixes[i].before,
					 cli->server,
					 library_prefixes[i].after);

			if (n > 0 && (size_t)n < sizeof(prefix) &&
			    strncmp(msg, prefix, (size_t)n) == 0) {
				reason = msg + n;
				break;
			}
		}
		/* A TLS server hangs up on a plaintext HTTP/2 preface; that is
		 * the usual reason for a close before any answer. */
		cli_error("cannot reach server '%s': %s%s", cli->server,
			  reason[0] ? reason : "unavailable",
			  !cli->g.tls && strstr(reason, "closed by the server") ?
			  " (if the server uses TLS, add --tls)" : "");
		return CLI_EXIT_UNREACHABLE;
	case VCLI_STATUS_DEADLINE_EXCEEDED:
		duration_format(cli->g.timeout_ms, dur, sizeof(dur));
		cli_error("no answer to %s from '%s' within '%s' (deadline "
			  "exceeded); a longer --timeout may help", what,
			  cli->server, dur);
		return CLI_EXIT_DEADLINE;
	default:
		cli_error("%s on '%s' failed: %s%s%s", what, cli->server,
			  vcli_status_name(result->status), msg[0] ? ": " : "",
			  msg);
		return CLI_EXIT_RPC;
	}
}

int main(int argc, char **argv)
{
	struct cli *cli = &the_cli;
	struct opts_parser p;
	const struct opt *tables[] = { global_options, NULL };
	int i, rc;

	cli->g.timeout_ms = 10000;
	cli->g.connect_timeout_ms = 5000;
	cli->g.output = OUTPUT_TABLE;

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
	rc = cli->cmd->fn(cli, argc - i, argv + i);
	if (rc < 0)
		rc = CLI_EXIT_INTERNAL; /* a command forgot to map CLI_PROCEED */
	vcli_client_free(cli->client);
	cli->client = NULL;

	/* A full disk or a closed pipe must not look like success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("cannot write the output: %s", strerror(errno));
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_INTERNAL;
	}
	return rc;
}
