/* ISC license. */
/* Front connections, HTTP/1.1 (the h1 server protocol on a kk_conn):
 * accepting, reading request heads,
 * answering what the proxy answers itself (4xx, 5xx), keep-alive, the
 * client-side timeouts and the one way a front connection ends
 * (kk_front_close). Requests themselves are carried by streams
 * (stream.h). */
#ifndef KK_WORKER_FRONT_H
#define KK_WORKER_FRONT_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include "conn.h"
#include "h1.h"
#include "msg.h"
#include "lsock.h"
#include "status.h"
#include "timer.h"

/* Front connection flags (closed and waiting to be freed: KK_CONN_F_DEAD). */
#define KK_FRONT_F_CLOSING 0x2	/* no more requests: close once flushed */
#define KK_FRONT_F_LINGER 0x4	/* write side shut, discarding input */
#define KK_FRONT_F_PEER_CLOSE 0x8	/* the last request said it is the last */
#define KK_FRONT_F_REQ_READ 0x10	/* the last request was read whole */
#define KK_FRONT_F_ACKED 0x20	/* quick ACK asked while this request is partial */
#define KK_FRONT_F_TUNNEL 0x40	/* upgraded: a tunnel to a back connection (pc) */
#define KK_FRONT_F_PROXY 0x80	/* --expect-proxy: the PROXY header is still to come */

/* What the one timer is counting. */
enum {
	KK_FRONT_T_NONE,
	KK_FRONT_T_IDLE,	/* between requests */
	KK_FRONT_T_HEAD,	/* the request head, from its first byte */
	KK_FRONT_T_SEND,	/* the client leaves output unread */
	KK_FRONT_T_BODY,	/* the stream waits for request body bytes */
	KK_FRONT_T_LINGER,
	KK_FRONT_T_PROXY,	/* the PROXY header, from the accept */
	KK_FRONT_T_DRAIN	/* draining: idle, its next request still welcome */
};

/* How the response body goes to the client (kk_front.out). */
enum { KK_OUT_NONE = 0, KK_OUT_LENGTH, KK_OUT_CHUNKED, KK_OUT_RAW_CLOSE };

struct kk_stream;
struct kk_back;
typedef struct kk_front kk_front;
/* One per open client connection, idle ones included: every byte here is
 * multiplied by the idle connections a worker holds, so per-request state
 * lives in the stream and scratch heads, not here. */
struct kk_front {
	/* in: request bytes, out: response bytes. Its task runs the
	 * connection; once it is closed, the same task sits in the loop's
	 * graveyard and frees it at a safe point. */
	kk_conn conn;
	kk_link link;		/* all front connections, or the free list */
	kk_lsock *lsock;
	struct kk_stream *stream;	/* the request in flight (one for h1) */
	unsigned flags;
	unsigned char tkind;	/* KK_FRONT_T_* */
	unsigned char minor;	/* HTTP/1.x minor of the last request */
	unsigned char reason;	/* enum kk_close: why it is closing */
	unsigned char v6;	/* client is an IPv6 address, kept binary */
	unsigned char pstep;	/* preamble: the step of the chain running */
	uint32_t scan;		/* kk_h1_head_end resume point */
	unsigned char out;	/* KK_OUT_*: framing of the response body */
	unsigned char req_body;	/* KK_H1_BODY_*: framing of the request body */
	uint64_t req_left;	/* Content-Length bytes still to come */
	kk_h1chunk req_chunk;
	uint64_t resp_at;	/* output offset where the final response starts */
	uint64_t seen;		/* bytes moved when the stream last looked */
	/* The client address for X-Forwarded-For: the text of an IPv4
	 * address (or "unknown") fits in 16 bytes; an IPv6 address is kept
	 * as its 16 bytes and written out per request (kk_front_client). */
	union {
		char text[16];
		unsigned char in6[16];
	} client;
	/* The addresses of an --expect-proxy header, for the header a
	 * --send-proxy cluster gets (kk_front_addrs); family 0 when none
	 * came: the socket's own stand. */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} psrc, pdst;
	/* The back connection that sent a PROXY header naming this client,
	 * kept between its requests (the slot is back.c's, which fills and
	 * empties it); closed with the front. */
	struct kk_back *held;
};

/* The client address as text; buf is used for IPv6. */
const char *kk_front_client(const kk_front *, char buf[INET6_ADDRSTRLEN]);
/* The client's address and the one it reached, for a PROXY header sent
 * upstream: an --expect-proxy header's, else the socket's. 1 ok, 0 with
 * errno. */
int kk_front_addrs(const kk_front *, kk_addr *src, kk_addr *dst);

void kk_front_accept(kk_lsock *, int fd, const struct sockaddr *, socklen_t);
void kk_front_close(kk_front *, enum kk_close);
/* Queues the connection to run in this turn. */
static inline void
kk_front_wake(kk_front *f)
{
	kk_conn_wake(&f->conn);
}
/* Answers the current request with an error response generated here;
 * keep: the connection may serve another request after it. */
void kk_front_respond_error(kk_front *, int status, int keep, enum kk_close reason);
/* The stream ended; the connection goes back to reading requests or
 * closes, per keep. whole: every byte of the request was read. */
void kk_front_stream_done(kk_front *, int keep, int whole);
/* The stream in flight times the client while it owes something: body
 * bytes (req_done 0, its input all taken) or reading the response (output
 * unsent). Bytes moved since the last call move the deadline (the front
 * timeout) on. */
void kk_front_stream_timer(kk_front *, int req_done);
/* Whether response bytes wait for the client to read them. */
static inline int
kk_front_backlog(const kk_front *f)
{
	return f->conn.out.len != 0;
}
/* Whether the client has more bytes for us than were read. */
static inline int
kk_front_readable(const kk_front *f)
{
	return kk_conn_readable(&f->conn);
}
/* Moves whenever the connection's bytes move during a pump. */
static inline uint64_t
kk_front_progress(const kk_front *f)
{
	return kk_conn_progress(&f->conn);
}
/* Writes the response bytes queued; more: further bytes follow at once.
 * -1 failed (the caller closes), else 0 or 1 as kk_conn_flush. */
static inline int
kk_front_flush(kk_front *f, int more)
{
	return f->conn.out.len ? kk_conn_flush(&f->conn, 0, more) : 1;
}
static inline void
kk_front_push(kk_front *f)
{
	kk_conn_push(&f->conn);
}
/* Runs the connection again when its last read may have left bytes in
 * the kernel that no new edge will announce and its input has room. */
static inline void
kk_front_wake_if_more(kk_front *f)
{
	if (kk_conn_may_read(&f->conn))
		kk_front_wake(f);
}

/* The request body, read from the client (the h1 server protocol). */
/* The next piece: DATA (*p, *n in f's input, taken with
 * kk_front_body_used), END, WAIT or INVALID (malformed chunked framing). */
enum kk_msg kk_front_body_next(kk_front *, const char **p, size_t *n);
void kk_front_body_used(kk_front *, size_t n);
/* When every byte of the input is body data, hands the whole buffer to
 * dst (empty) instead of copying it: the byte count, else 0. */
size_t kk_front_body_take(kk_front *, kk_buf *dst);

/* The response, written to the client (the h1 server protocol). */
/* Queues head h: a 1xx passes to HTTP/1.1 clients only; a final head
 * fixes the body framing. *keep: in, whether the stream would keep the
 * connection; out, whether it is kept. 1 queued, 0 wait for a buffer or
 * room, -1 the head can never fit. */
int kk_front_send_head(kk_front *, const kk_h1head *h, int *keep);
/* Room for body bytes after the framing (0: none now, or no buffer: then
 * the connection runs again when one comes back). */
size_t kk_front_body_room(kk_front *);
void kk_front_body_put(kk_front *, const char *p, size_t n);
/* Whether a whole buffer of body bytes can be queued as it is (no
 * framing around it, nothing queued before it). */
static inline int
kk_front_body_takes_buf(const kk_front *f)
{
	return f->out != KK_OUT_CHUNKED && !f->conn.out.len;
}
/* Queues buf whole (kk_front_body_takes_buf said so): takes it. */
void kk_front_body_put_buf(kk_front *, kk_buf *buf);
/* The end of the body (the last chunk). 1 queued, 0 wait for room. */
int kk_front_body_end(kk_front *);
/* The response failed: 1 when nothing of the final response reached the
 * client (it is taken back; interim 1xx responses stay), 0 when some did. */
int kk_front_take_back(kk_front *);
/* Ends the connection after a response cut short: no more requests, what
 * is queued is written, then the close, counted under reason. */
void kk_front_abort(kk_front *, enum kk_close reason);
/* After a 101 (the stream has ended): f and b leave HTTP for a tunnel
 * that f owns, timed by the listener's tunnel timeout and ended with f
 * (kk_front_close closes b too). Takes b; the bytes each connection holds
 * in its buffers go first. */
void kk_front_upgrade(kk_front *f, struct kk_back *b);
/* Drain: from now on every response says Connection: close and closes
 * its connection. A connection with no request in flight (idle now, or
 * once a response sent before the drain began ends) waits grace_ms for
 * one more request, answered so, before it is closed: a keep-alive
 * client sends its next request as soon as it has read a response, and
 * a close under it would lose that request. Tunnels live until the
 * drain deadline stops the worker. */
void kk_front_drain_all(unsigned long grace_ms);
void kk_front_stop_all(void);
unsigned kk_front_count(void);
extern int kk_front_draining;

#endif
