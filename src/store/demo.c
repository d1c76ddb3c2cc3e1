/*
 * Sample data for demos (governd --demo): realistic proposals submitted
 * through the normal write path (store_submit), as a producer would.  A
 * fixed seed keeps every demo the same.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance.pb-c.h"
#include "store/store.h"

typedef Vertice__Governance__V1__Decision Decision;
typedef Vertice__Governance__V1__Decision__ContextEntry ContextEntry;
typedef Vertice__Governance__V1__Risk__DetailsEntry DetailsEntry;
typedef Vertice__Governance__V1__Action__ParametersEntry ParamEntry;

/* One kind of operation an AI system proposes, with what it says. */
struct kind {
	const char *op_type;
	const char *ctx_key;              /* what the operation targets */
	const char *targets[3];
	const char *factors[4];
	const char *concerns[2];
	const char *action, *action_desc, *param_key;
	const char *followup, *followup_desc;
	const char *extra[4];             /* more parameters of the action:
					     key, value, key, value */
};

static const struct kind kinds[] = {
	{ "block_ip", "source_ip", { "203.0.113.45", "198.51.100.7", "192.0.2.200" },
	  { "2,400 failed logins in 10 minutes", "address on two threat feeds",
	    "credential stuffing pattern across 310 accounts", "traffic from a hosting ASN" },
	  { "Shared NAT: legitimate users behind the address are blocked too",
	    "Attacker can rotate to another address within minutes" },
	  "firewall.block", "Block the address at the edge firewall for 24 hours", "cidr",
	  "siem.watch", "Alert on new addresses hitting the same accounts", { NULL } },
	{ "quarantine_host", "host", { "build-agent-17", "db-replica-3", "laptop-fin-022" },
	  { "outbound beaconing to a known C2 domain", "unsigned binary spawned from Office",
	    "EDR verdict: likely ransomware staging", "new scheduled task at 03:12" },
	  { "The host serves production traffic; isolation drops its sessions",
	    "Forensic evidence in memory is lost if the host reboots" },
	  "edr.isolate", "Isolate the host from the network, keep the EDR channel", "host",
	  "forensics.snapshot", "Take a memory snapshot before any remediation", { NULL } },
	{ "scale_deployment", "namespace", { "payments", "search", "checkout" },
	  { "p99 latency 4x the SLO for 15 minutes", "CPU saturation on all replicas",
	    "queue depth growing 12% per minute", "error budget 80% spent this week" },
	  { "Doubles the cluster cost while it lasts",
	    "The database behind it may become the bottleneck" },
	  "k8s.scale", "Scale the deployment from 6 to 14 replicas", "namespace",
	  "k8s.hpa", "Raise the autoscaler ceiling to 20 for 2 hours",
	  /* what vcli gov approve --execute needs (docs/commands/gov.md) */
	  { "name", "web", "replicas", "14" } },
	{ "rotate_credentials", "service", { "billing-api", "ci-runner", "reporting-etl" },
	  { "secret found in a public repository", "token used from an unknown ASN",
	    "key older than the 90-day policy", "secret printed in build logs" },
	  { "Dependent jobs fail until they pick up the new secret",
	    "Rotation during business hours" },
	  "vault.rotate", "Rotate the service's database credentials and redeploy", "secret_path",
	  "audit.search", "List every use of the old credential in the last 30 days", { NULL } },
	{ "disable_account", "account", { "svc-backup", "j.doe", "contractor-114" },
	  { "impossible travel between two logins", "MFA fatigue pattern detected",
	    "privilege escalation outside the change window",
	    "mailbox rule forwarding to an external domain" },
	  { "The person may be locked out while travelling legitimately",
	    "Service accounts may run nightly jobs" },
	  "iam.disable", "Disable the account and revoke its active sessions", "account",
	  "iam.notify", "Notify the account owner's manager", { NULL } },
	{ "revoke_token", "client_id", { "mobile-app-ios", "partner-acme", "grafana-reader" },
	  { "token replayed from two continents", "scope broader than registered",
	    "refresh storm from a single device", "token issued to a retired client" },
	  { "Every user of the client must log in again",
	    "A partner integration stops until re-authorised" },
	  "oauth.revoke", "Revoke the refresh tokens issued to the client", "client_id",
	  "oauth.rescope", "Re-register the client with the scopes it uses", { NULL } },
	{ "isolate_network_segment", "segment", { "vlan-210-ot", "dmz-web", "lab-east" },
	  { "lateral movement across 6 hosts", "SMB scanning from an OT device",
	    "unexpected RDP between segments", "ARP spoofing detected" },
	  { "Plant-floor systems in the segment lose their historian",
	    "Remote support sessions drop" },
	  "network.isolate", "Apply the isolation ACL to the segment's uplinks", "segment",
	  "network.mirror", "Mirror the segment's traffic to the sensor", { NULL } },
	{ "rollback_deployment", "deployment", { "api-gateway", "recommendations", "auth" },
	  { "error rate 18% since the last rollout", "memory leak after version 2.14.0",
	    "health checks flapping", "schema migration left a column unindexed" },
	  { "The release's bug fixes are withdrawn too",
	    "A data migration may not be reversible" },
	  "k8s.rollout_undo", "Roll back to the previous ReplicaSet", "revision",
	  "ci.freeze", "Freeze deploys of the service until the fix is reviewed", { NULL } },
	{ "terminate_instance", "instance", { "i-0a13f2c9", "i-07be55d1", "i-0ff2e810" },
	  { "crypto-mining process at 100% CPU", "instance launched from an unknown AMI",
	    "SSH key not in the inventory", "egress to a mining pool" },
	  { "Local disks are lost with the instance",
	    "The autoscaling group may start a copy" },
	  "cloud.terminate", "Terminate the instance after a disk snapshot", "instance_id",
	  "cloud.snapshot", "Snapshot the volumes for analysis", { NULL } },
	{ "purge_mail", "message_id", { "<a81f@mail.example>", "<77c2@mail.example>",
					"<e0d3@mail.example>" },
	  { "link to a credential-harvesting page", "sender domain registered 2 days ago",
	    "412 recipients in finance", "display-name spoofing of the CFO" },
	  { "A legitimate message may be removed from inboxes",
	    "Users who already clicked are not covered" },
	  "mail.purge", "Remove the message from every mailbox", "message_id",
	  "mail.block_sender", "Block the sender domain for 30 days", { NULL } },
};

/* Few CRITICAL, mostly MEDIUM/HIGH. */
static const char *const priorities[] = { "CRITICAL", "HIGH", "HIGH", "HIGH", "MEDIUM",
					  "MEDIUM", "MEDIUM", "MEDIUM", "LOW", "LOW",
					  "HIGH", "MEDIUM" };
/* SLA range per priority, seconds (5 minutes to 4 hours). */
static const int sla_min[] = { 300, 900, 1800, 3600 };
static const int sla_max[] = { 900, 3600, 7200, 14400 };

static const char *const agents[] = { "sentinel-ai", "autoscaler-agent", "soc-copilot",
				      "drift-detector", "mail-guardian" };
static const char *const environments[] = { "production", "production", "staging" };
static const char *const operators[] = { "", "", "", "alice", "bob", "", "carol" };

static const struct {
	const char *name;
	const char *explanation;
} principles[] = {
	{ "proportionality", "The action is limited to the affected resource and reversible." },
	{ "transparency", "Owners are notified and the action is logged with its evidence." },
	{ "non-maleficence", "Blocking may interrupt people who did nothing wrong." },
	{ "autonomy", "Users lose access without being asked first." },
	{ "accountability", "A named operator approves and the decision is kept." },
	{ "fairness", "The rule applies the same way to every tenant." },
};

/* A small deterministic generator (xorshift32): demos look the same. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static double frac(uint32_t *seed, int lo, int hi)
{
	return (double)(lo + (int)(next_rand(seed) % (uint32_t)(hi - lo + 1))) / 100.0;
}

static uint8_t *make_proposal(unsigned i, uint32_t *seed, size_t *len)
{
	const struct kind *k = &kinds[next_rand(seed) % (sizeof(kinds) / sizeof(kinds[0]))];
	const char *prio =
		priorities[next_rand(seed) % (sizeof(priorities) / sizeof(priorities[0]))];
	int rank = prio[0] == 'C' ? 0 : prio[0] == 'H' ? 1 : prio[0] == 'M' ? 2 : 3;
	const char *target = k->targets[next_rand(seed) % 3];
	Decision d = VERTICE__GOVERNANCE__V1__DECISION__INIT;
	Vertice__Governance__V1__Risk risk = VERTICE__GOVERNANCE__V1__RISK__INIT;
	Vertice__Governance__V1__EthicalAssessment eth =
		VERTICE__GOVERNANCE__V1__ETHICAL_ASSESSMENT__INIT;
	Vertice__Governance__V1__EthicalPrinciple pr[3];
	Vertice__Governance__V1__EthicalPrinciple *prp[3];
	Vertice__Governance__V1__Action act[2];
	Vertice__Governance__V1__Action *actp[2];
	ContextEntry ce[4];
	ContextEntry *cep[4];
	DetailsEntry de[2];
	DetailsEntry *dep[2];
	ParamEntry pe[5];
	ParamEntry *pep0[4], *pep1[1];
	char *factors[3];
	char *concerns[2];
	char affected[16], window[16], reasoning[256], param[32];
	unsigned nf, np, p0;
	uint8_t *out;

	for (int j = 0; j < 4; j++)
		vertice__governance__v1__decision__context_entry__init(&ce[j]);
	for (int j = 0; j < 2; j++)
		vertice__governance__v1__risk__details_entry__init(&de[j]);
	for (int j = 0; j < 5; j++)
		vertice__governance__v1__action__parameters_entry__init(&pe[j]);
	for (int j = 0; j < 3; j++) {
		vertice__governance__v1__ethical_principle__init(&pr[j]);
		prp[j] = &pr[j];
	}
	for (int j = 0; j < 2; j++) {
		vertice__governance__v1__action__init(&act[j]);
		actp[j] = &act[j];
	}

	d.operation_type = (char *)k->op_type;
	d.priority = (char *)prio;
	d.sla_seconds = sla_min[rank] +
			(int32_t)(next_rand(seed) % (uint32_t)(sla_max[rank] - sla_min[rank] + 1));
	d.assigned_operator =
		(char *)operators[next_rand(seed) % (sizeof(operators) / sizeof(operators[0]))];

	ce[0].key = (char *)k->ctx_key;
	ce[0].value = (char *)target;
	ce[1].key = "requested_by";
	ce[1].value = (char *)agents[i % (sizeof(agents) / sizeof(agents[0]))];
	ce[2].key = "environment";
	ce[2].value = (char *)environments[next_rand(seed) % 3];
	ce[3].key = "ticket";
	snprintf(param, sizeof(param), "SEC-%u", 4100 + (next_rand(seed) % 900));
	ce[3].value = param;
	for (int j = 0; j < 4; j++)
		cep[j] = &ce[j];
	d.n_context = 4;
	d.context = cep;

	/* Risk: the score follows the priority, the level the score. */
	risk.score = frac(seed, 85 - 15 * rank, 99 - 15 * rank);
	risk.level = risk.score >= 0.85 ? "CRITICAL" : risk.score >= 0.65 ? "HIGH" :
		     risk.score >= 0.45 ? "MEDIUM" : "LOW";
	nf = 2 + next_rand(seed) % 2;
	for (unsigned j = 0; j < nf; j++)
		factors[j] = (char *)k->factors[(i + j) % 4];
	risk.n_factors = nf;
	risk.factors = factors;
	snprintf(affected, sizeof(affected), "%u", 1 + next_rand(seed) % 40);
	snprintf(window, sizeof(window), "%um", 5 + next_rand(seed) % 55);
	de[0].key = "affected_systems";
	de[0].value = affected;
	de[1].key = "observation_window";
	de[1].value = window;
	dep[0] = &de[0];
	dep[1] = &de[1];
	risk.n_details = 2;
	risk.details = dep;
	d.risk_assessment = &risk;

	/* Two or three principles, one of them sometimes violated. */
	np = 2 + next_rand(seed) % 2;
	p0 = next_rand(seed) % (sizeof(principles) / sizeof(principles[0]));
	for (unsigned j = 0; j < np; j++) {
		unsigned which = (p0 + j * 2) % (sizeof(principles) / sizeof(principles[0]));
		pr[j].name = (char *)principles[which].name;
		pr[j].explanation = (char *)principles[which].explanation;
		pr[j].severity = frac(seed, 5, 70);
		pr[j].violated = pr[j].severity > 0.6;
	}
	eth.n_principles = np;
	eth.principles = prp;
	concerns[0] = (char *)k->concerns[0];
	concerns[1] = (char *)k->concerns[1];
	eth.n_concerns = 1 + next_rand(seed) % 2;
	eth.concerns = concerns;
	eth.confidence = frac(seed, 60, 97);
	snprintf(reasoning, sizeof(reasoning),
		 "Evidence supports %s on %s (%s); the impact is contained and reversible.",
		 k->op_type, target, factors[0]);
	eth.reasoning = reasoning;
	d.ethical_assessment = &eth;

	/* The main action and, half of the time, a follow-up. */
	act[0].action_type = (char *)k->action;
	act[0].description = (char *)k->action_desc;
	pe[0].key = (char *)k->param_key;
	pe[0].value = (char *)target;
	pe[1].key = "dry_run";
	pe[1].value = "false";
	pep0[0] = &pe[0];
	pep0[1] = &pe[1];
	act[0].n_parameters = 2;
	for (int j = 0; j < 4 && k->extra[j]; j += 2) {
		pe[3 + j / 2].key = (char *)k->extra[j];
		pe[3 + j / 2].value = (char *)k->extra[j + 1];
		pep0[act[0].n_parameters++] = &pe[3 + j / 2];
	}
	act[0].parameters = pep0;
	act[0].confidence = frac(seed, 70, 98);
	act[1].action_type = (char *)k->followup;
	act[1].description = (char *)k->followup_desc;
	pe[2].key = "target";
	pe[2].value = (char *)target;
	pep1[0] = &pe[2];
	act[1].n_parameters = 1;
	act[1].parameters = pep1;
	act[1].confidence = frac(seed, 50, 90);
	d.n_recommended_actions = 1 + next_rand(seed) % 2;
	d.recommended_actions = actp;

	*len = vertice__governance__v1__decision__get_packed_size(&d);
	out = malloc(*len ? *len : 1);
	if (out)
		vertice__governance__v1__decision__pack(&d, out);
	return out;
}

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned pending;
	store_code first_error;
};

/* On the writer thread. */
static void seeded(store_op *op)
{
	struct waiter *w = op->ud;

	pthread_mutex_lock(&w->lock);
	if (op->result != STORE_OK && w->first_error == STORE_OK)
		w->first_error = op->result;
	w->pending--;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

store_code store_seed_demo(store *st, unsigned n)
{
	struct waiter w;
	store_op *ops = calloc(n ? n : 1, sizeof(*ops));
	uint8_t **props = calloc(n ? n : 1, sizeof(*props));
	uint32_t seed = 0x9e3779b9u;
	store_code rc = STORE_OK;

	if (!ops || !props) {
		free(ops);
		free(props);
		return STORE_E_NOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		size_t len = 0;

		if (!(props[i] = make_proposal(i, &seed, &len))) {
			rc = STORE_E_NOMEM;
			break;
		}
		ops[i].kind = STORE_OP_SUBMIT;
		ops[i].proposal = props[i];
		ops[i].proposal_len = len;
		ops[i].done = seeded;
		ops[i].ud = &w;
	}
	if (rc == STORE_OK) {
		pthread_mutex_init(&w.lock, NULL);
		pthread_cond_init(&w.cond, NULL);
		w.pending = n;
		w.first_error = STORE_OK;
		for (unsigned i = 0; i < n; i++)
			store_submit(st, &ops[i]);
		pthread_mutex_lock(&w.lock);
		while (w.pending)
			pthread_cond_wait(&w.cond, &w.lock);
		rc = w.first_error;
		pthread_mutex_unlock(&w.lock);
		pthread_mutex_destroy(&w.lock);
		pthread_cond_destroy(&w.cond);
	}
	for (unsigned i = 0; i < n; i++)
		free(props[i]);
	free(props);
	free(ops);
	return rc;
}
