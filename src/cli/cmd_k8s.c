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
	{ "logs", k8s_logs, NO_CONFIG, &k8s_logs_spec,
	  "a container's log (-f, --tail, --since, -c, -p, --timestamps)" },
	{ "scale", k8s_scale, NO_CONFIG, &k8s_scale_spec,
	  "set the replicas of deployments, replica sets, stateful sets" },
	{ "delete", k8s_delete, NO_CONFIG, &k8s_delete_spec,
	  "delete by name, -l or -f (--grace-period, --cascade)" },
	{ "apply", k8s_apply, NO_CONFIG, &k8s_apply_spec,
	  "server-side apply of manifests (files, directories, multi-doc)" },
	{ "rollout", k8s_rollout, NO_CONFIG, &k8s_rollout_spec,
	  "status|restart|history|undo of a deployment" },
	{ "wait", k8s_wait, NO_CONFIG, &k8s_wait_spec,
	  "until objects have a condition, or are deleted" },
	{ "top", k8s_top, NO_CONFIG, &k8s_top_spec,
	  "CPU and memory of pods or nodes (metrics.k8s.io)" },
	{ "auth", k8s_auth, NO_CONFIG, &k8s_auth_spec,
	  "can-i: may the credentials do this?" },
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
