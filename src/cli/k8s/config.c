/*
 * vcli k8s config view|get-contexts|current-context|use-context|set-context:
 * the kubeconfig, read and edited as kubectl config does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"
#include "k8s/kyaml.h"

static struct {
	int minify;
	int raw;
	int flatten;
	int current;
	int no_headers;
	const char *output;
	const char *cluster;
	const char *user;
	const char *ns;
} c;

/* config's own flags; --cluster, --user and --namespace are set-context's
 * values here, not the connection's. */
static const struct opt config_options[] = {
	{ "kubeconfig", 0, OPT_STRING, &k8s_flags.kf.kubeconfig,
	  "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)", NULL,
	  "FILE" },
	{ "context", 0, OPT_STRING, &k8s_flags.kf.context,
	  "view: the context to minify to", NULL, "NAME" },
	{ "minify", 0, OPT_FLAG, &c.minify,
	  "view: only the current context and what it uses", NULL, NULL },
	{ "raw", 0, OPT_FLAG, &c.raw,
	  "view: show certificate data, tokens and passwords", NULL, NULL },
	{ "flatten", 0, OPT_FLAG, &c.flatten,
	  "view: inline the files it names (certificates, keys) as -data",
	  NULL, NULL },
	{ "output", 'o', OPT_STRING, &c.output,
	  "view: yaml (default) or json; get-contexts: name", NULL,
	  "FORMAT" },
	{ "no-headers", 0, OPT_FLAG, &c.no_headers,
	  "get-contexts: no header line", NULL, NULL },
	{ "current", 0, OPT_FLAG, &c.current,
	  "set-context: change the current context", NULL, NULL },
	{ "cluster", 0, OPT_STRING, &c.cluster,
	  "set-context: the context's cluster", NULL, "NAME" },
	{ "user", 0, OPT_STRING, &c.user,
	  "set-context: the context's user", NULL, "NAME" },
	{ "namespace", 'n', OPT_STRING, &c.ns,
	  "set-context: the context's namespace", NULL, "NS" },
	OPT_END,
};

const struct cmd_spec k8s_config_spec = {
	.usage = "vcli k8s config view|get-contexts|current-context|"
		 "use-context NAME|set-context [NAME|--current] [options]",
	.description =
		"Shows or edits the kubeconfig as kubectl config does: the files\n"
		"of --kubeconfig, else $KUBECONFIG (merged: the first file to\n"
		"name a cluster, context or user wins), else ~/.kube/config.\n"
		"Edits go to the file that defines what is edited.\n",
	.options = config_options,
	.min_args = 1,
	.max_args = 2,
	.examples =
		"  vcli k8s config view --minify\n"
		"  vcli k8s config view --minify --flatten > portable.yaml\n"
		"  vcli k8s config get-contexts\n"
		"  vcli k8s config use-context staging\n"
		"  vcli k8s config set-context --current --namespace=shop\n",
};

static int view(struct kcfg *cfg)
{
	char err[512];
	buf out = BUF_INIT(64u << 20);
	json_t *v;
	int rc;

	if (c.output && strcmp(c.output, "yaml") != 0 &&
	    strcmp(c.output, "json") != 0)
		return k8s_fail("unable to match a printer suitable for the "
				"output format \"%s\", allowed formats are: "
				"json, yaml", c.output);
	v = kcfg_view(cfg, k8s_flags.kf.context, c.minify, c.raw, c.flatten,
		      err, sizeof(err));
	if (!v)
		return k8s_fail("%s", err);
	rc = c.output && strcmp(c.output, "json") == 0 ? kjson_emit(&out, v) :
							 kyaml_emit(&out, v);
	json_decref(v);
	if (rc == 0)
		rc = k8s_write(&out);
	buf_release(&out);
	return rc ? CLI_EXIT_INTERNAL : 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int get_contexts(struct kcfg *cfg, int nargs, char **args)
{
	size_t n = json_object_size(cfg->contexts), i = 0;
	const char **names = malloc((n ? n : 1) * sizeof(*names));
	const char *k, *cur = cfg->current_context ? cfg->current_context : "";
	struct ktab t;
	buf out = BUF_INIT(16u << 20);
	json_t *x;
	int rc = 0, by_name = c.output && strcmp(c.output, "name") == 0;

	if (!names)
		return k8s_fail("out of memory");
	if (c.output && !by_name) {
		free(names);
		return k8s_fail("output must be one of '' or 'name': %s",
				c.output);
	}
	json_object_foreach(cfg->contexts, k, x)
		names[i++] = k;
	qsort(names, n, sizeof(*names), str_cmp);
	ktab_init(&t);
	if (!by_name && !c.no_headers)
		ktab_printf(&t, "CURRENT\tNAME\tCLUSTER\tAUTHINFO\tNAMESPACE\n");
	for (i = 0; i < n; i++) {
		json_t *ctx = json_object_get(json_object_get(
			json_object_get(cfg->contexts, names[i]), "entry"),
			"context");
		const char *cl = json_string_value(json_object_get(ctx, "cluster"));
		const char *us = json_string_value(json_object_get(ctx, "user"));
		const char *ns = json_string_value(json_object_get(ctx, "namespace"));

		if (nargs > 1 && strcmp(args[1], names[i]) != 0)
			continue;
		if (by_name)
			ktab_printf(&t, "%s\n", names[i]);
		else
			ktab_printf(&t, "%s\t%s\t%s\t%s\t%s\n",
				    strcmp(cur, names[i]) == 0 ? "*" : "",
				    names[i], cl ? cl : "", us ? us : "",
				    ns ? ns : "");
	}
	if (nargs > 1 && !json_object_get(cfg->contexts, args[1])) {
		ktab_release(&t);
		free(names);
		return k8s_fail("context %s not found", args[1]);
	}
	if (ktab_flush(&t, &out) < 0 || k8s_write(&out) < 0)
		rc = CLI_EXIT_INTERNAL;
	ktab_release(&t);
	buf_release(&out);
	free(names);
	return rc;
}

int k8s_config(struct cli *cli)
{
	const char *what = cli->args[0];
	struct kcfg cfg;
	char err[1024];
	int rc = 0;

	if (kcfg_load(&cfg, k8s_flags.kf.kubeconfig, err, sizeof(err)) < 0) {
		kcfg_release(&cfg);
		return k8s_fail("%s", err);
	}
	if (strcmp(what, "view") == 0) {
		rc = cli->nargs > 1 ? cli_usage_error(cli, "unexpected argument "
				      "'%s'", cli->args[1]) : view(&cfg);
	} else if (strcmp(what, "get-contexts") == 0) {
		rc = get_contexts(&cfg, cli->nargs, cli->args);
	} else if (strcmp(what, "current-context") == 0) {
		if (!cfg.current_context || !*cfg.current_context)
			rc = k8s_fail("current-context is not set");
		else
			printf("%s\n", cfg.current_context);
	} else if (strcmp(what, "use-context") == 0) {
		if (cli->nargs != 2) {
			rc = cli_usage_error(cli, "use-context needs the name of "
					     "a context");
		} else if (kcfg_use_context(&cfg, cli->args[1], err,
					    sizeof(err)) < 0) {
			rc = k8s_fail("%s", err);
		} else {
			printf("Switched to context \"%s\".\n", cli->args[1]);
		}
	} else if (strcmp(what, "set-context") == 0) {
		const char *name = cli->nargs > 1 ? cli->args[1] : NULL;
		int created = 0;

		if (c.current && name) {
			rc = cli_usage_error(cli, "you cannot specify both a "
					     "context name and --current");
		} else if (c.current) {
			name = cfg.current_context;
			if (!name || !*name)
				rc = k8s_fail("no current context is set");
		} else if (!name) {
			rc = cli_usage_error(cli, "set-context needs a context "
					     "name or --current");
		}
		if (!rc && kcfg_set_context(&cfg, name, c.cluster, c.user, c.ns,
					    &created, err, sizeof(err)) < 0)
			rc = k8s_fail("%s", err);
		if (!rc)
			printf("Context \"%s\" %s.\n", name,
			       created ? "created" : "modified");
	} else {
		rc = cli_usage_error(cli, "unknown config subcommand '%s' (use "
				     "view, get-contexts, current-context, "
				     "use-context or set-context)", what);
	}
	kcfg_release(&cfg);
	return rc;
}
