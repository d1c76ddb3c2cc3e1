/*
 * Replays fuzz inputs without libFuzzer: the same target file linked with
 * this main instead of -fsanitize=fuzzer, built by the normal compiler in
 * the release and the ASan trees, so that `make test` runs every corpus
 * entry through its target once (docs/fuzzing.md).
 *
 *   fuzz_config_replay DIR|FILE...
 *
 * Each argument is a file or a directory whose regular files are read (not
 * recursively, in name order, so a failure is reported the same way every
 * time).  A crash or sanitizer report ends the run; otherwise it prints how
 * many inputs ran and exits 0.  An empty directory is an error: a corpus
 * that silently vanished would make the test prove nothing.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs are not fuzz inputs (libFuzzer's -max_len stays far below):
 * refuse them rather than read a stray file whole. */
#define REPLAY_MAX_INPUT (16u * 1024 * 1024)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long len;
	size_t got;

	if (!f) {
		fprintf(stderr, "replay: cannot open '%s'\n", path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    (unsigned long)len > REPLAY_MAX_INPUT || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read '%s' (or larger than %u bytes)\n",
			path, REPLAY_MAX_INPUT);
		fclose(f);
		return -1;
	}
	/* An exact-size heap copy, so that ASan sees a read past the end. */
	data = malloc(len ? (size_t)len : 1);
	if (!data) {
		fclose(f);
		return -1;
	}
	got = fread(data, 1, (size_t)len, f);
	fclose(f);
	if (got != (size_t)len) {
		fprintf(stderr, "replay: short read on '%s'\n", path);
		free(data);
		return -1;
	}
	LLVMFuzzerTestOneInput(data, got);
	free(data);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir; returns how many, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	long ran = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open directory '%s'\n", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));
			if (!more)
				goto fail;
			names = more;
			cap = cap ? cap * 2 : 64;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto fail;
		n++;
	}
	closedir(d);
	d = NULL;
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(path) < 0)
			goto fail;
		ran++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ran;
fail:
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return -1;
}

int main(int argc, char **argv)
{
	long total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long ran;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no such file or directory '%s'\n", argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			ran = run_dir(argv[i]);
			if (ran == 0) {
				fprintf(stderr, "replay: no inputs in '%s'\n", argv[i]);
				return 1;
			}
		} else {
			ran = run_file(argv[i]) < 0 ? -1 : 1;
		}
		if (ran < 0)
			return 1;
		total += ran;
	}
	printf("replay: %ld inputs ran\n", total);
	return 0;
}
