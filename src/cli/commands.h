/*
 * Private to vcli: the commands and what they share.
 *
 * main.c parses the global options, finds the command in its one table,
 * commands[], and calls cmd_<name>().  A command parses its own arguments
 * with cli_begin(), which also accepts the global options (they may follow
 * the command name) and then sets up what the command's flags ask for: with
 * NEED_SERVER, a connected-on-demand client in cli->client.  A command
 * returns an exit code (enum cli_exit); only main() exits.
 *
 * Adding a command, say "frob":
 *   1. src/cli/cmd_frob.c with `int cmd_frob(struct cli *, int, char **)`:
 *      a static struct cmd_spec (usage, description, its option table,
 *      positional-argument counts, examples) and a first call to
 *      cli_begin().  Declare cmd_frob below.
 *   2. A row in commands[] in main.c: {"frob", cmd_frob, flags, "summary"}.
 *   3. cmd_frob.c in the source list of src/cli/CMakeLists.txt.
 *   4. A test that runs `vcli frob` against a real governd
 *      (tests/integration/), covering its output formats and exit codes.
 *   5. docs/commands/frob.md, and a line in the command list of
 *      docs/vcli.md.
 */
#ifndef VCLI_CLI_COMMANDS_H
#define VCLI_CLI_COMMANDS_H

#include <stdint.h>

#include "vcli/client.h"
#include "common/opts.h"
#include "cli/output.h"

/* Exit statuses; docs/vcli.md and `vcli --help` list them. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_INTERNAL = 1,    /* a bug, out of memory, write error */
	CLI_EXIT_USAGE = 2,       /* bad flag or value, unknown command */
	CLI_EXIT_UNREACHABLE = 3, /* server unreachable or UNAVAILABLE */
	CLI_EXIT_DEADLINE = 4,    /* the call's deadline passed */
	CLI_EXIT_RPC = 5,         /* any other gRPC error status */
	CLI_EXIT_UNHEALTHY = 6,   /* server answered but is not healthy */
};

/* What cli_begin() returns when the command should go on. */
#define CLI_PROCEED (-1)

/* Flags of a commands[] row: what to set up before the command runs. */
enum cmd_flags {
	NEED_SERVER = 1 << 0, /* cli->client, for the endpoint in cli->server */
};

/* The global options, filled wherever they appear on the command line. */
struct cli_globals {
	const char *server;          /* NULL: env, then the default */
	uint32_t timeout_ms;         /* per call */
	uint32_t connect_timeout_ms;
	int tls;
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
	const char *tls_server_name;
	int output;                  /* enum output_format */
	int help;
	int version;
};

struct cli;
typedef int (*cmd_fn)(struct cli *cli, int argc, char **argv);

struct cmd {
	const char *name;
	cmd_fn fn;
	unsigned flags;      /* enum cmd_flags */
	const char *summary; /* one line for `vcli --help` */
};

/* How a command describes itself, for parsing and for its --help. */
struct cmd_spec {
	const char *usage;        /* "vcli health [options]" */
	const char *description;  /* a paragraph, lines end with \n */
	const struct opt *options;/* its own options; NULL for none */
	int min_args, max_args;   /* positional arguments allowed */
	const char *examples;     /* lines, each ends with \n */
};

struct cli {
	const struct cmd *cmd;    /* the command running */
	struct cli_globals g;
	const char *server;       /* the endpoint, once NEED_SERVER resolved */
	vcli_client *client;      /* NEED_SERVER: owned by main() */
	char **args;              /* positional arguments after cli_begin() */
	int nargs;
};

/*
 * Parses a command's arguments (argv[0] is the command name) against its
 * options and the global ones, handles --help and --version, checks the
 * number of positionals and sets up what cli->cmd->flags ask for.  Returns
 * CLI_PROCEED, or an exit code the command must return at once (0 after
 * --help; the error is already printed otherwise).
 */
int cli_begin(struct cli *cli, const struct cmd_spec *spec, int argc,
	      char **argv);

/* Call options from the global ones (the --timeout deadline). */
void cli_call_options(const struct cli *cli, vcli_call_options *opts);

/*
 * Prints why a call failed and returns its exit code: UNAVAILABLE gives
 * CLI_EXIT_UNREACHABLE, DEADLINE_EXCEEDED CLI_EXIT_DEADLINE, any other
 * status CLI_EXIT_RPC.  what names the call ("HealthCheck").
 */
int cli_call_failed(const struct cli *cli, const char *what,
		    const vcli_call_result *result);

/* Prints "vcli: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "vcli: <message>" and the hint to the right --help; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The top-level help (`vcli --help`, `vcli help`). */
void cli_print_main_help(FILE *f);

/* The commands[] row named name, or NULL. */
const struct cmd *cli_find_command(const char *name);

/* Prints "did you mean 'x'?" when name is a near miss of a command. */
void cli_suggest_command(const char *name);

/* The commands.  Keep in the order of commands[]. */
int cmd_health(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_help(struct cli *cli, int argc, char **argv);

#endif
