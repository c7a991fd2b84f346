/* ISC license. */
/* HTTP/1.1 heads and chunked bodies. llhttp 8.1 does the grammar of the
 * start line and fields; everything that decides framing or routing is
 * checked again here, because that version predates several 2023 fixes
 * and because a proxy must refuse what any of its peers might read
 * differently (RFC 9112 §11.2). Heads are parsed whole, from one buffer, so
 * every span handed by llhttp is contiguous. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <llhttp.h>
#include "h1.h"

static kk_h1head *cur;		/* the head being parsed: llhttp callbacks */

/* Internal flags: the host came from an absolute-form target; Connection
 * lists upgrade; Upgrade names a protocol other than h2c; it names h2c. */
#define F_ABS_HOST 0x100u
#define F_CONN_UPGRADE 0x200u
#define F_UPGRADE_OTHER 0x400u
#define F_UPGRADE_H2C 0x800u
#define F_INTERNAL (F_ABS_HOST | F_CONN_UPGRADE | F_UPGRADE_OTHER | F_UPGRADE_H2C)

static int
span_extend(kk_h1span *s, const char *at, size_t len)
{
	if (!s->len)
		s->off = (uint32_t)(at - cur->base);
	s->len += (uint32_t)len;
	return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	return span_extend(&cur->target, at, len);
}

static int
on_status(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	return span_extend(&cur->reason, at, len);
}

static int
on_field(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	if (cur->state != 1) {
		if (cur->nhdr == KK_H1_MAXHDRS) {
			cur->overflow = 1;
			return HPE_USER;
		}
		cur->nhdr++;
		memset(&cur->hdr[cur->nhdr - 1], 0, sizeof cur->hdr[0]);
		cur->state = 1;
	}
	return span_extend(&cur->hdr[cur->nhdr - 1].name, at, len);
}

static int
on_value(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	cur->state = 2;
	if (!cur->nhdr)
		return HPE_USER;
	return span_extend(&cur->hdr[cur->nhdr - 1].value, at, len);
}

static int
on_value_done(llhttp_t *p)
{
	(void)p;
	/* An empty value calls no on_value: mark the field as complete. */
	cur->state = 2;
	return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
	(void)p;
	return HPE_PAUSED;	/* the body is ours to frame */
}

static llhttp_settings_t settings;
static int settings_ready;

static int
run_llhttp(kk_h1head *h, const char *p, size_t len, llhttp_type_t type)
{
	llhttp_t parser;
	llhttp_errno_t e;
	if (!settings_ready) {
		llhttp_settings_init(&settings);
		settings.on_url = on_url;
		settings.on_status = on_status;
		settings.on_header_field = on_field;
		settings.on_header_value = on_value;
		settings.on_header_value_complete = on_value_done;
		settings.on_headers_complete = on_headers_complete;
		settings_ready = 1;
	}
	memset(h, 0, offsetof(kk_h1head, hdr));
	h->nconnopt = 0;
	h->state = 0;
	h->overflow = 0;
	h->base = p;
	h->len = (uint32_t)len;
	cur = h;
	llhttp_init(&parser, type, &settings);
	e = llhttp_execute(&parser, p, len);
	cur = NULL;
	if (h->overflow)
		return KK_H1_E_TOO_MANY;
	if (e != HPE_PAUSED || llhttp_get_error_pos(&parser) != p + len)
		return KK_H1_E_SYNTAX;
	h->method = parser.method;
	h->major = parser.http_major;
	h->minor = parser.http_minor;
	h->status = parser.status_code;
	return KK_H1_OK;
}

long
kk_h1_head_end(const char *p, size_t len, size_t *scan)
{
	size_t line = *scan;
	for (;;) {
		const char *nl = memchr(p + line, '\n', len - line);
		size_t i;
		if (!nl) {
			*scan = line;
			return 0;
		}
		i = (size_t)(nl - p);
		if (i == 0 || p[i - 1] != '\r')
			return -KK_H1_E_BARE_LF;
		/* A field line starting with white space continues the
		 * previous one: obs-fold. */
		if (line > 0 && (p[line] == ' ' || p[line] == '\t'))
			return -KK_H1_E_OBS_FOLD;
		if (i == line + 1 && line > 0)
			return (long)(i + 1);
		line = i + 1;
	}
}

/* tchar (RFC 9110 §5.6.2), one table lookup per name byte. */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
	['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
	['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static inline int
is_tchar(unsigned char c)
{
	return tchar[c];
}

static inline int
is_vchar_ws(unsigned char c)	/* field-vchar, SP, HTAB, obs-text */
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
span_is(const kk_h1head *h, kk_h1span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && !strncasecmp(h->base + s.off, lit, n);
}

/* The fields a proxy acts on. */
enum {
	FLD_OTHER = 0, FLD_CONNECTION, FLD_CONTENT_LENGTH, FLD_TRANSFER_ENCODING,
	FLD_HOP,	/* other hop-by-hop fields: dropped */
	FLD_UPGRADE,	/* hop-by-hop, re-serialised for an upgrade */
	FLD_HOST, FLD_XFF, FLD_XF_OTHER, FLD_EXPECT,
	FLD_LOOKALIKE	/* one of the above with '_' for '-' */
};

/* Compares a name with lit (lower case, same length n): 0 different, 1
 * equal ignoring case, 2 equal only once each '_' is read as '-'. */
static int
name_cmp(const char *s, const char *lit, uint32_t n)
{
	uint32_t i;
	int folded = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c == (unsigned char)lit[i])
			continue;
		if (c != '_' || lit[i] != '-')
			return 0;
		folded = 1;
	}
	return 1 + folded;
}

/* The id of whichever of a and b (both of the name's length n; b may be
 * NULL) the name is: FLD_LOOKALIKE for a look-alike, else FLD_OTHER. */
static int
pick(const char *s, uint32_t n, const char *a, int ida, const char *b, int idb)
{
	int m = name_cmp(s, a, n);
	if (!m && b && (m = name_cmp(s, b, n)))
		ida = idb;
	return !m ? FLD_OTHER : m == 1 ? ida : FLD_LOOKALIKE;
}

/* Which of them a name is: the length picks the few candidates, so most
 * fields cost one switch and at most a byte or two of comparison.
 * Backends that map names to CGI-style variables (HTTP_CONTENT_LENGTH)
 * fold '-' and '_' together, so Content_Length would reach them as the
 * framing field this proxy never saw, and X_Forwarded_For as the one it
 * rewrote: such look-alikes are refused. The names without '-' (Host,
 * Connection, TE...) have no look-alike of that kind. */
static int
field_id(const char *s, uint32_t n)
{
	switch (n) {
	case 2: return pick(s, n, "te", FLD_HOP, NULL, 0);
	case 4: return pick(s, n, "host", FLD_HOST, NULL, 0);
	case 6: return pick(s, n, "expect", FLD_EXPECT, NULL, 0);
	case 7: return pick(s, n, "trailer", FLD_HOP, "upgrade", FLD_UPGRADE);
	case 10: return pick(s, n, "connection", FLD_CONNECTION, "keep-alive", FLD_HOP);
	case 14:
		/* HTTP2-Settings goes only with an h2c upgrade, never forwarded
		 * (RFC 9113 §3.1 leaves h2c to the client's own hop). */
		return pick(s, n, "content-length", FLD_CONTENT_LENGTH, "http2-settings", FLD_HOP);
	case 15: return pick(s, n, "x-forwarded-for", FLD_XFF, NULL, 0);
	case 16: return pick(s, n, "proxy-connection", FLD_HOP, "x-forwarded-port", FLD_XF_OTHER);
	case 17:
		return pick(s, n, "transfer-encoding", FLD_TRANSFER_ENCODING,
		    "x-forwarded-proto", FLD_XF_OTHER);
	default: return FLD_OTHER;
	}
}

/* Splits a comma-separated list value: the next element (trimmed) at or
 * after *pos, 0 when none left. */
static int
list_next(const kk_h1head *h, kk_h1span v, uint32_t *pos, kk_h1span *el)
{
	const char *s = h->base + v.off;
	uint32_t i = *pos, a, b;
	while (i < v.len && (s[i] == ',' || s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= v.len)
		return 0;
	a = i;
	while (i < v.len && s[i] != ',')
		i++;
	b = i;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
		b--;
	*pos = i;
	el->off = v.off + a;
	el->len = b - a;
	return 1;
}

/* protocol = protocol-name ["/" protocol-version], both tokens (RFC 9110
 * §7.8). */
static int
is_protocol(const kk_h1head *h, kk_h1span el)
{
	const unsigned char *s = (const unsigned char *)h->base + el.off;
	uint32_t i, slash = 0;
	for (i = 0; i < el.len; i++) {
		if (s[i] == '/' && !slash && i && i + 1 < el.len)
			slash = i;
		else if (!is_tchar(s[i]))
			return 0;
	}
	return el.len > 0;
}

/* HTTP/2 over cleartext, with or without a version: never forwarded. */
static int
is_h2c(const kk_h1head *h, kk_h1span el)
{
	return el.len >= 3 && !strncasecmp(h->base + el.off, "h2c", 3) &&
	    (el.len == 3 || h->base[el.off + 3] == '/');
}

/* Upgrade fields are kept only for what is forwarded (flag), else dropped
 * with the other hop-by-hop fields. */
static void
keep_upgrade(kk_h1head *h, int keep)
{
	unsigned i;
	if (keep)
		h->flags |= KK_H1_F_UPGRADE;
	else
		for (i = 0; i < h->nhdr; i++)
			if (h->hdr[i].kind == KK_H1_H_UPGRADE)
				h->hdr[i].kind = KK_H1_H_DROP;
}

/* Checks names and values, trims values, classifies the fields that
 * matter to a proxy. Shared by requests and responses. */
static int
check_fields(kk_h1head *h, int request, int *ncl, int *nte, int *te_chunked_last,
    int *te_only_chunked, int *nhost)
{
	unsigned i, j;
	int fid;
	*ncl = *nte = *nhost = 0;
	*te_chunked_last = 0;
	*te_only_chunked = 1;
	for (i = 0; i < h->nhdr; i++) {
		kk_h1span *n = &h->hdr[i].name, *v = &h->hdr[i].value;
		const unsigned char *s;
		if (!n->len)
			return KK_H1_E_NAME;
		for (s = (const unsigned char *)h->base + n->off, j = 0; j < n->len; j++)
			if (!is_tchar(s[j]))
				return KK_H1_E_NAME;
		s = (const unsigned char *)h->base + v->off;
		while (v->len && (s[v->len - 1] == ' ' || s[v->len - 1] == '\t'))
			v->len--;
		for (j = 0; j < v->len; j++)
			if (!is_vchar_ws(s[j]))
				return KK_H1_E_VALUE;
		h->hdr[i].kind = KK_H1_H_KEEP;
		fid = field_id(h->base + n->off, n->len);
		/* Request fields, and look-alikes (clients do not fold
		 * names), are kept in responses. */
		if (!request && fid >= FLD_HOST)
			fid = FLD_OTHER;
		if (fid == FLD_OTHER)
			continue;
		if (fid == FLD_LOOKALIKE)
			return KK_H1_E_LOOKALIKE;
		if (fid == FLD_CONNECTION) {
			kk_h1span el;
			uint32_t pos = 0;
			h->hdr[i].kind = KK_H1_H_DROP;
			while (list_next(h, *v, &pos, &el)) {
				if (span_is(h, el, "close"))
					h->flags |= KK_H1_F_CLOSE;
				else if (span_is(h, el, "keep-alive"))
					h->flags |= KK_H1_F_KEEPALIVE;
				else if (span_is(h, el, "upgrade"))
					h->flags |= F_CONN_UPGRADE;
				else if (h->nconnopt < KK_H1_MAXCONNOPTS)
					h->connopt[h->nconnopt++] = el;
			}
		} else if (fid == FLD_CONTENT_LENGTH) {
			uint64_t x = 0;
			h->hdr[i].kind = KK_H1_H_DROP;
			if (!v->len || v->len > 18)
				return KK_H1_E_CL;
			for (j = 0; j < v->len; j++) {
				if (s[j] < '0' || s[j] > '9')
					return KK_H1_E_CL;
				x = x * 10 + (s[j] - '0');
			}
			if (*ncl && x != h->clen)
				return KK_H1_E_CL;
			h->clen = x;
			(*ncl)++;
		} else if (fid == FLD_TRANSFER_ENCODING) {
			kk_h1span el;
			uint32_t pos = 0;
			h->hdr[i].kind = KK_H1_H_DROP;
			(*nte)++;
			while (list_next(h, *v, &pos, &el)) {
				*te_chunked_last = span_is(h, el, "chunked");
				if (!*te_chunked_last || *nte > 1 || pos < v->len)
					*te_only_chunked = 0;
			}
			if (!v->len)
				*te_only_chunked = 0;
		} else if (fid == FLD_HOP) {
			h->hdr[i].kind = KK_H1_H_DROP;
		} else if (fid == FLD_UPGRADE) {
			kk_h1span el;
			uint32_t pos = 0;
			h->hdr[i].kind = KK_H1_H_UPGRADE;
			while (list_next(h, *v, &pos, &el)) {
				if (!is_protocol(h, el))
					return KK_H1_E_UPGRADE;
				h->flags |= is_h2c(h, el) ? F_UPGRADE_H2C : F_UPGRADE_OTHER;
			}
		} else if (fid == FLD_HOST) {
			h->hdr[i].kind = KK_H1_H_HOST;
			(*nhost)++;
		} else if (fid == FLD_XFF) {
			h->hdr[i].kind = KK_H1_H_XFF;
		} else if (fid == FLD_XF_OTHER) {
			h->hdr[i].kind = KK_H1_H_DROP;	/* ours replace a client's */
		} else if (fid == FLD_EXPECT) {
			if (span_is(h, *v, "100-continue"))
				h->flags |= KK_H1_F_EXPECT;
		}
	}
	/* Fields named by Connection are hop-by-hop too (RFC 9110 §7.6.1). */
	for (j = 0; j < h->nconnopt; j++)
		for (i = 0; i < h->nhdr; i++)
			if (h->hdr[i].kind == KK_H1_H_KEEP && h->hdr[i].name.len == h->connopt[j].len &&
			    !strncasecmp(h->base + h->hdr[i].name.off, h->base + h->connopt[j].off,
			    h->connopt[j].len))
				h->hdr[i].kind = KK_H1_H_DROP;
	return KK_H1_OK;
}

/* Host: lower case, port stripped, only characters a host name or an IP
 * literal may hold (RFC 3986 §3.2.2, reg-name without percent-escapes). */
static int
set_host(kk_h1head *h, const char *s, size_t n)
{
	size_t i, end = n;
	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return 0;
		end = (size_t)(rb - s) + 1;
		if (end < n && s[end] != ':')
			return 0;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon)
			end = (size_t)(colon - s);
	}
	if (end < n)	/* the port: digits only */
		for (i = end + 1; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
	if (end && s[end - 1] == '.')	/* absolute form of a name */
		end--;
	if (end >= KK_H1_HOSTMAX)
		return 0;
	for (i = 0; i < end; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '[' || c == ']' || c == ':'))
			return 0;
		h->host[i] = (char)c;
	}
	h->host[end] = 0;
	h->hostlen = (uint32_t)end;
	return 1;
}

static int
set_target(kk_h1head *h)
{
	const char *t = h->base + h->target.off;
	uint32_t n = h->target.len, i;
	if (!n)
		return KK_H1_E_TARGET;
	h->uri = h->target;
	if (t[0] == '*' && n == 1 && h->method == HTTP_OPTIONS) {
		h->path = h->target;
		return KK_H1_OK;
	}
	if (n > 7 && !strncasecmp(t, "http://", 7)) {
		/* absolute-form: its authority wins over Host (RFC 9112
		 * §3.2.2) for routing, and upstream gets the origin-form
		 * with a Host equal to that authority, so the backend reads
		 * the host that was routed. Userinfo ('@') is refused by
		 * set_host: RFC 9110 §4.2.4 forbids it in http URIs. */
		uint32_t a = 7, b = a;
		while (b < n && t[b] != '/' && t[b] != '?')
			b++;
		if (b == a || !set_host(h, t + a, b - a))
			return KK_H1_E_HOST;
		h->flags |= F_ABS_HOST;
		h->authority.off = h->target.off + a;
		h->authority.len = b - a;
		if (b == n || t[b] == '?')
			return KK_H1_E_TARGET;	/* origin-form needs a path */
		h->uri.off = h->target.off + b;
		h->uri.len = n - b;
	} else if (t[0] != '/')
		return KK_H1_E_TARGET;
	h->path = h->uri;
	for (i = 0; i < h->uri.len; i++) {
		char c = h->base[h->uri.off + i];
		if (c == '?' || c == '#') {
			h->path.len = i;
			break;
		}
	}
	return KK_H1_OK;
}

/* The request line is method SP target SP version CRLF, one SP each
 * (RFC 9112 §3). llhttp 8.1 also takes runs of spaces, which a backend
 * may split differently (or read as part of the target): refused. The
 * version is known to be HTTP/1.0 or HTTP/1.1 here. */
static int
check_request_line(const kk_h1head *h)
{
	const char *m = llhttp_method_name((llhttp_method_t)h->method), *p = h->base;
	size_t ml = strlen(m);
	uint32_t end = h->target.off + h->target.len;
	if (h->target.off != ml + 1 || memcmp(p, m, ml) || p[ml] != ' ')
		return KK_H1_E_REQUEST_LINE;
	if (h->len - end < 11 || memcmp(p + end, " HTTP/1.", 8) ||
	    p[end + 8] != (char)('0' + h->minor) || p[end + 9] != '\r')
		return KK_H1_E_REQUEST_LINE;
	return KK_H1_OK;
}

int
kk_h1_parse_request(kk_h1head *h, const char *p, size_t len)
{
	int e, ncl, nte, chunked_last, only_chunked, nhost;
	unsigned i;
	e = run_llhttp(h, p, len, HTTP_REQUEST);
	if (e)
		return e;
	if (h->major != 1 || h->minor > 1)
		return KK_H1_E_VERSION;
	e = check_request_line(h);
	if (e)
		return e;
	if (h->method == HTTP_CONNECT)
		return KK_H1_E_METHOD;
	if (h->method == HTTP_HEAD)
		h->flags |= KK_H1_F_HEAD;
	e = check_fields(h, 1, &ncl, &nte, &chunked_last, &only_chunked, &nhost);
	if (e)
		return e;
	e = set_target(h);
	if (e)
		return e;
	if (nhost > 1 || (!nhost && h->minor == 1))
		return KK_H1_E_HOST;
	/* An empty Host names no host: an http URI with an empty host is
	 * invalid (RFC 9110 §4.2.1), and routing it would pick a frontend
	 * by accident. */
	for (i = 0; i < h->nhdr; i++)
		if (h->hdr[i].kind == KK_H1_H_HOST && !(h->flags & F_ABS_HOST) &&
		    (!h->hdr[i].value.len ||
		    !set_host(h, h->base + h->hdr[i].value.off, h->hdr[i].value.len)))
			return KK_H1_E_HOST;
	/* RFC 9110 §7.8: Upgrade counts only with the upgrade connection
	 * option, and a server ignores it in HTTP/1.0. h2c is never passed
	 * on (the proxy speaks HTTP/1.1 to the backend): the request is then
	 * served as HTTP/1.1, or offers its other protocols alone. */
	keep_upgrade(h, (h->flags & (F_CONN_UPGRADE | F_UPGRADE_OTHER)) ==
	    (F_CONN_UPGRADE | F_UPGRADE_OTHER) && h->minor == 1);
	h->flags &= ~F_INTERNAL;
	/* Framing (RFC 9112 §6.1-6.3): a request that could be read two ways
	 * is refused, never guessed at. */
	if (nte && ncl)
		return KK_H1_E_CL_TE;
	if (nte) {
		if (!only_chunked || h->minor == 0)
			return KK_H1_E_TE;
		h->body = KK_H1_BODY_CHUNKED;
	} else if (ncl)
		h->body = KK_H1_BODY_LENGTH;
	else
		h->body = KK_H1_BODY_NONE;
	return KK_H1_OK;
}

int
kk_h1_parse_response(kk_h1head *h, const char *p, size_t len, int head_req)
{
	int e, ncl, nte, chunked_last, only_chunked, nhost;
	e = run_llhttp(h, p, len, HTTP_RESPONSE);
	if (e)
		return e;
	if (h->major != 1 || h->minor > 1)
		return KK_H1_E_VERSION;
	if (h->status < 100 || h->status > 599)
		return KK_H1_E_STATUS;
	e = check_fields(h, 0, &ncl, &nte, &chunked_last, &only_chunked, &nhost);
	if (e)
		return e;
	/* A 101 names the protocol it switches to (RFC 9110 §15.2.2); one to
	 * h2c answers nothing this proxy forwards. Elsewhere Upgrade is only
	 * an offer, hop-by-hop. */
	if (h->status == 101 && (!(h->flags & F_UPGRADE_OTHER) || (h->flags & F_UPGRADE_H2C) ||
	    h->minor == 0))
		return KK_H1_E_UPGRADE;
	keep_upgrade(h, h->status == 101);
	h->flags &= ~F_INTERNAL;
	if (h->minor == 0 && !(h->flags & KK_H1_F_KEEPALIVE))
		h->flags |= KK_H1_F_CLOSE;
	if (h->status < 200 || h->status == 204 || h->status == 304 || head_req) {
		h->body = KK_H1_BODY_NONE;
		return KK_H1_OK;
	}
	if (nte && ncl)
		return KK_H1_E_CL_TE;
	if (nte) {
		/* RFC 9112 §6.3: chunked last means chunked; another final
		 * coding means read until close. Codings before chunked would
		 * have to be passed on as such: refused. */
		if (chunked_last && !only_chunked)
			return KK_H1_E_TE;
		h->body = chunked_last ? KK_H1_BODY_CHUNKED : KK_H1_BODY_CLOSE;
	} else if (ncl)
		h->body = KK_H1_BODY_LENGTH;
	else
		h->body = KK_H1_BODY_CLOSE;
	if (h->body == KK_H1_BODY_CLOSE)
		h->flags |= KK_H1_F_CLOSE;
	return KK_H1_OK;
}

/* Appending with a bound: every writer checks the remaining room once. */
typedef struct wbuf wbuf;
struct wbuf {
	char *p;
	size_t len, cap;
	int full;
};

static void
put(wbuf *w, const char *s, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
puts_(wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

static void
put_span(wbuf *w, const kk_h1head *h, kk_h1span s)
{
	put(w, h->base + s.off, s.len);
}

static void
put_u64(wbuf *w, uint64_t x)
{
	char tmp[20];
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + x % 10);
		x /= 10;
	} while (x);
	put(w, tmp + i, sizeof tmp - i);
}

/* Upgrade from the parsed protocols, h2c left out, and the connection
 * option that goes with it (RFC 9110 §7.8). */
static void
put_upgrade(wbuf *w, const kk_h1head *h)
{
	unsigned i, n = 0;
	if (!(h->flags & KK_H1_F_UPGRADE))
		return;
	put(w, "Upgrade: ", 9);
	for (i = 0; i < h->nhdr; i++) {
		kk_h1span el;
		uint32_t pos = 0;
		if (h->hdr[i].kind != KK_H1_H_UPGRADE)
			continue;
		while (list_next(h, h->hdr[i].value, &pos, &el)) {
			if (is_h2c(h, el))
				continue;
			if (n++)
				put(w, ", ", 2);
			put_span(w, h, el);
		}
	}
	put(w, "\r\nConnection: upgrade\r\n", 23);
}

size_t
kk_h1_write_request(const kk_h1head *h, const kk_h1fwd *fwd, char *out, size_t cap)
{
	wbuf w = { out, 0, cap, 0 };
	unsigned i;
	int xff = 0;
	puts_(&w, llhttp_method_name((llhttp_method_t)h->method));
	put(&w, " ", 1);
	put_span(&w, h, h->uri);
	put(&w, " HTTP/1.1\r\n", 11);
	/* An absolute-form authority replaces every Host (RFC 9112 §3.2.2). */
	if (h->authority.len) {
		put(&w, "Host: ", 6);
		put_span(&w, h, h->authority);
		put(&w, "\r\n", 2);
	}
	for (i = 0; i < h->nhdr; i++) {
		if (h->hdr[i].kind != KK_H1_H_KEEP &&
		    (h->hdr[i].kind != KK_H1_H_HOST || h->authority.len))
			continue;
		put_span(&w, h, h->hdr[i].name);
		put(&w, ": ", 2);
		put_span(&w, h, h->hdr[i].value);
		put(&w, "\r\n", 2);
	}
	put_upgrade(&w, h);
	/* One X-Forwarded-For: the client's list, then this hop. */
	put(&w, "X-Forwarded-For: ", 17);
	for (i = 0; i < h->nhdr; i++) {
		if (h->hdr[i].kind != KK_H1_H_XFF || !h->hdr[i].value.len)
			continue;
		if (xff++)
			put(&w, ", ", 2);
		put_span(&w, h, h->hdr[i].value);
	}
	if (xff)
		put(&w, ", ", 2);
	puts_(&w, fwd->client);
	put(&w, "\r\nX-Forwarded-Proto: ", 21);
	puts_(&w, fwd->proto);
	put(&w, "\r\n", 2);
	if (fwd->port) {
		put(&w, "X-Forwarded-Port: ", 18);
		puts_(&w, fwd->port);
		put(&w, "\r\n", 2);
	}
	if (h->body == KK_H1_BODY_LENGTH) {
		put(&w, "Content-Length: ", 16);
		put_u64(&w, h->clen);
		put(&w, "\r\n", 2);
	} else if (h->body == KK_H1_BODY_CHUNKED)
		put(&w, "Transfer-Encoding: chunked\r\n", 28);
	put(&w, "\r\n", 2);
	return w.full ? 0 : w.len;
}

size_t
kk_h1_write_response(const kk_h1head *h, int chunked, int keepalive, int client_minor,
    char *out, size_t cap)
{
	wbuf w = { out, 0, cap, 0 };
	unsigned i, code = h->status % 1000;
	char st[4];
	st[0] = (char)('0' + code / 100);
	st[1] = (char)('0' + code / 10 % 10);
	st[2] = (char)('0' + code % 10);
	st[3] = ' ';
	put(&w, "HTTP/1.1 ", 9);
	put(&w, st, 4);
	put_span(&w, h, h->reason);
	put(&w, "\r\n", 2);
	for (i = 0; i < h->nhdr; i++) {
		if (h->hdr[i].kind != KK_H1_H_KEEP)
			continue;
		put_span(&w, h, h->hdr[i].name);
		put(&w, ": ", 2);
		put_span(&w, h, h->hdr[i].value);
		put(&w, "\r\n", 2);
	}
	put_upgrade(&w, h);
	if (h->status >= 200) {
		if (chunked)
			put(&w, "Transfer-Encoding: chunked\r\n", 28);
		else if (h->body == KK_H1_BODY_LENGTH ||
		    (h->clen && h->body == KK_H1_BODY_NONE && h->status != 204)) {
			/* HEAD and 304 keep the Content-Length that describes
			 * the representation (RFC 9110 §8.6). */
			put(&w, "Content-Length: ", 16);
			put_u64(&w, h->clen);
			put(&w, "\r\n", 2);
		}
		if (!keepalive)
			put(&w, "Connection: close\r\n", 19);
		else if (client_minor == 0)
			put(&w, "Connection: keep-alive\r\n", 24);
	}
	put(&w, "\r\n", 2);
	return w.full ? 0 : w.len;
}

const char *
kk_h1_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

size_t
kk_h1_write_error(int status, int keepalive, char *out, size_t cap)
{
	const char *r = kk_h1_reason(status);
	int n = snprintf(out, cap,
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-cache\r\n%s\r\n%d %s\n",
	    status, r, strlen(r) + 5, keepalive ? "" : "Connection: close\r\n", status, r);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int
kk_h1_err_status(int err)
{
	switch (err) {
	case KK_H1_E_TOO_MANY:
	case KK_H1_E_TOO_LARGE: return 431;
	case KK_H1_E_METHOD: return 501;
	case KK_H1_E_VERSION: return 505;
	default: return 400;
	}
}

const char *
kk_h1_err_name(int err)
{
	static const char *const names[KK_H1_E_COUNT] = {
		"ok", "bare-lf", "obs-fold", "syntax", "header-name", "header-value",
		"too-many-headers", "head-too-large", "cl-and-te", "content-length",
		"transfer-encoding", "host", "version", "method", "target", "status",
		"field-look-alike", "request-line", "upgrade",
	};
	return err >= 0 && err < KK_H1_E_COUNT ? names[err] : "unknown";
}

/* Chunked decoder states. */
enum {
	CH_SIZE0, CH_SIZE, CH_SIZE_WS, CH_EXT, CH_EXT_QUOTED, CH_EXT_ESCAPE, CH_SIZE_LF,
	CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER0, CH_TRAILER_NAME, CH_TRAILER,
	CH_TRAILER_LF, CH_FINAL_LF, CH_DONE
};
#define KK_H1_CHUNK_EXTMAX 1024		/* extension bytes on one size line */
#define KK_H1_CHUNK_TRAILERMAX 8192	/* all trailer fields */

size_t
kk_h1_put_chunk(char *out, const char *p, size_t n)
{
	int hl = sprintf(out, "%zx\r\n", n);
	memcpy(out + hl, p, n);
	memcpy(out + hl + n, "\r\n", 2);
	return (size_t)hl + n + 2;
}

void
kk_h1_chunk_init(kk_h1chunk *d)
{
	memset(d, 0, sizeof *d);
}

static inline int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
kk_h1_chunk_next(kk_h1chunk *d, const char *p, size_t len, size_t *used)
{
	size_t i = 0;
	int r = KK_H1_CHUNK_MORE;
	while (i < len || d->state == CH_DATA || d->state == CH_DONE) {
		unsigned char c;
		if (d->state == CH_DATA) {
			if (d->left) {
				r = KK_H1_CHUNK_DATA;
				goto out;
			}
			d->state = CH_DATA_CR;
			continue;
		}
		if (d->state == CH_DONE) {
			r = KK_H1_CHUNK_END;
			goto out;
		}
		c = (unsigned char)p[i++];
		switch (d->state) {
		case CH_SIZE0:
		case CH_SIZE: {
			int v = hexval(c);
			if (v >= 0) {
				/* 15 hex digits: sizes up to 2^60, no overflow. */
				if (d->left == 0 && v == 0 && d->digits)
					break;	/* leading zeros */
				if (++d->digits > 15)
					goto bad;
				d->left = (d->left << 4) | (uint64_t)v;
				d->state = CH_SIZE;
				break;
			}
			if (d->state == CH_SIZE0)
				goto bad;
			d->linelen = 1;
			if (c == '\r')
				d->state = CH_SIZE_LF;
			else if (c == ';')
				d->state = CH_EXT;
			else if (c == ' ' || c == '\t')
				d->state = CH_SIZE_WS;
			else
				goto bad;
			break;
		}
		case CH_SIZE_WS:
			/* RFC 9112 §7.1.1 allows white space (BWS) after the
			 * size only before a ';'. "3 \r\n" is read as 3 by some
			 * parsers and refused or misread by others: refused. */
			if (++d->linelen > KK_H1_CHUNK_EXTMAX)
				goto bad;
			if (c == ';')
				d->state = CH_EXT;
			else if (c != ' ' && c != '\t')
				goto bad;
			break;
		case CH_EXT:
			/* Extensions (RFC 9112 §7.1.1: tokens, '=', BWS and
			 * quoted strings) are dropped; what they may hold is
			 * still checked, and a line end inside a quoted
			 * string is refused, so that no parser can find the
			 * end of the line elsewhere than this one does. */
			if (++d->linelen > KK_H1_CHUNK_EXTMAX)
				goto bad;
			if (c == '\r')
				d->state = CH_SIZE_LF;
			else if (c == '"')
				d->state = CH_EXT_QUOTED;
			else if (!is_tchar(c) && c != ';' && c != '=' && c != ' ' && c != '\t')
				goto bad;
			break;
		case CH_EXT_QUOTED:	/* qdtext, quoted-pair (RFC 9110 §5.6.4) */
			if (++d->linelen > KK_H1_CHUNK_EXTMAX || !is_vchar_ws(c))
				goto bad;
			if (c == '"')
				d->state = CH_EXT;
			else if (c == '\\')
				d->state = CH_EXT_ESCAPE;
			break;
		case CH_EXT_ESCAPE:
			if (++d->linelen > KK_H1_CHUNK_EXTMAX || !is_vchar_ws(c))
				goto bad;
			d->state = CH_EXT_QUOTED;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				goto bad;
			d->digits = 0;
			d->linelen = 0;
			d->state = d->left ? CH_DATA : CH_TRAILER0;
			break;
		case CH_DATA_CR:
			if (c != '\r')
				goto bad;
			d->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				goto bad;
			d->state = CH_SIZE0;
			break;
		case CH_TRAILER0:
			if (c == '\r') {
				d->state = CH_FINAL_LF;
				break;
			}
			d->state = CH_TRAILER_NAME;
			/* fall through */
		case CH_TRAILER_NAME:
			/* Trailers are dropped, but each must be a field line
			 * (RFC 9112 §7.1.2): a name, then ':'. A line of
			 * another shape (a request line, obs-fold) is what a
			 * smuggled request would look like to a lax parser. */
			if (++d->trailers > KK_H1_CHUNK_TRAILERMAX)
				goto bad;
			if (c == ':' && d->linelen) {
				d->state = CH_TRAILER;
				break;
			}
			if (!is_tchar(c))
				goto bad;
			d->linelen = 1;
			break;
		case CH_TRAILER:
			if (c == '\r') {
				d->state = CH_TRAILER_LF;
				break;
			}
			if (!is_vchar_ws(c) || ++d->trailers > KK_H1_CHUNK_TRAILERMAX)
				goto bad;
			break;
		case CH_TRAILER_LF:
			if (c != '\n')
				goto bad;
			d->linelen = 0;
			d->state = CH_TRAILER0;
			break;
		case CH_FINAL_LF:
			if (c != '\n')
				goto bad;
			d->state = CH_DONE;
			break;
		}
	}
out:
	*used = i;
	return r;
bad:
	*used = i;
	return KK_H1_CHUNK_ERR;
}
