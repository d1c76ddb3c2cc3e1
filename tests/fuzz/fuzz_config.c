/*
 * Fuzz target: vcli's configuration file parser and the precedence of
 * settings (src/cli/config.c), as `vcli` runs them at start-up.
 *
 * Input: the file's text.  When it holds a NUL byte, the text before the
 * first NUL is the file and what follows is NUL-separated values: the
 * first CFG_NKEYS are environment values, the next CFG_NKEYS flag values
 * (an empty field is "not given"), so that cfg_check() sees hostile values
 * from every source and the precedence code runs with all of them.
 *
 * Checked beyond memory safety: whatever the parser accepts, resolution
 * accepts too and yields a usable configuration.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "cli/output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding: crash so that libFuzzer keeps the
 * input. */
#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void resolve(const struct cfg_file *file, const char *const *values,
		    size_t nvalues)
{
	struct cfg_inputs in;
	struct cfg cfg;
	char err[512], origin[512];

	memset(&in, 0, sizeof(in));
	in.file = file;
	for (size_t i = 0; i < nvalues && i < 2 * CFG_NKEYS; i++) {
		if (!values[i][0])
			continue;
		if (i < CFG_NKEYS)
			in.env[i] = values[i];
		else
			in.flag[i - CFG_NKEYS] = values[i];
	}
	if (cfg_resolve(&in, &cfg, err, sizeof(err)) < 0) {
		CHECK(err[0]);
		/* File values were checked when parsed: with no other source
		 * the only refusal left is a certificate without its key. */
		if (nvalues == 0)
			CHECK(strstr(err, "needs") != NULL);
		return;
	}
	CHECK(cfg.server && cfg_endpoint_valid(cfg.server));
	CHECK(cfg.timeout_ms > 0 && cfg.connect_timeout_ms > 0);
	CHECK(cfg.output >= 0 && cfg.output <= OUTPUT_YAML);
	for (int k = 0; k < CFG_NKEYS; k++)
		cfg_origin_text(&cfg.s[k], origin, sizeof(origin));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t file_len = nul ? (size_t)(nul - data) : size;
	const char *values[2 * CFG_NKEYS];
	size_t nvalues = 0;
	char *rest = NULL;
	struct cfg_file file;
	char err[512];

	if (nul) {
		/* A NUL-terminated copy of the values, split in place. */
		size_t rlen = size - file_len - 1;
		char *p;

		rest = malloc(rlen + 1);
		if (!rest)
			return 0;
		memcpy(rest, nul + 1, rlen);
		rest[rlen] = '\0';
		for (p = rest; nvalues < 2 * CFG_NKEYS;) {
			size_t l = strlen(p);
			values[nvalues++] = p;
			if (p + l >= rest + rlen)
				break;
			p += l + 1;
		}
	}

	if (cfg_file_parse(&file, "fuzz.conf", text, file_len, err, sizeof(err)) == 0) {
		resolve(&file, values, nvalues);
		cfg_file_release(&file);
	} else {
		CHECK(err[0]);
		resolve(NULL, values, nvalues);
	}
	/* The whole input as one file: a NUL byte must be refused. */
	if (nul) {
		CHECK(cfg_file_parse(&file, "fuzz.conf", text, size, err, sizeof(err)) < 0);
	}
	free(rest);
	return 0;
}
