/*
 * kubeconfig: loading, merging, viewing, editing; see kubeconfig.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/errbuf.h"
#include "k8s/kubeconfig.h"
#include "k8s/kyaml.h"

char *kfile_read(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *data;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	data = malloc(max + 1);
	if (!data) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, data + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			free(data);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			close(fd);
			free(data);
			errno = EFBIG;
			return NULL;
		}
	}
	close(fd);
	data[n] = '\0';
	if (len)
		*len = n;
	return data;
}

int kfile_write_atomic(const char *path, const void *data, size_t len,
		       char *err, size_t errlen)
{
	char tmp[4200];
	struct stat st;
	mode_t mode = 0600;
	int fd;
	size_t off = 0;

	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.vcli-%ld", path,
			     (long)getpid()) >= sizeof(tmp))
		return err_set(err, errlen, "path too long: '%s'", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_set(err, errlen, "cannot write '%s': %s", tmp,
			       strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err_set(err, errlen, "cannot write '%s': %s", tmp,
				strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		err_set(err, errlen, "cannot write '%s': %s", tmp,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		err_set(err, errlen, "cannot replace '%s': %s", path,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Creates the parent directories of path (mode 0750), as kubectl does
 * before it writes a new ~/.kube/config. */
static void make_parents(const char *path)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0750);
		*p = '/';
	}
}

static int add_file(struct kcfg *c, const char *path, char *err,
		    size_t errlen)
{
	char copy[4096];
	struct kcfg_file *f;

	for (size_t i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i].path, path) == 0)
			return 0;
	if (c->nfiles == KCFG_MAX_FILES)
		return err_set(err, errlen, "too many kubeconfig files (at "
			       "most %d)", KCFG_MAX_FILES);
	f = &c->files[c->nfiles];
	snprintf(copy, sizeof(copy), "%s", path);
	f->path = strdup(path);
	f->dir = strdup(dirname(copy));
	f->doc = NULL;
	if (!f->path || !f->dir) {
		free(f->path);
		free(f->dir);
		return err_set(err, errlen, "out of memory");
	}
	c->nfiles++;
	return 0;
}

/* Merges one named list ("clusters") of file i into the map. */
static int merge_list(json_t *map, const json_t *doc, const char *list,
		      size_t i, const char *path, char *err, size_t errlen)
{
	json_t *arr = json_object_get(doc, list), *e;
	size_t k;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_set(err, errlen, "error loading config file "
			       "\"%s\": '%s' is not a list", path, list);
	json_array_foreach(arr, k, e) {
		const char *name = json_string_value(json_object_get(e, "name"));

		if (!json_is_object(e) || !name)
			return err_set(err, errlen, "error loading config file "
				       "\"%s\": an entry of '%s' has no name",
				       path, list);
		if (json_object_get(map, name))
			continue;
		json_object_set_new(map, name, json_pack("{sOsI}", "entry", e,
							 "file", (json_int_t)i));
	}
	return 0;
}

int kcfg_load(struct kcfg *c, const char *kubeconfig_flag, char *err,
	      size_t errlen)
{
	const char *env = getenv("KUBECONFIG");

	memset(c, 0, sizeof(*c));
	c->current_file = -1;
	c->clusters = json_object();
	c->contexts = json_object();
	c->users = json_object();
	if (!c->clusters || !c->contexts || !c->users)
		return err_set(err, errlen, "out of memory");
	if (kubeconfig_flag && *kubeconfig_flag) {
		if (access(kubeconfig_flag, F_OK) < 0)
			return err_set(err, errlen, "stat %s: %s",
				       kubeconfig_flag, strerror(errno));
		if (add_file(c, kubeconfig_flag, err, errlen) < 0)
			return -1;
	} else if (env && *env) {
		char *list = strdup(env), *save = NULL, *p;

		if (!list)
			return err_set(err, errlen, "out of memory");
		for (p = strtok_r(list, ":", &save); p;
		     p = strtok_r(NULL, ":", &save)) {
			if (add_file(c, p, err, errlen) < 0) {
				free(list);
				return -1;
			}
		}
		free(list);
	} else {
		const char *home = getenv("HOME");
		char path[4096];

		if (!home || !*home)
			return err_set(err, errlen, "no kubeconfig: neither "
				       "KUBECONFIG nor HOME is set (use "
				       "--kubeconfig)");
		snprintf(path, sizeof(path), "%s/.kube/config", home);
		if (add_file(c, path, err, errlen) < 0)
			return -1;
	}
	for (size_t i = 0; i < c->nfiles; i++) {
		struct kcfg_file *f = &c->files[i];
		size_t len;
		char *text = kfile_read(f->path, KCFG_FILE_MAX, &len), perr[256];
		json_t *docs;
		const char *cur;

		if (!text) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return err_set(err, errlen, "error loading config file "
				       "\"%s\": %s", f->path,
				       errno == EFBIG ? "file too large" :
				       strerror(errno));
		}
		docs = kyaml_load_all(text, len, perr, sizeof(perr));
		free(text);
		if (!docs)
			return err_set(err, errlen, "error loading config file "
				       "\"%s\": %s", f->path, perr);
		f->doc = json_array_size(docs) ? json_incref(json_array_get(docs, 0))
					       : json_object();
		json_decref(docs);
		if (!json_is_object(f->doc))
			return err_set(err, errlen, "error loading config file "
				       "\"%s\": not a mapping", f->path);
		if (merge_list(c->clusters, f->doc, "clusters", i, f->path, err,
			       errlen) < 0 ||
		    merge_list(c->contexts, f->doc, "contexts", i, f->path, err,
			       errlen) < 0 ||
		    merge_list(c->users, f->doc, "users", i, f->path, err,
			       errlen) < 0)
			return -1;
		cur = json_string_value(json_object_get(f->doc,
							"current-context"));
		if (cur && *cur && c->current_file < 0) {
			c->current_context = cur;
			c->current_file = (int)i;
		}
	}
	return 0;
}

void kcfg_release(struct kcfg *c)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].path);
		free(c->files[i].dir);
		json_decref(c->files[i].doc);
	}
	json_decref(c->clusters);
	json_decref(c->contexts);
	json_decref(c->users);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------ view */

static const char *const cluster_fields[] = {
	"server", "tls-server-name", "insecure-skip-tls-verify",
	"certificate-authority", "certificate-authority-data", "proxy-url",
	"disable-compression", "extensions", NULL };
static const char *const user_fields[] = {
	"client-certificate", "client-certificate-data", "client-key",
	"client-key-data", "token", "tokenFile", "as", "as-uid", "as-groups",
	"as-user-extra", "username", "password", "auth-provider", "exec",
	"extensions", NULL };
static const char *const context_fields[] = {
	"cluster", "user", "namespace", "extensions", NULL };

static int is_empty(const json_t *v)
{
	return !v || json_is_null(v) || json_is_false(v) ||
	       (json_is_string(v) && !json_string_length(v)) ||
	       (json_is_array(v) && !json_array_size(v)) ||
	       (json_is_object(v) && !json_object_size(v));
}

/* The known, non-empty fields of an entry's inner object, redacted. */
static json_t *view_inner(const json_t *in, const char *const *fields,
			  int raw)
{
	json_t *out = json_object();

	for (size_t i = 0; fields[i]; i++) {
		json_t *v = json_object_get(in, fields[i]);
		const char *f = fields[i];
		size_t fl = strlen(f);

		if (is_empty(v))
			continue;
		if (!raw && fl > 5 && strcmp(f + fl - 5, "-data") == 0) {
			json_object_set_new(out, f, json_string("DATA+OMITTED"));
		} else if (!raw && (strcmp(f, "token") == 0 ||
				    strcmp(f, "password") == 0)) {
			json_object_set_new(out, f, json_string("REDACTED"));
		} else if (strcmp(f, "exec") == 0 && json_is_object(v)) {
			json_t *e = json_deep_copy(v);

			/* Go's struct prints these even when unset. */
			if (!json_object_get(e, "env"))
				json_object_set_new(e, "env", json_null());
			if (!json_object_get(e, "provideClusterInfo"))
				json_object_set_new(e, "provideClusterInfo",
						    json_false());
			json_object_set_new(out, f, e);
		} else {
			json_object_set(out, f, v);
		}
	}
	return out;
}

static char *resolve_path(const char *dir, const char *path);

/* A file's bytes (at most KCFG_FILE_MAX), or NULL with Go's words in
 * err ("open PATH: no such file or directory"). */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL, why[256];
	size_t cap = 0, n = 0;

	if (!f) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		why[0] = (char)tolower((unsigned char)why[0]);
		err_set(err, errlen, "open %s: %s", path, why);
		return NULL;
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nd;

			if (cap >= KCFG_FILE_MAX) {
				err_set(err, errlen, "%s: larger than %u bytes",
					path, KCFG_FILE_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 4096;
			nd = realloc(data, cap + 1);
			if (!nd) {
				err_set(err, errlen, "out of memory");
				goto fail;
			}
			data = nd;
		}
		got = fread(data + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				snprintf(why, sizeof(why), "%s", strerror(errno));
				why[0] = (char)tolower((unsigned char)why[0]);
				err_set(err, errlen, "read %s: %s", path, why);
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	if (!data)
		data = calloc(1, 1);
	*len = n;
	return data;
fail:
	fclose(f);
	free(data);
	return NULL;
}

/*
 * --flatten: each file reference (certificate-authority,
 * client-certificate, client-key) becomes its -data twin, the file's
 * bytes in padded base64, as kubectl's FlattenConfig does.  dir is the
 * directory of the file that defined the entry.
 */
static int flatten_inner(json_t *inner, const char *dir, char *err,
			 size_t errlen)
{
	static const char *const refs[] = { "certificate-authority",
		"client-certificate", "client-key", NULL };

	for (size_t i = 0; refs[i]; i++) {
		const char *path = json_string_value(json_object_get(inner,
								     refs[i]));
		char key[64], *full, *data, *b64;
		size_t len, el;

		if (!path || !*path)
			continue;
		snprintf(key, sizeof(key), "%s-data", refs[i]);
		if (json_object_get(inner, key))
			return err_set(err, errlen, "cannot have values for "
				       "both path and contents");
		full = resolve_path(dir, path);
		if (!full)
			return err_set(err, errlen, "out of memory");
		data = slurp(full, &len, err, errlen);
		free(full);
		if (!data)
			return -1;
		el = b64_encoded_len(len);
		b64 = malloc(el + 4);
		if (!b64) {
			free(data);
			return err_set(err, errlen, "out of memory");
		}
		b64_encode((const uint8_t *)data, len, b64);
		while (el % 4)
			b64[el++] = '=';
		b64[el] = '\0';
		free(data);
		json_object_set_new(inner, key, json_string(b64));
		json_object_del(inner, refs[i]);
		free(b64);
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted list of {name, <inner>} from a merged map; only names in keep
 * when keep is not NULL. */
static json_t *view_list(const struct kcfg *c, const json_t *map,
			 const char *inner, const char *const *fields, int raw,
			 const char *keep, int flatten, char *err,
			 size_t errlen)
{
	size_t n = json_object_size(map), i = 0;
	const char **names = malloc((n ? n : 1) * sizeof(*names));
	json_t *out = json_array(), *x;
	const char *k;

	if (!names || !out) {
		free(names);
		json_decref(out);
		return NULL;
	}
	json_object_foreach((json_t *)map, k, x)
		names[i++] = k;
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		json_t *m = json_object_get(map, names[i]);
		json_t *entry = json_object_get(m, "entry"), *in;
		json_int_t fi = json_integer_value(json_object_get(m, "file"));

		if (keep && strcmp(keep, names[i]) != 0)
			continue;
		in = view_inner(json_object_get(entry, inner), fields, raw);
		if (flatten && flatten_inner(in, fi >= 0 &&
					     (size_t)fi < c->nfiles ?
					     c->files[fi].dir : NULL, err,
					     errlen) < 0) {
			json_decref(in);
			json_decref(out);
			free(names);
			return NULL;
		}
		json_array_append_new(out, json_pack("{ssso}", "name", names[i],
						     inner, in));
	}
	free(names);
	return out;
}

json_t *kcfg_view(const struct kcfg *c, const char *context, int minify,
		  int raw, int flatten, char *err, size_t errlen)
{
	const char *cur = c->current_context ? c->current_context : "";
	const char *ctx = context && *context ? context : cur;
	const char *kc = NULL, *ku = NULL, *kx = NULL;
	json_t *out, *cl, *cx, *us;

	if (minify) {
		json_t *e = json_object_get(c->contexts, ctx);
		json_t *inner = json_object_get(json_object_get(e, "entry"),
						"context");

		if (!*ctx) {
			err_set(err, errlen, "current-context must exist in "
				"order to minify");
			return NULL;
		}
		if (!e) {
			err_set(err, errlen, "cannot locate context %s", ctx);
			return NULL;
		}
		kx = ctx;
		kc = json_string_value(json_object_get(inner, "cluster"));
		ku = json_string_value(json_object_get(inner, "user"));
		kc = kc ? kc : "";
		ku = ku ? ku : "";
	}
	if (flatten)
		raw = 1; /* kubectl shows what it inlined, and the secrets */
	cl = view_list(c, c->clusters, "cluster", cluster_fields, raw, kc,
		       flatten, err, errlen);
	cx = cl ? view_list(c, c->contexts, "context", context_fields, raw, kx,
			    flatten, err, errlen) : NULL;
	us = cx ? view_list(c, c->users, "user", user_fields, raw, ku, flatten,
			    err, errlen) : NULL;
	if (!us) {
		json_decref(cl);
		json_decref(cx);
		return NULL;
	}
	out = json_object();
	json_object_set_new(out, "apiVersion", json_string("v1"));
	json_object_set_new(out, "kind", json_string("Config"));
	json_object_set_new(out, "preferences", json_object());
	json_object_set_new(out, "clusters", cl);
	json_object_set_new(out, "contexts", cx);
	json_object_set_new(out, "users", us);
	json_object_set_new(out, "current-context",
			    json_string(minify ? ctx : cur));
	return out;
}

/* ------------------------------------------------------------ writing */

/* The file kubectl writes new things to: the first that exists, else the
 * last of the list. */
static size_t default_file(const struct kcfg *c)
{
	for (size_t i = 0; i < c->nfiles; i++)
		if (c->files[i].doc)
			return i;
	return c->nfiles - 1;
}

/* Writes file i back in kubectl's form: sorted keys, lists by name. */
static int write_file(struct kcfg *c, size_t i, char *err, size_t errlen)
{
	struct kcfg_file *f = &c->files[i];
	buf out = BUF_INIT(KCFG_FILE_MAX);
	json_t *doc;
	static const char *const lists[] = { "clusters", "contexts", "users" };
	int rc;

	if (!f->doc)
		f->doc = json_object();
	doc = f->doc;
	if (!json_object_get(doc, "apiVersion"))
		json_object_set_new(doc, "apiVersion", json_string("v1"));
	if (!json_object_get(doc, "kind"))
		json_object_set_new(doc, "kind", json_string("Config"));
	if (!json_is_object(json_object_get(doc, "preferences")))
		json_object_set_new(doc, "preferences", json_object());
	if (!json_is_string(json_object_get(doc, "current-context")))
		json_object_set_new(doc, "current-context", json_string(""));
	{
		/* kubectl writes an exec plugin's unset env and
		 * provideClusterInfo out. */
		json_t *u;
		size_t k;

		json_array_foreach(json_object_get(doc, "users"), k, u) {
			json_t *e = json_object_get(json_object_get(u, "user"),
						    "exec");

			if (!json_is_object(e))
				continue;
			if (!json_object_get(e, "env"))
				json_object_set_new(e, "env", json_null());
			if (!json_object_get(e, "provideClusterInfo"))
				json_object_set_new(e, "provideClusterInfo",
						    json_false());
		}
	}
	for (size_t l = 0; l < 3; l++) {
		json_t *arr = json_object_get(doc, lists[l]);
		size_t n;

		if (!json_is_array(arr)) {
			json_object_set_new(doc, lists[l], json_null());
			continue;
		}
		/* Sort by name (insertion sort: kubeconfigs are small). */
		n = json_array_size(arr);
		for (size_t a = 1; a < n; a++)
			for (size_t b = a; b > 0; b--) {
				json_t *x = json_array_get(arr, b - 1);
				json_t *y = json_array_get(arr, b);
				const char *nx = json_string_value(
					json_object_get(x, "name"));
				const char *ny = json_string_value(
					json_object_get(y, "name"));

				if (!nx || !ny || strcmp(nx, ny) <= 0)
					break;
				json_incref(x);
				json_array_set(arr, b - 1, y);
				json_array_set_new(arr, b, x);
			}
	}
	if (kyaml_emit(&out, doc) < 0) {
		buf_release(&out);
		return err_set(err, errlen, "cannot write '%s': too large",
			       f->path);
	}
	make_parents(f->path);
	rc = kfile_write_atomic(f->path, out.data, out.len, err, errlen);
	buf_release(&out);
	return rc;
}

int kcfg_use_context(struct kcfg *c, const char *name, char *err,
		     size_t errlen)
{
	size_t i;

	if (!json_object_get(c->contexts, name))
		return err_set(err, errlen, "no context exists with the name: "
			       "\"%s\"", name);
	i = c->current_file >= 0 ? (size_t)c->current_file : default_file(c);
	if (!c->files[i].doc)
		c->files[i].doc = json_object();
	json_object_set_new(c->files[i].doc, "current-context",
			    json_string(name));
	c->current_context = json_string_value(
		json_object_get(c->files[i].doc, "current-context"));
	c->current_file = (int)i;
	return write_file(c, i, err, errlen);
}

int kcfg_set_context(struct kcfg *c, const char *name, const char *cluster,
		     const char *user, const char *ns, int *created,
		     char *err, size_t errlen)
{
	json_t *m = json_object_get(c->contexts, name), *entry, *inner;
	size_t i;

	if (m) {
		i = (size_t)json_integer_value(json_object_get(m, "file"));
		entry = json_object_get(m, "entry");
		*created = 0;
	} else {
		json_t *arr;

		i = default_file(c);
		if (!c->files[i].doc)
			c->files[i].doc = json_object();
		arr = json_object_get(c->files[i].doc, "contexts");
		if (!json_is_array(arr)) {
			arr = json_array();
			json_object_set_new(c->files[i].doc, "contexts", arr);
		}
		entry = json_pack("{sss{}}", "name", name, "context");
		json_array_append_new(arr, entry);
		json_object_set_new(c->contexts, name, json_pack("{sOsI}",
				    "entry", entry, "file", (json_int_t)i));
		*created = 1;
	}
	inner = json_object_get(entry, "context");
	if (!json_is_object(inner)) {
		inner = json_object();
		json_object_set_new(entry, "context", inner);
	}
	if (cluster)
		json_object_set_new(inner, "cluster", json_string(cluster));
	if (user)
		json_object_set_new(inner, "user", json_string(user));
	if (ns) {
		if (*ns)
			json_object_set_new(inner, "namespace", json_string(ns));
		else
			json_object_del(inner, "namespace");
	}
	return write_file(c, i, err, errlen);
}

/* ------------------------------------------------------------ connection */

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* path relative to dir when it is not absolute. */
static char *resolve_path(const char *dir, const char *path)
{
	char *out;
	size_t n;

	if (!path || !*path)
		return NULL;
	if (path[0] == '/' || !dir)
		return strdup(path);
	n = strlen(dir) + strlen(path) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", dir, path);
	return out;
}

static int decode_data(const json_t *inner, const char *field, uint8_t **out,
		       size_t *len, char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(inner, field));
	size_t n;
	long dn;
	buf clean = BUF_INIT(KCFG_FILE_MAX);

	if (!s || !*s)
		return 0;
	/* Line breaks may sit in long base64 values. */
	for (n = 0; s[n]; n++)
		if (s[n] != '\n' && s[n] != '\r' && s[n] != ' ' &&
		    buf_append_byte(&clean, (uint8_t)s[n]) < 0)
			break;
	*out = malloc(clean.len * 3 / 4 + 4);
	if (!*out) {
		buf_release(&clean);
		return err_set(err, errlen, "out of memory");
	}
	dn = b64_decode((const char *)clean.data, clean.len, *out);
	buf_release(&clean);
	if (dn < 0) {
		free(*out);
		*out = NULL;
		return err_set(err, errlen, "illegal base64 data in '%s'",
			       field);
	}
	*len = (size_t)dn;
	return 0;
}

int kcfg_connection(const struct kcfg *c, const struct kcfg_flags *fl,
		    struct kconn *k, char *err, size_t errlen)
{
	const char *ctxname = fl->context && *fl->context ? fl->context :
			      c->current_context;
	json_t *cm = NULL, *ctx = NULL, *clm, *cl = NULL, *um, *us = NULL;
	const char *clname, *uname, *ns;
	const char *cdir = NULL, *udir = NULL;

	memset(k, 0, sizeof(*k));
	if (ctxname && *ctxname) {
		cm = json_object_get(c->contexts, ctxname);
		if (!cm)
			return err_set(err, errlen, "context \"%s\" does not "
				       "exist", ctxname);
		ctx = json_object_get(json_object_get(cm, "entry"), "context");
	} else if (!fl->server) {
		return err_set(err, errlen, "no current context in the "
			       "kubeconfig (set one with 'vcli k8s config "
			       "use-context NAME', or use --context or "
			       "--server)");
	}
	clname = fl->cluster && *fl->cluster ? fl->cluster :
		 json_string_value(json_object_get(ctx, "cluster"));
	uname = fl->user && *fl->user ? fl->user :
		json_string_value(json_object_get(ctx, "user"));
	if (clname && *clname) {
		clm = json_object_get(c->clusters, clname);
		if (!clm && !fl->server)
			return err_set(err, errlen, "cluster \"%s\" of context "
				       "\"%s\" does not exist", clname,
				       ctxname ? ctxname : "");
		cl = json_object_get(json_object_get(clm, "entry"), "cluster");
		if (clm)
			cdir = c->files[json_integer_value(
				json_object_get(clm, "file"))].dir;
	}
	if (uname && *uname) {
		um = json_object_get(c->users, uname);
		us = json_object_get(json_object_get(um, "entry"), "user");
		if (um)
			udir = c->files[json_integer_value(
				json_object_get(um, "file"))].dir;
	}
	ns = fl->namespace && *fl->namespace ? fl->namespace :
	     json_string_value(json_object_get(ctx, "namespace"));
	k->namespace_set = ns && *ns;
	k->context = strdup(ctxname ? ctxname : "");
	k->cluster = strdup(clname ? clname : "");
	k->user = strdup(uname ? uname : "");
	k->namespace = strdup(ns && *ns ? ns : "default");
	k->server = dup_or_null(fl->server ? fl->server :
				json_string_value(json_object_get(cl, "server")));
	if (!k->server) {
		kconn_release(k);
		return err_set(err, errlen, "cluster \"%s\" has no server "
			       "defined", clname ? clname : "");
	}
	while (k->server[0] && k->server[strlen(k->server) - 1] == '/')
		k->server[strlen(k->server) - 1] = '\0';
	if (strncmp(k->server, "http://", 7) != 0 &&
	    strncmp(k->server, "https://", 8) != 0) {
		/* kubectl takes "host:port" as https. */
		size_t n = strlen(k->server) + 9;
		char *s = malloc(n);

		if (s)
			snprintf(s, n, "https://%s", k->server);
		free(k->server);
		k->server = s;
	}
	k->insecure = fl->insecure ||
		      json_is_true(json_object_get(cl, "insecure-skip-tls-verify"));
	/* As kubectl: --tls-server-name wins; --server alone drops the
	 * cluster's, which named the cluster's own server. */
	if (fl->tls_server_name)
		k->tls_server_name = dup_or_null(fl->tls_server_name);
	else if (!fl->server || !*fl->server)
		k->tls_server_name = dup_or_null(json_string_value(
			json_object_get(cl, "tls-server-name")));
	k->proxy_url = dup_or_null(json_string_value(
		json_object_get(cl, "proxy-url")));
	if (fl->ca_file)
		k->ca_file = strdup(fl->ca_file);
	else
		k->ca_file = resolve_path(cdir, json_string_value(
			json_object_get(cl, "certificate-authority")));
	if (!fl->ca_file && decode_data(cl, "certificate-authority-data",
					&k->ca_data, &k->ca_len, err, errlen) < 0)
		goto fail;
	k->cert_file = resolve_path(udir, json_string_value(
		json_object_get(us, "client-certificate")));
	k->key_file = resolve_path(udir, json_string_value(
		json_object_get(us, "client-key")));
	if (decode_data(us, "client-certificate-data", &k->cert_data,
			&k->cert_len, err, errlen) < 0 ||
	    decode_data(us, "client-key-data", &k->key_data, &k->key_len, err,
			errlen) < 0)
		goto fail;
	k->token = dup_or_null(fl->token ? fl->token :
			       json_string_value(json_object_get(us, "token")));
	k->token_file = resolve_path(udir, json_string_value(
		json_object_get(us, "tokenFile")));
	k->username = dup_or_null(json_string_value(
		json_object_get(us, "username")));
	k->password = dup_or_null(json_string_value(
		json_object_get(us, "password")));
	if (!fl->token && json_is_object(json_object_get(us, "exec"))) {
		k->exec = json_incref(json_object_get(us, "exec"));
		k->exec_dir = udir ? strdup(udir) : NULL;
	}
	if (!k->token && k->token_file) {
		size_t len;
		char *t = kfile_read(k->token_file, 1 << 20, &len);

		if (!t) {
			err_set(err, errlen, "cannot read token file '%s': %s",
				k->token_file, strerror(errno));
			goto fail;
		}
		while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' ||
			       t[len - 1] == ' '))
			t[--len] = '\0';
		k->token = t;
	}
	return 0;
fail:
	kconn_release(k);
	return -1;
}

void kconn_release(struct kconn *k)
{
	free(k->context);
	free(k->cluster);
	free(k->user);
	free(k->namespace);
	free(k->server);
	free(k->ca_file);
	free(k->ca_data);
	free(k->tls_server_name);
	free(k->proxy_url);
	free(k->cert_file);
	free(k->key_file);
	free(k->cert_data);
	if (k->key_data) {
		memset(k->key_data, 0, k->key_len);
		free(k->key_data);
	}
	if (k->token) {
		memset(k->token, 0, strlen(k->token));
		free(k->token);
	}
	free(k->token_file);
	free(k->username);
	if (k->password) {
		memset(k->password, 0, strlen(k->password));
		free(k->password);
	}
	json_decref(k->exec);
	free(k->exec_dir);
	memset(k, 0, sizeof(*k));
}
