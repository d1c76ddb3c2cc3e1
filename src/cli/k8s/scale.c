/*
 * vcli k8s scale: set the replicas of deployments, replica sets and
 * stateful sets through their scale subresource, as kubectl scale does.
 */
#include <stdio.h>
#include <string.h>

#include "cli/k8s/k8s.h"
#include "k8s/kyaml.h"

static struct {
	int replicas;
	int current;
} s = { -1, -1 };

static const struct opt scale_options[] = {
	K8S_CONN_OPTIONS,
	{ "replicas", 0, OPT_INT, &s.replicas, "the new number of replicas",
	  NULL, "N" },
	{ "current-replicas", 0, OPT_INT, &s.current,
	  "only when the object has this many now (a precondition)", NULL, "N" },
	OPT_END,
};

const struct cmd_spec k8s_scale_spec = {
	.usage = "vcli k8s scale TYPE NAME | TYPE/NAME... --replicas=N [options]",
	.description =
		"Sets the number of replicas: a merge patch of the object's\n"
		"scale subresource, as kubectl sends it.\n",
	.options = scale_options,
	.min_args = 1,
	.max_args = 64,
	.examples = "  vcli k8s scale deploy web --replicas=5\n"
		    "  vcli k8s scale deploy/web sts/db --replicas=0\n",
};

/* Sends the change to the scale subresource at path; "KIND/NAME scaled"
 * when the server took it.  0 or the exit status. */
static int send_scale(struct k8s *k, const struct k8s_target *t, const char *method,
		      const char *path, const char *accept, const char *ctype,
		      const void *body, size_t len)
{
	struct kresp r;
	char err[1024], what[512];
	int rc = 0;

	memset(&r, 0, sizeof(r));
	if (kclient_request(&k->client, method, path, accept, ctype, body, len, &r, err,
			    sizeof(err)) != KC_OK) {
		rc = k8s_fail("%s", err);
	} else if (r.status != 200) {
		rc = k8s_fail_status(&r);
	} else {
		k8s_kind_name(t->res, t->name, what, sizeof(what));
		printf("%s scaled\n", what);
	}
	kresp_release(&r);
	return rc;
}

int k8s_scale(struct cli *cli)
{
	struct k8s k;
	struct k8s_target t[64];
	int n, rc;

	if (s.replicas < 0)
		return cli_usage_error(cli, "the --replicas=N flag is required, "
				       "and N must be 0 or more");
	rc = k8s_open(&k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = 0;
	n = k8s_targets(&k, cli->args, cli->nargs, t, 64, 1);
	if (n < 0)
		rc = K8S_EXIT_ERROR;
	for (int i = 0; i < n && !rc; i++) {
		buf path = BUF_INIT(8192);
		struct kresp r;
		char body[64];
		json_t *obj;

		if (!kres_has_verb(t[i].res, "get")) {
			rc = k8s_fail("cannot scale this resource");
			break;
		}
		k8s_object_path(&path, t[i].res, k8s_namespace(&k), t[i].name, NULL);
		obj = k8s_get_json(&k, buf_cstr(&path), &r, &rc);
		if (!obj) {
			json_t *st = json_loadb((const char *)r.body.data,
						r.body.len, 0, NULL);

			/* kubectl's words when the object is not there. */
			if (!rc && r.status == 404 &&
			    k8s_namespace_missing(&k, t[i].res, k8s_namespace(&k)))
				rc = K8S_EXIT_ERROR;
			else if (!rc && r.status == 404 && json_string_value(
				    json_object_get(st, "message")))
				rc = k8s_fail("no objects passed to scale %s",
					      json_string_value(json_object_get(st,
						      "message")));
			else if (!rc)
				rc = k8s_fail_status(&r);
			json_decref(st);
			kresp_release(&r);
			buf_release(&path);
			break;
		}
		kresp_release(&r);
		json_decref(obj);
		buf_printf(&path, "/scale");
		if (s.current >= 0) {
			/* A precondition: read the Scale, check, write it back
			 * whole (its resourceVersion guards the change). */
			json_t *sc = k8s_get_json(&k, buf_cstr(&path), &r, &rc);
			json_int_t have;
			buf body2 = BUF_INIT(1 << 16);

			if (!sc) {
				if (!rc)
					rc = k8s_fail_status(&r);
				kresp_release(&r);
				buf_release(&path);
				break;
			}
			kresp_release(&r);
			have = json_integer_value(json_object_get(
				json_object_get(sc, "spec"), "replicas"));
			if (have != s.current) {
				rc = k8s_fail("Expected replicas to be %d, was %lld",
					      s.current, (long long)have);
				json_decref(sc);
				buf_release(&path);
				break;
			}
			json_object_set_new(json_object_get(sc, "spec"), "replicas",
					    json_integer(s.replicas));
			kjson_emit_compact(&body2, sc);
			json_decref(sc);
			rc = send_scale(&k, &t[i], "PUT", buf_cstr(&path), KACCEPT_JSON,
					"application/json", body2.data, body2.len);
			buf_release(&body2);
			buf_release(&path);
			continue;
		}
		snprintf(body, sizeof(body), "{\"spec\":{\"replicas\":%d}}",
			 s.replicas);
		rc = send_scale(&k, &t[i], "PATCH", buf_cstr(&path), "application/json, */*",
				"application/merge-patch+json", body, strlen(body));
		buf_release(&path);
	}
	k8s_close(&k);
	return rc;
}
