/* ISC license. */
/* The PROXY protocol, versions 1 (text) and 2 (binary), as specified in
 * HAProxy's proxy-protocol.txt: a strict parser for the header a trusted
 * load balancer puts before a client's bytes, and a builder for the header
 * kakehi sends before its own bytes to a backend. No sockets, no timers,
 * no allocation: the preamble step of a connection drives these, and owns
 * the deadline and the counting. */
#ifndef KK_WORKER_PROXYHDR_H
#define KK_WORKER_PROXYHDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <kakehi/addr.h>

/* Spec §2.1: a v1 line, CRLF included, never exceeds 107 bytes. */
#define KK_PROXYHDR_V1_MAX 107
/* Spec §2.2: a v2 header is a 16-byte fixed part, then its length field. */
#define KK_PROXYHDR_V2_FIXED 16
/* The largest v2 header accepted, fixed part included. The spec allows
 * 16 + 65535 bytes, but addresses take at most 216 (two unix paths) and
 * the TLVs real senders add (HAProxy's SSL block, cloud load balancers'
 * endpoint ids) stay well under 1 KiB; 4 KiB keeps room for them while
 * bounding what a connection may hold before it is known to be valid. */
#define KK_PROXYHDR_V2_MAX 4096
/* A buffer this large holds any header kk_proxyhdr_build writes (a v1
 * line at most; v2 with IPv6 addresses is 52 bytes). */
#define KK_PROXYHDR_BUILD_MAX KK_PROXYHDR_V1_MAX

/* kk_proxyhdr_parse results. */
enum { KK_PROXYHDR_MORE = 0, KK_PROXYHDR_DONE, KK_PROXYHDR_ERROR };

/* Why a header was refused: an index for counters, named for status by
 * kk_proxyhdr_err_name. */
enum kk_proxyhdr_err {
	KK_PROXYHDR_E_NONE = 0,
	KK_PROXYHDR_E_SIGNATURE,	/* neither "PROXY " nor the v2 signature */
	KK_PROXYHDR_E_V1_LONG,		/* no CRLF within 107 bytes */
	KK_PROXYHDR_E_V1_CRLF,		/* bare LF, or CR not before LF */
	KK_PROXYHDR_E_V1_PROTO,		/* not TCP4, TCP6 or UNKNOWN */
	KK_PROXYHDR_E_V1_SYNTAX,	/* fields not separated by one space */
	KK_PROXYHDR_E_V1_ADDR,		/* address not valid for TCP4/TCP6 */
	KK_PROXYHDR_E_V1_PORT,		/* port not 0..65535 or leading zero */
	KK_PROXYHDR_E_V2_VERSION,	/* version nibble not 2 */
	KK_PROXYHDR_E_V2_COMMAND,	/* command neither LOCAL nor PROXY */
	KK_PROXYHDR_E_V2_FAMILY,	/* unassigned family or transport */
	KK_PROXYHDR_E_V2_SHORT,		/* length below what the family needs */
	KK_PROXYHDR_E_V2_TLV,		/* a TLV overruns the header */
	KK_PROXYHDR_E_TOO_LARGE,	/* v2 length over the cap or the caller's room */
	/* Never returned by the parser: the caller records these when the
	 * peer closes, or the deadline passes, while the parser says MORE,
	 * so every refused header is counted in the same table. */
	KK_PROXYHDR_E_TRUNCATED,
	KK_PROXYHDR_E_TIMEOUT,
	KK_PROXYHDR_E_COUNT
};

/* v2 command and transport as they are on the wire (spec §2.2). */
enum { KK_PROXYHDR_LOCAL = 0, KK_PROXYHDR_PROXY = 1 };
enum { KK_PROXYHDR_T_UNSPEC = 0, KK_PROXYHDR_T_STREAM = 1, KK_PROXYHDR_T_DGRAM = 2 };

typedef struct kk_proxyhdr kk_proxyhdr;
struct kk_proxyhdr {
	uint32_t len;		/* DONE: header bytes, to drop from the input */
	unsigned char version;	/* 1 or 2 */
	unsigned char command;	/* KK_PROXYHDR_LOCAL or _PROXY (v1: PROXY) */
	unsigned char transport;	/* KK_PROXYHDR_T_*; v1 TCP4/TCP6: STREAM */
	unsigned char err;	/* ERROR: enum kk_proxyhdr_err */
	/* The client's address and the one it connected to, for forwarding
	 * headers and counters. len 0 (LOCAL, v1 UNKNOWN, v2 UNSPEC): keep the
	 * connection's own addresses, as the spec asks. Families: AF_INET,
	 * AF_INET6, and in v2 AF_UNIX (a sockaddr_un with the 108-byte path). */
	kk_addr src, dst;
	/* v2: the TLV block, offsets from the header's first byte; every TLV
	 * in it is known to fit. Empty for v1 and for LOCAL. */
	uint32_t tlv_off, tlv_len;
};

/* From the first bytes of a connection: 1 when they start a v1 header, 2
 * a v2 header, 0 when they could still start either (len too short to
 * tell), -1 when they cannot. */
int kk_proxyhdr_detect(const void *p, size_t len);

/* Parses the header at the start of p[0, len), the bytes read so far;
 * call again with the longer prefix when more arrive. Reads no byte at
 * or past len. max: the most bytes the caller can hold for the header
 * (its buffer's size); a v2 header needing more, or more than
 * KK_PROXYHDR_V2_MAX, is refused at once. Returns KK_PROXYHDR_MORE (h
 * is undefined), KK_PROXYHDR_DONE (h is filled, h->len bytes are the
 * header) or KK_PROXYHDR_ERROR (h->err says why; close the connection).
 * A v1 line is refused as soon as its bytes cannot be a valid header. */
int kk_proxyhdr_parse(kk_proxyhdr *h, const void *p, size_t len, size_t max);

/* Writes a header announcing a connection from src to dst into out:
 * version 1 or 2, src and dst AF_INET or AF_INET6 (an AF_INET one is
 * written as IPv4-mapped when the other is AF_INET6). src and dst NULL:
 * a connection of kakehi's own (v1 UNKNOWN, v2 LOCAL). Returns the length,
 * 0 when cap is too small or an address has another family. */
size_t kk_proxyhdr_build(void *out, size_t cap, int version, const struct sockaddr *src,
    const struct sockaddr *dst);

/* Writes the header on fd, a connection just made, before any other
 * byte (a TLS handshake's too, spec §2): its send buffer is empty, so the
 * few bytes go whole or the connection has failed. 1 sent; 0 with errno
 * (EAFNOSUPPORT: an address kk_proxyhdr_build refuses). */
int kk_proxyhdr_send(int fd, int version, const struct sockaddr *src,
    const struct sockaddr *dst);

const char *kk_proxyhdr_err_name(int err);	/* "signature", ... */

#endif
