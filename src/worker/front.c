/* ISC license. */
/* HTTP/1.1 front connections. A connection is a small state machine run
 * by front_process whenever its socket or its stream has news: flush what is
 * queued, read, then either feed the stream in flight or parse the next
 * request head. Pipelined requests wait in the input until the response
 * before them is done. Every connection ends in kk_front_close. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/tcp.h>
#include <llhttp.h>
#include "front.h"
#include "preamble.h"
#include "router.h"
#include "stream.h"
#include "tcpfront.h"
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
static kk_h1head req_head;	/* scratch: one head is parsed at a time */

/* A front connection upgraded after a 101 and its back connection: the
 * tunnel between them (the protocol context of both) and what its owner
 * keeps. From a free list, so the upgrade itself allocates only once. */
typedef struct upgraded upgraded;
struct upgraded {
	kk_link link;		/* free list */
	kk_tunnel t;
	kk_front *front;
	kk_back *back;
	uint64_t seen_in, seen_out;	/* the client's bytes when last counted */
};
static kk_link upgraded_free = { &upgraded_free, &upgraded_free };

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

/* Keeps the client address for X-Forwarded-For: the socket's peer, or
 * the source a PROXY header gave. */
static void
set_client(kk_front *f, const struct sockaddr *sa)
{
	f->v6 = 0;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], f->client.text,
			    sizeof f->client.text);
		else {
			memcpy(f->client.in6, &s6->sin6_addr, 16);
			f->v6 = 1;
		}
	} else if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    f->client.text, sizeof f->client.text);
	else
		strcpy(f->client.text, "unknown");
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
	kk_conn_init(&f->conn, fd, KK_IO_FRONT, ls->tp, &preamble, f);
	f->lsock = ls;
	f->reason = KK_CLOSE_DONE;
	set_client(f, sa);
	if (!ls->nodelay)	/* else inherited from the listener */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!kk_loop_add(&f->conn.io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		close(fd);
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
	if (ls->rl && ls->rl->expect_proxy) {
		/* The header is part of the first request: the request
		 * timeout bounds it, from the accept. */
		f->flags |= KK_FRONT_F_PROXY;
		f->tkind = KK_FRONT_T_PROXY;
		kk_timer_arm(&f->conn.timer, kk_now_ms + ls->rl->request_ms);
	} else {
		f->tkind = KK_FRONT_T_IDLE;
		kk_timer_arm(&f->conn.timer, kk_now_ms + (ls->rl ? ls->rl->front_ms : 60000));
	}
	kk_front_wake(f);
}

void
kk_front_close(kk_front *f, enum kk_close reason)
{
	if (f->conn.flags & KK_CONN_F_DEAD)
		return;
	f->conn.flags |= KK_CONN_F_DEAD;
	if (f->stream)
		kk_stream_abort(f->stream);
	if (f->flags & KK_FRONT_F_TUNNEL)
		tunnel_close(f);
	if (f->held)
		kk_back_close(f->held, KK_CLOSE_BACK_DONE);
	kk_stats.closes[reason]++;
	kk_stats.active--;
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

const char *
kk_front_client(const kk_front *f, char buf[INET6_ADDRSTRLEN])
{
	if (!f->v6)
		return f->client.text;
	return inet_ntop(AF_INET6, f->client.in6, buf, INET6_ADDRSTRLEN) ? buf : "unknown";
}

int
kk_front_addrs(const kk_front *f, kk_addr *src, kk_addr *dst)
{
	if (f->psrc.sa.sa_family) {
		src->len = f->psrc.sa.sa_family == AF_INET ? sizeof f->psrc.in : sizeof f->psrc.in6;
		dst->len = f->pdst.sa.sa_family == AF_INET ? sizeof f->pdst.in : sizeof f->pdst.in6;
		memcpy(&src->ss, &f->psrc, src->len);
		memcpy(&dst->ss, &f->pdst, dst->len);
		return 1;
	}
	src->len = dst->len = sizeof src->ss;
	return getpeername(f->conn.io.fd, (struct sockaddr *)&src->ss, &src->len) == 0 &&
	    getsockname(f->conn.io.fd, (struct sockaddr *)&dst->ss, &dst->len) == 0;
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

void
kk_front_respond_error(kk_front *f, int status, int keep, enum kk_close reason)
{
	kk_buf *out = &f->conn.out;
	size_t n;
	if (kk_front_draining)
		keep = 0;
	kk_stats.responses[status / 100]++;
	if (!kk_buf_take(out, NULL) || !(n = kk_h1_write_error(status, keep, kk_buf_tail(out),
	    kk_buf_room(out)))) {
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	out->len += (uint32_t)n;
	if (!keep)
		set_closing(f, reason);
	kk_front_wake(f);
}

void
kk_front_stream_done(kk_front *f, int keep, int whole)
{
	if (whole)
		f->flags |= KK_FRONT_F_REQ_READ;
	/* keep is what the response head told the client. A head sent
	 * before a drain began promised the connection: the client may have
	 * sent (pipelined) its next request already, which is answered,
	 * with Connection: close, rather than read and dropped by the close. */
	if (!keep)
		set_closing(f, KK_CLOSE_DONE);
	kk_front_wake(f);
}

/* Refuses a malformed request: 4xx, then close. */
static void
refuse(kk_front *f, int err)
{
	kk_stats.refused[err]++;
	kk_front_respond_error(f, kk_h1_err_status(err), 0, KK_CLOSE_BAD_REQUEST);
}

/* Parses the head at the start of the input, if complete, and starts its
 * stream. 1 a request was taken (answered or started), 0 wait for more
 * bytes, -1 the connection is closing. */
static int
read_head(kk_front *f)
{
	kk_buf *in = &f->conn.in;
	kk_h1head *h = &req_head;
	kk_rcluster *c;
	kk_router *r = kk_worker_router();
	kk_rlistener *rl = f->lsock->rl;
	long n;
	size_t scan;
	int e, keep, status;
	const char *method;

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
	f->flags &= ~(KK_FRONT_F_PEER_CLOSE | KK_FRONT_F_REQ_READ | KK_FRONT_F_ACKED);
	e = kk_h1_parse_request(h, in->data + in->off, (size_t)n);
	if (e) {
		refuse(f, e);
		return -1;
	}
	f->minor = h->minor;
	f->req_body = (unsigned char)h->body;
	f->req_left = h->clen;
	kk_h1_chunk_init(&f->req_chunk);
	keep = h->minor ? !(h->flags & KK_H1_F_CLOSE) : (h->flags & KK_H1_F_KEEPALIVE) != 0;
	if (!keep)
		f->flags |= KK_FRONT_F_PEER_CLOSE;
	if (kk_front_draining)
		keep = 0;
	method = llhttp_method_name((llhttp_method_t)h->method);
	c = rl ? kk_router_match(rl, h->host, h->hostlen, h->base + h->path.off, h->path.len,
	    method, strlen(method)) : NULL;
	if (!c) {
		/* Answered here; a body would have to be read and thrown away
		 * to keep the connection, so only bodiless requests keep it. */
		keep = keep && h->body == KK_H1_BODY_NONE;
		kk_buf_consume(in, (size_t)n);
		kk_front_respond_error(f, 404, keep, KK_CLOSE_DONE);
		return keep ? 1 : -1;
	}
	if (!kk_stream_start(f, h, r, rl, c, keep, &status)) {
		kk_buf_consume(in, (size_t)n);
		kk_front_respond_error(f, status, 0, KK_CLOSE_DONE);
		return -1;
	}
	kk_buf_consume(in, (size_t)n);
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
	/* With a stream in flight, the stream decides (kk_front_stream_timer):
	 * it alone knows whether the client has to act. */
	if (f->flags & KK_FRONT_F_LINGER || f->stream)
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

void
kk_front_stream_timer(kk_front *f, int req_done)
{
	kk_rlistener *rl = f->lsock->rl;
	uint64_t seen = f->conn.bytes_in + f->conn.bytes_out;
	unsigned kind = KK_FRONT_T_NONE;
	int progress = seen != f->seen;
	f->seen = seen;
	if (f->conn.out.len)
		kind = KK_FRONT_T_SEND;
	else if (!req_done && !f->conn.in.len)
		kind = KK_FRONT_T_BODY;
	if (kind == KK_FRONT_T_NONE) {
		kk_timer_disarm(&f->conn.timer);
		f->tkind = KK_FRONT_T_NONE;
	} else if (progress || f->tkind != kind || !kk_timer_armed(&f->conn.timer))
		arm(f, (unsigned char)kind, rl ? rl->front_ms : 60000);
}

enum kk_msg
kk_front_body_next(kk_front *f, const char **p, size_t *n)
{
	kk_buf *in = &f->conn.in;
	if (f->req_body == KK_H1_BODY_NONE ||
	    (f->req_body == KK_H1_BODY_LENGTH && !f->req_left))
		return KK_MSG_END;
	if (f->req_body == KK_H1_BODY_CHUNKED) {
		/* Asked with no byte too: at its end the decoder says so again
		 * without consuming, so an end that found no room yet is not
		 * lost once the input is drained. */
		size_t used;
		int r = kk_h1_chunk_next(&f->req_chunk, in->data ? in->data + in->off : NULL,
		    in->len, &used);
		kk_buf_consume(in, used);
		if (r == KK_H1_CHUNK_ERR)
			return KK_MSG_INVALID;
		if (r == KK_H1_CHUNK_END)
			return KK_MSG_END;
		if (r != KK_H1_CHUNK_DATA || !in->len) {
			kk_buf_trim(in);
			return KK_MSG_WAIT;
		}
		*n = in->len < f->req_chunk.left ? in->len : (size_t)f->req_chunk.left;
	} else {
		if (!in->len) {
			kk_buf_trim(in);
			return KK_MSG_WAIT;
		}
		*n = in->len < f->req_left ? in->len : (size_t)f->req_left;
	}
	*p = in->data + in->off;
	return KK_MSG_DATA;
}

void
kk_front_body_used(kk_front *f, size_t n)
{
	kk_buf_consume(&f->conn.in, n);
	if (f->req_body == KK_H1_BODY_CHUNKED)
		f->req_chunk.left -= n;
	else
		f->req_left -= n;
	kk_buf_trim(&f->conn.in);
}

size_t
kk_front_body_take(kk_front *f, kk_buf *dst)
{
	kk_buf *in = &f->conn.in;
	size_t n = in->len;
	if (!n || f->req_body != KK_H1_BODY_LENGTH || n > f->req_left)
		return 0;
	*dst = *in;
	memset(in, 0, sizeof *in);
	f->req_left -= n;
	return n;
}

int
kk_front_send_head(kk_front *f, const kk_h1head *h, int *keep)
{
	kk_buf *out = &f->conn.out;
	size_t w;
	if (!kk_buf_take(out, &f->conn.bufwait))
		return 0;
	if (h->status < 200) {
		/* 1xx: passed on to HTTP/1.1 clients, swallowed for 1.0. */
		if (f->minor) {
			w = kk_h1_write_response(h, 0, 1, 1, kk_buf_tail(out), kk_buf_room(out));
			if (!w)
				return out->len ? 0 : -1;
			out->len += (uint32_t)w;
		}
		return 1;
	}
	/* Where the final response starts in the client's output: until the
	 * client has been sent a byte past it, a failed response can still
	 * be replaced by a 502. */
	f->resp_at = f->conn.bytes_out + out->len;
	switch (h->body) {
	case KK_H1_BODY_NONE: f->out = KK_OUT_NONE; break;
	case KK_H1_BODY_LENGTH: f->out = KK_OUT_LENGTH; break;
	default:
		/* Chunked, or until close: HTTP/1.1 clients get chunks and keep
		 * their connection; HTTP/1.0 clients get the bytes, then the
		 * close that ends them. */
		f->out = f->minor ? KK_OUT_CHUNKED : KK_OUT_RAW_CLOSE;
	}
	*keep = *keep && f->out != KK_OUT_RAW_CLOSE && !kk_front_draining;
	w = kk_h1_write_response(h, f->out == KK_OUT_CHUNKED, *keep, f->minor, kk_buf_tail(out),
	    kk_buf_room(out));
	if (!w)
		return out->len ? 0 : -1;
	out->len += (uint32_t)w;
	return 1;
}

size_t
kk_front_body_room(kk_front *f)
{
	size_t room;
	if (!kk_buf_take(&f->conn.out, &f->conn.bufwait))
		return 0;
	room = kk_buf_room(&f->conn.out);
	if (f->out == KK_OUT_CHUNKED)
		room = room > KK_H1_CHUNK_OVERHEAD ? room - KK_H1_CHUNK_OVERHEAD : 0;
	return room;
}

void
kk_front_body_put(kk_front *f, const char *p, size_t n)
{
	kk_buf *out = &f->conn.out;
	if (f->out == KK_OUT_CHUNKED)
		out->len += (uint32_t)kk_h1_put_chunk(kk_buf_tail(out), p, n);
	else {
		memcpy(kk_buf_tail(out), p, n);
		out->len += (uint32_t)n;
	}
}

void
kk_front_body_put_buf(kk_front *f, kk_buf *buf)
{
	kk_buf_give(&f->conn.out);
	f->conn.out = *buf;
	memset(buf, 0, sizeof *buf);
}

int
kk_front_body_end(kk_front *f)
{
	kk_buf *out = &f->conn.out;
	if (f->out != KK_OUT_CHUNKED)
		return 1;
	if (!kk_buf_take(out, &f->conn.bufwait) || kk_buf_room(out) < 5)
		return 0;
	memcpy(kk_buf_tail(out), "0\r\n\r\n", 5);
	out->len += 5;
	return 1;
}

int
kk_front_take_back(kk_front *f)
{
	if (f->conn.bytes_out > f->resp_at)
		return 0;
	f->conn.out.len = (uint32_t)(f->resp_at - f->conn.bytes_out);
	kk_buf_trim(&f->conn.out);
	return 1;
}

void
kk_front_abort(kk_front *f, enum kk_close reason)
{
	set_closing(f, reason);
	kk_front_wake(f);
}

static void
front_timeout(kk_conn *c)
{
	kk_front *f = c->pc;
	switch (f->tkind) {
	case KK_FRONT_T_PROXY:
		kk_stats.proxy[KK_PROXYHDR_E_TIMEOUT]++;
		kk_front_close(f, KK_CLOSE_BAD_PROXY);
		break;
	case KK_FRONT_T_HEAD:
		f->conn.in.len = 0;
		kk_front_respond_error(f, 408, 0, KK_CLOSE_REQUEST_TIMEOUT);
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
		if (f->stream && !kk_stream_answered(f->stream)) {
			kk_stream_abort(f->stream);
			kk_front_respond_error(f, 408, 0, KK_CLOSE_BODY_TIMEOUT);
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
			if (f->stream)
				kk_stream_front_drained(f->stream);
		}
		if (f->stream) {
			kk_stream *s = f->stream;
			if (kk_stream_wants_body(s))
				kk_conn_fill(&f->conn);
			if (!kk_stream_pump(s)) {
				if (f->conn.flags & KK_CONN_F_DEAD || f->flags & KK_FRONT_F_TUNNEL)
					return;
				continue;	/* ended: flush, then the next request */
			}
			if (kk_stream_wants_body(s) && !f->conn.in.len) {
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
		kk_front_wake(f);	/* more to do: after the others */
	set_timer(f);
	/* Drained input goes back even while a response is on its way: the
	 * back connection's buffers come from the same pool. */
	kk_buf_trim(&f->conn.in);
}

static void
front_run(kk_conn *c)
{
	front_process(c->pc);
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
		set_client(f, (const struct sockaddr *)&h.src.ss);
		/* The parser gives both of one family (spec §2.1, §2.2). */
		memcpy(&f->psrc, &h.src.ss, h.src.len);
		memcpy(&f->pdst, &h.dst.ss, h.dst.len);
	}
	kk_buf_consume(&c->in, h.len);
	f->flags &= ~KK_FRONT_F_PROXY;
	if (!c->in.len)
		kk_buf_trim(&c->in);
	f->tkind = KK_FRONT_T_NONE;
	set_timer(f);
	return c->in.len != 0;
}

/* Reads the first bytes and runs the preamble chain over them; once it
 * decides, the chosen protocol takes the connection (and the bytes left:
 * the first read serves the first request, no second read is made). */
static void
preamble_run(kk_conn *c)
{
	kk_front *f = c->pc;
	size_t used;
	int r;
	if ((r = kk_conn_start(c)) <= 0) {
		if (r < 0)
			kk_front_close(f, KK_CLOSE_READ_ERROR);
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
	if ((f->flags & KK_FRONT_F_PROXY) && !read_proxy(f))
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
		refuse_h2(f);
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

void
kk_front_upgrade(kk_front *f, kk_back *b)
{
	kk_link *l = kk_list_first(&upgraded_free);
	upgraded *u;
	unsigned i;
	if (l) {
		kk_list_unlink(l);
		u = KK_CONTAINER(l, upgraded, link);
	} else if (!(u = malloc(sizeof *u))) {
		kk_back_close(b, KK_CLOSE_BACK_ABORT);
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	kk_tunnel_start(&u->t, &f->conn, &b->conn, tunnel_notify);
	u->front = f;
	u->back = b;
	u->seen_in = f->conn.bytes_in;
	u->seen_out = f->conn.bytes_out;
	f->flags |= KK_FRONT_F_TUNNEL;
	f->tkind = KK_FRONT_T_NONE;
	kk_timer_disarm(&f->conn.timer);
	kk_timer_disarm(&b->conn.timer);
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
	kk_back_close(u->back, KK_CLOSE_BACK_TUNNEL);
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
		if (!(f->flags & (KK_FRONT_F_CLOSING | KK_FRONT_F_TUNNEL | KK_FRONT_F_LINGER)))
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
