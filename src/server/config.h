/*
 * Private to governd: where each setting comes from.
 *
 * governd's settings are its option table (main.c): every long option is
 * also a key of the configuration file and an environment variable
 * GOVERND_<NAME> (upper case, '-' as '_'), except the command-line-only
 * ones the caller names (help, version, check-config; `config` itself is a
 * flag or GOVERND_CONFIG, never a key of the file).  So adding a flag to
 * the table is all it takes for it to be configurable all three ways.
 *
 * Precedence, as vcli's (src/cli/config.h): flag > environment > file >
 * built-in default.  The file is `key = value` lines (common/kvfile.h); a
 * repeatable option (OPT_LIST) may repeat its key in the file, and takes a
 * comma-separated list from its variable; whichever source wins gives the
 * whole list.  Every value is checked, also one overridden by a higher
 * source, so that a file does not hide a mistake until the flag goes.
 *
 * The file: --config PATH or GOVERND_CONFIG (it must exist), else the first
 * of $XDG_CONFIG_HOME/governd/governd.conf (~/.config/... without it) and
 * /etc/governd/governd.conf that exists, else none.
 */
#ifndef VCLI_SERVER_CONFIG_H
#define VCLI_SERVER_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "common/opts.h"

#define GCONF_MAX_KEYS 64

enum gconf_origin {
	GCONF_DEFAULT = 0,
	GCONF_FILE,
	GCONF_ENV,
	GCONF_FLAG,
};

struct gconf_setting {
	enum gconf_origin origin;
	char source[1024];  /* "--listen", "GOVERND_LISTEN", the file's path */
	unsigned line;      /* GCONF_FILE */
};

struct gconf {
	/* In (set before gconf_load()). */
	const struct opt *table;        /* governd's options */
	const char *const *cli_only;    /* NULL-ended names: flags only */
	const char *config_key;         /* the option naming the file: "config" */
	/* Out. */
	size_t n;                               /* options in table */
	struct gconf_setting s[GCONF_MAX_KEYS]; /* per option, table order */
	char path[1024];                        /* the file read; "" for none */
	/* Owned: the file's text and copies of list variables; the options'
	 * string values point into them, so they live until gconf_release(). */
	char *text;
	char *env_copy[GCONF_MAX_KEYS];
};

/*
 * Fills the table's destinations from argv[1..argc) (flags), the
 * environment and the file, in that order of precedence; what none of them
 * gives keeps the value the destination held (the default).  Returns 0, or
 * -1 with a message that names the bad key, value and source in err
 * ("/etc/governd/governd.conf:4: invalid duration 'soon' for 'heartbeat'
 * (...)").  Either way g must be released with gconf_release().
 */
int gconf_load(struct gconf *g, int argc, char **argv, char *err, size_t errlen);

void gconf_release(struct gconf *g);

/* The table entry called name, or NULL; its index through *idx. */
const struct opt *gconf_find(const struct gconf *g, const char *name, size_t *idx);

/* "default", "flag --listen", "env GOVERND_LISTEN", "/etc/governd/governd.conf:3". */
void gconf_origin_text(const struct gconf_setting *s, char *out, size_t outlen);

/* Prints KEY, VALUE and SOURCE for every configurable option, as
 * `governd --check-config` shows them. */
void gconf_print(const struct gconf *g, FILE *f);

/* 1 when the option at idx is configurable (not command-line only). */
int gconf_configurable(const struct gconf *g, size_t idx);

#endif
