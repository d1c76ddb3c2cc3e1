/*
 * vcli k8s rollout status|restart|history|undo for deployments, as
 * kubectl rollout does them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"
#include "k8s/kyaml.h"

static struct {
	int revision;
	int to_revision;
	const char *watch;
} ro;

static const struct opt rollout_options[] = {
	K8S_CONN_OPTIONS,
	{ "revision", 0, OPT_INT, &ro.revision,
	  "history: show this revision's pod template", NULL, "N" },
	{ "to-revision", 0, OPT_INT, &ro.to_revision,
	  "undo: go back to this revision (default: the previous one)", NULL,
	  "N" },
	{ "watch", 'w', OPT_STRING, &ro.watch,
	  "status: keep watching until done (default true)", NULL,
	  "true|false" },
	OPT_END,
};

const struct cmd_spec k8s_rollout_spec = {
	.usage = "vcli k8s rollout status|restart|history|undo TYPE NAME | TYPE/NAME [options]",
	.description =
		"Manages a deployment's rollout: status waits until it is done,\n"
		"restart rolls its pods (a new template annotation), history\n"
		"lists its revisions, undo goes back to one.\n",
	.options = rollout_options,
	.min_args = 2,
	.max_args = 3,
	.examples = "  vcli k8s rollout status deploy/web\n"
		    "  vcli k8s rollout restart deploy/web\n"
		    "  vcli k8s rollout undo deploy/web --to-revision=2\n",
};

#define ACCEPT_ANY "application/json, */*"

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static json_int_t num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static json_t *get_object(struct k8s *k, const json_t *res, const char *name,
			  int *rc)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	char err[1024];
	json_t *v = NULL;

	memset(&r, 0, sizeof(r));
	k8s_object_path(&path, res, k8s_namespace(k), name, NULL);
	if (kclient_request(&k->client, "GET", buf_cstr(&path), ACCEPT_ANY, NULL,
			    NULL, 0, &r, err, sizeof(err)) != KC_OK)
		*rc = k8s_fail("%s", err);
	else if (r.status == 404 && k8s_namespace_missing(k, res, k8s_namespace(k)))
		*rc = K8S_EXIT_ERROR;
	else if (r.status != 200)
		*rc = k8s_fail_status(&r);
	else
		v = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
	kresp_release(&r);
	buf_release(&path);
	return v;
}

/* history and undo read the object twice, as kubectl's builder and then
 * its history viewer or rollbacker do: the second answer is the one used. */
static json_t *get_object_again(struct k8s *k, const json_t *res,
				const char *name, int *rc)
{
	json_t *v = get_object(k, res, name, rc);

	if (!v)
		return NULL;
	json_decref(v);
	return get_object(k, res, name, rc);
}

/* kubectl's deployment status: 1 done (message in msg), 0 not yet, -1
 * failed (message in msg). */
static int deployment_status(const json_t *d, char *msg, size_t len)
{
	const json_t *md = json_object_get(d, "metadata");
	const json_t *spec = json_object_get(d, "spec");
	const json_t *st = json_object_get(d, "status"), *c;
	const char *name = str(md, "name");
	json_int_t want = json_object_get(spec, "replicas") ? num(spec, "replicas") : 1;
	size_t i;

	if (num(md, "generation") > num(st, "observedGeneration")) {
		snprintf(msg, len, "Waiting for deployment spec update to be "
			 "observed...\n");
		return 0;
	}
	json_array_foreach(json_object_get(st, "conditions"), i, c)
		if (strcmp(str(c, "type"), "Progressing") == 0 &&
		    strcmp(str(c, "reason"), "ProgressDeadlineExceeded") == 0) {
			snprintf(msg, len, "deployment \"%s\" exceeded its progress "
				 "deadline", name);
			return -1;
		}
	if (num(st, "updatedReplicas") < want) {
		snprintf(msg, len, "Waiting for deployment \"%s\" rollout to finish: "
			 "%lld out of %lld new replicas have been updated...\n",
			 name, (long long)num(st, "updatedReplicas"), (long long)want);
		return 0;
	}
	if (num(st, "replicas") > num(st, "updatedReplicas")) {
		snprintf(msg, len, "Waiting for deployment \"%s\" rollout to finish: "
			 "%lld old replicas are pending termination...\n", name,
			 (long long)(num(st, "replicas") - num(st, "updatedReplicas")));
		return 0;
	}
	if (num(st, "availableReplicas") < num(st, "updatedReplicas")) {
		snprintf(msg, len, "Waiting for deployment \"%s\" rollout to finish: "
			 "%lld of %lld updated replicas are available...\n", name,
			 (long long)num(st, "availableReplicas"),
			 (long long)num(st, "updatedReplicas"));
		return 0;
	}
	snprintf(msg, len, "deployment \"%s\" successfully rolled out\n", name);
	return 1;
}

struct status_watch {
	char last[512];
	int done;
	buf line;
};

/* One event of the watch: prints the rollout's status when it changed;
 * 1 once the rollout ended (w->done says how). */
static int status_event(json_t *ev, void *ud)
{
	struct status_watch *w = ud;
	char msg[512];
	int s;

	if (strcmp(str(ev, "type"), "BOOKMARK") == 0 || strcmp(str(ev, "type"), "ERROR") == 0)
		return 0;
	s = deployment_status(json_object_get(ev, "object"), msg, sizeof(msg));
	if (strcmp(msg, w->last) != 0 && s >= 0)
		fputs(msg, stdout);
	fflush(stdout);
	snprintf(w->last, sizeof(w->last), "%s", msg);
	if (s != 0) {
		w->done = s;
		return 1;
	}
	return 0;
}

static int on_event(void *ud, const char *p, size_t n)
{
	struct status_watch *w = ud;

	return k8s_watch_feed(&w->line, p, n, status_event, w) != 0;
}

static int status(struct k8s *k, const json_t *res, const char *name)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	json_t *list, *d;
	char msg[512], err[1024], rv[64];
	struct status_watch w;
	int rc = 0, s;

	d = get_object(k, res, name, &rc);
	if (!d)
		return rc;
	json_decref(d);
	/* Then as kubectl: a list of the one object and a watch from it. */
	list = k8s_list_named(k, res, name, &path, &r, &rc);
	if (!list) {
		if (!rc)
			rc = k8s_fail_status(&r);
		goto out;
	}
	kresp_release(&r);
	d = json_array_get(json_object_get(list, "items"), 0);
	if (!d) {
		rc = k8s_fail("deployments.apps \"%s\" not found", name);
		goto out;
	}
	if (!json_object_get(d, "kind"))
		json_object_set_new(d, "kind", json_string("Deployment"));
	s = deployment_status(d, msg, sizeof(msg));
	if (s < 0) {
		rc = k8s_fail("%s", msg);
		goto out;
	}
	fputs(msg, stdout);
	if (s > 0 || (ro.watch && strcmp(ro.watch, "false") == 0))
		goto out;
	snprintf(rv, sizeof(rv), "%s", str(json_object_get(list, "metadata"),
					   "resourceVersion"));
	k8s_named_path(&path, k, res, name, rv);
	buf_printf(&path, "&watch=true");
	memset(&w, 0, sizeof(w));
	buf_init(&w.line, 64u << 20);
	snprintf(w.last, sizeof(w.last), "%s", msg);
	fflush(stdout);
	memset(&r, 0, sizeof(r));
	for (;;) {
		if (kclient_stream(&k->client, buf_cstr(&path), KACCEPT_JSON,
				   on_event, &w, &r, err, sizeof(err)) != KC_OK) {
			rc = k8s_fail("%s", err);
			break;
		}
		if (r.status != 200) {
			rc = k8s_fail_status(&r);
			break;
		}
		if (w.done < 0) {
			rc = k8s_fail("%s", w.last);
			break;
		}
		if (w.done > 0)
			break;
		/* The server closed the watch before the end: again. */
		kresp_release(&r);
	}
	buf_release(&w.line);
out:
	kresp_release(&r);
	json_decref(list);
	buf_release(&path);
	return rc;
}

static int restart(struct k8s *k, const json_t *res, const char *name)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	char body[256], ts[32], err[1024], what[512];
	time_t now = time(NULL);
	struct tm tm;
	json_t *d;
	int rc = 0;

	d = get_object(k, res, name, &rc);
	if (!d)
		return rc;
	json_decref(d);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(body, sizeof(body), "{\"spec\":{\"template\":{\"metadata\":"
		 "{\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":"
		 "\"%s\"}}}}}", ts);
	k8s_object_path(&path, res, k8s_namespace(k), name, NULL);
	buf_printf(&path, "?fieldManager=kubectl-rollout");
	memset(&r, 0, sizeof(r));
	if (kclient_request(&k->client, "PATCH", buf_cstr(&path), ACCEPT_ANY,
			    "application/strategic-merge-patch+json", body,
			    strlen(body), &r, err, sizeof(err)) != KC_OK)
		rc = k8s_fail("%s", err);
	else if (r.status != 200)
		rc = k8s_fail_status(&r);
	else {
		k8s_kind_name(res, name, what, sizeof(what));
		printf("%s restarted\n", what);
	}
	kresp_release(&r);
	buf_release(&path);
	return rc;
}

/* The ReplicaSets a deployment owns, sorted by revision. */
static json_t *owned_replicasets(struct k8s *k, const json_t *d, int *rc)
{
	const json_t *ml = json_object_get(json_object_get(json_object_get(d,
		"spec"), "selector"), "matchLabels");
	buf path = BUF_INIT(8192), sel = BUF_INIT(4096);
	struct kresp r;
	json_t *list, *out = json_array(), *rs;
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)ml, key, v)
		buf_printf(&sel, "%s%s=%s", sel.len ? "," : "", key,
			   json_string_value(v));
	buf_printf(&path, "/apis/apps/v1/namespaces/");
	kquery_escape(&path, k8s_namespace(k));
	buf_printf(&path, "/replicasets?labelSelector=");
	kquery_escape(&path, buf_cstr(&sel));
	list = k8s_get_json(k, buf_cstr(&path), &r, rc);
	if (!list && !*rc)
		*rc = k8s_fail_status(&r);
	kresp_release(&r);
	json_array_foreach(json_object_get(list, "items"), i, rs) {
		const json_t *own;
		size_t j;

		json_array_foreach(json_object_get(json_object_get(rs, "metadata"),
						   "ownerReferences"), j, own)
			if (strcmp(str(own, "uid"), str(json_object_get(d, "metadata"),
							"uid")) == 0)
				json_array_append(out, rs);
	}
	/* Insertion sort by revision: a deployment keeps ten or so. */
	for (size_t a = 1; a < json_array_size(out); a++)
		for (size_t b = a; b > 0; b--) {
			json_t *x = json_array_get(out, b - 1), *y = json_array_get(out, b);
			long rx = atol(str(json_object_get(json_object_get(x, "metadata"),
				"annotations"), "deployment.kubernetes.io/revision"));
			long ry = atol(str(json_object_get(json_object_get(y, "metadata"),
				"annotations"), "deployment.kubernetes.io/revision"));

			if (rx <= ry)
				break;
			json_incref(x);
			json_array_set(out, b - 1, y);
			json_array_set_new(out, b, x);
		}
	json_decref(list);
	buf_release(&path);
	buf_release(&sel);
	return out;
}

static long revision_of(const json_t *rs)
{
	return atol(str(json_object_get(json_object_get(rs, "metadata"),
					"annotations"),
			"deployment.kubernetes.io/revision"));
}

static int history(struct k8s *k, const json_t *res, const char *name)
{
	struct ktab t;
	buf out = BUF_INIT(1 << 20);
	json_t *d, *rss, *rs;
	char what[512];
	size_t i;
	int rc = 0;

	d = get_object_again(k, res, name, &rc);
	if (!d)
		return rc;
	rss = owned_replicasets(k, d, &rc);
	k8s_kind_name(res, name, what, sizeof(what));
	if (ro.revision > 0) {
		const json_t *found = NULL;

		json_array_foreach(rss, i, rs)
			if (revision_of(rs) == ro.revision)
				found = rs;
		if (!found)
			rc = k8s_fail("unable to find the specified revision");
		else {
			printf("%s with revision #%d\n", what, ro.revision);
			k8s_pod_template_text(json_object_get(json_object_get(found,
							"spec"), "template"), &out);
			buf_append_byte(&out, '\n');
			k8s_write(&out);
		}
	} else if (!rc) {
		printf("%s \n", what);
		ktab_init_describe(&t);
		ktab_printf(&t, "REVISION\tCHANGE-CAUSE\n");
		json_array_foreach(rss, i, rs) {
			const char *cause = str(json_object_get(json_object_get(rs,
				"metadata"), "annotations"), "kubernetes.io/change-cause");

			ktab_printf(&t, "%ld\t%s\n", revision_of(rs), *cause ? cause :
				    "<none>");
		}
		ktab_printf(&t, "\n");
		ktab_write(&t, stdout);
		ktab_release(&t);
	}
	buf_release(&out);
	json_decref(rss);
	json_decref(d);
	return rc;
}

static int undo(struct k8s *k, const json_t *res, const char *name)
{
	json_t *d, *rss, *rs, *tmpl = NULL, *ann, *patch;
	const json_t *target = NULL;
	long cur, want = ro.to_revision;
	buf path = BUF_INIT(8192), body = BUF_INIT(1 << 20);
	struct kresp r;
	char err[1024], what[512];
	size_t i;
	int rc = 0;

	d = get_object_again(k, res, name, &rc);
	if (!d)
		return rc;
	rss = owned_replicasets(k, d, &rc);
	cur = atol(str(json_object_get(json_object_get(d, "metadata"),
				       "annotations"),
		       "deployment.kubernetes.io/revision"));
	json_array_foreach(rss, i, rs) {
		long rev = revision_of(rs);

		if (want > 0 ? rev == want : (rev != cur && (!target ||
							    rev > revision_of(target))))
			target = rs;
	}
	k8s_kind_name(res, name, what, sizeof(what));
	if (!rc && !target) {
		rc = want > 0 ? k8s_fail("unable to find specified revision %ld "
					 "in history", want) :
				k8s_fail("no rollout history found for %s", what);
		goto out;
	}
	if (rc)
		goto out;
	tmpl = json_deep_copy(json_object_get(json_object_get(target, "spec"),
					      "template"));
	json_object_del(json_object_get(json_object_get(tmpl, "metadata"),
					"labels"), "pod-template-hash");
	if (!json_object_get(json_object_get(tmpl, "metadata"), "creationTimestamp"))
		json_object_set_new(json_object_get(tmpl, "metadata"),
				    "creationTimestamp", json_null());
	if (json_equal(tmpl, json_object_get(json_object_get(d, "spec"),
					     "template"))) {
		printf("%s skipped rollback (current template already matches "
		       "revision %ld)\n", what, revision_of(target));
		goto out;
	}
	ann = json_deep_copy(json_object_get(json_object_get(d, "metadata"),
					     "annotations"));
	if (!ann)
		ann = json_object();
	patch = json_pack("[{sssssO}{sssssO}]", "op", "replace", "path",
			  "/spec/template", "value", tmpl, "op", "replace", "path",
			  "/metadata/annotations", "value", ann);
	json_decref(ann);
	kjson_emit_compact(&body, patch);
	json_decref(patch);
	k8s_object_path(&path, res, k8s_namespace(k), name, NULL);
	memset(&r, 0, sizeof(r));
	if (kclient_request(&k->client, "PATCH", buf_cstr(&path), KACCEPT_JSON,
			    "application/json-patch+json", body.data, body.len,
			    &r, err, sizeof(err)) != KC_OK)
		rc = k8s_fail("%s", err);
	else if (r.status != 200)
		rc = k8s_fail_status(&r);
	else
		printf("%s rolled back\n", what);
	kresp_release(&r);
out:
	json_decref(tmpl);
	json_decref(rss);
	json_decref(d);
	buf_release(&path);
	buf_release(&body);
	return rc;
}

int k8s_rollout(struct cli *cli)
{
	const char *what = cli->args[0];
	struct k8s k;
	struct k8s_target t[2];
	int n, rc;

	if (strcmp(what, "status") != 0 && strcmp(what, "restart") != 0 &&
	    strcmp(what, "history") != 0 && strcmp(what, "undo") != 0)
		return cli_usage_error(cli, "unknown rollout subcommand '%s' (use "
				       "status, restart, history or undo)", what);
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = 0;
	n = k8s_targets(&k, cli->args + 1, cli->nargs - 1, t, 2, 1);
	if (n < 0) {
		rc = K8S_EXIT_ERROR;
	} else if (n != 1) {
		rc = k8s_fail("rollout %s takes one object", what);
	} else if (strcmp(json_string_value(json_object_get(t[0].res, "name")),
			  "deployments") != 0) {
		char kg[256];

		kres_kind_group(t[0].res, kg, sizeof(kg));
		rc = k8s_fail("rollout %s of %s is not supported (deployments are)",
			      what, kg);
	} else if (strcmp(what, "status") == 0) {
		rc = status(&k, t[0].res, t[0].name);
	} else if (strcmp(what, "restart") == 0) {
		rc = restart(&k, t[0].res, t[0].name);
	} else if (strcmp(what, "history") == 0) {
		rc = history(&k, t[0].res, t[0].name);
	} else {
		rc = undo(&k, t[0].res, t[0].name);
	}
	k8s_close(&k);
	return rc;
}
