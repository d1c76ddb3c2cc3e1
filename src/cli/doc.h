/*
 * Private to vcli: a small document tree (objects, arrays, strings, numbers,
 * booleans, null) that the json and yaml output formats are written from,
 * so that both always carry exactly the same data.
 *
 * Nodes live in a struct doc_arena and are freed all at once with
 * doc_arena_release().  Builders never fail loudly: when memory runs out
 * they return NULL, adding NULL is a no-op, and the arena remembers the
 * failure so that the writers refuse to write a partial document.
 */
#ifndef VCLI_CLI_DOC_H
#define VCLI_CLI_DOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum doc_kind {
	DOC_NULL,
	DOC_BOOL,
	DOC_NUM,  /* text holds a JSON number */
	DOC_STR,
	DOC_ARR,
	DOC_OBJ,
};

struct doc {
	enum doc_kind kind;
	int boolean;
	int is_float;          /* DOC_NUM from a double (YAML wants a '.') */
	const char *key;       /* set on object members */
	const char *text;      /* DOC_NUM, DOC_STR */
	struct doc *first, *last, *next;
	size_t n;              /* children */
};

struct doc_block;
struct doc_arena {
	struct doc_block *blocks;
	int failed;            /* an allocation failed */
};

void doc_arena_init(struct doc_arena *a);
void doc_arena_release(struct doc_arena *a);
/* Zeroed memory from the arena, or NULL. */
void *doc_alloc(struct doc_arena *a, size_t size);
/* A NUL-terminated copy of len bytes of s in the arena, or NULL. */
char *doc_strndup(struct doc_arena *a, const char *s, size_t len);

struct doc *doc_obj(struct doc_arena *a);
struct doc *doc_arr(struct doc_arena *a);
struct doc *doc_str(struct doc_arena *a, const char *s); /* copies s */
struct doc *doc_bool(struct doc_arena *a, int b);
struct doc *doc_null(struct doc_arena *a);
struct doc *doc_int(struct doc_arena *a, int64_t v);
struct doc *doc_uint(struct doc_arena *a, uint64_t v);
/* A double as the shortest text that reads back the same; NaN and the
 * infinities become the strings "NaN", "Infinity", "-Infinity" (the
 * protobuf JSON mapping). */
struct doc *doc_double(struct doc_arena *a, double v);

/* Appends child to an array. */
void doc_push(struct doc *arr, struct doc *child);
/* Adds a member to an object (key is copied). */
void doc_set(struct doc_arena *a, struct doc *obj, const char *key,
	     struct doc *child);

/* Formats v as doc_double() does into out (at least 32 bytes). */
void doc_format_double(double v, char *out, size_t outlen);

/*
 * Writes d as one line of compact JSON and a newline.  Returns 0, or -1
 * when the arena had failed (nothing is written then).
 */
int doc_write_json(FILE *f, const struct doc_arena *a, const struct doc *d);

/*
 * Writes d as block YAML (a mapping at the top level when d is an object).
 * Strings are plain when that is unambiguous and double-quoted with
 * escapes otherwise.  Returns 0, or -1 as doc_write_json().
 */
int doc_write_yaml(FILE *f, const struct doc_arena *a, const struct doc *d);

#endif
