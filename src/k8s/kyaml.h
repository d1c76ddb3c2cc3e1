/*
 * Private to the k8s library: YAML and JSON as kubectl reads and writes
 * them.
 *
 * Documents are jansson values.  Reading YAML (libyaml) resolves plain
 * scalars the way YAML 1.1 does for Kubernetes (null, booleans, integers,
 * floats; anything else, and every quoted scalar, is a string).  Writing
 * follows kubectl's printers: YAML as sigs.k8s.io/yaml emits it (keys
 * sorted, sequences not indented under their key, strings that would read
 * back as another type in double quotes, no line wrapping), JSON as Go's
 * json.MarshalIndent with four spaces (keys sorted, <, > and & escaped).
 */
#ifndef VCLI_K8S_KYAML_H
#define VCLI_K8S_KYAML_H

#include <stddef.h>

#include <jansson.h>

#include "common/buf.h"

/*
 * Parses every document of text (len bytes).  Returns a new JSON array
 * with one value per non-empty document (the caller owns it), or NULL with
 * a message naming the line in err.  Aliases are refused, and so is a
 * nesting deeper than 256.
 */
json_t *kyaml_load_all(const char *text, size_t len, char *err, size_t errlen);

/* Appends v as YAML (a block mapping or sequence, or one scalar line) to
 * out.  Returns 0, or -1 when out's cap is reached. */
int kyaml_emit(buf *out, const json_t *v);

/* Appends v as indented JSON and a newline to out.  Returns 0 or -1. */
int kjson_emit(buf *out, const json_t *v);

/* Appends v as compact JSON, keys sorted, no newline.  Returns 0 or -1. */
int kjson_emit_compact(buf *out, const json_t *v);

/* 1 when the plain scalar s would read back as something other than a
 * string (null, a boolean, a number) under YAML 1.1. */
int kyaml_plain_is_special(const char *s);

/* The shortest decimal text that reads back as d ("0.5", "1e+21"), as Go's
 * strconv.FormatFloat(d, 'g', -1, 64) writes it. */
void kjson_format_real(double d, char *out, size_t outlen);

/*
 * The string at obj.key1.key2 of the JSON text (len bytes) without parsing
 * the rest: values on the way are skipped, not built.  Copies it
 * (unescaped, NUL-terminated) into out and returns 0; -1 when it is not
 * there, not a string, or longer than outlen - 1.  For the "continue"
 * token of a large list, read before the list itself is parsed.
 */
int kjson_peek_string(const char *text, size_t len, const char *key1,
		      const char *key2, char *out, size_t outlen);

/*
 * A scanner over JSON text for the large answers (lists of thousands):
 * positions, nothing built.  Each takes the text t of n bytes and a
 * position i, and returns a position (n when the text ends or is
 * malformed).
 */
size_t kjson_ws(const char *t, size_t i, size_t n);   /* past blanks */
size_t kjson_skip(const char *t, size_t i, size_t n); /* past a value */
/* The value of key in the object at i, or n. */
size_t kjson_find_key(const char *t, size_t i, size_t n, const char *key);

#endif
