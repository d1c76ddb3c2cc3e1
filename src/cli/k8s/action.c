/*
 * Cluster actions of governance decisions (vcli gov approve --execute):
 * k8s.scale, k8s.delete, k8s.rollout_restart and k8s.apply with their
 * parameters, checked against the cluster before the approval (the
 * object exists, the credentials may do it) and carried out after it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"
#include "k8s/kyaml.h"

struct k8s_action {
	struct k8s k;
	int kind;                 /* enum below */
	const json_t *res;
	char ns[254], name[254];
	char verb[32], sub[32];   /* what the access review asks */
	long replicas;
	char policy[16];
	long grace;
	json_t *manifest;         /* k8s.apply: the object */
	char field_manager[128];
	char what[512];           /* "deployment.apps/web" */
};

enum { A_SCALE, A_DELETE, A_RESTART, A_APPLY };

static const char *param(const char *const *keys, const char *const *vals,
			 size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return vals[i];
	return NULL;
}

/* A malformed action: said on stderr, exit 10 (the approval is refused). */
#define bad(...) (cli_error(__VA_ARGS__), CLI_EXIT_REJECTED)

/* Whether the credentials may do what the action does (a
 * SelfSubjectAccessReview).  CLI_PROCEED or the exit code, printed. */
static int preflight(struct k8s_action *a)
{
	json_t *ssar, *attrs, *ans;
	buf body = BUF_INIT(1 << 16);
	struct kresp r;
	char err[1024];
	int rc = CLI_PROCEED;

	attrs = json_pack("{ssssssss}", "namespace", a->ns, "verb", a->verb,
			  "group", json_string_value(json_object_get(a->res, "group")),
			  "resource", json_string_value(json_object_get(a->res, "name")));
	if (a->name[0])
		json_object_set_new(attrs, "name", json_string(a->name));
	if (a->sub[0])
		json_object_set_new(attrs, "subresource", json_string(a->sub));
	ssar = json_pack("{sssss{so}}", "kind", "SelfSubjectAccessReview",
			 "apiVersion", "authorization.k8s.io/v1", "spec",
			 "resourceAttributes", attrs);
	kjson_emit_compact(&body, ssar);
	json_decref(ssar);
	memset(&r, 0, sizeof(r));
	if (kclient_request(&a->k.client, "POST",
			    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
			    KACCEPT_JSON, "application/json", body.data, body.len,
			    &r, err, sizeof(err)) != KC_OK) {
		cli_error("cannot check the action against the cluster: %s", err);
		rc = CLI_EXIT_UNREACHABLE;
	} else if (r.status != 201 && r.status != 200) {
		char msg[1024];

		kstatus_message(r.status, (const char *)r.body.data, r.body.len,
				msg, sizeof(msg));
		cli_error("cannot check the action against the cluster: %s", msg);
		rc = r.status == 401 || r.status == 403 ? CLI_EXIT_DENIED :
							    CLI_EXIT_RPC;
	} else {
		ans = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
		if (!json_is_true(json_object_get(json_object_get(ans, "status"),
						  "allowed"))) {
			const char *why = json_string_value(json_object_get(
				json_object_get(ans, "status"), "reason"));

			cli_error("the cluster's credentials (context '%s') may not "
				  "%s %s%s%s%s%s: nothing was approved or changed",
				  a->k.client.conn.context, a->verb,
				  json_string_value(json_object_get(a->res, "name")),
				  a->sub[0] ? "/" : "", a->sub, why && *why ? ": " : "",
				  why ? why : "");
			rc = CLI_EXIT_DENIED;
		}
		json_decref(ans);
	}
	kresp_release(&r);
	buf_release(&body);
	return rc;
}

/* The object must be there (all but apply, which may create it). */
static int exists(struct k8s_action *a)
{
	buf path = BUF_INIT(8192);
	struct kresp r;
	json_t *v;
	long status;
	int rc = 0;

	k8s_object_path(&path, a->res, a->ns, a->name, NULL);
	v = k8s_get_json(&a->k, buf_cstr(&path), &r, &rc);
	buf_release(&path);
	if (v) {
		json_decref(v);
		kresp_release(&r);
		return CLI_PROCEED;
	}
	if (!rc) {
		char msg[1024];

		kstatus_message(r.status, (const char *)r.body.data, r.body.len,
				msg, sizeof(msg));
		cli_error("the action's object %s in namespace '%s': %s: nothing "
			  "was approved or changed", a->what, a->ns, msg);
	}
	status = r.status;
	kresp_release(&r);
	return status == 404 ? CLI_EXIT_NOT_FOUND : status == 403 ?
	       CLI_EXIT_DENIED : CLI_EXIT_UNREACHABLE;
}

int k8s_action_prepare(struct k8s_action **out, const char *type,
		       const char *const *keys, const char *const *vals,
		       size_t n)
{
	struct k8s_action *a = calloc(1, sizeof(*a));
	const char *res = param(keys, vals, n, "resource");
	const char *name = param(keys, vals, n, "name");
	const char *ns = param(keys, vals, n, "namespace");
	char *end;
	int rc;

	*out = NULL;
	if (!a)
		return CLI_EXIT_INTERNAL;
	if (strcmp(type, "k8s.scale") == 0)
		a->kind = A_SCALE;
	else if (strcmp(type, "k8s.delete") == 0)
		a->kind = A_DELETE;
	else if (strcmp(type, "k8s.rollout_restart") == 0)
		a->kind = A_RESTART;
	else if (strcmp(type, "k8s.apply") == 0)
		a->kind = A_APPLY;
	else {
		free(a);
		return bad("unknown cluster action '%s' (use k8s.scale, "
			   "k8s.delete, k8s.rollout_restart or k8s.apply)", type);
	}
	if (a->kind == A_APPLY) {
		const char *text = param(keys, vals, n, "manifest");
		char err[512];
		json_t *docs;

		if (!text) {
			free(a);
			return bad("action '%s' needs the parameter '%s'", type,
				   "manifest");
		}
		docs = kyaml_load_all(text, strlen(text), err, sizeof(err));
		if (!docs || json_array_size(docs) != 1 ||
		    !json_is_object(json_array_get(docs, 0))) {
			json_decref(docs);
			free(a);
			return bad("the manifest of '%s' must be one object: %s", type,
				   docs ? "" : err);
		}
		a->manifest = json_incref(json_array_get(docs, 0));
		json_decref(docs);
		name = json_string_value(json_object_get(json_object_get(a->manifest,
			"metadata"), "name"));
		if (!ns)
			ns = json_string_value(json_object_get(json_object_get(
				a->manifest, "metadata"), "namespace"));
		snprintf(a->field_manager, sizeof(a->field_manager), "%s",
			 param(keys, vals, n, "field_manager") ?
			 param(keys, vals, n, "field_manager") : "vcli-gov");
	}
	if (!name || !*name) {
		json_decref(a->manifest);
		free(a);
		return bad("action '%s' needs the parameter '%s'", type, "name");
	}
	snprintf(a->name, sizeof(a->name), "%s", name);
	if (a->kind == A_SCALE) {
		const char *rep = param(keys, vals, n, "replicas");

		a->replicas = rep ? strtol(rep, &end, 10) : -1;
		if (!rep || !*rep || *end || a->replicas < 0 ||
		    a->replicas > 1000000) {
			free(a);
			return bad("action '%s' needs 'replicas', a number from 0 "
				   "(got '%s')", type, rep ? rep : "");
		}
		snprintf(a->verb, sizeof(a->verb), "patch");
		snprintf(a->sub, sizeof(a->sub), "scale");
	} else if (a->kind == A_DELETE) {
		const char *p = param(keys, vals, n, "propagation");
		const char *gp = param(keys, vals, n, "grace_period");

		snprintf(a->policy, sizeof(a->policy), "%s",
			 !p || strcmp(p, "background") == 0 ? "Background" :
			 strcmp(p, "foreground") == 0 ? "Foreground" :
			 strcmp(p, "orphan") == 0 ? "Orphan" : "");
		if (!a->policy[0]) {
			free(a);
			return bad("invalid propagation '%s' of '%s' (use background, "
				   "foreground or orphan)", p, type);
		}
		a->grace = gp ? strtol(gp, &end, 10) : -1;
		if (gp && (!*gp || *end || a->grace < 0)) {
			free(a);
			return bad("invalid grace_period '%s' of '%s'", gp, type);
		}
		snprintf(a->verb, sizeof(a->verb), "delete");
	} else {
		snprintf(a->verb, sizeof(a->verb), "patch");
	}
	rc = k8s_open(&a->k);
	if (rc != CLI_PROCEED) {
		json_decref(a->manifest);
		free(a);
		return rc == K8S_EXIT_ERROR ? CLI_EXIT_UNREACHABLE : rc;
	}
	if (a->kind == A_APPLY) {
		char kn[512];
		const char *apiv = json_string_value(json_object_get(a->manifest,
								     "apiVersion"));
		const char *kind = json_string_value(json_object_get(a->manifest,
								     "kind"));
		const char *slash = apiv ? strchr(apiv, '/') : NULL;

		if (!apiv || !kind) {
			k8s_action_free(a);
			return bad("the manifest of '%s' needs apiVersion and kind",
				   type);
		}
		if (slash)
			snprintf(kn, sizeof(kn), "%s.%s.%.*s", kind, slash + 1,
				 (int)(slash - apiv), apiv);
		else
			snprintf(kn, sizeof(kn), "%s", kind);
		a->res = k8s_resource(&a->k, kn);
	} else {
		a->res = k8s_resource(&a->k, res ? res : "deployment");
	}
	if (!a->res) {
		k8s_action_free(a);
		return CLI_EXIT_REJECTED;
	}
	snprintf(a->ns, sizeof(a->ns), "%s",
		 json_is_true(json_object_get(a->res, "namespaced")) ?
		 (ns && *ns ? ns : k8s_namespace(&a->k)) : "");
	k8s_kind_name(a->res, a->name, a->what, sizeof(a->what));
	rc = a->kind == A_APPLY ? CLI_PROCEED : exists(a);
	if (rc == CLI_PROCEED)
		rc = preflight(a);
	if (rc != CLI_PROCEED) {
		k8s_action_free(a);
		return rc;
	}
	*out = a;
	return CLI_PROCEED;
}

const char *k8s_action_describe(const struct k8s_action *a)
{
	return a->what;
}

void k8s_action_target(const struct k8s_action *a, char *out, size_t outlen)
{
	const struct kconn *c = &a->k.client.conn;

	snprintf(out, outlen, "context %s, cluster %s", c->context ? c->context : "",
		 c->server ? c->server : "");
}

int k8s_action_run(struct k8s_action *a, char *outcome, size_t outlen)
{
	buf path = BUF_INIT(8192), body = BUF_INIT(16u << 20);
	const char *method = "PATCH", *ctype = NULL;
	struct kresp r;
	char err[1024];
	int rc = 0;

	k8s_object_path(&path, a->res, a->ns, a->name, NULL);
	switch (a->kind) {
	case A_SCALE:
		buf_printf(&path, "/scale");
		buf_printf(&body, "{\"spec\":{\"replicas\":%ld}}", a->replicas);
		ctype = "application/merge-patch+json";
		break;
	case A_DELETE:
		method = "DELETE";
		ctype = "application/json";
		buf_printf(&body, "{");
		if (a->grace >= 0)
			buf_printf(&body, "\"gracePeriodSeconds\":%ld,", a->grace);
		buf_printf(&body, "\"propagationPolicy\":\"%s\"}", a->policy);
		break;
	case A_RESTART: {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_printf(&path, "?fieldManager=kubectl-rollout");
		buf_printf(&body, "{\"spec\":{\"template\":{\"metadata\":"
			   "{\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":"
			   "\"%s\"}}}}}", ts);
		ctype = "application/strategic-merge-patch+json";
		break;
	}
	case A_APPLY:
		if (a->ns[0])
			json_object_set_new(json_object_get(a->manifest, "metadata"),
					    "namespace", json_string(a->ns));
		buf_printf(&path, "?fieldManager=");
		kquery_escape(&path, a->field_manager);
		buf_printf(&path, "&fieldValidation=Strict&force=false");
		kjson_emit_compact(&body, a->manifest);
		ctype = "application/apply-patch+yaml";
		break;
	}
	memset(&r, 0, sizeof(r));
	if (kclient_request(&a->k.client, method, buf_cstr(&path), KACCEPT_JSON,
			    ctype, body.data, body.len, &r, err,
			    sizeof(err)) != KC_OK) {
		snprintf(outcome, outlen, "failed: %s", err);
		rc = -1;
	} else if (r.status < 200 || r.status > 299) {
		char msg[1024];

		kstatus_message(r.status, (const char *)r.body.data, r.body.len,
				msg, sizeof(msg));
		snprintf(outcome, outlen, "failed: %s", msg);
		rc = -1;
	} else {
		if (a->kind == A_SCALE)
			snprintf(outcome, outlen, "%s scaled to %ld", a->what,
				 a->replicas);
		else
			snprintf(outcome, outlen, "%s %s", a->what,
				 a->kind == A_DELETE ? "deleted" :
				 a->kind == A_RESTART ? "restarted" :
				 "serverside-applied");
	}
	kresp_release(&r);
	buf_release(&path);
	buf_release(&body);
	return rc;
}

void k8s_action_free(struct k8s_action *a)
{
	if (!a)
		return;
	k8s_close(&a->k);
	json_decref(a->manifest);
	free(a);
}
