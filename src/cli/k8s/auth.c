/*
 * vcli k8s auth can-i VERB TYPE[/NAME]: whether the credentials may, from a
 * SelfSubjectAccessReview, as kubectl auth can-i asks it.
 */
#include <stdio.h>
#include <string.h>

#include "cli/k8s/k8s.h"
#include "k8s/kyaml.h"

static struct {
	int quiet;
	const char *subresource;
} au;

static const struct opt auth_options[] = {
	K8S_CONN_OPTIONS,
	{ "all-namespaces", 'A', OPT_FLAG, &k8s_flags.all_namespaces,
	  "in every namespace", NULL, NULL },
	{ "quiet", 'q', OPT_FLAG, &au.quiet,
	  "no output: the exit status says", NULL, NULL },
	{ "subresource", 0, OPT_STRING, &au.subresource,
	  "a subresource (log, scale, status)", NULL, "NAME" },
	OPT_END,
};

const struct cmd_spec k8s_auth_spec = {
	.usage = "vcli k8s auth can-i VERB TYPE[/NAME] [NAME] [options]",
	.description =
		"Asks the server whether the current credentials may do VERB to\n"
		"TYPE: prints yes (exit 0) or no (exit 1).\n",
	.options = auth_options,
	.min_args = 3,
	.max_args = 4,
	.examples = "  vcli k8s auth can-i delete pods\n"
		    "  vcli k8s auth can-i patch deploy/web -n shop\n",
};

int k8s_auth(struct cli *cli)
{
	const char *verb = cli->args[1], *type = cli->args[2];
	const char *name = cli->nargs > 3 ? cli->args[3] : NULL;
	char tbuf[256], err[1024];
	const json_t *res;
	const char *group = "", *plural;
	struct k8s k;
	json_t *ssar, *attrs, *ans;
	buf body = BUF_INIT(1 << 16);
	struct kresp r;
	int rc;

	if (strcmp(cli->args[0], "can-i") != 0)
		return cli_usage_error(cli, "unknown auth subcommand '%s' (use "
				       "can-i)", cli->args[0]);
	if (strchr(type, '/')) {
		snprintf(tbuf, sizeof(tbuf), "%.*s", (int)(strchr(type, '/') - type),
			 type);
		name = strchr(type, '/') + 1;
		type = tbuf;
	}
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = 0;
	if (k8s_discover(&k) != CLI_PROCEED) {
		k8s_close(&k);
		return K8S_EXIT_ERROR;
	}
	res = kdisc_find(&k.disc, type);
	if (res) {
		group = json_string_value(json_object_get(res, "group"));
		plural = json_string_value(json_object_get(res, "name"));
	} else {
		/* As kubectl: warn, and ask about the name as given. */
		fprintf(stderr, "Warning: the server doesn't have a resource type "
			"'%s'\n\n", type);
		plural = type;
	}
	attrs = json_pack("{ssssss}", "verb", verb, "group", group, "resource",
			  plural);
	if (!k8s_flags.all_namespaces)
		json_object_set_new(attrs, "namespace",
				    json_string(k8s_namespace(&k)));
	if (name)
		json_object_set_new(attrs, "name", json_string(name));
	if (au.subresource)
		json_object_set_new(attrs, "subresource", json_string(au.subresource));
	ssar = json_pack("{sssss{so}s{so}s{}}", "kind", "SelfSubjectAccessReview",
			 "apiVersion", "authorization.k8s.io/v1", "metadata",
			 "creationTimestamp", json_null(), "spec",
			 "resourceAttributes", attrs, "status");
	kjson_emit_compact(&body, ssar);
	json_decref(ssar);
	memset(&r, 0, sizeof(r));
	if (kclient_request(&k.client, "POST",
			    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
			    KACCEPT_JSON, "application/json", body.data, body.len,
			    &r, err, sizeof(err)) != KC_OK) {
		rc = k8s_fail("%s", err);
	} else if (r.status != 201 && r.status != 200) {
		rc = k8s_fail_status(&r);
	} else {
		const char *reason;

		ans = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
		reason = json_string_value(json_object_get(json_object_get(ans,
			"status"), "reason"));
		if (json_is_true(json_object_get(json_object_get(ans, "status"),
						 "allowed"))) {
			if (!au.quiet)
				printf("yes\n");
		} else {
			if (!au.quiet)
				printf(reason && *reason ? "no - %s\n" : "no\n",
				       reason);
			rc = K8S_EXIT_ERROR;
		}
		json_decref(ans);
	}
	kresp_release(&r);
	buf_release(&body);
	k8s_close(&k);
	return rc;
}
