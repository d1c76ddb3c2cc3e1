/*
 * Private to vcli k8s describe: the writer and helpers describe.c shares
 * with the describers of describe_kinds.c.  The short names are macros
 * for prefixed symbols, so that they stay file-local in spirit.
 */
#ifndef VCLI_CLI_K8S_DESCRIBE_H
#define VCLI_CLI_K8S_DESCRIBE_H

#include <jansson.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"

struct dw {
	struct ktab t;
	struct k8s *k;
	int prefix_mode; /* kubectl's prefix fallback: "%s\n" each */
};

#define w dsc_w
#define str dsc_str
#define at dsc_at
#define rfc1123z dsc_rfc1123z
#define age_of dsc_age_of
#define human_duration dsc_human_duration
#define sorted_keys dsc_sorted_keys
#define multiline dsc_multiline
#define annotations dsc_annotations
#define selector_text dsc_selector_text
#define get_json dsc_get_json
#define get_selected dsc_get_selected
#define get_service_slices dsc_get_service_slices
#define events dsc_events
#define events_fetch dsc_events_fetch
#define events_query dsc_events_query
#define events_print dsc_events_print
#define pod_template dsc_pod_template
#define conditions dsc_conditions

/* One line (or part) at an indentation level of two spaces. */
void w(struct dw *o, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A string member, "" when missing. */
const char *str(const json_t *obj, const char *key);
const json_t *at(const json_t *obj, const char *k1, const char *k2);
/* Go's time.RFC1123Z in local time. */
void rfc1123z(const char *ts, char *out, size_t outlen);
/* k8s.io/apimachinery's HumanDuration of s seconds (negative: 0). */
void human_duration(long s, char *out, size_t outlen);
/* HumanDuration of the time since ts. */
void age_of(const char *ts, char *out, size_t outlen);
const char **sorted_keys(const json_t *obj, size_t *n);
/* "Title:\tk=v" lines (sep "=" for labels, ": " for annotations). */
void multiline(struct dw *o, int level, const char *title, const json_t *map,
	       const char *sep);
void annotations(struct dw *o, int level, const json_t *md);
void selector_text(const json_t *sel, char *out, size_t outlen);
/* GET path as JSON; *out NULL unless 200. */
int get_json(struct dw *o, const char *path, json_t **out, struct kresp *r);
/* get_json of the resource list <api>/namespaces/<ns>/<resource> that
 * label selector sel picks (api: "/api/v1", "/apis/apps/v1", ...);
 * limit > 0 adds &limit=. */
int get_selected(struct dw *o, const char *api, const char *ns, const char *resource,
		 const char *sel, int limit, json_t **out, struct kresp *r);
/* get_json of the EndpointSlices of service name in namespace ns. */
int get_service_slices(struct dw *o, const char *ns, const char *name, json_t **out,
		       struct kresp *r);
/* Appends the events of namespace ns ("": every one) that field selector
 * sel picks (one request, limit=500, as kubectl). */
void events_query(struct dw *o, const char *ns, const char *sel, json_t *into);
/* The events about obj (kubectl's field selector; with_kind adds the
 * kind): a new array. */
json_t *events_fetch(struct dw *o, const json_t *obj, const char *kind,
		     int with_kind);
void events_print(struct dw *o, const json_t *items);
void events(struct dw *o, const json_t *obj, const char *kind,
	    int with_kind);
void pod_template(struct dw *o, const json_t *tmpl);
/* The "Conditions:" table of a workload's status (none: nothing). */
void conditions(struct dw *o, const json_t *st);

typedef void (*describer)(struct dw *, const json_t *);

/* describe_kinds.c: the describer kubectl would use for res (its own, or
 * the generic one for kinds kubectl has no describer for), NULL for the
 * built-in kinds kubectl describes in its own way and vcli does not. */
describer describe_kinds_for(const json_t *res);

#endif
