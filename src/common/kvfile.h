/*
 * Private: the `key = value` configuration file syntax, shared by vcli's
 * config file (src/cli/config.c) and governd's (src/server/config.c).
 *
 * A file is lines of `key = value`.  Blanks around key and value are
 * dropped; a line whose first non-blank character is '#' is a comment;
 * blank lines are ignored; CRLF endings are accepted.  There are no inline
 * comments: a '#' after a value is part of the value, so that a value check
 * refuses it instead of it being dropped silently.  What the keys mean,
 * whether one may repeat and which values are valid is the caller's
 * business (the callback); this module only knows the syntax.
 */
#ifndef VCLI_COMMON_KVFILE_H
#define VCLI_COMMON_KVFILE_H

#include <stddef.h>

/* The largest configuration file read, in bytes. */
#define KV_FILE_MAX (64 * 1024)

/*
 * Called once per `key = value` line, key and value trimmed and
 * NUL-terminated (pointing into the text).  Returns 0 to go on, or -1
 * after writing why into err (kv_parse() then prefixes "path:line: ").
 */
typedef int (*kv_line_fn)(void *ud, const char *key, const char *value,
			  unsigned line, char *err, size_t errlen);

/*
 * Parses len bytes of text in place (it must have room for text[len] =
 * '\0'; lines are cut with NULs, so keys and values handed to fn stay valid
 * as long as text does).  path is used in messages only.  Refuses a file
 * larger than KV_FILE_MAX or containing a NUL byte.  Returns 0, or -1 with
 * "path:line: what is wrong" (or "path: ...") in err.
 */
int kv_parse(char *text, size_t len, const char *path, kv_line_fn fn,
	     void *ud, char *err, size_t errlen);

/*
 * Reads a whole file of at most KV_FILE_MAX bytes into a NUL-terminated
 * malloc'd buffer (*text, the caller frees it; *len its length).  Returns
 * 0, or -1 with "cannot read 'path': reason" in err.
 */
int kv_read_file(const char *path, char **text, size_t *len, char *err,
		 size_t errlen);

/* Copies src into dst (cap bytes) for a message: well-formed UTF-8 without
 * control characters stays, every other byte becomes '?'. */
void kv_shown(char *dst, size_t cap, const char *src);

#endif
