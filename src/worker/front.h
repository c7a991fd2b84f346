/* ISC license. */
/* Front connections, HTTP/1.1 (the h1 server protocol on a kk_conn):
 * accepting, reading request heads into neutral heads, answering what the
 * proxy answers itself (4xx, 5xx), keep-alive, the client-side timeouts
 * and the one way a front connection ends (kk_front_close). Requests
 * themselves are carried by streams (stream.h), which reach this
 * protocol only through its kk_server_ops table (front.c). */
#ifndef KK_WORKER_FRONT_H
#define KK_WORKER_FRONT_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include "conn.h"
#include "head.h"
#include "lsock.h"
#include "status.h"
#include "timer.h"

/* Front connection flags (closed and waiting to be freed: KK_CONN_F_DEAD). */
#define KK_FRONT_F_V6 0x1	/* the client address is IPv6, kept binary */
#define KK_FRONT_F_CLOSING 0x2	/* no more requests: close once flushed */
#define KK_FRONT_F_LINGER 0x4	/* write side shut, discarding input */
#define KK_FRONT_F_PEER_CLOSE 0x8	/* the last request said it is the last */
#define KK_FRONT_F_REQ_READ 0x10	/* the last request was read whole */
#define KK_FRONT_F_ACKED 0x20	/* quick ACK asked while this request is partial */
#define KK_FRONT_F_TUNNEL 0x40	/* upgraded: a tunnel to a back connection (pc) */
#define KK_FRONT_F_SIDE 0x80	/* it has a side (front.c): client holds it */

/* What the one timer is counting. */
enum {
	KK_FRONT_T_NONE,
	KK_FRONT_T_IDLE,	/* between requests */
	KK_FRONT_T_HEAD,	/* the request head, from its first byte */
	KK_FRONT_T_SEND,	/* the client leaves output unread */
	KK_FRONT_T_BODY,	/* the stream waits for request body bytes */
	KK_FRONT_T_LINGER,
	/* the PROXY header of an --expect-proxy listener, from the accept:
	 * exactly while it is still to come */
	KK_FRONT_T_PROXY,
	KK_FRONT_T_DRAIN,	/* draining: idle, its next request still welcome */
	/* an https listener's handshake (--handshake-timeout), from the
	 * accept or the end of the PROXY header: exactly while it runs */
	KK_FRONT_T_HANDSHAKE
};

/* The client address for X-Forwarded-For: the text of an IPv4 address
 * (or "unknown") fits in 16 bytes; an IPv6 address is kept as its 16
 * bytes (KK_FRONT_F_V6) and written out per request. */
typedef union kk_front_client kk_front_client;
union kk_front_client {
	char text[16];
	unsigned char in6[16];
};

struct kk_front_side;
typedef struct kk_front kk_front;
/* One per open client connection, idle ones included: every byte here is
 * multiplied by the idle connections a worker holds (248 bytes: with
 * malloc's header, 256 of heap each), so what a request needs only while
 * it is in flight lives in the h1 server's stream state (front.c), which
 * the connection's protocol context (conn.pc) points to meanwhile, and
 * what only some connections need (the addresses of an --expect-proxy
 * header, a --send-proxy connection parked for the client) in a side
 * struct that only those connections get. */
struct kk_front {
	/* in: request bytes, out: response bytes. Its task runs the
	 * connection; once it is closed, the same task sits in the loop's
	 * graveyard and frees it at a safe point. pc: the stream state of
	 * the request in flight, NULL between requests; after an upgrade,
	 * the tunnel. */
	kk_conn conn;
	kk_link link;		/* all front connections, or the free list */
	kk_lsock *lsock;
	unsigned char flags;	/* KK_FRONT_F_* */
	unsigned char tkind;	/* KK_FRONT_T_* */
	unsigned char reason;	/* enum kk_close: why it is closing */
	unsigned char pstep;	/* preamble: the step of the chain running */
	uint32_t scan;		/* kk_h1_head_end resume point */
	/* The client address; once the connection has a side
	 * (KK_FRONT_F_SIDE), the address lives there and this holds the
	 * side: the one field pays for both. */
	union {
		kk_front_client addr;
		struct kk_front_side *side;
	} client;
};

void kk_front_accept(kk_lsock *, int fd, const struct sockaddr *, socklen_t);
/* What a multiplexing protocol on the connection (h2server.c) needs of
 * it, per stream: the client address as text for X-Forwarded-For (buf is
 * used for IPv6), its addresses for a PROXY header sent upstream, and
 * its kk_park (as kk_server_ops.addrs and .park say). */
const char *kk_front_client_text(kk_front *, char buf[INET6_ADDRSTRLEN]);
int kk_front_addrs(kk_front *, kk_addr *src, kk_addr *dst);
struct kk_park;
struct kk_park *kk_front_park(kk_front *);
/* Where a request h on f goes, the one rule for every protocol: 0 to
 * *cl, whose response carries Strict-Transport-Security with max-age
 * *hsts (the frontend's --hsts, else the listener's; 0: none, always on
 * plain listeners) and the frontend's header edits *actions (NULL:
 * none, as for an answer made here); else the status answered here: 404 no route, 421 a
 * host the certificate served on f does not cover (strict SNI), or the
 * cluster's --https-redirect status on a plain listener (*cl set, for
 * kk_front_location, with *actions), or the frontend's --deny or
 * --redirect status (*cl set for a redirect). */
int kk_front_route(kk_front *f, const kk_reqhead *h, kk_rcluster **cl,
    unsigned long *hsts, const char **actions);
/* The access-log line of a request h on f that kk_front_route answered
 * with status (c: its cluster, for a redirect), when the log takes it. */
void kk_front_log_answered(kk_front *f, const kk_reqhead *h, const struct kk_rcluster *c,
    int status);
/* What the proxy says upstream of the hop of a request on f, for every
 * protocol: the client address (as text, in buf for IPv6), the
 * listener's port, and on a listener with a client CA the verified
 * client certificate's subject, or that there was none. */
void kk_front_fwd(kk_front *f, kk_fwd *fwd, char buf[INET6_ADDRSTRLEN]);
/* The Strict-Transport-Security value for max_age under f's listener
 * policy (RFC 6797 §6.1: includeSubDomains, preload) into buf, NUL
 * ended: its length, 0 when len is too small. f is on TLS. */
size_t kk_front_hsts_value(const kk_front *f, unsigned long max_age, char *buf, size_t len);
/* The Location of the frontend's --redirect for h when actions is not
 * NULL (kk_edit_location), else of cluster c's --https-redirect: the same
 * host and target (query included) over https, the cluster's
 * --https-port, left out at 443. Into buf, NUL ended: its length, 0 when
 * len is too small. */
size_t kk_front_location(const kk_rcluster *c, const kk_reqhead *h, const char *actions,
    char *buf, size_t len);
void kk_front_close(kk_front *, enum kk_close);
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
