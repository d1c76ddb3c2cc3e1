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

#endif
