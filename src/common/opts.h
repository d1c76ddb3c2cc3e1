/*
 * Private: command-line options as data, for vcli and governd.
 *
 * Every program or command describes its options in a table of struct opt,
 * and one parser reads argv against one or more such tables (a vcli
 * command's own table plus the global one, so that global options may
 * follow the command name).
 * The same tables generate the option list in --help, so what is accepted and
 * what is documented cannot drift apart.
 */
#ifndef VCLI_COMMON_OPTS_H
#define VCLI_COMMON_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_kind {
	OPT_FLAG,     /* dest: int *, set to 1; takes no value */
	OPT_STRING,   /* dest: const char **, points into argv */
	OPT_DURATION, /* dest: uint32_t *, milliseconds, always > 0 */
	OPT_INT,      /* dest: int * */
	OPT_ENUM,     /* dest: int *, index into values[] */
	OPT_UINT32,   /* dest: uint32_t *, 1 .. UINT32_MAX */
	OPT_LIST,     /* dest: struct opt_list *; each use appends a value */
};

/* The values of a repeatable option, in the order given (pointing into
 * argv).  More than OPT_LIST_MAX uses is an error. */
#define OPT_LIST_MAX 64
struct opt_list {
	const char *v[OPT_LIST_MAX];
	int n;
};

struct opt {
	const char *name;          /* long name without the dashes: "server" */
	char short_name;           /* 'o' for -o; 0 for none */
	enum opt_kind kind;
	void *dest;                /* see enum opt_kind for the type */
	const char *help;          /* one line, lower case, for --help */
	const char *const *values; /* OPT_ENUM: allowed values, NULL-ended */
	const char *argname;       /* value placeholder in --help; NULL: from kind */
};

/* A table ends with an entry whose name is NULL. */
#define OPT_END { NULL, 0, OPT_FLAG, NULL, NULL, NULL, NULL }

struct opts_parser {
	/* In: the tables to match against, NULL-ended; the first match wins. */
	const struct opt *const *tables;
	/* In: 1 stops at the first positional argument (used for the options
	 * before the command name); 0 collects positionals and goes on. */
	int stop_at_positional;
	/* Out: positionals, moved to the front of argv (argv[first..]); the
	 * count is npos.  Only filled when stop_at_positional is 0. */
	int npos;
	/* Out: the reason parsing failed, ready for "vcli: <err>". */
	char err[256];
	/* In, optional: called after each option is stored, with the value
	 * as given (NULL for a flag); governd records where a setting came
	 * from with it. */
	void (*on_set)(void *ud, const struct opt *o, const char *value);
	void *ud;
};

/*
 * Parses argv[first..argc).  Returns the index of the first argument not
 * consumed (argc when all were, the positional's index when
 * stop_at_positional stopped there), or -1 with p->err set.  Positionals are
 * written back into argv[first..first+npos), in order.
 */
int opts_parse(struct opts_parser *p, int argc, char **argv, int first);

/*
 * Stores one option's value given as text, as if from the command line;
 * shown names the option in messages ("'log-level' in /etc/governd.conf:3").
 * An OPT_FLAG takes a boolean here: true, yes, on, 1 set it; false, no,
 * off, 0 clear it.  Returns 0, or -1 with the reason in err.
 */
int opts_set_text(const struct opt *o, const char *shown, const char *value,
		  char *err, size_t errlen);

/* Writes o's current value as text (the inverse of opts_set_text): a flag
 * as true/false, a duration with its largest exact unit, a list joined by
 * commas, an unset string as "".  Returns out. */
const char *opts_value_text(const struct opt *o, char *out, size_t outlen);

/* Prints one line per option of table: "  -o, --output table|json  help". */
void opts_print_help(FILE *f, const struct opt *table);

/* Parses a duration (see duration_parse_ms() in common/timeutil.h) that
 * must also fit in 32 bits of milliseconds.  Returns 0 or -1. */
int opts_parse_duration(const char *text, uint32_t *ms);

#endif
