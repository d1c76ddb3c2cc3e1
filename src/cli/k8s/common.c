/*
 * What the vcli k8s subcommands share: connecting, discovery, errors.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"
#include "k8s/kyaml.h"

struct k8s_flags k8s_flags;

int k8s_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vcli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return K8S_EXIT_ERROR;
}

int k8s_fail_status(const struct kresp *r)
{
	char msg[2048];

	kstatus_message(r->status, (const char *)r->body.data, r->body.len,
			msg, sizeof(msg));
	return k8s_fail("%s", msg);
}

int k8s_open(struct k8s *k)
{
	struct kconn conn;
	char err[1024];
	uint32_t ms = 0;

	memset(k, 0, sizeof(*k));
	if (k8s_flags.request_timeout &&
	    strcmp(k8s_flags.request_timeout, "0") != 0 &&
	    opts_parse_duration(k8s_flags.request_timeout, &ms) < 0) {
		cli_error("invalid duration '%s' for '--request-timeout' (use "
			  "0 or a number with a unit: 500ms, 2s, 1m)",
			  k8s_flags.request_timeout);
		return CLI_EXIT_USAGE;
	}
	if (kcfg_load(&k->cfg, k8s_flags.kf.kubeconfig, err, sizeof(err)) < 0)
		return k8s_fail("%s", err);
	if (kcfg_connection(&k->cfg, &k8s_flags.kf, &conn, err,
			    sizeof(err)) < 0)
		return k8s_fail("%s", err);
	/* Like kubectl, no credentials over plain HTTP. */
	if (strncmp(conn.server, "http://", 7) == 0) {
		free(conn.token);
		conn.token = NULL;
		free(conn.username);
		conn.username = NULL;
		json_decref(conn.exec);
		conn.exec = NULL;
	}
	if (kclient_init(&k->client, &conn, err, sizeof(err)) < 0) {
		kconn_release(&conn);
		kclient_release(&k->client);
		return k8s_fail("%s", err);
	}
	k->client.timeout_ms = (long)ms;
	k->client.verbose = k8s_flags.verbose >= 6;
	k->have_client = 1;
	return CLI_PROCEED;
}

void k8s_close(struct k8s *k)
{
	if (k->have_client)
		kclient_release(&k->client);
	kdisc_release(&k->disc);
	kcfg_release(&k->cfg);
}

int k8s_discover(struct k8s *k)
{
	char err[1024];

	if (k->disc.resources)
		return CLI_PROCEED;
	if (kdisc_load(&k->disc, &k->client, k8s_flags.cache_dir, 0, err,
		       sizeof(err)) < 0)
		return k8s_fail("%s", err);
	if (k->disc.warnings[0])
		fprintf(stderr, "vcli: %s", k->disc.warnings);
	return CLI_PROCEED;
}

const json_t *k8s_resource(struct k8s *k, const char *type)
{
	char err[1024];
	const json_t *r;

	if (k8s_discover(k) != CLI_PROCEED)
		return NULL;
	r = kdisc_resolve(&k->disc, &k->client, k8s_flags.cache_dir, type, err,
			  sizeof(err));
	if (!r)
		k8s_fail("%s", err);
	return r;
}

const char *k8s_namespace(const struct k8s *k)
{
	return k->client.conn.namespace;
}

int k8s_write(const buf *b)
{
	if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
		return -1;
	return 0;
}

int k8s_targets(struct k8s *k, char **args, int n, struct k8s_target *t,
		int max, int need_name)
{
	int count = 0;

	if (n < 1)
		return k8s_fail("you must specify the type of resource and a name"), -1;
	if (strchr(args[0], '/')) {
		for (int i = 0; i < n && count < max; i++) {
			const char *slash = strchr(args[i], '/');
			char type[256];

			if (!slash || !slash[1] || slash == args[i]) {
				k8s_fail("arguments in resource/name form must have "
					 "a single resource and name");
				return -1;
			}
			snprintf(type, sizeof(type), "%.*s",
				 (int)(slash - args[i]), args[i]);
			t[count].res = k8s_resource(k, type);
			if (!t[count].res)
				return -1;
			t[count++].name = slash + 1;
		}
		return count;
	}
	{
		const json_t *res = k8s_resource(k, args[0]);

		if (!res)
			return -1;
		if (n == 1) {
			if (need_name) {
				k8s_fail("resource(s) were provided, but no name was "
					 "specified");
				return -1;
			}
			t[count].res = res;
			t[count++].name = NULL;
		}
		for (int i = 1; i < n && count < max; i++) {
			if (strchr(args[i], '/')) {
				k8s_fail("there is no need to specify a resource "
					 "type as a separate argument when passing "
					 "arguments in resource/name form");
				return -1;
			}
			t[count].res = res;
			t[count++].name = args[i];
		}
	}
	return count;
}

json_t *k8s_get_json(struct k8s *k, const char *path, struct kresp *r,
		     int *rc)
{
	char err[1024];
	json_t *v;

	memset(r, 0, sizeof(*r));
	if (kclient_request(&k->client, "GET", path, KACCEPT_JSON, NULL, NULL,
			    0, r, err, sizeof(err)) != KC_OK) {
		*rc = k8s_fail("%s", err);
		return NULL;
	}
	if (r->status != 200)
		return NULL;
	v = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
	if (!v)
		*rc = k8s_fail("the server's answer to GET %s is not JSON", path);
	return v;
}

void k8s_object_path(buf *b, const json_t *res, const char *ns,
		     const char *name, const char *sub)
{
	kres_path(b, res, ns, name);
	if (sub)
		buf_printf(b, "/%s", sub);
}

void k8s_kind_name(const json_t *res, const char *name, char *out,
		   size_t outlen)
{
	char kg[256];

	kres_kind_group(res, kg, sizeof(kg));
	snprintf(out, outlen, "%s/%s", kg, name);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_docs(json_t *out, const char *path, const char *text,
		    size_t len)
{
	char err[512];
	json_t *docs = kyaml_load_all(text, len, err, sizeof(err)), *d;
	size_t i;

	if (!docs)
		return k8s_fail("error parsing %s: %s", path, err), -1;
	json_array_foreach(docs, i, d) {
		const char *kind = json_string_value(json_object_get(d, "kind"));

		if (!json_is_object(d)) {
			json_decref(docs);
			return k8s_fail("error parsing %s: document %zu is not an "
					"object", path, i + 1), -1;
		}
		if (kind && strlen(kind) >= 4 &&
		    strcmp(kind + strlen(kind) - 4, "List") == 0 &&
		    json_is_array(json_object_get(d, "items"))) {
			json_t *it;
			size_t j;

			json_array_foreach(json_object_get(d, "items"), j, it)
				json_array_append_new(out, json_pack("{sOss}",
					"object", it, "source", path));
			continue;
		}
		if (!kind || !json_string_value(json_object_get(d, "apiVersion"))) {
			json_decref(docs);
			return k8s_fail("error validating data: %s: apiVersion "
					"and kind must be set", path), -1;
		}
		json_array_append_new(out, json_pack("{sOss}", "object", d,
						     "source", path));
	}
	json_decref(docs);
	return 0;
}

static int read_path(json_t *out, const char *path, int recursive, int top)
{
	struct stat st;
	size_t len;
	char *text;

	if (strcmp(path, "-") == 0) {
		buf in = BUF_INIT(KCFG_FILE_MAX * 8);
		char chunk[65536];
		size_t n;
		int rc;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			if (buf_append(&in, chunk, n) < 0) {
				buf_release(&in);
				return k8s_fail("standard input is too large"), -1;
			}
		rc = add_docs(out, "STDIN", in.data ? (const char *)in.data : "",
			      in.len);
		buf_release(&in);
		return rc;
	}
	if (stat(path, &st) < 0)
		return k8s_fail("the path \"%s\" does not exist", path), -1;
	if (S_ISDIR(st.st_mode)) {
		DIR *dir;
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, cap = 0;
		int rc = 0;

		if (!top && !recursive)
			return 0;
		dir = opendir(path);
		if (!dir)
			return k8s_fail("cannot read '%s': %s", path,
					strerror(errno)), -1;
		while ((de = readdir(dir))) {
			if (de->d_name[0] == '.')
				continue;
			if (n == cap) {
				char **nn = realloc(names, (cap = cap ? cap * 2 : 16) *
						    sizeof(*names));

				if (!nn)
					break;
				names = nn;
			}
			names[n++] = strdup(de->d_name);
		}
		closedir(dir);
		qsort(names, n, sizeof(*names), name_cmp);
		for (size_t i = 0; i < n; i++) {
			char sub[4096];
			const char *ext = strrchr(names[i], '.');
			struct stat st2;

			snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
			if (!rc && stat(sub, &st2) == 0 && S_ISDIR(st2.st_mode))
				rc = recursive ? read_path(out, sub, recursive, 0) : 0;
			else if (!rc && ext && (strcmp(ext, ".yaml") == 0 ||
						strcmp(ext, ".yml") == 0 ||
						strcmp(ext, ".json") == 0))
				rc = read_path(out, sub, recursive, 0);
			free(names[i]);
		}
		free(names);
		return rc;
	}
	text = kfile_read(path, KCFG_FILE_MAX * 8, &len);
	if (!text)
		return k8s_fail("cannot read '%s': %s", path, strerror(errno)), -1;
	{
		int rc = add_docs(out, path, text, len);

		free(text);
		return rc;
	}
}

json_t *k8s_read_manifests(const struct opt_list *files, int recursive)
{
	json_t *out = json_array();

	if (!files->n) {
		json_decref(out);
		k8s_fail("must specify one of -f and -k");
		return NULL;
	}
	for (int i = 0; i < files->n; i++)
		if (read_path(out, files->v[i], recursive, 1) < 0) {
			json_decref(out);
			return NULL;
		}
	if (!json_array_size(out)) {
		json_decref(out);
		k8s_fail("no objects passed to apply");
		return NULL;
	}
	return out;
}

int k8s_namespace_missing(struct k8s *k, const json_t *res, const char *ns)
{
	buf path = BUF_INIT(4096);
	struct kresp r;
	char err[1024];
	int missing = 0;

	if (!json_is_true(json_object_get(res, "namespaced")) ||
	    strcmp(ns, "default") == 0)
		return 0;
	memset(&r, 0, sizeof(r));
	buf_printf(&path, "/api/v1/namespaces/");
	kquery_escape(&path, ns);
	if (kclient_request(&k->client, "GET", buf_cstr(&path), KACCEPT_JSON,
			    NULL, NULL, 0, &r, err, sizeof(err)) == KC_OK &&
	    r.status == 404) {
		k8s_fail_status(&r);
		missing = 1;
	}
	kresp_release(&r);
	buf_release(&path);
	return missing;
}

void k8s_named_path(buf *path, struct k8s *k, const json_t *res, const char *name,
		    const char *watch_rv)
{
	buf sel = BUF_INIT(1024);

	buf_printf(&sel, "metadata.name=%s", name);
	buf_reset(path);
	k8s_object_path(path, res, k8s_namespace(k), NULL, NULL);
	if (watch_rv) {
		buf_printf(path, "?allowWatchBookmarks=true&fieldSelector=");
		kquery_escape(path, buf_cstr(&sel));
		buf_printf(path, "&resourceVersion=");
		kquery_escape(path, watch_rv);
	} else {
		buf_printf(path, "?fieldSelector=");
		kquery_escape(path, buf_cstr(&sel));
		buf_printf(path, "&limit=500&resourceVersion=0");
	}
	buf_release(&sel);
}

json_t *k8s_list_named(struct k8s *k, const json_t *res, const char *name, buf *path,
		       struct kresp *r, int *rc)
{
	k8s_named_path(path, k, res, name, NULL);
	return k8s_get_json(k, buf_cstr(path), r, rc);
}

int k8s_watch_feed(buf *line, const char *p, size_t n, int (*fn)(json_t *ev, void *ud),
		   void *ud)
{
	for (size_t i = 0; i < n; i++) {
		json_t *ev;
		int rc;

		if (p[i] != '\n') {
			if (buf_append_byte(line, (uint8_t)p[i]) < 0)
				return -1;
			continue;
		}
		ev = json_loadb((const char *)line->data, line->len, 0, NULL);
		buf_reset(line);
		if (!ev)
			continue;
		rc = fn(ev, ud);
		json_decref(ev);
		if (rc)
			return rc;
	}
	return 0;
}
