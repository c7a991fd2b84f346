/* ISC license. */
/* HTTP/2 header blocks: the received block's storage, its validation
 * (RFC 9113 §8.1, §8.2, §8.3) into neutral heads, and neutral heads
 * written as HTTP/2 fields. A stored field is its name and value lengths
 * (4 bytes each) then the bytes of both, so that a block's spans point
 * into its own buffer and nothing is copied again for the h1 backend. */
#include <string.h>
#include <strings.h>
#include "h2head.h"
#include "reqid.h"

#define FIELD_HEAD 8

int
kk_h2head_add(kk_buf *blk, const char *name, size_t nlen, const char *value, size_t vlen)
{
	uint32_t l[2];
	if (kk_buf_room(blk) < FIELD_HEAD + nlen + vlen)
		return 0;
	l[0] = (uint32_t)nlen;
	l[1] = (uint32_t)vlen;
	memcpy(kk_buf_tail(blk), l, FIELD_HEAD);
	memcpy(kk_buf_tail(blk) + FIELD_HEAD, name, nlen);
	memcpy(kk_buf_tail(blk) + FIELD_HEAD + nlen, value, vlen);
	blk->len += (uint32_t)(FIELD_HEAD + nlen + vlen);
	return 1;
}

int
kk_h2head_add_all(kk_buf *blk, const kk_h2field *f, int n)
{
	int i;
	for (i = 0; i < n; i++)
		if (!kk_h2head_add(blk, f[i].name, f[i].namelen, f[i].value, f[i].valuelen))
			return 0;
	return 1;
}

/* Appends a field to fl, which has room (the caller checked). */
static void
push_field(kk_fields *fl, kk_span name, kk_span value, int id)
{
	kk_field *f = &fl->f[fl->n++];
	f->name = name;
	f->value = value;
	f->id = (unsigned char)id;
	f->fwd = 0;
}

int
kk_h2head_next(const kk_buf *blk, uint32_t *pos, kk_span *name, kk_span *value)
{
	uint32_t l[2], end = blk->off + blk->len;
	if (*pos < blk->off)
		*pos = blk->off;
	if (end - *pos < FIELD_HEAD)
		return 0;
	memcpy(l, blk->data + *pos, FIELD_HEAD);
	name->off = *pos + FIELD_HEAD;
	name->len = l[0];
	value->off = name->off + l[0];
	value->len = l[1];
	*pos = value->off + l[1];
	return 1;
}

/* A field name as HTTP/2 carries it: a token in lower case (§8.2.1). */
static int
good_name(const char *s, uint32_t n)
{
	static const char other[] = "!#$%&'*+-.^_`|~";
	uint32_t i;
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr(other, c))))
			return 0;
	}
	return 1;
}

/* A value with no NUL, CR or LF, nor white space at either end (§8.2.1):
 * what an h1 backend would read differently is refused here. */
static int
good_value(const char *s, uint32_t n)
{
	uint32_t i;
	if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == 0 || s[i] == '\r' || s[i] == '\n')
			return 0;
	return 1;
}

static int
is(const char *base, kk_span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && !memcmp(base + s.off, lit, n);
}

/* A regular field's checks, request and trailers alike; its id in *id. */
static int
check_field(const char *base, kk_span name, kk_span value, int *id)
{
	if (!good_name(base + name.off, name.len))
		return KK_H2HEAD_E_NAME;
	if (!good_value(base + value.off, value.len))
		return KK_H2HEAD_E_VALUE;
	*id = kk_field_id(base + name.off, name.len);
	switch (*id) {
	case KK_FLD_CONNECTION:
	case KK_FLD_TRANSFER_ENCODING:
	case KK_FLD_UPGRADE:
		return KK_H2HEAD_E_CONNECTION;
	case KK_FLD_HOP:
		/* TE is the one that may appear, as "trailers" only. */
		if (!is(base, name, "te"))
			return KK_H2HEAD_E_CONNECTION;
		if (value.len != 8 || strncasecmp(base + value.off, "trailers", 8))
			return KK_H2HEAD_E_TE;
		return KK_H2HEAD_OK;
	case KK_FLD_LOOKALIKE:
		return KK_H2HEAD_E_LOOKALIKE;
	}
	return KK_H2HEAD_OK;
}

/* A content-length value: digits only; repeated, the same number. */
static int
scan_length(const char *s, uint32_t n, uint64_t *v)
{
	uint64_t x = 0;
	uint32_t i;
	if (!n || n > 19)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 1;
}

enum { P_METHOD, P_SCHEME, P_AUTHORITY, P_PATH, P_PROTOCOL, P_COUNT };

static int
pseudo_of(const char *base, kk_span name)
{
	static const char *const names[P_COUNT] = { ":method", ":scheme", ":authority", ":path",
		":protocol" };
	int i;
	for (i = 0; i < P_COUNT; i++)
		if (is(base, name, names[i]))
			return i;
	return -1;
}

/* Joins the cookie fields (spans in c, n of them) into one value at the
 * tail of blk, "; " between them (§8.2.3). 1 done, 0 no room. */
static int
join_cookies(kk_buf *blk, const kk_field *c, unsigned n, kk_span *joined)
{
	unsigned i;
	size_t need = 0;
	for (i = 0; i < n; i++)
		need += c[i].value.len + 2;
	if (kk_buf_room(blk) < need)
		return 0;
	joined->off = blk->off + blk->len;
	for (i = 0; i < n; i++) {
		if (i) {
			memcpy(kk_buf_tail(blk), "; ", 2);
			blk->len += 2;
		}
		memcpy(kk_buf_tail(blk), blk->data + c[i].value.off, c[i].value.len);
		blk->len += c[i].value.len;
	}
	joined->len = blk->off + blk->len - joined->off;
	return 1;
}

/* The checks of the pseudo-headers once all are known (§8.3.1). */
static int
check_request(kk_reqhead *h, const kk_span *p, const int *seen, const kk_span *host)
{
	const char *base = h->fl.base, *path = base + p[P_PATH].off;
	if (!seen[P_METHOD])
		return KK_H2HEAD_E_PSEUDO;
	/* CONNECT only as the extended CONNECT of WebSocket (RFC 8441 §4):
	 * with :protocol, :scheme, :path and :authority. */
	if (is(base, p[P_METHOD], "CONNECT")) {
		if (!seen[P_PROTOCOL] || p[P_PROTOCOL].len != 9 ||
		    strncasecmp(base + p[P_PROTOCOL].off, "websocket", 9))
			return KK_H2HEAD_E_METHOD;
		if (!seen[P_AUTHORITY])
			return KK_H2HEAD_E_PSEUDO;
	} else if (seen[P_PROTOCOL])
		return KK_H2HEAD_E_PSEUDO;
	if (!seen[P_SCHEME] || !seen[P_PATH] || !p[P_SCHEME].len)
		return KK_H2HEAD_E_PSEUDO;
	if (!p[P_PATH].len)
		return KK_H2HEAD_E_PATH;
	if (path[0] != '/' && !(p[P_PATH].len == 1 && path[0] == '*' &&
	    is(base, p[P_METHOD], "OPTIONS")))
		return KK_H2HEAD_E_PATH;
	h->method = p[P_METHOD];
	h->path = p[P_PATH];
	h->pathlen = p[P_PATH].len;
	{
		const char *q = memchr(path, '?', p[P_PATH].len);
		if (q)
			h->pathlen = (uint32_t)(q - path);
	}
	if (seen[P_AUTHORITY]) {
		/* The authority of an http(s) URI has no userinfo (RFC 9113
		 * §8.3.1); it is the Host the backend gets, a Host field the
		 * client also sent must name the same (§8.3.1). */
		if (!kk_head_set_host(h, base + p[P_AUTHORITY].off, p[P_AUTHORITY].len))
			return KK_H2HEAD_E_AUTHORITY;
		if (host->len && (host->len != p[P_AUTHORITY].len || strncasecmp(base + host->off,
		    base + p[P_AUTHORITY].off, host->len)))
			return KK_H2HEAD_E_AUTHORITY;
		h->authority = p[P_AUTHORITY];
		h->flags |= KK_HEAD_F_TARGET_AUTHORITY;
	} else if (host->len) {
		if (!kk_head_set_host(h, base + host->off, host->len))
			return KK_H2HEAD_E_AUTHORITY;
		h->authority = *host;
	}
	if (is(base, h->method, "HEAD"))
		h->flags |= KK_HEAD_F_HEAD;
	return KK_H2HEAD_OK;
}

/* An extended CONNECT for WebSocket as the HTTP/1.1 upgrade it stands
 * for (RFC 8441 §5): GET, Upgrade with the :protocol's value (the
 * writer adds Connection), and a Sec-WebSocket-Key of the proxy's, at
 * blk's tail; the client's other sec-websocket-* fields go as they are.
 * What follows the head is the tunnel's, not a body. */
static int
websocket(kk_reqhead *h, kk_buf *blk, kk_span protocol, int end_stream)
{
	static const char name[] = "sec-websocket-key";
	char id[KK_REQID_LEN];
	kk_span key;
	if (end_stream)
		return KK_H2HEAD_E_PSEUDO;	/* a tunnel with no way up */
	if (h->fl.n + 2 > KK_HEAD_MAXFIELDS)
		return KK_H2HEAD_E_TOO_MANY;
	if (kk_buf_room(blk) < 3 + sizeof name - 1 + 24)
		return KK_H2HEAD_E_TOO_LARGE;
	h->method.off = blk->off + blk->len;
	h->method.len = 3;
	memcpy(kk_buf_tail(blk), "GET", 3);
	blk->len += 3;
	/* The key is 16 bytes in base64: 21 hex digits of a request id
	 * (all base64 letters), a letter that ends the 16th byte, "==". */
	key.off = blk->off + blk->len;
	key.len = sizeof name - 1;
	memcpy(kk_buf_tail(blk), name, key.len);
	blk->len += key.len;
	push_field(&h->fl, key, key, KK_FLD_OTHER);
	h->fl.f[h->fl.n - 1].value.off = blk->off + blk->len;
	h->fl.f[h->fl.n - 1].value.len = 24;
	kk_reqid_next(id);
	memcpy(kk_buf_tail(blk), id, 21);
	memcpy(kk_buf_tail(blk) + 21, "A==", 3);
	blk->len += 24;
	push_field(&h->fl, protocol, protocol, KK_FLD_UPGRADE);
	h->flags |= KK_HEAD_F_UPGRADE | KK_HEAD_F_CONNECT_PROTOCOL;
	h->body = KK_BODY_NONE;
	return KK_H2HEAD_OK;
}

int
kk_h2head_request(kk_reqhead *h, kk_buf *blk, int end_stream, unsigned char scheme)
{
	const char *base = blk->data;
	kk_span name, value, p[P_COUNT], host = { 0, 0 };
	kk_field cookies[KK_HEAD_MAXFIELDS];
	int seen[P_COUNT] = { 0 }, regular = 0, has_cl = 0, e;
	unsigned ncookies = 0;
	uint32_t pos = 0;
	uint64_t cl = 0;
	memset(p, 0, sizeof p);
	h->fl.base = base;
	h->fl.n = 0;
	h->flags = 0;
	h->scheme = scheme;
	h->version = KK_VERSION_2;
	h->clen = 0;
	h->hostlen = 0;
	h->host[0] = 0;
	h->authority.off = h->authority.len = 0;
	h->nadd = 0;
	h->textlen = 0;
	while (kk_h2head_next(blk, &pos, &name, &value)) {
		int id;
		if (name.len && base[name.off] == ':') {
			int which = pseudo_of(base, name);
			/* Pseudo-headers come first, once each (§8.3). */
			if (regular || which < 0 || seen[which])
				return KK_H2HEAD_E_PSEUDO;
			if (!good_value(base + value.off, value.len))
				return KK_H2HEAD_E_VALUE;
			seen[which] = 1;
			p[which] = value;
			continue;
		}
		regular = 1;
		if ((e = check_field(base, name, value, &id)))
			return e;
		if (id == KK_FLD_CONTENT_LENGTH) {
			uint64_t v;
			if (!scan_length(base + value.off, value.len, &v) || (has_cl && v != cl))
				return KK_H2HEAD_E_CL;
			has_cl = 1;
			cl = v;
		} else if (id == KK_FLD_HOST) {
			if (host.len || !value.len)
				return KK_H2HEAD_E_AUTHORITY;
			host = value;
		} else if (is(base, name, "cookie")) {
			cookies[ncookies].name = name;
			cookies[ncookies++].value = value;
			continue;
		}
		if (h->fl.n + (ncookies != 0) >= KK_HEAD_MAXFIELDS)
			return KK_H2HEAD_E_TOO_MANY;
		push_field(&h->fl, name, value, id);
	}
	if ((e = check_request(h, p, seen, &host)))
		return e;
	if (seen[P_PROTOCOL])
		return websocket(h, blk, p[P_PROTOCOL], end_stream);
	if (ncookies) {
		kk_field *f;
		if (h->fl.n >= KK_HEAD_MAXFIELDS)
			return KK_H2HEAD_E_TOO_MANY;
		f = &h->fl.f[h->fl.n++];
		*f = cookies[0];
		f->id = KK_FLD_OTHER;
		f->fwd = 0;
		if (ncookies > 1 && !join_cookies(blk, cookies, ncookies, &f->value))
			return KK_H2HEAD_E_TOO_LARGE;
	}
	/* The body: none after END_STREAM (a content-length must then say
	 * 0, §8.1.1), a known length, or one only the end of the stream
	 * tells, which an h1 backend gets chunked, trailers and all. */
	if (end_stream) {
		if (cl)
			return KK_H2HEAD_E_CL;
		h->body = KK_BODY_NONE;
	} else if (has_cl) {
		h->body = KK_BODY_LENGTH;
		h->clen = cl;
	} else {
		h->body = KK_BODY_UNKNOWN;
		h->flags |= KK_HEAD_F_TRAILERS;
	}
	return KK_H2HEAD_OK;
}

int
kk_h2head_trailers(kk_fields *fl, const kk_buf *blk)
{
	const char *base = blk->data;
	kk_span name, value;
	uint32_t pos = 0;
	int e, id;
	fl->base = base;
	fl->n = 0;
	while (kk_h2head_next(blk, &pos, &name, &value)) {
		if (name.len && base[name.off] == ':')
			return KK_H2HEAD_E_PSEUDO;
		if ((e = check_field(base, name, value, &id)))
			return e;
		if (fl->n >= KK_HEAD_MAXFIELDS)
			return KK_H2HEAD_E_TOO_MANY;
		push_field(fl, name, value, id);
	}
	return KK_H2HEAD_OK;
}

const char *
kk_h2head_err_name(int err)
{
	static const char *const names[KK_H2HEAD_E_COUNT] = {
		"ok", "pseudo", "name", "value", "connection", "te", "authority", "path",
		"content-length", "lookalike", "too-many", "too-large", "method",
	};
	return err >= 0 && err < KK_H2HEAD_E_COUNT ? names[err] : "unknown";
}

int
kk_h2head_err_status(int err)
{
	switch (err) {
	case KK_H2HEAD_E_TOO_MANY:
	case KK_H2HEAD_E_TOO_LARGE:
		return 431;
	case KK_H2HEAD_E_METHOD:
		return 501;
	default:
		return 0;
	}
}

/* The writer's state: fields out, their text in one buffer. */
typedef struct wfields wfields;
struct wfields {
	kk_h2field *out;
	unsigned n, max;
	char *text;
	size_t len, cap;
	int full;
};

/* Adds a field; name is lowered into the text when lower is set. */
static void
put_field(wfields *w, const char *name, size_t nlen, const char *value, size_t vlen,
    int lower)
{
	kk_h2field *f;
	size_t i;
	if (w->n == w->max || w->cap - w->len < nlen) {
		w->full = 1;
		return;
	}
	f = &w->out[w->n++];
	f->name = name;
	if (lower) {
		char *t = w->text + w->len;
		for (i = 0; i < nlen; i++) {
			unsigned char c = (unsigned char)name[i];
			t[i] = (char)(c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c);
		}
		f->name = t;
		w->len += nlen;
	}
	f->namelen = nlen;
	f->value = value;
	f->valuelen = vlen;
}

/* Text of its own for a value (a number the writer makes). */
static const char *
put_text(wfields *w, const char *s, size_t n)
{
	char *t = w->text + w->len;
	if (w->cap - w->len < n) {
		w->full = 1;
		return "";
	}
	memcpy(t, s, n);
	w->len += n;
	return t;
}

static void
put_kept(wfields *w, const kk_fields *fl)
{
	unsigned i;
	for (i = 0; i < fl->n; i++) {
		const kk_field *f = &fl->f[i];
		if (f->fwd)
			put_field(w, fl->base + f->name.off, f->name.len, fl->base + f->value.off,
			    f->value.len, 1);
	}
}

int
kk_h2head_response(const kk_resphead *h, kk_h2field *out, unsigned max, char *text,
    size_t cap)
{
	wfields w = { out, 0, max, text, 0, cap, 0 };
	char st[3], num[24];
	unsigned code = h->status % 1000;
	const char *v;
	st[0] = (char)('0' + code / 100);
	st[1] = (char)('0' + code / 10 % 10);
	st[2] = (char)('0' + code % 10);
	v = put_text(&w, st, 3);
	put_field(&w, ":status", 7, v, 3, 0);
	put_kept(&w, &h->fl);
	for (unsigned i = 0; i < h->nadd; i++) {
		const kk_field *f = &h->add[i];
		if (f->fwd)
			put_field(&w, h->abase + f->name.off, f->name.len, h->abase + f->value.off,
			    f->value.len, 1);
	}
	if (h->status >= 200 && (h->body == KK_BODY_LENGTH ||
	    (h->clen && h->body == KK_BODY_NONE && h->status != 204))) {
		int n = 0;
		uint64_t x = h->clen;
		char *e = num + sizeof num;
		do {
			*--e = (char)('0' + x % 10);
			x /= 10;
			n++;
		} while (x);
		v = put_text(&w, e, (size_t)n);
		put_field(&w, "content-length", 14, v, (size_t)n, 0);
	}
	if (h->status >= 200 && h->set_cookie)
		put_field(&w, "set-cookie", 10, h->set_cookie, strlen(h->set_cookie), 0);
	return w.full ? -1 : (int)w.n;
}

int
kk_h2head_fields(const kk_fields *fl, kk_h2field *out, unsigned max, char *text, size_t cap)
{
	wfields w = { out, 0, max, text, 0, cap, 0 };
	put_kept(&w, fl);
	return w.full ? -1 : (int)w.n;
}

/* Whether a TE field lists "trailers": HTTP/2's sole value, one of the
 * tokens of an HTTP/1.1 list ("trailers, deflate;q=0.5"). */
static int
wants_trailers(const kk_fields *fl)
{
	unsigned i;
	for (i = 0; i < fl->n; i++) {
		const kk_field *f = &fl->f[i];
		const char *p, *e;
		if (f->id != KK_FLD_HOP || f->name.len != 2 ||
		    strncasecmp(fl->base + f->name.off, "te", 2))
			continue;
		p = fl->base + f->value.off;
		e = p + f->value.len;
		while (p < e) {
			const char *t;
			while (p < e && (*p == ' ' || *p == '\t' || *p == ','))
				p++;
			t = p;
			while (p < e && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
				p++;
			if (p - t == 8 && !strncasecmp(t, "trailers", 8))
				return 1;
			while (p < e && *p != ',')
				p++;
		}
	}
	return 0;
}

int
kk_h2head_request_fields(const kk_reqhead *h, const char *scheme, const char *origin,
    kk_h2field *out, unsigned max, char *text, size_t cap)
{
	wfields w = { out, 0, max, text, 0, cap, 0 };
	const char *base = h->fl.base;
	unsigned i;
	put_field(&w, ":method", 7, base + h->method.off, h->method.len, 0);
	put_field(&w, ":scheme", 7, scheme, strlen(scheme), 0);
	/* The authority goes as :authority, never as Host (§8.3.1). */
	if (h->authority.len)
		put_field(&w, ":authority", 10, base + h->authority.off, h->authority.len, 0);
	else
		put_field(&w, ":authority", 10, origin, strlen(origin), 0);
	put_field(&w, ":path", 5, base + h->path.off, h->path.len, 0);
	/* kk_head_forward dropped the hop-by-hop fields, which are the
	 * connection-specific ones of §8.2.2, and the Upgrade of an h1
	 * upgrade: nothing here can switch protocols. */
	for (i = 0; i < h->fl.n; i++) {
		const kk_field *f = &h->fl.f[i];
		if (f->fwd && f->id != KK_FLD_HOST)
			put_field(&w, base + f->name.off, f->name.len, base + f->value.off,
			    f->value.len, 1);
	}
	for (i = 0; i < h->nadd; i++)
		put_field(&w, h->text + h->add[i].name.off, h->add[i].name.len,
		    h->text + h->add[i].value.off, h->add[i].value.len, 1);
	/* TE is hop-by-hop, dropped above; but a client that takes trailers
	 * says so again for this hop, which gRPC servers require (§8.2.2). */
	if (wants_trailers(&h->fl))
		put_field(&w, "te", 2, "trailers", 8, 0);
	if (h->body == KK_BODY_LENGTH) {
		char num[24], *e = num + sizeof num;
		uint64_t x = h->clen;
		size_t n = 0;
		const char *v;
		do {
			*--e = (char)('0' + x % 10);
			x /= 10;
			n++;
		} while (x);
		v = put_text(&w, e, n);
		put_field(&w, "content-length", 14, v, n, 0);
	}
	return w.full ? -1 : (int)w.n;
}

int
kk_h2head_response_in(kk_resphead *h, const kk_buf *blk, int end_stream, int head_req)
{
	const char *base = blk->data;
	kk_span name, value;
	uint32_t pos = 0;
	uint64_t cl = 0;
	int status = 0, has_cl = 0;
	h->fl.base = base;
	h->fl.n = 0;
	h->flags = 0;
	h->reason.off = h->reason.len = 0;
	h->clen = 0;
	while (kk_h2head_next(blk, &pos, &name, &value)) {
		int id;
		if (name.len && base[name.off] == ':') {
			const char *v = base + value.off;
			/* :status alone, first, three digits (§8.3.2). */
			if (status || h->fl.n || !is(base, name, ":status") || value.len != 3 ||
			    v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' || v[2] < '0' ||
			    v[2] > '9')
				return KK_H2HEAD_E_PSEUDO;
			status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
			continue;
		}
		if (!status)
			return KK_H2HEAD_E_PSEUDO;
		if (!good_name(base + name.off, name.len))
			return KK_H2HEAD_E_NAME;
		if (!good_value(base + value.off, value.len))
			return KK_H2HEAD_E_VALUE;
		id = kk_field_id(base + name.off, name.len);
		switch (id) {
		case KK_FLD_CONNECTION:
		case KK_FLD_TRANSFER_ENCODING:
		case KK_FLD_UPGRADE:
		case KK_FLD_HOP:
			return KK_H2HEAD_E_CONNECTION;
		case KK_FLD_CONTENT_LENGTH: {
			uint64_t v;
			if (!scan_length(base + value.off, value.len, &v) || (has_cl && v != cl))
				return KK_H2HEAD_E_CL;
			has_cl = 1;
			cl = v;
			break;
		}
		}
		/* The request fields the proxy acts on are ordinary in a
		 * response (head.h). */
		if (id >= KK_FLD_HOST)
			id = KK_FLD_OTHER;
		if (h->fl.n >= KK_HEAD_MAXFIELDS)
			return KK_H2HEAD_E_TOO_MANY;
		push_field(&h->fl, name, value, id);
	}
	if (!status)
		return KK_H2HEAD_E_PSEUDO;
	h->status = (unsigned short)status;
	/* No body for a 1xx, 204 or 304 or an answer to HEAD: the length
	 * they announce is the representation's (RFC 9110 §8.6). A block
	 * that ended the stream has an empty body, which an h1 client must
	 * be told (Content-Length: 0). Otherwise a known length, or one the
	 * end of the stream tells: then trailers may follow, and an h1
	 * client gets the body chunked. */
	h->clen = cl;
	if (status < 200 || status == 204 || status == 304 || head_req) {
		h->body = KK_BODY_NONE;
		if (status < 200 || status == 204)
			h->clen = 0;
	} else if (end_stream) {
		if (cl)
			return KK_H2HEAD_E_CL;
		h->body = KK_BODY_LENGTH;
	} else if (has_cl) {
		h->body = KK_BODY_LENGTH;
		h->flags |= KK_HEAD_F_TRAILERS;
	} else {
		h->body = KK_BODY_UNKNOWN;
		h->flags |= KK_HEAD_F_TRAILERS;
	}
	return KK_H2HEAD_OK;
}
