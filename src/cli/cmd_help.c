/*
 * vcli help [command]: the top-level help, or one command's.
 */
#include <stdio.h>

#include "cli/commands.h"

static const struct cmd_spec help_spec = {
	.usage = "vcli help [command [subcommand]]",
	.description =
		"Without a command, prints the list of commands, the global\n"
		"options and the exit statuses.  With one, prints that\n"
		"command's help, exactly as 'vcli <command> --help' does.\n",
	.options = NULL,
	.min_args = 0,
	.max_args = 2,
	.examples =
		"  vcli help\n"
		"  vcli help health\n"
		"  vcli help gov list\n",
};

int cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct cmd *target;
	char *target_argv[3];
	int rc = cli_begin(cli, &help_spec, argc, argv);

	if (rc != CLI_PROCEED)
		return rc;
	if (cli->nargs == 0) {
		cli_print_main_help(stdout);
		return CLI_EXIT_OK;
	}
	target = cli_find_command(cli->args[0]);
	if (!target) {
		cli_error("unknown command '%s'", cli->args[0]);
		cli_suggest_command(cli->args[0]);
		fputs("see 'vcli --help'\n", stderr);
		return CLI_EXIT_USAGE;
	}
	/* Running the command itself with --help set keeps one source for
	 * its help text: its cmd_spec, printed by cli_begin(). */
	cli->cmd = target;
	cli->flags = target->flags;
	cli->g.help = 1;
	target_argv[0] = cli->args[0];
	target_argv[1] = cli->nargs > 1 ? cli->args[1] : NULL;
	target_argv[2] = NULL;
	return target->fn(cli, cli->nargs, target_argv);
}
