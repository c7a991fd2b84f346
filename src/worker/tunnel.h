/* ISC license. */
/* The tunnel protocol: raw bytes both ways between two connections, for
 * TCP listeners, upgrades after a real 101 and TLS passthrough
 * (DESIGN.md §5). One tunnel is the protocol context of both its
 * connections; it frames nothing and keeps no per-byte state. Each
 * direction moves its bytes through one pool buffer, handed whole from
 * the reading side to the writing side; a direction that carries bulk
 * (a read fills the buffer) between two plain sockets switches to
 * splice(2) through a pipe of its own, so those bytes never enter user
 * space. Either way memory is bounded whatever the peers do. An
 * end of file in one direction becomes a shutdown of the other side's
 * write once its bytes are out (half-close); the tunnel is done when both
 * directions are. Timers and closing the connections are the owner's,
 * told through its callback. */
#ifndef KK_WORKER_TUNNEL_H
#define KK_WORKER_TUNNEL_H

#include <stddef.h>
#include "conn.h"

/* Direction flags. */
#define KK_TUNNEL_D_EOF 0x1	/* the reading side reached end of file */
#define KK_TUNNEL_D_SHUT 0x2	/* the writing side's write is shut: done */

typedef struct kk_tunnel kk_tunnel;
struct kk_tunnel {
	/* dir[i] moves bytes read from side[i] to side[1 - i]. */
	kk_conn *side[2];
	struct {
		int pipe[2];	/* splice: -1 while the buffer path is used */
		size_t inpipe;	/* bytes spliced in, not yet out */
		unsigned flags;	/* KK_TUNNEL_D_* */
	} dir[2];
	int splice;		/* both sides plain: bulk may go through pipes */
	int err;		/* errno of a failure, once it failed */
	/* The owner, told once the tunnel is done (KK_TUNNEL_DONE), failed
	 * (KK_TUNNEL_FAILED) or one side's timer fired (KK_TUNNEL_TIMEOUT,
	 * side: the connection); it ends the tunnel and the connections. */
	void (*notify)(kk_tunnel *, int event, kk_conn *side);
};
enum { KK_TUNNEL_DONE, KK_TUNNEL_FAILED, KK_TUNNEL_TIMEOUT };

/* The protocol table both connections of a tunnel carry (pc: the tunnel).
 * Its run moves bytes; the end, a failure or a timeout goes to notify. */
extern const kk_protocol kk_tunnel_protocol;

/* Joins a and b (open, registered connections; their input may already
 * hold bytes, which go first) and plugs the tunnel into both. */
void kk_tunnel_start(kk_tunnel *t, kk_conn *a, kk_conn *b,
    void (*notify)(kk_tunnel *, int, kk_conn *));
/* Moves what can move now, both ways, a bounded amount. 1 still open, 0
 * both directions done, -1 failed (t->err says why). */
int kk_tunnel_run(kk_tunnel *t);
/* Gives back the pipes (the owner closes the connections). */
void kk_tunnel_end(kk_tunnel *t);

#endif
