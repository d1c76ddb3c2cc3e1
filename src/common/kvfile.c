/*
 * The `key = value` file syntax (see kvfile.h).
 */
#include "common/kvfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

void kv_shown(char *dst, size_t cap, const char *src)
{
	utf8_sanitize_n(dst, cap, src, strlen(src));
}

/* One line, NUL-terminated. */
static int parse_line(char *p, const char *path, unsigned lineno, kv_line_fn fn,
		      void *ud, char *err, size_t errlen)
{
	char *key, *value, *end, *eq, shown[96], why[400];

	while (is_blank(*p))
		p++;
	if (!*p || *p == '#')
		return 0;
	eq = strchr(p, '=');
	if (!eq) {
		kv_shown(shown, sizeof(shown), p);
		snprintf(err, errlen, "%s:%u: expected 'key = value', got '%s'", path,
			 lineno, shown);
		return -1;
	}
	key = p;
	end = eq;
	while (end > key && is_blank(end[-1]))
		end--;
	*end = '\0';
	value = eq + 1;
	while (is_blank(*value))
		value++;
	end = value + strlen(value);
	while (end > value && is_blank(end[-1]))
		end--;
	*end = '\0';
	if (!*key) {
		snprintf(err, errlen, "%s:%u: missing key before '='", path, lineno);
		return -1;
	}
	why[0] = '\0';
	if (fn(ud, key, value, lineno, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
		return -1;
	}
	return 0;
}

int kv_parse(char *text, size_t len, const char *path, kv_line_fn fn,
	     void *ud, char *err, size_t errlen)
{
	unsigned lineno = 0;
	char *p, *end;

	if (len > KV_FILE_MAX) {
		snprintf(err, errlen, "%s: the file is larger than %d KiB", path,
			 KV_FILE_MAX / 1024);
		return -1;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: the file contains a NUL byte; it is not a "
			 "text file", path);
		return -1;
	}
	text[len] = '\0';
	for (p = text; p < text + len; p = end + 1) {
		end = strchr(p, '\n');
		if (!end)
			end = text + len;
		*end = '\0';
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		lineno++;
		if (parse_line(p, path, lineno, fn, ud, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int kv_read_file(const char *path, char **text, size_t *len, char *err,
		 size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;

	*text = NULL;
	*len = 0;
	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(KV_FILE_MAX + 2);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "cannot read '%s': out of memory", path);
		return -1;
	}
	/* One byte more than allowed, so that kv_parse() sees it is too big. */
	n = fread(buf, 1, KV_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}
