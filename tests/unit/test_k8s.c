/*
 * Unit tests of the k8s library's pure parts: YAML and JSON as kubectl
 * writes them, the tabwriter, JSONPath, resource names, kubeconfig merging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "k8s/kcolumns.h"
#include "k8s/kdisc.h"
#include "k8s/kjsonpath.h"
#include "k8s/kprint.h"
#include "k8s/kubeconfig.h"
#include "k8s/kyaml.h"

static char *yaml_of(const char *json)
{
	json_t *v = json_loads(json, 0, NULL);
	buf b = BUF_INIT(1 << 20);
	char *s;

	assert_non_null(v);
	assert_int_equal(kyaml_emit(&b, v), 0);
	json_decref(v);
	s = strndup((const char *)b.data, b.len);
	buf_release(&b);
	return s;
}

static void test_yaml_emit(void **state)
{
	char *s;

	(void)state;
	s = yaml_of("{\"kind\":\"List\",\"items\":[{\"b\":1,\"a\":\"x\"}],"
		    "\"metadata\":{\"resourceVersion\":\"\"},\"e\":{},\"l\":[]}");
	assert_string_equal(s, "e: {}\nitems:\n- a: x\n  b: 1\nkind: List\n"
			       "l: []\nmetadata:\n  resourceVersion: \"\"\n");
	free(s);
	/* Strings that would read back as something else are quoted. */
	s = yaml_of("{\"a\":\"true\",\"b\":\"on\",\"c\":\"10\",\"d\":"
		    "\"2026-11-24T01:32:48Z\",\"e\":\"1.5\",\"f\":\"null\","
		    "\"g\":\"web-1\",\"h\":\"a\\nb\\n\",\"i\":0.5}");
	assert_string_equal(s, "a: \"true\"\nb: \"on\"\nc: \"10\"\n"
			       "d: \"2026-11-24T01:32:48Z\"\ne: \"1.5\"\n"
			       "f: \"null\"\ng: web-1\nh: |\n  a\n  b\ni: 0.5\n");
	free(s);
}

static void test_yaml_load(void **state)
{
	const char *text = "a: 1\nb: yes\nc: '1'\nd: ~\ne: [x, 2.5]\n---\n"
			   "---\nkind: Pod\n";
	char err[256];
	json_t *docs = kyaml_load_all(text, strlen(text), err, sizeof(err));
	json_t *d;

	(void)state;
	assert_non_null(docs);
	assert_int_equal(json_array_size(docs), 2);
	d = json_array_get(docs, 0);
	assert_int_equal(json_integer_value(json_object_get(d, "a")), 1);
	assert_true(json_is_true(json_object_get(d, "b")));
	assert_string_equal(json_string_value(json_object_get(d, "c")), "1");
	assert_true(json_is_null(json_object_get(d, "d")));
	assert_true(json_is_real(json_array_get(json_object_get(d, "e"), 1)));
	json_decref(docs);
	text = "a: [1, 2\n";
	assert_null(kyaml_load_all(text, strlen(text), err, sizeof(err)));
	assert_non_null(strstr(err, "line"));
	text = "a: &x 1\nb: *x\n";
	assert_null(kyaml_load_all(text, strlen(text), err, sizeof(err)));
	assert_non_null(strstr(err, "aliases"));
}

static void test_json_emit(void **state)
{
	json_t *v = json_loads("{\"b\":[1,{\"z\":\"<&>\"}],\"a\":{},\"c\":[]}",
			       0, NULL);
	buf b = BUF_INIT(1 << 20);

	(void)state;
	assert_int_equal(kjson_emit(&b, v), 0);
	assert_string_equal(buf_cstr(&b),
			    "{\n    \"a\": {},\n    \"b\": [\n        1,\n"
			    "        {\n            \"z\": \"\\u003c\\u0026\\u003e\"\n"
			    "        }\n    ],\n    \"c\": []\n}\n");
	json_decref(v);
	buf_release(&b);
}

static void test_ktab(void **state)
{
	struct ktab t;
	buf out = BUF_INIT(1 << 20);

	(void)state;
	ktab_init(&t);
	ktab_printf(&t, "NAME\tREADY\tAGE\nweb-1\t1/1\t3d\n\nX\tYY\n");
	assert_int_equal(ktab_flush(&t, &out), 0);
	/* A blank line ends a block of columns. */
	assert_string_equal(buf_cstr(&out), "NAME    READY   AGE\n"
					    "web-1   1/1     3d\n\nX     YY\n");
	ktab_release(&t);
	buf_release(&out);
}

static void test_jsonpath(void **state)
{
	json_t *v = json_loads("{\"items\":[{\"n\":\"a\",\"k\":1},{\"n\":\"b\","
			       "\"k\":2}],\"m\":{\"x.y\":\"z\"}}", 0, NULL);
	buf b = BUF_INIT(1 << 20);
	char err[256];

	(void)state;
	assert_int_equal(kjsonpath_run("{.items[*].n}", v, &b, err,
				       sizeof(err)), 0);
	assert_string_equal(buf_cstr(&b), "a b");
	buf_reset(&b);
	assert_int_equal(kjsonpath_run("{range .items[*]}{.n}={.k}{\"\\n\"}{end}",
				       v, &b, err, sizeof(err)), 0);
	assert_string_equal(buf_cstr(&b), "a=1\nb=2\n");
	buf_reset(&b);
	assert_int_equal(kjsonpath_run("{.items[?(@.k>1)].n} {.items[-1:].k}"
				       " {.m.x\\.y} {.missing}", v, &b, err,
				       sizeof(err)), 0);
	assert_string_equal(buf_cstr(&b), "b 2 z ");
	assert_int_equal(kjsonpath_run("{.items[0", v, &b, err, sizeof(err)),
			 -1);
	json_decref(v);
	buf_release(&b);
}

static void test_resource_names(void **state)
{
	struct kdisc d;
	const json_t *r;
	char kg[64];

	(void)state;
	memset(&d, 0, sizeof(d));
	d.resources = json_loads(
		"[{\"name\":\"pods\",\"singularName\":\"pod\",\"kind\":\"Pod\","
		"\"shortNames\":[\"po\"],\"group\":\"\",\"version\":\"v1\","
		"\"namespaced\":true,\"preferred\":true},"
		"{\"name\":\"deployments\",\"singularName\":\"deployment\","
		"\"kind\":\"Deployment\",\"shortNames\":[\"deploy\"],\"group\":"
		"\"apps\",\"version\":\"v1\",\"namespaced\":true,\"preferred\":true},"
		"{\"name\":\"pods\",\"singularName\":\"\",\"kind\":\"PodMetrics\","
		"\"group\":\"metrics.k8s.io\",\"version\":\"v1beta1\","
		"\"namespaced\":true,\"preferred\":true}]", 0, NULL);
	assert_non_null(d.resources);
	for (const char *const *n = (const char *const[]){ "pods", "pod", "po",
		"Pod", "PODS", NULL }; *n; n++) {
		r = kdisc_find(&d, *n);
		assert_non_null(r);
		assert_string_equal(json_string_value(json_object_get(r, "group")), "");
	}
	r = kdisc_find(&d, "pods.metrics.k8s.io");
	assert_string_equal(json_string_value(json_object_get(r, "kind")), "PodMetrics");
	r = kdisc_find(&d, "deploy.apps");
	assert_non_null(r);
	r = kdisc_find(&d, "deployments.v1.apps");
	assert_non_null(r);
	kres_kind_group(r, kg, sizeof(kg));
	assert_string_equal(kg, "deployment.apps");
	assert_null(kdisc_find(&d, "deployments.v2.apps"));
	assert_null(kdisc_find(&d, "nothing"));
	json_decref(d.resources);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_kubeconfig_merge(void **state)
{
	char dir[] = "/tmp/vcli-kcfg-XXXXXX", a[64], b[64], env[200], err[256];
	struct kcfg c;
	struct kcfg_flags fl;
	struct kconn k;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	write_text(a, "clusters:\n- name: c\n  cluster: {server: 'https://one:6443/',"
		      " certificate-authority: ca.pem}\ncontexts:\n- name: xx\n"
		      "  context: {cluster: c, user: u}\nusers:\n- name: u\n"
		      "  user: {token: t1}\n");
	write_text(b, "clusters:\n- name: c\n  cluster: {server: https://two}\n"
		      "contexts:\n- name: yy\n  context: {cluster: c, user: u, "
		      "namespace: ns2}\ncurrent-context: yy\nusers:\n- name: u\n"
		      "  user: {client-key-data: '!!notbase64'}\n");
	snprintf(env, sizeof(env), "%s:%s/missing:%s", a, dir, b);
	setenv("KUBECONFIG", env, 1);
	if (kcfg_load(&c, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.current_context, "yy");
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(kcfg_connection(&c, &fl, &k, err, sizeof(err)), 0);
	/* The first file's cluster and user win; the context says ns2. */
	assert_string_equal(k.server, "https://one:6443");
	assert_string_equal(k.namespace, "ns2");
	assert_string_equal(k.token, "t1");
	assert_non_null(strstr(k.ca_file, "/ca.pem"));
	assert_int_equal(strncmp(k.ca_file, dir, strlen(dir)), 0);
	kconn_release(&k);
	fl.context = "nope";
	assert_int_equal(kcfg_connection(&c, &fl, &k, err, sizeof(err)), -1);
	assert_string_equal(err, "context \"nope\" does not exist");
	fl.context = "xx";
	fl.namespace = "flagged";
	assert_int_equal(kcfg_connection(&c, &fl, &k, err, sizeof(err)), 0);
	assert_string_equal(k.namespace, "flagged");
	kconn_release(&k);
	kcfg_release(&c);
	unlink(a);
	unlink(b);
	rmdir(dir);
	unsetenv("KUBECONFIG");
}

/* kubectl's --sort-by order and Go's fmt.Sprint of values. */
static void test_columns_sort(void **state)
{
	(void)state;
	json_t *v = json_loads("[{\"x\":\"a10\"},{\"x\":\"a9\"},{\"x\":\"2k\"},"
			       "{\"x\":\"9\"},{},{\"x\":\"1Mi\"},{\"x\":\"10\"}]",
			       0, NULL);
	json_t *objs[7];
	size_t order[7];
	int found;
	char err[256], rel[64];
	buf b = BUF_INIT(4096);
	struct kcolumns c;

	for (int i = 0; i < 7; i++)
		objs[i] = json_array_get(v, (size_t)i);
	assert_int_equal(ksort_order(".x", objs, 7, order, &found, err,
				     sizeof(err)), 0);
	assert_true(found);
	/* Missing first; quantities by value; a10 < a9 byte-wise; insertion
	 * sort with kubectl's comparator ("9" < "2k", "a9" > "2k"). */
	{
		static const size_t want[7] = { 4, 3, 6, 2, 5, 0, 1 };

		for (int i = 0; i < 7; i++)
			assert_int_equal(order[i], want[i]);
	}
	json_decref(v);
	v = json_loads("[{\"n\":3},{\"n\":\"x\"}]", 0, NULL);
	objs[0] = json_array_get(v, 0);
	objs[1] = json_array_get(v, 1);
	assert_int_equal(ksort_order(".n", objs, 2, order, &found, err,
				     sizeof(err)), -1);
	json_decref(v);

	v = json_loads("{\"a\":[1,2.5,true,null,\"s\"],\"m\":{\"b\":1,\"a\":{}},"
		       "\"f\":1e21,\"g\":0.00001}", 0, NULL);
	kgo_sprint(&b, v);
	assert_string_equal(buf_cstr(&b),
			    "map[a:[1 2.5 true <nil> s] f:1e+21 g:1e-05 m:map[a:map[] b:1]]");
	json_decref(v);
	buf_release(&b);

	assert_int_equal(krelaxed_jsonpath("{.a.b}", rel, sizeof(rel), err,
					   sizeof(err)), 0);
	assert_string_equal(rel, ".a.b");
	assert_int_equal(krelaxed_jsonpath("a.b", rel, sizeof(rel), err,
					   sizeof(err)), 0);
	assert_string_equal(rel, ".a.b");
	assert_int_equal(krelaxed_jsonpath("{{x}}", rel, sizeof(rel), err,
					   sizeof(err)), -1);
	assert_int_equal(kcolumns_from_spec(&c, "N:.metadata.name,X:{.spec.x}",
					    err, sizeof(err)), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.expr[1], ".spec.x");
	kcolumns_release(&c);
	assert_int_equal(kcolumns_from_spec(&c, "NAME", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected <header>:<json-path-expr>"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_emit),
		cmocka_unit_test(test_yaml_load),
		cmocka_unit_test(test_json_emit),
		cmocka_unit_test(test_ktab),
		cmocka_unit_test(test_jsonpath),
		cmocka_unit_test(test_resource_names),
		cmocka_unit_test(test_kubeconfig_merge),
		cmocka_unit_test(test_columns_sort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
