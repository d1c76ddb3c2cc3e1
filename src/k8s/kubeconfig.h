/*
 * Private to the k8s library: kubeconfig files, merged as kubectl merges
 * them, and the connection settings of one context.
 *
 * Which files: --kubeconfig FILE alone (it must exist); else every file of
 * $KUBECONFIG (':'-separated, missing ones skipped, a path named twice read
 * once); else ~/.kube/config (which may be missing).  Merging: the first
 * file that names a cluster, context or user wins for that name, and the
 * first non-empty current-context wins.  Relative paths in a file
 * (certificate-authority, client-certificate, client-key, tokenFile, an
 * exec command with a '/') are relative to that file's directory.
 *
 * Writes (use-context, set-context) go where kubectl writes them: a
 * context into the file that defines it, the current context into the
 * file that sets it, anything new into the first existing file of the
 * list (the last one when none exists).
 */
#ifndef VCLI_K8S_KUBECONFIG_H
#define VCLI_K8S_KUBECONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define KCFG_MAX_FILES 32
/* A kubeconfig file larger than this is refused. */
#define KCFG_FILE_MAX (8u << 20)

/* The command line's say over the kubeconfig (NULL: not given). */
struct kcfg_flags {
	const char *kubeconfig;
	const char *context;
	const char *cluster;
	const char *user;
	const char *namespace;
	const char *server;
	const char *token;
	const char *ca_file;
	const char *tls_server_name;
	int insecure;
};

struct kcfg_file {
	char *path;
	char *dir;   /* for relative paths inside it */
	json_t *doc; /* its contents; NULL when it does not exist */
};

struct kcfg {
	struct kcfg_file files[KCFG_MAX_FILES];
	size_t nfiles;
	/* name -> {"entry": the list entry, "file": index}; first wins. */
	json_t *clusters, *contexts, *users;
	const char *current_context; /* into a file's doc; NULL or "" */
	int current_file;            /* which file set it; -1 for none */
};

/* Loads and merges.  Returns 0, or -1 with the reason in err (the file
 * named).  kcfg_release() frees what was loaded either way. */
int kcfg_load(struct kcfg *c, const char *kubeconfig_flag, char *err,
	      size_t errlen);
void kcfg_release(struct kcfg *c);

/*
 * The merged configuration as kubectl config view shows it: lists sorted
 * by name, known fields only.  With minify, only the current context (or
 * context) and what it names; without raw, certificate and key data read
 * DATA+OMITTED and tokens and passwords REDACTED.  With flatten, files
 * named by certificate-authority, client-certificate and client-key are
 * inlined as their -data twins (base64) and nothing is redacted.  Returns
 * a new value (the caller owns it), or NULL with err set (minify and no
 * context, a file that cannot be read).
 */
json_t *kcfg_view(const struct kcfg *c, const char *context, int minify,
		  int raw, int flatten, char *err, size_t errlen);

/* Sets the current context (which must exist) and writes the file. */
int kcfg_use_context(struct kcfg *c, const char *name, char *err,
		     size_t errlen);

/* Sets fields of context name ("cluster", "user", "namespace"; NULL
 * values are left alone), creating it when it is new.  *created says
 * which.  Writes the file. */
int kcfg_set_context(struct kcfg *c, const char *name, const char *cluster,
		     const char *user, const char *ns, int *created,
		     char *err, size_t errlen);

/* What one context connects with; every string is owned (kconn_release). */
struct kconn {
	char *context, *cluster, *user;
	char *namespace;      /* "default" when nothing names one */
	int namespace_set;    /* a flag or the context named it */
	char *server;         /* scheme://host:port[/prefix], no final '/' */
	char *ca_file;
	uint8_t *ca_data;
	size_t ca_len;
	int insecure;
	char *tls_server_name;
	char *proxy_url;
	char *cert_file, *key_file;
	uint8_t *cert_data, *key_data;
	size_t cert_len, key_len;
	char *token;          /* bearer: token, tokenFile or --token */
	char *token_file;
	char *username, *password;
	json_t *exec;         /* the exec plugin's settings (a reference) */
	char *exec_dir;       /* the directory of the file that named it */
};

/* Fills conn for flags->context or the current context.  Returns 0, or -1
 * with err set ("context \"x\" does not exist", no server, bad base64). */
int kcfg_connection(const struct kcfg *c, const struct kcfg_flags *flags,
		    struct kconn *conn, char *err, size_t errlen);
void kconn_release(struct kconn *conn);

/* Reads a whole (small) file: NUL-terminated, at most max bytes.  Returns
 * it (the caller frees it) or NULL with errno set (EFBIG when larger). */
char *kfile_read(const char *path, size_t max, size_t *len);

/* Writes data to path through a temporary file and a rename, mode 0600
 * for a new file.  Returns 0, or -1 with err set. */
int kfile_write_atomic(const char *path, const void *data, size_t len,
		       char *err, size_t errlen);

#endif
