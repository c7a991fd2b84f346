/* ISC license. */
/* Address prefixes as operators write them (10.0.0.0/8, 2001:db8::/32),
 * for `set trusted-proxies`: parsing, the canonical text, and whether an
 * address falls in one. IPv4 prefixes are kept as IPv4-mapped IPv6 ones
 * (::ffff:0:0/96 and below), so one comparison serves both families. */
#ifndef KAKEHI_CIDR_H
#define KAKEHI_CIDR_H

#include <stddef.h>

typedef struct kk_cidr kk_cidr;
struct kk_cidr {
	unsigned char a[16];	/* the network, bits past the prefix zero */
	unsigned char bits;	/* prefix length over the 128 bits */
};

/* The longest address inet_ntop writes (INET6_ADDRSTRLEN, 46 with its
 * NUL, for the form with an IPv4 tail), then "/128". */
#define KK_CIDR_FMTLEN 50

/* Parses s[0, n): ADDR/LEN or ADDR alone (the whole address), IPv4 or
 * IPv6. 1 ok; 0 with the reason in err (an address with bits set past
 * its prefix is refused, naming the network meant). */
int kk_cidr_scan(kk_cidr *, const char *s, size_t n, char *err, size_t errlen);
/* Canonical text: the family's own form, always with its length. */
size_t kk_cidr_fmt(char buf[KK_CIDR_FMTLEN], const kk_cidr *);
/* Whether a (16 bytes, IPv4 mapped as ::ffff:a.b.c.d) is in one of the
 * n prefixes of list. */
int kk_cidr_match(const kk_cidr *list, unsigned n, const unsigned char a[16]);

#endif
