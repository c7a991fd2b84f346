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
#include "answer.h"
#include "h1.h"

/* The head being parsed, for the llhttp callbacks: its fields, the
 * spans of the start line, where the last callback left off. */
static struct {
	kk_fields *fl;
	kk_span target, reason;
	unsigned char state;	/* field or value last */
	unsigned char overflow;
} parsing;

/* What the fields of a head say of its framing and connection (one
 * struct, filled by check_fields). */
typedef struct fieldinfo fieldinfo;
struct fieldinfo {
	int ncl, nte, nhost;
	int te_chunked_last, te_only_chunked;
	unsigned flags;		/* F_* and KK_H1_F_* */
	uint64_t clen;
};

/* Internal flags: Connection lists upgrade; Upgrade names a protocol
 * other than h2c; it names h2c; a Trailer field is present. */
#define F_CONN_UPGRADE 0x100u
#define F_UPGRADE_OTHER 0x200u
#define F_UPGRADE_H2C 0x400u
#define F_TRAILER 0x800u

static int
span_extend(kk_span *s, const char *at, size_t len)
{
	if (!s->len)
		s->off = (uint32_t)(at - parsing.fl->base);
	s->len += (uint32_t)len;
	return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	return span_extend(&parsing.target, at, len);
}

static int
on_status(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	return span_extend(&parsing.reason, at, len);
}

static int
on_field(llhttp_t *p, const char *at, size_t len)
{
	kk_fields *fl = parsing.fl;
	kk_field *f;
	(void)p;
	if (parsing.state != 1) {
		if (fl->n == KK_HEAD_MAXFIELDS) {
			parsing.overflow = 1;
			return HPE_USER;
		}
		f = &fl->f[fl->n++];
		f->name.len = f->value.len = 0;
		f->value.off = 0;
		parsing.state = 1;
	}
	return span_extend(&fl->f[fl->n - 1].name, at, len);
}

static int
on_value(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	parsing.state = 2;
	if (!parsing.fl->n)
		return HPE_USER;
	return span_extend(&parsing.fl->f[parsing.fl->n - 1].value, at, len);
}

static int
on_value_done(llhttp_t *p)
{
	(void)p;
	/* An empty value calls no on_value: mark the field as complete. */
	parsing.state = 2;
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

/* Runs llhttp over a whole head into fl; *parser says what it read of the
 * start line. */
static int
run_llhttp(kk_fields *fl, const char *p, size_t len, llhttp_type_t type, llhttp_t *parser)
{
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
	fl->base = p;
	fl->n = 0;
	memset(&parsing, 0, sizeof parsing);
	parsing.fl = fl;
	llhttp_init(parser, type, &settings);
	e = llhttp_execute(parser, p, len);
	parsing.fl = NULL;
	if (parsing.overflow)
		return KK_H1_E_TOO_MANY;
	if (e != HPE_PAUSED || llhttp_get_error_pos(parser) != p + len)
		return KK_H1_E_SYNTAX;
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

/* Whether every byte of s[0, n) is a field-vchar, SP, HTAB or obs-text.
 * Values are most of a head's bytes: eight are looked at at once, a
 * control or DEL among them found with word arithmetic (a byte below
 * 0x20 borrows into its top bit; DEL is 0x7f xor'ed to zero), and only a
 * word holding one, a tab most often, is looked at byte by byte. */
static int
value_ok(const unsigned char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	size_t i = 0, j;
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		memcpy(&x, s + i, 8);
		y = x ^ (0x7f * ones);
		if (((x - 0x20 * ones) & ~x & high) | ((y - ones) & ~y & high))
			for (j = i; j < i + 8; j++)
				if (!is_vchar_ws(s[j]))
					return 0;
	}
	for (; i < n; i++)
		if (!is_vchar_ws(s[i]))
			return 0;
	return 1;
}

/* Whether s[0, n) is a token (RFC 9110 §5.6.2). */
static int
token_ok(const unsigned char *s, size_t n)
{
	unsigned ok = 1;
	size_t i = 0;
	/* Four lookups a round, no branch but the loop's. */
	for (; i + 4 <= n; i += 4)
		ok &= tchar[s[i]] & tchar[s[i + 1]] & tchar[s[i + 2]] & tchar[s[i + 3]];
	for (; i < n; i++)
		ok &= tchar[s[i]];
	return ok;
}

/* protocol = protocol-name ["/" protocol-version], both tokens (RFC 9110
 * §7.8). */
static int
is_protocol(const char *base, kk_span el)
{
	const unsigned char *s = (const unsigned char *)base + el.off;
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
is_h2c(const char *base, kk_span el)
{
	return el.len >= 3 && !strncasecmp(base + el.off, "h2c", 3) &&
	    (el.len == 3 || base[el.off + 3] == '/');
}

/* Checks names and values, trims values, names each field (kk_field_id)
 * and reads what decides framing and the connection into fi. Shared by
 * requests and responses; the forwarding rules (head.c) decide later
 * what goes on. */
static int
check_fields(kk_fields *fl, int request, fieldinfo *fi)
{
	unsigned i, j;
	memset(fi, 0, sizeof *fi);
	fi->te_only_chunked = 1;
	for (i = 0; i < fl->n; i++) {
		kk_field *f = &fl->f[i];
		kk_span *n = &f->name, *v = &f->value;
		const unsigned char *s;
		int fid;
		if (!n->len || !token_ok((const unsigned char *)fl->base + n->off, n->len))
			return KK_H1_E_NAME;
		s = (const unsigned char *)fl->base + v->off;
		while (v->len && (s[v->len - 1] == ' ' || s[v->len - 1] == '\t'))
			v->len--;
		if (!value_ok(s, v->len))
			return KK_H1_E_VALUE;
		fid = kk_field_id(fl->base + n->off, n->len);
		/* Request fields, and look-alikes (clients do not fold
		 * names), are ordinary in responses. */
		if (!request && fid >= KK_FLD_HOST)
			fid = KK_FLD_OTHER;
		f->id = (unsigned char)fid;
		f->fwd = 0;
		switch (fid) {
		case KK_FLD_OTHER:
			break;
		case KK_FLD_LOOKALIKE:
			return KK_H1_E_LOOKALIKE;
		case KK_FLD_CONNECTION: {
			kk_span el;
			uint32_t pos = 0;
			while (kk_list_next(fl->base, *v, &pos, &el)) {
				if (kk_span_is(fl->base, el, "close"))
					fi->flags |= KK_H1_F_CLOSE;
				else if (kk_span_is(fl->base, el, "keep-alive"))
					fi->flags |= KK_H1_F_KEEPALIVE;
				else if (kk_span_is(fl->base, el, "upgrade"))
					fi->flags |= F_CONN_UPGRADE;
			}
			break;
		}
		case KK_FLD_CONTENT_LENGTH: {
			uint64_t x = 0;
			if (!v->len || v->len > 18)
				return KK_H1_E_CL;
			for (j = 0; j < v->len; j++) {
				if (s[j] < '0' || s[j] > '9')
					return KK_H1_E_CL;
				x = x * 10 + (s[j] - '0');
			}
			if (fi->ncl && x != fi->clen)
				return KK_H1_E_CL;
			fi->clen = x;
			fi->ncl++;
			break;
		}
		case KK_FLD_TRANSFER_ENCODING: {
			kk_span el;
			uint32_t pos = 0;
			fi->nte++;
			while (kk_list_next(fl->base, *v, &pos, &el)) {
				fi->te_chunked_last = kk_span_is(fl->base, el, "chunked");
				if (!fi->te_chunked_last || fi->nte > 1 || pos < v->len)
					fi->te_only_chunked = 0;
			}
			if (!v->len)
				fi->te_only_chunked = 0;
			break;
		}
		case KK_FLD_UPGRADE: {
			kk_span el;
			uint32_t pos = 0;
			while (kk_list_next(fl->base, *v, &pos, &el)) {
				if (!is_protocol(fl->base, el))
					return KK_H1_E_UPGRADE;
				fi->flags |= is_h2c(fl->base, el) ? F_UPGRADE_H2C :
				    F_UPGRADE_OTHER;
			}
			break;
		}
		case KK_FLD_TRAILER:
			fi->flags |= F_TRAILER;
			break;
		case KK_FLD_HOST:
			fi->nhost++;
			break;
		default:
			break;
		}
	}
	return KK_H1_OK;
}

/* The request target (RFC 9112 §3.2) into the path upstream and, for the
 * absolute-form, the authority. */
static int
set_target(kk_reqhead *h, kk_span target, int options)
{
	const char *base = h->fl.base, *t = base + target.off;
	uint32_t n = target.len, i;
	if (!n)
		return KK_H1_E_TARGET;
	h->path = target;
	if (t[0] == '*' && n == 1 && options) {
		h->pathlen = 1;
		return KK_H1_OK;
	}
	if (n > 7 && !strncasecmp(t, "http://", 7)) {
		/* absolute-form: its authority wins over Host (RFC 9112
		 * §3.2.2) for routing, and upstream gets the origin-form
		 * with a Host equal to that authority, so the backend reads
		 * the host that was routed. Userinfo ('@') is refused by
		 * kk_head_set_host: RFC 9110 §4.2.4 forbids it in http URIs. */
		uint32_t a = 7, b = a;
		while (b < n && t[b] != '/' && t[b] != '?')
			b++;
		if (b == a || !kk_head_set_host(h, t + a, b - a))
			return KK_H1_E_HOST;
		h->flags |= KK_HEAD_F_TARGET_AUTHORITY;
		h->authority.off = target.off + a;
		h->authority.len = b - a;
		if (b == n || t[b] == '?')
			return KK_H1_E_TARGET;	/* origin-form needs a path */
		h->path.off = target.off + b;
		h->path.len = n - b;
	} else if (t[0] != '/')
		return KK_H1_E_TARGET;
	h->pathlen = h->path.len;
	for (i = 0; i < h->path.len; i++) {
		char c = base[h->path.off + i];
		if (c == '?' || c == '#') {
			h->pathlen = i;
			break;
		}
	}
	return KK_H1_OK;
}

/* The request line is method SP target SP version CRLF, one SP each
 * (RFC 9112 §3). llhttp 8.1 also takes runs of spaces, which a backend
 * may split differently (or read as part of the target): refused. So is
 * a TAB in the target, the one control byte llhttp passes there, which a
 * backend may read as the end of the target (RFC 9112 §3.2 allows no
 * whitespace in it). Bytes above 0x7E pass, as most servers take them.
 * The version is known to be HTTP/1.0 or HTTP/1.1 here. */
static int
check_request_line(const char *p, size_t len, const char *m, kk_span target, unsigned minor)
{
	size_t ml = strlen(m);
	uint32_t end = target.off + target.len, i;
	if (target.off != ml + 1 || memcmp(p, m, ml) || p[ml] != ' ')
		return KK_H1_E_REQUEST_LINE;
	if (len - end < 11 || memcmp(p + end, " HTTP/1.", 8) ||
	    p[end + 8] != (char)('0' + minor) || p[end + 9] != '\r')
		return KK_H1_E_REQUEST_LINE;
	for (i = target.off; i < end; i++)
		if ((unsigned char)p[i] <= ' ')
			return KK_H1_E_REQUEST_LINE;
	return KK_H1_OK;
}

int
kk_h1_parse_request(kk_reqhead *h, kk_h1info *info, const char *p, size_t len)
{
	llhttp_t parser;
	fieldinfo fi;
	const char *m;
	unsigned i;
	int e = run_llhttp(&h->fl, p, len, HTTP_REQUEST, &parser);
	if (e)
		return e;
	h->flags = 0;
	h->scheme = KK_SCHEME_HTTP;
	h->authority.off = h->authority.len = 0;
	h->hostlen = 0;
	h->host[0] = 0;
	h->nadd = 0;
	info->len = (uint32_t)len;
	info->minor = parser.http_minor;
	if (parser.http_major != 1 || parser.http_minor > 1)
		return KK_H1_E_VERSION;
	h->version = parser.http_minor ? KK_VERSION_11 : KK_VERSION_10;
	m = llhttp_method_name((llhttp_method_t)parser.method);
	e = check_request_line(p, len, m, parsing.target, parser.http_minor);
	if (e)
		return e;
	if (parser.method == HTTP_CONNECT)
		return KK_H1_E_METHOD;
	if (parser.method == HTTP_HEAD)
		h->flags |= KK_HEAD_F_HEAD;
	h->method.off = 0;
	h->method.len = (uint32_t)strlen(m);
	e = check_fields(&h->fl, 1, &fi);
	if (e)
		return e;
	e = set_target(h, parsing.target, parser.method == HTTP_OPTIONS);
	if (e)
		return e;
	if (fi.nhost > 1 || (!fi.nhost && parser.http_minor == 1))
		return KK_H1_E_HOST;
	/* An empty Host names no host: an http URI with an empty host is
	 * invalid (RFC 9110 §4.2.1), and routing it would pick a frontend
	 * by accident. */
	for (i = 0; fi.nhost && i < h->fl.n; i++) {
		const kk_field *f = &h->fl.f[i];
		if (f->id != KK_FLD_HOST || (h->flags & KK_HEAD_F_TARGET_AUTHORITY))
			continue;
		if (!f->value.len || !kk_head_set_host(h, p + f->value.off, f->value.len))
			return KK_H1_E_HOST;
		h->authority = f->value;
	}
	/* RFC 9110 §7.8: Upgrade counts only with the upgrade connection
	 * option, and a server ignores it in HTTP/1.0. h2c is never passed
	 * on (the proxy speaks HTTP/1.1 to the backend): the request is then
	 * served as HTTP/1.1, or offers its other protocols alone. */
	if ((fi.flags & (F_CONN_UPGRADE | F_UPGRADE_OTHER)) ==
	    (F_CONN_UPGRADE | F_UPGRADE_OTHER) && parser.http_minor == 1)
		h->flags |= KK_HEAD_F_UPGRADE;
	if (fi.flags & F_TRAILER)
		h->flags |= KK_HEAD_F_TRAILERS;
	info->flags = (unsigned char)(fi.flags & (KK_H1_F_CLOSE | KK_H1_F_KEEPALIVE));
	/* Framing (RFC 9112 §6.1-6.3): a request that could be read two ways
	 * is refused, never guessed at. */
	h->clen = fi.clen;
	if (fi.nte && fi.ncl)
		return KK_H1_E_CL_TE;
	if (fi.nte) {
		if (!fi.te_only_chunked || parser.http_minor == 0)
			return KK_H1_E_TE;
		info->body = KK_H1_BODY_CHUNKED;
		h->body = KK_BODY_UNKNOWN;
	} else if (fi.ncl) {
		info->body = KK_H1_BODY_LENGTH;
		h->body = KK_BODY_LENGTH;
	} else {
		info->body = KK_H1_BODY_NONE;
		h->body = KK_BODY_NONE;
	}
	return KK_H1_OK;
}

int
kk_h1_parse_response(kk_resphead *h, kk_h1info *info, const char *p, size_t len, int head_req)
{
	llhttp_t parser;
	fieldinfo fi;
	int e = run_llhttp(&h->fl, p, len, HTTP_RESPONSE, &parser);
	if (e)
		return e;
	h->flags = 0;
	h->status = parser.status_code;
	h->reason = parsing.reason;
	info->len = (uint32_t)len;
	info->minor = parser.http_minor;
	if (parser.http_major != 1 || parser.http_minor > 1)
		return KK_H1_E_VERSION;
	if (h->status < 100 || h->status > 599)
		return KK_H1_E_STATUS;
	e = check_fields(&h->fl, 0, &fi);
	if (e)
		return e;
	/* A 101 names the protocol it switches to (RFC 9110 §15.2.2); one to
	 * h2c answers nothing this proxy forwards. Elsewhere Upgrade is only
	 * an offer, hop-by-hop. */
	if (h->status == 101) {
		if (!(fi.flags & F_UPGRADE_OTHER) || (fi.flags & F_UPGRADE_H2C) ||
		    parser.http_minor == 0)
			return KK_H1_E_UPGRADE;
		h->flags |= KK_HEAD_F_UPGRADE;
	}
	if (fi.flags & F_TRAILER)
		h->flags |= KK_HEAD_F_TRAILERS;
	info->flags = (unsigned char)(fi.flags & (KK_H1_F_CLOSE | KK_H1_F_KEEPALIVE));
	if (parser.http_minor == 0 && !(fi.flags & KK_H1_F_KEEPALIVE))
		info->flags |= KK_H1_F_CLOSE;
	h->clen = fi.clen;
	if (h->status < 200 || h->status == 204 || h->status == 304 || head_req) {
		info->body = KK_H1_BODY_NONE;
		h->body = KK_BODY_NONE;
		return KK_H1_OK;
	}
	if (fi.nte && fi.ncl)
		return KK_H1_E_CL_TE;
	if (fi.nte) {
		/* RFC 9112 §6.3: chunked last means chunked; another final
		 * coding means read until close. Codings before chunked would
		 * have to be passed on as such: refused. */
		if (fi.te_chunked_last && !fi.te_only_chunked)
			return KK_H1_E_TE;
		info->body = fi.te_chunked_last ? KK_H1_BODY_CHUNKED : KK_H1_BODY_CLOSE;
	} else if (fi.ncl)
		info->body = KK_H1_BODY_LENGTH;
	else
		info->body = KK_H1_BODY_CLOSE;
	if (info->body == KK_H1_BODY_CLOSE)
		info->flags |= KK_H1_F_CLOSE;
	h->body = info->body == KK_H1_BODY_LENGTH ? KK_BODY_LENGTH : KK_BODY_UNKNOWN;
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
put_span(wbuf *w, const char *base, kk_span s)
{
	put(w, base + s.off, s.len);
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

/* A field line, its room checked once: most of a head's bytes. */
static void
put_field(wbuf *w, const char *base, const kk_field *f)
{
	size_t n = (size_t)f->name.len + f->value.len + 4;
	char *o;
	if (w->full || w->cap - w->len < n) {
		w->full = 1;
		return;
	}
	o = w->p + w->len;
	memcpy(o, base + f->name.off, f->name.len);
	o += f->name.len;
	o[0] = ':';
	o[1] = ' ';
	memcpy(o + 2, base + f->value.off, f->value.len);
	o += 2 + f->value.len;
	o[0] = '\r';
	o[1] = '\n';
	w->len += n;
}

/* Whether a field's line in base reads exactly as put_field writes it:
 * "name: value" and CRLF, nothing trimmed. */
static inline int
canonical(const char *base, const kk_field *f)
{
	uint32_t colon = f->name.off + f->name.len, end = f->value.off + f->value.len;
	return f->value.off == colon + 2 && base[colon] == ':' && base[colon + 1] == ' ' &&
	    base[end] == '\r' && base[end + 1] == '\n';
}

/* The fields forwarding kept, in order; Trailer only before a chunked
 * body, the one h1 framing that carries trailers. Each is written from
 * its parsed name and value; where consecutive kept lines already read
 * byte for byte as they would be written, the run is copied at once
 * (measured: a third of the cost of writing a head). */
static void
put_run(wbuf *w, const char *base, const kk_field *fields, unsigned n, int chunked)
{
	unsigned i = 0, j;
	while (i < n) {
		const kk_field *f = &fields[i];
		uint32_t start, end;
		if (!f->fwd || (!chunked && f->id == KK_FLD_TRAILER)) {
			i++;
			continue;
		}
		if (!canonical(base, f)) {
			put_field(w, base, f);
			i++;
			continue;
		}
		start = f->name.off;
		end = f->value.off + f->value.len + 2;
		for (j = i + 1; j < n; j++) {
			const kk_field *g = &fields[j];
			if (!g->fwd || (!chunked && g->id == KK_FLD_TRAILER) ||
			    g->name.off != end || !canonical(base, g))
				break;
			end = g->value.off + g->value.len + 2;
		}
		put(w, base + start, end - start);
		i = j;
	}
}

static void
put_fields(wbuf *w, const kk_fields *fl, int chunked)
{
	put_run(w, fl->base, fl->f, fl->n, chunked);
}

/* Upgrade from the parsed protocols, h2c left out, and the connection
 * option that goes with it (RFC 9110 §7.8). */
static void
put_upgrade(wbuf *w, const kk_fields *fl, unsigned flags)
{
	unsigned i, n = 0;
	if (!(flags & KK_HEAD_F_UPGRADE))
		return;
	put(w, "Upgrade: ", 9);
	for (i = 0; i < fl->n; i++) {
		kk_span el;
		uint32_t pos = 0;
		if (fl->f[i].id != KK_FLD_UPGRADE)
			continue;
		while (kk_list_next(fl->base, fl->f[i].value, &pos, &el)) {
			if (is_h2c(fl->base, el))
				continue;
			if (n++)
				put(w, ", ", 2);
			put_span(w, fl->base, el);
		}
	}
	put(w, "\r\nConnection: upgrade\r\n", 23);
}

size_t
kk_h1_write_request(const kk_reqhead *h, const char *origin, char *out, size_t cap)
{
	wbuf w = { out, 0, cap, 0 };
	const char *base = h->fl.base;
	put_span(&w, base, h->method);
	put(&w, " ", 1);
	put_span(&w, h->flags & KK_HEAD_F_PATH_TEXT ? h->text : base, h->path);
	put(&w, " HTTP/1.1\r\n", 11);
	/* The authority goes as Host (RFC 9112 §3.2), first, unless a Host
	 * field that carries it is forwarded. */
	if (!(h->flags & KK_HEAD_F_HOST_FIELD)) {
		put(&w, "Host: ", 6);
		if (h->authority.len)
			put_span(&w, base, h->authority);
		else
			put(&w, origin, strlen(origin));
		put(&w, "\r\n", 2);
	}
	put_fields(&w, &h->fl, h->body == KK_BODY_UNKNOWN);
	put_upgrade(&w, &h->fl, h->flags);
	put_run(&w, h->text, h->add, h->nadd, 1);
	if (h->body == KK_BODY_LENGTH) {
		put(&w, "Content-Length: ", 16);
		put_u64(&w, h->clen);
		put(&w, "\r\n", 2);
	} else if (h->body == KK_BODY_UNKNOWN)
		put(&w, "Transfer-Encoding: chunked\r\n", 28);
	put(&w, "\r\n", 2);
	return w.full ? 0 : w.len;
}

size_t
kk_h1_write_response(const kk_resphead *h, int chunked, int keepalive, int client_minor,
    const char *extra, char *out, size_t cap)
{
	wbuf w = { out, 0, cap, 0 };
	unsigned code = h->status % 1000;
	char st[4];
	st[0] = (char)('0' + code / 100);
	st[1] = (char)('0' + code / 10 % 10);
	st[2] = (char)('0' + code % 10);
	st[3] = ' ';
	put(&w, "HTTP/1.1 ", 9);
	put(&w, st, 4);
	put_span(&w, h->fl.base, h->reason);
	put(&w, "\r\n", 2);
	put_fields(&w, &h->fl, chunked);
	put_upgrade(&w, &h->fl, h->flags);
	put_run(&w, h->abase, h->add, h->nadd, chunked);
	if (h->status >= 200) {
		if (chunked)
			put(&w, "Transfer-Encoding: chunked\r\n", 28);
		else if (h->body == KK_BODY_LENGTH ||
		    (h->clen && h->body == KK_BODY_NONE && h->status != 204)) {
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
		if (extra)
			put(&w, extra, strlen(extra));
		if (h->set_cookie) {
			put(&w, "Set-Cookie: ", 12);
			put(&w, h->set_cookie, strlen(h->set_cookie));
			put(&w, "\r\n", 2);
		}
	}
	put(&w, "\r\n", 2);
	return w.full ? 0 : w.len;
}

size_t
kk_h1_write_trailers(const kk_fields *fl, char *out, size_t cap)
{
	wbuf w = { out, 0, cap, 0 };
	put(&w, "0\r\n", 3);
	put_fields(&w, fl, 1);
	put(&w, "\r\n", 2);
	return w.full ? 0 : w.len;
}

size_t
kk_h1_write_error(int status, int keepalive, int head, char *out, size_t cap)
{
	char body[64];
	size_t len = kk_answer_body(status, body, sizeof body);
	return kk_h1_write_answer(status, keepalive, head, NULL, 0, body, len, KK_ANSWER_TYPE,
	    sizeof KK_ANSWER_TYPE - 1, out, cap);
}

size_t
kk_h1_write_answer(int status, int keepalive, int head, const char *location, size_t loclen,
    const char *body, size_t len, const char *type, size_t typelen, char *out, size_t cap)
{
	size_t clen;
	const char *chal = kk_answer_made_challenge(&clen);
	int n = snprintf(out, cap,
	    "HTTP/1.1 %d %s\r\n%s%.*s%s%s%.*s%sContent-Type: %.*s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: " KK_ANSWER_CACHE "\r\n%s%s\r\n",
	    status, kk_answer_reason(status), location ? "Location: " : "", (int)loclen,
	    location ? location : "", location ? "\r\n" : "",
	    chal ? "WWW-Authenticate: " : "", (int)clen, chal ? chal : "", chal ? "\r\n" : "",
	    (int)typelen, type, len,
	    keepalive ? "" : "Connection: close\r\n",
	    /* RFC 9110 §10.2.3: when to come back; a 503 here is a full
	     * queue, a wait timed out or no backend: all brief. */
	    status == 503 ? "Retry-After: 1\r\n" : "");
	if (n < 0 || (size_t)n >= cap || (!head && cap - (size_t)n < len))
		return 0;
	if (!head)	/* a body may hold any byte, NUL included */
		memcpy(out + n, body, len);
	return (size_t)n + (head ? 0 : len);
}

size_t
kk_h1_write_redirect(int status, int keepalive, const char *location, size_t len, char *out,
    size_t cap)
{
	int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nLocation: %.*s\r\n"
	    "Content-Length: 0\r\n%s\r\n", status, kk_answer_reason(status), (int)len, location,
	    keepalive ? "" : "Connection: close\r\n");
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
	CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER0, CH_FINAL_LF, CH_DONE
};
#define KK_H1_CHUNK_EXTMAX 1024		/* extension bytes on one size line */

size_t
kk_h1_put_chunk(char *out, const char *p, size_t n)
{
	int hl = sprintf(out, "%zx\r\n", n);
	memcpy(out + hl, p, n);
	memcpy(out + hl + n, "\r\n", 2);
	return (size_t)hl + n + 2;
}

void
kk_h1_put_body(kk_buf *out, int chunked, const char *p, size_t n)
{
	if (chunked)
		out->len += (uint32_t)kk_h1_put_chunk(kk_buf_tail(out), p, n);
	else {
		memcpy(kk_buf_tail(out), p, n);
		out->len += (uint32_t)n;
	}
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
			/* Trailer fields: the caller reads the section whole
			 * (kk_h1_parse_trailers), from this byte on. */
			i--;
			r = KK_H1_CHUNK_TRAILERS;
			goto out;
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

void
kk_h1_chunk_trailers_done(kk_h1chunk *d)
{
	d->state = CH_DONE;
}

long
kk_h1_parse_trailers(kk_fields *fl, const char *p, size_t len)
{
	size_t i = 0;
	fl->base = p;
	fl->n = 0;
	for (;;) {
		const char *nl;
		size_t e, j, colon, a, b;
		kk_field *f;
		if (i > KK_H1_CHUNK_TRAILERMAX)
			return -1;
		if (i >= len)
			return len > KK_H1_CHUNK_TRAILERMAX ? -1 : 0;
		nl = memchr(p + i, '\n', len - i);
		if (!nl)
			return len - i > KK_H1_CHUNK_TRAILERMAX ? -1 : 0;
		e = (size_t)(nl - p);
		if (e == i || p[e - 1] != '\r')
			return -1;	/* bare LF */
		if (e == i + 1)
			return (long)(e + 1);	/* the empty line ends them */
		/* Each must be a field line (RFC 9112 §7.1.2): a name, then
		 * ':'. A line of another shape (a request line, obs-fold) is
		 * what a smuggled request would look like to a lax parser. */
		for (j = i; j < e - 1 && is_tchar((unsigned char)p[j]); j++)
			;
		if (j == i || p[j] != ':' || fl->n == KK_HEAD_MAXFIELDS)
			return -1;
		colon = j;
		for (a = j + 1; a < e - 1 && (p[a] == ' ' || p[a] == '\t'); a++)
			;
		for (b = e - 1; b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'); b--)
			;
		for (j = a; j < b; j++)
			if (!is_vchar_ws((unsigned char)p[j]))
				return -1;
		f = &fl->f[fl->n++];
		f->name.off = (uint32_t)i;
		f->name.len = (uint32_t)(colon - i);
		f->value.off = (uint32_t)a;
		f->value.len = (uint32_t)(b - a);
		f->id = (unsigned char)kk_field_id(p + i, f->name.len);
		f->fwd = 0;
		i = e + 1;
	}
}

enum kk_msg
kk_h1_body_next(kk_h1body *b, kk_buf *in, const char **p, size_t *n, kk_fields *tr)
{
	switch (b->framing) {
	case KK_H1_BODY_NONE:
		return KK_MSG_END;
	case KK_H1_BODY_LENGTH:
		if (!b->chunk.left)
			return KK_MSG_END;
		break;
	case KK_H1_BODY_CHUNKED: {
		/* Asked with no byte too: at its end the decoder says so again
		 * without consuming, so an end that found no room yet is not
		 * lost once the input is drained. */
		size_t used;
		long t;
		int r = kk_h1_chunk_next(&b->chunk, in->data ? in->data + in->off : NULL, in->len,
		    &used);
		kk_buf_consume(in, used);
		if (r == KK_H1_CHUNK_ERR)
			return KK_MSG_INVALID;
		if (r == KK_H1_CHUNK_END)
			return KK_MSG_END;
		if (r != KK_H1_CHUNK_TRAILERS)
			break;
		/* The section must come whole within one buffer. */
		t = kk_h1_parse_trailers(tr, in->data + in->off, in->len);
		if (t < 0 || (!t && in->len == in->cap))
			return KK_MSG_INVALID;
		if (!t)
			return KK_MSG_WAIT;
		b->chunk.trailers = (uint32_t)t;
		return KK_MSG_TRAILERS;
	}
	default:
		break;
	}
	if (!in->len) {
		kk_buf_trim(in);
		return KK_MSG_WAIT;
	}
	*p = in->data + in->off;
	*n = in->len;
	if (b->framing != KK_H1_BODY_CLOSE && *n > b->chunk.left)
		*n = (size_t)b->chunk.left;
	return *n ? KK_MSG_DATA : KK_MSG_WAIT;
}

void
kk_h1_body_trailers_done(kk_h1body *b, kk_buf *in)
{
	kk_buf_consume(in, b->chunk.trailers);
	kk_h1_chunk_trailers_done(&b->chunk);
}

size_t
kk_h1_body_take(kk_h1body *b, kk_buf *in, kk_buf *dst)
{
	size_t n = in->len;
	if (!n || b->framing == KK_H1_BODY_CHUNKED || b->framing == KK_H1_BODY_NONE ||
	    (b->framing == KK_H1_BODY_LENGTH && n > b->chunk.left))
		return 0;
	*dst = *in;
	memset(in, 0, sizeof *in);
	if (b->framing == KK_H1_BODY_LENGTH)
		b->chunk.left -= n;
	return n;
}
