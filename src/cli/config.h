/*
 * Private to vcli: the configuration file and the precedence of settings.
 *
 * Every setting vcli reads comes from, in this order of precedence, a flag,
 * an environment variable, the configuration file or the built-in default.
 * This module is pure: it parses file text it is given and resolves sources
 * it is given (flags, environment values, a parsed file) into the effective
 * settings, each with its origin.  The caller reads the environment and the
 * file; tests and fuzz targets drive it with plain strings.
 *
 * The file is lines of `key = value` (the syntax, shared with governd, is
 * common/kvfile.h's: '#' comment lines, blank lines, no inline comments).
 * Keys are
 * the names in cfg_keys[]; a key given twice, an unknown key or a bad value
 * is an error naming path:line.
 */
#ifndef VCLI_CLI_CONFIG_H
#define VCLI_CLI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/kvfile.h"

/* The largest configuration file read, in bytes. */
#define CFG_FILE_MAX KV_FILE_MAX

/* The largest values of the count settings. */
#define CFG_RETRIES_MAX 100
#define CFG_BREAKER_MAX 10000

enum cfg_key {
	CFG_SERVER,
	CFG_OPERATOR,
	CFG_TOKEN,          /* a secret: never echoed (cfg_shown()) */
	CFG_TIMEOUT,
	CFG_CONNECT_TIMEOUT,
	CFG_RETRIES,        /* retries of a retry-safe call; 0: none */
	CFG_RETRY_BACKOFF,
	CFG_RECONNECT_BACKOFF,
	CFG_BREAKER,        /* failures in a row that open it; 0: off */
	CFG_BREAKER_COOLDOWN,
	CFG_OUTPUT,
	CFG_TLS,
	CFG_TLS_CA,
	CFG_TLS_CERT,
	CFG_TLS_KEY,
	CFG_TLS_SERVER_NAME,
	CFG_COLOR,
	CFG_NKEYS
};

struct cfg_keyinfo {
	const char *name;  /* the key in the file: "server" */
	const char *flag;  /* the flag: "--server" */
	const char *env;   /* the environment variable, or NULL */
	const char *def;   /* the default as text, or NULL for unset */
};

extern const struct cfg_keyinfo cfg_keys[CFG_NKEYS];

/* The values of the output setting, in the order of enum output_format. */
extern const char *const cfg_output_names[];

/* A parsed configuration file.  Owns a copy of the text; value[] points
 * into it. */
struct cfg_file {
	char *path;
	char *text;
	const char *value[CFG_NKEYS]; /* NULL: not in the file */
	unsigned line[CFG_NKEYS];
};

/*
 * Parses len bytes of text (no NUL needed) read from path (used in messages
 * only).  Every value is checked as cfg_check() does.  Returns 0, or -1
 * with "path:line: what is wrong" in err.  On success the caller owns *f
 * and releases it with cfg_file_release(); on failure *f holds nothing.
 */
int cfg_file_parse(struct cfg_file *f, const char *path, const char *text,
		   size_t len, char *err, size_t errlen);

void cfg_file_release(struct cfg_file *f);

/* Where an effective setting came from. */
enum cfg_origin {
	CFG_ORIGIN_DEFAULT = 0,
	CFG_ORIGIN_FILE,
	CFG_ORIGIN_ENV,
	CFG_ORIGIN_FLAG,
};

/* The sources of every setting.  NULL (or, for env, "") means not given.
 * env_name[k] overrides cfg_keys[k].env for messages (NO_COLOR feeds the
 * color setting under its own name). */
struct cfg_inputs {
	const char *flag[CFG_NKEYS];
	const char *env[CFG_NKEYS];
	const char *env_name[CFG_NKEYS];
	/* flag_name[k] overrides cfg_keys[k].flag as the source (--no-retry
	 * feeds retries). */
	const char *flag_name[CFG_NKEYS];
	const struct cfg_file *file; /* NULL: no file */
};

struct cfg_setting {
	const char *text;        /* NULL: unset */
	enum cfg_origin origin;
	const char *source;      /* flag, variable or file path; NULL: default */
	unsigned line;           /* CFG_ORIGIN_FILE: the line */
};

/* The effective configuration. */
struct cfg {
	struct cfg_setting s[CFG_NKEYS];
	const char *server;      /* never NULL after cfg_resolve() */
	const char *operator_id; /* NULL: none configured */
	const char *token;       /* bearer token; NULL: none */
	uint32_t timeout_ms;
	uint32_t connect_timeout_ms;
	uint32_t retries;
	uint32_t retry_backoff_ms;
	uint32_t reconnect_backoff_ms;
	uint32_t breaker;            /* 0: no circuit breaker */
	uint32_t breaker_cooldown_ms;
	int output;              /* index into cfg_output_names */
	int tls;                 /* 1: TLS (asked for, or implied by tls-*) */
	int color;               /* 1: colour allowed (auto), 0: never */
};

/*
 * Picks each setting from the first source that has it (flag, environment,
 * file, default), checks it, and fills *out.  Returns 0, or -1 with a
 * message that names the value and its source in err ("invalid duration
 * 'x' in VCLI_TIMEOUT (...)").  out points into in's strings.
 */
int cfg_resolve(const struct cfg_inputs *in, struct cfg *out, char *err,
		size_t errlen);

/*
 * Checks one value for key k.  Returns 0, or -1 with the reason in why
 * (e.g. "use table, json or yaml"), to follow the value in a message.
 */
int cfg_check(enum cfg_key k, const char *text, char *why, size_t whylen);

/* The default path of the file for the given $XDG_CONFIG_HOME and $HOME
 * (either may be NULL or empty).  Returns 0, or -1 when neither is usable. */
int cfg_default_path(const char *xdg_config_home, const char *home,
		     char *out, size_t outlen);

/* Describes where a setting came from, for `vcli config show`: "flag
 * --server", "env VCLI_OPERATOR", "/home/a/.config/vcli/config:3",
 * "default". */
void cfg_origin_text(const struct cfg_setting *s, char *out, size_t outlen);

/* How a setting's value may be shown: as it is, or "(hidden)" for a
 * secret (the token).  Every message and `vcli config show` go through
 * it. */
const char *cfg_shown(enum cfg_key k, const char *text);

/* 1 when text looks like HOST:PORT with a port of 1..65535, or is a
 * usable unix:PATH (common/netaddr.h). */
int cfg_endpoint_valid(const char *text);

#endif
