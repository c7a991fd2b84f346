/* ISC license. */
/* Front connections, HTTP/1.1: accepting, reading request heads,
 * answering what the proxy answers itself (4xx, 5xx), keep-alive, the
 * client-side timeouts and the one way a front connection ends
 * (kk_front_close). Requests themselves are carried by streams
 * (stream.h). */
#ifndef KK_WORKER_FRONT_H
#define KK_WORKER_FRONT_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include "sock.h"
#include "lsock.h"
#include "status.h"
#include "timer.h"

/* Front connection flags. */
#define KK_FRONT_F_DEAD 0x1	/* closed, waiting to be freed */
#define KK_FRONT_F_CLOSING 0x2	/* no more requests: close once flushed */
#define KK_FRONT_F_LINGER 0x4	/* write side shut, discarding input */

/* What the one timer is counting. */
enum { KK_FRONT_T_NONE, KK_FRONT_T_IDLE, KK_FRONT_T_HEAD, KK_FRONT_T_SEND, KK_FRONT_T_LINGER };

struct kk_stream;
typedef struct kk_front kk_front;
struct kk_front {
	kk_sock sock;		/* in: request bytes, out: response bytes */
	kk_task task;		/* runs the connection */
	kk_task grave;		/* frees it at a safe point */
	kk_timer timer;
	kk_link link;		/* all front connections, or the free list */
	kk_lsock *lsock;
	struct kk_stream *stream;	/* the request in flight (one for h1) */
	unsigned flags;
	unsigned char tkind;	/* KK_FRONT_T_* */
	unsigned char minor;	/* HTTP/1.x minor of the last request */
	enum kk_close reason;	/* why it is closing */
	size_t scan;		/* kk_h1_head_end resume point */
	uint64_t requests;
	char client[INET6_ADDRSTRLEN];
};

void kk_front_accept(kk_lsock *, int fd, const struct sockaddr *, socklen_t);
void kk_front_close(kk_front *, enum kk_close);
/* Queues the connection to run in this turn. */
static inline void
kk_front_wake(kk_front *f)
{
	kk_loop_wake(&f->task);
}
/* Answers the current request with an error response generated here;
 * keep: the connection may serve another request after it. */
void kk_front_respond_error(kk_front *, int status, int keep, enum kk_close reason);
/* The stream ended; the connection goes back to reading requests or
 * closes, per keep. */
void kk_front_stream_done(kk_front *, int keep);
/* Drain: idle connections close now, busy ones after their response. */
void kk_front_drain_all(void);
void kk_front_stop_all(void);
unsigned kk_front_count(void);
extern int kk_front_draining;

#endif
