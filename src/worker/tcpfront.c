/* ISC license. */
/* tcp listener connections: PEEK (only on listeners with --sni routes:
 * the ClientHello is read, under a deadline, and its server name picks
 * the route), CONNECT (a back socket
 * connecting, under the listener's connect timeout), TUNNEL (bytes both
 * ways until both directions are shut, under the listener's front
 * timeout as an idle timeout). While connecting, the client's bytes wait
 * in its socket: the tunnel splices them once the backend is there, so
 * nothing is buffered here for a client that talks first. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include "clienthello.h"
#include "front.h"
#include "health.h"
#include "lb.h"
#include "proxyhdr.h"
#include "router.h"
#include "status.h"
#include "tcpfront.h"
#include "tunnel.h"
#include "worker.h"

/* Connect attempts per connection: the first backend and two others. A
 * cluster of many dead backends is not walked whole: after three, the
 * marks left by the failures steer the next clients away from them. */
#define KK_TCP_TRIES 3

/* How long a client has to send its whole ClientHello. A TLS client sends
 * it at once after the TCP handshake, in one or a few segments, so this
 * is a bound on a client that does not, not a wait any real client nears:
 * a fixed 10 s, like the default request timeout of http listeners (tcp
 * listeners have no request timeout of their own), or the front timeout
 * when that is shorter. */
#define KK_TCP_PEEK_MS 10000

enum { TCP_CONNECT = 0, TCP_PROXY, TCP_PEEK, TCP_TUNNEL };

typedef struct kk_tcpfront kk_tcpfront;
struct kk_tcpfront {
	kk_conn front;		/* the client */
	kk_conn back;		/* the backend; fd -1 before the first connect */
	/* What comes before the tunnel is over when it starts: they share
	 * the room. */
	union {
		struct {
			kk_clienthello ch;
			/* The client's addresses from a PROXY header, for the
			 * one sent upstream; none: the socket's own. */
			kk_addr src, dst;
			int from_header;
		} pre;
		kk_tunnel tun;
	} u;
	kk_link link;		/* all tcp connections */
	kk_task grave;		/* freed from the graveyard once closed */
	kk_lsock *lsock;
	kk_router *router;	/* held while connecting: cluster lives in it */
	kk_rcluster *cluster;
	kk_bend *bend;		/* the backend of the back connection */
	const char *backend_id;	/* its id in cluster, while the router is held */
	/* The counters (wmetrics.h) of its cluster and of the backend
	 * tried last; NULL before the route, before the first connect. */
	kk_mcount *mc, *mb;
	kk_lbreq lbq;		/* the connection's key for --lb hash */
	uint64_t seen;		/* bytes moved when the idle timer last looked */
	uint64_t active_at;	/* when bytes last moved (monotonic ms) */
	unsigned char state;
	unsigned char tries;
	unsigned char send_proxy;	/* enum kk_send_proxy of the cluster */
	unsigned char proxy_sent;	/* on this back connection, while its start waits */
	unsigned char dead;
};

static kk_link conns = { &conns, &conns };
static unsigned nconns;

static void idle_check(kk_conn *);
static void nothing(kk_conn *);
static void connect_run(kk_conn *);
static void connect_timeout(kk_conn *);
static void peek_run(kk_conn *);
static void proxy_run(kk_conn *);
static void peek_timeout(kk_conn *);

/* The client while its backend connects: nothing is read (the bytes wait
 * in the socket); the back connection's timer bounds the wait. */
static const kk_protocol waiting = { "tcp-wait", nothing, idle_check };
/* The client until its PROXY header is read (--expect-proxy); the same
 * deadline as the peek covers both. */
static const kk_protocol expecting = { "tcp-proxy", proxy_run, peek_timeout };
/* The client until its ClientHello names the route. */
static const kk_protocol peeking = { "tcp-peek", peek_run, peek_timeout };
/* The back connection until it is up. */
static const kk_protocol connecting = { "tcp-connect", connect_run, connect_timeout };

unsigned
kk_tcpfront_count(void)
{
	return nconns;
}

static void
tcp_free(kk_task *t)
{
	free(KK_CONTAINER(t, kk_tcpfront, grave));
}

static void
drop_router(kk_tcpfront *tc)
{
	if (tc->router) {
		kk_router_unref(tc->router);
		tc->router = NULL;
		tc->cluster = NULL;
	}
}

/* Closes the back connection alone (a failed connect, or the end). */
static void
back_gone(kk_tcpfront *tc, enum kk_close reason)
{
	if (tc->back.io.fd < 0)
		return;
	kk_stats.closes[reason]++;
	kk_conn_close(&tc->back);
	tc->back.io.fd = -1;
	tc->bend->nactive--;
	kk_stats.back_active--;
	kk_bend_conn_gone(tc->bend);
	tc->bend = NULL;
}

/* The end of tc on its cluster's or backend's counters m (NULL: none). */
static void
count_end(kk_mcount *m, const kk_tcpfront *tc, enum kk_close reason)
{
	if (!m)
		return;
	m->ended++;
	m->closes[reason]++;
	m->bytes_in += tc->front.bytes_in;
	m->bytes_out += tc->front.bytes_out;
}

/* The one way a tcp connection ends, counted under reason; back_reason
 * is the back connection's own. */
static void
tcp_close(kk_tcpfront *tc, enum kk_close reason, enum kk_close back_reason)
{
	if (tc->dead)
		return;
	tc->dead = 1;
	if (tc->state == TCP_TUNNEL)
		kk_tunnel_end(&tc->u.tun);
	back_gone(tc, back_reason);
	drop_router(tc);
	kk_stats.closes[reason]++;
	kk_stats.active--;
	tc->lsock->m->closes[reason]++;
	tc->lsock->m->conns_closed++;
	tc->lsock->m->bytes_in += tc->front.bytes_in;
	tc->lsock->m->bytes_out += tc->front.bytes_out;
	count_end(tc->mc, tc, reason);
	count_end(tc->mb, tc, reason);
	kk_conn_close(&tc->front);
	kk_list_unlink(&tc->link);
	nconns--;
	kk_lsock_conn_gone(tc->lsock);
	tc->grave.run = tcp_free;
	kk_loop_bury(&tc->grave);
	kk_worker_conn_closed();
}

static void
nothing(kk_conn *c)
{
	(void)c;
}

/* Starts a connect to a backend of the cluster other than avoid. 1
 * started, 0 none left or every try spent (the connection is closed). */
static int
connect_next(kk_tcpfront *tc, const kk_bend *avoid)
{
	while (tc->tries < KK_TCP_TRIES) {
		kk_rbackend *rb = kk_lb_pick(tc->cluster, &tc->lbq, avoid, kk_now_ms);
		int fd, one = 1;
		if (!rb)
			break;
		if (tc->tries++)
			kk_stats.retries++;
		fd = socket(rb->bend->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd < 0) {
			tcp_close(tc, KK_CLOSE_NOMEM, KK_CLOSE_BACK_DONE);
			return 0;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, (const struct sockaddr *)&rb->bend->addr.ss, rb->bend->addr.len) < 0
		    && errno != EINPROGRESS) {
			/* Refused at once: counted like a refusal seen later. */
			close(fd);
			kk_stats.closes[KK_CLOSE_BACK_CONNECT]++;
			kk_health_failed(tc->cluster, rb->id, rb->bend, rb->m, 1, kk_now_ms);
			avoid = rb->bend;
			continue;
		}
		memset(&tc->back, 0, sizeof tc->back);
		tc->proxy_sent = 0;
		kk_conn_init(&tc->back, fd, KK_IO_BACK, rb->bend->tp, &connecting, tc);
		if (!kk_bend_attach(rb->bend, &tc->back)) {
			close(fd);
			tc->back.io.fd = -1;
			tcp_close(tc, KK_CLOSE_NOMEM, KK_CLOSE_BACK_DONE);
			return 0;
		}
		if (!kk_loop_add(&tc->back.io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
			tc->back.tp->close(&tc->back);
			tcp_close(tc, KK_CLOSE_NOMEM, KK_CLOSE_BACK_DONE);
			return 0;
		}
		tc->bend = rb->bend;
		tc->backend_id = rb->id;
		/* A connection for this backend now; the one before failed. */
		if (tc->mb)
			tc->mb->ended++;
		tc->mb = rb->m;
		tc->mb->requests++;
		tc->mb->conns_opened++;
		tc->mc->conns_opened++;
		if (tc->tries > 1) {
			tc->mc->retries++;
			tc->mb->retries++;
		}
		tc->bend->nconns++;
		tc->bend->nactive++;
		kk_stats.back_connects++;
		kk_stats.back_active++;
		kk_timer_arm(&tc->back.timer, kk_now_ms + tc->lsock->rl->connect_ms);
		return 1;
	}
	/* No backend (an empty cluster) or none answered. */
	tcp_close(tc, tc->tries ? KK_CLOSE_BACKEND_ERROR : KK_CLOSE_NO_ROUTE, KK_CLOSE_BACK_DONE);
	return 0;
}

/* This connect failed: the backend is avoided for a while and the next
 * one is tried. */
static void
connect_failed(kk_tcpfront *tc, enum kk_close reason)
{
	kk_bend *failed = tc->bend;
	kk_health_failed(tc->cluster, tc->backend_id, failed, tc->mb, 1, kk_now_ms);
	/* The next pick avoids it; the bend outlives the close while the
	 * router snapshot held here names it. */
	back_gone(tc, reason);
	connect_next(tc, failed);
}

static unsigned long
idle_ms(const kk_tcpfront *tc)
{
	const kk_rlistener *rl = tc->lsock->rl;
	return rl && rl->tunnel_ms ? rl->tunnel_ms : 60000;
}

static uint64_t
moved(const kk_tcpfront *tc)
{
	return tc->front.bytes_in + tc->front.bytes_out;
}

/* The idle timer looks a few times per timeout instead of being moved on
 * by every byte: a busy tunnel costs no timer work per read, and an idle
 * one is closed between one and one and a quarter timeouts after its
 * last byte. */
static void
arm_idle(kk_tcpfront *tc)
{
	unsigned long ms = idle_ms(tc), step = ms / 4 ? ms / 4 : 1;
	uint64_t at = tc->active_at + ms;
	if (at > kk_now_ms + step)
		at = kk_now_ms + step;
	kk_timer_arm(&tc->front.timer, at);
}

static void
idle_tick(kk_tcpfront *tc)
{
	uint64_t m = moved(tc);
	if (m != tc->seen) {
		tc->seen = m;
		tc->active_at = kk_now_ms;
	}
	if (kk_now_ms >= tc->active_at + idle_ms(tc)) {
		tcp_close(tc, KK_CLOSE_IDLE_TIMEOUT, KK_CLOSE_BACK_DONE);
		return;
	}
	arm_idle(tc);
}

static void
idle_check(kk_conn *c)
{
	idle_tick(c->pc);
}

static void
tunnel_notify(kk_tunnel *t, int event, kk_conn *side)
{
	kk_tcpfront *tc = KK_CONTAINER(t, kk_tcpfront, u.tun);
	switch (event) {
	case KK_TUNNEL_TIMEOUT:
		/* Only the front connection's timer runs in a tunnel (its
		 * context is the tunnel now, so side is not looked at). */
		(void)side;
		idle_tick(tc);
		break;
	case KK_TUNNEL_DONE:
		tcp_close(tc, KK_CLOSE_DONE, KK_CLOSE_BACK_DONE);
		break;
	default:
		/* Which side failed says who is to blame. */
		if (tc->back.flags & KK_CONN_F_ERROR)
			tcp_close(tc, KK_CLOSE_BACKEND_ERROR, KK_CLOSE_BACK_RESET);
		else
			tcp_close(tc, (tc->front.flags & KK_CONN_F_ERROR) &&
			    tc->front.err == EPIPE ? KK_CLOSE_WRITE_ERROR : KK_CLOSE_READ_ERROR,
			    KK_CLOSE_BACK_ABORT);
	}
}

/* The PROXY header a --send-proxy cluster gets first, written on the
 * socket once it connects and before the transport's start, as the http
 * path does (kk_proxyhdr_send): it precedes every byte, a TLS handshake's
 * too. The addresses are the received header's, else the client
 * socket's. 1 sent (or none to send), 0 failed. */
static int
send_proxy(kk_tcpfront *tc)
{
	kk_addr src, dst;
	if (tc->send_proxy == KK_SEND_PROXY_NONE || tc->proxy_sent)
		return 1;
	if (tc->u.pre.from_header) {
		src = tc->u.pre.src;
		dst = tc->u.pre.dst;
	} else {
		src.len = dst.len = sizeof src.ss;
		if (getpeername(tc->front.io.fd, (struct sockaddr *)&src.ss, &src.len) < 0 ||
		    getsockname(tc->front.io.fd, (struct sockaddr *)&dst.ss, &dst.len) < 0)
			return 0;
	}
	if (!kk_proxyhdr_send(tc->back.io.fd, tc->send_proxy == KK_SEND_PROXY_V2 ? 2 : 1,
	    (struct sockaddr *)&src.ss, (struct sockaddr *)&dst.ss))
		return 0;
	tc->proxy_sent = 1;
	return 1;
}

static void
connect_run(kk_conn *c)
{
	kk_tcpfront *tc = c->pc;
	int err = 0, r;
	socklen_t len = sizeof err;
	if (!(c->flags & KK_CONN_F_WRITABLE))
		return;
	if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err || !send_proxy(tc)) {
		c->err = err ? err : errno;
		connect_failed(tc, KK_CLOSE_BACK_CONNECT);
		return;
	}
	if ((r = kk_conn_start(c)) <= 0) {
		if (r < 0) {
			kk_bend_start_failed(tc->bend, c, kk_now_ms);
			connect_failed(tc, KK_CLOSE_BACK_CONNECT);
		}
		return;
	}
	kk_timer_disarm(&c->timer);
	kk_health_answered(tc->cluster, tc->backend_id, tc->bend, tc->mb, 0, kk_now_ms);
	drop_router(tc);
	kk_tunnel_start(&tc->u.tun, &tc->front, &tc->back, tunnel_notify);
	tc->state = TCP_TUNNEL;
	tc->active_at = kk_now_ms;
	tc->seen = moved(tc);
	arm_idle(tc);
	/* Both sides may have bytes already: the tunnel looks at once. */
	tc->front.flags |= KK_CONN_F_READABLE | KK_CONN_F_WRITABLE;
	kk_conn_wake(&tc->front);
}

static void
connect_timeout(kk_conn *c)
{
	connect_failed(c->pc, KK_CLOSE_BACK_CONNECT_TIMEOUT);
}

/* What a connection brings to the balancer: for a cluster hashing the
 * source, the client's address without its port (the PROXY header's when
 * one came), the text the http path hashes too; no head, so no other key
 * and no cookie: --lb hash by anything else spreads connections as
 * round-robin does. */
static void
lb_request(kk_tcpfront *tc, const kk_rcluster *c)
{
	char text[INET6_ADDRSTRLEN];
	kk_addr a;
	const void *ip;
	int family;
	memset(&tc->lbq, 0, sizeof tc->lbq);
	if (c->lb != KK_LB_HASH || c->hash_key != KK_HASH_SOURCE)
		return;
	if (tc->u.pre.from_header)
		a = tc->u.pre.src;
	else {
		a.len = sizeof a.ss;
		if (getpeername(tc->front.io.fd, (struct sockaddr *)&a.ss, &a.len) < 0)
			return;
	}
	family = a.ss.ss_family;
	if (family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)&a.ss)->sin6_addr;
		/* An IPv4 client of a dual-stack socket is its IPv4 address,
		 * as X-Forwarded-For writes it. */
		ip = in6;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			family = AF_INET;
			ip = in6->s6_addr + 12;
		}
	} else
		ip = &((const struct sockaddr_in *)&a.ss)->sin_addr;
	if (inet_ntop(family, ip, text, sizeof text))
		kk_lb_request(c, NULL, text, &tc->lbq);
}

/* Routes by name (NULL: the default route) and starts connecting. */
static void
route(kk_tcpfront *tc, kk_router *r, const char *name, size_t len)
{
	kk_rcluster *c = kk_router_match_sni(tc->lsock->rl, name, len);
	if (!c) {
		tcp_close(tc, KK_CLOSE_NO_ROUTE, KK_CLOSE_BACK_DONE);
		return;
	}
	kk_router_ref(r);
	tc->router = r;
	tc->cluster = c;
	tc->mc = c->m;
	tc->mc->requests++;
	tc->send_proxy = (unsigned char)c->send_proxy;
	lb_request(tc, c);
	tc->state = TCP_CONNECT;
	connect_next(tc, NULL);
}

static void
hello_refused(kk_tcpfront *tc, int err)
{
	kk_stats.hello[err]++;
	tcp_close(tc, KK_CLOSE_BAD_HELLO, KK_CLOSE_BACK_DONE);
}

/* Reads what has come of the ClientHello and parses it again from its
 * first byte (the parser skips the whole records it walked already). The
 * bytes stay in the input: the tunnel sends them upstream first. */
static void
peek_run(kk_conn *c)
{
	kk_tcpfront *tc = c->pc;
	kk_router *r = kk_worker_router();
	int f;
	f = kk_conn_fill(c);
	if (c->in.len) {
		switch (kk_clienthello_parse(&tc->u.pre.ch, c->in.data + c->in.off, c->in.len,
		    c->in.cap)) {
		case KK_CLIENTHELLO_ERROR:
			hello_refused(tc, tc->u.pre.ch.err);
			return;
		case KK_CLIENTHELLO_DONE:
			kk_timer_disarm(&c->timer);
			c->proto = &waiting;
			if (!r || !tc->lsock->rl) {
				tcp_close(tc, KK_CLOSE_NO_ROUTE, KK_CLOSE_BACK_DONE);
				return;
			}
			route(tc, r, tc->u.pre.ch.namelen ? tc->u.pre.ch.name : NULL, tc->u.pre.ch.namelen);
			return;
		}
	}
	if (f < 0 && !c->in.len)	/* gone without a byte: no hello to count */
		tcp_close(tc, (c->flags & KK_CONN_F_ERROR) ? KK_CLOSE_READ_ERROR : KK_CLOSE_CLIENT,
		    KK_CLOSE_BACK_DONE);
	else if (f < 0 || (c->flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR)))
		/* The end of file may have come with the last bytes: no
		 * further event would announce it. */
		hello_refused(tc, KK_CLIENTHELLO_E_TRUNCATED);
	else if (c->in.len && c->in.len == c->in.cap)	/* the parser wants more room */
		hello_refused(tc, KK_CLIENTHELLO_E_TOO_LARGE);
}

/* Reads the PROXY header (spec: the first bytes, before any of the
 * client's); its bytes are dropped, the rest stays for the peek or the
 * tunnel. A LOCAL header, or v1 UNKNOWN, carries no address: the
 * connection's own stand. */
static void
proxy_run(kk_conn *c)
{
	kk_tcpfront *tc = c->pc;
	kk_proxyhdr h;
	int f = kk_conn_fill(c);
	if (c->in.len) {
		switch (kk_proxyhdr_parse(&h, c->in.data + c->in.off, c->in.len, c->in.cap)) {
		case KK_PROXYHDR_ERROR:
			kk_stats.proxy[h.err]++;
			tcp_close(tc, KK_CLOSE_BAD_PROXY, KK_CLOSE_BACK_DONE);
			return;
		case KK_PROXYHDR_DONE:
			if (h.src.len && (h.src.ss.ss_family == AF_INET ||
			    h.src.ss.ss_family == AF_INET6)) {
				tc->u.pre.src = h.src;
				tc->u.pre.dst = h.dst;
				tc->u.pre.from_header = 1;
			}
			kk_buf_consume(&c->in, h.len);
			if (tc->lsock->sni) {
				tc->state = TCP_PEEK;
				c->proto = &peeking;
				if (c->in.len)
					peek_run(c);
				return;
			}
			kk_timer_disarm(&c->timer);
			c->proto = &waiting;
			if (!kk_worker_router() || !tc->lsock->rl) {
				tcp_close(tc, KK_CLOSE_NO_ROUTE, KK_CLOSE_BACK_DONE);
				return;
			}
			route(tc, kk_worker_router(), NULL, 0);
			return;
		}
	}
	if (f < 0 && !c->in.len)
		tcp_close(tc, (c->flags & KK_CONN_F_ERROR) ? KK_CLOSE_READ_ERROR : KK_CLOSE_CLIENT,
		    KK_CLOSE_BACK_DONE);
	else if (f < 0 || (c->flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR))) {
		kk_stats.proxy[KK_PROXYHDR_E_TRUNCATED]++;
		tcp_close(tc, KK_CLOSE_BAD_PROXY, KK_CLOSE_BACK_DONE);
	}
}

static void
peek_timeout(kk_conn *c)
{
	kk_tcpfront *tc = c->pc;
	if (tc->state == TCP_PROXY) {
		kk_stats.proxy[KK_PROXYHDR_E_TIMEOUT]++;
		tcp_close(tc, KK_CLOSE_BAD_PROXY, KK_CLOSE_BACK_DONE);
	} else
		hello_refused(tc, KK_CLIENTHELLO_E_TIMEOUT);
}

void
kk_tcpfront_accept(kk_lsock *ls, int fd, const struct sockaddr *sa, socklen_t salen)
{
	kk_tcpfront *tc;
	kk_router *r = kk_worker_router();
	(void)sa;
	(void)salen;
	if (!(tc = calloc(1, sizeof *tc))) {
		close(fd);
		kk_stats.closes[KK_CLOSE_NOMEM]++;
		return;
	}
	kk_conn_init(&tc->front, fd, KK_IO_FRONT, ls->tp, &waiting, tc);
	tc->back.io.fd = -1;
	tc->lsock = ls;
	if (!kk_loop_add(&tc->front.io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		close(fd);
		free(tc);
		kk_stats.accept_errors++;
		return;
	}
	kk_list_push(&conns, &tc->link);
	nconns++;
	ls->nconns++;
	kk_stats.accepted++;
	kk_stats.active++;
	if (ls->rl)
		ls->m = ls->rl->m;
	if (!ls->m)
		ls->m = &kk_wmetrics_none;
	ls->m->conns_opened++;
	/* The accepted socket is writable and may hold bytes already: the
	 * tunnel finds out when it starts, as if an edge had come. */
	tc->front.flags = KK_CONN_F_READABLE | KK_CONN_F_WRITABLE;
	if (kk_front_draining) {
		tcp_close(tc, KK_CLOSE_DRAIN, KK_CLOSE_BACK_DONE);
		return;
	}
	if (!r || !ls->rl) {
		tcp_close(tc, KK_CLOSE_NO_ROUTE, KK_CLOSE_BACK_DONE);
		return;
	}
	if (ls->rl->expect_proxy || ls->sni) {
		unsigned long ms = ls->rl->front_ms < KK_TCP_PEEK_MS ? ls->rl->front_ms :
		    KK_TCP_PEEK_MS;
		kk_clienthello_init(&tc->u.pre.ch);
		kk_timer_arm(&tc->front.timer, kk_now_ms + ms);
		tc->state = ls->rl->expect_proxy ? TCP_PROXY : TCP_PEEK;
		tc->front.proto = ls->rl->expect_proxy ? &expecting : &peeking;
		kk_conn_wake(&tc->front);
		return;
	}
	route(tc, r, NULL, 0);
}

void
kk_tcpfront_stop_all(void)
{
	kk_link *l;
	while ((l = kk_list_first(&conns)))
		tcp_close(KK_CONTAINER(l, kk_tcpfront, link), KK_CLOSE_STOP, KK_CLOSE_BACK_ABORT);
}
