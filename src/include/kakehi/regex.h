/* ISC license. */
/* Regular expressions of frontend matches (--path-regex, --header
 * NAME~REGEX), PCRE2 on bytes: checked when a verb is parsed, with the
 * library's own message; compiled by the worker's router once per
 * snapshot (JIT when the library has it); matched with a bound on work,
 * so that a hostile path or field cannot hold the loop. Not here: what
 * is matched against what (router.c). */
#ifndef KAKEHI_REGEX_H
#define KAKEHI_REGEX_H

#include <stddef.h>

/* The bound on one match: backtracking steps (PCRE2's match limit, which
 * the JIT honours too) and nested backtracking depth. A route's regex
 * that takes more on some input does not match that input. 100 000 steps
 * are well under a millisecond, and orders of magnitude past what a
 * sane pattern needs on a path of a few KiB. */
#define KK_REGEX_MATCH_LIMIT 100000
#define KK_REGEX_DEPTH_LIMIT 10000

typedef struct kk_regex kk_regex;	/* opaque: a compiled pattern */

/* Whether pattern compiles. 1 yes; 0 with PCRE2's message and the
 * offset of the error in err ("missing closing parenthesis at offset
 * 3"). */
int kk_regex_check(const char *pattern, char *err, size_t errlen);
/* The number of capturing groups of pattern, -1 when it does not
 * compile, with the message as kk_regex_check gives it. */
int kk_regex_groups(const char *pattern, char *err, size_t errlen);
/* The compiled pattern; NULL when it does not compile or on ENOMEM. */
kk_regex *kk_regex_new(const char *pattern);
void kk_regex_free(kk_regex *);
/* Whether s[0, n) holds a match (unanchored: a pattern anchors itself
 * with ^ and $). 1 match, 0 none, -1 the bound stopped the match (or no
 * memory for it): the caller treats it as none and counts it. */
int kk_regex_match(const kk_regex *, const char *s, size_t n);
/* The same, with the offsets of the match and its first groups: ov[2i]
 * and ov[2i + 1] bound group i (0 the whole match), for i below nov /
 * 2 and KK_REGEX_GROUPS; a group that took no part is (-1, -1) cast to
 * size_t. The count of pairs filled (>0) on a match, 0 none, -1 as
 * above. */
#define KK_REGEX_GROUPS 10
int kk_regex_match_groups(const kk_regex *, const char *s, size_t n, size_t *ov, unsigned nov);

#endif
