/* ISC license. */
/* The forwarding rules of HTTP on neutral heads: which fields a proxy
 * acts on, which are hop-by-hop, what it adds. Protocol syntax (h1.c) is
 * elsewhere: a parser names each field with kk_field_id, these rules
 * decide what goes on, a writer writes what they kept. */
#include <string.h>
#include <strings.h>
#include "head.h"

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
 * NULL) the name is: KK_FLD_LOOKALIKE for a look-alike, else OTHER. */
static int
pick(const char *s, uint32_t n, const char *a, int ida, const char *b, int idb)
{
	int m = name_cmp(s, a, n);
	if (!m && b && (m = name_cmp(s, b, n)))
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
	case 10: return pick(s, n, "connection", KK_FLD_CONNECTION, "keep-alive", KK_FLD_HOP);
	case 14:
		/* HTTP2-Settings goes only with an h2c upgrade, never forwarded
		 * (RFC 9113 §3.1 leaves h2c to the client's own hop). */
		return pick(s, n, "content-length", KK_FLD_CONTENT_LENGTH, "http2-settings",
		    KK_FLD_HOP);
	case 15: return pick(s, n, "x-forwarded-for", KK_FLD_XFF, NULL, 0);
	case 16:
		return pick(s, n, "proxy-connection", KK_FLD_HOP, "x-forwarded-port",
		    KK_FLD_XF_OTHER);
	case 17:
		return pick(s, n, "transfer-encoding", KK_FLD_TRANSFER_ENCODING,
		    "x-forwarded-proto", KK_FLD_XF_OTHER);
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

static int
add_text(kk_reqhead *h, const char *s, size_t n)
{
	if (KK_HEAD_ADDMAX - h->textlen < n)
		return 0;
	memcpy(h->text + h->textlen, s, n);
	h->textlen += (uint32_t)n;
	return 1;
}

/* Starts an added field named name; its value is what add_text appends
 * until the next one. */
static int
add_field(kk_reqhead *h, const char *name, size_t n)
{
	kk_field *f = &h->add[h->nadd++];
	f->name.off = h->textlen;
	f->name.len = (uint32_t)n;
	f->id = KK_FLD_OTHER;
	f->fwd = 1;
	if (!add_text(h, name, n))
		return 0;
	f->value.off = h->textlen;
	f->value.len = 0;
	return 1;
}

static void
end_field(kk_reqhead *h)
{
	kk_field *f = &h->add[h->nadd - 1];
	f->value.len = h->textlen - f->value.off;
}

int
kk_head_forward(kk_reqhead *h, const kk_fwd *fwd)
{
	kk_fields *fl = &h->fl;
	unsigned i;
	int host = !(h->flags & KK_HEAD_F_TARGET_AUTHORITY), xff = 0, ok;
	h->flags &= ~KK_HEAD_F_HOST_FIELD;
	for (i = 0; i < fl->n; i++) {
		kk_field *f = &fl->f[i];
		f->fwd = (unsigned char)passes(f, h->flags, h->body == KK_BODY_UNKNOWN);
		/* Host goes on unless an absolute-form target replaced it
		 * (RFC 9112 §3.2.2): then the writer sends the authority. */
		if (f->id == KK_FLD_HOST && host) {
			f->fwd = 1;
			h->flags |= KK_HEAD_F_HOST_FIELD;
		}
	}
	if (fl->n)
		drop_named(fl);
	/* One X-Forwarded-For: the client's list, then this hop; ours
	 * replace the client's X-Forwarded-Proto and -Port. */
	h->nadd = 0;
	h->textlen = 0;
	ok = add_field(h, "X-Forwarded-For", 15);
	for (i = 0; ok && i < fl->n; i++) {
		const kk_field *f = &fl->f[i];
		if (f->id != KK_FLD_XFF || !f->value.len)
			continue;
		if (xff++)
			ok = add_text(h, ", ", 2);
		ok = ok && add_text(h, fl->base + f->value.off, f->value.len);
	}
	if (ok && xff)
		ok = add_text(h, ", ", 2);
	ok = ok && add_text(h, fwd->client, strlen(fwd->client));
	end_field(h);
	ok = ok && add_field(h, "X-Forwarded-Proto", 17);
	ok = ok && (h->scheme == KK_SCHEME_HTTPS ? add_text(h, "https", 5) :
	    add_text(h, "http", 4));
	end_field(h);
	if (ok && fwd->port) {
		ok = add_field(h, "X-Forwarded-Port", 16) &&
		    add_text(h, fwd->port, strlen(fwd->port));
		end_field(h);
	}
	return ok;
}

void
kk_head_forward_response(kk_resphead *h)
{
	kk_fields *fl = &h->fl;
	unsigned i;
	for (i = 0; i < fl->n; i++) {
		kk_field *f = &fl->f[i];
		f->fwd = (unsigned char)passes(f, h->flags, h->body == KK_BODY_UNKNOWN);
	}
	if (fl->n)
		drop_named(fl);
}

void
kk_head_forward_trailers(kk_fields *fl)
{
	unsigned i;
	for (i = 0; i < fl->n; i++)
		fl->f[i].fwd = fl->f[i].id == KK_FLD_OTHER;
}
