/*
 * vcli k8s describe, beyond pods, deployments, services and nodes:
 * configmaps, secrets, namespaces, serviceaccounts, resourcequotas,
 * replicasets, statefulsets, daemonsets, jobs, cronjobs, ingresses,
 * persistentvolumeclaims in kubectl's words and layout, and kubectl's
 * generic describer for every kind it has no describer of its own for
 * (custom resources included).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/k8s/describe.h"
#include "k8s/kcolumns.h"

static long long num(const json_t *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(obj, key));
}

/* An optional int32 as kubectl's printInt32 writes it. */
static void opt_int(struct dw *o, int level, const char *title,
		    const json_t *obj, const char *key, const char *suffix)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		w(o, level, "%s:\t%lld%s\n", title,
		  (long long)json_integer_value(v), suffix);
	else
		w(o, level, "%s:\t<unset>\n", title);
}

static void metadata_head(struct dw *o, const json_t *md, int with_ns)
{
	w(o, 0, "Name:\t%s\n", str(md, "name"));
	if (with_ns)
		w(o, 0, "Namespace:\t%s\n", str(md, "namespace"));
}

/* The size of what base64 text b64 decodes to (kubectl's "N bytes"). */
static size_t b64_size(const char *b64)
{
	size_t l = strlen(b64);

	while (l && b64[l - 1] == '=')
		l--;
	return l * 3 / 4;
}

static long parse_ts(const char *ts)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm))
		return -1;
	return (long)timegm(&tm);
}

static void controlled_by(struct dw *o, const json_t *md)
{
	const json_t *own;
	size_t i;

	json_array_foreach(json_object_get(md, "ownerReferences"), i, own)
		if (json_is_true(json_object_get(own, "controller")))
			w(o, 0, "Controlled By:\t%s/%s\n", str(own, "kind"),
			  str(own, "name"));
}

/* A label selector as kubectl's LabelSelectorAsSelector prints it:
 * requirements sorted by key, matchLabels as k=v, expressions as
 * "k in (a,b)", "k notin (a)", "k", "!k". */
static void full_selector(const json_t *sel, buf *out)
{
	json_t *reqs = json_array(), *e;
	const char *k;
	json_t *v;
	size_t i, n;
	const char **keys;

	json_object_foreach(json_object_get(sel, "matchLabels"), k, v) {
		buf t = BUF_INIT(4096);

		buf_printf(&t, "%s=%s", k, json_string_value(v) ?
			   json_string_value(v) : "");
		json_array_append_new(reqs, json_pack("{ssss}", "k", k, "t",
						      buf_cstr(&t)));
		buf_release(&t);
	}
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *op = str(e, "operator");
		buf t = BUF_INIT(4096);
		json_t *vals = json_array(), *x;
		size_t j;

		json_array_foreach(json_object_get(e, "values"), j, x)
			json_array_append(vals, x);
		if (strcmp(op, "Exists") == 0) {
			buf_printf(&t, "%s", str(e, "key"));
		} else if (strcmp(op, "DoesNotExist") == 0) {
			buf_printf(&t, "!%s", str(e, "key"));
		} else {
			const char **vs = calloc(json_array_size(vals) + 1,
						 sizeof(*vs));

			json_array_foreach(vals, j, x)
				vs[j] = json_string_value(x) ? json_string_value(x) : "";
			/* sorted, as the selector's sets.String are */
			for (size_t a = 1; a < json_array_size(vals); a++)
				for (size_t b = a; b > 0 && strcmp(vs[b], vs[b - 1]) < 0; b--) {
					const char *tmp = vs[b];

					vs[b] = vs[b - 1];
					vs[b - 1] = tmp;
				}
			buf_printf(&t, "%s %s (", str(e, "key"),
				   strcmp(op, "In") == 0 ? "in" : "notin");
			for (j = 0; j < json_array_size(vals); j++)
				buf_printf(&t, "%s%s", j ? "," : "", vs[j]);
			buf_printf(&t, ")");
			free(vs);
		}
		json_decref(vals);
		json_array_append_new(reqs, json_pack("{ssss}", "k", str(e, "key"),
						      "t", buf_cstr(&t)));
		buf_release(&t);
	}
	n = json_array_size(reqs);
	keys = calloc(n + 1, sizeof(*keys));
	for (i = 0; i < n; i++)
		keys[i] = str(json_array_get(reqs, i), "k");
	/* stable by key */
	{
		size_t *idx = calloc(n + 1, sizeof(*idx));

		for (i = 0; i < n; i++)
			idx[i] = i;
		for (size_t a = 1; a < n; a++)
			for (size_t b = a; b > 0 && strcmp(keys[idx[b]], keys[idx[b - 1]]) < 0; b--) {
				size_t tmp = idx[b];

				idx[b] = idx[b - 1];
				idx[b - 1] = tmp;
			}
		for (i = 0; i < n; i++)
			buf_printf(out, "%s%s", i ? "," : "",
				   str(json_array_get(reqs, idx[i]), "t"));
		free(idx);
	}
	if (!n && !sel)
		buf_printf(out, "<none>");
	free(keys);
	json_decref(reqs);
}

/* The pods a controller owns (listed by its selector, kept when their
 * controller is uid): "N Running / N Waiting / N Succeeded / N Failed". */
static void pods_status(struct dw *o, const json_t *obj, const char *title)
{
	const json_t *md = json_object_get(obj, "metadata");
	buf sel = BUF_INIT(8192);
	struct kresp r;
	json_t *list = NULL, *p;
	size_t i;
	long long run = 0, wait = 0, ok = 0, fail = 0;

	full_selector(at(obj, "spec", "selector"), &sel);
	get_selected(o, "/api/v1", str(md, "namespace"), "pods", buf_cstr(&sel), 500, &list,
		     &r);
	kresp_release(&r);
	json_array_foreach(json_object_get(list, "items"), i, p) {
		const json_t *own;
		size_t j;
		int mine = 0;
		const char *ph = str(json_object_get(p, "status"), "phase");

		json_array_foreach(at(p, "metadata", "ownerReferences"), j, own)
			if (json_is_true(json_object_get(own, "controller")) &&
			    strcmp(str(own, "uid"), str(md, "uid")) == 0)
				mine = 1;
		if (!mine)
			continue;
		if (strcmp(ph, "Running") == 0)
			run++;
		else if (strcmp(ph, "Pending") == 0)
			wait++;
		else if (strcmp(ph, "Succeeded") == 0)
			ok++;
		else if (strcmp(ph, "Failed") == 0)
			fail++;
	}
	json_decref(list);
	buf_release(&sel);
	w(o, 0, "%s:\t%lld Running / %lld Waiting / %lld Succeeded / %lld "
	  "Failed\n", title, run, wait, ok, fail);
}

/* ------------------------------------------------------------ config */

static void describe_configmap(struct dw *o, const json_t *cm)
{
	const json_t *md = json_object_get(cm, "metadata");
	json_t *evs = events_fetch(o, cm, "ConfigMap", 1);
	size_t n;
	const char **keys;

	metadata_head(o, md, 1);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	w(o, 0, "\nData\n====\n");
	keys = sorted_keys(json_object_get(cm, "data"), &n);
	for (size_t i = 0; i < n; i++) {
		w(o, 0, "%s:\n----\n", keys[i]);
		w(o, 0, "%s\n\n", str(json_object_get(cm, "data"), keys[i]));
	}
	free(keys);
	w(o, 0, "\nBinaryData\n====\n");
	keys = sorted_keys(json_object_get(cm, "binaryData"), &n);
	for (size_t i = 0; i < n; i++) {
		w(o, 0, "%s: %zu bytes\n", keys[i],
		  b64_size(str(json_object_get(cm, "binaryData"), keys[i])));
	}
	free(keys);
	w(o, 0, "\n");
	events_print(o, evs);
	json_decref(evs);
}

/* Secret values are never shown: their sizes only. */
static void describe_secret(struct dw *o, const json_t *s)
{
	const json_t *md = json_object_get(s, "metadata");
	size_t n;
	const char **keys;

	metadata_head(o, md, 1);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	w(o, 0, "\nType:\t%s\n", str(s, "type"));
	w(o, 0, "\nData\n====\n");
	keys = sorted_keys(json_object_get(s, "data"), &n);
	for (size_t i = 0; i < n; i++) {
		w(o, 0, "%s:\t%zu bytes\n", keys[i],
		  b64_size(str(json_object_get(s, "data"), keys[i])));
	}
	free(keys);
}

static void describe_serviceaccount(struct dw *o, const json_t *sa)
{
	const json_t *md = json_object_get(sa, "metadata"), *x;
	buf path = BUF_INIT(8192);
	struct kresp r;
	json_t *secrets = NULL, *evs;
	static const char *const headers[] = { "Image pull secrets:",
		"Mountable secrets: ", "Tokens:            " };
	size_t i;

	buf_printf(&path, "/api/v1/namespaces/");
	kquery_escape(&path, str(md, "namespace"));
	buf_printf(&path, "/secrets?limit=500");
	get_json(o, buf_cstr(&path), &secrets, &r);
	kresp_release(&r);
	buf_release(&path);
	evs = events_fetch(o, sa, "ServiceAccount", 1);
	metadata_head(o, md, 1);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	for (int h = 0; h < 3; h++) {
		int any = 0;

		if (h == 0 || h == 1) {
			json_array_foreach(json_object_get(sa, h == 0 ?
				"imagePullSecrets" : "secrets"), i, x) {
				w(o, 0, "%s\t%s\n", any ? "                   " :
				  headers[h], str(x, "name"));
				any = 1;
			}
		} else {
			json_array_foreach(json_object_get(secrets, "items"), i, x) {
				const json_t *ann = at(x, "metadata", "annotations");

				if (strcmp(str(x, "type"),
					   "kubernetes.io/service-account-token") != 0 ||
				    strcmp(str(ann, "kubernetes.io/service-account.name"),
					   str(md, "name")) != 0)
					continue;
				if (*str(ann, "kubernetes.io/service-account.uid") &&
				    strcmp(str(ann, "kubernetes.io/service-account.uid"),
					   str(md, "uid")) != 0)
					continue;
				w(o, 0, "%s\t%s\n", any ? "                   " :
				  headers[h], str(json_object_get(x, "metadata"),
						  "name"));
				any = 1;
			}
		}
		if (!any)
			w(o, 0, "%s\t<none>\n", headers[h]);
	}
	json_decref(secrets);
	events_print(o, evs);
	json_decref(evs);
}

/* The Used/Hard rows of a quota, resources sorted. */
static void quota_rows(struct dw *o, int level, const json_t *q)
{
	const json_t *hard = at(q, "status", "hard");
	const json_t *used = at(q, "status", "used");
	size_t n;
	const char **keys = sorted_keys(hard, &n);

	for (size_t i = 0; i < n; i++)
		w(o, level, "%s\t%s\t%s\n", keys[i],
		  json_object_get(used, keys[i]) ? str(used, keys[i]) : "0",
		  str(hard, keys[i]));
	free(keys);
}

static void quota_scopes(struct dw *o, int level, const json_t *q)
{
	const json_t *sc = at(q, "spec", "scopes"), *x;
	size_t i;

	if (!json_array_size(sc))
		return;
	w(o, level, "Scopes:\t");
	json_array_foreach(sc, i, x)
		w(o, 0, "%s%s", i ? ", " : "", json_string_value(x) ?
		  json_string_value(x) : "");
	w(o, 0, "\n");
}

static void describe_quota(struct dw *o, const json_t *q)
{
	metadata_head(o, json_object_get(q, "metadata"), 1);
	quota_scopes(o, 0, q);
	w(o, 0, "Resource\tUsed\tHard\n");
	w(o, 0, "--------\t----\t----\n");
	quota_rows(o, 0, q);
}

static json_t *ns_list(struct dw *o, const char *ns, const char *what)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	json_t *v = NULL;

	buf_printf(&path, "/api/v1/namespaces/");
	kquery_escape(&path, ns);
	buf_printf(&path, "/%s?limit=500", what);
	get_json(o, buf_cstr(&path), &v, &r);
	kresp_release(&r);
	buf_release(&path);
	return v;
}

static int name_order(const void *a, const void *b)
{
	return strcmp(str(json_object_get(*(json_t *const *)a, "metadata"),
			  "name"),
		      str(json_object_get(*(json_t *const *)b, "metadata"),
			  "name"));
}

static void describe_namespace(struct dw *o, const json_t *ns)
{
	const json_t *md = json_object_get(ns, "metadata"), *x;
	json_t *quotas = ns_list(o, str(md, "name"), "resourcequotas");
	json_t *limits = ns_list(o, str(md, "name"), "limitranges");
	size_t i, n;

	metadata_head(o, md, 0);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	w(o, 0, "Status:\t%s\n", str(json_object_get(ns, "status"), "phase"));
	if (quotas) {
		json_t **qs;

		n = json_array_size(json_object_get(quotas, "items"));
		w(o, 0, "\n");
		if (!n) {
			w(o, 0, "No resource quota.\n");
		} else {
			qs = calloc(n, sizeof(*qs));
			json_array_foreach(json_object_get(quotas, "items"), i, x)
				qs[i] = (json_t *)x;
			qsort(qs, n, sizeof(*qs), name_order);
			w(o, 0, "Resource Quotas\n");
			for (i = 0; i < n; i++) {
				w(o, 1, "Name:\t%s\n", str(json_object_get(qs[i],
							   "metadata"), "name"));
				quota_scopes(o, 1, qs[i]);
				w(o, 1, "Resource\tUsed\tHard\n");
				w(o, 1, "--------\t---\t---\n");
				quota_rows(o, 1, qs[i]);
			}
			free(qs);
		}
	}
	if (limits) {
		const json_t *lr, *lim;
		size_t j;

		w(o, 0, "\n");
		if (!json_array_size(json_object_get(limits, "items"))) {
			w(o, 0, "No LimitRange resource.\n");
		} else {
			w(o, 0, "Resource Limits\n Type\tResource\tMin\tMax\t"
			  "Default Request\tDefault Limit\tMax Limit/Request "
			  "Ratio\n");
			w(o, 0, " ----\t--------\t---\t---\t---------------\t"
			  "-------------\t-----------------------\n");
			json_array_foreach(json_object_get(limits, "items"), i, lr)
				json_array_foreach(at(lr, "spec", "limits"), j, lim) {
				static const char *const f[] = { "min", "max",
					"defaultRequest", "default",
					"maxLimitRequestRatio" };
				json_t *res = json_object();
				const char **keys;
				size_t nk;

				for (int k = 0; k < 5; k++) {
					const char *rk;
					json_t *rv;

					json_object_foreach(json_object_get(lim, f[k]),
							    rk, rv)
						json_object_set_new(res, rk,
								    json_true());
				}
				keys = sorted_keys(res, &nk);
				for (size_t k = 0; k < nk; k++) {
					w(o, 0, " %s\t%s", str(lim, "type"), keys[k]);
					for (int m = 0; m < 5; m++) {
						const char *v = str(json_object_get(
							lim, f[m]), keys[k]);

						w(o, 0, "\t%s", *v ? v : "-");
					}
					w(o, 0, "\n");
				}
				free(keys);
				json_decref(res);
			}
		}
	}
	json_decref(quotas);
	json_decref(limits);
}

/* ------------------------------------------------------------ workloads */

static void describe_replicaset(struct dw *o, const json_t *rs)
{
	const json_t *md = json_object_get(rs, "metadata");
	const json_t *spec = json_object_get(rs, "spec");
	buf sel = BUF_INIT(8192);
	json_t *evs;

	full_selector(json_object_get(spec, "selector"), &sel);
	metadata_head(o, md, 1);
	w(o, 0, "Selector:\t%s\n", buf_cstr(&sel));
	buf_release(&sel);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	controlled_by(o, md);
	w(o, 0, "Replicas:\t%lld current / %lld desired\n",
	  num(json_object_get(rs, "status"), "replicas"),
	  json_object_get(spec, "replicas") ? num(spec, "replicas") : 1);
	pods_status(o, rs, "Pods Status");
	evs = events_fetch(o, rs, "ReplicaSet", 1);
	pod_template(o, json_object_get(spec, "template"));
	conditions(o, json_object_get(rs, "status"));
	events_print(o, evs);
	json_decref(evs);
}

static void volume_claims(struct dw *o, const json_t *tmpls)
{
	const json_t *pvc;
	size_t i;

	if (!json_array_size(tmpls)) {
		w(o, 0, "Volume Claims:\t<none>\n");
		return;
	}
	w(o, 0, "Volume Claims:\n");
	json_array_foreach(tmpls, i, pvc) {
		const json_t *md = json_object_get(pvc, "metadata");
		const char *cls = str(json_object_get(md, "annotations"),
				      "volume.beta.kubernetes.io/storage-class");
		const json_t *req = at(json_object_get(pvc, "spec"), "resources",
				       "requests");
		const json_t *m;
		size_t j;

		if (!*cls)
			cls = str(json_object_get(pvc, "spec"), "storageClassName");
		w(o, 1, "Name:\t%s\n", str(md, "name"));
		w(o, 1, "StorageClass:\t%s\n", cls);
		multiline(o, 1, "Labels", json_object_get(md, "labels"), "=");
		multiline(o, 1, "Annotations", json_object_get(md, "annotations"),
			  "=");
		w(o, 1, "Capacity:\t%s\n", json_object_get(req, "storage") ?
		  str(req, "storage") : "<default>");
		w(o, 1, "Access Modes:\t[");
		json_array_foreach(at(pvc, "spec", "accessModes"), j, m)
			w(o, 0, "%s%s", j ? " " : "", json_string_value(m) ?
			  json_string_value(m) : "");
		w(o, 0, "]\n");
	}
}

static void describe_statefulset(struct dw *o, const json_t *ss)
{
	const json_t *md = json_object_get(ss, "metadata");
	const json_t *spec = json_object_get(ss, "spec");
	const json_t *ru = at(spec, "updateStrategy", "rollingUpdate");
	buf sel = BUF_INIT(8192);
	char t[64];
	json_t *evs;

	full_selector(json_object_get(spec, "selector"), &sel);
	metadata_head(o, md, 1);
	rfc1123z(str(md, "creationTimestamp"), t, sizeof(t));
	w(o, 0, "CreationTimestamp:\t%s\n", t);
	w(o, 0, "Selector:\t%s\n", buf_cstr(&sel));
	buf_release(&sel);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	w(o, 0, "Replicas:\t%lld desired | %lld total\n",
	  json_object_get(spec, "replicas") ? num(spec, "replicas") : 1,
	  num(json_object_get(ss, "status"), "replicas"));
	w(o, 0, "Update Strategy:\t%s\n", str(json_object_get(spec,
		"updateStrategy"), "type"));
	if (ru && json_object_get(ru, "partition")) {
		const json_t *mu = json_object_get(ru, "maxUnavailable");

		w(o, 1, "Partition:\t%lld\n", num(ru, "partition"));
		if (json_is_string(mu))
			w(o, 1, "MaxUnavailable:\t%s\n", json_string_value(mu));
		else if (json_is_integer(mu))
			w(o, 1, "MaxUnavailable:\t%lld\n",
			  (long long)json_integer_value(mu));
	}
	pods_status(o, ss, "Pods Status");
	evs = events_fetch(o, ss, "StatefulSet", 1);
	pod_template(o, json_object_get(spec, "template"));
	volume_claims(o, json_object_get(spec, "volumeClaimTemplates"));
	events_print(o, evs);
	json_decref(evs);
}

static void describe_daemonset(struct dw *o, const json_t *ds)
{
	const json_t *md = json_object_get(ds, "metadata");
	const json_t *spec = json_object_get(ds, "spec");
	const json_t *st = json_object_get(ds, "status");
	const json_t *nsel = at(json_object_get(spec, "template"), "spec",
				"nodeSelector");
	buf sel = BUF_INIT(8192);
	size_t n;
	const char **keys = sorted_keys(nsel, &n);
	json_t *evs;

	full_selector(json_object_get(spec, "selector"), &sel);
	metadata_head(o, md, 0);
	w(o, 0, "Selector:\t%s\n", buf_cstr(&sel));
	buf_release(&sel);
	w(o, 0, "Node-Selector:\t");
	for (size_t i = 0; i < n; i++)
		w(o, 0, "%s%s=%s", i ? "," : "", keys[i], str(nsel, keys[i]));
	w(o, 0, "%s\n", n ? "" : "<none>");
	free(keys);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	w(o, 0, "Desired Number of Nodes Scheduled: %lld\n",
	  num(st, "desiredNumberScheduled"));
	w(o, 0, "Current Number of Nodes Scheduled: %lld\n",
	  num(st, "currentNumberScheduled"));
	w(o, 0, "Number of Nodes Scheduled with Up-to-date Pods: %lld\n",
	  num(st, "updatedNumberScheduled"));
	w(o, 0, "Number of Nodes Scheduled with Available Pods: %lld\n",
	  num(st, "numberAvailable"));
	w(o, 0, "Number of Nodes Misscheduled: %lld\n",
	  num(st, "numberMisscheduled"));
	pods_status(o, ds, "Pods Status");
	evs = events_fetch(o, ds, "DaemonSet", 1);
	pod_template(o, json_object_get(spec, "template"));
	events_print(o, evs);
	json_decref(evs);
}

static void job_template(struct dw *o, const json_t *spec, int cron)
{
	buf sel = BUF_INIT(8192);

	if (cron && !json_object_get(spec, "selector")) {
		w(o, 0, "Selector:\t<unset>\n");
	} else {
		full_selector(json_object_get(spec, "selector"), &sel);
		w(o, 0, "Selector:\t%s\n", buf_cstr(&sel));
	}
	buf_release(&sel);
	if (cron) {
		opt_int(o, 0, "Parallelism", spec, "parallelism", "");
		opt_int(o, 0, "Completions", spec, "completions", "");
		if (json_object_get(spec, "activeDeadlineSeconds"))
			w(o, 0, "Active Deadline Seconds:\t%llds\n",
			  num(spec, "activeDeadlineSeconds"));
		pod_template(o, json_object_get(spec, "template"));
	}
}

static void describe_job(struct dw *o, const json_t *job)
{
	const json_t *md = json_object_get(job, "metadata");
	const json_t *spec = json_object_get(job, "spec");
	const json_t *st = json_object_get(job, "status");
	json_t *evs = events_fetch(o, job, "Job", 1);
	char t[64];

	metadata_head(o, md, 1);
	job_template(o, spec, 0);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	controlled_by(o, md);
	w(o, 0, "Parallelism:\t%lld\n", num(spec, "parallelism"));
	opt_int(o, 0, "Completions", spec, "completions", "");
	if (*str(spec, "completionMode"))
		w(o, 0, "Completion Mode:\t%s\n", str(spec, "completionMode"));
	w(o, 0, "Suspend:\t%s\n", json_is_true(json_object_get(spec, "suspend"))
	  ? "true" : "false");
	w(o, 0, "Backoff Limit:\t%lld\n", num(spec, "backoffLimit"));
	if (json_object_get(spec, "ttlSecondsAfterFinished"))
		w(o, 0, "TTL Seconds After Finished:\t%lld\n",
		  num(spec, "ttlSecondsAfterFinished"));
	if (*str(st, "startTime")) {
		rfc1123z(str(st, "startTime"), t, sizeof(t));
		w(o, 0, "Start Time:\t%s\n", t);
	}
	if (*str(st, "completionTime")) {
		rfc1123z(str(st, "completionTime"), t, sizeof(t));
		w(o, 0, "Completed At:\t%s\n", t);
	}
	if (*str(st, "startTime") && *str(st, "completionTime")) {
		human_duration(parse_ts(str(st, "completionTime")) -
			       parse_ts(str(st, "startTime")), t, sizeof(t));
		w(o, 0, "Duration:\t%s\n", t);
	}
	if (json_object_get(spec, "activeDeadlineSeconds"))
		w(o, 0, "Active Deadline Seconds:\t%llds\n",
		  num(spec, "activeDeadlineSeconds"));
	if (json_object_get(st, "ready"))
		w(o, 0, "Pods Statuses:\t%lld Active (%lld Ready) / %lld "
		  "Succeeded / %lld Failed\n", num(st, "active"),
		  num(st, "ready"), num(st, "succeeded"), num(st, "failed"));
	else
		w(o, 0, "Pods Statuses:\t%lld Active / %lld Succeeded / %lld "
		  "Failed\n", num(st, "active"), num(st, "succeeded"),
		  num(st, "failed"));
	if (strcmp(str(spec, "completionMode"), "Indexed") == 0)
		w(o, 0, "Completed Indexes:\t%s\n", *str(st, "completedIndexes") ?
		  str(st, "completedIndexes") : "<none>");
	pod_template(o, json_object_get(spec, "template"));
	events_print(o, evs);
	json_decref(evs);
}

static void describe_cronjob(struct dw *o, const json_t *cj)
{
	const json_t *md = json_object_get(cj, "metadata");
	const json_t *spec = json_object_get(cj, "spec");
	const json_t *st = json_object_get(cj, "status"), *x;
	const json_t *sus = json_object_get(spec, "suspend");
	json_t *evs = events_fetch(o, cj, "CronJob", 1);
	char t[64];
	size_t i;

	metadata_head(o, md, 1);
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	w(o, 0, "Schedule:\t%s\n", str(spec, "schedule"));
	w(o, 0, "Concurrency Policy:\t%s\n", str(spec, "concurrencyPolicy"));
	w(o, 0, "Suspend:\t%s\n", !json_is_boolean(sus) ? "<unset>" :
	  json_is_true(sus) ? "True" : "False");
	opt_int(o, 0, "Successful Job History Limit", spec,
		"successfulJobsHistoryLimit", "");
	opt_int(o, 0, "Failed Job History Limit", spec,
		"failedJobsHistoryLimit", "");
	opt_int(o, 0, "Starting Deadline Seconds", spec,
		"startingDeadlineSeconds", "s");
	job_template(o, at(spec, "jobTemplate", "spec"), 1);
	if (*str(st, "lastScheduleTime")) {
		rfc1123z(str(st, "lastScheduleTime"), t, sizeof(t));
		w(o, 0, "Last Schedule Time:\t%s\n", t);
	} else {
		w(o, 0, "Last Schedule Time:\t<unset>\n");
	}
	if (!json_array_size(json_object_get(st, "active"))) {
		w(o, 0, "Active Jobs:\t<none>\n");
	} else {
		w(o, 0, "Active Jobs:\t");
		json_array_foreach(json_object_get(st, "active"), i, x)
			w(o, 0, "%s%s", i ? ", " : "", str(x, "name"));
		w(o, 0, "\n");
	}
	events_print(o, evs);
	json_decref(evs);
}

/* ------------------------------------------------------------ storage */

static void describe_pvc(struct dw *o, const json_t *pvc)
{
	const json_t *md = json_object_get(pvc, "metadata");
	const json_t *spec = json_object_get(pvc, "spec");
	const json_t *st = json_object_get(pvc, "status"), *x, *p;
	const char *cls = str(json_object_get(md, "annotations"),
			      "volume.beta.kubernetes.io/storage-class");
	json_t *pods = ns_list(o, str(md, "namespace"), "pods"), *users, *evs;
	static const struct {
		const char *mode, *abbr;
	} modes[] = { { "ReadWriteOnce", "RWO" }, { "ReadOnlyMany", "ROX" },
		      { "ReadWriteMany", "RWX" }, { "ReadWriteOncePod", "RWOP" } };
	size_t i, j;

	evs = events_fetch(o, pvc, "PersistentVolumeClaim", 1);
	if (!*cls)
		cls = str(spec, "storageClassName");
	metadata_head(o, md, 1);
	w(o, 0, "StorageClass:\t%s\n", cls);
	w(o, 0, "Status:\t%s\n", *str(md, "deletionTimestamp") ? "Terminating" :
	  str(st, "phase"));
	w(o, 0, "Volume:\t%s\n", str(spec, "volumeName"));
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	w(o, 0, "Finalizers:\t[");
	json_array_foreach(json_object_get(md, "finalizers"), i, x)
		w(o, 0, "%s%s", i ? " " : "", json_string_value(x) ?
		  json_string_value(x) : "");
	w(o, 0, "]\n");
	if (*str(spec, "volumeName")) {
		int any = 0;

		w(o, 0, "Capacity:\t%s\n", str(json_object_get(st, "capacity"),
					       "storage"));
		w(o, 0, "Access Modes:\t");
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
			json_array_foreach(json_object_get(st, "accessModes"), i, x)
				if (json_string_value(x) &&
				    strcmp(json_string_value(x), modes[m].mode) == 0) {
					w(o, 0, "%s%s", any ? "," : "", modes[m].abbr);
					any = 1;
					break;
				}
		w(o, 0, "\n");
	} else {
		w(o, 0, "Capacity:\t\n");
		w(o, 0, "Access Modes:\t\n");
	}
	if (*str(spec, "volumeMode"))
		w(o, 0, "VolumeMode:\t%s\n", str(spec, "volumeMode"));
	users = json_object();
	json_array_foreach(json_object_get(pods, "items"), i, p)
		json_array_foreach(at(p, "spec", "volumes"), j, x)
			if (strcmp(str(json_object_get(x, "persistentVolumeClaim"),
				       "claimName"), str(md, "name")) == 0)
				json_object_set_new(users, str(json_object_get(
					p, "metadata"), "name"), json_string(""));
	{
		size_t n;
		const char **keys = sorted_keys(users, &n);

		w(o, 0, "Used By:\t%s\n", n ? keys[0] : "<none>");
		for (size_t k = 1; k < n; k++)
			w(o, 0, "\t%s\n", keys[k]);
		free(keys);
	}
	json_decref(users);
	json_decref(pods);
	events_print(o, evs);
	json_decref(evs);
}

/* ------------------------------------------------------------ ingress */

static void backend_text(struct dw *o, const char *ns, const json_t *be,
			 buf *out)
{
	const json_t *svc = json_object_get(be, "service");
	const json_t *port = json_object_get(svc, "port");
	buf path = BUF_INIT(8192);
	struct kresp r;
	json_t *slices = NULL, *s = NULL;
	char msg[1024];

	if (!svc) {
		const json_t *res = json_object_get(be, "resource");

		buf_printf(out, "APIGroup: %s, Kind: %s, Name: %s",
			   str(res, "apiGroup"), str(res, "kind"),
			   str(res, "name"));
		return;
	}
	buf_printf(out, "%s:", str(svc, "name"));
	if (*str(port, "name"))
		buf_printf(out, "%s", str(port, "name"));
	else
		buf_printf(out, "%lld", num(port, "number"));
	get_service_slices(o, ns, str(svc, "name"), &slices, &r);
	if (!slices) {
		kstatus_message(r.status, (const char *)r.body.data, r.body.len,
				msg, sizeof(msg));
		buf_printf(out, " (<error: %s>)", r.status == 404 ?
			   "the server could not find the requested resource" :
			   msg);
		goto out;
	}
	kresp_release(&r);
	buf_printf(&path, "/api/v1/namespaces/");
	kquery_escape(&path, ns);
	buf_printf(&path, "/services/");
	kquery_escape(&path, str(svc, "name"));
	get_json(o, buf_cstr(&path), &s, &r);
	if (!s) {
		char reason[64];

		kstatus_reason((const char *)r.body.data, r.body.len, reason,
			       sizeof(reason));
		if (strcmp(reason, "NotFound") == 0)
			buf_printf(out, " (<error: services \"%s\" not found>)",
				   str(svc, "name"));
		else
			buf_printf(out, " (<error: %s>)", "unknown");
		goto out;
	}
	{
		/* The addresses of the slices' ready endpoints on the
		 * service port's target, as kubectl's formatEndpointSlices
		 * (at most three, then "+ N more..."). */
		const json_t *sp, *sl, *ep, *a, *pp;
		size_t i, j, k, l, m, count = 0, shown = 0;
		buf eps = BUF_INIT(1 << 16);

		json_array_foreach(at(s, "spec", "ports"), i, sp) {
			if (*str(port, "name") ? strcmp(str(sp, "name"),
							str(port, "name")) != 0 :
			    num(sp, "port") != num(port, "number"))
				continue;
			json_array_foreach(json_object_get(slices, "items"), j, sl)
				json_array_foreach(json_object_get(sl, "ports"), m, pp) {
				if (strcmp(str(pp, "name"), str(sp, "name")) != 0)
					continue;
				json_array_foreach(json_object_get(sl, "endpoints"), k, ep) {
					const json_t *ready = at(ep, "conditions", "ready");

					if (json_is_false(ready))
						continue;
					json_array_foreach(json_object_get(ep, "addresses"), l, a) {
						count++;
						if (shown < 3) {
							buf_printf(&eps, "%s%s:%lld",
								   shown ? "," : "",
								   json_string_value(a) ?
								   json_string_value(a) : "",
								   num(pp, "port"));
							shown++;
						}
					}
				}
			}
		}
		if (!count)
			buf_printf(out, " (<none>)");
		else if (count > 3)
			buf_printf(out, " (%s + %zu more...)", buf_cstr(&eps),
				   count - 3);
		else
			buf_printf(out, " (%s)", buf_cstr(&eps));
		buf_release(&eps);
	}
out:
	kresp_release(&r);
	json_decref(slices);
	json_decref(s);
	buf_release(&path);
}

static void describe_ingress(struct dw *o, const json_t *ing)
{
	const json_t *md = json_object_get(ing, "metadata");
	const json_t *spec = json_object_get(ing, "spec"), *x, *rule, *p;
	const char *ns = str(md, "namespace");
	json_t *evs = events_fetch(o, ing, "Ingress", 1);
	buf b = BUF_INIT(1 << 16);
	size_t i, j;
	int count = 0;

	w(o, 0, "Name:\t%s\n", str(md, "name"));
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	w(o, 0, "Namespace:\t%s\n", ns);
	w(o, 0, "Address:\t");
	json_array_foreach(at(json_object_get(ing, "status"), "loadBalancer",
			      "ingress"), i, x)
		w(o, 0, "%s%s", i ? "," : "", *str(x, "ip") ? str(x, "ip") :
		  str(x, "hostname"));
	w(o, 0, "\n");
	w(o, 0, "Ingress Class:\t%s\n", *str(spec, "ingressClassName") ?
	  str(spec, "ingressClassName") : "<none>");
	if (!json_object_get(spec, "defaultBackend")) {
		w(o, 0, "Default backend:\t<default>\n");
	} else {
		backend_text(o, ns, json_object_get(spec, "defaultBackend"), &b);
		w(o, 0, "Default backend:\t%s\n", buf_cstr(&b));
	}
	if (json_array_size(json_object_get(spec, "tls"))) {
		w(o, 0, "TLS:\n");
		json_array_foreach(json_object_get(spec, "tls"), i, x) {
			const json_t *h;

			if (*str(x, "secretName"))
				w(o, 1, "%s terminates ", str(x, "secretName"));
			else
				w(o, 1, "SNI routes ");
			json_array_foreach(json_object_get(x, "hosts"), j, h)
				w(o, 0, "%s%s", j ? "," : "", json_string_value(h) ?
				  json_string_value(h) : "");
			w(o, 0, "\n");
		}
	}
	w(o, 0, "Rules:\n  Host\tPath\tBackends\n");
	w(o, 1, "----\t----\t--------\n");
	json_array_foreach(json_object_get(spec, "rules"), i, rule) {
		if (!json_object_get(rule, "http"))
			continue;
		count++;
		w(o, 1, "%s\t\n", *str(rule, "host") ? str(rule, "host") : "*");
		json_array_foreach(at(rule, "http", "paths"), j, p) {
			buf_reset(&b);
			backend_text(o, ns, json_object_get(p, "backend"), &b);
			w(o, 2, "\t%s \t%s\n", str(p, "path"), buf_cstr(&b));
		}
	}
	if (!count) {
		buf_reset(&b);
		if (json_object_get(spec, "defaultBackend"))
			backend_text(o, ns, json_object_get(spec, "defaultBackend"),
				     &b);
		w(o, 1, "*\t*\t%s\n", buf_cstr(&b));
	}
	annotations(o, 0, md);
	buf_release(&b);
	events_print(o, evs);
	json_decref(evs);
}

/* ------------------------------------------------------------ generic */

/* kubectl's smartLabelFor: "creationTimestamp" -> "Creation Timestamp",
 * "apiVersion" -> "API Version"; a field with characters other than
 * letters and '-' stays as it is. */
static void smart_label(const char *f, char *out, size_t outlen)
{
	static const char *const acronyms[] = { "API", "URL", "UID", "OSB",
		"GUID", NULL };
	size_t used = 0, n = strlen(f), i = 0;
	int first = 1;

	for (const char *p = f; *p; p++)
		if (!isalpha((unsigned char)*p) && *p != '-') {
			snprintf(out, outlen, "%s", f);
			return;
		}
	out[0] = '\0';
	while (i < n) {
		/* fatih/camelcase: runs of one class; an upper-case run
		 * followed by lower case gives its last letter away. */
		size_t s = i;
		int cls = islower((unsigned char)f[i]) ? 1 :
			  isupper((unsigned char)f[i]) ? 2 : 3;
		char part[256];

		while (i < n && (islower((unsigned char)f[i]) ? 1 :
				 isupper((unsigned char)f[i]) ? 2 : 3) == cls)
			i++;
		if (cls == 2 && i < n && islower((unsigned char)f[i]) &&
		    i - s > 1)
			i--;
		else if (cls == 2 && i < n && islower((unsigned char)f[i])) {
			while (i < n && islower((unsigned char)f[i]))
				i++;
		}
		snprintf(part, sizeof(part), "%.*s", (int)(i - s), f + s);
		if (strcmp(part, "_") == 0)
			continue;
		{
			char up[256];
			int acr = 0;

			for (size_t k = 0; part[k] && k + 1 < sizeof(up); k++)
				up[k] = (char)toupper((unsigned char)part[k]),
				up[k + 1] = '\0';
			for (int a = 0; acronyms[a]; a++)
				if (strcmp(up, acronyms[a]) == 0)
					acr = 1;
			if (acr)
				snprintf(part, sizeof(part), "%s", up);
			else
				part[0] = (char)toupper((unsigned char)part[0]);
		}
		used += (size_t)snprintf(out + used, used < outlen ?
					 outlen - used : 0, "%s%s",
					 first ? "" : " ", part);
		first = 0;
	}
}

static void print_go_value(struct dw *o, int level, const char *fmt_label,
			   const json_t *v)
{
	buf b = BUF_INIT(1 << 20);

	kgo_sprint(&b, v);
	if (fmt_label)
		w(o, level, "%s:\t%s\n", fmt_label, buf_cstr(&b));
	else
		w(o, level, "%s\n", buf_cstr(&b));
	buf_release(&b);
}

static int skipped(const char *path)
{
	static const char *const skip[] = { ".metadata.managedFields",
		".metadata.name", ".metadata.namespace", ".metadata.labels",
		".metadata.annotations", NULL };

	for (int i = 0; skip[i]; i++)
		if (strcmp(path, skip[i]) == 0)
			return 1;
	return 0;
}

static void unstructured(struct dw *o, int level, const json_t *content,
			 const char *prefix)
{
	size_t n;
	const char **keys = sorted_keys(content, &n);

	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(content, keys[i]), *c;
		char label[512], path[2048];
		size_t j;

		snprintf(path, sizeof(path), "%s.%s", prefix, keys[i]);
		if (skipped(path))
			continue;
		smart_label(keys[i], label, sizeof(label));
		if (json_is_object(v)) {
			w(o, level, "%s:\n", label);
			unstructured(o, level + 1, v, path);
		} else if (json_is_array(v)) {
			w(o, level, "%s:\n", label);
			json_array_foreach(v, j, c) {
				if (json_is_object(c))
					unstructured(o, level + 1, c, path);
				else
					print_go_value(o, level + 1, NULL, c);
			}
		} else {
			print_go_value(o, level, label, v);
		}
	}
	free(keys);
}

/* kubectl's generic describer finds events by kind, uid, name and
 * namespace (in that order). */
static json_t *generic_events(struct dw *o, const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = str(md, "namespace");
	buf sel = BUF_INIT(4096);
	json_t *items = json_array();

	buf_printf(&sel, "involvedObject.kind=%s,involvedObject.uid=%s,"
		   "involvedObject.name=%s", str(obj, "kind"), str(md, "uid"),
		   str(md, "name"));
	if (*ns)
		buf_printf(&sel, ",involvedObject.namespace=%s", ns);
	events_query(o, ns, buf_cstr(&sel), items);
	buf_release(&sel);
	return items;
}

static void describe_generic(struct dw *o, const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	json_t *evs = generic_events(o, obj);

	w(o, 0, "Name:\t%s\n", str(md, "name"));
	w(o, 0, "Namespace:\t%s\n", str(md, "namespace"));
	multiline(o, 0, "Labels", json_object_get(md, "labels"), "=");
	annotations(o, 0, md);
	unstructured(o, 0, obj, "");
	events_print(o, evs);
	json_decref(evs);
}

/* ------------------------------------------------------------ the table */

static const struct {
	const char *group, *name;
	describer fn;
} kinds[] = {
	{ "", "configmaps", describe_configmap },
	{ "", "secrets", describe_secret },
	{ "", "namespaces", describe_namespace },
	{ "", "serviceaccounts", describe_serviceaccount },
	{ "", "resourcequotas", describe_quota },
	{ "", "persistentvolumeclaims", describe_pvc },
	{ "apps", "replicasets", describe_replicaset },
	{ "apps", "statefulsets", describe_statefulset },
	{ "apps", "daemonsets", describe_daemonset },
	{ "batch", "jobs", describe_job },
	{ "batch", "cronjobs", describe_cronjob },
	{ "networking.k8s.io", "ingresses", describe_ingress },
};

/* Kinds kubectl describes with a describer of its own that vcli does not
 * have: refused rather than printed another way. */
static const struct {
	const char *group, *name;
} theirs[] = {
	{ "", "limitranges" }, { "", "persistentvolumes" },
	{ "", "replicationcontrollers" }, { "", "endpoints" },
	{ "", "events" },
	{ "apps", "controllerrevisions" },
	{ "networking.k8s.io", "ingressclasses" },
	{ "networking.k8s.io", "networkpolicies" },
	{ "discovery.k8s.io", "endpointslices" },
	{ "policy", "poddisruptionbudgets" },
	{ "rbac.authorization.k8s.io", "roles" },
	{ "rbac.authorization.k8s.io", "clusterroles" },
	{ "rbac.authorization.k8s.io", "rolebindings" },
	{ "rbac.authorization.k8s.io", "clusterrolebindings" },
	{ "storage.k8s.io", "storageclasses" },
	{ "storage.k8s.io", "csinodes" },
	{ "autoscaling", "horizontalpodautoscalers" },
	{ "certificates.k8s.io", "certificatesigningrequests" },
	{ "scheduling.k8s.io", "priorityclasses" },
};

describer describe_kinds_for(const json_t *res)
{
	const char *g = json_string_value(json_object_get(res, "group"));
	const char *n = json_string_value(json_object_get(res, "name"));

	g = g ? g : "";
	n = n ? n : "";
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(g, kinds[i].group) == 0 &&
		    strcmp(n, kinds[i].name) == 0)
			return kinds[i].fn;
	for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		if (strcmp(g, theirs[i].group) == 0 &&
		    strcmp(n, theirs[i].name) == 0)
			return NULL;
	return describe_generic;
}
