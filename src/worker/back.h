/* ISC license. */
/* Back connections (the h1 client protocol on a kk_conn): connecting to
 * a backend, the keep-alive pool per backend (kk_bend), the backend-side
 * timeouts and the one way a back connection ends (kk_back_close).
 * Requests go upstream in HTTP/1.1 and connections are reused whenever
 * the response allows. */
#ifndef KK_WORKER_BACK_H
#define KK_WORKER_BACK_H

#include "bend.h"
#include "conn.h"
#include "h1.h"
#include "msg.h"
#include "status.h"
#include "timer.h"

/* How long an unused pooled connection is kept: shorter than the idle
 * timeouts of common servers (5 s in Node.js), so the backend rarely
 * closes one just as it is reused. */
#define KK_BACK_IDLE_MS 4000

enum { KK_BACK_CONNECTING = 0, KK_BACK_ACTIVE, KK_BACK_IDLE };

/* Back connection flags (closed and waiting to be freed: KK_CONN_F_DEAD). */
#define KK_BACK_F_REUSED 0x2	/* came from the pool for this stream */
#define KK_BACK_F_REPLAY 0x4	/* the output holds the whole request: a retry resends it */
#define KK_BACK_F_UPGRADE 0x8	/* the request asked for an upgrade: a 101 may answer */

/* What the response read so far says (kk_back.resp_flags). */
#define KK_BACK_R_KEEP 0x1	/* its framing lets the connection be reused */

struct kk_stream;
struct kk_front;
typedef struct kk_back kk_back;
struct kk_back {
	kk_conn conn;		/* in: response bytes, out: request bytes */
	kk_task grave;		/* in the loop's graveyard once closed */
	kk_link link;		/* in bend->avail while a stream slot is free */
	kk_bend *bend;
	struct kk_stream *stream;
	/* --send-proxy: the one client connection it serves. Its PROXY
	 * header names that client, so it is never pooled for another: it
	 * waits for the client's next request in the client's own slot
	 * (kk_front.held) and closes with it. NULL: pooled per backend. */
	struct kk_front *owner;
	unsigned state;		/* IDLE exactly when no stream uses it */
	unsigned flags;
	/* Stream slots: how many streams it may carry at once (h1: one; the
	 * peer's MAX_CONCURRENT_STREAMS for a multiplexing protocol) and how
	 * many it carries. The pool hands out connections with a free one. */
	unsigned short slots, streams;
	size_t scan;		/* kk_h1_head_end resume point */
	uint64_t uses;
	uint64_t seen;		/* bytes moved when the stream last looked */
	unsigned char proxy;	/* enum kk_send_proxy of the header still to send */
	unsigned char req_body;	/* KK_H1_BODY_* of the request going up */
	/* The response being read: the h1 client's framing state. */
	unsigned char resp_body;	/* KK_H1_BODY_* of the final response */
	unsigned char resp_flags;	/* KK_BACK_R_* */
	uint64_t resp_left;	/* Content-Length bytes still to come */
	kk_h1chunk resp_chunk;
};

/* A connection to bend for stream s: a pooled one with a free stream
 * slot unless fresh, else a new connect; for a --send-proxy cluster, the
 * one the stream's client holds instead of a pooled one. NULL with errno
 * when the socket cannot even be created or the connect fails at once. */
kk_back *kk_back_get(kk_bend *, struct kk_stream *s, int fresh);
/* The stream is done with b, its slot is free again: back in the pool
 * (or its owner's slot) when the response and the connection allow it
 * and req_done (the whole request went upstream), else closed. */
void kk_back_release(kk_back *, int req_done);
void kk_back_close(kk_back *, enum kk_close);
/* Whether the connection is up and serving its stream (not connecting,
 * not pooled). */
static inline int
kk_back_active(const kk_back *b)
{
	return b->state == KK_BACK_ACTIVE;
}
/* Whether response bytes wait in its input. */
static inline int
kk_back_pending(const kk_back *b)
{
	return b->conn.in.len != 0;
}
/* Whether request bytes wait for the backend to read them. */
static inline int
kk_back_backlog(const kk_back *b)
{
	return b->conn.out.len != 0;
}
/* The same four as for the front connection (front.h). */
static inline int
kk_back_readable(const kk_back *b)
{
	return kk_conn_readable(&b->conn);
}
static inline uint64_t
kk_back_progress(const kk_back *b)
{
	return kk_conn_progress(&b->conn);
}
static inline void
kk_back_push(kk_back *b)
{
	kk_conn_push(&b->conn);
}
static inline void
kk_back_wake_if_more(kk_back *b)
{
	if (b->state == KK_BACK_ACTIVE && kk_conn_may_read(&b->conn))
		kk_conn_wake(&b->conn);
}
static inline void
kk_back_wake(kk_back *b)
{
	kk_conn_wake(&b->conn);
}
/* The stream says whether the backend owes it something (the response,
 * or reading the request); progress: the backend moved bytes since the
 * last call, which moves the deadline (the back timeout) on. Not owed:
 * not timed. A connection still connecting keeps its connect timer. */
void kk_back_stream_timer(kk_back *, int owed);

/* The request, written to b's own output (the h1 client protocol). */
/* Queues the re-serialised head of h (fwd: what the proxy adds); it is
 * kept after it is written, until the response starts: that is what a
 * retry sends again. 1 queued, 0 no buffer, -1 the head does not fit. */
int kk_back_send_head(kk_back *, const kk_h1head *h, const kk_h1fwd *fwd);
/* Room for n more body bytes after the framing: up to n (0: none now;
 * the connection runs again when there is). */
size_t kk_back_body_room(kk_back *, size_t n);
void kk_back_body_put(kk_back *, const char *p, size_t n);
/* Whether a whole buffer of body bytes can be queued as it is. */
int kk_back_body_takes_buf(const kk_back *);
void kk_back_body_put_buf(kk_back *, kk_buf *buf);	/* takes buf */
/* The end of the request body (the last chunk). 1 queued, 0 no room. */
int kk_back_body_end(kk_back *);
/* Writes what is queued; more: further bytes follow at once. 1 all
 * written (or nothing to write), 0 some left, -1 failed. */
int kk_back_flush(kk_back *, int more);
/* Whether the request can be sent again elsewhere after b failed for
 * reason: nothing of it, or all of it, is still in b's output. */
int kk_back_can_resend(const kk_back *, enum kk_close reason);
/* A request on its way from a failed back connection to the next: its
 * bytes from the first and its framing. */
typedef struct kk_back_req kk_back_req;
struct kk_back_req {
	kk_buf buf;
	unsigned char body;	/* KK_H1_BODY_* */
	unsigned char replay;	/* buf holds all of it */
	unsigned char upgrade;	/* it asked for an upgrade */
};
/* Takes the request out of the failed b (before it is closed). */
void kk_back_req_save(kk_back *b, kk_back_req *r);
/* Queues it on the fresh b: takes r->buf. */
void kk_back_req_resend(kk_back *b, kk_back_req *r);

/* The response, read from b's own input (the h1 client protocol). */
/* Whether the response began (a byte of it arrived); the first time, the
 * request copy kept for a retry is given back if all of it was sent. */
int kk_back_resp_began(kk_back *);
/* The next response head: KK_MSG_HEAD with *h (valid until the next
 * call), KK_MSG_UPGRADE for a 101 answering an upgrade request, WAIT,
 * INVALID (a 101 too when the request asked for no upgrade), or RESET (the
 * backend closed before a byte). head_req: the request was HEAD. */
enum kk_msg kk_back_resp_head(kk_back *, int head_req, const kk_h1head **h);
/* The head h was passed on: its bytes go; a final head sets the framing
 * of the body that follows. */
void kk_back_resp_head_done(kk_back *, const kk_h1head *h);
/* The next piece of the body: DATA (*p, *n in b's input, taken with
 * kk_back_body_used), END, WAIT, INVALID or RESET. */
enum kk_msg kk_back_body_next(kk_back *, const char **p, size_t *n);
void kk_back_body_used(kk_back *, size_t n);
/* When every byte of the input is body data, hands the whole buffer to
 * dst (empty) instead of copying it: the byte count, else 0. */
size_t kk_back_body_take(kk_back *, kk_buf *dst);
void kk_back_close_idle(void);	/* drain: pooled connections go */

#endif
