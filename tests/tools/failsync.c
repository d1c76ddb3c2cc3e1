/*
 * failsync: an LD_PRELOAD library that makes fsync() and fdatasync() fail
 * with EIO while the file named by $FAILSYNC_TRIGGER exists, so that a
 * test can turn a disk's sync failure on and off under a running governd
 * (tests/integration/test_governance_durability.py, class SyncFailure).
 * With $FAILSYNC_SUFFIX too, only a file whose path ends with it fails
 * (governd's database file and not its log, say).  Without the trigger
 * variable, or while the file is absent, both calls go to the C library
 * unchanged.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*sync_fn)(int);

static sync_fn real_fsync, real_fdatasync;
static const char *trigger, *suffix;

int fsync(int fd);
int fdatasync(int fd);

/* Resolved once, before main() and before any thread can sync. */
__attribute__((constructor)) static void failsync_init(void)
{
	void *p;

	trigger = getenv("FAILSYNC_TRIGGER");
	suffix = getenv("FAILSYNC_SUFFIX");
	p = dlsym(RTLD_NEXT, "fsync");
	real_fsync = (sync_fn)p;
	p = dlsym(RTLD_NEXT, "fdatasync");
	real_fdatasync = (sync_fn)p;
}

static int failing(int fd)
{
	int saved = errno, on = trigger && *trigger && access(trigger, F_OK) == 0;

	if (on && suffix && *suffix) {
		char link[64], path[4096];
		size_t ls = strlen(suffix);
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		on = n >= (ssize_t)ls && memcmp(path + n - ls, suffix, ls) == 0;
	}
	errno = saved;
	return on;
}

int fsync(int fd)
{
	if (failing(fd) || !real_fsync) {
		errno = EIO;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	if (failing(fd) || !real_fdatasync) {
		errno = EIO;
		return -1;
	}
	return real_fdatasync(fd);
}
