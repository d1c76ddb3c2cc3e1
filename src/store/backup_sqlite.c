/*
 * The online backup of the SQLite store (see backup.h).
 */
#include "store/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/timeutil.h"

/* How long a busy source (a checkpoint holding its lock) may hold us up. */
#define BACKUP_BUSY_MS 30000

static int sync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Runs one statement on db that must answer a single text row "want"
 * (want NULL: any answer).  0 or -1 with the answer or error in got. */
static int exec_expect(sqlite3 *db, const char *sql, const char *want, char *got, size_t gotlen)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	got[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		snprintf(got, gotlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		snprintf(got, gotlen, "%s", t ? (const char *)t : "");
		rc = !want || strcmp(got, want) == 0 ? 0 : -1;
	} else {
		snprintf(got, gotlen, "%s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(s);
	return rc;
}

int store_backup(const char *db, const char *to, int overwrite,
		 struct store_backup_stats *stats, char *err, size_t errlen)
{
	char partial[4096], dir[4096], got[512];
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b = NULL;
	uint64_t t0 = time_mono_ns();
	struct stat sb;
	int rc, result = -1, waited = 0;

	memset(stats, 0, sizeof(*stats));
	if ((size_t)snprintf(partial, sizeof(partial), "%s.partial", to) >= sizeof(partial)) {
		snprintf(err, errlen, "the path '%s' is too long", to);
		return -1;
	}
	if (!overwrite && lstat(to, &sb) == 0) {
		snprintf(err, errlen, "'%s' exists; give --force to replace it", to);
		return -1;
	}
	if (stat(db, &sb) < 0) {
		snprintf(err, errlen, "cannot open the store '%s': %s", db, strerror(errno));
		return -1;
	}
	/* Read-write without create: the file must be there, and a WAL
	 * database may need its -shm set up when governd is not running. */
	if (sqlite3_open_v2(db, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the store '%s': %s", db,
			 src ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	if (exec_expect(src, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'", "1",
			got, sizeof(got)) < 0) {
		snprintf(err, errlen, "'%s' is not a governd store (%s)", db,
			 got[0] == '0' ? "no meta table" : got);
		goto out;
	}
	unlink(partial);
	if (sqlite3_open_v2(partial, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot create '%s': %s", partial,
			 dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		snprintf(err, errlen, "cannot start the backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	/* All pages in one step: one read transaction, one consistent
	 * snapshot.  Copying in slices would restart whenever governd
	 * commits, which under steady writes may be forever. */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		if (waited >= BACKUP_BUSY_MS) {
			snprintf(err, errlen, "the store stayed locked for %d s", BACKUP_BUSY_MS / 1000);
			goto out;
		}
		sqlite3_sleep(50);
		waited += 50;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "copying the store failed: %s", sqlite3_errstr(rc));
		goto out;
	}
	stats->pages = (uint64_t)sqlite3_backup_pagecount(b);
	sqlite3_backup_finish(b);
	b = NULL;
	/* One self-contained file: no -wal to forget beside it.  governd
	 * switches a restored copy back to WAL when it opens it. */
	if (exec_expect(dst, "PRAGMA journal_mode=DELETE", "delete", got, sizeof(got)) < 0) {
		snprintf(err, errlen, "cannot finish the copy: %s", got);
		goto out;
	}
	if (exec_expect(dst, "PRAGMA quick_check", "ok", got, sizeof(got)) < 0) {
		snprintf(err, errlen, "the copy failed its check: %s", got);
		goto out;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		snprintf(err, errlen, "cannot close '%s': %s", partial, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	if (sync_path(partial, 0) < 0 || rename(partial, to) < 0) {
		snprintf(err, errlen, "cannot write '%s': %s", to, strerror(errno));
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s", to);
	sync_path(dirname(dir), 1);
	if (stat(to, &sb) == 0)
		stats->bytes = (uint64_t)sb.st_size;
	stats->elapsed_us = (time_mono_ns() - t0) / 1000;
	result = 0;
out:
	if (b)
		sqlite3_backup_finish(b);
	if (dst)
		sqlite3_close(dst);
	if (src)
		sqlite3_close(src);
	if (result < 0) {
		unlink(partial);
		if ((size_t)snprintf(dir, sizeof(dir), "%s-journal", partial) < sizeof(dir))
			unlink(dir);
	}
	return result;
}
