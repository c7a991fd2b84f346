/* ISC license. */
/* HTTP/1.1 messages, without sockets: finding and parsing a head
 * (llhttp), validating what llhttp 8.1 lets through, re-serialising the
 * head for the other side, and a strict chunked decoder. The front and back
 * connection code drive these; unit tests feed them raw bytes. */
#ifndef KK_WORKER_H1_H
#define KK_WORKER_H1_H

#include <stddef.h>
#include <stdint.h>

#define KK_H1_MAXHDRS 100	/* more header fields: 431 */
#define KK_H1_MAXCONNOPTS 8	/* names listed by Connection, dropped */
#define KK_H1_HOSTMAX 256

/* Body framing of a message. */
enum { KK_H1_BODY_NONE = 0, KK_H1_BODY_LENGTH, KK_H1_BODY_CHUNKED, KK_H1_BODY_CLOSE };

/* Why a head was refused: kk_h1_err_status and kk_h1_err_name map each to
 * the answer and to the counter shown by status. */
enum kk_h1_err {
	KK_H1_OK = 0,
	KK_H1_E_BARE_LF,	/* LF without CR: framing differs between parsers */
	KK_H1_E_OBS_FOLD,	/* line folding, deprecated by RFC 9112 §5.2 */
	KK_H1_E_SYNTAX,		/* refused by llhttp */
	KK_H1_E_NAME,		/* bad header name (space before colon...) */
	KK_H1_E_VALUE,		/* control character in a value */
	KK_H1_E_TOO_MANY,	/* more than KK_H1_MAXHDRS fields */
	KK_H1_E_TOO_LARGE,	/* head larger than a buffer */
	KK_H1_E_CL_TE,		/* both Content-Length and Transfer-Encoding */
	KK_H1_E_CL,		/* bad or conflicting Content-Length */
	KK_H1_E_TE,		/* Transfer-Encoding other than chunked */
	KK_H1_E_HOST,		/* missing, repeated or malformed Host */
	KK_H1_E_VERSION,	/* not HTTP/1.0 or HTTP/1.1 */
	KK_H1_E_METHOD,		/* CONNECT: no tunnels on an http listener */
	KK_H1_E_TARGET,		/* request target of no known form */
	KK_H1_E_STATUS,		/* response status outside 100..599 */
	KK_H1_E_LOOKALIKE,	/* a field named like one the proxy acts on, '_' for '-' */
	KK_H1_E_REQUEST_LINE,	/* not exactly one SP between method, target, version */
	KK_H1_E_UPGRADE,	/* Upgrade not a list of protocols; a 101 naming none, or h2c */
	KK_H1_E_COUNT
};

/* Message flags. */
#define KK_H1_F_CLOSE 0x1	/* Connection: close */
#define KK_H1_F_KEEPALIVE 0x2	/* Connection: keep-alive */
#define KK_H1_F_EXPECT 0x4	/* Expect: 100-continue */
#define KK_H1_F_HEAD 0x8	/* request method HEAD */
/* A request that asks for an upgrade the proxy forwards: Upgrade naming a
 * protocol other than h2c, with Connection: upgrade, in HTTP/1.1; or its
 * answer, a 101 naming the protocol switched to (RFC 9110 §7.8). */
#define KK_H1_F_UPGRADE 0x10

/* Header kinds: what the serialiser does with a field. */
enum { KK_H1_H_KEEP = 0, KK_H1_H_DROP, KK_H1_H_XFF, KK_H1_H_HOST, KK_H1_H_UPGRADE };

typedef struct kk_h1span kk_h1span;
struct kk_h1span {
	uint32_t off, len;	/* relative to the head's base */
};

typedef struct kk_h1head kk_h1head;
struct kk_h1head {
	const char *base;
	uint32_t len;		/* head bytes, final CRLF included */
	unsigned char method;	/* llhttp_method_t */
	unsigned char major, minor;
	unsigned short status;
	unsigned flags;		/* KK_H1_F_* */
	unsigned body;		/* KK_H1_BODY_* */
	uint64_t clen;
	kk_h1span target;	/* as received */
	kk_h1span uri;		/* what goes upstream: origin-form */
	kk_h1span authority;	/* of an absolute-form target: upstream Host */
	kk_h1span path;		/* uri without query, for routing */
	kk_h1span reason;
	char host[KK_H1_HOSTMAX];	/* lower case, port stripped */
	uint32_t hostlen;
	unsigned nhdr;
	struct {
		kk_h1span name, value;
		unsigned char kind;
	} hdr[KK_H1_MAXHDRS];
	unsigned nconnopt;
	kk_h1span connopt[KK_H1_MAXCONNOPTS];
	unsigned char state;	/* llhttp callbacks: field or value last */
	unsigned char overflow;
};

/* What the proxy adds to a request going upstream. */
typedef struct kk_h1fwd kk_h1fwd;
struct kk_h1fwd {
	const char *client;	/* client address, for X-Forwarded-For */
	const char *proto;	/* "http" */
	const char *port;	/* listener port, NULL: no X-Forwarded-Port */
};

/* Looks for the end of a head in p[0, len). *scan is where the previous
 * call stopped (start at 0). Returns the head length, 0 when incomplete,
 * or -KK_H1_E_* (bare LF, obs-fold). */
long kk_h1_head_end(const char *p, size_t len, size_t *scan);
/* Parses and validates a complete head (length from kk_h1_head_end).
 * KK_H1_OK or the reason it is refused. */
int kk_h1_parse_request(kk_h1head *, const char *p, size_t len);
/* head_req: the request was HEAD (its response has no body). A 101 is
 * accepted with a valid Upgrade (KK_H1_F_UPGRADE set): whether the request
 * asked for it is the caller's to check. */
int kk_h1_parse_response(kk_h1head *, const char *p, size_t len, int head_req);
/* Writes the head to send upstream into out: request line in HTTP/1.1,
 * kept fields, Upgrade and Connection: upgrade for an upgrade (its
 * protocols but h2c), X-Forwarded-*, one framing header. Returns its
 * length, 0 when cap is too small. */
size_t kk_h1_write_request(const kk_h1head *, const kk_h1fwd *, char *out, size_t cap);
/* Writes the response head for the client. chunked: the body goes out
 * chunked; keepalive: the client connection stays open; client_minor: the
 * client's HTTP/1.x minor version. A 101 carries its Upgrade and
 * Connection: upgrade. */
size_t kk_h1_write_response(const kk_h1head *, int chunked, int keepalive, int client_minor,
    char *out, size_t cap);
/* A small complete response generated by the proxy (errors). */
size_t kk_h1_write_error(int status, int keepalive, char *out, size_t cap);

int kk_h1_err_status(int err);		/* 400, 431, 501, 505 */
const char *kk_h1_err_name(int err);	/* "bare-lf", ... */
const char *kk_h1_reason(int status);	/* "Bad Request", ... */

/* The chunked decoder (RFC 9112 §7.1): strict CRLF, chunk extensions
 * checked and dropped, trailers checked and dropped. */
enum { KK_H1_CHUNK_MORE = 0, KK_H1_CHUNK_DATA, KK_H1_CHUNK_END, KK_H1_CHUNK_ERR };
typedef struct kk_h1chunk kk_h1chunk;
struct kk_h1chunk {
	unsigned char state;
	unsigned char digits;
	uint16_t linelen;	/* extension or trailer bytes on this line */
	uint32_t trailers;	/* trailer bytes so far */
	uint64_t left;		/* data bytes left in the current chunk */
};
void kk_h1_chunk_init(kk_h1chunk *);
/* A re-chunked piece adds a size line (hex digits and CRLF) before its
 * data and a CRLF after it: 20 bytes cover a 64-bit size. */
#define KK_H1_CHUNK_OVERHEAD 20
/* Writes p[0, n) at out as one chunk, size line without extensions
 * (RFC 9112 §7.1); out has room for n + KK_H1_CHUNK_OVERHEAD. Returns the
 * bytes written. */
size_t kk_h1_put_chunk(char *out, const char *p, size_t n);
/* Consumes framing bytes from p[0, len), *used says how many. Returns
 * KK_H1_CHUNK_DATA when data starts at p + *used (d->left bytes, of which
 * the caller takes what it can, then lowers d->left and calls again),
 * KK_H1_CHUNK_MORE when every byte was used, KK_H1_CHUNK_END after the last
 * chunk and trailers, KK_H1_CHUNK_ERR on malformed framing. */
int kk_h1_chunk_next(kk_h1chunk *, const char *p, size_t len, size_t *used);

#endif
