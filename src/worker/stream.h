/* ISC license. */
/* Streams: one request and its response, between a front endpoint and a
 * back endpoint. The stream holds no framing: it moves message events
 * (msg.h: heads, body data or whole buffers, the end) that the endpoints'
 * protocols make of their bytes (front.h: the h1 server, back.h: the h1
 * client), and it keeps what is per request whatever the protocol: the
 * route, the backend tried, retries, where the exchange stands. An h1
 * front connection carries one stream at a time; a multiplexing one can
 * hold many. Streams come from a free list. */
#ifndef KK_WORKER_STREAM_H
#define KK_WORKER_STREAM_H

#include <stdint.h>
#include "back.h"
#include "front.h"
#include "h1.h"
#include "router.h"

/* Stream flags. */
#define KK_STREAM_F_REQ_DONE 0x1	/* request body wholly queued upstream */
#define KK_STREAM_F_RESP_BYTES 0x2	/* a response byte arrived */
#define KK_STREAM_F_RESP_HEAD 0x4	/* final response head sent to the client */
#define KK_STREAM_F_RESP_DONE 0x8	/* response wholly queued to the client */
#define KK_STREAM_F_KEEPALIVE 0x10	/* client connection stays open after */
#define KK_STREAM_F_HEAD 0x40		/* HEAD request: response has no body */

typedef struct kk_stream kk_stream;
struct kk_stream {
	kk_link link;		/* free list */
	kk_front *front;
	kk_back *back;
	kk_router *router;	/* referenced while the stream lives */
	kk_rlistener *rl;
	kk_rcluster *cluster;
	kk_bend *bend;		/* the backend being tried */
	unsigned flags;
	unsigned char tries;	/* connection attempts */
	unsigned short status;
};

/* Starts a stream for the parsed head h on front f, routed to c: picks a
 * backend, attaches a back connection, queues the re-serialised head.
 * Returns the stream, or NULL with *status set (503, 502, 431, 500) for the
 * front to answer. */
kk_stream *kk_stream_start(kk_front *f, const kk_h1head *h, kk_router *r,
    kk_rlistener *rl, kk_rcluster *c, int keepalive, int *status);
/* Moves bytes both ways and writes them: called by the front and the
 * back connection whenever they have progress. 0 when the stream ended
 * (it may already be freed; after a 101 both connections have become a
 * tunnel, kk_front_upgrade), 1 otherwise. */
int kk_stream_pump(kk_stream *s);
/* The back connection failed (reason says how); retries or answers the
 * client. */
void kk_stream_back_error(kk_stream *s, enum kk_close reason);
/* The client took response bytes: the back side may move more. */
void kk_stream_front_drained(kk_stream *s);
/* The front connection is going: the back connection is closed. */
void kk_stream_abort(kk_stream *s);
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
