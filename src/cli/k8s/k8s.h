/*
 * Private to vcli: what the `vcli k8s` subcommands share.
 *
 * cmd_k8s.c holds the subcommand table; each subcommand lives in its own
 * file here (get.c, config.c, ...) and is a struct subcmd function.  The
 * connection flags (--kubeconfig, --context, -n, ...) are one option table
 * fragment, K8S_CONN_OPTIONS, that every subcommand's table starts with.
 *
 * Adding a subcommand "frob": src/cli/k8s/frob.c with its cmd_spec
 * (options: K8S_CONN_OPTIONS then its own) and `int k8s_frob(struct cli *)`
 * declared below; a row in the table of cmd_k8s.c; the file in
 * src/cli/CMakeLists.txt; a test in tests/integration/test_k8s.py against
 * tests/tools/fakekube.py (and kubectl where it overlaps); a section in
 * docs/commands/k8s.md.
 *
 * Exit statuses follow kubectl for what the cluster says: 0, or 1 for any
 * error from the server or the connection.  A bad command line is 2, as
 * for every vcli command.
 */
#ifndef VCLI_CLI_K8S_H
#define VCLI_CLI_K8S_H

#include "cli/commands.h"
#include "k8s/kclient.h"
#include "k8s/kdisc.h"
#include "k8s/kubeconfig.h"

#define K8S_EXIT_ERROR 1

/* The connection flags, filled by K8S_CONN_OPTIONS. */
struct k8s_flags {
	struct kcfg_flags kf;
	const char *cache_dir;
	const char *request_timeout;
	int all_namespaces;
	int verbose;
};
extern struct k8s_flags k8s_flags;

#define K8S_CONN_OPTIONS                                                     \
	{ "kubeconfig", 0, OPT_STRING, &k8s_flags.kf.kubeconfig,             \
	  "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)", NULL,    \
	  "FILE" },                                                          \
	{ "context", 0, OPT_STRING, &k8s_flags.kf.context,                   \
	  "kubeconfig context to use", NULL, "NAME" },                       \
	{ "cluster", 0, OPT_STRING, &k8s_flags.kf.cluster,                   \
	  "kubeconfig cluster to use", NULL, "NAME" },                       \
	{ "user", 0, OPT_STRING, &k8s_flags.kf.user,                         \
	  "kubeconfig user to use", NULL, "NAME" },                          \
	{ "namespace", 'n', OPT_STRING, &k8s_flags.kf.namespace,             \
	  "namespace (default: the context's)", NULL, "NS" },               \
	{ "server", 's', OPT_STRING, &k8s_flags.kf.server,                   \
	  "API server address", NULL, "URL" },                               \
	{ "token", 0, OPT_STRING, &k8s_flags.kf.token,                       \
	  "bearer token for the API server", NULL, "TOKEN" },                \
	{ "certificate-authority", 0, OPT_STRING, &k8s_flags.kf.ca_file,     \
	  "CA file to verify the server", NULL, "FILE" },                    \
	{ "insecure-skip-tls-verify", 0, OPT_FLAG, &k8s_flags.kf.insecure,   \
	  "do not verify the server's certificate", NULL, NULL },            \
	{ "tls-server-name", 0, OPT_STRING, &k8s_flags.kf.tls_server_name,   \
	  "name for SNI and to verify the server's certificate", NULL,       \
	  "NAME" },                                                          \
	{ "cache-dir", 0, OPT_STRING, &k8s_flags.cache_dir,                  \
	  "discovery cache directory (default: ~/.kube/cache)", NULL, "DIR" }, \
	{ "request-timeout", 0, OPT_STRING, &k8s_flags.request_timeout,      \
	  "time allowed for each request (0: none; default: none)", NULL,    \
	  "DUR" },                                                           \
	{ "v", 0, OPT_INT, &k8s_flags.verbose,                               \
	  "log level: 6 or more prints each request to stderr", NULL, "N" }

/* A connected cluster: kubeconfig, client, discovery (loaded on demand). */
struct k8s {
	struct kcfg cfg;
	struct kclient client;
	struct kdisc disc;
	int have_client;
};

/*
 * Loads the kubeconfig and sets up the client for the chosen context.
 * Returns CLI_PROCEED, or prints why not and returns the exit code.
 */
int k8s_open(struct k8s *k);
void k8s_close(struct k8s *k);

/* Loads discovery (from the cache when it is fresh).  CLI_PROCEED or an
 * exit code (printed). */
int k8s_discover(struct k8s *k);

/* The resource for a command-line type name, refreshing discovery once;
 * NULL after printing kubectl's message. */
const json_t *k8s_resource(struct k8s *k, const char *type);

/* Prints "vcli: <msg>" and returns K8S_EXIT_ERROR. */
int k8s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the server's refusal (a Status) and returns K8S_EXIT_ERROR. */
int k8s_fail_status(const struct kresp *r);

/* The namespace to use: -n, else the context's, else "default". */
const char *k8s_namespace(const struct k8s *k);

/* Writes all of b to stdout.  Returns 0 or -1. */
int k8s_write(const buf *b);

/* An object named on the command line. */
struct k8s_target {
	const json_t *res;
	const char *name;
};

/*
 * The objects of "TYPE NAME..." or "TYPE/NAME..." in args[0..n).  Fills
 * up to max targets; returns how many, or -1 after printing why (an
 * unknown type, a TYPE without a name when need_name).
 */
int k8s_targets(struct k8s *k, char **args, int n, struct k8s_target *t,
		int max, int need_name);

/* GET of one object as JSON.  Returns the object (the caller frees it),
 * or NULL: *r then holds the refusal (status != 0) or the transport error
 * was printed and *rc set. */
json_t *k8s_get_json(struct k8s *k, const char *path, struct kresp *r,
		     int *rc);

/*
 * After a 404 for a named object of res in ns, kubectl asks whether the
 * namespace exists (not for "default") to say which is missing.  Returns
 * 1 with the namespace's refusal printed when it does not exist, else 0.
 */
int k8s_namespace_missing(struct k8s *k, const json_t *res, const char *ns);

/*
 * kubectl's watch on one object: the path of the list of res in the
 * current namespace whose metadata.name is name (limit 500,
 * resourceVersion 0), or with watch_rv, the start of the watch from that
 * version (with bookmarks; the caller adds what follows, and
 * "&watch=true").  path is reset first.
 */
void k8s_named_path(buf *path, struct k8s *k, const json_t *res, const char *name,
		    const char *watch_rv);

/*
 * Splits a watch stream's bytes (one JSON event a line) into events,
 * keeping a partial line in line between calls, and calls fn with each
 * (freed after) until fn returns non-zero.  Returns fn's non-zero value,
 * -1 when a line outgrows line's cap, else 0.  Lines that are not JSON
 * are skipped.
 */
int k8s_watch_feed(buf *line, const char *p, size_t n, int (*fn)(json_t *ev, void *ud),
		   void *ud);

/* That list, as k8s_get_json() answers it (path: the caller's buffer). */
json_t *k8s_list_named(struct k8s *k, const json_t *res, const char *name, buf *path,
		       struct kresp *r, int *rc);

/* The path of an object of res in namespace ns (ignored when the resource
 * is cluster-wide), with an optional subresource and query. */
void k8s_object_path(buf *b, const json_t *res, const char *ns,
		     const char *name, const char *sub);

/*
 * Reads the objects of manifests: files, directories (their .yaml, .yml
 * and .json files, in name order; recursive descends), "-" for stdin;
 * multi-document YAML and JSON (a List's items are its objects).  Returns
 * an array of {"object": ..., "source": path}, or NULL after printing why.
 */
json_t *k8s_read_manifests(const struct opt_list *files, int recursive);

/* "deployment.apps/web" of an object's resource. */
void k8s_kind_name(const json_t *res, const char *name, char *out,
		   size_t outlen);

/* The "Pod Template:" part of describe, without the layout (tabs left
 * as they are), as kubectl rollout history --revision prints it. */
void k8s_pod_template_text(const json_t *tmpl, buf *out);

#include "cli/k8s/action.h"

/* Subcommands. */
int k8s_config(struct cli *cli);
int k8s_get(struct cli *cli);
int k8s_api_resources(struct cli *cli);
int k8s_describe(struct cli *cli);
int k8s_logs(struct cli *cli);
int k8s_scale(struct cli *cli);
int k8s_delete(struct cli *cli);
int k8s_apply(struct cli *cli);
int k8s_rollout(struct cli *cli);
int k8s_wait(struct cli *cli);
int k8s_top(struct cli *cli);
int k8s_auth(struct cli *cli);

extern const struct cmd_spec k8s_config_spec;
extern const struct cmd_spec k8s_get_spec;
extern const struct cmd_spec k8s_api_resources_spec;
extern const struct cmd_spec k8s_describe_spec;
extern const struct cmd_spec k8s_logs_spec;
extern const struct cmd_spec k8s_scale_spec;
extern const struct cmd_spec k8s_delete_spec;
extern const struct cmd_spec k8s_apply_spec;
extern const struct cmd_spec k8s_rollout_spec;
extern const struct cmd_spec k8s_wait_spec;
extern const struct cmd_spec k8s_top_spec;
extern const struct cmd_spec k8s_auth_spec;

#endif
