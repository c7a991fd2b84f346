/* ISC license. */
/* Numeric socket addresses: parsing IPV4:PORT and [IPV6]:PORT, and the
 * canonical text form used as a listener's name everywhere (config, state,
 * LISTEN_FDNAMES). No name resolution here, by design. */

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <kakehi/addr.h>
#include <kakehi/verb.h>

/* Strict decimal port: digits only, 1..65535. */
static int
scan_port(const char *s, unsigned *port)
{
	unsigned long v;

	if (!kk_scan_uint(s, 1, 65535, &v))
		return 0;
	*port = (unsigned)v;
	return 1;
}

/* Dotted decimal IPv4 in n bytes, as inet_pton(AF_INET) takes it: four
 * parts 0..255, digits only, no leading zero ("10.1", "0x7f.0.0.1" and
 * "010.0.0.1" are refused, unlike inet_aton). Written out because every
 * backend of a load is parsed: inet_pton, with the copy it needs for a
 * NUL, was a twentieth of a reload of 100 000 sites. */
static int
scan_v4(const char *s, size_t n, struct in_addr *in)
{
	const char *end = s + n;
	uint32_t v = 0;
	unsigned part;

	for (part = 0; part < 4; part++) {
		unsigned octet = 0, digits = 0;
		if (part && (s == end || *s++ != '.'))
			return 0;
		for (; s < end && *s >= '0' && *s <= '9'; s++) {
			if (digits++ && !octet)
				return 0;
			octet = octet * 10 + (unsigned)(*s - '0');
			if (octet > 255)
				return 0;
		}
		if (!digits)
			return 0;
		v = v << 8 | octet;
	}
	if (s != end)
		return 0;
	in->s_addr = htonl(v);
	return 1;
}

/* A scope is an interface index or an interface name (looked up locally,
 * no network involved). */
static int
scan_scope(const char *s, uint32_t *scope)
{
	unsigned long v;

	if (!*s || strlen(s) >= IF_NAMESIZE)
		return 0;
	if (kk_scan_uint(s, 0, 0xffffffffUL, &v)) {
		*scope = (uint32_t)v;
		return 1;
	}
	v = if_nametoindex(s);
	if (!v)
		return 0;
	*scope = (uint32_t)v;
	return 1;
}

int
kk_addr_parse(kk_addr *a, const char *s)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *colon, *end;
	unsigned port;
	size_t n;

	memset(a, 0, sizeof *a);
	if (s[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
		char *pct;
		uint32_t scope = 0;

		end = strchr(s, ']');
		if (!end || end[1] != ':')
			goto inval;
		n = (size_t)(end - s - 1);
		if (!n || n >= sizeof host)
			goto inval;
		memcpy(host, s + 1, n);
		host[n] = 0;
		pct = strchr(host, '%');
		if (pct) {
			*pct = 0;
			if (!scan_scope(pct + 1, &scope))
				goto inval;
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto inval;
		if (!scan_port(end + 2, &port))
			goto inval;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_scope_id = scope;
		a->len = sizeof *sin6;
		return 1;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		colon = strchr(s, ':');
		if (!colon)
			goto inval;
		n = (size_t)(colon - s);
		if (!scan_v4(s, n, &sin->sin_addr))
			goto inval;
		if (!scan_port(colon + 1, &port))
			goto inval;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		a->len = sizeof *sin;
		return 1;
	}
inval:
	memset(a, 0, sizeof *a);
	errno = EINVAL;
	return 0;
}

size_t
kk_addr_fmt_sa(char *buf, const struct sockaddr *sa, socklen_t len)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		n = snprintf(buf, KK_ADDR_FMTLEN, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		/* The scope is printed as its index: an interface name can be
		 * renamed, the index of a bound socket cannot change. */
		if (sin6->sin6_scope_id)
			n = snprintf(buf, KK_ADDR_FMTLEN, "[%s%%%lu]:%u", host,
			    (unsigned long)sin6->sin6_scope_id,
			    (unsigned)ntohs(sin6->sin6_port));
		else
			n = snprintf(buf, KK_ADDR_FMTLEN, "[%s]:%u", host,
			    (unsigned)ntohs(sin6->sin6_port));
	} else {
		buf[0] = 0;
		return 0;
	}
	return n < 0 ? 0 : (size_t)n;
}

size_t
kk_addr_fmt(char *buf, const kk_addr *a)
{
	return kk_addr_fmt_sa(buf, (const struct sockaddr *)&a->ss, a->len);
}

int
kk_addr_of_socket(int fd, char *buf)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (!kk_addr_fmt_sa(buf, (struct sockaddr *)&ss, len)) {
		errno = EAFNOSUPPORT;
		return 0;
	}
	return 1;
}
