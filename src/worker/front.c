/* ISC license. */
/* HTTP/1.1 front connections. A connection is a small state machine run
 * by front_process whenever its socket or its stream has news: flush what is
 * queued, read, then either feed the stream in flight or parse the next
 * request head. Pipelined requests wait in the input until the response
 * before them is done. Every connection ends in kk_front_close. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/tcp.h>
#include "accesslog.h"
#include "answer.h"
#include "auth.h"
#include "edit.h"
#include "front.h"
#include "h1.h"
#include "h2server.h"
#include "preamble.h"
#include "router.h"
#include "stream.h"
#include "tcpfront.h"
#include "tls.h"
#include "service.h"
#include "tunnel.h"
#include "worker.h"

/* How long a closing connection waits for the client's end of file after
 * the last response, reading and discarding, so that unread request bytes
 * do not make the kernel reset the connection before the client has read
 * the response. */
#define KK_FRONT_LINGER_MS 2000
#define KK_FRONT_RUN_ROUNDS 16	/* requests handled per run: fairness */

int kk_front_draining;
static unsigned long drain_grace_ms;
static kk_link fronts = { &fronts, &fronts };
static kk_link freelist = { &freelist, &freelist };
static unsigned nfronts;
/* Scratch: one head, one trailer section, is parsed at a time. */
static kk_reqhead req_head;
static kk_fields req_trailers;

/* How the response body goes to the client (h1s.out). */
enum { OUT_NONE = 0, OUT_LENGTH, OUT_CHUNKED, OUT_RAW_CLOSE };

/* The h1 server's side of the stream in flight: what only a request in
 * flight needs, so that an idle connection does not carry it. The
 * connection's pc points to it from the head to the stream's end; the
 * stream's front endpoint context. From a free list: as many exist as
 * requests are in flight. */
typedef struct h1s h1s;
struct h1s {
	kk_link link;		/* free list */
	kk_front *front;
	kk_stream *stream;
	kk_h1body req;		/* the request body's framing */
	uint64_t resp_at;	/* output offset where the final response starts */
	uint64_t seen;		/* bytes moved when the stream last looked */
	unsigned char minor;	/* HTTP/1.x of the request */
	unsigned char out;	/* OUT_*: framing of the response body */
	unsigned char ended;	/* the last chunk went out with trailers */
	unsigned char starved;	/* the request body waits for the client's bytes */
	unsigned char head;	/* a HEAD request: an error answer has no body */
	unsigned long hsts;	/* HSTS max-age of the response (https), 0: none */
};
static kk_link h1s_free = { &h1s_free, &h1s_free };

/* A front connection upgraded after a 101 and its back endpoint: the
 * tunnel between them (the protocol context of both connections) and what
 * its owner keeps. From a free list, so the upgrade itself allocates only
 * once. */
typedef struct upgraded upgraded;
struct upgraded {
	kk_link link;		/* free list */
	kk_tunnel t;
	kk_front *front;
	const kk_client_ops *bops;	/* the back endpoint, closed with the tunnel */
	void *back;
	uint64_t seen_in, seen_out;	/* the client's bytes when last counted */
};
static kk_link upgraded_free = { &upgraded_free, &upgraded_free };

/* What only some connections need, kept out of kk_front so that the
 * others do not pay for it: the addresses of an --expect-proxy header
 * (psrc family 0 when it carried none: the socket's own stand), got when
 * the header names them, and the client's kk_park, got when a stream of
 * the connection goes to a --send-proxy cluster. The client address moves
 * here with it (kk_front.client then holds the side). Kept until the
 * connection closes; from a free list. */
struct kk_front_side {
	kk_link link;		/* free list */
	kk_front_client client;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} psrc, pdst;
	kk_park park;
};
static kk_link side_free = { &side_free, &side_free };
/* An idle connection stays at 256 bytes of heap (front.h): 248 and
 * malloc's 8-byte header, 16-byte aligned. The build fails if it grows. */
typedef char kk_front_fits_256[sizeof(kk_front) <= 248 ? 1 : -1];

static const kk_server_ops h1_server_ops;
static void front_free(kk_task *);
static void tunnel_close(kk_front *);
static void front_run(kk_conn *);
static void front_timeout(kk_conn *);
static void front_process(kk_front *);
static void preamble_run(kk_conn *);

/* The h1 server protocol. */
static const kk_protocol h1_server = { "h1-server", front_run, front_timeout };
/* What a connection runs from accept until its preamble picks the
 * protocol; its deadlines are the h1 server's (idle, then the head
 * timeout from the first byte). */
static const kk_protocol preamble = { "preamble", preamble_run, front_timeout };

unsigned
kk_front_count(void)
{
	return nfronts + kk_tcpfront_count();	/* one bound for both kinds */
}

/* Where the client address is: in the connection, or with its side. */
static inline kk_front_client *
client_of(kk_front *f)
{
	return (f->flags & KK_FRONT_F_SIDE) ? &f->client.side->client : &f->client.addr;
}

/* Keeps the client address for X-Forwarded-For: the socket's peer, or
 * the source a PROXY header gave. */
static void
set_client(kk_front *f, const struct sockaddr *sa)
{
	kk_front_client *a = client_of(f);
	f->flags &= ~KK_FRONT_F_V6;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], a->text, sizeof a->text);
		else {
			memcpy(a->in6, &s6->sin6_addr, 16);
			f->flags |= KK_FRONT_F_V6;
		}
	} else if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    a->text, sizeof a->text);
	else
		strcpy(a->text, "unknown");
}

/* The connection's side, made the first time it is asked for; NULL when
 * there is no memory for it. The client text client_text gave before is
 * overwritten then: a stream asks for the side (ep_park) only once a
 * backend is picked, after kk_stream_start has copied that text into the
 * head (kk_head_forward). */
static struct kk_front_side *
side_get(kk_front *f)
{
	kk_link *l;
	struct kk_front_side *d;
	if (f->flags & KK_FRONT_F_SIDE)
		return f->client.side;
	if ((l = kk_list_first(&side_free))) {
		kk_list_unlink(l);
		d = KK_CONTAINER(l, struct kk_front_side, link);
	} else if (!(d = malloc(sizeof *d))) {
		errno = ENOMEM;
		return NULL;
	}
	memset(d, 0, sizeof *d);
	d->client = f->client.addr;
	f->client.side = d;
	f->flags |= KK_FRONT_F_SIDE;
	return d;
}

/* The connection closes: the connection parked for it closes through its
 * client endpoint (which empties the slot), and the side goes. */
static void
side_put(kk_front *f)
{
	struct kk_front_side *d;
	if (!(f->flags & KK_FRONT_F_SIDE))
		return;
	d = f->client.side;
	if (d->park.ctx)
		d->park.ops->close(d->park.ctx, KK_CLOSE_BACK_DONE);
	f->flags &= ~KK_FRONT_F_SIDE;
	f->client.addr = d->client;
	kk_list_push(&side_free, &d->link);
}

void
kk_front_accept(kk_lsock *ls, int fd, const struct sockaddr *sa, socklen_t salen)
{
	kk_link *l = kk_list_first(&freelist);
	kk_front *f;
	int one = 1;
	(void)salen;
	if (l) {
		kk_list_unlink(l);
		f = KK_CONTAINER(l, kk_front, link);
	} else if (!(f = malloc(sizeof *f))) {
		close(fd);
		kk_stats.closes[KK_CLOSE_NOMEM]++;
		return;
	}
	memset(f, 0, sizeof *f);
	kk_conn_init(&f->conn, fd, KK_IO_FRONT, ls->tp, &preamble, NULL);
	f->lsock = ls;
	f->reason = KK_CLOSE_DONE;
	set_client(f, sa);
	if (!ls->nodelay)	/* else inherited from the listener */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* The TLS object now: the first turn may already hold the
	 * ClientHello. */
	if (ls->tls && !kk_tls_attach(&f->conn, ls->tls)) {
		close(fd);
		kk_list_push(&freelist, &f->link);
		kk_stats.closes[KK_CLOSE_NOMEM]++;
		return;
	}
	if (!kk_loop_add(&f->conn.io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		f->conn.tp->close(&f->conn);
		kk_list_push(&freelist, &f->link);
		kk_stats.accept_errors++;
		return;
	}
	/* Most clients send the request with the handshake's last packet:
	 * try reading at once instead of waiting for the first event. */
	f->conn.flags = KK_CONN_F_READABLE | KK_CONN_F_WRITABLE;
	kk_list_push(&fronts, &f->link);
	nfronts++;
	ls->nconns++;
	kk_stats.accepted++;
	kk_stats.active++;
	if (ls->rl)
		ls->m = ls->rl->m;
	if (!ls->m)
		ls->m = &kk_wmetrics_none;
	ls->m->conns_opened++;
	if (ls->rl && ls->rl->expect_proxy) {
		/* The header is part of the first request: the request
		 * timeout bounds it, from the accept. */
		f->tkind = KK_FRONT_T_PROXY;
		kk_timer_arm(&f->conn.timer, kk_now_ms + ls->rl->request_ms);
	} else if (ls->tls) {
		f->tkind = KK_FRONT_T_HANDSHAKE;
		kk_timer_arm(&f->conn.timer, kk_now_ms + kk_tlsctx_handshake_ms(ls->tls));
	} else {
		f->tkind = KK_FRONT_T_IDLE;
		kk_timer_arm(&f->conn.timer, kk_now_ms + (ls->rl ? ls->rl->front_ms : 60000));
	}
	kk_conn_wake(&f->conn);
}

/* The stream state of the request in flight, NULL when none. */
static inline h1s *
rq(const kk_front *f)
{
	return (f->flags & KK_FRONT_F_TUNNEL) || kk_h2server_is(f) ? NULL : f->conn.pc;
}

static inline kk_front *
conn_front(kk_conn *c)
{
	return KK_CONTAINER(c, kk_front, conn);
}

static h1s *
h1s_new(kk_front *f)
{
	kk_link *l = kk_list_first(&h1s_free);
	h1s *q;
	if (l) {
		kk_list_unlink(l);
		q = KK_CONTAINER(l, h1s, link);
	} else if (!(q = malloc(sizeof *q)))
		return NULL;
	memset(q, 0, sizeof *q);
	q->front = f;
	return q;
}

/* The request is over for this connection: its stream state goes. */
static void
detach(kk_front *f)
{
	h1s *q = rq(f);
	if (!q)
		return;
	f->conn.pc = NULL;
	kk_list_push(&h1s_free, &q->link);
}

/* Ends the stream in flight, if any, with its back endpoint. */
static void
abort_stream(kk_front *f, enum kk_close reason)
{
	h1s *q = rq(f);
	if (q) {
		kk_stream *s = q->stream;
		detach(f);
		if (s)
			kk_stream_abort(s, reason);
	}
}

void
kk_front_close(kk_front *f, enum kk_close reason)
{
	if (f->conn.flags & KK_CONN_F_DEAD)
		return;
	f->conn.flags |= KK_CONN_F_DEAD;
	if (kk_h2server_is(f))
		kk_h2server_close(f, reason);
	abort_stream(f, reason);
	if (f->flags & KK_FRONT_F_TUNNEL)
		tunnel_close(f);
	side_put(f);
	kk_service_gone(f);
	kk_stats.closes[reason]++;
	kk_stats.active--;
	f->lsock->m->closes[reason]++;
	f->lsock->m->conns_closed++;
	f->lsock->m->bytes_in += f->conn.bytes_in;
	f->lsock->m->bytes_out += f->conn.bytes_out;
	kk_conn_close(&f->conn);
	kk_list_unlink(&f->link);
	nfronts--;
	kk_lsock_conn_gone(f->lsock);
	/* From the run queue to the graveyard: a later wake finds the task
	 * queued and does nothing. */
	f->conn.task.run = front_free;
	kk_loop_bury(&f->conn.task);
	kk_worker_conn_closed();
}

static void
front_free(kk_task *t)
{
	kk_front *f = KK_CONTAINER(t, kk_front, conn.task);
	kk_list_push(&freelist, &f->link);
}

/* The client address as text; buf is used for IPv6. */
const char *
kk_front_client_text(kk_front *f, char buf[INET6_ADDRSTRLEN])
{
	kk_front_client *a = client_of(f);
	if (!(f->flags & KK_FRONT_F_V6))
		return a->text;
	return inet_ntop(AF_INET6, a->in6, buf, INET6_ADDRSTRLEN) ? buf : "unknown";
}

/* Stops taking requests; the connection closes once its output is
 * written (see front_process). */
static void
set_closing(kk_front *f, enum kk_close reason)
{
	if (!(f->flags & KK_FRONT_F_CLOSING)) {
		f->flags |= KK_FRONT_F_CLOSING;
		f->reason = (unsigned char)reason;
	}
}

/* Answers the current request with an error response generated here;
 * keep: the connection may serve another request after it. A HEAD
 * request's answer has no body (RFC 9110 §9.3.2): on a kept connection
 * its bytes would be read as the next response. */
static void
respond_error_to(kk_front *f, int status, int keep, int head, enum kk_close reason)
{
	kk_buf *out = &f->conn.out;
	size_t n;
	if (kk_front_draining)
		keep = 0;
	const char *body, *type;
	size_t blen, tlen;
	kk_stats.responses[status / 100]++;
	kk_wmetrics_response(f->lsock->m, (unsigned)status);
	blen = kk_answer_make(f->lsock->rl ? f->lsock->rl->answers : NULL, status, &body, &type,
	    &tlen);
	if (!kk_buf_take(out, NULL)) {
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	n = blen ? kk_h1_write_answer(status, keep, head, NULL, 0, body, blen, type, tlen,
	    kk_buf_tail(out), kk_buf_room(out)) : 0;
	if (blen && !n) {	/* larger than the buffer: the built-in one */
		kk_stats.answers_custom--;
		kk_stats.answers_too_large++;
	}
	if (!n && !(n = kk_h1_write_error(status, keep, head, kk_buf_tail(out),
	    kk_buf_room(out)))) {
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	out->len += (uint32_t)n;
	if (!keep)
		set_closing(f, reason);
	kk_conn_wake(&f->conn);
}

/* The same, for a request whose method is not known (or not HEAD). */
static void
respond_error(kk_front *f, int status, int keep, enum kk_close reason)
{
	respond_error_to(f, status, keep, 0, reason);
}

/* Answers with a redirect to https (--https-redirect on the cluster c,
 * its status): Location as kk_front_location makes it. */
static void
respond_redirect(kk_front *f, const kk_rcluster *c, const kk_reqhead *h,
    const char *actions, int status, int keep)
{
	kk_buf *out = &f->conn.out;
	kk_buf loc = { 0 };	/* the Location, while the response is written */
	const char *body, *type;
	size_t n = 0, loclen, blen, tlen;
	if (kk_front_draining)
		keep = 0;
	kk_stats.responses[3]++;
	kk_wmetrics_response(f->lsock->m, (unsigned)status);
	/* A 301 or 302 may have a custom body, for the clients that show it. */
	kk_answer_about(c->answers, c->id, NULL, NULL, 0);
	kk_answer_route(h);
	blen = kk_answer_make(f->lsock->rl ? f->lsock->rl->answers : NULL, status, &body, &type,
	    &tlen);
	if (kk_buf_take(&loc, NULL) && kk_buf_take(out, NULL) &&
	    (loclen = kk_front_location(c, h, actions, loc.data, loc.cap))) {
		if (blen && !(n = kk_h1_write_answer(status, keep, (h->flags & KK_HEAD_F_HEAD) != 0,
		    loc.data, loclen, body, blen, type, tlen, kk_buf_tail(out),
		    kk_buf_room(out)))) {
			kk_stats.answers_custom--;
			kk_stats.answers_too_large++;
		}
		if (!n)
			n = kk_h1_write_redirect(status, keep, loc.data, loclen, kk_buf_tail(out),
			    kk_buf_room(out));
	}
	kk_buf_give(&loc);
	if (!n) {
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	out->len += (uint32_t)n;
	if (!keep)
		set_closing(f, KK_CLOSE_DONE);
	kk_conn_wake(&f->conn);
}

/* Whether a request for host may be served on this connection: on an
 * https listener with strict SNI (the default), only when the
 * certificate served in the handshake covers it, so that a client cannot
 * reach one site under the name (and the certificate) of another
 * (RFC 9110 §7.4: 421). A request without a host has nothing to check. */
static int
host_allowed(const kk_front *f, const kk_reqhead *h)
{
	const kk_tlscert *x;
	if (!f->lsock->tls || !h->hostlen || !kk_tlsctx_policy(f->lsock->tls)->strict_sni)
		return 1;
	x = kk_tls_served(&f->conn);
	return x && kk_tlscert_covers(x, h->host, h->hostlen);
}

void
kk_front_log_answered(kk_front *f, const kk_reqhead *h, const kk_rcluster *c, int status)
{
	kk_addr src;
	if (kk_accesslog_on && kk_accesslog_sampled())
		kk_accesslog_answered(h, kk_front_addrs(f, &src, NULL) ? &src : NULL, f->lsock->rl,
		    c, (unsigned)status);
}

int
kk_front_route(kk_front *f, const kk_reqhead *h, kk_rcluster **cl, unsigned long *hsts,
    const char **actions)
{
	kk_rlistener *rl = f->lsock->rl;
	unsigned long fhsts = 0;
	kk_rcluster *c;
	kk_rreq r;
	int status;
	*cl = NULL;
	*hsts = 0;
	*actions = NULL;
	if (!rl)
		return 404;
	if (!host_allowed(f, h)) {
		kk_answer_route(h);
		return 421;
	}
	r.host = h->host;
	r.hlen = h->hostlen;
	r.path = h->fl.base + h->path.off;
	r.plen = h->pathlen;
	r.query = h->path.len > h->pathlen ? r.path + h->pathlen + 1 : NULL;
	r.qlen = r.query ? h->path.len - h->pathlen - 1 : 0;
	r.method = h->fl.base + h->method.off;
	r.mlen = h->method.len;
	r.fl = &h->fl;
	c = kk_router_match(rl, &r, &fhsts, actions);
	if (!c) {
		kk_answer_route(h);
		return 404;
	}
	*cl = c;
	/* A redirect needs a host to send the client to. */
	if (c->https_redirect && !f->lsock->tls && h->hostlen) {
		*actions = NULL;	/* the https redirect's Location, not the frontend's */
		return (int)c->https_redirect;
	}
	/* --deny and --redirect: answered here, no backend contacted; a
	 * redirect keeps *cl, as the https one does, for the Location. */
	/* Basic authentication, before any other answer: a denied or
	 * redirected route has none (the state refuses both). */
	{
		const char *realm;
		size_t rlen;
		if ((status = kk_auth_request(*actions, h, &realm, &rlen))) {
			kk_answer_about(c->answers, c->id, NULL, NULL, 0);
			kk_answer_route(h);
			if (status == 401)
				kk_answer_challenge(realm, rlen);
			*cl = NULL;
			*actions = NULL;
			return status;
		}
	}
	if ((status = kk_edit_answer(*actions))) {
		if (status >= 400) {
			/* The answer is the cluster's, which serves none. */
			kk_answer_about(c->answers, c->id, NULL, NULL, 0);
			kk_answer_route(h);
			*cl = NULL;
		}
		return status;
	}
	if (f->lsock->tls)	/* the frontend's --hsts, else the listener's */
		*hsts = fhsts ? fhsts : kk_tlsctx_policy(f->lsock->tls)->hsts_max_age;
	return 0;
}

/* Whether the client (the address a PROXY header gave, if any) is one
 * of the trusted proxies of the snapshot r. */
static int
client_trusted(kk_front *f, const kk_router *r)
{
	const kk_front_client *a = client_of(f);
	unsigned char in6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (!r->ntrusted)
		return 0;
	if (f->flags & KK_FRONT_F_V6)
		memcpy(in6, a->in6, 16);
	else if (inet_pton(AF_INET, a->text, in6 + 12) != 1)
		return 0;	/* "unknown": a PROXY header's LOCAL or UNSPEC */
	return kk_cidr_match(r->trusted, r->ntrusted, in6);
}

void
kk_front_fwd(kk_front *f, kk_fwd *fwd, char buf[INET6_ADDRSTRLEN])
{
	kk_rlistener *rl = f->lsock->rl;
	fwd->client = kk_front_client_text(f, buf);
	fwd->client_v6 = (f->flags & KK_FRONT_F_V6) != 0;
	fwd->trusted = (unsigned char)client_trusted(f, kk_worker_router());
	/* A routed request: its listener is in the snapshot (rl). */
	fwd->fields = rl->fwd_fields;
	fwd->reqid = rl->reqid;
	fwd->reqid_lower = rl->reqid_lower;
	fwd->reqidlen = rl->reqidlen;
	fwd->port = rl->port[0] ? rl->port : NULL;
	fwd->cert = KK_FWD_CERT_UNASKED;
	fwd->subject = NULL;
	if (f->lsock->tls && kk_tlsctx_policy(f->lsock->tls)->client_ca.len) {
		fwd->subject = kk_tls_peer_subject(&f->conn);
		fwd->cert = fwd->subject ? KK_FWD_CERT_VERIFIED : KK_FWD_CERT_NONE;
	}
}

/* Appends text to buf[*at..len) when it fits; 0 when it does not. */
static int
put_text(char *buf, size_t len, size_t *at, const char *text, size_t n)
{
	if (len - *at < n)
		return 0;
	memcpy(buf + *at, text, n);
	*at += n;
	return 1;
}

/* Every HTTPS response carries this value: built by hand, not by
 * snprintf's format interpreter, as it is on the per-response path. */
size_t
kk_front_hsts_value(const kk_front *f, unsigned long max_age, char *buf, size_t len)
{
	static const char sub[] = "; includeSubDomains", pre[] = "; preload";
	const kk_tls_policy *p = kk_tlsctx_policy(f->lsock->tls);
	char digits[24];
	size_t nd = sizeof digits, at = 0;
	do
		digits[--nd] = (char)('0' + max_age % 10);
	while (max_age /= 10);
	if (!put_text(buf, len, &at, "max-age=", 8)
	    || !put_text(buf, len, &at, digits + nd, sizeof digits - nd)
	    || ((p->hsts_flags & KK_HSTS_SUBDOMAINS)
	        && !put_text(buf, len, &at, sub, sizeof sub - 1))
	    || ((p->hsts_flags & KK_HSTS_PRELOAD)
	        && !put_text(buf, len, &at, pre, sizeof pre - 1))
	    || at == len)
		return 0;
	buf[at] = 0;
	return at;
}

size_t
kk_front_location(const kk_rcluster *c, const kk_reqhead *h, const char *actions, char *buf,
    size_t len)
{
	unsigned port = c->https_port ? c->https_port : 443;
	char p[8] = "";
	int n;
	if (actions)
		return kk_edit_location(actions, h, buf, len);
	if (port != 443)
		snprintf(p, sizeof p, ":%u", port & 0xffff);
	n = snprintf(buf, len, "https://%.*s%s%.*s", (int)h->hostlen, h->host, p,
	    (int)h->path.len, h->fl.base + h->path.off);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

/* The Strict-Transport-Security field line of an h1 response over TLS
 * (RFC 6797 §6.1), into buf; NULL when the response gets none. */
static const char *
hsts_field(const h1s *q, char *buf, size_t len)
{
	static const char name[] = "Strict-Transport-Security: ";
	size_t n;
	if (!q->hsts || len < sizeof name + 2)
		return NULL;
	memcpy(buf, name, sizeof name - 1);
	n = kk_front_hsts_value(q->front, q->hsts, buf + sizeof name - 1,
	    len - (sizeof name - 1) - 2);
	if (!n)
		return NULL;
	memcpy(buf + sizeof name - 1 + n, "\r\n", 3);
	return buf;
}

/* The whole field lines the proxy adds to the final response head h:
 * Strict-Transport-Security (hsts_field), the request id; into buf (its
 * size KK_FRONT_EXTRA), NULL when there are none. */
#define KK_FRONT_EXTRA (96 + KK_REQUEST_ID_NAMEMAX + KK_HEAD_REQID_MAX + 8)
static const char *
extra_fields(const h1s *q, const kk_resphead *h, char *buf)
{
	const char *sts = hsts_field(q, buf, 96), *id = kk_stream_response_id(q->stream, h);
	const kk_rlistener *rl = q->stream->rl;
	size_t at = sts ? strlen(sts) : 0, n;
	if (!id)
		return sts;
	n = strlen(id);
	memcpy(buf + at, rl->reqid, rl->reqidlen + 2);
	at += rl->reqidlen + 2;
	memcpy(buf + at, id, n);
	memcpy(buf + at + n, "\r\n", 3);
	return buf;
}

/* Refuses a malformed request: 4xx, then close. */
static void
refuse(kk_front *f, int err)
{
	kk_stats.refused[err]++;
	respond_error(f, kk_h1_err_status(err), 0, KK_CLOSE_BAD_REQUEST);
}

/* Parses the head at the start of the input, if complete, and starts its
 * stream. 1 a request was taken (answered or started), 0 wait for more
 * bytes, -1 the connection is closing. */
static int
read_head(kk_front *f)
{
	kk_buf *in = &f->conn.in;
	kk_reqhead *h = &req_head;
	kk_h1info info;
	kk_rcluster *c;
	kk_router *r = kk_worker_router();
	kk_rlistener *rl = f->lsock->rl;
	kk_fwd fwd;
	char client[INET6_ADDRSTRLEN];
	h1s *q;
	long n;
	size_t scan;
	unsigned long hsts;
	const char *actions;
	int e, keep, status;

	/* Empty lines before a request are ignored (RFC 9112 §2.2). */
	if (!f->scan)
		while (in->len >= 2 && in->data[in->off] == '\r' && in->data[in->off + 1] == '\n')
			kk_buf_consume(in, 2);
	if (!in->len)
		return 0;
	scan = f->scan;
	n = kk_h1_head_end(in->data + in->off, in->len, &scan);
	f->scan = (uint32_t)scan;	/* below the buffer size */
	if (n < 0) {
		refuse(f, (int)-n);
		return -1;
	}
	if (!n) {
		if (in->len == in->cap) {
			refuse(f, KK_H1_E_TOO_LARGE);
			return -1;
		}
		return 0;
	}
	f->scan = 0;
	kk_stats.requests++;
	f->lsock->m->requests++;
	f->lsock->m->ended++;
	f->flags &= ~(KK_FRONT_F_PEER_CLOSE | KK_FRONT_F_REQ_READ | KK_FRONT_F_ACKED);
	e = kk_h1_parse_request(h, &info, in->data + in->off, (size_t)n);
	if (e) {
		refuse(f, e);
		return -1;
	}
	if (f->lsock->tls)	/* the scheme is the connection's (X-Forwarded-Proto) */
		h->scheme = KK_SCHEME_HTTPS;
	keep = info.minor ? !(info.flags & KK_H1_F_CLOSE) : (info.flags & KK_H1_F_KEEPALIVE) != 0;
	if (!keep)
		f->flags |= KK_FRONT_F_PEER_CLOSE;
	if (kk_front_draining)
		keep = 0;
	if (f->lsock->rl && f->lsock->rl->service) {
		/* Answered here, whatever the frontends say, and closed. */
		status = kk_service_start(f, h);
		if (status == 200) {
			kk_stats.responses[2]++;
			kk_wmetrics_response(f->lsock->m, 200);
			set_closing(f, KK_CLOSE_DONE);
			kk_conn_wake(&f->conn);
		} else
			respond_error_to(f, status, 0, (h->flags & KK_HEAD_F_HEAD) != 0,
			    KK_CLOSE_DONE);
		kk_buf_consume(in, (size_t)n);
		return -1;
	}
	if ((status = kk_front_route(f, h, &c, &hsts, &actions))) {
		/* Answered here; a body would have to be read and thrown away
		 * to keep the connection, so only bodiless requests keep it. */
		keep = keep && h->body == KK_BODY_NONE;
		kk_front_log_answered(f, h, c, status);
		if (c)
			respond_redirect(f, c, h, actions, status, keep);
		else
			respond_error_to(f, status, keep, (h->flags & KK_HEAD_F_HEAD) != 0,
			    KK_CLOSE_DONE);
		kk_buf_consume(in, (size_t)n);
		return keep ? 1 : -1;
	}
	if (!(q = h1s_new(f))) {
		kk_buf_consume(in, (size_t)n);
		respond_error(f, 500, 0, KK_CLOSE_NOMEM);
		return -1;
	}
	q->minor = info.minor;
	q->head = (h->flags & KK_HEAD_F_HEAD) != 0;
	q->hsts = hsts;
	kk_h1_body_init(&q->req, info.body, h->clen);
	f->conn.pc = q;
	kk_front_fwd(f, &fwd, client);
	q->stream = kk_stream_start(&h1_server_ops, q, h, &fwd, r, rl, c, actions, keep,
	    &status);
	if (!q->stream) {	/* before the head's bytes go */
		kk_answer_about(c->answers, c->id, NULL, NULL, 0);
		kk_answer_route(h);
	}
	kk_buf_consume(in, (size_t)n);
	if (!q->stream) {
		int head = q->head;
		detach(f);
		respond_error_to(f, status, 0, head, KK_CLOSE_DONE);
		return -1;
	}
	return 1;
}

static void
arm(kk_front *f, unsigned char kind, unsigned long ms)
{
	f->tkind = kind;
	kk_timer_arm(&f->conn.timer, kk_now_ms + ms);
}

static void
set_timer(kk_front *f)
{
	kk_rlistener *rl = f->lsock->rl;
	unsigned long front_ms = rl ? rl->front_ms : 60000;
	/* With a stream in flight, the stream decides (ep_timer): it alone
	 * knows whether the client has to act. A PROXY header still to come
	 * keeps its own deadline, and so does a handshake: that timer's kind
	 * is the state that says the header or the handshake is pending (a
	 * drain must not turn it into an idle one). */
	if (f->flags & KK_FRONT_F_LINGER || rq(f) || f->tkind == KK_FRONT_T_PROXY ||
	    f->tkind == KK_FRONT_T_HANDSHAKE)
		return;
	if (f->conn.in.len) {
		if (f->tkind != KK_FRONT_T_HEAD)	/* counted from the first byte */
			arm(f, KK_FRONT_T_HEAD, rl ? rl->request_ms : 10000);
	} else if (f->conn.out.len)
		arm(f, KK_FRONT_T_SEND, front_ms);
	else if (kk_front_draining) {
		if (f->tkind != KK_FRONT_T_DRAIN || !kk_timer_armed(&f->conn.timer))
			arm(f, KK_FRONT_T_DRAIN, drain_grace_ms);
	} else if (f->tkind != KK_FRONT_T_IDLE || !kk_timer_armed(&f->conn.timer))
		arm(f, KK_FRONT_T_IDLE, front_ms);
}

/* The h1 server as a stream's front endpoint (kk_server_ops): ctx is the
 * stream state (h1s) of the connection's request in flight. */

/* The stream in flight times the client while it owes something: body
 * bytes (req_done 0, the body waits for its bytes) or reading the
 * response (output unsent). Bytes moved since the last call move the
 * deadline (the front timeout) on. */
static void
ep_timer(void *ctx, int req_done)
{
	h1s *q = ctx;
	kk_front *f = q->front;
	kk_rlistener *rl = f->lsock->rl;
	uint64_t seen = f->conn.bytes_in + f->conn.bytes_out;
	unsigned kind = KK_FRONT_T_NONE;
	int progress = seen != q->seen;
	q->seen = seen;
	if (f->conn.out.len)
		kind = KK_FRONT_T_SEND;
	else if (!req_done && q->starved)
		kind = KK_FRONT_T_BODY;
	if (kind == KK_FRONT_T_NONE) {
		kk_timer_disarm(&f->conn.timer);
		f->tkind = KK_FRONT_T_NONE;
	} else if (progress || f->tkind != kind || !kk_timer_armed(&f->conn.timer))
		arm(f, (unsigned char)kind, rl ? rl->front_ms : 60000);
}

static enum kk_msg
ep_body_next(void *ctx, const char **p, size_t *n, kk_fields **tr)
{
	h1s *q = ctx;
	kk_conn *c = &q->front->conn;
	enum kk_msg m = kk_h1_body_next(&q->req, &c->in, p, n, &req_trailers);
	/* Waiting on the client, with its input all taken or a part of a
	 * trailer section in it: an end of file now is the client's abort
	 * (front_process), a silence its body timeout (ep_timer). */
	q->starved = m == KK_MSG_WAIT;
	if (m == KK_MSG_INVALID)
		kk_stats.refused[KK_H1_E_SYNTAX]++;
	*tr = &req_trailers;
	return m;
}

static void
ep_body_used(void *ctx, size_t n)
{
	h1s *q = ctx;
	kk_h1_body_used(&q->req, &q->front->conn.in, n);
}

static void
ep_trailers_used(void *ctx)
{
	h1s *q = ctx;
	kk_h1_body_trailers_done(&q->req, &q->front->conn.in);
}

static size_t
ep_body_take(void *ctx, kk_buf *dst)
{
	h1s *q = ctx;
	return kk_h1_body_take(&q->req, &q->front->conn.in, dst);
}

/* Queues head h: a 1xx passes to HTTP/1.1 clients only; a final head
 * fixes the body framing. */
static int
ep_send_head(void *ctx, const kk_resphead *h, int *keep)
{
	h1s *q = ctx;
	kk_front *f = q->front;
	kk_buf *out = &f->conn.out;
	char extra[KK_FRONT_EXTRA];
	size_t w;
	if (!kk_buf_take(out, &f->conn.bufwait))
		return 0;
	if (h->status < 200) {
		/* 1xx: passed on to HTTP/1.1 clients, swallowed for 1.0. */
		if (q->minor) {
			w = kk_h1_write_response(h, 0, 1, 1, NULL, kk_buf_tail(out),
			    kk_buf_room(out));
			if (!w)
				return out->len ? 0 : -1;
			out->len += (uint32_t)w;
		}
		return 1;
	}
	/* Where the final response starts in the client's output: until the
	 * client has been sent a byte past it, a failed response can still
	 * be replaced by a 502. */
	q->resp_at = f->conn.bytes_out + out->len;
	switch (h->body) {
	case KK_BODY_NONE: q->out = OUT_NONE; break;
	case KK_BODY_LENGTH: q->out = OUT_LENGTH; break;
	default:
		/* A length only the end tells: HTTP/1.1 clients get chunks and
		 * keep their connection; HTTP/1.0 clients get the bytes, then
		 * the close that ends them. */
		q->out = q->minor ? OUT_CHUNKED : OUT_RAW_CLOSE;
	}
	*keep = *keep && q->out != OUT_RAW_CLOSE && !kk_front_draining;
	w = kk_h1_write_response(h, q->out == OUT_CHUNKED, *keep, q->minor,
	    extra_fields(q, h, extra), kk_buf_tail(out), kk_buf_room(out));
	if (!w)
		return out->len ? 0 : -1;
	out->len += (uint32_t)w;
	return 1;
}

static size_t
ep_room(void *ctx)
{
	h1s *q = ctx;
	kk_buf *out = &q->front->conn.out;
	size_t room;
	if (!kk_buf_take(out, &q->front->conn.bufwait))
		return 0;
	room = kk_buf_room(out);
	if (q->out == OUT_CHUNKED)
		room = room > KK_H1_CHUNK_OVERHEAD ? room - KK_H1_CHUNK_OVERHEAD : 0;
	return room;
}

static void
ep_put(void *ctx, const char *p, size_t n)
{
	h1s *q = ctx;
	kk_h1_put_body(&q->front->conn.out, q->out == OUT_CHUNKED, p, n);
}

/* Whether a whole buffer of body bytes can be queued as it is (no
 * framing around it, nothing queued before it). */
static int
ep_takes_buf(void *ctx)
{
	h1s *q = ctx;
	return q->out != OUT_CHUNKED && !q->front->conn.out.len;
}

static void
ep_put_buf(void *ctx, kk_buf *buf)
{
	h1s *q = ctx;
	kk_buf_move(&q->front->conn.out, buf);
}

/* Trailer fields go out only after chunks, the last chunk with them;
 * under a length (or raw, for HTTP/1.0) they are dropped. A section that
 * could not fit even an empty buffer is dropped too: the body ends. */
static int
ep_send_trailers(void *ctx, const kk_fields *tr)
{
	h1s *q = ctx;
	kk_front *f = q->front;
	kk_buf *out = &f->conn.out;
	size_t w;
	if (q->out != OUT_CHUNKED)
		return 1;
	if (!kk_buf_take(out, &f->conn.bufwait))
		return 0;
	w = kk_h1_write_trailers(tr, kk_buf_tail(out), kk_buf_room(out));
	if (!w)
		return !out->len;
	out->len += (uint32_t)w;
	q->ended = 1;
	return 1;
}

/* The end of the body (the last chunk). */
static int
ep_end(void *ctx)
{
	h1s *q = ctx;
	kk_front *f = q->front;
	kk_buf *out = &f->conn.out;
	if (q->out != OUT_CHUNKED || q->ended)
		return 1;
	if (!kk_buf_take(out, &f->conn.bufwait) || kk_buf_room(out) < 5)
		return 0;
	memcpy(kk_buf_tail(out), "0\r\n\r\n", 5);
	out->len += 5;
	return 1;
}

static int
ep_take_back(void *ctx)
{
	h1s *q = ctx;
	kk_conn *c = &q->front->conn;
	if (c->bytes_out > q->resp_at)
		return 0;
	c->out.len = (uint32_t)(q->resp_at - c->bytes_out);
	kk_buf_trim(&c->out);
	return 1;
}

/* The stream ended; the connection goes back to reading requests or
 * closes, per keep. */
static void
ep_done(void *ctx, int keep, int whole)
{
	h1s *q = ctx;
	kk_front *f = q->front;
	detach(f);
	if (whole)
		f->flags |= KK_FRONT_F_REQ_READ;
	/* keep is what the response head told the client. A head sent
	 * before a drain began promised the connection: the client may have
	 * sent (pipelined) its next request already, which is answered,
	 * with Connection: close, rather than read and dropped by the close. */
	if (!keep)
		set_closing(f, KK_CLOSE_DONE);
	kk_conn_wake(&f->conn);
}

static void
ep_error(void *ctx, int status, enum kk_close reason)
{
	h1s *q = ctx;
	kk_front *f = q->front;
	int head = q->head;
	detach(f);
	respond_error_to(f, status, 0, head, reason);
}

/* Ends the connection after a response cut short: no more requests, what
 * is queued is written, then the close, counted under reason. */
static void
ep_cut(void *ctx, enum kk_close reason)
{
	h1s *q = ctx;
	kk_front *f = q->front;
	detach(f);
	set_closing(f, reason);
	kk_conn_wake(&f->conn);
}

static void
ep_close(void *ctx, enum kk_close reason)
{
	h1s *q = ctx;
	kk_front_close(q->front, reason);
}

static void upgrade(kk_front *, const kk_client_ops *, void *);

static void
ep_upgrade(void *ctx, const kk_client_ops *bops, void *bctx)
{
	h1s *q = ctx;
	kk_front *f = q->front;
	detach(f);
	upgrade(f, bops, bctx);
}

static int
ep_flush(void *ctx, int more)
{
	h1s *q = ctx;
	kk_conn *c = &q->front->conn;
	return c->out.len ? kk_conn_flush(c, 0, more) : 1;
}

static void
ep_push(void *ctx)
{
	h1s *q = ctx;
	kk_conn_push(&q->front->conn);
}

static unsigned
ep_state(void *ctx)
{
	h1s *q = ctx;
	const kk_conn *c = &q->front->conn;
	return (unsigned)(kk_conn_readable(c) * KK_EP_READABLE) |
	    (unsigned)((c->out.len != 0) * KK_EP_BACKLOG) |
	    (unsigned)(((c->flags & (KK_CONN_F_HUP | KK_CONN_F_ERROR)) != 0) * KK_EP_GONE);
}

static uint64_t
ep_progress(void *ctx)
{
	h1s *q = ctx;
	return kk_conn_progress(&q->front->conn);
}

static void
ep_wake(void *ctx)
{
	h1s *q = ctx;
	kk_conn_wake(&q->front->conn);
}

/* Runs the connection again when its last read may have left bytes in
 * the kernel that no new edge will announce and its input has room. */
static void
ep_wake_if_more(void *ctx)
{
	h1s *q = ctx;
	if (kk_conn_may_read(&q->front->conn))
		kk_conn_wake(&q->front->conn);
}

/* The client's addresses for a PROXY header sent upstream: an
 * --expect-proxy header's, else the socket's. */
static int
ep_addrs(void *ctx, kk_addr *src, kk_addr *dst)
{
	return kk_front_addrs(((h1s *)ctx)->front, src, dst);
}

int
kk_front_addrs(kk_front *f, kk_addr *src, kk_addr *dst)
{
	const struct kk_front_side *d = (f->flags & KK_FRONT_F_SIDE) ? f->client.side : NULL;
	if (d && d->psrc.sa.sa_family) {
		int v4 = d->psrc.sa.sa_family == AF_INET;	/* both of one family */
		src->len = v4 ? sizeof d->psrc.in : sizeof d->psrc.in6;
		memcpy(&src->ss, &d->psrc, src->len);
		if (dst) {
			dst->len = v4 ? sizeof d->pdst.in : sizeof d->pdst.in6;
			memcpy(&dst->ss, &d->pdst, dst->len);
		}
		return 1;
	}
	/* A system call each: an access log line asks for the client's
	 * alone, once per request. */
	src->len = sizeof src->ss;
	if (getpeername(f->conn.io.fd, (struct sockaddr *)&src->ss, &src->len) < 0)
		return 0;
	if (!dst)
		return 1;
	dst->len = sizeof dst->ss;
	return getsockname(f->conn.io.fd, (struct sockaddr *)&dst->ss, &dst->len) == 0;
}

static kk_park *
ep_park(void *ctx)
{
	return kk_front_park(((h1s *)ctx)->front);
}

kk_park *
kk_front_park(kk_front *f)
{
	struct kk_front_side *d = side_get(f);
	return d ? &d->park : NULL;
}

static const kk_server_ops h1_server_ops = {
	"h1-server",
	ep_body_next, ep_body_used, ep_trailers_used, ep_body_take,
	ep_send_head, ep_room, ep_put, ep_takes_buf, ep_put_buf, ep_send_trailers, ep_end,
	ep_take_back,
	ep_done, ep_error, ep_cut, ep_close, ep_upgrade,
	ep_flush, ep_push, ep_state, ep_progress, ep_wake, ep_wake_if_more, ep_timer,
	ep_addrs, ep_park,
};

static void
front_timeout(kk_conn *c)
{
	kk_front *f = conn_front(c);
	switch (f->tkind) {
	case KK_FRONT_T_PROXY:
		kk_stats.proxy[KK_PROXYHDR_E_TIMEOUT]++;
		kk_front_close(f, KK_CLOSE_BAD_PROXY);
		break;
	case KK_FRONT_T_HANDSHAKE:
		kk_stats.tls_handshake_timeouts++;
		kk_front_close(f, KK_CLOSE_HANDSHAKE_TIMEOUT);
		break;
	case KK_FRONT_T_HEAD:
		f->conn.in.len = 0;
		respond_error(f, 408, 0, KK_CLOSE_REQUEST_TIMEOUT);
		arm(f, KK_FRONT_T_SEND, 5000);
		break;
	case KK_FRONT_T_LINGER:
		kk_front_close(f, (enum kk_close)f->reason);
		break;
	case KK_FRONT_T_DRAIN:
		kk_front_close(f, KK_CLOSE_DRAIN);
		break;
	case KK_FRONT_T_SEND:
		kk_front_close(f, KK_CLOSE_SEND_TIMEOUT);
		break;
	case KK_FRONT_T_BODY:
		/* The client stopped sending its body. Before any response it
		 * is told so (RFC 9110 §15.5.9: 408), the backend connection
		 * going with the stream; after, the connection just ends. */
		if (rq(f) && !kk_stream_answered(rq(f)->stream)) {
			abort_stream(f, KK_CLOSE_BODY_TIMEOUT);
			respond_error(f, 408, 0, KK_CLOSE_BODY_TIMEOUT);
			arm(f, KK_FRONT_T_SEND, 5000);
		} else
			kk_front_close(f, KK_CLOSE_BODY_TIMEOUT);
		break;
	default:
		kk_front_close(f, KK_CLOSE_IDLE_TIMEOUT);
		break;
	}
}

/* The last response is written: shut our side and read until the
 * client's end of file (bounded), then close. */
static void
linger(kk_front *f)
{
	char sink[4096];
	/* The client said this request was its last, all of it was read and
	 * nothing followed: no byte can arrive to make the kernel reset the
	 * connection, so it closes at once, saving a shutdown, a read and a
	 * wake-up. A client that did send more (pipelining past its own
	 * close) finds its bytes read here and gets the lingering close. */
	if (!(f->flags & KK_FRONT_F_LINGER) &&
	    (f->flags & (KK_FRONT_F_PEER_CLOSE | KK_FRONT_F_REQ_READ)) ==
	    (KK_FRONT_F_PEER_CLOSE | KK_FRONT_F_REQ_READ) &&
	    f->reason == KK_CLOSE_DONE && !f->conn.in.len &&
	    !(f->conn.flags & (KK_CONN_F_READABLE | KK_CONN_F_HUP))) {
		kk_front_close(f, KK_CLOSE_DONE);
		return;
	}
	if (!(f->flags & KK_FRONT_F_LINGER)) {
		f->flags |= KK_FRONT_F_LINGER;
		f->conn.tp->shutdown(&f->conn);
		kk_buf_give(&f->conn.in);
		f->tkind = KK_FRONT_T_LINGER;
		kk_timer_arm(&f->conn.timer, kk_now_ms + KK_FRONT_LINGER_MS);
	}
	while (f->conn.flags & KK_CONN_F_READABLE) {
		ssize_t r = f->conn.tp->read(&f->conn, sink, sizeof sink);
		if (r > 0)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			f->conn.flags &= ~KK_CONN_F_READABLE;
			return;
		}
		if (r < 0 && errno == EINTR)
			continue;
		kk_front_close(f, (enum kk_close)f->reason);
		return;
	}
}

/* Waiting for the rest of a request head or body. Accepted sockets delay
 * their ACKs (see lsock.c), and a client under Nagle's algorithm holds a
 * small write back until the one before it is acknowledged: both would
 * wait for the delayed-ACK timer, 40 ms or more. Quick ACK mode sends the
 * pending ACK now and acknowledges what follows at once. Once per
 * request: the common request, whole in one packet, never gets here. */
static void
ack_now(kk_front *f)
{
	int one = 1;
	f->flags |= KK_FRONT_F_ACKED;
	setsockopt(f->conn.io.fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static void
front_process(kk_front *f)
{
	int rounds = 0, r;
	if (f->conn.flags & KK_CONN_F_DEAD)
		return;
	/* The transport's start (a handshake) comes before any byte the
	 * protocol reads; the idle timer armed at accept bounds it. */
	if ((r = kk_conn_start(&f->conn)) <= 0) {
		if (r < 0)
			kk_front_close(f, KK_CLOSE_READ_ERROR);
		return;
	}
	if (f->flags & KK_FRONT_F_LINGER) {
		linger(f);
		return;
	}
	while (rounds++ < KK_FRONT_RUN_ROUNDS) {
		if (f->conn.out.len) {
			if (kk_conn_flush(&f->conn, 0, 0) < 0) {
				kk_front_close(f, KK_CLOSE_WRITE_ERROR);
				return;
			}
			/* Room for more of the response. */
			if (rq(f))
				kk_stream_front_drained(rq(f)->stream);
		}
		if (rq(f)) {
			h1s *q = rq(f);
			kk_stream *s = q->stream;
			if (kk_stream_wants_body(s))
				kk_conn_fill(&f->conn);
			if (!kk_stream_pump(s)) {
				if (f->conn.flags & KK_CONN_F_DEAD || f->flags & KK_FRONT_F_TUNNEL)
					return;
				continue;	/* ended: flush, then the next request */
			}
			if (kk_stream_wants_body(s) && q->starved) {
				if (f->conn.flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR)) {
					kk_front_close(f, KK_CLOSE_CLIENT_ABORT);
					return;
				}
				if (!(f->flags & KK_FRONT_F_ACKED))
					ack_now(f);
			}
			break;
		}
		if (f->flags & KK_FRONT_F_CLOSING) {
			if (!f->conn.out.len) {
				int more = kk_service_feed(f);	/* a service's answer */
				if (more > 0)
					continue;
				if (more < 0)
					return;	/* the next part in a later turn */
			}
			if (!f->conn.out.len) {
				linger(f);
				return;
			}
			break;
		}
		if (f->conn.out.len)
			break;	/* the previous response goes first */
		r = kk_conn_fill(&f->conn);
		if (f->conn.in.len) {
			r = read_head(f);
			if (f->conn.flags & KK_CONN_F_DEAD)
				return;
			if (r)
				continue;
			if (f->conn.flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR)) {
				kk_front_close(f, KK_CLOSE_CLIENT_ABORT);
				return;
			}
			if (!(f->flags & KK_FRONT_F_ACKED))
				ack_now(f);	/* a head sent in pieces */
			break;
		}
		if (r < 0) {
			kk_front_close(f, (f->conn.flags & KK_CONN_F_ERROR) ?
			    KK_CLOSE_READ_ERROR : KK_CLOSE_CLIENT);
			return;
		}
		break;	/* idle: set_timer gives a draining one its grace */
	}
	if (rounds > KK_FRONT_RUN_ROUNDS)
		kk_conn_wake(&f->conn);	/* more to do: after the others */
	set_timer(f);
	/* Drained input goes back even while a response is on its way: the
	 * back connection's buffers come from the same pool. */
	kk_buf_trim(&f->conn.in);
}

static void
front_run(kk_conn *c)
{
	front_process(conn_front(c));
}

/* An HTTP/2 client on this HTTP/1 listener: it could not read an HTTP/1
 * error, so it gets the HTTP/2 refusal, then the closing path of the h1
 * server writes it out and ends the connection. */
static void
refuse_h2(kk_front *f)
{
	kk_buf *out = &f->conn.out;
	size_t n;
	f->conn.in.len = 0;
	kk_buf_trim(&f->conn.in);
	if (!kk_buf_take(out, NULL) ||
	    !(n = kk_preamble_h2_refusal(kk_buf_tail(out), kk_buf_room(out)))) {
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	out->len += (uint32_t)n;
	f->conn.proto = &h1_server;
	set_closing(f, KK_CLOSE_H2_REFUSED);
	front_process(f);
}

/* The PROXY header of an --expect-proxy listener, before any byte of the
 * client's (spec §2): its bytes are dropped and its source becomes the
 * client address. LOCAL, v1 UNKNOWN and non-IP families carry none: the
 * socket's own stays, as the spec asks. A refused, cut or (front_timeout)
 * slow header closes the connection, counted by reason as on tcp
 * listeners. 1 when the bytes after the header may go on to the chain. */
static int
read_proxy(kk_front *f)
{
	kk_conn *c = &f->conn;
	kk_proxyhdr h;
	switch (kk_proxyhdr_parse(&h, c->in.data + c->in.off, c->in.len, c->in.cap)) {
	case KK_PROXYHDR_ERROR:
		kk_stats.proxy[h.err]++;
		kk_front_close(f, KK_CLOSE_BAD_PROXY);
		return 0;
	case KK_PROXYHDR_MORE:
		if (c->flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR)) {
			kk_stats.proxy[KK_PROXYHDR_E_TRUNCATED]++;
			kk_front_close(f, KK_CLOSE_BAD_PROXY);
		}
		return 0;
	}
	if (h.src.len && (h.src.ss.ss_family == AF_INET || h.src.ss.ss_family == AF_INET6)) {
		struct kk_front_side *d = side_get(f);
		if (!d) {
			kk_front_close(f, KK_CLOSE_NOMEM);
			return 0;
		}
		set_client(f, (const struct sockaddr *)&h.src.ss);
		/* The parser gives both of one family (spec §2.1, §2.2). */
		memcpy(&d->psrc, &h.src.ss, h.src.len);
		memcpy(&d->pdst, &h.dst.ss, h.dst.len);
	}
	kk_buf_consume(&c->in, h.len);
	if (!c->in.len)
		kk_buf_trim(&c->in);
	f->tkind = KK_FRONT_T_NONE;
	set_timer(f);
	return c->in.len != 0;
}

/* On a transport with a start of its own (TLS), the PROXY header comes
 * before it (spec §2: before any byte of the client's, the ClientHello
 * too), outside it: it is peeked at on the socket and then only its own
 * bytes are taken, so that the handshake reads the rest from the socket.
 * Its deadline is the request timeout, as on plain listeners; the
 * handshake's own starts when it is done. 1 when done. */
static int
proxy_before_start(kk_front *f)
{
	kk_conn *c = &f->conn;
	ssize_t r;
	size_t taken;
	if (!(c->flags & KK_CONN_F_READABLE) || !kk_buf_take(&c->in, &c->bufwait))
		return 0;
	r = recv(c->io.fd, kk_buf_tail(&c->in), kk_buf_room(&c->in), MSG_PEEK);
	if (r < 0) {
		kk_buf_trim(&c->in);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			c->flags &= ~KK_CONN_F_READABLE;
		else if (errno != EINTR)
			kk_front_close(f, KK_CLOSE_READ_ERROR);
		return 0;
	}
	if (!r)
		c->flags |= KK_CONN_F_EOF;
	c->in.len = (uint32_t)r;
	read_proxy(f);
	if (c->flags & KK_CONN_F_DEAD)
		return 0;
	taken = (size_t)r - c->in.len;
	c->in.len = c->in.off = 0;
	if (f->tkind == KK_FRONT_T_PROXY) {
		/* Not whole yet: peeked bytes stay in the socket, and more
		 * of them come with an edge of their own. */
		kk_buf_trim(&c->in);
		c->flags &= ~KK_CONN_F_READABLE;
		return 0;
	}
	/* What was peeked is still there: this takes exactly the header
	 * (read_proxy may have given the buffer back). */
	kk_buf_trim(&c->in);
	while (taken) {
		char sink[512];
		ssize_t k = recv(c->io.fd, sink, taken < sizeof sink ? taken : sizeof sink, 0);
		if (k <= 0) {
			kk_front_close(f, KK_CLOSE_READ_ERROR);
			return 0;
		}
		taken -= (size_t)k;
	}
	arm(f, KK_FRONT_T_HANDSHAKE, kk_tlsctx_handshake_ms(f->lsock->tls));
	return 1;
}

/* Whether the TLS handshake agreed on HTTP/2 (ALPN "h2", RFC 9113
 * §3.2); never on a plain connection. */
static int
alpn_is_h2(const kk_conn *c)
{
	size_t n;
	const char *p = c->tp->alpn(c, &n);
	return p && n == 2 && !memcmp(p, "h2", 2);
}

/* Whether a preface with prior knowledge is served: on plain listeners
 * only, unless --no-h2c. Over TLS, HTTP/2 is what ALPN chose or nothing
 * (RFC 9113 §3.3): a client that agreed on HTTP/1.1 and sends the
 * preface is refused as on a --no-h2c listener. */
static int
serves_h2c(const kk_front *f)
{
	return f->conn.tp == &kk_transport_plain && f->lsock->rl && !f->lsock->rl->h2.no_h2c;
}

/* Reads the first bytes and runs the preamble chain over them; once it
 * decides, the chosen protocol takes the connection (and the bytes left:
 * the first read serves the first request, no second read is made). */
static void
preamble_run(kk_conn *c)
{
	kk_front *f = conn_front(c);
	size_t used;
	int r;
	if (f->tkind == KK_FRONT_T_PROXY && c->tp != &kk_transport_plain &&
	    !proxy_before_start(f))
		return;
	if ((r = kk_conn_start(c)) <= 0) {
		if (r < 0)
			kk_front_close(f, KK_CLOSE_HANDSHAKE);
		return;
	}
	if (f->tkind == KK_FRONT_T_HANDSHAKE) {
		f->tkind = KK_FRONT_T_NONE;
		set_timer(f);
	}
	/* Over TLS the handshake chose the protocol: h2 goes to the h2
	 * server before any byte is read (it reads the preface itself). */
	if (alpn_is_h2(c)) {
		kk_h2server_start(f);
		return;
	}
	r = kk_conn_fill(c);
	if (!c->in.len) {
		if (r < 0)
			kk_front_close(f, (c->flags & KK_CONN_F_ERROR) ? KK_CLOSE_READ_ERROR :
			    KK_CLOSE_CLIENT);
		else if (kk_front_draining)
			set_timer(f);	/* accepted: its request gets the grace */
		return;
	}
	if (f->tkind == KK_FRONT_T_PROXY && !read_proxy(f))
		return;
	/* Every listener is a plain HTTP one until listeners name a chain. */
	r = kk_preamble_run(kk_preamble_http, &f->pstep, c->in.data + c->in.off, c->in.len,
	    &used);
	kk_buf_consume(&c->in, used);
	switch (r) {
	case KK_PREAMBLE_MORE:
		if (c->flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR))
			kk_front_close(f, KK_CLOSE_CLIENT_ABORT);
		else
			set_timer(f);
		return;
	case KK_PREAMBLE_H2:
		/* h2c with prior knowledge, unless the listener says --no-h2c. */
		if (serves_h2c(f))
			kk_h2server_start(f);
		else
			refuse_h2(f);
		return;
	case KK_PREAMBLE_NOT_H1:
		/* An invalid preface to an h2c listener: its h2 server ends it
		 * (RFC 9113 §3.4); else the h1 server refuses the request. */
		if (serves_h2c(f)) {
			kk_h2server_start(f);
			return;
		}
		c->proto = &h1_server;
		front_process(f);
		return;
	case KK_PREAMBLE_REFUSE:
		kk_front_close(f, KK_CLOSE_BAD_REQUEST);
		return;
	default:
		c->proto = &h1_server;
		front_process(f);
	}
}

/* The tunnel's idle deadline moves on whenever the client's bytes move,
 * either way (a peer that stops reading stalls them too); what moved is
 * counted as tunnel bytes. */
static void
tunnel_progress(upgraded *u)
{
	kk_conn *c = &u->front->conn;
	kk_rlistener *rl = u->front->lsock->rl;
	if (c->bytes_in == u->seen_in && c->bytes_out == u->seen_out &&
	    kk_timer_armed(&c->timer))
		return;
	kk_stats.tunnel_bytes_in += c->bytes_in - u->seen_in;
	kk_stats.tunnel_bytes_out += c->bytes_out - u->seen_out;
	u->seen_in = c->bytes_in;
	u->seen_out = c->bytes_out;
	kk_timer_arm(&c->timer, kk_now_ms + (rl ? rl->tunnel_ms : 3600000));
}

/* Both connections run the tunnel's own protocol, followed by the
 * deadline; the end, a failure or the timeout come back through
 * tunnel_notify. */
static void
tunnel_run(kk_conn *c)
{
	kk_tunnel_protocol.run(c);
	if (!(c->flags & KK_CONN_F_DEAD))
		tunnel_progress(KK_CONTAINER(c->pc, upgraded, t));
}

static void
tunnel_timeout(kk_conn *c)
{
	kk_tunnel_protocol.timeout(c);
}

static const kk_protocol tunnelled = { "tunnel", tunnel_run, tunnel_timeout };

static void
tunnel_notify(kk_tunnel *t, int event, kk_conn *side)
{
	upgraded *u = KK_CONTAINER(t, upgraded, t);
	(void)side;
	kk_front_close(u->front, event == KK_TUNNEL_DONE ? KK_CLOSE_TUNNEL_DONE :
	    event == KK_TUNNEL_TIMEOUT ? KK_CLOSE_TUNNEL_TIMEOUT : KK_CLOSE_TUNNEL_ERROR);
}

/* After a 101 (the stream has ended): f and the back endpoint (bops,
 * bctx) leave HTTP for a tunnel that f owns, timed by the listener's
 * tunnel timeout and ended with f (kk_front_close closes the back
 * endpoint too). The bytes each connection holds in its buffers go
 * first. */
static void
upgrade(kk_front *f, const kk_client_ops *bops, void *bctx)
{
	kk_conn *bc = bops->conn(bctx);
	kk_link *l = kk_list_first(&upgraded_free);
	upgraded *u;
	unsigned i;
	if (l) {
		kk_list_unlink(l);
		u = KK_CONTAINER(l, upgraded, link);
	} else if (!(u = malloc(sizeof *u))) {
		bops->close(bctx, KK_CLOSE_BACK_ABORT);
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	kk_tunnel_start(&u->t, &f->conn, bc, tunnel_notify);
	u->front = f;
	u->bops = bops;
	u->back = bctx;
	u->seen_in = f->conn.bytes_in;
	u->seen_out = f->conn.bytes_out;
	f->flags |= KK_FRONT_F_TUNNEL;
	f->tkind = KK_FRONT_T_NONE;
	kk_timer_disarm(&f->conn.timer);
	kk_timer_disarm(&bc->timer);
	for (i = 0; i < 2; i++) {
		kk_conn *c = u->t.side[i];
		c->proto = &tunnelled;
		/* An end of file the h1 protocols already saw comes with no
		 * new edge: the tunnel reads it again, at once. */
		if (c->flags & KK_CONN_F_EOF)
			c->flags |= KK_CONN_F_READABLE;
		kk_conn_wake(c);
	}
	kk_stats.upgrades++;
	kk_stats.tunnels++;
	tunnel_progress(u);
}

/* The front connection is closing: its tunnel ends, the back connection
 * with it. */
static void
tunnel_close(kk_front *f)
{
	upgraded *u = KK_CONTAINER(f->conn.pc, upgraded, t);
	f->flags &= ~KK_FRONT_F_TUNNEL;
	kk_stats.tunnel_bytes_in += f->conn.bytes_in - u->seen_in;
	kk_stats.tunnel_bytes_out += f->conn.bytes_out - u->seen_out;
	kk_stats.tunnels--;
	kk_tunnel_end(&u->t);
	u->bops->close(u->back, KK_CLOSE_BACK_TUNNEL);
	kk_list_push(&upgraded_free, &u->link);
}

void
kk_front_drain_all(unsigned long grace_ms)
{
	kk_link *l;
	kk_front_draining = 1;
	drain_grace_ms = grace_ms;
	for (l = fronts.next; l != &fronts; l = l->next) {
		kk_front *f = KK_CONTAINER(l, kk_front, link);
		/* Idle: the grace starts. Busy: the response in flight says
		 * Connection: close if its head is still to be written, and
		 * the connection is looked at again when it ends. */
		if (kk_h2server_is(f))
			kk_h2server_drain(f);
		else if (!(f->flags & (KK_FRONT_F_CLOSING | KK_FRONT_F_TUNNEL |
		    KK_FRONT_F_LINGER)))
			set_timer(f);
	}
}

void
kk_front_stop_all(void)
{
	kk_link *l;
	while ((l = kk_list_first(&fronts)))
		kk_front_close(KK_CONTAINER(l, kk_front, link), KK_CLOSE_STOP);
	kk_tcpfront_stop_all();
}
