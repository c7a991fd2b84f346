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
#include "status.h"
#include "timer.h"

/* How long an unused pooled connection is kept: shorter than the idle
 * timeouts of common servers (5 s in Node.js), so the backend rarely
 * closes one just as it is reused. */
#define KK_BACK_IDLE_MS 4000

enum { KK_BACK_CONNECTING = 0, KK_BACK_ACTIVE, KK_BACK_IDLE };

/* Back connection flags (closed and waiting to be freed: KK_CONN_F_DEAD). */
#define KK_BACK_F_REUSED 0x2	/* came from the pool for this stream */

struct kk_stream;
typedef struct kk_back kk_back;
struct kk_back {
	kk_conn conn;		/* in: response bytes, out: request bytes */
	kk_task grave;		/* in the loop's graveyard once closed */
	kk_link link;		/* in bend->avail while a stream slot is free */
	kk_bend *bend;
	struct kk_stream *stream;
	unsigned state;		/* IDLE exactly when no stream uses it */
	unsigned flags;
	/* Stream slots: how many streams it may carry at once (h1: one; the
	 * peer's MAX_CONCURRENT_STREAMS for a multiplexing protocol) and how
	 * many it carries. The pool hands out connections with a free one. */
	unsigned short slots, streams;
	size_t scan;		/* kk_h1_head_end resume point */
	uint64_t uses;
};

/* A connection to bend for stream s: a pooled one with a free stream
 * slot unless fresh, else a new connect. NULL with errno when the socket cannot even be created or
 * the connect fails at once. */
kk_back *kk_back_get(kk_bend *, struct kk_stream *s, int fresh);
/* The stream is done with b, its slot is free again: back in the pool
 * when reusable, else closed. */
void kk_back_release(kk_back *, int reusable);
void kk_back_close(kk_back *, enum kk_close);
static inline void
kk_back_wake(kk_back *b)
{
	kk_conn_wake(&b->conn);
}
/* The stream says whether the backend owes it something (the response,
 * or reading the request); progress: the backend moved bytes since the
 * last call, which moves the deadline (the back timeout) on. Not owed:
 * not timed. A connection still connecting keeps its connect timer. */
void kk_back_stream_timer(kk_back *, int owed, int progress);
void kk_back_close_idle(void);	/* drain: pooled connections go */

#endif
