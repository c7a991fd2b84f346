/* ISC license. */
/* HTTP/2 header blocks, without nghttp2 or sockets: a received block kept
 * in a pooled buffer as the HPACK decoder hands its fields over, turned
 * into the neutral request head (head.h) or a trailer block once it is
 * whole and validated as RFC 9113 §8 asks; and a neutral response head
 * or trailer block written as HTTP/2 fields (lower-case names, no
 * connection-specific fields). The h2 server (h2server.c) drives these;
 * unit tests feed them fields by hand. */
#ifndef KK_WORKER_H2HEAD_H
#define KK_WORKER_H2HEAD_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "head.h"

/* Why a request's header block was refused: kk_h2head_err_name names
 * each for the counters of status. Each is a malformed request (RFC 9113
 * §8.1.1: a stream error PROTOCOL_ERROR) but TOO_MANY, TOO_LARGE (431)
 * and METHOD (501), which are answered. */
enum kk_h2head_err {
	KK_H2HEAD_OK = 0,
	KK_H2HEAD_E_PSEUDO,	/* unknown, repeated, late or missing pseudo-header */
	KK_H2HEAD_E_NAME,	/* empty, upper-case or non-token field name */
	KK_H2HEAD_E_VALUE,	/* NUL, CR, LF, or white space at either end (§8.2.1) */
	KK_H2HEAD_E_CONNECTION,	/* a connection-specific field (§8.2.2) */
	KK_H2HEAD_E_TE,		/* TE other than "trailers" (§8.2.2) */
	KK_H2HEAD_E_AUTHORITY,	/* bad :authority or Host, or the two differ (§8.3.1) */
	KK_H2HEAD_E_PATH,	/* :path empty, or not origin-form (nor "*" for OPTIONS) */
	KK_H2HEAD_E_CL,		/* bad or conflicting content-length, or one END_STREAM belies */
	KK_H2HEAD_E_LOOKALIKE,	/* a field named like one the proxy acts on, '_' for '-' */
	KK_H2HEAD_E_TOO_MANY,	/* more than KK_HEAD_MAXFIELDS fields: 431 */
	KK_H2HEAD_E_TOO_LARGE,	/* the block outgrew its buffer: 431 */
	KK_H2HEAD_E_METHOD,	/* CONNECT: no tunnels over HTTP/2 here (501) */
	KK_H2HEAD_E_COUNT
};

/* Appends one field to the block being received in blk (which holds a
 * buffer): 1 done, 0 it does not fit (the whole block is refused, 431). */
int kk_h2head_add(kk_buf *blk, const char *name, size_t nlen, const char *value,
    size_t vlen);
/* The whole block of a request as the neutral head h, its spans into
 * blk (cookie fields joined into one at blk's tail, §8.2.3, for an h1
 * backend). end_stream: the block ended the stream (no body). scheme is
 * the connection's (KK_SCHEME_*), which X-Forwarded-Proto tells, not what
 * the client's :scheme claims. KK_H2HEAD_OK or why it is refused. */
int kk_h2head_request(kk_reqhead *h, kk_buf *blk, int end_stream, unsigned char scheme);
/* A trailer block (§8.1): fields only, no pseudo-header, each checked as
 * a request's. KK_H2HEAD_OK or why it is refused. */
int kk_h2head_trailers(kk_fields *fl, const kk_buf *blk);
/* Walks a stored block: the field at *pos (start at 0), its spans
 * relative to blk->data; 0 past the last. */
int kk_h2head_next(const kk_buf *blk, uint32_t *pos, kk_span *name, kk_span *value);
const char *kk_h2head_err_name(int err);
/* The answer to a refused block: 0 a stream error, else the status. */
int kk_h2head_err_status(int err);

/* A field to send: what nghttp2_nv takes, without the dependency. */
typedef struct kk_h2field kk_h2field;
struct kk_h2field {
	const char *name, *value;
	size_t namelen, valuelen;
};
/* Appends the n fields of f to blk: 1 done, 0 they do not fit (what
 * did stays: the caller drops the block). */
int kk_h2head_add_all(kk_buf *blk, const kk_h2field *f, int n);
/* The fields of a forwarded response head (kk_head_forward_response) as
 * HTTP/2 sends them: :status first, the fields kept with lower-case
 * names (written to text), content-length for a known length (and for
 * HEAD and 304 the representation's, RFC 9110 §8.6), set-cookie for
 * the head's set_cookie (its text not copied). Writes at most max
 * fields; returns their count, -1 when max or text (cap) is too small. */
int kk_h2head_response(const kk_resphead *h, kk_h2field *out, unsigned max, char *text,
    size_t cap);
/* The forwarded fields of a trailer block (kk_head_forward_trailers), the
 * same way. */
int kk_h2head_fields(const kk_fields *fl, kk_h2field *out, unsigned max, char *text,
    size_t cap);

/* The client's side. A request head going to an HTTP/2 backend
 * (kk_head_forward applied): :method, :scheme (scheme), :authority (the
 * head's, else origin), :path, then the forwarded fields with lower-case
 * names, Host left out (it is :authority), the proxy's added fields, and
 * content-length for a known length. Returns the count, -1 when max or
 * text (cap) is too small. */
int kk_h2head_request_fields(const kk_reqhead *h, const char *scheme, const char *origin,
    kk_h2field *out, unsigned max, char *text, size_t cap);
/* A backend's response header block as the neutral head h, its spans
 * into blk: :status first and alone, fields checked as a request's,
 * connection-specific ones refused (§8.2.2), the framing from
 * content-length, the status, head_req (it answers HEAD) and end_stream
 * (the block ended the stream). KK_H2HEAD_OK or why it is refused. */
int kk_h2head_response_in(kk_resphead *h, const kk_buf *blk, int end_stream, int head_req);

#endif
