/*
 * governd: settings from flags, the environment and the configuration
 * file, and where each came from (see config.h).
 */
#include "server/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/kvfile.h"

#define ENV_PREFIX "GOVERND_"

const struct opt *gconf_find(const struct gconf *g, const char *name, size_t *idx)
{
	for (size_t i = 0; g->table[i].name; i++) {
		if (strcmp(g->table[i].name, name) == 0) {
			if (idx)
				*idx = i;
			return &g->table[i];
		}
	}
	return NULL;
}

static int cli_only(const struct gconf *g, const char *name)
{
	for (size_t i = 0; g->cli_only && g->cli_only[i]; i++)
		if (strcmp(g->cli_only[i], name) == 0)
			return 1;
	return 0;
}

int gconf_configurable(const struct gconf *g, size_t idx)
{
	return idx < g->n && !cli_only(g, g->table[idx].name) &&
	       strcmp(g->table[idx].name, g->config_key) != 0;
}

static void env_name(const char *name, char *out, size_t outlen)
{
	size_t o = snprintf(out, outlen, "%s", ENV_PREFIX);

	for (; *name && o + 1 < outlen; name++)
		out[o++] = *name == '-' ? '_' :
			   (*name >= 'a' && *name <= 'z') ? (char)(*name - 'a' + 'A') : *name;
	out[o] = '\0';
}

/* Checks value as o takes it without storing it: for a source that a
 * higher one overrides. */
static int check_only(const struct opt *o, const char *shown, const char *value,
		      char *err, size_t errlen)
{
	union {
		int i;
		uint32_t u;
		const char *s;
		struct opt_list l;
	} scratch;
	struct opt tmp = *o;

	memset(&scratch, 0, sizeof(scratch));
	tmp.dest = &scratch;
	return opts_set_text(&tmp, shown, value, err, errlen);
}

static void on_flag(void *ud, const struct opt *o, const char *value)
{
	struct gconf *g = ud;
	size_t i = (size_t)(o - g->table);

	if (i >= g->n)
		return;
	g->s[i].origin = GCONF_FLAG;
	snprintf(g->s[i].source, sizeof(g->s[i].source), "--%s", o->name);
}

static int load_flags(struct gconf *g, int argc, char **argv, char *err, size_t errlen)
{
	const struct opt *const tables[] = { g->table, NULL };
	struct opts_parser p;

	memset(&p, 0, sizeof(p));
	p.tables = tables;
	p.on_set = on_flag;
	p.ud = g;
	if (opts_parse(&p, argc, argv, 1) < 0) {
		snprintf(err, errlen, "%s", p.err);
		return -1;
	}
	if (p.npos > 0) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[1]);
		return -1;
	}
	return 0;
}

static int load_env(struct gconf *g, char *err, size_t errlen)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct opt *o = &g->table[i];
		int overridden = g->s[i].origin == GCONF_FLAG;
		char name[96], *copy, *item, *next;
		const char *value;

		if (cli_only(g, o->name))
			continue;
		env_name(o->name, name, sizeof(name));
		value = getenv(name);
		if (!value || !value[0])
			continue;
		if (o->kind != OPT_LIST) {
			if (overridden ? check_only(o, name, value, err, errlen) :
					 opts_set_text(o, name, value, err, errlen))
				return -1;
		} else {
			/* A list is comma-separated here; the copy is cut
			 * in place and kept, as the values point into it. */
			copy = strdup(value);
			if (!copy) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			g->env_copy[i] = copy;
			if (!overridden)
				((struct opt_list *)o->dest)->n = 0;
			for (item = copy; item; item = next) {
				next = strchr(item, ',');
				if (next)
					*next++ = '\0';
				if (overridden ? check_only(o, name, item, err, errlen) :
						 opts_set_text(o, name, item, err, errlen))
					return -1;
			}
		}
		if (!overridden) {
			g->s[i].origin = GCONF_ENV;
			snprintf(g->s[i].source, sizeof(g->s[i].source), "%s", name);
		}
	}
	return 0;
}

/* What the file callback needs: which keys the file has set, where. */
struct file_state {
	struct gconf *g;
	unsigned line[GCONF_MAX_KEYS];
};

static int file_line(void *ud, const char *key, const char *value, unsigned lineno,
		     char *err, size_t errlen)
{
	struct file_state *fs = ud;
	struct gconf *g = fs->g;
	char shown[96];
	const struct opt *o;
	size_t i;

	kv_shown(shown, sizeof(shown), key);
	o = gconf_find(g, key, &i);
	if (o && strcmp(key, g->config_key) == 0) {
		snprintf(err, errlen, "'%s' cannot be set in the configuration file (use "
			 "--config or " ENV_PREFIX "CONFIG)", shown);
		return -1;
	}
	if (!o || cli_only(g, key)) {
		snprintf(err, errlen, "unknown key '%s' (the keys are governd's long options "
			 "without the dashes)", shown);
		return -1;
	}
	if (fs->line[i] && o->kind != OPT_LIST) {
		snprintf(err, errlen, "key '%s' is already set on line %u", shown,
			 fs->line[i]);
		return -1;
	}
	if (g->s[i].origin == GCONF_FLAG || g->s[i].origin == GCONF_ENV) {
		if (check_only(o, shown, value, err, errlen) < 0)
			return -1;
	} else {
		if (opts_set_text(o, shown, value, err, errlen) < 0)
			return -1;
		g->s[i].origin = GCONF_FILE;
		snprintf(g->s[i].source, sizeof(g->s[i].source), "%s", g->path);
		if (!g->s[i].line)
			g->s[i].line = lineno;
	}
	if (!fs->line[i])
		fs->line[i] = lineno;
	return 0;
}

/* Picks the file: named (must exist), else the first default that exists. */
static int pick_file(struct gconf *g, int *named)
{
	const struct opt *o = gconf_find(g, g->config_key, NULL);
	const char *given = o ? *(const char *const *)o->dest : NULL;
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char cand[1024];

	*named = 0;
	if (given) {
		*named = 1;
		snprintf(g->path, sizeof(g->path), "%s", given);
		return 1;
	}
	cand[0] = '\0';
	if (xdg && xdg[0] == '/')
		snprintf(cand, sizeof(cand), "%s/governd/governd.conf", xdg);
	else if (home && home[0])
		snprintf(cand, sizeof(cand), "%s/.config/governd/governd.conf", home);
	if (cand[0] && access(cand, F_OK) == 0) {
		snprintf(g->path, sizeof(g->path), "%s", cand);
		return 1;
	}
	if (access("/etc/governd/governd.conf", F_OK) == 0) {
		snprintf(g->path, sizeof(g->path), "/etc/governd/governd.conf");
		return 1;
	}
	return 0;
}

static int load_file(struct gconf *g, char *err, size_t errlen)
{
	struct file_state fs;
	size_t len;
	int named;

	if (!pick_file(g, &named))
		return 0;
	if (kv_read_file(g->path, &g->text, &len, err, errlen) < 0)
		return -1;
	memset(&fs, 0, sizeof(fs));
	fs.g = g;
	/* Lists from the file replace the (empty) default as a whole. */
	for (size_t i = 0; i < g->n; i++)
		if (g->table[i].kind == OPT_LIST && g->s[i].origin == GCONF_DEFAULT)
			((struct opt_list *)g->table[i].dest)->n = 0;
	return kv_parse(g->text, len, g->path, file_line, &fs, err, errlen);
}

int gconf_load(struct gconf *g, int argc, char **argv, char *err, size_t errlen)
{
	char raw[1024];

	g->n = 0;
	while (g->table[g->n].name)
		g->n++;
	memset(g->s, 0, sizeof(g->s));
	g->path[0] = '\0';
	g->text = NULL;
	memset(g->env_copy, 0, sizeof(g->env_copy));
	if (g->n > GCONF_MAX_KEYS) {
		snprintf(err, errlen, "too many options (%zu, at most %d)", g->n, GCONF_MAX_KEYS);
		return -1;
	}
	if (load_flags(g, argc, argv, raw, sizeof(raw)) < 0 ||
	    load_env(g, raw, sizeof(raw)) < 0 || load_file(g, raw, sizeof(raw)) < 0) {
		/* Values in messages come from files and the environment:
		 * no control characters reach the terminal or the log. */
		kv_shown(err, errlen, raw);
		return -1;
	}
	return 0;
}

void gconf_release(struct gconf *g)
{
	free(g->text);
	g->text = NULL;
	for (size_t i = 0; i < GCONF_MAX_KEYS; i++) {
		free(g->env_copy[i]);
		g->env_copy[i] = NULL;
	}
}

void gconf_origin_text(const struct gconf_setting *s, char *out, size_t outlen)
{
	switch (s->origin) {
	case GCONF_FLAG:
		snprintf(out, outlen, "flag %s", s->source);
		return;
	case GCONF_ENV:
		snprintf(out, outlen, "env %s", s->source);
		return;
	case GCONF_FILE:
		snprintf(out, outlen, "%s:%u", s->source, s->line);
		return;
	case GCONF_DEFAULT:
		break;
	}
	snprintf(out, outlen, "default");
}

void gconf_print(const struct gconf *g, FILE *f)
{
	size_t wk = 3, wv = 5;
	char v[1024], shown[1024], src[1100];

	for (size_t i = 0; i < g->n; i++) {
		if (!gconf_configurable(g, i))
			continue;
		kv_shown(shown, sizeof(shown), opts_value_text(&g->table[i], v, sizeof(v)));
		if (strlen(g->table[i].name) > wk)
			wk = strlen(g->table[i].name);
		if (strlen(shown) > wv && strlen(shown) <= 48)
			wv = strlen(shown);
	}
	fprintf(f, "%-*s  %-*s  %s\n", (int)wk, "KEY", (int)wv, "VALUE", "SOURCE");
	for (size_t i = 0; i < g->n; i++) {
		if (!gconf_configurable(g, i))
			continue;
		kv_shown(shown, sizeof(shown), opts_value_text(&g->table[i], v, sizeof(v)));
		gconf_origin_text(&g->s[i], src, sizeof(src));
		fprintf(f, "%-*s  %-*s  %s\n", (int)wk, g->table[i].name, (int)wv,
			shown[0] ? shown : "-", src);
	}
}
