/* ISC license. */
/* Message heads as the stream sees them, whatever protocol carried them:
 * a request head (method, scheme, authority, path, fields, body framing),
 * a response head (status, fields, framing) and a block of trailer
 * fields. A protocol's parser fills one from its bytes, a protocol's
 * writer turns one into bytes; between them, kk_head_forward and its
 * siblings apply the forwarding rules of HTTP itself (RFC 9110 §7.6:
 * hop-by-hop fields, X-Forwarded-*, Host), once, for every protocol.
 *
 * Memory stays flat: a head is a scratch structure of its parser (one is
 * parsed at a time), and every name and value is a span, an offset and a
 * length into the bytes the head was parsed from (base: the connection's
 * input buffer), valid until those bytes are consumed. Only the few
 * fields the proxy adds have text of their own, in the head. */
#ifndef KK_WORKER_HEAD_H
#define KK_WORKER_HEAD_H

#include <stddef.h>
#include <stdint.h>
#include <kakehi/action.h>
#include <kakehi/state.h>

#define KK_HEAD_MAXFIELDS 100	/* more fields: 431 */
#define KK_HEAD_HOSTMAX 256
/* Text of the fields the proxy adds (X-Forwarded-*, Forwarded, the
 * request id): a trusted client's own X-Forwarded-For and Forwarded
 * lists, joined, with this hop. As large as a default
 * buffer (16 KiB), which a head must fit to go upstream anyway; a longer
 * list is refused (431), as a head that does not fit a buffer is. One
 * head is parsed at a time, so this is static memory, not per request. */
#define KK_HEAD_ADDMAX 16384
/* X-Forwarded-For, -Proto, -Port, -Host, Forwarded, the request id,
 * X-Client-Cert-Subject and -Verified, then a frontend's header edits. */
#define KK_HEAD_MAXADD (8 + KK_ACTION_MAX)
/* A trusted client's request id longer than this, or with bytes other
 * than visible ASCII, is replaced by one of ours. */
#define KK_HEAD_REQID_MAX 128

typedef struct kk_span kk_span;
struct kk_span {
	uint32_t off, len;	/* relative to the base of the head */
};

/* Body framing: a length known in advance (clen), none, or a length only
 * the end of the body tells (h1 chunked or close-delimited). */
enum { KK_BODY_NONE = 0, KK_BODY_LENGTH, KK_BODY_UNKNOWN };

/* What a field is to a proxy (kk_field_id). Ids from KK_FLD_HOST on
 * are request fields: in a response they are ordinary. */
enum {
	KK_FLD_OTHER = 0, KK_FLD_CONNECTION, KK_FLD_CONTENT_LENGTH,
	KK_FLD_TRANSFER_ENCODING,
	KK_FLD_HOP,		/* other hop-by-hop fields (RFC 9110 §7.6.1) */
	KK_FLD_TRAILER,		/* announces trailers, for a body that carries them */
	KK_FLD_UPGRADE,		/* hop-by-hop, rebuilt for an upgrade */
	KK_FLD_HOST,
	/* The forwarding fields, in the order of the KK_FORWARD_* bits
	 * (kakehi/state.h): a trusted proxy's are kept (and the lists
	 * extended), any other client's dropped (kk_head_forward). */
	KK_FLD_XFF, KK_FLD_XFP, KK_FLD_XFPORT, KK_FLD_XFHOST, KK_FLD_FORWARDED,
	/* X-Client-Cert-Subject and -Verified: the proxy's to write, so a
	 * client's are dropped, never trusted. */
	KK_FLD_XF_OTHER,
	KK_FLD_EXPECT,
	KK_FLD_LOOKALIKE	/* one of the above with '_' for '-' */
};

/* A field and what forwarding does with it (fwd: 1 passed on as it is,
 * 0 dropped, or rebuilt by the writer from its id: Upgrade). */
typedef struct kk_field kk_field;
struct kk_field {
	kk_span name, value;
	unsigned char id;	/* KK_FLD_* */
	unsigned char fwd;
};

typedef struct kk_fields kk_fields;
struct kk_fields {
	const char *base;	/* what the spans are relative to */
	unsigned n;
	kk_field f[KK_HEAD_MAXFIELDS];
};

/* Head flags. */
#define KK_HEAD_F_HEAD 0x1	/* the request method is HEAD: no response body */
/* The request asks for a protocol switch the proxy forwards, or the
 * response is the 101 that grants it (RFC 9110 §7.8). */
#define KK_HEAD_F_UPGRADE 0x2
#define KK_HEAD_F_TARGET_AUTHORITY 0x4	/* authority from the target, not a Host field */
#define KK_HEAD_F_HOST_FIELD 0x8	/* a forwarded Host field carries the authority */
#define KK_HEAD_F_TRAILERS 0x10	/* a Trailer field announces trailer fields */
/* The request's path span is into its text, not its base: a frontend
 * rewrote it (edit.c). */
#define KK_HEAD_F_PATH_TEXT 0x20
/* The request is a tunnel a protocol asked for in its own terms, as
 * HTTP/2's extended CONNECT (RFC 8441), made an upgrade for an HTTP/1.1
 * backend; the bytes after its head are the tunnel's. */
#define KK_HEAD_F_CONNECT_PROTOCOL 0x4000

enum { KK_SCHEME_HTTP = 0, KK_SCHEME_HTTPS };
/* The protocol a request came in, as the access log names it. */
enum { KK_VERSION_10 = 0, KK_VERSION_11, KK_VERSION_2 };

typedef struct kk_reqhead kk_reqhead;
struct kk_reqhead {
	kk_fields fl;
	kk_span method;
	kk_span path;		/* what goes upstream: origin-form, query included */
	uint32_t pathlen;	/* the path without its query, for routing */
	kk_span authority;	/* the target's, or the Host field's value */
	unsigned flags;		/* KK_HEAD_F_* */
	unsigned char scheme;	/* KK_SCHEME_* */
	unsigned char body;	/* KK_BODY_* */
	unsigned char version;	/* KK_VERSION_* */
	uint64_t clen;
	char host[KK_HEAD_HOSTMAX];	/* the authority's host: lower case, no port */
	uint32_t hostlen;
	/* Added by kk_head_forward: spans into text, which holds them as
	 * field lines, "name: value" and CRLF each. */
	unsigned nadd;
	kk_field add[KK_HEAD_MAXADD];
	uint32_t textlen;
	char text[KK_HEAD_ADDMAX];
	/* The request id sent upstream, when the listener gives one: in
	 * text, or in the client's field; reqidlen 0: none. */
	const char *reqid;
	uint32_t reqidlen;
};

typedef struct kk_resphead kk_resphead;
struct kk_resphead {
	kk_fields fl;
	unsigned short status;
	kk_span reason;		/* the reason phrase, when the protocol has one */
	unsigned flags;		/* KK_HEAD_F_* */
	unsigned char body;	/* KK_BODY_* */
	/* The length: of the body, or for HEAD and 304 of the
	 * representation (RFC 9110 §8.6), kept when there is no body. */
	uint64_t clen;
	/* A Set-Cookie value the proxy adds to a final response (a sticky
	 * cluster's, from the stream), text of its own; NULL: none. */
	const char *set_cookie;
	/* Added by a frontend's header edits (edit.h): spans into abase,
	 * the route's action text, which lives as long as the router
	 * snapshot the stream holds. */
	const char *abase;
	unsigned nadd;
	kk_field add[KK_ACTION_MAX];
};

/* What the proxy says of the hop it adds. */
typedef struct kk_fwd kk_fwd;
struct kk_fwd {
	const char *client;	/* the client's address, for X-Forwarded-For */
	unsigned char client_v6;	/* it is IPv6 (bracketed in Forwarded) */
	/* The client is a trusted proxy (set trusted-proxies): its
	 * forwarding fields and request id are kept. */
	unsigned char trusted;
	unsigned fields;	/* KK_FORWARD_*: the listener's --forward */
	const char *port;	/* the listener's port, NULL: no X-Forwarded-Port */
	/* The listener's --request-id field: its name as written, then
	 * ": "; and the name alone in lower case; reqidlen, the name's
	 * length, 0: none. */
	const char *reqid, *reqid_lower;
	uint32_t reqidlen;
	unsigned char cert;	/* KK_FWD_CERT_*: what X-Client-Cert-Verified says */
	const char *subject;	/* the verified client certificate's subject, or NULL */
};
/* A listener without a client CA says nothing of client certificates;
 * one with a CA says whether the client sent one (it verified, or the
 * handshake would have been refused). */
enum { KK_FWD_CERT_UNASKED = 0, KK_FWD_CERT_NONE, KK_FWD_CERT_VERIFIED };

/* Which field a name is: KK_FLD_LOOKALIKE for a look-alike of one the
 * proxy acts on, KK_FLD_OTHER for any other. */
int kk_field_id(const char *name, uint32_t len);
/* Splits a comma-separated list value v of base: the next element
 * (trimmed) at or after *pos, 0 when none is left. */
int kk_list_next(const char *base, kk_span v, uint32_t *pos, kk_span *el);
/* Whether span s of base is lit, ignoring case. */
int kk_span_is(const char *base, kk_span s, const char *lit);
/* The value of the first field of fl named name, any case: 1 found. */
int kk_fields_find(const kk_fields *fl, const char *name, kk_span *value);
/* The value of the cookie called name (case matters) in the Cookie
 * fields of fl, whose pairs "name=value" are separated by ';' (RFC 6265
 * §4.2.1): 1 found. */
int kk_fields_cookie(const kk_fields *fl, const char *name, size_t nlen, kk_span *value);

/* Sets h->host from an authority s[0, n) (a Host value, :authority or
 * the target's): lower case, port stripped, only characters a host name
 * or an IP literal may hold. 1 done, 0 not a valid authority. */
int kk_head_set_host(kk_reqhead *h, const char *s, size_t n);

/* The listener's limits (kk_limits) applied to a parsed request, the
 * same whatever protocol carried it: 414 for a target (path and query)
 * longer than --max-uri, 431 for more fields than --max-headers or a head
 * larger than --max-request-head (both counted as HTTP/1.1 carries the
 * head: request line, field lines and their CRLFs, and a Host field for
 * an authority no Host field gave), 413 for a Content-Length past --max-body; 0 within them all. A
 * body without a length is counted as it streams (stream.c). */
int kk_head_limits(const kk_reqhead *, const kk_limits *);

/* The forwarding rules, applied once to a parsed request going upstream:
 * hop-by-hop fields and those Connection names dropped, Upgrade kept only
 * for an upgrade, Host kept only when the authority came from it; the
 * forwarding fields of fwd->fields written for this hop: from a trusted
 * client its X-Forwarded-For and Forwarded lists extended and its other
 * X-Forwarded-* kept, from any other client all of them dropped and
 * ours alone sent; the request id (fwd->reqid) a trusted client's when
 * it sent one, else a new one (kk_reqid_next), in h->reqid; the client's
 * X-Client-Cert-* fields dropped and the connection's own added when its
 * listener asks for one. 1 done, 0 the added fields do not fit (431). */
int kk_head_forward(kk_reqhead *, const kk_fwd *fwd);
/* Adds the field name: value to those kk_head_forward added, after
 * them. 1 done, 0 it does not fit (431). */
int kk_head_add(kk_reqhead *, const char *name, uint32_t nlen, const char *value,
    uint32_t vlen);
/* The same for a response going to the client. */
void kk_head_forward_response(kk_resphead *);
/* Trailer fields: framing, routing and hop-by-hop fields never pass
 * (RFC 9110 §6.5.1); the rest is forwarded. */
void kk_head_forward_trailers(kk_fields *);

/* The answers the proxy makes itself (errors), alike over HTTP/1.1 and
 * HTTP/2: the reason phrase of a status ("Bad Request", "Error" for one
 * not listed), and the body, "404 Not Found\n" in out (0 when cap is too
 * small), sent with these Content-Type and Cache-Control values. */
#define KK_ANSWER_TYPE "text/plain"
#define KK_ANSWER_CACHE "no-cache"
const char *kk_answer_reason(int status);
size_t kk_answer_body(int status, char *out, size_t cap);

#endif
