/* ISC license. */
/* kk_conn: the one connection type, front and back alike: the fd and its
 * epoll registration, the readiness remembered from edge-triggered events,
 * the two pooled buffers, the task that runs it, its timer and counters,
 * and two slots, each an operations table and its context: the transport
 * (how bytes move: plain, TLS) and the protocol (what the bytes mean: h1
 * server, h1 client, a preamble step before either). What differs between
 * a front and a back connection is only what is plugged in. The protocol
 * state lives in the protocol's own files (front.h, back.h). */
#ifndef KK_WORKER_CONN_H
#define KK_WORKER_CONN_H

#include <stdint.h>
#include <sys/epoll.h>
#include "buf.h"
#include "loop.h"
#include "timer.h"
#include "transport.h"

/* Readiness, ends and life of a connection. */
#define KK_CONN_F_READABLE 0x1	/* the last read did not drain the socket */
#define KK_CONN_F_WRITABLE 0x2	/* the last write did not fill the socket */
#define KK_CONN_F_EOF 0x4	/* the peer closed its write side */
#define KK_CONN_F_ERROR 0x8	/* a read or write failed: err says why */
#define KK_CONN_F_SHUT 0x10	/* our write side is shut */
#define KK_CONN_F_HUP 0x20	/* epoll saw the peer shut its side */
#define KK_CONN_F_HELD 0x40	/* a write said more follows: bytes may be held */
#define KK_CONN_F_STARTED 0x80	/* the transport's start (handshake) is done */
#define KK_CONN_F_DEAD 0x100	/* closed, waiting to be freed: no more events */
#define KK_CONN_F_PEERERR 0x200	/* epoll saw an error (a reset): the next read says it */

typedef struct kk_protocol kk_protocol;
/* A protocol: what runs a connection once bytes can move. Every entry
 * into a connection (epoll event, wake, buffer back in the pool, timer)
 * ends in one of these two, so a protocol is one state machine with one
 * way in. */
struct kk_protocol {
	const char *name;
	void (*run)(kk_conn *);		/* readiness or a wake: do what can be done */
	void (*timeout)(kk_conn *);	/* the connection's timer fired */
};

struct kk_conn {
	kk_io io;
	const kk_transport *tp;	/* transport slot */
	void *tpc;		/* its per-connection state (plain: none) */
	const kk_protocol *proto;	/* protocol slot */
	void *pc;		/* its per-connection state */
	unsigned flags;		/* KK_CONN_F_* */
	int err;		/* errno of the failure */
	kk_buf in;		/* bytes read, not yet consumed */
	kk_buf out;		/* bytes to write */
	kk_task task;		/* runs proto->run (kk_conn_wake) */
	kk_task bufwait;	/* parked here while the buffer pool is empty */
	kk_timer timer;		/* fires proto->timeout */
	uint64_t bytes_in, bytes_out;	/* progress, as the stream sees it */
};

/* Fills the slots of a zeroed c for fd, registered at io priority prio;
 * the caller adds it to the loop. */
void kk_conn_init(kk_conn *c, int fd, unsigned char prio, const kk_transport *tp,
    const kk_protocol *proto, void *pc);

/* Records epoll readiness; returns nothing: the protocol's run does the
 * I/O. */
static inline void
kk_conn_event(kk_conn *c, uint32_t ev)
{
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		c->flags |= KK_CONN_F_READABLE;
	if (ev & (EPOLLHUP | EPOLLRDHUP))
		c->flags |= KK_CONN_F_HUP;
	if (ev & EPOLLERR)
		c->flags |= KK_CONN_F_PEERERR;
	if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		c->flags |= KK_CONN_F_WRITABLE;
}

/* Queues the connection's protocol to run in this turn. */
static inline void
kk_conn_wake(kk_conn *c)
{
	kk_loop_wake(&c->task);
}

/* Runs the transport's start (a handshake may take several turns) until
 * it is done: 1 done (at once for plain), 0 waiting for readiness, -1
 * failed (err says why). */
int kk_conn_start(kk_conn *c);
/* Reads into c->in (taking a buffer if needed). >0 bytes read; 0 nothing
 * now (not readable, no room, or no buffer: then bufwait is parked); -1
 * end of file or error (flags say which). */
int kk_conn_fill(kk_conn *c);
/* Writes c->out; keep: hold the written bytes (off advances, the buffer is
 * not given back) so they can be sent again; more: more bytes are about to
 * follow (see kk_transport). 1 all written, 0 some left, -1 error. */
int kk_conn_flush(kk_conn *c, int keep, int more);
/* Sends what a write with more held back, when nothing else follows. */
static inline void
kk_conn_push(kk_conn *c)
{
	if (c->flags & KK_CONN_F_HELD) {
		c->flags &= ~KK_CONN_F_HELD;
		c->tp->push(c);
	}
}
/* Whether c may read now: readable by the transport's account, and the
 * input buffer can take more. */
static inline int
kk_conn_may_read(const kk_conn *c)
{
	return (c->flags & KK_CONN_F_READABLE) && (!c->in.data || c->in.len < c->in.cap);
}
/* Whether the last read left bytes in the socket (or the transport). */
static inline int
kk_conn_readable(const kk_conn *c)
{
	return (c->flags & KK_CONN_F_READABLE) != 0;
}
/* A value that moves whenever bytes move while a stream pumps: no read
 * happens then, so output only grows and input only shrinks, and a
 * change in either shows. */
static inline uint64_t
kk_conn_progress(const kk_conn *c)
{
	return c->bytes_out - c->in.len;
}
/* Gives back both buffers, forgets a parked wait, stops the timer and the
 * task, and closes through the transport. The owner frees the struct at a
 * safe point (kk_loop_bury). */
void kk_conn_close(kk_conn *c);

#endif
