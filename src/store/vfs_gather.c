/*
 * The "vcli-gather" SQLite VFS: the default VFS, except that the writes
 * to a write-ahead log are gathered in memory and reach the file as one
 * write when SQLite syncs the log.
 *
 * Why: SQLite writes each log frame as two writes (its 24-byte header,
 * then the page), so a commit of ~20 pages costs ~40 pwrite calls, about
 * 50 us of the store writer's time per commit on the measured VM
 * (docs/benchmarks.md).  Gathered, a commit is one pwrite of its frames.
 *
 * Why it is safe: the store's writer connection runs with
 * synchronous=FULL, and in WAL mode SQLite then syncs the log at every
 * commit after writing the commit's frames and before it makes them
 * visible to other connections (the wal-index).  The sync here first
 * writes what is gathered, so nothing another connection can see is still
 * in memory.  Anything that looks at the file (a read, its size, a
 * truncate, a file control, close) also writes what is gathered first, so
 * the connection itself always sees the file as SQLite wrote it.  A
 * connection that commits without syncing (synchronous below FULL) must
 * not use this VFS: its frames could be visible before they are written.
 *
 * Only the log is wrapped; every other file is the default VFS's own.
 */
#include "store/store_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/timeutil.h"

#define GATHER_NAME "vcli-gather"
/* Bytes gathered at most before a write: the unix VFS writes at most
 * 128 KiB - 1 per call (it masks the length), and a commit of ~20 pages
 * is ~82 KiB. */
#define GATHER_CAP (120 * 1024)

struct gfile {
	sqlite3_file base;          /* pMethods = &gather_io */
	sqlite3_file *real;         /* the default VFS's file, right after */
	unsigned char *buf;         /* GATHER_CAP bytes, on the first write */
	size_t len;                 /* bytes gathered */
	sqlite3_int64 off;          /* file offset of buf[0] */
	void (*on_sync)(void *ud, uint64_t ns, int rc);
	void *sync_ud;
};

static sqlite3_vfs gather_vfs;
static sqlite3_vfs *real_vfs;
static sqlite3_io_methods gather_io;

static struct gfile *gf(sqlite3_file *f)
{
	return (struct gfile *)f;
}

/* Writes what is gathered; SQLITE_OK or the write's error. */
static int flush(struct gfile *g)
{
	int rc;

	if (!g->len)
		return SQLITE_OK;
	rc = g->real->pMethods->xWrite(g->real, g->buf, (int)g->len, g->off);
	g->len = 0;
	return rc;
}

static int g_close(sqlite3_file *f)
{
	struct gfile *g = gf(f);
	int rc = flush(g), rc2 = g->real->pMethods->xClose(g->real);

	free(g->buf);
	g->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int g_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
	struct gfile *g = gf(f);
	int rc = flush(g);

	return rc != SQLITE_OK ? rc : g->real->pMethods->xRead(g->real, p, amt, off);
}

static int g_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
	struct gfile *g = gf(f);
	size_t n = (size_t)amt;
	int rc;

	if (!g->buf && !(g->buf = malloc(GATHER_CAP)))
		return g->real->pMethods->xWrite(g->real, p, amt, off);
	/* Inside what is gathered (SQLite rewrites a frame of the same
	 * transaction in place): change it there. */
	if (g->len && off >= g->off && off + (sqlite3_int64)n <= g->off + (sqlite3_int64)g->len) {
		memcpy(g->buf + (off - g->off), p, n);
		return SQLITE_OK;
	}
	/* Right after it, with room: gather. */
	if (g->len && off == g->off + (sqlite3_int64)g->len && g->len + n <= GATHER_CAP) {
		memcpy(g->buf + g->len, p, n);
		g->len += n;
		return SQLITE_OK;
	}
	if ((rc = flush(g)) != SQLITE_OK)
		return rc;
	if (n > GATHER_CAP)
		return g->real->pMethods->xWrite(g->real, p, amt, off);
	memcpy(g->buf, p, n);
	g->len = n;
	g->off = off;
	return SQLITE_OK;
}

static int g_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct gfile *g = gf(f);
	int rc = flush(g);

	return rc != SQLITE_OK ? rc : g->real->pMethods->xTruncate(g->real, size);
}

static int g_sync(sqlite3_file *f, int flags)
{
	struct gfile *g = gf(f);
	uint64_t t0 = time_mono_ns();
	int rc = flush(g);

	if (rc == SQLITE_OK)
		rc = g->real->pMethods->xSync(g->real, flags);
	if (g->on_sync)
		g->on_sync(g->sync_ud, time_mono_ns() - t0, rc);
	return rc;
}

static int g_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct gfile *g = gf(f);
	int rc = flush(g);

	return rc != SQLITE_OK ? rc : g->real->pMethods->xFileSize(g->real, size);
}

static int g_lock(sqlite3_file *f, int lock)
{
	return gf(f)->real->pMethods->xLock(gf(f)->real, lock);
}

static int g_unlock(sqlite3_file *f, int lock)
{
	return gf(f)->real->pMethods->xUnlock(gf(f)->real, lock);
}

static int g_check_reserved(sqlite3_file *f, int *out)
{
	return gf(f)->real->pMethods->xCheckReservedLock(gf(f)->real, out);
}

static int g_file_control(sqlite3_file *f, int op, void *arg)
{
	struct gfile *g = gf(f);
	int rc = flush(g);

	return rc != SQLITE_OK ? rc : g->real->pMethods->xFileControl(g->real, op, arg);
}

static int g_sector_size(sqlite3_file *f)
{
	return gf(f)->real->pMethods->xSectorSize(gf(f)->real);
}

static int g_device_characteristics(sqlite3_file *f)
{
	return gf(f)->real->pMethods->xDeviceCharacteristics(gf(f)->real);
}

static int g_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return gf(f)->real->pMethods->xShmMap(gf(f)->real, pg, pgsz, extend, pp);
}

static int g_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return gf(f)->real->pMethods->xShmLock(gf(f)->real, offset, n, flags);
}

static void g_shm_barrier(sqlite3_file *f)
{
	gf(f)->real->pMethods->xShmBarrier(gf(f)->real);
}

static int g_shm_unmap(sqlite3_file *f, int del)
{
	return gf(f)->real->pMethods->xShmUnmap(gf(f)->real, del);
}

static int g_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	struct gfile *g = gf(f);
	int rc = flush(g);

	return rc != SQLITE_OK ? rc : g->real->pMethods->xFetch(g->real, off, amt, pp);
}

static int g_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return gf(f)->real->pMethods->xUnfetch(gf(f)->real, off, p);
}

static int g_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
		  int *out_flags)
{
	struct gfile *g = gf(f);
	int rc;

	(void)vfs;
	/* Any other file is the default VFS's, in the same memory. */
	if (!(flags & SQLITE_OPEN_WAL))
		return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
	memset(g, 0, sizeof(*g));
	g->real = (sqlite3_file *)(g + 1);
	rc = real_vfs->xOpen(real_vfs, name, g->real, flags, out_flags);
	if (rc != SQLITE_OK || !g->real->pMethods) {
		/* SQLite closes a file whose pMethods is set, also after a
		 * failed open: leave it unset, and close the real one here. */
		if (g->real->pMethods)
			g->real->pMethods->xClose(g->real);
		f->pMethods = NULL;
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	if (g->real->pMethods->iVersion < 3) {
		/* Not the unix VFS this was written against: no gathering. */
		g->real->pMethods->xClose(g->real);
		f->pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	f->pMethods = &gather_io;
	return SQLITE_OK;
}

static void gather_init(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs)
		return;
	gather_io = (sqlite3_io_methods){
		.iVersion = 3,
		.xClose = g_close,
		.xRead = g_read,
		.xWrite = g_write,
		.xTruncate = g_truncate,
		.xSync = g_sync,
		.xFileSize = g_file_size,
		.xLock = g_lock,
		.xUnlock = g_unlock,
		.xCheckReservedLock = g_check_reserved,
		.xFileControl = g_file_control,
		.xSectorSize = g_sector_size,
		.xDeviceCharacteristics = g_device_characteristics,
		.xShmMap = g_shm_map,
		.xShmLock = g_shm_lock,
		.xShmBarrier = g_shm_barrier,
		.xShmUnmap = g_shm_unmap,
		.xFetch = g_fetch,
		.xUnfetch = g_unfetch,
	};
	/* The default VFS in all but its name, its file size and xOpen: its
	 * other methods are called with this struct, whose mxPathname and
	 * pAppData are the default's. */
	gather_vfs = *real_vfs;
	gather_vfs.zName = GATHER_NAME;
	gather_vfs.pNext = NULL;
	if ((size_t)real_vfs->szOsFile + sizeof(struct gfile) > (size_t)gather_vfs.szOsFile)
		gather_vfs.szOsFile = (int)(sizeof(struct gfile) + (size_t)real_vfs->szOsFile);
	gather_vfs.xOpen = g_open;
	if (sqlite3_vfs_register(&gather_vfs, 0) != SQLITE_OK)
		real_vfs = NULL;
}

const char *store__gather_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, gather_init);
	return real_vfs ? GATHER_NAME : NULL;
}

int store__gather_on_sync(sqlite3 *db, void (*fn)(void *ud, uint64_t ns, int rc), void *ud)
{
	sqlite3_file *f = NULL;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK ||
	    !f || f->pMethods != &gather_io)
		return -1;
	gf(f)->on_sync = fn;
	gf(f)->sync_ud = ud;
	return 0;
}
