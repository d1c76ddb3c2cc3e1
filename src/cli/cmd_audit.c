/*
 * vcli audit list|export|verify: governd's audit trail (docs/commands/audit.md,
 * docs/security.md).
 *
 * verify does not take the server's word for anything: it exports every
 * entry, recomputes each hash from the entry's content (common/audit_chain.h)
 * and checks each link to the entry before, and names the first entry that
 * was altered, removed or moved, with exit status CLI_EXIT_AUDIT.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance.pb-c.h"
#include "cli/commands.h"
#include "cli/pbjson.h"
#include "cli/table.h"
#include "common/audit_chain.h"
#include "common/timeutil.h"

#define GOV_SERVICE "/vertice.governance.v1.GovernanceService/"
#define PAGE_MAX 1000            /* the server's largest ListAudit page */

typedef Vertice__Governance__V1__AuditEntry audit_entry;
typedef Vertice__Governance__V1__ListAuditRequest list_req;
typedef Vertice__Governance__V1__ListAuditResponse list_resp;
typedef Vertice__Governance__V1__ExportAuditRequest export_req;

/* The options of every audit subcommand (one process runs one command). */
static struct {
	const char *since, *until, *actor, *decision, *action, *after, *anchor;
	int limit, denied;
} o;

static int64_t at_ms(const audit_entry *e)
{
	return e->at ? e->at->seconds * 1000 + e->at->nanos / 1000000 : 0;
}

/* An entry as a document with every field, hashes included. */
static struct doc *entry_doc(struct doc_arena *a, const audit_entry *e)
{
	struct doc *d = doc_obj(a);
	char when[48];
	int64_t ms = at_ms(e);

	pbjson_format_time(ms / 1000, (int32_t)(ms % 1000) * 1000000, when, sizeof(when));
	doc_set(a, d, "sequence", doc_uint(a, e->sequence));
	doc_set(a, d, "at", doc_str(a, when));
	doc_set(a, d, "atMs", doc_int(a, ms));
	doc_set(a, d, "actor", doc_str(a, e->actor));
	doc_set(a, d, "role", doc_str(a, e->role));
	doc_set(a, d, "action", doc_str(a, e->action));
	doc_set(a, d, "outcome", doc_str(a, e->outcome));
	doc_set(a, d, "subject", doc_str(a, e->subject));
	doc_set(a, d, "detail", doc_str(a, e->detail));
	doc_set(a, d, "prevHash", doc_str(a, e->prev_hash));
	doc_set(a, d, "hash", doc_str(a, e->hash));
	return d;
}

/* A sequence number option: 0 or more. */
static int parse_seq(const struct cli *cli, const char *flag, const char *text, uint64_t *seq)
{
	char *end;

	*seq = 0;
	if (!text)
		return CLI_PROCEED;
	errno = 0;
	if (text[0] < '0' || text[0] > '9' ||
	    (*seq = strtoull(text, &end, 10), errno || *end))
		return cli_usage_error(cli, "invalid sequence number '%s' for '%s' (use 0 "
				       "or more)", text, flag);
	return CLI_PROCEED;
}

/* --since / --until: RFC 3339, or a duration meaning that long ago. */
static int parse_when(const struct cli *cli, const char *flag, const char *text,
		      Google__Protobuf__Timestamp *ts, Google__Protobuf__Timestamp **out)
{
	int64_t sec;
	int32_t nanos;
	uint64_t ago;

	*out = NULL;
	if (!text)
		return CLI_PROCEED;
	if (pbjson_parse_time(text, &sec, &nanos) < 0) {
		int32_t now_ns;

		if (duration_parse_ms(text, &ago) < 0)
			return cli_usage_error(cli, "invalid time '%s' for '%s' (use RFC "
					       "3339, 2026-05-01T12:00:00Z, or a duration "
					       "meaning that long ago, 90m)", text, flag);
		time_wall(&sec, &now_ns);
		sec -= (int64_t)(ago / 1000);
		nanos = 0;
	}
	google__protobuf__timestamp__init(ts);
	ts->seconds = sec;
	ts->nanos = nanos;
	*out = ts;
	return CLI_PROCEED;
}

/* ---- list ---- */

static const struct table_col list_cols[] = {
	{ "SEQ", 0 }, { "AT", 0 }, { "ACTOR", 24 }, { "ROLE", 0 }, { "ACTION", 0 },
	{ "OUTCOME", 0 }, { "SUBJECT", 34 }, { "DETAIL", 60 },
};

static const struct opt list_options[] = {
	{ "since", 0, OPT_STRING, &o.since,
	  "entries at or after this time (RFC 3339, or a duration ago: 1h)", NULL, "TIME" },
	{ "until", 0, OPT_STRING, &o.until,
	  "entries before this time (RFC 3339, or a duration ago)", NULL, "TIME" },
	{ "actor", 0, OPT_STRING, &o.actor, "who acted, exact match", NULL, "ID" },
	{ "decision", 0, OPT_STRING, &o.decision,
	  "entries about this decision (or session, token) id", NULL, "ID" },
	{ "action", 0, OPT_STRING, &o.action,
	  "exact match: decision.approve, session.open, token.create, ...", NULL, "ACTION" },
	{ "denied", 0, OPT_FLAG, &o.denied, "refusals only (outcome DENIED)", NULL, NULL },
	{ "limit", 0, OPT_INT, &o.limit, "entries at most (default 100)", NULL, "N" },
	{ "after", 0, OPT_STRING, &o.after, "entries after this sequence number", NULL, "SEQ" },
	OPT_END,
};

static const struct cmd_spec list_spec = {
	.usage = "vcli audit list [options]",
	.description =
		"Lists audit entries, oldest first, that match every filter\n"
		"given: who acted, on which decision, what they did, when, and\n"
		"whether it was refused.  -o json prints {\"entries\":[...],\n"
		"\"nextAfterSequence\":N} (0 when nothing more matches), every\n"
		"field of each entry included.\n",
	.options = list_options,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli audit list --since 1h\n"
		"  vcli audit list --decision d-0192f1c4a0b07d3e9a1c2b3d4e5f6a7b\n"
		"  vcli audit list --actor alice --denied -o json\n",
};

static int audit_list(struct cli *cli)
{
	list_req req = VERTICE__GOVERNANCE__V1__LIST_AUDIT_REQUEST__INIT;
	Google__Protobuf__Timestamp since, until;
	list_resp *resp;
	vcli_call_result result;
	struct doc_arena a;
	struct doc *entries = NULL;
	struct table t;
	uint64_t after, next = 0;
	int want, shown = 0, rc;

	if (o.limit < 0)
		return cli_usage_error(cli, "invalid limit '%d' for '--limit' (use 1 or "
				       "more)", o.limit);
	want = o.limit ? o.limit : 100;
	if ((rc = parse_seq(cli, "--after", o.after, &after)) != CLI_PROCEED ||
	    (rc = parse_when(cli, "--since", o.since, &since, &req.since)) != CLI_PROCEED ||
	    (rc = parse_when(cli, "--until", o.until, &until, &req.until)) != CLI_PROCEED)
		return rc;
	req.actor = (char *)(o.actor ? o.actor : "");
	req.subject = (char *)(o.decision ? o.decision : "");
	req.action = (char *)(o.action ? o.action : "");
	req.outcome = (char *)(o.denied ? "DENIED" : "");
	doc_arena_init(&a);
	table_init(&t, list_cols, sizeof(list_cols) / sizeof(list_cols[0]));
	if (cli->output != OUTPUT_TABLE)
		entries = doc_arr(&a);
	for (;;) {
		req.after_sequence = after;
		req.limit = want - shown < PAGE_MAX ? want - shown : PAGE_MAX;
		if (cli_unary(cli, "ListAudit", &req.base,
			      &vertice__governance__v1__list_audit_response__descriptor,
			      (ProtobufCMessage **)&resp, &result) < 0) {
			rc = cli_call_failed(cli, "ListAudit", &result);
			goto out;
		}
		for (size_t i = 0; i < resp->n_entries && shown < want; i++, shown++) {
			const audit_entry *e = resp->entries[i];
			char when[48];
			int64_t ms = at_ms(e);

			next = e->sequence;
			if (entries) {
				doc_push(entries, entry_doc(&a, e));
				continue;
			}
			pbjson_format_time(ms / 1000, (int32_t)(ms % 1000) * 1000000, when,
					   sizeof(when));
			table_row(&t);
			table_setf(&t, 0, NULL, "%" PRIu64, e->sequence);
			table_set(&t, 1, NULL, when);
			table_set(&t, 2, NULL, e->actor);
			table_set(&t, 3, NULL, e->role[0] ? e->role : "-");
			table_set(&t, 4, NULL, e->action);
			table_set(&t, 5, strcmp(e->outcome, "DENIED") == 0 ? TABLE_RED : NULL,
				  e->outcome);
			table_set(&t, 6, NULL, e->subject[0] ? e->subject : "-");
			table_set(&t, 7, NULL, e->detail[0] ? e->detail : "-");
		}
		/* Where the server would go on from; 0: nothing more matches. */
		after = resp->next_after_sequence;
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		if (!after || shown >= want)
			break;
	}
	if (!after)
		next = 0;
	if (entries) {
		struct doc *d = doc_obj(&a);

		doc_set(&a, d, "entries", entries);
		doc_set(&a, d, "nextAfterSequence", doc_uint(&a, next));
		rc = cli_print_doc(cli, &a, d);
	} else {
		rc = table_print(stdout, &t, cli->color) < 0 ? CLI_EXIT_INTERNAL : CLI_EXIT_OK;
		if (next)
			fprintf(stderr, "more entries match: --after %" PRIu64 "\n", next);
	}
out:
	table_release(&t);
	doc_arena_release(&a);
	return rc;
}

/* ---- export and verify: the whole trail, streamed ---- */

static int stream_audit(struct cli *cli, uint64_t after, vcli_message_fn fn, void *ud,
			vcli_call_result *result)
{
	export_req req = VERTICE__GOVERNANCE__V1__EXPORT_AUDIT_REQUEST__INIT;
	vcli_call_options copts;
	uint8_t buf[16];
	size_t len;
	vcli_code code;

	req.after_sequence = after;
	len = vertice__governance__v1__export_audit_request__pack(&req, buf);
	cli_call_options(cli, &copts);
	copts.deadline_ms = 0;  /* as long as the trail takes */
	code = vcli_client_stream(cli->client, GOV_SERVICE "ExportAudit", buf, len, fn, ud,
				  &copts, result);
	if (code != VCLI_OK) {
		result->status = VCLI_STATUS_INTERNAL;
		snprintf(result->message, sizeof(result->message), "cannot call ExportAudit: %s",
			 vcli_strerror(code));
		return -1;
	}
	return result->status == VCLI_STATUS_OK ? 0 : -1;
}

static const struct opt export_options[] = {
	{ "after", 0, OPT_STRING, &o.after, "entries after this sequence number", NULL, "SEQ" },
	OPT_END,
};

static const struct cmd_spec export_spec = {
	.usage = "vcli audit export [options]",
	.description =
		"Writes every audit entry as JSON lines, oldest first: one\n"
		"object per line with every field (sequence, at, atMs, actor,\n"
		"role, action, outcome, subject, detail, prevHash, hash), the\n"
		"input of any verifier (docs/security.md has the hash format).\n"
		"The export ends at the entry that was last when it began.\n",
	.options = export_options,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli audit export > audit.jsonl\n"
		"  vcli audit export --after 1200 >> audit.jsonl\n",
};

struct exporter {
	int failed;
};

static int export_one(void *ud, const uint8_t *msg, size_t len)
{
	struct exporter *x = ud;
	audit_entry *e = vertice__governance__v1__audit_entry__unpack(NULL, len, msg);
	struct doc_arena a;
	int rc;

	if (!e) {
		x->failed = 1;
		return 1;
	}
	doc_arena_init(&a);
	rc = doc_write_json(stdout, &a, entry_doc(&a, e));
	doc_arena_release(&a);
	vertice__governance__v1__audit_entry__free_unpacked(e, NULL);
	if (rc < 0 || ferror(stdout)) {
		x->failed = 1;
		return 1;
	}
	return 0;
}

static int audit_export(struct cli *cli)
{
	struct exporter x = { 0 };
	vcli_call_result result;
	uint64_t after;
	int rc = parse_seq(cli, "--after", o.after, &after);

	if (rc != CLI_PROCEED)
		return rc;
	if (stream_audit(cli, after, export_one, &x, &result) < 0 && !x.failed)
		return cli_call_failed(cli, "ExportAudit", &result);
	if (x.failed) {
		cli_error("cannot write the export (or an entry does not decode)");
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

/* ---- verify ---- */

/* What verify keeps of an entry: about 80 bytes. */
struct link {
	uint64_t seq;
	uint8_t hash[32], prev[32];
	unsigned content_ok : 1;  /* its hash is the hash of its content */
	unsigned hex_ok : 1;      /* hash and prev_hash are 64 hex digits */
};

struct verifier {
	struct link *v;
	size_t n, cap;
	int failed;
};

static int unhex(const char *s, uint8_t out[32])
{
	if (!audit_chain_is_hash(s))
		return -1;
	for (int i = 0; i < 32; i++) {
		int hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		int lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' : s[2 * i + 1] - 'a' + 10;

		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int verify_one(void *ud, const uint8_t *msg, size_t len)
{
	struct verifier *vf = ud;
	audit_entry *e = vertice__governance__v1__audit_entry__unpack(NULL, len, msg);
	struct audit_fields f;
	char h[AUDIT_HASH_HEX + 1];
	struct link *l;

	if (!e) {
		vf->failed = 1;
		return 1;
	}
	if (vf->n == vf->cap) {
		size_t nc = vf->cap ? vf->cap * 2 : 1024;
		struct link *nv = realloc(vf->v, nc * sizeof(*nv));

		if (!nv) {
			vertice__governance__v1__audit_entry__free_unpacked(e, NULL);
			vf->failed = 1;
			return 1;
		}
		vf->v = nv;
		vf->cap = nc;
	}
	l = &vf->v[vf->n++];
	memset(l, 0, sizeof(*l));
	l->seq = e->sequence;
	f.at_ms = at_ms(e);
	f.actor = e->actor;
	f.role = e->role;
	f.action = e->action;
	f.outcome = e->outcome;
	f.subject = e->subject;
	f.detail = e->detail;
	l->hex_ok = unhex(e->hash, l->hash) == 0 && unhex(e->prev_hash, l->prev) == 0;
	l->content_ok = audit_chain_hash(e->prev_hash, &f, h) == 0 && strcmp(h, e->hash) == 0;
	vertice__governance__v1__audit_entry__free_unpacked(e, NULL);
	return 0;
}

struct by_hash {
	const uint8_t *hash;
	size_t index;
};

static int by_hash_cmp(const void *a, const void *b)
{
	return memcmp(((const struct by_hash *)a)->hash, ((const struct by_hash *)b)->hash, 32);
}

/*
 * The first problem in the chain, in words, and the sequence number of the
 * entry it names; 0 when the chain is whole.  index (sorted by hash) finds
 * where a link points when it does not point at the entry before.
 */
static uint64_t first_problem(const struct verifier *vf, const struct by_hash *index,
			      char *msg, size_t msglen)
{
	static const uint8_t genesis[32];
	uint64_t expect = 1;

	for (size_t i = 0; i < vf->n; i++) {
		const struct link *l = &vf->v[i];
		const uint8_t *want = i ? vf->v[i - 1].hash : genesis;

		if (l->seq > expect) {
			if (l->seq == expect + 1)
				snprintf(msg, msglen, "entry %" PRIu64 " was removed (the trail "
					 "goes from %" PRIu64 " to %" PRIu64 ")", expect,
					 expect - 1, l->seq);
			else
				snprintf(msg, msglen, "entries %" PRIu64 " to %" PRIu64 " were "
					 "removed (the trail goes from %" PRIu64 " to %" PRIu64
					 ")", expect, l->seq - 1, expect - 1, l->seq);
			return expect;
		}
		if (l->seq < expect) {
			snprintf(msg, msglen, "entry %" PRIu64 " comes after entry %" PRIu64
				 " (the server's order is broken)", l->seq, expect - 1);
			return l->seq;
		}
		if (!l->content_ok || !l->hex_ok) {
			snprintf(msg, msglen, "entry %" PRIu64 " was altered: its hash does not "
				 "match its content", l->seq);
			return l->seq;
		}
		if (memcmp(l->prev, want, 32) != 0) {
			struct by_hash key = { l->prev, 0 }, *hit;

			hit = bsearch(&key, index, vf->n, sizeof(*index), by_hash_cmp);
			if (hit && hit->index != i - 1) {
				snprintf(msg, msglen, "entry %" PRIu64 " is out of place: it was "
					 "chained after the entry now at %" PRIu64 " (entries "
					 "reordered or swapped)", l->seq, vf->v[hit->index].seq);
				return l->seq;
			}
			if (!i) {
				snprintf(msg, msglen, "entry %" PRIu64 " was altered or replaced: "
					 "it is not chained to the start of the trail", l->seq);
				return l->seq;
			}
			snprintf(msg, msglen, "entry %" PRIu64 " was altered (its hash rewritten "
				 "to match): entry %" PRIu64 " was chained to another version "
				 "of it", vf->v[i - 1].seq, l->seq);
			return vf->v[i - 1].seq;
		}
		expect = l->seq + 1;
	}
	return 0;
}

static const struct opt verify_options[] = {
	{ "anchor", 0, OPT_STRING, &o.anchor,
	  "an entry noted before must still have its hash (catches a cut tail)", NULL,
	  "SEQ:HASH" },
	OPT_END,
};

static const struct cmd_spec verify_spec = {
	.usage = "vcli audit verify [options]",
	.description =
		"Exports the whole audit trail and checks it here: every\n"
		"entry's hash against its content, every link against the\n"
		"entry before, the sequence for gaps.  Prints the first entry\n"
		"that was altered, removed or moved and exits 12; on success\n"
		"prints how many entries it checked and the head (its sequence\n"
		"and hash: note them down and pass them as --anchor later, to\n"
		"also catch entries cut off the end).  Holds about 80 bytes per\n"
		"entry in memory.\n",
	.options = verify_options,
	.min_args = 0,
	.max_args = 0,
	.examples =
		"  vcli audit verify\n"
		"  vcli audit verify --anchor 1200:3f0c...e9 -o json\n",
};

static int print_verdict(const struct cli *cli, int ok, size_t n, uint64_t bad,
			 const char *problem, const struct link *head)
{
	char hash[AUDIT_HASH_HEX + 1] = "";
	struct doc_arena a;
	struct doc *d;
	int rc;

	if (head)
		audit_hex(head->hash, 32, hash);
	if (cli->output == OUTPUT_TABLE) {
		if (ok)
			printf("audit trail verified: %zu entries, chain intact; head %" PRIu64
			       " %s\n", n, head ? head->seq : 0, head ? hash : "-");
		else
			printf("audit trail broken: %s\n", problem);
		return ok ? CLI_EXIT_OK : CLI_EXIT_AUDIT;
	}
	doc_arena_init(&a);
	d = doc_obj(&a);
	doc_set(&a, d, "ok", doc_bool(&a, ok));
	doc_set(&a, d, "entries", doc_uint(&a, n));
	if (ok && head) {
		doc_set(&a, d, "headSequence", doc_uint(&a, head->seq));
		doc_set(&a, d, "headHash", doc_str(&a, hash));
	}
	if (!ok) {
		doc_set(&a, d, "firstBadSequence", doc_uint(&a, bad));
		doc_set(&a, d, "problem", doc_str(&a, problem));
	}
	rc = cli_print_doc(cli, &a, d);
	doc_arena_release(&a);
	return rc == CLI_EXIT_OK && !ok ? CLI_EXIT_AUDIT : rc;
}

static int audit_verify(struct cli *cli)
{
	struct verifier vf = { NULL, 0, 0, 0 };
	struct by_hash *index = NULL;
	vcli_call_result result;
	uint64_t anchor_seq = 0, bad;
	uint8_t anchor_hash[32];
	char problem[320] = "";
	int rc;

	if (o.anchor) {
		const char *colon = strchr(o.anchor, ':');
		char seq[24];

		if (!colon || colon == o.anchor || (size_t)(colon - o.anchor) >= sizeof(seq) ||
		    unhex(colon + 1, anchor_hash) < 0)
			return cli_usage_error(cli, "invalid anchor '%s' for '--anchor' (use "
					       "SEQ:HASH, as verify printed the head)", o.anchor);
		memcpy(seq, o.anchor, (size_t)(colon - o.anchor));
		seq[colon - o.anchor] = '\0';
		if ((rc = parse_seq(cli, "--anchor", seq, &anchor_seq)) != CLI_PROCEED)
			return rc;
	}
	if (stream_audit(cli, 0, verify_one, &vf, &result) < 0 && !vf.failed) {
		free(vf.v);
		return cli_call_failed(cli, "ExportAudit", &result);
	}
	if (vf.failed) {
		free(vf.v);
		cli_error("out of memory, or an entry does not decode");
		return CLI_EXIT_INTERNAL;
	}
	if (vf.n && !(index = malloc(vf.n * sizeof(*index)))) {
		free(vf.v);
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < vf.n; i++) {
		index[i].hash = vf.v[i].hash;
		index[i].index = i;
	}
	if (vf.n)
		qsort(index, vf.n, sizeof(*index), by_hash_cmp);
	bad = first_problem(&vf, index, problem, sizeof(problem));
	if (!bad && o.anchor) {
		const struct link *l = NULL;

		for (size_t i = 0; i < vf.n && !l; i++)
			if (vf.v[i].seq == anchor_seq)
				l = &vf.v[i];
		if (!l) {
			bad = anchor_seq;
			snprintf(problem, sizeof(problem), "entry %" PRIu64 " (the anchor) is "
				 "missing: the end of the trail was cut off", anchor_seq);
		} else if (memcmp(l->hash, anchor_hash, 32) != 0) {
			bad = anchor_seq;
			snprintf(problem, sizeof(problem), "entry %" PRIu64 " does not have the "
				 "anchored hash: the trail up to it was rewritten", anchor_seq);
		}
	}
	rc = print_verdict(cli, !bad, vf.n, bad, problem, vf.n ? &vf.v[vf.n - 1] : NULL);
	free(index);
	free(vf.v);
	return rc;
}

/* ---- the group ---- */

static const struct subcmd audit_subs[] = {
	{ "list", audit_list, NEED_SERVER, &list_spec,
	  "list audit entries (filters: time, actor, decision, action, refusals)" },
	{ "export", audit_export, NEED_SERVER, &export_spec,
	  "write every entry as JSON lines, hashes included" },
	{ "verify", audit_verify, NEED_SERVER, &verify_spec,
	  "recompute the hash chain here; name the first broken entry" },
};

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli,
			    "Every state change and every refusal governd makes is an "
			    "audit entry,\nchained to the one before by a SHA-256 hash "
			    "(operators and admins\nmay read it).\n",
			    audit_subs, sizeof(audit_subs) / sizeof(audit_subs[0]), argc,
			    argv);
}
