/*
 * vcli k8s: a kubectl-compatible client for Kubernetes clusters.  The
 * subcommands live in src/cli/k8s/ (k8s.h says how to add one); the
 * library under them (kubeconfig, HTTP client, discovery, printers) is
 * src/k8s/, described in docs/k8s.md.
 */
#include "cli/commands.h"
#include "cli/k8s/k8s.h"

static const struct subcmd k8s_subs[] = {
	{ "get", k8s_get, NO_CONFIG, &k8s_get_spec,
	  "list or fetch resources (tables, json, yaml, name, jsonpath; -w)" },
	{ "describe", k8s_describe, NO_CONFIG, &k8s_describe_spec,
	  "pods, deployments, services, nodes in detail, with events" },
	{ "api-resources", k8s_api_resources, NO_CONFIG,
	  &k8s_api_resources_spec,
	  "the resource types the server serves" },
	{ "config", k8s_config, NO_CONFIG, &k8s_config_spec,
	  "view|get-contexts|current-context|use-context|set-context" },
};

int cmd_k8s(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli,
			    "Talks to Kubernetes clusters the way kubectl does: "
			    "the same kubeconfig\n(--kubeconfig, $KUBECONFIG, "
			    "~/.kube/config), the same requests, the same\n"
			    "output.  Errors from the cluster exit 1, as "
			    "kubectl's do; a bad command line\nexits 2.\n",
			    k8s_subs, sizeof(k8s_subs) / sizeof(k8s_subs[0]),
			    argc, argv);
}
