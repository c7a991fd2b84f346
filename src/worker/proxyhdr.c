/* ISC license. */
/* PROXY protocol headers (HAProxy's proxy-protocol.txt, versions 1 and 2):
 * the strict parser for what a load balancer sends before a client's
 * bytes and the builder for what kakehi sends to a backend. Deadlines and
 * counting belong to the caller; nothing here reads past the bytes given. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include "proxyhdr.h"

/* Spec §2.2: the twelve bytes that open every v2 header. They contain a
 * NUL and "QUIT\n", so no HTTP, TLS or v1 stream can start with them. */
static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1sig[6] = "PROXY ";

int
kk_proxyhdr_detect(const void *p, size_t len)
{
	const unsigned char *b = p;
	if (!len)
		return 0;
	if (b[0] == 'P') {
		size_t n = len < sizeof v1sig ? len : sizeof v1sig;
		if (memcmp(b, v1sig, n))
			return -1;
		return n == sizeof v1sig ? 1 : 0;
	}
	if (b[0] == v2sig[0]) {
		size_t n = len < sizeof v2sig ? len : sizeof v2sig;
		if (memcmp(b, v2sig, n))
			return -1;
		return n == sizeof v2sig ? 2 : 0;
	}
	return -1;
}

static int
fail(kk_proxyhdr *h, int err)
{
	h->err = (unsigned char)err;
	return KK_PROXYHDR_ERROR;
}

/* Version 1: one line of text. The line is walked token by token over
 * the bytes present, so a header that cannot become valid is refused
 * before its CRLF arrives, and a slow one costs at most 107 bytes. */
typedef struct v1cur v1cur;
struct v1cur {
	const unsigned char *p;
	size_t n;		/* bytes that may be looked at: min(len, limit) */
	size_t limit;		/* the line's bound: 107, or less if max says so */
	size_t len;		/* bytes present */
	size_t pos;
};

/* What running out of bytes means: wait for more, unless the line's bound
 * is already reached. */
static int
v1_out(kk_proxyhdr *h, const v1cur *c)
{
	if (c->len < c->limit)
		return KK_PROXYHDR_MORE;
	return fail(h, c->limit < KK_PROXYHDR_V1_MAX ? KK_PROXYHDR_E_TOO_LARGE
	    : KK_PROXYHDR_E_V1_LONG);
}

static int
is_proto(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int
is_ip4(int c)
{
	return (c >= '0' && c <= '9') || c == '.';
}

static int
is_ip6(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	    c == ':' || c == '.';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Skips the run of bytes of a class from c->pos; returns its length. */
static size_t
v1_run(v1cur *c, int (*cls)(int))
{
	size_t start = c->pos;
	while (c->pos < c->n && cls(c->p[c->pos]))
		c->pos++;
	return c->pos - start;
}

/* The error for a byte that ends a field where sep was expected: a lone
 * LF is a framing error, a CR or space out of place a syntax error, any
 * other byte belongs to the field itself and makes it invalid. */
static int
v1_badsep(kk_proxyhdr *h, int c, int field_err)
{
	if (c == '\n')
		return fail(h, KK_PROXYHDR_E_V1_CRLF);
	if (c == '\r' || c == ' ')
		return fail(h, KK_PROXYHDR_E_V1_SYNTAX);
	return fail(h, field_err);
}

/* A dotted quad, strictly: four decimal parts 0..255, no leading zero
 * (an octal reading elsewhere would name another host). */
static int
parse_ip4(const unsigned char *s, size_t n, struct in_addr *out)
{
	unsigned char a[4];
	size_t i = 0;
	unsigned part;
	for (part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;
		if (part) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		while (i < n && is_digit(s[i]) && digits < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
			i++;
		}
		if (!digits || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return 0;
		a[part] = (unsigned char)v;
	}
	if (i != n)
		return 0;
	memcpy(out, a, 4);
	return 1;
}

/* IPv6 text: inet_pton reads it (RFC 4291 §2.2 forms, an IPv4 tail
 * checked as strictly as parse_ip4), from a bounded NUL-terminated copy. */
static int
parse_ip6(const unsigned char *s, size_t n, struct in6_addr *out)
{
	char tmp[INET6_ADDRSTRLEN];
	if (n >= sizeof tmp)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	return inet_pton(AF_INET6, tmp, out) == 1;
}

/* A port: 0..65535 in decimal, "0" the only form starting with 0. */
static int
parse_port(const unsigned char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;
	if (!n || n > 5 || (n > 1 && s[0] == '0'))
		return 0;
	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v > 65535)
		return 0;
	*out = (uint16_t)v;
	return 1;
}

/* Expects CR LF at c->pos. */
static int
v1_crlf(kk_proxyhdr *h, v1cur *c)
{
	if (c->pos >= c->n)
		return v1_out(h, c);
	if (c->p[c->pos] != '\r')
		return v1_badsep(h, c->p[c->pos], KK_PROXYHDR_E_V1_SYNTAX);
	if (++c->pos >= c->n)
		return v1_out(h, c);
	if (c->p[c->pos] != '\n')
		return fail(h, KK_PROXYHDR_E_V1_CRLF);
	c->pos++;
	h->len = (uint32_t)c->pos;
	return KK_PROXYHDR_DONE;
}

/* "UNKNOWN", then CRLF or a space and anything up to CRLF, which the spec
 * says to ignore; the connection keeps its own addresses. */
static int
v1_unknown(kk_proxyhdr *h, v1cur *c)
{
	if (c->pos < c->n && c->p[c->pos] == ' ') {
		while (++c->pos < c->n && c->p[c->pos] != '\r')
			if (c->p[c->pos] == '\n')
				return fail(h, KK_PROXYHDR_E_V1_CRLF);
	}
	return v1_crlf(h, c);
}

/* The four fields of TCP4 and TCP6: src SP dst SP sport SP dport. */
static int
v1_tcp(kk_proxyhdr *h, v1cur *c, int family)
{
	const unsigned char *tok[4];
	size_t toklen[4];
	uint16_t port[2];
	int (*cls)(int) = family == AF_INET ? is_ip4 : is_ip6;
	size_t addrmax = family == AF_INET ? 15 : INET6_ADDRSTRLEN - 1;
	unsigned i;
	for (i = 0; i < 4; i++) {
		size_t start = c->pos;
		int err = i < 2 ? KK_PROXYHDR_E_V1_ADDR : KK_PROXYHDR_E_V1_PORT;
		toklen[i] = v1_run(c, i < 2 ? cls : is_digit);
		tok[i] = c->p + start;
		/* Bounds and leading zeros can be judged before the field ends. */
		if (toklen[i] > (i < 2 ? addrmax : 5) ||
		    (i >= 2 && toklen[i] > 1 && tok[i][0] == '0'))
			return fail(h, err);
		if (c->pos >= c->n)
			return v1_out(h, c);
		if (!toklen[i])
			return v1_badsep(h, c->p[c->pos], err);
		if (i == 3)
			break;
		if (c->p[c->pos] != ' ')
			return v1_badsep(h, c->p[c->pos], err);
		c->pos++;
	}
	if (c->p[c->pos] != '\r')
		return v1_badsep(h, c->p[c->pos], KK_PROXYHDR_E_V1_PORT);
	if (!parse_port(tok[2], toklen[2], &port[0]) || !parse_port(tok[3], toklen[3], &port[1]))
		return fail(h, KK_PROXYHDR_E_V1_PORT);
	memset(&h->src, 0, sizeof h->src);
	memset(&h->dst, 0, sizeof h->dst);
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&h->src.ss;
		struct sockaddr_in *d = (struct sockaddr_in *)&h->dst.ss;
		if (!parse_ip4(tok[0], toklen[0], &s->sin_addr) ||
		    !parse_ip4(tok[1], toklen[1], &d->sin_addr))
			return fail(h, KK_PROXYHDR_E_V1_ADDR);
		s->sin_family = d->sin_family = AF_INET;
		s->sin_port = htons(port[0]);
		d->sin_port = htons(port[1]);
		h->src.len = h->dst.len = sizeof *s;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&h->src.ss;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&h->dst.ss;
		if (!parse_ip6(tok[0], toklen[0], &s->sin6_addr) ||
		    !parse_ip6(tok[1], toklen[1], &d->sin6_addr))
			return fail(h, KK_PROXYHDR_E_V1_ADDR);
		s->sin6_family = d->sin6_family = AF_INET6;
		s->sin6_port = htons(port[0]);
		d->sin6_port = htons(port[1]);
		h->src.len = h->dst.len = sizeof *s;
	}
	h->transport = KK_PROXYHDR_T_STREAM;
	return v1_crlf(h, c);
}

static int
parse_v1(kk_proxyhdr *h, const unsigned char *p, size_t len, size_t max)
{
	static const char *const protos[3] = { "TCP4", "TCP6", "UNKNOWN" };
	v1cur c;
	size_t plen, i;
	c.p = p;
	c.len = len;
	c.limit = max < KK_PROXYHDR_V1_MAX ? max : KK_PROXYHDR_V1_MAX;
	c.n = len < c.limit ? len : c.limit;
	c.pos = sizeof v1sig;
	h->version = 1;
	h->command = KK_PROXYHDR_PROXY;
	plen = v1_run(&c, is_proto);
	for (i = 0; i < 3; i++)
		if (plen <= strlen(protos[i]) && !memcmp(p + sizeof v1sig, protos[i], plen))
			break;
	if (i == 3)
		return fail(h, KK_PROXYHDR_E_V1_PROTO);
	if (c.pos >= c.n)
		return v1_out(h, &c);
	if (plen != strlen(protos[i]))
		return v1_badsep(h, p[c.pos], KK_PROXYHDR_E_V1_PROTO);
	if (i == 2)
		return v1_unknown(h, &c);
	if (p[c.pos] != ' ')
		return v1_badsep(h, p[c.pos], KK_PROXYHDR_E_V1_PROTO);
	c.pos++;
	return v1_tcp(h, &c, i == 0 ? AF_INET : AF_INET6);
}

/* Version 2: a fixed part, then an address block whose size the family
 * fixes, then TLVs (spec §2.2.7), each type, 16-bit length, value. */
static uint16_t
be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int
check_tlvs(const unsigned char *p, size_t n)
{
	while (n) {
		size_t vlen;
		if (n < 3)
			return 0;
		vlen = be16(p + 1);
		if (vlen > n - 3)
			return 0;
		p += 3 + vlen;
		n -= 3 + vlen;
	}
	return 1;
}

static int
parse_v2(kk_proxyhdr *h, const unsigned char *p, size_t len, size_t max)
{
	size_t total, need, cap = max < KK_PROXYHDR_V2_MAX ? max : KK_PROXYHDR_V2_MAX;
	unsigned family, transport;
	h->version = 2;
	if (len < KK_PROXYHDR_V2_FIXED)
		return KK_PROXYHDR_MORE;
	if (p[12] >> 4 != 2)
		return fail(h, KK_PROXYHDR_E_V2_VERSION);
	h->command = p[12] & 0x0f;
	if (h->command != KK_PROXYHDR_LOCAL && h->command != KK_PROXYHDR_PROXY)
		return fail(h, KK_PROXYHDR_E_V2_COMMAND);
	family = p[13] >> 4;
	transport = p[13] & 0x0f;
	/* §2.2: with LOCAL the family byte is ignored; with PROXY only the
	 * assigned values are valid, UNSPEC alone (0x00) among family 0. */
	if (h->command == KK_PROXYHDR_PROXY && (family > 3 || transport > 2 ||
	    (family == 0) != (transport == 0)))
		return fail(h, KK_PROXYHDR_E_V2_FAMILY);
	total = KK_PROXYHDR_V2_FIXED + (size_t)be16(p + 14);
	if (total > cap)
		return fail(h, KK_PROXYHDR_E_TOO_LARGE);
	if (len < total)
		return KK_PROXYHDR_MORE;
	h->len = (uint32_t)total;
	h->tlv_off = h->tlv_len = 0;
	h->src.len = h->dst.len = 0;
	if (h->command == KK_PROXYHDR_LOCAL || family == 0) {
		/* LOCAL: the real endpoints are the right ones. UNSPEC: the
		 * receiver may accept and should ignore the addresses. */
		h->transport = KK_PROXYHDR_T_UNSPEC;
		return KK_PROXYHDR_DONE;
	}
	h->transport = (unsigned char)transport;
	need = family == 1 ? 12 : family == 2 ? 36 : 216;
	if (total - KK_PROXYHDR_V2_FIXED < need)
		return fail(h, KK_PROXYHDR_E_V2_SHORT);
	if (!check_tlvs(p + KK_PROXYHDR_V2_FIXED + need, total - KK_PROXYHDR_V2_FIXED - need))
		return fail(h, KK_PROXYHDR_E_V2_TLV);
	h->tlv_off = (uint32_t)(KK_PROXYHDR_V2_FIXED + need);
	h->tlv_len = (uint32_t)(total - h->tlv_off);
	memset(&h->src, 0, sizeof h->src);
	memset(&h->dst, 0, sizeof h->dst);
	p += KK_PROXYHDR_V2_FIXED;
	if (family == 1) {
		struct sockaddr_in *s = (struct sockaddr_in *)&h->src.ss;
		struct sockaddr_in *d = (struct sockaddr_in *)&h->dst.ss;
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, p, 4);
		memcpy(&d->sin_addr, p + 4, 4);
		memcpy(&s->sin_port, p + 8, 2);
		memcpy(&d->sin_port, p + 10, 2);
		h->src.len = h->dst.len = sizeof *s;
	} else if (family == 2) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&h->src.ss;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&h->dst.ss;
		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, p, 16);
		memcpy(&d->sin6_addr, p + 16, 16);
		memcpy(&s->sin6_port, p + 32, 2);
		memcpy(&d->sin6_port, p + 34, 2);
		h->src.len = h->dst.len = sizeof *s;
	} else {
		struct sockaddr_un *s = (struct sockaddr_un *)&h->src.ss;
		struct sockaddr_un *d = (struct sockaddr_un *)&h->dst.ss;
		s->sun_family = d->sun_family = AF_UNIX;
		memcpy(s->sun_path, p, 108);
		memcpy(d->sun_path, p + 108, 108);
		h->src.len = h->dst.len = sizeof *s;
	}
	return KK_PROXYHDR_DONE;
}

int
kk_proxyhdr_parse(kk_proxyhdr *h, const void *p, size_t len, size_t max)
{
	h->len = 0;
	h->err = KK_PROXYHDR_E_NONE;
	h->transport = KK_PROXYHDR_T_UNSPEC;
	h->src.len = h->dst.len = 0;
	h->tlv_off = h->tlv_len = 0;
	switch (kk_proxyhdr_detect(p, len)) {
	case 0:
		return KK_PROXYHDR_MORE;
	case 1:
		return parse_v1(h, p, len, max);
	case 2:
		return parse_v2(h, p, len, max);
	default:
		return fail(h, KK_PROXYHDR_E_SIGNATURE);
	}
}

/* The IPv6 form of an address and port, IPv4 ones mapped (RFC 4291
 * §2.5.5.2), for a v2 or v1 header whose two sides differ in family. */
static void
as_ip6(const struct sockaddr *sa, unsigned char addr[16], uint16_t *port)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		memcpy(addr, &s6->sin6_addr, 16);
		*port = s6->sin6_port;
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &s4->sin_addr, 4);
		*port = s4->sin_port;
	}
}

/* Appends the decimal form of v; returns the new end. */
static char *
put_u16(char *o, unsigned v)
{
	char d[5];
	unsigned n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*o++ = d[--n];
	return o;
}

static size_t
build_v1(char *o, int six, const unsigned char a[2][16], const uint16_t port[2])
{
	char *start = o;
	unsigned i;
	memcpy(o, six ? "PROXY TCP6 " : "PROXY TCP4 ", 11);
	o += 11;
	for (i = 0; i < 2; i++) {
		/* At most 39 bytes for IPv6 (mapped forms are shorter), 15 for
		 * IPv4: the line stays within its 107 bytes. */
		if (!inet_ntop(six ? AF_INET6 : AF_INET, six ? a[i] : a[i] + 12, o,
		    INET6_ADDRSTRLEN))
			return 0;
		o += strlen(o);
		*o++ = ' ';
	}
	o = put_u16(o, ntohs(port[0]));
	*o++ = ' ';
	o = put_u16(o, ntohs(port[1]));
	*o++ = '\r';
	*o++ = '\n';
	return (size_t)(o - start);
}

static size_t
build_v2(unsigned char *o, int six, const unsigned char a[2][16], const uint16_t port[2])
{
	size_t alen = six ? 16 : 4, blen = 2 * alen + 4;
	memcpy(o, v2sig, sizeof v2sig);
	o[12] = 0x20 | KK_PROXYHDR_PROXY;
	o[13] = six ? 0x21 : 0x11;
	o[14] = 0;
	o[15] = (unsigned char)blen;
	memcpy(o + 16, six ? a[0] : a[0] + 12, alen);
	memcpy(o + 16 + alen, six ? a[1] : a[1] + 12, alen);
	memcpy(o + 16 + 2 * alen, &port[0], 2);
	memcpy(o + 18 + 2 * alen, &port[1], 2);
	return KK_PROXYHDR_V2_FIXED + blen;
}

size_t
kk_proxyhdr_build(void *out, size_t cap, int version, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	/* Built whole, then copied: a short cap leaves out untouched. The
	 * slack covers inet_ntop's room for its longest possible string. */
	unsigned char tmp[KK_PROXYHDR_BUILD_MAX + INET6_ADDRSTRLEN];
	unsigned char a[2][16];
	uint16_t port[2];
	size_t n;
	int six;
	if (version != 1 && version != 2)
		return 0;
	if (!src || !dst) {
		if (src || dst)
			return 0;
		if (version == 1) {
			memcpy(tmp, "PROXY UNKNOWN\r\n", 15);
			n = 15;
		} else {
			memcpy(tmp, v2sig, sizeof v2sig);
			tmp[12] = 0x20 | KK_PROXYHDR_LOCAL;
			tmp[13] = tmp[14] = tmp[15] = 0;
			n = KK_PROXYHDR_V2_FIXED;
		}
	} else {
		if ((src->sa_family != AF_INET && src->sa_family != AF_INET6) ||
		    (dst->sa_family != AF_INET && dst->sa_family != AF_INET6))
			return 0;
		six = src->sa_family == AF_INET6 || dst->sa_family == AF_INET6;
		as_ip6(src, a[0], &port[0]);
		as_ip6(dst, a[1], &port[1]);
		if (version == 1)
			n = build_v1((char *)tmp, six, a, port);
		else
			n = build_v2(tmp, six, a, port);
	}
	if (!n || n > cap)
		return 0;
	memcpy(out, tmp, n);
	return n;
}

int
kk_proxyhdr_send(int fd, int version, const struct sockaddr *src, const struct sockaddr *dst)
{
	char hdr[KK_PROXYHDR_BUILD_MAX];
	size_t n = kk_proxyhdr_build(hdr, sizeof hdr, version, src, dst);
	ssize_t w;
	if (!n) {
		errno = EAFNOSUPPORT;
		return 0;
	}
	w = send(fd, hdr, n, MSG_NOSIGNAL);
	if (w != (ssize_t)n) {
		if (w >= 0)	/* cut short: no room even for this */
			errno = ENOBUFS;
		return 0;
	}
	return 1;
}

const char *
kk_proxyhdr_err_name(int err)
{
	static const char *const names[KK_PROXYHDR_E_COUNT] = {
		"ok", "signature", "v1-too-long", "v1-crlf", "v1-protocol", "v1-syntax",
		"v1-address", "v1-port", "v2-version", "v2-command", "v2-family",
		"v2-short", "v2-tlv", "too-large", "truncated", "timeout",
	};
	return err >= 0 && err < KK_PROXYHDR_E_COUNT ? names[err] : "unknown";
}
