/*
 * vcli k8s delete: objects by name, by label selector or from manifests,
 * with kubectl's DeleteOptions (propagation, grace period), then waiting
 * until they are gone.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"

static struct {
	const char *selector;
	struct opt_list files;
	int recursive;
	int all;
	int grace;
	int now;
	const char *cascade;
	const char *wait;
	int ignore_not_found;
	const char *timeout;
} dl = { .grace = -1 };

static const struct opt delete_options[] = {
	K8S_CONN_OPTIONS,
	{ "selector", 'l', OPT_STRING, &dl.selector,
	  "delete every object of the type matching this selector", NULL, "SEL" },
	{ "filename", 'f', OPT_LIST, &dl.files,
	  "delete the objects of these manifests (file, directory, -)", NULL,
	  "PATH" },
	{ "recursive", 'R', OPT_FLAG, &dl.recursive,
	  "-f directories recursively", NULL, NULL },
	{ "all", 0, OPT_FLAG, &dl.all,
	  "every object of the type in the namespace", NULL, NULL },
	{ "grace-period", 0, OPT_INT, &dl.grace,
	  "seconds the objects get to stop (default: theirs)", NULL, "N" },
	{ "now", 0, OPT_FLAG, &dl.now, "--grace-period=1", NULL, NULL },
	{ "cascade", 0, OPT_STRING, &dl.cascade,
	  "dependents: background (default), foreground or orphan", NULL,
	  "MODE" },
	{ "wait", 0, OPT_STRING, &dl.wait,
	  "wait until the objects are gone (default true)", NULL, "true|false" },
	{ "timeout", 0, OPT_STRING, &dl.timeout,
	  "how long to wait (default: no limit)", NULL, "DUR" },
	{ "ignore-not-found", 0, OPT_FLAG, &dl.ignore_not_found,
	  "a missing object is not an error", NULL, NULL },
	OPT_END,
};

const struct cmd_spec k8s_delete_spec = {
	.usage = "vcli k8s delete TYPE NAME... | TYPE/NAME... | TYPE -l SEL | -f PATH [options]",
	.description =
		"Deletes objects and, unless --wait=false, waits until they are\n"
		"gone.  --cascade chooses what happens to their dependents.\n",
	.options = delete_options,
	.min_args = 0,
	.max_args = 64,
	.examples = "  vcli k8s delete pod web-1 --grace-period=0\n"
		    "  vcli k8s delete deploy -l app=old --cascade=foreground\n"
		    "  vcli k8s delete -f manifests/\n",
};

struct target {
	const json_t *res;
	char ns[254];
	char name[254];
	const char *source; /* manifest path, or NULL */
	int wait;           /* deleted (or not there): wait until gone */
};

static int wait_gone(struct k8s *k, const struct target *t,
		     uint32_t timeout_ms);

/* Sends the DELETE; marks t->wait when there is something to wait for. */
static int delete_one(struct k8s *k, struct target *t, const char *policy,
		      int wait, uint32_t timeout_ms)
{
	buf path = BUF_INIT(8192), body = BUF_INIT(256);
	struct kresp r;
	char err[1024], kg[256];
	int rc = 0;

	memset(&r, 0, sizeof(r));
	k8s_object_path(&path, t->res, t->ns, t->name, NULL);
	buf_printf(&body, "{");
	if (dl.grace >= 0)
		buf_printf(&body, "\"gracePeriodSeconds\":%d,", dl.grace);
	buf_printf(&body, "\"propagationPolicy\":\"%s\"}", policy);
	if (kclient_request(&k->client, "DELETE", buf_cstr(&path),
			    KACCEPT_JSON, "application/json", body.data,
			    body.len, &r, err, sizeof(err)) != KC_OK) {
		rc = k8s_fail("%s", err);
		goto out;
	}
	if (r.status == 404 && dl.ignore_not_found) {
		t->wait = wait;
		goto out;
	}
	if (r.status != 200 && r.status != 202) {
		if (t->source) {
			char msg[2048], reason[64];
			json_t *s = json_loadb((const char *)r.body.data,
					       r.body.len, 0, NULL);

			kstatus_reason((const char *)r.body.data, r.body.len,
				       reason, sizeof(reason));
			snprintf(msg, sizeof(msg), "Error from server (%s): error "
				 "when deleting \"%s\": %s", reason, t->source,
				 json_string_value(json_object_get(s, "message")) ?
				 json_string_value(json_object_get(s, "message")) : "");
			json_decref(s);
			rc = k8s_fail("%s", msg);
		} else {
			rc = k8s_fail_status(&r);
		}
		goto out;
	}
	kres_kind_group(t->res, kg, sizeof(kg));
	printf("%s \"%s\" deleted\n", kg, t->name);
	fflush(stdout);
	t->wait = wait;
	(void)timeout_ms;
out:
	kresp_release(&r);
	buf_release(&path);
	buf_release(&body);
	return rc;
}

/* Gone when a GET says 404; finalizers may keep it a while. */
static int wait_gone(struct k8s *k, const struct target *t,
		     uint32_t timeout_ms)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	char err[1024];
	struct timespec start, now;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	k8s_object_path(&path, t->res, t->ns, t->name, NULL);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		kresp_release(&r);
		if (kclient_request(&k->client, "GET", buf_cstr(&path),
				    KACCEPT_JSON, NULL, NULL, 0, &r, err,
				    sizeof(err)) != KC_OK) {
			rc = k8s_fail("%s", err);
			break;
		}
		if (r.status == 404)
			break;
		if (r.status != 200) {
			rc = k8s_fail_status(&r);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_ms && (uint64_t)(now.tv_sec - start.tv_sec) * 1000 +
		    (uint64_t)((now.tv_nsec - start.tv_nsec) / 1000000) >=
		    timeout_ms) {
			rc = k8s_fail("timed out waiting for the condition on "
				      "%s/%s", json_string_value(json_object_get(
					      t->res, "name")), t->name);
			break;
		}
		usleep(250000);
	}
	kresp_release(&r);
	buf_release(&path);
	return rc;
}

/* The resource of a manifest's object: its group, version and kind. */
static const json_t *resource_of(struct k8s *k, const json_t *obj)
{
	const char *apiv = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *slash = strchr(apiv, '/');
	char name[512];

	if (slash)
		snprintf(name, sizeof(name), "%s.%s.%.*s", kind, slash + 1,
			 (int)(slash - apiv), apiv);
	else
		snprintf(name, sizeof(name), "%s.%s.", kind, apiv);
	if (!slash) {
		/* The core group: kind alone, in group "". */
		const json_t *r;
		size_t i;

		if (k8s_discover(k) != CLI_PROCEED)
			return NULL;
		json_array_foreach(k->disc.resources, i, r)
			if (!*json_string_value(json_object_get(r, "group")) &&
			    strcmp(json_string_value(json_object_get(r, "version")), apiv) == 0 &&
			    strcmp(json_string_value(json_object_get(r, "kind")), kind) == 0)
				return r;
		k8s_fail("resource mapping not found for kind \"%s\" in version "
			 "\"%s\"", kind, apiv);
		return NULL;
	}
	return k8s_resource(k, name);
}

/* As kubectl: every DELETE first, then the waits; one failure does not
 * stop the others.  0 or K8S_EXIT_ERROR. */
static int delete_all(struct k8s *k, struct target *t, size_t n, const char *policy,
		      int wait, uint32_t timeout_ms)
{
	size_t failed = 0;

	for (size_t j = 0; j < n; j++)
		if (delete_one(k, &t[j], policy, wait, timeout_ms))
			failed++;
	for (size_t j = 0; j < n; j++)
		if (t[j].wait && wait_gone(k, &t[j], timeout_ms))
			failed++;
	return failed ? K8S_EXIT_ERROR : 0;
}

int k8s_delete(struct cli *cli)
{
	static struct target t[1024];
	struct k8s k;
	size_t n = 0;
	const char *policy = "Background";
	uint32_t timeout_ms = 0;
	int rc, wait = 1;

	if (dl.now)
		dl.grace = 1;
	if (dl.cascade) {
		if (strcmp(dl.cascade, "background") == 0 || strcmp(dl.cascade, "true") == 0)
			policy = "Background";
		else if (strcmp(dl.cascade, "foreground") == 0)
			policy = "Foreground";
		else if (strcmp(dl.cascade, "orphan") == 0 || strcmp(dl.cascade, "false") == 0)
			policy = "Orphan";
		else
			return cli_usage_error(cli, "invalid cascade value '%s' (use "
					       "background, foreground or orphan)",
					       dl.cascade);
	}
	if (dl.wait && strcmp(dl.wait, "false") == 0)
		wait = 0;
	else if (dl.wait && strcmp(dl.wait, "true") != 0)
		return cli_usage_error(cli, "invalid value '%s' for '--wait' (use "
				       "true or false)", dl.wait);
	if (dl.timeout && opts_parse_duration(dl.timeout, &timeout_ms) < 0)
		return cli_usage_error(cli, "invalid duration '%s' for '--timeout'",
				       dl.timeout);
	if (!dl.files.n && !cli->nargs)
		return cli_usage_error(cli, "you must provide one or more "
				       "resources by argument or filename");
	if (dl.files.n && cli->nargs)
		return cli_usage_error(cli, "names cannot be given with -f");
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = 0;
	if (dl.files.n) {
		json_t *objs = k8s_read_manifests(&dl.files, dl.recursive), *o;
		size_t i;

		if (!objs)
			rc = K8S_EXIT_ERROR;
		json_array_foreach(objs, i, o) {
			const json_t *obj = json_object_get(o, "object");
			const json_t *md = json_object_get(obj, "metadata");
			const char *ons = json_string_value(json_object_get(md, "namespace"));

			if (rc || n == sizeof(t) / sizeof(t[0]))
				break;
			t[n].res = resource_of(&k, obj);
			if (!t[n].res) {
				rc = K8S_EXIT_ERROR;
				break;
			}
			snprintf(t[n].ns, sizeof(t[n].ns), "%s", ons && *ons ? ons :
				 k8s_namespace(&k));
			snprintf(t[n].name, sizeof(t[n].name), "%s",
				 json_string_value(json_object_get(md, "name")) ?
				 json_string_value(json_object_get(md, "name")) : "");
			t[n].wait = 0;
			t[n++].source = json_string_value(json_object_get(o, "source"));
		}
		/* The sources point into objs: keep it until the end. */
		if (!rc)
			rc = delete_all(&k, t, n, policy, wait, timeout_ms);
		json_decref(objs);
	} else {
		struct k8s_target kt[64];
		int m = k8s_targets(&k, cli->args, cli->nargs, kt, 64, 0);

		if (m < 0)
			rc = K8S_EXIT_ERROR;
		for (int i = 0; i < m && !rc; i++) {
			if (kt[i].name) {
				t[n].res = kt[i].res;
				snprintf(t[n].ns, sizeof(t[n].ns), "%s", k8s_namespace(&k));
				snprintf(t[n].name, sizeof(t[n].name), "%s", kt[i].name);
				t[n].wait = 0;
				t[n++].source = NULL;
				continue;
			}
			if (!dl.selector && !dl.all) {
				rc = k8s_fail("resource(s) were provided, but no name "
					      "was specified");
				break;
			}
			{
				buf path = BUF_INIT(8192);
				struct kresp r;
				json_t *list, *it;
				size_t j;

				k8s_object_path(&path, kt[i].res, k8s_namespace(&k),
						NULL, NULL);
				if (dl.selector) {
					buf_printf(&path, "?labelSelector=");
					kquery_escape(&path, dl.selector);
				}
				list = k8s_get_json(&k, buf_cstr(&path), &r, &rc);
				if (!list && !rc)
					rc = k8s_fail_status(&r);
				kresp_release(&r);
				buf_release(&path);
				json_array_foreach(json_object_get(list, "items"), j, it) {
					const json_t *md = json_object_get(it, "metadata");

					if (n == sizeof(t) / sizeof(t[0]))
						break;
					t[n].res = kt[i].res;
					snprintf(t[n].ns, sizeof(t[n].ns), "%s",
						 json_string_value(json_object_get(md, "namespace")) ?
						 json_string_value(json_object_get(md, "namespace")) : "");
					snprintf(t[n].name, sizeof(t[n].name), "%s",
						 json_string_value(json_object_get(md, "name")));
					t[n].wait = 0;
					t[n++].source = NULL;
				}
				if (list && !json_array_size(json_object_get(list, "items")))
					fprintf(stderr, "No resources found\n");
				json_decref(list);
			}
		}
		if (!rc)
			rc = delete_all(&k, t, n, policy, wait, timeout_ms);
	}
	k8s_close(&k);
	return rc;
}
