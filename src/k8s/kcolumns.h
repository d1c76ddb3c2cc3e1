/*
 * Private to the k8s library: kubectl get's -o custom-columns printer and
 * its --sort-by ordering, both driven by JSONPath expressions
 * (kjsonpath.h).
 */
#ifndef VCLI_K8S_KCOLUMNS_H
#define VCLI_K8S_KCOLUMNS_H

#include <stddef.h>

#include <jansson.h>

#include "k8s/kprint.h"

#define KCOLUMNS_MAX 64

struct kcolumns {
	size_t n;
	char *header[KCOLUMNS_MAX];
	char *expr[KCOLUMNS_MAX]; /* ".a.b" (what goes between braces) */
};

/*
 * kubectl's RelaxedJSONPathExpression: "a.b", ".a.b", "{a.b}" and
 * "{.a.b}" all become ".a.b" in out; "" stays "".  Returns 0, or -1 (with
 * kubectl's message in err) for anything else.
 */
int krelaxed_jsonpath(const char *in, char *out, size_t outlen, char *err,
		      size_t errlen);

/* "NAME:.metadata.name,IP:.status.podIP". Returns 0 or -1 with err. */
int kcolumns_from_spec(struct kcolumns *c, const char *spec, char *err,
		       size_t errlen);
/* A file: one line of headers, one line of expressions (whitespace
 * separated). Returns 0 or -1 with err. */
int kcolumns_from_file(struct kcolumns *c, const char *path, char *err,
		       size_t errlen);
void kcolumns_release(struct kcolumns *c);

/* The header line into t. */
int kcolumns_header(struct ktab *t, const struct kcolumns *c);
/* One object's line: each column's values joined by ',' (printed as Go's
 * fmt.Sprint prints them), "<none>" when there is none. */
int kcolumns_row(struct ktab *t, const struct kcolumns *c, const json_t *obj,
		 char *err, size_t errlen);

/*
 * --sort-by: fills order[0..n) with the indices of objs sorted by the
 * first value expr finds in each (kubectl's rules: numbers as numbers,
 * strings as resource quantities when both are, else byte order; an
 * object without the field first).  *found is set when at least one
 * object has the field.  Returns 0, or -1 with err (a malformed
 * expression, values that cannot be compared).
 */
int ksort_order(const char *expr, json_t *const *objs, size_t n,
		size_t *order, int *found, char *err, size_t errlen);

/* Go's fmt.Sprint of a decoded JSON value (map[a:1 b:x], [a b], <nil>). */
int kgo_sprint(buf *out, const json_t *v);

#endif
