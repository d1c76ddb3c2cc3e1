/*
 * vcli: the configuration file and the precedence of settings (see
 * config.h).  Pure: no file, environment or terminal access here.
 */
#include "cli/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/output.h"
#include "common/kvfile.h"
#include "common/netaddr.h"
#include "common/opts.h"

const struct cfg_keyinfo cfg_keys[CFG_NKEYS] = {
	[CFG_SERVER] = { "server", "--server", "VCLI_GOVERNANCE_ENDPOINT",
			 "127.0.0.1:50051" },
	[CFG_OPERATOR] = { "operator", "--operator", "VCLI_OPERATOR", NULL },
	[CFG_TOKEN] = { "token", "--token", "VCLI_TOKEN", NULL },
	[CFG_TIMEOUT] = { "timeout", "--timeout", "VCLI_TIMEOUT", "10s" },
	[CFG_CONNECT_TIMEOUT] = { "connect-timeout", "--connect-timeout",
				  NULL, "5s" },
	[CFG_RETRIES] = { "retries", "--retries", "VCLI_RETRIES", "3" },
	[CFG_RETRY_BACKOFF] = { "retry-backoff", "--retry-backoff", NULL,
				"100ms" },
	[CFG_RECONNECT_BACKOFF] = { "reconnect-backoff", "--reconnect-backoff",
				    NULL, "250ms" },
	[CFG_BREAKER] = { "breaker", "--breaker", NULL, "5" },
	[CFG_BREAKER_COOLDOWN] = { "breaker-cooldown", "--breaker-cooldown",
				   NULL, "5s" },
	[CFG_OUTPUT] = { "output", "--output", "VCLI_OUTPUT", "table" },
	[CFG_TLS] = { "tls", "--tls", NULL, "false" },
	[CFG_TLS_CA] = { "tls-ca", "--tls-ca", "VCLI_TLS_CA", NULL },
	[CFG_TLS_CERT] = { "tls-cert", "--tls-cert", "VCLI_TLS_CERT", NULL },
	[CFG_TLS_KEY] = { "tls-key", "--tls-key", "VCLI_TLS_KEY", NULL },
	[CFG_TLS_SERVER_NAME] = { "tls-server-name", "--tls-server-name",
				  "VCLI_TLS_SERVER_NAME", NULL },
	[CFG_COLOR] = { "color", "--no-color", NULL, "auto" },
};

const char *const cfg_output_names[] = { "table", "json", "yaml", NULL };

static const char *const bool_true[] = { "true", "yes", "on", "1", NULL };
static const char *const bool_false[] = { "false", "no", "off", "0", NULL };

static int in_list(const char *const *list, const char *text)
{
	for (int i = 0; list[i]; i++)
		if (strcasecmp(list[i], text) == 0)
			return i;
	return -1;
}

int cfg_endpoint_valid(const char *ep)
{
	const char *colon = strrchr(ep, ':');
	char path[108];
	long port = 0;
	int u = netaddr_unix(ep, path, sizeof(path), NULL);

	if (u != 0)
		return u > 0;
	if (!colon || colon == ep || !colon[1])
		return 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			return 0;
		port = port * 10 + (*p - '0');
	}
	return port >= 1 && port <= 65535;
}

/* An operator id as the server accepts it: 1-128 bytes of UTF-8 without
 * control characters (docs/governance.md, CreateSession). */
static int operator_valid(const char *s)
{
	size_t len = strlen(s);
	char clean[130];

	if (len == 0 || len > 128)
		return 0;
	/* out_sanitize() replaces exactly the bytes we refuse by '?'; a
	 * string it leaves alone is well-formed and free of controls. */
	out_sanitize(clean, sizeof(clean), s);
	return strcmp(clean, s) == 0;
}

const char *cfg_shown(enum cfg_key k, const char *text)
{
	return k == CFG_TOKEN && text ? "(hidden)" : text;
}

/* A bearer token as an HTTP/2 header value carries it: visible ASCII,
 * no spaces, at most 4096 bytes. */
static int token_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
			return 0;
	return n >= 1 && n <= 4096;
}

/* A whole number from 0 to max, digits only. */
static int count_parse(const char *text, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;

	if (!*text)
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint32_t)(*p - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

int cfg_check(enum cfg_key k, const char *text, char *why, size_t whylen)
{
	const char *uwhy = NULL;
	char path[108];
	uint32_t ms;

	why[0] = '\0';
	switch (k) {
	case CFG_SERVER:
		if (cfg_endpoint_valid(text))
			return 0;
		if (netaddr_unix(text, path, sizeof(path), &uwhy) < 0)
			snprintf(why, whylen, "%s", uwhy);
		else
			snprintf(why, whylen, "use HOST:PORT or unix:PATH");
		return -1;
	case CFG_OPERATOR:
		if (operator_valid(text))
			return 0;
		snprintf(why, whylen, "use 1 to 128 bytes of UTF-8 without "
			 "control characters");
		return -1;
	case CFG_TOKEN:
		if (token_valid(text))
			return 0;
		snprintf(why, whylen, "use the token governd printed: up to "
			 "4096 visible characters, no spaces");
		return -1;
	case CFG_RETRIES:
		if (count_parse(text, CFG_RETRIES_MAX, &ms) == 0)
			return 0;
		snprintf(why, whylen, "use a whole number from 0 to %d",
			 CFG_RETRIES_MAX);
		return -1;
	case CFG_BREAKER:
		if (count_parse(text, CFG_BREAKER_MAX, &ms) == 0)
			return 0;
		snprintf(why, whylen, "use a whole number from 0 (off) to %d",
			 CFG_BREAKER_MAX);
		return -1;
	case CFG_TIMEOUT:
	case CFG_CONNECT_TIMEOUT:
	case CFG_RETRY_BACKOFF:
	case CFG_RECONNECT_BACKOFF:
	case CFG_BREAKER_COOLDOWN:
		if (opts_parse_duration(text, &ms) == 0)
			return 0;
		snprintf(why, whylen, "use a positive number with a unit: "
			 "500ms, 2s, 1.5s, 1m");
		return -1;
	case CFG_OUTPUT:
		if (in_list(cfg_output_names, text) >= 0)
			return 0;
		snprintf(why, whylen, "use table, json or yaml");
		return -1;
	case CFG_TLS:
		if (in_list(bool_true, text) >= 0 ||
		    in_list(bool_false, text) >= 0)
			return 0;
		snprintf(why, whylen, "use true or false");
		return -1;
	case CFG_TLS_CA:
	case CFG_TLS_CERT:
	case CFG_TLS_KEY:
	case CFG_TLS_SERVER_NAME:
		if (text[0])
			return 0;
		snprintf(why, whylen, "the value is empty");
		return -1;
	case CFG_COLOR:
		if (strcasecmp(text, "auto") == 0 ||
		    strcasecmp(text, "never") == 0)
			return 0;
		snprintf(why, whylen, "use auto or never");
		return -1;
	case CFG_NKEYS:
		break;
	}
	snprintf(why, whylen, "unknown setting");
	return -1;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void cfg_file_release(struct cfg_file *f)
{
	free(f->path);
	free(f->text);
	memset(f, 0, sizeof(*f));
}

/* One `key = value` line of the file (the syntax is common/kvfile.h's). */
static int file_line(void *ud, const char *key, const char *value,
		     unsigned lineno, char *err, size_t errlen)
{
	struct cfg_file *f = ud;
	char shown[96], why[128];
	int k;

	out_sanitize(shown, sizeof(shown), key);
	for (k = 0; k < CFG_NKEYS; k++)
		if (strcmp(cfg_keys[k].name, key) == 0)
			break;
	if (k == CFG_NKEYS) {
		set_err(err, errlen, "unknown key '%s' (known: server, "
			"operator, token, timeout, connect-timeout, retries, "
			"retry-backoff, reconnect-backoff, breaker, "
			"breaker-cooldown, output, tls, tls-ca, tls-cert, "
			"tls-key, tls-server-name, color)",
			shown);
		return -1;
	}
	if (f->value[k]) {
		set_err(err, errlen, "key '%s' is already set on line %u",
			shown, f->line[k]);
		return -1;
	}
	if (cfg_check((enum cfg_key)k, value, why, sizeof(why)) < 0) {
		char vshown[96];

		out_sanitize(vshown, sizeof(vshown),
			     cfg_shown((enum cfg_key)k, value));
		set_err(err, errlen, "invalid value '%s' for '%s' (%s)",
			vshown, shown, why);
		return -1;
	}
	f->value[k] = value;
	f->line[k] = lineno;
	return 0;
}

int cfg_file_parse(struct cfg_file *f, const char *path, const char *text,
		   size_t len, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	if (len > CFG_FILE_MAX) {
		set_err(err, errlen, "%s: the file is larger than %d KiB",
			path, CFG_FILE_MAX / 1024);
		return -1;
	}
	f->path = strdup(path);
	f->text = malloc(len + 1);
	if (!f->path || !f->text) {
		cfg_file_release(f);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	memcpy(f->text, text, len);
	if (kv_parse(f->text, len, f->path, file_line, f, err, errlen) < 0) {
		cfg_file_release(f);
		return -1;
	}
	return 0;
}

int cfg_default_path(const char *xdg, const char *home, char *out,
		     size_t outlen)
{
	int n;

	/* The XDG base directory spec says to ignore relative paths. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/vcli/config", xdg);
	else if (home && home[0])
		n = snprintf(out, outlen, "%s/.config/vcli/config", home);
	else
		return -1;
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

void cfg_origin_text(const struct cfg_setting *s, char *out, size_t outlen)
{
	switch (s->origin) {
	case CFG_ORIGIN_FLAG:
		snprintf(out, outlen, "flag %s", s->source);
		return;
	case CFG_ORIGIN_ENV:
		snprintf(out, outlen, "env %s", s->source);
		return;
	case CFG_ORIGIN_FILE:
		snprintf(out, outlen, "%s:%u", s->source, s->line);
		return;
	case CFG_ORIGIN_DEFAULT:
		break;
	}
	snprintf(out, outlen, "default");
}

/* Names the source of s in a message: "for '--timeout'", "in VCLI_TIMEOUT",
 * "for 'timeout' in /path:3". */
static void where(const struct cfg_setting *s, enum cfg_key k, char *out,
		  size_t outlen)
{
	switch (s->origin) {
	case CFG_ORIGIN_FLAG:
		snprintf(out, outlen, "for '%s'", s->source);
		return;
	case CFG_ORIGIN_ENV:
		snprintf(out, outlen, "in %s", s->source);
		return;
	case CFG_ORIGIN_FILE:
		snprintf(out, outlen, "for '%s' in %s:%u", cfg_keys[k].name,
			 s->source, s->line);
		return;
	case CFG_ORIGIN_DEFAULT:
		break;
	}
	snprintf(out, outlen, "for '%s' (default)", cfg_keys[k].name);
}

int cfg_resolve(const struct cfg_inputs *in, struct cfg *out, char *err,
		size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < CFG_NKEYS; k++) {
		struct cfg_setting *s = &out->s[k];
		char why[128], at[300], shown[96];

		if (in->flag[k]) {
			s->text = in->flag[k];
			s->origin = CFG_ORIGIN_FLAG;
			s->source = in->flag_name[k] ? in->flag_name[k]
						     : cfg_keys[k].flag;
		} else if (in->env[k] && in->env[k][0]) {
			s->text = in->env[k];
			s->origin = CFG_ORIGIN_ENV;
			s->source = in->env_name[k] ? in->env_name[k]
						    : cfg_keys[k].env;
		} else if (in->file && in->file->value[k]) {
			s->text = in->file->value[k];
			s->origin = CFG_ORIGIN_FILE;
			s->source = in->file->path;
			s->line = in->file->line[k];
		} else {
			s->text = cfg_keys[k].def;
			s->origin = CFG_ORIGIN_DEFAULT;
		}
		if (!s->text)
			continue;
		if (cfg_check((enum cfg_key)k, s->text, why, sizeof(why)) < 0) {
			const char *kind = k == CFG_TIMEOUT ||
				k == CFG_CONNECT_TIMEOUT ||
				k == CFG_RETRY_BACKOFF ||
				k == CFG_RECONNECT_BACKOFF ||
				k == CFG_BREAKER_COOLDOWN ? "duration" :
				k == CFG_RETRIES || k == CFG_BREAKER ? "number" :
				k == CFG_SERVER ? "server address" : "value";

			where(s, (enum cfg_key)k, at, sizeof(at));
			out_sanitize(shown, sizeof(shown),
				     cfg_shown((enum cfg_key)k, s->text));
			set_err(err, errlen, "invalid %s '%s' %s (%s)", kind,
				shown, at, why);
			return -1;
		}
	}
	out->server = out->s[CFG_SERVER].text;
	out->operator_id = out->s[CFG_OPERATOR].text;
	out->token = out->s[CFG_TOKEN].text;
	opts_parse_duration(out->s[CFG_TIMEOUT].text, &out->timeout_ms);
	opts_parse_duration(out->s[CFG_CONNECT_TIMEOUT].text,
			    &out->connect_timeout_ms);
	count_parse(out->s[CFG_RETRIES].text, CFG_RETRIES_MAX, &out->retries);
	opts_parse_duration(out->s[CFG_RETRY_BACKOFF].text,
			    &out->retry_backoff_ms);
	opts_parse_duration(out->s[CFG_RECONNECT_BACKOFF].text,
			    &out->reconnect_backoff_ms);
	count_parse(out->s[CFG_BREAKER].text, CFG_BREAKER_MAX, &out->breaker);
	opts_parse_duration(out->s[CFG_BREAKER_COOLDOWN].text,
			    &out->breaker_cooldown_ms);
	out->output = in_list(cfg_output_names, out->s[CFG_OUTPUT].text);
	out->tls = in_list(bool_true, out->s[CFG_TLS].text) >= 0 ||
		   out->s[CFG_TLS_CA].text || out->s[CFG_TLS_CERT].text ||
		   out->s[CFG_TLS_KEY].text || out->s[CFG_TLS_SERVER_NAME].text;
	out->color = strcasecmp(out->s[CFG_COLOR].text, "never") != 0;
	if (!out->s[CFG_TLS_CERT].text != !out->s[CFG_TLS_KEY].text) {
		enum cfg_key have = out->s[CFG_TLS_CERT].text ? CFG_TLS_CERT
							      : CFG_TLS_KEY;
		enum cfg_key miss = have == CFG_TLS_CERT ? CFG_TLS_KEY
							 : CFG_TLS_CERT;

		set_err(err, errlen, "'%s' needs '%s' as well",
			cfg_keys[have].flag, cfg_keys[miss].flag);
		return -1;
	}
	return 0;
}
