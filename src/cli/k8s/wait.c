/*
 * vcli k8s wait --for=condition=NAME[=VALUE] | --for=delete: until objects
 * reach a condition, as kubectl wait does (a list of the object, then a
 * watch from there).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"

static struct {
	const char *for_;
	const char *timeout;
	const char *selector;
} wt;

static const struct opt wait_options[] = {
	K8S_CONN_OPTIONS,
	{ "for", 0, OPT_STRING, &wt.for_,
	  "condition=NAME[=VALUE] (VALUE default True), or delete", NULL, "WHAT" },
	{ "timeout", 0, OPT_STRING, &wt.timeout,
	  "give up after this long (default 30s)", NULL, "DUR" },
	{ "selector", 'l', OPT_STRING, &wt.selector,
	  "every object of the type matching this selector", NULL, "SEL" },
	OPT_END,
};

const struct cmd_spec k8s_wait_spec = {
	.usage = "vcli k8s wait TYPE NAME | TYPE/NAME... --for=condition=NAME[=VALUE]|delete [options]",
	.description =
		"Waits until each object has the condition (status True unless\n"
		"another value is given), or is gone with --for=delete.  Exit 1\n"
		"when the time is up.\n",
	.options = wait_options,
	.min_args = 1,
	.max_args = 64,
	.examples = "  vcli k8s wait --for=condition=Available deploy/web --timeout=2m\n"
		    "  vcli k8s wait --for=condition=Ready pod -l app=web\n"
		    "  vcli k8s wait --for=delete pod/web-1\n",
};

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

struct waiter {
	const char *cond, *value;
	int del;
	int met;
	buf line;
	struct timespec deadline;
};

static int has_condition(const struct waiter *w, const json_t *obj)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(obj, "status"),
					   "conditions"), i, c)
		if (strcasecmp(str(c, "type"), w->cond) == 0)
			return strcasecmp(str(c, "status"), w->value) == 0;
	return 0;
}

static int expired(const struct waiter *w)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > w->deadline.tv_sec ||
	       (now.tv_sec == w->deadline.tv_sec && now.tv_nsec >= w->deadline.tv_nsec);
}

/* One event of the watch: 1 once the condition holds. */
static int wait_event(json_t *ev, void *ud)
{
	struct waiter *w = ud;

	if (w->del ? strcmp(str(ev, "type"), "DELETED") == 0 :
		     (strcmp(str(ev, "type"), "ADDED") == 0 ||
		      strcmp(str(ev, "type"), "MODIFIED") == 0) &&
		     has_condition(w, json_object_get(ev, "object")))
		w->met = 1;
	return w->met;
}

static int on_event(void *ud, const char *p, size_t n)
{
	struct waiter *w = ud;

	if (k8s_watch_feed(&w->line, p, n, wait_event, w))
		return 1;
	return expired(w);
}

/* One object: its GET first when it was named (kubectl's order), then a
 * list of it and a watch from there until the condition holds. */
static int wait_one(struct k8s *k, const json_t *res, const char *name,
		    struct waiter *w, int named)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	char err[1024], what[512], rv[64];
	json_t *obj, *list;
	int rc = 0;

	k8s_kind_name(res, name, what, sizeof(what));
	memset(&r, 0, sizeof(r));
	if (named) {
		k8s_object_path(&path, res, k8s_namespace(k), name, NULL);
		obj = k8s_get_json(k, buf_cstr(&path), &r, &rc);
		if (!obj) {
			if (!rc && r.status == 404 && w->del)
				printf("%s deleted\n", what);
			else if (!rc)
				rc = k8s_fail_status(&r);
			goto out;
		}
		json_decref(obj);
		kresp_release(&r);
	}
	list = k8s_list_named(k, res, name, &path, &r, &rc);
	if (!list) {
		if (!rc)
			rc = k8s_fail_status(&r);
		goto out;
	}
	kresp_release(&r);
	obj = json_array_get(json_object_get(list, "items"), 0);
	w->met = w->del ? !obj : obj && has_condition(w, obj);
	snprintf(rv, sizeof(rv), "%s", str(json_object_get(list, "metadata"),
					   "resourceVersion"));
	json_decref(list);
	k8s_named_path(&path, k, res, name, rv);
	{
		struct timespec now;
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long)(w->deadline.tv_sec - now.tv_sec) + 1;
		buf_printf(&path, "&timeoutSeconds=%ld", left > 0 ? left : 1);
	}
	buf_printf(&path, "&watch=true");
	while (!w->met && !expired(w)) {
		if (kclient_stream(&k->client, buf_cstr(&path), KACCEPT_JSON,
				   on_event, w, &r, err, sizeof(err)) != KC_OK) {
			rc = k8s_fail("%s", err);
			goto out;
		}
		if (r.status != 200) {
			rc = k8s_fail_status(&r);
			goto out;
		}
		kresp_release(&r);
		if (!w->met && !expired(w)) {
			struct timespec ts = { 0, 100 * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	if (w->met)
		printf("%s %s\n", what, w->del ? "deleted" : "condition met");
	else
		rc = k8s_fail("timed out waiting for the condition on %s/%s",
			      json_string_value(json_object_get(res, "name")), name);
out:
	kresp_release(&r);
	buf_release(&path);
	return rc;
}

int k8s_wait(struct cli *cli)
{
	struct waiter w;
	struct k8s k;
	struct k8s_target t[64];
	char cond[256];
	uint32_t ms = 30000;
	int n, rc;

	memset(&w, 0, sizeof(w));
	if (!wt.for_)
		return cli_usage_error(cli, "--for must be given: "
				       "condition=NAME[=VALUE] or delete");
	if (strcmp(wt.for_, "delete") == 0) {
		w.del = 1;
	} else if (strncmp(wt.for_, "condition=", 10) == 0 && wt.for_[10]) {
		char *eq;

		snprintf(cond, sizeof(cond), "%s", wt.for_ + 10);
		eq = strchr(cond, '=');
		w.value = "True";
		if (eq) {
			*eq = '\0';
			w.value = eq + 1;
		}
		w.cond = cond;
	} else {
		return cli_usage_error(cli, "unrecognized condition: \"%s\" (use "
				       "condition=NAME[=VALUE] or delete)", wt.for_);
	}
	if (wt.timeout && opts_parse_duration(wt.timeout, &ms) < 0)
		return cli_usage_error(cli, "invalid duration '%s' for '--timeout'",
				       wt.timeout);
	clock_gettime(CLOCK_MONOTONIC, &w.deadline);
	w.deadline.tv_sec += ms / 1000;
	w.deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (w.deadline.tv_nsec >= 1000000000L) {
		w.deadline.tv_sec++;
		w.deadline.tv_nsec -= 1000000000L;
	}
	buf_init(&w.line, 64u << 20);
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED) {
		buf_release(&w.line);
		return rc;
	}
	rc = 0;
	n = k8s_targets(&k, cli->args, cli->nargs, t, 64, !wt.selector);
	if (n < 0)
		rc = K8S_EXIT_ERROR;
	for (int i = 0; i < n && !rc; i++) {
		if (t[i].name) {
			w.met = 0;
			rc = wait_one(&k, t[i].res, t[i].name, &w, 1);
			continue;
		}
		{
			buf path = BUF_INIT(8192);
			struct kresp r;
			json_t *list, *it;
			size_t j;

			k8s_object_path(&path, t[i].res, k8s_namespace(&k), NULL, NULL);
			buf_printf(&path, "?labelSelector=");
			kquery_escape(&path, wt.selector);
			list = k8s_get_json(&k, buf_cstr(&path), &r, &rc);
			if (!list && !rc)
				rc = k8s_fail_status(&r);
			kresp_release(&r);
			buf_release(&path);
			if (list && !json_array_size(json_object_get(list, "items")))
				rc = k8s_fail("no matching resources found");
			json_array_foreach(json_object_get(list, "items"), j, it) {
				if (rc)
					break;
				w.met = 0;
				rc = wait_one(&k, t[i].res, str(json_object_get(it,
					"metadata"), "name"), &w, 0);
			}
			json_decref(list);
		}
	}
	buf_release(&w.line);
	k8s_close(&k);
	return rc;
}
