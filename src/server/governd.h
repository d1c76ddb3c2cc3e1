/* Private: what governd's main.c and its subcommands (token, backup) share. */
#ifndef VCLI_SERVER_GOVERND_H
#define VCLI_SERVER_GOVERND_H

#include <stddef.h>

enum { GOVERND_EXIT_FAIL = 1, GOVERND_EXIT_USAGE = 2 };

/* The default database: $XDG_STATE_HOME/governd/governd.db, else
 * ~/.local/state/governd/governd.db (main.c). */
const char *governd_default_db(char *out, size_t outlen);

/*
 * `governd token create|list|revoke ...` (token_cmd.c): manages bearer
 * tokens in the store at --db, beside a running governd or without one.
 * argv[0] is "token".  Returns the exit status.
 */
int governd_token_main(int argc, char **argv);

/*
 * `governd backup --to FILE [--db PATH] [--force]` (backup_cmd.c): an
 * online copy of the store.  argv[0] is "backup".  Returns the exit status.
 */
int governd_backup_main(int argc, char **argv);

#endif
