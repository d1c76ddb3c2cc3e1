/*
 * vcli bench: template variables (see bench_tmpl.h).
 */
#include "cli/bench_tmpl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/output.h"
#include "common/errbuf.h"

static const struct {
	const char *name;
	enum tmpl_op op;
	int nargs;
} actions[] = {
	{ ".RequestNumber", TMPL_REQUEST_NUMBER, 0 },
	{ ".WorkerID", TMPL_WORKER_ID, 0 },
	{ ".UUID", TMPL_UUID, 0 },
	{ "newUUID", TMPL_UUID, 0 },
	{ ".Timestamp", TMPL_TIMESTAMP, 0 },
	{ ".TimestampUnix", TMPL_TS_UNIX, 0 },
	{ ".TimestampUnixMilli", TMPL_TS_UNIX_MILLI, 0 },
	{ ".TimestampUnixNano", TMPL_TS_UNIX_NANO, 0 },
	{ ".FullyQualifiedName", TMPL_FQN, 0 },
	{ ".MethodName", TMPL_METHOD_NAME, 0 },
	{ ".ServiceName", TMPL_SERVICE_NAME, 0 },
	{ ".InputName", TMPL_INPUT_NAME, 0 },
	{ ".OutputName", TMPL_OUTPUT_NAME, 0 },
	{ "randomString", TMPL_RANDOM_STRING, 1 },
	{ "randomInt", TMPL_RANDOM_INT, 2 },
};

#define RANDOM_STRING_MAX 1024

int tmpl_has_actions(const char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (text[i] == '{' && text[i + 1] == '{')
			return 1;
	return 0;
}

static int add_part(struct tmpl *t, size_t *cap, const struct tmpl_part *p)
{
	if (t->nparts == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct tmpl_part *n = realloc(t->parts, ncap * sizeof(*n));

		if (!n)
			return -1;
		t->parts = n;
		*cap = ncap;
	}
	t->parts[t->nparts++] = *p;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Reads a decimal integer argument at *p (blanks before it skipped). */
static int read_int(const char **p, const char *end, int64_t *v)
{
	char num[24];
	size_t n = 0;
	char *stop;

	while (*p < end && is_blank(**p))
		(*p)++;
	while (*p < end && !is_blank(**p) && n + 1 < sizeof(num))
		num[n++] = *(*p)++;
	num[n] = '\0';
	if (!n)
		return -1;
	errno = 0;
	*v = strtoll(num, &stop, 10);
	return errno || *stop ? -1 : 0;
}

/* Parses the inside of one action (between the braces). */
static int parse_action(const char *in, size_t len, struct tmpl_part *part,
			char *err, size_t errlen)
{
	const char *p = in, *end = in + len, *word;
	char shown[80];
	size_t wlen;

	out_sanitize_n(shown, sizeof(shown), in, len);
	while (p < end && is_blank(*p))
		p++;
	while (end > p && is_blank(end[-1]))
		end--;
	word = p;
	while (p < end && !is_blank(*p))
		p++;
	wlen = (size_t)(p - word);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strlen(actions[i].name) != wlen ||
		    memcmp(actions[i].name, word, wlen) != 0)
			continue;
		memset(part, 0, sizeof(*part));
		part->op = actions[i].op;
		if (actions[i].nargs >= 1 && read_int(&p, end, &part->a) < 0)
			goto bad_args;
		if (actions[i].nargs >= 2 && read_int(&p, end, &part->b) < 0)
			goto bad_args;
		while (p < end && is_blank(*p))
			p++;
		if (p != end)
			goto bad_args;
		if (part->op == TMPL_RANDOM_STRING &&
		    (part->a < 1 || part->a > RANDOM_STRING_MAX))
			return err_set(err, errlen, "template action '{{%s}}': "
				    "the length must be 1 to %d", shown,
				    RANDOM_STRING_MAX);
		if (part->op == TMPL_RANDOM_INT && part->b <= part->a)
			return err_set(err, errlen, "template action '{{%s}}': "
				    "MAX must be above MIN", shown);
		return 0;
bad_args:
		return err_set(err, errlen, "template action '{{%s}}' takes %s",
			    shown, actions[i].nargs == 0 ? "no arguments" :
			    actions[i].nargs == 1 ? "one integer (randomString N)" :
			    "two integers (randomInt MIN MAX)");
	}
	return err_set(err, errlen, "unknown template action '{{%s}}' (use "
		    ".RequestNumber, .WorkerID, .UUID, .Timestamp, "
		    ".TimestampUnix, .TimestampUnixMilli, .TimestampUnixNano, "
		    ".FullyQualifiedName, .MethodName, .ServiceName, "
		    ".InputName, .OutputName, newUUID, randomString N or "
		    "randomInt MIN MAX)", shown);
}

int tmpl_compile(struct tmpl *t, const char *text, size_t len, char *err,
		 size_t errlen)
{
	size_t cap = 0, i = 0, lit = 0;
	struct tmpl_part part;

	memset(t, 0, sizeof(*t));
	t->text = malloc(len + 1);
	if (!t->text)
		return err_set(err, errlen, "out of memory");
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->len = len;
	while (i < len) {
		const char *close;

		if (!(text[i] == '{' && i + 1 < len && text[i + 1] == '{')) {
			i++;
			continue;
		}
		close = NULL;
		for (size_t j = i + 2; j + 1 < len; j++)
			if (text[j] == '}' && text[j + 1] == '}') {
				close = text + j;
				break;
			}
		if (!close) {
			char shown[40];

			out_sanitize_n(shown, sizeof(shown), text + i, len - i);
			tmpl_release(t);
			return err_set(err, errlen, "template action '%s' has no "
				    "closing '}}'", shown);
		}
		if (i > lit) {
			memset(&part, 0, sizeof(part));
			part.op = TMPL_TEXT;
			part.off = lit;
			part.len = i - lit;
			if (add_part(t, &cap, &part) < 0)
				goto nomem;
		}
		if (parse_action(text + i + 2, (size_t)(close - text) - i - 2,
				 &part, err, errlen) < 0) {
			tmpl_release(t);
			return -1;
		}
		if (add_part(t, &cap, &part) < 0)
			goto nomem;
		t->has_actions = 1;
		i = (size_t)(close - text) + 2;
		lit = i;
	}
	if (len > lit) {
		memset(&part, 0, sizeof(part));
		part.op = TMPL_TEXT;
		part.off = lit;
		part.len = len - lit;
		if (add_part(t, &cap, &part) < 0)
			goto nomem;
	}
	return 0;
nomem:
	tmpl_release(t);
	return err_set(err, errlen, "out of memory");
}

void tmpl_release(struct tmpl *t)
{
	free(t->text);
	free(t->parts);
	memset(t, 0, sizeof(*t));
}

uint64_t tmpl_rand(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int put_uuid(buf *out, uint64_t *rng)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	char s[36];
	uint64_t r1 = tmpl_rand(rng), r2 = tmpl_rand(rng);
	size_t o = 0;

	memcpy(b, &r1, 8);
	memcpy(b + 8, &r2, 8);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s[o++] = '-';
		s[o++] = hex[b[i] >> 4];
		s[o++] = hex[b[i] & 15];
	}
	return buf_append(out, s, sizeof(s));
}

static int put_u64(buf *out, uint64_t v)
{
	char d[24];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return buf_append(out, d + n, sizeof(d) - n);
}

static int put_i64(buf *out, int64_t v)
{
	if (v < 0) {
		if (buf_append_byte(out, '-') < 0)
			return -1;
		return put_u64(out, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(out, (uint64_t)v);
}

static int put_str(buf *out, const char *s)
{
	return s ? buf_append(out, s, strlen(s)) : 0;
}

static int put_timestamp(buf *out, int64_t sec, int32_t nsec)
{
	struct tm tm;
	time_t tt = (time_t)sec;
	char s[48];

	if (!gmtime_r(&tt, &tm))
		return put_i64(out, sec);
	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)nsec);
	return put_str(out, s);
}

int tmpl_render(const struct tmpl *t, const struct tmpl_ctx *c, buf *out)
{
	static const char alnum[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (size_t i = 0; i < t->nparts; i++) {
		const struct tmpl_part *p = &t->parts[i];
		int rc = 0;

		switch (p->op) {
		case TMPL_TEXT:
			rc = buf_append(out, t->text + p->off, p->len);
			break;
		case TMPL_REQUEST_NUMBER:
			rc = put_u64(out, c->request_number);
			break;
		case TMPL_WORKER_ID:
			rc = put_u64(out, c->worker_id);
			break;
		case TMPL_UUID:
			rc = put_uuid(out, c->rng);
			break;
		case TMPL_TIMESTAMP:
			rc = put_timestamp(out, c->wall_sec, c->wall_nsec);
			break;
		case TMPL_TS_UNIX:
			rc = put_i64(out, c->wall_sec);
			break;
		case TMPL_TS_UNIX_MILLI:
			rc = put_i64(out, c->wall_sec * 1000 + c->wall_nsec / 1000000);
			break;
		case TMPL_TS_UNIX_NANO:
			rc = put_i64(out, c->wall_sec * 1000000000 + c->wall_nsec);
			break;
		case TMPL_FQN:
			rc = put_str(out, c->service) || buf_append_byte(out, '.') ||
			     put_str(out, c->method) ? -1 : 0;
			break;
		case TMPL_METHOD_NAME:
			rc = put_str(out, c->method);
			break;
		case TMPL_SERVICE_NAME:
			rc = put_str(out, c->service);
			break;
		case TMPL_INPUT_NAME:
			rc = put_str(out, c->input);
			break;
		case TMPL_OUTPUT_NAME:
			rc = put_str(out, c->output);
			break;
		case TMPL_RANDOM_STRING:
			if (buf_reserve(out, (size_t)p->a) < 0)
				return -1;
			for (int64_t k = 0; k < p->a; k++)
				out->data[out->len++] = (uint8_t)alnum[
					tmpl_rand(c->rng) % (sizeof(alnum) - 1)];
			break;
		case TMPL_RANDOM_INT: {
			uint64_t span = (uint64_t)p->b - (uint64_t)p->a;

			rc = put_i64(out, (int64_t)((uint64_t)p->a +
						    tmpl_rand(c->rng) % span));
			break;
		}
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}
