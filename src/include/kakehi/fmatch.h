/* ISC license. */
/* A frontend's matches on the request besides host, path and method:
 * --header NAME[=VALUE|~REGEX], --cookie NAME[=VALUE], --query
 * NAME[=VALUE], all of which must hold. The state keeps them as one
 * canonical text, so that the frontend's identity, copy and printing
 * treat them as one more string: one item per match, sorted (headers,
 * cookies, query parameters, each by name and value), without
 * duplicates, joined by newlines (which no value holds); an item is the
 * kind's letter, the name (a header's in lower case), then nothing, or
 * '=' or '~' and the value. Not here: matching a request (the worker's
 * router). */
#ifndef KAKEHI_FMATCH_H
#define KAKEHI_FMATCH_H

#include <stddef.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>

enum { KK_FMATCH_HEADER = 'h', KK_FMATCH_COOKIE = 'c', KK_FMATCH_QUERY = 'q' };
/* What a match asks of the value: that the name is there at all, that
 * a value is these bytes, or that it matches a regex (headers only). */
enum { KK_FMATCH_PRESENT = 0, KK_FMATCH_EQUAL = '=', KK_FMATCH_REGEX = '~' };

#define KK_FMATCH_NAMEMAX 256
#define KK_FMATCH_VALUEMAX 1024

typedef struct kk_fmatch kk_fmatch;
struct kk_fmatch {
	char where;		/* KK_FMATCH_HEADER, _COOKIE, _QUERY */
	char op;		/* KK_FMATCH_PRESENT, _EQUAL, _REGEX */
	const char *name, *value;	/* into the text; value "" when PRESENT */
	size_t nlen, vlen;
};

/* Checks the value of option opt ("--header"...) as a verb gives it.
 * 1 ok; 0 with a message for the operator in err (the regex's own from
 * PCRE2). */
int kk_fmatch_check(const char *opt, const char *value, char *err, size_t errlen);
/* The canonical text of v's match options, into out (reset first; left
 * empty when v has none). The values must have passed kk_fmatch_check.
 * 1 ok, 0 ENOMEM. */
int kk_fmatch_canon(const kk_verb *v, kk_str *out);
/* The item of text at *pos, which then moves past it. 1 with m filled,
 * 0 at the end of text. */
int kk_fmatch_next(const char *text, size_t *pos, kk_fmatch *m);
/* The option of a kind ("--header"...). */
const char *kk_fmatch_option(char where);

#endif
