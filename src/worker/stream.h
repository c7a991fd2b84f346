/* ISC license. */
/* Streams: one request and its response, between a front endpoint and a
 * back endpoint. The stream holds no framing: it moves message events
 * (msg.h: heads, body data or whole buffers, trailer fields, the end)
 * that the endpoints' protocols make of their bytes, and it keeps what is
 * per request whatever the protocol: the route, the backend tried,
 * retries, where the exchange stands. Each endpoint is an operations
 * table of its protocol's role and that protocol's context (the server
 * side: kk_server_ops, the h1 server of front.c; the client side:
 * kk_client_ops, the h1 client of back.c, named by the backend); the
 * stream reaches its endpoints through those alone. An h1 front
 * connection carries one stream at a time; a multiplexing one can hold
 * many. Streams come from a free list. */
#ifndef KK_WORKER_STREAM_H
#define KK_WORKER_STREAM_H

#include <stdint.h>
#include "accesslog.h"
#include "bend.h"
#include "buf.h"
#include "head.h"
#include "lb.h"
#include "msg.h"
#include "queue.h"
#include "router.h"
#include "status.h"

/* Stream flags. */
#define KK_STREAM_F_REQ_DONE 0x1	/* request body wholly queued upstream */
#define KK_STREAM_F_RESP_BYTES 0x2	/* a response byte arrived */
#define KK_STREAM_F_RESP_HEAD 0x4	/* final response head sent to the client */
#define KK_STREAM_F_RESP_DONE 0x8	/* response wholly queued to the client */
#define KK_STREAM_F_KEEPALIVE 0x10	/* client connection stays open after */
#define KK_STREAM_F_REQ_TRAILERS 0x20	/* the request announced trailer fields */
#define KK_STREAM_F_HEAD 0x40		/* HEAD request: response has no body */
#define KK_STREAM_F_RESP_TRAILERS 0x80	/* the response announced trailer fields */

/* What an endpoint says of its connection in one call (state). */
#define KK_EP_READABLE 0x1	/* its last read left bytes to read */
#define KK_EP_BACKLOG 0x2	/* bytes it queued wait for its peer to read them */
#define KK_EP_PENDING 0x4	/* bytes it read wait for the stream (client side) */
#define KK_EP_ACTIVE 0x8	/* connected and serving the stream (client side) */
#define KK_EP_GONE 0x10		/* the client shut its side or failed (server side) */

typedef struct kk_stream kk_stream;
typedef struct kk_client_ops kk_client_ops;

/* What a failed client endpoint keeps of a request for a fresh one of the
 * same protocol: its bytes and the protocol's own notes on them. */
typedef struct kk_resend kk_resend;
struct kk_resend {
	kk_buf buf;
	unsigned flags;
};

/* A client's own slot for one client endpoint connection that only this
 * client may reuse (a --send-proxy connection: its PROXY header names the
 * client). The server endpoint keeps it as long as the client connection
 * lives; the client endpoint fills and empties it (ctx NULL: empty), and
 * the server endpoint closes what it holds through ops when the client
 * connection closes. */
typedef struct kk_park kk_park;
struct kk_park {
	const kk_client_ops *ops;
	void *ctx;
};

/* The server side of a stream: the protocol that read the request from
 * the client and writes it the response. ctx is the protocol's own state
 * for this stream. Returns as each says; "wait" results mean no room or
 * no buffer now, and the endpoint runs the stream again when there is. */
typedef struct kk_server_ops kk_server_ops;
struct kk_server_ops {
	const char *name;
	/* The request body: the next event (DATA: *p, *n in the endpoint's
	 * input, taken with body_used; TRAILERS: *tr, passed with
	 * trailers_used; END, WAIT, INVALID). */
	enum kk_msg (*body_next)(void *ctx, const char **p, size_t *n, kk_fields **tr);
	void (*body_used)(void *ctx, size_t n);
	void (*trailers_used)(void *ctx);
	/* When every byte it holds is body data, hands the whole buffer to
	 * dst (empty): the byte count, else 0. */
	size_t (*body_take)(void *ctx, kk_buf *dst);
	/* The response. send_head: a 1xx or the final head; *keep: in,
	 * whether the stream would keep the client connection; out,
	 * whether it is kept. 1 queued, 0 wait, -1 it can never fit. */
	int (*send_head)(void *ctx, const kk_resphead *h, int *keep);
	size_t (*room)(void *ctx);	/* for body bytes, after the framing */
	void (*put)(void *ctx, const char *p, size_t n);
	int (*takes_buf)(void *ctx);	/* a whole buffer of body can go as it is */
	void (*put_buf)(void *ctx, kk_buf *buf);	/* takes buf */
	/* 1 queued or dropped (the framing has no room for them), 0 wait */
	int (*send_trailers)(void *ctx, const kk_fields *tr);
	int (*end)(void *ctx);		/* 1 queued, 0 wait */
	/* The response failed: 1 when nothing of the final response reached
	 * the client (it is taken back), 0 when some did. */
	int (*take_back)(void *ctx);
	/* The stream has ended (it is freed) and the endpoint goes on: done
	 * (keep: the connection may serve another request; whole: every
	 * request byte was read); error answers the client with status (no
	 * byte of the response reached it); cut ends the connection after a
	 * response cut short. close ends the connection at once, the stream
	 * still attached to it with it (kk_stream_abort). */
	void (*done)(void *ctx, int keep, int whole);
	void (*error)(void *ctx, int status, enum kk_close reason);
	void (*cut)(void *ctx, enum kk_close reason);
	void (*close)(void *ctx, enum kk_close reason);
	/* After a 101: the stream has ended; the client connection and the
	 * client endpoint's become a tunnel the server endpoint owns. */
	void (*upgrade)(void *ctx, const kk_client_ops *bops, void *bctx);
	/* Writes what is queued (more: further bytes follow at once): -1
	 * failed, else as kk_conn_flush. */
	int (*flush)(void *ctx, int more);
	void (*push)(void *ctx);	/* sends what a write with more held */
	unsigned (*state)(void *ctx);	/* KK_EP_* */
	uint64_t (*progress)(void *ctx);	/* moves when its bytes move */
	void (*wake)(void *ctx);
	void (*wake_if_more)(void *ctx);	/* when its socket may hold more */
	/* Times the client while it owes something: body bytes (req_done
	 * 0, its input all taken) or reading the response. */
	void (*timer)(void *ctx, int req_done);
	/* For a PROXY header sent upstream: the client's address and the
	 * one it reached (dst NULL: the client's alone, as an access log
	 * line wants; 1, else 0 with errno); and the client's kk_park
	 * (NULL with errno when it cannot be had). */
	int (*addrs)(void *ctx, kk_addr *src, kk_addr *dst);
	kk_park *(*park)(void *ctx);
};

/* The client side: the protocol that sends the request to a backend and
 * reads its response. A backend names its table (kk_bend.proto). */
struct kk_client_ops {
	const char *name;
	/* A connection to bend for s: a pooled one with a free stream slot
	 * unless fresh, else a new connect. Its ctx, NULL when the connect
	 * fails at once. */
	void *(*get)(kk_bend *bend, kk_stream *s, int fresh);
	/* The stream is done with it: kept for another stream when the
	 * response, the connection and req_done (the whole request went
	 * upstream) allow, else closed. */
	void (*release)(void *ctx, int req_done);
	void (*close)(void *ctx, enum kk_close reason);
	/* The request: its head (kept until the response starts, for a
	 * retry; 1 queued, 0 no buffer, -1 it does not fit), room for n
	 * body bytes after the framing (up to n; 0 none now), the bytes, a
	 * whole buffer (takes_buf said so; takes buf), trailers (1 queued or
	 * dropped, 0 wait) and the end (1 queued, 0 wait). */
	int (*send_head)(void *ctx, const kk_reqhead *h);
	size_t (*room)(void *ctx, size_t n);
	void (*put)(void *ctx, const char *p, size_t n);
	int (*takes_buf)(void *ctx);
	void (*put_buf)(void *ctx, kk_buf *buf);
	int (*send_trailers)(void *ctx, const kk_fields *tr);
	int (*end)(void *ctx);
	int (*flush)(void *ctx, int more);	/* as the server's */
	/* A retry: whether the request can go again elsewhere after it
	 * failed for reason; what is kept of it (before the close); and
	 * queueing that on a fresh endpoint (takes r->buf). */
	int (*can_resend)(void *ctx, enum kk_close reason);
	void (*save)(void *ctx, kk_resend *r);
	void (*resend)(void *ctx, kk_resend *r);
	/* A request that waits for a backend: its head made ready for a
	 * resend before any connection exists, as for bend (one of the
	 * cluster's: they share its protocol and TLS; a request without a
	 * host names bend's address); takes a buffer into r. 1 ok, 0 no
	 * buffer, -1 it does not fit. */
	int (*hold)(const kk_reqhead *h, const kk_bend *bend, kk_resend *r);
	/* The response: whether it began (the copy kept for a retry goes);
	 * the next head (HEAD with *h, valid until the next call; UPGRADE
	 * for a 101 answering an upgrade; WAIT, INVALID, RESET); the head
	 * passed on; the body as the server's request body. */
	int (*began)(void *ctx);
	enum kk_msg (*head)(void *ctx, int head_req, kk_resphead **h);
	void (*head_done)(void *ctx, const kk_resphead *h);
	enum kk_msg (*body_next)(void *ctx, const char **p, size_t *n, kk_fields **tr);
	void (*body_used)(void *ctx, size_t n);
	void (*trailers_used)(void *ctx);
	size_t (*body_take)(void *ctx, kk_buf *dst);
	unsigned (*state)(void *ctx);	/* KK_EP_* */
	uint64_t (*progress)(void *ctx);
	void (*push)(void *ctx);
	void (*wake)(void *ctx);
	void (*wake_if_more)(void *ctx);
	/* Times the backend while it owes something (owed: the response,
	 * or reading the request). */
	void (*timer)(void *ctx, int owed);
	/* The stream lets go of it without ending it: a retry or an
	 * upgrade takes over. */
	void (*detach)(void *ctx);
	/* Its connection, for the tunnel of an upgrade. */
	struct kk_conn *(*conn)(void *ctx);
};

struct kk_stream {
	kk_link link;		/* free list */
	const kk_server_ops *fops;	/* the front endpoint */
	void *front;
	const kk_client_ops *bops;	/* the back endpoint: NULL while there is none */
	void *back;
	kk_router *router;	/* referenced while the stream lives */
	kk_rlistener *rl;
	kk_rcluster *cluster;
	const char *actions;	/* the route's header edits, in the router; NULL: none */
	kk_bend *bend;		/* the backend being tried */
	kk_lbreq lbq;		/* what the request brings to the balancer */
	/* The Set-Cookie value that sticks the client to the backend chosen
	 * (in the router's tables), NULL: none due. */
	const char *cookie;
	const char *backend_id;	/* its id in the cluster */
	unsigned flags;
	unsigned char tries;	/* connection attempts */
	unsigned char logged;	/* the access log has a line for it */
	unsigned short status;
	uint64_t body_left;	/* request body bytes --max-body still allows */
	/* kk_now_us at the start, and when the response began (0: not yet). */
	uint64_t start_us, first_us;
	/* While every backend is at its --max-connections: its place in
	 * its cluster's queue (back NULL), and the request as the back
	 * endpoint it gets will send it. */
	kk_qwait wait;
	kk_resend held;
	/* The request id sent upstream (listener --request-id), NUL ended,
	 * for whatever tells of the request (the response, a log line);
	 * request_id_len 0: the listener gives none. */
	unsigned char request_id_len;
	char request_id[KK_HEAD_REQID_MAX + 1];
	/* For the access log, counted whether it is on or not (cheaper than
	 * asking): body bytes each way, the first response byte's time. */
	uint64_t bytes_in, bytes_out, first_ms;
	/* The counters of the backend tried (wmetrics.h); NULL before the
	 * first pick. */
	kk_mcount *mb;
	/* Last, and not cleared at start: filled only when logged. */
	kk_alog_req log;
	/* The request's host and path as routed, for the ${route} of a
	 * custom answer: kept only when its listener or cluster has
	 * answers (routelen 0 otherwise), cut to fit. */
	unsigned short routelen;
	char route[256];
};

/* Starts a stream for the parsed head h (the forwarding rules are
 * applied to it here, with fwd, then the route's header edits, actions,
 * which its response gets too) on the front endpoint (ops, ctx), routed
 * to c: picks a backend, attaches a back endpoint, sends it the head;
 * when every backend is at its --max-connections, the stream waits in
 * c's queue (no back endpoint yet; the head kept) and answers 503 itself
 * if its wait times out. Returns the stream, or NULL with *status set
 * (503, 502, 431, 500) for the front to answer. */
kk_stream *kk_stream_start(const kk_server_ops *ops, void *ctx, kk_reqhead *h,
    const kk_fwd *fwd, kk_router *r, kk_rlistener *rl, kk_rcluster *c,
    const char *actions, int keepalive, int *status);
/* Moves events both ways and has them written: called by the front and
 * the back endpoint whenever they have progress. 0 when the stream ended
 * (it may already be freed; after a 101 both connections have become a
 * tunnel), 1 otherwise. */
int kk_stream_pump(kk_stream *s);
/* The back endpoint failed (reason says how); retries or answers the
 * client. */
void kk_stream_back_error(kk_stream *s, enum kk_close reason);
/* The client took response bytes: the back side may move more. */
void kk_stream_front_drained(kk_stream *s);
/* The front endpoint is going, for reason: the back endpoint is closed,
 * or the stream leaves its queue. */
void kk_stream_abort(kk_stream *s, enum kk_close reason);
/* The request id a response head h to the client carries (listener
 * --request-id; the field's name is s->rl's): the stream's, NUL ended;
 * NULL for a 1xx, when the listener gives none, or when the backend's
 * response names one itself: that one passes, since a backend echoes the
 * id it was given or has its own reason for another. A client quoting
 * the id of a failed request lets the operator find it in every log. */
const char *kk_stream_response_id(const kk_stream *s, const kk_resphead *h);
/* Whether the stream still expects request body bytes from the client. */
static inline int
kk_stream_wants_body(const kk_stream *s)
{
	return !(s->flags & KK_STREAM_F_REQ_DONE);
}
/* Whether the final response head was queued for the client. */
static inline int
kk_stream_answered(const kk_stream *s)
{
	return (s->flags & KK_STREAM_F_RESP_HEAD) != 0;
}

#endif
