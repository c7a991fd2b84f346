/* ISC license. */
/* The ClientHello peek: a ClientHello recorded from openssl s_client and
 * many built here (a small builder below, with a knob per length so each
 * can be made to overrun or fall short of its container), each fed whole,
 * split in two at every offset, and one byte at a time through one state
 * (every prefix in a buffer of its exact size, so the sanitizer build
 * catches a read past the end); records reassembled; bounds. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "worker/clienthello.c"

/* Recorded on loopback from OpenSSL 3.0 on Debian 12:
 * openssl s_client -connect 127.0.0.1:PORT -servername x.example -alpn h2,http/1.1
 * into a listener that kept the first record. */
static const char captured[] =
	"16030101480100014403034438c22f510bbcd3a8428dfd80bb509d636624dbe6"
	"0b6b67deeae36294cab20520b7051922915f6bb099420dad033459c921541c0e"
	"966e8f7956421f57b9600902003e130213031301c02cc030009fcca9cca8ccaa"
	"c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"
	"009c003d003c0035002f00ff010000bd0000000e000c000009782e6578616d70"
	"6c65000b000403000102000a00160014001d0017001e00190018010001010102"
	"01030104002300000010000e000c02683208687474702f312e31001600000017"
	"0000000d002a0028040305030603080708080809080a080b0804080508060401"
	"05010601030303010302040205020602002b0009080304030303020301002d00"
	"020101003300260024001d00206074018509206f5db1a1954e8201e7464c30eb"
	"9d1c2054bf3f1d8c3f0b6a5b1e";

/* A byte string under construction. */
typedef struct bb bb;
struct bb {
	unsigned char b[40000];
	size_t n;
};

static void
put8(bb *o, unsigned v)
{
	o->b[o->n++] = (unsigned char)v;
}

static void
put16(bb *o, unsigned v)
{
	put8(o, v >> 8 & 0xff);
	put8(o, v & 0xff);
}

static void
putmem(bb *o, const void *p, size_t n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

/* Opens a length field of size bytes; close_len fills it with what was
 * written since, plus delta (to make it lie). */
static size_t
open_len(bb *o, unsigned size)
{
	size_t at = o->n;
	o->n += size;
	return at;
}

static void
close_len(bb *o, size_t at, unsigned size, int delta)
{
	unsigned long v = (unsigned long)((long)(o->n - at - size) + delta);
	unsigned i;
	for (i = 0; i < size; i++)
		o->b[at + i] = (unsigned char)(v >> (8 * (size - 1 - i)));
}

/* What the built ClientHello holds, and how its lengths lie. */
typedef struct hello hello;
struct hello {
	const char *sni;	/* NULL: no server_name extension */
	size_t sni_len;		/* 0: strlen(sni) */
	int sni_names;		/* names in its list (0 -> 1; -1: empty list) */
	int sni_type;
	int sni_twice;		/* two server_name extensions */
	const char *alpn;	/* comma-separated; NULL: no ALPN; "": empty list */
	int alpn_twice;
	int sid;		/* session id bytes */
	int ciphers;		/* cipher_suites bytes (0 -> 4) */
	int comp;		/* compression methods (0 -> 1; -1: none) */
	int no_exts;		/* no extension block at all */
	unsigned pad;		/* bytes of a padding extension (RFC 7685), after the others */
	unsigned version;	/* legacy_version (0 -> 0x0303) */
	unsigned type;		/* handshake type (0 -> 1) */
	/* Lies: added to the length written. */
	int d_hs, d_sid, d_ciphers, d_comp, d_exts, d_sni_ext, d_sni_list, d_sni_name;
	int d_alpn_ext, d_alpn_list, d_alpn_name, d_pad;
};

static void
put_sni(bb *o, const hello *h)
{
	size_t ext, list, name;
	int i, names = h->sni_names ? h->sni_names : 1;
	put16(o, 0);
	ext = open_len(o, 2);
	list = open_len(o, 2);
	for (i = 0; i < names; i++) {
		put8(o, (unsigned)h->sni_type);
		name = open_len(o, 2);
		putmem(o, h->sni, h->sni_len ? h->sni_len : strlen(h->sni));
		close_len(o, name, 2, i ? 0 : h->d_sni_name);
	}
	close_len(o, list, 2, h->d_sni_list);
	close_len(o, ext, 2, h->d_sni_ext);
}

static void
put_alpn(bb *o, const hello *h)
{
	size_t ext, list, name;
	const char *s = h->alpn;
	int first = 1;
	put16(o, 16);
	ext = open_len(o, 2);
	list = open_len(o, 2);
	while (*h->alpn) {
		size_t n = strcspn(s, ",");
		name = open_len(o, 1);
		putmem(o, s, n);
		close_len(o, name, 1, first ? h->d_alpn_name : 0);
		first = 0;
		s += n;
		if (!*s)
			break;
		s++;
	}
	close_len(o, list, 2, h->d_alpn_list);
	close_len(o, ext, 2, h->d_alpn_ext);
}

/* The handshake message. */
static void
build_hello(bb *o, const hello *h)
{
	size_t hs, at;
	int i;
	o->n = 0;
	put8(o, h->type ? h->type : 1);
	hs = open_len(o, 3);
	put16(o, h->version ? h->version : 0x0303);
	for (i = 0; i < 32; i++)
		put8(o, (unsigned)i * 7);
	at = open_len(o, 1);
	for (i = 0; i < h->sid; i++)
		put8(o, 0xaa);
	close_len(o, at, 1, h->d_sid);
	at = open_len(o, 2);
	for (i = 0; i < (h->ciphers ? h->ciphers : 4); i++)
		put8(o, 0x13);
	close_len(o, at, 2, h->d_ciphers);
	at = open_len(o, 1);
	for (i = 0; i < (h->comp ? h->comp : 1); i++)
		if (h->comp >= 0)
			put8(o, 0);
	close_len(o, at, 1, h->d_comp);
	if (!h->no_exts) {
		size_t exts = open_len(o, 2);
		put16(o, 43);		/* supported_versions: skipped */
		put16(o, 3);
		put8(o, 2);
		put16(o, 0x0304);
		if (h->sni && h->sni_names >= 0)
			put_sni(o, h);
		if (h->sni && h->sni_names < 0) {
			put16(o, 0);
			put16(o, 2);
			put16(o, 0);
		}
		if (h->sni_twice)
			put_sni(o, h);
		if (h->alpn)
			put_alpn(o, h);
		if (h->alpn_twice)
			put_alpn(o, h);
		if (h->pad) {
			put16(o, 21);
			at = open_len(o, 2);
			memset(o->b + o->n, 0, h->pad);
			o->n += h->pad;
			close_len(o, at, 2, h->d_pad);
		}
		close_len(o, exts, 2, h->d_exts);
	}
	close_len(o, hs, 3, h->d_hs);
}

/* The message cut into handshake records of at most frag bytes. */
static void
records(bb *out, const bb *msg, size_t frag)
{
	size_t off = 0;
	out->n = 0;
	while (off < msg->n) {
		size_t n = msg->n - off < frag ? msg->n - off : frag;
		put8(out, 22);
		put16(out, 0x0301);
		put16(out, (unsigned)n);
		putmem(out, msg->b + off, n);
		off += n;
	}
}

static const char *
show(const kk_clienthello *ch, int r)
{
	static char out[1200];
	char alpn[600];
	size_t i, o = 0;
	if (r == KK_CLIENTHELLO_MORE)
		return "more";
	if (r == KK_CLIENTHELLO_ERROR) {
		snprintf(out, sizeof out, "error %s", kk_clienthello_err_name(ch->err));
		return out;
	}
	if (r != KK_CLIENTHELLO_DONE)
		return "(bad result)";
	for (i = 0; i < ch->alpn_len; i += 1 + ch->alpn[i]) {
		if (o)
			alpn[o++] = ',';
		memcpy(alpn + o, ch->alpn + i + 1, ch->alpn[i]);
		o += ch->alpn[i];
	}
	alpn[o] = 0;
	snprintf(out, sizeof out, "done %u %04x name=%s alpn=%s%s", ch->len, ch->version,
	    ch->namelen == strlen(ch->name) ? ch->name : "(bad length)", alpn,
	    ch->alpn_cut ? " cut" : "");
	return out;
}

/* One call on an exact-size copy of p[0, len). */
static int
feed(kk_clienthello *ch, const unsigned char *p, size_t len, size_t max)
{
	unsigned char *c = malloc(len ? len : 1);
	int r;
	memcpy(c, p, len);
	r = kk_clienthello_parse(ch, c, len, max);
	free(c);
	return r;
}

/* Every prefix shorter than the whole must say "more", or already give
 * the error the whole gives. */
static int
acceptable(const char *got, const char *want, int *early)
{
	if (*early || strcmp(got, "more")) {
		if (strncmp(want, "error", 5) || strcmp(got, want))
			return 0;
		*early = 1;
	}
	return 1;
}

static void
check(const char *name, const unsigned char *p, size_t len, size_t max, const char *want)
{
	kk_clienthello ch;
	size_t k, step = len > 4096 ? 61 : 1;
	int early = 0, steady = 1, splits = 1;
	unsigned char *before = malloc(len ? len : 1);
	memcpy(before, p, len);
	kk_clienthello_init(&ch);
	is_str(show(&ch, kk_clienthello_parse(&ch, p, len, max)), want, "%s", name);
	ok(!memcmp(before, p, len), "%s: input unchanged", name);
	free(before);
	/* Two segments, cut at every offset. */
	for (k = 1; k < len; k += step) {
		int e = 0;
		kk_clienthello_init(&ch);
		if (!acceptable(show(&ch, feed(&ch, p, k, max)), want, &e))
			splits = 0;
		else if (!e && strcmp(show(&ch, feed(&ch, p, len, max)), want))
			splits = 0;
	}
	ok(splits, "%s, in two segments cut anywhere", name);
	/* One byte at a time, one state throughout. */
	kk_clienthello_init(&ch);
	for (k = 0; k < len; k += step)
		if (!acceptable(show(&ch, feed(&ch, p, k, max)), want, &early))
			steady = 0;
	if (!early)
		steady &= !strcmp(show(&ch, feed(&ch, p, len, max)), want);
	ok(steady, "%s, byte by byte", name);
}

/* A built ClientHello, in records of at most frag bytes. */
static void
check_hello(const char *name, const hello *h, size_t frag, const char *want)
{
	static bb msg, rec;
	build_hello(&msg, h);
	records(&rec, &msg, frag);
	check(name, rec.b, rec.n, 16384, want);
}

static size_t
unhex(unsigned char *out, const char *hex)
{
	size_t n = 0;
	unsigned v;
	for (; hex[0] && hex[1]; hex += 2) {
		sscanf(hex, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

static void
test_captured(void)
{
	static unsigned char raw[1024];
	static bb msg, rec;
	size_t n = unhex(raw, captured);
	check("openssl s_client ClientHello", raw, n, 16384,
	    "done 333 0303 name=x.example alpn=h2,http/1.1");
	/* The same message re-cut into small records: reassembled. */
	msg.n = 0;
	putmem(&msg, raw + 5, n - 5);
	records(&rec, &msg, 7);
	check("openssl ClientHello in 7-byte records", rec.b, rec.n, 16384,
	    "done 563 0303 name=x.example alpn=h2,http/1.1");
	records(&rec, &msg, 1);
	check("openssl ClientHello in 1-byte records", rec.b, rec.n, 16384,
	    "done 1968 0303 name=x.example alpn=h2,http/1.1");
	/* Cut short: waiting, whatever the cut. */
	check("openssl ClientHello truncated", raw, n - 1, 16384, "more");
	/* A CCS record in the middle of the handshake message (§5.1). */
	records(&rec, &msg, 100);
	rec.b[105] = 20;
	check("a record of another type between fragments", rec.b, rec.n, 16384,
	    "error record");
}

#define A10 "aaaaaaaaaa"
#define A50 A10 A10 A10 A10 A10

static void
test_built(void)
{
	static char big[300];
	hello h;
#define H(...) (h = (hello){ __VA_ARGS__ }, &h)
	check_hello("SNI and ALPN", H(.sni = "example.com", .alpn = "h2,http/1.1"), 16384,
	    "done 99 0303 name=example.com alpn=h2,http/1.1");
	check_hello("SNI lower-cased", H(.sni = "WWW.Example.COM"), 16384,
	    "done 85 0303 name=www.example.com alpn=");
	check_hello("SNI trailing dot dropped", H(.sni = "example.com."), 16384,
	    "done 82 0303 name=example.com alpn=");
	check_hello("SNI with digits and hyphens", H(.sni = "a-1.b2.example"), 16384,
	    "done 84 0303 name=a-1.b2.example alpn=");
	check_hello("no SNI", H(.alpn = "h2"), 16384, "done 70 0303 name= alpn=h2");
	check_hello("no extensions at all", H(.no_exts = 1), 16384, "done 52 0303 name= alpn=");
	check_hello("TLS 1.0 legacy_version", H(.sni = "a.example", .version = 0x0301), 16384,
	    "done 79 0301 name=a.example alpn=");
	check_hello("session id of 32", H(.sni = "a.example", .sid = 32), 16384,
	    "done 111 0303 name=a.example alpn=");
	check_hello("in 3-byte records", H(.sni = "example.com", .alpn = "h2,http/1.1"), 3,
	    "done 254 0303 name=example.com alpn=h2,http/1.1");
	check_hello("in 1-byte records", H(.sni = "example.com", .alpn = "h2,http/1.1"), 1,
	    "done 564 0303 name=example.com alpn=h2,http/1.1");
	memset(big, 'a', 255);
	big[63] = big[127] = big[191] = '.';
	big[255] = 0;
	{
		/* The expected line holds the name itself. */
		char want[400];
		snprintf(want, sizeof want, "done %u 0303 name=%s alpn=", 70 + 255, big);
		check_hello("SNI of 255 bytes", H(.sni = big), 16384, want);
	}
	check_hello("ALPN names beyond the room kept",
	    H(.alpn = "h2," A50 A50 A50 "aaaaaaa,http/1.1"),
	    16384, "done 237 0303 name= alpn=h2 cut");

	/* Refused: the message's own fields. */
	check_hello("not a ClientHello", H(.sni = "a.example", .type = 2), 16384,
	    "error not-hello");
	check_hello("legacy_version 2.0", H(.sni = "a.example", .version = 0x0200), 16384,
	    "error version");
	check_hello("session id of 33", H(.sni = "a.example", .sid = 33), 16384, "error length");
	check_hello("session id length 200", H(.sni = "a.example", .d_sid = 200), 16384,
	    "error length");
	check_hello("odd cipher_suites", H(.sni = "a.example", .ciphers = 3), 16384,
	    "error length");
	check_hello("cipher_suites past the message", H(.sni = "a.example", .d_ciphers = 300),
	    16384, "error length");
	check_hello("no compression method", H(.sni = "a.example", .comp = -1), 16384,
	    "error length");
	check_hello("extensions longer than the message", H(.sni = "a.example", .d_exts = 1),
	    16384, "error length");
	check_hello("extensions shorter than the message", H(.sni = "a.example", .d_exts = -1),
	    16384, "error length");
	check_hello("handshake length short of its body", H(.sni = "a.example", .d_hs = -3),
	    16384, "error length");
	check_hello("an extension past the block", H(.sni = "a.example", .pad = 8, .d_pad = 1),
	    16384, "error length");
	check_hello("message cut in the last record", H(.sni = "a.example", .d_hs = 2), 16384,
	    "more");
	/* server_name. */
	check_hello("server_name longer than its extension", H(.sni = "a.example",
	    .d_sni_ext = 1), 16384, "error length");
	check_hello("server_name list past its extension", H(.sni = "a.example",
	    .d_sni_list = 1), 16384, "error length");
	check_hello("server_name list short of its extension", H(.sni = "a.example",
	    .d_sni_list = -1), 16384, "error length");
	check_hello("host name past its list", H(.sni = "a.example", .d_sni_name = 1), 16384,
	    "error length");
	check_hello("host name short of its list", H(.sni = "a.example", .d_sni_name = -1),
	    16384, "error sni");
	check_hello("two host names", H(.sni = "a.example", .sni_names = 2), 16384,
	    "error sni");
	check_hello("empty server_name list", H(.sni = "a.example", .sni_names = -1), 16384,
	    "error sni");
	check_hello("name type 1", H(.sni = "a.example", .sni_type = 1), 16384, "error sni");
	check_hello("two server_name extensions", H(.sni = "a.example", .sni_twice = 1), 16384,
	    "error duplicate");
	check_hello("empty host name", H(.sni = ""), 16384, "error sni-name");
	check_hello("host name with an underscore", H(.sni = "a_b.example"), 16384,
	    "error sni-name");
	check_hello("host name with a space", H(.sni = "a b.example"), 16384, "error sni-name");
	check_hello("host name with a NUL", H(.sni = "a.exa\0mple", .sni_len = 10), 16384,
	    "error sni-name");
	check_hello("host name with a high byte", H(.sni = "caf\xc3\xa9.example"), 16384,
	    "error sni-name");
	check_hello("host name starting with a dot", H(.sni = ".example"), 16384,
	    "error sni-name");
	check_hello("host name with an empty label", H(.sni = "a..example"), 16384,
	    "error sni-name");
	check_hello("host name of one dot", H(.sni = "."), 16384, "error sni-name");
	check_hello("host name of two trailing dots", H(.sni = "a.."), 16384, "error sni-name");
	memset(big, 'a', 256);
	big[256] = 0;
	check_hello("host name of 256 bytes", H(.sni = big), 16384, "error sni-name");
	/* ALPN. */
	check_hello("empty ALPN list", H(.alpn = ""), 16384, "error alpn");
	check_hello("empty ALPN name", H(.alpn = "h2,,x"), 16384, "error alpn");
	check_hello("ALPN name past its list", H(.alpn = "h2,x", .d_alpn_name = 3), 16384,
	    "error length");
	check_hello("ALPN list past its extension", H(.alpn = "h2", .d_alpn_list = 1), 16384,
	    "error length");
	check_hello("ALPN extension past the block", H(.alpn = "h2", .d_alpn_ext = 1), 16384,
	    "error length");
	check_hello("two ALPN extensions", H(.alpn = "h2", .alpn_twice = 1), 16384,
	    "error duplicate");
#undef H
}

static void
test_records(void)
{
	static bb msg, rec;
	hello h = { .sni = "a.example" };
	kk_clienthello ch;
	const unsigned char *junk[] = {
		(const unsigned char *)"GET / HTTP/1.1\r\n",
		(const unsigned char *)"\x80\x2e\x01\x03\x01",	/* SSLv2 CLIENT-HELLO */
		(const unsigned char *)"\x17\x03\x03\x00\x10",	/* application data */
		(const unsigned char *)"\x16\x02\x00\x00\x10",	/* version 2 record */
	};
	size_t i;
	for (i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "not a TLS handshake record (%zu)", i);
		check(name, junk[i], 5, 16384, "error record");
	}
	check("record length 0", (const unsigned char *)"\x16\x03\x01\x00\x00", 5, 16384,
	    "error record-length");
	check("record length 2^14 + 1", (const unsigned char *)"\x16\x03\x01\x40\x01\x01", 6,
	    16384, "error record-length");

	/* Oversized: the largest message one record of the cap holds, then
	 * one byte more (refused from its handshake header on). */
	build_hello(&msg, &h);
	h.pad = (unsigned)(KK_CLIENTHELLO_MAX - 5 - msg.n - 4);
	build_hello(&msg, &h);
	records(&rec, &msg, KK_CLIENTHELLO_RECORD_MAX);
	check("ClientHello filling the cap", rec.b, rec.n, 16384,
	    "done 16384 0303 name=a.example alpn=");
	h.pad++;
	build_hello(&msg, &h);
	records(&rec, &msg, KK_CLIENTHELLO_RECORD_MAX);
	check("ClientHello one byte over the cap", rec.b, rec.n, 16384, "error too-large");
	kk_clienthello_init(&ch);
	is_str(show(&ch, kk_clienthello_parse(&ch, rec.b, 9, 16384)), "error too-large",
	    "oversized ClientHello refused from its first 9 bytes");
	/* Over the cap only through record headers. */
	h.pad -= 5;
	build_hello(&msg, &h);
	records(&rec, &msg, 8000);
	check("ClientHello over the cap in three records", rec.b, rec.n, 16384,
	    "error too-large");
	/* The caller's room. */
	h.pad = 1000;
	build_hello(&msg, &h);
	records(&rec, &msg, 16384);
	check("ClientHello larger than the caller's room", rec.b, rec.n, 1024, "error too-large");
	check("ClientHello within the caller's room", rec.b, rec.n, 2048,
	    "done 1083 0303 name=a.example alpn=");
	kk_clienthello_init(&ch);
	is_str(show(&ch, kk_clienthello_parse(&ch, rec.b, rec.n, 8)), "error too-large",
	    "a room too small for any record");
}

static void
test_detect(void)
{
	is_int(kk_clienthello_detect("", 0), 0, "detect: nothing yet");
	is_int(kk_clienthello_detect("\x16", 1), 0, "detect: handshake type only");
	is_int(kk_clienthello_detect("\x16\x03", 2), 1, "detect: TLS");
	is_int(kk_clienthello_detect("\x16\x03\x01\x02\x00", 5), 1, "detect: TLS record");
	is_int(kk_clienthello_detect("\x15\x03", 2), -1, "detect: alert");
	is_int(kk_clienthello_detect("\x16\x02", 2), -1, "detect: not 3.x");
	is_int(kk_clienthello_detect("GET", 3), -1, "detect: GET");
	is_int(kk_clienthello_detect("PROXY ", 6), -1, "detect: PROXY");
}

int
main(void)
{
	int e;
	test_captured();
	test_built();
	test_records();
	test_detect();
	for (e = 0; e < KK_CLIENTHELLO_E_COUNT; e++)
		ok(strcmp(kk_clienthello_err_name(e), "unknown"), "reason %d has a name", e);
	is_str(kk_clienthello_err_name(KK_CLIENTHELLO_E_COUNT), "unknown", "out of range");
	return done();
}
