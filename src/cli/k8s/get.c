/*
 * vcli k8s get: list or fetch resources, printed as kubectl prints them
 * (server-side tables, json, yaml, name, jsonpath), with --watch.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/k8s/k8s.h"
#include "k8s/kcolumns.h"
#include "k8s/kjsonpath.h"
#include "k8s/kprint.h"
#include "k8s/kyaml.h"

static struct {
	const char *selector;
	const char *field_selector;
	const char *output;
	const char *sort_by;
	int show_labels;
	int watch;
	int watch_only;
	int no_headers;
	int chunk_size;
	int ignore_not_found;
	struct opt_list label_columns;
} g = { .chunk_size = 500 };

static const struct opt get_options[] = {
	K8S_CONN_OPTIONS,
	{ "all-namespaces", 'A', OPT_FLAG, &k8s_flags.all_namespaces,
	  "list across all namespaces", NULL, NULL },
	{ "selector", 'l', OPT_STRING, &g.selector,
	  "label selector (app=web, tier in (a,b), !canary)", NULL, "SEL" },
	{ "field-selector", 0, OPT_STRING, &g.field_selector,
	  "field selector (status.phase=Running)", NULL, "SEL" },
	{ "output", 'o', OPT_STRING, &g.output,
	  "output format (default: the server's table)", NULL,
	  "wide|json|yaml|name|jsonpath=T|custom-columns=SPEC|"
	  "custom-columns-file=FILE" },
	{ "sort-by", 0, OPT_STRING, &g.sort_by,
	  "sort by this field (a JSONPath: .metadata.name)", NULL, "PATH" },
	{ "show-labels", 0, OPT_FLAG, &g.show_labels,
	  "a LABELS column last", NULL, NULL },
	{ "label-columns", 'L', OPT_LIST, &g.label_columns,
	  "a column with this label's value (repeatable)", NULL, "KEY" },
	{ "watch", 'w', OPT_FLAG, &g.watch,
	  "after listing, print changes as they happen", NULL, NULL },
	{ "watch-only", 0, OPT_FLAG, &g.watch_only,
	  "print changes only, not the list first", NULL, NULL },
	{ "no-headers", 0, OPT_FLAG, &g.no_headers,
	  "no header line in tables", NULL, NULL },
	{ "chunk-size", 0, OPT_INT, &g.chunk_size,
	  "list in chunks of this many (0: all at once; default 500)", NULL,
	  "N" },
	{ "ignore-not-found", 0, OPT_FLAG, &g.ignore_not_found,
	  "a missing named object is not an error", NULL, NULL },
	OPT_END,
};

const struct cmd_spec k8s_get_spec = {
	.usage = "vcli k8s get TYPE[,TYPE...] [NAME...] | TYPE/NAME... [options]",
	.description =
		"Lists or fetches resources, as kubectl get does.  TYPE is any\n"
		"name the server's discovery knows: plural, singular, short name\n"
		"or kind, optionally with its group (deployments.apps).  Tables\n"
		"are the server's own (Table responses); -o wide adds its extra\n"
		"columns.  Lists come in chunks of --chunk-size.\n",
	.options = get_options,
	.min_args = 1,
	.max_args = 64,
	.examples =
		"  vcli k8s get pods\n"
		"  vcli k8s get po -A -o wide\n"
		"  vcli k8s get deploy,svc -l app=web\n"
		"  vcli k8s get pods --field-selector status.phase=Running -o name\n"
		"  vcli k8s get pod/web-1 -o jsonpath='{.status.podIP}'\n"
		"  vcli k8s get po -o custom-columns=NAME:.metadata.name,"
		"NODE:.spec.nodeName\n"
		"  vcli k8s get po -A --sort-by=.status.startTime\n"
		"  vcli k8s get deploy web -w\n",
};

enum out_mode { OUT_TABLE, OUT_WIDE, OUT_JSON, OUT_YAML, OUT_NAME,
		OUT_JSONPATH, OUT_COLUMNS };

struct request {
	const json_t *res;
	const char *name; /* NULL: the list */
};

struct getter {
	struct k8s k;
	enum out_mode mode;
	const char *jsonpath;
	struct kcolumns cols;     /* -o custom-columns */
	int cols_from_file;       /* kubectl prints its header always */
	char sort_expr[4096];     /* --sort-by, relaxed: ".a.b"; "" none */
	int sort_failed;          /* a table's rows lacked the field */
	struct ktab tab;
	struct ktable_opts topts;
	const json_t *table_res;  /* the resource whose table is open */
	json_t *columns;          /* its column definitions */
	json_t *items;            /* json/yaml/name/jsonpath: objects */
	int multi_kind;
	size_t rows;
	int errors;
	char last_rv[64];
};

static const char *nz(const char *s)
{
	return s ? s : "";
}

static int is_table(const struct getter *G)
{
	return G->mode == OUT_TABLE || G->mode == OUT_WIDE;
}

static const char *accept_for(const struct getter *G)
{
	return is_table(G) ? KACCEPT_TABLE : KACCEPT_JSON;
}

/* Sorting a table needs the objects in its rows, as kubectl asks. */
static int want_objects(const struct getter *G)
{
	return G->sort_expr[0] && is_table(G);
}

static int add_selectors(const struct getter *G, buf *q)
{
	int rc = 0;

	if (g.field_selector && *g.field_selector) {
		rc |= buf_printf(q, "%sfieldSelector=", q->len ? "&" : "?");
		rc |= kquery_escape(q, g.field_selector);
	}
	if (want_objects(G))
		rc |= buf_printf(q, "%sincludeObject=Object", q->len ? "&" : "?");
	if (g.selector && *g.selector) {
		rc |= buf_printf(q, "%slabelSelector=", q->len ? "&" : "?");
		rc |= kquery_escape(q, g.selector);
	}
	return rc;
}

static const char *list_namespace(const struct getter *G)
{
	return k8s_flags.all_namespaces ? NULL : k8s_namespace(&G->k);
}

/* Opens the table of res when it is not the one open. */
static int table_begin(struct getter *G, const json_t *res,
		       const json_t *table)
{
	char kg[256];
	int rc;

	if (G->table_res == res && G->columns)
		return 0;
	if (G->table_res && G->rows)
		ktab_add(&G->tab, "\n", 1);
	G->table_res = res;
	json_decref(G->columns);
	G->columns = json_incref(json_object_get(table, "columnDefinitions"));
	G->topts.with_namespace = k8s_flags.all_namespaces &&
		json_is_true(json_object_get(res, "namespaced"));
	kres_kind_group(res, kg, sizeof(kg));
	free((char *)G->topts.kind_prefix);
	G->topts.kind_prefix = G->multi_kind ? strdup(kg) : NULL;
	rc = ktable_header(&G->tab, table, &G->topts);
	return rc;
}

/* Takes a Table (table mode) or an object or list (the others). */
static int take(struct getter *G, const json_t *res, json_t *v)
{
	const char *kind = json_string_value(json_object_get(v, "kind"));

	if (G->mode == OUT_TABLE || G->mode == OUT_WIDE) {
		size_t n = json_array_size(json_object_get(v, "rows"));

		if (!kind || strcmp(kind, "Table") != 0)
			return k8s_fail("the server did not answer with a "
					"Table (kind '%s')", kind ? kind : "");
		if (!n && G->table_res != res && !G->columns)
			return 0;
		if (!n)
			return 0;
		if (table_begin(G, res, v) < 0 ||
		    ktable_rows(&G->tab, v, G->columns, &G->topts) < 0)
			return k8s_fail("out of memory");
		G->rows += n;
		return 0;
	}
	if (kind && strlen(kind) > 4 && strcmp(kind + strlen(kind) - 4,
					       "List") == 0 &&
	    json_is_array(json_object_get(v, "items"))) {
		const char *apiv = json_string_value(json_object_get(v,
								     "apiVersion"));
		char ikind[256];
		json_t *it;
		size_t i;

		snprintf(ikind, sizeof(ikind), "%.*s", (int)(strlen(kind) - 4),
			 kind);
		json_array_foreach(json_object_get(v, "items"), i, it) {
			if (!json_object_get(it, "kind"))
				json_object_set_new(it, "kind", json_string(ikind));
			if (!json_object_get(it, "apiVersion") && apiv)
				json_object_set_new(it, "apiVersion",
						    json_string(apiv));
			json_array_append(G->items, it);
		}
		G->rows += json_array_size(json_object_get(v, "items"));
		return 0;
	}
	json_array_append(G->items, v);
	G->rows++;
	return 0;
}

/* A Table answer straight from its text (long lists are cheaper so). */
static int take_table_text(struct getter *G, const json_t *res,
			   const struct kresp *r)
{
	const char *s = (const char *)r->body.data;
	size_t n = r->body.len, i;
	char kind[64];

	if (kjson_peek_string(s, n, "kind", NULL, kind, sizeof(kind)) < 0 ||
	    strcmp(kind, "Table") != 0)
		return k8s_fail("the server did not answer with a Table (%s)",
				r->content_type);
	kjson_peek_string(s, n, "metadata", "resourceVersion", G->last_rv,
			  sizeof(G->last_rv));
	i = kjson_find_key(s, 0, n, "rows");
	if (i >= n || s[i] != '[' || kjson_ws(s, i + 1, n) >= n ||
	    s[kjson_ws(s, i + 1, n)] == ']')
		return 0;
	if (G->table_res != res || !G->columns) {
		size_t c = kjson_find_key(s, 0, n, "columnDefinitions");
		json_t *cd = c < n ? json_loadb(s + c, kjson_skip(s, c, n) - c,
						JSON_DECODE_ANY, NULL) : NULL;
		json_t *tbl = json_pack("{so}", "columnDefinitions",
					cd ? cd : json_array());
		int rc = table_begin(G, res, tbl);

		json_decref(tbl);
		if (rc < 0)
			return k8s_fail("out of memory");
	}
	if (ktable_rows_text(&G->tab, s, n, G->columns, &G->topts,
			     &G->rows) < 0)
		return k8s_fail("the server's Table is malformed");
	return 0;
}

static json_t *parse_body(const struct kresp *r)
{
	json_t *v = json_loadb((const char *)r->body.data, r->body.len, 0,
			       NULL);

	if (!v)
		k8s_fail("the server's answer is not JSON (%s)",
			 r->content_type);
	return v;
}

/* A named object: GET it; on 404, ask whether the namespace exists (as
 * kubectl does) to say which is missing. */
static int get_one(struct getter *G, const json_t *res, const char *name)
{
	const char *ns = k8s_namespace(&G->k);
	buf path = BUF_INIT(8192);
	struct kresp r;
	char err[1024];
	json_t *v;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	if (kres_path(&path, res, ns, name) < 0) {
		buf_release(&path);
		return k8s_fail("name too long: '%s'", name);
	}
	if (want_objects(G))
		buf_printf(&path, "?includeObject=Object");
	if (kclient_request(&G->k.client, "GET", buf_cstr(&path),
			    accept_for(G), NULL, NULL, 0, &r, err,
			    sizeof(err)) != KC_OK) {
		rc = k8s_fail("%s", err);
		goto out;
	}
	if (r.status == 404 && g.ignore_not_found)
		goto out;
	/* Not for "default", which kubectl takes as existing. */
	if (r.status == 404 && json_is_true(json_object_get(res, "namespaced")) &&
	    strcmp(ns, "default") != 0) {
		struct kresp nr;
		buf np = BUF_INIT(8192);

		memset(&nr, 0, sizeof(nr));
		buf_printf(&np, "/api/v1/namespaces/");
		kquery_escape(&np, ns);
		if (kclient_request(&G->k.client, "GET", buf_cstr(&np),
				    accept_for(G), NULL, NULL, 0, &nr, err,
				    sizeof(err)) == KC_OK && nr.status == 404) {
			kresp_release(&r);
			r = nr;
		} else {
			kresp_release(&nr);
		}
		buf_release(&np);
	}
	if (r.status != 200) {
		k8s_fail_status(&r);
		G->errors++;
		goto out;
	}
	v = parse_body(&r);
	if (!v) {
		rc = K8S_EXIT_ERROR;
		goto out;
	}
	snprintf(G->last_rv, sizeof(G->last_rv), "%s",
		 nz(json_string_value(json_object_get(
			 json_object_get(v, "metadata"), "resourceVersion"))));
	rc = take(G, res, v) ? K8S_EXIT_ERROR : 0;
	json_decref(v);
out:
	kresp_release(&r);
	buf_release(&path);
	return rc;
}

/*
 * A list, chunk by chunk.  A second thread fetches the next chunk while
 * this one is parsed and printed: the "continue" token is peeked from the
 * raw answer (kjson_peek_string) so the next request can go out at once.
 * At most two answers are held.  The requests are the same as one at a
 * time: limit, then limit and continue, in order.
 */
struct prefetch {
	struct kclient *c;
	const char *accept;
	const char *base;    /* path up to the query */
	const char *query;   /* selectors, "" or "?...&" style below */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct kresp slot[2];
	int filled[2], last[2], rc[2];
	char err[2][1024];
	int stop;
};

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;
	char cont[4096] = "";
	buf path = BUF_INIT(1 << 16);

	for (unsigned k = 0;; k++) {
		int s = (int)(k % 2), rc, last;

		pthread_mutex_lock(&p->mu);
		while (p->filled[s] && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		pthread_mutex_unlock(&p->mu);
		if (p->stop)
			break;
		buf_reset(&path);
		buf_printf(&path, "%s", p->base);
		if (cont[0]) {
			buf_printf(&path, "?continue=");
			kquery_escape(&path, cont);
		}
		buf_printf(&path, "%s%s", cont[0] ? (p->query[0] ? "&" : "") :
			   (p->query[0] ? "?" : ""), p->query);
		buf_printf(&path, "%slimit=%d", strchr(buf_cstr(&path), '?') ?
			   "&" : "?", g.chunk_size);
		rc = kclient_request(p->c, "GET", buf_cstr(&path), p->accept,
				     NULL, NULL, 0, &p->slot[s], p->err[s],
				     sizeof(p->err[s]));
		last = rc != KC_OK || p->slot[s].status != 200 ||
		       kjson_peek_string((const char *)p->slot[s].body.data,
					 p->slot[s].body.len, "metadata",
					 "continue", cont, sizeof(cont)) < 0 ||
		       !cont[0];
		pthread_mutex_lock(&p->mu);
		p->rc[s] = rc;
		p->last[s] = last;
		p->filled[s] = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (last)
			break;
	}
	buf_release(&path);
	return NULL;
}

/* Prints why a list failed: kubectl names the list for NotFound. */
static void list_failed(const json_t *res, const struct kresp *r)
{
	char reason[64];

	kstatus_reason((const char *)r->body.data, r->body.len, reason,
		       sizeof(reason));
	if (strcmp(reason, "NotFound") == 0) {
		char msg[2048], gvr[512];
		json_t *s = json_loadb((const char *)r->body.data, r->body.len, 0,
				       NULL);

		snprintf(gvr, sizeof(gvr), "%s/%s, Resource=%s",
			 json_string_value(json_object_get(res, "group")),
			 json_string_value(json_object_get(res, "version")),
			 json_string_value(json_object_get(res, "name")));
		snprintf(msg, sizeof(msg), "Error from server (NotFound): Unable "
			 "to list \"%s\": %s", gvr,
			 nz(json_string_value(json_object_get(s, "message"))));
		json_decref(s);
		k8s_fail("%s", msg);
	} else {
		k8s_fail_status(r);
	}
}

/*
 * --sort-by on a Table (its rows carry their objects).  As kubectl: a
 * table of one row is left alone; one whose objects all lack the field is
 * not printed (kubectl's sorting printer fails and nothing is written);
 * with several types kubectl refuses to sort at all (sort_failed 2).
 */
static int sort_table(struct getter *G, json_t *table)
{
	json_t *rows = json_object_get(table, "rows"), *sorted;
	size_t n = json_array_size(rows), *order;
	json_t **objs;
	char err[512];
	int found, rc = 0;

	if (G->multi_kind) {
		if (n) {
			G->sort_failed = 2;
			json_array_clear(rows);
		}
		return 0;
	}
	if (n < 2)
		return 0;
	objs = calloc(n, sizeof(*objs));
	order = calloc(n, sizeof(*order));
	sorted = json_array();
	if (!objs || !order || !sorted) {
		rc = k8s_fail("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		objs[i] = json_object_get(json_array_get(rows, i), "object");
		if (!objs[i])
			objs[i] = json_null();
	}
	if (ksort_order(G->sort_expr, objs, n, order, &found, err,
			sizeof(err)) < 0) {
		rc = k8s_fail("field {%s} cannot be sorted: %s", G->sort_expr,
			      err);
		goto out;
	}
	if (!found) {
		G->sort_failed = 1;
		json_array_clear(rows);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, json_array_get(rows, order[i]));
	json_object_set(table, "rows", sorted);
out:
	json_decref(sorted);
	free(objs);
	free(order);
	return rc;
}

/* One answer of a list: parsed and taken. */
static int take_chunk(struct getter *G, const json_t *res, struct kresp *r)
{
	json_t *v, *md;

	if (r->status != 200) {
		list_failed(res, r);
		G->errors++;
		return 0;
	}
	if (is_table(G) && !G->sort_expr[0])
		return take_table_text(G, res, r) ? K8S_EXIT_ERROR : 0;
	v = parse_body(r);
	if (!v)
		return K8S_EXIT_ERROR;
	md = json_object_get(v, "metadata");
	snprintf(G->last_rv, sizeof(G->last_rv), "%s",
		 nz(json_string_value(json_object_get(md, "resourceVersion"))));
	if (is_table(G) && sort_table(G, v)) {
		json_decref(v);
		return K8S_EXIT_ERROR;
	}
	if (take(G, res, v)) {
		json_decref(v);
		return K8S_EXIT_ERROR;
	}
	json_decref(v);
	return 0;
}

static int get_list(struct getter *G, const json_t *res)
{
	const char *ns = list_namespace(G);
	buf path = BUF_INIT(1 << 16), q = BUF_INIT(1 << 16);
	char err[1024];
	int rc = 0;

	if (kres_path(&path, res, ns, NULL) < 0) {
		rc = k8s_fail("namespace too long");
		goto out;
	}
	add_selectors(G, &q);
	if (g.chunk_size <= 0) {
		struct kresp r;

		memset(&r, 0, sizeof(r));
		buf_append(&path, q.data, q.len);
		if (kclient_request(&G->k.client, "GET", buf_cstr(&path),
				    accept_for(G), NULL, NULL, 0, &r, err,
				    sizeof(err)) != KC_OK)
			rc = k8s_fail("%s", err);
		else
			rc = take_chunk(G, res, &r);
		kresp_release(&r);
		goto out;
	}
	{
		struct prefetch p;
		pthread_t th;
		const char *query = buf_cstr(&q);

		memset(&p, 0, sizeof(p));
		p.c = &G->k.client;
		p.accept = accept_for(G);
		p.base = buf_cstr(&path);
		/* add_selectors() began with '?': the fetcher places it. */
		p.query = query[0] == '?' ? query + 1 : query;
		pthread_mutex_init(&p.mu, NULL);
		pthread_cond_init(&p.cv, NULL);
		if (pthread_create(&th, NULL, prefetch_main, &p) != 0) {
			rc = k8s_fail("cannot start a thread");
			goto out;
		}
		for (unsigned k = 0;; k++) {
			int s = (int)(k % 2), last;

			pthread_mutex_lock(&p.mu);
			while (!p.filled[s])
				pthread_cond_wait(&p.cv, &p.mu);
			last = p.last[s];
			pthread_mutex_unlock(&p.mu);
			if (p.rc[s] != KC_OK)
				rc = k8s_fail("%s", p.err[s]);
			else if (!rc && !G->errors)
				rc = take_chunk(G, res, &p.slot[s]);
			kresp_release(&p.slot[s]);
			pthread_mutex_lock(&p.mu);
			p.filled[s] = 0;
			if (rc || G->errors)
				p.stop = 1;
			pthread_cond_broadcast(&p.cv);
			pthread_mutex_unlock(&p.mu);
			if (last || rc || G->errors)
				break;
		}
		pthread_join(th, NULL);
		for (int s = 0; s < 2; s++)
			kresp_release(&p.slot[s]);
		pthread_mutex_destroy(&p.mu);
		pthread_cond_destroy(&p.cv);
	}
out:
	buf_release(&path);
	buf_release(&q);
	return rc;
}

static void name_of(const json_t *obj, const json_t *res, char *out,
		    size_t outlen)
{
	char kg[256];
	const char *name = json_string_value(json_object_get(
		json_object_get(obj, "metadata"), "name"));

	kres_kind_group(res, kg, sizeof(kg));
	snprintf(out, outlen, "%s/%s", kg, name ? name : "");
}

/* Prints what json/yaml/name/jsonpath collected. */
static int print_items(struct getter *G, int single, const json_t *const *item_res)
{
	buf out = BUF_INIT(1u << 30);
	json_t *root;
	char err[512];
	int rc = 0;

	if (G->sort_expr[0] && !single && json_array_size(G->items)) {
		size_t n = json_array_size(G->items), *order;
		json_t **objs = calloc(n, sizeof(*objs)), *sorted = json_array();
		const json_t **res = calloc(n, sizeof(*res));
		int found = 0;

		order = calloc(n, sizeof(*order));
		if (!objs || !order || !res || !sorted) {
			rc = k8s_fail("out of memory");
		} else {
			for (size_t i = 0; i < n; i++)
				objs[i] = json_array_get(G->items, i);
			if (ksort_order(G->sort_expr, objs, n, order, &found,
					err, sizeof(err)) < 0)
				rc = k8s_fail("field {%s} cannot be sorted: %s",
					      G->sort_expr, err);
			else if (!found)
				rc = k8s_fail("couldn't find any field with "
					      "path \"{%s}\" in the list of "
					      "objects", G->sort_expr);
		}
		if (!rc) {
			for (size_t i = 0; i < n; i++) {
				json_array_append(sorted, objs[order[i]]);
				res[i] = item_res[order[i]];
			}
			json_array_clear(G->items);
			json_array_extend(G->items, sorted);
			memcpy((void *)item_res, res, n * sizeof(*res));
		}
		json_decref(sorted);
		free(objs);
		free(order);
		free(res);
		if (rc) {
			buf_release(&out);
			return rc;
		}
	}
	if (G->mode == OUT_COLUMNS) {
		struct ktab t;
		json_t *it;
		size_t i;

		/* kubectl prints nothing for one named object it could not
		 * get, the header for an empty list. */
		if (single && !json_array_size(G->items)) {
			buf_release(&out);
			return 0;
		}
		ktab_init(&t);
		if (!g.no_headers || G->cols_from_file)
			rc = kcolumns_header(&t, &G->cols);
		json_array_foreach(G->items, i, it) {
			if (rc)
				break;
			rc = kcolumns_row(&t, &G->cols, it, err, sizeof(err));
		}
		if (rc) {
			ktab_release(&t);
			buf_release(&out);
			return k8s_fail("%s", err);
		}
		rc = ktab_write(&t, stdout);
		ktab_release(&t);
		buf_release(&out);
		return rc < 0 ? CLI_EXIT_INTERNAL : 0;
	}
	if (G->mode == OUT_NAME) {
		json_t *it;
		size_t i;

		json_array_foreach(G->items, i, it) {
			char nm[1024];

			name_of(it, item_res[i], nm, sizeof(nm));
			buf_printf(&out, "%s\n", nm);
		}
		goto write;
	}
	if (single && json_array_size(G->items) == 1) {
		root = json_incref(json_array_get(G->items, 0));
	} else {
		root = json_pack("{sssOsss{ss}}", "apiVersion", "v1", "items",
				 G->items, "kind", "List", "metadata",
				 "resourceVersion", "");
	}
	if (G->mode == OUT_JSON)
		rc = kjson_emit(&out, root);
	else if (G->mode == OUT_YAML)
		rc = kyaml_emit(&out, root);
	else if (kjsonpath_run(G->jsonpath, root, &out, err, sizeof(err)) < 0) {
		json_decref(root);
		buf_release(&out);
		return k8s_fail("error executing jsonpath \"%s\": %s",
				G->jsonpath, err);
	}
	json_decref(root);
	if (rc < 0) {
		buf_release(&out);
		return k8s_fail("output too large");
	}
write:
	if (k8s_write(&out) < 0)
		rc = -1;
	buf_release(&out);
	return rc < 0 ? CLI_EXIT_INTERNAL : 0;
}

/* -w: print each change of res (or of one named object). */
struct watch_state {
	struct getter *G;
	const json_t *res;
	buf line;
	int failed;
};

/* One event of a get --watch: printed in the output's form; 1 (with
 * w->failed) for an ERROR event. */
static int watch_event(json_t *ev, void *ud)
{
	struct watch_state *w = ud;
	json_t *obj;
	const char *type;
	buf out = BUF_INIT(64u << 20);

	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (type && strcmp(type, "ERROR") == 0) {
		char msg[2048];
		char *text = json_dumps(obj, JSON_COMPACT);

		kstatus_message(500, text, text ? strlen(text) : 0, msg,
				sizeof(msg));
		free(text);
		k8s_fail("%s", msg);
		w->failed = 1;
		return 1;
	}
	if (w->G->mode == OUT_TABLE || w->G->mode == OUT_WIDE) {
		json_t *cols = json_object_get(obj, "columnDefinitions");

		if (json_array_size(cols) && !w->G->columns)
			w->G->columns = json_incref(cols);
		ktable_rows(&w->G->tab, obj, w->G->columns, &w->G->topts);
		ktab_flush(&w->G->tab, &out);
	} else if (w->G->mode == OUT_NAME) {
		char nm[1024];

		name_of(obj, w->res, nm, sizeof(nm));
		buf_printf(&out, "%s\n", nm);
	} else if (w->G->mode == OUT_JSON) {
		kjson_emit(&out, obj);
	} else if (w->G->mode == OUT_YAML) {
		buf_printf(&out, "---\n");
		kyaml_emit(&out, obj);
	} else if (w->G->mode == OUT_COLUMNS) {
		char err[512];

		if (kcolumns_row(&w->G->tab, &w->G->cols, obj, err,
				 sizeof(err)) == 0)
			ktab_flush(&w->G->tab, &out);
	} else {
		char err[512];

		kjsonpath_run(w->G->jsonpath, obj, &out, err, sizeof(err));
	}
	k8s_write(&out);
	fflush(stdout);
	buf_release(&out);
	return 0;
}

static int on_watch_data(void *ud, const char *p, size_t n)
{
	struct watch_state *w = ud;
	int rc = k8s_watch_feed(&w->line, p, n, watch_event, w);

	if (rc < 0) {
		k8s_fail("a watch event is too large");
		w->failed = 1;
	}
	return rc != 0;
}

static int watch(struct getter *G, const json_t *res, const char *name)
{
	buf path = BUF_INIT(1 << 16);
	struct watch_state w = { G, res, BUF_INIT(64u << 20), 0 };
	struct kresp r;
	char err[1024];
	int rc = 0;

	memset(&r, 0, sizeof(r));
	kres_path(&path, res, name ? k8s_namespace(&G->k) : list_namespace(G),
		  NULL);
	if (name) {
		buf sel = BUF_INIT(4096);

		buf_printf(&sel, "metadata.name=%s", name);
		buf_printf(&path, "?fieldSelector=");
		kquery_escape(&path, buf_cstr(&sel));
		buf_release(&sel);
	} else {
		add_selectors(G, &path);
	}
	buf_printf(&path, "%sresourceVersion=", strchr(buf_cstr(&path), '?') ? "&" : "?");
	kquery_escape(&path, G->last_rv);
	buf_printf(&path, "&watch=true");
	if (kclient_stream(&G->k.client, buf_cstr(&path), accept_for(G),
			   on_watch_data, &w, &r, err, sizeof(err)) != KC_OK)
		rc = k8s_fail("%s", err);
	else if (r.status != 200)
		rc = k8s_fail_status(&r);
	else if (w.failed)
		rc = K8S_EXIT_ERROR;
	kresp_release(&r);
	buf_release(&w.line);
	buf_release(&path);
	return rc;
}

static int parse_output(struct getter *G, struct cli *cli)
{
	const char *o = g.output;

	if (!o || !*o)
		G->mode = OUT_TABLE;
	else if (strcmp(o, "wide") == 0)
		G->mode = OUT_WIDE;
	else if (strcmp(o, "json") == 0)
		G->mode = OUT_JSON;
	else if (strcmp(o, "yaml") == 0)
		G->mode = OUT_YAML;
	else if (strcmp(o, "name") == 0)
		G->mode = OUT_NAME;
	else if (strncmp(o, "jsonpath=", 9) == 0 && o[9]) {
		G->mode = OUT_JSONPATH;
		G->jsonpath = o + 9;
	} else if (strncmp(o, "custom-columns=", 15) == 0 ||
		   strcmp(o, "custom-columns") == 0) {
		char err[512];

		G->mode = OUT_COLUMNS;
		if (kcolumns_from_spec(&G->cols, o[14] ? o + 15 : "", err,
				       sizeof(err)) < 0)
			return cli_usage_error(cli, "%s", err);
	} else if (strncmp(o, "custom-columns-file=", 20) == 0 && o[20]) {
		char err[1024];

		G->mode = OUT_COLUMNS;
		G->cols_from_file = 1;
		if (kcolumns_from_file(&G->cols, o + 20, err, sizeof(err)) < 0)
			return cli_usage_error(cli, "%s", err);
	} else
		return cli_usage_error(cli, "unable to match a printer suitable "
				       "for the output format \"%s\", allowed "
				       "formats are: custom-columns, "
				       "custom-columns-file, json, jsonpath, "
				       "name, wide, yaml", o);
	G->topts.wide = G->mode == OUT_WIDE;
	if (g.sort_by) {
		char err[512];

		if (krelaxed_jsonpath(g.sort_by, G->sort_expr,
				      sizeof(G->sort_expr), err,
				      sizeof(err)) < 0)
			return cli_usage_error(cli, "--sort-by '%s': %s",
					       g.sort_by, err);
		if (G->sort_expr[0])
			g.chunk_size = 0; /* kubectl sorts one whole list */
	}
	return CLI_PROCEED;
}

#define MAX_REQUESTS 256

int k8s_get(struct cli *cli)
{
	struct getter G;
	struct request reqs[MAX_REQUESTS];
	size_t nreq = 0, nkinds = 0;
	const json_t *kinds[MAX_REQUESTS];
	int rc, single;

	memset(&G, 0, sizeof(G));
	rc = parse_output(&G, cli);
	if (rc != CLI_PROCEED)
		return rc;
	G.topts.show_labels = g.show_labels;
	G.topts.no_headers = g.no_headers;
	if (g.label_columns.n) {
		static const char *cols[OPT_LIST_MAX + 1];

		for (int i = 0; i < g.label_columns.n; i++)
			cols[i] = g.label_columns.v[i];
		cols[g.label_columns.n] = NULL;
		G.topts.label_columns = cols;
	}
	rc = k8s_open(&G.k);
	if (rc != CLI_PROCEED)
		return rc;
	rc = k8s_discover(&G.k);
	if (rc != CLI_PROCEED)
		goto out;
	/* TYPE/NAME... or TYPE[,TYPE] [NAME...]. */
	if (strchr(cli->args[0], '/')) {
		for (int i = 0; i < cli->nargs; i++) {
			char type[256];
			const char *slash = strchr(cli->args[i], '/');

			if (!slash || !slash[1] || slash == cli->args[i]) {
				rc = k8s_fail("there is no need to specify a "
					      "resource type as a separate "
					      "argument when passing arguments "
					      "in resource/name form (e.g. "
					      "'vcli k8s get resource/<resource_name>' "
					      "instead of 'vcli k8s get resource "
					      "resource/<resource_name>'");
				goto out;
			}
			snprintf(type, sizeof(type), "%.*s",
				 (int)(slash - cli->args[i]), cli->args[i]);
			reqs[nreq].res = k8s_resource(&G.k, type);
			if (!reqs[nreq].res) {
				rc = K8S_EXIT_ERROR;
				goto out;
			}
			reqs[nreq++].name = slash + 1;
		}
	} else {
		char types[1024], *save = NULL, *t;

		snprintf(types, sizeof(types), "%s", cli->args[0]);
		for (t = strtok_r(types, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			const json_t *res = k8s_resource(&G.k, t);

			if (!res) {
				rc = K8S_EXIT_ERROR;
				goto out;
			}
			if (cli->nargs == 1) {
				reqs[nreq].res = res;
				reqs[nreq++].name = NULL;
			}
			for (int i = 1; i < cli->nargs && nreq < MAX_REQUESTS; i++) {
				reqs[nreq].res = res;
				reqs[nreq++].name = cli->args[i];
			}
		}
	}
	for (size_t i = 0; i < nreq; i++) {
		size_t k;

		for (k = 0; k < nkinds && kinds[k] != reqs[i].res; k++)
			;
		if (k == nkinds)
			kinds[nkinds++] = reqs[i].res;
	}
	G.multi_kind = nkinds > 1;
	if ((g.watch || g.watch_only) && nreq != 1) {
		rc = k8s_fail("watch is only supported on individual resources "
			      "and resource collections, but %zu resources "
			      "were found", nreq);
		goto out;
	}
	ktab_init(&G.tab);
	G.items = json_array();
	{
		const json_t **item_res = calloc(1, sizeof(*item_res));
		size_t cap = 1;

		for (size_t i = 0; i < nreq; i++) {
			size_t before = json_array_size(G.items);

			if (k8s_flags.all_namespaces && reqs[i].name) {
				rc = k8s_fail("a resource cannot be retrieved "
					      "by name across all namespaces");
				free(item_res);
				goto out;
			}
			rc = reqs[i].name ? get_one(&G, reqs[i].res, reqs[i].name)
					  : get_list(&G, reqs[i].res);
			if (rc)
				break;
			if (json_array_size(G.items) > cap) {
				cap = json_array_size(G.items) * 2;
				item_res = realloc(item_res, cap * sizeof(*item_res));
			}
			for (size_t k = before; k < json_array_size(G.items); k++)
				item_res[k] = reqs[i].res;
		}
		if (rc) {
			free(item_res);
			goto out;
		}
		if (is_table(&G) && G.sort_failed == 2) {
			rc = k8s_fail("couldn't find any field with path "
				      "\"{%s}\" in the list of objects",
				      G.sort_expr);
		} else if (is_table(&G)) {
			if (!g.watch_only) {
				if (ktab_write(&G.tab, stdout) < 0)
					rc = CLI_EXIT_INTERNAL;
			} else {
				ktab_release(&G.tab);
				ktab_init(&G.tab);
			}
		} else if (!g.watch_only) {
			single = nreq == 1 && reqs[0].name != NULL;
			rc = print_items(&G, single, item_res);
		}
		free(item_res);
	}
	if (!rc && !G.rows && !G.errors && !g.watch && !g.watch_only &&
	    (G.mode == OUT_TABLE || G.mode == OUT_WIDE)) {
		int namespaced = 1;

		for (size_t i = 0; i < nreq; i++)
			if (!json_is_true(json_object_get(reqs[i].res, "namespaced")))
				namespaced = 0;
		fflush(stdout);
		if (k8s_flags.all_namespaces || !namespaced)
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n",
				k8s_namespace(&G.k));
	}
	if (!rc && !G.errors && (g.watch || g.watch_only)) {
		fflush(stdout);
		rc = watch(&G, reqs[0].res, reqs[0].name);
	}
	if (!rc && G.errors)
		rc = K8S_EXIT_ERROR;
out:
	ktab_release(&G.tab);
	kcolumns_release(&G.cols);
	json_decref(G.items);
	json_decref(G.columns);
	free((char *)G.topts.kind_prefix);
	k8s_close(&G.k);
	return rc;
}
