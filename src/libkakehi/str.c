/* ISC license. */
/* kk_str: growable byte strings, plus the two quoting printers the control
 * plane needs (verb-line words and JSON strings). Plain libc, so the
 * worker may use it; not meant for the hot path. */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kakehi/str.h>

/* The capacity for sa to take extra more bytes and a NUL; 0 when it has
 * it already, SIZE_MAX (errno ENOMEM) when it cannot exist. */
static size_t
grown(const kk_str *sa, size_t extra)
{
	size_t need, cap;

	/* One spare byte always, for the terminating NUL. */
	if (extra > SIZE_MAX - sa->len - 1) {
		errno = ENOMEM;
		return SIZE_MAX;
	}
	need = sa->len + extra + 1;
	if (need <= sa->cap)
		return 0;
	cap = sa->cap ? sa->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	return cap;
}

int
kk_str_ready(kk_str *sa, size_t extra)
{
	size_t cap = grown(sa, extra);
	char *s;

	if (!cap)
		return 1;
	if (cap == SIZE_MAX) {
		errno = ENOMEM;
		return 0;
	}
	if (!sa->wipe)
		s = realloc(sa->s, cap);
	else if ((s = malloc(cap)) && sa->s) {
		/* realloc could move the bytes and free the old block as is. */
		memcpy(s, sa->s, sa->len);
		s[sa->len] = 0;
		explicit_bzero(sa->s, sa->cap);
		free(sa->s);
	}
	if (!s) {
		errno = ENOMEM;
		return 0;
	}
	sa->s = s;
	sa->cap = cap;
	return 1;
}

int
kk_str_catb(kk_str *sa, const char *s, size_t n)
{
	if (!kk_str_ready(sa, n))
		return 0;
	if (n)
		memmove(sa->s + sa->len, s, n);
	sa->len += n;
	sa->s[sa->len] = 0;
	return 1;
}

int
kk_str_cats(kk_str *sa, const char *s)
{
	return kk_str_catb(sa, s, strlen(s));
}

int
kk_str_vcatf(kk_str *sa, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(0, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		errno = EINVAL;
		return 0;
	}
	if (!kk_str_ready(sa, (size_t)n))
		return 0;
	vsnprintf(sa->s + sa->len, (size_t)n + 1, fmt, ap);
	sa->len += (size_t)n;
	return 1;
}

int
kk_str_catf(kk_str *sa, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = kk_str_vcatf(sa, fmt, ap);
	va_end(ap);
	return r;
}

/* Characters that never need quoting in a verb line. The set is kept small
 * on purpose: anything a shell or kk_line_split might treat specially
 * (blanks, quotes, backslash, #, $, ;, brackets...) forces quotes. */
static int
is_bare(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("_./:,@%+=*-", c) != 0;
}

/* Drops what a failed append added; returns 0 for the caller to pass on. */
static int
undo(kk_str *sa, size_t oldlen)
{
	sa->len = oldlen;
	if (sa->s)
		sa->s[oldlen] = 0;
	return 0;
}

int
kk_str_catword(kk_str *sa, const char *w)
{
	size_t oldlen = sa->len, i;
	int bare = w[0] != 0 && w[0] != '#';

	for (i = 0; bare && w[i]; i++)
		if (!is_bare((unsigned char)w[i]))
			bare = 0;
	if (bare)
		return kk_str_cats(sa, w);
	/* Inside single quotes everything is literal; a quote itself is
	 * written as close-quote, escaped quote, reopen: '\''. */
	if (!kk_str_catb(sa, "'", 1))
		goto fail;
	for (i = 0; w[i]; i++) {
		if (w[i] == '\'') {
			if (!kk_str_catb(sa, "'\\''", 4))
				goto fail;
		} else if (!kk_str_catb(sa, w + i, 1))
			goto fail;
	}
	if (!kk_str_catb(sa, "'", 1))
		goto fail;
	return 1;
fail:
	return undo(sa, oldlen);
}

int
kk_str_catjson(kk_str *sa, const char *w)
{
	static const char hex[] = "0123456789abcdef";
	size_t oldlen = sa->len, i, run;
	char esc[7];

	if (!kk_str_catb(sa, "\"", 1))
		goto fail;
	for (i = 0; w[i]; i += run) {
		unsigned char c = (unsigned char)w[i];
		const char *e = 0;

		/* Copy runs of plain bytes at once; bytes >= 0x80 pass through
		 * (RFC 8259 section 7 only requires escaping ", \ and < 0x20). */
		run = 0;
		while (w[i + run] && (unsigned char)w[i + run] >= 0x20 &&
		    w[i + run] != '"' && w[i + run] != '\\')
			run++;
		if (run) {
			if (!kk_str_catb(sa, w + i, run))
				goto fail;
			continue;
		}
		run = 1;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
			esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; esc[6] = 0;
			e = esc;
		}
		if (!kk_str_cats(sa, e))
			goto fail;
	}
	if (!kk_str_catb(sa, "\"", 1))
		goto fail;
	return 1;
fail:
	return undo(sa, oldlen);
}

void
kk_str_reset(kk_str *sa)
{
	sa->len = 0;
	if (sa->s)
		sa->s[0] = 0;
}

void
kk_str_free(kk_str *sa)
{
	if (sa->wipe && sa->s)
		explicit_bzero(sa->s, sa->cap);
	free(sa->s);
	sa->s = 0;
	sa->len = 0;
	sa->cap = 0;
}
