/*
 * kubectl's JSONPath templates (-o jsonpath=...), the part of them people
 * use: text and {expressions}; paths of .field, ['field'], [n], [a:b],
 * [*], .*, ..field, [?(@.path op value)]; {range PATH}...{end}; "quoted
 * literals" with \n and \t.  A missing field prints nothing (kubectl get
 * allows missing keys).  Several results of one expression are separated
 * by a space; strings print as they are, other values as compact JSON.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errbuf.h"
#include "k8s/kjsonpath.h"
#include "k8s/kyaml.h"

enum node_kind { N_TEXT, N_EXPR, N_RANGE, N_END };

struct node {
	enum node_kind kind;
	const char *s; /* into the template copy */
	size_t len;
};

#define MAX_NODES 256

/* Appends to out every value the path selects from cur. */
static int eval_path(const char *p, size_t n, const json_t *root,
		     const json_t *cur, json_t *out, char *err, size_t errlen);

static void add_all(json_t *out, const json_t *v)
{
	json_array_append(out, (json_t *)v);
}

/* Every descendant (and v itself) that has field name. */
static void descend(const json_t *v, const char *name, size_t nlen,
		    json_t *out)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) {
			if (strlen(k) == nlen && memcmp(k, name, nlen) == 0)
				add_all(out, x);
		}
		json_object_foreach((json_t *)v, k, x)
			descend(x, name, nlen, out);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			descend(x, name, nlen, out);
	}
}

static int cmp_values(const json_t *a, const char *op, const char *lit,
		      size_t litlen)
{
	char sbuf[256];
	int c;

	if (litlen >= 2 && (lit[0] == '\'' || lit[0] == '"')) {
		const char *s = json_string_value(a);

		if (!s)
			return 0;
		snprintf(sbuf, sizeof(sbuf), "%.*s", (int)(litlen - 2), lit + 1);
		c = strcmp(s, sbuf);
	} else {
		double x, y;

		snprintf(sbuf, sizeof(sbuf), "%.*s", (int)litlen, lit);
		if (!json_is_number(a)) {
			const char *s = json_string_value(a);

			if (!s)
				return 0;
			c = strcmp(s, sbuf);
		} else {
			x = json_number_value(a);
			y = strtod(sbuf, NULL);
			c = x < y ? -1 : x > y;
		}
	}
	if (strcmp(op, "==") == 0)
		return c == 0;
	if (strcmp(op, "!=") == 0)
		return c != 0;
	if (strcmp(op, "<") == 0)
		return c < 0;
	if (strcmp(op, ">") == 0)
		return c > 0;
	if (strcmp(op, "<=") == 0)
		return c <= 0;
	if (strcmp(op, ">=") == 0)
		return c >= 0;
	return 0;
}

/* [?(@.path op literal)] or [?(@.path)] applied to each element. */
static int filter(const char *f, size_t n, const json_t *root,
		  const json_t *v, json_t *out, char *err, size_t errlen)
{
	static const char *const ops[] = { "==", "!=", "<=", ">=", "<", ">",
					   NULL };
	const char *opp = NULL, *op = NULL;
	json_t *elems = json_array(), *e;
	size_t i;

	for (size_t k = 0; k < n && !opp; k++) {
		if (f[k] == '\'' || f[k] == '"') {
			char q = f[k];

			while (++k < n && f[k] != q)
				;
			continue;
		}
		for (size_t o = 0; ops[o]; o++)
			if (n - k >= strlen(ops[o]) &&
			    memcmp(f + k, ops[o], strlen(ops[o])) == 0) {
				opp = f + k;
				op = ops[o];
				break;
			}
	}
	if (json_is_array(v))
		json_array_foreach(v, i, e)
			json_array_append(elems, e);
	else if (json_is_object(v)) {
		const char *k;

		json_object_foreach((json_t *)v, k, e)
			json_array_append(elems, e);
	}
	json_array_foreach(elems, i, e) {
		const char *lhs = f;
		size_t lhs_len = opp ? (size_t)(opp - f) : n;
		json_t *got = json_array();
		int keep;

		while (lhs_len && isspace((unsigned char)lhs[lhs_len - 1]))
			lhs_len--;
		if (lhs_len && lhs[0] == '@') {
			lhs++;
			lhs_len--;
		}
		if (eval_path(lhs, lhs_len, root, e, got, err, errlen) < 0) {
			json_decref(got);
			json_decref(elems);
			return -1;
		}
		if (!opp) {
			keep = json_array_size(got) > 0;
		} else {
			const char *lit = opp + strlen(op);
			size_t litlen = n - (size_t)(lit - f);

			while (litlen && isspace((unsigned char)*lit)) {
				lit++;
				litlen--;
			}
			while (litlen && isspace((unsigned char)lit[litlen - 1]))
				litlen--;
			keep = json_array_size(got) > 0 &&
			       cmp_values(json_array_get(got, 0), op, lit,
					  litlen);
		}
		json_decref(got);
		if (keep)
			json_array_append(out, e);
	}
	json_decref(elems);
	return 0;
}

static int eval_path(const char *p, size_t n, const json_t *root,
		     const json_t *cur, json_t *out, char *err, size_t errlen)
{
	json_t *set = json_array(), *next, *v;
	size_t i = 0, k;
	int rc = -1;

	while (i < n && isspace((unsigned char)p[i]))
		i++;
	while (n > i && isspace((unsigned char)p[n - 1]))
		n--;
	if (i < n && p[i] == '$') {
		json_array_append(set, (json_t *)root);
		i++;
	} else {
		if (i < n && p[i] == '@')
			i++;
		json_array_append(set, (json_t *)cur);
	}
	while (i < n) {
		next = json_array();
		if (p[i] == '.' && i + 1 < n && p[i + 1] == '.') {
			size_t s = i + 2, e = s;

			while (e < n && p[e] != '.' && p[e] != '[')
				e++;
			json_array_foreach(set, k, v)
				descend(v, p + s, e - s, next);
			i = e;
		} else if (p[i] == '.') {
			char name[256];
			size_t s = ++i, nl = 0;

			while (i < n && p[i] != '.' && p[i] != '[') {
				if (p[i] == '\\' && i + 1 < n)
					i++;
				if (nl + 1 < sizeof(name))
					name[nl++] = p[i];
				i++;
			}
			name[nl] = '\0';
			if (i == s) {
				/* "." alone: the current value. */
				json_decref(next);
				continue;
			}
			json_array_foreach(set, k, v) {
				if (strcmp(name, "*") == 0) {
					const char *key;
					json_t *x;
					size_t j;

					if (json_is_object(v))
						json_object_foreach(v, key, x)
							json_array_append(next, x);
					else if (json_is_array(v))
						json_array_foreach(v, j, x)
							json_array_append(next, x);
				} else if (json_is_object(v) &&
					   json_object_get(v, name)) {
					json_array_append(next,
							  json_object_get(v, name));
				}
			}
		} else if (p[i] == '[') {
			size_t s = i + 1, e = s;
			int depth = 1;
			char q = 0;

			while (e < n && depth) {
				if (q) {
					if (p[e] == q)
						q = 0;
				} else if (p[e] == '\'' || p[e] == '"') {
					q = p[e];
				} else if (p[e] == '[') {
					depth++;
				} else if (p[e] == ']') {
					depth--;
				}
				if (depth)
					e++;
			}
			if (depth) {
				err_set(err, errlen, "unterminated array "
					"notation in '%.*s'", (int)n, p);
				json_decref(next);
				goto out;
			}
			i = e + 1;
			if (e - s >= 2 && p[s] == '?' && p[s + 1] == '(' &&
			    p[e - 1] == ')') {
				json_array_foreach(set, k, v)
					if (filter(p + s + 2, e - s - 3, root, v,
						   next, err, errlen) < 0) {
						json_decref(next);
						goto out;
					}
			} else if (e > s && (p[s] == '\'' || p[s] == '"')) {
				char name[256];

				snprintf(name, sizeof(name), "%.*s",
					 (int)(e - s - 2), p + s + 1);
				json_array_foreach(set, k, v)
					if (json_object_get(v, name))
						json_array_append(next,
							json_object_get(v, name));
			} else if (e - s == 1 && p[s] == '*') {
				json_array_foreach(set, k, v) {
					const char *key;
					json_t *x;
					size_t j;

					if (json_is_array(v))
						json_array_foreach(v, j, x)
							json_array_append(next, x);
					else if (json_is_object(v))
						json_object_foreach(v, key, x)
							json_array_append(next, x);
				}
			} else {
				char idx[64], *colon;
				long a, b;

				snprintf(idx, sizeof(idx), "%.*s", (int)(e - s),
					 p + s);
				colon = strchr(idx, ':');
				json_array_foreach(set, k, v) {
					long len = (long)json_array_size(v);

					if (!json_is_array(v))
						continue;
					if (colon) {
						*colon = '\0';
						a = *idx ? strtol(idx, NULL, 10) : 0;
						b = colon[1] ? strtol(colon + 1, NULL, 10) : len;
						*colon = ':';
						if (a < 0)
							a += len;
						if (b < 0)
							b += len;
						if (a < 0)
							a = 0;
						if (b > len)
							b = len;
						for (long j = a; j < b; j++)
							json_array_append(next,
								json_array_get(v, (size_t)j));
					} else {
						a = strtol(idx, NULL, 10);
						if (a < 0)
							a += len;
						if (a >= 0 && a < len)
							json_array_append(next,
								json_array_get(v, (size_t)a));
					}
				}
			}
		} else {
			err_set(err, errlen, "unrecognized character in action: "
				"'%c' in '%.*s'", p[i], (int)n, p);
			json_decref(next);
			goto out;
		}
		json_decref(set);
		set = next;
	}
	json_array_foreach(set, k, v)
		json_array_append(out, v);
	rc = 0;
out:
	json_decref(set);
	return rc;
}

static int print_value(buf *out, const json_t *v)
{
	if (json_is_string(v))
		return buf_append(out, json_string_value(v),
				  json_string_length(v));
	if (json_is_integer(v))
		return buf_printf(out, "%lld", (long long)json_integer_value(v));
	if (json_is_real(v)) {
		char num[48];

		kjson_format_real(json_real_value(v), num, sizeof(num));
		return buf_printf(out, "%s", num);
	}
	if (json_is_true(v))
		return buf_append(out, "true", 4);
	if (json_is_false(v))
		return buf_append(out, "false", 5);
	if (json_is_null(v))
		return buf_append(out, "null", 4);
	return kjson_emit_compact(out, v);
}

/* A "quoted literal", with its escapes. */
static int literal(buf *out, const char *s, size_t n)
{
	for (size_t i = 1; i + 1 < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 2 < n) {
			c = s[++i];
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
		}
		if (buf_append_byte(out, (uint8_t)c) < 0)
			return -1;
	}
	return 0;
}

static int run(const struct node *nodes, size_t a, size_t b,
	       const json_t *root, const json_t *cur, buf *out, char *err,
	       size_t errlen)
{
	for (size_t i = a; i < b; i++) {
		const struct node *nd = &nodes[i];

		if (nd->kind == N_TEXT) {
			if (buf_append(out, nd->s, nd->len) < 0)
				return err_set(err, errlen, "output too large");
		} else if (nd->kind == N_EXPR) {
			json_t *res;
			size_t k;
			json_t *v;

			if (nd->len && (nd->s[0] == '"' || nd->s[0] == '\'')) {
				if (literal(out, nd->s, nd->len) < 0)
					return err_set(err, errlen,
						       "output too large");
				continue;
			}
			res = json_array();
			if (eval_path(nd->s, nd->len, root, cur, res, err,
				      errlen) < 0) {
				json_decref(res);
				return -1;
			}
			json_array_foreach(res, k, v) {
				if ((k && buf_append_byte(out, ' ') < 0) ||
				    print_value(out, v) < 0) {
					json_decref(res);
					return err_set(err, errlen,
						       "output too large");
				}
			}
			json_decref(res);
		} else if (nd->kind == N_RANGE) {
			size_t depth = 1, j;
			json_t *res = json_array(), *v;
			size_t k;

			for (j = i + 1; j < b; j++) {
				if (nodes[j].kind == N_RANGE)
					depth++;
				else if (nodes[j].kind == N_END && --depth == 0)
					break;
			}
			if (j == b) {
				json_decref(res);
				return err_set(err, errlen, "not in range, "
					       "nothing to end");
			}
			if (eval_path(nd->s, nd->len, root, cur, res, err,
				      errlen) < 0) {
				json_decref(res);
				return -1;
			}
			/* range over an array walks its elements. */
			if (json_array_size(res) == 1 &&
			    json_is_array(json_array_get(res, 0))) {
				json_t *arr = json_incref(json_array_get(res, 0));

				json_decref(res);
				res = arr;
			}
			json_array_foreach(res, k, v) {
				if (run(nodes, i + 1, j, root, v, out, err,
					errlen) < 0) {
					json_decref(res);
					return -1;
				}
			}
			json_decref(res);
			i = j;
		} else {
			return err_set(err, errlen, "not in range, nothing to "
				       "end");
		}
	}
	return 0;
}

int kjsonpath_run(const char *tmpl, const json_t *root, buf *out, char *err,
		  size_t errlen)
{
	struct node nodes[MAX_NODES];
	size_t nn = 0, i = 0, n = strlen(tmpl);

	while (i < n) {
		if (nn == MAX_NODES)
			return err_set(err, errlen, "template too long");
		if (tmpl[i] == '{') {
			size_t s = ++i;
			char q = 0;

			while (i < n && (q || tmpl[i] != '}')) {
				if (q && tmpl[i] == '\\')
					i++;
				else if (q && tmpl[i] == q)
					q = 0;
				else if (!q && (tmpl[i] == '"' || tmpl[i] == '\''))
					q = tmpl[i];
				i++;
			}
			if (i >= n)
				return err_set(err, errlen, "unclosed action in "
					       "template '%s'", tmpl);
			while (s < i && isspace((unsigned char)tmpl[s]))
				s++;
			nodes[nn].s = tmpl + s;
			nodes[nn].len = i - s;
			while (nodes[nn].len &&
			       isspace((unsigned char)nodes[nn].s[nodes[nn].len - 1]))
				nodes[nn].len--;
			if (nodes[nn].len > 5 &&
			    strncmp(nodes[nn].s, "range", 5) == 0 &&
			    strchr(" .[$@", nodes[nn].s[5])) {
				nodes[nn].kind = N_RANGE;
				nodes[nn].s += 5;
				nodes[nn].len -= 5;
			} else if (nodes[nn].len == 3 &&
				   strncmp(nodes[nn].s, "end", 3) == 0) {
				nodes[nn].kind = N_END;
			} else {
				nodes[nn].kind = N_EXPR;
			}
			nn++;
			i++;
		} else {
			size_t s = i;

			while (i < n && tmpl[i] != '{')
				i++;
			nodes[nn].kind = N_TEXT;
			nodes[nn].s = tmpl + s;
			nodes[nn].len = i - s;
			nn++;
		}
	}
	return run(nodes, 0, nn, root, root, out, err, errlen);
}

int kjsonpath_eval(const char *expr, const json_t *root, json_t *out,
		   char *err, size_t errlen)
{
	return eval_path(expr, strlen(expr), root, root, out, err, errlen);
}
