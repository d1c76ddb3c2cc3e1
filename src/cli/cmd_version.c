/*
 * vcli version: which vcli, built on which client library.
 */
#include <stdio.h>

#include "cli/commands.h"

#ifndef VCLI_VERSION
#define VCLI_VERSION "unknown"
#endif

static const struct cmd_spec version_spec = {
	.usage = "vcli version [options]",
	.description =
		"Prints the version of vcli and of the client library it is\n"
		"built on.  It does not contact the server.\n",
	.options = NULL,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli version\n"
		"  vcli version -o json\n",
};

int cmd_version(struct cli *cli, int argc, char **argv)
{
	int rc = cli_begin(cli, &version_spec, argc, argv);

	if (rc != CLI_PROCEED)
		return rc;
	if (cli->output != OUTPUT_TABLE) {
		struct doc_arena a;
		struct doc *d;

		doc_arena_init(&a);
		d = doc_obj(&a);
		doc_set(&a, d, "version", doc_str(&a, VCLI_VERSION));
		doc_set(&a, d, "library", doc_str(&a, vcli_version()));
		rc = cli_print_doc(cli, &a, d);
		doc_arena_release(&a);
		return rc;
	} else {
		out_kv(stdout, "VERSION", "%s", VCLI_VERSION);
		out_kv(stdout, "LIBRARY", "%s", vcli_version());
	}
	return CLI_EXIT_OK;
}
