/*
 * Exec credential plugins (client.authentication.k8s.io v1 and v1beta1),
 * with an on-disk cache of their answers until they expire; see kclient.h.
 *
 * kubectl keeps a plugin's answer in memory for the life of the process;
 * a vcli process is short, so the answer (which carries its expiry) is kept
 * in ~/.kube/cache/vcli-exec/<sha256 of the plugin settings and server>.json,
 * mode 0600 in a 0700 directory, and used while it has more than 10 seconds
 * to live.  An answer without an expiry is not written to disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/audit_chain.h"
#include "common/buf.h"
#include "common/errbuf.h"
#include "k8s/kclient.h"
#include "k8s/kyaml.h"

#define EXEC_OUTPUT_MAX (1u << 20)

static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.')
		while (*++end >= '0' && *end <= '9')
			;
	if (*end != 'Z')
		return -1;
	*out = timegm(&tm);
	return 0;
}

static void cache_path(const json_t *exec, const char *server, char *out,
		       size_t outlen)
{
	buf b = BUF_INIT(1 << 20);
	const char *home = getenv("HOME");
	uint8_t h[32];
	char hex[65];

	out[0] = '\0';
	if (!home || !*home)
		return;
	if (kjson_emit_compact(&b, exec) < 0 ||
	    buf_printf(&b, "\n%s", server) < 0 ||
	    audit_sha256(b.data, b.len, h) < 0) {
		buf_release(&b);
		return;
	}
	buf_release(&b);
	audit_hex(h, 32, hex);
	snprintf(out, outlen, "%s/.kube/cache/vcli-exec/%s.json", home, hex);
}

/* Takes token / certificate / key out of an ExecCredential's status. */
static int take_status(const json_t *st, char **token, uint8_t **cert,
		       size_t *cert_len, uint8_t **key, size_t *key_len,
		       char *err, size_t errlen)
{
	const char *t = json_string_value(json_object_get(st, "token"));
	const char *c = json_string_value(json_object_get(st,
							  "clientCertificateData"));
	const char *k = json_string_value(json_object_get(st, "clientKeyData"));

	if ((c && !k) || (!c && k))
		return err_set(err, errlen, "exec plugin: "
			       "clientCertificateData and clientKeyData must "
			       "both be given");
	if (!t && !c)
		return err_set(err, errlen, "exec plugin: the answer has "
			       "neither a token nor a client certificate");
	if (t && !(*token = strdup(t)))
		return err_set(err, errlen, "out of memory");
	if (c) {
		*cert = (uint8_t *)strdup(c);
		*key = (uint8_t *)strdup(k);
		if (!*cert || !*key)
			return err_set(err, errlen, "out of memory");
		*cert_len = strlen(c);
		*key_len = strlen(k);
	}
	return 0;
}

/* The plugin's answer from the cache, if it is still good. */
static json_t *cached(const char *path)
{
	size_t len;
	char *text;
	json_t *v;
	time_t exp;
	const char *e;

	if (!path[0] || !(text = kfile_read(path, EXEC_OUTPUT_MAX, &len)))
		return NULL;
	v = json_loadb(text, len, 0, NULL);
	free(text);
	e = json_string_value(json_object_get(json_object_get(v, "status"),
					      "expirationTimestamp"));
	if (!e || parse_time(e, &exp) < 0 || exp <= time(NULL) + 10) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static void store(const char *path, const char *text, size_t len)
{
	char dir[4200], err[256];
	char *slash;

	if (!path[0])
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0750);
		*p = '/';
	}
	mkdir(dir, 0700);
	kfile_write_atomic(path, text, len, err, sizeof(err));
}

/* Runs the plugin; its stdout (capped) into out.  stderr passes through. */
static int run_plugin(const json_t *exec, const char *dir, const char *server,
		      buf *out, char *err, size_t errlen)
{
	const char *cmd = json_string_value(json_object_get(exec, "command"));
	const char *apiv = json_string_value(json_object_get(exec, "apiVersion"));
	const char *hint = json_string_value(json_object_get(exec, "installHint"));
	json_t *args = json_object_get(exec, "args"), *env = json_object_get(exec, "env");
	json_t *info;
	char path[4200], *infotext;
	char **argv;
	size_t nargs = json_array_size(args), i;
	int pfd[2], status;
	pid_t pid;

	if (!cmd || !*cmd)
		return err_set(err, errlen, "exec plugin: no command");
	if (strchr(cmd, '/') && cmd[0] != '/' && dir)
		snprintf(path, sizeof(path), "%s/%s", dir, cmd);
	else
		snprintf(path, sizeof(path), "%s", cmd);
	info = json_pack("{ssss}", "apiVersion", apiv, "kind", "ExecCredential");
	json_object_set_new(info, "spec", json_pack("{sb}", "interactive", 0));
	if (json_is_true(json_object_get(exec, "provideClusterInfo")))
		json_object_set_new(json_object_get(info, "spec"), "cluster",
				    json_pack("{ss}", "server", server));
	infotext = json_dumps(info, JSON_COMPACT);
	json_decref(info);
	argv = calloc(nargs + 2, sizeof(*argv));
	if (!argv || !infotext) {
		free(argv);
		free(infotext);
		return err_set(err, errlen, "out of memory");
	}
	argv[0] = path;
	for (i = 0; i < nargs; i++)
		argv[i + 1] = (char *)json_string_value(json_array_get(args, i));
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(argv);
		free(infotext);
		return err_set(err, errlen, "exec plugin: pipe: %s",
			       strerror(errno));
	}
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		json_t *e;

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		json_array_foreach(env, i, e) {
			const char *n = json_string_value(json_object_get(e, "name"));
			const char *v = json_string_value(json_object_get(e, "value"));

			if (n)
				setenv(n, v ? v : "", 1);
		}
		setenv("KUBERNETES_EXEC_INFO", infotext, 1);
		for (i = 0; i < nargs; i++)
			if (!argv[i + 1])
				argv[i + 1] = "";
		if (strchr(path, '/'))
			execv(path, argv);
		else
			execvp(path, argv);
		dprintf(2, "vcli: exec plugin: cannot run '%s': %s\n", path,
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	free(infotext);
	free(argv);
	if (pid < 0) {
		close(pfd[0]);
		return err_set(err, errlen, "exec plugin: fork: %s",
			       strerror(errno));
	}
	for (;;) {
		char chunk[4096];
		ssize_t n = read(pfd[0], chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(out, chunk, (size_t)n) < 0) {
			kill(pid, SIGKILL);
			break;
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			return err_set(err, errlen, "exec: executable %s not "
				       "found%s%s", cmd, hint ? "\n\n" : "",
				       hint ? hint : "");
		return err_set(err, errlen, "exec plugin '%s' failed (%s %d)",
			       cmd, WIFEXITED(status) ? "exit status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) :
						   WTERMSIG(status));
	}
	return 0;
}

int kexec_credential(const json_t *exec, const char *dir, const char *server,
		     int force, char **token, uint8_t **cert, size_t *cert_len,
		     uint8_t **key, size_t *key_len, char *err, size_t errlen)
{
	const char *apiv = json_string_value(json_object_get(exec, "apiVersion"));
	const char *mode = json_string_value(json_object_get(exec,
							     "interactiveMode"));
	char cpath[4400];
	buf out = BUF_INIT(EXEC_OUTPUT_MAX);
	json_t *cred = NULL;
	const char *rapi, *kind, *exp;
	int rc = -1;

	if (!apiv || (strcmp(apiv, "client.authentication.k8s.io/v1") != 0 &&
		      strcmp(apiv, "client.authentication.k8s.io/v1beta1") != 0))
		return err_set(err, errlen, "exec plugin: invalid apiVersion "
			       "\"%s\" (use client.authentication.k8s.io/v1 or "
			       "v1beta1)", apiv ? apiv : "");
	if (strcmp(apiv, "client.authentication.k8s.io/v1") == 0 &&
	    (!mode || !*mode))
		return err_set(err, errlen, "interactiveMode must be specified "
			       "for %s to use exec authentication plugin",
			       json_string_value(json_object_get(exec, "command")) ?
			       json_string_value(json_object_get(exec, "command")) : "");
	if (mode && strcmp(mode, "Always") == 0)
		return err_set(err, errlen, "exec plugin cannot support "
			       "interactive mode: standard input is not a "
			       "terminal for vcli");
	cache_path(exec, server, cpath, sizeof(cpath));
	if (!force && (cred = cached(cpath)) != NULL)
		goto take;
	if (run_plugin(exec, dir, server, &out, err, errlen) < 0)
		goto out;
	cred = json_loadb((const char *)out.data, out.len, 0, NULL);
	if (!json_is_object(cred)) {
		err_set(err, errlen, "exec plugin: the output is not an "
			"ExecCredential in JSON");
		goto out;
	}
	rapi = json_string_value(json_object_get(cred, "apiVersion"));
	kind = json_string_value(json_object_get(cred, "kind"));
	if (!kind || strcmp(kind, "ExecCredential") != 0 || !rapi ||
	    strcmp(rapi, apiv) != 0) {
		err_set(err, errlen, "exec plugin is configured to use API "
			"version %s, plugin returned version %s", apiv,
			rapi ? rapi : "(none)");
		goto out;
	}
	exp = json_string_value(json_object_get(json_object_get(cred, "status"),
						"expirationTimestamp"));
	if (exp) {
		time_t t;

		if (parse_time(exp, &t) < 0) {
			err_set(err, errlen, "exec plugin: bad "
				"expirationTimestamp '%s'", exp);
			goto out;
		}
		if (t > time(NULL) + 10)
			store(cpath, (const char *)out.data, out.len);
	}
take:
	rc = take_status(json_object_get(cred, "status"), token, cert, cert_len,
			 key, key_len, err, errlen);
out:
	if (out.data)
		memset(out.data, 0, out.len);
	buf_release(&out);
	json_decref(cred);
	return rc;
}
