/*
 * Private to vcli: what vcli remembers between runs, in the user's state
 * directory ($XDG_STATE_HOME/vcli, else ~/.local/state/vcli): the open
 * session for each server, one file per server endpoint
 * ("session-127.0.0.1_50051"), mode 0600, replaced atomically (a temporary
 * file in the same directory, then rename), so a crash or a concurrent vcli
 * never leaves half a file.
 *
 * The file is lines of `key=value`: session, operator, server, created,
 * and credential (which token or client certificate opened the session: a
 * fingerprint, never the secret).
 * state_session_parse() and state_session_format() are pure.
 */
#ifndef VCLI_CLI_STATE_H
#define VCLI_CLI_STATE_H

#include <stddef.h>

/* The largest state file read, in bytes. */
#define STATE_FILE_MAX 4096

struct state_session {
	char id[136];
	char operator_id[136];
	char server[264];
	char created[48];   /* RFC 3339 */
	char credential[24];/* "" without one; see struct cli */
};

/* The state directory for the given $XDG_STATE_HOME and $HOME.  Returns 0,
 * or -1 when neither is usable. */
int state_dir(const char *xdg_state_home, const char *home, char *out,
	      size_t outlen);

/* The file name for server: "session-" and the endpoint with every byte
 * other than [A-Za-z0-9.-] replaced by '_'. */
void state_session_name(const char *server, char *out, size_t outlen);

/* Parses the file's text.  Returns 0, or -1 when a line is malformed or
 * the session or server is missing. */
int state_session_parse(const char *text, size_t len,
			struct state_session *s);

/* The file's text for s.  Returns the length, or -1 when out is short or a
 * value holds a line break. */
int state_session_format(const struct state_session *s, char *out,
			 size_t outlen);

/*
 * Reads the file at path.  Returns 1 and fills *s, 0 when there is no file,
 * or -1 with a message in err (unreadable, too big, malformed).
 */
int state_session_load(const char *path, struct state_session *s, char *err,
		       size_t errlen);

/* Writes s to path atomically with mode 0600, creating dir (0700) and its
 * parents as needed.  Returns 0, or -1 with a message in err. */
int state_session_save(const char *dir, const char *path,
		       const struct state_session *s, char *err,
		       size_t errlen);

/* Removes the file; a missing file is not an error.  Returns 0 or -1. */
int state_session_forget(const char *path, char *err, size_t errlen);

#endif
