/*
 * Private: an online copy of the SQLite store (`governd backup`).
 *
 * Safe beside a running governd: the copy is read in one read transaction
 * (SQLite's online backup API, all pages in one step), which in WAL mode
 * neither blocks the writer nor sees half of a batch, so the copy is the
 * store as of one commit.  The copy is written to "<to>.partial", checked
 * (PRAGMA quick_check), switched to a self-contained rollback-journal file
 * (no -wal beside it), synced and renamed into place: a crash leaves either
 * no copy or a whole one.
 */
#ifndef VCLI_STORE_BACKUP_H
#define VCLI_STORE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

struct store_backup_stats {
	uint64_t pages;      /* database pages copied */
	uint64_t bytes;      /* size of the copy */
	uint64_t elapsed_us; /* from open to rename */
};

/*
 * Copies the database at db to the file to.  An existing file at to is
 * refused unless overwrite.  Returns 0, or -1 with "what failed: why" in
 * err (nothing is left at to, and no "<to>.partial" either).
 */
int store_backup(const char *db, const char *to, int overwrite,
		 struct store_backup_stats *stats, char *err, size_t errlen);

#endif
