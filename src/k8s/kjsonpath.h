/*
 * Private to the k8s library: kubectl's JSONPath templates
 * (-o jsonpath=TEMPLATE); kjsonpath.c lists what is supported.
 */
#ifndef VCLI_K8S_KJSONPATH_H
#define VCLI_K8S_KJSONPATH_H

#include <jansson.h>

#include "common/buf.h"

/* Runs tmpl over root, appending the text to out.  Returns 0, or -1 with
 * err set (a malformed template). */
int kjsonpath_run(const char *tmpl, const json_t *root, buf *out, char *err,
		  size_t errlen);

/* Evaluates one expression (what goes between braces: ".a.b[0]"),
 * appending each value it finds to the array out (borrowed references
 * made owned by the array).  Returns 0, or -1 with err set. */
int kjsonpath_eval(const char *expr, const json_t *root, json_t *out,
		   char *err, size_t errlen);

#endif
