/* ISC license. */
/* kk_regex: PCRE2 behind four calls. One match context (the bounds) and
 * one match data block serve every match of the process, made on the
 * first match: a match allocates nothing of its own (only PCRE2's
 * interpreter may, for a pattern whose backtracking outgrows its
 * frame vector on the stack). */

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <kakehi/regex.h>

static pcre2_match_context *mctx;
static pcre2_match_data *mdata, *gdata;

static pcre2_code *
compile(const char *pattern, int *code, PCRE2_SIZE *at)
{
	return pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, code, at, NULL);
}

int
kk_regex_check(const char *pattern, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE at;
	int code;
	pcre2_code *re = compile(pattern, &code, &at);
	if (re) {
		pcre2_code_free(re);
		return 1;
	}
	if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
		snprintf((char *)msg, sizeof msg, "error %d", code);
	snprintf(err, errlen, "%s at offset %lu", (const char *)msg, (unsigned long)at);
	return 0;
}

int
kk_regex_groups(const char *pattern, char *err, size_t errlen)
{
	PCRE2_SIZE at;
	uint32_t n = 0;
	int code;
	pcre2_code *re = compile(pattern, &code, &at);
	if (!re) {
		kk_regex_check(pattern, err, errlen);
		return -1;
	}
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
	pcre2_code_free(re);
	return (int)n;
}

kk_regex *
kk_regex_new(const char *pattern)
{
	PCRE2_SIZE at;
	int code;
	pcre2_code *re = compile(pattern, &code, &at);
	/* Without a JIT (a library built without it, or memory refused),
	 * the interpreter matches the same, slower. */
	if (re)
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return (kk_regex *)re;
}

void
kk_regex_free(kk_regex *re)
{
	pcre2_code_free((pcre2_code *)re);
}

/* The match context, made on the first match. 1 ok, 0 ENOMEM. */
static int
context(void)
{
	if (!mctx) {
		if (!(mctx = pcre2_match_context_create(NULL)))
			return 0;
		pcre2_set_match_limit(mctx, KK_REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(mctx, KK_REGEX_DEPTH_LIMIT);
	}
	return 1;
}

int
kk_regex_match(const kk_regex *re, const char *s, size_t n)
{
	int rc;
	if (!context())
		return -1;
	/* One pair of offsets: a route needs to know that it matched, not
	 * where. */
	if (!mdata && !(mdata = pcre2_match_data_create(1, NULL)))
		return -1;
	rc = pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)s, n, 0, 0, mdata, mctx);
	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

int
kk_regex_match_groups(const kk_regex *re, const char *s, size_t n, size_t *ov, unsigned nov)
{
	PCRE2_SIZE *v;
	int rc, i;
	if (!context())
		return -1;
	/* A block of its own, for the rewrites that need the groups. */
	if (!gdata && !(gdata = pcre2_match_data_create(KK_REGEX_GROUPS, NULL)))
		return -1;
	rc = pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)s, n, 0, 0, gdata, mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return -1;
	if (!rc)	/* more groups than the block holds: it is full */
		rc = KK_REGEX_GROUPS;
	if ((unsigned)rc > nov / 2)
		rc = (int)(nov / 2);
	v = pcre2_get_ovector_pointer(gdata);
	for (i = 0; i < 2 * rc; i++)
		ov[i] = v[i];
	return rc;
}
