/* ISC license. */
/* Tests kk_cidr (src/libkakehi/cidr.c): accepted and refused prefixes,
 * the canonical text, and matches at the edges of a prefix, IPv4 and
 * IPv6. */

#include <arpa/inet.h>
#include <string.h>

#include <kakehi/cidr.h>
#include "tap.h"

static const char *
canon(const char *s)
{
	static char buf[KK_CIDR_FMTLEN];
	char err[256];
	kk_cidr c;
	if (!kk_cidr_scan(&c, s, strlen(s), err, sizeof err))
		return "(invalid)";
	kk_cidr_fmt(buf, &c);
	return buf;
}

/* Whether address a (text) is in prefix p (text). */
static int
in(const char *p, const char *a)
{
	unsigned char bin[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char err[256];
	kk_cidr c;
	if (!kk_cidr_scan(&c, p, strlen(p), err, sizeof err))
		return -1;
	if (inet_pton(AF_INET, a, bin + 12) != 1 && inet_pton(AF_INET6, a, bin) != 1)
		return -1;
	return kk_cidr_match(&c, 1, bin);
}

int
main(void)
{
	static const char *bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0",
		"10.0.0.0.0/8", "010.0.0.0/8", "::/129", "[::1]/128", "host.example/24",
		"10.0.0.0/8/8", "10.0.0.0 /8",
	};
	char err[256];
	kk_cidr c;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		is_str(canon(bad[i]), "(invalid)", "refused: \"%s\"", bad[i]);
	ok(!kk_cidr_scan(&c, "10.1.2.3/16", 11, err, sizeof err)
	    && strstr(err, "the network is 10.1.0.0/16"), "host bits set: refused, the fix named");
	ok(!kk_cidr_scan(&c, "2001:db8::1/32", 14, err, sizeof err)
	    && strstr(err, "the network is 2001:db8::/32"), "and for IPv6");
	is_str(canon("10.0.0.0/8"), "10.0.0.0/8", "IPv4 prefix");
	is_str(canon("192.0.2.7"), "192.0.2.7/32", "an address alone is its /32");
	is_str(canon("0.0.0.0/0"), "0.0.0.0/0", "every IPv4 address");
	is_str(canon("2001:DB8:0::/48"), "2001:db8::/48", "IPv6, canonical");
	is_str(canon("::1"), "::1/128", "an IPv6 address alone is its /128");
	is_str(canon("::/0"), "::/0", "every address");
	is_str(canon("::ffff:10.0.0.0/104"), "10.0.0.0/8", "a v4-mapped prefix is IPv4");

	is_int(in("10.0.0.0/8", "10.255.255.255"), 1, "last address of a /8");
	is_int(in("10.0.0.0/8", "11.0.0.0"), 0, "the next one is out");
	is_int(in("192.168.1.128/25", "192.168.1.128"), 1, "/25: first address");
	is_int(in("192.168.1.128/25", "192.168.1.127"), 0, "/25: just before");
	is_int(in("192.0.2.7", "192.0.2.7"), 1, "/32: itself");
	is_int(in("192.0.2.7", "192.0.2.6"), 0, "/32: no other");
	is_int(in("0.0.0.0/0", "203.0.113.9"), 1, "0/0: any IPv4");
	is_int(in("0.0.0.0/0", "2001:db8::1"), 0, "0/0: no IPv6");
	is_int(in("2001:db8::/33", "2001:db8:7fff::1"), 1, "/33: in");
	is_int(in("2001:db8::/33", "2001:db8:8000::"), 0, "/33: out");
	is_int(in("::1", "::1"), 1, "::1/128");
	is_int(in("::1", "::2"), 0, "::1/128, not ::2");
	is_int(in("::/0", "127.0.0.1"), 1, "::/0 takes every address, v4-mapped too");
	{
		kk_cidr list[2];
		unsigned char a[16] = { 0x20, 0x01, 0x0d, 0xb8 };
		kk_cidr_scan(&list[0], "10.0.0.0/8", 10, err, sizeof err);
		kk_cidr_scan(&list[1], "2001:db8::/32", 13, err, sizeof err);
		ok(kk_cidr_match(list, 2, a), "a list matches on any of its prefixes");
		ok(!kk_cidr_match(list, 1, a), "and only on those it holds");
	}
	return done();
}
