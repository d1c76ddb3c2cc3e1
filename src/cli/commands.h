/*
 * Private to vcli: the commands and what they share.
 *
 * main.c parses the global options, finds the command in its one table,
 * commands[], and calls cmd_<name>().  A command parses its own arguments
 * with cli_begin(), which also accepts the global options (they may follow
 * the command name), resolves the configuration (flags > environment >
 * config file > defaults, see config.h) and then sets up what the command's
 * flags ask for: with NEED_SERVER, a connected-on-demand client in
 * cli->client.  A command returns an exit code (enum cli_exit); only main()
 * exits.
 *
 * A command group ("gov", "session", "config") has a sub-table of struct
 * subcmd rows, each with its own cmd_spec; cli_dispatch() picks the row by
 * the word after the group name and cli_begin() checks its arity before
 * the row's function runs (redis-cli's way).
 *
 * Adding a command, say "frob":
 *   1. src/cli/cmd_frob.c with `int cmd_frob(struct cli *, int, char **)`:
 *      a static struct cmd_spec (usage, description, its option table,
 *      positional-argument counts, examples) and a first call to
 *      cli_begin().  Declare cmd_frob below.  (A subcommand of a group:
 *      a row in the group's subcmd table and a function taking the
 *      parsed struct cli.)
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

#include <protobuf-c/protobuf-c.h>

#include "vcli/client.h"
#include "common/opts.h"
#include "cli/config.h"
#include "cli/doc.h"
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
	CLI_EXIT_NOT_FOUND = 7,   /* NOT_FOUND */
	CLI_EXIT_CONFLICT = 8,    /* FAILED_PRECONDITION, ALREADY_EXISTS,
				     ABORTED */
	CLI_EXIT_REJECTED = 9,    /* INVALID_ARGUMENT, OUT_OF_RANGE */
	CLI_EXIT_DENIED = 10,     /* UNAUTHENTICATED (after renewing the
				     session), PERMISSION_DENIED */
	CLI_EXIT_EXHAUSTED = 11,  /* RESOURCE_EXHAUSTED */
	CLI_EXIT_TARGET = 12,     /* vcli bench: a target was missed */
	CLI_EXIT_AUDIT = 13,      /* vcli audit verify: the chain is broken */
	CLI_EXIT_UNRECORDED = 14, /* gov approve --execute: the action ran but
				     its outcome is not recorded */
};

/* What cli_begin() returns when the command should go on. */
#define CLI_PROCEED (-1)

/* Flags of a commands[] row: what to set up before the command runs. */
enum cmd_flags {
	NEED_SERVER = 1 << 0,   /* cli->client, for the endpoint in cli->server */
	NEED_OPERATOR = 1 << 1, /* an operator must be configured */
	NO_CONFIG = 1 << 2,     /* runs without reading the configuration */
	NEED_ACTOR = 1 << 3,    /* an operator, or a credential (token or
				   client certificate) that names one */
};

/* The global options, filled wherever they appear on the command line.
 * The ones that are also settings stay text until cli_begin() resolves
 * them against the environment and the config file (cli->cfg). */
struct cli_globals {
	const char *server;
	const char *operator_id;
	const char *token;
	const char *timeout;
	const char *connect_timeout;
	const char *retries;
	int no_retry;
	const char *retry_backoff;
	const char *reconnect_backoff;
	const char *breaker;
	const char *breaker_cooldown;
	const char *output;
	int tls;
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
	const char *tls_server_name;
	const char *config;          /* --config FILE */
	int no_color;
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

/* A subcommand of a group: run after cli_begin() has parsed its options
 * and checked its arity against spec. */
struct subcmd {
	const char *name;
	int (*fn)(struct cli *cli);
	unsigned flags;               /* enum cmd_flags */
	const struct cmd_spec *spec;
	const char *summary;
};

struct cli {
	const struct cmd *cmd;    /* the command running */
	const struct subcmd *sub; /* its subcommand, for groups */
	unsigned flags;           /* what to set up: cmd's or sub's flags */
	struct cli_globals g;
	struct cfg cfg;           /* the effective settings (cli_begin) */
	struct cfg_file file;     /* the config file, when one was read */
	char config_path[4096];   /* "" when there is none to read */
	const char *config_origin;/* "flag --config", "env VCLI_CONFIG",
				     "default" */
	int config_present;       /* the file exists and was read */
	const char *server;       /* the endpoint (cfg.server) */
	int output;               /* enum output_format (cfg.output) */
	int color;                /* colour on stdout: a terminal, allowed */
	vcli_client *client;      /* NEED_SERVER: owned by main() */
	/* The bearer token as call metadata (cli_call_options), when one is
	 * configured.  Never printed. */
	char auth_value[4104];
	vcli_metadata auth_md;
	size_t auth_count;
	/* Which credential this is, for the remembered session: "t:" or
	 * "c:" and 16 hex digits of a SHA-256 (of the token, of the client
	 * certificate's path); "" for none. */
	char credential[24];
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

/*
 * Runs the subcommand of a group named by argv[1] (argv[0] is the group):
 * `vcli gov list ...`.  Without one, or with --help there, prints the
 * group's subcommands.  Returns the exit code.
 */
int cli_dispatch(struct cli *cli, const char *description,
		 const struct subcmd *subs, size_t nsubs, int argc,
		 char **argv);

/* Client options from the effective settings: the server, TLS, the
 * connect timeout and the resilience settings (retries, back-offs, the
 * circuit breaker; docs/client.md) — what NEED_SERVER uses for
 * cli->client. */
void cli_client_options(const struct cli *cli, vcli_client_options *o);

/* Call options from the global ones (the --timeout deadline). */
void cli_call_options(const struct cli *cli, vcli_call_options *opts);

/* The exit code for a gRPC status (see enum cli_exit). */
int cli_exit_for_status(int status);

/*
 * Prints why a call failed and returns its exit code (cli_exit_for_status).
 * method names the call ("GetDecision"), action says what could not be
 * done in lower case ("cannot get decision 'd-1'"): "vcli: <action>:
 * <server's message> (<STATUS>)".  UNAVAILABLE and DEADLINE_EXCEEDED get
 * messages about the server and --timeout instead.
 */
int cli_rpc_failed(const struct cli *cli, const char *method,
		   const char *action, const vcli_call_result *result);

/* cli_rpc_failed() with the action "<what> on '<server>' failed". */
int cli_call_failed(const struct cli *cli, const char *what,
		    const vcli_call_result *result);

/*
 * One unary call of the governance service: packs req, calls method
 * ("GetDecision") and unpacks the answer as rdesc into *resp (the caller
 * frees it with protobuf_c_message_free_unpacked(*resp, NULL)).  Returns 0
 * when the call succeeded; otherwise -1 with the status in *result (an
 * answer that does not decode is INTERNAL).
 */
int cli_unary(struct cli *cli, const char *method, const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **resp,
	      vcli_call_result *result);

/* cli_unary() with the request already packed. */
int cli_unary_raw(struct cli *cli, const char *method, const uint8_t *req,
		  size_t len, const ProtobufCMessageDescriptor *rdesc,
		  ProtobufCMessage **resp, vcli_call_result *result);

/* cli_unary_raw() for a call whose safety to repeat depends on the
 * request, not the method (SubmitDecision: with an idempotency key). */
int cli_unary_call(struct cli *cli, const char *method, const uint8_t *req,
		   size_t len, int retry_safe,
		   const ProtobufCMessageDescriptor *rdesc,
		   ProtobufCMessage **resp, vcli_call_result *result);

/*
 * Whether the library may send a call of method ("GetDecision") again
 * after UNAVAILABLE (vcli_call_options.retry_safe): the reads, and the
 * writes vcli always sends with a request id (approve, reject, escalate),
 * which the server answers once.  CreateSession and CloseSession are not.
 */
int cli_method_retry_safe(const char *method);

/* Writes d in cli->output (json or yaml).  Returns an exit code. */
int cli_print_doc(const struct cli *cli, const struct doc_arena *a,
		  const struct doc *d);

/* Writes a message in its JSON mapping as json or yaml (pbjson.h).
 * Returns an exit code. */
int cli_print_message(const struct cli *cli, const ProtobufCMessage *m);

/* An operator is configured; otherwise prints how to set one and returns
 * CLI_EXIT_USAGE.  Returns CLI_PROCEED when there is one. */
int cli_need_operator(const struct cli *cli);

/* An operator is configured, or a credential (token, client certificate)
 * from which the server knows who acts.  Like cli_need_operator(). */
int cli_need_actor(const struct cli *cli);

/* Fills id with a fresh request id: "vcli-" and 32 hex digits, the first
 * 12 the time in milliseconds (so ids sort by time), the rest random. */
void cli_request_id(char *id, size_t idlen);

/*
 * The session for a write: the one remembered for this server and
 * operator, else a new one (CreateSession, then remembered).  force_new
 * opens a new one whatever is remembered (after UNAUTHENTICATED).  Fills
 * id and returns CLI_PROCEED, or prints why not and returns the exit code.
 */
int cli_session_for_write(struct cli *cli, int force_new, char *id,
			  size_t idlen);

/*
 * Reads all of path ("-": stdin), at most max bytes.  Returns the contents
 * (the caller frees them; len bytes, not NUL-terminated) or NULL with the
 * error printed and *rc set to the exit code (2, or 9 when too large).
 */
char *cli_read_input(const char *path, size_t max, size_t *len, int *rc);

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

/* The same among names[0..n). */
void cli_suggest(const char *name, const char *const *names, size_t n);

/* The commands.  Keep in the order of commands[]. */
int cmd_health(struct cli *cli, int argc, char **argv);
int cmd_gov(struct cli *cli, int argc, char **argv);
int cmd_bench(struct cli *cli, int argc, char **argv);
int cmd_session(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_k8s(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_help(struct cli *cli, int argc, char **argv);

#endif
