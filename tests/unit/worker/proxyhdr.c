/* ISC license. */
/* PROXY protocol headers: a table of raw v1 and v2 cases, each fed whole,
 * followed by client bytes, and one byte at a time (every prefix in a
 * buffer of its exact size, so the sanitizer build catches a read past
 * the end); detection; the builder, through the parser and back. */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <kakehi/addr.h>
#include "tap.h"
#include "worker/proxyhdr.c"

#define SIG "0d0a0d0a000d0a515549540a "
#define FF4 "ffff:ffff:ffff:ffff"
#define FF8 FF4 ":" FF4

/* What a parse came to, as one line to compare. */
static const char *
show(const kk_proxyhdr *h, int r)
{
	static char out[600];
	char s[KK_ADDR_FMTLEN + 110], d[KK_ADDR_FMTLEN + 110];
	size_t n;
	if (r == KK_PROXYHDR_MORE)
		return "more";
	if (r == KK_PROXYHDR_ERROR) {
		snprintf(out, sizeof out, "error %s", kk_proxyhdr_err_name(h->err));
		return out;
	}
	if (r != KK_PROXYHDR_DONE)
		return "(bad result)";
	if (!h->src.len) {
		snprintf(out, sizeof out, "done %u v%u local", h->len, h->version);
		return out;
	}
	if (h->src.ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const struct sockaddr_un *)&h->src.ss;
		const struct sockaddr_un *du = (const struct sockaddr_un *)&h->dst.ss;
		snprintf(s, sizeof s, "unix:%.108s", su->sun_path);
		snprintf(d, sizeof d, "unix:%.108s", du->sun_path);
	} else {
		kk_addr_fmt(s, &h->src);
		kk_addr_fmt(d, &h->dst);
	}
	n = (size_t)snprintf(out, sizeof out, "done %u v%u %s %s %s", h->len, h->version,
	    h->transport == KK_PROXYHDR_T_DGRAM ? "dgram" : "stream", s, d);
	if (h->tlv_len && n < sizeof out)
		snprintf(out + n, sizeof out - n, " tlv %u+%u", h->tlv_off, h->tlv_len);
	return out;
}

/* Hex digits to bytes, spaces ignored; returns the length. */
static size_t
unhex(unsigned char *out, const char *hex)
{
	size_t n = 0;
	while (*hex) {
		unsigned v;
		if (*hex == ' ') {
			hex++;
			continue;
		}
		sscanf(hex, "%2x", &v);
		out[n++] = (unsigned char)v;
		hex += 2;
	}
	return n;
}

static const char *
parse_copy(const unsigned char *raw, size_t len, size_t max)
{
	/* An exact-size copy: ASan flags any read at or past len. */
	unsigned char *p = malloc(len ? len : 1);
	kk_proxyhdr h;
	const char *r;
	memcpy(p, raw, len);
	r = show(&h, kk_proxyhdr_parse(&h, p, len, max));
	free(p);
	return r;
}

/* Whole, then with client bytes after it, then one byte at a time: every
 * shorter prefix must say "more" or already give the same error. */
/* A test name without the CR and LF that would break the TAP stream. */
static const char *
printable(const char *s)
{
	static char out[400];
	size_t o = 0;
	for (; *s && o + 3 < sizeof out; s++) {
		if (*s == '\r' || *s == '\n' || *s == '\t') {
			out[o++] = '\\';
			out[o++] = *s == '\r' ? 'r' : *s == '\n' ? 'n' : 't';
		} else
			out[o++] = *s;
	}
	out[o] = 0;
	return out;
}

static void
check(const char *rawname, const unsigned char *raw, size_t len, size_t max, const char *want)
{
	static unsigned char buf[8192];
	char name[400];
	const char *tail = "GET / HTTP/1.1\r\n";
	size_t k;
	int early = 0, steady = 1;
	snprintf(name, sizeof name, "%s", printable(rawname));
	is_str(parse_copy(raw, len, max), want, "%s", name);
	if (strcmp(want, "more") && len + strlen(tail) <= sizeof buf) {
		memcpy(buf, raw, len);
		memcpy(buf + len, tail, strlen(tail));
		is_str(parse_copy(buf, len + strlen(tail), max), want, "%s, bytes after it", name);
	}
	for (k = 0; k < len; k++) {
		const char *r = parse_copy(raw, k, max);
		if (!strcmp(r, want) && !strncmp(want, "error", 5))
			early = 1;
		else if (strcmp(r, "more") || early)
			steady = 0;
	}
	ok(steady, "%s, byte by byte", name);
}

static void
check_str(const char *raw, const char *want)
{
	check(raw, (const unsigned char *)raw, strlen(raw), 16384, want);
}

static void
check_hex(const char *name, const char *hex, const char *want)
{
	static unsigned char raw[8192];
	size_t n = unhex(raw, hex);
	check(name, raw, n, 16384, want);
}

static const struct {
	const char *raw, *want;
} v1cases[] = {
	{ "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	  "done 47 v1 stream 192.168.0.1:56324 192.168.0.11:443" },
	{ "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
	  "done 44 v1 stream 0.0.0.0:0 255.255.255.255:65535" },
	{ "PROXY TCP6 2001:db8::1 ::1 65535 80\r\n",
	  "done 37 v1 stream [2001:db8::1]:65535 [::1]:80" },
	{ "PROXY TCP6 2001:DB8::A ::1 1 2\r\n", "done 32 v1 stream [2001:db8::a]:1 [::1]:2" },
	{ "PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n",
	  "done 37 v1 stream [::ffff:192.0.2.1]:1 [::1]:2" },
	{ "PROXY TCP6 " FF8 " " FF8 " 65535 65535\r\n",
	  "done 104 v1 stream [" FF8 "]:65535 [" FF8 "]:65535" },
	{ "PROXY UNKNOWN\r\n", "done 15 v1 local" },
	/* The spec's longest line: 107 bytes. */
	{ "PROXY UNKNOWN " FF8 " " FF8 " 65535 65535\r\n", "done 107 v1 local" },
	{ "PROXY UNKNOWN whatever follows is ignored\r\n", "done 43 v1 local" },
	/* Incomplete: waiting. */
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", "more" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2", "more" },
	{ "PROXY TCP4 1.2.3.4 5.6", "more" },
	{ "PROXY TC", "more" },
	{ "PROX", "more" },
	/* Refused. */
	{ "GET / HTTP/1.1\r\n", "error signature" },
	{ "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "error signature" },
	{ "PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "error signature" },
	{ "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "error v1-protocol" },
	{ "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "error v1-protocol" },
	{ "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "error v1-protocol" },
	{ "PROXY TCP46 1.2.3.4 5.6.7.8 1 2\r\n", "error v1-protocol" },
	{ "PROXY UNKNOWNX\r\n", "error v1-protocol" },
	{ "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "error v1-syntax" },
	{ "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "error v1-syntax" },
	{ "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "error v1-syntax" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", "error v1-syntax" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n", "error v1-syntax" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "error v1-syntax" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "error v1-syntax" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8\r\n", "error v1-syntax" },
	{ "PROXY TCP4\r\n", "error v1-syntax" },
	{ "PROXY \r\n", "error v1-syntax" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "error v1-crlf" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "error v1-crlf" },
	{ "PROXY TCP4 1.2.3.4\n", "error v1-crlf" },
	{ "PROXY UNKNOWN\n", "error v1-crlf" },
	{ "PROXY UNKNOWN a\nb\r\n", "error v1-crlf" },
	{ "PROXY UNKNOWN a\rb\r\n", "error v1-crlf" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "error v1-port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", "error v1-port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n", "error v1-port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "error v1-port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n", "error v1-port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "error v1-port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n", "error v1-port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2\r\n", "error v1-port" },
	{ "PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.1000 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.08 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 1.2.3.4 111.222.333.4444 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 1111.2.3.4 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 ::1 ::1 1 2\r\n", "error v1-address" },
	{ "PROXY TCP4 a.b.c.d 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", "error v1-address" },
	{ "PROXY TCP6 2001:db8::g ::1 1 2\r\n", "error v1-address" },
	{ "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "error v1-address" },
	{ "PROXY TCP6 1::2::3 ::1 1 2\r\n", "error v1-address" },
	{ "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "error v1-address" },
	{ "PROXY TCP6 [::1] ::1 1 2\r\n", "error v1-address" },
	{ "PROXY TCP6 ::ffff:1.2.3.04 ::1 1 2\r\n", "error v1-address" },
	{ "PROXY TCP6 " FF8 ":ffff ::1 1 2\r\n", "error v1-address" },
	/* 107 bytes without their CRLF, then the same line one byte over. */
	{ "PROXY UNKNOWN " FF8 " " FF8 " 65535 655355\r\n", "error v1-too-long" },
	{ "PROXY UNKNOWN " FF8 " " FF8 " 65535 65535 \r\n", "error v1-too-long" },
	{ "PROXY UNKNOWN " FF8 " " FF8 " 65535 65535 abc", "error v1-too-long" },
};

static const struct {
	const char *name, *hex, *want;
} v2cases[] = {
	{ "v2 PROXY TCP over IPv4",
	  SIG "21 11 000c c0000201 c6336402 d204 01bb",
	  "done 28 v2 stream 192.0.2.1:53764 198.51.100.2:443" },
	{ "v2 PROXY TCP over IPv4 with TLVs (ALPN, NOOP)",
	  SIG "21 11 0014 c0000201 c6336402 d204 01bb 01 0002 6832 04 0000",
	  "done 36 v2 stream 192.0.2.1:53764 198.51.100.2:443 tlv 28+8" },
	{ "v2 PROXY UDP over IPv4",
	  SIG "21 12 000c 7f000001 7f000002 0035 0036",
	  "done 28 v2 dgram 127.0.0.1:53 127.0.0.2:54" },
	{ "v2 PROXY TCP over IPv6",
	  SIG "21 21 0024 20010db8000000000000000000000001 00000000000000000000000000000001"
	  " 1f90 0050",
	  "done 52 v2 stream [2001:db8::1]:8080 [::1]:80" },
	{ "v2 PROXY TCP over IPv6 with a TLV",
	  SIG "21 21 0029 20010db8000000000000000000000001 00000000000000000000000000000001"
	  " 1f90 0050 02 0002 6162",
	  "done 57 v2 stream [2001:db8::1]:8080 [::1]:80 tlv 52+5" },
	{ "v2 LOCAL", SIG "20 00 0000", "done 16 v2 local" },
	{ "v2 LOCAL: family and block ignored", SIG "20 ff 0005 0102030405", "done 21 v2 local" },
	{ "v2 LOCAL: address block ignored", SIG "20 11 000c c0000201 c6336402 d204 01bb",
	  "done 28 v2 local" },
	{ "v2 PROXY UNSPEC: real addresses kept", SIG "21 00 0004 01020304",
	  "done 20 v2 local" },
	{ "v2 PROXY UNSPEC, empty", SIG "21 00 0000", "done 16 v2 local" },
	{ "v2 fixed part incomplete", SIG "21 11 00", "more" },
	{ "v2 signature incomplete", "0d0a0d0a000d0a5155", "more" },
	{ "v2 address block incomplete", SIG "21 11 000c c0000201 c633", "more" },
	{ "v2 bad signature", "0d0a0d0a000d0a515549540b 21 11 000c c0000201 c6336402 d204 01bb",
	  "error signature" },
	{ "v2 signature with a bad middle", "0d0a0d0a010d0a515549540a 21 11 0000",
	  "error signature" },
	{ "v2 version 1", SIG "11 11 000c c0000201 c6336402 d204 01bb", "error v2-version" },
	{ "v2 version 3", SIG "31 11 000c c0000201 c6336402 d204 01bb", "error v2-version" },
	{ "v2 command 2", SIG "22 11 000c c0000201 c6336402 d204 01bb", "error v2-command" },
	{ "v2 command 15", SIG "2f 11 000c c0000201 c6336402 d204 01bb", "error v2-command" },
	{ "v2 family 4", SIG "21 41 000c c0000201 c6336402 d204 01bb", "error v2-family" },
	{ "v2 transport 3", SIG "21 13 000c c0000201 c6336402 d204 01bb", "error v2-family" },
	{ "v2 IPv4 without transport", SIG "21 10 000c c0000201 c6336402 d204 01bb",
	  "error v2-family" },
	{ "v2 UNSPEC with a transport", SIG "21 01 0000", "error v2-family" },
	{ "v2 IPv4 block one byte short", SIG "21 11 000b c0000201 c6336402 d204 01",
	  "error v2-short" },
	{ "v2 IPv4 block empty", SIG "21 11 0000", "error v2-short" },
	{ "v2 IPv6 block with IPv4 length",
	  SIG "21 21 000c c0000201 c6336402 d204 01bb", "error v2-short" },
	{ "v2 TLV header cut", SIG "21 11 000e c0000201 c6336402 d204 01bb 0100",
	  "error v2-tlv" },
	{ "v2 TLV value past the block",
	  SIG "21 11 0010 c0000201 c6336402 d204 01bb 01 0005 6162", "error v2-tlv" },
	{ "v2 TLV value one byte past the block",
	  SIG "21 11 0010 c0000201 c6336402 d204 01bb 01 0002 61", "error v2-tlv" },
	{ "v2 TLV value three bytes past the block",
	  SIG "21 11 0010 c0000201 c6336402 d204 01bb 01 0004 61", "error v2-tlv" },
	{ "v2 TLV length 65535", SIG "21 11 0011 c0000201 c6336402 d204 01bb 01 ffff 6162",
	  "error v2-tlv" },
	{ "v2 second TLV cut",
	  SIG "21 11 0013 c0000201 c6336402 d204 01bb 01 0002 6832 04 00", "error v2-tlv" },
	{ "v2 length over the cap", SIG "21 11 0ff1 c0000201 c6336402 d204 01bb",
	  "error too-large" },
	{ "v2 length 65535", SIG "21 11 ffff", "error too-large" },
	{ "v2 LOCAL with a length over the cap", SIG "20 00 ffff", "error too-large" },
};

/* A v2 header of len bytes of block after the fixed part. */
static size_t
v2_raw(unsigned char *out, unsigned vercmd, unsigned fam, size_t blen)
{
	size_t n = unhex(out, SIG);
	out[n++] = (unsigned char)vercmd;
	out[n++] = (unsigned char)fam;
	out[n++] = (unsigned char)(blen >> 8);
	out[n++] = (unsigned char)blen;
	memset(out + n, 0, blen);
	return n + blen;
}

static void
test_v2_bounds(void)
{
	static unsigned char raw[8192];
	kk_proxyhdr h;
	size_t n;
	/* Unix paths: 108 bytes each. */
	n = v2_raw(raw, 0x21, 0x31, 216);
	memcpy(raw + 16, "/run/lb.sock", 12);
	memcpy(raw + 16 + 108, "/run/kakehi.sock", 16);
	check("v2 PROXY unix stream", raw, n, 16384,
	    "done 232 v2 stream unix:/run/lb.sock unix:/run/kakehi.sock");
	n = v2_raw(raw, 0x21, 0x32, 216 + 3);
	raw[16 + 216] = 0xee;
	check("v2 PROXY unix datagram with an empty TLV", raw, n, 16384,
	    "done 235 v2 dgram unix: unix: tlv 232+3");
	n = v2_raw(raw, 0x21, 0x31, 215);
	check("v2 unix block one byte short", raw, n, 16384, "error v2-short");
	/* The cap: 4096 bytes in all is accepted, one more is not. */
	n = v2_raw(raw, 0x21, 0x11, KK_PROXYHDR_V2_MAX - 16);
	raw[16 + 12] = 0x04;
	raw[16 + 13] = (unsigned char)((KK_PROXYHDR_V2_MAX - 16 - 15) >> 8);
	raw[16 + 14] = (unsigned char)(KK_PROXYHDR_V2_MAX - 16 - 15);
	check("v2 at the cap, one large TLV", raw, n, 16384,
	    "done 4096 v2 stream 0.0.0.0:0 0.0.0.0:0 tlv 28+4068");
	/* The caller's room: a header larger than its buffer is refused from
	 * its fixed part on, not waited for. */
	n = v2_raw(raw, 0x21, 0x11, 12);
	is_str(show(&h, kk_proxyhdr_parse(&h, raw, 16, 27)), "error too-large",
	    "v2 larger than the caller's room, refused at its fixed part");
	is_str(show(&h, kk_proxyhdr_parse(&h, raw, n, 28)),
	    "done 28 v2 stream 0.0.0.0:0 0.0.0.0:0", "v2 exactly the caller's room");
	is_str(show(&h, kk_proxyhdr_parse(&h, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 32, 20)),
	    "error too-large", "v1 longer than the caller's room");
	is_str(show(&h, kk_proxyhdr_parse(&h, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 19, 20)),
	    "more", "v1 within the caller's room so far");
}

static void
test_detect(void)
{
	is_int(kk_proxyhdr_detect("", 0), 0, "detect: nothing yet");
	is_int(kk_proxyhdr_detect("P", 1), 0, "detect: P");
	is_int(kk_proxyhdr_detect("PROXY", 5), 0, "detect: PROXY");
	is_int(kk_proxyhdr_detect("PROXY ", 6), 1, "detect: v1");
	is_int(kk_proxyhdr_detect("PROXZ", 5), -1, "detect: not PROXY");
	is_int(kk_proxyhdr_detect("POST /", 6), -1, "detect: POST");
	is_int(kk_proxyhdr_detect("\r\n\r\n", 4), 0, "detect: v2 start");
	is_int(kk_proxyhdr_detect("\r\n\r\n\0\r\nQUIT\n", 12), 2, "detect: v2");
	is_int(kk_proxyhdr_detect("\r\n\r\n\0\r\nQUIT\r", 12), -1, "detect: v2 last byte wrong");
	is_int(kk_proxyhdr_detect("\x16\x03\x01", 3), -1, "detect: TLS record");
	is_int(kk_proxyhdr_detect("GET", 3), -1, "detect: GET");
}

static void
sin4(struct sockaddr_in *s, const char *ip, unsigned port)
{
	memset(s, 0, sizeof *s);
	s->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &s->sin_addr);
	s->sin_port = htons((uint16_t)port);
}

static void
sin6(struct sockaddr_in6 *s, const char *ip, unsigned port)
{
	memset(s, 0, sizeof *s);
	s->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &s->sin6_addr);
	s->sin6_port = htons((uint16_t)port);
}

/* Builds, checks the bytes when want_text is given, parses back. */
static void
round_trip(const char *name, int version, const struct sockaddr *src,
    const struct sockaddr *dst, const char *want_text, const char *want)
{
	unsigned char out[KK_PROXYHDR_BUILD_MAX];
	size_t n = kk_proxyhdr_build(out, sizeof out, version, src, dst);
	ok(n > 0, "build %s", name);
	if (want_text)
		ok(n == strlen(want_text) && !memcmp(out, want_text, n), "build %s: %.*s", name,
		    (int)(n > 2 ? n - 2 : 0), out);
	check(name, out, n, 16384, want);
}

static void
test_build(void)
{
	struct sockaddr_in a4, b4;
	struct sockaddr_in6 a6, b6;
	struct sockaddr_un un;
	unsigned char out[KK_PROXYHDR_BUILD_MAX], hex[64];
	size_t n;
	sin4(&a4, "192.0.2.1", 53764);
	sin4(&b4, "198.51.100.2", 443);
	sin6(&a6, "2001:db8::1", 8080);
	sin6(&b6, "::1", 80);
	round_trip("v1 IPv4", 1, (struct sockaddr *)&a4, (struct sockaddr *)&b4,
	    "PROXY TCP4 192.0.2.1 198.51.100.2 53764 443\r\n",
	    "done 45 v1 stream 192.0.2.1:53764 198.51.100.2:443");
	round_trip("v1 IPv6", 1, (struct sockaddr *)&a6, (struct sockaddr *)&b6,
	    "PROXY TCP6 2001:db8::1 ::1 8080 80\r\n",
	    "done 36 v1 stream [2001:db8::1]:8080 [::1]:80");
	round_trip("v1 IPv4 to IPv6, mapped", 1, (struct sockaddr *)&a4, (struct sockaddr *)&b6,
	    "PROXY TCP6 ::ffff:192.0.2.1 ::1 53764 80\r\n",
	    "done 42 v1 stream [::ffff:192.0.2.1]:53764 [::1]:80");
	round_trip("v1 own connection", 1, NULL, NULL, "PROXY UNKNOWN\r\n", "done 15 v1 local");
	n = unhex(hex, SIG "21 11 000c c0000201 c6336402 d204 01bb");
	round_trip("v2 IPv4", 2, (struct sockaddr *)&a4, (struct sockaddr *)&b4, NULL,
	    "done 28 v2 stream 192.0.2.1:53764 198.51.100.2:443");
	ok(kk_proxyhdr_build(out, sizeof out, 2, (struct sockaddr *)&a4, (struct sockaddr *)&b4)
	    == n && !memcmp(out, hex, n), "build v2 IPv4: the spec's bytes");
	round_trip("v2 IPv6", 2, (struct sockaddr *)&a6, (struct sockaddr *)&b6, NULL,
	    "done 52 v2 stream [2001:db8::1]:8080 [::1]:80");
	round_trip("v2 IPv6 to IPv4, mapped", 2, (struct sockaddr *)&b6, (struct sockaddr *)&b4,
	    NULL, "done 52 v2 stream [::1]:80 [::ffff:198.51.100.2]:443");
	round_trip("v2 own connection", 2, NULL, NULL, NULL, "done 16 v2 local");
	sin6(&a6, FF8, 65535);
	round_trip("v1 longest IPv6", 1, (struct sockaddr *)&a6, (struct sockaddr *)&a6, NULL,
	    "done 104 v1 stream [" FF8 "]:65535 [" FF8 "]:65535");

	memset(out, 'x', sizeof out);
	is_int(kk_proxyhdr_build(out, 44, 1, (struct sockaddr *)&a4, (struct sockaddr *)&b4), 0,
	    "build: one byte short of room");
	ok(out[0] == 'x', "build: out untouched when short");
	is_int(kk_proxyhdr_build(out, 45, 1, (struct sockaddr *)&a4, (struct sockaddr *)&b4), 45,
	    "build: exactly the room");
	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	is_int(kk_proxyhdr_build(out, sizeof out, 2, (struct sockaddr *)&un,
	    (struct sockaddr *)&b4), 0, "build: unix source refused");
	is_int(kk_proxyhdr_build(out, sizeof out, 3, (struct sockaddr *)&a4,
	    (struct sockaddr *)&b4), 0, "build: version 3 refused");
	is_int(kk_proxyhdr_build(out, sizeof out, 1, (struct sockaddr *)&a4, NULL), 0,
	    "build: one address alone refused");
}

int
main(void)
{
	size_t i;
	int e;
	for (i = 0; i < sizeof v1cases / sizeof v1cases[0]; i++)
		check_str(v1cases[i].raw, v1cases[i].want);
	for (i = 0; i < sizeof v2cases / sizeof v2cases[0]; i++)
		check_hex(v2cases[i].name, v2cases[i].hex, v2cases[i].want);
	test_v2_bounds();
	test_detect();
	test_build();
	for (e = 0; e < KK_PROXYHDR_E_COUNT; e++)
		ok(strcmp(kk_proxyhdr_err_name(e), "unknown"), "reason %d has a name", e);
	is_str(kk_proxyhdr_err_name(KK_PROXYHDR_E_COUNT), "unknown", "out of range: unknown");
	return done();
}
