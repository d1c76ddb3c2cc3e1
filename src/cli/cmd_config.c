/*
 * vcli config show: every effective setting, its value and where it came
 * from (flag, environment, config file line, default).
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/table.h"

static const struct table_col cols[] = {
	{ "SETTING", 0 }, { "VALUE", 48 }, { "SOURCE", 0 },
};

static int config_show(struct cli *cli)
{
	struct doc_arena a;
	struct doc *root, *e;
	char origin[4400];
	int rc;

	if (cli->output == OUTPUT_TABLE) {
		struct table t;

		table_init(&t, cols, 3);
		for (int k = 0; k < CFG_NKEYS; k++) {
			const struct cfg_setting *s = &cli->cfg.s[k];

			cfg_origin_text(s, origin, sizeof(origin));
			table_row(&t);
			table_set(&t, 0, NULL, cfg_keys[k].name);
			table_set(&t, 1, NULL, s->text ?
				  cfg_shown((enum cfg_key)k, s->text) : "(unset)");
			table_set(&t, 2, NULL, origin);
		}
		table_row(&t);
		table_set(&t, 0, NULL, "config");
		table_set(&t, 1, NULL, cli->config_path[0] ? cli->config_path
							   : "(none)");
		table_setf(&t, 2, NULL, "%s%s", cli->config_origin,
			   cli->config_present ? "" : " (not present)");
		rc = table_print(stdout, &t, 0);
		table_release(&t);
		if (rc < 0) {
			cli_error("out of memory");
			return CLI_EXIT_INTERNAL;
		}
		return CLI_EXIT_OK;
	}
	doc_arena_init(&a);
	root = doc_obj(&a);
	for (int k = 0; k < CFG_NKEYS; k++) {
		const struct cfg_setting *s = &cli->cfg.s[k];

		cfg_origin_text(s, origin, sizeof(origin));
		e = doc_obj(&a);
		if (s->text)
			doc_set(&a, e, "value",
				doc_str(&a, cfg_shown((enum cfg_key)k, s->text)));
		doc_set(&a, e, "source", doc_str(&a, origin));
		doc_set(&a, root, cfg_keys[k].name, e);
	}
	e = doc_obj(&a);
	if (cli->config_path[0])
		doc_set(&a, e, "value", doc_str(&a, cli->config_path));
	doc_set(&a, e, "source", doc_str(&a, cli->config_origin));
	doc_set(&a, e, "present", doc_bool(&a, cli->config_present));
	doc_set(&a, root, "config", e);
	rc = cli_print_doc(cli, &a, root);
	doc_arena_release(&a);
	return rc;
}

static const struct cmd_spec show_spec = {
	.usage = "vcli config show [options]",
	.description =
		"Prints each setting vcli would use with the same flags and\n"
		"environment, its value and where it came from: 'flag --x',\n"
		"'env VCLI_X', 'FILE:LINE' of the config file, or 'default'.\n"
		"The last row is the config file itself.  It does not contact\n"
		"the server.  The token is never shown: its value reads\n"
		"'(hidden)', its source says where it came from.\n",
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli config show\n"
		"  vcli --server 10.0.0.7:50051 config show -o json\n",
};

static const struct subcmd config_subs[] = {
	{ "show", config_show, 0, &show_spec,
	  "print the effective settings and their sources" },
};

int cmd_config(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli,
			    "Settings come from flags, then the environment, "
			    "then the config file\n($XDG_CONFIG_HOME/vcli/config "
			    "or ~/.config/vcli/config), then defaults.\n",
			    config_subs,
			    sizeof(config_subs) / sizeof(config_subs[0]), argc,
			    argv);
}
