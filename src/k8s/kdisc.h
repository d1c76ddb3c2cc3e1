/*
 * Private to the k8s library: API discovery and resource names.
 *
 * kdisc_load() asks the server what it serves (/api, /api/v1, /apis and
 * every group version), or takes the answer from the disk cache when it is
 * younger than KDISC_TTL: <cache dir>/vcli-discovery/<host_port>.json, the
 * cache dir being --cache-dir, $KUBECACHEDIR or ~/.kube/cache as for
 * kubectl.  A group version that fails (an aggregated API that is down) is
 * left out, as kubectl leaves it out with a warning.
 *
 * Each resource is a JSON object as the server lists it (name,
 * singularName, kind, namespaced, shortNames, verbs) plus "group",
 * "version" and "preferred".  Subresources are not listed.
 */
#ifndef VCLI_K8S_KDISC_H
#define VCLI_K8S_KDISC_H

#include <jansson.h>

#include "k8s/kclient.h"

/* kubectl's discovery cache lives six hours. */
#define KDISC_TTL (6 * 3600)

struct kdisc {
	json_t *resources; /* array, core first, preferred versions first */
	int from_cache;
	char cache_file[4200];
	char warnings[1024]; /* groups left out, for stderr */
};

/* Fills d.  refresh ignores the cache.  Returns 0, or -1 with err set
 * (the server's /api or /apis failed). */
int kdisc_load(struct kdisc *d, struct kclient *c, const char *cache_dir,
	       int refresh, char *err, size_t errlen);
void kdisc_release(struct kdisc *d);

/*
 * The resource a command-line name means: plural ("pods"), singular
 * ("pod"), short name ("po"), kind ("Pod"), each optionally qualified by
 * group ("deployments.apps", "deploy.apps") or version and group
 * ("deployments.v1.apps"); case does not matter.  Preferred versions win,
 * then the core group, then groups in the server's order.  NULL when
 * nothing matches.
 */
const json_t *kdisc_find(const struct kdisc *d, const char *name);

/* Resolves name, loading discovery again (ignoring the cache) once when a
 * cached answer does not know it, as kubectl does.  NULL with err set to
 * kubectl's message when the server does not know it either. */
const json_t *kdisc_resolve(struct kdisc *d, struct kclient *c,
			    const char *cache_dir, const char *name,
			    char *err, size_t errlen);

/* "deployment.apps" / "pod": the kind in lower case and the group, as
 * -o name prints a resource. */
void kres_kind_group(const json_t *r, char *out, size_t outlen);

/* The path of a resource: "/api/v1" or "/apis/G/V", then
 * "/namespaces/NS" when ns is not NULL and the resource is namespaced, then
 * "/plural", then "/name" when name is not NULL.  Returns 0 or -1. */
int kres_path(buf *b, const json_t *r, const char *ns, const char *name);

/* 1 when the resource lists verb. */
int kres_has_verb(const json_t *r, const char *verb);

#endif
