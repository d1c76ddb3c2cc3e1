/*
 * Private to vcli: the cluster action of a governance decision, for
 * vcli gov approve --execute (action.c).  Kept apart from k8s.h so that
 * cmd_gov.c needs nothing else of the k8s code.
 */
#ifndef VCLI_CLI_K8S_ACTION_H
#define VCLI_CLI_K8S_ACTION_H

#include <stddef.h>

/*
 * A governance decision's cluster action (vcli gov approve --execute):
 * type is k8s.scale, k8s.delete, k8s.rollout_restart or k8s.apply, the
 * parameters its map (resource, name, namespace, replicas, propagation,
 * grace_period, manifest, field_manager).  prepare() checks it against the
 * current context without changing anything — the object exists, a
 * SelfSubjectAccessReview allows it — and returns CLI_PROCEED with *out
 * set, or the exit code after printing why (9 bad parameters, 7 no such
 * object, 10 not allowed, 3 cluster unreachable).  run() carries it out:
 * 0 with the outcome in outcome, or -1 with the failure there.
 */
struct k8s_action;
int k8s_action_prepare(struct k8s_action **out, const char *type,
		       const char *const *keys, const char *const *vals,
		       size_t n);
const char *k8s_action_describe(const struct k8s_action *a);
/* Where it runs, for the record: "context kind-prod, cluster https://...". */
void k8s_action_target(const struct k8s_action *a, char *out, size_t outlen);
int k8s_action_run(struct k8s_action *a, char *outcome, size_t outlen);
void k8s_action_free(struct k8s_action *a);

#endif
