/*
 * vcli k8s logs: a container's log, as kubectl logs prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"

#define ACCEPT_ANY "application/json, */*"

static struct {
	const char *container;
	int previous;
	int follow;
	int tail;
	const char *since;
	const char *since_time;
	int timestamps;
	const char *selector;
} l = { .tail = -1 };

static const struct opt logs_options[] = {
	K8S_CONN_OPTIONS,
	{ "container", 'c', OPT_STRING, &l.container,
	  "the container (default: the pod's default or only one)", NULL, "NAME" },
	{ "previous", 'p', OPT_FLAG, &l.previous,
	  "the log of the container's previous run", NULL, NULL },
	{ "follow", 'f', OPT_FLAG, &l.follow,
	  "keep printing as the log grows", NULL, NULL },
	{ "tail", 0, OPT_INT, &l.tail,
	  "only the last N lines (default: all; 10 with -l)", NULL, "N" },
	{ "since", 0, OPT_STRING, &l.since,
	  "only lines newer than this (5s, 2m, 3h)", NULL, "DUR" },
	{ "since-time", 0, OPT_STRING, &l.since_time,
	  "only lines after this RFC 3339 time", NULL, "TIME" },
	{ "timestamps", 0, OPT_FLAG, &l.timestamps,
	  "each line with its timestamp", NULL, NULL },
	{ "selector", 'l', OPT_STRING, &l.selector,
	  "the pods matching this label selector", NULL, "SEL" },
	OPT_END,
};

const struct cmd_spec k8s_logs_spec = {
	.usage = "vcli k8s logs POD | TYPE/NAME | -l SEL [options]",
	.description =
		"Prints a container's log.  TYPE/NAME (deploy/web, rs/x, job/y)\n"
		"picks one of the object's pods, as kubectl does: scheduled,\n"
		"running and ready first, then the longest ready.\n",
	.options = logs_options,
	.min_args = 0,
	.max_args = 2,
	.examples = "  vcli k8s logs web-7c9d8f6b5-abcde --tail=20\n"
		    "  vcli k8s logs deploy/web -c nginx -f\n"
		    "  vcli k8s logs -l app=web --timestamps\n",
};

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static int write_out(void *ud, const char *p, size_t n)
{
	(void)ud;
	if (fwrite(p, 1, n, stdout) != n)
		return 1;
	fflush(stdout);
	return 0;
}

/* The container to read: -c, the default-container annotation, the only
 * one, or the first with kubectl's note. */
static const char *container_of(const json_t *pod, int quiet)
{
	const json_t *cs = json_object_get(json_object_get(pod, "spec"),
					   "containers");
	const char *ann = str(json_object_get(json_object_get(pod, "metadata"),
					      "annotations"),
			      "kubectl.kubernetes.io/default-container");
	size_t i;
	json_t *c;

	if (l.container)
		return l.container;
	if (*ann)
		return ann;
	if (json_array_size(cs) > 1 && !quiet) {
		fprintf(stderr, "Defaulted container \"%s\" out of: ",
			str(json_array_get(cs, 0), "name"));
		json_array_foreach(cs, i, c)
			fprintf(stderr, "%s%s", i ? ", " : "", str(c, "name"));
		fputc('\n', stderr);
	}
	return str(json_array_get(cs, 0), "name");
}

/* The container must be one of the pod's (kubectl checks before it asks). */
static int valid_container(const json_t *pod, const char *container)
{
	const json_t *spec = json_object_get(pod, "spec"), *c;
	static const char *const lists[] = { "containers", "initContainers",
					     "ephemeralContainers" };
	size_t i;

	for (int k = 0; k < 3; k++)
		json_array_foreach(json_object_get(spec, lists[k]), i, c)
			if (strcmp(str(c, "name"), container) == 0)
				return 1;
	return 0;
}

static int pod_log(struct k8s *k, const char *ns, const char *pod,
		   const char *container, int tail)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	char err[1024];
	int rc = 0;

	memset(&r, 0, sizeof(r));
	buf_printf(&path, "/api/v1/namespaces/");
	kquery_escape(&path, ns);
	buf_printf(&path, "/pods/");
	kquery_escape(&path, pod);
	buf_printf(&path, "/log?container=");
	kquery_escape(&path, container);
	if (l.follow)
		buf_printf(&path, "&follow=true");
	if (l.previous)
		buf_printf(&path, "&previous=true");
	if (l.since) {
		uint32_t ms;

		opts_parse_duration(l.since, &ms);
		buf_printf(&path, "&sinceSeconds=%u", (ms + 999) / 1000);
	}
	if (l.since_time) {
		buf_printf(&path, "&sinceTime=");
		kquery_escape(&path, l.since_time);
	}
	if (tail >= 0)
		buf_printf(&path, "&tailLines=%d", tail);
	if (l.timestamps)
		buf_printf(&path, "&timestamps=true");
	if (kclient_stream(&k->client, buf_cstr(&path), ACCEPT_ANY, write_out,
			   NULL, &r, err, sizeof(err)) != KC_OK)
		rc = k8s_fail("%s", err);
	else if (r.status != 200) {
		/* kubectl prints a log request's refusal as its bare message. */
		json_t *st = json_loadb((const char *)r.body.data, r.body.len, 0,
					NULL);
		const char *msg = json_string_value(json_object_get(st, "message"));

		rc = msg ? k8s_fail("%s", msg) : k8s_fail_status(&r);
		json_decref(st);
	}
	kresp_release(&r);
	buf_release(&path);
	return rc;
}

static int is_ready(const json_t *pod)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(pod, "status"),
					   "conditions"), i, c)
		if (strcmp(str(c, "type"), "Ready") == 0)
			return strcmp(str(c, "status"), "True") == 0;
	return 0;
}

static const char *ready_time(const json_t *pod)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(pod, "status"),
					   "conditions"), i, c)
		if (strcmp(str(c, "type"), "Ready") == 0)
			return str(c, "lastTransitionTime");
	return "";
}

static long long max_restarts(const json_t *pod)
{
	const json_t *c;
	size_t i;
	long long m = 0;

	json_array_foreach(json_object_get(json_object_get(pod, "status"),
					   "containerStatuses"), i, c)
		if (json_integer_value(json_object_get(c, "restartCount")) > m)
			m = json_integer_value(json_object_get(c, "restartCount"));
	return m;
}

static int phase_rank(const json_t *pod)
{
	const char *p = str(json_object_get(pod, "status"), "phase");

	return strcmp(p, "Running") == 0 ? 0 : strcmp(p, "Unknown") == 0 ? 1 :
	       strcmp(p, "Pending") == 0 ? 2 : 3;
}

/* kubectl's ByLogging order: the best pod to read first.  RFC 3339 UTC
 * times compare as strings; an empty one sorts last. */
static int by_logging(const void *x, const void *y)
{
	const json_t *a = *(const json_t *const *)x, *b = *(const json_t *const *)y;
	const char *na = str(json_object_get(a, "spec"), "nodeName");
	const char *nb = str(json_object_get(b, "spec"), "nodeName");
	const char *ta, *tb;
	int c;

	if (!*na != !*nb)
		return *na ? -1 : 1;
	if (phase_rank(a) != phase_rank(b))
		return phase_rank(a) - phase_rank(b);
	if (is_ready(a) != is_ready(b))
		return is_ready(a) ? -1 : 1;
	if (is_ready(a) && (c = strcmp(ready_time(a), ready_time(b))) != 0)
		return !*ready_time(a) ? 1 : !*ready_time(b) ? -1 : c;
	if (max_restarts(a) != max_restarts(b))
		return max_restarts(a) > max_restarts(b) ? -1 : 1;
	ta = str(json_object_get(a, "metadata"), "creationTimestamp");
	tb = str(json_object_get(b, "metadata"), "creationTimestamp");
	c = strcmp(ta, tb);
	if (c)
		return !*ta ? 1 : !*tb ? -1 : c;
	return 0;
}

/* The pods of a selector ("?labelSelector=..." already escaped in q). */
static json_t *list_pods(struct k8s *k, const char *ns, const char *sel,
			 int *rc)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	json_t *v;

	buf_printf(&path, "/api/v1/namespaces/");
	kquery_escape(&path, ns);
	buf_printf(&path, "/pods?labelSelector=");
	kquery_escape(&path, sel);
	v = k8s_get_json(k, buf_cstr(&path), &r, rc);
	if (!v && !*rc)
		*rc = k8s_fail_status(&r);
	kresp_release(&r);
	buf_release(&path);
	return v;
}

int k8s_logs(struct cli *cli)
{
	struct k8s k;
	const char *ns;
	int rc;

	if (l.since) {
		uint32_t ms;

		if (opts_parse_duration(l.since, &ms) < 0)
			return cli_usage_error(cli, "invalid duration '%s' for "
					       "'--since'", l.since);
	}
	if (!l.selector && cli->nargs == 0)
		return cli_usage_error(cli, "expected a pod, TYPE/NAME or -l "
				       "SELECTOR");
	if (l.selector && cli->nargs)
		return cli_usage_error(cli, "only one of a name or -l may be "
				       "given");
	if (cli->nargs == 2)
		l.container = cli->args[1];
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = 0;
	ns = k8s_namespace(&k);
	if (l.selector) {
		json_t *pods = list_pods(&k, ns, l.selector, &rc), *p;
		size_t i;

		json_array_foreach(json_object_get(pods, "items"), i, p) {
			if (rc)
				break;
			rc = pod_log(&k, ns, str(json_object_get(p, "metadata"), "name"),
				     container_of(p, 1), l.tail >= 0 ? l.tail : 10);
		}
		if (pods && !json_array_size(json_object_get(pods, "items")))
			fprintf(stderr, "No resources found in %s namespace.\n", ns);
		json_decref(pods);
	} else {
		const char *arg = cli->args[0], *slash = strchr(arg, '/');
		char type[256];
		const json_t *res;
		buf path = BUF_INIT(8192);
		struct kresp r;
		json_t *obj;

		snprintf(type, sizeof(type), "%.*s", slash ? (int)(slash - arg) : 3,
			 slash ? arg : "pod");
		res = k8s_resource(&k, type);
		if (!res) {
			k8s_close(&k);
			return K8S_EXIT_ERROR;
		}
		k8s_object_path(&path, res, ns, slash ? slash + 1 : arg, NULL);
		memset(&r, 0, sizeof(r));
		{
			char err[1024];

			if (kclient_request(&k.client, "GET", buf_cstr(&path),
					    ACCEPT_ANY, NULL, NULL, 0, &r, err,
					    sizeof(err)) != KC_OK)
				rc = k8s_fail("%s", err);
		}
		obj = !rc && r.status == 200 ?
		      json_loadb((const char *)r.body.data, r.body.len, 0, NULL) : NULL;
		if (!rc && !obj && r.status == 404 &&
		    k8s_namespace_missing(&k, res, ns))
			rc = K8S_EXIT_ERROR;
		else if (!rc && !obj && r.status == 404 &&
		    strcmp(json_string_value(json_object_get(res, "name")), "pods") == 0)
			/* kubectl's own words for a missing pod. */
			rc = k8s_fail("error from server (NotFound): pods \"%s\" not "
				      "found in namespace \"%s\"", slash ? slash + 1 : arg,
				      ns);
		else if (!rc && !obj)
			rc = k8s_fail_status(&r);
		kresp_release(&r);
		buf_release(&path);
		if (obj && strcmp(json_string_value(json_object_get(res, "name")),
				  "pods") == 0 &&
		    !*json_string_value(json_object_get(res, "group"))) {
			const char *c = container_of(obj, 0);

			if (!valid_container(obj, c))
				rc = k8s_fail("container %s is not valid for pod %s", c,
					      str(json_object_get(obj, "metadata"), "name"));
			else
				rc = pod_log(&k, ns, str(json_object_get(obj, "metadata"),
							 "name"), c, l.tail);
		} else if (obj) {
			const json_t *ml = json_object_get(json_object_get(
				json_object_get(obj, "spec"), "selector"), "matchLabels");
			buf sel = BUF_INIT(4096);
			const char *key;
			json_t *v, *pods;
			const json_t **arr;
			size_t n, i = 0;

			json_object_foreach((json_t *)ml, key, v)
				buf_printf(&sel, "%s%s=%s", sel.len ? "," : "", key,
					   json_string_value(v));
			pods = sel.len ? list_pods(&k, ns, buf_cstr(&sel), &rc) : NULL;
			n = json_array_size(json_object_get(pods, "items"));
			if (!rc && !n) {
				rc = k8s_fail("no pods found for %s", arg);
			} else if (!rc) {
				arr = calloc(n, sizeof(*arr));
				json_array_foreach(json_object_get(pods, "items"), i, v)
					arr[i] = v;
				qsort(arr, n, sizeof(*arr), by_logging);
				if (n > 1)
					fprintf(stderr, "Found %zu pods, using pod/%s\n", n,
						str(json_object_get(arr[0], "metadata"), "name"));
				rc = pod_log(&k, ns, str(json_object_get(arr[0], "metadata"),
							 "name"),
					     container_of(arr[0], 0), l.tail);
				free(arr);
			}
			json_decref(pods);
			buf_release(&sel);
		}
		json_decref(obj);
	}
	k8s_close(&k);
	return rc;
}
