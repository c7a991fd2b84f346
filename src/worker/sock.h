/* ISC license. */
/* kk_sock: what front and back connections share below the protocol: the
 * fd and its epoll registration, the transport, the remembered readiness
 * (sockets are registered once, edge-triggered) and the two pooled
 * buffers. The protocol state lives in front.h and back.h. */
#ifndef KK_WORKER_SOCK_H
#define KK_WORKER_SOCK_H

#include <stdint.h>
#include "buf.h"
#include "loop.h"
#include "transport.h"

/* Readiness and end flags. */
#define KK_SOCK_F_READABLE 0x1	/* the last read did not drain the socket */
#define KK_SOCK_F_WRITABLE 0x2	/* the last write did not fill the socket */
#define KK_SOCK_F_EOF 0x4	/* the peer closed its write side */
#define KK_SOCK_F_ERROR 0x8	/* a read or write failed: err says why */
#define KK_SOCK_F_SHUT 0x10	/* our write side is shut */
#define KK_SOCK_F_HUP 0x20	/* epoll saw the peer shut its side */
#define KK_SOCK_F_HELD 0x40	/* a write said more follows: bytes may be held */

struct kk_sock {
	kk_io io;
	const kk_transport *tp;
	unsigned flags;
	int err;		/* errno of the failure */
	kk_buf in;		/* bytes read, not yet consumed */
	kk_buf out;		/* bytes to write */
	kk_task bufwait;	/* parked here while the buffer pool is empty */
	uint64_t bytes_in, bytes_out;	/* progress, as the stream pump sees it */
};

/* Records epoll readiness; returns nothing: the owner's run does the I/O. */
static inline void
kk_sock_event(kk_sock *s, uint32_t ev)
{
	if (ev & (0x001 | 0x008 | 0x010 | 0x2000))	/* IN ERR HUP RDHUP */
		s->flags |= KK_SOCK_F_READABLE;
	if (ev & (0x010 | 0x2000))			/* HUP RDHUP */
		s->flags |= KK_SOCK_F_HUP;
	if (ev & (0x004 | 0x008 | 0x010))		/* OUT ERR HUP */
		s->flags |= KK_SOCK_F_WRITABLE;
}

/* Reads into s->in (taking a buffer if needed). >0 bytes read; 0 nothing
 * now (not readable, no room, or no buffer: then bufwait is parked); -1
 * end of file or error (flags say which). */
int kk_sock_fill(kk_sock *s);
/* Writes s->out; keep: hold the written bytes (off advances, the buffer is
 * not given back) so they can be sent again; more: more bytes are about to
 * follow (see kk_transport). 1 all written, 0 some left, -1 error. */
int kk_sock_flush(kk_sock *s, int keep, int more);
/* Sends what a write with more held back, when nothing else follows. */
static inline void
kk_sock_push(kk_sock *s)
{
	if (s->flags & KK_SOCK_F_HELD) {
		s->flags &= ~KK_SOCK_F_HELD;
		s->tp->push(s);
	}
}
/* Gives back both buffers and closes through the transport. */
void kk_sock_close(kk_sock *s);

#endif
