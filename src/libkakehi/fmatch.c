/* ISC license. */
/* The header, cookie and query matches of a frontend: checked, made
 * canonical, walked and printed (fmatch.h). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/fmatch.h>
#include <kakehi/regex.h>

static const struct {
	const char *opt;
	char where;
} kinds[] = {
	{ "--header", KK_FMATCH_HEADER },
	{ "--cookie", KK_FMATCH_COOKIE },
	{ "--query", KK_FMATCH_QUERY },
};
#define NKINDS (sizeof kinds / sizeof *kinds)

const char *
kk_fmatch_option(char where)
{
	size_t i;
	for (i = 0; i < NKINDS; i++)
		if (kinds[i].where == where)
			return kinds[i].opt;
	return NULL;
}

/* The kind of option opt, 0 for another option. */
static char
where_of(const char *opt)
{
	size_t i;
	for (i = 0; i < NKINDS; i++)
		if (!strcmp(kinds[i].opt, opt))
			return kinds[i].where;
	return 0;
}

/* A header or cookie name is an HTTP token (RFC 9110 §5.6.2), less '~',
 * which here starts a regex. */
static int
is_token(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	    || (c && strchr("!#$%&'*+-.^_`|", c));
}

/* The byte that ends a name of this kind and starts its value. */
static size_t
name_end(char where, const char *s)
{
	return strcspn(s, where == KK_FMATCH_HEADER ? "=~\n" : "=\n");
}

static int
bad_name(char where, unsigned char c)
{
	if (where == KK_FMATCH_QUERY)	/* what splits a query, or ends it */
		return c <= 0x20 || c >= 0x7f || c == '&' || c == '#';
	return !is_token(c);
}

/* Whether c may be in a value of this kind: what a field value holds
 * (RFC 9110 §5.5) without control characters; a cookie's without the
 * ';' that separates cookies; a query's without a blank, '&' or '#'. */
static int
bad_value(char where, unsigned char c)
{
	if (c < 0x20 || c == 0x7f)
		return 1;
	if (where == KK_FMATCH_COOKIE)
		return c == ';' || c == ' ';
	if (where == KK_FMATCH_QUERY)
		return c == ' ' || c == '&' || c == '#';
	return 0;
}

int
kk_fmatch_check(const char *opt, const char *value, char *err, size_t errlen)
{
	char where = where_of(opt), msg[KK_ERRLEN];
	size_t i, n;
	n = name_end(where, value);
	if (!n || n > KK_FMATCH_NAMEMAX) {
		snprintf(err, errlen, "%s \"%s\": give a name of 1 to %d bytes first", opt, value,
		    KK_FMATCH_NAMEMAX);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (bad_name(where, (unsigned char)value[i])) {
			snprintf(err, errlen, "%s \"%s\": the name %s", opt, value,
			    where == KK_FMATCH_QUERY ? "may hold no blank, control character, & "
			    "or #" : "must be a token (letters, digits, !#$%&'*+-.^_`|)");
			return 0;
		}
	if (!value[n])
		return 1;
	if (strlen(value + n + 1) > KK_FMATCH_VALUEMAX) {
		snprintf(err, errlen, "%s: the value is longer than %d bytes", opt,
		    KK_FMATCH_VALUEMAX);
		return 0;
	}
	for (i = n + 1; value[i]; i++)
		if (bad_value(where, (unsigned char)value[i])) {
			snprintf(err, errlen, "%s \"%s\": the value may hold no control "
			    "character%s", opt, value, where == KK_FMATCH_COOKIE ? ", blank or ;"
			    : where == KK_FMATCH_QUERY ? ", blank, & or #" : "");
			return 0;
		}
	if (value[n] == '~') {
		if (!value[n + 1]) {
			snprintf(err, errlen, "%s \"%s\": give a regex after ~", opt, value);
			return 0;
		}
		if (!kk_regex_check(value + n + 1, msg, sizeof msg)) {
			snprintf(err, errlen, "%s \"%s\": not a valid regex: %s", opt, value, msg);
			return 0;
		}
	}
	return 1;
}

/* Headers, then cookies, then query parameters (the order of the table),
 * each by name and value. */
static int
item_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t i, j;
	for (i = 0; kinds[i].where != x[0]; i++)
		;
	for (j = 0; kinds[j].where != y[0]; j++)
		;
	return i != j ? (i < j ? -1 : 1) : strcmp(x + 1, y + 1);
}

int
kk_fmatch_canon(const kk_verb *v, kk_str *out)
{
	char *item[KK_VERB_MAXOPTS];
	unsigned i, k, n = 0;
	int ok = 1;
	kk_str_reset(out);
	for (i = 0; i < v->nopt; i++) {
		const char *opt = v->opt[i].def->name, *val = v->opt[i].value;
		size_t len, nl;
		char where = where_of(opt), *it;
		if (!where)
			continue;
		len = strlen(val);
		if (!(it = malloc(len + 2))) {
			ok = 0;
			break;
		}
		it[0] = where;
		memcpy(it + 1, val, len + 1);
		/* Field names are case-insensitive (RFC 9110 §5.1). */
		nl = name_end(where, val);
		for (k = 1; where == KK_FMATCH_HEADER && k <= nl; k++)
			if (it[k] >= 'A' && it[k] <= 'Z')
				it[k] = (char)(it[k] + 32);
		item[n++] = it;
	}
	if (ok && n > 1)
		qsort(item, n, sizeof *item, item_cmp);
	for (i = 0; ok && i < n; i++) {
		if (i && !strcmp(item[i], item[i - 1]))	/* the same condition twice */
			continue;
		ok = (!out->len || kk_str_catb(out, "\n", 1)) && kk_str_cats(out, item[i]);
	}
	for (i = 0; i < n; i++)
		free(item[i]);
	return ok;
}

int
kk_fmatch_next(const char *text, size_t *pos, kk_fmatch *m)
{
	const char *p = text + *pos, *end;
	if (!*p)
		return 0;
	end = p + strcspn(p, "\n");
	m->where = *p++;
	m->name = p;
	m->nlen = name_end(m->where, p);
	p += m->nlen;
	m->op = p < end ? *p++ : KK_FMATCH_PRESENT;
	m->value = p;
	m->vlen = (size_t)(end - p);
	*pos = (size_t)(end - text) + (*end == '\n');
	return 1;
}
