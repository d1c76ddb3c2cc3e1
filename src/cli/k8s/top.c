/*
 * vcli k8s top pods|nodes: resource usage from metrics.k8s.io, as kubectl
 * top prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"

static struct {
	const char *selector;
	int no_headers;
	int containers;
} tp;

static const struct opt top_options[] = {
	K8S_CONN_OPTIONS,
	{ "all-namespaces", 'A', OPT_FLAG, &k8s_flags.all_namespaces,
	  "pods: across all namespaces", NULL, NULL },
	{ "selector", 'l', OPT_STRING, &tp.selector,
	  "only the objects matching this label selector", NULL, "SEL" },
	{ "containers", 0, OPT_FLAG, &tp.containers,
	  "pods: a line per container", NULL, NULL },
	{ "no-headers", 0, OPT_FLAG, &tp.no_headers, "no header line", NULL,
	  NULL },
	OPT_END,
};

const struct cmd_spec k8s_top_spec = {
	.usage = "vcli k8s top pods|nodes [NAME] [options]",
	.description =
		"CPU (millicores) and memory (MiB) in use, from the metrics API\n"
		"(metrics.k8s.io, served by metrics-server); for nodes also the\n"
		"share of what is allocatable.\n",
	.options = top_options,
	.min_args = 1,
	.max_args = 2,
	.examples = "  vcli k8s top pods -A\n"
		    "  vcli k8s top nodes\n",
};

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* Millicores or bytes of a quantity ("250m", "1", "1048576Ki", "1Gi"). */
static long long quantity(const char *q, int cpu)
{
	char *end;
	double v = strtod(q, &end);
	static const struct { const char *sfx; double mul; } units[] = {
		{ "n", 1e-9 }, { "u", 1e-6 }, { "m", 1e-3 }, { "", 1 },
		{ "k", 1e3 }, { "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 },
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].sfx) == 0) {
			v *= units[i].mul;
			break;
		}
	return (long long)(cpu ? v * 1000 + 0.999999 : v);
}

/* kubectl prints them by namespace, then name. */
/* "/NAME" for one object, else "?labelSelector=..." when -l was given. */
static void name_or_selector(buf *path, const char *name)
{
	if (name) {
		buf_printf(path, "/");
		kquery_escape(path, name);
	} else if (tp.selector) {
		buf_printf(path, "?labelSelector=");
		kquery_escape(path, tp.selector);
	}
}

static int by_ns_name(const void *x, const void *y)
{
	const json_t *a = json_object_get(*(const json_t *const *)x, "metadata");
	const json_t *b = json_object_get(*(const json_t *const *)y, "metadata");
	int c = strcmp(str(a, "namespace"), str(b, "namespace"));

	return c ? c : strcmp(str(a, "name"), str(b, "name"));
}

static json_t *sorted(json_t *items)
{
	size_t n = json_array_size(items), i;
	json_t **v = malloc((n ? n : 1) * sizeof(*v)), *out = json_array();

	for (i = 0; v && i < n; i++)
		v[i] = json_array_get(items, i);
	if (v)
		qsort(v, n, sizeof(*v), by_ns_name);
	for (i = 0; v && i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(items);
	return out;
}

static json_t *get(struct k8s *k, buf *path, int *rc)
{
	struct kresp r;
	json_t *v = k8s_get_json(k, buf_cstr(path), &r, rc);

	if (!v && !*rc) {
		if (r.status == 404)
			*rc = k8s_fail("Metrics API not available");
		else
			*rc = k8s_fail_status(&r);
	}
	kresp_release(&r);
	return v;
}

int k8s_top(struct cli *cli)
{
	const char *what = cli->args[0];
	const char *name = cli->nargs > 1 ? cli->args[1] : NULL;
	int pods = strcmp(what, "pods") == 0 || strcmp(what, "pod") == 0 ||
		   strcmp(what, "po") == 0;
	int nodes = strcmp(what, "nodes") == 0 || strcmp(what, "node") == 0 ||
		    strcmp(what, "no") == 0;
	struct k8s k;
	struct ktab t;
	buf path = BUF_INIT(8192);
	json_t *m = NULL, *items, *it, *nl = NULL;
	size_t i;
	int rc;

	if (!pods && !nodes)
		return cli_usage_error(cli, "unknown top subcommand '%s' (use pods "
				       "or nodes)", what);
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = 0;
	if (pods) {
		buf_printf(&path, "/apis/metrics.k8s.io/v1beta1");
		if (!k8s_flags.all_namespaces) {
			buf_printf(&path, "/namespaces/");
			kquery_escape(&path, k8s_namespace(&k));
		}
		buf_printf(&path, "/pods");
	} else {
		buf_printf(&path, "/apis/metrics.k8s.io/v1beta1/nodes");
	}
	name_or_selector(&path, name);
	m = get(&k, &path, &rc);
	if (!m)
		goto out;
	if (name) {
		items = json_array();
		json_array_append(items, m);
	} else {
		items = sorted(json_incref(json_object_get(m, "items")));
	}
	if (nodes && !rc) {
		buf_reset(&path);
		buf_printf(&path, "/api/v1/nodes");
		name_or_selector(&path, name);
		nl = get(&k, &path, &rc);
	}
	if (rc) {
		json_decref(items);
		goto out;
	}
	if (!json_array_size(items)) {
		fprintf(stderr, "No resources found in %s namespace.\n",
			k8s_namespace(&k));
		json_decref(items);
		goto out;
	}
	ktab_init(&t);
	if (!tp.no_headers) {
		if (pods)
			ktab_printf(&t, "%s%s%s\tCPU(cores)\tMEMORY(bytes)\t\n",
				    k8s_flags.all_namespaces ? "NAMESPACE\t" : "",
				    tp.containers ? "POD\tNAME" : "NAME", "");
		else
			ktab_printf(&t, "NAME\tCPU(cores)\tCPU(%%)\tMEMORY(bytes)\t"
				    "MEMORY(%%)\t\n");
	}
	json_array_foreach(items, i, it) {
		const json_t *md = json_object_get(it, "metadata");

		if (pods) {
			long long cpu = 0, mem = 0;
			const json_t *c;
			size_t j;

			json_array_foreach(json_object_get(it, "containers"), j, c) {
				long long cc = quantity(str(json_object_get(c, "usage"), "cpu"), 1);
				long long cm = quantity(str(json_object_get(c, "usage"), "memory"), 0);

				if (tp.containers)
					ktab_printf(&t, "%s%s%s\t%s\t%lldm\t%lldMi\t\n",
						    k8s_flags.all_namespaces ? str(md, "namespace") : "",
						    k8s_flags.all_namespaces ? "\t" : "",
						    str(md, "name"), str(c, "name"), cc,
						    cm / 1048576);
				cpu += cc;
				mem += cm;
			}
			if (!tp.containers)
				ktab_printf(&t, "%s%s%s\t%lldm\t%lldMi\t\n",
					    k8s_flags.all_namespaces ? str(md, "namespace") : "",
					    k8s_flags.all_namespaces ? "\t" : "",
					    str(md, "name"), cpu, mem / 1048576);
		} else {
			const json_t *node = NULL, *x;
			size_t j;
			long long cpu = quantity(str(json_object_get(it, "usage"), "cpu"), 1);
			long long mem = quantity(str(json_object_get(it, "usage"), "memory"), 0);
			long long acpu = 0, amem = 0;

			if (name)
				node = nl;
			else
				json_array_foreach(json_object_get(nl, "items"), j, x)
					if (strcmp(str(json_object_get(x, "metadata"), "name"),
						   str(md, "name")) == 0)
						node = x;
			if (node) {
				const json_t *al = json_object_get(json_object_get(node,
					"status"), "allocatable");

				acpu = quantity(str(al, "cpu"), 1);
				amem = quantity(str(al, "memory"), 0);
			}
			ktab_printf(&t, "%s\t%lldm\t%lld%%\t%lldMi\t%lld%%\t\n",
				    str(md, "name"), cpu, acpu ? cpu * 100 / acpu : 0,
				    mem / 1048576, amem ? mem * 100 / amem : 0);
		}
	}
	json_decref(items);
	if (ktab_write(&t, stdout) < 0)
		rc = CLI_EXIT_INTERNAL;
	ktab_release(&t);
out:
	json_decref(m);
	json_decref(nl);
	buf_release(&path);
	k8s_close(&k);
	return rc;
}
