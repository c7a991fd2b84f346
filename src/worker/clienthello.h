/* ISC license. */
/* A peek at a TLS ClientHello, without terminating TLS: the server name
 * (RFC 6066 §3) and the ALPN list (RFC 7301 §3.1) a client sends first,
 * for routing a tcp listener's connections by name. Only reads: the bytes
 * peeked go upstream unchanged, so nothing here writes to them. No
 * sockets, timers or allocation; the preamble step owns the deadline. */
#ifndef KK_WORKER_CLIENTHELLO_H
#define KK_WORKER_CLIENTHELLO_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes a peek may take: records, headers included, through the
 * end of the ClientHello. RFC 8446 §5.1 lets one handshake message span
 * several records, and clients do split it (some on purpose, to defeat
 * middleboxes), so records are reassembled; but a ClientHello is a few
 * hundred bytes, about 2 KiB with post-quantum key shares, and 16 KiB is
 * the worker's default buffer, which must hold every peeked byte until it
 * is forwarded. */
#define KK_CLIENTHELLO_MAX 16384
/* RFC 8446 §5.1: a record's length never exceeds 2^14. */
#define KK_CLIENTHELLO_RECORD_MAX 16384
#define KK_CLIENTHELLO_NAME_MAX 255	/* a DNS name's longest text form */
/* Room for the ALPN names kept: browsers send about 12 bytes ("h2",
 * "http/1.1"); names past this room are counted in alpn_cut. */
#define KK_CLIENTHELLO_ALPN_MAX 128

/* kk_clienthello_parse results. */
enum { KK_CLIENTHELLO_MORE = 0, KK_CLIENTHELLO_DONE, KK_CLIENTHELLO_ERROR };

/* Why a peek failed: an index for counters, named for status by
 * kk_clienthello_err_name. */
enum kk_clienthello_err {
	KK_CLIENTHELLO_E_NONE = 0,
	KK_CLIENTHELLO_E_RECORD,	/* not a handshake record of TLS (type 22, 3.x) */
	KK_CLIENTHELLO_E_RECORD_LEN,	/* record length 0 or over 2^14 */
	KK_CLIENTHELLO_E_NOT_HELLO,	/* first handshake message not a ClientHello */
	KK_CLIENTHELLO_E_TOO_LARGE,	/* over KK_CLIENTHELLO_MAX or the caller's room */
	KK_CLIENTHELLO_E_VERSION,	/* legacy_version not 3.x */
	KK_CLIENTHELLO_E_LENGTH,	/* a length past, or short of, its container */
	KK_CLIENTHELLO_E_DUP,		/* server_name or ALPN extension twice (RFC 8446 §4.2) */
	KK_CLIENTHELLO_E_SNI,		/* server_name list empty, two names, or not host_name */
	KK_CLIENTHELLO_E_SNI_NAME,	/* host name empty, too long, or not LDH and dots */
	KK_CLIENTHELLO_E_ALPN,		/* ALPN list empty or with an empty name */
	/* Never returned by the parser: the caller records these when the
	 * peer closes, or the deadline passes, while the parser says MORE. */
	KK_CLIENTHELLO_E_TRUNCATED,
	KK_CLIENTHELLO_E_TIMEOUT,
	KK_CLIENTHELLO_E_COUNT
};

typedef struct kk_clienthello kk_clienthello;
struct kk_clienthello {
	/* Results, after DONE. */
	uint32_t len;		/* bytes of the records carrying the ClientHello */
	uint16_t version;	/* legacy_version, 0x0303 for TLS 1.2 and 1.3 */
	uint16_t namelen;	/* 0: no server_name extension */
	/* The server name for matching: lower case, a trailing dot dropped,
	 * NUL-terminated. The input keeps the client's own bytes. */
	char name[KK_CLIENTHELLO_NAME_MAX + 1];
	/* The client's ALPN names in their wire form (each a length byte,
	 * then the name), as many whole names as fit; alpn_len 0 and alpn_cut
	 * 0: no ALPN extension. */
	unsigned char alpn[KK_CLIENTHELLO_ALPN_MAX];
	uint16_t alpn_len;
	uint16_t alpn_cut;	/* names left out for lack of room */
	unsigned char err;	/* after ERROR: enum kk_clienthello_err */
	/* Between calls: how far the records were walked. */
	unsigned char hs_hdr[4];	/* the handshake header, as it arrives */
	uint32_t scan;		/* offset of the next record header */
	uint32_t hs_have;	/* handshake bytes in the whole records walked */
};

/* From the first bytes of a connection: 1 when they start a TLS handshake
 * record, 0 when too few to tell, -1 when they cannot. */
int kk_clienthello_detect(const void *p, size_t len);

/* Forgets any earlier peek: call once per connection, before parsing. */
void kk_clienthello_init(kk_clienthello *);

/* Peeks at the ClientHello that starts p[0, len), the bytes read so far;
 * call again with the same bytes and more after them when more arrive
 * (whole records already walked are not walked again). Reads no byte at
 * or past len. max: the most bytes the caller can hold (its buffer's
 * size); a ClientHello needing more, or more than KK_CLIENTHELLO_MAX, is
 * refused as soon as its lengths say so. Returns KK_CLIENTHELLO_MORE,
 * KK_CLIENTHELLO_DONE (the results are filled) or KK_CLIENTHELLO_ERROR
 * (ch->err says why: close the connection). */
int kk_clienthello_parse(kk_clienthello *ch, const void *p, size_t len, size_t max);

const char *kk_clienthello_err_name(int err);	/* "record", ... */

#endif
