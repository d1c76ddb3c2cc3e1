/*
 * vcli k8s api-resources: what the server serves, from discovery, as
 * kubectl api-resources prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"

static struct {
	const char *output;
	const char *api_group;
	int namespaced_set;
	const char *namespaced;
	int no_headers;
	struct opt_list verbs;
} a;

static const struct opt api_resources_options[] = {
	K8S_CONN_OPTIONS,
	{ "output", 'o', OPT_STRING, &a.output,
	  "wide (adds VERBS and CATEGORIES) or name", NULL, "wide|name" },
	{ "api-group", 0, OPT_STRING, &a.api_group,
	  "only this group (\"\" for the core group)", NULL, "GROUP" },
	{ "namespaced", 0, OPT_STRING, &a.namespaced,
	  "only namespaced (true) or cluster-wide (false) resources", NULL,
	  "true|false" },
	{ "verbs", 0, OPT_LIST, &a.verbs,
	  "only resources that support this verb (repeatable)", NULL, "VERB" },
	{ "no-headers", 0, OPT_FLAG, &a.no_headers, "no header line", NULL,
	  NULL },
	OPT_END,
};

const struct cmd_spec k8s_api_resources_spec = {
	.usage = "vcli k8s api-resources [options]",
	.description =
		"Lists the resources the server serves (preferred versions),\n"
		"with their short names, group version, scope and kind.\n",
	.options = api_resources_options,
	.min_args = 0,
	.max_args = 0,
	.examples = "  vcli k8s api-resources\n"
		    "  vcli k8s api-resources --api-group=apps -o wide\n",
};

static int join(struct ktab *t, const json_t *arr)
{
	json_t *v;
	size_t i;
	int rc = 0;

	json_array_foreach(arr, i, v)
		rc |= ktab_printf(t, "%s%s", i ? "," : "",
				  json_string_value(v) ? json_string_value(v) : "");
	return rc;
}

/* kubectl's order: by group (the core group first), then by name. */
static int res_cmp(const void *x, const void *y)
{
	const json_t *ra = *(const json_t *const *)x;
	const json_t *rb = *(const json_t *const *)y;
	int c = strcmp(json_string_value(json_object_get(ra, "group")),
		       json_string_value(json_object_get(rb, "group")));

	return c ? c : strcmp(json_string_value(json_object_get(ra, "name")),
			      json_string_value(json_object_get(rb, "name")));
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int k8s_api_resources(struct cli *cli)
{
	const json_t **sorted = NULL;
	size_t nsorted = 0;
	struct k8s k;
	struct ktab t;
	buf out = BUF_INIT(16u << 20);
	int rc, wide = 0, by_name = 0;
	size_t i;

	if (a.output && strcmp(a.output, "wide") == 0)
		wide = 1;
	else if (a.output && strcmp(a.output, "name") == 0)
		by_name = 1;
	else if (a.output)
		return cli_usage_error(cli, "--output %s is not available (use "
				       "wide or name)", a.output);
	if (a.namespaced && strcmp(a.namespaced, "true") != 0 &&
	    strcmp(a.namespaced, "false") != 0)
		return cli_usage_error(cli, "invalid value '%s' for "
				       "'--namespaced' (use true or false)",
				       a.namespaced);
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = k8s_discover(&k);
	if (rc != CLI_PROCEED) {
		k8s_close(&k);
		return rc;
	}
	ktab_init(&t);
	if (!by_name && !a.no_headers)
		ktab_printf(&t, "NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND%s\n",
			    wide ? "\tVERBS\tCATEGORIES" : "");
	sorted = calloc(json_array_size(k.disc.resources) + 1, sizeof(*sorted));
	if (!sorted) {
		k8s_close(&k);
		return k8s_fail("out of memory");
	}
	for (i = 0; i < json_array_size(k.disc.resources); i++)
		sorted[nsorted++] = json_array_get(k.disc.resources, i);
	qsort(sorted, nsorted, sizeof(*sorted), res_cmp);
	for (i = 0; i < nsorted; i++) {
		const json_t *res = sorted[i];
		const char *group = json_string_value(json_object_get(res, "group"));
		const char *version = json_string_value(json_object_get(res, "version"));
		int ns = json_is_true(json_object_get(res, "namespaced")), skip = 0;

		if (!json_is_true(json_object_get(res, "preferred")))
			continue;
		if (a.api_group && strcmp(a.api_group, group) != 0)
			continue;
		if (a.namespaced && ns != (strcmp(a.namespaced, "true") == 0))
			continue;
		for (int v = 0; v < a.verbs.n; v++)
			if (!kres_has_verb(res, a.verbs.v[v]))
				skip = 1;
		if (skip)
			continue;
		if (by_name) {
			ktab_printf(&t, "%s%s%s\n",
				    json_string_value(json_object_get(res, "name")),
				    *group ? "." : "", group);
			continue;
		}
		ktab_printf(&t, "%s\t", json_string_value(json_object_get(res, "name")));
		join(&t, json_object_get(res, "shortNames"));
		ktab_printf(&t, "\t%s%s%s\t%s\t%s", group, *group ? "/" : "",
			    version, ns ? "true" : "false",
			    json_string_value(json_object_get(res, "kind")));
		if (wide) {
			json_t *verbs = json_object_get(res, "verbs"), *v;
			const char *vs[64];
			size_t nv = 0, j;

			json_array_foreach(verbs, j, v)
				if (json_is_string(v) && nv < 64)
					vs[nv++] = json_string_value(v);
			qsort(vs, nv, sizeof(*vs), str_cmp);
			ktab_printf(&t, "\t");
			for (j = 0; j < nv; j++)
				ktab_printf(&t, "%s%s", j ? "," : "", vs[j]);
			ktab_printf(&t, "\t");
			join(&t, json_object_get(res, "categories"));
		}
		ktab_printf(&t, "\n");
	}
	if (ktab_flush(&t, &out) < 0 || k8s_write(&out) < 0)
		rc = CLI_EXIT_INTERNAL;
	else
		rc = 0;
	ktab_release(&t);
	buf_release(&out);
	free(sorted);
	k8s_close(&k);
	return rc;
}
