/*
 * Sample data for demos (governd --demo): realistic proposals submitted
 * through the normal write path.  A fixed seed keeps every demo the same.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance.pb-c.h"
#include "store/store.h"

struct kind {
	const char *op_type;
	const char *ctx_key;
	const char *ctx_values[3];
	const char *factors[3];
	const char *action;
	const char *action_desc;
	const char *param_key;
};

static const struct kind kinds[] = {
	{ "block_ip", "source_ip", { "203.0.113.45", "198.51.100.7", "192.0.2.200" },
	  { "credential stuffing from this address", "2,400 failed logins in 10 minutes",
	    "address on two threat feeds" },
	  "firewall.block", "Block the address at the edge firewall for 24 hours", "cidr" },
	{ "quarantine_host", "host", { "build-agent-17", "db-replica-3", "laptop-fin-022" },
	  { "outbound beaconing to a known C2 domain", "unsigned binary spawned from Office",
	    "EDR verdict: likely ransomware staging" },
	  "edr.isolate", "Isolate the host from the network, keep EDR connected", "host" },
	{ "scale_deployment", "namespace", { "payments", "search", "checkout" },
	  { "p99 latency 4x the SLO for 15 minutes", "CPU saturation on all replicas",
	    "queue depth growing 12% per minute" },
	  "k8s.scale", "Scale the deployment from 6 to 14 replicas", "replicas" },
	{ "rotate_credentials", "service", { "billing-api", "ci-runner", "reporting-etl" },
	  { "secret found in a public repository", "token used from an unknown ASN",
	    "key older than the 90-day policy" },
	  "vault.rotate", "Rotate the service's database credentials and redeploy", "secret_path" },
	{ "disable_account", "account", { "svc-backup", "j.doe", "contractor-114" },
	  { "impossible travel between two logins", "MFA fatigue pattern detected",
	    "privilege escalation outside change window" },
	  "iam.disable", "Disable the account and revoke active sessions", "account" },
	{ "revoke_token", "client_id", { "mobile-app-ios", "partner-acme", "grafana-reader" },
	  { "token replayed from two continents", "scope broader than registered",
	    "refresh storm from a single device" },
	  "oauth.revoke", "Revoke the refresh tokens issued to the client", "client_id" },
	{ "isolate_network_segment", "segment", { "vlan-210-ot", "dmz-web", "lab-east" },
	  { "lateral movement across 6 hosts", "SMB scanning from an OT device",
	    "unexpected RDP between segments" },
	  "network.isolate", "Apply the isolation ACL to the segment's uplinks", "segment" },
	{ "rollback_deployment", "deployment", { "api-gateway", "recommendations", "auth" },
	  { "error rate 18% since the last rollout", "memory leak after version 2.14.0",
	    "health checks flapping" },
	  "k8s.rollout_undo", "Roll back to the previous ReplicaSet", "revision" },
};

static const char *const priorities[] = { "CRITICAL", "HIGH", "HIGH", "MEDIUM", "MEDIUM",
					  "MEDIUM", "LOW", "LOW" };
static const char *const agents[] = { "sentinel-ai", "autoscaler-agent", "soc-copilot",
				      "drift-detector" };
static const char *const principles[] = { "proportionality", "transparency",
					  "non-maleficence", "autonomy", "accountability" };
static const char *const operators[] = { "", "", "alice", "bob", "" };

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned pending;
	store_code first_error;
};

static void seeded_done(store_op *op)
{
	struct waiter *w = op->ud;

	pthread_mutex_lock(&w->lock);
	if (op->result != STORE_OK && w->first_error == STORE_OK)
		w->first_error = op->result;
	w->pending--;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* A small deterministic generator (xorshift): demos look the same. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint8_t *make_proposal(unsigned i, uint32_t *seed, size_t *len)
{
	const struct kind *k = &kinds[next_rand(seed) % (sizeof(kinds) / sizeof(kinds[0]))];
	const char *prio = priorities[next_rand(seed) % 8];
	Vertice__Governance__V1__Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Vertice__Governance__V1__Risk risk = VERTICE__GOVERNANCE__V1__RISK__INIT;
	Vertice__Governance__V1__EthicalAssessment eth = VERTICE__GOVERNANCE__V1__ETHICAL_ASSESSMENT__INIT;
	Vertice__Governance__V1__EthicalPrinciple p1 = VERTICE__GOVERNANCE__V1__ETHICAL_PRINCIPLE__INIT;
	Vertice__Governance__V1__EthicalPrinciple p2 = VERTICE__GOVERNANCE__V1__ETHICAL_PRINCIPLE__INIT;
	Vertice__Governance__V1__EthicalPrinciple *pp[2] = { &p1, &p2 };
	Vertice__Governance__V1__Action act = VERTICE__GOVERNANCE__V1__ACTION__INIT;
	Vertice__Governance__V1__Action *acts[1] = { &act };
	Vertice__Governance__V1__Decision__ContextEntry c1 =
		VERTICE__GOVERNANCE__V1__DECISION__CONTEXT_ENTRY__INIT;
	Vertice__Governance__V1__Decision__ContextEntry c2 =
		VERTICE__GOVERNANCE__V1__DECISION__CONTEXT_ENTRY__INIT;
	Vertice__Governance__V1__Decision__ContextEntry *ctx[2] = { &c1, &c2 };
	Vertice__Governance__V1__Risk__DetailsEntry det =
		VERTICE__GOVERNANCE__V1__RISK__DETAILS_ENTRY__INIT;
	Vertice__Governance__V1__Risk__DetailsEntry *dets[1] = { &det };
	Vertice__Governance__V1__Action__ParametersEntry par =
		VERTICE__GOVERNANCE__V1__ACTION__PARAMETERS_ENTRY__INIT;
	Vertice__Governance__V1__Action__ParametersEntry *pars[1] = { &par };
	char *factors[2];
	char *concerns[1];
	char detail[32], reasoning[200];
	const char *target = k->ctx_values[next_rand(seed) % 3];
	uint8_t *out;
	int rank = prio[0] == 'C' ? 0 : prio[0] == 'H' ? 1 : prio[0] == 'M' ? 2 : 3;
	static const int sla_by_rank[] = { 300, 900, 3600, 14400 };

	d.operation_type = (char *)k->op_type;
	d.priority = (char *)prio;
	d.sla_seconds = sla_by_rank[rank] + (int32_t)(next_rand(seed) % 600);
	d.assigned_operator = (char *)operators[next_rand(seed) % 5];
	c1.key = (char *)k->ctx_key;
	c1.value = (char *)target;
	c2.key = "requested_by";
	c2.value = (char *)agents[i % 4];
	d.n_context = 2;
	d.context = ctx;
	risk.score = (double)(40 + next_rand(seed) % 60) / 100.0;
	risk.level = (char *)prio;
	factors[0] = (char *)k->factors[next_rand(seed) % 3];
	factors[1] = (char *)k->factors[(next_rand(seed) + 1) % 3];
	risk.n_factors = factors[0] == factors[1] ? 1 : 2;
	risk.factors = factors;
	snprintf(detail, sizeof(detail), "%u", 1 + next_rand(seed) % 9);
	det.key = "affected_systems";
	det.value = detail;
	risk.n_details = 1;
	risk.details = dets;
	d.risk_assessment = &risk;
	p1.name = (char *)principles[next_rand(seed) % 5];
	p1.severity = (double)(next_rand(seed) % 70) / 100.0;
	p1.explanation = "The action is limited to the affected resource and reversible.";
	p2.name = "transparency";
	p2.severity = 0.2;
	p2.explanation = "Owners are notified and the action is logged with its evidence.";
	eth.n_principles = 2;
	eth.principles = pp;
	concerns[0] = "May interrupt legitimate users of the resource";
	eth.n_concerns = 1;
	eth.concerns = concerns;
	eth.confidence = (double)(60 + next_rand(seed) % 40) / 100.0;
	snprintf(reasoning, sizeof(reasoning), "Evidence supports %s on %s; impact is contained.",
		 k->op_type, target);
	eth.reasoning = reasoning;
	d.ethical_assessment = &eth;
	act.action_type = (char *)k->action;
	act.description = (char *)k->action_desc;
	par.key = (char *)k->param_key;
	par.value = (char *)target;
	act.n_parameters = 1;
	act.parameters = pars;
	act.confidence = (double)(70 + next_rand(seed) % 30) / 100.0;
	d.n_recommended_actions = 1;
	d.recommended_actions = acts;
	*len = vertice__governance__v1__decision__get_packed_size(&d);
	out = malloc(*len ? *len : 1);
	if (out)
		vertice__governance__v1__decision__pack(&d, out);
	return out;
}

store_code store_seed_demo(store *st, unsigned n)
{
	struct waiter w;
	store_op *ops = calloc(n ? n : 1, sizeof(*ops));
	uint8_t **props = calloc(n ? n : 1, sizeof(*props));
	uint32_t seed = 0x9e3779b9u;
	store_code rc;

	if (!ops || !props) {
		free(ops);
		free(props);
		return STORE_E_NOMEM;
	}
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	w.pending = n;
	w.first_error = STORE_OK;
	for (unsigned i = 0; i < n; i++) {
		size_t len = 0;
		props[i] = make_proposal(i, &seed, &len);
		ops[i].kind = STORE_OP_SUBMIT;
		ops[i].proposal = props[i];
		ops[i].proposal_len = len;
		ops[i].done = seeded_done;
		ops[i].ud = &w;
		if (!props[i]) {
			pthread_mutex_lock(&w.lock);
			w.pending--;
			w.first_error = STORE_E_NOMEM;
			pthread_mutex_unlock(&w.lock);
			continue;
		}
		store_submit(st, &ops[i]);
	}
	pthread_mutex_lock(&w.lock);
	while (w.pending)
		pthread_cond_wait(&w.cond, &w.lock);
	rc = w.first_error;
	pthread_mutex_unlock(&w.lock);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cond);
	for (unsigned i = 0; i < n; i++)
		free(props[i]);
	free(props);
	free(ops);
	return rc;
}
