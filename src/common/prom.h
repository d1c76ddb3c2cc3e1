/*
 * Private: a writer of the Prometheus text exposition format, version 0.0.4
 * (what a /metrics endpoint serves with Content-Type
 * "text/plain; version=0.0.4; charset=utf-8").
 *
 * Each family is one prom_family() (its # HELP and # TYPE lines) followed
 * by its samples.  Label sets are NULL-terminated arrays of name, value
 * pairs ({"grpc_code", "OK", NULL}).  Values are escaped as the format
 * asks (backslash, double quote and newline in label values; backslash and
 * newline in help text); names are checked against the format's grammar,
 * and a bad one fails the whole exposition instead of producing text a
 * scraper would reject.  Errors are sticky: write everything, then look at
 * prom_error() once.
 */
#ifndef VCLI_COMMON_PROM_H
#define VCLI_COMMON_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef enum prom_code {
	PROM_OK = 0,
	PROM_E_FULL,    /* the buffer's cap was reached (or memory ran out) */
	PROM_E_NAME,    /* a metric or label name outside the grammar */
	PROM_E_TYPE,    /* a type other than counter, gauge, histogram, untyped */
} prom_code;

typedef struct prom {
	buf *out;
	prom_code err;  /* the first error */
} prom;

/* Writes into out (appending); out's cap bounds the exposition. */
void prom_init(prom *p, buf *out);
prom_code prom_error(const prom *p);
const char *prom_strerror(prom_code code);

/* 1 when name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), label
 * name ([a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__"). */
int prom_metric_name_ok(const char *name);
int prom_label_name_ok(const char *name);

/* # HELP and # TYPE lines.  type: "counter", "gauge", "histogram" or
 * "untyped". */
void prom_family(prom *p, const char *name, const char *type, const char *help);

/* One sample line: name{labels} value.  Integers are written exactly;
 * doubles in the shortest form that reads back the same, NaN and +Inf/-Inf
 * as the format spells them. */
void prom_sample_u64(prom *p, const char *name, const char *const *labels, uint64_t v);
void prom_sample(prom *p, const char *name, const char *const *labels, double v);

/*
 * A histogram's samples: name_bucket{labels,le="b"} for each bound (made
 * cumulative here from slots, which holds n + 1 non-cumulative counts, the
 * last one above bounds[n-1]), le="+Inf", name_sum and name_count.  bounds
 * are in the metric's unit (seconds) and increasing.
 */
void prom_histogram(prom *p, const char *name, const char *const *labels,
		    const double *bounds, size_t n, const uint64_t *slots, double sum);

/* Appends a label value, escaped, to out (for tests and callers that build
 * their own lines).  Returns 0 or -1 when out is full. */
int prom_escape_label(buf *out, const char *value);

#endif
