/* ISC license. */
/* The forwarding rules of HTTP on neutral heads: which fields a proxy
 * acts on, which are hop-by-hop, what it adds. Protocol syntax (h1.c) is
 * elsewhere: a parser names each field with kk_field_id, these rules
 * decide what goes on, a writer writes what they kept. Last, the answers
 * the proxy makes itself, the same whatever the protocol. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "head.h"
#include "reqid.h"

/* Compares a name (a token) with lit (lower case, same length n): 0
 * different, 1 equal ignoring case, 2 equal only once each '_' is read as
 * '-'. Equal ignoring case first, eight bytes at a time: or'ing 0x20
 * lowers a letter and leaves '-' and digits alone, and no other token
 * byte becomes one of those. */
static int
name_cmp(const char *s, const char *lit, uint32_t n)
{
	const uint64_t lower = 0x2020202020202020ULL;
	uint32_t i = 0;
	int folded = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		memcpy(&x, s + i, 8);
		memcpy(&y, lit + i, 8);
		if ((x | lower) != y)
			goto slow;
	}
	for (; i < n; i++)
		if (((unsigned char)s[i] | 0x20) != (unsigned char)lit[i])
			goto slow;
	return 1;
slow:
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
 * NULL) the name is: KK_FLD_LOOKALIKE for a look-alike, else OTHER. */
static inline int
pick(const char *s, uint32_t n, const char *a, int ida, const char *b, int idb)
{
	/* Most names differ from both at the first byte, a letter in every
	 * candidate: compared folded first, without the loop. */
	unsigned char c = (unsigned char)s[0] | 0x20;
	int m = c == (unsigned char)a[0] ? name_cmp(s, a, n) : 0;
	if (!m && b && c == (unsigned char)b[0] && (m = name_cmp(s, b, n)))
		ida = idb;
	return !m ? KK_FLD_OTHER : m == 1 ? ida : KK_FLD_LOOKALIKE;
}

/* The length picks the few candidates, so most fields cost one switch
 * and at most a byte or two of comparison. Backends that map names to
 * CGI-style variables (HTTP_CONTENT_LENGTH) fold '-' and '_' together, so
 * Content_Length would reach them as the framing field this proxy never
 * saw, and X_Forwarded_For as the one it rewrote: such look-alikes are
 * refused by the parsers. The names without '-' (Host, Connection, TE...)
 * have no look-alike of that kind. */
int
kk_field_id(const char *s, uint32_t n)
{
	switch (n) {
	case 2: return pick(s, n, "te", KK_FLD_HOP, NULL, 0);
	case 4: return pick(s, n, "host", KK_FLD_HOST, NULL, 0);
	case 6: return pick(s, n, "expect", KK_FLD_EXPECT, NULL, 0);
	case 7: return pick(s, n, "trailer", KK_FLD_TRAILER, "upgrade", KK_FLD_UPGRADE);
	case 9: return pick(s, n, "forwarded", KK_FLD_FORWARDED, NULL, 0);
	case 10: return pick(s, n, "connection", KK_FLD_CONNECTION, "keep-alive", KK_FLD_HOP);
	case 14:
		/* HTTP2-Settings goes only with an h2c upgrade, never forwarded
		 * (RFC 9113 §3.1 leaves h2c to the client's own hop). */
		return pick(s, n, "content-length", KK_FLD_CONTENT_LENGTH, "http2-settings",
		    KK_FLD_HOP);
	case 15: return pick(s, n, "x-forwarded-for", KK_FLD_XFF, NULL, 0);
	case 16:
		/* Three names of this length: the 13th byte tells -Host. */
		if (((unsigned char)s[12] | 0x20) == 'h')
			return pick(s, n, "x-forwarded-host", KK_FLD_XFHOST, NULL, 0);
		return pick(s, n, "proxy-connection", KK_FLD_HOP, "x-forwarded-port",
		    KK_FLD_XFPORT);
	case 17:
		return pick(s, n, "transfer-encoding", KK_FLD_TRANSFER_ENCODING,
		    "x-forwarded-proto", KK_FLD_XFP);
	case 21: return pick(s, n, "x-client-cert-subject", KK_FLD_XF_OTHER, NULL, 0);
	case 22: return pick(s, n, "x-client-cert-verified", KK_FLD_XF_OTHER, NULL, 0);
	default: return KK_FLD_OTHER;
	}
}

int
kk_list_next(const char *base, kk_span v, uint32_t *pos, kk_span *el)
{
	const char *s = base + v.off;
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

int
kk_span_is(const char *base, kk_span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && !strncasecmp(base + s.off, lit, n);
}

int
kk_fields_find(const kk_fields *fl, const char *name, kk_span *value)
{
	unsigned i;
	for (i = 0; i < fl->n; i++)
		if (kk_span_is(fl->base, fl->f[i].name, name)) {
			*value = fl->f[i].value;
			return 1;
		}
	return 0;
}

int
kk_fields_cookie(const kk_fields *fl, const char *name, size_t nlen, kk_span *value)
{
	unsigned i;
	for (i = 0; i < fl->n; i++) {
		const char *s = fl->base + fl->f[i].value.off;
		uint32_t at = 0, len = fl->f[i].value.len;
		if (!kk_span_is(fl->base, fl->f[i].name, "cookie"))
			continue;
		while (at < len) {
			uint32_t end = at, eq;
			while (at < len && (s[at] == ' ' || s[at] == '\t'))
				at++;
			for (end = at; end < len && s[end] != ';'; end++)
				;
			for (eq = at; eq < end && s[eq] != '='; eq++)
				;
			if (eq < end && eq - at == nlen && !memcmp(s + at, name, nlen)) {
				uint32_t v = eq + 1, vend = end;
				while (vend > v && (s[vend - 1] == ' ' || s[vend - 1] == '\t'))
					vend--;
				value->off = fl->f[i].value.off + v;
				value->len = vend - v;
				return 1;
			}
			at = end + 1;
		}
	}
	return 0;
}

/* Fields named by a Connection field are hop-by-hop too (RFC 9110
 * §7.6.1), the framing, Host and X-Forwarded-For excepted: those are the
 * proxy's to write, whatever the client lists. */
static void
drop_named(kk_fields *fl)
{
	unsigned i, j;
	for (i = 0; i < fl->n; i++) {
		kk_span el;
		uint32_t pos = 0;
		if (fl->f[i].id != KK_FLD_CONNECTION)
			continue;
		while (kk_list_next(fl->base, fl->f[i].value, &pos, &el))
			for (j = 0; j < fl->n; j++)
				if (fl->f[j].fwd && (fl->f[j].id == KK_FLD_OTHER ||
				    fl->f[j].id == KK_FLD_EXPECT) &&
				    fl->f[j].name.len == el.len &&
				    !strncasecmp(fl->base + fl->f[j].name.off, fl->base + el.off,
				    el.len))
					fl->f[j].fwd = 0;
	}
}

/* Whether a field passes as it is, by its id; the request fields the
 * proxy writes itself (Host, X-Forwarded-*) are the caller's. A response
 * parser names those KK_FLD_OTHER: in a response they are ordinary. */
static int
passes(const kk_field *f, unsigned flags, int body_unknown)
{
	switch (f->id) {
	case KK_FLD_OTHER:
	case KK_FLD_EXPECT:	/* end to end: the backend decides (RFC 9110 §10.1.1) */
		return 1;
	case KK_FLD_TRAILER:
		/* Announced trailers can follow only a body of unknown
		 * length; the writer drops it if its framing carries none. */
		return body_unknown && (flags & KK_HEAD_F_TRAILERS);
	default:
		return 0;
	}
}

static inline int
add_text(kk_reqhead *h, const char *s, size_t n)
{
	if (KK_HEAD_ADDMAX - h->textlen < n)
		return 0;
	memcpy(h->text + h->textlen, s, n);
	h->textlen += (uint32_t)n;
	return 1;
}

/* Starts an added field, written as a whole line ("name: value" and
 * CRLF, so that a writer can copy the added lines at once): name is its
 * name and ": ", len their length; its value is what add_text appends
 * until end_field. */
static inline int
add_field(kk_reqhead *h, const char *name, uint32_t len)
{
	kk_field *f = &h->add[h->nadd++];
	f->name.off = h->textlen;
	f->name.len = len - 2;
	f->id = KK_FLD_OTHER;
	f->fwd = 1;
	if (!add_text(h, name, len))
		return 0;
	f->value.off = h->textlen;
	return 1;
}

static inline int
end_field(kk_reqhead *h)
{
	kk_field *f = &h->add[h->nadd - 1];
	f->value.len = h->textlen - f->value.off;
	return add_text(h, "\r\n", 2);
}

/* Whether id is a forwarding field (a trusted client's are kept). */
static inline int
forwarding(unsigned id)
{
	return id >= KK_FLD_XFF && id <= KK_FLD_FORWARDED;
}

/* Appends each value of the client's fields id, each followed by ", ",
 * for this hop's element to end the list (RFC 7239 §4, and the
 * X-Forwarded-For habit). */
static int
add_client_list(kk_reqhead *h, unsigned id)
{
	const kk_fields *fl = &h->fl;
	int ok = 1;
	for (unsigned i = 0; ok && i < fl->n; i++) {
		const kk_field *f = &fl->f[i];
		if (f->id == id && f->value.len)
			ok = add_text(h, fl->base + f->value.off, f->value.len) &&
			    add_text(h, ", ", 2);
	}
	return ok;
}

/* A request id a trusted client may hand on: visible ASCII, bounded, so
 * that whatever reads the stream's copy (a log line) gets a sane word. */
static int
reqid_ok(const char *s, uint32_t n)
{
	if (!n || n > KK_HEAD_REQID_MAX)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Whether a host value can go bare in Forwarded: a token (RFC 7239 §4,
 * RFC 9110 §5.6.2); a port's ':' or an IP literal's brackets need the
 * quotes. The authority was checked (kk_head_set_host): no '"' or '\'. */
static int
is_token(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (s[i] == ':' || s[i] == '[' || s[i] == ']')
			return 0;
	return 1;
}

/* This hop's Forwarded element (RFC 7239 §4-5): for= the client (an
 * IPv6 address bracketed and quoted, §6), proto=, host= when the request
 * named one; no by=, which would tell the backends the proxy's own
 * addresses and which no backend needs to find the client. */
static int
add_forwarded(kk_reqhead *h, const kk_fwd *fwd)
{
	const char *base = h->fl.base;
	int ok = add_field(h, "Forwarded: ", 11)
	    && (!fwd->trusted || add_client_list(h, KK_FLD_FORWARDED)) && add_text(h, "for=", 4);
	if (fwd->client_v6)
		ok = ok && add_text(h, "\"[", 2) && add_text(h, fwd->client, strlen(fwd->client))
		    && add_text(h, "]\"", 2);
	else
		ok = ok && add_text(h, fwd->client, strlen(fwd->client));
	ok = ok && (h->scheme == KK_SCHEME_HTTPS ? add_text(h, ";proto=https", 12) :
	    add_text(h, ";proto=http", 11));
	if (ok && h->authority.len) {
		int bare = is_token(base + h->authority.off, h->authority.len);
		ok = add_text(h, bare ? ";host=" : ";host=\"", bare ? 6 : 7)
		    && add_text(h, base + h->authority.off, h->authority.len)
		    && (bare || add_text(h, "\"", 1));
	}
	return ok && end_field(h);
}

/* The request id field: a trusted client's value (at theirs, valid),
 * else a new id; h->reqid points at the value sent. */
static int
add_reqid(kk_reqhead *h, const kk_fwd *fwd, const kk_field *theirs)
{
	char id[KK_REQID_LEN];
	int ok = add_field(h, fwd->reqid, fwd->reqidlen + 2);
	uint32_t at = h->textlen;
	if (theirs)
		ok = ok && add_text(h, h->fl.base + theirs->value.off, theirs->value.len);
	else
		ok = ok && add_text(h, id, kk_reqid_next(id));
	if (!ok)
		return 0;
	h->reqid = h->text + at;
	h->reqidlen = h->textlen - at;
	return end_field(h);
}

int
kk_head_forward(kk_reqhead *h, const kk_fwd *fwd)
{
	kk_fields *fl = &h->fl;
	const kk_field *theirs = NULL;
	unsigned i, seen = 0, on = fwd->fields, have = 0;
	int host = !(h->flags & KK_HEAD_F_TARGET_AUTHORITY), ok = 1;
	int body_unknown = h->body == KK_BODY_UNKNOWN;
	h->flags &= ~KK_HEAD_F_HOST_FIELD;
	h->reqid = NULL;
	h->reqidlen = 0;
	for (i = 0; i < fl->n; i++) {
		kk_field *f = &fl->f[i];
		f->fwd = (unsigned char)passes(f, h->flags, body_unknown);
		/* Host goes on unless an absolute-form target replaced it
		 * (RFC 9112 §3.2.2): then the writer sends the authority. */
		if (f->id == KK_FLD_HOST && host) {
			f->fwd = 1;
			h->flags |= KK_HEAD_F_HOST_FIELD;
		}
		/* A trusted proxy's forwarding fields go on as it wrote them,
		 * but for the lists this hop extends; anyone else's never. */
		if (fwd->trusted && forwarding(f->id)) {
			f->fwd = 1;
			have |= 1u << (f->id - KK_FLD_XFF);
		}
		/* The request id, and what a backend folding '_' into '-'
		 * would read as it: ours replaces them. */
		if (fwd->reqidlen && f->id == KK_FLD_OTHER && f->name.len == fwd->reqidlen) {
			int m = name_cmp(fl->base + f->name.off, fwd->reqid_lower, fwd->reqidlen);
			if (m) {
				f->fwd = 0;
				if (m == 1 && fwd->trusted && !theirs &&
				    reqid_ok(fl->base + f->value.off, f->value.len))
					theirs = f;
			}
		}
		seen |= 1u << f->id;
	}
	if (seen & (1u << KK_FLD_CONNECTION))
		drop_named(fl);
	h->nadd = 0;
	h->textlen = 0;
	/* One X-Forwarded-For and one Forwarded: a trusted client's list,
	 * then this hop. The others are a trusted client's when it sent
	 * them, else ours. */
	if (on & KK_FORWARD_XFF) {
		for (i = 0; i < fl->n; i++)
			if (fl->f[i].id == KK_FLD_XFF)
				fl->f[i].fwd = 0;
		ok = add_field(h, "X-Forwarded-For: ", 17)
		    && (!fwd->trusted || add_client_list(h, KK_FLD_XFF))
		    && add_text(h, fwd->client, strlen(fwd->client)) && end_field(h);
	}
	if (ok && (on & KK_FORWARD_XFP) && !(have & KK_FORWARD_XFP))
		ok = add_field(h, "X-Forwarded-Proto: ", 19) &&
		    (h->scheme == KK_SCHEME_HTTPS ? add_text(h, "https", 5) :
		    add_text(h, "http", 4)) && end_field(h);
	if (ok && fwd->port && (on & KK_FORWARD_XFPORT) && !(have & KK_FORWARD_XFPORT))
		ok = add_field(h, "X-Forwarded-Port: ", 18) &&
		    add_text(h, fwd->port, strlen(fwd->port)) && end_field(h);
	if (ok && h->authority.len && (on & KK_FORWARD_XFHOST) && !(have & KK_FORWARD_XFHOST))
		ok = add_field(h, "X-Forwarded-Host: ", 18) &&
		    add_text(h, fl->base + h->authority.off, h->authority.len) && end_field(h);
	if (ok && (on & KK_FORWARD_FORWARDED)) {
		for (i = 0; i < fl->n; i++)
			if (fl->f[i].id == KK_FLD_FORWARDED)
				fl->f[i].fwd = 0;
		ok = add_forwarded(h, fwd);
	}
	if (ok && fwd->reqidlen)
		ok = add_reqid(h, fwd, theirs);
	if (ok && fwd->cert == KK_FWD_CERT_VERIFIED)
		ok = add_field(h, "X-Client-Cert-Subject: ", 23) &&
		    add_text(h, fwd->subject, strlen(fwd->subject)) && end_field(h);
	if (ok && fwd->cert)
		ok = add_field(h, "X-Client-Cert-Verified: ", 24) &&
		    (fwd->cert == KK_FWD_CERT_VERIFIED ? add_text(h, "SUCCESS", 7) :
		    add_text(h, "NONE", 4)) && end_field(h);
	return ok;
}

int
kk_head_add(kk_reqhead *h, const char *name, uint32_t nlen, const char *value,
    uint32_t vlen)
{
	kk_field *f;
	if (h->nadd == KK_HEAD_MAXADD || KK_HEAD_ADDMAX - h->textlen < nlen + vlen + 4)
		return 0;
	f = &h->add[h->nadd++];
	f->name.off = h->textlen;
	f->name.len = nlen;
	f->value.off = h->textlen + nlen + 2;
	f->value.len = vlen;
	f->id = KK_FLD_OTHER;
	f->fwd = 1;
	return add_text(h, name, nlen) && add_text(h, ": ", 2) && add_text(h, value, vlen)
	    && add_text(h, "\r\n", 2);
}

void
kk_head_forward_response(kk_resphead *h)
{
	kk_fields *fl = &h->fl;
	unsigned i, conn = 0;
	int body_unknown = h->body == KK_BODY_UNKNOWN;
	for (i = 0; i < fl->n; i++) {
		kk_field *f = &fl->f[i];
		f->fwd = (unsigned char)passes(f, h->flags, body_unknown);
		conn |= f->id == KK_FLD_CONNECTION;
	}
	if (conn)
		drop_named(fl);
}

void
kk_head_forward_trailers(kk_fields *fl)
{
	unsigned i;
	for (i = 0; i < fl->n; i++)
		fl->f[i].fwd = fl->f[i].id == KK_FLD_OTHER;
}

/* What a host byte becomes: lower case for a letter, itself for a
 * digit, '-', '.', '_' and an IP literal's '[', ']', ':'; 0 for any
 * other (RFC 3986 §3.2.2, reg-name without percent-escapes). */
static unsigned char hostc[256];

static void
hostc_init(void)
{
	const char *other = "-._[]:";
	int c;
	for (c = 'a'; c <= 'z'; c++)
		hostc[c] = hostc[c - 'a' + 'A'] = (unsigned char)c;
	for (c = '0'; c <= '9'; c++)
		hostc[c] = (unsigned char)c;
	for (; *other; other++)
		hostc[(unsigned char)*other] = (unsigned char)*other;
}

int
kk_head_set_host(kk_reqhead *h, const char *s, size_t n)
{
	size_t i, end = n;
	unsigned bad = 0;
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
	if (end >= KK_HEAD_HOSTMAX)
		return 0;
	if (!hostc['a'])
		hostc_init();
	for (i = 0; i < end; i++) {
		unsigned char c = hostc[(unsigned char)s[i]];
		bad |= !c;
		h->host[i] = (char)c;
	}
	if (bad)
		return 0;
	h->host[end] = 0;
	h->hostlen = (uint32_t)end;
	return 1;
}

/* Whether h passes --max-headers or --max-request-head, counted as the
 * head would be sent in HTTP/1.1: "METHOD SP target SP HTTP/1.1 CRLF",
 * the final CRLF, and each "name: value CRLF"; 64-bit, so no sum of
 * 32-bit spans wraps. An authority that no Host field carries (HTTP/2's
 * :authority) counts as the Host field HTTP/1.1 would carry it in. */
static int
head_too_large(const kk_reqhead *h, const kk_limits *m)
{
	uint64_t size = h->method.len + 1 + h->path.len + 11 + 2;
	unsigned long n = h->fl.n;
	int host = 0;
	for (unsigned i = 0; i < h->fl.n; i++) {
		size += (uint64_t)h->fl.f[i].name.len + h->fl.f[i].value.len + 4;
		host |= h->fl.f[i].id == KK_FLD_HOST;
	}
	if (!host && h->authority.len) {
		size += 8 + (uint64_t)h->authority.len;
		n++;
	}
	return (m->fields && n > m->fields) || (m->head && size > m->head);
}

int
kk_head_limits(const kk_reqhead *h, const kk_limits *m)
{
	if (m->uri && h->path.len > m->uri)
		return 414;
	/* Every request passes here: the walk over the fields is paid only
	 * on a listener that limits them. */
	if ((m->fields || m->head) && head_too_large(h, m))
		return 431;
	if (m->body && h->body == KK_BODY_LENGTH && h->clen > m->body)
		return 413;
	return 0;
}

const char *
kk_answer_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 410: return "Gone";
	case 429: return "Too Many Requests";
	case 451: return "Unavailable For Legal Reasons";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 421: return "Misdirected Request";
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
kk_answer_body(int status, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%d %s\n", status, kk_answer_reason(status));
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
