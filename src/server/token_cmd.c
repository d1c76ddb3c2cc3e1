/*
 * governd token create|list|revoke: bearer tokens in the store at --db
 * (docs/governd.md, docs/security.md).  The store is opened tokens_only,
 * so this runs beside a running governd on the same file: the daemon sees
 * a new token at its first use and a revoked one within AUTH_CACHE_MS.
 * Each change is audited as the local user ("local:NAME", role admin).
 *
 * The secret is printed once, alone on stdout, so that a script can take
 * it (`TOKEN=$(governd token create ...)`); everything else goes to stderr.
 */
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/opts.h"
#include "common/timeutil.h"
#include "server/auth.h"
#include "server/governd.h"
#include "server/validate.h"
#include "store/store.h"

static struct {
	const char *db, *name, *role, *identity, *expires_in;
	int all, help;
} o;

static const struct opt create_opts[] = {
	{ "name", 0, OPT_STRING, &o.name, "the token's label (required)", NULL, "NAME" },
	{ "role", 0, OPT_STRING, &o.role, "producer, operator or admin (required)", NULL,
	  "ROLE" },
	{ "identity", 0, OPT_STRING, &o.identity,
	  "who the token speaks for (default: the name)", NULL, "ID" },
	{ "expires-in", 0, OPT_STRING, &o.expires_in,
	  "the token stops working after this long (\"30d\", \"12h\"; default: never)", NULL,
	  "DUR" },
	{ "db", 0, OPT_STRING, &o.db, "the store (default: governd's)", NULL, "PATH" },
	{ "help", 'h', OPT_FLAG, &o.help, "show this help", NULL, NULL },
	OPT_END,
};

static const struct opt list_opts[] = {
	{ "all", 0, OPT_FLAG, &o.all, "revoked tokens too", NULL, NULL },
	{ "db", 0, OPT_STRING, &o.db, "the store (default: governd's)", NULL, "PATH" },
	{ "help", 'h', OPT_FLAG, &o.help, "show this help", NULL, NULL },
	OPT_END,
};

static const struct opt revoke_opts[] = {
	{ "db", 0, OPT_STRING, &o.db, "the store (default: governd's)", NULL, "PATH" },
	{ "help", 'h', OPT_FLAG, &o.help, "show this help", NULL, NULL },
	OPT_END,
};

/* ---- running one op ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done;

static void on_done(store_op *op)
{
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

static void run(store *st, store_op *op)
{
	done = 0;
	op->done = on_done;
	store_submit(st, op);
	pthread_mutex_lock(&lock);
	while (!done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

/* The audit trail's actor: the local user who ran the command. */
static const char *local_actor(char *out, size_t outlen)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw && pw->pw_name && *pw->pw_name)
		snprintf(out, outlen, "local:%s", pw->pw_name);
	else
		snprintf(out, outlen, "local:uid-%u", (unsigned)geteuid());
	return out;
}

static store *open_store(void)
{
	char path[1024], err[512];
	store_options so;
	store *st = NULL;

	store_options_init(&so);
	so.path = o.db ? o.db : governd_default_db(path, sizeof(path));
	so.tokens_only = 1;
	if (store_open(&so, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "governd token: cannot open the store: %s\n", err);
		return NULL;
	}
	return st;
}

static void when(int64_t ms, char *out, size_t outlen)
{
	time_format_utc(ms, out, outlen);
}

/* ---- the subcommands ---- */

static int token_create(void)
{
	char secret[AUTH_SECRET_LEN + 1], err[256], actor[160], until[32];
	int64_t expires_ms = 0;
	uint8_t hash[32];
	store_op op;
	store *st;
	int rc = 0;

	if (!o.name || !o.role) {
		fprintf(stderr, "governd token create: --name and --role are required; see "
				"'governd token create --help'\n");
		return GOVERND_EXIT_USAGE;
	}
	if (v_req_id("--name", o.name, err, sizeof(err)) < 0 ||
	    v_opt_id("--identity", o.identity, err, sizeof(err)) < 0) {
		fprintf(stderr, "governd token create: %s\n", err);
		return GOVERND_EXIT_USAGE;
	}
	if (!store_role_valid(o.role)) {
		fprintf(stderr, "governd token create: invalid role '%s' for '--role' (use "
				"producer, operator or admin)\n", o.role);
		return GOVERND_EXIT_USAGE;
	}
	if (o.expires_in) {
		uint64_t ms;
		int64_t sec;
		int32_t nsec;

		if (duration_parse_ms(o.expires_in, &ms) < 0 || ms > 100ull * 365 * 86400000) {
			fprintf(stderr, "governd token create: invalid duration '%s' for "
					"'--expires-in' (e.g. 30d, 12h, 90m; at most 100 years)\n",
				o.expires_in);
			return GOVERND_EXIT_USAGE;
		}
		time_wall(&sec, &nsec);
		expires_ms = sec * 1000 + nsec / 1000000 + (int64_t)ms;
	}
	if (!(st = open_store()))
		return GOVERND_EXIT_FAIL;
	if (auth_new_secret(secret, hash) < 0) {
		fprintf(stderr, "governd token create: no randomness from the system\n");
		store_close(st);
		return GOVERND_EXIT_FAIL;
	}
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_TOKEN_CREATE;
	op.actor = local_actor(actor, sizeof(actor));
	op.actor_role = STORE_ROLE_ADMIN;
	op.token_name = o.name;
	op.token_role = o.role;
	op.token_identity = o.identity;
	op.token_hash = hash;
	op.token_expires_ms = expires_ms;
	run(st, &op);
	if (op.result != STORE_OK) {
		fprintf(stderr, "governd token create: %s\n", op.message);
		rc = GOVERND_EXIT_FAIL;
	} else {
		printf("%s\n", secret);
		fflush(stdout);
		when(expires_ms, until, sizeof(until));
		fprintf(stderr, "governd: created token %s (name '%s', role %s, identity '%s', "
				"expires %s); its secret is on stdout and is not shown again\n",
			op.token_id_out, o.name, o.role, o.identity && *o.identity ? o.identity :
			o.name, expires_ms ? until : "never");
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	store_close(st);
	return rc;
}

struct listing {
	store_token *v;
	size_t n, cap;
};

static int add(const store_token *t, void *ud)
{
	struct listing *l = ud;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		store_token *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv)
			return 1;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *t;
	return 0;
}

static int token_list(void)
{
	struct listing l = { NULL, 0, 0 };
	int w[4] = { 2, 4, 4, 8 };
	char created[32], revoked[32], expires[32];
	store *st = open_store();
	store_code rc;

	if (!st)
		return GOVERND_EXIT_FAIL;
	rc = store_token_list(st, o.all, add, &l);
	store_close(st);
	if (rc != STORE_OK) {
		fprintf(stderr, "governd token list: %s\n", store_strerror(rc));
		free(l.v);
		return GOVERND_EXIT_FAIL;
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *f[4] = { l.v[i].id, l.v[i].name, l.v[i].role, l.v[i].identity };

		for (int k = 0; k < 4; k++)
			if ((int)strlen(f[k]) > w[k])
				w[k] = (int)strlen(f[k]);
	}
	/* CREATED and EXPIRES are 20 wide ("2026-11-27T03:04:05Z"); the last
	 * column is not padded. */
	printf("%-*s  %-*s  %-*s  %-*s  %-20s  %-*s%s\n", w[0], "ID", w[1], "NAME", w[2], "ROLE",
	       w[3], "IDENTITY", "CREATED", o.all ? 22 : 0, "EXPIRES", o.all ? "REVOKED" : "");
	for (size_t i = 0; i < l.n; i++) {
		when(l.v[i].created_ms, created, sizeof(created));
		when(l.v[i].revoked_ms, revoked, sizeof(revoked));
		if (l.v[i].expires_ms)
			when(l.v[i].expires_ms, expires, sizeof(expires));
		else
			snprintf(expires, sizeof(expires), "never");
		printf("%-*s  %-*s  %-*s  %-*s  %-20s  %-*s%s\n", w[0], l.v[i].id, w[1],
		       l.v[i].name, w[2], l.v[i].role, w[3], l.v[i].identity, created,
		       o.all ? 22 : 0, expires, o.all ? revoked : "");
	}
	free(l.v);
	return 0;
}

static int token_revoke(const char *id)
{
	char actor[160];
	store_op op;
	store *st = open_store();
	int rc = 0;

	if (!st)
		return GOVERND_EXIT_FAIL;
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_TOKEN_REVOKE;
	op.actor = local_actor(actor, sizeof(actor));
	op.actor_role = STORE_ROLE_ADMIN;
	op.token_id = id;
	run(st, &op);
	if (op.result != STORE_OK) {
		fprintf(stderr, "governd token revoke: %s\n", op.message);
		rc = GOVERND_EXIT_FAIL;
	} else if (op.changed) {
		fprintf(stderr, "governd: revoked token %s; a running governd refuses it within "
				"a second\n", id);
	} else {
		fprintf(stderr, "governd: token %s was revoked already\n", id);
	}
	store_close(st);
	return rc;
}

static const struct sub {
	const char *name;
	const struct opt *opts;
	int args;
	const char *usage;
} subs[] = {
	{ "create", create_opts, 0, "governd token create --name NAME --role ROLE [--identity ID] [--db PATH]" },
	{ "list", list_opts, 0, "governd token list [--all] [--db PATH]" },
	{ "revoke", revoke_opts, 1, "governd token revoke TOKEN_ID [--db PATH]" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		fprintf(f, "  %s\n", subs[i].usage);
	fprintf(f, "\nBearer tokens for governd --auth.  'create' prints the new token's "
		   "secret on stdout,\nonce; the store keeps only its SHA-256.  These work "
		   "beside a running governd.\n");
}

int governd_token_main(int argc, char **argv)
{
	const struct sub *s = NULL;
	const struct opt *tables[2] = { NULL, NULL };
	struct opts_parser p;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? GOVERND_EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			s = &subs[i];
	if (!s) {
		fprintf(stderr, "governd token: unknown subcommand '%s' (create, list or "
				"revoke); see 'governd token --help'\n", argv[1]);
		return GOVERND_EXIT_USAGE;
	}
	memset(&p, 0, sizeof(p));
	tables[0] = s->opts;
	p.tables = tables;
	if (opts_parse(&p, argc, argv, 2) < 0) {
		fprintf(stderr, "governd token %s: %s; see 'governd token %s --help'\n", s->name,
			p.err, s->name);
		return GOVERND_EXIT_USAGE;
	}
	if (o.help) {
		printf("usage: %s\n\noptions:\n", s->usage);
		opts_print_help(stdout, s->opts);
		return 0;
	}
	if (p.npos > s->args) {
		fprintf(stderr, "governd token %s: unexpected argument '%s'; usage: %s\n",
			s->name, argv[2 + s->args], s->usage);
		return GOVERND_EXIT_USAGE;
	}
	if (p.npos < s->args) {
		fprintf(stderr, "governd token %s: missing the token id; usage: %s\n", s->name,
			s->usage);
		return GOVERND_EXIT_USAGE;
	}
	if (strcmp(s->name, "create") == 0)
		return token_create();
	if (strcmp(s->name, "list") == 0)
		return token_list();
	return token_revoke(argv[2]);
}
