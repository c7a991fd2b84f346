/* ISC license. */
/* Address prefixes: the scanner, the canonical printer and the match
 * (kakehi/cidr.h). Numeric only, like addr.c. */

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <kakehi/cidr.h>
#include <kakehi/verb.h>

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Whether a's first bits equal net's (the rest of net is zero). */
static int
in_prefix(const unsigned char *a, const unsigned char *net, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, net, whole))
		return 0;
	return !rest || !((a[whole] ^ net[whole]) & (0xff00 >> rest));
}

int
kk_cidr_scan(kk_cidr *c, const char *s, size_t n, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN], len[4];
	const char *slash = memchr(s, '/', n);
	size_t an = slash ? (size_t)(slash - s) : n;
	unsigned long bits;
	unsigned max, off;
	kk_cidr net;
	if (!an || an >= sizeof addr)
		goto bad;
	memcpy(addr, s, an);
	addr[an] = 0;
	memset(&net, 0, sizeof net);
	if (inet_pton(AF_INET, addr, net.a + 12) == 1) {
		memcpy(net.a, v4mapped, 12);
		max = 32;
		off = 96;
	} else if (inet_pton(AF_INET6, addr, net.a) == 1) {
		max = 128;
		off = 0;
	} else
		goto bad;
	bits = max;
	if (slash) {
		size_t ln = n - an - 1;
		if (!ln || ln >= sizeof len)
			goto bad;
		memcpy(len, slash + 1, ln);
		len[ln] = 0;
		if (!kk_scan_uint(len, 0, max, &bits))
			goto bad;
	}
	c->bits = (unsigned char)(off + bits);
	memset(c->a, 0, sizeof c->a);
	memcpy(c->a, net.a, (c->bits + 7) / 8);
	if (c->bits % 8)
		c->a[c->bits / 8] &= (unsigned char)(0xff00 >> (c->bits % 8));
	if (memcmp(c->a, net.a, 16)) {
		char fix[KK_CIDR_FMTLEN];
		kk_cidr_fmt(fix, c);
		snprintf(err, errlen, "\"%.*s\" has bits set past its /%lu prefix; the network "
		    "is %s", (int)n, s, bits, fix);
		return 0;
	}
	return 1;
bad:
	snprintf(err, errlen, "\"%.*s\" is not an address prefix (IPV4/LEN or IPV6/LEN, "
	    "e.g. 10.0.0.0/8 or 2001:db8::/32, or an address alone)", (int)(n > 64 ? 64 : n), s);
	return 0;
}

size_t
kk_cidr_fmt(char buf[KK_CIDR_FMTLEN], const kk_cidr *c)
{
	char a[INET6_ADDRSTRLEN];
	int v4 = c->bits >= 96 && !memcmp(c->a, v4mapped, 12);
	int n;
	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? c->a + 12 : c->a, a, sizeof a);
	n = snprintf(buf, KK_CIDR_FMTLEN, "%s/%u", a, v4 ? c->bits - 96u : c->bits);
	return n < 0 ? 0 : (size_t)n;
}

int
kk_cidr_match(const kk_cidr *list, unsigned n, const unsigned char a[16])
{
	for (unsigned i = 0; i < n; i++)
		if (in_prefix(a, list[i].a, list[i].bits))
			return 1;
	return 0;
}
