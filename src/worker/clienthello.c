/* ISC license. */
/* The ClientHello peek: first a walk over whole TLS records until they
 * hold the handshake message (resumed where it stopped on each call, so a
 * ClientHello trickled one byte at a time costs linear work), then one
 * parse of the message across those records, every length checked
 * against its container. Server name and ALPN are kept; the rest of the
 * message is only checked to be well formed. */
#include <string.h>
#include "clienthello.h"

#define REC_HDR 5		/* type, legacy_record_version, length */
#define HS_HDR 4		/* msg_type, 24-bit length */
#define CT_HANDSHAKE 22		/* RFC 8446 §B.1 */
#define HT_CLIENT_HELLO 1	/* RFC 8446 §B.3 */
#define EXT_SERVER_NAME 0	/* RFC 6066 §3 */
#define EXT_ALPN 16		/* RFC 7301 §3.1 */
#define SNI_HOST_NAME 0
#define RANDOM_LEN 32
#define SESSION_ID_MAX 32	/* legacy_session_id<0..32> */

int
kk_clienthello_detect(const void *p, size_t len)
{
	const unsigned char *b = p;
	if (len >= 1 && b[0] != CT_HANDSHAKE)
		return -1;
	if (len >= 2 && b[1] != 3)
		return -1;
	return len >= 2 ? 1 : 0;
}

void
kk_clienthello_init(kk_clienthello *ch)
{
	ch->scan = ch->hs_have = 0;
	memset(ch->hs_hdr, 0, sizeof ch->hs_hdr);
	ch->err = KK_CLIENTHELLO_E_NONE;
}

static int
fail(kk_clienthello *ch, int err)
{
	ch->err = (unsigned char)err;
	return KK_CLIENTHELLO_ERROR;
}

static uint32_t
be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* The handshake message's size, header included, once its header is in. */
static uint32_t
hs_size(const unsigned char hdr[HS_HDR])
{
	return HS_HDR + ((uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3]);
}

/* Takes the handshake bytes of a record, or of the part of it present,
 * into the header being gathered; hdr holds have bytes before the call.
 * Refuses what the header already shows to be wrong. */
static int
gather_hdr(kk_clienthello *ch, unsigned char hdr[HS_HDR], uint32_t have,
    const unsigned char *frag, size_t n, size_t cap)
{
	size_t i;
	for (i = 0; have + i < HS_HDR && i < n; i++)
		hdr[have + i] = frag[i];
	if (have + i >= 1 && hdr[0] != HT_CLIENT_HELLO)
		return fail(ch, KK_CLIENTHELLO_E_NOT_HELLO);
	/* The message alone, in one record, needs this much: a lower bound. */
	if (have + i >= HS_HDR && hs_size(hdr) > cap - REC_HDR)
		return fail(ch, KK_CLIENTHELLO_E_TOO_LARGE);
	return KK_CLIENTHELLO_MORE;
}

/* Walks whole records from ch->scan until they hold the handshake
 * message. MORE: wait for bytes; DONE: ch->scan ends the last record. */
static int
walk_records(kk_clienthello *ch, const unsigned char *p, size_t len, size_t cap)
{
	while (ch->hs_have < HS_HDR || ch->hs_have < hs_size(ch->hs_hdr)) {
		const unsigned char *r = p + ch->scan;
		size_t avail = len > ch->scan ? len - ch->scan : 0, rlen, n;
		unsigned char hdr[HS_HDR];
		int res;
		if (avail >= 1 && r[0] != CT_HANDSHAKE)
			return fail(ch, KK_CLIENTHELLO_E_RECORD);
		if (avail >= 2 && r[1] != 3)
			return fail(ch, KK_CLIENTHELLO_E_RECORD);
		if (avail < REC_HDR) {
			if (ch->scan + REC_HDR > cap)
				return fail(ch, KK_CLIENTHELLO_E_TOO_LARGE);
			return KK_CLIENTHELLO_MORE;
		}
		rlen = be16(r + 3);
		if (!rlen || rlen > KK_CLIENTHELLO_RECORD_MAX)
			return fail(ch, KK_CLIENTHELLO_E_RECORD_LEN);
		if (ch->scan + REC_HDR + rlen > cap)
			return fail(ch, KK_CLIENTHELLO_E_TOO_LARGE);
		n = avail - REC_HDR < rlen ? avail - REC_HDR : rlen;
		memcpy(hdr, ch->hs_hdr, sizeof hdr);
		res = gather_hdr(ch, hdr, ch->hs_have < HS_HDR ? ch->hs_have : HS_HDR,
		    r + REC_HDR, n, cap);
		if (res != KK_CLIENTHELLO_MORE)
			return res;
		if (n < rlen)
			return KK_CLIENTHELLO_MORE;
		memcpy(ch->hs_hdr, hdr, sizeof hdr);
		ch->hs_have += (uint32_t)rlen;
		ch->scan += (uint32_t)(REC_HDR + rlen);
	}
	return KK_CLIENTHELLO_DONE;
}

/* A reader of the handshake message across the records walked: left
 * counts the message bytes not yet read, so no read passes its end, and
 * the walk made sure every one of them is in the input. */
typedef struct rd rd;
struct rd {
	const unsigned char *p;
	size_t pos;		/* next byte in the input */
	size_t recleft;		/* bytes left in the current record */
	size_t left;		/* bytes left in the message */
};

static int
rd_u8(rd *r, uint32_t *v)
{
	if (!r->left)
		return 0;
	if (!r->recleft) {
		r->recleft = be16(r->p + r->pos + 3);
		r->pos += REC_HDR;
	}
	r->left--;
	r->recleft--;
	*v = r->p[r->pos++];
	return 1;
}

static int
rd_u16(rd *r, uint32_t *v)
{
	uint32_t hi, lo;
	if (!rd_u8(r, &hi) || !rd_u8(r, &lo))
		return 0;
	*v = hi << 8 | lo;
	return 1;
}

static int
rd_skip(rd *r, size_t n)
{
	uint32_t v;
	if (n > r->left)
		return 0;
	while (n--)
		rd_u8(r, &v);
	return 1;
}

static int
is_ldh(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-';
}

/* server_name (RFC 6066 §3) of elen bytes. One entry, of type host_name,
 * as BoringSSL and OpenSSL also require: RFC 6066 forbids two names of
 * one type, and no other type exists. The name: letters, digits, hyphens
 * and dots (RFC 1123 §2.1), no empty label; a trailing dot, which the RFC
 * says not to send, is dropped rather than refused, as Host is in h1.c. */
static int
parse_sni(kk_clienthello *ch, rd *r, uint32_t elen)
{
	uint32_t list, type, nlen, i, c, prev = '.';
	if (elen < 2 || !rd_u16(r, &list) || list != elen - 2)
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	if (list < 3)
		return fail(ch, KK_CLIENTHELLO_E_SNI);
	if (!rd_u8(r, &type) || !rd_u16(r, &nlen))
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	if (type != SNI_HOST_NAME)
		return fail(ch, KK_CLIENTHELLO_E_SNI);
	if (nlen > list - 3)
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	if (nlen < list - 3)
		return fail(ch, KK_CLIENTHELLO_E_SNI);
	if (!nlen || nlen > KK_CLIENTHELLO_NAME_MAX)
		return fail(ch, KK_CLIENTHELLO_E_SNI_NAME);
	for (i = 0; i < nlen; i++) {
		rd_u8(r, &c);
		if (c == '.' ? prev == '.' : !is_ldh(c))
			return fail(ch, KK_CLIENTHELLO_E_SNI_NAME);
		ch->name[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		prev = c;
	}
	/* The first byte is no dot, so the name stays non-empty. */
	if (prev == '.')
		i--;
	ch->name[i] = 0;
	ch->namelen = (uint16_t)i;
	return KK_CLIENTHELLO_DONE;
}

/* ALPN (RFC 7301 §3.1): ProtocolNameList<2..2^16-1> of names <1..2^8-1>. */
static int
parse_alpn(kk_clienthello *ch, rd *r, uint32_t elen)
{
	uint32_t list, plen;
	if (elen < 2 || !rd_u16(r, &list) || list != elen - 2)
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	if (list < 2)
		return fail(ch, KK_CLIENTHELLO_E_ALPN);
	while (list) {
		if (!rd_u8(r, &plen))
			return fail(ch, KK_CLIENTHELLO_E_LENGTH);
		if (!plen)
			return fail(ch, KK_CLIENTHELLO_E_ALPN);
		if (plen > list - 1)
			return fail(ch, KK_CLIENTHELLO_E_LENGTH);
		list -= 1 + plen;
		if (!ch->alpn_cut && ch->alpn_len + 1 + plen <= KK_CLIENTHELLO_ALPN_MAX) {
			uint32_t i, c;
			ch->alpn[ch->alpn_len++] = (unsigned char)plen;
			for (i = 0; i < plen; i++) {
				if (!rd_u8(r, &c))
					return fail(ch, KK_CLIENTHELLO_E_LENGTH);
				ch->alpn[ch->alpn_len++] = (unsigned char)c;
			}
		} else {
			ch->alpn_cut++;
			rd_skip(r, plen);
		}
	}
	return KK_CLIENTHELLO_DONE;
}

/* The ClientHello of RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2, whose
 * extensions are optional): every field bounded by the message, the
 * extension block filling it exactly. */
static int
parse_hello(kk_clienthello *ch, const unsigned char *p)
{
	rd r = { p, 0, 0, HS_HDR };
	uint32_t v, n, exts;
	unsigned seen = 0;
	rd_skip(&r, HS_HDR);
	r.left = hs_size(ch->hs_hdr) - HS_HDR;
	if (!rd_u16(&r, &v))
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	if (v >> 8 != 3)
		return fail(ch, KK_CLIENTHELLO_E_VERSION);
	ch->version = (uint16_t)v;
	if (!rd_skip(&r, RANDOM_LEN) || !rd_u8(&r, &n) || n > SESSION_ID_MAX || !rd_skip(&r, n))
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	/* cipher_suites<2..2^16-2>, two bytes each. */
	if (!rd_u16(&r, &n) || n < 2 || n % 2 || !rd_skip(&r, n))
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	/* legacy_compression_methods<1..2^8-1>. */
	if (!rd_u8(&r, &n) || n < 1 || !rd_skip(&r, n))
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	if (!r.left)
		return KK_CLIENTHELLO_DONE;
	if (!rd_u16(&r, &exts) || exts != r.left)
		return fail(ch, KK_CLIENTHELLO_E_LENGTH);
	while (r.left) {
		uint32_t type, elen;
		int res = KK_CLIENTHELLO_DONE;
		if (!rd_u16(&r, &type) || !rd_u16(&r, &elen) || elen > r.left)
			return fail(ch, KK_CLIENTHELLO_E_LENGTH);
		if (type == EXT_SERVER_NAME || type == EXT_ALPN) {
			unsigned bit = type == EXT_SERVER_NAME ? 1 : 2;
			if (seen & bit)
				return fail(ch, KK_CLIENTHELLO_E_DUP);
			seen |= bit;
			res = bit == 1 ? parse_sni(ch, &r, elen) : parse_alpn(ch, &r, elen);
		} else
			rd_skip(&r, elen);
		if (res != KK_CLIENTHELLO_DONE)
			return res;
	}
	return KK_CLIENTHELLO_DONE;
}

int
kk_clienthello_parse(kk_clienthello *ch, const void *p, size_t len, size_t max)
{
	size_t cap = max < KK_CLIENTHELLO_MAX ? max : KK_CLIENTHELLO_MAX;
	int res;
	/* A cap below one record header and one byte can hold nothing. */
	if (cap < REC_HDR + HS_HDR)
		return fail(ch, KK_CLIENTHELLO_E_TOO_LARGE);
	res = walk_records(ch, p, len, cap);
	if (res != KK_CLIENTHELLO_DONE)
		return res;
	ch->len = ch->scan;
	ch->namelen = 0;
	ch->name[0] = 0;
	ch->alpn_len = ch->alpn_cut = 0;
	return parse_hello(ch, p);
}

const char *
kk_clienthello_err_name(int err)
{
	static const char *const names[KK_CLIENTHELLO_E_COUNT] = {
		"ok", "record", "record-length", "not-hello", "too-large", "version",
		"length", "duplicate", "sni", "sni-name", "alpn", "truncated", "timeout",
	};
	return err >= 0 && err < KK_CLIENTHELLO_E_COUNT ? names[err] : "unknown";
}
