/* ISC license. */
/* The preamble chain and its steps. A step that finds nothing of its own
 * passes the bytes on (H1 for the last step), so a chain costs a compare
 * and a look for the first line's end per connection for the common
 * request. */
#include <string.h>
#include <strings.h>
#include "preamble.h"

/* RFC 9113 §3.4: the client connection preface starts with these 24
 * bytes. No HTTP/1.x request can start with them: "HTTP/2.0" is not an
 * HTTP/1 version. */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define KK_H2_PREFACE_LEN (sizeof h2_preface - 1)

/* A first line longer than this is left to the h1 server to refuse. */
#define KK_PREAMBLE_LINE_MAX 8192

/* What the first line, whole in p[0, len) (empty lines before it
 * skipped, RFC 9112 §2.2), says: three words or more and no "HTTP/"
 * anywhere ("INVALID CONNECTION PREFACE") is no HTTP/1 request line at
 * all, NOT_H1; every other line goes to the h1 server, which answers what
 * is wrong with it (a version it does not speak, HTTP/0.9, stray
 * spaces). MORE until the line is whole. */
static enum kk_preamble_result
h1_line(const char *p, size_t len)
{
	const char *lf;
	size_t n, i, spaces = 0;
	while (len && (*p == '\r' || *p == '\n')) {
		p++;
		len--;
	}
	if (!(lf = memchr(p, '\n', len)))
		return len < KK_PREAMBLE_LINE_MAX ? KK_PREAMBLE_MORE : KK_PREAMBLE_H1;
	n = (size_t)(lf - p);
	for (i = 0; i < n; i++) {
		spaces += p[i] == ' ';
		if (n - i >= 5 && !strncasecmp(p + i, "HTTP/", 5))
			return KK_PREAMBLE_H1;
	}
	return spaces >= 2 ? KK_PREAMBLE_NOT_H1 : KK_PREAMBLE_H1;
}

/* The preface whole: H2; a prefix of it: MORE; else the first line
 * tells HTTP/1 from neither. */
static enum kk_preamble_result
h2_preface_step(const char *p, size_t len, size_t *used)
{
	size_t n = len < KK_H2_PREFACE_LEN ? len : KK_H2_PREFACE_LEN;
	*used = 0;
	if (memcmp(p, h2_preface, n))
		return h1_line(p, len);
	return n == KK_H2_PREFACE_LEN ? KK_PREAMBLE_H2 : KK_PREAMBLE_MORE;
}

static const kk_preamble_step h2_preface_detect = { "h2-preface", h2_preface_step };

const kk_preamble_step *const kk_preamble_http[] = { &h2_preface_detect, NULL };

enum kk_preamble_result
kk_preamble_run(const kk_preamble_step *const *chain, unsigned char *at, const char *p,
    size_t len, size_t *used)
{
	enum kk_preamble_result r = KK_PREAMBLE_H1;
	*used = 0;
	while (chain[*at]) {
		size_t u;
		if (*used == len)
			return KK_PREAMBLE_MORE;
		r = chain[*at]->step(p + *used, len - *used, &u);
		*used += u;
		if (r == KK_PREAMBLE_MORE)
			return r;
		(*at)++;
		/* A step that picked a protocol other than the fallback, or
		 * refused, ends the chain; H1 lets the next step look. */
		if (r != KK_PREAMBLE_H1)
			return r;
	}
	return r;
}

/* HTTP/2 frame types and error codes used here (RFC 9113 §6, §7). */
#define KK_H2_SETTINGS 0x4
#define KK_H2_GOAWAY 0x7
#define KK_H2_HTTP_1_1_REQUIRED 0xd

/* A 9-byte frame header on stream 0 (§4.1). */
static void
frame_head(unsigned char *p, size_t len, unsigned type)
{
	p[0] = (unsigned char)(len >> 16);
	p[1] = (unsigned char)(len >> 8);
	p[2] = (unsigned char)len;
	p[3] = (unsigned char)type;
	memset(p + 4, 0, 5);	/* flags, stream 0 */
}

size_t
kk_preamble_h2_refusal(char *out, size_t cap)
{
	/* Debug data (§6.8) for whoever reads a capture. */
	static const char why[] = "HTTP/2 is not served on this listener; use HTTP/1.1";
	size_t dlen = sizeof why - 1, n = 9 + 9 + 8 + dlen;
	unsigned char *p = (unsigned char *)out;
	if (cap < n)
		return 0;
	frame_head(p, 0, KK_H2_SETTINGS);
	frame_head(p + 9, 8 + dlen, KK_H2_GOAWAY);
	memset(p + 18, 0, 4);	/* last stream id: none was processed */
	p[22] = 0;
	p[23] = 0;
	p[24] = 0;
	p[25] = KK_H2_HTTP_1_1_REQUIRED;
	memcpy(p + 26, why, dlen);
	return n;
}
