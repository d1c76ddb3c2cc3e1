/*
 * governd backup: an online copy of the store (store/backup.h), safe while
 * governd runs on it.  Restoring is copying the file back while governd is
 * stopped (docs/operations.md).
 */
#include <stdio.h>
#include <string.h>

#include "common/opts.h"
#include "server/governd.h"
#include "store/backup.h"

static struct {
	const char *db, *to;
	int force, help;
} o;

static const struct opt backup_opts[] = {
	{ "to", 0, OPT_STRING, &o.to, "the copy to write (required)", NULL, "FILE" },
	{ "db", 0, OPT_STRING, &o.db,
	  "the store (default $XDG_STATE_HOME/governd/governd.db)", NULL, "PATH" },
	{ "force", 0, OPT_FLAG, &o.force, "replace FILE if it exists", NULL, NULL },
	{ "help", 'h', OPT_FLAG, &o.help, "show this help", NULL, NULL },
	OPT_END,
};

int governd_backup_main(int argc, char **argv)
{
	const struct opt *const tables[] = { backup_opts, NULL };
	struct store_backup_stats bs;
	struct opts_parser p;
	char path[1024], err[1024];
	const char *db;

	memset(&p, 0, sizeof(p));
	p.tables = tables;
	if (opts_parse(&p, argc, argv, 1) < 0 || p.npos > 0) {
		if (p.npos > 0)
			snprintf(p.err, sizeof(p.err), "unexpected argument '%s'", argv[1]);
		fprintf(stderr, "governd backup: %s; see 'governd backup --help'\n", p.err);
		return GOVERND_EXIT_USAGE;
	}
	if (o.help) {
		printf("usage: governd backup --to FILE [--db PATH] [--force]\n\n"
		       "Copies the store to FILE while governd may be running on it: one\n"
		       "consistent snapshot, checked, written to FILE.partial and renamed.\n\n"
		       "options:\n");
		opts_print_help(stdout, backup_opts);
		printf("\nExit status: 0 when the copy is complete, 1 when it failed (nothing\n"
		       "is left at FILE), 2 on bad usage.\n");
		return 0;
	}
	if (!o.to || !o.to[0]) {
		fprintf(stderr, "governd backup: '--to FILE' is required; see 'governd backup "
				"--help'\n");
		return GOVERND_EXIT_USAGE;
	}
	db = o.db ? o.db : governd_default_db(path, sizeof(path));
	if (store_backup(db, o.to, o.force, &bs, err, sizeof(err)) < 0) {
		fprintf(stderr, "governd backup: %s\n", err);
		return 1;
	}
	fprintf(stderr, "governd backup: copied '%s' to '%s' (%llu pages, %llu bytes) in %.1f ms\n",
		db, o.to, (unsigned long long)bs.pages, (unsigned long long)bs.bytes,
		(double)bs.elapsed_us / 1000.0);
	return 0;
}
