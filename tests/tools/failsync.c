/*
 * failsync: an LD_PRELOAD library that makes fsync() and fdatasync() fail
 * with EIO while the file named by $FAILSYNC_TRIGGER exists, so that a
 * test can turn a disk's sync failure on and off under a running governd
 * (tests/integration/test_governance_durability.py, class SyncFailure).
 * Without the variable, or while the file is absent, both calls go to the
 * C library unchanged.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*sync_fn)(int);

static sync_fn real_fsync, real_fdatasync;
static const char *trigger;

int fsync(int fd);
int fdatasync(int fd);

/* Resolved once, before main() and before any thread can sync. */
__attribute__((constructor)) static void failsync_init(void)
{
	void *p;

	trigger = getenv("FAILSYNC_TRIGGER");
	p = dlsym(RTLD_NEXT, "fsync");
	real_fsync = (sync_fn)p;
	p = dlsym(RTLD_NEXT, "fdatasync");
	real_fdatasync = (sync_fn)p;
}

static int failing(void)
{
	int saved = errno, on = trigger && *trigger && access(trigger, F_OK) == 0;

	errno = saved;
	return on;
}

int fsync(int fd)
{
	if (failing() || !real_fsync) {
		errno = EIO;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	if (failing() || !real_fdatasync) {
		errno = EIO;
		return -1;
	}
	return real_fdatasync(fd);
}
