/*
 * What the vcli k8s subcommands share: connecting, discovery, errors.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "cli/k8s/k8s.h"
#include "k8s/kprint.h"

struct k8s_flags k8s_flags;

int k8s_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vcli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return K8S_EXIT_ERROR;
}

int k8s_fail_status(const struct kresp *r)
{
	char msg[2048];

	kstatus_message(r->status, (const char *)r->body.data, r->body.len,
			msg, sizeof(msg));
	return k8s_fail("%s", msg);
}

int k8s_open(struct k8s *k)
{
	struct kconn conn;
	char err[1024];
	uint32_t ms = 0;

	memset(k, 0, sizeof(*k));
	if (k8s_flags.request_timeout &&
	    strcmp(k8s_flags.request_timeout, "0") != 0 &&
	    opts_parse_duration(k8s_flags.request_timeout, &ms) < 0) {
		cli_error("invalid duration '%s' for '--request-timeout' (use "
			  "0 or a number with a unit: 500ms, 2s, 1m)",
			  k8s_flags.request_timeout);
		return CLI_EXIT_USAGE;
	}
	if (kcfg_load(&k->cfg, k8s_flags.kf.kubeconfig, err, sizeof(err)) < 0)
		return k8s_fail("%s", err);
	if (kcfg_connection(&k->cfg, &k8s_flags.kf, &conn, err,
			    sizeof(err)) < 0)
		return k8s_fail("%s", err);
	/* Like kubectl, no credentials over plain HTTP. */
	if (strncmp(conn.server, "http://", 7) == 0) {
		free(conn.token);
		conn.token = NULL;
		free(conn.username);
		conn.username = NULL;
		json_decref(conn.exec);
		conn.exec = NULL;
	}
	if (kclient_init(&k->client, &conn, err, sizeof(err)) < 0) {
		kconn_release(&conn);
		kclient_release(&k->client);
		return k8s_fail("%s", err);
	}
	k->client.timeout_ms = (long)ms;
	k->client.verbose = k8s_flags.verbose >= 6;
	k->have_client = 1;
	return CLI_PROCEED;
}

void k8s_close(struct k8s *k)
{
	if (k->have_client)
		kclient_release(&k->client);
	kdisc_release(&k->disc);
	kcfg_release(&k->cfg);
}

int k8s_discover(struct k8s *k)
{
	char err[1024];

	if (k->disc.resources)
		return CLI_PROCEED;
	if (kdisc_load(&k->disc, &k->client, k8s_flags.cache_dir, 0, err,
		       sizeof(err)) < 0)
		return k8s_fail("%s", err);
	if (k->disc.warnings[0])
		fprintf(stderr, "vcli: %s", k->disc.warnings);
	return CLI_PROCEED;
}

const json_t *k8s_resource(struct k8s *k, const char *type)
{
	char err[1024];
	const json_t *r;

	if (k8s_discover(k) != CLI_PROCEED)
		return NULL;
	r = kdisc_resolve(&k->disc, &k->client, k8s_flags.cache_dir, type, err,
			  sizeof(err));
	if (!r)
		k8s_fail("%s", err);
	return r;
}

const char *k8s_namespace(const struct k8s *k)
{
	return k->client.conn.namespace;
}

int k8s_write(const buf *b)
{
	if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
		return -1;
	return 0;
}
