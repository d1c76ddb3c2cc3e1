/*
 * vcli: the remembered session (see state.h).
 */
#include "cli/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int state_dir(const char *xdg, const char *home, char *out, size_t outlen)
{
	int n;

	/* The XDG base directory spec says to ignore relative paths. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/vcli", xdg);
	else if (home && home[0])
		n = snprintf(out, outlen, "%s/.local/state/vcli", home);
	else
		return -1;
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

void state_session_name(const char *server, char *out, size_t outlen)
{
	size_t o;
	int n = snprintf(out, outlen, "session-");

	if (n < 0 || (size_t)n >= outlen)
		return;
	o = (size_t)n;
	for (const char *p = server; *p && o + 1 < outlen; p++) {
		char c = *p;

		out[o++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '.' || c == '-' ?
			   c : '_';
	}
	out[o] = '\0';
}

static int set_field(char *dst, size_t cap, const char *v, size_t len)
{
	if (len >= cap)
		return -1;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

int state_session_parse(const char *text, size_t len, struct state_session *s)
{
	const char *p = text, *end = text + len;

	memset(s, 0, sizeof(*s));
	if (memchr(text, '\0', len))
		return -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *eq;
		size_t klen;
		int rc = 0;

		if (le == p) {
			p = le + 1;
			continue;
		}
		eq = memchr(p, '=', (size_t)(le - p));
		if (!eq)
			return -1;
		klen = (size_t)(eq - p);
#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(p, k, klen) == 0)
		if (KEY_IS("session"))
			rc = set_field(s->id, sizeof(s->id), eq + 1,
				       (size_t)(le - eq - 1));
		else if (KEY_IS("operator"))
			rc = set_field(s->operator_id, sizeof(s->operator_id),
				       eq + 1, (size_t)(le - eq - 1));
		else if (KEY_IS("server"))
			rc = set_field(s->server, sizeof(s->server), eq + 1,
				       (size_t)(le - eq - 1));
		else if (KEY_IS("created"))
			rc = set_field(s->created, sizeof(s->created), eq + 1,
				       (size_t)(le - eq - 1));
		else if (KEY_IS("credential"))
			rc = set_field(s->credential, sizeof(s->credential),
				       eq + 1, (size_t)(le - eq - 1));
		/* Other keys: written by a newer vcli; ignored. */
#undef KEY_IS
		if (rc < 0)
			return -1;
		p = le + 1;
	}
	return s->id[0] && s->server[0] ? 0 : -1;
}

int state_session_format(const struct state_session *s, char *out,
			 size_t outlen)
{
	int n;

	if (strpbrk(s->id, "\r\n") || strpbrk(s->operator_id, "\r\n") ||
	    strpbrk(s->server, "\r\n") || strpbrk(s->created, "\r\n") ||
	    strpbrk(s->credential, "\r\n"))
		return -1;
	n = snprintf(out, outlen, "session=%s\noperator=%s\nserver=%s\n"
		     "created=%s\n%s%s%s", s->id, s->operator_id, s->server,
		     s->created, s->credential[0] ? "credential=" : "",
		     s->credential, s->credential[0] ? "\n" : "");
	return n > 0 && (size_t)n < outlen ? n : -1;
}

int state_session_load(const char *path, struct state_session *s, char *err,
		       size_t errlen)
{
	char buf[STATE_FILE_MAX + 1];
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		snprintf(err, errlen, "cannot read '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read '%s': %s", path,
				 strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf))
			break;
	}
	close(fd);
	if (len > STATE_FILE_MAX || state_session_parse(buf, len, s) < 0) {
		snprintf(err, errlen, "'%s' is not a vcli session file; remove "
			 "it or run 'vcli session open'", path);
		return -1;
	}
	return 1;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	size_t len = strlen(dir);

	if (len >= sizeof(path)) {
		snprintf(err, errlen, "state directory path is too long");
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create '%s': %s", path,
				 strerror(errno));
			return -1;
		}
		path[i] = i == len ? '\0' : '/';
	}
	return 0;
}

int state_session_save(const char *dir, const char *path,
		       const struct state_session *s, char *err,
		       size_t errlen)
{
	char text[STATE_FILE_MAX], tmp[4200];
	int len = state_session_format(s, text, sizeof(text));
	size_t off = 0;
	int fd, n;

	if (len < 0) {
		snprintf(err, errlen, "cannot save the session: a value is "
			 "too long or holds a line break");
		return -1;
	}
	if (make_dirs(dir, err, errlen) < 0)
		return -1;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "state file path is too long");
		return -1;
	}
	unlink(tmp); /* left by a crashed vcli that had our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", tmp,
			 strerror(errno));
		return -1;
	}
	while (off < (size_t)len) {
		ssize_t w = write(fd, text + off, (size_t)len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	/* The data reaches the disk before the rename makes it the file, so
	 * a crash leaves the old file or the new one, never an empty one. */
	if (off < (size_t)len || fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write '%s': %s", tmp,
			 strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot replace '%s': %s", path,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int state_session_forget(const char *path, char *err, size_t errlen)
{
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}
