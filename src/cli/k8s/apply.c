/*
 * vcli k8s apply: server-side apply of manifests (files, directories,
 * multi-document YAML), the requests kubectl apply --server-side sends.
 */
#include <stdio.h>
#include <string.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"
#include "k8s/kyaml.h"

static struct {
	struct opt_list files;
	int recursive;
	int server_side;
	int force_conflicts;
	const char *field_manager;
	const char *validate;
	const char *dry_run;
} a;

static const struct opt apply_options[] = {
	K8S_CONN_OPTIONS,
	{ "filename", 'f', OPT_LIST, &a.files,
	  "manifests: a file, a directory, - for stdin (repeatable)", NULL,
	  "PATH" },
	{ "recursive", 'R', OPT_FLAG, &a.recursive,
	  "-f directories recursively", NULL, NULL },
	{ "server-side", 0, OPT_FLAG, &a.server_side,
	  "accepted for kubectl's sake: vcli always applies server-side", NULL,
	  NULL },
	{ "force-conflicts", 0, OPT_FLAG, &a.force_conflicts,
	  "take over fields another manager owns", NULL, NULL },
	{ "field-manager", 0, OPT_STRING, &a.field_manager,
	  "the manager named in the apply (default: kubectl)", NULL, "NAME" },
	{ "validate", 0, OPT_STRING, &a.validate,
	  "server-side field validation: strict (default), warn, ignore "
	  "(true = strict, false = ignore)", NULL, "MODE" },
	{ "dry-run", 0, OPT_STRING, &a.dry_run,
	  "server: let the server check it without persisting", NULL,
	  "none|server" },
	OPT_END,
};

const struct cmd_spec k8s_apply_spec = {
	.usage = "vcli k8s apply -f PATH... [options]",
	.description =
		"Applies manifests with server-side apply: one PATCH\n"
		"(application/apply-patch+yaml) per object, the server merging\n"
		"the fields this manager owns.  Client-side apply (kubectl's\n"
		"default, with its last-applied annotation) is not done.\n",
	.options = apply_options,
	.min_args = 0,
	.max_args = 0,
	.examples = "  vcli k8s apply -f deploy.yaml\n"
		    "  vcli k8s apply -f manifests/ -R --force-conflicts\n"
		    "  kustomize build . | vcli k8s apply -f -\n",
};

/* The resource of a manifest's object (its apiVersion and kind). */
static const json_t *resource_of(struct k8s *k, const json_t *obj)
{
	const char *apiv = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *slash = strchr(apiv, '/');
	const json_t *r;
	size_t i;

	if (k8s_discover(k) != CLI_PROCEED)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		json_array_foreach(k->disc.resources, i, r) {
			const char *g = json_string_value(json_object_get(r, "group"));
			const char *v = json_string_value(json_object_get(r, "version"));

			if (strcmp(json_string_value(json_object_get(r, "kind")), kind) != 0 ||
			    strcmp(v, slash ? slash + 1 : apiv) != 0)
				continue;
			if (slash ? (strlen(g) == (size_t)(slash - apiv) &&
				     strncmp(g, apiv, (size_t)(slash - apiv)) == 0) : !*g)
				return r;
		}
		/* A CRD made a moment ago: ask the server again, once. */
		if (pass == 0) {
			char err[512];

			if (kdisc_load(&k->disc, &k->client, k8s_flags.cache_dir, 1,
				       err, sizeof(err)) < 0)
				break;
		}
	}
	k8s_fail("resource mapping not found for name: \"%s\" namespace: \"\" "
		 "from \"\": no matches for kind \"%s\" in version \"%s\"",
		 json_string_value(json_object_get(json_object_get(obj, "metadata"),
						   "name")) ? json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")) : "", kind, apiv);
	return NULL;
}

int k8s_apply(struct cli *cli)
{
	struct k8s k;
	json_t *objs, *o;
	const char *validation = "Strict";
	size_t i;
	int rc;

	if (!a.files.n)
		return cli_usage_error(cli, "must specify one of -f and -k");
	if (a.validate) {
		if (strcmp(a.validate, "strict") == 0 || strcmp(a.validate, "true") == 0)
			validation = "Strict";
		else if (strcmp(a.validate, "warn") == 0)
			validation = "Warn";
		else if (strcmp(a.validate, "ignore") == 0 ||
			 strcmp(a.validate, "false") == 0)
			validation = "Ignore";
		else
			return cli_usage_error(cli, "invalid value '%s' for "
					       "'--validate' (use strict, warn or "
					       "ignore)", a.validate);
	}
	if (a.dry_run && strcmp(a.dry_run, "server") != 0 &&
	    strcmp(a.dry_run, "none") != 0)
		return cli_usage_error(cli, "invalid value '%s' for '--dry-run' "
				       "(use none or server)", a.dry_run);
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = 0;
	objs = k8s_read_manifests(&a.files, a.recursive);
	if (!objs)
		rc = K8S_EXIT_ERROR;
	json_array_foreach(objs, i, o) {
		json_t *obj = json_object_get(o, "object");
		json_t *md = json_object_get(obj, "metadata");
		const char *name = json_string_value(json_object_get(md, "name"));
		const char *ons = json_string_value(json_object_get(md, "namespace"));
		const json_t *res;
		buf path = BUF_INIT(8192), body = BUF_INIT(64u << 20);
		struct kresp r;
		char err[1024], what[512];

		if (rc)
			break;
		res = resource_of(&k, obj);
		if (!res) {
			rc = K8S_EXIT_ERROR;
			break;
		}
		if (!name || !*name) {
			rc = k8s_fail("error when applying \"%s\": the object has "
				      "no metadata.name",
				      json_string_value(json_object_get(o, "source")));
			break;
		}
		if (json_is_true(json_object_get(res, "namespaced"))) {
			if (ons && *ons && k8s_flags.kf.namespace &&
			    strcmp(ons, k8s_flags.kf.namespace) != 0) {
				rc = k8s_fail("the namespace from the provided object "
					      "\"%s\" does not match the namespace "
					      "\"%s\". You must pass '--namespace=%s' "
					      "to perform this operation.", ons,
					      k8s_flags.kf.namespace, ons);
				break;
			}
			if (!ons || !*ons) {
				if (!json_is_object(md)) {
					md = json_object();
					json_object_set_new(obj, "metadata", md);
				}
				json_object_set_new(md, "namespace",
						    json_string(k8s_namespace(&k)));
				ons = json_string_value(json_object_get(md, "namespace"));
			}
		}
		k8s_object_path(&path, res, ons, name, NULL);
		buf_printf(&path, "?fieldManager=");
		kquery_escape(&path, a.field_manager ? a.field_manager : "kubectl");
		buf_printf(&path, "&fieldValidation=%s&force=%s", validation,
			   a.force_conflicts ? "true" : "false");
		if (a.dry_run && strcmp(a.dry_run, "server") == 0)
			buf_printf(&path, "&dryRun=All");
		/* JSON is YAML: the body is the object, keys sorted. */
		kjson_emit_compact(&body, obj);
		memset(&r, 0, sizeof(r));
		if (kclient_request(&k.client, "PATCH", buf_cstr(&path),
				    KACCEPT_JSON, "application/apply-patch+yaml",
				    body.data, body.len, &r, err,
				    sizeof(err)) != KC_OK) {
			rc = k8s_fail("%s", err);
		} else if (r.status != 200 && r.status != 201) {
			rc = k8s_fail_status(&r);
		} else {
			k8s_kind_name(res, name, what, sizeof(what));
			printf("%s serverside-applied%s\n", what,
			       a.dry_run && strcmp(a.dry_run, "server") == 0 ?
			       " (server dry run)" : "");
		}
		kresp_release(&r);
		buf_release(&path);
		buf_release(&body);
	}
	json_decref(objs);
	k8s_close(&k);
	return rc;
}
