/*
 * vcli k8s describe: pods, deployments, services and nodes in kubectl's
 * words and layout (a tabwriter with padding 2 over the whole text, two
 * spaces per level), with their events; the other kinds are in
 * describe_kinds.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/k8s/describe.h"
#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"
#include "k8s/kyaml.h"

static struct {
	const char *selector;
} d;

static const struct opt describe_options[] = {
	K8S_CONN_OPTIONS,
	{ "selector", 'l', OPT_STRING, &d.selector,
	  "describe every object matching this label selector", NULL, "SEL" },
	OPT_END,
};

const struct cmd_spec k8s_describe_spec = {
	.usage = "vcli k8s describe TYPE [NAME...] | TYPE/NAME [options]",
	.description =
		"Shows objects in detail with their recent events, as kubectl\n"
		"describe does: pods, deployments, services, nodes,\n"
		"configmaps, secrets (sizes, not values), namespaces,\n"
		"serviceaccounts, resourcequotas, replicasets, statefulsets,\n"
		"daemonsets, jobs, cronjobs, ingresses and\n"
		"persistentvolumeclaims in kubectl's layout; custom resources\n"
		"and other kinds kubectl has no describer for in its generic\n"
		"one.  The few built-in kinds kubectl describes its own way and\n"
		"vcli does not (limitranges, roles, ...) are refused.\n",
	.options = describe_options,
	.min_args = 1,
	.max_args = 64,
	.examples = "  vcli k8s describe pod web-7c9d8f6b5-abcde\n"
		    "  vcli k8s describe deploy/web\n"
		    "  vcli k8s describe nodes\n",
};

void w(struct dw *o, int level, const char *fmt, ...)
{
	char small[4096];
	va_list ap;
	int n;

	for (int i = 0; i < level; i++)
		ktab_add(&o->t, "  ", 2);
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n > 0)
		ktab_add(&o->t, small, (size_t)n < sizeof(small) ? (size_t)n :
			 sizeof(small) - 1);
}

const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

const json_t *at(const json_t *obj, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(obj, k1);

	return k2 ? json_object_get(v, k2) : v;
}

/* RFC 1123 with a numeric zone, in local time, as Go's time.RFC1123Z. */
void rfc1123z(const char *ts, char *out, size_t outlen)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, outlen, "%s", ts ? ts : "");
		return;
	}
	t = timegm(&tm);
	localtime_r(&t, &tm);
	strftime(out, outlen, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* k8s.io/apimachinery's HumanDuration of s seconds (negative: 0). */
void human_duration(long s, char *out, size_t outlen)
{
	long m, h;

	if (s < 0)
		s = 0;
	m = s / 60;
	h = s / 3600;
	if (s < 120)
		snprintf(out, outlen, "%lds", s);
	else if (m < 10)
		snprintf(out, outlen, s % 60 ? "%ldm%lds" : "%ldm", m, s % 60);
	else if (m < 180)
		snprintf(out, outlen, "%ldm", m);
	else if (h < 8)
		snprintf(out, outlen, m % 60 ? "%ldh%ldm" : "%ldh", h, m % 60);
	else if (h < 48)
		snprintf(out, outlen, "%ldh", h);
	else if (h < 24 * 8)
		snprintf(out, outlen, h % 24 ? "%ldd%ldh" : "%ldd", h / 24, h % 24);
	else if (h < 24 * 365 * 2)
		snprintf(out, outlen, "%ldd", h / 24);
	else if (h < 24 * 365 * 8)
		snprintf(out, outlen, (h / 24) % 365 ? "%ldy%ldd" : "%ldy",
			 h / 24 / 365, (h / 24) % 365);
	else
		snprintf(out, outlen, "%ldy", h / 24 / 365);
}

/* The "Conditions:" table of a workload's status (nothing when it has
 * none). */
void conditions(struct dw *o, const json_t *st)
{
	const json_t *x;
	size_t i;

	if (!json_array_size(json_object_get(st, "conditions")))
		return;
	w(o, 0, "Conditions:\n");
	w(o, 1, "Type\tStatus\tReason\n");
	w(o, 1, "----\t------\t------\n");
	json_array_foreach(json_object_get(st, "conditions"), i, x)
		w(o, 1, "%s \t%s\t%s\n", str(x, "type"), str(x, "status"),
		  str(x, "reason"));
}

/* HumanDuration of the time since ts. */
void age_of(const char *ts, char *out, size_t outlen)
{
	struct tm tm;
	long s;

	memset(&tm, 0, sizeof(tm));
	if (!ts || !*ts || !strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, outlen, "<unknown>");
		return;
	}
	s = (long)(time(NULL) - timegm(&tm));
	if (s < -1) {
		snprintf(out, outlen, "<invalid>");
		return;
	}
	human_duration(s, out, outlen);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted keys of an object (the caller frees the array). */
const char **sorted_keys(const json_t *obj, size_t *n)
{
	const char **keys = malloc((json_object_size(obj) + 1) * sizeof(*keys));
	const char *k;
	json_t *v;

	*n = 0;
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)obj, k, v)
		keys[(*n)++] = k;
	qsort(keys, *n, sizeof(*keys), key_cmp);
	return keys;
}

/* "Labels:\tk=v" then "\tk2=v2" lines, or <none>; annotations use ": ". */
void multiline(struct dw *o, int level, const char *title,
		      const json_t *map, const char *sep)
{
	size_t n;
	const char **keys = sorted_keys(map, &n);

	w(o, level, "%s:\t", title);
	if (!n)
		ktab_add(&o->t, "<none>\n", 7);
	for (size_t i = 0; i < n; i++) {
		/* Continuation lines: a bare tab, as kubectl writes them. */
		if (i)
			w(o, 0, "\t");
		w(o, 0, "%s%s%s\n", keys[i], sep,
		  str(map, keys[i]));
	}
	free(keys);
}

void annotations(struct dw *o, int level, const json_t *md)
{
	json_t *ann = json_deep_copy(json_object_get(md, "annotations"));

	if (!ann)
		ann = json_object();
	/* kubectl leaves these out. */
	json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
	multiline(o, level, "Annotations", ann, ": ");
	json_decref(ann);
}

void selector_text(const json_t *sel, char *out, size_t outlen)
{
	size_t n, used = 0;
	const char **keys = sorted_keys(json_object_get(sel, "matchLabels"), &n);

	out[0] = '\0';
	for (size_t i = 0; i < n && used < outlen; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s=%s",
			i ? "," : "", keys[i],
			str(json_object_get(sel, "matchLabels"), keys[i]));
	free(keys);
}

int get_json(struct dw *o, const char *path, json_t **out,
		    struct kresp *r)
{
	char err[1024];

	memset(r, 0, sizeof(*r));
	*out = NULL;
	if (kclient_request(&o->k->client, "GET", path, KACCEPT_JSON, NULL,
			    NULL, 0, r, err, sizeof(err)) != KC_OK)
		return k8s_fail("%s", err);
	if (r->status == 200)
		*out = json_loadb((const char *)r->body.data, r->body.len, 0,
				  NULL);
	return 0;
}

int get_selected(struct dw *o, const char *api, const char *ns, const char *resource,
		 const char *sel, int limit, json_t **out, struct kresp *r)
{
	buf path = BUF_INIT(8192);
	int rc;

	buf_printf(&path, "%s/namespaces/", api);
	kquery_escape(&path, ns);
	buf_printf(&path, "/%s?labelSelector=", resource);
	kquery_escape(&path, sel);
	if (limit > 0)
		buf_printf(&path, "&limit=%d", limit);
	rc = get_json(o, buf_cstr(&path), out, r);
	buf_release(&path);
	return rc;
}

int get_service_slices(struct dw *o, const char *ns, const char *name, json_t **out,
		       struct kresp *r)
{
	buf sel = BUF_INIT(1024);
	int rc;

	buf_printf(&sel, "kubernetes.io/service-name=%s", name);
	rc = get_selected(o, "/apis/discovery.k8s.io/v1", ns, "endpointslices",
			  buf_cstr(&sel), 0, out, r);
	buf_release(&sel);
	return rc;
}

/* Appends the events in namespace ns ("": all) that field selector sel
 * picks, as kubectl lists them (one chunk of 500). */
void events_query(struct dw *o, const char *ns, const char *sel, json_t *into)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	json_t *list = NULL;

	if (*ns) {
		buf_printf(&path, "/api/v1/namespaces/");
		kquery_escape(&path, ns);
		buf_printf(&path, "/events?fieldSelector=");
	} else {
		buf_printf(&path, "/api/v1/events?fieldSelector=");
	}
	kquery_escape(&path, sel);
	buf_printf(&path, "&limit=500");
	get_json(o, buf_cstr(&path), &list, &r);
	kresp_release(&r);
	json_array_extend(into, json_object_get(list, "items"));
	json_decref(list);
	buf_release(&path);
}

/* Appends the events about obj whose involvedObject.uid is uid. */
static void events_for(struct dw *o, const json_t *obj, const char *kind,
		       int with_kind, const char *uid, json_t *into)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = str(md, "namespace");
	buf sel = BUF_INIT(4096);

	buf_printf(&sel, "involvedObject.name=%s,involvedObject.namespace=%s",
		   str(md, "name"), ns);
	if (with_kind)
		buf_printf(&sel, ",involvedObject.kind=%s", kind);
	buf_printf(&sel, ",involvedObject.uid=%s", uid);
	events_query(o, ns, buf_cstr(&sel), into);
	buf_release(&sel);
}

/* The events about obj, as kubectl finds them: by uid, and for a node
 * also by its name as uid (what the kubelet reports). */
json_t *events_fetch(struct dw *o, const json_t *obj, const char *kind,
		     int with_kind)
{
	const json_t *md = json_object_get(obj, "metadata");
	json_t *items = json_array();

	events_for(o, obj, kind, with_kind, str(md, "uid"), items);
	if (strcmp(kind, "Node") == 0)
		events_for(o, obj, kind, with_kind, str(md, "name"), items);
	return items;
}

void events_print(struct dw *o, const json_t *items)
{
	json_t *ev;
	size_t i;

	if (!json_array_size(items)) {
		w(o, 0, "Events:\t<none>\n");
		return;
	}
	w(o, 0, "Events:\n");
	w(o, 1, "Type\tReason\tAge\tFrom\tMessage\n");
	w(o, 1, "----\t------\t----\t----\t-------\n");
	json_array_foreach(items, i, ev) {
		char age[64], first[64];
		const json_t *src = json_object_get(ev, "source");
		json_int_t count = json_integer_value(json_object_get(ev, "count"));
		const char *from = str(src, "component");

		age_of(str(ev, "lastTimestamp"), age, sizeof(age));
		if (count > 1) {
			age_of(str(ev, "firstTimestamp"), first, sizeof(first));
			w(o, 1, "%s\t%s\t%s (x%lld over %s)\t", str(ev, "type"),
			  str(ev, "reason"), age, (long long)count, first);
		} else {
			w(o, 1, "%s\t%s\t%s\t", str(ev, "type"),
			  str(ev, "reason"), age);
		}
		if (!*from)
			from = str(ev, "reportingComponent");
		w(o, 0, "%s%s%s\t%s\n", from, *str(src, "host") ? ", " : "",
		  str(src, "host"), str(ev, "message"));
	}
}

void events(struct dw *o, const json_t *obj, const char *kind, int with_kind)
{
	json_t *items = events_fetch(o, obj, kind, with_kind);

	events_print(o, items);
	json_decref(items);
}

/* ------------------------------------------------------------ pods */

static void container_state(struct dw *o, const char *title,
			    const json_t *state)
{
	char t[64];
	const json_t *s;

	if ((s = json_object_get(state, "running"))) {
		w(o, 2, "%s:\tRunning\n", title);
		rfc1123z(str(s, "startedAt"), t, sizeof(t));
		w(o, 3, "Started:\t%s\n", t);
	} else if ((s = json_object_get(state, "waiting"))) {
		w(o, 2, "%s:\tWaiting\n", title);
		if (*str(s, "reason"))
			w(o, 3, "Reason:\t%s\n", str(s, "reason"));
	} else if ((s = json_object_get(state, "terminated"))) {
		w(o, 2, "%s:\tTerminated\n", title);
		if (*str(s, "reason"))
			w(o, 3, "Reason:\t%s\n", str(s, "reason"));
		w(o, 3, "Exit Code:\t%lld\n", (long long)json_integer_value(
			json_object_get(s, "exitCode")));
		rfc1123z(str(s, "startedAt"), t, sizeof(t));
		w(o, 3, "Started:\t%s\n", t);
		rfc1123z(str(s, "finishedAt"), t, sizeof(t));
		w(o, 3, "Finished:\t%s\n", t);
	} else {
		w(o, 2, "%s:\tWaiting\n", title);
	}
}

static void ports(struct dw *o, int level, const json_t *c)
{
	const json_t *ps = json_object_get(c, "ports"), *p;
	size_t i;

	if (!json_array_size(ps)) {
		w(o, level, "Port:\t<none>\n");
		w(o, level, "Host Port:\t<none>\n");
		return;
	}
	w(o, level, "Port%s:\t", json_array_size(ps) > 1 ? "s" : "");
	json_array_foreach(ps, i, p)
		w(o, 0, "%s%lld/%s", i ? ", " : "",
		  (long long)json_integer_value(json_object_get(p, "containerPort")),
		  *str(p, "protocol") ? str(p, "protocol") : "TCP");
	w(o, 0, "\n");
	w(o, level, "Host Port%s:\t", json_array_size(ps) > 1 ? "s" : "");
	json_array_foreach(ps, i, p)
		w(o, 0, "%s%lld/%s", i ? ", " : "",
		  (long long)json_integer_value(json_object_get(p, "hostPort")),
		  *str(p, "protocol") ? str(p, "protocol") : "TCP");
	w(o, 0, "\n");
}

static void resources(struct dw *o, int level, const json_t *c)
{
	static const char *const kinds[] = { "limits", "requests" };
	static const char *const titles[] = { "Limits", "Requests" };

	for (int k = 0; k < 2; k++) {
		const json_t *m = at(c, "resources", kinds[k]);
		size_t n;
		const char **keys;

		if (!json_object_size(m))
			continue;
		w(o, level, "%s:\n", titles[k]);
		keys = sorted_keys(m, &n);
		for (size_t i = 0; i < n; i++)
			w(o, level + 1, "%s:\t%s\n", keys[i], str(m, keys[i]));
		free(keys);
	}
}

static void env_and_mounts(struct dw *o, int level, const json_t *c)
{
	const json_t *env = json_object_get(c, "env"), *e;
	const json_t *mounts = json_object_get(c, "volumeMounts");
	size_t i;

	if (!json_array_size(env)) {
		w(o, level, "Environment:\t<none>\n");
	} else {
		w(o, level, "Environment:\n");
		json_array_foreach(env, i, e) {
			if (json_object_get(e, "valueFrom"))
				w(o, level + 1, "%s:\t<set from a reference>\n",
				  str(e, "name"));
			else
				w(o, level + 1, "%s:\t%s\n", str(e, "name"),
				  str(e, "value"));
		}
	}
	if (!json_array_size(mounts)) {
		w(o, level, "Mounts:\t<none>\n");
	} else {
		w(o, level, "Mounts:\n");
		json_array_foreach(mounts, i, e)
			w(o, level + 1, "%s from %s (%s)\n", str(e, "mountPath"),
			  str(e, "name"),
			  json_is_true(json_object_get(e, "readOnly")) ? "ro" : "rw");
	}
}

static void args_list(struct dw *o, int level, const char *title,
		      const json_t *arr)
{
	json_t *a;
	size_t i;

	if (!json_array_size(arr))
		return;
	w(o, level, "%s:\n", title);
	json_array_foreach(arr, i, a)
		w(o, level + 1, "%s\n", json_string_value(a) ? json_string_value(a) : "");
}

/* The containers of a pod (statuses from st) or of a template (st NULL;
 * names get one more space, as kubectl writes them). */
static void containers(struct dw *o, const json_t *list, const json_t *st,
		       int template)
{
	json_t *c;
	size_t i;

	json_array_foreach(list, i, c) {
		const json_t *cs = NULL, *x;
		size_t j;

		json_array_foreach(json_object_get(st, "containerStatuses"), j, x)
			if (strcmp(str(x, "name"), str(c, "name")) == 0)
				cs = x;
		w(o, 1, "%s%s:\n", template ? " " : "", str(c, "name"));
		if (cs && *str(cs, "containerID"))
			w(o, 2, "Container ID:\t%s\n", str(cs, "containerID"));
		w(o, 2, "Image:\t%s\n", str(c, "image"));
		if (cs)
			w(o, 2, "Image ID:\t%s\n", str(cs, "imageID"));
		ports(o, 2, c);
		args_list(o, 2, "Command", json_object_get(c, "command"));
		args_list(o, 2, "Args", json_object_get(c, "args"));
		if (cs) {
			container_state(o, "State", json_object_get(cs, "state"));
			if (json_object_size(json_object_get(cs, "lastState")))
				container_state(o, "Last State",
						json_object_get(cs, "lastState"));
			w(o, 2, "Ready:\t%s\n",
			  json_is_true(json_object_get(cs, "ready")) ? "True" : "False");
			w(o, 2, "Restart Count:\t%lld\n", (long long)json_integer_value(
				json_object_get(cs, "restartCount")));
		}
		resources(o, 2, c);
		env_and_mounts(o, 2, c);
	}
}

static void tolerations(struct dw *o, int level, const json_t *spec,
			const char *title)
{
	const json_t *ts = json_object_get(spec, "tolerations"), *t;
	size_t i;

	if (!json_array_size(ts)) {
		w(o, level, "%s:\t<none>\n", title);
		return;
	}
	json_array_foreach(ts, i, t) {
		const char *op = str(t, "operator");

		if (i)
			w(o, level, "\t");
		else
			w(o, level, "%s:\t", title);
		w(o, 0, "%s", str(t, "key"));
		if (*str(t, "value"))
			w(o, 0, "=%s", str(t, "value"));
		if (*str(t, "effect"))
			w(o, 0, ":%s", str(t, "effect"));
		/* "operator: Exists" alone tolerates everything. */
		if (strcmp(op, "Exists") == 0 && !*str(t, "value"))
			w(o, 0, "%sop=Exists", *str(t, "key") ||
			  *str(t, "effect") ? " " : "");
		if (json_object_get(t, "tolerationSeconds"))
			w(o, 0, " for %llds", (long long)json_integer_value(
				json_object_get(t, "tolerationSeconds")));
		w(o, 0, "\n");
	}
}

static void node_selectors(struct dw *o, int level, const json_t *spec)
{
	const json_t *ns = json_object_get(spec, "nodeSelector");
	size_t n;
	const char **keys = sorted_keys(ns, &n);

	w(o, level, "Node-Selectors:\t");
	if (!n)
		w(o, 0, "<none>");
	for (size_t i = 0; i < n; i++)
		w(o, 0, "%s%s=%s", i ? "," : "", keys[i], str(ns, keys[i]));
	w(o, 0, "\n");
	free(keys);
}

static void volumes(struct dw *o, int level, const json_t *spec)
{
	const json_t *vs = json_object_get(spec, "volumes"), *v;
	size_t i;

	if (!json_array_size(vs)) {
		w(o, level, "Volumes:\t<none>\n");
		return;
	}
	w(o, level, "Volumes:\n");
	json_array_foreach(vs, i, v) {
		const char *k;
		json_t *src;

		w(o, level + 1, "%s:\n", str(v, "name"));
		json_object_foreach((json_t *)v, k, src) {
			if (strcmp(k, "name") == 0)
				continue;
			w(o, level + 2, "Type:\t%s\n", k);
		}
	}
}

static void describe_pod(struct dw *o, const json_t *p)
{
	const json_t *md = json_object_get(p, "metadata");
	const json_t *spec = json_object_get(p, "spec");
	const json_t *st = json_object_get(p, "status");
	const json_t *ips = json_object_get(st, "podIPs"), *x, *own;
	char t[64];
	size_t i;

	w(o, 0, "Name:\t%s\n", str(md, "name"));
	w(o, 0, "Namespace:\t%s\n", str(md, "namespace"));
	if (json_object_get(spec, "priority"))
		w(o, 0, "Priority:\t%lld\n", (long long)json_integer_value(
			json_object_get(spec, "priority")));
	if (*str(spec, "priorityClassName"))
		w(o, 0, "Priority Class Name:\t%s\n", str(spec, "priorityClassName"));
	if (*str(spec, "serviceAccountName"))
		w(o, 0, "Service Account:\t%s\n", str(spec, "serviceAccountName"));
	if (*str(spec, "nodeName"))
		w(o, 0, "Node:\t%s/%s\n", str(spec, "nodeName"), str(st, "hostIP"));
	else
		w(o, 0, "Node:\t<none>\n");
	if (*str(st, "startTime")) {
		rfc1123z(str(st, "startTime"), t, sizeof(t));
		w(o, 0, "Start Time:\t%s\n", t);
	}
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	if (*str(md, "deletionTimestamp"))
		w(o, 0, "Status:\tTerminating\n");
	else
		w(o, 0, "Status:\t%s\n", str(st, "phase"));
	if (*str(st, "reason"))
		w(o, 0, "Reason:\t%s\n", str(st, "reason"));
	if (*str(st, "message"))
		w(o, 0, "Message:\t%s\n", str(st, "message"));
	w(o, 0, "IP:\t%s\n", str(st, "podIP"));
	if (!json_array_size(ips)) {
		w(o, 0, "IPs:\t<none>\n");
	} else {
		w(o, 0, "IPs:\n");
		json_array_foreach(ips, i, x)
			w(o, 1, "IP:\t%s\n", str(x, "ip"));
	}
	json_array_foreach(json_object_get(md, "ownerReferences"), i, own)
		if (json_is_true(json_object_get(own, "controller")))
			w(o, 0, "Controlled By:\t%s/%s\n", str(own, "kind"),
			  str(own, "name"));
	if (json_array_size(json_object_get(spec, "initContainers"))) {
		w(o, 0, "Init Containers:\n");
		containers(o, json_object_get(spec, "initContainers"), st, 0);
	}
	w(o, 0, "Containers:\n");
	containers(o, json_object_get(spec, "containers"), st, 0);
	if (json_array_size(json_object_get(st, "conditions"))) {
		w(o, 0, "Conditions:\n");
		w(o, 1, "Type\tStatus\n");
		json_array_foreach(json_object_get(st, "conditions"), i, x)
			w(o, 1, "%s \t%s \n", str(x, "type"), str(x, "status"));
	}
	volumes(o, 0, spec);
	w(o, 0, "QoS Class:\t%s\n", str(st, "qosClass"));
	node_selectors(o, 0, spec);
	tolerations(o, 0, spec, "Tolerations");
	events(o, p, "Pod", 0);
}

/* ------------------------------------------------------------ deployments */

void pod_template(struct dw *o, const json_t *tmpl)
{
	const json_t *spec = json_object_get(tmpl, "spec");

	w(o, 0, "Pod Template:\n");
	multiline(o, 1, "Labels", at(tmpl, "metadata", "labels"), "=");
	if (json_object_size(at(tmpl, "metadata", "annotations")))
		multiline(o, 1, "Annotations", at(tmpl, "metadata", "annotations"),
			  ": ");
	if (*str(spec, "serviceAccountName"))
		w(o, 1, "Service Account:\t%s\n", str(spec, "serviceAccountName"));
	if (json_array_size(json_object_get(spec, "initContainers"))) {
		w(o, 1, "Init Containers:\n");
		containers(o, json_object_get(spec, "initContainers"), NULL, 1);
	}
	w(o, 1, "Containers:\n");
	containers(o, json_object_get(spec, "containers"), NULL, 1);
	volumes(o, 1, spec);
	node_selectors(o, 1, spec);
	tolerations(o, 1, spec, "Tolerations");
}

static void describe_deployment(struct dw *o, const json_t *dep)
{
	const json_t *md = json_object_get(dep, "metadata");
	const json_t *spec = json_object_get(dep, "spec");
	const json_t *st = json_object_get(dep, "status");
	const json_t *strat = json_object_get(spec, "strategy"), *x;
	const char *rev = str(json_object_get(md, "annotations"),
			      "deployment.kubernetes.io/revision");
	char t[64], sel[2048];
	buf olds = BUF_INIT(1 << 16);
	struct kresp r;
	json_t *rsl = NULL, *rs;
	const json_t *newrs = NULL;
	size_t i;

	w(o, 0, "Name:\t%s\n", str(md, "name"));
	w(o, 0, "Namespace:\t%s\n", str(md, "namespace"));
	rfc1123z(str(md, "creationTimestamp"), t, sizeof(t));
	w(o, 0, "CreationTimestamp:\t%s\n", t);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	selector_text(json_object_get(spec, "selector"), sel, sizeof(sel));
	w(o, 0, "Selector:\t%s\n", sel);
	w(o, 0, "Replicas:\t%lld desired | %lld updated | %lld total | %lld "
	  "available | %lld unavailable\n",
	  (long long)(json_object_get(spec, "replicas") ?
		      json_integer_value(json_object_get(spec, "replicas")) : 1),
	  (long long)json_integer_value(json_object_get(st, "updatedReplicas")),
	  (long long)json_integer_value(json_object_get(st, "replicas")),
	  (long long)json_integer_value(json_object_get(st, "availableReplicas")),
	  (long long)json_integer_value(json_object_get(st, "unavailableReplicas")));
	w(o, 0, "StrategyType:\t%s\n", str(strat, "type"));
	w(o, 0, "MinReadySeconds:\t%lld\n", (long long)json_integer_value(
		json_object_get(spec, "minReadySeconds")));
	if ((x = json_object_get(strat, "rollingUpdate"))) {
		char a[32], b[32];
		const json_t *mu = json_object_get(x, "maxUnavailable");
		const json_t *ms = json_object_get(x, "maxSurge");

		if (json_is_string(mu))
			snprintf(a, sizeof(a), "%s", json_string_value(mu));
		else
			snprintf(a, sizeof(a), "%lld", (long long)json_integer_value(mu));
		if (json_is_string(ms))
			snprintf(b, sizeof(b), "%s", json_string_value(ms));
		else
			snprintf(b, sizeof(b), "%lld", (long long)json_integer_value(ms));
		w(o, 0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n",
		  a, b);
	}
	pod_template(o, json_object_get(spec, "template"));
	conditions(o, st);
	/* Its ReplicaSets: those it controls, the new one by revision. */
	get_selected(o, "/apis/apps/v1", str(md, "namespace"), "replicasets", sel, 500, &rsl,
		     &r);
	kresp_release(&r);
	json_array_foreach(json_object_get(rsl, "items"), i, rs) {
		const json_t *own;
		size_t j;
		int mine = 0;

		json_array_foreach(at(rs, "metadata", "ownerReferences"), j, own)
			if (strcmp(str(own, "uid"), str(md, "uid")) == 0)
				mine = 1;
		if (!mine)
			continue;
		if (!newrs && *rev && strcmp(str(at(rs, "metadata", "annotations"),
				"deployment.kubernetes.io/revision"), rev) == 0) {
			newrs = rs;
			continue;
		}
		if (json_integer_value(at(rs, "spec", "replicas")) == 0)
			continue;
		buf_printf(&olds, "%s%s (%lld/%lld replicas created)",
			   olds.len ? ", " : "", str(at(rs, "metadata", NULL), "name"),
			   (long long)json_integer_value(at(rs, "status", "replicas")),
			   (long long)json_integer_value(at(rs, "spec", "replicas")));
	}
	w(o, 0, "OldReplicaSets:\t%s\n", olds.len ? buf_cstr(&olds) : "<none>");
	if (newrs)
		w(o, 0, "NewReplicaSet:\t%s (%lld/%lld replicas created)\n",
		  str(json_object_get(newrs, "metadata"), "name"),
		  (long long)json_integer_value(at(newrs, "status", "replicas")),
		  (long long)json_integer_value(at(newrs, "spec", "replicas")));
	else
		w(o, 0, "NewReplicaSet:\t<none>\n");
	json_decref(rsl);
	buf_release(&olds);
	events(o, dep, "Deployment", 1);
}

/* ------------------------------------------------------------ services */

static void describe_service(struct dw *o, const json_t *svc)
{
	const json_t *md = json_object_get(svc, "metadata");
	const json_t *spec = json_object_get(svc, "spec"), *p, *x;
	const json_t *sel = json_object_get(spec, "selector");
	struct kresp r;
	json_t *slices = NULL;
	size_t i, n;
	const char **keys;

	w(o, 0, "Name:\t%s\n", str(md, "name"));
	w(o, 0, "Namespace:\t%s\n", str(md, "namespace"));
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	keys = sorted_keys(sel, &n);
	w(o, 0, "Selector:\t");
	if (!n)
		w(o, 0, "<none>");
	for (i = 0; i < n; i++)
		w(o, 0, "%s%s=%s", i ? "," : "", keys[i], str(sel, keys[i]));
	w(o, 0, "\n");
	free(keys);
	w(o, 0, "Type:\t%s\n", str(spec, "type"));
	if (*str(spec, "ipFamilyPolicy"))
		w(o, 0, "IP Family Policy:\t%s\n", str(spec, "ipFamilyPolicy"));
	w(o, 0, "IP Families:\t");
	if (!json_array_size(json_object_get(spec, "ipFamilies")))
		w(o, 0, "<none>");
	json_array_foreach(json_object_get(spec, "ipFamilies"), i, x)
		w(o, 0, "%s%s", i ? "," : "", json_string_value(x));
	w(o, 0, "\n");
	w(o, 0, "IP:\t%s\n", str(spec, "clusterIP"));
	w(o, 0, "IPs:\t");
	if (!json_array_size(json_object_get(spec, "clusterIPs")))
		w(o, 0, "<none>");
	json_array_foreach(json_object_get(spec, "clusterIPs"), i, x)
		w(o, 0, "%s%s", i ? "," : "", json_string_value(x));
	w(o, 0, "\n");
	/* The endpoints, from the service's EndpointSlices. */
	get_service_slices(o, str(md, "namespace"), str(md, "name"), &slices, &r);
	kresp_release(&r);
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		const json_t *tp = json_object_get(p, "targetPort");
		const char *proto = *str(p, "protocol") ? str(p, "protocol") : "TCP";
		buf eps = BUF_INIT(1 << 16);
		json_t *sl;
		size_t j;

		w(o, 0, "Port:\t%s\t%lld/%s\n", *str(p, "name") ? str(p, "name") :
		  "<unset>", (long long)json_integer_value(json_object_get(p, "port")),
		  proto);
		if (json_is_string(tp))
			w(o, 0, "TargetPort:\t%s/%s\n", json_string_value(tp), proto);
		else
			w(o, 0, "TargetPort:\t%lld/%s\n",
			  (long long)json_integer_value(tp), proto);
		if (json_object_get(p, "nodePort"))
			w(o, 0, "NodePort:\t%s\t%lld/%s\n", *str(p, "name") ?
			  str(p, "name") : "<unset>", (long long)json_integer_value(
				  json_object_get(p, "nodePort")), proto);
		json_array_foreach(json_object_get(slices, "items"), j, sl) {
			const json_t *ep;
			size_t k;

			json_array_foreach(json_object_get(sl, "endpoints"), k, ep) {
				const json_t *a;
				size_t m;

				json_array_foreach(json_object_get(ep, "addresses"), m, a)
					buf_printf(&eps, "%s%s:%lld", eps.len ? "," : "",
						   json_string_value(a),
						   (long long)json_integer_value(tp));
			}
		}
		w(o, 0, "Endpoints:\t%s\n", eps.len ? buf_cstr(&eps) : "<none>");
		buf_release(&eps);
	}
	w(o, 0, "Session Affinity:\t%s\n", str(spec, "sessionAffinity"));
	json_decref(slices);
	events(o, svc, "Service", 1);
}

/* ------------------------------------------------------------ nodes */

/* A quantity in its smallest unit: millicores for cpu, bytes otherwise. */
static long long quantity(const char *q, int cpu)
{
	char *end;
	double v = strtod(q ? q : "0", &end);
	static const struct { const char *sfx; double mul; } units[] = {
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 }, { "k", 1e3 }, { "M", 1e6 },
		{ "G", 1e9 }, { "T", 1e12 }, { "m", 1e-3 }, { "", 1.0 } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].sfx) == 0) {
			v *= units[i].mul;
			break;
		}
	return (long long)(cpu ? v * 1000 + 0.5 : v + 0.5);
}

static void quantity_text(long long v, int cpu, char *out, size_t outlen)
{
	if (cpu)
		snprintf(out, outlen, v % 1000 ? "%lldm" : "%lld",
			 v % 1000 ? v : v / 1000);
	else if (v && v % 1073741824LL == 0)
		snprintf(out, outlen, "%lldGi", v / 1073741824LL);
	else if (v && v % 1048576LL == 0)
		snprintf(out, outlen, "%lldMi", v / 1048576LL);
	else if (v && v % 1024LL == 0)
		snprintf(out, outlen, "%lldKi", v / 1024LL);
	else
		snprintf(out, outlen, "%lld", v);
}

static int pct(long long v, long long of)
{
	return of ? (int)(v * 100 / of) : 0;
}

static void describe_node(struct dw *o, const json_t *node)
{
	const json_t *md = json_object_get(node, "metadata");
	const json_t *spec = json_object_get(node, "spec");
	const json_t *st = json_object_get(node, "status"), *x;
	const json_t *labels = json_object_get(md, "labels");
	const json_t *alloc = json_object_get(st, "allocatable");
	const json_t *ni = json_object_get(st, "nodeInfo");
	static const char *const res_names[] = { "cpu", "memory",
						 "ephemeral-storage" };
	long long req[3] = { 0 }, lim[3] = { 0 };
	char t[64], t2[64], qa[64], qb[64];
	buf path = BUF_INIT(8192), roles = BUF_INIT(4096);
	struct kresp r;
	json_t *lease = NULL, *pods = NULL, *p;
	size_t i, n;
	const char **keys;
	const char *k;
	json_t *v;

	keys = sorted_keys(labels, &n);
	for (i = 0; i < n; i++)
		if (strncmp(keys[i], "node-role.kubernetes.io/", 24) == 0)
			buf_printf(&roles, "%s%s", roles.len ? "," : "", keys[i] + 24);
	free(keys);
	w(o, 0, "Name:\t%s\n", str(md, "name"));
	w(o, 0, "Roles:\t%s\n", roles.len ? buf_cstr(&roles) : "<none>");
	multiline(o, 0, "Labels", labels, "=");
	annotations(o, 0, md);
	rfc1123z(str(md, "creationTimestamp"), t, sizeof(t));
	w(o, 0, "CreationTimestamp:\t%s\n", t);
	if (!json_array_size(json_object_get(spec, "taints"))) {
		w(o, 0, "Taints:\t<none>\n");
	} else {
		json_array_foreach(json_object_get(spec, "taints"), i, x) {
			w(o, 0, i ? "\t" : "Taints:\t");
			w(o, 0, "%s%s%s:%s\n", str(x, "key"), *str(x, "value") ? "=" : "",
			  str(x, "value"), str(x, "effect"));
		}
	}
	w(o, 0, "Unschedulable:\t%s\n",
	  json_is_true(json_object_get(spec, "unschedulable")) ? "true" : "false");
	buf_printf(&path, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/");
	kquery_escape(&path, str(md, "name"));
	get_json(o, buf_cstr(&path), &lease, &r);
	if (!lease) {
		char msg[1024];

		kstatus_message(r.status, (const char *)r.body.data, r.body.len,
				msg, sizeof(msg));
		/* kubectl shows the error's text alone, without "Error from
		 * server (...): ". */
		{
			const char *colon = strncmp(msg, "Error from server", 17) == 0 ?
					    strstr(msg, "): ") : NULL;

			w(o, 0, "Lease:\tFailed to get lease: %s\n",
			  colon ? colon + 3 : msg);
		}
	} else {
		w(o, 0, "Lease:\n");
		w(o, 1, "HolderIdentity:\t%s\n", *str(at(lease, "spec", NULL),
		  "holderIdentity") ? str(at(lease, "spec", NULL), "holderIdentity") :
		  "<unset>");
		rfc1123z(str(at(lease, "spec", NULL), "acquireTime"), t, sizeof(t));
		w(o, 1, "AcquireTime:\t%s\n", *t ? t : "<unset>");
		rfc1123z(str(at(lease, "spec", NULL), "renewTime"), t, sizeof(t));
		w(o, 1, "RenewTime:\t%s\n", *t ? t : "<unset>");
	}
	kresp_release(&r);
	json_decref(lease);
	if (json_array_size(json_object_get(st, "conditions"))) {
		w(o, 0, "Conditions:\n");
		w(o, 1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
		w(o, 1, "----\t------\t-----------------\t------------------\t------\t-------\n");
		json_array_foreach(json_object_get(st, "conditions"), i, x) {
			rfc1123z(str(x, "lastHeartbeatTime"), t, sizeof(t));
			rfc1123z(str(x, "lastTransitionTime"), t2, sizeof(t2));
			w(o, 1, "%s \t%s \t%s \t%s \t%s \t%s\n", str(x, "type"),
			  str(x, "status"), t, t2, str(x, "reason"), str(x, "message"));
		}
	}
	w(o, 0, "Addresses:\n");
	json_array_foreach(json_object_get(st, "addresses"), i, x)
		w(o, 1, "%s:\t%s\n", str(x, "type"), str(x, "address"));
	for (int c = 0; c < 2; c++) {
		const json_t *m = json_object_get(st, c ? "allocatable" : "capacity");

		if (!json_object_size(m))
			continue;
		w(o, 0, "%s:\n", c ? "Allocatable" : "Capacity");
		keys = sorted_keys(m, &n);
		for (i = 0; i < n; i++)
			w(o, 1, "%s:\t%s\n", keys[i], str(m, keys[i]));
		free(keys);
	}
	w(o, 0, "System Info:\n");
	w(o, 1, "Machine ID:\t%s\n", str(ni, "machineID"));
	w(o, 1, "System UUID:\t%s\n", str(ni, "systemUUID"));
	w(o, 1, "Boot ID:\t%s\n", str(ni, "bootID"));
	w(o, 1, "Kernel Version:\t%s\n", str(ni, "kernelVersion"));
	w(o, 1, "OS Image:\t%s\n", str(ni, "osImage"));
	w(o, 1, "Operating System:\t%s\n", str(ni, "operatingSystem"));
	w(o, 1, "Architecture:\t%s\n", str(ni, "architecture"));
	w(o, 1, "Container Runtime Version:\t%s\n", str(ni, "containerRuntimeVersion"));
	w(o, 1, "Kubelet Version:\t%s\n", str(ni, "kubeletVersion"));
	w(o, 1, "Kube-Proxy Version:\t%s\n", str(ni, "kubeProxyVersion"));
	if (*str(spec, "podCIDR"))
		w(o, 0, "PodCIDR:\t%s\n", str(spec, "podCIDR"));
	if (json_array_size(json_object_get(spec, "podCIDRs")) > 1) {
		w(o, 0, "PodCIDRs:\t");
		json_array_foreach(json_object_get(spec, "podCIDRs"), i, x)
			w(o, 0, "%s%s", i ? "," : "", json_string_value(x));
		w(o, 0, "\n");
	}
	if (*str(spec, "providerID"))
		w(o, 0, "ProviderID:\t%s\n", str(spec, "providerID"));
	buf_reset(&path);
	{
		buf sel = BUF_INIT(1024);

		buf_printf(&sel, "spec.nodeName=%s,status.phase!=Succeeded,"
			   "status.phase!=Failed", str(md, "name"));
		buf_printf(&path, "/api/v1/pods?fieldSelector=");
		kquery_escape(&path, buf_cstr(&sel));
		buf_printf(&path, "&limit=500");
		buf_release(&sel);
	}
	get_json(o, buf_cstr(&path), &pods, &r);
	kresp_release(&r);
	w(o, 0, "Non-terminated Pods:\t(%zu in total)\n",
	  json_array_size(json_object_get(pods, "items")));
	w(o, 1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\t"
	  "Memory Limits\tAge\n");
	w(o, 1, "---------\t----\t\t------------\t----------\t---------------\t"
	  "-------------\t---\n");
	json_array_foreach(json_object_get(pods, "items"), i, p) {
		long long pr[3] = { 0 }, pl[3] = { 0 };
		const json_t *c;
		size_t j;
		char age[64], q[4][64];

		json_array_foreach(at(p, "spec", "containers"), j, c) {
			for (int rn = 0; rn < 3; rn++) {
				const char *rq = str(at(c, "resources", "requests"),
						     res_names[rn]);
				const char *rl = str(at(c, "resources", "limits"),
						     res_names[rn]);

				if (*rq)
					pr[rn] += quantity(rq, rn == 0);
				if (*rl)
					pl[rn] += quantity(rl, rn == 0);
			}
		}
		for (int rn = 0; rn < 3; rn++) {
			req[rn] += pr[rn];
			lim[rn] += pl[rn];
		}
		quantity_text(pr[0], 1, q[0], sizeof(q[0]));
		quantity_text(pl[0], 1, q[1], sizeof(q[1]));
		quantity_text(pr[1], 0, q[2], sizeof(q[2]));
		quantity_text(pl[1], 0, q[3], sizeof(q[3]));
		age_of(str(at(p, "metadata", NULL), "creationTimestamp"), age,
		       sizeof(age));
		w(o, 1, "%s\t%s\t\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s\n",
		  str(at(p, "metadata", NULL), "namespace"),
		  str(at(p, "metadata", NULL), "name"),
		  q[0], pct(pr[0], quantity(str(alloc, "cpu"), 1)),
		  q[1], pct(pl[0], quantity(str(alloc, "cpu"), 1)),
		  q[2], pct(pr[1], quantity(str(alloc, "memory"), 0)),
		  q[3], pct(pl[1], quantity(str(alloc, "memory"), 0)), age);
	}
	json_decref(pods);
	w(o, 0, "Allocated resources:\n");
	w(o, 1, "(Total limits may be over 100 percent, i.e., overcommitted.)\n");
	w(o, 1, "Resource\tRequests\tLimits\n");
	w(o, 1, "--------\t--------\t------\n");
	for (int rn = 0; rn < 3; rn++) {
		long long a = quantity(str(alloc, res_names[rn]), rn == 0);

		quantity_text(req[rn], rn == 0, qa, sizeof(qa));
		quantity_text(lim[rn], rn == 0, qb, sizeof(qb));
		w(o, 1, "%s\t%s (%d%%)\t%s (%d%%)\n", res_names[rn], qa,
		  pct(req[rn], a), qb, pct(lim[rn], a));
	}
	(void)k;
	(void)v;
	buf_release(&path);
	buf_release(&roles);
	events(o, node, "Node", 1);
}

void k8s_pod_template_text(const json_t *tmpl, buf *out)
{
	struct dw o;

	memset(&o, 0, sizeof(o));
	ktab_init_describe(&o.t);
	pod_template(&o, tmpl);
	buf_append(out, o.t.text.data, o.t.text.len);
	ktab_release(&o.t);
}

/* ------------------------------------------------------------ the command */

static describer describer_for(const json_t *res)
{
	const char *g = json_string_value(json_object_get(res, "group"));
	const char *n = json_string_value(json_object_get(res, "name"));

	if (strcmp(g, "") == 0 && strcmp(n, "pods") == 0)
		return describe_pod;
	if (strcmp(g, "") == 0 && strcmp(n, "services") == 0)
		return describe_service;
	if (strcmp(g, "") == 0 && strcmp(n, "nodes") == 0)
		return describe_node;
	if (strcmp(g, "apps") == 0 && strcmp(n, "deployments") == 0)
		return describe_deployment;
	return describe_kinds_for(res);
}

/* GETs path; the answer's JSON (the caller frees it) or NULL with *r
 * holding the refusal. */
static json_t *fetch(struct dw *o, const char *path, struct kresp *r,
		     int *rc)
{
	char err[1024];

	memset(r, 0, sizeof(*r));
	if (kclient_request(&o->k->client, "GET", path, KACCEPT_JSON, NULL,
			    NULL, 0, r, err, sizeof(err)) != KC_OK) {
		*rc = k8s_fail("%s", err);
		return NULL;
	}
	if (r->status != 200)
		return NULL;
	return json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
}

/* The describer reads the object itself, as kubectl's do. */
static int describe_one(struct dw *o, const json_t *res, describer fn,
			const char *name, int *printed, struct kresp *r)
{
	buf path = BUF_INIT(8192);
	json_t *v;
	int rc = 0;

	kres_path(&path, res, k8s_namespace(o->k), name);
	v = fetch(o, buf_cstr(&path), r, &rc);
	buf_release(&path);
	if (!v)
		return rc ? rc : -1;
	if (*printed && !o->prefix_mode)
		ktab_add(&o->t, "\n\n", 2);
	fn(o, v);
	if (o->prefix_mode)
		ktab_add(&o->t, "\n", 1);
	(*printed)++;
	json_decref(v);
	return 0;
}

/* Describes every object of a list (with a selector, or those whose name
 * starts with prefix).  Returns how many, or -1 with the error printed. */
static int describe_list(struct dw *o, const json_t *res, describer fn,
			 const char *prefix, int *printed)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	json_t *v, *it;
	size_t i;
	int rc = 0, n = 0;

	kres_path(&path, res, k8s_namespace(o->k), NULL);
	if (!prefix && d.selector) {
		buf_printf(&path, "?labelSelector=");
		kquery_escape(&path, d.selector);
	}
	buf_printf(&path, "%slimit=500", strchr(buf_cstr(&path), '?') ? "&" : "?");
	v = fetch(o, buf_cstr(&path), &r, &rc);
	buf_release(&path);
	if (!v) {
		if (!rc)
			rc = k8s_fail_status(&r);
		kresp_release(&r);
		return -1;
	}
	kresp_release(&r);
	json_array_foreach(json_object_get(v, "items"), i, it) {
		const char *name = str(json_object_get(it, "metadata"), "name");
		int one;

		if (prefix && strncmp(name, prefix, strlen(prefix)) != 0)
			continue;
		o->prefix_mode = prefix != NULL;
		one = describe_one(o, res, fn, name, printed, &r);
		o->prefix_mode = 0;
		if (one != 0) {
			if (r.status)
				k8s_fail_status(&r);
			kresp_release(&r);
			json_decref(v);
			return -1;
		}
		kresp_release(&r);
		n++;
	}
	json_decref(v);
	return n;
}

/* Describes one object by name; when there is none, those whose name
 * starts with it (kubectl's fallback), else kubectl's NotFound. */
static int describe_objects(struct dw *o, const json_t *res, const char *name,
			    int *printed)
{
	describer fn = describer_for(res);
	struct kresp r, nr;
	int rc;

	if (!fn) {
		char kg[256];

		kres_kind_group(res, kg, sizeof(kg));
		return k8s_fail("describing %s is not supported yet: kubectl "
				"has its own describer for it (see 'vcli k8s "
				"describe --help')", kg);
	}
	if (!name)
		return describe_list(o, res, fn, NULL, printed) < 0 ?
		       K8S_EXIT_ERROR : 0;
	rc = describe_one(o, res, fn, name, printed, &r);
	if (rc >= 0 || r.status != 404) {
		if (rc < 0)
			rc = k8s_fail_status(&r);
		kresp_release(&r);
		return rc;
	}
	/* Not found: is the namespace there?  Then the prefix. */
	memset(&nr, 0, sizeof(nr));
	if (json_is_true(json_object_get(res, "namespaced")) &&
	    strcmp(k8s_namespace(o->k), "default") != 0) {
		buf np = BUF_INIT(4096);
		json_t *ns;
		int nrc = 0;

		buf_printf(&np, "/api/v1/namespaces/");
		kquery_escape(&np, k8s_namespace(o->k));
		ns = fetch(o, buf_cstr(&np), &nr, &nrc);
		buf_release(&np);
		if (!ns && nr.status == 404) {
			rc = k8s_fail_status(&nr);
			kresp_release(&nr);
			kresp_release(&r);
			return rc;
		}
		json_decref(ns);
		kresp_release(&nr);
	}
	rc = describe_list(o, res, fn, name, printed);
	if (rc == 0) {
		rc = k8s_fail_status(&r);
	} else {
		rc = rc < 0 ? K8S_EXIT_ERROR : 0;
	}
	kresp_release(&r);
	return rc;
}

int k8s_describe(struct cli *cli)
{
	struct k8s k;
	struct dw o;
	int rc, printed = 0;

	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = 0;
	memset(&o, 0, sizeof(o));
	o.k = &k;
	ktab_init_describe(&o.t);
	if (strchr(cli->args[0], '/')) {
		for (int i = 0; i < cli->nargs && !rc; i++) {
			char type[256];
			const char *slash = strchr(cli->args[i], '/');
			const json_t *res;

			if (!slash) {
				rc = k8s_fail("arguments in resource/name form "
					      "must have a single resource and "
					      "name");
				break;
			}
			snprintf(type, sizeof(type), "%.*s",
				 (int)(slash - cli->args[i]), cli->args[i]);
			res = k8s_resource(&k, type);
			rc = res ? describe_objects(&o, res, slash + 1, &printed) :
				   K8S_EXIT_ERROR;
		}
	} else {
		const json_t *res = k8s_resource(&k, cli->args[0]);

		if (!res)
			rc = K8S_EXIT_ERROR;
		else if (cli->nargs == 1)
			rc = describe_objects(&o, res, NULL, &printed);
		for (int i = 1; res && i < cli->nargs && !rc; i++)
			rc = describe_objects(&o, res, cli->args[i], &printed);
		if (!rc && res && cli->nargs == 1 && !printed) {
			fflush(stdout);
			fprintf(stderr, "No resources found in %s namespace.\n",
				k8s_namespace(&k));
		}
	}
	if (ktab_write(&o.t, stdout) < 0 && !rc)
		rc = CLI_EXIT_INTERNAL;
	ktab_release(&o.t);
	k8s_close(&k);
	return rc;
}
