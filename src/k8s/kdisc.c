/*
 * API discovery with kubectl's disk cache, and resource names; see kdisc.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "common/errbuf.h"
#include "k8s/kdisc.h"
#include "k8s/kprint.h"
#include "k8s/kubeconfig.h"
#include "k8s/kyaml.h"

static json_t *get_json(struct kclient *c, const char *path, long *status,
			char *err, size_t errlen)
{
	struct kresp r;
	json_t *v;

	memset(&r, 0, sizeof(r));
	*status = 0;
	if (kclient_request(c, "GET", path, KACCEPT_JSON, NULL, NULL, 0, &r,
			    err, errlen) != KC_OK) {
		kresp_release(&r);
		return NULL;
	}
	*status = r.status;
	if (r.status != 200) {
		if (r.status == 401)
			kstatus_message(401, NULL, 0, err, errlen);
		else
			kstatus_message(r.status, (const char *)r.body.data,
					r.body.len, err, errlen);
		kresp_release(&r);
		return NULL;
	}
	v = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
	kresp_release(&r);
	if (!v)
		err_set(err, errlen, "GET %s: the answer is not JSON", path);
	return v;
}

/* Appends the resources of one group version. */
static int add_group_version(struct kdisc *d, struct kclient *c,
			     const char *group, const char *version,
			     int preferred, char *err, size_t errlen)
{
	char path[512], e2[512];
	json_t *list, *r;
	long status;
	size_t i;

	if (*group)
		snprintf(path, sizeof(path), "/apis/%s/%s", group, version);
	else
		snprintf(path, sizeof(path), "/api/%s", version);
	list = get_json(c, path, &status, e2, sizeof(e2));
	if (!list) {
		size_t used = strlen(d->warnings);

		if (status == 0)
			return err_set(err, errlen, "%s", e2);
		snprintf(d->warnings + used, sizeof(d->warnings) - used,
			 "couldn't get resource list for %s%s%s: %s\n", group,
			 *group ? "/" : "", version, e2);
		return 0;
	}
	json_array_foreach(json_object_get(list, "resources"), i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		json_t *x;

		if (!name || strchr(name, '/'))
			continue;
		x = json_deep_copy(r);
		json_object_set_new(x, "group", json_string(group));
		json_object_set_new(x, "version", json_string(version));
		json_object_set_new(x, "preferred", json_boolean(preferred));
		json_array_append_new(d->resources, x);
	}
	json_decref(list);
	return 0;
}

static int fetch(struct kdisc *d, struct kclient *c, char *err, size_t errlen)
{
	json_t *api, *apis, *g;
	long status;
	size_t i, j;
	int rc = -1;

	api = get_json(c, "/api", &status, err, errlen);
	if (!api)
		return -1;
	apis = get_json(c, "/apis", &status, err, errlen);
	if (!apis) {
		json_decref(api);
		return -1;
	}
	json_array_foreach(json_object_get(api, "versions"), i, g) {
		if (json_is_string(g) &&
		    add_group_version(d, c, "", json_string_value(g), i == 0,
				      err, errlen) < 0)
			goto out;
	}
	/* Preferred versions first, then the others, group by group. */
	json_array_foreach(json_object_get(apis, "groups"), i, g) {
		const char *name = json_string_value(json_object_get(g, "name"));
		const char *pref = json_string_value(json_object_get(
			json_object_get(g, "preferredVersion"), "version"));
		json_t *v;

		if (!name)
			continue;
		json_array_foreach(json_object_get(g, "versions"), j, v) {
			const char *ver = json_string_value(
				json_object_get(v, "version"));
			int is_pref = pref ? (ver && strcmp(ver, pref) == 0) : j == 0;

			if (ver && add_group_version(d, c, name, ver, is_pref,
						     err, errlen) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	json_decref(api);
	json_decref(apis);
	return rc;
}

/* <dir>/vcli-discovery/<host_port>.json, as kubectl names its per-server
 * directories. */
static void cache_file(struct kclient *c, const char *cache_dir, char *out,
		       size_t outlen)
{
	const char *home = getenv("HOME"), *env = getenv("KUBECACHEDIR");
	const char *s = c->conn.server, *p;
	char host[512];
	size_t n = 0;

	out[0] = '\0';
	p = strstr(s, "://");
	p = p ? p + 3 : s;
	for (; *p && n + 1 < sizeof(host); p++)
		host[n++] = (isalnum((unsigned char)*p) || *p == '.' ||
			     *p == '-') ? *p : '_';
	host[n] = '\0';
	if (cache_dir && *cache_dir)
		snprintf(out, outlen, "%s/vcli-discovery/%s.json", cache_dir,
			 host);
	else if (env && *env)
		snprintf(out, outlen, "%s/vcli-discovery/%s.json", env, host);
	else if (home && *home)
		snprintf(out, outlen, "%s/.kube/cache/vcli-discovery/%s.json",
			 home, host);
}

static int read_cache(struct kdisc *d)
{
	size_t len;
	char *text;
	json_t *v, *res;
	json_int_t t;

	if (!d->cache_file[0])
		return -1;
	text = kfile_read(d->cache_file, 64u << 20, &len);
	if (!text)
		return -1;
	v = json_loadb(text, len, 0, NULL);
	free(text);
	t = json_integer_value(json_object_get(v, "time"));
	res = json_object_get(v, "resources");
	if (!json_is_array(res) || t <= 0 || time(NULL) - t > KDISC_TTL ||
	    time(NULL) < t) {
		json_decref(v);
		return -1;
	}
	json_decref(d->resources);
	d->resources = json_incref(res);
	json_decref(v);
	d->from_cache = 1;
	return 0;
}

static void write_cache(struct kdisc *d)
{
	char dir[4200], err[256], *slash;
	json_t *v;
	buf b = BUF_INIT(64u << 20);

	if (!d->cache_file[0])
		return;
	snprintf(dir, sizeof(dir), "%s", d->cache_file);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0750);
		*p = '/';
	}
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	v = json_pack("{sIsO}", "time", (json_int_t)time(NULL), "resources",
		      d->resources);
	if (kjson_emit_compact(&b, v) == 0)
		kfile_write_atomic(d->cache_file, b.data, b.len, err,
				   sizeof(err));
	json_decref(v);
	buf_release(&b);
}

int kdisc_load(struct kdisc *d, struct kclient *c, const char *cache_dir,
	       int refresh, char *err, size_t errlen)
{
	if (!d->resources) {
		memset(d, 0, sizeof(*d));
		cache_file(c, cache_dir, d->cache_file, sizeof(d->cache_file));
	}
	if (!refresh && read_cache(d) == 0)
		return 0;
	json_decref(d->resources);
	d->resources = json_array();
	d->from_cache = 0;
	d->warnings[0] = '\0';
	if (fetch(d, c, err, errlen) < 0)
		return -1;
	write_cache(d);
	return 0;
}

void kdisc_release(struct kdisc *d)
{
	json_decref(d->resources);
	memset(d, 0, sizeof(*d));
}

static int str_ieq(const json_t *v, const char *s)
{
	const char *x = json_string_value(v);

	return x && strcasecmp(x, s) == 0;
}

/* How r matches res: 1 plural, 2 singular, 3 short name, 4 kind; 0 no. */
static int match_kind(const json_t *r, const char *res)
{
	json_t *sn;
	size_t i;

	if (str_ieq(json_object_get(r, "name"), res))
		return 1;
	if (str_ieq(json_object_get(r, "singularName"), res))
		return 2;
	json_array_foreach(json_object_get(r, "shortNames"), i, sn)
		if (str_ieq(sn, res))
			return 3;
	if (str_ieq(json_object_get(r, "kind"), res))
		return 4;
	return 0;
}

static const json_t *find_in(const struct kdisc *d, const char *res,
			     const char *group, const char *version)
{
	const json_t *best = NULL;
	int best_rank = 1000;
	size_t i;
	json_t *r;

	json_array_foreach(d->resources, i, r) {
		int m = match_kind(r, res), rank;

		if (!m)
			continue;
		if (group && !str_ieq(json_object_get(r, "group"), group))
			continue;
		if (version && !str_ieq(json_object_get(r, "version"), version))
			continue;
		rank = m * 2 + !json_is_true(json_object_get(r, "preferred"));
		if (rank < best_rank) {
			best_rank = rank;
			best = r;
		}
	}
	return best;
}

const json_t *kdisc_find(const struct kdisc *d, const char *name)
{
	char copy[512], *dot, *dot2;
	const json_t *r;

	if (!d->resources || strlen(name) >= sizeof(copy))
		return NULL;
	snprintf(copy, sizeof(copy), "%s", name);
	dot = strchr(copy, '.');
	if (!dot)
		return find_in(d, copy, NULL, NULL);
	*dot = '\0';
	/* resource.version.group, when the middle part is a version. */
	dot2 = strchr(dot + 1, '.');
	if (dot2 && dot[1] == 'v' && isdigit((unsigned char)dot[2])) {
		*dot2 = '\0';
		r = find_in(d, copy, dot2 + 1, dot + 1);
		if (r)
			return r;
		*dot2 = '.';
	}
	return find_in(d, copy, dot + 1, NULL);
}

const json_t *kdisc_resolve(struct kdisc *d, struct kclient *c,
			    const char *cache_dir, const char *name,
			    char *err, size_t errlen)
{
	const json_t *r = kdisc_find(d, name);

	if (!r && d->from_cache) {
		if (kdisc_load(d, c, cache_dir, 1, err, errlen) < 0)
			return NULL;
		r = kdisc_find(d, name);
	}
	if (!r)
		err_set(err, errlen, "the server doesn't have a resource type "
			"\"%s\"", name);
	return r;
}

void kres_kind_group(const json_t *r, char *out, size_t outlen)
{
	const char *kind = json_string_value(json_object_get(r, "kind"));
	const char *group = json_string_value(json_object_get(r, "group"));
	size_t n = 0;

	for (const char *p = kind ? kind : ""; *p && n + 1 < outlen; p++)
		out[n++] = (char)tolower((unsigned char)*p);
	out[n] = '\0';
	if (group && *group && n + 1 < outlen)
		snprintf(out + n, outlen - n, ".%s", group);
}

int kres_path(buf *b, const json_t *r, const char *ns, const char *name)
{
	const char *group = json_string_value(json_object_get(r, "group"));
	const char *version = json_string_value(json_object_get(r, "version"));
	const char *plural = json_string_value(json_object_get(r, "name"));
	int rc;

	if (group && *group)
		rc = buf_printf(b, "/apis/%s/%s", group, version);
	else
		rc = buf_printf(b, "/api/%s", version);
	if (rc == 0 && ns && json_is_true(json_object_get(r, "namespaced"))) {
		rc = buf_printf(b, "/namespaces/");
		if (rc == 0)
			rc = kquery_escape(b, ns);
	}
	if (rc == 0)
		rc = buf_printf(b, "/%s", plural);
	if (rc == 0 && name) {
		rc = buf_append_byte(b, '/');
		if (rc == 0)
			rc = kquery_escape(b, name);
	}
	return rc;
}

int kres_has_verb(const json_t *r, const char *verb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(r, "verbs"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), verb) == 0)
			return 1;
	return 0;
}
